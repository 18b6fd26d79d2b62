//! `--format alertmanager`: the payload against the JSON run of the same
//! input, and the round trip through a real Alertmanager (skipped, saying
//! so, where none is installed; `.ci/run` installs one and requires it).

// Also the delivery tests' (tests/deliver/am.rs): one way to find, start
// and talk to an Alertmanager.
pub mod server;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;

use crate::util::{Doc, Incident, run, run_in, scan_json};

/// One element of our payload, decoded into the test's own type: a field
/// added or renamed fails here.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Alert {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: Option<String>,
    #[serde(rename = "endsAt")]
    ends_at: Option<String>,
}

/// What `GET /api/v2/alerts` gives back (the part the tests read).
#[derive(Debug, Deserialize)]
struct Stored {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt")]
    ends_at: String,
}

/// Rules of the shipped fixtures whose incidents close: the sequence rule
/// (every incident is a start and its closing event). The fixtures'
/// absence incidents are not recovered, so they stay open. (pm2.kill-timeout
/// was a sequence of its line and the SIGKILL exit; it is one event now,
/// named by that exit through its context.)
const CLOSING: [&str; 1] = ["tws.connectivity-restored"];

fn alerts_of(args: &[&str]) -> Vec<Alert> {
    let r = run(args);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not an alert array ({e}); stderr: {}", r.stderr))
}

fn time(t: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(t).unwrap_or_else(|e| panic!("{t}: {e}"))
}

fn label_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The alert an incident must give, field by field.
fn check_alert(a: &Alert, i: &Incident, instance: &str) {
    let l = &a.labels;
    assert_eq!(l["alertname"], i.rule);
    assert_eq!(l["severity"], i.severity);
    assert_eq!(l.get("app"), i.app.as_ref());
    assert_eq!(l["instance"], instance);
    assert_eq!(l["incident_id"], i.id);
    for (field, value) in &i.key {
        assert_eq!(l.get(field), Some(value), "group key field {field} of {}", i.rule);
    }
    assert!(l.keys().all(|n| label_name_ok(n)), "{l:?}");
    assert_eq!(a.annotations["summary"], i.title);
    assert_eq!(a.annotations["fix"], i.fix);
    let first = &i.evidence[0];
    assert!(a.annotations["evidence"].starts_with(&format!("{}:{}\n", first.file, first.line)), "{a:?}");
    assert_eq!(a.starts_at, i.first_seen);
    let closes = CLOSING.contains(&i.rule.as_str());
    assert_eq!(a.ends_at, if closes { i.last_seen.clone() } else { None }, "{}", i.rule);
}

#[test]
fn alertmanager_has_one_alert_per_incident_in_report_order() {
    let (_, doc): (_, Doc) = scan_json(&["fixtures/pm2"], &["--fail-on", "never"]);
    let r = run(&["scan", "--format", "alertmanager", "--instance", "ci-host", "--fail-on", "never", "fixtures/pm2"]);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    let alerts: Vec<Alert> = serde_json::from_str(&r.stdout).expect("alert array");
    assert_eq!(alerts.len(), doc.incidents.len());
    for (a, i) in alerts.iter().zip(&doc.incidents) {
        check_alert(a, i, "ci-host");
    }
    let closed: BTreeSet<&str> =
        alerts.iter().filter(|a| a.ends_at.is_some()).map(|a| a.labels["alertname"].as_str()).collect();
    assert_eq!(closed, BTreeSet::from(CLOSING));
    // Logs without timestamps (no-timestamps/) give alerts without startsAt.
    assert!(alerts.iter().any(|a| a.starts_at.is_none()));
    // Alertmanager deduplicates on the label set: one set per incident.
    let sets: BTreeSet<&BTreeMap<String, String>> = alerts.iter().map(|a| &a.labels).collect();
    assert_eq!(sets.len(), alerts.len());
    // The exit status follows --fail-on as in every format.
    assert_eq!(run(&["scan", "--format", "alertmanager", "--instance", "x", "fixtures/pm2"]).code, 1);
}

