//! An in-memory [`Transport`] for the browser tests: answers from handlers registered per
//! method and path, records every request so a test can assert what the page sent, and can hold
//! answers back to show what a page does (and sends) meanwhile.

use super::{BoxFuture, HttpRequest, HttpResponse, NetError, Transport};
use send_wrapper::SendWrapper;
use std::sync::{Arc, Mutex};

type Handler = Box<dyn Fn(&HttpRequest) -> Option<(u16, String)> + Send + Sync>;
/// (method, path without the query, the gate its answers wait for).
type Held = (&'static str, String, Gate);

/// Routes by exact method and path (without the query), first match wins; unmatched requests
/// answer 404 with an `ErrorResponse`, as a plain v1beta server would for an extension.
#[derive(Clone, Default)]
pub struct FakeTransport {
    handlers: Arc<Mutex<Vec<Handler>>>,
    log: Arc<Mutex<Vec<HttpRequest>>>,
    held: Arc<Mutex<Vec<Held>>>,
}

/// Answers held back until [`Gate::release`] (see [`FakeTransport::hold`]).
#[derive(Clone)]
pub struct Gate(Arc<Mutex<GateState>>);

struct GateState {
    open: bool,
    // JavaScript values never leave the browser's one thread; the wrapper only satisfies the
    // `Send` bound of the transport's shared state.
    promise: SendWrapper<js_sys::Promise>,
    resolve: SendWrapper<js_sys::Function>,
}

impl Gate {
    fn new() -> Self {
        let mut resolve = None;
        let promise = js_sys::Promise::new(&mut |r, _| resolve = Some(r));
        let resolve = resolve.expect("the Promise executor runs at once");
        Self(Arc::new(Mutex::new(GateState {
            open: false,
            promise: SendWrapper::new(promise),
            resolve: SendWrapper::new(resolve),
        })))
    }

    /// Lets every held request (and every later one) be answered.
    pub fn release(&self) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g.open = true;
        let _ = g.resolve.call0(&wasm_bindgen::JsValue::NULL);
    }

    /// What to wait for, or `None` once released.
    fn wait(&self) -> Option<js_sys::Promise> {
        let g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        (!g.open).then(|| (*g.promise).clone())
    }
}

impl FakeTransport {
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers `method path` with `status` and the JSON `body`.
    pub fn on(&self, method: &'static str, path: &str, status: u16, body: serde_json::Value) -> &Self {
        let path = path.to_owned();
        let body = body.to_string();
        self.handle(move |req| (req.method == method && path_of(&req.path) == path).then(|| (status, body.clone())))
    }

    /// A handler that may look at the request (e.g. its body); `None` passes it on.
    pub fn handle(&self, f: impl Fn(&HttpRequest) -> Option<(u16, String)> + Send + Sync + 'static) -> &Self {
        self.handlers.lock().unwrap_or_else(|p| p.into_inner()).insert(0, Box::new(f));
        self
    }

    /// Holds the answers to `method path` (without the query) until the returned gate is
    /// released; the request is recorded at once.
    pub fn hold(&self, method: &'static str, path: &str) -> Gate {
        let gate = Gate::new();
        self.held.lock().unwrap_or_else(|p| p.into_inner()).push((method, path.to_owned(), gate.clone()));
        gate
    }

    /// Every request sent so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn path_of(p: &str) -> &str {
    p.split('?').next().unwrap_or(p)
}

impl Transport for FakeTransport {
    fn send(
        &self,
        req: HttpRequest,
        _abort: Option<web_sys::AbortSignal>,
    ) -> BoxFuture<Result<HttpResponse, NetError>> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).push(req.clone());
        let gate = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(m, p, _)| *m == req.method && p == path_of(&req.path))
            .and_then(|(_, _, g)| g.wait());
        let this = self.clone();
        Box::pin(async move {
            if let Some(p) = gate {
                let _ = wasm_bindgen_futures::JsFuture::from(p).await;
            }
            // Answered as things are when the answer goes out.
            let answer = this.handlers.lock().unwrap_or_else(|p| p.into_inner()).iter().find_map(|h| h(&req));
            let (status, body) = answer.unwrap_or_else(|| {
                let message = format!("fake: no handler for {} {}", req.method, req.path);
                let refusal = cmek_core::error::ErrorResponse::new(cmek_core::error::ErrorCode::RouteNotFound, message);
                (404, serde_json::to_string(&refusal).expect("an error serialises"))
            });
            Ok(HttpResponse { status, body, rate_limit_reset: None })
        })
    }
}
