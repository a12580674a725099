//! Clusters (issue 6): the create form in CMEK and plain projects (locked placement, catalog
//! choices, every validation message, focus on the first error), the list's Create button, and
//! the detail page's confirmations and key refusals, in headless Chromium against the fake API.
#![cfg(target_arch = "wasm32")]

mod common;
use cmek_console::api::fake::FakeTransport;
use cmek_console::api::{Api, HttpRequest};
use cmek_core::api::{
    CloudProvider, ClusterType, Components, ListProviderRegionsResp, StorageComponent, TidbComponent,
};
use cmek_core::cluster;
use cmek_core::kms::KeyState;
use cmek_core::policy::{self, AccessQuery, PolicyRegion};
use cmek_core::{ErrorCode, ErrorResponse};
use common::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

fn clusters(project: &str) -> String {
    format!("/projects/{project}/clusters")
}

/// A catalog with AWS and GCP Dedicated regions, one Serverless region, and 4-vCPU sizes.
fn catalog_json() -> serde_json::Value {
    let dedicated = |provider: &str, region: &str| {
        serde_json::json!({
            "cluster_type": "DEDICATED", "cloud_provider": provider, "region": region,
            "tidb": [
                {"node_size": "4C16G", "node_quantity_range": {"min": 1, "step": 1}},
                {"node_size": "8C16G", "node_quantity_range": {"min": 1, "step": 1}}
            ],
            "tikv": [
                {"node_size": "4C16G", "node_quantity_range": {"min": 3, "step": 3}, "storage_size_gib_range": {"min": 200, "max": 2048}},
                {"node_size": "8C32G", "node_quantity_range": {"min": 3, "step": 3}, "storage_size_gib_range": {"min": 500, "max": 4096}}
            ],
            "tiflash": [
                {"node_size": "8C64G", "node_quantity_range": {"min": 1, "step": 1}, "storage_size_gib_range": {"min": 200, "max": 2048}}
            ]
        })
    };
    serde_json::json!({"items": [
        dedicated("AWS", "us-west-2"),
        dedicated("AWS", "eu-central-1"),
        dedicated("GCP", "us-central1"),
        dedicated("GCP", "asia-east1"),
        {"cluster_type": "DEVELOPER", "cloud_provider": "AWS", "region": "us-east-1"}
    ]})
}

fn catalog() -> ListProviderRegionsResp {
    serde_json::from_value(catalog_json()).unwrap()
}

/// `fake_with_projects` with the catalog above, no clusters, and key health answering.
fn fake() -> FakeTransport {
    let fake = fake_with_projects();
    fake.on("GET", "/api/v1beta/clusters/provider/regions", 200, catalog_json());
    for p in [CMEK_PROJECT, PLAIN_PROJECT] {
        fake.on("GET", &Api::clusters_path(p), 200, serde_json::json!({"items": [], "total": 0}));
        fake.on("GET", &format!("/api/ext/v1/projects/{p}/key-health"), 200, serde_json::json!({"items": []}));
    }
    with_keys(&fake, PLAIN_PROJECT, &[]);
    fake
}

/// The create form of `project`, mounted with an empty draft.
async fn create_form(project: &str, fake: FakeTransport) -> Mounted {
    clear_session_storage();
    let m = mount_at(&format!("{}/new", clusters(project)), fake);
    m.wait_for("form #cluster-name").await;
    m
}

fn options(m: &Mounted, css: &str) -> Vec<String> {
    m.all(&format!("{css} option")).iter().map(|o| o.get_attribute("value").unwrap_or_default()).collect()
}

fn posts(m: &Mounted) -> Vec<HttpRequest> {
    m.fake.requests().into_iter().filter(|r| r.method != "GET").collect()
}

fn error_of(m: &Mounted, field: &str) -> String {
    m.text_of(&format!("#{field}-error"))
}

// ------------------------------------------------------------------ placement

