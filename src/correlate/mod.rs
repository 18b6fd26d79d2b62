//! Correlation: events → findings, per rule and per group key. `single`
//! folds every event with the same key into one finding; `threshold` finds
//! bursts of at least N events within a window (see [`window`]);
//! `sequence` and `absence` pair a start event with a closing one (see
//! [`pairs`]). `suppress` folds matches that follow an incident closely
//! into it. A rule's `unless` / `context` events are read first and never
//! grouped (see [`context`]). Hands on [`Finding`]s, ordered by rule then
//! key.
//!
//! Windows run on a [`Clock`]. Matches with log times are judged on them,
//! together across files. Matches without a time are judged apart, one
//! source at a time (their order against another file's is unknown), and
//! never against timed ones: in `scan` a source's untimed matches all
//! stand at one instant in file order, so a window holds all of them and
//! only order counts; `watch` passes the time each was read
//! ([`correlate_arrived`]). Matches whose file has times of day but no
//! date ([`Event::day_time`]) are judged one source at a time too, on that
//! file's own clock ([`Clock::Day`]): their spans are facts within the
//! file, and mean nothing against another file's times.

pub mod closers;
pub mod context;
pub mod fold;
mod judge;
#[cfg(test)]
mod oracle;
pub mod pairs;
#[cfg(test)]
mod props;
pub mod spilled;
pub mod window;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::Arc;

use crate::matcher::{Event, field};
use crate::records::DayTime;
use crate::rules::{Correlation, Family, Role, Rule, RuleSet};
use crate::spill::links::Links;
use crate::{memory, pool};

pub use fold::{Bounds, Exits, Fold, Sink};
use judge::Judge;

/// Where a run of matches stands on the time line when windows are judged.
#[derive(Debug, Clone, Copy)]
pub enum Clock<'a> {
    /// Log times: spans between matches are facts to report.
    Log,
    /// One untimed source in `scan`: every match at one instant, in file
    /// order.
    Order,
    /// One untimed source in `watch`: when each record was read, by
    /// (source, line).
    Arrival(&'a HashMap<(usize, u64), i64>),
    /// One source's times of day with no date: the file's own clock
    /// ([`Event::day_time`]). Spans are facts, as with log times.
    Day,
}

impl Clock<'_> {
    /// Where `e` stands (ms).
    pub fn at(&self, e: &Event) -> i64 {
        match self {
            Clock::Log => e.ts.get().unwrap_or_default(),
            Clock::Order => 0,
            Clock::Arrival(read) => read.get(&(e.source, e.line)).copied().unwrap_or_default(),
            Clock::Day => e.day_time.map_or(0, DayTime::ms),
        }
    }

    /// Returns true if and only if spans on this clock are times the log
    /// states (a `gap`, "recovered after 5m").
    pub fn measures(&self) -> bool {
        matches!(self, Clock::Log | Clock::Day)
    }
}

/// Where the input ends, on each clock: absence windows still open are
/// judged there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct End {
    /// The latest log time of the input (ms since the epoch).
    pub log: Option<i64>,
    /// Per source id, where that file's own clock ends (see
    /// [`Event::day_time`]): its last time of day before any date, as
    /// [`DayTime::ms`]. `watch` puts the clock's now here.
    pub days: BTreeMap<usize, i64>,
}

impl From<Option<i64>> for End {
    fn from(log: Option<i64>) -> End {
        End { log, days: BTreeMap::new() }
    }
}

/// Events that together make one incident, folded as correlation took
/// them ([`Fold`] in `scan`; `watch` keeps the events themselves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding<S = Fold> {
    /// Dense rule index.
    pub rule: u32,
    /// The group key: (field, value) per `group_by` entry.
    pub key: Vec<(String, String)>,
    /// The events, in time order (file order where time is missing).
    pub events: S,
    /// Computed facts: `gap` for sequences, `status` for absences.
    pub facts: Vec<(String, String)>,
}

impl Finding<Vec<Event>> {
    /// The finding with its events folded, as `scan` makes it.
    pub fn folded(&self, rules: &RuleSet) -> Finding {
        let keep = Fold::cfg(&rules.rules()[self.rule as usize], None);
        let events = Fold::of(self.events.iter().cloned(), keep);
        Finding { rule: self.rule, key: self.key.clone(), events, facts: self.facts.clone() }
    }
}

/// Groups `events` and applies each rule's correlation. `paths` resolves
/// source ids for the `file` key; `end` is where the input ends (the
/// latest log time, and each file's own clock: where absence windows still
/// open are judged). Also returns notes for the summary (none from
/// correlation itself today). Every finding collected: `scan` takes them
/// batch by batch ([`correlate_each`]).
pub fn correlate(
    rules: &RuleSet,
    sources: Vec<Vec<Event>>,
    paths: &[String],
    end: impl Into<End>,
) -> (Vec<Finding>, Vec<String>) {
    let (findings, notes) = collected(|emit| correlate_each(rules, sources, paths, end, None, emit));
    (findings, notes)
}

/// [`correlate`] handing the findings to `emit` a batch at a time, in the
/// same order, each described ([`context::describe`]): the caller makes
/// incidents of a batch before the next is judged, so the findings of a
/// scan are never all held. Stops at the first error `emit` returns.
/// `links`: where the findings' folds hand on the records that may link
/// their incidents to others as they go (None: they keep them as marks).
pub fn correlate_each<E>(
    rules: &RuleSet,
    sources: Vec<Vec<Event>>,
    paths: &[String],
    end: impl Into<End>,
    links: Option<Arc<Links>>,
    emit: impl FnMut(Vec<Finding>) -> Result<(), E>,
) -> Result<Vec<String>, E> {
    correlate_into(rules, sources, paths, &end.into(), BATCH_EVENTS, links, emit)?;
    Ok(Vec::new())
}

/// Events judged, at least, before their groups' findings are handed on
/// (the last group of a batch may take it past).
pub const BATCH_EVENTS: usize = 1 << 16;

/// What `run` hands its sink, collected in order, and what it returns.
fn collected<S, R>(
    run: impl FnOnce(&mut dyn FnMut(Vec<S>) -> Result<(), Infallible>) -> Result<R, Infallible>,
) -> (Vec<S>, R) {
    let mut all = Vec::new();
    let out = run(&mut |batch| {
        all.extend(batch);
        Ok(())
    });
    match out {
        Ok(r) => (all, r),
        Err(never) => match never {},
    }
}

