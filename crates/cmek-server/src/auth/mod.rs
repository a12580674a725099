//! Who may call the API, and how often.
//!
//! - **API clients** authenticate every `/api/` request with HTTP Digest (RFC 7616, SHA-256 or
//!   MD5, `qop=auth`), public key as user name and private key as password, as TiDB Cloud's API
//!   does (`digest.rs`, keys in `api_keys.rs`).
//! - **The console** signs in once and then sends an HttpOnly session cookie; its changes also
//!   need the session's `X-CSRF-Token` and this server's `Origin` (`session.rs`).
//! - Both are limited to `--rate-limit-per-minute` requests per minute (`rate.rs`); creates take
//!   an `Idempotency-Key` (`idempotency.rs`); every answer carries the security headers
//!   (`headers.rs`).
//!
//! A 401 carries an `ErrorResponse` (49900001) and two `WWW-Authenticate` challenges (SHA-256,
//! then MD5) — except for the console's own requests (`X-Cmek-Console: 1`), so that a browser
//! never shows its own login dialog.

pub mod api_keys;
pub mod digest;
pub mod headers;
pub mod idempotency;
pub mod rate;
pub mod session;

use crate::app::AppState;
use crate::clock::now_ms;
use crate::config::ServeArgs;
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cmek_core::ErrorCode;
use digest::{Algorithm, NonceCounts, NonceKey, NonceState, REALM};
use rand::RngCore;
use std::sync::Mutex;

/// The header the console sets on its own requests.
pub const CONSOLE_HEADER: &str = "x-cmek-console";
pub const CSRF_HEADER: &str = "x-csrf-token";

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit-minute");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining-minute");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// 32 random bytes, base64url: session ids, anti-CSRF tokens, the sign-in token.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// Whether the request is the console's own (`X-Cmek-Console: 1`).
pub fn is_console(headers: &HeaderMap) -> bool {
    headers.get(CONSOLE_HEADER).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() == "1")
}

/// Who made an authenticated request (also in the request's extensions for handlers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    ApiKey { public_key: String },
    Session { id_hash: String, csrf_token: String },
}

impl Credential {
    /// What rate limits and idempotency keys are counted per.
    pub fn scope(&self) -> String {
        match self {
            Credential::ApiKey { public_key } => format!("key:{public_key}"),
            Credential::Session { id_hash, .. } => format!("session:{id_hash}"),
        }
    }

    fn per(&self) -> &'static str {
        match self {
            Credential::ApiKey { .. } => "apikey",
            Credential::Session { .. } => "console session",
        }
    }
}

/// Why a request is not authenticated.
#[derive(Debug)]
pub struct Refusal {
    pub message: String,
    /// The nonce, not the key, was the problem: the client may simply retry (`stale=true`).
    pub stale: bool,
}

fn refuse(message: impl Into<String>) -> Refusal {
    Refusal { message: message.into(), stale: false }
}

/// The authentication state of a running server.
pub struct Auth {
    nonce_key: NonceKey,
    opaque: String,
    nonce_lifetime_ms: i64,
    counts: Mutex<NonceCounts>,
    limiter: Mutex<rate::Limiter>,
    sign_in_failures: Mutex<rate::Limiter>,
    pub rate_limit: u32,
    pub secure_cookies: bool,
    pub session_ms: i64,
    pub sign_in: session::SignInSecrets,
    allowed_origins: Vec<String>,
    pub console_csp: headers::ConsoleCsp,
    pub in_flight: idempotency::InFlight,
}

