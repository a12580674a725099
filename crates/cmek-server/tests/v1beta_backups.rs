//! v1beta backups and restores over real HTTP, every answer checked against the official OAS:
//! the walk (create, list, get, restore to a new cluster, delete), the refusals, and the CMEK
//! rules — each backup records its key, a backup and a restore need the key now (refused with
//! the same named cause as a resume), a backup under a key restores only where that key is, and
//! the automatic daily backup fails with the cause while access is revoked and works again after.
mod common;
mod v1beta_support;

use common::*;
use serde_json::{Value, json};
use v1beta_support::*;

fn backups(pid: &str, cid: &str) -> String {
    format!("/api/v1beta/projects/{pid}/clusters/{cid}/backups")
}
fn backup(pid: &str, cid: &str, bid: &str) -> String {
    format!("/api/v1beta/projects/{pid}/clusters/{cid}/backups/{bid}")
}
fn backup_keys(pid: &str, cid: &str) -> String {
    format!("/api/ext/v1/projects/{pid}/clusters/{cid}/backup-keys")
}
fn restores(pid: &str) -> String {
    format!("/api/v1beta/projects/{pid}/restores")
}

/// The body of a restore of `bid` to a new cluster `name` with the OAS example's config.
fn restore_body(bid: &str, name: &str) -> Value {
    json!({"backup_id": bid, "name": name, "config": oas_dedicated_example()["config"].clone()})
}

async fn list(s: &Server, oas: &Option<Oas>, pid: &str, cid: &str) -> Value {
    let r = s.get(&backups(pid, cid)).await;
    let b = ok(oas, "ListBackUpOfCluster", &r).clone();
    assert!(b["items"].is_array() && b["total"].is_i64(), "{b}");
    b
}

async fn create_backup(s: &Server, oas: &Option<Oas>, pid: &str, cid: &str, name: &str) -> String {
    let r = s.post(&backups(pid, cid), json!({"name": name, "description": "before the upgrade"})).await;
    ok(oas, "CreateBackup", &r)["id"].as_str().expect("id").to_owned()
}

async fn wait_backup(s: &Server, oas: &Option<Oas>, pid: &str, cid: &str, bid: &str, status: &str) -> Value {
    s.wait_for(&backup(pid, cid, bid), |b| b["status"] == status).await;
    let r = s.get(&backup(pid, cid, bid)).await;
    ok(oas, "GetBackupOfCluster", &r).clone()
}

