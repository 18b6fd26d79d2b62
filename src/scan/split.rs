//! One large source across every worker: the source is cut into parts at
//! line starts, each part is scanned on its own, and the parts' events are
//! stitched back into exactly what one pass would have found. A mapped
//! source hands each part a slice of the map; a streamed regular file has
//! each part read its own window at its offset (positional reads), so a
//! live log, which is never mapped by default, is split too.
//!
//! A cut can fall inside a record (a stack trace), and a part's fresh
//! segmenter cannot know that. So each part but the last reads on past its
//! end (the overrun) with its own, correct, segmentation, and beside it
//! runs the segmentation the next part started fresh from the cut. Once the
//! two start a record on the same line they agree from there on: the
//! joiner's state after a record's first line depends on that line alone.
//! That line is the hand-off: the earlier part keeps the records before
//! it, the later part the records from it on. Each part logs its first
//! record starts (with its counters at each) so the merge can drop what
//! the earlier part already covered. A part also cannot date records
//! written raw before its first stamp: the merge gives them the last stamp
//! of the parts before, as the chunked stream does.
//!
//! Files of times of day are not split (see `FileShape::splits`): each of
//! their stamps is dated by every stamp before it, which a part starting
//! mid-file cannot know.
//!
//! Where no hand-off is found within reach (a file of nothing but
//! continuation lines, out of phase at every cut), a mapped source is
//! scanned again in one pass: slower, never wrong. A streamed file goes
//! back to its stream in that case, and also when a part's read comes back
//! short (the file shrank under the scan): the stream reads on in order and
//! reports how far the file went, as it does for any file it streams.

use std::cell::Cell;

use crate::input::{Positional, ShortRead, SourceSpec};
use crate::matcher::{Event, HitCursor, Matcher};
use crate::memory;
use crate::records::{FileShape, Segmenter};
use crate::summary::{FileStats, HELD_LINE};

use super::ScanOptions;
use super::handoff::{Handoff, SourceEvents};
use super::part::{CHUNK, Checkpoint, SourceScan};
use crate::pool::ordered;

/// Part sizes of a split scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSizes {
    /// A mapped source's parts.
    pub mapped: usize,
    /// A streamed file's parts.
    pub streamed: usize,
}

/// Mapped parts are about 32 MiB: big enough that the overrun and the
/// merge cost nothing, small enough that files of uneven size share the
/// cores; their bytes are the map's pages, which cost no heap. A streamed
/// part holds its window (its range and its overrun) on the heap while it
/// is scanned, so it is one chunk, the memory streaming allows a worker.
pub const PARTS: PartSizes = PartSizes { mapped: 32 << 20, streamed: CHUNK };
/// Record starts a part logs; the hand-off must come within them.
const HANDOFF_RECORDS: usize = 64;
/// How far past its end a part reads, at most, looking for the hand-off.
const OVERRUN_BYTES: usize = 1 << 20;
/// A positional read looking for a line's end starts this large and
/// doubles: lines are short, but one can be 50 MB.
const LINE_STEP: usize = 16 << 10;

thread_local! {
    /// Each worker's buffer for the windows it reads, kept from part to
    /// part and file to file. Not one per rayon job (`map_init`): a buffer
    /// that large is its own mmap, and glibc answers its free by raising
    /// the mmap threshold, after which the next buffers and the events land
    /// in arenas that keep their pages (256 MiB live log, `--mmap never`:
    /// 127 MiB peak RSS against 99 MiB with one buffer per worker).
    static WINDOW_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Frees this thread's window buffer: called on every worker once the
/// files are read, so the buffers (a chunk and its overrun each, 19 MiB)
/// are not held through correlation and the report (5 GiB storm: 38 MiB
/// of the run's peak).
pub(super) fn release_window_buffer() {
    drop(WINDOW_BUFFER.take());
}

/// Runs `f` with this worker's window buffer. Taken, not borrowed: a part
/// that somehow ran inside another on this thread gets a fresh one.
fn with_window_buffer<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut buf = WINDOW_BUFFER.take();
    let r = f(&mut buf);
    WINDOW_BUFFER.set(buf);
    r
}

