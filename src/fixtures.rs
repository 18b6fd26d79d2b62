//! For unit tests only: the shipped fixture logs, which several stages'
//! tests run over (the prefilter's routing and literal oracle, chunked and
//! split scans).

use std::path::{Path, PathBuf};

/// Every `*.log` under `fixtures/`, in path order.
pub(crate) fn logs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    logs_under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"), &mut out);
    out
}

/// Every directory of logs the tests scan: each directory under
/// `fixtures/` and each one under those (a recording, an excerpt, a
/// rule's fixtures), in path order.
pub(crate) fn dirs() -> Vec<PathBuf> {
    let subdirs = |dir: &Path| -> Vec<PathBuf> {
        let mut d: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect())
            .unwrap_or_default();
        d.sort();
        d
    };
    let mut out = Vec::new();
    for top in subdirs(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")) {
        out.extend(subdirs(&top));
        out.push(top);
    }
    out
}

fn logs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("fixtures").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            logs_under(&p, out);
        } else if p.extension().is_some_and(|e| e == "log") {
            out.push(p);
        }
    }
}
