//! The answers index.html's loader asked for before the wasm ran (`window.cmekEarly`): the
//! browser transport takes each one once, for a GET of the same path, instead of asking again;
//! it asks itself when there is none, when it answered 401, and for anything but a GET; an early
//! request that failed is that failure. In headless Chromium, against a port where nothing listens (so
//! anything that reaches the network fails).
#![cfg(target_arch = "wasm32")]

use cmek_console::api::{FetchTransport, HttpRequest, NetError, Transport};
use cmek_core::error::{ErrorCode, ErrorResponse};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Nothing listens on port 9 (discard) of loopback in the test browser's machine.
const NOWHERE: &str = "http://127.0.0.1:9";

/// An early request's outcome: a status and a body, or `Err` for a request that failed.
type Outcome<'a> = Result<(u16, &'a str), ()>;

fn early(entries: &[(&str, Outcome<'_>)]) {
    let map = js_sys::Map::new();
    for (path, answer) in entries {
        let promise = match answer {
            Ok((status, body)) => {
                let init = web_sys::ResponseInit::new();
                init.set_status(*status);
                let headers = web_sys::Headers::new().unwrap();
                headers.set("x-ratelimit-reset", "7").unwrap();
                init.set_headers(&headers);
                let res = web_sys::Response::new_with_opt_str_and_init(Some(body), &init).unwrap();
                js_sys::Promise::resolve(&JsValue::from(res))
            }
            Err(()) => js_sys::Promise::reject(&js_sys::TypeError::new("Failed to fetch")),
        };
        map.set(&JsValue::from_str(path), &promise);
    }
    js_sys::Reflect::set(&web_sys::window().unwrap(), &JsValue::from_str("cmekEarly"), &map).unwrap();
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
async fn waiting_for_an_early_answer_can_be_cancelled() {
    // An early request that never answers.
    let map = js_sys::Map::new();
    map.set(&JsValue::from_str("/slow"), &js_sys::Promise::new(&mut |_, _| {}));
    js_sys::Reflect::set(&web_sys::window().unwrap(), &JsValue::from_str("cmekEarly"), &map).unwrap();
    let controller = web_sys::AbortController::new().unwrap();
    let signal = controller.signal();
    let t = FetchTransport::new(NOWHERE.into());
    let pending = t.send(get("/slow"), Some(signal));
    controller.abort();
    assert_eq!(pending.await, Err(NetError::Aborted));
}