/// [`correlate_each`] into any [`Sink`] (the tests keep the events), in
/// batches of about `batch_events` events.
fn correlate_into<S: Sink + Send, E>(
    rules: &RuleSet,
    sources: Vec<Vec<Event>>,
    paths: &[String],
    end: &End,
    batch_events: usize,
    links: Option<Arc<Links>>,
    mut emit: impl FnMut(Vec<Finding<S>>) -> Result<(), E>,
) -> Result<(), E> {
    let sources = context::apply(rules, sources, paths);
    let groups = group(rules, sources, paths);
    // Restart incidents first: their exits say where another incident's
    // records may be causes, and only those of its records are kept.
    let (first, rest): (Vec<_>, Vec<_>) =
        groups.into_iter().enumerate().partition(|(_, (key, _))| restarts(rules, key));
    let judge = |bounds: Option<&Arc<Bounds>>, (at, (key, mut evs)): (usize, (GroupKey, Vec<Event>))| {
        in_order(&mut evs);
        // Read through `drain_front`, which gives the list's room back as
        // it goes: a group can be most of the events.
        (at, correlate_group(rules, key, memory::drain_front(evs), end, None, bounds))
    };
    let early: Vec<(usize, Vec<Finding<S>>)> = pool::map_in_order(first, |g| judge(None, g));
    let bounds = bounds_of(&early, links);
    // The restart groups' findings (few) wait for their place among the
    // others', so every batch goes out in group order.
    let mut ordered = InOrder::new(early);
    let mut batch = Vec::new();
    let mut held = 0;
    for g in rest {
        held += g.1.1.len();
        batch.push(g);
        if held >= batch_events {
            let found = pool::map_in_order(std::mem::take(&mut batch), |g| judge(Some(&bounds), g));
            ordered.emit(rules, found, &mut emit)?;
            held = 0;
        }
    }
    let found = pool::map_in_order(batch, |g| judge(Some(&bounds), g));
    ordered.emit(rules, found, &mut emit)?;
    ordered.finish(rules, &mut emit)
}

/// Whether `key`'s rule is of the restart family: its groups are judged
/// first, for their exits.
fn restarts(rules: &RuleSet, (rule, _): &GroupKey) -> bool {
    rules.rules()[*rule as usize].story == Some(Family::Restart)
}

/// Which marks can change a story beyond those every fold keeps: the
/// windows before the exits of the restart groups' findings (`early`);
/// and where folds hand on the records that may link their incidents.
fn bounds_of<S: Sink>(early: &[(usize, Vec<Finding<S>>)], links: Option<Arc<Links>>) -> Arc<Bounds> {
    let mut exits: Vec<(&str, i64)> = Vec::new();
    for f in early.iter().flat_map(|(_, found)| found) {
        if let (Some(app), times) = f.events.exits() {
            exits.extend(times.into_iter().map(|t| (app, t)));
        }
    }
    Arc::new(Bounds::new(Exits::new(exits)).handing_links_to(links))
}

/// Findings of groups judged out of their order (the restart groups, for
/// their exits) merged back into it as the other groups' come.
struct InOrder<S> {
    early: std::iter::Peekable<std::vec::IntoIter<(usize, Vec<Finding<S>>)>>,
}

impl<S: Sink> InOrder<S> {
    /// `early`: (group's place, its findings), in order.
    fn new(early: Vec<(usize, Vec<Finding<S>>)>) -> InOrder<S> {
        InOrder { early: early.into_iter().peekable() }
    }

