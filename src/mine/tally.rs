//! One source's mined records: each distinct key once, with its count,
//! first and last time, and its first two lines. Built inside the scan,
//! per source, in file order; a split source's later parts hold their
//! occurrences until the merge has dropped what an earlier part already
//! covered, then fold them in order, so the tally is the same whatever
//! the thread count. Hands its entries, in order of first occurrence, to
//! [`super::gather`].
//!
//! Bounded: past [`CAP`] distinct keys the rarest (then least recently
//! seen) are evicted, and counted.

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::FixedState;

use crate::records::Record;
use crate::rules::{Correlation, RuleSet};

use super::candidate::{self, Hits, Mode};

/// Distinct keys a source's tally holds at most (scan); `templates` holds
/// them all (its per-record output needs every key).
pub const CAP: usize = 20_000;

/// One distinct key's occurrences in one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The masked message, and the stack anchor after [`candidate::ANCHOR`].
    pub key: Box<str>,
    /// Occurrences.
    pub count: u64,
    /// Earliest and latest time of the occurrences that have one.
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
    /// The first two occurrences' lines (1-based, the record's first line).
    pub samples: Vec<u64>,
    /// The latest occurrence's line: what eviction ranks the rarest by.
    pub last_line: u64,
}

/// An occurrence a later part of a split source holds for the merge.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    line: u64,
    ts: Option<i64>,
    /// Written before the part's first stamped line: dated by the merge.
    lead: bool,
    seen: Seen,
}

/// What is kept of an occurrence until it is folded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// Its key.
    Key(Arc<str>),
    /// A rule matched it: its message (the first [`HELD_BYTES`]) and
    /// whether it is in an err stream, keyed only if no incident takes it.
    /// (A later part's own copy: its ids are its own table's.)
    Held(Box<[u8]>, bool),
}

/// An occurrence a rule matched: mined only if no incident took it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    line: u64,
    ts: Option<i64>,
    /// Its message, in [`Tally::bodies`].
    body: u32,
    err_stream: bool,
    /// A finding took its record ([`Tally::took`]): never mined. Held in
    /// the struct's padding, so marking findings' lines batch by batch
    /// costs no memory (a list of every line taken was 8 B an event).
    taken: bool,
}

/// Bytes of a held record's message kept: its first line and a stack's
/// first frames. Most held records end in an incident and are never
/// keyed: masking them all cost a tenth of the dense corpus' scan.
const HELD_BYTES: usize = 4096;

/// Where a record was met, as the scan knows it.
#[derive(Debug, Clone, Copy)]
pub struct At {
    /// 1-based line, relative to the part for a later part.
    pub line: u64,
    /// The record comes before its part's first stamped line.
    pub lead: bool,
    /// The record is in a later part of a split source.
    pub deferred: bool,
    /// A rule matched the record: it is held until correlation has said
    /// whether an incident took it (a threshold not reached, a context
    /// missing, an `unless` excusing it leave it unrecognised).
    pub held: bool,
}

/// The time range occurrences count in (`--since`/`--until`, and
/// `--untimed drop`), as it is for the matches incidents are made of; the
/// default counts every occurrence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Count occurrences at or after this time (ms since the epoch).
    pub since: Option<i64>,
    /// Count occurrences before this time.
    pub until: Option<i64>,
    /// Leave out occurrences without a time.
    pub drop_untimed: bool,
}

impl Window {
    fn holds(&self, ts: Option<i64>) -> bool {
        match ts {
            Some(t) => self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u),
            None => !self.drop_untimed,
        }
    }
}

/// A source's mining state; lives in its `FileStats` during the scan.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Tally {
    mode: Option<Mode>,
    cap: usize,
    index: HashMap<Box<str>, u32, FixedState>,
    entries: Vec<Entry>,
    pending: Vec<Pending>,
    /// In line order (records are met in order, a later part's after the
    /// parts before): [`Tally::took`] searches it by halves.
    held: Vec<Held>,
    /// The held occurrences' distinct messages, each copied once: an
    /// outage repeats one matched error thousands of times.
    bodies: Bodies,
    /// Occurrences and keys evicted by the cap.
    pub evicted: (u64, u64),
    /// Every mined record's (line, entry), for `templates`.
    log: Option<Vec<(u64, u32)>>,
    key: String,
    /// Per rule: a match of it is an incident whatever else the log holds
    /// (`single`, no `unless` or `context`).
    certain: Arc<[bool]>,
    hits: Hits,
    window: Window,
}

