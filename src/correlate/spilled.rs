//! [`super::correlate`] for events that spilled past the memory budget
//! ([`crate::spill`]): the same findings in the same order, without the
//! events on the heap at once. Each source's list is read back through
//! the context stage ([`super::context::spilled`]); what it keeps stays
//! in memory while three quarters of the events' limit allow and is
//! written out past that; then an external sort ([`crate::spill::runs`])
//! takes what is on disk, in runs, and what is held, as its last run,
//! kept in memory. So a scan a little past the limit sends about what
//! passed it through the disk, not every event; far past it (a storm)
//! everything goes through the runs, which are then as large as the
//! limit. Every list moves from stage to stage under the one count of the
//! [`Spill`]. The groups reach `correlate_group` one at a time, in (rule,
//! key) order, each already in the order it sorts them into. A group is
//! still collected whole for it (a large group stays large until
//! correlation folds a stream).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use crate::matcher::Event;
use crate::pool;
use crate::rules::{Role, RuleSet};
use crate::spill::links::Links;
use crate::spill::runs::{Sorted, Sorter};
use crate::spill::{CHUNK_EVENTS, Extent, Held, Spill, SpillError, Weigher, drain_counted, weight};

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
    let Spilled { spill, mut lists, rename, started, links } = events;
    // What the scan's sources left in memory, exactly: from here on the
    // events move from stage to stage under the one limit.
    spill.recount(lists.iter().map(|h| weight(&h.tail)).sum());
    let mut outs = if rules.context_resolved() || rules.rules().iter().all(|r| r.context.is_empty()) {
        let mut outs: Vec<Out> = lists.into_iter().map(Out::of_scan).collect();
        make_room(spill, &mut outs)?;
        outs
    } else {
        let mut out: Vec<Out> = (0..lists.len()).map(|_| Out::default()).collect();
        let mut read = |i: usize, last: bool, f: &mut dyn FnMut(Event) -> Result<(), SpillError>| {
            lists.get_mut(i).map_or(Ok(()), |held| read_list(spill, held, last, rename, f))
        };
        let mut wait = Waiting { spill, lines: Vec::new() };
        let touched = context::spilled::apply(rules, out.len(), &started, paths, &mut read, &mut wait, &mut |i, e| {
            out.get_mut(i).map_or(Ok(()), |o: &mut Out| o.push(spill, e))
        })?;
        drop(lists);
        out.iter_mut().zip(touched).for_each(|(o, touched)| o.touched = touched);
        out
    };
    // A little past the limit, what is held stays, and so does the sort's
    // last run; far past it, they would only sit beside the incidents.
    let hold = fits_beside(spill, &outs);
    if !hold {
        outs.iter_mut().try_for_each(|o| o.write_held(spill))?;
    }
    let mut grouper = Grouper::new(rules, paths, spill, hold);
    // What waits on disk first, so that the sort's runs take it while
    // what is held waits; then what is held, moved (its count with it)
    // into the sort's last run, which stays in memory.
    for o in &outs {
        // The scan's chunks (named here: the scan named only what it
        // held), then those written since.
        let scanned = o.scanned.iter().map(|&extent| (extent, true));
        for (extent, unnamed) in scanned.chain(o.chunks.iter().map(|&extent| (extent, false))) {
            let mut events = spill.read_events(extent)?;
            if unnamed {
                events = renamed(events, rename);
            }
            for (e, seq) in events {
                let tag = tag_of(o.touched, &e, seq);
                grouper.push(e, tag)?;
            }
        }
    }
    for o in outs {
        let (first, touched) = (o.written, o.touched);
        for (n, e) in drain_counted(spill, o.buf).enumerate() {
            let tag = tag_of(touched, &e, first + n as u64);
            grouper.push(e, tag)?;
        }
    }
    grouper.correlate(end, stream_above, links, emit)?;
    Ok(Vec::new())
}

/// Part of the events' limit left free for the sort's runs (a quarter):
/// the events held after the context stage wait while the sort takes
/// what waits on disk, and a sort with no room writes a run per few
/// events.
const RUN_ROOM: usize = 4;