impl Auth {
    /// `token` is this start's one-time sign-in token; `password` the console password, if any.
    pub fn new(args: &ServeArgs, token: &str, password: Option<&str>) -> Self {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let mut opaque = [0u8; 16];
        rand::rng().fill_bytes(&mut opaque);
        Self {
            nonce_key: NonceKey::new(secret),
            opaque: URL_SAFE_NO_PAD.encode(opaque),
            nonce_lifetime_ms: (args.nonce_secs * 1000.0).round() as i64,
            counts: Mutex::default(),
            limiter: Mutex::default(),
            sign_in_failures: Mutex::default(),
            rate_limit: args.rate_limit_per_minute,
            secure_cookies: args.secure_cookies,
            session_ms: (args.session_hours * 3_600_000.0).round().max(1000.0) as i64,
            sign_in: session::SignInSecrets::new(token, password),
            allowed_origins: args.allowed_origins.clone(),
            console_csp: headers::ConsoleCsp::new(args.console_dir.join("index.html")),
            in_flight: idempotency::InFlight::default(),
        }
    }

    fn new_nonce(&self) -> String {
        let mut r = [0u8; 12];
        rand::rng().fill_bytes(&mut r);
        self.nonce_key.mint(now_ms(), r)
    }

    /// A 401: the ErrorResponse, and the Digest challenges unless the console asked.
    pub fn unauthenticated(&self, message: &str, console: bool, stale: bool) -> Response {
        let mut res = ApiError::new(ErrorCode::Unauthenticated, message).into_response();
        if !console {
            let nonce = self.new_nonce();
            for alg in Algorithm::OFFERED {
                if let Ok(v) = HeaderValue::from_str(&digest::challenge(alg, &nonce, &self.opaque, stale)) {
                    res.headers_mut().append(header::WWW_AUTHENTICATE, v);
                }
            }
        }
        res
    }

    /// Checks an `Authorization: Digest …` against the stored key.
    async fn verify_digest(
        &self,
        db: &std::sync::Arc<crate::db::Db>,
        header: &str,
        method: &Method,
        target: &str,
    ) -> Result<Credential, Refusal> {
        let c = digest::parse_authorization(header).map_err(refuse)?;
        let alg = Algorithm::parse(c.algorithm.as_deref()).ok_or_else(|| {
            refuse(format!(
                "the Digest algorithm {} is not offered; use SHA-256 or MD5",
                c.algorithm.as_deref().unwrap_or("")
            ))
        })?;
        if c.realm != REALM {
            return Err(refuse(format!("the Digest realm must be \"{REALM}\", not \"{}\"", c.realm)));
        }
        if c.userhash {
            return Err(refuse("userhash is not supported: send the public key as the user name"));
        }
        if !c.qop.as_deref().is_some_and(|q| q.eq_ignore_ascii_case("auth")) {
            return Err(refuse("Digest authentication here needs qop=auth (with nc and cnonce)"));
        }
        let qop = c.qop.as_deref().unwrap_or("auth");
        let (Some(nc_raw), Some(cnonce)) = (c.nc.as_deref(), c.cnonce.as_deref().filter(|s| !s.is_empty())) else {
            return Err(refuse("the Authorization header needs nc and cnonce (qop=auth)"));
        };
        let nc = digest::parse_nc(nc_raw)
            .ok_or_else(|| refuse(format!("nc must be 8 hex digits above zero, not \"{nc_raw}\"")))?;
        if !digest::uri_matches(&c.uri, target) {
            return Err(refuse(format!("the Digest uri \"{}\" is not the request's target \"{target}\"", c.uri)));
        }
        let public = c.username.clone();
        let key = {
            let public = public.clone();
            db.read(move |conn| Ok(api_keys::find(conn, &public)?)).await
        }
        .map_err(|e| refuse(e.body.message))?;
        let Some(key) = key else {
            return Err(refuse(format!("public_key not found: there is no API key {public}")));
        };
        if key.revoked_at.is_some() {
            return Err(refuse(format!("the API key {public} was revoked")));
        }
        let expected = digest::response(alg, key.ha1(alg), &c.nonce, nc_raw, cnonce, qop, method.as_str(), &c.uri);
        if !digest::ct_eq(expected.as_bytes(), c.response.to_ascii_lowercase().as_bytes()) {
            return Err(refuse(format!(
                "the Digest response does not match: wrong private key for the API key {public}"
            )));
        }
        let now = now_ms();
        let opaque_ok = c.opaque.as_deref().is_none_or(|o| o == self.opaque);
        match (opaque_ok, self.nonce_key.check(&c.nonce, now, self.nonce_lifetime_ms)) {
            (true, NonceState::Fresh { expires_ms }) => {
                let fresh = self.counts.lock().unwrap_or_else(|p| p.into_inner()).advance(&c.nonce, nc, expires_ms, now);
                if fresh {
                    Ok(Credential::ApiKey { public_key: public })
                } else {
                    Err(refuse(format!(
                        "the nonce count {nc_raw} was already used with this nonce: a replayed request is refused (each request needs a higher nc)"
                    )))
                }
            }
            (true, NonceState::Expired) => Err(Refusal {
                message: "the nonce has expired; retry with the new one in this answer's challenge".into(),
                stale: true,
            }),
            _ => Err(Refusal {
                message: "the nonce was not issued by this server (it may predate a restart); retry with the new one in this answer's challenge".into(),
                stale: true,
            }),
        }
    }

