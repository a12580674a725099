//! "Tests name `ErrorCode`s, never their numbers": `crates/cmek-core/tests/error_codes.rs` alone
//! pins each code's number and status, so renumbering a code fails exactly one test.

use cmek_tidy::rust_files;

/// Where a number may stand: the codes' own table and its pinning test, and the fake upstream,
/// which answers as the real TiDB Cloud does (its codes are the upstream's words, not ours).
const ALLOWED: &[&str] = &[
    "crates/cmek-core/src/error.rs",
    "crates/cmek-core/tests/error_codes.rs",
    "crates/cmek-test-support/src/fake_upstream.rs",
    // This file's own test of its reader.
    "crates/tidy/tests/codes.rs",
];

/// The 8-digit numbers of this API's error codes (499xxxxx) in a line of code.
fn code_numbers(line: &str) -> Vec<&str> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 8 <= b.len() {
        let before_ok = i == 0 || !b[i - 1].is_ascii_digit();
        let after_ok = i + 8 == b.len() || !b[i + 8].is_ascii_digit();
        if before_ok && after_ok && b[i..].starts_with(b"499") && b[i..i + 8].iter().all(u8::is_ascii_digit) {
            out.push(&line[i..i + 8]);
            i += 8;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn tests_name_error_codes_never_their_numbers() {
    let mut found = Vec::new();
    for dir in ["src", "tests", "crates", "e2e", "bench/src"] {
        for (path, text) in rust_files(dir) {
            if ALLOWED.contains(&path.as_str()) {
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for number in code_numbers(code) {
                    // The upstream's own invented code, asserted where the gateway passes it on.
                    if number != "49900500" {
                        found.push(format!("{path}:{}: {number}", n + 1));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "name the ErrorCode (ErrorCode::X.code()) instead of its number:\n{}", found.join("\n"));
}

#[test]
fn the_reader_finds_code_numbers_and_nothing_else() {
    assert_eq!(code_numbers(r#"{"code":49930001,"x":1499300012}"#), vec!["49930001"]);
    assert_eq!(code_numbers("let port = 4000; let n = 4993;"), Vec::<&str>::new());
}
