//! Recorded logs of real software (`fixtures/recorded/*/`, written by
//! `lab/record`) and verbatim excerpts of public reports
//! (`fixtures/excerpts/*/`): the real binary must report exactly the
//! incidents each scenario's `expect.toml` lists (README, "Recorded lab").
//!
//! Scenarios that do not pass yet are listed, each with the reason, in
//! `fixtures/known-gaps.toml`: the test fails when a scenario not listed
//! fails, and when a listed one passes (take it off the list), so the list
//! is always exactly the open to-do list, never a place to hide one.
//!
//! A scenario fails on an expected incident the scan does not report
//! (missing), an incident the scan reports that is not expected (extra; a
//! `[[not]]` near-miss that fires is called out), or an expected incident
//! no built-in rule covers yet (`rule = "?"`, not covered). Every scenario
//! is checked before the test fails, and the failure message is the whole
//! to-do list. `lab/report` prints the same comparison as a table, without
//! failing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::util::{Doc, Incident, root, run_in};

/// The directories that hold scenarios, relative to the crate root.
const SCENARIO_ROOTS: [&str; 2] = ["fixtures/recorded", "fixtures/excerpts"];

/// `expect.toml`, as RECORDED-FORMAT documents it; unknown keys are errors,
/// so a misspelt check cannot silently check nothing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    summary: String,
    #[serde(default = "default_paths")]
    paths: Vec<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    incident: Vec<Expected>,
    #[serde(default)]
    not: Vec<NotExpected>,
}

fn default_paths() -> Vec<String> {
    vec![".".to_owned()]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    rule: String,
    #[serde(default)]
    app: Option<String>,
    #[serde(default)]
    count_at_least: Option<usize>,
    #[serde(default)]
    key: Option<BTreeMap<String, String>>,
    #[serde(default)]
    timed: Option<bool>,
    why: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotExpected {
    rule: String,
    #[serde(default)]
    app: Option<String>,
    why: String,
}

/// What one scenario gave against what it expects.
#[derive(Debug, Default)]
struct Outcome {
    name: String,
    expected: usize,
    found: usize,
    /// Expected incidents the scan did not report, each with the nearest
    /// candidate's mismatch when the rule fired for that app at all.
    missing: Vec<String>,
    /// Reported incidents nothing expected.
    extra: Vec<String>,
    /// `rule = "?"` entries: incidents a person sees that no rule covers.
    not_covered: Vec<String>,
    /// The scenario could not be checked (bad expect.toml, no JSON).
    broken: Option<String>,
}

impl Outcome {
    fn passed(&self) -> bool {
        self.broken.is_none() && self.missing.is_empty() && self.extra.is_empty() && self.not_covered.is_empty()
    }
}

/// Every scenario directory under the roots, sorted (a root that does not
/// exist yet holds none).
fn scenario_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for sub in SCENARIO_ROOTS {
        let Ok(entries) = fs::read_dir(root().join(sub)) else { continue };
        let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        found.sort();
        dirs.extend(found);
    }
    dirs
}

/// `rootdir/name` as the crate-relative name a person types.
fn display_name(dir: &Path) -> String {
    dir.strip_prefix(root()).unwrap_or(dir).display().to_string()
}

fn check(dir: &Path, known: &[String]) -> Outcome {
    let mut out = Outcome { name: display_name(dir), ..Outcome::default() };
    let expect = match read_expect(dir, known) {
        Ok(e) => e,
        Err(msg) => {
            out.broken = Some(msg);
            return out;
        }
    };
    // Counted before the scan, so a scenario whose scan fails still shows
    // what it expects in the table.
    out.expected = expect.incident.len();
    let doc = match scan(dir, &expect) {
        Ok(d) => d,
        Err(msg) => {
            out.broken = Some(msg);
            return out;
        }
    };
    compare(&expect, &doc.incidents, &mut out);
    out
}

fn read_expect(dir: &Path, known: &[String]) -> Result<Expect, String> {
    let path = dir.join("expect.toml");
    let text = fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let expect: Expect = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if expect.summary.trim().is_empty() {
        return Err(format!("{}: summary is empty", path.display()));
    }
    let unexplained =
        expect.incident.iter().map(|i| (&i.rule, &i.why)).chain(expect.not.iter().map(|n| (&n.rule, &n.why)));
    for (rule, why) in unexplained {
        if why.trim().is_empty() {
            return Err(format!("{}: entry for {rule} has no `why`", path.display()));
        }
        if rule != "?" && !known.contains(rule) {
            return Err(format!(
                "{}: {rule} is no built-in rule (`logtriage rules list`; write rule = \"?\" and the proposed id in `why`)",
                path.display()
            ));
        }
    }
    Ok(expect)
}

