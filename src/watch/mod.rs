//! Follow mode (`logtriage watch`): the pipeline run on logs as they are
//! written, emitting each incident once, as soon as its rule decides.
//!
//! ```text
//! discover ──► tail ──► Follow ──► live ──► Reporter
//! new files    growth,  records,   groups,   one NDJSON line
//! (each 1 s)   rotation matches    decisions per incident
//!                 │                    │
//!                 └──── state file ────┘  offsets, emitted ids, open windows
//! ```
//!
//! Each poll (every 200 ms) reads what every followed file grew by
//! ([`tail`]), scans it with the batch scanner kept open between reads
//! ([`crate::scan::Follow`]), and hands the matches to incremental
//! correlation ([`live`]), which re-runs the batch correlation on the groups
//! that changed and returns the incidents decided since the last poll. The
//! state file ([`state`]) is written after every poll that emitted, every
//! few seconds while files move, and at shutdown.
//!
//! Which files, and from where:
//!
//! - Directories are walked again every second with `scan`'s rules (`*.log`,
//!   `*.log.N`, `.gz`), so logs of apps started later are picked up. Rotated
//!   and compressed names are not followed: they are copies of what the live
//!   file held (a file rotated away while followed is finished, see [`tail`]).
//! - On a first start (no state yet) existing files are read from their end,
//!   so the history does not flood the alerting pipeline; `--from-start`
//!   reads them whole. A file that appears later is read from its start.
//! - On a restart, a file with a checkpoint is resumed from it (found by
//!   device and inode, whatever its name now), and any other live file is
//!   read from its start: it was created while the watcher was down.
//! - Files are named as `scan` names them ([`input::Naming`]: pm2, ecosystem
//!   files, file names), and events get one name per app
//!   ([`crate::names`]); a raw name learned from `pm2.log` renames the
//!   events that follow it.
//!
//! Delivery is at least once: an incident is written (and, with
//! `--alertmanager`, spooled by [`crate::deliver`]) before the state that
//! records it, so a crash in between repeats it on restart; an alerting
//! pipeline deduplicates on the stable `id`.

pub mod live;
pub mod state;
pub mod tail;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::deliver::{Delivery, DeliveryError};
use crate::filter::Filters;
use crate::incidents::Incident;
use crate::input::{self, Naming, NamingError, NamingOptions, Origin, SourceSpec};
use crate::matcher::{Event, Matcher};
use crate::names::NameTable;
use crate::records::Zone;
use crate::report::Reporter;
use crate::rules::RuleSet;
use crate::scan::Checkpoint;
use live::{Ended, Live};
use state::{FileState, STATE_VERSION, State};
use tail::{FileId, Head, Start, Status, Tail};

/// How often files are polled.
pub const POLL: Duration = Duration::from_millis(200);
/// How long the last record of a file is held for more lines (a stack
/// trace being written) before it is scanned.
pub const SETTLE: Duration = Duration::from_millis(300);
/// How often watched directories are walked for new files.
const DISCOVER_EVERY: Duration = Duration::from_secs(1);
/// How often the state is written while files move but nothing is emitted.
const SAVE_EVERY: Duration = Duration::from_secs(5);
/// How often a stop request is checked while waiting for the next poll.
const STOP_CHECK: Duration = Duration::from_millis(25);

/// What to follow and how.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Files and directories (`-` is refused).
    pub paths: Vec<String>,
    /// Zone for timestamps written without one.
    pub zone: Zone,
    /// The state file, if any.
    pub state: Option<PathBuf>,
    /// Read files without a checkpoint from their start on a first start.
    pub from_start: bool,
    /// How files are named: ecosystem files, pm2.
    pub naming: NamingOptions,
    /// `--app` and `--baseline`, as in `scan` (its time range and
    /// `--untimed` are not: watch reads what is written now).
    pub filters: Filters,
}

