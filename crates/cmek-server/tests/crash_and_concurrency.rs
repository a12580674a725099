//! Crash safety and concurrency, over real HTTP against the real binary:
//! - six clients keep writing (projects, keys, clusters) while the server is killed with SIGKILL
//!   whenever requests are outstanding, and restarted; every write the server acknowledged is
//!   there afterwards, and no write is half applied (the test counts the kills that landed with
//!   requests in flight, and fails if none did);
//! - 50 parallel aws-cmek POSTs for different regions leave exactly one region, and 50 parallel
//!   resumes of one cluster start it once — over repeated rounds.

mod common;

use cmek_core::policy::{self, PolicyRegion};
use common::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;

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

/// The key policy of the user guide's Appendix for `region`, trusting the service.
fn usable_policy(service: &str, sandbox: &str, region: &str) -> String {
    policy::pretty(&policy::default_key_policy(sandbox, Some(service), &PolicyRegion::Region(region.into())))
}

/// A sandbox key in `region` whose policy trusts the service (the user guide's Appendix).
async fn usable_key(s: &Server, region: &str) -> Option<String> {
    let (service, sandbox) = accounts(s).await;
    let p = usable_policy(&service, &sandbox, region);
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

/// The server the clients talk to right now: its address and a Digest client for it (a new
/// one after each restart, since nonces do not survive a process).
type Endpoint = Option<(String, DigestClient)>;

/// How one write went, as the client saw it.
enum Outcome {
    /// 200: the server acknowledged it; the body.
    Acknowledged(Value),
    /// Another status: refused, nothing written.
    Refused(u16, Value),
    /// No server listening (it was down): the request never reached one.
    Unreachable,
    /// Sent, and the connection broke before the whole answer came: a kill caught it in flight.
    CutOff,
}

/// Counts requests between "sent" and "answer read" (dropped when the attempt ends).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Self(n)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the clients share: the current server, the requests in flight, and what the kills cut.
struct Shared {
    endpoint: watch::Receiver<Endpoint>,
    in_flight: AtomicUsize,
    cut_off: AtomicUsize,
    done: AtomicBool,
}

impl Shared {
    /// One POST to whichever server is up, never holding anything across it (so a kill can
    /// land while it is outstanding).
    async fn post(&self, path: &str, body: &Value) -> Outcome {
        let Some((base, client)) = self.endpoint.borrow().clone() else { return Outcome::Unreachable };
        let _counted = InFlight::enter(&self.in_flight);
        let headers = [("content-type", "application/json")];
        let res = match client
            .send(reqwest::Method::POST, &format!("{base}{path}"), &headers, Some(body.to_string()))
            .await
        {
            Ok(res) => res,
            Err(e) if e.is_connect() => return Outcome::Unreachable,
            Err(_) => {
                self.cut_off.fetch_add(1, Ordering::SeqCst);
                return Outcome::CutOff;
            }
        };
        match Resp::read(res).await {
            Some(r) if r.status == 200 => Outcome::Acknowledged(r.body),
            Some(r) => Outcome::Refused(r.status, r.body),
            None => {
                self.cut_off.fetch_add(1, Ordering::SeqCst);
                Outcome::CutOff
            }
        }
    }

    /// [`Shared::post`] until it is answered (acknowledged or refused): `None` when it was not
    /// acknowledged.
    async fn post_acknowledged(&self, path: &str, body: &Value) -> Option<Value> {
        match self.post(path, body).await {
            Outcome::Acknowledged(v) => Some(v),
            Outcome::Refused(status, b) => {
                assert!(status < 500, "a write answered {status} (a server error): {b}");
                None
            }
            Outcome::Unreachable | Outcome::CutOff => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                None
            }
        }
    }
}

/// What one client tried, and what it saw acknowledged.
#[derive(Default)]
struct Writes {
    /// Project name → whether it asked for CMEK.
    projects_tried: HashMap<String, bool>,
    /// Cluster name → the name of its project.
    clusters_tried: HashMap<String, String>,
    /// Project name → the ARN it tried to configure.
    keys_tried: HashMap<String, String>,
    /// Acknowledged: (project id, name, CMEK).
    projects: Vec<(String, String, bool)>,
    /// Acknowledged: (project id, ARN).
    keys: Vec<(String, String)>,
    /// Acknowledged: (project id, cluster id, cluster name).
    clusters: Vec<(String, String, String)>,
    attempted: usize,
}

