//! The console's layering (ARCHITECTURE.md, cmek-console): pages import components, state and
//! the API, never another page; components and state never import pages. Only `lib.rs` (the
//! router) and its `lazy_routes` name the pages, and every page but the first screens is lazy.
//! Checked on every path in `src/**` — `use` trees and inline paths (`super::x::Y` in a
//! `view!`) alike — resolved against the file's own module.

use cmek_tidy::rust_files;

/// One token of Rust source, with comments and the contents of literals dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Star,
    Other,
}

/// Tokens of `text` with their line numbers: comments, strings and char literals are skipped, so
/// a path in a doc comment or a message is not an import.
fn tokens(text: &str) -> Vec<(usize, Tok)> {
    let c: Vec<char> = text.chars().collect();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    let lines_in = |s: &[char]| s.iter().filter(|&&x| x == '\n').count();
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            let (mut depth, start) = (0, i);
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += lines_in(&c[start..i.min(c.len())]);
        } else if ch == 'r' && matches!(c.get(i + 1), Some('#') | Some('"')) && !prev_is_ident(&c, i) {
            // A raw string: r"…", r#"…"#.
            let start = i;
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push((line, Tok::Ident("r".into())));
                i += 1;
                continue;
            }
            j += 1;
            'raw: while j < c.len() {
                if c[j] == '"' && (0..hashes).all(|h| c.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break 'raw;
                }
                j += 1;
            }
            line += lines_in(&c[start..j.min(c.len())]);
            i = j;
            out.push((line, Tok::Other));
        } else if ch == '"' {
            let start = i;
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            line += lines_in(&c[start..i.min(c.len())]);
            out.push((line, Tok::Other));
        } else if ch == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if c.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
            out.push((line, Tok::Other));
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((line, Tok::Ident(c[start..i].iter().collect())));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((line, Tok::PathSep));
            i += 2;
        } else {
            out.push((
                line,
                match ch {
                    '{' => Tok::Open,
                    '}' => Tok::Close,
                    ',' => Tok::Comma,
                    ';' => Tok::Semi,
                    '*' => Tok::Star,
                    _ => Tok::Other,
                },
            ));
            i += 1;
        }
    }
    out
}

fn prev_is_ident(c: &[char], i: usize) -> bool {
    i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_')
}

/// Every path the file names, with its line: each `use` tree expanded (`use a::{b, c::d}` gives
/// `a::b` and `a::c::d`), and every other `x::y` path as written.
fn paths(text: &str) -> Vec<(usize, Vec<String>)> {
    let toks = tokens(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i].1 {
            Tok::Ident(w) if w == "use" => {
                let line = toks[i].0;
                i += 1;
                let mut found = Vec::new();
                use_tree(&toks, &mut i, Vec::new(), &mut found);
                out.extend(found.into_iter().map(|p| (line, p)));
            }
            Tok::Ident(first) if toks.get(i + 1).map(|t| &t.1) == Some(&Tok::PathSep) => {
                let line = toks[i].0;
                let mut path = vec![first.clone()];
                i += 1;
                while toks.get(i).map(|t| &t.1) == Some(&Tok::PathSep) {
                    match toks.get(i + 1).map(|t| &t.1) {
                        Some(Tok::Ident(next)) => {
                            path.push(next.clone());
                            i += 2;
                        }
                        _ => break,
                    }
                }
                out.push((line, path));
            }
            _ => i += 1,
        }
    }
    out
}

/// Parses one use tree at `toks[*i]` under `prefix`, pushing each full path.
fn use_tree(toks: &[(usize, Tok)], i: &mut usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    loop {
        match toks.get(*i).map(|t| &t.1) {
            Some(Tok::Ident(w)) if w == "as" => {
                // `x as y`: the path is `x`; skip the alias.
                *i += 2;
            }
            Some(Tok::Ident(w)) => {
                prefix.push(w.clone());
                *i += 1;
                if toks.get(*i).map(|t| &t.1) == Some(&Tok::PathSep) {
                    *i += 1;
                } else {
                    out.push(prefix.clone());
                    prefix.pop();
                    if !matches!(toks.get(*i).map(|t| &t.1), Some(Tok::Ident(w)) if w == "as") {
                        return;
                    }
                }
            }
            Some(Tok::Star) => {
                out.push(prefix.clone());
                *i += 1;
                return;
            }
            Some(Tok::Open) => {
                *i += 1;
                loop {
                    match toks.get(*i).map(|t| &t.1) {
                        Some(Tok::Close) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Comma) => *i += 1,
                        None => return,
                        _ => use_tree(toks, i, prefix.clone(), out),
                    }
                }
            }
            _ => return,
        }
    }
}

