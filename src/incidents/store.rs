//! The incident store: finished incidents between the builder and the
//! report, under a memory budget.
//!
//! A storm makes many incidents (about 145 k per GiB of the storm corpus,
//! 1.85 KB each), and the report needs all of them at its end: JSON writes
//! the stories, built from every incident, before the incidents. So each
//! incident goes in as it is built ([`Store::push`]); while the held ones
//! stay under the budget it is kept as it is, and past it it is written to
//! one temporary file in a compact form (below) and only its [`View`] stays
//! in memory: what the report order, the filters and the stories read.
//! [`Store::seal`] puts the views in the report order (the one of
//! `incidents::order`); the stories are built from the views and read the
//! few whole incidents they name ([`Store::get`]); [`Store::label`] records
//! each incident's story, given to it when it is read back; the reporters
//! read the incidents back one at a time, in report order ([`Store::iter`]).
//! Under the budget nothing touches the disk and every incident is the one
//! built.
//!
//! The temporary file is made by [`Budget::temp_file`], as the scan's
//! events' is: it has no name (unlinked at once on Unix, deleted on close
//! on Windows), so it is gone when the store is dropped or the process
//! ends, on an error or a kill. Its errors are [`SpillError`]s naming the
//! directory and what to do.
//!
//! Format of one spilled incident (integers LEB128, signed ones zigzag,
//! strings a length and UTF-8 bytes, `?` a 0/1 byte then the value): its
//! kind (an index into the store's table of what an incident takes from
//! its rule: id, severity, window, references, family, side, the fix and
//! action templates, each kept once), id, title, app?, key (count, then
//! name and value), first_seen?, last_seen?, time_of_day? (first, last,
//! midnights), count, evidence (count, then file as an index into the
//! store's file table, line, timestamp?, text), fields (count, then name,
//! count of values, values), the fix's values and their ends, the
//! action's?, first_ms?, first_day? (source, ms), last_ms?, marks (count,
//! then each: source, line as a zigzag step from the previous mark's,
//! its flags byte, ts? as a zigzag step from the previous time, pm_id?,
//! `?` here decided by the flags). The story id comes from the label.
//!
//! What stays in memory per incident, to the end of the run, is what the
//! stories and the report order read ([`View`], and its index) and the marks
//! a story reads from the view ([`Mark::view`]: see `correlate::fold::mark`): a held
//! incident's own, where they lead its marks (as a fold puts them), else
//! a copy in one list for all incidents ([`Views::marks`]), never one
//! allocation each. The marks kept only for the
//! HTML report's ticks stay with the incident: held, or in the file.
//! While correlation runs, nothing reads the views: past a share they are
//! parked in the file too (`parked`), and [`Store::gather`] reads them
//! back once correlation's events are freed.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use super::{Evidence, Incident, Map, TimesOfDay};
use crate::correlate::fold::Mark;
use crate::correlate::fold::mark::RawMark;
use crate::rules::{Family, Filled, Severity, Template};
use crate::spill::codec::{put, put_str, unzigzag, zigzag};
use crate::spill::links::{self, Links, Who};
use crate::spill::{Budget, Doing, Holds, SpillError};
use crate::stories::Story;

mod parked;

use parked::Parked;

/// How a story-building stage sees an incident: what folds incidents into
/// stories and orders them, without its texts (held for every incident,
/// spilled or not, so kept small: 64 bytes, and 24 per story mark in the
/// store's list; [`Views`] gives its app, marks and times of day).
#[derive(Debug, Clone)]
pub struct View {
    /// The incident id as its number (ids are 16 hex digits: see
    /// [`super::id`]); [`View::id_text`] gives it back.
    pub id: u64,
    /// Matching records folded into it.
    pub count: usize,
    /// App concerned, when known: an index into the store's list of apps
    /// (`NO_APP`: none), one number where an `Arc<str>` took 16 bytes.
    app: u32,
    /// Its rule and group key, as one number: equal for equal pairs.
    pub group: u32,
    /// Where its story marks start in the store's list of them, or (with
    /// [`FLAG_HELD_MARKS`]) which held incident's marks they lead. In
    /// `u32`, as the views are numbered: past it a view would read no
    /// marks, but 4 G marks would take 96 GiB first.
    marks_at: u32,
    /// How many.
    marks_len: u32,
    /// Its times of day, where its log has no date: an index into the
    /// store's list of them (`NO_TIMES`: none).
    time_of_day: u32,
    /// Severity.
    pub severity: Severity,
    /// What it takes from its rule, shared by the views of one rule.
    of: Arc<RuleOf>,
    first_ms: i64,
    last_ms: i64,
    /// Which of the times are known, and the status (see the `FLAG_`s).
    flags: u8,
}

/// What a view takes from its rule.
#[derive(Debug, PartialEq, Eq)]
struct RuleOf {
    rule: Box<str>,
    family: Option<Family>,
    server: bool,
}

/// The store holds incidents up to this fraction of the budget (an
/// eighth), counting with them what every incident keeps in memory
/// whatever the budget (its view, index and story marks, about 107 bytes:
/// 75 MiB for the 5 GiB storm's 732 k incidents; [`Store::kept_bytes`]).
/// As that grows, the held incidents are written out, the last first, so
/// a storm's incidents and views share one room instead of the views
/// growing beside a full store. The scan's events have half of the budget
/// (`spill::EVENTS_SHARE`), and the events still held are correlated
/// while the incidents come in. Incidents written cost a write and one
/// read back each, no sort. 5 GiB storm, `--mmap never`, default budget:
/// peak RSS 491 MiB with the whole budget, 248-342 MiB with a quarter
/// (events then had the whole), 225 MiB with an eighth.
const HELD_SHARE: u64 = 8;

/// The records that may link incidents are held up to this fraction of
/// the budget (a sixteenth) before they spill to an external sort.
const LINKS_SHARE: u64 = 16;

/// [`View::app`] of a view without an app.
const NO_APP: u32 = u32::MAX;

/// [`View::time_of_day`] of a view without times of day.
const NO_TIMES: u32 = u32::MAX;

/// [`View::flags`]: a first time, a last time, the status in the two
/// bits above, and above those whether the marks are a held incident's:
/// [`View::marks_at`] is then that incident's index, and its marks are
/// the first of its own, not in the store's list.
const FLAG_FIRST: u8 = 1;
const FLAG_LAST: u8 = 2;
const STATUS_SHIFT: u8 = 2;
const STATUS_MASK: u8 = 3 << STATUS_SHIFT;
const FLAG_HELD_MARKS: u8 = 1 << 4;

/// The last value of an incident's `status` field, as headlines read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No status.
    None,
    /// `not recovered …`: still open at the end of the log.
    Open,
    /// Any other: it closed.
    Closed,
}

impl Status {
    fn of(i: &Incident) -> Status {
        match i.fields.get("status").and_then(|s| s.last()) {
            Some(s) if s.starts_with("not recovered") => Status::Open,
            Some(_) => Status::Closed,
            None => Status::None,
        }
    }
}

impl View {
    /// First record's time (ms since the epoch).
    pub fn first_ms(&self) -> Option<i64> {
        (self.flags & FLAG_FIRST != 0).then_some(self.first_ms)
    }

    /// Latest record's time (ms since the epoch).
    pub fn last_ms(&self) -> Option<i64> {
        (self.flags & FLAG_LAST != 0).then_some(self.last_ms)
    }

    /// The last value of its `status` field, as headlines read it.
    pub fn status(&self) -> Status {
        match (self.flags & STATUS_MASK) >> STATUS_SHIFT {
            1 => Status::Open,
            2 => Status::Closed,
            _ => Status::None,
        }
    }

    /// Where it reads its marks from a held incident (whose marks are
    /// `from`), points it at a copy of them at the end of `marks` instead:
    /// before that incident is written out, or the view parked.
    fn unhold_marks(&mut self, marks: &mut Vec<Mark>, from: &[Mark]) {
        if self.flags & FLAG_HELD_MARKS == 0 {
            return;
        }
        self.flags &= !FLAG_HELD_MARKS;
        self.marks_at = u32::try_from(marks.len()).unwrap_or(u32::MAX);
        marks.extend_from_slice(from.get(..self.marks_len as usize).unwrap_or(&[]));
    }

    /// Its app as a number, equal for views of one app ([`Views::app`]
    /// names it).
    pub fn app_id(&self) -> Option<u32> {
        (self.app != NO_APP).then_some(self.app)
    }

    /// The id as the incident has it.
    pub fn id_text(&self) -> String {
        self.id_num().to_string()
    }

    /// The id as a number that shows as the incident's id.
    pub fn id_num(&self) -> super::id::IdNum {
        super::id::IdNum(self.id)
    }

