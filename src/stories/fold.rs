//! Which incidents make one story, in two steps.
//!
//! 1. **Units**: a union of incident indices over the links that keep to
//!    one kind of incident: repeats of one rule and key; the restart
//!    family of one app; one dependency's incidents across apps whose
//!    spans come within [`OVERLAP_MS`] of each other; incidents of one
//!    family (or none) that share a record. Every unit is of one
//!    class: an app's restarts, a dependency, or a plain rule.
//! 2. **Attachments**: a unit that is not a dependency joins at most one
//!    other unit, its parent. An app's restarts join the dependency outage
//!    that caused them (the rule-matched cause found before its exits, or
//!    the app's own crash record that the dependency's rule matched too); a
//!    symptom (a failing health check, a proxy's 5xx) joins the outage or
//!    the restarts it falls within (`symptom_parent`); a plain unit joins
//!    the restarts it caused, else the unit it shares the most records
//!    with. A dependency unit joins nothing. A parent is always of a class
//!    that comes before the child's in `Class`, so a story is a tree at
//!    most three deep under one root, and two outages, or two apps'
//!    restarts, never chain into one through a third.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use crate::correlate::fold::Mark;
use crate::incidents::View;
use crate::incidents::store::Views;
use crate::rules::Family;

use super::cause::Window;

/// Dependency incidents whose spans come within this of each other are one
/// outage: a Redis restart seen by the api at 10:00:05 and by the worker
/// at 10:02:40 is one story; the same Redis down again at 14:00 is
/// another (unless the same rule and key link them: a repeat).
pub const OVERLAP_MS: i64 = 5 * 60_000;

/// A symptom seen by an app that no outage or restart names (a proxy's
/// 5xx: Caddy's log says which port failed, not which app listens there)
/// is put down to an outage or a restart only if it began within this of
/// one of its incidents beginning: a front end's 5xx three hours into a
/// market-data outage are another matter.
pub const SYMPTOM_LAG_MS: i64 = 2 * 60_000;

/// How far the clocks of two writers' logs may disagree: a health check
/// logged a few seconds before the outage's first record is still inside
/// it.
pub const SKEW_MS: i64 = 10_000;

/// Union-find over indices, in `u32` as the store numbers its incidents
/// (a storm's stories hold hundreds of thousands).
struct Union {
    parent: Vec<u32>,
}

impl Union {
    fn new(n: usize) -> Union {
        Union { parent: (0..n).map(|i| u32::try_from(i).unwrap_or(u32::MAX)).collect() }
    }

    fn root(&mut self, i: usize) -> usize {
        let mut i = i as u32;
        while self.parent[i as usize] != i {
            let up = self.parent[self.parent[i as usize] as usize];
            self.parent[i as usize] = up;
            i = up;
        }
        i as usize
    }

    /// Joins the groups of `a` and `b`; the smaller root stays, so the
    /// result does not depend on the order links come in.
    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.root(a), self.root(b));
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[hi] = lo as u32;
    }

    /// Each index's root, in place: a parent is never above its child
    /// (the smaller root stays), so in ascending order a parent's entry
    /// is already its root.
    fn into_roots(mut self) -> Vec<u32> {
        for i in 0..self.parent.len() {
            let p = self.parent[i] as usize;
            self.parent[i] = self.parent[p];
        }
        self.parent
    }
}

/// What a unit is, which decides what it may join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// A dependency's outage: joins nothing, others join it.
    Dependency,
    /// One app's restarts: may join the outage that caused them.
    Restart,
    /// What users see while something behind an app is down: may join
    /// the outage or the restarts it falls within.
    Symptom,
    /// A rule of no family: may join what it caused or shares records with.
    Plain,
}

fn class(i: &View) -> Class {
    match i.family() {
        Some(Family::Dependency(_)) => Class::Dependency,
        Some(Family::Restart) => Class::Restart,
        Some(Family::Symptom) => Class::Symptom,
        None => Class::Plain,
    }
}