#[wasm_bindgen_test]
async fn cmek_project_locks_tier_provider_and_region_to_the_key() {
    let fake = fake();
    let region = "us-west-2";
    with_keys(&fake, CMEK_PROJECT, &[(region, &key_arn(region))]);
    let m = create_form(CMEK_PROJECT, fake).await;
    let locked = m.wait_for("#locked-fields").await;
    let reason = format!("This project encrypts with the key in Oregon ({region})");
    for (id, label, value) in [
        ("cluster-tier", "Tier", "Dedicated"),
        ("cluster-provider", "Cloud provider", "AWS"),
        ("cluster-region", "Region", "Oregon (us-west-2)"),
    ] {
        let el = locked.query_selector(&format!("#{id}")).unwrap().unwrap_or_else(|| panic!("no #{id}"));
        let text = el.text_content().unwrap_or_default();
        assert!(text.trim_start().starts_with(value), "#{id}: {text}");
        assert!(text.contains(&reason), "#{id} gives the reason: {text}");
        assert_ne!(el.tag_name(), "SELECT", "#{id} cannot be changed");
        // Each fixed field has its own label, as the choosable ones do (issue 12.11).
        let named_by = el.get_attribute("aria-labelledby").unwrap_or_default();
        let first = named_by.split_whitespace().next().unwrap_or_default().to_owned();
        assert_eq!(m.text_of(&format!("#{first}")), label, "#{id} is labelled");
    }
    // Serverless is not a choice here, so the port's help does not talk about it.
    let port_help = m.text_of("#cluster-port-help");
    assert!(!port_help.contains("Serverless"), "{port_help}");
    // Nothing to choose them with.
    assert!(m.query("select#cluster-provider, select#cluster-region, input[name='tier']").is_none());
    // The node sizes come from the key region's catalog entry.
    let entry = catalog().find(ClusterType::Dedicated, CloudProvider::Aws, region).cloned().unwrap();
    let sizes: Vec<String> = entry.tidb.iter().map(|p| p.node_size.clone()).collect();
    assert_eq!(options(&m, "#tidb-size"), sizes);
}

#[wasm_bindgen_test]
async fn cmek_project_without_a_key_offers_no_form_and_points_to_encryption_access() {
    let fake = fake();
    with_keys(&fake, CMEK_PROJECT, &[]);
    clear_session_storage();
    let m = mount_at(&format!("{}/new", clusters(CMEK_PROJECT)), fake);
    let why = m.wait_for("#no-key-yet").await;
    let text = why.text_content().unwrap_or_default();
    assert!(text.contains("none is configured yet"), "{text}");
    assert!(m.query("form").is_none(), "no form is offered: {}", m.text());
    let links: Vec<String> = m.all("#no-key-yet a").iter().filter_map(|a| a.get_attribute("href")).collect();
    assert!(links.contains(&format!("/projects/{CMEK_PROJECT}/encryption")), "{links:?}");
    // (The link is not clicked here: every Router mounted earlier in this shared test page left
    // its window click listener behind, and the first of them would take the click.)
    let link = m.query("#no-key-yet a").unwrap();
    assert!(link.text_content().unwrap_or_default().contains("Encryption Access"));
}

#[wasm_bindgen_test]
async fn cmek_project_without_a_key_disables_create_cluster_on_the_list_with_the_reason() {
    let fake = fake();
    with_keys(&fake, CMEK_PROJECT, &[]);
    let path = clusters(CMEK_PROJECT);
    let m = mount_at(&path, fake);
    let reason = m.disabled_with_reason("#create-cluster").await;
    assert!(reason.contains("none is configured yet") && reason.contains("Encryption Access"), "{reason}");
    m.click("#create-cluster").await;
    sleep(50).await;
    assert_eq!(location_path(), path, "a disabled button goes nowhere");
}

#[wasm_bindgen_test]
async fn cmek_project_with_a_key_enables_create_cluster() {
    let fake = fake();
    with_keys(&fake, CMEK_PROJECT, &[("us-west-2", &key_arn("us-west-2"))]);
    let m = mount_at(&clusters(CMEK_PROJECT), fake);
    m.wait_for(".empty").await;
    wait_until("the key has loaded", || m.text().contains("run in Oregon (us-west-2)")).await;
    assert_eq!(m.attr("#create-cluster", "aria-disabled"), None);
    m.click("#create-cluster").await;
    m.wait_for("#locked-fields").await;
}

/// The clusters are asked for together with the project, not after it (v1beta has no "get
/// project": the project is found in the list), and shown only once the project is known.
#[wasm_bindgen_test]
async fn the_clusters_request_goes_out_while_the_project_is_still_loading() {
    let fake = fake();
    with_keys(&fake, CMEK_PROJECT, &[("us-west-2", &key_arn("us-west-2"))]);
    let project_list = fake.hold("GET", "/api/v1beta/projects");
    let m = mount_at(&clusters(CMEK_PROJECT), fake);
    let clusters_path = Api::clusters_path(CMEK_PROJECT);
    wait_until("the clusters request", || m.fake.requests().iter().any(|r| r.path.starts_with(&clusters_path))).await;
    assert!(m.text().contains("Loading the project"), "{}", m.text());
    let page = m.wait_for(".project-page").await;
    assert!(page.has_attribute("hidden"), "nothing of the page shows before its project: {}", page.outer_html());
    m.wait_for(".empty").await;
    assert!(!is_visible(&m.query(".empty").unwrap()), "the empty list stays hidden");

    project_list.release();
    wait_until("the project is shown", || m.query(".project-page:not([hidden])").is_some()).await;
    assert!(is_visible(&m.query(".empty").unwrap()));
    assert!(!m.text().contains("Loading the project"), "{}", m.text());
    let lists = m.fake.requests().iter().filter(|r| r.path.starts_with(&clusters_path)).count();
    assert_eq!(lists, 1, "the page was not mounted again when the project arrived");
}

