//! Context: the regexes of a rule's `unless` and `context` entries (see
//! [`crate::rules::Context`]) match records that are not incidents
//! themselves but change how the rule's start events are read. Owns that
//! reading: takes each source's events in the source's order, drops the
//! context events, drops the start events they excuse (or that lack a
//! required context), and lends the rest the fields of their context.
//! Hands on events as the matcher would have made them, so grouping and
//! the correlation modes never see a context event.
//!
//! The rules, per source (events pair only within one file: pm2.log holds
//! every line pm2 writes about its processes, and a pair split by a
//! rotation is the one thing lost):
//!
//! - An event pairs with a start event when every `key` field has the same
//!   value in both (`app` is the event's app); a start event without one of
//!   the fields pairs with nothing. An empty key pairs any two.
//! - `unless`: each event excuses the next start event of its key, and only
//!   that one, if it comes less than `within` after it (window semantics of
//!   [`super::window`]: `0 <= t_start - t_unless < within`). A start event
//!   excused is not counted at all. With `count = N`, it takes N or more
//!   events of the entry since the previous start event of that key (the
//!   latest of them within `within`): a client announcing a second retry
//!   before it got back had its first retry fail.
//! - `context` with `before`: the nearest event of its key before the start
//!   event, if less than `before` before it, lends the start event every
//!   field the start event does not capture (an `app` capture becomes its
//!   app), and with `since = NAME` the field `NAME_ms`, the milliseconds
//!   between the two. It is not used up: the next start event may take it
//!   too.
//! - `context` with `after`: the first event of its key after the start
//!   event decides; it lends if it comes less than `after` later.
//! - `require = true`: a start event that found no such event is dropped.
//! - Without times (either event untimed), windows cannot be measured, so
//!   order alone decides: the nearest event by position in the file, as
//!   above, however far.
//!
//! The same reading runs in `scan` ([`apply`], over each source's complete
//! list) and in `watch` ([`Resolver`], as matches arrive, holding context
//! events while their window is open and start events that wait for an
//! `after` entry). [`describe`] turns a finding's `NAME_ms` values into the
//! fact `NAME`: the range of times, "0.1s–0.4s".

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::matcher::{Event, field};
use crate::pool;
use crate::rules::{Context, ContextKind, Role, Rule, RuleSet, Side};

use super::Finding;
use super::pairs::human;
use super::window::within;

/// Reads every source's context (the `scan` path). Sources are independent
/// and each is read in its own order, so the result does not depend on the
/// thread count. A no-op for rules whose matches were read already
/// ([`RuleSet::context_resolved`]) and for sources with no event of a rule
/// that has context.
pub fn apply(rules: &RuleSet, sources: Vec<Vec<Event>>) -> Vec<Vec<Event>> {
    if rules.context_resolved() || rules.rules().iter().all(|r| r.context.is_empty()) {
        return sources;
    }
    pool::map_in_order(sources, |events| apply_source(rules, events))
}

fn apply_source(rules: &RuleSet, events: Vec<Event>) -> Vec<Event> {
    if !events.iter().any(|e| has_context(rules, e)) {
        return events;
    }
    let mut out = Vec::with_capacity(events.len());
    let mut resolver = Resolver::default();
    // One source: its events pair among themselves whatever it is called.
    for ev in events {
        resolver.push(rules, "", ev, 0, &mut |e, _| out.push(e));
    }
    resolver.finish(rules, &mut |e, _| out.push(e));
    out
}

fn has_context(rules: &RuleSet, e: &Event) -> bool {
    !rules.rules()[e.rule as usize].context.is_empty()
}

/// Sets each finding's `NAME` fact for every `since = NAME` of its rule:
/// the range of its events' `NAME_ms` values ("0.1s–0.4s", or one value).
pub fn describe(rules: &RuleSet, findings: &mut [Finding]) {
    for f in findings {
        let rule = &rules.rules()[f.rule as usize];
        for name in since_names(rule) {
            let ms_name = format!("{name}_ms");
            let values = f.events.iter().filter_map(|e| field(&e.fields, &ms_name)?.parse::<i64>().ok());
            let Some((lo, hi)) = values.fold(None, |acc: Option<(i64, i64)>, v| match acc {
                Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
                None => Some((v, v)),
            }) else {
                continue;
            };
            f.facts.push((name.to_string(), range(lo, hi)));
        }
    }
}