/// What one part found.
struct Part {
    events: Vec<Event>,
    stats: FileStats,
    /// Lines in the part's own range.
    lines: u64,
    /// The part's own range had a stamped line: the time of the last one.
    stamp: Option<Option<i64>>,
    checkpoints: Vec<Checkpoint>,
    lead: usize,
    /// Where the next part takes over: `(part, offset)`; None when this
    /// part read to the end of the source.
    handoff: Option<(usize, usize)>,
}

/// Why a split scan gave up.
#[derive(Debug)]
pub(super) enum Stop {
    /// The overrun went too far without a hand-off.
    Diverged,
    /// A positional read came back short: the file shrank, or failed.
    Unread,
}

impl From<ShortRead> for Stop {
    fn from(_: ShortRead) -> Stop {
        Stop::Unread
    }
}

/// A source to scan in parts, and where its bytes come from.
#[derive(Clone, Copy)]
pub struct Split<'a, B> {
    /// The source.
    pub spec: &'a SourceSpec,
    /// Scan options.
    pub opts: &'a ScanOptions,
    /// What its first lines said.
    pub shape: FileShape,
    /// Its bytes.
    pub bytes: B,
}

/// A source mapped whole (or in memory): parts are slices of it.
pub type Mapped<'a> = Split<'a, &'a [u8]>;

/// A streamed regular file: each part reads its window at its offset.
pub type Streamed<'a> = Split<'a, Positional<'a>>;

/// A split source's bytes as its parts read them.
pub(super) trait Bytes: Sync {
    /// Length of the source (a streamed file's when it was opened).
    fn size(&self) -> usize;

    /// Where the line holding `at` ends (just past its line break); None
    /// when no line break comes before the end of the source.
    fn line_end_from(&self, at: usize) -> Result<Option<usize>, Stop>;

    /// The bytes from `from` to the end of the line holding `to`, or to
    /// the end of the source. `scratch` is the worker's buffer for bytes
    /// that are read rather than mapped (see `WINDOW_BUFFER`).
    fn window<'s>(&'s self, from: usize, to: usize, scratch: &'s mut Vec<u8>) -> Result<&'s [u8], Stop>;
}

impl Bytes for &[u8] {
    fn size(&self) -> usize {
        <[u8]>::len(self)
    }

    fn line_end_from(&self, at: usize) -> Result<Option<usize>, Stop> {
        let rest = self.get(at..).unwrap_or_default();
        Ok(memchr::memchr(b'\n', rest).map(|i| at + i + 1))
    }

    fn window<'s>(&'s self, from: usize, to: usize, _: &'s mut Vec<u8>) -> Result<&'s [u8], Stop> {
        Ok(&self[from..self.line_end_from(to)?.unwrap_or(self.size())])
    }
}

impl Bytes for Positional<'_> {
    fn size(&self) -> usize {
        self.len()
    }

    fn line_end_from(&self, at: usize) -> Result<Option<usize>, Stop> {
        let mut buf = Vec::new();
        let n = read_to_line_end(self, &mut buf, at, 0)?;
        Ok(buf[..n].ends_with(b"\n").then_some(at + n))
    }

    fn window<'s>(&'s self, from: usize, to: usize, scratch: &'s mut Vec<u8>) -> Result<&'s [u8], Stop> {
        let to = to.min(self.len());
        read_into(self, scratch, 0, from, to - from)?;
        let n = read_to_line_end(self, scratch, from, to - from)?;
        Ok(&scratch[..n])
    }
}

/// Reads `n` bytes at `at` into `buf[filled..]`. The buffer is grown,
/// never cleared: a worker's next window overwrites the bytes in place.
fn read_into(file: &Positional<'_>, buf: &mut Vec<u8>, filled: usize, at: usize, n: usize) -> Result<(), ShortRead> {
    if buf.len() < filled + n {
        buf.resize(filled + n, 0);
    }
    file.read_exact_at(&mut buf[filled..filled + n], at)
}

