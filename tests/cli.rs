use std::io::Write;

use crate::util::{brief, run, run_in, run_with_stdin, scan_json};

/// The incidents of the daemon fixture read directly: what stdin, pipes and
/// scans with bad neighbours must reproduce.
fn daemon_briefs() -> Vec<String> {
    let (_, doc) = scan_json(&["fixtures/pm2/daemon/pm2.log"], &[]);
    doc.incidents.iter().map(brief).map(|b| b.replace("fixtures/pm2/daemon/", "")).collect()
}

fn briefs_of(doc: &crate::util::Doc) -> Vec<String> {
    doc.incidents.iter().map(brief).collect()
}

#[test]
fn exit_1_when_an_incident_reaches_fail_on() {
    assert_eq!(run(&["scan", "fixtures/pm2"]).code, 1);
    assert_eq!(run(&["scan", "--fail-on", "never", "fixtures/pm2"]).code, 0);
    // fork-time holds only high incidents.
    assert_eq!(run(&["scan", "--fail-on", "critical", "fixtures/pm2/fork-time"]).code, 0);
    assert_eq!(run(&["scan", "--fail-on", "info", "fixtures/pm2/fork-time"]).code, 1);
}

#[test]
fn exit_0_on_a_clean_log() {
    let r = run(&["scan", "fixtures/pm2/cluster/api-out-0.log"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("0 incidents from 1 file"), "{}", r.stdout);
}

#[test]
fn missing_path_is_reported_and_the_rest_is_scanned() {
    let (r, doc) = scan_json(&["fixtures/pm2/daemon", "fixtures/pm2/nope.log"], &[]);
    assert_eq!(r.code, 2);
    assert_eq!(briefs_of(&doc), daemon_briefs());
    assert_eq!(doc.summary.skipped.len(), 1);
    assert_eq!(doc.summary.skipped[0].reason, "not_found");
    assert!(doc.summary.skipped[0].detail.contains("fixtures/pm2/nope.log"));
}

#[test]
fn empty_and_binary_files_are_skipped_with_reasons() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("empty-out.log"), "").expect("write");
    std::fs::write(dir.path().join("core-out.log"), b"\x7fELF\x02\x01\x01\0\0\0\0").expect("write");
    std::fs::copy("fixtures/pm2/daemon/pm2.log", dir.path().join("pm2.log")).expect("copy");
    let r = run_in(dir.path(), &["scan", "--format", "json", "."], None);
    assert_eq!(r.code, 1, "binary and empty files are not errors: {}", r.stderr);
    let doc: crate::util::Doc = serde_json::from_str(&r.stdout).expect("json");
    let reasons: Vec<(&str, &str)> = doc.summary.skipped.iter().map(|s| (s.path.as_str(), s.reason.as_str())).collect();
    assert_eq!(reasons, vec![("./core-out.log", "binary"), ("./empty-out.log", "empty")]);
    assert_eq!(briefs_of(&doc), daemon_briefs());
}

#[test]
fn rotated_gzip_logs_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read("fixtures/pm2/daemon/pm2.log").expect("read");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&text).expect("gz");
    std::fs::write(dir.path().join("pm2__2026-11-21_00-00-00.log.gz"), enc.finish().expect("gz")).expect("write");
    let r = run_in(dir.path(), &["scan", "--format", "json", "."], None);
    let doc: crate::util::Doc = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(
        doc.incidents
            .iter()
            .map(brief)
            .next()
            .as_deref()
            .map(|b| b.starts_with("pm2.crash-loop critical app=api count=16")),
        Some(true)
    );
}

#[test]
fn stdin_is_a_source() {
    let log = std::fs::read("fixtures/pm2/daemon/pm2.log").expect("read");
    let r = run_with_stdin(&["scan", "--format", "json", "-"], &log);
    let doc: crate::util::Doc = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(doc.summary.files[0].path, "<stdin>");
    assert_eq!(doc.incidents[0].evidence[0].file, "<stdin>");
    // The daemon rules read stdin too: its stream is unknown, not guessed away.
    let from_stdin: Vec<String> = briefs_of(&doc).iter().map(|b| b.replace("<stdin>", "pm2.log")).collect();
    assert_eq!(from_stdin, daemon_briefs());
}

#[test]
fn pipes_and_process_substitution_are_read() {
    let r = run(&["scan", "--format", "json", "/dev/stdin"]);
    assert_eq!(r.code, 0, "an empty pipe is not an error: {}", r.stderr);
    let script = format!("{} scan --format json <(cat fixtures/pm2/daemon/pm2.log)", env!("CARGO_BIN_EXE_logtriage"));
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(crate::util::root())
        .output()
        .expect("bash");
    let doc: crate::util::Doc = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc.incidents.len(), daemon_briefs().len());
}

#[test]
fn unfiltered_rules_still_match_and_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pack = dir.path().join("loose.toml");
    std::fs::write(&pack, "[[rule]]\nid = \"x.any-exit\"\ntitle = \"exit {c}\"\nseverity = \"low\"\nregex = '\\[(?P<c>\\d+)\\]'\nfix = \"f\"\n")
        .expect("write");
    let p = pack.to_str().expect("utf8 path");
    let (_, doc) = scan_json(&["fixtures/pm2/daemon"], &["--no-builtin-rules", "--rules", p]);
    assert_eq!(doc.summary.unfiltered_rules, vec!["x.any-exit"]);
    assert_eq!(doc.summary.candidates, doc.summary.records);
    // Every exit line: 16 + 1 + 5 reload + 4 + 5 + SIGKILL + max-memory + SIGABRT.
    assert_eq!(doc.incidents[0].count, 34);
    let text = run(&["scan", "--no-builtin-rules", "--rules", p, "fixtures/pm2/daemon"]);
    assert!(text.stdout.contains("note: no prefilter literal, so these rules ran on every record: x.any-exit"));
}

