//! Gateway mode over real HTTP: a gateway (`--upstream`) in front of a second cmek-server in
//! reference mode (its own API key, HTTP Digest, 100 requests a minute), or in front of a fake
//! upstream that fails in each way a real one can. The gateway's own users authenticate with the
//! gateway's own API key; the upstream's key pair must never come back out.
mod common;
mod v1beta_support;

use cmek_test_support::fake_upstream::{FakeUpstream, Mode};
use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use v1beta_support::*;

/// Writes the key pair as `cmek-server api-key create` prints it, mode 0600.
fn key_file(dir: &Path, key: &ApiKey) -> PathBuf {
    let f = dir.join("upstream-key");
    std::fs::write(&f, format!("public key: {}\nprivate key: {}\n", key.public, key.private)).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    f
}

/// A gateway process whose log (at `log_level`) goes to a file; its own API key signs requests.
struct Gateway {
    child: tokio::process::Child,
    base: String,
    client: DigestClient,
    log: PathBuf,
}

impl Gateway {
    async fn start(dir: &Path, upstream: &str, key_file: &Path, extra: &[&str], log_level: &str) -> Self {
        Self::start_with_env(dir, upstream, key_file, extra, log_level, &[]).await
    }

    /// `start`, with these environment variables set for the gateway (e.g. its AWS credentials).
    async fn start_with_env(
        dir: &Path,
        upstream: &str,
        key_file: &Path,
        extra: &[&str],
        log_level: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let data = dir.join("gateway-data");
        let key = create_api_key(&data, "gateway-user").await;
        let log = dir.join("gateway.log");
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cmek-server"));
        cmd.args(["--listen", "127.0.0.1:0", "--key-check-secs", "0", "--rate-limit-per-minute", "0"])
            .arg("--data-dir")
            .arg(&data)
            .arg("--console-dir")
            .arg(dir.join("no-console"))
            .args(["--upstream", upstream, "--upstream-key-file"])
            .arg(key_file)
            .args(extra)
            .env("CMEK_LOG", log_level)
            .envs(env.iter().copied())
            .env_remove("CMEK_UPSTREAM_PUBLIC_KEY")
            .env_remove("CMEK_UPSTREAM_PRIVATE_KEY")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true);
        let (child, base) = cmek_test_support::process::start_listening(cmd, || {
            format!(": {}", std::fs::read_to_string(dir.join("gateway.log")).unwrap_or_default())
        })
        .await;
        Self { child, base, client: DigestClient::new(key), log }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let headers: &[(&str, &str)] = if body.is_some() { &[("content-type", "application/json")] } else { &[] };
        let res = self
            .client
            .send(method, &format!("{}{path}", self.base), headers, body.map(|b| b.to_string()))
            .await
            .expect("the gateway answers");
        Resp::read(res).await.expect("a body")
    }
    async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }
    async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PATCH, path, Some(body)).await
    }

    async fn wait_status(&self, pid: &str, cid: &str, status: &str) -> Value {
        for _ in 0..300 {
            let r = self.get(&cluster(pid, cid)).await;
            assert_eq!(r.status, 200, "{}", r.body);
            if status_of(&r.body) == status {
                return r.body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cluster {cid} never became {status} through the gateway");
    }

    async fn info(&self) -> Value {
        let r = self.get("/api/ext/v1/server-info").await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["gateway"].clone()
    }

    async fn sent(&self) -> u64 {
        self.info().await["requests_sent"].as_u64().expect("requests_sent")
    }

    async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Every answer the test saw, for the secret search.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn add(&mut self, r: &Resp) {
        let headers: Vec<String> =
            r.headers.iter().map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or(""))).collect();
        self.0.push(format!("{}\n{}\n{}", r.status, headers.join("\n"), r.body));
    }
}

fn assert_no_secret(what: &str, text: &str, key: &ApiKey) {
    assert!(!text.contains(&key.private), "the upstream's private key appears in {what}");
    assert!(!text.contains(&key.public), "the upstream's public key appears in {what}");
}