/// `buf[..filled]` holds the file from `from`; reads on until a line break
/// or the end of the file, and returns how many bytes of `buf` hold the
/// file up to and including that line break.
fn read_to_line_end(file: &Positional<'_>, buf: &mut Vec<u8>, from: usize, mut filled: usize) -> Result<usize, Stop> {
    let mut step = LINE_STEP;
    let limit = filled.saturating_add(HELD_LINE);
    loop {
        // A line too long to hold: the stream reads the file instead, and
        // cuts it.
        if filled >= limit {
            return Err(Stop::Diverged);
        }
        let at = from + filled;
        let n = step.min(file.len().saturating_sub(at)).min(limit - filled);
        if n == 0 {
            return Ok(filled);
        }
        read_into(file, buf, filled, at, n)?;
        if let Some(i) = memchr::memchr(b'\n', &buf[filled..filled + n]) {
            return Ok(filled + i + 1);
        }
        filled += n;
        step = step.saturating_mul(2);
    }
}

impl Mapped<'_> {
    /// Scans in parts of about `part` bytes on the current rayon pool,
    /// handing the merged events to `hand` as the parts finish; should no
    /// hand-off be found, scans again in one pass (the events handed off
    /// by then are given up: see [`Split::try_scan`]).
    pub(super) fn scan(self, m: &Matcher, part: usize, hand: Option<Hand<'_, '_>>) -> (Vec<Event>, FileStats) {
        self.try_scan(m, part, hand).unwrap_or_else(|_| self.whole(m))
    }

    /// One pass over the whole buffer.
    pub fn whole(self, m: &Matcher) -> (Vec<Event>, FileStats) {
        let mut st = SourceScan::new(m, self.spec, self.opts);
        st.set_shape(self.shape);
        st.chunk(self.bytes, true);
        st.finish()
    }
}

impl Streamed<'_> {
    /// Scans in parts of about `part` bytes on the current rayon pool, each
    /// reading only its own window, handing the merged events to `hand` as
    /// the parts finish. None when a read came back short or no hand-off
    /// was found: the caller reads the file as a stream, and nothing was
    /// handed off (see [`Split::try_scan`]).
    pub(super) fn scan(self, m: &Matcher, part: usize, hand: Option<Hand<'_, '_>>) -> Option<(Vec<Event>, FileStats)> {
        self.try_scan(m, part, hand).ok()
    }
}

