//! The API in gateway mode: `/api/v1beta/*` forwarded upstream (reads through the cache, changes
//! recorded as events), and the extensions that make sense in front of a real organisation.
//! Authentication, rate limits and idempotency are the same layers as in reference mode (see
//! `app::router`); these handlers run after them, with the caller's `Credential`.

use super::Gateway;
use super::budget::Use;
use super::events::{self, Outcome};
use crate::auth::Credential;
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, PageQuery};
use crate::routes::project_id;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Json, Router};
use cmek_core::ErrorCode;
use cmek_core::api::ListAwsCmekResp;
use cmek_core::backup::{BackupEncryption, ListBackupKeysResp, ListBackupsResp};
use cmek_core::ext::{KeyHealth, KeyHealthList, ListEventsResp};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1beta/{*rest}", any(forward))
        .route("/api/ext/v1/server-info", get(crate::routes::ext::server_info))
        .route("/api/ext/v1/projects/{project_id}/key-health", get(key_health))
        .route("/api/ext/v1/projects/{project_id}/key-health/check", post(key_health))
        .route("/api/ext/v1/projects/{project_id}/events", get(list_events))
        .route("/api/ext/v1/projects/{project_id}/clusters/{cluster_id}/backup-keys", get(backup_keys))
        .route("/api/ext/v1/sandbox-kms", any(sandbox_off))
        .route("/api/ext/v1/sandbox-kms/{*rest}", any(sandbox_off))
}

fn gateway(s: &AppState) -> &Arc<Gateway> {
    s.gateway.as_ref().expect("the gateway router is only mounted in gateway mode")
}

async fn sandbox_off() -> ApiError {
    ApiError::new(
        ErrorCode::SandboxDisabled,
        "the sandbox KMS is off: this server is a gateway to a real organisation, whose keys are in AWS KMS",
    )
}

fn json_response(status: StatusCode, body: Bytes, age_secs: Option<u64>) -> Response {
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(age) = age_secs {
        h.insert(header::AGE, HeaderValue::from(age));
    }
    res
}

/// A read through the cache: (body, its age in seconds).
async fn cached_read(g: &Gateway, path_and_query: &str) -> Result<(Bytes, u64), ApiError> {
    let max_age = g.upstream.budget.cache_ms(g.cache_secs * 1000, now_ms());
    let e = g
        .cache
        .get_or_fetch(path_and_query, max_age, now_ms, || async {
            g.upstream.send(Method::GET, path_and_query, None, Use::Read).await.map(|a| a.body)
        })
        .await?;
    Ok((e.body.clone(), e.age_secs(now_ms())))
}

/// Everything under `/api/v1beta/`.
pub async fn forward(
    State(s): State<AppState>,
    Extension(cred): Extension<Credential>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let g = gateway(&s);
    let path_and_query = uri.path_and_query().map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    if method == Method::GET || method == Method::HEAD {
        return match cached_read(g, &path_and_query).await {
            Ok((body, age)) => json_response(StatusCode::OK, body, Some(age)),
            Err(e) => e.into_response(),
        };
    }
    if body.len() > crate::extract::MAX_BODY_BYTES {
        return ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body has {} bytes; at most {} are accepted", body.len(), crate::extract::MAX_BODY_BYTES),
        )
        .into_response();
    }
    change(&s, g, &cred, method, uri.path(), &path_and_query, body).await
}

/// Creates whose answer was lost, by (path, name): the next create of the same name looks
/// upstream first instead of sending again.
#[derive(Default)]
pub struct LostCreates(Mutex<HashSet<(String, String)>>);

