//! Why a request got no answer, as far as a browser lets a page tell: fetch rejects with the same
//! bare `TypeError` whether the browser is offline, the API is down, or the API answered without
//! allowing this page's origin (CORS). So, after such a failure: `navigator.onLine` tells
//! offline apart; when the API is on another origin, a `no-cors` request (which the browser sends
//! without asking the API's CORS permission, and whose answer the page cannot read) tells
//! "it answers" from "nothing answers". An API that answers that but not the real request is
//! refusing this console's origin, and the operator is told the option to add it with.

use gloo_net::http::RequestBuilder;
use web_sys::{RequestCache, RequestCredentials, RequestMode};

/// What a failed request means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The browser says it has no network.
    Offline,
    /// The API is on another origin and answered a no-cors request: it refuses this origin.
    OriginRefused { api: String, origin: String },
    /// The API is on another origin and nothing answered there either.
    Down { api: String, why: String },
    /// The API is this page's origin, or the check could not be made.
    Network { why: String },
}

impl Cause {
    /// The sentence a page shows.
    pub fn sentence(&self) -> String {
        match self {
            Cause::Offline => {
                "The API could not be reached: this browser is offline. Connect to the network, then try again.".into()
            }
            Cause::OriginRefused { api, origin } => format!(
                "The API at {api} answered, but does not allow this console's origin {origin} (CORS). The operator must start cmek-server with --allowed-origin {origin} (or add it to CMEK_ALLOWED_ORIGINS)."
            ),
            Cause::Down { api, why } => format!(
                "The API at {api} could not be reached ({why}): the server is down, or the address in this console's <meta name=\"cmek-api-base\"> is wrong."
            ),
            Cause::Network { why } => format!("The API could not be reached ({why}). Check the network connection."),
        }
    }
}

/// The origin (`scheme://host[:port]`) of an absolute URL.
fn origin_of(url: &str) -> Option<String> {
    web_sys::Url::new(url).ok().map(|u| u.origin()).filter(|o| o != "null")
}

/// Why a request to `base` (the configured API base, maybe relative) failed with `why`.
pub async fn diagnose(base: &str, why: String) -> Cause {
    let Some(window) = web_sys::window() else { return Cause::Network { why } };
    if !window.navigator().on_line() {
        return Cause::Offline;
    }
    let api = crate::api::fetch::absolute(base);
    let page = window.location().origin().unwrap_or_default();
    let Some(api_origin) = origin_of(&api) else { return Cause::Network { why } };
    if api_origin == page {
        return Cause::Network { why };
    }
    let probe = RequestBuilder::new(&format!("{api}/api/ext/v1/session"))
        .mode(RequestMode::NoCors)
        .credentials(RequestCredentials::Omit)
        .cache(RequestCache::NoStore)
        .build();
    let answered = match probe {
        Ok(req) => req.send().await.is_ok(),
        Err(_) => false,
    };
    if answered { Cause::OriginRefused { api: api_origin, origin: page } } else { Cause::Down { api: api_origin, why } }
}
