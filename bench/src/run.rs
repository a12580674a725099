//! The benchmark: assemble the pages, start the server, seed, measure, print.

use crate::browser::{self, Chrome};
use crate::cpu_profile;
use crate::load;
use crate::network::{self, Profile};
use crate::report::{self, Data, Row, kb, mb, ms, ratio};
use cmek_e2e::{Page, Server, Setup};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const USAGE: &str = "usage: cmek-bench [--loads N] [--net-loads N] [--profiles loopback,fast4g,slow4g]
                  [--table-runs N] [--updates N] [--clusters N]
                  [--connections N] [--warmup-secs S] [--load-secs S]
                  [--only load,table,server] [--table-dist DIR] [--floor-dist DIR]
                  [--react-dist DIR] [--site DIR]
                  [--cpu-profile]
--loads: visits (cold, then warm) of each page per variant on loopback; --net-loads: the same
under each emulated network (fast4g, slow4g). --cpu-profile: log where the console's first
cold loads and each variant's first render of the table spend their script time (docs/performance.md, Profiling).
Run by scripts/bench after it has built the console (dist/), the table page (target/bench/table),
the stack's floor page (target/bench/floor), the React build (bench/react/dist) and the server. The console and the server are found as the
e2e tests find them (CMEK_CONSOLE_DIR, CMEK_SERVER_BIN, CHROMEDRIVER, CHROMIUM).";

#[derive(Clone, Copy)]
struct Only {
    load: bool,
    table: bool,
    server: bool,
}

pub struct Opts {
    /// Visits (cold, then warm) of each page per variant on loopback.
    loads: usize,
    /// The same under each emulated network profile.
    net_loads: usize,
    /// The network profiles measured (`network::PROFILES`' keys).
    profiles: Vec<&'static str>,
    /// Page loads of each table variant (one first render, `updates` updates each).
    table_runs: usize,
    updates: usize,
    clusters: usize,
    connections: usize,
    warmup: Duration,
    measure: Duration,
    /// The parts to run (the first-load transfer always is).
    only: Only,
    table_dist: PathBuf,
    /// The stack's floor page (`src/bin/bench_floor.rs`, built from `bench/floor/index.html`).
    floor_dist: PathBuf,
    react_dist: PathBuf,
    site: PathBuf,
    /// Logs a CPU profile of each variant's first table render.
    cpu_profile: bool,
}

impl Opts {
    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let root = cmek_e2e::workspace_root();
        let mut o = Opts {
            loads: 15,
            net_loads: 5,
            profiles: network::PROFILES.iter().map(|p| p.key).collect(),
            table_runs: 5,
            updates: 5,
            clusters: 10_000,
            connections: 64,
            warmup: Duration::from_secs(2),
            measure: Duration::from_secs(8),
            only: Only { load: true, table: true, server: true },
            table_dist: root.join("target/bench/table"),
            floor_dist: root.join("target/bench/floor"),
            react_dist: root.join("bench/react/dist"),
            site: root.join("target/bench/site"),
            cpu_profile: false,
        };
        while let Some(a) = args.next() {
            let mut value = || args.next().ok_or(format!("{a} needs a value"));
            let num = |v: String| v.parse::<usize>().map_err(|_| format!("{a}: {v} is not a number"));
            let secs = |v: String| {
                v.parse::<f64>().ok().filter(|s| *s > 0.0).map(Duration::from_secs_f64).ok_or(format!("{a}: {v}?"))
            };
            match a.as_str() {
                "--loads" => o.loads = num(value()?)?,
                "--net-loads" => o.net_loads = num(value()?)?,
                "--profiles" => {
                    let parts = value()?;
                    o.profiles = Vec::new();
                    for p in parts.split(',') {
                        let Some(known) = network::PROFILES.iter().find(|k| k.key == p.trim()) else {
                            return Err(format!("--profiles: no profile {p} (loopback, fast4g, slow4g)"));
                        };
                        o.profiles.push(known.key);
                    }
                }
                "--table-runs" => o.table_runs = num(value()?)?.max(1),
                "--updates" => o.updates = num(value()?)?.max(1),
                "--clusters" => o.clusters = num(value()?)?.max(100),
                "--connections" => o.connections = num(value()?)?.max(1),
                "--warmup-secs" => o.warmup = secs(value()?)?,
                "--load-secs" => o.measure = secs(value()?)?,
                "--only" => {
                    let parts = value()?;
                    o.only = Only { load: false, table: false, server: false };
                    for p in parts.split(',') {
                        match p.trim() {
                            "load" => o.only.load = true,
                            "table" => o.only.table = true,
                            "server" => o.only.server = true,
                            other => return Err(format!("--only: no part {other} (load, table, server)")),
                        }
                    }
                }
                "--table-dist" => o.table_dist = value()?.into(),
                "--floor-dist" => o.floor_dist = value()?.into(),
                "--react-dist" => o.react_dist = value()?.into(),
                "--site" => o.site = value()?.into(),
                "--cpu-profile" => o.cpu_profile = true,
                "-h" | "--help" => return Err("help".into()),
                _ => return Err(format!("unknown argument {a}")),
            }
        }
        Ok(o)
    }
}

