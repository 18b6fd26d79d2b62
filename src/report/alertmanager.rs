//! `--format alertmanager`: incidents as the JSON array Prometheus
//! Alertmanager's `POST /api/v2/alerts` accepts. Owns the mapping from an
//! incident to an alert: the labels that identify it (Alertmanager
//! deduplicates on the whole label set, so a re-run must give the same set
//! and two incidents never the same one), the annotations a receiver
//! shows, and when it starts and ends. The array is Alertmanager's schema,
//! not ours: it carries no `schema_version`, and the summary has no place
//! in it (the CLI prints skipped paths to stderr instead).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::Reporter;
use crate::incidents::Incident;
use crate::rules::{Correlation, RuleSet};
use crate::summary::Summary;

/// Labels this reporter sets itself; a group-key field with one of these
/// names is renamed `key_NAME` rather than overwrite it.
const RESERVED: [&str; 6] = ["alertname", "severity", "app", "instance", "incident_id", "story"];

/// Label values come from logs (a key can be a script path); routing and
/// grouping need them short. The `incident_id` label keeps two alerts apart
/// even if their values are cut to the same prefix.
const LABEL_MAX: usize = 256;
/// Summary, description, fix and references: receivers such as Slack cut
/// a message at a few thousand characters, and an alert carries several.
const TEXT_MAX: usize = 4096;
/// The evidence excerpt: the first records say what happened; the rest is
/// in the log (file and line are given).
const EVIDENCE_MAX: usize = 2048;

/// What an absence incident's `status` begins with when its closing event
/// was logged (`correlate::pairs::absence`; a unit test below pins it).
const RECOVERED: &str = "recovered after ";

/// How an incident of a rule can end, by its correlation mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// `sequence`: every incident is a start and the event that closes it.
    Pair,
    /// `absence`: closed only when its status says it recovered.
    Recovery,
}

/// Which rules' incidents end, by rule id: what decides `endsAt`. Rules not
/// listed (`single`, `threshold`) report something that happened, with no
/// event saying it is over, so their alerts stay open. The default lists
/// none.
#[derive(Debug, Clone, Default)]
pub struct Endings {
    by_rule: BTreeMap<String, Ending>,
}

impl Endings {
    /// The endings of `rules`.
    pub fn of(rules: &RuleSet) -> Endings {
        let by_rule = rules
            .rules()
            .iter()
            .filter_map(|r| match r.correlate {
                Correlation::Sequence { .. } => Some((r.id.clone(), Ending::Pair)),
                Correlation::Absence { .. } => Some((r.id.clone(), Ending::Recovery)),
                Correlation::Single | Correlation::Threshold { .. } => None,
            })
            .collect();
        Endings { by_rule }
    }

    /// Whether `i` is an outage that ended (`Some(true)`), one still open
    /// at the end of the log (`Some(false)`), or something that happened
    /// with no end to wait for (`None`). The HTML timeline draws the open
    /// ones to the end of the scan.
    pub fn ended(&self, i: &Incident) -> Option<bool> {
        self.by_rule.get(&i.rule)?;
        Some(self.ends_at(i).is_some())
    }

    /// `endsAt` of `i`: its last event when that event closed it, else none
    /// (Alertmanager then keeps the alert firing for `resolve_timeout`
    /// after each post).
    fn ends_at(&self, i: &Incident) -> Option<String> {
        let closed = match self.by_rule.get(&i.rule)? {
            Ending::Pair => true,
            // A folded outage lists each distinct status in order; the last
            // one is the latest outage's. When the latest repeats an earlier
            // status it is not last, and the alert stays open: a wrong
            // "firing" costs less than a wrong "resolved".
            Ending::Recovery => i.fields.get("status").and_then(|s| s.last()).is_some_and(|s| s.starts_with(RECOVERED)),
        };
        if closed { i.last_seen.clone().filter(|t| is_rfc3339(t)) } else { None }
    }
}

/// One element of the array, as `POST /api/v2/alerts` takes it. `watch
/// --alertmanager` posts the same alerts (`crate::deliver`) and keeps them
/// in its spool, hence `Deserialize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// What identifies the alert: Alertmanager's fingerprint is their hash.
    pub labels: BTreeMap<String, String>,
    /// What a receiver shows.
    pub annotations: BTreeMap<String, String>,
    /// Omitted for logs without timestamps: Alertmanager uses the time it
    /// receives the alert.
    #[serde(rename = "startsAt", default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// Set once the incident is over; omitted while it fires.
    #[serde(rename = "endsAt", default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
}

