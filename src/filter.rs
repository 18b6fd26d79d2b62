//! What the user narrowed a run to: a time range (`--since`/`--until`),
//! matches without a time (`--untimed`), apps (`--app`), and incidents
//! already known (`--baseline`). Time acts on matches before correlation,
//! so a window only counts what is in range; apps and the baseline act on
//! finished incidents, so a sequence
//! whose first line names no app (pm2's kill-timeout) is still judged by
//! the app its incident names. Hands on what is kept plus notes saying what
//! was left out.

use std::sync::Arc;

use serde::Serialize;

use crate::baseline::Baseline;
use crate::incidents::{Incident, Store};
use crate::input::{SourceMeta, pm2_file_name};
use crate::matcher::Event;
use crate::rules::Role;

/// The narrowing asked for; the default keeps everything.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Keep matches at or after this time (ms since the epoch).
    pub since: Option<i64>,
    /// Keep matches before this time (ms since the epoch).
    pub until: Option<i64>,
    /// What to do with matches that have no time.
    pub untimed: Untimed,
    /// Keep incidents of these apps (empty: all). A name matches an app by
    /// its raw pm2 name or by the form pm2 gives it in file names
    /// (`my_app.v2` and `my-app.v2` are one app).
    pub apps: Vec<String>,
    /// Leave out incidents this previous run already had.
    pub baseline: Option<Arc<Baseline>>,
}

/// `--untimed`: matches from logs without timestamps, which a time range
/// cannot place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Untimed {
    /// Keep them (a note says how many when `--since`/`--until` is given).
    #[default]
    Keep,
    /// Leave them out before correlation: a scan that runs every few
    /// minutes with `--since` then reports each incident of an untimed log
    /// never, rather than on every run.
    Drop,
}

/// What `--baseline` did, for the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaselineStats {
    /// The baseline file, as given.
    pub file: String,
    /// Incidents of this run left out because the baseline had them.
    pub known: usize,
}

/// What [`Filters::keep_events`] left out or could not place, for the
/// notes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventTally {
    /// Matches without a time `--untimed drop` left out.
    pub dropped_untimed: usize,
    /// Matches without a time kept under `--since`/`--until`.
    pub untimed_kept: usize,
}

impl EventTally {
    /// Adds `other`'s counts.
    pub fn add(&mut self, other: EventTally) {
        self.dropped_untimed += other.dropped_untimed;
        self.untimed_kept += other.untimed_kept;
    }
}

impl Filters {
    /// Returns true if and only if a file should be read at all: a file
    /// named for another app cannot give an incident of the wanted ones.
    pub fn keeps_source(&self, meta: &SourceMeta) -> bool {
        self.apps.is_empty() || meta.app.as_ref().is_none_or(|a| self.wants(a))
    }

    /// Returns true if and only if `app` is one of the apps asked for, by
    /// its raw name or its file-name form.
    fn wants(&self, app: &str) -> bool {
        let form = pm2_file_name(app);
        self.apps.iter().any(|w| w == app || pm2_file_name(w) == form)
    }

