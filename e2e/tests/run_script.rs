//! The README's first command: `scripts/run` builds what is missing, starts the server with the
//! console, prints where to open it and the one-time sign-in link; the link signs a browser in
//! and the console lists the projects.
#![cfg(not(target_arch = "wasm32"))]

use cmek_e2e::{Browser, Setup, workspace_root};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn scripts_run_serves_the_console_and_prints_the_sign_in_link() {
    let Some(setup) = Setup::find() else { return };
    let data = tempfile::tempdir().unwrap();
    let mut run = tokio::process::Command::new("bash")
        .arg(workspace_root().join("scripts/run"))
        .args(["--listen", "127.0.0.1:0", "--transition-secs", "0.5"])
        .arg("--data-dir")
        .arg(data.path())
        .env("CMEK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("scripts/run");
    let mut lines = BufReader::new(run.stdout.take().unwrap()).lines();
    let (mut open, mut sign_in) = (None, None);
    // The first run may build; later ones find everything built.
    tokio::time::timeout(Duration::from_secs(600), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(u) = line.strip_prefix("cmek-server: listening on ") {
                open = Some(u.to_owned());
            }
            if let Some(u) = line.strip_prefix("console sign-in: ") {
                sign_in = Some(u.to_owned());
                break;
            }
        }
    })
    .await
    .expect("scripts/run started the server");
    let open = open.expect("scripts/run prints the address it serves");
    let sign_in = sign_in.expect("scripts/run prints the sign-in link");
    assert!(sign_in.starts_with(open.trim_end_matches('/')) && sign_in.contains("/sign-in#token="), "{sign_in}");
    let browser = Browser::start(&setup).await;
    let page = browser.session().await;
    page.goto(&sign_in).await;
    page.wait_text("No projects yet").await;
    assert!(
        !page.js("return location.href").await.as_str().unwrap().contains("token="),
        "the token leaves the address bar"
    );
    page.screenshot("run-script-projects").await;
    page.assert_no_console_errors().await;
    page.close().await;
    browser.stop().await;
    let _ = run.kill().await;
}