    /// Rule id.
    pub fn rule(&self) -> &str {
        &self.of.rule
    }

    /// The rule's story family.
    pub fn family(&self) -> Option<&Family> {
        self.of.family.as_ref()
    }

    /// Of the story family `f`.
    pub fn is(&self, f: &Family) -> bool {
        self.family() == Some(f)
    }

    /// The rule reads the dependency's own log (`side = "server"`).
    pub fn server(&self) -> bool {
        self.of.server
    }
}

/// The views of a store, in report order once sealed, with what they
/// share: the list of story marks and of times of day.
#[derive(Debug, Clone, Copy)]
pub struct Views<'a> {
    views: &'a [View],
    apps: &'a [Arc<str>],
    marks: &'a [Mark],
    times: &'a [TimesOfDay],
    held: &'a [Incident],
    links: &'a LinkSets,
}

impl<'a> std::ops::Deref for Views<'a> {
    type Target = [View];

    fn deref(&self) -> &[View] {
        self.views
    }
}

impl<'a> Views<'a> {
    /// The views themselves.
    pub fn all(&self) -> &'a [View] {
        self.views
    }

    /// Where `v`'s records that a story reads from the view are
    /// ([`Mark::view`]), in the incident's order: the first record, pm2's
    /// daemon lines, records inside an exit's window (every record where
    /// no bounds were known). Which incidents share a record is
    /// [`Views::links`].
    pub fn marks(&self, v: &View) -> &'a [Mark] {
        let (at, len) = (v.marks_at as usize, v.marks_len as usize);
        if v.flags & FLAG_HELD_MARKS != 0 {
            return self.held.get(at).and_then(|i| i.marks.get(..len)).unwrap_or(&[]);
        }
        at.checked_add(len).and_then(|end| self.marks.get(at..end)).unwrap_or(&[])
    }

    /// `v`'s app, when known.
    pub fn app(&self, v: &View) -> Option<&'a str> {
        self.apps.get(v.app as usize).map(|a| &**a)
    }

    /// `v`'s times of day, where its log has no date.
    pub fn time_of_day(&self, v: &View) -> Option<&'a TimesOfDay> {
        self.times.get(v.time_of_day as usize)
    }

    /// The incidents that hold one record, as sets of their places in
    /// the report order (each sorted, at least two), each with how many
    /// records they all hold: what links incidents by a shared record
    /// (after [`Store::seal`]).
    pub fn links(&self) -> impl Iterator<Item = (&'a [u32], u32)> + 'a {
        self.links.iter()
    }
}

/// Sets of incidents that hold one record, each once with its count of
/// records, kept flat: a storm makes many.
#[derive(Debug, Default)]
pub struct LinkSets {
    /// The members of every set, one set after another.
    members: Vec<u32>,
    /// Each set's end in `members` and its count of records.
    ends: Vec<(u32, u32)>,
}

impl LinkSets {
    fn iter(&self) -> impl Iterator<Item = (&[u32], u32)> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|&(end, _)| end));
        starts.zip(&self.ends).map(|(start, &(end, n))| (&self.members[start as usize..end as usize], n))
    }

    /// The sets of the record entries of `sorted` (in record order),
    /// who mapped to a place in the report order by `place` (None: an
    /// incident no longer there, or a fold none was built from).
    fn of(
        sorted: impl Iterator<Item = Result<links::Entry, SpillError>>,
        place: impl Fn(Who) -> Option<u32>,
    ) -> Result<LinkSets, SpillError> {
        // Nearly every set is a pair (storm corpus: all 146 k of 1 GiB's):
        // a pair is counted as one number, a larger set as its members.
        let mut pairs: Counts<u64> = Counts::default();
        let mut larger: Counts<Box<[u32]>> = Counts::default();
        let mut record = None;
        let mut set: Vec<u32> = Vec::new();
        let mut close = |set: &mut Vec<u32>| {
            set.sort_unstable();
            set.dedup();
            match set.as_slice() {
                [] | [_] => {}
                &[a, b] => pairs.add(u64::from(a) << 32 | u64::from(b)),
                more => larger.add(more.into()),
            }
            set.clear();
        };
        for e in sorted {
            let e = e?;
            if record != Some((e.source, e.line)) {
                close(&mut set);
                record = Some((e.source, e.line));
            }
            set.extend(place(Who::from_raw(e.who)));
        }
        close(&mut set);
        let (pairs, larger) = (pairs.finish(), larger.finish());
        let mut out = LinkSets {
            members: Vec::with_capacity(2 * pairs.len() + larger.iter().map(|(s, _)| s.len()).sum::<usize>()),
            ends: Vec::with_capacity(pairs.len() + larger.len()),
        };
        let mut pairs = pairs.into_iter().map(|(p, n)| ([(p >> 32) as u32, p as u32], n)).peekable();
        let mut larger = larger.into_iter().peekable();
        // Both in members order: merged, the sets come in members order.
        loop {
            let pair_first = match (pairs.peek(), larger.peek()) {
                (Some((p, _)), Some((l, _))) => p.as_slice() < &**l,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let n = if pair_first {
                let Some((p, n)) = pairs.next() else { break };
                out.members.extend_from_slice(&p);
                n
            } else {
                let Some((l, n)) = larger.next() else { break };
                out.members.extend_from_slice(&l);
                n
            };
            out.ends.push((u32::try_from(out.members.len()).unwrap_or(u32::MAX), n));
        }
        Ok(out)
    }
}

/// How many times each key was added, held as (key, count) pairs: a
/// repeat of the last key adds to its count, and the list is sorted and
/// its repeats merged whenever it doubles, so it holds at most about
/// twice the distinct keys (a `HashMap` of boxed sets was the 5 GiB
/// storm's peak: 65 MiB for its 732 k pairs).
struct Counts<K> {
    items: Vec<(K, u32)>,
    /// How many items the last merge left.
    merged: usize,
}

impl<K> Default for Counts<K> {
    fn default() -> Counts<K> {
        Counts { items: Vec::new(), merged: 0 }
    }
}

impl<K: Ord> Counts<K> {
    fn add(&mut self, key: K) {
        if let Some((last, n)) = self.items.last_mut()
            && *last == key
        {
            *n = n.saturating_add(1);
            return;
        }
        self.items.push((key, 1));
        if self.items.len() >= 2 * self.merged.max(MERGE_AT) {
            self.merge();
        }
    }

    fn merge(&mut self) {
        self.items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.items.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 = kept.1.saturating_add(later.1);
            }
            same
        });
        self.merged = self.items.len();
    }

    /// Every key once, in order, with its count.
    fn finish(mut self) -> Vec<(K, u32)> {
        self.merge();
        self.items
    }
}

/// [`Counts`] merges no list shorter than this.
const MERGE_AT: usize = 1 << 12;

/// Puts `v` in `order` in place: afterwards `v[i]` is what `v[order[i]]`
/// was (`order` a permutation of `v`'s indices), following each cycle
/// of the permutation with swaps.
fn permute<T>(v: &mut [T], order: &[u32]) {
    let mut done = vec![false; v.len()];
    for start in 0..v.len() {
        let mut i = start;
        while !done[i] {
            done[i] = true;
            let j = order[i] as usize;
            if j == start {
                break;
            }
            v.swap(i, j);
            i = j;
        }
    }
}

/// An id as its number: the 16 hex digits of [`super::id::stable_id`], so
/// numbers order as the texts do. Anything else (no id is) hashes.
fn id_number(id: &str) -> u64 {
    match u64::from_str_radix(id, 16) {
        Ok(n) if id.len() == 16 && !id.starts_with('+') => n,
        _ => super::id::fnv1a(id.as_bytes()),
    }
}

/// Where an incident is.
#[derive(Debug, Clone, Copy)]
enum Loc {
    /// Held, at this index.
    Held(u32),
    /// In the temporary file, at this offset, this long.
    Spilled(u64, u32),
}

/// Where an incident is: 16 bytes, the [`Loc`] packed (a spilled record
/// is never empty, so a length of 0 says held).
#[derive(Debug, Clone, Copy)]
struct Index {
    /// The spilled record's length; 0: held.
    len: u32,
    /// The spilled record's offset, or the held incident's index.
    at: u64,
}

impl Index {
    fn new(at: Loc) -> Index {
        match at {
            Loc::Held(h) => Index { len: 0, at: u64::from(h) },
            Loc::Spilled(offset, len) => Index { len: len.max(1), at: offset },
        }
    }

    fn at(&self) -> Loc {
        match self.len {
            0 => Loc::Held(u32::try_from(self.at).unwrap_or(u32::MAX)),
            len => Loc::Spilled(self.at, len),
        }
    }
}

