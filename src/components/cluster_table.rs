use super::ClusterStatusBadge;
use crate::format;
use cmek_core::api::{ClusterItem, ClusterStatus};
use leptos::prelude::*;
use leptos_router::components::A;

/// One row: the cluster as last seen, in its own signal, so a poll that changes one cluster's
/// status re-renders that row's cells and nothing else.
#[derive(Clone)]
struct Row {
    id: String,
    item: RwSignal<ClusterItem>,
}

/// The clusters table: keyed rows, updated in place. `items` may be replaced wholesale (each
/// poll); rows whose cluster did not change are left alone.
#[component]
pub fn ClusterTable(
    /// The clusters to show, in order.
    #[prop(into)]
    items: Signal<Vec<ClusterItem>>,
    /// Where a cluster's name links to, from its id (no link when `None`).
    #[prop(optional, into)]
    href: Option<Callback<String, String>>,
) -> impl IntoView {
    let rows = RwSignal::new(Vec::<Row>::new());
    Effect::new(move |_| {
        let fresh = items.get();
        let mut changed_set = false;
        let next: Vec<Row> = rows.with_untracked(|old| {
            let same_ids = old.len() == fresh.len() && old.iter().zip(&fresh).all(|(r, c)| r.id == c.id);
            if same_ids {
                for (r, c) in old.iter().zip(fresh) {
                    if r.item.with_untracked(|cur| *cur != c) {
                        r.item.set(c);
                    }
                }
                return Vec::new();
            }
            changed_set = true;
            let mut by_id: std::collections::HashMap<&str, &Row> = old.iter().map(|r| (r.id.as_str(), r)).collect();
            fresh
                .into_iter()
                .map(|c| match by_id.remove(c.id.as_str()) {
                    Some(r) => {
                        if r.item.with_untracked(|cur| *cur != c) {
                            r.item.set(c);
                        }
                        r.clone()
                    }
                    None => Row { id: c.id.clone(), item: RwSignal::new(c) },
                })
                .collect()
        });
        if changed_set {
            rows.set(next);
        }
    });
    view! {
        <table class="list clusters">
            <caption class="sr-only">"Clusters"</caption>
            <thead><tr>
                <th scope="col">"Name"</th>
                <th scope="col">"Type"</th>
                <th scope="col">"Provider"</th>
                <th scope="col">"Region"</th>
                <th scope="col">"Status"</th>
                <th scope="col">"Created"</th>
            </tr></thead>
            <tbody>
                <For each=move || rows.get() key=|r| r.id.clone() let:row>
                    <ClusterRow item=row.item href=href/>
                </For>
            </tbody>
        </table>
    }
}

#[component]
fn ClusterRow(item: RwSignal<ClusterItem>, href: Option<Callback<String, String>>) -> impl IntoView {
    let id = item.with_untracked(|c| c.id.clone());
    let name = move || item.with(|c| c.name.clone());
    let status = Signal::derive(move || item.with(|c| c.status.cluster_status));
    view! {
        <tr data-cluster-id=id.clone() data-status=move || status.get().as_str()>
            <th scope="row">{match href {
                Some(h) => view! { <A href=h.run(id.clone())>{name}</A> }.into_any(),
                None => name.into_any(),
            }}</th>
            <td>{move || item.with(|c| c.cluster_type.label())}</td>
            <td>{move || item.with(|c| c.cloud_provider.as_str())}</td>
            <td>{move || item.with(|c| c.region.clone())}</td>
            <td><ClusterStatusBadge status=status/></td>
            <td>{move || item.with(|c| format::timestamp(&c.create_timestamp))}</td>
        </tr>
    }
}

/// Whether any cluster is in a status that changes by itself (poll faster then).
pub fn any_transitional(items: &[ClusterItem]) -> bool {
    items.iter().any(|c| c.status.cluster_status.is_transitional() || c.status.cluster_status == ClusterStatus::Unknown)
}
