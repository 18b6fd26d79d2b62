//! One part of a source, start to end of the bytes it is given: the
//! prefilter over each buffer, records in order, and only the records
//! holding a hit built and confirmed by the matcher; unknown-error mining
//! offered the rest. Hands on the part's events and its [`FileStats`],
//! and, for a part of a split file, the [`PartLog`] the merge needs.
//!
//! [`SourceScan`] is driven by three callers that each own how bytes
//! arrive: `source` (a whole file, mapped or streamed in chunks), `split`
//! (a large file cut into parts across workers) and `source::follow`
//! (`watch`'s open tail). It lives apart from all three so that none of
//! them imports another to reach it: `source` hands large files to
//! `split`, and both use this module.

use std::sync::Arc;

use crate::input::{self, SourceSpec};
use crate::matcher::{self, Event, Hit, HitCursor, Matcher, Scratch};
use crate::records::{self, Clock, FileShape, RecordSpan, Segmenter};
use crate::summary::FileStats;

use super::ScanOptions;

/// Bytes read per chunk when a source is not mapped: one chunk (plus the
/// record carried over) per worker bounds memory whatever the file size.
pub const CHUNK: usize = 8 << 20;

/// When the source was last written, in ms since the epoch: a file's
/// modification time, now for standard input (what is piped in was written
/// before it is read), None for bytes in memory. Syslog stamps take their
/// year from it.
pub(super) fn modified(spec: &SourceSpec) -> Option<i64> {
    let at = match &spec.origin {
        input::Origin::File(path) => std::fs::metadata(path).and_then(|m| m.modified()).ok()?,
        input::Origin::Stdin => std::time::SystemTime::now(),
        input::Origin::Memory(_) => return None,
    };
    let ms = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
    i64::try_from(ms).ok()
}

/// The time range unknown errors count in: the one matches are kept in.
fn window(opts: &ScanOptions) -> crate::mine::Window {
    let f = &opts.filters;
    let drop_untimed = f.untimed == crate::filter::Untimed::Drop;
    crate::mine::Window { since: f.since, until: f.until, drop_untimed }
}

pub(super) struct SourceScan<'a> {
    pub(super) m: &'a Matcher,
    pub(super) spec: &'a SourceSpec,
    pub(super) opts: &'a ScanOptions,
    pub(super) shape: Option<FileShape>,
    every_unit: Vec<u32>,
    /// The file's app, shared by its events.
    app: Option<Arc<str>>,
    pub(super) events: Vec<Event>,
    pub(super) stats: FileStats,
    /// Lines before the current buffer.
    pub(super) line_base: u64,
    /// Time of the last stamp before the current buffer.
    pub(super) carried_ts: Option<i64>,
    /// The last stamped line of the last buffer scanned, if it had one:
    /// its time (None when that line's time cannot be known, e.g. a date
    /// that does not exist).
    pub(super) buffer_stamp: Option<Option<i64>>,
    /// The clock (times of day) before the current buffer.
    pub(super) carried_clock: Clock,
    /// The clock after the last buffer scanned.
    pub(super) clock_after: Clock,
    hits: Vec<Hit>,
    candidates: Vec<matcher::Candidate>,
    /// Texts and values the source's events share, and the regexes'
    /// capture slots.
    scratch: Scratch,
    /// What a part of a split file records for the merge (see `split`).
    pub(super) part: PartLog,
}

/// A part's record of its first records, so the merge can drop those an
/// earlier part already covered. Off (`limit` 0) for whole sources.
#[derive(Debug, Default)]
pub(super) struct PartLog {
    /// Offset of the scanned buffer in the source.
    pub(super) buf_at: usize,
    /// Record starts logged, at most this many.
    pub(super) limit: usize,
    pub(super) checkpoints: Vec<Checkpoint>,
    /// No stamped line met yet: records so far are dated by the stamp
    /// before the part, which only the merge knows.
    pub(super) unstamped: bool,
    /// Events of those undated records (a prefix of `events`).
    pub(super) lead: usize,
}

