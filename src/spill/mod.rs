//! Events past a memory budget, on disk. The scan holds every source's
//! events until correlation; on a noisy log that is most of the heap
//! (storm corpus: about 1.3 M events per 256 MiB of log). Under their
//! part of the budget ([`EVENTS_SHARE`]) nothing here runs and nothing
//! touches the disk. Past it, scan
//! workers hand their events here in chunks ([`codec`]) as they go, and
//! the stages after the scan read them back in the order each needs:
//! correlation's context stage a source at a time, its groups one at a
//! time from an external sort ([`runs`]).
//!
//! Owns the [`Budget`] (also the incident store's: one value from the
//! command line), the events' temporary file (created at the first spill,
//! under `TMPDIR` or `--spill-dir`; the OS removes it when the scan ends,
//! on an error too, since it is never linked into the directory or is
//! unlinked at once), the budget's accounting for events, and the first
//! write error, which the scan reports once it has stopped.

pub mod codec;
pub mod links;
pub mod runs;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::matcher::Event;

/// The memory budget when none is given (`--memory-budget`), in MiB:
/// every fixture stays under it and never touches the disk; the events of
/// a 1 GiB dense corpus (1.27 M, about 187 MiB counted) pass their half.
pub const DEFAULT_BUDGET_MIB: usize = 256;

/// Most events in one chunk: a chunk is read back whole.
pub const CHUNK_EVENTS: usize = 1 << 14;

/// How much memory a scan may hold of what it keeps for a later stage,
/// and where the rest goes: built once from `--memory-budget` and
/// `--spill-dir`, and taken by both things a noisy scan holds, its events
/// until correlation ([`Spill`]) and its finished incidents until the
/// report (`incidents::Store`). Each counts against the whole budget on
/// its own: they peak in different stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// Bytes held in memory before the rest spill to a temporary file (an
    /// estimate of their heap); 0 spills every one. The default is
    /// [`DEFAULT_BUDGET_MIB`] MiB.
    pub bytes: u64,
    /// Directory of the temporary files (None: the system's, `TMPDIR`).
    pub dir: Option<PathBuf>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::from_mib(DEFAULT_BUDGET_MIB, None)
    }
}

impl Budget {
    /// `mib` MiB (`--memory-budget`; saturating, so a huge value is no
    /// limit), spilling to `dir` (`--spill-dir`).
    pub fn from_mib(mib: usize, dir: Option<PathBuf>) -> Budget {
        Budget { bytes: (mib as u64).saturating_mul(1 << 20), dir }
    }

    /// No limit: everything is held and no file is ever made (`watch`,
    /// tests, `rules test`).
    pub fn unlimited() -> Budget {
        Budget { bytes: u64::MAX, dir: None }
    }

    /// The directory the temporary files go to: [`Budget::dir`]'s, else
    /// the system's (`TMPDIR`).
    pub fn spill_dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(std::env::temp_dir)
    }

    /// A new temporary file for `holds` in [`Budget::spill_dir`], without
    /// a name there (unlinked at once on Unix, deleted on close on
    /// Windows): the OS removes it when it is dropped or the process ends,
    /// on an error or a kill too, and nothing is ever left in the directory.
    pub fn temp_file(&self, holds: Holds) -> Result<File, SpillError> {
        let dir = self.spill_dir();
        tempfile::tempfile_in(&dir).map_err(|source| SpillError::Create {
            holds,
            dir,
            budget: self.bytes >> 20,
            source,
        })
    }

    /// The bytes as a size in memory (saturating on a 32-bit target).
    fn held_bytes(&self) -> usize {
        usize::try_from(self.bytes).unwrap_or(usize::MAX)
    }
}

/// The event budget's former form, before one [`Budget`] served events
/// and incidents: kept only so that code not yet moved to [`Budget`]
/// (a test of `correlate::spilled`, being reworked beside this change)
/// still builds. New code takes a [`Budget`].
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Bytes of events held in memory before they spill.
    pub budget: usize,
    /// Directory of the temporary file (None: the system's, `TMPDIR`).
    pub dir: Option<PathBuf>,
}

impl From<Options> for Budget {
    fn from(o: Options) -> Budget {
        Budget { bytes: o.budget as u64, dir: o.dir }
    }
}

/// What a temporary file holds, as its errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// Matched events, between the scan and correlation ([`Spill`]).
    Events,
    /// Finished incidents, until the report (`incidents::Store`).
    Incidents,
}

