use super::ClusterStatusBadge;
use crate::format;
use cmek_core::api::{CloudProvider, ClusterItem, ClusterStatus, ClusterType};
use leptos::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One row. What v1beta cannot change about a cluster (name, type, provider, region, creation
/// time) is rendered once; the status, which polls do change, is a signal of its own, so a poll
/// that changes one cluster's status updates that row's status cells and nothing else.
///
/// The signal is reference-counted, not owned by the effect that creates it: an effect disposes
/// what it created when it runs again, so an owned signal would be gone at the next poll.
struct RowData {
    /// For's key: new whenever a row is built, so a cluster whose fixed fields differ from what
    /// is on screen (which the API never does) gets a fresh row rather than a stale one.
    key: u64,
    id: String,
    name: String,
    cluster_type: ClusterType,
    cloud_provider: CloudProvider,
    region: String,
    create_timestamp: String,
    status: ArcRwSignal<ClusterStatus>,
}

type Row = Arc<RowData>;

impl RowData {
    fn new(c: &ClusterItem) -> Row {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Arc::new(RowData {
            key: NEXT.fetch_add(1, Ordering::Relaxed),
            id: c.id.clone(),
            name: c.name.clone(),
            cluster_type: c.cluster_type,
            cloud_provider: c.cloud_provider,
            region: c.region.clone(),
            create_timestamp: c.create_timestamp.clone(),
            status: ArcRwSignal::new(c.status.cluster_status),
        })
    }

    /// Whether the row shows `c` once its status is set.
    fn fits(&self, c: &ClusterItem) -> bool {
        self.id == c.id
            && self.name == c.name
            && self.cluster_type == c.cluster_type
            && self.cloud_provider == c.cloud_provider
            && self.region == c.region
            && self.create_timestamp == c.create_timestamp
    }

    fn set_status(&self, c: &ClusterItem) {
        let s = c.status.cluster_status;
        if self.status.get_untracked() != s {
            self.status.set(s);
        }
    }
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
    // Reads the list in place and compares only what a row shows (a poll of a large project
    // changes a few rows of many).
    Effect::new(move |_| {
        items.with(|fresh| {
            let same =
                rows.with_untracked(|old| old.len() == fresh.len() && old.iter().zip(fresh).all(|(r, c)| r.fits(c)));
            if same {
                rows.with_untracked(|old| old.iter().zip(fresh).for_each(|(r, c)| r.set_status(c)));
                return;
            }
            let next: Vec<Row> = rows.with_untracked(|old| {
                let mut by_id: HashMap<&str, &Row> = old.iter().map(|r| (r.id.as_str(), r)).collect();
                fresh
                    .iter()
                    .map(|c| match by_id.remove(c.id.as_str()) {
                        Some(r) if r.fits(c) => {
                            r.set_status(c);
                            r.clone()
                        }
                        _ => RowData::new(c),
                    })
                    .collect()
            });
            rows.set(next);
        })
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
                <For each=move || rows.get() key=|r| r.key let:row>
                    <ClusterRow row=row href=href/>
                </For>
            </tbody>
        </table>
    }
}

#[component]
fn ClusterRow(row: Row, href: Option<Callback<String, String>>) -> impl IntoView {
    let status: RwSignal<ClusterStatus> = row.status.clone().into();
    let name = row.name.clone();
    // A plain link: the router follows it without a reload (it handles every same-origin <a>),
    // and a row needs none of <A>'s active-link tracking, which costs a memo and a subscription
    // to the location per row.
    view! {
        <tr data-cluster-id=row.id.clone() data-status=move || status.get().as_str()>
            <th scope="row">{match href {
                Some(h) => view! { <a href=h.run(row.id.clone())>{name}</a> }.into_any(),
                None => name.into_any(),
            }}</th>
            <td data-label="Type">{row.cluster_type.label()}</td>
            <td data-label="Provider">{row.cloud_provider.as_str()}</td>
            <td data-label="Region">{cmek_core::region::label(&row.region)}</td>
            <td><ClusterStatusBadge status=status/></td>
            <td data-label="Created">{format::timestamp(&row.create_timestamp)}</td>
        </tr>
    }
}

/// Whether any cluster is in a status that changes by itself (poll faster then).
pub fn any_transitional(items: &[ClusterItem]) -> bool {
    items.iter().any(|c| c.status.cluster_status.is_transitional() || c.status.cluster_status == ClusterStatus::Unknown)
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    //! Polls, as the clusters page makes them: the same rows, updated in place, poll after poll.
    use super::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    fn cluster(id: &str, status: &str) -> ClusterItem {
        serde_json::from_value(serde_json::json!({
            "id": id, "project_id": "1", "name": format!("c-{id}"),
            "cluster_type": "DEDICATED", "cloud_provider": "AWS", "region": "us-west-2",
            "create_timestamp": "1795833200", "config": {"port": 4000},
            "status": {"tidb_version": "v8.5.0", "cluster_status": status}
        }))
        .expect("a cluster")
    }

    /// Lets the effects run.
    async fn tick() {
        let p = js_sys::Promise::new(&mut |resolve, _| {
            web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0).unwrap();
        });
        wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
    }

    fn rows(root: &web_sys::Element) -> Vec<web_sys::Element> {
        let list = root.query_selector_all("tbody tr").unwrap();
        (0..list.length()).filter_map(|i| list.item(i)).map(|n| n.unchecked_into()).collect()
    }

    #[wasm_bindgen_test]
    async fn polls_update_the_same_rows_again_and_again() {
        let document = web_sys::window().unwrap().document().unwrap();
        let root = document.create_element("div").unwrap();
        document.body().unwrap().append_child(&root).unwrap();
        let items = RwSignal::new(vec![cluster("1", "AVAILABLE"), cluster("2", "AVAILABLE")]);
        let href = Callback::new(|id: String| format!("/projects/1/clusters/{id}"));
        let _mounted = leptos::mount::mount_to(
            root.clone().unchecked_into(),
            move || view! { <ClusterTable items=items href=href/> },
        );
        tick().await;
        let first = rows(&root);
        assert_eq!(first.len(), 2);
        assert_eq!(
            first[1].query_selector("a").unwrap().unwrap().get_attribute("href").unwrap(),
            "/projects/1/clusters/2"
        );
        // Each poll is a fresh list; the effect that diffs it runs again every time.
        for status in ["PAUSING", "PAUSED", "RESUMING", "AVAILABLE", "PAUSING"] {
            items.set(vec![cluster("1", "AVAILABLE"), cluster("2", status)]);
            tick().await;
            let now = rows(&root);
            assert!(now[1].is_same_node(Some(&first[1])), "the row of cluster 2 is kept");
            assert_eq!(now[1].get_attribute("data-status").as_deref(), Some(status));
            assert!(now[1].text_content().unwrap().contains(ClusterStatus::Pausing.label()) == (status == "PAUSING"));
            assert_eq!(now[0].get_attribute("data-status").as_deref(), Some("AVAILABLE"));
        }
        // A cluster gone, one new: the kept row is the same node, in its new place.
        items.set(vec![cluster("2", "PAUSED"), cluster("3", "CREATING")]);
        tick().await;
        let now = rows(&root);
        let ids: Vec<_> = now.iter().map(|r| r.get_attribute("data-cluster-id").unwrap()).collect();
        assert_eq!(ids, ["2", "3"]);
        assert!(now[0].is_same_node(Some(&first[1])));
        assert_eq!(now[0].get_attribute("data-status").as_deref(), Some("PAUSED"));
        root.remove();
    }
}
