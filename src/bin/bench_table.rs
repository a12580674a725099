//! Benchmark entry, not part of the console: the console's own `ClusterTable` mounted alone, for
//! `scripts/bench` (built by trunk from `bench/table/index.html` into its own dist dir).
//!
//! The page exposes, on `window`:
//! - `benchPrepare(json)`: parses a JSON array of v1beta `ClusterItem`s and keeps it (not timed);
//! - `benchApply()`: hands the prepared list to the table, as a poll does (timed by the driver,
//!   which waits for the next painted frame);
//! - `benchWasmMemory()`: the bytes of the wasm linear memory (Rust's heap lives there, not in
//!   the JS heap);
//! - `benchReady`: true once mounted.

use cmek_console::components::ClusterTable;
use cmek_core::api::ClusterItem;
use leptos::prelude::*;
use leptos_router::components::Router;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

fn main() {
    console_error_panic_hook::set_once();
    let items = RwSignal::new(Vec::<ClusterItem>::new());
    let pending: Rc<RefCell<Option<Vec<ClusterItem>>>> = Rc::default();
    leptos::mount::mount_to_body(move || {
        view! {
            <Router>
                <main class="page">
                    <ClusterTable items=items href=Callback::new(|id: String| format!("/projects/1/clusters/{id}"))/>
                </main>
            </Router>
        }
    });
    let window = web_sys::window().expect("a window");
    let set = |name: &str, value: &JsValue| {
        js_sys::Reflect::set(&window, &JsValue::from_str(name), value).expect("set a window property");
    };
    let prepare = {
        let pending = pending.clone();
        Closure::<dyn Fn(String)>::new(move |json: String| {
            let list: Vec<ClusterItem> = serde_json::from_str(&json).expect("a JSON array of ClusterItem");
            *pending.borrow_mut() = Some(list);
        })
    };
    let apply = Closure::<dyn Fn()>::new(move || {
        if let Some(list) = pending.borrow_mut().take() {
            items.set(list);
        }
    });
    let memory = Closure::<dyn Fn() -> f64>::new(|| {
        wasm_bindgen::memory()
            .dyn_into::<js_sys::WebAssembly::Memory>()
            .map(|m| m.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64)
            .unwrap_or(0.0)
    });
    set("benchPrepare", prepare.as_ref());
    set("benchApply", apply.as_ref());
    set("benchWasmMemory", memory.as_ref());
    set("benchReady", &JsValue::TRUE);
    prepare.forget();
    apply.forget();
    memory.forget();
}
