//! Guided revoke and restore, as the user guide's "Revoke and restore CMEK" says, but done for
//! the person: every cluster and its state up front, the exact policy change, then pause (or
//! resume) every cluster with per-cluster progress. Progress comes from the server's state, so
//! the flow can be left and picked up again.

use crate::api::RequestError;
use crate::components::{
    Button, ButtonKind, ClusterStatusBadge, ClusterTable, ConfirmDialog, EquivalentRequest, ErrorNotice, HealthFacts,
    KeyRefusalLinks, Loading,
};
use crate::live::{Live, use_poll};
use crate::project::use_project;
use crate::{format, state};
use cmek_core::api::{ClusterItem, ClusterStatus, UpdateClusterReq};
use cmek_core::ext::{KeyHealth, KmsBackend};
use cmek_core::kms::KeyHealthState;
use cmek_core::policy::{self, Grant, PolicyRegion};
use cmek_core::project_cmek::is_key_refusal;
use leptos::prelude::*;
use leptos_router::components::A;

/// One cluster's part in a bulk pause or resume.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Sending,
    Accepted,
    Refused(RequestError),
}

/// Every cluster of the project, kept current while any is changing.
fn all_clusters() -> Live<Vec<ClusterItem>> {
    let ctx = use_project();
    let api = state::api();
    let live = Live::new(move || {
        let (api, id) = (api.clone(), ctx.id.get());
        async move { api.all_clusters(&id).await }
    });
    let busy =
        Signal::derive(move || live.data.with(|d| d.as_ref().is_some_and(|c| crate::components::any_transitional(c))));
    use_poll(move || live.refresh(), busy);
    live
}

/// "Test the key now": re-checks the key and answers its health.
type CheckAction = Action<(), Result<Vec<KeyHealth>, RequestError>>;

/// The key's health, re-checked on demand.
fn key_health() -> (Live<Vec<KeyHealth>>, CheckAction) {
    let ctx = use_project();
    let api = state::api();
    let a = api.clone();
    let live = Live::new(move || {
        let (api, id) = (a.clone(), ctx.id.get());
        async move { api.key_health(&id).await.map(|l| l.items) }
    });
    let check = Action::new_local(move |_: &()| {
        let (api, id) = (api.clone(), ctx.id.get_untracked());
        async move { api.check_key_health(&id).await.map(|l| l.items) }
    });
    Effect::new(move |_| {
        if let Some(Ok(items)) = check.value().get() {
            live.data.set(Some(items));
            live.updated.set(Some(format::now_ms()));
        }
    });
    (live, check)
}

/// A pause or resume of every cluster in one status: the clusters it is for, whether it is under
/// way, and each cluster's outcome.
#[derive(Clone, Copy)]
struct Bulk {
    targets: Signal<Vec<ClusterItem>>,
    outcomes: RwSignal<Vec<(String, Outcome)>>,
    running: RwSignal<bool>,
    /// Sends the change to each target in turn, recording each outcome as it comes.
    start: Callback<()>,
}