/// Groups of incident indices, each sorted, in order of their smallest
/// index. `causes` names, per app, the incident found in the windows
/// before its exits ([`rule_causes`]).
pub fn groups(incidents: Views<'_>, causes: &BTreeMap<String, RuleCause>) -> Vec<Vec<usize>> {
    let mut u = Union::new(incidents.len());
    link_by(&mut u, incidents.all(), |i| Some(i.group));
    link_by(&mut u, incidents.all(), |i| match (i.family(), i.app_id()) {
        (Some(Family::Restart), Some(app)) => Some(app),
        _ => None,
    });
    link_outages(&mut u, incidents);
    link_same_kind_records(&mut u, incidents);
    let unit = u.into_roots();
    let parents = parents(incidents, &unit, causes);
    // Stories by their first member: each gets its place when its first
    // member (the smallest index) comes.
    let mut story_of: HashMap<usize, usize> = HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, &own) in unit.iter().enumerate() {
        // Depth three at most: a plain unit joins a symptom that joins
        // restarts that joined an outage.
        let mut top = own as usize;
        for _ in 0..3 {
            top = parents.get(&top).copied().unwrap_or(top);
        }
        let at = *story_of.entry(top).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[at].push(i);
    }
    out
}

/// Each unit's parent (units named by their root index), at most one: see
/// the module header. A parent is never a unit that has a parent of the
/// same or a lower class, so attachments cannot form a cycle.
fn parents(views: Views<'_>, unit: &[u32], causes: &BTreeMap<String, RuleCause>) -> BTreeMap<usize, usize> {
    let incidents = views.all();
    let of = |i: usize| class(&incidents[i]);
    let unit_of = |i: usize| unit[i] as usize;
    // Restarts → the dependency that caused them; a plain cause → the
    // restarts it caused.
    let mut caused: BTreeMap<usize, usize> = BTreeMap::new();
    for (app, cause) in causes {
        let restart = incidents.iter().position(|i| i.is(&Family::Restart) && views.app(i) == Some(app.as_str()));
        let (Some(r), c) = (restart, cause.incident) else { continue };
        let (ru, cu) = (unit_of(r), unit_of(c));
        match of(c) {
            Class::Dependency => {
                caused.entry(ru).or_insert(cu);
            }
            Class::Plain => {
                caused.entry(cu).or_insert(ru);
            }
            // rule_causes never names a symptom.
            Class::Restart | Class::Symptom => {}
        }
    }
    let shared = shared_records(views, unit);
    let mut out = BTreeMap::new();
    // A unit is named by its root, its smallest index: the roots are
    // the units, in order.
    let units: Vec<usize> = (0..unit.len()).filter(|&i| unit_of(i) == i).collect();
    let spans = Spans::of(incidents, unit);
    // Each symptom unit's members, gathered once: a log may hold many
    // (one per health-check path).
    let mut symptoms: BTreeMap<usize, Vec<&View>> = BTreeMap::new();
    for (i, inc) in incidents.iter().enumerate().filter(|&(i, _)| of(unit_of(i)) == Class::Symptom) {
        symptoms.entry(unit_of(i)).or_default().push(inc);
    }
    for (u, members) in symptoms {
        if let Some(p) = symptom_parent(&members, &spans) {
            out.insert(u, p);
        }
    }
    // Restarts first: a plain unit's choice may depend on nothing else.
    for class_now in [Class::Restart, Class::Plain] {
        for &u in units.iter().filter(|&&u| of(u) == class_now) {
            // What the unit's records are shared with; for restarts, also
            // those of the plain incident that caused them (an unhandled
            // rejection whose reason is a PostgreSQL error: the outage
            // caused the restarts through it).
            let own = std::iter::once(u);
            let causes = caused.iter().filter(|&(&p, &r)| r == u && of(p) == Class::Plain).map(|(&p, _)| p);
            let sources: Vec<usize> = match class_now {
                Class::Restart => own.chain(causes).collect(),
                _ => own.collect(),
            };
            let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
            for &src in &sources {
                for (&(_, other), &n) in shared.range((src, 0)..=(src, usize::MAX)) {
                    let fits = match class_now {
                        Class::Restart => of(other) == Class::Dependency,
                        _ => of(other) != Class::Plain,
                    };
                    if fits && other != u {
                        *counts.entry(other).or_insert(0) += n;
                    }
                }
            }
            let by_record = counts.into_iter().max_by_key(|&(other, n)| (n, Reverse(other))).map(|(other, _)| other);
            if let Some(p) = caused.get(&u).copied().or(by_record) {
                out.insert(u, p);
            }
        }
    }
    out
}

