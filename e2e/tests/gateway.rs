#![cfg(not(target_arch = "wasm32"))]
//! Gateway mode end to end: the console in headless Chromium → a cmek-server gateway
//! (`--upstream`) → a second cmek-server in reference mode as the upstream, with its own API key,
//! HTTP Digest and its default limit of 100 requests a minute. The upstream's key pair is searched
//! for in everything the browser holds; five clients poll for a minute within the upstream's
//! budget; and each upstream failure is shown clearly in the console.

use cmek_e2e::{Browser, Page, Server, Setup, close};
use cmek_test_support::ErrorCode;
use cmek_test_support::fake_upstream::{FakeUpstream, Mode};
use serde_json::{Value, json};
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The upstream's key pair in a 0600 file, as `api-key create` prints it.
fn key_file(dir: &std::path::Path, public: &str, private: &str) -> String {
    let path = dir.join("upstream-key");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "public key: {public}\nprivate key: {private}").unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    path.to_str().unwrap().to_owned()
}

async fn gateway_to(setup: &Setup, upstream: &str, key_file: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--upstream", upstream, "--upstream-key-file", key_file];
    args.extend_from_slice(extra);
    Server::start(setup, &args).await
}

/// Records every answer the page's scripts receive (URL, headers, body) in `window.__seen`.
const RECORD_NETWORK: &str = r#"
window.__seen = [];
const __fetch = window.fetch;
window.fetch = async function (...args) {
  const res = await __fetch.apply(this, args);
  try {
    const text = await res.clone().text();
    const headers = [...res.headers].map(h => h.join(': ')).join('\n');
    window.__seen.push(res.url + '\n' + headers + '\n' + text);
  } catch (e) {}
  return res;
};
"#;

/// Searches the page (DOM, storage, cookies, the answers recorded) for either half of the key
/// pair; returns how many answers were searched.
async fn assert_no_key_pair_in_browser(page: &Page, public: &str, private: &str) -> usize {
    let all = page
        .js("return JSON.stringify({dom: document.documentElement.outerHTML, local: JSON.stringify(localStorage), \
             session: JSON.stringify(sessionStorage), cookie: document.cookie, seen: window.__seen || [], \
             urls: performance.getEntriesByType('resource').map(e => e.name)})")
        .await;
    let text = all.as_str().unwrap_or_default();
    assert!(!text.contains(private), "the upstream's private key is in the browser");
    assert!(!text.contains(public), "the upstream's public key is in the browser");
    let v: Value = serde_json::from_str(text).unwrap_or_default();
    v["seen"].as_array().map_or(0, Vec::len)
}

async fn wait_status(page: &Page, label: &str) {
    let cond = format!(
        "document.querySelector('#cluster-status').innerText.trim().toLowerCase().endsWith({})",
        json!(label.to_lowercase())
    );
    page.wait_js(&format!("the cluster to be {label}"), &cond).await;
}

async fn confirm_dialog(page: &Page) {
    page.find("dialog[open]").await;
    page.click("dialog[open] .actions button:last-child").await;
    page.wait_js("the dialog to close", "!document.querySelector('dialog[open]')").await;
}