/// Counters as they stood when a record started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Checkpoint {
    /// Offset of the record in the source.
    pub(super) start: usize,
    pub(super) events: usize,
    pub(super) records: u64,
    pub(super) candidates: u64,
    /// Unknown-error occurrences the part held (see `mine::Tally`).
    pub(super) mined: usize,
}

impl<'a> SourceScan<'a> {
    pub(super) fn new(m: &'a Matcher, spec: &'a SourceSpec, opts: &'a ScanOptions) -> SourceScan<'a> {
        let every_unit = if opts.no_prefilter { m.rules().units() } else { Vec::new() };
        let meta = &spec.meta;
        let stats = FileStats {
            mine: opts.mine.map(|o| Box::new(crate::mine::Tally::new(o.mode, o.log, m.rules()).within(window(opts)))),
            ..FileStats::new(meta.path.clone(), meta.app.clone(), meta.app_from, meta.stream)
        };
        SourceScan {
            m,
            spec,
            opts,
            shape: None,
            every_unit,
            app: spec.meta.app.as_deref().map(Arc::from),
            events: Vec::new(),
            stats,
            line_base: 0,
            carried_ts: None,
            buffer_stamp: None,
            carried_clock: Clock::default(),
            clock_after: Clock::default(),
            hits: Vec::new(),
            candidates: Vec::new(),
            scratch: Scratch::default(),
            part: PartLog::default(),
        }
    }

    pub(super) fn sniff(&mut self, first: &[u8]) {
        let spec = self.spec;
        self.set_shape(FileShape::sniff(first, spec.meta.stream).with_reference(|| modified(spec)));
    }

    pub(super) fn set_shape(&mut self, shape: FileShape) {
        self.stats.timestamps = shape.timed();
        self.stats.time_format = shape.time.timed().then_some(shape.time);
        self.stats.kind = shape.kind();
        // A server's log named only by its file name (`postgresql-15-main.log`,
        // `access.log`), or by nothing (stdin, `x.csv`), is the server's, as
        // its lines say.
        if matches!(self.spec.meta.app_from, None | Some(input::AppFrom::FileName))
            && let Some(server) = shape.server_app()
        {
            self.app = Some(Arc::from(server));
            self.stats.app = Some(server.to_string());
            self.stats.app_from = Some(input::AppFrom::Content);
        }
        self.shape = Some(shape);
    }

    /// Scans the records of `buf` (whole lines). Unless `eof`, the last
    /// record is left for the next buffer; returns where it starts (the
    /// bytes to keep), or `buf.len()`.
    pub(super) fn chunk(&mut self, buf: &[u8], eof: bool) -> usize {
        let Some(shape) = self.shape else { return buf.len() };
        if let Some(tally) = self.stats.mine.as_deref_mut() {
            tally.new_buffer();
        }
        self.hits.clear();
        if !self.opts.no_prefilter {
            self.m.prefilter().hits(buf, &mut self.hits);
        }
        let hits = std::mem::take(&mut self.hits);
        let mut cursor = HitCursor::new(&hits);
        let mut segmenter = Segmenter::starting_at_line(buf, shape, self.line_base).with_clock(self.carried_clock);
        let mut pending: Option<RecordSpan> = None;
        for span in segmenter.by_ref() {
            if let Some(done) = pending.replace(span) {
                self.record(buf, shape, done, &mut cursor);
            }
        }
        let (line, len) = segmenter.longest_line();
        self.stats.saw_line(line, len as u64);
        let zone = self.opts.zone;
        self.clock_after = segmenter.clock();
        let stamp = segmenter.last_stamp().map(|at| records::stamp_at(buf, at, shape, zone, self.clock_after));
        // The time of the file's last stamped line (not its latest: logs
        // can step back), whatever buffer it is in.
        if let Some(ts) = stamp {
            self.stats.last_ts = ts;
        }
        self.buffer_stamp = stamp;
        self.stats.day_end = segmenter.last_day_time().or(self.stats.day_end);
        self.stats.lines = segmenter.lines_read();
        // Times of day are timed from the first full date on.
        self.stats.timestamps |= self.clock_after.day().is_some();
        let keep = match pending {
            Some(last) if !eof => {
                let before = last.stamp_line.filter(|&at| at < last.start);
                self.carried_ts = match before {
                    Some(at) => records::stamp_at(buf, at, shape, zone, last.clock),
                    None if last.stamp_line.is_none() => self.carried_ts,
                    None => None,
                };
                self.carried_clock = last.clock;
                self.line_base = last.line - 1;
                last.start
            }
            Some(last) => {
                self.record(buf, shape, last, &mut cursor);
                buf.len()
            }
            None => buf.len(),
        };
        self.stats.bytes += keep as u64;
        self.hits = hits;
        keep
    }

    pub(super) fn record(&mut self, buf: &[u8], shape: FileShape, span: RecordSpan, cursor: &mut HitCursor<'_>) {
        self.log_part(span);
        self.stats.records += 1;
        // A Docker line split at 16 KiB and glued back may hide a literal
        // across its two objects: such a record (rare: a line that long)
        // is tried by every rule, as with `--no-prefilter`.
        let glued = matches!(shape.time, records::TimeFormat::DockerJson)
            && records::envelope::glues_partial_lines(&buf[span.start..span.end]);
        if glued && self.every_unit.is_empty() {
            self.every_unit = self.m.rules().units();
        }
        let always =
            if self.opts.no_prefilter || glued { &self.every_unit[..] } else { self.m.prefilter().unfiltered() };
        cursor.candidates(span.start, span.end, always, &mut self.candidates);
        if self.candidates.is_empty() {
            self.mine(buf, shape, span, None, false);
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
            app: self.app.as_ref(),
            stream: self.spec.meta.stream,
        };
        let before = self.events.len();
        self.m.confirm(&record, &self.candidates, origin, &mut self.scratch, &mut self.events);
        let matched = self.events.len() > before;
        if !self.stats.mine.as_ref().is_some_and(|t| t.recognised(self.events[before..].iter().map(|e| e.rule))) {
            self.mine(buf, shape, span, Some(record), matched);
        }
        if self.part.unstamped {
            self.part.lead = self.events.len();
        }
    }

    /// Hands a record to unknown-error mining, when on, if it may be a
    /// candidate: built here if the matcher did not build it; held if a
    /// rule `matched` it (it counts only if no incident takes it). A record
    /// the matcher built is passed over too when its raw bytes say it is no
    /// candidate, unless its own stream is err: keying it (a pino line at
    /// level 30 that holds a rule's literal is parsed to learn its level)
    /// was a quarter of mining's cost on a healthy log.
    fn mine(&mut self, buf: &[u8], shape: FileShape, span: RecordSpan, built: Option<records::Record>, matched: bool) {
        let Some(tally) = self.stats.mine.as_deref_mut() else { return };
        let err = self.spec.meta.stream == input::Stream::Err;
        let own_err = built.as_ref().is_some_and(|r| r.stream == Some(input::Stream::Err));
        if !own_err && !tally.may_take(err, buf, span.start, span.end) {
            return;
        }
        let record = built.unwrap_or_else(|| {
            let mut r = records::build(buf, span, shape, self.opts.zone);
            if r.ts.is_none() && span.stamp_line.is_none() {
                r.ts = self.carried_ts;
            }
            r
        });
        let lead = self.part.unstamped && span.stamp_line.is_none();
        let at = crate::mine::At { line: span.line, lead, deferred: self.part.limit > 0, held: matched };
        tally.offer(&record, err, at);
    }

    fn log_part(&mut self, span: RecordSpan) {
        let log = &mut self.part;
        if span.stamp_line.is_some() {
            log.unstamped = false;
        }
        if log.checkpoints.len() < log.limit {
            log.checkpoints.push(Checkpoint {
                start: log.buf_at + span.start,
                events: self.events.len(),
                records: self.stats.records,
                candidates: self.stats.candidates,
                mined: self.stats.mine.as_ref().map_or(0, |t| t.pending_len()),
            });
        }
    }

    pub(super) fn finish(mut self) -> (Vec<Event>, FileStats) {
        // Held until correlation: give back what growth by doubling left.
        self.events.shrink_to_fit();
        (self.events, self.stats)
    }
}
