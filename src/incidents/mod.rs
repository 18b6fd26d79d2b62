//! Incidents: findings plus rule metadata → what a person (or an alerting
//! pipeline) acts on: stable id, severity, title, app, first/last seen,
//! count, evidence with file and line, captured fields and the rendered
//! fix. Hands on incidents in the one report order: most severe first, then
//! earliest, then rule id and key.
//!
//! An incident from a file whose times are times of day with no date
//! (`records::DayTime`) has no instant to show: `first_seen` and
//! `last_seen` stay null, and [`TimesOfDay`] says what is known, in its
//! own field and wherever a template asks for a time.

pub mod id;
pub mod map;
pub mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::correlate::Finding;
use crate::correlate::fold::{Folded, MAX_VALUES, Mark, Record};
use crate::records::{Zone, timestamp};
use crate::rules::{Correlation, Family, Filled, Rule, RuleSet, Severity, Value};
use crate::{memory, pool};

pub use map::Map;
pub use store::{Store, View};
// The store's budget and errors are the scan's events': one value from the
// command line, one kind of error for either temporary file.
pub use crate::spill::{Budget, SpillError};

/// What `{window}` and the preposition before it render as in an incident
/// whose log has no times, where the rule counts or pairs within a window
/// (see [`Value::phrase`]).
pub const UNTIMED_WINDOW: &str = "in a log without timestamps";

/// What follows a time of day wherever one is shown for a date: the date
/// is not known.
pub const DATE_UNKNOWN: &str = "(date unknown)";

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
    pub key: Map<String>,
    /// First matching record's time (RFC 3339).
    pub first_seen: Option<String>,
    /// Last matching record's time (RFC 3339).
    pub last_seen: Option<String>,
    /// Where the log has times of day but no date: the first and last
    /// matching record's (`first_seen` and `last_seen` are then null).
    pub time_of_day: Option<TimesOfDay>,
    /// Matching records folded into this incident.
    pub count: usize,
    /// The rule's window (threshold, sequence and absence rules).
    pub window: Option<String>,
    /// Up to three records: the first two and the last.
    pub evidence: Vec<Evidence>,
    /// Captured fields: distinct values in order of first appearance; plus
    /// `gap` / `gap_ms` for sequences and `status` for absences.
    pub fields: Map<Vec<String>>,
    /// The proposed fix, filled in with the fields (rendered when shown).
    pub fix: Filled,
    /// The sentences of the fix that say what to do (the rule's `action`),
    /// filled in: the default text view shows them.
    #[serde(skip)]
    pub action: Option<Filled>,
    /// Links for the reader (the rule's, shared).
    pub references: Arc<[String]>,
    /// The id of the story it belongs to (`crate::stories`); None where
    /// no stories were built (`watch`).
    pub story: Option<String>,
    /// The rule's story family.
    #[serde(skip)]
    pub family: Option<Family>,
    /// The rule reads the dependency's own log (`side = "server"`).
    #[serde(skip)]
    pub server: bool,
    /// Where each of its records is: what the stories stage needs of the
    /// findings, which are freed before it runs.
    #[serde(skip)]
    pub marks: Arc<[Mark]>,
    /// The ids under which the fold it was built from handed on the
    /// records that may link it to another incident (`spill::links`):
    /// the store takes them ([`store::Store::push`]).
    #[serde(skip)]
    links: Box<[u64]>,
    #[serde(skip)]
    first_ms: Option<i64>,
    /// Without an instant: the first match's source and time on that
    /// file's own clock, which orders incidents of one rule and key in a
    /// file (two outages of one farm) as the file does.
    #[serde(skip)]
    first_day: Option<(usize, i64)>,
    #[serde(skip)]
    last_ms: Option<i64>,
}

/// The times of day an incident knows when its file has no date (see
/// `records::DayTime`): its first and last match's, on that file's own
/// clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimesOfDay {
    /// The first match's time of day: `09:23:43`, or `09:23:43.250` when
    /// the log writes milliseconds.
    pub first: String,
    /// The last match's.
    pub last: String,
    /// How many midnights the log passed from the first to the last (0:
    /// the same day).
    pub midnights: u32,
}

