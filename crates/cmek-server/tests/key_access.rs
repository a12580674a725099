//! The CMEK user guide, walked over real HTTP against the real binary: configure a key whose
//! policy is the Appendix's, create a cluster, rotate the key, revoke and restore access (by the
//! key policy, by disabling the key, by scheduling its deletion), and the refusals, health,
//! events, restart and concurrency rules around them.
//!
//! Every step asserts what the service says: the cluster status, the key health (state, when
//! checked, when last fine, why not, rotation), the refusal (HTTP status, code, message, details)
//! and the events recorded since the previous step.

mod common;

use cmek_core::policy::{self, EBS_SID, Grant, PolicyRegion, S3_SID};
use common::*;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY: i64 = 86_400;

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap_or_else(|| panic!("expected an array, got {v}")).iter().map(|s| text(s).to_owned()).collect()
}

// ------------------------------------------------------------------ accounts, keys, policies

/// The two accounts of the story: the service's (`<pingcap-account>`) and the customer's, which
/// owns the sandbox KMS keys.
struct Accounts {
    service: String,
    sandbox: String,
}

async fn accounts(s: &Server) -> Accounts {
    let r = s.get("/api/ext/v1/server-info").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    Accounts {
        service: text(&r.body["service_account_id"]).to_owned(),
        sandbox: text(&r.body["sandbox_account_id"]).to_owned(),
    }
}

/// The key policy the guide asks for (the Appendix statements, account and region filled in),
/// plus the key owner's own admin access, as written in the KMS console.
fn guide_policy(a: &Accounts, region: &str) -> String {
    policy::pretty(&policy::default_key_policy(&a.sandbox, Some(&a.service), &PolicyRegion::Region(region.into())))
}

async fn create_key(s: &Server, region: &str, policy: Option<&str>, multi_region: bool) -> Value {
    let mut body = json!({ "region": region, "description": "CMEK for the guide" });
    if let Some(p) = policy {
        body["policy"] = json!(p);
    }
    if multi_region {
        body["multi_region"] = json!(true);
    }
    let r = s.post("/api/ext/v1/sandbox-kms/keys", body).await;
    assert_eq!(r.status, 200, "creating a sandbox key in {region}: {:?}", r.body);
    assert_eq!(r.body["state"], "Enabled");
    assert_eq!(r.body["region"], region);
    if let Some(p) = policy {
        assert_eq!(text(&r.body["policy"]), p, "the policy is stored exactly as written");
    }
    r.body
}

fn key_path(key_id: &str) -> String {
    format!("/api/ext/v1/sandbox-kms/keys/{key_id}")
}

/// A sandbox key operation without a body of its own (enable, disable, rotate, …).
async fn key_op(s: &Server, key_id: &str, op: &str) -> Resp {
    s.post(&format!("{}/{op}", key_path(key_id)), json!({})).await
}

async fn key_op_ok(s: &Server, key_id: &str, op: &str) -> Value {
    let r = key_op(s, key_id, op).await;
    assert_eq!(r.status, 200, "{op} of key {key_id}: {:?}", r.body);
    r.body
}

async fn put_policy(s: &Server, key_id: &str, policy: &str) -> Resp {
    s.put(&format!("{}/policy", key_path(key_id)), json!({ "policy": policy })).await
}

