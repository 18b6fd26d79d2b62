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
use crate::rules::{Context, ContextKind, Role, RuleSet, Scope};

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
        list.iter().enumerate().for_each(|(p, ev)| planner.read((i, p), ev));
    }
    for i in planner.again() {
        let list = sources.get(i).map_or(&[][..], Vec::as_slice);
        list.iter().enumerate().for_each(|(p, ev)| planner.read((i, p), ev));
    }
    carry_out(sources, planner.plan())
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

/// What the plan keeps of an event of a key that can pair: where it is,
/// its order (time, list, line), its source (for [`Decided`]) and its key,
/// interned.
#[derive(Debug, Clone, Copy)]
struct Seen {
    at: At,
    source: usize,
    line: u64,
    ts: Ts,
    key: u32,
}

/// An entry of a rule and a key (interned): what pairs.
type Group = (u32, u8, u32);

/// What one list holds of a [`Group`]: start events, entry events, and
/// whether any of either has a time.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    starts: bool,
    timed_starts: bool,
    found: bool,
    timed_found: bool,
}

/// Makes the [`Plan`] from the events handed to [`Planner::read`], one at
/// a time, each with its place, in two passes over the lists: neither
/// path holds its lists for it (the spilled one reads them back from
/// disk), and the planner holds little of them. The first pass keeps,
/// per group and list, a [`Tally`]: enough to know which groups can pair
/// at all (a side in files without the other, with no time on one side).
/// The second reads only the lists of those groups ([`Planner::again`])
/// and keeps their events' places and times, and the lenders whole. A
/// timed log has no such group: a storm's 51 k events per GiB of the
/// paired rules were held whole here, and then as places, before this
/// pass was split in two.
pub(super) struct Planner<'r> {
    rules: &'r RuleSet,
    ruled: HashSet<u32>,
    /// Pass one: per group, per list.
    tallies: BTreeMap<Group, BTreeMap<usize, Tally>>,
    /// Pass two: the groups that can pair, each with the lists whose
    /// events it pairs (set by [`Planner::again`]).
    chosen: Option<HashMap<Group, BTreeSet<usize>>>,
    /// Per (rule, entry): the start events it applies to, with its key.
    starts: BTreeMap<(u32, u8), Vec<Seen>>,
    /// Per (rule, entry): its events, with their key.
    found: BTreeMap<(u32, u8), Vec<Seen>>,
    /// The events of `lend` entries, which may lend their fields.
    lenders: HashMap<At, Event>,
    /// The keys met, by their number in [`Seen::key`].
    keys: Vec<Vec<Arc<str>>>,
    numbers: HashMap<Vec<Arc<str>>, u32>,
}

impl<'r> Planner<'r> {
    pub(super) fn new(rules: &'r RuleSet) -> Self {
        Planner {
            rules,
            ruled: ruled(rules),
            tallies: BTreeMap::new(),
            chosen: None,
            starts: BTreeMap::new(),
            found: BTreeMap::new(),
            lenders: HashMap::new(),
            keys: Vec::new(),
            numbers: HashMap::new(),
        }
    }

    /// Whether the pack has an entry paired here: else [`Planner::plan`]
    /// decides nothing whatever it reads.
    pub(super) fn wants(&self) -> bool {
        !self.ruled.is_empty()
    }