#[test]
fn user_pack_alone_and_with_builtins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pack = dir.path().join("mine.toml");
    std::fs::write(
        &pack,
        r#"
[[rule]]
id = "net.econnreset"
title = "{app}: connection reset by peer ({syscall})"
severity = "medium"
streams = ["err"]
regex = '''Error: read ECONNRESET[\s\S]*?syscall: .(?P<syscall>\w+).'''
fix = "Attach an 'error' listener to the socket in {app} and reconnect with backoff."
"#,
    )
    .expect("write");
    let p = pack.to_str().expect("utf8 path");
    let (_, only) = scan_json(&["fixtures/pm2/fork-time"], &["--no-builtin-rules", "--rules", p]);
    let b: Vec<String> = only.incidents.iter().map(brief).collect();
    assert_eq!(
        b,
        vec![
            "net.econnreset medium app=tws-bridge count=1 2026-11-20T11:02:44Z..2026-11-20T11:02:44Z at tws-bridge-error.log:3"
        ]
    );
    assert_eq!(only.incidents[0].title, "tws-bridge: connection reset by peer (read)");
    let (_, builtin) = scan_json(&["fixtures/pm2/fork-time"], &[]);
    let (_, both) = scan_json(&["fixtures/pm2/fork-time"], &["--rules", p]);
    assert_eq!(both.incidents.len(), builtin.incidents.len() + 1);
    assert_eq!(both.summary.rules, builtin.summary.rules + 1);
}

#[test]
fn malformed_rules_are_located_and_nothing_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pack = dir.path().join("broken.toml");
    let text = "[[rule]]\nid = \"x.one\"\ntitle = \"t\"\nseverity = \"urgent\"\nregex = 'App \\[(?P<app>[^:]+'\nfix = \"restart {app}\"\n\n[[rule]]\nid = \"x.two\"\ntitle = \"t\"\nseverity = \"low\"\nregex = 'boom'\ncorrelate = { kind = \"threshold\", count = 5, window = \"5 minutes\" }\nfix = \"f\"\n";
    std::fs::write(&pack, text).expect("write");
    let p = pack.to_str().expect("utf8 path");
    let r = run(&["scan", "--rules", p, "fixtures/pm2"]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty(), "nothing half-run: {}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| l.starts_with(p)).collect();
    assert_eq!(
        lines,
        vec![
            format!("{p}:4:12: unknown severity \"urgent\": must be one of info, low, medium, high, critical"),
            format!("{p}:5:16: regex does not compile: unclosed group"),
            format!(
                "{p}:13:55: bad window \"5 minutes\": write a whole number and a unit: \"1500ms\", \"30s\", \"5m\", \"2h\" or \"1d\""
            ),
        ]
    );
}

#[test]
fn toml_syntax_errors_are_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pack = dir.path().join("syntax.toml");
    std::fs::write(&pack, "[[rule]]\nid = \"x.one\"\ntitle = \"unterminated\nseverity = \"low\"\n").expect("write");
    let p = pack.to_str().expect("utf8 path");
    let r = run(&["scan", "--rules", p, "fixtures/pm2"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with(&format!("{p}:3:")), "{}", r.stderr);
}

#[test]
fn no_rules_at_all_is_a_usage_error() {
    let r = run(&["scan", "--no-builtin-rules", "fixtures/pm2"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--no-builtin-rules needs at least one --rules PATH"), "{}", r.stderr);
    assert_eq!(run(&["scan", "--format", "xml", "fixtures/pm2"]).code, 2);
    assert_eq!(run(&["scan", "--log-tz", "mars", "fixtures/pm2"]).code, 2);
}

#[test]
fn text_output_has_evidence_and_fix_and_colour_only_on_request() {
    // `--details`: the story lines, then every incident's full block.
    let r = run(&["scan", "--details", "fixtures/pm2/daemon"]);
    assert!(
        r.stdout.contains("\n[CRITICAL] pm2.crash-loop  api is crash-looping: 16 exits within 5m, each run under 1s\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(
        "    fixtures/pm2/daemon/pm2.log:83\n      PM2 log: App [api:0] exited with code [0] via signal [SIGINT]\n"
    ));
    assert!(r.stdout.contains("  fix       pm2 restarted api 16 times within 5m, from 2026-11-20T17:05:30Z to 2026-11-20T17:05:33Z;\n            each run lasted under 1s (exit codes: 0; signals: SIGINT). The cause is the first error\n"), "{}", r.stdout);
    assert!(!r.stdout.contains('\x1b'), "no colour when piped");
    let coloured = run(&["scan", "--details", "--color", "always", "fixtures/pm2/daemon"]);
    assert!(coloured.stdout.starts_with("\x1b[1;97;41m[CRITICAL]\x1b[0m"), "{}", coloured.stdout);
}

#[test]
fn log_tz_shifts_zone_less_stamps_only() {
    let (_, doc) = scan_json(&["fixtures/pm2/daemon", "fixtures/pm2/cluster"], &["--log-tz", "+02:00"]);
    let first: Vec<Option<String>> = doc.incidents.iter().map(|i| i.first_seen.clone()).collect();
    // pm2.log stamps carry no zone: read as +02:00. The cluster format has
    // an explicit +00:00, so the instant stays and is shown in +02:00.
    assert_eq!(first[0].as_deref(), Some("2026-11-20T17:05:30+02:00"));
    assert_eq!(first[2].as_deref(), Some("2026-11-20T13:15:42.007+02:00"));
}