/// The latest of `ends` up to each index: with spans sorted by start, the
/// first span that may still hold a time is found by binary search.
fn reach(ends: impl Iterator<Item = i64>) -> Vec<i64> {
    ends.scan(i64::MIN, |r, end| {
        *r = (*r).max(end);
        Some(*r)
    })
    .collect()
}

/// The timed incidents of outages and restarts, each with its unit, for
/// finding what a symptom falls within. Indices into the views, not
/// copies of their times: a storm's views are mostly outages and
/// restarts (5 GiB storm: 50 MiB of (first, last, unit) copies, twice,
/// at the run's peak; 16 bytes a span now).
struct Spans<'a> {
    incidents: &'a [View],
    unit: &'a [u32],
    /// Their indices, sorted by (first, last, unit, index).
    all: Vec<u32>,
    /// The latest `last` among `all` up to each place.
    reach: Vec<i64>,
    /// The same per app, in report order: an app's own outage or restarts.
    by_app: BTreeMap<u32, Vec<u32>>,
}

impl<'a> Spans<'a> {
    fn of(incidents: &'a [View], unit: &'a [u32]) -> Spans<'a> {
        let mut all = Vec::new();
        let mut by_app: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (i, inc) in incidents.iter().enumerate() {
            if !matches!(class(inc), Class::Dependency | Class::Restart) || inc.first_ms().zip(inc.last_ms()).is_none()
            {
                continue;
            }
            // The store numbers its incidents in u32.
            let Ok(i) = u32::try_from(i) else { break };
            all.push(i);
            if let Some(app) = inc.app_id() {
                by_app.entry(app).or_default().push(i);
            }
        }
        all.sort_unstable_by_key(|&i| (span_first(incidents, i), span_last(incidents, i), unit[i as usize], i));
        let reach = reach(all.iter().map(|&i| span_last(incidents, i)));
        Spans { incidents, unit, all, reach, by_app }
    }

    fn first(&self, i: u32) -> i64 {
        span_first(self.incidents, i)
    }

    fn last(&self, i: u32) -> i64 {
        span_last(self.incidents, i)
    }

    /// The units of the spans that began no more than `lag` before `ts`
    /// (and at most [`SKEW_MS`] after it) and had not ended [`SKEW_MS`]
    /// before it.
    fn around(&self, ts: i64, lag: i64) -> impl Iterator<Item = usize> + '_ {
        let from = self.all.partition_point(|&i| self.first(i) < ts.saturating_sub(lag));
        let from = from.max(self.reach.partition_point(|&r| r < ts.saturating_sub(SKEW_MS)));
        let to = self.all.partition_point(|&i| self.first(i) <= ts.saturating_add(SKEW_MS));
        self.all[from..to.max(from)]
            .iter()
            .filter(move |&&i| self.last(i) >= ts.saturating_sub(SKEW_MS))
            .map(|&i| self.unit[i as usize] as usize)
    }

    /// The units of `app`'s own outage or restart incidents whose span
    /// holds `ts` (give or take [`SKEW_MS`]).
    fn of_app<'s>(&'s self, app: u32, ts: i64) -> impl Iterator<Item = usize> + 's {
        let spans = self.by_app.get(&app).map_or(&[][..], Vec::as_slice);
        spans
            .iter()
            .filter(move |&&i| {
                self.first(i).saturating_sub(SKEW_MS) <= ts && ts <= self.last(i).saturating_add(SKEW_MS)
            })
            .map(|&i| self.unit[i as usize] as usize)
    }
}

/// Span `i`'s start: only timed incidents are spans.
fn span_first(incidents: &[View], i: u32) -> i64 {
    incidents[i as usize].first_ms().unwrap_or(i64::MIN)
}

/// Span `i`'s end.
fn span_last(incidents: &[View], i: u32) -> i64 {
    incidents[i as usize].last_ms().unwrap_or(i64::MIN)
}

