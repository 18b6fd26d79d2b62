use crate::util::{brief, scan_json};

fn briefs(dir: &str) -> Vec<String> {
    let (_, doc) = scan_json(&[dir], &[]);
    doc.incidents.iter().map(brief).collect()
}

/// pm2 --time, fork mode: every line of the Node 18 rejection dump is
/// stamped; the farm OK notices (2104/2106/2158), the 2108 inactive notice,
/// the 1102 restore and a log line mentioning "unhandledRejection" raise
/// nothing.
#[test]
fn fork_mode_with_time() {
    assert_eq!(
        briefs("fixtures/pm2/fork-time"),
        vec![
            "tws.connectivity-lost high app=tws-bridge count=3 2026-11-20T10:04:12Z..2026-11-20T23:48:00Z at tws-bridge-out.log:38,tws-bridge-out.log:47,tws-bridge-out.log:48",
            "node.unhandled-rejection high app=tws-bridge count=1 2026-11-20T14:12:09Z..2026-11-20T14:12:09Z at tws-bridge-error.log:10",
        ]
    );
}

#[test]
fn fork_mode_dump_is_one_record_with_its_reason() {
    let (_, doc) = scan_json(&["fixtures/pm2/fork-time/tws-bridge-error.log"], &[]);
    let inc = &doc.incidents[0];
    assert_eq!(inc.fields["reason"], vec!["reqHistoricalData timeout for AAPL (reqId 9013)"]);
    let text = &inc.evidence[0].text;
    assert!(text.starts_with("node:internal/process/promises:288\n"), "{text}");
    assert!(text.ends_with("Node.js v18.19.0"), "{text}");
}

/// Cluster mode: custom log_date_format with ms and zone; pm2 writes the
/// rejection banner raw (unstamped), so it takes the time of the stamped
/// line before it. Both instances' files fold into one incident for the app.
#[test]
fn cluster_mode() {
    assert_eq!(
        briefs("fixtures/pm2/cluster"),
        vec![
            "node.unhandled-rejection high app=api count=2 2026-11-20T11:15:42.007Z..2026-11-20T13:41:09.660Z at api-error-0.log:8,api-error-1.log:3",
        ]
    );
}

/// log_type json: the crash dump is one JSON object; its message is decoded
/// before matching, and app, stream and time come from the object.
#[test]
fn json_log_type() {
    let (_, doc) = scan_json(&["fixtures/pm2/json"], &[]);
    let b: Vec<String> = doc.incidents.iter().map(brief).collect();
    assert_eq!(
        b,
        vec![
            "node.unhandled-rejection high app=worker count=1 2026-11-20T12:30:01.512Z..2026-11-20T12:30:01.512Z at worker-error.log:2"
        ]
    );
    assert_eq!(doc.incidents[0].fields["reason"], vec!["Error: connect ECONNREFUSED 127.0.0.1:6379"]);
}

/// No timestamps: incidents carry no times, and the crash-loop rule, which
/// needs a window, says so once instead of guessing.
#[test]
fn no_timestamps() {
    let (_, doc) = scan_json(&["fixtures/pm2/no-timestamps"], &[]);
    let b: Vec<String> = doc.incidents.iter().map(brief).collect();
    assert_eq!(
        b,
        vec![
            "node.unhandled-rejection high app=telegram-bot count=2 ?..? at telegram-bot-error.log:1,telegram-bot-error.log:7",
            "tws.connectivity-lost high app=md-bridge count=1 ?..? at md-bridge-out.log:5",
        ]
    );
    assert!(doc.summary.notes.iter().any(|n| n.starts_with("pm2.crash-loop: 6 match(es) in logs without timestamps")));
}

/// The daemon log: a 16-restart cluster crash loop and pm2 giving up. Not
/// incidents: one restart, a cluster reload (`_old_` workers), four exits
/// in five minutes, five exits spread over half an hour, a SIGKILL after
/// kill_timeout.
#[test]
fn daemon_log() {
    assert_eq!(
        briefs("fixtures/pm2/daemon"),
        vec![
            "pm2.crash-loop critical app=api count=16 2026-11-20T17:05:30Z..2026-11-20T17:05:33Z at pm2.log:78,pm2.log:82,pm2.log:138",
            "pm2.errored critical app=- count=1 2026-11-20T17:05:34Z..2026-11-20T17:05:34Z at pm2.log:139",
        ]
    );
}

/// Saved `pm2 logs` output with colours: the PM2 column is the daemon, and
/// the tail-section header restores the app name the column truncates.
#[test]
fn saved_pm2_logs_output() {
    assert_eq!(
        briefs("fixtures/pm2/pm2-logs-capture"),
        vec![
            "pm2.crash-loop critical app=tws-bridge count=5 2026-11-21T06:02:11Z..2026-11-21T06:02:19Z at pm2-logs-prod-1.log:3,pm2-logs-prod-1.log:6,pm2-logs-prod-1.log:15",
            "tws.connectivity-lost high app=tws-bridge count=1 2026-11-21T06:01:58Z..2026-11-21T06:01:58Z at pm2-logs-prod-1.log:26",
        ]
    );
}

/// The whole fixture tree: most severe first, then earliest.
#[test]
fn whole_tree_order() {
    let (_, doc) = scan_json(&["fixtures/pm2"], &[]);
    let order: Vec<(String, String)> =
        doc.incidents.iter().map(|i| (i.rule.clone(), i.app.clone().unwrap_or_default())).collect();
    let expected = [
        ("pm2.crash-loop", "api"),
        ("pm2.errored", ""),
        ("pm2.crash-loop", "tws-bridge"),
        ("tws.connectivity-lost", "tws-bridge"),
        ("node.unhandled-rejection", "api"),
        ("node.unhandled-rejection", "worker"),
        ("node.unhandled-rejection", "tws-bridge"),
        ("node.unhandled-rejection", "telegram-bot"),
        ("tws.connectivity-lost", "md-bridge"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(order, expected);
    assert_eq!(doc.summary.files.len(), 12);
}