impl LostCreates {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The list a create's result appears in: projects, or the project's clusters.
fn create_list(method: &Method, path: &str) -> Option<String> {
    if *method != Method::POST {
        return None;
    }
    let segs: Vec<&str> = path.trim_start_matches("/api/v1beta/").split('/').collect();
    match segs.as_slice() {
        ["projects"] => Some("/api/v1beta/projects".to_owned()),
        ["projects", pid, "clusters"] => Some(format!("/api/v1beta/projects/{pid}/clusters")),
        _ => None,
    }
}

/// What a change makes stale (key prefixes): everything of its project, and the project list
/// (its cluster counts).
fn stale_after(path: &str) -> Vec<String> {
    let mut out = vec!["/api/v1beta/projects?".to_owned()];
    let segs: Vec<&str> = path.trim_start_matches("/api/v1beta/").split('/').collect();
    if let ["projects", pid, ..] = segs.as_slice() {
        out.push(format!("/api/v1beta/projects/{pid}/"));
        out.push(format!("/api/v1beta/projects/{pid}?"));
    }
    out
}

fn invalidate_after(g: &Gateway, path: &str) {
    g.cache.invalidate(&stale_after(path), &["/api/v1beta/projects".to_owned()]);
}

/// Looks upstream for an item named `name` created since `since_secs` (a create whose answer was
/// lost); its id.
async fn find_created(g: &Gateway, list: &str, name: &str, since_secs: i64) -> Result<Option<String>, ApiError> {
    for page in 1..=20 {
        let a = g.upstream.send(Method::GET, &format!("{list}?page={page}&page_size=100"), None, Use::Write).await?;
        let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap_or_default();
        let items = v["items"].as_array().cloned().unwrap_or_default();
        let found = items.iter().find(|i| {
            let created = i["create_timestamp"].as_str().and_then(|t| t.parse::<i64>().ok()).unwrap_or(i64::MAX);
            i["name"].as_str() == Some(name) && created >= since_secs
        });
        if let Some(i) = found {
            return Ok(i["id"].as_str().map(str::to_owned));
        }
        let total = v["total"].as_i64().unwrap_or(0);
        if items.is_empty() || page * 100 >= total {
            break;
        }
    }
    Ok(None)
}

fn is_lost_answer(e: &ApiError) -> bool {
    matches!(e.code(), Some(ErrorCode::UpstreamTimeout | ErrorCode::UpstreamUnreachable))
}

async fn change(
    s: &AppState,
    g: &Gateway,
    cred: &Credential,
    method: Method,
    path: &str,
    path_and_query: &str,
    body: Bytes,
) -> Response {
    let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let create = create_list(&method, path).zip(req["name"].as_str().map(str::to_owned));
    let started_secs = now_ms() / 1000 - 5;
    // A create of a name whose earlier create lost its answer: look before sending again.
    if let Some((list, name)) = &create
        && g.lost.lock().contains(&(path.to_owned(), name.clone()))
    {
        match find_created(g, list, name, 0).await {
            Ok(Some(id)) => {
                g.lost.lock().remove(&(path.to_owned(), name.clone()));
                return found_after_loss(s, g, cred, &method, path, &body, &id).await;
            }
            Ok(None) => {}
            Err(e) => return e.into_response(),
        }
    }
    let sent = if body.is_empty() { None } else { Some(body.clone()) };
    let result = g.upstream.send(method.clone(), path_and_query, sent, Use::Write).await;
    invalidate_after(g, path);
    match result {
        Ok(a) => {
            let answer = String::from_utf8_lossy(&a.body).into_owned();
            if let Some((_, name)) = &create {
                g.lost.lock().remove(&(path.to_owned(), name.clone()));
            }
            let out = Outcome { status: a.status.as_u16(), answer: &answer, accepted: true, note: None };
            events::record(&s.db, cred, &method, path, &body, out).await;
            json_response(a.status, a.body, None)
        }
        Err(mut e) if is_lost_answer(&e) && create.is_some() => {
            let (list, name) = create.expect("checked");
            g.lost.lock().insert((path.to_owned(), name.clone()));
            match find_created(g, &list, &name, started_secs).await {
                Ok(Some(id)) => {
                    g.lost.lock().remove(&(path.to_owned(), name.clone()));
                    found_after_loss(s, g, cred, &method, path, &body, &id).await
                }
                Ok(None) => {
                    e.body.message.push_str(&format!(
                        " Nothing named \"{name}\" exists upstream yet; creating it again is checked against the upstream first, so it is not made twice."
                    ));
                    record_error(s, cred, &method, path, &body, &e).await;
                    e.into_response()
                }
                Err(_) => {
                    e.body.message.push_str(&format!(
                        " Whether \"{name}\" was created could not be checked either; creating it again is checked against the upstream first."
                    ));
                    record_error(s, cred, &method, path, &body, &e).await;
                    e.into_response()
                }
            }
        }
        Err(e) => {
            if e.status != StatusCode::TOO_MANY_REQUESTS {
                record_error(s, cred, &method, path, &body, &e).await;
            }
            e.into_response()
        }
    }
}

async fn record_error(s: &AppState, cred: &Credential, method: &Method, path: &str, body: &[u8], e: &ApiError) {
    let answer = serde_json::to_string(&e.body).unwrap_or_default();
    let out = Outcome { status: e.status.as_u16(), answer: &answer, accepted: false, note: None };
    events::record(&s.db, cred, method, path, body, out).await;
}

async fn found_after_loss(
    s: &AppState,
    g: &Gateway,
    cred: &Credential,
    method: &Method,
    path: &str,
    body: &[u8],
    id: &str,
) -> Response {
    invalidate_after(g, path);
    let answer = serde_json::json!({ "id": id }).to_string();
    let note = "the upstream's answer was lost; the gateway found what it created by its name instead of sending the create again";
    let out = Outcome { status: 200, answer: &answer, accepted: true, note: Some(note) };
    events::record(&s.db, cred, method, path, body, out).await;
    json_response(StatusCode::OK, Bytes::from(answer), None)
}

/// Key health in gateway mode: the project's keys as the upstream lists them, each checked now
/// through the server's KMS client (nothing is stored: the upstream owns the project).
pub async fn key_health(State(s): State<AppState>, ApiPath(raw): ApiPath<String>) -> ApiResult<Json<KeyHealthList>> {
    let pid = project_id(&raw)?;
    let (body, _) = cached_read(gateway(&s), &format!("/api/v1beta/projects/{pid}/aws-cmek")).await?;
    let keys: ListAwsCmekResp = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            ErrorCode::UpstreamUnreachable,
            format!("the upstream's list of the project's keys is not v1beta: {e}"),
        )
    })?;
    let mut items = Vec::new();
    for spec in keys.items {
        let check = s.key_access.check(&spec.kms_arn, &spec.region).await;
        let before = KeyHealth::unchecked(pid.to_string(), &spec);
        items.push(crate::key_access::health_from(&before, &check, now_ms() / 1000));
    }
    Ok(Json(KeyHealthList { items }))
}