    /// Reads the event at `at`: in each pass, the events of each list it
    /// reads in their order.
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
                    if clockless(rules, rule, n) && c.applies_to(ev.shape.regex()) {
                        self.sighted(at, ev, n, c, true);
                    }
                }
            }
            Role::Context(n) if clockless(rules, rule, n) => {
                if let Some(c) = context.get(usize::from(n)) {
                    self.sighted(at, ev, n, c, false);
                }
            }
            _ => {}
        }
    }

    /// `ev`, at `at`, is a start event entry `n` (`c`) applies to, or one
    /// of the entry's events.
    fn sighted(&mut self, at: At, ev: &Event, n: u8, c: &Context, start: bool) {
        let Some(key) = entry_key(c, ev) else { return };
        let timed = ev.ts.get().is_some();
        let Some(chosen) = &self.chosen else {
            let next = self.keys.len() as u32;
            let key = *self.numbers.entry(key).or_insert_with_key(|k| {
                self.keys.push(k.clone());
                next
            });
            let t = self.tallies.entry((ev.rule, n, key)).or_default().entry(at.0).or_default();
            if start {
                (t.starts, t.timed_starts) = (true, t.timed_starts || timed);
            } else {
                (t.found, t.timed_found) = (true, t.timed_found || timed);
            }
            return;
        };
        let Some(&key) = self.numbers.get(&key) else { return };
        if !chosen.get(&(ev.rule, n, key)).is_some_and(|lists| lists.contains(&at.0)) {
            return;
        }
        let seen = Seen { at, source: ev.source, line: ev.line, ts: ev.ts, key };
        if start {
            self.starts.entry((ev.rule, n)).or_default().push(seen);
        } else {
            self.found.entry((ev.rule, n)).or_default().push(seen);
            if matches!(c.kind, ContextKind::Lend { .. }) {
                self.lenders.insert(at, ev.clone());
            }
        }
    }

    /// Ends the first pass: chooses the groups that can pair and returns
    /// the lists to read again, through [`Planner::read`] (none: the plan
    /// decides nothing).
    pub(super) fn again(&mut self) -> BTreeSet<usize> {
        let mut chosen = HashMap::new();
        for (group, lists) in std::mem::take(&mut self.tallies) {
            // A file holding both sides pairs them itself.
            let starts: Vec<&Tally> = lists.values().filter(|t| t.starts && !t.found).collect();
            let found: Vec<&Tally> = lists.values().filter(|t| t.found && !t.starts).collect();
            let untimed = !starts.iter().any(|t| t.timed_starts) || !found.iter().any(|t| t.timed_found);
            if starts.is_empty() || found.is_empty() || !untimed {
                continue;
            }
            let paired = lists.iter().filter(|(_, t)| t.starts != t.found).map(|(&l, _)| l).collect();
            chosen.insert(group, paired);
        }
        let again = chosen.values().flatten().copied().collect();
        self.chosen = Some(chosen);
        again
    }

    /// The outcomes of what was read.
    pub(super) fn plan(self) -> Plan {
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
    fn decide(self, outcomes: Vec<Outcome>) -> Plan {
        let mut gone: HashSet<At> = HashSet::new();
        let mut lent: Vec<(At, Event)> = Vec::new();
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
                (ContextKind::Lend { .. }, Some(from)) => {
                    if let Some(from) = self.lenders.get(&from) {
                        lent.push((o.start.at, from.clone()));
                    }
                }
                _ => {}
            }
            *decided.entry((o.start.source, o.start.line, o.rule)).or_default() |= 1 << o.entry;
        }
        Plan { decided, gone, lent }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::context::nearby::tests::{PACK, ev};
    use crate::rules::compile_all;

    /// Rule 0 of the pack (a print that counts only with an exit of its
    /// app after it: entry 1) at `secs`, if any, in list `list`.
    fn at(role: Role, list: usize, line: u64, secs: Option<i64>) -> Event {
        let mut e = ev(0, role, line, secs.unwrap_or_default(), "api");
        e.source = list;
        e.ts = secs.map(|s| s * 1000).into();
        e
    }

    /// The planner over `lists`, both passes read: what it kept, what the
    /// second pass read, and the plan.
    fn planned(lists: &[Vec<Event>]) -> (usize, BTreeSet<usize>, Plan) {
        let rules = compile_all(&[("t.toml".into(), PACK.into())]).expect("rules");
        let mut planner = Planner::new(&rules);
        let read = |planner: &mut Planner, i: usize| {
            lists[i].iter().enumerate().for_each(|(p, ev)| planner.read((i, p), ev));
        };
        (0..lists.len()).for_each(|i| read(&mut planner, i));
        let again = planner.again();
        again.iter().for_each(|&i| read(&mut planner, i));
        let kept =
            planner.starts.values().chain(planner.found.values()).map(Vec::len).sum::<usize>() + planner.lenders.len();
        (kept, again, planner.plan())
    }

    /// With times on both sides nothing pairs here: the first pass keeps
    /// a tally per key and list, the second reads nothing and keeps
    /// nothing. Without times on the prints' side, the lists are read
    /// again and the exit lends to the last print.
    #[test]
    fn only_keys_that_can_pair_are_read_again() {
        let prints = |secs: Option<i64>| vec![at(Role::Start, 0, 1, secs), at(Role::Start, 0, 2, secs)];
        let exits = vec![at(Role::Context(1), 1, 7, Some(50))];
        let (kept, again, plan) = planned(&[prints(Some(10)), exits.clone()]);
        assert_eq!((kept, again.len(), plan.lent.len(), plan.decided.len()), (0, 0, 0, 0));
        let (kept, again, plan) = planned(&[prints(None), exits]);
        assert_eq!(again, BTreeSet::from([0, 1]));
        assert_eq!(kept, 4, "two prints, the exit and its copy as a lender");
        let lent: Vec<(At, u64)> = plan.lent.iter().map(|(at, from)| (*at, from.line)).collect();
        assert_eq!(lent, [((0, 1), 7)]);
        assert_eq!(plan.gone, HashSet::from([(0, 0)]), "the earlier print has no exit to require");
    }
}