impl std::fmt::Debug for Tally {
    // The index's order is the hasher's: leave it out, the entries say it all.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held: Vec<_> = self.held.iter().map(|h| (h.line, h.ts, self.bodies.get(h.body), h.err_stream)).collect();
        f.debug_struct("Tally")
            .field("entries", &self.entries)
            .field("pending", &self.pending)
            .field("held", &held)
            .field("evicted", &self.evicted)
            .field("log", &self.log)
            .finish()
    }
}

impl Tally {
    /// A tally mining `mode`; `log` keeps every record's entry (and lifts
    /// the cap, as the log points into the entries).
    pub fn new(mode: Mode, log: bool, rules: &RuleSet) -> Tally {
        let certain =
            rules.rules().iter().map(|r| matches!(r.correlate, Correlation::Single) && r.context.is_empty()).collect();
        let cap = if log { usize::MAX } else { CAP };
        Tally { mode: Some(mode), cap, log: log.then(Vec::new), certain, ..Tally::default() }
    }

    /// The tally counting only occurrences in `window`.
    pub fn within(self, window: Window) -> Tally {
        Tally { window, ..self }
    }

    /// A new buffer begins (it may sit where the last one did).
    pub fn new_buffer(&mut self) {
        self.hits.reset();
    }

    /// The cheap test on a record's raw bytes (`buf[start..end]`), before
    /// it is built.
    pub fn may_take(&mut self, err_stream: bool, buf: &[u8], start: usize, end: usize) -> bool {
        self.mode.is_some_and(|m| candidate::may_be(m, err_stream, &mut self.hits, buf, start, end))
    }

    /// Whether matches of `rules` surely make an incident of the record:
    /// then it is not mined at all.
    pub fn recognised(&self, mut rules: impl Iterator<Item = u32>) -> bool {
        rules.any(|r| self.certain.get(r as usize).copied().unwrap_or(false))
    }

    /// Mines `record` if it is a candidate.
    pub fn offer(&mut self, record: &Record, err_stream: bool, at: At) {
        let Some(mode) = self.mode else { return };
        let err_stream = err_stream || record.stream == Some(crate::input::Stream::Err);
        let (line, ts, lead) = (at.line, record.ts, at.lead);
        if at.held {
            let body = &record.body[..record.body.len().min(HELD_BYTES)];
            match at.deferred {
                true => self.pending.push(Pending { line, ts, lead, seen: Seen::Held(body.into(), err_stream) }),
                false => {
                    let body = self.bodies.intern(body);
                    self.hold(Held { line, ts, body, err_stream, taken: false });
                }
            }
            return;
        }
        let Some(key) = memo_key(mode, err_stream, &record.body, &mut self.key) else { return };
        match at.deferred {
            true => self.pending.push(Pending { line, ts, lead, seen: Seen::Key(key) }),
            false => self.add(&key, line, ts),
        }
    }

    /// Occurrences held for the merge so far (a part's checkpoint).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Folds a later part's occurrences from the `from`-th on: lines moved
    /// past the `lines` of the parts before, undated lead records dated
    /// `carried` (the last stamp before the part).
    pub fn absorb(&mut self, part: &mut Tally, from: usize, lines: u64, carried: Option<i64>) {
        for p in part.pending.drain(..).skip(from) {
            let ts = if p.lead && p.ts.is_none() { carried } else { p.ts };
            match p.seen {
                Seen::Key(key) => self.add(&key, p.line + lines, ts),
                Seen::Held(body, err_stream) => {
                    let body = self.bodies.intern(&body);
                    self.hold(Held { line: p.line + lines, ts, body, err_stream, taken: false });
                }
            }
        }
        self.evicted.0 += part.evicted.0;
        self.evicted.1 += part.evicted.1;
    }

    /// Whether occurrences a rule matched wait for [`Tally::release`].
    pub fn holds(&self) -> bool {
        !self.held.is_empty()
    }

    /// Notes that a finding took the record at `line`: its held
    /// occurrence, if any, is not mined. Called as findings are made,
    /// batch by batch, before [`Tally::release`].
    pub fn took(&mut self, line: u64) {
        if let Ok(at) = self.held.binary_search_by_key(&line, |h| h.line) {
            self.held[at].taken = true;
        }
    }

