//! Data that stays current: the last good answer stays on screen while a refresh runs or fails,
//! with when it was fetched; polling is fast while something changes by itself, slow otherwise,
//! and stops while the tab is hidden.

use crate::api::ApiError;
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
    pub error: RwSignal<Option<ApiError>>,
    /// When `data` was fetched (Unix ms).
    pub updated: RwSignal<Option<i64>>,
    resource: LocalResource<Result<T, ApiError>>,
}

impl<T> Clone for Live<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Live<T> {}

impl<T: Clone + Send + Sync + 'static> Live<T> {
    /// Fetches with `fetch` (re-run when the signals it reads change).
    pub fn new<Fut>(fetch: impl Fn() -> Fut + 'static) -> Self
    where
        Fut: Future<Output = Result<T, ApiError>> + 'static,
    {
        let data = RwSignal::new(None);
        let error = RwSignal::new(None);
        let updated = RwSignal::new(None);
        let resource = LocalResource::new(fetch);
        Effect::new(move |_| match resource.get() {
            Some(Ok(v)) => {
                data.set(Some(v));
                error.set(None);
                updated.set(Some(crate::format::now_ms()));
            }
            // A page that is left cancels its requests; that is not worth saying.
            Some(Err(ApiError::Aborted)) | None => {}
            Some(Err(e)) => error.set(Some(e)),
        });
        Self { data, error, updated, resource }
    }

    /// Fetches again (the current data stays on screen meanwhile).
    pub fn refresh(&self) {
        self.resource.refetch();
    }

    /// Loaded at least once.
    pub fn loaded(&self) -> bool {
        self.data.with(Option::is_some)
    }
}

/// Calls `tick` every [`FAST_MS`] while `busy`, every [`SLOW_MS`] otherwise, never while the
/// tab is hidden, and once at once when it becomes visible again.
pub fn use_poll(tick: impl Fn() + Clone + Send + Sync + 'static, busy: Signal<bool>) {
    let visibility = use_document_visibility();
    let interval = Signal::derive(move || if busy.get() { FAST_MS } else { SLOW_MS });
    let Pausable { pause, resume, .. } = use_interval_fn(tick.clone(), interval);
    Effect::new(move |was_visible: Option<bool>| {
        let visible = visibility.get() == web_sys::VisibilityState::Visible;
        if visible {
            resume();
            if was_visible == Some(false) {
                tick();
            }
        } else {
            pause();
        }
        visible
    });
}
