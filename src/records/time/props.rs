//! Properties of the whole records stage on generated logs: a stamp of any
//! shape, anywhere in the allowed prefix (behind any tags, within the
//! window), is found with its exact instant; lines whose only times are
//! message text leave the file untimed. Never a wrong time. Times of day
//! with no date before them keep their exact spans on the file's own clock
//! and never become an instant, down to the incidents built on them.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Offset, TimeDelta, Timelike};
use proptest::prelude::*;

use std::sync::{Arc, OnceLock};

use crate::correlate::window;
use crate::input::{Origin, SourceSpec, Stream, classify};
use crate::records::{DayTime, FileShape, Segmenter, Zone, build};
use crate::rules::{RuleSet, compile_all};
use crate::scan::{ScanOptions, scan_sources};

/// Tags loggers put before a time (see `position`), each ending where the
/// next part starts, and how many tags each counts for (colour codes are
/// free).
const TAGS: &[(&str, usize)] = &[
    ("[ERROR] ", 1),
    ("[INFO] ", 1),
    ("INFO ", 1),
    ("ERROR:", 1),
    ("warn, ", 1),
    ("W, ", 1),
    ("(MainThread) ", 1),
    ("<134>", 1),
    ("4242 ", 1),
    ("- ", 1),
    ("| ", 1),
    ("myapp: ", 1),
    ("\x1b[31m", 0),
    ("\x1b[1m\x1b[33m", 0),
    ("[Nest] 4242  - ", 3),
];

/// The index of `myapp: ` in [`TAGS`]: Go's `log` prefix, a tag only at
/// the very start of a line.
const LEAD_ONLY: usize = 11;

/// Tags for one line, `n` of them: [`LEAD_ONLY`] only first.
fn line_tags(n: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..TAGS.len(), n).prop_map(|mut tags| {
        let lead = tags.first() == Some(&LEAD_ONLY);
        let mut k = 0;
        tags.retain(|&t| {
            k += 1;
            t != LEAD_ONLY || (lead && k == 1)
        });
        tags
    })
}

/// Message text after the stamp: its first word is message text, the
/// rest has time-like tokens that must not count.
const WORDS: &[&str] =
    &["10:00:01", "1.2.3", ":4002", "1100", "127.0.0.1", "2026-11-20", "Nov", "20/Nov/2026:10:00:01"];
const FIRST: &[&str] = &["job", "GET", "connect", "worker", "wrote"];

/// How a stamp is written.
#[derive(Debug, Clone, Copy)]
enum Style {
    /// `T` or space, `-` or `/`, fraction separator and digits (0: none),
    /// zone: 0 none, 1 `Z`, 2 `±HH:MM`, 3 `±HHMM`.
    Iso {
        t: bool,
        slash: bool,
        comma: bool,
        frac: usize,
        zone: u8,
    },
    Clf,
    LocaleUs,
    Syslog,
    /// 12-hour with AM/PM, or 24-hour with a fraction of 0-3 digits.
    TimeOfDay {
        twelve: bool,
        frac: usize,
    },
}

