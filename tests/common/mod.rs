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

// ---------------------------------------------------------------- more helpers (encryption, clusters)

/// The project of `fake_with_projects` created with CMEK.
pub const CMEK_PROJECT: &str = "1372813089189560001";
/// The project of `fake_with_projects` created without CMEK.
pub const PLAIN_PROJECT: &str = "1372813089189560002";
/// An AWS account of the customer's side, for key ARNs.
pub const OWNER_ACCOUNT: &str = "111122223333";
pub const KEY_UUID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

/// A key ARN in `region` with a UUID key id.
pub fn key_arn(region: &str) -> String {
    format!("arn:aws:kms:{region}:{OWNER_ACCOUNT}:key/{KEY_UUID}")
}

/// Answers the project's `GET …/aws-cmek` with these keys (`(region, arn)`).
pub fn with_keys(fake: &FakeTransport, project: &str, keys: &[(&str, &str)]) {
    let items: Vec<serde_json::Value> =
        keys.iter().map(|(r, a)| serde_json::json!({"region": r, "kms_arn": a})).collect();
    fake.on("GET", &Api::aws_cmek_path(project), 200, serde_json::json!({ "items": items }));
}

/// Waits (up to 3 s) until `cond` holds; fails the test with `what` otherwise.
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..300 {
        if cond() {
            return;
        }
        sleep(10).await;
    }
    panic!("{what} never happened within 3 s");
}

/// Forgets every session draft (tests share one page, so one test's draft would leak into the next).
pub fn clear_session_storage() {
    if let Some(s) = web_sys::window().unwrap().session_storage().unwrap() {
        s.clear().unwrap();
    }
}

