//! Orchestration: discover and name sources, scan them in parallel (rayon,
//! one matcher clone per worker), merge per-source events in source order,
//! give each app one name ([`crate::names`]), correlate, build incidents,
//! account. The merge order never depends on scheduling, so output is
//! identical for every thread count.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

mod causes;
mod handoff;
mod part;
mod source;
mod split;

pub use source::follow::{Checkpoint, Follow};

use crate::correlate;
use crate::filter::Filters;
use crate::incidents::{self, Store};
use crate::input::{self, MmapChoice, Naming, NamingError, NamingOptions, NamingReport, Skip, SourceSpec};
use crate::matcher::{Event, Matcher};
use crate::memory;
use crate::mine::{self, Mined};
use crate::names;
use crate::records::Zone;
use crate::rules::{RuleSet, UnitId};
use crate::spill::{Budget, Doing, Held, Spill, SpillError};
use crate::stories::{self, Story};
use crate::summary::{FileStats, SeverityCounts, Summary};
use handoff::SourceEvents;

/// What to scan and how.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Files, directories, `-` for stdin.
    pub paths: Vec<String>,
    /// Memory-map policy.
    pub mmap: MmapChoice,
    /// Zone for timestamps written without one.
    pub zone: Zone,
    /// Worker threads (None: one per core).
    pub threads: Option<usize>,
    /// Treat every record as a candidate for every rule (the prefilter's
    /// zero-false-negative contract is tested against this).
    pub no_prefilter: bool,
    /// Time range, apps, baseline.
    pub filters: Filters,
    /// How files are named: ecosystem files, pm2, stdin's file name.
    pub naming: NamingOptions,
    /// Unknown-error mining (None: off).
    pub mine: Option<crate::mine::MineOptions>,
    /// How much memory the matched events (until correlation) and, again,
    /// the finished incidents (until the report) may each hold before the
    /// rest go to a temporary file, and where (`--memory-budget`,
    /// `--spill-dir`). The default is [`crate::spill::DEFAULT_BUDGET_MIB`] MiB.
    pub budget: Budget,
}

/// The result of a scan, ready for a reporter.
#[derive(Debug)]
pub struct ScanOutput {
    /// Stories in report order: most severe, then most recent, first.
    pub stories: Vec<Story>,
    /// Incidents in report order, held or spilled (see
    /// [`incidents::store`]), each labelled with its story.
    pub incidents: Store,
    /// Accounting.
    pub summary: Summary,
    /// Unrecognised errors: candidate records no rule matched, as
    /// templates (empty when mining is off).
    pub unknown: Mined,
}

