//! What the route gives a page, typed: its path parameters (`#[derive(Params)]`, one struct per
//! route shape) and the `page` query parameter.

use leptos::Params;
use leptos::prelude::*;
use leptos_router::hooks::{use_params, use_query};
use leptos_router::params::Params;

/// `/projects/:project_id/…`
#[derive(Params, Clone, Debug, PartialEq)]
pub struct ProjectParams {
    pub project_id: Option<String>,
}

/// `/projects/:project_id/clusters/:cluster_id`
#[derive(Params, Clone, Debug, PartialEq)]
pub struct ClusterParams {
    pub cluster_id: Option<String>,
}

/// `/sandbox-kms/:key_id`
#[derive(Params, Clone, Debug, PartialEq)]
pub struct SandboxKeyParams {
    pub key_id: Option<String>,
}

/// `?page=N` on a paged list.
#[derive(Params, Clone, Debug, PartialEq)]
pub struct PageQuery {
    pub page: Option<i64>,
}

/// One path parameter of the current route (empty when absent).
fn param<P: Params + PartialEq + Send + Sync + 'static>(field: fn(&P) -> Option<String>) -> Memo<String> {
    let params = use_params::<P>();
    Memo::new(move |_| params.read().as_ref().ok().and_then(field).unwrap_or_default())
}

pub fn project_id() -> Memo<String> {
    param(|p: &ProjectParams| p.project_id.clone())
}

pub fn cluster_id() -> Memo<String> {
    param(|p: &ClusterParams| p.cluster_id.clone())
}

pub fn sandbox_key_id() -> Memo<String> {
    param(|p: &SandboxKeyParams| p.key_id.clone())
}

/// The `page` query parameter (1 when absent, not a number, or below 1).
pub fn page_param() -> Signal<i64> {
    let q = use_query::<PageQuery>();
    Signal::derive(move || q.read().as_ref().ok().and_then(|q| q.page).filter(|p| *p >= 1).unwrap_or(1))
}
