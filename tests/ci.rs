//! The CI gate and the rule tooling, through the real binary: `rules
//! check` on a broken pack (every problem, exactly located), `rules test`
//! passing and failing with its differences, `rules list` / `explain`, and
//! `scan --baseline`, `--since`/`--until`, `--app`, `--fail-on`.

use std::path::Path;

use crate::util::{Doc, brief, root, run, run_in, scan_json};

/// What `rules check` says of a rule without `action`, after its id.
const NO_ACTION: &str = "the default text view shows its whole `fix`; write the sentences that say what to do as \
                         `action` (the `fix` keeps the explanation)";

#[test]
fn rules_check_reports_every_problem_at_file_line_col() {
    let r = run(&["rules", "check", "fixtures/packs/broken"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    let p = "fixtures/packs/broken";
    // The regex error goes on with the regex crate's caret drawing; the
    // located lines are what editors and CI annotations read.
    let located: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with(p)).collect();
    let want = [
        format!("{p}/a-syntax.toml:3:22: invalid basic string, expected `\"`"),
        format!(
            "{p}/b-unknown-key.toml:7:1: unknown field `colour`, expected one of `id`, `title`, `description`, \
             `severity`, `streams`, `literals`, `regex`, `group_by`, `correlate`, `suppress`, `unless`, `context`, \
             `supersedes`, `fix`, `action`, `references`, `story`, `side`, `example`"
        ),
        format!(
            "{p}/c-semantic.toml:4:12: unknown severity \"urgent\": must be one of info, low, medium, high, critical"
        ),
        format!("{p}/c-semantic.toml:12:17: regex does not compile: unclosed group"),
        format!(
            "{p}/c-semantic.toml:20:55: bad window \"5 minutes\": write a whole number and a unit: \"1500ms\", \
             \"30s\", \"5m\", \"2h\" or \"1d\""
        ),
        format!(
            "{p}/c-semantic.toml:28:36: fix uses {{prot}}, which the regex does not capture; named groups: \
             [host, port], always available: [app, count, window, first_seen, last_seen, rule, file, key]"
        ),
        format!(
            "{p}/c-semantic.toml:30:1: duplicate rule id 'pm2.crash-loop' (first defined at builtin:pm2.toml:5); \
             rule ids must be unique across packs"
        ),
        // `unless` and `context` entries are checked like the rest of a rule.
        format!("{p}/d-context.toml:6:10: unless needs within = \"10s\": how soon after it a start event is excused"),
        format!(
            "{p}/d-context.toml:14:69: context key field \"pm_id\" is not captured by the context regex (named \
             groups: [app]); a key field must be in both events, or be `app`"
        ),
        format!("{p}/d-context.toml:22:72: context takes before or after, not both: write two entries"),
        format!("{p}/d-context.toml:30:86: since \"uptime\" would hide the field \"uptime\": choose another name"),
        format!(
            "{p}/d-context.toml:35:25: title uses {{owner}}, which the regex does not capture; named groups: \
             [script, team], always available: [app, count, window, first_seen, last_seen, rule, file, key]"
        ),
        format!(
            "{p}/e-context-unknown-key.toml:6:48: unknown field `befor`, expected one of `regex`, `before`, \
             `after`, `key`, `since`, `require`, `scope`, `for_regex`"
        ),
        format!(
            "{p}/c-semantic.toml:41:12: literals [\"ETIMEDOUT\"] are not required by regex \
             '(?:ECONNREFUSED|ETIMEDOUT) (?P<host>\\S+)': a record it matches may hold none of them, and the \
             prefilter would skip it. List strings every match contains, or drop `literals` to have them \
             extracted from the regex"
        ),
        format!("{p}/c-semantic.toml:37:1: warning: rule 'acme.literal' has no `action`: {NO_ACTION}"),
        format!("{p}/c-semantic.toml:45:1: warning: rule 'acme.no-literal' has no `action`: {NO_ACTION}"),
        format!(
            "{p}/c-semantic.toml:49:9: warning: rule 'acme.no-literal': its regex has no literal of 3 or more \
             bytes that every match contains, so it runs on every record (slow on large logs); anchor it on fixed \
             text such as an error code or message"
        ),
    ];
    assert_eq!(located, want);
    // The caret block goes under the located line, indented.
    assert!(r.stdout.contains("unclosed group\n    listen (?P<code>E[A-Z]+\n           ^\n"), "{}", r.stdout);
    assert!(r.stdout.ends_with("52 rule(s) compiled; 14 error(s), 3 warning(s)\n"), "{}", r.stdout);
    // scan refuses the same pack, lint error included, and runs nothing.
    let s = run(&["scan", "--rules", "fixtures/packs/broken/c-semantic.toml", "fixtures/pm2"]);
    assert_eq!(s.code, 2);
    assert!(s.stdout.is_empty());
    assert!(s.stderr.contains("c-semantic.toml:41:12: literals"), "{}", s.stderr);
}

#[test]
fn rules_check_passes_good_packs_and_names_unreadable_ones() {
    let r = run(&["rules", "check", "fixtures/packs/acme"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "52 rule(s) compiled; 0 error(s), 0 warning(s)\n"));
    let r = run(&["rules", "check", "--no-builtin-rules", "fixtures/packs/missing.toml", "fixtures/packs/acme"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout.starts_with("fixtures/packs/missing.toml: cannot read rule pack: No such file or directory"),
        "{}",
        r.stdout
    );
}

#[test]
fn rules_test_passes_a_user_pack() {
    // The built-in pack: tests/rule_fixtures.rs.
    let r = run(&["rules", "test", "fixtures/packs/acme", "--fixtures", "fixtures/packs/acme/fixtures"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            0,
            "ok       acme.bridge-stale-quotes (4 cases)\nok       acme.job-timeout (1 case)\n\
             2 rule(s): 2 passed, 0 failed, 0 untested\n"
        )
    );
}

#[test]
fn rules_test_shows_want_and_found_and_exits_1() {
    let dir = "fixtures/packs/acme-failing";
    let r = run(&["rules", "test", dir, "--fixtures", &format!("{dir}/fixtures")]);
    assert_eq!(r.code, 1);
    let want = format!(
        "FAIL     acme.disk-full
         {dir}/fixtures/acme.disk-full: no near-miss-*.log (a look-alike the rule must not fire on)
         {dir}/fixtures/acme.disk-full/fires-spool.log
           incident 0:
           - count = 2
           + count = 1
         example at {dir}/rules.toml:12
           - want 1 incident(s)
           + found 0
untested acme.untested: no {dir}/fixtures/acme.untested and no [[rule.example]]
orphan   {dir}/fixtures/acme.renamed: no rule has this id (renamed or removed?)
2 rule(s): 0 passed, 1 failed, 1 untested, 1 orphan fixture dir(s)
"
    );
    assert_eq!(r.stdout, want);
}

#[test]
fn rules_list_and_explain() {
    let r = run(&["rules", "list"]);
    assert_eq!(r.code, 0);
    let crash = r.stdout.lines().find(|l| l.starts_with("pm2.crash-loop ")).expect("listed");
    let cols: Vec<&str> = crash.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(cols, ["pm2.crash-loop", "critical", "daemon", "threshold: 3 within 5m"]);
    let j = run(&["rules", "list", "--format", "json", "--rules", "fixtures/packs/acme"]);
    let doc: serde_json::Value = serde_json::from_str(&j.stdout).expect("json");
    assert_eq!(doc["schema_version"], 1, "`rules list` has its own schema");
    let rules = doc["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), r.stdout.lines().count() + 2);
    let acme = rules.iter().find(|r| r["id"] == "acme.bridge-stale-quotes").expect("user rule listed");
    assert_eq!(acme["correlate"], "threshold");
    assert_eq!(acme["window"], "10m");
    assert_eq!(acme["group_by"], serde_json::json!(["app", "symbol"]));
    assert_eq!(acme["streams"], serde_json::json!(["out"]));

    let e = run(&["rules", "explain", "acme.bridge-stale-quotes", "--rules", "fixtures/packs/acme"]);
    assert_eq!(e.code, 0);
    for part in [
        "acme.bridge-stale-quotes  [medium]",
        "correlate threshold: 3 within 10m",
        "What it detects and why it matters\n  Our TWS bridge logs `stale quote SYMBOL age=N s`",
        "regex  stale quote (?P<symbol>[A-Z.]+) age=(?P<age_s>\\d+)s",
        "Check the market-data subscription of {symbol} in {app}",
        "Example as md-bridge-out.log (1 incident(s)):\n  2026-11-20T14:30:00: stale quote AAPL age=61s",
    ] {
        assert!(e.stdout.contains(part), "missing {part:?} in\n{}", e.stdout);
    }
    let bad = run(&["rules", "explain", "crash-loop"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("no rule 'crash-loop' (did you mean pm2.crash-loop?)"), "{}", bad.stderr);
}

/// Copies a fixture directory so a test can add to it.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").filter_map(Result::ok) {
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

fn doc_in(dir: &Path, args: &[&str]) -> (i32, Doc) {
    let r = run_in(dir, args, None);
    let doc = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stderr));
    (r.code, doc)
}

#[test]
fn baseline_reports_only_the_new_incident() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let logs = tmp.path().join("logs");
    copy_dir(&root().join("fixtures/pm2/daemon"), &logs);
    copy_dir(&root().join("fixtures/pm2/fork-time"), &logs);
    let (code, before) = doc_in(tmp.path(), &["scan", "--format", "json", "logs"]);
    assert_eq!(code, 1, "critical incidents fail the gate without a baseline");
    std::fs::write(tmp.path().join("baseline.json"), serde_json::to_string(&serde_json::json!({
        "schema_version": 1,
        "incidents": before.incidents.iter().map(|i| serde_json::json!({"rule": i.rule, "key": i.key})).collect::<Vec<_>>(),
    })).expect("json")).expect("write");
    // Same failures, later: counts and times change, keys do not.
    let (code, same) = doc_in(tmp.path(), &["scan", "--format", "json", "--baseline", "baseline.json", "logs"]);
    assert_eq!((code, same.incidents.len()), (0, 0));
    let known = same.summary.baseline.as_ref().expect("baseline stats");
    assert_eq!((known.file.as_str(), known.known), ("baseline.json", before.incidents.len()));
    // A new failure mode: web cannot bind its port.
    std::fs::write(
        logs.join("web-error.log"),
        "2026-11-21T08:00:01: Error: listen EADDRINUSE: address already in use :::3000\n\
         2026-11-21T08:00:01:     at Server.setupListenHandle [as _listen2] (node:net:1817:16)\n",
    )
    .expect("write");
    let (code, after) = doc_in(tmp.path(), &["scan", "--format", "json", "--baseline", "baseline.json", "logs"]);
    let b: Vec<String> = after.incidents.iter().map(brief).collect();
    assert_eq!(
        b,
        ["node.eaddrinuse high app=web count=1 2026-11-21T08:00:01Z..2026-11-21T08:00:01Z at web-error.log:1"]
    );
    assert_eq!(code, 1);
    assert_eq!(after.summary.incidents["high"], 1);
    assert_eq!(after.summary.baseline.as_ref().map(|b| b.known), Some(before.incidents.len()));
    // The full JSON of a previous run works as a baseline too (and NDJSON).
    let full = run_in(tmp.path(), &["scan", "--format", "ndjson", "logs"], None);
    std::fs::write(tmp.path().join("prev.ndjson"), &full.stdout).expect("write");
    let (code, none) = doc_in(tmp.path(), &["scan", "--format", "json", "--baseline", "prev.ndjson", "logs"]);
    assert_eq!((code, none.incidents.len()), (0, 0));
    // A baseline that is not logtriage output is an error naming it.
    std::fs::write(tmp.path().join("bad.json"), "{\"incidents\": 3}").expect("write");
    let r = run_in(tmp.path(), &["scan", "--baseline", "bad.json", "logs"], None);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("logtriage: baseline bad.json:1:"), "{}", r.stderr);
}

