//! One source, start to end: its bytes (mapped whole, or streamed in
//! chunks so memory stays bounded), the prefilter over each buffer, records
//! in order, and only the records holding a hit built and confirmed. Hands
//! on the source's events and its [`FileStats`].
//!
//! A streamed chunk ends at its last line break; its last record may go on
//! in the next chunk, so it is carried over and segmented again there, from
//! its first line (a record's first line starts the joiner afresh). The
//! time of the last stamped line before it travels along, for records
//! written raw between stamped lines.

use crate::input::{self, Opened, Skip, SourceSpec};
use crate::matcher::{self, Event, Hit, HitCursor, Matcher};
use crate::records::{self, FileShape, RecordSpan, Segmenter};
use crate::summary::FileStats;

use super::ScanOptions;

// `watch` keeps a source's scan open between reads; it drives this
// module's `SourceScan`, so it lives beside it.
pub mod follow;

/// Bytes read per chunk when a source is not mapped: one chunk (plus the
/// record carried over) per worker bounds memory whatever the file size.
pub const CHUNK: usize = 8 << 20;

/// Scans `spec`.
pub fn scan(m: &Matcher, spec: &SourceSpec, opts: &ScanOptions) -> Result<(Vec<Event>, FileStats), Skip> {
    scan_with(m, spec, opts, CHUNK)
}

/// [`scan`] with a given chunk size (tests use tiny ones).
pub fn scan_with(
    m: &Matcher,
    spec: &SourceSpec,
    opts: &ScanOptions,
    chunk: usize,
) -> Result<(Vec<Event>, FileStats), Skip> {
    let mut st = SourceScan::new(m, spec, opts);
    match input::open_source(spec, opts.mmap)? {
        Opened::Whole(hay) => {
            st.sniff(&hay);
            st.chunk(&hay, true);
        }
        Opened::Stream(mut stream) => {
            let mut buf = Vec::new();
            loop {
                let want = buf.len() + chunk.max(1);
                let eof = stream.fill(&mut buf, want)?;
                if st.shape.is_none() {
                    if !eof && !FileShape::can_sniff(&buf) {
                        continue;
                    }
                    st.sniff(&buf);
                }
                // A saved `pm2 logs` capture names files in section headers
                // far above their records: read it whole (such files are small).
                if !eof && st.shape.is_some_and(|s| s.pm2_logs) {
                    continue;
                }
                let cut = match (eof, memchr::memrchr(b'\n', &buf)) {
                    (true, _) => buf.len(),
                    (false, Some(i)) => i + 1,
                    // One line longer than the buffer: read on.
                    (false, None) => continue,
                };
                let keep = st.chunk(&buf[..cut], eof);
                if eof {
                    break;
                }
                buf.drain(..keep);
            }
        }
    }
    Ok(st.finish())
}

struct SourceScan<'a> {
    m: &'a Matcher,
    spec: &'a SourceSpec,
    opts: &'a ScanOptions,
    shape: Option<FileShape>,
    every_unit: Vec<u32>,
    events: Vec<Event>,
    stats: FileStats,
    /// Lines before the current buffer.
    line_base: u64,
    /// Time of the last stamp before the current buffer.
    carried_ts: Option<i64>,
    hits: Vec<Hit>,
    candidates: Vec<u32>,
}

