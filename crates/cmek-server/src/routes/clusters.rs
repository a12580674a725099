//! `/api/v1beta/projects/{project_id}/clusters[/{cluster_id}]`: create, list, get, pause,
//! resume, scale and delete, with the CMEK placement rules and the key check before anything
//! that needs the key (create, resume, scale).

use super::params::{ClusterPath, PageParams, ProjectPath};
use super::{event, project_id, read_in_cluster, read_in_project, refused};
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, JsonBody, JsonBytes, PageQuery, parse_id, parse_json};
use crate::state::AppState;
use crate::store::{self, ClusterRow, NewCluster};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use cmek_core::api::{
    ClusterItem, ClusterType, CreateClusterReq, CreatedResp, Empty, ListClustersResp, UpdateClusterReq,
};
use cmek_core::cluster::{
    DEFAULT_PORT, check_cmek_placement, check_create, check_storage_change_interval, check_update_target,
};
use cmek_core::cluster_update::{
    ComponentChange, ScaleTarget, decode_update, kept_components, plan_component_change, update_field,
};
use cmek_core::ext::EventKind;
use cmek_core::lifecycle::{Action, Lifecycle};
use cmek_core::project_cmek::ProjectCmek;
use cmek_core::{ErrorCode, RuleError};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_clusters, create_cluster)).routes(routes!(
        get_cluster,
        update_cluster,
        delete_cluster
    ))
}

fn ids(raw: &(String, String)) -> ApiResult<(u64, u64)> {
    Ok((project_id(&raw.0)?, parse_id("cluster_id", &raw.1)?))
}

/// List all clusters in a project.
#[utoipa::path(get, path = "/api/v1beta/projects/{project_id}/clusters", tag = "Cluster", operation_id = "ListClustersOfProject",
    params(ProjectPath, PageParams),
    responses((status = 200, description = "A successful response.", body = ListClustersResp)))]
pub async fn list_clusters(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    PageQuery(page): PageQuery,
) -> ApiResult<Response> {
    let pid = project_id(&raw)?;
    let key = (pid, page.page, page.page_size);
    // Read before the data: a write that lands meanwhile makes what is cached stale at once.
    let generation = s.db.generation();
    let now = now_ms();
    if let Some(body) = s.cluster_lists.get(key, generation, now) {
        return Ok(json_response(body));
    }
    let (rows, total) = read_in_project(&s, pid, move |c| Ok(store::list_clusters(c, pid, page)?)).await?;
    let valid_until = rows.iter().filter_map(|r| r.lifecycle.settles.map(|(_, at)| at)).filter(|&at| at > now).min();
    let resp = ListClustersResp { items: rows.iter().map(|r| r.to_item(now)).collect(), total };
    let body = Bytes::from(serde_json::to_vec(&resp).map_err(|e| ApiError::internal("writing the clusters list", e))?);
    s.cluster_lists.put(key, generation, valid_until.unwrap_or(i64::MAX), body.clone());
    Ok(json_response(body))
}

fn json_response(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// Create a cluster. In a CMEK project: DEDICATED on AWS in the key's region, after the key is
/// configured and while the service can use it.
#[utoipa::path(post, path = "/api/v1beta/projects/{project_id}/clusters", tag = "Cluster", operation_id = "CreateCluster",
    params(ProjectPath),
    request_body = CreateClusterReq,
    responses((status = 200, description = "A successful response.", body = CreatedResp)))]
