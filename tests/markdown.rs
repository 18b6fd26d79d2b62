//! `--format markdown` on the shipped fixtures: the structure a GitHub step
//! summary relies on, checked against the JSON run of the same input.

use crate::util::{Doc, mask_elapsed, run, run_in, scan_json};

/// The heading the JSON run's counts call for.
fn expected_heading(doc: &Doc) -> String {
    let by_sev: Vec<String> = ["critical", "high", "medium", "low", "info"]
        .iter()
        .filter_map(|s| doc.summary.incidents.get(*s).filter(|n| **n > 0).map(|n| format!("{n} {s}")))
        .collect();
    let total: usize = doc.summary.incidents.values().sum();
    assert_eq!(total, doc.incidents.len());
    format!("## logtriage: {total} incidents ({})", by_sev.join(", "))
}

/// Opened fences (each closed by a fence at least as long, as CommonMark
/// reads them); panics on one left open.
fn balanced_fences(md: &str) -> usize {
    let mut open: Option<usize> = None;
    let mut count = 0;
    for line in md.lines() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match open {
            None if ticks >= 3 => {
                open = Some(ticks);
                count += 1;
            }
            Some(n) if ticks >= n && line.trim_end().len() == ticks => open = None,
            _ => {}
        }
    }
    assert_eq!(open, None, "a fence is never closed");
    count
}

#[test]
fn markdown_has_a_row_and_a_section_per_incident() {
    let (_, doc) = scan_json(&["fixtures/pm2"], &["--fail-on", "never"]);
    let r = run(&["scan", "--format", "markdown", "--fail-on", "never", "fixtures/pm2"]);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    let md = &r.stdout;
    assert_eq!(md.lines().next(), Some(expected_heading(&doc).as_str()));

    let rows: Vec<&str> =
        md.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| Severity") && !l.starts_with("| ---")).collect();
    let sections: Vec<&str> = md.lines().filter(|l| l.starts_with("### <a id=")).collect();
    // Stories come first, each a section naming its incidents, linked.
    let stories: Vec<&str> = md.lines().filter(|l| l.starts_with("### ") && !l.starts_with("### <a id=")).collect();
    assert_eq!(stories.len(), doc.stories.len());
    for (line, s) in stories.iter().zip(&doc.stories) {
        assert!(line.starts_with(&format!("### {} ", s.severity.to_uppercase())), "{line}");
        for id in &s.incidents {
            assert!(md.contains(&format!("](#incident-{id})\n")), "story {} links {id}", s.id);
        }
    }
    assert!(md.find(stories[0]) < md.find("| Severity"), "stories before the table");
    assert_eq!(rows.len(), doc.incidents.len());
    assert_eq!(sections.len(), doc.incidents.len());
    for ((row, section), i) in rows.iter().zip(&sections).zip(&doc.incidents) {
        assert!(row.starts_with(&format!("| {} | `{}` |", i.severity, i.rule)), "{row}");
        assert!(row.ends_with(&format!("](#incident-{}) |", i.id)), "{row}");
        let upper = i.severity.to_uppercase();
        assert!(section.starts_with(&format!("### <a id=\"incident-{}\"></a>{upper} `{}`", i.id, i.rule)), "{section}");
    }

    let records: usize = doc.incidents.iter().map(|i| i.evidence.len()).sum();
    assert_eq!(balanced_fences(md), records);
    assert_eq!(md.matches("<details><summary>Evidence (").count(), doc.incidents.len());
    assert_eq!(md.matches("\n</details>\n").count(), doc.incidents.len());
    assert!(!md.contains("1 MiB limit"), "the fixtures are far below the caps");
    let totals = md.lines().last().unwrap_or_default();
    let files = doc.summary.files.len();
    assert!(totals.contains(&format!("from {files} files ({} bytes", doc.summary.bytes)), "{totals}");
}

#[test]
fn markdown_exit_code_and_bytes_do_not_depend_on_threads() {
    let one = run(&["scan", "--threads", "1", "--format", "markdown", "fixtures/pm2"]);
    let four = run(&["scan", "--threads", "4", "--format", "markdown", "fixtures/pm2"]);
    // Incidents at or above the default `--fail-on high` exist.
    assert_eq!((one.code, four.code), (1, 1));
    assert_eq!(mask_elapsed(&one.stdout), mask_elapsed(&four.stdout));
}

#[test]
fn markdown_without_incidents_is_the_heading_and_the_totals() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("api-out.log"), "2026-11-20T10:00:00: listening on 3000\n").expect("write log");
    let r = run_in(dir.path(), &["scan", "--format", "markdown", "."], None);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert!(r.stdout.starts_with("## logtriage: no incidents\n\n---\n\n"), "{}", r.stdout);
    assert!(!r.stdout.contains("| Severity |"));
    assert!(r.stdout.ends_with(" ms\n"));
}
