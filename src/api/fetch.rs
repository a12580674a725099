//! The browser transport (gloo-net's fetch), the runtime base URL, the timeout and the
//! cancel-on-cleanup behaviour shared by every request, and the answers index.html's loader
//! already asked for.

use super::{BoxFuture, HttpRequest, HttpResponse, NetError, RequestError, Transport, timeout};
use crate::reachability::{Cause, diagnose};
use gloo_net::http::{Method, RequestBuilder};
use send_wrapper::SendWrapper;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::RequestCredentials;

/// Sends with fetch to `base` + path.
pub struct FetchTransport {
    base: String,
}

impl FetchTransport {
    pub fn new(base: String) -> Self {
        Self { base }
    }
}

/// The content of `<meta name="…">` in index.html: runtime configuration of a static build.
pub fn meta(name: &str) -> Option<String> {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(&format!("meta[name='{name}']")).ok().flatten())
        .and_then(|m| m.get_attribute("content"))
        .map(|s| s.trim().to_owned())
}

/// The base URL from `<meta name="cmek-api-base" content="…">`; empty means this origin.
pub fn configured_base() -> String {
    meta("cmek-api-base").map(|s| s.trim_end_matches('/').to_owned()).unwrap_or_default()
}

/// `base` as an absolute URL (a relative base is this page's origin).
pub fn absolute(base: &str) -> String {
    if base.starts_with("http://") || base.starts_with("https://") {
        return base.to_owned();
    }
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    format!("{origin}{base}")
}

fn method(m: &str) -> Method {
    match m {
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        _ => Method::GET,
    }
}

/// How long after navigation start an early answer may still be used: past this it is asked
/// again rather than shown stale (a load that slow has lost its round trips anyway).
const EARLY_MAX_AGE_MS: f64 = 60_000.0;

/// The request index.html's loader started for `path` (`window.cmekEarly`, a `Map` from path to
/// the promise of an [`EarlyAnswer`]): taken once, so the next ask of the same path is a new
/// request.
fn take_early(path: &str) -> Option<js_sys::Promise> {
    let window = web_sys::window()?;
    let early = js_sys::Reflect::get(&window, &JsValue::from_str("cmekEarly")).ok()?.dyn_into::<js_sys::Map>().ok()?;
    if window.performance().is_some_and(|p| p.now() > EARLY_MAX_AGE_MS) {
        early.clear();
        return None;
    }
    let key = JsValue::from_str(path);
    let promise = early.get(&key).dyn_into::<js_sys::Promise>().ok()?;
    early.delete(&key);
    Some(promise)
}

/// What the loader keeps of an answer: `{ status, reset, text }`, where `reset` is the
/// `x-ratelimit-reset` header (or null) and `text` the promise of the body, which the loader
/// starts reading as the answer arrives. A `Response` would have its body read only when taken,
/// which waits for another task; this way a first screen whose answers are all in renders in
/// the task that starts the console, and paints once (docs/performance.md).
struct EarlyAnswer {
    status: u16,
    rate_limit_reset: Option<u64>,
    text: js_sys::Promise,
}

impl EarlyAnswer {
    /// `None` for anything not of the loader's shape (then the console asks itself).
    fn read(value: &JsValue) -> Option<Self> {
        let field = |name: &str| js_sys::Reflect::get(value, &JsValue::from_str(name)).ok();
        let status = field("status")?.as_f64().filter(|s| (100.0..600.0).contains(s))? as u16;
        let rate_limit_reset = field("reset")?.as_string().and_then(|v| v.trim().parse().ok());
        let text = field("text")?.dyn_into::<js_sys::Promise>().ok()?;
        Some(Self { status, rate_limit_reset, text })
    }
}

