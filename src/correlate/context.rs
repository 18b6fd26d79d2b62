//! Context: the regexes of a rule's `unless` and `context` entries (see
//! [`crate::rules::Context`]) match records that are not incidents
//! themselves but change how the rule's start events are read. Owns that
//! reading: drops the context events, drops the start events they excuse
//! (or that lack a required context), and lends the rest the fields of
//! their context. Hands on events as the matcher would have made them, so
//! grouping and the correlation modes never see a context event.
//!
//! The rules:
//!
//! - An entry applies to the start events of the regexes its `for_regex`
//!   names (all by default).
//! - An event pairs with a start event when every `key` field has the same
//!   value in both (`app` is the event's app); a start event without one of
//!   the fields pairs with nothing. An empty key pairs any two.
//! - `scope = "file"` (default): events pair only within one file, in the
//!   file's order (pm2.log holds every line pm2 writes about its
//!   processes). `scope = "app"`: also across the files of the start
//!   event's app (their apps must be equal), judged by log time; lines
//!   without a time still pair only within their own file. Files are not
//!   stamped alike (pm2.log to the second, an app's logger to the
//!   millisecond), so two lines of different files in the same second are
//!   taken as simultaneous: each counts as before and as after the other.
//! - `unless`: each event excuses the next start event of its key, and only
//!   that one, if it comes less than `within` after it (window semantics of
//!   [`super::window`]: `0 <= t_start - t_unless < within`). With
//!   `every = true` it excuses every start event of its key within
//!   `within`. A start event excused is not counted at all. With
//!   `count = N`, it takes N or more events of the entry since the
//!   previous start event of that key (the latest of them within
//!   `within`): a client announcing a second retry before it got back had
//!   its first retry fail.
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
//!   above, however far (an `every` unless excuses every later start event
//!   of its key in the file).
//! - Across files where one side has no times at all, `scan` pairs an
//!   app-scoped entry's events with the start events one to one, by count
//!   from the end of the logs (the `clockless` module); `watch` does not.
//!
//! In `scan`, that clockless pairing comes first; then two stages. The
//! file stage reads each file in its order (file-scoped entries, and
//! app-scoped ones for untimed lines); the app
//! stage then reads the timed start events of rules with app-scoped
//! entries, together with those entries' timed events, per rule in one
//! order for all files: by second, then the events that look back
//! (`unless`, `before`) before the start events and those that look ahead
//! (`after`) after them, then by time, file and line.
//!
//! The same reading runs in `scan` ([`apply`], over complete lists) and in
//! `watch` ([`Resolver`], as matches arrive, holding context events while
//! their window is open, start events that wait for an `after` entry, and
//! app-stage events until [`SETTLE`] has passed). [`describe`] turns a
//! finding's `NAME_ms` values into the fact `NAME`: the range of times,
//! "0.1s–0.4s".

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::matcher::Event;
use crate::rules::{Context, ContextKind, Role, Rule, RuleSet, Scope, Side};
use crate::{memory, pool};

use super::pairs::human;
use super::window::within;
use super::{Finding, Sink};

mod clockless;
mod nearby;
pub mod spilled;
use clockless::Decided;

/// How long (log time, or wall clock for a quiet log) `watch` holds an
/// event of the app stage before reading it: lines of one second reach
/// their files at slightly different moments, and the app stage reads them
/// in one order.
pub const SETTLE: i64 = 2_000;

/// Reads every source's context (the `scan` path); `paths` names the
/// sources (the app stage orders lines of one second by file). Sources are
/// independent in the file stage and read in their own order; the app
/// stage reads its events in one order of its own, so the result does not
/// depend on the thread count. A no-op for rules whose matches were read
/// already ([`RuleSet::context_resolved`]) and for sources with no event of
/// a rule that has context.
pub fn apply(rules: &RuleSet, mut sources: Vec<Vec<Event>>, paths: &[String]) -> Vec<Vec<Event>> {
    if rules.context_resolved() || rules.rules().iter().all(|r| r.context.is_empty()) {
        return sources;
    }
    drop_idle(rules.len(), &mut sources);
    // Files without a shared clock first: what they decide, the stages
    // leave alone.
    let decided = Arc::new(clockless::pair(rules, &mut sources));
    let staged = pool::map_in_order(sources, |events| file_stage(rules, events, &decided));
    let mut app = AppStage { decided, ..AppStage::default() };
    // Which list each source's events live in (skipped files leave gaps
    // between source ids).
    let mut home: HashMap<usize, usize> = HashMap::new();
    let (mut out, mut later): (Vec<Vec<Event>>, Vec<Vec<Event>>) = staged.into_iter().unzip();
    nearby::trim(rules, &mut later, |ev| skipped(&app.decided, ev));
    for (i, later) in later.into_iter().enumerate() {
        for ev in later {
            home.insert(ev.source, i);
            let file = paths.get(ev.source).map_or("", String::as_str);
            app.insert(rules, file, ev, 0);
        }
    }
    let mut touched = vec![false; out.len()];
    app.finish(rules, &mut |e, _| {
        if let Some(&i) = home.get(&e.source) {
            touched[i] = true;
            out[i].push(e);
        }
    });
    // Back in file order: ties in time are broken by line later.
    for (list, _) in out.iter_mut().zip(&touched).filter(|(_, t)| **t) {
        list.sort_by_key(|e| (e.line, e.role));
    }
    out
}

