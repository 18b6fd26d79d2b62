//! Turns the paths a user gave into a sorted list of sources. Directories
//! are walked (following symlinks, each real directory once); files found
//! by walking are kept only if they look like logs (the others are
//! [`PassedOver`]), files named explicitly are always read. A file reached
//! by several paths (`.` and `logs/../pm2.log`, two symlinked directories,
//! a hard link) is one file, known by its identity (device and inode on
//! Unix): it is read once, under the first path that reached it, and the
//! others are [`Duplicate`]s. Each source is named by the [`Naming`].

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::naming::looks_like_log;
use super::{Naming, Origin, Skip, SkipReason, SourceSpec};

/// What the paths given hold: the sources to read, and what was not read.
#[derive(Debug, Default)]
pub struct Discovery {
    /// The sources, stdin first, then by path.
    pub specs: Vec<SourceSpec>,
    /// Paths that could not be listed or read.
    pub skipped: Vec<Skip>,
    /// Files found in directories and passed over (not named like logs).
    pub passed_over: PassedOver,
    /// Paths that reached a file already found under another path.
    pub duplicates: Vec<Duplicate>,
}

/// Files walking found but did not read: their names are not a log's
/// (`*.log`, `*.log.N`, and their `.gz`). Summary field `passed_over`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassedOver {
    /// How many.
    pub count: u64,
    /// The first [`PASSED_OVER_SHOWN`] of them, by path.
    pub paths: Vec<String>,
}

/// How many passed-over paths the summary names.
pub const PASSED_OVER_SHOWN: usize = 10;

/// A path to a file already found under another path: not read again.
/// Summary field `duplicates[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    /// The path not read.
    pub path: String,
    /// The path the file was read under (the first that reached it).
    pub same_as: String,
}

/// No log at all in the paths given (nothing named explicitly, and
/// walking found no file named like a log): an input error, not a clean
/// run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NothingToRead(String);

impl Discovery {
    /// The error when these paths yield no source at all and nothing
    /// failed (a failure is already an error, with the report naming it).
    pub fn nothing_to_read(&self, paths: &[String]) -> Option<NothingToRead> {
        if !self.specs.is_empty() || !self.skipped.is_empty() {
            return None;
        }
        let given = paths.join(", ");
        let found = match self.passed_over.count {
            0 => "no file there".to_string(),
            n => format!(
                "passed over {n} file(s) not named like a log (*.log, *.log.N, and their .gz): {}{}",
                self.passed_over.paths.join(", "),
                if n as usize > self.passed_over.paths.len() { ", ..." } else { "" }
            ),
        };
        let example = self.passed_over.paths.first().map_or("DIR/APP-error.log", String::as_str);
        Some(NothingToRead(format!(
            "no log to read in {given}: {found}; name a file to read it whatever its name \
             (`logtriage scan {example}`), or pipe it in (`logtriage scan - --as APP-error.log < {example}`)"
        )))
    }
}

/// Which file a path names, whatever the path. Unix: device and inode,
/// from the metadata walking already reads. Windows: std has no stable
/// file index, so `same_file` (volume serial number and file index, what
/// ripgrep and walkdir use) holds a handle per file. Elsewhere: the
/// canonical path (symlinks and `..` resolved; hard links not).
#[cfg(unix)]
#[derive(Debug, PartialEq, Eq, Hash)]
struct Identity(u64, u64);

#[cfg(windows)]
#[derive(Debug, PartialEq, Eq, Hash)]
struct Identity(same_file::Handle);

#[cfg(not(any(unix, windows)))]
#[derive(Debug, PartialEq, Eq, Hash)]
struct Identity(PathBuf);

impl Identity {
    #[cfg(unix)]
    fn of(_: &Path, meta: &std::fs::Metadata) -> Option<Identity> {
        use std::os::unix::fs::MetadataExt;
        Some(Identity(meta.dev(), meta.ino()))
    }

    #[cfg(windows)]
    fn of(path: &Path, _: &std::fs::Metadata) -> Option<Identity> {
        same_file::Handle::from_path(path).ok().map(Identity)
    }

    #[cfg(not(any(unix, windows)))]
    fn of(path: &Path, _: &std::fs::Metadata) -> Option<Identity> {
        std::fs::canonicalize(path).ok().map(Identity)
    }
}

/// Files found so far: each file once, under the first path that reached
/// it.
#[derive(Default)]
struct Found {
    files: BTreeSet<PathBuf>,
    /// Each file's identity and the path it is read under. Only looked up,
    /// never iterated: output order comes from `files`.
    ids: HashMap<Identity, PathBuf>,
    duplicates: Vec<Duplicate>,
    passed_over: Vec<PathBuf>,
    skips: Vec<Skip>,
    seen_dirs: BTreeSet<PathBuf>,
}

