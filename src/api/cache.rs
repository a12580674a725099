//! Answers that do not change while a person uses the console, kept in the tab's session
//! storage so a reload or the next page does not ask again: the server's extensions, the
//! provider catalog, a project (name and CMEK flag are fixed at creation) and a configured key
//! (a CMEK project's key, once configured, cannot change). This keeps the console's own
//! traffic well inside the server's per-session rate limit (issue 12: six calls per page load
//! reached 100 a minute after 17 loads). Entries expire after [`TTL_MS`], so a restarted server
//! with another configuration is seen within minutes.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// How long a kept answer is used.
pub const TTL_MS: i64 = 10 * 60 * 1000;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.session_storage().ok().flatten())
}

fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// What is kept: the value and when (read as `Entry<T>`, written as `Entry<&T>`).
#[derive(serde::Deserialize, serde::Serialize)]
struct Entry<T> {
    at: i64,
    value: T,
}

/// Session-storage entries under one prefix (the API's base URL, so two servers never mix).
#[derive(Clone, Debug)]
pub struct Cache {
    prefix: String,
}

impl Cache {
    pub fn new(base_url: &str) -> Self {
        Self { prefix: format!("cmek-cache:{base_url}:") }
    }

    /// The kept value of `name`, if fresh.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let text = storage()?.get_item(&format!("{}{name}", self.prefix)).ok().flatten()?;
        let e: Entry<T> = serde_json::from_str(&text).ok()?;
        (now_ms() - e.at < TTL_MS && e.at <= now_ms()).then_some(e.value)
    }

    pub fn put<T: Serialize>(&self, name: &str, value: &T) {
        // Written straight to text: a `serde_json::Value` in between linked a second serialiser
        // into the wasm for every kept type.
        if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(&Entry { at: now_ms(), value })) {
            // A full storage only costs a request later.
            let _ = s.set_item(&format!("{}{name}", self.prefix), &text);
        }
    }

    /// Forgets one kept value.
    pub fn forget(&self, name: &str) {
        if let Some(s) = storage() {
            let _ = s.remove_item(&format!("{}{name}", self.prefix));
        }
    }

    /// Forgets everything kept (on signing out: the next person asks afresh).
    pub fn clear(&self) {
        let Some(s) = storage() else { return };
        let n = s.length().unwrap_or(0);
        let keys: Vec<String> =
            (0..n).filter_map(|i| s.key(i).ok().flatten()).filter(|k| k.starts_with(&self.prefix)).collect();
        for k in keys {
            let _ = s.remove_item(&k);
        }
    }
}