#[wasm_bindgen_test]
async fn plain_project_offers_tier_provider_and_region_from_the_catalog() {
    let m = create_form(PLAIN_PROJECT, fake()).await;
    let cat = catalog();
    assert!(m.query("#locked-fields").is_none());
    assert!(m.text_of("#cluster-port-help").contains("Serverless clusters use 4000"));
    assert_eq!(m.all("#cluster-tier input[name='tier']").len(), 2, "Dedicated and Serverless");
    assert_eq!(options(&m, "#cluster-provider"), vec!["AWS", "GCP"]);
    let aws = cat.regions(ClusterType::Dedicated, CloudProvider::Aws);
    wait_until("AWS regions are offered", || options(&m, "#cluster-region") == aws).await;
    assert_eq!(m.value_of("#cluster-region"), aws[0]);
    // GCP: its regions, the first chosen.
    m.choose("#cluster-provider", "GCP").await;
    let gcp = cat.regions(ClusterType::Dedicated, CloudProvider::Gcp);
    assert!(!gcp.is_empty());
    assert_eq!(options(&m, "#cluster-region"), gcp);
    assert_eq!(m.value_of("#cluster-region"), gcp[0]);
    m.choose("#cluster-region", gcp[1]).await;
    assert_eq!(m.value_of("#cluster-region"), gcp[1]);
    // Back to AWS: AWS regions again.
    m.choose("#cluster-provider", "AWS").await;
    assert_eq!(options(&m, "#cluster-region"), aws);
    // Serverless: its regions, and no node sizes to choose.
    let serverless: HtmlElement = m.all("#cluster-tier input[name='tier']")[1].clone().unchecked_into();
    serverless.click();
    sleep(20).await;
    assert_eq!(options(&m, "#cluster-region"), cat.regions(ClusterType::Developer, CloudProvider::Aws));
    assert!(m.query("#tidb-size").is_none());
}

// ------------------------------------------------------------------ validation

/// The tikv profile of the form's region.
fn tikv_profile(region: &str, size: &str) -> cmek_core::api::StorageProfile {
    let entry = catalog().find(ClusterType::Dedicated, CloudProvider::Aws, region).cloned().unwrap();
    entry.tikv.into_iter().find(|p| p.node_size == size).unwrap()
}

#[wasm_bindgen_test]
async fn every_rule_shows_its_message_at_its_field_and_nothing_is_sent() {
    let m = create_form(PLAIN_PROJECT, fake()).await;
    let region = m.value_of("#cluster-region");
    let tikv_size = m.value_of("#tikv-size");
    let tikv = tikv_profile(&region, &tikv_size);
    let password = "hunter2";
    m.type_into("#cluster-name", "db").await;
    m.type_into("#cluster-password", password).await;
    m.type_into("#cluster-port", &cluster::RESERVED_PORT.to_string()).await;
    let bad_quantity = tikv.node_quantity_range.min + 1;
    m.type_into("#tikv-quantity", &bad_quantity.to_string()).await;
    let bad_storage = tikv.storage_size_gib_range.max + 1;
    m.type_into("#tikv-storage", &bad_storage.to_string()).await;
    // Nothing shows before the person leaves a field or submits.
    assert_eq!(error_of(&m, "cluster-name"), "");
    m.click("#create-cluster-submit").await;
    assert_eq!(error_of(&m, "cluster-name"), cluster::check_name("db").unwrap_err());
    let pw_message = cluster::check_root_password(password).unwrap_err();
    assert_eq!(error_of(&m, "cluster-password"), pw_message);
    assert_eq!(error_of(&m, "cluster-port"), cluster::check_port(cluster::RESERVED_PORT).unwrap_err());
    assert_eq!(
        error_of(&m, "tikv-quantity"),
        cluster::check_quantity(bad_quantity, tikv.node_quantity_range).unwrap_err()
    );
    assert_eq!(
        error_of(&m, "tikv-storage"),
        cluster::check_storage(bad_storage, tikv.storage_size_gib_range).unwrap_err()
    );
    for id in ["cluster-name", "cluster-password", "cluster-port", "tikv-quantity", "tikv-storage"] {
        assert_eq!(m.attr(&format!("#{id}"), "aria-invalid").as_deref(), Some("true"), "#{id}");
        let describedby = m.attr(&format!("#{id}"), "aria-describedby").unwrap_or_default();
        assert!(describedby.split_whitespace().any(|d| d == format!("{id}-error")), "#{id}: {describedby}");
    }
    // The fields without a problem say nothing.
    assert_eq!(error_of(&m, "tidb-quantity"), "");
    assert_eq!(m.attr("#tidb-quantity", "aria-invalid"), None);
    // The password is never repeated: not in a message, not on the page, not in the saved draft.
    assert!(!pw_message.contains(password));
    assert!(!m.text().contains(password), "{}", m.text());
    assert!(!session_storage_dump().contains(password));
    // Focus on the first field in error; nothing sent.
    assert_eq!(m.focused_id(), "cluster-name");
    assert!(posts(&m).is_empty(), "{:?}", posts(&m));
}

