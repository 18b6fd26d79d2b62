//! Issue 15: a gate a CI or cron job can trust. Each case is what a new
//! user met: one file counted twice through two paths, a directory with
//! no log passing the gate, a live log that starts with NUL bytes (a hole
//! left by copytruncate) skipped as binary, `watch --state` failing only
//! at the first incident; and, in the same spirit, `--app` naming
//! nothing, and the README's cron recipes re-reporting untimed incidents.
//! Inputs are built at run time in temp dirs; results are read as JSON
//! values, so a binary without the fix fails on the behaviour, not on a
//! field it lacks.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{Run, Watch, root, run_in};

fn json(r: &Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}); stderr: {}", r.stderr))
}

/// `rule app count` per incident.
fn counts(doc: &Value) -> Vec<String> {
    let incidents = doc["incidents"].as_array().expect("incidents");
    incidents.iter().map(|i| format!("{} {} {}", i["rule"], i["app"], i["count"])).collect()
}

fn files(doc: &Value) -> Vec<String> {
    let files = doc["summary"]["files"].as_array().expect("files");
    files.iter().map(|f| f["path"].as_str().unwrap_or_default().to_string()).collect()
}

fn notes(doc: &Value) -> Vec<String> {
    let notes = doc["summary"]["notes"].as_array().expect("notes");
    notes.iter().map(|n| n.as_str().unwrap_or_default().to_string()).collect()
}

/// A pm2 home: `pm2.log` (the daemon fixture: api's 16 exits make a crash
/// loop, worker's 4 stay below the threshold) and `logs/`.
fn pm2_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::copy(root().join("fixtures/pm2/daemon/pm2.log"), home.path().join("pm2.log")).expect("copy");
    std::fs::create_dir(home.path().join("logs")).expect("mkdir");
    home
}

fn scan(dir: &Path, args: &[&str]) -> Run {
    let mut all = vec!["scan", "--format", "json", "--fail-on", "never"];
    all.extend_from_slice(args);
    run_in(dir, &all, None)
}

/// Case 1: `cd ~/.pm2 && logtriage scan . logs/../pm2.log` read pm2.log
/// twice (worker's 4 exits became a crash loop of 8, api's 16 became 32);
/// so did `./pm2.log pm2.log` and one file reached through two symlinked
/// directories. Each file is read once, under the first path given.
#[test]
fn a_file_reached_by_several_paths_is_read_once() {
    let home = pm2_home();
    let dir = home.path();
    let once = json(&scan(dir, &["pm2.log"]));
    assert!(!counts(&once).is_empty());
    let twice = json(&scan(dir, &[".", "logs/../pm2.log"]));
    assert_eq!(counts(&twice), counts(&once), "the same incidents, counted once");
    assert_eq!(files(&twice), ["./pm2.log"]);
    assert_eq!(
        twice["summary"]["duplicates"],
        serde_json::json!([{ "path": "logs/../pm2.log", "same_as": "./pm2.log" }])
    );
    assert!(notes(&twice).iter().any(|n| n.contains("logs/../pm2.log is ./pm2.log")), "{:?}", notes(&twice));
    let named_twice = json(&scan(dir, &["./pm2.log", "pm2.log"]));
    assert_eq!((counts(&named_twice), files(&named_twice)), (counts(&once), vec!["./pm2.log".to_string()]));
    #[cfg(unix)]
    {
        let real = dir.join("real");
        std::fs::create_dir(&real).expect("mkdir");
        std::fs::rename(dir.join("pm2.log"), real.join("pm2.log")).expect("move");
        std::os::unix::fs::symlink("real", dir.join("a")).expect("symlink");
        std::os::unix::fs::symlink("real", dir.join("b")).expect("symlink");
        let linked = json(&scan(dir, &["a", "b/pm2.log"]));
        assert_eq!((counts(&linked), files(&linked)), (counts(&once), vec!["a/pm2.log".to_string()]));
    }
    // Text: the summary line counts one file, and a note names the other path.
    let text = run_in(dir, &["scan", "--fail-on", "never", "a", "b"], None);
    assert!(text.stdout.contains(" from 1 file ("), "{}", text.stdout);
}

