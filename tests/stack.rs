//! Beyond pm2 (issue 21): Docker json-file logs, `docker compose logs -t`
//! captures, journald exports, PostgreSQL, Redis and Caddy logs read in
//! one run beside pm2's, each named by its app, and one dependency outage
//! seen from both sides told as one story. Against the recorded lab
//! scenario `stack-pg-outage` (README, "Beyond pm2: other sources").

use std::path::{Path, PathBuf};

use crate::util::{Doc, Incident, root, run_in};

fn scenario() -> PathBuf {
    root().join("fixtures/recorded/stack-pg-outage")
}

fn doc_in(dir: &Path, paths: &[&str]) -> Doc {
    let mut args = vec!["scan", "--format", "json", "--fail-on", "never"];
    args.extend_from_slice(paths);
    let r = run_in(dir, &args, None);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stderr))
}

/// The bot's container directory under `docker/containers/`.
fn container_dir() -> PathBuf {
    let containers = scenario().join("docker/containers");
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(&containers).expect("containers").map(|e| e.expect("entry").path()).collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.remove(0)
}

fn json_log(dir: &Path) -> PathBuf {
    let name = dir.file_name().expect("id").to_string_lossy().into_owned();
    dir.join(format!("{name}-json.log"))
}

/// A file as the summary lists it: path, app, app_from, kind.
type FileRow = (String, Option<String>, Option<String>, Option<String>);

/// (rule, app, count) of every incident, sorted.
fn found(incidents: &[Incident]) -> Vec<(String, String, usize)> {
    let mut v: Vec<_> =
        incidents.iter().map(|i| (i.rule.clone(), i.app.clone().unwrap_or_default(), i.count)).collect();
    v.sort();
    v
}

/// One directory holding pm2's logs, a Docker container's json-file log,
/// a journald export, PostgreSQL's and Redis's server logs and a Caddy
/// access log: each file is read, says what wrote it, and is named by its
/// app (the container by its config.v2.json, the servers by what their
/// lines say); journal entries name their own apps.
#[test]
fn a_mixed_directory_names_every_source_by_its_app() {
    let doc = doc_in(&scenario(), &["."]);
    let id = container_dir().file_name().expect("id").to_string_lossy().into_owned();
    let files: Vec<FileRow> =
        doc.summary.files.iter().map(|f| (f.path.clone(), f.app.clone(), f.app_from.clone(), f.kind.clone())).collect();
    let s = |x: &str| Some(x.to_string());
    let want = vec![
        ("./caddy/access.log".to_string(), s("caddy"), s("content"), s("caddy-access")),
        (format!("./docker/containers/{id}/{id}-json.log"), s("telegram-bot"), s("docker"), s("docker-json")),
        ("./journal/journal.log".to_string(), s("journal"), s("file-name"), s("journald-json")),
        ("./pm2/logs/api-error.log".to_string(), s("api"), s("file-name"), None),
        ("./pm2/logs/api-out.log".to_string(), s("api"), s("file-name"), None),
        ("./pm2/pm2.log".to_string(), None, None, None),
        ("./postgresql/postgresql-2026-12-05_173536.log".to_string(), s("postgresql"), s("content"), s("postgresql")),
        ("./postgresql/postgresql-2026-12-05_173552.log".to_string(), s("postgresql"), s("content"), s("postgresql")),
        ("./redis/redis-server.log".to_string(), s("redis"), s("content"), s("redis")),
    ];
    assert_eq!(files, want);
    assert!(doc.summary.files.iter().all(|f| f.timestamps), "every source is timed");
    let apps: std::collections::BTreeSet<_> = doc.incidents.iter().filter_map(|i| i.app.as_deref()).collect();
    for app in ["api", "caddy", "postgresql", "redis", "telegram-bot", "worker"] {
        assert!(apps.contains(app), "no incident of {app}: {apps:?}");
    }
}

