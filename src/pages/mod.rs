//! One module per route (`cluster_detail/` holds its backups panel). Pages import components,
//! state and the API, never another page (crates/tidy/tests/console.rs checks it).

pub mod checker;
pub mod cluster_create;
pub mod cluster_detail;
pub mod clusters;
pub mod encryption;
pub mod events;
pub mod project;
pub mod projects;
pub mod revoke;
pub mod sandbox;
pub mod sign_in;

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <A href="/">"Go to the projects"</A> "."</p>
        </section>
    }
}
