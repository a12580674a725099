//! Encryption Access (issue 5): the Create Encryption Key button and its reasons, the create
//! form (ARN messages, region, key policy, download, focus, the server's refusal) and the
//! key-policy checker, in headless Chromium against the fake API.
#![cfg(target_arch = "wasm32")]

mod common;
use cmek_console::api::Api;
use cmek_console::api::fake::FakeTransport;
use cmek_core::arn::{ArnError, KmsKeyArn};
use cmek_core::kms::KeyState;
use cmek_core::policy::{self, AccessQuery, POLICY_FILE_NAME, PolicyRegion};
use cmek_core::{ErrorCode, ErrorResponse};
use common::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

fn encryption(project: &str) -> String {
    format!("/projects/{project}/encryption")
}

/// The CMEK project without a key, at the create form (no draft), with the catalog's first AWS
/// region chosen by the person.
async fn create_form(fake: FakeTransport) -> (Mounted, String) {
    clear_session_storage();
    with_keys(&fake, CMEK_PROJECT, &[]);
    let m = mount_at(&format!("{}/create", encryption(CMEK_PROJECT)), fake);
    m.wait_for("#key-arn").await;
    m.wait_for("#key-region option[value=\"us-west-2\"]").await;
    m.choose("#key-region", "us-west-2").await;
    (m, "us-west-2".to_owned())
}

/// What the ARN field's status line says now.
fn arn_status(m: &Mounted) -> String {
    m.text_of("#key-arn-status")
}

// ------------------------------------------------------------------ the Create Encryption Key button

#[wasm_bindgen_test]
async fn non_cmek_project_offers_create_key_as_a_focusable_disabled_button_with_its_reason() {
    let fake = fake_with_projects();
    with_keys(&fake, PLAIN_PROJECT, &[]);
    let path = encryption(PLAIN_PROJECT);
    let m = mount_at(&path, fake);
    // A focusable disabled button, its reason on screen and in its description.
    let text = m.disabled_with_reason("#create-key").await;
    assert!(text.contains("created without Customer-Managed Encryption Key"), "{text}");
    assert!(m.query("#no-cmek-notice").is_some(), "the page explains the escrow key");
    // Clicking it goes nowhere.
    m.click("#create-key").await;
    sleep(50).await;
    assert_eq!(location_path(), path);
    assert!(m.query("#create-key-title").is_none(), "the create form must not open");
}

#[wasm_bindgen_test]
async fn cmek_project_with_a_key_blocks_a_second_key_naming_the_configured_region() {
    let fake = fake_with_projects();
    let region = "eu-central-1";
    with_keys(&fake, CMEK_PROJECT, &[(region, &key_arn(region))]);
    let path = encryption(CMEK_PROJECT);
    let m = mount_at(&path, fake);
    let text = m.disabled_with_reason("#create-key").await;
    assert!(text.contains(&format!("already configured for {region}")), "{text}");
    // The configured key is shown with its region.
    assert!(m.query(&format!("article.key[data-region='{region}']")).is_some(), "{}", m.text());
    m.click("#create-key").await;
    sleep(50).await;
    assert_eq!(location_path(), path);
}

#[wasm_bindgen_test]
async fn cmek_project_without_a_key_opens_the_create_form() {
    let fake = fake_with_projects();
    with_keys(&fake, CMEK_PROJECT, &[]);
    let m = mount_at(&encryption(CMEK_PROJECT), fake);
    m.wait_for("#no-key").await;
    let button = m.wait_for("#create-key").await;
    assert_eq!(button.get_attribute("aria-disabled"), None);
    m.click("#create-key").await;
    m.wait_for("#key-arn").await;
    assert_eq!(location_path(), format!("{}/create", encryption(CMEK_PROJECT)));
}

// ------------------------------------------------------------------ the key ARN, as it is typed