/// Builds the alert of an incident: the one mapping `--format
/// alertmanager` and `watch --alertmanager` share.
#[derive(Debug, Clone, Default)]
pub struct AlertBuilder {
    instance: Option<String>,
    endings: Endings,
}

impl AlertBuilder {
    /// `instance` becomes every alert's `instance` label (left out when
    /// `None` or empty); `endings` decides `endsAt`.
    pub fn new(instance: Option<String>, endings: Endings) -> AlertBuilder {
        let instance = instance.filter(|s| !s.is_empty()).map(|s| cap(&s, LABEL_MAX));
        AlertBuilder { instance, endings }
    }

    /// The alert of `i`, whose `incident_id` label is `id` (its id, or the
    /// id made unique within a report).
    pub fn alert(&self, i: &Incident, id: &str) -> Alert {
        Alert {
            labels: labels(i, self.instance.as_deref(), id),
            annotations: annotations(i),
            starts_at: i.first_seen.clone().filter(|t| is_rfc3339(t)),
            ends_at: self.endings.ends_at(i),
        }
    }
}

/// Streams the array to `w`.
pub struct Alertmanager<W> {
    w: W,
    builder: AlertBuilder,
    /// Alerts written so far.
    written: usize,
    /// How many alerts each incident id (16 hex digits, as a number) has
    /// had so far (see [`Alertmanager::unique_id`]): a number and a count
    /// per incident, not its id's text, as a storm has hundreds of
    /// thousands.
    seen: HashMap<u64, u32>,
    /// `incident_id` labels written so far of ids that are not 16 hex
    /// digits (none are; kept exact all the same).
    other: BTreeSet<String>,
}

impl<W: Write> Alertmanager<W> {
    /// Writes to `w`; `instance` becomes every alert's `instance` label
    /// (left out when `None` or empty).
    pub fn new(w: W, instance: Option<String>, endings: Endings) -> Alertmanager<W> {
        Alertmanager {
            w,
            builder: AlertBuilder::new(instance, endings),
            written: 0,
            seen: HashMap::new(),
            other: BTreeSet::new(),
        }
    }

    /// The incident id, made unique within the run: ids are hashes, and two
    /// incidents sharing one would otherwise be merged into one alert. The
    /// suffix depends only on the report order, so a re-run repeats it:
    /// the n-th alert of an id is `ID-n` (the first is `ID`). A suffixed id
    /// holds a `-`, so it is never another incident's hex id.
    fn unique_id(&mut self, id: &str) -> String {
        let hex = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        if let (true, Ok(n)) = (hex, u64::from_str_radix(id, 16)) {
            let seen = self.seen.entry(n).or_insert(0);
            *seen += 1;
            return if *seen == 1 { id.to_string() } else { format!("{id}-{seen}") };
        }
        let mut candidate = id.to_string();
        let mut n = 2;
        while self.other.contains(&candidate) {
            candidate = format!("{id}-{n}");
            n += 1;
        }
        self.other.insert(candidate.clone());
        candidate
    }

    fn alert(&mut self, i: &Incident) -> Alert {
        let id = self.unique_id(&i.id);
        self.builder.alert(i, &id)
    }
}

impl<W: Write> Reporter for Alertmanager<W> {
    fn incident(&mut self, incident: &Incident) -> io::Result<()> {
        let first = self.written == 0;
        let alert = self.alert(incident);
        self.w.write_all(if first { b"[\n  " } else { b",\n  " })?;
        self.written += 1;
        super::json::nested(&mut self.w, &alert, 1)
    }

    fn finish(&mut self, _summary: &Summary) -> io::Result<()> {
        self.w.write_all(if self.written == 0 { b"[]\n" } else { b"\n]\n" })?;
        self.w.flush()
    }
}

/// `watch --format alertmanager`: one line per incident, a one-element
/// array, which `POST /api/v2/alerts` takes as is (`while read -r a; do
/// curl -d "$a" …; done`). A stream that never ends cannot be one array.
/// `watch` never reports an id twice, so ids are not made unique here.
pub struct AlertmanagerLines<W> {
    w: W,
    builder: AlertBuilder,
}

impl<W: Write> AlertmanagerLines<W> {
    /// Writes to `w`; see [`AlertBuilder::new`].
    pub fn new(w: W, builder: AlertBuilder) -> AlertmanagerLines<W> {
        AlertmanagerLines { w, builder }
    }
}

impl<W: Write> Reporter for AlertmanagerLines<W> {
    fn incident(&mut self, incident: &Incident) -> io::Result<()> {
        let alert = self.builder.alert(incident, &incident.id);
        serde_json::to_writer(&mut self.w, &[alert])?;
        self.w.write_all(b"\n")
    }

