//! [`super::correlate`] for events that spilled past the memory budget
//! ([`crate::spill`]): the same findings in the same order, without the
//! events on the heap at once. Each source's list is read back through
//! the context stage ([`super::context::spilled`]); what it keeps is
//! written out again per list, then read into an external sort
//! ([`crate::spill::runs`]) by (group, correlation order), and the groups
//! reach `correlate_group` one at a time, in (rule, key) order,
//! each already in the order it sorts them into. A group is still
//! collected whole for it (a large group stays large until correlation
//! folds a stream).

use std::collections::HashMap;
use std::sync::Arc;

use crate::matcher::Event;
use crate::pool;
use crate::rules::{Role, RuleSet};
use crate::spill::links::Links;
use crate::spill::runs::{Sorted, Sorter};
use crate::spill::{CHUNK_EVENTS, Extent, Held, Spill, SpillError};

use super::{
    BATCH_EVENTS, Bounds, End, Finding, GroupKey, InOrder, closers, context, correlate_group, correlate_group_each,
    group_key, has_key,
};

/// What the scan leaves for correlation when its events spilled.
pub struct Spilled<'s> {
    /// The file of spilled events and the budget.
    pub spill: &'s Spill,
    /// One list per scanned source, in source order: filtered already,
    /// their tails renamed already.
    pub lists: Vec<Held>,
    /// Gives a spilled chunk's events their apps' names.
    pub rename: &'s (dyn Fn(&mut [Event]) + Sync),
    /// Per rule, whether any list holds a start event of it.
    pub started: Vec<bool>,
    /// Where the findings' folds hand on the records that may link their
    /// incidents to others (None: they keep them as marks).
    pub links: Option<Arc<Links>>,
}

/// Correlates spilled events (see the module doc), handing the findings
/// to `emit` a batch at a time in [`super::correlate`]'s order, each
/// described. Stops at the first error, reading or `emit`'s.
pub fn correlate<E: From<SpillError>>(
    rules: &RuleSet,
    events: Spilled<'_>,
    paths: &[String],
    end: impl Into<End>,
    emit: impl FnMut(Vec<Finding>) -> Result<(), E>,
) -> Result<Vec<String>, E> {
    correlate_streaming(rules, events, paths, &end.into(), STREAM_ABOVE, emit)
}

/// Groups of more events than this are streamed from the sort into
/// `correlate_group` on this thread; smaller ones are read into lists and
/// correlated a batch at a time on the pool. The largest group of the
/// 1 GiB storm corpus holds 1.5 M events: read whole, it was a list of
/// them on the heap.
const STREAM_ABOVE: usize = BATCH_EVENTS;

/// [`correlate`], streaming groups of more than `stream_above` events.
fn correlate_streaming<E: From<SpillError>>(
    rules: &RuleSet,
    events: Spilled<'_>,
    paths: &[String],
    end: &End,
    stream_above: usize,
    emit: impl FnMut(Vec<Finding>) -> Result<(), E>,
) -> Result<Vec<String>, E> {
    let Spilled { spill, lists, rename, started, links } = events;
    let mut grouper = Grouper::new(rules, paths, spill);
    if rules.context_resolved() || rules.rules().iter().all(|r| r.context.is_empty()) {
        for held in lists {
            let mut seq = 0;
            read_list(spill, &held, rename, &mut |e| {
                seq += 1;
                grouper.push(e, seq - 1)
            })?;
        }
    } else {
        let mut out: Vec<Out> = (0..lists.len()).map(|_| Out::default()).collect();
        let touched = {
            let mut read =
                |i: usize, f: &mut dyn FnMut(Event) -> Result<(), SpillError>| read_list(spill, &lists[i], rename, f);
            let mut last_list = 0;
            let touched = context::spilled::apply(rules, lists.len(), &started, paths, &mut read, &mut |i, e| {
                // A list is done once the next one starts: its last events
                // go out rather than wait in memory.
                if i > last_list {
                    out[last_list].flush(spill)?;
                    last_list = i;
                }
                out[i].push(spill, e)
            })?;
            out.iter_mut().try_for_each(|o| o.flush(spill))?;
            touched
        };
        drop(lists);
        for (o, touched) in out.into_iter().zip(touched) {
            for extent in o.chunks {
                for (e, seq) in spill.read_events(extent)? {
                    // A list the app stage returned events to is in (line,
                    // role) order; within a group, only events of one line
                    // tie.
                    let tag = if touched { (role_rank(e.role) << 56) | seq } else { seq };
                    grouper.push(e, tag)?;
                }
            }
        }
    }
    grouper.correlate(end, stream_above, links, emit)?;
    Ok(Vec::new())
}