/// The outage or restarts a symptom unit falls within: for each of its
/// timed incidents, those of its own app whose span holds its start (the
/// api's failing health check while the api lost PostgreSQL), else any
/// that began at most [`SYMPTOM_LAG_MS`] before it and still lasted (a
/// proxy's 5xx). The unit explaining the most of its incidents by app,
/// then by time, then the first in report order, is the parent; none for
/// a symptom nothing explains (an app's own bug behind its 500s).
fn symptom_parent(members: &[&View], spans: &Spans<'_>) -> Option<usize> {
    let mut score: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for inc in members {
        let Some(ts) = inc.first_ms() else { continue };
        let mut own: Vec<usize> = inc.app_id().map(|app| spans.of_app(app, ts).collect()).unwrap_or_default();
        own.sort_unstable();
        own.dedup();
        for &p in &own {
            score.entry(p).or_default().0 += 1;
        }
        if own.is_empty() {
            let mut near: Vec<usize> = spans.around(ts, SYMPTOM_LAG_MS).collect();
            near.sort_unstable();
            near.dedup();
            for p in near {
                score.entry(p).or_default().1 += 1;
            }
        }
    }
    score.into_iter().max_by_key(|&(p, n)| (n, Reverse(p))).map(|(p, _)| p)
}

/// Links incidents of one kind that share a record: two rules of one
/// dependency on one line (TWS's 1101 restores the link and loses the
/// data), or two plain rules. Across kinds a shared record is an
/// attachment ([`parents`]), which never chains. Of a record's incidents
/// (in report order), each is linked to the next if they are of one
/// kind.
fn link_same_kind_records(u: &mut Union, incidents: Views<'_>) {
    for (set, _) in incidents.links() {
        for pair in set.windows(2) {
            let (a, b) = (pair[0] as usize, pair[1] as usize);
            if incidents[a].family() == incidents[b].family() {
                u.join(a, b);
            }
        }
    }
}

/// Records shared between units: ((unit, other unit), how many), both ways
/// round. One record that fired several rules (an unhandled rejection
/// whose reason is a PostgreSQL error) feeds one story. Of a record's
/// units (in order), each is counted with the next.
fn shared_records(incidents: Views<'_>, unit: &[u32]) -> BTreeMap<(usize, usize), usize> {
    let mut out = BTreeMap::new();
    let mut units: Vec<usize> = Vec::new();
    for (set, n) in incidents.links() {
        units.clear();
        units.extend(set.iter().map(|&i| unit[i as usize] as usize));
        units.sort_unstable();
        units.dedup();
        for pair in units.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            *out.entry((a, b)).or_insert(0) += n as usize;
            *out.entry((b, a)).or_insert(0) += n as usize;
        }
    }
    out
}

