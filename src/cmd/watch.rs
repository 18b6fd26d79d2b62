//! `logtriage watch`: rules → follow the logs → one line per incident, until
//! SIGINT or SIGTERM (state saved, exit 0). Notes about files (rotation, a
//! path not there yet) go to stderr, so stdout stays one incident per line.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use crate::cli::WatchArgs;
use logtriage::report;
use logtriage::watch::{WatchOptions, Watcher};

/// Runs `watch`.
pub fn run(args: WatchArgs) -> anyhow::Result<ExitCode> {
    let rules = match super::load_rules(!args.packs.no_builtin_rules, &args.packs.rules) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot install the SIGINT/SIGTERM handler")?;
    }
    let opts = WatchOptions {
        paths: args.paths.clone(),
        zone: args.log_tz,
        state: args.state.clone(),
        from_start: args.from_start,
        naming: args.naming.options(None),
    };
    let mut watcher = Watcher::start(Arc::new(rules), opts)?;
    for note in watcher.take_notes() {
        eprintln!("logtriage: {note}");
    }
    let state = args.state.as_ref().map_or("no state file".to_string(), |p| format!("state in {}", p.display()));
    eprintln!("logtriage: watching {} file(s) under {} ({state})", watcher.files(), args.paths.join(", "));
    let stdout = std::io::stdout().lock();
    let mut reporter = report::reporter(
        args.format.into(),
        Box::new(std::io::LineWriter::new(stdout)),
        report::ReportOptions::default(),
    );
    watcher.run(reporter.as_mut(), &stop, &mut |note| eprintln!("logtriage: {note}"))?;
    drop(reporter);
    std::io::stdout().flush().context("cannot write incidents")?;
    Ok(ExitCode::SUCCESS)
}
