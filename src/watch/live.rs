//! Incremental correlation: matches arrive a poll at a time, incidents
//! leave as soon as their rule decides, each once. Owns the matches still
//! needed per (rule, key) group, the ids already emitted, and when each
//! rule's decision falls due. Hands on new [`Incident`]s in report order.
//!
//! Each poll re-runs the batch stages ([`correlate::correlate`] and
//! [`incidents::build`]) on the groups that changed, or whose absence
//! window fell due, so a decision in watch mode is the decision `scan`
//! makes on the same matches:
//!
//! - `single`, `threshold`, `sequence`: a finding exists only once the rule
//!   has decided (a match; the count reached; the pair closed), so it is
//!   emitted when it first appears. An unclosed sequence is never reported,
//!   as in `scan`.
//! - `absence`: a finding whose window is still open is held back until the
//!   window has passed with no closing event, judged against the wall
//!   clock (or the latest log time, if ahead), since time passes while the
//!   log is quiet.
//!
//! A match whose log has no timestamps stands at the wall-clock time it was
//! read ([`Kept::arrived`]): windows apply to it as they do to a timed one,
//! but only against untimed matches of its own file, as `scan` judges them
//! ([`correlate::correlate_arrived`]). Matches read together (a first
//! `--from-start` read, the catch-up after a restart) stand at one instant,
//! which is how `scan` places every untimed match of a file, so the two
//! agree on them; lines read as they are written are judged by when they
//! came, which `scan` cannot know.
//!
//! A match whose log has times of day but no date stands at that time on
//! its file's own clock ([`Event::day_time`]), as in `scan`, against the
//! matches of its file only. That clock's now is the latest such time read
//! from the file plus the wall-clock time since it was read, so an absence
//! window on it passes while the log is quiet, as on log times.
//!
//! An incident that grows after it was emitted keeps its id (rule, key,
//! first match) and is not emitted again. When its first match moves (a
//! line from another file arrives late with an earlier time), the finding
//! still holds matches already emitted, and that marks it as the same
//! incident.
//!
//! An emitted incident also *ends* ([`Ended`], for `watch --alertmanager`
//! to resolve its alert), by what correlation already knows: an absence
//! when its closing event arrives (the restore after a disconnect); a
//! `single` or `threshold` incident when its group has been quiet for the
//! rule's horizon (window + suppress), the gap after which its next match
//! would start a new incident. A `sequence` incident is closed when it is
//! emitted.
//!
//! Memory stays bounded: no incident spans a gap longer than its rule's
//! window + suppress (its *horizon*), so matches before such a gap, and
//! groups silent for a horizon, are dropped once decided. `single` rules
//! without `suppress` get the largest horizon of the pack (at least 1h) as
//! their suppress: a key silent that long starts a new incident. Within an
//! incident that goes on (a crash loop all day), a `single` group keeps its
//! first and last match and a `threshold` group the matches of its last
//! window: a new match less than the window (or suppress) after an emitted
//! one belongs to that incident, as `scan` would chain or absorb it, and is
//! marked so when it arrives.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::correlate::context::Resolver;
use crate::correlate::{self, Finding, closers};
use crate::incidents::{self, Incident};
use crate::matcher::Event;
use crate::records::{DayTime, Zone};
use crate::rules::{Correlation, Role, RuleSet, Window};

const HOUR: i64 = 3_600_000;
/// The longest window a rule may have; a default suppress is capped to it.
const MAX_WINDOW: i64 = 31 * 24 * HOUR;
/// Log times further ahead of the clock than this are not trusted to move
/// time forward (a wrong `--log-tz` would otherwise close every window).
const SKEW: i64 = 60_000;
/// Emitted ids are remembered this long after they were last seen, at least.
const MIN_ID_TTL: i64 = 24 * HOUR;

/// A match kept for correlation, as the state file stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The match.
    pub event: Event,
    /// Wall-clock ms when it was read: the time of matches whose log has
    /// no timestamps.
    pub arrived: i64,
    /// Whether it belongs to an incident already emitted.
    pub known: bool,
    /// A start event its rule's context had not decided yet (it waited for
    /// an `after` entry, or for the app stage): read again on restore.
    pub waiting: bool,
}

type GroupKey = (u32, Vec<String>);

/// An emitted incident the log shows over: the incidents of `rule` with
/// group key `key` that began by `last` have ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The rule id.
    pub rule: String,
    /// The group key, as incidents carry it.
    pub key: BTreeMap<String, String>,
    /// Its last sign (ms): the closing event, or the last match before
    /// the quiet. Log time, or the wall-clock time it was read where the
    /// log has no dates.
    pub last: i64,
}

/// (source, line, role): a match's identity within its group.
type Mark = (usize, u64, Role);

/// A match held, with the wall-clock ms it was read.
type Held = (Event, i64);

#[derive(Debug, Default)]
struct Group {
    held: Vec<(Event, i64)>,
    known: BTreeSet<Mark>,
    dirty: bool,
    /// When the earliest absence window still open closes.
    deadline: Option<i64>,
    /// The ends already told (by their last time), so each is told once.
    told: BTreeSet<i64>,
}

/// The correlation state of a running `watch`.
#[derive(Debug)]
pub struct Live {
    /// Marked [`RuleSet::with_context_resolved`]: matches are read against
    /// their rule's context as they arrive, by `context`.
    rules: Arc<RuleSet>,
    /// Context events still within their window, and start events waiting
    /// for an `after` context.
    context: Resolver,
    horizon: Vec<i64>,
    zone: Zone,
    groups: BTreeMap<GroupKey, Group>,
    latest_ts: Option<i64>,
    known_ids: BTreeMap<String, i64>,
    id_ttl: i64,
    skew_noted: bool,
    notes: Vec<String>,
    /// Per source with times of day but no date: the largest time on its
    /// own clock minus the wall-clock ms it was read; that clock's now is
    /// this plus the wall clock's.
    day_offsets: BTreeMap<usize, i64>,
    /// Sources whose offset grew in this poll: their clock jumped, so
    /// their open windows are judged again.
    days_moved: BTreeSet<usize>,
    /// Incidents found over since the last [`Live::take_ended`].
    ended: Vec<Ended>,
}

impl Live {
    /// Correlates with `rules`; `zone` renders times.
    pub fn new(rules: &RuleSet, zone: Zone) -> Live {
        let spans: Vec<i64> = rules.rules().iter().map(|r| span(&r.correlate, r.suppress.as_ref())).collect();
        let longest = spans.iter().copied().max().unwrap_or(0).clamp(HOUR, MAX_WINDOW);
        let default = Window::parse(&format!("{longest}ms")).ok();
        let rules = match &default {
            Some(w) => rules.with_default_suppress(w),
            None => rules.clone(),
        };
        // A start event is keyed by fields its context may lend (pm2's
        // errored line names no app): context is read before grouping, once.
        let rules = rules.with_context_resolved();
        let horizon = spans.iter().map(|&s| if s == 0 { longest } else { s }).collect();
        Live {
            rules: Arc::new(rules),
            context: Resolver::default(),
            horizon,
            zone,
            groups: BTreeMap::new(),
            latest_ts: None,
            known_ids: BTreeMap::new(),
            id_ttl: (2 * longest).max(MIN_ID_TTL),
            skew_noted: false,
            notes: Vec::new(),
            day_offsets: BTreeMap::new(),
            days_moved: BTreeSet::new(),
            ended: Vec::new(),
        }
    }

