//! Faults between the browser and the server: a proxy in front of the real server answers 500s
//! and 429s, delays answers past the console's timeout, and drops connections (once even after
//! the server did the work). The console must say so in words, keep every input, retry reads by
//! itself, and never create anything twice.
#![cfg(not(target_arch = "wasm32"))]

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use cmek_e2e::{Browser, Page, Server, Setup, close};
use cmek_test_support::ErrorCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does to a matching request, once per rule use.
#[derive(Clone, Debug)]
enum Fault {
    /// Answer this status and ErrorResponse body without asking the server.
    Status(u16, Value),
    /// A 429 as the real API sends it, resetting in `secs`.
    RateLimited(u64),
    /// Forward, but only after this long (past the console's timeout).
    Delay(Duration),
    /// Break the connection in the middle of the answer; the server never sees the request.
    Drop,
    /// Forward to the server, then break the connection: the work is done, the answer lost.
    ForwardThenDrop,
}

struct Rule {
    method: &'static str,
    path_prefix: String,
    fault: Fault,
    times: usize,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    rules: Arc<Mutex<Vec<Rule>>>,
    /// Requests that met a fault.
    hits: Arc<Mutex<Vec<String>>>,
    /// Every request that reached the proxy, faulted or not, with its `Idempotency-Key`.
    seen: Arc<Mutex<Vec<Seen>>>,
}

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    idempotency_key: Option<String>,
}

impl Proxy {
    fn fault(&self, method: &'static str, path_prefix: &str, fault: Fault, times: usize) {
        self.rules.lock().unwrap().push(Rule { method, path_prefix: path_prefix.to_owned(), fault, times });
    }

    fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap();
        let rule = rules.iter_mut().find(|r| r.times > 0 && r.method == method && path.starts_with(&r.path_prefix))?;
        rule.times -= 1;
        self.hits.lock().unwrap().push(format!("{method} {path}: {:?}", rule.fault));
        Some(rule.fault.clone())
    }

    /// Drops every rule: from now on, everything is forwarded.
    fn clear(&self) {
        self.rules.lock().unwrap().clear();
    }

    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }

    /// Every request seen so far with this method and path (the query aside).
    fn seen(&self, method: &str, path: &str) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|r| r.method == method && r.path.split('?').next() == Some(path)).cloned().collect()
    }
}

/// An answer whose body breaks off after its first byte: the connection fails mid-answer.
/// (A connection closed before any answer would be retried by Chromium itself, unseen; the
/// pause makes sure the status line and the first byte are on the wire before the break.)
fn broken_answer() -> Response {
    use futures_util::StreamExt;
    let first = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"{"))]);
    let then_break = futures_util::stream::once(async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Err(std::io::Error::other("connection broken by the fault proxy"))
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from_stream(first.chain(then_break)))
        .expect("a response")
}

async fn forward(p: &Proxy, method: reqwest::Method, path: &str, headers: HeaderMap, body: Bytes) -> Response {
    let mut req = p.http.request(method, format!("{}{path}", p.upstream)).body(body);
    for (name, value) in &headers {
        // Plain bodies, so index.html can be rewritten. As a reverse proxy does, the server is
        // addressed by its own name (reqwest sets Host), and the page's Origin (the proxy's)
        // is presented as the server's own: the server trusts neither Host nor a foreign Origin.
        if name == "origin" {
            req = req.header(name, p.upstream.as_str());
        } else if name != "accept-encoding" && name != "content-length" && name != "host" {
            req = req.header(name, value);
        }
    }
    let res = req.send().await.expect("the server answers the proxy");
    let status = res.status();
    let mut out = Response::builder().status(status.as_u16());
    for (name, value) in res.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            out = out.header(name, value);
        }
    }
    let html =
        res.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"));
    let mut bytes = res.bytes().await.expect("the server's body").to_vec();
    if html {
        // The console gives up on a request after 2 s here, so a delay can pass its timeout.
        let text = String::from_utf8_lossy(&bytes)
            .replace(
                r#"<meta name="cmek-api-timeout-secs" content="" />"#,
                r#"<meta name="cmek-api-timeout-secs" content="2" />"#,
            )
            .replace(
                r#"<meta name="cmek-api-timeout-secs" content="">"#,
                r#"<meta name="cmek-api-timeout-secs" content="2">"#,
            );
        assert!(
            text.contains(r#"cmek-api-timeout-secs" content="2""#) || !text.contains("cmek-api-timeout-secs"),
            "index.html's timeout was set"
        );
        bytes = text.into_bytes();
    }
    out.body(Body::from(bytes)).expect("a response")
}

