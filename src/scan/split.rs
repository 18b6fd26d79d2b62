//! One large mapped source across every worker: the buffer is cut into
//! parts at line starts, each part is scanned on its own, and the parts'
//! events are stitched back into exactly what one pass would have found.
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
//! Where no hand-off is found within reach (a file of nothing but
//! continuation lines, out of phase at every cut), the source is scanned
//! again in one pass: slower, never wrong.

use rayon::prelude::*;

use crate::input::SourceSpec;
use crate::matcher::{Event, HitCursor, Matcher};
use crate::records::{FileShape, Segmenter};
use crate::summary::FileStats;

use super::ScanOptions;
use super::source::{Checkpoint, SourceScan};

/// Parts are about this large: big enough that the overrun and the merge
/// cost nothing, small enough that files of uneven size share the cores.
pub const PART: usize = 32 << 20;
/// Record starts a part logs; the hand-off must come within them.
const HANDOFF_RECORDS: usize = 64;
/// How far past its end a part reads, at most, looking for the hand-off.
const OVERRUN_BYTES: usize = 1 << 20;

/// What one part found.
struct Part {
    events: Vec<Event>,
    stats: FileStats,
    /// Lines in the part's own range.
    lines: u64,
    /// The last stamp in the part's own range.
    stamp: Option<i64>,
    checkpoints: Vec<Checkpoint>,
    lead: usize,
    /// Where the next part takes over: `(part, offset)`; None when this
    /// part read to the end of the source.
    handoff: Option<(usize, usize)>,
}

/// The overrun went too far without a hand-off.
struct Diverged;

/// A source mapped whole, and how to scan it.
#[derive(Clone, Copy)]
pub struct Mapped<'a> {
    /// The source.
    pub spec: &'a SourceSpec,
    /// Scan options.
    pub opts: &'a ScanOptions,
    /// What its first lines said.
    pub shape: FileShape,
    /// All of its bytes.
    pub buf: &'a [u8],
}

impl Mapped<'_> {
    /// Scans in parts of about `part` bytes on the current rayon pool.
    pub fn scan(self, m: &Matcher, part: usize) -> (Vec<Event>, FileStats) {
        self.try_scan(m, part).unwrap_or_else(|Diverged| self.whole(m))
    }

    /// [`Mapped::scan`] without the one-pass fallback.
    fn try_scan(self, m: &Matcher, part: usize) -> Result<(Vec<Event>, FileStats), Diverged> {
        let cuts = cuts(self.buf, part);
        let parts: Vec<Part> = (0..cuts.len() - 1)
            .into_par_iter()
            .map_init(|| m.clone(), |m, i| self.part(m, &cuts, i))
            .collect::<Result<_, _>>()?;
        let (events, mut stats) = merge(parts)?;
        stats.bytes = self.buf.len() as u64;
        Ok((events, stats))
    }

    /// One pass over the whole buffer.
    pub fn whole(self, m: &Matcher) -> (Vec<Event>, FileStats) {
        let mut st = SourceScan::new(m, self.spec, self.opts);
        st.set_shape(self.shape);
        st.chunk(self.buf, true);
        st.finish()
    }

    fn part(self, m: &Matcher, cuts: &[usize], i: usize) -> Result<Part, Diverged> {
        let (from, to) = (cuts[i], cuts[i + 1]);
        let last = i + 2 == cuts.len();
        let mut st = SourceScan::new(m, self.spec, self.opts);
        st.set_shape(self.shape);
        st.part.buf_at = from;
        if i > 0 {
            st.part.limit = HANDOFF_RECORDS;
            st.part.unstamped = true;
        }
        let keep = st.chunk(&self.buf[from..to], last);
        let lines = st.stats.lines;
        let stamp = st.buffer_stamp;
        let handoff = if last { None } else { overrun(&mut st, self.shape, self.buf, cuts, i, from + keep)? };
        let checkpoints = std::mem::take(&mut st.part.checkpoints);
        let lead = st.part.lead;
        let (events, stats) = st.finish();
        Ok(Part { events, stats, lines, stamp, checkpoints, lead, handoff })
    }
}

