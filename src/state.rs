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
struct SessionCtx(RwSignal<Session>);

#[derive(Clone, Copy)]
struct Shared {
    info: ServerInfoResource,
    catalog: CatalogResource,
}

/// Provides the client and the session to everything below, and asks the server about the
/// session (not when the page was opened from a sign-in link: that signs in at once).
pub fn provide(api: Api) {
    provide_context(api.clone());
    let session = RwSignal::new(Session::Checking);
    api.on_session_ended(move || {
        if session.get_untracked().may_use_api() {
            session.set(Session::SignedOut { ended: true });
        }
    });
    provide_context(SessionCtx(session));
    if crate::pages::sign_in::token_from_link().is_some() {
        session.set(Session::SignedOut { ended: false });
        return;
    }
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

pub fn session() -> RwSignal<Session> {
    expect_context::<SessionCtx>().0
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
