//! Context across files that share no clock: pm2 writes an app's exit to
//! pm2.log with a time, while the app's own log (pm2's default, no
//! `--time`) has none. The app stage pairs by time and the file stage by
//! order within one file, so such a pair would never meet. Owns that
//! pairing, for `scan`, before the two stages: it decides, per start
//! event, the app-scoped entries it can, and hands on the start events
//! (excused ones left out, lent ones with their fields) and which entries
//! each has had decided, so the stages leave those alone.
//!
//! The rule: for an app-scoped entry (not an `every` unless, which needs a
//! window to say what it covers), the start events of one key in files
//! holding none of the entry's events of that key, and the entry's events
//! of that key in files holding none of those start events, pair one to
//! one when either side has no time at all: by count, from the end of the
//! logs (every file runs up to the moment it was read, while its start
//! depends on rotation and flushes). The last start event pairs with the
//! last entry event, the one before with the one before, and the earliest
//! start events are left without a partner when the entry's events are
//! fewer. One V8 heap OOM explains one SIGABRT; three error prints are the
//! causes of three exits. The limits: an OOM long ago still excuses the
//! latest SIGABRT, and errors an app logged and survived may be taken for
//! the crash's when they are the last ones before the end of the log.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::matcher::Event;
use crate::rules::{ContextKind, Role, RuleSet, Scope};

use super::{entry_key, lend};

/// The entries (bit n: entry n) decided already for a start event, by its
/// source, line and rule.
pub(super) type Decided = HashMap<(usize, u64, u32), u8>;

/// Where an event lives in the sources handed to [`pair`]: list, position.
pub(super) type At = (usize, usize);

/// What one entry decided for one start event: its partner, if any.
struct Outcome {
    start: At,
    entry: u8,
    partner: Option<At>,
}

/// Pairs the start events and entry events that share no clock (see the
/// module doc); returns the entries decided per start event. A no-op for
/// packs without app-scoped entries.
pub(super) fn pair(rules: &RuleSet, sources: &mut [Vec<Event>]) -> Decided {
    let plan = plan(rules, sources);
    carry_out(sources, plan)
}

/// Whether entry `n` of `rule` is paired here.
fn clockless(rules: &RuleSet, rule: u32, n: u8) -> bool {
    rules.rules()[rule as usize]
        .context
        .get(usize::from(n))
        .is_some_and(|c| c.scope == Scope::App && !matches!(c.kind, ContextKind::Unless { every: true, .. }))
}

/// The rules with an entry paired here.
pub(super) fn ruled(rules: &RuleSet) -> HashSet<u32> {
    (0..rules.rules().len() as u32)
        .filter(|&r| (0..rules.rules()[r as usize].context.len() as u8).any(|n| clockless(rules, r, n)))
        .collect()
}

/// Whether [`plan`] reads `ev` (`ruled` from [`ruled`]): the others may be
/// left out of the lists it is given, and their outcome is the same.
pub(super) fn reads(rules: &RuleSet, ruled: &HashSet<u32>, ev: &Event) -> bool {
    ruled.contains(&ev.rule)
        && match ev.role {
            Role::Start => true,
            Role::Context(n) => clockless(rules, ev.rule, n),
            Role::End => false,
        }
}

/// What [`pair`] does to the sources, not done yet: the entries decided
/// per start event, the events removed and those lent fields (each with
/// its lender), by where they are in the lists.
#[derive(Debug, Default)]
pub(super) struct Plan {
    pub(super) decided: Decided,
    pub(super) gone: HashSet<At>,
    pub(super) lent: Vec<(At, Event)>,
}

/// [`pair`]'s outcomes, to carry out.
pub(super) fn plan(rules: &RuleSet, sources: &[Vec<Event>]) -> Plan {
    let clockless = |rule: u32, n: u8| clockless(rules, rule, n);
    let ruled = ruled(rules);
    if ruled.is_empty() {
        return Plan::default();
    }
    let mut starts: BTreeMap<u32, Vec<At>> = BTreeMap::new();
    let mut entries: BTreeMap<(u32, u8), Vec<At>> = BTreeMap::new();
    for (i, list) in sources.iter().enumerate() {
        for (p, ev) in list.iter().enumerate().filter(|(_, ev)| ruled.contains(&ev.rule)) {
            match ev.role {
                Role::Start => starts.entry(ev.rule).or_default().push((i, p)),
                Role::Context(n) if clockless(ev.rule, n) => entries.entry((ev.rule, n)).or_default().push((i, p)),
                _ => {}
            }
        }
    }
    let mut outcomes = Vec::new();
    for ((rule, n), found) in &entries {
        let Some(rule_starts) = starts.get(rule) else { continue };
        outcomes.extend(pair_entry(rules, sources, *rule, *n, rule_starts, found));
    }
    decide(rules, sources, outcomes)
}