    /// This server's origin as the request addressed it (`Host`), and the other allowed ones.
    fn origin_allowed(&self, headers: &HeaderMap, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        self.own_origin(headers).is_some_and(|own| own == origin) || self.allowed_origins.contains(&origin)
    }

    pub fn own_origin(&self, headers: &HeaderMap) -> Option<String> {
        let host = headers.get(header::HOST)?.to_str().ok()?.trim().to_ascii_lowercase();
        let scheme = if self.secure_cookies { "https" } else { "http" };
        Some(format!("{scheme}://{host}"))
    }

    /// A request that carries an `Origin` must come from this server's pages.
    pub fn check_origin_if_present(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        match headers.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("")) {
            Some(o) if !self.origin_allowed(headers, o) => Err(ApiError::new(
                ErrorCode::PermissionDenied,
                format!(
                    "requests from pages of another origin ({o}) are refused; this server's origin is {}",
                    self.own_origin(headers).unwrap_or_else(|| "unknown (no Host header)".into())
                ),
            )),
            _ => Ok(()),
        }
    }

    /// A change (any method but GET and HEAD): with a session, it needs the session's
    /// `X-CSRF-Token` and this server's `Origin`; with an API key, an `Origin` (a browser) must
    /// be this server's.
    pub fn check_change(&self, method: &Method, headers: &HeaderMap, cred: &Credential) -> Result<(), ApiError> {
        if method == Method::GET || method == Method::HEAD {
            return Ok(());
        }
        let Credential::Session { csrf_token, .. } = cred else {
            return self.check_origin_if_present(headers);
        };
        let own = self.own_origin(headers).unwrap_or_else(|| "this server's origin".into());
        let mut missing = Vec::new();
        match headers.get(CSRF_HEADER).map(|v| v.as_bytes()) {
            None => missing
                .push("the X-CSRF-Token header (the csrf_token of GET /api/ext/v1/session) is missing".to_owned()),
            Some(t) if !digest::ct_eq(t, csrf_token.as_bytes()) => {
                missing.push("the X-CSRF-Token header does not match this session's csrf_token".to_owned())
            }
            Some(_) => {}
        }
        match headers.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("")) {
            None => missing.push(format!("the Origin header is missing (it must be {own})")),
            Some(o) if !self.origin_allowed(headers, o) => missing.push(format!("the Origin header is {o}, not {own}")),
            Some(_) => {}
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::PermissionDenied,
                format!("a change made with a console session is refused: {}", missing.join("; ")),
            ))
        }
    }

    /// Counts a request; `None` when there is no limit.
    fn count(&self, cred: &Credential) -> Option<rate::Decision> {
        (self.rate_limit > 0).then(|| {
            self.limiter.lock().unwrap_or_else(|p| p.into_inner()).hit(&cred.scope(), now_ms(), self.rate_limit)
        })
    }

    /// 429 once too many sign-ins failed this minute.
    pub fn sign_in_allowed(&self) -> Result<(), ApiError> {
        let l = self.sign_in_failures.lock().unwrap_or_else(|p| p.into_inner());
        if l.exhausted("sign-in", now_ms(), session::SIGN_IN_FAILURES_PER_MINUTE) {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "more than {} sign-ins failed in the last minute; wait for the next minute",
                    session::SIGN_IN_FAILURES_PER_MINUTE
                ),
            ));
        }
        Ok(())
    }

    pub fn sign_in_failed(&self) {
        self.sign_in_failures.lock().unwrap_or_else(|p| p.into_inner()).hit(
            "sign-in",
            now_ms(),
            session::SIGN_IN_FAILURES_PER_MINUTE,
        );
    }
}

