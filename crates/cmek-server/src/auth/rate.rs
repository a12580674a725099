//! Requests per minute per credential, as TiDB Cloud counts them: a fixed window per wall-clock
//! minute, `X-Ratelimit-Limit-Minute`, `X-Ratelimit-Remaining-Minute` and `X-Ratelimit-Reset`
//! (seconds until the window resets) on every authenticated answer.

use super::authenticate::credential_of;
use super::{Credential, digest};
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cmek_core::ErrorCode;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit-minute");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining-minute");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

const WINDOW_MS: i64 = 60_000;

/// The outcome of counting one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Whole seconds until the window resets (at least 1).
    pub reset_secs: i64,
}

/// Counts per key in the current minute. `limit` 0 means no limit (nothing is counted).
#[derive(Default)]
pub struct Limiter {
    windows: HashMap<String, (i64, u32)>,
}

impl Limiter {
    /// Counts a request of `key` at `now_ms` against `limit` per minute. A refused request is
    /// not counted, so the window's count never exceeds the limit.
    pub fn hit(&mut self, key: &str, now_ms: i64, limit: u32) -> Decision {
        let window = now_ms.div_euclid(WINDOW_MS);
        let reset_ms = (window + 1) * WINDOW_MS - now_ms;
        let reset_secs = ((reset_ms + 999) / 1000).max(1);
        if self.windows.len() >= 10_000 {
            self.windows.retain(|_, (w, _)| *w == window);
        }
        let entry = self.windows.entry(key.to_owned()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        let allowed = entry.1 < limit;
        if allowed {
            entry.1 += 1;
        }
        Decision { allowed, limit, remaining: limit.saturating_sub(entry.1), reset_secs }
    }

    /// How many requests `key` has left in the current window (for a failure count that is
    /// only charged afterwards).
    pub fn exhausted(&self, key: &str, now_ms: i64, limit: u32) -> bool {
        let window = now_ms.div_euclid(WINDOW_MS);
        self.windows.get(key).is_some_and(|(w, n)| *w == window && *n >= limit)
    }
}

/// Whole seconds until the current minute's window resets (at least 1).
pub fn reset_secs(now_ms: i64) -> i64 {
    let reset_ms = (now_ms.div_euclid(WINDOW_MS) + 1) * WINDOW_MS - now_ms;
    ((reset_ms + 999) / 1000).max(1)
}

/// `e` with `Retry-After: secs`.
pub fn retry_after(e: crate::error::ApiError, secs: i64) -> crate::error::ApiError {
    e.with_retry_after(secs)
}

/// Failed sign-ins per client address: [`Backoff::FREE_FAILURES`] are free; after that the
/// address waits a minute, doubling with each further failure up to an hour. One address
/// failing never makes another wait. An address's count is forgotten on success, or an hour
/// after its last failure. Bounded: at most [`Backoff::ADDRESSES`] addresses are tracked, the
/// least recently failed dropped first.
#[derive(Default)]
pub struct Backoff {
    by_addr: HashMap<IpAddr, Failures>,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last_ms: i64,
    locked_until_ms: i64,
}

impl Backoff {
    pub const FREE_FAILURES: u32 = 10;
    pub const FIRST_WAIT_MS: i64 = 60_000;
    pub const MAX_WAIT_MS: i64 = 3_600_000;
    const FORGET_MS: i64 = 3_600_000;
    const ADDRESSES: usize = 10_000;

    /// Seconds `ip` must still wait, if it must.
    pub fn wait_secs(&self, ip: IpAddr, now_ms: i64) -> Option<i64> {
        let f = self.by_addr.get(&ip)?;
        (f.locked_until_ms > now_ms).then(|| ((f.locked_until_ms - now_ms + 999) / 1000).max(1))
    }

