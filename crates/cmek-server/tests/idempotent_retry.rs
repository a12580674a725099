//! `Idempotency-Key` protects against duplicates, not against retries after a refusal: the
//! user guide's own flow — paste the ARN, be told the policy is missing, fix the policy in KMS,
//! press Create again with the same key — must succeed, and so must a cluster create refused
//! while the key was disabled once it is enabled again. A success is kept and replayed, so a
//! double submission still creates once.

mod common;

use cmek_core::policy::{self, PolicyRegion};
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const REGION: &str = "us-west-2";

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("expected a string, got {v}"))
}

/// The guide's key policy for `REGION` (the service account filled in), as the customer writes it.
async fn guide_policy(s: &Server) -> String {
    let r = s.get("/api/ext/v1/server-info").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let (service, sandbox) = (text(&r.body["service_account_id"]), text(&r.body["sandbox_account_id"]));
    policy::pretty(&policy::default_key_policy(sandbox, Some(service), &PolicyRegion::Region(REGION.into())))
}

/// A sandbox key in `REGION` with KMS's default policy (the owner only): the service is denied.
async fn key_without_the_service(s: &Server) -> (String, String) {
    let r = s.post("/api/ext/v1/sandbox-kms/keys", json!({ "region": REGION, "description": "retry" })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    (text(&r.body["key_id"]).to_owned(), text(&r.body["arn"]).to_owned())
}

async fn cmek_project(s: &Server) -> String {
    let r = s.post("/api/v1beta/projects", json!({ "name": "retry", "aws_cmek_enabled": true })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    text(&r.body["id"]).to_owned()
}

async fn cluster_body(s: &Server, name: &str) -> Value {
    let r = s.get("/api/v1beta/clusters/provider/regions").await;
    cmek_test_support::catalog::dedicated_aws_cluster(&r.body, REGION, name)
}

#[tokio::test]
async fn a_refused_key_configuration_is_checked_again_after_the_policy_is_fixed() {
    let s = Server::start().await;
    let pid = cmek_project(&s).await;
    let (key_id, arn) = key_without_the_service(&s).await;
    let path = format!("/api/v1beta/projects/{pid}/aws-cmek");
    let body = json!({ "specs": [{ "region": REGION, "kms_arn": arn }] });
    let k = [("idempotency-key", "key-form-1")];

    let refused = s.with_headers(Method::POST, &path, &k, Some(&body)).await;
    assert_eq!((refused.status, refused.code()), (400, ErrorCode::KeyAccessDenied.code()), "{:?}", refused.body);
    // Asked again unchanged: checked again (not a replay), refused again for the same reason.
    let again = s.with_headers(Method::POST, &path, &k, Some(&body)).await;
    assert_eq!((again.status, again.code()), (400, ErrorCode::KeyAccessDenied.code()), "{:?}", again.body);
    assert_eq!(again.header("idempotent-replayed"), "", "a refusal is not kept");

    // The customer fixes the policy in KMS and presses Create again: same key, same body.
    let fixed = s
        .put(&format!("/api/ext/v1/sandbox-kms/keys/{key_id}/policy"), json!({ "policy": guide_policy(&s).await }))
        .await;
    assert_eq!(fixed.status, 200, "{:?}", fixed.body);
    let ok = s.with_headers(Method::POST, &path, &k, Some(&body)).await;
    assert_eq!(ok.status, 200, "the corrected retry succeeds: {:?}", ok.body);
    assert_eq!(ok.header("idempotent-replayed"), "");
    // Now the success is the answer for this key: a repeat replays it.
    let replay = s.with_headers(Method::POST, &path, &k, Some(&body)).await;
    assert_eq!((replay.status, &replay.body), (200, &ok.body));
    assert_eq!(replay.header("idempotent-replayed"), "true");
    assert_eq!(s.get(&path).await.body["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_cluster_refused_while_the_key_was_disabled_is_created_once_it_is_enabled() {
    let s = Server::start().await;
    let pid = cmek_project(&s).await;
    let (key_id, arn) = key_without_the_service(&s).await;
    let fixed = s
        .put(&format!("/api/ext/v1/sandbox-kms/keys/{key_id}/policy"), json!({ "policy": guide_policy(&s).await }))
        .await;
    assert_eq!(fixed.status, 200, "{:?}", fixed.body);
    let cmek = s
        .post(
            &format!("/api/v1beta/projects/{pid}/aws-cmek"),
            json!({ "specs": [{ "region": REGION, "kms_arn": arn }] }),
        )
        .await;
    assert_eq!(cmek.status, 200, "{:?}", cmek.body);

    let op = |what: &'static str| format!("/api/ext/v1/sandbox-kms/keys/{key_id}/{what}");
    assert_eq!(s.post(&op("disable"), json!({})).await.status, 200);
    let path = format!("/api/v1beta/projects/{pid}/clusters");
    let body = cluster_body(&s, "retry-c1").await;
    let k = [("idempotency-key", "cluster-form-1")];
    let refused = s.with_headers(Method::POST, &path, &k, Some(&body)).await;
    assert_eq!((refused.status, refused.code()), (400, ErrorCode::KeyDisabled.code()), "{:?}", refused.body);

    assert_eq!(s.post(&op("enable"), json!({})).await.status, 200);
    // A double click after the fix: both with the same key, at once; one cluster.
    let (a, b) = tokio::join!(
        s.with_headers(Method::POST, &path, &k, Some(&body)),
        s.with_headers(Method::POST, &path, &k, Some(&body))
    );
    assert_eq!((a.status, b.status), (200, 200), "{:?} {:?}", a.body, b.body);
    assert_eq!(a.body["id"], b.body["id"]);
    let replayed = [a.header("idempotent-replayed"), b.header("idempotent-replayed")];
    assert!(replayed.contains(&"true") && replayed.contains(&""), "one ran, one replayed: {replayed:?}");
    assert_eq!(s.get(&path).await.body["total"], 1);

    // The kept success still guards its key: another body with it is refused.
    let other = s.with_headers(Method::POST, &path, &k, Some(&cluster_body(&s, "retry-c2").await)).await;
    assert_eq!((other.status, other.code()), (400, ErrorCode::IdempotencyKeyReused.code()), "{:?}", other.body);
    assert_eq!(s.get(&path).await.body["total"], 1);
}
