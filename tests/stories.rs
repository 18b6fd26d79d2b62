//! Stories (issue 14): incidents folded into the few things that are
//! wrong, each with its probable cause, in every format; against the
//! recorded lab scenarios and logs written here.

use std::path::Path;

use crate::util::{Doc, Story, root, run, run_in, scan_json};

/// The JSON document of a scan run in `dir`.
fn doc_in(dir: &Path, args: &[&str]) -> Doc {
    let mut all = vec!["scan", "--format", "json", "--fail-on", "never"];
    all.extend_from_slice(args);
    let r = run_in(dir, &all, None);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stderr))
}

/// A recorded scenario, scanned as its expect.toml says.
fn recorded(name: &str) -> Doc {
    let dir = root().join("fixtures/recorded").join(name);
    let text = std::fs::read_to_string(dir.join("expect.toml")).expect("expect.toml");
    let expect: toml::Value = toml::from_str(&text).expect("toml");
    let list = |key: &str| -> Vec<String> {
        expect
            .get(key)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .map(String::from)
            .collect()
    };
    let (paths, args) = (list("paths"), list("args"));
    let all: Vec<&str> = args.iter().chain(&paths).map(String::as_str).collect();
    doc_in(&dir, &all)
}

fn restart_story<'a>(doc: &'a Doc, app: &str) -> &'a Story {
    doc.stories
        .iter()
        .find(|s| s.kind == "restart" && s.apps.iter().any(|a| a == app))
        .unwrap_or_else(|| panic!("no restart story of {app}: {:#?}", doc.stories))
}

/// Every crash loop whose app wrote an error before each exit names that
/// error, how often, and where it was first written. A rule matched each of
/// the recorded ones: that incident is the cause, and leads its story.
#[test]
fn a_crash_loop_names_the_error_written_before_each_exit() {
    for (scenario, app, rule, text, count, file) in [
        (
            "crash-loop-fork-time",
            "api",
            "node.uncaught-exception",
            "Error: DATABASE_URL is not set: refusing to start",
            16,
            "logs/api-error.log",
        ),
        (
            "slow-crash-loop",
            "worker",
            "node.uncaught-exception",
            "SyntaxError: Unexpected end of JSON input",
            11,
            "logs/worker-error.log",
        ),
        ("eaddrinuse", "web", "node.eaddrinuse", "port 18085 is already in use", 5, "logs/web-error.log"),
        // No times in the app's log: its uncaught exceptions precede the
        // exits by definition (count: the incident's records).
        (
            "crash-loop-sre-layout",
            "api",
            "node.uncaught-exception",
            "Error: DATABASE_URL is not set",
            3,
            "logs/pm2-error.log",
        ),
        // The untimed heap OOM explains the SIGABRT restart.
        ("heap-oom", "cache", "node.heap-oom", "V8 ran out of heap", 1, "logs/cache-error.log"),
    ] {
        let doc = recorded(scenario);
        let story = restart_story(&doc, app);
        let cause = story.cause.as_ref().unwrap_or_else(|| panic!("{scenario}: no cause"));
        let lead = doc.incidents.iter().find(|i| Some(&i.id) == cause.incident.as_ref()).expect("cause incident");
        assert_eq!((lead.rule.as_str(), story.incidents[0].as_str()), (rule, lead.id.as_str()), "{scenario}");
        assert!(cause.text.contains(text), "{scenario}: {}", cause.text);
        assert_eq!((cause.count, cause.file.as_str()), (count, file), "{scenario}");
    }
    // A saved `pm2 logs` capture: every app in one file.
    let (_, doc) = scan_json(&["fixtures/pm2/pm2-logs-capture"], &["--fail-on", "never"]);
    let cause = restart_story(&doc, "tws-bridge").cause.as_ref().expect("cause");
    assert!(cause.text.ends_with("Error: connect ECONNREFUSED 127.0.0.1:4002"), "{}", cause.text);
    assert_eq!((cause.line, cause.count), (20, 2));
}

