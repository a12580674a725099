//! The docs stay true: the tool pins agree with each other and with Cargo.lock, every file the
//! README and ARCHITECTURE.md name exists, the README's commands are what CI runs, and every
//! extension route the server serves is in docs/api.md (and nothing else is).

use cmek_tidy::{all_files, cargo_lock_version, code_spans, link_targets, read, rust_files, workspace_root};
use std::collections::BTreeSet;

/// `NAME=value` in scripts/setup.
fn setup_pin(name: &str) -> String {
    let setup = read("scripts/setup");
    setup
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("scripts/setup pins no {name}"))
        .trim()
        .to_owned()
}

/// `key = "value"` in Trunk.toml.
fn trunk_tool(key: &str) -> String {
    let trunk = read("Trunk.toml");
    trunk
        .lines()
        .find_map(|l| l.split_once('=').filter(|(k, _)| k.trim() == key).map(|(_, v)| v.trim().trim_matches('"')))
        .unwrap_or_else(|| panic!("Trunk.toml has no {key}"))
        .to_owned()
}

#[test]
fn the_tool_pins_agree_with_cargo_lock_and_each_other() {
    // wasm-bindgen: the crate (exact in Cargo.toml), Cargo.lock, and the CLI trunk runs (Trunk.toml;
    // scripts/setup installs the Cargo.lock version) must be one version, or the wasm breaks.
    let locked = cargo_lock_version("wasm-bindgen").expect("wasm-bindgen in Cargo.lock");
    assert_eq!(trunk_tool("wasm_bindgen"), locked, "Trunk.toml [tools] wasm_bindgen against Cargo.lock");
    let manifest = read("Cargo.toml");
    assert!(
        manifest.lines().any(|l| l.trim() == format!("wasm-bindgen = \"={locked}\"")),
        "Cargo.toml pins wasm-bindgen exactly at Cargo.lock's {locked}"
    );
    assert!(
        read("scripts/setup").contains("lock_version wasm-bindgen"),
        "scripts/setup installs wasm-bindgen-cli at Cargo.lock's version"
    );

    // wasm-opt: Trunk.toml's `version_N` is the binaryen scripts/setup installs.
    let binaryen = setup_pin("BINARYEN_VERSION");
    let major = binaryen.split('.').next().expect("a major version");
    assert_eq!(trunk_tool("wasm_opt"), format!("version_{major}"), "Trunk.toml wasm_opt against scripts/setup");

    // What the README and docs/development.md say is installed is what scripts/setup installs.
    let trunk = setup_pin("TRUNK_VERSION");
    let readme = read("README.md");
    assert!(readme.contains(&format!("trunk {trunk}")), "README.md names trunk {trunk} (scripts/setup)");
    assert!(readme.contains(&format!("binaryen@{major}")), "README.md names binaryen@{major} (scripts/setup)");
    let development = read("docs/development.md");
    assert!(development.contains(&format!("trunk {trunk}")), "docs/development.md names trunk {trunk}");
}

/// Names the docs give that are not files of the tree: URL paths and what a build makes.
fn is_built_or_url(name: &str) -> bool {
    name.starts_with('/') || name.starts_with("dist/") || name == "404.html"
}

/// A backticked span that names a file: no spaces, an extension a source or doc file has.
fn names_a_file(span: &str) -> bool {
    const EXTENSIONS: &[&str] = &[".rs", ".md", ".toml", ".json", ".sh", ".py", ".html", ".css", ".png", ".lock"];
    !span.contains(char::is_whitespace) && !span.contains("://") && EXTENSIONS.iter().any(|e| span.ends_with(e))
}

#[test]
fn every_file_the_readme_and_architecture_name_exists() {
    let files = all_files();
    let mut missing = Vec::new();
    for doc in ["README.md", "ARCHITECTURE.md"] {
        let text = read(doc);
        // Backticked names: a path from the root, or a file named by its path's end (`app.rs`,
        // `auth/digest.rs`) that some file of the tree ends with.
        for span in code_spans(&text).into_iter().filter(|s| names_a_file(s) && !is_built_or_url(s)) {
            let found = files.iter().any(|f| f == span || f.ends_with(&format!("/{span}")));
            if !found {
                missing.push(format!("{doc}: `{span}`"));
            }
        }
        // Links to files (not to the web, not to an anchor of the same page).
        for target in link_targets(&text) {
            let path = target.split('#').next().unwrap_or_default();
            if path.is_empty() || path.contains("://") || path.starts_with("mailto:") {
                continue;
            }
            if !workspace_root().join(path).exists() {
                missing.push(format!("{doc}: link ({target})"));
            }
        }
    }
    assert!(missing.is_empty(), "names of files that do not exist:\n{}", missing.join("\n"));
}