    /// Takes the matches of one poll (`now`: wall-clock ms); returns the
    /// incidents decided since the last call, in report order. `paths`
    /// names source ids.
    pub fn advance(&mut self, events: Vec<Event>, paths: &[String], now: i64) -> Vec<Incident> {
        for ev in events {
            self.add(ev, paths, now);
        }
        let log_now = self.latest_ts.map(|t| t.min(now + SKEW));
        let end = log_now.map_or(now, |t| t.max(now));
        let mut decided = Vec::new();
        self.context.release(&self.rules, log_now, now, &mut |e, at| decided.push((e, at)));
        for (ev, arrived) in decided {
            self.add_decided(ev, paths, arrived);
        }
        let mut fresh = Vec::new();
        let judge = Judge { rules: &self.rules, paths, end, now, zone: self.zone, day_offsets: &self.day_offsets };
        let moved = std::mem::take(&mut self.days_moved);
        let mut closed = Vec::new();
        for (key, g) in self.groups.iter_mut() {
            let jumped = || g.deadline.is_some() && g.held.iter().any(|(e, _)| moved.contains(&e.source));
            if g.dirty || g.deadline.is_some_and(|d| d <= end) || (!moved.is_empty() && jumped()) {
                fresh.extend(judge.evaluate(key.0, g, &mut self.known_ids, &mut closed));
            }
        }
        self.quiet(end, now, &mut closed);
        for (rule, key, last) in closed {
            let r = &self.rules.rules()[rule as usize];
            let key = r.group_by.iter().cloned().zip(key).collect();
            self.ended.push(Ended { rule: r.id.clone(), key, last });
        }
        // Before pruning: a group quiet for its horizon is told ended
        // above, then dropped.
        self.prune(log_now, now);
        incidents::build(&self.rules, &fresh, paths, self.zone)
    }

    /// Emitted incidents found over since the last call (see [`Ended`]).
    pub fn take_ended(&mut self) -> Vec<Ended> {
        std::mem::take(&mut self.ended)
    }

    /// Emitted `single` and `threshold` incidents whose group has been
    /// quiet for the rule's horizon on its clock (`end`: where log time
    /// stands; `now`: the wall clock), or that a gap of a horizon
    /// separates from the group's later matches, each told once into
    /// `closed` as (rule, key, last time).
    fn quiet(&mut self, end: i64, now: i64, closed: &mut Vec<(u32, Vec<String>, i64)>) {
        for ((rule, key), g) in self.groups.iter_mut() {
            let c = &self.rules.rules()[*rule as usize].correlate;
            if !matches!(c, Correlation::Single | Correlation::Threshold { .. }) || g.known.is_empty() {
                continue;
            }
            let h = self.horizon[*rule as usize];
            let mut by_lane: BTreeMap<Lane, Vec<i64>> = BTreeMap::new();
            for held in g.held.iter().filter(|h| g.known.contains(&mark(&h.0))) {
                by_lane.entry(lane(&held.0)).or_default().push(time_of(held));
            }
            for (lane, mut times) in by_lane {
                // A lane's now, and how far its clock runs ahead of the
                // wall clock (a file's own clock of times of day).
                let (lane_now, offset) = match lane {
                    Lane::Log => (end, 0),
                    Lane::Read(_) => (now, 0),
                    Lane::Day(source) => {
                        let o = self.day_offsets.get(&source).copied().unwrap_or_default();
                        (now + o, o)
                    }
                };
                times.sort_unstable();
                let ends = times.windows(2).filter(|w| w[1] - w[0] >= h).map(|w| w[0]);
                let last = times.last().copied().filter(|&t| t + h <= lane_now);
                for t in ends.chain(last) {
                    if g.told.insert(t) {
                        closed.push((*rule, key.clone(), t - offset));
                    }
                }
            }
        }
    }

    /// Matches held, for the state file.
    pub fn kept(&self) -> Vec<Kept> {
        // Context events and start events still waiting for theirs come
        // first; see [`Live::restore`].
        let held = self.context.held().into_iter();
        let mut out: Vec<Kept> = held
            .map(|(event, arrived)| Kept { waiting: event.role == Role::Start, event, arrived, known: false })
            .collect();
        for g in self.groups.values() {
            for (event, arrived) in &g.held {
                let known = g.known.contains(&mark(event));
                out.push(Kept { event: event.clone(), arrived: *arrived, known, waiting: false });
            }
        }
        out
    }

    /// Ids emitted (or known to be the same incident as one emitted), with
    /// the wall-clock ms they were last seen.
    pub fn emitted(&self) -> impl Iterator<Item = (&str, i64)> {
        self.known_ids.iter().map(|(id, seen)| (id.as_str(), *seen))
    }

    /// Puts back what a previous run saved. Every group is judged again on
    /// the next [`Live::advance`]: matches already emitted are not emitted
    /// again, and absence windows that closed meanwhile are decided.
    pub fn restore(&mut self, kept: Vec<Kept>, emitted: Vec<(String, i64)>, paths: &[String]) {
        self.known_ids.extend(emitted);
        let mut wide = Vec::new();
        let mut decided = Vec::new();
        for k in kept {
            // Context events are held again, and start events their context
            // had not decided are read again (after the context events, which
            // come first).
            if matches!(k.event.role, Role::Context(_)) || k.waiting {
                let file = paths.get(k.event.source).map_or("", String::as_str);
                self.context.restore(&self.rules, file, k.event, k.arrived, &mut |e, at| decided.push((e, at)));
                continue;
            }
            let key = correlate::group_key(&self.rules.rules()[k.event.rule as usize], &k.event, paths);
            self.latest_ts = self.latest_ts.max(k.event.ts.get());
            self.saw_day_time(&k.event, k.arrived);
            let spreads = k.event.role == Role::End && closers::is_wide(&key);
            let g = self.groups.entry((k.event.rule, key.clone())).or_default();
            // A closer for several groups was saved once per group it
            // joined: keep one, and let it join them again below.
            if spreads && g.held.iter().any(|(e, _)| mark(e) == mark(&k.event)) {
                continue;
            }
            if k.known {
                g.known.insert(mark(&k.event));
            }
            if spreads {
                wide.push((key, k.event.clone(), k.arrived));
            }
            g.held.push((k.event, k.arrived));
            g.dirty = true;
        }
        for (key, ev, arrived) in wide {
            self.spread(&key, &ev, arrived);
        }
        for (ev, arrived) in decided {
            self.latest_ts = self.latest_ts.max(ev.ts.get());
            self.add_decided(ev, paths, arrived);
        }
    }

