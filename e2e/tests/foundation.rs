//! The plumbing, end to end: the release build of the console, served by the server, renders the
//! projects the server has in SQLite, with no browser console error (which would catch a wasm
//! broken by a bad optimiser) and no accessibility violation.
#![cfg(not(target_arch = "wasm32"))]

use cmek_e2e::{Browser, Server, Setup};
use serde_json::json;

#[tokio::test]
async fn the_console_lists_the_servers_projects() {
    let Some(setup) = Setup::find() else { return };
    let server = Server::start(&setup, &[]).await;
    server.api("POST", "/api/v1beta/projects", Some(json!({"name": "payments-prod", "aws_cmek_enabled": true}))).await;
    server.api("POST", "/api/v1beta/projects", Some(json!({"name": "analytics"}))).await;
    let browser = Browser::start(&setup).await;
    let page = browser.session().await;
    page.goto(&server.url).await;
    page.find("table.list tbody tr").await;
    let rows = page.js("return [...document.querySelectorAll('table.list tbody tr')].map(r => r.innerText)").await;
    let rows: Vec<String> = serde_json::from_value(rows).unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].contains("payments-prod") && rows[0].contains("CMEK"), "{rows:?}");
    assert!(rows[1].contains("analytics") && rows[1].contains("Escrow key"), "{rows:?}");
    let marked = page.js("return performance.getEntriesByName('cmek:interactive').length").await;
    assert_eq!(marked, 1, "the interactive mark is set once the data is on screen");
    page.screenshot("projects").await;
    page.assert_no_console_errors().await;
    page.assert_accessible(&setup).await;
    page.close().await;
    browser.stop().await;
    server.stop().await;
}
