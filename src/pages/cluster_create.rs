//! Create a cluster. In a CMEK project the tier, provider and region are locked to what the key
//! allows, each with its reason; elsewhere they come from the catalog. Node sizes, quantities and
//! storage come from the catalog for the region; every check is the rule the server applies
//! (cmek-core). The draft (never the password) survives errors and reloads for the session.

use super::clusters::create_cluster_blocked;
use super::project::use_project;
use crate::api::{Api, ApiError};
use crate::components::{Button, ButtonKind, EquivalentRequest, ErrorNotice, Loading};
use crate::{format, state};
use cmek_core::FieldError;
use cmek_core::api::{
    CloudProvider, ClusterType, Components, CreateClusterConfig, CreateClusterReq, IpAccessListItem,
    ListProviderRegionsResp, StorageComponent, TidbComponent,
};
use cmek_core::cluster::{CmekContext, DEFAULT_PORT, check_cmek_placement, check_create};
use cmek_core::ext::KeyHealth;
use cmek_core::kms::KeyHealthState;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use serde::{Deserialize, Serialize};

/// The form as typed (numbers as text, so nothing typed is lost). Never holds the password.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Draft {
    pub name: String,
    pub serverless: bool,
    pub gcp: bool,
    pub region: String,
    pub port: String,
    pub tidb_size: String,
    pub tidb_quantity: String,
    pub tikv_size: String,
    pub tikv_quantity: String,
    pub tikv_storage: String,
    pub tiflash: bool,
    pub tiflash_size: String,
    pub tiflash_quantity: String,
    pub tiflash_storage: String,
    pub ip_access_list: Vec<(String, String)>,
}

/// The element id of a field path the rules name.
pub fn field_id(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("config.ip_access_list[") {
        let (i, tail) = rest.split_once(']').unwrap_or(("0", ""));
        return if tail.ends_with("description") { format!("ip-desc-{i}") } else { format!("ip-cidr-{i}") };
    }
    match path {
        "name" => "cluster-name",
        "cluster_type" => "cluster-tier",
        "cloud_provider" => "cluster-provider",
        "region" => "cluster-region",
        "config.root_password" => "cluster-password",
        "config.port" => "cluster-port",
        "config.components" | "config.components.tidb.node_size" => "tidb-size",
        "config.components.tidb.node_quantity" => "tidb-quantity",
        "config.components.tikv.node_size" => "tikv-size",
        "config.components.tikv.node_quantity" => "tikv-quantity",
        "config.components.tikv.storage_size_gib" => "tikv-storage",
        "config.components.tiflash" => "tiflash-enabled",
        "config.components.tiflash.node_size" => "tiflash-size",
        "config.components.tiflash.node_quantity" => "tiflash-quantity",
        "config.components.tiflash.storage_size_gib" => "tiflash-storage",
        "config.ip_access_list" => "ip-add",
        _ => "cluster-name",
    }
    .to_owned()
}

/// The order fields appear in, so focus goes to the first error on the page.
const ORDER: [&str; 16] = [
    "cluster-name",
    "cluster-tier",
    "cluster-provider",
    "cluster-region",
    "tidb-size",
    "tidb-quantity",
    "tikv-size",
    "tikv-quantity",
    "tikv-storage",
    "tiflash-enabled",
    "tiflash-size",
    "tiflash-quantity",
    "tiflash-storage",
    "cluster-port",
    "cluster-password",
    "ip-add",
];

fn position(id: &str) -> usize {
    ORDER.iter().position(|o| *o == id).unwrap_or(if id.starts_with("ip-") { ORDER.len() - 1 } else { ORDER.len() })
}

fn number(path: &str, text: &str, errors: &mut Vec<FieldError>) -> i32 {
    match text.trim().parse::<i32>() {
        Ok(n) => n,
        Err(_) => {
            let shown = if text.trim().is_empty() { "nothing".to_owned() } else { format!("\"{text}\"") };
            errors.push(FieldError::new(path, format!("{shown} is not a whole number")));
            0
        }
    }
}

impl Draft {
    fn cluster_type(&self) -> ClusterType {
        if self.serverless { ClusterType::Developer } else { ClusterType::Dedicated }
    }

