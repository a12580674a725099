//! A cluster's backups, on its page: the list (kept current while one runs) with the key that
//! encrypts each, a manual backup, delete behind a confirmation that names the backup, and
//! restore to a new cluster whose region is locked to the backed-up cluster's (and, in a CMEK
//! project, the key's), with the reason on screen. Every check is the server's rule.

use crate::api::Idempotency;
use crate::components::{ActionError, ConfirmDialog, EquivalentRequest, ErrorNotice, Loading, TextField};
use crate::live::{Live, use_poll};
use crate::project::use_project;
use crate::{format, state};
use cmek_core::api::{ClusterItem, CreateClusterConfig};
use cmek_core::backup::{
    Backup, BackupEncryption, CreateBackupReq, CreateRestoreReq, CreateRestoreResp, TaskStatus, check_create_backup,
};
use cmek_core::cluster::{check_name, check_root_password};
use cmek_core::project_cmek::ProjectCmek;
use leptos::prelude::*;
use leptos_router::components::A;

/// How many backups the panel shows (newest first).
const PAGE_SIZE: i64 = 20;

/// A backup with the key that encrypts it (when the server says).
#[derive(Clone, Debug, PartialEq)]
struct Row {
    backup: Backup,
    key: Option<BackupEncryption>,
}

fn status_label(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Pending => "Pending",
        TaskStatus::Running => "Running",
        TaskStatus::Failed => "Failed",
        TaskStatus::Success => "Done",
        TaskStatus::Unknown => "Unknown",
    }
}

fn size_label(bytes: &str) -> String {
    match bytes.parse::<u64>() {
        Ok(0) | Err(_) => "—".to_owned(),
        Ok(b) if b >= 1 << 30 => format!("{} GiB", crate::format::one_decimal(b, 1 << 30)),
        Ok(b) => format!("{} MiB", b >> 20),
    }
}

