//! Times where applications put them (issue 13, section 1): the binary on
//! `fixtures/times/`, one directory per shape. Each marked line
//! (`MARK-N`) is a match of the test rule `fixtures/times/marker.toml`, one
//! incident per file, so its evidence shows the time each marked line
//! got; `summary.files[].time_format` names the shape the file was read
//! with.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::util::{Doc, Incident, TimesOfDay, root, scan_json};

const MARKER: &str = "fixtures/times/marker.toml";

fn scan(path: &str, extra: &[&str]) -> Doc {
    let mut args = vec!["--rules", MARKER];
    args.extend_from_slice(extra);
    let (r, doc) = scan_json(&[path], &args);
    assert!(r.code == 0 || r.code == 1, "{path}: exit {}: {}", r.code, r.stderr);
    doc
}

fn incident<'d>(doc: &'d Doc, rule: &str) -> &'d Incident {
    doc.incidents.iter().find(|i| i.rule == rule).unwrap_or_else(|| panic!("no {rule} in {:#?}", doc.incidents))
}

/// The times of the marked lines the marker incident shows (the first two
/// and the last).
fn marks(doc: &Doc) -> Vec<Option<String>> {
    incident(doc, "times.marker").evidence.iter().map(|e| e.timestamp.clone()).collect()
}

fn some(times: &[&str]) -> Vec<Option<String>> {
    times.iter().map(|t| Some((*t).to_string())).collect()
}

/// The file's format and the times of its marked lines.
fn check(path: &str, format: Option<&str>, times: Vec<Option<String>>) {
    let doc = scan(path, &[]);
    let file = &doc.summary.files[0];
    assert_eq!(file.time_format.as_deref(), format, "{path}: time_format");
    assert_eq!(file.timestamps, times.iter().any(Option::is_some), "{path}: timestamps");
    assert_eq!(marks(&doc), times, "{path}: times of the marked lines");
    let inc = incident(&doc, "times.marker");
    assert_eq!((&inc.first_seen, &inc.last_seen), (&times[0], &times[times.len() - 1]), "{path}");
}

#[test]
fn iso_8601_at_the_start_and_behind_tags() {
    // log4js: `[ISO] [LEVEL] category - msg`; a stack under MARK-2.
    check(
        "fixtures/times/iso/log4js-api-out.log",
        Some("iso8601"),
        some(&["2026-11-20T10:00:03.502Z", "2026-11-20T10:01:10.777Z", "2026-11-20T10:02:59.001Z"]),
    );
    // `LEVEL <time>`, `[LEVEL] <time>`, `LEVEL:<time>:` (comma millis),
    // Ruby's `W, [<time> #pid]`, `(Thread) <time>`; a line printed without
    // a logger takes the time of the line before it.
    check(
        "fixtures/times/iso/levels-out.log",
        Some("iso8601"),
        some(&["2026-11-20T10:00:05.250Z", "2026-11-20T10:00:07.750Z", "2026-11-20T10:00:09Z"]),
    );
    // `docker logs -t`: RFC 3339 with nanoseconds.
    check(
        "fixtures/times/iso/docker-out.log",
        Some("iso8601"),
        some(&["2026-11-20T10:00:02Z", "2026-11-20T10:00:03.999Z"]),
    );
    // Go's `log`: `2026/11/20 10:00:01`, also behind a `name: ` prefix.
    check(
        "fixtures/times/iso/go-bridge-out.log",
        Some("iso8601"),
        some(&["2026-11-20T10:00:02Z", "2026-11-20T10:00:03Z"]),
    );
}

/// Stamps with an offset keep it; `--log-tz` reads the ones without (and
/// sets the offset shown).
#[test]
fn zones_written_and_log_tz() {
    let path = "fixtures/times/iso/zoned-out.log";
    check(path, Some("iso8601"), some(&["2026-11-20T10:00:00Z", "2026-11-20T10:05:00Z", "2026-11-20T10:10:00Z"]));
    // MARK-2 is now 08:05Z, the earliest: evidence is in time order.
    let doc = scan(path, &["--log-tz", "+02:00"]);
    assert_eq!(
        marks(&doc),
        some(&["2026-11-20T10:05:00+02:00", "2026-11-20T12:00:00+02:00", "2026-11-20T12:10:00+02:00"])
    );
}

