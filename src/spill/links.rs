//! Which incidents hold the same record, found without holding every
//! record of every incident.
//!
//! Two incidents are linked by a record both hold: one that made more
//! than one event, or a closing record copied into the groups it closes.
//! A storm has millions of those (storm corpus, 1 GiB: 1.6 M marks of
//! records of several events), and a story needs only the few distinct
//! sets of incidents they make. So whoever holds such a record hands on
//! an [`Entry`] (the record and who holds it: a fold's id, or an
//! incident's place in the store) as it goes; entries are held up to a
//! budget, then sorted and written as a run to a temporary file of their
//! own; [`Links::finish`] merges the runs into one stream in record
//! order, from which the store makes the sets. Under the budget nothing
//! touches the disk.
//!
//! Who is a fold's id until an incident is built from the fold: folds
//! hand on entries while their finding is still being judged (a finding
//! of 1.5 M records would otherwise hold them all), and the store maps
//! each fold's id to its incident once it is built ([`Who`]).
//!
//! On disk a run is chunks of [`CHUNK_ENTRIES`] entries, 20 bytes each
//! (source, line, who; little-endian): written once, read once, in order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Budget, Extent, Spill, SpillError};

/// Entries in one chunk of a run: a merge holds one chunk per run.
pub const CHUNK_ENTRIES: usize = 1 << 12;

/// Bytes of one entry on disk.
const ENTRY_BYTES: usize = 20;

/// The least a run holds, however small the budget (`--memory-budget 0`
/// spills everything): 1.5 MiB, so a run is never a handful of entries.
const MIN_RUN: usize = 1 << 16;

/// A record held by an incident, or by a fold an incident will be built
/// from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    /// Source id.
    pub source: u32,
    /// 1-based line.
    pub line: u64,
    /// Who holds it ([`Who::to_raw`]).
    pub who: u64,
}

/// Who holds a record: a fold, by the id [`Links::fold_id`] gave it, or
/// an incident, by its place in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// A fold's id.
    Fold(u64),
    /// An incident's place in the store.
    Incident(u32),
}

impl Who {
    const INCIDENT: u64 = 1 << 63;

    /// As an entry keeps it.
    pub fn to_raw(self) -> u64 {
        match self {
            Who::Fold(id) => id & !Self::INCIDENT,
            Who::Incident(at) => Self::INCIDENT | u64::from(at),
        }
    }

    /// What [`Who::to_raw`] gave.
    pub fn from_raw(raw: u64) -> Who {
        if raw & Self::INCIDENT != 0 { Who::Incident(raw as u32) } else { Who::Fold(raw) }
    }
}

/// The entries handed on so far, and the runs written.
#[derive(Debug)]
pub struct Links {
    spill: Spill,
    next_fold: AtomicU64,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    entries: Vec<Entry>,
    runs: Vec<Vec<Extent>>,
}

impl Links {
    /// Entries held up to `budget.bytes`, runs written in its directory.
    pub fn new(budget: Budget) -> Links {
        Links { spill: Spill::new(budget), next_fold: AtomicU64::new(0), held: Mutex::new(Held::default()) }
    }

    /// A new fold's id.
    pub fn fold_id(&self) -> u64 {
        self.next_fold.fetch_add(1, Ordering::Relaxed)
    }

    /// Takes `records` (source, line), each held by `who`. A write that
    /// fails is reported by [`Links::finish`].
    pub fn add(&self, records: impl IntoIterator<Item = (u32, u64)>, who: Who) {
        let who = who.to_raw();
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.entries.extend(records.into_iter().map(|(source, line)| Entry { source, line, who }));
        let full = held.entries.len() * std::mem::size_of::<Entry>() >= self.spill.budget();
        if full && held.entries.len() >= MIN_RUN {
            let run = write_run(&self.spill, &mut held.entries);
            held.runs.push(run);
        }
    }

    /// Every entry taken so far, in order, each once; they are taken out
    /// (a second call gives what was added since).
    pub fn finish(&self) -> Result<Sorted<'_>, SpillError> {
        let held = std::mem::take(&mut *self.held.lock().unwrap_or_else(|p| p.into_inner()));
        let Held { mut entries, runs } = held;
        entries.sort_unstable();
        entries.dedup();
        if let Some(e) = self.spill.take_error() {
            return Err(e);
        }
        let mut lanes: Vec<Lane> = runs.into_iter().map(Lane::new).collect();
        if !entries.is_empty() {
            lanes.push(Lane { chunks: Vec::new().into_iter(), entries: entries.into_iter() });
        }
        let mut heads = BinaryHeap::with_capacity(lanes.len());
        for (i, lane) in lanes.iter_mut().enumerate() {
            if let Some(e) = lane.next(&self.spill)? {
                heads.push(Reverse((e, i)));
            }
        }
        Ok(Sorted { spill: &self.spill, lanes, heads, last: None })
    }
}