/// Whether the events on disk sort in a few runs beside those held (in
/// [`RUN_ROOM_RUNS`] runs of the room left): a scan a little past the
/// limit then writes and reads back only what passed it. Else what is
/// held goes to disk too and the runs are as large as the limit: every
/// run is a lane of each group's merge, and a lane holds a chunk (a
/// 5 GiB storm in runs of the room: 394 MiB peak RSS).
fn fits_beside(spill: &Spill, outs: &[Out]) -> bool {
    let held: usize = outs.iter().map(|o| o.buf.len()).sum();
    let on_disk: u64 = outs.iter().map(|o| o.written).sum();
    let room = spill.budget().saturating_sub(spill.held());
    let each = spill.held() / held.max(1);
    let on_disk = usize::try_from(on_disk).unwrap_or(usize::MAX).saturating_mul(each.max(1));
    on_disk <= room.saturating_mul(RUN_ROOM_RUNS)
}

/// See [`fits_beside`].
const RUN_ROOM_RUNS: usize = 2;

/// Writes the front of what the lists hold, a chunk at a time, until a
/// [`RUN_ROOM`] part of the limit is free (the path without a context
/// stage, whose lists come as the scan left them; the context stage
/// keeps that room as it goes).
fn make_room(spill: &Spill, outs: &mut [Out]) -> Result<(), SpillError> {
    let room = spill.budget() / RUN_ROOM;
    for o in outs {
        while spill.over(room) && !o.buf.is_empty() {
            let rest = o.buf.split_off(o.buf.len().min(CHUNK_EVENTS));
            let front = std::mem::replace(&mut o.buf, rest);
            o.write(spill, &front)?;
            spill.release(weight(&front));
        }
    }
    Ok(())
}

/// Reads a list back: its spilled chunks (renamed), then its tail,
/// copied, or on the list's last reading moved out (its count released
/// as each event goes on).
fn read_list(
    spill: &Spill,
    held: &mut Held,
    last: bool,
    rename: &(dyn Fn(&mut [Event]) + Sync),
    f: &mut dyn FnMut(Event) -> Result<(), SpillError>,
) -> Result<(), SpillError> {
    for &extent in &held.chunks {
        let mut events: Vec<Event> = spill.read_events(extent)?.into_iter().map(|(e, _)| e).collect();
        rename(&mut events);
        events.into_iter().try_for_each(&mut *f)?;
    }
    if last {
        drain_counted(spill, std::mem::take(&mut held.tail)).try_for_each(f)
    } else {
        held.tail.iter().try_for_each(|e| f(e.clone()))
    }
}

/// Where the context stage's events for its app stage wait
/// ([`context::spilled::Wait`]): a list per line, held under the one count
/// and written out past it, as the lists the stage hands on are.
struct Waiting<'s> {
    spill: &'s Spill,
    lines: Vec<Out>,
}

impl context::spilled::Wait<SpillError> for Waiting<'_> {
    fn put(&mut self, n: usize, ev: Event) -> Result<(), SpillError> {
        if self.lines.len() <= n {
            self.lines.resize_with(n + 1, Out::default);
        }
        self.lines[n].push(self.spill, ev)
    }

    fn take(&mut self, n: usize, f: &mut dyn FnMut(Event) -> Result<(), SpillError>) -> Result<(), SpillError> {
        let Some(line) = self.lines.get_mut(n) else { return Ok(()) };
        let line = std::mem::take(line);
        for &extent in &line.chunks {
            self.spill.read_events(extent)?.into_iter().try_for_each(|(e, _)| f(e))?;
        }
        drain_counted(self.spill, line.buf).try_for_each(f)
    }
}

/// `events` (with their tags) given their apps' names.
fn renamed(events: Vec<(Event, u64)>, rename: &(dyn Fn(&mut [Event]) + Sync)) -> Vec<(Event, u64)> {
    let (mut events, tags): (Vec<Event>, Vec<u64>) = events.into_iter().unzip();
    rename(&mut events);
    events.into_iter().zip(tags).collect()
}

