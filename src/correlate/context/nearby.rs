//! Which of the app stage's events can matter, for `scan`: the app stage
//! reads every timed start event of a rule with app-scoped entries and
//! every timed event of those entries, in one sorted order, and most of
//! them meet nothing. A log full of error prints (each waiting for an exit
//! of its app that never comes) or of 1100 notices (each excusing the farm
//! breaks of the next minute, when no farm breaks) would be sorted and
//! held only to be dropped. Owns the test that leaves them out before the
//! stage, so the stage reads only events that have a partner near them.
//!
//! The test is coarse but never wrong: two events can pair only when they
//! are of one rule and one app and less than the entry's window apart (the
//! stage takes lines of one second as simultaneous, so a second more on
//! each side). Other key fields are not compared: an event kept for
//! nothing is read as before.
//!
//! - An entry's event with no start event of its rule and app that the
//!   entry applies to within its window of it can neither excuse, lend nor
//!   decide anything: the start events near it (none) are all it reaches,
//!   and when it replaces an older event of its key as the latest, the
//!   older one could only have reached start events that this one reaches
//!   too. Left out; not so an event of an `unless` with `count` > 1,
//!   which counts however far from the start event it came.
//! - A start event with a required entry (`require = true`) that has no
//!   event of its rule and app within the entry's window is dropped by the
//!   stage whatever else happens, so it is left out now, unless one of its
//!   entries is an `unless` without `every`: that entry's event is used up
//!   by the next start event of its key, dropped or not, so the start event
//!   must be read.

use std::collections::HashMap;
use std::sync::Arc;

use crate::matcher::Event;
use crate::rules::{Context, ContextKind, Role, RuleSet, Scope};

use super::reach;

/// Lines of one second in two files read as simultaneous (see the module
/// doc of `context`): the slack on each side of a window.
const SECOND: i64 = 1000;

/// Times, per (rule, entry), per app: sorted once every event is in.
type Times = HashMap<(u32, u8), HashMap<Arc<str>, Vec<i64>>>;

/// Keeps in `later` (the app stage's events, per source) only those that
/// can pair with an event on the other side; `skip` gives the entries
/// decided already for a start event (bit n: entry n).
pub(super) fn trim(rules: &RuleSet, later: &mut [Vec<Event>], skip: impl Fn(&Event) -> u8) {
    let mut near = Near::default();
    later.iter().flatten().for_each(|ev| near.add(rules, ev));
    near.seal();
    // Both sides are judged against the events as they came: what one
    // side loses does not change what the other keeps.
    for evs in later.iter_mut() {
        evs.retain(|ev| near.keeps(rules, ev, skip(ev)));
    }
}

/// The times of the app stage's start events (per entry that applies to
/// them) and of the entries' events, per rule and app: what [`trim`]
/// judges by, built one event at a time ([`Near::add`]) so that the
/// events themselves may wait elsewhere (on disk, in `scan`'s spilled
/// path) until every list is read. Eight bytes an event.
#[derive(Debug, Default)]
pub(super) struct Near {
    starts: Times,
    entries: Times,
}

impl Near {
    /// Takes the time of `ev`, an event of the app stage.
    pub(super) fn add(&mut self, rules: &RuleSet, ev: &Event) {
        let (Some(t), Some(app)) = (ev.ts.get(), ev.app.as_ref()) else { return };
        // One name kept per app: a spilled event's name is its own copy.
        let push = |times: &mut Times, n: u8| {
            let apps = times.entry((ev.rule, n)).or_default();
            match apps.get_mut(&**app) {
                Some(ts) => ts.push(t),
                None => {
                    apps.insert(app.clone(), vec![t]);
                }
            }
        };
        match ev.role {
            Role::Start => {
                let context = &rules.rules()[ev.rule as usize].context;
                for (n, _) in context.iter().enumerate().filter(|(_, c)| c.applies_to(ev.shape.regex())) {
                    push(&mut self.starts, n as u8);
                }
            }
            Role::Context(n) => push(&mut self.entries, n),
            Role::End => {}
        }
    }

    /// Sorts the times: every event is in.
    pub(super) fn seal(&mut self) {
        for ts in self.starts.values_mut().chain(self.entries.values_mut()).flat_map(HashMap::values_mut) {
            ts.sort_unstable();
        }
    }

