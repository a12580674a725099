//! AWS KMS facts the rules reason about: key states and the health of a configured key.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// `KeyState` of AWS KMS `DescribeKey`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
    PendingImport,
    Unavailable,
    Creating,
    Updating,
    PendingReplicaDeletion,
}

impl KeyState {
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
            KeyState::Unavailable => "Unavailable",
            KeyState::Creating => "Creating",
            KeyState::Updating => "Updating",
            KeyState::PendingReplicaDeletion => "PendingReplicaDeletion",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// What the service concluded about a configured key the last time it looked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyHealthState {
    /// Enabled, and the policy grants what the service needs.
    Accessible,
    /// The key policy does not grant what the service needs (or a Deny takes it away).
    AccessDenied,
    KeyDisabled,
    PendingDeletion,
    /// KMS does not know the key (deleted, or a wrong ARN).
    NotFound,
    /// KMS did not answer; nothing is known about the key.
    KmsUnreachable,
    /// Not checked yet.
    Unknown,
}

impl KeyHealthState {
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyHealthState::Accessible => "ACCESSIBLE",
            KeyHealthState::AccessDenied => "ACCESS_DENIED",
            KeyHealthState::KeyDisabled => "KEY_DISABLED",
            KeyHealthState::PendingDeletion => "PENDING_DELETION",
            KeyHealthState::NotFound => "NOT_FOUND",
            KeyHealthState::KmsUnreachable => "KMS_UNREACHABLE",
            KeyHealthState::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(s: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(KeyHealthState::Unknown)
    }

    pub const fn label(self) -> &'static str {
        match self {
            KeyHealthState::Accessible => "Accessible",
            KeyHealthState::AccessDenied => "Access denied",
            KeyHealthState::KeyDisabled => "Key disabled",
            KeyHealthState::PendingDeletion => "Pending deletion",
            KeyHealthState::NotFound => "Key not found",
            KeyHealthState::KmsUnreachable => "KMS unreachable",
            KeyHealthState::Unknown => "Not checked yet",
        }
    }

    pub const fn is_ok(self) -> bool {
        matches!(self, KeyHealthState::Accessible)
    }

    /// The error code a refused operation (configure, create cluster, resume) answers with.
    pub const fn refusal_code(self) -> Option<crate::ErrorCode> {
        use crate::ErrorCode;
        match self {
            KeyHealthState::Accessible => None,
            KeyHealthState::AccessDenied | KeyHealthState::Unknown => Some(ErrorCode::KeyAccessDenied),
            KeyHealthState::KeyDisabled => Some(ErrorCode::KeyDisabled),
            KeyHealthState::PendingDeletion => Some(ErrorCode::KeyPendingDeletion),
            KeyHealthState::NotFound => Some(ErrorCode::KeyNotFound),
            KeyHealthState::KmsUnreachable => Some(ErrorCode::KmsUnreachable),
        }
    }
}

/// Automatic rotation as KMS reports it (`GetKeyRotationStatus`, `ListKeyRotations`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RotationStatus {
    pub enabled: bool,
    /// 90–2560 days when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_days: Option<i64>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotated_at: Option<i64>,
    /// Unix seconds; only with automatic rotation on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_rotation_at: Option<i64>,
    /// Rotations so far (automatic and on demand).
    #[serde(default)]
    pub rotation_count: i64,
}

/// AWS limits on `RotationPeriodInDays`.
pub const ROTATION_PERIOD_DAYS: std::ops::RangeInclusive<i64> = 90..=2560;
/// AWS limits on the deletion waiting period.
pub const DELETION_WINDOW_DAYS: std::ops::RangeInclusive<i64> = 7..=30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in ["Enabled", "Disabled", "PendingDeletion"] {
            assert_eq!(KeyState::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(KeyState::parse("enabled"), None);
        for h in [KeyHealthState::Accessible, KeyHealthState::KmsUnreachable] {
            assert_eq!(KeyHealthState::parse(h.as_str()), h);
        }
        assert_eq!(KeyHealthState::parse("??"), KeyHealthState::Unknown);
    }
}