/// What an incident takes from its rule, kept once per rule.
#[derive(Debug)]
struct Kind {
    of: Arc<RuleOf>,
    severity: Severity,
    window: Option<String>,
    references: Arc<[String]>,
    fix: Arc<Template>,
    action: Option<Arc<Template>>,
}

impl Kind {
    fn of(i: &Incident) -> Kind {
        Kind {
            of: Arc::new(RuleOf { rule: i.rule.as_str().into(), family: i.family.clone(), server: i.server }),
            severity: i.severity,
            window: i.window.clone(),
            references: i.references.clone(),
            fix: i.fix.parts().0.clone(),
            action: i.action.as_ref().map(|a| a.parts().0.clone()),
        }
    }

    fn fits(&self, i: &Incident) -> bool {
        let same_template = |a: &Arc<Template>, b: &Filled| Arc::ptr_eq(a, b.parts().0);
        *self.of.rule == *i.rule
            && self.severity == i.severity
            && self.window == i.window
            && (Arc::ptr_eq(&self.references, &i.references) || self.references == i.references)
            && self.of.family == i.family
            && self.of.server == i.server
            && same_template(&self.fix, &i.fix)
            && match (&self.action, &i.action) {
                (Some(a), Some(b)) => same_template(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

/// The temporary file.
struct Spill {
    dir: PathBuf,
    writer: Option<BufWriter<File>>,
    file: Option<File>,
    len: u64,
    /// One incident's bytes, reused.
    buf: Vec<u8>,
}

impl Spill {
    fn error(&self, doing: Doing, source: io::Error) -> SpillError {
        SpillError::IncidentsIo { doing, dir: self.dir.clone(), source }
    }
}

/// Finished incidents, held under the budget and spilled past it; see the
/// module header.
pub struct Store {
    budget: Budget,
    /// Estimated heap bytes of the held incidents.
    used: u64,
    views: Vec<View>,
    /// The views' story marks, one run per view.
    marks: Vec<Mark>,
    /// The views' times of day.
    times: Vec<TimesOfDay>,
    index: Vec<Index>,
    held: Vec<Incident>,
    /// Per held incident: its view's index and what it counts in `used`.
    held_by: Vec<(u32, u64)>,
    spill: Option<Spill>,
    kinds: Vec<Kind>,
    kind_of: HashMap<Arc<str>, Vec<u32>>,
    groups: Vec<(Arc<str>, Map<String>)>,
    group_of: HashMap<(Arc<str>, Map<String>), u32>,
    /// The apps views name, each once, and their indices.
    apps: Vec<Arc<str>>,
    app_of: HashMap<Arc<str>, u32>,
    files: Vec<Arc<str>>,
    file_of: HashMap<Arc<str>, u32>,
    /// Each incident's story (an index into `stories`; `u32::MAX`: none).
    labels: Vec<u32>,
    stories: Vec<String>,
    /// The views keep every mark, not only story marks: the oracle the
    /// tests hold the stories to (`Store::with_every_mark`).
    every_mark: bool,
    /// The records that may link two incidents, and who holds them.
    links: Arc<Links>,
    /// Whether folds hand those on as they go ([`Store::links`]).
    hands_on: bool,
    /// Each view's place in the order incidents came in (pushed).
    born: Vec<u32>,
    /// (place it came in, source + 1, ms) of each incident with a
    /// `first_day` (from a log without dates), in the order they came
    /// in: only the seal's order reads it, and a dated log's incidents,
    /// nearly all, have none (an `Index` field was 8 bytes each).
    days: Vec<(u32, u32, i64)>,
    /// How many came in.
    pushed: u32,
    /// (fold id, place it came in) of each incident built from a fold
    /// that handed records on.
    fold_of: Vec<(u64, u32)>,
    /// The sets of incidents that hold one record (once sealed).
    link_sets: LinkSets,
    /// The views written out while correlation runs, before `views`.
    parked: Parked,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("incidents", &self.views.len())
            .field("held", &self.held.len())
            .field("spilled", &self.spilled())
            .finish()
    }
}

impl Default for Store {
    fn default() -> Store {
        Store::new(Budget::default())
    }
}

impl Store {
    /// An empty store under `budget`.
    pub fn new(budget: Budget) -> Store {
        // The records that may link incidents get a sixteenth of the budget
        // before they spill; without a limit, folds keep them as marks.
        let hands_on = budget.bytes != u64::MAX;
        let links = Arc::new(Links::new(Budget { bytes: budget.bytes / LINKS_SHARE, dir: budget.dir.clone() }));
        Store {
            links,
            hands_on,
            born: Vec::new(),
            days: Vec::new(),
            pushed: 0,
            fold_of: Vec::new(),
            link_sets: LinkSets::default(),
            parked: Parked::default(),
            budget,
            used: 0,
            views: Vec::new(),
            marks: Vec::new(),
            times: Vec::new(),
            index: Vec::new(),
            held: Vec::new(),
            held_by: Vec::new(),
            spill: None,
            kinds: Vec::new(),
            kind_of: HashMap::new(),
            groups: Vec::new(),
            group_of: HashMap::new(),
            apps: Vec::new(),
            app_of: HashMap::new(),
            files: Vec::new(),
            file_of: HashMap::new(),
            labels: Vec::new(),
            stories: Vec::new(),
            every_mark: false,
        }
    }

    /// [`Store::from_incidents`] whose views keep every mark, those kept
    /// only for the report's ticks too: what stories would read if views
    /// kept them (the oracle of `stories::oracle`).
    #[cfg(test)]
    pub(crate) fn with_every_mark(incidents: Vec<Incident>) -> Store {
        let mut store = Store::new(Budget::unlimited());
        store.every_mark = true;
        for i in incidents {
            let _ = store.push(i);
        }
        let _ = store.seal();
        store
    }

    /// `incidents`, held, in the report order.
    pub fn from_incidents(incidents: Vec<Incident>) -> Store {
        let mut store = Store::new(Budget::unlimited());
        // Nothing is written without a limit, so nothing can fail.
        for i in incidents {
            let _ = store.push(i);
        }
        let _ = store.seal();
        store
    }

    /// How many incidents.
    pub fn len(&self) -> usize {
        self.parked.len + self.views.len()
    }

    /// Returns true if and only if there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many are in the temporary file.
    pub fn spilled(&self) -> usize {
        self.index.iter().filter(|i| matches!(i.at(), Loc::Spilled(..))).count()
    }

    /// The views, in report order once sealed; every one once
    /// [`Store::gather`] has read back those parked.
    pub fn views(&self) -> Views<'_> {
        debug_assert_eq!(self.parked.len, 0, "views read before the store gathered them");
        Views {
            views: &self.views,
            apps: &self.apps,
            marks: &self.marks,
            times: &self.times,
            held: &self.held,
            links: &self.link_sets,
        }
    }

    /// Where correlation's folds hand on the records that may link their
    /// incidents to others as they go (`spill::links`), so they need not
    /// keep them; None where the store has no limit and they keep them.
    pub fn links(&self) -> Option<Arc<Links>> {
        self.hands_on.then(|| self.links.clone())
    }

    /// Takes `incident`: held while the budget allows, else written to
    /// the temporary file.
    pub fn push(&mut self, mut incident: Incident) -> Result<(), SpillError> {
        let born = self.take_links(&mut incident);
        if let Some((source, ms)) = incident.first_day {
            let source = u32::try_from(source).unwrap_or(u32::MAX - 1) + 1;
            self.days.push((born, source, ms));
        }
        let bytes = heap_bytes(&incident);
        let share = self.budget.bytes / HELD_SHARE;
        let held = self.used.saturating_add(self.kept_bytes()).saturating_add(bytes) <= share;
        let view = self.view_of(&incident, held.then(|| u32::try_from(self.held.len()).unwrap_or(u32::MAX)));
        let at = if held {
            self.used += bytes;
            self.held_by.push((u32::try_from(self.len()).unwrap_or(u32::MAX), bytes));
            // The stories' labels are set on held incidents in place.
            incident.story = None;
            self.held.push(incident);
            Loc::Held(u32::try_from(self.held.len() - 1).unwrap_or(u32::MAX))
        } else {
            self.write(&incident)?
        };
        self.views.push(view);
        self.index.push(Index::new(at));
        self.make_room(share)?;
        self.park_views(share)
    }

    /// What every incident keeps in memory, held or not: its view, index
    /// and place, its story marks and times of day, its folds' ids.
    fn kept_bytes(&self) -> u64 {
        use std::mem::size_of;
        let each = size_of::<Index>() + size_of::<u32>();
        let n = self.views.len() * size_of::<View>()
            + self.index.len() * each
            + self.days.len() * size_of::<(u32, u32, i64)>()
            + self.marks.len() * size_of::<Mark>()
            + self.times.len() * size_of::<TimesOfDay>()
            + self.fold_of.len() * size_of::<(u64, u32)>();
        n as u64
    }

    /// Writes out held incidents, the last first, while they and what
    /// every incident keeps pass `share`. A view that read its story
    /// marks from its held incident gets a copy of them in the list.
    fn make_room(&mut self, share: u64) -> Result<(), SpillError> {
        while self.used.saturating_add(self.kept_bytes()) > share {
            let (Some(incident), Some((view, bytes))) = (self.held.pop(), self.held_by.pop()) else { break };
            self.used -= bytes;
            let v = view as usize;
            // A view `retain` dropped: its incident goes unwritten.
            if v >= self.len() {
                continue;
            }
            // A parked view reads no held incident's marks (`park_views`).
            if let Some(view) = v.checked_sub(self.parked.len).and_then(|h| self.views.get_mut(h)) {
                view.unhold_marks(&mut self.marks, &incident.marks);
            }
            let at = self.write(&incident)?;
            if let Some(index) = self.index.get_mut(v) {
                *index = Index::new(at);
            }
        }
        Ok(())
    }

    /// Notes who holds the records that may link `incident` to others:
    /// the fold it was built from, under the ids it handed them on with;
    /// the incident itself, for those it keeps as marks (every mark in
    /// the oracle). Returns its place in the order incidents came in.
    fn take_links(&mut self, incident: &mut Incident) -> u32 {
        let at = self.pushed;
        self.pushed = self.pushed.saturating_add(1);
        self.born.push(at);
        self.fold_of.extend(std::mem::take(&mut incident.links).iter().map(|&id| (id, at)));
        let every = self.every_mark;
        let mut linking = incident.marks.iter().filter(|m| every || (m.story() && m.links())).peekable();
        if linking.peek().is_some() {
            self.links.add(linking.map(|m| (m.source() as u32, m.line())), Who::Incident(at));
        }
        at
    }

    /// Puts the incidents in the report order (most severe first, then
    /// earliest, then rule id and key, then place on an undated file's own
    /// clock, then id; as `incidents::order`) and finishes the file.
    pub fn seal(&mut self) -> Result<(), SpillError> {
        self.gather()?;
        self.finish_writing()?;
        // They grew by doubling; no more come.
        self.marks.shrink_to_fit();
        self.times.shrink_to_fit();
        let mut rank = vec![0u32; self.groups.len()];
        let mut by_name: Vec<u32> = (0..self.groups.len() as u32).collect();
        by_name.sort_by(|&a, &b| self.groups[a as usize].cmp(&self.groups[b as usize]));
        for (r, g) in by_name.into_iter().enumerate() {
            rank[g as usize] = r as u32;
        }
        let days = std::mem::take(&mut self.days);
        // (0, 0) for none, else (source + 1, ms): orders as `first_day`.
        let day = |born: u32| match days.binary_search_by_key(&born, |&(b, _, _)| b) {
            Ok(i) => (days[i].1, days[i].2),
            Err(_) => (0, 0),
        };
        let key = |v: &View, born: u32| {
            let first = v.first_ms();
            (Reverse(v.severity), first.is_none(), first, rank[v.group as usize], day(born), v.id)
        };
        let mut order: Vec<u32> = (0..self.views.len() as u32).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            key(&self.views[a], self.born[a]).cmp(&key(&self.views[b], self.born[b]))
        });
        // In place: a copy of the views was the run's peak (5 GiB storm,
        // 733 k incidents: 84 MiB on top of the 84 the views hold).
        permute(&mut self.views, &order);
        permute(&mut self.index, &order);
        permute(&mut self.born, &order);
        self.labels = vec![u32::MAX; self.views.len()];
        self.link_sets = self.link_sets()?;
        Ok(())
    }