/// Where a split source's events go as its parts are merged, and the
/// source's record of what went.
pub(super) type Hand<'h, 's> = (&'h Handoff<'s>, &'h mut SourceEvents);

/// Parts made ahead of the merge, per worker: each worker has its next
/// part ready or in hand while the merge takes one, and the scan holds
/// a few parts' events, not the file's.
const AHEAD: usize = 2;

impl<B: Bytes> Split<'_, B> {
    /// Scans in parts without a fallback. The parts run on the pool's
    /// workers in order, at most [`AHEAD`] per worker past the merge, and
    /// each is merged as its turn comes; the events merged so far are then
    /// offered to `hand` (spilled past the budget, as a stream's chunks
    /// are). A split always starts its source, so what it hands off is
    /// the source's whole record; when it stops (no hand-off, a short
    /// read), that record is given up whole, spilled chunks and the facts
    /// gathered from them, and the source's is left as it was: the pass
    /// or stream that takes over hands off every event again, once.
    fn try_scan(&self, m: &Matcher, part: usize, hand: Option<Hand<'_, '_>>) -> Result<(Vec<Event>, FileStats), Stop> {
        let cuts = cuts(&self.bytes, part)?;
        let mut merge = Merge::new();
        let mut handed = SourceEvents::default();
        let workers = rayon::current_num_threads();
        let offer = hand.as_ref().map(|(h, _)| *h);
        let ran = ordered::in_order(
            cuts.len() - 1,
            workers,
            AHEAD * workers,
            || m.clone(),
            |m, i| with_window_buffer(|buf| self.part(m, buf, &cuts, i)),
            |part| {
                merge.take(part)?;
                if let Some(h) = offer {
                    h.offer(&mut handed, &mut merge.events);
                }
                Ok(())
            },
        );
        match ran.and_then(|()| merge.finish()) {
            Ok((events, mut stats)) => {
                stats.bytes = self.bytes.size() as u64;
                if let Some((_, out)) = hand {
                    *out = handed;
                }
                Ok((events, stats))
            }
            Err(stop) => {
                if let Some(h) = offer {
                    h.abandon(handed);
                }
                Err(stop)
            }
        }
    }

    fn part(&self, m: &Matcher, scratch: &mut Vec<u8>, cuts: &[usize], i: usize) -> Result<Part, Stop> {
        let (from, to) = (cuts[i], cuts[i + 1]);
        let last = i + 2 == cuts.len();
        // The part's range and, but for the last, what its overrun may read.
        let reach = if last { to } else { to.saturating_add(OVERRUN_BYTES) };
        let bytes = self.bytes.window(from, reach, scratch)?;
        let win = Window { bytes, at: from, to_end: from + bytes.len() == self.bytes.size() };
        let mut st = SourceScan::new(m, self.spec, self.opts);
        st.set_shape(self.shape);
        st.part.buf_at = from;
        if i > 0 {
            st.part.limit = HANDOFF_RECORDS;
            st.part.unstamped = true;
        }
        let keep = st.chunk(&bytes[..to - from], last);
        let lines = st.stats.lines;
        let stamp = st.buffer_stamp;
        let handoff = if last { None } else { overrun(&mut st, self.shape, win, cuts, i, from + keep)? };
        let checkpoints = std::mem::take(&mut st.part.checkpoints);
        let lead = st.part.lead;
        let (events, stats) = st.finish();
        Ok(Part { events, stats, lines, stamp, checkpoints, lead, handoff })
    }
}

/// The bytes one part reads: its range, then its overrun's reach.
#[derive(Clone, Copy)]
struct Window<'w> {
    bytes: &'w [u8],
    /// Offset of `bytes` in the source.
    at: usize,
    /// Whether `bytes` run to the end of the source.
    to_end: bool,
}

impl<'w> Window<'w> {
    /// The window from source offset `from` on.
    fn tail(self, from: usize) -> &'w [u8] {
        &self.bytes[from - self.at..]
    }
}

/// Part boundaries: 0, line starts about `part` apart, the source's end.
fn cuts(bytes: &impl Bytes, part: usize) -> Result<Vec<usize>, Stop> {
    let len = bytes.size();
    let mut cuts = vec![0];
    let mut at = part.max(1);
    while at < len {
        match bytes.line_end_from(at - 1)? {
            Some(cut) if cut < len => cuts.push(cut),
            _ => break,
        }
        at = cuts[cuts.len() - 1] + part.max(1);
    }
    cuts.push(len);
    Ok(cuts)
}

/// Scans on from `carry` (the start of the part's last record) until the
/// part's segmentation agrees with the fresh one of the part it has run
/// into; returns that hand-off, or None at the end of the source.
fn overrun(
    st: &mut SourceScan<'_>,
    shape: FileShape,
    win: Window<'_>,
    cuts: &[usize],
    i: usize,
    carry: usize,
) -> Result<Option<(usize, usize)>, Stop> {
    let reach = win.at + win.bytes.len();
    let region = win.tail(carry);
    let mut hits = Vec::new();
    if !st.opts.no_prefilter {
        st.m.prefilter().hits(region, &mut hits);
    }
    let mut cursor = HitCursor::new(&hits);
    st.part.buf_at = carry;
    // The part whose fresh segmentation we compare with, and its starts.
    // Starts before `reach` do not depend on what follows it: the joiner
    // decides each line on the lines before.
    let mut next = i + 1;
    let mut fresh = fresh_starts(win, shape, cuts[next]);
    let mut seen = 0;
    for span in Segmenter::starting_at_line(region, shape, st.line_base).with_clock(st.carried_clock) {
        let at = carry + span.start;
        while next + 2 < cuts.len() && at >= cuts[next + 1] {
            next += 1;
            fresh = fresh_starts(win, shape, cuts[next]);
            seen = 0;
        }
        if at >= cuts[next] {
            while fresh.peek().is_some_and(|&s| s < at) {
                fresh.next();
                seen += 1;
            }
            if fresh.peek() == Some(&at) {
                return Ok(Some((next, at)));
            }
            if seen >= HANDOFF_RECORDS {
                return Err(Stop::Diverged);
            }
        }
        // A record cut off by the reach may be longer than it looks.
        if !win.to_end && carry + span.end + 1 >= reach {
            return Err(Stop::Diverged);
        }
        st.record(region, shape, span, &mut cursor);
    }
    if win.to_end { Ok(None) } else { Err(Stop::Diverged) }
}

