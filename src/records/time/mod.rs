//! Times where applications put them. pm2 stamps a line only when asked
//! (`--time`); most logs carry only the time their application's logger
//! wrote, near the start of the message. This module decides, once per
//! file, how its lines carry their time ([`TimeFormat`], from a sample of
//! its first lines, the way lnav detects a format: every candidate shape is
//! tried on the sample and the one that matches most lines wins), finds
//! that stamp on each line cheaply ([`find`]: digits and separators at a
//! few offsets), and turns it into an instant only for the lines whose
//! time is needed ([`resolve`]).
//!
//! Shapes and where they may stand are in [`shapes`] and [`position`];
//! JSON fields in [`json`]. A time of day alone is dated by the last full
//! date before it in the file ([`Clock`]); with none, its date is never
//! guessed: it gets a time on the file's own clock ([`DayTime`]), which
//! orders and spaces the file's records but names no day.

pub mod json;
pub mod position;
#[cfg(test)]
mod props;
pub mod shapes;

use std::fmt;
use std::num::NonZeroU64;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

pub use position::Found;
pub use shapes::{Mask, Shape};

use self::shapes::Reading;
use super::timestamp::{Zone, localize};

/// How a file's lines carry their time; decided from its first lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimeFormat {
    /// No time found.
    #[default]
    None,
    /// pm2's own prefix (`--time`, `log_date_format`, the daemon's stamps).
    Pm2Prefix,
    /// pm2 JSON logs (`log_type: json`): the object's `timestamp`.
    Pm2Json,
    /// Docker's json-file driver: the object's `time` (RFC 3339, ns).
    DockerJson,
    /// A `journalctl -o json` export: `__REALTIME_TIMESTAMP` (µs).
    JournalJson,
    /// A text stamp of this shape near the start of the message.
    Text(Shape),
    /// A JSON object per line with its time in this field.
    Json(json::Key, json::Holds),
}

impl TimeFormat {
    /// The shapes [`find`] looks for on each line: none for pm2's stamps
    /// (found by `prefix`) and untimed files; for a time of day, the dated
    /// shapes that may stand in its place too (they set the date).
    pub fn mask(self) -> Mask {
        match self {
            TimeFormat::Text(Shape::TimeOfDay) => {
                Shape::TimeOfDay.bit().with(Shape::Iso.bit()).with(Shape::Clf.bit()).with(Shape::LocaleUs.bit())
            }
            TimeFormat::Text(shape) => shape.bit(),
            TimeFormat::Json(..) => Shape::Json.bit(),
            _ => Mask::default(),
        }
    }

    /// Returns true if and only if lines are dated by a [`Clock`] kept
    /// along the file (times of day without a date).
    pub fn keeps_clock(self) -> bool {
        self == TimeFormat::Text(Shape::TimeOfDay)
    }

    /// Returns true if and only if the year comes from the file's
    /// modification time (syslog's `Nov 20 10:00:01`).
    pub fn needs_reference(self) -> bool {
        matches!(self, TimeFormat::Text(Shape::Syslog) | TimeFormat::Json(_, json::Holds::Text(Shape::Syslog)))
    }

    /// Returns true if and only if the file has times at all.
    pub fn timed(self) -> bool {
        self != TimeFormat::None
    }
}

impl fmt::Display for TimeFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeFormat::None => f.write_str("none"),
            TimeFormat::Pm2Prefix => f.write_str("pm2-prefix"),
            TimeFormat::Pm2Json => f.write_str("pm2-json"),
            TimeFormat::DockerJson => f.write_str("docker-json"),
            TimeFormat::JournalJson => f.write_str("journald-json"),
            TimeFormat::Text(shape) => f.write_str(shape.name()),
            TimeFormat::Json(key, holds) => write!(f, "json:{}({})", key.name(), holds.name()),
        }
    }
}

