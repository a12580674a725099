//! Key access, as the service sees it: checks a configured key against KMS, keeps its health
//! (state, when checked, when last fine, why not, rotation) and records what changed as events.

use crate::clock::now_ms;
use crate::db::{Db, StorageError, StorageResult};
use crate::kms::{KeyCheck, Kms};
use crate::store::{self, NewEvent};
use cmek_core::ErrorCode;
use cmek_core::api::AwsCmekSpec;
use cmek_core::ext::{EventKind, KeyHealth};
use cmek_core::kms::KeyHealthState;
use std::sync::Arc;

/// The refusal of an operation that needs the key: names the key, the region and each cause.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KeyRefusal {
    pub code: ErrorCode,
    pub message: String,
    /// Each reason the key is unusable, in words.
    pub causes: Vec<String>,
}

impl KeyRefusal {
    pub fn new(check: &KeyCheck, arn: &str, region: &str, doing: &str) -> Self {
        let code = check.state.refusal_code().unwrap_or(ErrorCode::KeyAccessDenied);
        let first = check.causes.first().map(String::as_str).unwrap_or("the key is not usable");
        Self {
            code,
            message: format!(
                "{doing} is refused: the service cannot use the key {arn} in {region} ({}): {first}",
                check.state.as_str()
            ),
            causes: check.causes.clone(),
        }
    }
}

/// Why an operation that needs the project's key cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum KeyAccessError {
    #[error(transparent)]
    Refused(#[from] KeyRefusal),
    /// The check could not be recorded.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Checks a configured key against KMS and keeps its health (the project's CMEK specs, as the
/// service sees them).
pub struct KeyService {
    kms: Arc<dyn Kms>,
    db: Arc<Db>,
    service_account: Option<String>,
}

impl KeyService {
    pub fn new(kms: Arc<dyn Kms>, db: Arc<Db>, service_account: Option<String>) -> Self {
        Self { kms, db, service_account }
    }

    pub fn service_account(&self) -> Option<&str> {
        self.service_account.as_deref()
    }

    /// Asks KMS whether the service may use `arn` in `region`; records nothing.
    pub async fn check(&self, arn: &str, region: &str) -> KeyCheck {
        self.kms.check_access(arn, region, self.service_account.as_deref()).await
    }

    /// Checks the project's key now (and records what was found); the refusal names the cause.
    pub async fn require(&self, project_id: u64, spec: &AwsCmekSpec, doing: &str) -> Result<(), KeyAccessError> {
        let (check, _) = self.check_and_record(project_id, spec).await?;
        if check.is_ok() { Ok(()) } else { Err(KeyRefusal::new(&check, &spec.kms_arn, &spec.region, doing).into()) }
    }

    /// Checks a project's configured key and records the outcome.
    pub async fn check_and_record(&self, project_id: u64, spec: &AwsCmekSpec) -> StorageResult<(KeyCheck, KeyHealth)> {
        let check = self.check(&spec.kms_arn, &spec.region).await;
        let health = self.record(project_id, spec.clone(), check.clone()).await?;
        Ok((check, health))
    }

    /// Stores the health a check found; an event when the state changed or the key rotated.
    pub async fn record(&self, project_id: u64, spec: AwsCmekSpec, check: KeyCheck) -> StorageResult<KeyHealth> {
        self.db
            .write(move |tx| {
                let before = store::get_health(tx, project_id, &spec)?;
                let now = now_ms();
                let after = health_from(&before, &check, now / 1000);
                store::put_health(tx, &after)?;
                if before.state != KeyHealthState::Unknown && before.state != after.state {
                    store::insert_event(
                        tx,
                        &NewEvent {
                            project_id,
                            at_ms: now,
                            kind: EventKind::KeyHealthChanged,
                            cluster: None,
                            region: Some(&spec.region),
                            message: format!(
                                "Key health changed from {} to {}.",
                                before.state.as_str(),
                                after.state.as_str()
                            ),
                            details: after.causes.clone(),
                        },
                    )?;
                }
                let count = |h: &KeyHealth| h.rotation.as_ref().map_or(0, |r| r.rotation_count);
                if before.rotation.is_some() && count(&after) > count(&before) {
                    store::insert_event(
                        tx,
                        &NewEvent {
                            project_id,
                            at_ms: now,
                            kind: EventKind::KeyRotated,
                            cluster: None,
                            region: Some(&spec.region),
                            message:
                                "The key was rotated in KMS. Its ARN is unchanged, so nothing needs updating here."
                                    .to_owned(),
                            details: vec![spec.kms_arn.clone()],
                        },
                    )?;
                }
                Ok(after)
            })
            .await
    }

    /// Re-checks every configured key (the periodic check).
    pub async fn check_all(&self) -> StorageResult<usize> {
        let keys = self.db.read(|c| Ok(store::all_cmek_specs(c)?)).await?;
        for (project_id, spec) in &keys {
            self.check_and_record(*project_id, spec).await?;
        }
        Ok(keys.len())
    }

    /// Re-checks the projects that use `arn` (after the key changed in the sandbox KMS).
    pub async fn recheck_arn(&self, arn: &str) -> StorageResult<()> {
        let keys = self.db.read(|c| Ok(store::all_cmek_specs(c)?)).await?;
        for (project_id, spec) in keys.iter().filter(|(_, s)| s.kms_arn == arn) {
            self.check_and_record(*project_id, spec).await?;
        }
        Ok(())
    }
}

pub(crate) fn health_from(before: &KeyHealth, check: &KeyCheck, now_secs: i64) -> KeyHealth {
    KeyHealth {
        project_id: before.project_id.clone(),
        region: before.region.clone(),
        kms_arn: before.kms_arn.clone(),
        state: check.state,
        key_state: check.key.as_ref().map(|k| k.state),
        checked_at: Some(now_secs),
        last_ok_at: if check.is_ok() { Some(now_secs) } else { before.last_ok_at },
        causes: check.causes.clone(),
        rotation: check.rotation.clone().or_else(|| before.rotation.clone()),
        multi_region: check.key.as_ref().map_or(before.multi_region, |k| k.multi_region),
        deletion_date: check.key.as_ref().and_then(|k| k.deletion_date),
    }
}
