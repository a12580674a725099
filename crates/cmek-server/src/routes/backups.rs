//! Backups (`/api/v1beta/projects/{project_id}/clusters/{cluster_id}/backups[/{backup_id}]`)
//! and restore tasks (`/api/v1beta/projects/{project_id}/restores[/{restore_id}]`), with the
//! CMEK rules: a backup in a CMEK project records the key that encrypts it; taking one and
//! restoring one need the key now; a backup under a key restores only where that key is. Also
//! the automatic daily backup, and the extension that says which key encrypts each backup.

use super::params::{BackupPath, ClusterPath, PageParams, ProjectPath, RestorePath};
use super::{event, project_id, read_in_cluster, read_in_project, refused};
use crate::backup_store::{self as bstore, NewBackup, NewRestore};
use crate::clock::now_ms;
use crate::db::{StorageError, StorageResult};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, JsonBody, PageQuery, parse_id};
use crate::key_access::KeyRefusal;
use crate::state::AppState;
use crate::store::{self, NewCluster, NewEvent};
use axum::Json;
use axum::extract::State;
use cmek_core::api::{ClusterType, CreateClusterReq, Empty};
use cmek_core::backup::{
    Backup, BackupSource, BackupType, CreateBackupReq, CreateRestoreReq, CreateRestoreResp, ListBackupKeysResp,
    ListBackupsResp, ListRestoresResp, Restore, TaskStatus, auto_backup_due, backup_size_bytes, check_backup_source,
    check_create_backup, check_delete_backup, check_restore, check_restore_components,
};
use cmek_core::cluster::{DEFAULT_PORT, check_create};
use cmek_core::cluster_update::check_restore_name;
use cmek_core::ext::EventKind;
use cmek_core::lifecycle::Lifecycle;
use cmek_core::project_cmek::ProjectCmek;
use cmek_core::{ErrorCode, FieldError, RuleError};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_backups, create_backup))
        .routes(routes!(get_backup, delete_backup))
        .routes(routes!(list_restores, create_restore))
        .routes(routes!(get_restore))
        .routes(routes!(list_backup_keys))
}

fn ids(raw: &(String, String)) -> ApiResult<(u64, u64)> {
    Ok((project_id(&raw.0)?, parse_id("cluster_id", &raw.1)?))
}

fn ids3(raw: &(String, String, String)) -> ApiResult<(u64, u64, u64)> {
    Ok((project_id(&raw.0)?, parse_id("cluster_id", &raw.1)?, parse_id("backup_id", &raw.2)?))
}

/// List all backups for a cluster, newest first.
#[utoipa::path(get, path = "/api/v1beta/projects/{project_id}/clusters/{cluster_id}/backups", tag = "Backup", operation_id = "ListBackUpOfCluster",
    params(ClusterPath, PageParams),
    responses((status = 200, description = "A successful response.", body = ListBackupsResp)))]
pub async fn list_backups(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<(String, String)>,
    PageQuery(page): PageQuery,
) -> ApiResult<Json<ListBackupsResp>> {
    let (pid, cid) = ids(&raw)?;
    let now = now_ms();
    let (rows, total) = read_in_cluster(&s, pid, cid, move |c, _| Ok(bstore::list_backups(c, cid, page)?)).await?;
    Ok(Json(ListBackupsResp { items: rows.iter().map(|b| b.to_item(now)).collect(), total }))
}

/// Create a manual backup of a running Dedicated cluster. In a CMEK project the backup is
/// encrypted with the project's key, and the service must be able to use it now.
#[utoipa::path(post, path = "/api/v1beta/projects/{project_id}/clusters/{cluster_id}/backups", tag = "Backup", operation_id = "CreateBackup",
    params(ClusterPath),
    request_body = CreateBackupReq,
    responses((status = 200, description = "A successful response.", body = cmek_core::api::CreatedResp)))]
