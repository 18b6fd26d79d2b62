//! Rule loading on arbitrary TOML: parsing, validation, regex compilation
//! (size limit kept), templates, windows, examples, then what `rules
//! check` and `rules test` do with the rules that load: lint, prefilter
//! construction, and each rule's inline examples scanned with and without
//! the prefilter.
//!
//! Invariants beyond "no panic":
//! - every error and diagnostic names the pack and a line and column
//!   inside its text (a position an editor can jump to);
//! - a pack that loads and lints clean never has the prefilter lose a
//!   match on its own examples;
//! - libFuzzer's `-timeout` and `-rss_limit_mb` (set by `fuzz/run.sh`)
//!   turn pathological compile time or memory into a crash.

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use logtriage::lint::{self, Level};
use logtriage::matcher::Matcher;
use logtriage::rules::{LoadError, RuleError, compile_all};
use logtriage::ruletest;

const FILE: &str = "fuzz.toml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let set = match compile_all(&[(FILE.to_string(), text.to_string())]) {
        Ok(set) => set,
        Err(LoadError::Invalid(errors)) => {
            assert!(!errors.is_empty(), "a failed load names at least one problem");
            errors.iter().for_each(|e| check_located(text, e));
            return;
        }
    };
    let diagnostics = lint::lint(&set);
    diagnostics.iter().for_each(|d| check_located(text, &d.at));
    let _ = Matcher::new(Arc::new(set.clone()));
    if diagnostics.iter().any(|d| d.level == Level::Error) {
        return;
    }
    let ids: Vec<String> = set.rules().iter().map(|r| r.id.clone()).collect();
    // No fixture directory: the inline examples only.
    let report = ruletest::run(&set, &ids, None);
    for case in report.outcomes.iter().flat_map(|o| &o.cases) {
        let lost = case.failures.iter().find(|f| f.starts_with("the prefilter lost matches"));
        assert!(lost.is_none(), "{}: {lost:?}", case.name);
    }
});

/// The error's line exists in `text` and its column is at most one past
/// that line's last character.
fn check_located(text: &str, e: &RuleError) {
    assert_eq!(e.file, FILE, "{e}");
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(e.line >= 1 && e.line <= lines.len(), "line {} of {}: {e}", e.line, lines.len());
    let width = lines[e.line - 1].chars().count();
    assert!(e.col >= 1 && e.col <= width + 1, "column {} of {width}: {e}", e.col);
    assert!(!e.message.trim().is_empty(), "{e}");
}