impl TimesOfDay {
    /// The times of a finding's events on the clock of the first one's
    /// file, if it has one.
    fn of(events: &Folded) -> Option<TimesOfDay> {
        let first = events.first()?;
        let start = events.first_day()?;
        let end = events.day_last(first.source).unwrap_or(start).max(start);
        Some(TimesOfDay {
            first: start.time_of_day(),
            last: end.time_of_day(),
            midnights: end.day().saturating_sub(start.day()),
        })
    }

    /// `09:23:43 (date unknown)`.
    pub fn first_text(&self) -> String {
        format!("{} {DATE_UNKNOWN}", self.first)
    }

    /// `09:29:13 (date unknown)`; `00:01:30 the next day (date unknown)`
    /// past midnight.
    pub fn last_text(&self) -> String {
        format!("{}{} {DATE_UNKNOWN}", self.last, self.later())
    }

    /// `09:23:43 → 09:29:13 (date unknown)`, or one time when first and
    /// last are one: the "when" of text, Markdown and Alertmanager output.
    pub fn span(&self) -> String {
        if self.first == self.last && self.midnights == 0 {
            return self.first_text();
        }
        format!("{} → {}{} {DATE_UNKNOWN}", self.first, self.last, self.later())
    }

    /// What follows the last time when it is on a later day.
    fn later(&self) -> String {
        match self.midnights {
            0 => String::new(),
            1 => " the next day".to_string(),
            n => format!(" {n} days later"),
        }
    }
}

impl Incident {
    /// First record's time (ms since the epoch).
    pub fn first_ms(&self) -> Option<i64> {
        self.first_ms
    }

    /// Latest record's time (ms since the epoch).
    pub fn last_ms(&self) -> Option<i64> {
        self.last_ms
    }
}

/// Turns findings into ordered incidents. `paths` names sources by id;
/// `zone` renders times. The findings are left to the caller to free.
pub fn build(rules: &RuleSet, findings: &[Finding], paths: &[String], zone: Zone) -> Vec<Incident> {
    let paths: Vec<Arc<str>> = paths.iter().map(|p| Arc::from(p.as_str())).collect();
    let mut out = build_some(rules, findings.iter().collect(), &paths, zone);
    order(&mut out);
    out
}

/// [`build`] that frees the findings as it goes: `scan` holds the events
/// of every finding until incidents are built, and incidents are the next
/// largest thing on its heap, so building all of them before freeing any
/// event made the scan's peak both at once (storm corpus, 256 MiB,
/// `--mmap never`: the findings were 173 MiB, the incidents 122 MiB on
/// top). Findings are taken in chunks of about 64 Ki events (and at most
/// 1024 findings);
/// each chunk's events are freed, and their pages handed back, before the
/// next chunk's incidents are allocated. The incidents are those of
/// [`build`], in its order.
pub fn build_freeing(rules: &RuleSet, findings: Vec<Finding>, paths: &[String], zone: Zone) -> Vec<Incident> {
    build_in_chunks(rules, findings, paths, zone, CHUNK_EVENTS)
}

/// How many findings [`build_freeing`] takes at most at once: each
/// chunk's incidents are built into a list of their own before they join
/// the others, and that list should stay small too (a scan of many small
/// findings would otherwise build them all in one chunk, and copy them).
const CHUNK_FINDINGS: usize = 1024;

/// [`build_freeing`] with chunks of `chunk_events` events (tests take
/// small ones).
fn build_in_chunks(
    rules: &RuleSet,
    findings: Vec<Finding>,
    paths: &[String],
    zone: Zone,
    chunk_events: usize,
) -> Vec<Incident> {
    let mut out = Vec::with_capacity(findings.len());
    let sink = |chunk: Vec<Incident>| -> Result<(), std::convert::Infallible> {
        out.extend(chunk);
        Ok(())
    };
    let paths: Vec<Arc<str>> = paths.iter().map(|p| Arc::from(p.as_str())).collect();
    match build_chunks(rules, findings, &paths, zone, chunk_events, sink) {
        Ok(()) => {}
        Err(never) => match never {},
    }
    order(&mut out);
    out
}

/// `marks`, those a story reads from the view first (as they came), then
/// the others: the store's view of a held incident points at its leading
/// marks instead of copying them.
fn view_first<'a>(marks: impl Iterator<Item = &'a Mark>) -> Arc<[Mark]> {
    let mut marks: Vec<Mark> = marks.copied().collect();
    marks.sort_by_key(|m| !m.view());
    marks.into()
}