    /// Hands `emit` the findings of `found` (groups in order, after every
    /// group emitted before), with those of early groups placed before
    /// them; described.
    fn emit<E>(
        &mut self,
        rules: &RuleSet,
        found: Vec<(usize, Vec<Finding<S>>)>,
        emit: &mut impl FnMut(Vec<Finding<S>>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut out = Vec::new();
        for (at, findings) in found {
            while let Some((_, early)) = self.early.next_if(|(e, _)| *e < at) {
                out.extend(early);
            }
            out.extend(findings);
        }
        self.hand(rules, out, emit)
    }

    /// Hands on the early groups' findings left: those after every other
    /// group.
    fn finish<E>(mut self, rules: &RuleSet, emit: &mut impl FnMut(Vec<Finding<S>>) -> Result<(), E>) -> Result<(), E> {
        let out = self.early.by_ref().flat_map(|(_, f)| f).collect();
        self.hand(rules, out, emit)
    }

    fn hand<E>(
        &mut self,
        rules: &RuleSet,
        mut out: Vec<Finding<S>>,
        emit: &mut impl FnMut(Vec<Finding<S>>) -> Result<(), E>,
    ) -> Result<(), E> {
        if out.is_empty() {
            return Ok(());
        }
        context::describe(rules, &mut out);
        emit(out)
    }
}

/// [`correlate`] for `watch`: each match with the wall-clock ms it was
/// read, which is where a match without a log time stands (per source, as
/// in `scan`). The findings keep their events.
pub fn correlate_arrived(
    rules: &RuleSet,
    held: Vec<(Event, i64)>,
    paths: &[String],
    end: impl Into<End>,
) -> Vec<Finding<Vec<Event>>> {
    let end = end.into();
    let read: HashMap<(usize, u64), i64> = held
        .iter()
        .filter(|(e, _)| e.ts.get().is_none() && e.day_time.is_none())
        .map(|(e, at)| ((e.source, e.line), *at))
        .collect();
    let events = held.into_iter().map(|(e, _)| e).collect();
    let sources = context::apply(rules, vec![events], paths);
    let groups = group(rules, sources, paths);
    let mut findings: Vec<Finding<Vec<Event>>> = groups
        .into_iter()
        .flat_map(|(key, mut evs)| {
            in_order(&mut evs);
            correlate_group(rules, key, evs.into_iter(), &end, Some(&read), None)
        })
        .collect();
    context::describe(rules, &mut findings);
    findings
}

/// The order `correlate_group` takes a group's events in: time order,
/// ties in file order; then each source's other matches: its times of day
/// without a date in their order, its untimed ones.
pub fn order(e: &Event) -> impl Ord + use<> {
    (e.ts.get().is_none(), e.ts.get(), e.source, e.day_time.is_none(), e.day_time, e.line)
}

/// Sorts a group into [`order`] in place: a group can be most of the
/// events (storm corpus, 1 GiB: 1.5 M in one), and the standard stable
/// sort takes a scratch copy of half of them.
fn in_order(evs: &mut [Event]) {
    if !evs.is_sorted_by_key(order) {
        memory::sort_in_place(evs, |a, b| order(a).cmp(&order(b)));
    }
}

/// One group's findings, from its events in [`order`]. Timed events are
/// judged together; the others one source at a time: times of day without
/// a date on the file's own clock, untimed ones on `read` (arrival times)
/// or else file order. Each event is folded into its finding or dropped
/// as it is judged: nothing but open windows is held.
fn correlate_group<S: Sink>(
    rules: &RuleSet,
    group: GroupKey,
    evs: impl Iterator<Item = Event>,
    end: &End,
    read: Option<&HashMap<(usize, u64), i64>>,
    bounds: Option<&Arc<Bounds>>,
) -> Vec<Finding<S>> {
    let mut all = Vec::new();
    let rest = correlate_group_each(rules, group, evs, end, read, bounds, &mut |done| all.extend(done));
    all.extend(rest);
    all
}

/// Findings a judge holds before the finished ones are handed on.
const HAND_ON_FINDINGS: usize = 1 << 12;

/// [`correlate_group`] handing `done` the findings of the timed run that
/// nothing can change any more as they are made, a few thousand at a
/// time (a storm's largest group makes hundreds of thousands), and
/// returning the rest; all in order.
fn correlate_group_each<S: Sink>(
    rules: &RuleSet,
    (rule_idx, key): GroupKey,
    evs: impl Iterator<Item = Event>,
    end: &End,
    read: Option<&HashMap<(usize, u64), i64>>,
    bounds: Option<&Arc<Bounds>>,
    done: &mut dyn FnMut(Vec<Finding<S>>),
) -> Vec<Finding<S>> {
    let rule = &rules.rules()[rule_idx as usize];
    let key: Vec<(String, String)> = rule.group_by.iter().cloned().zip(key).collect();
    let finding = |(mut events, facts): (S, _)| {
        events.done();
        Finding { rule: rule_idx, key: key.clone(), events, facts }
    };
    let cfg = S::cfg(rule, bounds);
    if let Correlation::Single = rule.correlate {
        let runs = match &rule.suppress {
            Some(w) => split_quiet(evs, w.ms(), &cfg),
            None => {
                let mut all = S::new(&cfg);
                evs.for_each(|e| all.add(e));
                vec![all]
            }
        };
        return runs.into_iter().map(|events| finding((events, vec![]))).collect();
    }
    let mut evs = evs.peekable();
    let mut timed = Judge::new(rule, Clock::Log, end.log, cfg.clone());
    while let Some(e) = evs.next_if(|e| e.ts.get().is_some()) {
        timed.feed(e);
        if timed.held() > HAND_ON_FINDINGS {
            done(timed.take_done().into_iter().map(finding).collect());
        }
    }
    let mut found = timed.finish();
    let arrival = read.map_or(Clock::Order, Clock::Arrival);
    // The rest, one lane at a time: a source's times of day without a
    // date, its untimed matches.
    let lane = |e: &Event| (e.source, e.day_time.is_some());
    while let Some(first) = evs.next() {
        let (clock, run_end) = match first.day_time {
            Some(_) => (Clock::Day, end.days.get(&first.source).copied()),
            None => (arrival, end.log),
        };
        let of = lane(&first);
        let run = std::iter::once(first).chain(std::iter::from_fn(|| evs.next_if(|e| lane(e) == of)));
        let mut judge = Judge::new(rule, clock, run_end, cfg.clone());
        match clock {
            // Reads come in order too, but a file truncated by rotation
            // numbers its lines from 1 again: `watch` sorts each lane.
            Clock::Arrival(_) => {
                let mut run: Vec<Event> = run.collect();
                run.sort_by_key(|e| (clock.at(e), e.line));
                run.into_iter().for_each(|e| judge.feed(e));
            }
            _ => run.for_each(|e| judge.feed(e)),
        }
        found.extend(judge.finish());
    }
    found.into_iter().map(finding).collect()
}

/// A rule and the values of its `group_by` fields.
type GroupKey = (u32, Vec<String>);

/// Moves the events (one list per source) into their groups, ordered by
/// rule then key. Events are most of a noisy scan's heap, so each is held
/// once: group sizes are counted first (no growth by doubling) and each
/// source's list is handed back as its events move.
fn group(rules: &RuleSet, sources: Vec<Vec<Event>>, paths: &[String]) -> Vec<(GroupKey, Vec<Event>)> {
    // Keys are built per source on the workers (a string per field per
    // event); only each source's few distinct keys meet here.
    let local: Vec<(Vec<GroupKey>, Vec<u32>)> =
        pool::map_in_order(sources.iter().collect(), |evs| source_keys(rules, evs, paths));
    let mut index: HashMap<GroupKey, usize> = HashMap::new();
    let mut keys: Vec<GroupKey> = Vec::new();
    let mut sizes: Vec<usize> = Vec::new();
    // Group ids per event, u32 as the local ones (rewritten in place).
    let ids: Vec<Vec<u32>> = local
        .into_iter()
        .map(|(source_keys, local_ids)| {
            let global: Vec<u32> = source_keys
                .into_iter()
                .map(|key| {
                    *index.entry(key).or_insert_with_key(|key| {
                        keys.push(key.clone());
                        sizes.push(0);
                        keys.len() - 1
                    }) as u32
                })
                .collect();
            local_ids
                .into_iter()
                .map(|l| {
                    let id = global[l as usize];
                    sizes[id as usize] += 1;
                    id
                })
                .collect()
        })
        .collect();
    let mut groups: Vec<Vec<Event>> = sizes.iter().map(|&n| Vec::with_capacity(n)).collect();
    // Each list emptied sits on a worker's arena, where the groups will not
    // reuse it.
    let mut trim = memory::TrimEvery::default();
    // Taken from the last source's last event back, so that each list
    // shrinks as its events move: moved front to back, a list was freed
    // only once all of it had moved, and the largest source was held twice
    // (storm corpus, 1 GiB: a quarter of its events). Each group is filled
    // back to front and turned round once full.
    for (mut evs, mut ids) in sources.into_iter().zip(ids).rev() {
        while !evs.is_empty() {
            let from = evs.len().saturating_sub(memory::GIVE_BACK);
            for (ev, id) in evs.drain(from..).rev().zip(ids.drain(from..).rev()) {
                groups[id as usize].push(ev);
            }
            let held = evs.capacity();
            evs.shrink_to_fit();
            trim.freed((held - evs.capacity()) * std::mem::size_of::<Event>());
        }
    }
    groups.iter_mut().for_each(|g| g.reverse());
    memory::release_freed();
    let mut out: Vec<(GroupKey, Vec<Event>)> = keys.into_iter().zip(groups).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    spread_closers(&mut out);
    out
}

/// Copies each closing event that speaks for several groups (see
/// [`closers`]) into every other group of its rule it closes. Groups are
/// sorted by rule, so each rule's groups are one run. A group without a
/// start event gets none: nothing opens there for a closer to close (a
/// log full of 1102 "All data farms are connected" with no farm broken
/// copied each into every farm's group of closers).
fn spread_closers(groups: &mut [(GroupKey, Vec<Event>)]) {
    let opens: Vec<bool> = groups.iter().map(|(_, evs)| evs.iter().any(|e| e.role == Role::Start)).collect();
    let mut copies: Vec<(usize, Event)> = Vec::new();
    for (from, ((rule, key), evs)) in groups.iter().enumerate() {
        if !closers::is_wide(key) {
            continue;
        }
        let same_rule = groups.partition_point(|g| g.0.0 < *rule)..groups.partition_point(|g| g.0.0 <= *rule);
        for to in same_rule.filter(|&to| to != from && opens[to] && closers::closes(key, &groups[to].0.1)) {
            copies.extend(evs.iter().filter(|e| e.role == Role::End).map(|e| (to, e.clone())));
        }
    }
    for (to, ev) in copies {
        groups[to].1.push(ev);
    }
}

/// The distinct group keys of one source's events, in order of first
/// appearance, and each event's index into them. A rule's events mostly
/// repeat the key of its event before (one app, one code), so that key is
/// compared in place first: building a key is a string per field and a
/// hash, for every one of a noisy log's hundreds of thousands of events.
fn source_keys(rules: &RuleSet, evs: &[Event], paths: &[String]) -> (Vec<GroupKey>, Vec<u32>) {
    let mut index: HashMap<GroupKey, u32> = HashMap::new();
    let mut keys: Vec<GroupKey> = Vec::new();
    // Per rule, the key id of its last event.
    let mut last: Vec<Option<u32>> = vec![None; rules.rules().len()];
    let ids = evs
        .iter()
        .map(|ev| {
            let rule = &rules.rules()[ev.rule as usize];
            let seen = last.get_mut(ev.rule as usize);
            if let Some(Some(id)) = seen.as_deref()
                && has_key(rule, ev, paths, &keys[*id as usize].1)
            {
                return *id;
            }
            let key = (ev.rule, group_key(rule, ev, paths));
            let id = *index.entry(key).or_insert_with_key(|key| {
                keys.push(key.clone());
                keys.len() as u32 - 1
            });
            if let Some(seen) = seen {
                *seen = Some(id);
            }
            id
        })
        .collect();
    (keys, ids)
}

/// Whether [`group_key`] of `ev` is `key`, without building it.
fn has_key(rule: &Rule, ev: &Event, paths: &[String], key: &[String]) -> bool {
    rule.group_by.len() == key.len()
        && rule.group_by.iter().zip(key).all(|(f, want)| {
            let value = match f.as_str() {
                "app" => ev.app.as_deref(),
                "file" => paths.get(ev.source).map(String::as_str),
                _ => field(&ev.fields, f),
            };
            value.unwrap_or(closers::MISSING) == want
        })
}

/// Splits a `single` group's events, in [`order`], where the key was
/// quiet for `w` or longer, each on its own clock: log times, or a file's
/// times of day without a date against the same file's. Events without a
/// time, and the first of a file's own clock, stay with the run before
/// them. Only the run open is held, with its latest time per clock.
fn split_quiet<S: Sink>(events: impl Iterator<Item = Event>, w: i64, cfg: &S::Cfg) -> Vec<S> {
    let mut runs: Vec<S> = Vec::new();
    // Of the run open: its latest log time, and per source its latest time
    // of day without a date.
    let mut last_ts: Option<i64> = None;
    let mut days: Vec<(usize, i64)> = Vec::new();
    for e in events {
        let t = e.ts.get().or(e.day_time.map(DayTime::ms));
        let prev = match (e.ts.get(), e.day_time) {
            (Some(_), _) => last_ts,
            (None, Some(_)) => days.iter().find(|(s, _)| *s == e.source).map(|&(_, d)| d),
            (None, None) => None,
        };
        let joins = match (prev, t) {
            (Some(prev), Some(t)) => window::within(prev, t, w),
            _ => true,
        };
        if !joins || runs.is_empty() {
            runs.push(S::new(cfg));
            last_ts = None;
            days.clear();
        }
        if let Some(ts) = e.ts.get() {
            last_ts = Some(ts);
        }
        if let Some(d) = e.day_time {
            match days.iter_mut().find(|(s, _)| *s == e.source) {
                Some((_, last)) => *last = d.ms(),
                None => days.push((e.source, d.ms())),
            }
        }
        if let Some(run) = runs.last_mut() {
            run.add(e);
        }
    }
    runs
}

/// The values of `rule`'s group key for `ev` (`-` for a field it does not
/// have), in `group_by` order. `watch` groups events as they arrive.
pub fn group_key(rule: &Rule, ev: &Event, paths: &[String]) -> Vec<String> {
    rule.group_by.iter().map(|f| key_value(ev, f, paths)).collect()
}

fn key_value(ev: &Event, name: &str, paths: &[String]) -> String {
    let value = match name {
        "app" => ev.app.as_deref().map(str::to_string),
        "file" => paths.get(ev.source).cloned(),
        _ => field(&ev.fields, name).map(str::to_string),
    };
    value.unwrap_or_else(|| closers::MISSING.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Stream;
    use crate::rules::compile_all;

    /// [`super::correlate`] with the findings' events kept, to test which
    /// events each finding takes.
    fn correlate(
        rules: &RuleSet,
        sources: Vec<Vec<Event>>,
        paths: &[String],
        end: impl Into<End>,
    ) -> (Vec<Finding<Vec<Event>>>, Vec<String>) {
        let end = end.into();
        collected(|emit| correlate_into(rules, sources, paths, &end, BATCH_EVENTS, None, emit).map(|()| Vec::new()))
    }

    fn rules() -> RuleSet {
        let pack = r#"
[[rule]]
id = "pm2.loop"
title = "t"
severity = "high"
streams = ["daemon"]
regex = 'App \[(?P<app>[^:]+):\d+\] exited'
correlate = { kind = "threshold", count = 3, window = "1m" }
fix = "f"

[[rule]]
id = "x.single"
title = "t"
severity = "low"
regex = 'boom'
fix = "f"
"#;
        compile_all(&[("t.toml".into(), pack.into())]).expect("rules")
    }

    fn ev(rule: u32, app: &str, ts: Option<i64>, line: u64) -> Event {
        Event {
            rule,
            role: crate::rules::Role::Start,
            shape: 0.into(),
            source: 0,
            line,
            ts: ts.into(),
            day_time: None,
            app: Some(app.into()),
            stream: Stream::Daemon,
            fields: Default::default(),
            text: "".into(),
        }
    }

    /// Each event's key id names the key [`group_key`] builds for it,
    /// whichever event of its rule came before (same key, another app,
    /// another field value, a field missing, another file), and no key is
    /// listed twice.
    #[test]
    fn source_keys_are_the_keys_each_event_builds() {
        let pack = r#"
[[rule]]
id = "x.keyed"
title = "t"
severity = "high"
regex = 'code (?P<code>\d+)?'
group_by = ["app", "code", "file"]
correlate = { kind = "threshold", count = 3, window = "1m" }
fix = "f"
"#;
        let rules = compile_all(&[("t.toml".into(), pack.into())]).expect("rules");
        let with = |app: &str, code: Option<&str>, source: usize| {
            let fields: crate::matcher::Fields = code
                .map(|c| (std::sync::Arc::from("code"), std::sync::Arc::from(c)))
                .into_iter()
                .collect::<Vec<_>>()
                .into();
            Event { fields, source, ..ev(0, app, Some(0), 1) }
        };
        let evs = vec![
            with("api", Some("1"), 0),
            with("api", Some("1"), 0),
            with("web", Some("1"), 0),
            with("api", Some("1"), 0),
            with("api", Some("2"), 0),
            with("api", None, 0),
            with("api", None, 0),
            with("api", Some("1"), 1),
            with("api", Some("1"), 7),
            with("-", None, 0),
        ];
        let paths = ["a.log".to_string(), "b.log".to_string()];
        let (keys, ids) = source_keys(&rules, &evs, &paths);
        for (ev, id) in evs.iter().zip(&ids) {
            assert_eq!(keys[*id as usize], (0, group_key(&rules.rules()[0], ev, &paths)), "{ev:?}");
        }
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!((distinct.len(), keys.len()), (7, 7), "{keys:?}");
    }

    #[test]
    fn threshold_per_app_and_single_dedup() {
        let events = vec![
            ev(0, "api", Some(0), 1),
            ev(0, "web", Some(1), 2),
            ev(0, "api", Some(2), 3),
            ev(0, "api", Some(3), 4),
            ev(1, "api", Some(5), 5),
            ev(1, "api", Some(6), 6),
        ];
        let (findings, notes) = correlate(&rules(), vec![events], &[], None);
        assert!(notes.is_empty());
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].key, vec![("app".to_string(), "api".to_string())]);
        assert_eq!(findings[0].events.len(), 3);
        assert_eq!(findings[1].events.len(), 2);
    }

