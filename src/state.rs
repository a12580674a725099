//! What every page shares: the API client, the console's session, what the server offers
//! beyond v1beta, and the provider catalog. Loaded once per visit, read through these functions.

use crate::api::{Api, ApiError};
use cmek_core::api::ListProviderRegionsResp;
use cmek_core::ext::{ServerInfo, SessionInfo};
use leptos::prelude::*;

/// The server's extensions (`None`: a plain v1beta server).
pub type ServerInfoResource = LocalResource<Result<Option<ServerInfo>, ApiError>>;
pub type CatalogResource = LocalResource<Result<ListProviderRegionsResp, ApiError>>;

/// Whether the console may talk to its server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Session {
    /// Asking the server.
    Checking,
    SignedIn,
    /// The server has no sessions (a plain v1beta server, or one in front of it).
    NotNeeded,
    /// Not signed in; `ended` when a session this page had has ended (expired, signed out
    /// elsewhere, server restarted): the page stays, with what was typed, under a sign-in.
    SignedOut {
        ended: bool,
    },
    /// The server could not be asked.
    Unreachable(ApiError),
}

impl Session {
    pub fn may_use_api(&self) -> bool {
        matches!(self, Session::SignedIn | Session::NotNeeded)
    }
}

#[derive(Clone, Copy)]
struct Shared {
    info: ServerInfoResource,
    catalog: CatalogResource,
    session: RwSignal<Session>,
}

/// Provides the client and the shared state to everything below.
pub fn provide(api: Api) {
    provide_context(api.clone());
    let session = RwSignal::new(Session::Checking);
    api.on_session_ended(move || {
        if session.get_untracked().may_use_api() {
            session.set(Session::SignedOut { ended: true });
        }
    });
    let a = api.clone();
    let info = LocalResource::new(move || {
        let a = a.clone();
        async move { a.server_info().await }
    });
    let a = api.clone();
    let catalog = LocalResource::new(move || {
        let a = a.clone();
        async move { a.provider_regions().await }
    });
    // Sent at once (in parallel with the session check); asked again once signed in if they
    // were refused before.
    Effect::new(move |_| {
        if session.with(Session::may_use_api) {
            if matches!(info.get_untracked(), Some(Err(_))) {
                info.refetch();
            }
            if matches!(catalog.get_untracked(), Some(Err(_))) {
                catalog.refetch();
            }
        }
    });
    provide_context(Shared { info, catalog, session });
    leptos::task::spawn_local(async move {
        let state = match api.session().await {
            Ok(Some(s)) => {
                api.set_csrf_token(Some(s.csrf_token));
                Session::SignedIn
            }
            Ok(None) => Session::NotNeeded,
            Err(e) if e.status() == Some(401) => Session::SignedOut { ended: false },
            Err(e) => Session::Unreachable(e),
        };
        session.set(state);
    });
}

pub fn api() -> Api {
    expect_context::<Api>()
}

pub fn session() -> RwSignal<Session> {
    expect_context::<Shared>().session
}

/// Records a new session (after signing in).
pub fn signed_in(info: SessionInfo) {
    api().set_csrf_token(Some(info.csrf_token));
    session().set(Session::SignedIn);
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
