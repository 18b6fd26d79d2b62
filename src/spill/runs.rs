//! The external sort that hands correlation its groups one at a time.
//! Events arrive tagged with their group (a dense key id the caller
//! keeps) and a tag that orders ties within their source list; they are
//! held while the spill's count stays under its limit (it counts what
//! else waits in memory too), sorted by (group, correlation order, tag)
//! and written as a run, one segment per group; the last run may stay in
//! memory. [`Sorted::group`] then merges
//! one group's segments of every run, and copies of other groups' closing
//! events (see `correlate::closers`), into one stream in correlation
//! order: `(ts is none, ts, source, day_time is none, day_time, line)`,
//! ties as the in-memory grouping leaves them (the group's own events by
//! their tag, then the copies by the rank of the group they come from).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

use crate::matcher::Event;
use crate::records::DayTime;
use crate::rules::Role;

use super::{Extent, Spill, SpillError, Weigher};

/// Where an event stands in its group's correlation order.
pub type Order = (bool, Option<i64>, usize, bool, Option<DayTime>, u64);

/// The correlation order of `e` (what `correlate_group` sorts by).
pub fn order(e: &Event) -> Order {
    (e.ts.get().is_none(), e.ts.get(), e.source, e.day_time.is_none(), e.day_time, e.line)
}

/// Most events in a chunk of a run: a group's merge holds one chunk of
/// each run that has events of it (a lane), and a storm's largest groups
/// are in every run (5 GiB storm, 20 runs of 128 MiB: lanes of
/// `CHUNK_EVENTS` held tens of MiB).
const RUN_CHUNK_EVENTS: usize = 1 << 11;

/// Fewest events in a run: a tiny budget (tests force spills with 0)
/// still sorts in runs, not one per event.
const MIN_RUN: usize = 256;

/// Collects tagged events into sorted runs.
#[derive(Debug)]
pub struct Sorter<'s> {
    spill: &'s Spill,
    /// The run being collected, per group (by its dense id): sorted and
    /// written, or held, a group at a time, so no second copy of the run
    /// is ever made.
    buf: Vec<Vec<(Event, u64)>>,
    /// Events in `buf`.
    len: usize,
    /// What `buf` counts against the spill's limit.
    bytes: usize,
    weigher: Weigher,
    runs: Vec<HashMap<u32, Vec<Extent>>>,
}