/// Why a scan could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The worker pool could not be created.
    #[error("cannot start {threads} worker threads: {source}")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// Rayon's error.
        #[source]
        source: rayon::ThreadPoolBuildError,
    },
    /// A given `--ecosystem` file cannot be read.
    #[error(transparent)]
    Naming(#[from] NamingError),
    /// The paths given hold no log at all.
    #[error(transparent)]
    NothingToRead(#[from] input::NothingToRead),
    /// Events or incidents past the memory budget could not be put aside
    /// or read back.
    #[error(transparent)]
    Spill(#[from] SpillError),
}

/// Scans `opts.paths` with `rules`.
pub fn scan(rules: Arc<RuleSet>, opts: &ScanOptions) -> Result<ScanOutput, ScanError> {
    let started = Instant::now();
    let mut naming = Naming::new(&opts.naming)?;
    let found = input::discover(&opts.paths, &mut naming);
    if let Some(nothing) = found.nothing_to_read(&opts.paths) {
        return Err(ScanError::NothingToRead(nothing));
    }
    let mut out = scan_named(rules, found.specs, found.skipped, naming.report(), opts, started)?;
    out.summary.passed_over = found.passed_over;
    out.summary.duplicates = found.duplicates;
    let notes = out.summary.discovery_notes();
    out.summary.notes.extend(notes);
    Ok(out)
}

/// Scans sources already chosen (`opts.paths` is not read): `rules test`
/// hands fixture files named as the pm2 file they play, and inline
/// examples from memory. `skipped` is what discovery could not list.
pub fn scan_sources(
    rules: Arc<RuleSet>,
    specs: Vec<SourceSpec>,
    skipped: Vec<Skip>,
    opts: &ScanOptions,
    started: Instant,
) -> Result<ScanOutput, ScanError> {
    scan_named(rules, specs, skipped, NamingReport::default(), opts, started)
}

/// [`scan_sources`] with what naming found: its notes and ecosystem files
/// go to the summary, its raw app names to the name table.
fn scan_named(
    rules: Arc<RuleSet>,
    mut specs: Vec<SourceSpec>,
    mut skipped: Vec<Skip>,
    naming: NamingReport,
    opts: &ScanOptions,
    started: Instant,
) -> Result<ScanOutput, ScanError> {
    let listed = specs.len();
    let apps_found: Vec<String> = specs.iter().filter_map(|s| s.meta.app.clone()).collect();
    specs.retain(|s| opts.filters.keeps_source(&s.meta));
    // Source ids index the paths below: keep them dense.
    specs.iter_mut().enumerate().for_each(|(i, s)| s.id = i);
    let mut notes = naming.notes;
    if specs.len() < listed {
        notes.push(format!("--app: {} file(s) of other apps were not read", listed - specs.len()));
    }
    let matcher = Matcher::new(rules.clone());
    // One worker needs no pool: `rules test` scans hundreds of tiny
    // sources, each of which would otherwise start a thread.
    let pool = match opts.threads {
        Some(1) => None,
        n => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n.unwrap_or(0))
                .build()
                .map_err(|source| ScanError::Threads { threads: n.unwrap_or(0), source })?,
        ),
    };
    let spill = Spill::for_events(opts.budget.clone());
    let hand = handoff::Handoff { spill: &spill, filters: &opts.filters };
    let results: Vec<Result<(SourceEvents, FileStats), Skip>> = match &pool {
        Some(pool) => pool.install(|| {
            specs
                .par_iter()
                .map_init(|| matcher.clone(), |m, spec| source::scan_handing(m, spec, opts, &hand))
                .collect()
        }),
        None => specs.iter().map(|spec| source::scan_handing(&matcher, spec, opts, &hand)).collect(),
    };
    match &pool {
        Some(pool) => drop(pool.broadcast(|_| split::release_window_buffer())),
        None => split::release_window_buffer(),
    }
    if let Some(failed) = spill.take_error() {
        return Err(ScanError::Spill(failed));
    }
    let paths: Vec<String> = specs.iter().map(|s| s.meta.path.clone()).collect();
    // One list per source, never concatenated: correlation moves events
    // into their groups and frees each list as it goes.
    let mut events: Vec<SourceEvents> = Vec::new();
    let mut files = Vec::new();
    // Where each file of times of day without a date ends on its own clock.
    let mut days = BTreeMap::new();
    // Each file's source id: what its events name.
    let mut file_specs = Vec::new();
    for (spec, r) in specs.iter().zip(results) {
        match r {
            Ok((evs, mut stats)) => {
                if let Some(day_end) = stats.day_end {
                    days.insert(spec.id, day_end.ms());
                }
                events.push(evs);
                // Read in part: scanned, and listed with the skips.
                skipped.extend(stats.partial.take());
                file_specs.push(spec.id);
                files.push(stats);
            }
            Err(skip) => skipped.push(skip),
        }
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    // Each batch of findings correlation makes is built into incidents,
    // and each incident goes into the store (held under the memory budget,
    // written to a temporary file past it), before the next batch is
    // judged: the findings of a scan are never all held.
    let mut made = Made {
        builder: incidents::Builder::new(&rules, &paths, opts.zone),
        store: Store::new(opts.budget.clone()),
        tallies: Vec::new(),
        holds: false,
    };
    let matches = if spill.active() {
        let tallies = Tallies { raw_names: &naming.raw_names, days };
        let ready = prepare_spilled(&rules, events, &mut files, tallies, opts, &mut notes);
        made.mine(take_tallies(&mut files, &file_specs));
        let rename = |evs: &mut [Event]| ready.table.apply(evs);
        let links = made.store.links();
        let spilled = correlate::spilled::Spilled {
            spill: &spill,
            lists: ready.lists,
            rename: &rename,
            started: ready.started,
            links,
        };
        let correlate_notes = on(pool.as_ref(), || {
            correlate::spilled::correlate(&rules, spilled, &paths, ready.end, |batch| made.take(batch))
        })?;
        notes.extend(correlate_notes);
        ready.matches
    } else {
        let mut events: Vec<Vec<Event>> = events.into_iter().map(|s| s.held.tail).collect();
        notes.extend(names::unify(&naming.raw_names, &mut events, &mut files));
        opts.filters.events(&mut events, &mut notes);
        let matches = events.iter().map(|evs| evs.len() as u64).sum();
        // Files are not always in time order (a saved `pm2 logs` capture has
        // its sections one after another): the end is the latest time seen.
        let end =
            files.iter().filter_map(|f| f.last_ts).chain(events.iter().flatten().filter_map(|e| e.ts.get())).max();
        let end = correlate::End { log: opts.filters.end(end), days };
        made.mine(take_tallies(&mut files, &file_specs));
        // Under the budget every event is held anyway, and the findings
        // are fewer than the events: judge every group first, so that the
        // groups' events are freed (and their pages given back) before any
        // incident is allocated. Building each batch as it is judged put
        // the incidents on top of the groups still waiting (one-file 1 GiB,
        // `--mmap never`: 461 MiB peak, 402 this way and before batching).
        let mut found: Vec<Vec<correlate::Finding>> = Vec::new();
        let links = made.store.links();
        let correlate_notes = on(pool.as_ref(), || {
            correlate::correlate_each(&rules, events, &paths, end, links, |batch| {
                found.push(batch);
                Ok::<(), ScanError>(())
            })
        })?;
        memory::release_freed();
        on(pool.as_ref(), || found.into_iter().try_for_each(|batch| made.take(batch)))?;
        notes.extend(correlate_notes);
        matches
    };
    let Made { store: mut incidents, tallies, .. } = made;
    // Correlation's events are freed: give their pages back first, then
    // the views parked while it ran come back for the filters, the order
    // and the stories (10 GiB storm corpus, 1.46 M views: the run's peak
    // was this read on top of what correlation had freed but not returned).
    memory::release_freed();
    incidents.gather()?;
    let unknown = mine_unmatched(tallies, opts, &mut notes);
    // Correlation has emptied the per-source lists and dropped the events
    // no finding keeps; give those pages back before the stories and the
    // report (dense 1 GiB corpus, `--mmap never`: 305 -> 277 MiB when
    // this trim was added).
    memory::release_freed();
    // Borrowed, not copied: a storm has an app name per incident (5 GiB:
    // 732 k Strings and their list, 32 MiB at the run's peak).
    let views = incidents.views();
    let app_misses =
        opts.filters.app_misses(apps_found.iter().map(String::as_str).chain(views.iter().filter_map(|v| views.app(v))));
    notes.extend(app_misses.iter().cloned());
    let baseline = opts.filters.stored(&mut incidents, &mut notes);
    incidents.seal()?;
    // The findings' events are all freed now; past the budget the
    // incidents are too. Give the pages back before the stories and the
    // report (1 GiB storm, every incident spilled: the report stage's
    // peak RSS 221 -> see the commit).
    memory::release_freed();
    // Pass 2: what each restarted app wrote just before its exits.
    let windows = stories::cause_windows(incidents.views());
    let causes = causes::collect(&specs, &files, &windows, opts);
    let stories = stories::build(&incidents, &windows, &causes, &paths).map_err(|e| read_back(&opts.budget, e))?;
    stories::label(&mut incidents, &stories);
    notes.extend(untimed_notes(&files));
    notes.extend(files.iter().filter_map(FileStats::long_line_note));
    notes.extend(files.iter().filter_map(FileStats::hole_note));
    let summary = Summary {
        bytes: files.iter().map(|f| f.bytes).sum(),
        records: files.iter().map(|f| f.records).sum(),
        candidates: files.iter().map(|f| f.candidates).sum(),
        matches,
        incidents: SeverityCounts::of_severities(incidents.views().iter().map(|v| v.severity)),
        rules: rules.len(),
        unfiltered_rules: unfiltered_names(&rules, matcher.prefilter().unfiltered()),
        files,
        skipped,
        passed_over: input::PassedOver::default(),
        duplicates: Vec::new(),
        app_misses,
        notes,
        baseline,
        ecosystems: naming.ecosystems,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    Ok(ScanOutput { stories, incidents, summary, unknown })
}

/// Where `scan` puts each batch of findings correlation hands on: the
/// lines they took to mining, their incidents into the store.
struct Made<'a> {
    builder: incidents::Builder<'a>,
    store: Store,
    /// The files' unknown-error tallies, in source id order.
    tallies: Vec<mine::SourceTally>,
    /// Whether any tally holds occurrences a finding may take.
    holds: bool,
}

impl Made<'_> {
    /// Mining's tallies, once apps have their names.
    fn mine(&mut self, tallies: Vec<mine::SourceTally>) {
        self.holds = tallies.iter().any(|t| t.tally.holds());
        self.tallies = tallies;
    }

    /// One batch of findings: their lines noted, their incidents built,
    /// the findings freed.
    fn take(&mut self, batch: Vec<correlate::Finding>) -> Result<(), ScanError> {
        if self.holds {
            mine::note_taken(&mut self.tallies, batch.iter().flat_map(|f| f.events.taken()));
        }
        self.builder.build_into(batch, &mut self.store)?;
        Ok(())
    }
}