    /// One `single` rule with `suppress = "10m"`, for the quiet-gap tests.
    fn flap_rules() -> RuleSet {
        let pack = r#"
[[rule]]
id = "x.flap"
title = "t"
severity = "low"
regex = 'boom'
suppress = "10m"
fix = "f"
"#;
        compile_all(&[("t.toml".into(), pack.into())]).expect("rules")
    }

    #[test]
    fn suppress_splits_single_incidents_at_quiet_gaps() {
        let rules = flap_rules();
        let m = 60_000;
        let events = vec![ev(0, "api", Some(0), 1), ev(0, "api", Some(9 * m), 2), ev(0, "api", Some(30 * m), 3)];
        let (findings, _) = correlate(&rules, vec![events], &[], None);
        let sizes: Vec<usize> = findings.iter().map(|f| f.events.len()).collect();
        assert_eq!(sizes, vec![2, 1]);
    }

    /// A pack with one rule of each windowed kind, for the untimed tests.
    fn windowed() -> RuleSet {
        let pack = r#"
[[rule]]
id = "t.loop"
title = "t"
severity = "high"
regex = 'exited'
correlate = { kind = "threshold", count = 3, window = "1m" }
fix = "f"

[[rule]]
id = "t.lost"
title = "t"
severity = "high"
regex = 'lost'
correlate = { kind = "absence", until = 'back', window = "2m" }
fix = "f"

[[rule]]
id = "t.restored"
title = "t"
severity = "low"
regex = 'down'
correlate = { kind = "sequence", then = 'up', window = "12h" }
fix = "f"

[[rule]]
id = "t.flap"
title = "t"
severity = "low"
regex = 'flap'
correlate = { kind = "sequence", then = 'steady', window = "1m" }
suppress = "1h"
fix = "f"
"#;
        compile_all(&[("t.toml".into(), pack.into())]).expect("rules")
    }

