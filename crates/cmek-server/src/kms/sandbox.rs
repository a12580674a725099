//! The sandbox KMS: AWS KMS's key lifecycle, persisted in the server's SQLite, so the whole
//! user guide (policy, rotation, revoke, restore) plays out on one machine with no AWS account.
//!
//! It follows KMS's rules where they matter to the story: key ids and ARNs never change, a
//! rotation keeps them, a cancelled deletion leaves the key Disabled, and operations on a key
//! in the wrong state fail with `KMSInvalidStateException`'s meaning. The AWS protocol in front
//! of it is `aws_api.rs`; the key checks reach it only through that (and `aws-sdk-kms`).

use crate::db::{Db, StorageError};
use cmek_core::ext::{CreateSandboxKeyReq, KeyRotation, SandboxKey};
use cmek_core::kms::{DELETION_WINDOW_DAYS, KeyState, ROTATION_PERIOD_DAYS, RotationStatus};
use cmek_core::policy::{self, PolicyRegion};
use cmek_core::region::{Partition, is_aws_region_code};
use cmek_core::{ErrorCode, RuleError};
use cmek_core::{FieldError, arn::KmsKeyArn};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::sync::Arc;

const DAY: i64 = 86_400;
/// `RotateKeyOnDemand` is capped per key.
pub const MAX_ON_DEMAND_ROTATIONS: i64 = 25;
pub const DEFAULT_ROTATION_DAYS: i64 = 365;
pub const DEFAULT_DELETION_DAYS: i64 = 30;

pub struct SandboxKms {
    db: Arc<Db>,
    account_id: String,
}

fn now_secs() -> i64 {
    crate::clock::now_ms() / 1000
}

/// Why the sandbox KMS refused an operation, in KMS's terms (`aws_api.rs` names the AWS
/// exception of each; the handlers answer each with its `ErrorCode`).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// `NotFoundException`.
    #[error("the sandbox KMS has no key {key_id}")]
    NotFound { key_id: String },
    /// `KMSInvalidStateException`.
    #[error("key {key_id} is {}: {what}", state.as_str())]
    InvalidState { key_id: String, state: KeyState, what: &'static str },
    /// `LimitExceededException`.
    #[error("key {key_id} has had {count} on-demand rotations, the most KMS allows")]
    RotationLimit { key_id: String, count: i64 },
    /// A request field breaks a rule (`ValidationException`, `MalformedPolicyDocumentException`).
    #[error("{0}")]
    Invalid(RuleError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<rusqlite::Error> for SandboxError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Storage(e.into())
    }
}

pub type SandboxResult<T> = Result<T, SandboxError>;

fn invalid_state(key_id: &str, state: KeyState, what: &'static str) -> SandboxError {
    SandboxError::InvalidState { key_id: key_id.to_owned(), state, what }
}

fn not_found(key_id: &str) -> SandboxError {
    SandboxError::NotFound { key_id: key_id.to_owned() }
}

fn invalid(fields: Vec<FieldError>) -> SandboxError {
    SandboxError::Invalid(RuleError::fields(ErrorCode::ValidationFailed, fields))
}

struct Row_ {
    key: SandboxKey,
    rotation_anchor: Option<i64>,
}

fn read_row(r: &Row<'_>) -> rusqlite::Result<Row_> {
    let state: String = r.get("state")?;
    let enabled: bool = r.get("rotation_enabled")?;
    Ok(Row_ {
        key: SandboxKey {
            key_id: r.get("key_id")?,
            arn: r.get("arn")?,
            region: r.get("region")?,
            account_id: r.get("account_id")?,
            multi_region: r.get("multi_region")?,
            description: r.get("description")?,
            state: KeyState::parse(&state).unwrap_or(KeyState::Unavailable),
            deletion_date: r.get("deletion_date")?,
            created_at: r.get("created_at")?,
            policy: r.get("policy")?,
            rotation: RotationStatus {
                enabled,
                period_days: r.get("rotation_period_days")?,
                ..RotationStatus::default()
            },
            rotations: Vec::new(),
        },
        rotation_anchor: r.get("rotation_anchor")?,
    })
}

