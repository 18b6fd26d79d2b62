//! Which incidents make one story: a union of incident indices over the
//! links the story model names (see the module above). Every link is
//! between two incidents; the groups are the connected sets.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use crate::incidents::{Incident, Mark};
use crate::rules::Family;

use super::cause::Window;

/// Dependency incidents whose spans come within this of each other are one
/// outage: a Redis restart seen by the api at 10:00:05 and by the worker
/// at 10:02:40 is one story; the same Redis down again at 14:00 is
/// another (unless the same rule and key link them: a repeat).
pub const OVERLAP_MS: i64 = 5 * 60_000;

/// Union-find over incident indices.
struct Union {
    parent: Vec<usize>,
}

impl Union {
    fn new(n: usize) -> Union {
        Union { parent: (0..n).collect() }
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Joins the groups of `a` and `b`; the smaller root stays, so the
    /// result does not depend on the order links come in.
    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.root(a), self.root(b));
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[hi] = lo;
    }
}

/// Groups of incident indices, each sorted, in order of their smallest
/// index. `causes` names, per app, the incident found in the windows
/// before its exits ([`rule_causes`]): it joins the app's restart story.
pub fn groups(incidents: &[Incident], causes: &BTreeMap<String, RuleCause>) -> Vec<Vec<usize>> {
    let mut u = Union::new(incidents.len());
    link_by(&mut u, incidents, |i| Some((i.rule.as_str(), &i.key)));
    link_by(&mut u, incidents, |i| match (&i.family, &i.app) {
        (Some(Family::Restart), Some(app)) => Some(app.as_str()),
        _ => None,
    });
    link_outages(&mut u, incidents);
    link_shared_records(&mut u, incidents);
    for (app, cause) in causes {
        let restart = incidents.iter().position(|i| i.family == Some(Family::Restart) && i.app.as_ref() == Some(app));
        if let Some(r) = restart {
            u.join(r, cause.incident);
        }
    }
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..incidents.len() {
        let r = u.root(i);
        by_root.entry(r).or_default().push(i);
    }
    by_root.into_values().collect()
}

/// Links incidents with equal `key_of` values (None: no link).
fn link_by<'a, K: Ord>(u: &mut Union, incidents: &'a [Incident], key_of: impl Fn(&'a Incident) -> Option<K>) {
    let mut first: BTreeMap<K, usize> = BTreeMap::new();
    for (i, inc) in incidents.iter().enumerate() {
        if let Some(k) = key_of(inc) {
            match first.get(&k) {
                Some(&f) => u.join(f, i),
                None => {
                    first.insert(k, i);
                }
            }
        }
    }
}

/// Links the timed incidents of one dependency whose spans overlap or come
/// within [`OVERLAP_MS`] of each other, whatever the app. Untimed ones
/// cannot be placed against them and are left to the other links.
fn link_outages(u: &mut Union, incidents: &[Incident]) {
    let mut by_dep: BTreeMap<&str, Vec<(i64, i64, usize)>> = BTreeMap::new();
    for (i, inc) in incidents.iter().enumerate() {
        if let (Some(Family::Dependency(d)), Some(first), Some(last)) = (&inc.family, inc.first_ms(), inc.last_ms()) {
            by_dep.entry(d.as_str()).or_default().push((first, last, i));
        }
    }
    for spans in by_dep.values_mut() {
        spans.sort_unstable();
        let mut open: Option<(i64, usize)> = None;
        for &(first, last, i) in spans.iter() {
            open = match open {
                Some((end, at)) if first <= end.saturating_add(OVERLAP_MS) => {
                    u.join(at, i);
                    Some((end.max(last), at))
                }
                _ => Some((last, i)),
            };
        }
    }
}

/// Links incidents that share a record: one record that fired several
/// rules (an unhandled rejection whose reason is a PostgreSQL error) feeds
/// one story.
fn link_shared_records(u: &mut Union, incidents: &[Incident]) {
    let mut all: Vec<(usize, u64, usize)> = incidents
        .iter()
        .enumerate()
        .flat_map(|(i, inc)| inc.marks.iter().map(move |m| (m.source, m.line, i)))
        .collect();
    all.sort_unstable();
    for pair in all.windows(2) {
        let ((s0, l0, a), (s1, l1, b)) = (pair[0], pair[1]);
        if (s0, l0) == (s1, l1) && a != b {
            u.join(a, b);
        }
    }
}

/// The incident chosen as a rule-matched cause of one app's exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleCause {
    /// Its index.
    pub incident: usize,
    /// Its records inside the windows.
    pub count: usize,
    /// The first of them.
    pub first: Mark,
}

/// For each app with cause windows, the incident with the most records
/// (not pm2's own lines) inside them, if any: ties go to the earliest, then
/// the most severe.
pub fn rule_causes(incidents: &[Incident], windows: &[Window]) -> BTreeMap<String, RuleCause> {
    let spans = Spans::of(windows);
    let mut best: BTreeMap<String, RuleCause> = BTreeMap::new();
    for (i, inc) in incidents.iter().enumerate() {
        let Some(app) = &inc.app else { continue };
        // An incident's opening records: a closing one ("connectivity
        // restored") is no cause of anything.
        let mut inside =
            inc.marks.iter().filter(|m| m.start && !m.daemon && m.ts.is_some_and(|ts| spans.holds(app, ts)));
        let Some(first) = inside.next() else { continue };
        let count = 1 + inside.count();
        let better = best.get(app).is_none_or(|b| {
            let other = &incidents[b.incident];
            (count, Reverse(inc.first_ms()), inc.severity) > (b.count, Reverse(other.first_ms()), other.severity)
        });
        if better {
            best.insert(app.clone(), RuleCause { incident: i, count, first: *first });
        }
    }
    best
}

/// The windows of each app merged into disjoint spans, for lookups by
/// binary search (a crash loop of thousands of exits has thousands of
/// windows).
struct Spans {
    by_app: BTreeMap<String, Vec<(i64, i64)>>,
}

impl Spans {
    fn of(windows: &[Window]) -> Spans {
        let mut by_app: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
        for w in windows {
            by_app.entry(w.app.clone()).or_default().push((w.start, w.end));
        }
        for spans in by_app.values_mut() {
            spans.sort_unstable();
            let mut merged: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
            for &(s, e) in spans.iter() {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            *spans = merged;
        }
        Spans { by_app }
    }

    fn holds(&self, app: &str, ts: i64) -> bool {
        let Some(spans) = self.by_app.get(app) else { return false };
        let i = spans.partition_point(|&(_, e)| e < ts);
        spans.get(i).is_some_and(|&(s, _)| s <= ts)
    }
}
