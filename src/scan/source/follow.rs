//! Following a live source: the chunked scan of its parent module kept
//! open between reads. A tail hands in bytes as the file grows
//! ([`Follow::feed`]); complete records are scanned at once and the last
//! one is held, because a stack trace may still be being written under it,
//! until more lines arrive or the tail says the file has been quiet
//! ([`Follow::flush`]). Hands on events and a [`Checkpoint`]: the offset of
//! the first byte not yet scanned (always a record boundary) with the line
//! number, carried time and clock a restart needs to go on from there.
//!
//! It drives the same `SourceScan::chunk` the batch scan streams with, so a
//! followed file gives the events a batch scan of the same bytes gives,
//! however the bytes were cut into reads.

use crate::input::SourceSpec;
use crate::matcher::{Event, Matcher};
use crate::records::{self, Clock, FileShape, Segmenter, Zone};
use crate::scan::ScanOptions;

use crate::scan::part::SourceScan;

/// Bytes of the file's start kept to sniff its shape; a file shorter than
/// the sniff sample is sniffed again as it grows.
const SAMPLE_MAX: usize = 64 << 10;

/// Where a followed source stands: everything before `offset` is scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checkpoint {
    /// Bytes of the file scanned: the start of the first record not yet
    /// scanned.
    pub offset: u64,
    /// Lines before `offset`.
    pub line: u64,
    /// Time of the last stamped line before `offset`, for raw lines (a
    /// cluster-mode crash text) written after it.
    pub carried_ts: Option<i64>,
    /// In a file of times of day, the date they belong to at `offset`.
    pub clock: Clock,
}

/// One live source being scanned as it grows.
pub struct Follow {
    m: Matcher,
    spec: SourceSpec,
    opts: ScanOptions,
    shape: Option<FileShape>,
    /// The file's first bytes, while the shape may still change.
    sample: Vec<u8>,
    sniffed: bool,
    /// Bytes from `at.offset` on: the held record and any partial line.
    pending: Vec<u8>,
    at: Checkpoint,
    /// Bytes of the file passed over as holes ([`Follow::pass_over`]):
    /// the sample holds the file's bytes without them.
    passed: u64,
}

impl Follow {
    /// Follows `spec` from `at`. `head` is the file's start as it is now,
    /// to sniff its shape when `at` is past it (empty when reading from
    /// the start).
    pub fn new(m: Matcher, spec: SourceSpec, zone: Zone, at: Checkpoint, head: Vec<u8>) -> Follow {
        let opts = ScanOptions { zone, ..ScanOptions::default() };
        let mut f = Follow {
            m,
            spec,
            opts,
            shape: None,
            sample: Vec::new(),
            sniffed: false,
            pending: Vec::new(),
            at,
            passed: 0,
        };
        f.learn_shape(&head);
        f
    }

    /// The source id events carry.
    pub fn source(&self) -> usize {
        self.spec.id
    }

    /// Where the scan stands (what a restart resumes from).
    pub fn checkpoint(&self) -> Checkpoint {
        self.at
    }

    /// Sets the carried time (and clock) from `before`, the bytes just
    /// before the checkpoint (a follow that starts at the end of a file has
    /// not read them).
    pub fn carry_time_from(&mut self, before: &[u8]) {
        let Some(shape) = self.shape else { return };
        if !shape.time.keeps_clock() {
            self.at.carried_ts = last_stamp(before, shape, self.opts.zone).or(self.at.carried_ts);
            return;
        }
        // Times of day: every stamp of `before` moves the clock on.
        let mut seg = Segmenter::new(before, shape).with_clock(self.at.clock);
        seg.by_ref().for_each(drop);
        let clock = seg.clock();
        let stamp = seg.last_stamp().and_then(|at| records::stamp_at(before, at, shape, self.opts.zone, clock));
        self.at.carried_ts = stamp.or(self.at.carried_ts);
        self.at.clock = clock;
    }