    pub fn failed(&mut self, ip: IpAddr, now_ms: i64) {
        if self.by_addr.len() >= Self::ADDRESSES && !self.by_addr.contains_key(&ip) {
            self.by_addr.retain(|_, f| now_ms - f.last_ms < Self::FORGET_MS);
            if self.by_addr.len() >= Self::ADDRESSES {
                let oldest = self.by_addr.iter().min_by_key(|(_, f)| f.last_ms).map(|(a, _)| *a);
                if let Some(a) = oldest {
                    self.by_addr.remove(&a);
                }
            }
        }
        let f = self.by_addr.entry(ip).or_insert(Failures { count: 0, last_ms: now_ms, locked_until_ms: 0 });
        if now_ms - f.last_ms >= Self::FORGET_MS {
            *f = Failures { count: 0, last_ms: now_ms, locked_until_ms: 0 };
        }
        f.count += 1;
        f.last_ms = now_ms;
        if f.count >= Self::FREE_FAILURES {
            let doublings = (f.count - Self::FREE_FAILURES).min(16);
            f.locked_until_ms = now_ms + (Self::FIRST_WAIT_MS << doublings).min(Self::MAX_WAIT_MS);
        }
    }

    pub fn forget(&mut self, ip: IpAddr) {
        self.by_addr.remove(&ip);
    }
}

/// The 429 message, in the words of the real API.
pub fn exceeded_message(limit: u32, per: &str, reset_secs: i64) -> String {
    format!(
        "The request exceeded the limit of {limit} times per {per} per minute. Try again in {reset_secs} s (the window resets then), or start the server with a higher --rate-limit-per-minute."
    )
}

/// The per-credential limit (`--rate-limit-per-minute`; 0 means no limit).
pub struct RateLimit {
    limiter: Mutex<Limiter>,
    limit: u32,
}

impl FromRef<AppState> for Arc<RateLimit> {
    fn from_ref(s: &AppState) -> Self {
        Arc::clone(&s.auth.rate)
    }
}

impl RateLimit {
    pub fn new(limit: u32) -> Self {
        Self { limiter: Mutex::default(), limit }
    }

    /// Counts a request; `None` when there is no limit.
    fn count(&self, cred: &Credential) -> Option<Decision> {
        (self.limit > 0)
            .then(|| self.limiter.lock().unwrap_or_else(|p| p.into_inner()).hit(&cred.scope(), now_ms(), self.limit))
    }

    /// The cheap check before any Digest work: a key whose requests this minute are used up
    /// gets its 429 without a hash computed or a nonce count stored. Only verified requests
    /// count, so naming someone else's public key cannot use up their minute.
    fn key_exhausted(&self, headers: &HeaderMap) -> Option<(Credential, Decision)> {
        if self.limit == 0 {
            return None;
        }
        let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let public = digest::parse_authorization(h).ok()?.username;
        let cred = Credential::ApiKey { public_key: public };
        let now = now_ms();
        let l = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        l.exhausted(&cred.scope(), now, self.limit).then(|| {
            let d = Decision { allowed: false, limit: self.limit, remaining: 0, reset_secs: reset_secs(now) };
            (cred, d)
        })
    }
}

fn exceeded(cred: &Credential, d: Decision) -> Response {
    ApiError::new(ErrorCode::RateLimited, exceeded_message(d.limit, cred.per(), d.reset_secs)).into_response()
}

fn with_rate(mut res: Response, d: Option<Decision>) -> Response {
    if let Some(d) = d {
        let h = res.headers_mut();
        h.insert(LIMIT, HeaderValue::from(d.limit));
        h.insert(REMAINING, HeaderValue::from(d.remaining));
        h.insert(RESET, HeaderValue::from(d.reset_secs));
    }
    res
}

/// The layer before authentication: a key whose minute is used up is refused before any
/// Digest work.
pub async fn refuse_exhausted_key(State(rate): State<Arc<RateLimit>>, req: Request, next: Next) -> Response {
    match rate.key_exhausted(req.headers()) {
        Some((cred, d)) => with_rate(exceeded(&cred, d), Some(d)),
        None => next.run(req).await,
    }
}

/// The layer after authentication: counts the request against its credential's minute (a 429
/// when it is used up) and puts the `X-Ratelimit-*` headers on the answer.
pub async fn limit_rate(State(rate): State<Arc<RateLimit>>, req: Request, next: Next) -> Response {
    let Some(cred) = credential_of(&req).cloned() else {
        return ApiError::internal("the request", "the rate limit ran before authentication").into_response();
    };
    let decision = rate.count(&cred);
    let res = match decision {
        Some(d) if !d.allowed => exceeded(&cred, d),
        _ => next.run(req).await,
    };
    with_rate(res, decision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::middleware::from_fn_with_state;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_layer_counts_per_credential_and_says_so() {
        let key = Credential::ApiKey { public_key: "K".into() };
        let rate = Arc::new(RateLimit::new(1));
        let app = Router::new()
            .route("/api/x", get(|| async { "ok" }))
            .layer(from_fn_with_state(Arc::clone(&rate), limit_rate))
            .layer(axum::Extension(key));
        let request = || Request::get("/api/x").body(Body::empty()).unwrap();
        let res = app.clone().oneshot(request()).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()[&REMAINING], "0");
        let res = app.clone().oneshot(request()).await.unwrap();
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers()[&LIMIT], "1");
        // The key is now exhausted: the layer before authentication refuses it unread.
        let pre =
            Router::new().route("/api/x", get(|| async { "ok" })).layer(from_fn_with_state(rate, refuse_exhausted_key));
        let signed = Request::get("/api/x")
            .header(
                header::AUTHORIZATION,
                "Digest username=\"K\", realm=\"r\", nonce=\"n\", uri=\"/api/x\", response=\"0\"",
            )
            .body(Body::empty())
            .unwrap();
        assert_eq!(pre.oneshot(signed).await.unwrap().status(), 429);
    }

