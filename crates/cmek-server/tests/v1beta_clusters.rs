//! v1beta clusters over real HTTP: create (every field rule against the provider catalog), list,
//! get, pause/resume/scale with the lifecycle rules, delete, ids, and the CMEK project's rules
//! (key first, Dedicated on AWS only, in the key's region only, and the key checked in KMS before
//! create, resume and scale).
mod common;
mod v1beta_support;

use cmek_core::cluster::{ram_bytes, vcpus};
use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use v1beta_support::*;

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The node map and connection strings are there exactly when the cluster runs (AVAILABLE or
/// MODIFYING), and then describe the configured components.
fn assert_status_shape(c: &Value) {
    let status = status_of(c);
    let running = matches!(status, "AVAILABLE" | "MODIFYING");
    let st = &c["status"];
    if !running {
        assert!(st.get("node_map").is_none(), "no node_map while {status}: {c}");
        assert!(st.get("connection_strings").is_none(), "no connection_strings while {status}: {c}");
        return;
    }
    let port = &c["config"]["port"];
    let cs = &st["connection_strings"];
    assert!(cs["default_user"].as_str().is_some_and(|u| !u.is_empty()), "{c}");
    assert_eq!(&cs["standard"]["port"], port, "{c}");
    assert!(cs["standard"]["host"].as_str().is_some_and(|h| !h.is_empty()), "{c}");
    if c["cluster_type"] == "DEVELOPER" {
        assert!(st.get("node_map").is_none(), "a Serverless cluster has no nodes to show: {c}");
        return;
    }
    assert_eq!(&cs["vpc_peering"]["port"], port, "{c}");
    let region = c["region"].as_str().unwrap();
    for component in ["tidb", "tikv", "tiflash"] {
        let spec = &c["config"]["components"][component];
        let nodes = st["node_map"][component].as_array().cloned().unwrap_or_default();
        let quantity = spec["node_quantity"].as_i64().unwrap_or(0) as usize;
        assert_eq!(nodes.len(), quantity, "{component} nodes match node_quantity: {c}");
        for n in &nodes {
            let size = spec["node_size"].as_str().unwrap();
            assert_eq!(n["node_size"], size, "{n}");
            assert_eq!(n["vcpu_num"], vcpus(size).unwrap(), "{n}");
            assert_eq!(n["ram_bytes"], ram_bytes(size).unwrap().to_string(), "{n}");
            assert_eq!(n["status"], "NODE_STATUS_AVAILABLE", "{n}");
            assert!(n["availability_zone"].as_str().unwrap().starts_with(region), "{n}");
            if component == "tidb" {
                assert!(n.get("storage_size_gib").is_none(), "{n}");
            } else {
                assert_eq!(n["storage_size_gib"], spec["storage_size_gib"], "{n}");
            }
        }
    }
}

/// Polls the cluster until it reaches the last status of `path`, checking every answer: only
/// statuses of `path`, never going back, the node map only while running.
async fn watch(s: &Server, oas: &Option<Oas>, pid: &str, cid: &str, path: &[&str]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut at = 0;
    for _ in 0..400 {
        let c = get_cluster(s, oas, pid, cid).await;
        let status = status_of(&c).to_owned();
        assert_status_shape(&c);
        let i = path.iter().position(|p| *p == status).unwrap_or_else(|| panic!("{status} is not on {path:?}: {c}"));
        assert!(i >= at, "{status} came after {} on {path:?}", path[at]);
        at = i;
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if i == path.len() - 1 {
            // And the harness's wait agrees.
            wait_status(s, oas, pid, cid, path[i]).await;
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("cluster {cid} never reached {:?}; saw {seen:?}", path.last());
}

async fn project(s: &Server, oas: &Option<Oas>) -> String {
    create_project(s, oas, "clusters", false).await
}

/// A create that must be refused for field rules; the fields named.
async fn refused_fields(s: &Server, oas: &Option<Oas>, pid: &str, body: Value) -> (Vec<String>, Resp) {
    let r = s.post(&clusters(pid), body.clone()).await;
    verify(oas, "CreateCluster", &r);
    assert_eq!((r.status, r.code()), (400, ErrorCode::ValidationFailed.code()), "{body}\n=> {}", r.body);
    (detail_fields(&r), r)
}

async fn cluster_count(s: &Server, oas: &Option<Oas>, pid: &str) -> i64 {
    let r = s.get("/api/v1beta/projects?page_size=100").await;
    ok(oas, "ListProjects", &r)["items"].as_array().unwrap().iter().find(|p| p["id"] == pid).expect("listed")
        ["cluster_count"]
        .as_i64()
        .unwrap()
}

// ------------------------------------------------------------------ create and get

#[tokio::test]
async fn the_oas_example_creates_a_cluster_that_becomes_available() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let example = oas_dedicated_example();
    let before = unix_now();
    let cid = create_cluster(&s, &oas, &pid, example.clone()).await;
    let after = unix_now();

    let c = get_cluster(&s, &oas, &pid, &cid).await;
    assert_eq!(c["id"], cid.as_str());
    assert_eq!(c["project_id"], pid.as_str());
    for field in ["name", "cluster_type", "cloud_provider", "region"] {
        assert_eq!(c[field], example[field], "{field}");
    }
    assert_eq!(c["config"]["port"], example["config"]["port"]);
    assert_eq!(c["config"]["components"], example["config"]["components"]);
    let ts: i64 = c["create_timestamp"].as_str().expect("a string").parse().expect("Unix seconds");
    assert!((before - 1..=after + 1).contains(&ts), "{ts} not in {before}..{after}");
    assert!(c["status"]["tidb_version"].as_str().is_some_and(|v| v.starts_with('v')), "{c}");
    assert!(["CREATING", "AVAILABLE"].contains(&status_of(&c)), "{c}");
    assert_status_shape(&c);
    // Nothing the GET must not show: no password, no IP access list, no `paused`.
    let text = c.to_string();
    let password = example["config"]["root_password"].as_str().unwrap();
    assert!(!text.contains(password), "the password is never returned: {text}");
    assert!(c["config"].get("root_password").is_none() && c["config"].get("ip_access_list").is_none());
    assert!(c["config"].get("paused").is_none());

    let seen = watch(&s, &oas, &pid, &cid, &["CREATING", "AVAILABLE"]).await;
    assert_eq!(seen.last().unwrap(), "AVAILABLE");
    let c = get_cluster(&s, &oas, &pid, &cid).await;
    assert!(c["status"]["node_map"].is_object() && c["status"]["connection_strings"].is_object(), "{c}");
    assert!(!c.to_string().contains(password));
    assert_eq!(cluster_count(&s, &oas, &pid).await, 1);
}

#[tokio::test]
async fn the_oas_serverless_example_creates_a_developer_cluster() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let example = oas_serverless_example();
    let cid = create_cluster(&s, &oas, &pid, example.clone()).await;
    let c = watch(&s, &oas, &pid, &cid, &["CREATING", "AVAILABLE"]).await;
    assert_eq!(c.last().unwrap(), "AVAILABLE");
    let c = get_cluster(&s, &oas, &pid, &cid).await;
    assert_eq!(c["cluster_type"], "DEVELOPER");
    assert_eq!(c["config"]["port"], 4000, "Serverless listens on 4000, the default");
    // Components sent for a Serverless cluster are ignored.
    let with_components = with(&example, "/config/components", oas_dedicated_example()["config"]["components"].clone());
    let cid2 = create_cluster(&s, &oas, &pid, with(&with_components, "/name", json!("serverless-2"))).await;
    let c2 = get_cluster(&s, &oas, &pid, &cid2).await;
    assert!(c2["config"].get("components").is_none(), "{c2}");
}

#[tokio::test]
async fn cluster_names_follow_the_oas_rule() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    for bad in ["abc", "-abcd", "abcd-", "ab_cd", "ab cd", "clüster", "", &"a".repeat(65)] {
        let (fields, _) = refused_fields(&s, &oas, &pid, dedicated(bad, "us-west-2")).await;
        assert_eq!(fields, vec!["name"], "{bad:?}");
    }
    for good in ["abcd", "a-b-c-d", "0000", "Cluster-0", &"a".repeat(64)] {
        let cid = create_cluster(&s, &oas, &pid, dedicated(good, "us-west-2")).await;
        assert_eq!(get_cluster(&s, &oas, &pid, &cid).await["name"], good);
    }
}