/// Builds the incidents of findings handed on batch by batch into a
/// [`Store`]: `scan` takes each batch correlation makes
/// ([`crate::correlate::correlate_each`]) and frees it before the next,
/// so findings are never all held. Each chunk's incidents go in as they
/// are built (held or spilled, see [`store`]), not ordered (the store
/// orders them when sealed, whatever order they came in).
pub struct Builder<'a> {
    rules: &'a RuleSet,
    paths: Vec<Arc<str>>,
    zone: Zone,
}

impl<'a> Builder<'a> {
    /// A builder naming sources by `paths`, rendering times in `zone`.
    pub fn new(rules: &'a RuleSet, paths: &[String], zone: Zone) -> Builder<'a> {
        Builder { rules, paths: paths.iter().map(|p| Arc::from(p.as_str())).collect(), zone }
    }

    /// The incidents of `findings` into `store`, freeing the findings as
    /// they go ([`build_freeing`]).
    pub fn build_into(&self, findings: Vec<Finding>, store: &mut Store) -> Result<(), SpillError> {
        build_chunks(self.rules, findings, &self.paths, self.zone, CHUNK_EVENTS, |chunk| {
            chunk.into_iter().try_for_each(|i| store.push(i))
        })
    }
}

/// Builds the incidents of `findings` chunk by chunk, handing each
/// chunk's to `sink` and freeing its events before the next.
fn build_chunks<E>(
    rules: &RuleSet,
    findings: Vec<Finding>,
    paths: &[Arc<str>],
    zone: Zone,
    chunk_events: usize,
    mut sink: impl FnMut(Vec<Incident>) -> Result<(), E>,
) -> Result<(), E> {
    let mut trim = memory::TrimEvery::default();
    let mut chunk: Vec<Finding> = Vec::new();
    let mut events = 0;
    let mut findings = findings.into_iter().peekable();
    while let Some(f) = findings.next() {
        events += f.events.count();
        chunk.push(f);
        if events >= chunk_events || chunk.len() >= CHUNK_FINDINGS || findings.peek().is_none() {
            sink(build_some(rules, chunk.iter().collect(), paths, zone))?;
            let bytes = chunk.iter().map(|f| f.events.count() * std::mem::size_of::<Mark>()).sum();
            // Freed here, not on the workers: the events of one record
            // share their text, and workers freeing them at once contend
            // on its reference count.
            chunk.clear();
            trim.freed(bytes);
            events = 0;
        }
    }
    Ok(())
}

/// How many events [`build_freeing`] turns into incidents before it frees
/// them: enough that the workers share each chunk, few enough that a
/// chunk's events are a small part of the heap.
const CHUNK_EVENTS: usize = 1 << 16;

/// Incidents of `findings`, in their order, built on the pool's workers.
fn build_some(rules: &RuleSet, findings: Vec<&Finding>, paths: &[Arc<str>], zone: Zone) -> Vec<Incident> {
    // From borrowed findings: freed here, their events would have the
    // workers contend on the reference counts of the texts and values they
    // share (built that way on two workers: 0.17 s against 0.125 s on one).
    pool::map_in_order(findings, |f| incident(&rules.rules()[f.rule as usize], f, paths, zone))
}

/// Sorts incidents into the report order: most severe first, then
/// earliest, then rule id and key.
fn order(out: &mut [Incident]) {
    memory::sort_in_place(out, |a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| (a.first_ms.is_none(), a.first_ms).cmp(&(b.first_ms.is_none(), b.first_ms)))
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.key.cmp(&b.key))
            .then_with(|| a.first_day.cmp(&b.first_day))
            .then_with(|| a.id.cmp(&b.id))
    });
}

