//! One module per API area, each with its `router()`.

pub mod backups;
pub mod clusters;
pub mod cmek;
pub mod ext;
pub mod projects;
pub mod regions;
pub mod sandbox;

use crate::error::ApiResult;
use crate::extract::parse_id;

/// A `{project_id}` path segment.
pub fn project_id(raw: &str) -> ApiResult<u64> {
    parse_id("project_id", raw)
}
