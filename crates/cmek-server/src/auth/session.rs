//! Console sessions: the browser never holds an API key. It signs in once — with the one-time
//! token of the link the server prints at start, or with the operator's password — and gets an
//! HttpOnly cookie; only the SHA-256 of the session id is stored. Changes need the session's
//! anti-CSRF token in `X-CSRF-Token` and the server's own `Origin` (see `auth/mod.rs`).
//!
//! `POST /api/ext/v1/session` signs in, `GET` says whether the cookie is a session, `DELETE`
//! signs out. They need no prior authentication.

use super::digest::{ct_eq, hex};
use super::{Credential, random_token};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use cmek_core::ErrorCode;
use cmek_core::api::Empty;
use cmek_core::ext::{SessionInfo, SignInReq};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::sync::Mutex;

/// The session cookie's name over plain HTTP.
pub const COOKIE: &str = "cmek_session";
/// Its name behind TLS (`--secure-cookies`): a `__Host-` cookie is only accepted by a browser
/// from a secure page of this very host, with `Path=/` and no `Domain`, so no page of another
/// port or subdomain can set one that shadows it.
pub const SECURE_COOKIE: &str = "__Host-cmek_session";

/// The session cookie's name.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
}

/// At most this many session cookies of one request are looked up.
const MAX_SESSION_COOKIES: usize = 8;

pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

/// Every value of the session cookie `name` the request carries. Cookies don't separate ports:
/// a page on another port of this host can set one more `cmek_session` (with a longer path, so
/// the browser sends it first); each value is tried, so such a cookie cannot hide the real one.
pub fn cookies_from(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, value)| *n == name && !value.is_empty())
        .map(|(_, value)| value.trim_matches('"').to_owned())
        .take(MAX_SESSION_COOKIES)
        .collect()
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(id: &str, max_age_secs: i64, secure: bool) -> String {
    let name = cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

/// A stored session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub id_hash: String,
    pub csrf_token: String,
    /// Unix ms.
    pub expires_at: i64,
}

impl SessionRow {
    pub fn info(&self) -> SessionInfo {
        SessionInfo { csrf_token: self.csrf_token.clone(), expires_at: self.expires_at.div_euclid(1000) }
    }
}

pub fn insert(c: &Connection, row: &SessionRow, now_ms: i64) -> rusqlite::Result<()> {
    c.execute("DELETE FROM console_sessions WHERE expires_at <= ?1", [now_ms])?;
    c.execute(
        "INSERT INTO console_sessions (id_hash, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![row.id_hash, row.csrf_token, now_ms, row.expires_at],
    )?;
    Ok(())
}

/// The session of a cookie value, unless it expired or was signed out.
pub fn find(c: &Connection, id_hash: &str, now_ms: i64) -> rusqlite::Result<Option<SessionRow>> {
    c.query_row(
        "SELECT id_hash, csrf_token, expires_at FROM console_sessions WHERE id_hash = ?1 AND expires_at > ?2",
        params![id_hash, now_ms],
        |r| Ok(SessionRow { id_hash: r.get(0)?, csrf_token: r.get(1)?, expires_at: r.get(2)? }),
    )
    .optional()
}

pub fn delete(c: &Connection, id_hash: &str) -> rusqlite::Result<()> {
    c.execute("DELETE FROM console_sessions WHERE id_hash = ?1", [id_hash])?;
    Ok(())
}

/// The console's sign-in endpoints (`/api/ext/v1/session`), outside authentication.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(sign_in, get_session, sign_out))
}

/// The current session one of the request's session cookies names, if any.
pub async fn lookup(
    db: &std::sync::Arc<crate::db::Db>,
    secure_cookies: bool,
    headers: &HeaderMap,
) -> crate::db::StorageResult<Option<SessionRow>> {
    let ids = cookies_from(headers, cookie_name(secure_cookies));
    if ids.is_empty() {
        return Ok(None);
    }
    let hashes: Vec<String> = ids.iter().map(|id| sha256_hex(id)).collect();
    let now = crate::clock::now_ms();
    db.read(move |c| {
        for h in &hashes {
            if let Some(row) = find(c, h, now)? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    })
    .await
}

/// Whether the request carries a session cookie at all.
pub fn has_cookie(secure_cookies: bool, headers: &HeaderMap) -> bool {
    !cookies_from(headers, cookie_name(secure_cookies)).is_empty()
}

// ------------------------------------------------------------------ what signs in

/// The one-time token of this start's sign-in link, and the optional password; only hashes.
pub struct SignInSecrets {
    token: Mutex<TokenState>,
    /// When the link stops working (Unix ms; `--sign-in-link-minutes`).
    token_expires_ms: i64,
    password: Option<String>,
}

enum TokenState {
    Unused(String),
    Used(String),
}

/// Why a sign-in was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInRefusal {
    TokenUsed,
    TokenExpired,
    TokenWrong,
    PasswordOff,
    PasswordWrong,
}

