//! HTTP Digest authentication (RFC 7616), the pure parts: the hashes, the `Authorization` header,
//! the challenges, server-signed nonces that expire, and the nonce counts that must increase.
//! Nothing here does I/O; `auth/mod.rs` looks the key up and calls these.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use md5::Md5;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;

/// TiDB Cloud's realm: the `HA1` of a key is `H(public_key:tidbcloud:private_key)`.
pub const REALM: &str = "tidbcloud";

/// The hash algorithms offered, in the order of the challenges (SHA-256 first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Md5,
}

impl Algorithm {
    pub const OFFERED: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Md5];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Md5 => "MD5",
        }
    }

    /// The `algorithm` parameter; absent means MD5 (RFC 7616 §3.4).
    pub fn parse(s: Option<&str>) -> Option<Self> {
        match s.map(str::to_ascii_uppercase).as_deref() {
            None | Some("MD5") => Some(Algorithm::Md5),
            Some("SHA-256") => Some(Algorithm::Sha256),
            _ => None,
        }
    }

    /// `H(data)` as lowercase hex.
    pub fn hash(self, data: &[u8]) -> String {
        match self {
            Algorithm::Sha256 => hex(&Sha256::digest(data)),
            Algorithm::Md5 => hex(&Md5::digest(data)),
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Equality that takes the same time wherever the first difference is.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `HA1 = H(username:realm:password)`: what the server stores instead of the private key.
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    alg.hash(format!("{username}:{realm}:{password}").as_bytes())
}

/// The `response` a client sends for `qop=auth`: `H(HA1:nonce:nc:cnonce:qop:H(method:uri))`.
#[allow(clippy::too_many_arguments)]
pub fn response(
    alg: Algorithm,
    ha1: &str,
    nonce: &str,
    nc: &str,
    cnonce: &str,
    qop: &str,
    method: &str,
    uri: &str,
) -> String {
    let ha2 = alg.hash(format!("{method}:{uri}").as_bytes());
    alg.hash(format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}").as_bytes())
}

/// One `WWW-Authenticate` challenge.
pub fn challenge(alg: Algorithm, nonce: &str, opaque: &str, stale: bool) -> String {
    let mut s = format!(
        "Digest realm=\"{REALM}\", qop=\"auth\", algorithm={}, nonce=\"{nonce}\", opaque=\"{opaque}\"",
        alg.name()
    );
    if stale {
        s.push_str(", stale=true");
    }
    s
}

// ------------------------------------------------------------------ the Authorization header

/// The parameters of an `Authorization: Digest …` header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Option<String>,
    pub cnonce: Option<String>,
    pub nc: Option<String>,
    pub qop: Option<String>,
    pub opaque: Option<String>,
    pub userhash: bool,
}

/// Why a header is not usable, in words for the 401 message.
pub type ParseError = String;

/// Parses `Digest k=v, k="v", …` (RFC 7616 §3.4 / RFC 7235 auth-params).
pub fn parse_authorization(header: &str) -> Result<Credentials, ParseError> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("digest") {
        return Err(format!(
            "the Authorization header uses the {scheme} scheme; this API accepts HTTP Digest authentication only (curl --digest --user PUBLIC_KEY:PRIVATE_KEY)"
        ));
    }
    let mut c = Credentials::default();
    let mut seen = std::collections::HashSet::new();
    for (k, v) in parse_params(rest)? {
        let k = k.to_ascii_lowercase();
        if !seen.insert(k.clone()) {
            return Err(format!("the Authorization header repeats the parameter {k}"));
        }
        match k.as_str() {
            "username" => c.username = v,
            "username*" => {
                return Err("username* (an encoded user name) is not supported: public keys are plain ASCII".into());
            }
            "realm" => c.realm = v,
            "nonce" => c.nonce = v,
            "uri" => c.uri = v,
            "response" => c.response = v,
            "algorithm" => c.algorithm = Some(v),
            "cnonce" => c.cnonce = Some(v),
            "nc" => c.nc = Some(v),
            "qop" => c.qop = Some(v),
            "opaque" => c.opaque = Some(v),
            "userhash" => c.userhash = v.eq_ignore_ascii_case("true"),
            _ => {} // RFC 7616: unknown parameters are ignored.
        }
    }
    for (name, value) in [
        ("username", &c.username),
        ("realm", &c.realm),
        ("nonce", &c.nonce),
        ("uri", &c.uri),
        ("response", &c.response),
    ] {
        if value.is_empty() {
            return Err(format!("the Authorization header has no {name}"));
        }
    }
    Ok(c)
}

