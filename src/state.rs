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

#[derive(Clone, Copy)]
struct Shared {
    info: ServerInfoResource,
    catalog: CatalogResource,
}

/// Provides the client and the session (`crate::session`) to everything below.
pub fn provide(api: Api) {
    provide_context(api.clone());
    crate::session::provide(api);
}

/// Provides what the pages share (server info, catalog); called once the console may use the
/// API, so nothing is asked before signing in.
pub fn provide_shared() {
    let api = api();
    let a = api.clone();
    let info = LocalResource::new(move || {
        let a = a.clone();
        async move { a.server_info().await }
    });
    let catalog = LocalResource::new(move || {
        let a = api.clone();
        async move { a.provider_regions().await }
    });
    crate::live::retry_on_failure(info);
    crate::live::retry_on_failure(catalog);
    provide_context(Shared { info, catalog });
}

pub fn api() -> Api {
    expect_context::<Api>()
}

pub fn server_info() -> ServerInfoResource {
    expect_context::<Shared>().info
}

pub fn catalog() -> CatalogResource {
    expect_context::<Shared>().catalog
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
