//! Windowed rules judged on a stream: one run of a group's events (one
//! clock's, in its order) goes through a [`Judge`] event by event, and each
//! event is folded into the finding it belongs to (a [`Sink`]) or dropped
//! as soon as that is decided. Only what an open window needs is held: a
//! threshold's window of times and the events in it no burst has taken
//! yet, a pair's open start (folded), and the findings made so far.
//!
//! The rules are those of `window` and `pairs` on lists
//! (kept as the tests' oracle): the same bursts, `absorb`, pairs, outages
//! and `suppress` folds, event for event.

use std::collections::{HashSet, VecDeque};

use crate::matcher::Event;
use crate::rules::{Correlation, Role, Rule};

use super::Clock;
use super::fold::Sink;
use super::pairs::{UNKNOWN_GAP, UNTIMED_OPEN, human};
use super::window::within;

/// A finding's events and facts (`gap`, `status`).
pub type Found<S> = (S, Vec<(String, String)>);

/// A finding in the making: its events, where its first and last stand on
/// the run's clock, and its facts.
struct Piece<S> {
    events: S,
    first: i64,
    last: i64,
    facts: Vec<(String, String)>,
}

impl<S: Sink> Piece<S> {
    fn new(cfg: &S::Cfg, e: Event, at: i64) -> Piece<S> {
        let mut events = S::new(cfg);
        events.add(e);
        Piece { events, first: at, last: at, facts: Vec::new() }
    }

    fn add(&mut self, e: Event, at: i64) {
        self.events.add(e);
        self.last = at;
    }
}

/// One run's judge: feed it the run's events in clock order, then
/// [`Judge::finish`].
pub struct Judge<'a, S: Sink> {
    clock: Clock<'a>,
    cfg: S::Cfg,
    kind: Kind<S>,
    /// `suppress` of a two-event rule: a pair that starts within it of the
    /// last event of the one before folds into it, as soon as it is made
    /// (a link flapping all day makes hundreds of thousands of pairs).
    fold: Option<i64>,
    out: Vec<Piece<S>>,
    /// The facts of the last piece out, to test a folded one's against.
    known: HashSet<(String, String)>,
}

enum Kind<S> {
    Threshold(Bursts<S>),
    Sequence {
        w: i64,
        open: Option<Piece<S>>,
    },
    Absence {
        w: i64,
        end: Option<i64>,
        open: Option<Piece<S>>,
    },
    /// `single` rules are not judged on windows.
    Nothing,
}

