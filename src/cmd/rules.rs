//! `logtriage rules check|test|list|explain`: the tools a rule author uses
//! before a pack reaches CI. Output goes to stdout (it is the result the
//! user asked for); exit 0 fine, 1 a test failed, 2 a pack has errors.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{ExplainArgs, ListArgs, ListFormat, PackArgs, RulesCommand, TestArgs};
use logtriage::lint::{self, Level};
use logtriage::rules::{self, LoadOptions, Rule, RuleSet};
use logtriage::ruletest;

/// Version of the `rules list --format json` listing: its own, as the
/// listing did not change when the scan output went to version 2 (stories).
const LISTING_VERSION: u32 = 1;

/// Width of wrapped prose in `explain`.
const WIDTH: usize = 100;

/// Runs a `rules` subcommand.
pub fn run(command: RulesCommand) -> anyhow::Result<ExitCode> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let code = match command {
        RulesCommand::Check(args) => check(&args, &mut out)?,
        RulesCommand::Test(args) => test(&args, &mut out)?,
        RulesCommand::List(args) => list(&args, &mut out)?,
        RulesCommand::Explain(args) => explain(&args, &mut out)?,
        RulesCommand::Draft(args) => super::draft::run(&args)?,
    };
    out.flush()?;
    Ok(code)
}

fn check(args: &PackArgs, out: &mut impl Write) -> io::Result<ExitCode> {
    let (set, load_errors) = rules::load_all(&LoadOptions { builtin: !args.no_builtin_rules, paths: args.all() });
    let diagnostics = lint::lint(&set);
    for e in &load_errors {
        writeln!(out, "{e}")?;
    }
    for d in &diagnostics {
        writeln!(out, "{d}")?;
    }
    let errors = load_errors.len() + diagnostics.iter().filter(|d| d.level == Level::Error).count();
    let warnings = diagnostics.iter().filter(|d| d.level == Level::Warning).count();
    writeln!(out, "{} rule(s) compiled; {errors} error(s), {warnings} warning(s)", set.len())?;
    Ok(if errors > 0 { ExitCode::from(super::EXIT_ERROR) } else { ExitCode::SUCCESS })
}

