//! Extensions beyond v1beta, under `/api/ext/v1`: what the server is, key health and the
//! project's events, and the server's own OpenAPI document.

use super::params::{PageParams, ProjectPath};
use super::{project_id, read_in_project};
use crate::error::ApiResult;
use crate::extract::{ApiPath, PageQuery};
use crate::state::AppState;
use crate::store;
use axum::Json;
use axum::extract::State;
use cmek_core::ext::{KeyHealthList, KmsBackend, ListEventsResp, ServerInfo};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(server_info))
        .routes(routes!(key_health))
        .routes(routes!(check_key_health))
        .routes(routes!(list_events))
}

/// What this server offers beyond v1beta: the service account to trust, the KMS it asks. A
/// gateway says its upstream and budget (never its key pair), and that it has no sandbox: its
/// keys are the organisation's, in AWS KMS.
#[utoipa::path(get, path = "/api/ext/v1/server-info", tag = "Extensions", operation_id = "GetServerInfo",
    responses((status = 200, description = "A successful response.", body = ServerInfo)))]
pub async fn server_info(State(s): State<AppState>) -> Json<ServerInfo> {
    let gateway = s.gateway.as_ref().map(|g| g.info());
    Json(ServerInfo {
        service_account_id: s.key_access.service_account().map(str::to_owned),
        kms: match (&gateway, s.args.kms.kms) {
            (None, crate::kms::KmsChoice::Sandbox) => KmsBackend::Sandbox,
            _ => KmsBackend::Aws,
        },
        sandbox_account_id: gateway.is_none().then(|| s.sandbox.account_id().to_owned()),
        key_check_interval_secs: s.args.key_check_secs.round() as u64,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        gateway,
    })
}

/// The health of the project's configured keys, as last checked.
#[utoipa::path(get, path = "/api/ext/v1/projects/{project_id}/key-health", tag = "Extensions", operation_id = "GetKeyHealth",
    params(ProjectPath),
    responses((status = 200, description = "A successful response.", body = KeyHealthList)))]
pub async fn key_health(State(s): State<AppState>, ApiPath(raw): ApiPath<String>) -> ApiResult<Json<KeyHealthList>> {
    let pid = project_id(&raw)?;
    let items = read_in_project(&s, pid, move |c| {
        let keys = store::list_cmek_specs(c, pid)?;
        Ok(keys.iter().map(|k| store::get_health(c, pid, k)).collect::<Result<Vec<_>, _>>()?)
    })
    .await?;
    Ok(Json(KeyHealthList { items }))
}

/// Checks the project's keys now ("Test now") and answers their health.
#[utoipa::path(post, path = "/api/ext/v1/projects/{project_id}/key-health/check", tag = "Extensions", operation_id = "CheckKeyHealth",
    params(ProjectPath),
    responses((status = 200, description = "A successful response.", body = KeyHealthList)))]
pub async fn check_key_health(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<KeyHealthList>> {
    let pid = project_id(&raw)?;
    let keys = read_in_project(&s, pid, move |c| Ok(store::list_cmek_specs(c, pid)?)).await?;
    let mut items = Vec::with_capacity(keys.len());
    for k in &keys {
        items.push(s.key_access.check_and_record(pid, k).await?.1);
    }
    Ok(Json(KeyHealthList { items }))
}

/// The project's events, newest first.
#[utoipa::path(get, path = "/api/ext/v1/projects/{project_id}/events", tag = "Extensions", operation_id = "ListEvents",
    params(ProjectPath, PageParams),
    responses((status = 200, description = "A successful response.", body = ListEventsResp)))]
pub async fn list_events(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    PageQuery(page): PageQuery,
) -> ApiResult<Json<ListEventsResp>> {
    let pid = project_id(&raw)?;
    events_page(&s, pid, page, true).await
}

/// A page of the project's events, newest first. A gateway keeps the events of projects that
/// are the upstream's, so it does not ask for the project's row (`of_a_local_project` false).
pub async fn events_page(
    s: &AppState,
    pid: u64,
    page: cmek_core::page::Page,
    of_a_local_project: bool,
) -> ApiResult<Json<ListEventsResp>> {
    let (items, total) =
        s.db.read(move |c| {
            if of_a_local_project {
                store::require_project(c, pid)?;
            }
            Ok(store::list_events(c, pid, page)?)
        })
        .await?;
    Ok(Json(ListEventsResp { items, total }))
}
