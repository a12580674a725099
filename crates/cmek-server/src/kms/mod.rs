//! What the service needs from a KMS, behind a trait (the one seam every key check goes
//! through). Its implementation is on the official AWS SDK (`aws.rs`, `aws-sdk-kms`), asking
//! either real AWS KMS or the embedded sandbox through the sandbox's AWS endpoint (`aws_api.rs`).

pub mod aws;
pub mod aws_api;
pub mod sandbox;
pub mod sigv4;

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
    #[error("KMS has no key {arn} ({call}: {cause}): check the ARN, or whether the key was deleted")]
    NotFound { arn: String, call: &'static str, cause: String },
    /// `AccessDeniedException`: this server's own AWS credentials may not make the call.
    #[error(
        "{call} on {arn} was refused to this server's AWS credentials ({cause}): grant them kms:{call} on the key \
         (or use credentials of the key's account)"
    )]
    AccessDenied { arn: String, call: &'static str, cause: String },
    /// Not a KMS key ARN: there is nothing to ask KMS about.
    #[error("\"{arn}\" is not a KMS key ARN ({reason}), so {call} cannot be asked about it")]
    InvalidArn { arn: String, call: &'static str, reason: String },
    /// The KMS could not be asked (network, throttling, credentials of the server itself).
    #[error("AWS KMS could not be reached to check {arn}: {reason}")]
    Unreachable { arn: String, reason: String },
}

impl KmsError {
    /// What the service concludes about the key from this failure.
    pub fn health_state(&self) -> KeyHealthState {
        match self {
            KmsError::NotFound { .. } | KmsError::InvalidArn { .. } => KeyHealthState::NotFound,
            KmsError::AccessDenied { .. } => KeyHealthState::AccessDenied,
            KmsError::Unreachable { .. } => KeyHealthState::KmsUnreachable,
        }
    }
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

    /// `GetKeyRotationStatus`, and the rotations so far from `ListKeyRotations`.
    async fn rotation_status(&self, arn: &str) -> Result<RotationStatus, KmsError>;

    /// Whether the service account may use the key for `region`. The default reads the key and
    /// its policy and applies the shared access decision; an implementation that can make the
    /// real calls (e.g. a test `GenerateDataKeyWithoutPlaintext` through EC2) may override it.
    async fn check_access(&self, arn: &str, region: &str, service_account: Option<&str>) -> KeyCheck {
        let key = match self.describe_key(arn).await {
            Ok(k) => k,
            Err(e) => return KeyCheck::failed(e.health_state(), e.to_string()),
        };
        // Rotation is shown, not decided on: a failure to read it does not fail the check.
        let rotation = match self.rotation_status(arn).await {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(%e, "the key's rotation could not be read");
                None
            }
        };
        let policy = match self.key_policy(arn).await {
            Ok(p) => p,
            Err(e) => {
                let mut cause = e.to_string();
                if matches!(e, KmsError::AccessDenied { .. }) {
                    cause.push_str(
                        "; until then it cannot be known whether the key policy grants the service what it needs",
                    );
                }
                return KeyCheck { state: e.health_state(), key: Some(key), rotation, causes: vec![cause] };
            }
        };
        let decision =
            policy::decide(&policy, AccessQuery { key_state: key.state, key_arn: arn, service_account, region });
        KeyCheck::from_decision(&decision, key, rotation)
    }
}

impl KeyCheck {
    pub fn from_decision(decision: &AccessDecision, key: KeyDescription, rotation: Option<RotationStatus>) -> Self {
        let state = decision.health_state();
        // Blocking reasons first, then the near misses that say what to change.
        let causes = if state.is_ok() { Vec::new() } else { decision.messages() };
        Self { state, key: Some(key), rotation, causes }
    }
}

/// Which KMS the key checks ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KmsChoice {
    /// The embedded sandbox KMS (through its AWS endpoint), with no AWS account.
    Sandbox,
    /// Real AWS KMS, with the server's AWS credentials (or the KMS at --kms-endpoint-url).
    Aws,
}