/// Where pm2's `--time` prefix and the app's own time are both on a line,
/// the pm2 prefix is the record's time, as in every other pm2 file.
#[test]
fn the_pm2_prefix_wins_over_the_app_time() {
    check(
        "fixtures/times/pm2-time/ib-recorder-out.log",
        Some("pm2-prefix"),
        some(&["2026-11-21T02:10:06Z", "2026-11-21T02:13:42Z"]),
    );
}

/// Saved `pm2 logs` output: the app's time after the source column.
#[test]
fn app_times_after_a_pm2_logs_column() {
    check(
        "fixtures/times/pm2-logs/capture.log",
        Some("iso8601"),
        some(&["2026-11-20T10:00:03.502Z", "2026-11-20T10:01:10.777Z", "2026-11-20T10:02:00.004Z"]),
    );
}

#[test]
fn json_fields_of_pino_bunyan_and_winston() {
    // pino: epoch ms in `time`; a console.log line between two pino lines
    // takes the time of the one before it.
    check(
        "fixtures/times/json/pino-api-out.log",
        Some("json:time(epoch-ms)"),
        some(&["2026-11-20T10:00:03.502Z", "2026-11-20T10:01:10.777Z", "2026-11-20T10:01:10.777Z"]),
    );
    // bunyan: ISO text in `time`, after a long `msg`.
    check(
        "fixtures/times/json/bunyan-api-out.log",
        Some("json:time(iso8601)"),
        some(&["2026-11-20T10:00:03.502Z", "2026-11-20T10:01:10.777Z", "2026-11-20T10:02:59.001Z"]),
    );
    // winston's format.timestamp(): ISO, or a custom format.
    check(
        "fixtures/times/json/winston-api-out.log",
        Some("json:timestamp(iso8601)"),
        some(&["2026-11-20T10:00:03.502Z", "2026-11-20T10:01:10.777Z", "2026-11-20T10:02:59Z"]),
    );
}

#[test]
fn common_log_format_with_its_offsets() {
    check(
        "fixtures/times/clf/web-out.log",
        Some("clf"),
        some(&["2026-11-20T10:00:04Z", "2026-11-20T10:00:05Z", "2026-11-20T10:00:06Z"]),
    );
}

/// NestJS's logger: Node's en-US `toLocaleString()`, coloured, behind
/// `[Nest] PID  - `.
#[test]
fn nest_locale_times() {
    check(
        "fixtures/times/locale/nest-api-out.log",
        Some("locale-en-us"),
        some(&["2026-11-20T10:00:03Z", "2026-11-20T13:15:00Z", "2026-11-20T23:59:59Z"]),
    );
}

/// A copy of `fixtures/times/syslog/tws-bridge-out.log` last modified at
/// `mtime`.
fn syslog_copy(dir: &Path, mtime: SystemTime) -> String {
    let from = root().join("fixtures/times/syslog/tws-bridge-out.log");
    let to = dir.join("tws-bridge-out.log");
    std::fs::copy(&from, &to).expect("copy");
    let f = std::fs::File::options().write(true).open(&to).expect("open");
    f.set_modified(mtime).expect("set mtime");
    to.display().to_string()
}

/// syslog (`journalctl -o short[-precise]`) has no year: it is the year
/// of the file's modification time, or the year before for months after
/// it (a December log read in January).
#[test]
fn syslog_years_from_the_file_mtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nov_21 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_240_800); // 2026-11-21T06:00:00Z
    let path = syslog_copy(dir.path(), nov_21);
    let want = some(&["2026-11-20T23:59:58Z", "2026-11-21T00:00:03Z", "2026-11-21T00:01:07.250Z"]);
    let doc = scan(&path, &[]);
    assert_eq!(doc.summary.files[0].time_format.as_deref(), Some("syslog"));
    assert_eq!(marks(&doc), want);
    let jan_2 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_798_848_000); // 2027-01-02T00:00:00Z
    let path = syslog_copy(dir.path(), jan_2);
    assert_eq!(marks(&scan(&path, &[])), want, "read in January");
}

