//! Signing in, a session that ends mid-page, reads that retry by themselves, and creates that
//! are safe to retry — in headless Chromium against the fake API.
#![cfg(target_arch = "wasm32")]

mod common;
use cmek_core::error::ErrorCode;
use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const SESSION: &str = r#"{"csrf_token":"csrf-123","expires_at":1900000000}"#;
fn unauthenticated() -> String {
    error_body(ErrorCode::Unauthenticated, "sign in to use the console")
}

/// A fake server with sessions: signed out until a POST with `token` or `password` "right".
fn fake_with_sessions(signed_in: Arc<AtomicUsize>) -> cmek_console::api::fake::FakeTransport {
    let fake = fake_with_projects();
    let s = signed_in.clone();
    fake.handle(move |req| {
        (req.path == "/api/ext/v1/session" && req.method == "GET")
            .then(|| if s.load(Ordering::SeqCst) > 0 { (200, SESSION.to_owned()) } else { (401, unauthenticated()) })
    });
    let s = signed_in;
    fake.handle(move |req| {
        (req.path == "/api/ext/v1/session" && req.method == "POST").then(|| {
            let body = req.body.clone().unwrap_or_default();
            if body.contains(r#""token":"one-time""#) || body.contains(r#""password":"right""#) {
                s.fetch_add(1, Ordering::SeqCst);
                (200, SESSION.to_owned())
            } else {
                (401, error_body(ErrorCode::Unauthenticated, "this sign-in link was already used"))
            }
        })
    });
    fake
}

#[wasm_bindgen_test]
async fn signed_out_shows_the_sign_in_page_and_a_password_signs_in() {
    let signed_in = Arc::new(AtomicUsize::new(0));
    let m = mount_at("/", fake_with_sessions(signed_in.clone()));
    m.wait_for("#sign-in-password").await;
    assert!(m.query("table.list").is_none(), "no page of the app before signing in");
    assert!(m.text().contains("console sign-in:"), "the page says where the sign-in link comes from");
    m.type_into("#sign-in-password", "wrong").await;
    m.click("#sign-in").await;
    m.wait_text("already used").await;
    m.type_into("#sign-in-password", "right").await;
    m.click("#sign-in").await;
    m.wait_for("table.list tbody tr").await;
    assert_eq!(signed_in.load(Ordering::SeqCst), 1);
}

#[wasm_bindgen_test]
async fn the_sign_in_link_signs_in_and_leaves_the_address_bar() {
    let signed_in = Arc::new(AtomicUsize::new(0));
    let m = mount_at("/sign-in#token=one-time", fake_with_sessions(signed_in.clone()));
    m.wait_for("table.list tbody tr").await;
    assert_eq!(signed_in.load(Ordering::SeqCst), 1);
    let href = web_sys::window().unwrap().location().href().unwrap();
    assert!(!href.contains("one-time"), "the token is gone from the address bar: {href}");
    let post = m.fake.requests().into_iter().find(|r| r.method == "POST" && r.path == "/api/ext/v1/session").unwrap();
    assert_eq!(post.body.as_deref(), Some(r#"{"token":"one-time"}"#));
}

#[wasm_bindgen_test]
async fn a_session_that_ends_keeps_the_page_and_what_was_typed() {
    let signed_in = Arc::new(AtomicUsize::new(1));
    let fake = fake_with_sessions(signed_in.clone());
    // Creating answers 401 while signed out (the session ended on the server).
    let s = signed_in.clone();
    fake.handle(move |req| {
        (req.method == "POST" && req.path == "/api/v1beta/projects").then(|| {
            if s.load(Ordering::SeqCst) > 1 {
                (200, r#"{"id":"1372813089189560009"}"#.to_owned())
            } else {
                (401, unauthenticated())
            }
        })
    });
    let m = mount_at("/projects/new", fake);
    m.type_into("#project-name", "payments-eu").await;
    m.click("#create-project").await;
    m.wait_for("#session-ended").await;
    assert_eq!(m.value_of("#project-name"), "payments-eu", "the typed name is kept under the sign-in");
    let main = m.wait_for("main").await;
    assert!(main.has_attribute("inert"), "the page under the sign-in cannot be used until signed in again");
    m.type_into("#session-ended #sign-in-password", "right").await;
    m.click("#session-ended #sign-in").await;
    wait_until("the sign-in closes", || m.query("#session-ended").is_none()).await;
    assert_eq!(m.value_of("#project-name"), "payments-eu");
    m.click("#create-project").await;
    wait_until("the project is created", || location_path().ends_with("/clusters")).await;
    // Every change carries the session's anti-CSRF token, and the console marks its requests.
    let creates: Vec<_> =
        m.fake.requests().into_iter().filter(|r| r.method == "POST" && r.path == "/api/v1beta/projects").collect();
    assert!(
        creates.iter().all(|r| r.headers.iter().any(|(n, v)| *n == "x-csrf-token" && v == "csrf-123")),
        "{creates:?}"
    );
    assert!(creates.iter().all(|r| r.headers.iter().any(|(n, v)| *n == "x-cmek-console" && v == "1")));
}

#[wasm_bindgen_test]
async fn retrying_a_create_sends_the_same_idempotency_key() {
    let fake = fake_with_projects();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    fake.handle(move |req| {
        (req.method == "POST" && req.path == "/api/v1beta/projects").then(|| {
            if c.fetch_add(1, Ordering::SeqCst) == 0 {
                (502, "Bad Gateway".to_owned())
            } else {
                (200, r#"{"id":"1372813089189560009"}"#.to_owned())
            }
        })
    });
    let m = mount_at("/projects/new", fake);
    m.type_into("#project-name", "payments-eu").await;
    m.click("#create-project").await;
    m.wait_text("HTTP 502").await;
    assert_eq!(m.value_of("#project-name"), "payments-eu", "nothing typed is lost on an error");
    m.click("#create-project").await;
    wait_until("the project is created", || location_path().ends_with("/clusters")).await;
    let keys: Vec<String> = m
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v1beta/projects")
        .map(|r| r.headers.iter().find(|(n, _)| *n == "idempotency-key").map(|(_, v)| v.clone()).unwrap_or_default())
        .collect();
    assert_eq!(keys.len(), 2);
    assert!(!keys[0].is_empty() && keys[0] == keys[1], "a retry of the same submission reuses its key: {keys:?}");
}

#[wasm_bindgen_test]
async fn a_failing_read_says_so_keeps_trying_and_recovers() {
    let fake = fake_with_projects();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    fake.handle(move |req| {
        req.path.starts_with(&format!("/api/v1beta/projects/{PLAIN_PROJECT}/clusters")).then(|| {
            if c.fetch_add(1, Ordering::SeqCst) == 0 {
                (503, error_body(ErrorCode::Internal, "storage is busy"))
            } else {
                (200, r#"{"items":[],"total":0}"#.to_owned())
            }
        })
    });
    let m = mount_at(&format!("/projects/{PLAIN_PROJECT}/clusters"), fake);
    m.wait_text("storage is busy").await;
    assert!(m.text_of("#retry-note").contains("Trying again in 1 s"), "{}", m.text_of("#retry-note"));
    // The retry happens by itself after a second.
    for _ in 0..300 {
        if m.text().contains("No clusters in this project yet") {
            break;
        }
        sleep(10).await;
    }
    assert!(m.text().contains("No clusters in this project yet"), "{}", m.text());
    assert!(!m.text().contains("storage is busy"), "the error goes once a retry succeeds");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