impl Serialize for TimeFormat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Counts, over a file's sample, how many lines each format would date.
#[derive(Debug, Default)]
pub struct Tally {
    /// (format, lines), in order of first appearance (ties go to the first).
    counts: Vec<(TimeFormat, usize)>,
}

impl Tally {
    /// Counts one line dated by `format`.
    pub fn add(&mut self, format: TimeFormat) {
        match self.counts.iter_mut().find(|(f, _)| *f == format) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((format, 1)),
        }
    }

    /// Counts the application stamp of a line without a pm2 one: `msg` is
    /// its message text.
    pub fn add_message(&mut self, msg: &[u8]) {
        if let Some(f) = position::find(msg, Shape::Json.bit(), None) {
            if let Some((key, holds)) = json::sniff(&msg[f.start..]) {
                self.add(TimeFormat::Json(key, holds));
            }
        } else if let Some(f) = position::find(msg, shapes::ANY_TEXT, None) {
            self.add(TimeFormat::Text(f.shape));
        }
    }

    /// The format of the most lines. pm2's own stamps win a tie: where a
    /// line has both, the pm2 prefix is its time, the same in every file.
    pub fn winner(&self) -> TimeFormat {
        let mut best = (TimeFormat::None, 0);
        for &(format, n) in &self.counts {
            let pm2 = matches!(format, TimeFormat::Pm2Prefix | TimeFormat::Pm2Json);
            let best_pm2 = matches!(best.0, TimeFormat::Pm2Prefix | TimeFormat::Pm2Json);
            if n > best.1 || (n == best.1 && pm2 && !best_pm2) {
                best = (format, n);
            }
        }
        best.0
    }
}

/// The stamp of a shape in `mask` on a line whose message text is `msg`
/// (after any pm2 prefix or `pm2 logs` column). `iso`: the length of an
/// ISO date-time already found at the start of `msg`, if any (see
/// `prefix::LineView::iso`).
#[inline]
pub fn find(msg: &[u8], mask: Mask, iso: Option<u8>) -> Option<Found> {
    if mask.is_empty() { None } else { position::find(msg, mask, iso) }
}

/// The date a time of day belongs to, kept line by line along a file
/// whose stamps are times of day: a full date sets it, and a time of day
/// more than 12 hours earlier than the one before it starts the next day
/// (the log went past midnight).
///
/// Before any full date the clock still counts: the file's first time of
/// day starts *day 0* of a count of its own, and each midnight passed adds
/// one. Such a day names no date; the times on it ([`DayTime`]) are right
/// within the file only. A full date later in the file switches the clock
/// to dates for the lines from there on.
///
/// A silence of more than a day between two times of day cannot be seen;
/// a full date in the file puts the date right again.
///
/// Eight bytes (every record span carries one): "none" is a value out of
/// each field's range, and a counted day is 2^30 plus its number,
/// far above any date's. Serialised as `{"day": .., "tod": ..}` with
/// nulls, plus `"counted_day"` for a counted day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ClockFields", into = "ClockFields")]
pub struct Clock {
    /// Days since 0001-01-01 (chrono's `num_days_from_ce`) of the current
    /// date; [`COUNTED`] + n on day n of a file with no date yet;
    /// [`NO_DAY`] before any stamp.
    day: i32,
    /// Milliseconds since midnight of the last stamp; [`NO_TOD`] before
    /// any.
    tod: u32,
}

/// No date yet: chrono's dates stay far inside `i32` days.
const NO_DAY: i32 = i32::MIN;
/// No time of day yet: a day has fewer milliseconds.
const NO_TOD: u32 = u32::MAX;
/// Day 0 of a file's own count of days: the dates stamps can write (years
/// 0000-9999) are days -366 to 3,652,059, so every value from here up is
/// a counted day.
const COUNTED: i32 = 1 << 30;

