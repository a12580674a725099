//! The path and paging parameters of the API, documented once (`params(...)` of each
//! operation). The handlers read them with `ApiPath` and `PageQuery` (`extract.rs`), which
//! answer every malformed value with an `ErrorResponse` naming the field.

use utoipa::IntoParams;

/// `{project_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProjectPath {
    /// The ID of the project (decimal uint64).
    pub project_id: String,
}

/// `{project_id}/…/{cluster_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ClusterPath {
    /// The ID of the project (decimal uint64).
    pub project_id: String,
    /// The ID of the cluster (decimal uint64).
    pub cluster_id: String,
}

/// `{project_id}/…/{cluster_id}/…/{backup_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BackupPath {
    /// The ID of the project (decimal uint64).
    pub project_id: String,
    /// The ID of the cluster (decimal uint64).
    pub cluster_id: String,
    /// The ID of the backup (decimal uint64).
    pub backup_id: String,
}

/// `{project_id}/restores/{restore_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RestorePath {
    /// The ID of the project (decimal uint64).
    pub project_id: String,
    /// The ID of the restore task (decimal uint64).
    pub restore_id: String,
}

/// `{key_id}` of a sandbox key.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct KeyPath {
    /// The key id.
    pub key_id: String,
}

/// `page` and `page_size`, as v1beta's lists take them.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// The number of pages (default 1).
    pub page: Option<i64>,
    /// The size of a page (default 10, at most 100).
    pub page_size: Option<i64>,
}
