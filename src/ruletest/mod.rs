//! `rules test`: each rule proves itself on logs. A rule is scanned alone
//! over its fixture logs (see [`expect`] for the convention) and its inline
//! `[[rule.example]]` excerpts, through the same scan the CLI runs, once
//! with the prefilter and once without: the two must agree (a prefilter
//! that skips a record the regex matches is a silent false negative).
//! Hands on one [`Outcome`] per rule, in rule order, with the differences
//! between what was wanted and what was found.

pub mod expect;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::incidents::Incident;
use crate::input::{self, MmapChoice, Origin, SourceMeta, SourceSpec};
use crate::rules::{Example, RuleSet};
use crate::scan::{self, ScanOptions};
use expect::Expect;

/// One fixture log or example and what went wrong with it (nothing: it
/// passed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// `fixtures/rules/ID/fires-x.log`, or `example at FILE:LINE`.
    pub name: String,
    /// Difference lines; empty when the case passed.
    pub failures: Vec<String>,
}

/// The result for one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Rule id.
    pub rule: String,
    /// Every case run.
    pub cases: Vec<Case>,
    /// Problems with the fixture directory itself (a log with no table in
    /// `expect.toml`, no near-miss log, ...).
    pub problems: Vec<String>,
}

impl Outcome {
    /// Returns true if and only if no case failed and the fixtures are
    /// well-formed.
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.cases.iter().all(|c| c.failures.is_empty())
    }

    /// Returns true if and only if the rule has neither fixtures nor
    /// examples.
    pub fn untested(&self) -> bool {
        self.cases.is_empty() && self.problems.is_empty()
    }
}

/// Everything `rules test` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// One per tested rule, in rule order.
    pub outcomes: Vec<Outcome>,
    /// Fixture directories named for no loaded rule (a renamed rule whose
    /// tests no longer run).
    pub orphans: Vec<String>,
}

impl Report {
    /// Returns true if and only if every rule passed and no fixture
    /// directory is orphaned.
    pub fn passed(&self) -> bool {
        self.orphans.is_empty() && self.outcomes.iter().all(Outcome::passed)
    }
}

/// Tests the rules of `rules` whose ids are in `ids`, with fixture
/// directories under `fixtures` (which need not exist; None: examples only).
pub fn run(rules: &RuleSet, ids: &[String], fixtures: Option<&Path>) -> Report {
    let outcomes = rules
        .rules()
        .iter()
        .enumerate()
        .filter(|(_, r)| ids.contains(&r.id))
        .map(|(idx, rule)| {
            let alone = Arc::new(rules.subset(&[idx]));
            let mut out = Outcome { rule: rule.id.clone(), cases: Vec::new(), problems: Vec::new() };
            if let Some(dir) = fixtures.map(|f| f.join(&rule.id)).filter(|d| d.is_dir()) {
                fixture_dir(&alone, &rule.id, &dir, &mut out);
            }
            out.cases.extend(rule.examples.iter().map(|ex| example(&alone, &rule.id, ex)));
            out
        })
        .collect();
    Report { outcomes, orphans: fixtures.map(|f| orphans(rules, f)).unwrap_or_default() }
}

fn orphans(rules: &RuleSet, fixtures: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(fixtures) else { return Vec::new() };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !rules.rules().iter().any(|r| &r.id == name))
        .map(|name| fixtures.join(name).display().to_string())
        .collect();
    out.sort();
    out
}

fn fixture_dir(rules: &Arc<RuleSet>, id: &str, dir: &Path, out: &mut Outcome) {
    let logs = logs_in(dir);
    let shown = dir.display();
    if !logs.iter().any(|l| l.starts_with("fires-")) {
        out.problems.push(format!("{shown}: no fires-*.log (a log the rule must fire on)"));
    }
    if !logs.iter().any(|l| l.starts_with("near-miss-")) {
        out.problems.push(format!("{shown}: no near-miss-*.log (a look-alike the rule must not fire on)"));
    }
    let expect_path = dir.join("expect.toml");
    let expect = match std::fs::read_to_string(&expect_path) {
        Ok(text) => expect::parse(&expect_path.display().to_string(), &text),
        Err(e) => Err(format!("{}: cannot read: {e}", expect_path.display())),
    };
    let expect = match expect {
        Ok(e) => e,
        Err(e) => {
            out.problems.push(e);
            return;
        }
    };
    for log in &logs {
        let stem = log.trim_end_matches(".log");
        match expect.get(stem) {
            Some(exp) => out.cases.push(fixture_case(rules, id, &dir.join(log), stem, exp)),
            None => out.problems.push(format!("{shown}/{log}: no [{stem}] table in expect.toml")),
        }
    }
    for stem in expect.keys().filter(|s| !logs.contains(&format!("{s}.log"))) {
        out.problems.push(format!("{}: [{stem}] has no {stem}.log", expect_path.display()));
    }
}