    /// Returns true if and only if a complete record is held back.
    pub fn holding(&self) -> bool {
        memchr::memchr(b'\n', &self.pending).is_some()
    }

    /// Takes the bytes the file grew by; returns the events of the records
    /// they complete. The last record and a partial last line are held.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        if !self.sniffed && self.sample.len() as u64 + self.passed == self.at.offset + self.pending.len() as u64 {
            self.learn_shape(bytes);
        }
        self.pending.extend_from_slice(bytes);
        match memchr::memrchr(b'\n', &self.pending) {
            Some(i) => self.scan(i + 1, false),
            None => Vec::new(),
        }
    }

    /// The file has been quiet: scans the held record (complete lines
    /// only; a partial line waits for its line break).
    pub fn flush(&mut self) -> Vec<Event> {
        match memchr::memrchr(b'\n', &self.pending) {
            Some(i) => self.scan(i + 1, true),
            None => Vec::new(),
        }
    }

    /// The file will not grow again (truncated, rotated away, closed):
    /// scans everything held, a partial last line included.
    pub fn finish(&mut self) -> Vec<Event> {
        match self.pending.len() {
            0 => Vec::new(),
            n => self.scan(n, true),
        }
    }

    /// The next `bytes` bytes of the file hold no line (a run of NULs, a
    /// hole a writer left; see `input::holes`): they are passed over, and
    /// what is held is scanned first, as the hole ends it.
    pub fn pass_over(&mut self, bytes: u64) -> Vec<Event> {
        let events = self.finish();
        self.at.offset += bytes;
        self.passed += bytes;
        events
    }

    /// The file was truncated and is read again from its first byte, as
    /// source `source`: nothing is carried over ([`Follow::finish`] what
    /// is held first).
    pub fn restart(&mut self, source: usize) {
        self.spec.id = source;
        self.shape = None;
        self.sample = Vec::new();
        self.sniffed = false;
        self.pending.clear();
        self.at = Checkpoint::default();
        self.passed = 0;
    }

    fn learn_shape(&mut self, bytes: &[u8]) {
        if self.sniffed || bytes.is_empty() {
            return;
        }
        let room = SAMPLE_MAX.saturating_sub(self.sample.len());
        self.sample.extend_from_slice(&bytes[..bytes.len().min(room)]);
        let spec = &self.spec;
        let shape =
            FileShape::sniff(&self.sample, spec.meta.stream).with_reference(|| crate::scan::part::modified(spec));
        let was = self.shape.replace(shape);
        if was.is_some_and(|w| w.time != shape.time) {
            self.retime(shape);
        }
        if self.sample.len() >= SAMPLE_MAX || FileShape::can_sniff(&self.sample) {
            self.sniffed = true;
            self.sample = Vec::new();
        }
    }

    /// A short file's time format changed as it grew (its first line had a
    /// date, the next ones only times of day): the carried time and clock
    /// are worked out again from what was scanned, under the new format.
    fn retime(&mut self, shape: FileShape) {
        let scanned = self.at.offset.saturating_sub(self.passed);
        let Some(done) = usize::try_from(scanned).ok().and_then(|n| self.sample.get(..n)) else { return };
        let mut seg = Segmenter::new(done, shape);
        seg.by_ref().for_each(drop);
        let clock = seg.clock();
        if let Some(at) = seg.last_stamp() {
            self.at.carried_ts = records::stamp_at(done, at, shape, self.opts.zone, clock);
        }
        self.at.clock = clock;
    }

    /// Scans `pending[..cut]` (whole lines unless `eof`); unless `eof` the
    /// last record stays pending.
    fn scan(&mut self, cut: usize, eof: bool) -> Vec<Event> {
        let Some(shape) = self.shape else {
            // Bytes arrived before any could be sniffed: only possible for
            // an empty feed, which completes nothing.
            return Vec::new();
        };
        let mut st = SourceScan::new(&self.m, &self.spec, &self.opts);
        st.shape = Some(shape);
        st.line_base = self.at.line;
        st.carried_ts = self.at.carried_ts;
        st.carried_clock = self.at.clock;
        let buf = &self.pending[..cut];
        let keep = st.chunk(buf, eof);
        if eof {
            self.at.line = st.stats.lines;
            // Raw lines written next take the time of the last stamped
            // line, as in a batch scan.
            if let Some(ts) = st.buffer_stamp {
                self.at.carried_ts = ts;
            }
            self.at.clock = st.clock_after;
        } else {
            self.at.line = st.line_base;
            self.at.carried_ts = st.carried_ts;
            self.at.clock = st.carried_clock;
        }
        self.at.offset += keep as u64;
        self.pending.drain(..keep);
        st.events
    }
}

