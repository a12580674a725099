//! The upstream's request budget (TiDB Cloud: 100 a minute per key), shared by every user of the
//! gateway. The gateway counts what it sends and believes the upstream's own
//! `X-Ratelimit-Remaining-Minute` / `X-Ratelimit-Reset` when it sends them. Reads stop short of
//! the last tenth of the budget, so that changes still go through; after an upstream 429 nothing
//! is sent until its reset. The less is left, the longer answers are reused (`cache_ms`), which
//! is what slows every console's polling of the upstream down.

use std::sync::Mutex;

const MINUTE_MS: i64 = 60_000;

#[derive(Debug)]
struct State {
    remaining: u32,
    /// When the current minute's budget is renewed (Unix ms).
    reset_at_ms: i64,
    /// After an upstream 429: nothing is sent before this (Unix ms).
    throttled_until_ms: i64,
    sent: u64,
}

pub struct Budget {
    pub limit: u32,
    state: Mutex<State>,
}

/// What kind of request asks for budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    Read,
    Write,
}

/// The budget as server info shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
    pub throttled: bool,
    pub sent: u64,
}

impl Budget {
    pub fn new(limit: u32) -> Self {
        Self { limit, state: Mutex::new(State { remaining: limit, reset_at_ms: 0, throttled_until_ms: 0, sent: 0 }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn roll(&self, s: &mut State, now_ms: i64) {
        if now_ms >= s.reset_at_ms {
            s.remaining = self.limit;
            s.reset_at_ms = now_ms + MINUTE_MS;
        }
    }

    /// The requests reads leave for changes.
    fn reserve(&self) -> u32 {
        (self.limit / 10).max(1)
    }

    /// Takes one request from the budget, or says in how many seconds to ask again.
    pub fn acquire(&self, what: Use, now_ms: i64) -> Result<(), u64> {
        let mut s = self.lock();
        if now_ms < s.throttled_until_ms {
            return Err(secs_until(s.throttled_until_ms, now_ms));
        }
        self.roll(&mut s, now_ms);
        let floor = if what == Use::Read { self.reserve() } else { 0 };
        if s.remaining <= floor {
            return Err(secs_until(s.reset_at_ms, now_ms));
        }
        s.remaining -= 1;
        s.sent += 1;
        Ok(())
    }

    /// What an upstream answer said about the budget (`X-Ratelimit-Remaining-Minute` and
    /// `X-Ratelimit-Reset` seconds, when sent); `limited` for its 429.
    pub fn observe(&self, remaining: Option<u32>, reset_secs: Option<u64>, limited: bool, now_ms: i64) {
        let mut s = self.lock();
        if let Some(r) = remaining {
            s.remaining = s.remaining.min(r);
        }
        if let Some(secs) = reset_secs {
            s.reset_at_ms = now_ms + (secs.min(3600) as i64) * 1000;
        }
        if limited {
            s.remaining = 0;
            // Without a Reset header, a whole minute.
            let until = now_ms + reset_secs.map_or(MINUTE_MS, |r| (r.clamp(1, 3600) as i64) * 1000);
            s.throttled_until_ms = until;
            s.reset_at_ms = s.reset_at_ms.max(until);
        }
    }

    pub fn snapshot(&self, now_ms: i64) -> Snapshot {
        let mut s = self.lock();
        self.roll(&mut s, now_ms);
        Snapshot {
            limit: self.limit,
            remaining: s.remaining,
            reset_secs: secs_until(s.reset_at_ms, now_ms),
            throttled: now_ms < s.throttled_until_ms,
            sent: s.sent,
        }
    }

    /// How long an answer is reused now: `base_ms` while at least half the budget is left,
    /// four times that down to a fifth, then until the budget is renewed.
    pub fn cache_ms(&self, base_ms: u64, now_ms: i64) -> u64 {
        let b = self.snapshot(now_ms);
        let left = u64::from(b.remaining) * 10 / u64::from(self.limit.max(1));
        if b.throttled || left < 2 {
            (b.reset_secs * 1000).max(base_ms)
        } else if left < 5 {
            base_ms * 4
        } else {
            base_ms
        }
    }
}

fn secs_until(at_ms: i64, now_ms: i64) -> u64 {
    ((at_ms - now_ms).max(0) as u64).div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_leave_a_reserve_for_changes_and_the_minute_renews() {
        let b = Budget::new(10);
        for _ in 0..9 {
            b.acquire(Use::Read, 1_000).unwrap();
        }
        assert_eq!(b.acquire(Use::Read, 1_000), Err(60));
        b.acquire(Use::Write, 1_000).unwrap();
        assert!(b.acquire(Use::Write, 1_000).is_err());
        assert_eq!(b.snapshot(1_000).sent, 10);
        b.acquire(Use::Read, 61_000).unwrap();
    }

    #[test]
    fn an_upstream_429_stops_everything_until_its_reset() {
        let b = Budget::new(100);
        b.observe(Some(0), Some(23), true, 0);
        assert_eq!(b.acquire(Use::Write, 1_000), Err(22));
        assert!(b.snapshot(1_000).throttled);
        assert_eq!(b.cache_ms(5_000, 1_000), 22_000);
        b.acquire(Use::Read, 23_000).unwrap();
    }

    #[test]
    fn answers_are_reused_longer_as_the_budget_runs_low() {
        let b = Budget::new(100);
        assert_eq!(b.cache_ms(5_000, 0), 5_000);
        b.observe(Some(30), Some(40), false, 0);
        assert_eq!(b.cache_ms(5_000, 0), 20_000);
        b.observe(Some(5), None, false, 0);
        assert_eq!(b.cache_ms(5_000, 0), 40_000);
    }
}