/// `lo` to `hi` for people: `0.5–0.7s`, `2s–1m 5s`, or one value when
/// both read the same. Nothing but zeros is "under 1s": pm2's default stamp
/// has whole seconds, so 0 means a run that began and ended in one second.
fn range(lo: i64, hi: i64) -> String {
    if hi == 0 {
        return "under 1s".to_string();
    }
    let (lo, hi) = (human(lo), human(hi));
    if lo == hi {
        return lo;
    }
    // Plain seconds on both ends share their unit.
    match (lo.strip_suffix('s'), hi.strip_suffix('s')) {
        (Some(a), Some(b)) if !a.contains(' ') && !b.contains(' ') => format!("{a}–{hi}"),
        _ => format!("{lo}–{hi}"),
    }
}

fn since_names(rule: &Rule) -> impl Iterator<Item = &str> {
    rule.context.iter().filter_map(|c| match &c.kind {
        ContextKind::Lend { since: Some(name), .. } => Some(name.as_str()),
        _ => None,
    })
}

/// The values of `key` in `e`, or `None` if it lacks one of them.
fn key_of(e: &Event, key: &[String]) -> Option<Vec<Arc<str>>> {
    key.iter()
        .map(|name| match name.as_str() {
            "app" => e.app.clone(),
            _ => e.fields.iter().find(|(n, _)| &**n == name).map(|(_, v)| v.clone()),
        })
        .collect()
}

/// Whether `later` is less than `w` after `earlier`; without both times,
/// order alone decides (see the module doc).
fn close(earlier: Option<i64>, later: Option<i64>, w: i64) -> bool {
    match (earlier, later) {
        (Some(a), Some(b)) => within(a, b, w),
        _ => true,
    }
}

/// A held event and the wall-clock ms it arrived at.
type Held = (Event, i64);

/// Context read incrementally: events go in per file in the file's order,
/// and come out once decided. `scan` pushes a whole source then calls
/// [`Resolver::finish`]; `watch` pushes each poll's matches and calls
/// [`Resolver::release`] as time passes. Files are told apart by path, not
/// source id: `watch` gives a file a new id when it restarts or the file is
/// truncated, and its lines go on pairing with what came before.
#[derive(Debug, Default)]
pub struct Resolver {
    /// (file, rule) → what that rule's context holds in that file.
    states: BTreeMap<(String, u32), State>,
}

#[derive(Debug, Default)]
struct State {
    /// Per entry: the latest `unless` / `before` event of each key.
    latest: BTreeMap<(u8, Vec<Arc<str>>), Held>,
    /// Per `unless` entry with `count` > 1: how many of its events of each
    /// key came since that key's previous start event (capped at `count`).
    tally: BTreeMap<(u8, Vec<Arc<str>>), u32>,
    /// Start events waiting for `after` entries, in order.
    waiting: Vec<Waiting>,
}

#[derive(Debug)]
struct Waiting {
    event: Event,
    arrived: i64,
    /// The `after` entries not decided yet.
    open: Vec<u8>,
    /// A required entry found nothing: dropped once decided.
    dropped: bool,
}

impl Resolver {
    /// Takes the next event of `file`; passes on (to `emit`, with its
    /// arrival time) every event decided by it. Events of rules without
    /// context pass at once.
    pub fn push(&mut self, rules: &RuleSet, file: &str, ev: Event, arrived: i64, emit: &mut impl FnMut(Event, i64)) {
        let rule = &rules.rules()[ev.rule as usize];
        if rule.context.is_empty() || ev.role == Role::End {
            return emit(ev, arrived);
        }
        let state = self.states.entry((file.to_string(), ev.rule)).or_default();
        match ev.role {
            Role::Context(n) => state.context(&rule.context, n, ev, arrived, emit),
            _ => state.start(&rule.context, ev, arrived, emit),
        }
    }

