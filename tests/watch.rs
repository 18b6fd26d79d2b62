//! `logtriage watch`: the real binary following logs while the test writes
//! them as pm2 would (appends through a held file descriptor, rotation by
//! copy-then-truncate and by rename-then-create, restarts with a state
//! file, signals). Waits are polls with deadlines, never bare sleeps.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::util::{Incident, Watch};

/// One NDJSON line of `watch`, decoded into the test's own types.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    schema_version: u32,
    #[serde(rename = "type")]
    kind: String,
    data: Incident,
}

impl Watch {
    /// Starts `watch ARGS` in `dir` and waits until it follows its files.
    fn start(dir: &Path, args: &[&str]) -> Watch {
        let w = Watch::spawn(dir, args);
        let ready = w.stderr_until(Duration::from_secs(10), |l| l.contains("logtriage: watching"));
        assert!(ready.is_some(), "watch did not start");
        w
    }

    /// The next incident line, if one comes within `within`.
    fn incident(&self, within: Duration) -> Option<Incident> {
        match self.stdout.recv_timeout(within) {
            Ok(text) => {
                let line: Line = serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad line ({e}): {text}"));
                assert_eq!((line.schema_version, line.kind.as_str()), (2, "incident"));
                Some(line.data)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Incidents until `done` says enough, or `within` passes.
    fn incidents_until(&self, within: Duration, done: impl Fn(&[Incident]) -> bool) -> Vec<Incident> {
        let deadline = Instant::now() + within;
        let mut got = Vec::new();
        while !done(&got) {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { break };
            match self.incident(left) {
                Some(i) => got.push(i),
                None => break,
            }
        }
        got
    }

    fn stderr_until(&self, within: Duration, want: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.stderr.recv_timeout(left).ok()?;
            if want(&line) {
                return Some(line);
            }
        }
    }

    /// Sends `signal` (`TERM`, `INT`) and returns the exit status and the
    /// incidents printed before it.
    fn stop(mut self, signal: &str) -> (i32, Vec<Incident>) {
        let sent = Command::new("kill").arg(format!("-{signal}")).arg(self.child.id().to_string()).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -{signal}");
        let deadline = Instant::now() + Duration::from_secs(10);
        let code = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "watch did not exit on SIG{signal}");
            std::thread::sleep(Duration::from_millis(20));
        };
        let rest = self.stdout.try_iter().map(|text| serde_json::from_str::<Line>(&text).expect("line").data);
        (code, rest.collect())
    }
}

/// pm2 `--time` prefix for now: watch judges windows by the clock, so the
/// lines must be written now, as a live app writes them.
fn stamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Appends `text` (each line stamped) through a file handle opened for
/// append, as pm2 writes.
fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new().create(true).append(true).open(path).expect("open log");
    let stamped: String = text.lines().map(|l| format!("{}: {l}\n", stamp())).collect();
    f.write_all(stamped.as_bytes()).expect("append");
}

fn line_count(path: &Path) -> u64 {
    std::fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count() as u64)
}

/// What `node server.js` prints when its port is taken (Node 20).
const EADDRINUSE: &str = "node:events:502
      throw er; // Unhandled 'error' event
      ^

Error: listen EADDRINUSE: address already in use :::3001
    at Server.setupListenHandle [as _listen2] (node:net:1908:16)
    at listenInCluster (node:net:1965:12)
    at Server.listen (node:net:2067:7)
    at Object.<anonymous> (/srv/api/server.js:41:8)
Emitted 'error' event on Server instance at:
    at emitErrorNT (node:net:1944:8) {
  code: 'EADDRINUSE',
  errno: -98,
  syscall: 'listen',
  address: '::',
  port: 3001
}

Node.js v20.20.2";

/// The rules an uncaught EADDRINUSE fires, as `scan` reports them: the port
/// in use is its cause and supersedes the generic node.uncaught-exception
/// (one cause, one headline).
const CRASH_RULES: [&str; 1] = ["node.eaddrinuse"];

fn has_rules(got: &[Incident], rules: &[&str]) -> bool {
    rules.iter().all(|r| got.iter().any(|i| i.rule == *r))
}