    /// An untimed event of `rule` in `source` at `line`.
    fn at(rule: u32, role: crate::rules::Role, source: usize, line: u64) -> Event {
        Event { role, source, ..ev(rule, "api", None, line) }
    }

    fn start(rule: u32, source: usize, line: u64) -> Event {
        at(rule, crate::rules::Role::Start, source, line)
    }

    fn end(rule: u32, source: usize, line: u64) -> Event {
        at(rule, crate::rules::Role::End, source, line)
    }

    /// A finding's events as (source, line), and its facts.
    type Shape = (Vec<(usize, u64)>, Vec<(String, String)>);

    fn shapes(findings: &[Finding<Vec<Event>>]) -> Vec<Shape> {
        findings.iter().map(|f| (f.events.iter().map(|e| (e.source, e.line)).collect(), f.facts.clone())).collect()
    }

    #[test]
    fn untimed_threshold_counts_a_source_one_short_and_exactly() {
        let rules = windowed();
        let short = vec![start(0, 0, 3), start(0, 0, 9)];
        assert!(correlate(&rules, vec![short], &[], None).0.is_empty());
        let exactly = vec![start(0, 0, 3), start(0, 0, 9), start(0, 0, 400)];
        let (found, notes) = correlate(&rules, vec![exactly], &[], None);
        assert!(notes.is_empty(), "no note that matches were not counted: {notes:?}");
        assert_eq!(shapes(&found), vec![(vec![(0, 3), (0, 9), (0, 400)], vec![])]);
    }

    /// Two files' untimed matches are not one sequence of events: their
    /// order against each other is unknown.
    #[test]
    fn untimed_threshold_does_not_add_up_sources() {
        let rules = windowed();
        let a = vec![start(0, 0, 1), start(0, 0, 2)];
        let b = vec![start(0, 1, 1), start(0, 1, 2)];
        assert!(correlate(&rules, vec![a, b], &[], None).0.is_empty());
    }

