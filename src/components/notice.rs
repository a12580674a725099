use crate::api::ApiError;
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

/// A failed call, in words, with every cause the server named and, for reads, a retry.
#[component]
pub fn ErrorNotice(
    /// The error to show.
    #[prop(into)]
    error: Signal<ApiError>,
    /// What was being done, e.g. "Creating the project".
    #[prop(optional, into)]
    doing: Option<String>,
    /// Offered as "Try again" when set.
    #[prop(optional, into)]
    retry: Option<Callback<()>>,
) -> impl IntoView {
    let headline = move || match &doing {
        Some(d) => format!("{d} failed"),
        None => "Something went wrong".to_owned(),
    };
    view! {
        <div class="notice error" role="alert">
            <p class="headline">{headline}</p>
            <p class="message">{move || error.get().message()}</p>
            {move || {
                let details = error.get().details();
                (details.len() > 1 || details.first().is_some_and(|d| *d != error.get().message()))
                    .then(|| view! { <ul class="causes">{details.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul> })
            }}
            {move || error.get().code().map(|c| view! { <p class="code">"Error code " {c.code()} " (" {c.name()} ")"</p> })}
            {retry.map(|r| view! { <button type="button" class="btn" on:click=move |_| r.run(())>"Try again"</button> })}
        </div>
    }
}
