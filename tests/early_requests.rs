//! The answers index.html's loader asked for before the wasm ran (`window.cmekEarly`): the
//! browser transport takes each one once, for a GET of the same path, instead of asking again;
//! it asks itself when there is none, when it answered 401, and for anything but a GET; an early
//! request that failed is that failure. In headless Chromium, against a port where nothing listens (so
//! anything that reaches the network fails).
#![cfg(target_arch = "wasm32")]

use cmek_console::api::{FetchTransport, HttpRequest, NetError, Transport};
use cmek_core::error::{ErrorCode, ErrorResponse};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Nothing listens on port 9 (discard) of loopback in the test browser's machine.
const NOWHERE: &str = "http://127.0.0.1:9";

/// An early request's outcome: a status and a body, or `Err` for a request that failed.
type Outcome<'a> = Result<(u16, &'a str), ()>;

/// What index.html's loader keeps of an answer: `{ status, reset, text }`, `text` the promise of
/// the body it started reading.
fn answer(status: u16, text: js_sys::Promise) -> js_sys::Promise {
    let a = js_sys::Object::new();
    js_sys::Reflect::set(&a, &"status".into(), &JsValue::from(status)).unwrap();
    js_sys::Reflect::set(&a, &"reset".into(), &JsValue::from_str("7")).unwrap();
    js_sys::Reflect::set(&a, &"text".into(), &text).unwrap();
    js_sys::Promise::resolve(&JsValue::from(a))
}

fn set_early(entries: &[(&str, js_sys::Promise)]) {
    let map = js_sys::Map::new();
    for (path, promise) in entries {
        map.set(&JsValue::from_str(path), promise);
    }
    js_sys::Reflect::set(&web_sys::window().unwrap(), &JsValue::from_str("cmekEarly"), &map).unwrap();
}

fn early(entries: &[(&str, Outcome<'_>)]) {
    let entries: Vec<_> = entries
        .iter()
        .map(|(path, outcome)| {
            let promise = match outcome {
                Ok((status, body)) => answer(*status, js_sys::Promise::resolve(&JsValue::from_str(body))),
                Err(()) => js_sys::Promise::reject(&js_sys::TypeError::new("Failed to fetch")),
            };
            (*path, promise)
        })
        .collect();
    set_early(&entries);
}

fn get(path: &str) -> HttpRequest {
    HttpRequest { method: "GET", path: path.into(), body: None, headers: Vec::new() }
}

#[wasm_bindgen_test]
async fn an_early_answer_is_taken_once_for_a_get_of_its_path() {
    early(&[("/api/v1beta/projects?page=1&page_size=10", Ok((200, r#"{"items":[],"total":0}"#)))]);
    let t = FetchTransport::new(NOWHERE.into());
    let res = t.send(get("/api/v1beta/projects?page=1&page_size=10"), None).await.expect("the early answer");
    assert_eq!((res.status, res.body.as_str(), res.rate_limit_reset), (200, r#"{"items":[],"total":0}"#, Some(7)));
    // Taken: the next ask goes to the network (nothing there).
    let again = t.send(get("/api/v1beta/projects?page=1&page_size=10"), None).await;
    assert!(matches!(again, Err(NetError::Unreachable(_))), "{again:?}");
    // Another path is not answered from it either.
    early(&[("/api/ext/v1/session", Ok((200, "{}")))]);
    let other = t.send(get("/api/ext/v1/server-info"), None).await;
    assert!(matches!(other, Err(NetError::Unreachable(_))), "{other:?}");
}

#[wasm_bindgen_test]
async fn an_error_answer_other_than_401_is_taken_as_it_is() {
    early(&[("/api/ext/v1/server-info", Ok((404, "not here")))]);
    let res = FetchTransport::new(NOWHERE.into()).send(get("/api/ext/v1/server-info"), None).await.expect("taken");
    assert_eq!((res.status, res.body.as_str()), (404, "not here"));
}

#[wasm_bindgen_test]
async fn a_401_and_a_post_ask_again_and_a_failed_early_request_is_its_failure() {
    let t = FetchTransport::new(NOWHERE.into());
    // A 401 may predate a sign-in: asked again.
    let signed_out = serde_json::to_string(&ErrorResponse::new(ErrorCode::Unauthenticated, "sign in")).unwrap();
    early(&[("/api/ext/v1/session", Ok((401, &signed_out)))]);
    let res = t.send(get("/api/ext/v1/session"), None).await;
    assert!(matches!(res, Err(NetError::Unreachable(_))), "{res:?}");
    // A failed early request: its failure, diagnosed as the regular path would.
    early(&[("/api/ext/v1/session", Err(()))]);
    let res = t.send(get("/api/ext/v1/session"), None).await;
    assert!(matches!(res, Err(NetError::Unreachable(_))), "{res:?}");
    // Only GETs.
    early(&[("/api/ext/v1/session", Ok((200, "{}")))]);
    let post =
        HttpRequest { method: "POST", path: "/api/ext/v1/session".into(), body: Some("{}".into()), headers: vec![] };
    let res = t.send(post, None).await;
    assert!(matches!(res, Err(NetError::Unreachable(_))), "{res:?}");
}

#[wasm_bindgen_test]
async fn an_answer_whose_body_is_in_is_taken_without_waiting_for_another_task() {
    // What lets a first screen whose answers are all in render in one task, and paint once.
    early(&[("/api/ext/v1/server-info", Ok((200, "{}")))]);
    let taken = Rc::new(Cell::new(false));
    let flag = Rc::clone(&taken);
    wasm_bindgen_futures::spawn_local(async move {
        let res = FetchTransport::new(NOWHERE.into()).send(get("/api/ext/v1/server-info"), None).await;
        assert_eq!(res.map(|r| r.status), Ok(200));
        flag.set(true);
    });
    next_task().await;
    assert!(taken.get(), "the early answer was taken only after another task");
}

#[wasm_bindgen_test]
async fn a_body_that_breaks_off_is_said_and_anything_not_of_the_loaders_shape_is_asked_again() {
    let t = FetchTransport::new(NOWHERE.into());
    let broken = js_sys::Promise::reject(&js_sys::TypeError::new("network error"));
    set_early(&[("/api/ext/v1/server-info", answer(200, broken))]);
    match t.send(get("/api/ext/v1/server-info"), None).await {
        Err(NetError::Unreachable(why)) => assert!(why.contains("network error"), "{why}"),
        other => panic!("a body that broke off: {other:?}"),
    }
    // A Response (or anything but `{ status, reset, text }`) is not taken: asked again, here
    // where nothing listens.
    let res = web_sys::Response::new_with_opt_str(Some("{}")).unwrap();
    set_early(&[("/api/ext/v1/server-info", js_sys::Promise::resolve(&JsValue::from(res)))]);
    let again = t.send(get("/api/ext/v1/server-info"), None).await;
    assert!(matches!(again, Err(NetError::Unreachable(_))), "{again:?}");
}

/// Resolves in a later task (a 0 ms timer), after every microtask queued before it.
async fn next_task() {
    let timer = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window().unwrap().set_timeout_with_callback(&resolve).unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(timer).await.unwrap();
}

#[wasm_bindgen_test]
async fn waiting_for_an_early_answer_can_be_cancelled() {
    // An early request that never answers.
    set_early(&[("/slow", js_sys::Promise::new(&mut |_, _| {}))]);
    let controller = web_sys::AbortController::new().unwrap();
    let signal = controller.signal();
    let t = FetchTransport::new(NOWHERE.into());
    let pending = t.send(get("/slow"), Some(signal));
    controller.abort();
    assert_eq!(pending.await, Err(NetError::Aborted));
}
