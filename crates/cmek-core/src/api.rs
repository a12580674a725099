//! TiDB Cloud API v1beta wire types, field for field as PingCAP's OpenAPI file names them.
//!
//! Requests are strict (`deny_unknown_fields`): a misspelt `aws_cmek_enabled` must be refused,
//! not silently dropped into a project without CMEK. Responses are read leniently by clients
//! (unknown fields ignored, unknown cluster statuses kept as [`ClusterStatus::Unknown`]).
//! Ids are decimal strings of uint64 and timestamps are Unix seconds as strings, as in v1beta.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

// ---------------------------------------------------------------- projects

/// `GET /api/v1beta/projects` item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Project {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub cluster_count: i64,
    pub user_count: i64,
    pub create_timestamp: String,
    #[serde(default)]
    pub aws_cmek_enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ListProjectsResp {
    pub items: Vec<Project>,
    pub total: i64,
}

/// `POST /api/v1beta/projects` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateProjectReq {
    pub name: String,
    /// Fixed for the life of the project: CMEK cannot be turned on later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_cmek_enabled: Option<bool>,
}

/// The `{"id": "..."}` answer of the create operations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreatedResp {
    pub id: String,
}

/// The `{}` answer of PATCH, DELETE and aws-cmek POST.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Empty {}

// ---------------------------------------------------------------- aws-cmek

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AwsCmekSpec {
    pub region: String,
    pub kms_arn: String,
}

/// `POST /api/v1beta/projects/{project_id}/aws-cmek` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateAwsCmekReq {
    pub specs: Vec<AwsCmekSpec>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ListAwsCmekResp {
    #[serde(default)]
    pub items: Vec<AwsCmekSpec>,
}

// ---------------------------------------------------------------- clusters

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum ClusterType {
    #[serde(rename = "DEDICATED")]
    Dedicated,
    /// TiDB Cloud Serverless, under its v1beta name.
    #[serde(rename = "DEVELOPER")]
    Developer,
}

impl ClusterType {
    pub const ALL: [ClusterType; 2] = [ClusterType::Dedicated, ClusterType::Developer];

    pub const fn as_str(self) -> &'static str {
        match self {
            ClusterType::Dedicated => "DEDICATED",
            ClusterType::Developer => "DEVELOPER",
        }
    }

    /// What the TiDB Cloud console calls it.
    pub const fn label(self) -> &'static str {
        match self {
            ClusterType::Dedicated => "Dedicated",
            ClusterType::Developer => "Serverless",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum CloudProvider {
    #[serde(rename = "AWS")]
    Aws,
    #[serde(rename = "GCP")]
    Gcp,
}

impl CloudProvider {
    pub const ALL: [CloudProvider; 2] = [CloudProvider::Aws, CloudProvider::Gcp];

    pub const fn as_str(self) -> &'static str {
        match self {
            CloudProvider::Aws => "AWS",
            CloudProvider::Gcp => "GCP",
        }
    }
}

/// `cluster_status` of v1beta. Statuses this code does not know yet are kept as `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClusterStatus {
    Available,
    Creating,
    Modifying,
    Paused,
    Resuming,
    Unavailable,
    Importing,
    Maintaining,
    Pausing,
    #[serde(other)]
    Unknown,
}