#[component]
pub fn ClusterBackups(
    /// The cluster whose backups these are.
    #[prop(into)]
    cluster_id: Signal<String>,
    /// The cluster as last read (its region and components seed a restore).
    #[prop(into)]
    cluster: Signal<Option<ClusterItem>>,
) -> impl IntoView {
    let ctx = use_project();
    let api = state::api();
    let a = api.clone();
    let live: Live<Vec<Row>> = Live::new(move || {
        let (api, pid, cid) = (a.clone(), ctx.id.get(), cluster_id.get());
        async move {
            let list = api.list_backups(&pid, &cid, 1, PAGE_SIZE).await?;
            // The keys are an extension: a plain v1beta server does not say them.
            let keys = api.backup_keys(&pid, &cid, 1, PAGE_SIZE).await?.map(|k| k.items).unwrap_or_default();
            Ok(list
                .items
                .into_iter()
                .map(|b| {
                    let key = keys.iter().find(|k| k.backup_id == b.id).cloned();
                    Row { backup: b, key }
                })
                .collect())
        }
    });
    let running = Signal::derive(move || {
        live.data.with(|d| d.as_ref().is_some_and(|rows| rows.iter().any(|r| r.backup.status == TaskStatus::Running)))
    });
    use_poll(move || live.refresh(), running);

    // ---- delete
    let to_delete = RwSignal::new(None::<Backup>);
    let confirm_delete = RwSignal::new(false);
    let api_d = api.clone();
    let delete = Action::new_local(move |id: &String| {
        let (api, pid, cid, id) = (api_d.clone(), ctx.id.get_untracked(), cluster_id.get_untracked(), id.clone());
        async move { api.delete_backup(&pid, &cid, &id).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = delete.value().get() {
            live.refresh();
        }
    });
    let delete_error = Signal::derive(move || delete.value().get().and_then(Result::err));

    // ---- restore: the action outlives its form (closed once the restore started).
    let restoring = RwSignal::new(None::<Backup>);
    let once_r = Idempotency::default();
    let restore = Action::new_local(move |req: &CreateRestoreReq| {
        let (api, pid, req, once) = (api.clone(), ctx.id.get_untracked(), req.clone(), once_r.clone());
        async move { api.create_restore(&pid, &req, &once).await }
    });
    let restored: Signal<Option<CreateRestoreResp>> =
        Signal::derive(move || restore.value().get().and_then(Result::ok));
    let restore_error = Signal::derive(move || restore.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(_)) = restore.value().get() {
            restoring.set(None);
        }
    });

    let cmek = move || ctx.loaded().is_some_and(|p| p.aws_cmek_enabled);
    let curl = {
        let api = state::api();
        Signal::derive(move || {
            let url = api.url(&crate::api::Api::backups_path(&ctx.id.get(), &cluster_id.get()));
            format::curl("POST", &url, Some(r#"{"name":"before-upgrade","description":"…"}"#))
        })
    };
    view! {
        <section class="card" id="cluster-backups" aria-labelledby="backups-title">
            <h3 id="backups-title">"Backups"</h3>
            <p class="help">{move || if cmek() {
                "Backups are encrypted with the project's key. Taking or restoring one needs TiDB Cloud to be able to use the key; while access is revoked, the automatic daily backup is recorded as failed."
            } else {
                "Backups are encrypted with TiDB Cloud's escrow key. An automatic backup is taken every day."
            }}</p>
            {move || live.error.get().map(|e| view! {
                <ErrorNotice error=Signal::stored(e) doing="Loading the backups" retry=Callback::new(move |_| live.refresh())/>
            })}
            <CreateBackupForm cluster_id=cluster_id on_created=Callback::new(move |_| live.refresh())/>
            <ActionError error=delete_error id="delete-backup-error" doing="Deleting the backup"/>
            <Show when=move || live.loaded() fallback=move || live.error.with(Option::is_none).then(|| view! { <Loading label="Loading the backups"/> })>
                {move || live.data.get().map(|rows| if rows.is_empty() {
                    view! { <p class="empty" id="no-backups">"No backups yet."</p> }.into_any()
                } else {
                    view! {
                        <BackupTable rows=rows
                            on_restore=Callback::new(move |b| restoring.set(Some(b)))
                            on_delete=Callback::new(move |b| { to_delete.set(Some(b)); confirm_delete.set(true); })/>
                    }.into_any()
                })}
            </Show>
            {move || restoring.get().map(|b| view! { <RestoreForm backup=b cluster=cluster restore=restore on_cancel=Callback::new(move |_| restoring.set(None))/> })}
            <ActionError error=restore_error id="restore-error" doing="Restoring the backup" key_links=true/>
            {move || restored.get().map(|r| view! {
                <p role="status" id="restore-started">"Restoring to a new cluster: "
                    <A href=ctx.path(&format!("clusters/{}", r.cluster_id))>"open it"</A>
                    " (it is created, then available)."</p>
            })}
            <EquivalentRequest command=curl/>
            <ConfirmDialog open=confirm_delete danger=true
                title=Signal::derive(move || format!("Delete backup {}?", to_delete.with(|b| b.as_ref().map(|b| b.name.clone()).unwrap_or_default())))
                body=Signal::derive(|| "The backup is deleted; it can no longer be restored. This cannot be undone.".to_owned())
                confirm_label=Signal::derive(|| "Delete backup".to_owned())
                on_confirm=Callback::new(move |_| {
                    if let Some(b) = to_delete.get_untracked() {
                        delete.dispatch_local(b.id);
                    }
                })/>
        </section>
    }
}

/// Take a manual backup: its name and description, checked by the server's rule first.
#[component]
fn CreateBackupForm(
    #[prop(into)] cluster_id: Signal<String>,
    /// Called once the server accepted the backup.
    on_created: Callback<()>,
) -> impl IntoView {
    let ctx = use_project();
    let api = state::api();
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<String>::new());
    let once = Idempotency::default();
    let create = Action::new_local(move |req: &CreateBackupReq| {
        let (api, pid, cid, req, once) =
            (api.clone(), ctx.id.get_untracked(), cluster_id.get_untracked(), req.clone(), once.clone());
        async move { api.create_backup(&pid, &cid, &req, &once).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            name.set(String::new());
            description.set(String::new());
            on_created.run(());
        }
    });
    let create_error = Signal::derive(move || create.value().get().and_then(Result::err));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let d = description.get_untracked();
        let req = CreateBackupReq {
            name: name.get_untracked().trim().to_owned(),
            description: (!d.trim().is_empty()).then_some(d),
        };
        let found: Vec<String> = check_create_backup(&req).iter().map(|f| f.to_string()).collect();
        errors.set(found.clone());
        if found.is_empty() {
            create.dispatch_local(req);
        }
    };
    view! {
        <form id="create-backup" on:submit=submit novalidate>
            <TextField id="backup-name" label="Backup name" value=name/>
            <TextField id="backup-description" label="Description (optional)" value=description/>
            <ul class="errors" id="backup-errors">{move || errors.get().into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
            <button type="submit" class="btn" id="create-backup-button">"Create backup"</button>
            <Show when=move || create.pending().get()><Loading label="Sending"/></Show>
        </form>
        <ActionError error=create_error id="backup-error" doing="Creating the backup" key_links=true/>
    }
}

