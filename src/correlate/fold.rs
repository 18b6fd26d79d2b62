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
//!
//! Marks (where each record is, for the stories) are kept only where they
//! can change a story or the report: the first record's; pm2's daemon
//! lines (the exits stories are built around); opening records inside
//! the [`Exits`] windows, where a rule's match may be the cause of an
//! app's restart; and the first record of each distinct instant, up to
//! [`TICKS`] of them evenly spread, which the HTML report draws. Past that
//! the report's ticks are picked from those kept, and its `ticks_total`
//! counts those. Records that made more than one event and closing
//! records (copied into every group they close) are what links two
//! incidents ([`Mark::links`]): with a [`LinkSink`] a fold hands them on
//! as it folds them (`spill::links`) and keeps them only as the above;
//! without one it keeps them ([`Kept::Link`]). Each mark kept says why
//! ([`Kept`]); the incident store's views, held to the end of the run,
//! keep only [`Kept::View`]; without [`Bounds`] every mark is kept for the
//! view. Which story reads which of them: `stories::oracle`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::input::Stream;
use crate::matcher::{Event, field};
use crate::records::DayTime;
use crate::rules::{Correlation, Role, Rule};

mod lines;
pub mod mark;

use mark::{BEFORE_MS, STAMP_SLACK_MS};
pub use mark::{Kept, Mark};

use crate::spill::links::{Links, Who};

/// At most this many distinct values are kept per captured field.
pub const MAX_VALUES: usize = 10;

/// Instants a fold keeps a mark of, at most, before it keeps every second
/// one: twice the HTML report's 2000 ticks, so that below that the report
/// draws every instant, as it did from every mark.
pub const TICKS: usize = 4000;

/// Where a finding's events go as correlation takes them, in the
/// finding's order.
pub trait Sink: Sized {
    /// What a new, empty sink needs to know.
    type Cfg: Clone;
    /// What the sinks of `rule`'s findings need to know; `bounds`: which
    /// marks can change a story (None: all).
    fn cfg(rule: &Rule, bounds: Option<&Arc<Bounds>>) -> Self::Cfg;
    /// An empty sink.
    fn new(cfg: &Self::Cfg) -> Self;
    /// Takes the finding's next event.
    fn add(&mut self, e: Event);
    /// Takes every event of `later`, which all come after this one's.
    fn join(&mut self, later: Self);
    /// The finding is complete: no event will be added.
    fn done(&mut self) {}
    /// The lowest and highest value of the integer field `name` among the
    /// events, if any has one.
    fn range(&self, name: &str) -> Option<(i64, i64)>;
    /// The app of the finding (its first event's that names one), and the
    /// times of the lines of pm2's daemon among its events.
    fn exits(&self) -> (Option<&str>, Vec<i64>);
}

impl Sink for Vec<Event> {
    type Cfg = ();

    fn cfg(_: &Rule, _: Option<&Arc<Bounds>>) {}

    fn new(_: &()) -> Self {
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

    fn exits(&self) -> (Option<&str>, Vec<i64>) {
        let app = self.iter().find_map(|e| e.app.as_deref());
        (app, self.iter().filter(|e| e.stream == Stream::Daemon).filter_map(|e| e.ts.get()).collect())
    }
}

/// Which marks can change a story, beyond the first, pm2's daemon lines,
/// and the records that may link two incidents ([`Mark::links`]): opening
/// records inside the [`Exits`] windows; and where folds hand on the
/// latter as they go (None: they keep them, [`Kept::Link`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bounds {
    exits: Exits,
    links: Option<LinkSink>,
}

impl Bounds {
    /// `exits`: where records may be causes.
    pub fn new(exits: Exits) -> Bounds {
        Bounds { exits, links: None }
    }

    /// The same, folds handing on the records that may link their
    /// incidents to `links` as they go.
    pub fn handing_links_to(self, links: Option<Arc<Links>>) -> Bounds {
        Bounds { links: links.map(LinkSink), ..self }
    }
}

/// Where folds hand on the records that may link their incident to
/// another: one for the whole scan, shared (two are equal only if they
/// are the same one).
#[derive(Debug, Clone)]
pub struct LinkSink(pub Arc<Links>);

impl PartialEq for LinkSink {
    fn eq(&self, other: &LinkSink) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for LinkSink {}

/// Records a fold gathers before it hands them on (24 KiB): a finding of
/// a million records holds no more.
const PENDING_LINKS: usize = 1 << 10;

/// Where a record may be the cause of an app's exit: per app, the windows
/// before each exit of a restart incident of it (as the stories place
/// causes: `stories::cause_windows`), merged; and all apps' together, for
/// records of a finding whose app is not known yet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exits {
    by_app: BTreeMap<String, Vec<(i64, i64)>>,
    any: Vec<(i64, i64)>,
}