/// One source through the file stage: the events decided, and those the
/// app stage reads.
/// Drops the context events of rules that have no start event in any
/// source: an entry only excuses, lends to or is required by its own
/// rule's start events, so with none of those it decides nothing, and
/// [`apply`] would drop them unread. A storm holds many (256 MiB storm
/// corpus: 37 % of its events were context events of two TWS rules that
/// never fired); gone here, the stages below never copy them, and their
/// texts and values are freed before the file stage allocates.
fn drop_idle(rule_count: usize, sources: &mut [Vec<Event>]) {
    let mut started = vec![false; rule_count];
    for e in sources.iter().flatten().filter(|e| e.role == Role::Start) {
        if let Some(s) = started.get_mut(e.rule as usize) {
            *s = true;
        }
    }
    let idle = |e: &Event| matches!(e.role, Role::Context(_)) && !started.get(e.rule as usize).copied().unwrap_or(true);
    let mut trim = memory::TrimEvery::default();
    for events in sources.iter_mut() {
        let before = events.len();
        events.retain(|e| !idle(e));
        let dropped = before - events.len();
        // A list that lost events gives their room back: a large list is
        // mapped on its own and shrinks in place (1 GiB storm corpus: a
        // source that lost a third of its events held their room, 40 MiB,
        // through the stages below).
        if dropped > 0 {
            events.shrink_to_fit();
        }
        trim.freed(dropped * std::mem::size_of::<Event>());
    }
}

fn file_stage(rules: &RuleSet, events: Vec<Event>, decided: &Arc<Decided>) -> (Vec<Event>, Vec<Event>) {
    if !events.iter().any(|e| has_context(rules, e)) {
        return (events, Vec::new());
    }
    let mut out = Vec::with_capacity(events.len());
    let mut later = Vec::new();
    let mut context = Vec::new();
    let mut files = FileStage { decided: decided.clone(), ..FileStage::default() };
    let mut route = |e: Event, _| if needs_app(rules, &e) { later.push(e) } else { out.push(e) };
    // One source: its events pair among themselves whatever it is called.
    // Taken from the back of a reversed list, whose tail is handed back as
    // it empties: the list and the one built from it would otherwise both
    // be whole at the end (a noisy source's events are tens of MiB).
    let mut events = events;
    events.reverse();
    while let Some(ev) = events.pop() {
        if events.capacity() - events.len() >= GIVE_BACK {
            events.shrink_to_fit();
        }
        match first_stage(rules, &ev) {
            Stage::Pass => route(ev, 0),
            Stage::App => context.push(ev),
            Stage::File => files.push(rules, "", ev, 0, &mut route),
        }
    }
    files.finish(rules, &mut |_, e, at| route(e, at));
    later.append(&mut context);
    (out, later)
}

/// Events [`file_stage`] takes from its list before it frees their room.
const GIVE_BACK: usize = 1 << 16;

/// The entries decided already for start event `ev` (bit n: entry n).
fn skipped(decided: &Decided, ev: &Event) -> u8 {
    match ev.role {
        Role::Start => decided.get(&(ev.source, ev.line, ev.rule)).copied().unwrap_or(0),
        _ => 0,
    }
}

fn has_context(rules: &RuleSet, e: &Event) -> bool {
    !rules.rules()[e.rule as usize].context.is_empty()
}

/// Where a new event goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Nowhere: its rule has no context, or it closes a window.
    Pass,
    /// The file stage: start events, and the events of file-scoped
    /// entries (or of app-scoped ones without a time).
    File,
    /// The app stage: timed events of app-scoped entries.
    App,
}

fn first_stage(rules: &RuleSet, ev: &Event) -> Stage {
    let rule = &rules.rules()[ev.rule as usize];
    match ev.role {
        _ if rule.context.is_empty() => Stage::Pass,
        Role::End => Stage::Pass,
        Role::Start => Stage::File,
        Role::Context(n) => match rule.context.get(usize::from(n)) {
            Some(c) if c.scope == Scope::App && ev.ts.get().is_some() => Stage::App,
            _ => Stage::File,
        },
    }
}

/// Whether a start event the file stage has decided goes on to the app
/// stage: it has a time and an app-scoped entry applies to it.
fn needs_app(rules: &RuleSet, ev: &Event) -> bool {
    ev.role == Role::Start
        && ev.ts.get().is_some()
        && rules.rules()[ev.rule as usize]
            .context
            .iter()
            .any(|c| c.scope == Scope::App && c.applies_to(ev.shape.regex()))
}