    /// The sets of incidents (by place in the report order) that hold one
    /// record, from what the folds and the incidents handed on.
    fn link_sets(&mut self) -> Result<LinkSets, SpillError> {
        let mut place = vec![u32::MAX; self.pushed as usize];
        for (r, &b) in self.born.iter().enumerate() {
            place[b as usize] = r as u32;
        }
        let mut fold_of = std::mem::take(&mut self.fold_of);
        fold_of.sort_unstable();
        let place_of = |at: u32| place.get(at as usize).copied().filter(|&p| p != u32::MAX);
        let who = |w: Who| match w {
            Who::Incident(at) => place_of(at),
            Who::Fold(id) => {
                let i = fold_of.partition_point(|&(f, _)| f < id);
                fold_of.get(i).filter(|&&(f, _)| f == id).and_then(|&(_, at)| place_of(at))
            }
        };
        let links = self.links.clone();
        let sorted = links.finish()?;
        LinkSets::of(sorted, who)
    }

    /// Keeps the incidents for which `keep(app, rule, key)` holds (after
    /// [`Store::gather`], before [`Store::seal`]); returns how many it
    /// dropped.
    pub fn retain(&mut self, mut keep: impl FnMut(Option<&str>, &str, &Map<String>) -> bool) -> usize {
        debug_assert_eq!(self.parked.len, 0, "retain before the store gathered its views");
        let before = self.views.len();
        let wanted: Vec<bool> = self
            .views
            .iter()
            .map(|v| {
                let (rule, key) = &self.groups[v.group as usize];
                keep(self.apps.get(v.app as usize).map(|a| &**a), rule, key)
            })
            .collect();
        let mut w = wanted.iter();
        self.views.retain(|_| *w.next().unwrap_or(&true));
        let mut w = wanted.iter();
        self.index.retain(|_| *w.next().unwrap_or(&true));
        let mut w = wanted.iter();
        self.born.retain(|_| *w.next().unwrap_or(&true));
        // Held incidents name their views by index: the kept ones move up,
        // the dropped ones are no view's (a write of one is skipped).
        let mut now = vec![u32::MAX; wanted.len()];
        for (n, (at, _)) in wanted.iter().enumerate().filter(|&(_, &w)| w).enumerate() {
            now[at] = n as u32;
        }
        for (view, _) in &mut self.held_by {
            *view = now.get(*view as usize).copied().unwrap_or(u32::MAX);
        }
        before - self.views.len()
    }

    /// Gives each incident the id of its story (after [`Store::seal`];
    /// `stories` name incidents by their place in the report order).
    /// The stories are told then: what only they read (the views' story
    /// marks, the sets of incidents sharing a record) is freed before the
    /// report (5 GiB storm: 34 MiB), and [`Views::marks`] and
    /// [`Views::links`] give nothing after it.
    pub fn label(&mut self, stories: &[Story]) {
        self.label_with(stories.iter().map(|s| (s.id.as_str(), s.members.as_slice())));
        self.marks = Vec::new();
        self.link_sets = LinkSets::default();
    }