impl<'a> SourceScan<'a> {
    fn new(m: &'a Matcher, spec: &'a SourceSpec, opts: &'a ScanOptions) -> SourceScan<'a> {
        let every_unit = if opts.no_prefilter { (0..m.rules().len() as u32 * 2).collect() } else { Vec::new() };
        let stats = FileStats {
            path: spec.meta.path.clone(),
            app: spec.meta.app.clone(),
            stream: spec.meta.stream,
            bytes: 0,
            lines: 0,
            records: 0,
            candidates: 0,
            timestamps: false,
            last_ts: None,
        };
        SourceScan {
            m,
            spec,
            opts,
            shape: None,
            every_unit,
            events: Vec::new(),
            stats,
            line_base: 0,
            carried_ts: None,
            hits: Vec::new(),
            candidates: Vec::new(),
        }
    }

    fn sniff(&mut self, first: &[u8]) {
        let shape = FileShape::sniff(first, self.spec.meta.stream);
        self.stats.timestamps = shape.stamped;
        self.shape = Some(shape);
    }

    /// Scans the records of `buf` (whole lines). Unless `eof`, the last
    /// record is left for the next buffer; returns where it starts (the
    /// bytes to keep), or `buf.len()`.
    fn chunk(&mut self, buf: &[u8], eof: bool) -> usize {
        let Some(shape) = self.shape else { return buf.len() };
        self.hits.clear();
        if !self.opts.no_prefilter {
            self.m.prefilter().hits(buf, &mut self.hits);
        }
        let hits = std::mem::take(&mut self.hits);
        let mut cursor = HitCursor::new(&hits);
        let mut segmenter = Segmenter::starting_at_line(buf, shape, self.line_base);
        let mut pending: Option<RecordSpan> = None;
        for span in segmenter.by_ref() {
            if let Some(done) = pending.replace(span) {
                self.record(buf, shape, done, &mut cursor);
            }
        }
        let stamp = segmenter.last_stamp().and_then(|at| records::stamp_at(buf, at, shape, self.opts.zone));
        self.stats.last_ts = self.stats.last_ts.max(stamp);
        let keep = match pending {
            Some(last) if !eof => {
                let before = last.stamp_line.filter(|&at| at < last.start);
                self.carried_ts = match before {
                    Some(at) => records::stamp_at(buf, at, shape, self.opts.zone),
                    None if last.stamp_line.is_none() => self.carried_ts,
                    None => None,
                };
                self.line_base = last.line - 1;
                last.start
            }
            Some(last) => {
                self.record(buf, shape, last, &mut cursor);
                self.stats.lines = segmenter.lines_read();
                buf.len()
            }
            None => {
                if eof {
                    self.stats.lines = segmenter.lines_read();
                }
                buf.len()
            }
        };
        self.stats.bytes += keep as u64;
        self.hits = hits;
        keep
    }

    fn record(&mut self, buf: &[u8], shape: FileShape, span: RecordSpan, cursor: &mut HitCursor<'_>) {
        self.stats.records += 1;
        let always = if self.opts.no_prefilter { &self.every_unit[..] } else { self.m.prefilter().unfiltered() };
        cursor.candidates(span.start, span.end, always, &mut self.candidates);
        if self.candidates.is_empty() {
            return;
        }
        self.stats.candidates += 1;
        let mut record = records::build(buf, span, shape, self.opts.zone);
        if record.ts.is_none() && span.stamp_line.is_none() {
            // Written raw after a stamp that sat in the previous chunk.
            record.ts = self.carried_ts;
        }
        let origin = matcher::Origin {
            source: self.spec.id,
            line: span.line,
            app: self.spec.meta.app.as_deref(),
            stream: self.spec.meta.stream,
        };
        self.m.confirm(&record, &self.candidates, origin, &mut self.events);
    }

    fn finish(self) -> (Vec<Event>, FileStats) {
        (self.events, self.stats)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use super::*;
    use crate::input::{MmapChoice, Origin, classify};
    use crate::rules::{LoadOptions, load};

    fn logs_under(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                logs_under(&p, out);
            } else if p.extension().is_some_and(|e| e == "log") {
                out.push(p);
            }
        }
    }

    /// Streaming in chunks of any size finds exactly the events and counts
    /// of one pass over the whole file: records cut by a chunk boundary
    /// are carried over, and times of raw lines travel with them.
    #[test]
    fn chunked_scan_equals_whole_scan_on_every_fixture() {
        let rules = Arc::new(load(&LoadOptions { builtin: true, paths: vec![] }).expect("builtin"));
        let m = Matcher::new(rules);
        let mut files = Vec::new();
        logs_under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"), &mut files);
        assert!(files.len() > 100, "{} fixture logs", files.len());
        for path in files {
            let shown = path.display().to_string();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let spec = SourceSpec { id: 0, meta: classify(&shown, &name), origin: Origin::File(path.clone()) };
            let whole_opts = ScanOptions { mmap: MmapChoice::Always, ..ScanOptions::default() };
            let whole = scan_with(&m, &spec, &whole_opts, CHUNK);
            let read_opts = ScanOptions { mmap: MmapChoice::Never, ..ScanOptions::default() };
            for chunk in [1, 5, 64, 1000] {
                let chunked = scan_with(&m, &spec, &read_opts, chunk);
                assert_eq!(format!("{chunked:?}"), format!("{whole:?}"), "{shown} in chunks of {chunk}");
            }
        }
    }
}