#[wasm_bindgen_test]
async fn every_arn_mistake_shows_the_parsers_own_message() {
    let (m, region) = create_form(fake_with_projects()).await;
    let acct = OWNER_ACCOUNT;
    let invalid = [
        format!("arn:aws:kms:{region}:{acct}:key/1234abcd 12ab-34cd-56ef-1234567890ab"),
        KEY_UUID.to_owned(),
        "arn:aws:kms:example".to_owned(),
        format!("arn:azure:kms:{region}:{acct}:key/{KEY_UUID}"),
        format!("arn:aws:s3:{region}:{acct}:key/{KEY_UUID}"),
        format!("arn:aws:kms::{acct}:key/{KEY_UUID}"),
        format!("arn:aws:kms:us-west:{acct}:key/{KEY_UUID}"),
        format!("arn:aws:kms:cn-north-1:{acct}:key/{KEY_UUID}"),
        format!("arn:aws:kms:{region}:1111:key/{KEY_UUID}"),
        format!("arn:aws:kms:{region}:{acct}:alias/my-key"),
        format!("arn:aws:kms:{region}:{acct}:grant/{KEY_UUID}"),
        format!("arn:aws:kms:{region}:{acct}:key/not-a-uuid"),
        format!("arn:aws:kms:{region}:{acct}:key/mrk-123"),
    ];
    let mut kinds = std::collections::BTreeSet::new();
    for arn in &invalid {
        let err = KmsKeyArn::parse(arn).unwrap_err();
        kinds.insert(err.kind());
        m.type_into("#key-arn", arn).await;
        assert_eq!(arn_status(&m), err.to_string(), "message for {arn:?}");
        assert_eq!(m.attr("#key-arn-status", "class").as_deref(), Some("field-error"), "{arn:?}");
        assert_eq!(m.attr("#key-arn", "aria-invalid").as_deref(), Some("true"), "{arn:?}");
        assert!(m.query("#mrk-badge").is_none());
    }
    // Every way the parser can refuse a non-empty ARN was typed (the empty one is below).
    assert_eq!(kinds.len(), 12, "{kinds:?}");
    assert!(!kinds.contains(ArnError::Empty.kind()));
    // A valid ARN in the chosen region: no error.
    m.type_into("#key-arn", &key_arn(&region)).await;
    assert_eq!(m.attr("#key-arn-status", "class").as_deref(), Some("field-ok"));
    assert_eq!(m.attr("#key-arn", "aria-invalid"), None);
    assert!(arn_status(&m).contains(&region), "{}", arn_status(&m));
    assert!(m.query("#mrk-badge").is_none(), "a UUID key is not multi-Region");
    // Emptied again and submitted: the empty-field message.
    m.type_into("#key-arn", "").await;
    m.click("#create-key-submit").await;
    assert_eq!(arn_status(&m), ArnError::Empty.to_string());
}

#[wasm_bindgen_test]
async fn an_arn_from_another_region_says_so_until_the_regions_agree() {
    let (m, region) = create_form(fake_with_projects()).await;
    let other = ["eu-central-1", "us-west-2"].into_iter().find(|r| *r != region).unwrap();
    let arn = key_arn(other);
    m.type_into("#key-arn", &arn).await;
    let expected = KmsKeyArn::parse(&arn).unwrap().check_region(&region).unwrap_err().to_string();
    assert_eq!(arn_status(&m), expected);
    assert_eq!(m.attr("#key-arn-status", "class").as_deref(), Some("field-error"));
    assert_eq!(m.attr("#key-arn", "aria-invalid").as_deref(), Some("true"));
    // Choosing the key's region puts it right.
    m.choose("#key-region", other).await;
    assert_eq!(m.attr("#key-arn-status", "class").as_deref(), Some("field-ok"), "{}", arn_status(&m));
    assert_eq!(m.attr("#key-arn", "aria-invalid"), None);
}