    /// A closing event that speaks for several groups of its rule (TWS's
    /// "All data farms are connected"; see [`closers`]) joins every open
    /// group it closes, once.
    fn spread(&mut self, key: &[String], ev: &Event, arrived: i64) {
        for ((rule, k), g) in self.groups.range_mut((ev.rule, Vec::new())..) {
            if *rule != ev.rule {
                break;
            }
            if k.as_slice() != key && closers::closes(key, k) && !g.held.iter().any(|(e, _)| mark(e) == mark(ev)) {
                g.held.push((ev.clone(), arrived));
                g.dirty = true;
            }
        }
    }

    /// What the reader should know (once each): log times ahead of the
    /// clock.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Reads a new match against its rule's context; what that decides is
    /// grouped.
    fn add(&mut self, ev: Event, paths: &[String], now: i64) {
        if let Some(ts) = ev.ts.get()
            && ts > now + SKEW
            && !std::mem::replace(&mut self.skew_noted, true)
        {
            let path = paths.get(ev.source).map_or("?", String::as_str);
            self.notes.push(format!(
                "{path}:{}: the log's time is {}s ahead of this machine's clock; windows are judged by the clock, \
                 so set --log-tz to the zone pm2 writes in",
                ev.line,
                (ts - now) / 1000
            ));
        }
        self.latest_ts = self.latest_ts.max(ev.ts.get());
        let mut decided = Vec::new();
        let file = paths.get(ev.source).map_or("", String::as_str);
        self.context.push(&self.rules, file, ev, now, &mut |e, at| decided.push((e, at)));
        for (ev, arrived) in decided {
            self.add_decided(ev, paths, arrived);
        }
    }

    /// Moves the clock of `ev`'s file on, if it is a file of times of day
    /// without a date; `arrived` is when `ev` was read.
    fn saw_day_time(&mut self, ev: &Event, arrived: i64) {
        if let Some(t) = ev.day_time {
            let offset = t.ms() - arrived;
            let known = self.day_offsets.entry(ev.source).or_insert(i64::MIN);
            if offset > *known {
                *known = offset;
                self.days_moved.insert(ev.source);
            }
        }
    }

    /// Groups a match its context has decided on; `arrived` is when it was
    /// read (the time of matches whose log has no timestamps).
    fn add_decided(&mut self, ev: Event, paths: &[String], arrived: i64) {
        self.saw_day_time(&ev, arrived);
        let rule = &self.rules.rules()[ev.rule as usize];
        let key = correlate::group_key(rule, &ev, paths);
        if ev.role == Role::End && closers::is_wide(&key) {
            self.spread(&key, &ev, arrived);
        }
        let rule = &self.rules.rules()[ev.rule as usize];
        let follows = follows_within(&rule.correlate, rule.suppress.as_ref());
        let g = self.groups.entry((ev.rule, key)).or_default();
        // The last match on the same clock: log times, or this file's reads.
        let same_lane = g.held.iter().filter(|h| lane(&h.0) == lane(&ev));
        if let (Some(w), Some(last)) = (follows, same_lane.max_by_key(|h| time_of(h)))
            && g.known.contains(&mark(&last.0))
            && time(&ev, arrived) - time_of(last) < w
        {
            g.known.insert(mark(&ev));
        }
        g.held.push((ev, arrived));
        g.dirty = true;
    }

    /// Drops what can no longer change an incident: matches before a gap
    /// of a horizon, groups silent for a horizon, and the middle of
    /// `single` groups; then ids not seen for a long time. Each clock of a
    /// group (log times; each untimed file's reads) is pruned on its own.
    fn prune(&mut self, log_now: Option<i64>, now: i64) {
        if let Some(t) = log_now {
            self.context.prune(&self.rules, t);
        }
        for ((rule, _), g) in self.groups.iter_mut() {
            // An open absence window keeps everything until it is decided.
            if g.deadline.is_some() {
                continue;
            }
            let h = self.horizon[*rule as usize];
            let correlation = &self.rules.rules()[*rule as usize].correlate;
            let lanes: Vec<(Lane, Vec<Held>)> = match g.held.first().map(|h| lane(&h.0)) {
                // Most groups have one clock: no regrouping.
                Some(one) if g.held.iter().all(|h| lane(&h.0) == one) => vec![(one, std::mem::take(&mut g.held))],
                _ => {
                    let mut by_lane: BTreeMap<Lane, Vec<Held>> = BTreeMap::new();
                    for held in g.held.drain(..) {
                        by_lane.entry(lane(&held.0)).or_default().push(held);
                    }
                    by_lane.into_iter().collect()
                }
            };
            for (lane, mut held) in lanes {
                let reference = match lane {
                    Lane::Log => log_now,
                    Lane::Day(source) => self.day_offsets.get(&source).map(|o| o + now),
                    Lane::Read(_) => Some(now),
                };
                for (e, _) in prune_lane(correlation, h, reference, &mut held) {
                    g.known.remove(&mark(&e));
                }
                g.held.append(&mut held);
            }
        }
        self.groups.retain(|_, g| !g.held.is_empty());
        if !self.day_offsets.is_empty() {
            let held: BTreeSet<usize> =
                self.groups.values().flat_map(|g| g.held.iter()).filter_map(|(e, _)| lane(e).day_source()).collect();
            self.day_offsets.retain(|source, _| held.contains(source));
        }
        let ttl = self.id_ttl;
        self.known_ids.retain(|_, seen| now - *seen < ttl);
    }
}

/// [`Live::prune`] on one clock's matches (`reference`: that clock's now);
/// returns what it dropped.
fn prune_lane(c: &Correlation, h: i64, reference: Option<i64>, held: &mut Vec<(Event, i64)>) -> Vec<(Event, i64)> {
    held.sort_by_key(|(e, arrived)| (time(e, *arrived), e.source, e.line));
    let gap = (1..held.len()).rev().find(|&i| time_of(&held[i]) - time_of(&held[i - 1]) >= h);
    let mut dropped: Vec<(Event, i64)> = held.drain(..gap.unwrap_or(0)).collect();
    let silent = held.last().is_some_and(|last| reference.is_some_and(|r| time_of(last) + h <= r));
    if silent {
        dropped.append(held);
    } else {
        dropped.extend(compact(c, held));
    }
    dropped
}

/// What one poll judges groups with.
struct Judge<'a> {
    rules: &'a RuleSet,
    paths: &'a [String],
    /// Where open windows are judged: the clock, or the log if ahead.
    end: i64,
    /// Wall-clock ms, for the ids' last-seen times.
    now: i64,
    zone: Zone,
    /// See [`Live::day_offsets`].
    day_offsets: &'a BTreeMap<usize, i64>,
}