/// The key that encrypts each backup (extension), by backup id.
async fn keys_of(s: &Server, pid: &str, cid: &str) -> Vec<Value> {
    let r = s.get(&format!("{}?page_size=100", backup_keys(pid, cid))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().expect("items").clone()
}

async fn available_cluster(s: &Server, oas: &Option<Oas>, pid: &str, name: &str, region: &str) -> String {
    let cid = create_cluster(s, oas, pid, dedicated(name, region)).await;
    wait_status(s, oas, pid, &cid, "AVAILABLE").await;
    cid
}

fn is_iso8601(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 20 && b[4] == b'-' && b[10] == b'T' && b[19] == b'Z'
}

#[tokio::test]
async fn a_backup_is_taken_listed_restored_to_a_new_cluster_and_deleted() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "plain", false).await;
    let cid = available_cluster(&s, &oas, &pid, "source", "us-west-2").await;
    assert_eq!(list(&s, &oas, &pid, &cid).await, json!({"items": [], "total": 0}));

    let bid = create_backup(&s, &oas, &pid, &cid, "backup-1").await;
    assert!(bid.parse::<u64>().is_ok(), "{bid}");
    let b = wait_backup(&s, &oas, &pid, &cid, &bid, "SUCCESS").await;
    assert_eq!((b["name"].as_str(), b["type"].as_str()), (Some("backup-1"), Some("MANUAL")), "{b}");
    assert_eq!(b["description"], "before the upgrade");
    assert!(is_iso8601(b["create_timestamp"].as_str().unwrap()), "{b}");
    assert!(b["size"].as_str().unwrap().parse::<u64>().unwrap() > 0, "{b}");
    let l = list(&s, &oas, &pid, &cid).await;
    assert_eq!((l["total"].as_i64(), l["items"][0]["id"].as_str()), (Some(1), Some(bid.as_str())));
    // Not a CMEK project: the escrow key, so no customer key is recorded.
    let k = keys_of(&s, &pid, &cid).await;
    assert_eq!((k.len(), &k[0]["kms_arn"]), (1, &Value::Null));

    // Restore to a new cluster: the task runs while the new cluster is created.
    let r = s.post(&restores(&pid), restore_body(&bid, "restored")).await;
    let created = ok(&oas, "CreateRestoreTask", &r).clone();
    let (rid, new_cid) =
        (created["id"].as_str().unwrap().to_owned(), created["cluster_id"].as_str().unwrap().to_owned());
    let path = format!("{}/{rid}", restores(&pid));
    let t = ok(&oas, "GetRestoreTask", &s.get(&path).await).clone();
    assert_eq!((t["backup_id"].as_str(), t["cluster_id"].as_str()), (Some(bid.as_str()), Some(cid.as_str())), "{t}");
    assert_eq!(t["cluster"]["id"], new_cid.as_str());
    assert_eq!(t["cluster"]["name"], "restored");
    s.wait_for(&path, |t| t["status"] == "SUCCESS").await;
    let t = ok(&oas, "GetRestoreTask", &s.get(&path).await).clone();
    assert_eq!(t["cluster"]["status"], "AVAILABLE", "{t}");
    let c = wait_status(&s, &oas, &pid, &new_cid, "AVAILABLE").await;
    assert_eq!((c["region"].as_str(), c["cluster_type"].as_str()), (Some("us-west-2"), Some("DEDICATED")));
    let l = ok(&oas, "ListRestoreTasks", &s.get(&restores(&pid)).await).clone();
    assert_eq!((l["total"].as_i64(), l["items"][0]["id"].as_str()), (Some(1), Some(rid.as_str())));

    // Delete: 200 {}, then 404, and the list is empty again.
    assert_eq!(ok(&oas, "DeleteBackup", &s.delete(&backup(&pid, &cid, &bid)).await), &json!({}));
    err(&oas, "GetBackupOfCluster", &s.get(&backup(&pid, &cid, &bid)).await, 404, ErrorCode::BackupNotFound.code());
    err(&oas, "DeleteBackup", &s.delete(&backup(&pid, &cid, &bid)).await, 404, ErrorCode::BackupNotFound.code());
    assert_eq!(list(&s, &oas, &pid, &cid).await["total"], 0);
    // A deleted restored cluster reads CLEARED in its restore task.
    ok(&oas, "DeleteCluster", &s.delete(&cluster(&pid, &new_cid)).await);
    let t = ok(&oas, "GetRestoreTask", &s.get(&path).await).clone();
    assert_eq!(t["cluster"]["status"], "CLEARED", "{t}");
}

#[tokio::test]
async fn backups_and_restores_refuse_what_breaks_a_rule() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "plain", false).await;
    let cid = available_cluster(&s, &oas, &pid, "source", "us-west-2").await;
    // Names.
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(65)}), "name"),
        (json!({"name": "ok", "description": "d".repeat(257)}), "description"),
    ] {
        let r = s.post(&backups(&pid, &cid), body.clone()).await;
        err(&oas, "CreateBackup", &r, 400, ErrorCode::ValidationFailed.code());
        assert_eq!(detail_fields(&r), vec![field], "{body}");
    }
    let r = s.post(&backups(&pid, &cid), json!({"description": "no name"})).await;
    assert!(err(&oas, "CreateBackup", &r, 400, ErrorCode::MissingField.code()).starts_with("name"));
    // A Serverless cluster: not through the API.
    let dev = create_cluster(&s, &oas, &pid, oas_serverless_example()).await;
    wait_status(&s, &oas, &pid, &dev, "AVAILABLE").await;
    let msg = err(
        &oas,
        "CreateBackup",
        &s.post(&backups(&pid, &dev), json!({"name": "b"})).await,
        400,
        ErrorCode::BackupNotAllowed.code(),
    )
    .to_owned();
    assert!(msg.contains("DEVELOPER") && msg.contains("DEDICATED"), "{msg}");
    // Unknown cluster and backup.
    err(&oas, "ListBackUpOfCluster", &s.get(&backups(&pid, "1")).await, 404, ErrorCode::ClusterNotFound.code());
    err(&oas, "GetBackupOfCluster", &s.get(&backup(&pid, &cid, "1")).await, 404, ErrorCode::BackupNotFound.code());
    let r = s.post(&restores(&pid), restore_body("1", "restored")).await;
    err(&oas, "CreateRestoreTask", &r, 404, ErrorCode::BackupNotFound.code());
    assert_eq!(detail_fields(&r), vec!["backup_id"]);
    let r = s.post(&restores(&pid), restore_body("b-1", "restored")).await;
    err(&oas, "CreateRestoreTask", &r, 400, ErrorCode::InvalidField.code());
    err(&oas, "GetRestoreTask", &s.get(&format!("{}/1", restores(&pid))).await, 404, ErrorCode::RestoreNotFound.code());

    let bid = create_backup(&s, &oas, &pid, &cid, "b").await;
    wait_backup(&s, &oas, &pid, &cid, &bid, "SUCCESS").await;
    // The restored cluster: another name, and no smaller than the backed-up one.
    let r = s.post(&restores(&pid), restore_body(&bid, "source")).await;
    err(&oas, "CreateRestoreTask", &r, 400, ErrorCode::ValidationFailed.code());
    assert!(detail_for(&r, "name").contains("backed-up cluster's name"), "{}", r.body);
    let mut small = restore_body(&bid, "smaller");
    set(&mut small, "/config/components/tikv/storage_size_gib", json!(500));
    let r = s.post(&restores(&pid), small).await;
    err(&oas, "CreateRestoreTask", &r, 400, ErrorCode::ValidationFailed.code());
    assert!(detail_for(&r, "config.components.tikv.storage_size_gib").contains("would not fit"), "{}", r.body);
    let r = s.post(&restores(&pid), without(&restore_body(&bid, "no-comp"), "/config/components")).await;
    err(&oas, "CreateRestoreTask", &r, 400, ErrorCode::ValidationFailed.code());
    assert_eq!(detail_fields(&r), vec!["config.components"]);
    // A paused cluster is not backed up.
    ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"paused": true}})).await);
    wait_status(&s, &oas, &pid, &cid, "PAUSED").await;
    let msg = err(
        &oas,
        "CreateBackup",
        &s.post(&backups(&pid, &cid), json!({"name": "b2"})).await,
        400,
        ErrorCode::ClusterStateConflict.code(),
    )
    .to_owned();
    assert!(msg.contains("AVAILABLE") && msg.contains("PAUSED"), "{msg}");
    assert_eq!(list(&s, &oas, &pid, &cid).await["total"], 1, "nothing was recorded by a refusal");
}