/// `token = token / quoted-string` pairs separated by commas.
fn parse_params(s: &str) -> Result<Vec<(String, String)>, ParseError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t') {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        while i < b.len() && b[i] == b',' {
            i += 1;
            skip_ws(&mut i);
        }
        if i >= b.len() {
            return Ok(out);
        }
        let start = i;
        while i < b.len() && is_tchar(b[i]) {
            i += 1;
        }
        if i == start {
            return Err(format!("the Authorization header is malformed at byte {i}"));
        }
        let name = s[start..i].to_owned();
        skip_ws(&mut i);
        if i >= b.len() || b[i] != b'=' {
            return Err(format!("the Authorization header's {name} has no value"));
        }
        i += 1;
        skip_ws(&mut i);
        let value = if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut v = Vec::new();
            loop {
                match b.get(i) {
                    None => return Err(format!("the Authorization header's {name} has no closing quote")),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') if i + 1 < b.len() => {
                        v.push(b[i + 1]);
                        i += 2;
                    }
                    Some(&c) => {
                        v.push(c);
                        i += 1;
                    }
                }
            }
            String::from_utf8(v).map_err(|_| format!("the Authorization header's {name} is not UTF-8"))?
        } else {
            let vs = i;
            while i < b.len() && is_tchar(b[i]) {
                i += 1;
            }
            s[vs..i].to_owned()
        };
        out.push((name, value));
        skip_ws(&mut i);
        if i < b.len() && b[i] != b',' {
            return Err(format!("the Authorization header is malformed after {}", out.last().map_or("", |p| &p.0)));
        }
    }
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&c)
}

/// The request target a `uri` parameter names: as sent, or an absolute URI's path and query.
pub fn uri_matches(param: &str, path_and_query: &str) -> bool {
    if param == path_and_query {
        return true;
    }
    for scheme in ["http://", "https://"] {
        if let Some(rest) = param.strip_prefix(scheme) {
            let target = rest.find('/').map_or("/", |i| &rest[i..]);
            return target == path_and_query;
        }
    }
    false
}

// ------------------------------------------------------------------ nonces

/// Mints and checks nonces: `issued-at (ms) ‖ random ‖ HMAC-SHA-256(secret, both)[..16]`,
/// base64url. Nothing is stored per nonce until it is used; a nonce of an earlier run of the
/// server (another secret) is not this server's.
pub struct NonceKey {
    secret: [u8; 32],
}

/// What a nonce is now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceState {
    /// Signed here and not expired; it expires at this Unix ms.
    Fresh { expires_ms: i64 },
    /// Signed here, but older than the lifetime.
    Expired,
    /// Not a nonce of this server (tampered, made up, or from before a restart).
    Foreign,
}

const NONCE_RANDOM: usize = 12;
const NONCE_MAC: usize = 16;

impl NonceKey {
    pub fn new(secret: [u8; 32]) -> Self {
        Self { secret }
    }

    fn mac(&self, data: &[u8]) -> [u8; NONCE_MAC] {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        m.update(data);
        let full = m.finalize().into_bytes();
        let mut out = [0u8; NONCE_MAC];
        out.copy_from_slice(&full[..NONCE_MAC]);
        out
    }

    pub fn mint(&self, now_ms: i64, random: [u8; NONCE_RANDOM]) -> String {
        let mut data = Vec::with_capacity(8 + NONCE_RANDOM + NONCE_MAC);
        data.extend_from_slice(&now_ms.to_be_bytes());
        data.extend_from_slice(&random);
        let mac = self.mac(&data);
        data.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(data)
    }

    pub fn check(&self, nonce: &str, now_ms: i64, lifetime_ms: i64) -> NonceState {
        let Ok(data) = URL_SAFE_NO_PAD.decode(nonce) else { return NonceState::Foreign };
        if data.len() != 8 + NONCE_RANDOM + NONCE_MAC {
            return NonceState::Foreign;
        }
        let (signed, mac) = data.split_at(8 + NONCE_RANDOM);
        if !ct_eq(&self.mac(signed), mac) {
            return NonceState::Foreign;
        }
        let issued = i64::from_be_bytes(signed[..8].try_into().expect("8 bytes"));
        let expires_ms = issued.saturating_add(lifetime_ms);
        // A nonce "from the future" (clock stepped back) is treated as expired.
        if now_ms >= expires_ms || issued > now_ms + 60_000 {
            NonceState::Expired
        } else {
            NonceState::Fresh { expires_ms }
        }
    }
}