    /// [`Store::label`] from (story id, members) pairs.
    fn label_with<'a>(&mut self, stories: impl Iterator<Item = (&'a str, &'a [usize])>) {
        self.stories.clear();
        self.labels = vec![u32::MAX; self.views.len()];
        for (n, (id, members)) in stories.enumerate() {
            self.stories.push(id.to_string());
            for &m in members {
                let Some(label) = self.labels.get_mut(m) else { continue };
                *label = n as u32;
                if let Some(Loc::Held(h)) = self.index.get(m).map(Index::at)
                    && let Some(inc) = self.held.get_mut(h as usize)
                {
                    inc.story = Some(id.to_string());
                }
            }
        }
    }

    /// The incident at `i` of the report order: the one held, or read back
    /// from the temporary file with its story.
    pub fn get(&self, i: usize) -> io::Result<Cow<'_, Incident>> {
        let Some(index) = self.index.get(i) else {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("no incident {i}")));
        };
        match index.at() {
            Loc::Held(h) => self
                .held
                .get(h as usize)
                .map(Cow::Borrowed)
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no incident {i}"))),
            Loc::Spilled(offset, len) => {
                let mut inc = self.read(offset, len)?;
                inc.story = self.labels.get(i).and_then(|&l| self.stories.get(l as usize)).cloned();
                Ok(Cow::Owned(inc))
            }
        }
    }

    /// Every incident in report order, one at a time.
    pub fn iter(&self) -> impl Iterator<Item = io::Result<Cow<'_, Incident>>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Every incident, owned (tests and `rules test`, which hold few).
    pub fn into_vec(self) -> io::Result<Vec<Incident>> {
        (0..self.len()).map(|i| self.get(i).map(Cow::into_owned)).collect()
    }

    /// The view of `i`; `held`: where it will be held, if it will be.
    fn view_of(&mut self, i: &Incident, held: Option<u32>) -> View {
        let kind = self.kind(i);
        let of = self.kinds[kind as usize].of.clone();
        let pair = (Arc::<str>::from(&*of.rule), i.key.clone());
        let group = match self.group_of.get(&pair) {
            Some(&g) => g,
            None => {
                let g = self.groups.len() as u32;
                self.groups.push(pair.clone());
                self.group_of.insert(pair, g);
                g
            }
        };
        let app = i.app.as_deref().map_or(NO_APP, |a| self.app(a));
        let status = match Status::of(i) {
            Status::None => 0,
            Status::Open => 1,
            Status::Closed => 2,
        };
        let known = |t: Option<i64>, flag: u8| if t.is_some() { flag } else { 0 };
        let (marks_at, marks_len, in_held) = self.story_marks(i, held);
        let time_of_day = match &i.time_of_day {
            Some(t) => {
                self.times.push(t.clone());
                u32::try_from(self.times.len() - 1).unwrap_or(NO_TIMES)
            }
            None => NO_TIMES,
        };
        View {
            id: id_number(&i.id),
            count: i.count,
            app,
            time_of_day,
            marks_at,
            marks_len,
            group,
            severity: i.severity,
            of,
            first_ms: i.first_ms.unwrap_or_default(),
            last_ms: i.last_ms.unwrap_or_default(),
            flags: known(i.first_ms, FLAG_FIRST)
                | known(i.last_ms, FLAG_LAST)
                | (status << STATUS_SHIFT)
                | if in_held { FLAG_HELD_MARKS } else { 0 },
        }
    }

    /// Where the view of `i` finds its story marks, how many, and whether
    /// in the held incident: its own marks where they come first (as a
    /// fold puts them: a held incident costs no copy), else a copy in the
    /// list.
    fn story_marks(&mut self, i: &Incident, held: Option<u32>) -> (u32, u32, bool) {
        let every = self.every_mark;
        let lead = if every { i.marks.len() } else { i.marks.iter().take_while(|m| m.view()).count() };
        let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        match held {
            Some(h) if i.marks[lead..].iter().all(|m| !m.view()) => (h, len(lead), true),
            _ => {
                let at = self.marks.len();
                self.marks.extend(i.marks.iter().filter(|m| every || m.view()));
                (len(at), len(self.marks.len() - at), false)
            }
        }
    }

    /// The index of `app` in the list of apps, added if new.
    fn app(&mut self, app: &str) -> u32 {
        if let Some(&a) = self.app_of.get(app) {
            return a;
        }
        let a = u32::try_from(self.apps.len()).unwrap_or(NO_APP);
        let k: Arc<str> = Arc::from(app);
        self.apps.push(k.clone());
        self.app_of.insert(k, a);
        a
    }

    /// The index of `i`'s kind, added if new.
    fn kind(&mut self, i: &Incident) -> u32 {
        if let Some(k) =
            self.kind_of.get(i.rule.as_str()).and_then(|ks| ks.iter().find(|&&k| self.kinds[k as usize].fits(i)))
        {
            return *k;
        }
        let kind = Kind::of(i);
        let k = self.kinds.len() as u32;
        self.kind_of.entry(Arc::from(&*kind.of.rule)).or_default().push(k);
        self.kinds.push(kind);
        k
    }

    fn file(&mut self, f: &Arc<str>) -> u32 {
        if let Some(&n) = self.file_of.get(f) {
            return n;
        }
        let n = self.files.len() as u32;
        self.files.push(f.clone());
        self.file_of.insert(f.clone(), n);
        n
    }

    /// Writes `i` to the temporary file, made on first use.
    fn write(&mut self, i: &Incident) -> Result<Loc, SpillError> {
        let kind = self.kind(i);
        // One incident's bytes, in the file's reused buffer.
        let mut buf = self.spill.as_mut().map(|s| std::mem::take(&mut s.buf)).unwrap_or_default();
        buf.clear();
        self.encode(i, kind, &mut buf);
        let at = self.append(&buf);
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        if let Some(spill) = self.spill.as_mut() {
            spill.buf = buf;
        }
        Ok(Loc::Spilled(at?, len))
    }

    /// Appends `bytes` to the temporary file (made by the first write);
    /// returns where they start.
    fn append(&mut self, bytes: &[u8]) -> Result<u64, SpillError> {
        let spill = match self.spill.take() {
            Some(s) => s,
            None => Spill {
                writer: Some(BufWriter::with_capacity(1 << 16, self.budget.temp_file(Holds::Incidents)?)),
                dir: self.budget.spill_dir(),
                file: None,
                len: 0,
                buf: Vec::new(),
            },
        };
        let spill = self.spill.insert(spill);
        let at = spill.len;
        let written = match spill.writer.as_mut() {
            Some(w) => w.write_all(bytes),
            None => Err(io::Error::other("the temporary file is closed")),
        };
        spill.len += bytes.len() as u64;
        written.map(|()| at).map_err(|e| spill.error(Doing::Write, e))
    }

    /// Flushes what is written, so it can be read back.
    fn finish_writing(&mut self) -> Result<(), SpillError> {
        let Some(spill) = self.spill.as_mut() else { return Ok(()) };
        if let Some(w) = spill.writer.take() {
            let file = w.into_inner().map_err(|e| spill.error(Doing::Write, e.into_error()))?;
            spill.file = Some(file);
        }
        Ok(())
    }

    fn read(&self, offset: u64, len: u32) -> io::Result<Incident> {
        let Some(spill) = &self.spill else {
            return Err(io::Error::other("no temporary file"));
        };
        let wrap = |e: io::Error| io::Error::new(e.kind(), spill.error(Doing::ReadBack, e));
        let Some(file) = &spill.file else {
            return Err(wrap(io::Error::other("the temporary file is still being written")));
        };
        let mut buf = vec![0u8; len as usize];
        read_at(file, &mut buf, offset).map_err(wrap)?;
        self.decode(&buf).map_err(wrap)
    }

    fn encode(&mut self, i: &Incident, kind: u32, b: &mut Vec<u8>) {
        let files: Vec<u32> = i.evidence.iter().map(|e| self.file(&e.file)).collect();
        put(b, kind.into());
        put_str(b, &i.id);
        put_str(b, &i.title);
        put_opt(b, i.app.as_deref(), put_str);
        put(b, i.key.len() as u64);
        for (k, v) in i.key.iter() {
            put_str(b, k);
            put_str(b, v);
        }
        put_opt(b, i.first_seen.as_deref(), put_str);
        put_opt(b, i.last_seen.as_deref(), put_str);
        put_opt(b, i.time_of_day.as_ref(), |b, t| {
            put_str(b, &t.first);
            put_str(b, &t.last);
            put(b, t.midnights.into());
        });
        put(b, i.count as u64);
        put(b, i.evidence.len() as u64);
        for (e, file) in i.evidence.iter().zip(files) {
            put(b, file.into());
            put(b, e.line);
            put_opt(b, e.timestamp.as_deref(), put_str);
            put_str(b, &e.text);
        }
        put(b, i.fields.len() as u64);
        for (k, vs) in i.fields.iter() {
            put_str(b, k);
            put(b, vs.len() as u64);
            for v in vs {
                put_str(b, v);
            }
        }
        put_filled(b, &i.fix);
        put_opt(b, i.action.as_ref(), put_filled);
        put_opt(b, i.first_ms, put_i);
        put_opt(b, i.first_day, |b, (s, ms)| {
            put(b, s as u64);
            put_i(b, ms);
        });
        put_opt(b, i.last_ms, put_i);
        put_marks(b, &i.marks);
    }

    fn decode(&self, buf: &[u8]) -> io::Result<Incident> {
        let mut r = Reader(buf);
        let kind = self.kinds.get(r.num()? as usize).ok_or_else(|| bad("kind"))?;
        let of = &kind.of;
        let id = r.string()?;
        let title = r.string()?;
        let app = r.opt(Reader::string)?;
        let key: Map<String> = (0..r.num()?).map(|_| Ok((r.string()?, r.string()?))).collect::<io::Result<_>>()?;
        let first_seen = r.opt(Reader::string)?;
        let last_seen = r.opt(Reader::string)?;
        let time_of_day = r.opt(|r| {
            Ok(TimesOfDay {
                first: r.string()?,
                last: r.string()?,
                midnights: u32::try_from(r.num()?).map_err(|_| bad("midnights"))?,
            })
        })?;
        let count = r.num()? as usize;
        let evidence = (0..r.num()?)
            .map(|_| {
                let file = self.files.get(r.num()? as usize).ok_or_else(|| bad("file"))?.clone();
                Ok(Evidence { file, line: r.num()?, timestamp: r.opt(Reader::string)?, text: Arc::from(r.str()?) })
            })
            .collect::<io::Result<Vec<_>>>()?;
        let fields: Map<Vec<String>> = (0..r.num()?)
            .map(|_| Ok((r.string()?, (0..r.num()?).map(|_| r.string()).collect::<io::Result<Vec<_>>>()?)))
            .collect::<io::Result<_>>()?;
        let fix = r.filled(&kind.fix)?;
        let action = match (&kind.action, r.flag()?) {
            (Some(t), true) => Some(r.filled(t)?),
            (None, false) => None,
            _ => return Err(bad("action")),
        };
        let first_ms = r.opt(Reader::int)?;
        let first_day = r.opt(|r| Ok((r.num()? as usize, r.int()?)))?;
        let last_ms = r.opt(Reader::int)?;
        let marks = r.marks()?;
        Ok(Incident {
            id,
            rule: of.rule.to_string(),
            severity: kind.severity,
            title,
            app,
            key,
            first_seen,
            last_seen,
            time_of_day,
            count,
            window: kind.window.clone(),
            evidence,
            fields,
            fix,
            action,
            references: kind.references.clone(),
            story: None,
            family: of.family.clone(),
            server: of.server,
            marks,
            links: Box::default(),
            first_ms,
            first_day,
            last_ms,
        })
    }
}