async fn handle(State(p): State<Proxy>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path_and_query().map(|pq| pq.as_str().to_owned()).unwrap_or_else(|| "/".into());
    let headers = req.headers().clone();
    p.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: path.clone(),
        idempotency_key: headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned),
    });
    let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default();
    let m = reqwest::Method::from_bytes(method.as_str().as_bytes()).expect("method");
    match p.take(method.as_str(), &path) {
        None => forward(&p, m, &path, headers, body).await,
        Some(Fault::Status(status, body)) => Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        Some(Fault::RateLimited(secs)) => {
            let mut r = Response::builder().status(429).header("content-type", "application/json");
            let h = r.headers_mut().unwrap();
            h.insert("x-ratelimit-limit-minute", HeaderValue::from_static("100"));
            h.insert("x-ratelimit-remaining-minute", HeaderValue::from_static("0"));
            h.insert("x-ratelimit-reset", HeaderValue::from_str(&secs.to_string()).unwrap());
            let body = json!({"code": ErrorCode::RateLimited.code(), "message": "The request exceeded the limit of 100 times per apikey per minute.", "details": []});
            r.body(Body::from(body.to_string())).unwrap()
        }
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            forward(&p, m, &path, headers, body).await
        }
        Some(Fault::Drop) => broken_answer(),
        Some(Fault::ForwardThenDrop) => {
            let _ = forward(&p, m, &path, headers, body).await;
            broken_answer()
        }
    }
}