impl Judge<'_> {
    /// Correlates one group and returns its findings decided and not
    /// emitted before; marks their matches (and new ids) as emitted.
    /// An absence incident emitted before whose closing event has come is
    /// told ended into `closed` as (rule, key, closing time).
    fn evaluate(
        &self,
        rule: u32,
        g: &mut Group,
        known_ids: &mut BTreeMap<String, i64>,
        closed: &mut Vec<(u32, Vec<String>, i64)>,
    ) -> Vec<Finding> {
        g.dirty = false;
        g.deadline = None;
        let days = g.held.iter().filter_map(|(e, _)| lane(e).day_source());
        let days = days.filter_map(|s| Some((s, self.day_offsets.get(&s)? + self.now))).collect();
        let end = correlate::End { log: Some(self.end), days };
        let findings = correlate::correlate_arrived(self.rules, g.held.clone(), self.paths, end);
        let mut fresh = Vec::new();
        for mut f in findings {
            let at = |e: &Event| time_in(g, e);
            // An untimed window runs on the clock alone: log times ahead of
            // it must not close it early. A file's own clock runs `offset`
            // ahead of the wall clock.
            let offset = match f.events.first().map(lane) {
                Some(Lane::Day(source)) => self.day_offsets.get(&source).copied().unwrap_or_default(),
                _ => 0,
            };
            let end = match f.events.first().map(lane) {
                Some(Lane::Log) | None => self.end,
                Some(_) => self.now + offset,
            };
            if let Some(due) = open_until(&self.rules.rules()[rule as usize].correlate, &f, end, at) {
                let due = due - offset;
                g.deadline = Some(g.deadline.map_or(due, |d| d.min(due)));
                continue;
            }
            let close_at = f.events.iter().find(|e| e.role == Role::End).map(|e| at(e) - offset);
            let Some(id) = self.id_of(&f) else { continue };
            let emitted = known_ids.get_mut(&id).map(|seen| *seen = self.now).is_some();
            let continues = f.events.iter().any(|e| g.known.contains(&mark(e)));
            g.known.extend(f.events.iter().map(mark));
            let absence = matches!(self.rules.rules()[rule as usize].correlate, Correlation::Absence { .. });
            if absence
                && (emitted || continues)
                && let Some(t) = close_at
                && g.told.insert(t)
            {
                closed.push((rule, f.key.iter().map(|(_, v)| v.clone()).collect(), t));
            }
            if !emitted && !continues {
                known_ids.insert(id, self.now);
                if absence && matches!(f.events.first().map(lane), Some(Lane::Log)) {
                    judged_at(&mut f.facts, end, self.zone);
                }
                fresh.push(f.folded(self.rules));
            }
        }
        fresh
    }

    /// The stable id the incident of `f` gets (built the one way `scan`
    /// builds it).
    fn id_of(&self, f: &Finding<Vec<Event>>) -> Option<String> {
        incidents::build(self.rules, &[f.folded(self.rules)], self.paths, self.zone).pop().map(|i| i.id)
    }
}

/// What `scan` calls "not recovered by end of log" is, in `watch`, not
/// recovered by the time the window was judged (`end`, ms), shown in
/// `zone`: the log has not ended.
fn judged_at(facts: &mut [(String, String)], end: i64, zone: Zone) {
    const OPEN: &str = "not recovered by end of log";
    let Some(at) = chrono::DateTime::from_timestamp_millis(end) else { return };
    let at = at.with_timezone(&zone.offset_at(end)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for (name, value) in facts.iter_mut() {
        if name == "status"
            && let Some(rest) = value.strip_prefix(OPEN)
        {
            *value = format!("not recovered by {at}{rest}");
        }
    }
}

/// For an absence finding whose window is still open at `end`: when it
/// closes. `None` once the rule has decided. `at` places a match (its log
/// time, or when it was read).
fn open_until(c: &Correlation, f: &Finding<Vec<Event>>, end: i64, at: impl Fn(&Event) -> i64) -> Option<i64> {
    let Correlation::Absence { window, .. } = c else { return None };
    if f.events.iter().any(|e| e.role == Role::End) {
        return None;
    }
    let due = at(f.events.first()?) + window.ms();
    (due > end).then_some(due)
}

/// Where `e` of group `g` stands: its log time, its time on its file's
/// own clock, or when it was read.
fn time_in(g: &Group, e: &Event) -> i64 {
    e.ts.get()
        .or(e.day_time.map(DayTime::ms))
        .or_else(|| g.held.iter().find(|(h, _)| mark(h) == mark(e)).map(|(_, arrived)| *arrived))
        .unwrap_or_default()
}

/// Drops the matches of a decided, time-sorted group that cannot change
/// what is emitted next: the middle of a `single` group (its first match
/// keeps the id, its last the quiet gap), and for `threshold` all but the
/// last window (a new burst needs its count within one window of a new
/// match; one following an emitted match is marked on arrival).
fn compact(c: &Correlation, held: &mut Vec<(Event, i64)>) -> Vec<(Event, i64)> {
    let Some(last) = held.last().map(time_of) else { return Vec::new() };
    match c {
        Correlation::Single if held.len() > 2 => {
            let end = held.len() - 1;
            held.drain(1..end).collect()
        }
        Correlation::Threshold { window, .. } => {
            let old = held.iter().take_while(|h| time_of(h) <= last - window.ms()).count();
            held.drain(..old).collect()
        }
        _ => Vec::new(),
    }
}

/// For `threshold`: how soon after a match of an emitted burst a new one
/// belongs to it (`scan` chains it within the window, or absorbs it
/// within suppress).
fn follows_within(c: &Correlation, suppress: Option<&Window>) -> Option<i64> {
    match c {
        Correlation::Threshold { window, .. } => Some(window.ms().max(suppress.map_or(0, Window::ms))),
        _ => None,
    }
}

/// Window plus suppress: the longest gap inside one incident of the rule.
fn span(c: &Correlation, suppress: Option<&Window>) -> i64 {
    c.window().map_or(0, Window::ms) + suppress.map_or(0, Window::ms)
}

/// The clock a match is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Lane {
    /// Log times, every file together.
    Log,
    /// The own clock of this file of times of day without a date.
    Day(usize),
    /// The reads of this untimed file.
    Read(usize),
}

impl Lane {
    fn day_source(self) -> Option<usize> {
        match self {
            Lane::Day(source) => Some(source),
            _ => None,
        }
    }
}

fn lane(e: &Event) -> Lane {
    match (e.ts.get(), e.day_time) {
        (Some(_), _) => Lane::Log,
        (None, Some(_)) => Lane::Day(e.source),
        (None, None) => Lane::Read(e.source),
    }
}

fn mark(e: &Event) -> Mark {
    (e.source, e.line, e.role)
}

/// Where a match stands on its lane's clock (see [`lane`]).
fn time(e: &Event, arrived: i64) -> i64 {
    e.ts.get().or(e.day_time.map(DayTime::ms)).unwrap_or(arrived)
}