/// Who the request is from: Digest when it has an `Authorization` header, else the session
/// cookie.
async fn authenticate(s: &AppState, req: &axum::http::request::Parts) -> Result<Credential, Refusal> {
    let headers = &req.headers;
    if let Some(h) = headers.get(header::AUTHORIZATION) {
        let h = h.to_str().map_err(|_| refuse("the Authorization header is not ASCII"))?;
        let target = req.uri.path_and_query().map_or_else(|| req.uri.path(), |p| p.as_str());
        return s.auth.verify_digest(&s.db, h, &req.method, target).await;
    }
    if session::cookie_from(headers).is_some() {
        return match session::lookup(s, headers).await {
            Ok(Some(row)) => Ok(Credential::Session { id_hash: row.id_hash, csrf_token: row.csrf_token }),
            Ok(None) => Err(refuse(
                "the console session has ended (it expired, was signed out, or belongs to another server): sign in again",
            )),
            Err(e) => Err(refuse(e.body.message)),
        };
    }
    Err(refuse(
        "the request has no credentials: authenticate with an API key and HTTP Digest (curl --digest --user PUBLIC_KEY:PRIVATE_KEY; create a key with cmek-server api-key create), or sign in to the console",
    ))
}

/// The middleware in front of every `/api/` route except the session endpoints.
pub async fn require_auth(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let console = is_console(req.headers());
    let (parts, body) = req.into_parts();
    let cred = match authenticate(&s, &parts).await {
        Ok(c) => c,
        Err(r) => {
            tracing::debug!(why = %r.message, path = %parts.uri.path(), "unauthenticated request");
            return s.auth.unauthenticated(&r.message, console, r.stale);
        }
    };
    let mut req = Request::from_parts(parts, body);
    let decision = s.auth.count(&cred);
    let mut res = if let Some(d) = decision.filter(|d| !d.allowed) {
        ApiError::new(ErrorCode::RateLimited, rate::exceeded_message(d.limit, cred.per(), d.reset_secs)).into_response()
    } else if let Err(e) = s.auth.check_change(req.method(), req.headers(), &cred) {
        e.into_response()
    } else {
        let key = if idempotency::applies(req.method(), req.uri().path()) {
            match req.headers().get(idempotency::HEADER).map(idempotency::check_key).transpose() {
                Ok(k) => k,
                Err(e) => return with_rate(e.into_response(), decision),
            }
        } else {
            None
        };
        req.extensions_mut().insert(cred.clone());
        match key {
            Some(key) => idempotency::run(s.db.clone(), s.auth.in_flight.clone(), cred.scope(), key, req, next).await,
            None => next.run(req).await,
        }
    };
    res = with_rate(res, decision);
    res
}

fn with_rate(mut res: Response, d: Option<rate::Decision>) -> Response {
    if let Some(d) = d {
        let h = res.headers_mut();
        h.insert(LIMIT, HeaderValue::from(d.limit));
        h.insert(REMAINING, HeaderValue::from(d.remaining));
        h.insert(RESET, HeaderValue::from(d.reset_secs));
    }
    res
}