fn say(msg: &str) {
    eprintln!("bench: {msg}");
}

fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
}

// ------------------------------------------------------------------ the pages

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a site dir");
    for e in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
        let e = e.expect("dir entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap_or_else(|err| panic!("copy {}: {err}", e.path().display()));
        }
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dir");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// The one directory the server serves: the console at `/` (a copy of dist/, taken now, so a
/// rebuild during the run changes nothing), and everything compared with it under `/bench/`.
fn assemble_site(opts: &Opts, dist: &Path) -> String {
    let site = &opts.site;
    if site.exists() {
        std::fs::remove_dir_all(site).expect("clear the previous site");
    }
    copy_dir(dist, site);
    let css = std::fs::read_dir(dist)
        .expect("read dist")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n.starts_with("main-") && n.ends_with(".css"))
        .expect("the console's CSS in dist/");
    let css = format!("/{css}");
    let src = cmek_e2e::workspace_root().join("bench");
    let template = std::fs::read_to_string(src.join("react/page.html")).expect("bench/react/page.html");
    for (page, script) in [("page.html", "/bench/react/app.js"), ("table.html", "/bench/react/table.js")] {
        write(&site.join("bench/react").join(page), &template.replace("{{CSS}}", &css).replace("{{SCRIPT}}", script));
    }
    for js in ["app.js", "table.js"] {
        std::fs::copy(opts.react_dist.join(js), site.join("bench/react").join(js))
            .unwrap_or_else(|e| panic!("{}: {e} (npm run build in bench/react)", opts.react_dist.join(js).display()));
    }
    let vanilla = std::fs::read_to_string(src.join("table/vanilla.html")).expect("bench/table/vanilla.html");
    write(&site.join("bench/table/vanilla.html"), &vanilla.replace("{{CSS}}", &css));
    std::fs::copy(src.join("table/vanilla.js"), site.join("bench/table/vanilla.js")).expect("vanilla.js");
    copy_dir(&opts.table_dist, &site.join("bench/table/console"));
    externalise_boot_script(&site.join("bench/table/console"));
    copy_dir(&opts.floor_dist, &site.join("bench/floor"));
    externalise_boot_script(&site.join("bench/floor"));
    write(&site.join("bench/static/mark.js"), "requestAnimationFrame(() => performance.mark('cmek:interactive'));\n");
    css
}

/// trunk's inline module script moved to `boot.js` beside the page: the server's
/// Content-Security-Policy allows only the inline script of the console's own index.html.
fn externalise_boot_script(dir: &Path) {
    let index = dir.join("index.html");
    let html = std::fs::read_to_string(&index).unwrap_or_else(|e| panic!("{}: {e}", index.display()));
    let open = "<script type=\"module\">";
    let start = html.find(open).expect("trunk's module script");
    let end = start + html[start..].find("</script>").expect("a closed script");
    write(&dir.join("boot.js"), &html[start + open.len()..end]);
    let html = format!(
        "{}<script type=\"module\" src=\"boot.js\"></script>{}",
        &html[..start],
        &html[end + "</script>".len()..]
    );
    write(&index, &html);
    let _ = std::fs::remove_file(dir.join("index.html.br"));
    let _ = std::fs::remove_file(dir.join("index.html.gz"));
}

/// The console's page as it stands once its data is on screen, as a static file: no script but
/// the `cmek:interactive` mark at its first frame (the physical limit of that page).
fn static_twin(html: &str) -> String {
    let mut out = html.to_owned();
    while let Some(start) = out.find("<script") {
        let end = out[start..].find("</script>").map(|e| start + e + "</script>".len()).expect("a closed script");
        out.replace_range(start..end, "");
    }
    for tag in ["<link rel=\"modulepreload\"", "<link rel=\"preload\""] {
        while let Some(start) = out.find(tag) {
            let end = out[start..].find('>').map(|e| start + e + 1).expect("a closed link");
            out.replace_range(start..end, "");
        }
    }
    // An external script: the server's Content-Security-Policy allows no inline one but trunk's.
    out.replace("</body>", "<script src=\"/bench/static/mark.js\"></script></body>")
}

fn precompress(dir: &Path) {
    let root = cmek_e2e::workspace_root();
    let ok = std::process::Command::new("bash")
        .arg(root.join("scripts/precompress"))
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "scripts/precompress {} failed", dir.display());
}

// ------------------------------------------------------------------ sizes

#[derive(Clone)]
struct Size {
    name: String,
    raw: u64,
    gzip: u64,
    brotli: u64,
}

