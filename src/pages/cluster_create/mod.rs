//! Create a cluster. In a CMEK project the tier, provider and region are locked to what the key
//! allows, each with its reason; elsewhere they come from the catalog. Node sizes, quantities and
//! storage come from the catalog for the region; every check is the rule the server applies
//! (cmek-core). The draft (never the password) survives errors and reloads in the tab.
//! `draft.rs` is the form as typed and its rules; `parts.rs` its placement, node components and
//! IP access list.

mod draft;
mod parts;

use crate::api::{Api, RequestError};
use crate::components::{
    ActionError, Button, ButtonKind, EquivalentRequest, ErrorNotice, Field, FormErrors, FormField, Loading, post_curl,
};
use crate::project::use_project;
use crate::state;
use cmek_core::api::{CreateClusterReq, ListProviderRegionsResp, ProviderRegion};
use cmek_core::ext::{KeyHealth, KeyHealthList};
use cmek_core::kms::KeyHealthState;
use cmek_core::project_cmek::{ProjectCmek, refuses_new_cluster};
use draft::{Draft, field_id, load_draft, save_draft};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use parts::{IpAccessList, LockedPlacement, NodeComponents, Placement};

#[component]
pub fn CreateClusterPage() -> impl IntoView {
    let ctx = use_project();
    let catalog = state::catalog();
    view! {
        <section aria-labelledby="create-cluster-title" class="narrow">
            <h2 id="create-cluster-title">"Create cluster"</h2>
            {move || match (ctx.loaded(), ctx.keys.get(), catalog.get()) {
                (_, Some(Err(e)), _) | (_, _, Some(Err(e))) => view! {
                    <ErrorNotice error=Signal::stored(e) doing="Loading what the form needs"/>
                }.into_any(),
                (Some(_), Some(Ok(_)), Some(Ok(cat))) => match ctx.cmek().and_then(|c| c.create_cluster_blocked()) {
                    Some(why) => view! {
                        <div class="notice info" id="no-key-yet"><p>{why}</p>
                            <p><A href=ctx.path("encryption")>"Go to Encryption Access"</A></p></div>
                    }.into_any(),
                    None => view! { <ClusterForm catalog=cat/> }.into_any(),
                },
                _ => view! { <Loading label="Loading the provider catalog"/> }.into_any(),
            }}
        </section>
    }
}

/// What the parts of the cluster form share.
#[derive(Clone, Copy)]
struct Form {
    draft: RwSignal<Draft>,
    catalog: StoredValue<ListProviderRegionsResp>,
    errors: FormErrors,
}

impl Form {
    /// The field a rule's path names.
    fn field(self, path: &str) -> FormField {
        self.errors.field(path)
    }

    /// An `on:input` / `on:change` handler that sets one part of the draft, then fits the rest to
    /// the catalog (a new region may not offer the node size chosen).
    fn set(self, f: fn(&mut Draft, String)) -> impl Fn(web_sys::Event) + Clone + 'static + use<> {
        move |ev: web_sys::Event| {
            let v = event_target_value(&ev);
            self.draft.update(|d| {
                f(d, v);
                self.catalog.with_value(|c| d.fit(c));
            });
        }
    }

    /// The catalog's entry for the draft's tier, provider and region.
    fn entry(self) -> Option<ProviderRegion> {
        self.catalog.with_value(|c| self.draft.with(|d| c.find(d.cluster_type(), d.provider(), &d.region).cloned()))
    }
}

/// Whether the project's key can be used for a new cluster now, as its last known health says
/// (CMEK projects): said before the form is filled in when it cannot, with the ways to fix it.
#[derive(Clone, Copy)]
struct KeyGate {
    /// Reads the recorded health (`false`) or asks KMS anew (`true`, "Test the key again").
    test: Action<bool, Result<KeyHealthList, RequestError>>,
    /// The key's state and causes when the service would refuse a new cluster.
    unusable: Memo<Option<(KeyHealthState, Vec<String>)>>,
}

impl KeyGate {
    /// Reads the key's health at once when `locked` (a CMEK project with its key).
    fn new(locked: bool) -> Self {
        let ctx = use_project();
        let api = state::api();
        let test = Action::new_local(move |check: &bool| {
            let (api, id, check) = (api.clone(), ctx.id.get_untracked(), *check);
            async move { if check { api.check_key_health(&id).await } else { api.key_health(&id).await } }
        });
        if locked {
            test.dispatch_local(false);
        }
        // The last health the service answered (a failed test keeps the one before).
        let health = Memo::new(move |prev: Option<&Option<KeyHealth>>| match test.value().get() {
            Some(Ok(list)) => list.items.into_iter().next(),
            _ => prev.cloned().flatten(),
        });
        let unusable = Memo::new(move |_| {
            health.with(|h| h.as_ref().filter(|h| refuses_new_cluster(h.state)).map(|h| (h.state, h.causes.clone())))
        });
        KeyGate { test, unusable }
    }

    /// Why Create is disabled while the key cannot be used.
    fn reason(self) -> Signal<Option<String>> {
        let unusable = self.unusable;
        Signal::derive(move || {
            unusable.with(|u| {
                u.as_ref().map(|(s, _)| {
                    format!(
                        "The project's key cannot be used now ({}): fix it, then test it again (see above).",
                        s.label()
                    )
                })
            })
        })
    }
}