/// What [`prepare_spilled`] takes from `scan_named` besides the events.
struct Tallies<'a> {
    raw_names: &'a [(String, input::AppFrom)],
    days: BTreeMap<usize, i64>,
}

/// What correlation needs of spilled events, made ready.
struct Ready {
    /// One list per source: filtered, tails renamed.
    lists: Vec<Held>,
    /// The apps' names for spilled chunks.
    table: names::NameTable,
    /// Per rule, whether any list holds a start event of it.
    started: Vec<bool>,
    end: correlate::End,
    matches: u64,
}

/// The stages between the scan and correlation when events spilled:
/// names, the time filter and the end of the log from what the hand-off
/// gathered and from the events still held. The same notes, match count
/// and end as the in-memory path.
fn prepare_spilled(
    rules: &RuleSet,
    events: Vec<SourceEvents>,
    files: &mut [FileStats],
    t: Tallies<'_>,
    opts: &ScanOptions,
    notes: &mut Vec<String>,
) -> Ready {
    let (mut held, facts): (Vec<Held>, Vec<handoff::Facts>) = events.into_iter().map(|s| (s.held, s.facts)).unzip();
    let mut tails: Vec<Vec<Event>> = held.iter_mut().map(|h| std::mem::take(&mut h.tail)).collect();
    let daemon_apps = facts.iter().flat_map(|f| f.daemon_apps.iter().map(|a| &**a));
    let (table, name_notes) = names::unify_spilled(t.raw_names, daemon_apps, &mut tails, files);
    notes.extend(name_notes);
    let mut tally = crate::filter::EventTally::default();
    facts.iter().for_each(|f| tally.add(f.tally));
    tails.iter_mut().for_each(|evs| opts.filters.keep_events(evs, &mut tally));
    notes.extend(opts.filters.event_notes(&tally));
    let matches = facts.iter().map(|f| f.matches).sum::<u64>() + tails.iter().map(|evs| evs.len() as u64).sum::<u64>();
    let latest = facts.iter().filter_map(|f| f.latest).chain(tails.iter().flatten().filter_map(|e| e.ts.get()));
    let end = files.iter().filter_map(|f| f.last_ts).chain(latest).max();
    let end = correlate::End { log: opts.filters.end(end), days: t.days };
    let mut started = vec![false; rules.len()];
    let starts = tails.iter().flatten().filter(|e| e.role == crate::rules::Role::Start).map(|e| e.rule);
    for rule in facts.iter().flat_map(|f| f.started.iter().copied()).chain(starts) {
        if let Some(s) = started.get_mut(rule as usize) {
            *s = true;
        }
    }
    for (h, tail) in held.iter_mut().zip(tails) {
        h.tail = tail;
    }
    Ready { lists: held, table, started, end, matches }
}

