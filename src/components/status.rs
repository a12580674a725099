use cmek_core::api::ClusterStatus;
use cmek_core::kms::KeyHealthState;
use leptos::prelude::*;

/// A cluster status: an icon and a text label (never colour alone).
#[component]
pub fn ClusterStatusBadge(
    /// The status to show.
    #[prop(into)]
    status: Signal<ClusterStatus>,
) -> impl IntoView {
    move || cluster_status_badge(status.get())
}

/// How a status looks: the badge's class and its icon (with the status's label: never colour
/// alone). The clusters table shows the same badge with its own DOM code.
pub fn badge_look(status: ClusterStatus) -> (&'static str, &'static str) {
    match status {
        ClusterStatus::Available => ("badge ok", "●"),
        ClusterStatus::Paused => ("badge idle", "❚❚"),
        ClusterStatus::Unavailable | ClusterStatus::Unknown => ("badge bad", "✕"),
        _ => ("badge busy", "◌"),
    }
}

/// The badge of one status. Its parts are static strings, so a badge rebuilt for a new status
/// updates its class and two texts in place.
fn cluster_status_badge(status: ClusterStatus) -> impl IntoView {
    let (class, icon) = badge_look(status);
    view! {
        <span class=class>
            <span class="icon" aria-hidden="true">{icon}</span>
            {status.label()}
        </span>
    }
}

/// The health of a configured key: an icon and a label.
#[component]
pub fn KeyHealthBadge(
    /// The state to show.
    #[prop(into)]
    state: Signal<KeyHealthState>,
) -> impl IntoView {
    let tone = move || match state.get() {
        KeyHealthState::Accessible => ("ok", "✓"),
        KeyHealthState::Unknown => ("idle", "?"),
        KeyHealthState::KmsUnreachable => ("busy", "!"),
        _ => ("bad", "✕"),
    };
    view! {
        <span class=move || format!("badge {}", tone().0) data-state=move || state.get().as_str()>
            <span class="icon" aria-hidden="true">{move || tone().1}</span>
            {move || state.get().label()}
        </span>
    }
}

/// Whether a project encrypts with a customer-managed key.
#[component]
pub fn CmekBadge(
    /// The project's `aws_cmek_enabled`.
    enabled: bool,
) -> impl IntoView {
    if enabled {
        view! {
            <span class="badge cmek">
                <svg class="icon" viewBox="0 0 16 16" width="11" height="11" aria-hidden="true">
                    <path fill="currentColor" d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 0 0-4 0v2z"/>
                </svg>
                "CMEK"
            </span>
        }
        .into_any()
    } else {
        view! { <span class="badge plain">"Escrow key"</span> }.into_any()
    }
}