pub async fn create_cluster(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<CreatedResp>> {
    let pid = project_id(&raw)?;
    let req = parse_create_cluster(&body)?;
    let (project, keys) =
        s.db.read(move |c| Ok((store::require_project(c, pid)?, store::list_cmek_specs(c, pid)?))).await?;
    let cmek = ProjectCmek::of(project.aws_cmek_enabled, &keys);
    let key = cmek.key();
    if let Err(e) = check_cmek_placement(cmek.context(), req.cluster_type, req.cloud_provider, &req.region) {
        return Err(refused(&s, pid, EventKind::ClusterCreateRefused, None, req.region.clone(), e.into()).await);
    }
    let fields = check_create(&req, &s.catalog);
    if !fields.is_empty() {
        return Err(RuleError::fields(ErrorCode::ValidationFailed, fields).into());
    }
    if let Some(key) = key
        && let Err(e) = s.key_access.require(pid, key, "creating the cluster").await
    {
        return Err(refused(&s, pid, EventKind::ClusterCreateRefused, None, req.region.clone(), e.into()).await);
    }
    let durations = s.durations;
    let id =
        s.db.write(move |tx| {
            let now = now_ms();
            let components = kept_components(req.cluster_type, req.config.components.as_ref());
            let id = store::insert_cluster(
                tx,
                &NewCluster {
                    project_id: pid,
                    name: &req.name,
                    cluster_type: req.cluster_type,
                    cloud_provider: req.cloud_provider,
                    region: &req.region,
                    port: req.config.port.unwrap_or(DEFAULT_PORT),
                    components,
                    ip_access_list: req.config.ip_access_list.as_deref().unwrap_or_default(),
                    lifecycle: Lifecycle::creating(now, durations),
                },
                now,
            )?;
            let how = if project.aws_cmek_enabled {
                "encrypted with the project's customer-managed key"
            } else {
                "encrypted with the service's escrow key"
            };
            store::insert_event(
                tx,
                &event(
                    pid,
                    EventKind::ClusterCreated,
                    Some((id, &req.name)),
                    &req.region,
                    format!("Cluster \"{}\" is being created in {}, {how}.", req.name, req.region),
                ),
            )?;
            Ok(id)
        })
        .await?;
    Ok(Json(CreatedResp { id: id.to_string() }))
}

/// Reads a CreateCluster body. For a Serverless (`DEVELOPER`) cluster `config.components` is
/// ignored, as the OAS says ("Setting this configuration does not have any effects"), whatever
/// it holds — `{}`, nulls, or half a spec — so it is dropped before the body is typed.
fn parse_create_cluster(body: &[u8]) -> ApiResult<CreateClusterReq> {
    let value: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    if let Some(mut v) = value
        && v.get("cluster_type").and_then(serde_json::Value::as_str) == Some(ClusterType::Developer.as_str())
        && let Some(config) = v.get_mut("config").and_then(serde_json::Value::as_object_mut)
        && config.remove("components").is_some()
    {
        let bytes = serde_json::to_vec(&v).map_err(|e| ApiError::internal("reading the body", e))?;
        return parse_json(&bytes);
    }
    parse_json(body)
}

/// Get a cluster.
#[utoipa::path(get, path = "/api/v1beta/projects/{project_id}/clusters/{cluster_id}", tag = "Cluster", operation_id = "GetCluster",
    params(ClusterPath),
    responses((status = 200, description = "A successful response.", body = ClusterItem)))]
pub async fn get_cluster(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<(String, String)>,
) -> ApiResult<Json<ClusterItem>> {
    let (pid, cid) = ids(&raw)?;
    let row = read_in_cluster(&s, pid, cid, |_, row| Ok(row)).await?;
    Ok(Json(row.to_item(now_ms())))
}

/// Pause (`config.paused: true`, from AVAILABLE), resume (`false`, from PAUSED; needs the key)
/// or scale (`config.components`, from AVAILABLE) a cluster; never two of them at once.
#[utoipa::path(patch, path = "/api/v1beta/projects/{project_id}/clusters/{cluster_id}", tag = "Cluster", operation_id = "UpdateCluster",
    params(ClusterPath),
    request_body = UpdateClusterReq,
    responses((status = 200, description = "A successful response.", body = Empty)))]
