//! Authentication and request limits over real HTTP against the real binary: HTTP Digest with
//! curl and Python requests (unchanged clients) and the harness's own client (SHA-256 and MD5);
//! every refusal (no header, wrong or unknown or revoked key, replayed nonce count, expired
//! nonce); console sessions (one-time token, password, cookie attributes, CSRF and Origin,
//! sign-out, expiry); rate limits; security headers; idempotent creates.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// A request without the harness's Digest client.
async fn plain(method: Method, url: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Resp {
    let mut req = reqwest::Client::new().request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    Resp::read(req.send().await.expect("request")).await.expect("body")
}

fn challenges(r: &Resp) -> Vec<String> {
    r.headers.get_all("www-authenticate").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

/// A 401 with the ErrorResponse and, unless `console`, the SHA-256 and MD5 challenges; its message.
fn assert_401(r: &Resp, console: bool) -> String {
    assert_eq!((r.status, r.code()), (401, ErrorCode::Unauthenticated.code()), "{:?}", r.body);
    assert!(r.body["details"].is_array() && !r.message().is_empty(), "{:?}", r.body);
    let c = challenges(r);
    if console {
        assert!(c.is_empty(), "no challenge for the console's own requests: {c:?}");
    } else {
        assert_eq!(c.len(), 2, "{c:?}");
        for (ch, alg) in c.iter().zip(["SHA-256", "MD5"]) {
            let p = digest_params(ch);
            assert!(ch.starts_with("Digest "), "{ch}");
            assert_eq!(p["realm"], "tidbcloud", "{ch}");
            assert_eq!(p["qop"], "auth", "{ch}");
            assert_eq!(p["algorithm"], alg, "{ch}");
            assert!(!p["nonce"].is_empty() && !p["opaque"].is_empty(), "{ch}");
        }
    }
    r.message().to_owned()
}

/// Fails the test when a tool it needs is missing: a skipped real-client test would pass having
/// proved nothing. scripts/setup installs every one of them.
fn require_tool(what: &str, present: bool) {
    assert!(present, "{what} is not available, so this real-client test cannot run; run scripts/setup");
}

fn curl(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new("curl").args(args).output().expect("run curl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The Python of the tools venv scripts/setup makes (`$CMEK_TOOLS/venv`, with `requests`
/// pinned there), when it can import `requests`; never installed from the network here.
fn python_with_requests() -> Option<std::path::PathBuf> {
    let tools = std::env::var_os("CMEK_TOOLS")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/cmek-console-tools")))?;
    let python = tools.join("venv/bin/python");
    let ok = std::process::Command::new(&python).args(["-c", "import requests"]).output();
    ok.is_ok_and(|o| o.status.success()).then_some(python)
}

// ------------------------------------------------------------------ Digest

#[tokio::test]
async fn curl_digest_uses_sha256_and_works_unchanged() {
    let have = std::process::Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success());
    require_tool("curl", have);
    let s = Server::start().await;
    let user = format!("{}:{}", s.api_key.public, s.api_key.private);
    let url = format!("{}/api/v1beta/projects", s.base);
    let (ok, out, err) = curl(&[
        "-sS",
        "-v",
        "--digest",
        "--user",
        &user,
        "-H",
        "content-type: application/json",
        "--data",
        r#"{"name":"from-curl"}"#,
        &url,
    ]);
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("curl got: {out}\n{err}"));
    assert!(created["id"].is_string(), "{out}");
    assert!(err.contains("algorithm=SHA-256"), "curl answers the first (SHA-256) challenge:\n{err}");
    let (ok, out, err) = curl(&["-sS", "--digest", "--user", &user, &format!("{url}?page=1&page_size=10")]);
    assert!(ok, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["items"][0]["name"], "from-curl");
    // A wrong private key: 401 with the ErrorResponse.
    let (_, out, _) =
        curl(&["-sS", "--digest", "--user", &format!("{}:wrong", s.api_key.public), "-w", "\n%{http_code}", &url]);
    assert!(out.ends_with("\n401"), "{out}");
    assert!(out.contains(&ErrorCode::Unauthenticated.code().to_string()), "{out}");
}

#[tokio::test]
async fn python_requests_digest_auth_works_unchanged() {
    let py = python_with_requests();
    require_tool("Python with requests in $CMEK_TOOLS/venv", py.is_some());
    let python = py.expect("checked above");
    let s = Server::start().await;
    let script = r#"
import json, sys
import requests
from requests.auth import HTTPDigestAuth
base, pub, priv = sys.argv[1:4]
auth = HTTPDigestAuth(pub, priv)
r = requests.post(base + "/api/v1beta/projects", json={"name": "from-python"}, auth=auth)
assert r.status_code == 200, (r.status_code, r.text)
r = requests.get(base + "/api/v1beta/projects", params={"page": 1}, auth=auth)
assert r.status_code == 200, (r.status_code, r.text)
names = [p["name"] for p in r.json()["items"]]
r = requests.get(base + "/api/v1beta/projects", auth=HTTPDigestAuth(pub, "wrong"))
print(json.dumps({"names": names, "algorithm": auth._thread_local.chal.get("algorithm"),
                  "wrong": r.status_code, "remaining": r.headers.get("x-ratelimit-remaining-minute")}))
"#;
    let out = std::process::Command::new(&python)
        .args(["-c", script, &s.base, &s.api_key.public, &s.api_key.private])
        .output()
        .expect("run the venv's python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["names"], json!(["from-python"]));
    // requests joins both challenges into one header and keeps the last one's algorithm: MD5.
    assert_eq!(v["algorithm"], "MD5");
    assert_eq!(v["wrong"], 401);
}

#[tokio::test]
async fn the_harness_client_signs_with_sha256_and_md5() {
    let s = Server::start().await;
    for alg in [DigestAlg::Sha256, DigestAlg::Md5] {
        let mut c = DigestClient::new(s.api_key.clone());
        c.alg = alg;
        for i in 0..3 {
            let url = format!("{}/api/v1beta/projects?page={}", s.base, i + 1);
            let r = Resp::read(c.send(Method::GET, &url, &[], None).await.unwrap()).await.unwrap();
            assert_eq!(r.status, 200, "{alg:?}: {:?}", r.body);
        }
    }
}

#[tokio::test]
async fn refusals_answer_401_with_the_challenges() {
    let s = Server::start().await;
    let url = format!("{}/api/v1beta/projects", s.base);
    // No credentials at all.
    let r = plain(Method::GET, &url, &[], None).await;
    assert!(assert_401(&r, false).contains("no credentials"), "{}", r.message());
    // The console's own request: no challenge, so no browser dialog.
    let r = plain(Method::GET, &url, &[("x-cmek-console", "1")], None).await;
    assert_401(&r, true);
    // Unknown paths under /api/ are authenticated too.
    assert_401(&plain(Method::GET, &format!("{}/api/nothing", s.base), &[], None).await, false);
    // Basic is not Digest.
    let r = plain(Method::GET, &url, &[("authorization", "Basic QUJDOmRlZg==")], None).await;
    assert!(assert_401(&r, false).contains("Digest"), "{}", r.message());

    let nonce = challenge_of(&r.headers, DigestAlg::Sha256).unwrap();
    let sign = |key: &ApiKey, alg: DigestAlg, nc: u32, uri: &str| authorization(key, alg, &nonce, nc, "GET", uri);
    let good = s.api_key.clone();
    // Wrong private key.
    let wrong = ApiKey { private: "not-the-key".into(), ..good.clone() };
    let r = plain(
        Method::GET,
        &url,
        &[("authorization", &sign(&wrong, DigestAlg::Sha256, 1, "/api/v1beta/projects"))],
        None,
    )
    .await;
    let wrong_message = assert_401(&r, false);
    assert!(wrong_message.contains("private key is wrong"), "{wrong_message}");
    // Unknown public key.
    let unknown = ApiKey { public: "NOSUCHKY".into(), ..good.clone() };
    let r = plain(
        Method::GET,
        &url,
        &[("authorization", &sign(&unknown, DigestAlg::Md5, 1, "/api/v1beta/projects"))],
        None,
    )
    .await;
    // The same answer as a wrong private key: a 401 does not say which public keys exist.
    assert_eq!(assert_401(&r, false), wrong_message.replace(&good.public, "NOSUCHKY"));
    // Another request target than the one signed.
    let r =
        plain(Method::GET, &url, &[("authorization", &sign(&good, DigestAlg::Sha256, 1, "/api/v1beta/other"))], None)
            .await;
    assert!(assert_401(&r, false).contains("uri"), "{}", r.message());

    // A good signature works once per nonce count: a replay is refused; an unused lower count
    // passes once (concurrent requests arrive out of order; see tests/trust.rs).
    let h = sign(&good, DigestAlg::Sha256, 5, "/api/v1beta/projects");
    assert_eq!(plain(Method::GET, &url, &[("authorization", &h)], None).await.status, 200);
    let r = plain(Method::GET, &url, &[("authorization", &h)], None).await;
    assert!(assert_401(&r, false).contains("already used"), "{}", r.message());
    assert!(!challenges(&r)[0].contains("stale"), "a replay is not a stale nonce");
    let lower = sign(&good, DigestAlg::Md5, 4, "/api/v1beta/projects");
    assert_eq!(plain(Method::GET, &url, &[("authorization", &lower)], None).await.status, 200);
    let lower = sign(&good, DigestAlg::Md5, 4, "/api/v1beta/projects");
    let r = plain(Method::GET, &url, &[("authorization", &lower)], None).await;
    assert!(assert_401(&r, false).contains("already used"), "{}", r.message());
    let r =
        plain(Method::GET, &url, &[("authorization", &sign(&good, DigestAlg::Md5, 6, "/api/v1beta/projects"))], None)
            .await;
    assert_eq!(r.status, 200, "a higher count, with either algorithm, passes: {:?}", r.body);

    // A nonce this server never issued: stale, so the client retries with the new one.
    let forged = Nonce { nonce: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(), ..nonce.clone() };
    let h = authorization(&good, DigestAlg::Sha256, &forged, 1, "GET", "/api/v1beta/projects");
    let r = plain(Method::GET, &url, &[("authorization", &h)], None).await;
    assert_401(&r, false);
    assert!(challenges(&r).iter().all(|c| c.ends_with("stale=true")), "{:?}", challenges(&r));
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once() {
    let s = Server::start().await;
    assert_eq!(s.get("/api/v1beta/projects").await.status, 200);
    let other = create_api_key(&s.data_dir, "second").await;
    let dir = s.data_dir.to_str().unwrap();
    let list = api_key_command(&["list", "--data-dir", dir]).await;
    assert!(list.contains(&s.api_key.public) && list.contains(&other.public) && list.contains("second"), "{list}");
    assert!(!list.contains(&s.api_key.private), "the private key is never shown again:\n{list}");
    let out = api_key_command(&["revoke", "--data-dir", dir, &s.api_key.public]).await;
    assert!(out.contains("revoked"), "{out}");
    // The server reads the key on every request: the next one is refused.
    let r = s.get("/api/v1beta/projects").await;
    assert!(assert_401(&r, false).contains("revoked"), "{}", r.message());
    let list = api_key_command(&["list", "--data-dir", dir]).await;
    let line = list.lines().find(|l| l.starts_with(&s.api_key.public)).unwrap();
    assert!(line.ends_with("UTC") && line.matches("UTC").count() == 2, "created and revoked: {line}");
    // The other key still works.
    let c = DigestClient::new(other);
    let r = Resp::read(c.send(Method::GET, &format!("{}/api/v1beta/projects", s.base), &[], None).await.unwrap()).await;
    assert_eq!(r.unwrap().status, 200);
    // Revoking an unknown key fails.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cmek-server"))
        .args(["api-key", "revoke", "--data-dir", dir, "NOSUCHKY"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no API key NOSUCHKY"));
}

#[tokio::test]
async fn the_private_key_is_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let key = create_api_key(dir.path(), "x").await;
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(!bytes.windows(key.private.len()).any(|w| w == key.private.as_bytes()));
    }
}

#[tokio::test]
async fn an_expired_nonce_is_answered_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Server::start_in(tmp.path(), &["--nonce-secs", "1"]).await;
    let url = format!("{}/api/v1beta/projects", s.base);
    let r = plain(Method::GET, &url, &[], None).await;
    let nonce = challenge_of(&r.headers, DigestAlg::Sha256).unwrap();
    // Use the nonce with ever higher counts until the server says it is stale (polling; no
    // assumption about how long that takes beyond the bound of the loop).
    let mut stale = None;
    for nc in 1..=300 {
        let h = authorization(&s.api_key, DigestAlg::Sha256, &nonce, nc, "GET", "/api/v1beta/projects");
        let r = plain(Method::GET, &url, &[("authorization", &h)], None).await;
        if r.status == 401 {
            stale = Some(r);
            break;
        }
        assert_eq!(r.status, 200, "{:?}", r.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = stale.expect("the nonce never expired");
    assert!(assert_401(&r, false).contains("expired"), "{}", r.message());
    assert!(challenges(&r).iter().all(|c| c.ends_with("stale=true")), "{:?}", challenges(&r));
    // The harness's client simply takes the new nonce.
    assert_eq!(s.get("/api/v1beta/projects").await.status, 200);
}

#[tokio::test]
async fn an_api_key_used_from_another_origins_page_is_refused() {
    let s = Server::start().await;
    let r = s
        .with_headers(
            Method::POST,
            "/api/v1beta/projects",
            &[("origin", "http://evil.example")],
            Some(&json!({"name": "x"})),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, ErrorCode::PermissionDenied.code()), "{:?}", r.body);
    assert!(r.message().contains("http://evil.example"), "{}", r.message());
    let own = s.base.clone();
    let r =
        s.with_headers(Method::POST, "/api/v1beta/projects", &[("origin", &own)], Some(&json!({"name": "x"}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

// ------------------------------------------------------------------ console sessions

/// Signs in with `body`; (response, cookie value).
async fn sign_in(s: &Server, body: Value) -> (Resp, Option<String>) {
    let r = plain(Method::POST, &format!("{}/api/ext/v1/session", s.base), &[], Some(&body)).await;
    let cookie = r
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.strip_prefix("cmek_session=").or_else(|| c.strip_prefix("__Host-cmek_session=")))
        .map(|c| c.split(';').next().unwrap().to_owned());
    (r, cookie)
}

#[tokio::test]
async fn the_sign_in_link_works_once_and_the_session_rules_hold() {
    let s = Server::start().await;
    let host = s.base.strip_prefix("http://").unwrap().to_owned();
    assert!(s.sign_in_url.starts_with(&format!("{}/sign-in#token=", s.base)), "{}", s.sign_in_url);
    let session = format!("{}/api/ext/v1/session", s.base);
    // Not signed in yet.
    assert_401(&plain(Method::GET, &session, &[], None).await, false);
    assert_401(&plain(Method::GET, &session, &[("x-cmek-console", "1")], None).await, true);
    // A wrong token.
    let (r, cookie) = sign_in(&s, json!({"token": "nope"})).await;
    assert_eq!((r.status, r.code()), (401, ErrorCode::Unauthenticated.code()), "{:?}", r.body);
    assert!(cookie.is_none());
    // The printed token signs in.
    let (r, cookie) = sign_in(&s, json!({"token": s.sign_in_token()})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let csrf = r.body["csrf_token"].as_str().unwrap().to_owned();
    let expires = r.body["expires_at"].as_i64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now + 11 * 3600..=now + 13 * 3600).contains(&expires), "12 h by default: {expires} vs {now}");
    let set_cookie = r.header("set-cookie").to_owned();
    let cookie = cookie.expect("a session cookie");
    assert_eq!(set_cookie, format!("cmek_session={cookie}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"));
    assert!(!csrf.is_empty() && csrf != cookie);
    // … once.
    let (r, _) = sign_in(&s, json!({"token": s.sign_in_token()})).await;
    assert_eq!((r.status, r.code()), (401, ErrorCode::Unauthenticated.code()), "{:?}", r.body);
    assert!(r.message().contains("used already"), "{}", r.message());
    // Password sign-in is off here.
    let (r, _) = sign_in(&s, json!({"password": "x"})).await;
    assert!(r.status == 401 && r.message().contains("--console-password-file"), "{:?}", r.body);

    let c = format!("cmek_session={cookie}");
    // The session as the cookie says.
    let r = plain(Method::GET, &session, &[("cookie", &c)], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"csrf_token": csrf, "expires_at": expires}));
    // Reads pass with the cookie alone, with the rate-limit headers of an authenticated answer.
    let projects = format!("{}/api/v1beta/projects", s.base);
    let r = plain(Method::GET, &projects, &[("cookie", &c)], None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // Changes need X-CSRF-Token and Origin.
    let body = json!({"name": "from-console"});
    let origin = format!("http://{host}");
    let r = plain(Method::POST, &projects, &[("cookie", &c)], Some(&body)).await;
    assert_eq!((r.status, r.code()), (403, ErrorCode::PermissionDenied.code()), "{:?}", r.body);
    assert!(r.message().contains("X-CSRF-Token") && r.message().contains("Origin"), "{}", r.message());
    let r = plain(Method::POST, &projects, &[("cookie", &c), ("x-csrf-token", &csrf)], Some(&body)).await;
    assert_eq!(r.status, 403);
    assert!(r.message().contains("Origin") && !r.message().contains("X-CSRF-Token"), "{}", r.message());
    let r = plain(Method::POST, &projects, &[("cookie", &c), ("origin", &origin)], Some(&body)).await;
    assert!(r.status == 403 && r.message().contains("X-CSRF-Token"), "{:?}", r.body);
    let r =
        plain(Method::POST, &projects, &[("cookie", &c), ("origin", &origin), ("x-csrf-token", "forged")], Some(&body))
            .await;
    assert!(r.status == 403 && r.message().contains("does not match"), "{:?}", r.body);
    let r = plain(
        Method::POST,
        &projects,
        &[("cookie", &c), ("origin", "http://evil.example"), ("x-csrf-token", &csrf)],
        Some(&body),
    )
    .await;
    assert!(r.status == 403 && r.message().contains("http://evil.example"), "{:?}", r.body);
    let r =
        plain(Method::POST, &projects, &[("cookie", &c), ("origin", &origin), ("x-csrf-token", &csrf)], Some(&body))
            .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // The session endpoints themselves need no API key; signing out is a change too.
    let r = plain(Method::DELETE, &session, &[("cookie", &c)], None).await;
    assert_eq!((r.status, r.code()), (403, ErrorCode::PermissionDenied.code()), "{:?}", r.body);
    let r =
        plain(Method::DELETE, &session, &[("cookie", &c), ("origin", &origin), ("x-csrf-token", &csrf)], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({}));
    assert_eq!(r.header("set-cookie"), "cmek_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    // The cookie is no session any more.
    let r = plain(Method::GET, &projects, &[("cookie", &c), ("x-cmek-console", "1")], None).await;
    assert!(assert_401(&r, true).contains("ended"), "{}", r.message());
    assert_401(&plain(Method::GET, &session, &[("cookie", &c)], None).await, false);
    // Signing out without a session only clears the cookie.
    let r = plain(Method::DELETE, &session, &[], None).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn a_password_signs_in_and_cookies_are_secure_behind_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let pw = tmp.path().join("console-password");
    std::fs::write(&pw, "correct horse battery staple\n").unwrap();
    let s = Server::start_in(
        tmp.path(),
        &["--console-password-file", pw.to_str().unwrap(), "--secure-cookies", "--session-hours", "1"],
    )
    .await;
    let (r, _) = sign_in(&s, json!({"password": "wrong"})).await;
    assert!(r.status == 401 && r.message().contains("wrong"), "{:?}", r.body);
    let (r, _) = sign_in(&s, json!({})).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    let (r, _) = sign_in(&s, json!({"password": "correct horse battery staple", "token": "x"})).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    for _ in 0..2 {
        let (r, cookie) = sign_in(&s, json!({"password": "correct horse battery staple"})).await;
        assert_eq!(r.status, 200, "a password signs in again and again: {:?}", r.body);
        let cookie = cookie.unwrap();
        assert_eq!(
            r.header("set-cookie"),
            format!("__Host-cmek_session={cookie}; HttpOnly; SameSite=Strict; Path=/; Max-Age=3600; Secure")
        );
        // Behind TLS the console's origin is https://.
        let host = s.base.strip_prefix("http://").unwrap();
        let csrf = r.body["csrf_token"].as_str().unwrap();
        let c = format!("__Host-cmek_session={cookie}");
        let url = format!("{}/api/v1beta/projects", s.base);
        let body = json!({"name": "tls"});
        let r = plain(Method::POST, &url, &[("cookie", &c), ("x-csrf-token", csrf), ("origin", &s.base)], Some(&body))
            .await;
        assert_eq!(r.status, 403, "{:?}", r.body);
        let https = format!("https://{host}");
        let r =
            plain(Method::POST, &url, &[("cookie", &c), ("x-csrf-token", csrf), ("origin", &https)], Some(&body)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    // A sign-in from another origin's page is refused.
    let r = plain(
        Method::POST,
        &format!("{}/api/ext/v1/session", s.base),
        &[("origin", "http://evil.example")],
        Some(&json!({"password": "correct horse battery staple"})),
    )
    .await;
    assert_eq!((r.status, r.code()), (403, ErrorCode::PermissionDenied.code()), "{:?}", r.body);
}

#[tokio::test]
async fn failed_sign_ins_are_limited() {
    let tmp = tempfile::tempdir().unwrap();
    let pw = tmp.path().join("console-password");
    std::fs::write(&pw, "correct horse battery staple\n").unwrap();
    let s = Server::start_in(tmp.path(), &["--console-password-file", pw.to_str().unwrap()]).await;
    // Exactly 10 failures from one address are answered 401; then that address waits a
    // minute (Retry-After), even with the right password, which is not even checked.
    for i in 1..=10 {
        let (r, _) = sign_in(&s, json!({"password": format!("guess {i}")})).await;
        assert_eq!((r.status, r.code()), (401, ErrorCode::Unauthenticated.code()), "failure {i}: {:?}", r.body);
    }
    let (r, cookie) = sign_in(&s, json!({"password": "correct horse battery staple"})).await;
    assert_eq!((r.status, r.code()), (429, ErrorCode::RateLimited.code()), "{:?}", r.body);
    assert!(cookie.is_none());
    assert!(r.message().contains("127.0.0.1") && r.message().contains("60 s"), "{}", r.message());
    assert_eq!(r.header("retry-after"), "60");
    let (r, _) = sign_in(&s, json!({"token": "guess"})).await;
    assert_eq!(
        (r.status, r.code()),
        (429, ErrorCode::RateLimited.code()),
        "a wrong link token waits too: {:?}",
        r.body
    );
    // The link's token is checked first (256 random bits: nothing to guess), so the right one
    // signs in whatever failed before.
    let (r, cookie) = sign_in(&s, json!({"token": s.sign_in_token()})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(cookie.is_some());
}

#[tokio::test]
async fn sessions_expire() {
    let tmp = tempfile::tempdir().unwrap();
    // 0.0005 h = 1.8 s.
    let s = Server::start_in(tmp.path(), &["--session-hours", "0.0005"]).await;
    let (r, cookie) = sign_in(&s, json!({"token": s.sign_in_token()})).await;
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").ends_with("Max-Age=1"), "{}", r.header("set-cookie"));
    let c = format!("cmek_session={}", cookie.unwrap());
    let url = format!("{}/api/ext/v1/session", s.base);
    let mut ended = None;
    for _ in 0..200 {
        let r = plain(Method::GET, &url, &[("cookie", &c), ("x-cmek-console", "1")], None).await;
        if r.status != 200 {
            ended = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = ended.expect("the session never expired");
    assert!(assert_401(&r, true).contains("ended"), "{}", r.message());
    let r = plain(Method::GET, &format!("{}/api/v1beta/projects", s.base), &[("cookie", &c)], None).await;
    assert_401(&r, false);
}

// ------------------------------------------------------------------ rate limits

#[tokio::test]
async fn requests_per_minute_are_limited_per_credential() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Server::start_in(tmp.path(), &["--rate-limit-per-minute", "5"]).await;
    // At most 5 per window: within 11 requests (even across a window boundary) one is refused.
    let mut seen = Vec::new();
    let mut refused = None;
    for _ in 0..11 {
        let r = s.get("/api/v1beta/projects").await;
        assert_eq!(r.header("x-ratelimit-limit-minute"), "5", "{:?}", r.headers);
        let remaining: u32 = r.header("x-ratelimit-remaining-minute").parse().unwrap();
        let reset: u32 = r.header("x-ratelimit-reset").parse().unwrap();
        assert!((1..=60).contains(&reset), "{reset}");
        assert!(remaining <= 4);
        seen.push((r.status, remaining));
        if r.status == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status, 200);
    }
    let r = refused.unwrap_or_else(|| panic!("no 429 in 11 requests: {seen:?}"));
    assert_eq!(r.code(), ErrorCode::RateLimited.code());
    assert_eq!(r.header("x-ratelimit-remaining-minute"), "0");
    assert!(
        r.message().starts_with("The request exceeded the limit of 5 times per apikey per minute."),
        "{}",
        r.message()
    );
    assert!(seen.windows(2).any(|w| w[0].1 > w[1].1), "the remaining count goes down: {seen:?}");
    // A console session has its own count.
    let (r, cookie) = sign_in(&s, json!({"token": s.sign_in_token()})).await;
    assert_eq!(r.status, 200, "signing in is not limited by the key's count");
    let c = format!("cmek_session={}", cookie.unwrap());
    let r = plain(Method::GET, &format!("{}/api/v1beta/projects", s.base), &[("cookie", &c)], None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.header("x-ratelimit-limit-minute"), "5");
    // Unauthenticated answers carry no rate headers.
    let r = plain(Method::GET, &format!("{}/api/v1beta/projects", s.base), &[], None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("x-ratelimit-limit-minute"), "");
}

// ------------------------------------------------------------------ security headers

const INDEX: &str = "<!doctype html>\n<html><head><meta name=\"cmek-api-base\" content=\"\"/>\n<script type=\"module\">\nimport init from '/app.js';\nawait init();\n</script>\n</head><body></body></html>\n";

fn assert_security_headers(r: &Resp, what: &str) {
    let csp = r.header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"), "{what}: {csp}");
    assert_eq!(r.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(r.header("referrer-policy"), "no-referrer", "{what}");
}

#[tokio::test]
async fn security_headers_are_on_every_answer() {
    let tmp = tempfile::tempdir().unwrap();
    // The harness serves `<data-dir>/no-console` as the console: give it an index.html.
    let console = tmp.path().join("no-console");
    std::fs::create_dir_all(&console).unwrap();
    std::fs::write(console.join("index.html"), INDEX).unwrap();
    std::fs::write(console.join("app.js"), "export default async function init() {}\n").unwrap();
    let s = Server::start_in(tmp.path(), &[]).await;
    let answers = [
        (s.get("/api/v1beta/projects").await, 200, "an API answer"),
        (plain(Method::GET, &format!("{}/api/v1beta/projects", s.base), &[], None).await, 401, "a 401"),
        (s.raw(Method::POST, "/api/v1beta/projects", Some("application/json"), "{not json").await, 400, "a 400"),
        (s.get("/api/ext/v1/nothing").await, 404, "a 404"),
        (s.request(Method::DELETE, "/api/v1beta/projects", None).await, 405, "a 405"),
        (plain(Method::GET, &format!("{}/app.js", s.base), &[], None).await, 200, "a static asset"),
    ];
    for (r, status, what) in &answers {
        assert_eq!(r.status, *status, "{what}: {:?}", r.body);
        assert_security_headers(r, what);
    }
    // A 429, from a server with a limit of one request a minute.
    let limited_dir = tempfile::tempdir().unwrap();
    let limited = Server::start_in(limited_dir.path(), &["--rate-limit-per-minute", "1"]).await;
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(limited.get("/api/v1beta/projects").await);
    }
    let r = answers.iter().find(|r| r.status == 429).expect("a 429 within three requests at 1 a minute");
    assert_security_headers(r, "a 429");
    // The console needs no authentication; its policy allows its inline script by hash.
    for path in ["/", "/projects/1/clusters"] {
        let r = plain(Method::GET, &format!("{}{path}", s.base), &[], None).await;
        assert_eq!(r.status, 200, "{path}");
        assert_security_headers(&r, path);
        let csp = r.header("content-security-policy");
        use base64::Engine as _;
        use sha2::Digest as _;
        let hash = base64::engine::general_purpose::STANDARD
            .encode(sha2::Sha256::digest(b"\nimport init from '/app.js';\nawait init();\n"));
        assert!(csp.contains(&format!("script-src 'self' 'wasm-unsafe-eval' 'sha256-{hash}'")), "{csp}");
        assert!(csp.contains("style-src 'self'"), "{csp}");
    }
}

// ------------------------------------------------------------------ idempotent creates

#[tokio::test]
async fn creates_with_an_idempotency_key_happen_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(tmp.path(), &[]).await;
    let body = json!({"name": "once", "aws_cmek_enabled": false});
    let k = [("idempotency-key", "form-1")];
    let first = s.with_headers(Method::POST, "/api/v1beta/projects", &k, Some(&body)).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.header("idempotent-replayed"), "");
    let again = s.with_headers(Method::POST, "/api/v1beta/projects", &k, Some(&body)).await;
    assert_eq!((again.status, &again.body), (200, &first.body));
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(s.get("/api/v1beta/projects").await.body["total"], 1);
    // The same key with another body: refused, naming the header.
    let other = s.with_headers(Method::POST, "/api/v1beta/projects", &k, Some(&json!({"name": "twice"}))).await;
    assert_eq!((other.status, other.code()), (400, ErrorCode::IdempotencyKeyReused.code()), "{:?}", other.body);
    assert!(other.message().contains("Idempotency-Key"), "{}", other.message());
    // A malformed key.
    let bad = s.with_headers(Method::POST, "/api/v1beta/projects", &[("idempotency-key", "a b")], Some(&body)).await;
    assert!(bad.status == 400 && bad.message().contains("Idempotency-Key"), "{:?}", bad.body);
    // Without a key every POST creates.
    s.post("/api/v1beta/projects", body.clone()).await;
    assert_eq!(s.get("/api/v1beta/projects").await.body["total"], 2);
    // A refused create is not kept: the same key is checked anew (idempotent_retry.rs has the
    // corrected retry), and may then carry the corrected request.
    let invalid = json!({"name": ""});
    let k2 = [("idempotency-key", "form-2")];
    let r1 = s.with_headers(Method::POST, "/api/v1beta/projects", &k2, Some(&invalid)).await;
    let r2 = s.with_headers(Method::POST, "/api/v1beta/projects", &k2, Some(&invalid)).await;
    assert_eq!((r1.status, &r1.body), (r2.status, &r2.body));
    assert_eq!(r2.header("idempotent-replayed"), "");
    let corrected = s.with_headers(Method::POST, "/api/v1beta/projects", &k2, Some(&json!({"name": "fixed"}))).await;
    assert_eq!(corrected.status, 200, "{:?}", corrected.body);

    // Clusters and aws-cmek too.
    let pid = first.body["id"].as_str().unwrap().to_owned();
    let cluster = json!({"name": "cluster-one", "cluster_type": "DEDICATED", "cloud_provider": "AWS", "region": "us-west-2",
        "config": {"root_password": "password_example", "port": 4000,
            "components": {"tidb": {"node_size": "8C16G", "node_quantity": 1},
                           "tikv": {"node_size": "8C32G", "storage_size_gib": 1024, "node_quantity": 3}}}});
    let path = format!("/api/v1beta/projects/{pid}/clusters");
    let k3 = [("idempotency-key", "cluster-form-1")];
    let c1 = s.with_headers(Method::POST, &path, &k3, Some(&cluster)).await;
    assert_eq!(c1.status, 200, "{:?}", c1.body);
    let c2 = s.with_headers(Method::POST, &path, &k3, Some(&cluster)).await;
    assert_eq!(c2.body, c1.body);
    assert_eq!(s.get(&path).await.body["total"], 1);
    let cmek = s
        .with_headers(Method::POST, &format!("/api/v1beta/projects/{pid}/aws-cmek"), &k3, Some(&json!({"specs": []})))
        .await;
    assert_eq!(
        cmek.code(),
        ErrorCode::IdempotencyKeyReused.code(),
        "one key per credential, whatever the path: {:?}",
        cmek.body
    );

    // Kept in SQLite: a retry after a restart still gets the first answer.
    s = s.restart().await;
    let after = s.with_headers(Method::POST, &path, &k3, Some(&cluster)).await;
    assert_eq!(after.body, c1.body);
    assert_eq!(s.get(&path).await.body["total"], 1);

    // Keys are per credential: a console session's "form-1" is its own.
    let (r, cookie) = sign_in(&s, json!({"token": s.sign_in_token()})).await;
    let csrf = r.body["csrf_token"].as_str().unwrap().to_owned();
    let c = format!("cmek_session={}", cookie.unwrap());
    let url = format!("{}/api/v1beta/projects", s.base);
    let h = [
        ("cookie", c.as_str()),
        ("x-csrf-token", csrf.as_str()),
        ("origin", s.base.as_str()),
        ("idempotency-key", "form-1"),
    ];
    let mine = plain(Method::POST, &url, &h, Some(&body)).await;
    assert_eq!(mine.status, 200, "{:?}", mine.body);
    assert_ne!(mine.body, first.body);
    let mine_again = plain(Method::POST, &url, &h, Some(&body)).await;
    assert_eq!(mine_again.body, mine.body);
    assert_eq!(s.get("/api/v1beta/projects").await.body["total"], 4, "once, twice, fixed, the session's");
}

#[tokio::test]
async fn parallel_repeats_of_one_key_create_once() {
    let s = std::sync::Arc::new(Server::start().await);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.with_headers(
                Method::POST,
                "/api/v1beta/projects",
                &[("idempotency-key", "same")],
                Some(&json!({"name": "p"})),
            )
            .await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{:?}", r.body);
        ids.insert(r.body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(s.get("/api/v1beta/projects").await.body["total"], 1);
}

#[tokio::test]
async fn the_openapi_document_describes_authentication() {
    let s = Server::start().await;
    let doc = s.get("/api/ext/v1/openapi.json").await.body;
    assert_eq!(doc["components"]["securitySchemes"]["digest"]["scheme"], "digest");
    assert_eq!(doc["components"]["securitySchemes"]["session"]["name"], "cmek_session");
    for m in ["get", "post", "delete"] {
        assert!(doc["paths"]["/api/ext/v1/session"][m].is_object(), "{m}");
        assert_eq!(doc["paths"]["/api/ext/v1/session"][m]["security"], json!([]), "signing in needs no credentials");
    }
}