fn time_of(held: &(Event, i64)) -> i64 {
    time(&held.0, held.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Stream;
    use crate::rules::compile_all;

    const S: i64 = 1000;
    const T0: i64 = 1_795_168_800_000;

    fn rules() -> RuleSet {
        let pack = r#"
[[rule]]
id = "t.single"
title = "{app} crashed"
severity = "high"
regex = 'boom'
fix = "f"

[[rule]]
id = "t.loop"
title = "{app} loops {count}"
severity = "critical"
regex = 'exited'
correlate = { kind = "threshold", count = 3, window = "1m" }
suppress = "10m"
fix = "f"

[[rule]]
id = "t.lost"
title = "{app} lost: {status}"
severity = "high"
regex = 'lost'
correlate = { kind = "absence", until = 'back', window = "2m" }
fix = "f"
"#;
        compile_all(&[("t.toml".into(), pack.into())]).expect("rules")
    }

    fn ev(rule: u32, role: Role, app: &str, ts: i64, line: u64) -> Event {
        Event {
            rule,
            role,
            shape: 0.into(),
            source: 0,
            line,
            ts: Some(ts).into(),
            day_time: None,
            app: Some(app.into()),
            stream: Stream::Out,
            fields: Default::default(),
            text: format!("line {line}").into(),
        }
    }

    fn start(rule: u32, app: &str, ts: i64, line: u64) -> Event {
        ev(rule, Role::Start, app, ts, line)
    }

    fn paths() -> Vec<String> {
        vec!["logs/api-out.log".into()]
    }

    fn rules_of(incidents: &[Incident]) -> Vec<(String, usize)> {
        incidents.iter().map(|i| (i.rule.clone(), i.count)).collect()
    }

    #[test]
    fn single_is_emitted_at_once_and_growth_is_not_emitted_again() {
        let mut live = Live::new(&rules(), Zone::Utc);
        let got = live.advance(vec![start(0, "api", T0, 1)], &paths(), T0);
        assert_eq!(rules_of(&got), vec![("t.single".to_string(), 1)]);
        assert!(live.advance(vec![start(0, "api", T0 + S, 2)], &paths(), T0 + S).is_empty());
        // Another key is another incident.
        assert_eq!(live.advance(vec![start(0, "web", T0 + 2 * S, 3)], &paths(), T0 + 2 * S).len(), 1);
    }

    #[test]
    fn threshold_is_emitted_when_the_count_is_reached() {
        let mut live = Live::new(&rules(), Zone::Utc);
        assert!(live.advance(vec![start(1, "api", T0, 1), start(1, "api", T0 + S, 2)], &paths(), T0 + S).is_empty());
        let got = live.advance(vec![start(1, "api", T0 + 2 * S, 3)], &paths(), T0 + 2 * S);
        assert_eq!(rules_of(&got), vec![("t.loop".to_string(), 3)]);
        // The loop goes on: suppress folds it into the same incident.
        for i in 3..20 {
            assert!(
                live.advance(vec![start(1, "api", T0 + i * 30 * S, i as u64 + 1)], &paths(), T0 + i * 30 * S)
                    .is_empty()
            );
        }
    }

    /// A loop that goes on for hours, thinning out and flaring up again
    /// within suppress, is one incident (as `scan` absorbs it), though only
    /// its last window is kept; one after a quiet gap is another.
    #[test]
    fn a_long_loop_is_one_incident_and_a_later_one_another() {
        let mut live = Live::new(&rules(), Zone::Utc);
        let mut emitted = 0;
        let mut line = 0;
        let mut at = |live: &mut Live, t: i64| {
            line += 1;
            live.advance(vec![start(1, "api", t, line)], &paths(), t).len()
        };
        let mut t = T0;
        // Two hours of exits 20 s apart: three in every minute.
        for _ in 0..360 {
            emitted += at(&mut live, t);
            t += 20 * S;
        }
        assert_eq!(emitted, 1);
        // Sparse: never three within a minute, each within suppress.
        for _ in 0..5 {
            t += 5 * 60 * S;
            emitted += at(&mut live, t);
        }
        for _ in 0..3 {
            t += S;
            emitted += at(&mut live, t);
        }
        assert_eq!(emitted, 1);
        assert!(live.kept().len() <= 4, "{}", live.kept().len());
        t += 11 * 60 * S;
        let again: usize = (0..3).map(|i| at(&mut live, t + i * S)).sum();
        assert_eq!(again, 1);
    }

    #[test]
    fn absence_waits_for_its_window_on_the_clock() {
        let mut live = Live::new(&rules(), Zone::Utc);
        assert!(live.advance(vec![start(2, "tws", T0, 1)], &paths(), T0).is_empty());
        // Quiet log: the clock alone closes the window.
        assert!(live.advance(vec![], &paths(), T0 + 119 * S).is_empty());
        let got = live.advance(vec![], &paths(), T0 + 120 * S);
        assert_eq!(rules_of(&got), vec![("t.lost".to_string(), 1)]);
        // Judged when the window passed, by the clock: the log has not ended.
        assert_eq!(got[0].fields["status"], vec!["not recovered by 2026-11-20T10:02:00Z".to_string()]);
        // A late recovery does not emit it again.
        assert!(live.advance(vec![ev(2, Role::End, "tws", T0 + 300 * S, 9)], &paths(), T0 + 300 * S).is_empty());
    }

    fn ended_of(live: &mut Live) -> Vec<(String, String, i64)> {
        let ended = live.take_ended();
        ended.into_iter().map(|e| (e.rule, e.key.values().cloned().collect::<Vec<_>>().join(","), e.last)).collect()
    }

    /// A loop ends when its group has been quiet for the horizon (window +
    /// suppress: 11m), at its last exit, told once; a single incident
    /// likewise after the default suppress.
    #[test]
    fn a_quiet_loop_ends_at_its_last_match_after_its_horizon() {
        let mut live = Live::new(&rules(), Zone::Utc);
        let exits: Vec<Event> = (0..3).map(|i| start(1, "api", T0 + i * S, i as u64 + 1)).collect();
        assert_eq!(live.advance(exits, &paths(), T0 + 2 * S).len(), 1);
        live.advance(vec![start(1, "api", T0 + 60 * S, 4)], &paths(), T0 + 60 * S);
        let last = T0 + 60 * S;
        assert!(live.advance(vec![], &paths(), last + 11 * 60 * S - 1).is_empty());
        assert!(ended_of(&mut live).is_empty(), "not quiet long enough");
        live.advance(vec![], &paths(), last + 11 * 60 * S);
        assert_eq!(ended_of(&mut live), vec![("t.loop".to_string(), "api".to_string(), last)]);
        live.advance(vec![], &paths(), last + 12 * 60 * S);
        assert!(ended_of(&mut live).is_empty(), "told once");
    }

    /// A loop that was never emitted (two exits) never ends.
    #[test]
    fn an_unemitted_group_never_ends() {
        let mut live = Live::new(&rules(), Zone::Utc);
        live.advance(vec![start(1, "api", T0, 1), start(1, "api", T0 + S, 2)], &paths(), T0 + S);
        live.advance(vec![], &paths(), T0 + 3600 * S);
        assert!(ended_of(&mut live).is_empty());
    }

    /// An absence emitted as not recovered ends at the restore that closes
    /// it, however late.
    #[test]
    fn an_emitted_absence_ends_at_its_restore() {
        let mut live = Live::new(&rules(), Zone::Utc);
        live.advance(vec![start(2, "tws", T0, 1)], &paths(), T0);
        assert_eq!(live.advance(vec![], &paths(), T0 + 120 * S).len(), 1);
        assert!(ended_of(&mut live).is_empty(), "still out");
        live.advance(vec![ev(2, Role::End, "tws", T0 + 300 * S, 9)], &paths(), T0 + 300 * S);
        assert_eq!(ended_of(&mut live), vec![("t.lost".to_string(), "tws".to_string(), T0 + 300 * S)]);
        live.advance(vec![ev(2, Role::End, "tws", T0 + 310 * S, 10)], &paths(), T0 + 310 * S);
        assert!(ended_of(&mut live).is_empty(), "told once");
    }

    #[test]
    fn absence_recovered_in_time_is_never_emitted() {
        let mut live = Live::new(&rules(), Zone::Utc);
        assert!(live.advance(vec![start(2, "tws", T0, 1)], &paths(), T0).is_empty());
        assert!(live.advance(vec![ev(2, Role::End, "tws", T0 + 30 * S, 2)], &paths(), T0 + 30 * S).is_empty());
        assert!(live.advance(vec![], &paths(), T0 + 3600 * S).is_empty());
    }

    /// TWS's 1102 "All data farms are connected" names no farm: it closes
    /// every farm of the app that is open, in `watch` as in `scan`, and it
    /// does so again after a restart from the saved state.
    #[test]
    fn a_closer_without_the_key_field_closes_every_open_group() {
        let pack = r#"
[[rule]]
id = "t.farm"
title = "{farm} broken: {status}"
severity = "medium"
regex = 'broken:(?P<farm>\w+)'
group_by = ["app", "farm"]
correlate = { kind = "absence", until = ['OK:(?P<farm>\w+)', 'All farms OK'], window = "2m" }
fix = "f"
"#;
        let rules = compile_all(&[("t.toml".into(), pack.into())]).expect("rules");
        let farm = |role: Role, farm: Option<&str>, ts: i64, line: u64| Event {
            fields: farm.map(|f| vec![("farm".into(), f.into())].into()).unwrap_or_default(),
            ..ev(0, role, "tws", ts, line)
        };
        let mut live = Live::new(&rules, Zone::Utc);
        let opened = vec![farm(Role::Start, Some("usfarm"), T0, 1), farm(Role::Start, Some("ushmds"), T0, 2)];
        assert!(live.advance(opened, &paths(), T0).is_empty());
        assert!(live.advance(vec![farm(Role::End, None, T0 + 60 * S, 3)], &paths(), T0 + 60 * S).is_empty());
        let mut restarted = Live::new(&rules, Zone::Utc);
        restarted.restore(live.kept(), Vec::new(), &paths());
        assert!(live.advance(vec![], &paths(), T0 + 3600 * S).is_empty());
        assert!(restarted.advance(vec![], &paths(), T0 + 3600 * S).is_empty());
        // Without the closer both farms would have been reported.
        let mut unclosed = Live::new(&rules, Zone::Utc);
        unclosed.advance(
            vec![farm(Role::Start, Some("usfarm"), T0, 1), farm(Role::Start, Some("ushmds"), T0, 2)],
            &paths(),
            T0,
        );
        assert_eq!(unclosed.advance(vec![], &paths(), T0 + 3600 * S).len(), 2);
    }

    /// A line from another file arrives late with an earlier time: the
    /// incident's first match (and so its id) moves, but it is the same
    /// incident.
    #[test]
    fn a_late_earlier_match_does_not_make_a_new_incident() {
        let mut live = Live::new(&rules(), Zone::Utc);
        assert_eq!(live.advance(vec![start(0, "api", T0 + 5 * S, 7)], &paths(), T0 + 5 * S).len(), 1);
        let mut late = start(0, "api", T0, 3);
        late.source = 1;
        let two = vec!["logs/api-out.log".to_string(), "logs/api-error.log".to_string()];
        assert!(live.advance(vec![late], &two, T0 + 6 * S).is_empty());
    }

    #[test]
    fn a_key_silent_for_the_horizon_starts_a_new_incident() {
        let mut live = Live::new(&rules(), Zone::Utc);
        assert_eq!(live.advance(vec![start(0, "api", T0, 1)], &paths(), T0).len(), 1);
        // The pack's longest horizon is 10m + 1m; the default floor is 1h.
        let later = T0 + HOUR;
        assert_eq!(live.advance(vec![start(0, "api", later, 2)], &paths(), later).len(), 1);
        assert!(live.advance(vec![start(0, "api", later + S, 3)], &paths(), later + S).is_empty());
    }

    /// The README's figure: with the built-in packs, a `single` rule
    /// without suppress folds matches up to 13 h apart
    /// (tws.connectivity-restored: 12 h window + 1 h suppress).
    #[test]
    fn builtin_rules_have_a_13h_default_horizon() {
        let builtin = crate::rules::load(&crate::rules::LoadOptions { builtin: true, paths: vec![] }).expect("builtin");
        let live = Live::new(&builtin, Zone::Utc);
        let idx = builtin.rules().iter().position(|r| r.id == "node.eaddrinuse").expect("rule");
        assert!(builtin.rules()[idx].suppress.is_none());
        assert_eq!(live.horizon[idx], 13 * HOUR);
        assert_eq!(live.rules.rules()[idx].suppress.as_ref().map(Window::ms), Some(13 * HOUR));
    }

    #[test]
    fn memory_is_bounded_and_ids_are_kept() {
        let mut live = Live::new(&rules(), Zone::Utc);
        for i in 0..1000 {
            let t = T0 + i * S;
            live.advance(vec![start(0, "api", t, i as u64 + 1), start(1, "api", t, i as u64 + 1)], &paths(), t);
        }
        let kept = live.kept();
        // single: first and last; threshold: the last minute (its window).
        let single = kept.iter().filter(|k| k.event.rule == 0).count();
        let loops = kept.iter().filter(|k| k.event.rule == 1).count();
        assert_eq!((single, loops), (2, 60));
        let t = T0 + 2000 * S;
        live.advance(vec![], &paths(), t);
        live.advance(vec![start(2, "x", t, 5000)], &paths(), t);
        // 11 minutes of log time later, the threshold group is dropped.
        assert!(live.kept().iter().all(|k| k.event.rule != 1));
        assert_eq!(live.emitted().count(), 2, "the ids stay");
    }

    /// An untimed match of `rule` in `source`.
    fn untimed(rule: u32, role: Role, source: usize, line: u64) -> Event {
        Event { ts: crate::matcher::Ts::NONE, source, ..ev(rule, role, "api", 0, line) }
    }

    /// Untimed matches stand where they were read: exits read a minute
    /// apart never make three within the minute; three read within
    /// seconds do. Another file's exits do not add up with them.
    #[test]
    fn untimed_threshold_is_judged_by_arrival() {
        let mut live = Live::new(&rules(), Zone::Utc);
        let two = vec!["logs/pm2.log".to_string(), "logs/other/pm2.log".to_string()];
        for (i, t) in [0, 70, 140].into_iter().enumerate() {
            let got = live.advance(vec![untimed(1, Role::Start, 0, i as u64 + 1)], &two, T0 + t * S);
            assert!(got.is_empty(), "exit {i}");
        }
        // Two more from another file, close to the last: still no three of one file.
        let other = vec![untimed(1, Role::Start, 1, 1), untimed(1, Role::Start, 1, 2)];
        assert!(live.advance(other, &two, T0 + 141 * S).is_empty());
        let got = live.advance(vec![untimed(1, Role::Start, 0, 9)], &two, T0 + 150 * S);
        assert!(got.is_empty(), "two of this file within the minute");
        let got = live.advance(vec![untimed(1, Role::Start, 0, 10)], &two, T0 + 155 * S);
        assert_eq!(rules_of(&got), vec![("t.loop".to_string(), 3)]);
        assert!(got[0].first_seen.is_none());
    }

    /// A file read whole at once (a first `--from-start` read) gives the
    /// incidents `scan` gives on it, with the same ids; an unrecovered loss
    /// waits for its window on the clock, as a timed one does.
    /// Incidents without their marks: `scan` keeps only those a story
    /// can read (`correlate::fold`), `watch` builds no stories.
    fn unmarked(incidents: &[Incident]) -> Vec<Incident> {
        let mut out = incidents.to_vec();
        out.iter_mut().for_each(|i| i.marks = Arc::new([]));
        out
    }

    #[test]
    fn untimed_lines_read_at_once_agree_with_scan() {
        let log = vec![
            untimed(1, Role::Start, 0, 1),
            untimed(2, Role::Start, 0, 2),
            untimed(1, Role::Start, 0, 3),
            untimed(2, Role::End, 0, 4),
            untimed(1, Role::Start, 0, 5),
            untimed(2, Role::Start, 0, 6),
        ];
        let (findings, _) = correlate::correlate(&rules(), vec![log.clone()], &paths(), None);
        let scan = incidents::build(&rules(), &findings, &paths(), Zone::Utc);
        let mut live = Live::new(&rules(), Zone::Utc);
        let mut got = live.advance(log, &paths(), T0);
        assert_eq!(rules_of(&got), vec![("t.loop".to_string(), 3)], "the loss waits for its window");
        assert!(live.advance(vec![], &paths(), T0 + 119 * S).is_empty());
        got.extend(live.advance(vec![], &paths(), T0 + 120 * S));
        assert_eq!(unmarked(&got), unmarked(&scan));
        assert_eq!(got[1].fields["status"], vec![correlate::pairs::UNTIMED_OPEN.to_string()]);
        // The loss at line 2 was closed at line 4: only line 6 is open.
        assert_eq!(got[1].evidence.iter().map(|e| e.line).collect::<Vec<_>>(), [6]);
    }

    #[test]
    fn untimed_absence_closed_in_time_is_never_emitted() {
        let mut live = Live::new(&rules(), Zone::Utc);
        assert!(live.advance(vec![untimed(2, Role::Start, 0, 1)], &paths(), T0).is_empty());
        assert!(live.advance(vec![untimed(2, Role::End, 0, 2)], &paths(), T0 + 30 * S).is_empty());
        assert!(live.advance(vec![], &paths(), T0 + 3600 * S).is_empty());
        assert!(live.take_notes().is_empty(), "no note that untimed matches were not counted");
    }

    /// A match of `rule` on source 0's own clock at `ms` (times of day
    /// without a date).
    fn own_clock(rule: u32, role: Role, line: u64, ms: i64) -> Event {
        Event { day_time: DayTime::from_ms(ms), ..untimed(rule, role, 0, line) }
    }

    /// 09:23:43 on day 0 of a file's count.
    const T923: i64 = (9 * 3600 + 23 * 60 + 43) * S;

    /// A file of times of day without a date, read whole at once: its
    /// windows are judged on its own clock, as `scan` judges them, with
    /// the same ids, spans and statuses; an unrecovered loss then waits
    /// for its window to pass on that clock, as a timed one does.
    #[test]
    fn times_of_day_read_at_once_agree_with_scan() {
        let log = vec![
            own_clock(2, Role::Start, 10, T923),
            own_clock(1, Role::Start, 11, T923 + S),
            own_clock(1, Role::Start, 12, T923 + 2 * S),
            own_clock(2, Role::End, 13, T923 + 330 * S),
            own_clock(1, Role::Start, 14, T923 + 3 * S),
            own_clock(2, Role::Start, 15, T923 + 400 * S),
        ];
        let end = correlate::End { log: None, days: [(0, T923 + 520 * S)].into_iter().collect() };
        let (findings, _) = correlate::correlate(&rules(), vec![log.clone()], &paths(), end);
        let scan = incidents::build(&rules(), &findings, &paths(), Zone::Utc);
        assert_eq!(rules_of(&scan), vec![("t.loop".to_string(), 3), ("t.lost".into(), 2), ("t.lost".into(), 1)]);
        let mut live = Live::new(&rules(), Zone::Utc);
        let mut got = live.advance(log, &paths(), T0);
        // The loss at line 15 is open: 2 minutes from 09:30:23, on a
        // clock that stands at 09:30:23 when the poll reads it.
        assert_eq!(rules_of(&got), vec![("t.loop".to_string(), 3), ("t.lost".into(), 2)]);
        assert!(live.advance(vec![], &paths(), T0 + 119 * S).is_empty());
        got.extend(live.advance(vec![], &paths(), T0 + 120 * S));
        assert_eq!(unmarked(&got[..2]), unmarked(&scan[..2]));
        assert_eq!((&got[2].id, &got[2].time_of_day), (&scan[2].id, &scan[2].time_of_day));
        assert_eq!(got[1].fields["status"], vec!["recovered after 5m 30s".to_string()]);
        assert_eq!(got[2].fields["status"], vec!["not recovered by end of log".to_string()]);
        assert!(got.iter().all(|i| i.first_seen.is_none() && i.time_of_day.is_some()));
    }

    /// A later line of the file moves its clock on: a window open on it
    /// closes when a time of day past it is read, not only as the wall
    /// clock passes.
    #[test]
    fn a_later_time_of_day_closes_an_open_window() {
        let mut live = Live::new(&rules(), Zone::Utc);
        assert!(live.advance(vec![own_clock(2, Role::Start, 1, T923)], &paths(), T0).is_empty());
        assert!(live.advance(vec![], &paths(), T0 + S).is_empty());
        let got = live.advance(vec![own_clock(0, Role::Start, 2, T923 + 200 * S)], &paths(), T0 + 2 * S);
        assert_eq!(rules_of(&got), vec![("t.lost".to_string(), 1), ("t.single".into(), 1)]);
    }

    #[test]
    fn restored_state_neither_repeats_nor_forgets() {
        let mut live = Live::new(&rules(), Zone::Utc);
        assert_eq!(live.advance(vec![start(0, "api", T0, 1)], &paths(), T0).len(), 1);
        live.advance(vec![start(1, "api", T0, 2), start(1, "api", T0 + S, 3)], &paths(), T0 + S);
        live.advance(vec![start(2, "tws", T0 + S, 4)], &paths(), T0 + S);
        let kept = live.kept();
        let emitted: Vec<(String, i64)> = live.emitted().map(|(i, s)| (i.to_string(), s)).collect();
        let mut again = Live::new(&rules(), Zone::Utc);
        again.restore(kept, emitted, &paths());
        // The single incident is not repeated; the third exit completes the
        // threshold the first run had counted two of; the absence window
        // closed while the watcher was down.
        let got = again.advance(
            vec![start(0, "api", T0 + 200 * S, 5), start(1, "api", T0 + 2 * S, 6)],
            &paths(),
            T0 + 200 * S,
        );
        let mut names = rules_of(&got);
        names.sort();
        assert_eq!(names, vec![("t.loop".to_string(), 3), ("t.lost".to_string(), 1)]);
    }
}

#[cfg(test)]
mod context_tests {
    use super::*;
    use crate::input::Stream;
    use crate::rules::compile_all;

    const S: i64 = 1000;
    const T0: i64 = 1_795_168_800_000;

    fn rules() -> RuleSet {
        let pack = r#"
[[rule]]
id = "t.loop"
title = "{app} loops, {uptime}"
severity = "critical"
regex = 'exit (?P<app>\w+):(?P<pm_id>\d+)'
unless = { regex = 'stop (?P<app>\w+):(?P<pm_id>\d+)', within = "10s", key = ["app", "pm_id"] }
context = { regex = 'online (?P<app>\w+):(?P<pm_id>\d+)', before = "1m", key = ["app", "pm_id"], since = "uptime", require = true }
correlate = { kind = "threshold", count = 3, window = "5m" }
fix = "f"
"#;
        compile_all(&[("t.toml".into(), pack.into())]).expect("rules")
    }

    fn ev(role: Role, t: i64, line: u64) -> Event {
        let fields: Vec<(Arc<str>, Arc<str>)> = vec![("app".into(), "api".into()), ("pm_id".into(), "0".into())];
        Event {
            rule: 0,
            role,
            shape: 0.into(),
            source: 0,
            line,
            ts: Some(T0 + t * S).into(),
            day_time: None,
            app: Some("api".into()),
            stream: Stream::Daemon,
            fields: fields.into(),
            text: format!("line {line}").into(),
        }
    }

    const EXIT: Role = Role::Start;
    const STOP: Role = Role::Context(0);
    const ONLINE: Role = Role::Context(1);

    fn paths() -> Vec<String> {
        vec!["logs/pm2.log".into()]
    }

    /// A loop read over several polls: the exits excused by a stop do not
    /// count, the others carry their uptime, and the incident comes once.
    #[test]
    fn context_is_read_as_matches_arrive() {
        let mut live = Live::new(&rules(), Zone::Utc);
        let polls = [
            vec![ev(ONLINE, 0, 1), ev(STOP, 5, 2)],
            vec![ev(EXIT, 6, 3), ev(ONLINE, 7, 4), ev(EXIT, 8, 5)],
            vec![ev(ONLINE, 9, 6), ev(EXIT, 10, 7), ev(ONLINE, 11, 8)],
        ];
        let got: Vec<Incident> = polls
            .into_iter()
            .enumerate()
            .flat_map(|(i, p)| live.advance(p, &paths(), T0 + 20 * S * i as i64))
            .collect();
        assert!(got.is_empty(), "two counted exits, one excused: {got:?}");
        let got = live.advance(vec![ev(EXIT, 12, 9)], &paths(), T0 + 60 * S);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].count, 3);
        assert_eq!(got[0].title, "api loops, 1s");
        assert_eq!(got[0].evidence[0].line, 5);
    }

    fn named_rules() -> RuleSet {
        let pack = r#"
[[rule]]
id = "t.memory"
title = "{app} restarted"
severity = "medium"
regex = 'restart process (?P<pm_id>\d+)'
context = { regex = 'stop (?P<app>\w+):(?P<pm_id>\d+)', after = "10s", key = ["pm_id"] }
fix = "f"
"#;
        compile_all(&[("t.toml".into(), pack.into())]).expect("rules")
    }

    fn memory(role: Role, t: i64, line: u64, app: Option<&str>) -> Event {
        let mut e = ev(role, t, line);
        e.app = app.map(Arc::from);
        e.fields = match app {
            Some(a) => vec![("app".into(), a.into()), ("pm_id".into(), "0".into())],
            None => vec![("pm_id".into(), "0".into())],
        }
        .into();
        e
    }

    /// An old log read in chunks while the clock is far ahead: the line
    /// that names the app comes in the next poll, within the log's window.
    #[test]
    fn a_match_waits_for_its_after_context_by_the_log_time() {
        let mut live = Live::new(&named_rules(), Zone::Utc);
        let now = T0 + 86_400 * S;
        assert!(live.advance(vec![memory(Role::Start, 0, 1, None)], &paths(), now).is_empty());
        let got = live.advance(vec![memory(Role::Context(0), 1, 2, Some("md"))], &paths(), now + 10);
        assert_eq!(got.iter().map(|i| i.app.as_deref()).collect::<Vec<_>>(), [Some("md")]);
    }

    /// Nothing names it: it is reported without, once its window has passed
    /// on the clock (the log went quiet).
    #[test]
    fn a_match_whose_after_context_never_comes_is_released() {
        let mut live = Live::new(&named_rules(), Zone::Utc);
        assert!(live.advance(vec![memory(Role::Start, 0, 1, None)], &paths(), T0).is_empty());
        assert!(live.advance(vec![], &paths(), T0 + 9 * S).is_empty());
        let got = live.advance(vec![], &paths(), T0 + 10 * S);
        assert_eq!(got.iter().map(|i| i.app.as_deref()).collect::<Vec<_>>(), [None]);
    }

    /// The `online` read before a restart times the exit read after it.
    #[test]
    fn context_survives_a_restart() {
        let mut live = Live::new(&rules(), Zone::Utc);
        let first = vec![ev(ONLINE, 0, 1), ev(EXIT, 1, 2), ev(ONLINE, 2, 3), ev(EXIT, 3, 4), ev(ONLINE, 4, 5)];
        assert!(live.advance(first, &paths(), T0 + 5 * S).is_empty());
        let kept = live.kept();
        assert!(kept.iter().any(|k| k.event.role == ONLINE), "{kept:?}");
        let emitted: Vec<(String, i64)> = live.emitted().map(|(i, s)| (i.to_string(), s)).collect();
        let mut again = Live::new(&rules(), Zone::Utc);
        again.restore(kept, emitted, &paths());
        // `watch` gives the file a new source id when it starts again.
        let mut exit = ev(EXIT, 5, 6);
        exit.source = 1;
        let two = vec!["logs/pm2.log".to_string(), "logs/pm2.log".to_string()];
        let got = again.advance(vec![exit], &two, T0 + 6 * S);
        assert_eq!(got.iter().map(|i| i.count).collect::<Vec<_>>(), [3]);
    }
}
