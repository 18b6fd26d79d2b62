use crate::util::{mask_elapsed, root, run, scan_json};

const LOGS: &str = "fixtures/unknown";

/// Mining as the default does it (`--unknown 10`), spelled out.
const MINE: &[&str] = &["--unknown", "10"];

/// On by default (`--unknown 10`): a plain scan mines, and shows the top
/// ten in text; `--unknown 0` mines nothing.
#[test]
fn mining_is_on_by_default() {
    let (_, plain) = scan_json(&[LOGS], &[]);
    let (_, mined) = scan_json(&[LOGS], MINE);
    assert!(!plain.unknown.is_empty());
    assert_eq!(format!("{:?}", plain.unknown), format!("{:?}", mined.unknown));
    let (_, off) = scan_json(&[LOGS], &["--unknown", "0"]);
    assert!(off.unknown.is_empty());
    let text = run(&["scan", LOGS]);
    assert!(text.stdout.contains("Unrecognised errors (in no incident)"), "{}", text.stdout);
}

/// The new repeated error is one template with its count, apps, times and
/// first two samples; numbers, ids and paths do not split it, and the
/// same error thrown from another place in the app's code is another.
#[test]
fn a_new_repeated_error_is_one_template_with_its_count() {
    let (r, doc) = scan_json(&[LOGS], MINE);
    assert_eq!(r.code, 1, "the EADDRINUSE incident is high: {}", r.stderr);
    let t = &doc.unknown[0];
    assert_eq!(
        t.template,
        "PaymentGatewayError: charge <*> declined by provider <*> | at chargeCard (payments/charge.js)"
    );
    assert_eq!((t.count, t.apps.clone()), (3, vec!["billing".to_string()]));
    assert_eq!(
        (t.first_seen.as_deref(), t.last_seen.as_deref()),
        (Some("2026-12-01T09:14:02Z"), Some("2026-12-01T09:42:09Z"))
    );
    let samples: Vec<String> = t.samples.iter().map(|s| format!("{}:{}", s.file, s.line)).collect();
    assert_eq!(samples, ["fixtures/unknown/billing-error.log:1", "fixtures/unknown/billing-error.log:5"]);
    let pino = doc.unknown.iter().find(|t| t.template.starts_with("invoice")).expect("the pino errors");
    assert_eq!(
        (pino.template.as_str(), pino.count),
        ("invoice <*> sync to ledger failed after <*> attempts | at syncInvoice (ledger/sync.js)", 3)
    );
    assert!(doc.unknown.iter().any(|t| t.template.ends_with("at refundOrCharge (payments/retry.js)")));
    // The rule's incident took its record; the info-level JSON lines are not errors.
    assert!(doc.unknown.iter().all(|t| !t.template.contains("EADDRINUSE") && !t.template.contains("budget")));
}

/// Same templates, ids and counts at every thread count, in every format.
#[test]
fn templates_are_the_same_whatever_the_thread_count() {
    for format in ["text", "json", "ndjson", "markdown"] {
        let one = run(&["scan", "--unknown", "10", "--threads", "1", "--format", format, LOGS, "fixtures/pm2"]);
        let four = run(&["scan", "--unknown", "10", "--threads", "4", "--format", format, LOGS, "fixtures/pm2"]);
        assert_eq!(mask_elapsed(&one.stdout), mask_elapsed(&four.stdout), "{format}");
        assert!(one.stdout.contains("PaymentGatewayError: charge <*>"), "{format}: {}", one.stdout);
    }
    let one = run(&["templates", "--threads", "1", "--all", LOGS]);
    let four = run(&["templates", "--threads", "4", "--all", LOGS]);
    assert_eq!(one.stdout, four.stdout);
}

/// `--unknown N` shows the top N in text; `--unknown 0` does not mine;
/// the exit status moves only with `--fail-on-unknown N`.
#[test]
fn unknown_flags_and_exit_status() {
    let top = run(&["scan", "--fail-on", "never", "--unknown", "1", LOGS]);
    assert_eq!(top.code, 0);
    assert!(top.stdout.contains("top 1 of 4") && top.stdout.contains("PaymentGatewayError"), "{}", top.stdout);
    assert!(!top.stdout.contains("invoice <*>"));
    let (_, off) = scan_json(&[LOGS], &["--unknown", "0"]);
    assert!(off.unknown.is_empty());
    let fail = run(&["scan", "--fail-on", "never", "--fail-on-unknown", "3", LOGS]);
    assert_eq!(fail.code, 1);
    let pass = run(&["scan", "--fail-on", "never", "--fail-on-unknown", "4", LOGS]);
    assert_eq!(pass.code, 0);
}

