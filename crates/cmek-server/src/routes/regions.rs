//! `GET /api/v1beta/clusters/provider/regions`.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use cmek_core::api::ListProviderRegionsResp;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_provider_regions))
}

/// List the cloud providers, regions and available specifications.
#[utoipa::path(get, path = "/api/v1beta/clusters/provider/regions", tag = "Cluster", operation_id = "ListProviderRegions",
    responses((status = 200, description = "A successful response.", body = ListProviderRegionsResp)))]
pub async fn list_provider_regions(State(s): State<AppState>) -> Json<ListProviderRegionsResp> {
    Json(s.catalog.clone())
}