impl<'s> Sorter<'s> {
    /// An empty sort spilling to `spill`.
    pub fn new(spill: &'s Spill) -> Sorter<'s> {
        Sorter { spill, buf: Vec::new(), len: 0, bytes: 0, weigher: Weigher::default(), runs: Vec::new() }
    }

    /// Takes `ev` of group `key`, counted against the spill's limit with
    /// whatever else is counted there (the events still waiting to be
    /// pushed); writes a run once the limit is reached.
    pub fn push(&mut self, key: u32, tag: u64, ev: Event) -> Result<(), SpillError> {
        let text = self.weigher.text(&ev);
        let at = key as usize;
        if self.buf.len() <= at {
            self.buf.resize_with(at + 1, Vec::new);
        }
        let group = &mut self.buf[at];
        let before = group.capacity();
        group.push((ev, tag));
        // A group's list counts the room it takes as it grows, not its
        // events' size: it doubles, and with its tags its events take
        // 88 bytes, not `weight`'s 80 (5 GiB storm: a run of 1.7 M events
        // of two groups, counted at 128 MiB, had the process at 243 MiB).
        let bytes = text + (group.capacity() - before) * std::mem::size_of::<(Event, u64)>();
        self.spill.hold(bytes);
        self.bytes += bytes;
        self.len += 1;
        if self.spill.full() && self.len >= MIN_RUN {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SpillError> {
        self.spill.release(std::mem::take(&mut self.bytes));
        self.weigher = Weigher::default();
        self.len = 0;
        let mut run: HashMap<u32, Vec<Extent>> = HashMap::new();
        for (key, mut segment) in std::mem::take(&mut self.buf).into_iter().enumerate() {
            let key = key as u32;
            sort(&mut segment);
            for chunk in segment.chunks(RUN_CHUNK_EVENTS) {
                let extent = self.spill.write_events(chunk.iter().map(|(e, tag)| (e, *tag)));
                let extent = extent.ok_or_else(|| self.error())?;
                run.entry(key).or_default().push(extent);
            }
        }
        self.runs.push(run);
        crate::memory::release_freed();
        Ok(())
    }

    fn error(&self) -> SpillError {
        self.spill.take_error().unwrap_or_else(|| SpillError::Io {
            dir: self.spill.dir_path(),
            source: std::io::Error::other("a write failed"),
        })
    }

    /// Every event taken: the runs written, ready to be read group by
    /// group, and the events pushed since the last one, sorted and held
    /// as the last run if `hold_last` (they fit under the limit: writing
    /// them out only to read them back costs the disk and the codec
    /// twice), else written as one. A held group's events leave with its
    /// merge, except those of the groups in `kept`, whose closing events
    /// are copied into others' (see [`Sorted::group`]).
    pub fn finish(mut self, hold_last: bool, kept: HashSet<u32>) -> Result<Sorted<'s>, SpillError> {
        if !hold_last && self.len > 0 {
            self.flush()?;
        }
        let mut held = std::mem::take(&mut self.buf);
        held.iter_mut().for_each(|segment| sort(segment));
        Ok(Sorted { spill: self.spill, runs: self.runs, held, kept })
    }
}

/// Sorts a group's segment of a run by (correlation order, tag).
fn sort(segment: &mut [(Event, u64)]) {
    segment.sort_unstable_by_key(|(e, tag)| (order(e), *tag));
}

/// Sorted runs: those written, and the last one, held.
#[derive(Debug)]
pub struct Sorted<'s> {
    spill: &'s Spill,
    runs: Vec<HashMap<u32, Vec<Extent>>>,
    /// The last run, per group (by its dense id), each in its order, with
    /// its tags.
    held: Vec<Vec<(Event, u64)>>,
    /// Groups whose held events stay when their own merge takes them:
    /// their closing events are copied into other groups'.
    kept: HashSet<u32>,
}

impl<'s> Sorted<'s> {
    /// Group `key`'s events in correlation order, with copies of the
    /// closing events of each group in `closers` (its key and its rank
    /// among the groups: ties between copies go by it) after its own at
    /// equal order. The group's held events go with the merge (each group
    /// is read once), unless it is kept.
    pub fn group(&mut self, key: u32, closers: &[(u32, u64)]) -> Merge<'s> {
        let mut lanes = Vec::new();
        for run in &self.runs {
            if let Some(chunks) = run.get(&key) {
                lanes.push(Lane::written(chunks, None));
            }
            for &(from, rank) in closers {
                if let Some(chunks) = run.get(&from) {
                    lanes.push(Lane::written(chunks, Some(rank)));
                }
            }
        }
        let kept = self.kept.contains(&key);
        let own = self.held.get_mut(key as usize).map(|evs| if kept { evs.clone() } else { std::mem::take(evs) });
        lanes.extend(own.map(|events| Lane::held(events, None)));
        for &(from, rank) in closers {
            let copies = self
                .held
                .get(from as usize)
                .map(|evs| evs.iter().filter(|(e, _)| e.role == Role::End).cloned().collect());
            lanes.extend(copies.map(|events| Lane::held(events, Some(rank))));
        }
        Merge { spill: self.spill, lanes, heap: BinaryHeap::new(), started: false }
    }
}

/// Where a merged event stands: its order, then its own group's events
/// before copies, copies by their group's rank, then the tag.
type Place = (Order, Option<u64>, u64);

/// One run's segment of a group (or of a group whose closers are copied):
/// read from the file a chunk at a time, or the held run's.
#[derive(Debug)]
struct Lane {
    chunks: VecDeque<Extent>,
    events: std::vec::IntoIter<(Event, u64)>,
    /// Copies: the rank of the group they come from; only closing events
    /// are taken.
    copied_from: Option<u64>,
    head: Option<(Place, Event)>,
}