fn incident(rule: &Rule, f: &Finding, paths: &[Arc<str>], zone: Zone) -> Incident {
    let events = f.events.view();
    let events = &*events;
    let first = events.first();
    let first_ms = events.first_ms();
    let last_ms = events.last_ms();
    // Only where there is no instant: a finding of timed matches that an
    // untimed one joined (a `single` rule) shows its instants.
    let time_of_day = if first_ms.is_none() { TimesOfDay::of(events) } else { None };
    let mut fields = collect_fields(events);
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
    let app = events.app().map(str::to_string);
    let window = rule.correlate.window().map(ToString::to_string);
    let path_of = |e: &Record| paths.get(e.source).cloned().unwrap_or_else(|| Arc::from(""));
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
        time_of_day,
        count: events.count(),
        window,
        evidence: events.evidence().iter().map(|e| evidence(e, path_of(e), zone)).collect(),
        fields: held(fields),
        fix: Filled::default(),
        action: None,
        references: rule.references.clone(),
        story: None,
        family: rule.story.clone(),
        server: rule.server,
        marks: view_first(events.marks()),
        links: events.link_ids().collect(),
        first_ms,
        first_day: first.filter(|_| first_ms.is_none()).and_then(|e| Some((e.source, events.first_day()?.ms()))),
        last_ms,
    };
    let file = first.map(path_of).unwrap_or_default();
    // Without times, {first_seen} and {last_seen} say where instead of
    // when; with times of day and no date, those times.
    let place = |e: Option<&Record>| e.map(|e| format!("line {} of {}", e.line, file_name(&path_of(e))));
    let untimed = match (&inc.time_of_day, first_ms) {
        (_, Some(_)) => None,
        (Some(tod), None) => {
            Some(Untimed { first: Some(tod.first_text()), last: Some(tod.last_text()), window: false })
        }
        (None, None) => Some(Untimed {
            first: place(first),
            last: place(events.last()),
            window: matches!(rule.correlate, Correlation::Threshold { .. } | Correlation::Sequence { .. }),
        }),
    };
    // A threshold incident that folded matches over more than its window
    // (16 exits in an hour, of which 9 within 5 minutes) does not claim
    // them all within it.
    let at_least = match (&rule.correlate, first_ms, last_ms) {
        (Correlation::Threshold { count, window }, Some(a), Some(b)) if b - a > window.ms() => Some(*count),
        _ => None,
    };
    let spans = Spans { untimed: untimed.as_ref(), at_least };
    inc.title = rule.title.render(|name| lookup(&inc, &file, &spans, name));
    inc.fix = rule.fix.fill(|name| lookup(&inc, &file, &spans, name));
    inc.action = rule.action.as_ref().map(|a| a.fill(|name| lookup(&inc, &file, &spans, name)));
    inc
}

/// What the time placeholders know beyond the incident's own fields.
struct Spans<'a> {
    /// Where the events have no instants.
    untimed: Option<&'a Untimed>,
    /// A threshold's count, where the incident spans more than its window.
    at_least: Option<u32>,
}

/// How an incident whose events have no instants renders the time
/// placeholders.
struct Untimed {
    /// `line N of FILE` of the first and last events, or their times of
    /// day (`09:23:43 (date unknown)`) where the file has those.
    first: Option<String>,
    last: Option<String>,
    /// Whether the rule's window claims a span (a count or a pair within
    /// it) that the log cannot show. An absence keeps its window: nothing
    /// closed the loss at all, so nothing closed it within the window.
    /// Times of day without a date show spans: the window was checked.
    window: bool,
}

/// Values for template placeholders. A capture named `*_bytes` shows in
/// MiB (`536870912` → `512.0 MiB`): the JSON `fields` keep the number.
fn lookup(inc: &Incident, file: &str, spans: &Spans<'_>, name: &str) -> Option<Value> {
    let untimed = spans.untimed;
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
            let phrase = match (untimed.filter(|u| u.window), spans.at_least) {
                (Some(_), _) => Some(UNTIMED_WINDOW.to_string()),
                (None, Some(k)) => Some(format!(", at least {k} within {text}")),
                (None, None) => None,
            };
            return Some(Value { text, phrase });
        }
        "first_seen" => seen(&inc.first_seen, untimed.map(|u| &u.first)),
        "last_seen" => seen(&inc.last_seen, untimed.map(|u| &u.last)),
        "rule" => inc.rule.clone(),
        "file" => file.to_string(),
        "key" => inc.key.values().cloned().collect::<Vec<_>>().join(","),
        other if other.ends_with("_bytes") => {
            let values = inc.fields.get(other)?;
            return Some(Value::from(values.iter().map(|v| mib(v)).collect::<Vec<_>>().join(", ")));
        }
        other => return inc.fields.get(other).map(|v| Value::from(v.join(", "))),
    };
    Some(Value::from(v))
}

/// A byte count in MiB with one decimal; anything else as it is.
fn mib(v: &str) -> String {
    match v.trim().parse::<u64>() {
        Ok(n) => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
        Err(_) => v.to_string(),
    }
}

