//! Requests per minute per credential, as TiDB Cloud counts them: a fixed window per wall-clock
//! minute, `X-Ratelimit-Limit-Minute`, `X-Ratelimit-Remaining-Minute` and `X-Ratelimit-Reset`
//! (seconds until the window resets) on every authenticated answer.

use std::collections::HashMap;
use std::net::IpAddr;

const WINDOW_MS: i64 = 60_000;

/// The outcome of counting one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Whole seconds until the window resets (at least 1).
    pub reset_secs: i64,
}

/// Counts per key in the current minute. `limit` 0 means no limit (nothing is counted).
#[derive(Default)]
pub struct Limiter {
    windows: HashMap<String, (i64, u32)>,
}

impl Limiter {
    /// Counts a request of `key` at `now_ms` against `limit` per minute. A refused request is
    /// not counted, so the window's count never exceeds the limit.
    pub fn hit(&mut self, key: &str, now_ms: i64, limit: u32) -> Decision {
        let window = now_ms.div_euclid(WINDOW_MS);
        let reset_ms = (window + 1) * WINDOW_MS - now_ms;
        let reset_secs = ((reset_ms + 999) / 1000).max(1);
        if self.windows.len() >= 10_000 {
            self.windows.retain(|_, (w, _)| *w == window);
        }
        let entry = self.windows.entry(key.to_owned()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        let allowed = entry.1 < limit;
        if allowed {
            entry.1 += 1;
        }
        Decision { allowed, limit, remaining: limit.saturating_sub(entry.1), reset_secs }
    }

    /// How many requests `key` has left in the current window (for a failure count that is
    /// only charged afterwards).
    pub fn exhausted(&self, key: &str, now_ms: i64, limit: u32) -> bool {
        let window = now_ms.div_euclid(WINDOW_MS);
        self.windows.get(key).is_some_and(|(w, n)| *w == window && *n >= limit)
    }
}

/// Whole seconds until the current minute's window resets (at least 1).
pub fn reset_secs(now_ms: i64) -> i64 {
    let reset_ms = (now_ms.div_euclid(WINDOW_MS) + 1) * WINDOW_MS - now_ms;
    ((reset_ms + 999) / 1000).max(1)
}

/// `e` with `Retry-After: secs`.
pub fn retry_after(e: crate::error::ApiError, secs: i64) -> crate::error::ApiError {
    e.with_retry_after(secs)
}

/// Failed sign-ins per client address: [`Backoff::FREE_FAILURES`] are free; after that the
/// address waits a minute, doubling with each further failure up to an hour. One address
/// failing never makes another wait. An address's count is forgotten on success, or an hour
/// after its last failure. Bounded: at most [`Backoff::ADDRESSES`] addresses are tracked, the
/// least recently failed dropped first.
#[derive(Default)]
pub struct Backoff {
    by_addr: HashMap<IpAddr, Failures>,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last_ms: i64,
    locked_until_ms: i64,
}

impl Backoff {
    pub const FREE_FAILURES: u32 = 10;
    pub const FIRST_WAIT_MS: i64 = 60_000;
    pub const MAX_WAIT_MS: i64 = 3_600_000;
    const FORGET_MS: i64 = 3_600_000;
    const ADDRESSES: usize = 10_000;

    /// Seconds `ip` must still wait, if it must.
    pub fn wait_secs(&self, ip: IpAddr, now_ms: i64) -> Option<i64> {
        let f = self.by_addr.get(&ip)?;
        (f.locked_until_ms > now_ms).then(|| ((f.locked_until_ms - now_ms + 999) / 1000).max(1))
    }

    pub fn failed(&mut self, ip: IpAddr, now_ms: i64) {
        if self.by_addr.len() >= Self::ADDRESSES && !self.by_addr.contains_key(&ip) {
            self.by_addr.retain(|_, f| now_ms - f.last_ms < Self::FORGET_MS);
            if self.by_addr.len() >= Self::ADDRESSES {
                let oldest = self.by_addr.iter().min_by_key(|(_, f)| f.last_ms).map(|(a, _)| *a);
                if let Some(a) = oldest {
                    self.by_addr.remove(&a);
                }
            }
        }
        let f = self.by_addr.entry(ip).or_insert(Failures { count: 0, last_ms: now_ms, locked_until_ms: 0 });
        if now_ms - f.last_ms >= Self::FORGET_MS {
            *f = Failures { count: 0, last_ms: now_ms, locked_until_ms: 0 };
        }
        f.count += 1;
        f.last_ms = now_ms;
        if f.count >= Self::FREE_FAILURES {
            let doublings = (f.count - Self::FREE_FAILURES).min(16);
            f.locked_until_ms = now_ms + (Self::FIRST_WAIT_MS << doublings).min(Self::MAX_WAIT_MS);
        }
    }

    pub fn forget(&mut self, ip: IpAddr) {
        self.by_addr.remove(&ip);
    }
}

/// The 429 message, in the words of the real API.
pub fn exceeded_message(limit: u32, per: &str, reset_secs: i64) -> String {
    format!(
        "The request exceeded the limit of {limit} times per {per} per minute. Try again in {reset_secs} s (the window resets then), or start the server with a higher --rate-limit-per-minute."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key_per_minute() {
        let mut l = Limiter::default();
        let t = 60_000 * 28_333_334 + 40_500; // 40.5 s into a minute
        let d = l.hit("a", t, 3);
        assert_eq!(d, Decision { allowed: true, limit: 3, remaining: 2, reset_secs: 20 });
        assert!(l.hit("a", t, 3).allowed);
        let d = l.hit("a", t + 1000, 3);
        assert_eq!((d.allowed, d.remaining, d.reset_secs), (true, 0, 19));
        let d = l.hit("a", t + 1000, 3);
        assert_eq!((d.allowed, d.remaining), (false, 0));
        assert!(l.exhausted("a", t + 1000, 3));
        assert!(l.hit("b", t, 3).allowed, "another key has its own count");
        // The next minute starts afresh.
        let d = l.hit("a", t + 19_500, 3);
        assert_eq!((d.allowed, d.remaining, d.reset_secs), (true, 2, 60));
        assert!(!l.exhausted("a", t + 19_500, 3));
    }

    #[test]
    fn reset_is_at_least_one_second() {
        let mut l = Limiter::default();
        assert_eq!(l.hit("a", 59_999, 1).reset_secs, 1);
        assert_eq!(l.hit("a", 60_000, 1).reset_secs, 60);
    }

    #[test]
    fn sign_in_backoff_is_per_address() {
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap());
        let mut l = Backoff::default();
        for _ in 0..Backoff::FREE_FAILURES - 1 {
            l.failed(a, 1000);
        }
        assert_eq!(l.wait_secs(a, 1000), None, "nine failures are free");
        l.failed(a, 1000);
        assert_eq!(l.wait_secs(a, 1000), Some(60));
        assert_eq!(l.wait_secs(b, 1000), None, "another address does not wait");
        assert_eq!(l.wait_secs(a, 61_000), None);
        l.failed(a, 61_000);
        assert_eq!(l.wait_secs(a, 61_000), Some(120), "doubles");
        for _ in 0..20 {
            l.failed(a, 61_000);
        }
        assert_eq!(l.wait_secs(a, 61_000), Some(3600), "at most an hour");
        l.forget(a);
        assert_eq!(l.wait_secs(a, 61_000), None);
        assert_eq!(reset_secs(59_999), 1);
    }

    #[test]
    fn message() {
        let m = exceeded_message(100, "apikey", 23);
        assert!(m.starts_with("The request exceeded the limit of 100 times per apikey per minute."), "{m}");
    }
}