/// A pm2 home's logs directory with an app that has run for a while.
fn pm2_logs(dir: &Path) -> PathBuf {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    append(&logs.join("api-out.log"), "api listening on :3001\nGET /health 200 1ms");
    append(&logs.join("pm2.log"), "PM2 log: App [api:0] starting in -fork mode-\nPM2 log: App [api:0] online");
    logs
}

#[test]
fn an_appended_crash_is_reported_within_a_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = pm2_logs(dir.path());
    // Yesterday's crash is history: a first start does not replay it.
    append(&logs.join("api-error.log"), EADDRINUSE);
    let w = Watch::start(dir.path(), &["logs"]);
    let err_log = logs.join("api-error.log");
    let first_line = line_count(&err_log) + 1;
    let appended = Instant::now();
    append(&err_log, EADDRINUSE);
    let got = w.incidents_until(Duration::from_secs(5), |got| has_rules(got, &CRASH_RULES));
    let latency = appended.elapsed();
    eprintln!("watch: EADDRINUSE crash appended -> its incident read in {} ms", latency.as_millis());
    let mut rules: Vec<&str> = got.iter().map(|i| i.rule.as_str()).collect();
    rules.sort();
    assert_eq!(rules, CRASH_RULES);
    let port = got.iter().find(|i| i.rule == "node.eaddrinuse").expect("eaddrinuse");
    assert_eq!(port.app.as_deref(), Some("api"));
    assert_eq!(port.evidence[0].line, first_line, "the appended crash, not yesterday's");
    assert_eq!(port.fields["port"], vec!["3001".to_string()]);
    assert!(latency < Duration::from_secs(1), "incidents after {latency:?}");
    // Once only: the same crash again is the same incidents growing.
    append(&err_log, EADDRINUSE);
    assert!(w.incident(Duration::from_millis(1500)).is_none());
}

/// A writer that holds its file open like pm2 does; `reopen` is pm2's
/// `reloadLogs` after a rename.
struct Writer {
    path: PathBuf,
    file: File,
}

impl Writer {
    fn open(path: &Path) -> Writer {
        let file = OpenOptions::new().create(true).append(true).open(path).expect("open");
        Writer { path: path.to_path_buf(), file }
    }

    fn line(&mut self, n: u32) {
        writeln!(self.file, "{}: request seq={n} failed: socket hang up", stamp()).expect("write");
    }

    fn reopen(&mut self) {
        self.file = OpenOptions::new().create(true).append(true).open(&self.path).expect("reopen");
    }
}

/// pm2-logrotate: copy the live file (gzipped with `compress: true`), then
/// truncate it in place while the app keeps its descriptor.
fn copy_truncate(live: &Path, copy: &Path) {
    let bytes = std::fs::read(live).expect("read");
    if copy.extension().is_some_and(|e| e == "gz") {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&bytes).expect("gz");
        std::fs::write(copy, enc.finish().expect("gz")).expect("write copy");
    } else {
        std::fs::write(copy, &bytes).expect("write copy");
    }
    OpenOptions::new().write(true).open(live).and_then(|f| f.set_len(0)).expect("truncate");
}

/// Every line fires its own incident (its own group key), so a line lost
/// to rotation is a number missing, and a line read twice a count of 2.
const SEQ_PACK: &str = r#"
[[rule]]
id = "test.seq"
title = "request {n} failed"
severity = "low"
regex = 'request seq=(?P<n>\d+) failed'
group_by = ["n"]
fix = "none"
"#;

