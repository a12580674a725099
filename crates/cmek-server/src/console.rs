//! Serves the built console: static files with compression, an SPA fallback to index.html, and
//! cache headers (hashed assets are immutable; index.html is revalidated every time).

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use std::path::Path;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

/// Whether a path names one of trunk's content-hashed assets: `name-<hex hash>.js|.css`, or
/// `name-<hex hash>_bg.wasm` (trunk writes the hash without leading zeros, so 1–16 digits).
/// Routes of the app (e.g. `/sandbox-kms/<uuid>`) have no such extension.
pub fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let Some((stem, ext)) = file.rsplit_once('.') else { return false };
    if !matches!(ext, "js" | "css" | "wasm") {
        return false;
    }
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, h)| (8..=16).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn cache_headers(req: Request<Body>, next: Next) -> Response {
    let hashed = is_hashed_asset(req.uri().path());
    let mut res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if hashed && html {
        // The SPA fallback answered for an asset that is not there (e.g. from an older build):
        // a page must not run index.html as its script, nor cache it forever.
        return (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-cache")], "no such asset in this build")
            .into_response();
    }
    let value = if hashed && res.status().is_success() { "public, max-age=31536000, immutable" } else { "no-cache" };
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    res
}

/// `%XX`-decoded path segments; `None` when the decoding is not UTF-8.
fn decoded_segments(path: &str) -> Option<Vec<String>> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|seg| {
            let b = seg.as_bytes();
            let mut out = Vec::with_capacity(b.len());
            let mut i = 0;
            while i < b.len() {
                let hex = |c: u8| (c as char).to_digit(16);
                match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
                    (b'%', Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    (c, _, _) => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            String::from_utf8(out).ok()
        })
        .collect()
}

/// Whether `path` may be served from `dir`: no segment is a dotfile (`.git`, `.env`, …) and
/// nothing on the way is a symbolic link (which could lead out of the directory).
pub fn servable(dir: &Path, path: &str) -> bool {
    let Some(segments) = decoded_segments(path) else { return false };
    let mut at = dir.to_path_buf();
    for seg in segments {
        if seg.starts_with('.') || seg.contains('/') || seg.contains('\\') {
            return false;
        }
        at.push(seg);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => return false,
            Ok(_) => {}
            // Not there: the SPA fallback answers (index.html), nothing of the disk is read.
            Err(_) => return true,
        }
    }
    true
}

async fn not_built() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html("<!doctype html><title>CMEK console</title><p>The console is not built. Run <code>scripts/run</code>, or start the server with <code>--console-dir</code> pointing at trunk's <code>dist/</code>. The API is at <code>/api/v1beta/</code>.</p>"),
    )
        .into_response()
}

/// The console at `dir`, or a page that says how to build it.
pub fn service(dir: &Path) -> Router {
    let index = dir.join("index.html");
    if !index.is_file() {
        tracing::warn!(dir = %dir.display(), "no built console here; serving the API only");
        return Router::new().fallback(not_built);
    }
    // trunk's post-build hook writes .br and .gz beside each asset; they are sent as they are.
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(ServeFile::new(index).precompressed_br().precompressed_gzip());
    let root = dir.to_path_buf();
    let guard = move |req: Request<Body>, next: Next| {
        let ok = servable(&root, req.uri().path());
        async move {
            if ok {
                next.run(req).await
            } else {
                (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-cache")], "not found").into_response()
            }
        }
    };
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
        .layer(middleware::from_fn(guard))
        .layer(CompressionLayer::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn dotfiles_and_symlinks_are_not_served() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("index.html"), "x").unwrap();
        std::fs::create_dir(d.join("assets")).unwrap();
        std::fs::write(d.join("assets/a.js"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", d.join("etc")).unwrap();
        std::os::unix::fs::symlink(d.join("assets/a.js"), d.join("b.js")).unwrap();
        assert!(servable(d, "/index.html") && servable(d, "/assets/a.js") && servable(d, "/projects/1"));
        for bad in ["/.env", "/assets/.git/config", "/%2eenv", "/etc/passwd", "/b.js", "/a%2f..%2fb"] {
            assert!(!servable(d, bad), "{bad}");
        }
    }

    #[test]
    fn hashed_names() {
        assert!(is_hashed_asset("/cmek-console-5c0a3f7e2b1d9a84_bg.wasm"));
        assert!(is_hashed_asset("/cmek-console-5c0a3f7e2b1d9a84.js"));
        assert!(is_hashed_asset("/main-0123456789abcdef.css"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/projects/1372813089189560001"));
        assert!(!is_hashed_asset("/main.css"));
        assert!(is_hashed_asset("/cmek-console-979775b4b7987b0.js"), "15 hex digits: a hash without its leading zero");
        assert!(!is_hashed_asset("/sandbox-kms/0b5c2a4e-1d7e-4c5e-9a3e-12345678abcd"), "an app route, not a file");
    }
}