#[wasm_bindgen_test]
async fn a_multi_region_key_gets_its_badge() {
    let (m, region) = create_form(fake_with_projects()).await;
    let arn = format!("arn:aws:kms:{region}:{OWNER_ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab");
    assert!(KmsKeyArn::parse(&arn).unwrap().is_multi_region());
    m.type_into("#key-arn", &arn).await;
    let badge = m.wait_for("#mrk-badge").await;
    assert!(badge.text_content().unwrap_or_default().contains("Multi-Region"));
    assert_eq!(m.attr("#key-arn-status", "class").as_deref(), Some("field-ok"));
    // Back to a single-Region key: the badge goes.
    m.type_into("#key-arn", &key_arn(&region)).await;
    assert!(m.query("#mrk-badge").is_none());
}

// ------------------------------------------------------------------ the key policy

#[wasm_bindgen_test]
async fn the_policy_names_the_service_account_and_follows_the_region_and_scope() {
    let (m, region) = create_form(fake_with_projects()).await;
    let shown = || m.text_of("#policy-text");
    let for_region = |r: &str| policy::template_text(Some(SERVICE_ACCOUNT), &PolicyRegion::Region(r.to_owned()));
    wait_until("the policy names the service account", || shown() == for_region(&region)).await;
    assert!(m.query("#account-placeholder").is_none(), "the account is known: no placeholder");
    assert!(!shown().contains(policy::ACCOUNT_PLACEHOLDER));
    // Another region: the EBS statement follows.
    let other = ["eu-central-1", "us-west-2"].into_iter().find(|r| *r != region).unwrap();
    m.choose("#key-region", other).await;
    assert_eq!(shown(), for_region(other));
    // Any region: the `*` form under StringLike.
    m.click("#scope-any").await;
    let any = policy::template_text(Some(SERVICE_ACCOUNT), &PolicyRegion::Any);
    assert_eq!(shown(), any);
    assert!(any.contains("StringLike") && any.contains("ec2.*.amazonaws.com"), "{any}");
    // And back to the one region.
    let only: HtmlElement = m.query("input[name='scope']:not(#scope-any)").unwrap().unchecked_into();
    only.click();
    sleep(20).await;
    assert_eq!(shown(), for_region(other));
}

async fn assert_placeholder_policy(fake: FakeTransport) {
    let (m, region) = create_form(fake).await;
    // Let server-info settle: the form is up, so everything it waited for has answered.
    sleep(50).await;
    let expected = policy::template_text(None, &PolicyRegion::Region(region.clone()));
    assert_eq!(m.text_of("#policy-text"), expected);
    assert!(expected.contains(policy::ACCOUNT_PLACEHOLDER));
    let note = m.wait_for("#account-placeholder").await;
    assert!(is_visible(&note));
    let text = note.text_content().unwrap_or_default();
    assert!(text.contains(policy::ACCOUNT_PLACEHOLDER), "{text}");
    assert!(text.contains("does not publish the TiDB Cloud account"), "{text}");
}

#[wasm_bindgen_test]
async fn without_a_service_account_the_policy_shows_the_placeholder_and_why() {
    let fake = fake_with_projects();
    fake.on(
        "GET",
        "/api/ext/v1/server-info",
        200,
        serde_json::json!({"service_account_id": null, "kms": "aws", "key_check_interval_secs": 60, "version": "test"}),
    );
    assert_placeholder_policy(fake).await;
}

#[wasm_bindgen_test]
async fn a_plain_v1beta_server_gets_the_placeholder_too() {
    let fake = fake_with_projects();
    fake.on(
        "GET",
        "/api/ext/v1/server-info",
        404,
        serde_json::json!({"code": ErrorCode::RouteNotFound.code(), "message": "no such path", "details": []}),
    );
    assert_placeholder_policy(fake).await;
}