#[test]
fn rotation_loses_no_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    std::fs::write(dir.path().join("seq.toml"), SEQ_PACK).expect("pack");
    let live = logs.join("api-out.log");
    let mut writer = Writer::open(&live);
    let w = Watch::start(dir.path(), &["logs", "--no-builtin-rules", "--rules", "seq.toml"]);
    const N: u32 = 400;
    for n in 0..N {
        writer.line(n);
        match n {
            99 => copy_truncate(&live, &logs.join("api-out__2026-11-24_10-00-00.log")),
            199 => {
                // logrotate `create`: rename, the app writes on to the old
                // file until pm2 reloads its logs, then to a new one.
                std::fs::rename(&live, logs.join("api-out.log.1")).expect("rename");
                for k in 0..5 {
                    writer.line(N + k);
                }
                File::create(&live).expect("create");
                writer.reopen();
            }
            299 => copy_truncate(&live, &logs.join("api-out__2026-11-24_11-00-00.log.gz")),
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(3));
    }
    let total = (N + 5) as usize;
    let got = w.incidents_until(Duration::from_secs(15), |got| got.len() >= total);
    let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
    for i in &got {
        assert_eq!(i.count, 1, "a line read twice: {:?}", i.key);
        *seen.entry(i.key["n"].parse().expect("n")).or_default() += 1;
    }
    let missing: Vec<u32> = (0..N + 5).filter(|n| !seen.contains_key(n)).collect();
    assert!(missing.is_empty(), "lost lines {missing:?}");
    assert!(seen.values().all(|&c| c == 1), "repeated: {seen:?}");
    assert!(w.incident(Duration::from_millis(800)).is_none(), "nothing more");
}

#[test]
fn a_restart_neither_repeats_nor_drops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = pm2_logs(dir.path());
    let state = dir.path().join("watch.json");
    let state_arg = state.display().to_string();
    let exit = |n: u32| format!("PM2 log: App [worker:{n}] exited with code [1] via signal [SIGINT]");
    let online = |n: u32| format!("PM2 log: App [worker:{n}] online");

    let w = Watch::start(dir.path(), &["logs", "--state", &state_arg]);
    // Two of the three exits a crash loop needs, each a moment after the
    // worker came online (held in the state as an open window: the crash
    // below is read in the same poll or a later one), then the `online` of
    // its next run (held as the context the next exit is read with).
    let first_exit = line_count(&logs.join("pm2.log")) + 2;
    append(&logs.join("pm2.log"), &[online(6), exit(6), online(6), exit(6), online(6)].join("\n"));
    append(&logs.join("api-error.log"), EADDRINUSE);
    let crash = w.incidents_until(Duration::from_secs(5), |got| has_rules(got, &CRASH_RULES));
    assert_eq!(crash.len(), CRASH_RULES.len());
    let (code, rest) = w.stop("TERM");
    assert_eq!(code, 0);
    assert!(rest.is_empty(), "{rest:?}");

    // While it is down: the crash goes on (the same incident), one more
    // exit completes the loop (its run began before the restart), and an
    // app started meanwhile runs out of heap.
    append(&logs.join("api-error.log"), EADDRINUSE);
    append(&logs.join("pm2.log"), &[exit(6), online(6)].join("\n"));
    let oom = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules/node.heap-oom/fires-node12-ineffective.log"),
    )
    .expect("fixture");
    append(&logs.join("web-error.log"), &oom);

    let w = Watch::start(dir.path(), &["logs", "--state", &state_arg]);
    let wanted = |got: &[Incident]| got.len() >= 2;
    let mut got = w.incidents_until(Duration::from_secs(10), wanted);
    let (code, rest) = w.stop("TERM");
    assert_eq!(code, 0);
    got.extend(rest);
    let mut rules: Vec<(&str, Option<&str>, usize)> =
        got.iter().map(|i| (i.rule.as_str(), i.app.as_deref(), i.count)).collect();
    rules.sort();
    assert_eq!(rules, vec![("node.heap-oom", Some("web"), 1), ("pm2.crash-loop", Some("worker"), 3)]);
    let lp = got.iter().find(|i| i.rule == "pm2.crash-loop").expect("loop");
    assert_eq!(lp.evidence[0].line, first_exit, "the loop counts the exits read before the restart");
    assert!(got.iter().all(|i| crash.iter().all(|c| c.id != i.id)), "the crash incidents were repeated");
}