#[tokio::test]
async fn root_password_has_8_to_64_characters_and_is_never_repeated() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    for bad in ["Sh0rt!x", "", &format!("Long-{}", "Z".repeat(60))] {
        let body = with(&dedicated("pw-bad", "us-west-2"), "/config/root_password", json!(bad));
        let (fields, r) = refused_fields(&s, &oas, &pid, body).await;
        assert_eq!(fields, vec!["config.root_password"], "{} characters", bad.chars().count());
        if !bad.is_empty() {
            assert!(!r.body.to_string().contains(bad), "the answer repeats the password: {}", r.body);
        }
    }
    // 8 and 64 characters (counted as characters, not bytes).
    for good in ["8chars!!", "pässwörd", &"p".repeat(64)] {
        let body = with(
            &dedicated(&format!("pw-{}", good.chars().count()), "us-west-2"),
            "/config/root_password",
            json!(good),
        );
        let r = s.post(&clusters(&pid), body).await;
        ok(&oas, "CreateCluster", &r);
    }
    // Alongside another error, the password still does not show.
    let mut body = dedicated("ab", "us-west-2");
    set(&mut body, "/config/root_password", json!("Tiny42!"));
    let (fields, r) = refused_fields(&s, &oas, &pid, body).await;
    assert_eq!(fields, vec!["name", "config.root_password"]);
    assert!(!r.body.to_string().contains("Tiny42!"), "{}", r.body);
}

#[tokio::test]
async fn a_password_of_the_wrong_type_is_not_repeated_either() {
    // A client that sends the password as a number gets a type error; the number is the password.
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let body = with(&dedicated("pw-number", "us-west-2"), "/config/root_password", json!(73_519_246_801u64));
    let r = s.post(&clusters(&pid), body).await;
    let msg = err(&oas, "CreateCluster", &r, 400, ErrorCode::InvalidField.code());
    assert!(msg.starts_with("config.root_password"), "{msg}");
    assert!(!r.body.to_string().contains("73519246801"), "the answer repeats the password: {}", r.body);
}

#[tokio::test]
async fn ports_are_1024_to_65535_except_10080() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    for bad in [0, 80, 1023, 10080, 65536, -1] {
        let body = with(&dedicated("port-bad", "us-west-2"), "/config/port", json!(bad));
        let (fields, r) = refused_fields(&s, &oas, &pid, body).await;
        assert_eq!(fields, vec!["config.port"], "{bad}");
        assert!(r.message().contains(&bad.to_string()), "{}", r.body);
    }
    let r = s.post(&clusters(&pid), with(&dedicated("port-10080", "us-west-2"), "/config/port", json!(10080))).await;
    assert!(r.message().contains("reserved"), "{}", r.body);
    for (good, name) in [(1024, "port-low"), (65535, "port-high"), (10081, "port-next")] {
        let cid =
            create_cluster(&s, &oas, &pid, with(&dedicated(name, "us-west-2"), "/config/port", json!(good))).await;
        let c = wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
        assert_eq!(c["config"]["port"], good);
        assert_status_shape(&c);
    }
    // Absent and null: the default, 4000.
    for (body, name) in [
        (without(&dedicated("port-absent", "us-west-2"), "/config/port"), "absent"),
        (with(&dedicated("port-null", "us-west-2"), "/config/port", Value::Null), "null"),
    ] {
        let cid = create_cluster(&s, &oas, &pid, body).await;
        assert_eq!(get_cluster(&s, &oas, &pid, &cid).await["config"]["port"], 4000, "{name}");
    }
    // Not a number.
    for bad in [json!("4000"), json!(4000.5), json!(99_999_999_999i64)] {
        let r = s.post(&clusters(&pid), with(&dedicated("port-type", "us-west-2"), "/config/port", bad.clone())).await;
        let msg = err(&oas, "CreateCluster", &r, 400, ErrorCode::InvalidField.code());
        assert!(msg.starts_with("config.port"), "{bad}: {msg}");
    }
}

#[tokio::test]
async fn components_follow_the_catalog() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let cat = catalog(&s, &oas).await;
    let west = entry(&cat, "DEDICATED", "AWS", "us-west-2");
    let base = dedicated("comp", "us-west-2");
    let kv_size = base["config"]["components"]["tikv"]["node_size"].as_str().unwrap().to_owned();
    let kv = profile(west, "tikv", &kv_size);
    let (kv_min, kv_max) =
        (kv["storage_size_gib_range"]["min"].as_i64().unwrap(), kv["storage_size_gib_range"]["max"].as_i64().unwrap());
    let kv_step = kv["node_quantity_range"]["step"].as_i64().unwrap();
    let kv_qmin = kv["node_quantity_range"]["min"].as_i64().unwrap();
    let tidb_size = base["config"]["components"]["tidb"]["node_size"].as_str().unwrap().to_owned();
    let tidb_qmin = profile(west, "tidb", &tidb_size)["node_quantity_range"]["min"].as_i64().unwrap();

    // Components are required for DEDICATED; tidb and tikv within them.
    let (f, _) = refused_fields(&s, &oas, &pid, without(&base, "/config/components")).await;
    assert_eq!(f, vec!["config.components"]);
    let (f, _) = refused_fields(&s, &oas, &pid, with(&base, "/config/components", Value::Null)).await;
    assert_eq!(f, vec!["config.components"]);
    for missing in ["tidb", "tikv"] {
        let r = s.post(&clusters(&pid), without(&base, &format!("/config/components/{missing}"))).await;
        let msg = err(&oas, "CreateCluster", &r, 400, ErrorCode::MissingField.code());
        assert!(msg.starts_with(&format!("config.components.{missing}")), "{msg}");
    }
    // TiKV quantity: min plus a multiple of step.
    for q in [kv_qmin + 1, kv_qmin + kv_step - 1, kv_qmin - 1, 0] {
        if (q - kv_qmin) % kv_step == 0 && q >= kv_qmin {
            continue;
        }
        let (f, r) =
            refused_fields(&s, &oas, &pid, with(&base, "/config/components/tikv/node_quantity", json!(q))).await;
        assert_eq!(f, vec!["config.components.tikv.node_quantity"], "{q}: {}", r.body);
    }
    // TiDB quantity: at least the minimum; and no absurd counts.
    let (f, _) =
        refused_fields(&s, &oas, &pid, with(&base, "/config/components/tidb/node_quantity", json!(tidb_qmin - 1)))
            .await;
    assert_eq!(f, vec!["config.components.tidb.node_quantity"]);
    let (f, _) =
        refused_fields(&s, &oas, &pid, with(&base, "/config/components/tidb/node_quantity", json!(100_000))).await;
    assert_eq!(f, vec!["config.components.tidb.node_quantity"]);
    // TiKV storage: within the node size's range.
    for gib in [kv_min - 1, kv_max + 1, 0] {
        let (f, r) =
            refused_fields(&s, &oas, &pid, with(&base, "/config/components/tikv/storage_size_gib", json!(gib))).await;
        assert_eq!(f, vec!["config.components.tikv.storage_size_gib"], "{gib}");
        assert!(r.message().contains(&kv_min.to_string()) && r.message().contains(&kv_max.to_string()), "{}", r.body);
    }
    // Node sizes the region does not offer, and the message lists those it does.
    let (f, r) = refused_fields(&s, &oas, &pid, with(&base, "/config/components/tidb/node_size", json!("3C7G"))).await;
    assert_eq!(f, vec!["config.components.tidb.node_size"]);
    for p in west["tidb"].as_array().unwrap() {
        assert!(r.message().contains(p["node_size"].as_str().unwrap()), "{}", r.body);
    }
    let tidb_only = west["tidb"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["node_size"].as_str().unwrap())
        .find(|size| !west["tikv"].as_array().unwrap().iter().any(|k| k["node_size"] == *size))
        .expect("a TiDB size TiKV does not have");
    let (f, _) =
        refused_fields(&s, &oas, &pid, with(&base, "/config/components/tikv/node_size", json!(tidb_only))).await;
    assert!(f.contains(&"config.components.tikv.node_size".to_owned()), "{f:?}");

    // The limits themselves are accepted.
    let mut edge = with(&base, "/config/components/tikv/storage_size_gib", json!(kv_max));
    set(&mut edge, "/config/components/tikv/node_quantity", json!(kv_qmin + kv_step));
    set(&mut edge, "/name", json!("comp-max"));
    let cid = create_cluster(&s, &oas, &pid, edge).await;
    let c = wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    assert_status_shape(&c);
    let low = with(&with(&base, "/config/components/tikv/storage_size_gib", json!(kv_min)), "/name", json!("comp-min"));
    create_cluster(&s, &oas, &pid, low).await;
}

