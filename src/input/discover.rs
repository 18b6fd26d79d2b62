//! Turns the paths a user gave into a sorted list of sources. Directories
//! are walked (following symlinks, each real directory once); files found
//! by walking are kept only if they look like logs, files named explicitly
//! are always read. Each source is named by the [`Naming`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::naming::looks_like_log;
use super::{Naming, Origin, Skip, SkipReason, SourceSpec};

/// Expands `paths` (`-` is stdin) into sources in a stable order (by path;
/// stdin first) plus the paths that could not be listed.
pub fn discover(paths: &[String], naming: &mut Naming) -> (Vec<SourceSpec>, Vec<Skip>) {
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut skips = Vec::new();
    let mut stdin = false;
    let mut seen_dirs = BTreeSet::new();
    for p in paths {
        if p == "-" {
            stdin = true;
            continue;
        }
        let path = Path::new(p);
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut files, &mut skips, &mut seen_dirs),
            Ok(_) => {
                files.insert(path.to_path_buf());
            }
            Err(e) => skips.push(io_skip(path, &e)),
        }
    }
    let mut specs = Vec::new();
    if stdin {
        specs.push(SourceSpec { id: 0, meta: naming.name_stdin(), origin: Origin::Stdin });
    }
    for f in files {
        let meta = naming.name_file(&f);
        specs.push(SourceSpec { id: specs.len(), meta, origin: Origin::File(f) });
    }
    skips.sort_by(|a, b| a.path.cmp(&b.path));
    (specs, skips)
}

fn walk(dir: &Path, files: &mut BTreeSet<PathBuf>, skips: &mut Vec<Skip>, seen: &mut BTreeSet<PathBuf>) {
    // A symlink loop would otherwise recurse forever: each real directory
    // is entered once.
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !seen.insert(real) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return skips.push(io_skip(dir, &e)),
    };
    for entry in entries {
        let path = match entry {
            Ok(e) => e.path(),
            Err(e) => return skips.push(io_skip(dir, &e)),
        };
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, files, skips, seen),
            Ok(m) if m.is_file() => {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if looks_like_log(&name) {
                    files.insert(path);
                }
            }
            Ok(_) => {}
            Err(e) => skips.push(io_skip(&path, &e)),
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
}