    /// A timed file and an untimed one of the same app and rule: the
    /// untimed matches neither complete the timed burst nor join it.
    #[test]
    fn timed_and_untimed_matches_are_judged_apart() {
        let rules = windowed();
        let timed = vec![ev(0, "api", Some(0), 1), ev(0, "api", Some(1000), 2)];
        let untimed = vec![start(0, 1, 1), start(0, 1, 2)];
        assert!(correlate(&rules, vec![timed.clone(), untimed.clone()], &[], None).0.is_empty());
        let mut burst = timed;
        burst.push(ev(0, "api", Some(2000), 3));
        let mut untimed = untimed;
        untimed.push(start(0, 1, 3));
        let found = correlate(&rules, vec![burst, untimed], &[], None).0;
        assert_eq!(
            shapes(&found),
            vec![(vec![(0, 1), (0, 2), (0, 3)], vec![]), (vec![(1, 1), (1, 2), (1, 3)], vec![])],
            "one incident per clock"
        );
    }

    #[test]
    fn untimed_absence_unrecovered_is_an_incident() {
        let rules = windowed();
        let found = correlate(&rules, vec![vec![start(1, 0, 5), start(1, 0, 8)]], &[], Some(1)).0;
        let status = vec![("status".to_string(), pairs::UNTIMED_OPEN.to_string())];
        assert_eq!(shapes(&found), vec![(vec![(0, 5), (0, 8)], status.clone())]);
        // Lost, restored, lost again: the last loss is the open one.
        let found = correlate(&rules, vec![vec![start(1, 0, 5), end(1, 0, 6), start(1, 0, 9)]], &[], None).0;
        assert_eq!(shapes(&found), vec![(vec![(0, 9)], status)]);
    }

    /// A loss closed later in its file cannot be measured: the absence rule
    /// leaves it out (its `sequence` twin reports the pair). A close in
    /// another file does not close it, and one before it neither.
    #[test]
    fn untimed_absence_recovered_in_its_source_is_left_out() {
        let rules = windowed();
        assert!(correlate(&rules, vec![vec![start(1, 0, 5), end(1, 0, 900)]], &[], None).0.is_empty());
        let elsewhere = correlate(&rules, vec![vec![start(1, 0, 5)], vec![end(1, 1, 900)]], &[], None).0;
        assert_eq!(shapes(&elsewhere).len(), 1);
        let before = correlate(&rules, vec![vec![end(1, 0, 1), start(1, 0, 5)]], &[], None).0;
        assert_eq!(shapes(&before), vec![(vec![(0, 5)], vec![("status".into(), pairs::UNTIMED_OPEN.into())])]);
    }

    #[test]
    fn untimed_sequence_pairs_in_file_order_with_an_unknown_gap() {
        let rules = windowed();
        let gap = vec![("gap".to_string(), pairs::UNKNOWN_GAP.to_string())];
        let found = correlate(&rules, vec![vec![start(2, 0, 5), end(2, 0, 6)]], &[], None).0;
        assert_eq!(shapes(&found), vec![(vec![(0, 5), (0, 6)], gap)]);
        // Out of order: the close comes first in its file.
        assert!(correlate(&rules, vec![vec![end(2, 0, 5), start(2, 0, 6)]], &[], None).0.is_empty());
        // Across sources: a close in another file is not "later".
        assert!(correlate(&rules, vec![vec![start(2, 0, 5)], vec![end(2, 1, 6)]], &[], None).0.is_empty());
        assert!(correlate(&rules, vec![vec![end(2, 0, 5)], vec![start(2, 1, 6)]], &[], None).0.is_empty());
    }

    /// `suppress` needs times: untimed, every pair of one source folds
    /// into one incident (a source is one instant), never across sources.
    #[test]
    fn untimed_suppress_folds_a_source_not_sources() {
        let rules = windowed();
        let one = vec![start(3, 0, 1), end(3, 0, 2), start(3, 0, 30), end(3, 0, 31)];
        let found = correlate(&rules, vec![one, vec![start(3, 1, 1), end(3, 1, 2)]], &[], None).0;
        let gap = vec![("gap".to_string(), pairs::UNKNOWN_GAP.to_string())];
        assert_eq!(
            shapes(&found),
            vec![(vec![(0, 1), (0, 2), (0, 30), (0, 31)], gap.clone()), (vec![(1, 1), (1, 2)], gap)]
        );
    }

    /// `watch`: untimed matches stand where they were read, so a window
    /// applies to them; read all at once (a first read from the start),
    /// they give what `scan` gives.
    #[test]
    fn arrival_times_judge_untimed_windows_in_watch() {
        let rules = windowed();
        let m = 60_000;
        let spread = vec![(start(0, 0, 1), 0), (start(0, 0, 2), m), (start(0, 0, 3), 2 * m)];
        assert!(correlate_arrived(&rules, spread, &[], None).is_empty());
        let close = vec![(start(0, 0, 1), 0), (start(0, 0, 2), 10_000), (start(0, 0, 3), 20_000)];
        assert_eq!(correlate_arrived(&rules, close, &[], None).len(), 1);
        let at_once: Vec<(Event, i64)> =
            [start(1, 0, 5), end(1, 0, 6), start(1, 0, 9), start(2, 0, 5), end(2, 0, 6)].map(|e| (e, 7)).into();
        let batch = correlate(&rules, vec![at_once.iter().map(|(e, _)| e.clone()).collect()], &[], None).0;
        assert_eq!(shapes(&correlate_arrived(&rules, at_once, &[], None)), shapes(&batch));
        // Read 5 minutes apart, a loss and its close are an outage.
        let late = vec![(start(1, 0, 5), 0), (end(1, 0, 6), 5 * m)];
        let found = correlate_arrived(&rules, late, &[], None);
        assert_eq!(found[0].facts[0].1, "recovered after more than 2m; times unknown");
    }

    /// A match at `ms` on source `source`'s own clock (times of day
    /// without a date).
    fn day(rule: u32, role: crate::rules::Role, source: usize, line: u64, ms: i64) -> Event {
        let day_time = DayTime::from_ms(ms);
        Event { day_time, ..at(rule, role, source, line) }
    }

    const M: i64 = 60_000;
    /// 09:23:43 on day 0 of a file's count.
    const T923: i64 = (9 * 3600 + 23 * 60 + 43) * 1000;

    fn ends(days: &[(usize, i64)]) -> End {
        End { log: None, days: days.iter().copied().collect() }
    }

    /// A bare log end (what `correlate`'s callers without files of their
    /// own clock pass) is the log's end, and no file's own clock.
    #[test]
    fn a_log_end_alone_is_the_logs_end() {
        assert_eq!(End::from(Some(5)), End { log: Some(5), days: BTreeMap::new() });
        assert_eq!(End::from(None), End::default());
    }

