//! Correlation on a stream is the list-based correlation it replaced
//! ([`super::oracle`]): for random groups of every rule kind, with and
//! without `suppress`, on every clock (log times, a file's times of day,
//! file order, arrival times), each finding takes exactly the events the
//! lists gave it, in order, with the same facts; and each finding's
//! [`Fold`] is the fold of those events, so the incident built from it is
//! the one built from them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;

use crate::input::Stream;
use crate::matcher::Event;
use crate::records::DayTime;
use crate::rules::{Role, RuleSet, compile_all};

use super::{End, Finding, Fold, correlate_group, in_order, oracle};

/// One rule per kind, with and without `suppress` (shorter and longer
/// than the window), and `since` to describe.
const PACK: &str = r#"
[[rule]]
id = "p.single"
title = "t"
severity = "low"
regex = 'a'
fix = "f"

[[rule]]
id = "p.quiet"
title = "t"
severity = "low"
regex = 'b'
suppress = "1m"
fix = "f"

[[rule]]
id = "p.burst"
title = "t"
severity = "high"
regex = 'c'
correlate = { kind = "threshold", count = 3, window = "1m" }
fix = "f"

[[rule]]
id = "p.burst-long"
title = "t"
severity = "high"
regex = 'd'
correlate = { kind = "threshold", count = 2, window = "1m" }
suppress = "2m"
fix = "f"

[[rule]]
id = "p.burst-short"
title = "t"
severity = "high"
regex = 'e'
correlate = { kind = "threshold", count = 3, window = "1m" }
suppress = "30s"
fix = "f"

[[rule]]
id = "p.pair"
title = "t"
severity = "low"
regex = 'f'
correlate = { kind = "sequence", then = 'g', window = "1m" }
fix = "f"

[[rule]]
id = "p.flap"
title = "t"
severity = "low"
regex = 'h'
correlate = { kind = "sequence", then = 'i', window = "1m" }
suppress = "2m"
fix = "f"

[[rule]]
id = "p.lost"
title = "t"
severity = "high"
regex = 'j'
correlate = { kind = "absence", until = 'k', window = "1m" }
fix = "f"

[[rule]]
id = "p.lost-flap"
title = "t"
severity = "high"
regex = 'l'
correlate = { kind = "absence", until = 'm', window = "1m" }
suppress = "3m"
fix = "f"
"#;

/// Rules whose events may close (sequence and absence).
const PAIRED: std::ops::Range<u32> = 5..9;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| compile_all(&[("p.toml".into(), PACK.into())]).expect("the pack compiles"))
}

/// One generated event: closes, source, clock (0 log times, 1 times of
/// day, 2 none), time step (20 s each), app, daemon, fields.
type Spec = (bool, usize, u8, i64, u8, bool, u8, u8);

fn spec() -> impl Strategy<Value = Spec> {
    (any::<bool>(), 0usize..3, 0u8..3, 0i64..40, 0u8..3, any::<bool>(), 0u8..4, 0u8..14)
}

const STEP: i64 = 20_000;
const NINE: i64 = 9 * 3600 * 1000;

fn event(rule: u32, line: u64, (closes, source, clock, t, app, daemon, fields, value): Spec) -> Event {
    let value: Arc<str> = Arc::from(value.to_string());
    let fields: Vec<(Arc<str>, Arc<str>)> = match fields {
        0 => vec![],
        1 => vec![("pm_id".into(), "0".into())],
        2 => vec![("pm_id".into(), "1".into()), ("up_ms".into(), value)],
        _ => vec![("code".into(), value.clone()), ("up_ms".into(), format!("-{value}").into())],
    };
    Event {
        rule,
        role: if closes && PAIRED.contains(&rule) { Role::End } else { Role::Start },
        shape: 0.into(),
        source,
        line,
        ts: (clock == 0).then_some(t * STEP).into(),
        day_time: if clock == 1 { DayTime::from_ms(NINE + t * STEP) } else { None },
        app: [None, Some("a"), Some("b")][app as usize].map(Arc::from),
        stream: if daemon { Stream::Daemon } else { Stream::Out },
        fields: fields.into(),
        text: format!("text {line}").into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_stream_judges_as_the_lists_did(
        rule in 0u32..9,
        specs in proptest::collection::vec(spec(), 0..40),
        arrivals in proptest::option::of(proptest::collection::vec(0i64..12, 40)),
        log_end in proptest::option::of(0i64..50),
        day_end in 0i64..50,
    ) {
        let rules = rules();
        let evs: Vec<Event> = specs.iter().enumerate().map(|(i, s)| event(rule, i as u64 + 1, *s)).collect();
        // `watch` places untimed matches where they were read.
        let read: Option<HashMap<(usize, u64), i64>> = arrivals.map(|at| {
            evs.iter()
                .zip(at)
                .filter(|(e, _)| e.ts.get().is_none() && e.day_time.is_none())
                .map(|(e, at)| ((e.source, e.line), at * STEP))
                .collect()
        });
        let days: BTreeMap<usize, i64> = (0..3).map(|s| (s, NINE + day_end * STEP)).collect();
        let end = End { log: log_end.map(|t| t * STEP), days };
        let want = oracle::correlate_group(rules, (rule, vec![]), evs.clone(), &end, read.as_ref());
        let mut sorted = evs;
        in_order(&mut sorted);
        let kept: Vec<Finding<Vec<Event>>> =
            correlate_group(rules, (rule, vec![]), sorted.clone().into_iter(), &end, read.as_ref(), None);
        prop_assert_eq!(&kept, &want);
        let folded: Vec<Finding> =
            correlate_group(rules, (rule, vec![]), sorted.into_iter(), &end, read.as_ref(), None);
        let want: Vec<Finding> = want.iter().map(|f| f.folded(rules)).collect();
        prop_assert_eq!(&folded, &want);
        let paths = ["a.log".to_string(), "b.log".to_string(), "c.log".to_string()];
        let zone = crate::records::Zone::Utc;
        prop_assert_eq!(
            crate::incidents::build(rules, &folded, &paths, zone),
            crate::incidents::build(rules, &want, &paths, zone)
        );
    }
}

/// A fold joined from two is the fold of both lists one after the other
/// (`suppress` joins pairs): the first two and last records, the first
/// ten distinct values per field, the ranges, the times of day per file.
#[test]
fn a_joined_fold_is_the_fold_of_both() {
    use super::fold::{Keep, Sink};
    let specs: Vec<Spec> =
        (0..30u8).map(|i| (false, (i % 3) as usize, i % 3, i as i64, i % 3, i % 2 == 0, i % 4, (i * 7) % 14)).collect();
    let evs: Vec<Event> = specs.iter().enumerate().map(|(i, s)| event(6, i as u64 + 1, *s)).collect();
    let keep = Keep { lines: true, bounds: None, joins: true, links: None };
    for cut in 0..=evs.len() {
        let mut head = Fold::of(evs[..cut].iter().cloned(), keep.clone());
        head.join(Fold::of(evs[cut..].iter().cloned(), keep.clone()));
        assert_eq!(head, Fold::of(evs.iter().cloned(), keep.clone()), "cut at {cut}");
    }
}
