//! The text shapes of a stamp, each as two functions: a matcher that checks
//! the shape at an offset (digits and separators only, for every line of a
//! file that uses it) and a parser that reads the date and time it holds
//! (for the few lines whose time is needed).
//!
//! | shape | example | written by |
//! | --- | --- | --- |
//! | [`Shape::Iso`] | `2026-11-21 02:10:05,644`, `2026-11-20T10:00:01.123456789Z`, `2026/11/20 10:00:01` | Python `logging`, log4j/log4js, winston, Docker `logs -t`, Go's `log` |
//! | [`Shape::Clf`] | `20/Nov/2026:10:00:01 +0000` (inside `[...]`) | Common / Combined access logs |
//! | [`Shape::Syslog`] | `Nov 20 10:00:01`, `Nov  5 10:00:01.123456` | syslog (RFC 3164), `journalctl -o short[-precise]` |
//! | [`Shape::LocaleUs`] | `11/20/2026, 10:00:01 AM` | Node's `toLocaleString()` in en-US (NestJS's logger) |
//! | [`Shape::TimeOfDay`] | `14:20:03`, `14:20:03.123`, `2:20:03 PM` | pino-pretty, logback, Node's `toLocaleTimeString()` (@stoqey/ib) |
//! | [`Shape::Redis`] | `05 Dec 2026 09:27:51.027` (after `PID:ROLE `) | Redis server (`serverLogRaw`: `%d %b %Y %H:%M:%S.` and milliseconds) |

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::records::timestamp::{digits, fraction_ms, parse_iso, parse_offset, shape_len};

/// A stamp's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// ISO 8601 / RFC 3339 and its common relaxations: `T` or a space,
    /// `-` or `/` in the date, a fraction of 1 to 9 digits after `.` or
    /// `,`, a zone `Z` / `±HH:MM` / `±HHMM` or none.
    Iso,
    /// Common Log Format: `DD/Mon/YYYY:HH:MM:SS ±HHMM`, in brackets.
    Clf,
    /// RFC 3164 syslog: `Mon DD HH:MM:SS` (no year: it comes from the
    /// file's modification time).
    Syslog,
    /// Node's en-US `toLocaleString()`: `M/D/YYYY, h:mm:ss AM`. Only with
    /// its AM/PM: without it the order of day and month is unknown.
    LocaleUs,
    /// A time of day without a date: `HH:MM:SS[.fff]`, `h:mm:ss AM`; it is
    /// dated by the last full date before it in the file.
    TimeOfDay,
    /// The line is a JSON object; the time is a field of it, read when it
    /// is needed.
    Json,
    /// Redis server's `DD Mon YYYY HH:MM:SS.mmm` (`src/server.c`,
    /// `serverLogRaw`), written after the `PID:ROLE ` tag.
    Redis,
}

/// Shapes in the order they are tried (and win a tie when a file is
/// sniffed): the specific before the general.
pub const TEXT: [Shape; 6] = [Shape::Iso, Shape::Clf, Shape::Redis, Shape::Syslog, Shape::LocaleUs, Shape::TimeOfDay];

impl Shape {
    /// The bit of this shape in a [`Mask`].
    pub const fn bit(self) -> Mask {
        Mask(1 << self as u8)
    }

    /// Whether the shape holds a date (not only a time of day).
    pub fn dated(self) -> bool {
        !matches!(self, Shape::TimeOfDay | Shape::Json)
    }

    /// Its name in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Iso => "iso8601",
            Shape::Clf => "clf",
            Shape::Syslog => "syslog",
            Shape::LocaleUs => "locale-en-us",
            Shape::TimeOfDay => "time-only",
            Shape::Json => "json",
            Shape::Redis => "redis",
        }
    }
}

/// A set of shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mask(pub u8);

impl Mask {
    /// Returns true if and only if `shape` is in the set.
    pub fn has(self, shape: Shape) -> bool {
        self.0 & shape.bit().0 != 0
    }

    /// The union of two sets.
    pub const fn with(self, other: Mask) -> Mask {
        Mask(self.0 | other.0)
    }

