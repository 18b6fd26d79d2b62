//! Every built-in rule proves itself on realistic logs: each has a
//! `fixtures/rules/<rule-id>/` directory with logs that must fire
//! (`fires-*.log`) and look-alikes that must not (`near-miss-*.log`) plus
//! an `expect.toml` (the convention is documented in
//! `src/ruletest/expect.rs` and the README), and inline
//! `[[rule.example]]` cases. `logtriage rules test` runs them all, each
//! rule alone, with and without the prefilter; this test holds the
//! built-in pack to it.

use crate::util::{root, run};

fn builtin_rule_ids() -> Vec<String> {
    let set = logtriage::rules::load(&logtriage::rules::LoadOptions { builtin: true, paths: vec![] }).expect("builtin");
    set.rules().iter().map(|r| r.id.clone()).collect()
}

#[test]
fn every_builtin_rule_passes_its_fixtures_and_examples() {
    let r = run(&["rules", "test"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let ids = builtin_rule_ids();
    for id in &ids {
        // A rule must have fixture logs, not only inline examples.
        let dir = root().join("fixtures/rules").join(id);
        assert!(dir.is_dir(), "{id}: no fixture directory {}", dir.display());
        let line = r.stdout.lines().find(|l| l.split_whitespace().nth(1) == Some(id.as_str()));
        assert!(line.is_some_and(|l| l.starts_with("ok ")), "{id}: {line:?}");
    }
    assert!(r.stdout.ends_with(&format!("{} rule(s): {} passed, 0 failed, 0 untested\n", ids.len(), ids.len())));
}

/// The prefilter has zero false negatives on the mixed fixture tree too
/// (`rules test` checks it file by file).
#[test]
fn prefilter_loses_nothing() {
    let dir = "fixtures/pm2";
    let with = run(&["scan", "--format", "json", "--fail-on", "never", dir]);
    let without = run(&["scan", "--format", "json", "--fail-on", "never", "--no-prefilter", dir]);
    let incidents = |s: &str| -> String {
        let doc: serde_json::Value = serde_json::from_str(s).expect("json");
        doc["incidents"].to_string()
    };
    assert_eq!(incidents(&with.stdout), incidents(&without.stdout));
}
