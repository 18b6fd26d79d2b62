//! One test per way the prefilter was found to lose records (issue 22's
//! mutation run): each scans a small log with the prefilter and without it
//! and requires the same events, and that the record the regex matches is
//! among them. Each names the behaviour it pins; the property test
//! (`props.rs`) looks for the ones nobody listed. Last, the bound on how
//! far literal sets are multiplied out, which no scan's events show.

use std::sync::Arc;

use crate::input::{Origin, SourceSpec, classify};
use crate::matcher::literals::{self, Literal};
use crate::matcher::{Hit, Matcher, Prefilter, Regexes};
use crate::rules::{Role, RuleSet, UnitId, compile_all};
use crate::scan::{ScanOptions, scan_source_in_chunks};

fn pack(text: &str) -> RuleSet {
    compile_all(&[("t.toml".to_string(), text.to_string())]).expect("rules")
}

/// A one-rule pack with `extra` keys.
fn rule(regex: &str, extra: &str) -> RuleSet {
    let quoted = toml::Value::String(regex.to_string()).to_string();
    pack(&format!(
        "[[rule]]\nid = \"t.rule\"\ntitle = \"t\"\nseverity = \"low\"\nfix = \"f\"\nregex = {quoted}\n{extra}"
    ))
}

/// (line, role) of every event of `log` playing `file`, after checking
/// that the scan with the prefilter gives exactly the events of the scan
/// without it.
fn scan(rules: &RuleSet, file: &str, log: &[u8]) -> Vec<(u64, Role)> {
    let m = Matcher::new(Arc::new(rules.clone()));
    let spec = SourceSpec { id: 0, meta: classify(file, file), origin: Origin::Memory(Arc::from(log)) };
    let run = |no_prefilter| {
        let opts = ScanOptions { threads: Some(1), no_prefilter, ..ScanOptions::default() };
        scan_source_in_chunks(&m, &spec, &opts, 1 << 20).expect("scan").0
    };
    let (with, without) = (run(false), run(true));
    assert_eq!(with, without, "the prefilter changed the events of {:?}", String::from_utf8_lossy(log));
    with.iter().map(|e| (e.line, e.role)).collect()
}

const START: Role = Role::Start;

/// Hidden lines (colour codes, `\u` escapes) are searched again in a
/// buffer of their visible forms; each hit found there belongs to the
/// line whose forms hold it. With two or more such lines, a hit placed on
/// the line before (or after) lands in another record, and the one holding
/// the literal never runs its regex.
#[test]
fn hits_in_hidden_lines_land_on_their_own_line() {
    let rules = rule("connect ECONNREFUSED", "");
    let log = b"a \x1b[1mcoloured\x1b[0m line\n\
                connect ECON\x1b[31mNREFUSED 10.0.0.1\n\
                b \x1b[1mcoloured\x1b[0m line\n\
                connect ECONN\x1b[31mREFUSED 10.0.0.2\n\
                plain\n";
    assert_eq!(scan(&rules, "api-out.log", log), [(2, START), (4, START)]);
    let json = br#"{"message":"a \u001b[1mcoloured\u001b[0m\n","type":"out","app_name":"api"}
{"message":"connect ECON\u001b[31mNREFUSED\n","type":"out","app_name":"api"}
{"message":"\u0062 line\n","type":"out","app_name":"api"}
{"message":"connect \u0045CONNREFUSED\n","type":"out","app_name":"api"}
"#;
    assert_eq!(scan(&rules, "api-out.log", json), [(2, START), (4, START)]);
}

/// The hits of the hidden pass, where they land: at the start of the line
/// that holds the literal, for the third of three hidden lines too.
#[test]
fn hidden_hits_are_at_their_line_start() {
    let pf = Prefilter::build(&rule("ECONNREFUSED", ""));
    let hay = b"x\x1b[1m1\nx\x1b[1m2\nxx ECONN\x1b[0mREFUSED\n";
    let mut hits = Vec::new();
    pf.hits(hay, &mut hits);
    assert_eq!(hits, [Hit { at: 14, unit: 0, regexes: Regexes::one(0) }]);
}

