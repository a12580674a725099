//! The console's sign-in session with its server — the one thing "session" names in the console
//! (the browser's per-tab storage is "tab storage", `crate::drafts`): whether the console may use
//! the API (`ApiAccess`), the one-time sign-in link's token, and what happens when a session
//! starts or ends. The sign-in forms are `pages::sign_in`; the cookie and the CSRF token travel in
//! `api` (`RequestAuth`).

use crate::api::{Api, RequestError};
use cmek_core::ext::SessionInfo;
use leptos::prelude::*;

/// Whether the console may talk to its server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiAccess {
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
    Unreachable(RequestError),
}

impl ApiAccess {
    pub fn may_use_api(&self) -> bool {
        matches!(self, ApiAccess::SignedIn | ApiAccess::NotNeeded)
    }
}

#[derive(Clone, Copy)]
struct AccessCtx(RwSignal<ApiAccess>);

/// Provides the session to everything below, and asks the server about it (not when the page
/// was opened from a sign-in link: that signs in at once).
pub fn provide(api: Api) {
    let access = RwSignal::new(ApiAccess::Checking);
    api.on_session_ended(move || {
        if access.get_untracked().may_use_api() {
            access.set(ApiAccess::SignedOut { ended: true });
        }
    });
    provide_context(AccessCtx(access));
    if token_from_link().is_some() {
        access.set(ApiAccess::SignedOut { ended: false });
        return;
    }
    leptos::task::spawn_local(async move {
        let state = match api.session().await {
            Ok(Some(s)) => {
                api.set_csrf_token(Some(s.csrf_token));
                ApiAccess::SignedIn
            }
            Ok(None) => ApiAccess::NotNeeded,
            Err(e) if e.status() == Some(401) => ApiAccess::SignedOut { ended: false },
            Err(e) => ApiAccess::Unreachable(e),
        };
        access.set(state);
    });
}

pub fn access() -> RwSignal<ApiAccess> {
    expect_context::<AccessCtx>().0
}

/// Records a new session (after signing in).
pub fn signed_in(info: SessionInfo) {
    expect_context::<Api>().set_csrf_token(Some(info.csrf_token));
    access().set(ApiAccess::SignedIn);
}

/// The token in `#token=…`, if the page was opened from the sign-in link.
pub fn token_from_link() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    hash.trim_start_matches('#')
        .split('&')
        .find_map(|p| p.strip_prefix("token="))
        .map(str::to_owned)
        .filter(|t| !t.is_empty())
}

/// Takes the token out of the address bar once it has signed in. `replaceState` rewrites the
/// current history entry only: the browser's list of visited pages may still hold the link,
/// which is why a link signs in once and expires (`--sign-in-link-minutes`).
pub fn forget_link() {
    if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/"));
    }
}

/// Asks the server again whether this browser has a session (signed in with a new link in
/// another tab) and records the one it finds; answers whether it found one.
pub fn recheck_action() -> Action<(), bool> {
    let api = expect_context::<Api>();
    let access = access();
    Action::new_local(move |_: &()| {
        let api = api.clone();
        async move {
            let Ok(Some(info)) = api.session().await else { return false };
            api.set_csrf_token(Some(info.csrf_token));
            access.set(ApiAccess::SignedIn);
            true
        }
    })
}

/// Signs out (whatever the server answers, this console forgets its session).
pub fn sign_out_action() -> Action<(), ()> {
    let api = expect_context::<Api>();
    let access = access();
    Action::new_local(move |_: &()| {
        let api = api.clone();
        async move {
            let _ = api.sign_out().await;
            api.set_csrf_token(None);
            access.set(ApiAccess::SignedOut { ended: false });
        }
    })
}