/// Fills the rotation history and the derived rotation dates.
fn complete(conn: &Connection, row: Row_) -> rusqlite::Result<SandboxKey> {
    let Row_ { mut key, rotation_anchor } = row;
    let mut stmt = conn.prepare_cached(
        "SELECT rotated_at, rotation_type FROM kms_rotations WHERE key_id = ?1 ORDER BY rotated_at, rowid",
    )?;
    key.rotations = stmt
        .query_map([&key.key_id], |r| Ok(KeyRotation { rotated_at: r.get(0)?, rotation_type: r.get(1)? }))?
        .collect::<Result<_, _>>()?;
    key.rotation.rotation_count = key.rotations.len() as i64;
    key.rotation.last_rotated_at = key.rotations.last().map(|r| r.rotated_at);
    if key.rotation.enabled {
        let period = key.rotation.period_days.unwrap_or(DEFAULT_ROTATION_DAYS) * DAY;
        let automatic_since = key.rotations.iter().rev().find(|r| r.rotation_type == "AUTOMATIC").map(|r| r.rotated_at);
        let base = automatic_since.into_iter().chain(rotation_anchor).max().unwrap_or(key.created_at);
        key.rotation.next_rotation_at = Some(base + period);
    }
    Ok(key)
}

fn load(conn: &Connection, key_id: &str) -> SandboxResult<SandboxKey> {
    let row = conn
        .query_row("SELECT * FROM kms_keys WHERE key_id = ?1", [key_id], read_row)
        .optional()?
        .ok_or_else(|| not_found(key_id))?;
    Ok(complete(conn, row)?)
}

fn state_of(conn: &Connection, key_id: &str) -> SandboxResult<KeyState> {
    let s: Option<String> =
        conn.query_row("SELECT state FROM kms_keys WHERE key_id = ?1", [key_id], |r| r.get(0)).optional()?;
    let s = s.ok_or_else(|| not_found(key_id))?;
    Ok(KeyState::parse(&s).unwrap_or(KeyState::Unavailable))
}

fn set_state(conn: &Connection, key_id: &str, state: KeyState, deletion_date: Option<i64>) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE kms_keys SET state = ?2, deletion_date = ?3 WHERE key_id = ?1",
        params![key_id, state.as_str(), deletion_date],
    )?;
    Ok(())
}

fn check_policy(policy: &str) -> SandboxResult<()> {
    let problems = policy::validate_document(policy);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(
            problems.into_iter().map(|p| FieldError::new("policy", format!("MalformedPolicyDocument: {p}"))).collect(),
        ))
    }
}

impl SandboxKms {
    pub fn new(db: Arc<Db>, account_id: String) -> Self {
        Self { db, account_id }
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub async fn list(&self) -> SandboxResult<Vec<SandboxKey>> {
        self.db
            .read_as(|c| {
                let mut stmt = c.prepare("SELECT * FROM kms_keys ORDER BY seq")?;
                let rows = stmt.query_map([], read_row)?.collect::<Result<Vec<_>, _>>()?;
                Ok(rows.into_iter().map(|r| complete(c, r)).collect::<Result<Vec<_>, _>>()?)
            })
            .await
    }

    pub async fn get(&self, key_id: String) -> SandboxResult<SandboxKey> {
        self.db.read_as(move |c| load(c, &key_id)).await
    }

    /// `CreateKey` (symmetric, `ENCRYPT_DECRYPT`).
    pub async fn create(&self, req: CreateSandboxKeyReq) -> SandboxResult<SandboxKey> {
        let mut errors = Vec::new();
        if !is_aws_region_code(&req.region) {
            errors.push(FieldError::new(
                "region",
                format!("\"{}\" is not an AWS region code such as us-west-2", req.region),
            ));
        }
        let description = req.description.unwrap_or_default();
        if description.chars().count() > 8192 {
            errors.push(FieldError::new("description", "has more than 8192 characters"));
        }
        if !errors.is_empty() {
            return Err(invalid(errors));
        }
        let policy = match req.policy {
            Some(p) => {
                check_policy(&p)?;
                p
            }
            // The AWS default key policy: the owning account administers the key, nobody else.
            None => policy::pretty(&serde_json::json!({
                "Version": "2012-10-17",
                "Id": "key-default-1",
                "Statement": [{
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": { "AWS": format!("arn:aws:iam::{}:root", self.account_id) },
                    "Action": "kms:*",
                    "Resource": "*",
                }],
            })),
        };
        let multi_region = req.multi_region.unwrap_or(false);
        let uuid = uuid::Uuid::new_v4();
        let key_id = if multi_region { format!("mrk-{}", uuid.simple()) } else { uuid.to_string() };
        let arn = KmsKeyArn {
            partition: Partition::of_region(&req.region),
            region: req.region.clone(),
            account: self.account_id.clone(),
            key_id: key_id.clone(),
        }
        .to_string();
        let account = self.account_id.clone();
        let region = req.region;
        self.db
            .write_as(move |tx| {
                tx.execute(
                    "INSERT INTO kms_keys (key_id, arn, region, account_id, multi_region, description, state, policy,
                        rotation_enabled, created_at, seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'Enabled', ?7, 0, ?8,
                        (SELECT coalesce(max(seq), 0) + 1 FROM kms_keys))",
                    params![key_id, arn, region, account, multi_region, description, policy, now_secs()],
                )?;
                load(tx, &key_id)
            })
            .await
    }