/// Which key encrypts each of a cluster's backups. TiDB Cloud does not say it per backup; the
/// user guide does: a CMEK project's backups are encrypted with the project's key. So each backup
/// the upstream lists is answered with the project's configured key (none: the escrow key).
pub async fn backup_keys(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<(String, String)>,
    PageQuery(page): PageQuery,
) -> ApiResult<Json<ListBackupKeysResp>> {
    let pid = project_id(&raw.0)?;
    let cid = crate::extract::parse_id("cluster_id", &raw.1)?;
    let g = gateway(&s);
    let not_v1beta = |what: &str, e: serde_json::Error| {
        ApiError::new(ErrorCode::UpstreamUnreachable, format!("the upstream's {what} is not v1beta: {e}"))
    };
    let (body, _) = cached_read(g, &format!("/api/v1beta/projects/{pid}/aws-cmek")).await?;
    let keys: ListAwsCmekResp =
        serde_json::from_slice(&body).map_err(|e| not_v1beta("list of the project's keys", e))?;
    let path =
        format!("/api/v1beta/projects/{pid}/clusters/{cid}/backups?page={}&page_size={}", page.page, page.page_size);
    let (body, _) = cached_read(g, &path).await?;
    let backups: ListBackupsResp = serde_json::from_slice(&body).map_err(|e| not_v1beta("list of backups", e))?;
    let key = cmek_core::project_cmek::configured_key(&keys.items);
    let items = backups
        .items
        .into_iter()
        .map(|b| BackupEncryption {
            backup_id: b.id,
            region: key.map(|k| k.region.clone()).unwrap_or_default(),
            kms_arn: key.map(|k| k.kms_arn.clone()),
            failure: None,
        })
        .collect();
    Ok(Json(ListBackupKeysResp { items }))
}

/// The project's events recorded by this gateway, newest first.
pub async fn list_events(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    PageQuery(page): PageQuery,
) -> ApiResult<Json<ListEventsResp>> {
    crate::routes::ext::events_page(&s, project_id(&raw)?, page, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_and_what_changes_make_stale() {
        assert_eq!(create_list(&Method::POST, "/api/v1beta/projects").as_deref(), Some("/api/v1beta/projects"));
        assert_eq!(
            create_list(&Method::POST, "/api/v1beta/projects/7/clusters").as_deref(),
            Some("/api/v1beta/projects/7/clusters")
        );
        assert_eq!(create_list(&Method::POST, "/api/v1beta/projects/7/aws-cmek"), None);
        assert_eq!(create_list(&Method::PATCH, "/api/v1beta/projects/7/clusters"), None);
        let stale = stale_after("/api/v1beta/projects/7/clusters/9");
        assert!(stale.contains(&"/api/v1beta/projects/7/".to_owned()));
        assert!(stale.contains(&"/api/v1beta/projects?".to_owned()));
    }
}
