//! The project's clusters, kept current: polled while any is changing, slower when none is, not
//! at all while the tab is hidden; keyed rows so a status change re-renders one row.

use crate::components::{Button, ButtonKind, ClusterTable, ErrorNotice, Loading, Pager, any_transitional};
use crate::interactive::mark_interactive;
use crate::live::{Live, use_poll};
use crate::project::use_project;
use crate::route::page_param;
use crate::{format, state};
use cmek_core::api::ListClustersResp;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

pub const PAGE_SIZE: i64 = 20;

#[component]
pub fn ClustersPage() -> impl IntoView {
    let ctx = use_project();
    let api = state::api();
    let page = page_param();
    let live: Live<ListClustersResp> = Live::new(move || {
        let (api, id, p) = (api.clone(), ctx.id.get(), page.get());
        async move { api.list_clusters(&id, p, PAGE_SIZE).await }
    });
    let items = Signal::derive(move || live.data.with(|d| d.as_ref().map(|d| d.items.clone()).unwrap_or_default()));
    let busy = Signal::derive(move || live.data.with(|d| d.as_ref().is_some_and(|d| any_transitional(&d.items))));
    use_poll(move || live.refresh(), busy);
    let navigate = use_navigate();
    let to_page = {
        let navigate = navigate.clone();
        Callback::new(move |p: i64| navigate(&format!("{}?page={p}", ctx.path("clusters")), Default::default()))
    };
    let blocked = Signal::derive(move || ctx.cmek().and_then(|c| c.create_cluster_blocked()).map(str::to_owned));
    // Only a change of total re-renders the table; a poll updates rows in place.
    let total = Memo::new(move |_| live.data.with(|d| d.as_ref().map(|d| d.total)));
    let lock = move || ctx.cmek().and_then(|c| c.clusters_locked());
    Effect::new(move |_| {
        // Only once the page is shown: it mounts hidden while the project loads.
        if live.loaded() && ctx.loaded().is_some() {
            request_animation_frame(mark_interactive);
        }
    });
    view! {
        <section aria-labelledby="clusters-title">
            <div class="page-head">
                <h2 id="clusters-title">"Clusters"</h2>
                <div class="actions">
                    <Button kind=ButtonKind::Primary id="create-cluster" disabled_reason=blocked
                        on_click=Callback::new(move |_| navigate(&ctx.path("clusters/new"), Default::default()))>
                        "Create cluster"
                    </Button>
                </div>
            </div>
            <Show when=move || blocked.with(Option::is_some)>
                <p><A href=move || ctx.path("encryption")>"Configure the encryption key"</A></p>
            </Show>
            {move || lock().map(|l| view! { <p class="help">{l}</p> })}
            <p class="updated" aria-live="off">{move || live.updated.get().map(|t| format!("Last updated {}", format::time_ms(t)))}</p>
            <p class="help" role="status" id="retry-note">{move || live.retry_note()}</p>
            {move || live.error.get().map(|e| {
                let doing = if live.loaded() { "Refreshing the clusters (the list below may be out of date)" } else { "Loading the clusters" };
                view! { <ErrorNotice error=Signal::stored(e) doing=doing retry=Callback::new(move |_| live.refresh())/> }
            })}
            {move || match total.get() {
                None if live.error.with(Option::is_none) => view! { <Loading label="Loading clusters"/> }.into_any(),
                None => ().into_any(),
                Some(0) => view! { <p class="empty">"No clusters in this project yet."</p> }.into_any(),
                Some(total) => view! {
                    <ClusterTable items=items href=Callback::new(move |id: String| ctx.path(&format!("clusters/{id}")))/>
                    <Pager page=page total=Signal::stored(total) page_size=PAGE_SIZE noun=crate::format::CLUSTER on_change=to_page/>
                }.into_any(),
            }}
        </section>
    }
}