/// The outcomes of entry `n` of `rule` for its start events `starts`,
/// given its events `found`.
fn pair_entry(rules: &RuleSet, sources: &[Vec<Event>], rule: u32, n: u8, starts: &[At], found: &[At]) -> Vec<Outcome> {
    let Some(c) = rules.rules()[rule as usize].context.get(usize::from(n)) else { return Vec::new() };
    let event = |(i, p): At| &sources[i][p];
    let by_key = |ats: &mut dyn Iterator<Item = At>| {
        let mut keyed: BTreeMap<Vec<Arc<str>>, Vec<At>> = BTreeMap::new();
        for at in ats {
            if let Some(k) = entry_key(c, event(at)) {
                keyed.entry(k).or_default().push(at);
            }
        }
        keyed
    };
    let keyed_starts = by_key(&mut starts.iter().copied().filter(|&at| c.applies_to(event(at).shape.regex())));
    let keyed_found = by_key(&mut found.iter().copied());
    let mut out = Vec::new();
    for (key, s) in &keyed_starts {
        let Some(e) = keyed_found.get(key) else { continue };
        // A file holding both pairs them itself, by order or by time.
        let s_files: BTreeSet<usize> = s.iter().map(|at| at.0).collect();
        let e_files: BTreeSet<usize> = e.iter().map(|at| at.0).collect();
        let mut s: Vec<At> = s.iter().copied().filter(|at| !e_files.contains(&at.0)).collect();
        let mut e: Vec<At> = e.iter().copied().filter(|at| !s_files.contains(&at.0)).collect();
        let untimed = |ats: &[At]| ats.iter().all(|&at| event(at).ts.get().is_none());
        if s.is_empty() || e.is_empty() || !(untimed(&s) || untimed(&e)) {
            continue;
        }
        // In each side's own order (by time where it has one): the ends
        // line up.
        let order = |at: &At| (event(*at).ts.get(), at.0, event(*at).line);
        s.sort_by_key(order);
        e.sort_by_key(order);
        let mut partners = e.iter().rev().copied();
        for &start in s.iter().rev() {
            out.push(Outcome { start, entry: n, partner: partners.next() });
        }
    }
    out
}

/// What the outcomes do: excused start events and those a required entry
/// left without a partner are removed, partners lend their fields.
fn decide(rules: &RuleSet, sources: &[Vec<Event>], outcomes: Vec<Outcome>) -> Plan {
    let mut gone: HashSet<At> = HashSet::new();
    let mut lent: Vec<(At, Event)> = Vec::new();
    let mut decided = Decided::new();
    for o in outcomes {
        let start = &sources[o.start.0][o.start.1];
        let Some(c) = rules.rules()[start.rule as usize].context.get(usize::from(o.entry)) else { continue };
        match (&c.kind, o.partner) {
            (ContextKind::Unless { .. }, Some(_)) => {
                gone.insert(o.start);
            }
            (ContextKind::Lend { require: true, .. }, None) => {
                gone.insert(o.start);
            }
            (ContextKind::Lend { .. }, Some((i, p))) => lent.push((o.start, sources[i][p].clone())),
            _ => {}
        }
        *decided.entry((start.source, start.line, start.rule)).or_default() |= 1 << o.entry;
    }
    Plan { decided, gone, lent }
}

/// Carries a [`plan`] out on the lists it was made from.
fn carry_out(sources: &mut [Vec<Event>], Plan { decided, gone, lent }: Plan) -> Decided {
    for ((i, p), from) in lent {
        lend(&mut sources[i][p], &from, None);
    }
    for (i, list) in sources.iter_mut().enumerate() {
        if gone.iter().any(|at| at.0 == i) {
            let mut p = 0;
            list.retain(|_| {
                p += 1;
                !gone.contains(&(i, p - 1))
            });
        }
    }
    decided
}
