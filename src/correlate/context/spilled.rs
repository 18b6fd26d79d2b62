//! [`super::apply`] for events that spilled ([`crate::spill`]): the same
//! reading, with each source's list read back (twice at most) instead of
//! held. The idle-context drop takes the rules that have a start event
//! from the scan; the clockless pairing holds only the events it reads
//! (start events and clockless entries of its rules); the file stage runs
//! one source at a time as its events are read; the app stage holds what
//! it holds in memory today (the timed events of app-scoped entries and
//! their start events), which is small beside the rest.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::matcher::Event;
use crate::rules::{Role, RuleSet};

use super::clockless::{self, At, Plan};
use super::{AppStage, FileStage, Stage, first_stage, lend, nearby, needs_app, skipped};

/// Reads list `i` back, handing each event on in order; the flag says
/// whether this is the list's last reading (the events it holds in
/// memory may then be moved out rather than copied).
pub type Read<'r, E> = dyn FnMut(usize, bool, &mut dyn FnMut(Event) -> Result<(), E>) -> Result<(), E> + 'r;

/// Hands `out(i, event)` the events [`super::apply`] would leave in list
/// `i`, in its order, except that the events of a list the app stage
/// returned to come in two runs (the file stage's, then the app
/// stage's): the list it leaves is those sorted by (line, role). Returns
/// which lists those are. `started[rule]`: whether any list holds a start
/// event of the rule.
pub fn apply<E>(
    rules: &RuleSet,
    lists: usize,
    started: &[bool],
    paths: &[String],
    read: &mut Read<'_, E>,
    out: &mut dyn FnMut(usize, Event) -> Result<(), E>,
) -> Result<Vec<bool>, E> {
    let idle = |e: &Event| matches!(e.role, Role::Context(_)) && !started.get(e.rule as usize).copied().unwrap_or(true);
    let plan = clockless_plan(rules, lists, read, &idle)?;
    let mut lent: HashMap<At, Vec<Event>> = HashMap::new();
    for (at, from) in plan.lent {
        lent.entry(at).or_default().push(from);
    }
    let decided = Arc::new(plan.decided);
    let mut later: Vec<Vec<Event>> = Vec::with_capacity(lists);
    for i in 0..lists {
        let mut files = FileStage { decided: decided.clone(), ..FileStage::default() };
        let (mut stay, mut app_later, mut context) = (Vec::new(), Vec::new(), Vec::new());
        let mut route = |e: Event, stay: &mut Vec<Event>| {
            if needs_app(rules, &e) { app_later.push(e) } else { stay.push(e) }
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
                Stage::Pass => route(ev, &mut stay),
                Stage::App => context.push(ev),
                Stage::File => files.push(rules, "", ev, 0, &mut |e, _| route(e, &mut stay)),
            }
            stay.drain(..).try_for_each(|e| out(i, e))
        })?;
        files.finish(rules, &mut |_, e, _| route(e, &mut stay));
        stay.into_iter().try_for_each(|e| out(i, e))?;
        app_later.append(&mut context);
        later.push(app_later);
    }
    nearby::trim(rules, &mut later, |ev| skipped(&decided, ev));
    let mut app = AppStage { decided, ..AppStage::default() };
    let mut home: HashMap<usize, usize> = HashMap::new();
    for (i, later) in later.into_iter().enumerate() {
        for ev in later {
            home.insert(ev.source, i);
            let file = paths.get(ev.source).map_or("", String::as_str);
            app.insert(rules, file, ev, 0);
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
/// context events: made from the events it reads only.
fn clockless_plan<E>(
    rules: &RuleSet,
    lists: usize,
    read: &mut Read<'_, E>,
    idle: &impl Fn(&Event) -> bool,
) -> Result<Plan, E> {
    let ruled = clockless::ruled(rules);
    if ruled.is_empty() {
        return Ok(Plan::default());
    }
    let mut sub: Vec<Vec<Event>> = Vec::with_capacity(lists);
    let mut place: Vec<Vec<usize>> = Vec::with_capacity(lists);
    for i in 0..lists {
        let (mut events, mut at, mut p) = (Vec::new(), Vec::new(), 0);
        read(i, false, &mut |ev| {
            if !idle(&ev) {
                if clockless::reads(rules, &ruled, &ev) {
                    events.push(ev);
                    at.push(p);
                }
                p += 1;
            }
            Ok(())
        })?;
        sub.push(events);
        place.push(at);
    }
    let plan = clockless::plan(rules, &sub);
    let to_list = |(i, p): At| (i, place[i][p]);
    Ok(Plan {
        decided: plan.decided,
        gone: plan.gone.into_iter().map(to_list).collect::<HashSet<At>>(),
        lent: plan.lent.into_iter().map(|(at, from)| (to_list(at), from)).collect(),
    })
}
