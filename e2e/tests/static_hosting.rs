#![cfg(not(target_arch = "wasm32"))]
//! The console on a static host, the API on another origin: `scripts/build-static` makes the
//! folder, nginx serves it with the project's own server block (the one in the folder) on a
//! free loopback port, cmek-server runs on another port with `--allowed-origin` and
//! `--console-url`. In headless Chromium: sign in with the link the server printed, create a CMEK
//! project, configure its key, create a region-locked cluster, reload on a deep link; the
//! browser logs no CSP violation and no CORS error. At the root, under a sub-path, and under a
//! sub-path on a host without rewrites (GitHub Pages: `404.html` answers unknown addresses).

use cmek_e2e::{Browser, Page, Server, Setup, close, workspace_root};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

fn nginx_bin() -> Option<PathBuf> {
    let p = std::env::var_os("NGINX").map(PathBuf::from).unwrap_or_else(|| "/usr/sbin/nginx".into());
    if p.is_file() {
        return Some(p);
    }
    let msg = format!("nginx is missing at {} (scripts/setup installs it)", p.display());
    if std::env::var("CMEK_E2E").as_deref() == Ok("1") {
        panic!("{msg} (CMEK_E2E=1: this is a failure)");
    }
    eprintln!("\n*** SKIPPING static hosting tests: {msg}\n");
    None
}

async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr").port()
}

/// `scripts/build-static --api-base API [--base-path BASE] OUT`, with the harness's server binary
/// computing the headers.
async fn build_static(setup: &Setup, api: &str, base_path: &str, out: &Path) {
    // One build at a time: trunk's intermediate files live in the shared target/, and two builds
    // at once served a wasm of zeros ("expected magic word 00 61 73 6d, found 00 00 00 00").
    static ONE_BUILD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = ONE_BUILD.lock().await;
    let status = Command::new(workspace_root().join("scripts/build-static"))
        .args(["--api-base", api, "--base-path", base_path])
        .arg(out)
        .env("CMEK_SERVER_BIN", &setup.server_bin)
        .status()
        .await
        .expect("run scripts/build-static");
    assert!(status.success(), "scripts/build-static failed");
    for f in ["index.html", "404.html", "_headers", "_redirects", "nginx.conf"] {
        assert!(out.join(f).is_file(), "build-static wrote no {f}");
    }
}