#[tokio::test]
async fn a_running_backup_cannot_be_deleted_or_restored() {
    let oas = Oas::load();
    let dir = tempfile::tempdir().unwrap();
    let f = FrozenServer::with_transitions(dir.path(), "3").await;
    let pid =
        ok(&oas, "CreateProject", &f.post(&projects(), json!({"name": "p"})).await)["id"].as_str().unwrap().to_owned();
    let cid = ok(&oas, "CreateCluster", &f.post(&clusters(&pid), dedicated("source", "us-west-2")).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(3200)).await;
    let bid = ok(&oas, "CreateBackup", &f.post(&backups(&pid, &cid), json!({"name": "b"})).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = ok(&oas, "GetBackupOfCluster", &f.get(&backup(&pid, &cid, &bid)).await).clone();
    assert_eq!(b["status"], "RUNNING", "{b}");
    let msg = err(
        &oas,
        "DeleteBackup",
        &f.delete(&backup(&pid, &cid, &bid)).await,
        400,
        ErrorCode::BackupStateConflict.code(),
    )
    .to_owned();
    assert!(msg.contains("RUNNING"), "{msg}");
    let r = f.post(&restores(&pid), restore_body(&bid, "restored")).await;
    err(&oas, "CreateRestoreTask", &r, 400, ErrorCode::BackupStateConflict.code());
    assert!(detail_for(&r, "backup_id").contains("SUCCESS"), "{}", r.body);
    f.kill().await;
}

/// A CMEK project with an AVAILABLE cluster and a finished backup of it:
/// (project, key ARN, key id, cluster, backup).
async fn cmek_backup(s: &Server, oas: &Option<Oas>, region: &str) -> (String, String, String, String, String) {
    let (pid, arn, key_id) = cmek_project_with_key(s, oas, "cmek", region).await;
    let cid = available_cluster(s, oas, &pid, "source", region).await;
    let bid = create_backup(s, oas, &pid, &cid, "under-the-key").await;
    wait_backup(s, oas, &pid, &cid, &bid, "SUCCESS").await;
    (pid, arn, key_id, cid, bid)
}

#[tokio::test]
async fn a_cmek_backup_records_its_key_and_is_refused_like_a_resume_while_revoked() {
    let oas = Oas::load();
    let s = Server::start().await;
    let (pid, arn, key_id, cid, bid) = cmek_backup(&s, &oas, "us-west-2").await;
    let k = keys_of(&s, &pid, &cid).await;
    assert_eq!(k, vec![json!({"backup_id": bid, "region": "us-west-2", "kms_arn": arn, "failure": null})]);
    // A second cluster, paused, to compare the refusals.
    let other = available_cluster(&s, &oas, &pid, "other", "us-west-2").await;
    ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &pid, &other, json!({"config": {"paused": true}})).await);
    wait_status(&s, &oas, &pid, &other, "PAUSED").await;

    // Revoke: the key is disabled in KMS.
    key_action(&s, &key_id, "disable", json!({})).await;
    let resume = patch_cluster(&s, &oas, &pid, &other, json!({"config": {"paused": false}})).await;
    let resume_msg = err(&oas, "UpdateCluster", &resume, 400, ErrorCode::KeyDisabled.code()).to_owned();
    let r = s.post(&backups(&pid, &cid), json!({"name": "while-revoked"})).await;
    let backup_msg = err(&oas, "CreateBackup", &r, 400, ErrorCode::KeyDisabled.code()).to_owned();
    let cause = |m: &str| m.split_once(" is refused: ").map(|(_, c)| c.to_owned()).unwrap_or_default();
    assert!(backup_msg.starts_with("creating the backup is refused: the service cannot use the key"), "{backup_msg}");
    assert!(backup_msg.contains(&arn) && backup_msg.contains("KEY_DISABLED"), "{backup_msg}");
    assert_eq!(cause(&backup_msg), cause(&resume_msg), "the same named cause as a resume");
    assert_eq!(details(&r), details(&resume));
    let r = s.post(&restores(&pid), restore_body(&bid, "restored")).await;
    let msg = err(&oas, "CreateRestoreTask", &r, 400, ErrorCode::KeyDisabled.code());
    assert!(msg.starts_with("restoring the backup is refused: ") && cause(msg) == cause(&resume_msg), "{msg}");
    assert_eq!(list(&s, &oas, &pid, &cid).await["total"], 1, "no backup was recorded while revoked");
    let kinds: Vec<String> = s.get(&format!("/api/ext/v1/projects/{pid}/events?page_size=100")).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert!(kinds.contains(&"BACKUP_REFUSED".to_owned()) && kinds.contains(&"RESTORE_REFUSED".to_owned()), "{kinds:?}");

    // Access restored: both work, and the restored cluster is encrypted with the same key.
    key_action(&s, &key_id, "enable", json!({})).await;
    let again = create_backup(&s, &oas, &pid, &cid, "after-restore").await;
    let k = keys_of(&s, &pid, &cid).await;
    assert_eq!(k[0]["backup_id"], again.as_str());
    assert_eq!(k[0]["kms_arn"], arn.as_str());
    let r = s.post(&restores(&pid), restore_body(&bid, "restored")).await;
    let new_cid = ok(&oas, "CreateRestoreTask", &r)["cluster_id"].as_str().unwrap().to_owned();
    wait_status(&s, &oas, &pid, &new_cid, "AVAILABLE").await;
}