/// Everything in session storage, as one string (to check what was kept there).
pub fn session_storage_dump() -> String {
    let s = web_sys::window().unwrap().session_storage().unwrap().unwrap();
    let n = s.length().unwrap();
    (0..n)
        .filter_map(|i| s.key(i).unwrap())
        .map(|k| format!("{k}={}", s.get_item(&k).unwrap().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The path (and query) the browser is at.
pub fn location_path() -> String {
    let l = web_sys::window().unwrap().location();
    format!("{}{}", l.pathname().unwrap(), l.search().unwrap())
}

/// The focused element.
pub fn active_element() -> Option<Element> {
    web_sys::window().unwrap().document().unwrap().active_element()
}

/// Whether `el` takes space on the page (rendered, not `display: none`, not `hidden`).
pub fn is_visible(el: &Element) -> bool {
    let h: &HtmlElement = el.unchecked_ref();
    !h.hidden() && (h.offset_width() > 0 || h.offset_height() > 0)
}

/// GETs `url` with the browser's fetch (works for `blob:` URLs) and returns the body text.
pub async fn fetch_text(url: &str) -> String {
    use wasm_bindgen_futures::JsFuture;
    let window = web_sys::window().unwrap();
    let fetch: js_sys::Function = js_sys::Reflect::get(&window, &"fetch".into()).unwrap().unchecked_into();
    let resp =
        JsFuture::from(fetch.call1(&window, &url.into()).unwrap().unchecked_into::<js_sys::Promise>()).await.unwrap();
    let text: js_sys::Function = js_sys::Reflect::get(&resp, &"text".into()).unwrap().unchecked_into();
    JsFuture::from(text.call0(&resp).unwrap().unchecked_into::<js_sys::Promise>()).await.unwrap().as_string().unwrap()
}

/// Replaces `HTMLAnchorElement.prototype.click` with a recorder (so a download is captured, not
/// performed) until dropped.
pub struct AnchorClickSpy {
    handle: wasm_bindgen::JsValue,
}

impl AnchorClickSpy {
    pub fn install() -> Self {
        let install = js_sys::Function::new_no_args(
            r#"
            const proto = HTMLAnchorElement.prototype;
            const own = Object.prototype.hasOwnProperty.call(proto, "click");
            const original = proto.click;
            const calls = [];
            proto.click = function () {
                calls.push({ download: this.getAttribute("download"), href: this.href });
            };
            return {
                calls,
                restore() { if (own) { proto.click = original; } else { delete proto.click; } },
            };
            "#,
        );
        Self { handle: install.call0(&wasm_bindgen::JsValue::NULL).unwrap() }
    }

    /// `(download attribute, href)` of every anchor clicked so far.
    pub fn calls(&self) -> Vec<(Option<String>, String)> {
        let calls: js_sys::Array = js_sys::Reflect::get(&self.handle, &"calls".into()).unwrap().unchecked_into();
        calls
            .iter()
            .map(|c| {
                let download = js_sys::Reflect::get(&c, &"download".into()).unwrap().as_string();
                let href = js_sys::Reflect::get(&c, &"href".into()).unwrap().as_string().unwrap_or_default();
                (download, href)
            })
            .collect()
    }
}

impl Drop for AnchorClickSpy {
    fn drop(&mut self) {
        let restore: js_sys::Function = js_sys::Reflect::get(&self.handle, &"restore".into()).unwrap().unchecked_into();
        let _ = restore.call0(&self.handle);
    }
}

fn input_event(name: &str) -> web_sys::Event {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    web_sys::Event::new_with_event_init_dict(name, &init).unwrap()
}

impl Mounted {
    /// Types `value` into the textarea `css` (input event).
    pub async fn type_text(&self, css: &str, value: &str) {
        let area: web_sys::HtmlTextAreaElement = self.wait_for(css).await.unchecked_into();
        area.set_value(value);
        area.dispatch_event(&input_event("input")).unwrap();
        sleep(20).await;
    }

    /// Chooses the option `value` of the select `css` (change event).
    pub async fn choose(&self, css: &str, value: &str) {
        let select: web_sys::HtmlSelectElement = self.wait_for(css).await.unchecked_into();
        select.set_value(value);
        assert_eq!(select.value(), value, "{css} offers no option {value:?}");
        select.dispatch_event(&input_event("input")).unwrap();
        select.dispatch_event(&input_event("change")).unwrap();
        sleep(20).await;
    }

    /// Leaves the field `css` (blur event), as tabbing away would.
    pub async fn leave(&self, css: &str) {
        let el = self.wait_for(css).await;
        el.dispatch_event(&web_sys::Event::new("blur").unwrap()).unwrap();
        sleep(20).await;
    }

    /// The text of the first element matching `css` ("" when none).
    pub fn text_of(&self, css: &str) -> String {
        self.query(css).and_then(|e| e.text_content()).unwrap_or_default()
    }

    /// The attribute `name` of the first element matching `css`.
    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.query(css).and_then(|e| e.get_attribute(name))
    }

    /// The value of the input, select or textarea `css`.
    pub fn value_of(&self, css: &str) -> String {
        let el = self.query(css).unwrap_or_else(|| panic!("no {css}"));
        js_sys::Reflect::get(&el, &"value".into()).unwrap().as_string().unwrap_or_default()
    }

    /// The first element matching `css` whose text, trimmed, is `label`.
    pub fn with_text(&self, css: &str, label: &str) -> Option<HtmlElement> {
        self.all(css)
            .into_iter()
            .find(|e| e.text_content().unwrap_or_default().trim() == label)
            .map(|e| e.unchecked_into())
    }

    /// The elements `el`'s `aria-describedby` names.
    pub fn described_by(&self, el: &Element) -> Vec<Element> {
        let document = web_sys::window().unwrap().document().unwrap();
        el.get_attribute("aria-describedby")
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|id| document.get_element_by_id(id))
            .collect()
    }
}

/// A create endpoint as a strict server would answer it: the first answer for an
/// `Idempotency-Key`, refusal or not, is answered again for every repeat of that key (the console
/// must not rely on a server forgetting refusals). `answer` says what the world answers now.
/// Returns the keys sent, in order.
pub fn strict_idempotent_create(
    fake: &FakeTransport,
    path: &str,
    answer: impl Fn(&cmek_console::api::HttpRequest) -> (u16, String) + Send + Sync + 'static,
) -> Arc<std::sync::Mutex<Vec<String>>> {
    let kept = std::sync::Mutex::new(std::collections::HashMap::<String, (u16, String)>::new());
    let sent = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (s, path) = (sent.clone(), path.to_owned());
    fake.handle(move |req| {
        if req.method != "POST" || req.path != path {
            return None;
        }
        let key = req.headers.iter().find(|(n, _)| *n == "idempotency-key").map(|(_, v)| v.clone()).unwrap_or_default();
        s.lock().unwrap().push(key.clone());
        Some(kept.lock().unwrap().entry(key).or_insert_with(|| answer(req)).clone())
    });
    sent
}

// ---------------------------------------------------------------- shared fixtures

/// The Dedicated cluster the cluster and backup tests open (in the CMEK project).
pub const CLUSTER_ID: &str = "1379661944646414001";
pub const CLUSTER_NAME: &str = "orders-db";

/// `CLUSTER_ID` as the API answers it, in `status`: 2 TiDB and 3 TiKV nodes in us-west-2.
pub fn cluster_json(status: &str) -> serde_json::Value {
    serde_json::json!({
        "id": CLUSTER_ID, "project_id": CMEK_PROJECT, "name": CLUSTER_NAME,
        "cluster_type": "DEDICATED", "cloud_provider": "AWS", "region": "us-west-2",
        "create_timestamp": "1795833200",
        "config": {"port": 4000, "components": {
            "tidb": {"node_size": "8C16G", "node_quantity": 2},
            "tikv": {"node_size": "8C32G", "node_quantity": 3, "storage_size_gib": 500}
        }},
        "status": {"tidb_version": "v7.5.0", "cluster_status": status}
    })
}

impl Mounted {
    /// Waits for the button `css` to be disabled the accessible way (`aria-disabled`, not
    /// `disabled`: it stays focusable, and takes focus), with one visible element, on the page,
    /// saying why; answers that reason.
    pub async fn disabled_with_reason(&self, css: &str) -> String {
        let button = self.wait_for(&format!("{css}[aria-disabled='true']")).await;
        // Still a button a keyboard reaches: no `disabled`, and it takes focus.
        assert!(!button.has_attribute("disabled"), "stays focusable: {}", button.outer_html());
        button.unchecked_ref::<HtmlElement>().focus().unwrap();
        assert_eq!(self.focused_id(), button.id());
        // The reason is on screen and is what the button's description points at.
        let described = self.described_by(&button);
        assert_eq!(described.len(), 1, "aria-describedby names one element: {}", button.outer_html());
        let reason = &described[0];
        assert!(self.root.contains(Some(reason)), "the reason is part of the page");
        assert!(is_visible(reason), "the reason is visible: {}", reason.outer_html());
        reason.text_content().unwrap_or_default()
    }
}

/// An error answer's body as the server writes it, naming the code (never its number: the table
/// test in cmek-core pins the numbers).
pub fn error_body(code: cmek_core::error::ErrorCode, message: &str) -> String {
    serde_json::to_string(&cmek_core::error::ErrorResponse::new(code, message)).expect("an error serialises")
}
