//! Events past `--memory-budget` spill to a temporary file and are read
//! back (issue 18): `--memory-budget 0` spills every event, and the old,
//! in-memory path is the oracle, byte for byte.

use std::path::{Path, PathBuf};

use crate::util::{mask_elapsed, root, run};

/// Every fixture directory that holds a log, relative to the root.
fn log_dirs() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        entries.sort();
        if entries.iter().any(|p| p.extension().is_some_and(|x| x == "log")) {
            out.push(dir.to_path_buf());
        }
        for sub in entries.iter().filter(|p| p.is_dir()) {
            walk(sub, out);
        }
    }
    let mut dirs = Vec::new();
    walk(&root().join("fixtures"), &mut dirs);
    dirs.iter().filter_map(|d| Some(d.strip_prefix(root()).ok()?.display().to_string())).collect()
}

/// Every fixture directory gives the same JSON with every event spilled
/// as held (the spilled path reads its lists back in a fixed order
/// whatever the pool).
#[test]
fn a_forced_spill_gives_the_same_bytes_on_every_fixture_directory() {
    let dirs = log_dirs();
    assert!(dirs.len() > 100, "{} directories", dirs.len());
    let mut differ = Vec::new();
    // One spilled run per directory (the suite runs on two busy cores),
    // on one worker and on two in turn.
    for (dir, threads) in dirs.iter().zip(["1", "2"].into_iter().cycle()) {
        let held = run(&["scan", "--format", "json", "--threads", "1", dir]);
        let spilled = run(&["scan", "--format", "json", "--threads", threads, "--memory-budget", "0", dir]);
        assert_eq!(spilled.stderr, held.stderr, "{dir}");
        if (held.code, mask_elapsed(&held.stdout)) != (spilled.code, mask_elapsed(&spilled.stdout)) {
            differ.push(format!("{dir} (threads {threads})"));
        }
    }
    assert!(differ.is_empty(), "spilled output differs: {differ:?}");
}

/// The text and Markdown reports, and the filters the hand-off applies as
/// events spill (`--since`, `--untimed drop`, `--app`), give the same
/// bytes too.
#[test]
fn a_forced_spill_keeps_every_format_and_filter() {
    let cases: [&[&str]; 6] = [
        &["--format", "text"],
        &["--format", "markdown"],
        &["--format", "json", "--since", "2026-11-20T10:00:00Z"],
        &["--format", "json", "--until", "2026-11-20T10:00:00Z", "--untimed", "drop"],
        &["--format", "json", "--since", "2026-11-20T09:00:00Z", "--untimed", "keep"],
        &["--format", "json", "--app", "api"],
    ];
    for dir in ["fixtures/pm2", "fixtures/recorded/tws-stoqey-farm-flap", "fixtures/times"] {
        for case in cases {
            let mut args = vec!["scan", "--threads", "2"];
            args.extend_from_slice(case);
            args.push(dir);
            let held = run(&args);
            args.extend_from_slice(&["--memory-budget", "0"]);
            let spilled = run(&args);
            assert_eq!(spilled.code, held.code, "{dir} {case:?}: {}", spilled.stderr);
            assert_eq!(mask_elapsed(&spilled.stdout), mask_elapsed(&held.stdout), "{dir} {case:?}");
            assert_eq!(spilled.stderr, held.stderr, "{dir} {case:?}");
        }
    }
}

/// A spill directory that cannot hold the file stops the scan with an
/// input error naming the directory and what to do; a scan that spilled
/// leaves nothing in its directory.
#[test]
fn the_spill_dir_is_named_when_it_fails_and_left_empty() {
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("missing");
    let missing_s = missing.display().to_string();
    let r = run(&["scan", "--memory-budget", "0", "--spill-dir", &missing_s, "fixtures/pm2"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "no report: {}", r.stdout);
    for says in [missing_s.as_str(), "--spill-dir", "--memory-budget"] {
        assert!(r.stderr.contains(says), "{says}: {}", r.stderr);
    }
    let used = dir.path().display().to_string();
    let spilled = run(&["scan", "--memory-budget", "0", "--spill-dir", &used, "fixtures/pm2"]);
    let held = run(&["scan", "fixtures/pm2"]);
    assert_eq!((spilled.code, mask_elapsed(&spilled.stdout)), (held.code, mask_elapsed(&held.stdout)));
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("list").filter_map(|e| e.ok()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // Under the budget (the default) nothing is written at all: a
    // directory that does not exist is never tried.
    let under = run(&["scan", "--spill-dir", &missing_s, "fixtures/pm2"]);
    assert_eq!((under.code, mask_elapsed(&under.stdout)), (held.code, mask_elapsed(&held.stdout)));
}

/// The marks each incident keeps (where its records are, for the stories
/// and the HTML ticks; not in the JSON) are the same whether its events
/// spilled or were held: the spilled path bounds them as the held one
/// does, from the restart groups' exits and the records that made more
/// than one event. Every fixture directory, every event (and so every
/// incident: one budget) spilled, with several that keep fewer marks than
/// events.
#[test]
fn a_forced_spill_keeps_the_marks_held_incidents_keep() {
    use std::sync::Arc;

    use logtriage::rules::{LoadOptions, load};
    use logtriage::scan::{self, ScanOptions};

    let rules = Arc::new(load(&LoadOptions { builtin: true, paths: vec![] }).expect("built-in rules"));
    let marks = |dir: &str, bytes: u64| {
        let opts = ScanOptions {
            paths: vec![root().join(dir).to_string_lossy().into_owned()],
            threads: Some(1),
            budget: logtriage::spill::Budget { bytes, dir: None },
            ..ScanOptions::default()
        };
        let out = scan::scan(rules.clone(), &opts).ok()?;
        let incidents = out.incidents.into_vec().expect("read back");
        Some(incidents.into_iter().map(|i| (i.id.clone(), i.count, i.marks.to_vec())).collect::<Vec<_>>())
    };
    let (mut dirs, mut bounded) = (0, 0);
    for dir in log_dirs() {
        // The default budget, not none: without a limit folds keep the
        // records that link incidents as marks, with one they hand them
        // on, held or spilled alike.
        let Some(held) = marks(&dir, logtriage::spill::Budget::default().bytes) else { continue };
        let spilled = marks(&dir, 0).unwrap_or_else(|| panic!("{dir}: fails only when spilled"));
        assert!(spilled == held, "{dir}: the spilled incidents' marks differ from the held ones'");
        dirs += 1;
        bounded += held.iter().filter(|(_, count, marks)| marks.len() < *count).count();
    }
    assert!(dirs > 100 && bounded > 20, "{dirs} directories, {bounded} incidents with marks let go");
}