/// An error no rule knows: the shape of the records written just before
/// the exits (paths and numbers masked, Node's warnings passed over), its
/// first place and how many.
#[test]
fn an_error_no_rule_knows_is_named_by_its_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut pm2, mut err) = (String::new(), String::new());
    for i in 0..4 {
        let (up, down) = (2 * i, 2 * i + 1);
        pm2 += &format!("2026-11-20T10:00:0{up}: PM2 log: App [api:0] online\n");
        pm2 += &format!("2026-11-20T10:00:0{down}: PM2 log: App [api:0] exited with code [1] via signal [SIGINT]\n");
        err += &format!("2026-11-20T10:00:0{up}: (node:1{i}) [DEP0040] DeprecationWarning: punycode is deprecated.\n");
        err += &format!("2026-11-20T10:00:0{down}: config /etc/api/{i}.yml is unreadable: refusing to start\n");
    }
    // Before the first exit's window: not a cause.
    err = format!("2026-11-20T09:00:00: config /etc/api/x.yml is unreadable: refusing to start\n{err}");
    std::fs::write(dir.path().join("pm2.log"), pm2).expect("write");
    std::fs::write(dir.path().join("api-error.log"), err).expect("write");
    let doc = doc_in(dir.path(), &["."]);
    let cause = restart_story(&doc, "api").cause.clone().expect("cause");
    assert_eq!(
        (cause.text.as_str(), cause.file.as_str(), cause.line, cause.count, cause.incident),
        ("config /etc/api/0.yml is unreadable: refusing to start", "./api-error.log", 3, 4, None)
    );
}

/// `pm2 restart` / `reload`: the exits follow `Stopping app:`; nothing is
/// wrong and no story says otherwise.
#[test]
fn a_deliberate_restart_is_never_a_story() {
    let doc = recorded("cluster-restart-reload");
    assert!(doc.stories.is_empty() && doc.incidents.is_empty(), "{:#?}", doc.stories);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = String::new();
    for n in 0..5 {
        log += &format!(
            "2026-11-20T10:0{n}:00: PM2 log: Stopping app:api id:0\n\
             2026-11-20T10:0{n}:00: PM2 log: App [api:0] exited with code [0] via signal [SIGINT]\n\
             2026-11-20T10:0{n}:01: PM2 log: App [api:0] online\n"
        );
    }
    std::fs::write(dir.path().join("pm2.log"), log).expect("write");
    std::fs::write(dir.path().join("api-error.log"), "2026-11-20T10:00:00: Error: shutting down on SIGINT\n")
        .expect("write");
    let doc = doc_in(dir.path(), &["."]);
    assert!(doc.stories.is_empty(), "{:#?}", doc.stories);
}

/// Redis down for two apps at once, and again an hour later: one story
/// naming both apps; its incidents each point back at it.
#[test]
fn a_shared_dependency_outage_is_one_story_listing_each_app() {
    let dir = tempfile::tempdir().expect("tempdir");
    let refused = |t: &str| format!("{t}: Error: connect ECONNREFUSED 127.0.0.1:6379\n");
    std::fs::write(dir.path().join("api-error.log"), refused("2026-11-20T10:00:05") + &refused("2026-11-20T11:00:00"))
        .expect("write");
    std::fs::write(dir.path().join("worker-error.log"), refused("2026-11-20T10:02:40")).expect("write");
    std::fs::write(dir.path().join("web-out.log"), "2026-11-20T10:01:00: listening on :3000\n").expect("write");
    let doc = doc_in(dir.path(), &["."]);
    assert_eq!(doc.stories.len(), 1, "{:#?}", doc.stories);
    let story = &doc.stories[0];
    assert_eq!((story.kind.as_str(), story.apps.clone()), ("dependency:redis", vec!["api".into(), "worker".into()]));
    assert_eq!(story.incidents.len(), doc.incidents.len());
    assert!(doc.incidents.iter().all(|i| i.story.as_ref() == Some(&story.id)));
    // Two outages far apart are two stories, unless one rule and key
    // repeats (the api's second outage is a repeat of its first).
    std::fs::write(dir.path().join("worker-error.log"), refused("2026-11-20T18:00:00")).expect("write");
    let apart = doc_in(dir.path(), &["."]);
    assert_eq!(apart.stories.len(), 2, "{:#?}", apart.stories);
}

