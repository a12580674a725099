#![cfg(not(target_arch = "wasm32"))]
//! The user guide ("Encryption at Rest Using Customer-Managed Encryption Keys"), done in the
//! browser the way a person would: create the projects, configure the key from the policy the
//! console shows (in the sandbox KMS, which stands in for AWS KMS), create clusters, rotate,
//! revoke and restore. Every page state is screenshotted and checked with axe-core, and no test
//! ends with a browser console error.
//!
//! Waiting is always for something on screen (polling the page), never a fixed sleep.

use cmek_e2e::{Console, Page, Server, Setup, close};
use cmek_test_support::ErrorCode;
use fantoccini::Locator;
use fantoccini::elements::Element;
use serde_json::{Value, json};

/// The EBS statement's Sid, as the user guide writes it.
const EBS_SID: &str = "Allow access through EBS for all principals in the account that are authorized to use EBS";
/// The S3 statement's Sid.
const S3_SID: &str = "Allow TiDB cloud role to use KMS to store encrypted backup to S3";
/// The sandbox KMS's own account (the customer's side; the server's default).
const SANDBOX_ACCOUNT: &str = "111122223333";

// ------------------------------------------------------------------ helpers

/// Waits until the element matching `css` exists and its text contains `text`.
async fn wait_text_in(page: &Page, css: &str, text: &str) {
    let cond =
        format!("[...document.querySelectorAll({})].some(e => e.innerText.includes({}))", json!(css), json!(text));
    page.wait_js(&format!("{css} to show {text:?}"), &cond).await;
}

/// Waits until the page's address ends with `suffix`.
async fn wait_url_ends(page: &Page, suffix: &str) -> String {
    let cond = format!("location.pathname.endsWith({})", json!(suffix));
    page.wait_js(&format!("the address to end with {suffix}"), &cond).await;
    url(page).await
}

async fn url(page: &Page) -> String {
    page.client.current_url().await.map(|u| u.to_string()).unwrap_or_default()
}

/// The project id in an address `/projects/<id>/…`.
fn project_id_of(path: &str) -> String {
    let rest = path.split("/projects/").nth(1).unwrap_or_else(|| panic!("{path} is not a project page"));
    rest.split('/').next().unwrap_or_default().to_owned()
}

async fn attr(el: &Element, name: &str) -> Option<String> {
    el.attr(name).await.expect("attribute")
}

async fn text_of(page: &Page, css: &str) -> String {
    page.find(css).await.text().await.expect("text")
}