#[wasm_bindgen_test]
async fn a_message_shows_when_the_field_is_left() {
    let m = create_form(PLAIN_PROJECT, fake()).await;
    let name = "-orders";
    m.type_into("#cluster-name", name).await;
    assert_eq!(error_of(&m, "cluster-name"), "");
    m.leave("#cluster-name").await;
    assert_eq!(error_of(&m, "cluster-name"), cluster::check_name(name).unwrap_err());
    // Put right, the message goes.
    m.type_into("#cluster-name", "orders-1").await;
    assert_eq!(error_of(&m, "cluster-name"), "");
    assert_eq!(m.attr("#cluster-name", "aria-invalid"), None);
    // A long password: its length is named, never the password.
    let long = "s3cret-".repeat(10);
    m.type_into("#cluster-password", &long).await;
    m.leave("#cluster-password").await;
    assert_eq!(error_of(&m, "cluster-password"), cluster::check_root_password(&long).unwrap_err());
    assert!(!m.text().contains(&long));
}

#[wasm_bindgen_test]
async fn submit_focuses_the_first_field_in_error_in_document_order() {
    let m = create_form(PLAIN_PROJECT, fake()).await;
    m.type_into("#cluster-name", "orders-db").await;
    m.type_into("#cluster-password", "short").await;
    let region = m.value_of("#cluster-region");
    let tikv = tikv_profile(&region, &m.value_of("#tikv-size"));
    m.type_into("#tikv-quantity", &(tikv.node_quantity_range.min + 2).to_string()).await;
    m.click("#create-cluster-submit").await;
    // The fields in error, in document order: the focused one is the first.
    let invalid: Vec<String> = m.all("[aria-invalid='true']").iter().map(Element::id).collect();
    assert_eq!(invalid, vec!["tikv-quantity", "cluster-password"]);
    assert_eq!(m.focused_id(), "tikv-quantity");
    assert!(posts(&m).is_empty(), "{:?}", posts(&m));
    // Fixing the quantity moves the first error on to the password.
    m.type_into("#tikv-quantity", &tikv.node_quantity_range.min.to_string()).await;
    m.click("#create-cluster-submit").await;
    assert_eq!(m.focused_id(), "cluster-password");
    assert!(posts(&m).is_empty());
}

#[wasm_bindgen_test]
async fn quantities_that_are_not_whole_numbers_are_named() {
    let m = create_form(PLAIN_PROJECT, fake()).await;
    m.type_into("#cluster-name", "orders-db").await;
    m.type_into("#cluster-password", "correct-horse").await;
    m.type_into("#tidb-quantity", "2.5").await;
    m.click("#create-cluster-submit").await;
    let message = error_of(&m, "tidb-quantity");
    assert!(message.contains("\"2.5\"") && message.contains("not a whole number"), "{message}");
    assert_eq!(m.focused_id(), "tidb-quantity");
    // Letters cannot be typed into a number field; the browser leaves it empty, and that is named too.
    m.type_into("#tidb-quantity", "three").await;
    let message = error_of(&m, "tidb-quantity");
    assert!(message.contains("not a whole number"), "{message}");
    assert!(posts(&m).is_empty());
}

