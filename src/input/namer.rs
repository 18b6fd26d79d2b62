//! Which app and stream each file belongs to, by the best source at hand:
//!
//! 1. `--pm2`: the running pm2's own file paths (`pm2 jlist`);
//! 2. an ecosystem file: given with `--ecosystem`, or found beside the logs
//!    (in the directory of a scanned file or its parent, under one of
//!    [`ecosystem::FILE_NAMES`]): the files its apps write, resolved as pm2
//!    resolves them;
//! 3. the file name, as pm2 names files by default ([`classify`]).
//!
//! A file matches a configured path when it is that path (its directory
//! compared after resolving symlinks), or a rotated copy of it, or pm2's
//! `-ID` form of it for an app whose logs are not merged. With
//! `--ecosystem`, a file found elsewhere whose name is one the given file
//! configures, for one app only, is also taken: logs copied off the server
//! keep their names, not their directories.
//!
//! Hands on [`SourceMeta`]s with `app_from` set, and a [`NamingReport`]:
//! the ecosystem files used, the raw app names known (for
//! [`crate::names`]), and notes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::docker;
use super::ecosystem::{self, Ecosystem, Homes};
use super::naming::{classify, instance_of, live_name};
use super::pm2::{self, Pm2List};
use super::{AppFrom, SourceMeta, Stream};

/// How files are to be named (the `scan` / `watch` flags).
#[derive(Debug, Clone, Default)]
pub struct NamingOptions {
    /// `--ecosystem PATH` files.
    pub ecosystems: Vec<PathBuf>,
    /// `--pm2`: ask the running pm2.
    pub pm2: bool,
    /// `--as FILENAME`: the file stdin plays.
    pub stdin_as: Option<String>,
}

/// A given `--ecosystem` file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot read the ecosystem file ({source}); check the --ecosystem path")]
pub struct NamingError {
    /// The path as given.
    pub path: String,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// An ecosystem file used, as the summary lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcosystemUse {
    /// The path as given or found.
    pub path: String,
    /// `given` (`--ecosystem`) or `found` (beside the logs).
    pub how: &'static str,
    /// Its apps and their files.
    pub apps: Vec<EcosystemApp>,
}

/// An app of an ecosystem file, as the summary lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcosystemApp {
    /// Its raw name.
    pub name: String,
    /// The files it writes (before any `-ID` suffix).
    pub files: Vec<EcosystemFile>,
    /// pm2's timestamp format for its lines (`time: true` is
    /// `YYYY-MM-DDTHH:mm:ss`), if set.
    pub log_date_format: Option<String>,
    /// `log_type` (`json`), if set.
    pub log_type: Option<String>,
}

/// One file of an ecosystem app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcosystemFile {
    /// Absolute path as configured.
    pub path: String,
    /// The stream written there.
    pub stream: Stream,
    /// Whether pm2 adds `-ID` per process (`null`: cannot be known).
    pub per_instance: Option<bool>,
}

/// What naming found, for the scan's summary and the name table.
#[derive(Debug, Clone, Default)]
pub struct NamingReport {
    /// Ecosystem files used, in the order read.
    pub ecosystems: Vec<EcosystemUse>,
    /// Raw app names known from ecosystem files and pm2, with their source.
    pub raw_names: Vec<(String, AppFrom)>,
    /// What the reader should know (unresolvable keys, pm2 not running).
    pub notes: Vec<String>,
}

/// A configured file: whose, which stream, where.
#[derive(Debug, Clone)]
struct Claim {
    /// The app (`None`: the daemon's `pm2.log`).
    app: Option<String>,
    stream: Stream,
    /// Directory, symlinks resolved where it exists.
    dir: PathBuf,
    /// File name as configured.
    name: String,
    per_instance: Option<bool>,
    from: AppFrom,
    /// For pm2's own paths: the one process writing there.
    instance: Option<u32>,
    /// From a `--ecosystem` file (name-only matches allowed).
    given: bool,
    /// The ecosystem file it comes from (index into the naming's list;
    /// `None` for pm2's own paths).
    ecosystem: Option<usize>,
}