fn test(args: &TestArgs, out: &mut impl Write) -> io::Result<ExitCode> {
    let packs = args.packs.all();
    let fixtures = match fixtures_dir(args.fixtures.as_deref(), &packs) {
        Ok(f) => f,
        Err(message) => {
            eprintln!("logtriage: {message}");
            return Ok(ExitCode::from(super::EXIT_ERROR));
        }
    };
    let set = match super::load_rules(!args.packs.no_builtin_rules, &packs) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    // The packs named are the ones under test; with none, the built-ins.
    let builtin = |r: &Rule| r.origin.starts_with("builtin:");
    let ids: Vec<String> = set
        .rules()
        .iter()
        .filter(|r| if packs.is_empty() { builtin(r) } else { !builtin(r) })
        .map(|r| r.id.clone())
        .collect();
    if ids.is_empty() {
        eprintln!("logtriage: no rules to test: name a rule pack, or leave out --no-builtin-rules");
        return Ok(ExitCode::from(super::EXIT_ERROR));
    }
    let dir = match &fixtures {
        Fixtures::Dir(dir) => Some(dir.as_path()),
        // On stderr: stdout stays the per-rule result CI reads.
        Fixtures::None(why) => {
            eprintln!("note: {why}");
            None
        }
    };
    let report = ruletest::run(&set, &ids, dir);
    let (mut passed, mut failed, mut untested) = (0, 0, 0);
    for o in &report.outcomes {
        let cases = o.cases.len();
        if o.untested() {
            untested += 1;
            match dir {
                Some(d) => {
                    writeln!(out, "untested {}: no {} and no [[rule.example]]", o.rule, d.join(&o.rule).display())?
                }
                None => writeln!(out, "untested {}: no fixtures directory and no [[rule.example]]", o.rule)?,
            }
            continue;
        }
        if o.passed() {
            passed += 1;
            writeln!(out, "ok       {} ({cases} case{})", o.rule, if cases == 1 { "" } else { "s" })?;
            continue;
        }
        failed += 1;
        writeln!(out, "FAIL     {}", o.rule)?;
        for p in &o.problems {
            writeln!(out, "         {p}")?;
        }
        for c in o.cases.iter().filter(|c| !c.failures.is_empty()) {
            writeln!(out, "         {}", c.name)?;
            for f in &c.failures {
                writeln!(out, "           {f}")?;
            }
        }
    }
    for orphan in &report.orphans {
        writeln!(out, "orphan   {orphan}: no rule has this id (renamed or removed?)")?;
    }
    writeln!(
        out,
        "{} rule(s): {passed} passed, {failed} failed, {untested} untested{}",
        report.outcomes.len(),
        if report.orphans.is_empty() {
            String::new()
        } else {
            format!(", {} orphan fixture dir(s)", report.orphans.len())
        }
    )?;
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Where `rules test` looks for fixture logs.
enum Fixtures {
    /// One directory per rule id under this one.
    Dir(PathBuf),
    /// None: only inline examples run, for the reason given.
    None(String),
}

/// The fixtures directory: `--fixtures DIR` when given (it must exist),
/// else `PACK/fixtures` for a single pack directory, else `fixtures/rules`
/// (the built-in packs' own, in a checkout) when no pack is named. A
/// directory that was asked for and is missing is an error, so a typo
/// cannot pass as "all rules tested".
fn fixtures_dir(given: Option<&Path>, packs: &[PathBuf]) -> Result<Fixtures, String> {
    if let Some(dir) = given {
        return if dir.is_dir() {
            Ok(Fixtures::Dir(dir.to_path_buf()))
        } else {
            Err(format!(
                "--fixtures {}: no such directory; give the directory holding one directory per rule id",
                dir.display()
            ))
        };
    }
    match packs {
        [] => {
            let default = PathBuf::from(DEFAULT_FIXTURES);
            if default.is_dir() {
                Ok(Fixtures::Dir(default))
            } else {
                Err(format!(
                    "the default fixtures directory {DEFAULT_FIXTURES} does not exist here: run in a logtriage \
                     checkout, or give --fixtures DIR"
                ))
            }
        }
        [pack] if pack.is_dir() => {
            let dir = pack.join("fixtures");
            Ok(if dir.is_dir() {
                Fixtures::Dir(dir)
            } else {
                Fixtures::None(format!(
                    "no {} directory: only inline [[rule.example]] tests run (give --fixtures DIR for fixture logs)",
                    dir.display()
                ))
            })
        }
        [pack] => Ok(Fixtures::None(format!(
            "{} is a file, so no PACK/fixtures directory is looked for: only inline [[rule.example]] tests run \
             (give --fixtures DIR for fixture logs)",
            pack.display()
        ))),
        _ => Ok(Fixtures::None(format!(
            "{} packs given, so no PACK/fixtures directory is looked for: only inline [[rule.example]] tests run \
             (give --fixtures DIR for fixture logs)",
            packs.len()
        ))),
    }
}

/// The built-in packs' fixtures, relative to a checkout.
const DEFAULT_FIXTURES: &str = "fixtures/rules";

/// `rules list --format json`: the listing as a versioned document.
#[derive(Serialize)]
struct Listing<'a> {
    schema_version: u32,
    rules: Vec<Listed<'a>>,
}

#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    severity: &'a str,
    streams: Vec<&'static str>,
    correlate: &'static str,
    window: Option<String>,
    group_by: &'a [String],
    title: &'a str,
    origin: &'a str,
    examples: usize,
}