/// [`Clock`] as the `watch` state file holds it.
#[derive(Serialize, Deserialize)]
struct ClockFields {
    day: Option<i32>,
    tod: Option<u32>,
    /// Day n of the file's own count (see [`Clock`]); left out when the
    /// clock has a date or nothing (and in state files written before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    counted_day: Option<u32>,
}

impl From<ClockFields> for Clock {
    fn from(f: ClockFields) -> Clock {
        match (f.day, f.tod, f.counted_day) {
            (None, Some(tod), counted) => Clock::counted(counted.unwrap_or(0), tod),
            (day, tod, _) => Clock::new(day, tod),
        }
    }
}

impl From<Clock> for ClockFields {
    fn from(c: Clock) -> ClockFields {
        ClockFields { day: c.day(), tod: c.tod(), counted_day: c.counted_day() }
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock { day: NO_DAY, tod: NO_TOD }
    }
}

/// Half a day: a time of day this much earlier than the one before it is
/// on the next day.
const HALF_DAY_MS: u32 = 12 * 3600 * 1000;

/// Milliseconds in a day.
const DAY_MS: u64 = 24 * 3600 * 1000;

impl Clock {
    /// The clock after a line whose message `msg` holds `found`; None when
    /// the stamp does not read as a time (a date that does not exist,
    /// `2026-13-45 10:00:00`), which a file of times of day does not count
    /// as a stamp. Reading the same line twice changes nothing, so a record
    /// can be dated from the clock before its first line or after it.
    pub fn read(self, msg: &[u8], found: Found) -> Option<Clock> {
        match shapes::read(msg.get(found.start..found.end)?, found.shape)? {
            Reading::Full(naive, _) => Some(Clock::new(Some(naive.date().num_days_from_ce()), Some(ms_of_day(&naive)))),
            Reading::TimeOfDay(tod) => {
                let rolled = i32::from(self.tod().is_some_and(|prev| tod + HALF_DAY_MS < prev));
                let day = match self.day {
                    NO_DAY => COUNTED,
                    counted if counted >= COUNTED => counted.saturating_add(rolled),
                    // A date run past 9999 by roll-overs stays a date (and
                    // reads as none: chrono has no such day).
                    date => (date + rolled).min(COUNTED - 1),
                };
                Some(Clock { day, tod })
            }
            Reading::NoYear(..) => None,
        }
    }

    /// [`Clock::read`], keeping the clock as it was for a stamp that does
    /// not read.
    pub fn seen(self, msg: &[u8], found: Found) -> Clock {
        self.read(msg, found).unwrap_or(self)
    }

    /// A clock at `day` (see [`Clock::day`]) whose last stamp was at `tod`
    /// ms after midnight.
    pub fn new(day: Option<i32>, tod: Option<u32>) -> Clock {
        let day = day.filter(|d| *d < COUNTED).unwrap_or(NO_DAY);
        Clock { day, tod: tod.filter(|t| u64::from(*t) < DAY_MS).unwrap_or(NO_TOD) }
    }

    /// A clock on day `n` of a file's own count whose last stamp was at
    /// `tod` ms after midnight.
    pub fn counted(n: u32, tod: u32) -> Clock {
        let day = COUNTED.saturating_add(i32::try_from(n).unwrap_or(i32::MAX));
        Clock { day, tod: if u64::from(tod) < DAY_MS { tod } else { NO_TOD } }
    }

    /// Days since 0001-01-01 of the current date, once a full date was
    /// seen.
    pub fn day(&self) -> Option<i32> {
        (self.day != NO_DAY && self.day < COUNTED).then_some(self.day)
    }

    /// The day of the file's own count, while no full date was seen.
    pub fn counted_day(&self) -> Option<u32> {
        (self.day >= COUNTED).then(|| (self.day - COUNTED) as u32)
    }

    /// The time of the last stamp on the file's own clock, while no full
    /// date was seen.
    pub fn day_time(&self) -> Option<DayTime> {
        Some(DayTime::new(self.counted_day()?, self.tod()?))
    }