/// A file whose stamps are times of day with no date before them: its
/// format is known, its records get no instant (never dated by a guess),
/// the incident carries the times of day it knows, and the note says why.
#[test]
fn times_of_day_without_a_date_keep_their_own_clock() {
    let path = "fixtures/times/time-only/pino-pretty-api-out.log";
    check(path, Some("time-only"), vec![None, None]);
    let doc = scan(path, &[]);
    let inc = incident(&doc, "times.marker");
    assert_eq!(inc.time_of_day, Some(tod("10:00:03.502", "10:01:10.777", 0)));
    assert!(
        doc.summary
            .notes
            .iter()
            .any(|n| n.contains("times of day but no date") && n.ends_with("pino-pretty-api-out.log")),
        "{:?}",
        doc.summary.notes
    );
}

fn tod(first: &str, last: &str, midnights: u32) -> TimesOfDay {
    TimesOfDay { first: first.into(), last: last.into(), midnights }
}

/// The recording of issue 13, round 2: @stoqey/ib's IBApiNext under pm2
/// with no prefix, no date anywhere. usfarm is broken at [9:23:43 AM] and
/// OK at [9:29:13 AM], 5.5 minutes, past `tws.farm-broken`'s 5-minute
/// window; ushmds flaps for 8 s. The window is judged on the file's own
/// clock; the incident has no instant (`first_seen`, `last_seen`, the
/// evidence), says the times of day, and its id is anchored at file:line
/// and the same on every read path.
#[test]
fn a_farm_outage_in_a_log_without_a_date() {
    let dir = "fixtures/recorded/tws-stoqey-next-farm-broken";
    let (_, doc) = scan_json(&[dir], &[]);
    let broken: Vec<&Incident> = doc.incidents.iter().filter(|i| i.rule == "tws.farm-broken").collect();
    assert_eq!(broken.len(), 1, "{:#?}", doc.incidents);
    let i = broken[0];
    assert_eq!(i.key.get("farm").map(String::as_str), Some("usfarm"));
    assert_eq!((&i.first_seen, &i.last_seen), (&None, &None));
    assert_eq!(i.time_of_day, Some(tod("09:23:43", "09:29:13", 0)));
    assert_eq!(i.fields["status"], vec!["recovered after 5m 30s"]);
    assert_eq!(i.title, "tws-bridge: IB Market data farm usfarm broken, recovered after 5m 30s");
    assert!(i.fix.contains("broken at 09:23:43 (date unknown)"), "{}", i.fix);
    assert!(i.evidence.iter().all(|e| e.timestamp.is_none()));
    assert_eq!(i.evidence.iter().map(|e| e.line).collect::<Vec<_>>(), [10, 13]);
    let file = doc.summary.files.iter().find(|f| f.path.ends_with("tws-bridge-out.log")).expect("the bridge's log");
    assert_eq!((file.time_format.as_deref(), file.timestamps), (Some("time-only"), false));
    for extra in [["--threads", "1", "--mmap", "never"], ["--threads", "2", "--mmap", "always"]] {
        let (_, again) = scan_json(&[dir], &extra);
        let ids: Vec<&str> = again.incidents.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, doc.incidents.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), "{extra:?}");
    }
}

/// Every output format says the times of day of such an incident, that
/// its date is unknown, and never an instant.
#[test]
fn every_format_shows_times_of_day_without_a_date() {
    let dir = "fixtures/recorded/tws-stoqey-next-farm-broken";
    let run = |format: &str| crate::util::run(&["scan", "--format", format, dir]).stdout;
    // The incident blocks (after the story lines) with `--details`.
    let text = crate::util::run(&["scan", "--details", dir]).stdout;
    assert!(text.contains("  when      09:23:43 → 09:29:13 (date unknown) (2×, window 5m)\n"), "{text}");
    assert!(text.contains("Market data farm usfarm broken at 09:23:43 (date unknown)"), "{text}");
    let md = run("markdown");
    assert!(md.contains("| 2 | 09:23:43 (date unknown) | [tws-bridge: IB Market data farm usfarm broken"), "{md}");
    assert!(md.contains("- **When:** 09:23:43 → 09:29:13 (date unknown) (2×, window 5m)"), "{md}");
    let nd = run("ndjson");
    let first = nd.lines().find(|l| l.contains("\"type\":\"incident\"")).expect("an incident line");
    let line: serde_json::Value = serde_json::from_str(first).expect("json");
    let data = &line["data"];
    assert_eq!((&data["first_seen"], &data["last_seen"]), (&serde_json::Value::Null, &serde_json::Value::Null));
    assert_eq!(data["time_of_day"], serde_json::json!({"first": "09:23:43", "last": "09:29:13", "midnights": 0}));
    let am: serde_json::Value = serde_json::from_str(&run("alertmanager")).expect("alerts");
    let alert = &am[0];
    assert!(alert.get("startsAt").is_none() && alert.get("endsAt").is_none(), "{alert}");
    let desc = alert["annotations"]["description"].as_str().expect("description");
    assert!(desc.starts_with("09:23:43 → 09:29:13 (date unknown) (2×, window 5m)"), "{desc}");
    // No output has a date made up from a time of day.
    for out in [&text, &md, &nd] {
        assert!(!out.contains("T09:23:43") && !out.contains("T09:29:13"), "{out}");
    }
}

