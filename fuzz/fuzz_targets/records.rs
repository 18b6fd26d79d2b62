//! The records stage on arbitrary bytes: shape sniffing, line splitting,
//! multi-line joining, record building and timestamps, as the scanner
//! drives them. Input: two control bytes (stream the file name claims,
//! where a chunk boundary falls), then the log.
//!
//! Invariants beyond "no panic":
//! - spans are in order, do not overlap, stay inside the buffer and cover
//!   every line: each record starts on the line after the previous one
//!   ends, the first at offset 0, the last ends at the last byte;
//! - line numbers start at 1 and advance by the lines of each record;
//!   no record is longer than `MAX_RECORD_LINES`;
//! - `stamp_line` and `section` point at line starts at or before the
//!   record;
//! - a built record's body is no longer than its text and its time is one
//!   chrono can represent;
//! - cutting the buffer after a line break and carrying the last record
//!   over, as `scan/source.rs` does with streamed chunks, gives the same
//!   records as one pass.

#![no_main]

use libfuzzer_sys::fuzz_target;
use logtriage::input::Stream;
use logtriage::records::{self, FileShape, RecordSpan, Segmenter, Zone, join::MAX_RECORD_LINES};

const STREAMS: [Stream; 5] = [Stream::Out, Stream::Err, Stream::Daemon, Stream::Combined, Stream::Unknown];

fuzz_target!(|data: &[u8]| {
    let [s, cut, buf @ ..] = data else { return };
    let stream = STREAMS[usize::from(*s) % STREAMS.len()];
    let shape = FileShape::sniff(buf, stream);
    let spans: Vec<RecordSpan> = Segmenter::new(buf, shape).collect();
    check_spans(buf, &spans);
    for span in &spans {
        check_record(buf, *span, shape);
    }
    check_carry_over(buf, shape, &spans, usize::from(*cut));
    check_sniff_prefix(buf, stream, shape, usize::from(*cut));
});

fn is_line_start(buf: &[u8], at: usize) -> bool {
    at == 0 || (at <= buf.len() && buf[at - 1] == b'\n')
}

fn check_spans(buf: &[u8], spans: &[RecordSpan]) {
    if buf.is_empty() {
        assert!(spans.is_empty());
        return;
    }
    let first = spans.first().expect("a non-empty buffer has a record");
    assert_eq!((first.start, first.line), (0, 1));
    let last = spans.last().expect("records");
    let text_end = buf.len() - usize::from(buf.ends_with(b"\n"));
    assert_eq!(last.end, text_end, "the last record ends at the last line");
    for (i, span) in spans.iter().enumerate() {
        assert!(span.start <= span.end && span.end <= buf.len(), "{span:?} outside {}", buf.len());
        assert!(span.end == buf.len() || buf[span.end] == b'\n', "{span:?} ends mid-line");
        let lines = memchr::memchr_iter(b'\n', &buf[span.start..span.end]).count() + 1;
        assert!(lines as u32 <= MAX_RECORD_LINES, "{span:?} has {lines} lines");
        for at in [span.stamp_line, span.section].into_iter().flatten() {
            assert!(at <= span.start && is_line_start(buf, at), "{span:?} points at {at}");
        }
        if let Some(next) = spans.get(i + 1) {
            assert_eq!(next.start, span.end + 1, "records {span:?} and {next:?} leave a gap or overlap");
            assert_eq!(next.line, span.line + lines as u64, "line numbers skip after {span:?}");
        }
    }
}

fn check_record(buf: &[u8], span: RecordSpan, shape: FileShape) {
    for zone in [Zone::Utc, Zone::Local] {
        let rec = records::build(buf, span, shape, zone);
        assert!(rec.body.len() <= span.end - span.start, "body grew past its text: {span:?}");
        if let Some(ms) = rec.ts {
            assert!(chrono::DateTime::from_timestamp_millis(ms).is_some(), "time {ms} out of range in {span:?}");
        }
    }
    if let Some(at) = span.stamp_line
        && let Some(ms) = records::stamp_at(buf, at, shape, Zone::Utc, span.clock)
    {
        assert!(chrono::DateTime::from_timestamp_millis(ms).is_some(), "stamp {ms} out of range at {at}");
    }
}

/// What `scan/source.rs` does with a chunk that ends at a line break: all
/// records but the last are final; the last is segmented again from its
/// first line together with the next chunk.
fn check_carry_over(buf: &[u8], shape: FileShape, whole: &[RecordSpan], cut: usize) {
    let at = buf.len() * cut / 255;
    let Some(nl) = memchr::memrchr(b'\n', &buf[..at]) else { return };
    let head = &buf[..=nl];
    let mut seg = Segmenter::new(head, shape);
    let mut got: Vec<RecordSpan> = seg.by_ref().collect();
    assert_eq!(seg.lines_read(), memchr::memchr_iter(b'\n', head).count() as u64);
    let Some(carried) = got.pop() else { return };
    let tail = Segmenter::starting_at_line(&buf[carried.start..], shape, carried.line - 1).map(|s| RecordSpan {
        start: s.start + carried.start,
        end: s.end + carried.start,
        ..s
    });
    got.extend(tail);
    let key = |s: &RecordSpan| (s.start, s.end, s.line);
    let got: Vec<_> = got.iter().map(key).collect();
    let want: Vec<_> = whole.iter().map(key).collect();
    assert_eq!(got, want, "records differ when cut after byte {nl}");
}

/// A stream sniffs as soon as its buffer holds the lines sniffing reads:
/// that prefix must say what the whole file says.
fn check_sniff_prefix(buf: &[u8], stream: Stream, whole: FileShape, cut: usize) {
    let prefix = &buf[..buf.len() * cut / 255];
    if FileShape::can_sniff(prefix) {
        assert_eq!(FileShape::sniff(prefix, stream), whole);
    }
}