/// `logtriage scan --format json ARGS PATHS`, run inside the scenario's
/// directory so its relative paths (and an ecosystem file's) resolve there.
fn scan(dir: &Path, expect: &Expect) -> Result<Doc, String> {
    let mut args: Vec<&str> = vec!["scan", "--format", "json", "--fail-on", "never"];
    args.extend(expect.args.iter().map(String::as_str));
    args.extend(expect.paths.iter().map(String::as_str));
    let r = run_in(dir, &args, None);
    serde_json::from_str(&r.stdout).map_err(|e| {
        format!("no JSON document from `logtriage {}` (exit {}, {e}): {}", args.join(" "), r.code, r.stderr.trim())
    })
}

fn compare(expect: &Expect, found: &[Incident], out: &mut Outcome) {
    out.found = found.len();
    let mut used = vec![false; found.len()];
    // Most specific expectations first, so a bare one cannot take the
    // incident a checked one needs.
    let mut order: Vec<&Expected> = expect.incident.iter().filter(|e| e.rule != "?").collect();
    order.sort_by_key(|e| std::cmp::Reverse(specificity(e)));
    for e in order {
        let hit = found.iter().enumerate().position(|(i, f)| !used[i] && mismatch(e, f).is_none());
        match hit {
            Some(i) => used[i] = true,
            None => out.missing.push(describe_missing(e, found, &used)),
        }
    }
    for e in expect.incident.iter().filter(|e| e.rule == "?") {
        out.not_covered.push(format!("app={} ({})", e.app.as_deref().unwrap_or("-"), one_line(&e.why)));
    }
    for f in found.iter().zip(&used).filter(|(_, u)| !**u).map(|(f, _)| f) {
        let near_miss = expect.not.iter().find(|n| n.rule == f.rule && app_matches(n.app.as_deref(), f));
        let mut line = summarize(f);
        if let Some(n) = near_miss {
            let _ = write!(line, " (a [[not]] near-miss: {})", one_line(&n.why));
        }
        out.extra.push(line);
    }
}

fn specificity(e: &Expected) -> usize {
    usize::from(e.app.as_deref().is_some_and(|a| !a.is_empty()))
        + usize::from(e.count_at_least.is_some())
        + e.key.as_ref().map_or(0, BTreeMap::len)
        + usize::from(e.timed.is_some())
}

fn app_matches(want: Option<&str>, f: &Incident) -> bool {
    match want {
        None | Some("") => true,
        Some(app) => f.app.as_deref() == Some(app),
    }
}

/// Why `f` does not satisfy `e`, or None when it does.
fn mismatch(e: &Expected, f: &Incident) -> Option<String> {
    if e.rule != f.rule {
        return Some(format!("rule {}", f.rule));
    }
    if !app_matches(e.app.as_deref(), f) {
        return Some(format!("app {}", f.app.as_deref().unwrap_or("(none)")));
    }
    if let Some(min) = e.count_at_least
        && f.count < min
    {
        return Some(format!("count {} < {min}", f.count));
    }
    if let Some(key) = &e.key {
        for (k, v) in key {
            let got = f.key.get(k);
            if got != Some(v) {
                return Some(format!("key {k}={}", got.map_or("(none)", String::as_str)));
            }
        }
    }
    if let Some(timed) = e.timed
        && f.first_seen.is_some() != timed
    {
        return Some(if timed { "untimed".to_owned() } else { "timed".to_owned() });
    }
    None
}

/// The missing entry, and what the same rule did report instead.
fn describe_missing(e: &Expected, found: &[Incident], used: &[bool]) -> String {
    let mut line = format!("{} app={}", e.rule, e.app.as_deref().unwrap_or("-"));
    let near: Vec<String> = found
        .iter()
        .enumerate()
        .filter(|(i, f)| f.rule == e.rule && !used[*i])
        .filter_map(|(_, f)| mismatch(e, f))
        .collect();
    if !near.is_empty() {
        let _ = write!(line, " [reported with {}]", near.join("; "));
    }
    let _ = write!(line, " ({})", one_line(&e.why));
    line
}

fn summarize(f: &Incident) -> String {
    format!("{} app={} count={} {}", f.rule, f.app.as_deref().unwrap_or("-"), f.count, one_line(&f.title))
}

fn one_line(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 110 { format!("{}…", flat.chars().take(110).collect::<String>()) } else { flat }
}

fn todo_list(outcomes: &[Outcome]) -> String {
    let mut s = String::new();
    for o in outcomes.iter().filter(|o| !o.passed()) {
        let _ = writeln!(s, "FAIL {}", o.name);
        if let Some(b) = &o.broken {
            let _ = writeln!(s, "  broken: {b}");
        }
        for m in &o.missing {
            let _ = writeln!(s, "  missing: {m}");
        }
        for x in &o.extra {
            let _ = writeln!(s, "  extra: {x}");
        }
        for n in &o.not_covered {
            let _ = writeln!(s, "  not covered (rule = \"?\"): {n}");
        }
    }
    s
}