async fn get_key(s: &Server, key_id: &str) -> Value {
    let r = s.get(&key_path(key_id)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

// ------------------------------------------------------------------ projects, keys, clusters

async fn create_project(s: &Server, name: &str, cmek: bool) -> String {
    let r = s.post("/api/v1beta/projects", json!({ "name": name, "aws_cmek_enabled": cmek })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    text(&r.body["id"]).to_owned()
}

async fn configure(s: &Server, pid: &str, region: &str, arn: &str) -> Resp {
    s.post(&format!("/api/v1beta/projects/{pid}/aws-cmek"), json!({ "specs": [{ "region": region, "kms_arn": arn }] }))
        .await
}

async fn configured_keys(s: &Server, pid: &str) -> Value {
    let r = s.get(&format!("/api/v1beta/projects/{pid}/aws-cmek")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["items"].clone()
}

/// The Dedicated AWS regions of the provider catalog: where a CMEK project may run.
async fn cmek_regions(s: &Server) -> Vec<String> {
    let r = s.get("/api/v1beta/clusters/provider/regions").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let out = cmek_test_support::catalog::regions(&r.body, "DEDICATED", "AWS");
    assert!(!out.is_empty(), "the catalog offers no Dedicated AWS region");
    out
}

/// The region the stories run in: us-west-2 when the catalog has it (the guide's example).
async fn story_region(s: &Server) -> String {
    let regions = cmek_regions(s).await;
    regions.iter().find(|r| *r == "us-west-2").unwrap_or(&regions[0]).clone()
}

/// A valid Dedicated AWS cluster for `region`, with node sizes and counts taken from the catalog.
async fn cluster_body(s: &Server, region: &str, name: &str) -> Value {
    let r = s.get("/api/v1beta/clusters/provider/regions").await;
    cmek_test_support::catalog::dedicated_aws_cluster(&r.body, region, name)
}

async fn create_cluster(s: &Server, pid: &str, region: &str, name: &str) -> Resp {
    let body = cluster_body(s, region, name).await;
    s.post(&format!("/api/v1beta/projects/{pid}/clusters"), body).await
}

fn cluster_path(pid: &str, cid: &str) -> String {
    format!("/api/v1beta/projects/{pid}/clusters/{cid}")
}

async fn cluster_status(s: &Server, pid: &str, cid: &str) -> String {
    let r = s.get(&cluster_path(pid, cid)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    text(&r.body["status"]["cluster_status"]).to_owned()
}

async fn wait_status(s: &Server, pid: &str, cid: &str, want: &str) {
    s.wait_for(&cluster_path(pid, cid), |b| b["status"]["cluster_status"] == want).await;
}

async fn set_paused(s: &Server, pid: &str, cid: &str, paused: bool) -> Resp {
    s.patch(&cluster_path(pid, cid), json!({ "config": { "paused": paused } })).await
}

async fn cluster_count(s: &Server, pid: &str) -> i64 {
    let r = s.get(&format!("/api/v1beta/projects/{pid}/clusters")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["total"].as_i64().expect("total")
}

// ------------------------------------------------------------------ key health

fn health_path(pid: &str) -> String {
    format!("/api/ext/v1/projects/{pid}/key-health")
}

/// The project's one configured key, as last checked.
async fn health(s: &Server, pid: &str) -> Value {
    let r = s.get(&health_path(pid)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "one configured key: {:?}", r.body);
    items[0].clone()
}

async fn check_now(s: &Server, pid: &str) -> Value {
    let r = s.post(&format!("{}/check", health_path(pid)), json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "one configured key: {:?}", r.body);
    items[0].clone()
}

/// "Test now" until the check lands in a later second than `after` (checked_at is in seconds).
async fn check_after(s: &Server, pid: &str, after: i64) -> Value {
    for _ in 0..100 {
        let h = check_now(s, pid).await;
        if h["checked_at"].as_i64().expect("checked_at") > after {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("POST key-health/check never moved checked_at past {after}");
}

fn assert_health(h: &Value, state: &str, key_state: Option<&str>) {
    assert_eq!(h["state"], state, "health: {h:#}");
    match key_state {
        Some(k) => assert_eq!(h["key_state"], k, "health: {h:#}"),
        None => assert!(h["key_state"].is_null(), "health: {h:#}"),
    }
    let causes = strings(&h["causes"]);
    if state == "ACCESSIBLE" {
        assert!(causes.is_empty(), "an accessible key has no causes: {h:#}");
        assert_eq!(h["last_ok_at"], h["checked_at"], "an accessible check is the last good one: {h:#}");
    } else {
        assert!(!causes.is_empty(), "an unusable key says why: {h:#}");
        assert!(causes.iter().all(|c| !c.trim().is_empty()), "{h:#}");
    }
}

/// A refusal of an operation that needs the key: HTTP 400, the code of the health state, and a
/// message naming the key, its region, the state and the first cause (all causes in details).
fn assert_key_refusal(r: &Resp, code: i64, arn: &str, region: &str, state: &str, doing: &str) {
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.code(), code, "{:?}", r.body);
    let m = r.message();
    assert!(m.contains(arn), "the refusal names the key ARN: {m}");
    assert!(m.contains(region), "the refusal names the region: {m}");
    assert!(m.contains(state), "the refusal names the key state: {m}");
    assert!(m.contains(doing), "the refusal says what was refused: {m}");
    let details = strings(&r.body["details"]);
    assert!(!details.is_empty(), "the causes travel in details: {:?}", r.body);
    assert!(m.contains(&details[0]), "the message carries the first cause: {m} / {details:?}");
}

fn assert_between(what: &str, v: &Value, lo: i64, hi: i64) {
    let n = v.as_i64().unwrap_or_else(|| panic!("{what} is not a number: {v}"));
    assert!((lo..=hi).contains(&n), "{what} = {n}, expected within [{lo}, {hi}]");
}

// ------------------------------------------------------------------ events

fn events_path(pid: &str) -> String {
    format!("/api/ext/v1/projects/{pid}/events")
}

fn event_id(e: &Value) -> i64 {
    text(&e["id"]).parse().expect("event ids are decimal")
}

/// Every event of the project, newest first, read page by page.
async fn all_events(s: &Server, pid: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let r = s.get(&format!("{}?page={page}&page_size=100", events_path(pid))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let items = r.body["items"].as_array().expect("items").clone();
        if items.is_empty() {
            break;
        }
        out.extend(items);
    }
    out
}

/// Reads the project's events step by step: each `expect` names exactly what the step recorded.
struct Timeline {
    pid: String,
    seen: i64,
}

impl Timeline {
    fn new(pid: &str) -> Self {
        Self { pid: pid.to_owned(), seen: 0 }
    }

    /// Events newer than the last step, oldest first.
    async fn fresh(&self, s: &Server) -> Vec<Value> {
        let r = s.get(&format!("{}?page_size=100", events_path(&self.pid))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let mut items: Vec<Value> =
            r.body["items"].as_array().expect("items").iter().filter(|e| event_id(e) > self.seen).cloned().collect();
        items.reverse();
        items
    }

    /// Waits for the step's events (settling transitions are recorded by a background tick), then
    /// asserts they are exactly `kinds`, in order.
    async fn expect(&mut self, s: &Server, kinds: &[&str]) -> Vec<Value> {
        let mut fresh = self.fresh(s).await;
        for _ in 0..200 {
            if fresh.len() >= kinds.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            fresh = self.fresh(s).await;
        }
        let got: Vec<&str> = fresh.iter().map(|e| text(&e["kind"])).collect();
        assert_eq!(got, kinds, "events of project {}: {fresh:#?}", self.pid);
        for e in &fresh {
            assert_eq!(e["project_id"], self.pid.as_str());
            assert!(!text(&e["message"]).is_empty(), "{e:#}");
        }
        if let Some(last) = fresh.last() {
            self.seen = event_id(last);
        }
        fresh
    }
}

// ------------------------------------------------------------------ the guide's setup

/// Steps 1–3 of "Enable CMEK": a CMEK project, a KMS key whose policy has the Appendix
/// statements, the key configured, and a cluster that reached AVAILABLE.
struct Guide {
    a: Accounts,
    pid: String,
    region: String,
    key_id: String,
    arn: String,
    policy: String,
    cid: String,
    t: Timeline,
}

impl Guide {
    async fn setup(s: &Server, name: &str) -> Self {
        let a = accounts(s).await;
        let region = story_region(s).await;
        // Step 1: a CMEK-enabled project.
        let pid = create_project(s, name, true).await;
        let mut t = Timeline::new(&pid);
        t.expect(s, &["PROJECT_CREATED"]).await;
        // Step 2: the key, with the policy of the Appendix, configured for the project.
        let policy = guide_policy(&a, &region);
        let key = create_key(s, &region, Some(&policy), false).await;
        let (key_id, arn) = (text(&key["key_id"]).to_owned(), text(&key["arn"]).to_owned());
        let t0 = now_secs();
        let r = configure(s, &pid, &region, &arn).await;
        let t1 = now_secs();
        assert_eq!(r.status, 200, "configuring a key with the guide's policy: {:?}", r.body);
        assert_eq!(configured_keys(s, &pid).await, json!([{ "region": region, "kms_arn": arn }]));
        let ev = t.expect(s, &["KEY_CONFIGURED"]).await;
        assert_eq!(ev[0]["region"], region.as_str());
        assert_eq!(strings(&ev[0]["details"]), vec![arn.clone()]);
        let h = health(s, &pid).await;
        assert_health(&h, "ACCESSIBLE", Some("Enabled"));
        assert_eq!(h["kms_arn"], arn.as_str());
        assert_eq!(h["region"], region.as_str());
        assert_eq!(h["project_id"], pid.as_str());
        assert_between("checked_at", &h["checked_at"], t0, t1);
        assert_eq!(h["multi_region"], false);
        assert!(h["deletion_date"].is_null());
        assert_eq!(h["rotation"]["enabled"], false);
        assert_eq!(h["rotation"]["rotation_count"], 0);
        // Step 3: a cluster in the key's region.
        let r = create_cluster(s, &pid, &region, &format!("{name}-c1")).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let cid = text(&r.body["id"]).to_owned();
        wait_status(s, &pid, &cid, "AVAILABLE").await;
        let ev = t.expect(s, &["CLUSTER_CREATED", "CLUSTER_AVAILABLE"]).await;
        assert!(ev.iter().all(|e| e["cluster_id"] == cid.as_str()), "{ev:#?}");
        assert!(text(&ev[0]["message"]).contains("customer-managed key"), "{ev:#?}");
        Self { a, pid, region, key_id, arn, policy, cid, t }
    }

    async fn pause(&mut self, s: &Server) {
        let r = set_paused(s, &self.pid, &self.cid, true).await;
        assert_eq!(r.status, 200, "pausing: {:?}", r.body);
        wait_status(s, &self.pid, &self.cid, "PAUSED").await;
        self.t.expect(s, &["CLUSTER_PAUSE_REQUESTED", "CLUSTER_PAUSED"]).await;
    }

    /// Resume is refused with `code`; the cluster stays PAUSED and the refusal is an event.
    async fn resume_refused(&mut self, s: &Server, code: i64, state: &str) -> Resp {
        let r = set_paused(s, &self.pid, &self.cid, false).await;
        assert_key_refusal(&r, code, &self.arn, &self.region, state, "resuming the cluster");
        assert_eq!(cluster_status(s, &self.pid, &self.cid).await, "PAUSED");
        let ev = self.t.expect(s, &["CLUSTER_RESUME_REFUSED"]).await;
        assert_eq!(ev[0]["cluster_id"], self.cid.as_str());
        assert_eq!(ev[0]["region"], self.region.as_str());
        assert_eq!(text(&ev[0]["message"]), cmek_core::text::sentence_case(r.message()), "the refusal, as a sentence");
        assert_eq!(ev[0]["details"], r.body["details"]);
        r
    }

    async fn resume(&mut self, s: &Server) {
        let r = set_paused(s, &self.pid, &self.cid, false).await;
        assert_eq!(r.status, 200, "resuming: {:?}", r.body);
        let now = cluster_status(s, &self.pid, &self.cid).await;
        assert!(now == "RESUMING" || now == "AVAILABLE", "a resumed cluster is RESUMING, then AVAILABLE; it is {now}");
        wait_status(s, &self.pid, &self.cid, "AVAILABLE").await;
        self.t.expect(s, &["CLUSTER_RESUME_REQUESTED", "CLUSTER_AVAILABLE"]).await;
    }

    /// A sandbox change that moves the health from `from` to `to`: one KEY_HEALTH_CHANGED event,
    /// carrying the causes.
    async fn health_changed(&mut self, s: &Server, from: &str, to: &str) -> Value {
        let h = health(s, &self.pid).await;
        assert_eq!(h["state"], to, "{h:#}");
        let ev = self.t.expect(s, &["KEY_HEALTH_CHANGED"]).await;
        let m = text(&ev[0]["message"]);
        assert!(m.contains(from) && m.contains(to), "{m}");
        assert!(m.find(from) < m.find(to), "from {from} to {to}: {m}");
        assert_eq!(ev[0]["details"], h["causes"]);
        assert_eq!(ev[0]["region"], self.region.as_str());
        h
    }
}

// ------------------------------------------------------------------ 1. policy revoke / restore

#[tokio::test]
async fn revoking_and_restoring_the_key_policy() {
    let s = Server::start().await;
    let mut g = Guide::setup(&s, "revoke-policy").await;
    let configured = configured_keys(&s, &g.pid).await;

    // "Rotate CMEK": rotate on demand; the key id and ARN stay, nothing changes in TiDB Cloud.
    let before = get_key(&s, &g.key_id).await;
    let rotated = key_op_ok(&s, &g.key_id, "rotate").await;
    assert_eq!(rotated["arn"], g.arn.as_str());
    assert_eq!(rotated["key_id"], g.key_id.as_str());
    assert_eq!(rotated["rotation"]["rotation_count"], 1);
    assert_eq!(rotated["rotations"].as_array().expect("rotations").len(), 1);
    assert_eq!(rotated["rotations"][0]["rotation_type"], "ON_DEMAND");
    assert_eq!(rotated["rotation"]["last_rotated_at"], rotated["rotations"][0]["rotated_at"]);
    assert_eq!(rotated["policy"], before["policy"]);
    assert_eq!(configured_keys(&s, &g.pid).await, configured, "the aws-cmek settings do not change");
    let h = health(&s, &g.pid).await;
    assert_health(&h, "ACCESSIBLE", Some("Enabled"));
    assert_eq!(h["kms_arn"], g.arn.as_str());
    assert_eq!(h["rotation"]["rotation_count"], 1);
    assert_eq!(h["rotation"]["last_rotated_at"], rotated["rotation"]["last_rotated_at"]);
    let ev = g.t.expect(&s, &["KEY_ROTATED"]).await;
    assert_eq!(strings(&ev[0]["details"]), vec![g.arn.clone()]);
    assert_eq!(cluster_status(&s, &g.pid, &g.cid).await, "AVAILABLE");

    // Automatic rotation: the period and the next rotation show in the health.
    let t0 = now_secs();
    let r = s.put(&format!("{}/rotation", key_path(&g.key_id)), json!({ "enabled": true, "period_days": 180 })).await;
    let t1 = now_secs();
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["rotation"]["enabled"], true);
    assert_eq!(r.body["rotation"]["period_days"], 180);
    assert_between("next_rotation_at", &r.body["rotation"]["next_rotation_at"], t0 + 180 * DAY, t1 + 180 * DAY);
    assert_eq!(r.body["arn"], g.arn.as_str());
    let h = health(&s, &g.pid).await;
    assert_health(&h, "ACCESSIBLE", Some("Enabled"));
    assert_eq!(h["rotation"]["enabled"], true);
    assert_eq!(h["rotation"]["period_days"], 180);
    assert_eq!(h["rotation"]["next_rotation_at"], r.body["rotation"]["next_rotation_at"]);
    assert_eq!(h["rotation"]["rotation_count"], 1, "enabling rotation does not rotate");
    g.t.expect(&s, &[]).await;
    assert_eq!(configured_keys(&s, &g.pid).await, configured);

    // "Revoke": take the service's statements out of the key policy.
    let revoked = policy::without_service_statements(&g.policy).expect("the guide's policy is JSON");
    assert!(!revoked.contains(EBS_SID) && !revoked.contains(S3_SID), "{revoked}");
    let ok_before = health(&s, &g.pid).await;
    let r = put_policy(&s, &g.key_id, &revoked).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(text(&r.body["policy"]), revoked);
    let h = g.health_changed(&s, "ACCESSIBLE", "ACCESS_DENIED").await;
    assert_health(&h, "ACCESS_DENIED", Some("Enabled"));
    let causes = strings(&h["causes"]);
    for grant in Grant::ALL {
        assert!(
            causes.iter().any(|c| c.contains(grant.label()) && c.contains(grant.sid())),
            "a cause names the missing {} grant and its statement: {causes:#?}",
            grant.label()
        );
    }
    assert_eq!(h["last_ok_at"], ok_before["last_ok_at"], "last_ok_at keeps the last good check");
    assert!(h["checked_at"].as_i64() >= ok_before["checked_at"].as_i64());
    assert_eq!(h["rotation"], ok_before["rotation"], "rotation info is still shown");

    // "After you revoke CMEK on AWS KMS, your running clusters are not affected."
    assert_eq!(cluster_status(&s, &g.pid, &g.cid).await, "AVAILABLE");
    // "pause all the clusters in the project": pausing needs no key.
    g.pause(&s).await;
    // "when you pause a cluster and then restore the cluster, the cluster will not be able to
    // restore normally because it cannot access CMEK."
    let r = g.resume_refused(&s, ErrorCode::KeyAccessDenied.code(), "ACCESS_DENIED").await;
    assert_eq!(strings(&r.body["details"]), causes, "the refusal carries every cause");
    // A second attempt is refused the same way; the cluster never leaves PAUSED.
    g.resume_refused(&s, ErrorCode::KeyAccessDenied.code(), "ACCESS_DENIED").await;

    // "Restore": put the access policy back.
    let r = put_policy(&s, &g.key_id, &g.policy).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let h = g.health_changed(&s, "ACCESS_DENIED", "ACCESSIBLE").await;
    assert_health(&h, "ACCESSIBLE", Some("Enabled"));
    assert!(h["last_ok_at"].as_i64() >= ok_before["last_ok_at"].as_i64());
    // "restore all clusters in the project"
    g.resume(&s).await;
    assert_eq!(configured_keys(&s, &g.pid).await, configured);
    assert_eq!(get_key(&s, &g.key_id).await["arn"], g.arn.as_str());
}

/// Revoking only one grant names only that grant.
#[tokio::test]
async fn revoking_only_the_backup_grant_names_only_it() {
    let s = Server::start().await;
    let mut g = Guide::setup(&s, "revoke-s3").await;
    let mut doc: Value = serde_json::from_str(&g.policy).expect("policy JSON");
    doc["Statement"].as_array_mut().expect("statements").retain(|st| st["Sid"] != S3_SID);
    let r = put_policy(&s, &g.key_id, &policy::pretty(&doc)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let h = g.health_changed(&s, "ACCESSIBLE", "ACCESS_DENIED").await;
    let causes = strings(&h["causes"]);
    assert!(causes.iter().any(|c| c.contains(Grant::S3Backup.label()) && c.contains(S3_SID)), "{causes:#?}");
    assert!(!causes.iter().any(|c| c.contains(Grant::Ebs.label())), "EBS is still granted: {causes:#?}");
    g.pause(&s).await;
    let r = g.resume_refused(&s, ErrorCode::KeyAccessDenied.code(), "ACCESS_DENIED").await;
    assert!(r.message().contains(Grant::S3Backup.label()), "{}", r.message());

    // An explicit Deny is another way to revoke: it wins over the Allow statements.
    let mut doc: Value = serde_json::from_str(&g.policy).expect("policy JSON");
    doc["Statement"].as_array_mut().expect("statements").push(json!({
        "Sid": "Deny the service",
        "Effect": "Deny",
        "Principal": { "AWS": "*" },
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": { "StringEquals": { "kms:CallerAccount": g.a.service } },
    }));
    let r = put_policy(&s, &g.key_id, &policy::pretty(&doc)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let h = health(&s, &g.pid).await;
    assert_health(&h, "ACCESS_DENIED", Some("Enabled"));
    let causes = strings(&h["causes"]);
    assert!(causes.iter().any(|c| c.contains("Deny the service") && c.contains("kms:Decrypt")), "{causes:#?}");
    g.t.expect(&s, &[]).await; // still ACCESS_DENIED: no change to record
    g.resume_refused(&s, ErrorCode::KeyAccessDenied.code(), "ACCESS_DENIED").await;

    let r = put_policy(&s, &g.key_id, &g.policy).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    g.health_changed(&s, "ACCESS_DENIED", "ACCESSIBLE").await;
    g.resume(&s).await;
}

// ------------------------------------------------------------------ 2. disable / enable, deletion

#[tokio::test]
async fn disabling_and_enabling_the_key() {
    let s = Server::start().await;
    let mut g = Guide::setup(&s, "disable-key").await;
    let ok_before = health(&s, &g.pid).await;

    let k = key_op_ok(&s, &g.key_id, "disable").await;
    assert_eq!(k["state"], "Disabled");
    assert_eq!(k["arn"], g.arn.as_str());
    let h = g.health_changed(&s, "ACCESSIBLE", "KEY_DISABLED").await;
    assert_health(&h, "KEY_DISABLED", Some("Disabled"));
    assert!(strings(&h["causes"])[0].contains("Disabled"), "{h:#}");
    assert_eq!(h["last_ok_at"], ok_before["last_ok_at"]);

    // Running clusters keep running; new ones are refused.
    assert_eq!(cluster_status(&s, &g.pid, &g.cid).await, "AVAILABLE");
    let r = create_cluster(&s, &g.pid, &g.region, "disable-key-c2").await;
    assert_key_refusal(&r, ErrorCode::KeyDisabled.code(), &g.arn, &g.region, "KEY_DISABLED", "creating the cluster");
    assert_eq!(cluster_count(&s, &g.pid).await, 1);
    let ev = g.t.expect(&s, &["CLUSTER_CREATE_REFUSED"]).await;
    assert_eq!(ev[0]["details"], r.body["details"]);

    // KMS refuses to rotate a disabled key, or to change its rotation.
    let r = key_op(&s, &g.key_id, "rotate").await;
    assert_eq!((r.status, r.code()), (400, ErrorCode::KmsInvalidState.code()), "{:?}", r.body);
    assert!(r.message().contains("Disabled"), "{}", r.message());
    let r = s.put(&format!("{}/rotation", key_path(&g.key_id)), json!({ "enabled": true })).await;
    assert_eq!((r.status, r.code()), (400, ErrorCode::KmsInvalidState.code()), "{:?}", r.body);
    let k = get_key(&s, &g.key_id).await;
    assert_eq!(k["state"], "Disabled");
    assert_eq!(k["rotation"]["rotation_count"], 0);
    assert_eq!(k["rotation"]["enabled"], false);
    g.t.expect(&s, &[]).await;

    g.pause(&s).await;
    g.resume_refused(&s, ErrorCode::KeyDisabled.code(), "KEY_DISABLED").await;

    let k = key_op_ok(&s, &g.key_id, "enable").await;
    assert_eq!(k["state"], "Enabled");
    let h = g.health_changed(&s, "KEY_DISABLED", "ACCESSIBLE").await;
    assert_health(&h, "ACCESSIBLE", Some("Enabled"));
    g.resume(&s).await;
}

#[tokio::test]
async fn scheduling_and_cancelling_the_key_deletion() {
    let s = Server::start().await;
    let mut g = Guide::setup(&s, "delete-key").await;

    let t0 = now_secs();
    let r = s.post(&format!("{}/schedule-deletion", key_path(&g.key_id)), json!({ "pending_window_days": 7 })).await;
    let t1 = now_secs();
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["state"], "PendingDeletion");
    assert_between("deletion_date", &r.body["deletion_date"], t0 + 7 * DAY, t1 + 7 * DAY);
    let h = g.health_changed(&s, "ACCESSIBLE", "PENDING_DELETION").await;
    assert_health(&h, "PENDING_DELETION", Some("PendingDeletion"));
    assert_eq!(h["deletion_date"], r.body["deletion_date"]);
    assert!(strings(&h["causes"])[0].contains("PendingDeletion"), "{h:#}");

    assert_eq!(cluster_status(&s, &g.pid, &g.cid).await, "AVAILABLE");
    g.pause(&s).await;
    g.resume_refused(&s, ErrorCode::KeyPendingDeletion.code(), "PENDING_DELETION").await;

    // A key pending deletion can only have its deletion cancelled.
    for op in ["enable", "disable", "rotate", "schedule-deletion"] {
        let r = key_op(&s, &g.key_id, op).await;
        assert_eq!((r.status, r.code()), (400, ErrorCode::KmsInvalidState.code()), "{op}: {:?}", r.body);
        assert!(r.message().contains("PendingDeletion"), "{op}: {}", r.message());
    }
    assert_eq!(get_key(&s, &g.key_id).await["deletion_date"], h["deletion_date"]);
    g.t.expect(&s, &[]).await;

    // As in AWS KMS, cancelling the deletion leaves the key Disabled.
    let k = key_op_ok(&s, &g.key_id, "cancel-deletion").await;
    assert_eq!(k["state"], "Disabled");
    assert!(k["deletion_date"].is_null(), "{k:#}");
    let h = g.health_changed(&s, "PENDING_DELETION", "KEY_DISABLED").await;
    assert_health(&h, "KEY_DISABLED", Some("Disabled"));
    assert!(h["deletion_date"].is_null(), "{h:#}");
    // … so resuming is still refused, now because the key is disabled.
    g.resume_refused(&s, ErrorCode::KeyDisabled.code(), "KEY_DISABLED").await;
    let r = key_op(&s, &g.key_id, "cancel-deletion").await;
    assert_eq!((r.status, r.code()), (400, ErrorCode::KmsInvalidState.code()), "nothing to cancel: {:?}", r.body);

    let k = key_op_ok(&s, &g.key_id, "enable").await;
    assert_eq!(k["state"], "Enabled");
    let h = g.health_changed(&s, "KEY_DISABLED", "ACCESSIBLE").await;
    assert_health(&h, "ACCESSIBLE", Some("Enabled"));
    g.resume(&s).await;
}

/// The waiting period passes (simulated by moving the deletion date into the past while the
/// server is down): KMS deletes the key, and the service finds it NOT_FOUND.
#[tokio::test]
async fn a_key_deleted_after_its_waiting_period_is_not_found() {
    let mut s = Server::start().await;
    let mut g = Guide::setup(&s, "deleted-key").await;
    g.pause(&s).await;
    let r = s.post(&format!("{}/schedule-deletion", key_path(&g.key_id)), json!({ "pending_window_days": 7 })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let pending = g.health_changed(&s, "ACCESSIBLE", "PENDING_DELETION").await;

    s.kill().await;
    {
        let db = rusqlite::Connection::open(s.data_dir.join("cmek.db")).expect("open the server's database");
        let n = db
            .execute(
                "UPDATE kms_keys SET deletion_date = ?1 WHERE key_id = ?2",
                rusqlite::params![now_secs() - 1, g.key_id],
            )
            .expect("move the deletion date");
        assert_eq!(n, 1);
    }
    let s = s.restart().await;

    // The key is gone from KMS.
    let r = s.get(&key_path(&g.key_id)).await;
    assert_eq!((r.status, r.code()), (404, ErrorCode::SandboxKeyNotFound.code()), "{:?}", r.body);
    let r = s.get("/api/ext/v1/sandbox-kms/keys").await;
    assert!(!r.body["items"].as_array().expect("items").iter().any(|k| k["arn"] == g.arn.as_str()), "{:?}", r.body);

    // The service re-checks the projects using a key when it changes; the deletion is a change.
    let mut seen_without_asking = None;
    for _ in 0..60 {
        let h = health(&s, &g.pid).await;
        if h["state"] != "PENDING_DELETION" {
            seen_without_asking = Some(h);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let h = check_now(&s, &g.pid).await;
    assert_health(&h, "NOT_FOUND", None);
    assert!(strings(&h["causes"])[0].contains(&g.arn), "the cause names the key: {h:#}");
    assert!(h["deletion_date"].is_null(), "{h:#}");
    assert_eq!(h["last_ok_at"], pending["last_ok_at"]);
    let ev = g.t.expect(&s, &["KEY_HEALTH_CHANGED"]).await;
    assert!(text(&ev[0]["message"]).contains("NOT_FOUND"), "{ev:#?}");
    // The configuration stays: only the key is gone.
    assert_eq!(configured_keys(&s, &g.pid).await, json!([{ "region": g.region, "kms_arn": g.arn }]));
    g.resume_refused(&s, ErrorCode::KeyNotFound.code(), "NOT_FOUND").await;
    let r = create_cluster(&s, &g.pid, &g.region, "deleted-key-c2").await;
    assert_key_refusal(&r, ErrorCode::KeyNotFound.code(), &g.arn, &g.region, "NOT_FOUND", "creating the cluster");
    g.t.expect(&s, &["CLUSTER_CREATE_REFUSED"]).await;

    let h = seen_without_asking.unwrap_or_else(|| {
        panic!(
            "after the restart deleted the key (deletion date passed), key-health still says PENDING_DELETION until someone \
             asks for a check: the startup tick's changed keys are not re-checked"
        )
    });
    assert_eq!(h["state"], "NOT_FOUND", "{h:#}");
}

// ------------------------------------------------------------------ rotation when due

/// Automatic rotation falls due (simulated by moving the rotation anchor a period back): KMS
/// rotates, the ARN stays, the service records KEY_ROTATED and shows the next rotation.
#[tokio::test]
async fn automatic_rotation_when_it_falls_due() {
    let s = Server::start().await;
    let mut g = Guide::setup(&s, "auto-rotate").await;
    let configured = configured_keys(&s, &g.pid).await;
    let r = s.put(&format!("{}/rotation", key_path(&g.key_id)), json!({ "enabled": true, "period_days": 90 })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let h = health(&s, &g.pid).await;
    assert_eq!(h["rotation"]["enabled"], true);
    assert_eq!(h["rotation"]["period_days"], 90);
    assert_eq!(h["rotation"]["next_rotation_at"], r.body["rotation"]["next_rotation_at"]);
    g.t.expect(&s, &[]).await;

    {
        let db = rusqlite::Connection::open(s.data_dir.join("cmek.db")).expect("open the server's database");
        db.busy_timeout(Duration::from_secs(10)).expect("busy timeout");
        let n = db
            .execute(
                "UPDATE kms_keys SET rotation_anchor = rotation_anchor - ?1 WHERE key_id = ?2",
                rusqlite::params![90 * DAY + 1, g.key_id],
            )
            .expect("move the rotation anchor");
        assert_eq!(n, 1);
    }
    let k = s.wait_for(&key_path(&g.key_id), |k| k["rotations"].as_array().is_some_and(|r| !r.is_empty())).await;
    assert_eq!(k["rotations"].as_array().expect("rotations").len(), 1, "one rotation was due: {k:#}");
    assert_eq!(k["rotations"][0]["rotation_type"], "AUTOMATIC");
    assert_eq!(k["arn"], g.arn.as_str());
    let last = k["rotations"][0]["rotated_at"].as_i64().expect("rotated_at");
    assert_eq!(k["rotation"]["next_rotation_at"], last + 90 * DAY);
    let ev = g.t.expect(&s, &["KEY_ROTATED"]).await;
    assert_eq!(strings(&ev[0]["details"]), vec![g.arn.clone()]);
    let h = health(&s, &g.pid).await;
    assert_health(&h, "ACCESSIBLE", Some("Enabled"));
    assert_eq!(h["rotation"], k["rotation"]);
    assert_eq!(configured_keys(&s, &g.pid).await, configured);
    assert_eq!(cluster_status(&s, &g.pid, &g.cid).await, "AVAILABLE");
    g.pause(&s).await;
    g.resume(&s).await;
}

// ------------------------------------------------------------------ 3. refusals

#[tokio::test]
async fn sandbox_key_ids_and_arns() {
    let s = Server::start().await;
    let a = accounts(&s).await;
    assert_eq!(a.service, "444455556666", "the default service account");
    assert_eq!(a.sandbox, "111122223333", "the default sandbox account");
    let region = story_region(&s).await;

    let k = create_key(&s, &region, None, false).await;
    let id = text(&k["key_id"]);
    let groups: Vec<&str> = id.split('-').collect();
    assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12], "a UUID key id: {id}");
    assert!(id.chars().all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)), "{id}");
    assert_eq!(text(&k["arn"]), format!("arn:aws:kms:{region}:{}:key/{id}", a.sandbox));
    assert_eq!(k["account_id"], a.sandbox.as_str());
    assert_eq!(k["multi_region"], false);
    let arn = cmek_core::arn::KmsKeyArn::parse(text(&k["arn"])).expect("a valid KMS key ARN");
    assert!(!arn.is_multi_region());
    // Without a policy, a key gets the AWS default: its own account administers it, nobody else.
    assert!(text(&k["policy"]).contains(&format!("arn:aws:iam::{}:root", a.sandbox)), "{}", k["policy"]);
    assert!(!text(&k["policy"]).contains(&a.service), "{}", k["policy"]);

    let m = create_key(&s, &region, Some(&guide_policy(&a, &region)), true).await;
    let mid = text(&m["key_id"]);
    let hex = mid.strip_prefix("mrk-").unwrap_or_else(|| panic!("a multi-Region key id starts with mrk-: {mid}"));
    assert_eq!(hex.len(), 32, "{mid}");
    assert!(hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)), "{mid}");
    assert_eq!(text(&m["arn"]), format!("arn:aws:kms:{region}:{}:key/{mid}", a.sandbox));
    assert_eq!(m["multi_region"], true);
    assert!(cmek_core::arn::KmsKeyArn::parse(text(&m["arn"])).expect("valid").is_multi_region());
    assert_ne!(k["key_id"], m["key_id"]);

    // Both are listed and readable by id; unknown ids are 404.
    let r = s.get("/api/ext/v1/sandbox-kms/keys").await;
    let ids: Vec<&str> = r.body["items"].as_array().expect("items").iter().map(|k| text(&k["key_id"])).collect();
    assert_eq!(ids, vec![id, mid]);
    assert_eq!(get_key(&s, mid).await, m);
    let r = s.get(&key_path("00000000-0000-4000-8000-000000000000")).await;
    assert_eq!((r.status, r.code()), (404, ErrorCode::SandboxKeyNotFound.code()), "{:?}", r.body);

    // A multi-Region key works like any other; the health says it is multi-Region.
    let pid = create_project(&s, "mrk-project", true).await;
    let r = configure(&s, &pid, &region, text(&m["arn"])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let h = health(&s, &pid).await;
    assert_health(&h, "ACCESSIBLE", Some("Enabled"));
    assert_eq!(h["multi_region"], true);

    // Region codes are checked.
    let r = s.post("/api/ext/v1/sandbox-kms/keys", json!({ "region": "mars-1" })).await;
    assert_eq!((r.status, r.code()), (400, ErrorCode::ValidationFailed.code()), "{:?}", r.body);
    assert!(strings(&r.body["details"])[0].starts_with("region: "), "{:?}", r.body);
}

#[tokio::test]
async fn configuring_a_key_the_service_cannot_use_is_refused_and_not_recorded() {
    let s = Server::start().await;
    let a = accounts(&s).await;
    let regions = cmek_regions(&s).await;
    let region = story_region(&s).await;
    let pid = create_project(&s, "refusals", true).await;
    let mut t = Timeline::new(&pid);
    t.expect(&s, &["PROJECT_CREATED"]).await;

    let not_recorded = |what: &'static str| {
        let s = &s;
        let pid = pid.clone();
        async move {
            assert_eq!(configured_keys(s, &pid).await, json!([]), "{what}: the key is not recorded");
            let r = s.get(&health_path(&pid)).await;
            assert_eq!(r.body["items"], json!([]), "{what}: no health for an unrecorded key");
        }
    };

    // A key with the AWS default policy: neither statement of the Appendix.
    let k = create_key(&s, &region, None, false).await;
    let arn = text(&k["arn"]).to_owned();
    let r = configure(&s, &pid, &region, &arn).await;
    assert_key_refusal(&r, ErrorCode::KeyAccessDenied.code(), &arn, &region, "ACCESS_DENIED", "configuring the key");
    let details = strings(&r.body["details"]);
    for grant in Grant::ALL {
        assert!(
            details.iter().any(|d| d.contains(grant.label()) && d.contains(grant.sid())),
            "the refusal names the missing {} statement: {details:#?}",
            grant.label()
        );
    }
    not_recorded("default policy").await;
    let ev = t.expect(&s, &["KEY_CONFIGURE_REFUSED"]).await;
    assert_eq!(ev[0]["region"], region.as_str());
    assert_eq!(text(&ev[0]["message"]), cmek_core::text::sentence_case(r.message()), "the refusal, as a sentence");
    assert_eq!(strings(&ev[0]["details"]), details);

    // A policy written for another region: the EBS statement's kms:ViaService does not match.
    let other = regions.iter().find(|r| **r != region).expect("a second region").clone();
    let k = create_key(&s, &region, Some(&guide_policy(&a, &other)), false).await;
    let arn = text(&k["arn"]).to_owned();
    let r = configure(&s, &pid, &region, &arn).await;
    assert_key_refusal(&r, ErrorCode::KeyAccessDenied.code(), &arn, &region, "ACCESS_DENIED", "configuring the key");
    let details = strings(&r.body["details"]);
    assert!(details.iter().any(|d| d.contains(Grant::Ebs.label())), "{details:#?}");
    assert!(!details.iter().any(|d| d.contains(Grant::S3Backup.label())), "S3 is granted: {details:#?}");
    let via = format!("ec2.{region}.amazonaws.com");
    assert!(
        details.iter().any(|d| d.contains("kms:ViaService") && d.contains(&via)),
        "a cause says which kms:ViaService the region needs: {details:#?}"
    );
    not_recorded("policy for another region").await;
    t.expect(&s, &["KEY_CONFIGURE_REFUSED"]).await;

    // A policy for another service account.
    let wrong = Accounts { service: "999988887777".into(), sandbox: a.sandbox.clone() };
    let k = create_key(&s, &region, Some(&guide_policy(&wrong, &region)), false).await;
    let arn = text(&k["arn"]).to_owned();
    let r = configure(&s, &pid, &region, &arn).await;
    assert_key_refusal(&r, ErrorCode::KeyAccessDenied.code(), &arn, &region, "ACCESS_DENIED", "configuring the key");
    let details = strings(&r.body["details"]);
    assert!(details.iter().any(|d| d.contains(&a.service) && d.contains("999988887777")), "{details:#?}");
    not_recorded("policy for another account").await;
    t.expect(&s, &["KEY_CONFIGURE_REFUSED"]).await;

    // An ARN KMS does not know.
    let unknown = format!("arn:aws:kms:{region}:{}:key/{}", a.sandbox, "0f0e0d0c-0b0a-4909-8807-060504030201");
    let r = configure(&s, &pid, &region, &unknown).await;
    assert_key_refusal(&r, ErrorCode::KeyNotFound.code(), &unknown, &region, "NOT_FOUND", "configuring the key");
    not_recorded("unknown ARN").await;
    t.expect(&s, &["KEY_CONFIGURE_REFUSED"]).await;

    // A disabled key with the right policy.
    let good = guide_policy(&a, &region);
    let k = create_key(&s, &region, Some(&good), false).await;
    let (key_id, arn) = (text(&k["key_id"]).to_owned(), text(&k["arn"]).to_owned());
    key_op_ok(&s, &key_id, "disable").await;
    let r = configure(&s, &pid, &region, &arn).await;
    assert_key_refusal(&r, ErrorCode::KeyDisabled.code(), &arn, &region, "KEY_DISABLED", "configuring the key");
    not_recorded("disabled key").await;
    t.expect(&s, &["KEY_CONFIGURE_REFUSED"]).await;

    // Enabled again, it is accepted; sending it again changes nothing.
    key_op_ok(&s, &key_id, "enable").await;
    let r = configure(&s, &pid, &region, &arn).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    t.expect(&s, &["KEY_CONFIGURED"]).await;
    let r = configure(&s, &pid, &region, &arn).await;
    assert_eq!(r.status, 200, "the same key again is accepted: {:?}", r.body);
    t.expect(&s, &[]).await;
    assert_eq!(configured_keys(&s, &pid).await, json!([{ "region": region, "kms_arn": arn }]));
    assert_health(&health(&s, &pid).await, "ACCESSIBLE", Some("Enabled"));

    // Creating a cluster while the key is revoked is refused, and nothing is created.
    let revoked = policy::without_service_statements(&good).expect("JSON");
    assert_eq!(put_policy(&s, &key_id, &revoked).await.status, 200);
    t.expect(&s, &["KEY_HEALTH_CHANGED"]).await;
    let r = create_cluster(&s, &pid, &region, "refused-c1").await;
    assert_key_refusal(&r, ErrorCode::KeyAccessDenied.code(), &arn, &region, "ACCESS_DENIED", "creating the cluster");
    assert_eq!(cluster_count(&s, &pid).await, 0);
    let ev = t.expect(&s, &["CLUSTER_CREATE_REFUSED"]).await;
    assert_eq!(ev[0]["region"], region.as_str());
    assert_eq!(ev[0]["details"], r.body["details"]);
    // Restored, the same request creates the cluster.
    assert_eq!(put_policy(&s, &key_id, &good).await.status, 200);
    t.expect(&s, &["KEY_HEALTH_CHANGED"]).await;
    let r = create_cluster(&s, &pid, &region, "refused-c1").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    t.expect(&s, &["CLUSTER_CREATED"]).await;
}

#[tokio::test]
async fn sandbox_kms_refuses_what_aws_kms_refuses() {
    let s = Server::start().await;
    let a = accounts(&s).await;
    let region = story_region(&s).await;
    let good = guide_policy(&a, &region);
    let k = create_key(&s, &region, Some(&good), false).await;
    let key_id = text(&k["key_id"]).to_owned();

    // The deletion window is 7–30 days.
    for days in [0, 6, 31, 365] {
        let r =
            s.post(&format!("{}/schedule-deletion", key_path(&key_id)), json!({ "pending_window_days": days })).await;
        assert_eq!((r.status, r.code()), (400, ErrorCode::ValidationFailed.code()), "{days} days: {:?}", r.body);
        let d = strings(&r.body["details"]);
        assert!(d[0].starts_with("pending_window_days: ") && d[0].contains(&days.to_string()), "{d:?}");
    }
    assert_eq!(get_key(&s, &key_id).await["state"], "Enabled");
    for days in [7, 30] {
        let t0 = now_secs();
        let r =
            s.post(&format!("{}/schedule-deletion", key_path(&key_id)), json!({ "pending_window_days": days })).await;
        let t1 = now_secs();
        assert_eq!(r.status, 200, "{days} days: {:?}", r.body);
        assert_between("deletion_date", &r.body["deletion_date"], t0 + days * DAY, t1 + days * DAY);
        assert_eq!(key_op_ok(&s, &key_id, "cancel-deletion").await["state"], "Disabled");
        key_op_ok(&s, &key_id, "enable").await;
    }
    // Without a window: 30 days.
    let t0 = now_secs();
    let r = s.post(&format!("{}/schedule-deletion", key_path(&key_id)), json!({})).await;
    let t1 = now_secs();
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_between("deletion_date", &r.body["deletion_date"], t0 + 30 * DAY, t1 + 30 * DAY);
    key_op_ok(&s, &key_id, "cancel-deletion").await;
    key_op_ok(&s, &key_id, "enable").await;

    // The rotation period is 90–2560 days.
    let rotation = format!("{}/rotation", key_path(&key_id));
    for days in [0, 89, 2561] {
        let r = s.put(&rotation, json!({ "enabled": true, "period_days": days })).await;
        assert_eq!((r.status, r.code()), (400, ErrorCode::ValidationFailed.code()), "{days} days: {:?}", r.body);
        let d = strings(&r.body["details"]);
        assert!(d[0].starts_with("period_days: ") && d[0].contains(&days.to_string()), "{d:?}");
    }
    assert_eq!(get_key(&s, &key_id).await["rotation"]["enabled"], false);
    for days in [90, 2560] {
        let r = s.put(&rotation, json!({ "enabled": true, "period_days": days })).await;
        assert_eq!(r.status, 200, "{days} days: {:?}", r.body);
        assert_eq!(r.body["rotation"]["period_days"], days);
    }
    let r = s.put(&rotation, json!({ "enabled": false })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["rotation"]["enabled"], false);
    assert!(r.body["rotation"]["next_rotation_at"].is_null(), "{:?}", r.body);

    // Rotating a disabled key is refused.
    key_op_ok(&s, &key_id, "disable").await;
    let r = key_op(&s, &key_id, "rotate").await;
    assert_eq!((r.status, r.code()), (400, ErrorCode::KmsInvalidState.code()), "{:?}", r.body);
    key_op_ok(&s, &key_id, "enable").await;

    // On-demand rotations are capped per key; the ARN never changes.
    let cap = cmek_server::kms::sandbox::MAX_ON_DEMAND_ROTATIONS;
    for n in 1..=cap {
        let rotated = key_op_ok(&s, &key_id, "rotate").await;
        assert_eq!(rotated["rotation"]["rotation_count"], n);
        assert_eq!(rotated["arn"], k["arn"]);
    }
    let r = key_op(&s, &key_id, "rotate").await;
    assert_eq!((r.status, r.code()), (400, ErrorCode::KmsInvalidState.code()), "{:?}", r.body);
    assert!(r.message().contains(&cap.to_string()), "{}", r.message());
    let now = get_key(&s, &key_id).await;
    assert_eq!(now["rotation"]["rotation_count"], cap);
    assert_eq!(now["arn"], k["arn"]);

    // PutKeyPolicy refuses documents AWS would refuse, and keeps the policy it had.
    let doc: Value = serde_json::from_str(&good).expect("JSON");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut d = doc.clone();
        f(&mut d);
        d.to_string()
    };
    let invalid: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("not JSON", "{\"Version\": \"2012-10-17\", \"Statement\": [".into()),
        ("not an object", "[]".into()),
        ("no Statement", json!({ "Version": "2012-10-17" }).to_string()),
        ("empty Statement", json!({ "Version": "2012-10-17", "Statement": [] }).to_string()),
        ("wrong Version", with(&|d: &mut Value| d["Version"] = json!("2020-01-01"))),
        ("lowercase Effect", with(&|d: &mut Value| d["Statement"][1]["Effect"] = json!("allow"))),
        (
            "no Principal",
            with(&|d: &mut Value| drop(d["Statement"][1].as_object_mut().expect("st").remove("Principal"))),
        ),
        ("no Action", with(&|d: &mut Value| drop(d["Statement"][2].as_object_mut().expect("st").remove("Action")))),
        (
            "unknown operator",
            with(&|d: &mut Value| d["Statement"][1]["Condition"]["StringEqualz"] = json!({ "a": "b" })),
        ),
        ("too large", with(&|d: &mut Value| d["Id"] = json!("x".repeat(33 * 1024)))),
    ];
    for (what, p) in &invalid {
        let r = put_policy(&s, &key_id, p).await;
        assert_eq!((r.status, r.code()), (400, ErrorCode::ValidationFailed.code()), "{what}: {:?}", r.body);
        let d = strings(&r.body["details"]);
        assert!(!d.is_empty() && d.iter().all(|d| d.starts_with("policy: ")), "{what}: {d:?}");
        assert_eq!(text(&get_key(&s, &key_id).await["policy"]), good, "{what}: the policy is unchanged");
        // CreateKey refuses the same documents.
        let r = s.post("/api/ext/v1/sandbox-kms/keys", json!({ "region": region, "policy": p })).await;
        assert_eq!((r.status, r.code()), (400, ErrorCode::ValidationFailed.code()), "{what}: {:?}", r.body);
    }

    // The Appendix as printed in the guide has // comments (and a "..." placeholder): JSON has
    // no comments, and the refusal says so.
    // The guide is the brief's reference next to this checkout; without it this case cannot
    // run, and the test fails rather than skip it.
    let mut commented = Vec::new();
    let guide_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/cmek-user-guide.md");
    let guide = std::fs::read_to_string(&guide_path)
        .unwrap_or_else(|e| panic!("the CMEK user guide is missing at {}: {e}", guide_path.display()));
    {
        let start = guide.find("```json").expect("the Appendix policy") + "```json".len();
        let end = start + guide[start..].find("```").expect("the end of the block");
        let block = guide[start..end]
            .replace("<pingcap-account>", &a.service)
            .replace("<region>", &region)
            .lines()
            .map(|l| l.strip_prefix("    ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(block.contains("// EBS-related policy"), "{block}");
        commented.push(("the guide's Appendix", block));
    }
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
    let at = lines.iter().position(|l| l.contains("\"Statement\"")).expect("Statement") + 1;
    lines.insert(at, "    // EBS-related policy".into());
    commented.push(("the policy with the guide's comment lines", lines.join("\n")));
    for (what, p) in &commented {
        let r = put_policy(&s, &key_id, p).await;
        assert_eq!((r.status, r.code()), (400, ErrorCode::ValidationFailed.code()), "{what}: {:?}", r.body);
        assert!(r.message().contains("comments"), "{what}: the refusal is about comments: {}", r.message());
        assert!(r.message().contains("//"), "{what}: {}", r.message());
        let r = s.post("/api/ext/v1/sandbox-kms/keys", json!({ "region": region, "policy": p })).await;
        assert_eq!((r.status, r.code()), (400, ErrorCode::ValidationFailed.code()), "{what}: {:?}", r.body);
        assert!(r.message().contains("comments"), "{what}: {}", r.message());
    }
    assert_eq!(text(&get_key(&s, &key_id).await["policy"]), good);

    // Operations on a key KMS does not have.
    let missing = "00000000-0000-4000-8000-000000000000";
    for op in ["enable", "disable", "rotate", "schedule-deletion", "cancel-deletion"] {
        let r = key_op(&s, missing, op).await;
        assert_eq!((r.status, r.code()), (404, ErrorCode::SandboxKeyNotFound.code()), "{op}: {:?}", r.body);
    }
    let r = put_policy(&s, missing, &good).await;
    assert_eq!((r.status, r.code()), (404, ErrorCode::SandboxKeyNotFound.code()), "{:?}", r.body);
}

// ------------------------------------------------------------------ 4. checks, events, restart

#[tokio::test]
async fn key_checks_events_and_restart() {
    let s = Server::start().await;
    let mut g = Guide::setup(&s, "checks").await;

    // "Test now" checks again: checked_at moves, and while accessible last_ok_at moves with it.
    let h0 = health(&s, &g.pid).await;
    let t0 = now_secs();
    let h1 = check_after(&s, &g.pid, h0["checked_at"].as_i64().expect("checked_at")).await;
    let t1 = now_secs();
    assert_health(&h1, "ACCESSIBLE", Some("Enabled"));
    assert_between("checked_at", &h1["checked_at"], t0, t1);
    assert_eq!(health(&s, &g.pid).await, h1, "GET answers what the check recorded");
    g.t.expect(&s, &[]).await; // nothing changed, nothing recorded

    // While access is revoked, checks move checked_at but last_ok_at stays at the last good one.
    let revoked = policy::without_service_statements(&g.policy).expect("JSON");
    assert_eq!(put_policy(&s, &g.key_id, &revoked).await.status, 200);
    let h2 = g.health_changed(&s, "ACCESSIBLE", "ACCESS_DENIED").await;
    assert_eq!(h2["last_ok_at"], h1["last_ok_at"]);
    let h3 = check_after(&s, &g.pid, h2["checked_at"].as_i64().expect("checked_at")).await;
    assert_health(&h3, "ACCESS_DENIED", Some("Enabled"));
    assert_eq!(h3["last_ok_at"], h1["last_ok_at"]);
    assert!(h3["checked_at"].as_i64() > h3["last_ok_at"].as_i64(), "{h3:#}");
    assert_eq!(h3["causes"], h2["causes"]);
    g.t.expect(&s, &[]).await; // the same state again: no event

    g.pause(&s).await;
    g.resume_refused(&s, ErrorCode::KeyAccessDenied.code(), "ACCESS_DENIED").await;

    // Events: paginated, newest first, consistent across pages.
    let all = all_events(&s, &g.pid).await;
    let r = s.get(&format!("{}?page_size=100", events_path(&g.pid))).await;
    let total = r.body["total"].as_i64().expect("total");
    assert_eq!(total as usize, all.len());
    let kinds: Vec<&str> = all.iter().rev().map(|e| text(&e["kind"])).collect();
    assert_eq!(
        kinds,
        vec![
            "PROJECT_CREATED",
            "KEY_CONFIGURED",
            "CLUSTER_CREATED",
            "CLUSTER_AVAILABLE",
            "KEY_HEALTH_CHANGED",
            "CLUSTER_PAUSE_REQUESTED",
            "CLUSTER_PAUSED",
            "CLUSTER_RESUME_REFUSED",
        ]
    );
    // Each message reads as a sentence on the timeline: a capital first, a full stop or the cause
    // list's colon-ended lead last.
    for e in &all {
        let m = text(&e["message"]);
        assert!(m.starts_with(|c: char| c.is_uppercase()), "event message starts with a capital: {m:?}");
        assert!(!m.ends_with(' '), "{m:?}");
    }
    for w in all.windows(2) {
        assert!(event_id(&w[0]) > event_id(&w[1]), "newest first by id: {w:#?}");
        assert!(w[0]["at_ms"].as_i64() >= w[1]["at_ms"].as_i64(), "newest first by time: {w:#?}");
    }
    let mut paged = Vec::new();
    for page in 1..=4 {
        let r = s.get(&format!("{}?page={page}&page_size=3", events_path(&g.pid))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["total"], total);
        let items = r.body["items"].as_array().expect("items").clone();
        let expected = (total as usize).saturating_sub((page - 1) * 3).min(3);
        assert_eq!(items.len(), expected, "page {page}");
        paged.extend(items);
    }
    assert_eq!(paged, all);
    let r = s.get(&format!("{}?page=1&page_size=1", events_path(&g.pid))).await;
    assert_eq!(r.body["items"][0]["kind"], "CLUSTER_RESUME_REFUSED", "the newest first");
    for bad in ["page=0", "page_size=0", "page_size=101", "page=x"] {
        let r = s.get(&format!("{}?{bad}", events_path(&g.pid))).await;
        assert_eq!((r.status, r.code()), (400, ErrorCode::InvalidQuery.code()), "{bad}: {:?}", r.body);
    }
    let r = s.get(&events_path("1")).await;
    assert_eq!(r.status, 404, "{:?}", r.body);

    // A restart keeps the events, the health, the configuration, the cluster and the key.
    let health_before = health(&s, &g.pid).await;
    let key_before = get_key(&s, &g.key_id).await;
    let configured = configured_keys(&s, &g.pid).await;
    let s = s.restart().await;
    assert_eq!(all_events(&s, &g.pid).await, all);
    assert_eq!(health(&s, &g.pid).await, health_before);
    assert_eq!(get_key(&s, &g.key_id).await, key_before);
    assert_eq!(configured_keys(&s, &g.pid).await, configured);
    assert_eq!(cluster_status(&s, &g.pid, &g.cid).await, "PAUSED");

    // … and the story goes on: still refused, then restored.
    g.resume_refused(&s, ErrorCode::KeyAccessDenied.code(), "ACCESS_DENIED").await;
    assert_eq!(put_policy(&s, &g.key_id, &g.policy).await.status, 200);
    let h = g.health_changed(&s, "ACCESS_DENIED", "ACCESSIBLE").await;
    assert_health(&h, "ACCESSIBLE", Some("Enabled"));
    assert!(h["checked_at"].as_i64() >= h3["checked_at"].as_i64(), "{h:#}");
    g.resume(&s).await;
    let after = all_events(&s, &g.pid).await;
    assert!(event_id(&after[0]) > event_id(&all[0]), "new events come after the old ones");
    assert_eq!(after[after.len() - all.len()..], all[..]);
}

// ------------------------------------------------------------------ 5. concurrency

async fn send(client: &DigestClient, method: reqwest::Method, url: String, body: Value) -> (u16, Value) {
    let r = client
        .send(method, &url, &[("content-type", "application/json")], Some(body.to_string()))
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.expect("body")).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_configures_leave_exactly_one_region() {
    let s = Server::start().await;
    let a = accounts(&s).await;
    let regions = cmek_regions(&s).await;
    let pid = create_project(&s, "race-configure", true).await;
    let mut specs = Vec::new();
    for i in 0..20 {
        let region = regions[i % regions.len()].clone();
        let k = create_key(&s, &region, Some(&guide_policy(&a, &region)), false).await;
        specs.push((region, text(&k["arn"]).to_owned()));
    }
    let client = s.client().clone();
    let url = format!("{}/api/v1beta/projects/{pid}/aws-cmek", s.base);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(specs.len()));
    let mut tasks = Vec::new();
    for (region, arn) in specs.clone() {
        let (client, url, barrier) = (client.clone(), url.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            send(&client, reqwest::Method::POST, url, json!({ "specs": [{ "region": region, "kms_arn": arn }] })).await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("task"));
    }
    let winners: Vec<usize> = (0..results.len()).filter(|i| results[*i].0 == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one configure succeeds: {results:#?}");
    let (region, arn) = &specs[winners[0]];
    assert_eq!(configured_keys(&s, &pid).await, json!([{ "region": region, "kms_arn": arn }]));
    for (i, (status, body)) in results.iter().enumerate() {
        if i == winners[0] {
            continue;
        }
        assert_eq!(*status, 400, "{body:?}");
        let want = if specs[i].0 == *region {
            ErrorCode::CmekKeyAlreadyConfigured.code()
        } else {
            ErrorCode::CmekRegionLocked.code()
        };
        assert_eq!(body["code"], want, "{} after {region} won: {body:?}", specs[i].0);
    }
    let events = all_events(&s, &pid).await;
    let configured: Vec<&Value> = events.iter().filter(|e| e["kind"] == "KEY_CONFIGURED").collect();
    assert_eq!(configured.len(), 1, "{events:#?}");
    assert_eq!(configured[0]["region"], region.as_str());
    assert_eq!(strings(&configured[0]["details"]), vec![arn.clone()]);
    assert!(!events.iter().any(|e| e["kind"] == "KEY_CONFIGURE_REFUSED"), "{events:#?}");
    let h = health(&s, &pid).await;
    assert_health(&h, "ACCESSIBLE", Some("Enabled"));
    assert_eq!((&h["region"], &h["kms_arn"]), (&json!(region), &json!(arn)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_resumes_start_the_cluster_once() {
    let s = Server::start().await;
    let mut g = Guide::setup(&s, "race-resume").await;
    g.pause(&s).await;
    let client = s.client().clone();
    let url = format!("{}{}", s.base, cluster_path(&g.pid, &g.cid));
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, url, barrier) = (client.clone(), url.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            send(&client, reqwest::Method::PATCH, url, json!({ "config": { "paused": false } })).await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("task"));
    }
    let ok = results.iter().filter(|(st, _)| *st == 200).count();
    assert_eq!(ok, 1, "exactly one resume starts the cluster: {results:#?}");
    for (status, body) in results.iter().filter(|(st, _)| *st != 200) {
        assert_eq!((*status, &body["code"]), (400, &json!(ErrorCode::ClusterStateConflict.code())), "{body:?}");
    }
    wait_status(&s, &g.pid, &g.cid, "AVAILABLE").await;
    let ev = g.t.expect(&s, &["CLUSTER_RESUME_REQUESTED", "CLUSTER_AVAILABLE"]).await;
    assert!(ev.iter().all(|e| e["cluster_id"] == g.cid.as_str()));
}

// ------------------------------------------------------------------ transitions and their events

/// Polls the cluster at `path` as fast as it answers (no sleep: the next action must follow the
/// moment it settles) until its status is `want`.
async fn until(s: &Server, path: &str, want: &str) {
    for _ in 0..10_000 {
        if text(&s.get(path).await.body["status"]["cluster_status"]) == want {
            return;
        }
    }
    panic!("the cluster never became {want}");
}

/// Each settled transition is an event, even when the next action follows at once (here: pause
/// the moment the cluster is AVAILABLE, resume the moment it is PAUSED).
#[tokio::test]
async fn transition_events_are_not_lost_when_the_next_action_follows_at_once() {
    let s = Server::start().await;
    let mut g = Guide::setup(&s, "prompt").await;
    let path = cluster_path(&g.pid, &g.cid);
    let rounds = 3;
    for _ in 0..rounds {
        assert_eq!(set_paused(&s, &g.pid, &g.cid, true).await.status, 200);
        until(&s, &path, "PAUSED").await;
        assert_eq!(set_paused(&s, &g.pid, &g.cid, false).await.status, 200);
        until(&s, &path, "AVAILABLE").await;
    }
    let per_round = ["CLUSTER_PAUSE_REQUESTED", "CLUSTER_PAUSED", "CLUSTER_RESUME_REQUESTED", "CLUSTER_AVAILABLE"];
    let kinds: Vec<&str> = (0..rounds).flat_map(|_| per_round).collect();
    let ev = g.t.expect(&s, &kinds).await;
    for w in ev.windows(2) {
        assert!(w[0]["at_ms"].as_i64() <= w[1]["at_ms"].as_i64(), "in time order: {w:#?}");
    }
}

/// The events are newest first by time as well as by id, even when a key change lands at the
/// moment a cluster transition ends (here: disable the key the moment the cluster is AVAILABLE,
/// then the moment it is PAUSED).
#[tokio::test]
async fn events_stay_in_time_order_when_a_key_change_meets_a_transition() {
    let s = Server::start().await;
    let mut g = Guide::setup(&s, "order").await;
    let path = cluster_path(&g.pid, &g.cid);
    // Waits for `n` new events, whatever their order, and returns them in id order.
    let fresh_n = |t: &Timeline, n: usize| {
        let s = &s;
        let seen = t.seen;
        let pid = t.pid.clone();
        async move {
            let t = Timeline { pid, seen };
            for _ in 0..200 {
                let fresh = t.fresh(s).await;
                if fresh.len() >= n {
                    return fresh;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("fewer than {n} new events");
        }
    };
    let mut all = Vec::new();
    for round in 0..2 {
        // Resume (round 1) or pause (round 0), and disable the key the moment it settles.
        let (paused, settled, requested, done) = if round == 0 {
            (true, "PAUSED", "CLUSTER_PAUSE_REQUESTED", "CLUSTER_PAUSED")
        } else {
            (false, "AVAILABLE", "CLUSTER_RESUME_REQUESTED", "CLUSTER_AVAILABLE")
        };
        assert_eq!(set_paused(&s, &g.pid, &g.cid, paused).await.status, 200);
        until(&s, &path, settled).await;
        key_op_ok(&s, &g.key_id, "disable").await;
        let ev = fresh_n(&g.t, 3).await;
        let mut kinds: Vec<&str> = ev.iter().map(|e| text(&e["kind"])).collect();
        kinds.sort_unstable();
        let mut want = vec![requested, done, "KEY_HEALTH_CHANGED"];
        want.sort_unstable();
        assert_eq!(kinds, want, "{ev:#?}");
        g.t.seen = event_id(ev.last().expect("events"));
        all.extend(ev);
        key_op_ok(&s, &g.key_id, "enable").await;
        let ev = g.t.expect(&s, &["KEY_HEALTH_CHANGED"]).await;
        all.extend(ev);
    }
    for w in all.windows(2) {
        assert!(
            w[0]["at_ms"].as_i64() <= w[1]["at_ms"].as_i64(),
            "a later event (higher id, listed first) has an earlier at_ms: {} at {} was recorded after {} at {}",
            w[1]["kind"],
            w[1]["at_ms"],
            w[0]["kind"],
            w[0]["at_ms"]
        );
    }
}
