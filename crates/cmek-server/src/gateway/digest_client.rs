//! The client side of HTTP Digest (RFC 7616, `qop=auth`) for upstream requests, on the hashes of
//! `auth::digest`. Nonces the upstream handed out are kept and reused with increasing counts,
//! one request at a time each, so most requests need no extra 401 round trip (which would cost
//! the shared budget).

use super::key_pair::KeyPair;
use crate::auth::digest;
/// Re-exported for the tests' Digest client (crates/cmek-test-support), which signs with this module.
pub use crate::auth::digest::Algorithm;
use std::collections::HashMap;
use std::sync::Mutex;

/// One challenge of a `WWW-Authenticate: Digest …` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub algorithm: Algorithm,
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub stale: bool,
}

/// The `k=v, k="v"` parameters after the scheme (names in lowercase).
pub fn params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if name.is_empty() {
            return out;
        }
        chars.next();
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect::<String>().trim().to_owned();
        }
        out.insert(name.trim().to_ascii_lowercase(), value);
    }
}

impl Challenge {
    /// A `Digest` challenge with `qop=auth` and an algorithm we speak; `None` otherwise.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let p = params(rest);
        let qop_auth = p.get("qop").is_some_and(|q| q.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")));
        if !qop_auth {
            return None;
        }
        Some(Self {
            algorithm: Algorithm::parse(p.get("algorithm").map(String::as_str))?,
            realm: p.get("realm").cloned().unwrap_or_default(),
            nonce: p.get("nonce").cloned().filter(|n| !n.is_empty())?,
            opaque: p.get("opaque").cloned(),
            stale: p.get("stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// The best of a response's challenges: SHA-256 before MD5.
    pub fn pick<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let all: Vec<Self> = headers.into_iter().filter_map(Self::parse).collect();
        all.iter().find(|c| c.algorithm == Algorithm::Sha256).or_else(|| all.first()).cloned()
    }
}

/// A nonce in use, and the last count sent with it.
#[derive(Clone, Debug)]
pub struct Nonce {
    pub challenge: Challenge,
    pub nc: u32,
}

/// The `Authorization` header for `method uri` with the nonce's next count.
pub fn authorization(keys: &KeyPair, n: &Nonce, method: &str, uri: &str) -> String {
    let c = &n.challenge;
    let cnonce = format!("{:016x}", rand::random::<u64>());
    let nc = format!("{:08x}", n.nc);
    let ha1 = digest::ha1(c.algorithm, keys.public(), &c.realm, keys.private());
    let response = digest::response(c.algorithm, &ha1, &c.nonce, &nc, &cnonce, "auth", method, uri);
    let mut h = format!(
        "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", algorithm={}, qop=auth, nc={nc}, cnonce=\"{cnonce}\", response=\"{response}\"",
        keys.public(),
        c.realm,
        c.nonce,
        c.algorithm.name()
    );
    if let Some(o) = &c.opaque {
        h.push_str(&format!(", opaque=\"{o}\""));
    }
    h
}

/// Nonces ready for reuse; each is taken by one request at a time.
#[derive(Default)]
pub struct NoncePool(Mutex<Vec<Nonce>>);

impl NoncePool {
    /// A nonce with its count advanced, if one is kept.
    pub fn take(&self) -> Option<Nonce> {
        let mut n = self.0.lock().unwrap_or_else(|p| p.into_inner()).pop()?;
        n.nc = n.nc.checked_add(1)?;
        Some(n)
    }

    /// Keeps `n` for the next request (at most a few are kept).
    pub fn put(&self, n: Nonce) {
        let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if v.len() < 16 {
            v.push(n);
        }
    }

    /// A fresh challenge, to keep: [`NoncePool::take`] counts it from 1.
    pub fn fresh(&self, c: Challenge) -> Nonce {
        Nonce { challenge: c, nc: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_and_sha256_is_preferred() {
        let md5 = r#"Digest realm="tidbcloud", qop="auth", nonce="n1", opaque="o""#;
        let sha = r#"Digest realm="tidbcloud", qop="auth", algorithm=SHA-256, nonce="n2", opaque="o", stale=true"#;
        let c = Challenge::pick([md5, sha]).unwrap();
        assert_eq!((c.algorithm, c.nonce.as_str(), c.stale), (Algorithm::Sha256, "n2", true));
        assert_eq!(Challenge::pick([md5]).unwrap().algorithm, Algorithm::Md5);
        assert_eq!(Challenge::parse("Basic realm=\"x\""), None);
        assert_eq!(Challenge::parse(r#"Digest realm="x", nonce="n""#), None, "no qop=auth");
    }

    #[test]
    fn the_header_verifies_with_the_server_side_hashes() {
        let keys = KeyPair::new("PUB", "PRIV").unwrap();
        let c = Challenge::parse(r#"Digest realm="tidbcloud", qop="auth", algorithm=SHA-256, nonce="abc""#).unwrap();
        let h = authorization(&keys, &Nonce { challenge: c, nc: 7 }, "GET", "/api/v1beta/projects?page=1");
        let parsed = digest::parse_authorization(&h).unwrap();
        assert_eq!(parsed.nc.as_deref(), Some("00000007"));
        let ha1 = digest::ha1(Algorithm::Sha256, "PUB", "tidbcloud", "PRIV");
        let want = digest::response(
            Algorithm::Sha256,
            &ha1,
            "abc",
            "00000007",
            parsed.cnonce.as_deref().unwrap(),
            "auth",
            "GET",
            "/api/v1beta/projects?page=1",
        );
        assert_eq!(parsed.response, want);
        assert!(!h.contains("PRIV"));
    }
}
