//! Browser-test helpers: mount the console (or a page of it) at a URL against a fake API, wait
//! for the DOM, read it, act on it.
#![allow(dead_code)] // each test file uses its own part

use cmek_console::App;
use cmek_console::api::Api;
use cmek_console::api::fake::FakeTransport;
use leptos::prelude::*;
use std::sync::Arc;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement};

pub const SERVICE_ACCOUNT: &str = "444455556666";

/// Resolves after `ms` milliseconds (lets effects and fake requests run).
pub async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
}

/// The mounted console; unmounted (and its container removed) on drop.
pub struct Mounted {
    _handle: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
    pub root: HtmlElement,
    pub fake: FakeTransport,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.root.remove();
    }
}

/// Mounts the whole console at `path` against `fake`.
pub fn mount_at(path: &str, fake: FakeTransport) -> Mounted {
    let window = web_sys::window().unwrap();
    window.history().unwrap().push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path)).unwrap();
    let document = window.document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let api = Api::new(Arc::new(fake.clone()), "https://api.example.test");
    let handle = leptos::mount::mount_to(root.clone(), move || view! { <App api=api.clone()/> }.into_any());
    Mounted { _handle: handle, root, fake }
}

impl Mounted {
    pub fn query(&self, css: &str) -> Option<Element> {
        self.root.query_selector(css).unwrap()
    }

    pub fn all(&self, css: &str) -> Vec<Element> {
        let list = self.root.query_selector_all(css).unwrap();
        (0..list.length()).filter_map(|i| list.item(i)).map(|n| n.unchecked_into()).collect()
    }

    pub fn text(&self) -> String {
        self.root.text_content().unwrap_or_default()
    }

    /// Waits (up to 3 s) until `css` matches; fails the test otherwise.
    pub async fn wait_for(&self, css: &str) -> Element {
        for _ in 0..300 {
            if let Some(e) = self.query(css) {
                return e;
            }
            sleep(10).await;
        }
        panic!("no {css} within 3 s; the page shows: {}", self.text());
    }

    /// Waits (up to 3 s) until the text contains `s`.
    pub async fn wait_text(&self, s: &str) {
        for _ in 0..300 {
            if self.text().contains(s) {
                return;
            }
            sleep(10).await;
        }
        panic!("the page never showed {s:?}; it shows: {}", self.text());
    }

    /// Types `value` into the input `css` as a person would (input event).
    pub async fn type_into(&self, css: &str, value: &str) {
        let input: HtmlInputElement = self.wait_for(css).await.unchecked_into();
        input.set_value(value);
        let ev = web_sys::Event::new_with_event_init_dict("input", &{
            let i = web_sys::EventInit::new();
            i.set_bubbles(true);
            i
        })
        .unwrap();
        input.dispatch_event(&ev).unwrap();
        sleep(20).await;
    }

    pub async fn click(&self, css: &str) {
        let el: HtmlElement = self.wait_for(css).await.unchecked_into();
        el.click();
        sleep(20).await;
    }

    /// The id of the focused element.
    pub fn focused_id(&self) -> String {
        web_sys::window().unwrap().document().unwrap().active_element().map(|e| e.id()).unwrap_or_default()
    }
}

/// A fake server with two projects: one with CMEK, one without; and server-info.
pub fn fake_with_projects() -> FakeTransport {
    let fake = FakeTransport::new();
    fake.on("GET", "/api/v1beta/projects", 200, serde_json::json!({
        "items": [
            {"id": "1372813089189560001", "org_id": "1", "name": "payments-prod", "cluster_count": 2, "user_count": 1, "create_timestamp": "1795833134", "aws_cmek_enabled": true},
            {"id": "1372813089189560002", "org_id": "1", "name": "<img src=x onerror=alert(1)>", "cluster_count": 0, "user_count": 1, "create_timestamp": "1795833135", "aws_cmek_enabled": false}
        ],
        "total": 2
    }));
    fake.on(
        "GET",
        "/api/ext/v1/server-info",
        200,
        serde_json::json!({
            "service_account_id": SERVICE_ACCOUNT, "kms": "sandbox", "sandbox_account_id": "111122223333",
            "key_check_interval_secs": 60, "version": "test"
        }),
    );
    fake.on("GET", "/api/v1beta/clusters/provider/regions", 200, serde_json::json!({"items": [
        {"cluster_type": "DEDICATED", "cloud_provider": "AWS", "region": "us-west-2",
         "tidb": [{"node_size": "8C16G", "node_quantity_range": {"min": 1, "step": 1}}],
         "tikv": [{"node_size": "8C32G", "node_quantity_range": {"min": 3, "step": 3}, "storage_size_gib_range": {"min": 500, "max": 4096}}],
         "tiflash": []},
        {"cluster_type": "DEDICATED", "cloud_provider": "AWS", "region": "eu-central-1",
         "tidb": [{"node_size": "8C16G", "node_quantity_range": {"min": 1, "step": 1}}],
         "tikv": [{"node_size": "8C32G", "node_quantity_range": {"min": 3, "step": 3}, "storage_size_gib_range": {"min": 500, "max": 4096}}],
         "tiflash": []}
    ]}));
    fake
}
