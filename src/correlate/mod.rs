//! Correlation: events → findings, per rule and per group key. `single`
//! folds every event with the same key into one finding; `threshold` finds
//! bursts of at least N events within a window (see [`window`]);
//! `sequence` and `absence` pair a start event with a closing one (see
//! [`pairs`]). `suppress` folds matches that follow an incident closely
//! into it. Hands on [`Finding`]s, ordered by rule then key, and notes for
//! the summary (rules that needed timestamps a file did not have).

pub mod pairs;
pub mod window;

use std::collections::{BTreeMap, HashMap};

use crate::matcher::{Event, field};
use crate::rules::{Correlation, Rule, RuleSet};
use crate::{memory, pool};

/// Events that together make one incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Dense rule index.
    pub rule: u32,
    /// The group key: (field, value) per `group_by` entry.
    pub key: Vec<(String, String)>,
    /// The events, in time order (file order where time is missing).
    pub events: Vec<Event>,
    /// Computed facts: `gap` for sequences, `status` for absences.
    pub facts: Vec<(String, String)>,
}

/// Groups `events` and applies each rule's correlation. `paths` resolves
/// source ids for the `file` key; `end` is the latest time in the input
/// (where absence windows still open are judged).
pub fn correlate(
    rules: &RuleSet,
    sources: Vec<Vec<Event>>,
    paths: &[String],
    end: Option<i64>,
) -> (Vec<Finding>, Vec<String>) {
    let groups = group(rules, sources, paths);
    let per_group = pool::map_in_order(groups, |(key, evs)| correlate_group(rules, key, evs, end));
    let mut findings = Vec::with_capacity(per_group.iter().map(|(f, _)| f.len()).sum());
    let mut untimed: BTreeMap<u32, usize> = BTreeMap::new();
    for (found, (rule_idx, n)) in per_group {
        findings.extend(found);
        if n > 0 {
            *untimed.entry(rule_idx).or_default() += n;
        }
    }
    let notes = untimed
        .into_iter()
        .map(|(idx, n)| {
            let id = &rules.rules()[idx as usize].id;
            format!("{id}: {n} match(es) in logs without timestamps were not counted; the rule needs times to apply its window (enable pm2 `--time`)")
        })
        .collect();
    (findings, notes)
}

/// One group's findings, and (rule, count) of its events that had no time
/// where the rule needs times.
fn correlate_group(
    rules: &RuleSet,
    (rule_idx, key): GroupKey,
    mut evs: Vec<Event>,
    end: Option<i64>,
) -> (Vec<Finding>, (u32, usize)) {
    let rule = &rules.rules()[rule_idx as usize];
    let key: Vec<(String, String)> = rule.group_by.iter().cloned().zip(key).collect();
    let finding = |(events, facts)| Finding { rule: rule_idx, key: key.clone(), events, facts };
    // Time order, ties (and untimed events) in file order.
    evs.sort_by_key(|e| (e.ts.is_none(), e.ts, e.source, e.line));
    if let Correlation::Single = rule.correlate {
        let runs = match &rule.suppress {
            Some(w) => split_quiet(evs, w.ms()),
            None => vec![evs],
        };
        return (runs.into_iter().map(|events| finding((events, vec![]))).collect(), (rule_idx, 0));
    }
    // Every other mode needs times; untimed events sorted last.
    let rest = evs.split_off(evs.partition_point(|e| e.ts.is_some()));
    let timed = evs;
    let found: Vec<pairs::Pair> = match &rule.correlate {
        Correlation::Single => Vec::new(),
        Correlation::Threshold { count, window } => {
            let times: Vec<i64> = timed.iter().filter_map(|e| e.ts).collect();
            let mut bursts = window::bursts(&times, *count as usize, window.ms());
            if let Some(w) = &rule.suppress {
                bursts = window::absorb(&times, bursts, w.ms());
            }
            bursts.into_iter().map(|b| (timed[b].to_vec(), vec![])).collect()
        }
        Correlation::Sequence { window, .. } => pairs::sequence(timed, window.ms()),
        Correlation::Absence { window, .. } => pairs::absence(timed, window.ms(), end),
    };
    let found = match (&rule.correlate, &rule.suppress) {
        (Correlation::Sequence { .. } | Correlation::Absence { .. }, Some(w)) => pairs::fold(found, w.ms()),
        _ => found,
    };
    (found.into_iter().map(finding).collect(), (rule_idx, rest.len()))
}

/// A rule and the values of its `group_by` fields.
type GroupKey = (u32, Vec<String>);