#[tokio::test]
async fn four_vcpu_nodes_pair_with_four_vcpu_nodes_and_no_tiflash() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let cat = catalog(&s, &oas).await;
    let west = entry(&cat, "DEDICATED", "AWS", "us-west-2");
    let four = |component: &str| {
        west[component]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| vcpus(p["node_size"].as_str().unwrap()) == Some(4))
            .expect("a 4-vCPU size")
            .clone()
    };
    let (db4, kv4) = (four("tidb"), four("tikv"));
    let base = dedicated("four", "us-west-2");
    // TiDB with 4 vCPUs, TiKV with more.
    let (f, r) =
        refused_fields(&s, &oas, &pid, with(&base, "/config/components/tidb/node_size", db4["node_size"].clone()))
            .await;
    assert_eq!(f, vec!["config.components.tikv.node_size"]);
    assert!(r.message().contains("4-vCPU"), "{}", r.body);
    // TiKV with 4 vCPUs, TiDB with more.
    let mut kv_only = with(&base, "/config/components/tikv/node_size", kv4["node_size"].clone());
    set(&mut kv_only, "/config/components/tikv/storage_size_gib", kv4["storage_size_gib_range"]["min"].clone());
    let (f, _) = refused_fields(&s, &oas, &pid, kv_only.clone()).await;
    assert_eq!(f, vec!["config.components.tikv.node_size"]);
    // Both 4 vCPUs: fine.
    let mut both = with(&kv_only, "/config/components/tidb/node_size", db4["node_size"].clone());
    let cid = create_cluster(&s, &oas, &pid, both.clone()).await;
    assert_eq!(get_cluster(&s, &oas, &pid, &cid).await["config"]["components"]["tikv"]["node_size"], kv4["node_size"]);
    // ... but without TiFlash.
    let flash = &west["tiflash"][0];
    set(
        &mut both,
        "/config/components/tiflash",
        json!({"node_size": flash["node_size"], "storage_size_gib": flash["storage_size_gib_range"]["min"], "node_quantity": 1}),
    );
    set(&mut both, "/name", json!("four-flash"));
    let (f, _) = refused_fields(&s, &oas, &pid, both.clone()).await;
    assert_eq!(f, vec!["config.components.tiflash"]);
    // TiFlash with bigger nodes is fine; its own ranges apply.
    let mut big = with(&base, "/config/components/tiflash", both["config"]["components"]["tiflash"].clone());
    set(&mut big, "/name", json!("with-flash"));
    let cid = create_cluster(&s, &oas, &pid, big.clone()).await;
    let c = wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    assert_status_shape(&c);
    let max = flash["storage_size_gib_range"]["max"].as_i64().unwrap();
    let (f, _) =
        refused_fields(&s, &oas, &pid, with(&big, "/config/components/tiflash/storage_size_gib", json!(max + 1))).await;
    assert_eq!(f, vec!["config.components.tiflash.storage_size_gib"]);
    let (f, _) =
        refused_fields(&s, &oas, &pid, with(&big, "/config/components/tiflash/node_size", json!("9C9G"))).await;
    assert_eq!(f, vec!["config.components.tiflash.node_size"]);
}

#[tokio::test]
async fn regions_and_providers_must_be_offered() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let cat = catalog(&s, &oas).await;
    let aws = catalog_regions(&cat, "DEDICATED", "AWS");
    // Not in the catalog: the message lists what is.
    let (f, r) = refused_fields(&s, &oas, &pid, dedicated("nowhere", "mars-1")).await;
    assert_eq!(f, vec!["region"]);
    for region in &aws {
        assert!(r.message().contains(region.as_str()), "{}", r.body);
    }
    // A GCP region on AWS, an AWS region on GCP.
    let gcp = catalog_regions(&cat, "DEDICATED", "GCP");
    let (f, _) = refused_fields(&s, &oas, &pid, dedicated("gcp-on-aws", &gcp[0])).await;
    assert_eq!(f, vec!["region"]);
    let on_gcp = with(&dedicated("aws-on-gcp", &aws[0]), "/cloud_provider", json!("GCP"));
    let (f, _) = refused_fields(&s, &oas, &pid, on_gcp).await;
    assert_eq!(f, vec!["region"]);
    // Every offered Dedicated region takes a cluster of sizes it offers: the first TiDB and TiKV
    // sizes that keep the 4-vCPU rule together. No refusal is excused.
    let mut created = 0;
    for (provider, regions) in [("AWS", &aws), ("GCP", &gcp)] {
        for region in regions.iter() {
            let e = entry(&cat, "DEDICATED", provider, region);
            let (tidbs, tikvs) = (e["tidb"].as_array().unwrap(), e["tikv"].as_array().unwrap());
            let size = |p: &Value| vcpus(p["node_size"].as_str().unwrap());
            let (db, kv) = tidbs
                .iter()
                .flat_map(|db| tikvs.iter().map(move |kv| (db, kv)))
                .find(|(db, kv)| !((size(db) == Some(4) || size(kv) == Some(4)) && size(db) != size(kv)))
                .unwrap_or_else(|| panic!("{provider} {region} offers no TiDB and TiKV sizes that go together: {e}"));
            let body = json!({
                "name": format!("c-{region}"), "cluster_type": "DEDICATED", "cloud_provider": provider, "region": region,
                "config": {"root_password": "a-good-password", "components": {
                    "tidb": {"node_size": db["node_size"], "node_quantity": db["node_quantity_range"]["min"]},
                    "tikv": {"node_size": kv["node_size"], "storage_size_gib": kv["storage_size_gib_range"]["min"],
                             "node_quantity": kv["node_quantity_range"]["min"]}}}});
            let r = s.post(&clusters(&pid), body.clone()).await;
            assert_eq!(r.status, 200, "{provider} {region} refused a cluster of sizes it offers: {body}: {}", r.body);
            ok(&oas, "CreateCluster", &r);
            created += 1;
        }
    }
    assert_eq!(created, aws.len() + gcp.len(), "a cluster in every offered Dedicated region");
    // Enum values outside the OAS.
    let r =
        s.post(&clusters(&pid), with(&dedicated("bad-type", "us-west-2"), "/cluster_type", json!("SERVERLESS"))).await;
    let msg = err(&oas, "CreateCluster", &r, 400, ErrorCode::InvalidField.code());
    assert!(msg.starts_with("cluster_type") && msg.contains("SERVERLESS"), "{msg}");
    let r =
        s.post(&clusters(&pid), with(&dedicated("bad-cloud", "us-west-2"), "/cloud_provider", json!("AZURE"))).await;
    let msg = err(&oas, "CreateCluster", &r, 400, ErrorCode::InvalidField.code());
    assert!(msg.starts_with("cloud_provider") && msg.contains("AZURE"), "{msg}");
}

#[tokio::test]
async fn developer_clusters_listen_on_4000_only() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let cat = catalog(&s, &oas).await;
    let base = oas_serverless_example();
    for port in [5000, 1024, 4001] {
        let (f, r) = refused_fields(&s, &oas, &pid, with(&base, "/config/port", json!(port))).await;
        assert_eq!(f, vec!["config.port"], "{port}");
        assert!(r.message().contains("4000"), "{}", r.body);
    }
    let cid = create_cluster(&s, &oas, &pid, with(&base, "/config/port", json!(4000))).await;
    assert_eq!(get_cluster(&s, &oas, &pid, &cid).await["config"]["port"], 4000);
    // Serverless is offered where the catalog says, and not on GCP.
    for region in catalog_regions(&cat, "DEVELOPER", "AWS") {
        let body = with(&with(&base, "/region", json!(region)), "/name", json!(format!("dev-{region}")));
        create_cluster(&s, &oas, &pid, body).await;
    }
    if catalog_regions(&cat, "DEVELOPER", "GCP").is_empty() {
        let gcp = with(&with(&base, "/cloud_provider", json!("GCP")), "/region", json!("us-central1"));
        let (f, r) = refused_fields(&s, &oas, &pid, gcp).await;
        assert_eq!(f, vec!["region"]);
        assert!(r.message().contains("DEVELOPER") && r.message().contains("GCP"), "{}", r.body);
    }
}

#[tokio::test]
async fn ip_access_lists_take_cidr_blocks() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let base = dedicated("cidr", "us-west-2");
    for bad in ["8.8.8.8", "8.8.8.8/33", "300.1.1.1/32", "x/1", "2001:db8::/129", "1.2.3.4/-1", ""] {
        let body =
            with(&base, "/config/ip_access_list", json!([{"cidr": "10.0.0.0/8"}, {"cidr": bad, "description": "d"}]));
        let (f, _) = refused_fields(&s, &oas, &pid, body).await;
        assert_eq!(f, vec!["config.ip_access_list[1].cidr"], "{bad:?}");
    }
    let long = with(&base, "/config/ip_access_list", json!([{"cidr": "10.0.0.0/8", "description": "d".repeat(257)}]));
    let (f, _) = refused_fields(&s, &oas, &pid, long).await;
    assert_eq!(f, vec!["config.ip_access_list[0].description"]);
    let many: Vec<Value> = (0..101).map(|i| json!({"cidr": format!("10.0.{i}.0/24")})).collect();
    let (f, _) = refused_fields(&s, &oas, &pid, with(&base, "/config/ip_access_list", json!(many))).await;
    assert_eq!(f, vec!["config.ip_access_list"]);
    let r = s.post(&clusters(&pid), with(&base, "/config/ip_access_list", json!([{"description": "no cidr"}]))).await;
    let msg = err(&oas, "CreateCluster", &r, 400, ErrorCode::MissingField.code());
    assert!(msg.starts_with("config.ip_access_list[0].cidr"), "{msg}");
    let good =
        json!([{"cidr": "0.0.0.0/0"}, {"cidr": "10.0.0.0/8", "description": "office"}, {"cidr": "2001:db8::/32"}]);
    create_cluster(&s, &oas, &pid, with(&base, "/config/ip_access_list", good)).await;
    create_cluster(
        &s,
        &oas,
        &pid,
        with(&with(&base, "/config/ip_access_list", json!([])), "/name", json!("cidr-empty")),
    )
    .await;
}

