//! Pass 2: the probable causes of exits. Once incidents are built, the
//! err and out logs of each app pm2 restarted are read again, only around
//! the windows before its exits ([`crate::stories::cause_windows`]), and their
//! error-looking records are handed to a [`Collector`]. Nothing is read
//! when no restart-family incident has a timed exit (the healthy case).
//!
//! A window is found by binary search on the file's times (probing the
//! first stamp after a byte offset), then read forward from a minute
//! before it until a record is past it: pm2 writes lines as they come, so
//! a log's times rise; one stepping back by more than 5 seconds may hide a
//! cause. Memory holds one block (1 MiB) and the shape tables; a window
//! that spans more than 16 MiB of log is read to there. Untimed files,
//! gzip-rotated files, stdin and saved `pm2 logs` captures are not read
//! again: their causes are unknown.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::input::{self, Opened, Positional, SourceSpec, Stream};
use crate::records::{self, FileShape, Segmenter, Zone};
use crate::stories::{Causes, Collector, Place, Window};
use crate::summary::FileStats;

use super::ScanOptions;

/// Bytes read per block while reading a window.
const BLOCK: usize = 1 << 20;

/// Bytes a probe reads to find the first stamp after an offset.
const PROBE: usize = 16 << 10;

/// Reading starts this long before a window and goes on until a record
/// this far past it, for lines a little out of order (cluster instances
/// writing one file, clocks of two loggers). Every millisecond of it is
/// read around every window: on the dense benchmark corpus a minute cost
/// 10 % of the scan, five seconds under 1 %.
const SEEK_SLACK_MS: i64 = 5_000;

/// At most this many bytes are read per window.
const MAX_WINDOW_BYTES: usize = 16 << 20;

/// Reads the windows' spans of the err and out logs of the apps they name.
/// `files` are the scanned files' stats (apps after naming).
pub fn collect(specs: &[SourceSpec], files: &[FileStats], windows: &[Window], opts: &ScanOptions) -> Causes {
    let mut collector = Collector::default();
    if windows.is_empty() {
        return collector.finish();
    }
    let stats: HashMap<&str, &FileStats> = files.iter().map(|f| (f.path.as_str(), f)).collect();
    for spec in specs {
        let Some(f) = stats.get(spec.meta.path.as_str()) else { continue };
        if f.timestamps && matches!(f.stream, Stream::Combined | Stream::Unknown) {
            capture(spec, windows, opts, &mut collector);
            continue;
        }
        let (Some(app), true) = (f.app.as_deref(), f.timestamps) else { continue };
        if !matches!(f.stream, Stream::Err | Stream::Out) || f.time_format.is_some_and(|t| t.keeps_clock()) {
            continue;
        }
        let spans = spans(windows.iter().filter(|w| w.fits(app, spec.meta.instance)));
        if !spans.is_empty() {
            source(spec, app, f.stream == Stream::Err, &spans, opts, &mut collector);
        }
    }
    let mut causes = collector.finish();
    for (file, at, place) in causes.offsets() {
        let spec = specs.iter().find(|s| s.meta.path == file);
        if let Some(line) = spec.and_then(|s| with_bytes(s, opts, |b| line_at(&b, at as usize))) {
            *place = Place::Line(line);
        }
    }
    causes
}

