use crate::util::{brief, run, scan_json};

fn briefs(dir: &str) -> Vec<String> {
    let (_, doc) = scan_json(&[dir], &[]);
    doc.incidents.iter().map(brief).collect()
}

/// pm2 --time, fork mode: every line of the Node 18 rejection dump is
/// stamped. The bridge then reconnects with the crashed process's client id
/// (326), a 40 s nightly blip is restored (an outage with its length), and
/// the late loss is never restored. The farm OK notices (2104/2106/2158),
/// the 2108 inactive notice and a log line mentioning "unhandledRejection"
/// raise nothing.
#[test]
fn fork_mode_with_time() {
    assert_eq!(
        briefs("fixtures/pm2/fork-time"),
        vec![
            "node.unhandled-rejection high app=tws-bridge count=1 2026-11-20T14:12:09Z..2026-11-20T14:12:09Z at tws-bridge-error.log:10",
            "tws.client-id-in-use high app=tws-bridge count=1 2026-11-20T14:12:11Z..2026-11-20T14:12:11Z at tws-bridge-out.log:45",
            "tws.connectivity-lost high app=tws-bridge count=2 2026-11-20T23:47:30Z..2026-11-20T23:48:00Z at tws-bridge-out.log:50,tws-bridge-out.log:51",
            "tws.connectivity-restored low app=tws-bridge count=2 2026-11-20T10:04:12Z..2026-11-20T10:04:52Z at tws-bridge-out.log:38,tws-bridge-out.log:40",
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
/// line before it. Both instances' files fold into one incident for the app;
/// the rejected promise was a lost PostgreSQL connection, and Redis's host
/// did not resolve.
#[test]
fn cluster_mode() {
    assert_eq!(
        briefs("fixtures/pm2/cluster"),
        vec![
            "node.unhandled-rejection high app=api count=2 2026-11-20T11:15:42.007Z..2026-11-20T13:41:09.660Z at api-error-0.log:8,api-error-1.log:3",
            "postgres.connection-lost high app=api count=1 2026-11-20T11:15:42.007Z..2026-11-20T11:15:42.007Z at api-error-0.log:8",
            "redis.unreachable high app=api count=1 2026-11-20T11:15:42.007Z..2026-11-20T11:15:42.007Z at api-error-0.log:1",
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
            "redis.unreachable high app=worker count=2 2026-11-20T12:30:01.204Z..2026-11-20T12:30:01.512Z at worker-error.log:1,worker-error.log:2",
            "node.unhandled-rejection high app=worker count=1 2026-11-20T12:30:01.512Z..2026-11-20T12:30:01.512Z at worker-error.log:2",
        ]
    );
    let rejection = doc.incidents.iter().find(|i| i.rule == "node.unhandled-rejection").expect("rejection");
    assert_eq!(rejection.fields["reason"], vec!["Error: connect ECONNREFUSED 127.0.0.1:6379"]);
}

/// No timestamps: incidents carry no times, and the windowed rules judge
/// each file by its order. pm2.log's six exits are a crash loop; the
/// bridge's 1100 followed by its 1101 is an outage whose length is unknown
/// (tws.connectivity-restored), not an unrecovered one (the absence rule
/// stays quiet); the farm OK notices close nothing and open nothing.
#[test]
fn no_timestamps() {
    let (_, doc) = scan_json(&["fixtures/pm2/no-timestamps"], &[]);
    let b: Vec<String> = doc.incidents.iter().map(brief).collect();
    assert_eq!(
        b,
        vec![
            "pm2.crash-loop critical app=telegram-bot count=6 ?..? at pm2.log:3,pm2.log:6,pm2.log:18",
            "node.unhandled-rejection high app=telegram-bot count=2 ?..? at telegram-bot-error.log:1,telegram-bot-error.log:7",
            "tws.data-lost medium app=md-bridge count=1 ?..? at md-bridge-out.log:6",
            "tws.connectivity-restored low app=md-bridge count=2 ?..? at md-bridge-out.log:5,md-bridge-out.log:6",
        ]
    );
    let find = |rule: &str| doc.incidents.iter().find(|i| i.rule == rule).expect(rule);
    let crash = find("pm2.crash-loop");
    // Each run's length is unknown too: an exit's `online` is found by order.
    assert_eq!(
        crash.title,
        "telegram-bot is crash-looping: 6 exits in a log without timestamps, each run of unknown length"
    );
    assert_eq!(crash.window.as_deref(), Some("5m"), "the JSON window is still the rule's");
    assert!(crash.fix.starts_with(
        "pm2 restarted telegram-bot 6 times in a log without timestamps, from line 3 of pm2.log to line 18 of \
         pm2.log; each run lasted an unknown time (exit codes: 1;"
    ));
    let restored = find("tws.connectivity-restored");
    assert_eq!(restored.title, "md-bridge: TWS connectivity lost and restored (outage: unknown)");
    assert_eq!(restored.fields["gap"], vec!["unknown"]);
    assert!(!restored.fields.contains_key("gap_ms"));
    assert!(restored.fix.starts_with("TWS/IB Gateway lost its link to IB's servers at line 5 of md-bridge-out.log"));
    // The only note left names the files without times.
    assert_eq!(doc.summary.notes.len(), 1, "{:?}", doc.summary.notes);
    assert!(doc.summary.notes[0].starts_with("3 file(s) have no timestamps"));
}

/// An untimed loss that nothing closes later in its file is an outage not
/// recovered by the end of the log; its title says so, and says where
/// instead of when.
#[test]
fn no_timestamps_unrecovered_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("md-bridge-out.log");
    std::fs::write(
        &log,
        "connecting to 127.0.0.1:7497 as client 3\n\
         error --- Market data farm connection is broken:usfarm\n\
         error --- Connectivity between IB and Trader Workstation has been lost.\n\
         subscribed ES DEC26\n",
    )
    .expect("write");
    let (_, doc) = scan_json(&[log.to_str().expect("utf-8 path")], &[]);
    let titles: Vec<&str> = doc.incidents.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(
        titles,
        vec![
            "md-bridge: TWS/IB Gateway lost its link to IB servers at line 3 of md-bridge-out.log (1100), \
             not recovered by end of log; times unknown",
            "md-bridge: IB Market data farm usfarm broken, not recovered by end of log; times unknown",
        ]
    );
    assert!(doc.incidents.iter().all(|i| i.first_seen.is_none() && i.last_seen.is_none()));
}

/// An untimed crash loop keeps its place in every format, with no time
/// anywhere and its title and "when" line saying what is known.
#[test]
fn no_timestamps_in_every_format() {
    let dir = "fixtures/pm2/no-timestamps";
    let title = "telegram-bot is crash-looping: 6 exits in a log without timestamps, each run of unknown length";
    let when = "no timestamps in the log (6×, window 5m not checked)";
    let out = |format: &str| {
        let r = run(&["scan", "--format", format, "--instance", "h", dir]);
        assert_eq!(r.code, 1, "{format}: {}", r.stderr);
        r.stdout
    };
    let text = out("text");
    assert!(text.starts_with(&format!("[CRITICAL] telegram-bot  no timestamps  {title}\n")), "{text}");
    assert!(text.contains(&format!("\n    critical pm2.crash-loop             {title} (6×)\n")), "{text}");
    let details = run(&["scan", "--details", dir]).stdout;
    assert!(details.contains(&format!("\n  when      {when}\n")), "{details}");
    let json: serde_json::Value = serde_json::from_str(&out("json")).expect("json");
    let first = &json["incidents"][0];
    assert_eq!((first["title"].as_str(), first["window"].as_str()), (Some(title), Some("5m")));
    assert!(first["first_seen"].is_null() && first["last_seen"].is_null(), "{first}");
    let ndjson = out("ndjson");
    let line: serde_json::Value =
        serde_json::from_str(ndjson.lines().find(|l| l.contains("\"type\":\"incident\"")).expect("a line"))
            .expect("ndjson");
    assert_eq!(line["data"], *first);
    let markdown = out("markdown");
    assert!(markdown.contains(&format!("| critical | `pm2.crash-loop` | telegram-bot | 6 | — | [{title}](#incident-")));
    assert!(markdown.contains(&format!("- **When:** {when}\n")), "{markdown}");
    let alerts: serde_json::Value = serde_json::from_str(&out("alertmanager")).expect("alerts");
    let alert = &alerts[0];
    assert_eq!(alert["annotations"]["summary"], title);
    assert!(alert["annotations"]["description"].as_str().is_some_and(|d| d.starts_with(when)));
    // No time to give: Alertmanager starts it on receipt, and even the
    // closed (lost and restored) pair carries no endsAt.
    let untimed = alerts.as_array().expect("array");
    assert_eq!(untimed.len(), 4);
    assert!(untimed.iter().all(|a| a.get("startsAt").is_none() && a.get("endsAt").is_none()), "{alerts}");
}

/// The daemon log: a 16-restart cluster crash loop and pm2 giving up (named
/// by the exit line before it), a SIGKILL after kill_timeout (one incident:
/// the exit it caused is its evidence, not a restart-on-signal), a V8 abort,
/// a max-memory restart (named by the `Stopping app:` after it). Not
/// incidents: one restart, a cluster reload (`_old_` workers), four exits
/// each after a run of over a minute, five exits spread over half an hour,
/// and the deliberate stops.
#[test]
fn daemon_log() {
    assert_eq!(
        briefs("fixtures/pm2/daemon"),
        vec![
            "pm2.crash-loop critical app=api count=16 2026-11-20T17:05:30Z..2026-11-20T17:05:33Z at pm2.log:83,pm2.log:87,pm2.log:143",
            "pm2.errored critical app=api count=1 2026-11-20T17:05:34Z..2026-11-20T17:05:34Z at pm2.log:144",
            "pm2.restart-on-signal high app=next-web count=1 2026-11-20T21:37:04Z..2026-11-20T21:37:04Z at pm2.log:155",
            "pm2.kill-timeout medium app=tws-bridge count=1 2026-11-20T16:40:01Z..2026-11-20T16:40:01Z at pm2.log:75",
            "pm2.max-memory-restart medium app=worker count=1 2026-11-20T17:06:01Z..2026-11-20T17:06:01Z at pm2.log:148",
        ]
    );
}

/// Saved `pm2 logs` output with colours: the PM2 column is the daemon, and
/// the tail-section header restores the app name the column truncates. The
/// tail starts with an exit whose `online` it does not show: how long that
/// run lasted is unknown, so the loop counts the four after it. The two
/// error prints of the error-log section (@pm2/io's form: the error and its
/// stack) are followed in the same second by an exit with code 1: the
/// crashes' cause.
#[test]
fn saved_pm2_logs_output() {
    assert_eq!(
        briefs("fixtures/pm2/pm2-logs-capture"),
        vec![
            "pm2.crash-loop critical app=tws-bridge count=4 2026-11-21T06:02:13Z..2026-11-21T06:02:19Z at pm2-logs-prod-1.log:6,pm2-logs-prod-1.log:9,pm2-logs-prod-1.log:15",
            "tws.connectivity-lost high app=tws-bridge count=1 2026-11-21T06:01:58Z..2026-11-21T06:01:58Z at pm2-logs-prod-1.log:26",
            "node.uncaught-exception high app=tws-bridge count=2 2026-11-21T06:02:11Z..2026-11-21T06:02:13Z at pm2-logs-prod-1.log:20,pm2-logs-prod-1.log:22",
        ]
    );
}

/// The whole fixture tree, as an SRE reads it after a bad day: most severe
/// first, then earliest. It holds the crash loops, the bridge's unrecovered
/// disconnect with its start time, the recovered one with its outage length,
/// the 326 zombie after the crash, the unhandled rejections and the OOM
/// (whose SIGABRT in pm2.log is the OOM's, not a second incident); and
/// nothing for the single restarts or the farm "OK" notices.
#[test]
fn mixed_tree_tells_the_story() {
    let (_, doc) = scan_json(&["fixtures/pm2"], &[]);
    let order: Vec<String> =
        doc.incidents.iter().map(|i| format!("{} {}", i.rule, i.app.as_deref().unwrap_or("-"))).collect();
    assert_eq!(
        order,
        vec![
            "pm2.crash-loop api",
            "pm2.errored api",
            "node.heap-oom next-web",
            "pm2.crash-loop tws-bridge",
            "pm2.crash-loop telegram-bot",
            "node.unhandled-rejection api",
            "postgres.connection-lost api",
            "redis.unreachable api",
            "redis.unreachable worker",
            "node.unhandled-rejection worker",
            "node.unhandled-rejection tws-bridge",
            "tws.client-id-in-use tws-bridge",
            "tws.connectivity-lost tws-bridge",
            "tws.connectivity-lost tws-bridge",
            "node.uncaught-exception tws-bridge",
            "node.unhandled-rejection telegram-bot",
            "pm2.kill-timeout tws-bridge",
            "pm2.max-memory-restart worker",
            "tws.data-lost md-bridge",
            "tws.connectivity-restored tws-bridge",
            "tws.connectivity-restored md-bridge",
        ]
    );
    let find = |rule: &'static str| doc.incidents.iter().filter(move |i| i.rule == rule);
    // The unrecovered disconnect says when it started and that it was not restored.
    let lost: Vec<(&str, &str)> = find("tws.connectivity-lost")
        .map(|i| (i.first_seen.as_deref().unwrap_or(""), i.fields["status"][0].as_str()))
        .collect();
    assert_eq!(lost[0], ("2026-11-20T23:47:30Z", "no recovery logged within 2m"));
    assert!(lost[1].1.starts_with("not recovered by end of log"), "{lost:?}");
    assert!(find("tws.connectivity-lost").all(|i| i.title.contains(i.first_seen.as_deref().unwrap_or("?"))));
    // The nightly blip was restored: an outage and its length.
    let restored = find("tws.connectivity-restored").next().expect("restored");
    assert_eq!(restored.fields["gap"], vec!["40s"]);
    assert_eq!(find("tws.connectivity-restored").nth(1).map(|i| &i.fields["gap"][0]), Some(&"unknown".to_string()));
    assert_eq!(restored.title, "tws-bridge: TWS connectivity lost and restored (outage: 40s)");
    // The zombie client id right after the crash restart.
    assert_eq!(
        find("tws.client-id-in-use").next().and_then(|i| i.first_seen.clone()).as_deref(),
        Some("2026-11-20T14:12:11Z")
    );
    // A single restart (tws-bridge at 14:12:09, next-web's OOM restart) is
    // not a crash loop; the tws-bridge loop is the next day's.
    let loops: Vec<(&str, &str)> = find("pm2.crash-loop")
        .map(|i| (i.app.as_deref().unwrap_or(""), i.first_seen.as_deref().unwrap_or("")))
        .collect();
    // The untimed pm2.log's loop comes after them: it has no time. The
    // saved tail's loop starts at its second exit (the first one's run is
    // not shown).
    assert_eq!(
        loops,
        vec![("api", "2026-11-20T17:05:30Z"), ("tws-bridge", "2026-11-21T06:02:13Z"), ("telegram-bot", "")]
    );
    // Farm "OK" notices are never evidence of anything.
    assert!(doc.incidents.iter().flat_map(|i| &i.evidence).all(|e| !e.text.contains("connection is OK")));
    assert_eq!(doc.summary.files.len(), 14);
}
