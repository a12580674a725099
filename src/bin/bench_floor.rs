//! Benchmark entry, not part of the console: the floor of this stack for the console's two first
//! screens, for `scripts/bench` (built by trunk from `bench/floor/index.html`). It is the least a
//! Leptos CSR page can do to show what those pages show: a router, one route, the first page of
//! projects (or of a project's clusters, `?project=ID`, in the console's own `ClusterTable`)
//! from an answer `bench/floor/early.js` asked for while the wasm loaded — and nothing else: no
//! session check, shell, catalog or error handling. What the console spends beyond it is the
//! console's; what the floor spends beyond the static page is the stack's
//! (docs/performance.md, Load → interactive).

use cmek_console::components::ClusterTable;
use cmek_core::api::{ListClustersResp, ListProjectsResp};
use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The body `early.js` keeps in `window.floorEarly`, decoded.
async fn early<T: DeserializeOwned>() -> Option<T> {
    let early = js_sys::Reflect::get(&web_sys::window()?.into(), &"floorEarly".into()).ok()?;
    let text = JsFuture::from(early.dyn_into::<js_sys::Promise>().ok()?).await.ok()?.as_string()?;
    serde_json::from_str(&text).ok()
}

fn mark(name: &str) {
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark(name);
    }
}

/// The benchmark's mark, at the first frame after the data is on screen (as the console's).
fn mark_interactive() {
    request_animation_frame(|| mark("cmek:interactive"));
}

fn project_param() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    search.trim_start_matches('?').split('&').find_map(|kv| kv.strip_prefix("project=")).map(str::to_owned)
}

#[component]
fn Projects() -> impl IntoView {
    let list = LocalResource::new(early::<ListProjectsResp>);
    move || {
        list.get().flatten().map(|list| {
            mark_interactive();
            view! {
                <table class="list">
                    <thead><tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Encryption at rest"</th>
                        <th scope="col" class="num">"Clusters"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col"></th>
                    </tr></thead>
                    <tbody>
                        {list.items.into_iter().map(|p| view! {
                            <tr>
                                <th scope="row"><A href=format!("/projects/{}/clusters", p.id)>{p.name}</A></th>
                                <td>{if p.aws_cmek_enabled { "CMEK" } else { "Default" }}</td>
                                <td class="num">{p.cluster_count}</td>
                                <td>{p.create_timestamp}</td>
                                <td><A href=format!("/projects/{}/encryption", p.id)>"Encryption Access"</A></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
        })
    }
}

#[component]
fn Clusters(project: String) -> impl IntoView {
    let list = LocalResource::new(early::<ListClustersResp>);
    let items = Signal::derive(move || list.get().flatten().map(|l| l.items).unwrap_or_default());
    Effect::new(move |_| {
        if list.get().flatten().is_some() {
            mark_interactive();
        }
    });
    let href = Callback::new(move |id: String| format!("/projects/{project}/clusters/{id}"));
    view! { <ClusterTable items=items href=href/> }
}

fn main() {
    mark("cmek:start");
    leptos::mount::mount_to_body(|| {
        let page = move || match project_param() {
            Some(project) => view! { <h1>"Clusters"</h1><Clusters project=project/> }.into_any(),
            None => view! { <h1>"Projects"</h1><Projects/> }.into_any(),
        };
        view! {
            <Router>
                <main class="page">
                    <Routes fallback=|| "Not found">
                        <Route path=path!("/*any") view=page/>
                    </Routes>
                </main>
            </Router>
        }
    });
}