/// A file's size as is, gzip -9 and brotli -q 11 (the .gz and .br trunk's hook wrote beside it;
/// compressed here when they are missing).
fn size_of(path: &Path) -> Size {
    let raw = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).len();
    let packed = |ext: &str, cmd: &str, args: &[&str]| -> u64 {
        let beside = PathBuf::from(format!("{}.{ext}", path.display()));
        if let Ok(m) = std::fs::metadata(&beside) {
            return m.len();
        }
        let out = std::process::Command::new(cmd).args(args).arg(path).output().expect(cmd);
        assert!(out.status.success(), "{cmd} {}", path.display());
        out.stdout.len() as u64
    };
    Size {
        name: path.file_name().unwrap_or_default().to_string_lossy().into_owned(),
        raw,
        gzip: packed("gz", "gzip", &["-9", "-n", "-c"]),
        brotli: packed("br", "brotli", &["-q", "11", "-c"]),
    }
}

fn total(sizes: &[Size]) -> Size {
    Size {
        name: "total".into(),
        raw: sizes.iter().map(|s| s.raw).sum(),
        gzip: sizes.iter().map(|s| s.gzip).sum(),
        brotli: sizes.iter().map(|s| s.brotli).sum(),
    }
}

/// The files of `dir` that a page requested (from its resource timing, the API left out).
fn requested_files(dir: &Path, origin: &str, urls: &[String]) -> Vec<Size> {
    let mut names: Vec<String> = Vec::new();
    for u in urls {
        let Some(path) = u.strip_prefix(origin) else { continue };
        let path = path.split(['?', '#']).next().unwrap_or_default();
        if path.starts_with("/api/") {
            continue;
        }
        let file = path.trim_start_matches('/');
        let file = if file.is_empty() || !dir.join(file).is_file() { "index.html" } else { file };
        if !names.iter().any(|n| n == file) {
            names.push(file.to_owned());
        }
    }
    names.iter().map(|n| size_of(&dir.join(n))).collect()
}

// ------------------------------------------------------------------ data

struct Seeded {
    big: String,
}

fn cluster_body(i: usize) -> Value {
    const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1"];
    json!({
        "name": format!("fleet-{i:05}"),
        "cluster_type": "DEDICATED",
        "cloud_provider": "AWS",
        "region": REGIONS[i % REGIONS.len()],
        "config": {
            "root_password": "Bench-pass-1234",
            "port": 4000,
            "components": {
                "tidb": { "node_size": "8C16G", "node_quantity": 2 },
                "tikv": { "node_size": "8C32G", "storage_size_gib": 1024, "node_quantity": 3 }
            }
        }
    })
}

/// Eleven small projects and one without CMEK holding `n` clusters, all through the API.
async fn seed(server: &Server, n: usize) -> Seeded {
    let t0 = Instant::now();
    for i in 0..11 {
        let body = json!({"name": format!("team-{i:02}"), "aws_cmek_enabled": i % 3 == 0});
        server.api("POST", "/api/v1beta/projects", Some(body)).await;
    }
    let big =
        server.api("POST", "/api/v1beta/projects", Some(json!({"name": "fleet", "aws_cmek_enabled": false}))).await;
    let big = big["id"].as_str().expect("a project id").to_owned();
    let path = format!("/api/v1beta/projects/{big}/clusters");
    let mut done = 0;
    let mut stream =
        futures_util::stream::iter(0..n).map(|i| server.api("POST", &path, Some(cluster_body(i)))).buffer_unordered(16);
    while stream.next().await.is_some() {
        done += 1;
        if done % 2000 == 0 {
            say(&format!("seeded {done} of {n} clusters ({:.0} s)", t0.elapsed().as_secs_f64()));
        }
    }
    // Every cluster settles to AVAILABLE (the harness's servers take 0.5 s per transition).
    let last_page = n.div_ceil(100);
    loop {
        let page = server.api("GET", &format!("{path}?page={last_page}&page_size=100"), None).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if page["total"] == json!(n) && items.iter().all(|c| c["status"]["cluster_status"] == "AVAILABLE") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    say(&format!("seeded {n} clusters through the API in {:.1} s", t0.elapsed().as_secs_f64()));
    Seeded { big }
}

// ------------------------------------------------------------------ authentication

/// How the browsers and the load generator get in: when the server printed a console sign-in
/// link, it has authentication on, and each fresh browser is signed in (the harness's
/// `Page::sign_in`, which sets the session cookie without loading anything) and the load carries
/// a session cookie.
struct Auth<'a> {
    server: &'a Server,
    on: bool,
}

impl Auth<'_> {
    async fn prepare(&self, page: &Page) {
        if self.on {
            page.sign_in(self.server).await;
        }
    }

    /// The `cookie` header of a signed-in console session.
    async fn cookie_header(&self) -> Option<String> {
        if self.on { Some(format!("cmek_session={}", self.server.console_session().await)) } else { None }
    }
}

// ------------------------------------------------------------------ measuring

/// Browser console errors are reported (a broken page would make its figures meaningless).
async fn warn_console_errors(page: &Page) {
    for e in page.console_errors().await {
        say(&format!("WARNING: browser console error: {e}"));
    }
}