#[tokio::test]
async fn every_broken_rule_is_named_at_once() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let mut body = dedicated("x", "us-west-2");
    set(&mut body, "/config/root_password", json!("short"));
    set(&mut body, "/config/port", json!(10080));
    set(&mut body, "/config/components/tikv/node_quantity", json!(4));
    set(&mut body, "/config/ip_access_list/0/cidr", json!("8.8.8.8"));
    let (f, r) = refused_fields(&s, &oas, &pid, body).await;
    for field in [
        "name",
        "config.root_password",
        "config.port",
        "config.ip_access_list[0].cidr",
        "config.components.tikv.node_quantity",
    ] {
        assert!(f.contains(&field.to_owned()), "{field} is named: {f:?}");
    }
    assert!(r.message().starts_with(&format!("{}: ", f[0])), "the message is the first detail: {}", r.body);
    assert!(r.message().contains(&format!("and {} more", f.len() - 1)), "{}", r.body);
    let r = s.get(&clusters(&pid)).await;
    assert_eq!(ok(&oas, "ListClustersOfProject", &r)["total"], 0);
}

#[tokio::test]
async fn create_bodies_are_checked_field_by_field() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let base = dedicated("shape", "us-west-2");
    for (body, code, field) in [
        (without(&base, "/config"), ErrorCode::MissingField.code(), "config"),
        (without(&base, "/name"), ErrorCode::MissingField.code(), "name"),
        (without(&base, "/region"), ErrorCode::MissingField.code(), "region"),
        (without(&base, "/cluster_type"), ErrorCode::MissingField.code(), "cluster_type"),
        (without(&base, "/cloud_provider"), ErrorCode::MissingField.code(), "cloud_provider"),
        (without(&base, "/config/root_password"), ErrorCode::MissingField.code(), "config.root_password"),
        (
            without(&base, "/config/components/tikv/storage_size_gib"),
            ErrorCode::MissingField.code(),
            "config.components.tikv.storage_size_gib",
        ),
        (with(&base, "/config/paused", json!(false)), ErrorCode::InvalidField.code(), "config.paused"),
        (with(&base, "/extra", json!(1)), ErrorCode::InvalidField.code(), "extra"),
        (
            with(&base, "/config/components/tidb/node_quantity", json!("2")),
            ErrorCode::InvalidField.code(),
            "config.components.tidb.node_quantity",
        ),
        (
            with(&base, "/config/components/tikv/node_quantity", json!(3.5)),
            ErrorCode::InvalidField.code(),
            "config.components.tikv.node_quantity",
        ),
        (with(&base, "/name", json!(1234)), ErrorCode::InvalidField.code(), "name"),
    ] {
        let r = s.post(&clusters(&pid), body.clone()).await;
        let msg = err(&oas, "CreateCluster", &r, 400, code);
        assert!(msg.starts_with(field), "{field}: {msg}");
    }
    let path = clusters(&pid);
    let r = s.raw(Method::POST, &path, Some("application/json"), "{\"name\":").await;
    err(&oas, "CreateCluster", &r, 400, ErrorCode::MalformedJson.code());
    let r = s.raw(Method::POST, &path, None, "name=form-data").await;
    err(&oas, "CreateCluster", &r, 400, ErrorCode::MalformedJson.code());
    let r = s.raw(Method::POST, &path, Some("application/json"), "").await;
    err(&oas, "CreateCluster", &r, 400, ErrorCode::MalformedJson.code());
    let huge = with(&base, "/config/ip_access_list/0/description", json!("d".repeat(70_000)));
    let r = s.raw(Method::POST, &path, Some("application/json"), &huge.to_string()).await;
    err(&oas, "CreateCluster", &r, 400, ErrorCode::PayloadTooLarge.code());
    let r = s.get(&clusters(&pid)).await;
    assert_eq!(ok(&oas, "ListClustersOfProject", &r)["total"], 0, "nothing was created");
}

// ------------------------------------------------------------------ list

