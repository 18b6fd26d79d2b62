//! Timestamp parsing on arbitrary text: the line-prefix recogniser, stamp
//! text → epoch milliseconds in each zone mode, zone parsing and
//! rendering, and applications' stamps (every shape, found and resolved).
//! Input: one byte choosing a fixed offset, then the text.
//!
//! Invariants beyond "no panic" (and no arithmetic overflow: fuzz builds
//! check it):
//! - a recognised prefix lies inside the line and holds its stamp;
//! - every time produced is one chrono can represent, so later stages
//!   (windows, gaps, rendering) can do arithmetic on it;
//! - a time rendered as RFC 3339 parses back to the same millisecond;
//! - a zone given for unzoned stamps shifts the time by exactly its offset;
//! - rendering any i64 in any zone gives text;
//! - an application stamp found lies inside the message, resolves to a
//!   time chrono can represent, and seeing its line twice leaves a clock
//!   as seeing it once; the ISO shape `prefix::view` hands on finds what
//!   looking again finds.

#![no_main]

use chrono::FixedOffset;
use libfuzzer_sys::fuzz_target;
use logtriage::records::time::{self, Clock, Context, Shape, TimeFormat, json};
use logtriage::records::timestamp::{render, stamp_prefix, to_epoch_ms};
use logtriage::records::{Zone, prefix};

fuzz_target!(|data: &[u8]| {
    let [o, text @ ..] = data else { return };
    // -23:45 .. +24:00 in 15-minute steps, as real zones run.
    let offset_secs = (i32::from(*o) - 95) * 900;
    let Some(fixed) = FixedOffset::east_opt(offset_secs) else { return };
    check_prefix(text);
    check_times(text, fixed);
    check_render(text, fixed);
    check_app_times(text, fixed);
    if let Ok(s) = std::str::from_utf8(text) {
        // Must not panic; an accepted offset is one chrono accepted.
        let _ = Zone::parse(s);
    }
});

fn check_prefix(line: &[u8]) {
    if let Some((len, stamp_len)) = stamp_prefix(line) {
        assert!(stamp_len <= len && len <= line.len(), "prefix ({len}, {stamp_len}) of {} bytes", line.len());
        // A prefix ends where the message starts: parsing the stamp part
        // alone must not read past it.
        let _ = to_epoch_ms(&line[..stamp_len], Zone::Utc);
    }
}

fn check_times(text: &[u8], fixed: FixedOffset) {
    let utc = to_epoch_ms(text, Zone::Utc);
    let shifted = to_epoch_ms(text, Zone::Fixed(fixed));
    let local = to_epoch_ms(text, Zone::Local);
    for ms in [utc, shifted, local].into_iter().flatten() {
        assert!(chrono::DateTime::from_timestamp_millis(ms).is_some(), "{ms} is out of chrono's range");
    }
    if let (Some(u), Some(f)) = (utc, shifted) {
        // Either the stamp names its own offset (both agree) or the zone's
        // offset applies.
        let off = i64::from(fixed.local_minus_utc()) * 1000;
        assert!(f == u || f == u - off, "utc {u}, {fixed} {f}");
    }
    if let Some(u) = utc {
        let shown = render(u, Zone::Utc);
        // Years before 0 and after 9999 render with a sign; pm2 writes
        // neither.
        if shown.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            assert_eq!(to_epoch_ms(shown.as_bytes(), Zone::Utc), Some(u), "{shown} does not parse back");
        }
    }
}

fn check_render(text: &[u8], fixed: FixedOffset) {
    let Some(bytes) = text.get(..8) else { return };
    let mut raw = [0u8; 8];
    raw.copy_from_slice(bytes);
    let ms = i64::from_le_bytes(raw);
    for zone in [Zone::Utc, Zone::Local, Zone::Fixed(fixed)] {
        assert!(!render(ms, zone).is_empty());
    }
}

/// Every application time format, as a file's sniff may pick it.
const FORMATS: [TimeFormat; 7] = [
    TimeFormat::Text(Shape::Iso),
    TimeFormat::Text(Shape::Clf),
    TimeFormat::Text(Shape::Syslog),
    TimeFormat::Text(Shape::LocaleUs),
    TimeFormat::Text(Shape::TimeOfDay),
    TimeFormat::Json(json::Key::Time, json::Holds::EpochMs),
    TimeFormat::Json(json::Key::Ts, json::Holds::EpochS),
];

fn check_app_times(msg: &[u8], fixed: FixedOffset) {
    // A clock with a date, and a reference, so every shape can resolve.
    let dated = Clock::new(Some(739_000), Some(43_200_000));
    for format in FORMATS {
        let v = prefix::view(msg, prefix::Frame::default());
        if v.stamp.is_none() && v.json == prefix::Json::No {
            let body = &msg[v.body..];
            assert_eq!(time::find(body, format.mask(), v.iso), time::find(body, format.mask(), None), "hint");
        }
        let Some(found) = time::find(msg, format.mask(), None) else { continue };
        assert!(found.start <= found.end && found.end <= msg.len(), "{found:?} outside {} bytes", msg.len());
        let clock = dated.seen(msg, found);
        assert_eq!(clock.seen(msg, found), clock, "seeing {found:?} twice moved the clock");
        for zone in [Zone::Utc, Zone::Local, Zone::Fixed(fixed)] {
            let ctx = Context { format, zone, clock, reference: Some(1_795_168_800_000) };
            if let Some(ms) = time::resolve(msg, found, &ctx) {
                assert!(chrono::DateTime::from_timestamp_millis(ms).is_some(), "{ms} is out of chrono's range");
            }
        }
    }
}
