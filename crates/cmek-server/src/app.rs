//! The shared state and the whole router: one router function per area, merged here.

use crate::auth::{self, Auth};
use crate::config::ServeArgs;
use crate::db::Db;
use crate::error::ApiError;
use crate::keys::KeyService;
use crate::kms::sandbox::SandboxKms;
use crate::routes;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, Uri, header};
use axum::middleware;
use axum::routing::{any, get};
use cmek_core::ErrorCode;
use cmek_core::api::ListProviderRegionsResp;
use cmek_core::lifecycle::Durations;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: Arc<Db>,
    pub catalog: ListProviderRegionsResp,
    pub keys: KeyService,
    pub sandbox: Arc<SandboxKms>,
    /// The sandbox's AWS KMS endpoint (`POST /`), which the key checks also reach in sandbox mode.
    pub aws_kms: Arc<crate::kms::aws_api::AwsEndpoint>,
    pub durations: Durations,
    pub args: ServeArgs,
    pub auth: Auth,
    pub cluster_lists: crate::list_cache::ListCache,
    /// Gateway mode: v1beta is served by this upstream (see `gateway`).
    pub gateway: Option<Arc<crate::gateway::Gateway>>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The provider catalog this server offers (`GET /api/v1beta/clusters/provider/regions`).
pub fn catalog() -> ListProviderRegionsResp {
    serde_json::from_str(include_str!("catalog.json")).expect("catalog.json is checked by a test")
}

impl AppState {
    /// `gateway`: gateway mode (then the sandbox KMS is not used to check keys).
    pub fn new(db: Arc<Db>, mut args: ServeArgs, auth: Auth, gateway: Option<Arc<crate::gateway::Gateway>>) -> Self {
        db.set_before_write(|tx| crate::routes::clusters::settle_due(tx, crate::clock::now_ms()).map(drop));
        let sandbox_account = args.sandbox_account.0.clone().unwrap_or_else(|| "111122223333".to_owned());
        let sandbox = Arc::new(SandboxKms::new(Arc::clone(&db), sandbox_account));
        let aws_kms = Arc::new(crate::kms::aws_api::AwsEndpoint::new(sandbox.clone(), args.kms.sandbox_credentials()));
        // A gateway manages the organisation's real keys: the sandbox cannot know them, so its
        // key checks ask AWS KMS when --kms aws says so, and say they cannot check otherwise.
        let kms: Arc<dyn crate::kms::Kms> = match (&gateway, args.kms.kms) {
            (Some(_), crate::kms::KmsChoice::Sandbox) => Arc::new(crate::gateway::NoKms),
            _ => args.kms.port(Arc::clone(&aws_kms)),
        };
        let keys = KeyService::new(kms, Arc::clone(&db), args.service_account.0.clone());
        let ms = (args.transition_secs * 1000.0).round() as i64;
        Self(Arc::new(Inner {
            db,
            catalog: catalog(),
            keys,
            sandbox,
            aws_kms,
            durations: Durations::uniform(ms),
            args,
            auth,
            cluster_lists: Default::default(),
            gateway,
        }))
    }

    /// The AWS regions Dedicated clusters run in: where a CMEK key may be configured.
    pub fn cmek_regions(&self) -> Vec<&str> {
        self.catalog.regions(cmek_core::api::ClusterType::Dedicated, cmek_core::api::CloudProvider::Aws)
    }
}

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
    let session = Router::new()
        .route(
            "/api/ext/v1/session",
            get(auth::session::get_session).post(auth::session::sign_in).delete(auth::session::sign_out),
        )
        .method_not_allowed_fallback(method_not_allowed);
    let routes = if state.gateway.is_some() {
        crate::gateway::routes::router()
    } else {
        Router::new()
            .merge(routes::projects::router())
            .merge(routes::cmek::router())
            .merge(routes::clusters::router())
            .merge(routes::backups::router())
            .merge(routes::regions::router())
            .merge(routes::ext::router())
            .merge(routes::sandbox::router())
    };
    let api = routes
        .route("/api", any(api_not_found))
        .route("/api/", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), auth::require_auth))
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
        .layer(middleware::from_fn_with_state(state.clone(), auth::check_host))
        .layer(middleware::from_fn_with_state(state.clone(), auth::security_headers))
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