/// The module path of a file below `src/` (`src/pages/cluster_detail/backups.rs` →
/// `["pages", "cluster_detail", "backups"]`; `lib.rs` → the crate root).
fn module_of(file: &str) -> Vec<String> {
    let rel = file.trim_start_matches("src/").trim_end_matches(".rs");
    let mut m: Vec<String> = rel.split('/').map(str::to_owned).collect();
    if matches!(m.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        m.pop();
    }
    m
}

/// The absolute module path a path names, when it starts at `crate`, `super` or `self` (or, at
/// the crate root, at a module of the crate); `None` for an outside crate or a local name.
fn resolve(module: &[String], path: &[String], root_modules: &[String]) -> Option<Vec<String>> {
    let mut at: Vec<String> = module.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            at.clear();
            rest = &rest[1..];
        }
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                at.pop()?;
                rest = &rest[1..];
            }
        }
        Some("self") => rest = &rest[1..],
        Some(first) if module.is_empty() && root_modules.iter().any(|m| m == first) => {}
        _ => return None,
    }
    at.extend(rest.iter().cloned());
    Some(at)
}

/// Every path in `src/**` resolved to the crate's module it names: (file, line, from, to).
fn crate_paths() -> Vec<(String, usize, Vec<String>, Vec<String>)> {
    let files = rust_files("src");
    assert!(files.len() > 20, "src/ holds the console: found only {} files", files.len());
    let root_modules: Vec<String> = files
        .iter()
        .filter_map(|(f, _)| module_of(f).first().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for (file, text) in &files {
        if file.starts_with("src/bin/") {
            continue;
        }
        let module = module_of(file);
        for (line, p) in paths(text) {
            if let Some(to) = resolve(&module, &p, &root_modules) {
                out.push((file.clone(), line, module.clone(), to));
            }
        }
    }
    out
}

/// The pages, as `src/pages/mod.rs` declares them.
fn pages() -> Vec<String> {
    let text = cmek_tidy::read("src/pages/mod.rs");
    let pages: Vec<String> =
        text.lines().filter_map(|l| l.trim().strip_prefix("pub mod ")?.strip_suffix(';').map(str::to_owned)).collect();
    assert!(pages.len() >= 10, "src/pages/mod.rs declares the pages: found {pages:?}");
    pages
}

#[test]
fn pages_import_components_and_state_never_pages() {
    let pages = pages();
    let all = crate_paths();
    let mut seen = 0;
    let mut wrong = Vec::new();
    for (file, line, from, to) in &all {
        if from.first().map(String::as_str) != Some("pages") || from.len() < 2 {
            continue;
        }
        seen += 1;
        let page = &from[1];
        assert!(pages.contains(page), "{file} is below src/pages/ but not a page that src/pages/mod.rs declares");
        // Within its own page (`cluster_detail/backups.rs` and `cluster_detail/mod.rs`) is fine.
        if to.first().map(String::as_str) == Some("pages") && to.get(1) != Some(page) {
            wrong.push(format!("{file}:{line}: page `{page}` names `{}`", to.join("::")));
        }
    }
    assert!(seen > 50, "the pages name the crate's modules: found only {seen} paths");
    assert!(
        wrong.is_empty(),
        "pages import components, state and the API, never another page (move what two pages share to src/components/ or a state module):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn components_and_state_never_import_pages() {
    let all = crate_paths();
    let mut seen = 0;
    let mut wrong = Vec::new();
    for (file, line, from, to) in &all {
        // The router (lib.rs, and its lazy routes) mounts the pages; the pages are the other test's.
        if from.is_empty() || matches!(from.first().map(String::as_str), Some("pages" | "lazy_routes")) {
            continue;
        }
        seen += 1;
        if to.first().map(String::as_str) == Some("pages") {
            wrong.push(format!("{file}:{line}: `{}` names `{}`", from.join("::"), to.join("::")));
        }
    }
    assert!(seen > 30, "components and state name the crate's modules: found only {seen} paths");
    assert!(
        wrong.is_empty(),
        "components, state and the API never import a page (only lib.rs, the router, names pages):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_path_reader_sees_use_trees_and_inline_paths() {
    let text = r#"
        use super::{a, b::{C, d as e}};
        // use crate::pages::hidden;
        let s = "crate::pages::in_a_string";
        view! { <super::x::Y/> }
        pub(crate) use crate::pages::*;
    "#;
    let found: Vec<String> = paths(text).into_iter().map(|(_, p)| p.join("::")).collect();
    assert_eq!(found, ["super::a", "super::b::C", "super::b::d", "super::x::Y", "crate::pages"]);
    let m = module_of("src/pages/cluster_detail/backups.rs");
    let roots = vec!["pages".to_owned(), "state".to_owned()];
    let to = |p: &str| resolve(&m, &p.split("::").map(str::to_owned).collect::<Vec<_>>(), &roots);
    assert_eq!(to("super::Op"), Some(vec!["pages".into(), "cluster_detail".into(), "Op".into()]));
    assert_eq!(to("super::super::clusters"), Some(vec!["pages".into(), "clusters".into()]));
    assert_eq!(to("crate::state::api"), Some(vec!["state".into(), "api".into()]));
    assert_eq!(to("leptos::prelude"), None);
    assert_eq!(resolve(&[], &["pages".into(), "x".into()], &roots), Some(vec!["pages".into(), "x".into()]));
}

/// Markup is parsed from a string in one place, from a constant: the clusters table's row
/// template (`ROW_HTML`). Everything else reaches the DOM as text or attribute values, so nothing
/// a server or a person wrote can become HTML.
#[test]
fn markup_is_parsed_only_from_the_row_template() {
    let parsers = ["set_inner_html(", "set_outer_html(", "insert_adjacent_html(", "inner_html="];
    let mut found = Vec::new();
    for (path, text) in rust_files("src") {
        for (n, line) in text.lines().enumerate() {
            if parsers.iter().any(|p| line.contains(p)) && !line.trim_start().starts_with("//") {
                found.push((path.clone(), n + 1, line.trim().to_owned()));
            }
        }
    }
    let allowed = |(path, _, line): &(String, usize, String)| {
        path == "src/components/cluster_table.rs" && line == "t.set_inner_html(ROW_HTML);"
    };
    let stray: Vec<String> = found.iter().filter(|f| !allowed(f)).map(|(p, n, l)| format!("{p}:{n}: {l}")).collect();
    assert!(stray.is_empty(), "markup parsed from a string outside the row template:\n{}", stray.join("\n"));
    assert_eq!(found.len(), 1, "the row template is parsed where this test expects it: {found:?}");
}

/// The pages the main wasm holds: what a first visit shows (src/lazy_routes.rs). Every other page
/// is a lazy route, so its code stays out of the first load (e2e/tests/size_budget.rs).
const FIRST_SCREENS: [&str; 3] = ["ProjectsPage", "ClustersPage", "SignInPage"];

#[test]
fn every_page_but_the_first_screens_is_a_lazy_route() {
    let router = cmek_tidy::read("src/lib.rs");
    let lazy = cmek_tidy::read("src/lazy_routes.rs");
    let mut pages = Vec::new();
    for (_, text) in rust_files("src/pages") {
        for piece in text.split("pub fn ").skip(1) {
            let name: String = piece.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if name.ends_with("Page") {
                pages.push(name);
            }
        }
    }
    assert!(pages.len() > 10, "found only these pages under src/pages: {pages:?}");
    let mut wrong = Vec::new();
    for page in &pages {
        let mounted = router.contains(&format!("::{page}/>"));
        let lazy = lazy.contains(&format!("::{page};"));
        match (FIRST_SCREENS.contains(&page.as_str()), mounted, lazy) {
            (true, true, false) | (false, false, true) => {}
            (true, ..) => {
                wrong.push(format!("{page} is a first screen: lib.rs mounts it directly, lazy_routes.rs not at all"))
            }
            (false, ..) => wrong.push(format!(
                "{page} must be a lazy route: in lazy_routes.rs, and mounted by lib.rs only as Lazy::<…>"
            )),
        }
    }
    assert!(wrong.is_empty(), "the main wasm holds only the first screens:\n{}", wrong.join("\n"));
}
