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
    pub fn new(db: Arc<Db>, mut args: ServeArgs, auth: Auth) -> Self {
        db.set_before_write(|tx| crate::routes::clusters::settle_due(tx, crate::clock::now_ms()).map(drop));
        let sandbox_account = args.sandbox_account.0.clone().unwrap_or_else(|| "111122223333".to_owned());
        let sandbox = Arc::new(SandboxKms::new(Arc::clone(&db), sandbox_account));
        let aws_kms = Arc::new(crate::kms::aws_api::AwsEndpoint::new(sandbox.clone(), args.kms.sandbox_credentials()));
        let keys =
            KeyService::new(args.kms.port(Arc::clone(&aws_kms)), Arc::clone(&db), args.service_account.0.clone());
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
        }))
    }

    /// The AWS regions Dedicated clusters run in: where a CMEK key may be configured.
    pub fn cmek_regions(&self) -> Vec<&str> {
        self.catalog.regions(cmek_core::api::ClusterType::Dedicated, cmek_core::api::CloudProvider::Aws)
    }
}

async fn api_not_found(uri: Uri) -> ApiError {
    ApiError::new(ErrorCode::RouteNotFound, format!("there is no endpoint {}", uri.path()))
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
    let api = Router::new()
        .merge(routes::projects::router())
        .merge(routes::cmek::router())
        .merge(routes::clusters::router())
        .merge(routes::regions::router())
        .merge(routes::ext::router())
        .merge(routes::sandbox::router())
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