/// `templates` gives every candidate record's template, one JSON object
/// per line, in file then line order; `--all` every record.
#[test]
fn templates_prints_one_line_per_record() {
    let r = run(&["templates", LOGS]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<serde_json::Value> = r.stdout.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    let at: Vec<String> = lines.iter().map(|l| format!("{}:{}", l["file"].as_str().unwrap_or(""), l["line"])).collect();
    assert_eq!(at.len(), 9, "{at:?}");
    assert_eq!(lines[0]["template_id"], lines[1]["template_id"]);
    assert_eq!(
        lines[0]["template"],
        "PaymentGatewayError: charge <*> declined by provider <*> | at chargeCard (payments/charge.js)"
    );
    let all = run(&["templates", "--all", LOGS]);
    assert_eq!(all.stdout.lines().count(), 13);
}

/// A drafted rule passes `rules check` and `rules test` as written, and
/// scanning the same logs with it turns the template into an incident.
#[test]
fn a_drafted_rule_passes_its_tests_and_fires_on_its_source_log() {
    let (_, doc) = scan_json(&[LOGS], MINE);
    let id = doc.unknown[0].id.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("draft");
    let out_s = out.display().to_string();
    let logs = root().join(LOGS).display().to_string();
    let drafted = run(&["rules", "draft", &id, &logs, "--out", &out_s]);
    assert_eq!(drafted.code, 0, "{}", drafted.stderr);
    let check = run(&["rules", "check", &out_s]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert!(check.stdout.contains("0 error(s), 0 warning(s)"), "{}", check.stdout);
    let test = run(&["rules", "test", &out_s]);
    assert_eq!(test.code, 0, "{}", test.stdout);
    assert!(test.stdout.contains("1 passed, 0 failed, 0 untested"), "{}", test.stdout);
    let rule = out.join("rule.toml").display().to_string();
    let (_, with) = scan_json(&[LOGS], &["--rules", &rule, "--unknown", "10"]);
    let incident = with.incidents.iter().find(|i| i.rule.starts_with("local.")).expect("the drafted rule fires");
    assert!(incident.count >= 3, "{}", incident.count);
    assert!(with.unknown.iter().all(|t| t.id != id), "the template is now known");
    // To stdout, with an inline example `rules test` runs.
    let printed = run(&["rules", "draft", &id, LOGS]);
    let file = dir.path().join("one.toml");
    std::fs::write(&file, &printed.stdout).expect("write");
    let inline = run(&["rules", "test", &file.display().to_string()]);
    assert_eq!(inline.code, 0, "{}\n{}", printed.stdout, inline.stdout);
    let missing = run(&["rules", "draft", "000000000000", LOGS]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("no unrecognised error 000000000000"), "{}", missing.stderr);
}

/// `--since`/`--until` count unrecognised errors in the range only, as
/// they do the matches of incidents: of the three declined charges
/// (09:14:02, 09:20:47, 09:42:09) the range 09:15 to 09:42 holds one.
#[test]
fn since_and_until_narrow_unrecognised_errors() {
    let range = ["--unknown", "10", "--since", "2026-12-01T09:15:00Z", "--until", "2026-12-01T09:42:00Z"];
    let (_, doc) = scan_json(&[LOGS], &range);
    let charge = doc.unknown.iter().find(|t| t.template.starts_with("PaymentGatewayError: charge")).expect("in range");
    assert_eq!((charge.count, charge.first_seen.as_deref()), (1, Some("2026-12-01T09:20:47Z")));
    assert_eq!(charge.samples.iter().map(|s| s.line).collect::<Vec<_>>(), [5]);
    let (_, doc) = scan_json(&[LOGS], &["--unknown", "10", "--since", "2026-12-02T00:00:00Z"]);
    assert!(doc.unknown.is_empty(), "{:?}", doc.unknown);
}

/// On the pm2 fixtures: the request line of a request that succeeded
/// (`GET ... 200 in 1004 ms` in api-error-1.log), winston's `warn:` line
/// (tws-bridge-error.log) and the lone `file:line` pm2 wrote for a dying
/// worker (worker-error.log) are no unrecognised errors; the errors
/// beside them still are.
#[test]
fn requests_warnings_and_bare_values_are_not_unrecognised_errors() {
    let (_, doc) = scan_json(&["fixtures/pm2"], MINE);
    let templates: Vec<&str> = doc.unknown.iter().map(|t| t.template.as_str()).collect();
    assert!(!templates.iter().any(|t| t.starts_with("GET ") || t.starts_with("warn:") || *t == "<*>"), "{templates:?}");
    for kept in ["query failed, falling back to cache: Query read timeout", "Error: read ECONNRESET"] {
        assert!(templates.contains(&kept), "{kept} in {templates:?}");
    }
    assert!(templates.iter().any(|t| t.starts_with("PM2 error: Trace: Error:")), "{templates:?}");
}

/// A dependency's deprecation warning at start (`(node:2211) [DEP0040]
/// DeprecationWarning: ...`) is not listed; the error beside it is.
#[test]
fn a_deprecation_warning_is_not_an_unrecognised_error() {
    let (_, doc) = scan_json(&["fixtures/pm2/fork-time"], &[]);
    let templates: Vec<&str> = doc.unknown.iter().map(|t| t.template.as_str()).collect();
    assert!(templates.contains(&"Error: read ECONNRESET"), "{templates:?}");
    assert!(templates.iter().all(|t| !t.contains("DeprecationWarning")), "{templates:?}");
}