fn logs_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.retain(|n| n.ends_with(".log"));
    names.sort();
    names
}

fn fixture_case(rules: &Arc<RuleSet>, id: &str, log: &Path, stem: &str, exp: &Expect) -> Case {
    let name = log.display().to_string();
    let meta = input::classify(&name, &exp.plays);
    let spec = SourceSpec { id: 0, meta, origin: Origin::File(PathBuf::from(log)) };
    let mut failures = Vec::new();
    if stem.starts_with("near-miss-") && !exp.incidents.is_empty() {
        failures.push("a near-miss log cannot expect incidents".to_string());
    }
    if stem.starts_with("fires-") && exp.incidents.is_empty() {
        failures.push("a fires log must expect at least one incident".to_string());
    }
    match scan_both(rules, id, spec) {
        Ok(got) => failures.extend(compare(&exp.incidents, &got)),
        Err(e) => failures.push(e),
    }
    Case { name, failures }
}

fn compare(want: &[expect::Want], got: &[Incident]) -> Vec<String> {
    if want.len() != got.len() {
        let mut out = vec![format!("want {} incident(s), found {}", want.len(), got.len())];
        out.extend(want.iter().map(|w| format!("- {}", expect::describe_want(w))));
        out.extend(got.iter().map(|g| format!("+ {}", expect::describe_found(g))));
        return out;
    }
    let mut out = Vec::new();
    for (n, (w, g)) in want.iter().zip(got).enumerate() {
        let d = expect::diff(w, g);
        if !d.is_empty() {
            out.push(format!("incident {n}:"));
            out.extend(d);
        }
    }
    out
}

fn example(rules: &Arc<RuleSet>, id: &str, ex: &Example) -> Case {
    let name = format!("example at {}", ex.origin);
    let meta = match &ex.plays {
        Some(plays) => input::classify(&name, plays),
        None => SourceMeta::unnamed(&name),
    };
    let bytes: Arc<[u8]> = Arc::from(ex.log.as_bytes());
    let spec = SourceSpec { id: 0, meta, origin: Origin::Memory(bytes) };
    let failures = match scan_both(rules, id, spec) {
        Ok(got) if got.len() == ex.expect => Vec::new(),
        Ok(got) => {
            let mut out = vec![format!("- want {} incident(s)", ex.expect), format!("+ found {}", got.len())];
            out.extend(got.iter().map(|g| format!("+ {}", expect::describe_found(g))));
            out
        }
        Err(e) => vec![e],
    };
    Case { name, failures }
}

/// The rule's incidents on one source, checked to be the same with the
/// prefilter off.
fn scan_both(rules: &Arc<RuleSet>, id: &str, spec: SourceSpec) -> Result<Vec<Incident>, String> {
    let with = scan_one(rules, id, spec.clone(), false)?;
    let without = scan_one(rules, id, spec, true)?;
    if with != without {
        return Err(format!(
            "the prefilter lost matches: {} incident(s) with it, {} when every record is tried; \
             the rule's literals are not all in the text its regex matches",
            with.len(),
            without.len()
        ));
    }
    Ok(with)
}

fn scan_one(rules: &Arc<RuleSet>, id: &str, spec: SourceSpec, no_prefilter: bool) -> Result<Vec<Incident>, String> {
    let opts = ScanOptions { mmap: MmapChoice::Never, threads: Some(1), no_prefilter, ..ScanOptions::default() };
    let out = scan::scan_sources(rules.clone(), vec![spec], Vec::new(), &opts, Instant::now())
        .map_err(|e| format!("scan failed: {e}"))?;
    if let Some(skip) = out.summary.skipped.first() {
        return Err(format!("not scanned: {}", skip.detail));
    }
    let all = out.incidents.into_vec().map_err(|e| format!("scan failed: {e}"))?;
    Ok(all.into_iter().filter(|i| i.rule == id).collect())
}
