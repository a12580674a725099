//! The names this server is reached under (the `Host` allow-list), against DNS rebinding: a
//! page on `evil.example` whose name is made to resolve to 127.0.0.1 sends `Host:
//! evil.example:8080`, and that is refused before routing. The server's own origin is built from
//! this list, never from the request's `Host`.
//!
//! The list: the `--listen` address's own names (its IP literal; for a loopback address also
//! `localhost`, `127.0.0.1` and `[::1]`; for 0.0.0.0 / [::] any IP literal, which no DNS
//! answer can rebind), on the bound port; plus every `--public-name` (a name without a port
//! matches any port, as behind a proxy). Kept apart from `--allowed-origin`, which names
//! *pages* allowed to call this server, not names it is reached under.

use std::net::{IpAddr, SocketAddr};

/// `host` and optional port of `host[:port]` (IPv6 in brackets); `None` when malformed.
pub fn split_host(s: &str) -> Option<(&str, Option<&str>)> {
    if s.starts_with('[') {
        let end = s.find(']')?;
        let (host, rest) = s.split_at(end + 1);
        if host[1..end].parse::<std::net::Ipv6Addr>().is_err() {
            return None;
        }
        return match rest {
            "" => Some((host, None)),
            r => r.strip_prefix(':').filter(|p| !p.is_empty()).map(|p| (host, Some(p))),
        };
    }
    match s.split_once(':') {
        None if !s.is_empty() => Some((s, None)),
        Some((h, p)) if !h.is_empty() && !p.is_empty() && !p.contains(':') => Some((h, Some(p))),
        _ => None,
    }
}

/// The allowed names; see the module doc.
#[derive(Clone, Debug)]
pub struct Hosts {
    port: u16,
    /// Hosts allowed on `port` (lower case; IPv6 in brackets).
    own: Vec<String>,
    /// Listening on every address: any IP literal on `port`.
    any_ip: bool,
    /// `--public-name` entries: (host, port or any).
    public: Vec<(String, Option<u16>)>,
    scheme: &'static str,
}

impl Hosts {
    /// `bound` is the address actually listened on (port 0 resolved).
    pub fn new(bound: SocketAddr, public_names: &[String], secure: bool) -> Self {
        let ip = bound.ip();
        let literal = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        let mut own = vec![];
        if ip.is_loopback() || ip.is_unspecified() {
            own.extend(["127.0.0.1".to_owned(), "localhost".to_owned(), "[::1]".to_owned()]);
        }
        if !ip.is_unspecified() && !own.contains(&literal(ip)) {
            own.insert(0, literal(ip));
        }
        let public = public_names
            .iter()
            .filter_map(|n| {
                let (h, p) = split_host(n)?;
                Some((h.to_ascii_lowercase(), p.and_then(|p| p.parse().ok())))
            })
            .collect();
        Self {
            port: bound.port(),
            own,
            any_ip: ip.is_unspecified(),
            public,
            scheme: if secure { "https" } else { "http" },
        }
    }

    /// Whether a `Host` header value (or an origin's host part) names this server.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let Some((name, port)) = split_host(&host) else { return false };
        let default_port = if self.scheme == "https" { 443 } else { 80 };
        let port = match port {
            None => default_port,
            Some(p) => match p.parse::<u16>() {
                Ok(p) => p,
                Err(_) => return false,
            },
        };
        if self.public.iter().any(|(h, p)| h == name && p.is_none_or(|p| p == port)) {
            return true;
        }
        if port != self.port {
            return false;
        }
        let ip_literal = name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok();
        self.own.iter().any(|h| h == name) || (self.any_ip && ip_literal)
    }

    /// Whether `origin` (`scheme://host[:port]`) is a page of this server.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        origin
            .strip_prefix(self.scheme)
            .and_then(|r| r.strip_prefix("://"))
            .is_some_and(|host| !host.contains('/') && self.allows(host))
    }

    /// This server's origin, as messages name it: the first public name, else the first own.
    pub fn primary_origin(&self) -> String {
        match self.public.first() {
            Some((h, Some(p))) => format!("{}://{h}:{p}", self.scheme),
            Some((h, None)) => format!("{}://{h}", self.scheme),
            None => format!("{}://{}:{}", self.scheme, self.own.first().map_or("127.0.0.1", String::as_str), self.port),
        }
    }

    /// The names, for a refusal's message.
    pub fn describe(&self) -> String {
        let mut names: Vec<String> = self.own.iter().map(|h| format!("{h}:{}", self.port)).collect();
        if self.any_ip {
            names.push(format!("any IP address on port {}", self.port));
        }
        names.extend(self.public.iter().map(|(h, p)| p.map_or_else(|| h.clone(), |p| format!("{h}:{p}"))));
        names.join(", ")
    }
}

