//! Upstream read answers, reused for a short while and fetched once for everyone: each distinct
//! path-and-query has a slot behind an async lock, so identical reads that arrive together wait
//! for the one that went upstream and share its answer (coalescing). Writes through the gateway
//! drop the slots of what they change. When the budget is used up, an older answer is served
//! (with its age) rather than an error.

use crate::error::ApiError;
use axum::body::Bytes;
use cmek_core::ErrorCode;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// A kept answer.
#[derive(Clone, Debug)]
pub struct Entry {
    pub body: Bytes,
    /// When it was fetched from upstream (Unix ms).
    pub fetched_ms: i64,
}

impl Entry {
    pub fn age_secs(&self, now_ms: i64) -> u64 {
        ((now_ms - self.fetched_ms).max(0) / 1000) as u64
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<Entry>>>;

/// More distinct reads than this and the oldest slots are forgotten.
const MAX_SLOTS: usize = 2048;

#[derive(Default)]
pub struct ReadCache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl ReadCache {
    fn slot(&self, key: &str) -> Slot {
        let mut m = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= MAX_SLOTS && !m.contains_key(key) {
            m.clear();
        }
        m.entry(key.to_owned()).or_default().clone()
    }

    /// The answer for `key`: a kept one at most `max_age_ms` old, else `fetch`'s (kept for the
    /// next reader). While one reader fetches, the others for the same key wait for it. A fetch
    /// refused for the budget (429) falls back to an older answer when there is one.
    pub async fn get_or_fetch<F, Fut>(
        &self,
        key: &str,
        max_age_ms: u64,
        now: impl Fn() -> i64,
        fetch: F,
    ) -> Result<Entry, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, ApiError>>,
    {
        let slot = self.slot(key);
        let mut kept = slot.lock().await;
        if let Some(e) = kept.as_ref()
            && (now() - e.fetched_ms) as u64 <= max_age_ms
        {
            return Ok(e.clone());
        }
        match fetch().await {
            Ok(body) => {
                let e = Entry { body, fetched_ms: now() };
                *kept = Some(e.clone());
                Ok(e)
            }
            Err(err) if err.code() == Some(ErrorCode::RateLimited) || err.status == 429 => match kept.as_ref() {
                Some(e) => Ok(e.clone()),
                None => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    /// Forgets every kept answer whose key starts with one of `prefixes` or is one of `exact`.
    pub fn invalidate(&self, prefixes: &[String], exact: &[String]) {
        let mut m = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|k, _| !prefixes.iter().any(|p| k.starts_with(p.as_str())) && !exact.contains(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn identical_reads_go_upstream_once_and_writes_drop_them() {
        let cache = Arc::new(ReadCache::default());
        let calls = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(
                        "/api/v1beta/projects/1/clusters",
                        5_000,
                        || 1_000,
                        || async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            Ok(Bytes::from_static(b"{}"))
                        },
                    )
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "five concurrent identical reads, one upstream call");
        let fetch = || async { Ok(Bytes::from_static(b"{\"new\":1}")) };
        let e = cache.get_or_fetch("/api/v1beta/projects/1/clusters", 5_000, || 7_000, fetch).await.unwrap();
        assert_eq!(&e.body[..], b"{\"new\":1}", "older than 5 s: fetched again");
        cache.invalidate(&["/api/v1beta/projects/1/".to_owned()], &[]);
        let e = cache
            .get_or_fetch(
                "/api/v1beta/projects/1/clusters",
                5_000,
                || 7_001,
                || async { Ok(Bytes::from_static(b"[]")) },
            )
            .await
            .unwrap();
        assert_eq!(&e.body[..], b"[]", "a write dropped the kept answer");
    }

    #[tokio::test]
    async fn a_budget_refusal_serves_the_older_answer() {
        let cache = ReadCache::default();
        cache.get_or_fetch("/k", 0, || 0, || async { Ok(Bytes::from_static(b"1")) }).await.unwrap();
        let limited = || async { Err(ApiError::new(ErrorCode::RateLimited, "used up")) };
        let e = cache.get_or_fetch("/k", 0, || 9_000, limited).await.unwrap();
        assert_eq!((&e.body[..], e.age_secs(9_000)), (&b"1"[..], 9));
        let failed = || async { Err(ApiError::new(ErrorCode::UpstreamFailed, "500")) };
        assert!(cache.get_or_fetch("/k", 0, || 9_000, failed).await.is_err(), "a failure is not hidden");
    }
}
