//! In gateway mode (server info has `gateway`): which organisation API the console manages, how
//! much of the upstream's shared request budget is left, and how old lists may be. Nothing shows
//! in front of the reference server. The key pair never reaches the console; only the upstream's
//! address does.

use crate::state;
use cmek_core::ext::GatewayInfo;
use leptos::prelude::*;

/// The gateway's state in words.
pub fn describe(g: &GatewayInfo) -> (String, String) {
    let budget = if g.throttled {
        format!(
            "The upstream limited the gateway's key: it asks again in {} s; until then pages show the last answers.",
            g.budget_reset_secs
        )
    } else {
        format!(
            "Upstream budget: {} of {} requests left this minute (renews in {} s), shared by everyone using this gateway.",
            g.budget_remaining, g.budget_limit, g.budget_reset_secs
        )
    };
    let fresh = if g.cache_secs_now > g.cache_secs {
        format!(
            "Lists are at most {} s old (longer than the usual {} s while the budget is low).",
            g.cache_secs_now, g.cache_secs
        )
    } else {
        format!("Lists are at most {} s old.", g.cache_secs_now)
    };
    (budget, fresh)
}

/// The gateway banner under the header; refreshed with the polling of the pages (server info is
/// answered by the gateway itself and costs no upstream request).
#[component]
pub fn GatewayStatus() -> impl IntoView {
    let info = state::server_info();
    let api = state::api();
    let latest = RwSignal::new(None::<GatewayInfo>);
    Effect::new(move |_| {
        if let Some(Ok(Some(i))) = info.get() {
            latest.set(i.gateway);
        }
    });
    let gateway_mode = Signal::derive(move || latest.with(Option::is_some));
    let refresh = move || {
        if !gateway_mode.get_untracked() {
            return;
        }
        let api = api.clone();
        leptos::task::spawn_local(async move {
            if let Ok(Some(i)) = api.server_info_fresh().await {
                latest.set(i.gateway);
            }
        });
    };
    crate::live::use_poll(refresh, Signal::stored(false));
    move || {
        latest.get().map(|g| {
            let (budget, fresh) = describe(&g);
            view! {
                <section class="notice info gateway" aria-label="Gateway">
                    <p>
                        <strong>"Gateway to " {g.upstream.clone()}</strong>
                        ": this server holds the organisation's API key and calls the TiDB Cloud API for you. The sandbox KMS is off: keys are in AWS KMS."
                    </p>
                    <p class="gateway-budget">{budget}" "{fresh}</p>
                </section>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(remaining: u32, now: u64, throttled: bool) -> GatewayInfo {
        GatewayInfo {
            upstream: "https://api.tidbcloud.com".into(),
            budget_limit: 100,
            budget_remaining: remaining,
            budget_reset_secs: 23,
            cache_secs: 5,
            cache_secs_now: now,
            throttled,
            requests_sent: 7,
        }
    }

    #[test]
    fn the_budget_and_freshness_in_words() {
        let (budget, fresh) = describe(&info(87, 5, false));
        assert_eq!(
            budget,
            "Upstream budget: 87 of 100 requests left this minute (renews in 23 s), shared by everyone using this gateway."
        );
        assert_eq!(fresh, "Lists are at most 5 s old.");
        let (_, fresh) = describe(&info(10, 23, false));
        assert!(fresh.contains("at most 23 s old (longer than the usual 5 s"), "{fresh}");
        let (budget, _) = describe(&info(0, 23, true));
        assert!(budget.contains("asks again in 23 s"), "{budget}");
    }
}