/// Names files; keeps what it read so that `watch` can name files it finds
/// later without reading the ecosystem files or asking pm2 again.
#[derive(Debug)]
pub struct Naming {
    homes: Homes,
    stdin_as: Option<String>,
    ecosystems: Vec<Ecosystem>,
    claims: Vec<Claim>,
    pm2_names: Vec<String>,
    /// Directories searched for ecosystem files.
    searched: BTreeSet<PathBuf>,
    /// Directories with symlinks resolved.
    real_dirs: BTreeMap<PathBuf, PathBuf>,
    /// Files matched by name only, per `--ecosystem` file.
    by_name_only: BTreeMap<String, usize>,
    notes: Vec<String>,
}

impl Naming {
    /// Reads the given ecosystem files and, with `--pm2`, asks pm2. A
    /// given file that cannot be read is an error; pm2 not answering is a
    /// note.
    pub fn new(opts: &NamingOptions) -> Result<Naming, NamingError> {
        let home = std::env::var("HOME").ok().filter(|h| !h.is_empty());
        let pm2_home = pm2::pm2_home(home.as_deref().map(Path::new)).map(|p| p.to_string_lossy().into_owned());
        let mut naming = Naming {
            homes: Homes { home, pm2_home },
            stdin_as: opts.stdin_as.clone(),
            ecosystems: Vec::new(),
            claims: Vec::new(),
            pm2_names: Vec::new(),
            searched: BTreeSet::new(),
            real_dirs: BTreeMap::new(),
            by_name_only: BTreeMap::new(),
            notes: Vec::new(),
        };
        for path in &opts.ecosystems {
            let shown = path.display().to_string();
            let mut notes = Vec::new();
            let eco = ecosystem::load(path, &shown, true, &naming.homes, &mut notes)
                .map_err(|source| NamingError { path: shown.clone(), source })?;
            naming.notes.extend(notes);
            naming.add_ecosystem(eco);
        }
        if opts.pm2 {
            match pm2::jlist(naming.homes.home.as_deref().map(Path::new)) {
                Ok(list) => naming.add_pm2(&list),
                Err(note) => naming.notes.push(note),
            }
        }
        Ok(naming)
    }

    /// Names the file at `path` (shown as its display form).
    pub fn name_file(&mut self, path: &Path) -> SourceMeta {
        self.name_as(path, &path.display().to_string())
    }

    /// Names stdin: as the `--as` file, or not at all.
    pub fn name_stdin(&mut self) -> SourceMeta {
        match self.stdin_as.clone() {
            Some(plays) => self.name_as(Path::new(&plays), "<stdin>"),
            None => SourceMeta::unnamed("<stdin>"),
        }
    }

    /// What naming found so far; its notes are taken (each is given once).
    pub fn report(&mut self) -> NamingReport {
        let mut notes = std::mem::take(&mut self.notes);
        for (eco, n) in std::mem::take(&mut self.by_name_only) {
            notes.push(format!(
                "{eco}: {n} file(s) were matched to its apps by file name only, not in the directory it configures \
                 (logs copied elsewhere?)"
            ));
        }
        let mut seen = BTreeSet::new();
        notes.retain(|n| seen.insert(n.clone()));
        let mut raw_names: Vec<(String, AppFrom)> = self
            .ecosystems
            .iter()
            .flat_map(|e| e.apps.iter().filter_map(|a| a.name.clone()))
            .map(|n| (n, AppFrom::Ecosystem))
            .collect();
        raw_names.extend(self.pm2_names.iter().map(|n| (n.clone(), AppFrom::Pm2)));
        NamingReport { ecosystems: self.ecosystems.iter().map(use_of).collect(), raw_names, notes }
    }

    fn name_as(&mut self, path: &Path, shown: &str) -> SourceMeta {
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        self.search_beside(&dir);
        let mut meta = classify(shown, &file_name);
        if docker::is_container_log(&file_name) {
            if let Some(name) = docker::container_name(path) {
                meta.app = Some(name);
                meta.app_from = Some(AppFrom::Docker);
            }
            return meta;
        }
        if self.claims.is_empty() {
            return meta;
        }
        let real_dir = self.real_dir(&dir);
        let live = live_name(&file_name);
        if let Some(d) = self.claim(&real_dir, &live, shown) {
            meta.app_from = d.app.as_ref().map(|_| d.from);
            meta.app = d.app;
            meta.stream = d.stream;
            meta.instance = d.instance;
        }
        meta
    }

