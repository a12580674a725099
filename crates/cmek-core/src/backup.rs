//! Backups and restores of Dedicated clusters: the v1beta wire types (field for field as the
//! official OAS names them), the extension that says which key encrypts each backup, and the
//! rules — which clusters may be backed up, when a backup may be deleted or restored, where a
//! backup encrypted with a customer-managed key may be restored, when the automatic daily backup
//! is due. No I/O and no clock: callers pass the time in.

use crate::api::{CloudProvider, ClusterStatus, ClusterType, Components, CreateClusterConfig};
use crate::cluster::{CmekContext, check_cmek_placement};
use crate::error::{ErrorCode, FieldError, RuleError};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A backup's or a restore task's name/description limits.
pub const BACKUP_NAME_MAX: usize = 64;
pub const BACKUP_DESCRIPTION_MAX: usize = 256;
/// "Daily": the automatic backup interval the real service uses.
pub const AUTO_BACKUP_INTERVAL_SECS: f64 = 86_400.0;

// ---------------------------------------------------------------- wire types

/// `MANUAL` (CreateBackup) or `AUTO` (the daily backup).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BackupType {
    Manual,
    Auto,
}

impl BackupType {
    pub const fn as_str(self) -> &'static str {
        match self {
            BackupType::Manual => "MANUAL",
            BackupType::Auto => "AUTO",
        }
    }
}

/// The OAS's status of a backup and of a restore task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    Pending,
    Running,
    Failed,
    Success,
    #[serde(other)]
    Unknown,
}

impl TaskStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "PENDING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Failed => "FAILED",
            TaskStatus::Success => "SUCCESS",
            TaskStatus::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(s: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(TaskStatus::Unknown)
    }
}

/// `ListBackupItem` / `GetBackupOfClusterResp`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Backup {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub backup_type: BackupType,
    /// ISO 8601 in UTC, e.g. `2020-01-01T00:00:00Z` (the OAS's format for backups).
    pub create_timestamp: String,
    /// Bytes, as a decimal string.
    pub size: String,
    pub status: TaskStatus,
}

/// `ListBackupOfClusterResp`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ListBackupsResp {
    pub items: Vec<Backup>,
    pub total: i64,
}

/// `CreateBackupReq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateBackupReq {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `ClusterInfoOfRestore`: the new cluster a restore creates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RestoreCluster {
    pub id: String,
    pub name: String,
    /// A cluster status (`CLEARED` once the restored cluster is deleted).
    pub status: String,
}

/// `GetRestoreResp` / `ListRestoreRespItem`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Restore {
    pub id: String,
    /// ISO 8601 in UTC.
    pub create_timestamp: String,
    pub backup_id: String,
    /// The cluster the backup was taken of.
    pub cluster_id: String,
    pub status: TaskStatus,
    pub cluster: RestoreCluster,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// `ListRestoreResp`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ListRestoresResp {
    pub items: Vec<Restore>,
    pub total: i64,
}

/// `CreateRestoreReq`: the backup and the new cluster's name and config (its region, provider
/// and type are the backed-up cluster's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRestoreReq {
    pub backup_id: String,
    pub name: String,
    pub config: CreateClusterConfig,
}

/// `CreateRestoreResp`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateRestoreResp {
    pub id: String,
    pub cluster_id: String,
}

/// Extension: which key encrypts a backup (v1beta does not say), and why it failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct BackupEncryption {
    pub backup_id: String,
    pub region: String,
    /// The customer-managed key (CMEK project); `None`: the service's escrow key.
    #[serde(default)]
    pub kms_arn: Option<String>,
    /// Why the backup failed (e.g. the key was revoked when the daily backup ran).
    #[serde(default)]
    pub failure: Option<String>,
}

/// `GET /api/ext/v1/projects/{project_id}/clusters/{cluster_id}/backup-keys`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ListBackupKeysResp {
    pub items: Vec<BackupEncryption>,
}

// ---------------------------------------------------------------- rules

/// The fields of CreateBackup: a name of 1–64 characters, a description of at most 256.
pub fn check_create_backup(req: &CreateBackupReq) -> Vec<FieldError> {
    let mut out = Vec::new();
    let n = req.name.chars().count();
    if req.name.trim().is_empty() {
        out.push(FieldError::new("name", "is empty; name the backup (1–64 characters)"));
    } else if n > BACKUP_NAME_MAX {
        out.push(FieldError::new("name", format!("has {n} characters; a backup name has at most {BACKUP_NAME_MAX}")));
    } else if let Some(c) = req.name.chars().find(|c| c.is_control()) {
        out.push(FieldError::new(
            "name",
            format!("contains the control character U+{:04X}; use visible characters", c as u32),
        ));
    } else if let Some((c, at, what)) = crate::text::hidden_character(&req.name) {
        out.push(FieldError::new("name", format!("the name {}", crate::text::hidden_character_message(c, at, what))));
    }
    if let Some(d) = &req.description {
        let n = d.chars().count();
        if n > BACKUP_DESCRIPTION_MAX {
            out.push(FieldError::new(
                "description",
                format!("has {n} characters; a backup description has at most {BACKUP_DESCRIPTION_MAX}"),
            ));
        }
    }
    out
}

