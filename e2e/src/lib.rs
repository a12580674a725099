//! End-to-end harness: a real `cmek-server` (release build) serving the release-built console on
//! a free loopback port, headless Chromium driven through chromedriver, axe-core injected into
//! pages, screenshots under `target/e2e-screenshots/`, and every browser console error collected.
//!
//! Authentication is on, as in production: the harness's own API calls ([`Server::api`]) are
//! signed with HTTP Digest using an API key made with `cmek-server api-key create`; a browser
//! session is signed in ([`Page::sign_in`]) before a test navigates. The server's one-time
//! sign-in link is [`Server::sign_in_url`] (unused by the harness, so a test can open it).
//!
//! Needs: `CMEK_SERVER_BIN` (default `target/release/cmek-server`), the console in `dist/`
//! (`CMEK_CONSOLE_DIR`), chromedriver and chromium (`CHROMEDRIVER`, `CHROMIUM`), axe-core
//! (`AXE_JS`, default where scripts/setup puts it). `scripts/test` builds and provides all of
//! them; anything missing fails every test, naming what is missing (a skipped end-to-end test
//! would report "ok" having checked nothing).
#![cfg(not(target_arch = "wasm32"))]

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("e2e/ is in the workspace").to_owned()
}

fn env_path(var: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or(default)
}

/// What the suite needs.
pub struct Setup {
    pub server_bin: PathBuf,
    pub console_dir: PathBuf,
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
    pub axe_js: PathBuf,
}

impl Setup {
    /// Everything the suite needs; panics naming each thing that is missing. Never `None`: the
    /// `Option` keeps the callers' `let Some(setup) = Setup::find() else { return }` as it is.
    pub fn find() -> Option<Self> {
        let root = workspace_root();
        let tools = std::env::var_os("CMEK_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/cmek-console-tools")
        });
        let s = Setup {
            server_bin: env_path("CMEK_SERVER_BIN", root.join("target/release/cmek-server")),
            console_dir: env_path("CMEK_CONSOLE_DIR", root.join("dist")),
            chromedriver: env_path("CHROMEDRIVER", "/usr/bin/chromedriver".into()),
            chromium: env_path("CHROMIUM", "/usr/bin/chromium".into()),
            axe_js: env_path("AXE_JS", tools.join("axe/node_modules/axe-core/axe.min.js")),
        };
        let mut missing = Vec::new();
        if !s.server_bin.is_file() {
            missing
                .push(format!("the server binary {} (cargo build --release -p cmek-server)", s.server_bin.display()));
        }
        if !s.console_dir.join("index.html").is_file() {
            missing.push(format!("the built console in {} (trunk build --release)", s.console_dir.display()));
        }
        for (what, p) in [("chromedriver", &s.chromedriver), ("chromium", &s.chromium), ("axe-core", &s.axe_js)] {
            if !p.is_file() {
                missing.push(format!("{what} at {} (scripts/setup)", p.display()));
            }
        }
        assert!(
            missing.is_empty(),
            "end-to-end tests cannot run; missing:\n  - {}\nscripts/test builds and provides everything.",
            missing.join("\n  - ")
        );
        Some(s)
    }
}

pub use cmek_test_support::digest::ApiKey;
use cmek_test_support::digest::{DigestAlg, DigestClient, challenge_of};

/// A server on a free loopback port with its own data directory.
pub struct Server {
    child: Child,
    pub url: String,
    /// The one-time console sign-in link the server printed (`console sign-in: …`).
    pub sign_in_url: String,
    /// The API key the harness signs its calls with.
    pub api_key: ApiKey,
    /// The console password the server was started with (`--console-password-file`), which
    /// [`Page::sign_in`] uses, so the link stays unused for tests that open it.
    pub console_password: String,
    _data: tempfile::TempDir,
    http: reqwest::Client,
    client: DigestClient,
}

