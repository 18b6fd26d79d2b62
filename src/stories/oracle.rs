//! The stories read only what they need: built from views that keep
//! only the marks a fold tagged for the view ([`Mark::view`]) and from
//! the sets of incidents that hold one record (`spill::links`), they are
//! the stories built from views that keep every mark, on every fixture
//! directory and on storm corpora of the benchmark's generator; and a
//! scan whose folds hand the linking records on as they go tells the
//! stories of one whose folds keep them, whether its incidents are held
//! or spilled.
//!
//! Which reason keeps which mark, and which story reads it (see
//! `correlate::fold::mark`): the first record's (`link_outages` reads the
//! first mark's source), pm2's daemon lines (`cause_windows`, the crash
//! check), closing records and records that made more than one event
//! (the only records two incidents can share: `link_same_kind_records`,
//! `shared_records`), opening records inside an exit's window
//! (`rule_causes`), and every mark where no bounds are known. A mark
//! kept only for the ticks is none of these, so no story reads it.

use std::path::Path;
use std::sync::Arc;

use super::{Causes, Story, build, cause_windows};
use crate::correlate::fold::Mark;
use crate::incidents::{Budget, Incident, Store};
use crate::rules::{LoadOptions, RuleSet, load};
use crate::scan::{ScanOptions, scan};

#[allow(dead_code, clippy::all)]
#[path = "../../benches/corpus/mod.rs"]
mod corpus;

/// What a case held: marks kept only for the ticks, stories, and stories
/// with a rule-matched cause or of more than one incident.
#[derive(Debug, Default)]
struct Seen {
    ticks: usize,
    stories: usize,
    caused: usize,
    joined: usize,
}

fn rules() -> Arc<RuleSet> {
    Arc::new(load(&LoadOptions { builtin: true, paths: vec![] }).expect("built-in rules"))
}

/// The incidents of a scan of `dir`, every one held (None: nothing to
/// scan there).
fn incidents(rules: &Arc<RuleSet>, dir: &Path) -> Option<Vec<Incident>> {
    let opts = ScanOptions {
        paths: vec![dir.to_string_lossy().into_owned()],
        threads: Some(1),
        budget: Budget::unlimited(),
        ..ScanOptions::default()
    };
    let out = scan(rules.clone(), &opts).ok()?;
    Some(out.incidents.into_vec().expect("held"))
}

/// Stories of `store`, with the windows they were built on.
fn stories(store: &Store) -> (Vec<super::Window>, Vec<Story>) {
    let paths: Vec<String> = (0..4096).map(|n| format!("source-{n}.log")).collect();
    let windows = cause_windows(store.views());
    let stories = build(store, &windows, &Causes::default(), &paths).expect("held incidents");
    (windows, stories)
}

/// Holds the stories of `incidents` from story marks to those from every
/// mark, and says what the case held.
fn same_stories(incidents: Vec<Incident>, what: &str) -> Seen {
    let ticks = incidents.iter().flat_map(|i| i.marks.iter()).filter(|m| !m.story()).count();
    let every = Store::with_every_mark(incidents.clone());
    let story = Store::from_incidents(incidents);
    let views = story.views();
    assert!(views.iter().all(|v| views.marks(v).iter().all(Mark::view)), "{what}");
    let (want_windows, want) = stories(&every);
    let (windows, got) = stories(&story);
    assert_eq!(windows, want_windows, "{what}: the windows before the exits");
    assert_eq!(got, want, "{what}: the stories");
    Seen {
        ticks,
        stories: got.len(),
        caused: got.iter().filter(|s| s.cause.as_ref().is_some_and(|c| c.incident.is_some())).count(),
        joined: got.iter().filter(|s| s.members.len() > 1).count(),
    }
}

/// The stories of a scan of `dir` whose store has `budget` (None:
/// nothing to scan there).
fn scanned_stories(rules: &Arc<RuleSet>, dir: &Path, budget: Budget) -> Option<Vec<Story>> {
    let opts = ScanOptions {
        paths: vec![dir.to_string_lossy().into_owned()],
        threads: Some(2),
        budget,
        ..ScanOptions::default()
    };
    Some(scan(rules.clone(), &opts).ok()?.stories)
}

