//! Types of the server's extension API (`/api/ext/v1/…`): what the console can show beyond
//! v1beta when the server offers it. A plain v1beta server has none of these; the console then
//! says what it cannot show.

use crate::kms::{KeyHealthState, KeyState, RotationStatus};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The path prefix of every extension endpoint.
pub const PREFIX: &str = "/api/ext/v1";

/// Which KMS the server asks about keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KmsBackend {
    /// The embedded sandbox KMS, managed through `/api/ext/v1/sandbox-kms`.
    Sandbox,
    /// Real AWS KMS.
    Aws,
}

/// `GET /api/ext/v1/server-info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ServerInfo {
    /// The AWS account the key policy must trust (`<pingcap-account>`), when known.
    #[serde(default)]
    pub service_account_id: Option<String>,
    pub kms: KmsBackend,
    /// The sandbox KMS's own AWS account (the customer's side), when the sandbox runs.
    #[serde(default)]
    pub sandbox_account_id: Option<String>,
    /// Seconds between automatic key checks.
    pub key_check_interval_secs: u64,
    pub version: String,
    /// Set when this server is a gateway in front of an upstream v1beta API (e.g. a real
    /// TiDB Cloud organisation) rather than the reference server itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayInfo>,
}

/// Gateway mode: which upstream is served and how much of its request budget is left. The
/// upstream's key pair is never part of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GatewayInfo {
    /// The upstream's origin, e.g. `https://api.tidbcloud.com`.
    pub upstream: String,
    /// Requests a minute the upstream allows the gateway's key (shared by all users).
    pub budget_limit: u32,
    /// Requests left in the current minute, as the upstream last said (or as counted).
    pub budget_remaining: u32,
    /// Seconds until the budget is renewed.
    pub budget_reset_secs: u64,
    /// Seconds a list or get answer is reused at most while the budget is ample; longer when
    /// it runs low (then `cache_secs_now` says how long).
    pub cache_secs: u64,
    /// Seconds answers are reused right now (grows as the budget runs low).
    pub cache_secs_now: u64,
    /// Whether the upstream refused the last request for its rate limit and the gateway waits
    /// for the reset before asking again.
    #[serde(default)]
    pub throttled: bool,
    /// Requests the gateway sent upstream since it started.
    #[serde(default)]
    pub requests_sent: u64,
}

/// `GET /api/ext/v1/projects/{project_id}/key-health` item: one configured key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct KeyHealth {
    pub project_id: String,
    pub region: String,
    pub kms_arn: String,
    pub state: KeyHealthState,
    /// The key's state in KMS, when KMS answered.
    #[serde(default)]
    pub key_state: Option<KeyState>,
    /// Unix seconds of the last check.
    #[serde(default)]
    pub checked_at: Option<i64>,
    /// Unix seconds of the last check that found the key ACCESSIBLE.
    #[serde(default)]
    pub last_ok_at: Option<i64>,
    /// Each reason the key is not usable, in words (empty when ACCESSIBLE).
    #[serde(default)]
    pub causes: Vec<String>,
    #[serde(default)]
    pub rotation: Option<RotationStatus>,
    #[serde(default)]
    pub multi_region: bool,
    /// Unix seconds when a key pending deletion will be deleted.
    #[serde(default)]
    pub deletion_date: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct KeyHealthList {
    pub items: Vec<KeyHealth>,
}

/// What happened, for the project timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventKind {
    ProjectCreated,
    KeyConfigured,
    KeyConfigureRefused,
    KeyHealthChanged,
    KeyRotated,
    ClusterCreated,
    ClusterCreateRefused,
    ClusterAvailable,
    ClusterPauseRequested,
    ClusterPaused,
    ClusterResumeRequested,
    ClusterResumeRefused,
    ClusterModifyRequested,
    ClusterModifyRefused,
    ClusterDeleted,
    BackupStarted,
    BackupFailed,
    BackupRefused,
    BackupDeleted,
    RestoreStarted,
    RestoreRefused,
    #[serde(other)]
    Other,
}

