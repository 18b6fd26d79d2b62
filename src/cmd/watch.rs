//! `logtriage watch`: rules → follow the logs → one line per incident, and
//! with `--alertmanager` each incident posted as an alert, until SIGINT or
//! SIGTERM (state and spool saved, exit 0). Notes about files (rotation, a
//! path not there yet) and delivery health go to stderr, so stdout stays
//! one incident per line.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;

use crate::cli::{WatchArgs, WatchFormat};
use logtriage::deliver::metrics::Metrics;
use logtriage::deliver::{Delivery, DeliveryOptions, Spool};
use logtriage::filter::Filters;
use logtriage::report::{self, AlertBuilder, Endings, Reporter};
use logtriage::rules::RuleSet;
use logtriage::watch::{WatchOptions, Watcher};

/// Bounds each post to an Alertmanager.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

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
    let builder = alert_builder(&args, &rules)?;
    let opts = WatchOptions {
        paths: args.paths.clone(),
        zone: args.log_tz,
        state: args.state.clone(),
        from_start: args.from_start,
        naming: args.naming.options(None),
        filters: filters(&args)?,
    };
    let mut watcher = Watcher::start(Arc::new(rules), opts)?;
    for note in watcher.take_notes() {
        eprintln!("logtriage: {note}");
    }
    let delivery = start_delivery(&args, builder.clone())?;
    let metrics = match (&args.metrics, &delivery) {
        (Some(addr), Some(d)) => {
            let m = Metrics::serve(addr, d.stats()).map_err(anyhow::Error::msg)?;
            eprintln!("logtriage: delivery metrics on http://{}/metrics", m.addr());
            Some(m)
        }
        _ => None,
    };
    let state = args.state.as_ref().map_or("no state file".to_string(), |p| format!("state in {}", p.display()));
    eprintln!("logtriage: watching {} file(s) under {} ({state})", watcher.files(), args.paths.join(", "));
    let stdout = std::io::stdout().lock();
    let mut reporter = reporter(args.format, Box::new(std::io::LineWriter::new(stdout)), builder);
    let ran = watcher.run(reporter.as_mut(), &stop, &mut |note| eprintln!("logtriage: {note}"), delivery.as_ref());
    if let Some(d) = delivery {
        d.stop().context("cannot save the alert spool")?;
    }
    if let Some(m) = metrics {
        m.stop();
    }
    ran?;
    drop(reporter);
    std::io::stdout().flush().context("cannot write incidents")?;
    Ok(ExitCode::SUCCESS)
}

/// `--app` and `--baseline`, as `scan` reads them.
fn filters(args: &WatchArgs) -> anyhow::Result<Filters> {
    let baseline = super::load_baseline(args.baseline.as_deref())?;
    Ok(Filters { apps: args.apps.clone(), baseline, ..Filters::default() })
}

/// The alerts' labels: `--instance`, or the hostname, only needed when
/// alerts are made.
fn alert_builder(args: &WatchArgs, rules: &RuleSet) -> anyhow::Result<AlertBuilder> {
    if args.alertmanagers.is_empty() && args.format != WatchFormat::Alertmanager {
        return Ok(AlertBuilder::default());
    }
    let instance = match &args.instance {
        Some(name) => name.clone(),
        None => super::host::hostname()?,
    };
    Ok(AlertBuilder::new(Some(instance), Endings::of(rules)))
}

fn start_delivery(args: &WatchArgs, builder: AlertBuilder) -> anyhow::Result<Option<Delivery>> {
    if args.alertmanagers.is_empty() {
        return Ok(None);
    }
    let spool = args.state.as_deref().map(Spool::path_for);
    let opts = DeliveryOptions {
        peers: args.alertmanagers.clone(),
        resend: args.resend,
        spool: spool.clone(),
        spool_max: args.spool_max as usize,
        timeout: POST_TIMEOUT,
    };
    let delivery = Delivery::start(opts, builder, |note| eprintln!("logtriage: {note}"))?;
    let kept = spool.map_or("in memory only: give --state to keep it across restarts".to_string(), |p| {
        format!("spool {}", p.display())
    });
    eprintln!(
        "logtriage: posting alerts to {} (resent every {}s; {kept})",
        args.alertmanagers.join(", "),
        args.resend.as_secs_f64()
    );
    Ok(Some(delivery))
}

fn reporter<'w>(format: WatchFormat, w: Box<dyn Write + 'w>, builder: AlertBuilder) -> Box<dyn Reporter + 'w> {
    match format {
        WatchFormat::Ndjson => report::reporter(report::Format::Ndjson, w, report::ReportOptions::default()),
        WatchFormat::Text => Box::new(report::Text::new(w, false).with_details(true)),
        WatchFormat::Alertmanager => Box::new(report::AlertmanagerLines::new(w, builder)),
        WatchFormat::None => Box::new(Silent),
    }
}

/// `--format none`: incidents only go to Alertmanager.
struct Silent;

impl Reporter for Silent {
    fn incident(&mut self, _: &logtriage::incidents::Incident) -> std::io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, _: &logtriage::summary::Summary) -> std::io::Result<()> {
        Ok(())
    }
}