/// What is wrong with the key, the ways to fix it, and "Test the key again".
#[component]
fn KeyUnusable(key: KeyGate) -> impl IntoView {
    let ctx = use_project();
    move || {
        key.unusable.get().map(|(state, causes)| view! {
            <div class="notice warn" id="key-unusable" role="status">
                <p class="headline">{format!("The project's key cannot be used now ({}): a new cluster would be refused until it is fixed.", state.label())}</p>
                {(!causes.is_empty()).then(|| view! { <ul class="causes">{causes.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}</ul> })}
                <div class="actions">
                    <A href=ctx.path("encryption") attr:class="btn">"See the key's health"</A>
                    <A href=ctx.path("encryption/check") attr:class="btn">"Check the key policy"</A>
                    <Button id="test-key-again" pending=key.test.pending()
                        on_click=Callback::new(move |_| { key.test.dispatch_local(true); })>"Test the key again"</Button>
                </div>
            </div>
        })
    }
}

#[component]
fn ClusterForm(catalog: ListProviderRegionsResp) -> impl IntoView {
    let ctx = use_project();
    let api = state::api();
    let project_id = ctx.id.get_untracked();
    // Read once: the form is built for the project as it is when the form opens.
    let cmek = untrack(|| ctx.cmek()).unwrap_or(ProjectCmek::NotEnabled);
    let key_region = cmek.key_region().map(str::to_owned);
    let mut initial = load_draft(&project_id).unwrap_or_default();
    if let Some(r) = &key_region {
        initial.serverless = false;
        initial.gcp = false;
        initial.region = r.clone();
    }
    initial.fit(&catalog);
    let draft = RwSignal::new(initial);
    let password = RwSignal::new(String::new());
    let catalog = StoredValue::new(catalog);
    {
        let pid = project_id.clone();
        Effect::new(move |_| draft.with(|d| save_draft(&pid, Some(d))));
    }
    let key = KeyGate::new(key_region.is_some());
    let (unusable, key_reason) = (key.unusable, key.reason());
    let rules = {
        let cmek = cmek.clone();
        Memo::new(move |_| catalog.with_value(|c| draft.with(|d| d.errors(&password.get(), c, cmek.context()))))
    };
    // The form's idempotency keys: a retry after a timeout cannot create twice, and a retry after
    // a refusal (the cause fixed meanwhile) is checked anew.
    let once = crate::api::Idempotency::default();
    let create = Action::new_local(move |req: &CreateClusterReq| {
        let (api, id, req) = (api.clone(), ctx.id.get_untracked(), req.clone());
        let once = once.clone();
        async move { api.create_cluster(&id, &req, &once).await }
    });
    let failed = Signal::derive(move || create.value().get().and_then(Result::err));
    let navigate = use_navigate();
    {
        let pid = project_id.clone();
        Effect::new(move |_| {
            if let Some(Ok(r)) = create.value().get() {
                save_draft(&pid, None);
                navigate(&ctx.path(&format!("clusters/{}", r.id)), Default::default());
            }
        });
    }
    // What the server said about fields, shown at those fields.
    let server_errors = Signal::derive(move || failed.get().map(|e| e.field_errors()).unwrap_or_default());
    let form = Form { draft, catalog, errors: FormErrors::new(rules.into(), server_errors, field_id) };
    let form_ref = NodeRef::<leptos::html::Form>::new();
    let submit = move || {
        // Running, or done and leaving the page: a second click must not send a second create.
        if create.pending().get_untracked()
            || matches!(create.value().get_untracked(), Some(Ok(_)))
            || unusable.with_untracked(Option::is_some)
        {
            return;
        }
        if form.errors.submit(form_ref.get_untracked().map(Into::into)) {
            let (req, _) = draft.with_untracked(|d| d.request(&password.get_untracked()));
            create.dispatch_local(req);
        }
    };
    // The password is never echoed: the command shows where it goes.
    let curl =
        post_curl(move || Api::clusters_path(&ctx.id.get()), move || draft.with(|d| d.request("YOUR_ROOT_PASSWORD").0));
    let name = form.field("name").help("4–64 letters, digits and hyphens; starts and ends with a letter or digit.");
    let port = form.field("config.port").help(format!(
        "1024–65535, except 10080.{}",
        // A CMEK project has no Serverless clusters: saying how they differ would only confuse.
        if key_region.is_some() { "" } else { " Serverless clusters use 4000." }
    ));
    let root_password = form
        .field("config.root_password")
        .help("8–64 characters. Sent once to create the cluster; this console never stores it.");
    view! {
        <form novalidate node_ref=form_ref on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <KeyUnusable key=key/>
            <Field field=name.clone() label="Cluster name">
                <input {..name.control()} type="text" autocomplete="off" prop:value=move || draft.with(|d| d.name.clone())
                    on:input=form.set(|d, v| d.name = v) on:blur=name.left()/>
            </Field>
            {match cmek.placement_locked() {
                Some(reason) => view! { <LockedPlacement reason=reason region=key_region.clone().unwrap_or_default()/> }.into_any(),
                None => view! { <Placement form=form/> }.into_any(),
            }}
            <Show when=move || draft.with(|d| !d.serverless)>
                <NodeComponents form=form/>
            </Show>
            <Field field=port.clone() label="Port">
                <input {..port.control()} type="number" class="short" prop:value=move || draft.with(|d| d.port.clone())
                    on:input=form.set(|d, v| d.port = v) on:blur=port.left()/>
            </Field>
            <Field field=root_password.clone() label="Root password">
                <input {..root_password.control()} type="password" autocomplete="new-password" bind:value=password on:blur=root_password.left()/>
            </Field>
            <IpAccessList form=form/>
            <ActionError error=failed doing="Creating the cluster"/>
            <div class="actions">
                <Button submit=true kind=ButtonKind::Primary pending=create.pending() disabled_reason=key_reason id="create-cluster-submit">"Create cluster"</Button>
                <A href=move || ctx.path("clusters") attr:class="btn">"Cancel"</A>
            </div>
            <EquivalentRequest command=curl/>
        </form>
    }
}
