//! SQL for the v1beta resources, key health and events. Functions take a connection (a reader)
//! or a transaction (the writer), so callers decide what runs in one transaction.

use crate::db::{CLUSTER_ID_BASE, ORG_ID, PROJECT_ID_BASE};
use crate::db::{StorageError, StorageResult};
use cmek_core::api::{
    AwsCmekSpec, CloudProvider, ClusterItem, ClusterItemConfig, ClusterItemStatus, ClusterStatus, ClusterType,
    Components, ConnectionStrings, Endpoint, IpAccessListItem, NodeItem, NodeMap, NodeStatus, Project,
};
use cmek_core::cluster::{ram_bytes, vcpus};
use cmek_core::ext::{Event, EventKind, KeyHealth};
use cmek_core::kms::{KeyHealthState, KeyState, RotationStatus};
use cmek_core::lifecycle::Lifecycle;
use cmek_core::page::Page;
use rusqlite::{Connection, OptionalExtension, Row, params};

/// The TiDB version new clusters get.
pub const TIDB_VERSION: &str = "v8.5.2";

// ------------------------------------------------------------------ projects

#[derive(Clone, Debug)]
pub struct ProjectRow {
    pub id: u64,
    pub name: String,
    pub aws_cmek_enabled: bool,
    pub created_at: i64,
}

pub fn insert_project(tx: &Connection, name: &str, cmek: bool, now_ms: i64) -> rusqlite::Result<u64> {
    let id: i64 = tx.query_row("SELECT coalesce(max(id), ?1) + 1 FROM projects", [PROJECT_ID_BASE], |r| r.get(0))?;
    tx.execute(
        "INSERT INTO projects (id, name, aws_cmek_enabled, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, name, cmek, now_ms / 1000],
    )?;
    Ok(id as u64)
}

pub fn get_project(c: &Connection, id: u64) -> rusqlite::Result<Option<ProjectRow>> {
    let Ok(id) = i64::try_from(id) else { return Ok(None) };
    c.query_row("SELECT id, name, aws_cmek_enabled, created_at FROM projects WHERE id = ?1", [id], |r| {
        Ok(ProjectRow {
            id: r.get::<_, i64>(0)? as u64,
            name: r.get(1)?,
            aws_cmek_enabled: r.get(2)?,
            created_at: r.get(3)?,
        })
    })
    .optional()
}

pub fn list_projects(c: &Connection, page: Page) -> rusqlite::Result<(Vec<Project>, i64)> {
    let total: i64 = c.query_row("SELECT count(*) FROM projects", [], |r| r.get(0))?;
    let mut stmt = c.prepare_cached(
        "SELECT p.id, p.name, p.aws_cmek_enabled, p.created_at,
                (SELECT count(*) FROM clusters k WHERE k.project_id = p.id AND k.deleted_at IS NULL)
         FROM projects p ORDER BY p.id LIMIT ?1 OFFSET ?2",
    )?;
    let items = stmt
        .query_map(params![page.page_size, page.offset()], |r| {
            Ok(Project {
                id: r.get::<_, i64>(0)?.to_string(),
                org_id: ORG_ID.to_owned(),
                name: r.get(1)?,
                aws_cmek_enabled: r.get(2)?,
                create_timestamp: r.get::<_, i64>(3)?.to_string(),
                cluster_count: r.get(4)?,
                user_count: 1,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok((items, total))
}

// ------------------------------------------------------------------ aws-cmek

pub fn list_cmek_specs(c: &Connection, project_id: u64) -> rusqlite::Result<Vec<AwsCmekSpec>> {
    let mut stmt =
        c.prepare_cached("SELECT region, kms_arn FROM cmek_keys WHERE project_id = ?1 ORDER BY created_at, region")?;
    stmt.query_map([project_id as i64], |r| Ok(AwsCmekSpec { region: r.get(0)?, kms_arn: r.get(1)? }))?.collect()
}

/// Every configured key of every project: what the periodic check walks.
pub fn all_cmek_specs(c: &Connection) -> rusqlite::Result<Vec<(u64, AwsCmekSpec)>> {
    let mut stmt = c.prepare("SELECT project_id, region, kms_arn FROM cmek_keys ORDER BY project_id")?;
    stmt.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, AwsCmekSpec { region: r.get(1)?, kms_arn: r.get(2)? })))?
        .collect()
}

pub fn insert_cmek_spec(tx: &Connection, project_id: u64, spec: &AwsCmekSpec, now_ms: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO cmek_keys (project_id, region, kms_arn, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![project_id as i64, spec.region, spec.kms_arn, now_ms],
    )?;
    Ok(())
}

// ------------------------------------------------------------------ clusters

#[derive(Clone, Debug)]
pub struct ClusterRow {
    pub id: u64,
    pub project_id: u64,
    pub name: String,
    pub cluster_type: ClusterType,
    pub cloud_provider: CloudProvider,
    pub region: String,
    pub port: i32,
    pub components: Option<Components>,
    pub lifecycle: Lifecycle,
    pub created_at: i64,
}

pub struct NewCluster<'a> {
    pub project_id: u64,
    pub name: &'a str,
    pub cluster_type: ClusterType,
    pub cloud_provider: CloudProvider,
    pub region: &'a str,
    pub port: i32,
    pub components: Option<&'a Components>,
    pub ip_access_list: &'a [IpAccessListItem],
    pub lifecycle: Lifecycle,
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data always serialises")
}