/// Moves the events (one list per source) into their groups, ordered by
/// rule then key. Events are most of a noisy scan's heap, so each is held
/// once: group sizes are counted first (no growth by doubling) and each
/// source's list is freed as soon as its events have moved.
fn group(rules: &RuleSet, sources: Vec<Vec<Event>>, paths: &[String]) -> Vec<(GroupKey, Vec<Event>)> {
    // Keys are built per source on the workers (a string per field per
    // event); only each source's few distinct keys meet here.
    let local: Vec<(Vec<GroupKey>, Vec<u32>)> =
        pool::map_in_order(sources.iter().collect(), |evs| source_keys(rules, evs, paths));
    let mut index: HashMap<GroupKey, usize> = HashMap::new();
    let mut keys: Vec<GroupKey> = Vec::new();
    let mut sizes: Vec<usize> = Vec::new();
    let ids: Vec<Vec<usize>> = local
        .into_iter()
        .map(|(source_keys, local_ids)| {
            let global: Vec<usize> = source_keys
                .into_iter()
                .map(|key| {
                    *index.entry(key).or_insert_with_key(|key| {
                        keys.push(key.clone());
                        sizes.push(0);
                        keys.len() - 1
                    })
                })
                .collect();
            local_ids
                .into_iter()
                .map(|l| {
                    let id = global[l as usize];
                    sizes[id] += 1;
                    id
                })
                .collect()
        })
        .collect();
    let mut groups: Vec<Vec<Event>> = sizes.iter().map(|&n| Vec::with_capacity(n)).collect();
    // Each list emptied sits on a worker's arena, where the groups will not
    // reuse it.
    let mut trim = memory::TrimEvery::default();
    for (evs, ids) in sources.into_iter().zip(ids) {
        let bytes = evs.capacity() * std::mem::size_of::<Event>();
        for (ev, id) in evs.into_iter().zip(ids) {
            groups[id].push(ev);
        }
        trim.freed(bytes);
    }
    memory::release_freed();
    let mut out: Vec<(GroupKey, Vec<Event>)> = keys.into_iter().zip(groups).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The distinct group keys of one source's events, in order of first
/// appearance, and each event's index into them.
fn source_keys(rules: &RuleSet, evs: &[Event], paths: &[String]) -> (Vec<GroupKey>, Vec<u32>) {
    let mut index: HashMap<GroupKey, u32> = HashMap::new();
    let mut keys = Vec::new();
    let ids = evs
        .iter()
        .map(|ev| {
            let key = (ev.rule, group_key(&rules.rules()[ev.rule as usize], ev, paths));
            *index.entry(key).or_insert_with_key(|key| {
                keys.push(key.clone());
                keys.len() as u32 - 1
            })
        })
        .collect();
    (keys, ids)
}

/// Splits time-ordered events where the key was quiet for `w` or longer.
/// Events without a time stay with the run before them.
fn split_quiet(events: Vec<Event>, w: i64) -> Vec<Vec<Event>> {
    let mut runs: Vec<Vec<Event>> = Vec::new();
    for e in events {
        let last_ts = runs.last().and_then(|r| r.iter().rev().find_map(|x| x.ts));
        match (last_ts, e.ts, runs.last_mut()) {
            (Some(prev), Some(t), Some(run)) if window::within(prev, t, w) => run.push(e),
            (_, None, Some(run)) | (None, _, Some(run)) => run.push(e),
            _ => runs.push(vec![e]),
        }
    }
    runs
}

/// The values of `rule`'s group key for `ev` (`-` for a field it does not
/// have), in `group_by` order. `watch` groups events as they arrive.
pub fn group_key(rule: &Rule, ev: &Event, paths: &[String]) -> Vec<String> {
    rule.group_by.iter().map(|f| key_value(ev, f, paths)).collect()
}

fn key_value(ev: &Event, name: &str, paths: &[String]) -> String {
    let value = match name {
        "app" => ev.app.as_deref().map(str::to_string),
        "file" => paths.get(ev.source).cloned(),
        _ => field(&ev.fields, name).map(str::to_string),
    };
    value.unwrap_or_else(|| "-".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Stream;
    use crate::rules::compile_all;

    fn rules() -> RuleSet {
        let pack = r#"
[[rule]]
id = "pm2.loop"
title = "t"
severity = "high"
streams = ["daemon"]
regex = 'App \[(?P<app>[^:]+):\d+\] exited'
correlate = { kind = "threshold", count = 3, window = "1m" }
fix = "f"

[[rule]]
id = "x.single"
title = "t"
severity = "low"
regex = 'boom'
fix = "f"
"#;
        compile_all(&[("t.toml".into(), pack.into())]).expect("rules")
    }

    fn ev(rule: u32, app: &str, ts: Option<i64>, line: u64) -> Event {
        Event {
            rule,
            role: crate::rules::Role::Start,
            source: 0,
            line,
            ts,
            app: Some(app.into()),
            stream: Stream::Daemon,
            fields: Default::default(),
            text: "".into(),
        }
    }

    #[test]
    fn threshold_per_app_and_single_dedup() {
        let events = vec![
            ev(0, "api", Some(0), 1),
            ev(0, "web", Some(1), 2),
            ev(0, "api", Some(2), 3),
            ev(0, "api", Some(3), 4),
            ev(1, "api", Some(5), 5),
            ev(1, "api", Some(6), 6),
        ];
        let (findings, notes) = correlate(&rules(), vec![events], &[], None);
        assert!(notes.is_empty());
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].key, vec![("app".to_string(), "api".to_string())]);
        assert_eq!(findings[0].events.len(), 3);
        assert_eq!(findings[1].events.len(), 2);
    }

    #[test]
    fn suppress_splits_single_incidents_at_quiet_gaps() {
        let pack = r#"
[[rule]]
id = "x.flap"
title = "t"
severity = "low"
regex = 'boom'
suppress = "10m"
fix = "f"
"#;
        let rules = compile_all(&[("t.toml".into(), pack.into())]).expect("rules");
        let m = 60_000;
        let events = vec![ev(0, "api", Some(0), 1), ev(0, "api", Some(9 * m), 2), ev(0, "api", Some(30 * m), 3)];
        let (findings, _) = correlate(&rules, vec![events], &[], None);
        let sizes: Vec<usize> = findings.iter().map(|f| f.events.len()).collect();
        assert_eq!(sizes, vec![2, 1]);
    }

    #[test]
    fn untimed_events_are_noted_not_guessed() {
        let events = (0..5).map(|i| ev(0, "api", None, i)).collect();
        let (findings, notes) = correlate(&rules(), vec![events], &[], None);
        assert!(findings.is_empty());
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("pm2.loop: 5 match(es)"));
    }
}