/// Why `watch` cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// `-` among the paths.
    #[error("watch follows files; stdin cannot be followed: pipe into `logtriage scan -` instead")]
    Stdin,
    /// The state file exists but cannot be read. (The I/O error is in
    /// the message, not the error chain: `{:#}` would print it twice.)
    #[error("{}: cannot read the state file: {error}; check its permissions", .path.display())]
    StateRead {
        /// The state file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The state file is not one `watch` wrote.
    #[error(
        "{}: not a logtriage watch state file ({detail}); move it aside to start afresh (files are then read from their end)",
        .path.display()
    )]
    StateParse {
        /// The state file.
        path: PathBuf,
        /// What the JSON parser said.
        detail: String,
    },
    /// The state file was written by a logtriage with another format.
    #[error(
        "{}: state file version {found}, this logtriage reads version {STATE_VERSION}; move it aside to start afresh \
         (files are then read from their end)",
        .path.display()
    )]
    StateVersion {
        /// The state file.
        path: PathBuf,
        /// The version it holds.
        found: u64,
    },
    /// The state file cannot be written (found on a save, or before
    /// anything is followed: [`state::check_writable`]).
    #[error(
        "{}: cannot write the state file: {error}; create its directory or give a --state path this user can write",
        .path.display()
    )]
    StateWrite {
        /// The state file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A given `--ecosystem` file cannot be read.
    #[error(transparent)]
    Naming(#[from] NamingError),
    /// The alert spool cannot be written.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    /// The reporter could not write an incident.
    #[error("cannot write incidents: {0}")]
    Output(#[source] std::io::Error),
}

/// A running watch: its files, its correlation state, what to save.
pub struct Watcher {
    rules: Arc<RuleSet>,
    matcher: Matcher,
    live: Live,
    opts: WatchOptions,
    naming: Naming,
    names: NameTable,
    tails: Vec<Tail>,
    /// Display path per source id (a file gets a new id when it starts over).
    paths: Vec<String>,
    /// Checkpoints from the state file, until their file is found.
    resume: BTreeMap<FileId, (Checkpoint, Head)>,
    restarted: bool,
    discovered: Option<Instant>,
    last_save: Instant,
    unsaved: bool,
    notes: Vec<String>,
    noted: BTreeSet<String>,
    ended: Vec<Ended>,
}

impl Watcher {
    /// Loads the state (if any) and opens the files to follow.
    pub fn start(rules: Arc<RuleSet>, opts: WatchOptions) -> Result<Watcher, WatchError> {
        if opts.paths.iter().any(|p| p == "-") {
            return Err(WatchError::Stdin);
        }
        let saved = match &opts.state {
            // Found out now, not at the first incident: under a service
            // manager a failure there is a restart loop that follows the
            // logs, and prints, again each time.
            Some(path) => state::load(path).and_then(|s| state::check_writable(path).map(|()| s))?,
            None => None,
        };
        let naming = Naming::new(&opts.naming)?;
        let mut w = Watcher {
            matcher: Matcher::new(rules.clone()),
            live: Live::new(&rules, opts.zone),
            rules,
            opts,
            naming,
            names: NameTable::default(),
            tails: Vec::new(),
            paths: Vec::new(),
            resume: BTreeMap::new(),
            restarted: saved.is_some(),
            discovered: None,
            last_save: Instant::now(),
            unsaved: false,
            notes: Vec::new(),
            noted: BTreeSet::new(),
            ended: Vec::new(),
        };
        if let Some(s) = saved {
            w.restore(s);
        }
        w.discover(Instant::now());
        Ok(w)
    }

    /// Files followed now.
    pub fn files(&self) -> usize {
        self.tails.len()
    }

    /// Polls until `stop` is set (SIGINT, SIGTERM), pushing each incident
    /// to `reporter` (and `delivery`) as it is decided and `notes`
    /// (rotations, unreadable files) to `on_note`; saves the state before
    /// returning. `delivery` has spooled an incident before the state
    /// records it as emitted.
    pub fn run(
        &mut self,
        reporter: &mut dyn Reporter,
        stop: &AtomicBool,
        on_note: &mut dyn FnMut(&str),
        delivery: Option<&Delivery>,
    ) -> Result<(), WatchError> {
        while !stop.load(Ordering::SeqCst) {
            let started = Instant::now();
            let incidents = self.poll(started);
            for note in self.take_notes() {
                on_note(&note);
            }
            // Spooled first: a closed stdout does not keep an alert from
            // Alertmanager.
            let ended = self.take_ended();
            if let Some(d) = delivery {
                d.submit(&incidents)?;
                for e in &ended {
                    d.resolve(&e.rule, &e.key, e.last)?;
                }
            }
            if let Err(e) = incidents.iter().try_for_each(|i| reporter.incident(i)) {
                // The reader is gone (a closed pipe): keep what was read
                // and decided, as a stop does, then say why.
                self.save()?;
                return Err(WatchError::Output(e));
            }
            if !incidents.is_empty() || (self.unsaved && started.duration_since(self.last_save) >= SAVE_EVERY) {
                self.save()?;
            }
            while !stop.load(Ordering::SeqCst) && started.elapsed() < POLL {
                std::thread::sleep(STOP_CHECK.min(POLL.saturating_sub(started.elapsed())));
            }
        }
        self.save()
    }

    /// One poll: new files, new bytes, decisions. Returns the incidents
    /// decided, in report order.
    pub fn poll(&mut self, now: Instant) -> Vec<Incident> {
        if self.discovered.is_none_or(|at| now.duration_since(at) >= DISCOVER_EVERY) {
            self.discover(now);
        }
        let mut events = Vec::new();
        let mut closed = Vec::new();
        // Polling a file may open another (the new file after a rename).
        let mut i = 0;
        while i < self.tails.len() {
            let before = self.tails[i].checkpoint();
            if !self.poll_tail(i, now, &mut events) {
                closed.push(i);
            }
            self.unsaved |= self.tails.get(i).is_some_and(|t| t.checkpoint() != before);
            self.note_holes(i);
            i += 1;
        }
        for i in closed.into_iter().rev() {
            self.tails.remove(i);
            self.unsaved = true;
        }
        self.names.learn(&events);
        self.names.apply(&mut events);
        let mut incidents = self.live.advance(events, &self.paths, wall_ms());
        self.notes.extend(self.live.take_notes());
        self.ended.extend(self.live.take_ended());
        self.narrow(&mut incidents);
        incidents
    }

    /// `--app` and `--baseline`: an incident left out is still decided (its
    /// group keeps its state), only not reported. What they left out is
    /// said once per kind, not at every poll.
    fn narrow(&mut self, incidents: &mut Vec<Incident>) {
        let filters = &self.opts.filters;
        let unnamed = !filters.apps.is_empty() && incidents.iter().any(|i| i.app.is_none());
        // scan's notes count what one run left out; watch says it once.
        let known = filters.incidents(incidents, &mut Vec::new());
        if unnamed {
            self.note_once("--app: incidents that name no app (pm2.errored, say) are not reported".to_string());
        }
        if let Some(stats) = known.filter(|s| s.known > 0) {
            self.note_once(format!("--baseline {}: incidents it already has are not reported", stats.file));
        }
    }

    /// Emitted incidents the log has shown over since the last call (see
    /// [`live::Ended`]).
    pub fn take_ended(&mut self) -> Vec<Ended> {
        std::mem::take(&mut self.ended)
    }

    /// Writes the state file (if there is one).
    pub fn save(&mut self) -> Result<(), WatchError> {
        let Some(path) = self.opts.state.clone() else { return Ok(()) };
        let files = self
            .tails
            .iter()
            .map(|t| {
                let (at, head) = t.checkpoint();
                FileState::new(&t.path().display().to_string(), t.id(), at, head)
            })
            .collect();
        let (sources, events) = state::save_events(&self.live.kept(), &self.rules, &self.paths);
        let state = State {
            version: STATE_VERSION,
            saved_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            files,
            emitted: self.live.emitted().map(|(id, seen)| (id.to_string(), seen)).collect(),
            sources,
            events,
        };
        state::save(&path, &state)?;
        self.last_save = Instant::now();
        self.unsaved = false;
        Ok(())
    }

    /// Things to tell the operator (once each), since the last call.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    fn restore(&mut self, s: State) {
        for f in &s.files {
            if let Some((id, at, head)) = f.resume() {
                self.resume.insert(id, (at, head));
            }
        }
        self.paths = s.sources;
        let kept = state::restore_events(s.events, &self.rules);
        self.live.restore(kept, s.emitted, &self.paths);
    }

    /// Polls tail `i`; false when it is done with.
    fn poll_tail(&mut self, i: usize, now: Instant, events: &mut Vec<Event>) -> bool {
        let status = self.tails[i].poll(now, SETTLE, events);
        match status {
            Ok(Status::Open) => {
                if !self.tails[i].retired() && self.tails[i].moved() {
                    self.rotated_away(i, now);
                }
                true
            }
            Ok(Status::Truncated) => {
                self.truncated(i, events);
                // The file starts over: read its new content now.
                self.tails[i].poll(now, SETTLE, events).is_ok()
            }
            Ok(Status::Closed) => false,
            Err(e) => {
                let shown = self.tails[i].path().display().to_string();
                self.note(format!("{shown}: cannot read ({e}); no longer following it"));
                self.tails[i].finish(events);
                false
            }
        }
    }

    fn truncated(&mut self, i: usize, events: &mut Vec<Event>) {
        let shown = self.tails[i].path().display().to_string();
        match self.tails[i].recover_from_copy(events) {
            Some((copy, n)) => self.note(format!(
                "{shown}: truncated (copy-then-truncate rotation); read {n} byte(s) written before it from {}",
                copy.display()
            )),
            None => self.note(format!("{shown}: truncated; reading it again from the start")),
        }
        self.tails[i].finish(events);
        let source = self.new_source(&shown);
        self.tails[i].reset(source);
    }

    /// The path of tail `i` names another file now (or none): finish the
    /// old one, follow the new one from its start.
    fn rotated_away(&mut self, i: usize, now: Instant) {
        self.tails[i].retire();
        let path = self.tails[i].path().to_path_buf();
        let shown = path.display().to_string();
        self.note(format!("{shown}: renamed or removed (rotation); reading the old file to its end"));
        let spec = SourceSpec { id: 0, meta: self.naming.name_file(&path), origin: Origin::File(path) };
        if let Some(start) = self.start_for(&spec, true) {
            self.open(spec, start, now);
        }
    }

    /// Walks the paths for files not followed yet.
    fn discover(&mut self, now: Instant) {
        let first = self.discovered.is_none();
        self.discovered = Some(now);
        let found = input::discover(&self.opts.paths, &mut self.naming);
        for skip in found.skipped {
            self.note_once(format!("{}; following it once it appears", skip.detail));
        }
        for path in &found.passed_over.paths {
            self.note_once(format!("{path}: not followed, its name is not a log's (*.log); name it to follow it"));
        }
        for d in &found.duplicates {
            self.note_once(format!("{}: the file {} names, followed once", d.path, d.same_as));
        }
        let specs = found.specs;
        let report = self.naming.report();
        self.names.add_known(&report.raw_names);
        for note in report.notes {
            self.note_once(note);
        }
        for spec in specs {
            if !self.opts.filters.keeps_source(&spec.meta) {
                continue;
            }
            if let Some(start) = self.start_for(&spec, !first) {
                self.open(spec, start, now);
            }
        }
    }

    /// Where to start following `spec`, or `None` to leave it alone
    /// (followed already, or a rotated copy). `later`: it appeared while
    /// watching.
    fn start_for(&mut self, spec: &SourceSpec, later: bool) -> Option<Start> {
        let Origin::File(path) = &spec.origin else { return None };
        if self.tails.iter().any(|t| !t.retired() && t.path() == path) {
            return None;
        }
        let id = FileId::of(path, &std::fs::metadata(path).ok()?);
        if self.tails.iter().any(|t| t.id() == id) {
            return None;
        }
        if let Some((at, head)) = self.resume.remove(&id) {
            return Some(Start::At(at, head));
        }
        if spec.meta.rotated || spec.meta.compressed {
            return None;
        }
        let replay = later || self.restarted || self.opts.from_start;
        Some(if replay { Start::Beginning } else { Start::End })
    }

    fn open(&mut self, mut spec: SourceSpec, start: Start, now: Instant) {
        let Origin::File(path) = spec.origin.clone() else { return };
        let shown = spec.meta.path.clone();
        let rotated = spec.meta.rotated || spec.meta.compressed;
        spec.id = self.paths.len();
        match Tail::open(spec, &path, self.matcher.clone(), self.opts.zone, start, now) {
            Ok(mut tail) => {
                self.paths.push(shown);
                // A checkpointed file found under a rotated name: finish it.
                if rotated {
                    tail.retire();
                }
                self.tails.push(tail);
                self.unsaved = true;
            }
            Err(e) => self.note_once(format!("{shown}: cannot follow ({e})")),
        }
    }

    /// Says what NUL bytes tail `i` passed over in its last poll.
    fn note_holes(&mut self, i: usize) {
        let Some(tail) = self.tails.get_mut(i) else { return };
        let n = tail.take_nul_bytes();
        if n > 0 {
            let shown = tail.path().display().to_string();
            self.note(format!(
                "{shown}: {n} NUL byte(s) passed over, holding no line (a writer without O_APPEND goes on at its old \
                 offset after copytruncate rotation); reading the lines after them"
            ));
        }
    }

    fn new_source(&mut self, shown: &str) -> usize {
        self.paths.push(shown.to_string());
        self.paths.len() - 1
    }

    fn note(&mut self, text: String) {
        self.notes.push(text);
    }

    /// For what every discovery would say again (a missing path, a binary
    /// file).
    fn note_once(&mut self, text: String) {
        if self.noted.insert(text.clone()) {
            self.notes.push(text);
        }
    }
}

fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
