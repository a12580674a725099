//! Shared by the v1beta test files (each declares `mod common; mod v1beta_support;`): the checks
//! every answer goes through, request bodies taken from the official OAS, sandbox KMS keys, and a
//! server whose transitions never finish, to look at transitional states without racing a clock.
#![allow(dead_code, unused_imports)] // each test binary uses its own part

use crate::common::{DigestClient, Oas, Resp, Server, check, create_api_key, oas_path, spawn_server};
use cmek_core::policy::{PolicyRegion, default_key_policy, pretty};
use serde_json::{Value, json};
use std::path::Path;
use tokio::process::Child;

/// The server's default service account (`--service-account`), which key policies must trust.
pub const SERVICE_ACCOUNT: &str = "444455556666";
/// The sandbox KMS's default account (`--sandbox-account`): the customer's side.
pub const SANDBOX_ACCOUNT: &str = "111122223333";

// ------------------------------------------------------------------ checks on every answer

/// What every answer must satisfy: never a 5xx, the OAS schema of `op` for its status, and, for
/// an error, the `ErrorResponse` shape.
pub fn verify(oas: &Option<Oas>, op: &str, r: &Resp) {
    assert!(r.status < 500, "{op} answered {} (a server error): {}", r.status, r.body);
    check(oas, op, r);
    if r.status >= 400 {
        assert_error_shape(op, r);
    }
}

/// `{code: integer, message: string, details: [string]}`.
pub fn assert_error_shape(op: &str, r: &Resp) {
    let b = &r.body;
    assert!(b.is_object(), "{op} {}: the error body is not a JSON object: {b}", r.status);
    assert!(b["code"].is_i64(), "{op} {}: `code` is not an integer: {b}", r.status);
    assert!(b["message"].as_str().is_some_and(|m| !m.is_empty()), "{op} {}: `message` is not a string: {b}", r.status);
    let details = b["details"].as_array();
    assert!(
        details.is_some_and(|d| d.iter().all(Value::is_string)),
        "{op} {}: `details` is not an array of strings: {b}",
        r.status
    );
}

/// A 200 that fits the OAS; its body.
pub fn ok<'a>(oas: &Option<Oas>, op: &str, r: &'a Resp) -> &'a Value {
    verify(oas, op, r);
    assert_eq!(r.status, 200, "{op} was expected to succeed: {}", r.body);
    &r.body
}

/// An error with this status and code that fits the OAS; its message.
pub fn err<'a>(oas: &Option<Oas>, op: &str, r: &'a Resp, status: u16, code: i64) -> &'a str {
    verify(oas, op, r);
    assert_eq!((r.status, r.code()), (status, code), "{op} was expected to answer {status}/{code}: {}", r.body);
    let known = cmek_core::ErrorCode::from_code(code).expect("a code of the catalogue");
    assert_eq!(known.http_status(), status, "{code} travels with {}", known.http_status());
    r.message()
}

/// The `details` entries of an error.
pub fn details(r: &Resp) -> Vec<String> {
    r.body["details"]
        .as_array()
        .map(|d| d.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// The fields the `details` entries (`field: message`) name.
pub fn detail_fields(r: &Resp) -> Vec<String> {
    details(r).iter().filter_map(|d| d.split_once(": ").map(|(f, _)| f.to_owned())).collect()
}

/// The `details` entry about `field`.
pub fn detail_for(r: &Resp, field: &str) -> String {
    details(r)
        .into_iter()
        .find(|d| d.split_once(": ").is_some_and(|(f, _)| f == field))
        .unwrap_or_else(|| panic!("no detail names {field}: {}", r.body))
}

// ------------------------------------------------------------------ JSON editing

/// Sets the value at a JSON pointer, creating objects on the way.
pub fn set(v: &mut Value, pointer: &str, value: Value) {
    let mut cur = v;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            match cur {
                Value::Array(a) => a[part.parse::<usize>().expect("an index")] = value,
                _ => {
                    cur.as_object_mut().expect("an object on the way").insert((*part).to_owned(), value);
                }
            }
            return;
        }
        cur = match cur {
            Value::Array(a) => &mut a[part.parse::<usize>().expect("an index")],
            _ => cur.as_object_mut().expect("an object on the way").entry(*part).or_insert_with(|| json!({})),
        };
    }
}

/// Removes the value at a JSON pointer.
pub fn remove(v: &mut Value, pointer: &str) {
    let (parent, last) = pointer.rsplit_once('/').expect("a pointer");
    if let Some(Value::Object(m)) = v.pointer_mut(parent) {
        m.remove(last);
    }
}

/// A copy of `v` with the value at `pointer` replaced.
pub fn with(v: &Value, pointer: &str, value: Value) -> Value {
    let mut out = v.clone();
    set(&mut out, pointer, value);
    out
}

/// A copy of `v` without the value at `pointer`.
pub fn without(v: &Value, pointer: &str) -> Value {
    let mut out = v.clone();
    remove(&mut out, pointer);
    out
}

// ------------------------------------------------------------------ request bodies from the OAS