#[wasm_bindgen_test]
async fn download_saves_role_trust_policy_json_with_the_policy_shown() {
    let (m, region) = create_form(fake_with_projects()).await;
    let expected = policy::template_text(Some(SERVICE_ACCOUNT), &PolicyRegion::Region(region));
    wait_until("the policy names the service account", || m.text_of("#policy-text") == expected).await;
    let label = format!("Download {POLICY_FILE_NAME}");
    let button = m.with_text(".policy button", &label).unwrap_or_else(|| panic!("no {label:?} button"));
    let calls = {
        let spy = AnchorClickSpy::install();
        button.click();
        sleep(20).await;
        spy.calls()
    };
    assert_eq!(calls.len(), 1, "one download: {calls:?}");
    let (name, href) = &calls[0];
    assert_eq!(name.as_deref(), Some(POLICY_FILE_NAME));
    assert_eq!(name.as_deref(), Some("ROLE-TRUST-POLICY.JSON"), "the user guide's file name");
    assert!(href.starts_with("blob:"), "{href}");
    let content = fetch_text(href).await;
    assert_eq!(content, expected);
    assert_eq!(content, m.text_of("#policy-text"));
    assert!(m.query(".policy [role='alert']").is_none(), "no download failure is shown");
}

// ------------------------------------------------------------------ submitting

fn aws_cmek_posts(m: &Mounted) -> Vec<cmek_console::api::HttpRequest> {
    m.fake.requests().into_iter().filter(|r| r.method == "POST").collect()
}

#[wasm_bindgen_test]
async fn submitting_an_invalid_arn_focuses_it_and_sends_nothing() {
    let (m, _region) = create_form(fake_with_projects()).await;
    let bad = format!("arn:aws:kms:us-west-2:{OWNER_ACCOUNT}:alias/prod");
    m.type_into("#key-arn", &bad).await;
    // Focus is elsewhere before submitting.
    m.query("#policy-text").unwrap().unchecked_into::<HtmlElement>().focus().unwrap();
    assert_ne!(m.focused_id(), "key-arn");
    m.click("#create-key-submit").await;
    assert_eq!(m.focused_id(), "key-arn");
    assert_eq!(arn_status(&m), KmsKeyArn::parse(&bad).unwrap_err().to_string());
    // Enter in the field (a form submit) does the same.
    let form = m.query("form").unwrap();
    m.query("#policy-text").unwrap().unchecked_into::<HtmlElement>().focus().unwrap();
    let request_submit: js_sys::Function =
        js_sys::Reflect::get(&form, &"requestSubmit".into()).unwrap().unchecked_into();
    request_submit.call0(&form).unwrap();
    sleep(20).await;
    assert_eq!(m.focused_id(), "key-arn");
    assert!(aws_cmek_posts(&m).is_empty(), "{:?}", m.fake.requests());
}

#[wasm_bindgen_test]
async fn the_servers_refusal_is_shown_in_the_form_and_the_arn_is_kept() {
    let fake = fake_with_projects();
    // The server tests the key first; its policy lacks the backup statement.
    let region = "us-west-2";
    let arn = key_arn(region);
    let broken = policy::pretty(&serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [policy::ebs_statement(Some(SERVICE_ACCOUNT), &PolicyRegion::Region(region.into()))],
    }));
    let q = enabled_key(&arn, region);
    let causes = policy::decide(&broken, q).messages();
    assert!(!causes.is_empty());
    let message = format!("configuring the key is refused: the service cannot use the key {arn} in {region}");
    let refusal = ErrorResponse::new(ErrorCode::KeyAccessDenied, message.clone()).with_details(causes.clone());
    fake.on("POST", &Api::aws_cmek_path(CMEK_PROJECT), 400, serde_json::to_value(&refusal).unwrap());
    let (m, chosen) = create_form(fake).await;
    assert_eq!(chosen, region, "the catalog's first AWS region");
    m.type_into("#key-arn", &arn).await;
    m.click("#create-key-submit").await;
    let notice = m.wait_for("form .notice.error").await;
    let text = notice.text_content().unwrap_or_default();
    assert!(text.contains(&message), "{text}");
    for c in &causes {
        assert!(text.contains(c.as_str()), "cause {c:?} missing from {text}");
    }
    assert!(text.contains(&ErrorCode::KeyAccessDenied.code().to_string()), "{text}");
    // Still on the form, with the ARN as typed.
    assert_eq!(location_path(), format!("{}/create", encryption(CMEK_PROJECT)));
    assert_eq!(m.value_of("#key-arn"), arn);
    assert_eq!(m.value_of("#key-region"), region);
    // Exactly one request went out, with what was typed.
    let posts = aws_cmek_posts(&m);
    assert_eq!(posts.len(), 1, "{posts:?}");
    let body: serde_json::Value = serde_json::from_str(posts[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({"specs": [{"region": region, "kms_arn": arn}]}));
}