pub async fn create_backup(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<(String, String)>,
    JsonBody(req): JsonBody<CreateBackupReq>,
) -> ApiResult<Json<cmek_core::api::CreatedResp>> {
    let (pid, cid) = ids(&raw)?;
    let fields = check_create_backup(&req);
    if !fields.is_empty() {
        return Err(RuleError::fields(ErrorCode::ValidationFailed, fields).into());
    }
    let (project, keys, row) =
        s.db.read(move |c| {
            let p = store::require_project(c, pid)?;
            Ok((p, store::list_cmek_specs(c, pid)?, store::require_cluster(c, pid, cid)?))
        })
        .await?;
    check_backup_source(row.cluster_type, row.lifecycle.status_at(now_ms()))?;
    let key = ProjectCmek::of(project.aws_cmek_enabled, &keys).key().cloned();
    if let Some(key) = &key
        && let Err(e) = s.key_access.require(pid, key, "creating the backup").await
    {
        return Err(refused(
            &s,
            pid,
            EventKind::BackupRefused,
            Some((cid, row.name.clone())),
            row.region.clone(),
            e.into(),
        )
        .await);
    }
    let ms = s.durations.create_ms;
    let id =
        s.db.write(move |tx| {
            // Again inside the transaction: the cluster may have been paused meanwhile.
            let row = store::require_cluster(tx, pid, cid)?;
            let now = now_ms();
            check_backup_source(row.cluster_type, row.lifecycle.status_at(now))?;
            let kms_arn = key.as_ref().map(|k| k.kms_arn.as_str());
            let id = bstore::insert_backup(
                tx,
                &NewBackup {
                    project_id: pid,
                    cluster_id: cid,
                    name: &req.name,
                    description: req.description.as_deref().unwrap_or(""),
                    backup_type: BackupType::Manual,
                    status: TaskStatus::Running,
                    settles_at_ms: Some(now.saturating_add(ms)),
                    size_bytes: backup_size_bytes(row.components.as_ref()),
                    region: &row.region,
                    kms_arn,
                    failure: None,
                },
                now,
            )?;
            store::insert_event(
                tx,
                &event(
                    pid,
                    EventKind::BackupStarted,
                    Some((cid, &row.name)),
                    &row.region,
                    format!("backup \"{}\" of cluster \"{}\" started, {}", req.name, row.name, encrypted_with(kms_arn)),
                ),
            )?;
            Ok(id)
        })
        .await?;
    Ok(Json(cmek_core::api::CreatedResp { id: id.to_string() }))
}

fn encrypted_with(kms_arn: Option<&str>) -> String {
    match kms_arn {
        Some(arn) => format!("encrypted with the customer-managed key {arn}"),
        None => "encrypted with the service's escrow key".to_owned(),
    }
}

/// Get a backup of a cluster.
#[utoipa::path(get, path = "/api/v1beta/projects/{project_id}/clusters/{cluster_id}/backups/{backup_id}", tag = "Backup", operation_id = "GetBackupOfCluster",
    params(BackupPath),
    responses((status = 200, description = "A successful response.", body = Backup)))]
pub async fn get_backup(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<(String, String, String)>,
) -> ApiResult<Json<Backup>> {
    let (pid, cid, bid) = ids3(&raw)?;
    let b = read_in_cluster(&s, pid, cid, move |c, _| bstore::require_backup(c, pid, cid, bid)).await?;
    Ok(Json(b.to_item(now_ms())))
}

/// Delete a finished backup; afterwards GET answers 404.
#[utoipa::path(delete, path = "/api/v1beta/projects/{project_id}/clusters/{cluster_id}/backups/{backup_id}", tag = "Backup", operation_id = "DeleteBackup",
    params(BackupPath),
    responses((status = 200, description = "A successful response.", body = Empty)))]
