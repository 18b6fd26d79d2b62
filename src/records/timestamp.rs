//! pm2's timestamps: the prefix at the start of a line (pm2 `--time`,
//! `log_date_format`s, the daemon's prefix, old bracketed daemon prefixes)
//! and the `timestamp` of pm2 JSON logs; also the zone policy and the
//! date-time parsing that the applications' own stamps ([`super::time`])
//! share. Recognising the shape is cheap and done for every line (to strip
//! it); turning it into an instant is done only for records that matched.

use chrono::{FixedOffset, Local, NaiveDate, NaiveDateTime, Offset, TimeZone};

/// How to read timestamps that carry no zone (pm2 writes local time
/// without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zone {
    /// UTC (the default: same answer on every machine).
    #[default]
    Utc,
    /// The zone of the machine running logtriage.
    Local,
    /// A fixed offset.
    Fixed(FixedOffset),
    /// An IANA zone (`Europe/Berlin`), daylight saving included.
    Named(chrono_tz::Tz),
}

impl Zone {
    /// Parses `utc`, `local`, `+HH:MM` / `-HH:MM`, or an IANA zone name.
    pub fn parse(s: &str) -> Option<Zone> {
        match s.to_ascii_lowercase().as_str() {
            "utc" | "z" => Some(Zone::Utc),
            "local" => Some(Zone::Local),
            other => parse_offset(other.as_bytes())
                .and_then(FixedOffset::east_opt)
                .map(Zone::Fixed)
                .or_else(|| s.parse::<chrono_tz::Tz>().ok().map(Zone::Named)),
        }
    }

    /// The instant of a date-time written without a zone, read in this
    /// one (None for a time daylight saving skipped).
    pub fn instant(self, naive: NaiveDateTime) -> Option<i64> {
        localize(naive, None, self)
    }

    /// The offset this zone has at `utc_ms`, for rendering.
    pub fn offset_at(self, utc_ms: i64) -> FixedOffset {
        let utc = chrono::Utc.fix();
        match self {
            Zone::Utc => utc,
            Zone::Fixed(o) => o,
            Zone::Local => chrono::DateTime::from_timestamp_millis(utc_ms)
                .map_or(utc, |dt| Local.offset_from_utc_datetime(&dt.naive_utc()).fix()),
            Zone::Named(tz) => chrono::DateTime::from_timestamp_millis(utc_ms)
                .map_or(utc, |dt| tz.offset_from_utc_datetime(&dt.naive_utc()).fix()),
        }
    }
}

/// A date-time at the start of `s`: the naive value and the offset in
/// seconds if one was written.
struct Parsed {
    naive: NaiveDateTime,
    offset: Option<i32>,
}

/// The `n` digits at `at` as a number; None unless all are digits.
pub(crate) fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = s.get(at..at + n)?;
    part.iter().try_fold(0u32, |acc, b| b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0')))
}