impl SignInSecrets {
    /// `token` is the link's token (printed once), usable until `token_expires_ms`;
    /// `password` the operator's, if any.
    pub fn new(token: &str, password: Option<&str>, token_expires_ms: i64) -> Self {
        Self {
            token: Mutex::new(TokenState::Unused(sha256_hex(token))),
            token_expires_ms,
            password: password.map(sha256_hex),
        }
    }

    /// Consumes the token if it is this start's, unused and not expired.
    pub fn use_token(&self, token: &str, now_ms: i64) -> Result<(), SignInRefusal> {
        let given = sha256_hex(token);
        let mut state = self.token.lock().unwrap_or_else(|p| p.into_inner());
        match &*state {
            TokenState::Unused(h) if ct_eq(h.as_bytes(), given.as_bytes()) && now_ms >= self.token_expires_ms => {
                Err(SignInRefusal::TokenExpired)
            }
            TokenState::Unused(h) if ct_eq(h.as_bytes(), given.as_bytes()) => {
                *state = TokenState::Used(given);
                Ok(())
            }
            TokenState::Used(h) if ct_eq(h.as_bytes(), given.as_bytes()) => Err(SignInRefusal::TokenUsed),
            _ => Err(SignInRefusal::TokenWrong),
        }
    }

    pub fn check_password(&self, password: &str) -> Result<(), SignInRefusal> {
        let Some(h) = &self.password else { return Err(SignInRefusal::PasswordOff) };
        if ct_eq(h.as_bytes(), sha256_hex(password).as_bytes()) { Ok(()) } else { Err(SignInRefusal::PasswordWrong) }
    }

    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }
}

impl SignInRefusal {
    pub fn message(&self) -> &'static str {
        match self {
            SignInRefusal::TokenUsed => {
                "this sign-in link was used already: a link signs in once. Restart the server for a new link, or sign in with the console password"
            }
            SignInRefusal::TokenExpired => {
                "this sign-in link has expired (see --sign-in-link-minutes): restart the server for a new link, or sign in with the console password"
            }
            SignInRefusal::TokenWrong => {
                "the sign-in token is not this server's: use the link the server printed at its last start (\"console sign-in: …\"), or the console password"
            }
            SignInRefusal::PasswordOff => {
                "password sign-in is off on this server: start it with --console-password-file (or CMEK_CONSOLE_PASSWORD), or use the sign-in link it printed"
            }
            SignInRefusal::PasswordWrong => "the console password is wrong",
        }
    }
}

// ------------------------------------------------------------------ endpoints

fn with_cookie(mut res: Response, cookie: Option<String>) -> Response {
    if let Some(v) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Sign in: `{"token": "…"}` (the link's one-time token) or `{"password": "…"}`.
#[utoipa::path(post, path = "/api/ext/v1/session", tag = "Extensions", operation_id = "SignIn",
    request_body = SignInReq,
    responses((status = 200, description = "Signed in; the session cookie is set (HttpOnly).", body = SessionInfo)))]
