//! The routes whose code is fetched when first needed (docs/performance.md, "A wasm per route").
//!
//! The first screens (projects, a project's clusters, sign-in) are in the main wasm; every other
//! page is a split point. With the `split` feature (set by index.html for trunk's builds, whose
//! `scripts/split-wasm` step does the splitting) the pages below go, with the code only they use,
//! into one more wasm, which the console fetches while idle once its first screen is up
//! (`prefetch`), or at the latest when one of them is opened. One wasm for all of them, not one
//! each: per page, wasm-split cut the code they share into a hundred small files, and a page took
//! up to 56 requests. Without the feature (the browser tests) they render from the one wasm.
//!
//! A page whose wasm cannot be fetched (offline, or the console was redeployed since this tab
//! opened, so the old files are gone) says so and offers a reload; it never takes the console down.

use crate::pages;
use leptos::prelude::*;
use leptos::wasm_split::SplitLoaderError;
use leptos_router::LazyRoute;

/// Why a page's code is not there: its wasm could not be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCodeMissing;

impl From<SplitLoaderError> for PageCodeMissing {
    fn from(_: SplitLoaderError) -> Self {
        PageCodeMissing
    }
}

/// How many lazy pages are waiting for their wasm: while any is, the app shows a bar under the
/// header and marks its main region busy, so a slow network does not look like a frozen click.
#[derive(Clone, Copy)]
pub struct PageCodeArriving(RwSignal<usize>);

impl PageCodeArriving {
    /// Makes the count for the app's routes (`App`) and returns it.
    pub fn provide() -> Self {
        let arriving = PageCodeArriving(RwSignal::new(0));
        provide_context(arriving);
        arriving
    }

    /// Whether a page is waiting for its wasm.
    pub fn any(&self) -> bool {
        self.0.get() > 0
    }

    /// Counts one wait until the returned guard is dropped: when the page has its code, or when
    /// the router gave up on the move (the future is dropped then).
    fn wait(self) -> impl Drop {
        struct Waiting(RwSignal<usize>);
        impl Drop for Waiting {
            fn drop(&mut self) {
                self.0.try_update(|n| *n = n.saturating_sub(1));
            }
        }
        self.0.update(|n| *n += 1);
        Waiting(self.0)
    }
}

/// What a page whose wasm could not be fetched shows instead. Under a project's header (which
/// holds the page's h1) its heading is an h2, as the project's pages' are.
#[component]
pub fn PageCodeMissingNotice() -> impl IntoView {
    let title = "This page could not be loaded";
    let heading = if use_context::<crate::project::ProjectCtx>().is_some() {
        view! { <h2>{title}</h2> }.into_any()
    } else {
        view! { <h1>{title}</h1> }.into_any()
    };
    view! {
        <section class="page narrow" role="alert" data-testid="page-code-missing">
            {heading}
            <p>
                "Its code did not arrive: the network may be down, or the console was updated since this tab "
                "was opened. Reloading loads the current version."
            </p>
            <button type="button" class="btn" on:click=|_| { let _ = web_sys::window().map(|w| w.location().reload()); }>
                "Reload"
            </button>
        </section>
    }
}

/// Fetches the lazy pages' wasm once the browser is idle, so that opening one of them does not
/// wait for it. Called when the first screen is up (`interactive::mark_interactive`); skipped
/// when the browser asks to save data (`navigator.connection.saveData`), and does nothing
/// without the `split` feature.
pub fn prefetch() {
    #[cfg(feature = "split")]
    {
        let save_data = web_sys::window()
            .and_then(|w| js_sys::Reflect::get(&w.navigator(), &"connection".into()).ok())
            .filter(|c| c.is_object())
            .and_then(|c| js_sys::Reflect::get(&c, &"saveData".into()).ok())
            .is_some_and(|s| s.is_truthy());
        if !save_data {
            // One wasm holds them all, so preloading one page preloads every page. A failure is
            // met again, and shown, when a page is opened.
            request_idle_callback(|| {
                leptos::task::spawn_local(async {
                    let _ = preload_events().await;
                })
            });
        }
    }
}

/// Each entry is a route whose view is a split point: `$route` for the router, `$view` the split
/// function, `$preload` what fetches its wasm without rendering. All share the split
/// `lazy_pages` (`split_lazy_pages-<hash>.wasm` in the build).
macro_rules! lazy_pages {
    ($($(#[$doc:meta])* $route:ident, $view:ident, $preload:ident => $page:path;)*) => {$(
        $(#[$doc])*
        pub struct $route;

        #[cfg_attr(feature = "split", leptos::wasm_split::wasm_split(lazy_pages, wasm_split_path = ::leptos::wasm_split, fallible, preload(#[allow(dead_code)] $preload)))]
        fn $view() -> Result<AnyView, PageCodeMissing> {
            Ok(view! { <$page/> }.into_any())
        }

        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_: Self) -> AnyView {
                let waiting = use_context::<PageCodeArriving>().map(PageCodeArriving::wait);
                #[cfg(feature = "split")]
                let page = $view().await;
                #[cfg(not(feature = "split"))]
                let page = $view();
                drop(waiting);
                page.unwrap_or_else(|PageCodeMissing| view! { <PageCodeMissingNotice/> }.into_any())
            }
        }
    )*};
}

lazy_pages! {
    /// `/projects/new`
    CreateProject, create_project, preload_create_project => pages::projects::CreateProjectPage;
    /// `/projects/:project_id/clusters/new`
    CreateCluster, create_cluster, preload_create_cluster => pages::cluster_create::CreateClusterPage;
    /// `/projects/:project_id/clusters/:cluster_id`
    ClusterDetail, cluster_detail, preload_cluster_detail => pages::cluster_detail::ClusterDetailPage;
    /// `/projects/:project_id/encryption`
    EncryptionAccess, encryption_access, preload_encryption_access => pages::encryption::EncryptionAccessPage;
    /// `/projects/:project_id/encryption/create`
    CreateKey, create_key, preload_create_key => pages::encryption::CreateKeyPage;
    /// `/projects/:project_id/encryption/check`
    PolicyChecker, policy_checker, preload_policy_checker => pages::checker::PolicyCheckerPage;
    /// `/projects/:project_id/revoke`
    Revoke, revoke, preload_revoke => pages::revoke::RevokePage;
    /// `/projects/:project_id/restore`
    Restore, restore, preload_restore => pages::revoke::RestorePage;
    /// `/projects/:project_id/events`
    Events, events, preload_events => pages::events::EventsPage;
    /// `/sandbox-kms`
    SandboxKms, sandbox_kms, preload_sandbox_kms => pages::sandbox::SandboxKmsPage;
    /// `/sandbox-kms/:key_id`
    SandboxKey, sandbox_key, preload_sandbox_key => pages::sandbox::SandboxKeyPage;
}