#[tokio::test]
async fn a_cmek_backup_is_restored_only_where_its_key_is_in_its_region() {
    let oas = Oas::load();
    let s = Server::start().await;
    let (_, arn, _, _, bid) = cmek_backup(&s, &oas, "us-west-2").await;
    // A project without CMEK: the backup cannot be decrypted there.
    let plain = create_project(&s, &oas, "plain", false).await;
    let r = s.post(&restores(&plain), restore_body(&bid, "restored")).await;
    err(&oas, "CreateRestoreTask", &r, 400, ErrorCode::CmekRestoreKeyMismatch.code());
    let d = detail_for(&r, "backup_id");
    assert!(d.contains(&arn) && d.contains("does not use a customer-managed key"), "{d}");
    // A CMEK project whose key is another key of the same region.
    let (other, other_arn, _) = cmek_project_with_key(&s, &oas, "other-key", "us-west-2").await;
    let r = s.post(&restores(&other), restore_body(&bid, "restored")).await;
    err(&oas, "CreateRestoreTask", &r, 400, ErrorCode::CmekRestoreKeyMismatch.code());
    assert!(detail_for(&r, "backup_id").contains(&other_arn), "{}", r.body);
    // A CMEK project of another region.
    let (east, _, _) = cmek_project_with_key(&s, &oas, "east", "us-east-1").await;
    let r = s.post(&restores(&east), restore_body(&bid, "restored")).await;
    err(&oas, "CreateRestoreTask", &r, 400, ErrorCode::CmekRestoreKeyMismatch.code());
    // A backup under the escrow key into that project: the new cluster would run in us-west-2,
    // outside the key's region.
    let cid = available_cluster(&s, &oas, &plain, "plain-src", "us-west-2").await;
    let plain_bid = create_backup(&s, &oas, &plain, &cid, "escrow").await;
    wait_backup(&s, &oas, &plain, &cid, &plain_bid, "SUCCESS").await;
    let r = s.post(&restores(&east), restore_body(&plain_bid, "restored")).await;
    let msg = err(&oas, "CreateRestoreTask", &r, 400, ErrorCode::CmekClusterRegionMismatch.code());
    assert!(msg.contains("us-east-1") && msg.contains("us-west-2"), "{msg}");
    let restored: Vec<Value> =
        ok(&oas, "ListRestoreTasks", &s.get(&restores(&east)).await)["items"].as_array().unwrap().clone();
    assert!(restored.is_empty(), "refusals record no restore task: {restored:?}");
    // A second CMEK project configured with the same key can decrypt it: the restore lands.
    let same = create_project(&s, &oas, "same-key", true).await;
    let r = s.post(&aws_cmek(&same), json!({"specs": [{"region": "us-west-2", "kms_arn": arn}]})).await;
    ok(&oas, "CreateAwsCmek", &r);
    let r = s.post(&restores(&same), restore_body(&bid, "restored")).await;
    let new_cid = ok(&oas, "CreateRestoreTask", &r)["cluster_id"].as_str().unwrap().to_owned();
    let c = wait_status(&s, &oas, &same, &new_cid, "AVAILABLE").await;
    assert_eq!(c["region"], "us-west-2");
}

