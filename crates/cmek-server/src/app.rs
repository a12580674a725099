//! The whole router: one router per area (utoipa-axum's `OpenApiRouter`, each handler
//! registered once), merged here behind the layers every request passes. Its state is
//! `state.rs`'s `AppState`.

use crate::auth;
use crate::error::ApiError;
use crate::routes;
pub use crate::state::{AppState, catalog};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, Uri, header};
use axum::middleware;
use axum::routing::{any, get};
use cmek_core::ErrorCode;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;

async fn api_not_found(method: Method, uri: Uri) -> ApiError {
    let ops = crate::not_implemented::find(method.as_str(), uri.path());
    if ops.is_empty() {
        return ApiError::new(ErrorCode::RouteNotFound, format!("there is no endpoint {}", uri.path()));
    }
    let named: Vec<String> = ops.iter().map(|(m, p, id)| format!("{id} ({m} {p})")).collect();
    ApiError::new(
        ErrorCode::NotImplemented,
        format!(
            "{} of TiDB Cloud API v1beta {} not implemented by this server; docs/api.md lists what is",
            named.join(", "),
            if named.len() == 1 { "is" } else { "are" }
        ),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, format!("{} is not an operation of {}", method, uri.path()))
}

fn panic_response(_: Box<dyn std::any::Any + Send>) -> axum::response::Response {
    use axum::response::IntoResponse;
    ApiError::internal("the request", "a handler panicked").into_response()
}

/// The API (v1beta and the extensions) behind authentication, the console's sign-in endpoints,
/// and the console; security headers on everything.
pub fn router(state: AppState) -> Router {
    let session = Router::from(auth::session::router()).method_not_allowed_fallback(method_not_allowed);
    let routes = if state.gateway.is_some() { crate::gateway::routes::router() } else { routes::api().into() };
    let api = routes
        .route("/api/ext/v1/openapi.json", get(crate::openapi::serve))
        .route("/api", any(api_not_found))
        .route("/api/", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .method_not_allowed_fallback(method_not_allowed)
        // Innermost last: authenticate, then count, then check the origin, then deduplicate.
        .layer(middleware::from_fn_with_state(state.clone(), auth::idempotency::deduplicate_creates))
        .layer(middleware::from_fn_with_state(state.clone(), auth::origin::refuse_forged_changes))
        .layer(middleware::from_fn_with_state(state.clone(), auth::rate::limit_rate))
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate::authenticate))
        .layer(middleware::from_fn_with_state(state.clone(), auth::rate::refuse_exhausted_key))
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate::refuse_repeated_failures))
        .merge(session)
        .layer(DefaultBodyLimit::max(crate::extract::READ_BODY_BYTES))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    Router::new()
        .merge(api)
        .fallback_service(crate::console::service(&state.args.console_dir))
        .layer(middleware::from_fn_with_state(state.clone(), crate::kms::aws_api::intercept))
        .layer(middleware::from_fn_with_state(state.clone(), crate::cors::refuse_cookies_from_other_origins))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(crate::cors::layer(&state.args.allowed_origins))
        .layer(middleware::from_fn_with_state(state.clone(), auth::hosts::check_host))
        .layer(middleware::from_fn_with_state(state.clone(), auth::headers::security_headers))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    /// The console shows a region as its place and code ("Oregon (us-west-2)"): a region added to
    /// the catalog without a place in cmek-core's table would be shown as a bare code.
    #[test]
    fn every_catalog_region_has_a_place() {
        let unnamed: Vec<String> = super::catalog()
            .items
            .into_iter()
            .map(|r| r.region)
            .filter(|code| cmek_core::region::place(code).is_none())
            .collect();
        assert!(unnamed.is_empty(), "add these regions to cmek_core::region::place: {unnamed:?}");
    }
}
