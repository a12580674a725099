//! A cluster's backups on its page (issue 18), in headless Chromium against the fake API: each
//! backup shows the key that encrypts it and why an automatic one failed; a manual backup sends
//! what was typed and a key refusal points at the key; delete asks first, naming the backup;
//! restore locks the region with its reason and sends the backup and the cluster's components.
#![cfg(target_arch = "wasm32")]

mod common;
use cmek_console::api::Api;
use cmek_console::api::fake::FakeTransport;
use cmek_core::{ErrorCode, ErrorResponse};
use common::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

const DONE_ID: &str = "1386104212873430001";
const FAILED_ID: &str = "1386104212873430002";

const CAUSE: &str = "automatic daily backup failed: the automatic backup is refused: the service cannot use the key arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab in us-west-2 (KEY_DISABLED): the key is disabled";

/// The cluster's page with two backups: one done under the key, one automatic that failed.
async fn page(fake: FakeTransport) -> Mounted {
    let arn = key_arn("us-west-2");
    with_keys(&fake, CMEK_PROJECT, &[("us-west-2", &arn)]);
    fake.on("GET", &format!("/api/ext/v1/projects/{CMEK_PROJECT}/key-health"), 200, serde_json::json!({"items": []}));
    fake.on("GET", &Api::cluster_path(CMEK_PROJECT, CLUSTER_ID), 200, cluster_json("AVAILABLE"));
    fake.on(
        "GET",
        &Api::backups_path(CMEK_PROJECT, CLUSTER_ID),
        200,
        serde_json::json!({"items": [
        {"id": FAILED_ID, "name": "auto-20261130T064022Z", "description": CAUSE, "type": "AUTO",
         "create_timestamp": "2026-11-30T06:40:22Z", "size": "0", "status": "FAILED"},
        {"id": DONE_ID, "name": "before-upgrade", "description": "", "type": "MANUAL",
         "create_timestamp": "2026-11-29T10:00:00Z", "size": "161061273600", "status": "SUCCESS"}
    ], "total": 2}),
    );
    fake.on(
        "GET",
        &format!("/api/ext/v1/projects/{CMEK_PROJECT}/clusters/{CLUSTER_ID}/backup-keys"),
        200,
        serde_json::json!({"items": [
            {"backup_id": FAILED_ID, "region": "us-west-2", "kms_arn": arn, "failure": CAUSE},
            {"backup_id": DONE_ID, "region": "us-west-2", "kms_arn": arn, "failure": null}
        ]}),
    );
    let m = mount_at(&format!("/projects/{CMEK_PROJECT}/clusters/{CLUSTER_ID}"), fake);
    m.wait_for("#backups").await;
    m
}

fn changes(m: &Mounted) -> Vec<cmek_console::api::HttpRequest> {
    m.fake.requests().into_iter().filter(|r| r.method != "GET").collect()
}

#[wasm_bindgen_test]
async fn each_backup_shows_its_key_and_a_failed_daily_backup_says_why() {
    let m = page(fake_with_projects()).await;
    let rows = m.all("#backups tbody tr");
    assert_eq!(rows.len(), 2);
    let arn = key_arn("us-west-2");
    for r in &rows {
        let key = r.query_selector(".backup-key").unwrap().unwrap().text_content().unwrap_or_default();
        assert_eq!(key, arn, "every backup of a CMEK project names its key");
    }
    let failed = m.text_of(&format!("tr[data-backup-id='{FAILED_ID}'] .backup-status"));
    assert!(failed.starts_with("Failed") && failed.contains("KEY_DISABLED"), "{failed}");
    let done = m.text_of(&format!("tr[data-backup-id='{DONE_ID}'] .backup-status"));
    assert_eq!(done, "Done");
    // A failed backup cannot be restored; a finished one can.
    assert!(m.query(&format!("tr[data-backup-id='{FAILED_ID}'] .restore-backup")).is_none());
    assert!(m.query(&format!("tr[data-backup-id='{DONE_ID}'] .restore-backup")).is_some());
    assert!(m.text_of("#cluster-backups").contains("encrypted with the project's key"));
}

