//! End-to-end harness: a real `cmek-server` (release build) serving the release-built console on
//! a free loopback port, headless Chromium driven through chromedriver, axe-core injected into
//! pages, screenshots under `target/e2e-screenshots/`, and every browser console error collected.
//!
//! Needs: `CMEK_SERVER_BIN` (default `target/release/cmek-server`), the console in `dist/`
//! (`CMEK_CONSOLE_DIR`), chromedriver and chromium (`CHROMEDRIVER`, `CHROMIUM`), axe-core
//! (`AXE_JS`). `scripts/test` provides all of them and sets `CMEK_E2E=1`, under which anything
//! missing is a failure; without it the suite says what is missing and does not run.
#![cfg(not(target_arch = "wasm32"))]

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("e2e/ is in the workspace").to_owned()
}

fn env_path(var: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or(default)
}

/// What the suite needs; `None` (with a loud message) when something is missing and the suite
/// was not asked to insist.
pub struct Setup {
    pub server_bin: PathBuf,
    pub console_dir: PathBuf,
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
    pub axe_js: Option<PathBuf>,
}

impl Setup {
    pub fn find() -> Option<Self> {
        let root = workspace_root();
        let s = Setup {
            server_bin: env_path("CMEK_SERVER_BIN", root.join("target/release/cmek-server")),
            console_dir: env_path("CMEK_CONSOLE_DIR", root.join("dist")),
            chromedriver: env_path("CHROMEDRIVER", "/usr/bin/chromedriver".into()),
            chromium: env_path("CHROMIUM", "/usr/bin/chromium".into()),
            axe_js: std::env::var_os("AXE_JS").map(PathBuf::from),
        };
        let mut missing = Vec::new();
        if !s.server_bin.is_file() {
            missing
                .push(format!("the server binary {} (cargo build --release -p cmek-server)", s.server_bin.display()));
        }
        if !s.console_dir.join("index.html").is_file() {
            missing.push(format!("the built console in {} (trunk build --release)", s.console_dir.display()));
        }
        for (what, p) in [("chromedriver", &s.chromedriver), ("chromium", &s.chromium)] {
            if !p.is_file() {
                missing.push(format!("{what} at {} (scripts/setup)", p.display()));
            }
        }
        let required = std::env::var("CMEK_E2E").as_deref() == Ok("1");
        if let Some(axe) = &s.axe_js {
            if !axe.is_file() {
                missing.push(format!("axe-core at {} (scripts/setup)", axe.display()));
            }
        } else if required {
            missing.push("AXE_JS (scripts/setup installs axe-core)".into());
        }
        if missing.is_empty() {
            return Some(s);
        }
        let msg = format!("end-to-end tests cannot run; missing:\n  - {}", missing.join("\n  - "));
        if required {
            panic!("{msg}\n(CMEK_E2E=1: this is a failure)");
        }
        eprintln!("\n*** SKIPPING end-to-end tests: {msg}\n*** Run scripts/test to build and provide everything.\n");
        None
    }
}

/// A server on a free loopback port with its own data directory.
pub struct Server {
    child: Child,
    pub url: String,
    _data: tempfile::TempDir,
    http: reqwest::Client,
}

impl Server {
    pub async fn start(setup: &Setup, extra: &[&str]) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(&setup.server_bin)
            .args(["--listen", "127.0.0.1:0", "--transition-secs", "0.5", "--key-check-secs", "0"])
            .arg("--data-dir")
            .arg(data.path())
            .arg("--console-dir")
            .arg(&setup.console_dir)
            .args(extra)
            .env("CMEK_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start cmek-server");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("stdout") {
                if let Some(u) = line.strip_prefix("cmek-server: listening on ") {
                    return u.to_owned();
                }
            }
            panic!("cmek-server exited before listening");
        })
        .await
        .expect("cmek-server did not start in 30 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, url, _data: data, http: reqwest::Client::new() }
    }

    /// A JSON API call straight to the server (for arranging a test).
    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(m, format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let res = req.send().await.expect("API call");
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path} answered {status}: {v}");
        v
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// chromedriver on a free port, and browser sessions on it.
pub struct Browser {
    driver: Child,
    port: u16,
    chromium: PathBuf,
    _profiles: tempfile::TempDir,
}

async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr").port()
}

impl Browser {
    pub async fn start(setup: &Setup) -> Self {
        let port = free_port().await;
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
        Self { driver, port, chromium: setup.chromium.clone(), _profiles: tempfile::tempdir().expect("temp dir") }
    }

    /// A fresh browser (own profile) at 1280×900.
    pub async fn session(&self) -> Page {
        let profile = tempfile::tempdir_in(self._profiles.path()).expect("profile dir").keep();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": self.chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1280,900", format!("--user-data-dir={}", profile.display()),
                ]
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a chromedriver session");
        Page { client }
    }

    pub async fn stop(mut self) {
        let _ = self.driver.kill().await;
    }
}

/// chromedriver's log endpoint (not in W3C WebDriver, but what Chromium offers).
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// One browser session.
pub struct Page {
    pub client: Client,
}

impl Page {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Waits (up to 15 s) for an element matching `css`.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let c = &self.client;
        let Ok(found) =
            tokio::time::timeout(Duration::from_secs(15), c.wait().forever().for_element(Locator::Css(css))).await
        else {
            panic!("no element {css} within 15 s")
        };
        found.expect("find")
    }

    /// Waits until the page's text contains `text`.
    pub async fn wait_text(&self, text: &str) {
        for _ in 0..150 {
            if self.text().await.contains(text) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never showed {text:?}; it shows:\n{}", self.text().await);
    }

    pub async fn text(&self) -> String {
        self.client
            .execute("return document.body.innerText", vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.expect("script")
    }

    /// Browser console messages at SEVERE level since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self.client.issue_cmd(BrowserLog).await.expect("browser log");
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Fails on any console error.
    pub async fn assert_no_console_errors(&self) {
        let errors = self.console_errors().await;
        assert!(errors.is_empty(), "the browser console has errors:\n{}", errors.join("\n"));
    }

    /// Saves a screenshot as `target/e2e-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = workspace_root().join("target/e2e-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Runs axe-core on the page; fails listing every violation.
    pub async fn assert_accessible(&self, setup: &Setup) {
        let Some(axe) = &setup.axe_js else { return };
        let source = std::fs::read_to_string(axe).expect("read axe-core");
        self.client.execute(&source, vec![]).await.expect("inject axe-core");
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.map(v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)))
               .catch(e => done(['axe failed: ' + e]));
        "#;
        let v = self.client.execute_async(script, vec![]).await.expect("axe.run");
        let violations: Vec<String> = serde_json::from_value(v).unwrap_or_default();
        assert!(violations.is_empty(), "axe-core found accessibility violations:\n{}", violations.join("\n"));
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
