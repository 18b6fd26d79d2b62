//! The scan's side of the memory budget ([`crate::spill`]): a source's
//! events go to the temporary file once the events held pass the budget,
//! from the scan workers as they go (a streamed source after each chunk
//! it reads, a split source after each part it merges, any source when
//! it ends). The budget counts the events sources hold while they are
//! scanned as well as those of sources that ended, so sources scanned
//! side by side cannot each hold a budget's worth. What the stages after the scan
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
use crate::spill::{CHUNK_EVENTS, Held, Spill, text_weight, weight};

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
    /// Bytes of the source's events held (not spilled) that count against
    /// the budget: its tail once it ended, the list it was offering while
    /// it scanned.
    counted: usize,
    /// How many events of that list `counted` covers.
    weighed: usize,
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
    /// Takes note of `events`, the source's events not yet handed off
    /// (this list grows between offers): counted against the budget while
    /// the source holds them, so that sources scanned side by side share
    /// it; spilled (and the list emptied) once holding them would pass it,
    /// and, once the source has spilled, whenever they fill a chunk: they
    /// spill when it ends anyway, and holding them would only raise the
    /// peak.
    pub(super) fn offer(&self, to: &mut SourceEvents, events: &mut Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let new = weight_from(events, to.weighed);
        let spilling = !to.held.chunks.is_empty();
        if (spilling && events.len() >= CHUNK_EVENTS) || self.spill.over(new) {
            self.spill_all(to, std::mem::take(events));
        } else {
            self.spill.hold(new);
            to.counted += new;
            to.weighed = events.len();
        }
    }

    /// The source's last events (the list offered so far, grown): held
    /// (counted against the budget) if they fit and nothing of the source
    /// spilled, else spilled.
    pub(super) fn finish(&self, to: &mut SourceEvents, events: Vec<Event>) {
        let new = weight_from(&events, to.weighed);
        if !to.held.chunks.is_empty() || self.spill.over(new) {
            self.spill_all(to, events);
        } else {
            self.spill.hold(new);
            to.counted += new;
            to.weighed = events.len();
            to.held.tail = events;
        }
    }

    /// Gives up what a split source handed off before it stopped (its
    /// pass or stream hands every event off again): the chunks it spilled
    /// stay in the file unread, the facts gathered from them go, and the
    /// events it held no longer count against the budget.
    pub(super) fn abandon(&self, given_up: SourceEvents) {
        self.spill.release(given_up.counted);
    }

    fn spill_all(&self, to: &mut SourceEvents, mut events: Vec<Event>) {
        // Spilled: no longer held.
        self.spill.release(std::mem::take(&mut to.counted));
        to.weighed = 0;
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

/// What [`weight`] adds for `events[from..]` to `events[..from]`: a record's
/// text counts once even when its events are weighed at two offers.
fn weight_from(events: &[Event], from: usize) -> usize {
    let from = from.min(events.len());
    let shared = from > 0 && from < events.len() && Arc::ptr_eq(&events[from - 1].text, &events[from].text);
    weight(&events[from..]) - if shared { text_weight(&events[from].text) } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spill::Budget;

    fn events(n: usize, text: &str) -> Vec<Event> {
        let text: Arc<str> = Arc::from(text);
        (0..n as u64)
            .map(|line| Event {
                rule: 0,
                role: Role::Start,
                shape: 0.into(),
                source: 0,
                line,
                ts: None.into(),
                day_time: None,
                app: None,
                stream: Stream::Err,
                fields: Arc::default(),
                text: text.clone(),
            })
            .collect()
    }

    /// Two sources scanned side by side share the budget: the events each
    /// holds while it is scanned count, so the second spills once both
    /// would pass it; spilled events count no more; a source that spilled
    /// spills whenever a chunk fills; a source given up counts no more.
    #[test]
    fn sources_being_scanned_share_the_budget() {
        let dir = tempfile::tempdir().expect("dir");
        // An event without its text: the events of a list share one.
        let one = std::mem::size_of::<Event>();
        let spill = Spill::new(Budget { bytes: (150 * one) as u64, dir: Some(dir.path().to_path_buf()) });
        let filters = Filters::default();
        let hand = Handoff { spill: &spill, filters: &filters };
        let (mut a, mut b) = (SourceEvents::default(), SourceEvents::default());
        let mut a_list = events(100, "x");
        hand.offer(&mut a, &mut a_list);
        assert_eq!((a_list.len(), spill.held()), (100, weight(&a_list)), "held and counted");
        // Grown, offered again: only what is new counts.
        a_list.extend(events(10, "y"));
        hand.offer(&mut a, &mut a_list);
        let a_weight = weight(&a_list);
        assert_eq!(spill.held(), a_weight);
        let mut b_list = events(60, "z");
        hand.offer(&mut b, &mut b_list);
        assert!(b_list.is_empty() && b.held.chunks.len() == 1, "110 + 60 events pass a budget of 150");
        assert_eq!(spill.held(), a_weight, "b's events count no more");
        // a ends: its events are held, counted once.
        hand.finish(&mut a, a_list);
        assert_eq!(a.held.tail.len(), 110);
        assert_eq!(spill.held(), a_weight);
        // A split given up counts no more.
        let mut c = SourceEvents::default();
        let mut c_list = events(20, "w");
        hand.offer(&mut c, &mut c_list);
        hand.abandon(c);
        assert_eq!(spill.held(), a_weight);
        hand.finish(&mut b, events(5, "z"));
        assert_eq!(b.facts.matches, 65, "b spilled: its end spills too");
    }

    /// A source that spilled spills what it offers next once a chunk's
    /// worth has come, well under the budget: its end would spill them
    /// anyway.
    #[test]
    fn a_source_that_spilled_spills_each_chunk() {
        let dir = tempfile::tempdir().expect("dir");
        let chunk = crate::spill::CHUNK_EVENTS;
        let spill =
            Spill::new(Budget { bytes: weight(&events(2 * chunk, "x")) as u64, dir: Some(dir.path().to_path_buf()) });
        let filters = Filters::default();
        let hand = Handoff { spill: &spill, filters: &filters };
        let mut d = SourceEvents::default();
        let mut list = events(3 * chunk, "x");
        hand.offer(&mut d, &mut list);
        assert!(list.is_empty(), "past the budget");
        list = events(10, "x");
        hand.offer(&mut d, &mut list);
        assert_eq!((list.len(), spill.held()), (10, weight(&list)), "held until a chunk fills");
        list.extend(events(chunk, "y"));
        hand.offer(&mut d, &mut list);
        assert!(list.is_empty(), "a full chunk spills");
        assert_eq!(spill.held(), 0);
    }
}
