//! Inputs the fuzz targets (`fuzz/`) found, through the real binary.

use crate::util::{Doc, run_with_stdin};

fn scan_stdin(log: &[u8]) -> Doc {
    let r = run_with_stdin(&["scan", "--format", "json", "--fail-on", "never", "-"], log);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", r.stdout))
}

fn rules_of(doc: &Doc) -> Vec<&str> {
    doc.incidents.iter().map(|i| i.rule.as_str()).collect()
}

/// Found by target `scan`: a colour code inside the only literal of a
/// line hid it from the prefilter, while the regex (run on the text with
/// colour removed) matches it: the 1100 went unreported.
#[test]
fn colour_codes_inside_a_literal_do_not_hide_the_line() {
    let plain = b"2026-11-20T14:02:11: Connectivity between IBKR and Trader Workstation has been lost.\n";
    let coloured = b"2026-11-20T14:02:11: Connec\x1b[1mtivity between IBKR and Trader Workstation has been lost.\n";
    let json = br#"{"message":"Connec\u001b[1mtivity between IBKR and Trader Workstation has been lost.\n","timestamp":"2026-11-20T14:02:11.000Z","type":"err","app_name":"tws-bridge"}
"#;
    assert_eq!(rules_of(&scan_stdin(plain)), ["tws.connectivity-lost"]);
    assert_eq!(rules_of(&scan_stdin(coloured)), ["tws.connectivity-lost"]);
    assert_eq!(rules_of(&scan_stdin(json)), ["tws.connectivity-lost"]);
}

/// Found by target `timestamp`: `413116492e14` parsed as epoch seconds
/// with an exponent, a time past chrono's range that saturated to
/// `i64::MAX` ms and was printed as a bare number in `first_seen`.
#[test]
fn json_timestamp_with_an_exponent_is_no_time() {
    let log = br#"{"message":"Error: listen EADDRINUSE: address already in use :::3000\n","timestamp":"413116492e14","type":"err","app_name":"api"}
"#;
    let doc = scan_stdin(log);
    assert_eq!(rules_of(&doc), ["node.eaddrinuse"]);
    assert_eq!(doc.incidents[0].first_seen, None);
}

/// Found while checking the `rules` target's memory bound: each pattern
/// was under the 10 MiB size limit, but 1.4 KB of them held 1.2 GB. The
/// load now stops at the regex budget, saying so once at the pattern.
#[test]
fn many_large_regexes_stop_at_the_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pack = dir.path().join("big.toml");
    let patterns: Vec<String> = (0..100).map(|i| format!(r"'\w{{200}}a{i}'")).collect();
    let text = format!(
        "[[rule]]\nid = \"acme.big\"\ntitle = \"t\"\nseverity = \"low\"\nregex = [{}]\nfix = \"f\"\n",
        patterns.join(", ")
    );
    std::fs::write(&pack, text).expect("write pack");
    let path = pack.display().to_string();
    let r = crate::util::run(&["rules", "check", "--no-builtin-rules", &path]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    let budget: Vec<&str> = r.stdout.lines().filter(|l| l.contains("may compile to 96 MiB")).collect();
    assert_eq!(budget.len(), 1, "{}", r.stdout);
    assert!(budget[0].starts_with(&format!("{path}:5:")), "{}", budget[0]);
}