/// Text under `*`, `{0,n}` or `?` may be absent: it is never a required
/// literal, so records without it still run the regex.
#[test]
fn optional_and_starred_text_is_not_required() {
    for regex in [
        "farm (?:ECONNREFUSED)* lost",
        "farm (?:ECONNREFUSED){0,2} lost",
        "farm (?:ECONNREFUSED)? lost",
        "farm (?:ECONNREFUSED lost|gone)",
    ] {
        let log: &[u8] = if regex.ends_with("gone)") { b"farm gone\n" } else { b"farm  lost\n" };
        // Some literal of the set is in the line without the text.
        let set = literals::extract(regex).expect("literals");
        assert!(set.iter().any(|l| log.windows(l.bytes.len()).any(|w| w == l.bytes)), "{regex}: {set:?}");
        let rules = rule(regex, "");
        assert_eq!(scan(&rules, "api-out.log", log), [(1, START)], "{regex}");
    }
    // Repeated at least once, it is required.
    assert_eq!(literals::extract("(?:ECONNREFUSED)+ lost").expect("set")[0].bytes, b"ECONNREFUSED");
    assert_eq!(literals::extract("(?:ECONNREFUSED){1,3} x").expect("set")[0].bytes, b"ECONNREFUSED");
}

/// A literal that spans a line break is searched by its longest
/// single-line piece, without the break: pm2 `--time` puts a stamp between
/// the lines in the raw bytes, which the record the regex sees has not.
#[test]
fn a_multi_line_literal_is_searched_without_its_line_break() {
    let set = literals::extract(r"boom\n    at processTicksAndRejections").expect("set");
    assert_eq!(set, [Literal::cs(b"    at processTicksAndRejections")]);
    let set = literals::extract(r"Error: connect ECONNREFUSED\n    at x").expect("set");
    assert_eq!(set, [Literal::cs(b"Error: connect ECONNREFUSED")]);
    let rules = rule(r"boom\n    at processTicksAndRejections", "");
    let log =
        b"2026-11-20T10:00:00: Error: boom\n2026-11-20T10:00:00:     at processTicksAndRejections (node:internal)\n";
    assert_eq!(scan(&rules, "api-error.log", log), [(1, START)]);
    let crlf = b"Error: boom\r\n    at processTicksAndRejections (node:internal)\r\n";
    assert_eq!(scan(&rules, "api-error.log", crlf), [(1, START)]);
}

