//! Test harness: the real `cmek-server` binary on a free loopback port with its own SQLite file,
//! an API key made with `cmek-server api-key create`, a small JSON client that authenticates with
//! HTTP Digest (RFC 7616), and the official v1beta OpenAPI file to check every answer against.
#![allow(dead_code, unused_imports)] // each test binary uses its own part of the harness

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Child;

/// Seconds each simulated transition takes in tests: short, but long enough to observe.
pub const TRANSITION_SECS: &str = "0.3";

// ------------------------------------------------------------------ API keys and Digest

pub use cmek_test_support::ErrorCode;
pub use cmek_test_support::digest::{
    ApiKey, DigestAlg, DigestClient, Nonce, authorization, challenge_of, digest_params,
};

/// The binary under test.
pub fn server_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cmek-server"))
}

/// Runs `cmek-server api-key ARGS…` and returns its stdout (panics when it fails).
pub async fn api_key_command(args: &[&str]) -> String {
    cmek_test_support::process::api_key_command(server_bin(), args).await
}

/// Creates an API key in `data_dir` with the `api-key create` subcommand.
pub async fn create_api_key(data_dir: &Path, name: &str) -> ApiKey {
    cmek_test_support::process::create_api_key(server_bin(), data_dir, name).await
}

// ------------------------------------------------------------------ the server

pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub data_dir: PathBuf,
    /// The one-time console sign-in link the server printed (`console sign-in: …`).
    pub sign_in_url: String,
    /// The API key every request of this harness is signed with.
    pub api_key: ApiKey,
    /// `--transition-secs`, kept across restarts.
    transition_secs: String,
    _tmp: Option<tempfile::TempDir>,
    client: DigestClient,
}

/// A response: status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    /// Reads a response; `None` when its body could not be read.
    pub async fn read(res: reqwest::Response) -> Option<Self> {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.ok()?;
        Some(Resp { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), headers })
    }

    /// A header's value ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The `code` of an ErrorResponse.
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or_default()
    }
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

/// Starts the binary on `data_dir`; (process, base URL, sign-in link). The rate limit is off
/// unless `extra` sets `--rate-limit-per-minute` (a flag overrides the environment).
pub async fn spawn_server(data_dir: &Path, transition_secs: &str, extra: &[&str]) -> (Child, String, String) {
    let mut cmd = cmek_test_support::process::server_command(
        server_bin(),
        data_dir,
        &data_dir.join("no-console"),
        transition_secs,
    );
    cmd.args(extra).env("CMEK_RATE_LIMIT_PER_MINUTE", "0").env_remove("CMEK_CONSOLE_PASSWORD").stderr(Stdio::inherit());
    let started = cmek_test_support::process::start(cmd).await;
    (started.child, started.base, started.sign_in_url)
}

impl Server {
    /// A server on a fresh data directory.
    pub async fn start() -> Self {
        Self::start_with_transitions(TRANSITION_SECS).await
    }

