//! Helpers for the tidy tests in `tests/`: each test file checks one family of invariants that
//! ARCHITECTURE.md states, by reading the source tree as text. A tidy test fails with the file,
//! the line and the rule it broke.

use std::path::{Path, PathBuf};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/tidy sits two levels below the workspace root")
        .to_path_buf()
}

/// Every `.rs` file below `dir` (relative to the workspace root), sorted, as (relative path, text).
pub fn rust_files(dir: &str) -> Vec<(String, String)> {
    let root = workspace_root();
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("reading {}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
                let rel = path.strip_prefix(&root).expect("below the root").to_string_lossy().into_owned();
                out.push((rel, text));
            }
        }
    }
    out.sort();
    out
}

/// The text of one file (relative to the workspace root).
pub fn read(rel: &str) -> String {
    let path = workspace_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every file below the workspace root (relative paths, `/`-separated, sorted), leaving out what
/// is built or local rather than written: `.git`, `target`, `dist`, `data`, `node_modules`.
pub fn all_files() -> Vec<String> {
    const SKIP: &[&str] = &[".git", "target", "dist", "data", "node_modules", ".tools"];
    let root = workspace_root();
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("reading {}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if path.is_dir() {
                if !SKIP.contains(&name) {
                    stack.push(path);
                }
            } else {
                let rel = path.strip_prefix(&root).expect("below the root");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// The version of `package` in Cargo.lock (the first entry of that name).
pub fn cargo_lock_version(package: &str) -> Option<String> {
    let lock = read("Cargo.lock");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{package}\"") {
            let v = lines.next()?.strip_prefix("version = \"")?.strip_suffix('"')?;
            return Some(v.to_owned());
        }
    }
    None
}

/// The spans between backticks in `markdown` (inline code), in order.
pub fn code_spans(markdown: &str) -> Vec<&str> {
    markdown
        .lines()
        .filter(|l| !l.trim_start().starts_with("```"))
        .flat_map(|l| l.split('`').skip(1).step_by(2))
        .collect()
}

/// The targets of the Markdown links and images in `markdown` (`[text](target)`), in order.
pub fn link_targets(markdown: &str) -> Vec<&str> {
    markdown.match_indices("](").filter_map(|(i, _)| markdown[i + 2..].split(')').next()).collect()
}