/// The JSON after `--data '` in the OAS x-code-sample of CreateCluster whose language names
/// `lang_contains`. Fails the test when the OAS file or the sample is missing: the examples are
/// the contract's own requests, and a silent stand-in would test something else.
fn sample_from_oas(lang_contains: &str) -> Value {
    let path = oas_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("the official v1beta OAS file is missing at {}: {e}; its request examples are needed", path.display())
    });
    let doc: Value = serde_json::from_str(&text).expect("the OAS file is JSON");
    let samples = doc["paths"]["/api/v1beta/projects/{project_id}/clusters"]["post"]["x-code-samples"]
        .as_array()
        .expect("CreateCluster has x-code-samples in the OAS");
    let source = samples
        .iter()
        .find(|s| s["lang"].as_str().is_some_and(|l| l.contains(lang_contains)))
        .and_then(|s| s["source"].as_str())
        .unwrap_or_else(|| panic!("no CreateCluster x-code-sample for {lang_contains} in the OAS"));
    let data = source.split("--data '").nth(1).unwrap_or_else(|| panic!("no --data in the sample: {source}"));
    let data = &data[..data.rfind('\'').expect("the closing quote of --data")];
    serde_json::from_str(data).unwrap_or_else(|e| panic!("the sample's --data is not JSON ({e}): {data}"))
}

/// The OAS request example "curl for TiDB Cloud Dedicated".
pub fn oas_dedicated_example() -> Value {
    sample_from_oas("Dedicated")
}

/// The OAS request example "curl for TiDB Cloud Serverless".
pub fn oas_serverless_example() -> Value {
    sample_from_oas("Serverless")
}

/// The OAS Dedicated example under another name (and region).
pub fn dedicated(name: &str, region: &str) -> Value {
    let mut v = oas_dedicated_example();
    set(&mut v, "/name", json!(name));
    set(&mut v, "/region", json!(region));
    v
}

// ------------------------------------------------------------------ paths

pub fn projects() -> String {
    "/api/v1beta/projects".to_owned()
}
pub fn aws_cmek(pid: &str) -> String {
    format!("/api/v1beta/projects/{pid}/aws-cmek")
}
pub fn clusters(pid: &str) -> String {
    format!("/api/v1beta/projects/{pid}/clusters")
}
pub fn cluster(pid: &str, cid: &str) -> String {
    format!("/api/v1beta/projects/{pid}/clusters/{cid}")
}
pub const REGIONS: &str = "/api/v1beta/clusters/provider/regions";

// ------------------------------------------------------------------ common steps

/// Creates a project; its id.
pub async fn create_project(s: &Server, oas: &Option<Oas>, name: &str, cmek: bool) -> String {
    let r = s.post(&projects(), json!({"name": name, "aws_cmek_enabled": cmek})).await;
    let id = ok(oas, "CreateProject", &r)["id"].as_str().expect("id is a string").to_owned();
    assert!(id.parse::<u64>().is_ok(), "project id {id} is not a decimal uint64");
    id
}

/// Creates a cluster; its id.
pub async fn create_cluster(s: &Server, oas: &Option<Oas>, pid: &str, body: Value) -> String {
    let r = s.post(&clusters(pid), body).await;
    let id = ok(oas, "CreateCluster", &r)["id"].as_str().expect("id is a string").to_owned();
    assert!(id.parse::<u64>().is_ok(), "cluster id {id} is not a decimal uint64");
    id
}

/// A project without CMEK ("p") holding a Dedicated cluster `name` in `region`; (project id,
/// cluster id).
pub async fn project_with_cluster(s: &Server, oas: &Option<Oas>, name: &str, region: &str) -> (String, String) {
    let pid = create_project(s, oas, "p", false).await;
    let cid = create_cluster(s, oas, &pid, dedicated(name, region)).await;
    (pid, cid)
}

/// GetCluster, checked; the body.
pub async fn get_cluster(s: &Server, oas: &Option<Oas>, pid: &str, cid: &str) -> Value {
    let r = s.get(&cluster(pid, cid)).await;
    ok(oas, "GetCluster", &r).clone()
}

pub fn status_of(c: &Value) -> &str {
    c["status"]["cluster_status"].as_str().unwrap_or_default()
}

/// Polls until the cluster's status is `status` (the harness's `wait_for`), then a checked GET.
pub async fn wait_status(s: &Server, oas: &Option<Oas>, pid: &str, cid: &str, status: &str) -> Value {
    s.wait_for(&cluster(pid, cid), |b| status_of(b) == status).await;
    let c = get_cluster(s, oas, pid, cid).await;
    assert_eq!(status_of(&c), status, "{c}");
    c
}

/// PATCH, checked; the response.
pub async fn patch_cluster(s: &Server, oas: &Option<Oas>, pid: &str, cid: &str, body: Value) -> Resp {
    let r = s.patch(&cluster(pid, cid), body).await;
    verify(oas, "UpdateCluster", &r);
    r
}

/// The provider catalog, checked.
pub async fn catalog(s: &Server, oas: &Option<Oas>) -> Value {
    let r = s.get(REGIONS).await;
    ok(oas, "ListProviderRegions", &r).clone()
}

