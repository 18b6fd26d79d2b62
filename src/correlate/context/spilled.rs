//! [`super::apply`] for events that spilled ([`crate::spill`]): the same
//! reading, with each source's list read back instead of held. The
//! idle-context drop takes the rules that have a start event from the
//! scan; the clockless pairing reads the lists twice (`Planner`): once
//! keeping what each holds of each key, then only the lists of the keys
//! that can pair (a side without times; none in a timed log), keeping
//! places and times and the lenders; the file stage runs
//! one source at a time as its events are read; the app stage's events
//! wait in a [`Wait`] (the caller's: `correlate::spilled` holds them under
//! the one count of the spill and writes them out past it) while their
//! times are indexed (`nearby::Near`), and come back, trimmed, once every list
//! is read. Held whole, they were the 10 GiB storm corpus's peak (674 k
//! events, uncounted).

use std::collections::HashMap;
use std::sync::Arc;

use crate::matcher::Event;
use crate::rules::{Role, RuleSet};

use super::clockless::{At, Plan, Planner};
use super::nearby::Near;
use super::{AppStage, FileStage, Stage, first_stage, lend, needs_app, skipped};

/// Reads list `i` back, handing each event on in order; the flag says
/// whether this is the list's last reading (the events it holds in
/// memory may then be moved out rather than copied).
pub type Read<'r, E> = dyn FnMut(usize, bool, &mut dyn FnMut(Event) -> Result<(), E>) -> Result<(), E> + 'r;

/// Takes the events [`apply`] leaves in list `i`: `out(i, event)`.
pub type Out<'o, E> = dyn FnMut(usize, Event) -> Result<(), E> + 'o;

/// Where the app stage's events wait while the file stage reads the
/// lists after theirs: line `n`'s events are put in order and taken back
/// once, in that order. A storm's wait (10 GiB storm corpus: 674 k
/// events, of which the app stage reads 99 k) is as large as a list's.
pub trait Wait<E> {
    /// Puts `ev` at the end of line `n`.
    fn put(&mut self, n: usize, ev: Event) -> Result<(), E>;
    /// Hands line `n`'s events to `f`, in order, and forgets them.
    fn take(&mut self, n: usize, f: &mut dyn FnMut(Event) -> Result<(), E>) -> Result<(), E>;
}

/// Hands `out(i, event)` the events [`super::apply`] would leave in list
/// `i`, in its order, except that the events of a list the app stage
/// returned to come in two runs (the file stage's, then the app
/// stage's): the list it leaves is those sorted by (line, role). Returns
/// which lists those are. `started[rule]`: whether any list holds a start
/// event of the rule. List `i`'s events for the app stage wait in
/// `wait`'s lines `2i` (start events the file stage decided) and `2i + 1`
/// (entries' events), which [`super::apply`] reads in that order.
pub fn apply<E>(
    rules: &RuleSet,
    lists: usize,
    started: &[bool],
    paths: &[String],
    read: &mut Read<'_, E>,
    wait: &mut dyn Wait<E>,
    out: &mut Out<'_, E>,
) -> Result<Vec<bool>, E> {
    let idle = |e: &Event| matches!(e.role, Role::Context(_)) && !started.get(e.rule as usize).copied().unwrap_or(true);
    let plan = clockless_plan(rules, lists, read, &idle)?;
    let mut lent: HashMap<At, Vec<Event>> = HashMap::new();
    for (at, from) in plan.lent {
        lent.entry(at).or_default().push(from);
    }
    let decided = Arc::new(plan.decided);
    let mut near = Near::default();
    for i in 0..lists {
        let mut files = FileStage { decided: decided.clone(), ..FileStage::default() };
        let mut handed = Vec::new();
        // Where the events the file stage hands on go: on, or to wait for
        // the app stage (their times taken for the trim).
        let hand_on = |handed: &mut Vec<Event>, near: &mut Near, wait: &mut dyn Wait<E>, out: &mut Out<'_, E>| {
            handed.drain(..).try_for_each(|e| {
                if needs_app(rules, &e) {
                    near.add(rules, &e);
                    wait.put(2 * i, e)
                } else {
                    out(i, e)
                }
            })
        };
        let mut p = 0;
        read(i, true, &mut |mut ev| {
            if idle(&ev) {
                return Ok(());
            }
            let at = (i, p);
            p += 1;
            if plan.gone.contains(&at) {
                return Ok(());
            }
            for from in lent.get(&at).into_iter().flatten() {
                lend(&mut ev, from, None);
            }
            match first_stage(rules, &ev) {
                Stage::Pass => handed.push(ev),
                Stage::App => {
                    near.add(rules, &ev);
                    wait.put(2 * i + 1, ev)?;
                }
                Stage::File => files.push(rules, "", ev, 0, &mut |e, _| handed.push(e)),
            }
            hand_on(&mut handed, &mut near, wait, out)
        })?;
        files.finish(rules, &mut |_, e, _| handed.push(e));
        hand_on(&mut handed, &mut near, wait, out)?;
    }
    near.seal();
    let mut app = AppStage { decided: decided.clone(), ..AppStage::default() };
    let mut home: HashMap<usize, usize> = HashMap::new();
    for i in 0..lists {
        for n in [2 * i, 2 * i + 1] {
            wait.take(n, &mut |ev| {
                if near.keeps(rules, &ev, skipped(&decided, &ev)) {
                    home.insert(ev.source, i);
                    let file = paths.get(ev.source).map_or("", String::as_str);
                    app.insert(rules, file, ev, 0);
                }
                Ok(())
            })?;
        }
    }
    let mut touched = vec![false; lists];
    let mut decided_late = Vec::new();
    app.finish(rules, &mut |e, _| {
        if let Some(&i) = home.get(&e.source) {
            touched[i] = true;
            decided_late.push((i, e));
        }
    });
    decided_late.into_iter().try_for_each(|(i, e)| out(i, e))?;
    Ok(touched)
}

/// The clockless pairing's plan, by position in each list without its idle
/// context events: the planner's two passes ([`Planner`]), the second over
/// the lists it names only.
fn clockless_plan<E>(
    rules: &RuleSet,
    lists: usize,
    read: &mut Read<'_, E>,
    idle: &impl Fn(&Event) -> bool,
) -> Result<Plan, E> {
    let mut planner = Planner::new(rules);
    if !planner.wants() {
        return Ok(Plan::default());
    }
    let mut pass = |i: usize, planner: &mut Planner| {
        let mut p = 0;
        read(i, false, &mut |ev| {
            if !idle(&ev) {
                planner.read((i, p), &ev);
                p += 1;
            }
            Ok(())
        })
    };
    (0..lists).try_for_each(|i| pass(i, &mut planner))?;
    planner.again().into_iter().try_for_each(|i| pass(i, &mut planner))?;
    Ok(planner.plan())
}