#[tokio::test]
async fn automatic_backups_fail_with_the_cause_while_revoked_and_work_again_after_restore() {
    let oas = Oas::load();
    let dir = tempfile::tempdir().unwrap();
    // A "day" of one second: the server's clock runs the same schedule, faster.
    let s = Server::start_in(dir.path(), &["--auto-backup-secs", "1"]).await;
    let (pid, arn, key_id) = cmek_project_with_key(&s, &oas, "daily", "us-west-2").await;
    let cid = available_cluster(&s, &oas, &pid, "daily", "us-west-2").await;
    let auto = |status: &'static str| {
        move |b: &Value| b["items"].as_array().unwrap().iter().any(|i| i["type"] == "AUTO" && i["status"] == status)
    };
    s.wait_for(&format!("{}?page_size=100", backups(&pid, &cid)), auto("SUCCESS")).await;
    let k = keys_of(&s, &pid, &cid).await;
    assert!(k.iter().all(|k| k["kms_arn"] == arn.as_str()), "every backup records the key: {k:?}");

    key_action(&s, &key_id, "disable", json!({})).await;
    let l = s.wait_for(&format!("{}?page_size=100", backups(&pid, &cid)), auto("FAILED")).await;
    let failed = l["items"].as_array().unwrap().iter().find(|i| i["status"] == "FAILED").unwrap().clone();
    let r = s.get(&format!("{}?page_size=100", backups(&pid, &cid))).await;
    assert!(ok(&oas, "ListBackUpOfCluster", &r)["items"].as_array().unwrap().contains(&failed));
    let d = failed["description"].as_str().unwrap();
    assert!(d.starts_with("automatic daily backup failed: the automatic backup is refused"), "{d}");
    assert!(d.contains(&arn) && d.contains("KEY_DISABLED"), "{d}");
    let fid = failed["id"].as_str().unwrap().to_owned();
    let k = keys_of(&s, &pid, &cid).await;
    let f = k.iter().find(|k| k["backup_id"] == fid.as_str()).unwrap();
    assert!(f["failure"].as_str().unwrap().contains("KEY_DISABLED"), "{f}");
    let events = s.get(&format!("/api/ext/v1/projects/{pid}/events?page_size=100")).await.body;
    let e = events["items"].as_array().unwrap().iter().find(|e| e["kind"] == "BACKUP_FAILED").expect("an event");
    assert!(e["message"].as_str().unwrap().contains("KEY_DISABLED"), "{e}");
    // The cluster keeps running while revoked (the guide: running clusters are not affected).
    assert_eq!(status_of(&get_cluster(&s, &oas, &pid, &cid).await), "AVAILABLE");

    key_action(&s, &key_id, "enable", json!({})).await;
    let after = |b: &Value| {
        b["items"].as_array().unwrap().iter().any(|i| {
            i["type"] == "AUTO"
                && i["status"] == "SUCCESS"
                && i["id"].as_str().unwrap().parse::<u64>().unwrap() > fid.parse::<u64>().unwrap()
        })
    };
    s.wait_for(&format!("{}?page_size=100", backups(&pid, &cid)), after).await;
    list(&s, &oas, &pid, &cid).await;
}
