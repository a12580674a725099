use leptos::prelude::*;

#[component]
pub fn ClusterDetailPage() -> impl IntoView {
    view! { <p>"Cluster"</p> }
}
