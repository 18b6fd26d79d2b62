//! Correlation: events → findings, per rule and per group key. `single`
//! folds every event with the same key into one finding; `threshold` finds
//! bursts of at least N events within a window (see [`window`]). Hands on
//! [`Finding`]s, ordered by rule then key, and notes for the summary
//! (rules that needed timestamps a file did not have).

pub mod window;

use std::collections::BTreeMap;

use crate::matcher::{Event, field};
use crate::rules::{Correlation, RuleSet};

/// Events that together make one incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Dense rule index.
    pub rule: u32,
    /// The group key: (field, value) per `group_by` entry.
    pub key: Vec<(String, String)>,
    /// The events, in time order (file order where time is missing).
    pub events: Vec<Event>,
}

/// Groups `events` and applies each rule's correlation. `paths` resolves
/// source ids for the `file` key.
pub fn correlate(rules: &RuleSet, events: Vec<Event>, paths: &[String]) -> (Vec<Finding>, Vec<String>) {
    let mut groups: BTreeMap<(u32, Vec<String>), Vec<Event>> = BTreeMap::new();
    for ev in events {
        let rule = &rules.rules()[ev.rule as usize];
        let key: Vec<String> = rule.group_by.iter().map(|f| key_value(&ev, f, paths)).collect();
        groups.entry((ev.rule, key)).or_default().push(ev);
    }
    let mut findings = Vec::new();
    let mut untimed: BTreeMap<u32, usize> = BTreeMap::new();
    for ((rule_idx, key), mut evs) in groups {
        let rule = &rules.rules()[rule_idx as usize];
        let key: Vec<(String, String)> = rule.group_by.iter().cloned().zip(key).collect();
        // Time order, ties (and untimed events) in file order.
        evs.sort_by_key(|e| (e.ts.is_none(), e.ts, e.source, e.line));
        match &rule.correlate {
            Correlation::Single => findings.push(Finding { rule: rule_idx, key, events: evs }),
            Correlation::Threshold { count, window } => {
                let (timed, rest): (Vec<Event>, Vec<Event>) = evs.into_iter().partition(|e| e.ts.is_some());
                if !rest.is_empty() {
                    *untimed.entry(rule_idx).or_default() += rest.len();
                }
                let times: Vec<i64> = timed.iter().filter_map(|e| e.ts).collect();
                for burst in window::bursts(&times, *count as usize, window.ms()) {
                    findings.push(Finding { rule: rule_idx, key: key.clone(), events: timed[burst].to_vec() });
                }
            }
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

fn key_value(ev: &Event, name: &str, paths: &[String]) -> String {
    let value = match name {
        "app" => ev.app.clone(),
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
            source: 0,
            line,
            ts,
            app: Some(app.into()),
            stream: Stream::Daemon,
            fields: vec![],
            text: String::new(),
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
        let (findings, notes) = correlate(&rules(), events, &[]);
        assert!(notes.is_empty());
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].key, vec![("app".to_string(), "api".to_string())]);
        assert_eq!(findings[0].events.len(), 3);
        assert_eq!(findings[1].events.len(), 2);
    }

    #[test]
    fn untimed_events_are_noted_not_guessed() {
        let events = (0..5).map(|i| ev(0, "api", None, i)).collect();
        let (findings, notes) = correlate(&rules(), events, &[]);
        assert!(findings.is_empty());
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("pm2.loop: 5 match(es)"));
    }
}
