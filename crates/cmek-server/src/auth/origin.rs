//! Cross-site request forgery: which origins may make changes. A change made with a console
//! session needs the session's `X-CSRF-Token` and this server's `Origin`; a change made with an
//! API key from a browser (it carries an `Origin`) must come from this server's pages too.

use super::authenticate::credential_of;
use super::{CSRF_HEADER, Credential, digest, hosts::Hosts};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cmek_core::ErrorCode;
use std::sync::Arc;

/// This server's own origins (from the names it answers to) and the other allowed ones
/// (`--allowed-origin`).
pub struct Origins {
    hosts: Arc<Hosts>,
    allowed_origins: Vec<String>,
}

impl FromRef<AppState> for Arc<Origins> {
    fn from_ref(s: &AppState) -> Self {
        Arc::clone(&s.auth.origins)
    }
}

impl Origins {
    pub fn new(hosts: Arc<Hosts>, allowed_origins: Vec<String>) -> Self {
        Self { hosts, allowed_origins }
    }

    /// This server's own origins (from the Host allow-list, never the request's Host), and
    /// the other allowed ones.
    fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        self.hosts.origin_allowed(&origin) || self.allowed_origins.contains(&origin)
    }

    /// This server's origin, as messages name it.
    pub fn own_origin(&self) -> String {
        self.hosts.primary_origin()
    }

    /// A request that carries an `Origin` must come from this server's pages.
    pub fn check_origin_if_present(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        match headers.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("")) {
            Some(o) if !self.origin_allowed(o) => Err(ApiError::new(
                ErrorCode::PermissionDenied,
                format!(
                    "requests from pages of another origin ({o}) are refused; this server's origin is {}",
                    self.own_origin()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// A change (any method but GET and HEAD): with a session, it needs the session's
    /// `X-CSRF-Token` and this server's `Origin`; with an API key, an `Origin` (a browser) must
    /// be this server's.
    pub fn check_change(&self, method: &Method, headers: &HeaderMap, cred: &Credential) -> Result<(), ApiError> {
        if method == Method::GET || method == Method::HEAD {
            return Ok(());
        }
        let Credential::Session { csrf_token, .. } = cred else {
            return self.check_origin_if_present(headers);
        };
        let own = self.own_origin();
        let mut missing = Vec::new();
        match headers.get(CSRF_HEADER).map(|v| v.as_bytes()) {
            None => missing
                .push("the X-CSRF-Token header (the csrf_token of GET /api/ext/v1/session) is missing".to_owned()),
            Some(t) if !digest::ct_eq(t, csrf_token.as_bytes()) => {
                missing.push("the X-CSRF-Token header does not match this session's csrf_token".to_owned())
            }
            Some(_) => {}
        }
        match headers.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("")) {
            None => missing.push(format!("the Origin header is missing (it must be {own})")),
            Some(o) if !self.origin_allowed(o) => missing.push(format!("the Origin header is {o}, not {own}")),
            Some(_) => {}
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::PermissionDenied,
                format!("a change made with a console session is refused: {}", missing.join("; ")),
            ))
        }
    }
}