/// Runs `read` on `spec`'s bytes, if they can be read at offsets: mapped
/// (or in memory), or a regular file. None for stdin, pipes and gzip.
fn with_bytes<R>(spec: &SourceSpec, opts: &ScanOptions, read: impl FnOnce(Bytes<'_>) -> Option<R>) -> Option<R> {
    match input::open_source(spec, opts.mmap).ok()? {
        Opened::Whole(hay) => read(Bytes::Slice(&hay)),
        Opened::Stream(stream) => read(Bytes::At(stream.positional()?)),
    }
}

/// The 1-based line at byte `at`: the line breaks before it counted, a
/// block at a time.
fn line_at(bytes: &Bytes<'_>, at: usize) -> Option<u64> {
    let mut lines = 1;
    let mut pos = 0;
    while pos < at {
        let len = (at - pos).min(BLOCK);
        let buf = bytes.read(pos, len)?;
        // A plain count: the compiler vectorises it.
        lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        pos += len;
    }
    Some(lines)
}

/// A saved `pm2 logs` capture (`pm2 logs --nostream > file`): every
/// app's lines in one file, each record naming its app and stream
/// (section headers, columns). Read whole, in order: such files are
/// small, and their sections are not in time order. Files larger than
/// [`MAX_CAPTURE`] are passed over.
fn capture(spec: &SourceSpec, windows: &[Window], opts: &ScanOptions, c: &mut Collector) {
    let whole = |b: Bytes<'_>| (b.len() <= MAX_CAPTURE).then(|| b.read(0, MAX_CAPTURE).map(Cow::into_owned)).flatten();
    let Some(buf) = with_bytes(spec, opts, whole) else { return };
    let shape = FileShape::sniff(&buf, spec.meta.stream).with_reference(|| super::part::modified(spec));
    if !shape.pm2_logs {
        return;
    }
    let any = spans(windows.iter());
    let in_any = |ts: i64| {
        let i = any.partition_point(|&(_, e)| e < ts);
        any.get(i).is_some_and(|&(s, _)| s <= ts)
    };
    for span in Segmenter::new(&buf, shape) {
        let ts = span.stamp_line.and_then(|at| records::stamp_at(&buf, at, shape, opts.zone, span.clock));
        let Some(ts) = ts.filter(|&ts| in_any(ts)) else { continue };
        let rec = records::build(&buf, span, shape, opts.zone);
        let (Some(app), Some(stream)) = (rec.app.as_deref(), rec.stream) else { continue };
        if !matches!(stream, Stream::Err | Stream::Out) {
            continue;
        }
        if windows.iter().any(|w| w.fits(app, None) && w.holds(ts)) {
            let body = String::from_utf8_lossy(&rec.body);
            let first = crate::stories::error_line(&body);
            c.observe(app, &spec.meta.path, ts, first, stream == Stream::Err, Place::Line(span.line));
        }
    }
}

/// The largest `pm2 logs` capture read again for causes.
const MAX_CAPTURE: usize = 64 << 20;

/// Windows merged into disjoint spans, in time order.
fn spans<'a>(windows: impl Iterator<Item = &'a Window>) -> Vec<(i64, i64)> {
    let mut all: Vec<(i64, i64)> = windows.map(|w| (w.start, w.end)).collect();
    all.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(all.len());
    for (s, e) in all {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// A file read at offsets: mapped (or in memory), or a regular file read
/// with positional reads.
enum Bytes<'a> {
    Slice(&'a [u8]),
    At(Positional<'a>),
}

impl<'a> Bytes<'a> {
    fn len(&self) -> usize {
        match self {
            Bytes::Slice(s) => s.len(),
            Bytes::At(p) => p.len(),
        }
    }

    /// Up to `len` bytes at `at` (fewer at the end); None when the file
    /// no longer holds them (rotation truncated it).
    fn read(&self, at: usize, len: usize) -> Option<Cow<'a, [u8]>> {
        let end = at.saturating_add(len).min(self.len());
        let at = at.min(end);
        match *self {
            Bytes::Slice(s) => Some(Cow::Borrowed(&s[at..end])),
            Bytes::At(p) => {
                let mut buf = vec![0; end - at];
                p.read_exact_at(&mut buf, at).ok()?;
                Some(Cow::Owned(buf))
            }
        }
    }
}

fn source(spec: &SourceSpec, app: &str, err: bool, spans: &[(i64, i64)], opts: &ScanOptions, c: &mut Collector) {
    with_bytes(spec, opts, |bytes| {
        windows_of(spec, bytes, app, err, spans, opts, c);
        Some(())
    });
}

/// [`source`] on its bytes.
fn windows_of(
    spec: &SourceSpec,
    bytes: Bytes<'_>,
    app: &str,
    err: bool,
    spans: &[(i64, i64)],
    opts: &ScanOptions,
    c: &mut Collector,
) {
    let Some(head) = bytes.read(0, 64 << 10) else { return };
    let shape = FileShape::sniff(&head, spec.meta.stream).with_reference(|| super::part::modified(spec));
    if shape.pm2_logs || !shape.timed() {
        return;
    }
    let file = FileReader { bytes, shape, zone: opts.zone };
    let mut from = 0;
    for &(start, end) in spans {
        let target = start - SEEK_SLACK_MS;
        // A crash loop's windows follow each other closely: where the last
        // one stopped is often already at the next, and one probe saves the
        // dozen of a search (each a read, for a file that is not mapped).
        let at = match file.first_stamp_after(from) {
            Some(ts) if from > 0 && ts >= target => from,
            _ => file.seek(target).max(from),
        };
        from = file.read_window(at, (start, end), |offset, ts, first| {
            c.observe(app, &spec.meta.path, ts, first, err, Place::Offset(offset as u64));
        });
    }
}

/// One file being read around windows.
struct FileReader<'a> {
    bytes: Bytes<'a>,
    shape: FileShape,
    zone: Zone,
}

impl FileReader<'_> {
    /// A line start at or before the first record stamped `target` or
    /// later (0 when the file starts after it).
    fn seek(&self, target: i64) -> usize {
        let (mut lo, mut hi) = (0, self.bytes.len());
        while hi - lo > PROBE {
            let mid = lo + (hi - lo) / 2;
            match self.first_stamp_after(mid) {
                Some(ts) if ts < target => lo = mid,
                // Later, or no stamp to tell: look earlier (reads more,
                // misses nothing).
                _ => hi = mid,
            }
        }
        self.line_start_after(lo)
    }

    /// The offset just past the first line break at or after `at` (0 for
    /// 0): where a whole line starts.
    fn line_start_after(&self, at: usize) -> usize {
        if at == 0 {
            return 0;
        }
        let Some(buf) = self.bytes.read(at - 1, PROBE) else { return at };
        memchr::memchr(b'\n', &buf).map_or(at, |i| at + i)
    }

    /// The time of the first stamped line starting after `at`.
    fn first_stamp_after(&self, at: usize) -> Option<i64> {
        let buf = self.bytes.read(at, PROBE)?;
        let first = memchr::memchr(b'\n', &buf)? + 1;
        let mut pos = first;
        while pos < buf.len() {
            let end = memchr::memchr(b'\n', &buf[pos..]).map_or(buf.len(), |i| pos + i);
            if end == buf.len() {
                // A line cut by the probe's end cannot be parsed whole.
                return None;
            }
            if let Some(ts) = records::stamp_at(&buf, pos, self.shape, self.zone, records::Clock::default()) {
                return Some(ts);
            }
            pos = end + 1;
        }
        None
    }

    /// Reads records from `at` (a line start) until one is stamped past the
    /// window; hands each record inside it to `found` as (its offset; its
    /// time; the first line of its message). Returns where reading stopped.
    fn read_window(&self, mut at: usize, window: (i64, i64), mut found: impl FnMut(usize, i64, &str)) -> usize {
        let limit = at.saturating_add(MAX_WINDOW_BYTES);
        while at < self.bytes.len() && at < limit {
            let Some(buf) = self.bytes.read(at, BLOCK) else { return at };
            let eof = at + buf.len() >= self.bytes.len();
            let mut pending: Option<records::RecordSpan> = None;
            for span in Segmenter::new(&buf, self.shape) {
                let Some(done) = pending.replace(span) else { continue };
                if self.record(&buf, at, done, window, &mut found) {
                    return at + done.start;
                }
            }
            let Some(last) = pending else { return at + buf.len() };
            if eof || last.start == 0 {
                // The last record, or one longer than a block: read as far
                // as the block holds it.
                if self.record(&buf, at, last, window, &mut found) || eof {
                    return at + last.end;
                }
                at += buf.len();
            } else {
                at += last.start;
            }
        }
        at
    }

    /// Hands `span` (of the block read at `block_at`) to `found` if it lies
    /// in the window; true once it is past the window (reading stops).
    fn record(
        &self,
        buf: &[u8],
        block_at: usize,
        span: records::RecordSpan,
        (start, end): (i64, i64),
        found: &mut impl FnMut(usize, i64, &str),
    ) -> bool {
        let Some(ts) = span.stamp_line.and_then(|at| records::stamp_at(buf, at, self.shape, self.zone, span.clock))
        else {
            return false;
        };
        if ts > end + SEEK_SLACK_MS {
            return true;
        }
        if start <= ts && ts <= end {
            let rec = records::build(buf, span, self.shape, self.zone);
            let body = String::from_utf8_lossy(&rec.body);
            found(block_at + span.start, rec.ts.unwrap_or(ts), crate::stories::error_line(&body));
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Origin, classify};

    fn spec(text: &str) -> SourceSpec {
        SourceSpec {
            id: 0,
            meta: classify("api-error.log", "api-error.log"),
            origin: Origin::Memory(text.as_bytes().into()),
        }
    }

    /// Only the records inside a window are collected, with their file
    /// line, however far into the file the window lies (binary search over
    /// a log of thousands of lines).
    #[test]
    fn reads_only_the_windows() {
        let mut text = String::new();
        for i in 0..5000 {
            let (h, m, s) = (i / 3600, i / 60 % 60, i % 60);
            text.push_str(&format!("2026-11-20T{:02}:{m:02}:{s:02}: tick {i}\n", 10 + h));
        }
        text.push_str("2026-11-20T11:30:00: Error: Cannot find module 'dotenv'\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1140:15)\n");
        text.push_str("2026-11-20T11:30:03: tick after the exit\n");
        let at = |t: &str| records::timestamp::to_epoch_ms(t.as_bytes(), Zone::Utc).expect("time");
        let exit = at("2026-11-20T11:30:01Z");
        let window = Window { app: "api".into(), pm_id: None, start: exit - 5_000, end: exit + 999 };
        let files = [FileStats {
            timestamps: true,
            ..FileStats::new("api-error.log".into(), Some("api".into()), None, Stream::Err)
        }];
        let causes = collect(&[spec(&text)], &files, std::slice::from_ref(&window), &ScanOptions::default());
        let top = causes.dominant("api").expect("a cause");
        assert_eq!((top.text.as_str(), top.place), ("Error: Cannot find module 'dotenv'", Place::Line(5001)));
        assert_eq!(top.count, 1);
        // Nothing else was in the window.
        let none = Window { start: exit + 10_000, end: exit + 20_000, ..window.clone() };
        assert!(collect(&[spec(&text)], &files, &[none], &ScanOptions::default()).dominant("api").is_none());
    }
}