    /// Decides the start events waiting for an `after` entry whose window
    /// has passed: by the log's time `log_now` (a history read fast), or by
    /// the wall clock `now` a window after they arrived (a quiet log, or
    /// one without times).
    pub fn release(&mut self, rules: &RuleSet, log_now: Option<i64>, now: i64, emit: &mut impl FnMut(Event, i64)) {
        for ((_, rule), state) in self.states.iter_mut() {
            let context = &rules.rules()[*rule as usize].context;
            for w in state.waiting.iter_mut() {
                let span = w.longest(context);
                let by_log = w.event.ts.zip(log_now).is_some_and(|(t, log)| log >= t + span);
                if by_log || now >= w.arrived + span {
                    w.give_up(context);
                }
            }
            state.emit_decided(emit);
        }
    }

    /// Decides every waiting start event: the input has ended.
    pub fn finish(&mut self, rules: &RuleSet, emit: &mut impl FnMut(Event, i64)) {
        for ((_, rule), state) in self.states.iter_mut() {
            let context = &rules.rules()[*rule as usize].context;
            state.waiting.iter_mut().for_each(|w| w.give_up(context));
            state.emit_decided(emit);
        }
    }

    /// Forgets timed context events that can no longer reach a start event:
    /// their window has passed at log time `log_now`.
    pub fn prune(&mut self, rules: &RuleSet, log_now: i64) {
        for ((_, rule), state) in self.states.iter_mut() {
            let context = &rules.rules()[*rule as usize].context;
            state.latest.retain(|(n, _), (ev, _)| {
                ev.ts.is_none_or(|t| context.get(usize::from(*n)).is_some_and(|c| log_now < t + reach(c)))
            });
            let latest = &state.latest;
            state.tally.retain(|k, _| latest.contains_key(k));
        }
        self.states.retain(|_, s| !s.latest.is_empty() || !s.waiting.is_empty());
    }

    /// What it holds, in a fixed order (for `watch`'s state file): context
    /// events, then start events still waiting. A counted `unless` event is
    /// held as many times as it was counted, so [`Resolver::restore`]
    /// counts it again.
    pub fn held(&self) -> Vec<Held> {
        let context = self.states.values().flat_map(|s| {
            s.latest.iter().flat_map(|(k, held)| {
                let times = s.tally.get(k).copied().unwrap_or(1) as usize;
                std::iter::repeat_n(held.clone(), times)
            })
        });
        let waiting = self.states.values().flat_map(|s| s.waiting.iter().map(|w| (w.event.clone(), w.arrived)));
        context.chain(waiting).collect()
    }

    /// Takes back a context event of `file` a previous run held.
    pub fn restore(&mut self, rules: &RuleSet, file: &str, ev: Event, arrived: i64) {
        let Role::Context(n) = ev.role else { return };
        let Some(c) = rules.rules().get(ev.rule as usize).and_then(|r| r.context.get(usize::from(n))) else {
            return;
        };
        if let Some(key) = key_of(&ev, &c.key) {
            let state = self.states.entry((file.to_string(), ev.rule)).or_default();
            state.keep(c, n, key, ev, arrived);
        }
    }
}

/// How long an entry's event can still matter after it was written.
fn reach(c: &Context) -> i64 {
    match &c.kind {
        ContextKind::Unless { within, .. } => within.ms(),
        ContextKind::Lend { span, .. } => span.ms(),
    }
}

impl State {
    fn context(&mut self, context: &[Context], n: u8, ev: Event, arrived: i64, emit: &mut impl FnMut(Event, i64)) {
        let Some(c) = context.get(usize::from(n)) else { return };
        let Some(key) = key_of(&ev, &c.key) else { return };
        match &c.kind {
            ContextKind::Lend { side: Side::After, span, require, .. } => {
                for w in self.waiting.iter_mut().filter(|w| w.open.contains(&n)) {
                    if key_of(&w.event, &c.key).as_ref() != Some(&key) {
                        continue;
                    }
                    w.open.retain(|&o| o != n);
                    if close(w.event.ts, ev.ts, span.ms()) {
                        lend(&mut w.event, &ev, None);
                    } else if *require {
                        w.dropped = true;
                    }
                }
                self.emit_decided(emit);
            }
            _ => self.keep(c, n, key, ev, arrived),
        }
    }