pub use cmek_test_support::catalog::entry;

/// The regions the catalog offers for a type and provider.
pub fn catalog_regions(catalog: &Value, cluster_type: &str, provider: &str) -> Vec<String> {
    cmek_test_support::catalog::regions(catalog, cluster_type, provider)
}

/// The profile of `node_size` in a catalog entry's component list.
pub fn profile<'a>(entry: &'a Value, component: &str, node_size: &str) -> &'a Value {
    entry[component]
        .as_array()
        .expect("profiles")
        .iter()
        .find(|p| p["node_size"] == node_size)
        .unwrap_or_else(|| panic!("{node_size} is not a {component} size of {entry}"))
}

// ------------------------------------------------------------------ sandbox KMS

/// The key policy a person would write: the owner administers the key, and the service gets the
/// user guide's EBS and S3 statements for `region`.
pub fn good_policy(region: &str) -> String {
    pretty(&default_key_policy(SANDBOX_ACCOUNT, Some(SERVICE_ACCOUNT), &PolicyRegion::Region(region.into())))
}

/// Creates a sandbox KMS key; the key as the sandbox answers it (`arn`, `key_id`, …).
pub async fn sandbox_key(s: &Server, region: &str, policy: Option<String>) -> Value {
    let mut body = json!({"region": region});
    if let Some(p) = policy {
        body["policy"] = json!(p);
    }
    let r = s.post("/api/ext/v1/sandbox-kms/keys", body).await;
    assert_eq!(r.status, 200, "creating a sandbox key: {}", r.body);
    assert!(r.body["arn"].is_string() && r.body["key_id"].is_string(), "{}", r.body);
    r.body
}

/// A sandbox key whose policy trusts the service in `region`; its ARN and key id.
pub async fn usable_key(s: &Server, region: &str) -> (String, String) {
    let k = sandbox_key(s, region, Some(good_policy(region))).await;
    (k["arn"].as_str().unwrap().to_owned(), k["key_id"].as_str().unwrap().to_owned())
}

/// A sandbox KMS action on a key (`disable`, `enable`, `schedule-deletion`, …).
pub async fn key_action(s: &Server, key_id: &str, action: &str, body: Value) -> Value {
    let r = s.post(&format!("/api/ext/v1/sandbox-kms/keys/{key_id}/{action}"), body).await;
    assert_eq!(r.status, 200, "{action} on {key_id}: {}", r.body);
    r.body
}

/// PutKeyPolicy on a sandbox key.
pub async fn put_policy(s: &Server, key_id: &str, policy: String) {
    let r = s.put(&format!("/api/ext/v1/sandbox-kms/keys/{key_id}/policy"), json!({"policy": policy})).await;
    assert_eq!(r.status, 200, "PutKeyPolicy on {key_id}: {}", r.body);
}

/// The AWS default key policy: only the owner account; none of the service's statements.
pub fn owner_only_policy() -> String {
    pretty(&json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{SANDBOX_ACCOUNT}:root") },
            "Action": "kms:*",
            "Resource": "*",
        }],
    }))
}

/// A CMEK project with a usable key configured in `region`; (project id, key ARN, key id).
pub async fn cmek_project_with_key(
    s: &Server,
    oas: &Option<Oas>,
    name: &str,
    region: &str,
) -> (String, String, String) {
    let pid = create_project(s, oas, name, true).await;
    let (arn, key_id) = usable_key(s, region).await;
    let r = s.post(&aws_cmek(&pid), json!({"specs": [{"region": region, "kms_arn": arn}]})).await;
    assert_eq!(ok(oas, "CreateAwsCmek", &r), &json!({}));
    (pid, arn, key_id)
}

// ------------------------------------------------------------------ a server that never settles

/// The real binary on an existing data directory with transitions of an hour: every
/// transitional status it starts stays put for the whole test, so it can be looked at without
/// any timing assumption. Its requests are Digest-authenticated with a key it creates.
pub struct FrozenServer {
    child: Child,
    pub base: String,
    client: DigestClient,
}

impl FrozenServer {
    pub async fn start_in(data_dir: &Path) -> Self {
        Self::with_transitions(data_dir, "3600").await
    }

    /// A server whose transitions take `transition_secs`: long enough to be seen, short enough
    /// to wait for.
    pub async fn with_transitions(data_dir: &Path, transition_secs: &str) -> Self {
        let key = create_api_key(data_dir, "frozen").await;
        let (child, base, _) = spawn_server(data_dir, transition_secs, &[]).await;
        Self { child, base, client: DigestClient::new(key) }
    }

    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill");
    }

    pub async fn request(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Resp {
        let (headers, body): (&[(&str, &str)], _) = match body {
            Some(b) => (&[("content-type", "application/json")], Some(b.to_string())),
            None => (&[], None),
        };
        let res = self.client.send(method, &format!("{}{path}", self.base), headers, body).await.expect("request");
        Resp::read(res).await.expect("body")
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.request(reqwest::Method::POST, path, Some(&body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.request(reqwest::Method::PATCH, path, Some(&body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.request(reqwest::Method::DELETE, path, None).await
    }
}
