//! The sandbox KMS key page (issue 12.11): the rotation control offered is the one the key's state
//! calls for, every change says what it did, disabling asks first, and a number of days that is
//! not a number is named at its field with nothing sent.
#![cfg(target_arch = "wasm32")]

mod common;
use common::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

fn key_path(suffix: &str) -> String {
    format!("/api/ext/v1/sandbox-kms/keys/{KEY_ID}{suffix}")
}

/// The sandbox key as the server describes it.
fn key(state: &str, rotation: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "key_id": KEY_ID, "arn": key_arn("us-west-2"), "region": "us-west-2", "account_id": OWNER_ACCOUNT,
        "multi_region": false, "description": "", "state": state, "created_at": 1795833134i64,
        "policy": "{}", "rotation": rotation
    })
}

async fn key_page(fake: FakeTransport) -> Mounted {
    let m = mount_at(&format!("/sandbox-kms/{KEY_ID}"), fake);
    m.wait_for("#sandbox-key-state").await;
    m
}

use cmek_console::api::fake::FakeTransport;

fn changes(m: &Mounted) -> Vec<(String, String)> {
    m.fake.requests().into_iter().filter(|r| r.method != "GET").map(|r| (r.method.to_owned(), r.path)).collect()
}

#[wasm_bindgen_test]
async fn rotation_offers_only_what_the_key_can_change_to_and_rotate_now_says_what_it_did() {
    let fake = fake_with_projects();
    fake.on("GET", &key_path(""), 200, key("Enabled", serde_json::json!({"enabled": false, "rotation_count": 0})));
    let rotated =
        key("Enabled", serde_json::json!({"enabled": false, "rotation_count": 1, "last_rotated_at": 1795833200i64}));
    fake.on("POST", &key_path("/rotate"), 200, rotated);
    let on = key("Enabled", serde_json::json!({"enabled": true, "period_days": 180, "rotation_count": 1}));
    fake.on("PUT", &key_path("/rotation"), 200, on);
    let m = key_page(fake).await;
    // Off: only "Turn on", with its period.
    assert!(m.query("#key-rotation-on").is_some());
    assert!(m.query("#key-rotation-off").is_none(), "not both at once");
    m.click("#key-rotate").await;
    m.wait_text("Rotated: new key material").await;
    let said = m.text_of("#sandbox-key-done");
    assert!(!said.contains("The key is Enabled"), "says what the change did: {said}");
    assert!(m.text_of("#sandbox-key-rotation").contains("last rotated"));
    // Turned on: now only "Turn off".
    m.type_into("input[min='90']", "180").await;
    m.click("#key-rotation-on").await;
    m.wait_text("Automatic rotation on, every 180 days.").await;
    m.wait_for("#key-rotation-off").await;
    assert!(m.query("#key-rotation-on").is_none(), "not both at once");
    let sent = m.fake.requests().into_iter().filter(|r| r.method == "PUT").collect::<Vec<_>>();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body.as_deref(), Some(r#"{"enabled":true,"period_days":180}"#));
}

#[wasm_bindgen_test]
async fn disabling_the_key_asks_first_and_says_what_it_stops() {
    let fake = fake_with_projects();
    fake.on("GET", &key_path(""), 200, key("Enabled", serde_json::json!({"enabled": true, "period_days": 365})));
    fake.on(
        "POST",
        &key_path("/disable"),
        200,
        key("Disabled", serde_json::json!({"enabled": true, "period_days": 365})),
    );
    let m = key_page(fake).await;
    m.click("#key-disable").await;
    let dialog = m.wait_for("dialog[open]").await;
    let text = dialog.text_content().unwrap_or_default();
    assert!(text.contains("Disable this key?"), "{text}");
    assert!(text.contains("a paused cluster cannot resume"), "{text}");
    assert!(changes(&m).is_empty(), "nothing sent before the confirmation: {:?}", changes(&m));
    let confirm = m.with_text("dialog[open] .actions button", "Disable key").expect("a confirm button");
    confirm.click();
    m.wait_text("Key disabled.").await;
    assert_eq!(changes(&m), vec![("POST".to_owned(), key_path("/disable"))]);
    m.wait_for("#key-enable").await;
}

#[wasm_bindgen_test]
async fn a_period_that_is_not_a_number_is_named_and_nothing_is_sent() {
    let fake = fake_with_projects();
    fake.on("GET", &key_path(""), 200, key("Enabled", serde_json::json!({"enabled": false})));
    let m = key_page(fake).await;
    m.type_into("input[min='90']", "1.5").await;
    m.click("#key-rotation-on").await;
    let said = m.text_of("#sandbox-key-input-error");
    assert_eq!(said, "Rotation period: \"1.5\" is not a whole number of days (90–2560)");
    // What a number input holds for anything else: nothing.
    m.type_into("input[min='90']", "").await;
    m.click("#key-rotation-on").await;
    let said = m.text_of("#sandbox-key-input-error");
    assert_eq!(said, "Rotation period is required: a whole number of days, 90–2560");
    assert!(!m.text().contains("does not understand"), "not blamed on the API: {}", m.text());
    assert!(changes(&m).is_empty(), "{:?}", changes(&m));
}