/// The layer after authentication (and the rate limit): a change that breaks
/// [`Origins::check_change`] is refused with a 403.
pub async fn refuse_forged_changes(State(origins): State<Arc<Origins>>, req: Request, next: Next) -> Response {
    let checked = match credential_of(&req) {
        Some(cred) => origins.check_change(req.method(), req.headers(), cred),
        None => Err(ApiError::internal("the request", "the origin check ran before authentication")),
    };
    match checked {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::middleware::from_fn_with_state;
    use axum::routing::post;
    use tower::ServiceExt;

    fn origins(public: &[&str], secure: bool, allowed: &[&str]) -> Origins {
        let names: Vec<String> = public.iter().map(|s| (*s).to_owned()).collect();
        Origins::new(
            Arc::new(Hosts::new("127.0.0.1:8080".parse().unwrap(), &names, secure)),
            allowed.iter().map(|s| (*s).to_owned()).collect(),
        )
    }

    use crate::auth::tests::headers;

    #[test]
    fn csrf_and_origin_rules() {
        let a = origins(&[], false, &[]);
        let session = Credential::Session { id_hash: "h".into(), csrf_token: "csrf".into() };
        let key = Credential::ApiKey { public_key: "K".into() };
        let good =
            headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080"), ("x-csrf-token", "csrf")]);
        assert!(a.check_change(&Method::POST, &good, &session).is_ok());
        assert!(a.check_change(&Method::GET, &headers(&[]), &session).is_ok(), "reads need neither");
        let e = a.check_change(&Method::DELETE, &headers(&[("host", "h:1")]), &session).unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::PermissionDenied));
        assert!(e.body.message.contains("X-CSRF-Token") && e.body.message.contains("Origin"), "{}", e.body.message);
        let wrong = headers(&[("origin", "http://127.0.0.1:8080"), ("x-csrf-token", "other")]);
        let e = a.check_change(&Method::PATCH, &wrong, &session).unwrap_err();
        assert!(e.body.message.contains("does not match") && !e.body.message.contains("Origin"), "{}", e.body.message);
        let foreign = headers(&[("host", "h:1"), ("origin", "http://evil.example"), ("x-csrf-token", "csrf")]);
        let e = a.check_change(&Method::PUT, &foreign, &session).unwrap_err();
        assert!(e.body.message.contains("http://evil.example"), "{}", e.body.message);
        // An API key: no CSRF token, but a browser's foreign Origin is refused.
        assert!(a.check_change(&Method::POST, &headers(&[("host", "h:1")]), &key).is_ok());
        assert!(a.check_change(&Method::POST, &foreign, &key).is_err());
        // The own origin comes from the names the server is reached under, never from Host:
        // a rebinding page's Host and Origin agree with each other, and are still refused.
        let rebound =
            headers(&[("host", "evil.example:8080"), ("origin", "http://evil.example:8080"), ("x-csrf-token", "csrf")]);
        assert!(a.check_change(&Method::POST, &rebound, &session).is_err());
        let own = headers(&[("origin", "http://localhost:8080"), ("x-csrf-token", "csrf")]);
        assert!(a.check_change(&Method::POST, &own, &session).is_ok());
        // Behind TLS the origin is https; other origins can be allowed.
        let tls = origins(&["h:1"], true, &["http://127.0.0.1:8081"]);
        let plain = headers(&[("host", "h:1"), ("origin", "http://h:1"), ("x-csrf-token", "csrf")]);
        assert!(tls.check_change(&Method::POST, &plain, &session).is_err());
        let https = headers(&[("host", "h:1"), ("origin", "https://h:1"), ("x-csrf-token", "csrf")]);
        assert!(tls.check_change(&Method::POST, &https, &session).is_ok());
        let dev = headers(&[("host", "h:1"), ("origin", "http://127.0.0.1:8081"), ("x-csrf-token", "csrf")]);
        assert!(tls.check_change(&Method::POST, &dev, &session).is_ok());
    }

    #[tokio::test]
    async fn the_layer_refuses_a_session_change_without_its_token() {
        let session = Credential::Session { id_hash: "h".into(), csrf_token: "csrf".into() };
        let app = Router::new()
            .route("/api/x", post(|| async { "changed" }))
            .layer(from_fn_with_state(Arc::new(origins(&[], false, &[])), refuse_forged_changes))
            .layer(axum::Extension(session));
        let bare = Request::post("/api/x").body(Body::empty()).unwrap();
        assert_eq!(app.clone().oneshot(bare).await.unwrap().status(), 403);
        let signed = Request::post("/api/x")
            .header("origin", "http://127.0.0.1:8080")
            .header("x-csrf-token", "csrf")
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.oneshot(signed).await.unwrap().status(), 200);
    }
}