pub fn insert_cluster(tx: &Connection, c: &NewCluster<'_>, now_ms: i64) -> rusqlite::Result<u64> {
    let id: i64 = tx.query_row("SELECT coalesce(max(id), ?1) + 1 FROM clusters", [CLUSTER_ID_BASE], |r| r.get(0))?;
    let (settles_to, settles_at) = split(c.lifecycle);
    tx.execute(
        "INSERT INTO clusters (id, project_id, name, cluster_type, cloud_provider, region, port, components,
            ip_access_list, status, settles_to, settles_at_ms, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            id,
            c.project_id as i64,
            c.name,
            c.cluster_type.as_str(),
            c.cloud_provider.as_str(),
            c.region,
            c.port,
            c.components.map(json),
            json(&c.ip_access_list),
            c.lifecycle.status.as_str(),
            settles_to,
            settles_at,
            now_ms / 1000,
        ],
    )?;
    Ok(id as u64)
}

fn split(l: Lifecycle) -> (Option<&'static str>, Option<i64>) {
    match l.settles {
        Some((to, at)) => (Some(to.as_str()), Some(at)),
        None => (None, None),
    }
}

const CLUSTER_COLUMNS: &str = "id, project_id, name, cluster_type, cloud_provider, region, port, components, status, settles_to, settles_at_ms, created_at";

fn parse_enum<T: serde::de::DeserializeOwned>(s: String) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s)).ok()
}

fn read_cluster(r: &Row<'_>) -> rusqlite::Result<ClusterRow> {
    let components: Option<String> = r.get(7)?;
    let settles_to: Option<String> = r.get(9)?;
    let settles_at: Option<i64> = r.get(10)?;
    let status = ClusterStatus::parse(&r.get::<_, String>(8)?);
    Ok(ClusterRow {
        id: r.get::<_, i64>(0)? as u64,
        project_id: r.get::<_, i64>(1)? as u64,
        name: r.get(2)?,
        cluster_type: parse_enum(r.get(3)?).unwrap_or(ClusterType::Dedicated),
        cloud_provider: parse_enum(r.get(4)?).unwrap_or(CloudProvider::Aws),
        region: r.get(5)?,
        port: r.get(6)?,
        components: components.and_then(|s| serde_json::from_str(&s).ok()),
        lifecycle: Lifecycle {
            status,
            settles: settles_to.zip(settles_at).map(|(to, at)| (ClusterStatus::parse(&to), at)),
        },
        created_at: r.get(11)?,
    })
}

pub fn get_cluster(c: &Connection, project_id: u64, id: u64) -> rusqlite::Result<Option<ClusterRow>> {
    let (Ok(pid), Ok(id)) = (i64::try_from(project_id), i64::try_from(id)) else { return Ok(None) };
    c.query_row(
        &format!("SELECT {CLUSTER_COLUMNS} FROM clusters WHERE id = ?1 AND project_id = ?2 AND deleted_at IS NULL"),
        params![id, pid],
        read_cluster,
    )
    .optional()
}

