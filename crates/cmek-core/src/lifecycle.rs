//! The simulated cluster lifecycle: CREATING → AVAILABLE; pause only from AVAILABLE
//! (PAUSING → PAUSED); resume only from PAUSED (RESUMING → AVAILABLE); components only from
//! AVAILABLE (MODIFYING → AVAILABLE).
//!
//! A transition is stored as "status now, what it settles to, and when", so the status at any
//! moment is derived from persisted timestamps: a restart in the middle of a transition loses
//! nothing, and no timer has to fire for the answer to be right.

use crate::api::ClusterStatus;
use crate::error::{ErrorCode, RuleError};

/// How long each transition takes, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Durations {
    pub create_ms: i64,
    pub pause_ms: i64,
    pub resume_ms: i64,
    pub modify_ms: i64,
}

impl Durations {
    /// Every transition takes `ms`.
    pub const fn uniform(ms: i64) -> Self {
        Self { create_ms: ms, pause_ms: ms, resume_ms: ms, modify_ms: ms }
    }
}

/// A cluster's lifecycle state as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    pub status: ClusterStatus,
    /// Where a transition ends, and when (Unix ms).
    pub settles: Option<(ClusterStatus, i64)>,
}

/// What the cluster is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Pause,
    Resume,
    Modify,
}

impl Action {
    const fn verb(self) -> &'static str {
        match self {
            Action::Pause => "paused",
            Action::Resume => "resumed",
            Action::Modify => "modified",
        }
    }
}

impl Lifecycle {
    pub const fn stable(status: ClusterStatus) -> Self {
        Self { status, settles: None }
    }

    /// A new cluster.
    pub fn creating(now_ms: i64, d: Durations) -> Self {
        Self {
            status: ClusterStatus::Creating,
            settles: Some((ClusterStatus::Available, now_ms.saturating_add(d.create_ms))),
        }
    }

    /// The status at `now_ms`.
    pub fn status_at(&self, now_ms: i64) -> ClusterStatus {
        match self.settles {
            Some((to, at)) if at <= now_ms => to,
            _ => self.status,
        }
    }

    /// The stored form at `now_ms`: a finished transition becomes the stable status.
    pub fn settled(&self, now_ms: i64) -> Self {
        match self.settles {
            Some((to, at)) if at <= now_ms => Self::stable(to),
            _ => *self,
        }
    }

    /// The next state after `action` at `now_ms`, or why the cluster cannot do it now.
    pub fn apply(&self, action: Action, now_ms: i64, d: Durations) -> Result<Self, RuleError> {
        let current = self.status_at(now_ms);
        let (from, via, to, ms) = match action {
            Action::Pause => (ClusterStatus::Available, ClusterStatus::Pausing, ClusterStatus::Paused, d.pause_ms),
            Action::Resume => (ClusterStatus::Paused, ClusterStatus::Resuming, ClusterStatus::Available, d.resume_ms),
            Action::Modify => {
                (ClusterStatus::Available, ClusterStatus::Modifying, ClusterStatus::Available, d.modify_ms)
            }
        };
        if current != from {
            return Err(RuleError::new(
                ErrorCode::ClusterStateConflict,
                format!(
                    "the cluster can be {} only when its status is {}; it is {}",
                    action.verb(),
                    from.as_str(),
                    current.as_str()
                ),
            ));
        }
        Ok(Self { status: via, settles: Some((to, now_ms.saturating_add(ms))) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ClusterStatus::*;

    const D: Durations = Durations::uniform(1000);

    #[test]
    fn create_then_available() {
        let l = Lifecycle::creating(0, D);
        assert_eq!(l.status_at(999), Creating);
        assert_eq!(l.status_at(1000), Available);
        assert_eq!(l.settled(1000), Lifecycle::stable(Available));
        assert_eq!(l.settled(10), l);
    }

    #[test]
    fn pause_and_resume_only_from_their_states() {
        let l = Lifecycle::creating(0, D);
        let e = l.apply(Action::Pause, 10, D).unwrap_err();
        assert_eq!(e.code, ErrorCode::ClusterStateConflict);
        assert!(e.message.contains("AVAILABLE") && e.message.contains("CREATING"), "{}", e.message);
        let p = l.apply(Action::Pause, 1000, D).unwrap();
        assert_eq!(p.status_at(1500), Pausing);
        assert!(p.apply(Action::Pause, 1500, D).is_err());
        assert!(p.apply(Action::Resume, 1500, D).is_err());
        assert_eq!(p.status_at(2000), Paused);
        let r = p.apply(Action::Resume, 2000, D).unwrap();
        assert_eq!(r.status_at(2001), Resuming);
        assert_eq!(r.status_at(3000), Available);
        assert!(Lifecycle::stable(Paused).apply(Action::Modify, 0, D).is_err());
        let m = Lifecycle::stable(Available).apply(Action::Modify, 0, D).unwrap();
        assert_eq!((m.status_at(1), m.status_at(1000)), (Modifying, Available));
    }
}
