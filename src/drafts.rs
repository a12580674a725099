//! What a form has typed, kept in the tab's `sessionStorage` (the browser's, not the sign-in
//! session): it survives an error and a reload, and goes with the tab. Never a password.

use serde::Serialize;
use serde::de::DeserializeOwned;

fn tab_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.session_storage().ok().flatten())
}

/// The draft kept under `name`, if there is one this build can read.
pub fn load<T: DeserializeOwned>(name: &str) -> Option<T> {
    let text = tab_storage()?.get_item(name).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

/// Keeps `draft` under `name`, or forgets it (`None`: the form was sent).
pub fn save<T: Serialize>(name: &str, draft: Option<&T>) {
    if let Some(s) = tab_storage() {
        let _ = match draft {
            Some(d) => s.set_item(name, &serde_json::to_string(d).unwrap_or_default()),
            None => s.remove_item(name),
        };
    }
}
