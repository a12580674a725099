//! Crash safety and concurrency, over real HTTP against the real binary:
//! - a client keeps writing (projects, keys, clusters) while the server is killed with SIGKILL
//!   at random moments and restarted; every write the server acknowledged is there afterwards;
//! - 50 parallel aws-cmek POSTs for different regions leave exactly one region, and 50 parallel
//!   resumes of one cluster start it once — over repeated rounds.

mod common;

use cmek_core::policy::{self, PolicyRegion};
use common::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::RwLock;

/// A small deterministic generator (the seed is printed, so a failing run can be replayed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

fn seed() -> u64 {
    std::env::var("CMEK_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7)
    })
}

async fn accounts(s: &Server) -> (String, String) {
    let r = s.get("/api/ext/v1/server-info").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    (
        r.body["service_account_id"].as_str().unwrap().to_owned(),
        r.body["sandbox_account_id"].as_str().unwrap().to_owned(),
    )
}

/// A sandbox key in `region` whose policy trusts the service (the user guide's Appendix).
async fn usable_key(s: &Server, region: &str) -> Option<String> {
    let (service, sandbox) = accounts(s).await;
    let p = policy::pretty(&policy::default_key_policy(&sandbox, Some(&service), &PolicyRegion::Region(region.into())));
    let r = s.post("/api/ext/v1/sandbox-kms/keys", json!({"region": region, "policy": p})).await;
    (r.status == 200).then(|| r.body["arn"].as_str().unwrap().to_owned())
}

fn cluster_body(name: &str, region: &str) -> Value {
    json!({
        "name": name, "cluster_type": "DEDICATED", "cloud_provider": "AWS", "region": region,
        "config": {"root_password": "password_example", "port": 4000,
            "components": {"tidb": {"node_size": "8C16G", "node_quantity": 1},
                           "tikv": {"node_size": "8C32G", "storage_size_gib": 1024, "node_quantity": 3}}}
    })
}

/// What the client saw acknowledged.
#[derive(Default)]
struct Acknowledged {
    projects: Vec<(String, String, bool)>,
    keys: Vec<(String, String)>,
    clusters: Vec<(String, String)>,
    attempted: usize,
}

/// One write attempt against whichever server is up; `None` when it was not acknowledged.
async fn try_post(server: &RwLock<Option<Server>>, path: &str, body: Value) -> Option<Value> {
    let guard = server.read().await;
    let s = guard.as_ref()?;
    let r = s.try_request(reqwest::Method::POST, path, Some(&body)).await?;
    (r.status == 200).then_some(r.body)
}

#[tokio::test]
async fn no_acknowledged_write_is_lost_when_the_server_is_killed() {
    let seed = seed();
    println!("crash test seed: {seed} (set CMEK_TEST_SEED to replay)");
    let mut rng = Lcg(seed);
    let tmp = tempfile::tempdir().unwrap();
    let server = Arc::new(RwLock::new(Some(Server::start_in(tmp.path(), &[]).await)));
    let region = "us-west-2";
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (server, done) = (server.clone(), done.clone());
        tokio::spawn(async move {
            let mut ack = Acknowledged::default();
            let mut i = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                i += 1;
                ack.attempted += 1;
                let cmek = i % 2 == 0;
                let name = format!("crash-{i}");
                let Some(p) =
                    try_post(&server, "/api/v1beta/projects", json!({"name": name, "aws_cmek_enabled": cmek})).await
                else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let pid = p["id"].as_str().unwrap().to_owned();
                ack.projects.push((pid.clone(), name, cmek));
                if cmek {
                    let arn = {
                        let guard = server.read().await;
                        match guard.as_ref() {
                            Some(s) => usable_key(s, region).await,
                            None => None,
                        }
                    };
                    let Some(arn) = arn else { continue };
                    ack.attempted += 1;
                    let spec = json!({"specs": [{"region": region, "kms_arn": arn}]});
                    if try_post(&server, &format!("/api/v1beta/projects/{pid}/aws-cmek"), spec).await.is_none() {
                        continue;
                    }
                    ack.keys.push((pid.clone(), arn));
                }
                ack.attempted += 1;
                let path = format!("/api/v1beta/projects/{pid}/clusters");
                if let Some(c) = try_post(&server, &path, cluster_body(&format!("c-{i}"), region)).await {
                    ack.clusters.push((pid, c["id"].as_str().unwrap().to_owned()));
                }
            }
            ack
        })
    };
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(150 + rng.next(500))).await;
        let mut guard = server.write().await;
        let s = guard.take().expect("a server");
        *guard = Some(s.restart().await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let ack = writer.await.unwrap();
    // One more hard restart, then look for every acknowledged write.
    let s = server.write().await.take().unwrap().restart().await;
    let mut lost = Vec::new();
    let listed = s.get("/api/v1beta/projects?page=1&page_size=100").await;
    let mut all_projects: Vec<Value> = listed.body["items"].as_array().unwrap().clone();
    let total = listed.body["total"].as_i64().unwrap();
    let mut page = 2;
    while (all_projects.len() as i64) < total {
        let r = s.get(&format!("/api/v1beta/projects?page={page}&page_size=100")).await;
        all_projects.extend(r.body["items"].as_array().unwrap().iter().cloned());
        page += 1;
    }
    for (pid, name, cmek) in &ack.projects {
        match all_projects.iter().find(|p| p["id"] == pid.as_str()) {
            Some(p) if p["name"] == name.as_str() && p["aws_cmek_enabled"] == *cmek => {}
            other => lost.push(format!("project {pid} ({name}): {other:?}")),
        }
    }
    for (pid, arn) in &ack.keys {
        let r = s.get(&format!("/api/v1beta/projects/{pid}/aws-cmek")).await;
        if !r.body["items"].as_array().is_some_and(|k| k.iter().any(|k| k["kms_arn"] == arn.as_str())) {
            lost.push(format!("key {arn} of project {pid}"));
        }
    }
    for (pid, cid) in &ack.clusters {
        let r = s.get(&format!("/api/v1beta/projects/{pid}/clusters/{cid}")).await;
        if r.status != 200 {
            lost.push(format!("cluster {cid} of project {pid}: {}", r.status));
        }
    }
    let acknowledged = ack.projects.len() + ack.keys.len() + ack.clusters.len();
    println!(
        "crash test: 7 SIGKILLs, {} writes attempted, {acknowledged} acknowledged, {} lost",
        ack.attempted,
        lost.len()
    );
    assert!(acknowledged > 0, "the client got no write through at all");
    assert!(lost.is_empty(), "acknowledged writes lost after SIGKILL:\n{}", lost.join("\n"));
}