#[wasm_bindgen_test]
async fn a_backup_sends_what_was_typed_and_a_key_refusal_says_where_to_look() {
    let fake = fake_with_projects();
    let arn = key_arn("us-west-2");
    let message = format!(
        "creating the backup is refused: the service cannot use the key {arn} in us-west-2 (KEY_DISABLED): the key is disabled"
    );
    let refusal = ErrorResponse::new(ErrorCode::KeyDisabled, message).with_details(vec!["the key is disabled".into()]);
    fake.on("POST", &Api::backups_path(CMEK_PROJECT, CLUSTER_ID), 400, serde_json::to_value(&refusal).unwrap());
    let m = page(fake).await;
    // An empty name is refused here, by the server's rule, and nothing is sent.
    m.click("#create-backup-button").await;
    assert!(m.text_of("#backup-errors").contains("name"), "{}", m.text_of("#backup-errors"));
    assert!(changes(&m).is_empty());
    m.type_into("#backup-name", "before-upgrade").await;
    m.click("#create-backup-button").await;
    m.wait_for("#backup-error").await;
    assert_eq!(m.text_of("#backup-error .headline"), "Creating the backup was refused");
    assert!(m.text_of("#backup-error").contains(&arn));
    let links: Vec<String> = m.all("#backup-error a").iter().filter_map(|a| a.get_attribute("href")).collect();
    assert!(links.contains(&format!("/projects/{CMEK_PROJECT}/encryption")), "{links:?}");
    let sent = changes(&m);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].body.as_deref(), Some(r#"{"name":"before-upgrade"}"#));
}

#[wasm_bindgen_test]
async fn delete_asks_first_naming_the_backup() {
    let fake = fake_with_projects();
    fake.on("DELETE", &Api::backup_path(CMEK_PROJECT, CLUSTER_ID, DONE_ID), 200, serde_json::json!({}));
    let m = page(fake).await;
    m.click(&format!("tr[data-backup-id='{DONE_ID}'] .delete-backup")).await;
    let dialog = m.wait_for("dialog[open]").await;
    assert!(dialog.text_content().unwrap_or_default().contains("Delete backup before-upgrade?"));
    assert!(changes(&m).is_empty(), "nothing is sent before the confirmation");
    let buttons = dialog.query_selector_all(".actions button").unwrap();
    let confirm: HtmlElement = buttons.item(1).unwrap().unchecked_into();
    confirm.click();
    wait_until("the DELETE", || changes(&m).iter().any(|r| r.method == "DELETE")).await;
    assert_eq!(changes(&m)[0].path, Api::backup_path(CMEK_PROJECT, CLUSTER_ID, DONE_ID));
}

#[wasm_bindgen_test]
async fn restore_locks_the_region_to_the_key_and_sends_the_backup_and_components() {
    let fake = fake_with_projects();
    const NEW_ID: &str = "1379661944646414009";
    fake.on(
        "POST",
        &Api::restores_path(CMEK_PROJECT),
        200,
        serde_json::json!({"id": "1391550817330180001", "cluster_id": NEW_ID}),
    );
    let m = page(fake).await;
    m.click(&format!("tr[data-backup-id='{DONE_ID}'] .restore-backup")).await;
    m.wait_for("#restore-form").await;
    let region = m.text_of("#restore-region");
    assert!(region.starts_with("us-west-2"), "{region}");
    assert!(region.contains("the key in us-west-2"), "the reason is on screen: {region}");
    assert!(m.query("#restore-form select").is_none(), "the region is not a choice");
    // The backed-up cluster's name, and a short password: refused here, nothing sent.
    m.type_into("#restore-name", CLUSTER_NAME).await;
    m.type_into("#restore-password", "short").await;
    m.click("#restore-button").await;
    let errors = m.text_of("#restore-errors");
    assert!(errors.contains("backed-up cluster's name") && errors.contains("password"), "{errors}");
    assert!(changes(&m).is_empty());
    m.type_into("#restore-name", "orders-restored").await;
    m.type_into("#restore-password", "a-good-password").await;
    m.click("#restore-button").await;
    m.wait_for("#restore-started").await;
    let sent = changes(&m);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let body: serde_json::Value = serde_json::from_str(sent[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(body["backup_id"], DONE_ID);
    assert_eq!(body["name"], "orders-restored");
    assert_eq!(body["config"]["components"], cluster_json("AVAILABLE")["config"]["components"]);
    let link = m.query("#restore-started a").unwrap().get_attribute("href").unwrap();
    assert_eq!(link, format!("/projects/{CMEK_PROJECT}/clusters/{NEW_ID}"));
}