    /// `PutKeyPolicy`: stored exactly as written, after the structural check KMS makes.
    pub async fn put_policy(&self, key_id: String, policy: String) -> SandboxResult<SandboxKey> {
        check_policy(&policy)?;
        self.db
            .write_as(move |tx| {
                state_of(tx, &key_id)?;
                tx.execute("UPDATE kms_keys SET policy = ?2 WHERE key_id = ?1", params![key_id, policy])?;
                load(tx, &key_id)
            })
            .await
    }

    pub async fn enable(&self, key_id: String) -> SandboxResult<SandboxKey> {
        self.db
            .write_as(move |tx| {
                match state_of(tx, &key_id)? {
                    KeyState::Enabled | KeyState::Disabled => set_state(tx, &key_id, KeyState::Enabled, None)?,
                    s => return Err(invalid_state(&key_id, s, "cancel the key deletion before enabling it")),
                }
                load(tx, &key_id)
            })
            .await
    }

    pub async fn disable(&self, key_id: String) -> SandboxResult<SandboxKey> {
        self.db
            .write_as(move |tx| {
                match state_of(tx, &key_id)? {
                    KeyState::Enabled | KeyState::Disabled => set_state(tx, &key_id, KeyState::Disabled, None)?,
                    s => return Err(invalid_state(&key_id, s, "a key pending deletion is already unusable")),
                }
                load(tx, &key_id)
            })
            .await
    }

    /// `ScheduleKeyDeletion`: 7–30 days ahead.
    pub async fn schedule_deletion(&self, key_id: String, days: Option<i64>) -> SandboxResult<SandboxKey> {
        let days = days.unwrap_or(DEFAULT_DELETION_DAYS);
        if !DELETION_WINDOW_DAYS.contains(&days) {
            return Err(invalid(vec![FieldError::new(
                "pending_window_days",
                format!("{days} is outside {}–{} days", DELETION_WINDOW_DAYS.start(), DELETION_WINDOW_DAYS.end()),
            )]));
        }
        self.db
            .write_as(move |tx| {
                match state_of(tx, &key_id)? {
                    KeyState::Enabled | KeyState::Disabled => {
                        set_state(tx, &key_id, KeyState::PendingDeletion, Some(now_secs() + days * DAY))?
                    }
                    s => return Err(invalid_state(&key_id, s, "its deletion is already scheduled")),
                }
                load(tx, &key_id)
            })
            .await
    }

    /// `CancelKeyDeletion`: as in KMS, the key comes back Disabled.
    pub async fn cancel_deletion(&self, key_id: String) -> SandboxResult<SandboxKey> {
        self.db
            .write_as(move |tx| {
                match state_of(tx, &key_id)? {
                    KeyState::PendingDeletion => set_state(tx, &key_id, KeyState::Disabled, None)?,
                    s => return Err(invalid_state(&key_id, s, "no deletion is scheduled")),
                }
                load(tx, &key_id)
            })
            .await
    }

