//! The CLI edge: parse arguments, load rules, scan, report, and turn the
//! outcome into an exit status (0 clean, 1 incidents at or above
//! `--fail-on`, 2 usage / rule / input error). A closed stdout (`| head`)
//! ends the run quietly with 0.

mod cli;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Command, FailOn, ScanArgs};
use logtriage::report::{self, Color};
use logtriage::rules::{self, LoadOptions};
use logtriage::scan::{self, ScanOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => run_scan(args),
    };
    match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("logtriage: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run_scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let load = LoadOptions { builtin: !args.no_builtin_rules, paths: args.rules.clone() };
    let rules = match rules::load(&load) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("logtriage: rule packs did not load; fix the errors above (file:line:col)");
            return Ok(ExitCode::from(2));
        }
    };
    if rules.is_empty() {
        anyhow::bail!("no rules to run: --no-builtin-rules needs at least one --rules PATH");
    }
    let opts = ScanOptions {
        paths: args.paths.clone(),
        mmap: args.mmap.into(),
        zone: args.log_tz,
        threads: args.threads.map(usize::from),
        no_prefilter: args.no_prefilter,
    };
    let out = scan::scan(Arc::new(rules), &opts).context("scan failed")?;
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal(),
    };
    let stdout = std::io::stdout().lock();
    let mut reporter = report::reporter(args.format, Box::new(std::io::BufWriter::new(stdout)), color);
    report::emit(reporter.as_mut(), &out).context("cannot write the report")?;
    drop(reporter);
    std::io::stdout().flush().context("cannot write the report")?;
    Ok(exit_code(&out, args.fail_on))
}

fn exit_code(out: &scan::ScanOutput, fail_on: FailOn) -> ExitCode {
    if out.summary.skipped.iter().any(|s| s.reason.is_error()) {
        return ExitCode::from(2);
    }
    let failing = match fail_on {
        FailOn::Never => false,
        FailOn::At(min) => out.incidents.iter().any(|i| i.severity >= min),
    };
    if failing { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().filter_map(|e| e.downcast_ref::<std::io::Error>()).any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
