//! The sandbox KMS (only when the server runs one): what a person would do in the AWS KMS
//! console — create a key, edit its policy, disable/enable, schedule/cancel deletion, rotate.

use crate::api::{RequestError, SandboxKeyAction};
use crate::components::{Button, ButtonKind, ConfirmDialog, ErrorNotice, Loading};
use crate::{format, state};
use cmek_core::api::{CloudProvider, ClusterType};
use cmek_core::ext::{CreateSandboxKeyReq, KmsBackend, SandboxKey};
use cmek_core::kms::{DELETION_WINDOW_DAYS, KeyState, ROTATION_PERIOD_DAYS};
use cmek_core::policy::{self, PolicyRegion};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

/// Shows `children` only when the server runs the sandbox KMS; says so otherwise.
#[component]
fn SandboxOnly(children: ChildrenFn) -> impl IntoView {
    let info = state::server_info();
    move || {
        match info.get() {
        None => view! { <Loading label="Asking the server what it offers"/> }.into_any(),
        Some(Ok(Some(i))) if i.kms == KmsBackend::Sandbox => children().into_any(),
        Some(Err(e)) => {
            view! { <ErrorNotice error=Signal::stored(e) doing="Asking the server what it offers"/> }.into_any()
        }
        Some(Ok(Some(i))) if i.gateway.is_some() => view! {
            <p class="notice info">
                "The sandbox KMS is off: this console manages a real organisation through a gateway. Manage keys in AWS KMS."
            </p>
        }
        .into_any(),
        Some(Ok(_)) => {
            view! { <p class="notice info">"This server does not run a sandbox KMS: manage keys in AWS KMS."</p> }
                .into_any()
        }
    }
    }
}

