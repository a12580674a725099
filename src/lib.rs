//! The CMEK console: a Leptos single-page app over TiDB Cloud API v1beta.
//!
//! Map: `api` (the one typed client) · `app` state shared by pages (`state`) · `components`
//! (small reusable pieces) · `pages` (one file per route). Every rule the forms check comes from
//! `cmek-core`, the crate the server enforces them with.

pub mod api;
pub mod base_path;
pub mod components;
pub mod drafts;
pub mod format;
pub mod interactive;
pub mod lazy_routes;
pub mod live;
pub mod pages;
pub mod project;
pub mod reachability;
pub mod route;
pub mod session;
pub mod state;

use api::Api;
use leptos::prelude::*;
use leptos_router::components::{A, ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, path};
use session::ApiAccess;

/// The whole console. `api` replaces the fetch client (the browser tests pass a fake one).
#[component]
pub fn App(#[prop(optional)] api: Option<Api>) -> impl IntoView {
    let api = api.unwrap_or_else(Api::from_page);
    state::provide(api);
    let access = session::access();
    // The app stays mounted while a session ends, so the page and what was typed survive.
    let show_app = Memo::new(move |_| {
        matches!(access.get(), ApiAccess::SignedIn | ApiAccess::NotNeeded | ApiAccess::SignedOut { ended: true })
    });
    let ended = Memo::new(move |_| access.get() == ApiAccess::SignedOut { ended: true });
    let base = base_path::configured();
    if let Some(b) = base.clone() {
        base_path::keep_links_under(b);
    }
    let arriving = lazy_routes::PageCodeArriving::provide();
    view! {
        <Router base=base.unwrap_or_default()>
            <div class="page-code-bar" data-testid="page-code-arriving" hidden=move || !arriving.any()></div>
            <a class="skip" href="#main">"Skip to content"</a>
            <Show when=move || show_app.get() fallback=move || view! {
                <header class="top"><span class="brand"><span class="brand-mark" aria-hidden="true">"◆"</span>" CMEK Console"</span></header>
                <main id="main" tabindex="-1">
                    {move || match access.get() {
                        ApiAccess::Checking => view! { <section class="page"><components::Loading label="Connecting to the server"/></section> }.into_any(),
                        ApiAccess::Unreachable(e) => view! {
                            <section class="page narrow">
                                <h1>"The server cannot be reached"</h1>
                                <p>{pages::sign_in::unreachable_message(&e)}</p>
                                <button type="button" class="btn" on:click=|_| { let _ = web_sys::window().map(|w| w.location().reload()); }>"Try again"</button>
                            </section>
                        }.into_any(),
                        _ => view! { <pages::sign_in::SignInPage/> }.into_any(),
                    }}
                </main>
            }>
                <SignedInApp ended=ended arriving=arriving/>
            </Show>
            <Show when=move || ended.get()>
                <pages::sign_in::SessionEnded/>
            </Show>
        </Router>
    }
}

/// The console once it may use the API: it stays mounted while a session ends (under the
/// sign-in), so the page and what was typed survive.
#[component]
fn SignedInApp(ended: Memo<bool>, arriving: lazy_routes::PageCodeArriving) -> impl IntoView {
    state::provide_shared();
    view! {
        <Header/>
        <components::GatewayStatus/>
        <main id="main" tabindex="-1" inert=move || ended.get() aria-busy=move || arriving.any().then_some("true")>
            <Routes fallback=|| view! { <pages::NotFound/> }>
                <Route path=path!("/") view=pages::projects::ProjectsPage/>
                <Route path=path!("/sign-in") view=pages::sign_in::SignInPage/>
                <Route path=path!("/projects/new") view={Lazy::<lazy_routes::CreateProject>::new()}/>
                <ParentRoute path=path!("/projects/:project_id") view=pages::project::ProjectLayout>
                    <Route path=path!("") view=pages::clusters::ClustersPage/>
                    <Route path=path!("clusters") view=pages::clusters::ClustersPage/>
                    <Route path=path!("clusters/new") view={Lazy::<lazy_routes::CreateCluster>::new()}/>
                    <Route path=path!("clusters/:cluster_id") view={Lazy::<lazy_routes::ClusterDetail>::new()}/>
                    <Route path=path!("encryption") view={Lazy::<lazy_routes::EncryptionAccess>::new()}/>
                    <Route path=path!("encryption/create") view={Lazy::<lazy_routes::CreateKey>::new()}/>
                    <Route path=path!("encryption/check") view={Lazy::<lazy_routes::PolicyChecker>::new()}/>
                    <Route path=path!("revoke") view={Lazy::<lazy_routes::Revoke>::new()}/>
                    <Route path=path!("restore") view={Lazy::<lazy_routes::Restore>::new()}/>
                    <Route path=path!("events") view={Lazy::<lazy_routes::Events>::new()}/>
                </ParentRoute>
                <Route path=path!("/sandbox-kms") view={Lazy::<lazy_routes::SandboxKms>::new()}/>
                <Route path=path!("/sandbox-kms/:key_id") view={Lazy::<lazy_routes::SandboxKey>::new()}/>
            </Routes>
        </main>
    }
}

#[component]
fn Header() -> impl IntoView {
    let info = state::server_info();
    let sandbox = move || matches!(info.get(), Some(Ok(Some(i))) if i.kms == cmek_core::ext::KmsBackend::Sandbox);
    view! {
        <header class="top">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"◆"</span>
                " CMEK Console"
            </A>
            <nav aria-label="Main">
                <A href="/" exact=true>"Projects"</A>
                <Show when=sandbox>
                    <A href="/sandbox-kms">"Sandbox KMS"</A>
                </Show>
            </nav>
            <pages::sign_in::SignOutButton/>
        </header>
    }
}