    /// Holds an `unless` / `before` event: the latest of its key replaces
    /// the one before (a start event pairs with the nearest), and a counted
    /// `unless` counts it.
    fn keep(&mut self, c: &Context, n: u8, key: Vec<Arc<str>>, ev: Event, arrived: i64) {
        if let ContextKind::Unless { count, .. } = c.kind
            && count > 1
        {
            let seen = self.tally.entry((n, key.clone())).or_default();
            *seen = (*seen + 1).min(count);
        }
        self.latest.insert((n, key), (ev, arrived));
    }

    fn start(&mut self, context: &[Context], mut ev: Event, arrived: i64, emit: &mut impl FnMut(Event, i64)) {
        let mut excused = false;
        let mut dropped = false;
        let mut open = Vec::new();
        for (n, c) in context.iter().enumerate() {
            let n = n as u8;
            let key = key_of(&ev, &c.key);
            match &c.kind {
                ContextKind::Unless { within, count } => {
                    // Used up by the next start event of its key, excused or not.
                    let seen = key.as_ref().and_then(|k| self.tally.remove(&(n, k.clone()))).unwrap_or(1);
                    let unless = key.and_then(|k| self.latest.remove(&(n, k)));
                    excused |= seen >= *count && unless.is_some_and(|(u, _)| close(u.ts, ev.ts, within.ms()));
                }
                ContextKind::Lend { side: Side::Before, span, since, require } => {
                    let found =
                        key.and_then(|k| self.latest.get(&(n, k))).filter(|(c, _)| close(c.ts, ev.ts, span.ms()));
                    match found {
                        Some((c, _)) => lend(&mut ev, c, since.as_deref()),
                        None => dropped |= *require,
                    }
                }
                ContextKind::Lend { side: Side::After, require, .. } => match key {
                    Some(_) => open.push(n),
                    None => dropped |= *require,
                },
            }
        }
        if excused || dropped {
            return;
        }
        if open.is_empty() {
            return emit(ev, arrived);
        }
        self.waiting.push(Waiting { event: ev, arrived, open, dropped: false });
    }

    /// Passes on, in order, the waiting events with no entry left open.
    fn emit_decided(&mut self, emit: &mut impl FnMut(Event, i64)) {
        if !self.waiting.iter().any(|w| w.open.is_empty()) {
            return;
        }
        for w in std::mem::take(&mut self.waiting) {
            match (w.open.is_empty(), w.dropped) {
                (false, _) => self.waiting.push(w),
                (true, false) => emit(w.event, w.arrived),
                (true, true) => {}
            }
        }
    }
}

impl Waiting {
    /// The longest window among its open entries.
    fn longest(&self, context: &[Context]) -> i64 {
        self.open.iter().filter_map(|&n| context.get(usize::from(n))).map(reach).max().unwrap_or(0)
    }

    /// No event came for its open entries: required ones drop it.
    fn give_up(&mut self, context: &[Context]) {
        let required = |n: &u8| {
            context.get(usize::from(*n)).is_some_and(|c| matches!(c.kind, ContextKind::Lend { require: true, .. }))
        };
        self.dropped |= self.open.iter().any(required);
        self.open.clear();
    }
}