    /// Returns true if and only if the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Every text shape.
pub const ANY_TEXT: Mask = Shape::Iso
    .bit()
    .with(Shape::Clf.bit())
    .with(Shape::Syslog.bit())
    .with(Shape::LocaleUs.bit())
    .with(Shape::TimeOfDay.bit())
    .with(Shape::Redis.bit());

/// The first of `mask`'s text shapes found at `at`: its shape and length.
pub fn at(s: &[u8], at: usize, mask: Mask) -> Option<(Shape, usize)> {
    let rest = s.get(at..)?;
    let first = *rest.first()?;
    let check = |shape: Shape, len: fn(&[u8]) -> Option<usize>| {
        if mask.has(shape) { len(rest).map(|n| (shape, n)) } else { None }
    };
    if first.is_ascii_digit() {
        check(Shape::Iso, iso_len)
            .or_else(|| check(Shape::Clf, clf_len))
            .or_else(|| check(Shape::Redis, redis_len))
            .or_else(|| check(Shape::LocaleUs, locale_us_len))
            .or_else(|| check(Shape::TimeOfDay, time_of_day_len))
    } else if first.is_ascii_uppercase() {
        check(Shape::Syslog, syslog_len)
    } else {
        None
    }
}

/// Returns true if and only if a stamp may end at `i`: the text ends, or
/// goes on with something that cannot continue a number (`10:00:01:02`,
/// `2026-11-20 10:00:00.5.6`, `10:00:01Z9` are not stamps).
pub fn ends(s: &[u8], i: usize) -> bool {
    match s.get(i) {
        None => true,
        Some(b) if b.is_ascii_alphanumeric() => false,
        Some(b':' | b'.' | b',' | b'/' | b'-') => !s.get(i + 1).is_some_and(u8::is_ascii_digit),
        Some(_) => true,
    }
}

fn iso_len(s: &[u8]) -> Option<usize> {
    let n = shape_len(s).or_else(|| compact(s).map(|(.., n)| n))?;
    ends(s, n).then(|| with_utc_word(s, n))
}

/// `n`, or past a ` UTC` / ` GMT` right after it: PostgreSQL's `%m` and
/// `%t` write the log time zone's abbreviation after the time
/// (`2026-12-05 17:35:42.890 UTC`, also in csvlog and jsonlog). Only these
/// two name one offset; other abbreviations (`CET`, `EST`, `IST`) are
/// ambiguous and are left to `--log-tz`.
pub fn with_utc_word(s: &[u8], n: usize) -> usize {
    match s.get(n..n + 4) {
        Some(b" UTC" | b" GMT") if ends(s, n + 4) && !matches!(s.get(n + 4), Some(b'+' | b'-')) => n + 4,
        _ => n,
    }
}

/// `YYYYMMDD HH:MM:SS[.fff]` (also with `T`): QuantConnect LEAN's log
/// stamps. The date must exist, so an 8-digit number is rarely one.
fn compact(s: &[u8]) -> Option<(NaiveDateTime, usize)> {
    let (year, month, day) = (digits(s, 0, 4)?, digits(s, 4, 2)?, digits(s, 6, 2)?);
    if !matches!(s.get(8), Some(b' ' | b'T')) {
        return None;
    }
    let (h, min, sec) = hms(s, 9, 2)?;
    let mut i = 17;
    let frac = fraction_at(s, i);
    let ms = if frac > 0 { fraction_ms(s, i + 1, frac)? } else { 0 };
    i += if frac > 0 { 1 + frac } else { 0 };
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    Some((date.and_hms_milli_opt(h, min, sec.min(59), ms)?, i))
}

const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// 1-based month of an English abbreviation.
fn month(s: &[u8]) -> Option<u32> {
    let m = s.get(..3)?;
    MONTHS.iter().position(|name| name.as_slice() == m).map(|i| i as u32 + 1)
}

/// `HH:MM:SS` at `at` (the hour has `h` digits): (hour, minute, second)
/// in range, or None.
fn hms(s: &[u8], at: usize, h: usize) -> Option<(u32, u32, u32)> {
    let hour = digits(s, at, h)?;
    if s.get(at + h) != Some(&b':') || s.get(at + h + 3) != Some(&b':') {
        return None;
    }
    let (min, sec) = (digits(s, at + h + 1, 2)?, digits(s, at + h + 4, 2)?);
    (hour < 24 && min < 60 && sec <= 60).then_some((hour, min, sec))
}

/// Digits of a fraction at `i` (`.123`, `,123456`): their count, 0 when
/// there is none.
fn fraction_at(s: &[u8], i: usize) -> usize {
    if !matches!(s.get(i), Some(b'.' | b',')) {
        return 0;
    }
    let n = s.get(i + 1..).map_or(0, |r| r.iter().take_while(|b| b.is_ascii_digit()).count());
    if (1..=9).contains(&n) { n } else { 0 }
}

/// After a time at `i`: an AM/PM marker, after a space, a no-break space
/// or the narrow no-break space newer ICU versions put there. Returns its
/// length and whether it is PM.
fn meridiem(s: &[u8], i: usize) -> Option<(usize, bool)> {
    let rest = s.get(i..)?;
    let gap = [&b" "[..], "\u{202f}".as_bytes(), "\u{a0}".as_bytes()].into_iter().find(|g| rest.starts_with(g))?;
    let pm = match rest.get(gap.len()..gap.len() + 2)? {
        b"AM" | b"am" => false,
        b"PM" | b"pm" => true,
        _ => return None,
    };
    Some((gap.len() + 2, pm))
}

/// A time of day: hour 0-23, minute, second, milliseconds.
type Hmsm = (u32, u32, u32, u32);

/// `HH:MM:SS[.fff]` or `h:mm:ss[.fff] AM`: the time, its length, and
/// whether it had an AM/PM marker.
fn time_of_day(s: &[u8]) -> Option<(Hmsm, usize, bool)> {
    let h = if s.get(1) == Some(&b':') { 1 } else { 2 };
    let (mut hour, min, sec) = hms(s, 0, h)?;
    let mut i = h + 6;
    let frac = fraction_at(s, i);
    let ms = if frac > 0 { fraction_ms(s, i + 1, frac)? } else { 0 };
    i += if frac > 0 { 1 + frac } else { 0 };
    let marked = meridiem(s, i);
    if let Some((len, pm)) = marked {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
        i += len;
    }
    ends(s, i).then_some(((hour, min, sec, ms), i, marked.is_some()))
}

fn time_of_day_len(s: &[u8]) -> Option<usize> {
    time_of_day(s).map(|(_, n, _)| n)
}

/// `Mon DD HH:MM:SS[.ffffff]`, the day padded with a space or a zero, or
/// not at all: (month, day, time, length).
fn syslog(s: &[u8]) -> Option<(u32, u32, Hmsm, usize)> {
    let m = month(s)?;
    if s.get(3) != Some(&b' ') {
        return None;
    }
    let (day, at) = match (s.get(4), s.get(5)) {
        (Some(b' '), Some(d)) if d.is_ascii_digit() => (digits(s, 5, 1)?, 6),
        (Some(_), Some(b' ')) => (digits(s, 4, 1)?, 5),
        _ => (digits(s, 4, 2)?, 6),
    };
    if s.get(at) != Some(&b' ') || !(1..=31).contains(&day) {
        return None;
    }
    let (hour, min, sec) = hms(s, at + 1, 2)?;
    let mut i = at + 9;
    let frac = fraction_at(s, i);
    let ms = if frac > 0 { fraction_ms(s, i + 1, frac)? } else { 0 };
    i += if frac > 0 { 1 + frac } else { 0 };
    ends(s, i).then_some((m, day, (hour, min, sec, ms), i))
}

fn syslog_len(s: &[u8]) -> Option<usize> {
    syslog(s).map(|(.., n)| n)
}

/// `DD/Mon/YYYY:HH:MM:SS[ ±HHMM]` (on a line, closed by `]`): (date-time,
/// offset, length).
fn clf(s: &[u8]) -> Option<(NaiveDateTime, Option<i32>, usize)> {
    let day = digits(s, 0, 2)?;
    if s.get(2) != Some(&b'/') || s.get(6) != Some(&b'/') || s.get(11) != Some(&b':') {
        return None;
    }
    let m = month(s.get(3..)?)?;
    let year = digits(s, 7, 4)?;
    let (h, min, sec) = hms(s, 12, 2)?;
    let (offset, len) = match s.get(20) {
        Some(b' ') => (Some(parse_offset(s.get(21..26)?)?), 26),
        _ => (None, 20),
    };
    Some((NaiveDate::from_ymd_opt(year as i32, m, day)?.and_hms_opt(h, min, sec)?, offset, len))
}

fn clf_len(s: &[u8]) -> Option<usize> {
    // The date must exist for the shape to count: the month name already
    // makes a look-alike rare, and this is one call per line. Usually in
    // brackets; Caddy v1's error log starts its lines with it bare.
    let (.., n) = clf(s)?;
    ends(s, n).then_some(n)
}

/// `DD Mon YYYY HH:MM:SS.mmm` (Redis): (date-time, length). The date must
/// exist.
fn redis(s: &[u8]) -> Option<(NaiveDateTime, usize)> {
    let day = digits(s, 0, 2)?;
    if s.get(2) != Some(&b' ') || s.get(6) != Some(&b' ') || s.get(11) != Some(&b' ') {
        return None;
    }
    let m = month(s.get(3..)?)?;
    let year = digits(s, 7, 4)?;
    let (h, min, sec) = hms(s, 12, 2)?;
    let mut i = 20;
    let frac = fraction_at(s, i);
    let ms = if frac > 0 { fraction_ms(s, i + 1, frac)? } else { 0 };
    i += if frac > 0 { 1 + frac } else { 0 };
    let date = NaiveDate::from_ymd_opt(year as i32, m, day)?;
    Some((date.and_hms_milli_opt(h, min, sec.min(59), ms)?, i))
}

fn redis_len(s: &[u8]) -> Option<usize> {
    let (_, n) = redis(s)?;
    ends(s, n).then_some(n)
}

/// `M/D/YYYY, h:mm:ss AM`: (date, time, length).
fn locale_us(s: &[u8]) -> Option<(NaiveDate, Hmsm, usize)> {
    let (m, i) = small(s, 0)?;
    if s.get(i) != Some(&b'/') {
        return None;
    }
    let (d, j) = small(s, i + 1)?;
    if s.get(j) != Some(&b'/') {
        return None;
    }
    let year = digits(s, j + 1, 4)?;
    if s.get(j + 5..j + 7) != Some(b", ") {
        return None;
    }
    let t = j + 7;
    let (time, n, marked) = time_of_day(s.get(t..)?)?;
    // The AM/PM marker is what tells month/day (en-US) from day/month.
    if !marked {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year as i32, m, d)?;
    Some((date, time, t + n))
}

/// One or two digits at `at`: the number and where it ends.
fn small(s: &[u8], at: usize) -> Option<(u32, usize)> {
    let n = s.get(at..)?.iter().take(3).take_while(|b| b.is_ascii_digit()).count();
    match n {
        1 | 2 => Some((digits(s, at, n)?, at + n)),
        _ => None,
    }
}

fn locale_us_len(s: &[u8]) -> Option<usize> {
    locale_us(s).map(|(.., n)| n)
}

/// What a stamp says: a date-time as written and its offset, or a time of
/// day alone, or a month and day without a year (syslog).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// A full date-time; the offset in seconds if one was written.
    Full(NaiveDateTime, Option<i32>),
    /// Milliseconds since midnight.
    TimeOfDay(u32),
    /// Month, day and the time: the year is not written.
    NoYear(u32, u32, NaiveTime),
}

