//! The one typed client every page uses: one place for the base URL (read at runtime from
//! index.html, so one static build serves any deployment), JSON with the cmek-core types,
//! `ErrorResponse` decoding into [`RequestError`], a timeout, and cancellation of in-flight requests
//! when the page that asked is left.
//!
//! Requests go through a [`Transport`]: the browser's fetch in the app, an in-memory fake in the
//! browser tests.

mod cache;
pub mod fake;
pub(crate) mod fetch;
mod sandbox_action;

pub use cache::Cache;

pub use fetch::FetchTransport;
pub use sandbox_action::SandboxKeyAction;

use cmek_core::api::*;
use cmek_core::backup::{CreateBackupReq, CreateRestoreReq, CreateRestoreResp, ListBackupKeysResp, ListBackupsResp};
use cmek_core::ext::*;
use cmek_core::{ErrorCode, ErrorResponse, FieldError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// How long a request may take before the console gives up on it, unless index.html says
/// otherwise (`<meta name="cmek-api-timeout-secs" content="…">`).
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The request timeout in effect (read once from index.html).
pub fn timeout() -> Duration {
    thread_local! {
        static TIMEOUT_IN_EFFECT: Duration = fetch::meta("cmek-api-timeout-secs")
            .and_then(|s| parse_seconds(&s))
            .filter(|d| !d.is_zero() && *d <= Duration::from_secs(600))
            .unwrap_or(TIMEOUT);
    }
    TIMEOUT_IN_EFFECT.with(|t| *t)
}

/// Seconds as index.html writes them (`20`, `2.5`), to the nanosecond, without float parsing
/// (which would link Rust's float parser into the wasm); `None` for anything else.
pub fn parse_seconds(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    let secs: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let nanos = fraction.bytes().chain(std::iter::repeat(b'0')).take(9).fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    Some(Duration::new(secs, nanos))
}

/// The cache entry index.html's loader reads to ask the first screen's reads at once.
const SIGNED_IN: &str = "signed-in";

/// What goes on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    /// Path and query, e.g. `/api/v1beta/projects?page=1&page_size=10`.
    pub path: String,
    pub body: Option<String>,
    /// Extra headers: the console's marker, the anti-CSRF token, an idempotency key.
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
    /// `X-Ratelimit-Reset`: seconds until a rate limit resets.
    pub rate_limit_reset: Option<u64>,
}

/// Why no response arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetError {
    /// The network failed (offline, refused, DNS, CORS): why, in a sentence
    /// (`crate::reachability` tells the causes apart).
    Unreachable(String),
    /// Cancelled: the page that asked was left, or the timeout fired.
    Aborted,
}

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Sends one request. `abort` cancels it.
pub trait Transport: Send + Sync {
    fn send(&self, req: HttpRequest, abort: Option<web_sys::AbortSignal>) -> BoxFuture<Result<HttpResponse, NetError>>;
}

/// A failed call, in the terms a page needs to say what happened. (Not the server's `ApiError`,
/// the HTTP answer it makes: this is what became of a request, answered or not.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The API answered with an `ErrorResponse`. `retry_after`: seconds until a rate limit
    /// resets (`X-Ratelimit-Reset`), when the server said.
    Api {
        status: u16,
        body: ErrorResponse,
        retry_after: Option<u64>,
    },
    /// An error status without an `ErrorResponse` (a proxy, a plain server).
    Http {
        status: u16,
        text: String,
    },
    /// No answer: why, as the sentence to show.
    Unreachable(String),
    Timeout,
    /// The page was left; nobody is waiting for the answer.
    Aborted,
    /// A 200 whose body is not what the API documents.
    Decode(String),
}

impl RequestError {
    pub fn status(&self) -> Option<u16> {
        match self {
            RequestError::Api { status, .. } | RequestError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            RequestError::Api { body, .. } => body.error_code(),
            _ => None,
        }
    }