#[wasm_bindgen_test]
async fn the_four_vcpu_rule_is_checked_against_the_catalog() {
    let m = create_form(PLAIN_PROJECT, fake()).await;
    m.type_into("#cluster-name", "orders-db").await;
    m.type_into("#cluster-password", "correct-horse").await;
    let region = m.value_of("#cluster-region");
    let entry = catalog().find(ClusterType::Dedicated, CloudProvider::Aws, &region).cloned().unwrap();
    let four = entry.tidb.iter().find(|p| cluster::vcpus(&p.node_size) == Some(4)).unwrap().node_size.clone();
    m.choose("#tidb-size", &four).await;
    m.click("#create-cluster-submit").await;
    // What the rules say about the components as the form holds them.
    let value = |id: &str| m.value_of(&format!("#{id}")).parse::<i32>().unwrap();
    let components = Components {
        tidb: TidbComponent { node_size: four.clone(), node_quantity: value("tidb-quantity") },
        tikv: StorageComponent {
            node_size: m.value_of("#tikv-size"),
            node_quantity: value("tikv-quantity"),
            storage_size_gib: value("tikv-storage"),
        },
        tiflash: None,
    };
    let expected = cluster::check_components(&components, &entry);
    let rule = expected
        .iter()
        .find(|e| e.field == "config.components.tikv.node_size")
        .unwrap_or_else(|| panic!("the rules name the TiKV size: {expected:?}"));
    assert_eq!(error_of(&m, "tikv-size"), rule.message);
    assert_eq!(m.attr("#tikv-size", "aria-invalid").as_deref(), Some("true"));
    assert_eq!(m.focused_id(), "tikv-size");
    assert!(posts(&m).is_empty());
    // The same vCPUs on TiKV satisfy it.
    let four_kv = entry.tikv.iter().find(|p| cluster::vcpus(&p.node_size) == Some(4)).unwrap();
    m.choose("#tikv-size", &four_kv.node_size).await;
    m.type_into("#tikv-storage", &four_kv.storage_size_gib_range.min.to_string()).await;
    assert_eq!(error_of(&m, "tikv-size"), "");
    // TiFlash is not available with 4 vCPUs.
    let tiflash: HtmlElement = m.query("#tiflash-enabled").unwrap().unchecked_into();
    tiflash.click();
    sleep(20).await;
    let message = error_of(&m, "tiflash-enabled");
    assert!(message.contains("4-vCPU"), "{message}");
}

