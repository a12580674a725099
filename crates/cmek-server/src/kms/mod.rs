//! What the service needs from a KMS, behind a trait: the embedded sandbox implements it today;
//! an implementation on the official AWS SDK (aws-sdk-kms) can be added without touching callers.

pub mod sandbox;

use async_trait::async_trait;
use cmek_core::kms::{KeyHealthState, KeyState, RotationStatus};
use cmek_core::policy::{self, AccessDecision, AccessQuery};

/// `DescribeKey`, reduced to what the service reasons about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDescription {
    pub arn: String,
    pub key_id: String,
    pub region: String,
    pub account_id: String,
    pub state: KeyState,
    pub multi_region: bool,
    /// Unix seconds; set while PendingDeletion.
    pub deletion_date: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KmsError {
    /// `NotFoundException`: no key with this ARN.
    #[error("AWS KMS has no key {arn}: check the ARN, or whether the key was deleted")]
    NotFound { arn: String },
    /// The KMS could not be asked (network, throttling, credentials of the server itself).
    #[error("AWS KMS could not be reached to check {arn}: {reason}")]
    Unreachable { arn: String, reason: String },
}

/// The outcome of checking whether the service may use a key for a region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyCheck {
    pub state: KeyHealthState,
    /// The key as KMS described it (absent when KMS could not say).
    pub key: Option<KeyDescription>,
    pub rotation: Option<RotationStatus>,
    /// Each reason the key is unusable, in words; empty when ACCESSIBLE.
    pub causes: Vec<String>,
}

impl KeyCheck {
    pub fn is_ok(&self) -> bool {
        self.state.is_ok()
    }

    fn failed(state: KeyHealthState, cause: String) -> Self {
        Self { state, key: None, rotation: None, causes: vec![cause] }
    }
}

#[async_trait]
pub trait Kms: Send + Sync + 'static {
    /// `DescribeKey`.
    async fn describe_key(&self, arn: &str) -> Result<KeyDescription, KmsError>;

    /// `GetKeyPolicy` (policy name `default`), exactly as stored.
    async fn key_policy(&self, arn: &str) -> Result<String, KmsError>;

    /// `GetKeyRotationStatus` and the last rotation from `ListKeyRotations`.
    async fn rotation_status(&self, arn: &str) -> Result<RotationStatus, KmsError>;

    /// Whether the service account may use the key for `region`. The default reads the key and
    /// its policy and applies the shared access decision; an implementation that can make the
    /// real calls (e.g. a test `GenerateDataKeyWithoutPlaintext` through EC2) may override it.
    async fn check_access(&self, arn: &str, region: &str, service_account: Option<&str>) -> KeyCheck {
        let key = match self.describe_key(arn).await {
            Ok(k) => k,
            Err(e @ KmsError::NotFound { .. }) => {
                return KeyCheck::failed(KeyHealthState::NotFound, e.to_string());
            }
            Err(e @ KmsError::Unreachable { .. }) => {
                return KeyCheck::failed(KeyHealthState::KmsUnreachable, e.to_string());
            }
        };
        let (policy, rotation) = match (self.key_policy(arn).await, self.rotation_status(arn).await) {
            (Ok(p), Ok(r)) => (p, r),
            (Err(e), _) | (_, Err(e)) => {
                let state = match e {
                    KmsError::NotFound { .. } => KeyHealthState::NotFound,
                    KmsError::Unreachable { .. } => KeyHealthState::KmsUnreachable,
                };
                return KeyCheck { key: Some(key), ..KeyCheck::failed(state, e.to_string()) };
            }
        };
        let decision =
            policy::decide(&policy, AccessQuery { key_state: key.state, key_arn: arn, service_account, region });
        KeyCheck::from_decision(&decision, key, rotation)
    }
}

impl KeyCheck {
    pub fn from_decision(decision: &AccessDecision, key: KeyDescription, rotation: RotationStatus) -> Self {
        let state = decision.health_state();
        // Blocking reasons first, then the near misses that say what to change.
        let causes = if state.is_ok() { Vec::new() } else { decision.messages() };
        Self { state, key: Some(key), rotation: Some(rotation), causes }
    }
}
