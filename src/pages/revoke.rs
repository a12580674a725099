use leptos::prelude::*;

#[component]
pub fn RevokePage() -> impl IntoView {
    view! { <p>"Revoke"</p> }
}

#[component]
pub fn RestorePage() -> impl IntoView {
    view! { <p>"Restore"</p> }
}
