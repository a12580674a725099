//! The key-policy checker: paste the key's policy (or load it from the sandbox KMS), see every
//! finding of the same access decision the server makes, and get a merged policy that keeps the
//! customer's statements and adds what is missing.

use crate::api::RequestError;
use crate::components::{Button, CopyButton, DownloadButton, EquivalentRequest, ErrorNotice};
use crate::project::use_project;
use crate::{format, state};
use cmek_core::ext::{KmsBackend, SandboxKey};
use cmek_core::kms::KeyState;
use cmek_core::policy::{self, AccessQuery, Finding, PolicyRegion};
use leptos::prelude::*;

#[component]
pub fn PolicyCheckerPage() -> impl IntoView {
    let ctx = use_project();
    let api = state::api();
    let info = state::server_info();
    let account = state::service_account();
    let text = RwSignal::new(String::new());
    let loaded_key = RwSignal::new(None::<SandboxKey>);
    let load_error = RwSignal::new(None::<RequestError>);
    let sandbox = move || matches!(info.get(), Some(Ok(Some(i))) if i.kms == KmsBackend::Sandbox);
    // The configured key's region; before there is a key, the region the person chooses.
    let chosen_region = RwSignal::new(String::new());
    let region = move || ctx.key().map(|k| k.region).unwrap_or_else(|| chosen_region.get());
    let catalog = state::catalog();
    let regions = move || match catalog.get() {
        Some(Ok(c)) => c
            .regions(cmek_core::api::ClusterType::Dedicated, cmek_core::api::CloudProvider::Aws)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    let no_key = move || ctx.keys_loaded() && ctx.key().is_none();
    let load_blocked = Signal::derive(move || {
        no_key().then(|| {
            "No key is configured for this project yet, so there is no key to load: paste the policy of the key you mean to use.".to_owned()
        })
    });
    let key_arn = move || {
        loaded_key.get().map(|k| k.arn).or_else(|| ctx.key().map(|k| k.kms_arn)).unwrap_or_else(|| {
            format!("arn:aws:kms:{}:111122223333:key/00000000-0000-0000-0000-000000000000", region())
        })
    };
    let key_state = move || loaded_key.get().map(|k| k.state).unwrap_or(KeyState::Enabled);
    let decision = Memo::new(move |_| {
        let (t, arn, r, acc) = (text.get(), key_arn(), region(), account.get());
        (!t.trim().is_empty() && !r.is_empty()).then(|| {
            policy::decide(
                &t,
                AccessQuery { key_state: key_state(), key_arn: &arn, service_account: acc.as_deref(), region: &r },
            )
        })
    });
    let merged = Signal::derive(move || {
        let (t, arn, r, acc) = (text.get(), key_arn(), region(), account.get());
        let q =
            AccessQuery { key_state: KeyState::Enabled, key_arn: &arn, service_account: acc.as_deref(), region: &r };
        policy::merge(&t, q, &PolicyRegion::Region(r.clone())).ok()
    });
    let load = Action::new_local(move |_: &()| {
        let api = api.clone();
        let arn = ctx.key().map(|k| k.kms_arn);
        async move {
            let keys = api.sandbox_keys().await?;
            Ok::<_, RequestError>(keys.items.into_iter().find(|k| Some(&k.arn) == arn.as_ref()))
        }
    });
    Effect::new(move |_| match load.value().get() {
        Some(Ok(Some(k))) => {
            text.set(k.policy.clone());
            loaded_key.set(Some(k));
            load_error.set(None);
        }
        Some(Ok(None)) => load_error.set(Some(RequestError::Decode(
            "the sandbox KMS has no key with the project's ARN; paste the policy instead".into(),
        ))),
        Some(Err(e)) => load_error.set(Some(e)),
        None => {}
    });
    let put_policy_cmd = Signal::derive(move || {
        format!(
            "aws kms put-key-policy --region {} --key-id {} --policy-name default --policy file://key-policy.json",
            region(),
            format::shell_quote(&key_arn())
        )
    });
    view! {
        <section aria-labelledby="checker-title">
            <h2 id="checker-title">"Key policy checker"</h2>
            {move || if no_key() {
                view! {
                    <p class="lead">"Checks a key policy the way the service does before it uses a key: the key must be Enabled, the policy must allow the EBS and S3 backup statements of the user guide for the TiDB Cloud account, and no Deny may take them away. This project has no key yet: choose the region of the key you mean to configure."</p>
                    <div class="field">
                        <label for="checker-region">"Region of the key"</label>
                        <select id="checker-region" on:change=move |ev| chosen_region.set(event_target_value(&ev)) prop:value=move || chosen_region.get()>
                            <option value="">"Choose a region"</option>
                            {regions().into_iter().map(|r| view! { <option value=r.clone()>{cmek_core::region::label(&r)}</option> }).collect_view()}
                        </select>
                    </div>
                }.into_any()
            } else {
                view! {
                    <p class="lead">"Checks a key policy the way the service does before it uses the key in "
                        <strong>{move || cmek_core::region::label(&region())}</strong> ": the key must be Enabled, the policy must allow the EBS and S3 backup statements of the user guide for the TiDB Cloud account, and no Deny may take them away."</p>
                }.into_any()
            }}
            <div class="field">
                <label for="policy-input">"Key policy (JSON)"</label>
                <textarea id="policy-input" rows="16" spellcheck="false" bind:value=text
                    placeholder="Paste the key policy from the AWS KMS console (the key's Key policy tab)"></textarea>
                <Show when=sandbox>
                    <div class="actions">
                        <Button id="load-sandbox-policy" disabled_reason=load_blocked pending=load.pending()
                            on_click=Callback::new(move |_| { load.dispatch_local(()); })>
                            "Load the policy of the project's key from the sandbox KMS"
                        </Button>
                    </div>
                </Show>
                {move || load_error.get().map(|e| view! { <ErrorNotice error=Signal::stored(e) doing="Loading the policy"/> })}
                {move || loaded_key.get().map(|k| view! { <p class="help">"Loaded from " <code>{k.arn}</code> " (state " {k.state.as_str()} ")."</p> })}
            </div>
            <div aria-live="polite" id="findings">
                {move || decision.get().map(|d| {
                    let usable = d.is_usable();
                    let findings = d.findings.clone();
                    view! {
                        <h3>{if usable { "The service can use this key" } else { "The service cannot use this key" }}</h3>
                        {findings.is_empty().then(|| view! { <p class="field-ok">"No findings: every required action is allowed and nothing denies it."</p> })}
                        <ul class="findings">
                            {findings.into_iter().map(|f| {
                                let blocking = f.is_blocking();
                                view! {
                                    <li class=if blocking { "finding blocking" } else { "finding" } data-kind=f.kind()>
                                        <span class="sev">{if blocking { "Blocks access" } else { "Note" }}</span>
                                        " " {f.to_string()}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }
                })}
            </div>
            {move || {
                let not_usable = decision.get().is_some_and(|d| !d.is_usable());
                let has_deny = decision.get().is_some_and(|d| d.findings.iter().any(|f| matches!(f, Finding::DenyBlocks { .. })));
                (not_usable).then(|| merged.get()).flatten().map(|m| {
                    let m = Signal::stored(m);
                    view! {
                        <h3>"Merged policy"</h3>
                        <p class="help">"Your statements, kept as written, plus the statements the service needs."
                            {has_deny.then_some(" A Deny statement still blocks the service: remove or narrow it yourself.")}</p>
                        <pre id="merged-policy" tabindex="0"><code>{move || m.get()}</code></pre>
                        <div class="actions">
                            <CopyButton text=m label="Copy merged policy"/>
                            <DownloadButton text=m name="key-policy.json"/>
                        </div>
                        <EquivalentRequest command=put_policy_cmd title="AWS CLI: put the merged policy on the key"/>
                    }
                })
            }}
        </section>
    }
}