#[test]
fn alertmanager_bytes_do_not_depend_on_threads() {
    let args = |n| ["scan", "--threads", n, "--format", "alertmanager", "--instance", "h", "fixtures/pm2"];
    let one = run(&args("1"));
    let two = run(&args("2"));
    assert!(one.stdout.starts_with("[\n  {"), "{}", one.stdout);
    assert_eq!(one.stdout, two.stdout);
}

#[test]
fn alertmanager_times_follow_log_tz() {
    let args = ["scan", "--format", "alertmanager", "--instance", "h", "--log-tz", "+02:00", "fixtures/pm2/daemon"];
    let alerts = alerts_of(&args);
    // pm2.log writes 17:05:30 without a zone: read as +02:00, kept as written.
    assert_eq!(alerts[0].labels["alertname"], "pm2.crash-loop");
    assert_eq!(alerts[0].starts_at.as_deref(), Some("2026-11-20T17:05:30+02:00"));
}

#[test]
fn alertmanager_instance_defaults_to_the_hostname() {
    let alerts = alerts_of(&["scan", "--format", "alertmanager", "fixtures/pm2/daemon"]);
    assert!(!alerts[0].labels["instance"].is_empty());
    if cfg!(target_os = "linux") {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("procfs");
        assert_eq!(alerts[0].labels["instance"], host.trim_end());
    }
    let alerts = alerts_of(&["scan", "--format", "alertmanager", "--instance", "", "fixtures/pm2/daemon"]);
    assert!(!alerts[0].labels.contains_key("instance"), "{:?}", alerts[0].labels);
}

#[test]
fn alertmanager_names_unreadable_paths_on_stderr() {
    let r =
        run(&["scan", "--format", "alertmanager", "--instance", "h", "fixtures/pm2/daemon", "fixtures/pm2/nope.log"]);
    assert_eq!(r.code, 2);
    let alerts: Vec<Alert> = serde_json::from_str(&r.stdout).expect("the alerts of what was read");
    assert!(!alerts.is_empty());
    assert!(r.stderr.contains("fixtures/pm2/nope.log"), "{}", r.stderr);
}

#[test]
fn alertmanager_without_incidents_is_an_empty_array() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("api-out.log"), "2026-11-20T10:00:00: listening on 3000\n").expect("write log");
    let r = run_in(dir.path(), &["scan", "--format", "alertmanager", "--instance", "h", "."], None);
    assert_eq!((r.code, r.stdout.as_str()), (0, "[]\n"), "{}", r.stderr);
}

