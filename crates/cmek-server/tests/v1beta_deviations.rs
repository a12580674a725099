//! General v1beta rules that clients nobody here wrote found broken (issue 18), each checked
//! over real HTTP against the official OAS: Serverless `components` ignored (nulls and `{}`
//! included), one TiKV storage change per six hours on AWS, no pausing a Serverless cluster, a
//! Digest client's JSON body accepted without `Content-Type: application/json` (a console
//! session still needs it); and the OAS operations this server does not implement answered
//! plainly as such.
mod common;
mod v1beta_support;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use v1beta_support::*;

#[tokio::test]
async fn serverless_components_are_ignored_whatever_they_hold() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "dev", false).await;
    // The SDK's README example sends `components` with null members; others send `{}` or null.
    for (i, components) in [
        json!({}),
        json!({"tidb": null, "tikv": null, "tiflash": null}),
        Value::Null,
        json!({"tidb": {"node_size": null}}),
    ]
    .into_iter()
    .enumerate()
    {
        let body = with(
            &with(&oas_serverless_example(), "/config/components", components.clone()),
            "/name",
            json!(format!("dev-{i}")),
        );
        let r = s.post(&clusters(&pid), body).await;
        let id = ok(&oas, "CreateCluster", &r)["id"].as_str().unwrap().to_owned();
        let c = get_cluster(&s, &oas, &pid, &id).await;
        assert_eq!(c["cluster_type"], "DEVELOPER");
        assert!(c["config"].get("components").is_none(), "{components} was ignored: {c}");
    }
    // A Dedicated cluster still needs real components.
    let body = with(&dedicated("ded", "us-west-2"), "/config/components", json!({"tidb": null, "tikv": null}));
    let r = s.post(&clusters(&pid), body).await;
    err(&oas, "CreateCluster", &r, 400, ErrorCode::InvalidField.code());
}

#[tokio::test]
async fn a_second_tikv_storage_change_within_six_hours_is_refused_on_aws() {
    let oas = Oas::load();
    let s = Server::start().await;
    let (pid, cid) = project_with_cluster(&s, &oas, "grow", "us-west-2").await;
    let c = wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    let gib = c["config"]["components"]["tikv"]["storage_size_gib"].as_i64().unwrap();
    let q = c["config"]["components"]["tikv"]["node_quantity"].as_i64().unwrap();
    let grow = |g: i64| json!({"config": {"components": {"tikv": {"storage_size_gib": g}}}});
    ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &pid, &cid, grow(gib + 100)).await);
    wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    let r = patch_cluster(&s, &oas, &pid, &cid, grow(gib + 200)).await;
    err(&oas, "UpdateCluster", &r, 400, ErrorCode::StorageChangeTooSoon.code());
    let d = detail_for(&r, "config.components.tikv.storage_size_gib");
    assert!(d.contains("six hours") && (d.contains("in 6 h 00 min") || d.contains("in 5 h 59 min")), "{d}");
    let c = get_cluster(&s, &oas, &pid, &cid).await;
    assert_eq!(c["config"]["components"]["tikv"]["storage_size_gib"], gib + 100, "nothing changed");
    // Other changes are not limited.
    let more = json!({"config": {"components": {"tikv": {"node_quantity": q + 3}}}});
    ok(&oas, "UpdateCluster", &patch_cluster(&s, &oas, &pid, &cid, more).await);
}

#[tokio::test]
async fn a_serverless_cluster_cannot_be_paused_or_resumed() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "p", false).await;
    let cid = create_cluster(&s, &oas, &pid, oas_serverless_example()).await;
    wait_status(&s, &oas, &pid, &cid, "AVAILABLE").await;
    for paused in [true, false] {
        let r = patch_cluster(&s, &oas, &pid, &cid, json!({"config": {"paused": paused}})).await;
        err(&oas, "UpdateCluster", &r, 400, ErrorCode::ValidationFailed.code());
        let d = detail_for(&r, "config.paused");
        assert!(d.contains("DEVELOPER") && d.contains("DEDICATED"), "{d}");
    }
    let c = get_cluster(&s, &oas, &pid, &cid).await;
    assert_eq!(status_of(&c), "AVAILABLE", "the cluster was not paused: {c}");
}