/// One record firing two rules (an unhandled rejection whose reason is a
/// PostgreSQL error) feeds one story, not two headlines.
#[test]
fn one_record_feeds_one_story() {
    let (_, doc) = scan_json(&["fixtures/pm2"], &["--fail-on", "never"]);
    let story_of = |rule: &str| {
        doc.incidents.iter().find(|i| i.rule == rule && i.app.as_deref() == Some("api")).and_then(|i| i.story.clone())
    };
    let pg = story_of("postgres.connection-lost");
    assert!(pg.is_some());
    assert_eq!(pg, story_of("node.unhandled-rejection"));
}

/// The text report of the shipped fixture tree: one line per story first
/// (every headline within the first 25 lines), then a short block per
/// story; `--details` brings back every incident's full block.
#[test]
fn every_story_headline_is_on_the_first_screen() {
    let (_, doc) = scan_json(&["fixtures/pm2"], &[]);
    let text = run(&["scan", "fixtures/pm2"]).stdout;
    let first: Vec<&str> = text.lines().take(25).collect();
    for s in &doc.stories {
        assert!(first.iter().any(|l| l.contains(&s.headline)), "{} not in the first 25 lines:\n{text}", s.headline);
    }
    assert!(first[0].starts_with("[CRITICAL] tws-bridge  "), "{}", first[0]);
    assert!(
        first[0].ends_with(
            "  ← cause: tws-bridge: uncaught exception crashed the process: Error: connect ECONNREFUSED 127.0.0.1:4002"
        ),
        "{}",
        first[0]
    );
    // Each story block says its incidents once; no incident block repeats them.
    assert_eq!(text.matches("\n  id        ").count(), 0);
    assert_eq!(text.matches("\n  story     ").count(), doc.stories.len());
    let details = run(&["scan", "--details", "fixtures/pm2"]).stdout;
    assert_eq!(details.matches("\n  id        ").count(), doc.incidents.len());
    // The totals line says how long the run took: compare the rest.
    let short = run(&["scan", "-v", "fixtures/pm2"]).stdout;
    let without_totals = |t: &str| t.lines().filter(|l| !l.contains(" ms")).collect::<Vec<_>>().join("\n");
    assert_eq!(without_totals(&short), without_totals(&details));
}

/// Alertmanager: every alert carries its story, so `group_by: [story]`
/// sends one notification per story.
#[test]
fn alerts_carry_their_story() {
    let (_, doc) = scan_json(&["fixtures/pm2"], &[]);
    let r = run(&["scan", "--format", "alertmanager", "--instance", "h", "fixtures/pm2"]);
    let alerts: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).expect("alerts");
    assert_eq!(alerts.len(), doc.incidents.len());
    for (a, i) in alerts.iter().zip(&doc.incidents) {
        assert_eq!(a["labels"]["story"].as_str(), i.story.as_deref(), "{a}");
    }
}

/// A farm that breaks all day is one story: its headline says how many
/// times, and its block lists a screenful of them (Markdown a few more).
#[test]
fn repeats_are_one_story_of_one_screen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pack = r#"
[[rule]]
id = "acme.feed-stalled"
title = "{app}: feed {feed} stalled"
severity = "medium"
regex = 'feed (?P<feed>\w+) stalled'
group_by = ["app", "feed"]
suppress = "1m"
fix = "Restart feed {feed}."
"#;
    std::fs::write(dir.path().join("pack.toml"), pack).expect("write");
    let log: String =
        (0..12).map(|n| format!("2026-11-20T1{}:{:02}:00: feed quotes stalled\n", n / 6, n % 6 * 10)).collect();
    std::fs::write(dir.path().join("md-out.log"), log).expect("write");
    let args = ["--no-builtin-rules", "--rules", "pack.toml", "md-out.log"];
    let doc = doc_in(dir.path(), &args);
    assert_eq!((doc.incidents.len(), doc.stories.len()), (12, 1));
    assert!(doc.stories[0].headline.starts_with("md: feed quotes stalled; 12 times"), "{}", doc.stories[0].headline);
    let text = run_in(dir.path(), &[&["scan", "--fail-on", "never"][..], &args].concat(), None).stdout;
    assert_eq!(text.matches("\n    medium   acme.feed-stalled").count(), 8, "{text}");
    assert!(text.contains("\n    … and 4 more (`--details` shows every incident)\n"), "{text}");
}