/// A cluster by id, also once deleted (its backups outlive it).
pub fn get_cluster_even_deleted(c: &Connection, id: u64) -> rusqlite::Result<Option<ClusterRow>> {
    let Ok(id) = i64::try_from(id) else { return Ok(None) };
    c.query_row(&format!("SELECT {CLUSTER_COLUMNS} FROM clusters WHERE id = ?1"), [id], read_cluster).optional()
}

pub fn list_clusters(c: &Connection, project_id: u64, page: Page) -> rusqlite::Result<(Vec<ClusterRow>, i64)> {
    let pid = project_id as i64;
    let total: i64 =
        c.query_row("SELECT count(*) FROM clusters WHERE project_id = ?1 AND deleted_at IS NULL", [pid], |r| r.get(0))?;
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {CLUSTER_COLUMNS} FROM clusters WHERE project_id = ?1 AND deleted_at IS NULL ORDER BY id LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(params![pid, page.page_size, page.offset()], read_cluster)?.collect::<Result<_, _>>()?;
    Ok((rows, total))
}

pub fn set_lifecycle(tx: &Connection, id: u64, l: Lifecycle) -> rusqlite::Result<()> {
    let (to, at) = split(l);
    tx.execute(
        "UPDATE clusters SET status = ?2, settles_to = ?3, settles_at_ms = ?4 WHERE id = ?1",
        params![id as i64, l.status.as_str(), to, at],
    )?;
    Ok(())
}

pub fn set_components(tx: &Connection, id: u64, c: &Components) -> rusqlite::Result<()> {
    tx.execute("UPDATE clusters SET components = ?2 WHERE id = ?1", params![id as i64, json(c)])?;
    Ok(())
}

/// When the cluster's TiKV storage last changed (Unix ms), if ever.
pub fn storage_changed_at(c: &Connection, id: u64) -> rusqlite::Result<Option<i64>> {
    c.query_row("SELECT storage_changed_at_ms FROM clusters WHERE id = ?1", [id as i64], |r| r.get(0))
        .optional()
        .map(Option::flatten)
}

pub fn set_storage_changed_at(tx: &Connection, id: u64, now_ms: i64) -> rusqlite::Result<()> {
    tx.execute("UPDATE clusters SET storage_changed_at_ms = ?2 WHERE id = ?1", params![id as i64, now_ms])?;
    Ok(())
}

pub fn delete_cluster(tx: &Connection, id: u64, now_ms: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE clusters SET deleted_at = ?2, settles_to = NULL, settles_at_ms = NULL WHERE id = ?1",
        params![id as i64, now_ms],
    )?;
    Ok(())
}

/// Transitions whose time has come: (row as it was, status it settles to).
pub fn due_transitions(tx: &Connection, now_ms: i64) -> rusqlite::Result<Vec<ClusterRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {CLUSTER_COLUMNS} FROM clusters WHERE settles_at_ms IS NOT NULL AND settles_at_ms <= ?1 AND deleted_at IS NULL"
    ))?;
    stmt.query_map([now_ms], read_cluster)?.collect()
}

/// Settles the transitions whose time has come and records AVAILABLE / PAUSED events, each at
/// the moment its transition settled. Every write transaction runs it first
/// ([`crate::db::Db::set_before_write`]), so what a write records comes after what time did.
pub fn settle_due(tx: &rusqlite::Transaction<'_>, now: i64) -> rusqlite::Result<usize> {
    let due = due_transitions(tx, now)?;
    for row in &due {
        let Some((to, at)) = row.lifecycle.settles else { continue };
        set_lifecycle(tx, row.id, row.lifecycle.settled(now))?;
        let (kind, message) = match to {
            ClusterStatus::Paused => (EventKind::ClusterPaused, format!("Cluster \"{}\" is paused.", row.name)),
            _ => (EventKind::ClusterAvailable, format!("Cluster \"{}\" is available.", row.name)),
        };
        insert_event(
            tx,
            &NewEvent {
                project_id: row.project_id,
                at_ms: at,
                kind,
                cluster: Some((row.id, &row.name)),
                region: Some(&row.region),
                message,
                details: Vec::new(),
            },
        )?;
    }
    Ok(due.len())
}

/// How many characters of a hash a host name carries.
fn host_hash(id: u64, salt: u64) -> String {
    let mut x = id ^ salt;
    x = (x ^ (x >> 33)).wrapping_mul(0xff51afd7ed558ccd);
    x = (x ^ (x >> 33)).wrapping_mul(0xc4ceb9fe1a85ec53);
    format!("{:08x}", (x ^ (x >> 33)) as u32)
}