/// `curl` with its arguments; (success, stdout).
fn curl(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("curl").args(args).output().expect("curl is needed (scripts/setup)");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn a_digest_clients_json_body_needs_no_json_content_type_but_a_console_session_does() {
    let oas = Oas::load();
    let s = Server::start().await;
    let user = format!("{}:{}", s.api_key.public, s.api_key.private);
    let url = format!("{}/api/v1beta/projects", s.base);
    // `curl --digest -d '{…}'` without -H: curl says application/x-www-form-urlencoded.
    let (done, out) = curl(&["-sS", "--digest", "--user", &user, "-d", r#"{"name":"from-curl"}"#, &url]);
    assert!(done, "{out}");
    let body: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(body["id"].as_str().is_some_and(|id| id.parse::<u64>().is_ok()), "{body}");
    let r = s.raw(Method::POST, "/api/v1beta/projects", None, r#"{"name":"no-type"}"#).await;
    ok(&oas, "CreateProject", &r);
    let r = s.raw(Method::POST, "/api/v1beta/projects", Some("text/plain"), "name=p").await;
    let msg = err(&oas, "CreateProject", &r, 400, ErrorCode::MalformedJson.code());
    assert!(msg.contains("not valid JSON"), "{msg}");
    let names: Vec<String> = ok(&oas, "ListProjects", &s.get("/api/v1beta/projects").await)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["from-curl", "no-type"]);

    // The console's session keeps the browser protection: application/json only.
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/ext/v1/session", s.base))
        .json(&json!({"token": s.sign_in_token()}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned();
    let send = |ct: &'static str| {
        http.post(&url)
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .header("origin", &s.base)
            .header("content-type", ct)
            .body(r#"{"name":"from-a-page"}"#)
            .send()
    };
    let r = Resp::read(send("text/plain").await.unwrap()).await.unwrap();
    let msg = err(&oas, "CreateProject", &r, 400, ErrorCode::UnsupportedMediaType.code());
    assert!(msg.contains("text/plain") && msg.contains("application/json"), "{msg}");
    let r = Resp::read(send("application/json").await.unwrap()).await.unwrap();
    ok(&oas, "CreateProject", &r);
}

/// Every operation of the official OAS: implemented, or answered 501 with an ErrorResponse
/// that names it and says "not implemented by this server" — never "there is no endpoint".
#[tokio::test]
async fn every_oas_operation_is_implemented_or_says_plainly_that_it_is_not() {
    let oas = Oas::load();
    let s = Server::start().await;
    let (pid, cid) = project_with_cluster(&s, &oas, "cluster", "us-west-2").await;
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(oas_path()).unwrap()).unwrap();
    let (mut implemented, mut not) = (Vec::new(), Vec::new());
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(m) = method.to_uppercase().parse::<Method>() else { continue };
            let id = op["operationId"].as_str().unwrap();
            let path = template.replace("{project_id}", &pid).replace("{cluster_id}", &cid);
            let path =
                path.split('/').map(|seg| if seg.starts_with('{') { "1" } else { seg }).collect::<Vec<_>>().join("/");
            let body = matches!(m, Method::POST | Method::PATCH | Method::PUT).then(|| json!({}));
            let r = s.request(m.clone(), &path, body.as_ref()).await;
            assert_ne!(
                r.code(),
                ErrorCode::RouteNotFound.code(),
                "{id} ({method} {template}) reads as a wrong path: {}",
                r.body
            );
            if r.status == 501 {
                assert_eq!(r.code(), ErrorCode::NotImplemented.code(), "{id}: {}", r.body);
                assert!(
                    r.message().contains(id) && r.message().contains("not implemented by this server"),
                    "{}",
                    r.body
                );
                assert_error_shape(id, &r);
                check(&oas, id, &r); // the OAS's `default` answer (googlerpcStatus) fits too
                not.push(id.to_owned());
            } else {
                assert!(r.status < 500, "{id}: {}", r.body);
                implemented.push(id.to_owned());
            }
        }
    }
    implemented.sort();
    not.sort();
    println!(
        "implemented ({}): {}\nnot implemented ({}): {}",
        implemented.len(),
        implemented.join(", "),
        not.len(),
        not.join(", ")
    );
    assert_eq!(implemented.len(), 17, "{implemented:?}");
    assert_eq!(not.len(), 22, "{not:?}");
    for op in [
        "ListBackUpOfCluster",
        "CreateBackup",
        "GetBackupOfCluster",
        "DeleteBackup",
        "ListRestoreTasks",
        "CreateRestoreTask",
        "GetRestoreTask",
    ] {
        assert!(implemented.contains(&op.to_owned()), "{op}");
    }
}