#[tokio::test]
async fn clusters_are_listed_page_by_page() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let other = create_project(&s, &oas, "other", false).await;
    let r = s.get(&clusters(&pid)).await;
    let empty = ok(&oas, "ListClustersOfProject", &r);
    assert_eq!((&empty["total"], &empty["items"]), (&json!(0), &json!([])));

    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(create_cluster(&s, &oas, &pid, dedicated(&format!("list-{i:02}"), "us-west-2")).await);
    }
    create_cluster(&s, &oas, &other, dedicated("elsewhere", "us-west-2")).await;
    let r = s.get(&clusters(&pid)).await;
    let first = ok(&oas, "ListClustersOfProject", &r).clone();
    assert_eq!(first["total"], 12, "only this project's clusters");
    assert_eq!(first["items"].as_array().unwrap().len(), 10, "default page size 10");
    let r = s.get(&format!("{}?page=2", clusters(&pid))).await;
    let second = ok(&oas, "ListClustersOfProject", &r).clone();
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    let listed: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted_ids = ids.clone();
    sorted_ids.sort();
    let mut sorted_listed = listed.clone();
    sorted_listed.sort();
    assert_eq!(sorted_listed, sorted_ids, "every cluster once");
    let mut by5 = Vec::new();
    for page in 1..=3 {
        let r = s.get(&format!("{}?page={page}&page_size=5", clusters(&pid))).await;
        let p = ok(&oas, "ListClustersOfProject", &r);
        assert_eq!(p["total"], 12);
        by5.extend(p["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()));
    }
    assert_eq!(by5, listed, "the same order whatever the page size");
    let r = s.get(&format!("{}?page=9", clusters(&pid))).await;
    assert_eq!(ok(&oas, "ListClustersOfProject", &r)["items"], json!([]));
    // Items are the GetCluster shape, and each item agrees with its GetCluster.
    for item in first["items"].as_array().unwrap() {
        assert_eq!(item["project_id"], pid.as_str());
        assert_status_shape(item);
    }
    for cid in &ids {
        wait_status(&s, &oas, &pid, cid, "AVAILABLE").await;
    }
    let r = s.get(&format!("{}?page_size=100", clusters(&pid))).await;
    for item in ok(&oas, "ListClustersOfProject", &r)["items"].as_array().unwrap() {
        let one = get_cluster(&s, &oas, &pid, item["id"].as_str().unwrap()).await;
        assert_eq!(item, &one);
    }
    assert_eq!(cluster_count(&s, &oas, &pid).await, 12);
    assert_eq!(cluster_count(&s, &oas, &other).await, 1);
    // Bad page values.
    for q in ["page=0", "page_size=0", "page_size=101", "page=x"] {
        let r = s.get(&format!("{}?{q}", clusters(&pid))).await;
        err(&oas, "ListClustersOfProject", &r, 400, ErrorCode::InvalidQuery.code());
    }
}

/// The list is answered from a cache while nothing changed (crates/cmek-server/src/list_cache.rs):
/// a transition that comes due while nobody writes, and every write, show in the very next list.
#[tokio::test]
async fn the_clusters_list_follows_time_and_writes() {
    let oas = Oas::load();
    let dir = tempfile::tempdir().unwrap();
    let f = FrozenServer::with_transitions(dir.path(), "4").await;
    let r = f.post(&projects(), json!({"name": "cached", "aws_cmek_enabled": false})).await;
    let pid = ok(&oas, "CreateProject", &r)["id"].as_str().unwrap().to_owned();
    let list = |page_size: u32| {
        let (f, oas, pid) = (&f, &oas, pid.clone());
        async move {
            let r = f.get(&format!("{}?page_size={page_size}", clusters(&pid))).await;
            ok(oas, "ListClustersOfProject", &r).clone()
        }
    };
    let statuses =
        |l: &Value| -> Vec<String> { l["items"].as_array().unwrap().iter().map(|c| status_of(c).to_owned()).collect() };
    assert_eq!(list(10).await["total"], 0);

    // A write: the empty answer is not served again.
    let r = f.post(&clusters(&pid), dedicated("cached-1", "us-west-2")).await;
    let cid = ok(&oas, "CreateCluster", &r)["id"].as_str().unwrap().to_owned();
    let first = list(10).await;
    assert_eq!((first["total"].clone(), statuses(&first)), (json!(1), vec!["CREATING".to_owned()]));
    assert_eq!(list(10).await, first, "asked again, the same answer");

    // Time alone: the list never lags behind GetCluster (which reads the row afresh), not even
    // in the second before the server's background tick records the finished transition.
    let mut seen = Vec::new();
    for _ in 0..600 {
        let one = f.get(&cluster(&pid, &cid)).await;
        let one = ok(&oas, "GetCluster", &one).clone();
        let l = list(10).await;
        let s = statuses(&l);
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        if status_of(&one) == "AVAILABLE" {
            assert_eq!(&l["items"][0], &one, "the list, asked after GetCluster, agrees with it");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, [["CREATING"], ["AVAILABLE"]], "statuses the list went through");

    // Writes: pause, another cluster, a delete — each shows in the next list, whatever the page size.
    let r = f.patch(&cluster(&pid, &cid), json!({"config": {"paused": true}})).await;
    ok(&oas, "UpdateCluster", &r);
    assert_eq!(statuses(&list(10).await), ["PAUSING"]);
    assert_eq!(statuses(&list(1).await), ["PAUSING"]);
    let r = f.post(&clusters(&pid), dedicated("cached-2", "us-west-2")).await;
    let second = ok(&oas, "CreateCluster", &r)["id"].as_str().unwrap().to_owned();
    assert_eq!(list(10).await["total"], 2);
    assert_eq!(list(1).await["total"], 2);
    let r = f.delete(&cluster(&pid, &cid)).await;
    ok(&oas, "DeleteCluster", &r);
    let after = list(10).await;
    assert_eq!((after["total"].clone(), after["items"][0]["id"].clone()), (json!(1), json!(second)));
    f.kill().await;
}

// ------------------------------------------------------------------ update

#[tokio::test]
async fn patch_sets_paused_or_components_never_both_nor_neither() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let cid = create_cluster(&s, &oas, &pid, dedicated("patchy", "us-west-2")).await;
    wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    for paused in [true, false] {
        let body = json!({"config": {"paused": paused, "components": {"tidb": {"node_quantity": 3}}}});
        let r = patch_cluster(&s, &oas, &pid, &cid, body).await;
        let msg = err(&oas, "UpdateCluster", &r, 400, ErrorCode::UpdateConflictingFields.code());
        assert!(msg.contains("config.paused") && msg.contains("config.components"), "{msg}");
    }
    for body in [
        json!({"config": {}}),
        json!({"config": {"paused": null}}),
        json!({"config": {"components": null}}),
        json!({"config": {"paused": null, "components": null}}),
    ] {
        let r = patch_cluster(&s, &oas, &pid, &cid, body.clone()).await;
        let msg = err(&oas, "UpdateCluster", &r, 400, ErrorCode::UpdateEmpty.code());
        assert!(msg.contains("config.paused") && msg.contains("config.components"), "{body}: {msg}");
    }
    let r = patch_cluster(&s, &oas, &pid, &cid, json!({})).await;
    let msg = err(&oas, "UpdateCluster", &r, 400, ErrorCode::MissingField.code());
    assert!(msg.starts_with("config"), "{msg}");
    for (body, field) in [
        (json!({"config": {"paused": "yes"}}), "config.paused"),
        (json!({"config": {"pause": true}}), "config.pause"),
        (json!({"config": {"components": {"tikv": {"storage": 10}}}}), "config.components.tikv.storage"),
    ] {
        let r = patch_cluster(&s, &oas, &pid, &cid, body.clone()).await;
        let msg = err(&oas, "UpdateCluster", &r, 400, ErrorCode::InvalidField.code());
        assert!(msg.starts_with(field), "{body}: {msg}");
    }
    let r = s.raw(Method::PATCH, &cluster(&pid, &cid), None, "config.paused=true").await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::MalformedJson.code());
    let r = s.raw(Method::PATCH, &cluster(&pid, &cid), Some("application/json"), "{").await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::MalformedJson.code());
    // None of that changed the cluster.
    let c = get_cluster(&s, &oas, &pid, &cid).await;
    assert_eq!(status_of(&c), "AVAILABLE");
    assert_eq!(c["config"]["components"], oas_dedicated_example()["config"]["components"]);
}

#[tokio::test]
async fn an_empty_components_change_is_nothing_to_change() {
    // `components: {}` changes nothing: it must not put the cluster through MODIFYING.
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let cid = create_cluster(&s, &oas, &pid, dedicated("noop", "us-west-2")).await;
    wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    let r = patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"components": {}}})).await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::UpdateEmpty.code());
}

#[tokio::test]
async fn pause_and_resume_follow_the_lifecycle() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let cid = create_cluster(&s, &oas, &pid, dedicated("lifecycle", "us-west-2")).await;
    watch(&s, &oas, &pid, &cid, &["CREATING", "AVAILABLE"]).await;

    // Resume only from PAUSED.
    let r = patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"paused": false}})).await;
    let msg = err(&oas, "UpdateCluster", &r, 400, ErrorCode::ClusterStateConflict.code());
    assert!(msg.contains("PAUSED") && msg.contains("AVAILABLE"), "{msg}");

    // Pause from AVAILABLE: PAUSING, then PAUSED.
    let r = patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"paused": true}})).await;
    assert_eq!(ok(&oas, "UpdateCluster", &r), &json!({}));
    let c = get_cluster(&s, &oas, &pid, &cid).await;
    assert!(["PAUSING", "PAUSED"].contains(&status_of(&c)), "after a pause: {c}");
    // Pausing again is refused, whether it is still PAUSING or already PAUSED.
    let r = patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"paused": true}})).await;
    let msg = err(&oas, "UpdateCluster", &r, 400, ErrorCode::ClusterStateConflict.code());
    assert!(msg.contains("AVAILABLE"), "{msg}");
    watch(&s, &oas, &pid, &cid, &["PAUSING", "PAUSED"]).await;

    // A PAUSED cluster cannot be paused or scaled.
    let r = patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"paused": true}})).await;
    let msg = err(&oas, "UpdateCluster", &r, 400, ErrorCode::ClusterStateConflict.code());
    assert!(msg.contains("PAUSED"), "{msg}");
    let r =
        patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"components": {"tidb": {"node_quantity": 3}}}})).await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::ClusterStateConflict.code());
    assert_eq!(get_cluster(&s, &oas, &pid, &cid).await["config"]["components"]["tidb"]["node_quantity"], 2);

    // Resume from PAUSED: RESUMING, then AVAILABLE.
    let r = patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"paused": false}})).await;
    assert_eq!(ok(&oas, "UpdateCluster", &r), &json!({}));
    let c = get_cluster(&s, &oas, &pid, &cid).await;
    assert!(["RESUMING", "AVAILABLE"].contains(&status_of(&c)), "after a resume: {c}");
    let r = patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"paused": false}})).await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::ClusterStateConflict.code());
    watch(&s, &oas, &pid, &cid, &["RESUMING", "AVAILABLE"]).await;

    // And round again.
    let r = patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"paused": true}})).await;
    ok(&oas, "UpdateCluster", &r);
    wait_status(&s, &oas, &pid, &cid, "PAUSED").await;
}