/// A role's place in a list sorted by (line, role).
fn role_rank(role: Role) -> u64 {
    match role {
        Role::Start => 0,
        Role::End => 1,
        Role::Context(n) => 2 + u64::from(n),
    }
}

/// The sort's tag of the event at `seq` of its list: a list the app
/// stage returned events to is in (line, role) order; within a group,
/// only events of one line tie.
fn tag_of(touched: bool, e: &Event, seq: u64) -> u64 {
    if touched { (role_rank(e.role) << 56) | seq } else { seq }
}

/// One list's events ready for the sort, each with its position in the
/// list: written out in chunks (with it) while the events held leave
/// less than a [`RUN_ROOM`] part of the limit, then held.
#[derive(Debug, Default)]
struct Out {
    /// The scan's chunks of the list, where no context stage ran: tagged
    /// with their places already, their apps not yet renamed. They come
    /// before `chunks`.
    scanned: Vec<Extent>,
    chunks: Vec<Extent>,
    buf: Vec<Event>,
    /// What `buf` counts against the limit.
    bytes: usize,
    weigher: Weigher,
    /// Events written before `buf`.
    written: u64,
    /// Whether the app stage returned events to the list (see
    /// [`tag_of`]).
    touched: bool,
}

impl Out {
    /// A list as the scan left it (no context stage): its chunks stay as
    /// the scan wrote them, with their places (renamed when the sort reads
    /// them); its tail held as it is, its count unchanged.
    fn of_scan(held: Held) -> Out {
        Out { scanned: held.chunks, written: held.written, buf: held.tail, ..Out::default() }
    }

    fn push(&mut self, spill: &Spill, e: Event) -> Result<(), SpillError> {
        let bytes = self.weigher.weigh(&e);
        spill.hold(bytes);
        self.bytes += bytes;
        self.buf.push(e);
        // A chunk is CHUNK_EVENTS or a sixteenth of the limit, whichever
        // comes first: a small limit still writes (tests spill with 0).
        let chunk = self.buf.len() >= CHUNK_EVENTS || self.bytes >= spill.budget() / 16;
        if chunk && spill.over(spill.budget() / RUN_ROOM) {
            self.write_held(spill)?;
        }
        Ok(())
    }

    /// Writes what the list holds, its count released.
    fn write_held(&mut self, spill: &Spill) -> Result<(), SpillError> {
        let buf = std::mem::take(&mut self.buf);
        spill.release(weight(&buf));
        self.bytes = 0;
        self.weigher = Weigher::default();
        self.write(spill, &buf)
    }

