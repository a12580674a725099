//! "No module outside cmek-core derives a CMEK rule", for the rule that was derived in six places:
//! a project's CMEK context (the placement rule's input) and the key that counts among its
//! configured specs. Both are `cmek_core::project_cmek`'s; the server and the console ask it.

use cmek_tidy::rust_files;

/// Lines outside cmek-core's source that contain one of `needles` (comments skipped).
fn outside_core(needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for dir in ["src", "crates/cmek-server/src", "crates/cmek-test-support/src", "e2e", "bench/src", "tests"] {
        for (path, text) in rust_files(dir) {
            for (n, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for needle in needles {
                    if line.contains(needle) {
                        found.push(format!("{path}:{}: {}", n + 1, line.trim()));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn only_cmek_core_builds_the_placement_rules_cmek_context() {
    let found = outside_core(&["CmekContext::"]);
    assert!(
        found.is_empty(),
        "a CmekContext is made by cmek_core::project_cmek::ProjectCmek::context, never by hand:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_cmek_core_picks_the_key_among_a_projects_specs() {
    // The ways the key was picked by hand before (`keys.first()` and its spellings).
    let found =
        outside_core(&["keys.first()", "keys.items.first()", "specs.first()", "items.first().map(|k| k.kms_arn"]);
    assert!(
        found.is_empty(),
        "the project's key is cmek_core::project_cmek::configured_key (or ProjectCmek::of(..).key()):\n{}",
        found.join("\n")
    );
}