/// Links incidents with equal `key_of` values (None: no link).
fn link_by<'a, K: Ord>(u: &mut Union, incidents: &'a [View], key_of: impl Fn(&'a View) -> Option<K>) {
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
/// cannot be placed against them; those of one dependency and one app (or
/// without an app, one file) are linked: a log without times cannot tell
/// its outages apart (TWS's port change and the refused reconnects after
/// it are one story).
fn link_outages(u: &mut Union, incidents: Views<'_>) {
    let mut by_dep: BTreeMap<&str, Vec<(i64, i64, usize)>> = BTreeMap::new();
    for (i, inc) in incidents.iter().enumerate() {
        if let (Some(Family::Dependency(d)), Some(first), Some(last)) = (inc.family(), inc.first_ms(), inc.last_ms()) {
            by_dep.entry(d.as_str()).or_default().push((first, last, i));
        }
    }
    link_by(u, incidents.all(), |i| match (i.family(), i.first_ms(), i.app_id(), incidents.marks(i).first()) {
        (Some(Family::Dependency(d)), None, Some(app), _) => Some((d.as_str(), Ok(app))),
        (Some(Family::Dependency(d)), None, None, Some(m)) => Some((d.as_str(), Err(m.source()))),
        _ => None,
    });
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

/// The incident chosen as a rule-matched cause of one app's exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleCause {
    /// Its index.
    pub incident: usize,
    /// Its records inside the windows.
    pub count: usize,
    /// Exits with at least one of its records in their window.
    pub exits: usize,
    /// The first of them.
    pub first: Mark,
}

/// For each app with cause windows, the incident whose records (not pm2's
/// own lines) fall before the most of its exits, if any: ties go to more
/// records, then the earliest, then the most severe. A dependency's
/// incident must come before at least half of the exits: a link that
/// flaps all day has a record a few seconds before some exit of every
/// crash loop by chance, and the story it leads would swallow the app's
/// restarts.
pub fn rule_causes(incidents: Views<'_>, windows: &[Window]) -> BTreeMap<String, RuleCause> {
    let exits = Exits::of(windows);
    let mut best: BTreeMap<String, RuleCause> = BTreeMap::new();
    for (i, inc) in incidents.iter().enumerate() {
        let Some(app) = incidents.app(inc) else { continue };
        let Some(of_app) = exits.by_app.get(app) else { continue };
        // A failing health check before an exit is what the exit's cause
        // did to users, not the cause.
        if inc.is(&Family::Symptom) {
            continue;
        }
        // An incident's opening records: a closing one ("connectivity
        // restored") is no cause of anything.
        let inside: Vec<&Mark> = incidents
            .marks(inc)
            .iter()
            .filter(|m| m.start() && !m.daemon() && m.ts().is_some_and(|ts| of_app.holds(ts)))
            .collect();
        let Some(&&first) = inside.first() else { continue };
        let count = inside.len();
        let covered = of_app.covered(inside.iter().filter_map(|m| m.ts()));
        if matches!(inc.family(), Some(Family::Dependency(_))) && 2 * covered < of_app.len() {
            continue;
        }
        let better = best.get(app).is_none_or(|b| {
            let other = &incidents[b.incident];
            (covered, count, Reverse(inc.first_ms()), inc.severity)
                > (b.exits, b.count, Reverse(other.first_ms()), other.severity)
        });
        if better {
            best.insert(app.to_string(), RuleCause { incident: i, count, exits: covered, first });
        }
    }
    best
}

/// Each app's cause windows, for lookups by binary search (a crash loop
/// of thousands of exits has thousands of windows).
struct Exits<'a> {
    by_app: BTreeMap<&'a str, AppExits>,
}

/// One app's windows: (start, end), sorted, one per exit time (instances
/// of one app are not told apart here).
struct AppExits {
    windows: Vec<(i64, i64)>,
    /// The latest end among the windows up to each index, for lookups:
    /// windows are all as long, but not if a rule of another length ever
    /// makes them.
    reach: Vec<i64>,
}

impl Exits<'_> {
    fn of(windows: &[Window]) -> Exits<'_> {
        let mut by_app: BTreeMap<&str, Vec<(i64, i64)>> = BTreeMap::new();
        for w in windows {
            by_app.entry(w.app.as_str()).or_default().push((w.start, w.end));
        }
        let by_app = by_app
            .into_iter()
            .map(|(app, mut windows)| {
                windows.sort_unstable();
                windows.dedup();
                let reach = reach(windows.iter().map(|&(_, e)| e));
                (app, AppExits { windows, reach })
            })
            .collect();
        Exits { by_app }
    }
}

impl AppExits {
    fn len(&self) -> usize {
        self.windows.len()
    }

    /// The windows that may hold `ts`: from the first whose reach is at
    /// `ts` to the last that starts by it.
    fn range(&self, ts: i64) -> std::ops::Range<usize> {
        let from = self.reach.partition_point(|&r| r < ts);
        let to = self.windows.partition_point(|&(s, _)| s <= ts);
        from..to.max(from)
    }

    fn holds(&self, ts: i64) -> bool {
        self.windows[self.range(ts)].iter().any(|&(s, e)| s <= ts && ts <= e)
    }

    /// How many windows hold at least one of `times`.
    fn covered(&self, times: impl Iterator<Item = i64>) -> usize {
        let mut hit = vec![false; self.windows.len()];
        for ts in times {
            let r = self.range(ts);
            for (i, &(s, e)) in self.windows[r.clone()].iter().enumerate() {
                if s <= ts && ts <= e {
                    hit[r.start + i] = true;
                }
            }
        }
        hit.iter().filter(|&&h| h).count()
    }
}
