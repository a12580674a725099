//! Security headers on everything the server sends. The console's Content-Security-Policy
//! allows scripts from this origin only, plus the inline module script trunk writes into
//! index.html — by its SHA-256, read from the served index.html (again whenever the file
//! changes) — and `'wasm-unsafe-eval'` to compile the wasm. No `'unsafe-inline'`, no
//! `'unsafe-eval'`; styles from this origin only; no framing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

/// The policy of API answers (JSON, never a page).
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// `'sha256-…'` of every inline `<script>` (one without `src`) of an HTML document, hashed as
/// the browser does: the text between the tags, line breaks normalised to `\n`.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<script") {
        let tag_start = from + i;
        let Some(tag_len) = lower[tag_start..].find('>') else { break };
        let tag = &lower[tag_start..tag_start + tag_len];
        let body_start = tag_start + tag_len + 1;
        let Some(body_len) = lower[body_start..].find("</script") else { break };
        let has_src = tag.split(|c: char| c.is_ascii_whitespace()).any(|a| a == "src" || a.starts_with("src="));
        if !has_src {
            let body = html[body_start..body_start + body_len].replace("\r\n", "\n").replace('\r', "\n");
            out.push(format!("'sha256-{}'", STANDARD.encode(Sha256::digest(body.as_bytes()))));
        }
        from = body_start + body_len;
    }
    out
}

/// The `content` of `<meta name="NAME" content="…">` (attributes in either order).
pub fn meta_content(html: &str, name: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<meta") {
        let start = from + i;
        let end = start + lower[start..].find('>')?;
        let tag = &html[start..end];
        if attr(tag, "name").is_some_and(|n| n.eq_ignore_ascii_case(name)) {
            return attr(tag, "content");
        }
        from = end;
    }
    None
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before_ok = at > 0 && lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_at = tag.len() - rest.len() + 1;
        let value = tag[value_at..].trim_start();
        let quote = value.chars().next()?;
        return Some(if quote == '"' || quote == '\'' {
            value[1..].split(quote).next().unwrap_or("").to_owned()
        } else {
            value.split(|c: char| c.is_ascii_whitespace() || c == '/').next().unwrap_or("").to_owned()
        });
    }
    None
}

