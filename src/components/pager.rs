use leptos::prelude::*;

/// Previous / next with "page N of M".
#[component]
pub fn Pager(
    /// The current page (1-based).
    #[prop(into)]
    page: Signal<i64>,
    /// Items in all pages.
    #[prop(into)]
    total: Signal<i64>,
    /// Items per page.
    page_size: i64,
    /// What the pages hold, e.g. `format::PROJECT`.
    noun: crate::format::Noun,
    /// Called with the page to show.
    on_change: Callback<i64>,
) -> impl IntoView {
    let pages = move || cmek_core::page::Page::count(total.get(), page_size);
    let label = format!("Pages of {}", noun.many);
    view! {
        <nav class="pager" aria-label=label>
            <button type="button" class="btn" aria-disabled=move || (page.get() <= 1).then_some("true")
                on:click=move |_| { if page.get() > 1 { on_change.run(page.get() - 1) } }>"← Previous"</button>
            <span aria-live="polite">"Page " {move || page.get()} " of " {pages} " · " {move || crate::format::count(total.get(), noun)}</span>
            <button type="button" class="btn" aria-disabled=move || (page.get() >= pages()).then_some("true")
                on:click=move |_| { if page.get() < pages() { on_change.run(page.get() + 1) } }>"Next →"</button>
        </nav>
    }
}