/// Case 2: a directory holding only `api-error.txt`, `api.err`,
/// `api-error.log.old`, or nothing, gave "0 incidents from 0 files" and
/// exit 0. Now: exit 2, saying what was passed over and how to name files;
/// and beside files read, the summary counts what was passed over.
#[test]
fn paths_that_hold_no_log_are_an_input_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir(d.join("odd")).expect("mkdir");
    for name in ["api-error.txt", "api.err", "api-error.log.old"] {
        std::fs::write(d.join("odd").join(name), "2026-11-20T10:00:00: Error: listen EADDRINUSE :::3000\n")
            .expect("write");
    }
    std::fs::create_dir(d.join("empty")).expect("mkdir");
    for args in [["scan", "odd"], ["scan", "empty"]] {
        let r = run_in(d, &args, None);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(&format!("no log to read in {}", args[1])), "{}", r.stderr);
        assert!(r.stderr.contains("name a file to read it"), "{}", r.stderr);
    }
    let r = run_in(d, &["scan", "odd"], None);
    for name in ["odd/api-error.txt", "odd/api.err", "odd/api-error.log.old"] {
        assert!(r.stderr.contains(name), "{name}: {}", r.stderr);
    }
    // Named, a file is read whatever its name.
    let named = scan(d, &["odd/api-error.txt"]);
    assert_eq!(named.code, 0);
    assert_eq!(files(&json(&named)), ["odd/api-error.txt"]);
    // Beside a log that is read: counted, and a note names them.
    std::fs::copy(root().join("fixtures/pm2/daemon/pm2.log"), d.join("odd/pm2.log")).expect("copy");
    let beside = json(&scan(d, &["odd"]));
    assert_eq!(files(&beside), ["odd/pm2.log"]);
    assert_eq!(beside["summary"]["passed_over"]["count"], 3);
    assert!(notes(&beside).iter().any(|n| n.starts_with("3 file(s) in the directories given were passed over")));
}

/// A log as a writer without O_APPEND leaves it after copytruncate: the
/// bytes before the truncation come back as a hole (NULs, sparse where
/// the file system can), then what it wrote since, at its old offset.
/// `before` stands at 0 (another writer's lines since the truncation).
fn holey_log(path: &Path, before: &str, at: u64, after: &str) {
    let mut f = std::fs::File::create(path).expect("create");
    f.write_all(before.as_bytes()).expect("write");
    f.seek(SeekFrom::Start(at)).expect("seek");
    f.write_all(after.as_bytes()).expect("write");
}

fn eaddrinuse(port: u16) -> String {
    format!("2026-11-20T10:00:00: Error: listen EADDRINUSE: address already in use :::{port}\n")
}

/// Case 3: a live log that starts with NUL bytes was skipped as "binary
/// data (NUL byte at offset 0)", exit 0, its errors lost. Leading and
/// embedded holes are passed over, counted in a note, and what follows is
/// scanned, mapped or read; NULs inside a line still make a file binary.
#[test]
fn a_log_that_starts_with_nuls_is_read_after_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    // Leading holes: a small one, one of 3 MiB (sparse), one past the
    // first 8 KiB probed.
    holey_log(&logs.join("api-error.log"), "", 100, &eaddrinuse(3000));
    holey_log(&logs.join("web-error.log"), "", 3 << 20, &eaddrinuse(3001));
    holey_log(&logs.join("bot-error.log"), "", 20_000, &eaddrinuse(3002));
    // A hole between lines: another writer's line at 0 after the truncation.
    holey_log(&logs.join("worker-error.log"), &eaddrinuse(3003), 5 << 20, &eaddrinuse(3004));
    // A rotated copy of a holey log, mapped by default.
    holey_log(&logs.join("jobs-error__2026-11-20_00-00-00.log"), "", 4096, &eaddrinuse(3005));
    // NULs inside a line: binary, skipped as before.
    std::fs::write(logs.join("core-out.log"), b"core\0dump\0\x7fELF\n").expect("write");
    let want = |port: u16| format!("\"{port}\"");
    for mmap in ["auto", "always", "never"] {
        let r = scan(dir.path(), &["--mmap", mmap, "logs"]);
        let doc = json(&r);
        let ports: Vec<String> = doc["incidents"]
            .as_array()
            .expect("incidents")
            .iter()
            .flat_map(|i| i["fields"]["port"].as_array().cloned().unwrap_or_default())
            .map(|p| p.to_string())
            .collect();
        for port in 3000..=3005 {
            assert!(ports.contains(&want(port)), "--mmap {mmap}: port {port} missing from {ports:?}");
        }
        let first_seen: Vec<&Value> =
            doc["incidents"].as_array().expect("incidents").iter().map(|i| &i["first_seen"]).collect();
        assert!(first_seen.iter().all(|t| *t == "2026-11-20T10:00:00Z"), "--mmap {mmap}: times read: {first_seen:?}");
        let skipped = doc["summary"]["skipped"].as_array().expect("skipped");
        assert_eq!(skipped.len(), 1, "--mmap {mmap}: {skipped:?}");
        assert_eq!(
            (&skipped[0]["path"], &skipped[0]["reason"]),
            (&Value::from("logs/core-out.log"), &Value::from("binary"))
        );
        let notes = notes(&doc);
        for (file, n) in [
            ("api-error.log", 100),
            ("web-error.log", 3 << 20),
            ("worker-error.log", (5 << 20) - eaddrinuse(3003).len()),
        ] {
            let note = format!("logs/{file}: {n} NUL byte(s) passed over");
            assert!(notes.iter().any(|x| x.starts_with(&note)), "--mmap {mmap}: no `{note}` in {notes:?}");
        }
    }
}