pub async fn update_cluster(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<(String, String)>,
    JsonBody(req): JsonBody<UpdateClusterReq>,
) -> ApiResult<Json<Empty>> {
    let (pid, cid) = ids(&raw)?;
    let config = req.config;
    let action = decode_update(&config)?;
    let (project, keys, row, storage_changed_at) =
        s.db.read(move |c| {
            let p = store::require_project(c, pid)?;
            let row = store::require_cluster(c, pid, cid)?;
            Ok((p, store::list_cmek_specs(c, pid)?, row, store::storage_changed_at(c, cid)?))
        })
        .await?;
    let now = now_ms();
    check_update_target(row.cluster_type, update_field(action))?;
    // The state rule first: a resume of a running cluster is a state conflict, not a key problem.
    row.lifecycle.apply(action, now, s.durations)?;
    let change = match &config.components {
        Some(change) => {
            let target = ScaleTarget {
                cluster_type: row.cluster_type,
                cloud_provider: row.cloud_provider,
                region: &row.region,
                components: row.components.as_ref(),
                storage_changed_at_ms: storage_changed_at,
            };
            Some(plan_component_change(&s.catalog, target, change, now)?)
        }
        None => None,
    };
    let cmek = ProjectCmek::of(project.aws_cmek_enabled, &keys);
    if let (Some(key), Action::Resume | Action::Modify) = (cmek.key(), action) {
        let doing = if action == Action::Resume { "resuming the cluster" } else { "changing the cluster's components" };
        if let Err(e) = s.key_access.require(pid, key, doing).await {
            let kind = if action == Action::Resume {
                EventKind::ClusterResumeRefused
            } else {
                EventKind::ClusterModifyRefused
            };
            return Err(refused(&s, pid, kind, Some((cid, row.name.clone())), row.region.clone(), e.into()).await);
        }
    }
    let durations = s.durations;
    s.db.write(move |tx| {
        // Again inside the transaction: of concurrent resumes, exactly one starts the cluster.
        let row: ClusterRow = store::require_cluster(tx, pid, cid)?;
        let now = now_ms();
        let next = row.lifecycle.apply(action, now, durations)?;
        store::set_lifecycle(tx, cid, next)?;
        if let Some(ComponentChange { next: c, storage_changed }) = &change {
            if *storage_changed {
                // Again inside the transaction: of two concurrent storage changes, one lands.
                check_storage_change_interval(row.cloud_provider, store::storage_changed_at(tx, cid)?, now)?;
                store::set_storage_changed_at(tx, cid, now)?;
            }
            store::set_components(tx, cid, c)?;
        }
        let (kind, message) = match action {
            Action::Pause => (EventKind::ClusterPauseRequested, format!("Cluster \"{}\" is pausing.", row.name)),
            Action::Resume => (
                EventKind::ClusterResumeRequested,
                format!("Cluster \"{}\" is resuming. The key was accessible.", row.name),
            ),
            Action::Modify => {
                (EventKind::ClusterModifyRequested, format!("Cluster \"{}\" is changing its components.", row.name))
            }
        };
        store::insert_event(tx, &event(pid, kind, Some((cid, &row.name)), &row.region, message))?;
        Ok(())
    })
    .await?;
    Ok(Json(Empty {}))
}

/// Delete a cluster; afterwards GET answers 404.
#[utoipa::path(delete, path = "/api/v1beta/projects/{project_id}/clusters/{cluster_id}", tag = "Cluster", operation_id = "DeleteCluster",
    params(ClusterPath),
    responses((status = 200, description = "A successful response.", body = Empty)))]
pub async fn delete_cluster(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<(String, String)>,
) -> ApiResult<Json<Empty>> {
    let (pid, cid) = ids(&raw)?;
    s.db.write(move |tx| {
        store::require_project(tx, pid)?;
        let row = store::require_cluster(tx, pid, cid)?;
        let now = now_ms();
        store::delete_cluster(tx, cid, now)?;
        let was = row.lifecycle.status_at(now);
        store::insert_event(
            tx,
            &event(
                pid,
                EventKind::ClusterDeleted,
                Some((cid, &row.name)),
                &row.region,
                format!("Cluster \"{}\" deleted. It was {}.", row.name, was.as_str()),
            ),
        )?;
        Ok(())
    })
    .await?;
    Ok(Json(Empty {}))
}
