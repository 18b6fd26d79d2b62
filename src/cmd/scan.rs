//! `logtriage scan`: rules + filters → scan → report → exit status (0
//! clean, 1 incidents at or above `--fail-on`, 2 rule or input error).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::cli::{FailOn, ScanArgs, When};
use logtriage::filter::Filters;
use logtriage::mine::{MineOptions, Mode};
use logtriage::report::{self, Color, Endings, Format, ReportOptions};
use logtriage::rules::RuleSet;
use logtriage::scan::{self, ScanOptions};
use logtriage::spill::Budget;

/// Runs `scan`.
pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let rules = match super::load_rules(!args.packs.no_builtin_rules, &args.packs.rules) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let filters = filters(&args)?;
    let report_opts = report_options(&args, &rules)?;
    if args.stdin_as.is_some() && !args.paths.iter().any(|p| p == "-") {
        anyhow::bail!(
            "--as names what stdin holds: give `-` among the paths (e.g. `logtriage scan - --as api-error.log`)"
        );
    }
    let opts = ScanOptions {
        paths: args.paths.clone(),
        mmap: args.mmap.into(),
        zone: args.log_tz,
        threads: args.threads.map(usize::from),
        no_prefilter: args.no_prefilter,
        filters,
        naming: args.naming.options(args.stdin_as.clone()),
        mine: (args.unknown > 0 || args.fail_on_unknown.is_some())
            .then_some(MineOptions { mode: Mode::Errors, log: false }),
        // One budget, for each of the two things a noisy scan holds: the
        // matched events until correlation, the finished incidents until
        // the report. They peak in different stages.
        budget: Budget::from_mib(args.memory_budget, args.spill_dir.clone()),
    };
    let out = scan::scan(Arc::new(rules), &opts).context("scan failed")?;
    for miss in &out.summary.app_misses {
        eprintln!("logtriage: {miss}");
    }
    let stdout = std::io::stdout().lock();
    let mut reporter = report::reporter(args.format, Box::new(std::io::BufWriter::new(stdout)), report_opts);
    report::emit(reporter.as_mut(), &out).context("cannot write the report")?;
    drop(reporter);
    std::io::stdout().flush().context("cannot write the report")?;
    if args.format == Format::Alertmanager {
        // The alert array has no summary; a path that could not be read
        // must still be said somewhere (exit status 2 alone does not say which).
        for skip in out.summary.skipped.iter().filter(|s| s.reason.is_error()) {
            eprintln!("logtriage: {}", skip.detail);
        }
    }
    let code = exit_code(&out, args.fail_on, args.fail_on_unknown);
    // The process ends here: freeing tens of thousands of incidents one by
    // one (50 ms on the dense benchmark corpus) is work the kernel does at
    // once when the process exits.
    std::mem::forget(out);
    Ok(code)
}

fn report_options(args: &ScanArgs, rules: &RuleSet) -> anyhow::Result<ReportOptions> {
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal(),
    };
    if args.format == Format::Html {
        return Ok(ReportOptions { endings: Endings::of(rules), ..ReportOptions::default() });
    }
    if args.format != Format::Alertmanager {
        return Ok(ReportOptions { color, details: args.details, unknown: args.unknown, ..ReportOptions::default() });
    }
    let instance = match &args.instance {
        Some(name) => name.clone(),
        None => super::host::hostname()?,
    };
    Ok(ReportOptions { color, instance: Some(instance), endings: Endings::of(rules), details: false, unknown: 0 })
}

fn filters(args: &ScanArgs) -> anyhow::Result<Filters> {
    let now = chrono::Utc::now().timestamp_millis();
    let resolve = |w: When, flag| w.resolve(now, args.log_tz).map_err(|e| anyhow::anyhow!("{flag}: {e}"));
    let since = args.since.map(|w| resolve(w, "--since")).transpose()?;
    let until = args.until.map(|w| resolve(w, "--until")).transpose()?;
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        anyhow::bail!("--since must be before --until: nothing can match an empty range");
    }
    let baseline = super::load_baseline(args.baseline.as_deref())?;
    Ok(Filters { since, until, untimed: args.untimed, apps: args.apps.clone(), baseline })
}

fn exit_code(out: &scan::ScanOutput, fail_on: FailOn, fail_on_unknown: Option<u64>) -> ExitCode {
    if out.summary.skipped.iter().any(|s| s.reason.is_error()) {
        return ExitCode::from(super::EXIT_ERROR);
    }
    let failing = match fail_on {
        FailOn::Never => false,
        FailOn::At(min) => out.incidents.views().iter().any(|i| i.severity >= min),
    };
    let failing = failing || fail_on_unknown.is_some_and(|n| out.unknown.templates.iter().any(|t| t.count >= n));
    if failing { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
