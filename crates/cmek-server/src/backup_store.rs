//! SQL for backups and restore tasks (schema migration 3). Statuses are derived at read time
//! from the stored status and when it settles, like the clusters' lifecycle.

use crate::db::{BACKUP_ID_BASE, RESTORE_ID_BASE};
use crate::db::{StorageError, StorageResult};
use cmek_core::api::ClusterStatus;
use cmek_core::backup::{Backup, BackupEncryption, BackupType, Restore, RestoreCluster, TaskStatus, backup_status_at};
use cmek_core::page::Page;
use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Clone, Debug)]
pub struct BackupRow {
    pub id: u64,
    pub project_id: u64,
    pub cluster_id: u64,
    pub name: String,
    pub description: String,
    pub backup_type: BackupType,
    pub status: TaskStatus,
    pub settles_at_ms: Option<i64>,
    pub size_bytes: i64,
    pub region: String,
    pub kms_arn: Option<String>,
    pub failure: Option<String>,
    pub created_at_ms: i64,
}

impl BackupRow {
    pub fn status_at(&self, now_ms: i64) -> TaskStatus {
        backup_status_at(self.status, self.settles_at_ms, now_ms)
    }

    /// The v1beta body at `now_ms`; the size is known once the backup has succeeded.
    pub fn to_item(&self, now_ms: i64) -> Backup {
        let status = self.status_at(now_ms);
        Backup {
            id: self.id.to_string(),
            name: self.name.clone(),
            description: self.description.clone(),
            backup_type: self.backup_type,
            create_timestamp: cmek_core::time::iso8601(self.created_at_ms),
            size: if status == TaskStatus::Success { self.size_bytes.to_string() } else { "0".to_owned() },
            status,
        }
    }

    pub fn encryption(&self) -> BackupEncryption {
        BackupEncryption {
            backup_id: self.id.to_string(),
            region: self.region.clone(),
            kms_arn: self.kms_arn.clone(),
            failure: self.failure.clone(),
        }
    }
}

pub struct NewBackup<'a> {
    pub project_id: u64,
    pub cluster_id: u64,
    pub name: &'a str,
    pub description: &'a str,
    pub backup_type: BackupType,
    pub status: TaskStatus,
    pub settles_at_ms: Option<i64>,
    pub size_bytes: u64,
    pub region: &'a str,
    pub kms_arn: Option<&'a str>,
    pub failure: Option<&'a str>,
}

pub fn insert_backup(tx: &Connection, b: &NewBackup<'_>, now_ms: i64) -> rusqlite::Result<u64> {
    let id: i64 = tx.query_row("SELECT coalesce(max(id), ?1) + 1 FROM backups", [BACKUP_ID_BASE], |r| r.get(0))?;
    tx.execute(
        "INSERT INTO backups (id, project_id, cluster_id, name, description, backup_type, status, settles_at_ms,
            size_bytes, region, kms_arn, failure, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            id,
            b.project_id as i64,
            b.cluster_id as i64,
            b.name,
            b.description,
            b.backup_type.as_str(),
            b.status.as_str(),
            b.settles_at_ms,
            i64::try_from(b.size_bytes).unwrap_or(i64::MAX),
            b.region,
            b.kms_arn,
            b.failure,
            now_ms,
        ],
    )?;
    Ok(id as u64)
}

const BACKUP_COLUMNS: &str = "id, project_id, cluster_id, name, description, backup_type, status, settles_at_ms, size_bytes, region, kms_arn, failure, created_at_ms";

fn read_backup(r: &Row<'_>) -> rusqlite::Result<BackupRow> {
    let t: String = r.get(5)?;
    Ok(BackupRow {
        id: r.get::<_, i64>(0)? as u64,
        project_id: r.get::<_, i64>(1)? as u64,
        cluster_id: r.get::<_, i64>(2)? as u64,
        name: r.get(3)?,
        description: r.get(4)?,
        backup_type: if t == "AUTO" { BackupType::Auto } else { BackupType::Manual },
        status: TaskStatus::parse(&r.get::<_, String>(6)?),
        settles_at_ms: r.get(7)?,
        size_bytes: r.get(8)?,
        region: r.get(9)?,
        kms_arn: r.get(10)?,
        failure: r.get(11)?,
        created_at_ms: r.get(12)?,
    })
}

