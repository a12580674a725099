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