/// What a page fetched and when (ms from navigation start; bytes as sent), when its document
/// arrived and the page's marks (the console's `cmek:start`, when its wasm runs, and
/// `cmek:interactive`), for the log.
async fn waterfall(page: &Page) -> String {
    let script = "return performance.getEntriesByType('resource').map(e => \
        `${e.name.replace(location.origin, '')} ${Math.round(e.startTime)}–${Math.round(e.responseEnd)} ms \
        ${e.encodedBodySize} B${e.transferSize === 0 ? ' (cache)' : ''}`).join(', ')         + ` · document ${Math.round(performance.getEntriesByType('navigation')[0]?.responseEnd)} ms, `         + performance.getEntriesByType('mark').map(m => `${m.name.replace('cmek:', '')} at ${Math.round(m.startTime)} ms`).join(', ')";
    page.js(script).await.as_str().unwrap_or_default().to_owned()
}

const INTERACTIVE: &str = "performance.getEntriesByName('cmek:interactive')[0]?.startTime";

/// One cold load on loopback: a fresh browser profile, the page, the moment it marked itself
/// interactive.
async fn cold_load(chrome: &Chrome, auth: &Auth<'_>, url: &str) -> (f64, Page) {
    let page = chrome.session().await;
    auth.prepare(&page).await;
    page.goto(url).await;
    let t = browser::wait_value(&page, &format!("{url} to be interactive"), INTERACTIVE, Duration::from_secs(60)).await;
    (t.as_f64().expect("a start time"), page)
}

/// A cold load under the CPU profiler: the profiler starts on a page of the same origin (it
/// lives in the renderer, which a same-site navigation keeps) and stops once the page is
/// interactive.
async fn profiled_load(chrome: &Chrome, auth: &Auth<'_>, origin: &str, url: &str) -> String {
    let page = chrome.session().await;
    auth.prepare(&page).await;
    page.goto(&format!("{origin}/favicon.ico")).await;
    cpu_profile::start(&page).await;
    page.goto(url).await;
    browser::wait_value(&page, &format!("{url} to be interactive"), INTERACTIVE, Duration::from_secs(60)).await;
    let profile = cpu_profile::stop(&page, 40).await;
    page.close().await;
    profile
}

/// How long a warm visit waits after the cold one: V8 writes a wasm module's compiled code to the
/// cache after its tier-up, at the latest `--wasm-caching-timeout-ms` (2 s) after compiling.
const WARM_PAUSE: Duration = Duration::from_millis(2500);

/// One page, cold then warm, in one fresh browser under `profile`: the two interactive times,
/// and (when `log`) the two waterfalls.
async fn visit_twice(chrome: &Chrome, auth: &Auth<'_>, profile: &Profile, url: &str, log: bool) -> (f64, f64) {
    let page = chrome.session().await;
    auth.prepare(&page).await;
    network::apply(&page, profile).await;
    let wait = |what: &'static str| {
        let page = &page;
        async move {
            let what = format!("{url} to be interactive ({what}, {})", profile.key);
            let t = browser::wait_value(page, &what, INTERACTIVE, Duration::from_secs(120)).await;
            t.as_f64().expect("a start time")
        }
    };
    page.goto(url).await;
    let cold = wait("cold").await;
    if log {
        say(&format!("{} cold {url}: {}", profile.key, waterfall(&page).await));
        warn_console_errors(&page).await;
    }
    tokio::time::sleep(WARM_PAUSE).await;
    page.goto("about:blank").await;
    page.goto(url).await;
    let warm = wait("warm").await;
    if log {
        say(&format!("{} warm {url}: {}", profile.key, waterfall(&page).await));
        warn_console_errors(&page).await;
    }
    page.close().await;
    (cold, warm)
}

/// Load → interactive of each page under one network profile, cold and warm.
struct Visits {
    profile: Profile,
    rounds: usize,
    /// Per page (projects, clusters).
    cold: [Samples; 2],
    warm: [Samples; 2],
}

async fn load_bench(chrome: &Chrome, auth: &Auth<'_>, pages: &[[String; 4]; 2], opts: &Opts) -> Vec<Visits> {
    let mut out = Vec::new();
    for profile in network::PROFILES.iter().filter(|p| opts.profiles.contains(&p.key)) {
        let rounds = if profile.conditions.is_none() { opts.loads } else { opts.net_loads };
        let mut m = Visits { profile: *profile, rounds, cold: Default::default(), warm: Default::default() };
        for r in 0..rounds {
            for (i, [console, limit, react, floor]) in pages.iter().enumerate() {
                for v in rotated_with_floor(r + i) {
                    let url = match v {
                        Variant::Console => console,
                        Variant::Limit => limit,
                        Variant::React => react,
                        Variant::Floor => floor,
                    };
                    let (cold, warm) = visit_twice(chrome, auth, profile, url, r == 0).await;
                    m.cold[i].push(v, cold);
                    m.warm[i].push(v, warm);
                }
            }
            if (r + 1) % 5 == 0 || r + 1 == rounds {
                say(&format!("{}: {} of {rounds} rounds of visits done", profile.key, r + 1));
            }
        }
        out.push(m);
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Console,
    Limit,
    React,
    /// The least a page of this stack (Leptos CSR) can do to show the same data: load rows only.
    Floor,
}
impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Console => "console",
            Variant::Limit => "limit",
            Variant::React => "React",
            Variant::Floor => "floor",
        }
    }
}