/// A live backup by id, in any project (a restore may read another project's backup).
pub fn get_backup(c: &Connection, id: u64) -> rusqlite::Result<Option<BackupRow>> {
    let Ok(id) = i64::try_from(id) else { return Ok(None) };
    c.query_row(
        &format!("SELECT {BACKUP_COLUMNS} FROM backups WHERE id = ?1 AND deleted_at IS NULL"),
        [id],
        read_backup,
    )
    .optional()
}

/// A backup of this cluster, or the 404 that says it does not exist.
pub fn require_backup(c: &Connection, project_id: u64, cluster_id: u64, id: u64) -> StorageResult<BackupRow> {
    match get_backup(c, id)? {
        Some(b) if b.project_id == project_id && b.cluster_id == cluster_id => Ok(b),
        _ => Err(StorageError::BackupNotFound { project_id, cluster_id, id }),
    }
}

/// Newest first.
pub fn list_backups(c: &Connection, cluster_id: u64, page: Page) -> rusqlite::Result<(Vec<BackupRow>, i64)> {
    let cid = cluster_id as i64;
    let total: i64 =
        c.query_row("SELECT count(*) FROM backups WHERE cluster_id = ?1 AND deleted_at IS NULL", [cid], |r| r.get(0))?;
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {BACKUP_COLUMNS} FROM backups WHERE cluster_id = ?1 AND deleted_at IS NULL ORDER BY id DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(params![cid, page.page_size, page.offset()], read_backup)?.collect::<Result<_, _>>()?;
    Ok((rows, total))
}

pub fn delete_backup(tx: &Connection, id: u64, now_ms: i64) -> rusqlite::Result<()> {
    tx.execute("UPDATE backups SET deleted_at = ?2 WHERE id = ?1", params![id as i64, now_ms])?;
    Ok(())
}

/// When the automatic backup of a cluster was last attempted (deleted backups count: the
/// schedule does not restart because one was deleted).
pub fn last_auto_backup_ms(c: &Connection, cluster_id: u64) -> rusqlite::Result<Option<i64>> {
    c.query_row(
        "SELECT max(created_at_ms) FROM backups WHERE cluster_id = ?1 AND backup_type = 'AUTO'",
        [cluster_id as i64],
        |r| r.get(0),
    )
}

// ------------------------------------------------------------------ restores

#[derive(Clone, Debug)]
pub struct RestoreRow {
    pub id: u64,
    pub project_id: u64,
    pub backup_id: u64,
    pub source_cluster_id: u64,
    pub cluster_id: u64,
    pub cluster_name: String,
    pub status: TaskStatus,
    pub settles_at_ms: Option<i64>,
    pub error_message: Option<String>,
    pub created_at_ms: i64,
}

pub struct NewRestore<'a> {
    pub project_id: u64,
    pub backup_id: u64,
    pub source_cluster_id: u64,
    pub cluster_id: u64,
    pub cluster_name: &'a str,
    pub settles_at_ms: i64,
}

pub fn insert_restore(tx: &Connection, r: &NewRestore<'_>, now_ms: i64) -> rusqlite::Result<u64> {
    let id: i64 = tx.query_row("SELECT coalesce(max(id), ?1) + 1 FROM restores", [RESTORE_ID_BASE], |x| x.get(0))?;
    tx.execute(
        "INSERT INTO restores (id, project_id, backup_id, source_cluster_id, cluster_id, cluster_name, status,
            settles_at_ms, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'RUNNING', ?7, ?8)",
        params![
            id,
            r.project_id as i64,
            r.backup_id as i64,
            r.source_cluster_id as i64,
            r.cluster_id as i64,
            r.cluster_name,
            r.settles_at_ms,
            now_ms
        ],
    )?;
    Ok(id as u64)
}

const RESTORE_COLUMNS: &str = "r.id, r.project_id, r.backup_id, r.source_cluster_id, r.cluster_id, r.cluster_name, r.status, r.settles_at_ms, r.error_message, r.created_at_ms, c.status, c.settles_to, c.settles_at_ms, c.deleted_at";

/// A restore row with its new cluster's stored lifecycle (status, settles to, at, deleted).
type RestoreWithCluster = (RestoreRow, Option<String>, Option<String>, Option<i64>, Option<i64>);