/// Record starts of a segmentation begun afresh at `from`.
fn fresh_starts(
    win: Window<'_>,
    shape: FileShape,
    from: usize,
) -> std::iter::Peekable<impl Iterator<Item = usize> + '_> {
    Segmenter::new(win.tail(from), shape).map(move |s| from + s.start).peekable()
}

/// The stitching of parts, taken one at a time in order: the events so
/// far and what the next part needs from those before it.
#[derive(Default)]
struct Merge {
    /// Events merged and not yet handed off.
    events: Vec<Event>,
    stats: Option<FileStats>,
    /// Parts taken.
    parts: usize,
    /// Lines of the parts taken.
    lines: u64,
    /// The time of the last stamped line so far.
    carried: Option<i64>,
    longest: (u64, u64),
    /// The part that takes over next, and where (None: an earlier part
    /// read to the end).
    next: Option<(usize, usize)>,
    trim: memory::TrimEvery,
}

impl Merge {
    fn new() -> Merge {
        Merge { next: Some((0, 0)), ..Merge::default() }
    }

    /// Adds the next part: what it covers past its hand-off, dated and
    /// numbered as one pass would have.
    fn take(&mut self, mut part: Part) -> Result<(), Stop> {
        let i = self.parts;
        self.parts += 1;
        let from = match self.next {
            Some((_, 0)) if i == 0 => Some(Checkpoint::default()),
            Some((owner, at)) if owner == i => {
                Some(*part.checkpoints.iter().find(|c| c.start == at).ok_or(Stop::Diverged)?)
            }
            // Read by an earlier part's overrun.
            _ => None,
        };
        let mut mined = part.stats.mine.take();
        if let Some(cp) = from {
            let (lines, carried) = (self.lines, self.carried);
            let lead = part.lead.saturating_sub(cp.events);
            self.events.extend(part.events.drain(cp.events.min(part.events.len())..).enumerate().map(|(n, mut e)| {
                if n < lead && e.ts.get().is_none() {
                    e.ts = carried.into();
                }
                e.line += lines;
                e
            }));
            let total = self.stats.get_or_insert_with(|| FileStats {
                records: 0,
                candidates: 0,
                mine: mined.take(),
                ..part.stats.clone()
            });
            total.records += part.stats.records - cp.records;
            total.candidates += part.stats.candidates - cp.candidates;
            if let (Some(total), Some(part)) = (total.mine.as_deref_mut(), mined.as_deref_mut()) {
                total.absorb(part, cp.mined, lines, carried);
            }
            self.next = part.handoff;
        }
        let (line, len) = part.stats.longest_line;
        if len > self.longest.1 {
            self.longest = (line + self.lines, len);
        }
        self.lines += part.lines;
        if let Some(ts) = part.stamp {
            self.carried = ts;
        }
        // Copied into `events`: a one-pass file holds its events once.
        let bytes = part.events.capacity() * std::mem::size_of::<Event>();
        drop(std::mem::take(&mut part.events));
        self.trim.freed(bytes);
        Ok(())
    }