/// The nonce counts used, per (API key, nonce): RFC 7616 asks that a count not be *reused*,
/// not that counts arrive in order, so any unused count within the last [`NC_WINDOW`] below
/// the highest is accepted (concurrent requests sharing a nonce arrive out of order). Counts
/// are per key: a holder of another key who sees a nonce cannot spend this key's counts. The
/// state is bounded: [`NONCES_PER_KEY`] nonces per key, the oldest dropped first.
#[derive(Default)]
pub struct NonceCounts {
    by_key: HashMap<String, HashMap<String, CountWindow>>,
}

/// How far below the highest count an unused count is still accepted.
pub const NC_WINDOW: u32 = 128;
/// Nonces remembered per key (a client needs one; a few hundred covers many processes).
pub const NONCES_PER_KEY: usize = 256;

/// The highest count, and which of the [`NC_WINDOW`] counts up to it were used (bit i: max - i).
#[derive(Clone, Copy, Debug)]
struct CountWindow {
    max: u32,
    used: u128,
    expires_ms: i64,
}

/// Why a count is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountRefusal {
    /// This count was used already with this nonce and key: a replay.
    Reused,
    /// Too far below the highest count to tell; the client should take a new nonce.
    TooOld,
}

impl NonceCounts {
    /// Records `nc` for (`key`, `nonce`) if it was not used.
    pub fn advance(
        &mut self,
        key: &str,
        nonce: &str,
        nc: u32,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<(), CountRefusal> {
        let nonces = self.by_key.entry(key.to_owned()).or_default();
        if !nonces.contains_key(nonce) && nonces.len() >= NONCES_PER_KEY {
            nonces.retain(|_, w| w.expires_ms > now_ms);
            if nonces.len() >= NONCES_PER_KEY {
                let oldest = nonces.iter().min_by_key(|(_, w)| w.expires_ms).map(|(n, _)| n.clone());
                if let Some(n) = oldest {
                    nonces.remove(&n);
                }
            }
        }
        let w = nonces.entry(nonce.to_owned()).or_insert(CountWindow { max: 0, used: 0, expires_ms });
        if nc > w.max {
            let shift = nc - w.max;
            w.used = if shift >= 128 { 0 } else { w.used << shift };
            w.used |= 1;
            w.max = nc;
            return Ok(());
        }
        let back = w.max - nc;
        if back >= NC_WINDOW {
            return Err(CountRefusal::TooOld);
        }
        if w.used & (1u128 << back) != 0 {
            return Err(CountRefusal::Reused);
        }
        w.used |= 1u128 << back;
        Ok(())
    }

    /// Nonces remembered, over all keys.
    pub fn len(&self) -> usize {
        self.by_key.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `nc`: exactly 8 hex digits (RFC 7616 §3.4), not zero.
pub fn parse_nc(nc: &str) -> Option<u32> {
    if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(nc, 16).ok().filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7616 §3.9.1.
    const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    #[test]
    fn rfc_7616_examples() {
        let realm = "http-auth@example.org";
        for (alg, expected) in [
            (Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
            (Algorithm::Sha256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
        ] {
            let ha1 = ha1(alg, "Mufasa", realm, "Circle of Life");
            assert_eq!(response(alg, &ha1, NONCE, "00000001", CNONCE, "auth", "GET", "/dir/index.html"), expected);
        }
    }

    #[test]
    fn parses_what_curl_and_requests_send() {
        let curl = r#"Digest username="AB12CD34", realm="tidbcloud", nonce="abc", uri="/api/v1beta/projects?page=1", cnonce="NjY5", nc=00000001, qop=auth, response="ff", opaque="op", algorithm=SHA-256"#;
        let c = parse_authorization(curl).unwrap();
        assert_eq!(c.username, "AB12CD34");
        assert_eq!(c.uri, "/api/v1beta/projects?page=1");
        assert_eq!(c.nc.as_deref(), Some("00000001"));
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert_eq!(Algorithm::parse(c.algorithm.as_deref()), Some(Algorithm::Sha256));
        let requests = r#"Digest username="AB12CD34", realm="tidbcloud", nonce="abc", uri="/x", response="ff", opaque="op", algorithm="MD5", qop="auth", nc=00000002, cnonce="1f2e""#;
        let c = parse_authorization(requests).unwrap();
        assert_eq!(Algorithm::parse(c.algorithm.as_deref()), Some(Algorithm::Md5));
        assert_eq!(c.cnonce.as_deref(), Some("1f2e"));
        // Quoted commas and escapes.
        let c = parse_authorization(r#"digest username="a\"b", realm="x,y", nonce=n, uri="/", response=r"#).unwrap();
        assert_eq!((c.username.as_str(), c.realm.as_str()), ("a\"b", "x,y"));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(parse_authorization("Basic QWxhZGRpbjpvcGVu").unwrap_err().contains("Digest"));
        assert!(parse_authorization("Digest username=\"a").unwrap_err().contains("closing quote"));
        assert!(parse_authorization("Digest realm=x, nonce=n, uri=/, response=r").unwrap_err().contains("username"));
        assert!(parse_authorization("Digest username=a, username=b").unwrap_err().contains("repeats"));
        assert!(parse_authorization("Digest username a").is_err());
        assert!(parse_authorization("Digest ,,=").is_err());
        assert_eq!(Algorithm::parse(Some("SHA-512-256")), None);
        assert_eq!(Algorithm::parse(None), Some(Algorithm::Md5));
    }

    #[test]
    fn uris() {
        assert!(uri_matches("/api/v1beta/projects", "/api/v1beta/projects"));
        assert!(uri_matches("http://127.0.0.1:1/api/x?a=1", "/api/x?a=1"));
        assert!(!uri_matches("/api/other", "/api/x"));
        assert!(!uri_matches("/api/x", "/api/x?a=1"));
    }

    #[test]
    fn nonces_are_signed_and_expire() {
        let k = NonceKey::new([7; 32]);
        let n = k.mint(1_000_000, [1; 12]);
        assert!(n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{n}");
        assert_eq!(k.check(&n, 1_000_500, 1000), NonceState::Fresh { expires_ms: 1_001_000 });
        assert_eq!(k.check(&n, 1_001_000, 1000), NonceState::Expired);
        assert_eq!(NonceKey::new([8; 32]).check(&n, 1_000_500, 1000), NonceState::Foreign);
        let mut tampered = URL_SAFE_NO_PAD.decode(&n).unwrap();
        tampered[7] ^= 1; // a later issue time
        assert_eq!(k.check(&URL_SAFE_NO_PAD.encode(tampered), 1_000_500, 1000), NonceState::Foreign);
        assert_eq!(k.check("not a nonce!", 0, 1000), NonceState::Foreign);
        assert_eq!(k.check(NONCE, 0, 1000), NonceState::Foreign);
    }

    #[test]
    fn nonce_counts_are_used_once_per_key_in_any_order() {
        let mut c = NonceCounts::default();
        assert_eq!(c.advance("A", "n", 1, 100, 0), Ok(()));
        assert_eq!(c.advance("A", "n", 1, 100, 0), Err(CountRefusal::Reused), "a replay");
        assert_eq!(c.advance("A", "n", 3, 100, 0), Ok(()));
        assert_eq!(c.advance("A", "n", 2, 100, 0), Ok(()), "out of order, unused");
        assert_eq!(c.advance("A", "n", 2, 100, 0), Err(CountRefusal::Reused));
        assert_eq!(c.advance("A", "m", 1, 100, 0), Ok(()), "per nonce");
        // Another key's counts on the same nonce are its own: ffffffff does not spend A's.
        assert_eq!(c.advance("B", "n", 0xffff_ffff, 100, 0), Ok(()));
        assert_eq!(c.advance("A", "n", 4, 100, 0), Ok(()));
        assert_eq!(c.advance("A", "n", 4 + NC_WINDOW, 100, 0), Ok(()));
        assert_eq!(c.advance("A", "n", 4, 100, 0), Err(CountRefusal::TooOld), "128 below the highest");
        assert_eq!(c.advance("A", "n", 5, 100, 0), Ok(()), "127 below: inside the window, unused");
        assert_eq!(parse_nc("00000001"), Some(1));
        assert_eq!(parse_nc("0000000a"), Some(10));
        assert_eq!(parse_nc("1"), None);
        assert_eq!(parse_nc("00000000"), None);
        assert_eq!(parse_nc("0000000g"), None);
        // Bounded per key, however many nonces one key uses.
        for i in 0..5000 {
            c.advance("A", &format!("x{i}"), 1, 1000 + i, 0).unwrap();
        }
        assert!(c.len() <= NONCES_PER_KEY + 1, "{}", c.len());
    }

    #[test]
    fn challenges() {
        assert_eq!(
            challenge(Algorithm::Sha256, "n", "o", true),
            r#"Digest realm="tidbcloud", qop="auth", algorithm=SHA-256, nonce="n", opaque="o", stale=true"#
        );
        assert!(!challenge(Algorithm::Md5, "n", "o", false).contains("stale"));
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"ab", b"abc"));
    }
}
