#![cfg(not(target_arch = "wasm32"))]
//! A cold load's first API requests leave together, from index.html's loader, while the wasm is
//! still on its way (docs/performance.md, load → interactive): every request of the first screen
//! starts before the wasm is compiled and instantiated, each is asked once (the console takes the loader's answers
//! instead of asking again), and nothing else is asked until the first screen is up; the
//! provider catalog, which no first screen shows, is asked once after it. Signed out, only the session is asked,
//! its 401 still turns into the sign-in page, and once signed in the page's data is asked.

use cmek_e2e::{Browser, Page, Server, Setup};
use serde_json::{Value, json};

/// Records when the wasm is compiled and instantiated (`window.cmekWasmReady`, ms from
/// navigation start): the console's own code can ask nothing before.
const WATCH_WASM: &str = "for (const name of ['instantiateStreaming', 'instantiate']) {
    const original = WebAssembly[name];
    WebAssembly[name] = function (...args) {
        return original.apply(this, args).then((r) => { window.cmekWasmReady ??= performance.now(); return r; });
    };
}";

/// The page's API requests (path and query) with when each started, and when the wasm was ready
/// (ms from navigation start).
async fn requests(page: &Page) -> (Vec<(String, f64)>, f64) {
    let v = page
        .js("return [performance.getEntriesByType('resource').map(e => \
             [e.name.replace(location.origin, ''), e.startTime]), window.cmekWasmReady ?? null]")
        .await;
    let (entries, ready): (Vec<(String, f64)>, Option<f64>) = serde_json::from_value(v).expect("resource timing");
    // gloo-net ends the console's own URLs with a query in `&` (an empty query of its own).
    let api = entries
        .into_iter()
        .filter(|e| e.0.starts_with("/api/"))
        .map(|(n, s)| (n.strip_suffix('&').unwrap_or(&n).to_owned(), s))
        .collect();
    (api, ready.unwrap_or(f64::NAN))
}

async fn interactive(page: &Page) {
    page.wait_js("the page to be interactive", "performance.getEntriesByName('cmek:interactive').length > 0").await;
}

const CATALOG: &str = "/api/v1beta/clusters/provider/regions";

/// Waits until the browser has been idle once more (what the console does after its first
/// screen waits for that).
async fn idle(page: &Page) {
    page.js("return new Promise((done) => requestIdleCallback(() => setTimeout(() => done(true), 0)))").await;
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn a_cold_load_asks_everything_at_once_while_the_wasm_arrives() {
    let Some(setup) = Setup::find() else { return };
    let server = Server::start(&setup, &[]).await;
    let project: Value =
        server.api("POST", "/api/v1beta/projects", Some(json!({"name": "early", "aws_cmek_enabled": false}))).await;
    let id = project["id"].as_str().expect("a project id").to_owned();
    let browser = Browser::start(&setup).await;

    for (path, expected) in [
        ("/".to_owned(), vec!["/api/v1beta/projects?page=1&page_size=10".to_owned()]),
        (
            format!("/projects/{id}/clusters"),
            vec![
                "/api/v1beta/projects?page=1&page_size=100".to_owned(),
                format!("/api/v1beta/projects/{id}/aws-cmek"),
                format!("/api/v1beta/projects/{id}/clusters?page=1&page_size=20"),
            ],
        ),
    ] {
        let page = browser.session().await;
        page.on_every_new_document(WATCH_WASM).await;
        page.sign_in(&server).await;
        page.goto(&format!("{}{path}", server.url)).await;
        interactive(&page).await;
        let (api, wasm_ready) = requests(&page).await;
        let mut want = vec!["/api/ext/v1/session".to_owned(), "/api/ext/v1/server-info".to_owned()];
        want.extend(expected);
        let interactive_at = page.js("return performance.getEntriesByName('cmek:interactive')[0].startTime").await;
        let interactive_at = interactive_at.as_f64().expect("the interactive mark");
        let first_screen: Vec<String> =
            api.iter().filter(|(_, start)| *start <= interactive_at).map(|(n, _)| n.clone()).collect();
        assert_eq!(sorted(first_screen), sorted(want), "{path}: each request of the first screen once, nothing else");
        for (name, start) in api.iter().filter(|(_, start)| *start <= interactive_at) {
            assert!(
                *start < wasm_ready,
                "{path}: {name} started at {start:.0} ms, the wasm was ready at {wasm_ready:.0} ms"
            );
        }
        // The catalog, once the first screen is up.
        page.wait_js(
            "the catalog to be asked",
            &format!("performance.getEntriesByType('resource').some(e => e.name.includes('{CATALOG}'))"),
        )
        .await;
        idle(&page).await;
        let (later, _) = requests(&page).await;
        let catalog: Vec<f64> = later.iter().filter(|(n, _)| n == CATALOG).map(|(_, s)| *s).collect();
        assert!(
            catalog.len() == 1 && catalog[0] > interactive_at,
            "{path}: the catalog asked once, after the first screen (interactive at {interactive_at:.0} ms): {later:?}"
        );
        let logged = page.console_at(&["SEVERE", "WARNING"]).await;
        assert!(logged.is_empty(), "{path} logs:\n{}", logged.join("\n"));
        page.close().await;
    }

    // A second visit in the same tab, signed in a moment ago: the page's data leaves with the
    // session check, not after its answer.
    let page = browser.session().await;
    page.sign_in(&server).await;
    page.goto(&format!("{}/", server.url)).await;
    interactive(&page).await;
    page.goto("about:blank").await;
    page.goto(&format!("{}/", server.url)).await;
    interactive(&page).await;
    let (api, _) = requests(&page).await;
    let start = |path: &str| api.iter().find(|(n, _)| n == path).map(|(_, s)| *s).unwrap_or(f64::NAN);
    let (session, projects) = (start("/api/ext/v1/session"), start("/api/v1beta/projects?page=1&page_size=10"));
    assert!(
        projects <= session,
        "warm: the projects left at {projects} ms, the session check at {session} ms: {api:?}"
    );
    // What the first visit kept in the tab (src/api/cache.rs) is read, not asked again.
    idle(&page).await;
    let (api, _) = requests(&page).await;
    let kept = ["/api/ext/v1/server-info", CATALOG];
    assert!(!api.iter().any(|(n, _)| kept.contains(&n.as_str())), "warm: kept answers asked again: {api:?}");
    page.close().await;

    // Signed out: the session check alone is asked (its 401 is asked again by the console, and
    // turns into the sign-in page as before); nothing else goes out before signing in. Signed
    // in, the page's data is asked by the console itself.
    let page = browser.session().await;
    page.goto(&server.url).await;
    page.find("#sign-in-password").await;
    let refused = page.console_errors().await;
    assert!(
        refused.len() == 2 && refused.iter().all(|l| l.contains("/api/ext/v1/session ") && l.contains("401")),
        "only the session check is asked before signing in: {refused:#?}"
    );
    page.type_into("#sign-in-password", &server.console_password).await;
    page.click("#sign-in").await;
    page.find("table.list tbody tr").await;
    page.wait_text("early").await;
    let (api, _) = requests(&page).await;
    let asked = |path: &str| api.iter().filter(|(n, _)| n == path).count();
    assert_eq!(asked("/api/v1beta/projects?page=1&page_size=10"), 1, "{api:?}");
    page.close().await;

    browser.stop().await;
    server.stop().await;
}
