//! Starting the server: open the database, bind, run the background jobs (settling cluster
//! transitions, time passing in the sandbox KMS, the periodic key check), shut down cleanly.
//!
//! Connections are served by hyper directly (not `axum::serve`) so that a slow or idle client
//! cannot hold the server: a header-read timeout (which also closes idle keep-alive
//! connections), a body timeout (tower-http), a cap on connections kept below the open-file
//! limit, and graceful shutdown with a deadline (hyper-util).

use crate::app::router;
use crate::clock::now_ms;
use crate::config::ServeArgs;
use crate::db::Db;
use crate::kms::sandbox::SandboxKms;
use crate::state::AppState;
use std::sync::Arc;
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
    #[error(transparent)]
    Gateway(#[from] crate::gateway::GatewayError),
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
            tracing::warn!(error = %e, "background tick failed; retrying on the next one");
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
                if let Err(e) = ticker.key_access.recheck_arn(&arn).await {
                    tracing::warn!(error = %e, %arn, "re-checking a changed key failed");
                }
            }
            if let Err(e) = crate::routes::backups::run_auto_backups(&ticker).await {
                tracing::warn!(error = %e, "the automatic backups failed; retrying on the next tick");
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
                match checker.key_access.check_all().await {
                    Ok(n) => tracing::debug!(keys = n, "periodic key check done"),
                    Err(e) => tracing::warn!(error = %e, "periodic key check failed"),
                }
            }
        });
    }
}

/// Serves until Ctrl-C / SIGTERM. `on_ready` gets the bound address (port 0 → a free port) and
/// this start's one-time console sign-in token.
pub async fn serve(args: ServeArgs, on_ready: impl FnOnce(std::net::SocketAddr, &str)) -> Result<(), ServeError> {
    let password = console_password(&args)?;
    let gateway = crate::gateway::Gateway::from_args(&args.gateway)?;
    let db = Db::open(&args.data_dir)?;
    let listener =
        TcpListener::bind(args.listen).await.map_err(|source| ServeError::Bind { addr: args.listen, source })?;
    let addr = listener.local_addr()?;
    let token = crate::auth::random_token();
    let auth = crate::auth::Auth::new(&args, addr, &token, password.as_deref());
    let state = AppState::new(db, args, auth, gateway);
    // Finish what a previous run left mid-transition, and look again at keys that changed while
    // the server was down, before answering anything.
    for arn in tick(&state).await {
        if let Err(e) = state.key_access.recheck_arn(&arn).await {
            tracing::warn!(error = %e, %arn, "re-checking a changed key failed");
        }
    }
    spawn_background(state.clone());
    let limits = ConnectionLimits::new(&state.args);
    on_ready(addr, &token);
    serve_connections(listener, router(state), limits, shutdown()).await;
    Ok(())
}

/// What a connection may take.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub header_read: Duration,
    pub body: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

impl ConnectionLimits {
    /// From the command line; the connection cap is also kept below the open-file limit
    /// (raised to its hard maximum first, as Go's runtime does), so the database and the
    /// listener always have descriptors left.
    pub fn new(args: &ServeArgs) -> Self {
        let files = raise_open_file_limit();
        let by_files = files.map_or(usize::MAX, |n| (n.saturating_sub(64) as usize).max(16));
        let max_connections = (args.max_connections as usize).min(by_files);
        tracing::debug!(max_connections, open_files = ?files, "connection cap");
        Self {
            header_read: Duration::from_secs_f64(args.header_read_timeout_secs),
            body: Duration::from_secs_f64(args.body_timeout_secs),
            max_connections,
            shutdown_grace: Duration::from_secs_f64(args.shutdown_grace_secs),
        }
    }
}

/// Raises the soft open-file limit to the hard one; the limit now in force, if known.
fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut l = getrlimit(Resource::Nofile);
        if l.current < l.maximum {
            l.current = l.maximum;
            if setrlimit(Resource::Nofile, l).is_err() {
                l = getrlimit(Resource::Nofile);
            }
        }
        l.current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Accepts and serves connections until `stop` resolves, then gives open connections
/// `shutdown_grace` to finish and returns.
pub async fn serve_connections(
    listener: TcpListener,
    app: axum::Router,
    limits: ConnectionLimits,
    stop: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read).keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut stop = std::pin::pin!(stop);
    loop {
        // At the cap, new connections wait in the listen backlog until one ends.
        let permit = tokio::select! {
            biased;
            _ = &mut stop => break,
            p = Arc::clone(&permits).acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            biased;
            _ = &mut stop => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // E.g. out of file descriptors: wait for some to be freed, don't spin.
                    tracing::warn!(error = %e, "accepting a connection failed; retrying shortly");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let body_timeout = limits.body;
        let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let mut req = req.map(|b| axum::body::Body::new(tower_http::timeout::TimeoutBody::new(body_timeout, b)));
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            tower::ServiceExt::oneshot(app.clone(), req)
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "a connection ended with an error");
            }
        });
    }
    drop(listener);
    let grace = limits.shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            secs = grace.as_secs_f64(),
            "connections were still open at the shutdown deadline; closing them"
        );
    }
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
