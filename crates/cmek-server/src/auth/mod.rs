//! Who may call the API, and how often: one single-purpose layer per concern, each with only
//! the state it needs (an axum `FromRef` substate of `AppState`), in the order a request meets
//! them (`app::router`):
//!
//! 1. `hosts::check_host` — a `Host` that is not one of the server's names is refused (DNS
//!    rebinding); `headers::security_headers` puts the CSP and the other headers on every answer.
//! 2. `authenticate::refuse_repeated_failures` — an address with too many 401s this minute.
//! 3. `rate::refuse_exhausted_key` — an API key whose minute is used up, before any Digest work.
//! 4. `authenticate::authenticate` — HTTP Digest (RFC 7616, SHA-256 or MD5, `qop=auth`) against
//!    the keys of `api_keys.rs` (`digest.rs`), or the console's session cookie (`session.rs`);
//!    puts the [`Credential`] in the request.
//! 5. `rate::limit_rate` — `--rate-limit-per-minute` per credential, `X-Ratelimit-*` headers.
//! 6. `origin::refuse_forged_changes` — a session's changes need its `X-CSRF-Token` and this
//!    server's `Origin`; a browser's change with an API key needs this server's `Origin`.
//! 7. `idempotency::deduplicate_creates` — `Idempotency-Key` on creates.
//!
//! A 401 carries an `ErrorResponse` (49900001) and two `WWW-Authenticate` challenges (SHA-256,
//! then MD5) — except for the console's own requests (`X-Cmek-Console: 1`), so that a browser
//! never shows its own login dialog.

pub mod api_keys;
pub mod authenticate;
pub mod digest;
pub mod headers;
pub mod hosts;
pub mod idempotency;
pub mod origin;
pub mod rate;
pub mod session;

use crate::clock::now_ms;
use crate::config::ServeArgs;
use crate::error::ApiError;
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cmek_core::ErrorCode;
use rand::RngCore;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

/// The header the console sets on its own requests.
pub const CONSOLE_HEADER: &str = "x-cmek-console";
pub const CSRF_HEADER: &str = "x-csrf-token";

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

/// A credential that could not be looked up: the 401 says the server failed (logged here, where
/// that answer is made).
fn refuse_unchecked(e: crate::db::StorageError) -> Refusal {
    let e = ApiError::from(e);
    e.log_internal();
    refuse(e.body.message)
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

/// The authentication state of a running server: one substate per layer (see the module
/// doc), and the console's sign-in (used by the session handlers).
pub struct Auth {
    pub digest: Arc<authenticate::DigestVerifier>,
    pub failed_auth: Arc<authenticate::FailedAuth>,
    pub rate: Arc<rate::RateLimit>,
    pub hosts: Arc<hosts::Hosts>,
    pub origins: Arc<origin::Origins>,
    pub console_csp: Arc<headers::ConsoleCsp>,
    pub in_flight: idempotency::InFlight,
    /// Failed sign-ins per client address, with back-off.
    sign_in_failures: Mutex<rate::Backoff>,
    pub secure_cookies: bool,
    pub session_ms: i64,
    pub sign_in: session::SignInSecrets,
}

impl Auth {
    /// `bound` is the address listened on; `token` is this start's one-time sign-in token;
    /// `password` the console password, if any.
    pub fn new(args: &ServeArgs, bound: SocketAddr, token: &str, password: Option<&str>) -> Self {
        let hosts = Arc::new(hosts::Hosts::new(bound, &args.public_names, args.secure_cookies));
        Self {
            digest: Arc::new(authenticate::DigestVerifier::new((args.nonce_secs * 1000.0).round() as i64)),
            failed_auth: Arc::new(authenticate::FailedAuth::new(args.failed_auth_per_minute)),
            rate: Arc::new(rate::RateLimit::new(args.rate_limit_per_minute)),
            origins: Arc::new(origin::Origins::new(Arc::clone(&hosts), args.allowed_origins.clone())),
            hosts,
            console_csp: Arc::new(headers::ConsoleCsp::new(args.console_dir.join("index.html"))),
            in_flight: idempotency::InFlight::default(),
            sign_in_failures: Mutex::default(),
            secure_cookies: args.secure_cookies,
            session_ms: (args.session_hours * 3_600_000.0).round().max(1000.0) as i64,
            sign_in: session::SignInSecrets::new(
                token,
                password,
                now_ms() + (args.sign_in_link_minutes * 60_000.0).round() as i64,
            ),
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, header};
    use clap::Parser;

    fn auth(extra: &[&str]) -> Auth {
        let mut argv = vec!["cmek-server"];
        argv.extend_from_slice(extra);
        let cli = crate::config::Cli::try_parse_from(argv).unwrap();
        Auth::new(&cli.serve, "127.0.0.1:8080".parse().unwrap(), "tok", None)
    }

    /// A header map from pairs; the layers' own test modules use it too.
    pub(super) fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn console_requests_get_no_challenge() {
        let a = auth(&[]);
        let r = a.digest.unauthenticated("no", false, true);
        assert_eq!(r.status(), 401);
        let challenges: Vec<_> = r.headers().get_all(header::WWW_AUTHENTICATE).iter().collect();
        assert_eq!(challenges.len(), 2);
        assert!(challenges[0].to_str().unwrap().contains("algorithm=SHA-256"));
        assert!(challenges[1].to_str().unwrap().contains("algorithm=MD5"));
        assert!(challenges[0].to_str().unwrap().ends_with("stale=true"));
        let r = a.digest.unauthenticated("no", true, false);
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
        assert!(is_console(&headers(&[("x-cmek-console", "1")])));
        assert!(!is_console(&headers(&[("x-cmek-console", "0")])));
    }

    /// The command line reaches each layer's state: the TLS origin and the allowed origin.
    #[test]
    fn the_origins_follow_the_command_line() {
        let tls = auth(&["--secure-cookies", "--public-name", "h:1", "--allowed-origin", "http://127.0.0.1:8081"]);
        let session = Credential::Session { id_hash: "h".into(), csrf_token: "csrf".into() };
        let dev = headers(&[("host", "h:1"), ("origin", "http://127.0.0.1:8081"), ("x-csrf-token", "csrf")]);
        assert!(tls.origins.check_change(&axum::http::Method::POST, &dev, &session).is_ok());
        let plain = headers(&[("host", "h:1"), ("origin", "http://h:1"), ("x-csrf-token", "csrf")]);
        assert!(tls.origins.check_change(&axum::http::Method::POST, &plain, &session).is_err());
    }

    #[test]
    fn scopes() {
        assert_eq!(Credential::ApiKey { public_key: "K".into() }.scope(), "key:K");
        assert_eq!(Credential::Session { id_hash: "h".into(), csrf_token: "c".into() }.scope(), "session:h");
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 43);
    }
}