/// Reads the stamp of `shape` at the start of `s`.
pub fn read(s: &[u8], shape: Shape) -> Option<Reading> {
    let naive_time = |(h, m, sec, ms): Hmsm| NaiveTime::from_hms_milli_opt(h, m, sec, ms);
    match shape {
        Shape::Iso => match parse_iso(s) {
            Some((naive, None)) if s.ends_with(b" UTC") || s.ends_with(b" GMT") => Some(Reading::Full(naive, Some(0))),
            Some((naive, off)) => Some(Reading::Full(naive, off)),
            None => compact(s).map(|(naive, _)| Reading::Full(naive, None)),
        },
        Shape::Clf => {
            let (naive, off, _) = clf(s)?;
            Some(Reading::Full(naive, off))
        }
        Shape::LocaleUs => {
            let (date, time, _) = locale_us(s)?;
            Some(Reading::Full(date.and_time(naive_time(time)?), None))
        }
        Shape::Syslog => {
            let (m, d, time, _) = syslog(s)?;
            Some(Reading::NoYear(m, d, naive_time(time)?))
        }
        Shape::TimeOfDay => {
            let ((h, m, sec, ms), ..) = time_of_day(s)?;
            Some(Reading::TimeOfDay(((h * 60 + m) * 60 + sec.min(59)) * 1000 + ms))
        }
        Shape::Redis => redis(s).map(|(naive, _)| Reading::Full(naive, None)),
        Shape::Json => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(s: &str) -> Option<(Shape, usize)> {
        at(s.as_bytes(), 0, ANY_TEXT)
    }

    #[test]
    fn iso_shapes() {
        assert_eq!(len("2026-11-21 02:10:05,644 ib_insync.wrapper ERROR x"), Some((Shape::Iso, 23)));
        assert_eq!(len("2026-11-20T10:00:01.123456789Z x"), Some((Shape::Iso, 30)));
        assert_eq!(len("2026-11-20T10:00:01+01:00"), Some((Shape::Iso, 25)));
        assert_eq!(len("2026/11/20 10:00:01 msg"), Some((Shape::Iso, 19)));
        assert_eq!(len("2026-11-20 10:00:01 - y - ERROR"), Some((Shape::Iso, 19)));
        assert_eq!(len("2026-11-20 10:00:01.5.6"), None);
        assert_eq!(len("2026-11-20 is the day"), None);
        // To the minute (a pm2 `log_date_format`, winston's `HH:mm`).
        assert_eq!(len("2026-11-20 10:00 +00:00 x"), Some((Shape::Iso, 23)));
        // QuantConnect LEAN's compact date.
        assert_eq!(len("20180404 21:10:58 Trace:: x"), Some((Shape::Iso, 17)));
        let Some(Reading::Full(dt, None)) = read(b"20180404 21:10:58.250", Shape::Iso) else { panic!() };
        assert_eq!(dt.to_string(), "2018-04-04 21:10:58.250");
        assert_eq!(len("20181399 21:10:58 x"), None, "no 99th of the 13th month");
        assert_eq!(len("12345678 10:00:01 x"), None);
    }

    /// PostgreSQL's `%m` (stderr, csvlog, jsonlog) names the zone: UTC and
    /// GMT are offset 0 whatever `--log-tz` says; other names are not read.
    #[test]
    fn iso_with_a_utc_word() {
        assert_eq!(len("2026-12-05 17:35:42.890 UTC [15796] LOG:  x"), Some((Shape::Iso, 27)));
        assert_eq!(len("2026-12-05 17:35:42 GMT"), Some((Shape::Iso, 23)));
        assert_eq!(len("2026-12-05 17:35:42.890 CET [1]"), Some((Shape::Iso, 23)));
        assert_eq!(len("2026-12-05 17:35:42.890 UTCX"), Some((Shape::Iso, 23)));
        let Some(Reading::Full(_, off)) = read(b"2026-12-05 17:35:42.890 UTC", Shape::Iso) else { panic!() };
        assert_eq!(off, Some(0));
    }

    #[test]
    fn times_of_day() {
        assert_eq!(len("14:20:03] x"), Some((Shape::TimeOfDay, 8)));
        assert_eq!(len("2:20:03 PM] x"), Some((Shape::TimeOfDay, 10)));
        assert_eq!(len("2:20:03\u{202f}PM"), Some((Shape::TimeOfDay, 12)));
        assert_eq!(len("10:00:01.123 [main]"), Some((Shape::TimeOfDay, 12)));
        assert_eq!(read(b"2:20:03 PM", Shape::TimeOfDay), Some(Reading::TimeOfDay(51_603_000)));
        assert_eq!(read(b"12:00:00 AM", Shape::TimeOfDay), Some(Reading::TimeOfDay(0)));
        assert_eq!(read(b"12:30:00 PM", Shape::TimeOfDay), Some(Reading::TimeOfDay(45_000_000)));
        assert_eq!(len("13:20:03 PM"), None, "no 13 PM");
        assert_eq!(len("10:00:01:02"), None);
        assert_eq!(len("24:00:00"), None);
        assert_eq!(len("10:60:00"), None);
    }

    #[test]
    fn syslog() {
        assert_eq!(len("Nov 20 10:00:01 host sshd[1]: x"), Some((Shape::Syslog, 15)));
        assert_eq!(len("Nov  5 10:00:01.123456 host"), Some((Shape::Syslog, 22)));
        assert_eq!(len("Nov 5 10:00:01 host"), Some((Shape::Syslog, 14)));
        assert_eq!(len("Now 20 10:00:01"), None);
        assert_eq!(len("Nov 32 10:00:01 host"), None);
        let t = NaiveTime::from_hms_milli_opt(10, 0, 1, 123).expect("time");
        assert_eq!(read(b"Nov  5 10:00:01.123456", Shape::Syslog), Some(Reading::NoYear(11, 5, t)));
    }

    #[test]
    fn common_log_format() {
        assert_eq!(len("20/Nov/2026:10:00:01 +0000] \"GET /\""), Some((Shape::Clf, 26)));
        assert_eq!(len("31/Nov/2026:10:00:01 +0000]"), None, "no 31 November");
        // Caddy v1's error log: no brackets.
        assert_eq!(len("19/Dec/2018:09:11:08 +0000 [ERROR 502 /] dial tcp"), Some((Shape::Clf, 26)));
        let Some(Reading::Full(dt, Some(off))) = read(b"20/Nov/2026:11:00:01 +0100", Shape::Clf) else { panic!() };
        assert_eq!((dt.to_string().as_str(), off), ("2026-11-20 11:00:01", 3600));
    }

    /// Redis 7.0.15 as the lab recorded it (`25761:S 05 Dec 2026 09:27:51.028 * ...`).
    #[test]
    fn redis_server() {
        assert_eq!(len("05 Dec 2026 09:27:51.028 * Ready to accept connections"), Some((Shape::Redis, 24)));
        assert_eq!(len("31 Nov 2026 09:27:51.028 *"), None, "no 31 November");
        assert_eq!(len("05 Dez 2026 09:27:51.028 *"), None);
        let Some(Reading::Full(dt, None)) = read(b"05 Dec 2026 09:27:51.028", Shape::Redis) else { panic!() };
        assert_eq!(dt.to_string(), "2026-12-05 09:27:51.028");
    }

    #[test]
    fn en_us_locale() {
        assert_eq!(len("11/20/2026, 10:00:01 AM   ERROR"), Some((Shape::LocaleUs, 23)));
        assert_eq!(len("12/5/2026, 8:57:45 PM"), Some((Shape::LocaleUs, 21)));
        // en-GB: day first, 24 hours, no marker: the order is unknown.
        assert_eq!(len("05/12/2026, 08:57:45 x"), None);
        assert_eq!(len("13/5/2026, 8:57:45 PM"), None, "no 13th month");
        let Some(Reading::Full(dt, None)) = read(b"12/5/2026, 8:57:45 PM", Shape::LocaleUs) else { panic!() };
        assert_eq!(dt.to_string(), "2026-12-05 20:57:45");
    }
}
