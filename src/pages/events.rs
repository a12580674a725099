use leptos::prelude::*;

#[component]
pub fn EventsPage() -> impl IntoView {
    view! { <p>"Events"</p> }
}
