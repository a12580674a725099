//! Who the request is from: HTTP Digest against the stored API keys when it has an
//! `Authorization` header, else the console's session cookie. The layer puts the [`Credential`]
//! in the request's extensions for the layers and handlers after it; a refusal is a 401 with
//! the Digest challenges, counted against the client's address ([`FailedAuth`]).

use super::digest::{self, Algorithm, CountRefusal, NonceCounts, NonceKey, NonceState, REALM};
use super::{Credential, Refusal, api_keys, is_console, peer_of, rate, refuse, refuse_unchecked, session};
use crate::clock::now_ms;
use crate::db::Db;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cmek_core::ErrorCode;
use rand::RngCore;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The HA1 a signature is checked against when its public key is unknown (nothing matches it).
const UNKNOWN_KEY_HA1: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The Digest side: signed nonces, their counts, the opaque value, and the 401 that challenges.
pub struct DigestVerifier {
    nonce_key: NonceKey,
    opaque: String,
    nonce_lifetime_ms: i64,
    counts: Mutex<NonceCounts>,
}

impl DigestVerifier {
    pub fn new(nonce_lifetime_ms: i64) -> Self {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let mut opaque = [0u8; 16];
        rand::rng().fill_bytes(&mut opaque);
        Self {
            nonce_key: NonceKey::new(secret),
            opaque: URL_SAFE_NO_PAD.encode(opaque),
            nonce_lifetime_ms,
            counts: Mutex::default(),
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
    async fn verify(&self, db: &Arc<Db>, header: &str, method: &Method, target: &str) -> Result<Credential, Refusal> {
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
        .map_err(refuse_unchecked)?;
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
}

/// Requests that failed authentication, per client address this minute
/// (`--failed-auth-per-minute`; 0 means no limit).
pub struct FailedAuth {
    limiter: Mutex<rate::Limiter>,
    limit: u32,
}

impl FailedAuth {
    pub fn new(limit: u32) -> Self {
        Self { limiter: Mutex::default(), limit }
    }

    /// 429 before any work when `ip` had too many 401s this minute.
    fn allowed(&self, ip: IpAddr) -> Result<(), ApiError> {
        if self.limit == 0 {
            return Ok(());
        }
        let now = now_ms();
        let l = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        if l.exhausted(&ip.to_string(), now, self.limit) {
            let secs = rate::reset_secs(now);
            return Err(rate::retry_after(
                ApiError::new(
                    ErrorCode::RateLimited,
                    format!(
                        "more than {} requests from {ip} failed authentication this minute; try again in {secs} s with valid credentials",
                        self.limit
                    ),
                ),
                secs,
            ));
        }
        Ok(())
    }

    fn failed(&self, ip: IpAddr) {
        if self.limit > 0 {
            self.limiter.lock().unwrap_or_else(|p| p.into_inner()).hit(&ip.to_string(), now_ms(), self.limit);
        }
    }
}

impl FromRef<AppState> for Arc<FailedAuth> {
    fn from_ref(s: &AppState) -> Self {
        Arc::clone(&s.auth.failed_auth)
    }
}

/// The first layer in front of the API: an address whose requests failed authentication too
/// often this minute is refused before any hash is computed or anything is read.
pub async fn refuse_repeated_failures(State(failed): State<Arc<FailedAuth>>, req: Request, next: Next) -> Response {
    match failed.allowed(peer_of(req.extensions())) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// What the authenticating layer needs.
#[derive(Clone)]
pub struct Authentication {
    pub db: Arc<Db>,
    pub digest: Arc<DigestVerifier>,
    pub failed: Arc<FailedAuth>,
    /// Which session cookie the console sends (`__Host-` behind TLS).
    pub secure_cookies: bool,
}

impl FromRef<AppState> for Authentication {
    fn from_ref(s: &AppState) -> Self {
        Self {
            db: Arc::clone(&s.db),
            digest: Arc::clone(&s.auth.digest),
            failed: Arc::clone(&s.auth.failed_auth),
            secure_cookies: s.auth.secure_cookies,
        }
    }
}

impl Authentication {
    /// Who the request is from: Digest when it has an `Authorization` header, else the session
    /// cookie.
    async fn credential(&self, req: &axum::http::request::Parts) -> Result<Credential, Refusal> {
        let headers = &req.headers;
        if let Some(h) = headers.get(header::AUTHORIZATION) {
            let h = h.to_str().map_err(|_| refuse("the Authorization header is not ASCII"))?;
            let target = req.uri.path_and_query().map_or_else(|| req.uri.path(), |p| p.as_str());
            return self.digest.verify(&self.db, h, &req.method, target).await;
        }
        if session::has_cookie(self.secure_cookies, headers) {
            return match session::lookup(&self.db, self.secure_cookies, headers).await {
                Ok(Some(row)) => Ok(Credential::Session { id_hash: row.id_hash, csrf_token: row.csrf_token }),
                Ok(None) => Err(refuse(
                    "the console session has ended (it expired, was signed out, or belongs to another server): sign in again",
                )),
                Err(e) => Err(refuse_unchecked(e)),
            };
        }
        Err(refuse(
            "the request has no credentials: authenticate with an API key and HTTP Digest (curl --digest --user PUBLIC_KEY:PRIVATE_KEY; create a key with cmek-server api-key create), or sign in to the console",
        ))
    }
}

/// The layer that authenticates every `/api/` request but the session endpoints: the
/// [`Credential`] goes in the request's extensions; a refusal is a 401.
pub async fn authenticate(State(a): State<Authentication>, req: Request, next: Next) -> Response {
    let console = is_console(req.headers());
    let ip = peer_of(req.extensions());
    let (parts, body) = req.into_parts();
    match a.credential(&parts).await {
        Ok(cred) => {
            let mut req = Request::from_parts(parts, body);
            req.extensions_mut().insert(cred);
            next.run(req).await
        }
        Err(r) => {
            tracing::debug!(why = %r.message, path = %parts.uri.path(), "unauthenticated request");
            a.failed.failed(ip);
            a.digest.unauthenticated(&r.message, console, r.stale)
        }
    }
}

/// The credential the authenticating layer put in the request (for the layers after it).
pub fn credential_of(req: &Request) -> Option<&Credential> {
    req.extensions().get::<Credential>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::middleware::from_fn_with_state;
    use axum::routing::get;
    use tower::ServiceExt;

    fn authentication(dir: &std::path::Path, failed_limit: u32) -> Authentication {
        Authentication {
            db: Db::open(dir).unwrap(),
            digest: Arc::new(DigestVerifier::new(60_000)),
            failed: Arc::new(FailedAuth::new(failed_limit)),
            secure_cookies: false,
        }
    }

    /// The handler answers who the layer said the caller is.
    async fn who(cred: axum::Extension<Credential>) -> String {
        cred.0.scope()
    }

    fn app(a: Authentication) -> Router {
        Router::new()
            .route("/api/x", get(who))
            .layer(from_fn_with_state(a.clone(), authenticate))
            .layer(from_fn_with_state(Arc::clone(&a.failed), refuse_repeated_failures))
    }

    #[tokio::test]
    async fn no_credentials_is_a_401_with_both_challenges_and_counts_as_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let a = authentication(dir.path(), 1);
        let app = app(a);
        let res = app.clone().oneshot(Request::get("/api/x").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers().get_all(header::WWW_AUTHENTICATE).iter().count(), 2);
        // The address used up its one failure this minute: refused before any work.
        let res = app.oneshot(Request::get("/api/x").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), 429);
        assert!(res.headers().contains_key(header::RETRY_AFTER));
    }

    #[tokio::test]
    async fn a_signed_request_reaches_the_handler_with_its_credential() {
        let dir = tempfile::tempdir().unwrap();
        let a = authentication(dir.path(), 0);
        a.db.write_blocking(|tx| Ok(api_keys::insert(tx, "PUB1", "private-1", "n", 5)?)).unwrap();
        let nonce = a.digest.new_nonce();
        let uri = "/api/x";
        let ha1 = digest::ha1(Algorithm::Sha256, "PUB1", REALM, "private-1");
        let response = digest::response(Algorithm::Sha256, &ha1, &nonce, "00000001", "c", "auth", "GET", uri);
        let authorization = format!(
            "Digest username=\"PUB1\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{uri}\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"c\", response=\"{response}\""
        );
        let req = Request::get(uri).header(header::AUTHORIZATION, authorization).body(Body::empty()).unwrap();
        let res = app(a).oneshot(req).await.unwrap();
        assert_eq!(res.status(), 200);
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"key:PUB1");
    }
}