#[test]
fn every_screenshot_the_readme_shows_exists() {
    let readme = read("README.md");
    let shown: Vec<&str> =
        readme.match_indices("![").filter_map(|(i, _)| link_targets(&readme[i..]).into_iter().next()).collect();
    assert!(shown.len() >= 5, "the README shows its screenshots: {shown:?}");
    let missing: Vec<&&str> = shown.iter().filter(|p| !workspace_root().join(p).is_file()).collect();
    assert!(missing.is_empty(), "README.md shows screenshots that do not exist: {missing:?}");
}

#[test]
fn the_readme_commands_are_what_ci_runs() {
    let readme = read("README.md");
    let block = readme.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).expect("a sh block in the README");
    let commands: Vec<&str> =
        block.lines().map(|l| l.split('#').next().unwrap_or_default().trim()).filter(|c| !c.is_empty()).collect();
    assert_eq!(commands.first().copied(), Some("scripts/run"), "the README's first command runs the console");
    assert_eq!(commands.get(1).copied(), Some("scripts/test"), "the README's second command is the test command");
    for c in &commands[..2] {
        assert!(workspace_root().join(c).is_file(), "{c} (README.md) exists");
    }
    let ci = read(".ci/run");
    let ci_commands: Vec<&str> = ci.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let runs = ci_commands.last().expect("a command in .ci/run");
    assert_eq!(*runs, format!("exec {}", commands[1]), "CI runs the README's test command, nothing else");
}

/// A route path with every `{param}` written `{}` (the docs and the code name params freely).
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

/// The `/api/ext/v1` paths in the server's source (routes and their OpenAPI attributes), relative
/// to `/api/ext/v1/`, without catch-alls (`{*rest}`) and the prefixes they catch under.
fn served_extension_paths() -> BTreeSet<String> {
    const PREFIX: &str = "\"/api/ext/v1/";
    let mut all = BTreeSet::new();
    for (_, text) in rust_files("crates/cmek-server/src") {
        for (i, _) in text.match_indices(PREFIX) {
            let rest = &text[i + PREFIX.len()..];
            if let Some(end) = rest.find('"') {
                all.insert(rest[..end].to_owned());
            }
        }
    }
    let catch_all_roots: BTreeSet<String> =
        all.iter().filter_map(|p| p.strip_suffix("/{*rest}")).map(str::to_owned).collect();
    all.into_iter().filter(|p| !p.contains("{*") && !catch_all_roots.contains(p)).map(|p| shape(&p)).collect()
}

/// The paths docs/api.md's table of extensions names, relative to `/api/ext/v1/`.
fn documented_extension_paths() -> BTreeSet<String> {
    let api = read("docs/api.md");
    let section = api.split("## Extensions (`/api/ext/v1`)").nth(1).expect("docs/api.md has the Extensions section");
    let section = section.split("\n## ").next().unwrap_or_default();
    let mut out = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let first_cell = row.split(" | ").next().unwrap_or_default();
        for span in code_spans(first_cell) {
            // `GET projects/{id}/events?page&page_size`, `GET/POST sandbox-kms/keys`
            let path = span.split_once(' ').map_or(span, |(_, p)| p);
            out.insert(shape(path.split('?').next().unwrap_or_default()));
        }
    }
    out
}

#[test]
fn every_extension_route_is_documented_and_every_documented_one_is_served() {
    let served = served_extension_paths();
    let documented = documented_extension_paths();
    assert!(served.len() >= 10, "the server's extension routes were found: {served:?}");
    let undocumented: Vec<&String> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes the server serves that docs/api.md's Extensions table does not name: {undocumented:?}"
    );
    let not_served: Vec<&String> = documented.difference(&served).collect();
    assert!(not_served.is_empty(), "docs/api.md names extension routes the server does not serve: {not_served:?}");
}
