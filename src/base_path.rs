//! Serving under a sub-path (`https://example.github.io/cmek/`): the path comes from
//! `<meta name="cmek-base-path">` (written by `scripts/build-static --base-path`, read at run
//! time so one build needs no rebuild to move). The router gets it as its `base`; leptos_router
//! 0.8 resolves `navigate("/x")` under the base but leaves absolute link hrefs (`<A href="/x">`)
//! as written, so [`keep_links_under`] prefixes them in the document, where hovering, copying and
//! opening in a new tab see them too.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

/// The base path as the router wants it (`/cmek`, no trailing slash), or `None` at the root.
pub fn configured() -> Option<String> {
    normalize(&crate::api::fetch::meta("cmek-base-path").unwrap_or_default())
}

/// `/cmek/`, `cmek`, `/cmek` → `/cmek`; empty or `/` → `None`.
pub fn normalize(raw: &str) -> Option<String> {
    let trimmed = raw.trim().trim_matches('/');
    (!trimmed.is_empty()).then(|| format!("/{trimmed}"))
}

/// `href` under `base` when it is an absolute path of this app that lacks it; `None` otherwise.
pub fn prefixed(base: &str, href: &str) -> Option<String> {
    if !href.starts_with('/') || href.starts_with("//") {
        return None;
    }
    let rest = href.strip_prefix(base).unwrap_or("x");
    if rest.is_empty() || rest.starts_with(['/', '?', '#']) {
        return None;
    }
    Some(format!("{base}{href}"))
}

fn fix(el: &web_sys::Element, base: &str) {
    if el.tag_name().eq_ignore_ascii_case("a")
        && let Some(to) = el.get_attribute("href").and_then(|h| prefixed(base, &h))
    {
        let _ = el.set_attribute("href", &to);
    }
    if let Ok(list) = el.query_selector_all("a[href^='/']") {
        for i in 0..list.length() {
            if let Some(a) = list.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
                fix(&a, base);
            }
        }
    }
}

/// Keeps every link of the page under `base`: those there now and any added or changed later.
pub fn keep_links_under(base: String) {
    let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) else { return };
    fix(&body, &base);
    let on_change = Closure::<dyn FnMut(js_sys::Array, web_sys::MutationObserver)>::new(
        move |records: js_sys::Array, _: web_sys::MutationObserver| {
            for record in records.iter().filter_map(|r| r.dyn_into::<web_sys::MutationRecord>().ok()) {
                if let Some(el) = record.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                    fix(&el, &base);
                }
                let added = record.added_nodes();
                for i in 0..added.length() {
                    if let Some(el) = added.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
                        fix(&el, &base);
                    }
                }
            }
        },
    );
    let Ok(observer) = web_sys::MutationObserver::new(on_change.as_ref().unchecked_ref()) else { return };
    let options = web_sys::MutationObserverInit::new();
    options.set_child_list(true);
    options.set_subtree(true);
    options.set_attribute_filter(&js_sys::Array::of1(&"href".into()));
    if observer.observe_with_options(&body, &options).is_ok() {
        // Lives as long as the page.
        on_change.forget();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(normalize("/cmek/"), Some("/cmek".into()));
        assert_eq!(normalize("a/b"), Some("/a/b".into()));
        assert_eq!(normalize(" / "), None);
        assert_eq!(normalize(""), None);
        assert_eq!(prefixed("/cmek", "/projects/1"), Some("/cmek/projects/1".into()));
        assert_eq!(prefixed("/cmek", "/"), Some("/cmek/".into()));
        assert_eq!(prefixed("/cmek", "/cmek/projects"), None);
        assert_eq!(prefixed("/cmek", "/cmek"), None);
        assert_eq!(prefixed("/cmek", "/cmek?page=2"), None);
        assert_eq!(prefixed("/cmek", "/cmekx"), Some("/cmek/cmekx".into()));
        assert_eq!(prefixed("/cmek", "#main"), None);
        assert_eq!(prefixed("/cmek", "//cdn.example/x"), None);
        assert_eq!(prefixed("/cmek", "https://x/y"), None);
    }
}