impl Lane {
    fn written(chunks: &[Extent], copied_from: Option<u64>) -> Lane {
        Lane { chunks: chunks.iter().copied().collect(), events: Vec::new().into_iter(), copied_from, head: None }
    }

    fn held(events: Vec<(Event, u64)>, copied_from: Option<u64>) -> Lane {
        Lane { chunks: VecDeque::new(), events: events.into_iter(), copied_from, head: None }
    }

    /// Moves to the lane's next event.
    fn advance(&mut self, spill: &Spill) -> Result<(), SpillError> {
        self.head = None;
        loop {
            for (e, tag) in self.events.by_ref() {
                if self.copied_from.is_some() && e.role != Role::End {
                    continue;
                }
                self.head = Some(((order(&e), self.copied_from, tag), e));
                return Ok(());
            }
            let Some(next) = self.chunks.pop_front() else { return Ok(()) };
            self.events = spill.read_events(next)?.into_iter();
        }
    }
}

/// One group's events in order (see [`Sorted::group`]).
#[derive(Debug)]
pub struct Merge<'s> {
    spill: &'s Spill,
    lanes: Vec<Lane>,
    heap: BinaryHeap<Reverse<(Place, usize)>>,
    started: bool,
}

impl Merge<'_> {
    fn start(&mut self) -> Result<(), SpillError> {
        self.started = true;
        for i in 0..self.lanes.len() {
            self.lanes[i].advance(self.spill)?;
            if let Some((place, _)) = &self.lanes[i].head {
                self.heap.push(Reverse((*place, i)));
            }
        }
        Ok(())
    }

    fn step(&mut self) -> Result<Option<Event>, SpillError> {
        if !self.started {
            self.start()?;
        }
        let Some(Reverse((_, i))) = self.heap.pop() else { return Ok(None) };
        let lane = &mut self.lanes[i];
        let Some((_, ev)) = lane.head.take() else { return Ok(None) };
        lane.advance(self.spill)?;
        if let Some((place, _)) = &lane.head {
            self.heap.push(Reverse((*place, i)));
        }
        Ok(Some(ev))
    }
}

