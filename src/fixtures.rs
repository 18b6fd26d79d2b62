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
