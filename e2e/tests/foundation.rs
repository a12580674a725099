//! The plumbing, end to end: the release build of the console, served by the server, renders the
//! projects the server has in SQLite, with no browser console error or warning (an error would
//! catch a wasm broken by a bad optimiser) and no accessibility violation.
#![cfg(not(target_arch = "wasm32"))]

use cmek_e2e::{Browser, Server, Setup, close};
use serde_json::json;

#[tokio::test]
async fn the_console_lists_the_servers_projects() {
    let Some(setup) = Setup::find() else { return };
    let server = Server::start(&setup, &[]).await;
    server.api("POST", "/api/v1beta/projects", Some(json!({"name": "payments-prod", "aws_cmek_enabled": true}))).await;
    server.api("POST", "/api/v1beta/projects", Some(json!({"name": "analytics"}))).await;
    let browser = Browser::start(&setup).await;
    let page = browser.session().await;
    page.sign_in(&server).await;
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
    // Nothing logged at all on a first load: no error, and no warning either (e.g. Chromium's
    // "the `integrity` attribute is ignored for preload destinations" for the wasm's preload).
    let logged = page.console_at(&["SEVERE", "WARNING"]).await;
    assert!(logged.is_empty(), "the first load logs:\n{}", logged.join("\n"));
    page.assert_accessible(&setup).await;
    close(page, browser, server).await;
}

/// The link the server prints signs the console in (once); the console runs under the
/// server's Content-Security-Policy (no inline script but trunk's own, by hash) without a
/// violation.
#[tokio::test]
async fn the_printed_sign_in_link_signs_the_console_in_once() {
    let Some(setup) = Setup::find() else { return };
    let server = Server::start(&setup, &[]).await;
    let index = reqwest::get(&server.url).await.expect("index.html");
    let csp = index.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("'wasm-unsafe-eval' 'sha256-") && !csp.contains("unsafe-inline"), "{csp}");
    server.api("POST", "/api/v1beta/projects", Some(json!({"name": "signed-in"}))).await;
    let browser = Browser::start(&setup).await;
    let page = browser.session().await;
    page.goto(&server.sign_in_url).await;
    page.wait_text("signed-in").await;
    let path = page.js("return location.pathname + location.hash").await;
    assert_eq!(path, "/", "the token leaves the address bar");
    let cookie = page.client.get_named_cookie("cmek_session").await.expect("the session cookie");
    assert_eq!(cookie.http_only(), Some(true));
    let errors = page.console_errors().await;
    assert!(!errors.iter().any(|e| e.contains("Content Security Policy")), "CSP violations:\n{}", errors.join("\n"));
    page.close().await;
    // A second browser with the same link: refused, and says why.
    let other = browser.session().await;
    other.goto(&server.sign_in_url).await;
    other.wait_text("A sign-in link works once").await;
    close(other, browser, server).await;
}