    /// Whether the app stage should read `ev` (see the module doc); `skipped`:
    /// the entries decided for it already (bit n: entry n).
    pub(super) fn keeps(&self, rules: &RuleSet, ev: &Event, skipped: u8) -> bool {
        let (Some(t), Some(app)) = (ev.ts.get(), ev.app.as_deref()) else { return true };
        let near = |times: &Times, n: u8, w: i64| {
            times.get(&(ev.rule, n)).and_then(|apps| apps.get(app)).is_some_and(|ts| {
                let from = ts.partition_point(|&x| x < t - w - SECOND);
                ts.get(from).is_some_and(|&x| x <= t + w + SECOND)
            })
        };
        let context = &rules.rules()[ev.rule as usize].context;
        match ev.role {
            Role::Context(n) => match context.get(usize::from(n)) {
                // A counted `unless` counts every event of its key since the
                // key's last start event, near it or not.
                Some(c) if matches!(c.kind, ContextKind::Unless { count, .. } if count > 1) => true,
                Some(c) => near(&self.starts, n, reach(c)),
                None => true,
            },
            Role::Start => {
                let here = |(n, c): &(usize, &Context)| {
                    skipped & (1 << n) == 0 && c.scope == Scope::App && c.applies_to(ev.shape.regex())
                };
                let entries_here: Vec<(usize, &Context)> = context.iter().enumerate().filter(here).collect();
                let used_up =
                    entries_here.iter().any(|(_, c)| matches!(c.kind, ContextKind::Unless { every: false, .. }));
                used_up
                    || entries_here.iter().all(|&(n, c)| {
                        !matches!(c.kind, ContextKind::Lend { require: true, .. })
                            || near(&self.entries, n as u8, reach(c))
                    })
            }
            Role::End => true,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::input::Stream;
    use crate::rules::compile_all;

    /// Rule 0: a print that counts only with an exit of its app less than
    /// 3 s after it, not within 5 s of a stop (`every`); rule 1: a break
    /// excused by the next loss of its app within 1 m (used up).
    pub(in crate::correlate::context) const PACK: &str = r#"
[[rule]]
id = "t.print"
title = "t"
severity = "high"
regex = 'print'
unless = { regex = 'stop', within = "5s", every = true, scope = "app" }
context = { regex = 'exit', after = "3s", scope = "app", require = true }
fix = "f"

[[rule]]
id = "t.break"
title = "t"
severity = "high"
regex = 'break'
unless = { regex = 'loss', within = "1m", scope = "app" }
context = { regex = 'named', before = "1h", scope = "app", require = true }
fix = "f"
"#;

    pub(in crate::correlate::context) fn ev(rule: u32, role: Role, line: u64, secs: i64, name: &str) -> Event {
        Event {
            rule,
            role,
            shape: 0.into(),
            source: 0,
            line,
            ts: Some(secs * 1000).into(),
            day_time: None,
            app: Some(Arc::from(name)),
            stream: Stream::Err,
            fields: Default::default(),
            text: Arc::from(""),
        }
    }

    fn kept(events: Vec<Event>) -> Vec<u64> {
        let rules = compile_all(&[("t.toml".into(), PACK.into())]).expect("rules");
        let mut later = vec![events];
        trim(&rules, &mut later, |_| 0);
        later[0].iter().map(|e| e.line).collect()
    }

    const PRINT: (u32, Role) = (0, Role::Start);
    const STOP: (u32, Role) = (0, Role::Context(0));
    const EXIT: (u32, Role) = (0, Role::Context(1));

    #[test]
    fn prints_without_an_exit_of_their_app_near_are_left_out() {
        let got = kept(vec![
            ev(PRINT.0, PRINT.1, 1, 100, "api"),
            // The exit of another app does not pair.
            ev(EXIT.0, EXIT.1, 2, 101, "web"),
            ev(PRINT.0, PRINT.1, 3, 200, "api"),
            ev(EXIT.0, EXIT.1, 4, 202, "api"),
            // Its window and a second of slack: still read.
            ev(PRINT.0, PRINT.1, 5, 300, "api"),
            ev(EXIT.0, EXIT.1, 6, 304, "api"),
        ]);
        assert_eq!(got, [3, 4, 5, 6]);
    }

    #[test]
    fn stops_far_from_every_print_are_left_out() {
        let got = kept(vec![
            ev(STOP.0, STOP.1, 1, 0, "api"),
            ev(STOP.0, STOP.1, 2, 95, "api"),
            ev(PRINT.0, PRINT.1, 3, 100, "api"),
            ev(EXIT.0, EXIT.1, 4, 101, "api"),
            ev(STOP.0, STOP.1, 5, 100, "web"),
        ]);
        assert_eq!(got, [2, 3, 4]);
    }

    /// A loss is used up by the next break of its app, so a break is read
    /// even without the event its required entry needs.
    #[test]
    fn a_start_that_uses_up_an_unless_is_kept() {
        let got = kept(vec![ev(1, Role::Context(0), 1, 0, "bridge"), ev(1, Role::Start, 2, 10, "bridge")]);
        assert_eq!(got, [1, 2]);
    }

    /// A counted unless counts its events since the last start event of
    /// its key, however far back: none is left out.
    #[test]
    fn every_event_of_a_counted_unless_is_kept() {
        let pack = r#"
[[rule]]
id = "t.reconnect"
title = "t"
severity = "high"
regex = 'reconnected'
unless = { regex = 'retrying', within = "1m", count = 2, scope = "app" }
fix = "f"
"#;
        let rules = compile_all(&[("t.toml".into(), pack.into())]).expect("rules");
        let mut later = vec![vec![
            ev(0, Role::Context(0), 1, 0, "bridge"),
            ev(0, Role::Context(0), 2, 3000, "bridge"),
            ev(0, Role::Start, 3, 3010, "bridge"),
        ]];
        trim(&rules, &mut later, |_| 0);
        assert_eq!(later[0].iter().map(|e| e.line).collect::<Vec<_>>(), [1, 2, 3]);
    }

    /// Without a time or an app the stage pairs nothing by window: such
    /// events are read as before.
    #[test]
    fn events_without_time_or_app_are_kept() {
        let mut print = ev(PRINT.0, PRINT.1, 1, 0, "api");
        print.app = None;
        let mut exit = ev(EXIT.0, EXIT.1, 2, 500, "api");
        exit.ts = crate::matcher::Ts::NONE;
        assert_eq!(kept(vec![print, exit]), [1, 2]);
    }
}