    /// Milliseconds since midnight of the last stamp.
    pub fn tod(&self) -> Option<u32> {
        (self.tod != NO_TOD).then_some(self.tod)
    }

    /// Returns true if and only if nothing was seen yet.
    pub fn is_unset(&self) -> bool {
        *self == Clock::default()
    }
}

/// A time known only within its file: a stamp's time of day in a file
/// with no full date before it, on the day of the file's own count (see
/// [`Clock`]). Two of one file are ordered and spaced as the log says, so
/// windows apply to them; one is never compared with another file's times
/// (its day is the file's count, not a date), and never shown as a date:
/// it renders its time of day alone ([`DayTime::time_of_day`]).
///
/// Held as milliseconds on the file's clock (day × 86,400,000 + the time
/// of day) plus one, so that an `Option<DayTime>` takes eight bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DayTime(NonZeroU64);

impl DayTime {
    /// The time `ms_of_day` ms after midnight on day `day` of the count
    /// (a time past the day's end is its last millisecond).
    pub fn new(day: u32, ms_of_day: u32) -> DayTime {
        let ms = u64::from(day) * DAY_MS + u64::from(ms_of_day).min(DAY_MS - 1);
        DayTime(NonZeroU64::MIN.saturating_add(ms))
    }

    /// The time [`DayTime::ms`] returns, back (the `watch` state file);
    /// None when negative or past the count's range.
    pub fn from_ms(ms: i64) -> Option<DayTime> {
        let ms = u64::try_from(ms).ok()?;
        let day = u32::try_from(ms / DAY_MS).ok()?;
        Some(DayTime::new(day, (ms % DAY_MS) as u32))
    }

    /// Milliseconds on the file's clock: spans between two times of one
    /// file are differences of these.
    pub fn ms(self) -> i64 {
        // At most (2^32 - 1) days: far inside i64 milliseconds.
        (self.0.get() - 1) as i64
    }

    /// The day of the file's count.
    pub fn day(self) -> u32 {
        ((self.0.get() - 1) / DAY_MS) as u32
    }

    /// Milliseconds since midnight.
    pub fn ms_of_day(self) -> u32 {
        ((self.0.get() - 1) % DAY_MS) as u32
    }

    /// `09:23:43`, or `09:23:43.250` when the stamp had milliseconds.
    pub fn time_of_day(self) -> String {
        let ms = self.ms_of_day();
        let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        match frac {
            0 => format!("{h:02}:{m:02}:{s:02}"),
            f => format!("{h:02}:{m:02}:{s:02}.{f:03}"),
        }
    }
}

impl Serialize for DayTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.ms())
    }
}

impl<'de> Deserialize<'de> for DayTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DayTime, D::Error> {
        let ms = i64::deserialize(d)?;
        DayTime::from_ms(ms).ok_or_else(|| serde::de::Error::custom(format!("{ms} is not a time on a file's clock")))
    }
}

fn ms_of_day(naive: &NaiveDateTime) -> u32 {
    use chrono::Timelike;
    naive.num_seconds_from_midnight() * 1000 + naive.nanosecond() / 1_000_000 % 1000
}

/// What turning a stamp into an instant may need besides the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// The file's format.
    pub format: TimeFormat,
    /// Zone of stamps written without one (`--log-tz`).
    pub zone: Zone,
    /// The clock after the line (times of day).
    pub clock: Clock,
    /// The file's modification time, ms since the epoch (syslog's year).
    pub reference: Option<i64>,
}