    /// The claims that match (`dir`, `live`), decided: pm2's own paths
    /// first, then ecosystem files, then name-only matches of given ones.
    fn claim(&mut self, dir: &Path, live: &str, shown: &str) -> Option<Decided> {
        let (decided, by_name) = {
            let at_path: Vec<(&Claim, Option<u32>)> =
                self.claims.iter().filter(|c| c.dir == dir).filter_map(|c| matches(c, live).map(|i| (c, i))).collect();
            let pm2: Vec<_> = at_path.iter().filter(|(c, _)| c.from == AppFrom::Pm2).copied().collect();
            let chosen = if pm2.is_empty() { at_path } else { pm2 };
            if chosen.is_empty() {
                let by_name: Vec<(&Claim, Option<u32>)> =
                    self.claims.iter().filter(|c| c.given).filter_map(|c| matches(c, live).map(|i| (c, i))).collect();
                if by_name.is_empty() {
                    return None;
                }
                (decide(&by_name, shown), by_name[0].0.ecosystem)
            } else {
                (decide(&chosen, shown), None)
            }
        };
        match decided {
            Ok(d) => {
                if let Some(eco) = by_name.and_then(|i| self.ecosystems.get(i)) {
                    *self.by_name_only.entry(eco.shown.clone()).or_default() += 1;
                }
                Some(d)
            }
            Err(note) => {
                self.notes.push(note);
                None
            }
        }
    }

    fn real_dir(&mut self, dir: &Path) -> PathBuf {
        if let Some(r) = self.real_dirs.get(dir) {
            return r.clone();
        }
        let real = real_dir(dir);
        self.real_dirs.insert(dir.to_path_buf(), real.clone());
        real
    }

    /// Loads ecosystem files in `dir` and its parent, once per directory.
    fn search_beside(&mut self, dir: &Path) {
        let real = self.real_dir(dir);
        let parent = real.parent().map(Path::to_path_buf);
        for (d, shown_dir) in [(Some(real.clone()), dir.to_path_buf()), (parent, parent_shown(dir))] {
            let Some(d) = d else { continue };
            if !self.searched.insert(d.clone()) {
                continue;
            }
            for name in ecosystem::FILE_NAMES {
                let path = d.join(name);
                // Given with --ecosystem already: read once, listed as given.
                if !path.is_file() || self.ecosystems.iter().any(|e| e.path == path) {
                    continue;
                }
                let shown = display(&shown_dir.join(name));
                let mut notes = Vec::new();
                match ecosystem::load(&path, &shown, false, &self.homes, &mut notes) {
                    Ok(eco) if !eco.apps.is_empty() => self.add_ecosystem(eco),
                    Ok(_) => {}
                    Err(e) => notes.push(format!("{shown}: cannot read ({e}); not used")),
                }
                self.notes.extend(notes);
            }
        }
    }

    fn add_ecosystem(&mut self, eco: Ecosystem) {
        if self.ecosystems.iter().any(|e| e.path == eco.path) {
            return;
        }
        let index = self.ecosystems.len();
        for app in &eco.apps {
            for f in &app.files {
                let (dir, name) = split(&f.path);
                self.claims.push(Claim {
                    app: app.name.clone(),
                    stream: f.stream,
                    dir: real_dir(&dir),
                    name,
                    per_instance: f.per_instance,
                    from: AppFrom::Ecosystem,
                    instance: None,
                    given: eco.given,
                    ecosystem: Some(index),
                });
            }
        }
        self.ecosystems.push(eco);
    }

    fn add_pm2(&mut self, list: &Pm2List) {
        let mut writers: BTreeMap<String, Vec<(u32, &str, Stream)>> = BTreeMap::new();
        for p in &list.procs {
            let env = &p.pm2_env;
            for (path, stream) in [
                (&env.pm_out_log_path, Stream::Out),
                (&env.pm_err_log_path, Stream::Err),
                (&env.pm_log_path, Stream::Combined),
            ] {
                if let Some(path) = path.as_deref().filter(|p| p.starts_with('/')) {
                    writers.entry(path.to_string()).or_default().push((p.pm_id, p.name.as_str(), stream));
                }
            }
            if !self.pm2_names.contains(&p.name) {
                self.pm2_names.push(p.name.clone());
            }
        }
        for (path, procs) in &writers {
            let (dir, name) = split(path);
            // Merged logs: several processes write one file.
            let instance = match procs.as_slice() {
                [(id, ..)] if name.ends_with(&format!("-{id}.log")) => Some(*id),
                _ => None,
            };
            for (_, app, stream) in procs {
                self.claims.push(Claim {
                    app: Some((*app).to_string()),
                    stream: *stream,
                    dir: real_dir(&dir),
                    name: name.clone(),
                    per_instance: Some(false),
                    from: AppFrom::Pm2,
                    instance,
                    given: false,
                    ecosystem: None,
                });
            }
        }
        self.claims.push(Claim {
            app: None,
            stream: Stream::Daemon,
            dir: real_dir(&list.home),
            name: "pm2.log".into(),
            per_instance: Some(false),
            from: AppFrom::Pm2,
            instance: None,
            given: false,
            ecosystem: None,
        });
    }
}