    /// The events not handed off and the source's stats, once every part
    /// is taken.
    fn finish(mut self) -> Result<(Vec<Event>, FileStats), Stop> {
        let mut stats = self.stats.ok_or(Stop::Diverged)?;
        stats.lines = self.lines;
        stats.last_ts = self.carried;
        stats.longest_line = self.longest;
        // Held until correlation: give back what growth by doubling left.
        self.events.shrink_to_fit();
        Ok((self.events, stats))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::input::{MmapChoice, Opened, Origin, classify, open_source};
    use crate::rules::{LoadOptions, load};

    fn spec_for(path: &Path) -> SourceSpec {
        let shown = path.display().to_string();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        SourceSpec { id: 0, meta: classify(&shown, &name), origin: Origin::File(path.to_path_buf()) }
    }

    /// Scans the file of `spec` in streamed parts of `part` bytes, as
    /// `scan` does a live log: no fallback.
    fn try_streamed(
        m: &Matcher,
        spec: &SourceSpec,
        shape: FileShape,
        part: usize,
    ) -> Result<(Vec<Event>, FileStats), Stop> {
        let opts = ScanOptions::default();
        let Ok(Opened::Stream(stream)) = open_source(spec, MmapChoice::Never) else { panic!("not streamed") };
        let bytes = stream.positional().expect("a regular file reads at offsets");
        Streamed { spec, opts: &opts, shape, bytes }.try_scan(m, part, None)
    }

    /// Every fixture cut at (nearly) every line, and at sizes that land
    /// inside stack traces, crash dumps and OOM blocks, mapped and read at
    /// offsets: the hand-off is always found (no fallback) and the events,
    /// lines, records and times are those of one pass.
    #[test]
    fn parts_stitch_into_one_pass_on_every_fixture() {
        let rules = Arc::new(load(&LoadOptions { builtin: true, paths: vec![] }).expect("builtin"));
        let m = Matcher::new(rules);
        let opts = ScanOptions::default();
        let files = crate::fixtures::logs();
        let mut split_files = 0;
        for path in files {
            let bytes = std::fs::read(&path).expect("fixture");
            let spec = spec_for(&path);
            let shape = FileShape::sniff(&bytes, spec.meta.stream);
            if bytes.is_empty() || !shape.splits() {
                continue;
            }
            split_files += 1;
            let mapped = Mapped { spec: &spec, opts: &opts, shape, bytes: &bytes };
            let one = mapped.whole(&m);
            for part in crate::scan::source::tests::cut_sizes(bytes.len(), &[1, 7, 64, 300]) {
                let Ok(split) = mapped.try_scan(&m, part, None) else {
                    panic!("{}: no hand-off in parts of {part}", path.display());
                };
                assert_eq!(format!("{split:?}"), format!("{one:?}"), "{} in parts of {part}", path.display());
                let Ok(streamed) = try_streamed(&m, &spec, shape, part) else {
                    panic!("{}: no hand-off in streamed parts of {part}", path.display());
                };
                assert_eq!(
                    format!("{streamed:?}"),
                    format!("{one:?}"),
                    "{} in streamed parts of {part}",
                    path.display()
                );
            }
        }
        assert!(split_files > 100, "{split_files} fixtures split");
    }

    /// Parts read at offsets find the cuts and windows slicing the whole
    /// file finds, whatever the line lengths: lines of several times the
    /// read step (found by reading on), blank lines, no final line break.
    #[test]
    fn positional_reads_cut_and_window_as_slices_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("api-error.log");
        let spec = spec_for(&path);
        for end in ["\n", ""] {
            let lens = [0, 1, 90, LINE_STEP - 1, LINE_STEP, 3 * LINE_STEP + 5, 40, 0, 70_000, 2];
            let mut text: Vec<u8> = lens.iter().flat_map(|&n| [vec![b'x'; n], vec![b'\n']].concat()).collect();
            text.extend_from_slice(b"last line");
            text.extend_from_slice(end.as_bytes());
            std::fs::write(&path, &text).expect("write");
            let Ok(Opened::Stream(stream)) = open_source(&spec, MmapChoice::Never) else { panic!("not streamed") };
            let file = stream.positional().expect("positional");
            let slice = &text[..];
            let mut scratch = Vec::new();
            for part in [1, 100, LINE_STEP, 50_000] {
                let want = cuts(&slice, part).expect("cuts");
                assert_eq!(cuts(&file, part).expect("cuts"), want, "parts of {part}");
                for (&from, &to) in want.iter().zip(&want[1..]) {
                    for reach in [to, to + 1, to + 30_000, text.len() + 1] {
                        let got = file.window(from, reach, &mut scratch).expect("window").to_vec();
                        assert_eq!(got, slice.window(from, reach, &mut Vec::new()).expect("window"), "{from}..{reach}");
                    }
                }
            }
        }
    }