    /// The field errors the server named (`details` of the form `field: message`).
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            RequestError::Api { body, .. } => body.field_errors(),
            _ => Vec::new(),
        }
    }

    /// Every cause the server gave, in words.
    pub fn details(&self) -> Vec<String> {
        match self {
            RequestError::Api { body, .. } => body.details.clone(),
            _ => Vec::new(),
        }
    }

    /// When to try a read again after `attempt` failures (0-based), or `None` when trying again
    /// cannot help: exponential backoff from 1 s to 30 s; a rate limit waits for its reset.
    pub fn retry_delay(&self, attempt: u32) -> Option<Duration> {
        if !self.is_transient() {
            return None;
        }
        if let RequestError::Api { retry_after: Some(s), .. } = self {
            return Some(Duration::from_secs((*s).clamp(1, 60)));
        }
        Some(Duration::from_secs((1u64 << attempt.min(5)).min(30)))
    }

    /// Whether a read may be tried again (the cause may go away by itself).
    pub fn is_transient(&self) -> bool {
        match self {
            RequestError::Unreachable(_) | RequestError::Timeout => true,
            RequestError::Api { status, .. } | RequestError::Http { status, .. } => {
                matches!(status, 429 | 500 | 502 | 503 | 504)
            }
            _ => false,
        }
    }

    /// The sentence a page shows.
    pub fn message(&self) -> String {
        match self {
            RequestError::Api { body, .. } => body.message.clone(),
            RequestError::Http { status, text } if text.trim().is_empty() => {
                format!("The server answered HTTP {status} without an explanation.")
            }
            RequestError::Http { status, text } => {
                let text: String = text.chars().take(200).collect();
                format!("The server answered HTTP {status}: {text}")
            }
            RequestError::Unreachable(sentence) => sentence.clone(),
            RequestError::Timeout => {
                format!("The API did not answer within {} seconds.", crate::format::seconds(timeout()))
            }
            RequestError::Aborted => "The request was cancelled.".to_owned(),
            RequestError::Decode(why) => format!("The API answered something this console does not understand: {why}"),
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// What requests carry for the sign-in session (its anti-CSRF token), and what a 401 sets off.
#[derive(Default)]
struct RequestAuth {
    /// Sent as `X-CSRF-Token` on every request that changes something.
    csrf_token: std::sync::Mutex<Option<String>>,
    /// Called when the server answers 401: the session has ended.
    on_ended: std::sync::Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

/// The typed client. Cheap to clone; provided to every page as context.
#[derive(Clone)]
pub struct Api {
    transport: Arc<dyn Transport>,
    /// Where the API is, as the person sees it (for the `curl` commands).
    base_url: Arc<str>,
    auth: Arc<RequestAuth>,
    /// Where answers that do not change are kept across page loads (`None`: always ask).
    cache: Option<Cache>,
}

/// The `Idempotency-Key`s of one form. Protects against *duplicates*, not against retries after
/// a refusal: the same submission (same body) gets the same key until the server gives a
/// definitive answer (any HTTP answer below 500, success or refusal); then the form moves on to a
/// new key, so a corrected retry — the policy fixed in KMS, Create pressed again — is a new
/// request. Only a timeout, a network failure or a 5xx, after which the first may have landed,
/// keeps the key, so that retry gets the first result instead of creating twice. Clones share
/// the key (a double click sends one key).
#[derive(Clone, Debug)]
pub struct Idempotency {
    salt: Arc<std::sync::atomic::AtomicU64>,
}

impl Default for Idempotency {
    fn default() -> Self {
        Self::with_salt((js_sys::Math::random() * 9_007_199_254_740_991.0) as u64)
    }
}

impl Idempotency {
    /// A fixed salt (tests).
    pub fn with_salt(salt: u64) -> Self {
        Self { salt: Arc::new(salt.into()) }
    }

    /// The key for a request body: per form and answer (the salt) and per content.
    pub fn key(&self, body: &str) -> String {
        let salt = self.salt.load(std::sync::atomic::Ordering::Relaxed);
        // FNV-1a: stable and tiny; a collision only matters between one form's submissions.
        let mut h: u64 = 0xcbf29ce484222325 ^ salt;
        for b in body.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        format!("cmek-console-{salt:016x}{h:016x}")
    }

    /// Records how a request with this form's key ended: after a definitive answer the next
    /// submission gets a new key; after a failure where the first may have landed it keeps it.
    pub fn answered(&self, outcome: &Result<HttpResponse, RequestError>) {
        let definitive = match outcome {
            Ok(res) => res.status < 500,
            Err(e) => e.status().is_some_and(|s| s < 500),
        };
        if definitive {
            // splitmix64: a new salt that no earlier one of this form repeats.
            let next = |z: u64| {
                let z = z.wrapping_add(0x9e3779b97f4a7c15);
                let z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
                let z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
                z ^ (z >> 31)
            };
            let _ = self.salt.fetch_update(
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
                |z| Some(next(z)),
            );
        }
    }
}

/// Percent-encodes one path segment (ids are digits, but a typed URL may hold anything).
fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn paged(path: String, page: i64, page_size: i64) -> String {
    format!("{path}?page={page}&page_size={page_size}")
}

impl Api {
    pub fn new(transport: Arc<dyn Transport>, base_url: impl Into<Arc<str>>) -> Self {
        Self { transport, base_url: base_url.into(), auth: Arc::default(), cache: None }
    }

    /// Keeps the answers that do not change (server info, catalog, projects, configured keys)
    /// in the tab's session storage ([`Cache`]), so page loads do not ask for them again.
    pub fn with_cache(mut self) -> Self {
        self.cache = Some(Cache::new(&self.base_url));
        self
    }

    /// A kept answer, when caching is on.
    fn cached<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.cache.as_ref()?.get(name)
    }

    fn keep<T: Serialize>(&self, name: &str, value: &T) {
        if let Some(c) = &self.cache {
            c.put(name, value);
        }
    }

    /// Notes in the tab that the console may use the API (a session, or a server without
    /// sessions), so index.html's loader asks the next load's first reads together with the
    /// session check instead of after its answer (docs/performance.md, warm loads). Forgotten on
    /// any 401 and on signing out; expires with the cache.
    fn note_signed_in(&self, yes: bool) {
        match (&self.cache, yes) {
            (Some(c), true) => c.put(SIGNED_IN, &true),
            (Some(c), false) => c.forget(SIGNED_IN),
            (None, _) => {}
        }
    }

    /// Remembers the anti-CSRF token of the session.
    pub fn set_csrf_token(&self, token: Option<String>) {
        *self.auth.csrf_token.lock().unwrap_or_else(|p| p.into_inner()) = token;
    }

    /// What to do when the server says the session has ended (any 401).
    pub fn on_session_ended(&self, f: impl Fn() + Send + Sync + 'static) {
        *self.auth.on_ended.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(f));
    }

    /// The client for this page: fetch, against the base URL in `<meta name="cmek-api-base">`.
    pub fn from_page() -> Self {
        let base = fetch::configured_base();
        Self::new(Arc::new(FetchTransport::new(base.clone())), fetch::absolute(&base)).with_cache()
    }

    /// Absolute URL of an API path, as shown in `curl` commands.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }

    async fn send(&self, mut req: HttpRequest) -> Result<HttpResponse, RequestError> {
        // Marks the console's own requests: the server then answers 401 without a Digest
        // challenge, so the browser never shows its own login dialog.
        req.headers.push(("x-cmek-console", "1".to_owned()));
        if req.method != "GET"
            && let Some(t) = self.auth.csrf_token.lock().unwrap_or_else(|p| p.into_inner()).clone()
        {
            req.headers.push(("x-csrf-token", t));
        }
        let res = fetch::send_with_timeout(self.transport.as_ref(), req).await?;
        if res.status == 401 {
            self.note_signed_in(false);
            if let Some(f) = self.auth.on_ended.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                f();
            }
        }
        Ok(res)
    }

    /// A create: sent with an `Idempotency-Key` derived from the body, so retrying the same
    /// submission can never create twice.
    async fn create<B: Serialize, T: DeserializeOwned>(
        &self,
        path: String,
        body: &B,
        once: &Idempotency,
    ) -> Result<T, RequestError> {
        let json = serde_json::to_string(body).map_err(|e| RequestError::Decode(e.to_string()))?;
        let headers = vec![("idempotency-key", once.key(&json))];
        let res = self.send(HttpRequest { method: "POST", path, body: Some(json), headers }).await;
        once.answered(&res);
        decode(res?)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        path: String,
        body: Option<String>,
    ) -> Result<T, RequestError> {
        let res = self.send(HttpRequest { method, path, body, headers: Vec::new() }).await?;
        decode(res)
    }

    async fn get<T: DeserializeOwned>(&self, path: String) -> Result<T, RequestError> {
        self.call("GET", path, None).await
    }

    /// GETs an extension: `Ok(None)` when the server does not have it (a plain v1beta server
    /// answers 404, 405 or 501 there).
    async fn get_extension<T: DeserializeOwned>(&self, path: String) -> Result<Option<T>, RequestError> {
        match self.get(path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if matches!(e.status(), Some(404 | 405 | 501)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn with_body<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &'static str,
        path: String,
        body: &B,
    ) -> Result<T, RequestError> {
        let json = serde_json::to_string(body).map_err(|e| RequestError::Decode(e.to_string()))?;
        self.call(method, path, Some(json)).await
    }

    // ---------------------------------------------------------------- v1beta

    /// A page of projects (each kept, so opening one does not ask again).
    pub async fn list_projects(&self, page: i64, page_size: i64) -> Result<ListProjectsResp, RequestError> {
        let resp: ListProjectsResp = self.get(paged("/api/v1beta/projects".into(), page, page_size)).await?;
        for p in &resp.items {
            self.keep(&format!("project:{}", p.id), p);
        }
        Ok(resp)
    }

    /// v1beta has no "get project": walk the list until it turns up. A project seen before is
    /// not asked again (what the project pages show of it, name and CMEK, never changes).
    pub async fn find_project(&self, id: &str) -> Result<Option<Project>, RequestError> {
        if let Some(p) = self.cached::<Project>(&format!("project:{id}")) {
            return Ok(Some(p));
        }
        let size = cmek_core::page::MAX_PAGE_SIZE;
        let mut page = 1;
        loop {
            let resp = self.list_projects(page, size).await?;
            if let Some(p) = resp.items.iter().find(|p| p.id == id) {
                return Ok(Some(p.clone()));
            }
            if resp.items.is_empty() || page * size >= resp.total {
                return Ok(None);
            }
            page += 1;
        }
    }

    pub async fn create_project(
        &self,
        req: &CreateProjectReq,
        once: &Idempotency,
    ) -> Result<CreatedResp, RequestError> {
        self.create("/api/v1beta/projects".into(), req, once).await
    }

    /// The project's configured key. Kept once there is one: it cannot change or go.
    pub async fn list_aws_cmek(&self, project_id: &str) -> Result<ListAwsCmekResp, RequestError> {
        let name = format!("keys:{project_id}");
        if let Some(k) = self.cached::<ListAwsCmekResp>(&name) {
            return Ok(k);
        }
        let resp: ListAwsCmekResp = self.get(Self::aws_cmek_path(project_id)).await?;
        if !resp.items.is_empty() {
            self.keep(&name, &resp);
        }
        Ok(resp)
    }

    pub async fn create_aws_cmek(
        &self,
        project_id: &str,
        req: &CreateAwsCmekReq,
        once: &Idempotency,
    ) -> Result<Empty, RequestError> {
        self.create(Self::aws_cmek_path(project_id), req, once).await
    }

    pub fn aws_cmek_path(project_id: &str) -> String {
        format!("/api/v1beta/projects/{}/aws-cmek", seg(project_id))
    }

    pub fn clusters_path(project_id: &str) -> String {
        format!("/api/v1beta/projects/{}/clusters", seg(project_id))
    }

    pub fn cluster_path(project_id: &str, cluster_id: &str) -> String {
        format!("/api/v1beta/projects/{}/clusters/{}", seg(project_id), seg(cluster_id))
    }

    pub async fn list_clusters(
        &self,
        project_id: &str,
        page: i64,
        page_size: i64,
    ) -> Result<ListClustersResp, RequestError> {
        self.get(paged(Self::clusters_path(project_id), page, page_size)).await
    }

    /// Every cluster of a project, page by page.
    pub async fn all_clusters(&self, project_id: &str) -> Result<Vec<ClusterItem>, RequestError> {
        let size = cmek_core::page::MAX_PAGE_SIZE;
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let resp = self.list_clusters(project_id, page, size).await?;
            let n = resp.items.len() as i64;
            out.extend(resp.items);
            if n == 0 || page * size >= resp.total {
                return Ok(out);
            }
            page += 1;
        }
    }

    pub async fn create_cluster(
        &self,
        project_id: &str,
        req: &CreateClusterReq,
        once: &Idempotency,
    ) -> Result<CreatedResp, RequestError> {
        self.create(Self::clusters_path(project_id), req, once).await
    }

    pub async fn get_cluster(&self, project_id: &str, cluster_id: &str) -> Result<ClusterItem, RequestError> {
        self.get(Self::cluster_path(project_id, cluster_id)).await
    }

    pub async fn update_cluster(
        &self,
        project_id: &str,
        cluster_id: &str,
        req: &UpdateClusterReq,
    ) -> Result<Empty, RequestError> {
        self.with_body("PATCH", Self::cluster_path(project_id, cluster_id), req).await
    }

    pub async fn delete_cluster(&self, project_id: &str, cluster_id: &str) -> Result<Empty, RequestError> {
        self.call("DELETE", Self::cluster_path(project_id, cluster_id), None).await
    }

    pub fn backups_path(project_id: &str, cluster_id: &str) -> String {
        format!("{}/backups", Self::cluster_path(project_id, cluster_id))
    }

    pub fn backup_path(project_id: &str, cluster_id: &str, backup_id: &str) -> String {
        format!("{}/{}", Self::backups_path(project_id, cluster_id), seg(backup_id))
    }

    pub fn restores_path(project_id: &str) -> String {
        format!("/api/v1beta/projects/{}/restores", seg(project_id))
    }

    /// A cluster's backups, newest first.
    pub async fn list_backups(
        &self,
        project_id: &str,
        cluster_id: &str,
        page: i64,
        page_size: i64,
    ) -> Result<ListBackupsResp, RequestError> {
        self.get(paged(Self::backups_path(project_id, cluster_id), page, page_size)).await
    }

    pub async fn create_backup(
        &self,
        project_id: &str,
        cluster_id: &str,
        req: &CreateBackupReq,
        once: &Idempotency,
    ) -> Result<CreatedResp, RequestError> {
        self.create(Self::backups_path(project_id, cluster_id), req, once).await
    }

    pub async fn delete_backup(
        &self,
        project_id: &str,
        cluster_id: &str,
        backup_id: &str,
    ) -> Result<Empty, RequestError> {
        self.call("DELETE", Self::backup_path(project_id, cluster_id, backup_id), None).await
    }

    /// Which key encrypts each backup (as `list_backups` pages them); `None` on plain v1beta.
    pub async fn backup_keys(
        &self,
        project_id: &str,
        cluster_id: &str,
        page: i64,
        page_size: i64,
    ) -> Result<Option<ListBackupKeysResp>, RequestError> {
        let path = format!("{PREFIX}/projects/{}/clusters/{}/backup-keys", seg(project_id), seg(cluster_id));
        self.get_extension(paged(path, page, page_size)).await
    }

    /// Restores a backup to a new cluster of `project_id`.
    pub async fn create_restore(
        &self,
        project_id: &str,
        req: &CreateRestoreReq,
        once: &Idempotency,
    ) -> Result<CreateRestoreResp, RequestError> {
        self.create(Self::restores_path(project_id), req, once).await
    }

    /// The provider catalog (kept: it is the service's, not the user's).
    pub async fn provider_regions(&self) -> Result<ListProviderRegionsResp, RequestError> {
        if let Some(c) = self.cached("catalog") {
            return Ok(c);
        }
        let resp: ListProviderRegionsResp = self.get("/api/v1beta/clusters/provider/regions".into()).await?;
        self.keep("catalog", &resp);
        Ok(resp)
    }

    // ---------------------------------------------------------------- extensions

    /// The console's session: `Ok(None)` when the server has no sessions (plain v1beta).
    pub async fn session(&self) -> Result<Option<SessionInfo>, RequestError> {
        let answer = self.get_extension(format!("{PREFIX}/session")).await;
        if answer.is_ok() {
            self.note_signed_in(true);
        }
        answer
    }

    /// Signs in with the one-time token of the server's sign-in link, or a password.
    pub async fn sign_in(&self, req: &SignInReq) -> Result<SessionInfo, RequestError> {
        let answer = self.with_body("POST", format!("{PREFIX}/session"), req).await;
        if answer.is_ok() {
            self.note_signed_in(true);
        }
        answer
    }

    pub async fn sign_out(&self) -> Result<Empty, RequestError> {
        if let Some(c) = &self.cache {
            c.clear();
        }
        self.call("DELETE", format!("{PREFIX}/session"), None).await
    }

    /// The server's extensions, or `None` when it speaks plain v1beta only.
    pub async fn server_info(&self) -> Result<Option<ServerInfo>, RequestError> {
        if let Some(i) = self.cached::<ServerInfo>("server-info") {
            return Ok(Some(i));
        }
        let info = self.get_extension::<ServerInfo>(format!("{PREFIX}/server-info")).await?;
        if let Some(i) = &info {
            self.keep("server-info", i);
        }
        Ok(info)
    }

    /// Server info asked again (not the kept copy): the gateway's budget changes.
    pub async fn server_info_fresh(&self) -> Result<Option<ServerInfo>, RequestError> {
        self.get_extension::<ServerInfo>(format!("{PREFIX}/server-info")).await
    }

    pub async fn key_health(&self, project_id: &str) -> Result<KeyHealthList, RequestError> {
        self.get(format!("{PREFIX}/projects/{}/key-health", seg(project_id))).await
    }

    pub async fn check_key_health(&self, project_id: &str) -> Result<KeyHealthList, RequestError> {
        self.call("POST", format!("{PREFIX}/projects/{}/key-health/check", seg(project_id)), None).await
    }

    pub async fn events(&self, project_id: &str, page: i64, page_size: i64) -> Result<ListEventsResp, RequestError> {
        self.get(paged(format!("{PREFIX}/projects/{}/events", seg(project_id)), page, page_size)).await
    }

    pub async fn sandbox_keys(&self) -> Result<ListSandboxKeysResp, RequestError> {
        self.get(format!("{PREFIX}/sandbox-kms/keys")).await
    }

    pub async fn sandbox_key(&self, key_id: &str) -> Result<SandboxKey, RequestError> {
        self.get(format!("{PREFIX}/sandbox-kms/keys/{}", seg(key_id))).await
    }

    pub async fn create_sandbox_key(&self, req: &CreateSandboxKeyReq) -> Result<SandboxKey, RequestError> {
        self.with_body("POST", format!("{PREFIX}/sandbox-kms/keys"), req).await
    }

    pub async fn put_key_policy(&self, key_id: &str, policy: String) -> Result<SandboxKey, RequestError> {
        self.with_body("PUT", format!("{PREFIX}/sandbox-kms/keys/{}/policy", seg(key_id)), &PutKeyPolicyReq { policy })
            .await
    }

    /// `enable`, `disable`, `cancel-deletion` or `rotate`.
    pub async fn sandbox_key_action(&self, key_id: &str, action: SandboxKeyAction) -> Result<SandboxKey, RequestError> {
        self.call("POST", format!("{PREFIX}/sandbox-kms/keys/{}/{}", seg(key_id), action.path_segment()), None).await
    }

    pub async fn schedule_key_deletion(&self, key_id: &str, days: i64) -> Result<SandboxKey, RequestError> {
        let req = ScheduleDeletionReq { pending_window_days: Some(days) };
        self.with_body("POST", format!("{PREFIX}/sandbox-kms/keys/{}/schedule-deletion", seg(key_id)), &req).await
    }

    pub async fn set_key_rotation(
        &self,
        key_id: &str,
        enabled: bool,
        period_days: Option<i64>,
    ) -> Result<SandboxKey, RequestError> {
        let req = KeyRotationReq { enabled, period_days };
        self.with_body("PUT", format!("{PREFIX}/sandbox-kms/keys/{}/rotation", seg(key_id)), &req).await
    }
}

/// A response into `T`, or the error it carries.
fn decode<T: DeserializeOwned>(res: HttpResponse) -> Result<T, RequestError> {
    if (200..300).contains(&res.status) {
        return serde_json::from_str(&res.body).map_err(|e| RequestError::Decode(e.to_string()));
    }
    match serde_json::from_str::<ErrorResponse>(&res.body) {
        Ok(body) => Err(RequestError::Api { status: res.status, body, retry_after: res.rate_limit_reset }),
        Err(_) => Err(RequestError::Http { status: res.status, text: res.body }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_seconds_parse_as_the_float_parser_read_them() {
        for s in ["20", "2.5", "0.125", ".5", "5.", " 7 ", "600", "0"] {
            let want = s.trim().parse::<f64>().map(Duration::from_secs_f64).ok();
            assert_eq!(parse_seconds(s), want, "{s:?}");
        }
        for s in ["", ".", "-1", "abc", "1.2.3", "1,5", "99999999999999999999999"] {
            assert_eq!(parse_seconds(s), None, "{s:?}");
        }
    }

    #[test]
    fn errors_decode_into_their_kind() {
        let r = |status, body: &str| HttpResponse { status, body: body.into(), rate_limit_reset: None };
        let body = |code: ErrorCode, message: &str| serde_json::to_string(&ErrorResponse::new(code, message)).unwrap();
        let refused = ErrorResponse::new(ErrorCode::CmekNotEnabled, "no").with_details(vec!["a: b".to_owned()]);
        let e = decode::<Empty>(r(400, &serde_json::to_string(&refused).unwrap())).unwrap_err();
        assert_eq!(e.retry_delay(0), None, "a rule refusal does not go away by retrying");
        let limited = r(429, &body(ErrorCode::RateLimited, "slow down"));
        let limited = decode::<Empty>(HttpResponse { rate_limit_reset: Some(23), ..limited }).unwrap_err();
        assert_eq!(limited.retry_delay(0), Some(Duration::from_secs(23)), "a rate limit waits for its reset");
        assert_eq!(RequestError::Timeout.retry_delay(3), Some(Duration::from_secs(8)));
        assert_eq!(RequestError::Timeout.retry_delay(30), Some(Duration::from_secs(30)));
        assert_eq!(e.code(), Some(ErrorCode::CmekNotEnabled));
        assert_eq!(e.field_errors(), vec![FieldError::new("a", "b")]);
        let e = decode::<Empty>(r(502, "Bad Gateway")).unwrap_err();
        assert_eq!(e, RequestError::Http { status: 502, text: "Bad Gateway".into() });
        assert!(e.is_transient());
        assert!(matches!(decode::<CreatedResp>(r(200, "{}")), Err(RequestError::Decode(_))));
        assert_eq!(decode::<CreatedResp>(r(200, r#"{"id":"7"}"#)).unwrap().id, "7");
    }

    #[test]
    fn the_same_submission_gets_the_same_idempotency_key() {
        let once = Idempotency::with_salt(7);
        assert_eq!(once.key("{}"), once.key("{}"));
        assert_ne!(once.key("{}"), once.key("{ }"));
        assert_ne!(once.key("{}"), Idempotency::with_salt(8).key("{}"));
    }

    #[test]
    fn a_definitive_answer_moves_the_form_to_a_new_key() {
        let r = |status| Ok(HttpResponse { status, body: String::new(), rate_limit_reset: None });
        let once = Idempotency::with_salt(7);
        let double_click = once.clone();
        let first = once.key("{}");
        for may_have_landed in
            [r(502), r(503), Err(RequestError::Timeout), Err(RequestError::Unreachable("offline".into()))]
        {
            once.answered(&may_have_landed);
            assert_eq!(once.key("{}"), first, "{may_have_landed:?}: the retry may find the first result");
        }
        once.answered(&r(400));
        let second = once.key("{}");
        assert_ne!(second, first, "a refusal is an answer: a corrected retry is a new request");
        assert_eq!(double_click.key("{}"), second, "clones share the key");
        once.answered(&r(200));
        assert_ne!(once.key("{}"), second);
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(Api::cluster_path("1", "a/b c"), "/api/v1beta/projects/1/clusters/a%2Fb%20c");
    }
}