impl ClusterStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            ClusterStatus::Available => "AVAILABLE",
            ClusterStatus::Creating => "CREATING",
            ClusterStatus::Modifying => "MODIFYING",
            ClusterStatus::Paused => "PAUSED",
            ClusterStatus::Resuming => "RESUMING",
            ClusterStatus::Unavailable => "UNAVAILABLE",
            ClusterStatus::Importing => "IMPORTING",
            ClusterStatus::Maintaining => "MAINTAINING",
            ClusterStatus::Pausing => "PAUSING",
            ClusterStatus::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(s: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(ClusterStatus::Unknown)
    }

    /// Words for people: "Available", "Pausing", …
    pub const fn label(self) -> &'static str {
        match self {
            ClusterStatus::Available => "Available",
            ClusterStatus::Creating => "Creating",
            ClusterStatus::Modifying => "Modifying",
            ClusterStatus::Paused => "Paused",
            ClusterStatus::Resuming => "Resuming",
            ClusterStatus::Unavailable => "Unavailable",
            ClusterStatus::Importing => "Importing",
            ClusterStatus::Maintaining => "Maintaining",
            ClusterStatus::Pausing => "Pausing",
            ClusterStatus::Unknown => "Unknown",
        }
    }

    /// A status that will change by itself (what PingCAP's Terraform provider waits on).
    pub const fn is_transitional(self) -> bool {
        matches!(
            self,
            ClusterStatus::Creating
                | ClusterStatus::Modifying
                | ClusterStatus::Resuming
                | ClusterStatus::Pausing
                | ClusterStatus::Importing
                | ClusterStatus::Unavailable
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TidbComponent {
    pub node_size: String,
    pub node_quantity: i32,
}

/// TiKV and TiFlash: nodes with storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StorageComponent {
    pub node_size: String,
    pub storage_size_gib: i32,
    pub node_quantity: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Components {
    pub tidb: TidbComponent,
    pub tikv: StorageComponent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiflash: Option<StorageComponent>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IpAccessListItem {
    pub cidr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `config` of CreateCluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateClusterConfig {
    /// 8–64 characters. Never stored in clear, never returned.
    pub root_password: String,
    /// 1024–65535 except 10080; 4000 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Required for DEDICATED, ignored for DEVELOPER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Components>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_access_list: Option<Vec<IpAccessListItem>>,
}

/// `POST /api/v1beta/projects/{project_id}/clusters` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateClusterReq {
    pub name: String,
    pub cluster_type: ClusterType,
    pub cloud_provider: CloudProvider,
    pub region: String,
    pub config: CreateClusterConfig,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateTidbComponent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_quantity: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accesspoint_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateStorageComponent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_size_gib: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_quantity: Option<i32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateComponents {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tidb: Option<UpdateTidbComponent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tikv: Option<UpdateStorageComponent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiflash: Option<UpdateStorageComponent>,
}

impl UpdateComponents {
    /// Whether the change names no field at all (`{}`, `{"tikv": {}}`).
    pub fn is_empty(&self) -> bool {
        let tidb = self
            .tidb
            .as_ref()
            .is_none_or(|t| t.node_size.is_none() && t.node_quantity.is_none() && t.accesspoint_id.is_none());
        let storage = |c: &Option<UpdateStorageComponent>| {
            c.as_ref()
                .is_none_or(|c| c.node_size.is_none() && c.storage_size_gib.is_none() && c.node_quantity.is_none())
        };
        tidb && storage(&self.tikv) && storage(&self.tiflash)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateClusterConfig {
    /// `true` pauses (only from AVAILABLE), `false` resumes (only from PAUSED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<UpdateComponents>,
}

/// `PATCH /api/v1beta/projects/{project_id}/clusters/{cluster_id}` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateClusterReq {
    pub config: UpdateClusterConfig,
}

impl UpdateClusterReq {
    pub fn pause(paused: bool) -> Self {
        Self { config: UpdateClusterConfig { paused: Some(paused), components: None } }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NodeStatus {
    NodeStatusAvailable,
    NodeStatusUnavailable,
    NodeStatusCreating,
    NodeStatusDeleting,
    #[serde(other)]
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NodeItem {
    pub node_name: String,
    pub availability_zone: String,
    pub node_size: String,
    pub vcpu_num: i32,
    /// Bytes, as a decimal string (int64 in v1beta).
    pub ram_bytes: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_size_gib: Option<i32>,
    pub status: NodeStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NodeMap {
    pub tidb: Vec<NodeItem>,
    pub tikv: Vec<NodeItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiflash: Vec<NodeItem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Endpoint {
    pub host: String,
    pub port: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ConnectionStrings {
    pub default_user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard: Option<Endpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_peering: Option<Endpoint>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ClusterItemStatus {
    pub tidb_version: String,
    pub cluster_status: ClusterStatus,
    /// Only when AVAILABLE or MODIFYING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_map: Option<NodeMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_strings: Option<ConnectionStrings>,
}

/// `config` as GetCluster returns it: no password, no IP list, no `paused`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ClusterItemConfig {
    pub port: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Components>,
}

/// `GET /api/v1beta/projects/{project_id}/clusters/{cluster_id}` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ClusterItem {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub cluster_type: ClusterType,
    pub cloud_provider: CloudProvider,
    pub region: String,
    pub create_timestamp: String,
    pub config: ClusterItemConfig,
    pub status: ClusterItemStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ListClustersResp {
    pub items: Vec<ClusterItem>,
    pub total: i64,
}

// ---------------------------------------------------------------- provider regions

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QuantityRange {
    pub min: i32,
    pub step: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StorageRange {
    pub min: i32,
    pub max: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TidbProfile {
    pub node_size: String,
    pub node_quantity_range: QuantityRange,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StorageProfile {
    pub node_size: String,
    pub node_quantity_range: QuantityRange,
    pub storage_size_gib_range: StorageRange,
}

/// One (cluster type, provider, region) with the node sizes it offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ProviderRegion {
    pub cluster_type: ClusterType,
    pub cloud_provider: CloudProvider,
    pub region: String,
    #[serde(default)]
    pub tidb: Vec<TidbProfile>,
    #[serde(default)]
    pub tikv: Vec<StorageProfile>,
    #[serde(default)]
    pub tiflash: Vec<StorageProfile>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ListProviderRegionsResp {
    pub items: Vec<ProviderRegion>,
}

impl ListProviderRegionsResp {
    /// The catalog entry for a type, provider and region.
    pub fn find(&self, cluster_type: ClusterType, provider: CloudProvider, region: &str) -> Option<&ProviderRegion> {
        self.items.iter().find(|i| i.cluster_type == cluster_type && i.cloud_provider == provider && i.region == region)
    }

    /// Distinct regions offered for a type and provider, in catalog order.
    pub fn regions(&self, cluster_type: ClusterType, provider: CloudProvider) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for i in &self.items {
            if i.cluster_type == cluster_type && i.cloud_provider == provider && !out.contains(&i.region.as_str()) {
                out.push(&i.region);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_in_requests_are_refused_with_their_name() {
        let err =
            serde_json::from_str::<CreateProjectReq>(r#"{"name":"p","aws_cmek_enable":true}"#).unwrap_err().to_string();
        assert!(err.contains("unknown field `aws_cmek_enable`"), "{err}");
    }

    #[test]
    fn null_optional_fields_are_accepted() {
        let r: CreateProjectReq = serde_json::from_str(r#"{"name":"p","aws_cmek_enabled":null}"#).unwrap();
        assert_eq!(r.aws_cmek_enabled, None);
    }

    #[test]
    fn unknown_cluster_status_is_kept_as_unknown() {
        assert_eq!(ClusterStatus::parse("CLEARED"), ClusterStatus::Unknown);
        assert_eq!(ClusterStatus::parse("PAUSING"), ClusterStatus::Pausing);
        let s: ClusterItemStatus = serde_json::from_str(r#"{"tidb_version":"v7","cluster_status":"NEW_ONE"}"#).unwrap();
        assert_eq!(s.cluster_status, ClusterStatus::Unknown);
    }

    #[test]
    fn enums_use_the_oas_strings() {
        assert_eq!(serde_json::to_string(&ClusterType::Developer).unwrap(), "\"DEVELOPER\"");
        assert_eq!(serde_json::to_string(&CloudProvider::Gcp).unwrap(), "\"GCP\"");
        assert_eq!(serde_json::to_string(&ClusterStatus::Pausing).unwrap(), "\"PAUSING\"");
        assert_eq!(serde_json::to_string(&NodeStatus::NodeStatusAvailable).unwrap(), "\"NODE_STATUS_AVAILABLE\"");
        for s in [ClusterStatus::Available, ClusterStatus::Maintaining, ClusterStatus::Pausing] {
            assert_eq!(ClusterStatus::parse(s.as_str()), s);
        }
    }

    #[test]
    fn update_request_serialises_only_what_is_set() {
        assert_eq!(serde_json::to_string(&UpdateClusterReq::pause(true)).unwrap(), r#"{"config":{"paused":true}}"#);
    }
}