#[tokio::test]
async fn components_change_from_available_and_storage_only_grows() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let cat = catalog(&s, &oas).await;
    let west = entry(&cat, "DEDICATED", "AWS", "us-west-2");
    let cid = create_cluster(&s, &oas, &pid, dedicated("scale", "us-west-2")).await;
    let before = wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    let old = before["config"]["components"].clone();
    let old_gib = old["tikv"]["storage_size_gib"].as_i64().unwrap();
    let old_q = old["tikv"]["node_quantity"].as_i64().unwrap();
    let step = profile(west, "tikv", old["tikv"]["node_size"].as_str().unwrap())["node_quantity_range"]["step"]
        .as_i64()
        .unwrap();

    // Shrinking storage is refused, and nothing changes.
    let r = patch_cluster(
        &s,
        &oas,
        &pid,
        &cid,
        json!({"config": {"components": {"tikv": {"storage_size_gib": old_gib - 1}}}}),
    )
    .await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::ValidationFailed.code());
    let d = detail_for(&r, "config.components.tikv.storage_size_gib");
    assert!(d.contains("only grow") && d.contains(&old_gib.to_string()), "{d}");
    // TiKV by a quantity that is not a multiple of the step.
    let r =
        patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"components": {"tikv": {"node_quantity": old_q + 1}}}}))
            .await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::ValidationFailed.code());
    assert_eq!(detail_fields(&r), vec!["config.components.tikv.node_quantity"]);
    // A size the region does not offer; a 4-vCPU TiDB beside bigger TiKV nodes.
    let r =
        patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"components": {"tidb": {"node_size": "5C5G"}}}})).await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::ValidationFailed.code());
    assert_eq!(detail_fields(&r), vec!["config.components.tidb.node_size"]);
    let four =
        west["tidb"].as_array().unwrap().iter().find(|p| vcpus(p["node_size"].as_str().unwrap()) == Some(4)).unwrap();
    let r = patch_cluster(
        &s,
        &oas,
        &pid,
        &cid,
        json!({"config": {"components": {"tidb": {"node_size": four["node_size"]}}}}),
    )
    .await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::ValidationFailed.code());
    assert_eq!(detail_fields(&r), vec!["config.components.tikv.node_size"]);
    // TiFlash from nothing needs all three fields.
    let r =
        patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"components": {"tiflash": {"node_quantity": 1}}}})).await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::ValidationFailed.code());
    assert_eq!(detail_fields(&r), vec!["config.components.tiflash"]);
    let r =
        patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"components": {"tidb": {"accesspoint_id": "ap-1"}}}}))
            .await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::ValidationFailed.code());
    assert_eq!(detail_fields(&r), vec!["config.components.tidb.accesspoint_id"]);
    let c = get_cluster(&s, &oas, &pid, &cid).await;
    assert_eq!(status_of(&c), "AVAILABLE", "refused changes leave the cluster as it was");
    assert_eq!(c["config"]["components"], old);

    // Grow storage and TiKV 3 → 6 (one step more): MODIFYING, then AVAILABLE with the new nodes.
    let new_gib = old_gib * 2;
    let new_q = old_q + step;
    let change = json!({"config": {"components": {"tikv": {"storage_size_gib": new_gib, "node_quantity": new_q}}}});
    let r = patch_cluster(&s, &oas, &pid, &cid, change).await;
    assert_eq!(ok(&oas, "UpdateCluster", &r), &json!({}));
    let c = get_cluster(&s, &oas, &pid, &cid).await;
    assert!(["MODIFYING", "AVAILABLE"].contains(&status_of(&c)), "{c}");
    assert_status_shape(&c);
    watch(&s, &oas, &pid, &cid, &["MODIFYING", "AVAILABLE"]).await;
    let c = get_cluster(&s, &oas, &pid, &cid).await;
    assert_eq!(c["config"]["components"]["tikv"]["storage_size_gib"], new_gib);
    assert_eq!(c["config"]["components"]["tikv"]["node_quantity"], new_q);
    assert_eq!(c["config"]["components"]["tikv"]["node_size"], old["tikv"]["node_size"], "untouched fields stay");
    assert_eq!(c["config"]["components"]["tidb"], old["tidb"]);
    assert_eq!(c["status"]["node_map"]["tikv"].as_array().unwrap().len() as i64, new_q);
    assert_status_shape(&c);
    // Shrinking back below the new size is refused.
    let r =
        patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"components": {"tikv": {"storage_size_gib": old_gib}}}}))
            .await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::ValidationFailed.code());

    // TiDB up, and TiFlash added with all three fields.
    let flash = &west["tiflash"][0];
    let change = json!({"config": {"components": {
        "tidb": {"node_size": west["tidb"].as_array().unwrap().last().unwrap()["node_size"], "node_quantity": 3},
        "tiflash": {"node_size": flash["node_size"], "storage_size_gib": flash["storage_size_gib_range"]["min"], "node_quantity": 2}}}});
    let r = patch_cluster(&s, &oas, &pid, &cid, change.clone()).await;
    ok(&oas, "UpdateCluster", &r);
    let c = wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    assert_eq!(c["config"]["components"]["tidb"], change["config"]["components"]["tidb"]);
    assert_eq!(c["config"]["components"]["tiflash"], change["config"]["components"]["tiflash"]);
    assert_status_shape(&c);
}

#[tokio::test]
async fn of_two_concurrent_resumes_exactly_one_starts_the_cluster() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let cid = create_cluster(&s, &oas, &pid, dedicated("racer", "us-west-2")).await;
    wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    let path = cluster(&pid, &cid);
    for round in 0..3 {
        let (a, b) = tokio::join!(
            s.patch(&path, json!({"config": {"paused": true}})),
            s.patch(&path, json!({"config": {"paused": true}}))
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [200, 400], "round {round}, pause: {} / {}", a.body, b.body);
        for r in [&a, &b] {
            verify(&oas, "UpdateCluster", r);
            if r.status == 400 {
                err(&oas, "UpdateCluster", r, 400, ErrorCode::ClusterStateConflict.code());
            }
        }
        wait_status(&s, &oas, &pid, &cid, "PAUSED").await;
        let (a, b) = tokio::join!(
            s.patch(&path, json!({"config": {"paused": false}})),
            s.patch(&path, json!({"config": {"paused": false}}))
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [200, 400], "round {round}, resume: {} / {}", a.body, b.body);
        for r in [&a, &b] {
            verify(&oas, "UpdateCluster", r);
            if r.status == 400 {
                err(&oas, "UpdateCluster", r, 400, ErrorCode::ClusterStateConflict.code());
            }
        }
        wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    }
}

#[tokio::test]
async fn a_serverless_cluster_has_no_components_to_change() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let cid = create_cluster(&s, &oas, &pid, oas_serverless_example()).await;
    wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    let r =
        patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"components": {"tidb": {"node_quantity": 2}}}})).await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::ValidationFailed.code());
    assert_eq!(detail_fields(&r), vec!["config.components"]);
}

// ------------------------------------------------------------------ delete and ids

#[tokio::test]
async fn a_deleted_cluster_is_gone() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let keep = create_cluster(&s, &oas, &pid, dedicated("keep", "us-west-2")).await;
    let gone = create_cluster(&s, &oas, &pid, dedicated("gone", "us-west-2")).await;
    wait_status(&s, &oas, &pid, &gone, "AVAILABLE").await;
    assert_eq!(cluster_count(&s, &oas, &pid).await, 2);
    let r = s.delete(&cluster(&pid, &gone)).await;
    assert_eq!(ok(&oas, "DeleteCluster", &r), &json!({}));
    let r = s.get(&cluster(&pid, &gone)).await;
    let msg = err(&oas, "GetCluster", &r, 404, ErrorCode::ClusterNotFound.code());
    assert!(msg.contains(&gone), "{msg}");
    let r = s.delete(&cluster(&pid, &gone)).await;
    err(&oas, "DeleteCluster", &r, 404, ErrorCode::ClusterNotFound.code());
    let r = s.patch(&cluster(&pid, &gone), json!({"config": {"paused": true}})).await;
    err(&oas, "UpdateCluster", &r, 404, ErrorCode::ClusterNotFound.code());
    let r = s.get(&clusters(&pid)).await;
    let page = ok(&oas, "ListClustersOfProject", &r);
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], keep.as_str());
    assert_eq!(cluster_count(&s, &oas, &pid).await, 1);
    // A cluster can be deleted in any state, a PAUSED one too.
    wait_status(&s, &oas, &pid, &keep, "AVAILABLE").await;
    ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &pid, &keep, json!({"config": {"paused": true}})).await);
    wait_status(&s, &oas, &pid, &keep, "PAUSED").await;
    ok(&oas, "DeleteCluster", &s.delete(&cluster(&pid, &keep)).await);
    assert_eq!(cluster_count(&s, &oas, &pid).await, 0);
    // Ids are not reused.
    let again = create_cluster(&s, &oas, &pid, dedicated("gone", "us-west-2")).await;
    assert!(again != gone && again != keep);
}