#[test]
fn sigint_saves_the_state_and_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = pm2_logs(dir.path());
    let state = dir.path().join("watch.json");
    let w = Watch::start(dir.path(), &["logs", "--state", &state.display().to_string()]);
    let err_log = logs.join("api-error.log");
    append(&err_log, EADDRINUSE);
    let crash = w.incidents_until(Duration::from_secs(5), |got| has_rules(got, &CRASH_RULES));
    let (code, _) = w.stop("INT");
    assert_eq!(code, 0);
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).expect("state file")).expect("JSON");
    assert_eq!(saved["version"], 1);
    let file = saved["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"] == "logs/api-error.log")
        .expect("api-error.log checkpoint");
    assert_eq!(file["offset"].as_u64(), Some(std::fs::metadata(&err_log).expect("meta").len()));
    assert_eq!(file["line"].as_u64(), Some(line_count(&err_log)));
    let mut emitted: Vec<&str> =
        saved["emitted"].as_array().expect("emitted").iter().filter_map(|e| e[0].as_str()).collect();
    let mut printed: Vec<&str> = crash.iter().map(|i| i.id.as_str()).collect();
    emitted.sort();
    printed.sort();
    assert_eq!(emitted, printed);
}

#[test]
fn a_state_file_it_cannot_read_is_exit_2_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    pm2_logs(dir.path());
    std::fs::write(dir.path().join("watch.json"), "{ half written").expect("write");
    let r = crate::util::run_in(dir.path(), &["watch", "logs", "--state", "watch.json"], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("watch.json: not a logtriage watch state file"), "{}", r.stderr);
    assert!(r.stderr.contains("move it aside"), "{}", r.stderr);
}

/// pm2's default writes no timestamps. A first `--from-start` read of such
/// logs gives the incidents `scan` gives on the same files, with the same
/// ids (their windows judged by file order in both; watch prints the crash
/// loop as soon as it is one, at its third exit, as it does with times: the
/// same incident, anchored at the same first exit); lines written after that are judged by when
/// they are read: three runs (`online`, exit) written at once are a crash
/// loop, reported with no time.
#[test]
fn untimed_logs_agree_with_scan_then_go_by_arrival() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pm2/no-timestamps");
    for name in ["pm2.log", "md-bridge-out.log", "telegram-bot-error.log"] {
        std::fs::copy(fixtures.join(name), logs.join(name)).expect("copy fixture");
    }
    let scan = crate::util::run_in(dir.path(), &["scan", "--format", "json", "logs"], None);
    let doc: crate::util::Doc = serde_json::from_str(&scan.stdout).expect("scan json");
    let key = |i: &Incident| (i.rule.clone(), i.id.clone(), i.app.clone());
    let mut want: Vec<_> = doc.incidents.iter().map(key).collect();
    want.sort();
    assert!(want.iter().any(|w| w.0 == "pm2.crash-loop"), "{want:?}");

    let w = Watch::start(dir.path(), &["logs", "--from-start"]);
    let got = w.incidents_until(Duration::from_secs(5), |got| got.len() >= want.len());
    let mut got: Vec<_> = got.iter().map(key).collect();
    got.sort();
    assert_eq!(got, want);

    let run = "App [worker:7] online\nApp [worker:7] exited with code [1] via signal [SIGINT]\n";
    let mut f = OpenOptions::new().append(true).open(logs.join("pm2.log")).expect("open pm2.log");
    f.write_all(run.repeat(3).as_bytes()).expect("append");
    let lp = w.incident(Duration::from_secs(3)).expect("the live loop");
    assert_eq!((lp.rule.as_str(), lp.app.as_deref(), lp.count), ("pm2.crash-loop", Some("worker"), 3));
    assert!(lp.first_seen.is_none() && lp.last_seen.is_none());
    assert_eq!(lp.title, "worker is crash-looping: 3 exits in a log without timestamps, each run of unknown length");
    assert!(w.incident(Duration::from_millis(800)).is_none(), "nothing more");
}