impl Exits {
    /// The windows before the exits (ms) of each app.
    pub fn new<'a>(exits: impl IntoIterator<Item = (&'a str, i64)>) -> Exits {
        let mut by_app: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
        let mut any = Vec::new();
        for (app, ts) in exits {
            let w = (ts.saturating_sub(BEFORE_MS), ts.saturating_add(STAMP_SLACK_MS));
            by_app.entry(app.to_string()).or_default().push(w);
            any.push(w);
        }
        by_app.values_mut().for_each(merge);
        merge(&mut any);
        Exits { by_app, any }
    }

    /// Whether a record of `app`'s at `ts` is inside a window.
    fn holds(&self, app: Option<&str>, ts: i64) -> bool {
        let windows = match app {
            Some(app) => self.by_app.get(app).map_or(&[][..], Vec::as_slice),
            None => &self.any,
        };
        let after = windows.partition_point(|&(s, _)| s <= ts);
        after > 0 && ts <= windows[after - 1].1
    }
}

/// Sorts windows and merges those that overlap.
fn merge(windows: &mut Vec<(i64, i64)>) {
    windows.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(windows.len());
    for &(s, e) in windows.iter() {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    *windows = out;
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

/// A finding's events: up to [`RAW`] of them as they are, folded from
/// the next on. A storm makes many findings of two events (storm corpus,
/// 1 GiB: 146 k outages), which two events hold in less room than a
/// [`Folded`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    raw: Vec<Event>,
    folded: Option<Box<Folded>>,
    keep: Keep,
}

/// How many events a [`Fold`] holds as they are.
pub const RAW: usize = 2;

impl Fold {
    /// The events folded, whichever way they are held.
    pub fn view(&self) -> Cow<'_, Folded> {
        match &self.folded {
            Some(f) => Cow::Borrowed(f),
            // Its few records are kept as marks (`Kept::Link`), not handed
            // on: the incident built from them hands them on.
            None => Cow::Owned(Folded::of(self.raw.iter().cloned(), Keep { links: None, ..self.keep.clone() })),
        }
    }

    /// How many events.
    pub fn count(&self) -> usize {
        self.folded.as_ref().map_or(self.raw.len(), |f| f.count)
    }

    /// The events of `events` folded, in order.
    pub fn of(events: impl IntoIterator<Item = Event>, keep: Keep) -> Fold {
        let mut f = Fold::new(&keep);
        events.into_iter().for_each(|e| f.add(e));
        f
    }

    /// (source, line) of each event, if the fold keeps them
    /// ([`Keep::lines`]). Not collected: a storm's largest fold keeps
    /// millions (5 GiB storm: a 43 MiB list at the run's peak).
    pub fn taken(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        let folded = self.folded.as_ref().and_then(|f| f.lines()).into_iter().flatten();
        let raw = match (&self.folded, self.keep.lines) {
            (None, true) => &self.raw[..],
            _ => &[],
        };
        folded.chain(raw.iter().map(|e| (e.source, e.line)))
    }

    fn folded(&mut self) -> &mut Folded {
        let (raw, keep) = (&mut self.raw, &self.keep);
        self.folded.get_or_insert_with(|| Box::new(Folded::of(std::mem::take(raw), keep.clone())))
    }
}

impl Sink for Fold {
    type Cfg = Keep;

    fn cfg(rule: &Rule, bounds: Option<&Arc<Bounds>>) -> Keep {
        Folded::cfg(rule, bounds)
    }

    fn new(keep: &Keep) -> Fold {
        Fold { raw: Vec::new(), folded: None, keep: keep.clone() }
    }

    fn add(&mut self, e: Event) {
        match &mut self.folded {
            Some(f) => f.add(e),
            None if self.raw.len() < RAW => self.raw.push(e),
            None => self.folded().add(e),
        }
    }

    fn join(&mut self, later: Fold) {
        if self.folded.is_none() && later.folded.is_none() && self.raw.len() + later.raw.len() <= RAW {
            self.raw.extend(later.raw);
            return;
        }
        match later.folded {
            Some(f) => self.folded().join(*f),
            None => later.raw.into_iter().for_each(|e| self.add(e)),
        }
    }

    fn range(&self, name: &str) -> Option<(i64, i64)> {
        self.view().range(name)
    }