#[wasm_bindgen_test]
async fn a_valid_form_sends_one_request_with_what_was_typed() {
    let fake = fake();
    fake.on("POST", &Api::clusters_path(PLAIN_PROJECT), 200, serde_json::json!({"id": CLUSTER_ID}));
    let m = create_form(PLAIN_PROJECT, fake).await;
    m.type_into("#cluster-name", CLUSTER_NAME).await;
    m.type_into("#cluster-password", "correct-horse").await;
    m.click("#create-cluster-submit").await;
    wait_until("the request is sent", || !posts(&m).is_empty()).await;
    let sent = posts(&m);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let req: cmek_core::api::CreateClusterReq = serde_json::from_str(sent[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(req.name, CLUSTER_NAME);
    assert_eq!(req.config.root_password, "correct-horse");
    assert!(cluster::check_create(&req, &catalog()).is_empty());
    wait_until("the new cluster opens", || location_path().ends_with(CLUSTER_ID)).await;
}

// ------------------------------------------------------------------ the detail page

async fn detail(status: &str, fake: FakeTransport) -> Mounted {
    with_keys(&fake, CMEK_PROJECT, &[("us-west-2", &key_arn("us-west-2"))]);
    fake.on("GET", &Api::cluster_path(CMEK_PROJECT, CLUSTER_ID), 200, cluster_json(status));
    let m = mount_at(&format!("{}/{CLUSTER_ID}", clusters(CMEK_PROJECT)), fake);
    m.wait_for("#cluster-title").await;
    m
}

fn open_dialog(m: &Mounted) -> Option<Element> {
    m.query("dialog[open]")
}

fn dialog_title(m: &Mounted, dialog: &Element) -> String {
    let id = dialog.get_attribute("aria-labelledby").unwrap();
    let document = web_sys::window().unwrap().document().unwrap();
    let title = document.get_element_by_id(&id).unwrap();
    assert!(dialog.contains(Some(&title)));
    let _ = m;
    title.text_content().unwrap_or_default()
}

fn dialog_buttons(dialog: &Element) -> (HtmlElement, HtmlElement) {
    let list = dialog.query_selector_all(".actions button").unwrap();
    assert_eq!(list.length(), 2);
    (list.item(0).unwrap().unchecked_into(), list.item(1).unwrap().unchecked_into())
}

fn is_focused(el: &Element) -> bool {
    active_element().is_some_and(|a| a.is_same_node(Some(el)))
}

#[wasm_bindgen_test]
async fn pause_asks_first_naming_the_cluster_with_focus_on_cancel() {
    let fake = fake();
    fake.on("PATCH", &Api::cluster_path(CMEK_PROJECT, CLUSTER_ID), 200, serde_json::json!({}));
    let m = detail("AVAILABLE", fake).await;
    assert!(open_dialog(&m).is_none());
    m.click("#pause-cluster").await;
    let dialog = open_dialog(&m).expect("a dialog opens");
    assert_eq!(dialog.get_attribute("role").as_deref(), Some("alertdialog"));
    let title = dialog_title(&m, &dialog);
    assert!(title.contains(CLUSTER_NAME), "{title}");
    assert!(title.starts_with("Pause"), "{title}");
    let (cancel, confirm) = dialog_buttons(&dialog);
    assert_eq!(cancel.text_content().unwrap_or_default().trim(), "Cancel");
    assert!(is_focused(&cancel), "focus is on Cancel, not {:?}", active_element().map(|e| e.outer_html()));
    // Cancel: closed, nothing sent.
    cancel.click();
    sleep(20).await;
    assert!(open_dialog(&m).is_none());
    assert!(posts(&m).is_empty());
    // Again, and confirm: one PATCH that pauses.
    m.click("#pause-cluster").await;
    let dialog = open_dialog(&m).expect("the dialog opens again");
    let (_, confirm2) = dialog_buttons(&dialog);
    assert!(confirm2.is_same_node(Some(&confirm)));
    assert_eq!(confirm.get_attribute("aria-disabled"), None);
    confirm.click();
    wait_until("the pause is sent", || !posts(&m).is_empty()).await;
    let sent = posts(&m);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].method, "PATCH");
    assert_eq!(sent[0].body.as_deref(), Some(r#"{"config":{"paused":true}}"#));
    assert!(open_dialog(&m).is_none());
}

#[wasm_bindgen_test]
async fn delete_needs_the_cluster_name_typed_before_it_can_be_confirmed() {
    let fake = fake();
    fake.on("DELETE", &Api::cluster_path(CMEK_PROJECT, CLUSTER_ID), 200, serde_json::json!({}));
    let m = detail("AVAILABLE", fake).await;
    m.click("#delete-cluster").await;
    let dialog = open_dialog(&m).expect("a dialog opens");
    let title = dialog_title(&m, &dialog);
    assert!(title.contains(CLUSTER_NAME) && title.starts_with("Delete"), "{title}");
    let (cancel, confirm) = dialog_buttons(&dialog);
    assert!(is_focused(&cancel));
    assert!(!confirm.has_attribute("disabled"), "aria-disabled, not disabled");
    assert_eq!(confirm.get_attribute("aria-disabled").as_deref(), Some("true"));
    // Not usable yet: a click does nothing.
    confirm.click();
    sleep(20).await;
    assert!(open_dialog(&m).is_some());
    assert!(posts(&m).is_empty());
    // A wrong name keeps it disabled.
    m.type_into("dialog[open] input", "orders").await;
    assert_eq!(confirm.get_attribute("aria-disabled").as_deref(), Some("true"));
    confirm.click();
    sleep(20).await;
    assert!(posts(&m).is_empty());
    // The name: usable.
    m.type_into("dialog[open] input", CLUSTER_NAME).await;
    assert_eq!(confirm.get_attribute("aria-disabled"), None);
    confirm.click();
    wait_until("the delete is sent", || !posts(&m).is_empty()).await;
    let sent = posts(&m);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].method, "DELETE");
    assert_eq!(sent[0].path, Api::cluster_path(CMEK_PROJECT, CLUSTER_ID));
    wait_until("back on the list", || location_path() == clusters(CMEK_PROJECT)).await;
}