impl<'a, S: Sink> Judge<'a, S> {
    /// A judge of `rule` on `clock`; `end` is where the run's input ends
    /// (outages still open are judged there).
    pub fn new(rule: &Rule, clock: Clock<'a>, end: Option<i64>, cfg: S::Cfg) -> Judge<'a, S> {
        let suppress = rule.suppress.as_ref().map(|w| w.ms());
        let (kind, fold) = match &rule.correlate {
            Correlation::Threshold { count, window } => {
                (Kind::Threshold(Bursts::new(*count as usize, window.ms(), suppress)), None)
            }
            Correlation::Sequence { window, .. } => (Kind::Sequence { w: window.ms(), open: None }, suppress),
            Correlation::Absence { window, .. } => (Kind::Absence { w: window.ms(), end, open: None }, suppress),
            Correlation::Single => (Kind::Nothing, None),
        };
        Judge { clock, cfg, kind, fold, out: Vec::new(), known: HashSet::new() }
    }

    /// Takes the run's next event.
    pub fn feed(&mut self, e: Event) {
        let t = self.clock.at(&e);
        let cfg = &self.cfg;
        match &mut self.kind {
            Kind::Threshold(b) => b.feed(e, t, cfg, &mut self.out),
            Kind::Sequence { w, open } => {
                if open.as_ref().is_some_and(|o| !within(o.first, t, *w)) {
                    // Too late to close this one: a later close pairs with a
                    // later start.
                    *open = None;
                }
                match e.role {
                    Role::Start => match open {
                        Some(o) => o.add(e, t),
                        None => *open = Some(Piece::new(cfg, e, t)),
                    },
                    Role::End => {
                        if let Some(mut o) = open.take() {
                            let gap = t - o.first;
                            o.add(e, t);
                            o.facts = match self.clock.measures() {
                                true => vec![("gap".into(), human(gap)), ("gap_ms".into(), gap.to_string())],
                                false => vec![("gap".into(), UNKNOWN_GAP.into())],
                            };
                            emit(&mut self.out, &mut self.known, self.fold, o);
                        }
                    }
                    // Context events never get here: correlation reads them
                    // first.
                    Role::Context(_) => {}
                }
            }
            Kind::Absence { w, open, .. } => match e.role {
                Role::Start => {
                    if let Some(o) = open.take_if(|o| !within(o.last, t, *w) && !within(o.first, t, *w)) {
                        let status = untimed(&self.clock, format!("no recovery logged within {}", human(*w)));
                        let o = Piece { facts: vec![("status".into(), status)], ..o };
                        emit(&mut self.out, &mut self.known, self.fold, o);
                    }
                    match open {
                        Some(o) => o.add(e, t),
                        None => *open = Some(Piece::new(cfg, e, t)),
                    }
                }
                Role::End => {
                    if let Some(mut o) = open.take() {
                        let gap = t - o.first;
                        if !within(o.first, t, *w) {
                            o.add(e, t);
                            o.facts = match self.clock.measures() {
                                true => vec![
                                    ("status".into(), format!("recovered after {}", human(gap))),
                                    ("gap".into(), human(gap)),
                                ],
                                // Only `watch` gets here untimed: the close was
                                // read a window or more after the loss.
                                false => vec![
                                    (
                                        "status".into(),
                                        format!("recovered after more than {}; times unknown", human(*w)),
                                    ),
                                    ("gap".into(), UNKNOWN_GAP.into()),
                                ],
                            };
                            emit(&mut self.out, &mut self.known, self.fold, o);
                        }
                    }
                }
                Role::Context(_) => {}
            },
            Kind::Nothing => {}
        }
    }

    /// The findings made so far that nothing can change any more, in
    /// order: all but the latest (a `suppress` fold may still join the
    /// next to it). A group of millions of events makes hundreds of
    /// thousands of findings; handed on as they are made, they are never
    /// all held.
    pub fn take_done(&mut self) -> Vec<Found<S>> {
        let done = self.out.len().saturating_sub(1);
        self.out.drain(..done).map(|p| (p.events, p.facts)).collect()
    }

    /// How many findings it holds.
    pub fn held(&self) -> usize {
        self.out.len()
    }

    /// The run's findings, in order (after those [`Judge::take_done`]
    /// gave).
    pub fn finish(mut self) -> Vec<Found<S>> {
        match self.kind {
            Kind::Threshold(b) => b.finish(&self.cfg, &mut self.out),
            Kind::Absence { w, end, open: Some(o) } => {
                let status = match end {
                    _ if !self.clock.measures() => UNTIMED_OPEN.to_string(),
                    Some(end) if within(o.first, end, w) => format!(
                        "not recovered by end of log (the log ends {} after the first event, before the {} window \
                         closed)",
                        human(end - o.first),
                        human(w)
                    ),
                    _ => "not recovered by end of log".to_string(),
                };
                let o = Piece { facts: vec![("status".into(), status)], ..o };
                emit(&mut self.out, &mut self.known, self.fold, o);
            }
            Kind::Absence { open: None, .. } | Kind::Sequence { .. } | Kind::Nothing => {}
        }
        self.out.into_iter().map(|p| (p.events, p.facts)).collect()
    }
}

/// An absence's status, saying the times are unknown off a clock that
/// measures.
fn untimed(clock: &Clock, status: String) -> String {
    match clock.measures() {
        true => status,
        false => format!("{status}; times unknown"),
    }
}

/// Hands on a pair (or outage) made; with `suppress` (`fold`, see
/// `pairs::fold`), one that starts within it of the last event of the
/// one before folds into that one, its facts keeping each distinct value
/// in order.
fn emit<S: Sink>(out: &mut Vec<Piece<S>>, known: &mut HashSet<(String, String)>, fold: Option<i64>, p: Piece<S>) {
    match out.last_mut() {
        Some(prev) if fold.is_some_and(|w| within(prev.last, p.first, w)) => {
            prev.events.join(p.events);
            prev.last = p.last;
            for fact in p.facts {
                if known.insert(fact.clone()) {
                    prev.facts.push(fact);
                }
            }
        }
        _ => {
            if fold.is_some() {
                *known = p.facts.iter().cloned().collect();
            }
            out.push(p);
        }
    }
}

/// A threshold's bursts, found as its events come (see
/// `window::bursts` and `window::absorb`): an event
/// belongs to a burst once some window of `count` events holds it, and is
/// left out once the window has moved past it without one.
struct Bursts<S> {
    count: usize,
    w: i64,
    /// `suppress`: a burst goes on over the events that follow its last
    /// one by less than this.
    absorb: Option<i64>,
    /// The times of the events within `w` of the newest, from index `lo`.
    times: VecDeque<i64>,
    lo: usize,
    /// The events in that window not in a burst yet, with their index.
    pending: VecDeque<(usize, Event, i64)>,
    /// Index of the next event.
    next: usize,
    /// The previous event decided: its time, whether a burst holds it,
    /// whether the finding open holds it.
    prev: Option<(i64, bool, bool)>,
    open: Option<Piece<S>>,
}

impl<S: Sink> Bursts<S> {
    fn new(count: usize, w: i64, absorb: Option<i64>) -> Bursts<S> {
        Bursts {
            count,
            w,
            absorb,
            times: VecDeque::new(),
            lo: 0,
            pending: VecDeque::new(),
            next: 0,
            prev: None,
            open: None,
        }
    }

