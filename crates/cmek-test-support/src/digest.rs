//! API keys and HTTP Digest (RFC 7616, `qop=auth`) for tests. The `Authorization` header is made
//! by the gateway's signer (`cmek_server::gateway::digest_client::authorization`), the one the
//! server uses towards a real upstream; only the choice of nonce and count is the test's.

use cmek_server::gateway::digest_client::{self, Challenge};
use cmek_server::gateway::key_pair::KeyPair;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The Digest hash algorithm a client uses (the server's own type).
pub use cmek_server::gateway::digest_client::Algorithm as DigestAlg;

/// An API key pair as `cmek-server api-key create` prints it.
#[derive(Clone, Debug)]
pub struct ApiKey {
    pub public: String,
    pub private: String,
}

impl ApiKey {
    /// The pair out of `cmek-server api-key create`'s output (`public key: …`, `private key: …`).
    pub fn from_create_output(out: &str) -> Self {
        let line = |prefix: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("no \"{prefix}\" line in:\n{out}"))
                .trim()
                .to_owned()
        };
        ApiKey { public: line("public key:"), private: line("private key:") }
    }
}

/// The parameters of a `Digest` challenge (or any `k=v, k="v"` list), names in lowercase.
pub fn digest_params(s: &str) -> HashMap<String, String> {
    let s = s.trim();
    let s = s.strip_prefix("Digest").or_else(|| s.strip_prefix("digest")).unwrap_or(s);
    digest_client::params(s)
}

/// A nonce the server handed out, and the last count used with it.
#[derive(Clone, Debug)]
pub struct Nonce {
    pub nonce: String,
    pub opaque: Option<String>,
    pub realm: String,
    pub nc: u32,
}

/// The `Authorization` header for one request with `alg`, the nonce `n` and the count `nc`,
/// signed by the gateway's signer. Any nonce, count and algorithm may be combined (tests replay,
/// forge and mix them on purpose).
pub fn authorization(key: &ApiKey, alg: DigestAlg, n: &Nonce, nc: u32, method: &str, uri: &str) -> String {
    let keys = KeyPair::new(&key.public, &key.private)
        .unwrap_or_else(|e| panic!("a test key the signer takes ({}): {e}", key.public));
    let challenge = Challenge {
        algorithm: alg,
        realm: n.realm.clone(),
        nonce: n.nonce.clone(),
        opaque: n.opaque.clone(),
        stale: false,
    };
    digest_client::authorization(&keys, &digest_client::Nonce { challenge, nc }, method, uri)
}

/// The first Digest challenge of a 401 with `alg`, if it has one.
pub fn challenge_of(headers: &reqwest::header::HeaderMap, alg: DigestAlg) -> Option<Nonce> {
    headers.get_all("www-authenticate").iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let p = digest_params(v);
        (p.get("algorithm").is_some_and(|a| a.eq_ignore_ascii_case(alg.name()))).then(|| Nonce {
            nonce: p.get("nonce").cloned().unwrap_or_default(),
            opaque: p.get("opaque").cloned(),
            realm: p.get("realm").cloned().unwrap_or_default(),
            nc: 0,
        })
    })
}

/// A client that authenticates every request with Digest. Nonces are kept for reuse with an
/// increasing count; each is used by one request at a time (so counts reach the server in
/// order, even with requests in parallel); a 401 with a challenge is answered once more with
/// the new nonce.
#[derive(Clone)]
pub struct DigestClient {
    pub http: reqwest::Client,
    pub key: ApiKey,
    pub alg: DigestAlg,
    nonces: Arc<Mutex<Vec<Nonce>>>,
}

impl DigestClient {
    pub fn new(key: ApiKey) -> Self {
        Self {
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
            key,
            alg: DigestAlg::Sha256,
            nonces: Arc::default(),
        }
    }

    fn take_nonce(&self) -> Option<Nonce> {
        self.nonces.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn keep_nonce(&self, n: Nonce) {
        self.nonces.lock().unwrap_or_else(|p| p.into_inner()).push(n);
    }

    /// Sends `method url` with the headers and body; `Err` only when the server could not be
    /// reached.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> reqwest::Result<reqwest::Response> {
        let url = reqwest::Url::parse(url).expect("a URL");
        let uri = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let nonce = self.take_nonce().map(|mut n| {
                n.nc += 1;
                n
            });
            let mut req = self.http.request(method.clone(), url.clone());
            if let Some(n) = &nonce {
                req = req.header("authorization", authorization(&self.key, self.alg, n, n.nc, method.as_str(), &uri));
            }
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            let res = req.send().await?;
            if res.status() == 401
                && let Some(fresh) = challenge_of(res.headers(), self.alg)
            {
                self.keep_nonce(fresh);
                if attempt < 6 {
                    continue;
                }
                return Ok(res);
            }
            if let Some(n) = nonce {
                self.keep_nonce(n);
            }
            return Ok(res);
        }
    }
}