#[tokio::test]
async fn unknown_ids_are_404_and_malformed_ids_400() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let other = create_project(&s, &oas, "other", false).await;
    let cid = create_cluster(&s, &oas, &pid, dedicated("mine", "us-west-2")).await;
    wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    let missing_project = (other.parse::<u64>().unwrap() + 1000).to_string();
    let missing_cluster = (cid.parse::<u64>().unwrap() + 1000).to_string();
    let pause = json!({"config": {"paused": true}});

    // Unknown project.
    for pid in [missing_project.as_str(), "0", "18446744073709551615"] {
        let r = s.get(&clusters(pid)).await;
        err(&oas, "ListClustersOfProject", &r, 404, ErrorCode::ProjectNotFound.code());
        let r = s.post(&clusters(pid), dedicated("x-proj", "us-west-2")).await;
        err(&oas, "CreateCluster", &r, 404, ErrorCode::ProjectNotFound.code());
        let r = s.get(&cluster(pid, &cid)).await;
        err(&oas, "GetCluster", &r, 404, ErrorCode::ProjectNotFound.code());
        let r = s.patch(&cluster(pid, &cid), pause.clone()).await;
        err(&oas, "UpdateCluster", &r, 404, ErrorCode::ProjectNotFound.code());
        let r = s.delete(&cluster(pid, &cid)).await;
        err(&oas, "DeleteCluster", &r, 404, ErrorCode::ProjectNotFound.code());
    }
    // Unknown cluster, and a cluster under the wrong project.
    for (p, c) in [(pid.as_str(), missing_cluster.as_str()), (other.as_str(), cid.as_str()), (pid.as_str(), "0")] {
        let r = s.get(&cluster(p, c)).await;
        let msg = err(&oas, "GetCluster", &r, 404, ErrorCode::ClusterNotFound.code());
        assert!(msg.contains(c) && msg.contains(p), "{msg}");
        let r = s.patch(&cluster(p, c), pause.clone()).await;
        err(&oas, "UpdateCluster", &r, 404, ErrorCode::ClusterNotFound.code());
        let r = s.delete(&cluster(p, c)).await;
        err(&oas, "DeleteCluster", &r, 404, ErrorCode::ClusterNotFound.code());
    }
    // The wrong-project PATCH and DELETE did nothing to the cluster.
    let c = get_cluster(&s, &oas, &pid, &cid).await;
    assert_eq!(status_of(&c), "AVAILABLE");
    let r = s.get(&clusters(&other)).await;
    assert_eq!(ok(&oas, "ListClustersOfProject", &r)["total"], 0);

    // Ids that are not decimal uint64.
    for bad in ["abc", "-1", "1.5", "18446744073709551616", "1e3", "%20"] {
        let r = s.get(&clusters(bad)).await;
        err(&oas, "ListClustersOfProject", &r, 400, ErrorCode::InvalidPathId.code());
        assert_eq!(detail_fields(&r), vec!["project_id"]);
        let r = s.post(&clusters(bad), dedicated("x-bad", "us-west-2")).await;
        err(&oas, "CreateCluster", &r, 400, ErrorCode::InvalidPathId.code());
        for (p, c, field) in [(bad, cid.as_str(), "project_id"), (pid.as_str(), bad, "cluster_id")] {
            let r = s.get(&cluster(p, c)).await;
            err(&oas, "GetCluster", &r, 400, ErrorCode::InvalidPathId.code());
            assert_eq!(detail_fields(&r), vec![field], "{p}/{c}");
            let r = s.patch(&cluster(p, c), pause.clone()).await;
            err(&oas, "UpdateCluster", &r, 400, ErrorCode::InvalidPathId.code());
            let r = s.delete(&cluster(p, c)).await;
            err(&oas, "DeleteCluster", &r, 400, ErrorCode::InvalidPathId.code());
        }
    }
    assert_eq!(status_of(&get_cluster(&s, &oas, &pid, &cid).await), "AVAILABLE");
}

#[tokio::test]
async fn a_cluster_id_that_is_not_utf8_is_an_error_response() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = project(&s, &oas).await;
    let r = s.get(&cluster(&pid, "%FF")).await;
    err(&oas, "GetCluster", &r, 400, ErrorCode::InvalidPathId.code());
    let r = s.delete(&cluster(&pid, "%C3%28")).await;
    err(&oas, "DeleteCluster", &r, 400, ErrorCode::InvalidPathId.code());
}

// ------------------------------------------------------------------ transitional states, frozen

#[tokio::test]
async fn transitional_states_refuse_what_they_must() {
    let oas = Oas::load();
    let dir = tempfile::tempdir().unwrap();
    // A normal server brings clusters to AVAILABLE and PAUSED...
    let mut s = Server::start_in(dir.path(), &[]).await;
    let pid = project(&s, &oas).await;
    let to_pause = create_cluster(&s, &oas, &pid, dedicated("to-pause", "us-west-2")).await;
    let to_modify = create_cluster(&s, &oas, &pid, dedicated("to-modify", "us-west-2")).await;
    let to_resume = create_cluster(&s, &oas, &pid, dedicated("to-resume", "us-west-2")).await;
    for cid in [&to_pause, &to_modify, &to_resume] {
        wait_status(&s, &oas, &pid, cid, "AVAILABLE").await;
    }
    ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &pid, &to_resume, json!({"config": {"paused": true}})).await);
    wait_status(&s, &oas, &pid, &to_resume, "PAUSED").await;
    s.kill().await;

    // ...then, on the same data, a server whose transitions take an hour: each transitional
    // status stays put while the rules are tried against it.
    let f = FrozenServer::start_in(dir.path()).await;
    let get = |cid: String| {
        let f = &f;
        let oas = &oas;
        let pid = pid.clone();
        async move {
            let r = f.get(&cluster(&pid, &cid)).await;
            let c = ok(oas, "GetCluster", &r).clone();
            assert_status_shape(&c);
            c
        }
    };
    let patch = |cid: String, body: Value| {
        let f = &f;
        let pid = pid.clone();
        async move { f.patch(&cluster(&pid, &cid), body).await }
    };
    let pause = json!({"config": {"paused": true}});
    let resume = json!({"config": {"paused": false}});
    let scale = json!({"config": {"components": {"tidb": {"node_quantity": 3}}}});

    // CREATING.
    let r = f.post(&clusters(&pid), dedicated("creating", "us-west-2")).await;
    let creating = ok(&oas, "CreateCluster", &r)["id"].as_str().unwrap().to_owned();
    let c = get(creating.clone()).await;
    assert_eq!(status_of(&c), "CREATING");
    assert!(c["status"].get("node_map").is_none() && c["status"].get("connection_strings").is_none(), "{c}");
    for (body, words) in
        [(&pause, ["AVAILABLE", "CREATING"]), (&resume, ["PAUSED", "CREATING"]), (&scale, ["AVAILABLE", "CREATING"])]
    {
        let r = patch(creating.clone(), body.clone()).await;
        let msg = err(&oas, "UpdateCluster", &r, 400, ErrorCode::ClusterStateConflict.code());
        assert!(words.iter().all(|w| msg.contains(w)), "{body}: {msg}");
    }
    assert_eq!(status_of(&get(creating.clone()).await), "CREATING");

    // PAUSING.
    let r = patch(to_pause.clone(), pause.clone()).await;
    assert_eq!(ok(&oas, "UpdateCluster", &r), &json!({}));
    assert_eq!(status_of(&get(to_pause.clone()).await), "PAUSING");
    for body in [&pause, &resume, &scale] {
        let r = patch(to_pause.clone(), body.clone()).await;
        let msg = err(&oas, "UpdateCluster", &r, 400, ErrorCode::ClusterStateConflict.code());
        assert!(msg.contains("PAUSING"), "{body}: {msg}");
    }

    // MODIFYING: the node map is shown, with the new components.
    let r = patch(to_modify.clone(), json!({"config": {"components": {"tikv": {"node_quantity": 6}}}})).await;
    ok(&oas, "UpdateCluster", &r);
    let c = get(to_modify.clone()).await;
    assert_eq!(status_of(&c), "MODIFYING");
    assert!(c["status"]["node_map"].is_object(), "the OAS shows nodes while MODIFYING: {c}");
    assert_eq!(c["config"]["components"]["tikv"]["node_quantity"], 6);
    for body in [&pause, &resume, &scale] {
        let r = patch(to_modify.clone(), body.clone()).await;
        let msg = err(&oas, "UpdateCluster", &r, 400, ErrorCode::ClusterStateConflict.code());
        assert!(msg.contains("MODIFYING"), "{body}: {msg}");
    }

    // RESUMING.
    let r = patch(to_resume.clone(), resume.clone()).await;
    ok(&oas, "UpdateCluster", &r);
    assert_eq!(status_of(&get(to_resume.clone()).await), "RESUMING");
    for body in [&pause, &resume, &scale] {
        let r = patch(to_resume.clone(), body.clone()).await;
        let msg = err(&oas, "UpdateCluster", &r, 400, ErrorCode::ClusterStateConflict.code());
        assert!(msg.contains("RESUMING"), "{body}: {msg}");
    }

    // The list shows the same statuses.
    let r = f.get(&clusters(&pid)).await;
    let listed: Vec<(String, String)> = ok(&oas, "ListClustersOfProject", &r)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_owned(), status_of(c).to_owned()))
        .collect();
    for (cid, status) in
        [(&to_pause, "PAUSING"), (&to_modify, "MODIFYING"), (&to_resume, "RESUMING"), (&creating, "CREATING")]
    {
        assert!(listed.contains(&(cid.clone(), status.to_owned())), "{cid} {status} in {listed:?}");
    }

    // A cluster in a transition can be deleted.
    let r = f.delete(&cluster(&pid, &creating)).await;
    ok(&oas, "DeleteCluster", &r);
    let r = f.get(&cluster(&pid, &creating)).await;
    err(&oas, "GetCluster", &r, 404, ErrorCode::ClusterNotFound.code());
    f.kill().await;

    // Transitions are stored: another frozen server on the same data sees them where they were.
    let f = FrozenServer::start_in(dir.path()).await;
    for (cid, status) in [(&to_pause, "PAUSING"), (&to_modify, "MODIFYING"), (&to_resume, "RESUMING")] {
        let r = f.get(&cluster(&pid, cid)).await;
        assert_eq!(status_of(ok(&oas, "GetCluster", &r)), status);
    }
    let r = f.get(&cluster(&pid, &creating)).await;
    err(&oas, "GetCluster", &r, 404, ErrorCode::ClusterNotFound.code());
    f.kill().await;
}