/// Sets each finding's `NAME` fact for every `since = NAME` of its rule:
/// the range of its events' `NAME_ms` values ("0.1s–0.4s", or one value).
pub fn describe<S: Sink>(rules: &RuleSet, findings: &mut [Finding<S>]) {
    for f in findings {
        let rule = &rules.rules()[f.rule as usize];
        for name in since_names(rule) {
            let Some((lo, hi)) = f.events.range(&format!("{name}_ms")) else {
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

/// The values of entry `c`'s key in `e` (with its app, for an app-scoped
/// entry), or `None` if it lacks one of them.
fn entry_key(c: &Context, e: &Event) -> Option<Vec<Arc<str>>> {
    let mut key: Vec<Arc<str>> = c
        .key
        .iter()
        .map(|name| match name.as_str() {
            "app" => e.app.clone(),
            _ => e.fields.iter().find(|(n, _)| &**n == name).map(|(_, v)| v.clone()),
        })
        .collect::<Option<_>>()?;
    if c.scope == Scope::App {
        key.push(e.app.clone()?);
    }
    Some(key)
}

/// Whether `later` is less than `w` after `earlier`; without both times,
/// order alone decides (see the module doc). `across`: the app stage,
/// where the events already stand in order and two of one second are
/// simultaneous, so `later` may read a little earlier than `earlier`.
fn close(earlier: Option<i64>, later: Option<i64>, w: i64, across: bool) -> bool {
    match (earlier, later) {
        (Some(a), Some(b)) if across => b - a < w,
        (Some(a), Some(b)) => within(a, b, w),
        _ => true,
    }
}

/// A held event and the wall-clock ms it arrived at.
type Held = (Event, i64);

/// Context read incrementally: events go in per file in the file's order,
/// and come out once decided. `watch` pushes each poll's matches and calls
/// [`Resolver::release`] as time passes (`scan` uses the two stages
/// directly, see [`apply`]). Files are told apart by path, not source id:
/// `watch` gives a file a new id when it restarts or the file is truncated,
/// and its lines go on pairing with what came before.
#[derive(Debug, Default)]
pub struct Resolver {
    files: FileStage,
    apps: AppStage,
}

impl Resolver {
    /// Takes the next event of `file`; passes on (to `emit`, with its
    /// arrival time) every event decided by it. Events of rules without
    /// context pass at once.
    pub fn push(&mut self, rules: &RuleSet, file: &str, ev: Event, arrived: i64, emit: &mut impl FnMut(Event, i64)) {
        let Resolver { files, apps } = self;
        match first_stage(rules, &ev) {
            Stage::Pass => emit(ev, arrived),
            Stage::App => apps.insert(rules, file, ev, arrived),
            Stage::File => files.push(rules, file, ev, arrived, &mut |e, at| {
                if needs_app(rules, &e) {
                    apps.insert(rules, file, e, at);
                } else {
                    emit(e, at);
                }
            }),
        }
    }

    /// Decides what time has settled: start events waiting for an `after`
    /// entry whose window has passed, and the app stage's events, by the
    /// log's time `log_now` (a history read fast), or by the wall clock
    /// `now` once as long has passed since they arrived (a quiet log, or
    /// one without times).
    pub fn release(&mut self, rules: &RuleSet, log_now: Option<i64>, now: i64, emit: &mut impl FnMut(Event, i64)) {
        let Resolver { files, apps } = self;
        files.release(rules, log_now, now, &mut |file, e, at| {
            if needs_app(rules, &e) {
                apps.insert(rules, file, e, at);
            } else {
                emit(e, at);
            }
        });
        apps.release(rules, log_now, now, emit);
    }

    /// Decides everything held: the input has ended.
    pub fn finish(&mut self, rules: &RuleSet, emit: &mut impl FnMut(Event, i64)) {
        let Resolver { files, apps } = self;
        files.finish(rules, &mut |file, e, at| {
            if needs_app(rules, &e) {
                apps.insert(rules, file, e, at);
            } else {
                emit(e, at);
            }
        });
        apps.finish(rules, emit);
    }

    /// Forgets timed context events that can no longer reach a start event:
    /// their window has passed at log time `log_now`.
    pub fn prune(&mut self, rules: &RuleSet, log_now: i64) {
        self.files.prune(rules, log_now);
        self.apps.prune(rules, log_now);
    }

    /// What it holds, in a fixed order (for `watch`'s state file): context
    /// events, then start events not decided yet.
    pub fn held(&self) -> Vec<Held> {
        let (mut context, mut starts) = self.files.held();
        let (app_context, app_starts) = self.apps.held();
        context.extend(app_context);
        starts.extend(app_starts);
        context.extend(starts);
        context
    }

    /// Takes back an event of `file` a previous run held ([`Resolver::held`]):
    /// a context event is held again, a start event is read again (decided
    /// ones go to `emit`).
    pub fn restore(&mut self, rules: &RuleSet, file: &str, ev: Event, arrived: i64, emit: &mut impl FnMut(Event, i64)) {
        match ev.role {
            Role::Context(_) if first_stage(rules, &ev) == Stage::App => self.apps.insert(rules, file, ev, arrived),
            Role::Context(_) => self.files.restore(rules, file, ev, arrived),
            Role::Start => self.push(rules, file, ev, arrived, emit),
            Role::End => emit(ev, arrived),
        }
    }
}

/// The file stage: per (file, rule), what that rule's context holds in that
/// file.
#[derive(Debug, Default)]
struct FileStage {
    states: BTreeMap<(String, u32), State>,
    /// Entries decided already per start event (`scan` only; see
    /// [`clockless`]).
    decided: Arc<Decided>,
}

impl FileStage {
    /// A start event, or a context event of a file-scoped entry (or of an
    /// app-scoped one without a time).
    fn push(&mut self, rules: &RuleSet, file: &str, ev: Event, arrived: i64, emit: &mut impl FnMut(Event, i64)) {
        let context = &rules.rules()[ev.rule as usize].context;
        let skip = skipped(&self.decided, &ev);
        let state = self.states.entry((file.to_string(), ev.rule)).or_default();
        match ev.role {
            Role::Context(n) => state.context(context, n, ev, arrived, false, emit),
            _ => {
                let untimed = ev.ts.get().is_none();
                let shape = ev.shape.regex();
                let here = |n: usize, c: &Context| {
                    skip & (1 << n) == 0 && c.applies_to(shape) && (c.scope == Scope::File || untimed)
                };
                state.start(context, ev, arrived, here, false, emit);
            }
        }
    }

    /// Releases what time has decided; `emit` learns each event's file.
    fn release(&mut self, rules: &RuleSet, log_now: Option<i64>, now: i64, emit: &mut impl FnMut(&str, Event, i64)) {
        for ((file, rule), state) in self.states.iter_mut() {
            let context = &rules.rules()[*rule as usize].context;
            state.release(context, log_now, now, 0, &mut |e, at| emit(file, e, at));
        }
    }

    fn finish(&mut self, rules: &RuleSet, emit: &mut impl FnMut(&str, Event, i64)) {
        for ((file, rule), state) in self.states.iter_mut() {
            state.give_up_all(&rules.rules()[*rule as usize].context, &mut |e, at| emit(file, e, at));
        }
    }

    fn prune(&mut self, rules: &RuleSet, log_now: i64) {
        for ((_, rule), state) in self.states.iter_mut() {
            state.prune(&rules.rules()[*rule as usize].context, log_now, 0);
        }
        self.states.retain(|_, s| !s.is_empty());
    }

    fn held(&self) -> (Vec<Held>, Vec<Held>) {
        let context = self.states.values().flat_map(State::held_context).collect();
        let starts = self.states.values().flat_map(State::waiting).collect();
        (context, starts)
    }

    fn restore(&mut self, rules: &RuleSet, file: &str, ev: Event, arrived: i64) {
        let Role::Context(n) = ev.role else { return };
        let Some(c) = rules.rules().get(ev.rule as usize).and_then(|r| r.context.get(usize::from(n))) else {
            return;
        };
        if let Some(key) = entry_key(c, &ev) {
            let state = self.states.entry((file.to_string(), ev.rule)).or_default();
            state.keep(c, n, key, ev, arrived);
        }
    }
}

/// The app stage: per rule, its timed events of app-scoped entries and its
/// timed start events those apply to, read in one order across files.
#[derive(Debug, Default)]
struct AppStage {
    rules: BTreeMap<u32, AppRule>,
    /// Entries decided already per start event (`scan` only; see
    /// [`clockless`]).
    decided: Arc<Decided>,
}

#[derive(Debug, Default)]
struct AppRule {
    /// Events not read yet, in the order they are read.
    pending: BTreeMap<Order, Held>,
    /// What the rule's app-scoped entries hold.
    state: State,
    /// Breaks ties between events that would sort alike (a file read
    /// again after a truncation numbers its lines from 1 again).
    seq: u64,
}

/// Where an event stands in the app stage: second, what it does (events
/// that look back, then start events, then events that look ahead), time,
/// file, source, line, role, arrival.
type Order = (i64, u8, i64, String, usize, u64, Role, u64);

impl AppStage {
    fn insert(&mut self, rules: &RuleSet, file: &str, ev: Event, arrived: i64) {
        let ts = ev.ts.get().unwrap_or_default();
        let r = self.rules.entry(ev.rule).or_default();
        r.seq += 1;
        let order = (ts.div_euclid(1000), rank(rules, &ev), ts, file.to_string(), ev.source, ev.line, ev.role, r.seq);
        r.pending.insert(order, (ev, arrived));
    }

    fn release(&mut self, rules: &RuleSet, log_now: Option<i64>, now: i64, emit: &mut impl FnMut(Event, i64)) {
        let settled = |(ev, arrived): &Held| {
            ev.ts.get().zip(log_now).is_some_and(|(t, log)| log >= t + SETTLE) || now >= arrived + SETTLE
        };
        for (rule, r) in self.rules.iter_mut() {
            let context = &rules.rules()[*rule as usize].context;
            let ready: Vec<Order> = r.pending.iter().filter(|(_, h)| settled(h)).map(|(o, _)| o.clone()).collect();
            for order in ready {
                if let Some((ev, arrived)) = r.pending.remove(&order) {
                    let skip = skipped(&self.decided, &ev);
                    r.state.read(context, ev, arrived, skip, emit);
                }
            }
            r.state.release(context, log_now, now, SETTLE, emit);
        }
    }

    fn finish(&mut self, rules: &RuleSet, emit: &mut impl FnMut(Event, i64)) {
        for (rule, r) in self.rules.iter_mut() {
            let context = &rules.rules()[*rule as usize].context;
            for (_, (ev, arrived)) in std::mem::take(&mut r.pending) {
                let skip = skipped(&self.decided, &ev);
                r.state.read(context, ev, arrived, skip, emit);
            }
            r.state.give_up_all(context, emit);
        }
    }

    fn prune(&mut self, rules: &RuleSet, log_now: i64) {
        for (rule, r) in self.rules.iter_mut() {
            r.state.prune(&rules.rules()[*rule as usize].context, log_now, SETTLE);
        }
        self.rules.retain(|_, r| !r.pending.is_empty() || !r.state.is_empty());
    }

    fn held(&self) -> (Vec<Held>, Vec<Held>) {
        let mut context: Vec<Held> = Vec::new();
        let mut starts: Vec<Held> = Vec::new();
        for r in self.rules.values() {
            context.extend(r.state.held_context());
            for held in r.pending.values() {
                match held.0.role {
                    Role::Start => starts.push(held.clone()),
                    _ => context.push(held.clone()),
                }
            }
            starts.extend(r.state.waiting());
        }
        (context, starts)
    }
}

/// Where an event of the app stage sorts within its second: events that
/// look back (`unless`, `before`) first, start events, then events that
/// look ahead (`after`).
fn rank(rules: &RuleSet, ev: &Event) -> u8 {
    let Role::Context(n) = ev.role else { return 1 };
    match rules.rules()[ev.rule as usize].context.get(usize::from(n)).map(|c| &c.kind) {
        Some(ContextKind::Lend { side: Side::After, .. }) => 2,
        _ => 0,
    }
}

/// How long an entry's event can still matter after it was written.
fn reach(c: &Context) -> i64 {
    match &c.kind {
        ContextKind::Unless { within, .. } => within.ms(),
        ContextKind::Lend { span, .. } => span.ms(),
    }
}

/// What one rule's context holds in one stage (one file, or the app stage).
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

impl State {
    fn is_empty(&self) -> bool {
        self.latest.is_empty() && self.waiting.is_empty()
    }

    /// The context events it holds, a counted `unless` event as many times
    /// as it was counted, so that reading them again (`watch`'s restore)
    /// counts it again.
    fn held_context(&self) -> impl Iterator<Item = Held> + '_ {
        self.latest.iter().flat_map(|(k, held)| {
            let times = self.tally.get(k).copied().unwrap_or(1) as usize;
            std::iter::repeat_n(held.clone(), times)
        })
    }

    /// The start events still waiting.
    fn waiting(&self) -> impl Iterator<Item = Held> + '_ {
        self.waiting.iter().map(|w| (w.event.clone(), w.arrived))
    }

    /// An event of the app stage, in its turn.
    /// `skip`: the entries decided for it already (bit n: entry n).
    fn read(&mut self, context: &[Context], ev: Event, arrived: i64, skip: u8, emit: &mut impl FnMut(Event, i64)) {
        // The app stage reads in time order (within a second, a little
        // out of it): start events whose window closed more than SETTLE
        // before this event can no longer pair, so they are decided now.
        // Without this a scan holds every print that waits for an exit
        // to the end of the input, and each exit walks all of them.
        if !self.waiting.is_empty() {
            self.release(context, ev.ts.get(), i64::MIN, SETTLE, emit);
        }
        match ev.role {
            Role::Context(n) => self.context(context, n, ev, arrived, true, emit),
            _ => {
                let shape = ev.shape.regex();
                let here = |n: usize, c: &Context| skip & (1 << n) == 0 && c.applies_to(shape) && c.scope == Scope::App;
                self.start(context, ev, arrived, here, true, emit);
            }
        }
    }

    fn context(
        &mut self,
        context: &[Context],
        n: u8,
        ev: Event,
        arrived: i64,
        across: bool,
        emit: &mut impl FnMut(Event, i64),
    ) {
        let Some(c) = context.get(usize::from(n)) else { return };
        let Some(key) = entry_key(c, &ev) else { return };
        match &c.kind {
            ContextKind::Lend { side: Side::After, span, require, .. } => {
                for w in self.waiting.iter_mut().filter(|w| w.open.contains(&n)) {
                    if entry_key(c, &w.event).as_ref() != Some(&key) {
                        continue;
                    }
                    w.open.retain(|&o| o != n);
                    if close(w.event.ts.get(), ev.ts.get(), span.ms(), across) {
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

    /// A start event, read against the entries `here` selects.
    fn start(
        &mut self,
        context: &[Context],
        mut ev: Event,
        arrived: i64,
        here: impl Fn(usize, &Context) -> bool,
        across: bool,
        emit: &mut impl FnMut(Event, i64),
    ) {
        let mut excused = false;
        let mut dropped = false;
        let mut open = Vec::new();
        for (n, c) in context.iter().enumerate().filter(|(n, c)| here(*n, c)) {
            let n = n as u8;
            let key = entry_key(c, &ev);
            match &c.kind {
                ContextKind::Unless { within, every: false, count } => {
                    // Used up by the next start event of its key, excused or not.
                    let seen = key.as_ref().and_then(|k| self.tally.remove(&(n, k.clone()))).unwrap_or(1);
                    let unless = key.and_then(|k| self.latest.remove(&(n, k)));
                    excused |= seen >= *count
                        && unless.is_some_and(|(u, _)| close(u.ts.get(), ev.ts.get(), within.ms(), across));
                }
                ContextKind::Unless { within, every: true, .. } => {
                    let unless = key.and_then(|k| self.latest.get(&(n, k)));
                    excused |= unless.is_some_and(|(u, _)| close(u.ts.get(), ev.ts.get(), within.ms(), across));
                }
                ContextKind::Lend { side: Side::Before, span, since, require } => {
                    let found = key
                        .and_then(|k| self.latest.get(&(n, k)))
                        .filter(|(c, _)| close(c.ts.get(), ev.ts.get(), span.ms(), across));
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

    /// Gives up on the `after` entries of waiting start events whose window
    /// (plus `margin`) has passed by the log's time or the wall clock, and
    /// passes on what that decides.
    fn release(
        &mut self,
        context: &[Context],
        log_now: Option<i64>,
        now: i64,
        margin: i64,
        emit: &mut impl FnMut(Event, i64),
    ) {
        for w in self.waiting.iter_mut() {
            let span = w.longest(context) + margin;
            let by_log = w.event.ts.get().zip(log_now).is_some_and(|(t, log)| log >= t + span);
            if by_log || now >= w.arrived + span {
                w.give_up(context);
            }
        }
        self.emit_decided(emit);
    }

    fn give_up_all(&mut self, context: &[Context], emit: &mut impl FnMut(Event, i64)) {
        self.waiting.iter_mut().for_each(|w| w.give_up(context));
        self.emit_decided(emit);
    }

    /// Forgets timed context events whose window (plus `margin`) has
    /// passed at `log_now`.
    fn prune(&mut self, context: &[Context], log_now: i64, margin: i64) {
        self.latest.retain(|(n, _), (ev, _)| {
            ev.ts.get().is_none_or(|t| context.get(usize::from(*n)).is_some_and(|c| log_now < t + reach(c) + margin))
        });
        let latest = &self.latest;
        self.tally.retain(|k, _| latest.contains_key(k));
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
/// `since` the time between them (never below 0: two files' lines of one
/// second may read in either order). Lending again what it holds changes
/// nothing (a start event read again after a restart of `watch`).
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
    if let (Some(name), Some(t0), Some(t)) = (since, from.ts.get(), start.ts.get()) {
        let ms_name = format!("{name}_ms");
        if !fields.iter().any(|(n, _)| **n == *ms_name) {
            fields.push((Arc::from(ms_name), Arc::from((t - t0).max(0).to_string())));
        }
    }
    start.fields = fields.into();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Stream;
    use crate::matcher::field;
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
            shape: 0.into(),
            source: 0,
            line,
            ts: ts.map(|t| t * S).into(),
            day_time: None,
            app: field(&fields, "app").map(Arc::from),
            stream: Stream::Daemon,
            fields: fields.into(),
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
        apply(&rules(), vec![events], &[]).pop().unwrap_or_default()
    }

    /// A source longer than the file stage takes before it frees room
    /// ([`GIVE_BACK`]) is read whole and in file order: every exit finds
    /// the online before it, and they come out as they were written.
    #[test]
    fn a_long_source_is_read_in_order_across_give_backs() {
        let pairs = GIVE_BACK as u64 + 7;
        let events: Vec<Event> = (0..pairs)
            .flat_map(|i| {
                let t = i as i64 * 600;
                [ev(ONLINE, 2 * i + 1, Some(t), &api("0")), ev(EXIT, 2 * i + 2, Some(t + 1), &api("0"))]
            })
            .collect();
        let got = one_source(events);
        assert_eq!(lines(&got), (0..pairs).map(|i| 2 * i + 2).collect::<Vec<_>>());
        assert!(got.iter().all(|e| field(&e.fields, "uptime_ms") == Some("1000")), "each exit timed from its online");
    }

    /// Context events are dropped before the stages only where their rule
    /// has no start event in any file: an exit in another file keeps its
    /// rule's stop and online, the owner line of a rule that never gave
    /// up goes.
    #[test]
    fn idle_context_is_dropped_only_where_no_file_starts_its_rule() {
        let mut exit = ev(EXIT, 1, Some(60), &api("0"));
        exit.source = 1;
        let mut sources = vec![
            vec![
                ev(STOP, 1, Some(1), &api("0")),
                ev(OWNER, 2, Some(2), &[("owner", "x"), ("script", "s")]),
                ev(ONLINE, 3, Some(3), &api("0")),
                ev(RETRY, 4, Some(4), &[("app", "api")]),
            ],
            vec![exit],
        ];
        drop_idle(rules().len(), &mut sources);
        assert_eq!(lines(&sources[0]), vec![1, 3]);
        assert_eq!(lines(&sources[1]), vec![1]);
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
        let out = apply(&rules(), vec![vec![ev(ONLINE, 1, Some(0), &api("0"))], vec![exit]], &[]);
        assert!(out.iter().all(Vec::is_empty), "{out:?}");
    }

    #[test]
    fn read_matches_are_not_read_again() {
        let events = vec![ev(EXIT, 2, Some(1), &api("0"))];
        assert!(one_source(events.clone()).is_empty());
        let resolved = rules().with_context_resolved();
        assert_eq!(apply(&resolved, vec![events.clone()], &[]), vec![events]);
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
                let now = chunk.last().and_then(|e| e.ts.get()).unwrap_or(0);
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
        held.into_iter().for_each(|(e, at)| again.restore(&rules, "pm2.log", e, at, fail));
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

    /// Rule 0: a crash header (regex 1) counts alone; an error print
    /// (regex 2) only with a non-zero exit of its app within 3 s after it,
    /// in any file, and not within 5 s of a deliberate stop. Rule 1: farm
    /// breaks within a minute of an 1100 of their file are the 1100's.
    const APP_PACK: &str = r#"
[[rule]]
id = "t.crash"
title = "{app} {error}"
severity = "high"
regex = ['^crash-header (?P<error>\w+)', '^(?P<error>\w*Error): ']
unless = { regex = 'Stopping app:(?P<app>\w+)', within = "5s", every = true, scope = "app", for_regex = [2] }
context = { regex = 'App \[(?P<app>\w+):(?P<pm_id>\d+)\] exited with code \[(?P<code>[1-9]\d*)\]', after = "3s", scope = "app", require = true, for_regex = [2] }
fix = "f"

[[rule]]
id = "t.farm"
title = "{farm}"
severity = "medium"
regex = 'broken:(?P<farm>\w+)'
unless = { regex = 'lost 1100', within = "1m", every = true }
fix = "f"

[[rule]]
id = "t.abort"
title = "{app}"
severity = "high"
regex = 'App \[(?P<app>\w+):\d+\] exited via SIGABRT'
unless = { regex = 'heap out of memory', within = "5s", scope = "app" }
fix = "f"
"#;

    fn app_rules() -> RuleSet {
        compile_all(&[("t.toml".into(), APP_PACK.into())]).expect("rules")
    }

    const PM2: usize = 0;
    const API_ERR: usize = 1;
    const WEB_ERR: usize = 2;
    const PATHS: [&str; 3] = ["pm2.log", "logs/api-error.log", "logs/web-error.log"];

    fn paths() -> Vec<String> {
        PATHS.iter().map(|p| p.to_string()).collect()
    }

    /// An event of rule `rule` in `role` (shape `shape`), in `source` at
    /// `line`, at `ms` (None: untimed), of app `app`, with `fields`.
    fn at(rule: u32, role: Role, shape: u8, source: usize, line: u64, ms: Option<i64>, app: &str) -> Event {
        Event {
            rule,
            role,
            shape: shape.into(),
            source,
            line,
            ts: ms.into(),
            day_time: None,
            app: Some(Arc::from(app)),
            stream: Stream::Err,
            fields: Default::default(),
            text: Arc::from(""),
        }
    }

    /// `api` prints an error (regex 2) at `ms` in its error log.
    fn print(line: u64, ms: Option<i64>) -> Event {
        at(0, Role::Start, 1, API_ERR, line, ms, "api")
    }

    /// pm2.log: `app` exited with code 1 at `ms`.
    fn exit(line: u64, ms: i64, app: &str) -> Event {
        let mut e = at(0, Role::Context(1), 0, PM2, line, Some(ms), app);
        e.fields = vec![
            (Arc::from("app"), Arc::from(app)),
            (Arc::from("pm_id"), Arc::from("0")),
            (Arc::from("code"), Arc::from("1")),
        ]
        .into();
        e
    }

    fn stop(line: u64, ms: i64, app: &str) -> Event {
        at(0, Role::Context(0), 0, PM2, line, Some(ms), app)
    }

    /// Scans `events` as `scan` would: one list per source.
    fn scan(events: Vec<Event>) -> Vec<Event> {
        let mut sources: Vec<Vec<Event>> = vec![Vec::new(); PATHS.len()];
        for e in events {
            sources[e.source].push(e);
        }
        let mut out: Vec<Event> = apply(&app_rules(), sources, &paths()).into_iter().flatten().collect();
        out.sort_by_key(|e| (e.source, e.line));
        out
    }

    fn places(events: &[Event]) -> Vec<(usize, u64)> {
        events.iter().map(|e| (e.source, e.line)).collect()
    }

    /// pm2.log stamps whole seconds, the app's logger milliseconds: the
    /// exit "at 55" was written after the print at 55.804, and counts as
    /// after it.
    #[test]
    fn an_error_print_counts_with_an_exit_of_its_app_in_another_file() {
        let got = scan(vec![exit(1, 55_000, "api"), print(7, Some(55_804))]);
        assert_eq!(places(&got), [(API_ERR, 7)]);
        assert_eq!(field(&got[0].fields, "code"), Some("1"), "the exit lends its code");
        assert_eq!(field(&got[0].fields, "pm_id"), Some("0"));
        // The exit comes 2.9 s later: still its crash.
        assert_eq!(places(&scan(vec![print(7, Some(55_804)), exit(1, 58_700, "api")])), [(API_ERR, 7)]);
    }

    #[test]
    fn an_error_print_without_a_close_exit_of_its_app_is_dropped() {
        // No exit at all: the app kept running.
        assert!(scan(vec![print(7, Some(55_804))]).is_empty());
        // The exit came 3 s or more later, or long before.
        assert!(scan(vec![print(7, Some(55_000)), exit(1, 58_000, "api")]).is_empty());
        assert!(scan(vec![exit(1, 20_000, "api"), print(7, Some(55_804))]).is_empty());
        // Another app exited.
        assert!(scan(vec![print(7, Some(55_804)), exit(1, 56_000, "web")]).is_empty());
    }

    /// `for_regex = [2]`: the crash header counts without an exit, and is
    /// not excused by a stop.
    #[test]
    fn entries_apply_to_the_regexes_they_name() {
        let header = at(0, Role::Start, 0, API_ERR, 3, Some(10_000), "api");
        let got = scan(vec![stop(1, 9_000, "api"), header.clone()]);
        assert_eq!(places(&got), [(API_ERR, 3)]);
        assert!(got[0].fields.is_empty(), "nothing lent");
    }

    /// A deliberate stop excuses every print of its app in the 5 s after
    /// it (`every = true`), not the one after, nor another app's.
    #[test]
    fn a_stop_excuses_every_print_within_its_window() {
        let web_print = at(0, Role::Start, 1, WEB_ERR, 2, Some(11_500), "web");
        let got = scan(vec![
            stop(1, 10_000, "api"),
            exit(2, 11_000, "api"),
            exit(3, 11_000, "web"),
            print(4, Some(10_400)),
            print(5, Some(10_900)),
            web_print,
            print(6, Some(15_100)),
            exit(4, 16_000, "api"),
        ]);
        assert_eq!(places(&got), [(API_ERR, 6), (WEB_ERR, 2)]);
    }

    /// The app stage reads every file of the app in one order: the result
    /// does not depend on the order the sources are listed in.
    #[test]
    fn the_order_of_sources_does_not_matter() {
        let events = vec![
            stop(1, 10_000, "api"),
            exit(2, 12_000, "api"),
            print(3, Some(11_000)),
            print(4, Some(30_200)),
            exit(3, 30_000, "api"),
            print(5, Some(40_000)),
        ];
        let want = scan(events.clone());
        assert_eq!(places(&want), [(API_ERR, 4)]);
        let mut sources: Vec<Vec<Event>> = vec![Vec::new(); PATHS.len()];
        for e in events {
            sources[e.source].push(e);
        }
        sources.reverse();
        let mut got: Vec<Event> = apply(&app_rules(), sources, &paths()).into_iter().flatten().collect();
        got.sort_by_key(|e| (e.source, e.line));
        assert_eq!(got, want);
    }

    #[test]
    fn an_every_unless_excuses_every_match_of_its_window() {
        let farm = |line, ms: Option<i64>| at(1, Role::Start, 0, API_ERR, line, ms, "ib");
        let lost = |line, ms: Option<i64>| at(1, Role::Context(0), 0, API_ERR, line, ms, "ib");
        let got = scan(vec![
            farm(1, Some(0)),
            lost(2, Some(1_000)),
            farm(3, Some(3_000)),
            farm(4, Some(3_000)),
            farm(5, Some(60_999)),
            farm(6, Some(61_000)),
        ]);
        assert_eq!(places(&got), [(API_ERR, 1), (API_ERR, 6)]);
        // Without times, every later match of the file.
        let got = scan(vec![farm(1, None), lost(2, None), farm(3, None), farm(4, None)]);
        assert_eq!(places(&got), [(API_ERR, 1)]);
    }

    /// pm2.log has times, the app's log (pm2's default) none: the prints
    /// pair with the app's exits one to one, from the end of the logs.
    #[test]
    fn untimed_prints_pair_with_exits_by_count_from_the_end() {
        let prints = || vec![print(4, None), print(5, None), print(6, None)];
        // One exit: the last print is its crash, the earlier ones had none.
        let got = scan([prints(), vec![exit(9, 50_000, "api")]].concat());
        assert_eq!(places(&got), [(API_ERR, 6)]);
        assert_eq!(field(&got[0].fields, "code"), Some("1"), "the exit lends its code");
        // Three exits, three crashes; another app's exits pair with nothing.
        let exits = vec![exit(1, 10_000, "api"), exit(2, 20_000, "api"), exit(3, 30_000, "api")];
        assert_eq!(places(&scan([prints(), exits].concat())), [(API_ERR, 4), (API_ERR, 5), (API_ERR, 6)]);
        assert!(scan([prints(), vec![exit(9, 50_000, "web")]].concat()).is_empty());
        // An `every` unless needs a window: a stop cannot excuse an untimed
        // print.
        let got = scan([prints(), vec![stop(8, 49_000, "api"), exit(9, 50_000, "api")]].concat());
        assert_eq!(places(&got), [(API_ERR, 6)]);
    }

    /// A file holding both the prints and the exits (a `pm2 logs` capture
    /// without times) pairs them by its own order, whatever other files
    /// hold.
    #[test]
    fn a_file_holding_both_pairs_them_itself() {
        let mut own_exit = exit(2, 0, "api");
        own_exit.source = API_ERR;
        own_exit.ts = crate::matcher::Ts::NONE;
        let got = scan(vec![print(1, None), own_exit, print(3, None), exit(9, 50_000, "api")]);
        assert_eq!(places(&got), [(API_ERR, 1)]);
    }

    /// V8's heap OOM in an untimed error log excuses one SIGABRT of its app
    /// in pm2.log: the last.
    #[test]
    fn an_untimed_unless_excuses_one_start_event_of_another_file() {
        let abort = |line, ms| {
            let mut e = at(2, Role::Start, 0, PM2, line, Some(ms), "api");
            e.fields = vec![(Arc::from("app"), Arc::from("api"))].into();
            e
        };
        let oom = |line, ms| at(2, Role::Context(0), 0, API_ERR, line, ms, "api");
        let got = scan(vec![abort(1, 10_000), abort(2, 90_000), oom(7, None)]);
        assert_eq!(places(&got), [(PM2, 1)]);
        // With times on both sides, time decides.
        let got = scan(vec![abort(1, 10_000), abort(2, 90_000), oom(7, Some(9_500))]);
        assert_eq!(places(&got), [(PM2, 2)]);
    }

    /// `watch` reads the files as they are written, a poll at a time, the
    /// pm2.log lines of a second often before the app's: whatever the
    /// polls, it decides what `scan` does.
    #[test]
    fn the_app_stage_decides_in_watch_as_in_scan() {
        let events = vec![
            exit(1, 55_000, "api"),
            print(1, Some(55_804)),
            stop(2, 60_000, "api"),
            print(2, Some(60_300)),
            exit(3, 61_000, "api"),
            print(3, Some(70_000)),
            exit(4, 75_000, "api"),
            print(4, Some(80_100)),
            exit(5, 80_000, "web"),
            at(0, Role::Start, 0, API_ERR, 5, Some(81_000), "api"),
        ];
        let want = scan(events.clone());
        assert_eq!(places(&want), [(API_ERR, 1), (API_ERR, 5)]);
        let rules = app_rules();
        let paths = paths();
        for poll in 1..=events.len() {
            let mut r = Resolver::default();
            let mut got = Vec::new();
            for chunk in events.chunks(poll) {
                let now = chunk.iter().filter_map(|e| e.ts.get()).max().unwrap_or(0);
                for e in chunk {
                    r.push(&rules, &paths[e.source], e.clone(), now, &mut |e, _| got.push(e));
                }
                r.release(&rules, Some(now), now, &mut |e, _| got.push(e));
                r.prune(&rules, now);
            }
            r.finish(&rules, &mut |e, _| got.push(e));
            got.sort_by_key(|e| (e.source, e.line));
            assert_eq!(got, want, "polls of {poll}");
        }
    }

    /// A print read just before `watch` stopped, and the exit read after it
    /// started again: the print waits in the state file.
    #[test]
    fn a_print_waiting_for_its_exit_survives_a_restart() {
        let rules = app_rules();
        let paths = paths();
        let mut r = Resolver::default();
        let fail = &mut |e: Event, _| panic!("decided too early: {e:?}");
        r.push(&rules, &paths[API_ERR], print(7, Some(55_804)), 55_900, fail);
        r.release(&rules, Some(55_900), 55_900, fail);
        let held = r.held();
        assert_eq!(places(&held.iter().map(|h| h.0.clone()).collect::<Vec<_>>()), [(API_ERR, 7)]);
        let mut again = Resolver::default();
        for (e, at) in held {
            again.restore(&rules, &paths[e.source], e, at, fail);
        }
        let mut got = Vec::new();
        again.push(&rules, &paths[PM2], exit(1, 56_000, "api"), 56_100, &mut |e, _| got.push(e));
        again.release(&rules, Some(60_000), 60_000, &mut |e, _| got.push(e));
        assert_eq!(places(&got), [(API_ERR, 7)]);
        // Without the exit it is dropped once its window has settled.
        let mut alone = Resolver::default();
        alone.push(&rules, &paths[API_ERR], print(7, Some(55_804)), 55_900, fail);
        alone.release(&rules, Some(60_805), 60_805, fail);
        assert!(alone.held().is_empty());
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
        held.into_iter().for_each(|(e, at)| again.restore(&rules, "out.log", e, at, fail));
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
