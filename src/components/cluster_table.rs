//! The clusters table, the one part of the console that writes its DOM by hand. A project may
//! hold thousands of clusters and the page polls them: rows are cloned from one `<template>`
//! and a poll touches only the status of the rows whose status changed — no owner, signal,
//! effect or view per row. The Leptos version (a `<For>` of row views, each with its effects)
//! spent three times the script time of hand-written DOM code on a 10,000-row first render,
//! most of it crossing into JS once per element, attribute and text (docs/performance.md).

use super::status::badge_look;
use crate::format;
use cmek_core::api::{CloudProvider, ClusterItem, ClusterStatus, ClusterType};
use leptos::prelude::*;
use std::collections::HashMap;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlTemplateElement, Node};

/// The markup of one row; its cells are filled per cluster. The badge's class, icon and label
/// are [`badge_look`]'s, as `ClusterStatusBadge` shows them elsewhere.
const ROW_HTML: &str = concat!(
    r#"<tr><th scope="row"><a></a></th><td data-label="Type"></td><td data-label="Provider"></td>"#,
    r#"<td data-label="Region"></td><td><span><span class="icon" aria-hidden="true"> </span> </span></td>"#,
    r#"<td data-label="Created"></td></tr>"#,
);

/// One row on screen: what it shows that never changes (to tell whether a cluster in a fresh
/// list is still the one shown) and the nodes a status change touches.
struct Row {
    id: String,
    name: String,
    cluster_type: ClusterType,
    cloud_provider: CloudProvider,
    region: String,
    create_timestamp: String,
    status: Option<ClusterStatus>,
    tr: Element,
    badge: Element,
    icon: Node,
    label: Node,
}

