//! An in-memory [`Transport`] for the browser tests: answers from handlers registered per
//! method and path, and records every request so a test can assert what the page sent.

use super::{BoxFuture, HttpRequest, HttpResponse, NetError, Transport};
use std::sync::{Arc, Mutex};

type Handler = Box<dyn Fn(&HttpRequest) -> Option<(u16, String)> + Send + Sync>;

/// Routes by exact method and path (without the query), first match wins; unmatched requests
/// answer 404 with an `ErrorResponse`, as a plain v1beta server would for an extension.
#[derive(Clone, Default)]
pub struct FakeTransport {
    handlers: Arc<Mutex<Vec<Handler>>>,
    log: Arc<Mutex<Vec<HttpRequest>>>,
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
        let answer = self.handlers.lock().unwrap_or_else(|p| p.into_inner()).iter().find_map(|h| h(&req));
        let (status, body) = answer.unwrap_or_else(|| {
            (
                404,
                format!(
                    r#"{{"code":49950003,"message":"fake: no handler for {} {}","details":[]}}"#,
                    req.method, req.path
                ),
            )
        });
        Box::pin(async move { Ok(HttpResponse { status, body, rate_limit_reset: None }) })
    }
}
