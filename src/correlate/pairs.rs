//! Two-event correlation over one group key's events in time order.
//!
//! `sequence`: a start event, then a closing event within the window → one
//! finding with the gap (an outage and its length). Starts repeated before
//! the close fold into the same finding.
//!
//! `absence`: a start event with no closing event within the window → a
//! finding. Once the window has closed, starts that keep coming (TWS repeats
//! 1100 while an outage lasts) fold into it; it ends at a closing event
//! (`status` says when it recovered), at a start that comes after a quiet
//! gap as long as the window (a new outage: a new finding), or at the end
//! of the input (`status` says it was not recovered by the end of the log).
//!
//! Both run on a `Clock`: log times, or one untimed source's order
//! (`scan`) or arrival times (`watch`). Untimed, the facts say what is
//! known: a `gap` is `unknown`, and a status says the times are unknown.
//!
//! Correlation judges a stream (`super::judge`); the list-based functions
//! here are the tests' oracle for it.

#[cfg(test)]
use std::collections::HashSet;

#[cfg(test)]
use crate::matcher::Event;
#[cfg(test)]
use crate::memory;
#[cfg(test)]
use crate::rules::Role;

#[cfg(test)]
use super::Clock;
#[cfg(test)]
use super::window::within;

/// `gap` of a pair whose times the log does not state.
pub const UNKNOWN_GAP: &str = "unknown";
/// `status` of a loss not closed by the end of a log without times.
pub const UNTIMED_OPEN: &str = "not recovered by end of log; times unknown";

#[cfg(test)]
/// A finding's events and its computed facts (`gap`, `status`).
pub type Pair = (Vec<Event>, Vec<(String, String)>);

#[cfg(test)]
/// `suppress` for two-event rules: a pair (or outage) that starts within
/// `w` of the previous one's last event folds into it, so a link that
/// flaps all afternoon is one incident, not hundreds. Its facts keep each
/// distinct value in order (`gap` = `40s, 2m 5s`).
pub fn fold(found: Vec<Pair>, w: i64, clock: Clock) -> Vec<Pair> {
    let mut out: Vec<Pair> = Vec::new();
    // The facts of the last pair out, to test new ones against: a link
    // flapping for hours folds thousands of pairs with hundreds of distinct
    // gaps, and a search of the list for each made the fold quadratic.
    let mut known: HashSet<(String, String)> = HashSet::new();
    for (events, facts) in found {
        let joins = match (out.last().and_then(|(evs, _)| evs.last()), events.first()) {
            (Some(last), Some(first)) => within(clock.at(last), clock.at(first), w),
            _ => false,
        };
        match out.last_mut() {
            Some((evs, kept)) if joins => {
                evs.extend(events);
                for fact in facts {
                    if known.insert(fact.clone()) {
                        kept.push(fact);
                    }
                }
            }
            _ => {
                known = facts.iter().cloned().collect();
                out.push((events, facts));
            }
        }
    }
    out
}

#[cfg(test)]
/// A pair's events as a finding keeps them, the list as long as it is: it
/// grew by doubling, and a storm's findings are many (storm corpus,
/// 1 GiB: 146 k outages of 6.5 events each, in lists of 8).
fn held(mut events: Vec<Event>) -> Vec<Event> {
    events.shrink_to_fit();
    events
}

