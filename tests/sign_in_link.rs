//! The sign-in link's token stays in the address bar until it has signed in, so a refused
//! attempt (a 429 while someone else's failures are counted) can be retried from the same page
//! — in headless Chromium against the fake API.
#![cfg(target_arch = "wasm32")]

mod common;
use cmek_core::error::ErrorCode;
use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const SESSION: &str = r#"{"csrf_token":"csrf-123","expires_at":1900000000}"#;

#[wasm_bindgen_test]
async fn a_refused_link_sign_in_keeps_the_token_and_can_be_retried() {
    let posts = Arc::new(AtomicUsize::new(0));
    let fake = fake_with_projects();
    let p = posts.clone();
    fake.handle(move |req| {
        (req.path == "/api/ext/v1/session" && req.method == "GET").then(|| {
            if p.load(Ordering::SeqCst) > 1 {
                (200, SESSION.to_owned())
            } else {
                (401, error_body(ErrorCode::Unauthenticated, "not signed in"))
            }
        })
    });
    let p = posts.clone();
    fake.handle(move |req| {
        (req.path == "/api/ext/v1/session" && req.method == "POST").then(|| {
            // The first attempt is refused (429), the second signs in.
            if p.fetch_add(1, Ordering::SeqCst) == 0 {
                (429, error_body(ErrorCode::RateLimited, "too many failed sign-ins from 127.0.0.1: try again in 60 s"))
            } else {
                (200, SESSION.to_owned())
            }
        })
    });
    let m = mount_at("/sign-in#token=one-time", fake);
    m.wait_text("try again in 60 s").await;
    let href = web_sys::window().unwrap().location().href().unwrap();
    assert!(href.contains("#token=one-time"), "a refused token stays in the address bar: {href}");
    // No password typed: "Sign in" tries the link's token again.
    m.click("#sign-in").await;
    m.wait_for("table.list tbody tr").await;
    assert_eq!(posts.load(Ordering::SeqCst), 2);
    let href = web_sys::window().unwrap().location().href().unwrap();
    assert!(!href.contains("one-time"), "once signed in, the token is gone from the address bar: {href}");
    let bodies: Vec<_> = m
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/api/ext/v1/session")
        .map(|r| r.body.unwrap_or_default())
        .collect();
    assert_eq!(bodies, vec![r#"{"token":"one-time"}"#.to_owned(), r#"{"token":"one-time"}"#.to_owned()]);
}
