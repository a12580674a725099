//! The sandbox KMS's API, under `/api/ext/v1/sandbox-kms`: what a person does in the AWS KMS
//! console (create a key, edit its policy, disable/enable, schedule/cancel deletion, rotate).
//! Every change re-checks the projects that use the key, so their health follows at once.

use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiPath, JsonBody};
use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use cmek_core::ext::{
    CreateSandboxKeyReq, KeyRotationReq, ListSandboxKeysResp, PutKeyPolicyReq, SandboxKey, ScheduleDeletionReq,
};

pub fn router() -> Router<AppState> {
    let key = "/api/ext/v1/sandbox-kms/keys/{key_id}";
    Router::new()
        .route("/api/ext/v1/sandbox-kms/keys", get(list_keys).post(create_key))
        .route(key, get(get_key))
        .route(&format!("{key}/policy"), put(put_key_policy))
        .route(&format!("{key}/enable"), post(enable_key))
        .route(&format!("{key}/disable"), post(disable_key))
        .route(&format!("{key}/schedule-deletion"), post(schedule_key_deletion))
        .route(&format!("{key}/cancel-deletion"), post(cancel_key_deletion))
        .route(&format!("{key}/rotate"), post(rotate_key_on_demand))
        .route(&format!("{key}/rotation"), put(set_key_rotation))
}

/// A changed key: re-check whoever uses it, then answer it.
async fn changed(s: &AppState, key: SandboxKey) -> ApiResult<Json<SandboxKey>> {
    s.keys.recheck_arn(&key.arn).await?;
    Ok(Json(key))
}

/// ListKeys.
#[utoipa::path(get, path = "/api/ext/v1/sandbox-kms/keys", tag = "Sandbox KMS", operation_id = "SandboxListKeys",
    responses((status = 200, description = "A successful response.", body = ListSandboxKeysResp)))]
pub async fn list_keys(State(s): State<AppState>) -> ApiResult<Json<ListSandboxKeysResp>> {
    Ok(Json(ListSandboxKeysResp { items: s.sandbox.list().await? }))
}

/// CreateKey: a symmetric key in a region, with the given policy or the AWS default one.
#[utoipa::path(post, path = "/api/ext/v1/sandbox-kms/keys", tag = "Sandbox KMS", operation_id = "SandboxCreateKey",
    request_body = CreateSandboxKeyReq,
    responses((status = 200, description = "A successful response.", body = SandboxKey)))]
pub async fn create_key(
    State(s): State<AppState>,
    JsonBody(req): JsonBody<CreateSandboxKeyReq>,
) -> ApiResult<Json<SandboxKey>> {
    Ok(Json(s.sandbox.create(req).await?))
}

/// DescribeKey, GetKeyPolicy, GetKeyRotationStatus and ListKeyRotations in one.
#[utoipa::path(get, path = "/api/ext/v1/sandbox-kms/keys/{key_id}", tag = "Sandbox KMS", operation_id = "SandboxGetKey",
    params(("key_id" = String, Path, description = "The key id (UUID or mrk-…).")),
    responses((status = 200, description = "A successful response.", body = SandboxKey)))]
pub async fn get_key(State(s): State<AppState>, ApiPath(key_id): ApiPath<String>) -> ApiResult<Json<SandboxKey>> {
    Ok(Json(s.sandbox.get(key_id).await?))
}

/// PutKeyPolicy.
#[utoipa::path(put, path = "/api/ext/v1/sandbox-kms/keys/{key_id}/policy", tag = "Sandbox KMS", operation_id = "SandboxPutKeyPolicy",
    params(("key_id" = String, Path, description = "The key id.")),
    request_body = PutKeyPolicyReq,
    responses((status = 200, description = "A successful response.", body = SandboxKey)))]
pub async fn put_key_policy(
    State(s): State<AppState>,
    ApiPath(key_id): ApiPath<String>,
    JsonBody(req): JsonBody<PutKeyPolicyReq>,
) -> ApiResult<Json<SandboxKey>> {
    let key = s.sandbox.put_policy(key_id, req.policy).await?;
    changed(&s, key).await
}

