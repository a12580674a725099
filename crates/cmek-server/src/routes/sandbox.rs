//! The sandbox KMS's API, under `/api/ext/v1/sandbox-kms`: what a person does in the AWS KMS
//! console (create a key, edit its policy, disable/enable, schedule/cancel deletion, rotate).
//! Every change re-checks the projects that use the key, so their health follows at once.

use super::params::KeyPath;
use crate::error::ApiResult;
use crate::extract::{ApiPath, JsonBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use cmek_core::ext::{
    CreateSandboxKeyReq, KeyRotationReq, ListSandboxKeysResp, PutKeyPolicyReq, SandboxKey, ScheduleDeletionReq,
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sandbox_keys, create_sandbox_key))
        .routes(routes!(get_sandbox_key))
        .routes(routes!(put_key_policy))
        .routes(routes!(enable_key))
        .routes(routes!(disable_key))
        .routes(routes!(schedule_key_deletion))
        .routes(routes!(cancel_key_deletion))
        .routes(routes!(rotate_key_on_demand))
        .routes(routes!(set_key_rotation))
}

/// A changed key: re-check whoever uses it, then answer it.
async fn changed(s: &AppState, key: SandboxKey) -> ApiResult<Json<SandboxKey>> {
    s.key_access.recheck_arn(&key.arn).await?;
    Ok(Json(key))
}

/// ListKeys.
#[utoipa::path(get, path = "/api/ext/v1/sandbox-kms/keys", tag = "Sandbox KMS", operation_id = "SandboxListKeys",
    responses((status = 200, description = "A successful response.", body = ListSandboxKeysResp)))]
pub async fn list_sandbox_keys(State(s): State<AppState>) -> ApiResult<Json<ListSandboxKeysResp>> {
    Ok(Json(ListSandboxKeysResp { items: s.sandbox.list().await? }))
}

/// CreateKey: a symmetric key in a region, with the given policy or the AWS default one.
#[utoipa::path(post, path = "/api/ext/v1/sandbox-kms/keys", tag = "Sandbox KMS", operation_id = "SandboxCreateKey",
    request_body = CreateSandboxKeyReq,
    responses((status = 200, description = "A successful response.", body = SandboxKey)))]
pub async fn create_sandbox_key(
    State(s): State<AppState>,
    JsonBody(req): JsonBody<CreateSandboxKeyReq>,
) -> ApiResult<Json<SandboxKey>> {
    Ok(Json(s.sandbox.create(req).await?))
}

/// DescribeKey, GetKeyPolicy, GetKeyRotationStatus and ListKeyRotations in one.
#[utoipa::path(get, path = "/api/ext/v1/sandbox-kms/keys/{key_id}", tag = "Sandbox KMS", operation_id = "SandboxGetKey",
    params(("key_id" = String, Path, description = "The key id (UUID or mrk-…).")),
    responses((status = 200, description = "A successful response.", body = SandboxKey)))]
pub async fn get_sandbox_key(
    State(s): State<AppState>,
    ApiPath(key_id): ApiPath<String>,
) -> ApiResult<Json<SandboxKey>> {
    Ok(Json(s.sandbox.get(key_id).await?))
}

/// PutKeyPolicy.
#[utoipa::path(put, path = "/api/ext/v1/sandbox-kms/keys/{key_id}/policy", tag = "Sandbox KMS", operation_id = "SandboxPutKeyPolicy",
    params(KeyPath),
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
    params(KeyPath),
    responses((status = 200, description = "A successful response.", body = SandboxKey)))]
pub async fn enable_key(State(s): State<AppState>, ApiPath(key_id): ApiPath<String>) -> ApiResult<Json<SandboxKey>> {
    let key = s.sandbox.enable(key_id).await?;
    changed(&s, key).await
}

/// DisableKey.
#[utoipa::path(post, path = "/api/ext/v1/sandbox-kms/keys/{key_id}/disable", tag = "Sandbox KMS", operation_id = "SandboxDisableKey",
    params(KeyPath),
    responses((status = 200, description = "A successful response.", body = SandboxKey)))]
pub async fn disable_key(State(s): State<AppState>, ApiPath(key_id): ApiPath<String>) -> ApiResult<Json<SandboxKey>> {
    let key = s.sandbox.disable(key_id).await?;
    changed(&s, key).await
}

/// ScheduleKeyDeletion (7–30 days; 30 by default).
#[utoipa::path(post, path = "/api/ext/v1/sandbox-kms/keys/{key_id}/schedule-deletion", tag = "Sandbox KMS", operation_id = "SandboxScheduleKeyDeletion",
    params(KeyPath),
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
    params(KeyPath),
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
    params(KeyPath),
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
    params(KeyPath),
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
