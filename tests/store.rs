//! Incidents past the memory budget (`--memory-budget`, `--spill-dir`):
//! the report is the same bytes whether they were held or written to the
//! temporary file and read back, in every format, on every fixture
//! directory; the file is gone after the run; a spill directory that
//! cannot be written is an error naming it, and a scan under the budget
//! never touches it.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use logtriage::report::{self, Endings, Format, ReportOptions};
use logtriage::rules::{LoadOptions, RuleSet, load};
use logtriage::scan::{self, ScanOptions};
use logtriage::spill::Budget;

use crate::util::{mask_elapsed, root, run};

/// Every directory of logs the tests scan: each directory under
/// `fixtures/` and each one under those (a recording, an excerpt, a
/// rule's fixtures).
fn fixture_dirs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let subdirs = |dir: &Path| -> Vec<PathBuf> {
        let mut d: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect())
            .unwrap_or_default();
        d.sort();
        d
    };
    for top in subdirs(&root().join("fixtures")) {
        out.extend(subdirs(&top));
        out.push(top);
    }
    out
}

fn every_format() -> [(Format, ReportOptions); 7] {
    let endings = Endings::of(&rules());
    [
        (Format::Text, ReportOptions { unknown: 10, ..ReportOptions::default() }),
        (Format::Text, ReportOptions { details: true, unknown: 10, ..ReportOptions::default() }),
        (Format::Json, ReportOptions::default()),
        (Format::Ndjson, ReportOptions::default()),
        (Format::Markdown, ReportOptions { unknown: 10, ..ReportOptions::default() }),
        (
            Format::Alertmanager,
            ReportOptions { instance: Some("host".into()), endings: endings.clone(), ..ReportOptions::default() },
        ),
        (Format::Html, ReportOptions { endings, ..ReportOptions::default() }),
    ]
}

fn rules() -> RuleSet {
    load(&LoadOptions { builtin: true, paths: vec![] }).expect("built-in rules")
}

/// The report of `out` in `format`, its run time masked.
fn report(out: &scan::ScanOutput, format: Format, opts: ReportOptions) -> io::Result<String> {
    let mut bytes = Vec::new();
    {
        let mut r = report::reporter(format, Box::new(&mut bytes), opts);
        report::emit(r.as_mut(), out)?;
    }
    Ok(mask_elapsed(&String::from_utf8_lossy(&bytes)))
}

fn scan_dir(rules: &Arc<RuleSet>, dir: &Path, budget: Budget) -> Option<scan::ScanOutput> {
    let opts = ScanOptions {
        paths: vec![dir.to_string_lossy().into_owned()],
        threads: Some(1),
        mine: Some(logtriage::mine::MineOptions { mode: logtriage::mine::Mode::Errors, log: false }),
        budget,
        ..ScanOptions::default()
    };
    scan::scan(rules.clone(), &opts).ok()
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false)
}

/// The oracle: every fixture directory, every format, held (the default
/// budget) against all spilled (a budget of 0), byte for byte; the forced
/// run did write every incident to the file, and nothing is left in the
/// spill directory after either run.
#[test]
fn a_forced_spill_gives_the_same_bytes_in_every_format_on_every_fixture() {
    let rules = Arc::new(rules());
    let spill = tempfile::tempdir().expect("tempdir");
    let (mut dirs, mut spilled) = (0, 0);
    for dir in fixture_dirs() {
        let Some(held) = scan_dir(&rules, &dir, Budget::default()) else { continue };
        let forced = Budget { bytes: 0, dir: Some(spill.path().to_path_buf()) };
        let Some(out) = scan_dir(&rules, &dir, forced) else { panic!("{}: fails only when spilled", dir.display()) };
        assert_eq!(held.incidents.spilled(), 0, "{}: the default budget holds every fixture", dir.display());
        assert_eq!(out.incidents.spilled(), out.incidents.len(), "{}", dir.display());
        for (format, opts) in every_format() {
            let a = report(&held, format, opts.clone()).expect("report");
            let b = report(&out, format, opts).expect("report of the spilled");
            assert!(a == b, "{} --format {format:?}: spilled differs from held", dir.display());
        }
        dirs += 1;
        spilled += out.incidents.len();
        drop(out);
        assert!(is_empty(spill.path()), "{}: the temporary file is left behind", dir.display());
    }
    assert!(dirs > 100 && spilled > 500, "{dirs} directories, {spilled} incidents");
}

/// A report that fails half way (the reader went away) leaves no file
/// behind either.
#[test]
fn a_failed_report_leaves_no_temporary_file() {
    struct Broken;
    impl io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let rules = Arc::new(rules());
    let spill = tempfile::tempdir().expect("tempdir");
    let budget = Budget { bytes: 0, dir: Some(spill.path().to_path_buf()) };
    let out = scan_dir(&rules, &root().join("fixtures/pm2"), budget).expect("scan");
    assert!(out.incidents.spilled() > 10);
    let mut r = report::reporter(Format::Json, Box::new(Broken), ReportOptions::default());
    assert!(report::emit(r.as_mut(), &out).is_err());
    drop(r);
    drop(out);
    assert!(is_empty(spill.path()));
}

/// The binary's flags: `--memory-budget 0` with `--spill-dir` gives the
/// bytes of the default run in every format and leaves the directory
/// empty.
#[test]
fn the_memory_budget_flag_changes_no_byte() {
    let spill = tempfile::tempdir().expect("tempdir");
    let dir = spill.path().to_string_lossy().into_owned();
    for format in ["text", "json", "ndjson", "markdown", "html"] {
        let held = run(&["scan", "fixtures/pm2", "--format", format]);
        let spilled = run(&["scan", "fixtures/pm2", "--format", format, "--memory-budget", "0", "--spill-dir", &dir]);
        assert_eq!(held.code, 1, "{format}: {}", held.stderr);
        assert_eq!((spilled.code, &spilled.stderr), (held.code, &held.stderr), "{format}");
        assert!(mask_elapsed(&held.stdout) == mask_elapsed(&spilled.stdout), "{format}: spilled differs from held");
    }
    assert!(is_empty(spill.path()));
    let bad = run(&["scan", "fixtures/pm2", "--memory-budget", "12 parsecs"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

/// A spill directory that cannot be written: past the budget the scan
/// stops with an error naming it and what to do; under the budget it is
/// never touched, so the same directory is no error.
#[test]
fn an_unwritable_spill_dir_is_a_clear_error_only_past_the_budget() {
    let gone = tempfile::tempdir().expect("tempdir");
    let missing = gone.path().join("no-such-dir");
    let path = missing.to_string_lossy().into_owned();
    let past = run(&["scan", "fixtures/pm2", "--memory-budget", "0", "--spill-dir", &path]);
    assert_eq!(past.code, 2, "{}", past.stderr);
    for says in [path.as_str(), "temporary file", "--spill-dir", "--memory-budget"] {
        assert!(past.stderr.contains(says), "says {says:?}: {}", past.stderr);
    }
    assert!(past.stdout.is_empty(), "no half report: {}", past.stdout);
    let under = run(&["scan", "fixtures/pm2", "--spill-dir", &path]);
    assert_eq!(under.code, 1, "{}", under.stderr);
    assert!(!missing.exists());
}
