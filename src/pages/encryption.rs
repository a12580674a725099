//! Encryption Access: the project's key (region, ARN, health, rotation), and creating it:
//! region, the key policy to add in AWS KMS (copy, download), the key ARN checked as it is typed.

use super::project::{ProjectCtx, use_project};
use crate::api::{Api, ApiError};
use crate::components::{
    Button, ButtonKind, CopyButton, DownloadButton, EquivalentRequest, ErrorNotice, KeyHealthBadge, Loading,
};
use crate::{format, state};
use cmek_core::api::{AwsCmekSpec, CloudProvider, ClusterType, CreateAwsCmekReq};
use cmek_core::arn::KmsKeyArn;
use cmek_core::ext::KeyHealth;
use cmek_core::policy::{self, POLICY_FILE_NAME, PolicyRegion};
use leptos::html::{Input, Select};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

/// Why Create Encryption Key cannot be used, or `None` when it can (also `None` while loading).
pub fn create_key_blocked(ctx: &ProjectCtx) -> Option<String> {
    let project = ctx.loaded()?;
    if !project.aws_cmek_enabled {
        return Some(
            "Create Encryption Key is unavailable: this project was created without Customer-Managed Encryption Key, and CMEK cannot be turned on for an existing project.".to_owned(),
        );
    }
    ctx.key().map(|k| {
        format!(
            "An encryption key is already configured for {}. A project encrypts with one key, in one region; to change key material, rotate the key in AWS KMS.",
            k.region
        )
    })
}

/// The AWS regions a key can be configured for (where Dedicated clusters run on AWS).
fn aws_regions() -> Signal<Vec<String>> {
    let catalog = state::catalog();
    Signal::derive(move || match catalog.get() {
        Some(Ok(c)) => c.regions(ClusterType::Dedicated, CloudProvider::Aws).into_iter().map(str::to_owned).collect(),
        _ => Vec::new(),
    })
}

#[component]
pub fn EncryptionAccessPage() -> impl IntoView {
    let ctx = use_project();
    let navigate = use_navigate();
    let blocked = Signal::derive(move || create_key_blocked(&ctx));
    let cmek = move || ctx.loaded().is_some_and(|p| p.aws_cmek_enabled);
    view! {
        <section aria-labelledby="encryption-title">
            <h2 id="encryption-title">"Encryption Access"</h2>
            <p class="lead">"Key provider: " <strong>"AWS KMS"</strong> ". The key encrypts the EBS volumes of this project's clusters and their backups in S3."</p>
            <Show when=move || ctx.loaded().is_some_and(|p| !p.aws_cmek_enabled)>
                <div class="notice info" id="no-cmek-notice">
                    <p>"This project does not use a customer-managed key: TiDB Cloud encrypts its data at rest with an escrow key."</p>
                    <p>"CMEK can only be chosen when a project is created. To encrypt with your own key, "
                        <A href="/projects/new">"create a new project"</A> " with Customer-Managed Encryption Key on."</p>
                </div>
            </Show>
            {move || match ctx.keys.get() {
                None => view! { <Loading label="Loading the encryption key"/> }.into_any(),
                Some(Err(e)) => view! {
                    <ErrorNotice error=Signal::stored(e) doing="Loading the encryption key" retry=Callback::new(move |_| ctx.keys.refetch())/>
                }.into_any(),
                Some(Ok(list)) if list.items.is_empty() => view! {
                    <p class="empty" id="no-key">{if cmek() {
                        "No encryption key is configured yet. Configure it before creating clusters: clusters of this project will run in its region."
                    } else {
                        "No encryption key is configured."
                    }}</p>
                }.into_any(),
                Some(Ok(list)) => view! { <ConfiguredKeys keys=list.items/> }.into_any(),
            }}
            <div class="actions">
                <Button kind=ButtonKind::Primary disabled_reason=blocked id="create-key"
                    on_click=Callback::new(move |_| navigate(&ctx.path("encryption/create"), Default::default()))>
                    "Create Encryption Key"
                </Button>
                <A href=move || ctx.path("encryption/check") attr:class="btn">"Check a key policy"</A>
            </div>
        </section>
    }
}

