//! The sandbox KMS's AWS endpoint: AWS KMS's own wire protocol (JSON 1.1, `X-Amz-Target:
//! TrentService.<Operation>`, SigV4) on `POST /` of this server, so the AWS CLI and SDKs work
//! against it with `--endpoint-url http://<listen address>`. The server's own key checks use the
//! same endpoint through `aws-sdk-kms` (see `aws.rs`).
//!
//! Operations: CreateKey, DescribeKey, ListKeys, GetKeyPolicy, PutKeyPolicy, EnableKey,
//! DisableKey, ScheduleKeyDeletion, CancelKeyDeletion, EnableKeyRotation, DisableKeyRotation,
//! GetKeyRotationStatus, ListKeyRotations, RotateKeyOnDemand — with AWS's field names, key states and error types.

use super::sandbox::{DEFAULT_DELETION_DAYS, DEFAULT_ROTATION_DAYS, SandboxError, SandboxKms};
use super::sigv4::{self, SandboxCredentials};
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use cmek_core::arn::KmsKeyArn;
use cmek_core::ext::{CreateSandboxKeyReq, SandboxKey};
use cmek_core::kms::{DELETION_WINDOW_DAYS, KeyState, ROTATION_PERIOD_DAYS};
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The largest request body the endpoint reads (a key policy is at most 32 KiB).
const MAX_BODY: usize = 256 * 1024;
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// An AWS error answer: `{"__type": …, "message": …}` with status 400 (as KMS sends them).
#[derive(Debug)]
pub struct AwsError {
    pub error_type: &'static str,
    pub message: String,
}

fn err(error_type: &'static str, message: impl Into<String>) -> AwsError {
    AwsError { error_type, message: message.into() }
}

type AwsResult<T> = Result<T, AwsError>;

/// The endpoint: the sandbox's keys and the one access key pair it accepts.
#[derive(Clone)]
pub struct AwsEndpoint {
    kms: Arc<SandboxKms>,
    creds: SandboxCredentials,
}

impl std::fmt::Debug for AwsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsEndpoint").field("access_key_id", &self.creds.access_key_id).finish_non_exhaustive()
    }
}

fn response(status: StatusCode, body: Vec<u8>) -> http::Response<Bytes> {
    let mut r = http::Response::new(Bytes::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        r.headers_mut().insert("x-amzn-requestid", id);
    }
    r
}

impl AwsError {
    fn into_response(self) -> http::Response<Bytes> {
        let body = json!({ "__type": self.error_type, "message": self.message });
        let mut r = response(StatusCode::BAD_REQUEST, body.to_string().into_bytes());
        if let Ok(v) = HeaderValue::from_str(self.error_type) {
            r.headers_mut().insert("x-amzn-errortype", v);
        }
        r
    }
}

/// The sandbox's errors in AWS's terms.
fn from_api(e: SandboxError) -> AwsError {
    match e {
        SandboxError::NotFound { .. } => err("NotFoundException", e.to_string()),
        SandboxError::RotationLimit { .. } => err("LimitExceededException", e.to_string()),
        SandboxError::InvalidState { .. } => err("KMSInvalidStateException", e.to_string()),
        SandboxError::Invalid(rule) => {
            let details: Vec<String> = rule.fields.iter().map(cmek_core::FieldError::to_detail).collect();
            let details = if details.is_empty() { String::new() } else { format!(": {}", details.join("; ")) };
            let message = format!("{}{details}", rule.message);
            if message.contains("MalformedPolicyDocument") {
                err("MalformedPolicyDocumentException", message)
            } else {
                err("ValidationException", message)
            }
        }
        // The server's own failure: logged here, where this answer is made (it never becomes an
        // `ApiError` answer), and worded as every internal failure is.
        SandboxError::Storage(s) => {
            let api = ApiError::from(s);
            api.log_internal();
            err("KMSInternalException", api.body.message)
        }
    }
}

fn epoch(secs: i64) -> Value {
    json!(secs as f64)
}

/// `KeyMetadata` as DescribeKey and CreateKey answer it.
fn key_metadata(k: &SandboxKey) -> Value {
    let mut m = json!({
        "AWSAccountId": k.account_id,
        "KeyId": k.key_id,
        "Arn": k.arn,
        "CreationDate": epoch(k.created_at),
        "Enabled": k.state == KeyState::Enabled,
        "Description": k.description,
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyState": k.state.as_str(),
        "Origin": "AWS_KMS",
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
        "MultiRegion": k.multi_region,
    });
    if let Some(d) = k.deletion_date {
        m["DeletionDate"] = epoch(d);
    }
    if k.multi_region {
        m["MultiRegionConfiguration"] = json!({
            "MultiRegionKeyType": "PRIMARY",
            "PrimaryKey": { "Arn": k.arn, "Region": k.region },
            "ReplicaKeys": [],
        });
    }
    m
}