impl Server {
    pub async fn start(setup: &Setup, extra: &[&str]) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let api_key = cmek_test_support::process::create_api_key(&setup.server_bin, data.path(), "e2e").await;
        let console_password = format!("e2e-{}", &api_key.private[..16]);
        let password_file = data.path().join("console-password");
        std::fs::write(&password_file, &console_password).expect("write the console password");
        let mut cmd =
            cmek_test_support::process::server_command(&setup.server_bin, data.path(), &setup.console_dir, "0.5");
        cmd.arg("--console-password-file").arg(&password_file).args(extra);
        let started = cmek_test_support::process::start(cmd).await;
        Self {
            child: started.child,
            url: started.base,
            sign_in_url: started.sign_in_url,
            client: DigestClient::new(api_key.clone()),
            api_key,
            console_password,
            _data: data,
            http: reqwest::Client::new(),
        }
    }

    /// One Digest-signed request (SHA-256; answering the server's challenge when it has no nonce
    /// yet, or when the one it had expired); the status and the JSON body.
    pub async fn api_status(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let (headers, body): (&[(&str, &str)], _) = match body {
            Some(b) => (&[("content-type", "application/json")], Some(b.to_string())),
            None => (&[], None),
        };
        let res = self.client.send(m, &format!("{}{path}", self.url), headers, body).await.expect("API call");
        let status = res.status().as_u16();
        if status == 401 && challenge_of(res.headers(), DigestAlg::Sha256).is_some() {
            panic!("{method} {path}: the server kept refusing the harness's API key");
        }
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A JSON API call straight to the server (for arranging a test), Digest-authenticated.
    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.api_status(method, path, body).await;
        assert!((200..300).contains(&status), "{method} {path} answered {status}: {v}");
        v
    }

    /// A new console session (signed in with the console password): the cookie's value.
    pub async fn console_session(&self) -> String {
        let res = self
            .http
            .post(format!("{}/api/ext/v1/session", self.url))
            .header("content-type", "application/json")
            .body(json!({ "password": self.console_password }).to_string())
            .send()
            .await
            .expect("sign in");
        assert_eq!(res.status(), 200, "signing the console in failed");
        res.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("cmek_session="))
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_owned()
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
        self.session_with(&[]).await
    }

    /// [`Browser::session`] with more Chromium flags (the benchmark's memory figures need some).
    pub async fn session_with(&self, extra_args: &[&str]) -> Page {
        let profile = tempfile::tempdir_in(self._profiles.path()).expect("profile dir").keep();
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .iter()
        .chain(extra_args)
        .map(|a| a.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": self.chromium,
                "args": args,
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

/// A Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "cmd": self.cmd, "params": self.params }).to_string()))
    }
}

/// One browser session.
pub struct Page {
    pub client: Client,
}

impl Page {
    /// Signs this browser in to `server`'s console: a session made with the console password,
    /// its cookie set in the browser as the server sets it (HttpOnly, SameSite=Strict, for the
    /// server's origin) through chromedriver's DevTools bridge (`Network.setCookie`: WebDriver's
    /// own cookie command cannot make an HttpOnly cookie for an IP address here). Nothing is
    /// loaded, so the next `goto` is the first page.
    pub async fn sign_in(&self, server: &Server) {
        let id = server.console_session().await;
        let params = json!({
            "name": "cmek_session", "value": id, "url": server.url, "path": "/",
            "httpOnly": true, "sameSite": "Strict",
        });
        let r = self.client.issue_cmd(Cdp { cmd: "Network.setCookie", params }).await.expect("Network.setCookie");
        assert_ne!(r["success"], json!(false), "the browser refused the session cookie: {r}");
    }

    /// Runs `script` in every document this browser loads from now on, before the page's own
    /// scripts (DevTools' `Page.addScriptToEvaluateOnNewDocument`).
    pub async fn on_every_new_document(&self, script: &str) {
        let params = json!({ "source": script });
        self.client
            .issue_cmd(Cdp { cmd: "Page.addScriptToEvaluateOnNewDocument", params })
            .await
            .expect("Page.addScriptToEvaluateOnNewDocument");
    }

    /// Sends one DevTools command to this tab and returns its answer (e.g. the bench's
    /// `Network.emulateNetworkConditions`); panics naming the command if the browser refuses it.
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client.issue_cmd(Cdp { cmd, params }).await.unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

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

    /// Browser console messages at SEVERE level since the last read of the log.
    pub async fn console_errors(&self) -> Vec<String> {
        self.console_at(&["SEVERE"]).await
    }

    /// Browser console messages at any of `levels` since the last read of the log (a read
    /// empties it, whatever the levels asked for).
    pub async fn console_at(&self, levels: &[&str]) -> Vec<String> {
        let log = self.client.issue_cmd(BrowserLog).await.expect("browser log");
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|e| levels.iter().any(|l| e["level"] == *l))
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