    /// Folds in the held occurrences no finding took ([`Tally::took`]),
    /// after the others, in line order.
    pub fn release(&mut self) {
        let Some(mode) = self.mode else { return };
        let bodies = std::mem::take(&mut self.bodies);
        for h in std::mem::take(&mut self.held) {
            if h.taken {
                continue;
            }
            if let Some(key) = memo_key(mode, h.err_stream, bodies.get(h.body), &mut self.key) {
                self.add(&key, h.line, h.ts);
            }
        }
    }

    /// Holds `h`, keeping the held occurrences in line order: a record
    /// out of order (none is, see [`Tally::held`]) is put in its place.
    fn hold(&mut self, h: Held) {
        let at = match self.held.last() {
            Some(last) if last.line >= h.line => self.held.partition_point(|x| x.line <= h.line),
            _ => self.held.len(),
        };
        self.held.insert(at, h);
    }

    /// The folded tally's entries in order of first occurrence, and the
    /// per-record log when kept.
    pub fn into_parts(self) -> (Vec<Entry>, Option<Vec<(u64, u32)>>) {
        (self.entries, self.log)
    }

    fn add(&mut self, key: &str, line: u64, ts: Option<i64>) {
        // Here, where a later part's lead records have their time.
        if !self.window.holds(ts) {
            return;
        }
        let i = match self.index.get(key) {
            Some(&i) => i,
            None => {
                if self.entries.len() >= self.cap {
                    self.evict();
                }
                let i = self.entries.len() as u32;
                self.index.insert(key.into(), i);
                let e = Entry {
                    key: key.into(),
                    count: 0,
                    first_ts: None,
                    last_ts: None,
                    samples: vec![],
                    last_line: line,
                };
                self.entries.push(e);
                i
            }
        };
        let e = &mut self.entries[i as usize];
        e.count += 1;
        e.last_line = e.last_line.max(line);
        // The first two lines (held occurrences fold after the others).
        match e.samples[..] {
            [] | [_] => e.samples.push(line),
            [_, second] if line < second => e.samples[1] = line,
            _ => {}
        }
        if e.samples.len() == 2 && e.samples[0] > e.samples[1] {
            e.samples.swap(0, 1);
        }
        if let Some(ts) = ts {
            e.first_ts = Some(e.first_ts.map_or(ts, |f| f.min(ts)));
            e.last_ts = Some(e.last_ts.map_or(ts, |l| l.max(ts)));
        }
        if let Some(log) = &mut self.log {
            log.push((line, i));
        }
    }

    /// Drops the rarest quarter of the keys (fewest occurrences, then
    /// least recently seen), keeping the others in their order.
    fn evict(&mut self) {
        let mut rank: Vec<u32> = (0..self.entries.len() as u32).collect();
        rank.sort_by_key(|&i| {
            let e = &self.entries[i as usize];
            (e.count, e.last_line)
        });
        let mut gone = vec![false; self.entries.len()];
        for &i in &rank[..self.entries.len() / 4 + 1] {
            gone[i as usize] = true;
            self.evicted.0 += self.entries[i as usize].count;
            self.evicted.1 += 1;
        }
        let mut n = 0;
        self.entries.retain(|_| {
            n += 1;
            !gone[n - 1]
        });
        self.index = self.entries.iter().enumerate().map(|(i, e)| (e.key.clone(), i as u32)).collect();
    }
}

/// Bytes of a message the memo keeps: longer ones (a dumped payload) are
/// keyed afresh each time.
const MEMO_BYTES: usize = 4096;

/// Distinct messages a memo holds, and their bytes, before it starts
/// afresh.
const MEMO_CAP: usize = 8192;
const MEMO_BUDGET: usize = 4 << 20;

/// Keys already derived, by the message's memo form
/// (`candidate::memo_form`): `candidate::key` is a function of the mode,
/// the stream and that form, and in an outage one message recurs thousands
/// of times; keying each occurrence afresh was most of mining's cost
/// (dense corpus: 1.06 s scan, 0.11 s of keying). Bounded: when full it is
/// emptied (what it answers never depends on what it holds, only how
/// fast).
#[derive(Default)]
struct Memo {
    /// Per mode and stream: message -> its key, None when it is no
    /// candidate.
    known: [Known; 4],
    /// Bytes the messages and keys held take.
    bytes: usize,
    /// The current message's memo form.
    form: Vec<u8>,
}

