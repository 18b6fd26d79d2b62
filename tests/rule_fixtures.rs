//! Every built-in rule proves itself on realistic logs: each has a
//! `fixtures/rules/<rule-id>/` directory with logs that must fire
//! (`fires-*.log`) and look-alikes that must not (`near-miss-*.log`), and an
//! `expect.toml` saying, per file, which pm2 file it plays (`as`, which
//! decides app and stream) and the incidents this rule must report on it
//! alone, in report order:
//!
//! ```toml
//! [fires-cluster-loop]
//! as = "pm2.log"
//! incidents = [{ app = "api", count = 16, key = { app = "api" }, fields = { code = ["0"] } }]
//!
//! [near-miss-single-restart]
//! as = "pm2.log"
//! ```
//!
//! `key`, `fields` and `first_seen` are checked when given; `fields` lists
//! values for the named fields only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::util::{Doc, Incident, root, run, run_in};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(rename = "as")]
    plays: String,
    #[serde(default)]
    incidents: Vec<Want>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Want {
    app: Option<String>,
    count: usize,
    #[serde(default)]
    key: BTreeMap<String, String>,
    #[serde(default)]
    fields: BTreeMap<String, Vec<String>>,
    first_seen: Option<String>,
}

fn builtin_rule_ids() -> Vec<String> {
    let set = logtriage::rules::load(&logtriage::rules::LoadOptions { builtin: true, paths: vec![] }).expect("builtin");
    set.rules().iter().map(|r| r.id.clone()).collect()
}

fn fixture_dir(id: &str) -> PathBuf {
    root().join("fixtures/rules").join(id)
}

fn logs_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.retain(|n| n.ends_with(".log"));
    names.sort();
    names
}

fn load_expect(dir: &Path) -> Result<BTreeMap<String, Expect>, String> {
    let text = std::fs::read_to_string(dir.join("expect.toml")).map_err(|e| format!("expect.toml: {e}"))?;
    toml::from_str(&text).map_err(|e| format!("expect.toml: {e}"))
}

/// Scans `file` alone, as the pm2 file it plays, and returns this rule's
/// incidents.
fn incidents_of(rule: &str, file: &Path, plays: &str, extra: &[&str]) -> Result<Vec<Incident>, String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::copy(file, tmp.path().join(plays)).map_err(|e| e.to_string())?;
    let mut args = vec!["scan", "--format", "json", "--fail-on", "never"];
    args.extend_from_slice(extra);
    args.push(".");
    let r = run_in(tmp.path(), &args, None);
    let doc: Doc = serde_json::from_str(&r.stdout).map_err(|e| format!("{e}; stderr: {}", r.stderr))?;
    Ok(doc.incidents.into_iter().filter(|i| i.rule == rule).collect())
}

fn check(want: &Want, got: &Incident) -> Vec<String> {
    let mut diffs = Vec::new();
    if want.app != got.app {
        diffs.push(format!("app: want {:?}, found {:?}", want.app, got.app));
    }
    if want.count != got.count {
        diffs.push(format!("count: want {}, found {}", want.count, got.count));
    }
    for (k, v) in &want.key {
        if got.key.get(k) != Some(v) {
            diffs.push(format!("key.{k}: want {v:?}, found {:?}", got.key.get(k)));
        }
    }
    for (k, v) in &want.fields {
        if got.fields.get(k) != Some(v) {
            diffs.push(format!("fields.{k}: want {v:?}, found {:?}", got.fields.get(k)));
        }
    }
    if want.first_seen.is_some() && want.first_seen != got.first_seen {
        diffs.push(format!("first_seen: want {:?}, found {:?}", want.first_seen, got.first_seen));
    }
    diffs
}

/// All problems with one rule's fixtures, as lines for the failure report.
fn check_rule(id: &str) -> Vec<String> {
    let dir = fixture_dir(id);
    let logs = logs_in(&dir);
    let mut problems = Vec::new();
    if !logs.iter().any(|l| l.starts_with("fires-")) {
        problems.push(format!("{id}: no fires-*.log in {}", dir.display()));
    }
    if !logs.iter().any(|l| l.starts_with("near-miss-")) {
        problems.push(format!("{id}: no near-miss-*.log in {}", dir.display()));
    }
    let expect = match load_expect(&dir) {
        Ok(e) => e,
        Err(e) => return [problems, vec![format!("{id}: {e}")]].concat(),
    };
    for log in &logs {
        let stem = log.trim_end_matches(".log");
        let Some(exp) = expect.get(stem) else {
            problems.push(format!("{id}/{log}: no [{stem}] table in expect.toml"));
            continue;
        };
        if stem.starts_with("near-miss-") && !exp.incidents.is_empty() {
            problems.push(format!("{id}/{log}: a near miss cannot expect incidents"));
        }
        if stem.starts_with("fires-") && exp.incidents.is_empty() {
            problems.push(format!("{id}/{log}: a fires fixture must expect at least one incident"));
        }
        let got = match incidents_of(id, &dir.join(log), &exp.plays, &[]) {
            Ok(g) => g,
            Err(e) => {
                problems.push(format!("{id}/{log}: {e}"));
                continue;
            }
        };
        // The prefilter has zero false negatives: every regex on every
        // record finds the same incidents.
        match incidents_of(id, &dir.join(log), &exp.plays, &["--no-prefilter"]) {
            Ok(all) if format!("{all:?}") == format!("{got:?}") => {}
            Ok(all) => problems.push(format!("{id}/{log}: the prefilter lost matches: {} vs {}", got.len(), all.len())),
            Err(e) => problems.push(format!("{id}/{log}: {e}")),
        }
        if got.len() != exp.incidents.len() {
            let found: Vec<String> = got.iter().map(|i| format!("{:?} x{}", i.app, i.count)).collect();
            problems.push(format!(
                "{id}/{log}: want {} incident(s), found {}: {found:?}",
                exp.incidents.len(),
                got.len()
            ));
            continue;
        }
        for (n, (w, g)) in exp.incidents.iter().zip(&got).enumerate() {
            problems.extend(check(w, g).into_iter().map(|d| format!("{id}/{log} incident {n}: {d}")));
        }
    }
    for stem in expect.keys() {
        if !logs.contains(&format!("{stem}.log")) {
            problems.push(format!("{id}: expect.toml has [{stem}] but there is no {stem}.log"));
        }
    }
    problems
}

#[test]
fn every_builtin_rule_passes_its_fixtures() {
    let ids = builtin_rule_ids();
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let chunk = ids.len().div_ceil(workers).max(1);
    // Rules in parallel (each scan is a process); problems in rule order.
    let problems: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = ids
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().flat_map(|id| check_rule(id)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|_| vec!["a checker thread panicked".into()]))
            .collect()
    });
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn every_fixture_directory_belongs_to_a_rule() {
    let ids = builtin_rule_ids();
    let orphans: Vec<String> = std::fs::read_dir(root().join("fixtures/rules"))
        .expect("fixtures/rules")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !ids.contains(name))
        .collect();
    assert!(orphans.is_empty(), "fixture directories without a rule: {orphans:?}");
}

/// The prefilter has zero false negatives on the mixed fixture tree too
/// (the rule fixtures check it file by file).
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
