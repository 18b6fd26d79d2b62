//! Says loudly which tests did not run. The Alertmanager round trips
//! (`tests/alertmanager.rs`, `tests/deliver.rs`) need a real Alertmanager,
//! the HTML report's browser tests (`tests/html.rs`) a real Chromium;
//! where the program is not installed they return early, libtest counts
//! them as passed, and their `SKIPPED` note is one line among hundreds.
//! This target has no harness, so nothing captures its output: every
//! `cargo test` without one of them ends this target with a notice naming
//! each test that checked nothing, and a run that never checked delivery
//! or the page in a browser cannot pass for one that did. `.ci/run`
//! installs both and sets `LOGTRIAGE_REQUIRE_ALERTMANAGER=1` and
//! `LOGTRIAGE_REQUIRE_CHROMIUM=1`, under which a missing one fails the
//! tests themselves.

use std::path::{Path, PathBuf};

// The lookups the tests use, not copies of them; the rest of each module
// (starting and driving the program) is theirs.
#[allow(dead_code)]
#[path = "html/browser.rs"]
mod browser;
#[allow(dead_code)]
#[path = "alertmanager/server.rs"]
mod server;

/// A program some tests need, and how to find the tests that skip
/// without it.
struct Needed {
    name: &'static str,
    binary: fn() -> Option<PathBuf>,
    /// Where it is looked for, for the notice.
    looked: &'static str,
    /// The files whose tests skip without it.
    files: &'static [&'static str],
    /// The calls through which each such test names itself: `call("name")`.
    calls: &'static [&'static str],
    /// How to get it, and what `.ci/run` does.
    install: &'static str,
}

const NEEDED: [Needed; 2] = [
    Needed {
        name: "Alertmanager",
        binary: server::binary,
        looked: "no Alertmanager binary (alertmanager or prometheus-alertmanager on PATH, or\n\
                 /usr/bin/prometheus-alertmanager)",
        files: &["tests/alertmanager.rs", "tests/deliver.rs"],
        calls: &["start_or_skip", "binary_or_skip"],
        install: "Install it with .ci/install-alertmanager to run them; .ci/run does, and sets\n\
                  LOGTRIAGE_REQUIRE_ALERTMANAGER=1 so that a missing one fails them.",
    },
    Needed {
        name: "Chromium",
        binary: browser::binary,
        looked: "no Chromium (chromium, chromium-browser or google-chrome on PATH)",
        files: &["tests/html.rs"],
        calls: &["available_or_skip"],
        install: "Install it with .ci/install-chromium to run them; .ci/run does, and sets\n\
                  LOGTRIAGE_REQUIRE_CHROMIUM=1 so that a missing one fails them.",
    },
];

/// The tests of `text` that name themselves through one of `calls`:
/// `call("name")`.
fn skipping_tests(text: &str, calls: &[&str]) -> Vec<String> {
    let mut names = Vec::new();
    for call in calls {
        let open = format!("{call}(\"");
        for (at, _) in text.match_indices(&open) {
            let rest = &text[at + open.len()..];
            if let Some(end) = rest.find('"') {
                names.push(rest[..end].to_string());
            }
        }
    }
    names.sort();
    names
}

/// The notice for `needed`'s tests, or `None` when the program is there.
fn notice(needed: &Needed, root: &Path) -> Option<String> {
    if (needed.binary)().is_some() {
        println!("not_run: {} found; its tests ran", needed.name);
        return None;
    }
    let mut names = Vec::new();
    for file in needed.files {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        names.extend(skipping_tests(&text, needed.calls).into_iter().map(|n| format!("{file}: {n}")));
    }
    let rule = "=".repeat(78);
    let mut notice = format!(
        "{rule}\nNOT RUN: {} {} tests were counted as passed but checked nothing:\n{}.\n",
        names.len(),
        needed.name,
        needed.looked
    );
    for n in &names {
        notice.push_str(&format!("  {n}\n"));
    }
    notice.push_str(needed.install);
    notice.push('\n');
    notice.push_str(&rule);
    Some(notice)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for needed in &NEEDED {
        if let Some(notice) = notice(needed, root) {
            eprintln!("{notice}");
        }
    }
}
