//! The scan's side of the memory budget ([`crate::spill`]): a source's
//! events go to the temporary file once the events held pass the budget,
//! from the scan workers as they go (a streamed source after each chunk
//! it reads, a split source after each part it merges, any source when
//! it ends). What the stages after the scan
//! would learn from the whole lists is gathered here as each chunk
//! leaves: the apps of daemon events (names), the time filter's counts,
//! the rules with a start event (the idle-context drop), the match count
//! and the latest time. Spilled events are filtered before they are
//! written; they are renamed as they are read back.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::filter::{EventTally, Filters};
use crate::input::Stream;
use crate::matcher::Event;
use crate::rules::Role;
use crate::spill::{Held, Spill, weight};

/// Where a scan's events go past the budget.
pub(super) struct Handoff<'s> {
    pub(super) spill: &'s Spill,
    pub(super) filters: &'s Filters,
}

/// One source's events: spilled chunks and the tail held, and what was
/// learned from the chunks.
#[derive(Debug, Default)]
pub(super) struct SourceEvents {
    pub(super) held: Held,
    pub(super) facts: Facts,
}

/// What the stages after the scan need from spilled events.
#[derive(Debug, Default)]
pub(super) struct Facts {
    /// Apps of daemon events, each once, in order of appearance.
    pub(super) daemon_apps: Vec<Arc<str>>,
    seen_apps: BTreeSet<Arc<str>>,
    /// Rules with a start event the filter kept.
    pub(super) started: BTreeSet<u32>,
    /// Events kept.
    pub(super) matches: u64,
    /// The latest time of an event kept.
    pub(super) latest: Option<i64>,
    pub(super) tally: EventTally,
}

impl Handoff<'_> {
    /// Spills `events` (emptied) if holding them would pass the budget.
    pub(super) fn offer(&self, to: &mut SourceEvents, events: &mut Vec<Event>) {
        if !events.is_empty() && self.spill.over(weight(events)) {
            self.spill_all(to, std::mem::take(events));
        }
    }

    /// The source's last events: held (counted against the budget) if they
    /// fit, else spilled.
    pub(super) fn finish(&self, to: &mut SourceEvents, events: Vec<Event>) {
        let w = weight(&events);
        if !to.held.chunks.is_empty() || self.spill.over(w) {
            self.spill_all(to, events);
        } else {
            self.spill.hold(w);
            to.held.tail = events;
        }
    }

    /// Gives up what a split source handed off before it stopped (its
    /// pass or stream hands every event off again): the chunks it spilled
    /// stay in the file unread, the facts gathered from them go.
    pub(super) fn abandon(&self, _: SourceEvents) {}

    fn spill_all(&self, to: &mut SourceEvents, mut events: Vec<Event>) {
        let facts = &mut to.facts;
        for app in events.iter().filter(|e| e.stream == Stream::Daemon).filter_map(|e| e.app.as_ref()) {
            if !facts.seen_apps.contains(app) {
                facts.seen_apps.insert(app.clone());
                facts.daemon_apps.push(app.clone());
            }
        }
        self.filters.keep_events(&mut events, &mut facts.tally);
        facts.matches += events.len() as u64;
        facts.latest = events.iter().filter_map(|e| e.ts.get()).chain(facts.latest).max();
        facts.started.extend(events.iter().filter(|e| e.role == Role::Start).map(|e| e.rule));
        to.held.spill(self.spill, &events);
    }
}