#[wasm_bindgen_test]
async fn a_refused_resume_names_the_key_and_its_causes_with_where_to_look() {
    let fake = fake();
    let region = "us-west-2";
    let arn = key_arn(region);
    // The key's policy lacks the backup statement: the causes the service gives.
    let broken = policy::pretty(&serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [policy::ebs_statement(Some(SERVICE_ACCOUNT), &PolicyRegion::Region(region.into()))],
    }));
    let q = AccessQuery { key_state: KeyState::Enabled, key_arn: &arn, service_account: Some(SERVICE_ACCOUNT), region };
    let decision = policy::decide(&broken, q);
    let causes = decision.messages();
    assert!(!causes.is_empty());
    let message = format!(
        "resuming the cluster is refused: the service cannot use the key {arn} in {region} ({}): {}",
        decision.health_state().as_str(),
        causes[0]
    );
    let refusal = ErrorResponse::new(ErrorCode::KeyAccessDenied, message.clone()).with_details(causes.clone());
    fake.on("PATCH", &Api::cluster_path(CMEK_PROJECT, CLUSTER_ID), 400, serde_json::to_value(&refusal).unwrap());
    let m = detail("PAUSED", fake).await;
    m.click("#resume-cluster").await;
    let dialog = open_dialog(&m).expect("resume asks first");
    assert!(dialog_title(&m, &dialog).contains(CLUSTER_NAME));
    let (_, confirm) = dialog_buttons(&dialog);
    confirm.click();
    let error = m.wait_for("#operation-error").await;
    let text = error.text_content().unwrap_or_default();
    assert_eq!(
        m.text_of("#operation-error .headline"),
        "Resuming the cluster was refused",
        "not \"The operation failed\""
    );
    let said = m.text_of("#operation-error .message");
    assert_eq!(said, format!("{}.", message.strip_suffix(&format!(": {}", causes[0])).unwrap()));
    assert!(text.contains(&arn), "the message names the key: {text}");
    assert_eq!(text.matches(causes[0].as_str()).count(), 1, "the first cause is said once: {text}");
    let shown: Vec<String> =
        m.all("#operation-error .causes li").iter().map(|li| li.text_content().unwrap_or_default()).collect();
    assert_eq!(shown, causes);
    let links: Vec<String> = m.all("#operation-error a").iter().filter_map(|a| a.get_attribute("href")).collect();
    assert!(links.contains(&format!("/projects/{CMEK_PROJECT}/encryption")), "key health: {links:?}");
    assert!(links.contains(&format!("/projects/{CMEK_PROJECT}/encryption/check")), "policy checker: {links:?}");
    let sent = posts(&m);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].body.as_deref(), Some(r#"{"config":{"paused":false}}"#));
    // The cluster is still shown as paused, with Resume still offered.
    assert!(m.query("#resume-cluster").is_some());
}

#[wasm_bindgen_test]
async fn a_refused_resume_lists_the_keys_causes_once_on_the_page() {
    let fake = fake();
    let region = "us-west-2";
    let arn = key_arn(region);
    let cause = "the key is disabled in KMS";
    with_keys(&fake, CMEK_PROJECT, &[(region, &arn)]);
    fake.on(
        "GET",
        &format!("/api/ext/v1/projects/{CMEK_PROJECT}/key-health"),
        200,
        serde_json::json!({"items": [{"project_id": CMEK_PROJECT, "region": region, "kms_arn": arn,
            "state": "KEY_DISABLED", "key_state": "Disabled", "causes": [cause]}]}),
    );
    let message = format!(
        "resuming the cluster is refused: the service cannot use the key {arn} in {region} (KEY_DISABLED): {cause}"
    );
    let refusal = ErrorResponse::new(ErrorCode::KeyDisabled, message).with_details(vec![cause.to_owned()]);
    fake.on("PATCH", &Api::cluster_path(CMEK_PROJECT, CLUSTER_ID), 400, serde_json::to_value(&refusal).unwrap());
    let m = detail("PAUSED", fake).await;
    // Before anything is refused, the key's health box is where the cause is said.
    m.wait_for("#key-causes").await;
    m.click("#resume-cluster").await;
    let (_, confirm) = dialog_buttons(&open_dialog(&m).expect("resume asks first"));
    confirm.click();
    m.wait_for("#operation-error").await;
    wait_until("the health box refers to the refusal", || m.query("#key-causes-above").is_some()).await;
    let body = web_sys::window().unwrap().document().unwrap().body().unwrap().text_content().unwrap_or_default();
    assert_eq!(body.matches(cause).count(), 1, "the cause is said once on the page: {body}");
    assert!(m.query("#key-causes").is_none(), "the health box does not list it again");
    // The health box re-read what the refused resume recorded.
    let reads = m.fake.requests().into_iter().filter(|r| r.method == "GET" && r.path.ends_with("/key-health")).count();
    assert!(reads >= 2, "health read again after the refusal: {reads}");
}

// ------------------------------------------------------------------ the corrected retry (issue 12.1)

