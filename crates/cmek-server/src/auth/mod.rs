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
pub mod hosts;
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
use digest::{Algorithm, CountRefusal, NonceCounts, NonceKey, NonceState, REALM};
use rand::RngCore;
use std::net::{IpAddr, SocketAddr};
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

/// The address a client is counted under: its IP (an IPv6 address by its /64, which one
/// machine commonly holds whole).
pub fn client_address(peer: Option<SocketAddr>) -> IpAddr {
    match peer.map(|p| p.ip()) {
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        Some(ip) => ip,
        None => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    }
}

/// The peer address of a request (set by `serve` for every connection).
pub fn peer_of(extensions: &axum::http::Extensions) -> IpAddr {
    client_address(extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0))
}

/// The client's address (see [`client_address`]), as a handler argument.
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(peer_of(&parts.extensions)))
    }
}

/// The authentication state of a running server.
pub struct Auth {
    nonce_key: NonceKey,
    opaque: String,
    nonce_lifetime_ms: i64,
    counts: Mutex<NonceCounts>,
    limiter: Mutex<rate::Limiter>,
    /// 401s per client address this minute (`--failed-auth-per-minute`).
    failed_auth: Mutex<rate::Limiter>,
    failed_auth_limit: u32,
    /// Failed sign-ins per client address, with back-off.
    sign_in_failures: Mutex<rate::Backoff>,
    pub rate_limit: u32,
    pub secure_cookies: bool,
    pub session_ms: i64,
    pub sign_in: session::SignInSecrets,
    pub hosts: hosts::Hosts,
    allowed_origins: Vec<String>,
    pub console_csp: headers::ConsoleCsp,
    pub in_flight: idempotency::InFlight,
}

