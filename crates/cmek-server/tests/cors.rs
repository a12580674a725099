//! The console on another origin (a static host), over real HTTP: CORS for exactly the origins
//! named by `--allowed-origin`, and nothing for any other; the session cookie is refused with an
//! origin the server does not trust; the sign-in link points at `--console-url`; the headers a
//! static host is told to send (`cmek-server static-headers`) are the ones this server sends.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

const CONSOLE: &str = "http://127.0.0.1:18090";
const OTHER: &str = "http://127.0.0.1:18091";

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn preflight(base: &str, origin: &str, method: &str, headers: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(Method::OPTIONS, format!("{base}/api/v1beta/projects"))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .expect("preflight")
}

/// Signs in with the link's token from a page of `origin`; the session cookie (`name=value`).
async fn sign_in(server: &Server, origin: &str) -> (reqwest::StatusCode, Option<String>) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/ext/v1/session", server.base))
        .header("origin", origin)
        .header("content-type", "application/json")
        .body(json!({ "token": server.sign_in_token() }).to_string())
        .send()
        .await
        .expect("sign in");
    let cookie = header(&res, "set-cookie").and_then(|c| c.split(';').next()).map(str::to_owned);
    (res.status(), cookie)
}

#[tokio::test]
async fn only_the_configured_console_origins_get_cors() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &["--allowed-origin", CONSOLE]).await;

    // The console's origin: its preflight names it, with credentials, what the console sends,
    // and a cache lifetime.
    let res =
        preflight(&server.base, CONSOLE, "POST", "content-type,x-csrf-token,idempotency-key,x-cmek-console").await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(header(&res, "access-control-allow-origin"), Some(CONSOLE));
    assert_eq!(header(&res, "access-control-allow-credentials"), Some("true"));
    let allowed = header(&res, "access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    for h in ["content-type", "x-csrf-token", "idempotency-key", "x-cmek-console"] {
        assert!(allowed.contains(h), "{h} not in {allowed}");
    }
    let methods = header(&res, "access-control-allow-methods").unwrap_or_default().to_owned();
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{m} not in {methods}");
    }
    assert_eq!(header(&res, "access-control-max-age"), Some("7200"));

    // Signed in from the console's origin: reads answer with CORS and the rate-limit headers
    // exposed.
    let (status, cookie) = sign_in(&server, CONSOLE).await;
    assert_eq!(status, 200);
    let cookie = cookie.expect("a session cookie");
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}/api/v1beta/projects", server.base))
        .header("origin", CONSOLE)
        .header("cookie", &cookie)
        .header("x-cmek-console", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(CONSOLE));
    assert_eq!(header(&res, "access-control-allow-credentials"), Some("true"));
    let exposed = header(&res, "access-control-expose-headers").unwrap_or_default().to_ascii_lowercase();
    for h in ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after"] {
        assert!(exposed.contains(h), "{h} not in {exposed}");
    }
    assert!(
        header(&res, "vary").unwrap_or_default().to_ascii_lowercase().contains("origin"),
        "caches must key on Origin"
    );

    // Any other origin: no CORS headers on the preflight (the browser fails it) …
    let res = preflight(&server.base, OTHER, "POST", "content-type,x-csrf-token").await;
    // (tower-http sends Allow-Credentials regardless; without Allow-Origin it grants nothing.)
    assert_eq!(header(&res, "access-control-allow-origin"), None);
    // … nor on answers; and the session cookie from its pages is refused, reads included.
    for method in [Method::GET, Method::DELETE] {
        let res = http
            .request(method.clone(), format!("{}/api/v1beta/projects", server.base))
            .header("origin", OTHER)
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{method}");
        assert_eq!(header(&res, "access-control-allow-origin"), None, "{method}");
        let body = res.text().await.unwrap();
        assert!(body.contains(OTHER) && body.contains("--allowed-origin") && body.contains(CONSOLE), "{body}");
    }
    // Signing in from it is refused too.
    let (status, cookie) = sign_in(&server, OTHER).await;
    assert_eq!((status.as_u16(), cookie), (403, None));
    // The server's own pages (no Origin on a same-origin GET) are unaffected.
    let res = http
        .get(format!("{}/api/v1beta/projects", server.base))
        .header("cookie", "cmek_session=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn no_configured_origin_means_no_cors_at_all() {
    let server = Server::start().await;
    let origin = server.base.clone();
    let res = preflight(&server.base, &origin, "GET", "x-cmek-console").await;
    assert_eq!(header(&res, "access-control-allow-origin"), None);
    let res = preflight(&server.base, CONSOLE, "GET", "x-cmek-console").await;
    assert_eq!(header(&res, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn the_sign_in_link_points_at_the_console_url() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(
        tmp.path(),
        &["--allowed-origin", "https://example.github.io", "--console-url", "https://example.github.io/cmek/"],
    )
    .await;
    let prefix = "https://example.github.io/cmek/sign-in#token=";
    assert!(server.sign_in_url.starts_with(prefix), "{}", server.sign_in_url);
    assert!(server.sign_in_url.len() > prefix.len() + 16, "{}", server.sign_in_url);
}

#[tokio::test]
async fn a_static_host_is_told_the_headers_this_server_sends() {
    let server = Server::start().await;
    let res = reqwest::get(format!("{}/projects", server.base)).await.unwrap();
    for (name, value) in cmek_server::static_site::OTHER_HEADERS {
        assert_eq!(header(&res, name), Some(value), "{name}");
    }
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index.html");
    std::fs::write(
        &index,
        "<meta name=\"cmek-api-base\" content=\"http://127.0.0.1:18085\"><script type=\"module\">await init();</script>",
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cmek-server"))
        .arg("static-headers")
        .arg(&index)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Content-Security-Policy: "), "{text}");
    assert!(
        text.contains("connect-src 'self' http://127.0.0.1:18085;") && text.contains("'wasm-unsafe-eval'"),
        "{text}"
    );
    assert!(text.contains("Cross-Origin-Opener-Policy: same-origin\n"), "{text}");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cmek-server"))
        .args(["static-headers", "/nonexistent/index.html"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/index.html"));
}

/// Behind TLS the session cookie is `__Host-cmek_session`: a request carrying it from an origin
/// that is not allowed is refused as the plain cookie is.
#[tokio::test]
async fn the_host_prefixed_session_cookie_is_refused_from_other_origins_too() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &["--allowed-origin", CONSOLE, "--secure-cookies"]).await;
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1beta/projects", server.base))
        .header("origin", OTHER)
        .header("cookie", "__Host-cmek_session=anything")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let body = res.text().await.unwrap();
    assert!(body.contains(OTHER) && body.contains("--allowed-origin"), "{body}");
}