    /// Runs axe-core on the page; fails listing every violation, and fails when axe did not run
    /// or answered something unreadable (neither may pass as "no violations").
    pub async fn assert_accessible(&self, setup: &Setup) {
        let source = std::fs::read_to_string(&setup.axe_js)
            .unwrap_or_else(|e| panic!("read axe-core at {}: {e}", setup.axe_js.display()));
        self.client.execute(&source, vec![]).await.expect("inject axe-core");
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
               .then(r => done({
                   rules: r.passes.length + r.violations.length + r.incomplete.length + r.inapplicable.length,
                   violations: r.violations.map(v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map(n => n.target.join(' ')).join(', ')}`),
               }))
               .catch(e => done({ error: String(e) }));
        "#;
        let v = self.client.execute_async(script, vec![]).await.expect("axe.run");
        assert!(v["error"].is_null(), "axe-core failed on the page: {}", v["error"]);
        let rules = v["rules"].as_u64().unwrap_or_else(|| panic!("an unreadable axe-core result: {v}"));
        assert!(rules > 0, "axe-core ran no rule on the page: {v}");
        let violations: Vec<String> = serde_json::from_value(v["violations"].clone())
            .unwrap_or_else(|e| panic!("an unreadable axe-core result ({e}): {v}"));
        assert!(violations.is_empty(), "axe-core found accessibility violations:\n{}", violations.join("\n"));
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Page steps shared by tests that drive the console like a person (`static_hosting.rs`).
impl Page {
    /// Polls `condition` (a JavaScript expression) for up to 60 s until it is true.
    pub async fn wait_js(&self, what: &str, condition: &str) {
        let script = format!("try {{ return !!({condition}); }} catch (e) {{ return false; }}");
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if self.js(&script).await == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        let at = self.js("return location.href").await;
        let (text, log) = (self.text().await, self.console_errors().await);
        panic!(
            "waited in vain for {what} ({condition}); the page ({at}) shows:\n{text}\nthe browser logged:\n{log:#?}"
        );
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Types into a field as a person does (after clearing it).
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.unwrap_or_else(|e| panic!("clear {css}: {e}"));
        el.send_keys(text).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Chooses `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        let el = self.find(css).await;
        el.select_by_value(value).await.unwrap_or_else(|e| panic!("choose {value} in {css}: {e}"));
        let cond = format!("document.querySelector({}).value === {}", json!(css), json!(value));
        self.wait_js(&format!("{css} to hold {value}"), &cond).await;
    }

    /// The path of the current address.
    pub async fn path(&self) -> String {
        self.js("return location.pathname").await.as_str().unwrap_or_default().to_owned()
    }

    /// Creates a key on the console's sandbox KMS page (the page must be open, under any base
    /// path): region, description, and whether its policy trusts TiDB Cloud (the user guide's
    /// statements). Lands on the key's page; returns (key id, ARN).
    pub async fn create_sandbox_key(&self, region: &str, description: &str, trust: bool) -> (String, String) {
        self.find("#sandbox-create").await;
        self.select("#sandbox-region", region).await;
        self.type_into("#sandbox-description", description).await;
        let trust_box = self.find("#sandbox-trust").await;
        if trust_box.is_selected().await.expect("checked") != trust {
            trust_box.click().await.expect("click #sandbox-trust");
        }
        assert_eq!(trust_box.is_selected().await.expect("checked"), trust);
        self.click("#sandbox-create").await;
        let path = self.wait_path("/sandbox-kms/[^/]+$").await;
        self.find("#sandbox-key-facts").await;
        let key_id = path.rsplit('/').next().unwrap_or_default().to_owned();
        let arn = self.find("h1 code").await.text().await.expect("the key's ARN");
        assert!(arn.starts_with(&format!("arn:aws:kms:{region}:")) && arn.ends_with(&key_id), "{arn}");
        (key_id, arn)
    }

    /// Waits until the address's path matches the regular expression `re`; returns the path.
    pub async fn wait_path(&self, re: &str) -> String {
        let cond = format!("new RegExp({}).test(location.pathname)", json!(re));
        self.wait_js(&format!("the address to match {re}"), &cond).await;
        self.path().await
    }
}

/// What most tests start from: the suite's [`Setup`], a [`Server`] started with extra
/// arguments, a [`Browser`] and one [`Page`] signed in to the server. Tests take it apart
/// (`let Console { server, browser, page, .. } = Console::start(&[]).await;`) and end with
/// [`close`].
pub struct Console {
    pub setup: Setup,
    pub server: Server,
    pub browser: Browser,
    pub page: Page,
}

impl Console {
    pub async fn start(extra: &[&str]) -> Self {
        let setup = Setup::find().expect("Setup::find fails naming what is missing");
        let server = Server::start(&setup, extra).await;
        let browser = Browser::start(&setup).await;
        let page = browser.session().await;
        page.sign_in(&server).await;
        Self { setup, server, browser, page }
    }
}

/// Closes the page, then stops the browser and the server (the end of a [`Console`] test).
pub async fn close(page: Page, browser: Browser, server: Server) {
    page.close().await;
    browser.stop().await;
    server.stop().await;
}