/// Case-insensitive letters are kept per position: a `(?i)` literal with
/// few letters becomes its case variants, and in its JSON-escaped form
/// (`\"ok\": 1`) each folded position must still be its letter's, or the
/// variants spell the wrong letters and a JSON line with `"Ok": 1` is
/// never searched.
#[test]
fn case_insensitive_positions_follow_their_letters() {
    let rules = rule(r#"(?i)"ok": 1"#, "");
    let json = br#"{"message":"status \"Ok\": 1\n","type":"out","app_name":"api"}
{"message":"status \"oK\": 1\n","type":"out","app_name":"api"}
{"message":"status \"OK\": 1\n","type":"out","app_name":"api"}
"#;
    assert_eq!(scan(&rules, "api-out.log", json), [(1, START), (2, START), (3, START)]);
    let text = b"status \"OK\": 1\nstatus \"Ok\": 1\n";
    assert_eq!(scan(&rules, "api-out.log", text), [(1, START), (2, START)]);
    // The piece of a multi-line literal after its line break keeps its
    // letters' positions (`  ok: 12345` of `x\n  ok: 12345`).
    let rules = rule(r"(?i)x\n  ok: 12345", "");
    let set = literals::extract(r"(?i)x\n  ok: 12345").expect("set");
    let kelvin = Literal { bytes: "  o\u{212A}: 12345".as_bytes().to_vec(), fold: vec![2] };
    assert_eq!(set, [Literal { bytes: b"  ok: 12345".to_vec(), fold: vec![2, 3] }, kelvin]);
    let log = b"X\n  Ok: 12345\nx\n  oK: 12345\n";
    assert_eq!(scan(&rules, "api-out.log", log), [(1, START), (3, START)]);
    // Letters after a multiplied piece: `[Ii]B` then ` (?i:ode)`.
    let rules = rule(r"[Cc]ode: (?i:IB) 1100", "");
    let log = b"Code: ib 1100\ncode: Ib 1100\ncode: IB 1100\n";
    assert_eq!(scan(&rules, "api-out.log", log), [(1, START), (2, START), (3, START)]);
}

/// Hand-written `literals` stand for the rule's own regexes (its start
/// event) only: a sequence rule's closing event, an `unless` or a
/// `context` entry keeps the literals of its own regexes.
#[test]
fn hand_written_literals_are_the_start_events_only() {
    let rules = rule(
        "Connectivity between IBKR and Trader Workstation has been lost",
        "literals = [\"Connectivity between\"]\n\
         correlate = { kind = \"sequence\", then = 'data has been restored', window = \"5m\" }\n\
         unless = { regex = 'Stopping app', within = \"1m\" }",
    );
    let log = b"Connectivity between IBKR and Trader Workstation has been lost\n\
                Connectivity between IBKR and Trader Workstation has been restored - data has been restored\n\
                data has been restored\n\
                Stopping app\n";
    let unless = Role::Context(0);
    assert_eq!(scan(&rules, "api-out.log", log), [(1, START), (2, Role::End), (3, Role::End), (4, unless)]);
    let pf = Prefilter::build(&rules);
    assert!(pf.unfiltered().is_empty(), "{:?}", pf.unfiltered());
    let mut hits = Vec::new();
    pf.hits(b"data has been restored", &mut hits);
    assert_eq!(hits.iter().map(|h| h.unit).collect::<Vec<_>>(), [UnitId::new(0, Role::End).0]);
}

/// A literal with a backslash (a Windows path) is also searched as JSON
/// writes it (`C:\\srv\\app`), like one with a quote: a pm2 JSON log's
/// line holds only that form.
#[test]
fn literals_with_backslashes_are_searched_json_escaped() {
    let rules = rule(r"cannot open C:\\srv\\app\\config\.json", "");
    let json = br#"{"message":"cannot open C:\\srv\\app\\config.json\n","type":"err","app_name":"api"}
"#;
    assert_eq!(scan(&rules, "api-error.log", json), [(1, START)]);
    let pf = Prefilter::build(&rules);
    let mut hits = Vec::new();
    pf.hits(br#"{"message":"cannot open C:\\srv\\app\\config.json"}"#, &mut hits);
    assert_eq!(hits.len(), 1, "{hits:?}");
    let rules = rule(r#"Script "(?P<s>\w+)" died"#, "");
    let json = br#"{"message":"Script \"api\" died\n","type":"err","app_name":"api"}
"#;
    assert_eq!(scan(&rules, "api-error.log", json), [(1, START)]);
}

/// Literal sets are multiplied out only while they stay small (32
/// literals): a regex of many small alternations must not become
/// thousands of literals, whatever it multiplies.
#[test]
fn literal_sets_stay_small() {
    let eight = |w: &str| (1..=8).map(|i| format!("{w}{i}")).collect::<Vec<_>>().join("|");
    // 8 × 8 spellings: not multiplied; one side's eight are searched.
    let set = literals::extract(&format!("(?:{})(?:{})", eight("aaa"), eight("bbb"))).expect("set");
    assert_eq!(set.len(), 8, "{set:?}");
    // 2^5 = 32 spellings are kept whole; the sixth class would make 64.
    let set = literals::extract("[ab][cd][ef][gh][ij][kl]x").expect("set");
    assert_eq!(set.len(), 32, "{set:?}");
    assert!(set.iter().all(|l| l.bytes.len() == 5), "{set:?}");
}

/// `rules check` accepts hand-written literals only where it can prove
/// every match holds one (`literals::covers`): through captures,
/// repetitions, alternations and concatenations whose pieces are not all
/// exact strings, and across the pieces of a concatenation.
#[test]
fn hand_written_literals_are_proved_through_every_shape() {
    let covers = |pattern: &str, lits: &[&str]| {
        let lits: Vec<Literal> = lits.iter().map(|l| Literal::cs(l.as_bytes())).collect();
        literals::covers(pattern, &lits)
    };
    let refused = ["ECONNREFUSED"];
    assert!(covers(r"x (?P<e>ECONNREFUSED \d+)", &refused));
    assert!(covers(r"(?P<e>ECONNREFUSED \d+) x", &refused));
    assert!(covers(r"(?:ECONNREFUSED \d+)+", &refused));
    assert!(!covers(r"(?:ECONNREFUSED \d+)*", &refused));
    assert!(covers(r"(?:ECONNREFUSED \d+|ETIMEDOUT \d+)", &["ECONNREFUSED", "ETIMEDOUT"]));
    assert!(!covers(r"(?:ECONNREFUSED \d+|ETIMEDOUT \d+)", &refused));
    // A literal across pieces: `B and` in one spelling, `KR and` in the
    // other, and no piece alone holds either.
    assert!(covers(r"IB(?:KR)? and \d+", &["B and", "KR and"]));
    assert!(!covers(r"IB(?:KR)? and \d+", &["KR and"]));
}