/// Renders a span of milliseconds for people: `40s`, `2m 5s`, `1h 3m`.
pub fn human(ms: i64) -> String {
    let s = ms / 1000;
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    match (h, m, sec) {
        (0, 0, _) if ms % 1000 != 0 && s < 10 => format!("{:.1}s", ms as f64 / 1000.0),
        (0, 0, sec) => format!("{sec}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, sec) => format!("{m}m {sec}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
/// Start → close within `w`. `events` are in `clock` order.
pub fn sequence(events: Vec<Event>, w: i64, clock: Clock) -> Vec<Pair> {
    let ts = |e: &Event| clock.at(e);
    let mut out = Vec::new();
    let mut open: Vec<Event> = Vec::new();
    for e in memory::drain_front(events) {
        if open.first().is_some_and(|first| !within(ts(first), ts(&e), w)) {
            // Too late to close this one: a later close pairs with a later start.
            open.clear();
        }
        match e.role {
            Role::Start => open.push(e),
            Role::End if !open.is_empty() => {
                let gap = ts(&e) - ts(&open[0]);
                let mut evs = std::mem::take(&mut open);
                evs.push(e);
                let facts = match clock.measures() {
                    true => vec![("gap".into(), human(gap)), ("gap_ms".into(), gap.to_string())],
                    false => vec![("gap".into(), UNKNOWN_GAP.into())],
                };
                out.push((held(evs), facts));
            }
            // Context events never get here: correlation reads them first.
            Role::End | Role::Context(_) => {}
        }
    }
    out
}

#[cfg(test)]
/// Start with no close within `w`; `end` is the last time the input speaks
/// (log times only: an untimed source ends where its file does).
pub fn absence(events: Vec<Event>, w: i64, end: Option<i64>, clock: Clock) -> Vec<Pair> {
    let ts = |e: &Event| clock.at(e);
    let untimed = |status: String| match clock.measures() {
        true => status,
        false => format!("{status}; times unknown"),
    };
    let mut out = Vec::new();
    let mut open: Vec<Event> = Vec::new();
    for e in memory::drain_front(events) {
        match e.role {
            Role::Start => {
                let quiet = open.last().is_some_and(|last| !within(ts(last), ts(&e), w));
                if quiet && !within(ts(&open[0]), ts(&e), w) {
                    let status = untimed(format!("no recovery logged within {}", human(w)));
                    out.push((held(std::mem::take(&mut open)), vec![("status".into(), status)]));
                }
                open.push(e);
            }
            Role::End if !open.is_empty() => {
                let gap = ts(&e) - ts(&open[0]);
                if within(ts(&open[0]), ts(&e), w) {
                    open.clear();
                } else {
                    let mut evs = std::mem::take(&mut open);
                    evs.push(e);
                    let facts = match clock.measures() {
                        true => vec![
                            ("status".into(), format!("recovered after {}", human(gap))),
                            ("gap".into(), human(gap)),
                        ],
                        // Only `watch` gets here untimed: the close was read
                        // a window or more after the loss.
                        false => vec![
                            ("status".into(), format!("recovered after more than {}; times unknown", human(w))),
                            ("gap".into(), UNKNOWN_GAP.into()),
                        ],
                    };
                    out.push((held(evs), facts));
                }
            }
            Role::End | Role::Context(_) => {}
        }
    }
    if let Some(first) = open.first().map(ts) {
        let status = match end {
            _ if !clock.measures() => UNTIMED_OPEN.to_string(),
            Some(end) if within(first, end, w) => format!(
                "not recovered by end of log (the log ends {} after the first event, before the {} window closed)",
                human(end - first),
                human(w)
            ),
            _ => "not recovered by end of log".to_string(),
        };
        out.push((held(open), vec![("status".into(), status)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Stream;

    const S: i64 = 1000;

    fn ev(role: Role, t: i64) -> Event {
        Event {
            rule: 0,
            role,
            shape: 0.into(),
            source: 0,
            line: t as u64,
            ts: Some(t).into(),
            day_time: None,
            app: None,
            stream: Stream::Out,
            fields: Default::default(),
            text: "".into(),
        }
    }

    fn facts(p: &[Pair]) -> Vec<(usize, String)> {
        p.iter().map(|(e, f)| (e.len(), f[0].1.clone())).collect()
    }

    #[test]
    fn human_spans() {
        assert_eq!(human(40 * S), "40s");
        assert_eq!(human(125 * S), "2m 5s");
        assert_eq!(human(3 * 60 * S), "3m");
        assert_eq!(human(3723 * S), "1h 2m");
        assert_eq!(human(1500), "1.5s");
        // Tenths below ten seconds only.
        assert_eq!(human(9_500), "9.5s");
        assert_eq!(human(10_500), "10s");
        assert_eq!(human(59_999), "59s");
        assert_eq!(human(3600 * S), "1h");
        assert_eq!(human(3 * 3600 * S + 59 * S), "3h");
    }

    #[test]
    fn sequence_pairs_start_and_close_and_folds_repeats() {
        let evs = vec![ev(Role::Start, 0), ev(Role::Start, 30 * S), ev(Role::End, 40 * S), ev(Role::End, 50 * S)];
        assert_eq!(facts(&sequence(evs, 600 * S, Clock::Log)), vec![(3, "40s".to_string())]);
    }

    #[test]
    fn suppress_folds_flapping_pairs_until_a_quiet_gap() {
        let flap = |t: i64, gap: i64| vec![ev(Role::Start, t), ev(Role::End, t + gap)];
        let evs: Vec<Event> = [flap(0, 40 * S), flap(300 * S, 20 * S), flap(600 * S, 40 * S), flap(7200 * S, 10 * S)]
            .into_iter()
            .flatten()
            .collect();
        let folded = fold(sequence(evs, 3600 * S, Clock::Log), 3600 * S, Clock::Log);
        // Three pairs within the hour fold; the one two hours on stands alone.
        assert_eq!(folded.len(), 2);
        assert_eq!(folded[0].0.len(), 6);
        let gaps: Vec<&str> = folded[0].1.iter().filter(|(n, _)| n == "gap").map(|(_, v)| v.as_str()).collect();
        assert_eq!(gaps, ["40s", "20s"]);
        assert_eq!(facts(&folded[1..]), vec![(2, "10s".to_string())]);
    }

    #[test]
    fn sequence_close_outside_the_window_pairs_nothing() {
        let evs = vec![ev(Role::Start, 0), ev(Role::End, 600 * S)];
        assert!(sequence(evs, 600 * S, Clock::Log).is_empty());
        let evs = vec![ev(Role::Start, 0), ev(Role::End, 600 * S - 1)];
        assert_eq!(sequence(evs, 600 * S, Clock::Log).len(), 1);
    }

    #[test]
    fn absence_recovered_in_time_is_silent() {
        let evs = vec![ev(Role::Start, 0), ev(Role::End, 120 * S - 1)];
        assert!(absence(evs, 120 * S, Some(3600 * S), Clock::Log).is_empty());
    }

    #[test]
    fn absence_recovered_late_says_when() {
        // Repeats less than a window apart are one outage.
        let evs = vec![ev(Role::Start, 0), ev(Role::Start, 100 * S), ev(Role::Start, 200 * S), ev(Role::End, 300 * S)];
        assert_eq!(facts(&absence(evs, 120 * S, None, Clock::Log)), vec![(4, "recovered after 5m".to_string())]);
    }

    #[test]
    fn absence_never_recovered() {
        let evs = vec![ev(Role::Start, 0), ev(Role::Start, 30 * S)];
        assert_eq!(
            facts(&absence(evs.clone(), 120 * S, Some(3600 * S), Clock::Log)),
            vec![(2, "not recovered by end of log".into())]
        );
        let early = absence(evs, 120 * S, Some(60 * S), Clock::Log);
        assert!(early[0].1[0].1.starts_with("not recovered by end of log (the log ends 1m after"), "{early:?}");
    }

    #[test]
    fn absence_a_new_loss_after_a_quiet_gap_is_a_new_incident() {
        // Repeats 30 s apart are one outage; a loss 6 h later is another.
        let evs = vec![ev(Role::Start, 0), ev(Role::Start, 30 * S), ev(Role::Start, 6 * 3600 * S)];
        let found = absence(evs, 120 * S, Some(7 * 3600 * S), Clock::Log);
        assert_eq!(
            facts(&found),
            vec![(2, "no recovery logged within 2m".to_string()), (1, "not recovered by end of log".to_string())]
        );
    }

    #[test]
    fn absence_close_without_start_is_ignored() {
        assert!(absence(vec![ev(Role::End, 0)], 120 * S, None, Clock::Log).is_empty());
    }
}