    fn finish(&mut self, _summary: &Summary) -> io::Result<()> {
        self.w.flush()
    }
}

/// alertname (the rule id), severity, app, instance, incident_id, story,
/// then the group key's fields under label names Alertmanager accepts.
fn labels(i: &Incident, instance: Option<&str>, id: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let fixed = [
        ("alertname", Some(i.rule.as_str())),
        ("severity", Some(i.severity.as_str())),
        ("app", i.app.as_deref()),
        ("instance", instance),
        ("incident_id", Some(id)),
        // Alertmanager's `group_by: [story]` sends one notification per
        // story.
        ("story", i.story.as_deref()),
    ];
    for (name, value) in fixed {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            labels.insert(name.to_string(), cap(v, LABEL_MAX));
        }
    }
    for (field, value) in &i.key {
        let value = cap(value, LABEL_MAX);
        // Alertmanager drops empty labels; leaving them out keeps the
        // payload equal to what it stores.
        if value.is_empty() || labels.get(field) == Some(&value) {
            continue;
        }
        let name = key_label_name(field, &labels);
        labels.insert(name, value);
    }
    labels
}

/// A label name for group-key field `field`, not yet in `taken` and not
/// one of [`RESERVED`].
fn key_label_name(field: &str, taken: &BTreeMap<String, String>) -> String {
    let mut base = sanitize(field);
    if RESERVED.contains(&base.as_str()) || taken.contains_key(&base) {
        base = format!("key_{base}");
    }
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains_key(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

/// `field` as a label name matching `[a-zA-Z_][a-zA-Z0-9_]*`, which is all
/// Alertmanager accepts: regex group names may also hold `.`, `[` and `]`.
/// Names starting with `__` are Prometheus-internal, so they get a prefix.
fn sanitize(field: &str) -> String {
    let mut name: String = field.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    if name.starts_with("__") {
        name.insert_str(0, "key");
    }
    name
}

/// summary (the title), description (when, how often, the fields), fix,
/// evidence, references.
fn annotations(i: &Incident) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("summary".to_string(), cap(&i.title, TEXT_MAX));
    out.insert("description".to_string(), cap(&description(i), TEXT_MAX));
    out.insert("fix".to_string(), cap(&i.fix.to_string(), TEXT_MAX));
    out.insert("evidence".to_string(), cap(&evidence(i), EVIDENCE_MAX));
    if !i.references.is_empty() {
        out.insert("references".to_string(), cap(&i.references.join("\n"), TEXT_MAX));
    }
    out
}

/// The "when" line text output shows, and the captured fields (the app is
/// a label already).
fn description(i: &Incident) -> String {
    let fields: Vec<String> =
        i.fields.iter().filter(|(k, _)| k.as_str() != "app").map(|(k, v)| format!("{k}={}", v.join(","))).collect();
    let mut out = super::when(i);
    if !fields.is_empty() {
        out.push('\n');
        out.push_str(&fields.join("  "));
    }
    out
}

/// Each evidence record as `file:line` and its text, blank-line separated.
fn evidence(i: &Incident) -> String {
    let records: Vec<String> = i.evidence.iter().map(|e| format!("{}:{}\n{}", e.file, e.line, e.text)).collect();
    records.join("\n\n")
}

/// `s` cut to at most `max` bytes at a character boundary, ending in `…`
/// when cut.
fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    const MORE: &str = "…";
    let mut end = max.saturating_sub(MORE.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MORE}", &s[..end])
}