    /// Writes `events`, the list's next, in chunks with their positions.
    fn write(&mut self, spill: &Spill, events: &[Event]) -> Result<(), SpillError> {
        for chunk in events.chunks(CHUNK_EVENTS) {
            let first = self.written;
            let extent = spill.write_events(chunk.iter().enumerate().map(|(n, e)| (e, first + n as u64)));
            self.chunks.push(extent.ok_or_else(|| failed(spill))?);
            self.written += chunk.len() as u64;
        }
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
    /// Whether the sort holds its last run (see `fits_beside`).
    hold_last: bool,
}

impl<'a> Grouper<'a> {
    fn new(rules: &'a RuleSet, paths: &'a [String], spill: &'a Spill, hold_last: bool) -> Grouper<'a> {
        Grouper {
            rules,
            paths,
            index: HashMap::new(),
            keys: Vec::new(),
            opens: Vec::new(),
            sizes: Vec::new(),
            last: vec![None; rules.rules().len()],
            sorter: Sorter::new(spill),
            hold_last,
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
        let Grouper { rules, keys, opens, sizes, sorter, hold_last, .. } = self;
        let mut ranked: Vec<u32> = (0..keys.len() as u32).collect();
        ranked.sort_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]));
        let closers = closers_of(&keys, &opens, &ranked);
        let kept = closers.iter().flatten().map(|&(from, _)| from).collect();
        let sorted = RefCell::new(sorter.finish(hold_last, kept)?);
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
    /// Read a group at a time (each group's held events leave with it).
    sorted: &'g RefCell<Sorted<'g>>,
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
            let events = self.sorted.borrow_mut().group(id, closers);
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
                let mut held = Held::default();
                assert!(held.spill(spill, &evs), "written");
                held.tail = tail;
                held
            })
            .collect()
    }

    /// Every finding of the spilled path, streaming groups above
    /// `stream_above` events, and how many batches they came in.
    fn findings(stream_above: usize) -> (Vec<Finding>, usize) {
        findings_under(stream_above, 0)
    }

    /// [`findings`] with `limit` bytes of events held.
    fn findings_under(stream_above: usize, limit: usize) -> (Vec<Finding>, usize) {
        let rules = batch_rules();
        let paths = ["a.log".to_string(), "b.log".to_string(), "c.log".to_string()];
        let spill = Spill::new(Options { budget: limit, dir: None });
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

    /// Where no context stage runs, the scan's chunks go to the sort as
    /// the scan wrote them: their apps are renamed as the sort reads them
    /// (the scan renames only what it holds), so the findings are those
    /// of lists named from the start.
    #[test]
    fn the_scans_chunks_are_renamed_as_the_sort_reads_them() {
        let rules = batch_rules();
        let paths = ["a.log".to_string(), "b.log".to_string(), "c.log".to_string()];
        let (want, _) = findings(usize::MAX);
        let spill = Spill::new(Options { budget: 0, dir: None });
        let lists = batch_events()
            .into_iter()
            .map(|mut evs| {
                let tail = evs.split_off(evs.len() / 2);
                // Not yet named: the scan spilled them before the app was known.
                evs.iter_mut().for_each(|e| e.app = e.app.as_ref().map(|a| format!("?{a}").into()));
                let mut held = Held::default();
                assert!(held.spill(&spill, &evs), "written");
                held.tail = tail;
                held
            })
            .collect();
        let rename = |evs: &mut [Event]| {
            for e in evs {
                e.app = e.app.as_ref().map(|a| a.strip_prefix('?').unwrap_or(a).into());
            }
        };
        let spilled = Spilled { spill: &spill, lists, rename: &rename, started: vec![true; 6], links: None };
        let mut got = Vec::new();
        let keep = |b: Vec<Finding>| -> Result<(), SpillError> {
            got.extend(b);
            Ok(())
        };
        correlate_streaming(&rules, spilled, &paths, &End::from(Some(400 * 40_000)), usize::MAX, keep)
            .expect("correlated");
        assert_eq!(got, want);
    }

    /// Events that tie in their group's order (records of one line, as
    /// the events of one record do) keep their order in the list, as the
    /// in-memory path's stable sort keeps it, however the list is cut
    /// between the scan's chunks, the sort's runs and what is held: each
    /// event's place in the list breaks the tie. The list is out of
    /// order, so the sort moves events, and the evidence (the first two
    /// and the latest of the group) shows which of the tied came first.
    #[test]
    fn ties_keep_their_places_in_the_list() {
        let rules = batch_rules();
        let paths = ["a.log".to_string()];
        let template = Event { rule: 0, role: Role::Start, source: 0, ..batch_events()[0][0].clone() };
        let n = 3 * CHUNK_EVENTS + 100;
        let list: Vec<Event> = (0..n)
            .map(|i| Event { line: 7 - (i % 7) as u64, text: format!("t{i}").into(), ..template.clone() })
            .collect();
        let end = End::from(Some(400 * 40_000));
        let (want, _) = super::super::correlate(&rules, vec![list.clone()], &paths, end.clone());
        assert!(!want.is_empty());
        let all = weight(&list);
        for (limit, cut) in [(0, n / 2), (all / 4, n / 2), (all / 2, CHUNK_EVENTS + 7), (usize::MAX, n / 3)] {
            let spill = Spill::new(Options { budget: limit, dir: None });
            let mut held = Held::default();
            assert!(held.spill(&spill, &list[..cut]), "written");
            held.tail = list[cut..].to_vec();
            let spilled = Spilled {
                spill: &spill,
                lists: vec![held],
                rename: &|_: &mut [Event]| {},
                started: vec![true; 6],
                links: None,
            };
            let mut got = Vec::new();
            let keep = |b: Vec<Finding>| -> Result<(), SpillError> {
                got.extend(b);
                Ok(())
            };
            correlate_streaming(&rules, spilled, &paths, &end, usize::MAX, keep).expect("correlated");
            assert_eq!(got, want, "limit {limit}, cut at {cut}");
        }
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

    /// Whatever part of the events is held (none, some, all but what the
    /// scan spilled), the findings are the same: the stages write out
    /// only what passes the limit, and the sort holds its last run.
    #[test]
    fn every_limit_gives_the_same_findings() {
        let all: usize = batch_events().iter().map(|evs| weight(evs)).sum();
        let (want, _) = findings_under(usize::MAX, 0);
        for limit in [0, all / 16, all / 4, all / 2, all, usize::MAX] {
            for stream_above in [0, usize::MAX] {
                assert_eq!(findings_under(stream_above, limit).0, want, "limit {limit} of {all}");
            }
        }
    }

    /// What the scan left held is written out, a chunk at a time from the
    /// front of each list, until a quarter of the limit is free; each
    /// list keeps its order and positions, and the count follows what is
    /// held.
    #[test]
    fn room_is_made_from_the_front_of_the_lists() {
        let lists: Vec<Vec<Event>> = (0..3)
            .map(|i| batch_events().concat().into_iter().cycle().take(CHUNK_EVENTS * 2 + 100 * i).collect())
            .collect();
        let all: usize = lists.iter().map(|l| weight(l)).sum();
        for limit in [all / 2, all, all * 4 / 3, all * 2] {
            let spill = Spill::new(Options { budget: limit, dir: None });
            spill.recount(all);
            let mut outs: Vec<Out> = lists.iter().map(|l| Out { buf: l.clone(), ..Out::default() }).collect();
            make_room(&spill, &mut outs).expect("room");
            let held: usize = outs.iter().map(|o| weight(&o.buf)).sum();
            assert_eq!(spill.held(), held, "limit {limit}");
            assert!(!spill.over(limit / RUN_ROOM) || held == 0, "limit {limit}: {held} held");
            assert_eq!(all - held > 0, all > limit - limit / RUN_ROOM, "written only if needed, limit {limit}");
            for (o, list) in outs.iter().zip(&lists) {
                let mut back: Vec<(Event, u64)> =
                    o.chunks.iter().flat_map(|&c| spill.read_events(c).expect("read")).collect();
                back.extend(o.buf.iter().cloned().zip(o.written..));
                let want: Vec<(Event, u64)> = list.iter().cloned().zip(0..).collect();
                assert!(back == want, "limit {limit}: order and positions kept");
            }
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

    /// The context stage's events for its app stage wait under the one
    /// count: written out past the limit (every one at a limit of 0),
    /// held under it, and each line comes back as it was put, its count
    /// released.
    #[test]
    fn waiting_lines_come_back_in_order_under_the_count() {
        let events: Vec<Event> = batch_events().into_iter().flatten().collect();
        let lines = |e: &Event| (e.line % 3) as usize * 2;
        for limit in [0, usize::MAX / 2] {
            let spill = Spill::new(Options { budget: limit, dir: None });
            let mut wait = Waiting { spill: &spill, lines: Vec::new() };
            for e in &events {
                context::spilled::Wait::put(&mut wait, lines(e), e.clone()).expect("put");
            }
            let written = wait.lines.iter().any(|o| !o.chunks.is_empty());
            assert_eq!(written, limit == 0, "limit {limit}: written past it only");
            assert_eq!(spill.held() > 0, limit > 0, "limit {limit}: what is held is counted");
            for n in [0, 1, 2, 4, 9] {
                let mut got = Vec::new();
                context::spilled::Wait::take(&mut wait, n, &mut |e| {
                    got.push(e);
                    Ok(())
                })
                .expect("taken");
                let want: Vec<&Event> = events.iter().filter(|e| lines(e) == n).collect();
                assert_eq!(got.iter().collect::<Vec<_>>(), want, "limit {limit}, line {n}");
            }
            assert_eq!(spill.held(), 0, "limit {limit}: every count released");
        }
    }
}