/// `YYYY-MM-DD[T ]HH:mm:ss[.fff][ ][Z|±HH:MM|±HHMM]`; the fraction may
/// also follow a comma (Python's `%(asctime)s`, log4j) and have 1 to 9
/// digits (milliseconds are kept).
fn parse_datetime(s: &[u8]) -> Option<Parsed> {
    let year = digits(s, 0, 4)?;
    // `-` everywhere; `/` in Caddy's console encoder.
    let sep = *s.get(4)?;
    if !matches!(sep, b'-' | b'/') || s.get(7) != Some(&sep) || !matches!(s.get(10), Some(b'T' | b' ')) {
        return None;
    }
    let (month, day) = (digits(s, 5, 2)?, digits(s, 8, 2)?);
    if s.get(13) != Some(&b':') {
        return None;
    }
    let (h, mi) = (digits(s, 11, 2)?, digits(s, 14, 2)?);
    // Seconds are optional (`log_date_format: 'YYYY-MM-DD HH:mm Z'`).
    let seconds = if s.get(16) == Some(&b':') { digits(s, 17, 2) } else { None };
    let sec = seconds.unwrap_or(0);
    let mut i = if seconds.is_some() { 19 } else { 16 };
    let mut millis = 0;
    if seconds.is_some() && matches!(s.get(i), Some(b'.' | b',')) {
        let start = i + 1;
        let n = s[start..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        millis = fraction_ms(s, start, n)?;
        i = start + n;
    }
    let (offset, _) = zone_at(s, i)?;
    let naive = NaiveDate::from_ymd_opt(year as i32, month, day)?.and_hms_milli_opt(h, mi, sec, millis)?;
    Some(Parsed { naive, offset })
}

/// Milliseconds of the `n` fraction digits at `at` (the first three).
pub(crate) fn fraction_ms(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let take = n.min(3);
    Some(digits(s, at, take)? * 10u32.pow(3 - take as u32))
}

/// A zone at `i` (`Z`, `±HH:MM`, `±HHMM`, after at most one space): its
/// offset in seconds and its length (0 when there is none). None when an
/// offset is written but is none (`+24:00`, `-0960`): such a stamp is
/// refused rather than read without its zone, hours off.
pub(crate) fn zone_at(s: &[u8], i: usize) -> Option<(Option<i32>, usize)> {
    let space = usize::from(s.get(i) == Some(&b' '));
    let at = i + space;
    match s.get(at) {
        Some(b'Z') => Some((Some(0), space + 1)),
        Some(b'+' | b'-') => {
            let colon = s.get(at + 3) == Some(&b':');
            let len = if colon { 6 } else { 5 };
            let Some(text) = s.get(at..at + len) else { return Some((None, 0)) };
            match parse_offset(text) {
                Some(secs) => Some((Some(secs), space + len)),
                // Hours and minutes where an offset has them, out of range.
                None if digits(text, 1, 2).is_some() && digits(text, len - 2, 2).is_some() => None,
                None => Some((None, 0)),
            }
        }
        _ => Some((None, 0)),
    }
}

/// `+HH:MM` / `-HHMM` (the whole of `s`) in seconds.
pub(crate) fn parse_offset(s: &[u8]) -> Option<i32> {
    let sign = match s.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h = digits(s, 1, 2)?;
    let m = if s.get(3) == Some(&b':') { digits(s, 4, 2)? } else { digits(s, 3, 2)? };
    let len = if s.get(3) == Some(&b':') { 6 } else { 5 };
    (s.len() == len && h < 24 && m < 60).then(|| sign * (h * 3600 + m * 60) as i32)
}

/// If `line` starts with a pm2 timestamp prefix, returns the length of the
/// prefix including its separator (`": "`, or `"] "` for bracketed daemon
/// stamps) and the length of the stamp text itself.
///
/// This runs on every line, so it checks the shape only (digits and
/// separators); whether the date exists is checked by [`to_epoch_ms`],
/// for the few records that need a time.
pub fn stamp_prefix(line: &[u8]) -> Option<(usize, usize)> {
    match lead(line) {
        Lead::Prefix(len, stamp_len) => Some((len, stamp_len)),
        _ => None,
    }
}

/// What starts a line: pm2's stamp prefix, or a date-time of its shape
/// that is no prefix (an application's `2026-11-21 02:10:05,644 name ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lead {
    /// As [`stamp_prefix`] returns it.
    Prefix(usize, usize),
    /// The length of the date-time (see [`shape_len`]).
    Shape(usize),
    /// Neither.
    Neither,
}

/// See [`Lead`]: one look at the line serves pm2's prefix and the
/// application's stamp.
pub(crate) fn lead(line: &[u8]) -> Lead {
    match line.first() {
        Some(b'0'..=b'9') => {
            let Some(len) = shape_len(line) else { return Lead::Neither };
            match (line.get(len), line.get(len + 1)) {
                (Some(b':'), Some(b' ')) => Lead::Prefix(len + 2, len),
                (Some(b':'), None) => Lead::Prefix(len + 1, len),
                // Caddy's console encoder: `2023/05/21 09:58:05.456\tERROR\t...`
                (Some(b'\t'), _) => Lead::Prefix(len + 1, len),
                _ => Lead::Shape(len),
            }
        }
        Some(b'[') => match shape_len(&line[1..]) {
            Some(len) if line.get(len + 1) == Some(&b']') => {
                let sep = usize::from(line.get(len + 2) == Some(&b' '));
                Lead::Prefix(len + 2 + sep, len + 2)
            }
            _ => Lead::Neither,
        },
        _ => Lead::Neither,
    }
}