async fn dedicated_aws_regions(s: &Server) -> Vec<String> {
    let r = s.get("/api/v1beta/clusters/provider/regions").await;
    let mut out: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["cluster_type"] == "DEDICATED" && i["cloud_provider"] == "AWS")
        .map(|i| i["region"].as_str().unwrap().to_owned())
        .collect();
    out.dedup();
    out
}

#[tokio::test]
async fn fifty_parallel_key_configurations_leave_exactly_one_region() {
    let s = Arc::new(Server::start().await);
    let regions = dedicated_aws_regions(&s).await;
    assert!(regions.len() >= 2);
    let mut arns = Vec::new();
    for r in &regions {
        arns.push(usable_key(&s, r).await.expect("a sandbox key"));
    }
    for round in 0..5 {
        let pid = s
            .post("/api/v1beta/projects", json!({"name": format!("race-{round}"), "aws_cmek_enabled": true}))
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let (s, pid) = (s.clone(), pid.clone());
                let (region, arn) = (regions[i % regions.len()].clone(), arns[i % regions.len()].clone());
                tokio::spawn(async move {
                    let r = s
                        .post(
                            &format!("/api/v1beta/projects/{pid}/aws-cmek"),
                            json!({"specs": [{"region": region, "kms_arn": arn}]}),
                        )
                        .await;
                    (region, r.status, r.code())
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap());
        }
        let keys =
            s.get(&format!("/api/v1beta/projects/{pid}/aws-cmek")).await.body["items"].as_array().unwrap().clone();
        assert_eq!(keys.len(), 1, "round {round}: exactly one key: {keys:?}");
        let winner = keys[0]["region"].as_str().unwrap();
        for (region, status, code) in &outcomes {
            if region == winner {
                assert_eq!(*status, 200, "round {round}: the winning region's identical requests are idempotent");
            } else {
                assert_eq!(
                    (*status, *code),
                    (400, 49920002),
                    "round {round}: another region is refused as region-locked"
                );
            }
        }
    }
}

#[tokio::test]
async fn fifty_parallel_resumes_start_the_cluster_once() {
    let s = Arc::new(Server::start().await);
    let pid = s.post("/api/v1beta/projects", json!({"name": "resumes"})).await.body["id"].as_str().unwrap().to_owned();
    let cid = s
        .post(&format!("/api/v1beta/projects/{pid}/clusters"), cluster_body("resume-race", "us-west-2"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1beta/projects/{pid}/clusters/{cid}");
    for round in 0..5 {
        s.wait_for(&path, |b| b["status"]["cluster_status"] == "AVAILABLE").await;
        assert_eq!(s.patch(&path, json!({"config": {"paused": true}})).await.status, 200);
        s.wait_for(&path, |b| b["status"]["cluster_status"] == "PAUSED").await;
        let events_before = resume_events(&s, &pid).await;
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (s, path) = (s.clone(), path.clone());
                tokio::spawn(async move {
                    let r = s.patch(&path, json!({"config": {"paused": false}})).await;
                    (r.status, r.code())
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                (200, _) => ok += 1,
                (400, 49940001) => {}
                other => panic!("round {round}: unexpected answer {other:?}"),
            }
        }
        assert_eq!(ok, 1, "round {round}: exactly one resume starts the cluster");
        assert_eq!(resume_events(&s, &pid).await, events_before + 1, "round {round}: one CLUSTER_RESUME_REQUESTED");
    }
}

async fn resume_events(s: &Server, pid: &str) -> usize {
    let r = s.get(&format!("/api/ext/v1/projects/{pid}/events?page=1&page_size=100")).await;
    r.body["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "CLUSTER_RESUME_REQUESTED").count()
}