impl std::fmt::Display for Holds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Holds::Events => "events",
            Holds::Incidents => "incidents",
        })
    }
}

/// What was being done with a temporary file when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doing {
    /// Putting things into it.
    Write,
    /// Taking them back out.
    ReadBack,
}

impl std::fmt::Display for Doing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Doing::Write => "written",
            Doing::ReadBack => "read back",
        })
    }
}

/// Why what passed the memory budget could not spill or come back: the
/// events' file and the incidents' alike. Each message names the directory
/// and what to do about it; the OS's error is its source.
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    /// The temporary file could not be made.
    #[error(
        "the scan's {holds} passed --memory-budget ({budget} MiB) and cannot spill to a temporary file in {dir} \
         (point --spill-dir, or TMPDIR, at a writable directory with free space, or raise --memory-budget)"
    )]
    Create {
        /// What was to go in it.
        holds: Holds,
        /// The directory tried.
        dir: PathBuf,
        /// The budget, MiB.
        budget: u64,
        /// The OS's error.
        #[source]
        source: std::io::Error,
    },
    /// Writing or reading the events' temporary file failed (a full disk).
    #[error(
        "the temporary file of spilled events in {dir} could not be written or read (free space there, point \
         --spill-dir at another directory, or raise --memory-budget)"
    )]
    Io {
        /// The directory of the file.
        dir: PathBuf,
        /// The OS's error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the incidents' temporary file, or reading it back, failed
    /// (a full disk, or bytes that do not read).
    #[error(
        "the temporary file of spilled incidents in {dir} could not be {doing} (free space there, point \
         --spill-dir at another directory, or raise --memory-budget)"
    )]
    IncidentsIo {
        /// Writing or reading back.
        doing: Doing,
        /// The directory of the file.
        dir: PathBuf,
        /// The OS's error.
        #[source]
        source: std::io::Error,
    },
    /// Bytes of events read back are not what was written.
    #[error("the temporary file of spilled events in {dir} was changed during the scan")]
    Damaged {
        /// The directory of the file.
        dir: PathBuf,
        /// What did not read.
        #[source]
        source: codec::Damaged,
    },
}

/// Where a chunk lies in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    at: u64,
    len: u64,
}

/// The part of the budget the scan's events may hold in memory, as a
/// divisor (a half): the incident store holds up to an eighth
/// (`incidents::store::HELD_SHARE`) and the records linking incidents a
/// sixteenth, and they are held at once (events are correlated while
/// incidents come in); the rest is for what each incident keeps whatever
/// the budget and for the buffers the scan reads through.
pub const EVENTS_SHARE: u64 = 2;

/// The budget and, once it is passed, the temporary file.
#[derive(Debug)]
pub struct Spill {
    /// The whole budget (what messages name).
    budget: Budget,
    /// Bytes that may be held: the budget, or the events' share of it.
    limit: usize,
    /// Bytes of events held in memory: by sources that finished, and by
    /// sources being scanned.
    held: AtomicUsize,
    /// Set once anything spilled: the stages after the scan read back.
    spilled: AtomicBool,
    file: Mutex<Option<(File, u64)>>,
    /// The first error; later writes are skipped.
    failed: Mutex<Option<SpillError>>,
}

impl Spill {
    /// Up to the whole of `budget` held; no file yet.
    pub fn new(budget: impl Into<Budget>) -> Spill {
        let budget = budget.into();
        Spill::limited(budget.held_bytes(), budget)
    }

    /// The scan's events: up to [`EVENTS_SHARE`] of `budget` held; no
    /// file yet.
    pub fn for_events(budget: Budget) -> Spill {
        let limit = budget.bytes / EVENTS_SHARE;
        Spill::limited(usize::try_from(limit).unwrap_or(usize::MAX), budget)
    }

    fn limited(limit: usize, budget: Budget) -> Spill {
        Spill {
            budget,
            limit,
            held: AtomicUsize::new(0),
            spilled: AtomicBool::new(false),
            file: Mutex::new(None),
            failed: Mutex::new(None),
        }
    }

    /// Whether anything has spilled.
    pub fn active(&self) -> bool {
        self.spilled.load(Ordering::Relaxed)
    }

    /// Whether `more` bytes on top of what is held would pass the limit.
    pub fn over(&self, more: usize) -> bool {
        self.held.load(Ordering::Relaxed).saturating_add(more) > self.limit
    }

