//! Every string a person (or an attacker with an API key) can store is shown as text: project
//! names, key descriptions, key policies and the events that quote them, checked in the browser.
#![cfg(not(target_arch = "wasm32"))]

use cmek_e2e::{Browser, Server, Setup};
use serde_json::json;

/// Each payload bumps `window.__xss` if it ever runs.
const PAYLOADS: [&str; 3] = [
    r#"<img src=x onerror="window.__xss=(window.__xss||0)+1">"#,
    r#"<script>window.__xss=(window.__xss||0)+1</script>"#,
    r#""><svg onload="window.__xss=(window.__xss||0)+1">"#,
];

#[tokio::test]
async fn stored_payloads_stay_inert_everywhere_they_are_shown() {
    let Some(setup) = Setup::find() else { return };
    let server = Server::start(&setup, &[]).await;
    let mut projects = Vec::new();
    for (i, p) in PAYLOADS.iter().enumerate() {
        let r = server.api("POST", "/api/v1beta/projects", Some(json!({"name": p, "aws_cmek_enabled": i == 0}))).await;
        projects.push(r["id"].as_str().unwrap().to_owned());
    }
    let info = server.api("GET", "/api/ext/v1/server-info", None).await;
    let sandbox = info["sandbox_account_id"].as_str().unwrap().to_owned();
    // A key whose description and policy Sid carry payloads; the policy is still a valid one.
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": PAYLOADS[0], "Effect": "Allow",
         "Principal": {"AWS": format!("arn:aws:iam::{sandbox}:root")}, "Action": "kms:*", "Resource": "*"},
        // A Deny the checker reports by its Sid.
        {"Sid": PAYLOADS[2], "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
    ]});
    let key = server
        .api(
            "POST",
            "/api/ext/v1/sandbox-kms/keys",
            Some(json!({"region": "us-west-2", "description": PAYLOADS[1], "policy": policy.to_string()})),
        )
        .await;
    let key_id = key["key_id"].as_str().unwrap();
    let browser = Browser::start(&setup).await;
    let page = browser.session().await;
    page.sign_in(&server).await;
    let pid = &projects[0];
    let pages = [
        ("/".to_owned(), "table.list tbody tr"),
        (format!("/projects/{pid}/clusters"), "h1"),
        (format!("/projects/{pid}/encryption"), "#encryption-title"),
        (format!("/projects/{pid}/events"), "#events li"),
        ("/sandbox-kms".to_owned(), "#sandbox-keys"),
        (format!("/sandbox-kms/{key_id}"), "#sandbox-policy"),
    ];
    for (path, ready) in &pages {
        page.goto(&format!("{}{path}", server.url)).await;
        page.find(ready).await;
        // Let anything that would run, run.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let ran = page.js("return window.__xss || 0").await;
        assert_eq!(ran, 0, "a payload ran on {path}");
        let injected =
            page.js("return document.querySelectorAll('img[src=\"x\"], svg[onload], main script').length").await;
        assert_eq!(injected, 0, "a payload became markup on {path}");
    }
    // The payloads are on screen as text.
    page.goto(&server.url).await;
    page.find("table.list tbody tr").await;
    let text = page.text().await;
    for p in PAYLOADS {
        assert!(text.contains(p), "the project name {p} is shown as text");
    }
    page.goto(&format!("{}/sandbox-kms", server.url)).await;
    page.wait_text(PAYLOADS[1]).await;
    // The policy checker quotes the Sid in its findings: still text.
    page.goto(&format!("{}/projects/{pid}/encryption/check", server.url)).await;
    let area = page.find("#policy-input").await;
    area.send_keys(&policy.to_string()).await.unwrap();
    page.find("#findings li.finding[data-kind='deny_blocks']").await;
    page.wait_text(PAYLOADS[2]).await;
    assert_eq!(page.js("return window.__xss || 0").await, 0, "a payload ran in the policy checker");
    assert_eq!(page.js("return document.querySelectorAll('#findings img, #findings script').length").await, 0);
    page.screenshot("xss-policy-checker").await;
    page.close().await;
    browser.stop().await;
    server.stop().await;
}