/// `watch` names files as `scan` does: the ecosystem file beside the logs
/// (`logs/pm2-error.log` is `market-bridge`'s), and an app's raw name from
/// `pm2.log` for its sanitised file names.
#[test]
fn files_are_named_as_the_ecosystem_and_pm2_log_say() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("ecosystem.config.cjs"),
        "module.exports = { apps: [{ name: 'market-bridge', script: 'bridge.js', \
         error_file: 'logs/pm2-error.log', out_file: 'logs/pm2-out.log' }] };\n",
    )
    .expect("ecosystem");
    let logs = pm2_logs(dir.path());
    let w = Watch::start(dir.path(), &["logs"]);
    append(&logs.join("pm2-error.log"), EADDRINUSE);
    let got = w.incidents_until(Duration::from_secs(5), |got| has_rules(got, &CRASH_RULES));
    assert!(has_rules(&got, &CRASH_RULES), "{got:?}");
    assert!(got.iter().all(|i| i.app.as_deref() == Some("market-bridge")), "{got:?}");
    // The daemon names `my_app.v2`; its files say `my-app.v2`.
    append(&logs.join("pm2.log"), "PM2 log: App [my_app.v2:3] exited with code [0] via signal [SIGKILL]");
    let killed = w.incidents_until(Duration::from_secs(5), |got| has_rules(got, &["pm2.restart-on-signal"]));
    assert_eq!(killed.iter().map(|i| i.app.as_deref()).collect::<Vec<_>>(), vec![Some("my_app.v2")]);
    append(&logs.join("my-app.v2-error.log"), EADDRINUSE);
    let got = w.incidents_until(Duration::from_secs(5), |got| has_rules(got, &CRASH_RULES));
    assert!(has_rules(&got, &CRASH_RULES), "{got:?}");
    assert!(got.iter().all(|i| i.app.as_deref() == Some("my_app.v2")), "{got:?}");
}

/// Logs timed only by their applications (Python logging; @stoqey/ib's
/// times of day across midnight, dated by the bridge's ISO line): watch
/// reads the same times as scan, so the same incidents with the same ids
/// and times (issue 13).
#[test]
fn app_timed_logs_agree_with_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/times");
    for rel in ["iso/ib-recorder-out.log", "time-only/stoqey-bridge-out.log"] {
        let name = Path::new(rel).file_name().expect("name");
        std::fs::copy(fixtures.join(rel), logs.join(name)).expect("copy fixture");
    }
    let scan = crate::util::run_in(dir.path(), &["scan", "--format", "json", "logs"], None);
    let doc: crate::util::Doc = serde_json::from_str(&scan.stdout).expect("scan json");
    let key = |i: &Incident| (i.rule.clone(), i.id.clone(), i.first_seen.clone());
    let mut want: Vec<_> = doc.incidents.iter().map(key).collect();
    want.sort();
    assert!(want.iter().filter(|w| w.0 == "tws.connectivity-lost").count() == 2, "{want:?}");
    assert!(want.iter().all(|w| w.2.is_some()), "{want:?}");

    let w = Watch::start(dir.path(), &["logs", "--from-start"]);
    let got = w.incidents_until(Duration::from_secs(5), |got| got.len() >= want.len());
    let mut got: Vec<_> = got.iter().map(key).collect();
    got.sort();
    assert_eq!(got, want);
}