/// Past midnight without a date: the 1100 at [11:58:01 PM] restored at
/// [12:01:30 AM] is 3m 29s on the file's own clock, the next day of it.
#[test]
fn times_of_day_without_a_date_roll_over_midnight() {
    let (_, doc) = scan_json(&["fixtures/times/time-only/midnight-bridge-out.log"], &[]);
    let lost = incident(&doc, "tws.connectivity-lost");
    assert_eq!(lost.fields["status"], vec!["recovered after 3m 29s"]);
    assert_eq!(lost.time_of_day, Some(tod("23:58:01", "00:01:30", 1)));
    let restored = incident(&doc, "tws.connectivity-restored");
    assert_eq!(restored.fields["gap"], vec!["3m 29s"]);
    assert_eq!(restored.first_seen, None);
}

/// A full date later in the file dates the lines from there on; the lines
/// before it keep times on the file's own clock (they are not dated
/// backwards: `watch` may have reported them before the date came). Each
/// part's windows are judged on its own clock.
#[test]
fn a_date_later_in_the_file_dates_what_follows_it() {
    let (_, doc) = scan_json(&["fixtures/times/time-only/late-date-bridge-out.log"], &[]);
    let farm = |f: &str| {
        doc.incidents.iter().find(|i| i.key.get("farm").map(String::as_str) == Some(f)).expect("the farm's outage")
    };
    let (before, after) = (farm("usfarm"), farm("cashfarm"));
    assert_eq!((&before.first_seen, &before.time_of_day), (&None, &Some(tod("09:23:43", "09:29:13", 0))));
    assert_eq!(before.fields["status"], vec!["recovered after 5m 30s"]);
    assert_eq!(after.first_seen.as_deref(), Some("2026-11-20T10:00:05Z"));
    assert_eq!((after.last_seen.as_deref(), &after.time_of_day), (Some("2026-11-20T10:06:05Z"), &None));
    let file = &doc.summary.files[0];
    assert_eq!((file.time_format.as_deref(), file.timestamps), (Some("time-only"), true));
    assert!(doc.summary.notes.iter().any(|n| n.ends_with("late-date-bridge-out.log (until its first full date)")));
}

/// Two files' own clocks are never compared: a farm broken in one file
/// is not closed by an OK in another file of the same app.
#[test]
fn two_files_without_dates_are_judged_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let broken = "[9:23:43 AM] [INFO] [TWS]:  Market data farm connection is broken:usfarm - Code: 2103\n\
                  [9:40:00 AM] [INFO] [TWS]:  Market data farm connection is OK:cashfarm - Code: 2104\n";
    let ok = "[9:23:50 AM] [ERROR] [TWS]:  Market data farm connection is OK:usfarm - Code: 2104\n";
    std::fs::write(logs.join("tws-bridge-out.log"), broken).expect("write");
    std::fs::write(logs.join("tws-bridge-error.log"), ok).expect("write");
    let r = crate::util::run_in(dir.path(), &["scan", "--format", "json", "logs"], None);
    let doc: crate::util::Doc = serde_json::from_str(&r.stdout).expect("json");
    let i = incident(&doc, "tws.farm-broken");
    assert_eq!(i.fields["status"], vec!["not recovered by end of log"]);
    assert_eq!(i.time_of_day, Some(tod("09:23:43", "09:23:43", 0)));
}