impl Iterator for Merge<'_> {
    type Item = Result<Event, SpillError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.step().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spill::{Budget, weight};

    fn ev(source: usize, line: u64, ts: Option<i64>, role: Role) -> Event {
        Event {
            rule: 0,
            role,
            shape: 0.into(),
            source,
            line,
            ts: ts.into(),
            day_time: None,
            app: None,
            stream: crate::input::Stream::Out,
            fields: Default::default(),
            text: format!("{source}:{line}").into(),
        }
    }

    /// Whatever the run size, each group comes back whole, in order, ties
    /// by tag, and a copied closer after the group's own events at the
    /// same place, copies by the rank of their group.
    #[test]
    fn groups_come_back_in_correlation_order() {
        let mut input = Vec::new();
        for i in 0..2000u64 {
            let key = (i % 3) as u32;
            let ts = (i % 7 != 0).then_some(((i * 7919) % 500) as i64);
            let role = if i % 5 == 0 { Role::End } else { Role::Start };
            input.push((key, 1000 - (i % 10), ev((i % 2) as usize, i / 3, ts, role)));
        }
        for (bytes, hold_last) in [0, 10_000, u64::MAX].into_iter().flat_map(|b| [(b, true), (b, false)]) {
            let spill = Spill::new(Budget { bytes, dir: None });
            let mut sorter = Sorter::new(&spill);
            for (k, tag, e) in input.clone() {
                sorter.push(k, tag, e).expect("pushed");
            }
            // 1 and 2 have their closers copied into 0: kept, though read
            // before it.
            let mut sorted = sorter.finish(hold_last, HashSet::from([1, 2])).expect("sorted");
            // Under the limit the one run is held and nothing is written.
            assert_eq!(spill.written() == 0, hold_last && bytes == u64::MAX, "budget {bytes}");
            for key in [2, 1, 0u32] {
                let closers = if key == 0 { vec![(2, 5), (1, 4)] } else { vec![] };
                let got: Vec<Event> = sorted.group(key, &closers).collect::<Result<_, _>>().expect("read");
                let mut want: Vec<(Place, Event)> = input
                    .iter()
                    .filter(|(k, _, _)| *k == key)
                    .map(|(_, t, e)| ((order(e), None, *t), e.clone()))
                    .collect();
                for &(from, rank) in &closers {
                    want.extend(
                        input
                            .iter()
                            .filter(|(k, _, e)| *k == from && e.role == Role::End)
                            .map(|(_, t, e)| ((order(e), Some(rank), *t), e.clone())),
                    );
                }
                want.sort_by_key(|a| a.0);
                let want: Vec<Event> = want.into_iter().map(|(_, e)| e).collect();
                assert_eq!(got, want, "budget {bytes}, group {key}");
            }
        }
    }

    /// Events of one group with texts of one length, and what `n` of
    /// them count in a sort: each text, and the room their list took.
    fn of_one_length(line: u64) -> Event {
        Event { text: format!("{line:06}").into(), ..ev(0, line, Some(1), Role::Start) }
    }

    fn counted(n: u64) -> usize {
        let mut list = Vec::new();
        // Pushed one at a time, as the sort does (`extend` would reserve
        // exactly what it takes).
        (1..=n).for_each(|line| list.push((of_one_length(line), line)));
        // Every text its own (no two events share one), of six bytes.
        n as usize * crate::spill::text_weight("000001") + list.capacity() * std::mem::size_of::<(Event, u64)>()
    }

    /// A run is written once the events held reach the budget and number
    /// at least [`MIN_RUN`], not before: the budget bounds the sort's
    /// memory, and a tiny one still writes runs of [`MIN_RUN`] events.
    #[test]
    fn runs_are_cut_at_the_budget() {
        let runs_after = |budget: usize, n: u64| {
            let spill = Spill::new(Budget { bytes: budget as u64, dir: None });
            let mut sorter = Sorter::new(&spill);
            for line in 1..=n {
                sorter.push(0, line, of_one_length(line)).expect("pushed");
            }
            (sorter.runs.len(), sorter.len)
        };
        // The budget of 300 events: the 300th push writes a run.
        assert_eq!(runs_after(counted(300), 299), (0, 299));
        assert_eq!(runs_after(counted(300), 300), (1, 0));
        assert_eq!(runs_after(counted(300), 650), (2, 50));
        // Budget 0: a run every MIN_RUN events.
        assert_eq!(runs_after(0, MIN_RUN as u64 - 1), (0, MIN_RUN - 1));
        assert_eq!(runs_after(0, MIN_RUN as u64), (1, 0));
        assert_eq!(runs_after(0, 3 * MIN_RUN as u64 + 1), (3, 1));
    }

    /// The sort counts against the spill's one limit: what is held
    /// elsewhere leaves it less room, its lists count the room they take
    /// (not only their events'), and a run written gives its count back.
    #[test]
    fn the_sort_shares_the_limit() {
        let elsewhere = 600 * weight(std::slice::from_ref(&of_one_length(1)));
        let spill = Spill::new(Budget { bytes: (elsewhere + counted(400)) as u64, dir: None });
        spill.hold(elsewhere);
        let mut sorter = Sorter::new(&spill);
        for line in 1..400 {
            sorter.push(0, line, of_one_length(line)).expect("pushed");
        }
        assert_eq!((sorter.runs.len(), spill.held()), (0, elsewhere + counted(399)));
        assert!(counted(399) > 399 * std::mem::size_of::<(Event, u64)>(), "the list's room, doubled");
        sorter.push(0, 400, of_one_length(400)).expect("pushed");
        assert_eq!((sorter.runs.len(), sorter.len, spill.held()), (1, 0, elsewhere));
    }
}