    /// A file of nothing but indented lines is cut into 1000-line records
    /// counted from its first line; a part starting elsewhere is out of
    /// phase at every record. The overrun gives up after a mebibyte and the
    /// source is scanned again in one pass (mapped) or as a stream.
    #[test]
    fn out_of_phase_parts_fall_back_to_one_pass() {
        let rules = Arc::new(load(&LoadOptions { builtin: true, paths: vec![] }).expect("builtin"));
        let m = Matcher::new(rules);
        let text: String = (0..40_000).map(|i| format!("    at frame{i} (/srv/app/x.js:1:1)\n")).collect();
        let spec = SourceSpec {
            id: 0,
            meta: classify("api-error.log", "api-error.log"),
            origin: Origin::Memory(Arc::from(text.as_bytes())),
        };
        let shape = FileShape::sniff(text.as_bytes(), spec.meta.stream);
        let opts = ScanOptions::default();
        let mapped = Mapped { spec: &spec, opts: &opts, shape, bytes: text.as_bytes() };
        assert!(mapped.try_scan(&m, 50_000, None).is_err());
        let one = mapped.whole(&m);
        assert_eq!(one.1.records, 40);
        let split = mapped.scan(&m, 50_000, None);
        assert_eq!(format!("{split:?}"), format!("{one:?}"));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("api-error.log");
        std::fs::write(&path, &text).expect("write");
        let file = SourceSpec { origin: Origin::File(path), ..spec };
        assert!(matches!(try_streamed(&m, &file, shape, 50_000), Err(Stop::Diverged)));
        let sizes = PartSizes { mapped: 50_000, streamed: 50_000 };
        let read = ScanOptions { mmap: MmapChoice::Never, ..ScanOptions::default() };
        let streamed = crate::scan::source::scan_with(&m, &file, &read, 50_000, Some(sizes)).expect("scan");
        assert_eq!(format!("{:?}", streamed.0), format!("{:?}", one.0));
        assert_eq!((streamed.1.records, streamed.1.bytes), (40, text.len() as u64));
    }

    /// Lines a pm2 log holds: stamped and raw, stack frames, crash dumps,
    /// property blocks, lead-ins, OOM blocks, JSON lines, blank lines; and
    /// applications' own stamps (Python logging, pino, times of day on
    /// both sides of midnight and the full date that dates them).
    const PIECES: &[&str] = &[
        "2026-11-20T10:00:01: App [api:0] exited with code [1] via signal [SIGINT]\n",
        "2026-11-20T10:00:02: Error: listen EADDRINUSE: address already in use :::3000\n",
        "    at Server.setupListenHandle [as _listen2] (node:net:1817:16)\n",
        "  code: 'EADDRINUSE',\n",
        "Error: connect ECONNREFUSED 127.0.0.1:4002\n",
        "/srv/api/server.js:12\n",
        "    throw err;\n",
        "    ^\n",
        "\n",
        "Node.js v20.11.1\n",
        "}\n",
        "{\n",
        "You have triggered an unhandledRejection, you may have forgotten to catch a Promise rejection:\n",
        "<--- Last few GCs --->\n",
        "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n",
        " 1: 0xb85bc0 node::Abort() [node]\n",
        "2026-11-20T10:00:03: IB error -1 1100 Connectivity between IB and Trader Workstation has been lost.\n",
        "{\"message\":\"Error: SQLITE_BUSY: database is locked\\n\",\"timestamp\":\"2026-11-20T10:00:04.000Z\",\"type\":\"err\",\"app_name\":\"api\"}\n",
        "(node:4242) UnhandledPromiseRejectionWarning: Error: boom\n",
        "2026-11-21 02:10:05,644 ib_async.wrapper ERROR Error 1100, reqId -1: Connectivity between IB and Trader Workstation has been lost.\n",
        "{\"level\":50,\"time\":1795168800118,\"pid\":1,\"msg\":\"SQLITE_BUSY: database is locked\"}\n",
        "[11:58:01 PM] [INFO] [TWS]:  Connectivity between IB and Trader Workstation has been lost. - Code: 1100\n",
        "[12:01:30 AM] [INFO] [TWS]:  Connectivity between IB and Trader Workstation has been restored - data maintained. - Code: 1102\n",
        "2026-11-20T23:57:40.120Z bridge: starting\n",
        "no newline at the end",
    ];