/// A log of times of day with no date (@stoqey/ib's IBApiNext under pm2,
/// recorded): a first `--from-start` read gives what `scan` gives (the
/// farm outage measured on the file's own clock, same id and times of
/// day); lines written after that run on the same clock, so a farm broken
/// at [9:40:00 AM] is an outage as soon as a line at [9:46:00 AM] shows
/// the file's clock past the 5-minute window.
#[test]
fn times_of_day_without_a_date_agree_with_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let recorded = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/recorded/tws-stoqey-next-farm-broken/logs");
    let log = logs.join("tws-bridge-out.log");
    std::fs::copy(recorded.join("tws-bridge-out.log"), &log).expect("copy recording");
    let scan = crate::util::run_in(dir.path(), &["scan", "--format", "json", "logs"], None);
    let doc: crate::util::Doc = serde_json::from_str(&scan.stdout).expect("scan json");
    let key = |i: &Incident| (i.rule.clone(), i.id.clone(), i.time_of_day.clone(), i.fields.get("status").cloned());
    let want: Vec<_> = doc.incidents.iter().map(key).collect();
    assert_eq!(want.len(), 1, "{want:?}");
    assert_eq!(want[0].3, Some(vec!["recovered after 5m 30s".to_string()]));

    let w = Watch::start(dir.path(), &["logs", "--from-start"]);
    let got = w.incidents_until(Duration::from_secs(5), |got| !got.is_empty());
    assert_eq!(got.iter().map(key).collect::<Vec<_>>(), want);

    let mut f = OpenOptions::new().append(true).open(&log).expect("open log");
    f.write_all(b"[9:40:00 AM] [INFO] [TWS]:  Market data farm connection is broken:cashfarm - Code: 2103\n")
        .expect("append");
    assert!(w.incident(Duration::from_millis(800)).is_none(), "the window is open on the file's clock");
    f.write_all(b"[9:46:00 AM] [INFO] [TWS]:  HMDS data farm connection is OK:ushmds - Code: 2106\n").expect("append");
    let lost = w.incident(Duration::from_secs(3)).expect("the cashfarm outage");
    assert_eq!((lost.rule.as_str(), lost.key.get("farm").map(String::as_str)), ("tws.farm-broken", Some("cashfarm")));
    assert_eq!(lost.fields["status"], vec!["not recovered by end of log"]);
    assert_eq!((lost.first_seen, lost.time_of_day.map(|t| t.first)), (None, Some("09:40:00".to_string())));
}

/// `--app` as in `scan`: another app's files are not followed, and what
/// pm2.log says of it (a crash loop) is not reported; the app asked for is.
#[test]
fn app_narrows_what_watch_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = pm2_logs(dir.path());
    append(&logs.join("web-out.log"), "web ready on :3000");
    let w = Watch::start(dir.path(), &["logs", "--app", "web"]);
    append(&logs.join("api-error.log"), EADDRINUSE);
    let cycle = "PM2 log: App [api:0] online\nPM2 log: App [api:0] exited with code [1] via signal [SIGINT]";
    append(&logs.join("pm2.log"), &[cycle; 4].join("\n"));
    append(&logs.join("web-error.log"), EADDRINUSE);
    let got = w.incidents_until(Duration::from_secs(5), |got| has_rules(got, &CRASH_RULES));
    let apps: Vec<Option<&str>> = got.iter().map(|i| i.app.as_deref()).collect();
    assert_eq!(apps, [Some("web")], "{got:#?}");
    assert!(w.incident(Duration::from_millis(1500)).is_none(), "api's crash reported");
}

/// `--baseline` as in `scan`: an incident the previous run had (same rule
/// and key) is not reported again; a new one is.
#[test]
fn baseline_leaves_out_what_a_previous_run_had() {
    let before = tempfile::tempdir().expect("tempdir");
    let known = pm2_logs(before.path());
    append(&known.join("web-error.log"), EADDRINUSE);
    let scanned = Command::new(env!("CARGO_BIN_EXE_logtriage"))
        .args(["scan", "--format", "json", "--fail-on", "never"])
        .arg(&known)
        .output()
        .expect("scan");
    let baseline = before.path().join("baseline.json");
    std::fs::write(&baseline, &scanned.stdout).expect("write baseline");
    let baseline = baseline.to_str().expect("utf-8 path");

    let dir = tempfile::tempdir().expect("tempdir");
    let logs = pm2_logs(dir.path());
    let w = Watch::start(dir.path(), &["logs", "--baseline", baseline]);
    append(&logs.join("web-error.log"), EADDRINUSE);
    append(&logs.join("api-error.log"), EADDRINUSE);
    let got = w.incidents_until(Duration::from_secs(5), |got| has_rules(got, &CRASH_RULES));
    let apps: Vec<Option<&str>> = got.iter().map(|i| i.app.as_deref()).collect();
    assert_eq!(apps, [Some("api")], "{got:#?}");
    assert!(w.incident(Duration::from_millis(1500)).is_none(), "web's known crash reported");
    let said = w.stderr_until(Duration::from_secs(2), |l| l.contains("--baseline"));
    assert!(said.is_some_and(|l| l.contains("not reported")), "the baseline's effect is said once");
}
