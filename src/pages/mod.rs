//! One file per route (and `backups.rs`, the backups panel of a cluster's page).

pub mod backups;
pub mod checker;
pub mod cluster_create;
pub mod cluster_detail;
pub mod clusters;
pub mod encryption;
pub mod events;
pub mod project;
pub mod projects;
pub mod revoke;
pub mod sandbox;
pub mod sign_in;

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <A href="/">"Go to the projects"</A> "."</p>
        </section>
    }
}

/// Marks the moment the first data of a page is on screen and its handlers are attached (the
/// benchmark reads it with `performance.getEntriesByName`).
pub fn mark_interactive() {
    thread_local! { static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) }; }
    if DONE.with(|d| d.replace(true)) {
        return;
    }
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark("cmek:interactive");
    }
}

/// The `page` query parameter (1 when absent or not a number).
pub fn page_param() -> Signal<i64> {
    let q = leptos_router::hooks::use_query_map();
    Signal::derive(move || q.read().get("page").and_then(|p| p.parse().ok()).filter(|p: &i64| *p >= 1).unwrap_or(1))
}