fn style() -> impl Strategy<Value = Style> {
    prop_oneof![
        (any::<bool>(), any::<bool>(), any::<bool>(), 0usize..=9, 0u8..4)
            .prop_map(|(t, slash, comma, frac, zone)| Style::Iso { t, slash, comma, frac, zone }),
        Just(Style::Clf),
        Just(Style::LocaleUs),
        Just(Style::Syslog),
        (any::<bool>(), 0usize..=3).prop_map(|(twelve, frac)| Style::TimeOfDay { twelve, frac }),
    ]
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The stamp text of `dt` (written at `offset` minutes east, if the style
/// writes one) and whether the stamp must be bracketed to be found.
fn render(style: Style, dt: NaiveDateTime, offset: i32) -> String {
    let frac_digits = |n: usize| {
        let nanos = format!("{:09}", dt.nanosecond());
        nanos[..n].to_string()
    };
    let zone = |colon: bool| {
        let sign = if offset < 0 { '-' } else { '+' };
        let (h, m) = (offset.abs() / 60, offset.abs() % 60);
        if colon { format!("{sign}{h:02}:{m:02}") } else { format!("{sign}{h:02}{m:02}") }
    };
    match style {
        Style::Iso { t, slash, comma, frac, zone: z } => {
            let date = if slash { dt.format("%Y/%m/%d") } else { dt.format("%Y-%m-%d") };
            let mut s = format!("{date}{}{}", if t { 'T' } else { ' ' }, dt.format("%H:%M:%S"));
            if frac > 0 {
                s.push(if comma { ',' } else { '.' });
                s.push_str(&frac_digits(frac));
            }
            match z {
                1 => s.push('Z'),
                2 => s.push_str(&zone(true)),
                3 => s.push_str(&zone(false)),
                _ => {}
            }
            s
        }
        Style::Clf => format!("[{} {}]", dt.format("%d/%b/%Y:%H:%M:%S"), zone(false)),
        Style::LocaleUs => format!("{}, {}", dt.format("%-m/%-d/%Y"), dt.format("%-I:%M:%S %p")),
        Style::Syslog => format!("{} {:>2} {}", MONTHS[dt.month0() as usize], dt.day(), dt.format("%H:%M:%S")),
        Style::TimeOfDay { twelve: true, .. } => format!("[{}]", dt.format("%-I:%M:%S %p")),
        Style::TimeOfDay { twelve: false, frac } => {
            let f = if frac > 0 { format!(".{}", frac_digits(frac)) } else { String::new() };
            format!("[{}{f}]", dt.format("%H:%M:%S"))
        }
    }
}

/// Whether the style writes its offset.
fn zoned(style: Style) -> bool {
    matches!(style, Style::Clf | Style::Iso { zone: 1..=3, .. })
}

/// What a reader of the line knows: milliseconds, fraction truncated.
fn instant(style: Style, dt: NaiveDateTime, offset: i32, zone_east: i32) -> i64 {
    let ms_only = dt.with_nanosecond(dt.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(dt);
    let kept = match style {
        Style::Iso { frac, .. } => {
            let keep = 10u32.pow(9 - frac.min(3) as u32);
            ms_only.with_nanosecond(ms_only.nanosecond() / keep * keep).unwrap_or(ms_only)
        }
        Style::TimeOfDay { twelve: false, frac } => {
            let keep = 10u32.pow(9 - frac.min(3) as u32);
            ms_only.with_nanosecond(ms_only.nanosecond() / keep * keep).unwrap_or(ms_only)
        }
        _ => ms_only.with_nanosecond(0).unwrap_or(ms_only),
    };
    let written = match style {
        Style::Iso { zone: 1, .. } => 0,
        s if zoned(s) => offset,
        _ => zone_east,
    };
    (kept - TimeDelta::minutes(written.into())).and_utc().timestamp_millis()
}

/// A line: tags, the stamp, message text.
fn line(style: Style, tags: &[usize], stamp: &str, words: &[usize]) -> String {
    let mut s = String::new();
    if matches!(style, Style::Clf) {
        s.push_str("127.0.0.1 - frank ");
    } else {
        tags.iter().for_each(|&t| s.push_str(TAGS[t].0));
    }
    s.push_str(stamp);
    s.push(' ');
    s.push_str(FIRST[words[0] % FIRST.len()]);
    for &w in &words[1..] {
        s.push(' ');
        s.push_str(WORDS[w % WORDS.len()]);
    }
    s
}

/// The times of the records of `text` as the records stage gives them.
fn times(text: &str, zone: Zone, reference: i64) -> Vec<(u64, Option<i64>)> {
    let shape = FileShape::sniff(text.as_bytes(), Stream::Out).with_reference(|| Some(reference));
    Segmenter::new(text.as_bytes(), shape).map(|s| (s.line, build(text.as_bytes(), s, shape, zone).ts)).collect()
}

/// A start in 2000-2099 and steps under 12 hours: times of day roll over
/// midnight unambiguously.
fn start() -> impl Strategy<Value = NaiveDateTime> {
    (2000i32..2100, 1u32..=12, 1u32..=28, 0i64..86_400_000_000_000).prop_map(|(y, m, d, ns)| {
        let day = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        day.and_hms_opt(0, 0, 0).unwrap_or_default() + TimeDelta::nanoseconds(ns)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn a_stamp_in_the_allowed_prefix_is_found_with_its_instant(
        style in style(),
        first in start(),
        steps in proptest::collection::vec(0i64..43_000_000_000_000, 1..12),
        tags in proptest::collection::vec(line_tags(0..=3), 12),
        words in proptest::collection::vec(proptest::collection::vec(0usize..64, 1..5), 12),
        offset in -(14 * 60)..=(14 * 60i32),
        zone_east in -(12 * 60)..=(12 * 60i32),
    ) {
        let mut dts = vec![first];
        for s in &steps {
            let last = dts[dts.len() - 1];
            dts.push(last + TimeDelta::nanoseconds(*s));
        }
        let mut text = String::new();
        let mut want = Vec::new();
        if matches!(style, Style::TimeOfDay { .. }) {
            // A time of day needs a full date before it.
            text.push_str(&format!("{} bridge starting\n", first.format("%Y-%m-%dT%H:%M:%S%.3f")));
            want.push(instant(Style::Iso { t: true, slash: false, comma: false, frac: 3, zone: 0 }, first, 0, zone_east));
        }
        for (i, dt) in dts.iter().enumerate() {
            let stamp = render(style, *dt, offset);
            let l = line(style, &tags[i], &stamp, &words[i]);
            // The allowed prefix: at most so many tags, and the stamp starts
            // within the window.
            prop_assume!(tags[i].iter().map(|&t| TAGS[t].1).sum::<usize>() <= super::position::MAX_TAGS);
            prop_assume!(l.find(&stamp).is_some_and(|at| at < super::position::WINDOW));
            text.push_str(&l);
            text.push('\n');
            want.push(instant(style, *dt, offset, zone_east));
        }
        let reference = dts[dts.len() - 1].and_utc().timestamp_millis() + 3_600_000;
        let zone = Zone::Fixed(chrono::FixedOffset::east_opt(zone_east * 60).unwrap_or(chrono::Utc.fix()));
        let got = times(&text, zone, reference);
        let want: Vec<(u64, Option<i64>)> = want.into_iter().enumerate().map(|(i, t)| (i as u64 + 1, Some(t))).collect();
        prop_assert_eq!(got, want, "\n{}", text);
    }

    #[test]
    fn times_in_message_text_leave_a_file_untimed(
        tags in proptest::collection::vec(line_tags(0..=3), 1..12),
        words in proptest::collection::vec(proptest::collection::vec(0usize..64, 1..8), 12),
    ) {
        let text: String = tags
            .iter()
            .zip(&words)
            .map(|(t, w)| {
                let mut l: String = t.iter().map(|&i| TAGS[i].0).collect();
                l.push_str(FIRST[w[0] % FIRST.len()]);
                w[1..].iter().for_each(|&x| { l.push(' '); l.push_str(WORDS[x % WORDS.len()]); });
                l + "\n"
            })
            .collect();
        let got = times(&text, Zone::Utc, 1_795_168_800_000);
        prop_assert!(got.iter().all(|(_, t)| t.is_none()), "{:?}\n{}", got, text);
    }
}

/// A file of times of day: `style` (12-hour or 24-hour with a fraction)
/// from `first` on, one step (under 12 hours, so midnight is seen) per
/// line, each behind `tags` and holding `MARK-i`; with `date_at`, a full
/// date line at line `date_at`'s instant before it. Returns the text, each
/// marked line's instant as written, and the index of the first dated one;
/// None when the tags are too many, or when the file would be as much
/// full dates as times of day (one of each: the first line's shape wins
/// the sniff, see `Tally::winner`, and the file is not one of times of
/// day).
fn own_clock_log(
    style: Style,
    first: NaiveDateTime,
    steps: &[i64],
    tags: &[Vec<usize>],
    date_at: Option<usize>,
) -> Option<(String, Vec<i64>, usize)> {
    let mut dts = vec![first];
    for s in steps {
        let last = dts[dts.len() - 1];
        dts.push(last + TimeDelta::milliseconds(*s));
    }
    let dated = date_at.map_or(dts.len(), |k| k.min(dts.len()));
    if dated < dts.len() && dts.len() < 2 {
        return None;
    }
    let mut text = String::new();
    let mut instants = Vec::new();
    for (i, dt) in dts.iter().enumerate() {
        if i == dated {
            text.push_str(&format!("{} bridge: restarted\n", dt.format("%Y-%m-%dT%H:%M:%S%.3f")));
        }
        let stamp = render(style, *dt, 0);
        let mut l: String = tags[i].iter().map(|&t| TAGS[t].0).collect();
        if tags[i].iter().map(|&t| TAGS[t].1).sum::<usize>() > super::position::MAX_TAGS || l.len() >= 40 {
            return None;
        }
        l.push_str(&stamp);
        text.push_str(&format!("{l} MARK-{i} order accepted\n"));
        instants.push(instant(style, *dt, 0, 0));
    }
    Some((text, instants, dated))
}

fn time_of_day_style() -> impl Strategy<Value = Style> {
    (any::<bool>(), 0usize..=3).prop_map(|(twelve, frac)| Style::TimeOfDay { twelve, frac })
}

/// A threshold over the marked lines of a file (two within 90 s) and a
/// marker with every marked line.
fn marker_rules() -> Arc<RuleSet> {
    static RULES: OnceLock<Arc<RuleSet>> = OnceLock::new();
    RULES
        .get_or_init(|| {
            let pack = r#"
[[rule]]
id = "p.burst"
title = "{count} marks within {window}, from {first_seen} to {last_seen}"
severity = "high"
regex = 'MARK-(?P<n>\d+)'
group_by = ["file"]
correlate = { kind = "threshold", count = 2, window = "90s" }
fix = "f {first_seen}"

[[rule]]
id = "p.marks"
title = "marks from {first_seen} to {last_seen}"
severity = "low"
regex = 'MARK-\d+'
group_by = ["file"]
fix = "f"
"#;
            Arc::new(compile_all(&[("p.toml".into(), pack.into())]).unwrap_or_else(|e| panic!("{e:?}")))
        })
        .clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Before any full date, times of day are exact spans on the file's
    /// own clock (its first time of day, then every step, across
    /// midnights) and never an instant; from the date on, instants only.
    #[test]
    fn times_of_day_before_a_date_are_spans_on_the_files_clock(
        style in time_of_day_style(),
        first in start(),
        steps in proptest::collection::vec(0i64..43_000_000, 0..12),
        tags in proptest::collection::vec(line_tags(0..=2), 13),
        date_at in proptest::option::of(0usize..14),
    ) {
        let Some((text, instants, dated)) = own_clock_log(style, first, &steps, &tags, date_at) else {
            return Err(TestCaseError::reject("too many tags, or not a file of times of day"));
        };
        let shape = FileShape::sniff(text.as_bytes(), Stream::Out);
        let records: Vec<_> =
            Segmenter::new(text.as_bytes(), shape).map(|s| build(text.as_bytes(), s, shape, Zone::Utc)).collect();
        let marked: Vec<_> = records.iter().filter(|r| r.body.windows(5).any(|w| w == b"MARK-")).collect();
        prop_assert_eq!(marked.len(), instants.len(), "\n{}", text);
        let day = 86_400_000;
        let origin = instants[0].rem_euclid(day);
        for (i, r) in marked.iter().enumerate() {
            prop_assert!(r.ts.is_none() || r.day_time.is_none(), "line {} has both\n{}", i, text);
            if i < dated {
                let want = DayTime::from_ms(origin + instants[i] - instants[0]);
                prop_assert_eq!((r.ts, r.day_time), (None, want), "line {}\n{}", i, text);
            } else {
                prop_assert_eq!((r.ts, r.day_time), (Some(instants[i]), None), "line {}\n{}", i, text);
            }
        }
    }

    /// A time on a file's own clock never becomes an instant in an
    /// incident: an incident of the lines before the date has no
    /// `first_seen`, `last_seen` or evidence time, and its times of day;
    /// one with an instant has only dated lines. Bursts before the date
    /// are those of the true spans.
    #[test]
    fn a_time_on_a_files_clock_never_becomes_an_instant(
        style in time_of_day_style(),
        first in start(),
        steps in proptest::collection::vec(0i64..400_000, 1..12),
        tags in proptest::collection::vec(line_tags(0..=1), 13),
        date_at in proptest::option::of(0usize..14),
    ) {
        let Some((text, instants, dated)) = own_clock_log(style, first, &steps, &tags, date_at) else {
            return Err(TestCaseError::reject("too many tags, or not a file of times of day"));
        };
        let spec = SourceSpec {
            id: 0,
            meta: classify("logs/api-out.log", "api-out.log"),
            origin: Origin::Memory(Arc::from(text.as_bytes())),
        };
        let opts = ScanOptions { threads: Some(1), ..ScanOptions::default() };
        let out = scan_sources(marker_rules(), vec![spec], vec![], &opts, std::time::Instant::now())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let all = out.incidents.into_vec().map_err(|e| TestCaseError::fail(e.to_string()))?;
        for i in &all {
            let marks: Vec<usize> = i.fields.get("n").map_or(Vec::new(), |n| n.iter().filter_map(|v| v.parse().ok()).collect());
            match &i.time_of_day {
                Some(tod) => {
                    prop_assert!(i.first_seen.is_none() && i.last_seen.is_none(), "{:?}\n{}", i, text);
                    prop_assert!(i.evidence.iter().all(|e| e.timestamp.is_none()), "{:?}", i);
                    let from = format!("from {} (date unknown) to {}", tod.first, tod.last);
                    prop_assert!(i.title.contains(&from), "{} lacks {}", i.title, from);
                }
                None => prop_assert!(i.first_seen.is_some() || dated == 0, "{:?}\n{}", i, text),
            }
            if i.rule == "p.burst" && i.time_of_day.is_some() {
                prop_assert!(marks.iter().all(|&m| m < dated), "{:?}\n{}", i, text);
            }
            if i.rule == "p.burst" && i.first_seen.is_some() {
                prop_assert!(marks.iter().all(|&m| m >= dated), "{:?}\n{}", i, text);
            }
        }
        let before: Vec<i64> = instants[..dated].to_vec();
        let want = window::bursts(&before, 2, 90_000).len();
        let got = all.iter().filter(|i| i.rule == "p.burst" && i.time_of_day.is_some()).count();
        prop_assert_eq!(got, want, "\n{}", text);
    }
}