/// The request's JSON members, with the types KMS's model gives them.
struct Input(Map<String, Value>);

impl Input {
    fn str(&self, name: &str) -> AwsResult<Option<&str>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(err("SerializationException", format!("{name} must be a string, not {other}"))),
        }
    }

    fn required(&self, name: &str) -> AwsResult<&str> {
        self.str(name)?.ok_or_else(|| {
            err(
                "ValidationException",
                format!(
                    "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                    lower_first(name)
                ),
            )
        })
    }

    fn int(&self, name: &str) -> AwsResult<Option<i64>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(other) => Err(err("SerializationException", format!("{name} must be an integer, not {other}"))),
        }
    }

    fn bool(&self, name: &str) -> AwsResult<Option<bool>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(err("SerializationException", format!("{name} must be true or false, not {other}"))),
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

fn out_of_range(name: &str, value: i64, range: &std::ops::RangeInclusive<i64>) -> AwsError {
    err(
        "ValidationException",
        format!(
            "1 validation error detected: Value '{value}' at '{}' failed to satisfy constraint: Member must have \
             value between {} and {}",
            lower_first(name),
            range.start(),
            range.end()
        ),
    )
}

/// Where a page starts: the `NextMarker` of the page before.
fn marker(input: &Input) -> AwsResult<usize> {
    match input.str("Marker")? {
        None => Ok(0),
        Some(m) => m
            .parse::<usize>()
            .map_err(|_| err("InvalidMarkerException", format!("Marker \"{m}\" is not one this endpoint gave"))),
    }
}

fn policy_name(input: &Input) -> AwsResult<()> {
    match input.str("PolicyName")? {
        None | Some("default") => Ok(()),
        Some(other) => Err(err(
            "NotFoundException",
            format!("No such policy exists: key policies are named \"default\", not \"{other}\""),
        )),
    }
}

impl AwsEndpoint {
    pub fn new(kms: Arc<SandboxKms>, creds: SandboxCredentials) -> Self {
        Self { kms, creds }
    }

    pub fn credentials(&self) -> &SandboxCredentials {
        &self.creds
    }

    /// Answers one request of the AWS KMS protocol.
    pub async fn serve(&self, req: http::Request<Bytes>) -> http::Response<Bytes> {
        match self.answer(req).await {
            Ok(body) => {
                let bytes = if body.as_object().is_some_and(Map::is_empty) {
                    Vec::new()
                } else {
                    body.to_string().into_bytes()
                };
                response(StatusCode::OK, bytes)
            }
            Err(e) => e.into_response(),
        }
    }

