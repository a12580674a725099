//! The frame of every project page: which project, its name and CMEK flag, its configured key
//! (provided to the pages below as `crate::project::ProjectCtx`), and the tabs.

use crate::components::{CmekBadge, ErrorNotice, Loading};
use crate::project::ProjectCtx;
use crate::state;
use leptos::prelude::*;
use leptos_router::components::{A, Outlet};

#[component]
pub fn ProjectLayout() -> impl IntoView {
    let id = crate::route::project_id();
    let api = state::api();
    let a = api.clone();
    let project = LocalResource::new(move || {
        let (api, id) = (a.clone(), id.get());
        async move { api.find_project(&id).await }
    });
    let keys = LocalResource::new(move || {
        let (api, id) = (api.clone(), id.get());
        async move { api.list_aws_cmek(&id).await }
    });
    crate::live::retry_on_failure(project);
    crate::live::retry_on_failure(keys);
    let ctx = ProjectCtx { id, project, keys };
    provide_context(ctx);
    let tab = move |rest: &'static str, label: &'static str| {
        view! { <A href=move || ctx.path(rest)>{label}</A> }
    };
    // The page below mounts at once, hidden until the project is found, so its own requests
    // (the clusters, a cluster, the events) go out together with the project lookup instead of
    // after it (docs/performance.md, load → interactive). It is never re-mounted by a refetch of
    // the project, and is dropped when there is no such project.
    let found = move || ctx.loaded().is_some();
    let missing = move || matches!(project.get(), Some(Ok(None)));
    view! {
        <section class="page">
            {move || match project.get() {
                None => view! { <Loading label="Loading the project"/> }.into_any(),
                Some(Err(e)) => view! {
                    <ErrorNotice error=Signal::stored(e) doing="Loading the project" retry=Callback::new(move |_| project.refetch())/>
                }.into_any(),
                Some(Ok(None)) => view! {
                    <h1>"Project not found"</h1>
                    <p>"There is no project " <code>{id.get()}</code> " in this organisation. " <A href="/">"See all projects"</A> "."</p>
                }.into_any(),
                Some(Ok(Some(p))) => view! {
                    <nav class="crumbs" aria-label="Breadcrumb"><A href="/">"Projects"</A> " › " <span aria-current="page">{p.name.clone()}</span></nav>
                    <div class="page-head">
                        <h1>{p.name.clone()}</h1>
                        <CmekBadge enabled=p.aws_cmek_enabled/>
                    </div>
                    <nav class="tabs" aria-label="Project">
                        {tab("clusters", "Clusters")}
                        {tab("encryption", "Encryption Access")}
                        {p.aws_cmek_enabled.then(|| view! { {tab("revoke", "Revoke access")} {tab("restore", "Restore access")} })}
                        {tab("events", "Events")}
                    </nav>
                }.into_any(),
            }}
            <Show when=move || !missing()>
                <div class="project-page" hidden=move || !found()>
                    <Outlet/>
                </div>
            </Show>
        </section>
    }
}