// ------------------------------------------------------------------ the key-policy checker

/// The checker for the CMEK project with its key in `region`; the query the page decides with.
async fn checker(region: &str, arn: &str) -> Mounted {
    let fake = fake_with_projects();
    with_keys(&fake, CMEK_PROJECT, &[(region, arn)]);
    let m = mount_at(&format!("{}/check", encryption(CMEK_PROJECT)), fake);
    m.wait_for("#policy-input").await;
    // The page knows the key's region once the keys have loaded.
    wait_until("the key's region is shown", || m.text_of("#checker-title + p").contains(region)).await;
    sleep(30).await;
    m
}

fn finding_kinds(m: &Mounted) -> Vec<String> {
    m.all("#findings li.finding").iter().map(|li| li.get_attribute("data-kind").unwrap_or_default()).collect()
}

/// The question the checker asks of a policy: can the service use the key `arn`, enabled.
fn enabled_key<'a>(arn: &'a str, region: &'a str) -> AccessQuery<'a> {
    AccessQuery { key_state: KeyState::Enabled, key_arn: arn, service_account: Some(SERVICE_ACCOUNT), region }
}

/// The key policy of the user guide for `region` (the customer's own statement and the
/// service's), to be broken by a test.
fn guide_policy(region: &str) -> serde_json::Value {
    policy::default_key_policy(OWNER_ACCOUNT, Some(SERVICE_ACCOUNT), &PolicyRegion::Region(region.into()))
}

/// Pastes `doc`, which blocks the service, into the checker: the findings listed are the core's
/// decision, in its order. Answers the decision.
async fn paste_blocking(m: &Mounted, doc: &serde_json::Value, q: AccessQuery<'_>) -> policy::AccessDecision {
    let pasted = policy::pretty(doc);
    let decision = policy::decide(&pasted, q);
    assert!(!decision.is_usable());
    m.type_text("#policy-input", &pasted).await;
    m.wait_for("#findings li.finding").await;
    let expected: Vec<String> = decision.findings.iter().map(|f| f.kind().to_owned()).collect();
    assert_eq!(finding_kinds(m), expected);
    decision
}

#[wasm_bindgen_test]
async fn checker_finds_the_missing_backup_statement_and_merges_a_usable_policy() {
    const REGION: &str = "us-west-2";
    let arn = key_arn(REGION);
    let m = checker(REGION, &arn).await;
    // The customer's own statement plus EBS only: the S3 backup statement is missing.
    let mut doc = guide_policy(REGION);
    doc["Statement"].as_array_mut().unwrap().retain(|s| s["Sid"] != policy::S3_SID);
    let q = enabled_key(&arn, REGION);
    let decision = paste_blocking(&m, &doc, q).await;
    let expected: Vec<String> = decision.findings.iter().map(|f| f.kind().to_owned()).collect();
    assert!(expected.iter().any(|k| k == "missing_actions"), "{expected:?}");
    let items = m.all("#findings li.finding");
    for (li, f) in items.iter().zip(&decision.findings) {
        let text = li.text_content().unwrap_or_default();
        assert!(text.contains(&f.to_string()), "{text}");
        assert_eq!(li.class_list().contains("blocking"), f.is_blocking(), "{text}");
        // Each finding is labelled in the person's words (not an internal name such as EXPLAINS).
        let sev = li.query_selector(".sev").unwrap().and_then(|e| e.text_content()).unwrap_or_default();
        assert_eq!(sev, if f.is_blocking() { "Blocks access" } else { "Note" }, "{text}");
    }
    assert!(m.text_of("#findings h3").contains("cannot use"), "{}", m.text_of("#findings h3"));
    // The merged policy: the service can use it, and the customer's statement is kept.
    let merged = m.wait_for("#merged-policy").await.text_content().unwrap_or_default();
    let after = policy::decide(&merged, q);
    assert!(after.is_usable(), "merged policy still blocked: {:?}\n{merged}", after.findings);
    assert!(merged.contains("Enable IAM User Permissions"), "{merged}");
    assert!(merged.contains(policy::S3_SID), "{merged}");
    // Pasting the merged policy: no blocking findings, and no merge offered.
    m.type_text("#policy-input", &merged).await;
    wait_until("the merged policy passes", || m.text_of("#findings h3").contains("can use")).await;
    assert!(m.query("#merged-policy").is_none());
    assert!(m.all("#findings li.finding.blocking").is_empty());
}