/// Message (its memo form) -> its key, None when it is no candidate.
type Known = HashMap<Box<[u8]>, Option<Arc<str>>, FixedState>;

thread_local! {
    /// One memo a worker thread, shared by the sources it scans: a
    /// thousand small files repeat one another's errors, and a memo per
    /// file started cold in each (manyapps corpus: 1,000 files).
    static MEMO: std::cell::RefCell<Memo> = std::cell::RefCell::new(Memo::default());
}

/// The key of `body` (see `candidate::key`), None when it is no
/// candidate, through this thread's memo; `scratch` is the buffer a new
/// key is written into.
fn memo_key(mode: Mode, err_stream: bool, body: &[u8], scratch: &mut String) -> Option<Arc<str>> {
    MEMO.with_borrow_mut(|memo| memo.key(mode, err_stream, body, scratch))
}

impl Memo {
    fn key(&mut self, mode: Mode, err_stream: bool, body: &[u8], scratch: &mut String) -> Option<Arc<str>> {
        let derive = |scratch: &mut String| {
            candidate::key(mode, err_stream, body, scratch).then(|| Arc::<str>::from(scratch.as_str()))
        };
        if body.len() > MEMO_BYTES {
            return derive(scratch);
        }
        candidate::memo_form(body, &mut self.form);
        let table = usize::from(mode == Mode::All) * 2 + usize::from(err_stream);
        if let Some(k) = self.known[table].get(&self.form[..]) {
            return k.clone();
        }
        let key = derive(scratch);
        let size = self.form.len() + key.as_ref().map_or(0, |k| k.len());
        if self.known[table].len() >= MEMO_CAP || self.bytes + size > MEMO_BUDGET {
            self.known.iter_mut().for_each(HashMap::clear);
            self.bytes = 0;
        }
        self.bytes += size;
        self.known[table].insert(self.form[..].into(), key.clone());
        key
    }
}

/// Distinct messages, each stored once, by id.
#[derive(Clone, Default, PartialEq, Eq)]
struct Bodies {
    ids: HashMap<Arc<[u8]>, u32, FixedState>,
    all: Vec<Arc<[u8]>>,
}

impl Bodies {
    fn intern(&mut self, body: &[u8]) -> u32 {
        if let Some(&id) = self.ids.get(body) {
            return id;
        }
        let id = self.all.len() as u32;
        let body: Arc<[u8]> = body.into();
        self.all.push(body.clone());
        self.ids.insert(body, id);
        id
    }

