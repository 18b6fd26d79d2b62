//! Incidents: findings plus rule metadata → what a person (or an alerting
//! pipeline) acts on: stable id, severity, title, app, first/last seen,
//! count, evidence with file and line, captured fields and the rendered
//! fix. Hands on incidents in the one report order: most severe first, then
//! earliest, then rule id and key.

mod id;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::correlate::Finding;
use crate::matcher::Event;
use crate::pool;
use crate::records::{Zone, timestamp};
use crate::rules::{Correlation, Filled, Rule, RuleSet, Severity, Value};

/// At most this many distinct values are kept per captured field.
const MAX_VALUES: usize = 10;

/// What `{window}` and the preposition before it render as in an incident
/// whose log has no times, where the rule counts or pairs within a window
/// (see [`Value::phrase`]).
pub const UNTIMED_WINDOW: &str = "in a log without timestamps";

/// One evidence record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The file, as shown in the summary (shared by its evidence).
    pub file: Arc<str>,
    /// 1-based line of the record's first line.
    pub line: u64,
    /// When the record was written (RFC 3339), if known.
    pub timestamp: Option<String>,
    /// The record's text (prefixes removed, trimmed), shared with the
    /// event it came from.
    pub text: Arc<str>,
}

/// An incident: the unit of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// Stable id: the same rule, key and first occurrence give the same id
    /// on every run and machine.
    pub id: String,
    /// Rule id.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// Rendered title.
    pub title: String,
    /// App concerned, when known.
    pub app: Option<String>,
    /// Group key fields and values.
    pub key: BTreeMap<String, String>,
    /// First matching record's time (RFC 3339).
    pub first_seen: Option<String>,
    /// Last matching record's time (RFC 3339).
    pub last_seen: Option<String>,
    /// Matching records folded into this incident.
    pub count: usize,
    /// The rule's window (threshold, sequence and absence rules).
    pub window: Option<String>,
    /// Up to three records: the first two and the last.
    pub evidence: Vec<Evidence>,
    /// Captured fields: distinct values in order of first appearance; plus
    /// `gap` / `gap_ms` for sequences and `status` for absences.
    pub fields: BTreeMap<String, Vec<String>>,
    /// The proposed fix, filled in with the fields (rendered when shown).
    pub fix: Filled,
    /// Links for the reader (the rule's, shared).
    pub references: Arc<[String]>,
    #[serde(skip)]
    first_ms: Option<i64>,
}

/// Turns findings into ordered incidents. `paths` names sources by id;
/// `zone` renders times. The findings are left to the caller to free.
pub fn build(rules: &RuleSet, findings: &[Finding], paths: &[String], zone: Zone) -> Vec<Incident> {
    let paths: Vec<Arc<str>> = paths.iter().map(|p| Arc::from(p.as_str())).collect();
    // From borrowed findings: freed here, their events would have the
    // workers contend on the reference counts of the texts and values they
    // share (built that way on two workers: 0.17 s against 0.125 s on one).
    let mut out: Vec<Incident> =
        pool::map_in_order(findings.iter().collect(), |f| incident(&rules.rules()[f.rule as usize], f, &paths, zone));
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| (a.first_ms.is_none(), a.first_ms).cmp(&(b.first_ms.is_none(), b.first_ms)))
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.key.cmp(&b.key))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

