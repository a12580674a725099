//! Every string a person (or an attacker with an API key) can store is shown as text: project
//! names, key descriptions, key policies and the events that quote them, checked in the browser.
//!
//! Under the console's CSP an injected inline handler would not run, so "did it run" alone could
//! never fail. Two detectors can: any CSP violation (an inline handler or script the page was
//! made to try — what a payload turned into markup does) and any element carrying an `on…`
//! attribute, an `svg`/`img[src=x]` from a payload, or a script in the page's content. The test
//! first proves the detectors fire by planting a payload as markup itself.
#![cfg(not(target_arch = "wasm32"))]

use cmek_e2e::{Browser, Page, Server, Setup, close};
use serde_json::{Value, json};

/// Records every CSP violation of the document, from before the page's own scripts run.
const CSP_WATCH: &str = "window.__csp = []; document.addEventListener('securitypolicyviolation', \
    e => window.__csp.push(e.violatedDirective + ': ' + (e.sample || e.blockedURI)));";

/// Elements a payload would have become: any `on…` attribute, the payloads' own elements, a
/// script inside the content.
const INJECTED: &str = "return [...document.querySelectorAll('body *')].filter(e => \
    [...e.attributes].some(a => a.name.toLowerCase().startsWith('on')) \
    || e.matches('img[src=\"x\"], svg[onload], main script')).map(e => e.outerHTML.slice(0, 120))";

/// What the detectors saw on the current page: (payload runs, CSP violations, injected markup).
async fn detected(page: &Page) -> (Value, Value, Value) {
    (page.js("return window.__xss || 0").await, page.js("return window.__csp").await, page.js(INJECTED).await)
}

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
    page.on_every_new_document(CSP_WATCH).await;
    page.sign_in(&server).await;
    let pid = &projects[0];
    // The detectors can fail: a payload planted as markup on a console page is caught.
    page.goto(&format!("{}/", server.url)).await;
    page.find("table.list tbody tr").await;
    page.js(&format!("document.querySelector('main').insertAdjacentHTML('beforeend', {})", json!(PAYLOADS[0]))).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (_, csp, injected) = detected(&page).await;
    assert!(csp.as_array().is_some_and(|v| !v.is_empty()), "a planted handler is a CSP violation: {csp}");
    assert!(injected.as_array().is_some_and(|v| !v.is_empty()), "a planted payload is seen as markup: {injected}");
    page.js(&format!("document.querySelector('main').insertAdjacentHTML('beforeend', {})", json!(PAYLOADS[2]))).await;
    let (_, _, injected) = detected(&page).await;
    assert!(
        injected.as_array().is_some_and(|v| v.iter().any(|e| e.as_str().is_some_and(|e| e.starts_with("<svg")))),
        "a planted svg payload is seen as markup: {injected}"
    );
    let _ = page.console_errors().await; // the planted violations' log lines
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
        let (ran, csp, injected) = detected(&page).await;
        assert_eq!(ran, 0, "a payload ran on {path}");
        assert_eq!(csp, json!([]), "the page tried to run something its CSP blocked on {path}");
        assert_eq!(injected, json!([]), "a payload became markup on {path}");
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
    // The project has no key yet, so the checker asks which region the key is in.
    page.select("#checker-region", "us-west-2").await;
    let area = page.find("#policy-input").await;
    area.send_keys(&policy.to_string()).await.unwrap();
    page.find("#findings li.finding[data-kind='deny_blocks']").await;
    page.wait_text(PAYLOADS[2]).await;
    let (ran, csp, injected) = detected(&page).await;
    assert_eq!(ran, 0, "a payload ran in the policy checker");
    assert_eq!(csp, json!([]), "the policy checker tried to run something its CSP blocked");
    assert_eq!(injected, json!([]), "a payload became markup in the policy checker");
    page.screenshot("xss-policy-checker").await;
    close(page, browser, server).await;
}
