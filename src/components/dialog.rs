use leptos::html::Dialog;
use leptos::prelude::*;

/// A modal confirmation (the native `<dialog>`): a specific title, the consequence, focus first
/// on Cancel, and, for destructive actions, a typed confirmation.
#[component]
pub fn ConfirmDialog(
    /// Whether the dialog is open.
    open: RwSignal<bool>,
    /// A specific question, e.g. "Delete cluster Cluster0?".
    #[prop(into)]
    title: Signal<String>,
    /// What will happen.
    #[prop(into)]
    body: Signal<String>,
    /// The confirming button's label, e.g. "Delete cluster".
    #[prop(into)]
    confirm_label: Signal<String>,
    /// When set, the person must type this word to confirm.
    #[prop(optional, into)]
    typed: Option<Signal<String>>,
    /// The confirm button is red.
    #[prop(optional)]
    danger: bool,
    /// Called when confirmed.
    on_confirm: Callback<()>,
) -> impl IntoView {
    let dialog = NodeRef::<Dialog>::new();
    let cancel = NodeRef::<leptos::html::Button>::new();
    let typed_text = RwSignal::new(String::new());
    let title_id = super::unique_id("dialog-title");
    let body_id = super::unique_id("dialog-body");
    Effect::new(move |_| {
        let Some(d) = dialog.get() else { return };
        if open.get() {
            typed_text.set(String::new());
            if !d.open() {
                let _ = d.show_modal();
            }
            if let Some(c) = cancel.get() {
                let _ = c.focus();
            }
        } else if d.open() {
            d.close();
        }
    });
    let matches = move || typed.is_none_or(|t| typed_text.get().trim().eq_ignore_ascii_case(t.get().trim()));
    let confirm = move || {
        if matches() {
            open.set(false);
            on_confirm.run(());
        }
    };
    let (labelled_by, described_by) = (title_id.clone(), body_id.clone());
    view! {
        <dialog node_ref=dialog class="confirm-dialog" role="alertdialog"
            aria-labelledby=labelled_by aria-describedby=described_by
            on:close=move |_| open.set(false)>
            <h2 id=title_id>{move || title.get()}</h2>
            <p id=body_id>{move || body.get()}</p>
            {typed.map(|t| view! {
                <label class="field">
                    <span>"Type " <strong>{move || t.get()}</strong> " to confirm"</span>
                    <input type="text" autocomplete="off" bind:value=typed_text
                        on:keydown=move |ev| { if ev.key() == "Enter" { ev.prevent_default(); confirm() } }/>
                </label>
            })}
            <div class="actions">
                <button type="button" class="btn" node_ref=cancel on:click=move |_| open.set(false)>"Cancel"</button>
                <button type="button" class=if danger { "btn danger" } else { "btn primary" }
                    aria-disabled=move || (!matches()).then_some("true")
                    on:click=move |_| confirm()>{move || confirm_label.get()}</button>
            </div>
        </dialog>
    }
}
