//! v1beta over real HTTP: projects (list, paging, create and every way a body can be wrong), the
//! provider catalog, and what the API answers for paths and methods it does not have.
mod common;
mod v1beta_support;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};
use v1beta_support::*;

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn list(s: &Server, oas: &Option<Oas>, query: &str) -> Value {
    let r = s.get(&format!("/api/v1beta/projects{query}")).await;
    ok(oas, "ListProjects", &r).clone()
}

async fn total(s: &Server, oas: &Option<Oas>) -> i64 {
    list(s, oas, "").await["total"].as_i64().expect("total is an integer")
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().expect("items").iter().map(|p| p["id"].as_str().expect("id").to_owned()).collect()
}

// ------------------------------------------------------------------ ListProjects

#[tokio::test]
async fn an_empty_server_lists_no_projects() {
    let oas = Oas::load();
    let s = Server::start().await;
    let page = list(&s, &oas, "").await;
    assert_eq!(page["total"], 0);
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn projects_page_with_defaults_of_page_1_and_size_10() {
    let oas = Oas::load();
    let s = Server::start().await;
    let before = unix_now();
    let mut created = Vec::new();
    for i in 0..23 {
        created.push(create_project(&s, &oas, &format!("project-{i:02}"), i % 2 == 0).await);
    }
    let after = unix_now();
    assert_eq!(created.iter().collect::<HashSet<_>>().len(), 23, "ids are unique: {created:?}");

    // No parameters: page 1 of 10.
    let first = list(&s, &oas, "").await;
    assert_eq!(first["total"], 23);
    assert_eq!(ids(&first).len(), 10);
    assert_eq!(list(&s, &oas, "?page=1&page_size=10").await, first, "the defaults are page=1, page_size=10");
    assert_eq!(list(&s, &oas, "?page=1").await, first);
    assert_eq!(list(&s, &oas, "?page_size=10").await, first);

    // Walking the pages the way PingCAP's CLI does visits every project exactly once.
    let mut seen = Vec::new();
    let mut page = 1;
    loop {
        let p = list(&s, &oas, &format!("?page={page}&page_size=10")).await;
        assert_eq!(p["total"], 23, "total is the whole count on every page");
        seen.extend(ids(&p));
        page += 1;
        if (page - 1) * 10 >= p["total"].as_i64().unwrap() {
            break;
        }
    }
    assert_eq!(seen.len(), 23);
    assert_eq!(seen.iter().collect::<HashSet<_>>(), created.iter().collect::<HashSet<_>>());
    assert_eq!(ids(&list(&s, &oas, "?page=3").await).len(), 3, "the last page holds the rest");

    // Another page size cuts the same sequence differently.
    let mut by7 = Vec::new();
    for page in 1..=4 {
        by7.extend(ids(&list(&s, &oas, &format!("?page={page}&page_size=7")).await));
    }
    assert_eq!(by7, seen, "pages of 7 list the same projects in the same order as pages of 10");
    let all = list(&s, &oas, "?page_size=100").await;
    assert_eq!(ids(&all), seen);

    // Past the end: no items, same total.
    let beyond = list(&s, &oas, "?page=4").await;
    assert_eq!(beyond["items"], json!([]));
    assert_eq!(beyond["total"], 23);
    let far = list(&s, &oas, &format!("?page={}&page_size=100", i64::MAX)).await;
    assert_eq!(far["items"], json!([]));
    assert_eq!(far["total"], 23);

    // Each item is the project that was created.
    for item in all["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let n = created.iter().position(|c| c == id).expect("a created id");
        assert_eq!(item["name"], format!("project-{n:02}"), "{item}");
        assert_eq!(item["aws_cmek_enabled"], n % 2 == 0, "{item}");
        assert_eq!(item["cluster_count"], 0);
        assert!(item["org_id"].as_str().is_some_and(|o| o.parse::<u64>().is_ok()), "{item}");
        let ts: i64 = item["create_timestamp"].as_str().expect("a string").parse().expect("Unix seconds");
        assert!((before - 1..=after + 1).contains(&ts), "create_timestamp {ts} is not between {before} and {after}");
    }
}

#[tokio::test]
async fn bad_page_values_are_refused_naming_the_parameter() {
    let oas = Oas::load();
    let s = Server::start().await;
    create_project(&s, &oas, "p", false).await;
    for (query, field) in [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page=", "page"),
        ("page=99999999999999999999", "page"),
        ("page_size=0", "page_size"),
        ("page_size=-5", "page_size"),
        ("page_size=ten", "page_size"),
        ("page_size=101", "page_size"),
    ] {
        let r = s.get(&format!("/api/v1beta/projects?{query}")).await;
        let msg = err(&oas, "ListProjects", &r, 400, ErrorCode::InvalidQuery.code());
        assert!(detail_fields(&r).contains(&field.to_owned()), "{query}: {}", r.body);
        assert!(msg.starts_with(field), "{query}: the message names {field}: {msg}");
    }
    // Both wrong: both named.
    let r = s.get("/api/v1beta/projects?page=x&page_size=0").await;
    err(&oas, "ListProjects", &r, 400, ErrorCode::InvalidQuery.code());
    assert_eq!(detail_fields(&r), vec!["page", "page_size"]);
    // The largest page size is accepted; unknown parameters are ignored.
    let r = s.get("/api/v1beta/projects?page_size=100&other=1").await;
    assert_eq!(ok(&oas, "ListProjects", &r)["total"], 1);
}

// ------------------------------------------------------------------ CreateProject

#[tokio::test]
async fn creates_projects_with_and_without_cmek() {
    let oas = Oas::load();
    let s = Server::start().await;
    // The OAS request example.
    let r = s.post("/api/v1beta/projects", json!({"name": "Project0", "aws_cmek_enabled": false})).await;
    let plain = ok(&oas, "CreateProject", &r)["id"].as_str().unwrap().to_owned();
    let cmek = create_project(&s, &oas, "with-cmek", true).await;
    // aws_cmek_enabled is optional, and null is accepted (changelog 20240416): both mean false.
    let r = s.post("/api/v1beta/projects", json!({"name": "absent"})).await;
    let absent = ok(&oas, "CreateProject", &r)["id"].as_str().unwrap().to_owned();
    let r = s.post("/api/v1beta/projects", json!({"name": "null", "aws_cmek_enabled": null})).await;
    let null = ok(&oas, "CreateProject", &r)["id"].as_str().unwrap().to_owned();

    let page = list(&s, &oas, "").await;
    assert_eq!(page["total"], 4);
    let flag = |id: &str| {
        page["items"].as_array().unwrap().iter().find(|p| p["id"] == id).expect("listed")["aws_cmek_enabled"].clone()
    };
    assert_eq!(flag(&plain), false);
    assert_eq!(flag(&cmek), true);
    assert_eq!(flag(&absent), false);
    assert_eq!(flag(&null), false);
}

#[tokio::test]
async fn project_names_follow_the_rules() {
    let oas = Oas::load();
    let s = Server::start().await;
    let long64 = "n".repeat(64);
    for good in ["a", "Project0", "数据库项目", "<img src=x onerror=alert(1)>", "with inner  spaces", long64.as_str()]
    {
        let id = create_project(&s, &oas, good, false).await;
        let all = list(&s, &oas, "?page_size=100").await;
        let item = all["items"].as_array().unwrap().iter().find(|p| p["id"] == id.as_str()).expect("listed").clone();
        assert_eq!(item["name"], good, "the name is stored as sent");
    }
    let n = total(&s, &oas).await;
    for bad in ["", "   ", " leading", "trailing ", "tab\tinside", "bell\u{7}", &"n".repeat(65)] {
        let r = s.post("/api/v1beta/projects", json!({"name": bad})).await;
        err(&oas, "CreateProject", &r, 400, ErrorCode::ValidationFailed.code());
        assert_eq!(detail_fields(&r), vec!["name"], "{bad:?}: {}", r.body);
    }
    assert_eq!(total(&s, &oas).await, n, "no refused project was created");
}

#[tokio::test]
async fn a_misspelt_field_is_refused_by_name_and_creates_nothing() {
    let oas = Oas::load();
    let s = Server::start().await;
    // A misspelt aws_cmek_enabled must not silently create a project without CMEK.
    let r = s.post("/api/v1beta/projects", json!({"name": "p", "aws_cmek_enable": true})).await;
    let msg = err(&oas, "CreateProject", &r, 400, ErrorCode::InvalidField.code());
    assert!(msg.contains("aws_cmek_enable"), "the message names the unknown field: {msg}");
    assert!(msg.contains("unknown field"), "{msg}");
    assert_eq!(total(&s, &oas).await, 0);
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_refused_by_name() {
    let oas = Oas::load();
    let s = Server::start().await;
    for (body, field) in [
        (json!({"name": 5}), "name"),
        (json!({"name": null}), "name"),
        (json!({"name": ["p"]}), "name"),
        (json!({"name": "p", "aws_cmek_enabled": "true"}), "aws_cmek_enabled"),
        (json!({"name": "p", "aws_cmek_enabled": 1}), "aws_cmek_enabled"),
    ] {
        let r = s.post("/api/v1beta/projects", body.clone()).await;
        let msg = err(&oas, "CreateProject", &r, 400, ErrorCode::InvalidField.code());
        assert!(msg.starts_with(field), "{body}: {msg}");
        assert_eq!(detail_fields(&r), vec![field], "{body}: {}", r.body);
    }
    for body in [json!([]), json!("p"), json!(1)] {
        let r = s.post("/api/v1beta/projects", body.clone()).await;
        err(&oas, "CreateProject", &r, 400, ErrorCode::InvalidField.code());
    }
    for body in [json!({}), json!({"aws_cmek_enabled": true})] {
        let r = s.post("/api/v1beta/projects", body.clone()).await;
        let msg = err(&oas, "CreateProject", &r, 400, ErrorCode::MissingField.code());
        assert!(msg.starts_with("name"), "{body}: {msg}");
        assert_eq!(detail_fields(&r), vec!["name"]);
    }
    assert_eq!(total(&s, &oas).await, 0);
}

#[tokio::test]
async fn bodies_that_are_not_json_are_refused() {
    let oas = Oas::load();
    let s = Server::start().await;
    let path = "/api/v1beta/projects";
    let json_ct = Some("application/json");
    // Not JSON.
    for body in [r#"{"name": "p""#, "name=p", r#"{"name":"p"} trailing"#, "{'name': 'p'}"] {
        let r = s.raw(Method::POST, path, json_ct, body).await;
        let msg = err(&oas, "CreateProject", &r, 400, ErrorCode::MalformedJson.code());
        assert!(msg.contains("JSON"), "{body}: {msg}");
    }
    // Empty.
    for body in ["", "   \n"] {
        let r = s.raw(Method::POST, path, json_ct, body).await;
        let msg = err(&oas, "CreateProject", &r, 400, ErrorCode::MalformedJson.code());
        assert!(msg.contains("empty"), "{msg}");
    }
    // Under another Content-Type, or none, a form body is still not JSON: refused as such.
    for ct in [None, Some("application/x-www-form-urlencoded"), Some("text/plain")] {
        let r = s.raw(Method::POST, path, ct, "name=p").await;
        let msg = err(&oas, "CreateProject", &r, 400, ErrorCode::MalformedJson.code());
        assert!(msg.contains("not valid JSON"), "{ct:?}: {msg}");
    }
    assert_eq!(total(&s, &oas).await, 0, "nothing was created by a refused body");
    // application/json with parameters, in any case, is JSON.
    for ct in ["application/json; charset=utf-8", "Application/JSON"] {
        let r = s.raw(Method::POST, path, Some(ct), r#"{"name":"p"}"#).await;
        ok(&oas, "CreateProject", &r);
    }
    assert_eq!(total(&s, &oas).await, 2);
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused() {
    let oas = Oas::load();
    let s = Server::start().await;
    // One signed request first, so the big body goes out already signed: unsigned, it meets the
    // Digest challenge, answered before the body is read, and the client sees a broken pipe.
    assert_eq!(total(&s, &oas).await, 0);
    let big = json!({"name": "x".repeat(64 * 1024)}).to_string();
    assert!(big.len() > 64 * 1024);
    let r = s.raw(Method::POST, "/api/v1beta/projects", Some("application/json"), &big).await;
    let msg = err(&oas, "CreateProject", &r, 400, ErrorCode::PayloadTooLarge.code());
    assert!(msg.contains("65536"), "the message says the limit: {msg}");
    // Just under the limit the body is read, and the name rule answers.
    let under = json!({"name": "x".repeat(60 * 1024)}).to_string();
    let r = s.raw(Method::POST, "/api/v1beta/projects", Some("application/json"), &under).await;
    err(&oas, "CreateProject", &r, 400, ErrorCode::ValidationFailed.code());
    assert_eq!(total(&s, &oas).await, 0);
}

// ------------------------------------------------------------------ ListProviderRegions

#[tokio::test]
async fn the_provider_catalog_has_dedicated_and_developer_offers() {
    let oas = Oas::load();
    let s = Server::start().await;
    let cat = catalog(&s, &oas).await;
    let items = cat["items"].as_array().expect("items");
    let has = |t: &str, p: &str| items.iter().any(|i| i["cluster_type"] == t && i["cloud_provider"] == p);
    assert!(has("DEDICATED", "AWS"), "AWS Dedicated regions");
    assert!(has("DEDICATED", "GCP"), "GCP Dedicated regions");
    assert!(items.iter().any(|i| i["cluster_type"] == "DEVELOPER"), "Serverless (DEVELOPER) regions");
    let mut keys = HashSet::new();
    for i in items {
        assert!(
            keys.insert((
                i["cluster_type"].clone().to_string(),
                i["cloud_provider"].to_string(),
                i["region"].to_string()
            )),
            "each (type, provider, region) once: {i}"
        );
        for component in ["tidb", "tikv", "tiflash"] {
            for p in i[component].as_array().unwrap_or_else(|| panic!("{component} is an array: {i}")) {
                assert!(p["node_size"].is_string(), "{p}");
                let q = &p["node_quantity_range"];
                assert!(q["min"].as_i64().is_some_and(|m| m >= 0), "{p}");
                assert!(q["step"].as_i64().is_some_and(|st| st >= 1), "{p}");
                assert!(q.get("max").is_none(), "v1beta's quantity range has no max: {p}");
                if component == "tidb" {
                    assert!(p.get("storage_size_gib_range").is_none(), "{p}");
                } else {
                    let st = &p["storage_size_gib_range"];
                    let (min, max) = (st["min"].as_i64().expect("min"), st["max"].as_i64().expect("max"));
                    assert!(0 < min && min <= max, "{p}");
                }
            }
        }
        if i["cluster_type"] == "DEDICATED" {
            assert!(!i["tidb"].as_array().unwrap().is_empty() && !i["tikv"].as_array().unwrap().is_empty(), "{i}");
            for p in i["tikv"].as_array().unwrap() {
                assert_eq!(p["node_quantity_range"]["step"], 3, "TiKV scales in threes: {p}");
                assert_eq!(p["node_quantity_range"]["min"], 3, "{p}");
            }
            for p in i["tidb"].as_array().unwrap().iter().chain(i["tikv"].as_array().unwrap()) {
                let size = p["node_size"].as_str().unwrap();
                assert!(cmek_core::cluster::vcpus(size).is_some(), "Dedicated sizes read <vCPU>C<RAM>G: {size}");
            }
        }
    }
    // The same answer twice: the catalog is fixed.
    assert_eq!(catalog(&s, &oas).await, cat);
}

// ------------------------------------------------------------------ paths and methods

#[tokio::test]
async fn unknown_paths_under_api_answer_404_with_an_error_response() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "p", false).await;
    for (method, path) in [
        (Method::GET, "/api".to_owned()),
        (Method::GET, "/api/nothing".to_owned()),
        (Method::GET, "/api/v1beta".to_owned()),
        (Method::GET, "/api/v1beta/project".to_owned()),
        (Method::GET, "/api/v1beta/projects/".to_owned()),
        (Method::GET, "/api//v1beta/projects".to_owned()),
        (Method::GET, "/api/v1/projects".to_owned()),
        (Method::POST, "/api/v1beta/clusters".to_owned()),
        (Method::GET, format!("/api/v1beta/projects/{pid}/unknown")),
        (Method::GET, format!("/api/v1beta/projects/{pid}/clusters/1/snapshots")),
        (Method::DELETE, format!("/api/v1beta/projects/{pid}")),
    ] {
        let r = s.request(method.clone(), &path, None).await;
        let msg = err(&oas, "ListProjects", &r, 404, ErrorCode::RouteNotFound.code());
        assert!(msg.contains(path.as_str()), "{method} {path}: the message names the path: {msg}");
    }
}

#[tokio::test]
async fn the_api_root_with_a_trailing_slash_is_an_api_404_too() {
    // `/api/` is under /api like `/api/x`: it must not fall through to the console.
    let oas = Oas::load();
    let s = Server::start().await;
    for method in [Method::GET, Method::POST] {
        let r = s.request(method.clone(), "/api/", None).await;
        err(&oas, "ListProjects", &r, 404, ErrorCode::RouteNotFound.code());
    }
}

#[tokio::test]
async fn a_wrong_method_answers_405_with_an_error_response() {
    let oas = Oas::load();
    let s = Server::start().await;
    let (pid, cid) = project_with_cluster(&s, &oas, "c-405", "us-west-2").await;
    for (method, path, op) in [
        (Method::PUT, "/api/v1beta/projects".to_owned(), "ListProjects"),
        (Method::DELETE, "/api/v1beta/projects".to_owned(), "ListProjects"),
        (Method::PATCH, "/api/v1beta/projects".to_owned(), "ListProjects"),
        (Method::DELETE, aws_cmek(&pid), "ListAwsCmek"),
        (Method::PUT, aws_cmek(&pid), "ListAwsCmek"),
        (Method::PUT, clusters(&pid), "ListClustersOfProject"),
        (Method::PUT, cluster(&pid, &cid), "GetCluster"),
        (Method::POST, cluster(&pid, &cid), "GetCluster"),
        (Method::POST, REGIONS.to_owned(), "ListProviderRegions"),
    ] {
        let r = s.request(method.clone(), &path, Some(&json!({}))).await;
        let msg = err(&oas, op, &r, 405, ErrorCode::MethodNotAllowed.code());
        assert!(msg.contains(method.as_str()) && msg.contains(&path), "{method} {path}: {msg}");
    }
    // The cluster was not touched by any of them.
    let c = get_cluster(&s, &oas, &pid, &cid).await;
    assert!(["CREATING", "AVAILABLE"].contains(&status_of(&c)), "{c}");
}

#[tokio::test]
async fn a_405_names_the_allowed_methods() {
    // RFC 9110 §15.5.6: a 405 response MUST carry an Allow header listing the methods.
    let oas = Oas::load();
    let s = Server::start().await;
    let r = s.put("/api/v1beta/projects", json!({})).await;
    err(&oas, "ListProjects", &r, 405, ErrorCode::MethodNotAllowed.code());
    let allow = r.headers.get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_uppercase();
    assert!(allow.contains("GET") && allow.contains("POST"), "Allow header: {allow:?}");
}

#[tokio::test]
async fn answers_are_json_and_not_cached() {
    let oas = Oas::load();
    let s = Server::start().await;
    for (op, r) in [
        ("ListProjects", s.get("/api/v1beta/projects").await),
        ("ListProviderRegions", s.get(REGIONS).await),
        ("ListProjects", s.get("/api/v1beta/projects?page=0").await),
        ("ListProjects", s.get("/api/nothing").await),
    ] {
        verify(&oas, op, &r);
        let ct = r.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(ct.starts_with("application/json"), "content-type {ct:?}");
        let cc = r.headers.get("cache-control").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert_eq!(cc, "no-store");
    }
}

#[tokio::test]
async fn concurrent_creates_get_distinct_ids() {
    let oas = Oas::load();
    let s = Server::start().await;
    let bodies: Vec<Value> =
        (0..12).map(|i| json!({"name": format!("c{i}"), "aws_cmek_enabled": i % 3 == 0})).collect();
    let answers = futures_join_all(&s, &bodies).await;
    let mut ids = HashSet::new();
    for r in &answers {
        ids.insert(ok(&oas, "CreateProject", r)["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 12);
    assert_eq!(total(&s, &oas).await, 12);
}

/// POSTs every body concurrently (halves joined with `join!`, recursively).
async fn futures_join_all(s: &Server, bodies: &[Value]) -> Vec<Resp> {
    if bodies.len() == 1 {
        return vec![s.post("/api/v1beta/projects", bodies[0].clone()).await];
    }
    let (left, right) = bodies.split_at(bodies.len() / 2);
    let (mut a, b) = tokio::join!(Box::pin(futures_join_all(s, left)), Box::pin(futures_join_all(s, right)));
    a.extend(b);
    a
}