/// The KMS options of `serve`.
#[derive(Clone, Debug, clap::Args)]
pub struct KmsArgs {
    /// Which KMS the key checks ask: the embedded sandbox, or real AWS KMS with credentials from
    /// the standard AWS sources (environment, ~/.aws config and profile, container or instance
    /// role); the region of each call is the key ARN's.
    #[arg(long = "kms", env = "CMEK_KMS", value_enum, default_value = "sandbox")]
    pub kms: KmsChoice,
    /// With --kms aws: a KMS-compatible endpoint to ask instead of AWS's regional ones (e.g. a
    /// moto_server, or another cmek-server's sandbox).
    #[arg(long, env = "CMEK_KMS_ENDPOINT_URL", value_parser = parse_endpoint_url)]
    pub kms_endpoint_url: Option<String>,
    /// The access key id the sandbox's AWS endpoint (POST / of this server) accepts. Without it
    /// (and the secret), a pair is made at start and printed.
    #[arg(long, env = "CMEK_SANDBOX_ACCESS_KEY_ID", requires = "sandbox_secret_access_key")]
    pub sandbox_access_key_id: Option<String>,
    /// The secret access key that goes with --sandbox-access-key-id.
    #[arg(long, env = "CMEK_SANDBOX_SECRET_ACCESS_KEY", requires = "sandbox_access_key_id", hide_env_values = true)]
    pub sandbox_secret_access_key: Option<String>,
}

fn parse_endpoint_url(s: &str) -> Result<String, String> {
    let t = s.trim();
    let rest = t.strip_prefix("http://").or_else(|| t.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(['?', '#', ' ']) => Ok(t.to_owned()),
        _ => Err(format!("\"{s}\" is not an endpoint URL like http://127.0.0.1:5000 or https://kms.example.com")),
    }
}

impl KmsArgs {
    /// The sandbox endpoint's key pair: the one given, or a new one written back (so the
    /// caller can print it).
    pub fn sandbox_credentials(&mut self) -> sigv4::SandboxCredentials {
        match (&self.sandbox_access_key_id, &self.sandbox_secret_access_key) {
            (Some(id), Some(secret)) => {
                sigv4::SandboxCredentials { access_key_id: id.clone(), secret_access_key: secret.clone() }
            }
            _ => {
                let c = sigv4::SandboxCredentials::generate();
                self.sandbox_access_key_id = Some(c.access_key_id.clone());
                self.sandbox_secret_access_key = Some(c.secret_access_key.clone());
                c
            }
        }
    }

    /// The key-access port these options select.
    pub fn port(&self, sandbox: std::sync::Arc<aws_api::AwsEndpoint>) -> std::sync::Arc<dyn Kms> {
        match self.kms {
            KmsChoice::Sandbox => std::sync::Arc::new(aws::AwsKms::sandbox(sandbox)),
            KmsChoice::Aws => std::sync::Arc::new(aws::AwsKms::aws(self.kms_endpoint_url.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A KMS whose key is Enabled and whose answers to the policy read are chosen by the test.
    struct Fake {
        policy: Result<String, KmsError>,
    }

    const ARN: &str = "arn:aws:kms:us-west-2:111122223333:key/0b5c2a4e-1d7e-4c5e-9a3e-12345678abcd";

    #[async_trait]
    impl Kms for Fake {
        async fn describe_key(&self, arn: &str) -> Result<KeyDescription, KmsError> {
            Ok(KeyDescription {
                arn: arn.to_owned(),
                key_id: "0b5c2a4e-1d7e-4c5e-9a3e-12345678abcd".into(),
                region: "us-west-2".into(),
                account_id: "111122223333".into(),
                state: KeyState::Enabled,
                multi_region: false,
                deletion_date: None,
            })
        }
        async fn key_policy(&self, _: &str) -> Result<String, KmsError> {
            self.policy.clone()
        }
        async fn rotation_status(&self, _: &str) -> Result<RotationStatus, KmsError> {
            Ok(RotationStatus { enabled: true, period_days: Some(365), ..Default::default() })
        }
    }

    #[tokio::test]
    async fn a_policy_the_operator_may_not_read_says_which_permission_and_what_is_unknown() {
        let kms = Fake {
            policy: Err(KmsError::AccessDenied {
                arn: ARN.into(),
                call: "GetKeyPolicy",
                cause: "AccessDeniedException: User: arn:aws:iam::111122223333:user/ops is not authorized".into(),
            }),
        };
        let check = kms.check_access(ARN, "us-west-2", Some("444455556666")).await;
        assert_eq!(check.state, KeyHealthState::AccessDenied);
        let cause = &check.causes[0];
        assert!(cause.contains("grant them kms:GetKeyPolicy") && cause.contains(ARN), "{cause}");
        assert!(cause.contains("cannot be known whether the key policy grants the service"), "{cause}");
        assert_eq!(check.key.map(|k| k.state), Some(KeyState::Enabled), "what could be read is kept");
        assert_eq!(check.rotation.map(|r| r.enabled), Some(true));
    }
}
