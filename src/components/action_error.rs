//! What an action's refusal or failure says where the action is, and where to look when the
//! project's key refused it.

use crate::api::RequestError;
use crate::components::ErrorNotice;
use crate::project::use_project;
use cmek_core::project_cmek::is_key_refusal;
use leptos::prelude::*;
use leptos_router::components::A;

/// Where to look when the key refused: the key's health and the policy checker.
#[component]
pub fn KeyRefusalLinks() -> impl IntoView {
    let ctx = use_project();
    view! {
        <p class="key-links">
            <A href=move || ctx.path("encryption")>"See the key's health"</A>
            " · "
            <A href=move || ctx.path("encryption/check")>"Check the key policy"</A>
            " · "
            <A href=move || ctx.path("restore")>"Restore access step by step"</A>
        </p>
    }
}

/// The last run of an action, when it failed: the error (`ErrorNotice`) and, with `key_links`,
/// where to look when the project's key refused it. Nothing while there is no error.
#[component]
pub fn ActionError(
    /// The action's error (`None`: it has not failed).
    #[prop(into)]
    error: Signal<Option<RequestError>>,
    /// What the action was doing, e.g. "Creating the backup" (read when the error comes, so a
    /// later action's name does not re-word an earlier error).
    #[prop(into)]
    doing: Signal<String>,
    /// The id of a block around the notice (tests and links find the error by it).
    #[prop(optional, into)]
    id: Option<String>,
    /// Link to the key's health, the policy checker and the restore steps on a key refusal
    /// (within a project only).
    #[prop(optional)]
    key_links: bool,
) -> impl IntoView {
    move || {
        error.get().map(|e| {
            let key = key_links && e.code().is_some_and(is_key_refusal);
            let notice = view! {
                <ErrorNotice error=Signal::stored(e) doing=doing.get_untracked()/>
                {key.then(|| view! { <KeyRefusalLinks/> })}
            };
            match id.clone() {
                Some(id) => view! { <div id=id>{notice}</div> }.into_any(),
                None => notice.into_any(),
            }
        })
    }
}
