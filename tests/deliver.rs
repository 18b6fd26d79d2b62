//! `watch --alertmanager` against real Alertmanagers on loopback (issue
//! 17): an appended crash loop arrives and is resent; alerts raised while
//! Alertmanager is down arrive once it is back, each once; a cluster peer
//! killed mid-run catches up when it returns; `watch` killed with SIGKILL
//! and restarted with its state loses and repeats nothing. The rules are a
//! test pack with windows of seconds, so the tests run in seconds.

mod am;

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use am::{Am, Stored};

/// A loop is three BOOMs of one app within 3 s.
const PACK: &str = r#"
[[rule]]
id = "t.loop"
title = "{app} loops"
severity = "critical"
regex = 'BOOM'
correlate = { kind = "threshold", count = 3, window = "3s" }
fix = "f"

[[rule]]
id = "t.link"
title = "{app} lost its link"
severity = "high"
regex = 'LINK DOWN'
correlate = { kind = "absence", until = ['LINK UP'], window = "1s" }
fix = "f"
"#;

/// A running `logtriage watch --format none --alertmanager ...`; killed
/// (SIGKILL) on drop.
struct Watch {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Watch {
    fn start(dir: &Path, peers: &[&Am], extra: &[&str]) -> Watch {
        let pack = dir.join("pack.toml");
        std::fs::write(&pack, PACK).expect("pack");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_logtriage"));
        cmd.current_dir(dir)
            .args(["watch", "logs", "--no-builtin-rules", "--rules", "pack.toml", "--format", "none"])
            .args(["--instance", "ci", "--resend", "1s", "--state", "watch.state"]);
        for p in peers {
            cmd.arg("--alertmanager").arg(p.url());
        }
        let mut child =
            cmd.args(extra).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let pipe = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                sink.lock().expect("lock").push(line);
            }
        });
        let w = Watch { child, stderr };
        w.wait_stderr(Duration::from_secs(10), "logtriage: watching");
        w
    }

    fn wait_stderr(&self, within: Duration, want: &str) {
        let deadline = Instant::now() + within;
        while !self.stderr().iter().any(|l| l.contains(want)) {
            assert!(Instant::now() < deadline, "no {want:?} on stderr: {:?}", self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr(&self) -> Vec<String> {
        self.stderr.lock().expect("lock").clone()
    }

    /// SIGTERM, and the exit code.
    fn stop(mut self) -> i32 {
        let sent = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        assert!(sent.is_ok_and(|s| s.success()));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "watch did not exit on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temp dir with `logs/` holding an app log for each of `apps`.
fn logs(apps: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("logs")).expect("mkdir");
    for app in apps {
        append(&log_of(dir.path(), app), "started");
    }
    dir
}

fn log_of(dir: &Path, app: &str) -> PathBuf {
    dir.join("logs").join(format!("{app}-out.log"))
}

/// Appends `text`, each line stamped now as pm2 `--time` does.
fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new().create(true).append(true).open(path).expect("open log");
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let stamped: String = text.lines().map(|l| format!("{now}: {l}\n")).collect();
    f.write_all(stamped.as_bytes()).expect("append");
}

const LOOP: &str = "BOOM\nBOOM\nBOOM";

fn apps_firing(alerts: &[Stored], rule: &str) -> BTreeSet<String> {
    alerts.iter().filter(|a| a.labels["alertname"] == rule).map(|a| a.labels["app"].clone()).collect()
}

fn set(apps: &[&str]) -> BTreeSet<String> {
    apps.iter().map(|s| s.to_string()).collect()
}

/// Each label set once, each fingerprint once.
fn assert_no_duplicates(alerts: &[Stored]) {
    let prints: BTreeSet<&str> = alerts.iter().map(|a| a.fingerprint.as_str()).collect();
    let ids: BTreeSet<&str> = alerts.iter().map(|a| a.labels["incident_id"].as_str()).collect();
    assert_eq!((prints.len(), ids.len()), (alerts.len(), alerts.len()), "{alerts:?}");
}

#[test]
fn an_appended_loop_reaches_alertmanager_and_is_resent() {
    let Some(bin) = am::binary_or_skip("an_appended_loop_reaches_alertmanager_and_is_resent") else { return };
    let am = Am::start(&bin, false, &[]);
    let dir = logs(&["api"]);
    let w = Watch::start(dir.path(), &[&am], &[]);
    let appended = Instant::now();
    append(&log_of(dir.path(), "api"), LOOP);
    let got = am.alerts_until(Duration::from_secs(10), |a| !apps_firing(a, "t.loop").is_empty());
    let latency = appended.elapsed();
    eprintln!("deliver: loop appended -> alert listed by Alertmanager in {} ms", latency.as_millis());
    assert_eq!(apps_firing(&got, "t.loop"), set(&["api"]), "{:?}", w.stderr());
    let alert = &got[0];
    assert_eq!((alert.labels["instance"].as_str(), alert.labels["severity"].as_str()), ("ci", "critical"));
    // Resent every second while it fires (Alertmanager counts each post).
    let first = am.received("firing");
    let deadline = Instant::now() + Duration::from_secs(10);
    while am.received("firing") < first + 2 {
        assert!(Instant::now() < deadline, "not resent: {} posts", am.received("firing"));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(am.alerts().len(), 1, "a resend is the same alert");
    assert_eq!(w.stop(), 0);
}

#[test]
fn alerts_raised_while_alertmanager_is_down_arrive_once_it_is_back() {
    let Some(bin) = am::binary_or_skip("alerts_raised_while_alertmanager_is_down_arrive_once_it_is_back") else {
        return;
    };
    let mut am = Am::start(&bin, false, &[]);
    let apps = ["a1", "a2", "a3"];
    let dir = logs(&apps);
    let w = Watch::start(dir.path(), &[&am], &[]);
    append(&log_of(dir.path(), "a1"), LOOP);
    am.alerts_until(Duration::from_secs(10), |a| apps_firing(a, "t.loop").contains("a1"));
    am.kill();
    for app in &apps[1..] {
        append(&log_of(dir.path(), app), LOOP);
    }
    w.wait_stderr(Duration::from_secs(10), "cannot deliver");
    std::thread::sleep(Duration::from_millis(1500));
    am.restart();
    let got = am.alerts_until(Duration::from_secs(20), |a| apps_firing(a, "t.loop").len() == apps.len());
    assert_eq!(apps_firing(&got, "t.loop"), set(&apps), "{:?}", w.stderr());
    assert_no_duplicates(&got);
    w.wait_stderr(Duration::from_secs(10), "delivering again");
    assert_eq!(w.stop(), 0);
}

#[test]
fn a_cluster_peer_killed_mid_run_catches_up_when_it_returns() {
    let Some(bin) = am::binary_or_skip("a_cluster_peer_killed_mid_run_catches_up_when_it_returns") else { return };
    let one = Am::start(&bin, true, &[]);
    let mut two = Am::start(&bin, true, &[one.gossip.expect("gossip")]);
    let dir = logs(&["a1", "a2"]);
    let w = Watch::start(dir.path(), &[&one, &two], &[]);
    append(&log_of(dir.path(), "a1"), LOOP);
    for peer in [&one, &two] {
        let got = peer.alerts_until(Duration::from_secs(10), |a| !apps_firing(a, "t.loop").is_empty());
        assert_eq!(apps_firing(&got, "t.loop"), set(&["a1"]));
    }
    two.kill();
    append(&log_of(dir.path(), "a2"), LOOP);
    let got = one.alerts_until(Duration::from_secs(10), |a| apps_firing(a, "t.loop").len() == 2);
    assert_eq!(apps_firing(&got, "t.loop"), set(&["a1", "a2"]), "the live peer takes it");
    two.restart();
    let back = two.alerts_until(Duration::from_secs(20), |a| apps_firing(a, "t.loop").len() == 2);
    let fingerprints = |alerts: &[Stored]| alerts.iter().map(|a| a.fingerprint.clone()).collect::<BTreeSet<_>>();
    assert_eq!(fingerprints(&back), fingerprints(&one.alerts()), "both peers hold the same alerts");
    assert_no_duplicates(&back);
    assert_eq!(w.stop(), 0);
}

#[test]
fn watch_killed_and_restarted_loses_and_repeats_nothing() {
    let Some(bin) = am::binary_or_skip("watch_killed_and_restarted_loses_and_repeats_nothing") else { return };
    let mut am = Am::start(&bin, false, &[]);
    let dir = logs(&["a1", "a2", "a3"]);
    let w = Watch::start(dir.path(), &[&am], &[]);
    append(&log_of(dir.path(), "a1"), LOOP);
    am.alerts_until(Duration::from_secs(10), |a| !apps_firing(a, "t.loop").is_empty());
    // a2's alert is decided while Alertmanager is down: it is only in the
    // spool when watch dies.
    am.kill();
    append(&log_of(dir.path(), "a2"), LOOP);
    w.wait_stderr(Duration::from_secs(10), "cannot deliver");
    let spool = dir.path().join("watch.state.alerts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&spool).is_ok_and(|s| s.contains("\"a2\"")) {
        assert!(Instant::now() < deadline, "a2 never spooled");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(w); // SIGKILL
    append(&log_of(dir.path(), "a3"), LOOP);
    am.restart();
    let w = Watch::start(dir.path(), &[&am], &[]);
    let got = am.alerts_until(Duration::from_secs(20), |a| apps_firing(a, "t.loop").len() == 3);
    assert_eq!(apps_firing(&got, "t.loop"), set(&["a1", "a2", "a3"]), "{:?}", w.stderr());
    assert_no_duplicates(&got);
    // Nothing more comes: a1 and a2 are not emitted again as new incidents.
    std::thread::sleep(Duration::from_millis(1500));
    let after = am.alerts();
    assert_eq!(after.len(), 3, "{after:?}");
    assert_eq!(w.stop(), 0);
}