/// `alertmanager_alerts_received_total` summed over versions, by status
/// (also read by the delivery tests).
pub fn received(metrics: &str, status: &str) -> u64 {
    let label = format!("status=\"{status}\"");
    metrics
        .lines()
        .filter(|l| l.starts_with("alertmanager_alerts_received_total{") && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn stored(server: &server::Server, query: &str) -> Vec<Stored> {
    let r = server.get(&format!("/api/v2/alerts{query}"));
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("alerts ({e}): {}", r.body))
}

/// The fixtures' payload posted as is. Alertmanager takes every alert;
/// the open ones come back with our labels, annotations and startsAt (or
/// the time of the post, where the log has no times) and an endsAt it set
/// `resolve_timeout` ahead. An alert whose endsAt has passed is resolved
/// on arrival: Alertmanager counts it as received resolved and leaves it
/// out of `GET /api/v2/alerts`, which lists only alerts not yet ended.
#[test]
fn alertmanager_round_trip() {
    let Some(server) = server::start_or_skip("alertmanager_round_trip") else { return };
    let payload =
        run(&["scan", "--format", "alertmanager", "--instance", "ci-host", "--fail-on", "never", "fixtures/pm2"]);
    let alerts: Vec<Alert> = serde_json::from_str(&payload.stdout).expect("alert array");
    let before = Utc::now();
    let posted = server.post_json("/api/v2/alerts", &payload.stdout);
    assert_eq!(posted.status, 200, "Alertmanager refused the payload: {}", posted.body);
    let after = Utc::now();

    let (resolved, open): (Vec<&Alert>, Vec<&Alert>) = alerts.iter().partition(|a| a.ends_at.is_some());
    for a in &resolved {
        let ends = a.ends_at.as_deref().map(time).expect("endsAt");
        assert!(ends < before, "the fixtures' times must lie in the past: {a:?}");
    }
    let names: BTreeSet<&str> = resolved.iter().map(|a| a.labels["alertname"].as_str()).collect();
    assert_eq!(names, BTreeSet::from(CLOSING));

    let back = stored(&server, "");
    let by_labels: BTreeMap<&BTreeMap<String, String>, &Stored> = back.iter().map(|s| (&s.labels, s)).collect();
    assert_eq!(back.len(), open.len(), "one stored alert per open alert");
    for a in &open {
        let s = by_labels.get(&a.labels).unwrap_or_else(|| panic!("not stored: {:?}", a.labels));
        assert_eq!(s.annotations, a.annotations);
        let starts = time(&s.starts_at);
        match &a.starts_at {
            Some(t) => assert_eq!(starts, time(t), "{:?}", a.labels),
            None => assert!(before - chrono::Duration::seconds(1) <= starts && starts <= after, "{s:?}"),
        }
        assert!(time(&s.ends_at) > after, "open alerts fire until resolve_timeout: {s:?}");
    }
    for a in &resolved {
        assert!(!by_labels.contains_key(&a.labels), "resolved alert listed as active: {:?}", a.labels);
    }

    let metrics = server.get("/metrics").body;
    assert_eq!(received(&metrics, "resolved"), resolved.len() as u64, "{metrics}");
    assert_eq!(received(&metrics, "firing"), open.len() as u64);

    // Posting the same scan again updates the same alerts: same label sets.
    assert_eq!(server.post_json("/api/v2/alerts", &payload.stdout).status, 200);
    assert_eq!(stored(&server, "").len(), open.len());

    // The guard kills and reaps the process.
    let pid = server.pid();
    drop(server);
    if cfg!(target_os = "linux") {
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "alertmanager {pid} outlived its guard");
    }
}

/// A resolved sequence keeps its endsAt through Alertmanager. Alertmanager
/// lists only alerts that have not ended, so to read one back, the outage
/// in this log lies an hour ahead: lost, then restored 40 s later.
#[test]
fn alertmanager_keeps_the_ends_at_of_a_resolved_sequence() {
    let Some(server) = server::start_or_skip("alertmanager_keeps_the_ends_at_of_a_resolved_sequence") else {
        return;
    };
    let lost = Utc::now() + chrono::Duration::hours(1);
    let restored = lost + chrono::Duration::seconds(40);
    let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let log = format!(
        "{}: [INFO] [TWS]:  Connectivity between IBKR and Trader Workstation has been lost. - Code: 1100\n\
         {}: [INFO] [TWS]:  Connectivity between IBKR and Trader Workstation has been restored - data maintained. \
         - Code: 1102\n",
        stamp(lost),
        stamp(restored)
    );
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("tws-bridge-out.log"), log).expect("write log");
    let r = run_in(dir.path(), &["scan", "--format", "alertmanager", "--instance", "ci-host", "."], None);
    let alerts: Vec<Alert> = serde_json::from_str(&r.stdout).expect("alert array");
    assert_eq!(alerts.len(), 1, "{}", r.stdout);
    assert_eq!(alerts[0].labels["alertname"], "tws.connectivity-restored");
    let want_end = format!("{}Z", stamp(restored));
    assert_eq!(alerts[0].ends_at.as_deref(), Some(want_end.as_str()));

    assert_eq!(server.post_json("/api/v2/alerts", &r.stdout).status, 200);
    let back = stored(&server, "?filter=alertname%3D%22tws.connectivity-restored%22");
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].labels, alerts[0].labels);
    assert_eq!(time(&back[0].ends_at), time(&want_end));
    assert_eq!(time(&back[0].starts_at), time(&format!("{}Z", stamp(lost))));
    assert!(back[0].annotations["description"].contains("gap=40s"), "{:?}", back[0].annotations);
}
