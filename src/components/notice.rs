use crate::api::RequestError;
use leptos::prelude::*;

/// Work under way, announced politely.
#[component]
pub fn Loading(
    /// What is loading, e.g. "Loading projects".
    #[prop(into)]
    label: String,
) -> impl IntoView {
    view! { <p class="loading" role="status"><span class="spinner" aria-hidden="true"></span>{label}"…"</p> }
}

/// A failed call, in words, with every cause the server named and, for reads, a retry. A rate
/// limit is not a failure of what the page shows: it is said calmly, with when it goes on.
#[component]
pub fn ErrorNotice(
    /// The error to show.
    #[prop(into)]
    error: Signal<RequestError>,
    /// What was being done, e.g. "Creating the project".
    #[prop(optional, into)]
    doing: Option<String>,
    /// Offered as "Try again" when set.
    #[prop(optional, into)]
    retry: Option<Callback<()>>,
) -> impl IntoView {
    // A rule's refusal is not a failure: the request was answered, and the answer is no.
    let headline = move |e: &RequestError| {
        let refused = e.code().is_some() && e.status().is_some_and(|s| (400..500).contains(&s));
        match (&doing, refused) {
            (Some(d), true) => format!("{d} was refused"),
            (Some(d), false) => format!("{d} failed"),
            (None, true) => "Refused".to_owned(),
            (None, false) => "Something went wrong".to_owned(),
        }
    };
    move || {
        if let e @ RequestError::Api { status: 429, retry_after, .. } = error.get() {
            let when = retry_after.map_or_else(|| "in a minute".to_owned(), |s| format!("in {} s", s.max(1)));
            let next = if retry.is_some() {
                format!("Nothing on this page is lost; it refreshes by itself {when}.")
            } else if let Some(said) = Some(e.message()).filter(|m| !m.is_empty()) {
                // An action refused for a limit of its own (e.g. failed sign-ins from this
                // address) says which limit and how long, in the server's words.
                format!("Nothing was sent: {}.", said.trim_end_matches('.'))
            } else {
                format!("Nothing was sent; try again {when}.")
            };
            return view! {
                <div class="notice info" role="status" id="rate-limited">
                    <p class="headline">"The server asks this console to slow down for a moment"</p>
                    <p class="message">{next}</p>
                </div>
            }
            .into_any();
        }
        let e = error.get();
        let (message, details) = said_once(&e);
        view! {
            <div class="notice error" role="alert">
                <p class="headline">{headline(&e)}</p>
                <p class="message">{message}</p>
                {(!details.is_empty())
                    .then(|| view! { <ul class="causes">{details.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul> })}
                {move || error.get().code().map(|c| view! { <p class="code">"Error code " {c.code()} " (" {c.name()} ")"</p> })}
                {retry.map(|r| view! { <button type="button" class="btn" on:click=move |_| r.run(())>"Try again"</button> })}
            </div>
        }
        .into_any()
    }
}

/// The message and the causes to list, each said once (the rule is cmek-core's).
pub fn said_once(e: &RequestError) -> (String, Vec<String>) {
    cmek_core::error::said_once(&e.message(), &e.details())
}