/// Whether a cluster can be backed up now: Dedicated only (the OAS: Serverless backups are not
/// managed by the API), and only while it runs.
pub fn check_backup_source(cluster_type: ClusterType, status: ClusterStatus) -> Result<(), RuleError> {
    if cluster_type != ClusterType::Dedicated {
        return Err(RuleError::new(
            ErrorCode::BackupNotAllowed,
            format!(
                "cluster_type \"{}\" cannot be backed up through the API: backups are for DEDICATED clusters (export a Serverless cluster with Dumpling)",
                cluster_type.as_str()
            ),
        ));
    }
    if status != ClusterStatus::Available {
        return Err(RuleError::new(
            ErrorCode::ClusterStateConflict,
            format!("the cluster can be backed up only when its status is AVAILABLE; it is {}", status.as_str()),
        ));
    }
    Ok(())
}

/// A backup's status at `now_ms`: RUNNING until it settles, then SUCCESS; FAILED stays.
pub fn backup_status_at(stored: TaskStatus, settles_at_ms: Option<i64>, now_ms: i64) -> TaskStatus {
    match (stored, settles_at_ms) {
        (TaskStatus::Running, Some(at)) if at <= now_ms => TaskStatus::Success,
        (s, _) => s,
    }
}

/// A running backup cannot be deleted (it would leave a half-written backup).
pub fn check_delete_backup(status: TaskStatus) -> Result<(), RuleError> {
    match status {
        TaskStatus::Running | TaskStatus::Pending => Err(RuleError::new(
            ErrorCode::BackupStateConflict,
            format!("the backup can be deleted once it has finished; it is {}", status.as_str()),
        )),
        _ => Ok(()),
    }
}

/// What a restore needs to know about the backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupSource<'a> {
    pub backup_id: u64,
    pub status: TaskStatus,
    pub cluster_type: ClusterType,
    pub cloud_provider: CloudProvider,
    pub region: &'a str,
    /// The customer-managed key that encrypts the backup, if any.
    pub kms_arn: Option<&'a str>,
}

/// Where a restore may land: a finished backup of a Dedicated cluster; a backup under a
/// customer-managed key only in a CMEK project whose key is that key (the only key that can
/// decrypt it), in its region; and every CMEK placement rule of the target project.
pub fn check_restore(
    source: BackupSource<'_>,
    target: CmekContext<'_>,
    target_key_arn: Option<&str>,
) -> Result<(), RuleError> {
    if source.status != TaskStatus::Success {
        return Err(RuleError::fields(
            ErrorCode::BackupStateConflict,
            vec![FieldError::new(
                "backup_id",
                format!(
                    "backup {} is {}; only a backup whose status is SUCCESS can be restored",
                    source.backup_id,
                    source.status.as_str()
                ),
            )],
        ));
    }
    if source.cluster_type != ClusterType::Dedicated {
        return Err(RuleError::new(
            ErrorCode::BackupNotAllowed,
            "restores are for backups of DEDICATED clusters; a Serverless cluster cannot be restored through the API",
        ));
    }
    if let Some(arn) = source.kms_arn {
        let fits = matches!(target, CmekContext::Key { .. }) && target_key_arn == Some(arn);
        if !fits {
            let here = match (target, target_key_arn) {
                (CmekContext::NotEnabled, _) => "this project does not use a customer-managed key".to_owned(),
                (CmekContext::NoKey, _) | (_, None) => "this project has no key configured yet".to_owned(),
                (CmekContext::Key { region }, Some(k)) => format!("this project's key is {k} in {region}"),
            };
            return Err(RuleError::fields(
                ErrorCode::CmekRestoreKeyMismatch,
                vec![FieldError::new(
                    "backup_id",
                    format!(
                        "backup {} is encrypted with the customer-managed key {arn} in {}; it can be restored only into a CMEK project whose key is that key, in {}, and {here}",
                        source.backup_id, source.region, source.region
                    ),
                )],
            ));
        }
    }
    // The new cluster runs where the backup was taken: the project's placement rules apply
    // as to any new cluster (a CMEK project only in its key's region).
    check_cmek_placement(target, source.cluster_type, source.cloud_provider, source.region)
}