const VARIANTS: [Variant; 3] = [Variant::Console, Variant::Limit, Variant::React];

fn rotated(r: usize) -> [Variant; 3] {
    let mut v = VARIANTS;
    v.rotate_left(r % 3);
    v
}

/// The load variants: the three and the stack's floor, each round in another order.
fn rotated_with_floor(r: usize) -> [Variant; 4] {
    let mut v = [Variant::Console, Variant::Limit, Variant::React, Variant::Floor];
    v.rotate_left(r % 4);
    v
}

#[derive(Default)]
struct Samples {
    console: Vec<f64>,
    limit: Vec<f64>,
    react: Vec<f64>,
    floor: Vec<f64>,
}

impl Samples {
    fn push(&mut self, v: Variant, x: f64) {
        match v {
            Variant::Console => self.console.push(x),
            Variant::Limit => self.limit.push(x),
            Variant::React => self.react.push(x),
            Variant::Floor => self.floor.push(x),
        }
    }
    fn medians(&self) -> (f64, f64, f64) {
        (median(&self.console), median(&self.limit), median(&self.react))
    }
}

#[derive(Default)]
struct Table {
    render_script: Samples,
    render_total: Samples,
    update_script: Samples,
    update_total: Samples,
    heap: Samples,
    wasm_memory: Vec<f64>,
}

async fn table_bench(chrome: &Chrome, auth: &Auth<'_>, origin: &str, opts: &Opts, big: &str) -> Table {
    let url = |v: Variant| match v {
        Variant::Console => format!("{origin}/bench/table/console/index.html"),
        Variant::Limit => format!("{origin}/bench/table/vanilla.html"),
        Variant::React => format!("{origin}/bench/react/table.html"),
        Variant::Floor => unreachable!("the table is measured in rotated()'s three variants"),
    };
    let mut t = Table::default();
    let data = json!({"pid": big, "total": opts.clusters});
    for r in 0..opts.table_runs {
        for v in rotated(r) {
            // A fresh browser per run: nothing of an earlier run in its heap.
            let session = chrome.session().await;
            let page = &session;
            auth.prepare(page).await;
            page.goto(&url(v)).await;
            browser::wait_value(
                page,
                "the table page to be ready",
                "window.benchReady || null",
                Duration::from_secs(60),
            )
            .await;
            browser::harness(page, "load", data.clone()).await;
            let profiled = opts.cpu_profile && r == 0;
            if profiled {
                cpu_profile::start(page).await;
            }
            let res = browser::harness(page, "render", json!({})).await;
            if profiled {
                say(&format!("{}: first render, {}", v.name(), cpu_profile::stop(page, 40).await));
            }
            assert_eq!(res["rows"], json!(opts.clusters), "every row rendered");
            t.render_script.push(v, res["script"].as_f64().unwrap_or(f64::NAN));
            t.render_total.push(v, res["total"].as_f64().unwrap_or(f64::NAN));
            t.heap.push(v, res["heapAfter"].as_f64().unwrap_or(f64::NAN));
            if let Some(w) = res["wasmMemory"].as_f64() {
                t.wasm_memory.push(w);
            }
            if r == 0 {
                let sample = browser::harness(page, "sample", json!({})).await;
                say(&format!("{}: {sample}", v.name()));
            }
            browser::harness(page, "load", data.clone()).await;
            let mut updates = Vec::new();
            for u in 0..opts.updates {
                let res = browser::harness(page, "update", json!({"round": r * opts.updates + u})).await;
                t.update_script.push(v, res["script"].as_f64().unwrap_or(f64::NAN));
                t.update_total.push(v, res["total"].as_f64().unwrap_or(f64::NAN));
                updates.push(format!("{:.0}", res["total"].as_f64().unwrap_or(f64::NAN)));
            }
            say(&format!(
                "table run {}, {}: render {:.0} ms (script {:.0}), updates {} ms",
                r + 1,
                v.name(),
                res["total"].as_f64().unwrap_or(f64::NAN),
                res["script"].as_f64().unwrap_or(f64::NAN),
                updates.join(" ")
            ));
            warn_console_errors(page).await;
            session.close().await;
        }
    }
    t
}

/// `--help` of the server lists `flag`.
fn server_has_flag(bin: &Path, flag: &str) -> bool {
    std::process::Command::new(bin)
        .arg("--help")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(flag))
}

fn chromium_version(bin: &Path) -> String {
    std::process::Command::new(bin)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!("{cores} cores, load average {}", load.join(" "))
}

// ------------------------------------------------------------------ the run

