//! Gateway mode: this server in front of another v1beta API (a real TiDB Cloud organisation, or
//! any v1beta server), holding that organisation's API key pair so that no browser or script
//! ever does.
//!
//! Console sessions, the gateway's own API keys, rate limits and idempotency work exactly as in
//! reference mode (`auth`); only `/api/v1beta/*` is answered by calling the upstream with HTTP
//! Digest (`upstream`), through a read cache that coalesces identical reads and shares the
//! upstream's per-key budget among all users (`cache`, `budget`). Every change is recorded as
//! an event in the local database (`events`). The extension endpoints that need the project's
//! keys (key health) ask the upstream for them and check them through the server's `Kms`.
//!
//! Map: `key_pair` (reading the secret) → `digest_client` (signing) → `upstream` (one request,
//! failures as `ErrorResponse`s) → `budget` → `cache` → `routes` (the handlers).

pub mod budget;
pub mod cache;
pub mod digest_client;
pub mod events;
pub mod key_pair;
pub mod routes;
pub mod upstream;

use crate::kms::Kms;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

/// The gateway's command-line options; all unset means reference mode.
#[derive(Clone, Debug, Default, Args)]
pub struct GatewayArgs {
    /// Serve v1beta from this upstream API instead of the reference implementation (gateway
    /// mode), e.g. `https://api.tidbcloud.com`. Needs the organisation's key pair, from
    /// --upstream-key-file or the environment (CMEK_UPSTREAM_PUBLIC_KEY and
    /// CMEK_UPSTREAM_PRIVATE_KEY).
    #[arg(long, env = "CMEK_UPSTREAM", value_parser = parse_upstream)]
    pub upstream: Option<String>,
    /// A file (mode 0600, owned by this account) holding the upstream key pair: the lines
    /// `public key: …` and `private key: …` (as `cmek-server api-key create` prints them), or
    /// one line `PUBLIC_KEY:PRIVATE_KEY`.
    #[arg(long, env = "CMEK_UPSTREAM_KEY_FILE")]
    pub upstream_key_file: Option<PathBuf>,
    /// Requests a minute the upstream allows the key pair (TiDB Cloud: 100).
    #[arg(long, env = "CMEK_UPSTREAM_BUDGET_PER_MINUTE", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub upstream_budget_per_minute: u32,
    /// Seconds a list or get answer from the upstream is reused while the budget is ample
    /// (longer as it runs low; writes through the gateway end it at once).
    #[arg(long, env = "CMEK_UPSTREAM_CACHE_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=300))]
    pub upstream_cache_secs: u64,
    /// Seconds the upstream has to answer one request.
    #[arg(long, env = "CMEK_UPSTREAM_TIMEOUT_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub upstream_timeout_secs: u64,
}

/// `http(s)://host[:port]` with an optional path; a trailing `/api/v1beta` is dropped, since
/// requests keep their own `/api/v1beta/…` path.
fn parse_upstream(s: &str) -> Result<String, String> {
    let t = s.trim().trim_end_matches('/');
    let t = t.strip_suffix("/api/v1beta").unwrap_or(t);
    let rest = t.strip_prefix("https://").or_else(|| t.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(['?', '#', ' ', '@']) => Ok(t.to_owned()),
        _ => Err(format!(
            "\"{s}\" is not an upstream API URL like https://api.tidbcloud.com (no user name, query or fragment)"
        )),
    }
}

/// Why gateway mode cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    KeyPair(#[from] key_pair::KeyPairError),
    #[error("cannot build the upstream HTTP client: {0}")]
    Client(String),
}

/// Everything gateway mode holds; shared by every request.
pub struct Gateway {
    pub upstream: upstream::Upstream,
    pub cache: cache::ReadCache,
    pub cache_secs: u64,
    pub lost: routes::LostCreates,
}

impl Gateway {
    /// The gateway for `args`, or `None` in reference mode.
    pub fn from_args(args: &GatewayArgs) -> Result<Option<Arc<Self>>, GatewayError> {
        let Some(base) = &args.upstream else { return Ok(None) };
        let keys = key_pair::KeyPair::load(args.upstream_key_file.as_deref())?;
        let budget = budget::Budget::new(args.upstream_budget_per_minute);
        let upstream = upstream::Upstream::new(
            base.clone(),
            keys,
            budget,
            std::time::Duration::from_secs(args.upstream_timeout_secs),
        )
        .map_err(GatewayError::Client)?;
        tracing::info!(upstream = %base, budget = args.upstream_budget_per_minute, "gateway mode");
        Ok(Some(Arc::new(Self {
            upstream,
            cache: cache::ReadCache::default(),
            lost: Default::default(),
            cache_secs: args.upstream_cache_secs,
        })))
    }

    /// What server info says about the gateway.
    pub fn info(&self) -> cmek_core::ext::GatewayInfo {
        let b = self.upstream.budget.snapshot(crate::clock::now_ms());
        cmek_core::ext::GatewayInfo {
            upstream: self.upstream.base().to_owned(),
            budget_limit: b.limit,
            budget_remaining: b.remaining,
            budget_reset_secs: b.reset_secs,
            cache_secs: self.cache_secs,
            cache_secs_now: self.upstream.budget.cache_ms(self.cache_secs * 1000, crate::clock::now_ms()) / 1000,
            throttled: b.throttled,
            requests_sent: b.sent,
        }
    }
}

/// The KMS of a gateway that has no AWS KMS client configured: every check says so, instead of
/// pretending the key is fine or asking the sandbox.
pub struct NoKms;

#[async_trait::async_trait]
impl Kms for NoKms {
    async fn describe_key(&self, arn: &str) -> Result<crate::kms::KeyDescription, crate::kms::KmsError> {
        Err(no_kms(arn))
    }
    async fn key_policy(&self, arn: &str) -> Result<String, crate::kms::KmsError> {
        Err(no_kms(arn))
    }
    async fn rotation_status(&self, arn: &str) -> Result<cmek_core::kms::RotationStatus, crate::kms::KmsError> {
        Err(no_kms(arn))
    }
}

fn no_kms(arn: &str) -> crate::kms::KmsError {
    crate::kms::KmsError::Unreachable {
        arn: arn.to_owned(),
        reason: "this gateway has no AWS KMS client configured (the sandbox KMS is off in gateway mode), so it cannot check keys itself; the upstream still checks them on every cluster operation".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls() {
        assert_eq!(parse_upstream("https://api.tidbcloud.com/api/v1beta/").unwrap(), "https://api.tidbcloud.com");
        assert_eq!(parse_upstream("http://127.0.0.1:9000").unwrap(), "http://127.0.0.1:9000");
        for bad in ["api.tidbcloud.com", "https://", "https://u:p@x", "ftp://x", "https://x/?a"] {
            let e = parse_upstream(bad).unwrap_err();
            assert!(e.contains(bad) && e.contains("upstream"), "{e}");
        }
    }
}