    fn feed(&mut self, e: Event, t: i64, cfg: &S::Cfg, out: &mut Vec<Piece<S>>) {
        while self.times.front().is_some_and(|&t0| !within(t0, t, self.w)) {
            self.times.pop_front();
            self.lo += 1;
            // Out of every window still to come, and in no burst.
            while self.pending.front().is_some_and(|(i, _, _)| *i < self.lo) {
                if let Some((_, e, at)) = self.pending.pop_front() {
                    self.decide(e, at, false, cfg, out);
                }
            }
        }
        self.times.push_back(t);
        let i = self.next;
        self.next += 1;
        if self.times.len() >= self.count {
            // The window holds a burst: it takes every event in it.
            while let Some((_, e, at)) = self.pending.pop_front() {
                self.decide(e, at, true, cfg, out);
            }
            self.decide(e, t, true, cfg, out);
        } else {
            self.pending.push_back((i, e, t));
        }
    }

    fn finish(mut self, cfg: &S::Cfg, out: &mut Vec<Piece<S>>) {
        while let Some((_, e, at)) = self.pending.pop_front() {
            self.decide(e, at, false, cfg, out);
        }
        out.extend(self.open.take());
    }

    /// The next event in order, decided: in a burst or not.
    fn decide(&mut self, e: Event, t: i64, burst: bool, cfg: &S::Cfg, out: &mut Vec<Piece<S>>) {
        let held = match self.prev {
            // Consecutive events of a burst less than `w` apart are one
            // burst; `suppress` carries the one before on over each event
            // less than its length after the last.
            Some((p, in_burst, held)) => {
                (burst && in_burst && within(p, t, self.w)) || (held && self.absorb.is_some_and(|a| within(p, t, a)))
            }
            None => false,
        };
        match &mut self.open {
            Some(o) if held => o.add(e, t),
            _ => {
                out.extend(self.open.take());
                if burst {
                    self.open = Some(Piece::new(cfg, e, t));
                }
            }
        }
        self.prev = Some((t, burst, held || burst));
    }
}