    /// Times of day without a date are spans within their file: an
    /// absence closed 5.5 minutes later is an outage with its length, one
    /// closed within the window is nothing, and one never closed is judged
    /// where the file's clock ends.
    #[test]
    fn a_files_own_clock_measures_its_windows() {
        let rules = windowed();
        let (s, e) = (crate::rules::Role::Start, crate::rules::Role::End);
        let late = vec![day(1, s, 0, 10, T923), day(1, e, 0, 13, T923 + 330_000)];
        let found = correlate(&rules, vec![late], &[], ends(&[(0, T923 + 330_000)])).0;
        let facts = vec![("status".to_string(), "recovered after 5m 30s".to_string()), ("gap".into(), "5m 30s".into())];
        assert_eq!(shapes(&found), vec![(vec![(0, 10), (0, 13)], facts)]);
        let quick = vec![day(1, s, 0, 10, T923), day(1, e, 0, 11, T923 + 8000)];
        assert!(correlate(&rules, vec![quick], &[], ends(&[(0, T923 + 8000)])).0.is_empty());
        let open = vec![day(1, s, 0, 10, T923)];
        let found = correlate(&rules, vec![open.clone()], &[], ends(&[(0, T923 + M)])).0;
        let status = "not recovered by end of log (the log ends 1m after the first event, before the 2m window closed)";
        assert_eq!(found[0].facts, vec![("status".to_string(), status.to_string())]);
        let found = correlate(&rules, vec![open], &[], ends(&[(0, T923 + 3 * M)])).0;
        assert_eq!(found[0].facts, vec![("status".to_string(), "not recovered by end of log".to_string())]);
        // A pair's gap is known.
        let pair = vec![day(2, s, 0, 1, T923), day(2, e, 0, 2, T923 + 40_000)];
        let found = correlate(&rules, vec![pair], &[], End::default()).0;
        assert_eq!(found[0].facts, vec![("gap".to_string(), "40s".to_string()), ("gap_ms".into(), "40000".into())]);
    }

    /// Past midnight the file's clock goes on (day 1 of its count): three
    /// exits across midnight within the minute are a burst, in time order
    /// whatever the line order.
    #[test]
    fn a_files_own_clock_runs_past_midnight() {
        let rules = windowed();
        let s = crate::rules::Role::Start;
        let day_ms = 86_400_000;
        let exits = vec![day(0, s, 0, 1, day_ms - 20_000), day(0, s, 0, 3, day_ms + 10_000), day(0, s, 0, 2, day_ms)];
        let found = correlate(&rules, vec![exits], &[], End::default()).0;
        assert_eq!(shapes(&found), vec![(vec![(0, 1), (0, 2), (0, 3)], vec![])]);
        let spread = vec![day(0, s, 0, 1, day_ms - 20_000), day(0, s, 0, 2, day_ms), day(0, s, 0, 3, day_ms + M)];
        assert!(correlate(&rules, vec![spread], &[], End::default()).0.is_empty());
    }

    /// Two files' own clocks are never compared: a loss in one is not
    /// closed by the other's restore, their exits do not add up, and a
    /// file's untimed matches are not on its clock either.
    #[test]
    fn own_clocks_are_never_compared() {
        let rules = windowed();
        let (s, e) = (crate::rules::Role::Start, crate::rules::Role::End);
        let a = vec![day(1, s, 0, 1, T923)];
        let b = vec![day(1, e, 1, 1, T923 + 1000)];
        let found = correlate(&rules, vec![a, b], &[], ends(&[(0, T923 + 3 * M), (1, T923 + 1000)])).0;
        assert_eq!(shapes(&found).len(), 1, "the loss stays open");
        let a = vec![day(0, s, 0, 1, T923), day(0, s, 0, 2, T923 + 1000)];
        let b = vec![day(0, s, 1, 1, T923 + 2000)];
        assert!(correlate(&rules, vec![a, b], &[], End::default()).0.is_empty());
        let mixed = vec![day(1, s, 0, 1, T923), end(1, 0, 2)];
        let found = correlate(&rules, vec![mixed], &[], ends(&[(0, T923)])).0;
        assert_eq!(shapes(&found).len(), 1, "an untimed restore is on no clock of the loss");
        // Timed matches neither: a timed burst is not completed by them.
        let timed = vec![ev(0, "api", Some(0), 1), ev(0, "api", Some(1), 2)];
        assert!(correlate(&rules, vec![timed, vec![day(0, s, 1, 1, 2)]], &[], End::default()).0.is_empty());
    }

    /// `suppress` on a `single` rule splits a file's own clock at its quiet
    /// gaps; the first match of that clock joins the incident before it, as
    /// an untimed one does (its distance to it is unknown).
    #[test]
    fn suppress_splits_a_files_own_clock() {
        let rules = flap_rules();
        let s = crate::rules::Role::Start;
        let own = vec![day(0, s, 0, 1, 0), day(0, s, 0, 2, 9 * M), day(0, s, 0, 3, 30 * M)];
        let sizes = |found: Vec<Finding<Vec<Event>>>| found.iter().map(|f| f.events.len()).collect::<Vec<_>>();
        assert_eq!(sizes(correlate(&rules, vec![own.clone()], &[], None).0), vec![2, 1]);
        let timed = vec![ev(0, "api", Some(0), 1)];
        let found = correlate(&rules, vec![timed, own], &[], None).0;
        assert_eq!(sizes(found), vec![3, 1], "the first of the file's own clock joins the timed run");
    }