fn list(args: &ListArgs, out: &mut impl Write) -> io::Result<ExitCode> {
    let set = match super::load_rules(!args.packs.no_builtin_rules, &args.packs.rules) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    match args.format {
        ListFormat::Json => {
            let rules = set
                .rules()
                .iter()
                .map(|r| Listed {
                    id: &r.id,
                    severity: r.severity.as_str(),
                    streams: r.streams.names(),
                    correlate: r.correlate.kind(),
                    window: r.correlate.window().map(ToString::to_string),
                    group_by: &r.group_by,
                    title: r.title.source(),
                    origin: &r.origin,
                    examples: r.examples.len(),
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &Listing { schema_version: LISTING_VERSION, rules })?;
            writeln!(out)?;
        }
        ListFormat::Text => {
            let id_width = set.rules().iter().map(|r| r.id.len()).max().unwrap_or(0);
            for r in set.rules() {
                writeln!(
                    out,
                    "{:id_width$}  {:8}  {:15}  {}",
                    r.id,
                    r.severity.as_str(),
                    r.streams.names().join(","),
                    r.correlate.describe()
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn explain(args: &ExplainArgs, out: &mut impl Write) -> io::Result<ExitCode> {
    let set = match super::load_rules(!args.packs.no_builtin_rules, &args.packs.rules) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let Some(rule) = set.get(&args.id) else {
        eprintln!("logtriage: no rule '{}'{}; `logtriage rules list` shows them all", args.id, suggest(&set, &args.id));
        return Ok(ExitCode::from(super::EXIT_ERROR));
    };
    write_explanation(rule, out)?;
    Ok(ExitCode::SUCCESS)
}

fn suggest(set: &RuleSet, id: &str) -> String {
    let needle = id.rsplit('.').next().unwrap_or(id);
    let close: Vec<&str> =
        set.rules().iter().map(|r| r.id.as_str()).filter(|r| !needle.is_empty() && r.contains(needle)).collect();
    if close.is_empty() { String::new() } else { format!(" (did you mean {}?)", close.join(", ")) }
}

fn write_explanation(rule: &Rule, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{}  [{}]", rule.id, rule.severity.as_str())?;
    writeln!(out, "  title     {}", rule.title.source())?;
    writeln!(out, "  streams   {}", rule.streams.names().join(", "))?;
    writeln!(out, "  correlate {}", rule.correlate.describe())?;
    writeln!(out, "  group by  {}", if rule.group_by.is_empty() { "-".into() } else { rule.group_by.join(", ") })?;
    writeln!(out, "  defined   {}", rule.origin)?;
    section(out, "What it detects and why it matters", rule.description.as_deref().unwrap_or("(no description)"))?;
    writeln!(out, "\nMatches")?;
    for re in &rule.regexes {
        writeln!(out, "  regex  {}", re.as_str())?;
    }
    let follow = match rule.correlate.kind() {
        "sequence" => "then ",
        _ => "until ",
    };
    for re in rule.correlate.follow().unwrap_or(&[]) {
        writeln!(out, "  {follow} {}", re.as_str())?;
    }
    for c in &rule.context {
        writeln!(out, "  {}", c.describe())?;
        for re in &c.regexes {
            writeln!(out, "    regex  {}", re.as_str())?;
        }
    }
    section(out, "Fix (template: {fields} are filled from the matched lines)", rule.fix.source())?;
    if let Some(action) = &rule.action {
        section(out, "Action (what the default text view shows of the fix)", action.source())?;
    }
    if let Some(ex) = rule.examples.iter().find(|e| e.expect > 0).or(rule.examples.first()) {
        let plays = ex.plays.as_deref().map(|p| format!(" as {p}")).unwrap_or_default();
        writeln!(out, "\nExample{plays} ({} incident(s)):", ex.expect)?;
        for line in ex.log.lines() {
            writeln!(out, "  {line}")?;
        }
    }
    if !rule.references.is_empty() {
        writeln!(out, "\nReferences")?;
        for r in rule.references.iter() {
            writeln!(out, "  {r}")?;
        }
    }
    Ok(())
}

fn section(out: &mut impl Write, heading: &str, text: &str) -> io::Result<()> {
    writeln!(out, "\n{heading}")?;
    let opts = textwrap::Options::new(WIDTH).initial_indent("  ").subsequent_indent("  ");
    for line in textwrap::wrap(text, opts) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}