#[test]
fn time_range_and_app_filters() {
    let all = |doc: &Doc| {
        doc.incidents.iter().map(|i| format!("{} {}", i.rule, i.app.as_deref().unwrap_or("-"))).collect::<Vec<_>>()
    };
    let (_, night) = scan_json(
        &["fixtures/pm2"],
        &["--fail-on", "never", "--since", "2026-11-20T23:00:00Z", "--until", "2026-11-21T00:00:00Z"],
    );
    // The disconnect at 23:47:30 stays unrecovered within its window; the
    // untimed files cannot be placed, are kept, and a note says so.
    let untimed = [
        "pm2.crash-loop telegram-bot",
        "node.unhandled-rejection telegram-bot",
        "tws.data-lost md-bridge",
        "tws.connectivity-restored md-bridge",
    ];
    assert_eq!(
        all(&night),
        [
            "pm2.crash-loop telegram-bot",
            "tws.connectivity-lost tws-bridge",
            "node.unhandled-rejection telegram-bot",
            "tws.data-lost md-bridge",
            "tws.connectivity-restored md-bridge",
        ]
    );
    assert!(
        night.summary.notes.iter().any(|n| n.contains("have no timestamp, so --since/--until could not place them"))
    );
    // --untimed drop: a cron job's range no longer re-reports them.
    let (_, dropped) = scan_json(
        &["fixtures/pm2"],
        &[
            "--fail-on",
            "never",
            "--since",
            "2026-11-20T23:00:00Z",
            "--until",
            "2026-11-21T00:00:00Z",
            "--untimed",
            "drop",
        ],
    );
    assert_eq!(all(&dropped), ["tws.connectivity-lost tws-bridge"]);
    assert!(
        dropped.summary.notes.iter().any(|n| n.starts_with("--untimed drop left out ")),
        "{:?}",
        dropped.summary.notes
    );
    // Alone, --untimed drop leaves out exactly the untimed files' incidents.
    let (_, whole) = scan_json(&["fixtures/pm2"], &["--fail-on", "never"]);
    let (_, timed) = scan_json(&["fixtures/pm2"], &["--fail-on", "never", "--untimed", "drop"]);
    let mut rest = all(&whole);
    rest.retain(|i| !untimed.contains(&i.as_str()));
    assert_eq!(all(&timed), rest);
    assert_eq!(run(&["scan", "--untimed", "sometimes", "fixtures/pm2"]).code, 2);
    let (_, bridge) = scan_json(&["fixtures/pm2"], &["--fail-on", "never", "--app", "tws-bridge"]);
    assert!(!bridge.incidents.is_empty());
    assert!(bridge.incidents.iter().all(|i| i.app.as_deref() == Some("tws-bridge")));
    // pm2's kill-timeout line names only a pid; its incident is still kept.
    assert!(bridge.incidents.iter().any(|i| i.rule == "pm2.kill-timeout"));
    assert!(bridge.summary.files.iter().all(|f| f.app.as_deref().is_none_or(|a| a == "tws-bridge")));
    // An age: every fixture is older than a minute.
    let (_, recent) = scan_json(&["fixtures/pm2/fork-time"], &["--fail-on", "never", "--since", "1m"]);
    assert!(recent.incidents.is_empty());
    let r = run(&["scan", "--since", "2026-11-21T00:00:00Z", "--until", "2026-11-20T00:00:00Z", "fixtures/pm2"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--since must be before --until"), "{}", r.stderr);
    assert_eq!(run(&["scan", "--since", "yesterday", "fixtures/pm2"]).code, 2);
}

#[test]
fn fail_on_sets_the_gate() {
    // fork-time holds high incidents but nothing critical.
    assert_eq!(run(&["scan", "--fail-on", "critical", "fixtures/pm2/fork-time"]).code, 0);
    assert_eq!(run(&["scan", "--fail-on", "high", "fixtures/pm2/fork-time"]).code, 1);
    assert_eq!(run(&["scan", "--fail-on", "never", "fixtures/pm2"]).code, 0);
    assert_eq!(run(&["scan", "--fail-on", "severe", "fixtures/pm2"]).code, 2);
}

/// The rule in the README's "Rule format" section is a pack that loads and
/// whose example passes: documentation that cannot drift.
#[test]
fn readme_rule_format_example_is_a_valid_pack() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let section = readme.split("## Rule format").nth(1).expect("Rule format section");
    let block = section.split("```toml\n").nth(1).and_then(|b| b.split("\n```").next()).expect("toml block");
    let tmp = tempfile::tempdir().expect("tempdir");
    // Its id is a built-in one; rename it so both can load.
    std::fs::write(tmp.path().join("readme.toml"), block.replace("\"pm2.crash-loop\"", "\"readme.crash-loop\""))
        .expect("write");
    let check = run_in(tmp.path(), &["rules", "check", "readme.toml"], None);
    assert_eq!(check.code, 0, "{}", check.stdout);
    let test = run_in(tmp.path(), &["rules", "test", "readme.toml"], None);
    assert_eq!(
        (test.code, test.stdout.as_str()),
        (0, "ok       readme.crash-loop (1 case)\n1 rule(s): 1 passed, 0 failed, 0 untested\n")
    );
}
