//! A small HTTP/1.1 load generator: N keep-alive connections, each sending its next request as
//! soon as the previous answer's body has arrived (closed loop), for a warm-up and then a measured
//! window. Counts and latencies are of requests started inside the measured window.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, header};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

pub struct Load {
    pub ok: usize,
    pub errors: usize,
    pub bytes: usize,
    pub secs: f64,
    /// Latencies of the successful requests, in microseconds, sorted.
    pub latencies_us: Vec<u32>,
}

impl Load {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.secs
    }

    /// The latency at quantile `q` (0–1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

/// `paths` are taken in turn (each connection starts at its own offset).
pub async fn run(
    host: &str,
    paths: &[String],
    cookie: Option<&str>,
    connections: usize,
    warmup: Duration,
    measure: Duration,
) -> Load {
    let start = Instant::now();
    let (from, until) = (start + warmup, start + warmup + measure);
    let paths = Arc::new(paths.to_vec());
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..connections {
        let (host, paths, cookie) = (host.to_owned(), paths.clone(), cookie.map(str::to_owned));
        tasks.spawn(async move {
            let stream = TcpStream::connect(&host).await.expect("connect to the server");
            stream.set_nodelay(true).expect("TCP_NODELAY");
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("HTTP/1.1 handshake");
            tokio::spawn(conn);
            let (mut ok, mut errors, mut bytes, mut lat) = (0usize, 0usize, 0usize, Vec::new());
            let mut k = c * 7;
            loop {
                let t0 = Instant::now();
                if t0 >= until {
                    break;
                }
                let mut req = Request::get(paths[k % paths.len()].as_str()).header(header::HOST, host.as_str());
                k += 1;
                if let Some(c) = &cookie {
                    req = req.header(header::COOKIE, c.as_str());
                }
                let req = req.body(Empty::<Bytes>::new()).expect("a request");
                if sender.ready().await.is_err() {
                    errors += 1;
                    break;
                }
                let (good, n) = match sender.send_request(req).await {
                    Ok(res) => {
                        let good = res.status().is_success();
                        match res.into_body().collect().await {
                            Ok(b) => (good, b.to_bytes().len()),
                            Err(_) => (false, 0),
                        }
                    }
                    Err(_) => (false, 0),
                };
                if t0 >= from {
                    if good {
                        ok += 1;
                        bytes += n;
                        lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    } else {
                        errors += 1;
                    }
                }
            }
            (ok, errors, bytes, lat)
        });
    }
    let mut load = Load { ok: 0, errors: 0, bytes: 0, secs: measure.as_secs_f64(), latencies_us: Vec::new() };
    while let Some(r) = tasks.join_next().await {
        let (ok, errors, bytes, lat) = r.expect("a load connection");
        load.ok += ok;
        load.errors += errors;
        load.bytes += bytes;
        load.latencies_us.extend(lat);
    }
    load.latencies_us.sort_unstable();
    load
}

/// One GET; the body's bytes (panics on anything but 2xx).
pub async fn get(host: &str, path: &str, cookie: Option<&str>) -> Vec<u8> {
    let stream = TcpStream::connect(host).await.expect("connect to the server");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(conn);
    let mut req = Request::get(path).header(header::HOST, host);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let res = sender.send_request(req.body(Empty::<Bytes>::new()).expect("a request")).await.expect("GET");
    let status = res.status();
    let body = res.into_body().collect().await.expect("the body").to_bytes().to_vec();
    assert!(status.is_success(), "GET {path} answered {status}");
    body
}
