#![cfg(not(target_arch = "wasm32"))]
//! The console's first load stays within its transfer budget: index.html and every asset it
//! names (the wasm-bindgen glue, the split loader, the main wasm, the CSS), as brotli -q 11 sends
//! them (the `.br` files trunk's hook writes beside the release build); and the lazy pages'
//! wasm (src/lazy_routes.rs) stays out of it. Deterministic: file sizes, no browser, no timing. The
//! wider picture (gzip, raw, the 150 KB target) is in docs/performance.md and `scripts/bench`.

use cmek_e2e::Setup;
use std::path::Path;

/// Measured 2026-11-28 on the release build: 380.3 KB (389.4 thousand bytes), of which the wasm is
/// 369.5 KB (Leptos's tachys and reactive_graph generic code is most of it; see
/// docs/performance.md). The budget is ~5% above, so that a change which grows the first load
/// noticeably fails here and is a decision, not an accident; raise it deliberately (and say why
/// in docs/performance.md) when a feature is worth the bytes. The product target is 150 KB.
/// Raised on 2026-11-30 to 420 KiB: issues 12–14 (the session-storage cache, the cluster form's
/// key warning, reachability messages, sub-path serving) measured 410,349 bytes.
/// Raised on 2026-11-30 to 440 KiB: issue 18 (a cluster's backups: list with keys, create,
/// delete, restore form; the backup types and rules of cmek-core) measured 432,149 bytes.
/// Lowered on 2026-11-30 to 430 KiB: issue 19 took float printing and parsing out of the console
/// and added the early-requests loader to index.html: 426,690 bytes, of which the wasm is
/// 413,584.
/// Lowered on 2026-11-30 to 420 KiB: issue 19 wrote the clusters table's rows by hand, computes
/// dates in the wasm and dropped the `serde_json::Value` serialiser: 424,329 bytes, of which the
/// wasm is 411,077.
/// Lowered on 2026-11-30 to 250 KiB: issue 19 split the wasm (src/lazy_routes.rs, scripts/split-wasm):
/// every page but the first screens is in a wasm fetched later. 241,946 bytes, of which the main
/// wasm is 227,534.
const BUDGET_BYTES: u64 = 250 * 1024;

/// Every `/path` in quotes in `html` that names a file of `dir` ending in .js, .wasm or .css.
fn assets_named_by(html: &str, dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for quote in ['"', '\''] {
        for piece in html.split(quote).skip(1).step_by(2) {
            let Some(file) = piece.strip_prefix('/') else { continue };
            let named = [".js", ".wasm", ".css"].iter().any(|e| file.ends_with(e));
            if named && dir.join(file).is_file() && !out.iter().any(|f| f == file) {
                out.push(file.to_owned());
            }
        }
    }
    out
}

/// The brotli size of `file`: its `.br` beside it, or brotli -q 11 run now.
fn brotli_size(file: &Path) -> u64 {
    let br = file.with_file_name(format!("{}.br", file.file_name().unwrap().to_string_lossy()));
    if let Ok(m) = std::fs::metadata(&br) {
        return m.len();
    }
    let out = std::process::Command::new("brotli")
        .args(["-q", "11", "-c"])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("brotli (scripts/setup installs it): {e}"));
    assert!(out.status.success(), "brotli {}", file.display());
    out.stdout.len() as u64
}

#[test]
fn the_first_load_stays_within_its_brotli_budget() {
    let Some(setup) = Setup::find() else { return };
    let dir = &setup.console_dir;
    let html = std::fs::read_to_string(dir.join("index.html")).expect("the built index.html");
    let assets = assets_named_by(&html, dir);
    for ext in [".js", ".wasm", ".css"] {
        assert!(
            assets.iter().any(|a| a.ends_with(ext)),
            "index.html names no {ext} file of {}: {assets:?}",
            dir.display()
        );
    }
    let lazy: Vec<_> = assets.iter().filter(|a| a.starts_with("split_") || a.starts_with("chunk_")).collect();
    assert!(lazy.is_empty(), "index.html names the lazy pages' wasm, which the first load must not fetch: {lazy:?}");
    assert!(
        assets.iter().any(|a| a.starts_with("__wasm_split-")),
        "index.html names no split loader (scripts/split-wasm did not run?): {assets:?}"
    );
    let mut lines = Vec::new();
    let mut total = 0;
    for file in std::iter::once("index.html".to_owned()).chain(assets) {
        let size = brotli_size(&dir.join(&file));
        lines.push(format!("  {file}: {size} bytes"));
        total += size;
    }
    eprintln!("first load, brotli: {total} bytes (budget {BUDGET_BYTES})\n{}", lines.join("\n"));
    assert!(
        total <= BUDGET_BYTES,
        "the console's first load is {total} bytes of brotli, over its budget of {BUDGET_BYTES}:\n{}\n\
         Look at what grew (docs/performance.md shows how: twiggy on the wasm); raise BUDGET_BYTES \
         only as a decision, with the reason in docs/performance.md.",
        lines.join("\n")
    );
}
