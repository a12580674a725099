//! Where a measured step spends its script time: a DevTools CPU profile (`Profiler` domain) around
//! it, summed by function (self time), for the log. Names of wasm functions need a wasm with its
//! name section (docs/performance.md, "Profiling").

use cmek_e2e::Page;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Starts sampling every 100 µs in `page`.
pub async fn start(page: &Page) {
    page.cdp("Profiler.enable", json!({})).await;
    page.cdp("Profiler.setSamplingInterval", json!({ "interval": 100 })).await;
    page.cdp("Profiler.start", json!({})).await;
}

/// Stops sampling and returns the `top` functions by self time, one per line.
pub async fn stop(page: &Page, top: usize) -> String {
    let answer = page.cdp("Profiler.stop", json!({})).await;
    page.cdp("Profiler.disable", json!({})).await;
    summarize(&answer["profile"], top)
}

/// Self time per function name, from a `Profiler.Profile`: each sample counts the time to the next
/// one (`timeDeltas`, µs) against the node it hit.
fn summarize(profile: &Value, top: usize) -> String {
    let nodes = profile["nodes"].as_array().map(Vec::as_slice).unwrap_or_default();
    let name_of: HashMap<u64, String> = nodes
        .iter()
        .map(|n| {
            let f = &n["callFrame"];
            let name = f["functionName"].as_str().filter(|s| !s.is_empty()).unwrap_or("(anonymous)");
            let url = f["url"].as_str().unwrap_or_default();
            let file = url.rsplit('/').next().unwrap_or_default();
            (
                n["id"].as_u64().unwrap_or_default(),
                if file.is_empty() { name.to_owned() } else { format!("{name} ({file})") },
            )
        })
        .collect();
    let samples = profile["samples"].as_array().map(Vec::as_slice).unwrap_or_default();
    let deltas = profile["timeDeltas"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut self_us: HashMap<&str, f64> = HashMap::new();
    let mut total = 0.0;
    for (i, s) in samples.iter().enumerate() {
        // timeDeltas[i] is the time before sample i; the sample's own span is the next delta.
        let span = deltas.get(i + 1).and_then(Value::as_f64).unwrap_or(0.0);
        let name = s.as_u64().and_then(|id| name_of.get(&id)).map_or("?", String::as_str);
        *self_us.entry(name).or_default() += span;
        total += span;
    }
    let mut by_time: Vec<(&str, f64)> = self_us.into_iter().collect();
    by_time.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out = format!("{:.0} ms sampled; self time by function:", total / 1000.0);
    for (name, us) in by_time.into_iter().take(top) {
        let name: String = name.chars().take(160).collect();
        out.push_str(&format!("\n  {:8.1} ms {:5.1}%  {name}", us / 1000.0, 100.0 * us / total.max(1.0)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_time_is_summed_per_function() {
        let profile = json!({
            "nodes": [
                {"id": 1, "callFrame": {"functionName": "(root)", "url": ""}},
                {"id": 2, "callFrame": {"functionName": "render", "url": "http://x/app.js"}},
                {"id": 3, "callFrame": {"functionName": "render", "url": "http://x/app.js"}},
                {"id": 4, "callFrame": {"functionName": "", "url": ""}},
            ],
            "samples": [2, 3, 4, 2],
            "timeDeltas": [0, 300, 100, 600],
        });
        let s = summarize(&profile, 5);
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines[0].starts_with("1 ms sampled"), "{s}");
        // render: 300 (sample 1) + 100 (sample 2) + 0 (the last sample has no span); anonymous: 600.
        assert!(lines[1].contains("0.6 ms") && lines[1].contains("(anonymous)"), "{s}");
        assert!(lines[2].contains("0.4 ms") && lines[2].contains("render (app.js)"), "{s}");
    }
}