fn incident(rule: &Rule, f: &Finding, paths: &[Arc<str>], zone: Zone) -> Incident {
    let first = f.events.first();
    let first_ms = first.and_then(|e| e.ts);
    let last_ms = f.events.iter().filter_map(|e| e.ts).max();
    let mut fields = collect_fields(&f.events);
    // Facts replace any capture of the same name; a folded finding has
    // several (`gap` of each pair), kept in order.
    for name in f.facts.iter().map(|(n, _)| n) {
        fields.remove(name);
    }
    for (name, value) in &f.facts {
        let values = fields.entry(name.clone()).or_default();
        if values.len() < MAX_VALUES {
            values.push(value.clone());
        }
    }
    // A sequence's first event may not name the app (pm2's kill-timeout
    // line has only a pid); the first event that does decides.
    let app = f.events.iter().find_map(|e| e.app.as_deref().map(str::to_string));
    let window = rule.correlate.window().map(ToString::to_string);
    let path_of = |e: &Event| paths.get(e.source).cloned().unwrap_or_else(|| Arc::from(""));
    let anchor = match (first_ms, first) {
        (Some(ms), _) => ms.to_string(),
        (None, Some(e)) => format!("{}:{}", path_of(e), e.line),
        (None, None) => String::new(),
    };
    let mut inc = Incident {
        id: id::stable_id(&rule.id, &f.key, &anchor),
        rule: rule.id.clone(),
        severity: rule.severity,
        title: String::new(),
        app,
        key: f.key.iter().cloned().collect(),
        first_seen: first_ms.map(|ms| timestamp::render(ms, zone)),
        last_seen: last_ms.map(|ms| timestamp::render(ms, zone)),
        count: f.events.len(),
        window,
        evidence: pick_evidence(&f.events).map(|e| evidence(e, path_of(e), zone)).collect(),
        fields,
        fix: Filled::default(),
        references: rule.references.clone(),
        first_ms,
    };
    let file = first.map(path_of).unwrap_or_default();
    // Without times, {first_seen} and {last_seen} say where instead of when.
    let place = |e: Option<&Event>| e.map(|e| format!("line {} of {}", e.line, file_name(&path_of(e))));
    let untimed = first_ms.is_none().then(|| Untimed {
        first: place(first),
        last: place(f.events.last()),
        window: matches!(rule.correlate, Correlation::Threshold { .. } | Correlation::Sequence { .. }),
    });
    inc.title = rule.title.render(|name| lookup(&inc, &file, untimed.as_ref(), name));
    inc.fix = rule.fix.fill(|name| lookup(&inc, &file, untimed.as_ref(), name));
    inc
}

/// How an incident whose events have no times renders the time
/// placeholders.
struct Untimed {
    /// `line N of FILE` of the first and last events.
    first: Option<String>,
    last: Option<String>,
    /// Whether the rule's window claims a span (a count or a pair within
    /// it) that the log cannot show. An absence keeps its window: nothing
    /// closed the loss at all, so nothing closed it within the window.
    window: bool,
}

/// Values for template placeholders.
fn lookup(inc: &Incident, file: &str, untimed: Option<&Untimed>, name: &str) -> Option<Value> {
    let seen = |time: &Option<String>, place: Option<&Option<String>>| match (time, place) {
        (Some(t), _) => t.clone(),
        (None, Some(Some(p))) => p.clone(),
        (None, _) => "(no timestamp)".into(),
    };
    let v = match name {
        "app" => inc.app.clone().unwrap_or_else(|| "-".into()),
        "count" => inc.count.to_string(),
        "window" => {
            let text = inc.window.clone().unwrap_or_default();
            let phrase = untimed.filter(|u| u.window).map(|_| UNTIMED_WINDOW.to_string());
            return Some(Value { text, phrase });
        }
        "first_seen" => seen(&inc.first_seen, untimed.map(|u| &u.first)),
        "last_seen" => seen(&inc.last_seen, untimed.map(|u| &u.last)),
        "rule" => inc.rule.clone(),
        "file" => file.to_string(),
        "key" => inc.key.values().cloned().collect::<Vec<_>>().join(","),
        other => return inc.fields.get(other).map(|v| Value::from(v.join(", "))),
    };
    Some(Value::from(v))
}

/// The last component of a path as shown (`logs/api-out.log` → `api-out.log`).
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