/// The instant of the stamp `found` in `msg`, in ms since the epoch; None
/// when it cannot be known (a time of day before any date, a syslog stamp
/// of a file with no modification time, a date that does not exist).
pub fn resolve(msg: &[u8], found: Found, ctx: &Context) -> Option<i64> {
    let text = msg.get(found.start..found.end)?;
    let reading = match (found.shape, ctx.format) {
        (Shape::Json, TimeFormat::Json(key, _)) => match json::read(text, key)? {
            json::Stamp::Epoch(ms) => return Some(ms),
            json::Stamp::Text(reading) => reading,
        },
        (Shape::Json, _) => return None,
        (shape, _) => shapes::read(text, shape)?,
    };
    match reading {
        Reading::Full(naive, offset) => localize(naive, offset, ctx.zone),
        Reading::TimeOfDay(tod) => {
            let date = NaiveDate::from_num_days_from_ce_opt(ctx.clock.day()?)?;
            let naive = date.and_hms_opt(0, 0, 0)?.checked_add_signed(chrono::TimeDelta::milliseconds(tod.into()))?;
            localize(naive, None, ctx.zone)
        }
        Reading::NoYear(month, day, time) => {
            let naive = with_year(month, day, time, ctx.reference?)?;
            localize(naive, None, ctx.zone)
        }
    }
}