pub async fn delete_backup(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<(String, String, String)>,
) -> ApiResult<Json<Empty>> {
    let (pid, cid, bid) = ids3(&raw)?;
    s.db.write(move |tx| {
        store::require_project(tx, pid)?;
        let cluster = store::require_cluster(tx, pid, cid)?;
        let b = bstore::require_backup(tx, pid, cid, bid)?;
        let now = now_ms();
        check_delete_backup(b.status_at(now))?;
        bstore::delete_backup(tx, bid, now)?;
        store::insert_event(
            tx,
            &event(
                pid,
                EventKind::BackupDeleted,
                Some((cid, &cluster.name)),
                &cluster.region,
                format!("backup \"{}\" of cluster \"{}\" deleted", b.name, cluster.name),
            ),
        )?;
        Ok(())
    })
    .await?;
    Ok(Json(Empty {}))
}

/// List the restore tasks in a project, newest first.
#[utoipa::path(get, path = "/api/v1beta/projects/{project_id}/restores", tag = "Restore", operation_id = "ListRestoreTasks",
    params(ProjectPath, PageParams),
    responses((status = 200, description = "A successful response.", body = ListRestoresResp)))]
pub async fn list_restores(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    PageQuery(page): PageQuery,
) -> ApiResult<Json<ListRestoresResp>> {
    let pid = project_id(&raw)?;
    let now = now_ms();
    let (items, total) = read_in_project(&s, pid, move |c| Ok(bstore::list_restores(c, pid, page, now)?)).await?;
    Ok(Json(ListRestoresResp { items, total }))
}

/// Get a restore task.
#[utoipa::path(get, path = "/api/v1beta/projects/{project_id}/restores/{restore_id}", tag = "Restore", operation_id = "GetRestoreTask",
    params(RestorePath),
    responses((status = 200, description = "A successful response.", body = Restore)))]
pub async fn get_restore(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<(String, String)>,
) -> ApiResult<Json<Restore>> {
    let pid = project_id(&raw.0)?;
    let rid = parse_id("restore_id", &raw.1)?;
    let now = now_ms();
    let r = read_in_project(&s, pid, move |c| bstore::get_restore(c, pid, rid, now)).await?;
    Ok(Json(r))
}

/// Restore a backup to a new cluster in this project (in the backed-up cluster's region and
/// cloud). A backup under a customer-managed key lands only in a CMEK project whose key is that
/// key; in a CMEK project the service must be able to use the key now.
#[utoipa::path(post, path = "/api/v1beta/projects/{project_id}/restores", tag = "Restore", operation_id = "CreateRestoreTask",
    params(("project_id" = String, Path, description = "The ID of the project the new cluster is created in (decimal uint64).")),
    request_body = CreateRestoreReq,
    responses((status = 200, description = "A successful response.", body = CreateRestoreResp)))]