pub async fn run(opts: Opts) {
    let started = Instant::now();
    let Some(mut setup) = Setup::find() else {
        panic!("the benchmark needs the release server, the console and Chromium (scripts/bench builds them)")
    };
    let dist = setup.console_dir.clone();
    let css = assemble_site(&opts, &dist);
    setup.console_dir = opts.site.clone();
    let mut extra = Vec::new();
    if server_has_flag(&setup.server_bin, "--rate-limit-per-minute") {
        extra.extend(["--rate-limit-per-minute", "0"]);
    }
    let server = Server::start(&setup, &extra).await;
    let origin = server.url.clone();
    say(&format!("server on {origin} serving {}", opts.site.display()));
    let seeded = seed(&server, opts.clusters).await;
    let big = seeded.big.clone();

    let chrome = Chrome::start(&setup).await;
    let auth = Auth { server: &server, on: !server.sign_in_url.is_empty() };

    // The console's first loads: what they fetch, and their DOM for the static twins.
    let projects_url = format!("{origin}/");
    let clusters_url = format!("{origin}/projects/{big}/clusters");
    if opts.cpu_profile {
        for url in [&projects_url, &clusters_url] {
            say(&format!("the console's cold load of {url}, {}", profiled_load(&chrome, &auth, &origin, url).await));
        }
    }
    let (_, page) = cold_load(&chrome, &auth, &projects_url).await;
    // What it asked for until it was interactive: the lazy pages' wasm, which the console fetches
    // once idle after that (src/lazy_routes.rs), is not part of the first load.
    let requested = "const t = performance.getEntriesByName('cmek:interactive')[0]?.startTime ?? Infinity; \
        return [location.href, ...performance.getEntriesByType('resource').filter(e => e.startTime <= t).map(e => e.name)]";
    let urls: Vec<String> = serde_json::from_value(page.js(requested).await).expect("resource URLs");
    let first_load = requested_files(&dist, &origin, &urls);
    say(&format!("the projects page's first load: {}", waterfall(&page).await));
    let capture = "return '<!doctype html>\\n' + document.documentElement.outerHTML";
    let projects_html = page.js(capture).await.as_str().expect("the page's HTML").to_owned();
    warn_console_errors(&page).await;
    page.close().await;
    let (_, page) = cold_load(&chrome, &auth, &clusters_url).await;
    browser::wait_value(&page, "the clusters table", "document.querySelector('table.clusters tbody tr') && 1", {
        Duration::from_secs(30)
    })
    .await;
    let clusters_html = page.js(capture).await.as_str().expect("the page's HTML").to_owned();
    say(&format!("the clusters page's first load: {}", waterfall(&page).await));
    warn_console_errors(&page).await;
    page.close().await;
    write(&opts.site.join("bench/static/projects.html"), &static_twin(&projects_html));
    write(&opts.site.join("bench/static/clusters.html"), &static_twin(&clusters_html));
    precompress(&opts.site.join("bench"));

    // Load → interactive, cold then warm, under each network profile, the variants interleaved.
    // Per page: the console, its static twin, React, the stack's floor.
    let pages = [
        [
            projects_url.clone(),
            format!("{origin}/bench/static/projects.html"),
            format!("{origin}/bench/react/page.html?view=projects"),
            format!("{origin}/bench/floor/index.html"),
        ],
        [
            clusters_url.clone(),
            format!("{origin}/bench/static/clusters.html"),
            format!("{origin}/bench/react/page.html?view=clusters&project={big}"),
            format!("{origin}/bench/floor/index.html?project={big}"),
        ],
    ];
    let interactive = if opts.only.load { load_bench(&chrome, &auth, &pages, &opts).await } else { Vec::new() };

    // The 10,000-row table.
    let table = if opts.only.table { Some(table_bench(&chrome, &auth, &origin, &opts, &big).await) } else { None };
    chrome.stop().await;

    // The server: list clusters against a static file of the same bytes.
    let served = if opts.only.server { Some(server_bench(&opts, &origin, &auth, &big).await) } else { None };
    server.stop().await;

    // React's and the static page's transfer, for comparison.
    let react_files: Vec<Size> = ["bench/react/page.html", "bench/react/app.js", css.trim_start_matches('/')]
        .iter()
        .map(|f| size_of(&opts.site.join(f)))
        .collect();
    let static_files: Vec<Size> = ["bench/static/projects.html", "bench/static/mark.js", css.trim_start_matches('/')]
        .iter()
        .map(|f| size_of(&opts.site.join(f)))
        .collect();

    let rows =
        build_rows(&opts, &first_load, &static_files, &react_files, &interactive, table.as_ref(), served.as_ref());
    println!();
    println!(
        "cmek-console benchmark · {} · {} · {} clusters · {:.0} s",
        chromium_version(&setup.chromium),
        machine(),
        opts.clusters,
        started.elapsed().as_secs_f64()
    );
    println!();
    print!("{}", report::render(&rows));
    let targets: Vec<&Data> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Data(d) if d.met.is_some() => Some(d),
            _ => None,
        })
        .collect();
    println!();
    println!(
        "targets met: {} of {}{}",
        targets.iter().filter(|d| d.met == Some(true)).count(),
        targets.len(),
        if targets.iter().any(|d| d.met == Some(false)) { " (missed: rows marked NO)" } else { "" }
    );
    println!(
        "limit = static HTML with the data in it (load), hand-written DOM code (table), a static file of the same bytes (server). \
         Times: medians; load → interactive over {} visits on loopback and {} under each emulated network \
         (cold: a new browser; warm: the same browser {:.1} s later), table over {} page loads ({} updates each).",
        opts.loads,
        opts.net_loads,
        WARM_PAUSE.as_secs_f64(),
        opts.table_runs,
        opts.updates
    );
}

