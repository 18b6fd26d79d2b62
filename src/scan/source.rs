//! One source, start to end: how its bytes arrive (mapped whole, or
//! streamed in chunks so memory stays bounded), each buffer scanned by
//! `part::SourceScan` (the prefilter, records in order, only the records
//! holding a hit built and confirmed). Hands on the source's events and
//! its [`FileStats`].
//!
//! A streamed chunk ends at its last line break; its last record may go on
//! in the next chunk, so it is carried over and segmented again there, from
//! its first line (a record's first line starts the joiner afresh). The
//! time of the last stamped line before it travels along, for records
//! written raw between stamped lines, and so does the clock of a file of
//! times of day (the date they belong to).
//!
//! On a pool of several workers a large source goes to `split` instead:
//! a mapped one whole, a streamed regular file once its head has been read
//! through the stream (binary probe, shape sniff). The stream stays open:
//! when the split fails, it reads on from the head. A file of times of day
//! is never split: each of its stamps is dated by all the stamps before it.

use crate::input::{self, ChunkStream, Opened, Skip, SourceSpec};
use crate::matcher::{Event, Matcher};
use crate::records::FileShape;
use crate::summary::{FileStats, HELD_LINE};

use super::ScanOptions;
use super::handoff::{Handoff, SourceEvents};
pub use super::part::CHUNK;
use super::part::{SourceScan, modified};
use super::split::{self, PartSizes};

// `watch` keeps a source's scan open between reads; it drives this
// module's `SourceScan`, so it lives beside it.
pub mod follow;

/// What of a file to be split is read as a stream first: enough for the
/// binary probe and, mostly, the shape sniff. It is held while the parts
/// run (the stream reads on from it should they fail), so it is small.
const HEAD: usize = 64 << 10;

/// Scans `spec`, handing the events to `hand` as they go: a streamed
/// source read whole offers them after each chunk, a split source after
/// each part it merges, every source its last ones when it ends. A large source (mapped, or a regular file streamed)
/// is split across the current rayon pool's workers, unless the scan runs
/// on one thread.
pub(super) fn scan_handing(
    m: &Matcher,
    spec: &SourceSpec,
    opts: &ScanOptions,
    hand: &Handoff<'_>,
) -> Result<(SourceEvents, FileStats), Skip> {
    let parallel = opts.threads != Some(1) && rayon::current_num_threads() > 1;
    let mut out = SourceEvents::default();
    let (events, stats) = scan_into(m, spec, opts, CHUNK, parallel.then_some(split::PARTS), Some((hand, &mut out)))?;
    hand.finish(&mut out, events);
    Ok((out, stats))
}

/// [`scan_handing`] with a given chunk size for streamed sources and, when it may
/// split a source, part sizes (tests use tiny ones).
pub fn scan_with(
    m: &Matcher,
    spec: &SourceSpec,
    opts: &ScanOptions,
    chunk: usize,
    parts: Option<PartSizes>,
) -> Result<(Vec<Event>, FileStats), Skip> {
    scan_into(m, spec, opts, chunk, parts, None)
}