fn zones(provider: CloudProvider, region: &str) -> [String; 3] {
    match provider {
        CloudProvider::Aws => ["a", "b", "c"].map(|z| format!("{region}{z}")),
        CloudProvider::Gcp => ["a", "b", "c"].map(|z| format!("{region}-{z}")),
    }
}

fn nodes(prefix: &str, size: &str, quantity: i32, storage: Option<i32>, zones: &[String; 3]) -> Vec<NodeItem> {
    (0..quantity.max(0))
        .map(|i| NodeItem {
            node_name: format!("{prefix}-{i}"),
            availability_zone: zones[i as usize % 3].clone(),
            node_size: size.to_owned(),
            vcpu_num: vcpus(size).unwrap_or(0),
            ram_bytes: ram_bytes(size).unwrap_or(0).to_string(),
            storage_size_gib: storage,
            status: NodeStatus::NodeStatusAvailable,
        })
        .collect()
}

impl ClusterRow {
    /// The v1beta `ClusterItem` at `now_ms`: node map and connection strings only when
    /// AVAILABLE or MODIFYING, as the OAS says.
    pub fn to_item(&self, now_ms: i64) -> ClusterItem {
        let status = self.lifecycle.status_at(now_ms);
        let running = matches!(status, ClusterStatus::Available | ClusterStatus::Modifying);
        let provider = match self.cloud_provider {
            CloudProvider::Aws => "aws",
            CloudProvider::Gcp => "gcp",
        };
        let (node_map, connection_strings) = if !running {
            (None, None)
        } else if let Some(c) = &self.components {
            let z = zones(self.cloud_provider, &self.region);
            let host = format!(
                "tidb.{}.{}.{}.prod.{provider}.tidbcloud.com",
                host_hash(self.id, 1),
                host_hash(self.project_id, 2),
                self.region
            );
            (
                Some(NodeMap {
                    tidb: nodes("tidb", &c.tidb.node_size, c.tidb.node_quantity, None, &z),
                    tikv: nodes("tikv", &c.tikv.node_size, c.tikv.node_quantity, Some(c.tikv.storage_size_gib), &z),
                    tiflash: c
                        .tiflash
                        .as_ref()
                        .map(|f| nodes("tiflash", &f.node_size, f.node_quantity, Some(f.storage_size_gib), &z))
                        .unwrap_or_default(),
                }),
                Some(ConnectionStrings {
                    default_user: "root".into(),
                    standard: Some(Endpoint { host: host.clone(), port: self.port }),
                    vpc_peering: Some(Endpoint { host: format!("private-{host}"), port: self.port }),
                }),
            )
        } else {
            let host = format!("gateway01.{}.prod.{provider}.tidbcloud.com", self.region);
            (
                None,
                Some(ConnectionStrings {
                    default_user: format!("{}.root", host_hash(self.id, 3)),
                    standard: Some(Endpoint { host, port: self.port }),
                    vpc_peering: None,
                }),
            )
        };
        ClusterItem {
            id: self.id.to_string(),
            project_id: self.project_id.to_string(),
            name: self.name.clone(),
            cluster_type: self.cluster_type,
            cloud_provider: self.cloud_provider,
            region: self.region.clone(),
            create_timestamp: self.created_at.to_string(),
            config: ClusterItemConfig { port: self.port, components: self.components.clone() },
            status: ClusterItemStatus {
                tidb_version: TIDB_VERSION.into(),
                cluster_status: status,
                node_map,
                connection_strings,
            },
        }
    }
}

// ------------------------------------------------------------------ events

pub struct NewEvent<'a> {
    pub project_id: u64,
    pub at_ms: i64,
    pub kind: EventKind,
    pub cluster: Option<(u64, &'a str)>,
    pub region: Option<&'a str>,
    pub message: String,
    pub details: Vec<String>,
}