    /// Whether what is held has reached the limit: a buffer counted by
    /// [`Spill::hold`] should go to the file.
    pub fn full(&self) -> bool {
        self.held.load(Ordering::Relaxed) >= self.limit
    }

    /// Bytes that may be held.
    pub fn budget(&self) -> usize {
        self.limit
    }

    /// Counts exactly `bytes` as held, whatever was counted before: the
    /// stages after the scan start from what its sources left in memory
    /// (the filters may have dropped some of what was counted).
    pub fn recount(&self, bytes: usize) {
        self.held.store(bytes, Ordering::Relaxed);
    }

    /// Counts `bytes` as held in memory.
    pub fn hold(&self, bytes: usize) {
        self.held.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts `bytes` counted by [`Spill::hold`] as held no more: the
    /// events spilled, or were given up.
    pub fn release(&self, bytes: usize) {
        // Never below zero, should a caller release more than it held.
        let _ = self.held.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| Some(h.saturating_sub(bytes)));
    }

    fn dir(&self) -> PathBuf {
        self.budget.spill_dir()
    }

    /// Appends `bytes`; None once a write has failed (the error waits in
    /// [`Spill::take_error`]).
    pub fn write(&self, bytes: &[u8]) -> Option<Extent> {
        self.spilled.store(true, Ordering::Relaxed);
        let result = self.try_write(bytes);
        match result {
            Ok(extent) => Some(extent),
            Err(e) => {
                let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
                failed.get_or_insert(e);
                None
            }
        }
    }

    fn try_write(&self, bytes: &[u8]) -> Result<Extent, SpillError> {
        if self.failed.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            return Err(SpillError::Io { dir: self.dir(), source: std::io::Error::other("an earlier write failed") });
        }
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if file.is_none() {
            *file = Some((self.budget.temp_file(Holds::Events)?, 0));
        }
        let io = |source| SpillError::Io { dir: self.dir(), source };
        let Some((f, end)) = file.as_mut() else { return Err(io(std::io::Error::other("no temporary file"))) };
        f.seek(SeekFrom::Start(*end)).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        let extent = Extent { at: *end, len: bytes.len() as u64 };
        *end += bytes.len() as u64;
        Ok(extent)
    }

    /// The bytes of `extent`.
    pub fn read(&self, extent: Extent) -> Result<Vec<u8>, SpillError> {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let io = |source| SpillError::Io { dir: self.dir(), source };
        let Some((f, _)) = file.as_mut() else {
            return Err(io(std::io::Error::other("no temporary file was made")));
        };
        let len = usize::try_from(extent.len).map_err(|_| io(std::io::Error::other("chunk too long")))?;
        let mut buf = vec![0; len];
        f.seek(SeekFrom::Start(extent.at)).map_err(io)?;
        f.read_exact(&mut buf).map_err(io)?;
        Ok(buf)
    }

    /// Writes `events` (with their tags) as one chunk.
    pub fn write_events<'e>(&self, events: impl ExactSizeIterator<Item = (&'e Event, u64)> + Clone) -> Option<Extent> {
        let mut bytes = Vec::new();
        codec::encode(events, &mut bytes);
        self.write(&bytes)
    }

    /// The events (with their tags) of a chunk [`Spill::write_events`]
    /// wrote.
    pub fn read_events(&self, extent: Extent) -> Result<Vec<(Event, u64)>, SpillError> {
        let bytes = self.read(extent)?;
        codec::decode(&bytes).map_err(|source| SpillError::Damaged { dir: self.dir(), source })
    }

    /// The first error met, if any: the scan stops with it.
    pub fn take_error(&self) -> Option<SpillError> {
        self.failed.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Bytes written to the file so far.
    #[cfg(test)]
    pub(crate) fn written(&self) -> u64 {
        self.file.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map_or(0, |(_, end)| *end)
    }

    /// Bytes counted as held.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Where the file goes (for messages).
    pub fn dir_path(&self) -> PathBuf {
        self.dir()
    }
}

/// What a record's text costs beside its bytes: its `Arc`'s two counts
/// and the allocator's header and rounding. Left out, the count said 128
/// MiB where the events held took about 170 (heaptrack, 1 GiB storm).
const TEXT_HEAP: usize = 32;