/// The answer to an early request, or `Ok(None)` to ask again when it was a 401 (it may predate a
/// sign-in; a 401 of the session check is asked again and then shows the sign-in as before). A
/// request that failed is that failure, diagnosed as the regular path does: asking again would
/// hide a connection that broke (e2e `faults` expects it said, then recovered by polling).
async fn early_answer(
    promise: js_sys::Promise,
    base: &str,
    abort: Option<&web_sys::AbortSignal>,
) -> Result<Option<HttpResponse>, NetError> {
    // The early request itself cannot be cancelled; waiting for it can (timeout, page left).
    let is_aborted = || abort.is_some_and(|a| a.aborted());
    if is_aborted() {
        return Err(NetError::Aborted);
    }
    let aborted = js_sys::Promise::new(&mut |_, reject| {
        if let Some(a) = abort {
            let _ = a.add_event_listener_with_callback("abort", &reject);
        }
    });
    let abortable = |p: &js_sys::Promise| JsFuture::from(js_sys::Promise::race(&js_sys::Array::of2(p, &aborted)));
    let answer = match abortable(&promise).await {
        Ok(a) => a,
        Err(_) if is_aborted() => return Err(NetError::Aborted),
        Err(e) => return Err(NetError::Unreachable(diagnose(base, js_why(&e)).await.sentence())),
    };
    let Some(answer) = EarlyAnswer::read(&answer) else { return Ok(None) };
    if answer.status == 401 {
        return Ok(None);
    }
    let broken = |why: String| NetError::Unreachable(Cause::Network { why }.sentence());
    match abortable(&answer.text).await.map(|t| t.as_string()) {
        Ok(Some(body)) => {
            Ok(Some(HttpResponse { status: answer.status, body, rate_limit_reset: answer.rate_limit_reset }))
        }
        _ if is_aborted() => Err(NetError::Aborted),
        Ok(None) => Err(broken("the answer was not text".to_owned())),
        Err(e) => Err(broken(js_why(&e))),
    }
}

/// What a rejected fetch promise says (a `TypeError`'s message, usually "Failed to fetch").
fn js_why(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the request failed".to_owned())
}

impl Transport for FetchTransport {
    fn send(&self, req: HttpRequest, abort: Option<web_sys::AbortSignal>) -> BoxFuture<Result<HttpResponse, NetError>> {
        let url = format!("{}{}", self.base, req.path);
        let base = self.base.clone();
        Box::pin(async move {
            if req.method == "GET"
                && let Some(early) = take_early(&req.path)
                && let Some(res) = early_answer(early, &base, abort.as_ref()).await?
            {
                return Ok(res);
            }
            let network = |why: String| NetError::Unreachable(Cause::Network { why }.sentence());
            // `include`: the session cookie goes along when the API is another origin of the same
            // site (a static host beside the API); the server's CORS names the origins it trusts.
            let mut builder = RequestBuilder::new(&url)
                .method(method(req.method))
                .credentials(RequestCredentials::Include)
                .header("accept", "application/json")
                .abort_signal(abort.as_ref());
            for (name, value) in &req.headers {
                builder = builder.header(name, value);
            }
            let request = match req.body {
                Some(body) => builder.header("content-type", "application/json").body(body),
                None => builder.build(),
            }
            .map_err(|e| network(e.to_string()))?;
            let res = match request.send().await {
                Ok(res) => res,
                Err(_) if abort.as_ref().is_some_and(|a| a.aborted()) => return Err(NetError::Aborted),
                Err(e) => return Err(NetError::Unreachable(diagnose(&base, e.to_string()).await.sentence())),
            };
            let status = res.status();
            let rate_limit_reset = res.headers().get("x-ratelimit-reset").and_then(|v| v.trim().parse().ok());
            let body = res.text().await.map_err(|e| network(e.to_string()))?;
            Ok(HttpResponse { status, body, rate_limit_reset })
        })
    }
}

/// Sends `req`, aborting it after [`timeout()`] or when the reactive owner that asked (the page)
/// is cleaned up.
pub async fn send_with_timeout(transport: &dyn Transport, req: HttpRequest) -> Result<HttpResponse, RequestError> {
    let controller = web_sys::AbortController::new().ok();
    let signal = controller.as_ref().map(|c| c.signal());
    let timed_out = Rc::new(Cell::new(false));
    let timer = controller.clone().and_then(|c| {
        let flag = Rc::clone(&timed_out);
        leptos::prelude::set_timeout_with_handle(
            move || {
                flag.set(true);
                c.abort();
            },
            timeout(),
        )
        .ok()
    });
    if let Some(c) = controller {
        let c = SendWrapper::new(c);
        leptos::prelude::on_cleanup(move || {
            // The owner may be dropped on another tick; SendWrapper only checks the thread.
            if c.valid() {
                c.abort();
            }
        });
    }
    let out = transport.send(req, signal).await;
    if let Some(t) = timer {
        t.clear();
    }
    match out {
        Ok(res) => Ok(res),
        Err(NetError::Aborted) if timed_out.get() => Err(RequestError::Timeout),
        Err(NetError::Aborted) => Err(RequestError::Aborted),
        Err(NetError::Unreachable(why)) => Err(RequestError::Unreachable(why)),
    }
}