impl Watch {
    /// stdout lines until one holds `want`, or `within` passes.
    fn stdout_until(&self, within: Duration, want: &str) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut got = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.stdout.recv_timeout(left) else { break };
            let done = line.contains(want);
            got.push(line);
            if done {
                break;
            }
        }
        got
    }

    /// The exit status if it exits within `within`, with its stderr.
    fn exit_within(&mut self, within: Duration) -> Option<(i32, Vec<String>)> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // The pipe ends with the process; what it printed is there.
                let err: Vec<String> =
                    std::iter::from_fn(|| self.stderr.recv_timeout(Duration::from_secs(2)).ok()).collect();
                return Some((status.code().unwrap_or(-1), err));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// Case 3 in `watch`: a log that starts with a hole was refused as binary;
/// a followed log truncated and then written past a hole (the writer at
/// its old offset) gave lines with NULs in front. Both are read after the
/// hole, with their times.
#[test]
fn watch_reads_logs_after_their_holes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    holey_log(&logs.join("api-error.log"), "", 1 << 20, &eaddrinuse(3000));
    std::fs::write(logs.join("web-error.log"), "2026-11-20T09:59:00: starting\n".repeat(100)).expect("write");
    let w = Watch::spawn(dir.path(), &["logs", "--from-start"]);
    let got = w.stdout_until(Duration::from_secs(20), ":::3000");
    assert!(
        got.iter().any(|l| l.contains(":::3000") && l.contains("\"first_seen\":\"2026-11-20T10:00:00Z\"")),
        "{got:?}"
    );
    // copytruncate, then the writer goes on at its old offset.
    let web = logs.join("web-error.log");
    let old = std::fs::metadata(&web).expect("meta").len();
    std::fs::File::options().write(true).open(&web).and_then(|f| f.set_len(0)).expect("truncate");
    std::thread::sleep(Duration::from_millis(600));
    let mut f = std::fs::File::options().write(true).open(&web).expect("open");
    f.seek(SeekFrom::Start(old + 5000)).expect("seek");
    f.write_all(eaddrinuse(3001).as_bytes()).expect("write");
    drop(f);
    let got = w.stdout_until(Duration::from_secs(20), ":::3001");
    assert!(
        got.iter().any(|l| l.contains(":::3001") && l.contains("\"first_seen\":\"2026-11-20T10:00:00Z\"")),
        "{got:?}"
    );
}

/// Case 4: `watch --state` on a path that cannot be written was found
/// only at the first incident (exit 2, "(os error 2)" printed twice): under
/// the README's systemd unit, a restart loop. It fails at once, before
/// following anything, with one message naming the path.
#[test]
fn watch_state_that_cannot_be_written_fails_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("logs")).expect("mkdir");
    std::fs::write(dir.path().join("logs/api-out.log"), "2026-11-20T10:00:00: listening\n").expect("write");
    let state = "no-such-dir/watch.json";
    let mut w = Watch::spawn(dir.path(), &["logs", "--state", state]);
    let Some((code, stderr)) = w.exit_within(Duration::from_secs(10)) else {
        panic!("watch is still running with an unwritable --state {state}")
    };
    assert_eq!(code, 2, "{stderr:?}");
    assert_eq!(stderr.len(), 1, "one message: {stderr:?}");
    let msg = &stderr[0];
    assert!(msg.contains(&format!("{state}: cannot write the state file")), "{msg}");
    assert_eq!(msg.matches("os error").count(), 1, "{msg}");
    assert!(!msg.contains("watching"), "{msg}");
}

