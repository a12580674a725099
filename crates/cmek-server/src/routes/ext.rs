//! Extensions beyond v1beta, under `/api/ext/v1`: what the server is, key health and the
//! project's events, and the server's own OpenAPI document.

use super::project_id;
use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiPath, PageQuery};
use crate::store;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use cmek_core::ext::{KeyHealthList, KmsBackend, ListEventsResp, ServerInfo};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/ext/v1/server-info", get(server_info))
        .route("/api/ext/v1/openapi.json", get(openapi))
        .route("/api/ext/v1/projects/{project_id}/key-health", get(key_health))
        .route("/api/ext/v1/projects/{project_id}/key-health/check", post(check_key_health))
        .route("/api/ext/v1/projects/{project_id}/events", get(list_events))
}

/// What this server offers beyond v1beta: the service account to trust, the KMS it asks.
#[utoipa::path(get, path = "/api/ext/v1/server-info", tag = "Extensions", operation_id = "GetServerInfo",
    responses((status = 200, description = "A successful response.", body = ServerInfo)))]
pub async fn server_info(State(s): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo {
        service_account_id: s.keys.service_account().map(str::to_owned),
        kms: match s.args.kms.kms {
            crate::kms::KmsChoice::Sandbox => KmsBackend::Sandbox,
            crate::kms::KmsChoice::Aws => KmsBackend::Aws,
        },
        sandbox_account_id: Some(s.sandbox.account_id().to_owned()),
        key_check_interval_secs: s.args.key_check_secs.round() as u64,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        gateway: None,
    })
}

/// This server's OpenAPI 3.1 document (v1beta operations and the extensions).
pub async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}

/// The health of the project's configured keys, as last checked.
#[utoipa::path(get, path = "/api/ext/v1/projects/{project_id}/key-health", tag = "Extensions", operation_id = "GetKeyHealth",
    params(("project_id" = String, Path, description = "The ID of the project (decimal uint64).")),
    responses((status = 200, description = "A successful response.", body = KeyHealthList)))]
pub async fn key_health(State(s): State<AppState>, ApiPath(raw): ApiPath<String>) -> ApiResult<Json<KeyHealthList>> {
    let pid = project_id(&raw)?;
    let items =
        s.db.read(move |c| {
            store::require_project(c, pid)?;
            let keys = store::list_keys(c, pid)?;
            Ok(keys.iter().map(|k| store::get_health(c, pid, k)).collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(KeyHealthList { items }))
}

/// Checks the project's keys now ("Test now") and answers their health.
#[utoipa::path(post, path = "/api/ext/v1/projects/{project_id}/key-health/check", tag = "Extensions", operation_id = "CheckKeyHealth",
    params(("project_id" = String, Path, description = "The ID of the project (decimal uint64).")),
    responses((status = 200, description = "A successful response.", body = KeyHealthList)))]
pub async fn check_key_health(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<KeyHealthList>> {
    let pid = project_id(&raw)?;
    let keys =
        s.db.read(move |c| {
            store::require_project(c, pid)?;
            Ok(store::list_keys(c, pid)?)
        })
        .await?;
    let mut items = Vec::with_capacity(keys.len());
    for k in &keys {
        items.push(s.keys.check_and_record(pid, k).await?.1);
    }
    Ok(Json(KeyHealthList { items }))
}

/// The project's events, newest first.
#[utoipa::path(get, path = "/api/ext/v1/projects/{project_id}/events", tag = "Extensions", operation_id = "ListEvents",
    params(
        ("project_id" = String, Path, description = "The ID of the project (decimal uint64)."),
        ("page" = Option<i64>, Query, description = "The number of pages (default 1)."),
        ("page_size" = Option<i64>, Query, description = "The size of a page (default 10, at most 100).")
    ),
    responses((status = 200, description = "A successful response.", body = ListEventsResp)))]
pub async fn list_events(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    PageQuery(page): PageQuery,
) -> ApiResult<Json<ListEventsResp>> {
    let pid = project_id(&raw)?;
    let (items, total) =
        s.db.read(move |c| {
            store::require_project(c, pid)?;
            Ok(store::list_events(c, pid, page)?)
        })
        .await?;
    Ok(Json(ListEventsResp { items, total }))
}