    async fn answer(&self, req: http::Request<Bytes>) -> AwsResult<Value> {
        let (parts, body) = req.into_parts();
        let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let Some(op) = target.strip_prefix("TrentService.") else {
            return Err(err(
                "UnknownOperationException",
                format!("\"{target}\" is not an AWS KMS operation (TrentService.*)"),
            ));
        };
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let scope = sigv4::verify(
            &self.creds,
            parts.method.as_str(),
            path,
            &parts.headers,
            &body,
            std::time::SystemTime::now(),
        )
        .map_err(|f| err(f.error_type, f.message))?;
        let input = if body.is_empty() {
            Map::new()
        } else {
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(m)) => m,
                Ok(_) => return Err(err("SerializationException", "the request body must be a JSON object")),
                Err(e) => return Err(err("SerializationException", format!("the request body is not JSON: {e}"))),
            }
        };
        self.dispatch(op, &scope.region, Input(input)).await
    }

    /// The key a `KeyId` member names (key id or key ARN), in the region the request was
    /// signed for, with what KMS answers when it cannot be had.
    async fn key(&self, input: &Input, region: &str, action: &str) -> AwsResult<SandboxKey> {
        let key_id = input.required("KeyId")?;
        if key_id.starts_with("alias/") || key_id.contains(":alias/") {
            return Err(err(
                "NotFoundException",
                format!("Alias {key_id} is not found: the sandbox KMS has no aliases"),
            ));
        }
        let id = if key_id.starts_with("arn:") {
            let arn =
                KmsKeyArn::parse(key_id).map_err(|e| err("NotFoundException", format!("Invalid arn {key_id}: {e}")))?;
            if arn.account != self.kms.account_id() {
                return Err(err(
                    "AccessDeniedException",
                    format!(
                        "User: arn:aws:iam::{}:user/sandbox is not authorized to perform: kms:{action} on resource: \
                         {key_id} because no resource-based policy allows the kms:{action} action (the key is in \
                         account {}, the sandbox KMS's keys are in account {})",
                        self.kms.account_id(),
                        arn.account,
                        self.kms.account_id()
                    ),
                ));
            }
            if arn.region != region {
                return Err(err(
                    "NotFoundException",
                    format!(
                        "Invalid arn {key_id}: the key is in region {}, the request was made to {region}",
                        arn.region
                    ),
                ));
            }
            arn.key_id
        } else {
            key_id.to_owned()
        };
        let key = self.kms.get(id.clone()).await.map_err(|e| match e {
            SandboxError::NotFound { .. } => err(
                "NotFoundException",
                format!("Key 'arn:aws:kms:{region}:{}:key/{id}' does not exist", self.kms.account_id()),
            ),
            // Storage failures stay what they are (KMSInternalException), not a missing key.
            _ => from_api(e),
        })?;
        if key.region != region {
            return Err(err(
                "NotFoundException",
                format!("Key '{id}' does not exist in {region} (it is in {})", key.region),
            ));
        }
        Ok(key)
    }

    async fn dispatch(&self, op: &str, region: &str, input: Input) -> AwsResult<Value> {
        let kms = &self.kms;
        match op {
            "CreateKey" => {
                for (name, only) in [
                    ("KeyUsage", "ENCRYPT_DECRYPT"),
                    ("KeySpec", "SYMMETRIC_DEFAULT"),
                    ("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT"),
                    ("Origin", "AWS_KMS"),
                ] {
                    if let Some(v) = input.str(name)?.filter(|v| *v != only) {
                        return Err(err(
                            "UnsupportedOperationException",
                            format!("{name} {v} is not supported by the sandbox KMS: it makes {only} keys only"),
                        ));
                    }
                }
                if input.0.get("Tags").is_some_and(|t| t.as_array().is_some_and(|a| !a.is_empty())) {
                    return Err(err(
                        "UnsupportedOperationException",
                        "the sandbox KMS does not store tags; create the key without Tags",
                    ));
                }
                input.bool("BypassPolicyLockoutSafetyCheck")?;
                let req = CreateSandboxKeyReq {
                    region: region.to_owned(),
                    multi_region: input.bool("MultiRegion")?,
                    description: input.str("Description")?.map(str::to_owned),
                    policy: input.str("Policy")?.map(str::to_owned),
                };
                let k = kms.create(req).await.map_err(from_api)?;
                Ok(json!({ "KeyMetadata": key_metadata(&k) }))
            }
            "DescribeKey" => {
                let k = self.key(&input, region, "DescribeKey").await?;
                Ok(json!({ "KeyMetadata": key_metadata(&k) }))
            }
            "ListKeys" => {
                let limit = input.int("Limit")?.unwrap_or(100);
                if !(1..=1000).contains(&limit) {
                    return Err(out_of_range("Limit", limit, &(1..=1000)));
                }
                let start = marker(&input)?;
                let keys: Vec<SandboxKey> =
                    kms.list().await.map_err(from_api)?.into_iter().filter(|k| k.region == region).collect();
                let end = (start + limit as usize).min(keys.len());
                let page: Vec<Value> = keys
                    .get(start..end)
                    .unwrap_or_default()
                    .iter()
                    .map(|k| json!({ "KeyId": k.key_id, "KeyArn": k.arn }))
                    .collect();
                let mut out = json!({ "Keys": page, "Truncated": end < keys.len() });
                if end < keys.len() {
                    out["NextMarker"] = json!(end.to_string());
                }
                Ok(out)
            }
            "GetKeyPolicy" => {
                policy_name(&input)?;
                let k = self.key(&input, region, "GetKeyPolicy").await?;
                Ok(json!({ "Policy": k.policy, "PolicyName": "default" }))
            }
            "PutKeyPolicy" => {
                policy_name(&input)?;
                let policy = input.required("Policy")?.to_owned();
                input.bool("BypassPolicyLockoutSafetyCheck")?;
                let k = self.key(&input, region, "PutKeyPolicy").await?;
                kms.put_policy(k.key_id, policy).await.map_err(from_api)?;
                Ok(json!({}))
            }
            "EnableKey" | "DisableKey" => {
                let k = self.key(&input, region, op).await?;
                if op == "EnableKey" { kms.enable(k.key_id).await } else { kms.disable(k.key_id).await }
                    .map_err(from_api)?;
                Ok(json!({}))
            }
            "ScheduleKeyDeletion" => {
                let days = input.int("PendingWindowInDays")?.unwrap_or(DEFAULT_DELETION_DAYS);
                if !DELETION_WINDOW_DAYS.contains(&days) {
                    return Err(out_of_range("PendingWindowInDays", days, &DELETION_WINDOW_DAYS));
                }
                let k = self.key(&input, region, op).await?;
                let k = kms.schedule_deletion(k.key_id, Some(days)).await.map_err(from_api)?;
                Ok(json!({
                    "KeyId": k.arn,
                    "DeletionDate": epoch(k.deletion_date.unwrap_or_default()),
                    "KeyState": k.state.as_str(),
                    "PendingWindowInDays": days,
                }))
            }
            "CancelKeyDeletion" => {
                let k = self.key(&input, region, op).await?;
                let k = kms.cancel_deletion(k.key_id).await.map_err(from_api)?;
                Ok(json!({ "KeyId": k.arn }))
            }
            "EnableKeyRotation" | "DisableKeyRotation" | "RotateKeyOnDemand" => {
                let period = if op == "EnableKeyRotation" { input.int("RotationPeriodInDays")? } else { None };
                if let Some(p) = period.filter(|p| !ROTATION_PERIOD_DAYS.contains(p)) {
                    return Err(out_of_range("RotationPeriodInDays", p, &ROTATION_PERIOD_DAYS));
                }
                let k = self.key(&input, region, op).await?;
                // KMS says DisabledException for a Disabled key, KMSInvalidStateException otherwise.
                if k.state == KeyState::Disabled {
                    return Err(err("DisabledException", format!("{} is disabled: enable it before {op}", k.arn)));
                }
                match op {
                    "EnableKeyRotation" => {
                        kms.set_rotation(k.key_id, true, Some(period.unwrap_or(DEFAULT_ROTATION_DAYS)))
                            .await
                            .map_err(from_api)?;
                        Ok(json!({}))
                    }
                    "DisableKeyRotation" => {
                        kms.set_rotation(k.key_id, false, None).await.map_err(from_api)?;
                        Ok(json!({}))
                    }
                    _ => {
                        let k = kms.rotate_now(k.key_id).await.map_err(from_api)?;
                        Ok(json!({ "KeyId": k.key_id }))
                    }
                }
            }
            "GetKeyRotationStatus" => {
                let k = self.key(&input, region, op).await?;
                let mut out = json!({ "KeyId": k.arn, "KeyRotationEnabled": k.rotation.enabled });
                if k.rotation.enabled {
                    out["RotationPeriodInDays"] = json!(k.rotation.period_days.unwrap_or(DEFAULT_ROTATION_DAYS));
                    if let Some(next) = k.rotation.next_rotation_at {
                        out["NextRotationDate"] = epoch(next);
                    }
                }
                Ok(out)
            }
            "ListKeyRotations" => {
                let limit = input.int("Limit")?.unwrap_or(100);
                if !(1..=1000).contains(&limit) {
                    return Err(out_of_range("Limit", limit, &(1..=1000)));
                }
                let start = marker(&input)?;
                let k = self.key(&input, region, op).await?;
                let end = (start + limit as usize).min(k.rotations.len());
                let page: Vec<Value> = k.rotations.get(start..end).unwrap_or_default().iter()
                    .map(|r| json!({ "KeyId": k.key_id, "RotationDate": epoch(r.rotated_at), "RotationType": r.rotation_type }))
                    .collect();
                let mut out = json!({ "Rotations": page, "Truncated": end < k.rotations.len() });
                if end < k.rotations.len() {
                    out["NextMarker"] = json!(end.to_string());
                }
                Ok(out)
            }
            other => Err(err(
                "UnknownOperationException",
                format!(
                    "the sandbox KMS does not implement {other} (it implements CreateKey, DescribeKey, ListKeys, GetKeyPolicy, PutKeyPolicy, EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion, EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, ListKeyRotations, RotateKeyOnDemand)"
                ),
            )),
        }
    }
}

/// Routes AWS KMS protocol requests (`POST /` with `X-Amz-Target`) to the endpoint; everything
/// else goes on to the API and the console.
pub async fn intercept(State(state): State<crate::state::AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || req.uri().path() != "/" || !req.headers().contains_key("x-amz-target") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return into_axum(
                err("SerializationException", format!("the request body is over {MAX_BODY} bytes or was cut off"))
                    .into_response(),
            );
        }
    };
    into_axum(state.aws_kms.serve(http::Request::from_parts(parts, bytes)).await)
}

fn into_axum(r: http::Response<Bytes>) -> Response {
    let (parts, body) = r.into_parts();
    Response::from_parts(parts, Body::from(body)).into_response()
}