/// A syslog stamp's year: the reference's, unless that puts the stamp
/// more than two days after the reference (the zone aside, a file cannot
/// hold lines written after it was last modified), then the year before:
/// December's lines read in January.
fn with_year(month: u32, day: u32, time: chrono::NaiveTime, reference: i64) -> Option<NaiveDateTime> {
    let reference = chrono::DateTime::from_timestamp_millis(reference)?.naive_utc();
    let limit = reference + chrono::TimeDelta::days(2);
    let year = reference.year();
    let this = NaiveDate::from_ymd_opt(year, month, day).map(|d| d.and_time(time));
    match this {
        Some(dt) if dt <= limit => Some(dt),
        // 29 February of a year that has none is read in the year before
        // too; if that has none either, it is not a date.
        _ => NaiveDate::from_ymd_opt(year - 1, month, day).map(|d| d.and_time(time)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(format: TimeFormat) -> Context {
        Context { format, zone: Zone::Utc, clock: Clock::default(), reference: None }
    }

    fn at(msg: &str, ctx: &Context) -> Option<i64> {
        let found = find(msg.as_bytes(), ctx.format.mask(), None)?;
        resolve(msg.as_bytes(), found, ctx)
    }

    #[test]
    fn full_dates_in_every_zone_mode() {
        let iso = ctx(TimeFormat::Text(Shape::Iso));
        assert_eq!(at("2026-11-20 10:00:00,644 x", &iso), Some(1_795_168_800_644));
        assert_eq!(at("2026-11-20T11:00:00.5+01:00 x", &iso), Some(1_795_168_800_500));
        let plus2 = Context { zone: Zone::parse("+02:00").expect("zone"), ..iso };
        assert_eq!(at("2026-11-20 12:00:00 x", &plus2), Some(1_795_168_800_000), "--log-tz applies");
        assert_eq!(at("2026-11-20 12:00:00Z x", &plus2), Some(1_795_176_000_000), "a written zone wins");
        let clf = ctx(TimeFormat::Text(Shape::Clf));
        assert_eq!(at("::1 - - [20/Nov/2026:11:00:00 +0100] \"GET /\"", &clf), Some(1_795_168_800_000));
        let us = ctx(TimeFormat::Text(Shape::LocaleUs));
        assert_eq!(at("[Nest] 1  - 11/20/2026, 10:00:00 AM   LOG x", &us), Some(1_795_168_800_000));
    }

    #[test]
    fn syslog_years_come_from_the_reference() {
        let mut c = ctx(TimeFormat::Text(Shape::Syslog));
        assert_eq!(at("Nov 20 10:00:00 host app: x", &c), None, "no reference, no year");
        c.reference = Some(1_795_168_800_000 + 3_600_000);
        assert_eq!(at("Nov 20 10:00:00 host app: x", &c), Some(1_795_168_800_000));
        // A December line in a file last written in January.
        c.reference = Some(1_798_761_600_000); // 2027-01-01T00:00:00Z
        assert_eq!(at("Dec 31 23:00:00 host app: x", &c), Some(1_798_758_000_000));
    }

    #[test]
    fn clocks_date_times_of_day_and_roll_over_midnight() {
        let format = TimeFormat::Text(Shape::TimeOfDay);
        let lines =
            ["[11:59:58 PM] a", "2026-11-20T23:59:59 full", "[11:59:59 PM] b", "[12:00:02 AM] c", "[12:00:01 AM] d"];
        let mut clock = Clock::default();
        let mut got = Vec::new();
        for line in lines {
            let found = find(line.as_bytes(), format.mask(), None).expect("stamp");
            clock = clock.seen(line.as_bytes(), found);
            assert_eq!(clock.seen(line.as_bytes(), found), clock, "seeing a line twice changes nothing");
            got.push(resolve(line.as_bytes(), found, &Context { clock, ..ctx(format) }));
        }
        let day = 1_795_132_800_000; // 2026-11-20T00:00:00Z
        let s = 1000;
        assert_eq!(
            got,
            vec![
                None,
                Some(day + 86_399 * s),
                Some(day + 86_399 * s),
                Some(day + 86_400 * s + 2 * s),
                Some(day + 86_400 * s + s),
            ]
        );
    }

    /// Before any full date the clock counts days of its own: times of
    /// day get a time on the file's clock, with its midnights, and no
    /// instant; from the first full date on, dates.
    #[test]
    fn clocks_count_their_own_days_until_a_date() {
        let format = TimeFormat::Text(Shape::TimeOfDay);
        let lines =
            ["[11:59:58 PM] a", "[12:00:02 AM] b", "[1:00:00 AM] c", "2026-11-20T10:00:00 full", "[10:00:01 AM] d"];
        let mut clock = Clock::default();
        let mut got = Vec::new();
        for line in lines {
            let found = find(line.as_bytes(), format.mask(), None).expect("stamp");
            clock = clock.read(line.as_bytes(), found).expect("reads");
            let at = resolve(line.as_bytes(), found, &Context { clock, ..ctx(format) });
            got.push((clock.day_time(), at));
        }
        let s = 1000;
        let day = 1_795_132_800_000; // 2026-11-20T00:00:00Z
        assert_eq!(
            got,
            vec![
                (Some(DayTime::new(0, 86_398 * s as u32)), None),
                (Some(DayTime::new(1, 2000)), None),
                (Some(DayTime::new(1, 3_600_000)), None),
                (None, Some(day + 36_000 * s)),
                (None, Some(day + 36_001 * s)),
            ]
        );
        assert_eq!(DayTime::new(1, 2000).ms() - DayTime::new(0, 86_398_000).ms(), 4000, "4 s across midnight");
    }

    /// A stamp of the shape whose date does not exist is no stamp to a
    /// clock: it neither moves it nor dates a line.
    #[test]
    fn stamps_that_do_not_read_leave_the_clock() {
        let format = TimeFormat::Text(Shape::TimeOfDay);
        let line = "2026-13-45 10:00:00 not a date";
        let found = find(line.as_bytes(), format.mask(), None).expect("the shape is there");
        let clock = Clock::counted(3, 1000);
        assert_eq!(clock.read(line.as_bytes(), found), None);
        assert_eq!(clock.seen(line.as_bytes(), found), clock);
    }

    #[test]
    fn times_on_a_files_clock_render_as_times_of_day() {
        assert_eq!(DayTime::new(0, 33_823_000).time_of_day(), "09:23:43");
        assert_eq!(DayTime::new(2, 33_823_250).time_of_day(), "09:23:43.250");
        let t = DayTime::new(2, 33_823_250);
        assert_eq!((t.day(), t.ms_of_day(), DayTime::from_ms(t.ms())), (2, 33_823_250, Some(t)));
        assert_eq!(DayTime::new(0, 0).ms(), 0);
        assert_eq!(DayTime::from_ms(-1), None);
        assert_eq!(std::mem::size_of::<Option<DayTime>>(), 8);
    }

    /// The clock's edges. Only a time *more* than 12 hours earlier than
    /// the one before it is past midnight; the file's own count of days
    /// and dates never turn into each other, however many midnights pass;
    /// a time of day is under a day, and a time on the file's clock ends
    /// its day at the day's last millisecond.
    #[test]
    fn clocks_keep_their_edges() {
        let format = TimeFormat::Text(Shape::TimeOfDay);
        let read = |clock: Clock, line: &str| {
            let found = find(line.as_bytes(), format.mask(), None).expect("stamp");
            clock.read(line.as_bytes(), found).expect("reads")
        };
        let noon = read(Clock::default(), "[12:00:00] a");
        assert_eq!(read(noon, "[00:00:00] b").day_time(), Some(DayTime::new(0, 0)), "12 h earlier: the same day");
        assert_eq!(read(noon, "[23:59:59] c").day_time(), Some(DayTime::new(0, 86_399_000)));
        let counted = Clock::counted(0, 5000);
        assert_eq!((counted.day(), counted.counted_day()), (None, Some(0)));
        // The last date a clock can hold, rolled past midnight: still a
        // date (that reads as none), never day 0 of a count.
        let last_date = Clock::new(Some(COUNTED - 1), Some(23 * 3_600_000));
        let rolled = read(last_date, "[01:00:00] d");
        assert_eq!((rolled.day(), rolled.counted_day(), rolled.day_time()), (Some(COUNTED - 1), None, None));
        let day_ms = DAY_MS as u32;
        assert_eq!(Clock::counted(0, day_ms).tod(), None);
        assert_eq!(Clock::counted(0, day_ms - 1).tod(), Some(day_ms - 1));
        let last_ms = DayTime::new(0, day_ms - 1);
        assert_eq!((last_ms.day(), last_ms.ms_of_day()), (0, day_ms - 1));
        assert_eq!((DayTime::new(1, 0).day(), DayTime::new(0, day_ms).day()), (1, 0));
    }

    /// The state file's clocks: a counted day round-trips, and a clock
    /// saved before days were counted (times of day, no date) is day 0.
    #[test]
    fn clocks_in_the_state_file() {
        let counted = Clock::counted(2, 5000);
        let text = serde_json::to_string(&counted).expect("json");
        assert_eq!(text, r#"{"day":null,"tod":5000,"counted_day":2}"#);
        assert_eq!(serde_json::from_str::<Clock>(&text).expect("back"), counted);
        let old: Clock = serde_json::from_str(r#"{"day":null,"tod":5000}"#).expect("old");
        assert_eq!(old, Clock::counted(0, 5000));
        let dated = Clock::new(Some(739_000), Some(5000));
        assert_eq!(serde_json::to_string(&dated).expect("json"), r#"{"day":739000,"tod":5000}"#);
        assert!(serde_json::from_str::<Clock>(r#"{"day":null,"tod":null}"#).expect("unset").is_unset());
    }

    #[test]
    fn tallies_pick_the_most_common_format() {
        let mut t = Tally::default();
        t.add_message(b"2026-11-20 10:00:00,1 x");
        t.add_message(b"[10:00:01] y");
        t.add_message(b"[10:00:02] z");
        assert_eq!(t.winner(), TimeFormat::Text(Shape::TimeOfDay));
        t.add(TimeFormat::Pm2Prefix);
        t.add(TimeFormat::Pm2Prefix);
        assert_eq!(t.winner(), TimeFormat::Pm2Prefix, "pm2 wins a tie");
        assert_eq!(Tally::default().winner(), TimeFormat::None);
        assert_eq!(TimeFormat::Json(json::Key::Time, json::Holds::EpochMs).to_string(), "json:time(epoch-ms)");
    }
}