/// Part boundaries: 0, line starts about `part` apart, `buf.len()`.
fn cuts(buf: &[u8], part: usize) -> Vec<usize> {
    let mut cuts = vec![0];
    let mut at = part.max(1);
    while at < buf.len() {
        match memchr::memchr(b'\n', &buf[at - 1..]) {
            Some(i) if at + i < buf.len() => cuts.push(at + i),
            _ => break,
        }
        at = cuts[cuts.len() - 1] + part.max(1);
    }
    cuts.push(buf.len());
    cuts
}

/// Scans on from `carry` (the start of the part's last record) until the
/// part's segmentation agrees with the fresh one of the part it has run
/// into; returns that hand-off, or None at the end of the source.
fn overrun(
    st: &mut SourceScan<'_>,
    shape: FileShape,
    buf: &[u8],
    cuts: &[usize],
    i: usize,
    carry: usize,
) -> Result<Option<(usize, usize)>, Diverged> {
    let reach = line_end(buf, cuts[i + 1].saturating_add(OVERRUN_BYTES));
    let region = &buf[carry..reach];
    let mut hits = Vec::new();
    if !st.opts.no_prefilter {
        st.m.prefilter().hits(region, &mut hits);
    }
    let mut cursor = HitCursor::new(&hits);
    st.part.buf_at = carry;
    // The part whose fresh segmentation we compare with, and its starts.
    let mut next = i + 1;
    let mut fresh = fresh_starts(buf, shape, cuts[next]);
    let mut seen = 0;
    let at_eof = reach == buf.len();
    for span in Segmenter::starting_at_line(region, shape, st.line_base) {
        let at = carry + span.start;
        while next + 2 < cuts.len() && at >= cuts[next + 1] {
            next += 1;
            fresh = fresh_starts(buf, shape, cuts[next]);
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
                return Err(Diverged);
            }
        }
        // A record cut off by the reach may be longer than it looks.
        if !at_eof && carry + span.end + 1 >= reach {
            return Err(Diverged);
        }
        st.record(region, shape, span, &mut cursor);
    }
    if at_eof { Ok(None) } else { Err(Diverged) }
}

/// Record starts of a segmentation begun afresh at `from`.
fn fresh_starts(buf: &[u8], shape: FileShape, from: usize) -> std::iter::Peekable<impl Iterator<Item = usize> + '_> {
    Segmenter::new(&buf[from..], shape).map(move |s| from + s.start).peekable()
}

/// End of the line holding `at` (or the end of the buffer).
fn line_end(buf: &[u8], at: usize) -> usize {
    if at >= buf.len() {
        return buf.len();
    }
    memchr::memchr(b'\n', &buf[at..]).map_or(buf.len(), |i| at + i + 1)
}

