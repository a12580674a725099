//! Wire compatibility of the sandbox's AWS KMS endpoint: the same `aws-sdk-kms` calls against
//! the sandbox and against `moto_server` (PyPI `moto[server]`, pinned, installed by
//! scripts/setup; started here on a free loopback port), comparing what they answer — the
//! answer's fields and their JSON types, recursively, and the error type of each refusal.
//!
//! moto does not evaluate key policies (so the access decision stays cmek-core's) and lets
//! some calls through that AWS refuses; where moto is known to differ, the test says so in
//! `MOTO_DIFFERS` instead of skipping the step.

mod common;

use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use common::Server;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ACCESS_KEY_ID: &str = "AKIASANDBOXTESTKEY02";
const SECRET: &str = "compat-test-secret-0123456789abcdefghijkl";
const REGION: &str = "us-west-2";

/// Keeps the raw body of the last answer, to compare answers as JSON.
#[derive(Clone, Debug, Default)]
struct LastBody(Arc<Mutex<Vec<u8>>>);

impl Intercept for LastBody {
    fn name(&self) -> &'static str {
        "LastBody"
    }

    fn read_after_deserialization(
        &self,
        ctx: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        *self.0.lock().unwrap() = ctx.response().body().bytes().unwrap_or_default().to_vec();
        Ok(())
    }
}

/// An answer as JSON, or the error type of a refusal.
type Answer = Result<Value, String>;

struct Endpoint {
    name: &'static str,
    client: Client,
    body: LastBody,
}

impl Endpoint {
    fn new(name: &'static str, url: &str, key_id: &str, secret: &str) -> Self {
        let body = LastBody::default();
        let conf = aws_sdk_kms::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(key_id, secret, None, None, "test"))
            .endpoint_url(url)
            .http_client(cmek_server::kms::aws::https_client())
            .interceptor(body.clone())
            .build();
        Self { name, client: Client::from_conf(conf), body }
    }

    /// The answer of the call as JSON (`{}` for an empty body), or the error type.
    fn answer<T, E: ProvideErrorMetadata>(&self, r: Result<T, E>) -> Answer {
        match r {
            Ok(_) => {
                let bytes = self.body.0.lock().unwrap().clone();
                if bytes.is_empty() {
                    Ok(Value::Object(Default::default()))
                } else {
                    serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))
                }
            }
            Err(e) => Err(e.code().unwrap_or("(no error type)").to_owned()),
        }
    }
}

/// The shape of a JSON value: each field's path and JSON type (array items merged). A null
/// member is an absent one (as for the SDKs), and so is a `null` body.
fn shape(v: &Value, path: &str, out: &mut BTreeMap<String, &'static str>) {
    let kind = match v {
        Value::Null if path.is_empty() => "object",
        Value::Null => return,
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(items) => {
            for item in items {
                shape(item, &format!("{path}[]"), out);
            }
            "array"
        }
        Value::Object(m) => {
            for (k, item) in m {
                shape(item, &format!("{path}.{k}"), out);
            }
            "object"
        }
    };
    out.insert(if path.is_empty() { ".".to_owned() } else { path.to_owned() }, kind);
}

/// Where moto is known to answer otherwise than AWS (and so than the sandbox): the step (or
/// the start of its name), and the difference. Every other difference fails the test.
const MOTO_DIFFERS: &[(&str, &str)] = &[
    // AWS always sends KeyUsage and MultiRegion; moto leaves them null unless given at CreateKey.
    ("DescribeKey", ".KeyMetadata.KeyUsage (string) only in the sandbox"),
    ("DescribeKey", ".KeyMetadata.MultiRegion (boolean) only in the sandbox"),
    // AWS sends SigningAlgorithms for asymmetric signing keys only; moto sends it for every key.
    ("DescribeKey", ".KeyMetadata.SigningAlgorithms (array) only in moto"),
    ("CreateKey", ".KeyMetadata.SigningAlgorithms (array) only in moto"),
    ("CreateKey", ".KeyMetadata.KeyUsage (string) only in the sandbox"),
    ("CreateKey", ".KeyMetadata.MultiRegion (boolean) only in the sandbox"),
    // AWS's GetKeyPolicy answers the policy's name too; moto only the policy.
    ("GetKeyPolicy", ".PolicyName (string) only in the sandbox"),
    // moto's GetKeyRotationStatus has no KeyId, period or next date.
    ("GetKeyRotationStatus", ".KeyId (string) only in the sandbox"),
    ("GetKeyRotationStatus", ".NextRotationDate (number) only in the sandbox"),
    ("GetKeyRotationStatus", ".RotationPeriodInDays (number) only in the sandbox"),
    // moto's ScheduleKeyDeletion answers KeyId and DeletionDate only.
    ("ScheduleKeyDeletion", ".KeyState (string) only in the sandbox"),
    ("ScheduleKeyDeletion", ".PendingWindowInDays (number) only in the sandbox"),
    // State and input checks moto does not make (AWS does; the error types are AWS's).
    ("EnableKeyRotation (Disabled)", "sandbox refused (DisabledException) / moto answered"),
    ("EnableKey (PendingDeletion)", "sandbox refused (KMSInvalidStateException) / moto answered"),
    ("ScheduleKeyDeletion (again)", "sandbox refused (KMSInvalidStateException) / moto answered"),
    ("CancelKeyDeletion (none scheduled)", "sandbox refused (KMSInvalidStateException) / moto answered"),
    ("ScheduleKeyDeletion (3 days)", "sandbox refused (ValidationException) / moto answered"),
    ("PutKeyPolicy (malformed)", "sandbox refused (MalformedPolicyDocumentException) / moto answered"),
];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn tools_bin(name: &str) -> PathBuf {
    let tools = std::env::var_os("CMEK_TOOLS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/cmek-console-tools")))
        .expect("CMEK_TOOLS or HOME");
    let bin = tools.join("venv/bin").join(name);
    assert!(bin.is_file(), "{} is missing, so the compatibility test cannot run; run scripts/setup", bin.display());
    bin
}