    /// For each app asked for that names no file and no incident among
    /// `known` (the apps of the files found and of the incidents, before
    /// `--app` left any out): a sentence saying so, with the app of another
    /// case as a suggestion (names match exactly), else the apps there are.
    pub fn app_misses<'a>(&self, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        if self.apps.is_empty() {
            return Vec::new();
        }
        let known: std::collections::BTreeSet<&str> = known.into_iter().collect();
        let fold = |name: &str| pm2_file_name(name).to_lowercase();
        let mut misses = Vec::new();
        for want in &self.apps {
            let one = Filters { apps: vec![want.clone()], ..Filters::default() };
            if known.iter().any(|k| one.wants(k)) {
                continue;
            }
            let near: Vec<&str> = known.iter().copied().filter(|k| fold(k) == fold(want)).collect();
            let hint = match (near.first(), known.len()) {
                (Some(n), _) => format!("; did you mean --app {n}? (names match exactly)"),
                (None, 0) => String::new(),
                (None, _) => {
                    let shown: Vec<&str> = known.iter().copied().take(20).collect();
                    format!("; apps found: {}", shown.join(", "))
                }
            };
            misses.push(format!("--app {want}: no file and no incident of this app{hint}"));
        }
        misses
    }

    fn timed(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// Drops matches outside the time range. Matches without a time cannot
    /// be placed: `--untimed` says whether they are kept or dropped, and a
    /// note says how many.
    pub fn events(&self, sources: &mut [Vec<Event>], notes: &mut Vec<String>) {
        let mut tally = EventTally::default();
        for events in sources.iter_mut() {
            self.keep_events(events, &mut tally);
        }
        notes.extend(self.event_notes(&tally));
    }

    /// [`Filters::events`] on one list, counting for its notes (the scan
    /// filters events that spill as they are written).
    pub fn keep_events(&self, events: &mut Vec<Event>, tally: &mut EventTally) {
        if self.untimed == Untimed::Drop {
            let before = events.len();
            events.retain(|e| e.ts.get().is_some());
            tally.dropped_untimed += before - events.len();
        }
        if !self.timed() {
            return;
        }
        let in_range = |t: i64| self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u);
        // A rule's context events are not counted, only read: the `Stopping
        // app:` line a second before `--since` still excuses the exit after it.
        let keep = |e: &Event| matches!(e.role, Role::Context(_)) || e.ts.get().is_none_or(in_range);
        events.retain(keep);
        tally.untimed_kept +=
            events.iter().filter(|e| e.ts.get().is_none() && !matches!(e.role, Role::Context(_))).count();
    }

    /// The notes [`Filters::events`] adds for what `tally` counted.
    pub fn event_notes(&self, tally: &EventTally) -> Vec<String> {
        let mut notes = Vec::new();
        if tally.dropped_untimed > 0 {
            notes.push(format!("--untimed drop left out {} match(es) without a timestamp", tally.dropped_untimed));
        }
        if self.timed() && tally.untimed_kept > 0 {
            notes.push(format!(
                "{} match(es) have no timestamp, so --since/--until could not place them; they were kept \
                 (`--untimed drop` leaves them out; pm2 writes times with `pm2 start --time` or `log_date_format`)",
                tally.untimed_kept
            ));
        }
        notes
    }

    /// The end of the observed log for absence rules: never past `--until`.
    pub fn end(&self, end: Option<i64>) -> Option<i64> {
        match (end, self.until) {
            (Some(e), Some(u)) => Some(e.min(u)),
            (e, _) => e,
        }
    }

    /// Keeps the incidents of the wanted apps that the baseline does not
    /// know; returns the baseline's count for the summary.
    pub fn incidents(&self, incidents: &mut Vec<Incident>, notes: &mut Vec<String>) -> Option<BaselineStats> {
        if !self.apps.is_empty() {
            let unnamed = incidents.iter().filter(|i| i.app.is_none()).count();
            incidents.retain(|i| i.app.as_ref().is_some_and(|a| self.wants(a)));
            if unnamed > 0 {
                notes.push(format!("--app left out {unnamed} incident(s) that name no app"));
            }
        }
        let baseline = self.baseline.as_ref()?;
        let before = incidents.len();
        incidents.retain(|i| !baseline.knows(i));
        Some(BaselineStats { file: baseline.path.clone(), known: before - incidents.len() })
    }

    /// [`Filters::incidents`] on a store (before it is sealed): the same
    /// incidents kept, the same notes.
    pub fn stored(&self, store: &mut Store, notes: &mut Vec<String>) -> Option<BaselineStats> {
        if !self.apps.is_empty() {
            let unnamed = store.views().iter().filter(|v| v.app_id().is_none()).count();
            store.retain(|app, _, _| app.is_some_and(|a| self.wants(a)));
            if unnamed > 0 {
                notes.push(format!("--app left out {unnamed} incident(s) that name no app"));
            }
        }
        let baseline = self.baseline.as_ref()?;
        let known = store.retain(|_, rule, key| !baseline.knows_key(rule, key));
        Some(BaselineStats { file: baseline.path.clone(), known })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Stream;

    fn meta(app: Option<&str>) -> SourceMeta {
        SourceMeta { app: app.map(String::from), stream: Stream::Out, ..SourceMeta::unnamed("x") }
    }

    #[test]
    fn sources_of_other_apps_are_not_read() {
        let f = Filters { apps: vec!["api".into()], ..Filters::default() };
        assert!(f.keeps_source(&meta(Some("api"))));
        assert!(!f.keeps_source(&meta(Some("web"))));
        // pm2.log and stdin name no app: their lines may be about api.
        assert!(f.keeps_source(&meta(None)));
    }

    fn events(ts: &[Option<i64>]) -> Vec<Event> {
        ts.iter()
            .enumerate()
            .map(|(i, &ts)| Event {
                rule: 0,
                role: crate::rules::Role::Start,
                shape: 0.into(),
                source: 0,
                line: i as u64 + 1,
                ts: ts.into(),
                day_time: None,
                app: None,
                stream: Stream::Out,
                fields: Default::default(),
                text: "".into(),
            })
            .collect()
    }

    /// `--since` keeps untimed matches by default, with a note naming the
    /// way out; `--untimed drop` leaves them out, with or without a range.
    #[test]
    fn untimed_matches_are_kept_or_dropped_as_asked() {
        let log = || vec![events(&[Some(50), None, Some(150), None])];
        let since = Filters { since: Some(100), ..Filters::default() };
        let (mut kept, mut notes) = (log(), Vec::new());
        since.events(&mut kept, &mut notes);
        assert_eq!(kept[0].iter().map(|e| e.line).collect::<Vec<_>>(), [2, 3, 4]);
        assert!(notes[0].starts_with("2 match(es) have no timestamp") && notes[0].contains("--untimed drop"));
        let drop = Filters { untimed: Untimed::Drop, ..since };
        let (mut left, mut notes) = (log(), Vec::new());
        drop.events(&mut left, &mut notes);
        assert_eq!(left[0].iter().map(|e| e.line).collect::<Vec<_>>(), [3]);
        assert_eq!(notes, ["--untimed drop left out 2 match(es) without a timestamp"]);
        let only_drop = Filters { untimed: Untimed::Drop, ..Filters::default() };
        let (mut left, mut notes) = (log(), Vec::new());
        only_drop.events(&mut left, &mut notes);
        assert_eq!(left[0].iter().map(|e| e.line).collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn an_app_is_wanted_by_its_raw_name_or_its_file_name_form() {
        let f = Filters { apps: vec!["my_app.v2".into()], ..Filters::default() };
        assert!(f.keeps_source(&meta(Some("my-app.v2"))));
        assert!(f.keeps_source(&meta(Some("my_app.v2"))));
        assert!(!f.keeps_source(&meta(Some("my-app"))));
        let f = Filters { apps: vec!["my-app.v2".into()], ..Filters::default() };
        assert!(f.wants("my_app.v2"));
    }

    #[test]
    fn an_app_that_names_nothing_is_said_with_a_near_match() {
        let f = Filters { apps: vec!["API".into(), "worker".into(), "nope".into()], ..Filters::default() };
        assert_eq!(
            f.app_misses(["api", "my_app.v2", "worker"]),
            [
                "--app API: no file and no incident of this app; did you mean --app api? (names match exactly)",
                "--app nope: no file and no incident of this app; apps found: api, my_app.v2, worker",
            ]
        );
        let f = Filters { apps: vec!["My-App.V2".into()], ..Filters::default() };
        assert_eq!(
            f.app_misses(["my_app.v2"]),
            [
                "--app My-App.V2: no file and no incident of this app; did you mean --app my_app.v2? (names match exactly)"
            ]
        );
        assert!(Filters::default().app_misses(["api"]).is_empty());
    }

    #[test]
    fn until_caps_the_end_of_log() {
        let f = Filters { until: Some(100), ..Filters::default() };
        assert_eq!(f.end(Some(500)), Some(100));
        assert_eq!(f.end(Some(50)), Some(50));
        assert_eq!(Filters::default().end(Some(500)), Some(500));
    }
}