pub fn insert_event(tx: &Connection, e: &NewEvent<'_>) -> rusqlite::Result<()> {
    let kind = serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    tx.execute(
        "INSERT INTO events (project_id, at_ms, kind, cluster_id, cluster_name, region, message, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            e.project_id as i64,
            e.at_ms,
            kind,
            e.cluster.map(|(id, _)| id as i64),
            e.cluster.map(|(_, n)| n),
            e.region,
            // Refusals record the API's message, which continues a sentence; the timeline shows one.
            cmek_core::text::sentence_case(&e.message),
            json(&e.details),
        ],
    )?;
    Ok(())
}

/// Newest first.
pub fn list_events(c: &Connection, project_id: u64, page: Page) -> rusqlite::Result<(Vec<Event>, i64)> {
    let pid = project_id as i64;
    let total: i64 = c.query_row("SELECT count(*) FROM events WHERE project_id = ?1", [pid], |r| r.get(0))?;
    let mut stmt = c.prepare_cached(
        "SELECT id, at_ms, kind, cluster_id, cluster_name, region, message, details FROM events
         WHERE project_id = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3",
    )?;
    let items = stmt
        .query_map(params![pid, page.page_size, page.offset()], |r| {
            let kind: String = r.get(2)?;
            let details: String = r.get(7)?;
            Ok(Event {
                id: r.get::<_, i64>(0)?.to_string(),
                project_id: project_id.to_string(),
                at_ms: r.get(1)?,
                kind: serde_json::from_value(serde_json::Value::String(kind)).unwrap_or(EventKind::Other),
                cluster_id: r.get::<_, Option<i64>>(3)?.map(|i| i.to_string()),
                cluster_name: r.get(4)?,
                region: r.get(5)?,
                message: r.get(6)?,
                details: serde_json::from_str(&details).unwrap_or_default(),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok((items, total))
}

// ------------------------------------------------------------------ key health

pub fn get_health(c: &Connection, project_id: u64, spec: &AwsCmekSpec) -> rusqlite::Result<KeyHealth> {
    let row = c
        .query_row(
            "SELECT state, key_state, checked_at, last_ok_at, causes, rotation, multi_region, deletion_date
             FROM key_health WHERE project_id = ?1 AND region = ?2",
            params![project_id as i64, spec.region],
            |r| {
                let causes: String = r.get(4)?;
                let rotation: Option<String> = r.get(5)?;
                Ok(KeyHealth {
                    project_id: project_id.to_string(),
                    region: spec.region.clone(),
                    kms_arn: spec.kms_arn.clone(),
                    state: KeyHealthState::parse(&r.get::<_, String>(0)?),
                    key_state: r.get::<_, Option<String>>(1)?.and_then(|s| KeyState::parse(&s)),
                    checked_at: r.get(2)?,
                    last_ok_at: r.get(3)?,
                    causes: serde_json::from_str(&causes).unwrap_or_default(),
                    rotation: rotation.and_then(|s| serde_json::from_str::<RotationStatus>(&s).ok()),
                    multi_region: r.get(6)?,
                    deletion_date: r.get(7)?,
                })
            },
        )
        .optional()?;
    Ok(row.unwrap_or_else(|| KeyHealth::unchecked(project_id.to_string(), spec)))
}

pub fn put_health(tx: &Connection, h: &KeyHealth) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO key_health (project_id, region, state, key_state, checked_at, last_ok_at, causes, rotation, multi_region, deletion_date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (project_id, region) DO UPDATE SET state = ?3, key_state = ?4, checked_at = ?5,
            last_ok_at = ?6, causes = ?7, rotation = ?8, multi_region = ?9, deletion_date = ?10",
        params![
            h.project_id.parse::<i64>().unwrap_or_default(),
            h.region,
            h.state.as_str(),
            h.key_state.map(KeyState::as_str),
            h.checked_at,
            h.last_ok_at,
            json(&h.causes),
            h.rotation.as_ref().map(json),
            h.multi_region,
            h.deletion_date,
        ],
    )?;
    Ok(())
}

/// A request that needs a project: its row, or the 404 that says it does not exist.
pub fn require_project(c: &Connection, id: u64) -> StorageResult<ProjectRow> {
    get_project(c, id)?.ok_or(StorageError::ProjectNotFound { id })
}

/// A request that needs a cluster of a project.
pub fn require_cluster(c: &Connection, project_id: u64, id: u64) -> StorageResult<ClusterRow> {
    get_cluster(c, project_id, id)?.ok_or(StorageError::ClusterNotFound { project_id, id })
}
