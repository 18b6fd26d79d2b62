//! The list-based correlation of one group, as it was before findings
//! were folded on a stream: the tests hold [`super::correlate_group`] to
//! it, event for event.

use std::collections::HashMap;

use crate::matcher::Event;
use crate::records::DayTime;
use crate::rules::{Correlation, Rule, RuleSet};

use super::{Clock, End, Finding, GroupKey, pairs, window};

/// One group's findings, its events given as a list in any order.
pub fn correlate_group(
    rules: &RuleSet,
    (rule_idx, key): GroupKey,
    mut evs: Vec<Event>,
    end: &End,
    read: Option<&HashMap<(usize, u64), i64>>,
) -> Vec<Finding<Vec<Event>>> {
    let rule = &rules.rules()[rule_idx as usize];
    let key: Vec<(String, String)> = rule.group_by.iter().cloned().zip(key).collect();
    let finding = |(events, facts)| Finding { rule: rule_idx, key: key.clone(), events, facts };
    evs.sort_by_key(super::order);
    if let Correlation::Single = rule.correlate {
        let runs = match &rule.suppress {
            Some(w) => split_quiet(evs, w.ms()),
            None => vec![evs],
        };
        return runs.into_iter().map(|events| finding((events, vec![]))).collect();
    }
    let untimed = evs.split_off(evs.partition_point(|e| e.ts.get().is_some()));
    let mut found = judge(rule, evs, end.log, Clock::Log);
    let arrival = read.map_or(Clock::Order, Clock::Arrival);
    for mut run in lanes(untimed) {
        let (clock, run_end) = match run[0].day_time {
            Some(_) => (Clock::Day, end.days.get(&run[0].source).copied()),
            None => (arrival, end.log),
        };
        if let Clock::Arrival(_) = clock {
            run.sort_by_key(|e| (clock.at(e), e.line));
        }
        found.extend(judge(rule, run, run_end, clock));
    }
    found.into_iter().map(finding).collect()
}

fn judge(rule: &Rule, events: Vec<Event>, end: Option<i64>, clock: Clock) -> Vec<pairs::Pair> {
    if events.is_empty() {
        return Vec::new();
    }
    let found: Vec<pairs::Pair> = match &rule.correlate {
        Correlation::Single => Vec::new(),
        Correlation::Threshold { count, window } => {
            let times: Vec<i64> = events.iter().map(|e| clock.at(e)).collect();
            let mut bursts = window::bursts(&times, *count as usize, window.ms());
            if let Some(w) = &rule.suppress {
                bursts = window::absorb(&times, bursts, w.ms());
            }
            bursts.into_iter().map(|b| (events[b].to_vec(), vec![])).collect()
        }
        Correlation::Sequence { window, .. } => pairs::sequence(events, window.ms(), clock),
        Correlation::Absence { window, .. } => pairs::absence(events, window.ms(), end, clock),
    };
    match (&rule.correlate, &rule.suppress) {
        (Correlation::Sequence { .. } | Correlation::Absence { .. }, Some(w)) => pairs::fold(found, w.ms(), clock),
        _ => found,
    }
}

fn lanes(events: Vec<Event>) -> Vec<Vec<Event>> {
    let lane = |e: &Event| (e.source, e.day_time.is_some());
    let mut runs: Vec<Vec<Event>> = Vec::new();
    for e in events {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|l| lane(l) == lane(&e)) => run.push(e),
            _ => runs.push(vec![e]),
        }
    }
    runs
}

fn split_quiet(events: Vec<Event>, w: i64) -> Vec<Vec<Event>> {
    let mut runs: Vec<Vec<Event>> = Vec::new();
    for e in events {
        let t = e.ts.get().or(e.day_time.map(DayTime::ms));
        let prev = t.and_then(|_| runs.last()?.iter().rev().find_map(|x| on_clock_of(&e, x)));
        match (prev, t, runs.last_mut()) {
            (Some(prev), Some(t), Some(run)) if window::within(prev, t, w) => run.push(e),
            (_, None, Some(run)) | (None, _, Some(run)) => run.push(e),
            _ => runs.push(vec![e]),
        }
    }
    runs
}

fn on_clock_of(e: &Event, x: &Event) -> Option<i64> {
    match (e.ts.get(), e.day_time) {
        (Some(_), _) => x.ts.get(),
        (None, Some(_)) if x.source == e.source => x.day_time.map(DayTime::ms),
        _ => None,
    }
}