pub async fn sign_in(
    State(s): State<AppState>,
    super::ClientIp(ip): super::ClientIp,
    headers: HeaderMap,
    JsonBody(req): JsonBody<SignInReq>,
) -> Response {
    match sign_in_inner(&s, ip, &headers, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The link's token is checked before any limit: it is 256 random bits (nothing to guess), so
/// the right link always signs in, whoever else failed. A password can be guessed: an address
/// that failed too often waits before its password is even checked ([`super::rate::Backoff`]);
/// other addresses do not.
async fn sign_in_inner(s: &AppState, ip: std::net::IpAddr, headers: &HeaderMap, req: SignInReq) -> ApiResult<Response> {
    s.auth.origins.check_origin_if_present(headers)?;
    let checked = match (&req.token, &req.password) {
        (Some(t), None) => s.auth.sign_in.use_token(t, crate::clock::now_ms()),
        (None, Some(p)) => {
            s.auth.sign_in_allowed(ip)?;
            s.auth.sign_in.check_password(p)
        }
        (None, None) => {
            return Err(ApiError::new(
                ErrorCode::MissingField,
                "send {\"token\": \"…\"} (from the sign-in link) or {\"password\": \"…\"}",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::new(ErrorCode::InvalidField, "send either token or password, not both"));
        }
    };
    if let Err(why) = checked {
        if matches!(why, SignInRefusal::TokenWrong | SignInRefusal::PasswordWrong) {
            // A wrong token from an address that must wait is told to wait, like a password.
            s.auth.sign_in_allowed(ip)?;
            s.auth.sign_in_failed(ip);
        }
        tracing::info!(?why, "console sign-in refused");
        return Err(ApiError::new(ErrorCode::Unauthenticated, why.message()));
    }
    let now = crate::clock::now_ms();
    let id = random_token();
    let row = SessionRow { id_hash: sha256_hex(&id), csrf_token: random_token(), expires_at: now + s.auth.session_ms };
    let info = row.info();
    s.db.write(move |tx| Ok(insert(tx, &row, now)?)).await?;
    s.auth.sign_in_succeeded(ip);
    tracing::info!("console signed in");
    let max_age = s.auth.session_ms / 1000;
    Ok(with_cookie(Json(info).into_response(), Some(set_cookie(&id, max_age, s.auth.secure_cookies))))
}

/// The current session (the cookie's), or 401.
#[utoipa::path(get, path = "/api/ext/v1/session", tag = "Extensions", operation_id = "GetSession",
    responses((status = 200, description = "The cookie is a current session.", body = SessionInfo)))]
pub async fn get_session(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match lookup(&s.db, s.auth.secure_cookies, &headers).await {
        Ok(Some(row)) => with_cookie(Json(row.info()).into_response(), None),
        Ok(None) => {
            let why = if has_cookie(s.auth.secure_cookies, &headers) {
                "the console session has ended (it expired, was signed out, or belongs to another server): sign in again"
            } else {
                "not signed in: open the sign-in link the server printed at start, or sign in with the console password"
            };
            s.auth.digest.unauthenticated(why, super::is_console(&headers), false)
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Sign out: the session ends and the cookie is removed. With a current session this is a
/// change like any other (`X-CSRF-Token` and `Origin` needed); without one it only clears the
/// cookie.
#[utoipa::path(delete, path = "/api/ext/v1/session", tag = "Extensions", operation_id = "SignOut",
    responses((status = 200, description = "Signed out; the cookie is cleared.", body = Empty)))]
pub async fn sign_out(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let secure = s.auth.secure_cookies;
    let row = match lookup(&s.db, s.auth.secure_cookies, &headers).await {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Some(row) = row {
        let cred = Credential::Session { id_hash: row.id_hash.clone(), csrf_token: row.csrf_token.clone() };
        if let Err(e) = s.auth.origins.check_change(&Method::DELETE, &headers, &cred) {
            return e.into_response();
        }
        if let Err(e) = s.db.write(move |tx| Ok(delete(tx, &row.id_hash)?)).await {
            return ApiError::from(e).into_response();
        }
        tracing::info!("console signed out");
    }
    with_cookie(Json(Empty {}).into_response(), Some(clear_cookie(secure)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies() {
        let mut h = HeaderMap::new();
        assert!(cookies_from(&h, COOKIE).is_empty());
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; cmek_session=abc; b=2"));
        assert_eq!(cookies_from(&h, COOKIE), vec!["abc".to_owned()]);
        h.insert(header::COOKIE, HeaderValue::from_static("cmek_session=x; cmek_session=abc"));
        assert_eq!(cookies_from(&h, COOKIE), vec!["x".to_owned(), "abc".to_owned()], "every one, in order");
        assert!(cookies_from(&h, SECURE_COOKIE).is_empty(), "behind TLS only the __Host- cookie counts");
        h.insert(header::COOKIE, HeaderValue::from_static("cmek_session="));
        assert!(cookies_from(&h, COOKIE).is_empty());
        h.insert(header::COOKIE, HeaderValue::from_static("xcmek_session=abc"));
        assert!(cookies_from(&h, COOKIE).is_empty());
        assert_eq!(set_cookie("v", 60, false), "cmek_session=v; HttpOnly; SameSite=Strict; Path=/; Max-Age=60");
        assert_eq!(clear_cookie(true), "__Host-cmek_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure");
    }

    #[test]
    fn the_token_signs_in_once() {
        let s = SignInSecrets::new("tok", None, 1000);
        assert_eq!(s.use_token("other", 0), Err(SignInRefusal::TokenWrong));
        assert_eq!(s.use_token("tok", 0), Ok(()));
        assert_eq!(s.use_token("tok", 0), Err(SignInRefusal::TokenUsed));
        assert_eq!(s.check_password("x"), Err(SignInRefusal::PasswordOff));
        let s = SignInSecrets::new("tok", None, 1000);
        assert_eq!(s.use_token("tok", 1000), Err(SignInRefusal::TokenExpired));
        assert_eq!(s.use_token("tok", 1000), Err(SignInRefusal::TokenExpired), "still not used");
        let s = SignInSecrets::new("tok", Some("pw"), 1000);
        assert_eq!(s.check_password("pw"), Ok(()));
        assert_eq!(s.check_password("pw"), Ok(()), "a password is not used up");
        assert_eq!(s.check_password("pW"), Err(SignInRefusal::PasswordWrong));
    }

    #[test]
    fn sessions_expire_in_storage() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(dir.path()).unwrap();
        let row = SessionRow { id_hash: sha256_hex("id"), csrf_token: "c".into(), expires_at: 2_000 };
        db.write_blocking(|tx| Ok(insert(tx, &row, 1_000)?)).unwrap();
        assert_eq!(db.write_blocking(|tx| Ok(find(tx, &sha256_hex("id"), 1_999)?)).unwrap(), Some(row.clone()));
        assert_eq!(db.write_blocking(|tx| Ok(find(tx, &sha256_hex("id"), 2_000)?)).unwrap(), None);
        assert_eq!(row.info().expires_at, 2);
        db.write_blocking(|tx| Ok(delete(tx, &row.id_hash)?)).unwrap();
        assert_eq!(db.write_blocking(|tx| Ok(find(tx, &sha256_hex("id"), 1_500)?)).unwrap(), None);
    }
}
