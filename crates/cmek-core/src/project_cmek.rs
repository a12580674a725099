//! A project's CMEK context, derived once from its `aws_cmek_enabled` flag and its configured
//! keys: whether a cluster or a key may be created, why not, and which key and region lock its
//! clusters. The server's routes and the console's pages ask this, so both say the same thing.
//!
//! Also the key rules the console used to keep in its pages: which refusals are about the key,
//! which key states refuse a new cluster, and what the key ARN field says as it is typed.

use crate::ErrorCode;
use crate::api::AwsCmekSpec;
use crate::arn::KmsKeyArn;
use crate::cluster::CmekContext;
use crate::kms::KeyHealthState;
use crate::region;

/// The key that encrypts a CMEK project's clusters and backups, among the specs it has
/// configured: a project has one key, so the first is the one that counts.
pub fn configured_key(keys: &[AwsCmekSpec]) -> Option<&AwsCmekSpec> {
    keys.first()
}

/// What a project's CMEK flag and configured keys make of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectCmek {
    /// Created without CMEK: TiDB Cloud's escrow key; any tier, provider and catalog region.
    NotEnabled,
    /// A CMEK project whose key is not configured yet: no cluster can be created.
    NoKey,
    /// A CMEK project with its key: Dedicated clusters on AWS, in the key's region only.
    Key(AwsCmekSpec),
}

impl ProjectCmek {
    /// From the project's flag and the keys it has configured (a project has one key; the first
    /// is the one that counts).
    pub fn of(aws_cmek_enabled: bool, keys: &[AwsCmekSpec]) -> Self {
        match (aws_cmek_enabled, configured_key(keys)) {
            (false, _) => ProjectCmek::NotEnabled,
            (true, None) => ProjectCmek::NoKey,
            (true, Some(k)) => ProjectCmek::Key(k.clone()),
        }
    }

    /// As far as it is known: a project created without CMEK needs no keys to say so; a CMEK
    /// project's context waits for its keys (`None` while they are unknown).
    pub fn known(aws_cmek_enabled: bool, keys: Option<&[AwsCmekSpec]>) -> Option<Self> {
        match (aws_cmek_enabled, keys) {
            (false, _) => Some(ProjectCmek::NotEnabled),
            (true, Some(keys)) => Some(ProjectCmek::of(true, keys)),
            (true, None) => None,
        }
    }

    /// The placement rule's view of it (`cluster::check_cmek_placement`).
    pub fn context(&self) -> CmekContext<'_> {
        match self {
            ProjectCmek::NotEnabled => CmekContext::NotEnabled,
            ProjectCmek::NoKey => CmekContext::NoKey,
            ProjectCmek::Key(k) => CmekContext::Key { region: &k.region },
        }
    }

    pub fn is_enabled(&self) -> bool {
        !matches!(self, ProjectCmek::NotEnabled)
    }

    /// The key that encrypts the project's clusters (a CMEK project with its key only).
    pub fn key(&self) -> Option<&AwsCmekSpec> {
        match self {
            ProjectCmek::Key(k) => Some(k),
            _ => None,
        }
    }

    /// The region every cluster of the project runs in, when the key locks it.
    pub fn key_region(&self) -> Option<&str> {
        self.key().map(|k| k.region.as_str())
    }

    /// Why a cluster cannot be created in this project yet, or `None` when it can.
    pub fn create_cluster_blocked(&self) -> Option<&'static str> {
        matches!(self, ProjectCmek::NoKey).then_some(
            "This project encrypts with a customer-managed key, and none is configured yet: configure the key on Encryption Access first. Its region is where the clusters will run.",
        )
    }

    /// Why a key cannot be configured for this project, or `None` when it can.
    pub fn create_key_blocked(&self) -> Option<String> {
        match self {
            ProjectCmek::NotEnabled => Some(
                "Create Encryption Key is unavailable: this project was created without Customer-Managed Encryption Key, and CMEK cannot be turned on for an existing project.".to_owned(),
            ),
            ProjectCmek::NoKey => None,
            ProjectCmek::Key(k) => Some(format!(
                "An encryption key is already configured for {}. A project encrypts with one key, in one region; to change key material, rotate the key in AWS KMS.",
                k.region
            )),
        }
    }

    /// Where the project's clusters run and why, when the key locks them.
    pub fn clusters_locked(&self) -> Option<String> {
        self.key_region().map(|r| {
            format!("Clusters of this project run in {} and encrypt with the project's key there.", region::label(r))
        })
    }

    /// Why a new cluster's tier, provider and region are fixed, when the key fixes them.
    pub fn placement_locked(&self) -> Option<String> {
        self.key_region().map(|r| format!("This project encrypts with the key in {}", region::label(r)))
    }

    /// Why a restore's region is fixed (always: a restore runs where the backup was taken).
    pub fn restore_region_locked(&self) -> String {
        match self.key_region() {
            Some(r) => format!(
                "a restore runs in the backed-up cluster's region; this project encrypts with the key in {r}, which decrypts the backup"
            ),
            None => "a restore runs in the backed-up cluster's region".to_owned(),
        }
    }
}