/// What [`weight`] counts for a record's text.
pub fn text_weight(text: &str) -> usize {
    text.len() + TEXT_HEAP
}

/// What [`Spill`] counts for `events` held in memory: the event and, once
/// per record, its text (the events of one record sit together and share
/// it).
pub fn weight(events: &[Event]) -> usize {
    let mut bytes = std::mem::size_of_val(events);
    let mut previous: Option<&std::sync::Arc<str>> = None;
    for e in events {
        if !previous.is_some_and(|p| std::sync::Arc::ptr_eq(p, &e.text)) {
            bytes += text_weight(&e.text);
        }
        previous = Some(&e.text);
    }
    bytes
}

/// [`weight`] an event at a time, for events that join or leave a list
/// one by one: the same bytes for the same list, so what one list hands
/// another moves from one count to the other and adds nothing.
#[derive(Debug, Default)]
pub struct Weigher {
    previous: Option<std::sync::Arc<str>>,
}

impl Weigher {
    /// What `e` adds to the events weighed before it.
    pub fn weigh(&mut self, e: &Event) -> usize {
        std::mem::size_of::<Event>() + self.text(e)
    }

    /// What `e`'s text adds (nothing if the event before it shares it):
    /// for a list that counts its events' own room another way.
    pub fn text(&mut self, e: &Event) -> usize {
        let shared = self.previous.as_ref().is_some_and(|p| std::sync::Arc::ptr_eq(p, &e.text));
        if !shared {
            self.previous = Some(e.text.clone());
        }
        if shared { 0 } else { text_weight(&e.text) }
    }
}

/// `events` front to back, each one's weight released from `spill`'s
/// count as it is taken and the list's memory handed back as it empties:
/// events held in memory move to the next stage, counted there, without
/// being counted twice on the way.
pub fn drain_counted(spill: &Spill, events: Vec<Event>) -> impl Iterator<Item = Event> + '_ {
    let mut weigher = Weigher::default();
    crate::memory::drain_front(events).inspect(move |e| spill.release(weigher.weigh(e)))
}

/// One source's events: the chunks that spilled, in order, then those
/// still in memory.
#[derive(Debug, Default)]
pub struct Held {
    /// Spilled chunks, in the source's order, each event tagged with its
    /// place in the list (from 0).
    pub chunks: Vec<Extent>,
    /// The events after them.
    pub tail: Vec<Event>,
    /// Events in `chunks`: the first of `tail`'s place.
    pub written: u64,
}

