//! Names: one name per app, before correlation groups events by app.
//!
//! pm2 knows an app by its raw name (`my_app.v2`: `pm2.log`'s
//! `App [my_app.v2:0]`, the ecosystem file, `pm2 jlist`) but writes its
//! files under a sanitised one (`my-app.v2-out.log`: every character
//! outside `[A-Za-z0-9.-]` becomes `-`). A file named only by its name
//! carries the sanitised form, so without this stage one app's crash in
//! `pm2.log` and its stack trace in its error file would be two apps.
//!
//! The [`NameTable`] maps each sanitised form to the raw name it stands
//! for, built from what was read: the raw names the ecosystem files and
//! pm2 gave (via [`crate::input::NamingReport`]) and the app names that
//! daemon events carry (`pm2.log` rules capture the raw name). An event
//! whose app is in sanitised form and has exactly one raw name gets that
//! name; when two raw names share a sanitised form (`my_app` and `my app`),
//! no file can tell them apart, so nothing is renamed and a note says so.
//!
//! Runs between the matcher and correlation ([`unify`] in `scan`,
//! [`NameTable::learn`] then [`NameTable::apply`] per poll in `watch`);
//! reads events and file stats, hands them on renamed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::input::{AppFrom, Stream, is_file_name_form, pm2_file_name};
use crate::matcher::Event;
use crate::summary::FileStats;

/// Sanitised app names and the raw names they stand for.
#[derive(Debug, Clone, Default)]
pub struct NameTable {
    /// Sanitised form → raw names known, each with where it came from.
    known: BTreeMap<String, BTreeMap<String, AppFrom>>,
    /// Sanitised form → the one raw name, where it differs.
    rewrite: BTreeMap<String, (Arc<str>, AppFrom)>,
    /// Raw names already in `known`: a crash loop's hundreds of daemon
    /// events cost one lookup each, not a sanitised copy each.
    seen: BTreeSet<String>,
}

/// Renames the apps of `sources`' events and of `files` to their raw names,
/// learning raw names from `known` and from the daemon events; returns
/// notes on names that could not be told apart.
pub fn unify(known: &[(String, AppFrom)], sources: &mut [Vec<Event>], files: &mut [FileStats]) -> Vec<String> {
    let mut table = NameTable::new(known);
    for events in sources.iter() {
        table.learn(events);
    }
    for events in sources.iter_mut() {
        table.apply(events);
    }
    table.apply_files(files);
    table.notes()
}

/// [`unify`] when events spilled ([`crate::spill`]): `daemon_apps` are
/// the apps of the daemon events that spilled, learned with those of
/// `sources` (the events still in memory, renamed here); returns the table
/// that renames the spilled events as they are read back, and the notes.
pub fn unify_spilled<'a>(
    known: &[(String, AppFrom)],
    daemon_apps: impl IntoIterator<Item = &'a str>,
    sources: &mut [Vec<Event>],
    files: &mut [FileStats],
) -> (NameTable, Vec<String>) {
    let mut table = NameTable::new(known);
    table.learn_apps(daemon_apps);
    for events in sources.iter() {
        table.learn(events);
    }
    for events in sources.iter_mut() {
        table.apply(events);
    }
    table.apply_files(files);
    let notes = table.notes();
    (table, notes)
}

impl NameTable {
    /// A table of the raw names the ecosystem files and pm2 gave.
    pub fn new(known: &[(String, AppFrom)]) -> NameTable {
        let mut t = NameTable::default();
        t.add_known(known);
        t
    }

    /// Adds raw names the ecosystem files and pm2 gave (`watch` finds
    /// ecosystem files as it finds logs).
    pub fn add_known(&mut self, known: &[(String, AppFrom)]) {
        for (raw, from) in known {
            self.add(raw, *from);
        }
        self.rebuild();
    }

    /// Takes the raw app names that daemon events carry (`pm2.log`'s
    /// `App [NAME:ID]`; a file name never names the daemon's lines).
    pub fn learn(&mut self, events: &[Event]) {
        self.learn_apps(events.iter().filter(|e| e.stream == Stream::Daemon).filter_map(|e| e.app.as_deref()));
    }