fn read_restore(r: &Row<'_>) -> rusqlite::Result<RestoreWithCluster> {
    Ok((
        RestoreRow {
            id: r.get::<_, i64>(0)? as u64,
            project_id: r.get::<_, i64>(1)? as u64,
            backup_id: r.get::<_, i64>(2)? as u64,
            source_cluster_id: r.get::<_, i64>(3)? as u64,
            cluster_id: r.get::<_, i64>(4)? as u64,
            cluster_name: r.get(5)?,
            status: TaskStatus::parse(&r.get::<_, String>(6)?),
            settles_at_ms: r.get(7)?,
            error_message: r.get(8)?,
            created_at_ms: r.get(9)?,
        },
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
        r.get(13)?,
    ))
}

/// The v1beta body at `now_ms`: the task is RUNNING until the new cluster is available.
fn restore_item(x: RestoreWithCluster, now_ms: i64) -> Restore {
    let (row, status, settles_to, settles_at, deleted_at) = x;
    let cluster_status = if deleted_at.is_some() {
        "CLEARED".to_owned()
    } else {
        let l = cmek_core::lifecycle::Lifecycle {
            status: ClusterStatus::parse(status.as_deref().unwrap_or("")),
            settles: settles_to.zip(settles_at).map(|(to, at)| (ClusterStatus::parse(&to), at)),
        };
        l.status_at(now_ms).as_str().to_owned()
    };
    Restore {
        id: row.id.to_string(),
        create_timestamp: cmek_core::time::iso8601(row.created_at_ms),
        backup_id: row.backup_id.to_string(),
        cluster_id: row.source_cluster_id.to_string(),
        status: backup_status_at(row.status, row.settles_at_ms, now_ms),
        cluster: RestoreCluster { id: row.cluster_id.to_string(), name: row.cluster_name, status: cluster_status },
        error_message: row.error_message,
    }
}

pub fn get_restore(c: &Connection, project_id: u64, id: u64, now_ms: i64) -> StorageResult<Restore> {
    let not_found = StorageError::RestoreNotFound { project_id, id };
    let (Ok(pid), Ok(rid)) = (i64::try_from(project_id), i64::try_from(id)) else {
        return Err(not_found);
    };
    c.query_row(
        &format!(
            "SELECT {RESTORE_COLUMNS} FROM restores r JOIN clusters c ON c.id = r.cluster_id WHERE r.id = ?1 AND r.project_id = ?2"
        ),
        params![rid, pid],
        read_restore,
    )
    .optional()?
    .map(|x| restore_item(x, now_ms))
    .ok_or(not_found)
}

/// Newest first.
pub fn list_restores(
    c: &Connection,
    project_id: u64,
    page: Page,
    now_ms: i64,
) -> rusqlite::Result<(Vec<Restore>, i64)> {
    let pid = project_id as i64;
    let total: i64 = c.query_row("SELECT count(*) FROM restores WHERE project_id = ?1", [pid], |r| r.get(0))?;
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {RESTORE_COLUMNS} FROM restores r JOIN clusters c ON c.id = r.cluster_id
         WHERE r.project_id = ?1 ORDER BY r.id DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt
        .query_map(params![pid, page.page_size, page.offset()], read_restore)?
        .map(|x| x.map(|x| restore_item(x, now_ms)))
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

/// Running Dedicated clusters with their project's CMEK flag: what the daily backup walks.
pub struct AutoBackupCandidate {
    pub cluster: crate::store::ClusterRow,
    pub cmek: bool,
    pub last_attempt_ms: i64,
}

pub fn auto_backup_candidates(c: &Connection, now_ms: i64) -> rusqlite::Result<Vec<AutoBackupCandidate>> {
    let mut stmt = c.prepare_cached(
        "SELECT k.id, k.project_id, p.aws_cmek_enabled FROM clusters k JOIN projects p ON p.id = k.project_id
         WHERE k.deleted_at IS NULL AND k.cluster_type = 'DEDICATED'",
    )?;
    let ids: Vec<(u64, u64, bool)> = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (cid, pid, cmek) in ids {
        let Some(cluster) = crate::store::get_cluster(c, pid, cid)? else { continue };
        if cluster.lifecycle.status_at(now_ms) != ClusterStatus::Available {
            continue;
        }
        let last = last_auto_backup_ms(c, cid)?.unwrap_or(cluster.created_at * 1000);
        out.push(AutoBackupCandidate { cluster, cmek, last_attempt_ms: last });
    }
    Ok(out)
}
