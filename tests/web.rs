//! Browser tests (wasm-bindgen-test in headless Chromium): the console mounted against a fake API.
#![cfg(target_arch = "wasm32")]

mod common;
use common::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn projects_are_listed_with_their_cmek_badge() {
    let m = mount_at("/", fake_with_projects());
    m.wait_for("table.list tbody tr").await;
    let rows: Vec<String> = m.all("table.list tbody tr").iter().map(|r| r.text_content().unwrap_or_default()).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].contains("payments-prod") && rows[0].contains("CMEK"), "{rows:?}");
    assert!(rows[1].contains("Escrow key"), "{rows:?}");
    // A name with markup is text, never HTML.
    assert!(rows[1].contains("<img src=x onerror=alert(1)>"), "{rows:?}");
    assert!(m.query("table.list img").is_none());
    let sent = m.fake.requests();
    assert!(sent.iter().any(|r| r.method == "GET" && r.path == "/api/v1beta/projects?page=1&page_size=10"), "{sent:?}");
}

#[wasm_bindgen_test]
async fn an_empty_project_name_is_said_as_a_sentence_and_nothing_is_sent() {
    let m = mount_at("/projects/new", fake_with_projects());
    m.wait_for("#project-name").await;
    m.click("#create-project").await;
    let said = m.text_of("#project-name-error");
    assert_eq!(said, "Project name is required: a project name has 1–64 characters.");
    assert!(m.fake.requests().iter().all(|r| r.method == "GET"), "nothing is sent");
    assert_eq!(m.focused_id(), "project-name");
}

#[wasm_bindgen_test]
async fn events_are_named_by_their_kind_and_each_cause_is_said_once() {
    let fake = fake_with_projects();
    let cause = "the policy allows no kms:Decrypt for 444455556666";
    fake.on(
        "GET",
        &format!("/api/ext/v1/projects/{CMEK_PROJECT}/events"),
        200,
        serde_json::json!({"items": [{
            "id": "1", "project_id": CMEK_PROJECT, "at_ms": 1795833134000i64, "kind": "CLUSTER_RESUME_REFUSED",
            "cluster_id": "10", "cluster_name": "orders", "region": "us-west-2",
            "message": format!("resuming the cluster is refused: {cause}"), "details": [cause]
        }], "total": 1}),
    );
    with_keys(&fake, CMEK_PROJECT, &[]);
    let m = mount_at(&format!("/projects/{CMEK_PROJECT}/events"), fake);
    let item = m.wait_for("#events li").await;
    let text = item.text_content().unwrap_or_default();
    assert!(text.contains("Resume refused"), "{text}");
    assert_eq!(item.get_attribute("data-kind").as_deref(), Some("CLUSTER_RESUME_REFUSED"), "the kind's v1beta name");
    assert!(text.contains("Oregon (us-west-2)"), "the region with its place: {text}");
    assert_eq!(text.matches(cause).count(), 1, "the cause is said once: {text}");
}

/// The console computes dates itself (cmek_core::time); the browser's own `Date` is the oracle.
#[wasm_bindgen_test]
fn times_read_as_the_browser_dates_them() {
    use cmek_console::format;
    // Years 0000–9999 (where toISOString has four-digit years), in uneven steps, and the edges.
    let (first, last) = (-62_167_219_200i64, 253_402_300_799i64);
    let step = (last - first) / 4999;
    let mut checked = 0;
    for s in
        (0..5000).map(|k| (first + k * step + k * k % 86_399).min(last)).chain([first, -1, 0, 1, 951_782_399, last])
    {
        let iso: String = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(s as f64 * 1000.0)).to_iso_string().into();
        assert_eq!(format::time(s), format!("{} {} UTC", &iso[0..10], &iso[11..16]), "{s}");
        let ms = s * 1000 + 999;
        assert_eq!(format::time_ms(ms), format!("{} {} UTC", &iso[0..10], &iso[11..19]), "{ms}");
        checked += 1;
    }
    assert_eq!(checked, 5006);
}