impl Auth {
    /// `bound` is the address listened on; `token` is this start's one-time sign-in token;
    /// `password` the console password, if any.
    pub fn new(args: &ServeArgs, bound: SocketAddr, token: &str, password: Option<&str>) -> Self {
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
            failed_auth: Mutex::default(),
            failed_auth_limit: args.failed_auth_per_minute,
            sign_in_failures: Mutex::default(),
            rate_limit: args.rate_limit_per_minute,
            secure_cookies: args.secure_cookies,
            session_ms: (args.session_hours * 3_600_000.0).round().max(1000.0) as i64,
            sign_in: session::SignInSecrets::new(
                token,
                password,
                now_ms() + (args.sign_in_link_minutes * 60_000.0).round() as i64,
            ),
            hosts: hosts::Hosts::new(bound, &args.public_names, args.secure_cookies),
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
        // One answer for an unknown key and a wrong private key, after the same work, so a
        // 401 does not say which public keys exist. A revoked key is named only to a caller
        // who proved they hold its private key.
        let ha1 = key.as_ref().map_or(UNKNOWN_KEY_HA1, |k| k.ha1(alg));
        let expected = digest::response(alg, ha1, &c.nonce, nc_raw, cnonce, qop, method.as_str(), &c.uri);
        let matches = digest::ct_eq(expected.as_bytes(), c.response.to_ascii_lowercase().as_bytes());
        let Some(key) = key.filter(|_| matches) else {
            return Err(refuse(format!(
                "the Digest response does not match: the public key {public} is not a key of this server, or the private key is wrong"
            )));
        };
        if key.revoked_at.is_some() {
            return Err(refuse(format!("the API key {public} was revoked")));
        }
        let now = now_ms();
        let opaque_ok = c.opaque.as_deref().is_none_or(|o| o == self.opaque);
        match (opaque_ok, self.nonce_key.check(&c.nonce, now, self.nonce_lifetime_ms)) {
            (true, NonceState::Fresh { expires_ms }) => {
                let counted =
                    self.counts.lock().unwrap_or_else(|p| p.into_inner()).advance(&public, &c.nonce, nc, expires_ms, now);
                match counted {
                    Ok(()) => Ok(Credential::ApiKey { public_key: public }),
                    Err(CountRefusal::Reused) => Err(refuse(format!(
                        "the nonce count {nc_raw} was already used with this nonce and key: a replayed request is refused (each request needs an unused nc)"
                    ))),
                    Err(CountRefusal::TooOld) => Err(Refusal {
                        message: format!(
                            "the nonce count {nc_raw} is more than {} below the highest used with this nonce; retry with the new nonce in this answer's challenge",
                            digest::NC_WINDOW
                        ),
                        stale: true,
                    }),
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

    /// This server's own origins (from the Host allow-list, never the request's Host), and
    /// the other allowed ones.
    fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        self.hosts.origin_allowed(&origin) || self.allowed_origins.contains(&origin)
    }

    /// This server's origin, as messages name it.
    pub fn own_origin(&self) -> String {
        self.hosts.primary_origin()
    }

    /// A request that carries an `Origin` must come from this server's pages.
    pub fn check_origin_if_present(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        match headers.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("")) {
            Some(o) if !self.origin_allowed(o) => Err(ApiError::new(
                ErrorCode::PermissionDenied,
                format!(
                    "requests from pages of another origin ({o}) are refused; this server's origin is {}",
                    self.own_origin()
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
        let own = self.own_origin();
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
            Some(o) if !self.origin_allowed(o) => missing.push(format!("the Origin header is {o}, not {own}")),
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

    /// 429 when `ip` failed to sign in too often lately (see [`rate::Backoff`]): it waits,
    /// other addresses do not.
    pub fn sign_in_allowed(&self, ip: IpAddr) -> Result<(), ApiError> {
        let l = self.sign_in_failures.lock().unwrap_or_else(|p| p.into_inner());
        match l.wait_secs(ip, now_ms()) {
            None => Ok(()),
            Some(secs) => Err(rate::retry_after(
                ApiError::new(
                    ErrorCode::RateLimited,
                    format!(
                        "too many failed sign-ins from {ip}: try again in {secs} s (after {} failures, each further one doubles the wait)",
                        rate::Backoff::FREE_FAILURES
                    ),
                ),
                secs,
            )),
        }
    }

    pub fn sign_in_failed(&self, ip: IpAddr) {
        self.sign_in_failures.lock().unwrap_or_else(|p| p.into_inner()).failed(ip, now_ms());
    }

    pub fn sign_in_succeeded(&self, ip: IpAddr) {
        self.sign_in_failures.lock().unwrap_or_else(|p| p.into_inner()).forget(ip);
    }

    /// 429 before any work when `ip` had too many 401s this minute.
    fn failed_auth_allowed(&self, ip: IpAddr) -> Result<(), ApiError> {
        if self.failed_auth_limit == 0 {
            return Ok(());
        }
        let now = now_ms();
        let l = self.failed_auth.lock().unwrap_or_else(|p| p.into_inner());
        if l.exhausted(&ip.to_string(), now, self.failed_auth_limit) {
            let secs = rate::reset_secs(now);
            return Err(rate::retry_after(
                ApiError::new(
                    ErrorCode::RateLimited,
                    format!(
                        "more than {} requests from {ip} failed authentication this minute; try again in {secs} s with valid credentials",
                        self.failed_auth_limit
                    ),
                ),
                secs,
            ));
        }
        Ok(())
    }

    fn auth_failed(&self, ip: IpAddr) {
        if self.failed_auth_limit > 0 {
            self.failed_auth.lock().unwrap_or_else(|p| p.into_inner()).hit(
                &ip.to_string(),
                now_ms(),
                self.failed_auth_limit,
            );
        }
    }

    /// The cheap check before any Digest work: a key whose requests this minute are used up
    /// gets its 429 without a hash computed or a nonce count stored. Only verified requests
    /// count, so naming someone else's public key cannot use up their minute.
    fn key_exhausted(&self, headers: &HeaderMap) -> Option<(Credential, rate::Decision)> {
        if self.rate_limit == 0 {
            return None;
        }
        let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let public = digest::parse_authorization(h).ok()?.username;
        let cred = Credential::ApiKey { public_key: public };
        let now = now_ms();
        let l = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        l.exhausted(&cred.scope(), now, self.rate_limit).then(|| {
            let d = rate::Decision {
                allowed: false,
                limit: self.rate_limit,
                remaining: 0,
                reset_secs: rate::reset_secs(now),
            };
            (cred, d)
        })
    }
}

/// The HA1 a signature is checked against when its public key is unknown (nothing matches it).
const UNKNOWN_KEY_HA1: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who the request is from: Digest when it has an `Authorization` header, else the session
/// cookie.
async fn authenticate(s: &AppState, req: &axum::http::request::Parts) -> Result<Credential, Refusal> {
    let headers = &req.headers;
    if let Some(h) = headers.get(header::AUTHORIZATION) {
        let h = h.to_str().map_err(|_| refuse("the Authorization header is not ASCII"))?;
        let target = req.uri.path_and_query().map_or_else(|| req.uri.path(), |p| p.as_str());
        return s.auth.verify_digest(&s.db, h, &req.method, target).await;
    }
    if session::has_cookie(s, headers) {
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
    let ip = peer_of(req.extensions());
    // Cheap refusals first: no hash, no database read, no nonce state.
    if let Err(e) = s.auth.failed_auth_allowed(ip) {
        return e.into_response();
    }
    if let Some((cred, d)) = s.auth.key_exhausted(req.headers()) {
        let e = ApiError::new(ErrorCode::RateLimited, rate::exceeded_message(d.limit, cred.per(), d.reset_secs));
        return with_rate(e.into_response(), Some(d));
    }
    let (parts, body) = req.into_parts();
    let cred = match authenticate(&s, &parts).await {
        Ok(c) => c,
        Err(r) => {
            tracing::debug!(why = %r.message, path = %parts.uri.path(), "unauthenticated request");
            s.auth.auth_failed(ip);
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

/// Refuses, before routing, a request whose `Host` is not a name of this server (DNS
/// rebinding: a page of another name that resolves here).
pub async fn check_host(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).map(|h| h.to_str().unwrap_or("(not ASCII)").to_owned());
    let host = host.or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
    match host {
        Some(h) if s.auth.hosts.allows(&h) => next.run(req).await,
        Some(h) => ApiError::new(
            ErrorCode::InvalidField,
            format!(
                "the Host header \"{h}\" is not a name of this server (it answers to {}); a server reached under another name starts with --public-name NAME",
                s.auth.hosts.describe()
            ),
        )
        .into_response(),
        None => ApiError::new(ErrorCode::MissingField, "the request has no Host header").into_response(),
    }
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
        Auth::new(&cli.serve, "127.0.0.1:8080".parse().unwrap(), "tok", None)
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
        let wrong = headers(&[("origin", "http://127.0.0.1:8080"), ("x-csrf-token", "other")]);
        let e = a.check_change(&Method::PATCH, &wrong, &session).unwrap_err();
        assert!(e.body.message.contains("does not match") && !e.body.message.contains("Origin"), "{}", e.body.message);
        let foreign = headers(&[("host", "h:1"), ("origin", "http://evil.example"), ("x-csrf-token", "csrf")]);
        let e = a.check_change(&Method::PUT, &foreign, &session).unwrap_err();
        assert!(e.body.message.contains("http://evil.example"), "{}", e.body.message);
        // An API key: no CSRF token, but a browser's foreign Origin is refused.
        assert!(a.check_change(&Method::POST, &headers(&[("host", "h:1")]), &key).is_ok());
        assert!(a.check_change(&Method::POST, &foreign, &key).is_err());
        // Behind TLS the origin is https; other origins can be allowed.
        // The own origin comes from the names the server is reached under, never from Host:
        // a rebinding page's Host and Origin agree with each other, and are still refused.
        let rebound =
            headers(&[("host", "evil.example:8080"), ("origin", "http://evil.example:8080"), ("x-csrf-token", "csrf")]);
        assert!(a.check_change(&Method::POST, &rebound, &session).is_err());
        let own = headers(&[("origin", "http://localhost:8080"), ("x-csrf-token", "csrf")]);
        assert!(a.check_change(&Method::POST, &own, &session).is_ok());
        let tls = auth(&["--secure-cookies", "--public-name", "h:1", "--allowed-origin", "http://127.0.0.1:8081"]);
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