/// The time of the last stamped line of `buf` that has one (not for a
/// file of times of day: those need the clock of the lines before).
fn last_stamp(buf: &[u8], shape: FileShape, zone: Zone) -> Option<i64> {
    let mut end = buf.len();
    while end > 0 {
        let start = memchr::memrchr(b'\n', &buf[..end - 1]).map_or(0, |i| i + 1);
        if let Some(ts) = records::stamp_at(buf, start, shape, zone, Clock::default()) {
            return Some(ts);
        }
        end = start;
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::input::{MmapChoice, Origin, classify};
    use crate::rules::{LoadOptions, load};
    use crate::scan::source::scan_with;

    fn matcher() -> Matcher {
        Matcher::new(Arc::new(load(&LoadOptions { builtin: true, paths: vec![] }).expect("builtin")))
    }

    fn spec(path: &Path) -> SourceSpec {
        let shown = path.display().to_string();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        SourceSpec { id: 0, meta: classify(&shown, &name), origin: Origin::File(path.to_path_buf()) }
    }

    fn fixture(rel: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
    }

    /// The files the tests feed: stamped and raw cluster text, the daemon
    /// log, JSON lines, multi-line crash dumps, an application's own times
    /// (Python logging), times of day dated across midnight.
    const FILES: [&str; 8] = [
        "fixtures/pm2/daemon/pm2.log",
        "fixtures/pm2/cluster/api-error-0.log",
        "fixtures/pm2/json/worker-error.log",
        "fixtures/pm2/fork-time/tws-bridge-out.log",
        "fixtures/rules/node.eaddrinuse/fires-cluster-bind.log",
        "fixtures/rules/tws.connectivity-lost/fires-recovered-after-10m.log",
        "fixtures/times/iso/ib-recorder-out.log",
        "fixtures/times/time-only/stoqey-bridge-out.log",
    ];

    fn batch(m: &Matcher, spec: &SourceSpec) -> Vec<Event> {
        let opts = ScanOptions { mmap: MmapChoice::Never, ..ScanOptions::default() };
        scan_with(m, spec, &opts, super::super::CHUNK, None).expect("scan").0
    }

    /// However a file's growth is cut into reads, following it gives the
    /// events of one batch scan.
    #[test]
    fn any_cut_into_reads_gives_the_batch_events() {
        let m = matcher();
        for rel in FILES {
            let path = fixture(rel);
            let bytes = std::fs::read(&path).expect("fixture");
            let spec = spec(&path);
            let want = batch(&m, &spec);
            assert!(!want.is_empty(), "{rel} should match something");
            for step in [1, 7, 100, 4096] {
                let mut f = Follow::new(m.clone(), spec.clone(), Zone::Utc, Checkpoint::default(), Vec::new());
                let mut got = Vec::new();
                for piece in bytes.chunks(step) {
                    got.extend(f.feed(piece));
                }
                got.extend(f.finish());
                assert_eq!(format!("{got:?}"), format!("{want:?}"), "{rel} in reads of {step}");
                assert_eq!(f.checkpoint().offset, bytes.len() as u64);
            }
        }
    }

    /// A restart resumes from a checkpoint: events before it plus events
    /// after it are the batch events, with the same line numbers and times.
    #[test]
    fn resuming_from_a_checkpoint_continues_the_scan() {
        let m = matcher();
        for rel in FILES {
            let path = fixture(rel);
            let bytes = std::fs::read(&path).expect("fixture");
            let spec = spec(&path);
            let want = batch(&m, &spec);
            let mut first = Follow::new(m.clone(), spec.clone(), Zone::Utc, Checkpoint::default(), Vec::new());
            let mut got = first.feed(&bytes[..bytes.len() / 2]);
            let at = first.checkpoint();
            let mut second = Follow::new(m.clone(), spec.clone(), Zone::Utc, at, bytes.clone());
            got.extend(second.feed(&bytes[at.offset as usize..]));
            got.extend(second.finish());
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{rel} resumed at {at:?}");
        }
    }

    #[test]
    fn the_last_record_is_held_until_more_lines_or_a_flush() {
        let m = matcher();
        let spec = spec(Path::new("logs/api-error.log"));
        let mut f = Follow::new(m, spec, Zone::Utc, Checkpoint::default(), Vec::new());
        let crash = "2026-11-20T08:00:01: Error: listen EADDRINUSE: address already in use :::3001\n";
        assert!(f.feed(crash.as_bytes()).is_empty(), "a stack trace may still follow");
        assert!(f.holding());
        assert_eq!(f.checkpoint().offset, 0, "the held record is not scanned yet");
        let frames = "2026-11-20T08:00:01:     at Server.setupListenHandle (node:net:1908:16)\n";
        assert!(f.feed(frames.as_bytes()).is_empty(), "a frame continues the record");
        let evs = f.feed(b"2026-11-20T08:00:02: worker 1 booting\n");
        assert_eq!(evs.len(), 1);
        assert_eq!((evs[0].line, evs[0].text.lines().count()), (1, 2));
        assert!(f.flush().is_empty(), "the booting line matches nothing");
        let at = f.checkpoint();
        assert_eq!((at.offset, at.line), ((crash.len() + frames.len() + 38) as u64, 3));
        assert_eq!(at.carried_ts, Some(1_795_161_602_000));
    }

    /// A follow that starts part way into a file of times of day (watch
    /// reads the end of a file first) learns their date from the bytes
    /// before it, so the lines after are dated as in a batch scan.
    #[test]
    fn a_late_start_learns_the_date_of_times_of_day() {
        let m = matcher();
        let path = fixture("fixtures/times/time-only/stoqey-bridge-out.log");
        let bytes = std::fs::read(&path).expect("fixture");
        let spec = spec(&path);
        let want = batch(&m, &spec);
        // From the 1100 line on.
        let at = memchr::memmem::find(&bytes, b"[11:58:01 PM]").expect("the 1100 line");
        let line = memchr::memchr_iter(b'\n', &bytes[..at]).count() as u64;
        let start = Checkpoint { offset: at as u64, line, ..Checkpoint::default() };
        let mut f = Follow::new(m.clone(), spec.clone(), Zone::Utc, start, bytes.clone());
        f.carry_time_from(&bytes[..at]);
        let mut got = f.feed(&bytes[at..]);
        got.extend(f.finish());
        let later: Vec<_> = want.iter().filter(|e| e.line > line).collect();
        assert!(!later.is_empty() && later.iter().all(|e| e.ts.get().is_some()));
        assert_eq!(format!("{got:?}"), format!("{later:?}"));
    }

    #[test]
    fn a_partial_line_waits_for_its_line_break() {
        let m = matcher();
        let spec = spec(Path::new("logs/api-error.log"));
        let mut f = Follow::new(m, spec, Zone::Utc, Checkpoint::default(), Vec::new());
        assert!(f.feed(b"2026-11-20T08:00:01: Error: listen EADDR").is_empty());
        assert!(f.flush().is_empty(), "half a line is not a record");
        assert!(f.feed(b"INUSE: address already in use :::3001\n").is_empty());
        assert_eq!(f.flush().len(), 1);
    }
}