    fn exits(&self) -> (Option<&str>, Vec<i64>) {
        match &self.folded {
            Some(f) => f.exits(),
            None => self.raw.exits(),
        }
    }

    fn done(&mut self) {
        match &mut self.folded {
            Some(f) => f.done(),
            None => self.raw.shrink_to_fit(),
        }
    }
}

/// A finding's events, folded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Folded {
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
    /// The marks that can change a story (see the module header), in
    /// order.
    marks: Vec<Mark>,
    /// The marks of instants kept for the report's ticks and nothing else,
    /// with their instant's index, in order.
    ticks: Vec<(usize, Mark)>,
    /// How many distinct instants the events had so far, the latest one,
    /// and every how many of them a tick is kept.
    instants: usize,
    last_ts: Option<i64>,
    stride: usize,
    /// Which marks can change a story (None: all).
    bounds: Option<Arc<Bounds>>,
    /// Judge opening records on every app's exits, not its own: a
    /// `suppress` fold of pairs may join this fold after one of another
    /// app's.
    any_app: bool,
    /// Per source, the lines of its events: kept where mining asks which
    /// records a finding took ([`Fold::taken`]).
    lines: Option<lines::Lines>,
    /// Where it hands on the records that may link its incident to
    /// another (None: it keeps their marks).
    links: Option<LinkSink>,
    /// Its id there, once it handed any on.
    link_id: Option<u64>,
    /// Such records not handed on yet: (source, line).
    pending: Vec<(u32, u64)>,
    /// The ids of folds joined to it that handed some on.
    joined: Vec<u64>,
}

/// What a new [`Fold`] keeps beyond what its incident reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keep {
    /// The lines of its events (see [`Fold::taken`]).
    pub lines: bool,
    /// Which of its marks can change a story (None: all).
    pub bounds: Option<Arc<Bounds>>,
    /// It may be joined to another (see [`Sink::join`]).
    pub joins: bool,
    /// Where it hands on the records that may link its incident to
    /// another (None: it keeps their marks).
    pub links: Option<LinkSink>,
}

impl Sink for Folded {
    type Cfg = Keep;

    /// Mining asks which records a finding took only of rules whose
    /// matches may make no incident (windowed, or with context): those of
    /// the others all do, and are never held for it (`mine::Tally`).
    fn cfg(rule: &Rule, bounds: Option<&Arc<Bounds>>) -> Keep {
        let lines = !(matches!(rule.correlate, Correlation::Single) && rule.context.is_empty());
        let joins = rule.suppress.is_some()
            && matches!(rule.correlate, Correlation::Sequence { .. } | Correlation::Absence { .. });
        let links = bounds.and_then(|b| b.links.clone());
        Keep { lines, bounds: bounds.cloned(), joins, links }
    }

    fn new(keep: &Keep) -> Folded {
        let (bounds, any_app, links) = (keep.bounds.clone(), keep.joins, keep.links.clone());
        Folded { lines: keep.lines.then(lines::Lines::default), bounds, any_app, links, stride: 1, ..Folded::default() }
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
        let m = mark(&e);
        if self.links.is_some() && m.links() {
            self.pending.push((m.source() as u32, m.line()));
            if self.pending.len() >= PENDING_LINKS {
                self.hand_on();
            }
        }
        let view = self.count == 1 || self.in_view(&m);
        self.keep_mark(m, view);
        if let Some(lines) = &mut self.lines {
            lines.note(e.source, e.line);
        }
        let record = Record { source: e.source, line: e.line, ts: e.ts.get(), text: e.text };
        push_evidence(&mut self.evidence, record);
    }

    fn join(&mut self, later: Folded) {
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
        // Its first record is not this fold's first; its instants go on
        // from this fold's.
        // In the order of its events: an instant's first mark is its
        // tick, before any other of its marks.
        let mut ticks = later.ticks.into_iter().map(|(_, m)| m).peekable();
        for m in later.marks {
            while let Some(t) = ticks.next_if(|t| t.ts().is_some_and(|t| m.ts().is_none_or(|m| t <= m))) {
                self.refeed(t);
            }
            self.refeed(m);
        }
        ticks.for_each(|t| self.refeed(t));
        if later.last_ts.is_some() {
            self.last_ts = later.last_ts;
        }
        self.pending.extend(later.pending);
        self.joined.extend(later.link_id.into_iter().chain(later.joined));
        if let (Some(lines), Some(more)) = (&mut self.lines, later.lines) {
            more.iter().for_each(|(source, line)| lines.note(source, line));
        }
        // Its first two and its latest are among what `later` kept.
        for record in later.evidence {
            push_evidence(&mut self.evidence, record);
        }
    }

