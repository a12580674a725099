use leptos::prelude::*;

#[component]
pub fn CreateClusterPage() -> impl IntoView {
    view! { <p>"Create cluster"</p> }
}
