//! Headless Chromium through chromedriver, like the e2e harness's `Browser`, plus the two flags the
//! memory figures need (`--enable-precise-memory-info`, `--js-flags=--expose-gc`). Sessions are
//! the harness's `Page`, so its helpers (and `Page::sign_in`) apply.

use cmek_e2e::{Browser, Page, Setup};
use fantoccini::wd::TimeoutConfiguration;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// What the memory figures need, on top of the harness's flags.
const BENCH_ARGS: &[&str] = &[
    "--enable-precise-memory-info",
    "--js-flags=--expose-gc",
    // A page left for the next run must not stay alive in the back/forward cache (it would
    // count in the next page's heap).
    "--disable-features=BackForwardCache",
];

pub struct Chrome(Browser);

impl Chrome {
    pub async fn start(setup: &Setup) -> Self {
        Self(Browser::start(setup).await)
    }

    /// A fresh browser with its own new profile (so an empty cache) at 1280×900.
    pub async fn session(&self) -> Page {
        let page = self.0.session_with(BENCH_ARGS).await;
        // A 10,000-row render takes longer than a test's page would.
        let timeouts = TimeoutConfiguration::new(
            Some(Duration::from_secs(180)),
            Some(Duration::from_secs(60)),
            Some(Duration::ZERO),
        );
        page.client.update_timeouts(timeouts).await.expect("set the timeouts");
        page
    }

    pub async fn stop(self) {
        self.0.stop().await;
    }
}

/// Polls a JavaScript expression until it is neither null nor undefined; its value.
pub async fn wait_value(page: &Page, what: &str, expr: &str, patience: Duration) -> Value {
    let script =
        format!("try {{ const v = ({expr}); return v === undefined ? null : v; }} catch (e) {{ return null; }}");
    let start = Instant::now();
    loop {
        let v = page.js(&script).await;
        if !v.is_null() {
            return v;
        }
        if start.elapsed() > patience {
            let text = page.text().await;
            panic!("waited {patience:?} in vain for {what} ({expr}); the page shows:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Runs an operation of `bench/table/harness.js` in the page; its result.
pub async fn harness(page: &Page, op: &str, arg: Value) -> Value {
    let script = format!(
        "{}\nconst done = arguments[arguments.length - 1];\nbench(arguments[0], arguments[1]).then(done, (e) => done({{ error: String((e && e.stack) || e) }}));",
        include_str!("../table/harness.js")
    );
    let v = page.client.execute_async(&script, vec![json!(op), arg]).await.expect("the harness script");
    if let Some(e) = v.get("error") {
        let console = page.console_errors().await.join("\n");
        panic!("harness {op} failed in the page: {e}\nthe browser console says:\n{console}");
    }
    v
}
