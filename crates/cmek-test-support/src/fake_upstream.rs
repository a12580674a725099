//! A v1beta upstream for gateway mode that fails on demand: a bare HTTP/1.1 listener on loopback
//! (no authentication: the gateway signs anyway). It keeps the projects it was asked to create,
//! lists them, and answers each way a real upstream can fail.

use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How the fake answers the next requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Ok,
    /// 401: the gateway's key pair is wrong or revoked.
    Unauthorized,
    /// 429 with `X-Ratelimit-Reset`.
    RateLimited,
    /// 500 with the upstream's own code and message.
    Fails,
    /// Answers after 4 s.
    Slow,
    /// Drops the connection without answering.
    Drops,
    /// Creates, then drops the connection before answering.
    CreatesThenDrops,
}

#[derive(Default)]
struct State {
    mode: Option<Mode>,
    hits: u32,
    creates: u32,
    projects: Vec<(String, String)>,
}

/// A running fake upstream.
pub struct FakeUpstream {
    /// Its base URL (`http://127.0.0.1:PORT`), for `--upstream`.
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl FakeUpstream {
    /// A fake that names the projects it creates `first_id + 1`, `first_id + 2`, … and asks a
    /// limited client to wait `rate_limit_reset_secs`.
    pub async fn start(first_id: u64, rate_limit_reset_secs: u64) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake upstream");
        let base = format!("http://{}", listener.local_addr().expect("its address"));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let Some((method, path, body)) = read_request(&mut sock).await else { return };
                    let mode = {
                        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                        s.hits += 1;
                        s.mode.unwrap_or(Mode::Ok)
                    };
                    let answer = answer(&state, mode, &method, &path, &body, first_id, rate_limit_reset_secs).await;
                    if let Some(text) = answer {
                        let _ = sock.write_all(text.as_bytes()).await;
                    }
                });
            }
        });
        Self { base, state }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers the next requests in `mode`; the requests received so far.
    pub fn set_mode(&self, mode: Mode) -> u32 {
        let mut s = self.state();
        s.mode = Some(mode);
        s.hits
    }

    /// The requests received so far.
    pub fn hits(&self) -> u32 {
        self.state().hits
    }

    /// The projects created so far.
    pub fn creates(&self) -> u32 {
        self.state().creates
    }
}

/// One request: method, path (with the query) and body; `None` when the client went away.
async fn read_request(sock: &mut TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match sock.read(&mut chunk).await {
            Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    let mut first = head.lines().next()?.split(' ');
    Some((first.next()?.to_owned(), first.next()?.to_owned(), buf[head_end..].to_vec()))
}

fn reply(status: &str, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
        body.len()
    )
}

/// The answer to one request in `mode`; `None` to drop the connection.
async fn answer(
    state: &Mutex<State>,
    mode: Mode,
    method: &str,
    path: &str,
    body: &[u8],
    first_id: u64,
    reset_secs: u64,
) -> Option<String> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let out = match mode {
        Mode::Unauthorized => {
            reply("401 Unauthorized", "", r#"{"code":49900001,"message":"public_key not found","details":[]}"#)
        }
        Mode::RateLimited => reply(
            "429 Too Many Requests",
            &format!(
                "x-ratelimit-reset: {reset_secs}\r\nx-ratelimit-remaining-minute: 0\r\nx-ratelimit-limit-minute: 100\r\n"
            ),
            r#"{"details":[],"code":49900007,"message":"The request exceeded the limit of 100 times per apikey per minute."}"#,
        ),
        Mode::Fails => reply(
            "500 Internal Server Error",
            "",
            r#"{"code":49900500,"message":"upstream database is down","details":[]}"#,
        ),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(4)).await;
            reply("200 OK", "", r#"{"items":[],"total":0}"#)
        }
        Mode::Drops => return None,
        Mode::CreatesThenDrops | Mode::Ok if method == "POST" && path == "/api/v1beta/projects" => {
            let name =
                serde_json::from_slice::<Value>(body).unwrap_or_default()["name"].as_str().unwrap_or("").to_owned();
            let id = {
                let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                s.creates += 1;
                let id = (first_id + u64::from(s.creates)).to_string();
                s.projects.push((id.clone(), name));
                id
            };
            if mode == Mode::CreatesThenDrops {
                return None;
            }
            reply("200 OK", "", &format!(r#"{{"id":"{id}"}}"#))
        }
        Mode::CreatesThenDrops | Mode::Ok => {
            let path_only = path.split('?').next().unwrap_or_default();
            if path_only == "/api/v1beta/projects" {
                let items: Vec<Value> = state
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .projects
                    .iter()
                    .map(|(id, name)| {
                        json!({"id": id, "org_id": "1", "name": name, "cluster_count": 0, "user_count": 1,
                               "create_timestamp": now.to_string(), "aws_cmek_enabled": true})
                    })
                    .collect();
                reply("200 OK", "", &json!({"items": items, "total": items.len()}).to_string())
            } else if path_only.ends_with("/aws-cmek") {
                reply("200 OK", "", r#"{"items":[]}"#)
            } else if path_only.ends_with("/clusters") {
                reply("200 OK", "", r#"{"items":[],"total":0}"#)
            } else if path_only == "/api/v1beta/clusters/provider/regions" {
                reply("200 OK", "", r#"{"items":[]}"#)
            } else {
                reply("404 Not Found", "", r#"{"code":49950003,"message":"no such path","details":[]}"#)
            }
        }
    };
    Some(out)
}
