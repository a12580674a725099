//! The project's key health: its facts, and the panel that loads them with "Test now".

use crate::api::RequestError;
use crate::components::{Button, ErrorNotice, KeyHealthBadge, Loading};
use crate::project::use_project;
use crate::{format, state};
use cmek_core::ext::KeyHealth;
use leptos::prelude::*;
use leptos_router::components::A;

/// The health of the project's key, when the server reports it, with "Test now".
#[component]
pub fn KeyHealthPanel(
    /// Set while a refusal above already lists why the key is unusable (the cluster page after a
    /// refused resume): the panel then says so instead of listing the causes a second time, and
    /// re-reads the health the refusal just recorded.
    #[prop(optional, into)]
    causes_shown_above: Signal<bool>,
) -> impl IntoView {
    let ctx = use_project();
    let api = state::api();
    let info = state::server_info();
    let a = api.clone();
    let health = LocalResource::new(move || {
        let (api, id) = (a.clone(), ctx.id.get());
        async move { api.key_health(&id).await }
    });
    let test_now = Action::new_local(move |_: &()| {
        let (api, id) = (api.clone(), ctx.id.get_untracked());
        async move { api.check_key_health(&id).await }
    });
    // The last "Test now" answer while there is one, else the recorded health.
    let current =
        move || test_now.value().get().or_else(|| health.get()).map(|r: Result<_, RequestError>| r.map(|l| l.items));
    Effect::new(move |was: Option<bool>| {
        let now = causes_shown_above.get();
        if now && was == Some(false) {
            test_now.value().set(None);
            health.refetch();
        }
        now
    });
    view! {
        <div class="health" aria-live="polite">
            {move || match info.get() {
                Some(Ok(None)) => view! {
                    <p class="muted">"This server does not report key health (it offers plain v1beta only), so the key's state, rotation and last successful check cannot be shown."</p>
                }.into_any(),
                _ => match current() {
                    None => view! { <Loading label="Checking the key's health"/> }.into_any(),
                    Some(Err(e)) => view! { <ErrorNotice error=Signal::stored(e) doing="Loading the key's health"/> }.into_any(),
                    Some(Ok(items)) => items.into_iter().next().map(|h| view! { <HealthFacts health=h causes_shown_above=causes_shown_above/> }.into_any())
                        .unwrap_or_else(|| view! { <p class="muted">"No key to check."</p> }.into_any()),
                },
            }}
            <Show when=move || !matches!(info.get(), Some(Ok(None)))>
                <div class="actions">
                    <Button pending=test_now.pending() id="test-key" on_click=Callback::new(move |_| { test_now.dispatch_local(()); })>"Test now"</Button>
                    <A href=move || ctx.path("encryption/check") attr:class="btn">"Check the key policy"</A>
                </div>
            </Show>
        </div>
    }
}

/// The facts of one key health record.
#[component]
pub fn HealthFacts(
    health: KeyHealth,
    /// The causes are listed by a refusal above: refer to it rather than list them again.
    #[prop(optional, into)]
    causes_shown_above: Signal<bool>,
) -> impl IntoView {
    let state = health.state;
    let rotation = health.rotation.clone();
    view! {
        <dl class="facts" id="key-health">
            <dt>"Health"</dt><dd><KeyHealthBadge state=state/></dd>
            <dt>"Key state in KMS"</dt><dd>{health.key_state.map(|s| s.as_str()).unwrap_or("unknown")}</dd>
            <dt>"Checked"</dt><dd>{health.checked_at.map(format::time).unwrap_or_else(|| "not yet".into())}</dd>
            <dt>"Last accessible"</dt><dd>{health.last_ok_at.map(format::time).unwrap_or_else(|| "never".into())}</dd>
            {health.deletion_date.map(|d| view! { <dt>"Deletion date"</dt><dd class="warn">{format::time(d)}</dd> })}
            <dt>"Rotation"</dt><dd>{format::rotation(rotation.as_ref())}</dd>
        </dl>
        {(!health.causes.is_empty()).then_some(move || if causes_shown_above.get() {
            view! { <p class="muted" id="key-causes-above">"Why the service cannot use this key: see the refusal above."</p> }.into_any()
        } else {
            view! {
                <div class="notice error" id="key-causes">
                    <p class="headline">"The service cannot use this key:"</p>
                    <ul class="causes">{health.causes.iter().map(|c| view! { <li>{c.clone()}</li> }).collect_view()}</ul>
                </div>
            }.into_any()
        })}
    }
}