struct Served {
    api: load::Load,
    file: load::Load,
    small: load::Load,
    body_len: usize,
}

async fn server_bench(opts: &Opts, origin: &str, auth: &Auth<'_>, big: &str) -> Served {
    let host = origin.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let cookie = auth.cookie_header().await;
    let cookie = cookie.as_deref();
    let list = |p: usize| format!("/api/v1beta/projects/{big}/clusters?page={p}&page_size=100");
    let body = load::get(&host, &list(1), cookie).await;
    std::fs::write(opts.site.join("bench/list.json"), &body).expect("write list.json");
    let run = |paths: Vec<String>| {
        let host = host.clone();
        async move { load::run(&host, &paths, cookie, opts.connections, opts.warmup, opts.measure).await }
    };
    let api = run((1..=opts.clusters.div_ceil(100)).map(list).collect()).await;
    say(&format!("list clusters: {:.0} requests/s, {} errors", api.rps(), api.errors));
    let file = run(vec!["/bench/list.json".to_owned()]).await;
    say(&format!("static file: {:.0} requests/s, {} errors", file.rps(), file.errors));
    let small = run(vec![format!("/api/v1beta/projects/{big}/clusters?page=1&page_size=1")]).await;
    say(&format!("list clusters, page 1 of page_size 1: {:.0} requests/s, {} errors", small.rps(), small.errors));
    Served { api, file, small, body_len: body.len() }
}

fn build_rows(
    opts: &Opts,
    first_load: &[Size],
    static_files: &[Size],
    react_files: &[Size],
    interactive: &[Visits],
    table: Option<&Table>,
    served: Option<&Served>,
) -> Vec<Row> {
    let mut rows = vec![Row::Section("first-load transfer (raw / gzip -9 / brotli -q 11)".into())];
    let three = |s: &Size| format!("{} / {} / {}", kb(s.raw), kb(s.gzip), kb(s.brotli));
    for s in first_load {
        rows.push(Row::Data(Data { measure: s.name.clone(), console: three(s), ..Default::default() }));
    }
    let (t, st, rt) = (total(first_load), total(static_files), total(react_files));
    rows.push(Row::Data(Data {
        measure: "total raw".into(),
        console: kb(t.raw),
        limit: kb(st.raw),
        react: kb(rt.raw),
        ..Default::default()
    }));
    rows.push(Row::Data(Data {
        measure: "total gzip".into(),
        console: kb(t.gzip),
        limit: kb(st.gzip),
        react: kb(rt.gzip),
        ..Default::default()
    }));
    const BUDGET: u64 = 150 * 1024;
    rows.push(Row::Data(Data {
        measure: "total brotli".into(),
        console: kb(t.brotli),
        limit: kb(st.brotli),
        react: kb(rt.brotli),
        vs_limit: ratio(t.brotli as f64, st.brotli as f64),
        vs_react: ratio(t.brotli as f64, rt.brotli as f64),
        target: "≤ 150 KB".into(),
        met: Some(t.brotli <= BUDGET),
    }));

    if opts.only.load {
        load_rows(&mut rows, interactive, [t.brotli, st.brotli, rt.brotli]);
    }
    if let Some(table) = table {
        table_rows(&mut rows, opts, table);
    }
    if let Some(s) = served {
        server_rows(&mut rows, opts, s);
    }
    rows
}