// ------------------------------------------------------------------ CMEK projects

#[tokio::test]
async fn a_cmek_project_needs_its_key_before_any_cluster() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "cmek", true).await;
    for body in [dedicated("first", "us-west-2"), oas_serverless_example(), dedicated("x", "mars-1")] {
        let r = s.post(&clusters(&pid), body).await;
        let msg = err(&oas, "CreateCluster", &r, 400, ErrorCode::CmekNotConfigured.code());
        assert!(msg.contains("Encryption Access"), "it points at the Encryption Access step: {msg}");
        assert!(msg.contains("aws-cmek"), "and at the API that does it: {msg}");
    }
    let r = s.get(&clusters(&pid)).await;
    assert_eq!(ok(&oas, "ListClustersOfProject", &r)["total"], 0);
}

#[tokio::test]
async fn a_cmek_project_hosts_dedicated_aws_clusters_in_the_key_region_only() {
    let oas = Oas::load();
    let s = Server::start().await;
    let cat = catalog(&s, &oas).await;
    let (pid, ..) = cmek_project_with_key(&s, &oas, "cmek", "us-west-2").await;

    // GCP, or DEVELOPER: not hosted by a CMEK project, each field named.
    let gcp_region = catalog_regions(&cat, "DEDICATED", "GCP")[0].clone();
    let gcp = with(&dedicated("on-gcp", &gcp_region), "/cloud_provider", json!("GCP"));
    let r = s.post(&clusters(&pid), gcp).await;
    let msg = err(&oas, "CreateCluster", &r, 400, ErrorCode::CmekClusterNotAllowed.code());
    assert_eq!(detail_fields(&r), vec!["cloud_provider"]);
    assert!(msg.contains("GCP") && msg.contains("AWS"), "{msg}");
    let r = s.post(&clusters(&pid), oas_serverless_example()).await;
    let msg = err(&oas, "CreateCluster", &r, 400, ErrorCode::CmekClusterNotAllowed.code());
    assert_eq!(detail_fields(&r), vec!["cluster_type"]);
    assert!(msg.contains("DEVELOPER") && msg.contains("DEDICATED"), "{msg}");
    let dev_gcp = with(&with(&oas_serverless_example(), "/cloud_provider", json!("GCP")), "/region", json!(gcp_region));
    let r = s.post(&clusters(&pid), dev_gcp).await;
    err(&oas, "CreateCluster", &r, 400, ErrorCode::CmekClusterNotAllowed.code());
    assert_eq!(detail_fields(&r), vec!["cluster_type", "cloud_provider"]);

    // Another AWS region of the catalog.
    for region in catalog_regions(&cat, "DEDICATED", "AWS").into_iter().filter(|r| r != "us-west-2") {
        let r = s.post(&clusters(&pid), dedicated("elsewhere", &region)).await;
        let msg = err(&oas, "CreateCluster", &r, 400, ErrorCode::CmekClusterRegionMismatch.code());
        assert_eq!(detail_fields(&r), vec!["region"]);
        assert!(msg.contains(&region) && msg.contains("us-west-2"), "{msg}");
    }
    let r = s.get(&clusters(&pid)).await;
    assert_eq!(ok(&oas, "ListClustersOfProject", &r)["total"], 0);

    // The key's region: created, and it becomes AVAILABLE.
    let cid = create_cluster(&s, &oas, &pid, dedicated("encrypted", "us-west-2")).await;
    let c = wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    assert_eq!((c["region"].as_str(), c["cloud_provider"].as_str()), (Some("us-west-2"), Some("AWS")));
    assert_status_shape(&c);
    // The field rules still apply in the right region.
    let r = s.post(&clusters(&pid), with(&dedicated("encrypted-2", "us-west-2"), "/config/port", json!(10080))).await;
    err(&oas, "CreateCluster", &r, 400, ErrorCode::ValidationFailed.code());
}

#[tokio::test]
async fn the_key_is_checked_in_kms_before_create_resume_and_scale() {
    let oas = Oas::load();
    let s = Server::start().await;
    let (pid, kms_arn, key_id) = cmek_project_with_key(&s, &oas, "cmek", "us-west-2").await;
    let running = create_cluster(&s, &oas, &pid, dedicated("running", "us-west-2")).await;
    let paused = create_cluster(&s, &oas, &pid, dedicated("paused", "us-west-2")).await;
    let doomed = create_cluster(&s, &oas, &pid, dedicated("doomed", "us-west-2")).await;
    for cid in [&running, &paused, &doomed] {
        wait_status(&s, &oas, &pid, cid, "AVAILABLE").await;
    }
    ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &pid, &paused, json!({"config": {"paused": true}})).await);
    wait_status(&s, &oas, &pid, &paused, "PAUSED").await;
    let scale = json!({"config": {"components": {"tidb": {"node_quantity": 3}}}});
    let resume = json!({"config": {"paused": false}});

    // The key disabled in KMS.
    key_action(&s, &key_id, "disable", json!({})).await;
    let r = s.post(&clusters(&pid), dedicated("new-one", "us-west-2")).await;
    let msg = err(&oas, "CreateCluster", &r, 400, ErrorCode::KeyDisabled.code());
    assert!(msg.contains(&kms_arn) && msg.contains("creating the cluster"), "{msg}");
    let r = patch_cluster(&s, &oas, &pid, &paused, resume.clone()).await;
    let msg = err(&oas, "UpdateCluster", &r, 400, ErrorCode::KeyDisabled.code());
    assert!(msg.contains("resuming"), "{msg}");
    let r = patch_cluster(&s, &oas, &pid, &running, scale.clone()).await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::KeyDisabled.code());
    // Running clusters are not affected; pausing needs no key.
    assert_eq!(status_of(&get_cluster(&s, &oas, &pid, &running).await), "AVAILABLE");
    assert_eq!(status_of(&get_cluster(&s, &oas, &pid, &paused).await), "PAUSED");

    // Enabled again, but the policy revoked (the user guide's "revoke").
    key_action(&s, &key_id, "enable", json!({})).await;
    put_policy(&s, &key_id, owner_only_policy()).await;
    let r = patch_cluster(&s, &oas, &pid, &paused, resume.clone()).await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::KeyAccessDenied.code());
    assert!(!details(&r).is_empty(), "the causes are in details: {}", r.body);
    let r = s.post(&clusters(&pid), dedicated("new-one", "us-west-2")).await;
    err(&oas, "CreateCluster", &r, 400, ErrorCode::KeyAccessDenied.code());
    let r = patch_cluster(&s, &oas, &pid, &running, scale.clone()).await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::KeyAccessDenied.code());
    let c = get_cluster(&s, &oas, &pid, &running).await;
    assert_eq!(status_of(&c), "AVAILABLE");
    assert_eq!(c["config"]["components"]["tidb"]["node_quantity"], 2, "the refused scale changed nothing");
    ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &pid, &running, json!({"config": {"paused": true}})).await);
    wait_status(&s, &oas, &pid, &running, "PAUSED").await;
    // Nor does deleting.
    ok(&oas, "DeleteCluster", &s.delete(&cluster(&pid, &doomed)).await);
    err(&oas, "GetCluster", &s.get(&cluster(&pid, &doomed)).await, 404, ErrorCode::ClusterNotFound.code());

    // Scheduled for deletion.
    key_action(&s, &key_id, "schedule-deletion", json!({})).await;
    let r = patch_cluster(&s, &oas, &pid, &paused, resume.clone()).await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::KeyPendingDeletion.code());

    // Restored (the user guide's "restore"): everything works again.
    key_action(&s, &key_id, "cancel-deletion", json!({})).await;
    key_action(&s, &key_id, "enable", json!({})).await;
    put_policy(&s, &key_id, good_policy("us-west-2")).await;
    for cid in [&paused, &running] {
        ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &pid, cid, resume.clone()).await);
        wait_status(&s, &oas, &pid, cid, "AVAILABLE").await;
    }
    ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &pid, &running, scale).await);
    let c = wait_status(&s, &oas, &pid, &running, "AVAILABLE").await;
    assert_eq!(c["config"]["components"]["tidb"]["node_quantity"], 3);
    create_cluster(&s, &oas, &pid, dedicated("new-one", "us-west-2")).await;
}