    fn provider(&self) -> CloudProvider {
        if self.gcp { CloudProvider::Gcp } else { CloudProvider::Aws }
    }

    /// The request this draft makes, and the fields that are not even numbers.
    pub fn request(&self, password: &str) -> (CreateClusterReq, Vec<FieldError>) {
        let mut errors = Vec::new();
        let port =
            if self.port.trim().is_empty() { None } else { Some(number("config.port", &self.port, &mut errors)) };
        let components = (!self.serverless).then(|| Components {
            tidb: TidbComponent {
                node_size: self.tidb_size.clone(),
                node_quantity: number("config.components.tidb.node_quantity", &self.tidb_quantity, &mut errors),
            },
            tikv: StorageComponent {
                node_size: self.tikv_size.clone(),
                node_quantity: number("config.components.tikv.node_quantity", &self.tikv_quantity, &mut errors),
                storage_size_gib: number("config.components.tikv.storage_size_gib", &self.tikv_storage, &mut errors),
            },
            tiflash: self.tiflash.then(|| StorageComponent {
                node_size: self.tiflash_size.clone(),
                node_quantity: number("config.components.tiflash.node_quantity", &self.tiflash_quantity, &mut errors),
                storage_size_gib: number(
                    "config.components.tiflash.storage_size_gib",
                    &self.tiflash_storage,
                    &mut errors,
                ),
            }),
        });
        let ip_access_list = (!self.ip_access_list.is_empty()).then(|| {
            self.ip_access_list
                .iter()
                .map(|(cidr, d)| IpAccessListItem {
                    cidr: cidr.trim().to_owned(),
                    description: (!d.trim().is_empty()).then(|| d.trim().to_owned()),
                })
                .collect()
        });
        let req = CreateClusterReq {
            name: self.name.clone(),
            cluster_type: self.cluster_type(),
            cloud_provider: self.provider(),
            region: self.region.clone(),
            config: CreateClusterConfig { root_password: password.to_owned(), port, components, ip_access_list },
        };
        (req, errors)
    }

    /// Every field error: not-a-number first, then the rules the server applies.
    pub fn errors(&self, password: &str, catalog: &ListProviderRegionsResp, cmek: CmekContext<'_>) -> Vec<FieldError> {
        let (req, mut errors) = self.request(password);
        if let Err(e) = check_cmek_placement(cmek, req.cluster_type, req.cloud_provider, &req.region) {
            errors.extend(e.fields);
        }
        let typed: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
        errors.extend(check_create(&req, catalog).into_iter().filter(|e| !typed.contains(&e.field)));
        errors
    }

    /// Picks catalog defaults for whatever is empty or no longer offered in the region.
    fn fit(&mut self, catalog: &ListProviderRegionsResp) {
        let regions = catalog.regions(self.cluster_type(), self.provider());
        if !regions.contains(&self.region.as_str()) {
            self.region = regions.first().map(|r| (*r).to_owned()).unwrap_or_default();
        }
        let Some(entry) = catalog.find(self.cluster_type(), self.provider(), &self.region) else { return };
        // A node size the region offers, preferring 8 vCPUs or more.
        let eight_or_first = |sizes: Vec<&str>| {
            sizes
                .iter()
                .find(|s| cmek_core::cluster::vcpus(s).unwrap_or(0) >= 8)
                .or(sizes.first())
                .map(|s| s.to_string())
        };
        let tidb = eight_or_first(entry.tidb.iter().map(|p| p.node_size.as_str()).collect());
        if let Some(p) = tidb.and_then(|s| entry.tidb.iter().find(|p| p.node_size == s))
            && !entry.tidb.iter().any(|p| p.node_size == self.tidb_size)
        {
            self.tidb_size = p.node_size.clone();
            self.tidb_quantity = p.node_quantity_range.min.max(2).to_string();
        }
        let tikv = eight_or_first(entry.tikv.iter().map(|p| p.node_size.as_str()).collect());
        if let Some(p) = tikv.and_then(|s| entry.tikv.iter().find(|p| p.node_size == s))
            && !entry.tikv.iter().any(|p| p.node_size == self.tikv_size)
        {
            self.tikv_size = p.node_size.clone();
            self.tikv_quantity = p.node_quantity_range.min.max(3).to_string();
            self.tikv_storage = p.storage_size_gib_range.min.max(500).min(p.storage_size_gib_range.max).to_string();
        }
        if let Some(p) = entry.tiflash.first()
            && !entry.tiflash.iter().any(|p| p.node_size == self.tiflash_size)
        {
            self.tiflash_size = p.node_size.clone();
            self.tiflash_quantity = p.node_quantity_range.min.max(1).to_string();
            self.tiflash_storage = p.storage_size_gib_range.min.to_string();
        }
        if self.port.is_empty() {
            self.port = DEFAULT_PORT.to_string();
        }
    }
}