/// An estimate of what `i` holds on the heap: its own size, its texts, and
/// a word of allocator overhead per allocation.
fn heap_bytes(i: &Incident) -> u64 {
    const ALLOC: usize = 16;
    let text = |s: &str| s.len() + ALLOC;
    let opt = |s: &Option<String>| s.as_deref().map_or(0, text);
    let mut n = std::mem::size_of::<Incident>() + text(&i.id) + text(&i.title) + opt(&i.app) + text(&i.rule);
    n += i.key.iter().map(|(k, v)| text(k) + text(v) + 48).sum::<usize>() + ALLOC;
    n += opt(&i.first_seen) + opt(&i.last_seen) + opt(&i.window);
    n += i.time_of_day.as_ref().map_or(0, |t| text(&t.first) + text(&t.last));
    n += i
        .evidence
        .iter()
        .map(|e| std::mem::size_of::<Evidence>() + e.timestamp.as_deref().map_or(0, text) + text(&e.text))
        .sum::<usize>();
    n += i.fields.iter().map(|(k, vs)| text(k) + 48 + vs.iter().map(|v| text(v) + 24).sum::<usize>()).sum::<usize>();
    n += text(i.fix.parts().1) + i.fix.parts().2.len() * 8 + ALLOC;
    n += i.marks.len() * std::mem::size_of::<Mark>() + ALLOC;
    n as u64
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("a spilled incident is damaged ({what})"))
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(not(any(unix, windows)))]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

fn put_i(b: &mut Vec<u8>, n: i64) {
    put(b, zigzag(n));
}

fn put_opt<T>(b: &mut Vec<u8>, v: Option<T>, f: impl FnOnce(&mut Vec<u8>, T)) {
    match v {
        Some(v) => {
            b.push(1);
            f(b, v);
        }
        None => b.push(0),
    }
}

/// Marks as steps from the one before: a storm's incident holds
/// thousands, a few bytes each this way.
fn put_marks(b: &mut Vec<u8>, marks: &[Mark]) {
    put(b, marks.len() as u64);
    let (mut line, mut ts) = (0i64, 0i64);
    for m in marks {
        let raw = m.to_raw();
        put(b, raw.source.into());
        let l = raw.line as i64;
        put_i(b, l.wrapping_sub(line));
        line = l;
        b.push(raw.flags);
        if let Some(t) = m.ts() {
            put_i(b, t.wrapping_sub(ts));
            ts = t;
        }
        if let Some(p) = m.pm_id() {
            put(b, p.into());
        }
    }
}

fn put_filled(b: &mut Vec<u8>, f: &Filled) {
    let (_, values, ends) = f.parts();
    put_str(b, values);
    put(b, ends.len() as u64);
    for &e in ends {
        put(b, e as u64);
    }
}

