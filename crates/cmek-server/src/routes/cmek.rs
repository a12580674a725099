//! `GET`/`POST /api/v1beta/projects/{project_id}/aws-cmek`.

use super::params::ProjectPath;
use super::{project_id, read_in_project, refused};
use crate::clock::now_ms;
use crate::error::ApiResult;
use crate::extract::{ApiPath, JsonBody};
use crate::key_access::KeyRefusal;
use crate::state::AppState;
use crate::store::{self, NewEvent};
use axum::Json;
use axum::extract::State;
use cmek_core::api::{CreateAwsCmekReq, Empty, ListAwsCmekResp};
use cmek_core::cmek::{Configure, check_configure};
use cmek_core::ext::EventKind;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_aws_cmek, create_aws_cmek))
}

/// List AWS Customer-Managed Encryption Keys for a project.
#[utoipa::path(get, path = "/api/v1beta/projects/{project_id}/aws-cmek", tag = "Cluster", operation_id = "ListAwsCmek",
    params(ProjectPath),
    responses((status = 200, description = "A successful response.", body = ListAwsCmekResp)))]
pub async fn list_aws_cmek(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<ListAwsCmekResp>> {
    let pid = project_id(&raw)?;
    let items = read_in_project(&s, pid, move |c| Ok(store::list_cmek_specs(c, pid)?)).await?;
    Ok(Json(ListAwsCmekResp { items }))
}

/// Configure the project's AWS CMEK. The service tests its access to the key first and refuses,
/// naming each cause, when it cannot use it. Sending the configured key again changes nothing;
/// another key, or another region, is refused.
#[utoipa::path(post, path = "/api/v1beta/projects/{project_id}/aws-cmek", tag = "Cluster", operation_id = "CreateAwsCmek",
    params(ProjectPath),
    request_body = CreateAwsCmekReq,
    responses((status = 200, description = "A successful response.", body = Empty)))]
pub async fn create_aws_cmek(
    State(s): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    JsonBody(req): JsonBody<CreateAwsCmekReq>,
) -> ApiResult<Json<Empty>> {
    let pid = project_id(&raw)?;
    let regions: Vec<String> = s.cmek_regions().into_iter().map(str::to_owned).collect();
    let (project, existing) =
        s.db.read(move |c| Ok((store::require_project(c, pid)?, store::list_cmek_specs(c, pid)?))).await?;
    let region_refs: Vec<&str> = regions.iter().map(String::as_str).collect();
    let spec = match check_configure(project.aws_cmek_enabled, &existing, &req, &region_refs)? {
        Configure::Unchanged(_) => return Ok(Json(Empty {})),
        Configure::Add(spec) => spec,
    };
    // "Test and add": the key must be usable before it is recorded.
    let check = s.key_access.check(&spec.kms_arn, &spec.region).await;
    if !check.is_ok() {
        let err = KeyRefusal::new(&check, &spec.kms_arn, &spec.region, "configuring the key").into();
        return Err(refused(&s, pid, EventKind::KeyConfigureRefused, None, spec.region.clone(), err).await);
    }
    let added = {
        let spec = spec.clone();
        s.db
            .write(move |tx| {
                // Checked again inside the transaction: of concurrent requests, one region wins.
                let existing = store::list_cmek_specs(tx, pid)?;
                let refs: Vec<&str> = regions.iter().map(String::as_str).collect();
                match check_configure(true, &existing, &CreateAwsCmekReq { specs: vec![spec.clone()] }, &refs)? {
                    Configure::Unchanged(_) => Ok(false),
                    Configure::Add(spec) => {
                        let now = now_ms();
                        store::insert_cmek_spec(tx, pid, &spec, now)?;
                        store::insert_event(
                            tx,
                            &NewEvent {
                                project_id: pid,
                                at_ms: now,
                                kind: EventKind::KeyConfigured,
                                cluster: None,
                                region: Some(&spec.region),
                                message: format!(
                                    "Customer-managed key configured for {}. Clusters of this project run in {} and encrypt EBS volumes and S3 backups with it.",
                                    spec.region, spec.region
                                ),
                                details: vec![spec.kms_arn.clone()],
                            },
                        )?;
                        Ok(true)
                    }
                }
            })
            .await?
    };
    if added {
        s.key_access.record(pid, spec, check).await?;
    }
    Ok(Json(Empty {}))
}
