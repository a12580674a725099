//! The console on a static host: the response headers the host must send, which this server
//! would send itself (`auth::headers::security_headers`): the console's Content-Security-Policy, computed
//! the same way (`auth::headers::console_csp`: trunk's inline loader by its SHA-256,
//! `'wasm-unsafe-eval'`, `connect-src` naming the API's origin from the `cmek-api-base` meta),
//! and the other security headers. `cmek-server static-headers INDEX_HTML` prints them for
//! scripts/build-static.

use std::path::{Path, PathBuf};

/// The security headers besides the CSP, as `auth::headers::security_headers` sets them on console pages
/// (a test over HTTP, tests/cors.rs, keeps the two equal).
pub const OTHER_HEADERS: [(&str, &str); 4] = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
];

#[derive(Debug, thiserror::Error)]
pub enum StaticHeadersError {
    #[error("cannot read the built console's index.html at {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "{0} has no inline script: it is not an index.html built by trunk (scripts/build-static runs trunk build first)"
    )]
    NoLoader(PathBuf),
}

/// `Name: value` lines for the console whose index.html is `html`.
pub fn headers(html: &str) -> String {
    let mut out = format!("Content-Security-Policy: {}\n", crate::auth::headers::console_csp(html));
    for (name, value) in OTHER_HEADERS {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out
}

/// [`headers`] of the index.html at `path`.
pub fn headers_of(path: &Path) -> Result<String, StaticHeadersError> {
    let html =
        std::fs::read_to_string(path).map_err(|source| StaticHeadersError::Read { path: path.to_owned(), source })?;
    if crate::auth::headers::inline_script_hashes(&html).is_empty() {
        return Err(StaticHeadersError::NoLoader(path.to_owned()));
    }
    Ok(headers(&html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_for_a_static_host() {
        let html = "<meta name=\"cmek-api-base\" content=\"https://api.example.com\"><script type=\"module\">import init from '/x.js';</script>";
        let h = headers(html);
        let csp = h.lines().next().unwrap();
        assert!(
            csp.starts_with(
                "Content-Security-Policy: default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-"
            ),
            "{csp}"
        );
        assert!(csp.contains("connect-src 'self' https://api.example.com;"), "{csp}");
        assert!(h.contains("\nX-Frame-Options: DENY\n"), "{h}");
        let dir = tempfile::tempdir().unwrap();
        let e = headers_of(&dir.path().join("index.html")).unwrap_err().to_string();
        assert!(e.contains("cannot read") && e.contains("index.html"), "{e}");
        std::fs::write(dir.path().join("index.html"), "<p>not built</p>").unwrap();
        let e = headers_of(&dir.path().join("index.html")).unwrap_err().to_string();
        assert!(e.contains("no inline script"), "{e}");
    }
}
