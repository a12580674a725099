//! Signing in. The server prints a one-time link at start (`console sign-in: …/sign-in#token=…`);
//! the token travels in the fragment, so it never reaches a log or a Referer. An operator may also
//! set a password. API keys never reach the browser: the console holds an HttpOnly session cookie.

use crate::api::RequestError;
use crate::components::{Button, ButtonKind, ErrorNotice};
use crate::session::{self, ApiAccess, forget_link, token_from_link};
use crate::state;
use cmek_core::ext::SignInReq;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// The sign-in form: the link's token if there is one, else a password.
#[component]
fn SignInForm(
    /// Called once signed in.
    on_done: Callback<()>,
) -> impl IntoView {
    let api = state::api();
    let password = RwSignal::new(String::new());
    let attempt = Action::new_local(move |req: &SignInReq| {
        let (api, req) = (api.clone(), req.clone());
        async move { api.sign_in(&req).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(info)) = attempt.value().get() {
            // Only now: a refused attempt (e.g. 429) can be retried from this page.
            forget_link();
            session::signed_in(info);
            on_done.run(());
        }
    });
    if let Some(token) = token_from_link() {
        attempt.dispatch_local(SignInReq { token: Some(token), password: None });
    }
    let failed = Signal::derive(move || attempt.value().get().and_then(Result::err));
    let submit = move || {
        if attempt.pending().get_untracked() {
            return;
        }
        if !password.with_untracked(String::is_empty) {
            attempt.dispatch_local(SignInReq { token: None, password: Some(password.get_untracked()) });
        } else if let Some(token) = token_from_link() {
            // No password typed: try the link's token again.
            attempt.dispatch_local(SignInReq { token: Some(token), password: None });
        }
    };
    view! {
        <p>"When the server starts it prints a one-time link on a line of its own, "
            <code>"console sign-in: http://…/sign-in#token=…"</code> ". Open it in this browser to sign in."</p>
        <form novalidate on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <div class="field">
                <label for="sign-in-password">"Or the console password set by the operator"</label>
                <input id="sign-in-password" type="password" autocomplete="current-password" bind:value=password/>
            </div>
            {move || failed.get().map(|e| {
                let used = e.status() == Some(401);
                view! {
                    <ErrorNotice error=Signal::stored(e) doing="Signing in"/>
                    {used.then(|| view! { <p class="help">"A sign-in link works once: restart the server for a new one, or use the password."</p> })}
                }
            })}
            <div class="actions">
                <Button submit=true kind=ButtonKind::Primary pending=attempt.pending() id="sign-in">"Sign in"</Button>
            </div>
        </form>
    }
}

/// `/sign-in`, and what the console shows before anyone has signed in.
#[component]
pub fn SignInPage() -> impl IntoView {
    let navigate = use_navigate();
    let access = session::access();
    let on_done = Callback::new(move |_| navigate("/", Default::default()));
    view! {
        <section class="page narrow" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">"Sign in"</h1>
            {move || matches!(access.get(), ApiAccess::SignedIn).then(|| view! { <p class="field-ok">"You are signed in."</p> })}
            <SignInForm on_done=on_done/>
        </section>
    }
}

/// Over a page whose session ended: says so, and lets the person sign in again without leaving
/// the page, so nothing typed is lost.
#[component]
pub fn SessionEnded() -> impl IntoView {
    let access = session::access();
    let recheck = session::recheck_action();
    view! {
        <div class="overlay">
            <div class="card session-ended" role="dialog" aria-modal="true" aria-labelledby="session-ended-title" id="session-ended">
                <h2 id="session-ended-title">"Your session has ended"</h2>
                <p>"What you typed on this page is kept. Sign in again, then carry on where you were."</p>
                <SignInForm on_done=Callback::new(move |_| access.set(ApiAccess::SignedIn))/>
                <p class="help">"Signed in with a new link in another tab?"</p>
                <Button id="session-recheck" pending=recheck.pending() on_click=Callback::new(move |_| { recheck.dispatch_local(()); })>
                    "Check again"
                </Button>
                {move || (recheck.value().get() == Some(false)).then(|| view! { <p class="field-error">"Still signed out."</p> })}
            </div>
        </div>
    }
}

/// Signs out, then shows the sign-in page.
#[component]
pub fn SignOutButton() -> impl IntoView {
    let access = session::access();
    let out = session::sign_out_action();
    view! {
        <Show when=move || matches!(access.get(), ApiAccess::SignedIn)>
            <button type="button" class="link-button" id="sign-out" on:click=move |_| { out.dispatch_local(()); }>"Sign out"</button>
        </Show>
    }
}

/// Whether an error means the server is out of reach (for the page shown before signing in).
pub fn unreachable_message(e: &RequestError) -> String {
    format!("The console cannot reach its server: {}", e.message())
}
