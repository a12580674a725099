//! The server's layering, as ARCHITECTURE.md states it ("cmek-core does no I/O", "only handlers
//! know HTTP", "each handler is registered once"), checked on the source as text.

use cmek_tidy::{read, rust_files};

/// The code of a Rust file, its comment lines blanked (doc comments may name what they explain);
/// line numbers are kept.
fn code(text: &str) -> String {
    text.lines().map(|l| if l.trim_start().starts_with("//") { "" } else { l }).collect::<Vec<_>>().join("\n")
}

/// Every `needle` found in `files`, as "file:line: needle".
fn occurrences(files: &[(String, String)], needles: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files {
        for (n, line) in code(text).lines().enumerate() {
            for needle in needles {
                if line.contains(needle) {
                    out.push(format!("{path}:{}: {needle}", n + 1));
                }
            }
        }
    }
    out
}

/// The dependency names of one `[section]` of a Cargo.toml.
fn dependencies(toml: &str, section: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == section;
            continue;
        }
        if inside
            && !line.starts_with('#')
            && let Some((name, _)) = line.split_once('=')
        {
            out.push(name.trim().to_owned());
        }
    }
    out
}

/// What does I/O, or keeps time, in a Rust program: a crate that does, or the std module.
const IO: &[&str] = &[
    "std::fs",
    "std::net::Tcp",
    "std::net::Udp",
    "ToSocketAddrs",
    "std::process",
    "std::thread",
    "std::env",
    "std::io::stdin",
    "SystemTime",
    "Instant::now",
    "tokio",
    "rusqlite",
    "axum",
    "hyper",
    "reqwest",
    "aws_sdk",
    "println!",
    "eprintln!",
];

#[test]
fn cmek_core_does_no_io() {
    // Its dependencies: data and its serialisation only (utoipa derives the OpenAPI schemas).
    let toml = read("crates/cmek-core/Cargo.toml");
    let allowed = ["serde", "serde_json", "utoipa"];
    let deps = dependencies(&toml, "[dependencies]");
    assert!(!deps.is_empty(), "crates/cmek-core/Cargo.toml: no [dependencies] section found");
    let extra: Vec<&String> = deps.iter().filter(|d| !allowed.contains(&d.as_str())).collect();
    assert!(
        extra.is_empty(),
        "cmek-core does no I/O, and depends only on {allowed:?}; found {extra:?} in crates/cmek-core/Cargo.toml"
    );
    // Its source: no std module or crate that does I/O, and no clock (callers pass the time in).
    let found = occurrences(&rust_files("crates/cmek-core/src"), IO);
    assert!(found.is_empty(), "cmek-core does no I/O (callers pass the time in):\n{}", found.join("\n"));
}

/// The layers below the handlers: storage, the key checks and the KMS seam with its sandbox.
/// (`kms/aws.rs`, `kms/aws_api.rs` and `kms/sigv4.rs` speak AWS's HTTP protocol by nature: they
/// are the KMS's wire, not a layer below the handlers.)
const BELOW_THE_HANDLERS: &[&str] = &[
    "crates/cmek-server/src/db.rs",
    "crates/cmek-server/src/store.rs",
    "crates/cmek-server/src/backup_store.rs",
    "crates/cmek-server/src/key_access.rs",
    "crates/cmek-server/src/kms/mod.rs",
    "crates/cmek-server/src/kms/sandbox.rs",
    "crates/cmek-server/src/list_cache.rs",
];

#[test]
fn only_handlers_know_http() {
    let files: Vec<(String, String)> = BELOW_THE_HANDLERS.iter().map(|p| ((*p).to_owned(), read(p))).collect();
    let http = ["axum", "http::", "StatusCode", "ApiError", "ApiResult", "IntoResponse", "crate::error"];
    let found = occurrences(&files, &http);
    assert!(
        found.is_empty(),
        "only handlers know HTTP: storage, key access and the KMS return their own errors, which the \
         handlers turn into an ApiError (error.rs):\n{}",
        found.join("\n")
    );
}

#[test]
fn routes_and_layers_do_not_import_the_router() {
    let mut files = rust_files("crates/cmek-server/src/routes");
    files.extend(rust_files("crates/cmek-server/src/auth"));
    files.extend(rust_files("crates/cmek-server/src/gateway"));
    files.extend(rust_files("crates/cmek-server/src/kms"));
    let found = occurrences(&files, &["crate::app"]);
    assert!(
        found.is_empty(),
        "routes, auth layers, the gateway and the KMS take their state from state.rs, never from the router (app.rs):\n{}",
        found.join("\n")
    );
}

/// The handlers documented with `#[utoipa::path]`, by name, with their file.
fn documented_handlers(files: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, text) in files {
        let mut documented = false;
        for line in text.lines().map(str::trim_start) {
            if line.starts_with("#[utoipa::path(") {
                documented = true;
            } else if documented && let Some(rest) = line.strip_prefix("pub async fn ") {
                let name = rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or("");
                out.push((path.clone(), name.to_owned()));
                documented = false;
            }
        }
    }
    out
}

/// The handler names listed in every `routes!(…)` of `files` (a list may span lines).
fn registered_handlers(files: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (_, text) in files {
        let code = code(text);
        let mut rest = code.as_str();
        while let Some(i) = rest.find("routes!(") {
            rest = &rest[i + "routes!(".len()..];
            let end = rest.find(')').expect("a routes!( list ends with )");
            out.extend(
                rest[..end]
                    .split(',')
                    .map(|h| h.trim().rsplit("::").next().unwrap_or("").to_owned())
                    .filter(|h| !h.is_empty()),
            );
            rest = &rest[end..];
        }
    }
    out
}

#[test]
fn each_handler_is_registered_once() {
    let files = rust_files("crates/cmek-server/src");
    let documented = documented_handlers(&files);
    assert!(documented.len() >= 30, "found only {} #[utoipa::path] handlers; is the parser stale?", documented.len());
    let registered = registered_handlers(&files);
    let mut problems = Vec::new();
    for (file, name) in &documented {
        match registered.iter().filter(|r| *r == name).count() {
            1 => {}
            0 => problems.push(format!("{file}: {name} is documented but not in any routes!(…)")),
            n => problems.push(format!("{file}: {name} is in {n} routes!(…) lists")),
        }
    }
    // The document is built from the routers, never from a second list of the handlers.
    let openapi = code(&read("crates/cmek-server/src/openapi.rs"));
    if openapi.contains("paths(") {
        problems.push("crates/cmek-server/src/openapi.rs lists paths(...) again".to_owned());
    }
    assert!(
        problems.is_empty(),
        "each handler is registered once, with utoipa-axum's routes!(…) in its module's router():\n{}",
        problems.join("\n")
    );
}