/// An error reading spilled incidents back, as the scan's error: reading
/// back fails only on the temporary file.
fn read_back(budget: &Budget, source: std::io::Error) -> SpillError {
    SpillError::IncidentsIo { doing: Doing::ReadBack, dir: budget.spill_dir(), source }
}

/// The files' unknown-error tallies, in file order (their source ids
/// ascending), once apps have their names.
fn take_tallies(files: &mut [FileStats], specs: &[usize]) -> Vec<mine::SourceTally> {
    files
        .iter_mut()
        .zip(specs)
        .enumerate()
        .filter_map(|(source, (f, &spec))| {
            let tally = *f.mine.take()?;
            Some(mine::SourceTally { source, path: f.path.clone(), app: f.app.clone(), spec, tally })
        })
        .collect()
}

/// Clusters the tallies, with the records a rule matched but no finding
/// took (every finding's lines noted already); says when a memory cap
/// evicted any.
fn mine_unmatched(mut tallies: Vec<mine::SourceTally>, opts: &ScanOptions, notes: &mut Vec<String>) -> Mined {
    let Some(m) = opts.mine else { return Mined::default() };
    mine::release_unmatched(&mut tallies);
    let mined = mine::gather(tallies, (!m.log).then_some(mine::TEMPLATE_CAP), opts.zone);
    if mined.evicted.1 > 0 {
        notes.push(format!(
            "unrecognised errors: the memory cap ({} distinct messages a file, {} templates) evicted the rarest {} \
             (their {} occurrence(s) are not counted)",
            mine::tally::CAP,
            mine::TEMPLATE_CAP,
            mined.evicted.1,
            mined.evicted.0
        ));
    }
    mined
}