/// Reads a list back: its spilled chunks (renamed), then its tail.
fn read_list(
    spill: &Spill,
    held: &Held,
    rename: &(dyn Fn(&mut [Event]) + Sync),
    f: &mut dyn FnMut(Event) -> Result<(), SpillError>,
) -> Result<(), SpillError> {
    for &extent in &held.chunks {
        let mut events: Vec<Event> = spill.read_events(extent)?.into_iter().map(|(e, _)| e).collect();
        rename(&mut events);
        events.into_iter().try_for_each(&mut *f)?;
    }
    held.tail.iter().try_for_each(|e| f(e.clone()))
}

/// A role's place in a list sorted by (line, role).
fn role_rank(role: Role) -> u64 {
    match role {
        Role::Start => 0,
        Role::End => 1,
        Role::Context(n) => 2 + u64::from(n),
    }
}

/// One list's events after the context stage, written out in chunks with
/// their position in the list.
#[derive(Debug, Default)]
struct Out {
    chunks: Vec<Extent>,
    buf: Vec<Event>,
    /// Events written before `buf`.
    written: u64,
}

impl Out {
    fn push(&mut self, spill: &Spill, e: Event) -> Result<(), SpillError> {
        self.buf.push(e);
        if self.buf.len() >= CHUNK_EVENTS { self.flush(spill) } else { Ok(()) }
    }

    fn flush(&mut self, spill: &Spill) -> Result<(), SpillError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let first = self.written;
        let extent = spill.write_events(self.buf.iter().enumerate().map(|(n, e)| (e, first + n as u64)));
        self.chunks.push(extent.ok_or_else(|| failed(spill))?);
        self.written += self.buf.len() as u64;
        self.buf = Vec::new();
        Ok(())
    }
}

fn failed(spill: &Spill) -> SpillError {
    spill
        .take_error()
        .unwrap_or_else(|| SpillError::Io { dir: spill.dir_path(), source: std::io::Error::other("a write failed") })
}

/// Events into their groups (as [`super::group`] does, by key id), and
/// the groups out in (rule, key) order.
struct Grouper<'a> {
    rules: &'a RuleSet,
    paths: &'a [String],
    index: HashMap<GroupKey, u32>,
    keys: Vec<GroupKey>,
    /// Per group: whether it holds a start event (closers are copied only
    /// into such groups).
    opens: Vec<bool>,
    /// Per group: its events, and its closing events (copies of which may
    /// join other groups): each group is read into a list of its exact
    /// size, not one grown by doubling (the largest group of the 1 GiB
    /// storm corpus holds 1.5 M events).
    sizes: Vec<(usize, usize)>,
    /// Per rule, the key id of its last event (most repeat it).
    last: Vec<Option<u32>>,
    sorter: Sorter<'a>,
}

