//! The project's timeline: key and cluster events from the server's events extension.

use crate::components::{ErrorNotice, Loading, Pager};
use crate::live::{Live, use_poll};
use crate::project::use_project;
use crate::route::page_param;
use crate::{format, state};
use cmek_core::ext::ListEventsResp;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

const PAGE_SIZE: i64 = 25;

#[component]
pub fn EventsPage() -> impl IntoView {
    let ctx = use_project();
    let api = state::api();
    let info = state::server_info();
    let page = page_param();
    let live: Live<ListEventsResp> = Live::new(move || {
        let (api, id, p) = (api.clone(), ctx.id.get(), page.get());
        async move { api.events(&id, p, PAGE_SIZE).await }
    });
    use_poll(move || live.refresh(), Signal::stored(false));
    let navigate = use_navigate();
    let to_page =
        Callback::new(move |p: i64| navigate(&format!("{}?page={p}", ctx.path("events")), Default::default()));
    view! {
        <section aria-labelledby="events-title">
            <h2 id="events-title">"Events"</h2>
            {move || match info.get() {
                Some(Ok(None)) => view! { <p class="muted">"This server does not record events (it offers plain v1beta only)."</p> }.into_any(),
                _ => view! {
                    <p class="updated">{move || live.updated.get().map(|t| format!("Last updated {}", format::time_ms(t)))}</p>
                    <p class="help" role="status" id="retry-note">{move || live.retry_note()}</p>
                    {move || live.error.get().map(|e| view! { <ErrorNotice error=Signal::stored(e) doing="Loading the events" retry=Callback::new(move |_| live.refresh())/> })}
                    {move || match live.data.get() {
                        None => view! { <Loading label="Loading events"/> }.into_any(),
                        Some(list) if list.items.is_empty() => view! { <p class="empty">"No events yet."</p> }.into_any(),
                        Some(list) => view! {
                            <ol class="timeline" id="events">
                                {list.items.into_iter().map(|e| view! {
                                    <li data-kind=serde_json::to_string(&e.kind).ok().map(|k| k.trim_matches('"').to_owned())>
                                        <time>{format::time_ms(e.at_ms)}</time>
                                        <strong>{e.kind.label()}</strong>
                                        {e.cluster_id.clone().map(|id| view! {
                                            " · " <A href=ctx.path(&format!("clusters/{id}"))>{e.cluster_name.clone().unwrap_or(id.clone())}</A>
                                        })}
                                        {e.region.as_deref().map(|r| view! { " · " {cmek_core::region::label(r)} })}
                                        {
                                            let (message, causes) = cmek_core::error::said_once(&e.message, &e.details);
                                            view! {
                                                <div>{message}</div>
                                                {(!causes.is_empty()).then(|| view! {
                                                    <ul class="causes">{causes.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul>
                                                })}
                                            }
                                        }
                                    </li>
                                }).collect_view()}
                            </ol>
                            <Pager page=page total=Signal::stored(list.total) page_size=PAGE_SIZE noun=crate::format::EVENT on_change=to_page/>
                        }.into_any(),
                    }}
                }.into_any(),
            }}
        </section>
    }
}
