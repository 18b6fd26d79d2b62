//! What a finding keeps of its events: each event is folded into a
//! [`Fold`] as correlation decides it belongs to the finding, and then
//! dropped. A fold holds exactly what the incident built from it reads
//! (count, first and last times, times of day, fields, app, evidence,
//! marks) and what correlation reads of it afterwards (the `*_ms` ranges
//! `since` facts describe, the lines mining must not count twice), so a
//! `single` finding of hundreds of thousands of matches costs what one of
//! three does. [`Sink`] is what the judges fold into: a [`Fold`] in
//! `scan`, the events themselves where `watch` needs them (and in the
//! tests that hold the two against each other).

use std::sync::Arc;

use crate::incidents::Mark;
use crate::input::Stream;
use crate::matcher::{Event, field};
use crate::records::DayTime;
use crate::rules::{Correlation, Role, Rule};

/// At most this many distinct values are kept per captured field.
pub const MAX_VALUES: usize = 10;

/// Where a finding's events go as correlation takes them, in the
/// finding's order.
pub trait Sink: Sized {
    /// What a new, empty sink needs to know.
    type Cfg: Copy;
    /// What the sinks of `rule`'s findings need to know.
    fn cfg(rule: &Rule) -> Self::Cfg;
    /// An empty sink.
    fn new(cfg: Self::Cfg) -> Self;
    /// Takes the finding's next event.
    fn add(&mut self, e: Event);
    /// Takes every event of `later`, which all come after this one's.
    fn join(&mut self, later: Self);
    /// The lowest and highest value of the integer field `name` among the
    /// events, if any has one.
    fn range(&self, name: &str) -> Option<(i64, i64)>;
}

impl Sink for Vec<Event> {
    type Cfg = ();

    fn cfg(_: &Rule) {}

    fn new(_: ()) -> Self {
        Vec::new()
    }

    fn add(&mut self, e: Event) {
        self.push(e);
    }

    fn join(&mut self, later: Self) {
        self.extend(later);
    }

    fn range(&self, name: &str) -> Option<(i64, i64)> {
        self.iter().filter_map(|e| field(&e.fields, name)?.parse::<i64>().ok()).fold(None, widen)
    }
}

fn widen(acc: Option<(i64, i64)>, v: i64) -> Option<(i64, i64)> {
    match acc {
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        None => Some((v, v)),
    }
}

/// One evidence record as a fold keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Source id.
    pub source: usize,
    /// 1-based line.
    pub line: u64,
    /// When (ms since the epoch), if known.
    pub ts: Option<i64>,
    /// The record's text, shared with the event it came from.
    pub text: Arc<str>,
}

/// A finding's events, folded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fold {
    /// How many events.
    count: usize,
    /// The first two events and the latest (from the third on): the
    /// evidence, and where untimed incidents say they begin and end.
    evidence: Vec<Record>,
    /// The first event's time of day on its file's own clock: where an
    /// incident without instants starts, and how it is ordered.
    first_day: Option<DayTime>,
    /// Per source, the latest time of day of its events: where an incident
    /// without instants ends on its first file's clock.
    day_last: Vec<(usize, DayTime)>,
    /// The latest instant of any event.
    last_ms: Option<i64>,
    /// The first app an event names.
    app: Option<Arc<str>>,
    /// Captured fields in order of first capture, each with its first
    /// [`MAX_VALUES`] distinct values.
    fields: Vec<(Arc<str>, Vec<Arc<str>>)>,
    /// Per captured `*_ms` field, its lowest and highest integer value:
    /// what a `since` fact describes.
    ms: Vec<(Arc<str>, i64, i64)>,
    /// Each record's mark, as stories read them.
    marks: Vec<Mark>,
    /// Per source, the lines of its events: kept where mining asks which
    /// records a finding took ([`Fold::lines`]).
    lines: Option<Vec<(usize, Vec<u64>)>>,
}

/// What a new [`Fold`] keeps beyond what its incident reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keep {
    /// The lines of its events (see [`Fold::lines`]).
    pub lines: bool,
}

impl Sink for Fold {
    type Cfg = Keep;

    /// Mining asks which records a finding took only of rules whose
    /// matches may make no incident (windowed, or with context): those of
    /// the others all do, and are never held for it (`mine::Tally`).
    fn cfg(rule: &Rule) -> Keep {
        Keep { lines: !(matches!(rule.correlate, Correlation::Single) && rule.context.is_empty()) }
    }

    fn new(keep: Keep) -> Fold {
        Fold { lines: keep.lines.then(Vec::new), ..Fold::default() }
    }

    fn add(&mut self, e: Event) {
        self.count += 1;
        if self.count == 1 {
            self.first_day = e.day_time;
        }
        if let Some(t) = e.ts.get() {
            self.last_ms = Some(self.last_ms.map_or(t, |l| l.max(t)));
        }
        if let Some(d) = e.day_time {
            note_day(&mut self.day_last, e.source, d);
        }
        if self.app.is_none() {
            self.app = e.app.clone();
        }
        self.fold_fields(&e);
        self.marks.push(mark(&e));
        if let Some(lines) = &mut self.lines {
            note_line(lines, e.source, e.line);
        }
        let record = Record { source: e.source, line: e.line, ts: e.ts.get(), text: e.text };
        push_evidence(&mut self.evidence, record);
    }