/// Length of a `YYYY-MM-DD[T ]HH:mm:ss[.fff][ ][zone]` shape at the start
/// of `s` (`/` may separate the date, `,` may start the fraction), without
/// building a date.
pub(crate) fn shape_len(s: &[u8]) -> Option<usize> {
    // Every line of a stamped file comes here (twice, when the stamp is an
    // application's): fixed offsets in a fixed-size array, so no bounds
    // checks, and no branch per byte.
    let h: &[u8; 16] = s.get(..16)?.try_into().ok()?;
    let d = |b: u8| b.wrapping_sub(b'0') < 10;
    let sep = h[4];
    let seps = (sep == b'-' || sep == b'/') & (h[7] == sep) & (h[10] == b'T' || h[10] == b' ') & (h[13] == b':');
    let date = d(h[0]) & d(h[1]) & d(h[2]) & d(h[3]) & d(h[5]) & d(h[6]) & d(h[8]) & d(h[9]);
    let time = d(h[11]) & d(h[12]) & d(h[14]) & d(h[15]);
    if !(seps & date & time) {
        return None;
    }
    // Seconds are optional (`log_date_format: 'YYYY-MM-DD HH:mm Z'`); a
    // fraction only follows them.
    let seconds = s.get(16..19).is_some_and(|t| t[0] == b':' && d(t[1]) && d(t[2]));
    if !seconds {
        return Some(16 + zone_at(s, 16)?.1);
    }
    let mut i = 19;
    if matches!(s.get(i), Some(b'.' | b',')) {
        let n = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        i += 1 + n;
    }
    Some(i + zone_at(s, i)?.1)
}

/// Turns stamp text (as found by [`stamp_prefix`], or a JSON `timestamp`)
/// into milliseconds since the Unix epoch.
pub fn to_epoch_ms(stamp: &[u8], zone: Zone) -> Option<i64> {
    let s = stamp.strip_prefix(b"[").unwrap_or(stamp);
    let Some(p) = parse_datetime(s) else { return epoch_seconds(s) };
    localize(p.naive, p.offset, zone)
}

/// The instant of a date-time as written: at its own offset (seconds) if
/// it names one, else in `zone`.
pub(crate) fn localize(naive: NaiveDateTime, offset: Option<i32>, zone: Zone) -> Option<i64> {
    if let Some(secs) = offset {
        let off = FixedOffset::east_opt(secs)?;
        return off.from_local_datetime(&naive).single().map(|dt| dt.timestamp_millis());
    }
    match zone {
        Zone::Utc => Some(naive.and_utc().timestamp_millis()),
        Zone::Fixed(off) => off.from_local_datetime(&naive).single().map(|dt| dt.timestamp_millis()),
        // In the repeated hour of a DST change, take the earlier reading.
        Zone::Local => Local.from_local_datetime(&naive).earliest().map(|dt| dt.timestamp_millis()),
        Zone::Named(tz) => tz.from_local_datetime(&naive).earliest().map(|dt| dt.timestamp_millis()),
    }
}

/// The naive date-time and offset of an ISO-like stamp at the start of
/// `s` (see [`shape_len`]).
pub(crate) fn parse_iso(s: &[u8]) -> Option<(NaiveDateTime, Option<i32>)> {
    parse_datetime(s).map(|p| (p.naive, p.offset))
}

