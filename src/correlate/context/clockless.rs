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

use crate::matcher::{Event, Ts};
use crate::rules::{ContextKind, Role, RuleSet, Scope};

use super::{entry_key, lend};

/// The entries (bit n: entry n) decided already for a start event, by its
/// source, line and rule.
pub(super) type Decided = HashMap<(usize, u64, u32), u8>;

/// Where an event lives in the sources handed to [`pair`]: list, position.
pub(super) type At = (usize, usize);

/// What one entry of a rule decided for one start event: its partner,
/// if any.
struct Outcome {
    rule: u32,
    start: Seen,
    entry: u8,
    partner: Option<At>,
}

/// Pairs the start events and entry events that share no clock (see the
/// module doc); returns the entries decided per start event. A no-op for
/// packs without app-scoped entries.
pub(super) fn pair(rules: &RuleSet, sources: &mut [Vec<Event>]) -> Decided {
    let mut planner = Planner::new(rules);
    if !planner.wants() {
        return Decided::new();
    }
    for (i, list) in sources.iter().enumerate() {
        for (p, ev) in list.iter().enumerate() {
            planner.read((i, p), ev);
        }
    }
    let plan = planner.plan().fill(|(i, p)| sources.get(i).and_then(|list| list.get(p)).cloned());
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
fn ruled(rules: &RuleSet) -> HashSet<u32> {
    (0..rules.rules().len() as u32)
        .filter(|&r| (0..rules.rules()[r as usize].context.len() as u8).any(|n| clockless(rules, r, n)))
        .collect()
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

/// A [`Plan`] whose lenders are named by place: the planner holds no
/// event, and the lenders (only where one side of a key has no time) are
/// fetched once it is made ([`Draft::fill`]).
#[derive(Debug, Default)]
pub(super) struct Draft {
    decided: Decided,
    gone: HashSet<At>,
    lent: Vec<(At, At)>,
}

impl Draft {
    /// The places of the events that lend their fields.
    pub(super) fn lenders(&self) -> HashSet<At> {
        self.lent.iter().map(|&(_, from)| from).collect()
    }

    /// The plan, each lender as `fetch` gives it (none: it lends nothing).
    pub(super) fn fill(self, mut fetch: impl FnMut(At) -> Option<Event>) -> Plan {
        let lent = self.lent.into_iter().filter_map(|(at, from)| Some((at, fetch(from)?))).collect();
        Plan { decided: self.decided, gone: self.gone, lent }
    }
}

/// What the plan keeps of an event it reads: where it is, its order (time,
/// list, line), its source (for [`Decided`]) and its key for one entry,
/// interned. A storm's start events of the paired rules are read here
/// (1 GiB storm corpus: 51 k), and a copy of each, its text and values
/// decoded from the spill, was most of what the plan held.
#[derive(Debug, Clone, Copy)]
struct Seen {
    at: At,
    source: usize,
    line: u64,
    ts: Ts,
    key: u32,
}

/// Makes the [`Plan`] from the events handed to [`Planner::read`], one at
/// a time, each with its place: neither path holds its lists for it (the
/// spilled one reads its lists back from disk).
pub(super) struct Planner<'r> {
    rules: &'r RuleSet,
    ruled: HashSet<u32>,
    /// Per (rule, entry): the start events it applies to, with its key.
    starts: BTreeMap<(u32, u8), Vec<Seen>>,
    /// Per (rule, entry): its events, with their key.
    found: BTreeMap<(u32, u8), Vec<Seen>>,
    /// The keys met, by their number in [`Seen::key`].
    keys: Vec<Vec<Arc<str>>>,
    numbers: HashMap<Vec<Arc<str>>, u32>,
}

impl<'r> Planner<'r> {
    pub(super) fn new(rules: &'r RuleSet) -> Self {
        Planner {
            rules,
            ruled: ruled(rules),
            starts: BTreeMap::new(),
            found: BTreeMap::new(),
            keys: Vec::new(),
            numbers: HashMap::new(),
        }
    }

    /// Whether the pack has an entry paired here: else [`Planner::plan`]
    /// decides nothing whatever it reads.
    pub(super) fn wants(&self) -> bool {
        !self.ruled.is_empty()
    }

    /// Reads the event at `at`; the events of each list in their order.
    pub(super) fn read(&mut self, at: At, ev: &Event) {
        if !self.ruled.contains(&ev.rule) {
            return;
        }
        let (rules, rule) = (self.rules, ev.rule);
        let context = &rules.rules()[rule as usize].context;
        match ev.role {
            Role::Start => {
                for (n, c) in context.iter().enumerate() {
                    let n = n as u8;
                    if !clockless(rules, rule, n) || !c.applies_to(ev.shape.regex()) {
                        continue;
                    }
                    if let Some(seen) = self.seen(at, ev, entry_key(c, ev)) {
                        self.starts.entry((rule, n)).or_default().push(seen);
                    }
                }
            }
            Role::Context(n) if clockless(rules, rule, n) => {
                let Some(c) = context.get(usize::from(n)) else { return };
                if let Some(seen) = self.seen(at, ev, entry_key(c, ev)) {
                    self.found.entry((rule, n)).or_default().push(seen);
                }
            }
            _ => {}
        }
    }

    fn seen(&mut self, at: At, ev: &Event, key: Option<Vec<Arc<str>>>) -> Option<Seen> {
        let key = key?;
        let next = self.keys.len() as u32;
        let key = *self.numbers.entry(key).or_insert_with_key(|k| {
            self.keys.push(k.clone());
            next
        });
        Some(Seen { at, source: ev.source, line: ev.line, ts: ev.ts, key })
    }

    /// The outcomes of what was read.
    pub(super) fn plan(self) -> Draft {
        let mut outcomes = Vec::new();
        for (&(rule, n), found) in &self.found {
            let Some(starts) = self.starts.get(&(rule, n)) else { continue };
            outcomes.extend(self.pair_entry(rule, n, starts, found));
        }
        self.decide(outcomes)
    }

    /// The outcomes of entry `n` of `rule` for the start events it applies
    /// to, `starts`, given its events `found`.
    fn pair_entry(&self, rule: u32, n: u8, starts: &[Seen], found: &[Seen]) -> Vec<Outcome> {
        let by_key = |seen: &[Seen]| {
            let mut keyed: BTreeMap<&[Arc<str>], Vec<Seen>> = BTreeMap::new();
            for s in seen {
                keyed.entry(&self.keys[s.key as usize]).or_default().push(*s);
            }
            keyed
        };
        let keyed_found = by_key(found);
        let mut out = Vec::new();
        for (key, s) in by_key(starts) {
            let Some(e) = keyed_found.get(key) else { continue };
            // A file holding both pairs them itself, by order or by time.
            let s_files: BTreeSet<usize> = s.iter().map(|seen| seen.at.0).collect();
            let e_files: BTreeSet<usize> = e.iter().map(|seen| seen.at.0).collect();
            let mut s: Vec<Seen> = s.into_iter().filter(|seen| !e_files.contains(&seen.at.0)).collect();
            let mut e: Vec<Seen> = e.iter().copied().filter(|seen| !s_files.contains(&seen.at.0)).collect();
            let untimed = |seen: &[Seen]| seen.iter().all(|s| s.ts.get().is_none());
            if s.is_empty() || e.is_empty() || !(untimed(&s) || untimed(&e)) {
                continue;
            }
            // In each side's own order (by time where it has one): the ends
            // line up.
            let order = |seen: &Seen| (seen.ts.get(), seen.at.0, seen.line);
            s.sort_by_key(order);
            e.sort_by_key(order);
            let mut partners = e.iter().rev().map(|seen| seen.at);
            for &start in s.iter().rev() {
                out.push(Outcome { rule, start, entry: n, partner: partners.next() });
            }
        }
        out
    }

    /// What the outcomes do: excused start events and those a required
    /// entry left without a partner are removed, partners lend their
    /// fields.
    fn decide(self, outcomes: Vec<Outcome>) -> Draft {
        let mut gone: HashSet<At> = HashSet::new();
        let mut lent: Vec<(At, At)> = Vec::new();
        let mut decided = Decided::new();
        for o in outcomes {
            let Some(c) = self.rules.rules()[o.rule as usize].context.get(usize::from(o.entry)) else { continue };
            match (&c.kind, o.partner) {
                (ContextKind::Unless { .. }, Some(_)) => {
                    gone.insert(o.start.at);
                }
                (ContextKind::Lend { require: true, .. }, None) => {
                    gone.insert(o.start.at);
                }
                (ContextKind::Lend { .. }, Some(from)) => lent.push((o.start.at, from)),
                _ => {}
            }
            *decided.entry((o.start.source, o.start.line, o.rule)).or_default() |= 1 << o.entry;
        }
        Draft { decided, gone, lent }
    }
}

/// Carries a [`Plan`] out on the lists it was made from.
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
