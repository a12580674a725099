//! v1beta across a hard restart (SIGKILL, then a new process on the same data directory):
//! projects, the CMEK key, clusters and the sandbox KMS are all still there, and a cluster caught
//! in the middle of a transition finishes it. Transitions take seconds here, so each restart
//! really lands in the middle of one: the state is asserted just before the kill and just after.
mod common;
mod v1beta_support;

use common::*;
use serde_json::{Value, json};
use v1beta_support::*;

/// Long enough that a kill and a restart fit inside one transition, short enough to wait for.
const TRANSITION_SECS: &str = "5";

/// The cluster's status now, checked.
async fn status_now(s: &Server, oas: &Option<Oas>, pid: &str, cid: &str) -> String {
    status_of(&get_cluster(s, oas, pid, cid).await).to_owned()
}

/// Everything a client can read back, with each answer checked.
async fn snapshot(s: &Server, oas: &Option<Oas>, pids: &[String]) -> Value {
    let r = s.get("/api/v1beta/projects?page_size=100").await;
    let projects = ok(oas, "ListProjects", &r).clone();
    let mut per_project = serde_json::Map::new();
    for pid in pids {
        let r = s.get(&aws_cmek(pid)).await;
        let keys = ok(oas, "ListAwsCmek", &r).clone();
        let r = s.get(&format!("{}?page_size=100", clusters(pid))).await;
        let list = ok(oas, "ListClustersOfProject", &r).clone();
        per_project.insert(pid.clone(), json!({"keys": keys, "clusters": list}));
    }
    json!({"projects": projects, "per_project": per_project})
}

/// The clusters of a snapshot without their status (which may move on by itself).
fn without_status(snap: &Value) -> Value {
    let mut v = snap.clone();
    for p in v["per_project"].as_object_mut().unwrap().values_mut() {
        for c in p["clusters"]["items"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("status");
        }
    }
    v
}