/// `--since` / `--until` cannot place a time of day without a date: its
/// matches are kept as untimed ones are (a note says how many), and
/// `--untimed drop` leaves them out.
#[test]
fn time_ranges_treat_times_of_day_without_a_date_as_untimed() {
    let dir = "fixtures/recorded/tws-stoqey-next-farm-broken";
    let (_, kept) = scan_json(&[dir], &["--since", "2026-01-01T00:00:00Z", "--until", "2026-01-02T00:00:00Z"]);
    assert!(kept.incidents.iter().any(|i| i.rule == "tws.farm-broken"), "{:#?}", kept.incidents);
    assert!(kept.summary.notes.iter().any(|n| n.contains("have no timestamp, so --since/--until could not place")));
    let (_, dropped) = scan_json(&[dir], &["--untimed", "drop"]);
    assert!(dropped.incidents.is_empty(), "{:#?}", dropped.incidents);
    assert!(dropped.summary.notes.iter().any(|n| n.starts_with("--untimed drop left out")));
}

/// Versions, ports, counts, durations, addresses, dates in URLs and in
/// message text: none is a time.
#[test]
fn near_misses_leave_a_file_untimed() {
    check("fixtures/times/untimed/chatty-out.log", None, vec![None, None]);
}

/// The case: an ib_async bridge logging through Python's logging
/// (`util.logToConsole`), no pm2 prefix. 1100 is restored only after
/// 3 minutes, which the 2-minute absence window catches; three "database
/// is locked" tracebacks within 10 minutes meet sqlite.busy's threshold,
/// each dated by the logger line above its traceback.
#[test]
fn windowed_rules_fire_on_python_logging_times() {
    let (_, doc) = scan_json(&["fixtures/times/iso/ib-recorder-out.log"], &[]);
    assert_eq!(doc.summary.files[0].time_format.as_deref(), Some("iso8601"));
    let lost = incident(&doc, "tws.connectivity-lost");
    assert_eq!(lost.first_seen.as_deref(), Some("2026-11-21T02:10:05.644Z"));
    assert_eq!(lost.fields["status"], vec!["recovered after 3m 35s"]);
    let busy = incident(&doc, "sqlite.busy");
    assert_eq!(
        (busy.count, busy.first_seen.as_deref(), busy.last_seen.as_deref()),
        (3, Some("2026-11-21T02:12:10.311Z"), Some("2026-11-21T02:14:10.305Z"))
    );
    assert!(doc.summary.notes.is_empty(), "{:?}", doc.summary.notes);
}

/// @stoqey/ib's ConsoleLogger (`[2:20:03 PM] [INFO] [TWS]: `, Node's en-US
/// `toLocaleTimeString()`) dated by the bridge's own ISO line, across
/// midnight: the 1100 at 11:58:01 PM is restored at 12:01:30 AM the next
/// day.
#[test]
fn times_of_day_roll_over_midnight() {
    let (_, doc) = scan_json(&["fixtures/times/time-only/stoqey-bridge-out.log"], &[]);
    let file = &doc.summary.files[0];
    assert_eq!((file.time_format.as_deref(), file.timestamps), (Some("time-only"), true));
    let lost = incident(&doc, "tws.connectivity-lost");
    assert_eq!(
        (lost.first_seen.as_deref(), lost.last_seen.as_deref()),
        (Some("2026-11-20T23:58:01Z"), Some("2026-11-21T00:01:30Z"))
    );
    assert_eq!(lost.fields["status"], vec!["recovered after 3m 29s"]);
}

/// One thread or two, mapped or streamed: the same times (a file of times
/// of day is never split, every other one may be).
#[test]
fn every_read_path_gives_the_same_times() {
    let dir = "fixtures/times";
    let one = scan(dir, &["--threads", "1", "--mmap", "never"]);
    for extra in [["--threads", "2", "--mmap", "always"], ["--threads", "2", "--mmap", "never"]] {
        let other = scan(dir, &extra);
        let times = |d: &Doc| -> Vec<(String, Option<String>, Option<String>)> {
            d.incidents.iter().map(|i| (i.id.clone(), i.first_seen.clone(), i.last_seen.clone())).collect()
        };
        assert_eq!(times(&other), times(&one), "{extra:?}");
    }
}
