//! The subcommands' bodies: each turns parsed arguments into library calls
//! and an exit status. Shared here: loading rule packs the same way for
//! every command, with every problem printed as `file:line:col: message`.

pub mod docs;
mod draft;
mod host;
pub mod rules;
pub mod scan;
pub mod templates;
pub mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use logtriage::lint;
use logtriage::rules::{LoadOptions, RuleSet, load_all};

/// Exit status for a usage, rule or input error.
pub const EXIT_ERROR: u8 = 2;

/// Loads the packs and lints them; on any error prints them all to stderr
/// and returns the exit status to end with.
pub fn load_rules(builtin: bool, paths: &[PathBuf]) -> Result<RuleSet, ExitCode> {
    let (set, mut errors) = load_all(&LoadOptions { builtin, paths: paths.to_vec() });
    // Lint what did compile too: one run shows every problem, as `rules check` does.
    errors.extend(lint::errors(&set).into_iter().map(|d| d.at));
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{e}");
        }
        eprintln!("logtriage: rule packs did not load; fix the errors above (file:line:col)");
        return Err(ExitCode::from(EXIT_ERROR));
    }
    if set.is_empty() {
        eprintln!(
            "logtriage: no rules to run: --no-builtin-rules needs at least one --rules PATH (a pack path for `rules` commands)"
        );
        return Err(ExitCode::from(EXIT_ERROR));
    }
    Ok(set)
}

/// `--baseline PREVIOUS.json`, read once and shared (scan and watch read it
/// the same way).
pub fn load_baseline(
    path: Option<&std::path::Path>,
) -> anyhow::Result<Option<std::sync::Arc<logtriage::baseline::Baseline>>> {
    Ok(match path {
        Some(path) => Some(std::sync::Arc::new(logtriage::baseline::Baseline::load(path)?)),
        None => None,
    })
}