/// One client: project → (CMEK: sandbox key → aws-cmek) → cluster, over and over.
async fn client(shared: Arc<Shared>, n: usize, service: String, sandbox: String) -> Writes {
    let region = "us-west-2";
    let policy = usable_policy(&service, &sandbox, region);
    let mut w = Writes::default();
    let mut i = 0;
    while !shared.done.load(Ordering::SeqCst) {
        i += 1;
        let cmek = i % 2 == 0;
        let name = format!("crash-{n}-{i}");
        w.projects_tried.insert(name.clone(), cmek);
        w.attempted += 1;
        let Some(p) =
            shared.post_acknowledged("/api/v1beta/projects", &json!({"name": name, "aws_cmek_enabled": cmek})).await
        else {
            continue;
        };
        let pid = p["id"].as_str().expect("a project id").to_owned();
        w.projects.push((pid.clone(), name.clone(), cmek));
        if cmek {
            let key = json!({"region": region, "policy": policy});
            let Some(k) = shared.post_acknowledged("/api/ext/v1/sandbox-kms/keys", &key).await else { continue };
            let arn = k["arn"].as_str().expect("an ARN").to_owned();
            w.keys_tried.insert(name.clone(), arn.clone());
            w.attempted += 1;
            let spec = json!({"specs": [{"region": region, "kms_arn": arn}]});
            if shared.post_acknowledged(&format!("/api/v1beta/projects/{pid}/aws-cmek"), &spec).await.is_none() {
                continue;
            }
            w.keys.push((pid.clone(), arn));
        }
        let cluster = format!("c-{n}-{i}");
        w.clusters_tried.insert(cluster.clone(), name.clone());
        w.attempted += 1;
        let path = format!("/api/v1beta/projects/{pid}/clusters");
        if let Some(c) = shared.post_acknowledged(&path, &cluster_body(&cluster, region)).await {
            w.clusters.push((pid, c["id"].as_str().expect("a cluster id").to_owned(), cluster));
        }
    }
    w
}

/// Every item of a paginated v1beta list.
async fn all_items(s: &Server, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let r = s.get(&format!("{path}?page={page}&page_size=100")).await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
        let items = r.body["items"].as_array().unwrap_or_else(|| panic!("{path}: no items in {}", r.body));
        out.extend(items.iter().cloned());
        if out.len() as i64 >= r.body["total"].as_i64().expect("a total") || items.is_empty() {
            return out;
        }
    }
    unreachable!()
}

const CLIENTS: usize = 6;
const KILLS: usize = 8;

