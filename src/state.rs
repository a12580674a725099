//! What every page shares: the API client, what the server offers beyond v1beta, and the
//! provider catalog (the sign-in session is `crate::session`). Loaded once per visit, read
//! through these functions.

use crate::api::{Api, RequestError};
use cmek_core::api::ListProviderRegionsResp;
use cmek_core::ext::ServerInfo;
use leptos::prelude::*;

/// The server's extensions (`None`: a plain v1beta server).
pub type ServerInfoResource = LocalResource<Result<Option<ServerInfo>, RequestError>>;
pub type CatalogResource = LocalResource<Result<ListProviderRegionsResp, RequestError>>;

#[derive(Clone)]
struct Shared {
    info: ServerInfoResource,
    /// Made at its first use: no first screen shows the catalog, so a first screen neither asks
    /// nor decodes it (docs/performance.md, load → interactive). Made under `owner`, the signed-in
    /// app's, so that leaving the page that first asked does not dispose of it.
    catalog: StoredValue<Option<CatalogResource>>,
    owner: Owner,
}

/// Provides the client and the session (`crate::session`) to everything below.
pub fn provide(api: Api) {
    provide_context(api.clone());
    crate::session::provide(api);
}

/// Provides what the pages share (server info, catalog); called once the console may use the
/// API, so nothing is asked before signing in. The catalog is asked once the first screen is
/// up and the browser idle, and kept (`api::cache`), so a page that needs it rarely waits.
pub fn provide_shared() {
    let api = api();
    let a = api.clone();
    let info = LocalResource::new(move || {
        let a = a.clone();
        async move { a.server_info().await }
    });
    crate::live::retry_on_failure(info);
    let shared = Shared { info, catalog: StoredValue::new(None), owner: Owner::current().unwrap_or_default() };
    provide_context(shared.clone());
    crate::interactive::after_first_screen(move || {
        request_idle_callback(move || {
            // A failure is retried in the background, and shown on the page that needs it.
            catalog_of(&shared, api.clone());
        })
    });
}

pub fn api() -> Api {
    expect_context::<Api>()
}

pub fn server_info() -> ServerInfoResource {
    expect_context::<Shared>().info
}

pub fn catalog() -> CatalogResource {
    catalog_of(&expect_context::<Shared>(), api())
}

/// The catalog's resource, made at the first call.
fn catalog_of(shared: &Shared, api: Api) -> CatalogResource {
    if let Some(catalog) = shared.catalog.get_value() {
        return catalog;
    }
    let catalog = shared.owner.with(|| {
        let catalog = LocalResource::new(move || {
            let api = api.clone();
            async move { api.provider_regions().await }
        });
        crate::live::retry_on_failure(catalog);
        catalog
    });
    shared.catalog.set_value(Some(catalog));
    catalog
}

/// The service account the key policy names, once the server said (`None` also while loading
/// or when the server does not publish one).
pub fn service_account() -> Signal<Option<String>> {
    let info = server_info();
    Signal::derive(move || match info.get() {
        Some(Ok(Some(i))) => i.service_account_id,
        _ => None,
    })
}
