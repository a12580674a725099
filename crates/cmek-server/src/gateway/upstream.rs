//! One request to the upstream v1beta API, signed with Digest, counted against the shared
//! budget, and every way it can fail turned into the `ErrorResponse` the console shows: the
//! upstream's own 4xx answers as they are (its code and message kept), its 401 as "the gateway's
//! key pair is wrong or revoked", its 429 as a 429 that says when to come back (never a 5xx),
//! its 5xx, timeouts and dropped connections as 502/504 with the upstream's words in `details`.
//! Neither half of the key pair ever appears in what is answered or logged.

use super::budget::{Budget, Use};
use super::digest_client::{Challenge, NoncePool, authorization};
use super::key_pair::KeyPair;
use crate::clock::now_ms;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, header};
use cmek_core::{ErrorCode, ErrorResponse};
use std::time::Duration;

/// A successful (2xx) upstream answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

pub struct Upstream {
    base: String,
    http: reqwest::Client,
    keys: KeyPair,
    nonces: NoncePool,
    pub budget: Budget,
}

fn header_num<T: std::str::FromStr>(h: &HeaderMap, name: &str) -> Option<T> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl Upstream {
    pub fn new(base: String, keys: KeyPair, budget: Budget, timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cmek-server-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { base, http, keys, nonces: NoncePool::default(), budget })
    }

    /// The upstream's origin (never with credentials).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Replaces either half of the key pair in upstream words with a placeholder (a server may
    /// name the public key it refused).
    pub fn redact(&self, text: &str) -> String {
        text.replace(self.keys.private(), "<the gateway's private key>")
            .replace(self.keys.public(), "<the gateway's public key>")
    }

    /// Sends `method path_and_query` (with a JSON `body`), answering the 2xx or the error.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Bytes>,
        what: Use,
    ) -> Result<Answer, ApiError> {
        let url = format!("{}{path_and_query}", self.base);
        // A 401 with a new challenge is answered at most twice more (a first request has no
        // nonce yet; a kept one may have expired).
        let mut last_401 = Bytes::new();
        for _ in 0..3 {
            if let Err(secs) = self.budget.acquire(what, now_ms()) {
                return Err(self.budget_used_up(secs));
            }
            let nonce = self.nonces.take();
            let mut req = self.http.request(method.clone(), &url).header(header::ACCEPT, "application/json");
            if let Some(n) = &nonce {
                req = req.header(header::AUTHORIZATION, authorization(&self.keys, n, method.as_str(), path_and_query));
            }
            if let Some(b) = &body {
                req = req.header(header::CONTENT_TYPE, "application/json").body(b.clone());
            }
            let started = std::time::Instant::now();
            let res = match req.send().await {
                Ok(r) => r,
                Err(e) => return Err(self.transport_failure(&method, path_and_query, &e)),
            };
            let status = res.status();
            let headers = res.headers().clone();
            let bytes = match res.bytes().await {
                Ok(b) => b,
                Err(e) => return Err(self.transport_failure(&method, path_and_query, &e)),
            };
            tracing::debug!(%method, path = %path_and_query, status = status.as_u16(), ms = started.elapsed().as_millis() as u64, "upstream answered");
            let remaining = header_num::<u32>(&headers, "x-ratelimit-remaining-minute");
            let reset = header_num::<u64>(&headers, "x-ratelimit-reset");
            let retry_after = header_num::<u64>(&headers, "retry-after");
            let limited = status == StatusCode::TOO_MANY_REQUESTS;
            self.budget.observe(remaining, reset.or(if limited { retry_after } else { None }), limited, now_ms());
            if status == StatusCode::UNAUTHORIZED {
                let challenge =
                    Challenge::pick(headers.get_all(header::WWW_AUTHENTICATE).iter().filter_map(|v| v.to_str().ok()));
                // A signed request refused without `stale` means the key pair itself is refused.
                let retry = match (&nonce, &challenge) {
                    (None, Some(_)) => true,
                    (Some(_), Some(c)) => c.stale || nonce.as_ref().is_some_and(|n| n.nc > 1),
                    _ => false,
                };
                if retry && let Some(c) = challenge {
                    self.nonces.put(self.nonces.fresh(c));
                    last_401 = bytes;
                    continue;
                }
                return Err(self.key_pair_refused(&bytes));
            }
            if let Some(n) = nonce {
                self.nonces.put(n);
            }
            return self.answer(status, bytes, reset.or(retry_after));
        }
        Err(self.key_pair_refused(&last_401))
    }

    fn answer(&self, status: StatusCode, bytes: Bytes, reset: Option<u64>) -> Result<Answer, ApiError> {
        if status.is_success() {
            if serde_json::from_slice::<serde_json::Value>(&bytes).is_err() {
                return Err(self.err(
                    ErrorCode::UpstreamUnreachable,
                    format!("the upstream API ({}) answered HTTP {status} with a body that is not JSON", self.base),
                    Vec::new(),
                ));
            }
            return Ok(Answer { status, body: bytes });
        }
        let upstream = serde_json::from_slice::<ErrorResponse>(&bytes).ok();
        let said = upstream.as_ref().map_or_else(
            || format!("HTTP {}", status.as_u16()),
            |u| format!("{} (code {})", self.redact(&u.message), u.code),
        );
        if status == StatusCode::TOO_MANY_REQUESTS {
            let secs = reset.unwrap_or(60).clamp(1, 3600);
            let mut e = ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "the upstream API's limit of requests a minute for the gateway's key (shared by everyone using this gateway) is used up; the gateway asks again in {secs} s. The upstream said: {said}"
                ),
            )
            .with_retry_after(secs as i64);
            if let Some(u) = upstream {
                e.body.code = u.code;
            }
            return Err(e);
        }
        if status.is_server_error() || upstream.is_none() {
            let mut details = vec![format!("upstream_status: {}", status.as_u16())];
            if let Some(u) = &upstream {
                details.push(format!("upstream_code: {}", u.code));
                details.push(format!("upstream_message: {}", self.redact(&u.message)));
            }
            let code =
                if status.is_server_error() { ErrorCode::UpstreamFailed } else { ErrorCode::UpstreamUnreachable };
            return Err(self.err(code, format!("the upstream API ({}) failed: {said}", self.base), details));
        }
        // A 4xx with an ErrorResponse: the upstream's own refusal, as it is.
        let u = upstream.expect("checked above");
        Err(ApiError::with_body(
            status,
            ErrorResponse {
                code: u.code,
                message: self.redact(&u.message),
                details: u.details.iter().map(|d| self.redact(d)).collect(),
            },
        ))
    }

    fn err(&self, code: ErrorCode, message: String, details: Vec<String>) -> ApiError {
        let mut e = ApiError::new(code, message);
        e.body.details = details;
        e
    }

    fn budget_used_up(&self, secs: u64) -> ApiError {
        let b = self.budget.snapshot(now_ms());
        let why = if b.throttled {
            "the upstream refused the last request for its rate limit"
        } else {
            "the gateway keeps the rest for changes"
        };
        ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "the upstream API allows the gateway's key {} requests a minute, shared by everyone using this gateway, and {} are left ({why}); try again in {secs} s",
                b.limit, b.remaining
            ),
        )
        .with_retry_after(secs as i64)
    }

    fn key_pair_refused(&self, bytes: &Bytes) -> ApiError {
        let mut details = vec!["upstream_status: 401".to_owned()];
        if let Ok(u) = serde_json::from_slice::<ErrorResponse>(bytes) {
            details.push(format!("upstream_code: {}", u.code));
            details.push(format!("upstream_message: {}", self.redact(&u.message)));
        }
        tracing::warn!(upstream = %self.base, "the upstream refused the gateway's key pair (401)");
        self.err(
            ErrorCode::UpstreamUnauthenticated,
            format!(
                "the upstream API ({}) refused the gateway's organisation API key pair (HTTP 401): the key pair is wrong or was revoked. The gateway's operator must put a valid key pair in its key file and restart it; your own sign-in is fine",
                self.base
            ),
            details,
        )
    }

    fn transport_failure(&self, method: &Method, path: &str, e: &reqwest::Error) -> ApiError {
        // reqwest's words name the URL (no credentials in it) and the cause.
        let mut cause = String::new();
        let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
        while let Some(s) = src {
            cause = s.to_string();
            src = s.source();
        }
        let cause = self.redact(&cause);
        tracing::warn!(%method, %path, timeout = e.is_timeout(), cause = %cause, "upstream request failed");
        let change = *method != Method::GET && *method != Method::HEAD;
        let maybe =
            if change { " The change may or may not have been made upstream: look before repeating it." } else { "" };
        if e.is_timeout() {
            self.err(
                ErrorCode::UpstreamTimeout,
                format!("the upstream API ({}) did not answer {method} {path} in time.{maybe}", self.base),
                vec![format!("cause: {cause}")],
            )
        } else {
            self.err(
                ErrorCode::UpstreamUnreachable,
                format!(
                    "the upstream API ({}) could not be reached or dropped the connection for {method} {path}.{maybe}",
                    self.base
                ),
                vec![format!("cause: {}", if cause.is_empty() { e.to_string() } else { cause })],
            )
        }
    }
}