/// The security headers, on every answer (API and console).
pub async fn security_headers(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let api = path == "/api" || path.starts_with("/api/");
    let mut res = next.run(req).await;
    let csp = if api { headers::API_CSP.to_owned() } else { s.auth.console_csp.get() };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn auth(extra: &[&str]) -> Auth {
        let mut argv = vec!["cmek-server"];
        argv.extend_from_slice(extra);
        let cli = crate::config::Cli::try_parse_from(argv).unwrap();
        Auth::new(&cli.serve, "tok", None)
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn csrf_and_origin_rules() {
        let a = auth(&[]);
        let session = Credential::Session { id_hash: "h".into(), csrf_token: "csrf".into() };
        let key = Credential::ApiKey { public_key: "K".into() };
        let good =
            headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080"), ("x-csrf-token", "csrf")]);
        assert!(a.check_change(&Method::POST, &good, &session).is_ok());
        assert!(a.check_change(&Method::GET, &headers(&[]), &session).is_ok(), "reads need neither");
        let e = a.check_change(&Method::DELETE, &headers(&[("host", "h:1")]), &session).unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::PermissionDenied));
        assert!(e.body.message.contains("X-CSRF-Token") && e.body.message.contains("Origin"), "{}", e.body.message);
        let wrong = headers(&[("host", "h:1"), ("origin", "http://h:1"), ("x-csrf-token", "other")]);
        let e = a.check_change(&Method::PATCH, &wrong, &session).unwrap_err();
        assert!(e.body.message.contains("does not match") && !e.body.message.contains("Origin"), "{}", e.body.message);
        let foreign = headers(&[("host", "h:1"), ("origin", "http://evil.example"), ("x-csrf-token", "csrf")]);
        let e = a.check_change(&Method::PUT, &foreign, &session).unwrap_err();
        assert!(e.body.message.contains("http://evil.example"), "{}", e.body.message);
        // An API key: no CSRF token, but a browser's foreign Origin is refused.
        assert!(a.check_change(&Method::POST, &headers(&[("host", "h:1")]), &key).is_ok());
        assert!(a.check_change(&Method::POST, &foreign, &key).is_err());
        // Behind TLS the origin is https; other origins can be allowed.
        let tls = auth(&["--secure-cookies", "--allowed-origin", "http://127.0.0.1:8081"]);
        let plain = headers(&[("host", "h:1"), ("origin", "http://h:1"), ("x-csrf-token", "csrf")]);
        assert!(tls.check_change(&Method::POST, &plain, &session).is_err());
        let https = headers(&[("host", "h:1"), ("origin", "https://h:1"), ("x-csrf-token", "csrf")]);
        assert!(tls.check_change(&Method::POST, &https, &session).is_ok());
        let dev = headers(&[("host", "h:1"), ("origin", "http://127.0.0.1:8081"), ("x-csrf-token", "csrf")]);
        assert!(tls.check_change(&Method::POST, &dev, &session).is_ok());
    }

    #[test]
    fn console_requests_get_no_challenge() {
        let a = auth(&[]);
        let r = a.unauthenticated("no", false, true);
        assert_eq!(r.status(), 401);
        let challenges: Vec<_> = r.headers().get_all(header::WWW_AUTHENTICATE).iter().collect();
        assert_eq!(challenges.len(), 2);
        assert!(challenges[0].to_str().unwrap().contains("algorithm=SHA-256"));
        assert!(challenges[1].to_str().unwrap().contains("algorithm=MD5"));
        assert!(challenges[0].to_str().unwrap().ends_with("stale=true"));
        let r = a.unauthenticated("no", true, false);
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
        assert!(is_console(&headers(&[("x-cmek-console", "1")])));
        assert!(!is_console(&headers(&[("x-cmek-console", "0")])));
    }

    #[test]
    fn scopes() {
        assert_eq!(Credential::ApiKey { public_key: "K".into() }.scope(), "key:K");
        assert_eq!(Credential::Session { id_hash: "h".into(), csrf_token: "c".into() }.scope(), "session:h");
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 43);
    }
}