/// Gives `start` the fields of `from` it does not capture itself, and with
/// `since` the time between them.
fn lend(start: &mut Event, from: &Event, since: Option<&str>) {
    let mut fields: Vec<(Arc<str>, Arc<str>)> = start.fields.to_vec();
    for (name, value) in from.fields.iter() {
        if fields.iter().any(|(n, _)| n == name) {
            continue;
        }
        if &**name == "app" {
            start.app = Some(value.clone());
        }
        fields.push((name.clone(), value.clone()));
    }
    if let (Some(name), Some(t0), Some(t)) = (since, from.ts, start.ts) {
        fields.push((Arc::from(format!("{name}_ms")), Arc::from((t - t0).to_string())));
    }
    start.fields = fields.into_boxed_slice();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Stream;
    use crate::rules::compile_all;

    const S: i64 = 1000;

    /// Rule 0: exits excused by a stop and timed from an online (required);
    /// rule 1: a give-up line named by the exit before it and, required, by
    /// an owner line after it.
    const PACK: &str = r#"
[[rule]]
id = "t.loop"
title = "{app} {uptime}"
severity = "high"
regex = 'exit (?P<app>\w+):(?P<pm_id>\d+)'
unless = { regex = 'stop (?P<app>\w+):(?P<pm_id>\d+)', within = "10s", key = ["app", "pm_id"] }
context = { regex = 'online (?P<app>\w+):(?P<pm_id>\d+)', before = "1m", key = ["app", "pm_id"], since = "uptime", require = true }
correlate = { kind = "threshold", count = 2, window = "5m" }
fix = "f"

[[rule]]
id = "t.gave-up"
title = "{app} {owner}"
severity = "high"
regex = 'gave up (?P<script>\S+)'
context = [
  { regex = 'exit (?P<app>\w+):(?P<pm_id>\d+)', before = "5s" },
  { regex = 'owner (?P<owner>\w+) of (?P<script>\S+)', after = "5s", key = ["script"], require = true },
]
fix = "f"

[[rule]]
id = "t.back"
title = "{app}"
severity = "low"
regex = 'connected (?P<app>\w+)'
unless = { regex = 'retrying (?P<app>\w+)', within = "1m", count = 2 }
fix = "f"
"#;

    fn rules() -> RuleSet {
        compile_all(&[("t.toml".into(), PACK.into())]).expect("rules")
    }

    const EXIT: (u32, Role) = (0, Role::Start);
    const STOP: (u32, Role) = (0, Role::Context(0));
    const ONLINE: (u32, Role) = (0, Role::Context(1));
    const GAVE_UP: (u32, Role) = (1, Role::Start);
    const NAMED_BY_EXIT: (u32, Role) = (1, Role::Context(0));
    const OWNER: (u32, Role) = (1, Role::Context(1));
    const BACK: (u32, Role) = (2, Role::Start);
    const RETRY: (u32, Role) = (2, Role::Context(0));

    /// An event of `what` at line `line`, time `ts` (seconds), with fields
    /// `name=value`; `app` also sets its app.
    fn ev(what: (u32, Role), line: u64, ts: Option<i64>, fields: &[(&str, &str)]) -> Event {
        let fields: Vec<(Arc<str>, Arc<str>)> = fields.iter().map(|(n, v)| (Arc::from(*n), Arc::from(*v))).collect();
        Event {
            rule: what.0,
            role: what.1,
            source: 0,
            line,
            ts: ts.map(|t| t * S),
            app: field(&fields, "app").map(Arc::from),
            stream: Stream::Daemon,
            fields: fields.into_boxed_slice(),
            text: Arc::from(""),
        }
    }

    fn api(pm_id: &'static str) -> [(&'static str, &'static str); 2] {
        [("app", "api"), ("pm_id", pm_id)]
    }

    /// The lines of the events that come out, in order.
    fn lines(events: &[Event]) -> Vec<u64> {
        events.iter().map(|e| e.line).collect()
    }

    fn one_source(events: Vec<Event>) -> Vec<Event> {
        apply(&rules(), vec![events]).pop().unwrap_or_default()
    }

    #[test]
    fn a_stop_excuses_the_next_exit_of_its_key_only() {
        let got = one_source(vec![
            ev(ONLINE, 1, Some(0), &api("0")),
            ev(ONLINE, 2, Some(0), &api("1")),
            ev(STOP, 3, Some(10), &api("0")),
            // Another instance of the app: not excused.
            ev(EXIT, 4, Some(10), &api("1")),
            ev(EXIT, 5, Some(11), &api("0")),
            ev(ONLINE, 6, Some(12), &api("0")),
            // The stop was used up by the exit it excused.
            ev(EXIT, 7, Some(13), &api("0")),
        ]);
        assert_eq!(lines(&got), [4, 7]);
        assert!(got.iter().all(|e| e.role == Role::Start), "context events are not passed on");
    }

    /// `within` is the window of `correlate::window`: the start event must
    /// come less than `within` after the stop.
    #[test]
    fn a_stop_excuses_within_its_window_only() {
        let at = |exit_ts: i64| {
            one_source(vec![
                ev(ONLINE, 1, Some(0), &api("0")),
                ev(STOP, 2, Some(0), &api("0")),
                ev(EXIT, 3, Some(exit_ts), &api("0")),
            ])
        };
        assert!(at(0).is_empty());
        assert!(at(9).is_empty());
        assert_eq!(lines(&at(10)), [3]);
        // An exit written before the stop (a clock step back) is not its.
        let back = one_source(vec![
            ev(ONLINE, 1, Some(0), &api("0")),
            ev(STOP, 2, Some(20), &api("0")),
            ev(EXIT, 3, Some(19), &api("0")),
        ]);
        assert_eq!(lines(&back), [3]);
    }

    #[test]
    fn an_exit_takes_its_uptime_from_the_online_before_it() {
        let got = one_source(vec![
            ev(ONLINE, 1, Some(100), &api("0")),
            ev(ONLINE, 2, Some(130), &api("1")),
            ev(EXIT, 3, Some(131), &api("0")),
            ev(EXIT, 4, Some(131), &api("1")),
        ]);
        assert_eq!(field(&got[0].fields, "uptime_ms"), Some("31000"));
        assert_eq!(field(&got[1].fields, "uptime_ms"), Some("1000"));
    }

    /// `require`: an exit whose instance came online a minute or more
    /// before (or never, as far as the log shows) is not counted.
    #[test]
    fn a_required_context_outside_its_window_drops_the_event() {
        let got = one_source(vec![
            ev(ONLINE, 1, Some(0), &api("0")),
            ev(EXIT, 2, Some(59), &api("0")),
            ev(ONLINE, 3, Some(60), &api("0")),
            ev(EXIT, 4, Some(120), &api("0")),
            ev(EXIT, 5, Some(121), &api("7")),
        ]);
        assert_eq!(lines(&got), [2]);
    }

    /// A start event without a key field pairs with nothing: a required
    /// context is then missing.
    #[test]
    fn a_missing_key_field_pairs_with_nothing() {
        let got = one_source(vec![
            ev(ONLINE, 1, Some(0), &api("0")),
            ev(STOP, 2, Some(1), &[("app", "api")]),
            ev(EXIT, 3, Some(2), &api("0")),
            ev(EXIT, 4, Some(3), &[("app", "api")]),
        ]);
        assert_eq!(lines(&got), [3]);
    }

    #[test]
    fn a_give_up_line_is_named_by_the_lines_around_it() {
        let gave_up = [("script", "/srv/a.js")];
        let owner = [("owner", "ops"), ("script", "/srv/a.js")];
        let got = one_source(vec![
            ev(NAMED_BY_EXIT, 1, Some(0), &api("3")),
            ev(GAVE_UP, 2, Some(1), &gave_up),
            ev(OWNER, 3, Some(2), &[("owner", "dev"), ("script", "/srv/b.js")]),
            ev(OWNER, 4, Some(3), &owner),
            ev(OWNER, 5, Some(4), &[("owner", "later"), ("script", "/srv/a.js")]),
        ]);
        assert_eq!(got.len(), 1);
        let e = &got[0];
        assert_eq!(e.app.as_deref(), Some("api"), "the app capture lent becomes the event's app");
        assert_eq!(field(&e.fields, "pm_id"), Some("3"));
        // The first owner line of its script decides.
        assert_eq!(field(&e.fields, "owner"), Some("ops"));
        assert_eq!(field(&e.fields, "script"), Some("/srv/a.js"), "its own capture is kept");
    }

    #[test]
    fn a_required_after_context_that_never_comes_or_comes_late_drops_the_event() {
        let gave_up = [("script", "/srv/a.js")];
        assert!(one_source(vec![ev(GAVE_UP, 1, Some(0), &gave_up)]).is_empty());
        let late = one_source(vec![
            ev(GAVE_UP, 1, Some(0), &gave_up),
            ev(OWNER, 2, Some(5), &[("owner", "ops"), ("script", "/srv/a.js")]),
        ]);
        assert!(late.is_empty());
    }

    /// Without times, order decides: the nearest event, however far.
    #[test]
    fn untimed_events_pair_by_order() {
        let got = one_source(vec![
            ev(ONLINE, 1, None, &api("0")),
            ev(EXIT, 2, None, &api("0")),
            ev(STOP, 3, None, &api("0")),
            ev(EXIT, 4, None, &api("0")),
            ev(EXIT, 5, None, &api("0")),
            ev(NAMED_BY_EXIT, 6, None, &api("0")),
            ev(GAVE_UP, 7, None, &[("script", "x")]),
            ev(OWNER, 8, None, &[("owner", "ops"), ("script", "x")]),
        ]);
        assert_eq!(lines(&got), [2, 5, 7]);
        assert!(got.iter().all(|e| field(&e.fields, "uptime_ms").is_none()), "no times, no uptime");
        assert_eq!(field(&got[2].fields, "owner"), Some("ops"));
    }

    #[test]
    fn sources_do_not_pair() {
        let mut exit = ev(EXIT, 1, Some(1), &api("0"));
        exit.source = 1;
        let out = apply(&rules(), vec![vec![ev(ONLINE, 1, Some(0), &api("0"))], vec![exit]]);
        assert!(out.iter().all(Vec::is_empty), "{out:?}");
    }

    #[test]
    fn read_matches_are_not_read_again() {
        let events = vec![ev(EXIT, 2, Some(1), &api("0"))];
        assert!(one_source(events.clone()).is_empty());
        let resolved = rules().with_context_resolved();
        assert_eq!(apply(&resolved, vec![events.clone()]), vec![events]);
    }

    /// `watch` pushes matches a poll at a time and releases waiting ones
    /// as time passes: whatever the polls, it decides what `scan` does.
    #[test]
    fn incremental_reading_decides_as_the_batch_does() {
        let gave_up = [("script", "/srv/a.js")];
        let owner = [("owner", "ops"), ("script", "/srv/a.js")];
        let all = vec![
            ev(ONLINE, 1, Some(0), &api("0")),
            ev(EXIT, 2, Some(1), &api("0")),
            ev(NAMED_BY_EXIT, 3, Some(1), &api("0")),
            ev(GAVE_UP, 4, Some(1), &gave_up),
            ev(STOP, 5, Some(2), &api("0")),
            ev(OWNER, 6, Some(3), &owner),
            ev(EXIT, 7, Some(3), &api("0")),
            ev(ONLINE, 8, Some(4), &api("0")),
            ev(EXIT, 9, Some(5), &api("0")),
            ev(GAVE_UP, 10, Some(6), &gave_up),
            ev(ONLINE, 11, Some(40), &api("0")),
            ev(EXIT, 12, Some(41), &api("0")),
        ];
        let want = one_source(all.clone());
        assert_eq!(lines(&want), [2, 4, 9, 12]);
        let rules = rules();
        for poll in 1..all.len() {
            let mut r = Resolver::default();
            let mut got = Vec::new();
            for chunk in all.chunks(poll) {
                let now = chunk.last().and_then(|e| e.ts).unwrap_or(0);
                for e in chunk {
                    r.push(&rules, "pm2.log", e.clone(), now, &mut |e, _| got.push(e));
                }
                r.release(&rules, Some(now), now, &mut |e, _| got.push(e));
                r.prune(&rules, now);
            }
            r.finish(&rules, &mut |e, _| got.push(e));
            got.sort_by_key(|e| e.line);
            assert_eq!(got, want, "polls of {poll}");
        }
    }

    /// Held context survives a restart of `watch` through its state file.
    #[test]
    fn held_context_is_restored() {
        let rules = rules();
        let mut r = Resolver::default();
        let fail = &mut |_, _| panic!("a context event passed on");
        r.push(&rules, "pm2.log", ev(ONLINE, 1, Some(0), &api("0")), 0, fail);
        r.push(&rules, "pm2.log", ev(STOP, 2, Some(1), &api("0")), 0, fail);
        let held = r.held();
        assert_eq!(held.len(), 2);
        let mut again = Resolver::default();
        held.into_iter().for_each(|(e, at)| again.restore(&rules, "pm2.log", e, at));
        // `watch` gives the file a new source id after a restart.
        let later = |what, line, ts| {
            let mut e = ev(what, line, Some(ts), &api("0"));
            e.source = 3;
            e
        };
        let mut got = Vec::new();
        again.push(&rules, "pm2.log", later(EXIT, 3, 2), 0, &mut |e, _| got.push(e));
        again.push(&rules, "pm2.log", later(EXIT, 4, 3), 0, &mut |e, _| got.push(e));
        assert_eq!(lines(&got), [4], "the stop excused the first exit, the online timed the second");
        // Pruned once its window has passed.
        again.prune(&rules, 60 * S);
        assert!(again.held().is_empty());
    }

    /// `count = 2`: one retry announced before the reconnect is a reconnect
    /// at the first attempt; two or more mean a retry failed. The count
    /// starts again after each start event, and only the latest retry's
    /// time is held against `within`.
    #[test]
    fn a_counted_unless_excuses_only_after_enough_events_since_the_last_match() {
        let app = [("app", "api")];
        let got = one_source(vec![
            ev(RETRY, 1, Some(0), &app),
            ev(BACK, 2, Some(10), &app),
            ev(RETRY, 3, Some(20), &app),
            ev(RETRY, 4, Some(30), &app),
            ev(RETRY, 5, Some(40), &app),
            ev(BACK, 6, Some(50), &app),
            // The count started again at line 6: one retry is not enough.
            ev(RETRY, 7, Some(60), &app),
            ev(BACK, 8, Some(70), &app),
            // Two retries, but the latest a minute or more before.
            ev(RETRY, 9, Some(80), &app),
            ev(RETRY, 10, Some(90), &app),
            ev(BACK, 11, Some(150), &app),
        ]);
        assert_eq!(lines(&got), [2, 8, 11]);
        // Without times, order alone: two retries before the reconnect excuse it.
        let untimed = one_source(vec![ev(RETRY, 1, None, &app), ev(RETRY, 2, None, &app), ev(BACK, 3, None, &app)]);
        assert!(untimed.is_empty());
    }

    /// A counted `unless` keeps its count across a restart of `watch`.
    #[test]
    fn a_counted_unless_is_restored_with_its_count() {
        let rules = rules();
        let app = [("app", "api")];
        let mut r = Resolver::default();
        let fail = &mut |_, _| panic!("a context event passed on");
        r.push(&rules, "out.log", ev(RETRY, 1, Some(0), &app), 0, fail);
        r.push(&rules, "out.log", ev(RETRY, 2, Some(10), &app), 0, fail);
        let held = r.held();
        assert_eq!(held.len(), 2, "held once per count");
        let mut again = Resolver::default();
        held.into_iter().for_each(|(e, at)| again.restore(&rules, "out.log", e, at));
        let mut got = Vec::new();
        again.push(&rules, "out.log", ev(BACK, 3, Some(20), &app), 0, &mut |e, _| got.push(e));
        assert!(got.is_empty(), "two retries before the restart still excuse the reconnect");
    }

    #[test]
    fn uptimes_are_described_as_a_range() {
        assert_eq!(range(500, 700), "0.5–0.7s");
        assert_eq!(range(520, 540), "0.5s");
        assert_eq!(range(0, 1000), "0–1s");
        assert_eq!(range(0, 0), "under 1s");
        assert_eq!(range(2000, 65_000), "2s–1m 5s");
        let rules = rules();
        let mut f = Finding {
            rule: 0,
            key: vec![],
            events: vec![
                ev(EXIT, 1, Some(1), &[("uptime_ms", "700")]),
                ev(EXIT, 2, Some(2), &[("uptime_ms", "500")]),
                ev(EXIT, 3, Some(3), &[]),
            ],
            facts: vec![],
        };
        describe(&rules, std::slice::from_mut(&mut f));
        assert_eq!(f.facts, vec![("uptime".to_string(), "0.5–0.7s".to_string())]);
    }
}
