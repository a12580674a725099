//! Embedded SQLite: one writer connection (every rule check and write runs in one
//! `BEGIN IMMEDIATE` transaction on it, so concurrent requests see each other's effects in
//! order) and a pool of readers (WAL lets them run beside the writer).

use cmek_core::RuleError;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use rusqlite_migration::{M, Migrations};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The schema, one migration per step; never edit a shipped one, append.
const MIGRATIONS: &[&str] = &[
    // 1: v1beta resources, the sandbox KMS, key health and events.
    r#"
    CREATE TABLE projects (
        id               INTEGER PRIMARY KEY,
        name             TEXT    NOT NULL,
        aws_cmek_enabled INTEGER NOT NULL,
        created_at       INTEGER NOT NULL
    );
    CREATE TABLE cmek_keys (
        project_id INTEGER NOT NULL REFERENCES projects(id),
        region     TEXT    NOT NULL,
        kms_arn    TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (project_id, region)
    );
    CREATE TABLE clusters (
        id             INTEGER PRIMARY KEY,
        project_id     INTEGER NOT NULL REFERENCES projects(id),
        name           TEXT    NOT NULL,
        cluster_type   TEXT    NOT NULL,
        cloud_provider TEXT    NOT NULL,
        region         TEXT    NOT NULL,
        port           INTEGER NOT NULL,
        components     TEXT,
        ip_access_list TEXT    NOT NULL,
        status         TEXT    NOT NULL,
        settles_to     TEXT,
        settles_at_ms  INTEGER,
        created_at     INTEGER NOT NULL,
        deleted_at     INTEGER
    );
    CREATE INDEX clusters_by_project ON clusters(project_id, id) WHERE deleted_at IS NULL;
    CREATE INDEX clusters_settling ON clusters(settles_at_ms) WHERE settles_at_ms IS NOT NULL;
    CREATE TABLE key_health (
        project_id    INTEGER NOT NULL REFERENCES projects(id),
        region        TEXT    NOT NULL,
        state         TEXT    NOT NULL,
        key_state     TEXT,
        checked_at    INTEGER,
        last_ok_at    INTEGER,
        causes        TEXT    NOT NULL,
        rotation      TEXT,
        multi_region  INTEGER NOT NULL DEFAULT 0,
        deletion_date INTEGER,
        PRIMARY KEY (project_id, region)
    );
    CREATE TABLE events (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id   INTEGER NOT NULL,
        at_ms        INTEGER NOT NULL,
        kind         TEXT    NOT NULL,
        cluster_id   INTEGER,
        cluster_name TEXT,
        region       TEXT,
        message      TEXT    NOT NULL,
        details      TEXT    NOT NULL
    );
    CREATE INDEX events_by_project ON events(project_id, id);
    CREATE TABLE kms_keys (
        key_id               TEXT    PRIMARY KEY,
        arn                  TEXT    NOT NULL UNIQUE,
        region               TEXT    NOT NULL,
        account_id           TEXT    NOT NULL,
        multi_region         INTEGER NOT NULL,
        description          TEXT    NOT NULL,
        state                TEXT    NOT NULL,
        deletion_date        INTEGER,
        policy               TEXT    NOT NULL,
        rotation_enabled     INTEGER NOT NULL,
        rotation_period_days INTEGER,
        rotation_anchor      INTEGER,
        created_at           INTEGER NOT NULL,
        seq                  INTEGER NOT NULL
    );
    CREATE TABLE kms_rotations (
        key_id        TEXT    NOT NULL REFERENCES kms_keys(key_id),
        rotated_at    INTEGER NOT NULL,
        rotation_type TEXT    NOT NULL
    );
    "#,
    // 2: API keys (Digest hashes only), console sessions (hashed ids), idempotent creates.
    r#"
    CREATE TABLE api_keys (
        public_key TEXT    PRIMARY KEY,
        name       TEXT    NOT NULL,
        ha1_md5    TEXT    NOT NULL,
        ha1_sha256 TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );
    CREATE TABLE console_sessions (
        id_hash    TEXT    PRIMARY KEY,
        csrf_token TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX console_sessions_by_expiry ON console_sessions(expires_at);
    CREATE TABLE idempotent_requests (
        scope        TEXT    NOT NULL,
        key          TEXT    NOT NULL,
        fingerprint  TEXT    NOT NULL,
        status       INTEGER NOT NULL,
        content_type TEXT,
        body         BLOB    NOT NULL,
        created_at   INTEGER NOT NULL,
        PRIMARY KEY (scope, key)
    );
    CREATE INDEX idempotent_requests_by_age ON idempotent_requests(created_at);
    "#,
    // 3: backups and restore tasks; when a cluster's TiKV storage last changed (AWS allows one
    // storage change per six hours).
    r#"
    CREATE TABLE backups (
        id            INTEGER PRIMARY KEY,
        project_id    INTEGER NOT NULL REFERENCES projects(id),
        cluster_id    INTEGER NOT NULL REFERENCES clusters(id),
        name          TEXT    NOT NULL,
        description   TEXT    NOT NULL,
        backup_type   TEXT    NOT NULL,
        status        TEXT    NOT NULL,
        settles_at_ms INTEGER,
        size_bytes    INTEGER NOT NULL,
        region        TEXT    NOT NULL,
        kms_arn       TEXT,
        failure       TEXT,
        created_at_ms INTEGER NOT NULL,
        deleted_at    INTEGER
    );
    CREATE INDEX backups_by_cluster ON backups(cluster_id, id) WHERE deleted_at IS NULL;
    CREATE TABLE restores (
        id                INTEGER PRIMARY KEY,
        project_id        INTEGER NOT NULL REFERENCES projects(id),
        backup_id         INTEGER NOT NULL REFERENCES backups(id),
        source_cluster_id INTEGER NOT NULL,
        cluster_id        INTEGER NOT NULL REFERENCES clusters(id),
        cluster_name      TEXT    NOT NULL,
        status            TEXT    NOT NULL,
        settles_at_ms     INTEGER,
        error_message     TEXT,
        created_at_ms     INTEGER NOT NULL
    );
    CREATE INDEX restores_by_project ON restores(project_id, id);
    ALTER TABLE clusters ADD COLUMN storage_changed_at_ms INTEGER;
    "#,
];

/// First ids: 19 digits like the real service's (beyond what a JavaScript number holds exactly,
/// so a client that treats ids as numbers fails at once), and distinct per kind.
pub const PROJECT_ID_BASE: i64 = 1_372_813_089_189_560_000;
pub const CLUSTER_ID_BASE: i64 = 1_379_661_944_646_410_000;
pub const BACKUP_ID_BASE: i64 = 1_386_104_212_873_430_000;
pub const RESTORE_ID_BASE: i64 = 1_391_550_817_330_180_000;
/// The one organisation this server hosts.
pub const ORG_ID: &str = "1369847559691367424";

/// Runs first in every write transaction (see [`Db::set_before_write`]).
pub type BeforeWrite = fn(&Transaction<'_>) -> rusqlite::Result<()>;

pub struct Db {
    path: PathBuf,
    /// Keys the idempotency fingerprints (`fingerprint.key` beside the database, 0600), so a
    /// stored fingerprint cannot be ground offline for the secrets in a request body.
    fingerprint_key: Vec<u8>,
    writer: Mutex<Connection>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    before_write: std::sync::OnceLock<BeforeWrite>,
    /// Bumped after every write transaction that changed rows: what was read at generation g is
    /// still what the database holds while the generation is g (see [`crate::list_cache`]).
    generation: std::sync::atomic::AtomicU64,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// What a read or a write transaction can fail with. The handlers turn it into their answer
/// (`error.rs`); background jobs and the CLI print its words.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("SQLite: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("no reader connection: {0}")]
    Reader(#[source] r2d2::Error),
    #[error("a storage task stopped: {0}")]
    Task(#[source] tokio::task::JoinError),
    /// A rule checked inside the transaction refused; nothing was written.
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("project {id} does not exist")]
    ProjectNotFound { id: u64 },
    #[error("cluster {id} does not exist in project {project_id}")]
    ClusterNotFound { project_id: u64, id: u64 },
    #[error("backup {id} does not exist for cluster {cluster_id} of project {project_id}")]
    BackupNotFound { project_id: u64, cluster_id: u64, id: u64 },
    #[error("restore task {id} does not exist in project {project_id}")]
    RestoreNotFound { project_id: u64, id: u64 },
    /// Rows that should go together do not (e.g. a backup whose cluster row is missing).
    #[error("{what}")]
    Inconsistent { doing: &'static str, what: &'static str },
}

pub type StorageResult<T> = Result<T, StorageError>;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Private(#[from] crate::private_files::PrivateError),
    #[error("cannot open the database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("cannot migrate the database {path}: {source}")]
    Migrate { path: PathBuf, source: rusqlite_migration::Error },
    #[error("cannot open readers on {path}: {source}")]
    Pool { path: PathBuf, source: r2d2::Error },
}

impl Db {
    /// Opens (creating if needed) `<data_dir>/cmek.db` and brings its schema up to date.
    /// The directory is made 0700 and the database files 0600 (API key hashes are in there),
    /// whatever the umask; see [`crate::private_files`].
    pub fn open(data_dir: &Path) -> Result<Arc<Self>, OpenError> {
        crate::private_files::private_dir(data_dir)?;
        let path = data_dir.join("cmek.db");
        // SQLite gives its -wal and -shm files the database file's mode.
        crate::private_files::private_file(&path)?;
        for extra in ["cmek.db-wal", "cmek.db-shm", "cmek.db-journal"] {
            crate::private_files::private_if_present(&data_dir.join(extra))?;
        }
        let open_err = |source| OpenError::Open { path: path.clone(), source };
        let mut writer = Connection::open(&path).map_err(open_err)?;
        writer.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
        // FULL: a write the client saw acknowledged survives a crash of the machine, not only
        // of the process.
        writer.pragma_update(None, "synchronous", "FULL").map_err(open_err)?;
        configure(&writer).map_err(open_err)?;
        let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
        migrations.to_latest(&mut writer).map_err(|source| OpenError::Migrate { path: path.clone(), source })?;
        let fingerprint_key = crate::private_files::secret(&data_dir.join("fingerprint.key"), 32)?;
        let manager = SqliteConnectionManager::file(&path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI)
            .with_init(|c| configure(c));
        let readers = r2d2::Pool::builder()
            .max_size(8)
            .min_idle(Some(1))
            .build(manager)
            .map_err(|source| OpenError::Pool { path: path.clone(), source })?;
        Ok(Arc::new(Self {
            path,
            fingerprint_key,
            writer: Mutex::new(writer),
            readers,
            before_write: Default::default(),
            generation: Default::default(),
        }))
    }

    /// Sets what every write transaction does first. The server settles cluster transitions
    /// that are due there, so what a write records always comes after what time already did.
    pub fn set_before_write(&self, f: BeforeWrite) {
        let _ = self.before_write.set(f);
    }

    /// The write generation; read it *before* reading the data it vouches for.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn fingerprint_key(&self) -> &[u8] {
        &self.fingerprint_key
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a reader, off the async threads.
    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        self.read_as(f).await
    }

    /// [`Db::read`] for a layer with its own error type (which says what a storage failure is).
    pub async fn read_as<T, E, F>(self: &Arc<Self>, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let db = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let conn = db.readers.get().map_err(StorageError::Reader)?;
            f(&conn)
        })
        .await
        .map_err(StorageError::Task)?
    }

    /// Runs `f` in one immediate transaction on the writer; commits when it returns Ok.
    pub async fn write<T, F>(self: &Arc<Self>, f: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StorageResult<T> + Send + 'static,
    {
        self.write_as(f).await
    }

    /// [`Db::write`] for a layer with its own error type.
    pub async fn write_as<T, E, F>(self: &Arc<Self>, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
    {
        let db = Arc::clone(self);
        tokio::task::spawn_blocking(move || db.transact(f)).await.map_err(StorageError::Task)?
    }

    /// [`Db::write`] for code that is already on a blocking thread.
    pub fn write_blocking<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StorageResult<T>) -> StorageResult<T> {
        self.transact(f)
    }

    fn transact<T, E: From<StorageError>>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E> {
        let sql = |e: rusqlite::Error| E::from(StorageError::Sql(e));
        // A poisoned lock only means another request panicked mid-transaction; SQLite rolled it
        // back, so the connection is still sound.
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let before = tx.total_changes();
        if let Some(first) = self.before_write.get() {
            first(&tx).map_err(sql)?;
        }
        let out = f(&tx)?;
        let changed = tx.total_changes() != before;
        tx.commit().map_err(sql)?;
        // Bumped after the commit, and only when rows changed (the background tick writes
        // nothing most seconds): a reader that took the old generation may have read either
        // state, and whatever it caches is stale at once.
        if changed {
            self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
        assert!(migrations.validate().is_ok());
    }

    #[tokio::test]
    async fn writes_are_visible_to_readers_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.write(|tx| {
            tx.execute("INSERT INTO projects (id, name, aws_cmek_enabled, created_at) VALUES (1, 'p', 1, 0)", [])?;
            Ok(())
        })
        .await
        .unwrap();
        let n: i64 = db.read(|c| Ok(c.query_row("SELECT count(*) FROM projects", [], |r| r.get(0))?)).await.unwrap();
        assert_eq!(n, 1);
        drop(db);
        let db = Db::open(dir.path()).unwrap();
        let n: i64 = db.read(|c| Ok(c.query_row("SELECT count(*) FROM projects", [], |r| r.get(0))?)).await.unwrap();
        assert_eq!(n, 1);
    }
}