fn storage_key(project_id: &str) -> String {
    format!("cmek-console:draft-cluster:{project_id}")
}

fn session() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.session_storage().ok().flatten())
}

fn load_draft(project_id: &str) -> Option<Draft> {
    let text = session()?.get_item(&storage_key(project_id)).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

fn save_draft(project_id: &str, d: Option<&Draft>) {
    if let Some(s) = session() {
        let _ = match d {
            Some(d) => s.set_item(&storage_key(project_id), &serde_json::to_string(d).unwrap_or_default()),
            None => s.remove_item(&storage_key(project_id)),
        };
    }
}

fn focus(id: &str) {
    if let Some(el) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(id)) {
        use wasm_bindgen::JsCast;
        let _ = el.unchecked_into::<web_sys::HtmlElement>().focus();
    }
}

/// Whether the service refuses to create a cluster with a key in this state (an unknown or
/// unreachable state is not held against the form: the server decides on submit).
fn key_refuses(state: KeyHealthState) -> bool {
    matches!(
        state,
        KeyHealthState::AccessDenied
            | KeyHealthState::KeyDisabled
            | KeyHealthState::PendingDeletion
            | KeyHealthState::NotFound
    )
}

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
                (Some(_), Some(Ok(_)), Some(Ok(cat))) => match create_cluster_blocked(&ctx) {
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

#[component]
fn ClusterForm(catalog: ListProviderRegionsResp) -> impl IntoView {
    let ctx = use_project();
    let api = state::api();
    let project_id = ctx.id.get_untracked();
    // Read once: the form is built for the project as it is when the form opens.
    let key_region = untrack(|| ctx.loaded().filter(|p| p.aws_cmek_enabled).and(ctx.key()).map(|k| k.region));
    let cmek_locked = key_region.is_some();
    let mut initial = load_draft(&project_id).unwrap_or_default();
    if let Some(r) = &key_region {
        initial.serverless = false;
        initial.gcp = false;
        initial.region = r.clone();
    }
    initial.fit(&catalog);
    let draft = RwSignal::new(initial);
    let password = RwSignal::new(String::new());
    let touched = RwSignal::new(Vec::<String>::new());
    let submitted = RwSignal::new(false);
    let catalog = StoredValue::new(catalog);
    {
        let pid = project_id.clone();
        Effect::new(move |_| draft.with(|d| save_draft(&pid, Some(d))));
    }
    // The key's last known health (CMEK projects): said before the form is filled in when the
    // key cannot be used now, with the ways to fix it; "Test the key again" asks KMS anew.
    let health = RwSignal::new(None::<KeyHealth>);
    let test_key = {
        let api = api.clone();
        Action::new_local(move |check: &bool| {
            let (api, id, check) = (api.clone(), ctx.id.get_untracked(), *check);
            async move { if check { api.check_key_health(&id).await } else { api.key_health(&id).await } }
        })
    };
    if cmek_locked {
        test_key.dispatch_local(false);
    }
    Effect::new(move |_| {
        if let Some(Ok(list)) = test_key.value().get() {
            health.set(list.items.into_iter().next());
        }
    });
    let unusable = Memo::new(move |_| {
        health.with(|h| h.as_ref().filter(|h| key_refuses(h.state)).map(|h| (h.state, h.causes.clone())))
    });
    let key_reason = Signal::derive(move || {
        unusable.with(|u| {
            u.as_ref().map(|(s, _)| {
                format!("The project's key cannot be used now ({}): fix it, then test it again (see above).", s.label())
            })
        })
    });
    let kr = key_region.clone();
    let errors = Memo::new(move |_| {
        let region = kr.clone();
        let cmek = region.as_deref().map_or(CmekContext::NotEnabled, |r| CmekContext::Key { region: r });
        catalog.with_value(|c| draft.with(|d| d.errors(&password.get(), c, cmek)))
    });
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
    let message_for = move |id: &'static str| {
        move || {
            let show = submitted.get() || touched.with(|t| t.iter().any(|x| x == id));
            let local = errors.with(|e| e.iter().find(|f| field_id(&f.field) == id).map(|f| f.message.clone()));
            let server = server_errors.with(|e| e.iter().find(|f| field_id(&f.field) == id).map(|f| f.message.clone()));
            if show { local.or(server) } else { server }
        }
    };
    let invalid = move |id: &'static str| move || message_for(id)().is_some().then_some("true");
    let touch = move |id: &'static str| {
        move |_| {
            touched.update(|t| {
                if !t.iter().any(|x| x == id) {
                    t.push(id.to_owned())
                }
            })
        }
    };
    let set = move |f: fn(&mut Draft, String)| {
        move |ev| {
            let v = event_target_value(&ev);
            draft.update(|d| {
                f(d, v);
                catalog.with_value(|c| d.fit(c));
            });
        }
    };
    let submit = move || {
        // Running, or done and leaving the page: a second click must not send a second create.
        if create.pending().get_untracked()
            || matches!(create.value().get_untracked(), Some(Ok(_)))
            || unusable.with_untracked(Option::is_some)
        {
            return;
        }
        submitted.set(true);
        let errs = errors.get_untracked();
        if let Some(first) = errs.iter().map(|e| field_id(&e.field)).min_by_key(|id| position(id)) {
            focus(&first);
            return;
        }
        let (req, _) = draft.with_untracked(|d| d.request(&password.get_untracked()));
        create.dispatch_local(req);
    };
    let entry =
        move || catalog.with_value(|c| draft.with(|d| c.find(d.cluster_type(), d.provider(), &d.region).cloned()));
    let regions = move || {
        catalog.with_value(|c| {
            draft.with(|d| c.regions(d.cluster_type(), d.provider()).into_iter().map(str::to_owned).collect::<Vec<_>>())
        })
    };
    let curl = {
        let api = state::api();
        Signal::derive(move || {
            // The password is never echoed: the command shows where it goes.
            let (req, _) = draft.with(|d| d.request("YOUR_ROOT_PASSWORD"));
            let body = serde_json::to_string(&req).unwrap_or_default();
            format::curl("POST", &api.url(&Api::clusters_path(&ctx.id.get())), Some(&body))
        })
    };
    let lock_reason =
        key_region.clone().map(|r| format!("This project encrypts with the key in {}", cmek_core::region::label(&r)));
    let lock_reason2 = lock_reason.clone();
    let lock_reason3 = lock_reason.clone();
    let ip_rows = move || (0..draft.with(|d| d.ip_access_list.len())).collect::<Vec<usize>>();
    let msg = move |id: &'static str| view! { <p id=format!("{id}-error") class="field-error">{message_for(id)}</p> };
    view! {
        <form novalidate on:submit=move |ev| { ev.prevent_default(); submit(); }>
            {move || unusable.get().map(|(state, causes)| view! {
                <div class="notice warn" id="key-unusable" role="status">
                    <p class="headline">{format!("The project's key cannot be used now ({}): a new cluster would be refused until it is fixed.", state.label())}</p>
                    {(!causes.is_empty()).then(|| view! { <ul class="causes">{causes.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}</ul> })}
                    <div class="actions">
                        <A href=ctx.path("encryption") attr:class="btn">"See the key's health"</A>
                        <A href=ctx.path("encryption/check") attr:class="btn">"Check the key policy"</A>
                        <Button id="test-key-again" pending=test_key.pending()
                            on_click=Callback::new(move |_| { test_key.dispatch_local(true); })>"Test the key again"</Button>
                    </div>
                </div>
            })}
            <div class="field">
                <label for="cluster-name">"Cluster name"</label>
                <input id="cluster-name" type="text" autocomplete="off" prop:value=move || draft.with(|d| d.name.clone())
                    on:input=set(|d, v| d.name = v) on:blur=touch("cluster-name")
                    aria-invalid=invalid("cluster-name") aria-describedby="cluster-name-help cluster-name-error"/>
                <p id="cluster-name-help" class="help">"4–64 letters, digits and hyphens; starts and ends with a letter or digit."</p>
                {msg("cluster-name")}
            </div>
            {if cmek_locked {
                view! {
                    // Each fixed choice keeps its own label, as the choosable fields have, so a
                    // screen reader hears "Region: Oregon (us-west-2)" and why it is fixed.
                    <div class="field" id="locked-fields">
                        <span class="label" id="cluster-tier-label">"Tier"</span>
                        <p class="readonly locked" id="cluster-tier" aria-labelledby="cluster-tier-label cluster-tier">"Dedicated " <span class="muted">"— " {lock_reason.clone()} ": CMEK projects host Dedicated clusters only."</span></p>
                        <span class="label" id="cluster-provider-label">"Cloud provider"</span>
                        <p class="readonly locked" id="cluster-provider" aria-labelledby="cluster-provider-label cluster-provider">"AWS " <span class="muted">"— " {lock_reason2.clone()} " (AWS KMS)."</span></p>
                        <span class="label" id="cluster-region-label">"Region"</span>
                        <p class="readonly locked" id="cluster-region" aria-labelledby="cluster-region-label cluster-region">{key_region.as_deref().map(cmek_core::region::label)} " " <span class="muted">"— " {lock_reason3.clone()} "; its clusters run there only."</span></p>
                    </div>
                }.into_any()
            } else {
                view! {
                    <fieldset class="field">
                        <legend>"Tier"</legend>
                        <div class="radio-row" id="cluster-tier">
                            <label><input type="radio" name="tier" prop:checked=move || draft.with(|d| !d.serverless)
                                on:change=move |_| draft.update(|d| { d.serverless = false; catalog.with_value(|c| d.fit(c)); })/>" Dedicated"</label>
                            <label><input type="radio" name="tier" prop:checked=move || draft.with(|d| d.serverless)
                                on:change=move |_| draft.update(|d| { d.serverless = true; d.gcp = false; catalog.with_value(|c| d.fit(c)); })/>" Serverless"</label>
                        </div>
                    </fieldset>
                    <div class="field">
                        <label for="cluster-provider">"Cloud provider"</label>
                        <select id="cluster-provider" prop:value=move || draft.with(|d| if d.gcp { "GCP" } else { "AWS" })
                            on:change=set(|d, v| d.gcp = v == "GCP")>
                            <option value="AWS">"AWS"</option>
                            <option value="GCP">"Google Cloud"</option>
                        </select>
                    </div>
                    <div class="field">
                        <label for="cluster-region">"Region"</label>
                        <select id="cluster-region" prop:value=move || draft.with(|d| d.region.clone()) on:change=set(|d, v| d.region = v)
                            aria-invalid=invalid("cluster-region") aria-describedby="cluster-region-error">
                            {move || regions().into_iter().map(|r| view! { <option value=r.clone()>{cmek_core::region::label(&r)}</option> }).collect_view()}
                        </select>
                        {msg("cluster-region")}
                    </div>
                }.into_any()
            }}
            <Show when=move || draft.with(|d| !d.serverless)>
                <fieldset class="field">
                    <legend>"TiDB (SQL nodes)"</legend>
                    <label for="tidb-size">"Node size"</label>
                    <select id="tidb-size" prop:value=move || draft.with(|d| d.tidb_size.clone()) on:change=set(|d, v| d.tidb_size = v)
                        aria-invalid=invalid("tidb-size") aria-describedby="tidb-size-error">
                        {move || entry().map(|e| e.tidb.iter().map(|p| view! { <option value=p.node_size.clone()>{p.node_size.clone()}</option> }).collect_view())}
                    </select>
                    {msg("tidb-size")}
                    <label for="tidb-quantity">"Nodes"</label>
                    <input id="tidb-quantity" type="number" class="short" prop:value=move || draft.with(|d| d.tidb_quantity.clone())
                        min=move || entry().and_then(|e| e.tidb.first().map(|p| p.node_quantity_range.min))
                        on:input=set(|d, v| d.tidb_quantity = v) on:blur=touch("tidb-quantity")
                        aria-invalid=invalid("tidb-quantity") aria-describedby="tidb-quantity-error"/>
                    {msg("tidb-quantity")}
                </fieldset>
                <fieldset class="field">
                    <legend>"TiKV (row storage)"</legend>
                    <label for="tikv-size">"Node size"</label>
                    <select id="tikv-size" prop:value=move || draft.with(|d| d.tikv_size.clone()) on:change=set(|d, v| d.tikv_size = v)
                        aria-invalid=invalid("tikv-size") aria-describedby="tikv-size-help tikv-size-error">
                        {move || entry().map(|e| e.tikv.iter().map(|p| view! { <option value=p.node_size.clone()>{p.node_size.clone()}</option> }).collect_view())}
                    </select>
                    <p id="tikv-size-help" class="help">"With 4 vCPUs, TiDB and TiKV must have the same vCPUs, and TiFlash is not available."</p>
                    {msg("tikv-size")}
                    <label for="tikv-quantity">"Nodes"</label>
                    <input id="tikv-quantity" type="number" class="short" prop:value=move || draft.with(|d| d.tikv_quantity.clone())
                        step=move || entry().and_then(|e| e.tikv.iter().find(|p| draft.with(|d| p.node_size == d.tikv_size)).map(|p| p.node_quantity_range.step))
                        on:input=set(|d, v| d.tikv_quantity = v) on:blur=touch("tikv-quantity")
                        aria-invalid=invalid("tikv-quantity") aria-describedby="tikv-quantity-help tikv-quantity-error"/>
                    <p id="tikv-quantity-help" class="help">{move || entry().and_then(|e| e.tikv.iter().find(|p| draft.with(|d| p.node_size == d.tikv_size)).map(|p| format!("At least {}, in steps of {}.", p.node_quantity_range.min, p.node_quantity_range.step)))}</p>
                    {msg("tikv-quantity")}
                    <label for="tikv-storage">"Storage per node (GiB)"</label>
                    <input id="tikv-storage" type="number" class="short" prop:value=move || draft.with(|d| d.tikv_storage.clone())
                        on:input=set(|d, v| d.tikv_storage = v) on:blur=touch("tikv-storage")
                        aria-invalid=invalid("tikv-storage") aria-describedby="tikv-storage-help tikv-storage-error"/>
                    <p id="tikv-storage-help" class="help">{move || entry().and_then(|e| e.tikv.iter().find(|p| draft.with(|d| p.node_size == d.tikv_size)).map(|p| format!("{}–{} GiB.", p.storage_size_gib_range.min, p.storage_size_gib_range.max)))}</p>
                    {msg("tikv-storage")}
                </fieldset>
                <fieldset class="field">
                    <legend>"TiFlash (columnar storage, optional)"</legend>
                    <label class="check"><input type="checkbox" id="tiflash-enabled" prop:checked=move || draft.with(|d| d.tiflash)
                        on:change=move |ev| draft.update(|d| d.tiflash = event_target_checked(&ev))
                        aria-invalid=invalid("tiflash-enabled") aria-describedby="tiflash-enabled-error"/>" Add TiFlash nodes"</label>
                    {msg("tiflash-enabled")}
                    <Show when=move || draft.with(|d| d.tiflash)>
                        <label for="tiflash-size">"Node size"</label>
                        <select id="tiflash-size" prop:value=move || draft.with(|d| d.tiflash_size.clone()) on:change=set(|d, v| d.tiflash_size = v)>
                            {move || entry().map(|e| e.tiflash.iter().map(|p| view! { <option value=p.node_size.clone()>{p.node_size.clone()}</option> }).collect_view())}
                        </select>
                        {msg("tiflash-size")}
                        <label for="tiflash-quantity">"Nodes"</label>
                        <input id="tiflash-quantity" type="number" class="short" prop:value=move || draft.with(|d| d.tiflash_quantity.clone())
                            on:input=set(|d, v| d.tiflash_quantity = v) on:blur=touch("tiflash-quantity")
                            aria-invalid=invalid("tiflash-quantity") aria-describedby="tiflash-quantity-error"/>
                        {msg("tiflash-quantity")}
                        <label for="tiflash-storage">"Storage per node (GiB)"</label>
                        <input id="tiflash-storage" type="number" class="short" prop:value=move || draft.with(|d| d.tiflash_storage.clone())
                            on:input=set(|d, v| d.tiflash_storage = v) on:blur=touch("tiflash-storage")
                            aria-invalid=invalid("tiflash-storage") aria-describedby="tiflash-storage-error"/>
                        {msg("tiflash-storage")}
                    </Show>
                </fieldset>
            </Show>
            <div class="field">
                <label for="cluster-port">"Port"</label>
                <input id="cluster-port" type="number" class="short" prop:value=move || draft.with(|d| d.port.clone())
                    on:input=set(|d, v| d.port = v) on:blur=touch("cluster-port")
                    aria-invalid=invalid("cluster-port") aria-describedby="cluster-port-help cluster-port-error"/>
                <p id="cluster-port-help" class="help">"1024–65535, except 10080."
                    // A CMEK project has no Serverless clusters: saying how they differ would only confuse.
                    {(!cmek_locked).then_some(" Serverless clusters use 4000.")}</p>
                {msg("cluster-port")}
            </div>
            <div class="field">
                <label for="cluster-password">"Root password"</label>
                <input id="cluster-password" type="password" autocomplete="new-password" bind:value=password on:blur=touch("cluster-password")
                    aria-invalid=invalid("cluster-password") aria-describedby="cluster-password-help cluster-password-error"/>
                <p id="cluster-password-help" class="help">"8–64 characters. Sent once to create the cluster; this console never stores it."</p>
                {msg("cluster-password")}
            </div>
            <fieldset class="field">
                <legend>"IP access list"</legend>
                <p class="help">"Addresses allowed to connect to the standard endpoint, as CIDR blocks."</p>
                {move || draft.with(|d| d.ip_access_list.len()).eq(&0).then(|| view! { <p class="muted">"No entries: add your address to connect."</p> })}
                <For each=ip_rows key=|i| *i let:i>
                    <div class="ip-row">
                        <label for=format!("ip-cidr-{i}")>"CIDR"</label>
                        <input id=format!("ip-cidr-{i}") type="text" class="cidr" placeholder="203.0.113.7/32"
                            prop:value=move || draft.with(|d| d.ip_access_list.get(i).map(|e| e.0.clone()).unwrap_or_default())
                            on:input=move |ev| { let v = event_target_value(&ev); draft.update(|d| if let Some(e) = d.ip_access_list.get_mut(i) { e.0 = v }) }
                            aria-invalid=move || (submitted.get() && errors.with(|e| e.iter().any(|f| field_id(&f.field) == format!("ip-cidr-{i}")))).then_some("true")/>
                        <label for=format!("ip-desc-{i}")>"Description"</label>
                        <input id=format!("ip-desc-{i}") type="text"
                            prop:value=move || draft.with(|d| d.ip_access_list.get(i).map(|e| e.1.clone()).unwrap_or_default())
                            on:input=move |ev| { let v = event_target_value(&ev); draft.update(|d| if let Some(e) = d.ip_access_list.get_mut(i) { e.1 = v }) }/>
                        <button type="button" class="btn" on:click=move |_| draft.update(|d| { if i < d.ip_access_list.len() { d.ip_access_list.remove(i); } })>
                            "Remove" <span class="sr-only">" entry " {i + 1}</span>
                        </button>
                        <p class="field-error">{move || submitted.get().then(|| errors.with(|e| e.iter().find(|f| field_id(&f.field) == format!("ip-cidr-{i}")).map(|f| f.message.clone()))).flatten()}</p>
                    </div>
                </For>
                <button type="button" class="btn" id="ip-add" on:click=move |_| draft.update(|d| d.ip_access_list.push((String::new(), String::new())))>"Add an address"</button>
                {msg("ip-add")}
            </fieldset>
            <Show when=move || failed.with(Option::is_some)>
                <ErrorNotice error=Signal::derive(move || failed.get().unwrap_or(ApiError::Aborted)) doing="Creating the cluster"/>
            </Show>
            <div class="actions">
                <Button submit=true kind=ButtonKind::Primary pending=create.pending() disabled_reason=key_reason id="create-cluster-submit">"Create cluster"</Button>
                <A href=move || ctx.path("clusters") attr:class="btn">"Cancel"</A>
            </div>
            <EquivalentRequest command=curl/>
        </form>
    }
}