#[wasm_bindgen_test]
async fn after_the_key_is_enabled_create_again_succeeds_without_a_reload_and_once() {
    let fake = fake();
    let region = "us-west-2";
    with_keys(&fake, CMEK_PROJECT, &[(region, &key_arn(region))]);
    // The key is disabled in KMS until the person enables it.
    let enabled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let world = enabled.clone();
    let refusal = cmek_core::ErrorResponse::new(
        cmek_core::ErrorCode::KeyDisabled,
        "creating the cluster is refused: the key is disabled",
    );
    let refusal = serde_json::to_string(&refusal).unwrap();
    let keys = strict_idempotent_create(&fake, &Api::clusters_path(CMEK_PROJECT), move |_| {
        if world.load(std::sync::atomic::Ordering::SeqCst) {
            (200, serde_json::json!({"id": CLUSTER_ID}).to_string())
        } else {
            (400, refusal.clone())
        }
    });
    let m = create_form(CMEK_PROJECT, fake).await;
    m.type_into("#cluster-name", CLUSTER_NAME).await;
    m.type_into("#cluster-password", "correct-horse").await;
    m.click("#create-cluster-submit").await;
    m.wait_text("the key is disabled").await;

    enabled.store(true, std::sync::atomic::Ordering::SeqCst);
    let gate = m.fake.hold("POST", &Api::clusters_path(CMEK_PROJECT));
    m.click("#create-cluster-submit").await;
    m.click("#create-cluster-submit").await;
    gate.release();
    wait_until("the new cluster opens", || location_path().ends_with(CLUSTER_ID)).await;
    let keys = keys.lock().unwrap().clone();
    assert!(keys.len() >= 2, "{keys:?}");
    assert_ne!(keys[0], keys[1], "a refusal is an answer: the corrected retry is a new request");
    assert!(keys[1..].iter().all(|k| *k == keys[1]), "a double click sends one key: {keys:?}");
}

// ------------------------------------------------------------------ the key's state, before filling in (issue 12.5)

#[wasm_bindgen_test]
async fn the_form_says_before_it_is_filled_in_that_the_key_cannot_be_used_and_how_to_fix_it() {
    let fake = fake();
    let region = "us-west-2";
    let arn = key_arn(region);
    with_keys(&fake, CMEK_PROJECT, &[(region, &arn)]);
    let health = |state: &str, causes: &[&str]| {
        serde_json::json!({"items": [{"project_id": CMEK_PROJECT, "region": region, "kms_arn": arn,
            "state": state, "causes": causes}]})
    };
    fake.on(
        "GET",
        &format!("/api/ext/v1/projects/{CMEK_PROJECT}/key-health"),
        200,
        health("KEY_DISABLED", &["the key is disabled in KMS"]),
    );
    fake.on("POST", &format!("/api/ext/v1/projects/{CMEK_PROJECT}/key-health/check"), 200, health("ACCESSIBLE", &[]));
    let m = create_form(CMEK_PROJECT, fake).await;
    let notice = m.wait_for("#key-unusable").await;
    let text = notice.text_content().unwrap_or_default();
    assert!(text.contains("cannot be used now (Key disabled)"), "{text}");
    assert!(text.contains("the key is disabled in KMS"), "{text}");
    let links: Vec<String> =
        m.all("#key-unusable a").iter().map(|a| a.get_attribute("href").unwrap_or_default()).collect();
    assert!(links.contains(&format!("/projects/{CMEK_PROJECT}/encryption")), "{links:?}");
    assert!(links.contains(&format!("/projects/{CMEK_PROJECT}/encryption/check")), "{links:?}");
    // The button stays focusable, says why, and sends nothing.
    let button = m.wait_for("#create-cluster-submit").await;
    assert_eq!(button.get_attribute("aria-disabled").as_deref(), Some("true"));
    let reason: String = m.described_by(&button).iter().map(|e| e.text_content().unwrap_or_default()).collect();
    assert!(reason.contains("cannot be used now"), "{reason}");
    m.type_into("#cluster-name", CLUSTER_NAME).await;
    m.type_into("#cluster-password", "correct-horse").await;
    m.click("#create-cluster-submit").await;
    assert!(posts(&m).is_empty(), "{:?}", posts(&m));
    // Fixed in KMS: "Test the key again" finds it usable, and the form can be sent.
    m.click("#test-key-again").await;
    wait_until("the warning goes", || m.query("#key-unusable").is_none()).await;
    assert_eq!(m.attr("#create-cluster-submit", "aria-disabled"), None);
}