    /// `RotateKeyOnDemand`: new key material; the key id and ARN stay the same.
    pub async fn rotate_now(&self, key_id: String) -> SandboxResult<SandboxKey> {
        self.db
            .write_as(move |tx| {
                match state_of(tx, &key_id)? {
                    KeyState::Enabled => {}
                    s => return Err(invalid_state(&key_id, s, "only an Enabled key can be rotated")),
                }
                let on_demand: i64 = tx.query_row(
                    "SELECT count(*) FROM kms_rotations WHERE key_id = ?1 AND rotation_type = 'ON_DEMAND'",
                    [&key_id],
                    |r| r.get(0),
                )?;
                if on_demand >= MAX_ON_DEMAND_ROTATIONS {
                    return Err(SandboxError::RotationLimit { key_id, count: on_demand });
                }
                tx.execute(
                    "INSERT INTO kms_rotations (key_id, rotated_at, rotation_type) VALUES (?1, ?2, 'ON_DEMAND')",
                    params![key_id, now_secs()],
                )?;
                load(tx, &key_id)
            })
            .await
    }

    /// `EnableKeyRotation` / `DisableKeyRotation`.
    pub async fn set_rotation(
        &self,
        key_id: String,
        enabled: bool,
        period_days: Option<i64>,
    ) -> SandboxResult<SandboxKey> {
        let period = period_days.unwrap_or(DEFAULT_ROTATION_DAYS);
        if enabled && !ROTATION_PERIOD_DAYS.contains(&period) {
            return Err(invalid(vec![FieldError::new(
                "period_days",
                format!("{period} is outside {}–{} days", ROTATION_PERIOD_DAYS.start(), ROTATION_PERIOD_DAYS.end()),
            )]));
        }
        self.db
            .write_as(move |tx| {
                match state_of(tx, &key_id)? {
                    KeyState::Enabled => {}
                    s => return Err(invalid_state(&key_id, s, "rotation can only be changed on an Enabled key")),
                }
                if enabled {
                    tx.execute(
                        "UPDATE kms_keys SET rotation_enabled = 1, rotation_period_days = ?2, rotation_anchor = ?3 WHERE key_id = ?1",
                        params![key_id, period, now_secs()],
                    )?;
                } else {
                    tx.execute(
                        "UPDATE kms_keys SET rotation_enabled = 0, rotation_period_days = NULL, rotation_anchor = NULL WHERE key_id = ?1",
                        [&key_id],
                    )?;
                }
                load(tx, &key_id)
            })
            .await
    }

    /// What time does to keys: automatic rotations fall due, scheduled deletions happen.
    /// Returns the ARNs that changed.
    pub fn advance(tx: &rusqlite::Transaction<'_>, now: i64) -> rusqlite::Result<Vec<String>> {
        let mut changed = Vec::new();
        let due: Vec<(String, String)> = {
            let mut stmt =
                tx.prepare("SELECT key_id, arn FROM kms_keys WHERE state = 'PendingDeletion' AND deletion_date <= ?1")?;
            stmt.query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?
        };
        for (key_id, arn) in due {
            tx.execute("DELETE FROM kms_rotations WHERE key_id = ?1", [&key_id])?;
            tx.execute("DELETE FROM kms_keys WHERE key_id = ?1", [&key_id])?;
            changed.push(arn);
        }
        let rotating: Vec<String> = {
            let mut stmt =
                tx.prepare("SELECT key_id FROM kms_keys WHERE rotation_enabled = 1 AND state = 'Enabled'")?;
            stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        for key_id in rotating {
            let Some(row) = tx.query_row("SELECT * FROM kms_keys WHERE key_id = ?1", [&key_id], read_row).optional()?
            else {
                continue;
            };
            let key = complete(tx, row)?;
            if key.rotation.next_rotation_at.is_some_and(|at| at <= now) {
                tx.execute(
                    "INSERT INTO kms_rotations (key_id, rotated_at, rotation_type) VALUES (?1, ?2, 'AUTOMATIC')",
                    params![key_id, now],
                )?;
                changed.push(key.arn);
            }
        }
        Ok(changed)
    }

    /// A policy for a new sandbox key that trusts the service for `region`, plus the owner.
    pub fn suggested_policy(&self, service_account: Option<&str>, region: &PolicyRegion) -> String {
        policy::pretty(&policy::default_key_policy(&self.account_id, service_account, region))
    }
}