fn table(outcomes: &[Outcome]) -> String {
    let width = outcomes.iter().map(|o| o.name.len()).max().unwrap_or(8).max(8);
    let mut s = format!(
        "{:<width$}  {:>8}  {:>5}  {:>7}  {:>5}  {:>11}  result\n",
        "scenario", "expected", "found", "missing", "extra", "not covered"
    );
    let (mut e, mut f, mut m, mut x, mut n, mut pass, mut hit) = (0, 0, 0, 0, 0, 0, 0);
    for o in outcomes {
        let result = match (&o.broken, o.passed()) {
            (Some(_), _) => "broken",
            (None, true) => "pass",
            (None, false) => "FAIL",
        };
        let _ = writeln!(
            s,
            "{:<width$}  {:>8}  {:>5}  {:>7}  {:>5}  {:>11}  {result}",
            o.name,
            o.expected,
            o.found,
            o.missing.len(),
            o.extra.len(),
            o.not_covered.len()
        );
        e += o.expected;
        f += o.found;
        m += o.missing.len();
        x += o.extra.len();
        n += o.not_covered.len();
        pass += usize::from(o.passed());
        // A scenario that could not be scanned found none of its incidents.
        if o.broken.is_none() {
            hit += o.expected - o.missing.len() - o.not_covered.len();
        }
    }
    let _ = writeln!(
        s,
        "{:<width$}  {e:>8}  {f:>5}  {m:>7}  {x:>5}  {n:>11}  {pass}/{} pass; recall {}/{e} expected incidents found",
        "total",
        outcomes.len(),
        hit
    );
    s
}

/// The built-in rule ids, from `logtriage rules list --format json`.
fn builtin_rule_ids() -> Vec<String> {
    #[derive(Deserialize)]
    struct List {
        rules: Vec<Rule>,
    }
    #[derive(Deserialize)]
    struct Rule {
        id: String,
    }
    let r = run_in(&root(), &["rules", "list", "--format", "json"], None);
    let list: List = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("rules list --format json: {e}; stderr: {}", r.stderr));
    list.rules.into_iter().map(|r| r.id).collect()
}

fn check_all() -> Vec<Outcome> {
    let known = builtin_rule_ids();
    scenario_dirs().iter().map(|d| check(d, &known)).collect()
}

/// `fixtures/known-gaps.toml`: scenarios known not to pass yet.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownGaps {
    #[serde(default)]
    gap: Vec<Gap>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Gap {
    /// Crate-relative scenario directory.
    scenario: String,
    /// What is missing and what would close it.
    why: String,
}

fn known_gaps() -> Vec<Gap> {
    let path = root().join("fixtures/known-gaps.toml");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let gaps: KnownGaps = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    gaps.gap
}

/// Every recorded scenario and excerpt gives exactly its expected
/// incidents, but those `fixtures/known-gaps.toml` lists (with a reason),
/// and each of those still fails.
#[test]
fn recorded_scenarios_give_their_expected_incidents() {
    let outcomes = check_all();
    assert!(!outcomes.is_empty(), "no scenarios under {SCENARIO_ROOTS:?}");
    let gaps = known_gaps();
    let listed = |o: &Outcome| gaps.iter().any(|g| g.scenario == o.name);
    let mut problems = Vec::new();
    for g in &gaps {
        assert!(!g.why.trim().is_empty(), "known-gaps.toml: {} has no `why`", g.scenario);
        match outcomes.iter().find(|o| o.name == g.scenario) {
            None => problems.push(format!("known-gaps.toml lists {}, which is no scenario", g.scenario)),
            Some(o) if o.passed() => {
                problems.push(format!("{} passes now: take it off fixtures/known-gaps.toml", g.scenario))
            }
            Some(_) => {}
        }
    }
    let unlisted: Vec<&Outcome> = outcomes.iter().filter(|o| !o.passed() && !listed(o)).collect();
    if !unlisted.is_empty() {
        let names: Vec<&str> = unlisted.iter().map(|o| o.name.as_str()).collect();
        problems.push(format!(
            "{} scenario(s) differ from their expect.toml and are not in fixtures/known-gaps.toml: {}",
            unlisted.len(),
            names.join(", ")
        ));
    }
    assert!(problems.is_empty(), "{}\n\n{}\n{}", problems.join("\n"), todo_list(&outcomes), table(&outcomes));
}

/// `lab/report`: the comparison as a table and the to-do list, never
/// failing (ignored by default: `cargo test --test integration
/// recorded::report -- --ignored --nocapture`).
#[test]
#[ignore = "a report, run by lab/report"]
fn report() {
    let outcomes = check_all();
    println!("{}", table(&outcomes));
    println!("{}", todo_list(&outcomes));
}

/// Fixture directories are what the layout says: every scenario has its
/// expect.toml, every recorded one its versions.toml and README.md.
#[test]
fn every_scenario_directory_is_complete() {
    let mut problems = Vec::new();
    for dir in scenario_dirs() {
        let recorded = dir.starts_with(root().join(SCENARIO_ROOTS[0]));
        let needed: &[&str] =
            if recorded { &["expect.toml", "versions.toml", "README.md"] } else { &["expect.toml", "source.toml"] };
        for file in needed {
            if !dir.join(file).is_file() {
                problems.push(format!("{} has no {file}", display_name(&dir)));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