/// Sorts `entries`, writes them as a run and empties the list.
fn write_run(spill: &Spill, entries: &mut Vec<Entry>) -> Vec<Extent> {
    entries.sort_unstable();
    entries.dedup();
    let mut run = Vec::new();
    let mut bytes = Vec::with_capacity(CHUNK_ENTRIES * ENTRY_BYTES);
    for chunk in entries.chunks(CHUNK_ENTRIES) {
        bytes.clear();
        for e in chunk {
            bytes.extend_from_slice(&e.source.to_le_bytes());
            bytes.extend_from_slice(&e.line.to_le_bytes());
            bytes.extend_from_slice(&e.who.to_le_bytes());
        }
        // A failed write is kept by the spill; `finish` reports it.
        if let Some(extent) = spill.write(&bytes) {
            run.push(extent);
        }
    }
    *entries = Vec::new();
    crate::memory::release_freed();
    run
}

/// One run being merged: its chunks left, and the entries of the one read.
#[derive(Debug)]
struct Lane {
    chunks: std::vec::IntoIter<Extent>,
    entries: std::vec::IntoIter<Entry>,
}

impl Lane {
    fn new(chunks: Vec<Extent>) -> Lane {
        Lane { chunks: chunks.into_iter(), entries: Vec::new().into_iter() }
    }

    fn next(&mut self, spill: &Spill) -> Result<Option<Entry>, SpillError> {
        loop {
            if let Some(e) = self.entries.next() {
                return Ok(Some(e));
            }
            let Some(extent) = self.chunks.next() else { return Ok(None) };
            self.entries = decode(&spill.read(extent)?).into_iter();
        }
    }
}

fn decode(bytes: &[u8]) -> Vec<Entry> {
    bytes
        .chunks_exact(ENTRY_BYTES)
        .map(|b| {
            let u32_at = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
            let u64_at = |at: usize| u64::from(u32_at(at)) | u64::from(u32_at(at + 4)) << 32;
            Entry { source: u32_at(0), line: u64_at(4), who: u64_at(12) }
        })
        .collect()
}

/// The entries of every run, merged in order, each once.
#[derive(Debug)]
pub struct Sorted<'a> {
    spill: &'a Spill,
    lanes: Vec<Lane>,
    /// Each lane's next entry, least first.
    heads: BinaryHeap<Reverse<(Entry, usize)>>,
    last: Option<Entry>,
}

impl Sorted<'_> {
    fn step(&mut self) -> Result<Option<Entry>, SpillError> {
        loop {
            let Some(Reverse((e, i))) = self.heads.pop() else { return Ok(None) };
            if let Some(next) = self.lanes[i].next(self.spill)? {
                self.heads.push(Reverse((next, i)));
            }
            if self.last != Some(e) {
                self.last = Some(e);
                return Ok(Some(e));
            }
        }
    }
}

impl Iterator for Sorted<'_> {
    type Item = Result<Entry, SpillError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.step().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the budget, the entries come back sorted, each once, the
    /// same as sorting them all in memory; who survives the round trip.
    #[test]
    fn entries_come_back_sorted_and_once_whatever_the_budget() {
        let input: Vec<(u32, u64, Who)> = (0..3 * MIN_RUN as u64 + 5000)
            .map(|i| {
                let who = if i % 3 == 0 { Who::Incident((i % 97) as u32) } else { Who::Fold(i % 89) };
                ((i % 7) as u32, (i * 7919) % 1200 + u64::from(i > 4000) * u64::MAX / 2, who)
            })
            .collect();
        let mut want: Vec<Entry> =
            input.iter().map(|&(source, line, who)| Entry { source, line, who: who.to_raw() }).collect();
        want.sort_unstable();
        want.dedup();
        for budget in [0, MIN_RUN * 40, usize::MAX] {
            let links = Links::new(Budget { bytes: budget as u64, dir: None });
            for chunk in input.chunks(37) {
                for &(s, l, who) in chunk {
                    links.add([(s, l)], who);
                }
            }
            let wrote = links.spill.active();
            let got: Vec<Entry> = links.finish().expect("sorted").collect::<Result<_, _>>().expect("read");
            assert_eq!(got, want, "budget {budget}");
            assert_eq!(wrote, budget != usize::MAX, "runs written past the budget only ({budget})");
        }
        for who in [Who::Fold(0), Who::Fold((1 << 63) - 1), Who::Incident(0), Who::Incident(u32::MAX)] {
            assert_eq!(Who::from_raw(who.to_raw()), who);
        }
    }

    /// A directory that cannot hold the file is an error at the end, not
    /// a panic or a silent loss.
    #[test]
    fn a_failed_write_is_reported() {
        let links = Links::new(Budget { bytes: 0, dir: Some("/nonexistent/logtriage-links".into()) });
        links.add((0..=MIN_RUN as u64).map(|l| (0, l)), Who::Fold(1));
        assert!(matches!(links.finish(), Err(SpillError::Create { .. })));
    }
}