    fn get(&self, id: u32) -> &[u8] {
        self.all.get(id as usize).map_or(&[], |b| b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(body: &str, ts: Option<i64>) -> Record {
        Record { body: body.as_bytes().to_vec(), ts, day_time: None, app: None, stream: None }
    }

    const NOW: At = At { line: 1, lead: false, deferred: false, held: false };

    #[test]
    fn numbers_do_not_split_a_key_and_times_span_the_occurrences() {
        let mut t = Tally::new(Mode::Errors, false, &RuleSet::default());
        for (i, ts) in [(1, 50), (2, 10), (3, 30)] {
            t.offer(&rec(&format!("Error: order {i} failed"), Some(ts)), false, At { line: i, ..NOW });
        }
        t.offer(&rec("GET / 200", None), false, NOW);
        let (entries, _) = t.into_parts();
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!((&*e.key, e.count, e.first_ts, e.last_ts), ("Error: order <*> failed", 3, Some(10), Some(50)));
        assert_eq!(e.samples, vec![1, 2]);
    }

    /// A part's occurrences before the hand-off are dropped; the rest fold
    /// in order, on the source's lines, lead records dated by the merge.
    #[test]
    fn a_later_part_folds_from_its_checkpoint() {
        let mut whole = Tally::new(Mode::Errors, false, &RuleSet::default());
        let mut part = Tally::new(Mode::Errors, false, &RuleSet::default());
        let later = At { line: 1, lead: true, deferred: true, held: false };
        part.offer(&rec("Error: covered", None), false, later);
        part.offer(&rec("Error: kept", None), false, At { line: 2, ..later });
        part.offer(&rec("Error: kept", Some(99)), false, At { line: 3, lead: false, ..later });
        whole.absorb(&mut part, 1, 100, Some(7));
        let (entries, _) = whole.into_parts();
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].count, entries[0].first_ts, entries[0].last_ts), (2, Some(7), Some(99)));
        assert_eq!(entries[0].samples, vec![102, 103]);
    }

    /// Occurrences a rule matched count only when no incident took them.
    #[test]
    fn held_occurrences_fold_unless_an_incident_took_them() {
        let mut t = Tally::new(Mode::Errors, false, &RuleSet::default());
        let held = At { held: true, ..NOW };
        t.offer(&rec("Error: x 1", None), false, At { line: 5, ..held });
        t.offer(&rec("Error: x 2", None), false, At { line: 9, ..held });
        t.offer(&rec("Error: x 3", None), false, At { line: 7, ..NOW });
        // Out of line order (no scan hands one so): still found by `took`.
        t.offer(&rec("Error: x 4", None), false, At { line: 3, ..held });
        assert!(t.holds());
        t.took(9);
        t.took(3);
        // Not held: a line a finding took that no rule held changes nothing.
        t.took(7);
        t.release();
        let (entries, _) = t.into_parts();
        assert_eq!((entries[0].count, entries[0].samples.clone()), (2, vec![5, 7]));
    }

    /// The memory cap holds on a million distinct messages, and a message
    /// that recurs among them survives the evictions.
    #[test]
    fn the_cap_holds_on_a_million_distinct_messages() {
        let mut t = Tally::new(Mode::All, false, &RuleSet::default());
        let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];
        for i in 0..1_000_000u64 {
            let (a, b, c, d) = (i % 10, i / 10 % 10, i / 100 % 10, i / 1000 % 1000);
            let text = format!("{} {} {} w{}", words[a as usize], words[b as usize], words[c as usize], spell(d));
            t.offer(&rec(&text, None), false, At { line: i + 1, ..NOW });
            if i % 100 == 0 {
                t.offer(&rec("Error: the recurring one", None), false, At { line: i + 1, ..NOW });
            }
            assert!(t.entries.len() <= CAP);
        }
        let (evicted_count, evicted_keys) = t.evicted;
        let (entries, _) = t.into_parts();
        assert!(evicted_keys > 900_000 && evicted_count >= evicted_keys, "{evicted_keys} keys evicted");
        let recurring = entries.iter().find(|e| &*e.key == "Error: the recurring one").expect("kept");
        assert_eq!(recurring.count, 10_000);
    }

    /// `--since`/`--until` count only the occurrences in range, and
    /// `--untimed drop` leaves out those without a time; a later part's
    /// lead record is placed by the time the merge gives it.
    #[test]
    fn the_window_counts_only_occurrences_in_range() {
        let window = Window { since: Some(10), until: Some(20), drop_untimed: false };
        let mut t = Tally::new(Mode::Errors, false, &RuleSet::default()).within(window);
        for (line, ts) in [(1, Some(9)), (2, Some(10)), (3, Some(19)), (4, Some(20)), (5, None)] {
            t.offer(&rec("Error: x", ts), false, At { line, ..NOW });
        }
        let mut part = Tally::new(Mode::Errors, false, &RuleSet::default());
        part.offer(&rec("Error: x", None), false, At { line: 1, lead: true, deferred: true, held: false });
        t.absorb(&mut part, 0, 100, Some(15));
        let (entries, _) = t.into_parts();
        assert_eq!((entries[0].count, entries[0].samples.clone()), (4, vec![2, 3]));
        let drop = Window { drop_untimed: true, ..Window::default() };
        let mut t = Tally::new(Mode::Errors, false, &RuleSet::default()).within(drop);
        t.offer(&rec("Error: x", None), false, NOW);
        t.offer(&rec("Error: x", Some(1)), false, At { line: 2, ..NOW });
        let (entries, _) = t.into_parts();
        assert_eq!((entries[0].count, entries[0].samples.clone()), (1, vec![2]));
    }

    /// A number as letters: digits would be masked.
    fn spell(mut n: u64) -> String {
        let mut s = String::new();
        loop {
            s.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
            if n == 0 {
                return s;
            }
        }
    }
}
