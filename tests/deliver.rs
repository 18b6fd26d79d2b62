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

/// A loop is three BOOMs of one app within a minute (it fires for the
/// whole test), a flap three BLIPs within 2 s (quiet for 2 s, it is over).
const PACK: &str = r#"
[[rule]]
id = "t.loop"
title = "{app} loops"
severity = "critical"
regex = 'BOOM'
correlate = { kind = "threshold", count = 3, window = "1m" }
fix = "f"

[[rule]]
id = "t.flap"
title = "{app} flaps"
severity = "high"
regex = 'BLIP'
correlate = { kind = "threshold", count = 3, window = "2s" }
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

    /// `GET /metrics` of `--metrics 127.0.0.1:0` (the address is on stderr).
    fn metrics(&self) -> String {
        let said = "logtriage: delivery metrics on http://";
        let line = self.stderr().into_iter().find(|l| l.starts_with(said)).expect("metrics address on stderr");
        let addr = line[said.len()..].trim_end_matches("/metrics").parse().expect("address");
        let (status, body) = am::request(addr, "GET", "/metrics").expect("GET /metrics");
        assert_eq!(status, 200, "{body}");
        body
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
    let w = Watch::start(dir.path(), &[&am], &["--metrics", "127.0.0.1:0"]);
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
    // Delivery health as Prometheus metrics, per peer.
    let metrics = w.metrics();
    let peer = format!("{{peer=\"{}\"}}", am.url());
    let value = |name: &str| metric(&metrics, &format!("{name}{peer}"));
    assert!(value("logtriage_alerts_sent_total") >= 2.0, "{metrics}");
    assert_eq!((value("logtriage_alertmanager_up"), value("logtriage_alerts_spooled")), (1.0, 0.0), "{metrics}");
    assert_eq!(metric(&metrics, "logtriage_alert_spool_size"), 1.0, "the firing alert stays spooled: {metrics}");
    assert_eq!(w.stop(), 0);
}

/// The value of the sample named `series` (name and labels as written).
fn metric(text: &str, series: &str) -> f64 {
    let line = text.lines().find(|l| l.strip_prefix(series).is_some_and(|rest| rest.starts_with(' ')));
    line.and_then(|l| l.rsplit(' ').next()?.parse().ok()).unwrap_or_else(|| panic!("no {series} in {text}"))
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

/// A flap quiet for its window (2 s) is resolved at its last BLIP; a link
/// lost past its window fires, and is resolved by its restore. Alertmanager
/// lists an alert only until it ends, and counts each resolved post.
#[test]
fn a_quiet_flap_and_a_restored_link_are_resolved() {
    let Some(bin) = am::binary_or_skip("a_quiet_flap_and_a_restored_link_are_resolved") else { return };
    let am = Am::start(&bin, false, &[]);
    let dir = logs(&["api", "tws"]);
    let w = Watch::start(dir.path(), &[&am], &[]);
    append(&log_of(dir.path(), "tws"), "LINK DOWN");
    let got = am.alerts_until(Duration::from_secs(10), |a| !apps_firing(a, "t.link").is_empty());
    assert_eq!(apps_firing(&got, "t.link"), set(&["tws"]), "{got:?} {:?}", w.stderr());
    append(&log_of(dir.path(), "tws"), "LINK UP");
    let got = am.alerts_until(Duration::from_secs(10), |a| apps_firing(a, "t.link").is_empty());
    assert!(apps_firing(&got, "t.link").is_empty(), "the restore resolves the link alert: {got:?}");
    assert_eq!(am.received("resolved"), 1);
    append(&log_of(dir.path(), "api"), "BLIP\nBLIP\nBLIP");
    // It fires, then its group goes quiet: resolved two seconds after
    // the last BLIP.
    let deadline = Instant::now() + Duration::from_secs(15);
    while am.received("resolved") < 2 {
        assert!(Instant::now() < deadline, "the flap was not resolved: {:?} {:?}", am.alerts(), w.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(am.alerts().is_empty(), "{:?}", am.alerts());
    // Resolved alerts every peer took leave the spool (saved at the stop).
    assert_eq!(w.stop(), 0);
    let spool = std::fs::read_to_string(dir.path().join("watch.state.alerts")).expect("spool");
    assert!(spool.contains("\"alerts\":[]"), "{spool}");
}

/// A reader that goes away (a closed pipe) stops watch (exit 0, as for
/// `scan | head`), after the alert was spooled and the state saved: a
/// restart neither loses nor repeats the incident.
#[test]
fn a_closed_stdout_still_delivers_and_saves_the_state() {
    let Some(bin) = am::binary_or_skip("a_closed_stdout_still_delivers_and_saves_the_state") else { return };
    let am = Am::start(&bin, false, &[]);
    let dir = logs(&["api"]);
    std::fs::write(dir.path().join("pack.toml"), PACK).expect("pack");
    let mut child = Command::new(env!("CARGO_BIN_EXE_logtriage"))
        .current_dir(dir.path())
        .args(["watch", "logs", "--no-builtin-rules", "--rules", "pack.toml", "--instance", "ci"])
        .args(["--state", "watch.state", "--alertmanager", &am.url()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    while !line.contains("logtriage: watching") {
        line.clear();
        assert!(stderr.read_line(&mut line).is_ok_and(|n| n > 0), "watch did not start");
    }
    append(&log_of(dir.path(), "api"), LOOP);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "watch did not stop on a closed stdout");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    assert_eq!(status.code(), Some(0), "{rest}");
    let state = std::fs::read_to_string(dir.path().join("watch.state")).expect("state saved");
    let spool = std::fs::read_to_string(dir.path().join("watch.state.alerts")).expect("spool");
    let id = spool.split("\"id\":\"").nth(1).and_then(|s| s.split('"').next()).expect("a spooled alert");
    assert!(state.contains(id), "the state records {id} as emitted: {state}");
    // The spooled alert reaches Alertmanager after the restart, once.
    let w = Watch::start(dir.path(), &[&am], &[]);
    let got = am.alerts_until(Duration::from_secs(10), |a| !apps_firing(a, "t.loop").is_empty());
    assert_eq!(apps_firing(&got, "t.loop"), set(&["api"]), "{:?}", w.stderr());
    assert_no_duplicates(&got);
    assert_eq!(w.stop(), 0);
}

/// In a log without timestamps a flap stands at the time its lines were
/// read; quiet for its window after that, it is resolved as well.
#[test]
fn an_untimed_flap_is_resolved_too() {
    let Some(bin) = am::binary_or_skip("an_untimed_flap_is_resolved_too") else { return };
    let am = Am::start(&bin, false, &[]);
    let dir = logs(&[]);
    let raw = log_of(dir.path(), "raw");
    std::fs::write(&raw, "started\n").expect("log");
    let w = Watch::start(dir.path(), &[&am], &[]);
    let mut f = OpenOptions::new().append(true).open(&raw).expect("open");
    f.write_all(b"BLIP\nBLIP\nBLIP\n").expect("append");
    let deadline = Instant::now() + Duration::from_secs(15);
    while am.received("resolved") < 1 {
        assert!(Instant::now() < deadline, "not resolved: {:?} {:?}", am.alerts(), w.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(am.received("firing") >= 1 && am.alerts().is_empty(), "{:?}", am.alerts());
    assert_eq!(w.stop(), 0);
}