/// [`scan_with`], offering the events to a hand-off as a stream goes.
fn scan_into(
    m: &Matcher,
    spec: &SourceSpec,
    opts: &ScanOptions,
    chunk: usize,
    parts: Option<PartSizes>,
    hand: Option<(&Handoff<'_>, &mut SourceEvents)>,
) -> Result<(Vec<Event>, FileStats), Skip> {
    match input::open_source(spec, opts.mmap)? {
        Opened::Whole(hay) => {
            let shape = FileShape::sniff(&hay, spec.meta.stream).with_reference(|| modified(spec));
            let mapped = split::Mapped { spec, opts, shape, bytes: &hay };
            let (events, mut stats) = match parts.map(|p| p.mapped) {
                Some(part) if hay.len() >= 2 * part && shape.splits() => mapped.scan(m, part, hand),
                _ => mapped.whole(m),
            };
            stats.nul_bytes = hay.nul_bytes();
            Ok((events, stats))
        }
        Opened::Stream(stream) => {
            let part = parts.map(|p| p.streamed.max(1));
            // Only a regular file can be read at offsets; below two parts
            // a split gains nothing.
            let part = part.filter(|&p| stream.positional().is_some_and(|f| f.len() >= 2 * p));
            streamed(SourceScan::new(m, spec, opts), stream, chunk.max(1), part, hand)
        }
    }
}

/// Reads a source in order, `chunk` bytes at a time, or, given a `part`
/// size, reads only its head that way and scans the rest in parts (`split`).
/// Either way the head goes through the stream's checks (empty, binary)
/// and the shape sniff exactly as a wholly streamed file's first chunk.
/// Should the split fail (the file shrank under it, or no hand-off), the
/// stream reads on from its head and says how far the file went.
fn streamed(
    mut st: SourceScan<'_>,
    mut stream: ChunkStream,
    chunk: usize,
    mut part: Option<usize>,
    mut hand: Option<(&Handoff<'_>, &mut SourceEvents)>,
) -> Result<(Vec<Event>, FileStats), Skip> {
    let mut buf = Vec::new();
    let mut step = if part.is_some() { HEAD.min(chunk) } else { chunk };
    loop {
        let want = buf.len() + step;
        let mut eof = stream.fill(&mut buf, want)?;
        step = chunk;
        if st.shape.is_none() {
            // Sniffed on what there is once a line is too long to hold.
            if !eof && !FileShape::can_sniff(&buf) && buf.len() <= HELD_LINE {
                continue;
            }
            st.sniff(&buf);
        }
        if !eof
            && let Some(part) = part.take()
            && let Some(done) = split_after_head(&st, &stream, part, hand.as_mut().map(|(h, out)| (*h, &mut **out)))
        {
            return Ok(done);
        }
        // A saved `pm2 logs` capture names files in section headers
        // far above their records: read it whole (such files are small).
        if !eof && st.shape.is_some_and(|s| s.pm2_logs) {
            continue;
        }
        if !eof {
            eof = cut_long_line(&mut st, &mut stream, &mut buf, chunk)?;
        }
        let cut = match (eof, memchr::memrchr(b'\n', &buf)) {
            (true, _) => buf.len(),
            (false, Some(i)) => i + 1,
            // One line longer than the buffer: read on.
            (false, None) => continue,
        };
        let keep = st.chunk(&buf[..cut], eof);
        // Read whole (not split): its events so far are final.
        if let Some((hand, to)) = hand.as_mut() {
            hand.offer(to, &mut st.events);
        }
        if eof {
            break;
        }
        buf.drain(..keep);
    }
    st.stats.partial = stream.partial();
    st.stats.nul_bytes = stream.nul_bytes();
    Ok(st.finish())
}

/// Keeps a line that has grown past [`HELD_LINE`] without a break at that
/// length: reads past the rest of it, then goes on with the next line as
/// if the line had ended there. Returns whether the stream ended.
fn cut_long_line(
    st: &mut SourceScan<'_>,
    stream: &mut ChunkStream,
    buf: &mut Vec<u8>,
    chunk: usize,
) -> Result<bool, Skip> {
    let start = memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1);
    if buf.len() - start <= HELD_LINE {
        return Ok(false);
    }
    let line = st.line_base + memchr::memchr_iter(b'\n', &buf[..start]).count() as u64 + 1;
    // Bytes of the line read past: no buffer holds them, yet they are the
    // file's.
    let mut past = (buf.len() - start - HELD_LINE) as u64;
    buf.truncate(start + HELD_LINE);
    let mut rest = Vec::new();
    let eof = loop {
        rest.clear();
        let eof = stream.fill(&mut rest, chunk)?;
        if let Some(i) = memchr::memchr(b'\n', &rest) {
            past += i as u64;
            buf.extend_from_slice(&rest[i..]);
            break eof;
        }
        past += rest.len() as u64;
        if eof {
            break true;
        }
    };
    st.stats.bytes += past;
    st.stats.cut_line(line, HELD_LINE as u64 + past);
    Ok(eof)
}

/// Scans a streamed file whose head has been sniffed in parts read at
/// their offsets. None for a file that does not split (see
/// [`FileShape::splits`]), or when the split failed.
fn split_after_head(
    st: &SourceScan<'_>,
    stream: &ChunkStream,
    part: usize,
    hand: Option<split::Hand<'_, '_>>,
) -> Option<(Vec<Event>, FileStats)> {
    let shape = st.shape.filter(FileShape::splits)?;
    let parts = split::Streamed { spec: st.spec, opts: st.opts, shape, bytes: stream.positional()? };
    parts.scan(st.m, part, hand)
}

#[cfg(test)]
pub(super) mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use super::*;
    use crate::input::{MmapChoice, Origin, classify};
    use crate::rules::{LoadOptions, load};

    /// `sizes`, each raised so that a file of `len` bytes is cut into at
    /// most [`MAX_CUTS`] pieces: the hand-written fixtures are cut at every
    /// byte, and the recorded logs (up to a few hundred KiB each) still at
    /// thousands of places, without a 1-byte pass over megabytes.
    pub(in crate::scan) fn cut_sizes(len: usize, sizes: &[usize]) -> Vec<usize> {
        let floor = len / MAX_CUTS;
        let mut out: Vec<usize> = sizes.iter().map(|&s| s.max(floor).max(1)).collect();
        out.dedup();
        out
    }

    /// See [`cut_sizes`].
    const MAX_CUTS: usize = 4096;

    /// Streaming in chunks of any size finds exactly the events and counts
    /// of one pass over the whole file: records cut by a chunk boundary
    /// are carried over, and times of raw lines travel with them.
    #[test]
    fn chunked_scan_equals_whole_scan_on_every_fixture() {
        let rules = Arc::new(load(&LoadOptions { builtin: true, paths: vec![] }).expect("builtin"));
        let m = Matcher::new(rules);
        let files = crate::fixtures::logs();
        assert!(files.len() > 100, "{} fixture logs", files.len());
        for path in files {
            let shown = path.display().to_string();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let spec = SourceSpec { id: 0, meta: classify(&shown, &name), origin: Origin::File(path.clone()) };
            let whole_opts = ScanOptions { mmap: MmapChoice::Always, ..ScanOptions::default() };
            let whole = scan_with(&m, &spec, &whole_opts, CHUNK, None);
            let read_opts = ScanOptions { mmap: MmapChoice::Never, ..ScanOptions::default() };
            let len = std::fs::metadata(&path).map_or(0, |m| m.len() as usize);
            for chunk in cut_sizes(len, &[1, 5, 64, 1000]) {
                let chunked = scan_with(&m, &spec, &read_opts, chunk, None);
                assert_eq!(format!("{chunked:?}"), format!("{whole:?}"), "{shown} in chunks of {chunk}");
            }
            let part = cut_sizes(len, &[64])[0];
            let parts = Some(PartSizes { mapped: part, streamed: part });
            let split = scan_with(&m, &spec, &whole_opts, CHUNK, parts);
            assert_eq!(format!("{split:?}"), format!("{whole:?}"), "{shown} in parts of {part}");
            let split = scan_with(&m, &spec, &read_opts, part, parts);
            assert_eq!(format!("{split:?}"), format!("{whole:?}"), "{shown} streamed in parts of {part}");
        }
    }

    fn matcher() -> Matcher {
        Matcher::new(Arc::new(load(&LoadOptions { builtin: true, paths: vec![] }).expect("builtin")))
    }

    fn live_spec(path: &Path) -> SourceSpec {
        let shown = path.display().to_string();
        SourceSpec { id: 0, meta: classify(&shown, "api-error.log"), origin: Origin::File(path.to_path_buf()) }
    }

    /// The hand-written fixture logs but `pm2 logs` captures and binary
    /// files, one after another, as a live `api-error.log`: far over 200
    /// lines, so its shape is known before its end and a scan may split it.
    /// (The recorded lab and the excerpts are left out: megabytes read a
    /// byte at a time.) Returns its path and bytes.
    fn long_live_log(dir: &Path) -> (PathBuf, Vec<u8>) {
        let mut files = crate::fixtures::logs();
        files.retain(|p| !p.components().any(|c| c.as_os_str() == "recorded" || c.as_os_str() == "excerpts"));
        let bytes: Vec<u8> = files
            .iter()
            .map(|p| std::fs::read(p).expect("fixture"))
            .filter(|b| !b.contains(&0) && !FileShape::sniff(b, input::Stream::Err).pm2_logs)
            .flatten()
            .collect();
        assert!(memchr::memchr_iter(b'\n', &bytes).count() > 2000);
        let path = dir.join("api-error.log");
        std::fs::write(&path, &bytes).expect("write");
        (path, bytes)
    }

    /// A live log split into parts read at their offsets, after its head
    /// was streamed and sniffed, gives what one pass over it gives; at
    /// every part size, whatever the chunk its head was read in.
    #[test]
    fn streamed_parts_equal_a_whole_scan() {
        let m = matcher();
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, _) = long_live_log(dir.path());
        let spec = live_spec(&path);
        let whole =
            scan_with(&m, &spec, &ScanOptions { mmap: MmapChoice::Always, ..ScanOptions::default() }, CHUNK, None);
        let read_opts = ScanOptions { mmap: MmapChoice::Never, ..ScanOptions::default() };
        for (chunk, part) in [(1, 1), (64, 7), (1000, 300), (100, 4096), (CHUNK, 2000)] {
            let split = scan_with(&m, &spec, &read_opts, chunk, Some(PartSizes { mapped: CHUNK, streamed: part }));
            assert_eq!(format!("{split:?}"), format!("{whole:?}"), "chunks of {chunk}, parts of {part}");
        }
    }

    /// Unknown-error mining gives the same tally (keys, counts, times,
    /// samples, held records, every record's entry) whether a source is
    /// read whole, in chunks, or split into parts: a later part's
    /// occurrences wait for the merge, which drops what an earlier part
    /// covered and dates its lead records.
    #[test]
    fn mining_is_the_same_whole_chunked_and_split() {
        let m = matcher();
        let mine = Some(crate::mine::MineOptions { mode: crate::mine::Mode::All, log: true });
        let tally = |r: Result<(Vec<Event>, crate::summary::FileStats), input::Skip>| {
            r.map(|(_, stats)| format!("{:?}", stats.mine)).unwrap_or_default()
        };
        for path in crate::fixtures::logs() {
            let shown = path.display().to_string();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let spec = SourceSpec { id: 0, meta: classify(&shown, &name), origin: Origin::File(path.clone()) };
            let whole_opts = ScanOptions { mmap: MmapChoice::Always, mine, ..ScanOptions::default() };
            let whole = tally(scan_with(&m, &spec, &whole_opts, CHUNK, None));
            let read_opts = ScanOptions { mmap: MmapChoice::Never, mine, ..ScanOptions::default() };
            let len = std::fs::metadata(&path).map_or(0, |m| m.len() as usize);
            for chunk in cut_sizes(len, &[7, 1000]) {
                let chunked = tally(scan_with(&m, &spec, &read_opts, chunk, None));
                assert_eq!(chunked, whole, "{shown} in chunks of {chunk}");
            }
            let part = cut_sizes(len, &[64])[0];
            let parts = Some(PartSizes { mapped: part, streamed: part });
            let split = tally(scan_with(&m, &spec, &whole_opts, CHUNK, parts));
            assert_eq!(split, whole, "{shown} in parts of {part}");
        }
    }

    /// A budget of `budget` bytes spilling to `dir`, and the hand-off to it.
    fn spill_to(dir: &Path, budget: usize) -> crate::spill::Spill {
        crate::spill::Spill::new(crate::spill::Budget { bytes: budget as u64, dir: Some(dir.to_path_buf()) })
    }

    /// `spec` scanned as `scan_handing` does it, into `spill`: the events
    /// handed off (spilled, then held) read back in order, the facts
    /// gathered, the stats.
    fn handed(
        m: &Matcher,
        spec: &SourceSpec,
        opts: &ScanOptions,
        chunk: usize,
        parts: Option<PartSizes>,
        spill: &crate::spill::Spill,
    ) -> (Vec<Event>, String, FileStats, usize) {
        let filters = crate::filter::Filters::default();
        let hand = Handoff { spill, filters: &filters };
        let mut out = SourceEvents::default();
        let (events, stats) = scan_into(m, spec, opts, chunk, parts, Some((&hand, &mut out))).expect("scan");
        hand.finish(&mut out, events);
        let chunks = out.held.chunks.len();
        let read: Vec<Event> = out.held.read(spill).flat_map(|c| c.expect("read back")).collect();
        (read, format!("{:?}", out.facts), stats, chunks)
    }

    /// A split source hands its events off as its parts are merged: with
    /// every event spilling (budget 0), in tiny parts, mapped and read at
    /// offsets, on two workers, the events read back, the facts gathered
    /// from them and the stats are those of one pass handed off whole;
    /// and they went out in many chunks, not once at the end.
    #[test]
    fn parts_handed_off_as_they_merge_are_one_pass() {
        let m = matcher();
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, _) = long_live_log(dir.path());
        let spec = live_spec(&path);
        let mapped = ScanOptions { mmap: MmapChoice::Always, ..ScanOptions::default() };
        let read = ScanOptions { mmap: MmapChoice::Never, ..ScanOptions::default() };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("pool");
        let one_spill = spill_to(dir.path(), 0);
        let one = handed(&m, &spec, &mapped, CHUNK, None, &one_spill);
        assert_eq!(one.3, one.0.len().div_ceil(crate::spill::CHUNK_EVENTS), "one pass spills once, at its end");
        let want = format!("{:?}", (&one.0, &one.1, &one.2));
        for (opts, chunk, part) in
            [(&mapped, CHUNK, 300), (&mapped, CHUNK, 4096), (&read, 1000, 700), (&read, 64, 5000)]
        {
            let spill = spill_to(dir.path(), 0);
            let sizes = Some(PartSizes { mapped: part, streamed: part });
            let split = pool.install(|| handed(&m, &spec, opts, chunk, sizes, &spill));
            assert_eq!(format!("{:?}", (&split.0, &split.1, &split.2)), want, "{:?} in parts of {part}", opts.mmap);
            assert!(split.3 > 10 * one.3, "{} chunks: handed off as the parts merged", split.3);
            assert_eq!(spill.held(), 0, "every event spilled");
        }
    }

    /// Under the budget nothing is written: a split source's events are
    /// held whole, as one pass's are, and counted once against the budget.
    #[test]
    fn a_split_source_under_the_budget_is_held() {
        let m = matcher();
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, _) = long_live_log(dir.path());
        let spec = live_spec(&path);
        let read = ScanOptions { mmap: MmapChoice::Never, ..ScanOptions::default() };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("pool");
        let one = handed(&m, &spec, &read, CHUNK, None, &spill_to(dir.path(), 1 << 30));
        let spill = spill_to(dir.path(), 1 << 30);
        let sizes = Some(PartSizes { mapped: 500, streamed: 500 });
        let split = pool.install(|| handed(&m, &spec, &read, 100, sizes, &spill));
        assert_eq!(format!("{:?}", (&split.0, &split.1, &split.2)), format!("{:?}", (&one.0, &one.1, &one.2)));
        assert_eq!((split.3, spill.written(), spill.active()), (0, 0, false), "nothing spilled");
        assert_eq!(spill.held(), crate::spill::weight(&split.0));
    }

    /// A split that stops after it handed batches off (no hand-off found
    /// past the first parts; a file that shrank under the scan) gives them
    /// up, and the pass or stream that takes over hands off each event
    /// once: the events read back are exactly one pass's, and only the
    /// events held count against the budget.
    #[test]
    fn a_split_that_stops_after_handing_off_gives_one_pass() {
        let m = matcher();
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, mut bytes) = long_live_log(dir.path());
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("pool");
        let filters = crate::filter::Filters::default();
        let sizes = Some(PartSizes { mapped: 20_000, streamed: 20_000 });
        // Out of phase at every cut past the fixtures (see
        // `split::tests::out_of_phase_parts_fall_back_to_one_pass`).
        let frames: String = (0..40_000).map(|i| format!("    at frame{i} (/srv/app/x.js:1:1)\n")).collect();
        let diverges = dir.path().join("diverges");
        std::fs::create_dir(&diverges).expect("dir");
        let diverging = diverges.join("api-error.log");
        bytes.extend_from_slice(frames.as_bytes());
        std::fs::write(&diverging, &bytes).expect("write");
        for opts in [MmapChoice::Always, MmapChoice::Never] {
            let opts = ScanOptions { mmap: opts, ..ScanOptions::default() };
            let spec = live_spec(&diverging);
            let one = handed(&m, &spec, &opts, CHUNK, None, &spill_to(dir.path(), 0));
            // The split alone: batches went out, then it stopped and gave
            // them up.
            let spill = spill_to(dir.path(), 0);
            let hand = Handoff { spill: &spill, filters: &filters };
            let mut out = SourceEvents::default();
            pool.install(|| scan_into(&m, &spec, &opts, 1000, sizes, Some((&hand, &mut out)))).expect("scan");
            assert!(spill.written() > 0, "{:?}: handed off before it stopped", opts.mmap);
            let split = pool.install(|| handed(&m, &spec, &opts, 1000, sizes, &spill_to(dir.path(), 0)));
            assert_eq!(format!("{:?}", (&split.0, &split.1)), format!("{:?}", (&one.0, &one.1)), "{:?}", opts.mmap);
            assert_eq!(format!("{:?}", split.2), format!("{:?}", one.2));
        }
        // A file that shrinks once the split has read its first parts.
        let spec = live_spec(&path);
        let left = memchr::memchr_iter(b'\n', &bytes).nth(3000).expect("3000 lines") + 1;
        let read_opts = ScanOptions { mmap: MmapChoice::Never, ..ScanOptions::default() };
        std::fs::write(&path, &bytes[..left]).expect("write");
        let prefix = handed(&m, &spec, &read_opts, CHUNK, None, &spill_to(dir.path(), 0));
        std::fs::write(&path, &bytes).expect("write");
        let spill = spill_to(dir.path(), 0);
        let hand = Handoff { spill: &spill, filters: &filters };
        let mut out = SourceEvents::default();
        let Ok(Opened::Stream(stream)) = input::open_source(&spec, MmapChoice::Never) else { panic!("not streamed") };
        std::fs::File::options().write(true).open(&path).and_then(|f| f.set_len(left as u64)).expect("truncate");
        let st = SourceScan::new(&m, &spec, &read_opts);
        let (events, mut stats) =
            pool.install(|| streamed(st, stream, 64, Some(500), Some((&hand, &mut out)))).expect("scan");
        assert!(stats.partial.take().is_some(), "listed as read in part");
        hand.finish(&mut out, events);
        let read: Vec<Event> = out.held.read(&spill).flat_map(|c| c.expect("read back")).collect();
        assert_eq!(format!("{:?}", (&read, format!("{:?}", out.facts))), format!("{:?}", (&prefix.0, &prefix.1)));
        assert_eq!(format!("{stats:?}"), format!("{:?}", prefix.2));
    }

    /// Issue 6 on the split path: a file that shrinks after it was opened
    /// (rotation truncating a live log) is scanned as far as it still
    /// goes and listed as truncated with the bytes read, as when streamed.
    #[test]
    fn a_split_file_that_shrinks_is_read_in_part() {
        let m = matcher();
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, bytes) = long_live_log(dir.path());
        let spec = live_spec(&path);
        // Past the 200 lines read before the split, at a line start.
        let left = memchr::memchr_iter(b'\n', &bytes).nth(1000).expect("1000 lines") + 1;
        let read_opts = ScanOptions { mmap: MmapChoice::Never, ..ScanOptions::default() };
        let Ok(Opened::Stream(stream)) = input::open_source(&spec, MmapChoice::Never) else { panic!("not streamed") };
        std::fs::File::options().write(true).open(&path).and_then(|f| f.set_len(left as u64)).expect("truncate");
        let (events, mut stats) =
            streamed(SourceScan::new(&m, &spec, &read_opts), stream, 64, Some(500), None).expect("scan");
        let partial = stats.partial.take().expect("listed as read in part");
        assert_eq!((partial.reason, partial.bytes_read), (input::SkipReason::Truncated, Some(left as u64)));
        assert!(partial.detail.contains(&format!("read {left} of the {} bytes", bytes.len())), "{}", partial.detail);
        let prefix = scan_with(&m, &spec, &read_opts, CHUNK, None).expect("scan the rest");
        assert_eq!(format!("{:?}", (events, stats)), format!("{prefix:?}"));
    }
}