/// nginx with the folder's own server block (its `listen` set to `port`; without rewrites, its
/// `try_files` replaced by `error_page 404` as on GitHub Pages), in the foreground, with its
/// own prefix, pid and logs in a temp dir; one process (`master_process off`), so killing it
/// leaves no workers behind.
struct Nginx {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Nginx {
    async fn start(bin: &Path, out: &Path, port: u16, base_path: &str, rewrites: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let block = std::fs::read_to_string(out.join("nginx.conf")).expect("the folder's nginx.conf");
        assert!(block.contains("try_files") && block.contains("listen 8080;"), "{block}");
        let block: String = block
            .lines()
            .map(|l| {
                if l.trim() == "listen 8080;" {
                    format!("    listen 127.0.0.1:{port};")
                } else if !rewrites && l.contains("try_files") {
                    format!("        error_page 404 {base_path}404.html;")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let d = dir.path().display();
        let root = std::process::Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
        let conf = format!(
            "daemon off;\nmaster_process off;\n{user}pid {d}/nginx.pid;\nerror_log {d}/error.log warn;\nevents {{ worker_connections 64; }}\nhttp {{\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{block}\n}}\n",
            user = if root { "user root;\n" } else { "" },
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).expect("write nginx.conf");
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start nginx");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Self { child, _dir: dir };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
        panic!("nginx did not listen on {port}:\n{log}");
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Browser log lines about CSP or CORS.
async fn csp_or_cors_errors(page: &Page) -> Vec<String> {
    page.console_errors()
        .await
        .into_iter()
        .filter(|m| {
            let m = m.to_ascii_lowercase();
            m.contains("content security policy") || m.contains("cors") || m.contains("access-control")
        })
        .collect()
}

/// The user guide's main path, in the console at `console` (`http://host:port` + base, no
/// trailing slash), from the server's printed sign-in link to a reload on a cluster's page.
async fn walk_the_guide(page: &Page, server: &Server, console: &str, base: &str) {
    assert!(server.sign_in_url.starts_with(&format!("{console}/sign-in#token=")), "{}", server.sign_in_url);
    page.goto(&server.sign_in_url).await;
    page.wait_js("the projects page, signed in", "document.querySelector('.page-head a.btn.primary')").await;
    page.wait_path(&format!("^{base}/?$")).await;
    // Links carry the base path.
    let brand = page.js("return document.querySelector('header a.brand').getAttribute('href')").await;
    assert_eq!(brand, json!(format!("{base}/")));

    // A CMEK project, created in the console.
    page.click(".page-head a.btn.primary").await;
    page.wait_path(&format!("^{base}/projects/new$")).await;
    page.type_into("#project-name", "static-hosted").await;
    // CMEK is off by default (it can never be undone): turn it on, as a person would.
    page.click("#project-cmek").await;
    page.wait_text("With CMEK: you configure the key next").await;
    page.click("#create-project").await;
    let p = page.wait_path(&format!("^{base}/projects/\\d+/encryption$")).await;
    let pid = p.split("/projects/").nth(1).and_then(|r| r.split('/').next()).expect("project id").to_owned();

    // A key in the sandbox KMS (its page, reached by the header's link), trusting TiDB Cloud.
    page.click("header nav a[href$='/sandbox-kms']").await;
    page.wait_path(&format!("^{base}/sandbox-kms$")).await;
    let (_, arn) = page.create_sandbox_key("us-west-2", "static-hosted CMEK", true).await;
    assert!(arn.starts_with("arn:aws:kms:us-west-2:"), "{arn}");

    // Configure the key: a deep link, loaded from the host.
    page.goto(&format!("{console}/projects/{pid}/encryption/create")).await;
    page.select("#key-region", "us-west-2").await;
    page.type_into("#key-arn", &arn).await;
    page.wait_js(
        "the ARN to be checked",
        "document.querySelector('#key-arn-status').innerText.includes('A key in us-west-2')",
    )
    .await;
    page.click("#create-key-submit").await;
    page.wait_path(&format!("^{base}/projects/{pid}/encryption$")).await;
    page.find("#key-health [data-state=\"ACCESSIBLE\"]").await;

    // A cluster: region locked to the key's.
    page.goto(&format!("{console}/projects/{pid}/clusters/new")).await;
    let locked = page.find("#locked-fields").await.text().await.expect("locked fields");
    assert!(locked.contains("us-west-2"), "{locked}");
    page.type_into("#cluster-name", "static-db").await;
    page.type_into("#cluster-password", "Sup3r-secret-pw").await;
    page.click("#create-cluster-submit").await;
    let cluster_path = page.wait_path(&format!("^{base}/projects/{pid}/clusters/\\d+$")).await;
    page.wait_js(
        "the cluster to be Available",
        "document.querySelector('#cluster-status').innerText.toLowerCase().includes('available')",
    )
    .await;

    // Reload on the deep link.
    page.client.refresh().await.expect("reload");
    page.wait_js(
        "the cluster's page after a reload",
        "document.querySelector('#cluster-title')?.innerText.includes('static-db')",
    )
    .await;
    assert_eq!(page.path().await, cluster_path);
}

#[tokio::test]
async fn the_console_on_a_static_host_at_the_root() {
    let Some(setup) = Setup::find() else { return };
    let Some(nginx) = nginx_bin() else { return };
    let port = free_port().await;
    let console = format!("http://127.0.0.1:{port}");
    let server = Server::start(&setup, &["--allowed-origin", &console, "--console-url", &format!("{console}/")]).await;
    let out = tempfile::tempdir().expect("temp dir");
    build_static(&setup, &server.url, "/", out.path()).await;
    let host = Nginx::start(&nginx, out.path(), port, "/", true).await;
    let browser = Browser::start(&setup).await;
    let page = browser.session().await;

    walk_the_guide(&page, &server, &console, "").await;
    page.screenshot("static-root-cluster").await;
    page.assert_no_console_errors().await;

    host.stop().await;
    close(page, browser, server).await;
}

#[tokio::test]
async fn the_console_under_a_sub_path_with_and_without_rewrites() {
    let Some(setup) = Setup::find() else { return };
    let Some(nginx) = nginx_bin() else { return };
    let (port, plain_port) = (free_port().await, free_port().await);
    let console = format!("http://127.0.0.1:{port}/cmek");
    let plain = format!("http://127.0.0.1:{plain_port}/cmek");
    let server = Server::start(
        &setup,
        &[
            "--allowed-origin",
            &format!("http://127.0.0.1:{port}"),
            "--allowed-origin",
            &format!("http://127.0.0.1:{plain_port}"),
            "--console-url",
            &format!("{console}/"),
        ],
    )
    .await;
    let out = tempfile::tempdir().expect("temp dir");
    build_static(&setup, &server.url, "/cmek/", out.path()).await;
    let host = Nginx::start(&nginx, out.path(), port, "/cmek/", true).await;
    let browser = Browser::start(&setup).await;
    let page = browser.session().await;
    walk_the_guide(&page, &server, &console, "/cmek").await;
    page.screenshot("static-sub-path-cluster").await;
    // The browser also asks the host's root for /favicon.ico, which is not the console's.
    let errors: Vec<String> =
        page.console_errors().await.into_iter().filter(|e| !e.contains(&format!(":{port}/favicon.ico "))).collect();
    assert!(errors.is_empty(), "the browser console has errors:\n{}", errors.join("\n"));
    let cluster_path = page.path().await;
    page.close().await;

    // A host without rewrites: the deep link is answered by 404.html (status 404), which is the
    // app; links and navigation stay under the sub-path.
    let no_rewrites = Nginx::start(&nginx, out.path(), plain_port, "/cmek/", false).await;
    let status = reqwest::get(format!("http://127.0.0.1:{plain_port}{cluster_path}")).await.expect("GET").status();
    assert_eq!(status, 404, "this host has no rewrites");
    let page = browser.session().await;
    page.sign_in(&server).await;
    page.goto(&format!("http://127.0.0.1:{plain_port}{cluster_path}")).await;
    page.wait_js(
        "the cluster's page from 404.html",
        "document.querySelector('#cluster-title')?.innerText.includes('static-db')",
    )
    .await;
    page.click("header a.brand").await;
    page.wait_path("^/cmek/?$").await;
    page.wait_text("static-hosted").await;
    assert!(plain.ends_with("/cmek"));
    let bad = csp_or_cors_errors(&page).await;
    assert!(bad.is_empty(), "CSP or CORS errors:\n{}", bad.join("\n"));

    no_rewrites.stop().await;
    host.stop().await;
    close(page, browser, server).await;
}