/// Each rule's `story` key, from the shipped packs.
fn families() -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(root().join("rules")).expect("rules/") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("pack");
        let pack: toml::Value = toml::from_str(&text).expect("toml");
        for rule in pack.get("rule").and_then(|r| r.as_array()).into_iter().flatten() {
            if let (Some(id), Some(story)) = (rule.get("id"), rule.get("story")) {
                out.insert(id.as_str().unwrap_or_default().to_string(), story.as_str().unwrap_or_default().to_string());
            }
        }
    }
    out
}

fn ms(t: &Option<String>) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(t.as_deref()?).ok().map(|d| d.timestamp_millis())
}

/// The story rules held over every recorded scenario (real software's
/// logs, not hand fixtures): each incident is in the one story that lists
/// it; every crash loop names a rule-matched cause written by its own app
/// (all the recorded loops wrote one before each exit); a recording with no
/// restart expected (a deliberate `pm2 restart` / `reload`, a dependency
/// outage the app rode out) has no restart story; and the incidents of one
/// dependency that come within 5 minutes of each other are one story, and
/// so are one app's incidents of one dependency in a log without times.
#[test]
fn recorded_scenarios_keep_the_story_rules() {
    let families = families();
    let mut loops = 0;
    for entry in std::fs::read_dir(root().join("fixtures/recorded")).expect("recorded") {
        let name = entry.expect("entry").file_name().to_string_lossy().to_string();
        let expect: toml::Value = toml::from_str(
            &std::fs::read_to_string(root().join("fixtures/recorded").join(&name).join("expect.toml")).expect("expect"),
        )
        .expect("toml");
        let doc = recorded(&name);
        let story_of = |id: &str| doc.stories.iter().find(|s| s.incidents.iter().any(|i| i == id));
        for i in &doc.incidents {
            let s = story_of(&i.id).unwrap_or_else(|| panic!("{name}: {} in no story", i.id));
            assert_eq!(i.story.as_ref(), Some(&s.id), "{name}: {}", i.id);
        }
        assert_eq!(doc.stories.iter().map(|s| s.incidents.len()).sum::<usize>(), doc.incidents.len(), "{name}");
        for s in &doc.stories {
            let rules: Vec<&str> = s
                .incidents
                .iter()
                .filter_map(|id| doc.incidents.iter().find(|i| &i.id == id))
                .map(|i| i.rule.as_str())
                .collect();
            if rules.contains(&"pm2.crash-loop") {
                loops += 1;
                let cause = s.cause.as_ref().unwrap_or_else(|| panic!("{name}: a crash loop without a cause"));
                let by = doc.incidents.iter().find(|i| Some(&i.id) == cause.incident.as_ref());
                let app = by.and_then(|i| i.app.clone()).unwrap_or_else(|| panic!("{name}: {cause:?}"));
                assert!(s.apps.contains(&app), "{name}: the cause is {app}'s, the loop {:?}'s", s.apps);
            }
        }
        let expected: Vec<&str> = expect
            .get("incident")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|i| i.get("rule")?.as_str())
            .collect();
        if !expected.iter().any(|r| families.get(*r).map(String::as_str) == Some("restart")) {
            let restarts: Vec<&str> = doc
                .incidents
                .iter()
                .filter(|i| families.get(&i.rule).map(String::as_str) == Some("restart"))
                .map(|i| i.rule.as_str())
                .collect();
            assert!(restarts.is_empty(), "{name}: no restart expected, stories of {restarts:?}");
        }
        let deps: Vec<(&str, i64, i64, &str)> = doc
            .incidents
            .iter()
            .filter_map(|i| {
                let family = families.get(&i.rule)?.strip_prefix("dependency:")?;
                Some((family, ms(&i.first_seen)?, ms(&i.last_seen)?, i.id.as_str()))
            })
            .collect();
        for a in &deps {
            for b in &deps {
                if a.0 == b.0 && a.1 <= b.2 + 300_000 && b.1 <= a.2 + 300_000 {
                    assert_eq!(story_of(a.3).map(|s| &s.id), story_of(b.3).map(|s| &s.id), "{name}: {a:?} {b:?}");
                }
            }
        }
        // What users saw while their own app's outage or restarts lasted
        // (10 s of skew either side) is told in that story.
        for sym in doc.incidents.iter().filter(|i| families.get(&i.rule).map(String::as_str) == Some("symptom")) {
            let Some(at) = ms(&sym.first_seen) else { continue };
            for cause in doc.incidents.iter().filter(|i| i.app == sym.app) {
                let family = families.get(&cause.rule).map(String::as_str).unwrap_or_default();
                let (Some(first), Some(last)) = (ms(&cause.first_seen), ms(&cause.last_seen)) else { continue };
                let holds = first - 10_000 <= at && at <= last + 10_000;
                if holds && (family == "restart" || family.starts_with("dependency:")) {
                    let (a, b) = (story_of(&sym.id).map(|s| &s.id), story_of(&cause.id).map(|s| &s.id));
                    assert_eq!(a, b, "{name}: {} during {}", sym.rule, cause.rule);
                }
            }
        }
        // Without instants, one app's incidents of one dependency cannot be
        // told apart in time: TWS's port change and the refused reconnects
        // after it are one story.
        let untimed: Vec<(&str, Option<&String>, &str)> = doc
            .incidents
            .iter()
            .filter(|i| i.first_seen.is_none())
            .filter_map(|i| Some((families.get(&i.rule)?.strip_prefix("dependency:")?, i.app.as_ref(), i.id.as_str())))
            .collect();
        for a in &untimed {
            for b in untimed.iter().filter(|b| (b.0, b.1) == (a.0, a.1)) {
                assert_eq!(story_of(a.2).map(|s| &s.id), story_of(b.2).map(|s| &s.id), "{name}: {a:?} {b:?}");
            }
        }
    }
    // The recordings hold crash loops: the check above did run.
    assert!(loops >= 4, "{loops}");
}