/// Stitches the parts back together in order.
fn merge(parts: Vec<Part>) -> Result<(Vec<Event>, FileStats), Diverged> {
    let mut events = Vec::with_capacity(parts.iter().map(|p| p.events.len()).sum());
    let mut stats: Option<FileStats> = None;
    let mut lines = 0;
    let mut carried = None;
    let mut longest = (0, 0);
    // The part that takes over next, and where (None: an earlier part
    // read to the end).
    let mut next: Option<(usize, usize)> = Some((0, 0));
    for (i, mut part) in parts.into_iter().enumerate() {
        let from = match next {
            Some((_, 0)) if i == 0 => Some(Checkpoint::default()),
            Some((owner, at)) if owner == i => Some(*part.checkpoints.iter().find(|c| c.start == at).ok_or(Diverged)?),
            // Read by an earlier part's overrun.
            _ => None,
        };
        if let Some(cp) = from {
            let mut evs = part.events.split_off(cp.events);
            let lead = part.lead.saturating_sub(cp.events);
            for e in evs.iter_mut().take(lead).filter(|e| e.ts.is_none()) {
                e.ts = carried;
            }
            for e in &mut evs {
                e.line += lines;
            }
            events.extend(evs);
            let total = stats.get_or_insert_with(|| FileStats { records: 0, candidates: 0, ..part.stats.clone() });
            total.records += part.stats.records - cp.records;
            total.candidates += part.stats.candidates - cp.candidates;
            next = part.handoff;
        }
        let (line, len) = part.stats.longest_line;
        if len > longest.1 {
            longest = (line + lines, len);
        }
        lines += part.lines;
        carried = part.stamp.or(carried);
    }
    let mut stats = stats.ok_or(Diverged)?;
    stats.lines = lines;
    stats.last_ts = carried;
    stats.longest_line = longest;
    Ok((events, stats))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::input::{Origin, classify};
    use crate::rules::{LoadOptions, load};

    fn spec_for(path: &Path) -> SourceSpec {
        let shown = path.display().to_string();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        SourceSpec { id: 0, meta: classify(&shown, &name), origin: Origin::File(path.to_path_buf()) }
    }

    /// Every fixture cut at (nearly) every line, and at sizes that land
    /// inside stack traces, crash dumps and OOM blocks: the hand-off is
    /// always found (no one-pass fallback) and the events, lines, records
    /// and times are those of one pass.
    #[test]
    fn parts_stitch_into_one_pass_on_every_fixture() {
        let rules = Arc::new(load(&LoadOptions { builtin: true, paths: vec![] }).expect("builtin"));
        let m = Matcher::new(rules);
        let opts = ScanOptions::default();
        let mut files = Vec::new();
        crate::scan::source::tests::logs_under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"), &mut files);
        let mut split_files = 0;
        for path in files {
            let bytes = std::fs::read(&path).expect("fixture");
            let spec = spec_for(&path);
            let shape = FileShape::sniff(&bytes, spec.meta.stream);
            if bytes.is_empty() || shape.pm2_logs {
                continue;
            }
            split_files += 1;
            let mapped = Mapped { spec: &spec, opts: &opts, shape, buf: &bytes };
            let one = mapped.whole(&m);
            for part in [1, 7, 64, 300] {
                let Ok(split) = mapped.try_scan(&m, part) else {
                    panic!("{}: no hand-off in parts of {part}", path.display());
                };
                assert_eq!(format!("{split:?}"), format!("{one:?}"), "{} in parts of {part}", path.display());
            }
        }
        assert!(split_files > 100, "{split_files} fixtures split");
    }

    /// A file of nothing but indented lines is cut into 1000-line records
    /// counted from its first line; a part starting elsewhere is out of
    /// phase at every record. The overrun gives up after a mebibyte and the
    /// source is scanned again in one pass.
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
        let mapped = Mapped { spec: &spec, opts: &opts, shape, buf: text.as_bytes() };
        assert!(mapped.try_scan(&m, 50_000).is_err());
        let one = mapped.whole(&m);
        assert_eq!(one.1.records, 40);
        let split = mapped.scan(&m, 50_000);
        assert_eq!(format!("{split:?}"), format!("{one:?}"));
    }

    /// Lines a pm2 log holds: stamped and raw, stack frames, crash dumps,
    /// property blocks, lead-ins, OOM blocks, JSON lines, blank lines.
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
        "no newline at the end",
    ];

    static MATCHER: std::sync::LazyLock<Matcher> = std::sync::LazyLock::new(|| {
        Matcher::new(Arc::new(load(&LoadOptions { builtin: true, paths: vec![] }).expect("builtin")))
    });

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Any log from those lines, cut into parts of any size (threads)
        /// or chunks of any size (streaming), gives exactly the events and
        /// counts of one pass.
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
            let mapped = Mapped { spec: &spec, opts: &opts, shape, buf: text.as_bytes() };
            let one = format!("{:?}", mapped.whole(m));
            let split = mapped.try_scan(m, part).map(|r| format!("{r:?}"));
            proptest::prop_assert!(split.is_ok(), "no hand-off in parts of {part}");
            proptest::prop_assert_eq!(split.unwrap_or_default(), one.clone());
            // Streaming needs a file: memory sources are always whole.
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join(name);
            std::fs::write(&path, &text).expect("write");
            let file = SourceSpec { origin: Origin::File(path), ..spec.clone() };
            let read = ScanOptions { mmap: crate::input::MmapChoice::Never, ..ScanOptions::default() };
            let streamed = crate::scan::source::scan_with(m, &file, &read, chunk, None).map(|r| format!("{r:?}"));
            proptest::prop_assert_eq!(streamed.unwrap_or_default(), one);
        }
    }
}