pub async fn create_restore(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    JsonBody(req): JsonBody<CreateRestoreReq>,
) -> ApiResult<Json<CreateRestoreResp>> {
    let pid = project_id(&raw)?;
    let bid = req.backup_id.parse::<u64>().map_err(|_| {
        ApiError::fields(
            ErrorCode::InvalidField,
            vec![FieldError::new("backup_id", format!("\"{}\" is not a decimal uint64 id", req.backup_id))],
        )
    })?;
    let (project, keys, backup, source) =
        s.db.read(move |c| {
            let p = store::require_project(c, pid)?;
            let keys = store::list_cmek_specs(c, pid)?;
            let b = bstore::get_backup(c, bid)?.ok_or_else(|| restore_source_gone(bid))?;
            let src = store::get_cluster_even_deleted(c, b.cluster_id)?.ok_or(StorageError::Inconsistent {
                doing: "reading the backed-up cluster",
                what: "the backup's cluster row is missing",
            })?;
            Ok((p, keys, b, src))
        })
        .await?;
    let now = now_ms();
    let cmek = ProjectCmek::of(project.aws_cmek_enabled, &keys);
    let (ctx, key) = (cmek.context(), cmek.key());
    let checked = check_restore(
        BackupSource {
            backup_id: bid,
            status: backup.status_at(now),
            cluster_type: source.cluster_type,
            cloud_provider: source.cloud_provider,
            region: &source.region,
            kms_arn: backup.kms_arn.as_deref(),
        },
        ctx,
        key.map(|k| k.kms_arn.as_str()),
    );
    if let Err(e) = checked {
        return Err(refused(&s, pid, EventKind::RestoreRefused, None, source.region.clone(), e.into()).await);
    }
    let cluster_req = CreateClusterReq {
        name: req.name.clone(),
        cluster_type: ClusterType::Dedicated,
        cloud_provider: source.cloud_provider,
        region: source.region.clone(),
        config: req.config.clone(),
    };
    let mut fields = check_create(&cluster_req, &s.catalog);
    fields.extend(check_restore_name(&source.name, &req.name));
    if let (Some(from), Some(to)) = (&source.components, &req.config.components) {
        fields.extend(check_restore_components(from, to));
    }
    if !fields.is_empty() {
        return Err(RuleError::fields(ErrorCode::ValidationFailed, fields).into());
    }
    let key = key.cloned();
    if let Some(key) = &key
        && let Err(e) = s.key_access.require(pid, key, "restoring the backup").await
    {
        return Err(refused(&s, pid, EventKind::RestoreRefused, None, source.region.clone(), e.into()).await);
    }
    let durations = s.durations;
    let (rid, cid) =
        s.db.write(move |tx| {
            let now = now_ms();
            // Again inside the transaction: the backup may have been deleted meanwhile.
            if bstore::get_backup(tx, bid)?.is_none() {
                return Err(restore_source_gone(bid));
            }
            let lifecycle = Lifecycle::creating(now, durations);
            let cid = store::insert_cluster(
                tx,
                &NewCluster {
                    project_id: pid,
                    name: &req.name,
                    cluster_type: ClusterType::Dedicated,
                    cloud_provider: cluster_req.cloud_provider,
                    region: &cluster_req.region,
                    port: req.config.port.unwrap_or(DEFAULT_PORT),
                    components: req.config.components.as_ref(),
                    ip_access_list: req.config.ip_access_list.as_deref().unwrap_or_default(),
                    lifecycle,
                },
                now,
            )?;
            let settles = lifecycle.settles.map_or(now, |(_, at)| at);
            let rid = bstore::insert_restore(
                tx,
                &NewRestore {
                    project_id: pid,
                    backup_id: bid,
                    source_cluster_id: backup.cluster_id,
                    cluster_id: cid,
                    cluster_name: &req.name,
                    settles_at_ms: settles,
                },
                now,
            )?;
            let under = match key.as_ref() {
                Some(k) => format!("encrypted with the customer-managed key {}", k.kms_arn),
                None => "encrypted with the service's escrow key".to_owned(),
            };
            store::insert_event(
                tx,
                &event(
                    pid,
                    EventKind::RestoreStarted,
                    Some((cid, &req.name)),
                    &cluster_req.region,
                    format!(
                        "backup \"{}\" of cluster \"{}\" is being restored to the new cluster \"{}\", {under}",
                        backup.name, source.name, req.name
                    ),
                ),
            )?;
            Ok((rid, cid))
        })
        .await?;
    Ok(Json(CreateRestoreResp { id: rid.to_string(), cluster_id: cid.to_string() }))
}

/// The restore's `backup_id` names no backup.
fn restore_source_gone(bid: u64) -> StorageError {
    RuleError::fields(
        ErrorCode::BackupNotFound,
        vec![FieldError::new("backup_id", format!("backup {bid} does not exist"))],
    )
    .into()
}