/// The value of a form field.
async fn value_of(page: &Page, css: &str) -> String {
    page.js(&format!("return document.querySelector({}).value", json!(css)))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A console `Button` that cannot be used: `aria-disabled="true"` and the reason it links to.
async fn disabled_reason(page: &Page, css: &str) -> String {
    let el = page.find(css).await;
    assert_eq!(attr(&el, "aria-disabled").await.as_deref(), Some("true"), "{css} should be aria-disabled");
    let id = attr(&el, "aria-describedby").await.unwrap_or_else(|| panic!("{css} names no reason"));
    text_of(page, &format!("#{id}")).await
}

/// Waits until a console `Button` can be used.
async fn wait_usable(page: &Page, css: &str) {
    page.find(css).await;
    let cond = format!("!document.querySelector({}).hasAttribute('aria-disabled')", json!(css));
    page.wait_js(&format!("{css} to become usable"), &cond).await;
}

/// Confirms the open dialog (its last button is the confirming one).
async fn confirm_dialog(page: &Page) {
    page.find("dialog[open]").await;
    page.click("dialog[open] .actions button:last-child").await;
    page.wait_js("the dialog to close", "!document.querySelector('dialog[open]')").await;
}

/// Screenshot, then axe-core, of the page as it is now.
async fn record(page: &Page, setup: &Setup, name: &str) {
    page.screenshot(name).await;
    page.assert_accessible(setup).await;
}

/// [`record`], with the part of the page the state is about scrolled into view.
async fn record_at(page: &Page, setup: &Setup, name: &str, css: &str) {
    page.find(css).await;
    page.js(&format!("document.querySelector({}).scrollIntoView({{block: 'center'}})", json!(css))).await;
    record(page, setup, name).await;
}

/// Creates a key in the sandbox KMS page: region, description, whether its policy trusts TiDB
/// Cloud; lands on the key's page and returns (key id, ARN).
async fn sandbox_create_key(
    page: &Page,
    server: &Server,
    region: &str,
    description: &str,
    trust: bool,
) -> (String, String) {
    page.goto(&format!("{}/sandbox-kms", server.url)).await;
    let (key_id, arn) = page.create_sandbox_key(region, description, trust).await;
    assert!(arn.starts_with(&format!("arn:aws:kms:{region}:{SANDBOX_ACCOUNT}:key/")), "{arn}");
    (key_id, arn)
}

/// Fills and submits the console's Create cluster form; returns the new cluster's id once its
/// detail page shows it Available.
async fn create_cluster_in_console(page: &Page, setup: &Setup, name: &str, shot: Option<&str>) -> String {
    page.find("#create-cluster-submit").await;
    page.type_into("#cluster-name", name).await;
    page.type_into("#cluster-password", "Sup3r-secret-pw").await;
    if let Some(s) = shot {
        // The tier, cloud and region fields are what the state is about (locked or free).
        record_at(page, setup, s, "#cluster-tier").await;
    }
    page.click("#create-cluster-submit").await;
    page.wait_js("the new cluster's page", "/\\/clusters\\/\\d+$/.test(location.pathname)").await;
    let p = page.path().await;
    let id = p.rsplit('/').next().unwrap_or_default().to_owned();
    wait_text_in(page, "#cluster-title", name).await;
    wait_status(page, "Available").await;
    id
}

/// Waits until the cluster page's status badge says `label` ("Available", "Paused", …).
async fn wait_status(page: &Page, label: &str) {
    let cond = format!(
        "document.querySelector('#cluster-status').innerText.trim().toLowerCase().endsWith({})",
        json!(label.to_lowercase())
    );
    page.wait_js(&format!("the cluster to be {label}"), &cond).await;
}

/// The policy statements `text` (a policy document) holds.
fn statements(text: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not a policy document ({e}):\n{text}"));
    doc["Statement"].as_array().unwrap_or_else(|| panic!("no Statement list in:\n{text}")).clone()
}

fn sids(text: &str) -> Vec<String> {
    statements(text).iter().filter_map(|s| s["Sid"].as_str().map(str::to_owned)).collect()
}

// ------------------------------------------------------------------ issue 5

/// Creating projects with and without CMEK, and configuring the key the way the guide says: the
/// policy the console shows goes into the key's policy in KMS, the key's ARN comes back.
#[tokio::test]
async fn issue5_projects_and_the_encryption_key_in_the_console() {
    let Console { setup, server, browser, page } = Console::start(&[]).await;

    // A project without CMEK.
    page.goto(&server.url).await;
    page.find(".page-head a.btn.primary").await.click().await.expect("Create project");
    wait_url_ends(&page, "/projects/new").await;
    page.type_into("#project-name", "analytics").await;
    let cmek = page.find("#project-cmek").await;
    assert!(!cmek.is_selected().await.unwrap(), "CMEK is off by default: it can never be undone");
    page.wait_text("Without CMEK: TiDB Cloud encrypts data at rest with its own escrow key").await;
    let locks_in = text_of(&page, "#cmek-help").await;
    assert!(locks_in.contains("Turning it on locks this project, for good"), "{locks_in}");
    assert!(locks_in.contains("AWS only") && locks_in.contains("one region of the key"), "{locks_in}");
    record(&page, &setup, "i5-01-create-project-without-cmek").await;
    page.click("#create-project").await;
    let p = wait_url_ends(&page, "/clusters").await;
    let plain_id = project_id_of(&p);
    page.find("nav.tabs").await.find(Locator::LinkText("Encryption Access")).await.unwrap().click().await.unwrap();
    wait_url_ends(&page, "/encryption").await;
    page.find("#no-cmek-notice").await;
    let why = disabled_reason(&page, "#create-key").await;
    assert!(why.contains("created without Customer-Managed Encryption Key"), "{why}");
    assert!(why.contains("cannot be turned on"), "{why}");
    // aria-disabled, so clicking does nothing.
    page.click("#create-key").await;
    assert!(page.path().await.ends_with(&format!("/projects/{plain_id}/encryption")), "{}", page.path().await);
    record_at(&page, &setup, "i5-02-encryption-without-cmek", "#create-key").await;

    // A CMEK project: the console lands on its Encryption Access page.
    page.goto(&format!("{}/projects/new", server.url)).await;
    page.type_into("#project-name", "payments-prod").await;
    let cmek = page.find("#project-cmek").await;
    cmek.click().await.unwrap();
    assert!(cmek.is_selected().await.unwrap(), "CMEK turned on");
    page.wait_text("With CMEK: you configure the key next").await;
    record(&page, &setup, "i5-03-create-project-with-cmek").await;
    page.click("#create-project").await;
    let p = wait_url_ends(&page, "/encryption").await;
    let pid = project_id_of(&p);
    assert_ne!(pid, plain_id);
    page.find("#no-key").await;
    wait_usable(&page, "#create-key").await;
    record(&page, &setup, "i5-04-encryption-no-key-yet").await;

    // Create Encryption Key: us-west-2, and the policy to add in KMS.
    page.click("#create-key").await;
    wait_url_ends(&page, "/encryption/create").await;
    page.select("#key-region", "us-west-2").await;
    wait_text_in(&page, "#policy-text", "ec2.us-west-2.amazonaws.com").await;
    page.wait_js(
        "the service account in the policy",
        "!document.querySelector('#policy-text').innerText.includes('<pingcap-account>')",
    )
    .await;
    let policy_text = text_of(&page, "#policy-text").await;
    let wanted = statements(&policy_text);
    assert_eq!(sids(&policy_text), vec![EBS_SID.to_owned(), S3_SID.to_owned()], "the user guide's two statements");
    assert!(!policy_text.contains("us-east-1"), "{policy_text}");
    record_at(&page, &setup, "i5-05-create-key-policy", "#policy-text").await;

    // In the sandbox KMS: a key with the AWS default policy, then its policy edited to add the
    // statements the console showed.
    let (key_id, arn) = sandbox_create_key(&page, &server, "us-west-2", "payments-prod CMEK", false).await;
    let current = value_of(&page, "#sandbox-policy").await;
    assert!(!current.contains(EBS_SID), "the AWS default policy does not trust TiDB Cloud:\n{current}");
    let mut doc: Value = serde_json::from_str(&current).expect("the key's policy is JSON");
    doc["Statement"].as_array_mut().expect("statements").extend(wanted.iter().cloned());
    let edited = serde_json::to_string(&doc).unwrap();
    page.type_into("#sandbox-policy", &edited).await;
    page.click("#policy-save").await;
    page.wait_text("Policy saved.").await;
    let saved = server.api("GET", &format!("/api/ext/v1/sandbox-kms/keys/{key_id}"), None).await;
    let saved_policy = saved["policy"].as_str().expect("policy");
    assert_eq!(sids(saved_policy).len(), 3, "{saved_policy}");
    for st in &wanted {
        assert!(statements(saved_policy).contains(st), "the key's policy has {st}");
    }
    record_at(&page, &setup, "i5-06-sandbox-key-policy-saved", "#policy-save").await;

    // Back on Create Encryption Key: the ARN, checked as typed, then Create.
    page.goto(&format!("{}/projects/{pid}/encryption/create", server.url)).await;
    page.select("#key-region", "us-west-2").await;
    page.type_into("#key-arn", &arn).await;
    wait_text_in(&page, "#key-arn-status", "A key in us-west-2").await;
    record(&page, &setup, "i5-07-create-key-filled").await;
    page.click("#create-key-submit").await;
    wait_url_ends(&page, &format!("/projects/{pid}/encryption")).await;
    page.find("#key-health [data-state=\"ACCESSIBLE\"]").await;
    let card = text_of(&page, "article.key[data-region=\"us-west-2\"]").await;
    assert!(card.contains(&arn), "{card}");
    assert_eq!(page.js("return document.querySelectorAll('article.key').length").await, json!(1));
    record_at(&page, &setup, "i5-08-encryption-key-accessible", "#key-health").await;

    // A second region is refused by the API, with the reason…
    let east_policy = {
        let mut d = doc.clone();
        let text = serde_json::to_string(&d["Statement"]).unwrap().replace("us-west-2", "us-east-1");
        d["Statement"] = serde_json::from_str(&text).unwrap();
        d.to_string()
    };
    let east = server
        .api("POST", "/api/ext/v1/sandbox-kms/keys", Some(json!({"region": "us-east-1", "policy": east_policy})))
        .await;
    let east_arn = east["arn"].as_str().expect("arn").to_owned();
    let (status, body) = server
        .api_status(
            "POST",
            &format!("/api/v1beta/projects/{pid}/aws-cmek"),
            Some(json!({"specs": [{"region": "us-east-1", "kms_arn": east_arn}]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], json!(ErrorCode::CmekRegionLocked.code()), "{body}");
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(msg.contains("us-west-2") && msg.contains("us-east-1"), "the refusal names both regions: {msg}");
    let keys = server.api("GET", &format!("/api/v1beta/projects/{pid}/aws-cmek"), None).await;
    assert_eq!(keys["items"], json!([{"region": "us-west-2", "kms_arn": arn}]), "nothing changed");

    // …and the console's Create Encryption Key is unavailable, naming us-west-2.
    page.goto(&format!("{}/projects/{pid}/encryption", server.url)).await;
    page.find("#key-health [data-state=\"ACCESSIBLE\"]").await;
    let why = disabled_reason(&page, "#create-key").await;
    assert!(why.contains("already configured for us-west-2"), "{why}");
    page.click("#create-key").await;
    // A navigation would follow the click within a frame or two: still here a second later.
    for _ in 0..10 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(page.path().await.ends_with("/encryption"), "a disabled button does not navigate");
    }
    record_at(&page, &setup, "i5-09-encryption-second-key-unavailable", "#create-key").await;

    page.assert_no_console_errors().await;
    close(page, browser, server).await;
}

// ------------------------------------------------------------------ issue 6

/// The whole user guide: a CMEK project and its key, a cluster on it, rotation, revoke (pause
/// everything) and restore (resume everything).
#[tokio::test]
async fn issue6_the_whole_user_guide_in_the_browser() {
    let Console { setup, server, browser, page } = Console::start(&[]).await;

    // Arranged: a CMEK project; its key made in the sandbox KMS page (trusting TiDB Cloud) and
    // configured through the API.
    let project = server
        .api("POST", "/api/v1beta/projects", Some(json!({"name": "orders-prod", "aws_cmek_enabled": true})))
        .await;
    let pid = project["id"].as_str().expect("project id").to_owned();
    let (key_id, arn) = sandbox_create_key(&page, &server, "us-west-2", "orders-prod CMEK", true).await;
    let policy = value_of(&page, "#sandbox-policy").await;
    assert!(sids(&policy).contains(&EBS_SID.to_owned()) && sids(&policy).contains(&S3_SID.to_owned()), "{policy}");
    record_at(&page, &setup, "i6-01-sandbox-key-trusting-tidb-cloud", "#sandbox-policy").await;
    server
        .api(
            "POST",
            &format!("/api/v1beta/projects/{pid}/aws-cmek"),
            Some(json!({"specs": [{"region": "us-west-2", "kms_arn": arn}]})),
        )
        .await;

    // Create cluster: tier, provider and region are locked to the key's.
    page.goto(&format!("{}/projects/{pid}/clusters", server.url)).await;
    page.wait_text("No clusters in this project yet.").await;
    wait_usable(&page, "#create-cluster").await;
    page.click("#create-cluster").await;
    wait_url_ends(&page, "/clusters/new").await;
    let locked = text_of(&page, "#locked-fields").await;
    for want in ["Dedicated", "AWS", "Oregon (us-west-2)", "This project encrypts with the key in Oregon (us-west-2)"] {
        assert!(locked.contains(want), "{want:?} in {locked}");
    }
    assert_eq!(
        page.js("return document.querySelectorAll('select#cluster-region, select#cluster-provider').length").await,
        json!(0)
    );
    let cluster = create_cluster_in_console(&page, &setup, "orders-db", Some("i6-02-create-cluster-locked")).await;
    let facts = page.text().await;
    assert!(facts.contains("us-west-2") && facts.contains(&arn), "{facts}");
    page.find("#cluster-encryption #key-health [data-state=\"ACCESSIBLE\"]").await;
    let rotation_before = text_of(&page, "#cluster-encryption #key-health").await;
    assert!(!rotation_before.contains("last rotated"), "{rotation_before}");
    record_at(&page, &setup, "i6-03-cluster-available", "#cluster-encryption").await;
    // A backup under the key: listed with the key that encrypts it (the guide: backups use the
    // same key; the key policy's S3 statement is for them).
    page.type_into("#backup-name", "before-rotation").await;
    page.click("#create-backup-button").await;
    page.find("#backups tbody tr").await;
    wait_text_in(&page, "#backups tbody tr .backup-status", "Done").await;
    let row = text_of(&page, "#backups tbody tr").await;
    assert!(row.contains("before-rotation") && row.contains(&arn), "the backup names its key: {row}");
    let backup_id = page.js("return document.querySelector('#backups tbody tr').dataset.backupId").await;
    let backup_id = backup_id.as_str().expect("a backup id").to_owned();
    record_at(&page, &setup, "i6-03b-backup-under-the-key", "#cluster-backups").await;
    // A second cluster, so "every cluster" means more than one.
    page.goto(&format!("{}/projects/{pid}/clusters/new", server.url)).await;
    let replica = create_cluster_in_console(&page, &setup, "orders-replica", None).await;
    let clusters = [cluster.clone(), replica.clone()];

    // Rotate in KMS: the key material changes, the ARN does not, nothing to do in TiDB Cloud.
    page.goto(&format!("{}/sandbox-kms/{key_id}", server.url)).await;
    let before = text_of(&page, "#sandbox-key-rotation").await;
    assert!(!before.contains("last rotated"), "{before}");
    page.click("#key-rotate").await;
    page.wait_text("Rotated: new key material encrypts from now on").await;
    wait_text_in(&page, "#sandbox-key-rotation", "last rotated").await;
    assert_eq!(text_of(&page, "h1 code").await, arn, "rotation keeps the ARN");
    record_at(&page, &setup, "i6-04-sandbox-key-rotated", "#key-rotate").await;
    page.goto(&format!("{}/projects/{pid}/clusters/{cluster}", server.url)).await;
    wait_status(&page, "Available").await;
    wait_text_in(&page, "#cluster-encryption #key-health", "last rotated").await;
    page.find("#cluster-encryption #key-health [data-state=\"ACCESSIBLE\"]").await;
    let enc = text_of(&page, "#cluster-encryption").await;
    assert!(enc.contains(&arn) && enc.contains("us-west-2"), "same key, same region: {enc}");
    let keys = server.api("GET", &format!("/api/v1beta/projects/{pid}/aws-cmek"), None).await;
    assert_eq!(keys["items"], json!([{"region": "us-west-2", "kms_arn": arn}]), "nothing changed in TiDB Cloud");
    record_at(&page, &setup, "i6-05-cluster-after-rotation", "#cluster-encryption #key-health").await;

    // Revoke, step 1: remove TiDB Cloud's statements from the key policy in KMS.
    page.goto(&format!("{}/sandbox-kms/{key_id}", server.url)).await;
    page.find("#sandbox-policy").await;
    page.click("#policy-revoke").await;
    page.wait_text("Policy saved.").await;
    let revoked = value_of(&page, "#sandbox-policy").await;
    assert!(!revoked.contains(EBS_SID) && !revoked.contains(S3_SID), "{revoked}");
    assert!(revoked.contains("Enable IAM User Permissions"), "the owner's own statement stays: {revoked}");
    record_at(&page, &setup, "i6-06-sandbox-policy-revoked", "#policy-save").await;
    // Running clusters are not affected.
    page.goto(&format!("{}/projects/{pid}/clusters/{cluster}", server.url)).await;
    wait_status(&page, "Available").await;
    page.find("#cluster-encryption #key-health [data-state]").await;
    page.wait_js(
        "the key to be reported inaccessible",
        "document.querySelector('#cluster-encryption #key-health [data-state]').dataset.state !== 'ACCESSIBLE'",
    )
    .await;
    record_at(&page, &setup, "i6-07-cluster-running-while-revoked", "#cluster-encryption #key-health").await;
    // No backup while access is revoked: refused with the key and the cause, like a resume.
    page.type_into("#backup-name", "while-revoked").await;
    page.click("#create-backup-button").await;
    page.find("#backup-error").await;
    let refused = text_of(&page, "#backup-error").await;
    assert!(refused.contains("Creating the backup was refused") && refused.contains(&arn), "{refused}");
    record_at(&page, &setup, "i6-07b-backup-refused-while-revoked", "#backup-error").await;

    // Revoke, step 2: pause every cluster of the project.
    page.goto(&format!("{}/projects/{pid}/revoke", server.url)).await;
    wait_text_in(&page, "#pause-all", "Pause 2 running clusters").await;
    wait_usable(&page, "#pause-all").await;
    page.wait_text("Done: the service can no longer use the key.").await;
    record_at(&page, &setup, "i6-08-revoke-page", "#pause-all").await;
    page.click("#pause-all").await;
    page.find("dialog[open]").await;
    let dialog = text_of(&page, "dialog[open]").await;
    assert!(
        dialog.contains("Pause 2 clusters?") && dialog.contains("orders-db") && dialog.contains("orders-replica"),
        "{dialog}"
    );
    record(&page, &setup, "i6-09-revoke-confirm").await;
    confirm_dialog(&page).await;
    for id in &clusters {
        wait_text_in(&page, &format!("ul.progress li[data-cluster-id=\"{id}\"]"), "done").await;
        page.wait_js(
            &format!("cluster {id} to be PAUSED in the table"),
            &format!(
                "document.querySelector('table.clusters tr[data-cluster-id=\"{id}\"]').dataset.status === 'PAUSED'"
            ),
        )
        .await;
    }
    wait_text_in(&page, "#impact-summary", "0 running (to pause), 2 paused").await;
    record_at(&page, &setup, "i6-10-revoke-all-paused", "ul.progress").await;

    // Resuming a cluster while access is revoked is refused, and the page says why.
    page.goto(&format!("{}/projects/{pid}/clusters/{cluster}", server.url)).await;
    wait_status(&page, "Paused").await;
    page.click("#resume-cluster").await;
    confirm_dialog(&page).await;
    page.find("#operation-error").await;
    let refusal = text_of(&page, "#operation-error").await;
    assert!(refusal.contains("refused") && refusal.contains(&arn), "the refusal names the key: {refusal}");
    assert!(refusal.contains("Restore access step by step"), "{refusal}");
    wait_status(&page, "Paused").await;
    record(&page, &setup, "i6-11-resume-refused").await;
    // Chromium logs every non-2xx answer as a console error: the refused PATCH is the one
    // expected here, and nothing else may be.
    let logged = page.console_errors().await;
    let expected = |l: &String| {
        l.contains("400")
            && (l.contains(&format!("/clusters/{cluster} ")) || l.contains(&format!("/clusters/{cluster}/backups ")))
    };
    assert!(
        logged.len() == 2 && logged.iter().all(expected),
        "only the refused backup and the refused resume may be logged: {logged:#?}"
    );

    // Restore, step 1: put the statements back in KMS.
    page.goto(&format!("{}/sandbox-kms/{key_id}", server.url)).await;
    page.find("#sandbox-policy").await;
    page.click("#policy-restore").await;
    page.wait_text("Policy saved.").await;
    let restored = value_of(&page, "#sandbox-policy").await;
    assert!(restored.contains(EBS_SID) && restored.contains(S3_SID), "{restored}");
    record_at(&page, &setup, "i6-12-sandbox-policy-restored", "#policy-save").await;

    // Restore, step 2: test the key, then resume every cluster.
    page.goto(&format!("{}/projects/{pid}/restore", server.url)).await;
    page.find("#restore-test").await;
    page.click("#restore-test").await;
    wait_text_in(&page, "#restore-key-status", "The key is accessible").await;
    wait_text_in(&page, "#resume-all", "Resume 2 paused clusters").await;
    wait_usable(&page, "#resume-all").await;
    record_at(&page, &setup, "i6-13-restore-page", "#resume-all").await;
    page.click("#resume-all").await;
    for id in &clusters {
        wait_text_in(&page, &format!("ul.progress li[data-cluster-id=\"{id}\"]"), "done").await;
    }
    let progress = text_of(&page, "ul.progress").await;
    assert!(!progress.contains("refused"), "{progress}");
    record_at(&page, &setup, "i6-14-restore-all-resumed", "ul.progress").await;
    page.goto(&format!("{}/projects/{pid}/clusters/{cluster}", server.url)).await;
    wait_status(&page, "Available").await;
    page.find("#cluster-encryption #key-health [data-state=\"ACCESSIBLE\"]").await;
    record(&page, &setup, "i6-15-cluster-available-again").await;
    // Access restored: the backup taken under the key restores to a new cluster, in the key's
    // region (locked, with the reason).
    page.click(&format!("#backups tr[data-backup-id=\"{backup_id}\"] .restore-backup")).await;
    let region = text_of(&page, "#restore-region").await;
    assert!(region.starts_with("us-west-2") && region.contains("the key in us-west-2"), "{region}");
    page.type_into("#restore-name", "orders-restored").await;
    page.type_into("#restore-password", "Sup3r-secret-pw").await;
    record_at(&page, &setup, "i6-16-restore-backup", "#restore-form").await;
    page.click("#restore-button").await;
    page.find("#restore-started a").await;
    page.click("#restore-started a").await;
    wait_text_in(&page, "#cluster-title", "orders-restored").await;
    wait_status(&page, "Available").await;
    let enc = text_of(&page, "#cluster-encryption").await;
    assert!(enc.contains(&arn), "the restored cluster is under the same key: {enc}");
    let tasks = server.api("GET", &format!("/api/v1beta/projects/{pid}/restores"), None).await;
    assert_eq!(tasks["items"][0]["backup_id"], json!(backup_id), "{tasks}");
    record(&page, &setup, "i6-17-restored-cluster-available").await;
    for id in &clusters {
        let c = server.api("GET", &format!("/api/v1beta/projects/{pid}/clusters/{id}"), None).await;
        assert_eq!(c["status"]["cluster_status"], json!("AVAILABLE"), "{c}");
    }

    page.assert_no_console_errors().await;
    close(page, browser, server).await;
}

/// Without CMEK nothing is locked: a cluster can go to any region of the catalog (here on GCP).
#[tokio::test]
async fn a_project_without_cmek_creates_clusters_in_any_catalog_region() {
    let Console { setup, server, browser, page } = Console::start(&[]).await;
    let project = server.api("POST", "/api/v1beta/projects", Some(json!({"name": "analytics"}))).await;
    let pid = project["id"].as_str().expect("project id").to_owned();
    // The GCP regions of the catalog, and an AWS region that is not us-west-2.
    let catalog = server.api("GET", "/api/v1beta/clusters/provider/regions", None).await;
    let regions = |provider: &str| -> Vec<String> {
        catalog["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|i| i["cluster_type"] == "DEDICATED" && i["cloud_provider"] == provider)
            .map(|i| i["region"].as_str().unwrap().to_owned())
            .collect()
    };
    let gcp = regions("GCP").last().cloned().expect("a GCP region");
    let aws = regions("AWS").into_iter().rfind(|r| r != "us-west-2" && r != "us-east-1").expect("another AWS region");

    page.goto(&format!("{}/projects/{pid}/clusters", server.url)).await;
    wait_usable(&page, "#create-cluster").await;
    page.click("#create-cluster").await;
    wait_url_ends(&page, "/clusters/new").await;
    assert_eq!(page.js("return document.querySelectorAll('#locked-fields').length").await, json!(0), "nothing locked");
    page.select("#cluster-provider", "GCP").await;
    page.select("#cluster-region", &gcp).await;
    let gcp_cluster =
        create_cluster_in_console(&page, &setup, "analytics-gcp", Some("any-01-create-cluster-gcp")).await;
    let facts = page.text().await;
    assert!(facts.contains("GCP") && facts.contains(&gcp), "{facts}");
    wait_text_in(&page, "#cluster-encryption", "escrow key").await;
    record_at(&page, &setup, "any-02-cluster-gcp-available", "#cluster-encryption").await;

    page.goto(&format!("{}/projects/{pid}/clusters/new", server.url)).await;
    page.find("#cluster-provider").await;
    page.select("#cluster-provider", "AWS").await;
    page.select("#cluster-region", &aws).await;
    let aws_cluster = create_cluster_in_console(&page, &setup, "analytics-aws", None).await;
    assert!(page.text().await.contains(&aws));

    for (id, provider, region) in [(&gcp_cluster, "GCP", &gcp), (&aws_cluster, "AWS", &aws)] {
        let c = server.api("GET", &format!("/api/v1beta/projects/{pid}/clusters/{id}"), None).await;
        assert_eq!(
            (c["cloud_provider"].as_str(), c["region"].as_str()),
            (Some(provider), Some(region.as_str())),
            "{c}"
        );
    }
    page.goto(&format!("{}/projects/{pid}/clusters", server.url)).await;
    page.wait_js("both clusters listed", "document.querySelectorAll('table.clusters tbody tr').length === 2").await;
    record(&page, &setup, "any-03-clusters-in-two-clouds").await;

    page.assert_no_console_errors().await;
    close(page, browser, server).await;
}