    /// [`NameTable::learn`] from the apps of daemon events.
    pub fn learn_apps<'a>(&mut self, apps: impl IntoIterator<Item = &'a str>) {
        let mut added = false;
        for app in apps {
            if !self.seen.contains(app) {
                self.add(app, AppFrom::Pm2Log);
                added = true;
            }
        }
        if added {
            self.rebuild();
        }
    }

    /// Gives events whose app is a sanitised form its raw name.
    pub fn apply(&self, events: &mut [Event]) {
        if self.rewrite.is_empty() {
            return;
        }
        for e in events {
            if let Some(raw) = e.app.as_deref().and_then(|a| self.raw(a)) {
                e.app = Some(raw.0.clone());
            }
        }
    }

    /// The same for the summary's files, saying where the raw name came
    /// from.
    pub fn apply_files(&self, files: &mut [FileStats]) {
        for f in files {
            if let Some((raw, from)) = f.app.as_deref().and_then(|a| self.raw(a)) {
                f.app = Some(raw.to_string());
                // A file named by the ecosystem or pm2 has its raw name
                // already; only a file-name app is renamed here.
                if f.app_from == Some(AppFrom::FileName) {
                    f.app_from = Some(*from);
                }
            }
        }
    }

    /// Notes on sanitised names that stand for several apps.
    pub fn notes(&self) -> Vec<String> {
        self.known
            .iter()
            .filter(|(_, raws)| raws.len() > 1)
            .map(|(form, raws)| {
                let names: Vec<String> = raws.keys().map(|r| format!("`{r}`")).collect();
                format!(
                    "apps {} all write files named `{form}-*.log`; incidents from those files name `{form}`",
                    names.join(" and ")
                )
            })
            .collect()
    }

    fn raw(&self, app: &str) -> Option<&(Arc<str>, AppFrom)> {
        if !is_file_name_form(app) {
            return None;
        }
        self.rewrite.get(app)
    }

    fn add(&mut self, raw: &str, from: AppFrom) {
        // The first source of a name is kept: pm2 and ecosystem files are
        // read before any event.
        if self.seen.insert(raw.to_string()) {
            self.known.entry(pm2_file_name(raw)).or_default().insert(raw.to_string(), from);
        }
    }

    fn rebuild(&mut self) {
        self.rewrite = self
            .known
            .iter()
            .filter_map(|(form, raws)| match raws.iter().next() {
                Some((raw, from)) if raws.len() == 1 && raw != form => {
                    Some((form.clone(), (Arc::from(raw.as_str()), *from)))
                }
                _ => None,
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Role;

    fn ev(app: &str, stream: Stream) -> Event {
        Event {
            rule: 0,
            role: Role::Start,
            shape: 0.into(),
            source: 0,
            line: 1,
            ts: crate::matcher::Ts::NONE,
            day_time: None,
            app: Some(app.into()),
            stream,
            fields: Default::default(),
            text: "x".into(),
        }
    }

    fn apps(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.app.as_deref().unwrap_or("-")).collect()
    }

    #[test]
    fn daemon_names_rename_file_names() {
        let mut sources = vec![vec![ev("my-app.v2", Stream::Err)], vec![ev("my_app.v2", Stream::Daemon)]];
        let notes = unify(&[], &mut sources, &mut []);
        assert!(notes.is_empty());
        assert_eq!(apps(&sources[0]), vec!["my_app.v2"]);
        assert_eq!(apps(&sources[1]), vec!["my_app.v2"]);
    }

    #[test]
    fn known_names_come_first_and_plain_names_stay() {
        let known = vec![("api v2".to_string(), AppFrom::Ecosystem)];
        let mut sources = vec![vec![ev("api-v2", Stream::Out), ev("web", Stream::Out)]];
        unify(&known, &mut sources, &mut []);
        assert_eq!(apps(&sources[0]), vec!["api v2", "web"]);
    }

    #[test]
    fn names_that_collide_are_left_alone_with_a_note() {
        let known = vec![("my_app".to_string(), AppFrom::Ecosystem)];
        let mut sources = vec![vec![ev("my-app", Stream::Err)], vec![ev("my app", Stream::Daemon)]];
        let notes = unify(&known, &mut sources, &mut []);
        assert_eq!(apps(&sources[0]), vec!["my-app"]);
        assert_eq!(
            notes,
            vec![
                "apps `my app` and `my_app` all write files named `my-app-*.log`; incidents from those files name `my-app`"
            ]
        );
    }

    #[test]
    fn app_names_of_app_lines_are_not_learned() {
        // A `pm2 logs` column cuts names to 10 characters: only daemon
        // lines carry whole raw names.
        let mut sources = vec![vec![ev("my-app.v2", Stream::Err), ev("my_app.v", Stream::Out)]];
        unify(&[], &mut sources, &mut []);
        assert_eq!(apps(&sources[0]), vec!["my-app.v2", "my_app.v"]);
    }
}