/// Which key encrypts each backup of a cluster (v1beta does not say), and why a backup failed.
#[utoipa::path(get, path = "/api/ext/v1/projects/{project_id}/clusters/{cluster_id}/backup-keys", tag = "Extensions", operation_id = "ListBackupKeys",
    params(ClusterPath, PageParams),
    responses((status = 200, description = "A successful response.", body = ListBackupKeysResp)))]
pub async fn list_backup_keys(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<(String, String)>,
    PageQuery(page): PageQuery,
) -> ApiResult<Json<ListBackupKeysResp>> {
    let (pid, cid) = ids(&raw)?;
    let (rows, _) = read_in_cluster(&s, pid, cid, move |c, _| Ok(bstore::list_backups(c, cid, page)?)).await?;
    Ok(Json(ListBackupKeysResp { items: rows.iter().map(|b| b.encryption()).collect() }))
}

/// The automatic daily backup: every running Dedicated cluster whose last one is an interval
/// old gets one. In a CMEK project the key is checked first; while the service cannot use it,
/// the backup is recorded as FAILED with the cause (and an event), and the next day tries again.
pub async fn run_auto_backups(s: &AppState) -> StorageResult<usize> {
    let now = now_ms();
    let interval = (s.args.auto_backup_secs * 1000.0).round() as i64;
    let due: Vec<_> =
        s.db.read(move |c| Ok(bstore::auto_backup_candidates(c, now)?))
            .await?
            .into_iter()
            .filter(|x| auto_backup_due(x.last_attempt_ms, now, interval))
            .collect();
    for cand in &due {
        let (pid, cid) = (cand.cluster.project_id, cand.cluster.id);
        let key = if cand.cmek {
            s.db.read(move |c| Ok(store::list_cmek_specs(c, pid)?)).await?.into_iter().next()
        } else {
            None
        };
        let failure = match &key {
            Some(k) => {
                let (check, _) = s.key_access.check_and_record(pid, k).await?;
                (!check.is_ok()).then(|| KeyRefusal::new(&check, &k.kms_arn, &k.region, "the automatic backup"))
            }
            None => None,
        };
        let ms = s.durations.create_ms;
        let row = cand.cluster.clone();
        s.db.write(move |tx| {
            let now = now_ms();
            // Deleted or paused while the key was checked: no backup today.
            match store::get_cluster(tx, pid, cid)? {
                Some(c) if c.lifecycle.status_at(now) == cmek_core::api::ClusterStatus::Available => {}
                _ => return Ok(()),
            }
            let kms_arn = key.as_ref().map(|k| k.kms_arn.as_str());
            let name = format!("auto-{}", cmek_core::time::iso8601(now).replace([':', '-'], ""));
            let (status, settles, description, kind, message, details) = match &failure {
                None => (
                    TaskStatus::Running,
                    Some(now.saturating_add(ms)),
                    "automatic daily backup".to_owned(),
                    EventKind::BackupStarted,
                    format!("the daily backup of cluster \"{}\" started, {}", row.name, encrypted_with(kms_arn)),
                    Vec::new(),
                ),
                Some(e) => (
                    TaskStatus::Failed,
                    None,
                    format!("automatic daily backup failed: {}", e.message),
                    EventKind::BackupFailed,
                    format!("the daily backup of cluster \"{}\" failed: {}", row.name, e.message),
                    e.causes.clone(),
                ),
            };
            bstore::insert_backup(
                tx,
                &NewBackup {
                    project_id: pid,
                    cluster_id: cid,
                    name: &name,
                    description: &description,
                    backup_type: BackupType::Auto,
                    status,
                    settles_at_ms: settles,
                    size_bytes: backup_size_bytes(row.components.as_ref()),
                    region: &row.region,
                    kms_arn,
                    failure: failure.as_ref().map(|e| e.message.as_str()),
                },
                now,
            )?;
            store::insert_event(
                tx,
                &NewEvent { details, ..event(pid, kind, Some((cid, &row.name)), &row.region, message) },
            )?;
            Ok(())
        })
        .await?;
    }
    Ok(due.len())
}
