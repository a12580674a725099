//! The organisation's projects, and creating one (with or without CMEK, fixed for its life).

use crate::api::RequestError;
use crate::components::{
    ActionError, Button, ButtonKind, CmekBadge, EquivalentRequest, ErrorNotice, Loading, Pager, focus, post_curl,
};
use crate::interactive::mark_interactive;
use crate::route::page_param;
use crate::{format, state};
use cmek_core::api::{CreateProjectReq, ListProjectsResp};
use cmek_core::cmek::check_project_name;
use leptos::html::Input;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

const PAGE_SIZE: i64 = 10;

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let api = state::api();
    let page = page_param();
    let projects: LocalResource<Result<ListProjectsResp, RequestError>> = LocalResource::new(move || {
        let (api, p) = (api.clone(), page.get());
        async move { api.list_projects(p, PAGE_SIZE).await }
    });
    crate::live::retry_on_failure(projects);
    let navigate = use_navigate();
    let to_page = Callback::new(move |p: i64| navigate(&format!("/?page={p}"), Default::default()));
    view! {
        <section class="page">
            <div class="page-head">
                <h1>"Projects"</h1>
                <A href="/projects/new" attr:class="btn primary">"Create project"</A>
            </div>
            {move || match projects.get() {
                None => view! { <Loading label="Loading projects"/> }.into_any(),
                Some(Err(e)) => view! {
                    <ErrorNotice error=Signal::stored(e) doing="Loading the projects" retry=Callback::new(move |_| projects.refetch())/>
                }.into_any(),
                Some(Ok(list)) if list.items.is_empty() && list.total == 0 => view! {
                    <div class="empty">
                        <p>"No projects yet."</p>
                        <p>"Create one. Choose Customer-Managed Encryption Key when you create it: it cannot be turned on later."</p>
                    </div>
                }.into_any(),
                Some(Ok(list)) => {
                    let total = list.total;
                    let view = view! {
                        <table class="list">
                            <caption class="sr-only">"Projects"</caption>
                            <thead><tr>
                                <th scope="col">"Name"</th>
                                <th scope="col">"Encryption at rest"</th>
                                <th scope="col" class="num">"Clusters"</th>
                                <th scope="col">"Created"</th>
                                <th scope="col"><span class="sr-only">"Actions"</span></th>
                            </tr></thead>
                            <tbody>
                                {list.items.into_iter().map(|p| {
                                    let clusters = format!("/projects/{}/clusters", p.id);
                                    let encryption = format!("/projects/{}/encryption", p.id);
                                    view! {
                                        <tr data-project-id=p.id.clone()>
                                            <th scope="row"><A href=clusters>{p.name.clone()}</A></th>
                                            <td><CmekBadge enabled=p.aws_cmek_enabled/></td>
                                            <td class="num" data-label="Clusters">{p.cluster_count}</td>
                                            <td data-label="Created">{format::timestamp(&p.create_timestamp)}</td>
                                            <td><A href=encryption>"Encryption Access"</A></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Pager page=page total=Signal::stored(total) page_size=PAGE_SIZE noun=crate::format::PROJECT on_change=to_page/>
                    };
                    request_animation_frame(mark_interactive);
                    view.into_any()
                }
            }}
        </section>
    }
}

#[component]
pub fn CreateProjectPage() -> impl IntoView {
    let api = state::api();
    let name = RwSignal::new(String::new());
    // Off by default: turning it on can never be undone (the reversible side is the default).
    let cmek = RwSignal::new(false);
    let name_error = RwSignal::new(None::<String>);
    let name_input = NodeRef::<Input>::new();
    let navigate = use_navigate();
    let request = move || CreateProjectReq { name: name.get(), aws_cmek_enabled: Some(cmek.get()) };
    // The form's idempotency keys: a retry after a timeout cannot create twice, and a retry after
    // a refusal (the cause fixed meanwhile) is checked anew.
    let once = crate::api::Idempotency::default();
    let create = Action::new_local(move |req: &CreateProjectReq| {
        let (api, req) = (api.clone(), req.clone());
        let once = once.clone();
        async move { api.create_project(&req, &once).await.map(|r| (r.id, req.aws_cmek_enabled == Some(true))) }
    });
    let failed = Signal::derive(move || create.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok((id, with_cmek))) = create.value().get() {
            // As the user guide says: a CMEK project goes straight to its Encryption Access page.
            let to = if with_cmek { format!("/projects/{id}/encryption") } else { format!("/projects/{id}/clusters") };
            navigate(&to, Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(e) = failed.get()
            && let Some(f) = e.field_errors().into_iter().find(|f| f.field == "name")
        {
            name_error.set(Some(format::field_sentence("Project name", &f.message)));
        }
    });
    let check = move || {
        name_error
            .set(check_project_name(&name.get()).err().map(|f| format::field_sentence("Project name", &f.message)))
    };
    let submit = move || {
        // Running, or done and leaving the page: a second click must not send a second create.
        if create.pending().get_untracked() || matches!(create.value().get_untracked(), Some(Ok(_))) {
            return;
        }
        check();
        if name_error.get_untracked().is_some() {
            return focus(name_input);
        }
        create.dispatch_local(request());
    };
    let curl = post_curl(|| "/api/v1beta/projects".to_owned(), request);
    view! {
        <section class="page narrow">
            <nav class="crumbs" aria-label="Breadcrumb"><A href="/">"Projects"</A> " › " <span aria-current="page">"Create project"</span></nav>
            <h1>"Create project"</h1>
            <form novalidate on:submit=move |ev| { ev.prevent_default(); submit(); }>
                <div class="field">
                    <label for="project-name">"Project name"</label>
                    <input id="project-name" type="text" node_ref=name_input bind:value=name autocomplete="off"
                        aria-invalid=move || name_error.with(Option::is_some).then_some("true")
                        aria-describedby="project-name-error"
                        on:blur=move |_| check()
                        on:input=move |_| if name_error.with_untracked(Option::is_some) { check() }/>
                    <p id="project-name-error" class="field-error">{move || name_error.get()}</p>
                </div>
                <div class="field switch-field">
                    <label class="switch">
                        <input type="checkbox" role="switch" id="project-cmek" bind:checked=cmek aria-describedby="cmek-help"/>
                        <span>"Customer-Managed Encryption Key (CMEK)"</span>
                    </label>
                    <div id="cmek-help" class="help">
                        <p>"Encrypt the data at rest of every cluster in this project, and their backups, with a key you control in AWS KMS."</p>
                        <p class="warn"><strong>"This is fixed when the project is created."</strong>
                            " CMEK cannot be turned on for an existing project, nor turned off later."</p>
                        <p id="cmek-locks-in">"Turning it on locks this project, for good, to:"</p>
                        <ul class="locks-in" aria-labelledby="cmek-locks-in">
                            <li>"TiDB Cloud Dedicated clusters only (no Serverless),"</li>
                            <li>"AWS only,"</li>
                            <li>"the one region of the key, which you choose next and cannot change."</li>
                        </ul>
                        <p id="cmek-choice">{move || if cmek.get() {
                            "With CMEK: you configure the key next, before creating clusters."
                        } else {
                            "Without CMEK: TiDB Cloud encrypts data at rest with its own escrow key; clusters may use any tier, cloud and region."
                        }}</p>
                    </div>
                </div>
                <ActionError error=failed doing="Creating the project"/>
                <div class="actions">
                    <Button submit=true kind=ButtonKind::Primary pending=create.pending() id="create-project">"Create project"</Button>
                    <A href="/" attr:class="btn">"Cancel"</A>
                </div>
            </form>
            <EquivalentRequest command=curl/>
        </section>
    }
}