impl EventKind {
    /// The event's name on the project's timeline.
    pub const fn label(self) -> &'static str {
        match self {
            EventKind::ProjectCreated => "Project created",
            EventKind::KeyConfigured => "Key configured",
            EventKind::KeyConfigureRefused => "Key refused",
            EventKind::KeyHealthChanged => "Key health changed",
            EventKind::KeyRotated => "Key rotated",
            EventKind::ClusterCreated => "Cluster created",
            EventKind::ClusterCreateRefused => "Cluster refused",
            EventKind::ClusterAvailable => "Cluster available",
            EventKind::ClusterPauseRequested => "Pause requested",
            EventKind::ClusterPaused => "Cluster paused",
            EventKind::ClusterResumeRequested => "Resume requested",
            EventKind::ClusterResumeRefused => "Resume refused",
            EventKind::ClusterModifyRequested => "Change requested",
            EventKind::ClusterModifyRefused => "Change refused",
            EventKind::ClusterDeleted => "Cluster deleted",
            EventKind::BackupStarted => "Backup started",
            EventKind::BackupFailed => "Backup failed",
            EventKind::BackupRefused => "Backup refused",
            EventKind::BackupDeleted => "Backup deleted",
            EventKind::RestoreStarted => "Restore started",
            EventKind::RestoreRefused => "Restore refused",
            EventKind::Other => "Event",
        }
    }
}

/// `GET /api/ext/v1/projects/{project_id}/events` item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Event {
    pub id: String,
    pub project_id: String,
    /// Unix milliseconds.
    pub at_ms: i64,
    pub kind: EventKind,
    #[serde(default)]
    pub cluster_id: Option<String>,
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    pub message: String,
    #[serde(default)]
    pub details: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ListEventsResp {
    pub items: Vec<Event>,
    pub total: i64,
}

// ------------------------------------------------------------------ sandbox KMS

/// A recorded rotation of a sandbox key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct KeyRotation {
    /// Unix seconds.
    pub rotated_at: i64,
    /// `AUTOMATIC` or `ON_DEMAND`, as `ListKeyRotations` says.
    pub rotation_type: String,
}

/// A key of the sandbox KMS, as `DescribeKey` + `GetKeyPolicy` + rotation calls would show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SandboxKey {
    pub key_id: String,
    pub arn: String,
    pub region: String,
    pub account_id: String,
    pub multi_region: bool,
    pub description: String,
    pub state: KeyState,
    /// Unix seconds; set while PendingDeletion.
    #[serde(default)]
    pub deletion_date: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// The key policy, exactly as written.
    pub policy: String,
    pub rotation: RotationStatus,
    #[serde(default)]
    pub rotations: Vec<KeyRotation>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ListSandboxKeysResp {
    pub items: Vec<SandboxKey>,
}

/// `POST /api/ext/v1/sandbox-kms/keys` (CreateKey).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateSandboxKeyReq {
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_region: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The key policy; without one the key gets the AWS default (only its own account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// `PUT /api/ext/v1/sandbox-kms/keys/{key_id}/policy` (PutKeyPolicy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PutKeyPolicyReq {
    pub policy: String,
}

/// `PUT /api/ext/v1/sandbox-kms/keys/{key_id}/rotation` (Enable/DisableKeyRotation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyRotationReq {
    pub enabled: bool,
    /// 90–2560; 365 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_days: Option<i64>,
}

/// `POST /api/ext/v1/sandbox-kms/keys/{key_id}/schedule-deletion` (ScheduleKeyDeletion).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScheduleDeletionReq {
    /// 7–30; 30 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_window_days: Option<i64>,
}

// ------------------------------------------------------------------ console sessions

/// `POST /api/ext/v1/session`: the one-time token of the sign-in link the server prints, or the
/// operator's password.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignInReq {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// The console's session (`GET`/`POST /api/ext/v1/session`); the cookie itself is HttpOnly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionInfo {
    /// Sent back as `X-CSRF-Token` on every request that changes something.
    pub csrf_token: String,
    /// Unix seconds.
    pub expires_at: i64,
}