    #[test]
    fn counts_per_key_per_minute() {
        let mut l = Limiter::default();
        let t = 60_000 * 28_333_334 + 40_500; // 40.5 s into a minute
        let d = l.hit("a", t, 3);
        assert_eq!(d, Decision { allowed: true, limit: 3, remaining: 2, reset_secs: 20 });
        assert!(l.hit("a", t, 3).allowed);
        let d = l.hit("a", t + 1000, 3);
        assert_eq!((d.allowed, d.remaining, d.reset_secs), (true, 0, 19));
        let d = l.hit("a", t + 1000, 3);
        assert_eq!((d.allowed, d.remaining), (false, 0));
        assert!(l.exhausted("a", t + 1000, 3));
        assert!(l.hit("b", t, 3).allowed, "another key has its own count");
        // The next minute starts afresh.
        let d = l.hit("a", t + 19_500, 3);
        assert_eq!((d.allowed, d.remaining, d.reset_secs), (true, 2, 60));
        assert!(!l.exhausted("a", t + 19_500, 3));
    }

    #[test]
    fn reset_is_at_least_one_second() {
        let mut l = Limiter::default();
        assert_eq!(l.hit("a", 59_999, 1).reset_secs, 1);
        assert_eq!(l.hit("a", 60_000, 1).reset_secs, 60);
    }

    #[test]
    fn sign_in_backoff_is_per_address() {
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap());
        let mut l = Backoff::default();
        for _ in 0..Backoff::FREE_FAILURES - 1 {
            l.failed(a, 1000);
        }
        assert_eq!(l.wait_secs(a, 1000), None, "nine failures are free");
        l.failed(a, 1000);
        assert_eq!(l.wait_secs(a, 1000), Some(60));
        assert_eq!(l.wait_secs(b, 1000), None, "another address does not wait");
        assert_eq!(l.wait_secs(a, 61_000), None);
        l.failed(a, 61_000);
        assert_eq!(l.wait_secs(a, 61_000), Some(120), "doubles");
        for _ in 0..20 {
            l.failed(a, 61_000);
        }
        assert_eq!(l.wait_secs(a, 61_000), Some(3600), "at most an hour");
        l.forget(a);
        assert_eq!(l.wait_secs(a, 61_000), None);
        assert_eq!(reset_secs(59_999), 1);
    }

    #[test]
    fn message() {
        let m = exceeded_message(100, "apikey", 23);
        assert!(m.starts_with("The request exceeded the limit of 100 times per apikey per minute."), "{m}");
    }
}
