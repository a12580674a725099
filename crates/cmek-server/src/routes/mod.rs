//! One module per API area, each with its `router()`: an `OpenApiRouter` (utoipa-axum) that
//! registers each handler once, for axum and for the OpenAPI document alike.

pub mod backups;
pub mod clusters;
pub mod cmek;
pub mod ext;
pub mod params;
pub mod projects;
pub mod regions;
pub mod sandbox;

use crate::clock::now_ms;
use crate::db::StorageResult;
use crate::error::{ApiError, ApiResult};
use crate::extract::parse_id;
use crate::state::AppState;
use crate::store::{self, NewEvent};
use cmek_core::ext::EventKind;

/// The reference API: every handler registered once, with its OpenAPI operation.
pub fn api() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .merge(projects::router())
        .merge(cmek::router())
        .merge(clusters::router())
        .merge(backups::router())
        .merge(regions::router())
        .merge(ext::router())
        .merge(sandbox::router())
}

/// A `{project_id}` path segment.
pub fn project_id(raw: &str) -> ApiResult<u64> {
    parse_id("project_id", raw)
}

/// Reads what a request needs of a project that must exist (a 404 that names it otherwise).
pub(crate) async fn read_in_project<T, F>(s: &AppState, pid: u64, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&rusqlite::Connection) -> StorageResult<T> + Send + 'static,
{
    Ok(s.db
        .read(move |c| {
            store::require_project(c, pid)?;
            f(c)
        })
        .await?)
}

/// Reads what a request needs of a cluster of a project (a 404 that names which is missing).
pub(crate) async fn read_in_cluster<T, F>(s: &AppState, pid: u64, cid: u64, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&rusqlite::Connection, store::ClusterRow) -> StorageResult<T> + Send + 'static,
{
    Ok(s.db
        .read(move |c| {
            store::require_project(c, pid)?;
            let row = store::require_cluster(c, pid, cid)?;
            f(c, row)
        })
        .await?)
}

/// An event of a project, now, in a region (and of a cluster).
pub(crate) fn event<'a>(
    pid: u64,
    kind: EventKind,
    cluster: Option<(u64, &'a str)>,
    region: &'a str,
    message: String,
) -> NewEvent<'a> {
    NewEvent { project_id: pid, at_ms: now_ms(), kind, cluster, region: Some(region), message, details: Vec::new() }
}

/// Records a refusal as an event, then returns it: the one way every refused change is
/// recorded. The refusal is the answer even when its event cannot be recorded (logged as an
/// error): the caller learns why nothing changed, and nothing did.
pub(crate) async fn refused(
    s: &AppState,
    pid: u64,
    kind: EventKind,
    cluster: Option<(u64, String)>,
    region: String,
    err: ApiError,
) -> ApiError {
    let (message, details) = (err.body.message.clone(), err.body.details.clone());
    let logged =
        s.db.write(move |tx| {
            let c = cluster.as_ref().map(|(id, n)| (*id, n.as_str()));
            Ok(store::insert_event(tx, &NewEvent { details, ..event(pid, kind, c, &region, message) })?)
        })
        .await;
    if let Err(e) = logged {
        tracing::error!(error = %e, ?kind, "could not record a refusal event; the refusal is answered");
    }
    err
}
