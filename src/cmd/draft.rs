//! `logtriage rules draft TEMPLATE-ID PATH...`: scans the logs as `scan`
//! does (same packs), takes the unrecognised error with that id, and
//! drafts its rule (`mine::draft`): to stdout with an inline example, or
//! with `--out DIR` as `DIR/rule.toml` and `DIR/fixtures/<rule-id>/`
//! (the samples as `fires-sample.log`, an empty `near-miss-sample.log` to
//! fill, and `expect.toml` with what the draft finds on the samples), so
//! `logtriage rules check DIR` and `logtriage rules test DIR` run as
//! written. Exit 0, or 2 (no such template, a path unread, a write failed).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use crate::cli::DraftArgs;
use logtriage::input::{self, Origin, SourceSpec};
use logtriage::mine::draft::{self, DraftInput};
use logtriage::mine::{MineOptions, Mode, Template};
use logtriage::records::{FileShape, Segmenter};
use logtriage::rules::compile_all;
use logtriage::scan::{self, ScanOptions};

/// Runs `rules draft`.
pub fn run(args: &DraftArgs) -> anyhow::Result<ExitCode> {
    let rules = match super::load_rules(!args.packs.no_builtin_rules, &args.packs.rules) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let opts = ScanOptions {
        paths: args.paths.clone(),
        mine: Some(MineOptions { mode: Mode::Errors, log: false }),
        ..ScanOptions::default()
    };
    let out = scan::scan(Arc::new(rules), &opts).context("scan failed")?;
    let Some(t) = out.unknown.templates.iter().find(|t| t.id == args.id) else {
        eprintln!(
            "logtriage: no unrecognised error {} in {}: `logtriage scan` on the same paths (and packs) lists their ids",
            args.id,
            args.paths.join(" ")
        );
        return Ok(ExitCode::from(super::EXIT_ERROR));
    };
    let samples: Vec<(String, String)> =
        t.samples.iter().filter_map(|s| Some((file_name(&s.file), record_at(Path::new(&s.file), s.line)?))).collect();
    match &args.out {
        None => {
            let example = samples.first().map(|(plays, log)| (plays.as_str(), log.as_str()));
            print!("{}", draft::rule_toml(&DraftInput { template: t, example }));
            Ok(ExitCode::SUCCESS)
        }
        Some(dir) => write_out(dir, t, &samples),
    }
}

/// Writes the rule and its fixtures under `dir`.
fn write_out(dir: &Path, t: &Template, samples: &[(String, String)]) -> anyhow::Result<ExitCode> {
    let id = draft::rule_id(t);
    let rule = draft::rule_toml(&DraftInput { template: t, example: None });
    let Some((plays, _)) = samples.first() else {
        eprintln!("logtriage: the samples of {} could not be read back from their files", t.id);
        return Ok(ExitCode::from(super::EXIT_ERROR));
    };
    let fires: String = samples.iter().map(|(_, log)| format!("{}\n", log.trim_end_matches('\n'))).collect();
    let found = incidents_on(&rule, plays, fires.as_bytes())?;
    if found.is_empty() {
        anyhow::bail!("the drafted regex does not match its own samples (template {}): please report this", t.template);
    }
    let fixtures = dir.join("fixtures").join(&id);
    std::fs::create_dir_all(&fixtures).with_context(|| format!("cannot create {}", fixtures.display()))?;
    let write = |path: std::path::PathBuf, text: &str| {
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write(dir.join("rule.toml"), &rule)?;
    write(fixtures.join("fires-sample.log"), &fires)?;
    write(fixtures.join("near-miss-sample.log"), NEAR_MISS)?;
    let plays_toml = toml::Value::String(plays.clone());
    let wants: Vec<String> = found
        .iter()
        .map(|(app, count)| match app {
            Some(app) => format!("{{ app = {}, count = {count} }}", toml::Value::String(app.clone())),
            None => format!("{{ count = {count} }}"),
        })
        .collect();
    let expect = format!(
        "# The samples the draft was made from: what it finds on them.\n[fires-sample]\nas = {plays_toml}\n\
         incidents = [{}]\n\n# Fill near-miss-sample.log with look-alikes the rule must not fire on.\n\
         [near-miss-sample]\nas = {plays_toml}\n",
        wants.join(", ")
    );
    write(fixtures.join("expect.toml"), &expect)?;
    println!("wrote {} and {}", dir.join("rule.toml").display(), fixtures.display());
    Ok(ExitCode::SUCCESS)
}

/// The near-miss log to fill: a line the draft cannot match (`rules test`
/// reads no empty log).
const NEAR_MISS: &str = "replace this line with look-alikes of the error that the rule must not fire on\n";

/// (app, count) of the incidents the drafted rule alone finds on `log`
/// played as `plays`.
fn incidents_on(rule: &str, plays: &str, log: &[u8]) -> anyhow::Result<Vec<(Option<String>, usize)>> {
    let set = compile_all(&[("rule.toml".to_string(), rule.to_string())])
        .map_err(|e| anyhow::anyhow!("the drafted rule does not compile ({e}): please report this"))?;
    let spec = SourceSpec { id: 0, meta: input::classify(plays, plays), origin: Origin::Memory(log.into()) };
    let out = scan::scan_sources(Arc::new(set), vec![spec], Vec::new(), &ScanOptions::default(), Instant::now())?;
    let views = out.incidents.views();
    Ok(views.iter().map(|i| (views.app(i).map(str::to_string), i.count)).collect())
}

/// A path's file name: what a fixture plays (it decides app and stream).
fn file_name(path: &str) -> String {
    Path::new(path).file_name().map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// The raw record starting at 1-based `line` of `path`, as the scan
/// segmented it. None when the file cannot be read (or is compressed).
fn record_at(path: &Path, line: u64) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let name = file_name(&path.display().to_string());
    let stream = input::classify(&path.display().to_string(), &name).stream;
    let shape = FileShape::sniff(&bytes, stream);
    let span = Segmenter::new(&bytes, shape).find(|s| s.line == line)?;
    Some(String::from_utf8_lossy(&bytes[span.start..span.end]).into_owned())
}