/// The user guide's flow through the gateway, with the gateway's own API key; and then the
/// key pair searched for in every answer, header, event and log line (at trace level).
#[tokio::test]
async fn the_user_guide_flow_through_the_gateway_never_shows_the_key_pair() {
    let oas = Oas::load();
    let tmp = tempfile::tempdir().unwrap();
    let upstream = Server::start_in(&tmp.path().join("upstream"), &["--rate-limit-per-minute", "100"]).await;
    let kf = key_file(tmp.path(), &upstream.api_key);
    let gw = Gateway::start(tmp.path(), &upstream.base, &kf, &["--upstream-cache-secs", "1"], "trace").await;
    let mut seen = Seen::default();
    let region = "us-east-1";

    let r = gw.post(&projects(), json!({"name": "guide", "aws_cmek_enabled": true})).await;
    let pid = ok(&oas, "CreateProject", &r)["id"].as_str().unwrap().to_owned();
    seen.add(&r);
    // The project is the upstream's: the upstream lists it.
    let listed = upstream.get(&projects()).await;
    assert!(listed.body["items"].as_array().unwrap().iter().any(|p| p["id"] == pid.as_str()), "{}", listed.body);

    // The key lives in the customer's KMS (here the upstream's sandbox, standing in for AWS).
    let (arn, key_id) = usable_key(&upstream, region).await;
    let r = gw.post(&aws_cmek(&pid), json!({"specs": [{"region": region, "kms_arn": arn}]})).await;
    ok(&oas, "CreateAwsCmek", &r);
    seen.add(&r);
    let r = gw.get(&aws_cmek(&pid)).await;
    assert_eq!(ok(&oas, "ListAwsCmek", &r)["items"][0]["kms_arn"], arn.as_str());

    // Region-locked: the upstream's refusal comes back with its own code.
    let r = gw.post(&clusters(&pid), dedicated("elsewhere", "us-west-2")).await;
    let msg = err(&oas, "CreateCluster", &r, 400, ErrorCode::CmekClusterRegionMismatch.code()).to_owned();
    assert!(msg.contains(region), "{msg}");
    seen.add(&r);

    let r = gw.post(&clusters(&pid), dedicated("guide-db", region)).await;
    let cid = ok(&oas, "CreateCluster", &r)["id"].as_str().unwrap().to_owned();
    seen.add(&r);
    gw.wait_status(&pid, &cid, "AVAILABLE").await;

    // Revoke: the customer disables the key in KMS.
    key_action(&upstream, &key_id, "disable", json!({})).await;
    let r = gw.patch(&cluster(&pid, &cid), json!({"config": {"paused": true}})).await;
    assert_eq!(r.status, 200, "pausing: {}", r.body);
    seen.add(&r);
    gw.wait_status(&pid, &cid, "PAUSED").await;
    let r = gw.patch(&cluster(&pid, &cid), json!({"config": {"paused": false}})).await;
    let cause = err(&oas, "UpdateCluster", &r, 400, ErrorCode::KeyDisabled.code()).to_owned();
    assert!(cause.contains(&arn), "the upstream's cause names the key: {cause}");
    seen.add(&r);
    // Restore, resume.
    key_action(&upstream, &key_id, "enable", json!({})).await;
    let r = gw.patch(&cluster(&pid, &cid), json!({"config": {"paused": false}})).await;
    assert_eq!(r.status, 200, "resuming: {}", r.body);
    seen.add(&r);
    gw.wait_status(&pid, &cid, "AVAILABLE").await;

    // Every change is an event of the gateway: who, what, the upstream's answer.
    let r = gw.get(&format!("/api/ext/v1/projects/{pid}/events?page_size=50")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    seen.add(&r);
    let kinds: Vec<&str> = r.body["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in [
        "PROJECT_CREATED",
        "KEY_CONFIGURED",
        "CLUSTER_CREATE_REFUSED",
        "CLUSTER_CREATED",
        "CLUSTER_PAUSE_REQUESTED",
        "CLUSTER_RESUME_REFUSED",
        "CLUSTER_RESUME_REQUESTED",
    ] {
        assert!(kinds.contains(&k), "no {k} event in {kinds:?}");
    }
    // The recorded requests keep what was asked, never the cluster's root password.
    let password = dedicated("x", region)["config"]["root_password"].as_str().unwrap().to_owned();
    assert!(!r.body.to_string().contains(&password), "the root password is in an event: {}", r.body);
    assert!(r.body.to_string().contains("\\\"root_password\\\":\\\"(not recorded)\\\""), "{}", r.body);
    let refused = r.body["items"].as_array().unwrap().iter().find(|e| e["kind"] == "CLUSTER_RESUME_REFUSED").unwrap();
    let details = refused["details"].to_string();
    assert!(
        details.contains(&format!("the gateway API key {}", gw.client.key.public))
            && details.contains("HTTP 400")
            && details.contains(&ErrorCode::KeyDisabled.code().to_string()),
        "who and the upstream's answer: {details}"
    );
    assert!(refused["at_ms"].as_i64().unwrap() > 0);

    // Server info: the mode, the upstream, the budget; no sandbox.
    let r = gw.get("/api/ext/v1/server-info").await;
    seen.add(&r);
    let g = &r.body["gateway"];
    assert_eq!(g["upstream"], upstream.base.as_str());
    assert_eq!(g["budget_limit"], 100);
    assert!(g["budget_remaining"].as_u64().unwrap() < 100, "{g}");
    assert_eq!(r.body["kms"], "aws");
    assert!(r.body["sandbox_account_id"].is_null());
    let r = gw.get("/api/ext/v1/sandbox-kms/keys").await;
    assert_eq!((r.status, r.code()), (404, ErrorCode::SandboxDisabled.code()), "{}", r.body);
    assert!(r.message().contains("gateway"), "{}", r.body);
    let r = gw.get(&format!("/api/ext/v1/projects/{pid}/key-health")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["items"][0]["kms_arn"], arn.as_str());
    seen.add(&r);
    let r = gw.get("/api/ext/v1/openapi.json").await;
    seen.add(&r);

    // The secret search.
    for (i, text) in seen.0.iter().enumerate() {
        assert_no_secret(&format!("answer #{i}"), text, &upstream.api_key);
    }
    let log = gw.stop().await;
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "the log ran at trace level: {log:.500}");
    assert!(log.contains("upstream answered"), "the log has the upstream's answers: {log:.500}");
    for (n, line) in log.lines().enumerate() {
        assert_no_secret(&format!("log line {}", n + 1), line, &upstream.api_key);
    }
}