    fn range(&self, name: &str) -> Option<(i64, i64)> {
        self.ms.iter().find(|(n, _, _)| &**n == name).map(|&(_, lo, hi)| (lo, hi))
    }

    /// Its lists as long as they are: they grew by doubling, and a storm
    /// makes many small findings (storm corpus, 256 MiB: 37 k outages of
    /// two events).
    fn done(&mut self) {
        self.hand_on();
        self.evidence.shrink_to_fit();
        self.day_last.shrink_to_fit();
        self.fields.iter_mut().for_each(|(_, v)| v.shrink_to_fit());
        self.fields.shrink_to_fit();
        self.ms.shrink_to_fit();
        self.marks.shrink_to_fit();
        self.ticks.shrink_to_fit();
        if let Some(lines) = &mut self.lines {
            lines.shrink_to_fit();
        }
    }

    fn exits(&self) -> (Option<&str>, Vec<i64>) {
        (self.app(), self.marks.iter().filter(|m| m.daemon()).filter_map(Mark::ts).collect())
    }
}

impl Folded {
    /// The events of `events` folded, in order.
    pub fn of(events: impl IntoIterator<Item = Event>, keep: Keep) -> Folded {
        let mut f = Folded::new(&keep);
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

    /// The marks kept: those that can change a story in order, then
    /// those kept for the report's ticks.
    pub fn marks(&self) -> impl Iterator<Item = &Mark> {
        self.marks.iter().chain(self.ticks.iter().map(|(_, m)| m))
    }

    /// (source, line) of each event, if the fold was made to keep them
    /// ([`Keep::lines`]); per source in order of first event.
    pub fn lines(&self) -> Option<impl Iterator<Item = (usize, u64)> + '_> {
        Some(self.lines.as_ref()?.iter())
    }

    /// Whether a story reads a record's mark from the incident's view
    /// (see the module header), the first record's apart.
    fn in_view(&self, m: &Mark) -> bool {
        let Some(b) = &self.bounds else { return true };
        let app = if self.any_app { None } else { self.app.as_deref() };
        m.daemon() || m.ts().is_some_and(|ts| b.exits.holds(app, ts))
    }

    /// `m` of a fold joined to this one, as if its event came here (one
    /// that handed its linking records on did so under its own id).
    fn refeed(&mut self, m: Mark) {
        let view = self.in_view(&m);
        self.keep_mark(m, view);
    }

    /// Hands on the linking records gathered, under this fold's id.
    fn hand_on(&mut self) {
        let Some(LinkSink(links)) = &self.links else { return };
        if self.pending.is_empty() {
            return;
        }
        let id = *self.link_id.get_or_insert_with(|| links.fold_id());
        links.add(self.pending.drain(..), Who::Fold(id));
        self.pending.shrink_to(PENDING_LINKS);
    }

