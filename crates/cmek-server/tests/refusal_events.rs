//! A refused change is answered with its refusal, and recorded as an event, in one way
//! everywhere (`routes::refused`): when the event cannot be recorded, the refusal is still the
//! answer (never a 500 that hides why nothing changed); the server logs the failure to record.

mod common;

use common::Server;
use serde_json::json;

#[tokio::test]
async fn a_refusal_whose_event_cannot_be_recorded_is_still_the_answer() {
    let s = Server::start().await;
    let r = s.post("/api/v1beta/projects", json!({ "name": "refusals", "aws_cmek_enabled": true })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let pid = r.body["id"].as_str().expect("a project id").to_owned();
    // From here on every event insert fails, as a full disk or a damaged table would make it.
    let conn = rusqlite::Connection::open(s.data_dir.join("cmek.db")).expect("open the server's database");
    conn.execute_batch(
        "CREATE TRIGGER no_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'events cannot be recorded'); END;",
    )
    .expect("add the trigger");

    // Configuring a key the sandbox KMS does not have: refused by the key check.
    let arn = "arn:aws:kms:us-west-2:111122223333:key/00000000-0000-4000-8000-000000000000";
    let r = s
        .post(
            &format!("/api/v1beta/projects/{pid}/aws-cmek"),
            json!({ "specs": [{ "region": "us-west-2", "kms_arn": arn }] }),
        )
        .await;
    assert!((400..500).contains(&r.status), "the key's refusal, not a 500: {} {:?}", r.status, r.body);
    assert!(r.message().starts_with("configuring the key is refused") && r.message().contains(arn), "{}", r.message());

    // Creating a cluster before the key is configured: refused by the CMEK placement rule.
    let r = s
        .post(
            &format!("/api/v1beta/projects/{pid}/clusters"),
            json!({ "name": "c1", "cluster_type": "DEDICATED", "cloud_provider": "AWS", "region": "us-west-2",
                    "config": { "root_password": "a-Passw0rd", "port": 4000,
                        "components": { "tidb": { "node_size": "8C16G", "node_quantity": 2 },
                                        "tikv": { "node_size": "8C32G", "node_quantity": 3, "storage_size_gib": 200 } } } }),
        )
        .await;
    assert!(
        r.message().contains("none is configured yet"),
        "the placement refusal, not a 500: {} {:?}",
        r.status,
        r.body
    );

    // Nothing was recorded (the trigger refused it), and the server still records events once
    // the table can be written again.
    conn.execute_batch("DROP TRIGGER no_events;").expect("drop the trigger");
    let r = s.get(&format!("/api/ext/v1/projects/{pid}/events")).await;
    let kinds: Vec<&str> = r.body["items"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["PROJECT_CREATED"], "{:?}", r.body);
}