/// `--app` that names no file and no incident says so on stderr, with a
/// case-insensitive near match; the exit status stays what it was.
#[test]
fn an_app_that_matches_nothing_is_said_with_a_near_match() {
    let home = pm2_home();
    let r = run_in(home.path(), &["scan", "pm2.log", "--app", "API"], None);
    assert_eq!(r.code, 0, "no incident of `API`: exit 0 as before");
    assert!(
        r.stderr.contains("--app API: no file and no incident of this app; did you mean --app api?"),
        "{}",
        r.stderr
    );
    let r = run_in(home.path(), &["scan", "pm2.log", "--app", "api"], None);
    assert_eq!((r.code, r.stderr.as_str()), (1, ""));
}

/// The README's recipes that run `scan` every few minutes over a time
/// range (cron, Alertmanager, a webhook) must not post the incidents of
/// a log without timestamps on every run: each is run as written (paths
/// pointed at a temp pm2 home) twice, and only the timed incident comes.
#[test]
fn readme_cron_recipes_do_not_repeat_untimed_incidents() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let recipes = timed_recipes(&readme);
    assert!(recipes.len() >= 3, "{recipes:?}");
    let home = tempfile::tempdir().expect("tempdir");
    let logs = home.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    for name in ["telegram-bot-error.log", "md-bridge-out.log", "pm2.log"] {
        std::fs::copy(root().join("fixtures/pm2/no-timestamps").join(name), logs.join(name)).expect("copy");
    }
    let pm2_log = home.path().join("pm2.log");
    std::fs::copy(root().join("fixtures/pm2/no-timestamps/pm2.log"), &pm2_log).expect("copy");
    // A timed crash written a minute ago, in local time (`--log-tz local`).
    let now = chrono::Local::now() - chrono::Duration::minutes(1);
    let line =
        format!("{}: Error: listen EADDRINUSE: address already in use :::3000\n", now.format("%Y-%m-%dT%H:%M:%S"));
    std::fs::write(logs.join("api-error.log"), line).expect("write");
    let baseline = home.path().join("accepted.json");
    let known = run_in(&root(), &["scan", "--format", "json", "--fail-on", "never", "fixtures/pm2/fork-time"], None);
    std::fs::write(&baseline, known.stdout).expect("write");
    for recipe in recipes {
        let args: Vec<String> = recipe
            .split_whitespace()
            .skip(1)
            .map(|a| {
                a.replace("/home/deploy/.pm2/logs", &logs.display().to_string())
                    .replace("~/.pm2/logs", &logs.display().to_string())
                    .replace("/home/deploy/.pm2/pm2.log", &pm2_log.display().to_string())
                    .replace("~/.pm2/pm2.log", &pm2_log.display().to_string())
                    .replace("/etc/logtriage/accepted.json", &baseline.display().to_string())
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        for run in 0..2 {
            let r = run_in(home.path(), &args, None);
            assert_eq!(r.code, 0, "{recipe}: {}", r.stderr);
            let incidents: String = match args.windows(2).any(|w| w == ["--format", "ndjson"]) {
                true => r.stdout.lines().filter(|l| l.contains("\"type\":\"incident\"")).collect(),
                false => r.stdout.clone(),
            };
            assert!(incidents.contains(":::3000"), "run {run} of `{recipe}`: the timed crash is missing");
            for untimed in ["telegram-bot", "md-bridge"] {
                assert!(!incidents.contains(untimed), "run {run} of `{recipe}` reports {untimed} again: {incidents}");
            }
        }
    }
}

/// The `logtriage scan ... --since ...` command lines of the README's
/// shell blocks (a cron line's command included), joined across `\`
/// continuations and cut at the first pipe.
fn timed_recipes(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(at) = line.find("logtriage scan ") else { continue };
        let mut command = line[at..].to_string();
        while command.trim_end().ends_with('\\') {
            let next = lines.next().unwrap_or_default();
            command = format!("{} {}", command.trim_end().trim_end_matches('\\'), next.trim());
        }
        let command = command.split(" |").next().unwrap_or_default().trim().to_string();
        if command.contains(" --since ") && !line.starts_with('|') {
            out.push(command);
        }
    }
    out
}