/// The file's app, stream and process, as decided from its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decided {
    app: Option<String>,
    stream: Stream,
    instance: Option<u32>,
    from: AppFrom,
}

/// One app for the file, or a note (for the caller) when several claim it.
fn decide(found: &[(&Claim, Option<u32>)], shown: &str) -> Result<Decided, String> {
    let apps: BTreeSet<Option<&str>> = found.iter().map(|(c, _)| c.app.as_deref()).collect();
    if apps.len() > 1 {
        let names: Vec<&str> = apps.iter().map(|a| a.unwrap_or("the pm2 daemon")).collect();
        return Err(format!("{shown}: configured for {} at once; named from its file name", names.join(" and ")));
    }
    let (first, _) = found[0];
    // One app writing out and err to one file: its lines are both.
    let stream = if found.iter().all(|(c, _)| c.stream == first.stream) { first.stream } else { Stream::Combined };
    let instances: BTreeSet<Option<u32>> = found.iter().map(|(c, i)| c.instance.or(*i)).collect();
    let instance = if instances.len() == 1 { instances.into_iter().next().flatten() } else { None };
    Ok(Decided { app: first.app.clone(), stream, instance, from: first.from })
}

/// Whether `live` (a file name, rotation stripped) is `claim`'s file, and
/// its process id if pm2 suffixed one.
fn matches(claim: &Claim, live: &str) -> Option<Option<u32>> {
    let exact = live == claim.name;
    let suffixed = || instance_of(&claim.name, live);
    match claim.per_instance {
        Some(false) => exact.then_some(None),
        // pm2 suffixes only paths ending in `.log`.
        Some(true) if !claim.name.ends_with(".log") => exact.then_some(None),
        Some(true) => suffixed().map(Some),
        None => suffixed().map(Some).or_else(|| exact.then_some(None)),
    }
}

fn split(path: &str) -> (PathBuf, String) {
    let p = Path::new(path);
    let dir = p.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    (dir, name)
}

/// `dir` with symlinks resolved, or made absolute when it does not exist.
fn real_dir(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).or_else(|_| std::path::absolute(dir)).unwrap_or_else(|_| dir.to_path_buf())
}

/// The parent of `dir` as the user would write it: `logs` → `.`,
/// `a/logs` → `a`, `.` → `..`.
fn parent_shown(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(p) if dir.file_name().is_some() => {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        }
        _ => dir.join(".."),
    }
}