/// The PostgreSQL outage, from both sides: the clients' errors (the pm2
/// API, the worker in journald, the bot in Docker) and the server's own
/// log (its shutdown, the sessions it ended) are one `dependency:postgres`
/// story, the server's shutdown its cause; what users saw meanwhile (the
/// api's failing `/health`, Caddy's 5xx) joins it, after what caused it,
/// and the text report lists it under "users saw".
#[test]
fn a_postgres_outage_seen_from_both_sides_is_one_story() {
    let doc = doc_in(&scenario(), &["."]);
    let stories: Vec<_> = doc.stories.iter().filter(|s| s.kind == "dependency:postgres").collect();
    assert_eq!(stories.len(), 1, "{:#?}", doc.stories);
    let story = stories[0];
    assert_eq!(story.apps, ["api", "caddy", "postgresql", "telegram-bot", "worker"]);
    let members: Vec<&Incident> = doc.incidents.iter().filter(|i| story.incidents.contains(&i.id)).collect();
    let rules: std::collections::BTreeSet<_> = members.iter().map(|i| i.rule.as_str()).collect();
    assert!(rules.contains("postgres.server-down"), "{rules:?}");
    assert!(rules.contains("postgres.unreachable") && rules.contains("postgres.connection-lost"), "{rules:?}");
    let down = members.iter().find(|i| i.rule == "postgres.server-down").expect("server-down");
    assert!(down.title.contains("fast shutdown") && down.title.contains("recovered after 9.8s"), "{}", down.title);
    // The server's account is the cause; the headline is what the apps saw.
    let cause = story.cause.as_ref().expect("the outage has a cause");
    assert_eq!(cause.incident.as_ref(), Some(&down.id), "{cause:?}");
    assert!(cause.file.ends_with("postgresql-2026-12-05_173536.log") && cause.line == 6, "{cause:?}");
    assert!(story.headline.starts_with("api: PostgreSQL connection lost"), "{}", story.headline);
    let symptom = |i: &Incident| i.rule.starts_with("http.") || i.rule.starts_with("caddy.");
    let seen: Vec<(&str, &str)> = doc
        .incidents
        .iter()
        .filter(|i| symptom(i))
        .map(|i| (i.rule.as_str(), i.app.as_deref().unwrap_or("-")))
        .collect();
    assert_eq!(seen.len(), 3, "{seen:?}");
    // Members in causal order: every symptom after every incident of the
    // outage itself.
    let order: Vec<bool> =
        story.incidents.iter().filter_map(|id| doc.incidents.iter().find(|i| &i.id == id)).map(symptom).collect();
    assert_eq!(order.iter().filter(|s| **s).count(), 3, "every symptom joined: {seen:?}");
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "symptoms last: {order:?}");
    assert_eq!(doc.stories.len(), 2, "the outage and Redis's warning: {:#?}", doc.stories);
    let text = run_in(&scenario(), &["scan", "--fail-on", "never", "."], None).stdout;
    let block = text.split("\n\n").find(|b| b.contains("cause     postgresql")).expect("the outage's block");
    let users = block.split("  users saw\n").nth(1).expect("a users saw list");
    assert!(users.contains("http.health-check-failing  api: health check /health failing (503)"), "{block}");
    assert!(users.contains("caddy.upstream-5xx-burst"), "{block}");
}

/// The bot's output as `docker compose logs -t` prints it (the service
/// column, Docker's fixed nine-digit stamp), written here from the
/// recorded json-file log, gives the incidents the json-file log gives,
/// named by the service; and the json-file log copied without its
/// config.v2.json is named by its file name.
#[test]
fn a_compose_capture_reads_like_the_json_file_log() {
    let log = json_log(&container_dir());
    let from_json = doc_in(&root(), &[log.to_str().expect("utf-8 path")]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut capture = String::new();
    for line in std::fs::read_to_string(&log).expect("log").lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("docker object");
        let text = v["log"].as_str().expect("log").trim_end_matches('\n');
        let time = v["time"].as_str().expect("time");
        // RFC3339NanoFixed: nine fraction digits, as `docker logs -t` pads them.
        let (secs, frac) = time.trim_end_matches('Z').split_once('.').unwrap_or((time.trim_end_matches('Z'), ""));
        capture.push_str(&format!("telegram-bot-1  | {secs}.{frac:0<9}Z {text}\n"));
    }
    std::fs::write(tmp.path().join("compose.log"), capture).expect("write");
    let from_compose = doc_in(tmp.path(), &["compose.log"]);
    let rename = |v: Vec<(String, String, usize)>| -> Vec<(String, String, usize)> {
        v.into_iter().map(|(r, a, c)| (r, a.replace("telegram-bot", "BOT"), c)).collect()
    };
    let json_found = rename(found(&from_json.incidents));
    assert_eq!(rename(found(&from_compose.incidents)), json_found);
    assert!(json_found.iter().any(|(r, a, n)| r == "postgres.unreachable" && a == "BOT" && *n == 12), "{json_found:?}");
    assert_eq!(from_compose.summary.files[0].kind.as_deref(), Some("compose"));
    assert_eq!(from_compose.incidents[0].app.as_deref(), Some("telegram-bot"));
    // Without config.v2.json beside it: the file name is all there is.
    let alone = tmp.path().join(log.file_name().expect("name"));
    std::fs::copy(&log, &alone).expect("copy");
    let doc = doc_in(tmp.path(), &[alone.file_name().and_then(|n| n.to_str()).expect("name")]);
    assert_eq!(doc.summary.files[0].app_from.as_deref(), Some("file-name"));
}

/// The same journal entries exported with `journalctl -o short-iso`
/// (`STAMP HOST IDENT[PID]: line`, a line per entry): the identifier names
/// each line's app, stack traces join within one identifier, and the
/// incidents are the JSON export's (the stamps are whole seconds).
#[test]
fn a_short_iso_export_reads_like_the_json_export() {
    let dir = scenario().join("journal");
    let json = doc_in(&dir, &["journal.log"]);
    let text = doc_in(&dir, &["journal-short-iso.txt"]);
    assert_eq!(found(&text.incidents), found(&json.incidents));
    assert!(!json.incidents.is_empty());
    let file = &text.summary.files[0];
    assert_eq!((file.kind.as_deref(), file.time_format.as_deref()), (Some("journald-short"), Some("iso8601")));
    assert!(file.records * 3 < file.lines, "frames joined: {} records of {} lines", file.records, file.lines);
}