#[wasm_bindgen_test]
async fn checker_reports_a_deny_that_takes_access_away() {
    const REGION: &str = "us-west-2";
    let arn = key_arn(REGION);
    let m = checker(REGION, &arn).await;
    let mut doc = guide_policy(REGION);
    doc["Statement"].as_array_mut().unwrap().push(serde_json::json!({
        "Sid": "No decrypt for anyone",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["kms:Decrypt"],
        "Resource": "*",
    }));
    let q = enabled_key(&arn, REGION);
    paste_blocking(&m, &doc, q).await;
    let deny = m.query("#findings li.finding[data-kind='deny_blocks']").expect("a deny_blocks finding");
    assert!(deny.class_list().contains("blocking"));
    assert!(deny.text_content().unwrap_or_default().contains("No decrypt for anyone"));
    // A merge is offered, keeps the Deny as written (only its owner may drop it) and says so.
    let merged = m.wait_for("#merged-policy").await.text_content().unwrap_or_default();
    assert!(merged.contains("No decrypt for anyone"), "{merged}");
    assert!(m.text().contains("A Deny statement still blocks the service"), "{}", m.text());
    let after = policy::decide(&merged, q);
    assert!(after.findings.iter().any(|f| f.kind() == "deny_blocks"), "{:?}", after.findings);
    // Without the Deny, the merged policy is usable.
    let mut fixed: serde_json::Value = serde_json::from_str(&merged).unwrap();
    fixed["Statement"].as_array_mut().unwrap().retain(|s| s["Effect"] != "Deny");
    assert!(policy::decide(&policy::pretty(&fixed), q).is_usable());
}

// ------------------------------------------------------------------ the corrected retry (issue 12.1)

#[wasm_bindgen_test]
async fn after_the_policy_is_fixed_create_again_succeeds_without_a_reload_and_once() {
    clear_session_storage();
    let fake = fake_with_projects();
    let region = "us-west-2";
    let arn = key_arn(region);
    // The key's policy in KMS: missing the service's statements until the person fixes it.
    let fixed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let world = fixed.clone();
    let refusal = ErrorResponse::new(ErrorCode::KeyAccessDenied, "configuring the key is refused: access denied");
    let refusal = serde_json::to_string(&refusal).unwrap();
    let keys = strict_idempotent_create(&fake, &Api::aws_cmek_path(CMEK_PROJECT), move |_| {
        if world.load(std::sync::atomic::Ordering::SeqCst) { (200, "{}".to_owned()) } else { (400, refusal.clone()) }
    });
    let (m, _) = create_form(fake).await;
    m.choose("#key-region", region).await;
    m.type_into("#key-arn", &arn).await;
    m.click("#create-key-submit").await;
    m.wait_text("configuring the key is refused").await;

    // Fixed in KMS; Create again, with a double click while the answer is on its way.
    fixed.store(true, std::sync::atomic::Ordering::SeqCst);
    let gate = m.fake.hold("POST", &Api::aws_cmek_path(CMEK_PROJECT));
    m.click("#create-key-submit").await;
    m.click("#create-key-submit").await;
    gate.release();
    wait_until("Encryption Access opens", || location_path() == encryption(CMEK_PROJECT)).await;
    let keys = keys.lock().unwrap().clone();
    assert!(keys.len() >= 2, "{keys:?}");
    assert_ne!(keys[0], keys[1], "a refusal is an answer: the corrected retry is a new request");
    assert!(keys[1..].iter().all(|k| *k == keys[1]), "a double click sends one key: {keys:?}");
}