#[component]
pub fn SandboxKmsPage() -> impl IntoView {
    let api = state::api();
    let info = state::server_info();
    let catalog = state::catalog();
    let account = state::service_account();
    let keys = LocalResource::new({
        let api = api.clone();
        move || {
            let api = api.clone();
            async move { api.sandbox_keys().await }
        }
    });
    let region = RwSignal::new("us-west-2".to_owned());
    let multi = RwSignal::new(false);
    let description = RwSignal::new(String::new());
    let trust_service = RwSignal::new(true);
    let sandbox_account = move || match info.get() {
        Some(Ok(Some(i))) => i.sandbox_account_id.unwrap_or_default(),
        _ => String::new(),
    };
    let navigate = use_navigate();
    let create = Action::new_local(move |req: &CreateSandboxKeyReq| {
        let (api, req) = (api.clone(), req.clone());
        async move { api.create_sandbox_key(&req).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(k)) = create.value().get() {
            navigate(&format!("/sandbox-kms/{}", k.key_id), Default::default());
        }
    });
    let regions = move || match catalog.get() {
        Some(Ok(c)) => c.regions(ClusterType::Dedicated, CloudProvider::Aws).into_iter().map(str::to_owned).collect(),
        _ => vec!["us-west-2".to_owned()],
    };
    let submit = move || {
        if create.pending().get_untracked() {
            return;
        }
        let r = region.get_untracked();
        let policy = trust_service.get_untracked().then(|| {
            policy::pretty(&policy::default_key_policy(
                &sandbox_account(),
                account.get_untracked().as_deref(),
                &PolicyRegion::Region(r.clone()),
            ))
        });
        create.dispatch_local(CreateSandboxKeyReq {
            region: r,
            multi_region: Some(multi.get_untracked()),
            description: Some(description.get_untracked()),
            policy,
        });
    };
    view! {
        <section class="page">
            <div class="page-head"><h1>"Sandbox KMS"</h1></div>
            <SandboxOnly>
                <p class="lead">"A stand-in for AWS KMS in account " <code>{sandbox_account}</code>
                    ", kept by this server. Keys here behave like KMS keys: their ARNs never change, rotation keeps them, a cancelled deletion leaves the key Disabled."</p>
                {move || match keys.get() {
                    None => view! { <Loading label="Loading the keys"/> }.into_any(),
                    Some(Err(e)) => view! { <ErrorNotice error=Signal::stored(e) doing="Loading the keys" retry=Callback::new(move |_| keys.refetch())/> }.into_any(),
                    Some(Ok(list)) if list.items.is_empty() => view! { <p class="empty">"No keys yet."</p> }.into_any(),
                    Some(Ok(list)) => view! {
                        <table class="list" id="sandbox-keys">
                            <caption class="sr-only">"Sandbox KMS keys"</caption>
                            <thead><tr><th scope="col">"Key"</th><th scope="col">"Region"</th><th scope="col">"State"</th><th scope="col">"Rotation"</th></tr></thead>
                            <tbody>{list.items.into_iter().map(|k| view! {
                                <tr data-key-id=k.key_id.clone()>
                                    <th scope="row"><A href=format!("/sandbox-kms/{}", k.key_id)><code>{k.arn.clone()}</code></A>
                                        {(!k.description.is_empty()).then(|| view! { <div class="muted">{k.description.clone()}</div> })}</th>
                                    <td>{cmek_core::region::label(&k.region)}</td>
                                    <td>{k.state.as_str()}</td>
                                    <td>{if k.rotation.enabled { "automatic" } else { "off" }} " · " {k.rotation.rotation_count} " rotations"</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                }}
                <form class="card narrow" novalidate on:submit=move |ev| { ev.prevent_default(); submit(); }>
                    <h2>"Create a key"</h2>
                    <div class="field">
                        <label for="sandbox-region">"Region"</label>
                        <select id="sandbox-region" on:change=move |ev| region.set(event_target_value(&ev)) prop:value=move || region.get()>
                            {move || regions().into_iter().map(|r| view! { <option value=r.clone()>{cmek_core::region::label(&r)}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="sandbox-description">"Description"</label>
                        <input id="sandbox-description" type="text" bind:value=description/>
                    </div>
                    <label class="check"><input type="checkbox" bind:checked=multi/>" Multi-Region key (" <code>"mrk-"</code> " id)"</label>
                    <label class="check"><input type="checkbox" id="sandbox-trust" bind:checked=trust_service/>
                        " Key policy: trust TiDB Cloud for this region (the user guide's statements) besides your own administration"</label>
                    {move || create.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=Signal::stored(e) doing="Creating the key"/> })}
                    <div class="actions"><Button submit=true kind=ButtonKind::Primary pending=create.pending() id="sandbox-create">"Create key"</Button></div>
                </form>
            </SandboxOnly>
        </section>
    }
}

#[component]
pub fn SandboxKeyPage() -> impl IntoView {
    let key_id = crate::route::sandbox_key_id();
    let api = state::api();
    let key = RwSignal::new(None::<Result<SandboxKey, RequestError>>);
    // Kept here: a saved change re-renders the key's view, and the confirmation must survive it.
    let done = RwSignal::new(None::<String>);
    let load = Action::new_local({
        let api = api.clone();
        move |id: &String| {
            let (api, id) = (api.clone(), id.clone());
            async move { api.sandbox_key(&id).await }
        }
    });
    Effect::new(move |_| {
        done.set(None);
        load.dispatch_local(key_id.get());
    });
    Effect::new(move |_| {
        if let Some(r) = load.value().get() {
            key.set(Some(r));
        }
    });
    view! {
        <section class="page">
            <nav class="crumbs" aria-label="Breadcrumb"><A href="/sandbox-kms">"Sandbox KMS"</A> " › " <span aria-current="page">{move || key_id.get()}</span></nav>
            <SandboxOnly>
                {move || match key.get() {
                    None => view! { <Loading label="Loading the key"/> }.into_any(),
                    Some(Err(e)) => view! { <ErrorNotice error=Signal::stored(e) doing="Loading the key"/> }.into_any(),
                    Some(Ok(k)) => view! { <KeyView key=k done=done on_change=Callback::new(move |k| key.set(Some(Ok(k))))/> }.into_any(),
                }}
            </SandboxOnly>
        </section>
    }
}

/// What a person can do to a sandbox key, as the AWS KMS console offers it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum KeyOp {
    SavePolicy(String),
    Disable,
    Enable,
    /// The waiting period in days (7–30).
    ScheduleDeletion(i64),
    CancelDeletion,
    RotateNow,
    /// The rotation period in days (90–2560).
    RotationOn(i64),
    RotationOff,
}

impl KeyOp {
    /// What the saved change did, said once after it succeeded.
    fn done(&self, k: &SandboxKey) -> String {
        match self {
            KeyOp::SavePolicy(_) => "Policy saved.".to_owned(),
            KeyOp::Disable => "Key disabled. Running clusters keep running; a paused cluster cannot resume and backups fail until the key is enabled again.".to_owned(),
            KeyOp::Enable => "Key enabled. TiDB Cloud can use it again if the policy allows it.".to_owned(),
            KeyOp::ScheduleDeletion(_) => match k.deletion_date {
                Some(d) => format!("Deletion scheduled for {}. The key is unusable until then; cancel the deletion to keep it.", format::time(d)),
                None => "Deletion scheduled. The key is unusable until then; cancel the deletion to keep it.".to_owned(),
            },
            KeyOp::CancelDeletion => "Deletion cancelled. The key is Disabled: enable it to use it again.".to_owned(),
            KeyOp::RotateNow => "Rotated: new key material encrypts from now on; the ARN is unchanged, so nothing changes in TiDB Cloud.".to_owned(),
            KeyOp::RotationOn(_) => format!("Automatic rotation on, every {} days.", k.rotation.period_days.unwrap_or(365)),
            KeyOp::RotationOff => "Automatic rotation off.".to_owned(),
        }
    }
}

/// A typed number of days, or what is wrong with it (the range is checked by the server's rule).
fn days(field: &str, typed: &str, range: &std::ops::RangeInclusive<i64>) -> Result<i64, String> {
    let (from, to) = (range.start(), range.end());
    match typed.trim() {
        // A number input holds "" for anything that is not a number.
        "" => Err(format!("{field} is required: a whole number of days, {from}–{to}")),
        t => t.parse().map_err(|_| format!("{field}: \"{t}\" is not a whole number of days ({from}–{to})")),
    }
}

#[component]
fn KeyView(key: SandboxKey, done: RwSignal<Option<String>>, on_change: Callback<SandboxKey>) -> impl IntoView {
    let api = state::api();
    let id = key.key_id.clone();
    let state = key.state;
    let rotation_on = key.rotation.enabled;
    let policy_text = RwSignal::new(key.policy.clone());
    let wait_days = RwSignal::new("30".to_owned());
    let period = RwSignal::new(key.rotation.period_days.unwrap_or(365).to_string());
    let confirm_delete = RwSignal::new(false);
    let confirm_disable = RwSignal::new(false);
    // A number of days that is not a number: said next to the buttons, nothing sent.
    let input_error = RwSignal::new(None::<String>);
    let op = Action::new_local(move |(id, op): &(String, KeyOp)| {
        let (api, id, op) = (api.clone(), id.clone(), op.clone());
        async move {
            let key = match &op {
                KeyOp::SavePolicy(p) => api.put_key_policy(&id, p.clone()).await,
                KeyOp::Disable => api.sandbox_key_action(&id, SandboxKeyAction::Disable).await,
                KeyOp::Enable => api.sandbox_key_action(&id, SandboxKeyAction::Enable).await,
                KeyOp::ScheduleDeletion(d) => api.schedule_key_deletion(&id, *d).await,
                KeyOp::CancelDeletion => api.sandbox_key_action(&id, SandboxKeyAction::CancelDeletion).await,
                KeyOp::RotateNow => api.sandbox_key_action(&id, SandboxKeyAction::Rotate).await,
                KeyOp::RotationOn(p) => api.set_key_rotation(&id, true, Some(*p)).await,
                KeyOp::RotationOff => api.set_key_rotation(&id, false, None).await,
            }?;
            Ok::<_, RequestError>((op, key))
        }
    });
    Effect::new(move |_| {
        if let Some(Ok((op, k))) = op.value().get() {
            done.set(Some(op.done(&k)));
            on_change.run(k);
        }
    });
    let run = Callback::new(move |what: KeyOp| {
        if !op.pending().get_untracked() {
            done.set(None);
            input_error.set(None);
            op.dispatch_local((id.clone(), what));
        }
    });
    let revoke = move |_| match policy::without_service_statements(&policy_text.get_untracked()) {
        Ok(p) => {
            policy_text.set(p.clone());
            run.run(KeyOp::SavePolicy(p));
        }
        Err(f) => done.set(Some(f.to_string())),
    };
    let account = state::service_account();
    let region = key.region.clone();
    let key_arn = key.arn.clone();
    let restore = move |_| {
        let service_account = account.get_untracked();
        let q = policy::AccessQuery {
            key_state: KeyState::Enabled,
            key_arn: &key_arn,
            service_account: service_account.as_deref(),
            region: &region,
        };
        match policy::merge(&policy_text.get_untracked(), q, &PolicyRegion::Region(region.clone())) {
            Ok(p) => {
                policy_text.set(p.clone());
                run.run(KeyOp::SavePolicy(p));
            }
            Err(f) => done.set(Some(f.to_string())),
        }
    };
    let pending = op.pending();
    view! {
        <h1><code>{key.arn.clone()}</code></h1>
        <dl class="facts" id="sandbox-key-facts">
            <dt>"State"</dt><dd id="sandbox-key-state">{state.as_str()}</dd>
            {key.deletion_date.map(|d| view! { <dt>"Deletion date"</dt><dd class="warn">{format::time(d)}</dd> })}
            <dt>"Region"</dt><dd>{cmek_core::region::label(&key.region)}</dd>
            <dt>"Multi-Region"</dt><dd>{if key.multi_region { "yes" } else { "no" }}</dd>
            <dt>"Created"</dt><dd>{format::time(key.created_at)}</dd>
            <dt>"Rotation"</dt><dd id="sandbox-key-rotation">{format::rotation(Some(&key.rotation))}</dd>
        </dl>
        {move || op.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=Signal::stored(e) doing="Changing the key"/> })}
        <p role="status" class="field-ok" id="sandbox-key-done">{move || done.get()}</p>
        <p role="alert" class="field-error" id="sandbox-key-input-error">{move || input_error.get()}</p>
        <div class="card">
            <h2>"Key state"</h2>
            <div class="actions">
                {match state {
                    KeyState::Enabled => view! { <Button id="key-disable" pending=pending on_click=Callback::new(move |_| confirm_disable.set(true))>"Disable key"</Button> }.into_any(),
                    KeyState::Disabled => view! { <Button id="key-enable" pending=pending on_click=Callback::new(move |_| run.run(KeyOp::Enable))>"Enable key"</Button> }.into_any(),
                    _ => view! { <Button id="key-cancel-deletion" pending=pending on_click=Callback::new(move |_| run.run(KeyOp::CancelDeletion))>"Cancel key deletion"</Button> }.into_any(),
                }}
                <Show when=move || state != KeyState::PendingDeletion>
                    <label class="inline">"Waiting period (days) " <input type="number" min="7" max="30" class="short" bind:value=wait_days/></label>
                    <Button kind=ButtonKind::Danger id="key-schedule-deletion" on_click=Callback::new(move |_| confirm_delete.set(true))>"Schedule key deletion"</Button>
                </Show>
            </div>
            <ConfirmDialog open=confirm_disable danger=true
                title=Signal::derive(|| "Disable this key?".to_owned())
                body=Signal::derive(|| "TiDB Cloud can no longer use it: running clusters keep running, but a paused cluster cannot resume, new clusters are refused and backups fail until you enable the key again.".to_owned())
                confirm_label=Signal::derive(|| "Disable key".to_owned())
                on_confirm=Callback::new(move |_| run.run(KeyOp::Disable))/>
            <ConfirmDialog open=confirm_delete danger=true
                title=Signal::derive(move || "Schedule deletion of this key?".to_owned())
                body=Signal::derive(move || format!("After {} days the key is deleted and everything it encrypts becomes unreadable. Until then you can cancel; the key stays unusable meanwhile.", wait_days.get()))
                confirm_label=Signal::derive(|| "Schedule deletion".to_owned())
                on_confirm=Callback::new(move |_| match days("Waiting period", &wait_days.get_untracked(), &DELETION_WINDOW_DAYS) {
                    Ok(d) => run.run(KeyOp::ScheduleDeletion(d)),
                    Err(e) => input_error.set(Some(e)),
                })/>
        </div>
        <div class="card">
            <h2>"Rotation"</h2>
            <p class="help">"Rotation changes the key material only: the key id and ARN stay, so nothing changes in TiDB Cloud."</p>
            <div class="actions">
                <Button id="key-rotate" pending=pending on_click=Callback::new(move |_| run.run(KeyOp::RotateNow))>"Rotate now"</Button>
                // One of the two, as the key is: offering both would ask the person to know the state.
                {if rotation_on {
                    view! {
                        <Button id="key-rotation-off" pending=pending on_click=Callback::new(move |_| run.run(KeyOp::RotationOff))>"Turn off automatic rotation"</Button>
                    }.into_any()
                } else {
                    view! {
                        <label class="inline">"Period (days) " <input type="number" min="90" max="2560" class="short" bind:value=period/></label>
                        <Button id="key-rotation-on" pending=pending on_click=Callback::new(move |_| match days("Rotation period", &period.get_untracked(), &ROTATION_PERIOD_DAYS) {
                            Ok(p) => run.run(KeyOp::RotationOn(p)),
                            Err(e) => input_error.set(Some(e)),
                        })>"Turn on automatic rotation"</Button>
                    }.into_any()
                }}
            </div>
        </div>
        <div class="card">
            <h2>"Key policy"</h2>
            <div class="field">
                <label for="sandbox-policy">"Policy document (stored exactly as written)"</label>
                <textarea id="sandbox-policy" rows="18" spellcheck="false" bind:value=policy_text></textarea>
            </div>
            <div class="actions">
                <Button kind=ButtonKind::Primary id="policy-save" pending=pending on_click=Callback::new(move |_| run.run(KeyOp::SavePolicy(policy_text.get_untracked())))>"Save policy"</Button>
                <button type="button" class="btn" id="policy-revoke" on:click=revoke>"Remove TiDB Cloud's statements (revoke)"</button>
                <button type="button" class="btn" id="policy-restore" on:click=restore>"Add TiDB Cloud's statements (restore)"</button>
            </div>
        </div>
    }
}