    fn join(&mut self, later: Fold) {
        if self.count == 0 {
            *self = later;
            return;
        }
        self.count += later.count;
        self.last_ms = match (self.last_ms, later.last_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for (source, d) in later.day_last {
            note_day(&mut self.day_last, source, d);
        }
        if self.app.is_none() {
            self.app = later.app;
        }
        // The first MAX_VALUES distinct values of both in order: `later`
        // keeps at least as many values new to this fold as it has room
        // for (at most this fold's count of them are here already).
        for (name, values) in later.fields {
            for value in values {
                add_value(&mut self.fields, &name, &value);
            }
        }
        for (name, lo, hi) in later.ms {
            note_range(&mut self.ms, &name, lo, hi);
        }
        self.marks.extend(later.marks);
        if let (Some(lines), Some(more)) = (&mut self.lines, later.lines) {
            for (source, of) in more {
                for line in of {
                    note_line(lines, source, line);
                }
            }
        }
        // Its first two and its latest are among what `later` kept.
        for record in later.evidence {
            push_evidence(&mut self.evidence, record);
        }
    }

    fn range(&self, name: &str) -> Option<(i64, i64)> {
        self.ms.iter().find(|(n, _, _)| &**n == name).map(|&(_, lo, hi)| (lo, hi))
    }
}

impl Fold {
    /// The events of `events` folded, in order.
    pub fn of(events: impl IntoIterator<Item = Event>, keep: Keep) -> Fold {
        let mut f = Fold::new(keep);
        events.into_iter().for_each(|e| f.add(e));
        f
    }

    /// How many events.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The first event's record.
    pub fn first(&self) -> Option<&Record> {
        self.evidence.first()
    }

    /// The last event's record.
    pub fn last(&self) -> Option<&Record> {
        self.evidence.last()
    }

    /// The first two records and the last.
    pub fn evidence(&self) -> &[Record] {
        &self.evidence
    }

    /// The first event's time on its file's own clock, if it has one.
    pub fn first_day(&self) -> Option<DayTime> {
        self.first_day
    }

    /// The latest time of day of `source`'s events, if any has one.
    pub fn day_last(&self, source: usize) -> Option<DayTime> {
        self.day_last.iter().find(|(s, _)| *s == source).map(|&(_, d)| d)
    }

    /// The first event's instant.
    pub fn first_ms(&self) -> Option<i64> {
        self.first()?.ts
    }

    /// The latest instant of any event.
    pub fn last_ms(&self) -> Option<i64> {
        self.last_ms
    }

    /// The first app an event names.
    pub fn app(&self) -> Option<&str> {
        self.app.as_deref()
    }

    /// Captured fields in order of first capture, each with its first
    /// [`MAX_VALUES`] distinct values in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &[Arc<str>])> {
        self.fields.iter().map(|(n, v)| (&**n, v.as_slice()))
    }

    /// Each record's mark, in order.
    pub fn marks(&self) -> &[Mark] {
        &self.marks
    }

    /// (source, line) of each event, if the fold was made to keep them
    /// ([`Keep::lines`]); per source in order of first event.
    pub fn lines(&self) -> Option<impl Iterator<Item = (usize, u64)> + '_> {
        let lines = self.lines.as_ref()?;
        Some(lines.iter().flat_map(|(source, of)| of.iter().map(move |&l| (*source, l))))
    }

    fn fold_fields(&mut self, e: &Event) {
        for (name, value) in e.fields.iter() {
            add_value(&mut self.fields, name, value);
            if name.ends_with("_ms")
                && let Ok(v) = value.parse::<i64>()
            {
                note_range(&mut self.ms, name, v, v);
            }
        }
    }
}

/// The mark stories read of `e`'s record.
fn mark(e: &Event) -> Mark {
    let pm_id = field(&e.fields, "pm_id").and_then(|v| v.parse().ok());
    Mark::new(e.source, e.line, e.ts.get(), e.stream == Stream::Daemon, pm_id, e.role == Role::Start)
}

/// Keeps the first two records and the latest.
fn push_evidence(evidence: &mut Vec<Record>, record: Record) {
    match evidence.get_mut(2) {
        Some(last) => *last = record,
        None => evidence.push(record),
    }
}

fn add_value(fields: &mut Vec<(Arc<str>, Vec<Arc<str>>)>, name: &Arc<str>, value: &Arc<str>) {
    let at = match fields.iter().position(|(n, _)| Arc::ptr_eq(n, name) || **n == **name) {
        Some(at) => at,
        None => {
            fields.push((name.clone(), Vec::new()));
            fields.len() - 1
        }
    };
    let values = &mut fields[at].1;
    if values.len() < MAX_VALUES && !values.iter().any(|v| Arc::ptr_eq(v, value) || **v == **value) {
        values.push(value.clone());
    }
}

fn note_range(ms: &mut Vec<(Arc<str>, i64, i64)>, name: &Arc<str>, lo: i64, hi: i64) {
    match ms.iter_mut().find(|(n, _, _)| **n == **name) {
        Some((_, l, h)) => {
            *l = (*l).min(lo);
            *h = (*h).max(hi);
        }
        None => ms.push((name.clone(), lo, hi)),
    }
}

fn note_day(days: &mut Vec<(usize, DayTime)>, source: usize, d: DayTime) {
    match days.iter_mut().find(|(s, _)| *s == source) {
        Some((_, last)) => *last = (*last).max(d),
        None => days.push((source, d)),
    }
}

fn note_line(lines: &mut Vec<(usize, Vec<u64>)>, source: usize, line: u64) {
    match lines.iter_mut().rev().find(|(s, _)| *s == source) {
        Some((_, of)) => of.push(line),
        None => lines.push((source, vec![line])),
    }
}