/// Reads what the `put` functions wrote.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> io::Result<u8> {
        let (&b, rest) = self.0.split_first().ok_or_else(|| bad("end"))?;
        self.0 = rest;
        Ok(b)
    }

    fn num(&mut self) -> io::Result<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(n);
            }
        }
        Err(bad("number"))
    }

    fn int(&mut self) -> io::Result<i64> {
        let n = self.num()?;
        Ok(unzigzag(n))
    }

    fn flag(&mut self) -> io::Result<bool> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(bad("flag")),
        }
    }

    fn str(&mut self) -> io::Result<&'a str> {
        let len = usize::try_from(self.num()?).map_err(|_| bad("length"))?;
        if len > self.0.len() {
            return Err(bad("length"));
        }
        let (s, rest) = self.0.split_at(len);
        self.0 = rest;
        std::str::from_utf8(s).map_err(|_| bad("text"))
    }

    fn string(&mut self) -> io::Result<String> {
        self.str().map(str::to_string)
    }

    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> io::Result<T>) -> io::Result<Option<T>> {
        if self.flag()? { f(self).map(Some) } else { Ok(None) }
    }

    fn marks(&mut self) -> io::Result<Arc<[Mark]>> {
        let n = self.num()?;
        // Each mark takes at least three bytes: a count past what is left
        // is damage, not a reason to allocate.
        if n > self.0.len() as u64 {
            return Err(bad("marks"));
        }
        let (mut line, mut ts) = (0i64, 0i64);
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let source = u32::try_from(self.num()?).map_err(|_| bad("source"))?;
            line = line.wrapping_add(self.int()?);
            let flags = self.byte()?;
            let probe = Mark::from_raw(RawMark { source, line: line as u64, flags, ts: 0, pm_id: 0 })
                .ok_or_else(|| bad("mark"))?;
            if probe.ts().is_some() {
                ts = ts.wrapping_add(self.int()?);
            }
            let pm_id = match probe.pm_id() {
                Some(_) => u32::try_from(self.num()?).map_err(|_| bad("pm_id"))?,
                None => 0,
            };
            let raw =
                RawMark { source, line: line as u64, flags, ts: if probe.ts().is_some() { ts } else { 0 }, pm_id };
            out.push(Mark::from_raw(raw).ok_or_else(|| bad("mark"))?);
        }
        Ok(out.into())
    }

    fn filled(&mut self, template: &Arc<Template>) -> io::Result<Filled> {
        let values: Box<str> = self.str()?.into();
        let ends = (0..self.num()?).map(|_| Ok(self.num()? as usize)).collect::<io::Result<Box<[usize]>>>()?;
        Ok(Filled::from_parts(template.clone(), values, ends))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every permutation of up to six items, and a long one of many
    /// cycles, put in place as a copy would.
    #[test]
    fn permute_in_place_is_a_permuted_copy() {
        fn all(n: u32) -> Vec<Vec<u32>> {
            if n == 0 {
                return vec![vec![]];
            }
            let mut out = Vec::new();
            for p in all(n - 1) {
                for at in 0..=p.len() {
                    let mut q = p.clone();
                    q.insert(at, n - 1);
                    out.push(q);
                }
            }
            out
        }
        let long: Vec<u32> = (0..1000u32).map(|i| (i * 7919) % 1000).collect();
        for order in (0..=6).flat_map(all).chain([long]) {
            let mut v: Vec<u32> = (0..order.len() as u32).map(|i| i * 10).collect();
            let want: Vec<u32> = order.iter().map(|&i| v[i as usize]).collect();
            permute(&mut v, &order);
            assert_eq!(v, want, "{order:?}");
        }
    }

    /// The sets made from a stream of record entries are those a map of
    /// every set to its count gives, in members order: pairs and larger
    /// sets, repeats adjacent and far apart, members that map to no place,
    /// past the size at which the counts are merged.
    #[test]
    fn link_sets_count_every_set_once_in_order() {
        let mut rng = fastrand::Rng::with_seed(18);
        let mut entries = Vec::new();
        for line in 0..60_000u64 {
            let holders = match rng.u8(..10) {
                0..=5 => 2,
                6 | 7 => 1,
                _ => rng.usize(3..6),
            };
            // Few incidents, so sets repeat; some records repeat the last.
            let first = if rng.bool() { 0 } else { rng.u32(..3000) };
            for _ in 0..holders {
                let spread = if rng.u8(..4) == 0 { 3000 } else { 3 };
                let at = first + rng.u32(..spread);
                entries.push(links::Entry { source: rng.u32(..2), line, who: Who::Incident(at).to_raw() });
            }
        }
        entries.sort_unstable();
        entries.dedup();
        // Places: incidents past 2900 are no longer there; the rest move.
        let place = |w: Who| match w {
            Who::Incident(at) if at < 2900 => Some((at * 7) % 2900),
            _ => None,
        };
        let mut want: HashMap<Vec<u32>, u32> = HashMap::new();
        for record in entries.chunk_by(|a, b| (a.source, a.line) == (b.source, b.line)) {
            let mut set: Vec<u32> = record.iter().filter_map(|e| place(Who::from_raw(e.who))).collect();
            set.sort_unstable();
            set.dedup();
            if set.len() > 1 {
                *want.entry(set).or_insert(0) += 1;
            }
        }
        let mut want: Vec<(Vec<u32>, u32)> = want.into_iter().collect();
        want.sort_unstable();
        let got = LinkSets::of(entries.iter().map(|&e| Ok(e)), place).expect("no spill error");
        let got: Vec<(Vec<u32>, u32)> = got.iter().map(|(set, n)| (set.to_vec(), n)).collect();
        assert!(want.len() > 2 * MERGE_AT, "the counts are merged: {}", want.len());
        assert!(want.iter().any(|(s, _)| s.len() > 2) && want.iter().any(|(_, n)| *n > 1));
        assert_eq!(got, want);
    }

    use crate::correlate::Finding;
    use crate::incidents::build;
    use crate::input::Stream;
    use crate::matcher::Event;
    use crate::records::{DayTime, Zone};
    use crate::rules::{Role, RuleSet, compile_all};

    fn rules() -> RuleSet {
        let pack = r#"
[[rule]]
id = "t.loop"
title = "{app}: {count} exits within {window}, first at {first_seen}"
severity = "critical"
story = "restart"
regex = 'exited (?P<code>\d+)'
correlate = { kind = "threshold", count = 2, window = "5m" }
fix = "restarted {count} times; code {code}; last at {last_seen}"
action = "Read the logs of {app}."
references = ["https://example.com/loop"]

[[rule]]
id = "t.lost"
title = "{app} lost at {first_seen}: {status}"
severity = "high"
story = "dependency:redis"
side = "server"
regex = 'lost'
correlate = { kind = "absence", until = 'back', window = "2m" }
fix = "no restore within {window} ({status})"
"#;
        compile_all(&[("t.toml".into(), pack.into())]).expect("rules")
    }

    fn event(rule: u32, source: usize, line: u64, ts: Option<i64>, day: Option<i64>, text: &str) -> Event {
        Event {
            rule,
            role: Role::Start,
            shape: 0.into(),
            source,
            line,
            ts: ts.into(),
            day_time: day.and_then(DayTime::from_ms),
            app: Some("api".into()),
            stream: if rule == 0 { Stream::Daemon } else { Stream::Err },
            fields: vec![(Arc::from("code"), Arc::from(format!("{}", line % 3).as_str()))].into(),
            text: text.into(),
        }
    }

    /// Findings of both rules, timed, untimed and on a file's own clock,
    /// with texts holding what a codec could get wrong (quotes, newlines,
    /// non-ASCII, an empty one).
    fn findings(rules: &RuleSet) -> Vec<Finding> {
        let mut out = Vec::new();
        for n in 0..40i64 {
            let rule = (n % 2) as u32;
            let app = if n % 7 == 0 { "wörker" } else { "api" };
            let ts = |k: i64| match n % 5 {
                0 => None,
                _ => Some(1_795_712_730_000 + n * 61_000 + k * 1000 - (n % 3) * 90_000_000),
            };
            let day = |k: i64| (n % 5 == 0 && n % 10 == 0).then_some(9 * 3_600_000 + n * 1000 + k);
            let texts = ["App [api:0] exited 1", "\"quoted\"\nsecond line ✓", "", "lost \u{2028} link"];
            let events = (0..1 + n % 4)
                .map(|k| {
                    event(rule, (n % 3) as usize, (n * 10 + k) as u64, ts(k), day(k), texts[((n + k) % 4) as usize])
                })
                .collect();
            let facts = if rule == 1 {
                vec![(
                    "status".to_string(),
                    if n % 3 == 0 { "not recovered by end of log" } else { "recovered after 5s" }.to_string(),
                )]
            } else {
                vec![]
            };
            let held: Finding<Vec<Event>> = Finding { rule, key: vec![("app".into(), app.into())], events, facts };
            out.push(held.folded(rules));
        }
        out
    }

    fn paths() -> Vec<String> {
        vec!["logs/pm2.log".into(), "logs/api-error.log".into(), "logs/wörker-out.log".into()]
    }

    fn stored(budget: u64, incidents: Vec<Incident>) -> Store {
        let mut store = Store::new(Budget { bytes: budget, dir: None });
        for i in incidents {
            store.push(i).expect("push");
        }
        store.seal().expect("seal");
        store
    }

    /// `built` with marks kept only for the report's ticks beside their
    /// story marks, as a fold with bounds makes them (after them), and
    /// in one of them between (no order is assumed); times and lines
    /// going back, a `pm_id`, no time, the largest line.
    fn with_ticks(mut built: Vec<Incident>) -> Vec<Incident> {
        for (k, i) in built.iter_mut().enumerate() {
            let tick = |line: u64, ts: Option<i64>, pm_id: Option<u32>| {
                Mark::new(k % 3, line, ts, false, pm_id, true).kept(crate::correlate::fold::Kept::Tick)
            };
            let mut marks: Vec<Mark> = i.marks.to_vec();
            match k % 4 {
                0 => {}
                1 => marks.extend([tick(900, Some(1_795_712_000_000), None), tick(3, Some(-7), Some(4))]),
                2 => marks.extend([tick(u64::MAX, None, None), tick(1, Some(i64::MAX), Some(u32::MAX))]),
                _ => marks.insert(1.min(marks.len()), tick(77, Some(0), None)),
            }
            i.marks = marks.into();
        }
        assert!(built.iter().any(|i| i.marks.iter().any(|m| !m.story())));
        built
    }

    /// Held, spilled, or some of each: the store gives back the incidents
    /// `incidents::build` gives, every field of them, marks kept only for
    /// the ticks too, in its report order, whatever order they went in;
    /// the views hold the story marks, in order, and nothing else.
    #[test]
    fn incidents_read_back_as_built_in_the_report_order() {
        let rules = rules();
        let built = with_ticks(build(&rules, &findings(&rules), &paths(), Zone::Utc));
        assert!(built.iter().any(|i| i.time_of_day.is_some()) && built.iter().any(|i| i.first_seen.is_none()));
        assert!(built.iter().any(|i| i.action.is_some()) && built.iter().any(|i| i.action.is_none()));
        let half = built.iter().take(built.len() / 2).map(heap_bytes).sum::<u64>() * HELD_SHARE;
        for budget in [u64::MAX, 0, half] {
            let mut shuffled = built.clone();
            shuffled.reverse();
            shuffled.rotate_left(7);
            let store = stored(budget, shuffled);
            let spilled = store.spilled();
            match budget {
                0 => assert_eq!(spilled, built.len()),
                u64::MAX => assert_eq!(spilled, 0),
                _ => assert!(spilled > 0 && spilled < built.len(), "{spilled}"),
            }
            for (v, i) in store.views().iter().zip(&built) {
                assert_eq!(
                    (v.id_text(), v.first_ms(), v.last_ms(), v.count),
                    (i.id.clone(), i.first_ms, i.last_ms, i.count)
                );
                assert_eq!(
                    (v.rule(), store.views().app(v), v.severity),
                    (i.rule.as_str(), i.app.as_deref(), i.severity)
                );
                assert_eq!(v.status(), Status::of(i));
                let story: Vec<Mark> = i.marks.iter().copied().filter(Mark::view).collect();
                assert_eq!(store.views().marks(v), story.as_slice());
                assert_eq!(store.views().time_of_day(v), i.time_of_day.as_ref());
            }
            assert_eq!(store.into_vec().expect("read back"), built, "budget {budget}");
        }
    }

    /// As what every incident keeps grows into the store's share, the
    /// held incidents are written out, the last first, and nothing of
    /// them is lost: they read back as built, and their views' story
    /// marks (read from the held incident while it was held) are the same.
    #[test]
    fn views_growing_write_out_held_incidents() {
        let rules = rules();
        let built = with_ticks(build(&rules, &findings(&rules), &paths(), Zone::Utc));
        // Room for half the incidents: the views that come after fill
        // their room.
        let all: u64 = built.iter().map(heap_bytes).sum::<u64>() / 2;
        let mut store = Store::new(Budget { bytes: all * HELD_SHARE, dir: None });
        let mut most = 0;
        for i in built.iter().rev().cloned() {
            store.push(i).expect("push");
            most = most.max(store.held.len());
            let within = store.used + store.kept_bytes() <= all;
            assert!(within || store.held.is_empty(), "held and kept stay in the share");
        }
        assert!(store.held.len() < most, "held {} of at most {most}", store.held.len());
        assert_eq!(store.held.len(), store.held_by.len());
        store.seal().expect("seal");
        for (v, i) in store.views().iter().zip(&built) {
            let story: Vec<Mark> = i.marks.iter().copied().filter(Mark::view).collect();
            assert_eq!(store.views().marks(v), story.as_slice(), "{}", i.id);
        }
        assert_eq!(store.into_vec().expect("read back"), built);
    }

    /// Views parked while incidents come in (some of them reading their
    /// marks from incidents still held, written out later) come back as
    /// they went: the sealed store's views and incidents are those of a
    /// store that held everything.
    #[test]
    fn parked_views_come_back_as_they_went() {
        let rules = rules();
        let built = with_ticks(build(&rules, &findings(&rules), &paths(), Zone::Utc));
        // Enough for several chunks, each copy with its own id.
        let many: Vec<Incident> = (0..6 * parked::MIN_PARK / built.len() + 1)
            .flat_map(|copy| {
                built.iter().map(move |i| {
                    let mut i = i.clone();
                    i.id = format!("{:04x}{}", copy, &i.id[4..]);
                    i
                })
            })
            .collect();
        // A share three times the first chunk's views: they pass a quarter
        // of it, while what every incident keeps leaves room for some
        // held incidents; as the index and the marks grow after it, those
        // are written out.
        let share = (parked::MIN_PARK * size_of::<View>()) as u64 * 3;
        let mut store = Store::new(Budget { bytes: share * HELD_SHARE, dir: None });
        let mut held_when_parked = 0;
        for i in many.iter().cloned() {
            store.push(i).expect("push");
            if store.parked.len > 0 && held_when_parked == 0 {
                held_when_parked = store.held.len();
            }
        }
        assert!(store.parked.chunks.len() >= 2, "{} chunks", store.parked.chunks.len());
        assert!(held_when_parked > 0 && store.held.len() < held_when_parked, "held {held_when_parked}, then fewer");
        store.seal().expect("seal");
        let whole = Store::from_incidents(many.clone());
        assert_eq!(store.len(), whole.len());
        let (got, want) = (store.views(), whole.views());
        for (v, w) in got.iter().zip(want.iter()) {
            let seen = |s: &Views<'_>, v: &View| {
                let times = s.time_of_day(v).cloned();
                let fixed = (v.id, v.count, v.first_ms(), v.last_ms(), v.group, v.rule().to_string(), v.severity);
                (fixed, v.status(), s.app(v).map(str::to_string), s.marks(v).to_vec(), times)
            };
            assert_eq!(seen(&got, v), seen(&want, w));
        }
        assert_eq!(store.into_vec().expect("read back"), whole.into_vec().expect("held"));
    }

    /// After `retain`, each held incident still names its own view (or
    /// none, when its view was dropped), so writing it out later lands
    /// on the right view.
    #[test]
    fn retain_keeps_held_incidents_on_their_views() {
        let rules = rules();
        let built = build(&rules, &findings(&rules), &paths(), Zone::Utc);
        let all: u64 = built.iter().map(heap_bytes).sum::<u64>();
        let mut store = Store::new(Budget { bytes: all * HELD_SHARE, dir: None });
        for i in built.iter().cloned() {
            store.push(i).expect("push");
        }
        let mut n = 0;
        let dropped = store.retain(|_, _, _| {
            n += 1;
            n % 3 != 0
        });
        assert_eq!(dropped, built.len() / 3, "every third dropped");
        assert_eq!(store.views.len(), built.len() - dropped);
        assert!(!store.held.is_empty());
        let mut named = 0;
        for (h, &(view, _)) in store.held_by.iter().enumerate() {
            if view != u32::MAX {
                assert!(matches!(store.index[view as usize].at(), Loc::Held(at) if at as usize == h), "held {h}");
                named += 1;
            }
        }
        let held_views = store.index.iter().filter(|i| matches!(i.at(), Loc::Held(_))).count();
        assert_eq!(named, held_views, "every held view kept is named");
        assert!(named > 0);
    }

    /// A label reaches every incident, held or read back; one no story
    /// names has none.
    #[test]
    fn labels_reach_spilled_incidents() {
        let built = build(&rules(), &findings(&rules()), &paths(), Zone::Utc);
        let n = built.len();
        let mut store = stored(heap_bytes(&built[0]) * 3, built);
        let a: Vec<usize> = (0..n - 1).step_by(2).collect();
        let b: Vec<usize> = (1..n - 1).step_by(2).collect();
        store.label_with([("a", a.as_slice()), ("b", b.as_slice())].into_iter());
        let all = store.into_vec().expect("read back");
        for (k, i) in all.iter().enumerate() {
            let want = if k == n - 1 {
                None
            } else if k % 2 == 0 {
                Some("a")
            } else {
                Some("b")
            };
            assert_eq!(i.story.as_deref(), want, "incident {k}");
        }
    }

    /// A damaged record is an error, whatever byte it ends at, never a
    /// panic or a wrong incident.
    #[test]
    fn a_damaged_record_is_an_error() {
        let built = with_ticks(build(&rules(), &findings(&rules()), &paths(), Zone::Utc));
        let mut store = Store::new(Budget::unlimited());
        let ticked = |i: &Incident| i.marks.iter().any(|m| !m.story());
        let i =
            built.into_iter().find(|i| i.action.is_some() && i.time_of_day.is_none() && ticked(i)).expect("incident");
        let kind = store.kind(&i);
        let mut buf = Vec::new();
        store.encode(&i, kind, &mut buf);
        let mut whole = store.decode(&buf).expect("decodes");
        whole.story = i.story.clone();
        assert_eq!(whole, i);
        for cut in 0..buf.len() {
            assert!(store.decode(&buf[..cut]).is_err(), "cut at {cut}");
        }
        assert!(store.decode(&[200]).is_err(), "no such kind");
    }

    /// Past the budget, a directory that cannot hold the temporary file is
    /// an error that says it was for incidents, names the directory and
    /// what to do (`Budget::temp_file`, as for the scan's events).
    #[test]
    fn an_unwritable_dir_is_a_clear_error() {
        let missing = std::env::temp_dir().join("logtriage-no-such-dir/incidents");
        let built = build(&rules(), &findings(&rules()), &paths(), Zone::Utc);
        let mut store = Store::new(Budget { bytes: 0, dir: Some(missing.clone()) });
        let error = store.push(built[0].clone()).expect_err("no file can be made");
        let message = error.to_string();
        assert!(message.contains("the scan's incidents passed --memory-budget (0 MiB)"), "{message}");
        assert!(message.contains(&missing.display().to_string()), "{message}");
        assert!(message.contains("--spill-dir") && message.contains("--memory-budget"), "{message}");
        assert!(!missing.exists());
    }

    /// Ids are numbers that order as their texts do; anything else still
    /// gives one.
    #[test]
    fn ids_order_as_their_texts() {
        let ids = ["0000000000000000", "00000000000000ff", "0123456789abcdef", "f000000000000000", "ffffffffffffffff"];
        for w in ids.windows(2) {
            assert!(id_number(w[0]) < id_number(w[1]), "{w:?}");
        }
        assert_eq!(format!("{:016x}", id_number(ids[2])), ids[2]);
        assert_ne!(id_number("+123456789abcdef"), id_number("0123456789abcdef"));
        assert_eq!(id_number("story"), crate::incidents::id::fnv1a(b"story"));
    }

    /// What every incident keeps in memory, spilled or not, stays small:
    /// 733 k of them at 5 GiB of storm.
    #[test]
    fn a_view_and_its_index_are_small() {
        assert_eq!(std::mem::size_of::<View>(), 64);
        assert_eq!(std::mem::size_of::<Index>(), 16);
    }

    /// The codec's numbers: the extremes of both kinds round-trip.
    #[test]
    fn numbers_round_trip() {
        let mut b = Vec::new();
        let nums = [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX];
        let ints = [0, -1, 1, i64::MIN, i64::MAX, -300];
        nums.iter().for_each(|&n| put(&mut b, n));
        ints.iter().for_each(|&n| put_i(&mut b, n));
        let mut r = Reader(&b);
        assert_eq!(nums.map(|_| r.num().expect("num")), nums);
        assert_eq!(ints.map(|_| r.int().expect("int")), ints);
        assert!(r.0.is_empty());
        assert!(Reader(&[0xff; 11]).num().is_err(), "more than 64 bits");
    }
}