/// Runs `stage` on `pool`, whose workers then share its parallel parts
/// (`pool::map_in_order`), or on this thread when there is none.
fn on<R: Send>(pool: Option<&rayon::ThreadPool>, stage: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(pool) => pool.install(stage),
        None => stage(),
    }
}

/// One source through [`scan_sources`]' per-source stage, streamed in
/// chunks of `chunk` bytes when it is not mapped. Not API: the fuzz
/// target `scan` compares tiny chunks with one whole pass, which the
/// public entry points (8 MiB chunks) never reach on small inputs.
#[doc(hidden)]
pub fn scan_source_in_chunks(
    matcher: &Matcher,
    spec: &SourceSpec,
    opts: &ScanOptions,
    chunk: usize,
) -> Result<(Vec<Event>, FileStats), Skip> {
    source::scan_with(matcher, spec, opts, chunk, None)
}

/// Rule ids of units without a prefilter literal; another regex of the
/// rule is named `id (then)`, `id (until)`, `id (unless)`, `id (context)`.
fn unfiltered_names(rules: &RuleSet, units: &[u32]) -> Vec<String> {
    units
        .iter()
        .map(|u| {
            let id = UnitId(*u);
            rules.rules()[id.rule()].unit_name(id.role())
        })
        .collect()
}

/// Names the files without times, and the files whose stamps are times
/// of day with no date before them (their times are known within the
/// file, not their day).
fn untimed_notes(files: &[FileStats]) -> Vec<String> {
    let untimed: Vec<&str> =
        files.iter().filter(|f| !f.timestamps && f.day_end.is_none()).map(|f| f.path.as_str()).collect();
    let days: Vec<String> = files
        .iter()
        .filter(|f| f.day_end.is_some())
        .map(|f| if f.timestamps { format!("{} (until its first full date)", f.path) } else { f.path.clone() })
        .collect();
    let mut notes = Vec::new();
    if !untimed.is_empty() {
        notes.push(format!(
            "{} file(s) have no timestamps, so their incidents carry no times: {}",
            untimed.len(),
            untimed.join(", ")
        ));
    }
    if !days.is_empty() {
        notes.push(format!(
            "{} file(s) have times of day but no date before them: windows are judged on each file's own clock, \
             and their incidents carry times of day (`time_of_day`) but no date (`first_seen` and `last_seen` are \
             null): {}",
            days.len(),
            days.join(", ")
        ));
    }
    notes
}
