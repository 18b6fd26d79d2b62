//! Says loudly which tests did not run. The Alertmanager round trips
//! (`tests/alertmanager.rs`, `tests/deliver.rs`) need a real Alertmanager;
//! where none is installed they return early, libtest counts them as
//! passed, and their `SKIPPED` note is one line among hundreds. This
//! target has no harness, so nothing captures its output: every
//! `cargo test` without Alertmanager ends this target with a notice naming
//! each of those tests, and a run that never checked delivery cannot pass
//! for one that did. `.ci/run` installs Alertmanager and sets
//! `LOGTRIAGE_REQUIRE_ALERTMANAGER=1`, under which a missing one fails the
//! tests themselves.

use std::path::Path;

// The lookup the tests use, not a copy of it; the rest of the module
// (starting and querying a server) is theirs.
#[allow(dead_code)]
#[path = "alertmanager/server.rs"]
mod server;

/// The files whose tests skip without Alertmanager.
const SKIPPING: [&str; 2] = ["tests/alertmanager.rs", "tests/deliver.rs"];

/// The tests of `text` that skip without Alertmanager: each names itself
/// to `start_or_skip("...")` or `binary_or_skip("...")`.
fn skipping_tests(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for call in ["start_or_skip(\"", "binary_or_skip(\""] {
        for (at, _) in text.match_indices(call) {
            let rest = &text[at + call.len()..];
            if let Some(end) = rest.find('"') {
                names.push(rest[..end].to_string());
            }
        }
    }
    names.sort();
    names
}

fn main() {
    if server::binary().is_some() {
        println!("not_run: Alertmanager found; its round-trip tests ran");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names = Vec::new();
    for file in SKIPPING {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        names.extend(skipping_tests(&text).into_iter().map(|n| format!("{file}: {n}")));
    }
    let rule = "=".repeat(78);
    let mut notice = format!(
        "{rule}\nNOT RUN: {} Alertmanager tests were counted as passed but checked nothing:\n\
         no Alertmanager binary (alertmanager or prometheus-alertmanager on PATH, or\n\
         /usr/bin/prometheus-alertmanager).\n",
        names.len()
    );
    for n in &names {
        notice.push_str(&format!("  {n}\n"));
    }
    notice.push_str(
        "Install it with .ci/install-alertmanager to run them; .ci/run does, and sets\n\
         LOGTRIAGE_REQUIRE_ALERTMANAGER=1 so that a missing one fails them.\n",
    );
    notice.push_str(&rule);
    eprintln!("{notice}");
}