/// The bulk change `req` for every cluster of `clusters` that is `from`.
fn bulk(clusters: Live<Vec<ClusterItem>>, from: ClusterStatus, req: UpdateClusterReq) -> Bulk {
    let ctx = use_project();
    let api = state::api();
    let targets = Signal::derive(move || {
        clusters.data.with(|d| {
            d.as_ref()
                .map(|l| l.iter().filter(|c| c.status.cluster_status == from).cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
    });
    let outcomes = RwSignal::new(Vec::<(String, Outcome)>::new());
    let running = RwSignal::new(false);
    let start = Callback::new(move |_| {
        running.set(true);
        let (api, project_id, targets, req) =
            (api.clone(), ctx.id.get_untracked(), targets.get_untracked(), req.clone());
        leptos::task::spawn_local(async move {
            for c in targets {
                outcomes.update(|o| o.push((c.id.clone(), Outcome::Sending)));
                let outcome = match api.update_cluster(&project_id, &c.id, &req).await {
                    Ok(_) => Outcome::Accepted,
                    Err(e) => Outcome::Refused(e),
                };
                outcomes.update(|o| {
                    if let Some(x) = o.iter_mut().find(|(id, _)| *id == c.id) {
                        x.1 = outcome;
                    }
                });
            }
            running.set(false);
            clusters.refresh();
        });
    });
    Bulk { targets, outcomes, running, start }
}

/// The per-cluster progress of a bulk operation: the cluster's live status and what was sent.
#[component]
fn Progress(
    clusters: Live<Vec<ClusterItem>>,
    outcomes: RwSignal<Vec<(String, Outcome)>>,
    target: ClusterStatus,
) -> impl IntoView {
    let ctx = use_project();
    view! {
        <ul class="progress" aria-live="polite">
            {move || outcomes.get().into_iter().map(|(id, outcome)| {
                let cluster = clusters.data.with(|d| d.as_ref().and_then(|l| l.iter().find(|c| c.id == id).cloned()));
                let name = cluster.as_ref().map(|c| c.name.clone()).unwrap_or_else(|| id.clone());
                let status = cluster.map_or(ClusterStatus::Unknown, |c| c.status.cluster_status);
                let done = status == target;
                let href = ctx.path(&format!("clusters/{id}"));
                view! {
                    <li data-cluster-id=id.clone()>
                        <A href=href>{name}</A>
                        <ClusterStatusBadge status=status/>
                        {match outcome {
                            Outcome::Sending => view! { <span>"sending…"</span> }.into_any(),
                            Outcome::Accepted if done => view! { <span class="field-ok">"done"</span> }.into_any(),
                            Outcome::Accepted => view! { <span>"accepted, in progress"</span> }.into_any(),
                            Outcome::Refused(e) => {
                                let key = e.code().is_some_and(is_key_refusal);
                                view! {
                                    <span class="field-error">"refused: " {e.message()}</span>
                                    {key.then(|| view! { <KeyRefusalLinks/> })}
                                }.into_any()
                            }
                        }}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

fn statements_text(account: Option<&str>, region: &str) -> String {
    policy::pretty(&policy::statements_of(&Grant::ALL, account, &PolicyRegion::Region(region.to_owned())))
}

fn cli_steps(arn: &str, region: &str, change: &str) -> String {
    let key = format::shell_quote(arn);
    format!(
        "aws kms get-key-policy --region {region} --key-id {key} --policy-name default --query Policy --output text > key-policy.json\n\
         # {change}\n\
         aws kms put-key-policy --region {region} --key-id {key} --policy-name default --policy file://key-policy.json"
    )
}

/// A link to the project's key in the sandbox KMS, when the server runs one.
#[component]
fn SandboxKeyLink(arn: String) -> impl IntoView {
    let info = state::server_info();
    let api = state::api();
    let keys = LocalResource::new(move || {
        let api = api.clone();
        async move { api.sandbox_keys().await.map(|l| l.items).unwrap_or_default() }
    });
    move || {
        let sandbox = matches!(info.get(), Some(Ok(Some(i))) if i.kms == KmsBackend::Sandbox);
        let id = keys.get().and_then(|ks| ks.into_iter().find(|k| k.arn == arn).map(|k| k.key_id));
        (sandbox && id.is_some()).then(|| {
            let href = format!("/sandbox-kms/{}", id.unwrap_or_default());
            view! { <p>"With the sandbox KMS: " <A href=href attr:id="sandbox-key-link">"open the key's policy"</A> "."</p> }
        })
    }
}

#[component]
pub fn RevokePage() -> impl IntoView {
    let ctx = use_project();
    let account = state::service_account();
    let clusters = all_clusters();
    let (health, check) = key_health();
    let confirm = RwSignal::new(false);
    let pausing = bulk(clusters, ClusterStatus::Available, UpdateClusterReq::pause(true));
    let (to_pause, running) = (pausing.targets, pausing.running);
    let revoked = move || {
        health.data.with(|h| {
            h.as_ref().and_then(|h| h.first()).is_some_and(|h| !h.state.is_ok() && h.state != KeyHealthState::Unknown)
        })
    };
    // The key was unusable when the page opened (not because of a change made here): there is
    // nothing to remove from its policy.
    let on_arrival = RwSignal::new(None::<bool>);
    Effect::new(move |_| {
        if on_arrival.get_untracked().is_none() && health.data.with(Option::is_some) {
            on_arrival.set(Some(revoked()));
        }
    });
    let already_revoked = move || on_arrival.get() == Some(true);
    let blocked = Signal::derive(move || {
        if running.get() {
            Some("Pausing is under way.".to_owned())
        } else if to_pause.with(Vec::is_empty) && clusters.loaded() {
            Some("No cluster is running: there is nothing to pause.".to_owned())
        } else {
            None
        }
    });
    view! {
        <section aria-labelledby="revoke-title">
            <h2 id="revoke-title">"Revoke TiDB Cloud's access to the key"</h2>
            <p class="lead">"Revoking does not stop running clusters: they keep working. A cluster that is paused cannot resume while access is revoked. Backups are encrypted with the same key: while access is revoked no backup can be taken or restored, and each automatic daily backup is recorded as failed, with the cause; the backups already taken stay. So, as the user guide says: change the key policy, then pause every cluster. " <A href=move || ctx.path("restore")>"Restore access"</A> " undoes it."</p>
            <h3>"What this affects"</h3>
            {move || clusters.error.get().map(|e| view! { <ErrorNotice error=Signal::stored(e) doing="Loading the clusters" retry=Callback::new(move |_| clusters.refresh())/> })}
            {move || match clusters.data.with(|d| d.as_ref().map(Vec::len)) {
                None => view! { <Loading label="Loading the clusters"/> }.into_any(),
                Some(0) => view! { <p class="empty">"This project has no clusters."</p> }.into_any(),
                Some(_) => view! {
                    <p id="impact-summary">{move || {
                        let all = clusters.data.get().unwrap_or_default();
                        let running = all.iter().filter(|c| c.status.cluster_status == ClusterStatus::Available).count();
                        let paused = all.iter().filter(|c| c.status.cluster_status == ClusterStatus::Paused).count();
                        format!("{}: {running} running (to pause), {paused} paused, {} changing state.", format::count(all.len(), format::CLUSTER), all.len() - running - paused)
                    }}</p>
                    <ClusterTable items=Signal::derive(move || clusters.data.get().unwrap_or_default())
                        href=Callback::new(move |id: String| ctx.path(&format!("clusters/{id}")))/>
                }.into_any(),
            }}
            <ol class="steps">
                <li id="revoke-step-1">
                    <h3>{move || if already_revoked() {
                        "Step 1. Access is already revoked: the service cannot use the key"
                    } else {
                        "Step 1. Remove these statements from the key policy"
                    }}</h3>
                    {move || already_revoked().then(|| view! {
                        <p id="already-revoked">"Nothing to change in the key policy: the key's health below says why the service cannot use it. Go on with step 2."</p>
                    })}
                    {move || (!already_revoked()).then(|| ctx.key()).flatten().map(|k| {
                        let text = Signal::stored(statements_text(account.get().as_deref(), &k.region));
                        let cli = Signal::stored(cli_steps(&k.kms_arn, &k.region, "remove the two statements above (by their Sid) from key-policy.json"));
                        view! {
                            <p>"In the policy of " <code class="arn">{k.kms_arn.clone()}</code> ", delete the statements with these Sids (keep your own):"</p>
                            <pre tabindex="0" aria-label="Key policy statements"><code>{move || text.get()}</code></pre>
                            <EquivalentRequest command=cli title="AWS CLI"/>
                            <SandboxKeyLink arn=k.kms_arn.clone()/>
                        }
                    })}
                    {move || health.data.get().and_then(|h| h.into_iter().next()).map(|h| view! { <HealthFacts health=h/> })}
                    <p role="status">{move || if revoked() { "Done: the service can no longer use the key." } else { "Not yet: the service can still use the key. Change the policy, then test." }}</p>
                    <Button id="revoke-test" pending=check.pending() on_click=Callback::new(move |_| { check.dispatch_local(()); })>"Test the key now"</Button>
                </li>
                <li id="revoke-step-2">
                    <h3>"Step 2. Pause every running cluster"</h3>
                    <p>"Each cluster is paused in turn; its data stays. You can leave this page: what is left to pause is shown when you come back."</p>
                    <Button kind=ButtonKind::Primary id="pause-all" disabled_reason=blocked on_click=Callback::new(move |_| confirm.set(true))>
                        {move || format!("Pause {}", running_count(to_pause.with(Vec::len)))}
                    </Button>
                    <Progress clusters=clusters outcomes=pausing.outcomes target=ClusterStatus::Paused/>
                </li>
            </ol>
            <ConfirmDialog open=confirm
                title=Signal::derive(move || format!("Pause {}?", format::count(to_pause.with(Vec::len), format::CLUSTER)))
                body=Signal::derive(move || format!("These clusters stop serving: {}. They cannot resume until the key's access is restored.",
                    to_pause.with(|l| l.iter().map(|c| c.name.clone()).collect::<Vec<_>>().join(", "))))
                confirm_label=Signal::derive(|| "Pause all".to_owned())
                on_confirm=pausing.start/>
        </section>
    }
}

#[component]
pub fn RestorePage() -> impl IntoView {
    let ctx = use_project();
    let account = state::service_account();
    let clusters = all_clusters();
    let (health, check) = key_health();
    let resuming = bulk(clusters, ClusterStatus::Paused, UpdateClusterReq::pause(false));
    let (to_resume, running) = (resuming.targets, resuming.running);
    let accessible = move || health.data.with(|h| h.as_ref().and_then(|h| h.first()).is_some_and(|h| h.state.is_ok()));
    let blocked = Signal::derive(move || {
        if running.get() {
            Some("Resuming is under way.".to_owned())
        } else if !accessible() {
            Some(
                "The key must be Accessible first: restore the policy (step 1), then test the key (step 2).".to_owned(),
            )
        } else if to_resume.with(Vec::is_empty) && clusters.loaded() {
            Some("No cluster is paused: there is nothing to resume.".to_owned())
        } else {
            None
        }
    });
    view! {
        <section aria-labelledby="restore-title">
            <h2 id="restore-title">"Restore TiDB Cloud's access to the key"</h2>
            <p class="lead">"Put the key policy statements back, check that the service can use the key, then resume the paused clusters. Backups work again once the key is accessible: the next automatic daily backup succeeds, and backups taken under the key can be restored."</p>
            <ol class="steps">
                <li id="restore-step-1">
                    <h3>"Step 1. Add these statements back to the key policy"</h3>
                    {move || ctx.key().map(|k| {
                        let text = Signal::stored(statements_text(account.get().as_deref(), &k.region));
                        let cli = Signal::stored(cli_steps(&k.kms_arn, &k.region, "add the two statements above to the Statement list of key-policy.json"));
                        view! {
                            <pre tabindex="0" aria-label="Key policy statements"><code>{move || text.get()}</code></pre>
                            <EquivalentRequest command=cli title="AWS CLI"/>
                            <SandboxKeyLink arn=k.kms_arn.clone()/>
                            <p><A href=ctx.path("encryption/check")>"Check the key policy"</A> " before saving it."</p>
                        }
                    })}
                </li>
                <li id="restore-step-2">
                    <h3>"Step 2. Test the key"</h3>
                    {move || health.data.get().and_then(|h| h.into_iter().next()).map(|h| view! { <HealthFacts health=h/> })}
                    {move || check.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=Signal::stored(e) doing="Testing the key"/> })}
                    <p role="status" id="restore-key-status">{move || if accessible() { "The key is accessible: the clusters can resume." } else { "The key is not accessible yet." }}</p>
                    <Button id="restore-test" kind=ButtonKind::Primary pending=check.pending() on_click=Callback::new(move |_| { check.dispatch_local(()); })>"Test the key now"</Button>
                </li>
                <li id="restore-step-3">
                    <h3>"Step 3. Resume the paused clusters"</h3>
                    {move || clusters.error.get().map(|e| view! { <ErrorNotice error=Signal::stored(e) doing="Loading the clusters"/> })}
                    <p>{move || format!("{}.", paused_count(to_resume.with(Vec::len)))}</p>
                    <Button kind=ButtonKind::Primary id="resume-all" disabled_reason=blocked on_click=resuming.start>
                        {move || format!("Resume {}", paused_count(to_resume.with(Vec::len)))}
                    </Button>
                    <Progress clusters=clusters outcomes=resuming.outcomes target=ClusterStatus::Available/>
                </li>
            </ol>
        </section>
    }
}

/// `1 running cluster`, `3 running clusters`.
fn running_count(n: usize) -> String {
    format::count(n, format::Noun { one: "running cluster", many: "running clusters" })
}

/// `1 paused cluster`, `0 paused clusters`.
fn paused_count(n: usize) -> String {
    format::count(n, format::Noun { one: "paused cluster", many: "paused clusters" })
}
