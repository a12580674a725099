//! The first screen's moments: the wasm running, and a page with its first data on screen (the
//! benchmark's marks), and the work that waits until then (`after_first_screen`).

use std::cell::{Cell, RefCell};

thread_local! {
    static DONE: Cell<bool> = const { Cell::new(false) };
    static AFTER: RefCell<Vec<Box<dyn FnOnce()>>> = const { RefCell::new(Vec::new()) };
}

/// Marks the moment the first data of a page is on screen and its handlers are attached (the
/// benchmark reads it with `performance.getEntriesByName`), and then, with the first screen up,
/// lets the other pages' wasm be fetched (`lazy_routes::prefetch`) and runs what waited for it
/// (`after_first_screen`).
pub fn mark_interactive() {
    if DONE.with(|d| d.replace(true)) {
        return;
    }
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark("cmek:interactive");
    }
    crate::lazy_routes::prefetch();
    for f in AFTER.with(|a| std::mem::take(&mut *a.borrow_mut())) {
        f();
    }
}

/// Runs `f` once the first screen is up (at once if it is): work no first screen needs, kept
/// off its path. A page that is not a first screen (it never marks) asks for what it needs
/// itself.
pub fn after_first_screen(f: impl FnOnce() + 'static) {
    if DONE.with(Cell::get) {
        f();
    } else {
        AFTER.with(|a| a.borrow_mut().push(Box::new(f)));
    }
}

/// Marks the moment the console's code starts running (its wasm compiled and instantiated): the
/// benchmark's waterfall splits a load at it, into fetching and compiling before and the
/// console's own work after.
pub fn mark_start() {
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark("cmek:start");
    }
}
