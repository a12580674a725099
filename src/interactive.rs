//! The benchmark's marks: the wasm running, and a page that has its first data on screen.

/// Marks the moment the first data of a page is on screen and its handlers are attached (the
/// benchmark reads it with `performance.getEntriesByName`), and then, with the first screen up,
/// lets the other pages' wasm be fetched (`lazy_routes::prefetch`).
pub fn mark_interactive() {
    thread_local! { static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) }; }
    if DONE.with(|d| d.replace(true)) {
        return;
    }
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark("cmek:interactive");
    }
    crate::lazy_routes::prefetch();
}

/// Marks the moment the console's code starts running (its wasm compiled and instantiated): the
/// benchmark's waterfall splits a load at it, into fetching and compiling before and the
/// console's own work after.
pub fn mark_start() {
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark("cmek:start");
    }
}