#[tokio::test]
async fn everything_survives_a_hard_restart_and_transitions_finish() {
    let oas = Oas::load();
    let s = Server::start_with_transitions(TRANSITION_SECS).await;
    let plain = create_project(&s, &oas, "plain", false).await;
    let (cmek, kms_arn, _) = cmek_project_with_key(&s, &oas, "cmek", "us-west-2").await;
    let waiting = create_project(&s, &oas, "cmek-no-key", true).await;
    let pids = vec![plain.clone(), cmek.clone(), waiting.clone()];

    let available = create_cluster(&s, &oas, &plain, dedicated("stays-available", "us-west-2")).await;
    let paused = create_cluster(&s, &oas, &plain, dedicated("stays-paused", "us-west-2")).await;
    let serverless = create_cluster(&s, &oas, &plain, oas_serverless_example()).await;
    let encrypted = create_cluster(&s, &oas, &cmek, dedicated("encrypted", "us-west-2")).await;
    let mid_pause = create_cluster(&s, &oas, &cmek, dedicated("mid-pause", "us-west-2")).await;
    for (pid, cid) in
        [(&plain, &available), (&plain, &paused), (&plain, &serverless), (&cmek, &encrypted), (&cmek, &mid_pause)]
    {
        wait_status(&s, &oas, pid, cid, "AVAILABLE").await;
    }
    ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &plain, &paused, json!({"config": {"paused": true}})).await);
    wait_status(&s, &oas, &plain, &paused, "PAUSED").await;
    let before = snapshot(&s, &oas, &pids).await;

    // Caught mid-transition: a pause, and the kill right after it; and a cluster just created.
    let r = patch_cluster(&s, &oas, &cmek, &mid_pause, json!({"config": {"paused": true}})).await;
    assert_eq!(ok(&oas, "UpdateCluster", &r), &json!({}));
    let mid_create = create_cluster(&s, &oas, &plain, dedicated("mid-create", "us-west-2")).await;
    assert_eq!(status_now(&s, &oas, &cmek, &mid_pause).await, "PAUSING", "the kill lands mid-pause");
    assert_eq!(status_now(&s, &oas, &plain, &mid_create).await, "CREATING", "the kill lands mid-create");
    let s = s.restart().await;
    assert_eq!(status_now(&s, &oas, &cmek, &mid_pause).await, "PAUSING", "the restart caught the pause");
    assert_eq!(status_now(&s, &oas, &plain, &mid_create).await, "CREATING", "the restart caught the create");

    // Everything is still there, as it was.
    let after = snapshot(&s, &oas, &pids).await;
    let mut expected = without_status(&before);
    let mut got = without_status(&after);
    // The cluster created just before the kill is listed too; compare the rest separately.
    let plain_items = got["per_project"][&plain]["clusters"]["items"].as_array_mut().unwrap();
    let i =
        plain_items.iter().position(|c| c["id"] == mid_create.as_str()).expect("the cluster created before the kill");
    let created = plain_items.remove(i);
    assert_eq!(created["name"], "mid-create");
    got["per_project"][&plain]["clusters"]["total"] = json!(plain_items.len());
    expected["projects"]["items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter(|p| p["id"] == plain.as_str())
        .for_each(|p| p["cluster_count"] = json!(p["cluster_count"].as_i64().unwrap() + 1));
    assert_eq!(got, expected, "projects, keys and clusters are unchanged by the restart");
    assert_eq!(after["per_project"][&cmek]["keys"], json!({"items": [{"region": "us-west-2", "kms_arn": kms_arn}]}));

    // Stable statuses stay; transitions finish.
    assert_eq!(status_of(&get_cluster(&s, &oas, &plain, &available).await), "AVAILABLE");
    assert_eq!(status_of(&get_cluster(&s, &oas, &plain, &paused).await), "PAUSED");
    assert_eq!(status_of(&get_cluster(&s, &oas, &cmek, &encrypted).await), "AVAILABLE");
    wait_status(&s, &oas, &cmek, &mid_pause, "PAUSED").await;
    wait_status(&s, &oas, &plain, &mid_create, "AVAILABLE").await;

    // The restarted server goes on working on that data: rules, the key in the sandbox KMS, ids.
    let r = patch_cluster(&s, &oas, &cmek, &mid_pause, json!({"config": {"paused": false}})).await;
    ok(&oas, "UpdateCluster", &r);
    wait_status(&s, &oas, &cmek, &mid_pause, "AVAILABLE").await;
    let again = create_cluster(&s, &oas, &cmek, dedicated("after-restart", "us-west-2")).await;
    wait_status(&s, &oas, &cmek, &again, "AVAILABLE").await;
    let r = s.post(&clusters(&cmek), dedicated("elsewhere", "us-east-1")).await;
    err(&oas, "CreateCluster", &r, 400, ErrorCode::CmekClusterRegionMismatch.code());
    let r = s.post(&clusters(&waiting), dedicated("no-key-yet", "us-west-2")).await;
    err(&oas, "CreateCluster", &r, 400, ErrorCode::CmekNotConfigured.code());
    let r = s.post(&aws_cmek(&cmek), json!({"specs": [{"region": "us-west-2", "kms_arn": kms_arn}]})).await;
    assert_eq!(ok(&oas, "CreateAwsCmek", &r), &json!({}), "the configured key is still the same key");
    let (other_arn, _) = usable_key(&s, "us-west-2").await;
    let r = s.post(&aws_cmek(&cmek), json!({"specs": [{"region": "us-west-2", "kms_arn": other_arn}]})).await;
    err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::CmekKeyAlreadyConfigured.code());
    let newer = create_project(&s, &oas, "after-restart", false).await;
    assert!(!pids.contains(&newer), "a new id after the restart: {newer}");
    let r = s.get("/api/v1beta/projects").await;
    assert_eq!(ok(&oas, "ListProjects", &r)["total"], 4);
    let r = s.delete(&cluster(&plain, &available)).await;
    ok(&oas, "DeleteCluster", &r);

    // And a second restart keeps the deletion and the finished transitions.
    let s = s.restart().await;
    let r = s.get(&cluster(&plain, &available)).await;
    err(&oas, "GetCluster", &r, 404, ErrorCode::ClusterNotFound.code());
    assert_eq!(status_of(&get_cluster(&s, &oas, &cmek, &mid_pause).await), "AVAILABLE");
    assert_eq!(status_of(&get_cluster(&s, &oas, &plain, &paused).await), "PAUSED");
}

#[tokio::test]
async fn a_resume_caught_by_a_restart_finishes_available() {
    let oas = Oas::load();
    let s = Server::start_with_transitions(TRANSITION_SECS).await;
    let (pid, cid) = project_with_cluster(&s, &oas, "resumer", "us-west-2").await;
    let modify = create_cluster(&s, &oas, &pid, dedicated("modifier", "us-west-2")).await;
    wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    wait_status(&s, &oas, &pid, &modify, "AVAILABLE").await;
    ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"paused": true}})).await);
    wait_status(&s, &oas, &pid, &cid, "PAUSED").await;
    // A resume and a components change, then the kill while both are under way.
    ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"paused": false}})).await);
    let change = json!({"config": {"components": {"tikv": {"node_quantity": 6}}}});
    ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &pid, &modify, change).await);
    assert_eq!(status_now(&s, &oas, &pid, &cid).await, "RESUMING", "the kill lands mid-resume");
    assert_eq!(status_now(&s, &oas, &pid, &modify).await, "MODIFYING", "the kill lands mid-change");
    let s = s.restart().await;
    assert_eq!(status_now(&s, &oas, &pid, &cid).await, "RESUMING", "the restart caught the resume");
    assert_eq!(status_now(&s, &oas, &pid, &modify).await, "MODIFYING", "the restart caught the change");
    wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    let c = wait_status(&s, &oas, &pid, &modify, "AVAILABLE").await;
    assert_eq!(c["config"]["components"]["tikv"]["node_quantity"], 6, "the components change was kept");
    assert_eq!(c["status"]["node_map"]["tikv"].as_array().unwrap().len(), 6);
}