impl axum::extract::FromRef<crate::state::AppState> for std::sync::Arc<Hosts> {
    fn from_ref(s: &crate::state::AppState) -> Self {
        std::sync::Arc::clone(&s.auth.hosts)
    }
}

/// Refuses, before routing, a request whose `Host` is not a name of this server (DNS
/// rebinding: a page of another name that resolves here).
pub async fn check_host(
    axum::extract::State(hosts): axum::extract::State<std::sync::Arc<Hosts>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use crate::error::ApiError;
    use axum::response::IntoResponse;
    use cmek_core::ErrorCode;
    let host = req.headers().get(axum::http::header::HOST).map(|h| h.to_str().unwrap_or("(not ASCII)").to_owned());
    let host = host.or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
    match host {
        Some(h) if hosts.allows(&h) => next.run(req).await,
        Some(h) => ApiError::new(
            ErrorCode::InvalidField,
            format!(
                "the Host header \"{h}\" is not a name of this server (it answers to {}); a server reached under another name starts with --public-name NAME",
                hosts.describe()
            ),
        )
        .into_response(),
        None => ApiError::new(ErrorCode::MissingField, "the request has no Host header").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_layer_refuses_a_foreign_host_before_routing() {
        use tower::ServiceExt;
        let hosts = std::sync::Arc::new(Hosts::new("127.0.0.1:8080".parse().unwrap(), &[], false));
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(hosts, check_host));
        let with_host = |h: &'static str| {
            axum::extract::Request::get("/").header("host", h).body(axum::body::Body::empty()).unwrap()
        };
        assert_eq!(app.clone().oneshot(with_host("localhost:8080")).await.unwrap().status(), 200);
        assert_eq!(app.oneshot(with_host("evil.example:8080")).await.unwrap().status(), 400);
    }

    #[test]
    fn splits() {
        assert_eq!(split_host("a.b:80"), Some(("a.b", Some("80"))));
        assert_eq!(split_host("a.b"), Some(("a.b", None)));
        assert_eq!(split_host("[::1]:8"), Some(("[::1]", Some("8"))));
        assert_eq!(split_host("[::1]"), Some(("[::1]", None)));
        assert_eq!(split_host("[zz]:8"), None);
        assert_eq!(split_host("a:b:c"), None);
        assert_eq!(split_host(":80"), None);
        assert_eq!(split_host(""), None);
    }

    #[test]
    fn loopback() {
        let h = Hosts::new("127.0.0.1:8080".parse().unwrap(), &[], false);
        for ok in ["127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080", "[::1]:8080"] {
            assert!(h.allows(ok), "{ok}");
        }
        for bad in ["evil.example:8080", "127.0.0.1:8081", "127.0.0.1", "127.0.0.2:8080", "", "localhost.:8080"] {
            assert!(!h.allows(bad), "{bad}");
        }
        assert!(h.origin_allowed("http://127.0.0.1:8080"));
        assert!(!h.origin_allowed("https://127.0.0.1:8080"));
        assert!(!h.origin_allowed("http://evil.example:8080"));
        assert!(!h.origin_allowed("http://127.0.0.1:8080/x"));
        assert_eq!(h.primary_origin(), "http://127.0.0.1:8080");
        assert!(h.describe().contains("localhost:8080"));
    }

    #[test]
    fn every_address_and_public_names() {
        let h = Hosts::new("0.0.0.0:80".parse().unwrap(), &["cmek.example.com".into(), "b.example:8443".into()], true);
        assert!(h.allows("10.1.2.3:80") && h.allows("[fe80::1]:80") && h.allows("localhost:80"));
        assert!(!h.allows("10.1.2.3:81") && !h.allows("rebind.example:80"));
        assert!(h.allows("cmek.example.com") && h.allows("cmek.example.com:9999"));
        assert!(h.allows("b.example:8443") && !h.allows("b.example") && !h.allows("b.example:8444"));
        assert!(h.origin_allowed("https://cmek.example.com") && !h.origin_allowed("http://cmek.example.com"));
        assert_eq!(h.primary_origin(), "https://cmek.example.com");
    }
}