    /// `scan`'s side of the same: a closer with no farm, and one listing
    /// farms, reach the groups they name and no other.
    #[test]
    fn wide_closers_reach_the_groups_they_close() {
        let pack = r#"
[[rule]]
id = "t.farm"
title = "t"
severity = "medium"
regex = 'broken:(?P<farm>\w+)'
group_by = ["app", "farm"]
correlate = { kind = "absence", until = ['OK:(?P<farm>\w+)', 'farms: (?P<farm>\w+(?:; \w+)*)', 'All farms OK'], window = "2m" }
fix = "f"
"#;
        let rules = compile_all(&[("t.toml".into(), pack.into())]).expect("rules");
        let farm = |role: Role, farm: Option<&str>, app: &str, ts: i64, line: u64| Event {
            role,
            fields: farm.map(|f| vec![("farm".into(), f.into())].into()).unwrap_or_default(),
            ..ev(0, app, Some(ts), line)
        };
        let events = vec![
            farm(Role::Start, Some("usfarm"), "a", 0, 1),
            farm(Role::Start, Some("ushmds"), "a", 0, 2),
            farm(Role::Start, Some("secdefnj"), "a", 0, 3),
            farm(Role::Start, Some("usfarm"), "b", 0, 4),
            // App a: a list closes usfarm and secdefnj, not ushmds.
            farm(Role::End, Some("usfarm; secdefnj"), "a", 30_000, 5),
            // App b's "all farms" does not reach app a.
            farm(Role::End, None, "b", 40_000, 6),
        ];
        let (findings, _) = correlate(&rules, vec![events], &["p".into()], Some(3_600_000));
        let open: Vec<Vec<(String, String)>> = findings.into_iter().map(|f| f.key).collect();
        let key =
            |app: &str, farm: &str| vec![("app".to_string(), app.to_string()), ("farm".to_string(), farm.to_string())];
        assert_eq!(open, vec![key("a", "ushmds")]);
        // Closers alone: each stays in its own group, none is copied
        // into a group where nothing opened; with a start, it is.
        let closers = vec![
            farm(Role::End, Some("usfarm"), "a", 0, 1),
            farm(Role::End, None, "a", 1, 2),
            farm(Role::End, Some("usfarm; ushmds"), "a", 2, 3),
            farm(Role::End, Some("ushmds"), "a", 3, 4),
        ];
        let sizes = |evs: Vec<Event>| -> Vec<(String, usize)> {
            group(&rules, vec![evs], &[]).into_iter().map(|((_, k), evs)| (k.join("/"), evs.len())).collect()
        };
        let alone = [("a/-", 1), ("a/usfarm", 1), ("a/usfarm; ushmds", 1), ("a/ushmds", 1)];
        assert_eq!(sizes(closers.clone()), alone.map(|(k, n)| (k.to_string(), n)));
        let mut opened = closers;
        opened.push(farm(Role::Start, Some("ushmds"), "a", 4, 5));
        let spread = [("a/-", 1), ("a/usfarm", 1), ("a/usfarm; ushmds", 1), ("a/ushmds", 4)];
        assert_eq!(sizes(opened), spread.map(|(k, n)| (k.to_string(), n)));
    }

    /// A pack of every rule kind, with a restart rule (judged first, for
    /// its exits) ranked among the others, for the batch tests.
    pub(super) fn batch_rules() -> RuleSet {
        let pack = r#"
[[rule]]
id = "b.single"
title = "t {app}"
severity = "low"
regex = 'a'
fix = "f"

[[rule]]
id = "b.burst"
title = "t"
severity = "high"
regex = 'b'
group_by = ["app"]
correlate = { kind = "threshold", count = 3, window = "1m" }
fix = "f"

[[rule]]
id = "b.exits"
title = "t"
severity = "critical"
story = "restart"
streams = ["daemon"]
regex = 'c'
group_by = ["app"]
correlate = { kind = "threshold", count = 2, window = "1m" }
fix = "f"

[[rule]]
id = "b.pair"
title = "t"
severity = "medium"
regex = 'd'
group_by = ["app"]
correlate = { kind = "sequence", then = 'e', window = "2m" }
fix = "f"

[[rule]]
id = "b.lost"
title = "t"
severity = "high"
regex = 'f'
group_by = ["app", "file"]
correlate = { kind = "absence", until = 'g', window = "1m" }
suppress = "5m"
fix = "f"

[[rule]]
id = "b.quiet"
title = "t"
severity = "low"
regex = 'h'
suppress = "2m"
fix = "f"
"#;
        compile_all(&[("b.toml".into(), pack.into())]).expect("rules")
    }

    /// Three sources of events of every rule of [`batch_rules`], spread
    /// by a fixed pseudo-random walk: several apps, some untimed, the
    /// restart rule's on pm2's daemon stream, and records that made two
    /// events.
    pub(super) fn batch_events() -> Vec<Vec<Event>> {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        (0..3)
            .map(|source| {
                let mut ts = 0;
                let mut evs = Vec::new();
                for line in 1..=400u64 {
                    ts += next(40_000) as i64;
                    let rule = next(6) as u32;
                    let role = match (rule, next(3)) {
                        (3 | 4, 0) => Role::End,
                        _ => Role::Start,
                    };
                    let app = ["api", "web", "bot"][next(3) as usize];
                    let timed = source != 2 || line < 200;
                    let stream = if rule == 2 { Stream::Daemon } else { Stream::Out };
                    let e = Event { role, source, stream, ..ev(rule, app, timed.then_some(ts), line) };
                    if next(10) == 0 {
                        evs.push(Event { rule: 5, role: Role::Start, stream: Stream::Out, ..e.clone() });
                    }
                    evs.push(e);
                }
                evs
            })
            .collect()
    }

    /// Findings handed on in batches, however small, are the findings
    /// collected, in their order; and built batch by batch into a store,
    /// held or spilled, they give the incidents built from all of them at
    /// once.
    #[test]
    fn batches_give_the_incidents_the_collected_path_gives() {
        let rules = batch_rules();
        let paths = ["a.log".to_string(), "b.log".to_string(), "c.log".to_string()];
        let end = End::from(Some(400 * 40_000));
        let whole: Vec<Finding<Vec<Event>>> = correlate(&rules, batch_events(), &paths, end.clone()).0;
        assert!(whole.len() > 40, "{} findings", whole.len());
        let kinds: std::collections::BTreeSet<u32> = whole.iter().map(|f| f.rule).collect();
        assert_eq!(kinds.len(), 6, "every rule makes a finding");
        // In group order, the restart rule's (judged first) among them.
        let group = |f: &Finding<Vec<Event>>| (f.rule, f.key.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>());
        assert!(whole.windows(2).all(|w| group(&w[0]) <= group(&w[1])), "findings in (rule, key) order");
        let (collected, _) = super::correlate(&rules, batch_events(), &paths, end.clone());
        let want = crate::incidents::build(&rules, &collected, &paths, crate::records::Zone::Utc);
        for size in [1, 7, 300] {
            let mut batches: Vec<Vec<Finding<Vec<Event>>>> = Vec::new();
            let keep = |b| -> Result<(), Infallible> {
                batches.push(b);
                Ok(())
            };
            let _ = correlate_into(&rules, batch_events(), &paths, &end, size, None, keep);
            assert!(batches.len() > 3, "{} batches of {size}", batches.len());
            assert_eq!(batches.concat(), whole, "batches of {size}");
            let builder = crate::incidents::Builder::new(&rules, &paths, crate::records::Zone::Utc);
            for bytes in [u64::MAX, 0] {
                let budget = crate::incidents::Budget { bytes, dir: None };
                let mut store = crate::incidents::Store::new(budget);
                let into = |b: Vec<Finding>| builder.build_into(b, &mut store);
                correlate_into(&rules, batch_events(), &paths, &end, size, None, into).expect("built");
                store.seal().expect("sealed");
                assert_eq!(store.into_vec().expect("read back"), want, "batches of {size}, budget {bytes}");
            }
        }
    }
}