/// Folds that keep their linking records (no limit), folds that hand
/// them on (the default budget), and folds that hand them on to a store
/// that spills every incident, tell the same stories of `dir`; returns
/// how many stories joined more than one incident.
fn links_tell_the_same_stories(rules: &Arc<RuleSet>, dir: &Path) -> Option<usize> {
    let kept = scanned_stories(rules, dir, Budget::unlimited())?;
    let handed = scanned_stories(rules, dir, Budget::default())?;
    let spilled = scanned_stories(rules, dir, Budget { bytes: 0, dir: None })?;
    assert_eq!(handed, kept, "{}: links handed on", dir.display());
    assert_eq!(spilled, kept, "{}: links handed on, incidents spilled", dir.display());
    Some(kept.iter().filter(|s| s.members.len() > 1).count())
}

/// A 3 MiB storm of the benchmark's generator (a quarter of the records
/// match), in a temporary directory.
fn storm(shape: corpus::Shape, seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let cfg = corpus::Config { total_bytes: 3 << 20, dense: 0.25, seed, shape, layout: corpus::Layout::Standard };
    corpus::generate(dir.path(), &cfg).expect("corpus");
    dir
}

/// Every fixture directory, and storms, whether folds keep or hand on
/// the records that link incidents.
#[test]
fn handed_on_links_tell_the_same_stories() {
    let rules = rules();
    let mut joined = 0;
    for dir in crate::fixtures::dirs() {
        joined += links_tell_the_same_stories(&rules, &dir).unwrap_or(0);
    }
    let storm = storm(corpus::Shape::Pm2, 3);
    let storm_joined = links_tell_the_same_stories(&rules, storm.path()).expect("a storm");
    assert!(
        joined > 0 && storm_joined > 0,
        "stories that join incidents: {joined} in fixtures, {storm_joined} in the storm"
    );
}

/// Every fixture directory: recordings of real software, excerpts,
/// each rule's fixtures.
#[test]
fn fixtures_tell_the_same_stories_from_story_marks() {
    let rules = rules();
    let mut seen = Seen::default();
    for dir in crate::fixtures::dirs() {
        let Some(incidents) = incidents(&rules, &dir) else { continue };
        let s = same_stories(incidents, &dir.display().to_string());
        seen.ticks += s.ticks;
        seen.stories += s.stories;
        seen.caused += s.caused;
        seen.joined += s.joined;
    }
    eprintln!("{seen:?}");
    assert!(seen.ticks > 0 && seen.caused > 0 && seen.joined > 0, "the fixtures hold what is tested: {seen:?}");
}

/// Storm corpora of the benchmark's generator (a quarter of the records
/// match: crash loops, outages, one record firing several rules), with
/// pm2's times and with the apps' own.
#[test]
fn storms_tell_the_same_stories_from_story_marks() {
    let rules = rules();
    for (shape, seed) in [(corpus::Shape::Pm2, 1), (corpus::Shape::AppTimed, 2)] {
        let dir = storm(shape, seed);
        let incidents = incidents(&rules, dir.path()).expect("a storm");
        let s = same_stories(incidents, &format!("storm {shape:?}"));
        eprintln!("{shape:?} {s:?}");
        assert!(s.ticks > 0 && s.joined > 0, "{shape:?}: {s:?}");
    }
}

/// A storm scanned under budgets that hold none, some or all of its
/// events (the byte budgets put part of them on disk and hold the rest:
/// what passes the events' half, the context stage's room, the sort's
/// held last run) gives the incidents and stories of a scan that holds
/// everything (the default budget, whose half holds a 3 MiB storm).
#[test]
fn every_budget_finds_the_same() {
    let rules = rules();
    let dir = storm(corpus::Shape::Pm2, 4);
    let scanned = |bytes: u64| {
        let opts = ScanOptions {
            paths: vec![dir.path().to_string_lossy().into_owned()],
            threads: Some(2),
            budget: Budget { bytes, dir: None },
            ..ScanOptions::default()
        };
        let out = scan(rules.clone(), &opts).expect("scanned");
        (out.incidents.into_vec().expect("read back"), out.stories)
    };
    // Not `Budget::unlimited()`: without a limit folds keep the records
    // that link incidents as marks, where under one they hand them on.
    let (want, want_stories) = scanned(Budget::default().bytes);
    assert!(want.len() > 100, "a storm: {} incidents", want.len());
    for bytes in [0, 256 << 10, 1 << 20, 3 << 20, 6 << 20] {
        let (got, stories) = scanned(bytes);
        assert!(got == want, "budget {bytes}: the incidents");
        assert_eq!(stories, want_stories, "budget {bytes}: the stories");
    }
}
