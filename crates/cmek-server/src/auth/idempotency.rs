//! `Idempotency-Key` on creates (`POST /api/v1beta/projects`, `…/clusters`, `…/aws-cmek`, `…/backups`, `…/restores`): it
//! protects against *duplicates*, not against *retries after a refusal*.
//!
//! - A **successful** (2xx) answer for a key (per credential) is kept for 24 hours and answered
//!   again, with `Idempotent-Replayed: true`, for a repeat with the same method, path and body;
//!   the same key with another request is refused.
//! - A **refusal** (4xx) is not kept: it changed nothing, and it answered the request as the world
//!   was (the key's access, the project's state). A retry with the same key runs every check
//!   anew, so fixing the key policy and pressing Create again works (as Stripe does).
//! - A repeat that arrives while the first is still running waits for it, then gets its answer
//!   (or, if that was a refusal, runs anew) — so a double click creates once.
//! - The first request runs to its end even when its client goes away, so a retry after a
//!   timeout finds its answer.
use super::authenticate::credential_of;
use crate::db::Db;
use crate::error::ApiError;
use crate::extract::{MAX_BODY_BYTES, READ_BODY_BYTES};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::extract::{FromRef, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cmek_core::ErrorCode;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const HEADER: &str = "idempotency-key";
/// Marks an answer that is a replay of the first one.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// How long an answer is kept.
pub const TTL_MS: i64 = 24 * 3600 * 1000;
/// How long a repeat waits for the first request to finish.
const WAIT: Duration = Duration::from_secs(60);

/// Whether `method path` is one of the creates that take the header.
pub fn applies(method: &Method, path: &str) -> bool {
    if method != Method::POST {
        return false;
    }
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["", "api", "v1beta", "projects"] => true,
        ["", "api", "v1beta", "projects", id, "clusters" | "aws-cmek" | "restores"] => !id.is_empty(),
        ["", "api", "v1beta", "projects", id, "clusters", cid, "backups"] => !id.is_empty() && !cid.is_empty(),
        _ => false,
    }
}

/// The header's value: 1–255 visible ASCII characters.
pub fn check_key(value: &HeaderValue) -> Result<String, ApiError> {
    let bad = || {
        ApiError::new(
            ErrorCode::InvalidField,
            "the Idempotency-Key header must be 1–255 visible ASCII characters (e.g. a UUID), one per submission",
        )
    };
    let s = value.to_str().map_err(|_| bad())?;
    if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(s.to_owned())
}

/// HMAC-SHA-256 of what makes two requests "the same": method, path and query, body. Keyed
/// with the server's secret ([`Db::fingerprint_key`]): a body holds `root_password`, and a
/// plain hash of it stored in the database could be ground offline.
pub fn fingerprint(secret: &[u8], method: &Method, path_and_query: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut h = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    h.update(method.as_str().as_bytes());
    h.update(b"\n");
    h.update(path_and_query.as_bytes());
    h.update(b"\n");
    h.update(body);
    super::digest::hex(&h.finalize().into_bytes())
}

/// A kept answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub fingerprint: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

pub fn find(c: &Connection, scope: &str, key: &str, now_ms: i64) -> rusqlite::Result<Option<Stored>> {
    c.query_row(
        "SELECT fingerprint, status, content_type, body FROM idempotent_requests
         WHERE scope = ?1 AND key = ?2 AND created_at > ?3",
        params![scope, key, now_ms - TTL_MS],
        |r| Ok(Stored { fingerprint: r.get(0)?, status: r.get(1)?, content_type: r.get(2)?, body: r.get(3)? }),
    )
    .optional()
}

pub fn store(c: &Connection, scope: &str, key: &str, s: &Stored, now_ms: i64) -> rusqlite::Result<()> {
    c.execute("DELETE FROM idempotent_requests WHERE created_at <= ?1", [now_ms - TTL_MS])?;
    c.execute(
        "INSERT OR REPLACE INTO idempotent_requests (scope, key, fingerprint, status, content_type, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![scope, key, s.fingerprint, s.status, s.content_type, s.body, now_ms],
    )?;
    Ok(())
}

/// The keys whose first request is running now.
#[derive(Clone, Default)]
pub struct InFlight(Arc<Mutex<HashSet<(String, String)>>>);

/// Removes its key from the running set when dropped (also on a panic or a cancellation).
struct Running {
    set: InFlight,
    id: (String, String),
}

impl Drop for Running {
    fn drop(&mut self) {
        self.set.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
    }
}

