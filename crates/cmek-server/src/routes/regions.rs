//! `GET /api/v1beta/clusters/provider/regions`.

use crate::app::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cmek_core::api::ListProviderRegionsResp;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1beta/clusters/provider/regions", get(list_provider_regions))
}

/// List the cloud providers, regions and available specifications.
#[utoipa::path(get, path = "/api/v1beta/clusters/provider/regions", tag = "Cluster", operation_id = "ListProviderRegions",
    responses((status = 200, description = "A successful response.", body = ListProviderRegionsResp)))]
pub async fn list_provider_regions(State(s): State<AppState>) -> Json<ListProviderRegionsResp> {
    Json(s.catalog.clone())
}