impl Found {
    /// Keeps `path` unless its file was found already. A file whose
    /// identity cannot be read is kept (it is then read, or fails, alone).
    fn add(&mut self, path: PathBuf, meta: &std::fs::Metadata) {
        let Some(id) = Identity::of(&path, meta) else {
            self.files.insert(path);
            return;
        };
        match self.ids.get(&id) {
            Some(first) if *first == path => {}
            Some(first) => {
                let same_as = first.display().to_string();
                self.duplicates.push(Duplicate { path: path.display().to_string(), same_as });
            }
            None => {
                self.files.insert(path.clone());
                self.ids.insert(id, path);
            }
        }
    }
}

/// Expands `paths` (`-` is stdin) into sources in a stable order (by path;
/// stdin first), with what was not read. Paths are taken in the order
/// given, and a directory's files in path order, so which of two paths to
/// one file is read does not depend on the order the system lists them.
pub fn discover(paths: &[String], naming: &mut Naming) -> Discovery {
    let mut found = Found::default();
    let mut stdin = false;
    for p in paths {
        if p == "-" {
            stdin = true;
            continue;
        }
        let path = Path::new(p);
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                let mut files = Vec::new();
                walk(path, &mut files, &mut found);
                files.sort_by(|a, b| a.0.cmp(&b.0));
                for (file, meta) in files {
                    found.add(file, &meta);
                }
            }
            Ok(m) => found.add(path.to_path_buf(), &m),
            Err(e) => found.skips.push(io_skip(path, &e)),
        }
    }
    let mut specs = Vec::new();
    if stdin {
        specs.push(SourceSpec { id: 0, meta: naming.name_stdin(), origin: Origin::Stdin });
    }
    for f in std::mem::take(&mut found.files) {
        let meta = naming.name_file(&f);
        specs.push(SourceSpec { id: specs.len(), meta, origin: Origin::File(f) });
    }
    found.skips.sort_by(|a, b| a.path.cmp(&b.path));
    found.passed_over.sort();
    // A path named twice (given, and found by a walk) is one duplicate.
    found.duplicates.sort_by(|a, b| a.path.cmp(&b.path));
    found.duplicates.dedup_by(|a, b| a.path == b.path);
    let passed_over = PassedOver {
        count: found.passed_over.len() as u64,
        paths: found.passed_over.iter().take(PASSED_OVER_SHOWN).map(|p| p.display().to_string()).collect(),
    };
    Discovery { specs, skipped: found.skips, passed_over, duplicates: found.duplicates }
}

/// pm2's own files in its home (`~/.pm2`), beside the logs.
const PM2_HOME_FILES: &[&str] =
    &["dump.pm2", "dump.pm2.bak", "module_conf.json", "conf.js", "touch", "rpc.sock", "pub.sock"];

/// Returns true if and only if a file of this name is known not to be a
/// log: pm2's own files (`dump.pm2`, `pids/*.pid`, ...) and ecosystem
/// files. Walking passes them over without counting them: a pm2 home
/// always holds them, and naming them on every run would hide the file a
/// user meant (`api-error.txt`).
fn known_not_log(name: &str) -> bool {
    PM2_HOME_FILES.contains(&name)
        || name.ends_with(".pid")
        || super::ecosystem::FILE_NAMES.contains(&name)
        || super::docker::CONTAINER_FILES.contains(&name)
}

/// Collects the log files under `dir` with their metadata into `files`.
fn walk(dir: &Path, files: &mut Vec<(PathBuf, std::fs::Metadata)>, found: &mut Found) {
    // A symlink loop would otherwise recurse forever: each real directory
    // is entered once.
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !found.seen_dirs.insert(real) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return found.skips.push(io_skip(dir, &e)),
    };
    for entry in entries {
        let path = match entry {
            Ok(e) => e.path(),
            Err(e) => return found.skips.push(io_skip(dir, &e)),
        };
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, files, found),
            Ok(m) if m.is_file() => {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if looks_like_log(&name) {
                    files.push((path, m));
                } else if !known_not_log(&name) {
                    found.passed_over.push(path);
                }
            }
            Ok(_) => {}
            Err(e) => found.skips.push(io_skip(&path, &e)),
        }
    }
}

/// A skip for an I/O error, with a sentence that names the file and the
/// next step.
pub(super) fn io_skip(path: &Path, e: &std::io::Error) -> Skip {
    let shown = path.display().to_string();
    let (reason, detail) = match e.kind() {
        std::io::ErrorKind::NotFound => {
            (SkipReason::NotFound, format!("{shown}: no such file or directory; check the path"))
        }
        std::io::ErrorKind::PermissionDenied => (
            SkipReason::PermissionDenied,
            format!("{shown}: permission denied; run as the user that owns the pm2 home, or grant read access"),
        ),
        _ => match symlink_loop(path) {
            Some(chain) => (
                SkipReason::SymlinkLoop,
                format!("{shown}: symlink loop ({}); remove or repoint one of these links", chain.join(" -> ")),
            ),
            None => (SkipReason::ReadError, format!("{shown}: cannot read: {e}")),
        },
    };
    Skip { path: shown, reason, detail, bytes_read: None }
}

