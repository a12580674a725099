//! Encryption Access: the project's key (region, ARN, health, rotation), and creating it:
//! region, the key policy to add in AWS KMS (copy, download), the key ARN checked as it is typed.

use crate::api::Api;
use crate::components::{
    ActionError, Button, ButtonKind, CopyButton, DownloadButton, EquivalentRequest, ErrorNotice, KeyHealthPanel,
    Loading, focus, post_curl,
};
use crate::project::{ProjectCtx, use_project};
use crate::{format, state};
use cmek_core::api::{AwsCmekSpec, CloudProvider, ClusterType, CreateAwsCmekReq};
use cmek_core::arn::KmsKeyArn;
use cmek_core::policy::{self, POLICY_FILE_NAME, PolicyRegion};
use cmek_core::project_cmek::{ArnCheck, ProjectCmek, check_arn_as_typed};
use leptos::html::{Input, Select};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

/// Why Create Encryption Key cannot be used, or `None` when it can (also `None` while loading).
fn create_key_blocked(ctx: &ProjectCtx) -> Option<String> {
    ctx.cmek()?.create_key_blocked()
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
    let arn_check = Memo::new(move |_| check_arn_as_typed(&arn.get(), &region.get()));
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
            return focus(region_ref);
        }
        if matches!(arn_check.get_untracked(), ArnCheck::Error(_)) {
            return focus(arn_ref);
        }
        create.dispatch_local(request());
    };
    let curl = post_curl(move || Api::aws_cmek_path(&ctx.id.get()), request);
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
            <Show when=move || ctx.cmek() == Some(ProjectCmek::NoKey)>
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
                    <ActionError error=failed doing="Creating the encryption key"/>
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

/// The create-key form as typed, kept in the tab (`crate::drafts`).
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
    crate::drafts::load(&key_draft_name(project_id))
}

fn save_key_draft(project_id: &str, d: Option<&KeyDraft>) {
    crate::drafts::save(&key_draft_name(project_id), d)
}
