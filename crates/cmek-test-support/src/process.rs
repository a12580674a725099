//! The real `cmek-server` binary: its `api-key` subcommand, and starting it until it listens.
//! Callers pass the binary's path (`env!("CARGO_BIN_EXE_cmek-server")` in the server's tests,
//! the release build in the end-to-end tests).

use crate::digest::ApiKey;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Runs `BIN api-key ARGS…` and returns its stdout (panics when it fails).
pub async fn api_key_command(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .arg("api-key")
        .args(args)
        .env("CMEK_LOG", "warn")
        .output()
        .await
        .expect("run cmek-server api-key");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "cmek-server api-key {args:?} failed: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Creates an API key named `name` in `data_dir` with `BIN api-key create`.
pub async fn create_api_key(bin: &Path, data_dir: &Path, name: &str) -> ApiKey {
    let dir = data_dir.to_str().expect("a UTF-8 path");
    ApiKey::from_create_output(&api_key_command(bin, &["create", "--data-dir", dir, "--name", name]).await)
}

/// `BIN` with what every test start shares: a free loopback port, `--transition-secs`, no
/// background key checks, `--data-dir`, `--console-dir`, warnings only in the log, stdout piped
/// (for [`start`]) and killed when dropped. Callers add their own arguments after these.
pub fn server_command(bin: &Path, data_dir: &Path, console_dir: &Path, transition_secs: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(["--listen", "127.0.0.1:0", "--transition-secs", transition_secs, "--key-check-secs", "0"])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--console-dir")
        .arg(console_dir)
        .env("CMEK_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// A started server: the process, its base URL and the one-time console sign-in link it printed.
pub struct Started {
    pub child: Child,
    pub base: String,
    pub sign_in_url: String,
}

/// Spawns `cmd` (stdout piped) and waits up to 30 s for `cmek-server: listening on URL` and
/// `console sign-in: LINK`; stdout is drained afterwards so the child never blocks on a full
/// pipe.
pub async fn start(cmd: Command) -> Started {
    let (child, base, sign_in_url) = spawn_and_read(cmd, true, String::new).await;
    Started { child, base, sign_in_url: sign_in_url.unwrap_or_default() }
}

/// [`start`] for a server whose sign-in link the test does not wait for: the process and its
/// base URL once it listens. `exited` says more when it exits first (e.g. its log).
pub async fn start_listening(cmd: Command, exited: impl FnOnce() -> String) -> (Child, String) {
    let (child, base, _) = spawn_and_read(cmd, false, exited).await;
    (child, base)
}

async fn spawn_and_read(
    mut cmd: Command,
    want_sign_in: bool,
    exited: impl FnOnce() -> String,
) -> (Child, String, Option<String>) {
    let mut child = cmd.spawn().expect("start cmek-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let (base, sign_in_url) = tokio::time::timeout(Duration::from_secs(30), async {
        let mut base = None;
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(url) = line.strip_prefix("cmek-server: listening on ") {
                if !want_sign_in {
                    return (url.to_owned(), None);
                }
                base = Some(url.to_owned());
            }
            if let Some(url) = line.strip_prefix("console sign-in: ") {
                return (base.expect("the listening line comes first"), Some(url.to_owned()));
            }
        }
        panic!("cmek-server exited before listening{}", exited());
    })
    .await
    .expect("cmek-server did not start within 30 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base, sign_in_url)
}
