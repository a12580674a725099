//! Unix time as a UTC calendar date, the one place it is computed: the API's ISO 8601 backup
//! times, the CLI's and the console's times for people. Integer arithmetic only (no clock, no
//! float, no browser `Date`): the console formats one per table row, and any `i64` is a date.

/// A UTC date and time of day, to the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTime {
    /// Proleptic Gregorian; may be ≤ 0 or > 9999 for timestamps far from now.
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl UtcTime {
    /// From Unix seconds. Every `i64` maps to a date (no step can overflow: the days are at most
    /// `i64::MAX / 86,400`).
    pub fn from_unix_secs(secs: i64) -> Self {
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        // Civil from days (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let rem = rem as u32;
        UtcTime {
            year,
            month: month as u32,
            day: day as u32,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
        }
    }

    /// From Unix milliseconds (the fraction dropped, towards the past).
    pub fn from_unix_ms(ms: i64) -> Self {
        Self::from_unix_secs(ms.div_euclid(1000))
    }

    /// `2026-11-28`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Unix milliseconds for people, to the second: `2026-11-28 02:33:20 UTC` (the console's times
/// with seconds, the CLI's key dates).
pub fn utc_seconds(ms: i64) -> String {
    let t = UtcTime::from_unix_ms(ms);
    format!("{} {:02}:{:02}:{:02} UTC", t.date(), t.hour, t.minute, t.second)
}

/// Unix milliseconds as ISO 8601 in UTC (`2020-01-01T00:00:00Z`), as the OAS writes backup times.
pub fn iso8601(ms: i64) -> String {
    let t = UtcTime::from_unix_ms(ms);
    format!("{}T{:02}:{:02}:{:02}Z", t.date(), t.hour, t.minute, t.second)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Days from a civil date, the inverse algorithm (same source), written separately.
    #[cfg(not(target_arch = "wasm32"))]
    fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(m);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    #[test]
    fn known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_577_836_800_000), "2020-01-01T00:00:00Z");
        assert_eq!(iso8601(1_709_251_199_000), "2024-02-29T23:59:59Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(4_107_542_400_000), "2100-03-01T00:00:00Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59Z");
        assert_eq!(iso8601(253_402_300_799_000), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn any_i64_is_a_date() {
        for s in [i64::MIN, i64::MIN + 1, -86_401, i64::MAX - 1, i64::MAX] {
            let t = UtcTime::from_unix_secs(s);
            assert!((1..=12).contains(&t.month) && (1..=31).contains(&t.day) && t.hour < 24, "{s}: {t:?}");
        }
        let _ = UtcTime::from_unix_ms(i64::MIN);
        let _ = UtcTime::from_unix_ms(i64::MAX);
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        /// Every day of ±1,000,000 years maps to a valid date that maps back to it, and the next
        /// day is the next date.
        #[test]
        fn days_and_dates_agree(days in -365_242_500i64..365_242_500, secs in 0i64..86_400) {
            let t = UtcTime::from_unix_secs(days * 86_400 + secs);
            proptest::prop_assert_eq!(days_from_civil(t.year, t.month, t.day), days);
            proptest::prop_assert_eq!(i64::from(t.hour * 3600 + t.minute * 60 + t.second), secs);
            let next = UtcTime::from_unix_secs((days + 1) * 86_400);
            let same_month = next.month == t.month && next.year == t.year && next.day == t.day + 1;
            let new_month = next.day == 1 && (next.month == t.month % 12 + 1);
            proptest::prop_assert!(same_month || new_month, "{:?} then {:?}", t, next);
        }
    }
}