impl Held {
    /// Every event, chunk by chunk, in order.
    pub fn read<'s>(self, spill: &'s Spill) -> impl Iterator<Item = Result<Vec<Event>, SpillError>> + 's {
        let Held { chunks, tail, .. } = self;
        let tail = (!tail.is_empty()).then_some(Ok(tail));
        chunks
            .into_iter()
            .map(move |c| spill.read_events(c).map(|evs| evs.into_iter().map(|(e, _)| e).collect()))
            .chain(tail)
    }

    /// Writes `events`, the list's next, out in chunks of
    /// [`CHUNK_EVENTS`], each tagged with its place in the list (the
    /// sort's tie-break where no stage reorders the list); false if a
    /// write failed.
    pub fn spill(&mut self, spill: &Spill, events: &[Event]) -> bool {
        for chunk in events.chunks(CHUNK_EVENTS) {
            let first = self.written;
            match spill.write_events(chunk.iter().enumerate().map(|(n, e)| (e, first + n as u64))) {
                Some(extent) => self.chunks.push(extent),
                None => return false,
            }
            self.written += chunk.len() as u64;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory that cannot hold the file is an error that names it and
    /// says what to do; nothing is left there.
    #[test]
    fn an_unwritable_dir_is_a_clear_error() {
        let missing = std::env::temp_dir().join("logtriage-no-such-dir/inner");
        let spill = Spill::new(Budget { bytes: 0, dir: Some(missing.clone()) });
        assert!(spill.write(b"x").is_none());
        let message = spill.take_error().expect("an error").to_string();
        assert!(message.contains(&missing.display().to_string()), "{message}");
        assert!(message.contains("--spill-dir") && message.contains("--memory-budget"), "{message}");
        assert!(message.contains("the scan's events passed --memory-budget (0 MiB)"), "{message}");
    }

    /// Every error names its file's directory, what the file holds and,
    /// for the incidents' file, what was being done; and says what to do.
    #[test]
    fn every_message_names_the_dir_and_the_fix() {
        let dir = PathBuf::from("/spill/here");
        let os = || std::io::Error::other("disk full");
        let cases = [
            (
                SpillError::Create { holds: Holds::Incidents, dir: dir.clone(), budget: 3, source: os() },
                "the scan's incidents passed --memory-budget (3 MiB) and cannot spill to a temporary file in /spill/here",
            ),
            (
                SpillError::Io { dir: dir.clone(), source: os() },
                "spilled events in /spill/here could not be written or read",
            ),
            (
                SpillError::IncidentsIo { doing: Doing::Write, dir: dir.clone(), source: os() },
                "spilled incidents in /spill/here could not be written (",
            ),
            (
                SpillError::IncidentsIo { doing: Doing::ReadBack, dir: dir.clone(), source: os() },
                "spilled incidents in /spill/here could not be read back (",
            ),
        ];
        for (error, says) in cases {
            let message = error.to_string();
            assert!(message.contains(says), "{message}");
            assert!(message.contains("--spill-dir") && message.contains("--memory-budget"), "{message}");
            let source = std::error::Error::source(&error).map(ToString::to_string);
            assert_eq!(source.as_deref(), Some("disk full"), "the OS's error is the source");
        }
    }

    /// Chunks read back in any order; the file lives in the directory
    /// given, which holds no file afterwards (nor during: it is unnamed).
    #[test]
    fn chunks_read_back_and_leave_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let spill = Spill::new(Budget { bytes: 0, dir: Some(dir.path().to_path_buf()) });
        let a = spill.write(b"first").expect("written");
        let b = spill.write(b"second").expect("written");
        assert_eq!(spill.read(b).expect("read"), b"second");
        assert_eq!(spill.read(a).expect("read"), b"first");
        assert!(spill.active());
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
        drop(spill);
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    }

    /// `--memory-budget` in MiB as bytes: 256 MiB by default, 0 spills
    /// every event, a huge value saturates (no limit) rather than wraps;
    /// the directory is `--spill-dir`, else the system's.
    #[test]
    fn a_budget_is_built_from_mib() {
        assert_eq!(Budget::default(), Budget { bytes: 256 << 20, dir: None });
        assert_eq!(Budget::from_mib(0, None).bytes, 0);
        assert_eq!(Budget::from_mib(usize::MAX, None).bytes, u64::MAX);
        assert_eq!(Budget::from_mib(1, Some("/x".into())).spill_dir(), PathBuf::from("/x"));
        assert_eq!(Budget::default().spill_dir(), std::env::temp_dir());
        let zero = Spill::new(Budget::from_mib(0, None));
        assert!(zero.over(1) && !zero.over(0));
    }

    #[test]
    fn the_budget_counts_what_is_held() {
        let spill = Spill::new(Budget { bytes: 100, dir: None });
        assert!(!spill.over(100));
        spill.hold(60);
        assert!(spill.over(41) && !spill.over(40));
        spill.release(20);
        assert!(spill.over(61) && !spill.over(60));
        spill.release(1000);
        assert!(!spill.over(100) && spill.over(101));
        assert!(!spill.active(), "counting writes nothing");
    }

    /// A text shared with the event before it (the events of one record)
    /// is counted once, one event at a time as for a whole list; a text
    /// of the same bytes in another allocation is counted again.
    #[test]
    fn a_shared_text_is_weighed_once() {
        let one = Event {
            rule: 0,
            role: crate::rules::Role::Start,
            shape: 0.into(),
            source: 0,
            line: 1,
            ts: Some(1).into(),
            day_time: None,
            app: None,
            stream: crate::input::Stream::Out,
            fields: Default::default(),
            text: "connect ECONNREFUSED".into(),
        };
        let same = one.clone();
        let again = Event { text: "connect ECONNREFUSED".into(), ..one.clone() };
        let list = [one, same, again];
        let mut w = Weigher::default();
        let texts: Vec<usize> = list.iter().map(|e| w.text(e)).collect();
        let t = text_weight("connect ECONNREFUSED");
        assert_eq!(texts, [t, 0, t]);
        let mut w = Weigher::default();
        assert_eq!(list.iter().map(|e| w.weigh(e)).sum::<usize>(), weight(&list));
        assert_eq!(weight(&list), 3 * std::mem::size_of::<Event>() + 2 * t);
    }
}