impl<'a> Grouper<'a> {
    fn new(rules: &'a RuleSet, paths: &'a [String], spill: &'a Spill) -> Grouper<'a> {
        Grouper {
            rules,
            paths,
            index: HashMap::new(),
            keys: Vec::new(),
            opens: Vec::new(),
            sizes: Vec::new(),
            last: vec![None; rules.rules().len()],
            sorter: Sorter::new(spill),
        }
    }

    fn push(&mut self, ev: Event, tag: u64) -> Result<(), SpillError> {
        let rule = &self.rules.rules()[ev.rule as usize];
        let id = match self.last.get(ev.rule as usize).copied().flatten() {
            Some(id) if has_key(rule, &ev, self.paths, &self.keys[id as usize].1) => id,
            _ => {
                let key = (ev.rule, group_key(rule, &ev, self.paths));
                let (keys, opens, sizes) = (&mut self.keys, &mut self.opens, &mut self.sizes);
                let id = *self.index.entry(key).or_insert_with_key(|key| {
                    keys.push(key.clone());
                    opens.push(false);
                    sizes.push((0, 0));
                    keys.len() as u32 - 1
                });
                if let Some(last) = self.last.get_mut(ev.rule as usize) {
                    *last = Some(id);
                }
                id
            }
        };
        self.opens[id as usize] |= ev.role == Role::Start;
        let size = &mut self.sizes[id as usize];
        size.0 += 1;
        size.1 += usize::from(ev.role == Role::End);
        self.sorter.push(id, tag, ev)
    }

    /// Every group's findings to `emit`, groups in (rule, key) order, as
    /// [`super::correlate_each`] hands them: the restart groups judged
    /// first, their exits bounding the others' marks.
    fn correlate<E: From<SpillError>>(
        self,
        end: &End,
        stream_above: usize,
        links: Option<Arc<Links>>,
        mut emit: impl FnMut(Vec<Finding>) -> Result<(), E>,
    ) -> Result<(), E> {
        let Grouper { rules, keys, opens, sizes, sorter, .. } = self;
        let sorted = sorter.finish()?;
        let mut ranked: Vec<u32> = (0..keys.len() as u32).collect();
        ranked.sort_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]));
        let closers = closers_of(&keys, &opens, &ranked);
        let groups =
            Groups { rules, end, keys: &keys, sizes: &sizes, closers: &closers, sorted: &sorted, stream_above };
        let restarts = |&(_, id): &(usize, u32)| super::restarts(rules, &keys[id as usize]);
        let (first, rest): (Vec<Placed>, Vec<Placed>) = ranked.iter().copied().enumerate().partition(restarts);
        let mut early = Vec::new();
        groups.judge(first, None, &mut |found| {
            early.extend(found);
            Ok::<(), E>(())
        })?;
        let bounds = super::bounds_of(&early, links);
        let mut ordered = InOrder::new(early);
        groups.judge(rest, Some(&bounds), &mut |found| ordered.emit(rules, found, &mut emit))?;
        ordered.finish(rules, &mut emit)
    }
}

/// A group's place in the (rule, key) order, and its key id.
type Placed = (usize, u32);

/// Groups' findings, each group's with its place.
type Found = Vec<(usize, Vec<Finding>)>;

/// The sorted groups and what judging them needs.
struct Groups<'g> {
    rules: &'g RuleSet,
    end: &'g End,
    keys: &'g [GroupKey],
    /// Per group, its events and its closing events.
    sizes: &'g [(usize, usize)],
    closers: &'g [Vec<(u32, u64)>],
    sorted: &'g Sorted<'g>,
    stream_above: usize,
}

impl Groups<'_> {
    /// The findings of the groups `ids` ((place in the order, key id), in
    /// order) to `out`, a batch of groups at a time, each group with its
    /// place: read into lists and judged on the pool, or, above
    /// `stream_above` events, streamed from the sort on this thread.
    fn judge<E: From<SpillError>>(
        &self,
        ids: Vec<Placed>,
        bounds: Option<&Arc<Bounds>>,
        out: &mut dyn FnMut(Found) -> Result<(), E>,
    ) -> Result<(), E> {
        let (rules, end) = (self.rules, self.end);
        let run = |batch: Vec<(usize, GroupKey, Vec<Event>)>| {
            pool::map_in_order(batch, |(at, key, evs)| {
                (at, correlate_group(rules, key, evs.into_iter(), end, None, bounds))
            })
        };
        let mut batch = Vec::new();
        let mut held = 0;
        for (at, id) in ids {
            let closers = &self.closers[id as usize];
            let copied: usize = closers.iter().map(|&(from, _)| self.sizes[from as usize].1).sum();
            let size = self.sizes[id as usize].0 + copied;
            let key = self.keys[id as usize].clone();
            let events = self.sorted.group(id, closers);
            if size > self.stream_above {
                // In order: the batch before it goes out first.
                out(run(std::mem::take(&mut batch)))?;
                held = 0;
                // Its findings go out as they are made, in order: each
                // batch with the group's place, so early groups before it
                // go out before its first.
                let mut failed = None;
                let found = streamed(events, |evs| {
                    let mut hand = |done: Vec<Finding>| {
                        if failed.is_none()
                            && let Err(e) = out(vec![(at, done)])
                        {
                            failed = Some(e);
                        }
                    };
                    correlate_group_each(rules, key, evs, end, None, bounds, &mut hand)
                })?;
                if let Some(e) = failed {
                    return Err(e);
                }
                out(vec![(at, found)])?;
                continue;
            }
            let mut evs: Vec<Event> = Vec::with_capacity(size);
            for ev in events {
                evs.push(ev?);
            }
            held += evs.len();
            batch.push((at, key, evs));
            if held >= BATCH_EVENTS {
                out(run(std::mem::take(&mut batch)))?;
                held = 0;
            }
        }
        out(run(batch))
    }
}

