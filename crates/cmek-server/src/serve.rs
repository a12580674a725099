//! Starting the server: open the database, bind, run the background jobs (settling cluster
//! transitions, time passing in the sandbox KMS, the periodic key check), shut down cleanly.

use crate::app::{AppState, router};
use crate::clock::now_ms;
use crate::config::ServeArgs;
use crate::db::Db;
use crate::kms::sandbox::SandboxKms;
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Db(#[from] crate::db::OpenError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot read the console password file {path}: {source}")]
    PasswordFile { path: std::path::PathBuf, source: std::io::Error },
    #[error("the console password (in {0}) is empty")]
    EmptyPassword(String),
}

/// The console password: the first line of `--console-password-file`, else
/// `CMEK_CONSOLE_PASSWORD`; none when neither is set.
fn console_password(args: &ServeArgs) -> Result<Option<String>, ServeError> {
    let (password, from) = if let Some(path) = &args.console_password_file {
        let text =
            std::fs::read_to_string(path).map_err(|source| ServeError::PasswordFile { path: path.clone(), source })?;
        (text.lines().next().unwrap_or("").to_owned(), path.display().to_string())
    } else {
        match std::env::var("CMEK_CONSOLE_PASSWORD") {
            Ok(p) => (p, "CMEK_CONSOLE_PASSWORD".to_owned()),
            Err(_) => return Ok(None),
        }
    };
    if password.is_empty() {
        return Err(ServeError::EmptyPassword(from));
    }
    Ok(Some(password))
}

/// One pass of what time does: transitions that are due settle (every write does that first);
/// sandbox keys rotate or are deleted. Returns the ARNs whose key changed.
pub async fn tick(state: &AppState) -> Vec<String> {
    let r = state.db.write(|tx| Ok(SandboxKms::advance(tx, now_ms() / 1000)?)).await;
    match r {
        Ok(changed) => changed,
        Err(e) => {
            tracing::warn!(error = %e.body.message, "background tick failed; retrying on the next one");
            Vec::new()
        }
    }
}

fn spawn_background(state: AppState) {
    let ticker = state.clone();
    // Often enough that an AVAILABLE event lands close to when the status changed; the status
    // itself is derived from timestamps and never waits for this.
    let period = Duration::from_millis(((state.durations.create_ms / 4).clamp(50, 1000)) as u64);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(period);
        loop {
            every.tick().await;
            for arn in tick(&ticker).await {
                if let Err(e) = ticker.keys.recheck_arn(&arn).await {
                    tracing::warn!(error = %e.body.message, %arn, "re-checking a changed key failed");
                }
            }
        }
    });
    let checker = state;
    let secs = checker.args.key_check_secs;
    if secs > 0.0 {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs_f64(secs));
            every.tick().await;
            loop {
                every.tick().await;
                match checker.keys.check_all().await {
                    Ok(n) => tracing::debug!(keys = n, "periodic key check done"),
                    Err(e) => tracing::warn!(error = %e.body.message, "periodic key check failed"),
                }
            }
        });
    }
}

/// Serves until Ctrl-C / SIGTERM. `on_ready` gets the bound address (port 0 → a free port) and
/// this start's one-time console sign-in token.
pub async fn serve(args: ServeArgs, on_ready: impl FnOnce(std::net::SocketAddr, &str)) -> Result<(), ServeError> {
    let password = console_password(&args)?;
    let db = Db::open(&args.data_dir)?;
    let listener =
        TcpListener::bind(args.listen).await.map_err(|source| ServeError::Bind { addr: args.listen, source })?;
    let addr = listener.local_addr()?;
    let token = crate::auth::random_token();
    let auth = crate::auth::Auth::new(&args, &token, password.as_deref());
    let state = AppState::new(db, args, auth);
    // Finish what a previous run left mid-transition, and look again at keys that changed while
    // the server was down, before answering anything.
    for arn in tick(&state).await {
        if let Err(e) = state.keys.recheck_arn(&arn).await {
            tracing::warn!(error = %e.body.message, %arn, "re-checking a changed key failed");
        }
    }
    spawn_background(state.clone());
    on_ready(addr, &token);
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