/// Alertmanager rejects the whole post when one time does not parse;
/// incident times are RFC 3339 except for dates chrono cannot represent.
fn is_rfc3339(t: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(t).is_ok()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;
    use crate::input::{Origin, SourceSpec, classify};
    use crate::report::test_support::{crash_loop, summary};
    use crate::rules::{LoadOptions, load};
    use crate::scan::{ScanOptions, scan_sources};

    fn builtin() -> Arc<RuleSet> {
        Arc::new(load(&LoadOptions { builtin: true, paths: vec![] }).expect("built-in rules"))
    }

    /// The built-in rules' incidents for `log` read as pm2 file `plays`.
    fn scan_log(plays: &str, log: &str) -> (Endings, Vec<Incident>) {
        let rules = builtin();
        let spec = SourceSpec {
            id: 0,
            meta: classify(&format!("logs/{plays}"), plays),
            origin: Origin::Memory(Arc::from(log.as_bytes())),
        };
        let opts = ScanOptions { threads: Some(1), ..ScanOptions::default() };
        let out = scan_sources(rules.clone(), vec![spec], vec![], &opts, Instant::now()).expect("scan");
        (Endings::of(&rules), out.incidents.into_vec().expect("incidents"))
    }

    fn alerts(incidents: &[Incident], endings: Endings) -> Vec<serde_json::Value> {
        let mut bytes = Vec::new();
        let mut r = Alertmanager::new(&mut bytes, Some("web-1".into()), endings);
        for i in incidents {
            r.incident(i).expect("write");
        }
        r.finish(&summary(incidents)).expect("finish");
        serde_json::from_slice(&bytes).expect("a JSON array")
    }

    const LOST: &str = "[INFO] [TWS]:  Connectivity between IBKR and Trader Workstation has been lost. - Code: 1100";
    const RESTORED: &str = "[INFO] [TWS]:  Connectivity between IBKR and Trader Workstation has been restored - data maintained. - Code: 1102";

    #[test]
    fn label_names_match_what_alertmanager_accepts() {
        assert_eq!(sanitize("farm"), "farm");
        assert_eq!(sanitize("req.id[0]"), "req_id_0_");
        assert_eq!(sanitize("9lives"), "_9lives");
        assert_eq!(sanitize("__name__"), "key__name__");
        assert_eq!(sanitize("é"), "_");
        assert_eq!(sanitize(""), "_");
        let taken: BTreeMap<String, String> =
            [("alertname", "x"), ("key_severity", "y"), ("a_b", "z")].map(|(k, v)| (k.into(), v.into())).into();
        assert_eq!(key_label_name("severity", &taken), "key_severity_2");
        assert_eq!(key_label_name("a.b", &taken), "key_a_b");
        assert_eq!(key_label_name("instance", &BTreeMap::new()), "key_instance");
    }

    #[test]
    fn labels_name_rule_severity_app_host_id_and_key() {
        let mut i = crash_loop();
        i.story = Some("5e1f".into());
        i.key.insert("story".into(), "x".into());
        i.key.insert("farm.name".into(), "usfarm".into());
        i.key.insert("severity".into(), "loud".into());
        i.key.insert("pm_id".into(), String::new());
        let got = labels(&i, Some("web-1"), "abc");
        let want: BTreeMap<String, String> = [
            ("alertname", "pm2.crash-loop"),
            ("app", "api"),
            ("farm_name", "usfarm"),
            ("incident_id", "abc"),
            ("instance", "web-1"),
            ("key_severity", "loud"),
            ("key_story", "x"),
            ("severity", "critical"),
            ("story", "5e1f"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        // The key's `app` equals the app label and is not repeated; the
        // empty `pm_id` is left out as Alertmanager would drop it.
        assert_eq!(got, want);
    }

    #[test]
    fn a_repeated_id_still_gives_distinct_label_sets() {
        let i = crash_loop();
        let got = alerts(&[i.clone(), i.clone(), i], Endings::default());
        let ids: Vec<&str> = got.iter().map(|a| a["labels"]["incident_id"].as_str().expect("id")).collect();
        let first = ids[0].to_string();
        assert_eq!(ids, [first.clone(), format!("{first}-2"), format!("{first}-3")]);
        // Interleaved with another id, and an id that is not 16 hex
        // digits (none is, but it stays exact).
        let mut other = crash_loop();
        other.id = "00000000000000ab".into();
        let mut odd = crash_loop();
        odd.id = "odd".into();
        let mine = crash_loop();
        let got =
            alerts(&[mine.clone(), other.clone(), odd.clone(), mine, other, odd.clone(), odd], Endings::default());
        let ids: Vec<&str> = got.iter().map(|a| a["labels"]["incident_id"].as_str().expect("id")).collect();
        let m = first.as_str();
        let want = [m, "00000000000000ab", "odd", &format!("{m}-2"), "00000000000000ab-2", "odd-2", "odd-3"];
        assert_eq!(ids, want);
    }

    #[test]
    fn a_sequence_ends_at_its_closing_event() {
        let log = format!("2026-11-20T10:04:12: {LOST}\n2026-11-20T10:04:52: {RESTORED}\n");
        let (endings, incidents) = scan_log("tws-bridge-out.log", &log);
        let got = alerts(&incidents, endings);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["labels"]["alertname"], "tws.connectivity-restored");
        assert_eq!(got[0]["startsAt"], "2026-11-20T10:04:12Z");
        assert_eq!(got[0]["endsAt"], "2026-11-20T10:04:52Z");
    }

    #[test]
    fn an_absence_ends_only_when_its_recovery_is_logged() {
        // Lost for 5 minutes (past the 2m window), then restored: both the
        // sequence and the absence rule close at the 1102.
        let log = format!("2026-11-20T10:00:00: {LOST}\n2026-11-20T10:05:00: {RESTORED}\n");
        let (endings, incidents) = scan_log("tws-bridge-out.log", &log);
        let got = alerts(&incidents, endings.clone());
        let lost = got.iter().find(|a| a["labels"]["alertname"] == "tws.connectivity-lost").expect("absence");
        assert!(lost["annotations"]["description"].as_str().expect("text").contains(RECOVERED), "{lost}");
        assert_eq!(lost["endsAt"], "2026-11-20T10:05:00Z");

        let log = format!("2026-11-20T10:00:00: {LOST}\n2026-11-20T10:09:00: heartbeat\n");
        let (endings, incidents) = scan_log("tws-bridge-out.log", &log);
        let got = alerts(&incidents, endings);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["labels"]["alertname"], "tws.connectivity-lost");
        assert!(got[0].get("endsAt").is_none(), "not recovered: still firing: {}", got[0]);
    }

    #[test]
    fn single_and_threshold_incidents_stay_open() {
        let endings = Endings::of(&builtin());
        assert_eq!(endings.by_rule.get("tws.connectivity-restored"), Some(&Ending::Pair));
        assert_eq!(endings.by_rule.get("pm2.crash-loop"), None, "threshold");
        assert_eq!(endings.by_rule.get("pm2.errored"), None, "single");
        let got = alerts(&[crash_loop()], endings);
        assert_eq!(got[0]["startsAt"], "2026-11-26T17:05:30Z");
        assert!(got[0].get("endsAt").is_none());
    }

    #[test]
    fn logs_without_times_leave_starts_at_to_alertmanager() {
        let mut i = crash_loop();
        i.first_seen = None;
        i.last_seen = None;
        let got = alerts(&[i], Endings::default());
        assert!(got[0].get("startsAt").is_none() && got[0].get("endsAt").is_none(), "{}", got[0]);
    }

    /// A recovered outage in a log of times of day without a date is
    /// closed, but has no instant to send: neither `startsAt` nor `endsAt`
    /// (never a date made up from a time of day); the description says
    /// the times of day it knows.
    #[test]
    fn times_of_day_without_a_date_send_no_instants() {
        let log = "[9:23:43 AM] [INFO] [TWS]:  Market data farm connection is broken:usfarm - Code: 2103\n\
                   [9:29:13 AM] [INFO] [TWS]:  Market data farm connection is OK:usfarm - Code: 2104\n";
        let (endings, incidents) = scan_log("tws-bridge-out.log", log);
        let got = alerts(&incidents, endings);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].get("startsAt").is_none() && got[0].get("endsAt").is_none(), "{}", got[0]);
        let desc = got[0]["annotations"]["description"].as_str().expect("description");
        assert!(desc.starts_with("09:23:43 → 09:29:13 (date unknown) (2×, window 5m)"), "{desc}");
        assert!(desc.contains("status=recovered after 5m 30s"), "{desc}");
    }

    #[test]
    fn annotations_carry_title_fix_and_capped_evidence() {
        let mut i = crash_loop();
        i.evidence[0].text = "é".repeat(3000).into();
        i.key.insert("script".into(), "x".repeat(1000));
        let a = &alerts(&[i.clone()], Endings::default())[0];
        assert_eq!(a["annotations"]["summary"], i.title.as_str());
        assert_eq!(a["annotations"]["fix"], i.fix.to_string().as_str());
        assert_eq!(a["annotations"]["references"], i.references[0].as_str());
        let ev = a["annotations"]["evidence"].as_str().expect("evidence");
        assert!(ev.starts_with("logs/pm2.log:78\néé") && ev.ends_with('…') && ev.len() <= EVIDENCE_MAX, "{ev}");
        let script = a["labels"]["script"].as_str().expect("key label");
        assert!(script.len() <= LABEL_MAX && script.ends_with('…'));
        let desc = a["annotations"]["description"].as_str().expect("description");
        assert!(desc.starts_with(&super::super::when(&i)) && desc.contains("code=1  pm_id=0"), "{desc}");
    }

    #[test]
    fn cap_cuts_at_a_character_boundary() {
        assert_eq!(cap("abc", 3), "abc");
        assert_eq!(cap("abcdef", 5), "ab…");
        assert_eq!(cap("ééé", 6), "ééé");
        assert_eq!(cap("éééé", 6), "é…");
    }

    #[test]
    fn no_incidents_is_an_empty_array() {
        let mut bytes = Vec::new();
        let mut r = Alertmanager::new(&mut bytes, None, Endings::default());
        r.finish(&summary(&[])).expect("finish");
        assert_eq!(bytes, b"[]\n");
    }
}