/// `judge` of a group's events read from the sort as they come, or the
/// first error reading them.
fn streamed<T>(
    events: impl Iterator<Item = Result<Event, SpillError>>,
    judge: impl FnOnce(&mut dyn Iterator<Item = Event>) -> T,
) -> Result<T, SpillError> {
    let mut failed = None;
    let mut evs = events.map_while(|ev| ev.map_err(|e| failed = Some(e)).ok());
    let out = judge(&mut evs);
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Per group (key id), the groups whose closing events are copied into it
/// (key id and rank), as `spread_closers` copies them: a wide key's
/// closers go to every other group of its rule that holds a start event
/// and whose key it closes.
fn closers_of(keys: &[GroupKey], opens: &[bool], ranked: &[u32]) -> Vec<Vec<(u32, u64)>> {
    let mut out = vec![Vec::new(); keys.len()];
    for (rank, &from) in ranked.iter().enumerate() {
        let (rule, key) = &keys[from as usize];
        if !closers::is_wide(key) {
            continue;
        }
        for &to in ranked {
            let (to_rule, to_key) = &keys[to as usize];
            if to != from && to_rule == rule && opens[to as usize] && closers::closes(key, to_key) {
                out[to as usize].push((from, rank as u64));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::tests::{batch_events, batch_rules};
    use crate::spill::Options;

    /// The test sources as spilled lists: each source's first half
    /// written as a chunk, the rest held as its tail.
    fn lists(spill: &Spill) -> Vec<Held> {
        batch_events()
            .into_iter()
            .map(|mut evs| {
                let tail = evs.split_off(evs.len() / 2);
                let chunk = spill.write_events(evs.iter().map(|e| (e, 0))).expect("written");
                Held { chunks: vec![chunk], tail }
            })
            .collect()
    }

    /// Every finding of the spilled path, streaming groups above
    /// `stream_above` events, and how many batches they came in.
    fn findings(stream_above: usize) -> (Vec<Finding>, usize) {
        let rules = batch_rules();
        let paths = ["a.log".to_string(), "b.log".to_string(), "c.log".to_string()];
        let spill = Spill::new(Options { budget: 0, dir: None });
        let spilled = Spilled {
            spill: &spill,
            lists: lists(&spill),
            rename: &|_: &mut [Event]| {},
            started: vec![true; 6],
            links: None,
        };
        let (mut all, mut batches) = (Vec::new(), 0);
        let keep = |b: Vec<Finding>| -> Result<(), SpillError> {
            all.extend(b);
            batches += 1;
            Ok(())
        };
        correlate_streaming(&rules, spilled, &paths, &End::from(Some(400 * 40_000)), stream_above, keep)
            .expect("correlated");
        (all, batches)
    }

    /// Groups streamed from the sort (every one, with the threshold at
    /// 0; the larger ones, between batches of the smaller, above it) give
    /// the findings of groups read whole, in the same order.
    #[test]
    fn a_streamed_group_judges_as_a_collected_one() {
        let (read, _) = findings(usize::MAX);
        let (streamed, batches) = findings(0);
        assert!(batches > 10, "each streamed group is a batch: {batches}");
        assert_eq!(streamed, read);
        for stream_above in [10, 40, 70, 100] {
            assert_eq!(findings(stream_above).0, read, "streaming groups above {stream_above} events");
        }
    }

    /// The spilled path's findings are the in-memory path's, folds and
    /// their marks included: the restart groups are judged first and
    /// their exits, with the records that made two events, bound the
    /// others' marks as they do there.
    #[test]
    fn spilled_findings_keep_the_marks_held_ones_keep() {
        let paths = ["a.log".to_string(), "b.log".to_string(), "c.log".to_string()];
        let (held, _) = super::super::correlate(&batch_rules(), batch_events(), &paths, Some(400 * 40_000));
        let unbounded = |f: &Finding| f.events.view().marks().count();
        let bounded: usize = held.iter().map(unbounded).sum();
        let all: usize = held.iter().map(|f| f.events.count()).sum();
        assert!(bounded < all, "the bounds let marks go: {bounded} of {all}");
        for stream_above in [0, usize::MAX] {
            let (spilled, _) = findings(stream_above);
            assert_eq!(spilled, held, "streaming above {stream_above}");
        }
    }
}
