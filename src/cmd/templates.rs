//! `logtriage templates`: the clustering on its own, one line per mined
//! record (`file`, `line`, `template_id`, `template`), so it can be
//! measured (Loghub, `benches/loghub.sh`). No rules run: every candidate
//! is mined (with `--all`, every record). Exit 0, or 2 when a path could
//! not be read.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;

use crate::cli::TemplatesArgs;
use logtriage::mine::{MineOptions, Mode};
use logtriage::rules::RuleSet;
use logtriage::scan::{self, ScanOptions};

/// One output line.
#[derive(Serialize)]
struct Line<'a> {
    file: &'a str,
    line: u64,
    /// Null when the template was evicted (never: `templates` lifts the caps).
    template_id: Option<&'a str>,
    template: Option<&'a str>,
}

/// Runs `templates`.
pub fn run(args: TemplatesArgs) -> anyhow::Result<ExitCode> {
    let mode = if args.all { Mode::All } else { Mode::Errors };
    let opts = ScanOptions {
        paths: args.paths.clone(),
        threads: args.threads.map(usize::from),
        mine: Some(MineOptions { mode, log: true }),
        ..ScanOptions::default()
    };
    let out = scan::scan(Arc::new(RuleSet::default()), &opts).context("templates failed")?;
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    let templates = &out.unknown.templates;
    for &(source, line, t) in &out.unknown.records {
        let file = out.summary.files.get(source).map_or("", |f| f.path.as_str());
        let t = t.and_then(|t| templates.get(t));
        let line = Line { file, line, template_id: t.map(|t| t.id.as_str()), template: t.map(|t| t.template.as_str()) };
        serde_json::to_writer(&mut w, &line)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    let mut failed = false;
    for skip in out.summary.skipped.iter().filter(|s| s.reason.is_error()) {
        eprintln!("logtriage: {}", skip.detail);
        failed = true;
    }
    Ok(if failed { ExitCode::from(super::EXIT_ERROR) } else { ExitCode::SUCCESS })
}