/// How many links [`symlink_loop`] follows; Linux gives up after 40 too.
const MAX_LINK_HOPS: usize = 40;

/// The links from `path` round to one already passed, if `path` is a
/// symbolic link that never reaches a file. std cannot name ELOOP in stable
/// Rust (`ErrorKind::FilesystemLoop` is unstable), so the chain is followed
/// here: that also shows the user which links to fix.
fn symlink_loop(path: &Path) -> Option<Vec<String>> {
    let mut chain = vec![path.to_path_buf()];
    for _ in 0..MAX_LINK_HOPS {
        let here = chain.last()?;
        let target = std::fs::read_link(here).ok()?;
        let next = here.parent().map_or_else(|| target.clone(), |dir| dir.join(&target));
        let looped = chain.contains(&next);
        chain.push(next);
        if looped {
            break;
        }
    }
    Some(chain.iter().map(|p| p.display().to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::NamingOptions;

    fn discover(paths: &[String]) -> (Vec<SourceSpec>, Vec<Skip>) {
        let found = discovery(paths);
        (found.specs, found.skipped)
    }

    fn discovery(paths: &[String]) -> Discovery {
        let mut naming = Naming::new(&NamingOptions::default()).expect("naming");
        super::discover(paths, &mut naming)
    }

    #[test]
    fn walks_sorted_and_filters_non_logs() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["b-out.log", "a-error.log", "dump.pm2", "pm2.log"] {
            std::fs::write(dir.path().join(name), "x\n").expect("write");
        }
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub/c-out.log.1"), "x\n").expect("write");
        let (specs, skips) = discover(&[dir.path().display().to_string()]);
        assert!(skips.is_empty());
        let names: Vec<String> =
            specs.iter().map(|s| s.meta.path.rsplit('/').next().unwrap_or("").to_string()).collect();
        assert_eq!(names, vec!["a-error.log", "b-out.log", "pm2.log", "c-out.log.1"]);
        assert_eq!(specs.iter().map(|s| s.id).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_named_with_their_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a-out.log"), dir.path().join("b-out.log"));
        std::os::unix::fs::symlink("b-out.log", &a).expect("symlink");
        std::os::unix::fs::symlink("a-out.log", &b).expect("symlink");
        let (specs, skips) = discover(&[a.display().to_string()]);
        assert!(specs.is_empty());
        assert_eq!(skips[0].reason, SkipReason::SymlinkLoop);
        let chain = format!("{} -> {} -> {}", a.display(), b.display(), a.display());
        assert!(skips[0].detail.contains(&chain), "{}", skips[0].detail);
    }

    #[test]
    fn missing_path_is_a_skip_not_a_failure() {
        let (specs, skips) = discover(&["/nonexistent/logtriage/x.log".to_string()]);
        assert!(specs.is_empty());
        assert_eq!(skips[0].reason, SkipReason::NotFound);
    }

    #[test]
    fn a_file_reached_by_several_paths_is_read_once_under_the_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir(d.join("logs")).expect("mkdir");
        std::fs::write(d.join("pm2.log"), "x\n").expect("write");
        std::fs::write(d.join("logs/api-out.log"), "x\n").expect("write");
        let shown = |p: &str| d.join(p).display().to_string();
        let found = discovery(&[shown("logs/../pm2.log"), d.display().to_string(), shown("pm2.log")]);
        let paths: Vec<String> = found.specs.iter().map(|s| s.meta.path.clone()).collect();
        assert_eq!(paths, [shown("logs/../pm2.log"), shown("logs/api-out.log")]);
        let dups: Vec<(String, String)> =
            found.duplicates.iter().map(|x| (x.path.clone(), x.same_as.clone())).collect();
        // Found by the walk and named again: one duplicate.
        assert_eq!(dups, [(shown("pm2.log"), shown("logs/../pm2.log"))]);
    }

    #[test]
    fn files_not_named_like_logs_are_counted_and_nothing_to_read_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["api-error.txt", "api.err", "api-error.log.old", "dump.pm2", "pm2.pid", "ecosystem.config.js"] {
            std::fs::write(dir.path().join(name), "x\n").expect("write");
        }
        let given = [dir.path().display().to_string()];
        let found = discovery(&given);
        assert!(found.specs.is_empty());
        assert_eq!(found.passed_over.count, 3);
        let err = found.nothing_to_read(&given).expect("an error").to_string();
        assert!(err.contains("passed over 3 file(s)") && err.contains("api-error.log.old"), "{err}");
        let empty = tempfile::tempdir().expect("tempdir");
        let given = [empty.path().display().to_string()];
        let err = discovery(&given).nothing_to_read(&given).expect("an error").to_string();
        assert!(err.contains("no file there"), "{err}");
        let missing = ["/nonexistent/logtriage".to_string()];
        assert_eq!(discovery(&missing).nothing_to_read(&missing), None, "already an error, with a report");
    }
}