/// Per profile: cold and warm visits of each page, with the issue's targets on loopback (cold
/// ≤ 1.6× the static page and ≥ 10% faster than React, warm ≤ 1.3× the static page) and fast 4G
/// (cold no slower than React); under slow 4G the time the first load's bytes alone take.
fn load_rows(rows: &mut Vec<Row>, interactive: &[Visits], first_load_brotli: [u64; 3]) {
    for m in interactive {
        for (warmth, samples) in [("cold", &m.cold), ("warm", &m.warm)] {
            rows.push(Row::Section(format!(
                "load → interactive, {}, {warmth} (median of {})",
                m.profile.label, m.rounds
            )));
            for (name, s) in ["projects page", "clusters page"].iter().zip(samples.iter()) {
                let (c, l, r) = s.medians();
                let (target, met) = match (m.profile.key, warmth) {
                    ("loopback", "cold") => ("≤ 1.6× limit, ≤ 0.9× React", Some(c <= 1.6 * l && c <= 0.9 * r)),
                    ("loopback", "warm") => ("≤ 1.3× limit", Some(c <= 1.3 * l)),
                    ("fast4g", "cold") => ("≤ React", Some(c <= r)),
                    _ => ("", None),
                };
                rows.push(Row::Data(Data {
                    measure: (*name).into(),
                    console: ms(c),
                    limit: ms(l),
                    react: ms(r),
                    vs_limit: ratio(c, l),
                    vs_react: ratio(c, r),
                    target: target.into(),
                    met,
                }));
                // In the console's column: the floor's time, against the same limit and React.
                let f = median(&s.floor);
                rows.push(Row::Data(Data {
                    measure: "  the stack's floor (a Leptos page with the table alone)".into(),
                    console: ms(f),
                    limit: ms(l),
                    react: ms(r),
                    vs_limit: ratio(f, l),
                    vs_react: ratio(f, r),
                    ..Default::default()
                }));
            }
            if let (Some(net), "cold") = (m.profile.conditions, warmth)
                && m.profile.key == "slow4g"
            {
                let [c, l, r] = first_load_brotli.map(|b| net.transfer_ms(b));
                rows.push(Row::Data(Data {
                    measure: "  of which the first load's files at the download rate (brotli)".into(),
                    console: ms(c),
                    limit: ms(l),
                    react: ms(r),
                    vs_limit: ratio(c, l),
                    vs_react: ratio(c, r),
                    ..Default::default()
                }));
            }
        }
    }
}

fn table_rows(rows: &mut Vec<Row>, opts: &Opts, table: &Table) {
    rows.push(Row::Section(format!(
        "{} clusters in one table (median of {} renders, {} updates)",
        opts.clusters,
        opts.table_runs,
        opts.table_runs * opts.updates
    )));
    let timing = |measure: &str, s: &Samples, target: bool| {
        let (c, l, r) = s.medians();
        Row::Data(Data {
            measure: measure.into(),
            console: ms(c),
            limit: ms(l),
            react: ms(r),
            vs_limit: ratio(c, l),
            vs_react: ratio(c, r),
            target: if target { "≤ 1.3× limit, < React".into() } else { String::new() },
            met: target.then_some(c <= 1.3 * l && c < r),
        })
    };
    rows.push(timing("first render (script + style + layout)", &table.render_total, true));
    rows.push(timing("  of which script", &table.render_script, false));
    rows.push(timing("100-row status update (script + style + layout)", &table.update_total, true));
    rows.push(timing("  of which script", &table.update_script, false));
    let (hc, hl, hr) = table.heap.medians();
    rows.push(Row::Data(Data {
        measure: "JS heap after the render (after GC)".into(),
        console: mb(hc),
        limit: mb(hl),
        react: mb(hr),
        vs_limit: ratio(hc, hl),
        vs_react: ratio(hc, hr),
        ..Default::default()
    }));
    let wasm = median(&table.wasm_memory);
    rows.push(Row::Data(Data {
        measure: "  + wasm linear memory (Rust heap)".into(),
        console: mb(wasm),
        limit: "–".into(),
        react: "–".into(),
        vs_limit: ratio(hc + wasm, hl),
        vs_react: ratio(hc + wasm, hr),
        ..Default::default()
    }));
}

fn server_rows(rows: &mut Vec<Row>, opts: &Opts, s: &Served) {
    let (api, file) = (&s.api, &s.file);
    rows.push(Row::Section(format!(
        "server: list clusters, page_size 100, {} connections (limit: a static file of the same {} bytes)",
        opts.connections, s.body_len
    )));
    let ok = |l: &load::Load| if l.errors == 0 { String::new() } else { format!(" ({} errors)", l.errors) };
    rows.push(Row::Data(Data {
        measure: "requests per second".into(),
        console: format!("{:.0}{}", api.rps(), ok(api)),
        limit: format!("{:.0}{}", file.rps(), ok(file)),
        vs_limit: ratio(api.rps(), file.rps()),
        target: "≥ 0.5× limit".into(),
        met: Some(api.rps() >= 0.5 * file.rps() && api.errors == 0),
        ..Default::default()
    }));
    for (name, q) in [("latency p50", 0.5), ("latency p99", 0.99)] {
        rows.push(Row::Data(Data {
            measure: name.into(),
            console: ms(api.quantile_ms(q)),
            limit: ms(file.quantile_ms(q)),
            vs_limit: ratio(api.quantile_ms(q), file.quantile_ms(q)),
            ..Default::default()
        }));
    }
    rows.push(Row::Data(Data {
        measure: "list clusters, page 1 of page_size 1: requests per second".into(),
        console: format!("{:.0}{}", s.small.rps(), ok(&s.small)),
        limit: format!("{:.0}{}", file.rps(), ok(file)),
        vs_limit: ratio(s.small.rps(), file.rps()),
        ..Default::default()
    }));
}