/// The origin of an absolute `http(s)://` URL.
fn origin_of(url: &str) -> Option<String> {
    let scheme_end = url.find("://")?;
    let scheme = &url[..scheme_end];
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let rest = &url[scheme_end + 3..];
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

/// The console's policy for an index.html: its inline scripts by hash, and the API's origin
/// (`<meta name="cmek-api-base">`) when the console talks to another server.
pub fn console_csp(html: &str) -> String {
    let mut script = vec!["'self'".to_owned(), "'wasm-unsafe-eval'".to_owned()];
    script.extend(inline_script_hashes(html));
    let mut connect = vec!["'self'".to_owned()];
    if let Some(o) = meta_content(html, "cmek-api-base").as_deref().and_then(origin_of) {
        connect.push(o);
    }
    format!(
        "default-src 'self'; script-src {}; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src {}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        script.join(" "),
        connect.join(" ")
    )
}

/// The console's policy, kept in step with the index.html on disk.
pub struct ConsoleCsp {
    index: PathBuf,
    current: Mutex<(Option<SystemTime>, String)>,
}

impl ConsoleCsp {
    pub fn new(index: PathBuf) -> Self {
        let csp = Self { index, current: Mutex::new((None, console_csp(""))) };
        csp.get();
        csp
    }

    /// The policy for the index.html as it is now (read again when its mtime changed).
    pub fn get(&self) -> String {
        let mtime = std::fs::metadata(&self.index).and_then(|m| m.modified()).ok();
        let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if mtime.is_some() && cur.0 != mtime {
            let html = std::fs::read_to_string(&self.index).unwrap_or_default();
            *cur = (mtime, console_csp(&html));
        }
        cur.1.clone()
    }
}

impl axum::extract::FromRef<crate::state::AppState> for std::sync::Arc<ConsoleCsp> {
    fn from_ref(s: &crate::state::AppState) -> Self {
        std::sync::Arc::clone(&s.auth.console_csp)
    }
}

/// The security headers, on every answer (API and console): the API's CSP or the console's.
pub async fn security_headers(
    axum::extract::State(console_csp): axum::extract::State<std::sync::Arc<ConsoleCsp>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderName, HeaderValue, header};
    let path = req.uri().path();
    let api = path == "/api" || path.starts_with("/api/");
    let mut res = next.run(req).await;
    let csp = if api { API_CSP.to_owned() } else { console_csp.get() };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_layer_puts_the_api_or_the_console_policy_on_every_answer() {
        use tower::ServiceExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), TRUNK).unwrap();
        let csp = std::sync::Arc::new(ConsoleCsp::new(dir.path().join("index.html")));
        let app = axum::Router::new()
            .route("/api/x", axum::routing::get(|| async { "api" }))
            .fallback(|| async { "console" })
            .layer(axum::middleware::from_fn_with_state(csp, security_headers));
        let get = |uri: &str| axum::extract::Request::get(uri).body(axum::body::Body::empty()).unwrap();
        let api = app.clone().oneshot(get("/api/x")).await.unwrap();
        assert_eq!(api.headers()["content-security-policy"], API_CSP);
        assert_eq!(api.headers()["x-frame-options"], "DENY");
        let page = app.oneshot(get("/clusters")).await.unwrap();
        let policy = page.headers()["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("'sha256-"), "{policy}");
        assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    }

    const TRUNK: &str = "<!doctype html>\n<html><head>\n<meta name=\"cmek-api-base\" content=\"\" />\n<link rel=\"stylesheet\" href=\"/main-1.css\"/>\n<script type=\"module\">\nimport init from '/x.js';\nawait init();\n</script>\n<script src=\"/other.js\"></script>\n</head></html>";

    #[test]
    fn hashes_inline_scripts_only() {
        let hashes = inline_script_hashes(TRUNK);
        let expected = STANDARD.encode(Sha256::digest(b"\nimport init from '/x.js';\nawait init();\n"));
        assert_eq!(hashes, vec![format!("'sha256-{expected}'")]);
        assert_eq!(inline_script_hashes(&TRUNK.replace('\n', "\r\n")), hashes, "CRLF is hashed as LF");
        assert!(inline_script_hashes("<p>no scripts</p>").is_empty());
        assert!(inline_script_hashes("<script>unterminated").is_empty());
    }

    #[test]
    fn the_console_policy() {
        let csp = console_csp(TRUNK);
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"), "{csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"), "{csp}");
        assert!(csp.contains("style-src 'self';") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("connect-src 'self';"), "{csp}");
        let other = TRUNK.replace("content=\"\"", "content=\"https://api.example.com/base/\"");
        assert!(console_csp(&other).contains("connect-src 'self' https://api.example.com;"));
    }

    #[test]
    fn meta_tags() {
        assert_eq!(meta_content(TRUNK, "cmek-api-base").as_deref(), Some(""));
        assert_eq!(meta_content("<meta content='x' name='a'>", "a").as_deref(), Some("x"));
        assert_eq!(meta_content("<meta name=a content=y>", "a").as_deref(), Some("y"));
        assert_eq!(meta_content("<meta name=\"b\" content=\"x\">", "a"), None);
        assert_eq!(origin_of("http://h:1/x?y"), Some("http://h:1".into()));
        assert_eq!(origin_of("/relative"), None);
        assert_eq!(origin_of("javascript://x"), None);
    }

    #[test]
    fn follows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index.html");
        let csp = ConsoleCsp::new(index.clone());
        assert!(!csp.get().contains("sha256"), "no file: no hash");
        std::fs::write(&index, TRUNK).unwrap();
        assert!(csp.get().contains("sha256"));
    }
}