/// EnableKey.
#[utoipa::path(post, path = "/api/ext/v1/sandbox-kms/keys/{key_id}/enable", tag = "Sandbox KMS", operation_id = "SandboxEnableKey",
    params(("key_id" = String, Path, description = "The key id.")),
    responses((status = 200, description = "A successful response.", body = SandboxKey)))]
pub async fn enable_key(State(s): State<AppState>, ApiPath(key_id): ApiPath<String>) -> ApiResult<Json<SandboxKey>> {
    let key = s.sandbox.enable(key_id).await?;
    changed(&s, key).await
}

/// DisableKey.
#[utoipa::path(post, path = "/api/ext/v1/sandbox-kms/keys/{key_id}/disable", tag = "Sandbox KMS", operation_id = "SandboxDisableKey",
    params(("key_id" = String, Path, description = "The key id.")),
    responses((status = 200, description = "A successful response.", body = SandboxKey)))]
pub async fn disable_key(State(s): State<AppState>, ApiPath(key_id): ApiPath<String>) -> ApiResult<Json<SandboxKey>> {
    let key = s.sandbox.disable(key_id).await?;
    changed(&s, key).await
}

/// ScheduleKeyDeletion (7–30 days; 30 by default).
#[utoipa::path(post, path = "/api/ext/v1/sandbox-kms/keys/{key_id}/schedule-deletion", tag = "Sandbox KMS", operation_id = "SandboxScheduleKeyDeletion",
    params(("key_id" = String, Path, description = "The key id.")),
    request_body = ScheduleDeletionReq,
    responses((status = 200, description = "A successful response.", body = SandboxKey)))]
pub async fn schedule_key_deletion(
    State(s): State<AppState>,
    ApiPath(key_id): ApiPath<String>,
    JsonBody(req): JsonBody<ScheduleDeletionReq>,
) -> ApiResult<Json<SandboxKey>> {
    let key = s.sandbox.schedule_deletion(key_id, req.pending_window_days).await?;
    changed(&s, key).await
}

/// CancelKeyDeletion (the key comes back Disabled, as in KMS).
#[utoipa::path(post, path = "/api/ext/v1/sandbox-kms/keys/{key_id}/cancel-deletion", tag = "Sandbox KMS", operation_id = "SandboxCancelKeyDeletion",
    params(("key_id" = String, Path, description = "The key id.")),
    responses((status = 200, description = "A successful response.", body = SandboxKey)))]
pub async fn cancel_key_deletion(
    State(s): State<AppState>,
    ApiPath(key_id): ApiPath<String>,
) -> ApiResult<Json<SandboxKey>> {
    let key = s.sandbox.cancel_deletion(key_id).await?;
    changed(&s, key).await
}

/// RotateKeyOnDemand (the key id and ARN do not change).
#[utoipa::path(post, path = "/api/ext/v1/sandbox-kms/keys/{key_id}/rotate", tag = "Sandbox KMS", operation_id = "SandboxRotateKeyOnDemand",
    params(("key_id" = String, Path, description = "The key id.")),
    responses((status = 200, description = "A successful response.", body = SandboxKey)))]
pub async fn rotate_key_on_demand(
    State(s): State<AppState>,
    ApiPath(key_id): ApiPath<String>,
) -> ApiResult<Json<SandboxKey>> {
    let key = s.sandbox.rotate_now(key_id).await?;
    changed(&s, key).await
}

/// EnableKeyRotation / DisableKeyRotation.
#[utoipa::path(put, path = "/api/ext/v1/sandbox-kms/keys/{key_id}/rotation", tag = "Sandbox KMS", operation_id = "SandboxSetKeyRotation",
    params(("key_id" = String, Path, description = "The key id.")),
    request_body = KeyRotationReq,
    responses((status = 200, description = "A successful response.", body = SandboxKey)))]
pub async fn set_key_rotation(
    State(s): State<AppState>,
    ApiPath(key_id): ApiPath<String>,
    JsonBody(req): JsonBody<KeyRotationReq>,
) -> ApiResult<Json<SandboxKey>> {
    let key = s.sandbox.set_rotation(key_id, req.enabled, req.period_days).await?;
    changed(&s, key).await
}