/// The last component of a path as shown (`logs/api-out.log` → `api-out.log`).
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// `fields` as an incident holds them: each list of values as long as it
/// is (they grow by doubling as values are found).
fn held(fields: BTreeMap<String, Vec<String>>) -> Map<Vec<String>> {
    fields
        .into_iter()
        .map(|(name, mut values)| {
            values.shrink_to_fit();
            (name, values)
        })
        .collect()
}

fn collect_fields(events: &Folded) -> BTreeMap<String, Vec<String>> {
    events.fields().map(|(name, values)| (name.to_string(), values.iter().map(|v| v.to_string()).collect())).collect()
}

fn evidence(e: &Record, file: Arc<str>, zone: Zone) -> Evidence {
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
    use crate::matcher::Event;
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

    fn finding(rule: u32, ts: &[Option<i64>], facts: &[(&str, &str)]) -> Finding<Vec<Event>> {
        let events = ts
            .iter()
            .enumerate()
            .map(|(i, &ts)| Event {
                rule,
                role: Role::Start,
                shape: 0.into(),
                source: 0,
                line: 3 + 4 * i as u64,
                ts: ts.into(),
                day_time: None,
                app: Some("api".into()),
                stream: Stream::Daemon,
                fields: Default::default(),
                text: "x".into(),
            })
            .collect();
        let facts = facts.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        Finding { rule, key: vec![("app".into(), "api".into())], events, facts }
    }

    fn built(f: Finding<Vec<Event>>) -> Incident {
        let paths = ["logs/pm2.log".to_string()];
        build(&rules(), &[f.folded(&rules())], &paths, Zone::Utc).remove(0)
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

    /// `finding` with its events on the file's own clock at `ms` (times of
    /// day without a date), and no instants.
    fn on_own_clock(rule: u32, ms: &[i64], facts: &[(&str, &str)]) -> Finding<Vec<Event>> {
        let mut f = finding(rule, &vec![None; ms.len()], facts);
        for (e, &t) in f.events.iter_mut().zip(ms) {
            e.day_time = crate::records::DayTime::from_ms(t);
        }
        f
    }

    /// Times of day without a date: no instant anywhere (`first_seen`,
    /// `last_seen`, evidence), the times of day in their own field and in
    /// every template, the window claimed as checked, and the id anchored
    /// where untimed incidents anchor it.
    #[test]
    fn times_of_day_render_without_a_date() {
        let t = (9 * 3600 + 23 * 60 + 43) * 1000;
        let inc = built(on_own_clock(0, &[t, t + 330_000], &[]));
        assert_eq!((&inc.first_seen, &inc.last_seen), (&None, &None));
        assert!(inc.evidence.iter().all(|e| e.timestamp.is_none()));
        let tod = inc.time_of_day.clone().expect("times of day");
        assert_eq!((tod.first.as_str(), tod.last.as_str(), tod.midnights), ("09:23:43", "09:29:13", 0));
        assert_eq!(tod.span(), "09:23:43 → 09:29:13 (date unknown)");
        assert_eq!(inc.title, "api: 2 exits within 5m, first at 09:23:43 (date unknown)");
        assert_eq!(inc.fix.to_string(), "restarted 2 times over 5m; a 5m window; last at 09:29:13 (date unknown)");
        assert_eq!(inc.id, id::stable_id("t.loop", &[("app".into(), "api".into())], "logs/pm2.log:3"));
        let lost = built(on_own_clock(1, &[t], &[("status", "recovered after 5m 30s")]));
        assert_eq!(lost.title, "api lost at 09:23:43 (date unknown): recovered after 5m 30s");
        assert_eq!(lost.time_of_day.expect("tod").span(), "09:23:43 (date unknown)");
    }

    /// Past midnight the last time says on which day after the first.
    #[test]
    fn times_of_day_past_midnight_say_the_day() {
        let day = 86_400_000;
        let inc = built(on_own_clock(0, &[day - 119_000, day + 90_250], &[]));
        let tod = inc.time_of_day.clone().expect("times of day");
        assert_eq!((tod.first.as_str(), tod.last.as_str(), tod.midnights), ("23:58:01", "00:01:30.250", 1));
        assert_eq!(tod.span(), "23:58:01 → 00:01:30.250 the next day (date unknown)");
        assert!(inc.fix.to_string().ends_with("last at 00:01:30.250 the next day (date unknown)"), "{}", inc.fix);
        let later = built(on_own_clock(0, &[0, 3 * day + 1000], &[])).time_of_day.expect("tod");
        assert_eq!(later.span(), "00:00:00 → 00:00:01 3 days later (date unknown)");
    }

    /// A `single` finding whose first match has an instant shows
    /// instants only: times of day of another file are not its times.
    #[test]
    fn an_instant_leaves_no_times_of_day() {
        let mut f = on_own_clock(0, &[1000, 2000], &[]);
        f.events[0].day_time = None;
        f.events[0].ts = Some(5000).into();
        let inc = built(f);
        assert!(inc.first_seen.is_some() && inc.time_of_day.is_none());
    }

    /// A threshold incident spanning more than its window does not claim
    /// every match within it: "N exits, at least K within W", in the title
    /// and the fix; within the window it says "N exits within W".
    #[test]
    fn a_threshold_longer_than_its_window_says_at_least() {
        let long = built(finding(0, &[Some(0), Some(600_000)], &[]));
        assert_eq!(long.title, "api: 2 exits, at least 2 within 5m, first at 1970-01-01T00:00:00Z");
        assert!(
            long.fix.to_string().starts_with("restarted 2 times, at least 2 within 5m; a 5m window"),
            "{}",
            long.fix
        );
        let short = built(finding(0, &[Some(0), Some(300_000)], &[]));
        assert_eq!(short.title, "api: 2 exits within 5m, first at 1970-01-01T00:00:00Z");
    }

    /// A capture named `*_bytes` shows in MiB in templates; the field keeps
    /// the number.
    #[test]
    fn byte_captures_show_in_mib() {
        let mut f = finding(1, &[Some(0)], &[]);
        f.events[0].fields = vec![(Arc::from("limit_bytes"), Arc::from("157286400"))].into();
        let inc = built(f);
        let lookup = lookup(&inc, "pm2.log", &Spans { untimed: None, at_least: None }, "limit_bytes");
        assert_eq!(lookup.map(|v| v.text).as_deref(), Some("150.0 MiB"));
        assert_eq!(inc.fields["limit_bytes"], ["157286400"]);
        assert_eq!(mib("not a number"), "not a number");
    }

    /// An absence keeps its window: nothing closed the loss at all.
    #[test]
    fn untimed_absence_keeps_its_window() {
        let status = crate::correlate::pairs::UNTIMED_OPEN;
        let inc = built(finding(1, &[None], &[("status", status)]));
        assert_eq!(inc.title, format!("api lost at line 3 of pm2.log: {status}"));
        assert_eq!(inc.fix.to_string(), format!("no restore within 2m ({status})"));
    }

    /// Built chunk by chunk, freeing as it goes, the incidents are those
    /// built at once, in the report order, whatever the chunk size: a
    /// chunk per finding, chunks cutting between findings of one rule, one
    /// chunk for all.
    #[test]
    fn building_while_freeing_gives_the_same_incidents() {
        let findings = [
            finding(1, &[Some(9_000)], &[("status", "not recovered by end of log")]),
            finding(0, &[Some(5_000), Some(6_000), Some(7_000)], &[]),
            finding(0, &[None, None], &[]),
            finding(1, &[Some(1_000)], &[("status", "recovered after 5m")]),
            finding(0, &[Some(0), Some(600_000)], &[]),
        ];
        let findings: Vec<Finding> = findings.iter().map(|f| f.folded(&rules())).collect();
        let paths = ["logs/pm2.log".to_string()];
        let whole = build(&rules(), &findings, &paths, Zone::Utc);
        assert_eq!(whole.len(), findings.len());
        for chunk in [1, 2, 3, 1000] {
            let freed = build_in_chunks(&rules(), findings.clone(), &paths, Zone::Utc, chunk);
            assert_eq!(freed, whole, "chunks of {chunk} events");
        }
        assert_eq!(build_freeing(&rules(), findings, &paths, Zone::Utc), whole);
        // More findings than one chunk takes, of one event each.
        let many: Vec<Finding> = (0..2 * CHUNK_FINDINGS as i64 + 3)
            .map(|i| finding((i % 2) as u32, &[Some(i * 7_919 % 5_000)], &[]).folded(&rules()))
            .collect();
        assert_eq!(build_freeing(&rules(), many.clone(), &paths, Zone::Utc), build(&rules(), &many, &paths, Zone::Utc));
    }
}