    /// A server on a fresh data directory whose transitions take `transition_secs` (also after
    /// [`Server::restart`]): long enough for a test to catch one in the middle.
    pub async fn start_with_transitions(transition_secs: &str) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let key = create_api_key(tmp.path(), "tests").await;
        let mut s = Self::start_with_key(tmp.path(), &[], key, transition_secs).await;
        s._tmp = Some(tmp);
        s
    }

    /// A server on `data_dir` (kept by the caller), with extra arguments. An API key is created
    /// in `data_dir` first (`cmek-server api-key create`); every request of the harness is
    /// Digest-authenticated with it. The rate limit is off (`CMEK_RATE_LIMIT_PER_MINUTE=0`)
    /// unless `extra` sets `--rate-limit-per-minute`.
    pub async fn start_in(data_dir: &Path, extra: &[&str]) -> Self {
        let key = create_api_key(data_dir, "tests").await;
        Self::start_with_key(data_dir, extra, key, TRANSITION_SECS).await
    }

    async fn start_with_key(data_dir: &Path, extra: &[&str], api_key: ApiKey, transition_secs: &str) -> Self {
        let (child, base, sign_in_url) = spawn_server(data_dir, transition_secs, extra).await;
        Self {
            child: Some(child),
            base,
            data_dir: data_dir.to_owned(),
            sign_in_url,
            client: DigestClient::new(api_key.clone()),
            api_key,
            transition_secs: transition_secs.to_owned(),
            _tmp: None,
        }
    }

    /// The one-time token of the sign-in link.
    pub fn sign_in_token(&self) -> &str {
        self.sign_in_url.split_once("#token=").map(|(_, t)| t).expect("a token in the sign-in link")
    }

    /// The Digest client the harness uses (e.g. to send custom headers).
    pub fn client(&self) -> &DigestClient {
        &self.client
    }

    /// Stops the server with SIGKILL (nothing gets to flush or clean up).
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().await.expect("kill");
        }
    }

    /// Stops the server and starts a new one on the same data directory.
    pub async fn restart(mut self) -> Self {
        self.kill().await;
        let tmp = self._tmp.take();
        let mut s = Self::start_with_key(&self.data_dir, &[], self.api_key.clone(), &self.transition_secs).await;
        s._tmp = tmp;
        s
    }

    pub async fn request(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Resp {
        self.try_request(method, path, body).await.expect("request")
    }

    /// [`Server::request`], `None` when the server could not be reached (e.g. it was killed).
    pub async fn try_request(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Option<Resp> {
        let (headers, body): (&[(&str, &str)], _) = match body {
            Some(b) => (&[("content-type", "application/json")], Some(b.to_string())),
            None => (&[], None),
        };
        let res = self.client.send(method, &format!("{}{path}", self.base), headers, body).await.ok()?;
        Resp::read(res).await
    }

    /// A request with extra headers (e.g. `Idempotency-Key`) and an optional JSON body.
    pub async fn with_headers(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Resp {
        let mut h: Vec<(&str, &str)> = headers.to_vec();
        if body.is_some() {
            h.push(("content-type", "application/json"));
        }
        let res = self
            .client
            .send(method, &format!("{}{path}", self.base), &h, body.map(Value::to_string))
            .await
            .expect("request");
        Resp::read(res).await.expect("body")
    }

    /// A request with a raw body and content type (for malformed input).
    pub async fn raw(&self, method: reqwest::Method, path: &str, content_type: Option<&str>, body: &str) -> Resp {
        let headers: Vec<(&str, &str)> = content_type.map(|ct| ("content-type", ct)).into_iter().collect();
        let res = self
            .client
            .send(method, &format!("{}{path}", self.base), &headers, Some(body.to_owned()))
            .await
            .expect("request");
        Resp::read(res).await.expect("body")
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.request(reqwest::Method::POST, path, Some(&body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.request(reqwest::Method::PUT, path, Some(&body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.request(reqwest::Method::PATCH, path, Some(&body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.request(reqwest::Method::DELETE, path, None).await
    }

    /// CreateAwsCmek: the project `pid` uses the key `kms_arn` in `region`.
    pub async fn configure_key(&self, pid: &str, region: &str, kms_arn: &str) -> Resp {
        let body = serde_json::json!({ "specs": [{ "region": region, "kms_arn": kms_arn }] });
        self.post(&format!("/api/v1beta/projects/{pid}/aws-cmek"), body).await
    }

    /// Polls `path` until `done` holds for the body (transitions take TRANSITION_SECS).
    pub async fn wait_for(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..200 {
            let r = self.get(path).await;
            if r.status == 200 && done(&r.body) {
                return r.body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{path} never reached the expected state");
    }
}

/// The official TiDB Cloud v1beta OpenAPI file, from ../shared/reference (never copied into
/// this repository).
pub struct Oas {
    doc: Value,
}

pub fn oas_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/tidbcloud-v1beta-oas.json")
}

impl Oas {
    /// Loads the file; a test that checks answers against the contract fails without it (a
    /// missing file would otherwise turn every contract check into a silent no-op). Always
    /// `Some`: the `Option` keeps [`check`]'s callers as they are.
    pub fn load() -> Option<Self> {
        let path = oas_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the official v1beta OAS file is missing at {}: {e}; response bodies cannot be checked against the \
                 contract without it (it is the brief's ../shared/reference/tidbcloud-v1beta-oas.json, next to \
                 this checkout)",
                path.display()
            )
        });
        Some(Self { doc: serde_json::from_str(&text).expect("the OAS file is JSON") })
    }

    /// The response schema the OAS gives `operation_id` for `status` (falling back to `default`).
    fn schema(&self, operation_id: &str, status: u16) -> Value {
        for item in self.doc["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("path item").values() {
                if op["operationId"] == operation_id {
                    let responses = &op["responses"];
                    let r = responses.get(status.to_string()).unwrap_or(&responses["default"]);
                    let mut schema = r["schema"].clone();
                    if let Value::Object(m) = &mut schema {
                        m.insert("definitions".into(), self.doc["definitions"].clone());
                    }
                    return schema;
                }
            }
        }
        panic!("no operation {operation_id} in the OAS");
    }

    /// Fails the test when `resp` breaks the OAS schema of `operation_id`.
    pub fn check(&self, operation_id: &str, resp: &Resp) {
        let schema = self.schema(operation_id, resp.status);
        let validator = jsonschema::draft4::new(&schema).expect("the OAS schema compiles");
        let errors: Vec<String> =
            validator.iter_errors(&resp.body).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(
            errors.is_empty(),
            "{operation_id} {} answered a body that breaks the OAS:\n{}\nbody: {}",
            resp.status,
            errors.join("\n"),
            resp.body
        );
    }
}

/// Checks against the OAS ([`Oas::load`] fails the test when the file is missing).
pub fn check(oas: &Option<Oas>, operation_id: &str, resp: &Resp) {
    if let Some(o) = oas {
        o.check(operation_id, resp);
    }
}