#[tokio::test]
async fn no_acknowledged_write_is_lost_when_the_server_is_killed() {
    let seed = seed();
    println!("crash test seed: {seed} (set CMEK_TEST_SEED to replay)");
    let mut rng = Lcg(seed);
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(tmp.path(), &[]).await;
    let (service, sandbox) = accounts(&server).await;
    let (publish, endpoint) = watch::channel(Some((server.base.clone(), server.client().clone())));
    let shared = Arc::new(Shared {
        endpoint,
        in_flight: AtomicUsize::new(0),
        cut_off: AtomicUsize::new(0),
        done: AtomicBool::new(false),
    });
    let clients: Vec<_> =
        (0..CLIENTS).map(|n| tokio::spawn(client(shared.clone(), n, service.clone(), sandbox.clone()))).collect();
    // Kill only while requests are outstanding (waiting up to 2 s for some), and count how many
    // were: a kill between requests would prove nothing about a write in progress.
    let mut kills_in_flight = 0;
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(100 + rng.next(300))).await;
        let mut waited = 0;
        while shared.in_flight.load(Ordering::SeqCst) < 2 && waited < 2000 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            waited += 1;
        }
        let outstanding = shared.in_flight.load(Ordering::SeqCst);
        publish.send_replace(None);
        server.kill().await;
        if outstanding > 0 {
            kills_in_flight += 1;
        }
        server = server.restart().await;
        publish.send_replace(Some((server.base.clone(), server.client().clone())));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    shared.done.store(true, Ordering::SeqCst);
    let mut writes = Vec::new();
    for c in clients {
        writes.push(c.await.unwrap());
    }
    // One more hard restart, then look for every acknowledged write.
    let s = server.restart().await;
    let mut lost = Vec::new();
    let mut half = Vec::new();
    let all_projects = all_items(&s, "/api/v1beta/projects").await;
    let projects_tried: HashMap<&str, bool> =
        writes.iter().flat_map(|w| w.projects_tried.iter().map(|(n, c)| (n.as_str(), *c))).collect();
    let clusters_tried: HashMap<&str, &str> =
        writes.iter().flat_map(|w| w.clusters_tried.iter().map(|(c, p)| (c.as_str(), p.as_str()))).collect();
    let keys_tried: HashMap<&str, &str> =
        writes.iter().flat_map(|w| w.keys_tried.iter().map(|(p, k)| (p.as_str(), k.as_str()))).collect();
    let mut acknowledged = 0;
    for w in &writes {
        acknowledged += w.projects.len() + w.keys.len() + w.clusters.len();
        for (pid, name, cmek) in &w.projects {
            match all_projects.iter().find(|p| p["id"] == pid.as_str()) {
                Some(p) if p["name"] == name.as_str() && p["aws_cmek_enabled"] == *cmek => {}
                other => lost.push(format!("project {pid} ({name}): {other:?}")),
            }
        }
        for (pid, arn) in &w.keys {
            let r = s.get(&format!("/api/v1beta/projects/{pid}/aws-cmek")).await;
            if !r.body["items"].as_array().is_some_and(|k| k.iter().any(|k| k["kms_arn"] == arn.as_str())) {
                lost.push(format!("key {arn} of project {pid}: {}", r.body));
            }
        }
        for (pid, cid, name) in &w.clusters {
            let r = s.get(&format!("/api/v1beta/projects/{pid}/clusters/{cid}")).await;
            if r.status != 200 || r.body["name"] != name.as_str() {
                lost.push(format!("cluster {cid} ({name}) of project {pid}: {} {}", r.status, r.body));
            }
        }
    }
    // Whatever is there (acknowledged or not) is whole: a project someone asked for, as asked;
    // its cluster count matches its clusters; each cluster complete and in the project it was
    // asked for; at most one key, the one asked for.
    for p in &all_projects {
        let (pid, name) = (p["id"].as_str().unwrap(), p["name"].as_str().unwrap_or_default());
        match projects_tried.get(name) {
            Some(cmek) if p["aws_cmek_enabled"] == *cmek => {}
            _ => half.push(format!("a project nobody asked for, or not as asked: {p}")),
        }
        let listed = all_items(&s, &format!("/api/v1beta/projects/{pid}/clusters")).await;
        if p["cluster_count"] != json!(listed.len()) {
            half.push(format!("project {pid} counts {} clusters but lists {}", p["cluster_count"], listed.len()));
        }
        for c in &listed {
            let cname = c["name"].as_str().unwrap_or_default();
            if clusters_tried.get(cname) != Some(&name) {
                half.push(format!("cluster {cname} in project {name}, not where it was asked for: {c}"));
            }
            let tikv = c["status"]["node_map"]["tikv"].as_array().map_or(0, Vec::len);
            if tikv != 3 || c["config"]["components"]["tikv"]["node_quantity"] != 3 {
                half.push(format!("cluster {cname} is not whole: {c}"));
            }
        }
        let r = s.get(&format!("/api/v1beta/projects/{pid}/aws-cmek")).await;
        let Some(keys) = r.body["items"].as_array() else {
            half.push(format!("project {pid}: no items in its keys: {}", r.body));
            continue;
        };
        match keys.as_slice() {
            [] => {}
            [k] if keys_tried.get(name).is_some_and(|arn| k["kms_arn"] == *arn) => {}
            _ => half.push(format!("project {name}: keys it did not ask for: {keys:?}")),
        }
    }
    let attempted: usize = writes.iter().map(|w| w.attempted).sum();
    let cut_off = shared.cut_off.load(Ordering::SeqCst);
    println!(
        "crash test: {} SIGKILLs, {kills_in_flight} with requests in flight, {cut_off} requests cut off by a kill; \
         {attempted} writes attempted, {acknowledged} acknowledged, {} lost, {} half applied",
        KILLS + 1,
        lost.len(),
        half.len()
    );
    assert!(acknowledged > 0, "the clients got no write through at all");
    assert!(kills_in_flight > 0, "no kill landed while a request was in flight");
    assert!(cut_off > 0, "no request was cut off by a kill: the kills never caught a write in progress");
    assert!(lost.is_empty(), "acknowledged writes lost after SIGKILL:\n{}", lost.join("\n"));
    assert!(half.is_empty(), "writes half applied after SIGKILL:\n{}", half.join("\n"));
}

async fn dedicated_aws_regions(s: &Server) -> Vec<String> {
    let r = s.get("/api/v1beta/clusters/provider/regions").await;
    cmek_test_support::catalog::regions(&r.body, "DEDICATED", "AWS")
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
                    (400, ErrorCode::CmekRegionLocked.code()),
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
                (400, code) if code == ErrorCode::ClusterStateConflict.code() => {}
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