/// The user guide's flow, in the browser, through the gateway: a CMEK project, its key
/// configured, a region-locked cluster, revoke, pause, resume refused with the upstream's cause,
/// restore, resume; every change an event of the gateway; the key pair nowhere in the browser.
#[tokio::test]
async fn the_user_guide_through_the_gateway_in_the_browser() {
    let Some(setup) = Setup::find() else { return };
    let upstream = Server::start(&setup, &[]).await;
    let tmp = tempfile::tempdir().unwrap();
    let kf = key_file(tmp.path(), &upstream.api_key.public, &upstream.api_key.private);
    let gateway = gateway_to(&setup, &upstream.url, &kf, &["--upstream-cache-secs", "2"]).await;
    let (public, private) = (upstream.api_key.public.clone(), upstream.api_key.private.clone());
    let browser = Browser::start(&setup).await;
    let page = browser.session().await;
    page.on_every_new_document(RECORD_NETWORK).await;
    page.sign_in(&gateway).await;
    let mut searched = 0;

    // The console knows it is in front of a gateway: the banner, the budget.
    page.goto(&gateway.url).await;
    page.find("section.gateway").await;
    let banner = page.find("section.gateway").await.text().await.unwrap();
    assert!(banner.contains(&format!("Gateway to {}", upstream.url)), "{banner}");
    assert!(banner.contains("Upstream budget:") && banner.contains("of 100 requests left"), "{banner}");
    assert!(banner.contains("Lists are at most 2 s old"), "{banner}");
    page.screenshot("gw-01-projects-through-the-gateway").await;

    // A CMEK project, created in the console.
    page.goto(&format!("{}/projects/new", gateway.url)).await;
    page.type_into("#project-name", "payments-prod").await;
    page.click("#project-cmek").await;
    page.click("#create-project").await;
    let p = page.wait_path("/projects/\\d+/encryption$").await;
    let pid = p.split('/').nth(2).unwrap().to_owned();
    let listed = upstream.api("GET", "/api/v1beta/projects?page=1&page_size=100", None).await;
    assert!(listed["items"].as_array().unwrap().iter().any(|i| i["id"] == pid.as_str()), "the upstream has it");

    // The key: the policy the console shows goes into the key in KMS (the upstream's sandbox
    // stands in for AWS KMS), and the ARN comes back into the console.
    page.click("#create-key").await;
    page.wait_path("/encryption/create$").await;
    page.select("#key-region", "us-west-2").await;
    page.wait_js(
        "the service account in the policy",
        "document.querySelector('#policy-text').innerText.includes('ec2.us-west-2.amazonaws.com') && \
         !document.querySelector('#policy-text').innerText.includes('<pingcap-account>')",
    )
    .await;
    let shown: Value =
        serde_json::from_str(&page.find("#policy-text").await.text().await.unwrap()).expect("the policy is JSON");
    let key = upstream.api("POST", "/api/ext/v1/sandbox-kms/keys", Some(json!({"region": "us-west-2"}))).await;
    let (key_id, arn) = (key["key_id"].as_str().unwrap().to_owned(), key["arn"].as_str().unwrap().to_owned());
    let mut policy: Value = serde_json::from_str(key["policy"].as_str().unwrap()).unwrap();
    policy["Statement"].as_array_mut().unwrap().extend(shown["Statement"].as_array().unwrap().iter().cloned());
    upstream
        .api(
            "PUT",
            &format!("/api/ext/v1/sandbox-kms/keys/{key_id}/policy"),
            Some(json!({"policy": policy.to_string()})),
        )
        .await;
    page.type_into("#key-arn", &arn).await;
    page.click("#create-key-submit").await;
    page.wait_path(&format!("/projects/{pid}/encryption$")).await;
    page.wait_text(&arn).await;
    let keys = upstream.api("GET", &format!("/api/v1beta/projects/{pid}/aws-cmek"), None).await;
    assert_eq!(keys["items"], json!([{"region": "us-west-2", "kms_arn": arn}]), "configured upstream");
    page.screenshot("gw-02-key-configured").await;
    searched += assert_no_key_pair_in_browser(&page, &public, &private).await;

    // A region-locked cluster, created in the console.
    page.goto(&format!("{}/projects/{pid}/clusters/new", gateway.url)).await;
    let locked = page.find("#locked-fields").await.text().await.unwrap();
    assert!(locked.contains("us-west-2"), "{locked}");
    page.type_into("#cluster-name", "orders-db").await;
    page.type_into("#cluster-password", "Sup3r-secret-pw").await;
    page.click("#create-cluster-submit").await;
    let p = page.wait_path("/clusters/\\d+$").await;
    let cid = p.rsplit('/').next().unwrap().to_owned();
    wait_status(&page, "Available").await;
    // Another region is refused by the upstream, with its own code, through the gateway.
    let (status, body) = gateway
        .api_status(
            "POST",
            &format!("/api/v1beta/projects/{pid}/clusters"),
            Some(
                json!({"name": "elsewhere", "cluster_type": "DEDICATED", "cloud_provider": "AWS", "region": "us-east-1",
                "config": {"root_password": "Sup3r-secret-pw", "port": 4000, "components": {
                    "tidb": {"node_size": "8C16G", "node_quantity": 1},
                    "tikv": {"node_size": "8C32G", "storage_size_gib": 500, "node_quantity": 3}}}}),
            ),
        )
        .await;
    assert_eq!((status, &body["code"]), (400, &json!(ErrorCode::CmekClusterRegionMismatch.code())), "{body}");
    page.screenshot("gw-03-cluster-available").await;

    // Revoke: the customer disables the key in KMS; then pause the cluster.
    upstream.api("POST", &format!("/api/ext/v1/sandbox-kms/keys/{key_id}/disable"), Some(json!({}))).await;
    page.click("#pause-cluster").await;
    confirm_dialog(&page).await;
    wait_status(&page, "Paused").await;
    // Resume is refused, with the upstream's cause.
    page.click("#resume-cluster").await;
    confirm_dialog(&page).await;
    page.find("#operation-error").await;
    let refusal = page.find("#operation-error").await.text().await.unwrap();
    assert!(refusal.contains("refused") && refusal.contains(&arn), "the upstream's cause: {refusal}");
    wait_status(&page, "Paused").await;
    page.screenshot("gw-04-resume-refused-upstream-cause").await;
    searched += assert_no_key_pair_in_browser(&page, &public, &private).await;

    // Restore: the key enabled again; resume.
    upstream.api("POST", &format!("/api/ext/v1/sandbox-kms/keys/{key_id}/enable"), Some(json!({}))).await;
    page.goto(&format!("{}/projects/{pid}/clusters/{cid}", gateway.url)).await;
    wait_status(&page, "Paused").await;
    page.click("#resume-cluster").await;
    confirm_dialog(&page).await;
    wait_status(&page, "Available").await;
    let c = upstream.api("GET", &format!("/api/v1beta/projects/{pid}/clusters/{cid}"), None).await;
    assert_eq!(c["status"]["cluster_status"], "AVAILABLE", "{c}");
    page.screenshot("gw-05-resumed").await;

    // The events: who (this console session), what, the upstream's answer.
    page.goto(&format!("{}/projects/{pid}/events", gateway.url)).await;
    page.wait_text("Resume cluster through the gateway by console session").await;
    let shown = page.text().await;
    assert!(!shown.contains("Sup3r-secret-pw"), "the cluster's root password is shown in the events: {shown}");
    let events = page.text().await;
    for want in [
        "Create project through the gateway",
        "Configure the project's AWS CMEK key through the gateway",
        "Create cluster through the gateway",
        "Pause cluster through the gateway",
        "the upstream refused it",
    ] {
        assert!(events.contains(want), "{want:?} in the events page:\n{events}");
    }
    page.screenshot("gw-06-events").await;

    // The sandbox KMS is off, and the console says so.
    page.goto(&format!("{}/sandbox-kms", gateway.url)).await;
    page.wait_text("The sandbox KMS is off").await;
    searched += assert_no_key_pair_in_browser(&page, &public, &private).await;
    assert!(searched > 10, "the network recording saw the answers ({searched})");
    println!("secret search: {searched} recorded answers, the DOM, storage and cookies: no key pair");

    let errors = page.console_errors().await;
    // Chromium logs every non-2xx answer: the refused resume, and the sandbox KMS the console
    // asks about (404: off in gateway mode) may be; nothing else.
    assert!(
        errors.iter().all(|e| e.contains(" 400") || (e.contains("/sandbox-kms/") && e.contains(" 404"))),
        "only the refused resume may be logged: {errors:#?}"
    );
    close(page, browser, gateway).await;
    upstream.stop().await;
}