#[component]
fn ConfiguredKeys(keys: Vec<AwsCmekSpec>) -> impl IntoView {
    view! {
        <div class="keys">
            {keys.into_iter().map(|k| {
                let mrk = KmsKeyArn::parse(&k.kms_arn).is_ok_and(|a| a.is_multi_region());
                view! {
                    <article class="card key" data-region=k.region.clone()>
                        <h3>"Key for " {cmek_core::region::label(&k.region)}</h3>
                        <dl class="facts">
                            <dt>"Region"</dt><dd>{cmek_core::region::label(&k.region)}</dd>
                            <dt>"Key ARN"</dt>
                            <dd><code class="arn">{k.kms_arn.clone()}</code>
                                {mrk.then(|| view! { <span class="badge idle">"Multi-Region key"</span> })}</dd>
                            <dt>"Protects"</dt><dd>"EBS volumes of the clusters, and S3 backups"</dd>
                        </dl>
                        <KeyHealthPanel/>
                    </article>
                }
            }).collect_view()}
        </div>
    }
}

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
    let checked = RwSignal::new(None::<Result<Vec<KeyHealth>, ApiError>>);
    let test_now = Action::new_local(move |_: &()| {
        let (api, id) = (api.clone(), ctx.id.get_untracked());
        async move { api.check_key_health(&id).await }
    });
    Effect::new(move |_| {
        if let Some(r) = test_now.value().get() {
            checked.set(Some(r.map(|l| l.items)));
        }
    });
    let current = move || checked.get().or_else(|| health.get().map(|r| r.map(|l| l.items)));
    Effect::new(move |was: Option<bool>| {
        let now = causes_shown_above.get();
        if now && was == Some(false) {
            checked.set(None);
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

/// The key policy for `region`, with Copy and Download, and what to do with it.
#[component]
pub fn PolicyBlock(
    /// The policy text.
    #[prop(into)]
    text: Signal<String>,
) -> impl IntoView {
    let account = state::service_account();
    view! {
        <div class="policy">
            <pre id="policy-text" tabindex="0" aria-label="Key policy JSON"><code>{move || text.get()}</code></pre>
            <div class="actions">
                <CopyButton text=text label="Copy JSON"/>
                <DownloadButton text=text name=POLICY_FILE_NAME/>
            </div>
            <Show when=move || account.with(Option::is_none)>
                <p class="notice info" id="account-placeholder">
                    "This server does not publish the TiDB Cloud account to trust, so the policy shows "
                    <code>{policy::ACCOUNT_PLACEHOLDER}</code>
                    ". Ask TiDB Cloud support for the account id and put it in both places before adding the policy."
                </p>
            </Show>
        </div>
    }
}

#[component]
pub fn CreateKeyPage() -> impl IntoView {
    let ctx = use_project();
    let api = state::api();
    let regions = aws_regions();
    // No region is chosen for the person (it can never change); what was typed survives a
    // reload, as the cluster form's draft does.
    let draft = load_key_draft(&ctx.id.get_untracked()).unwrap_or_default();
    let region = RwSignal::new(draft.region);
    let any_region = RwSignal::new(false);
    let arn = RwSignal::new(draft.arn);
    Effect::new(move |_| {
        let d = KeyDraft { region: region.get(), arn: arn.get() };
        save_key_draft(&ctx.id.get_untracked(), Some(&d));
    });
    let submitted = RwSignal::new(false);
    let region_ref = NodeRef::<Select>::new();
    let arn_ref = NodeRef::<Input>::new();
    let account = state::service_account();
    let navigate = use_navigate();
    let scope = move || if any_region.get() { PolicyRegion::Any } else { PolicyRegion::Region(region.get()) };
    let policy_text = Signal::derive(move || policy::template_text(account.get().as_deref(), &scope()));
    let arn_check = Memo::new(move |_| arn_message(&arn.get(), &region.get()));
    let region_error =
        move || (submitted.get() && region.with(String::is_empty)).then_some("Choose the region of the key.");
    let request = move || CreateAwsCmekReq { specs: vec![AwsCmekSpec { region: region.get(), kms_arn: arn.get() }] };
    // The form's idempotency keys: a retry after a timeout cannot create twice, and a retry after
    // a refusal (the cause fixed meanwhile) is checked anew.
    let once = crate::api::Idempotency::default();
    let create = Action::new_local(move |req: &CreateAwsCmekReq| {
        let (api, id, req) = (api.clone(), ctx.id.get_untracked(), req.clone());
        let once = once.clone();
        async move { api.create_aws_cmek(&id, &req, &once).await }
    });
    let failed = Signal::derive(move || create.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            save_key_draft(&ctx.id.get_untracked(), None);
            ctx.keys.refetch();
            navigate(&ctx.path("encryption"), Default::default());
        }
    });
    let submit = move || {
        // Running, or done and leaving the page: a second click must not send a second create.
        if create.pending().get_untracked() || matches!(create.value().get_untracked(), Some(Ok(_))) {
            return;
        }
        submitted.set(true);
        // Focus goes to the first field in error.
        if region.with_untracked(String::is_empty) {
            if let Some(el) = region_ref.get_untracked() {
                let _ = el.focus();
            }
            return;
        }
        if matches!(arn_check.get_untracked(), ArnCheck::Error(_)) {
            if let Some(el) = arn_ref.get_untracked() {
                let _ = el.focus();
            }
            return;
        }
        create.dispatch_local(request());
    };
    let curl = {
        let api = state::api();
        Signal::derive(move || {
            let body = serde_json::to_string(&request()).unwrap_or_default();
            format::curl("POST", &api.url(&Api::aws_cmek_path(&ctx.id.get())), Some(&body))
        })
    };
    let aws_cli = Signal::derive(move || {
        let key = if arn.with(String::is_empty) { "YOUR_KEY_ARN".to_owned() } else { arn.get() };
        let r = region.get();
        format!(
            "# Replace the key's policy with ROLE-TRUST-POLICY.JSON merged into your own statements\n\
             # (the key policy checker on this console merges them for you):\n\
             aws kms put-key-policy --region {r} --key-id {} --policy-name default --policy file://{POLICY_FILE_NAME}\n\
             # Optional: automatic rotation (nothing to change in this console afterwards):\n\
             aws kms enable-key-rotation --region {r} --key-id {}",
            format::shell_quote(&key),
            format::shell_quote(&key)
        )
    });
    view! {
        <section aria-labelledby="create-key-title" class="narrow">
            <h2 id="create-key-title">"Create Encryption Key"</h2>
            {move || create_key_blocked(&ctx).map(|why| view! {
                <div class="notice info" role="status"><p>{why}</p>
                <p><A href=ctx.path("encryption")>"Back to Encryption Access"</A></p></div>
            })}
            <Show when=move || ctx.loaded().is_some_and(|p| p.aws_cmek_enabled) && ctx.keys_loaded() && ctx.key().is_none()>
                <form novalidate on:submit=move |ev| { ev.prevent_default(); submit(); }>
                    <div class="field">
                        <span class="label">"Key provider"</span>
                        <p class="readonly">"AWS KMS " <span class="muted">"(the only provider TiDB Cloud supports for CMEK)"</span></p>
                    </div>
                    <div class="field">
                        <label for="key-region">"Region"</label>
                        <select id="key-region" node_ref=region_ref
                            aria-invalid=move || region_error().is_some().then_some("true")
                            aria-describedby="key-region-help key-region-error"
                            on:change=move |ev| region.set(event_target_value(&ev))
                            prop:value=move || region.get()>
                            // Not disabled: with nothing chosen the browser shows this one, not the first region.
                            <option value="">"Choose a region"</option>
                            {move || regions.get().into_iter().map(|r| {
                                let chosen = r.clone();
                                view! { <option value=r.clone() prop:selected=move || region.with(|x| *x == chosen)>{cmek_core::region::label(&r)}</option> }
                            }).collect_view()}
                        </select>
                        <p id="key-region-help" class="help">"Where the key is and where this project's clusters will run. It cannot change later."</p>
                        <p id="key-region-error" class="field-error">{region_error}</p>
                    </div>
                    <fieldset class="field">
                        <legend>"Step 1. Add this to the key policy in AWS KMS"</legend>
                        <p class="help">"Save it as " <code>{POLICY_FILE_NAME}</code> " and add its statements to the key policy (AWS KMS console, the key's Key policy tab, Edit). Keep your own statements that let you administer the key."</p>
                        <div class="radio-row" role="radiogroup" aria-label="Region in the EBS statement">
                            <label><input type="radio" name="scope" prop:checked=move || !any_region.get() on:change=move |_| any_region.set(false)/>
                                " Only " {move || region.get()}</label>
                            <label><input type="radio" name="scope" id="scope-any" prop:checked=move || any_region.get() on:change=move |_| any_region.set(true)/>
                                " Any region (" <code>"*"</code> " under StringLike)"</label>
                        </div>
                        {move || if region.with(String::is_empty) && !any_region.get() {
                            view! { <p class="muted" id="policy-needs-region">"Choose the key's region above: the policy names it."</p> }.into_any()
                        } else {
                            view! { <PolicyBlock text=policy_text/> }.into_any()
                        }}
                    </fieldset>
                    <div class="field">
                        <label for="key-arn">"Step 2. KMS key ARN"</label>
                        <input id="key-arn" type="text" node_ref=arn_ref bind:value=arn spellcheck="false" autocomplete="off"
                            placeholder=move || arn_example(&region.get())
                            aria-invalid=move || (submitted.get() || !arn.with(String::is_empty)).then(|| matches!(arn_check.get(), ArnCheck::Error(_))).filter(|b| *b).map(|_| "true")
                            aria-describedby="key-arn-status"/>
                        <p id="key-arn-status" class=move || match arn_check.get() { ArnCheck::Error(_) => "field-error", _ => "field-ok" }>
                            {move || match arn_check.get() {
                                ArnCheck::Empty if !submitted.get() => String::new(),
                                ArnCheck::Empty => cmek_core::arn::ArnError::Empty.to_string(),
                                ArnCheck::Error(m) => m,
                                ArnCheck::Ok { multi_region } => format!(
                                    "A key in {}{}.",
                                    region.get(),
                                    if multi_region { ", multi-Region (mrk-)" } else { "" }
                                ),
                            }}
                            {move || matches!(arn_check.get(), ArnCheck::Ok { multi_region: true }).then(|| view! { " " <span class="badge idle" id="mrk-badge">"Multi-Region key"</span> })}
                        </p>
                    </div>
                    <Show when=move || failed.with(Option::is_some)>
                        <ErrorNotice error=Signal::derive(move || failed.get().unwrap_or(ApiError::Aborted)) doing="Creating the encryption key"/>
                    </Show>
                    <div class="actions">
                        <Button submit=true kind=ButtonKind::Primary pending=create.pending() id="create-key-submit">"Create"</Button>
                        <A href=move || ctx.path("encryption") attr:class="btn">"Cancel"</A>
                    </div>
                    <EquivalentRequest command=curl/>
                    <EquivalentRequest command=aws_cli title="AWS CLI: set the key policy and rotation"/>
                </form>
            </Show>
        </section>
    }
}

/// What a key ARN looks like in `region` (the field's placeholder).
pub fn arn_example(region: &str) -> String {
    let region = if region.is_empty() { "REGION" } else { region };
    format!("arn:aws:kms:{region}:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
}

/// The create-key form as typed, kept for the tab's session.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct KeyDraft {
    region: String,
    arn: String,
}

fn key_draft_name(project_id: &str) -> String {
    format!("cmek-key-draft:{project_id}")
}

fn load_key_draft(project_id: &str) -> Option<KeyDraft> {
    let s = web_sys::window()?.session_storage().ok()??;
    serde_json::from_str(&s.get_item(&key_draft_name(project_id)).ok()??).ok()
}

fn save_key_draft(project_id: &str, d: Option<&KeyDraft>) {
    if let Some(s) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
        let _ = match d {
            Some(d) => s.set_item(&key_draft_name(project_id), &serde_json::to_string(d).unwrap_or_default()),
            None => s.remove_item(&key_draft_name(project_id)),
        };
    }
}

/// What the ARN field says, as the person types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArnCheck {
    Empty,
    Error(String),
    Ok { multi_region: bool },
}

/// The same parser and region rule the server applies.
pub fn arn_message(arn: &str, region: &str) -> ArnCheck {
    if arn.is_empty() {
        return ArnCheck::Empty;
    }
    match KmsKeyArn::parse(arn) {
        Err(e) => ArnCheck::Error(e.to_string()),
        Ok(a) => match a.check_region(region) {
            Err(m) if !region.is_empty() => ArnCheck::Error(m.to_string()),
            _ => ArnCheck::Ok { multi_region: a.is_multi_region() },
        },
    }
}
