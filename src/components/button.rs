use leptos::prelude::*;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ButtonKind {
    #[default]
    Secondary,
    Primary,
    Danger,
}

impl ButtonKind {
    fn class(self) -> &'static str {
        match self {
            ButtonKind::Secondary => "btn",
            ButtonKind::Primary => "btn primary",
            ButtonKind::Danger => "btn danger",
        }
    }
}

/// A button that keeps keyboard focus when it cannot be used: `aria-disabled` instead of
/// `disabled`, with the reason shown beside it and linked by `aria-describedby`.
#[component]
pub fn Button(
    /// The label.
    children: Children,
    /// Why the button cannot be used now; `None` when it can.
    #[prop(optional, into)]
    disabled_reason: Signal<Option<String>>,
    /// Work started by this button is under way: it is inert and says so.
    #[prop(optional, into)]
    pending: Signal<bool>,
    /// Visual weight.
    #[prop(optional)]
    kind: ButtonKind,
    /// `submit` inside a form; `button` otherwise.
    #[prop(optional, into)]
    submit: bool,
    /// Called on a click while the button is usable.
    #[prop(optional, into)]
    on_click: Option<Callback<()>>,
    /// The element id.
    #[prop(optional, into)]
    id: Option<String>,
) -> impl IntoView {
    let reason_id = super::unique_id("reason");
    let inert = move || disabled_reason.with(Option::is_some) || pending.get();
    let rid = reason_id.clone();
    view! {
        <button
            id=id
            class=kind.class()
            type=if submit { "submit" } else { "button" }
            aria-disabled=move || inert().then_some("true")
            aria-busy=move || pending.get().then_some("true")
            aria-describedby=move || disabled_reason.with(Option::is_some).then(|| rid.clone())
            on:click=move |ev| {
                if inert() {
                    ev.prevent_default();
                } else if let Some(cb) = on_click {
                    cb.run(());
                }
            }
        >
            {children()}
            <Show when=move || pending.get()>
                <span class="spinner" aria-hidden="true"></span>
            </Show>
        </button>
        <Show when=move || disabled_reason.with(Option::is_some)>
            <p class="reason" id=reason_id.clone()>{move || disabled_reason.get()}</p>
        </Show>
    }
}