#[tokio::test]
async fn identical_reads_go_upstream_once_and_writes_invalidate() {
    let tmp = tempfile::tempdir().unwrap();
    let upstream = Server::start_in(&tmp.path().join("upstream"), &["--rate-limit-per-minute", "100"]).await;
    let kf = key_file(tmp.path(), &upstream.api_key);
    let gw = Arc::new(Gateway::start(tmp.path(), &upstream.base, &kf, &["--upstream-cache-secs", "30"], "warn").await);
    let pid = gw.post(&projects(), json!({"name": "p", "aws_cmek_enabled": false})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = gw.sent().await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let gw = gw.clone();
        let path = clusters(&pid);
        tasks.push(tokio::spawn(async move { gw.get(&path).await }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(gw.sent().await - before, 1, "ten identical concurrent reads, one upstream request");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = gw.get(&clusters(&pid)).await;
    assert!(r.header("age").parse::<u64>().unwrap() >= 1, "a reused answer says its age: {:?}", r.headers);
    assert_eq!(gw.sent().await - before, 1, "reused within the cache time");
    let r = gw.post(&clusters(&pid), dedicated("c-one", "us-east-1")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = gw.get(&clusters(&pid)).await;
    assert_eq!(r.body["total"], 1, "the write dropped the kept list: {}", r.body);
    assert_eq!(r.header("age"), "0");
}

#[tokio::test]
async fn a_wrong_key_pair_is_named_as_such_without_showing_it() {
    let tmp = tempfile::tempdir().unwrap();
    let upstream = Server::start_in(&tmp.path().join("upstream"), &[]).await;
    let wrong = ApiKey { public: upstream.api_key.public.clone(), private: "WRONGPRIVATEKEY0123456789".into() };
    let kf = key_file(tmp.path(), &wrong);
    let gw = Gateway::start(tmp.path(), &upstream.base, &kf, &[], "trace").await;
    let r = gw.get(&projects()).await;
    assert_eq!((r.status, r.code()), (502, ErrorCode::UpstreamUnauthenticated.code()), "{}", r.body);
    assert!(r.message().contains("wrong or was revoked"), "{}", r.body);
    assert!(
        r.body["details"].to_string().contains(&format!("upstream_code: {}", ErrorCode::Unauthenticated.code())),
        "{}",
        r.body
    );
    let text = format!("{:?}{}", r.headers, r.body);
    assert_no_secret("the 401 answer", &text, &wrong);
    let log = gw.stop().await;
    for line in log.lines() {
        assert_no_secret("the log", line, &wrong);
    }
}

// ------------------------------------------------------------------ a fake upstream that fails

/// Each way an upstream fails reaches the client as a clear ErrorResponse with the upstream's
/// words, a 429 stays a 429 with its reset, and a create whose answer was lost is not made twice.
#[tokio::test]
async fn upstream_failures_are_clear_and_nothing_is_created_twice() {
    let tmp = tempfile::tempdir().unwrap();
    // Projects it creates are 1001, 1002, …; a limited client is asked to wait 7 s.
    let fake = FakeUpstream::start(1000, 7).await;
    let base = fake.base.clone();
    let kf = key_file(tmp.path(), &ApiKey { public: "FAKEPUBLIC".into(), private: "FAKEPRIVATE".into() });
    let gw =
        Gateway::start(tmp.path(), &base, &kf, &["--upstream-timeout-secs", "1", "--upstream-cache-secs", "0"], "warn")
            .await;

    fake.set_mode(Mode::Fails);
    let r = gw.get(&projects()).await;
    assert_eq!((r.status, r.code()), (502, ErrorCode::UpstreamFailed.code()), "{}", r.body);
    assert!(r.message().contains("upstream database is down"), "{}", r.body);
    assert!(r.body["details"].to_string().contains("upstream_code: 49900500"), "{}", r.body);

    fake.set_mode(Mode::Slow);
    let r = gw.get(&projects()).await;
    assert_eq!((r.status, r.code()), (504, ErrorCode::UpstreamTimeout.code()), "{}", r.body);
    assert!(r.message().contains("did not answer"), "{}", r.body);

    fake.set_mode(Mode::Drops);
    let r = gw.get(&projects()).await;
    assert_eq!((r.status, r.code()), (502, ErrorCode::UpstreamUnreachable.code()), "{}", r.body);
    assert!(r.message().contains("dropped the connection"), "{}", r.body);

    // A create whose answer was lost: found by name, answered once, created once.
    fake.set_mode(Mode::CreatesThenDrops);
    let r = gw.post(&projects(), json!({"name": "lost-answer", "aws_cmek_enabled": true})).await;
    assert_eq!(r.status, 200, "reconciled by name: {}", r.body);
    assert_eq!(r.body["id"], "1001");
    assert_eq!(fake.creates(), 1);

    // Lost without being made: a clear error; the retry looks first, then creates once.
    fake.set_mode(Mode::Drops);
    let r = gw.post(&projects(), json!({"name": "second", "aws_cmek_enabled": true})).await;
    assert_eq!((r.status, r.code()), (502, ErrorCode::UpstreamUnreachable.code()), "{}", r.body);
    assert!(
        r.message().contains("\"second\"") && r.message().contains("checked against the upstream first"),
        "{}",
        r.body
    );
    assert_eq!(fake.creates(), 1);
    // The retry looks first (not there), sends, loses the answer again, and finds it.
    fake.set_mode(Mode::CreatesThenDrops);
    let r = gw.post(&projects(), json!({"name": "second", "aws_cmek_enabled": true})).await;
    assert_eq!((r.status, &r.body["id"]), (200, &json!("1002")), "{}", r.body);
    assert_eq!(fake.creates(), 2, "one create per name");
    // A list read while all is well, kept for when the upstream limits the gateway.
    fake.set_mode(Mode::Ok);
    assert_eq!(gw.get(&projects()).await.status, 200);

    // 429 with X-Ratelimit-Reset: a 429 (never a 5xx) with Retry-After, the upstream's words;
    // and nothing more is sent until the reset.
    let hits = fake.set_mode(Mode::RateLimited);
    let r = gw.get(&format!("{}?page=2", projects())).await;
    assert_eq!((r.status, r.code()), (429, ErrorCode::RateLimited.code()), "{}", r.body);
    assert_eq!(r.header("retry-after"), "7");
    assert!(r.message().contains("exceeded the limit of 100"), "{}", r.body);
    let r = gw.get(&format!("{}?page=3", projects())).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").parse::<u64>().unwrap() <= 7);
    assert_eq!(fake.hits(), hits + 1, "the gateway waits for the reset");
    let info = gw.info().await;
    assert_eq!(info["throttled"], true, "{info}");
    // A list read before is still served (older, with its age) rather than an error.
    let r = gw.get(&projects()).await;
    assert_eq!(r.status, 200, "the kept list: {}", r.body);
    let events = gw.stop().await;
    assert!(!events.contains("FAKEPRIVATE"));
}

/// Key health in gateway mode with `--kms aws`: the gateway reads the organisation's real key
/// through aws-sdk-kms with its own AWS credentials. The upstream's sandbox stands in for the
/// customer's AWS KMS (its AWS endpoint, SigV4-checked), so the test sees the gateway follow the
/// key from usable to disabled and back.
#[tokio::test]
async fn key_health_through_a_gateway_reads_the_real_key_with_the_aws_kms_client() {
    const ACCESS_KEY_ID: &str = "AKIAGATEWAYTESTKEY01";
    const SECRET: &str = "gateway-test-secret-0123456789abcdefghijk";
    let tmp = tempfile::tempdir().unwrap();
    let upstream = Server::start_in(
        &tmp.path().join("upstream"),
        &["--sandbox-access-key-id", ACCESS_KEY_ID, "--sandbox-secret-access-key", SECRET],
    )
    .await;
    let kf = key_file(tmp.path(), &upstream.api_key);
    let aws_env = [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
    ];
    let gw = Gateway::start_with_env(
        tmp.path(),
        &upstream.base,
        &kf,
        &["--kms", "aws", "--kms-endpoint-url", &upstream.base, "--upstream-cache-secs", "0"],
        "warn",
        &aws_env,
    )
    .await;
    let region = "us-east-1";
    let r = gw.post(&projects(), json!({"name": "real-key", "aws_cmek_enabled": true})).await;
    let pid = r.body["id"].as_str().unwrap_or_else(|| panic!("{}", r.body)).to_owned();
    let (arn, key_id) = usable_key(&upstream, region).await;
    let r = gw.post(&aws_cmek(&pid), json!({"specs": [{"region": region, "kms_arn": arn}]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let check = format!("/api/ext/v1/projects/{pid}/key-health/check");
    let r = gw.post(&check, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let h = &r.body["items"][0];
    assert_eq!((h["kms_arn"].as_str(), h["state"].as_str()), (Some(arn.as_str()), Some("ACCESSIBLE")), "{h}");
    assert_eq!(h["key_state"], "Enabled", "read from KMS, not assumed: {h}");
    key_action(&upstream, &key_id, "disable", json!({})).await;
    let r = gw.post(&check, json!({})).await;
    let h = &r.body["items"][0];
    assert_eq!((h["state"].as_str(), h["key_state"].as_str()), (Some("KEY_DISABLED"), Some("Disabled")), "{h}");
    key_action(&upstream, &key_id, "enable", json!({})).await;
    let r = gw.post(&check, json!({})).await;
    assert_eq!(r.body["items"][0]["state"], "ACCESSIBLE", "{}", r.body);
    let r = gw.get("/api/ext/v1/server-info").await;
    assert_eq!(r.body["kms"], "aws", "{}", r.body);
    gw.stop().await;
}
