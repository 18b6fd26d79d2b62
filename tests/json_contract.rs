use crate::util::{run, scan_json};

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

#[test]
fn document_shape_and_version() {
    let (_, doc) = scan_json(&["fixtures/pm2"], &[]);
    assert_eq!(doc.schema_version, 2);
    assert_eq!(doc.tool.name, "logtriage");
    assert!(!doc.tool.version.is_empty());
    let placeholder = regex::Regex::new(r"\{[a-z_]+\}").expect("regex");
    for i in &doc.incidents {
        assert_eq!(i.id.len(), 16);
        assert!(i.id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(SEVERITIES.contains(&i.severity.as_str()));
        assert!(!i.fix.is_empty() && !placeholder.is_match(&i.fix), "unrendered fix: {}", i.fix);
        assert!(!i.fix.contains(" ? ") && !i.title.contains('?'), "unknown field rendered: {} / {}", i.title, i.fix);
        assert!((1..=3).contains(&i.evidence.len()));
        assert!(i.evidence.iter().all(|e| e.line > 0 && !e.text.is_empty()));
    }
    let counted: usize = doc.summary.incidents.values().sum();
    assert_eq!(counted, doc.incidents.len());
    let builtin =
        logtriage::rules::load(&logtriage::rules::LoadOptions { builtin: true, paths: vec![] }).expect("rules");
    assert_eq!(doc.summary.rules, builtin.len());
    assert!(doc.summary.unfiltered_rules.is_empty());
    assert!(doc.summary.candidates <= doc.summary.records);
}

#[test]
fn severity_counts_are_in_severity_order() {
    let r = run(&["scan", "--format", "json", "fixtures/pm2"]);
    let pos: Vec<usize> = SEVERITIES.iter().map(|s| r.stdout.find(&format!("\"{s}\": ")).expect("count key")).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
}

#[test]
fn ids_are_stable_across_runs_and_inputs() {
    let (_, a) = scan_json(&["fixtures/pm2"], &[]);
    let (_, b) = scan_json(&["fixtures/pm2/daemon"], &[]);
    let id_a = a
        .incidents
        .iter()
        .find(|i| i.rule == "pm2.crash-loop" && i.app.as_deref() == Some("api"))
        .map(|i| i.id.clone());
    assert_eq!(id_a, Some(b.incidents[0].id.clone()));
}

/// NDJSON: the stories first, one per line, then one incident per line,
/// then the summary; the same stories and incidents as the document.
#[test]
fn ndjson_is_stories_then_one_incident_per_line_then_the_summary() {
    let r = run(&["scan", "--format", "ndjson", "fixtures/pm2"]);
    let lines: Vec<serde_json::Value> =
        r.stdout.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    let (last, rest) = lines.split_last().expect("lines");
    let (_, doc) = scan_json(&["fixtures/pm2"], &[]);
    let (stories, incidents) = rest.split_at(doc.stories.len());
    assert_eq!(incidents.len(), doc.incidents.len());
    for (l, s) in stories.iter().zip(&doc.stories) {
        assert_eq!((l["schema_version"].as_u64(), l["type"].as_str()), (Some(2), Some("story")));
        let line: crate::util::Story = serde_json::from_value(l["data"].clone()).expect("story shape");
        assert_eq!(line.id, s.id);
    }
    for l in incidents {
        assert_eq!(l["schema_version"], 2);
        assert_eq!(l["type"], "incident");
        let _: crate::util::Incident = serde_json::from_value(l["data"].clone()).expect("incident shape");
    }
    assert_eq!(last["type"], "summary");
    let _: crate::util::Summary = serde_json::from_value(last["data"].clone()).expect("summary shape");
}

/// `time_of_day` (added in schema 1 for times of day without a date) is
/// in every incident: `null` for logs with instants and logs without
/// times (`fixtures/pm2` has both), so a consumer reads one shape
/// whatever the log.
#[test]
fn every_incident_has_time_of_day_null_unless_times_of_day_without_a_date() {
    let r = run(&["scan", "--format", "json", "fixtures/pm2"]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let incidents = doc["incidents"].as_array().expect("incidents");
    assert!(!incidents.is_empty());
    for i in incidents {
        assert_eq!(i.get("time_of_day"), Some(&serde_json::Value::Null), "{i}");
    }
}

#[test]
fn invalid_utf8_stays_valid_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = b"2026-11-20T10:00:00: Connectivity between IB and TWS has been lost. \xff\xfe\x1b[31m\n".to_vec();
    log.extend_from_slice(b"2026-11-20T10:00:01: ok\n");
    std::fs::write(dir.path().join("bridge-out.log"), log).expect("write");
    let r = crate::util::run_in(dir.path(), &["scan", "--format", "json", "."], None);
    let doc: crate::util::Doc = serde_json::from_str(&r.stdout).expect("valid JSON whatever the bytes");
    assert_eq!(doc.incidents.len(), 1);
    assert!(doc.incidents[0].evidence[0].text.contains('\u{FFFD}'));
}
