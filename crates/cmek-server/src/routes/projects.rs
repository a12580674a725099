//! `GET`/`POST /api/v1beta/projects`.

use super::params::PageParams;
use crate::clock::now_ms;
use crate::error::ApiResult;
use crate::extract::{JsonBody, PageQuery};
use crate::state::AppState;
use crate::store::{self, NewEvent};
use axum::Json;
use axum::extract::State;
use cmek_core::api::{CreateProjectReq, CreatedResp, ListProjectsResp};
use cmek_core::cmek::check_project_name;
use cmek_core::ext::EventKind;
use cmek_core::{ErrorCode, RuleError};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_projects, create_project))
}

/// List all accessible projects.
#[utoipa::path(get, path = "/api/v1beta/projects", tag = "Project", operation_id = "ListProjects",
    params(PageParams),
    responses((status = 200, description = "A successful response.", body = ListProjectsResp)))]
pub async fn list_projects(State(s): State<AppState>, PageQuery(page): PageQuery) -> ApiResult<Json<ListProjectsResp>> {
    let (items, total) = s.db.read(move |c| Ok(store::list_projects(c, page)?)).await?;
    Ok(Json(ListProjectsResp { items, total }))
}

/// Create a project. `aws_cmek_enabled` is fixed for the life of the project.
#[utoipa::path(post, path = "/api/v1beta/projects", tag = "Project", operation_id = "CreateProject",
    request_body = CreateProjectReq,
    responses((status = 200, description = "A successful response.", body = CreatedResp)))]
pub async fn create_project(
    State(s): State<AppState>,
    JsonBody(req): JsonBody<CreateProjectReq>,
) -> ApiResult<Json<CreatedResp>> {
    check_project_name(&req.name).map_err(|f| RuleError::fields(ErrorCode::ValidationFailed, vec![f]))?;
    let cmek = req.aws_cmek_enabled.unwrap_or(false);
    let id =
        s.db.write(move |tx| {
            let now = now_ms();
            let id = store::insert_project(tx, &req.name, cmek, now)?;
            store::insert_event(
                tx,
                &NewEvent {
                    project_id: id,
                    at_ms: now,
                    kind: EventKind::ProjectCreated,
                    cluster: None,
                    region: None,
                    message: if cmek {
                        format!(
                            "Project \"{}\" created with CMEK. Configure its key before creating clusters.",
                            req.name
                        )
                    } else {
                        format!(
                            "Project \"{}\" created without CMEK. Data at rest uses the service's escrow key.",
                            req.name
                        )
                    },
                    details: Vec::new(),
                },
            )?;
            Ok(id)
        })
        .await?;
    Ok(Json(CreatedResp { id: id.to_string() }))
}