/// Whether a refusal is about the project's key (so a page points at its health and policy).
pub fn is_key_refusal(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::KeyAccessDenied
            | ErrorCode::KeyDisabled
            | ErrorCode::KeyPendingDeletion
            | ErrorCode::KeyNotFound
            | ErrorCode::KmsUnreachable
    )
}

/// Whether the service refuses to create a cluster with a key in this state (an unknown or
/// unreachable state is not held against a form: the server decides on submit).
pub fn refuses_new_cluster(state: KeyHealthState) -> bool {
    matches!(
        state,
        KeyHealthState::AccessDenied
            | KeyHealthState::KeyDisabled
            | KeyHealthState::PendingDeletion
            | KeyHealthState::NotFound
    )
}

/// What a key ARN field says as it is typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArnCheck {
    Empty,
    Error(String),
    Ok { multi_region: bool },
}

/// The same parser and region rule the server applies (`cmek::check_spec`); with no region
/// chosen yet only the ARN's syntax is checked.
pub fn check_arn_as_typed(arn: &str, region: &str) -> ArnCheck {
    if arn.is_empty() {
        return ArnCheck::Empty;
    }
    match KmsKeyArn::parse(arn) {
        Err(e) => ArnCheck::Error(e.to_string()),
        Ok(a) => match a.check_region(region) {
            Err(m) if !region.is_empty() => ArnCheck::Error(m.to_string()),
            _ => ArnCheck::Ok { multi_region: a.is_multi_region() },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(region: &str) -> AwsCmekSpec {
        AwsCmekSpec {
            region: region.to_owned(),
            kms_arn: format!("arn:aws:kms:{region}:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        }
    }

    #[test]
    fn known_without_keys_only_for_a_project_created_without_cmek() {
        assert_eq!(ProjectCmek::known(false, None), Some(ProjectCmek::NotEnabled));
        assert_eq!(ProjectCmek::known(true, None), None);
        assert_eq!(ProjectCmek::known(true, Some(&[])), Some(ProjectCmek::NoKey));
        let k = spec("us-west-2");
        assert_eq!(ProjectCmek::known(true, Some(std::slice::from_ref(&k))), Some(ProjectCmek::Key(k)));
    }

    #[test]
    fn derived_from_the_flag_and_the_first_key() {
        assert_eq!(ProjectCmek::of(false, &[spec("us-west-2")]), ProjectCmek::NotEnabled);
        assert_eq!(ProjectCmek::of(true, &[]), ProjectCmek::NoKey);
        let two = [spec("us-west-2"), spec("us-east-1")];
        assert_eq!(ProjectCmek::of(true, &two), ProjectCmek::Key(spec("us-west-2")));
        assert_eq!(ProjectCmek::of(true, &two).context(), CmekContext::Key { region: "us-west-2" });
        assert_eq!(ProjectCmek::of(true, &[]).context(), CmekContext::NoKey);
        assert_eq!(ProjectCmek::of(false, &[]).context(), CmekContext::NotEnabled);
        assert_eq!(ProjectCmek::of(true, &two).key(), Some(&two[0]));
        assert!(ProjectCmek::of(false, &two).key().is_none());
        assert!(ProjectCmek::NoKey.is_enabled() && !ProjectCmek::NotEnabled.is_enabled());
    }

    #[test]
    fn a_cluster_waits_for_the_key_and_a_key_is_configured_once() {
        assert!(ProjectCmek::NoKey.create_cluster_blocked().unwrap().contains("none is configured yet"));
        assert!(ProjectCmek::NotEnabled.create_cluster_blocked().is_none());
        assert!(ProjectCmek::Key(spec("us-west-2")).create_cluster_blocked().is_none());

        assert!(ProjectCmek::NotEnabled.create_key_blocked().unwrap().contains("created without"));
        assert!(ProjectCmek::NoKey.create_key_blocked().is_none());
        let why = ProjectCmek::Key(spec("us-west-2")).create_key_blocked().unwrap();
        assert!(why.contains("already configured for us-west-2"), "{why}");
    }

    #[test]
    fn the_key_locks_where_clusters_and_restores_run() {
        let key = ProjectCmek::Key(spec("us-west-2"));
        assert_eq!(key.placement_locked().unwrap(), "This project encrypts with the key in Oregon (us-west-2)");
        assert!(key.clusters_locked().unwrap().contains("run in Oregon (us-west-2)"));
        assert!(key.restore_region_locked().contains("the key in us-west-2, which decrypts the backup"));
        for free in [ProjectCmek::NotEnabled, ProjectCmek::NoKey] {
            assert!(free.placement_locked().is_none() && free.clusters_locked().is_none());
            assert_eq!(free.restore_region_locked(), "a restore runs in the backed-up cluster's region");
        }
    }

    #[test]
    fn key_refusals_and_states_that_refuse_a_cluster() {
        for code in
            [ErrorCode::KeyAccessDenied, ErrorCode::KeyDisabled, ErrorCode::KeyNotFound, ErrorCode::KmsUnreachable]
        {
            assert!(is_key_refusal(code), "{code:?}");
        }
        assert!(!is_key_refusal(ErrorCode::ValidationFailed));
        assert!(!is_key_refusal(ErrorCode::CmekNotConfigured));
        assert!(refuses_new_cluster(KeyHealthState::KeyDisabled));
        assert!(refuses_new_cluster(KeyHealthState::AccessDenied));
        // Not known to refuse: the server decides on submit.
        assert!(!refuses_new_cluster(KeyHealthState::KmsUnreachable));
        assert!(!refuses_new_cluster(KeyHealthState::Unknown));
        assert!(!refuses_new_cluster(KeyHealthState::Accessible));
    }

    #[test]
    fn the_arn_field_as_typed() {
        let arn = spec("us-west-2").kms_arn;
        assert_eq!(check_arn_as_typed("", "us-west-2"), ArnCheck::Empty);
        assert_eq!(check_arn_as_typed(&arn, "us-west-2"), ArnCheck::Ok { multi_region: false });
        // No region chosen yet: only the syntax counts.
        assert_eq!(check_arn_as_typed(&arn, ""), ArnCheck::Ok { multi_region: false });
        assert!(matches!(check_arn_as_typed(&arn, "us-east-1"), ArnCheck::Error(m) if m.contains("us-east-1")));
        assert!(matches!(check_arn_as_typed("arn:nope", "us-west-2"), ArnCheck::Error(_)));
        let mrk = "arn:aws:kms:us-west-2:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab";
        assert_eq!(check_arn_as_typed(mrk, "us-west-2"), ArnCheck::Ok { multi_region: true });
    }
}
