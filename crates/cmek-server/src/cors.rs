//! The console served from another origin (a static host): CORS for exactly the origins named by
//! `--allowed-origin` (the same list the CSRF `Origin` check trusts), with credentials so the
//! session cookie goes along. Any other origin gets no `Access-Control-Allow-Origin`, so its
//! preflight and its reads fail in the browser; and a request that carries a session cookie and
//! an `Origin` this server does not trust is refused outright (a page of another origin on the
//! same site, e.g. another port, would otherwise get its GETs answered, if unreadable).

use crate::auth::CSRF_HEADER;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cmek_core::ErrorCode;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may reuse a preflight's answer (Chromium caps it at 2 hours).
pub const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(2 * 3600);

/// The request headers the console sends (`src/api`): besides the CORS-safelisted ones.
const REQUEST_HEADERS: [&str; 5] = ["content-type", "accept", CSRF_HEADER, "idempotency-key", "x-cmek-console"];

/// The answer headers the console reads.
const EXPOSED_HEADERS: [&str; 4] = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after"];

/// CORS for `origins` (already normalised by `config.rs`: lowercase, no trailing slash).
pub fn layer(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers(REQUEST_HEADERS.map(HeaderName::from_static))
        .expose_headers(EXPOSED_HEADERS.map(HeaderName::from_static))
        .max_age(PREFLIGHT_MAX_AGE)
}

/// Whether the request carries this server's session cookie (named as `--secure-cookies` says).
fn has_session_cookie(req: &Request, secure: bool) -> bool {
    let prefix = format!("{}=", crate::auth::session::cookie_name(secure));
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(';').any(|c| c.trim_start().starts_with(&prefix)))
}

/// Refuses a request with the session cookie from a page of an origin that is neither this
/// server's nor one of `--allowed-origin`.
pub async fn refuse_cookies_from_other_origins(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if has_session_cookie(&req, s.args.secure_cookies) && s.auth.origins.check_origin_if_present(req.headers()).is_err()
    {
        let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let allowed =
            if s.args.allowed_origins.is_empty() { "none".to_owned() } else { s.args.allowed_origins.join(", ") };
        return ApiError::new(
            ErrorCode::PermissionDenied,
            format!(
                "a request with a console session from pages of {origin} is refused: that origin is not this server's, and --allowed-origin names {allowed}"
            ),
        )
        .into_response();
    }
    next.run(req).await
}