/// A story of a log with times of day and no date shows them, as its
/// incidents do: in the story line, the block, JSON (`time_of_day`) and
/// Markdown; never "no timestamps", never a made-up date.
#[test]
fn a_story_without_a_date_shows_its_times_of_day() {
    let dir = "fixtures/recorded/tws-stoqey-next-farm-broken";
    let (_, doc) = scan_json(&[dir], &[]);
    let story = doc.stories.iter().find(|s| s.kind == "dependency:tws").expect("the farm's story");
    assert_eq!(story.first_seen, None);
    assert_eq!(
        story.time_of_day,
        Some(serde_json::json!({"first": "09:23:43", "last": "09:29:13", "midnights": 0})),
        "{story:#?}"
    );
    let text = run(&["scan", dir]).stdout;
    let line = text.lines().find(|l| l.contains(&story.headline)).expect("its line");
    assert!(line.contains("  09:23:43 → 09:29:13 (date unknown)  "), "{line}");
    assert!(text.contains("\n  when      09:23:43 → 09:29:13 (date unknown)\n"), "{text}");
    assert!(!text.contains("no timestamps"), "{text}");
    let md = run(&["scan", "--format", "markdown", dir]).stdout;
    assert!(md.contains("- **When:** 09:23:43 → 09:29:13 (date unknown)\n"), "{md}");
}

/// The default view's fix is the rule's `action`, every value filled in
/// (the app, a byte limit in MiB, no `<app>`-style placeholders); the whole
/// fix, with the why, is in `--details`.
#[test]
fn the_default_view_says_what_to_do_with_the_values_filled_in() {
    let joined = |t: String| t.replace("\n            ", " ");
    let text = joined(run(&["scan", "fixtures/pm2"]).stdout);
    assert!(text.contains("  fix       Fix the error api writes before each exit (the story's cause; else `pm2 logs api --err --lines 200`)."), "{text}");
    assert!(text.contains("if it needs more than 150.0 MiB, raise `max_memory_restart` for worker"), "{text}");
    for placeholder in ["<app>", "<host>", "<user>", "<id>", "{app}"] {
        assert!(!text.contains(placeholder), "{placeholder} in:\n{text}");
    }
    let explanation = "Exit code 0 with SIGKILL/SIGABRT means the process was killed";
    assert!(!text.contains(explanation), "{text}");
    let details = joined(run(&["scan", "--details", "fixtures/pm2"]).stdout);
    assert!(details.contains(explanation), "{details}");
    assert!(details.contains("because its memory (251.3 MiB) passed max_memory_restart (150.0 MiB)"), "{details}");
}
