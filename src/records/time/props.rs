//! Properties of the whole records stage on generated logs: a stamp of any
//! shape, anywhere in the allowed prefix (behind any tags, within the
//! window), is found with its exact instant; lines whose only times are
//! message text leave the file untimed. Never a wrong time.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Offset, TimeDelta, Timelike};
use proptest::prelude::*;

use crate::input::Stream;
use crate::records::{FileShape, Segmenter, Zone, build};

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
        tags in proptest::collection::vec(proptest::collection::vec(0..TAGS.len(), 0..=3), 12),
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
        tags in proptest::collection::vec(proptest::collection::vec(0..TAGS.len(), 0..=3), 1..12),
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