/// The backups, newest first, with the key that encrypts each and what can be done with it.
#[component]
fn BackupTable(
    rows: Vec<Row>,
    /// "Restore…" on a backup that is done.
    on_restore: Callback<Backup>,
    /// "Delete" on a backup that is finished.
    on_delete: Callback<Backup>,
) -> impl IntoView {
    view! {
        <table class="list" id="backups">
            <thead><tr>
                <th scope="col">"Name"</th><th scope="col">"Type"</th><th scope="col">"Status"</th>
                <th scope="col">"Taken"</th><th scope="col" class="num">"Size"</th><th scope="col">"Encrypted with"</th><th scope="col">"Actions"</th>
            </tr></thead>
            <tbody>{rows.into_iter().map(|r| {
                let b = r.backup.clone();
                let (b_del, b_res) = (b.clone(), b.clone());
                let done = b.status == TaskStatus::Success;
                let finished = b.status != TaskStatus::Running && b.status != TaskStatus::Pending;
                let key = match r.key.as_ref() {
                    Some(BackupEncryption { kms_arn: Some(arn), .. }) => view! { <code class="arn">{arn.clone()}</code> }.into_any(),
                    Some(_) => view! { <span>"TiDB Cloud's escrow key"</span> }.into_any(),
                    None => view! { <span class="muted">"not reported by this server"</span> }.into_any(),
                };
                let failure = r.key.as_ref().and_then(|k| k.failure.clone());
                view! {
                    <tr data-backup-id=b.id.clone()>
                        <th scope="row">{b.name.clone()}
                            {(!b.description.is_empty()).then(|| view! { <br/><span class="muted">{b.description.clone()}</span> })}
                        </th>
                        <td>{match b.backup_type { cmek_core::backup::BackupType::Auto => "Automatic", cmek_core::backup::BackupType::Manual => "Manual" }}</td>
                        <td class="backup-status">{status_label(b.status)}
                            {failure.map(|f| view! { <br/><span class="failure">{f}</span> })}
                        </td>
                        <td>{b.create_timestamp.replace('T', " ").replace('Z', " UTC")}</td>
                        <td class="num">{size_label(&b.size)}</td>
                        <td class="backup-key">{key}</td>
                        <td>
                            {done.then(|| view! {
                                <button type="button" class="btn restore-backup" on:click=move |_| on_restore.run(b_res.clone())>"Restore…"</button>
                            })}
                            {finished.then(|| view! {
                                <button type="button" class="btn danger delete-backup" on:click=move |_| on_delete.run(b_del.clone())>"Delete"</button>
                            })}
                        </td>
                    </tr>
                }
            }).collect_view()}</tbody>
        </table>
    }
}

/// Restore `backup` to a new cluster: its name and root password, in the backed-up cluster's
/// region (and, in a CMEK project, the key's), with the reason on screen.
#[component]
fn RestoreForm(
    backup: Backup,
    /// The backed-up cluster as last read (its name, port and components).
    cluster: Signal<Option<ClusterItem>>,
    /// Sends the restore (the panel's: its answer is shown once this form has closed).
    restore: Action<CreateRestoreReq, Result<CreateRestoreResp, crate::api::RequestError>>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let ctx = use_project();
    let new_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<String>::new());
    let region = Signal::derive(move || cluster.with(|c| c.as_ref().map(|c| c.region.clone()).unwrap_or_default()));
    let lock_reason = Signal::derive(move || ctx.cmek().unwrap_or(ProjectCmek::NotEnabled).restore_region_locked());
    let backup_id = backup.id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(c) = cluster.get_untracked() else { return };
        let mut found = Vec::new();
        let n = new_name.get_untracked().trim().to_owned();
        if let Err(m) = check_name(&n) {
            found.push(format!("New cluster name: {m}"));
        } else if n == c.name {
            found.push(format!("New cluster name: \"{n}\" is the backed-up cluster's name; choose another"));
        }
        let pw = password.get_untracked();
        if let Err(m) = check_root_password(&pw) {
            found.push(format!("Root password: {m}"));
        }
        errors.set(found.clone());
        if found.is_empty() {
            restore.dispatch_local(CreateRestoreReq {
                backup_id: backup_id.clone(),
                name: n,
                config: CreateClusterConfig {
                    root_password: pw,
                    port: Some(c.config.port),
                    components: c.config.components.clone(),
                    ip_access_list: None,
                },
            });
        }
    };
    view! {
        <form id="restore-form" on:submit=submit novalidate aria-labelledby="restore-title">
            <h4 id="restore-title">{format!("Restore backup \"{}\" to a new cluster", backup.name)}</h4>
            <div class="field">
                <span class="label">"Region"</span>
                <p class="readonly locked" id="restore-region">{region.get()} " " <span class="muted">"— " {lock_reason.get()} "."</span></p>
            </div>
            <TextField id="restore-name" label="New cluster name" value=new_name/>
            <TextField id="restore-password" label="Root password" value=password new_password=true/>
            <p class="help">"The new cluster gets the same components as this one."</p>
            <ul class="errors" id="restore-errors">{move || errors.get().into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
            <button type="submit" class="btn primary" id="restore-button">"Restore to a new cluster"</button>
            <button type="button" class="btn" on:click=move |_| on_cancel.run(())>"Cancel"</button>
            <Show when=move || restore.pending().get()><Loading label="Sending"/></Show>
        </form>
    }
}