// ------------------------------------------------------------------ region, placeholder, draft (issue 12.6)

#[wasm_bindgen_test]
async fn no_region_is_chosen_for_the_person_and_the_draft_survives_a_reload() {
    clear_session_storage();
    let fake = fake_with_projects();
    with_keys(&fake, CMEK_PROJECT, &[]);
    let m = mount_at(&format!("{}/create", encryption(CMEK_PROJECT)), fake.clone());
    m.wait_for("#key-region option[value=\"eu-central-1\"]").await;
    sleep(50).await;
    assert_eq!(m.value_of("#key-region"), "", "the region can never change: the person chooses it");
    assert!(m.query("#policy-text").is_none(), "no policy for a region nobody chose");
    m.wait_for("#policy-needs-region").await;
    m.choose("#key-region", "eu-central-1").await;
    let placeholder = m.attr("#key-arn", "placeholder").unwrap_or_default();
    assert!(placeholder.starts_with("arn:aws:kms:eu-central-1:"), "{placeholder}");
    m.type_into("#key-arn", &key_arn("eu-central-1")).await;
    drop(m);
    // A reload: the same form, as typed.
    let m = mount_at(&format!("{}/create", encryption(CMEK_PROJECT)), fake);
    m.wait_for("#key-region option[value=\"eu-central-1\"]").await;
    wait_until("the draft's region is back", || m.value_of("#key-region") == "eu-central-1").await;
    assert_eq!(m.value_of("#key-arn"), key_arn("eu-central-1"));
    clear_session_storage();
}

// ------------------------------------------------------------------ the checker before a key exists (issue 12.8)

#[wasm_bindgen_test]
async fn checker_in_a_project_without_a_key_asks_for_the_region_and_loads_nothing() {
    let fake = fake_with_projects();
    with_keys(&fake, CMEK_PROJECT, &[]);
    let m = mount_at(&format!("{}/check", encryption(CMEK_PROJECT)), fake);
    m.wait_for("#checker-region").await;
    // No region is claimed for a key that does not exist: the person chooses it.
    let lead = m.text_of("#checker-title + p");
    assert!(lead.contains("has no key yet"), "{lead}");
    assert!(!lead.contains("us-west-2"), "no region is said for a missing key: {lead}");
    assert_eq!(m.value_of("#checker-region"), "", "no region chosen for the person");
    let offered: Vec<String> =
        m.all("#checker-region option").iter().map(|o| o.text_content().unwrap_or_default()).collect();
    assert!(offered.contains(&"Oregon (us-west-2)".to_owned()), "regions with their place: {offered:?}");
    // Load is offered but says why it cannot run, and sends nothing.
    let load = m.wait_for("#load-sandbox-policy").await;
    assert_eq!(load.get_attribute("aria-disabled").as_deref(), Some("true"));
    let why: String = m.described_by(&load).iter().map(|e| e.text_content().unwrap_or_default()).collect();
    assert!(why.contains("No key is configured for this project yet"), "{why}");
    m.click("#load-sandbox-policy").await;
    sleep(50).await;
    assert!(!m.fake.requests().iter().any(|r| r.path.contains("sandbox-kms")), "nothing loaded");
    assert!(!m.text().contains("does not understand"), "{}", m.text());
    // With a region and a policy, the findings are about that region.
    m.choose("#checker-region", "eu-central-1").await;
    let good = policy::pretty(&policy::default_key_policy(
        OWNER_ACCOUNT,
        Some(SERVICE_ACCOUNT),
        &PolicyRegion::Region("eu-central-1".into()),
    ));
    m.type_text("#policy-input", &good).await;
    m.wait_text("The service can use this key").await;
}