/// A proxy on a free loopback port in front of `server`.
async fn proxy(server: &Server) -> (Proxy, String) {
    let p = Proxy {
        upstream: server.url.clone(),
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        rules: Arc::default(),
        hits: Arc::default(),
        seen: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(handle).with_state(p.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (p, url)
}

async fn setup_page(server: &Server, browser: &Browser) -> Page {
    let page = browser.session().await;
    page.sign_in(server).await;
    page
}

/// A server with one project (no CMEK) named `name`, and the project's id.
async fn server_with_project(setup: &Setup, name: &str) -> (Server, String) {
    let server = Server::start(setup, &[]).await;
    let created = server.api("POST", "/api/v1beta/projects", Some(json!({ "name": name }))).await;
    let pid = created["id"].as_str().expect("the project's id").to_owned();
    (server, pid)
}

fn names(v: &Value) -> Vec<String> {
    v["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn reads_that_fail_say_so_and_recover_by_themselves() {
    let Some(setup) = Setup::find() else { return };
    let (server, pid) = server_with_project(&setup, "faulty").await;
    let (proxy, url) = proxy(&server).await;
    let browser = Browser::start(&setup).await;
    let page = setup_page(&server, &browser).await;

    // A server error: said in words, then retried by itself.
    let boom = json!({"code": ErrorCode::Internal.code(), "message": "storage failed on the server", "details": []});
    proxy.fault("GET", "/api/v1beta/projects?", Fault::Status(500, boom), 1);
    page.goto(&url).await;
    page.wait_text("storage failed on the server").await;
    page.screenshot("fault-500").await;
    page.find(&format!("tr[data-project-id='{pid}']")).await;

    // A rate limit: says so, waits for the reset, then recovers.
    let clusters = format!("/api/v1beta/projects/{pid}/clusters?");
    proxy.fault("GET", &clusters, Fault::RateLimited(2), 1);
    page.goto(&format!("{url}/projects/{pid}/clusters")).await;
    page.wait_text("The server asks this console to slow down").await;
    page.wait_text("Trying again in 2 s").await;
    page.screenshot("fault-429").await;
    page.wait_text("No clusters in this project yet").await;

    // An answer later than the console's timeout (2 s here).
    proxy.fault("GET", &clusters, Fault::Delay(Duration::from_secs(4)), 1);
    page.goto(&format!("{url}/projects/{pid}/clusters")).await;
    page.wait_text("did not answer within 2 seconds").await;
    page.screenshot("fault-timeout").await;
    page.wait_text("No clusters in this project yet").await;

    // A connection that breaks mid-answer.
    proxy.fault("GET", &clusters, Fault::Drop, 1);
    page.goto(&format!("{url}/projects/{pid}/clusters")).await;
    page.wait_text("could not be reached").await;
    page.wait_text("No clusters in this project yet").await;
    assert_eq!(proxy.hits().len(), 4, "{:?}", proxy.hits());
    close(page, browser, server).await;
}

#[tokio::test]
async fn creates_keep_their_input_and_never_happen_twice() {
    let Some(setup) = Setup::find() else { return };
    let server = Server::start(&setup, &[]).await;
    let (proxy, url) = proxy(&server).await;
    let browser = Browser::start(&setup).await;
    let page = setup_page(&server, &browser).await;

    // The server creates the project, but its answer is lost on the way back.
    proxy.fault("POST", "/api/v1beta/projects", Fault::ForwardThenDrop, 1);
    page.goto(&format!("{url}/projects/new")).await;
    page.find("#project-name").await.send_keys("payments-eu").await.unwrap();
    // CMEK is off by default: clusters go anywhere.
    page.find("#create-project").await.click().await.unwrap();
    page.wait_text("Creating the project failed").await;
    page.wait_text("could not be reached").await;
    page.screenshot("fault-create-lost-answer").await;
    let typed = page.js("return document.getElementById('project-name').value").await;
    assert_eq!(typed, "payments-eu", "the typed name is kept");
    // A double click on the retry: one request at a time, and the same submission. The retry is
    // held at the proxy for a second, so the second click lands while it is in flight.
    proxy.fault("POST", "/api/v1beta/projects", Fault::Delay(Duration::from_millis(1200)), 1);
    let create = page.find("#create-project").await;
    create.click().await.unwrap();
    for _ in 0..50 {
        if create.attr("aria-busy").await.unwrap().as_deref() == Some("true") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(create.attr("aria-busy").await.unwrap().as_deref(), Some("true"), "the retry is in flight");
    create.click().await.expect("the second click lands on the busy button");
    page.wait_text("No clusters in this project yet").await;
    let projects = server.api("GET", "/api/v1beta/projects?page=1&page_size=100", None).await;
    assert_eq!(
        names(&projects).iter().filter(|n| *n == "payments-eu").count(),
        1,
        "created once: {:?}",
        names(&projects)
    );
    // Every POST that left the browser: the lost one and one retry, with one Idempotency-Key.
    let posts = proxy.seen("POST", "/api/v1beta/projects");
    assert_eq!(posts.len(), 2, "the first submission and one retry, not one per click: {posts:?}");
    assert!(
        posts[0].idempotency_key.is_some() && posts.iter().all(|p| p.idempotency_key == posts[0].idempotency_key),
        "the retry is the same submission: {posts:?}"
    );
    assert_eq!(
        proxy.hits().iter().filter(|h| h.starts_with("POST /api/v1beta/projects")).count(),
        2,
        "{:?}",
        proxy.hits()
    );

    // A cluster whose first create meets a server error keeps the whole form.
    let pid = projects["items"].as_array().unwrap().iter().find(|p| p["name"] == "payments-eu").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let boom = json!({"code": ErrorCode::Internal.code(), "message": "storage failed on the server", "details": []});
    let path = format!("/api/v1beta/projects/{pid}/clusters");
    proxy.fault("POST", &path, Fault::Status(500, boom), 1);
    page.goto(&format!("{url}/projects/{pid}/clusters/new")).await;
    page.find("#cluster-name").await.send_keys("orders-1").await.unwrap();
    page.find("#cluster-password").await.send_keys("a-long-password").await.unwrap();
    page.find("#create-cluster-submit").await.click().await.unwrap();
    page.wait_text("storage failed on the server").await;
    let kept = page
        .js("return [document.getElementById('cluster-name').value, document.getElementById('cluster-password').value]")
        .await;
    assert_eq!(kept, json!(["orders-1", "a-long-password"]), "nothing typed is lost");
    page.find("#create-cluster-submit").await.click().await.unwrap();
    page.find("#cluster-status").await;
    let clusters = server.api("GET", &format!("{path}?page=1&page_size=100"), None).await;
    assert_eq!(names(&clusters), vec!["orders-1".to_owned()], "exactly one cluster");
    close(page, browser, server).await;
}

/// Where the lazy pages' wasm is asked for: scripts/split-wasm names it `split_lazy_pages-<hash>.wasm`
/// (src/lazy_routes.rs); the proxy's rules and hits match on this prefix.
const LAZY_PAGES_WASM: &str = "/split_lazy_pages";

/// A page whose wasm cannot be fetched (the network dropped, or a redeploy removed the old files
/// while the tab was open) says so and offers a reload; the console goes on working, and the
/// reload brings the page. The create-cluster page is one of the lazy routes
/// (src/lazy_routes.rs); the console also asks for it by itself once the clusters page is up
/// (its prefetch), which fails quietly.
#[tokio::test]
async fn a_page_whose_code_cannot_be_fetched_says_so_and_the_console_goes_on() {
    let Some(setup) = Setup::find() else { return };
    let (server, pid) = server_with_project(&setup, "split").await;
    let (proxy, url) = proxy(&server).await;
    let browser = Browser::start(&setup).await;
    let page = setup_page(&server, &browser).await;
    // What a static host answers for a file it no longer has (the body is never read).
    proxy.fault("GET", LAZY_PAGES_WASM, Fault::Status(404, json!({})), usize::MAX);
    let refused = |p: &Proxy| p.hits().iter().filter(|h| h.starts_with(&format!("GET {LAZY_PAGES_WASM}"))).count();

    // Moving to the page within the console: the notice, and the rest of the console still works.
    page.goto(&format!("{url}/projects/{pid}/clusters")).await;
    page.wait_text("No clusters in this project yet").await;
    page.click("#create-cluster").await;
    page.wait_text("This page could not be loaded").await;
    // Under the project's header, which holds the page's h1.
    page.find("[data-testid='page-code-missing'] h2").await;
    page.screenshot("fault-page-code-missing").await;
    assert!(refused(&proxy) >= 1, "the lazy pages' wasm was asked for, and refused: {:?}", proxy.hits());
    page.click("header a[href='/']").await;
    page.find(&format!("tr[data-project-id='{pid}']")).await;

    // Opening the page's address afresh: the notice again; once the file is back, Reload brings
    // the page.
    let before = refused(&proxy);
    page.goto(&format!("{url}/projects/{pid}/clusters/new")).await;
    page.wait_text("This page could not be loaded").await;
    assert!(refused(&proxy) > before, "a fresh load asked again: {:?}", proxy.hits());
    proxy.clear();
    page.find("[data-testid='page-code-missing'] button").await.click().await.unwrap();
    page.find("#cluster-name").await;
    close(page, browser, server).await;
}

/// While a lazy page's wasm is still on its way, the console shows that it is loading (a bar
/// under the header, `aria-busy` on the main region) instead of seeming frozen, then the page.
#[tokio::test]
async fn a_page_whose_code_is_slow_to_arrive_shows_that_it_is_loading() {
    let Some(setup) = Setup::find() else { return };
    let (server, pid) = server_with_project(&setup, "slow").await;
    let (proxy, url) = proxy(&server).await;
    let browser = Browser::start(&setup).await;
    let page = setup_page(&server, &browser).await;
    // Every fetch of the lazy pages' wasm, the idle prefetch's included, takes 3 s.
    proxy.fault("GET", LAZY_PAGES_WASM, Fault::Delay(Duration::from_secs(3)), usize::MAX);

    page.goto(&format!("{url}/projects/{pid}/clusters")).await;
    page.wait_text("No clusters in this project yet").await;
    let bar = r#"document.querySelector("[data-testid='page-code-arriving']")"#;
    assert_eq!(page.js(&format!("return {bar}.hidden")).await, json!(true), "no bar before a move");
    page.click("#create-cluster").await;
    page.wait_js(
        "the loading bar",
        &format!(
            "!{bar}.hidden && getComputedStyle({bar}).opacity === '1' \
             && document.getElementById('main').getAttribute('aria-busy') === 'true'"
        ),
    )
    .await;
    page.screenshot("page-loading").await;
    page.find("#cluster-name").await;
    page.wait_js(
        "the bar gone",
        &format!("{bar}.hidden && !document.getElementById('main').hasAttribute('aria-busy')"),
    )
    .await;
    assert!(
        proxy.hits().iter().any(|h| h.starts_with(&format!("GET {LAZY_PAGES_WASM}"))),
        "the lazy pages' wasm went through the slow proxy: {:?}",
        proxy.hits()
    );
    close(page, browser, server).await;
}