    static MATCHER: std::sync::LazyLock<Matcher> = std::sync::LazyLock::new(|| {
        Matcher::new(Arc::new(load(&LoadOptions { builtin: true, paths: vec![] }).expect("builtin")))
    });

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Any log from those lines, cut into parts of any size (threads;
        /// mapped, or read at offsets) or chunks of any size (streaming),
        /// gives exactly the events and counts of one pass.
        #[test]
        fn any_split_equals_one_pass(
            picks in proptest::collection::vec(0..PIECES.len(), 1..120),
            part in 1usize..400,
            chunk in 1usize..400,
            daemon in proptest::bool::ANY,
        ) {
            let text: String = picks.iter().map(|&i| PIECES[i]).collect();
            let name = if daemon { "pm2.log" } else { "api-error.log" };
            let spec = SourceSpec {
                id: 0,
                meta: classify(name, name),
                origin: Origin::Memory(Arc::from(text.as_bytes())),
            };
            let m = &*MATCHER;
            let opts = ScanOptions::default();
            let shape = FileShape::sniff(text.as_bytes(), spec.meta.stream);
            let mapped = Mapped { spec: &spec, opts: &opts, shape, bytes: text.as_bytes() };
            let one = format!("{:?}", mapped.whole(m));
            // A file of times of day is never split (`FileShape::splits`).
            if shape.splits() {
                let split = mapped.try_scan(m, part, None).map(|r| format!("{r:?}"));
                proptest::prop_assert!(split.is_ok(), "no hand-off in parts of {part}");
                proptest::prop_assert_eq!(split.unwrap_or_default(), one.clone());
            }
            // Streaming needs a file: memory sources are always whole.
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join(name);
            std::fs::write(&path, &text).expect("write");
            let file = SourceSpec { origin: Origin::File(path), ..spec.clone() };
            let read = ScanOptions { mmap: crate::input::MmapChoice::Never, ..ScanOptions::default() };
            let streamed = crate::scan::source::scan_with(m, &file, &read, chunk, None).map(|r| format!("{r:?}"));
            proptest::prop_assert_eq!(streamed.unwrap_or_default(), one.clone());
            // Parts read at their offsets, as a live log is split; a file
            // that does not split is read as a stream in chunks instead.
            if shape.splits() {
                let split = try_streamed(m, &file, shape, part).map(|r| format!("{r:?}"));
                proptest::prop_assert!(split.is_ok(), "no hand-off in streamed parts of {part}");
                proptest::prop_assert_eq!(split.unwrap_or_default(), one);
            } else {
                let sizes = Some(PartSizes { mapped: part, streamed: part });
                let scanned = crate::scan::source::scan_with(m, &file, &read, chunk, sizes).map(|r| format!("{r:?}"));
                proptest::prop_assert_eq!(scanned.unwrap_or_default(), one);
            }
        }
    }
}
