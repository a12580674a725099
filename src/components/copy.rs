use leptos::prelude::*;
use leptos_use_clipboard::{UseClipboardReturn, use_clipboard};
use wasm_bindgen::JsCast;

/// Copies `text` to the clipboard and confirms it on screen (and to screen readers).
#[component]
pub fn CopyButton(
    /// What to copy.
    #[prop(into)]
    text: Signal<String>,
    /// The button's label.
    #[prop(optional, into)]
    label: Option<String>,
) -> impl IntoView {
    let UseClipboardReturn { is_supported, copied, copy, .. } = use_clipboard();
    let label = label.unwrap_or_else(|| "Copy".to_owned());
    view! {
        <button type="button" class="btn" on:click=move |_| copy(&text.get_untracked())>{label}</button>
        <span class="confirm" role="status">
            {move || {
                if copied.get() {
                    "Copied to the clipboard"
                } else if !is_supported.get() {
                    "The clipboard is not available here: select the text and copy it"
                } else {
                    ""
                }
            }}
        </span>
    }
}

/// Saves `text` as a file named `name` (the browser's download).
pub fn download(name: &str, text: &str) -> Result<(), String> {
    let err = |e: wasm_bindgen::JsValue| format!("{e:?}");
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(err)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(err)?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a").map_err(err)?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.set_hidden(true);
    let body = document.body().ok_or("no body")?;
    body.append_child(&a).map_err(err)?;
    a.click();
    a.remove();
    // Revoking at once can cancel the download in some browsers; a minute is plenty.
    let _ = leptos::prelude::set_timeout_with_handle(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(60),
    );
    Ok(())
}

/// Downloads `text` as the file `name`.
#[component]
pub fn DownloadButton(
    /// The file's content.
    #[prop(into)]
    text: Signal<String>,
    /// The file name, e.g. `ROLE-TRUST-POLICY.JSON`.
    #[prop(into)]
    name: String,
) -> impl IntoView {
    let failed = RwSignal::new(None::<String>);
    let label = format!("Download {name}");
    view! {
        <button type="button" class="btn" on:click=move |_| failed.set(download(&name, &text.get_untracked()).err())>
            {label}
        </button>
        <Show when=move || failed.with(Option::is_some)>
            <span class="confirm" role="alert">"The download failed: " {move || failed.get()}</span>
        </Show>
    }
}

/// The API call (or CLI commands) that does what the form does, to copy.
#[component]
pub fn EquivalentRequest(
    /// The command(s) to show.
    #[prop(into)]
    command: Signal<String>,
    /// The panel's title.
    #[prop(optional, into)]
    title: Option<String>,
) -> impl IntoView {
    let title = title.unwrap_or_else(|| "Equivalent API request".to_owned());
    view! {
        <details class="equivalent">
            <summary>{title}</summary>
            <pre><code>{move || command.get()}</code></pre>
            <CopyButton text=command label="Copy command"/>
        </details>
    }
}

/// The `curl` command of a POST of `body()` to the API path `path()`, kept current (what
/// `EquivalentRequest` shows under a create form).
pub fn post_curl<T: serde::Serialize>(
    path: impl Fn() -> String + Send + Sync + 'static,
    body: impl Fn() -> T + Send + Sync + 'static,
) -> Signal<String> {
    let api = crate::state::api();
    Signal::derive(move || {
        let body = serde_json::to_string(&body()).unwrap_or_default();
        crate::format::curl("POST", &api.url(&path()), Some(&body))
    })
}