/// Seconds since the epoch with an optional fraction (Caddy's `ts`):
/// 9 to 11 integer digits, so a stray number is not taken for a time.
/// Only digits and one point: `f64` parsing alone would take an exponent
/// (`413116492e14` from a JSON `timestamp`), and a time past chrono's
/// range saturates to `i64::MAX`, which window arithmetic overflows on.
pub(crate) fn epoch_seconds(s: &[u8]) -> Option<i64> {
    let int = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(9..=11).contains(&int) {
        return None;
    }
    let plain = match &s[int..] {
        [] => true,
        [b'.', frac @ ..] => !frac.is_empty() && frac.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !plain {
        return None;
    }
    let secs: f64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    // At most 11 integer digits: well inside i64 milliseconds.
    Some((secs * 1000.0).round() as i64)
}

/// Renders `ms` as RFC 3339 in `zone` (seconds, plus milliseconds when
/// there are any).
pub fn render(ms: i64, zone: Zone) -> String {
    let Some(utc) = chrono::DateTime::from_timestamp_millis(ms) else { return ms.to_string() };
    let dt = utc.with_timezone(&zone.offset_at(ms));
    let format = if ms.rem_euclid(1000) == 0 { chrono::SecondsFormat::Secs } else { chrono::SecondsFormat::Millis };
    dt.to_rfc3339_opts(format, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Option<i64> {
        let (_, len) = stamp_prefix(s.as_bytes())?;
        to_epoch_ms(&s.as_bytes()[..len], Zone::Utc)
    }

    #[test]
    fn pm2_time_and_daemon_prefix() {
        assert_eq!(stamp_prefix(b"2026-11-20T10:00:00: PM2 log: x"), Some((21, 19)));
        assert_eq!(ms("2026-11-20T10:00:00: x"), Some(1_795_168_800_000));
        // An empty line of a stamped block keeps its stamp.
        assert_eq!(stamp_prefix(b"2026-11-20T10:00:00: "), Some((21, 19)));
        assert_eq!(stamp_prefix(b"2026-11-20T10:00:00:"), Some((20, 19)));
    }

    #[test]
    fn log_date_formats_with_zone_and_millis() {
        assert_eq!(ms("2026-11-20 10:00:00 +00:00: x"), Some(1_795_168_800_000));
        assert_eq!(ms("2026-11-20 11:00:00.250 +01:00: x"), Some(1_795_168_800_250));
        assert_eq!(ms("2026-11-20 11:00:00 +0100: x"), Some(1_795_168_800_000));
        assert_eq!(ms("2026-11-20 10:00:00: x"), Some(1_795_168_800_000));
    }

    /// `log_date_format: 'YYYY-MM-DD HH:mm Z'` has no seconds.
    #[test]
    fn stamps_to_the_minute() {
        assert_eq!(stamp_prefix(b"2018-09-24 17:53 +00:00: You have triggered"), Some((25, 23)));
        assert_eq!(ms("2026-11-20 11:00 +01:00: x"), Some(1_795_168_800_000));
        assert_eq!(ms("2026-11-20 10:00: x"), Some(1_795_168_800_000));
        assert_eq!(stamp_prefix(b"2026-11-20 10:00:5: x"), None);
    }

    #[test]
    fn bracketed_daemon_stamps() {
        assert_eq!(stamp_prefix(b"[2018-02-23 12:49:01] PM2 log: x"), Some((22, 21)));
        assert!(ms("[2018-08-15T23:22:52.026Z] PM2 log: x").is_some());
    }

    #[test]
    fn json_timestamp_and_render() {
        let t = to_epoch_ms(b"2026-11-23T05:12:35.770Z", Zone::Utc).expect("iso");
        assert_eq!(render(t, Zone::Utc), "2026-11-23T05:12:35.770Z");
        let plus2 = Zone::parse("+02:00").expect("zone");
        assert_eq!(render(1_795_168_800_000, plus2), "2026-11-20T12:00:00+02:00");
    }

    #[test]
    fn caddy_times() {
        assert_eq!(to_epoch_ms(b"1795413112.6492145", Zone::Utc), Some(1_795_413_112_649));
        assert_eq!(to_epoch_ms(b"12.5", Zone::Utc), None);
        assert_eq!(to_epoch_ms(b"1795413112", Zone::Utc), Some(1_795_413_112_000));
        assert_eq!(to_epoch_ms(b"1795413112.", Zone::Utc), None);
        assert_eq!(ms("2023/05/21 09:58:05.456\tERROR\tx"), Some(1_684_663_085_456));
    }

    /// Found by `fuzz/run.sh` (target `timestamp`): an exponent made
    /// `f64` parsing return 4.1e22 s, saturating to `i64::MAX` ms.
    #[test]
    fn epoch_seconds_take_no_exponent() {
        assert_eq!(to_epoch_ms(b"413116492e14", Zone::Utc), None);
        assert_eq!(to_epoch_ms(b"1795413112.6492e145", Zone::Utc), None);
        assert_eq!(to_epoch_ms(b"1795413112.1.2", Zone::Utc), None);
        assert_eq!(to_epoch_ms(b"99999999999.999", Zone::Utc), Some(99_999_999_999_999));
    }

    #[test]
    fn not_stamps() {
        assert_eq!(stamp_prefix(b"2026-11-20 is the day"), None);
        // The shape is a stamp (and is stripped), the date does not exist.
        assert_eq!(stamp_prefix(b"2026-13-40T10:00:00: bad date"), Some((21, 19)));
        assert_eq!(to_epoch_ms(b"2026-13-40T10:00:00", Zone::Utc), None);
        assert_eq!(stamp_prefix(b"10:00:00 only a time"), None);
        assert_eq!(stamp_prefix(b""), None);
    }

    /// 2026-11-20T10:00:00Z in ms.
    const AT: i64 = 1_795_168_800_000;

    /// One instant written with offsets of both signs, half-hour ones and
    /// the extremes, with and without a colon or a space before the zone.
    #[test]
    fn offsets_of_both_signs_and_half_hours() {
        for (stamp, want) in [
            ("2026-11-20T10:00:00Z", AT),
            ("2026-11-20T10:00:00+00:00", AT),
            ("2026-11-20T10:00:00-00:00", AT),
            ("2026-11-20T11:00:00+01:00", AT),
            ("2026-11-20T05:00:00-05:00", AT),
            ("2026-11-20T15:30:00+05:30", AT),
            ("2026-11-20T15:30:00+0530", AT),
            ("2026-11-20 15:30:00 +05:30", AT),
            ("2026-11-20T06:30:00-03:30", AT),
            ("2026-11-20T06:30:00-0330", AT),
            ("2026-11-20T15:45:00+05:45", AT),
            ("2026-11-21T00:00:00+14:00", AT),
            ("2026-11-19T22:00:00-12:00", AT),
            ("2026-11-20T23:59:00+13:59", AT),
            ("2026-11-19T20:01:00-13:59", AT),
            ("2026-11-20T15:30+05:30", AT),
            ("[2026-11-20T15:30:00+05:30]", AT),
        ] {
            assert_eq!(to_epoch_ms(stamp.as_bytes(), Zone::Utc), Some(want), "{stamp}");
            // A written offset wins over the zone for unzoned stamps.
            let other = Zone::parse("-07:00").expect("zone");
            assert_eq!(to_epoch_ms(stamp.as_bytes(), other), Some(want), "{stamp} in -07:00");
        }
        // Without an offset, the zone decides, both signs and half hours.
        for (zone, want) in [("+05:30", AT - 19_800_000), ("-03:30", AT + 12_600_000), ("utc", AT), ("Z", AT)] {
            let zone = Zone::parse(zone).expect("zone");
            assert_eq!(to_epoch_ms(b"2026-11-20T10:00:00", zone), Some(want), "{zone:?}");
        }
        let half = Zone::parse("+05:30").expect("zone");
        assert_eq!(render(AT, half), "2026-11-20T15:30:00+05:30");
        assert_eq!(render(AT + 500, Zone::parse("-03:30").expect("zone")), "2026-11-20T06:30:00.500-03:30");
    }

    /// A wall time written without a zone (`--since 2026-11-20T10:00`) is
    /// read in the zone asked for; a time daylight saving skipped is none.
    #[test]
    fn wall_times_are_read_in_the_zone() {
        let naive = parse_iso(b"2026-11-20T10:00:00").expect("stamp").0;
        assert_eq!(Zone::Utc.instant(naive), Some(AT));
        assert_eq!(Zone::parse("+05:30").expect("zone").instant(naive), Some(AT - 19_800_000));
        assert_eq!(Zone::parse("-03:30").expect("zone").instant(naive), Some(AT + 12_600_000));
        let berlin = Zone::parse("Europe/Berlin").expect("zone");
        assert_eq!(berlin.instant(naive), Some(AT - 3_600_000));
        let skipped = parse_iso(b"2026-03-29T02:30:00").expect("stamp").0;
        assert_eq!(berlin.instant(skipped), None);
    }

    /// 1 to 9 fraction digits, after a point or a comma: milliseconds are
    /// the first three, the rest is dropped (not rounded); the shape takes
    /// them all, so the prefix ends where the stamp does.
    #[test]
    fn fractions_of_one_to_nine_digits() {
        let digits = "987654321";
        let ms = [900, 980, 987, 987, 987, 987, 987, 987, 987];
        for n in 1..=9 {
            for point in ['.', ','] {
                let stamp = format!("2026-11-20T10:00:00{point}{}", &digits[..n]);
                assert_eq!(to_epoch_ms(stamp.as_bytes(), Zone::Utc), Some(AT + ms[n - 1]), "{stamp}");
                let line = format!("{stamp}: x");
                assert_eq!(stamp_prefix(line.as_bytes()), Some((20 + n + 2, 20 + n)), "{line}");
                let zoned = format!("{stamp}+05:30");
                assert_eq!(to_epoch_ms(zoned.as_bytes(), Zone::Utc), Some(AT + ms[n - 1] - 19_800_000), "{zoned}");
            }
        }
        assert_eq!(to_epoch_ms(b"2026-11-20T10:00:00.5", Zone::Utc), Some(AT + 500));
        assert_eq!(to_epoch_ms(b"2026-11-20T10:00:00.05Z", Zone::Utc), Some(AT + 50));
        assert_eq!(to_epoch_ms(b"2026-11-20T10:00:00.005 +00:00", Zone::Utc), Some(AT + 5));
    }

    /// `[STAMP] msg` (a launcher's or a logger's brackets) is a prefix
    /// with its brackets and the space; without the `]` right after the
    /// time (`[2026-12-05 10:00:00 INFO] ...`: a level inside the
    /// brackets) it is no prefix, and the message keeps every byte.
    #[test]
    fn a_bracketed_stamp_needs_its_closing_bracket() {
        assert_eq!(lead(b"[2026-12-05 10:00:00] started"), Lead::Prefix(22, 21));
        assert_eq!(lead(b"[2026-12-05 10:00:00]started"), Lead::Prefix(21, 21));
        assert_eq!(lead(b"[2026-12-05 10:00:00 INFO] started"), Lead::Neither);
        assert_eq!(lead(b"[2026-12-05 10:00:00"), Lead::Neither);
    }

    /// Every digit and separator of the date and time is checked, each on
    /// its own: a letter, a colon or a slash in place of any one of them
    /// is no stamp shape (else the line would lose its first bytes as a
    /// prefix that is none).
    #[test]
    fn every_digit_and_separator_of_a_shape_counts() {
        let good = b"2026-12-05T10:00:00 msg";
        assert_eq!(shape_len(good), Some(19));
        for at in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] {
            for bad in [b'x', b':', b'/'] {
                let mut line = good.to_vec();
                line[at] = bad;
                // A slash may separate the date, a colon the time.
                let allowed = (bad == b'/' && (at == 4 || at == 7)) || (bad == b':' && at == 13);
                if !allowed {
                    assert_eq!(shape_len(&line), None, "{}", String::from_utf8_lossy(&line));
                }
            }
        }
    }

    /// Stamps that are malformed are refused, never read as some other
    /// time: an offset out of range (not the stamp without it, hours off),
    /// a wrong separator, a date or time that does not exist, a point
    /// without digits.
    #[test]
    fn malformed_stamps_are_refused() {
        for stamp in [
            "2026-11-20T10:00:00+24:00",
            "2026-11-20T10:00:00-24:00",
            "2026-11-20T10:00:00+2400",
            "2026-11-20T10:00:00+05:60",
            "2026-11-20T10:00:00-0399",
            "2026-11-20T10:00:00 +99:99",
            "2026-11-20T10:00+24:00",
            "2026-11x20T10:00:00Z",
            "2026x11-20T10:00:00Z",
            "2026-11-20X10:00:00Z",
            "2026-11-20T10-00:00",
            "2026-02-30T10:00:00Z",
            "2026-13-01T10:00:00Z",
            "2026-11-20T24:00:00Z",
            "2026-11-20T10:60:00Z",
            "2026-11-20T10:00:60Z",
            "2026-11-20T10:00:00.",
            "2026-11-20T10:00:00.Z",
            "2026-11-20T10:00:00,",
            "2026-11-20",
            "2026-11-20T10",
        ] {
            assert_eq!(to_epoch_ms(stamp.as_bytes(), Zone::Utc), None, "{stamp}");
            let line = format!("{stamp}: message");
            let n = stamp_prefix(line.as_bytes()).map(|(_, n)| n);
            let read = n.and_then(|n| to_epoch_ms(&line.as_bytes()[..n], Zone::Utc));
            assert_eq!(read, None, "{line}: prefix {n:?}");
        }
        for zone in ["+24:00", "-24:00", "+05:60", "+5:30", "05:30", "+05:30:00", "Mars/Olympus"] {
            assert_eq!(Zone::parse(zone), None, "{zone}");
        }
        // An offset-shaped token that is no offset ends no stamp's shape.
        assert_eq!(shape_len(b"2026-11-20T10:00:00+24:00 x"), None);
        assert_eq!(shape_len(b"2026-11-20T10:00:00+5 x"), Some(19));
        // Digits then no minutes are no offset at all: the stamp ends
        // before them and is read in the zone.
        assert_eq!(shape_len(b"2026-11-20T10:00:00 +10 retries"), Some(19));
        assert_eq!(to_epoch_ms(b"2026-11-20T10:00:00 +10 retries", Zone::Utc), Some(AT));
    }
}
