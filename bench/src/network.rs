//! Network profiles for the load → interactive measurements: loopback as it is, and two mobile
//! networks emulated by Chromium itself (DevTools' `Network.emulateNetworkConditions`, sent
//! through chromedriver's `goog/cdp/execute`). Each page is visited cold (a new profile: empty
//! HTTP, JS and wasm code caches) and then warm (the same browser again, after a pause in which
//! V8 writes the wasm code cache).

use cmek_e2e::Page;
use serde_json::json;

/// Emulated conditions, as DevTools applies them: every request waits at least `rtt_ms` for its
/// response headers, and bodies arrive at most at `down_bits` per second (shared by all requests).
#[derive(Clone, Copy, Debug)]
pub struct Conditions {
    pub rtt_ms: f64,
    pub down_bits: f64,
    pub up_bits: f64,
}

#[derive(Clone, Copy, Debug)]
pub struct Profile {
    /// For `--profiles` and the log.
    pub key: &'static str,
    /// For the table's section heads.
    pub label: &'static str,
    /// `None`: the loopback interface as it is.
    pub conditions: Option<Conditions>,
}

/// Loopback, "fast 4G" (the figures: 9 Mbit/s down, 60 ms round trip; 1.5 Mbit/s up as in
/// DevTools' preset of that name) and "slow 4G" (Lighthouse's mobile throttling: 1.6 Mbit/s down,
/// 750 kbit/s up, 150 ms round trip).
pub const PROFILES: [Profile; 3] = [
    Profile { key: "loopback", label: "loopback", conditions: None },
    Profile {
        key: "fast4g",
        label: "fast 4G-like: 9 Mbit/s down, 1.5 Mbit/s up, 60 ms RTT",
        conditions: Some(Conditions { rtt_ms: 60.0, down_bits: 9e6, up_bits: 1.5e6 }),
    },
    Profile {
        key: "slow4g",
        label: "slow 4G-like: 1.6 Mbit/s down, 750 kbit/s up, 150 ms RTT",
        conditions: Some(Conditions { rtt_ms: 150.0, down_bits: 1.6e6, up_bits: 750e3 }),
    },
];

impl Conditions {
    /// How long `bytes` take to arrive at this profile's download rate, in ms: the part of a
    /// load that is due to its size alone.
    pub fn transfer_ms(&self, bytes: u64) -> f64 {
        bytes as f64 * 8.0 / self.down_bits * 1000.0
    }
}

/// Puts the tab of `page` under `profile`'s conditions (kept across its navigations).
pub async fn apply(page: &Page, profile: &Profile) {
    let Some(c) = profile.conditions else { return };
    page.cdp("Network.enable", json!({})).await;
    let params = json!({
        "offline": false,
        "latency": c.rtt_ms,
        // DevTools takes bytes per second.
        "downloadThroughput": c.down_bits / 8.0,
        "uploadThroughput": c.up_bits / 8.0,
    });
    page.cdp("Network.emulateNetworkConditions", params).await;
}