impl Row {
    /// A new row for `c`, from the template (`None` if the DOM is not as the template says, which
    /// only a broken browser would do).
    fn build(c: &ClusterItem, template: &Element, href: &str) -> Option<Row> {
        let tr: Element = template.clone_node_with_deep(true).ok()?.dyn_into().ok()?;
        let th = tr.first_element_child()?;
        let link = th.first_element_child()?;
        let kind = th.next_element_sibling()?;
        let provider = kind.next_element_sibling()?;
        let region = provider.next_element_sibling()?;
        let status = region.next_element_sibling()?;
        let created = status.next_element_sibling()?;
        let badge = status.first_element_child()?;
        let icon = badge.first_element_child()?.first_child()?;
        let label = badge.last_child()?;
        let _ = tr.set_attribute("data-cluster-id", &c.id);
        let _ = link.set_attribute("href", href);
        link.set_text_content(Some(&c.name));
        kind.set_text_content(Some(c.cluster_type.label()));
        provider.set_text_content(Some(c.cloud_provider.as_str()));
        region.set_text_content(Some(&cmek_core::region::label(&c.region)));
        created.set_text_content(Some(&format::timestamp(&c.create_timestamp)));
        let mut row = Row {
            id: c.id.clone(),
            name: c.name.clone(),
            cluster_type: c.cluster_type,
            cloud_provider: c.cloud_provider,
            region: c.region.clone(),
            create_timestamp: c.create_timestamp.clone(),
            status: None,
            tr,
            badge,
            icon,
            label,
        };
        row.show_status(c.status.cluster_status);
        Some(row)
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

    /// Shows `s`; nothing is touched when it is already shown.
    fn show_status(&mut self, s: ClusterStatus) {
        if self.status == Some(s) {
            return;
        }
        let (class, icon) = badge_look(s);
        let _ = self.tr.set_attribute("data-status", s.as_str());
        self.badge.set_class_name(class);
        self.icon.set_node_value(Some(icon));
        self.label.set_node_value(Some(s.label()));
        self.status = Some(s);
    }
}

/// Makes the rows of `body` show `fresh`, in order: rows of clusters still there are kept (their
/// status updated), new clusters get new rows, rows of clusters gone are removed.
fn show(
    document: &Document,
    body: &Element,
    template: &Element,
    rows: &mut Vec<Row>,
    fresh: &[ClusterItem],
    href: Callback<String, String>,
) {
    if rows.len() == fresh.len() && rows.iter().zip(fresh).all(|(r, c)| r.fits(c)) {
        rows.iter_mut().zip(fresh).for_each(|(r, c)| r.show_status(c.status.cluster_status));
        return;
    }
    let mut old: HashMap<String, Row> = HashMap::with_capacity(rows.len());
    for r in rows.drain(..) {
        // Two rows of one id (a list that named a cluster twice): only one can be kept.
        if let Some(twin) = old.insert(r.id.clone(), r) {
            twin.tr.remove();
        }
    }
    for c in fresh {
        let kept = match old.remove(&c.id) {
            Some(mut r) if r.fits(c) => {
                r.show_status(c.status.cluster_status);
                Some(r)
            }
            Some(stale) => {
                stale.tr.remove();
                None
            }
            None => None,
        };
        if let Some(r) = kept.or_else(|| Row::build(c, template, &href.run(c.id.clone()))) {
            rows.push(r);
        }
    }
    for gone in old.into_values() {
        gone.tr.remove();
    }
    // In order, in one insertion: kept rows move, new ones arrive.
    let all = document.create_document_fragment();
    for r in rows.iter() {
        let _ = all.append_child(&r.tr);
    }
    let _ = body.append_child(&all);
}

/// The row template's `<tr>`, parsed once per page.
fn row_template(document: &Document) -> Option<Element> {
    thread_local! { static ROW: std::cell::OnceCell<Option<Element>> = const { std::cell::OnceCell::new() }; }
    ROW.with(|row| {
        row.get_or_init(|| {
            let t: HtmlTemplateElement = document.create_element("template").ok()?.dyn_into().ok()?;
            t.set_inner_html(ROW_HTML);
            t.content().first_element_child()
        })
        .clone()
    })
}

/// The clusters table: keyed rows, updated in place. `items` may be replaced wholesale (each
/// poll); rows whose cluster did not change are left alone, and a changed status touches only
/// its row's status.
#[component]
pub fn ClusterTable(
    /// The clusters to show, in order.
    #[prop(into)]
    items: Signal<Vec<ClusterItem>>,
    /// Where a cluster's name links to, from its id.
    href: Callback<String, String>,
) -> impl IntoView {
    let body = NodeRef::<leptos::html::Tbody>::new();
    let rows = StoredValue::new_local(Vec::<Row>::new());
    // Runs once the table is mounted, then at every new list.
    Effect::new(move |_| {
        let (Some(body), Some(document)) = (body.get(), web_sys::window().and_then(|w| w.document())) else {
            return;
        };
        let Some(template) = row_template(&document) else { return };
        // A page that renders its table again gets the same <tbody> back, reused in place, with
        // the rows of the table before it: this table owns what is in it from its first list.
        if rows.with_value(Vec::is_empty) {
            body.set_text_content(None);
        }
        items.with(|fresh| rows.update_value(|rows| show(&document, &body, &template, rows, fresh, href)));
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
            <tbody node_ref=body></tbody>
        </table>
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
    use crate::components::ClusterStatusBadge;
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

    /// A fresh element in the document to mount into.
    fn new_root() -> web_sys::Element {
        let document = web_sys::window().unwrap().document().unwrap();
        let root = document.create_element("div").unwrap();
        document.body().unwrap().append_child(&root).unwrap();
        root
    }

    #[wasm_bindgen_test]
    async fn polls_update_the_same_rows_again_and_again() {
        let root = new_root();
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
        // A cluster whose fixed fields differ from its row's (which v1beta never does) gets a
        // fresh row; a name with markup is text.
        let mut renamed = cluster("2", "PAUSED");
        renamed.name = "<img src=x onerror=alert(1)>".into();
        items.set(vec![renamed, cluster("3", "CREATING")]);
        tick().await;
        let now = rows(&root);
        assert!(!now[0].is_same_node(Some(&first[1])), "a row that no longer fits is rebuilt");
        assert_eq!(
            now[0].query_selector("a").unwrap().unwrap().text_content().unwrap(),
            "<img src=x onerror=alert(1)>"
        );
        assert!(root.query_selector("img").unwrap().is_none());
        // A list that names a cluster twice shows it twice; the next list, once.
        items.set(vec![cluster("3", "CREATING"), cluster("3", "CREATING")]);
        tick().await;
        assert_eq!(rows(&root).len(), 2);
        items.set(vec![cluster("3", "AVAILABLE")]);
        tick().await;
        assert_eq!(rows(&root).len(), 1, "no row of the twin is left behind");
        items.set(vec![]);
        tick().await;
        assert!(rows(&root).is_empty(), "rows of clusters gone are removed");
        root.remove();
    }

    /// A page that renders its table again (the revoke page does, at every poll) gets the same
    /// `<tbody>` back, reused in place: the new table shows each cluster once and follows the
    /// statuses.
    #[wasm_bindgen_test]
    async fn a_table_rendered_again_in_place_shows_each_cluster_once() {
        let root = new_root();
        let items = RwSignal::new(vec![cluster("1", "AVAILABLE"), cluster("2", "AVAILABLE")]);
        let again = RwSignal::new(0);
        let href = Callback::new(|id: String| format!("/c/{id}"));
        let _mounted = leptos::mount::mount_to(root.clone().unchecked_into(), move || {
            view! {{move || {
                again.track();
                view! { <ClusterTable items=items href=href/> }.into_any()
            }}}
        });
        tick().await;
        assert_eq!(rows(&root).len(), 2);
        for n in 1..4 {
            again.set(n);
            items.set(vec![cluster("1", "PAUSING"), cluster("2", if n % 2 == 0 { "PAUSED" } else { "PAUSING" })]);
            tick().await;
            let now = rows(&root);
            let shown: Vec<_> = now.iter().map(|r| r.get_attribute("data-status").unwrap_or_default()).collect();
            let want = if n % 2 == 0 { ["PAUSING", "PAUSED"] } else { ["PAUSING", "PAUSING"] };
            assert_eq!(shown, want, "render {n}: each cluster once, with its status");
        }
        root.remove();
    }

    /// The table writes its badges by hand: they are the badges `ClusterStatusBadge` renders.
    #[wasm_bindgen_test]
    async fn the_table_shows_each_status_as_the_status_badge_does() {
        let statuses =
            ["AVAILABLE", "PAUSED", "UNAVAILABLE", "CREATING", "MODIFYING", "RESUMING", "PAUSING", "SOMETHING_NEW"];
        let root = new_root();
        let list: Vec<ClusterItem> = statuses.iter().enumerate().map(|(i, s)| cluster(&i.to_string(), s)).collect();
        let parsed: Vec<ClusterStatus> = list.iter().map(|c| c.status.cluster_status).collect();
        let items = RwSignal::new(list);
        let href = Callback::new(|id: String| format!("/c/{id}"));
        let _table = leptos::mount::mount_to(
            root.clone().unchecked_into(),
            move || view! { <ClusterTable items=items href=href/> },
        );
        let badges = new_root();
        let _badges = leptos::mount::mount_to(badges.clone().unchecked_into(), move || {
            parsed.iter().map(|s| view! { <div><ClusterStatusBadge status=Signal::stored(*s)/></div> }).collect_view()
        });
        tick().await;
        let table = rows(&root);
        assert_eq!(table.len(), statuses.len());
        let shown = badges.children();
        for (i, tr) in table.iter().enumerate() {
            let in_table = tr.query_selector("td:nth-of-type(4) > span").unwrap().expect("a badge").outer_html();
            // Leptos marks where its text nodes meet with empty comments; the look is the same.
            let alone =
                shown.item(i as u32).unwrap().first_element_child().unwrap().outer_html().replace("<!---->", "");
            assert_eq!(in_table, alone, "{}", statuses[i]);
        }
        root.remove();
        badges.remove();
    }
}
