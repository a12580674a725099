//! One cluster: status (kept current), components, nodes, connection, what encrypts it, and
//! pause / resume / delete behind confirmations that name it; its backups (`backups.rs`).

mod backups;

use crate::components::{
    ActionError, ClusterStatusBadge, ConfirmDialog, EquivalentRequest, ErrorNotice, KeyHealthPanel, Loading,
};
use crate::live::{Live, use_poll};
use crate::project::use_project;
use crate::{format, state};
use backups::ClusterBackups;
use cmek_core::api::{ClusterItem, ClusterStatus, ClusterType, NodeItem, UpdateClusterReq};
use cmek_core::project_cmek::{ProjectCmek, is_key_refusal};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Pause,
    Resume,
    Delete,
}

#[component]
pub fn ClusterDetailPage() -> impl IntoView {
    let ctx = use_project();
    let cluster_id = crate::route::cluster_id();
    let api = state::api();
    let a = api.clone();
    let live: Live<ClusterItem> = Live::new(move || {
        let (api, pid, cid) = (a.clone(), ctx.id.get(), cluster_id.get());
        async move { api.get_cluster(&pid, &cid).await }
    });
    let busy = Signal::derive(move || {
        live.data.with(|c| c.as_ref().is_some_and(|c| c.status.cluster_status.is_transitional()))
    });
    use_poll(move || live.refresh(), busy);
    let op = Action::new_local(move |op: &Op| {
        let (api, pid, cid, op) = (api.clone(), ctx.id.get_untracked(), cluster_id.get_untracked(), *op);
        async move {
            match op {
                Op::Pause => api.update_cluster(&pid, &cid, &UpdateClusterReq::pause(true)).await,
                Op::Resume => api.update_cluster(&pid, &cid, &UpdateClusterReq::pause(false)).await,
                Op::Delete => api.delete_cluster(&pid, &cid).await,
            }
            .map(|_| op)
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| match op.value().get() {
        Some(Ok(Op::Delete)) => navigate(&ctx.path("clusters"), Default::default()),
        Some(Ok(_)) => live.refresh(),
        _ => {}
    });
    let op_error = Signal::derive(move || op.value().get().and_then(Result::err));
    // What the last operation was, for its refusal's headline ("Resuming the cluster was refused").
    let last_op = RwSignal::new(Op::Resume);
    let (confirm_pause, confirm_resume, confirm_delete) =
        (RwSignal::new(false), RwSignal::new(false), RwSignal::new(false));
    let name = Signal::derive(move || live.data.with(|c| c.as_ref().map(|c| c.name.clone()).unwrap_or_default()));
    let status = Signal::derive(move || {
        live.data.with(|c| c.as_ref().map_or(ClusterStatus::Unknown, |c| c.status.cluster_status))
    });
    let cmek = move || ctx.loaded().is_some_and(|p| p.aws_cmek_enabled);
    let curl = {
        let api = state::api();
        Signal::derive(move || {
            let url = api.url(&crate::api::Api::cluster_path(&ctx.id.get(), &cluster_id.get()));
            let pause = format::curl("PATCH", &url, Some(r#"{"config":{"paused":true}}"#));
            let resume = format::curl("PATCH", &url, Some(r#"{"config":{"paused":false}}"#));
            format!("# Pause\n{pause}\n\n# Resume\n{resume}\n\n# Delete\n{}", format::curl("DELETE", &url, None))
        })
    };
    view! {
        <section aria-labelledby="cluster-title">
            <p class="help" role="status" id="retry-note">{move || live.retry_note()}</p>
            {move || live.error.get().map(|e| {
                let gone = e.status() == Some(404);
                view! {
                    <ErrorNotice error=Signal::stored(e) doing=if gone { "Loading the cluster (it may have been deleted)" } else { "Loading the cluster" }
                        retry=Callback::new(move |_| live.refresh())/>
                }
            })}
            <Show when=move || live.loaded() fallback=move || live.error.with(Option::is_none).then(|| view! { <Loading label="Loading the cluster"/> })>
                <div class="page-head">
                    <h2 id="cluster-title">{name}</h2>
                    <span id="cluster-status"><ClusterStatusBadge status=status/></span>
                </div>
                <p class="updated">{move || live.updated.get().map(|t| format!("Last updated {}", format::time_ms(t)))}</p>
                <div class="actions">
                    <Show when=move || status.get() == ClusterStatus::Available>
                        <button type="button" class="btn" id="pause-cluster" on:click=move |_| confirm_pause.set(true)>"Pause"</button>
                    </Show>
                    <Show when=move || status.get() == ClusterStatus::Paused>
                        <button type="button" class="btn primary" id="resume-cluster" on:click=move |_| confirm_resume.set(true)>"Resume"</button>
                    </Show>
                    <button type="button" class="btn danger" id="delete-cluster" on:click=move |_| confirm_delete.set(true)>"Delete"</button>
                    <Show when=move || op.pending().get()><Loading label="Sending"/></Show>
                </div>
                <ActionError error=op_error id="operation-error" key_links=true doing=Signal::derive(move || match last_op.get() {
                    Op::Pause => "Pausing the cluster",
                    Op::Resume => "Resuming the cluster",
                    Op::Delete => "Deleting the cluster",
                }.to_owned())/>
                {move || live.data.get().map(|c| view! { <ClusterFacts cluster=c/> })}
                <div class="card" id="cluster-encryption">
                    <h3>"Encryption at rest"</h3>
                    {move || match ctx.cmek() {
                        Some(ProjectCmek::Key(k)) => view! {
                            <dl class="facts">
                                <dt>"Key"</dt><dd><code class="arn">{k.kms_arn.clone()}</code></dd>
                                <dt>"Key region"</dt><dd>{cmek_core::region::label(&k.region)}</dd>
                            </dl>
                            <p>"EBS volumes and S3 backups are encrypted with this key."</p>
                            <KeyHealthPanel causes_shown_above=Signal::derive(move || op_error.get().and_then(|e| e.code()).is_some_and(is_key_refusal))/>
                        }.into_any(),
                        Some(ProjectCmek::NoKey) => view! { <p>"This project uses a customer-managed key, but none is configured."</p> }.into_any(),
                        Some(ProjectCmek::NotEnabled) => view! { <p>"Encrypted at rest with TiDB Cloud's escrow key (this project was created without CMEK)."</p> }.into_any(),
                        // The project or its keys are still loading.
                        None => ().into_any(),
                    }}
                </div>
                <Show when=move || live.data.with(|c| c.as_ref().is_some_and(|c| c.cluster_type == ClusterType::Dedicated))>
                    <ClusterBackups cluster_id=cluster_id cluster=Signal::derive(move || live.data.get())/>
                </Show>
                <EquivalentRequest command=curl/>
            </Show>
            <ConfirmDialog open=confirm_pause
                title=Signal::derive(move || format!("Pause cluster {}?", name.get()))
                body=Signal::derive(move || if cmek() {
                    "Its compute stops and its data stays. Resuming later needs the project's key to be accessible: if TiDB Cloud's access to the key is revoked, the cluster cannot resume until it is restored.".to_owned()
                } else {
                    "Its compute stops and its data stays. You can resume it later.".to_owned()
                })
                confirm_label=Signal::derive(|| "Pause cluster".to_owned())
                on_confirm=Callback::new(move |_| { last_op.set(Op::Pause); op.dispatch_local(Op::Pause); })/>
            <ConfirmDialog open=confirm_resume
                title=Signal::derive(move || format!("Resume cluster {}?", name.get()))
                body=Signal::derive(move || if cmek() {
                    "The service checks that it can use the project's key, then starts the cluster.".to_owned()
                } else {
                    "The cluster starts again.".to_owned()
                })
                confirm_label=Signal::derive(|| "Resume cluster".to_owned())
                on_confirm=Callback::new(move |_| { last_op.set(Op::Resume); op.dispatch_local(Op::Resume); })/>
            <ConfirmDialog open=confirm_delete danger=true typed=name
                title=Signal::derive(move || format!("Delete cluster {}?", name.get()))
                body=Signal::derive(move || "The cluster and its data are deleted. This cannot be undone.".to_owned())
                confirm_label=Signal::derive(|| "Delete cluster".to_owned())
                on_confirm=Callback::new(move |_| { last_op.set(Op::Delete); op.dispatch_local(Op::Delete); })/>
        </section>
    }
}

#[component]
fn ClusterFacts(cluster: ClusterItem) -> impl IntoView {
    let c = cluster;
    let components = c.config.components.clone();
    let node_map = c.status.node_map.clone();
    let conn = c.status.connection_strings.clone();
    view! {
        <dl class="facts">
            <dt>"Type"</dt><dd>{c.cluster_type.label()}</dd>
            <dt>"Provider"</dt><dd>{c.cloud_provider.as_str()}</dd>
            <dt>"Region"</dt><dd>{cmek_core::region::label(&c.region)}</dd>
            <dt>"TiDB version"</dt><dd>{c.status.tidb_version.clone()}</dd>
            <dt>"Port"</dt><dd>{c.config.port}</dd>
            <dt>"Created"</dt><dd>{format::timestamp(&c.create_timestamp)}</dd>
            <dt>"Cluster id"</dt><dd><code>{c.id.clone()}</code></dd>
        </dl>
        {components.map(|comp| view! {
            <h3>"Components"</h3>
            <table class="list" id="components">
                <thead><tr><th scope="col">"Component"</th><th scope="col">"Node size"</th><th scope="col" class="num">"Nodes"</th><th scope="col" class="num">"Storage per node"</th></tr></thead>
                <tbody>
                    <tr><th scope="row">"TiDB"</th><td>{comp.tidb.node_size.clone()}</td><td class="num">{comp.tidb.node_quantity}</td><td class="num">"—"</td></tr>
                    <tr><th scope="row">"TiKV"</th><td>{comp.tikv.node_size.clone()}</td><td class="num">{comp.tikv.node_quantity}</td><td class="num">{comp.tikv.storage_size_gib} " GiB"</td></tr>
                    {comp.tiflash.map(|f| view! {
                        <tr><th scope="row">"TiFlash"</th><td>{f.node_size.clone()}</td><td class="num">{f.node_quantity}</td><td class="num">{f.storage_size_gib} " GiB"</td></tr>
                    })}
                </tbody>
            </table>
        })}
        {match conn {
            Some(cs) => view! {
                <h3>"Connection"</h3>
                <dl class="facts" id="connection">
                    <dt>"User"</dt><dd><code>{cs.default_user.clone()}</code></dd>
                    {cs.standard.clone().map(|e| view! { <dt>"Public endpoint"</dt><dd><code>{format!("{}:{}", e.host, e.port)}</code></dd> })}
                    {cs.vpc_peering.clone().map(|e| view! { <dt>"VPC peering"</dt><dd><code>{format!("{}:{}", e.host, e.port)}</code></dd> })}
                </dl>
                {cs.standard.map(|e| view! {
                    <pre><code>{format!("mysql --comment -u {} -h {} -P {} -p", format::shell_quote(&cs.default_user), e.host, e.port)}</code></pre>
                })}
            }.into_any(),
            None => view! { <p class="muted">"Connection details appear when the cluster is available."</p> }.into_any(),
        }}
        {node_map.map(|m| {
            let all: Vec<(&'static str, NodeItem)> = m.tidb.into_iter().map(|n| ("TiDB", n))
                .chain(m.tikv.into_iter().map(|n| ("TiKV", n)))
                .chain(m.tiflash.into_iter().map(|n| ("TiFlash", n)))
                .collect();
            view! {
                <details class="equivalent">
                    <summary>"Nodes (" {all.len()} ")"</summary>
                    <table class="list" id="node-map">
                        <thead><tr><th scope="col">"Node"</th><th scope="col">"Component"</th><th scope="col">"Zone"</th><th scope="col">"Size"</th><th scope="col" class="num">"vCPU"</th><th scope="col" class="num">"RAM"</th><th scope="col" class="num">"Storage"</th></tr></thead>
                        <tbody>{all.into_iter().map(|(kind, n)| view! {
                            <tr>
                                <th scope="row">{n.node_name.clone()}</th><td>{kind}</td><td>{n.availability_zone.clone()}</td>
                                <td>{n.node_size.clone()}</td><td class="num">{n.vcpu_num}</td>
                                <td class="num">{n.ram_bytes.parse::<u64>().map(|b| format!("{} GiB", b >> 30)).unwrap_or(n.ram_bytes.clone())}</td>
                                <td class="num">{n.storage_size_gib.map(|g| format!("{g} GiB")).unwrap_or_else(|| "—".into())}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                </details>
            }
        })}
    }
}