/// The OAS: "you can only restore data from a smaller node size to a larger node size". Each
/// component of the new cluster needs at least the vCPUs and storage of the backed-up one.
pub fn check_restore_components(from: &Components, to: &Components) -> Vec<FieldError> {
    let mut out = Vec::new();
    let v = |s: &str| crate::cluster::vcpus(s).unwrap_or(0);
    if v(&to.tidb.node_size) < v(&from.tidb.node_size) {
        out.push(FieldError::new(
            "config.components.tidb.node_size",
            format!(
                "\"{}\" is smaller than the backed-up cluster's \"{}\"; a restore needs the same node size or a larger one",
                to.tidb.node_size, from.tidb.node_size
            ),
        ));
    }
    if v(&to.tikv.node_size) < v(&from.tikv.node_size) {
        out.push(FieldError::new(
            "config.components.tikv.node_size",
            format!(
                "\"{}\" is smaller than the backed-up cluster's \"{}\"; a restore needs the same node size or a larger one",
                to.tikv.node_size, from.tikv.node_size
            ),
        ));
    }
    let total = |c: &Components| i64::from(c.tikv.storage_size_gib) * i64::from(c.tikv.node_quantity);
    if total(to) < total(from) {
        out.push(FieldError::new(
            "config.components.tikv.storage_size_gib",
            format!(
                "{} GiB × {} nodes holds less than the backed-up cluster's {} GiB × {}; the data would not fit",
                to.tikv.storage_size_gib, to.tikv.node_quantity, from.tikv.storage_size_gib, from.tikv.node_quantity
            ),
        ));
    }
    out
}

/// Whether the automatic backup of a running cluster is due: `interval_ms` after the last
/// attempt (or after the cluster was created, before the first).
pub fn auto_backup_due(last_attempt_ms: i64, now_ms: i64, interval_ms: i64) -> bool {
    now_ms.saturating_sub(last_attempt_ms) >= interval_ms.max(1)
}

/// The simulated size of a backup: a tenth of the TiKV storage, in bytes.
pub fn backup_size_bytes(components: Option<&Components>) -> u64 {
    components
        .map_or(0, |c| (c.tikv.storage_size_gib.max(0) as u64) * (c.tikv.node_quantity.max(0) as u64) * (1 << 30) / 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(kms_arn: Option<&str>) -> BackupSource<'_> {
        BackupSource {
            backup_id: 7,
            status: TaskStatus::Success,
            cluster_type: ClusterType::Dedicated,
            cloud_provider: CloudProvider::Aws,
            region: "us-west-2",
            kms_arn,
        }
    }

    const K: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const K2: &str = "arn:aws:kms:us-west-2:111122223333:key/ffffabcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn a_cmek_backup_restores_only_under_its_own_key_in_its_region() {
        let west = CmekContext::Key { region: "us-west-2" };
        assert!(check_restore(source(Some(K)), west, Some(K)).is_ok());
        let e = check_restore(source(Some(K)), west, Some(K2)).unwrap_err();
        assert_eq!(e.code, ErrorCode::CmekRestoreKeyMismatch);
        assert!(e.message.contains(K) && e.message.contains(K2), "{}", e.message);
        let e = check_restore(source(Some(K)), CmekContext::NotEnabled, None).unwrap_err();
        assert_eq!(e.code, ErrorCode::CmekRestoreKeyMismatch);
        assert!(e.message.contains("does not use a customer-managed key"), "{}", e.message);
        // A backup under the escrow key into a CMEK project of another region: the placement rule.
        let east = CmekContext::Key { region: "us-east-1" };
        let e = check_restore(source(None), east, Some(K2)).unwrap_err();
        assert_eq!(e.code, ErrorCode::CmekClusterRegionMismatch);
        assert!(check_restore(source(None), CmekContext::NotEnabled, None).is_ok());
    }

    #[test]
    fn only_finished_backups_of_running_dedicated_clusters() {
        let running = BackupSource { status: TaskStatus::Running, ..source(None) };
        assert_eq!(
            check_restore(running, CmekContext::NotEnabled, None).unwrap_err().code,
            ErrorCode::BackupStateConflict
        );
        assert_eq!(
            check_backup_source(ClusterType::Developer, ClusterStatus::Available).unwrap_err().code,
            ErrorCode::BackupNotAllowed
        );
        let e = check_backup_source(ClusterType::Dedicated, ClusterStatus::Paused).unwrap_err();
        assert!(e.message.contains("PAUSED"), "{}", e.message);
        assert!(check_delete_backup(TaskStatus::Running).is_err());
        assert!(check_delete_backup(TaskStatus::Failed).is_ok());
    }

    #[test]
    fn statuses_settle_and_auto_backups_come_daily() {
        assert_eq!(backup_status_at(TaskStatus::Running, Some(10), 9), TaskStatus::Running);
        assert_eq!(backup_status_at(TaskStatus::Running, Some(10), 10), TaskStatus::Success);
        assert_eq!(backup_status_at(TaskStatus::Failed, None, 10), TaskStatus::Failed);
        let day = 86_400_000;
        assert!(!auto_backup_due(0, day - 1, day));
        assert!(auto_backup_due(0, day, day));
    }

    #[test]
    fn names_and_descriptions() {
        let long = CreateBackupReq { name: "x".repeat(65), description: Some("d".repeat(257)) };
        let f = check_create_backup(&long);
        assert_eq!(f.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["name", "description"]);
        assert!(f[0].message.contains("65 characters"), "{}", f[0].message);
        assert!(check_create_backup(&CreateBackupReq { name: "b-1".into(), description: None }).is_empty());
    }
}