fn collect_fields(events: &[Event]) -> BTreeMap<String, Vec<String>> {
    let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in events.iter().flat_map(|e| e.fields.iter()) {
        let values = fields.entry(name.to_string()).or_default();
        if values.len() < MAX_VALUES && !values.iter().any(|v| **v == **value) {
            values.push(value.to_string());
        }
    }
    fields
}

fn pick_evidence(events: &[Event]) -> impl Iterator<Item = &Event> {
    let n = events.len();
    events.iter().enumerate().filter(move |(i, _)| n <= 3 || *i < 2 || *i == n - 1).map(|(_, e)| e)
}

fn evidence(e: &Event, file: Arc<str>, zone: Zone) -> Evidence {
    Evidence { file, line: e.line, timestamp: e.ts.map(|ms| timestamp::render(ms, zone)), text: e.text.clone() }
}

/// Counts incidents per severity, most severe first (all five present).
pub fn by_severity(incidents: &[Incident]) -> Vec<(Severity, usize)> {
    Severity::ALL_DESC.iter().map(|s| (*s, incidents.iter().filter(|i| i.severity == *s).count())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Stream;
    use crate::rules::{Role, compile_all};

    fn rules() -> RuleSet {
        let pack = r#"
[[rule]]
id = "t.loop"
title = "{app}: {count} exits within {window}, first at {first_seen}"
severity = "critical"
regex = 'exited'
correlate = { kind = "threshold", count = 2, window = "5m" }
fix = "restarted {count} times over {window}; a {window} window; last at {last_seen}"

[[rule]]
id = "t.lost"
title = "{app} lost at {first_seen}: {status}"
severity = "high"
regex = 'lost'
correlate = { kind = "absence", until = 'back', window = "2m" }
fix = "no restore within {window} ({status})"
"#;
        compile_all(&[("t.toml".into(), pack.into())]).expect("rules")
    }

    fn finding(rule: u32, ts: &[Option<i64>], facts: &[(&str, &str)]) -> Finding {
        let events = ts
            .iter()
            .enumerate()
            .map(|(i, &ts)| Event {
                rule,
                role: Role::Start,
                shape: 0,
                source: 0,
                line: 3 + 4 * i as u64,
                ts,
                app: Some("api".into()),
                stream: Stream::Daemon,
                fields: Default::default(),
                text: "x".into(),
            })
            .collect();
        let facts = facts.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        Finding { rule, key: vec![("app".into(), "api".into())], events, facts }
    }

    fn built(f: Finding) -> Incident {
        let paths = ["logs/pm2.log".to_string()];
        build(&rules(), &[f], &paths, Zone::Utc).remove(0)
    }

    /// Without times a threshold's window claim becomes what is known, the
    /// seen placeholders say where, and the JSON fields keep their meaning.
    #[test]
    fn untimed_threshold_renders_what_is_known() {
        let inc = built(finding(0, &[None, None], &[]));
        assert_eq!(inc.title, "api: 2 exits in a log without timestamps, first at line 3 of pm2.log");
        assert_eq!(
            inc.fix.to_string(),
            "restarted 2 times in a log without timestamps; a 5m window; last at line 7 of pm2.log"
        );
        assert_eq!((inc.first_seen, inc.window.as_deref()), (None, Some("5m")));
        assert_eq!(inc.id, id::stable_id("t.loop", &[("app".into(), "api".into())], "logs/pm2.log:3"));
        let timed = built(finding(0, &[Some(0), Some(1000)], &[]));
        assert_eq!(timed.title, "api: 2 exits within 5m, first at 1970-01-01T00:00:00Z");
    }

    /// An absence keeps its window: nothing closed the loss at all.
    #[test]
    fn untimed_absence_keeps_its_window() {
        let status = crate::correlate::pairs::UNTIMED_OPEN;
        let inc = built(finding(1, &[None], &[("status", status)]));
        assert_eq!(inc.title, format!("api lost at line 3 of pm2.log: {status}"));
        assert_eq!(inc.fix.to_string(), format!("no restore within 2m ({status})"));
    }
}