/// A path as shown in notes and the summary, without a leading `./`.
fn display(p: &Path) -> String {
    let s = p.display().to_string();
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

fn use_of(e: &Ecosystem) -> EcosystemUse {
    EcosystemUse {
        path: e.shown.clone(),
        how: if e.given { "given" } else { "found" },
        apps: e
            .apps
            .iter()
            .filter_map(|a| {
                Some(EcosystemApp {
                    name: a.name.clone()?,
                    files: a
                        .files
                        .iter()
                        .map(|f| EcosystemFile { path: f.path.clone(), stream: f.stream, per_instance: f.per_instance })
                        .collect(),
                    log_date_format: a.log_date_format.clone(),
                    log_type: a.log_type.clone(),
                })
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory with `ecosystem.config.js` holding `apps` and a `logs/`
    /// directory; the files of `logs/` named with it found beside them.
    /// A file name and what naming gave it: app, app_from, stream, instance.
    type Named = (String, Option<String>, Option<AppFrom>, Stream, Option<u32>);

    fn named(apps: &str, logs: &[&str]) -> Vec<Named> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ecosystem.config.js"), format!("module.exports = {{ apps: [{apps}] }}"))
            .expect("write");
        std::fs::create_dir(dir.path().join("logs")).expect("mkdir");
        let mut naming = Naming::new(&NamingOptions::default()).expect("naming");
        logs.iter()
            .map(|name| {
                let m = naming.name_file(&dir.path().join("logs").join(name));
                (name.to_string(), m.app, m.app_from, m.stream, m.instance)
            })
            .collect()
    }

    fn eco(app: &str, stream: Stream, instance: Option<u32>) -> (Option<String>, Option<AppFrom>, Stream, Option<u32>) {
        (Some(app.to_string()), Some(AppFrom::Ecosystem), stream, instance)
    }

    fn rest<A, B, C, D, E>(v: Vec<(A, B, C, D, E)>) -> Vec<(B, C, D, E)> {
        v.into_iter().map(|(_, b, c, d, e)| (b, c, d, e)).collect()
    }

    #[test]
    fn rotated_copies_are_their_live_files() {
        let got = named(
            "{ name: 'bridge', error_file: 'logs/pm2-error.log' }",
            &["pm2-error.log", "pm2-error__2026-11-20_00-00-00.log.gz", "pm2-error.log.2"],
        );
        assert_eq!(rest(got), vec![eco("bridge", Stream::Err, None); 3]);
    }

    #[test]
    fn cluster_files_carry_their_process_id_and_only_those_match() {
        let got = named("{ name: 'gw', instances: 4, error_file: 'logs/errors.log' }", &["errors-3.log", "errors.log"]);
        assert_eq!(got[0].1.as_deref(), Some("gw"));
        assert_eq!(got[0].4, Some(3));
        // Not merged: pm2 never writes the bare name; it is another file.
        assert_eq!((got[1].1.as_deref(), got[1].2), (Some("errors"), Some(AppFrom::FileName)));
    }

    #[test]
    fn unknown_merging_takes_either_form() {
        let got = named(
            "{ name: 'gw', instances: process.env.N, error_file: 'logs/errors.log' }",
            &["errors-1.log", "errors.log"],
        );
        assert_eq!(rest(got), vec![eco("gw", Stream::Err, Some(1)), eco("gw", Stream::Err, None)]);
    }

    #[test]
    fn one_file_for_out_and_err_is_combined() {
        let got =
            named("{ name: 'backup', out_file: 'logs/backup.log', error_file: 'logs/backup.log' }", &["backup.log"]);
        assert_eq!(rest(got), vec![eco("backup", Stream::Combined, None)]);
    }

    #[test]
    fn a_file_two_apps_write_is_named_by_its_file_name_with_a_note() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("ecosystem.config.js"),
            "module.exports = { apps: [{ name: 'a', error_file: 'shared-error.log' }, { name: 'b', error_file: 'shared-error.log' }] }",
        )
        .expect("write");
        let mut naming = Naming::new(&NamingOptions::default()).expect("naming");
        let m = naming.name_file(&dir.path().join("shared-error.log"));
        assert_eq!((m.app.as_deref(), m.app_from), (Some("shared"), Some(AppFrom::FileName)));
        let notes = naming.report().notes;
        assert!(
            notes
                .iter()
                .any(|n| n.ends_with("shared-error.log: configured for a and b at once; named from its file name")),
            "{notes:?}"
        );
    }

    #[test]
    fn an_ecosystem_two_levels_up_is_not_looked_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("ecosystem.config.js"),
            "module.exports = { apps: [{ name: 'x', out_file: 'a/b/out.log' }] }",
        )
        .expect("write");
        std::fs::create_dir_all(dir.path().join("a/b")).expect("mkdir");
        let mut naming = Naming::new(&NamingOptions::default()).expect("naming");
        let m = naming.name_file(&dir.path().join("a/b/out.log"));
        assert_eq!(m.app_from, Some(AppFrom::FileName));
        assert!(naming.report().ecosystems.is_empty());
    }

    #[test]
    fn stdin_plays_its_as_file() {
        let mut naming =
            Naming::new(&NamingOptions { stdin_as: Some("api-error-2.log".into()), ..NamingOptions::default() })
                .expect("naming");
        let m = naming.name_stdin();
        assert_eq!(
            (m.path.as_str(), m.app.as_deref(), m.stream, m.instance),
            ("<stdin>", Some("api"), Stream::Err, Some(2))
        );
        let mut plain = Naming::new(&NamingOptions::default()).expect("naming");
        assert_eq!(plain.name_stdin(), SourceMeta::unnamed("<stdin>"));
    }
}