/// Five clients poll the clusters list as the console does (every 2 s while something changes,
/// which is its fastest) for 60 s through the gateway: the upstream (100 a minute) is never
/// exceeded and no client sees an error.
#[tokio::test]
async fn five_clients_polling_for_a_minute_stay_within_the_upstream_budget() {
    let Some(setup) = Setup::find() else { return };
    let upstream = Server::start(&setup, &[]).await;
    let tmp = tempfile::tempdir().unwrap();
    let kf = key_file(tmp.path(), &upstream.api_key.public, &upstream.api_key.private);
    let gateway = Arc::new(gateway_to(&setup, &upstream.url, &kf, &["--rate-limit-per-minute", "0"]).await);
    let project =
        gateway.api("POST", "/api/v1beta/projects", Some(json!({"name": "busy", "aws_cmek_enabled": false}))).await;
    let pid = project["id"].as_str().unwrap().to_owned();
    let sent_before =
        gateway.api("GET", "/api/ext/v1/server-info", None).await["gateway"]["requests_sent"].as_u64().unwrap();
    let ages = Arc::new(Mutex::new(Vec::<u64>::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..5 {
        let (gateway, pid, ages, errors) = (gateway.clone(), pid.clone(), ages.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            // Staggered, as tabs opened at different times.
            tokio::time::sleep(Duration::from_millis(400 * client)).await;
            let http = reqwest::Client::new();
            let cookie = gateway.console_session().await;
            while start.elapsed() < Duration::from_secs(60) {
                let res = http
                    .get(format!("{}/api/v1beta/projects/{pid}/clusters?page=1&page_size=20", gateway.url))
                    .header("cookie", format!("cmek_session={cookie}"))
                    .header("x-cmek-console", "1")
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == 200 => {
                        let age = r.headers().get("age").and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or(0);
                        ages.lock().unwrap().push(age);
                    }
                    Ok(r) => {
                        let line = format!("{} {}", r.status(), r.text().await.unwrap_or_default());
                        errors.lock().unwrap().push(line);
                    }
                    Err(e) => errors.lock().unwrap().push(e.to_string()),
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }));
    }
    // Meanwhile a change: a cluster is created (and so the list changes) half way.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let (status, body) = gateway
        .api_status(
            "POST",
            &format!("/api/v1beta/projects/{pid}/clusters"),
            Some(json!({"name": "mid-minute", "cluster_type": "DEDICATED", "cloud_provider": "AWS", "region": "us-west-2",
                "config": {"root_password": "Sup3r-secret-pw", "port": 4000, "components": {
                    "tidb": {"node_size": "8C16G", "node_quantity": 1},
                    "tikv": {"node_size": "8C32G", "storage_size_gib": 500, "node_quantity": 3}}}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for t in tasks {
        t.await.unwrap();
    }
    let minutes = start.elapsed().as_secs_f64() / 60.0;
    let info = gateway.api("GET", "/api/ext/v1/server-info", None).await["gateway"].clone();
    let sent = info["requests_sent"].as_u64().unwrap() - sent_before;
    let ages = ages.lock().unwrap().clone();
    let polls = ages.len();
    let max_age = ages.iter().copied().max().unwrap_or(0);
    let mean_age = ages.iter().sum::<u64>() as f64 / polls.max(1) as f64;
    println!(
        "budget: 5 clients, {polls} polls in {:.1} s; upstream requests: {sent} ({:.1} per minute, budget 100); \
         freshness the clients saw: mean {mean_age:.1} s, max {max_age} s (cache {} s); gateway info {info}",
        minutes * 60.0,
        sent as f64 / minutes,
        info["cache_secs"]
    );
    let errors = errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "clients saw errors: {errors:#?}");
    assert!(polls >= 5 * 25, "the clients polled ({polls})");
    assert!((sent as f64 / minutes) <= 100.0, "{sent} upstream requests in {minutes:.2} min");
    assert!(sent * 4 < polls as u64, "reads were shared: {sent} upstream for {polls} polls");
    assert_eq!(info["throttled"], false, "the upstream never refused the gateway");
    assert!(max_age <= info["cache_secs_now"].as_u64().unwrap().max(5), "answers stay fresh: max {max_age} s");
    if let Ok(g) = Arc::try_unwrap(gateway) {
        g.stop().await;
    }
    upstream.stop().await;
}

// ------------------------------------------------------------------ faults

/// The fake upstream's projects look like TiDB Cloud's (19 digits); a limited client waits 30 s.
const FIRST_ID: u64 = 1_372_813_089_189_561_000;
const RATE_LIMIT_RESET_SECS: u64 = 30;

/// The projects page shows `want` (the console's error notice) for the upstream in `mode`.
async fn projects_page_shows(
    page: &Page,
    gateway: &Server,
    fake: &FakeUpstream,
    mode: Mode,
    want: &[&str],
    shot: &str,
) {
    fake.set_mode(mode);
    page.goto(&gateway.url).await;
    for w in want {
        page.wait_text(w).await;
    }
    page.screenshot(shot).await;
}

/// Each upstream failure reaches the console as a clear message keeping the upstream's words:
/// 401 (the gateway's key pair is wrong or revoked), 429 with its reset, 500, slowness, a
/// dropped connection; and a create whose answer was lost is made once.
#[tokio::test]
async fn upstream_failures_are_shown_clearly_in_the_console() {
    let Some(setup) = Setup::find() else { return };
    let fake = FakeUpstream::start(FIRST_ID, RATE_LIMIT_RESET_SECS).await;
    let base = fake.base.clone();
    let tmp = tempfile::tempdir().unwrap();
    let kf = key_file(tmp.path(), "FAKEPUBLICKEY", "FAKEPRIVATEKEY");
    let gateway = gateway_to(&setup, &base, &kf, &["--upstream-timeout-secs", "1", "--upstream-cache-secs", "0"]).await;
    let browser = Browser::start(&setup).await;
    let page = browser.session().await;
    page.on_every_new_document(RECORD_NETWORK).await;
    page.sign_in(&gateway).await;

    projects_page_shows(
        &page,
        &gateway,
        &fake,
        Mode::Unauthorized,
        &["refused the gateway's organisation API key pair", "wrong or was revoked", "public_key not found"],
        "gw-fault-401",
    )
    .await;
    assert_no_key_pair_in_browser(&page, "FAKEPUBLICKEY", "FAKEPRIVATEKEY").await;
    projects_page_shows(&page, &gateway, &fake, Mode::Fails, &["upstream database is down"], "gw-fault-500").await;
    projects_page_shows(&page, &gateway, &fake, Mode::Slow, &["did not answer", "in time"], "gw-fault-slow").await;
    projects_page_shows(&page, &gateway, &fake, Mode::Drops, &["dropped the connection"], "gw-fault-dropped").await;
    projects_page_shows(
        &page,
        &gateway,
        &fake,
        Mode::RateLimited,
        &["slow down", "The upstream limited the gateway's key: it asks again in"],
        "gw-fault-429",
    )
    .await;
    let text = page.text().await;
    assert!(!text.contains("Something went wrong"), "a rate limit is said calmly: {text}");

    // A create whose answer is lost: the console lands on the project, created once.
    let fake2 = FakeUpstream::start(FIRST_ID, RATE_LIMIT_RESET_SECS).await;
    let base2 = fake2.base.clone();
    let gateway2 =
        gateway_to(&setup, &base2, &kf, &["--upstream-timeout-secs", "1", "--upstream-cache-secs", "0"]).await;
    page.sign_in(&gateway2).await;
    page.goto(&format!("{}/projects/new", gateway2.url)).await;
    page.type_into("#project-name", "lost-answer").await;
    page.click("#project-cmek").await;
    fake2.set_mode(Mode::CreatesThenDrops);
    page.click("#create-project").await;
    page.wait_path("/projects/\\d+/encryption$").await;
    fake2.set_mode(Mode::Ok);
    assert_eq!(fake2.creates(), 1, "created once");
    page.screenshot("gw-fault-lost-create-reconciled").await;
    assert_no_key_pair_in_browser(&page, "FAKEPUBLICKEY", "FAKEPRIVATEKEY").await;

    close(page, browser, gateway).await;
    gateway2.stop().await;
}