impl InFlight {
    /// Waits until no other request with this key runs, then marks this one as running.
    async fn enter(&self, id: (String, String)) -> Option<Running> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone()) {
                return Some(Running { set: self.clone(), id });
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn replay(s: Stored) -> Response {
    let status = StatusCode::from_u16(s.status).unwrap_or(StatusCode::OK);
    let mut res = (status, Body::from(s.body)).into_response();
    let h = res.headers_mut();
    if let Some(v) = s.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(REPLAYED, HeaderValue::from_static("true"));
    res
}

/// What the idempotency layer needs: where answers are kept, and which keys are running.
#[derive(Clone)]
pub struct Idempotency {
    pub db: Arc<Db>,
    pub in_flight: InFlight,
}

impl FromRef<AppState> for Idempotency {
    fn from_ref(s: &AppState) -> Self {
        Self { db: Arc::clone(&s.db), in_flight: s.auth.in_flight.clone() }
    }
}

/// The last layer before the handlers: a create with an `Idempotency-Key` runs once per key
/// and credential ([`run`]); a malformed key is refused; other requests pass.
pub async fn deduplicate_creates(State(i): State<Idempotency>, req: Request, next: Next) -> Response {
    if !applies(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let key = match req.headers().get(HEADER).map(check_key).transpose() {
        Ok(Some(key)) => key,
        Ok(None) => return next.run(req).await,
        Err(e) => return e.into_response(),
    };
    let Some(scope) = credential_of(&req).map(super::Credential::scope) else {
        return ApiError::internal("the request", "the idempotency layer ran before authentication").into_response();
    };
    run(i.db, i.in_flight, scope, key, req, next).await
}

/// Runs a create that carries `Idempotency-Key: key` for the credential `scope`.
pub async fn run(db: Arc<Db>, in_flight: InFlight, scope: String, key: String, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    // Read to the end (up to READ_BODY_BYTES) even when too large, as `JsonBody` does.
    let bytes: Bytes = match axum::body::to_bytes(body, READ_BODY_BYTES).await {
        Ok(b) if b.len() <= MAX_BODY_BYTES => b,
        _ => {
            return ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            )
            .into_response();
        }
    };
    let target = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let fp = fingerprint(db.fingerprint_key(), &parts.method, &target, &bytes);
    let Some(running) = in_flight.enter((scope.clone(), key.clone())).await else {
        return ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            format!("the first request with Idempotency-Key \"{key}\" is still running; retry later"),
        )
        .into_response();
    };
    let (s2, k2) = (scope.clone(), key.clone());
    let now = crate::clock::now_ms();
    match db.read(move |c| Ok(find(c, &s2, &k2, now)?)).await {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(Some(stored)) if stored.fingerprint == fp => return replay(stored),
        Ok(Some(_)) => {
            return ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                format!(
                    "the Idempotency-Key header \"{key}\" was already used for another request (another body or path) in the last 24 hours; send a new key for a new request"
                ),
            )
            .into_response();
        }
        Ok(None) => {}
    }
    let req = Request::from_parts(parts, Body::from(bytes));
    // Spawned: when the client goes away, the create still finishes and its answer is kept.
    let task = tokio::spawn(async move {
        let _running = running;
        let res = next.run(req).await;
        let (parts, body) = res.into_parts();
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(b) => b,
            Err(e) => return ApiError::internal("reading the answer", e).into_response(),
        };
        // Only a success is kept: a refusal changed nothing, so a retry must be checked anew.
        if parts.status.is_success() {
            let stored = Stored {
                fingerprint: fp,
                status: parts.status.as_u16(),
                content_type: parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned),
                body: bytes.to_vec(),
            };
            let kept = db.write(move |tx| Ok(store(tx, &scope, &key, &stored, crate::clock::now_ms())?)).await;
            if let Err(e) = kept {
                tracing::warn!(error = %e, "could not keep an idempotent answer");
            }
        }
        Response::from_parts(parts, Body::from(bytes))
    });
    task.await.unwrap_or_else(|e| ApiError::internal("the request", e).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_creates() {
        assert!(applies(&Method::POST, "/api/v1beta/projects"));
        assert!(applies(&Method::POST, "/api/v1beta/projects/1/clusters"));
        assert!(applies(&Method::POST, "/api/v1beta/projects/1/aws-cmek"));
        assert!(!applies(&Method::GET, "/api/v1beta/projects"));
        assert!(!applies(&Method::POST, "/api/v1beta/projects/1/clusters/2"));
        assert!(applies(&Method::POST, "/api/v1beta/projects/1/clusters/2/backups"));
        assert!(applies(&Method::POST, "/api/v1beta/projects/1/restores"));
        assert!(!applies(&Method::POST, "/api/ext/v1/sandbox-kms/keys"));
        assert!(!applies(&Method::POST, "/api/v1beta/projects//clusters"));
    }

    #[test]
    fn keys() {
        assert_eq!(check_key(&HeaderValue::from_static("abc-123")).unwrap(), "abc-123");
        assert!(check_key(&HeaderValue::from_static("")).is_err());
        assert!(check_key(&HeaderValue::from_static("a b")).is_err());
        assert!(check_key(&HeaderValue::from_str(&"x".repeat(256)).unwrap()).is_err());
        assert_ne!(fingerprint(b"k", &Method::POST, "/a", b"{}"), fingerprint(b"k", &Method::POST, "/a", b"{ }"));
        assert_ne!(fingerprint(b"k", &Method::POST, "/a", b"{}"), fingerprint(b"k", &Method::POST, "/b", b"{}"));
        assert_ne!(fingerprint(b"k", &Method::POST, "/a", b"{}"), fingerprint(b"j", &Method::POST, "/a", b"{}"));
    }

    #[test]
    fn answers_are_kept_for_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let s = Stored { fingerprint: "f".into(), status: 200, content_type: None, body: b"{}".to_vec() };
        db.write_blocking(|tx| Ok(store(tx, "key:A", "k", &s, 1_000)?)).unwrap();
        assert_eq!(db.write_blocking(|tx| Ok(find(tx, "key:A", "k", 2_000)?)).unwrap(), Some(s.clone()));
        assert_eq!(db.write_blocking(|tx| Ok(find(tx, "key:B", "k", 2_000)?)).unwrap(), None, "per credential");
        assert_eq!(db.write_blocking(|tx| Ok(find(tx, "key:A", "k", 1_000 + TTL_MS)?)).unwrap(), None);
    }

    #[tokio::test]
    async fn a_repeat_waits_for_the_first() {
        let set = InFlight::default();
        let first = set.enter(("s".into(), "k".into())).await.unwrap();
        let set2 = set.clone();
        let waiter = tokio::spawn(async move { set2.enter(("s".into(), "k".into())).await.is_some() });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(first);
        assert!(waiter.await.unwrap());
    }
}