/// `moto_server` on a free loopback port, stopped when dropped.
async fn moto() -> (tokio::process::Child, String) {
    let port = free_port();
    let child = tokio::process::Command::new(tools_bin("moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start moto_server");
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return (child, format!("http://127.0.0.1:{port}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not listen on 127.0.0.1:{port} within 30 s");
}

#[tokio::test]
async fn the_sandbox_answers_like_moto() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(
        dir.path(),
        &["--sandbox-access-key-id", ACCESS_KEY_ID, "--sandbox-secret-access-key", SECRET],
    )
    .await;
    let (_moto, moto_url) = moto().await;
    let sandbox = Endpoint::new("sandbox", &s.base, ACCESS_KEY_ID, SECRET);
    let moto = Endpoint::new("moto", &moto_url, "testing", "testing");
    // (step, the sandbox's answer, moto's answer)
    let mut answers: Vec<(String, Answer, Answer)> = Vec::new();

    // Each endpoint's own key (ids differ; shapes must not).
    let (mut keys, mut created) = (Vec::new(), Vec::new());
    for ep in [&sandbox, &moto] {
        let r = ep.client.create_key().description("CMEK for the guide").send().await;
        let meta = match &r {
            Ok(o) => o.key_metadata().expect("KeyMetadata").clone(),
            Err(e) => panic!("{}: CreateKey failed: {e:?}", ep.name),
        };
        keys.push((
            meta.key_id().to_owned(),
            meta.arn().unwrap_or_default().to_owned(),
            meta.aws_account_id().unwrap_or_default().to_owned(),
        ));
        created.push(ep.answer(r));
    }
    let moto_created = created.pop().unwrap();
    answers.push(("CreateKey".into(), created.pop().unwrap(), moto_created));

    macro_rules! both {
        ($step:expr, |$c:ident, $k:ident, $arn:ident, $acct:ident| $call:expr) => {{
            let mut results = Vec::new();
            for (ep, (key, arn, account)) in [(&sandbox, &keys[0]), (&moto, &keys[1])] {
                let $c = &ep.client;
                let $k = key.as_str();
                let $arn = arn.as_str();
                let $acct = account.as_str();
                let _ = (&$k, &$arn, &$acct);
                results.push(ep.answer($call.await));
            }
            let m = results.pop().unwrap();
            let sb = results.pop().unwrap();
            answers.push(($step.to_owned(), sb, m));
        }};
    }

    let policy = |account: &str| {
        serde_json::json!({
            "Version": "2012-10-17",
            "Id": "key-guide",
            "Statement": [{
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": { "AWS": format!("arn:aws:iam::{account}:root") },
                "Action": "kms:*",
                "Resource": "*",
            }],
        })
        .to_string()
    };

    both!("DescribeKey", |c, k, arn, acct| c.describe_key().key_id(k).send());
    both!("DescribeKey by ARN", |c, k, arn, acct| c.describe_key().key_id(arn).send());
    both!("ListKeys", |c, k, arn, acct| c.list_keys().send());
    both!("GetKeyPolicy", |c, k, arn, acct| c.get_key_policy().key_id(k).policy_name("default").send());
    both!("PutKeyPolicy", |c, k, arn, acct| c
        .put_key_policy()
        .key_id(k)
        .policy_name("default")
        .policy(policy(acct))
        .send());
    both!("EnableKeyRotation", |c, k, arn, acct| c.enable_key_rotation().key_id(k).rotation_period_in_days(180).send());
    both!("GetKeyRotationStatus", |c, k, arn, acct| c.get_key_rotation_status().key_id(k).send());
    both!("RotateKeyOnDemand", |c, k, arn, acct| c.rotate_key_on_demand().key_id(k).send());
    both!("ListKeyRotations", |c, k, arn, acct| c.list_key_rotations().key_id(k).send());
    both!("DisableKeyRotation", |c, k, arn, acct| c.disable_key_rotation().key_id(k).send());
    both!("DisableKey", |c, k, arn, acct| c.disable_key().key_id(k).send());
    both!("DescribeKey (Disabled)", |c, k, arn, acct| c.describe_key().key_id(k).send());
    both!("EnableKeyRotation (Disabled)", |c, k, arn, acct| c.enable_key_rotation().key_id(k).send());
    both!("EnableKey", |c, k, arn, acct| c.enable_key().key_id(k).send());
    both!("ScheduleKeyDeletion", |c, k, arn, acct| c
        .schedule_key_deletion()
        .key_id(k)
        .pending_window_in_days(7)
        .send());
    both!("DescribeKey (PendingDeletion)", |c, k, arn, acct| c.describe_key().key_id(k).send());
    both!("EnableKey (PendingDeletion)", |c, k, arn, acct| c.enable_key().key_id(k).send());
    both!("ScheduleKeyDeletion (again)", |c, k, arn, acct| c
        .schedule_key_deletion()
        .key_id(k)
        .pending_window_in_days(7)
        .send());
    both!("CancelKeyDeletion", |c, k, arn, acct| c.cancel_key_deletion().key_id(k).send());
    both!("DescribeKey (after cancel)", |c, k, arn, acct| c.describe_key().key_id(k).send());
    both!("CancelKeyDeletion (none scheduled)", |c, k, arn, acct| c.cancel_key_deletion().key_id(k).send());
    both!("ScheduleKeyDeletion (3 days)", |c, k, arn, acct| c
        .schedule_key_deletion()
        .key_id(k)
        .pending_window_in_days(3)
        .send());
    both!("DescribeKey (unknown key)", |c, k, arn, acct| c
        .describe_key()
        .key_id("0b5c2a4e-1d7e-4c5e-9a3e-12345678abcd")
        .send());
    both!("GetKeyPolicy (unknown key)", |c, k, arn, acct| c
        .get_key_policy()
        .key_id("0b5c2a4e-1d7e-4c5e-9a3e-12345678abcd")
        .policy_name("default")
        .send());
    both!("PutKeyPolicy (malformed)", |c, k, arn, acct| c
        .put_key_policy()
        .key_id(k)
        .policy_name("default")
        .policy("{\"Statement\": 7}")
        .send());

    let mut differences = Vec::new();
    let mut seen = vec![false; MOTO_DIFFERS.len()];
    for (step, sb, m) in &answers {
        let difference = match (sb, m) {
            (Ok(a), Ok(b)) => {
                let (mut sa, mut sm) = (BTreeMap::new(), BTreeMap::new());
                shape(a, "", &mut sa);
                shape(b, "", &mut sm);
                let mut d = Vec::new();
                for (path, kind) in &sa {
                    match sm.get(path) {
                        None => d.push(format!("{path} ({kind}) only in the sandbox")),
                        Some(k) if k != kind => d.push(format!("{path} is {kind} in the sandbox, {k} in moto")),
                        _ => {}
                    }
                }
                for (path, kind) in &sm {
                    if !sa.contains_key(path) {
                        d.push(format!("{path} ({kind}) only in moto"));
                    }
                }
                d
            }
            (Err(a), Err(b)) if a == b => Vec::new(),
            (a, b) => vec![format!(
                "sandbox {} / moto {}",
                a.as_ref().map_or_else(|e| format!("refused ({e})"), |_| "answered".into()),
                b.as_ref().map_or_else(|e| format!("refused ({e})"), |_| "answered".into())
            )],
        };
        for d in difference {
            match MOTO_DIFFERS.iter().position(|(s, what)| step.starts_with(s) && *what == d) {
                Some(i) => seen[i] = true,
                None => differences.push(format!("(\"{step}\", \"{d}\"),")),
            }
        }
    }
    assert!(differences.is_empty(), "the sandbox and moto answer differently:\n{}", differences.join("\n"));
    let stale: Vec<_> = MOTO_DIFFERS.iter().zip(seen).filter(|(_, seen)| !seen).map(|(d, _)| d).collect();
    assert!(stale.is_empty(), "MOTO_DIFFERS lists differences that did not occur: {stale:?}");
}
