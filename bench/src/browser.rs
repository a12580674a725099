//! Headless Chromium through chromedriver, like the e2e harness's `Browser`, plus the two flags the
//! memory figures need (`--enable-precise-memory-info`, `--js-flags=--expose-gc`). Sessions are
//! the harness's `Page`, so its helpers (and `Page::sign_in`) apply.

use cmek_e2e::{Page, Setup};
use fantoccini::ClientBuilder;
use fantoccini::wd::TimeoutConfiguration;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub struct Chrome {
    driver: Child,
    port: u16,
    chromium: PathBuf,
    profiles: tempfile::TempDir,
}

impl Chrome {
    pub async fn start(setup: &Setup) -> Self {
        let port = {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            l.local_addr().expect("addr").port()
        };
        let driver = Command::new(&setup.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { driver, port, chromium: setup.chromium.clone(), profiles: tempfile::tempdir().expect("temp dir") }
    }

    /// A fresh browser with its own new profile (so an empty cache) at 1280×900.
    pub async fn session(&self) -> Page {
        let profile = tempfile::tempdir_in(self.profiles.path()).expect("profile dir").keep();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": self.chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1280,900", format!("--user-data-dir={}", profile.display()),
                    "--enable-precise-memory-info", "--js-flags=--expose-gc",
                    // A page left for the next run must not stay alive in the back/forward cache
                    // (it would count in the next page's heap).
                    "--disable-features=BackForwardCache",
                ]
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a chromedriver session");
        let timeouts = TimeoutConfiguration::new(
            Some(Duration::from_secs(180)),
            Some(Duration::from_secs(60)),
            Some(Duration::ZERO),
        );
        client.update_timeouts(timeouts).await.expect("set the timeouts");
        Page { client }
    }

    pub async fn stop(mut self) {
        let _ = self.driver.kill().await;
    }
}

/// Polls a JavaScript expression until it is neither null nor undefined; its value.
pub async fn wait_value(page: &Page, what: &str, expr: &str, patience: Duration) -> Value {
    let script =
        format!("try {{ const v = ({expr}); return v === undefined ? null : v; }} catch (e) {{ return null; }}");
    let start = Instant::now();
    loop {
        let v = page.js(&script).await;
        if !v.is_null() {
            return v;
        }
        if start.elapsed() > patience {
            let text = page.text().await;
            panic!("waited {patience:?} in vain for {what} ({expr}); the page shows:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Runs an operation of `bench/table/harness.js` in the page; its result.
pub async fn harness(page: &Page, op: &str, arg: Value) -> Value {
    let script = format!(
        "{}\nconst done = arguments[arguments.length - 1];\nbench(arguments[0], arguments[1]).then(done, (e) => done({{ error: String((e && e.stack) || e) }}));",
        include_str!("../table/harness.js")
    );
    let v = page.client.execute_async(&script, vec![json!(op), arg]).await.expect("the harness script");
    if let Some(e) = v.get("error") {
        let console = page.console_errors().await.join("\n");
        panic!("harness {op} failed in the page: {e}\nthe browser console says:\n{console}");
    }
    v
}
