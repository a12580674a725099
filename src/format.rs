//! Turning data into the words and commands a page shows.

use cmek_core::time::UtcTime;

/// A noun's two forms, for counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Noun {
    pub one: &'static str,
    pub many: &'static str,
}

pub const CLUSTER: Noun = Noun { one: "cluster", many: "clusters" };
pub const PROJECT: Noun = Noun { one: "project", many: "projects" };
pub const EVENT: Noun = Noun { one: "event", many: "events" };

/// The one place counts are put in words: `1 cluster`, `0 clusters`, `3 clusters`.
pub fn count(n: impl TryInto<i64>, noun: Noun) -> String {
    let n: i64 = n.try_into().unwrap_or(i64::MAX);
    format!("{n} {}", if n == 1 { noun.one } else { noun.many })
}

/// `n / unit` with one decimal (`1.5`), rounded half to even as `format!("{:.1}", …)` rounds,
/// in integers: formatting a float links Rust's float printing into the wasm
/// (docs/performance.md, a smaller wasm).
pub fn one_decimal(n: u64, unit: u64) -> String {
    let unit = u128::from(unit.max(1));
    let tenths = u128::from(n) * 10;
    let (q, r) = (tenths / unit, tenths % unit);
    let q = if r * 2 > unit || (r * 2 == unit && q % 2 == 1) { q + 1 } else { q };
    format!("{}.{}", q / 10, q % 10)
}

/// A duration in seconds, as short as it is exact: `20`, `2.5`, `0.125` (what `{}` of
/// `as_secs_f64()` prints for durations a person configures, without float printing).
pub fn seconds(d: std::time::Duration) -> String {
    let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
    if nanos == 0 {
        return secs.to_string();
    }
    let fraction = format!("{nanos:09}");
    format!("{secs}.{}", fraction.trim_end_matches('0'))
}

/// Unix seconds as `2026-11-28 02:12 UTC` (the same for every visitor, unlike a locale format).
/// Computed in the wasm (`cmek_core::time`), not by the browser's `Date`: the clusters table
/// formats one per row, and a `Date` costs three calls into JS and a string back.
pub fn time(secs: i64) -> String {
    let t = UtcTime::from_unix_secs(secs);
    format!("{} {:02}:{:02} UTC", t.date(), t.hour, t.minute)
}

/// A `create_timestamp` string (Unix seconds) as [`time`].
pub fn timestamp(s: &str) -> String {
    s.parse::<i64>().map(time).unwrap_or_else(|_| s.to_owned())
}

/// Milliseconds as [`time`] with seconds.
pub fn time_ms(ms: i64) -> String {
    cmek_core::time::utc_seconds(ms)
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Single-quotes a string for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The v1beta call as the person would type it: `curl --digest` with the exact JSON body.
pub fn curl(method: &str, url: &str, body: Option<&str>) -> String {
    let mut cmd = format!(
        "curl --digest --user 'YOUR_PUBLIC_KEY:YOUR_PRIVATE_KEY' \\\n  --request {method} \\\n  --url {}",
        shell_quote(url)
    );
    if let Some(b) = body {
        cmd.push_str(&format!(" \\\n  --header 'content-type: application/json' \\\n  --data {}", shell_quote(b)));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_decimal_rounds_as_float_formatting_does() {
        const GIB: u64 = 1 << 30;
        for n in [GIB, GIB + 1, 3 * GIB / 2, 5 * GIB / 4, 21 * GIB / 20, 3 * GIB / 20, 1234567890123, u64::MAX >> 11] {
            assert_eq!(one_decimal(n, GIB), format!("{:.1}", n as f64 / GIB as f64), "{n}");
        }
        // Ties (x.x5 exactly) and their neighbours, where the rounding rule shows.
        for k in 0..2000u64 {
            for n in [k * (GIB / 64), k * (GIB / 64) + 1, (k * (GIB / 64)).saturating_sub(1)] {
                assert_eq!(one_decimal(n, GIB), format!("{:.1}", n as f64 / GIB as f64), "{n}");
            }
        }
    }

    #[test]
    fn times_for_people() {
        assert_eq!(time(0), "1970-01-01 00:00 UTC");
        assert_eq!(time(1_795_833_200), "2026-11-28 02:33 UTC");
        assert_eq!(time_ms(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(timestamp("1795833200"), "2026-11-28 02:33 UTC");
        assert_eq!(timestamp("soon"), "soon", "not a number: shown as it came");
    }

    #[test]
    fn seconds_print_as_the_float_would() {
        for s in [20.0, 2.5, 0.125, 0.1, 600.0, 1.75, 33.3] {
            let d = std::time::Duration::from_secs_f64(s);
            assert_eq!(seconds(d), format!("{}", d.as_secs_f64()), "{s}");
        }
    }

    #[test]
    fn curl_quotes_bodies_for_the_shell() {
        let c = curl("POST", "https://h/api/v1beta/projects", Some(r#"{"name":"it's"}"#));
        assert!(c.contains(r#"--data '{"name":"it'\''s"}'"#), "{c}");
        assert!(c.starts_with("curl --digest --user 'YOUR_PUBLIC_KEY:YOUR_PRIVATE_KEY'"));
        assert!(!curl("GET", "https://h/x", None).contains("--data"));
    }
}

#[cfg(test)]
mod count_tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1usize, CLUSTER), "1 cluster");
        assert_eq!(count(0usize, CLUSTER), "0 clusters");
        assert_eq!(count(2i64, PROJECT), "2 projects");
    }
}

/// A key's rotation in words: on/off, period, last and next, and that nothing changes here.
pub fn rotation(r: Option<&cmek_core::kms::RotationStatus>) -> String {
    let Some(r) = r else { return "unknown".into() };
    let mut s = if r.enabled {
        format!("automatic, every {} days", r.period_days.unwrap_or(365))
    } else {
        "automatic rotation off".to_owned()
    };
    if let Some(last) = r.last_rotated_at {
        s.push_str(&format!("; last rotated {}", time(last)));
    }
    if let Some(next) = r.next_rotation_at {
        s.push_str(&format!("; next {}", time(next)));
    }
    s.push_str(". Rotation keeps the key ARN: nothing to change here.");
    s
}

/// A field rule's message (written to follow the field's path, e.g. `name: is required: …`) as a
/// sentence under the field's input: "Project name is required: …".
pub fn field_sentence(label: &str, message: &str) -> String {
    let message = message.trim_end_matches('.');
    let follows_the_name =
        ["is ", "has ", "contains ", "must ", "starts ", "ends "].iter().any(|w| message.starts_with(w));
    if follows_the_name {
        format!("{label} {message}.")
    } else {
        let mut chars = message.chars();
        match chars.next() {
            Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
            None => format!("{label} is not valid."),
        }
    }
}