    /// The ids under which it handed on the records that may link its
    /// incident to another (its own and those of folds joined to it).
    pub fn link_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.link_id.iter().chain(&self.joined).copied()
    }

    /// Keeps `m` if a story reads it from the view (`view`) or, where the
    /// fold does not hand them on, as a record that may link its incident
    /// to another; else for the report's ticks if it is the first of a
    /// new instant (every `stride`-th of them); past [`TICKS`] of those,
    /// every second one is let go.
    fn keep_mark(&mut self, m: Mark, view: bool) {
        let link = !view && self.links.is_none() && m.links();
        let mut instant = None;
        if let Some(ts) = m.ts()
            && self.last_ts != Some(ts)
        {
            self.last_ts = Some(ts);
            instant = Some(self.instants).filter(|i| i.is_multiple_of(self.stride));
            self.instants += 1;
        }
        match instant {
            _ if view => self.marks.push(m.kept(Kept::View)),
            _ if link => self.marks.push(m.kept(Kept::Link)),
            Some(i) => self.ticks.push((i, m.kept(Kept::Tick))),
            None => {}
        }
        if self.ticks.len() > TICKS {
            self.stride *= 2;
            let stride = self.stride;
            self.ticks.retain(|(i, _)| i.is_multiple_of(stride));
        }
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
        .of_shared(e.shared())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(line: u64, ts: Option<i64>, role: Role, stream: Stream, app: Option<&str>) -> Event {
        Event {
            rule: 0,
            role,
            shape: 0.into(),
            source: 1,
            line,
            ts: ts.into(),
            day_time: None,
            app: app.map(Arc::from),
            stream,
            fields: Default::default(),
            text: "x".into(),
        }
    }

    fn lines(f: &Fold) -> Vec<u64> {
        f.view().marks().map(Mark::line).collect()
    }

    /// The lines of the marks kept for a story.
    fn story_lines(f: &Fold) -> Vec<u64> {
        f.view().marks().filter(|m| m.story()).map(Mark::line).collect()
    }

    /// With bounds, a fold keeps the first record's mark, pm2's daemon
    /// lines, closing records, records of several events, and opening
    /// records inside an exit's window of its app (any app's while it
    /// has none); without, every mark. Each instant keeps a mark too, so
    /// only repeats of an instant are let go here.
    #[test]
    fn bounds_keep_the_marks_that_can_change_a_story() {
        let exits = Exits::new([("api", 100_000), ("web", 200_000)]);
        let bounds = Arc::new(Bounds::new(exits));
        let keep = Keep { lines: false, bounds: Some(bounds), joins: false, links: None };
        let (out, daemon, start, end) = (Stream::Out, Stream::Daemon, Role::Start, Role::End);
        let events = [
            ev(1, Some(10), start, out, None),
            ev(2, Some(10), start, out, None),
            ev(3, Some(10), start, daemon, None),
            ev(4, Some(10), end, out, None),
            ev(5, Some(197_000), start, out, None),
            ev(6, Some(197_000), start, out, None),
            Event {
                shape: crate::matcher::Which::new(0).with_shared(true),
                ..ev(7, Some(197_000), start, out, Some("api"))
            },
            ev(8, Some(197_000), start, out, Some("api")),
            ev(9, Some(98_000), start, out, Some("api")),
            ev(10, Some(98_000), start, out, Some("api")),
            ev(11, Some(100_999), start, out, Some("api")),
            ev(12, Some(100_999), start, out, Some("api")),
            ev(13, Some(94_999), start, out, Some("api")),
            ev(14, Some(94_999), start, out, Some("api")),
        ];
        let f = Fold::of(events.clone(), keep);
        // 1 first; 3 daemon; 4 closes; 5, 9, 11, 13 the first of their
        // instants; 6 in web's window, the app not known yet; 7 of
        // several events; 10 and 12 inside api's window (its last ms
        // too). Not 2 (in no window), 8 (in web's, not api's) nor 14 (a
        // ms before api's).
        assert_eq!(lines(&f), [1, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13]);
        // Each is tagged with why: 5 and 9 inside a window too (web's
        // while the app is not known, api's); 13 only for the ticks.
        assert_eq!(story_lines(&f), [1, 3, 4, 5, 6, 7, 9, 10, 11, 12]);
        assert_eq!(f.count(), events.len());
        let all = Fold::of(events, Keep::default());
        assert_eq!(lines(&all), (1..=14).collect::<Vec<_>>());
        assert_eq!(story_lines(&all), lines(&all), "without bounds every mark may matter");
    }

    /// Past [`TICKS`] instants, every second one's mark goes, evenly
    /// through the run: the first is kept, the instants kept stay at most
    /// `TICKS`, and marks kept for themselves stay.
    #[test]
    fn instants_past_the_cap_are_thinned_evenly() {
        let bounds = Arc::new(Bounds::default());
        let keep = Keep { lines: false, bounds: Some(bounds), joins: false, links: None };
        let n = 3 * TICKS as u64 + 5;
        let events = (0..n).map(|i| {
            let stream = if i == 1001 { Stream::Daemon } else { Stream::Out };
            ev(i + 1, Some(i as i64 * 1000), Role::Start, stream, None)
        });
        let f = Fold::of(events, keep);
        let kept = lines(&f);
        assert!(kept.len() <= TICKS + 2 && kept.len() > TICKS / 2, "{}", kept.len());
        assert!(kept.contains(&1002), "the daemon line stays");
        assert_eq!(story_lines(&f), [1, 1002], "the rest only for the ticks");
        let instants: Vec<u64> = kept.iter().copied().filter(|&l| l != 1002).collect();
        let steps: std::collections::BTreeSet<u64> = instants.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!((instants[0], steps.len()), (1, 1), "evenly spaced from the first: {steps:?}");
        // Below the cap every instant is there.
        let few = (0..TICKS as u64).map(|i| ev(i + 1, Some(i as i64), Role::Start, Stream::Out, None));
        let f =
            Fold::of(few, Keep { lines: false, bounds: Some(Arc::new(Bounds::default())), joins: false, links: None });
        assert_eq!(f.view().marks().count(), TICKS);
    }
}
