//! Data that stays current: the last good answer stays on screen while a refresh runs or fails,
//! with when it was fetched; polling is fast while something changes by itself, slow (and
//! slower the longer nothing does) otherwise, and stops while the tab is hidden.

use crate::api::RequestError;
use leptos::prelude::*;
use leptos_use_document_visibility::use_document_visibility;
use leptos_use_interval_fn::{Pausable, use_interval_fn};
use std::future::Future;

/// Milliseconds between polls while something is changing, and otherwise.
pub const FAST_MS: u64 = 2_000;
pub const SLOW_MS: u64 = 10_000;

/// A read that is kept current.
pub struct Live<T: 'static> {
    /// The last successful answer (kept while a refresh fails).
    pub data: RwSignal<Option<T>>,
    /// The last refresh's error, until one succeeds.
    pub error: RwSignal<Option<RequestError>>,
    /// When `data` was fetched (Unix ms).
    pub updated: RwSignal<Option<i64>>,
    /// Seconds until the next automatic retry after a failure that may go away by itself.
    pub retry_in: RwSignal<Option<u64>>,
    resource: LocalResource<Result<T, RequestError>>,
}

impl<T> Clone for Live<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Live<T> {}

impl<T: Clone + Send + Sync + 'static> Live<T> {
    /// Fetches with `fetch` (re-run when the signals it reads change). A failure that may go
    /// away by itself (network, timeout, 429, 5xx) is retried with backoff; a rate limit waits
    /// for its reset.
    pub fn new<Fut>(fetch: impl Fn() -> Fut + 'static) -> Self
    where
        Fut: Future<Output = Result<T, RequestError>> + 'static,
    {
        let data = RwSignal::new(None);
        let error = RwSignal::new(None);
        let updated = RwSignal::new(None);
        let retry_in = RwSignal::new(None);
        let resource = LocalResource::new(fetch);
        let failures = StoredValue::new(0u32);
        let pending_retry = StoredValue::new(None::<TimeoutHandle>);
        Effect::new(move |_| match resource.get() {
            Some(Ok(v)) => {
                data.set(Some(v));
                error.set(None);
                retry_in.set(None);
                failures.set_value(0);
                updated.set(Some(crate::format::now_ms()));
            }
            // A page that is left cancels its requests; that is not worth saying.
            Some(Err(RequestError::Aborted)) | None => {}
            Some(Err(e)) => {
                let delay = e.retry_delay(failures.get_value());
                error.set(Some(e));
                if let Some(d) = delay {
                    failures.update_value(|n| *n += 1);
                    retry_in.set(Some(d.as_secs()));
                    if let Some(h) = pending_retry.get_value() {
                        h.clear();
                    }
                    let handle = set_timeout_with_handle(move || resource.refetch(), d).ok();
                    pending_retry.set_value(handle);
                } else {
                    retry_in.set(None);
                }
            }
        });
        on_cleanup(move || {
            if let Some(h) = pending_retry.try_get_value().flatten() {
                h.clear();
            }
        });
        Self { data, error, updated, retry_in, resource }
    }

    /// Fetches again (the current data stays on screen meanwhile).
    pub fn refresh(&self) {
        self.resource.refetch();
    }

    /// Loaded at least once.
    pub fn loaded(&self) -> bool {
        self.data.with(Option::is_some)
    }

    /// What to say about a failed refresh: the retry, when one is scheduled.
    pub fn retry_note(&self) -> Option<String> {
        self.retry_in.get().map(|s| format!("Trying again in {s} s."))
    }
}

/// Reads `resource` again by itself after a failure that may go away (network, timeout, 429,
/// 5xx), with backoff; a rate limit waits for its reset. For reads that are not [`Live`].
pub fn retry_on_failure<T: Send + Sync + 'static>(resource: LocalResource<Result<T, RequestError>>) {
    let failures = StoredValue::new(0u32);
    Effect::new(move |_| {
        let delay = resource.with(|r| match r {
            Some(Err(e)) => e.retry_delay(failures.get_value()),
            _ => {
                failures.set_value(0);
                None
            }
        });
        if let Some(d) = delay {
            failures.update_value(|n| *n += 1);
            let _ = set_timeout_with_handle(move || resource.refetch(), d);
        }
    });
}

/// The longest wait between polls while nothing changes by itself.
pub const IDLE_MAX_MS: u64 = 30_000;

/// Calls `tick` every [`FAST_MS`] while `busy`; otherwise every [`SLOW_MS`], backing off (×2 per
/// quiet poll, up to [`IDLE_MAX_MS`]) so an open page costs little of the rate limit; never while
/// the tab is hidden, and once at once when it becomes visible again (which starts over fast).
pub fn use_poll(tick: impl Fn() + Clone + Send + Sync + 'static, busy: Signal<bool>) {
    let visibility = use_document_visibility();
    let quiet = RwSignal::new(0u32);
    let interval = Signal::derive(move || if busy.get() { FAST_MS } else { idle_interval(quiet.get()) });
    Effect::new(move |_| {
        if busy.get() {
            quiet.set(0);
        }
    });
    let counted = {
        let tick = tick.clone();
        move || {
            if !busy.get_untracked() {
                quiet.update(|n| *n = n.saturating_add(1));
            }
            tick();
        }
    };
    let Pausable { pause, resume, .. } = use_interval_fn(counted, interval);
    Effect::new(move |was_visible: Option<bool>| {
        let visible = visibility.get() == web_sys::VisibilityState::Visible;
        if visible {
            resume();
            if was_visible == Some(false) {
                quiet.set(0);
                tick();
            }
        } else {
            pause();
        }
        visible
    });
}

/// The wait after `quiet` polls in a row while nothing was changing.
pub fn idle_interval(quiet: u32) -> u64 {
    SLOW_MS.saturating_mul(1 << quiet.min(8)).min(IDLE_MAX_MS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn idle_polling_backs_off_to_half_a_minute() {
        use super::*;
        assert_eq!([0, 1, 2, 9].map(idle_interval), [SLOW_MS, 20_000, IDLE_MAX_MS, IDLE_MAX_MS]);
    }
}
