//! The project's clusters.

use super::project::use_project;
use crate::components::{ClusterStatusBadge, ErrorNotice, Loading};
use crate::{format, state};
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn ClustersPage() -> impl IntoView {
    let ctx = use_project();
    let api = state::api();
    let clusters = LocalResource::new(move || {
        let (api, id) = (api.clone(), ctx.id.get());
        async move { api.list_clusters(&id, 1, 100).await }
    });
    view! {
        <section aria-labelledby="clusters-title">
            <h2 id="clusters-title">"Clusters"</h2>
            {move || match clusters.get() {
                None => view! { <Loading label="Loading clusters"/> }.into_any(),
                Some(Err(e)) => view! { <ErrorNotice error=Signal::stored(e) doing="Loading the clusters"/> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="list"><tbody>
                    {list.items.into_iter().map(|c| view! {
                        <tr><th scope="row"><A href=ctx.path(&format!("clusters/{}", c.id))>{c.name.clone()}</A></th>
                        <td><ClusterStatusBadge status=c.status.cluster_status/></td>
                        <td>{format::timestamp(&c.create_timestamp)}</td></tr>
                    }).collect_view()}
                    </tbody></table>
                }.into_any(),
            }}
        </section>
    }
}
