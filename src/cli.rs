//! Command-line arguments (clap derive) and their resolution into
//! [`ScanOptions`] and rule-loading options.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use logtriage::filter::Untimed;
use logtriage::input::{MmapChoice, NamingOptions};
use logtriage::records::Zone;
use logtriage::report::{Color, Format};
use logtriage::rules::Severity;

/// Finds incidents in pm2 / Node.js / TWS logs and proposes fixes.
#[derive(Debug, Parser)]
#[command(name = "logtriage", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const AFTER_HELP: &str = "Examples:
  logtriage scan ~/.pm2/logs
  logtriage scan ~/.pm2/logs ~/.pm2/pm2.log --format json > incidents.json
  pm2 logs --nostream --lines 1000 | logtriage scan -
  pm2 logs api --nostream | logtriage scan - --as api-error.log
  logtriage scan /srv/bot/logs --ecosystem /srv/bot/ecosystem.config.cjs
  logtriage scan logs/ --rules my-rules.toml --fail-on medium
  logtriage scan logs/ --since 2h --app api --app tws-bridge
  logtriage scan logs/ --baseline last-good.json --format markdown >> \"$GITHUB_STEP_SUMMARY\"
  logtriage scan ~/.pm2/logs --since 1h --fail-on never --format alertmanager |
    curl -fsS -H 'Content-Type: application/json' --data-binary @- http://localhost:9093/api/v2/alerts
  logtriage rules check my-rules/ && logtriage rules test my-rules/ --fixtures my-fixtures/
  logtriage watch ~/.pm2/logs ~/.pm2/pm2.log --state /var/lib/logtriage/watch.json

Exit status (scan): 0 nothing at or above --fail-on; 1 incidents at or above it;
2 usage error, rule error, or a path that could not be read.";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan log files or directories and report incidents.
    Scan(ScanArgs),
    /// Check, test, list and explain rule packs.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Follow logs as they are written and print each incident once, when its rule decides.
    #[command(after_help = WATCH_HELP)]
    Watch(WatchArgs),
    /// Print the template of every error record (with --all, of every record), one JSON object per line.
    #[command(after_help = TEMPLATES_HELP)]
    Templates(TemplatesArgs),
    /// Print a shell completion script (source it, or save it where your shell looks).
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per subcommand with --dir.
    #[command(after_help = MAN_HELP)]
    Man(ManArgs),
}

const TEMPLATES_HELP: &str =
    "Each line: {\"file\":...,\"line\":N,\"template_id\":...,\"template\":...}, in file then line
order. Candidates are what `scan` mines as unrecognised errors (err streams, JSON logs at error level,
error headers and stacks elsewhere), here whether or not a rule matches them, so the ids are those of
this clustering (`scan` reports its own, of the records no rule matched).";

/// `logtriage templates`.
#[derive(Debug, clap::Args)]
pub struct TemplatesArgs {
    /// Log files or directories (`-` for stdin).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Every record, error or not.
    #[arg(long)]
    pub all: bool,
    /// Output format: one JSON object per line (the only one).
    #[arg(long, value_enum, default_value_t = TemplatesFormat::Json)]
    pub format: TemplatesFormat,
    /// Worker threads (default: one per core); the output is the same for any number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
}

/// `templates --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TemplatesFormat {
    /// One JSON object per line.
    Json,
}

const COMPLETIONS_HELP: &str = "Install (one of):
  logtriage completions bash > ~/.local/share/bash-completion/completions/logtriage
  logtriage completions zsh > ~/.zfunc/_logtriage      # with fpath+=(~/.zfunc) before compinit
  logtriage completions fish > ~/.config/fish/completions/logtriage.fish
  logtriage completions powershell >> $PROFILE";

const MAN_HELP: &str = "Examples:
  logtriage man | man -l -
  sudo logtriage man --dir /usr/local/share/man/man1 && man logtriage-scan";

/// `logtriage completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `logtriage man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write logtriage.1 and a page per subcommand (logtriage-scan.1, ...) into DIR instead of
    /// printing logtriage.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

const WATCH_HELP: &str = "Prints one NDJSON line per incident ({\"schema_version\":1,\"type\":\"incident\",...}, as
scan --format ndjson) as soon as its rule decides: a match, the count reached, a sequence
closed, an absence window passed on the clock. An incident that keeps growing is not printed
again. Directories are walked again every second for new logs. Rotation by copy-then-truncate
(pm2-logrotate) and by rename-then-create (logrotate) loses no line.

First start: existing files are read from their end (--from-start: whole). With --state, a
restart resumes every file where it stopped (lines written meanwhile are read) and never
repeats an incident already printed; without it, a restart starts at the end again.

SIGINT / SIGTERM: the state is saved and the exit status is 0. Exit status 2: a rule pack
that does not load, or a state file that cannot be read or written.

Example (see README, \"Running watch as a service\"):
  logtriage watch ~/.pm2/logs ~/.pm2/pm2.log --state /var/lib/logtriage/watch.json";

/// `logtriage rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate rule packs (the built-in ones and those given): every problem as file:line:col.
    #[command(after_help = "Exit status: 0 no errors (warnings allowed); 2 errors.")]
    Check(PackArgs),
    /// Run rules against their fixtures and inline examples.
    #[command(after_help = RULES_TEST_HELP)]
    Test(TestArgs),
    /// One line per rule: id, severity, streams, correlation.
    List(ListArgs),
    /// What a rule detects, why it matters, its fix and an example.
    Explain(ExplainArgs),
    /// Draft a rule for an unrecognised error `scan` reported (its id), from the same logs.
    #[command(after_help = RULES_DRAFT_HELP)]
    Draft(DraftArgs),
}

const RULES_DRAFT_HELP: &str = "Scans PATH... as `scan` does (same packs), finds the unrecognised error TEMPLATE-ID and
prints a rule for it: id under local., its template as a regex (masked parts are named groups),
prefilter literals, severity medium, a title and a fix to fill in. With --out DIR it writes
DIR/rule.toml and DIR/fixtures/<id>/ (fires-sample.log from the samples, expect.toml, and an empty
near-miss-sample.log to fill), so `logtriage rules test DIR` runs it.";

/// `logtriage rules draft`.
#[derive(Debug, clap::Args)]
pub struct DraftArgs {
    /// The template's id, as `scan` printed it.
    #[arg(value_name = "TEMPLATE-ID")]
    pub id: String,
    /// The logs `scan` read.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    #[command(flatten)]
    pub packs: RulesFlags,
    /// Write DIR/rule.toml and its fixtures instead of printing the rule.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

const RULES_TEST_HELP: &str = "Tests the rules of the packs given (the built-in packs when none is).
Fixtures: FIXTURES/<rule-id>/fires-*.log must give incidents, near-miss-*.log none; expect.toml
says per file which pm2 file it plays and the incidents wanted:

  [fires-crash-loop]
  as = \"pm2.log\"
  incidents = [{ app = \"api\", count = 5, key = { app = \"api\" } }]

Inline: [[rule.example]] tables with log = '''...''', expect = N and optional as = \"FILE\".
Exit status: 0 all pass; 1 a test failed; 2 a pack did not load.";

/// Packs to load: paths given positionally or with `--rules` (as `scan`
/// takes them), plus the built-in packs.
#[derive(Debug, clap::Args)]
pub struct PackArgs {
    /// Rule pack files or directories of them.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// A rule pack, as in `scan` (repeatable; the same as a PATH).
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Leave the built-in packs out.
    #[arg(long)]
    pub no_builtin_rules: bool,
}

impl PackArgs {
    /// Every pack given: the positional ones, then those of `--rules`.
    pub fn all(&self) -> Vec<PathBuf> {
        self.paths.iter().chain(&self.rules).cloned().collect()
    }
}

/// `logtriage rules test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub packs: PackArgs,

    /// Directory holding one fixture directory per rule id (default: PACK/fixtures when one pack
    /// directory is given, fixtures/rules when none is).
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
}

/// Packs given with `--rules`, as in `scan`.
#[derive(Debug, clap::Args)]
pub struct RulesFlags {
    /// Extra rule pack: a TOML file or a directory of them (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Do not load the built-in rule packs.
    #[arg(long)]
    pub no_builtin_rules: bool,
}

/// How files are named, as in `scan` and `watch`.
#[derive(Debug, clap::Args)]
pub struct NamingFlags {
    /// pm2 ecosystem file that names the apps' log files (repeatable; default: one found beside the logs).
    #[arg(long = "ecosystem", value_name = "PATH")]
    pub ecosystems: Vec<PathBuf>,

    /// Name files from the running pm2's own list (`pm2 jlist`).
    #[arg(long)]
    pub pm2: bool,
}

impl NamingFlags {
    /// The library's naming options, with the file stdin plays.
    pub fn options(&self, stdin_as: Option<String>) -> NamingOptions {
        NamingOptions { ecosystems: self.ecosystems.clone(), pm2: self.pm2, stdin_as }
    }
}

/// `logtriage rules list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub packs: RulesFlags,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

/// `rules list --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// Aligned columns.
    Text,
    /// One JSON document (`schema_version`, `rules`).
    Json,
}

/// `logtriage rules explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// Rule id, e.g. pm2.crash-loop.
    pub id: String,

    #[command(flatten)]
    pub packs: RulesFlags,
}

/// `logtriage scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Log files, directories (walked for *.log, *.log.N, *.gz), or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Text: after the story lines, every incident's full block (fields,
    /// evidence, the whole fix, links, id) instead of one short block per
    /// story.
    #[arg(long, short = 'v')]
    pub details: bool,

    #[command(flatten)]
    pub packs: RulesFlags,

    /// Exit 1 when an incident is at or above this severity (`never`: always 0).
    #[arg(long, value_name = "SEVERITY", default_value = "high", value_parser = parse_fail_on)]
    pub fail_on: FailOn,

    /// Worker threads (default: one per core). Output is the same for any value.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// Memory-map files: auto maps only rotated files (APP-out__DATE.log, APP-out.log.1), which
    /// nothing truncates; live logs are streamed, as log rotation may truncate them mid-scan.
    #[arg(long, value_enum, default_value_t = MmapArg::Auto)]
    pub mmap: MmapArg,

    /// MiB of memory for what a scan holds for later stages: half of it for matched events between
    /// the scan and correlation, an eighth for finished incidents and what each keeps for the
    /// report, a sixteenth for the records linking incidents; past their part they are written to a
    /// temporary file and read back (output unchanged). 0 spills every one.
    #[arg(long, value_name = "MIB", default_value_t = logtriage::spill::DEFAULT_BUDGET_MIB)]
    pub memory_budget: usize,

    /// Directory of the temporary files past --memory-budget (default: TMPDIR, else the system's).
    /// They have no name there and are gone when the scan ends.
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<std::path::PathBuf>,

    /// Run every rule's regex on every record (testing the prefilter).
    #[arg(long, hide = true)]
    pub no_prefilter: bool,

    /// Zone of timestamps written without one (pm2 writes local time): utc, local, +HH:MM, or an
    /// IANA name with its daylight saving (Europe/Berlin).
    #[arg(long, value_name = "ZONE", default_value = "utc", value_parser = parse_zone)]
    pub log_tz: Zone,

    /// Only matches at or after TIME: RFC 3339 (2026-11-20T09:00:00Z), a date and time in --log-tz
    /// ("2026-11-20 17:00", 2026-11-20), or an age (30m, 2h, 7d).
    #[arg(long, value_name = "TIME", value_parser = parse_when)]
    pub since: Option<When>,

    /// Only matches before TIME: as for --since.
    #[arg(long, value_name = "TIME", value_parser = parse_when)]
    pub until: Option<When>,

    /// Matches in logs without timestamps, which --since/--until cannot place: keep them, or drop them
    /// (a cron job with --since then stops reporting the same untimed incidents on every run).
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = Untimed::Keep)]
    pub untimed: Untimed,

    /// Only incidents of this app (repeatable); files named for other apps are not read.
    #[arg(long = "app", value_name = "NAME")]
    pub apps: Vec<String>,

    #[command(flatten)]
    pub naming: NamingFlags,

    /// The pm2 file stdin plays (e.g. api-error.log): its app and stream.
    #[arg(long = "as", value_name = "FILENAME")]
    pub stdin_as: Option<String>,

    /// Leave out incidents (same rule and key) found in this previous --format json/ndjson output.
    #[arg(long, value_name = "PREVIOUS.json")]
    pub baseline: Option<PathBuf>,

    /// The `instance` label of --format alertmanager alerts (default: this machine's hostname; "" leaves it out).
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,

    /// Unrecognised errors shown in text and Markdown: error records no incident took, grouped into templates (0: do not mine).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub unknown: usize,

    /// Exit 1 when one unrecognised error occurred N times or more (mines even with --unknown 0).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub fail_on_unknown: Option<u64>,
}

/// `logtriage watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Log files or directories to follow (directories are walked for *.log, as in scan).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,

    /// Output format: one line per incident.
    #[arg(long, value_enum, default_value_t = WatchFormat::Ndjson)]
    pub format: WatchFormat,

    #[command(flatten)]
    pub packs: RulesFlags,

    /// Checkpoint file: offsets, incidents printed and open windows survive a restart.
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// Read files that have no checkpoint from their start (default: from their end).
    #[arg(long)]
    pub from_start: bool,

    #[command(flatten)]
    pub naming: NamingFlags,

    /// Zone of timestamps written without one (pm2 writes local time): utc, local, +HH:MM, or an
    /// IANA name with its daylight saving (Europe/Berlin).
    #[arg(long, value_name = "ZONE", default_value = "utc", value_parser = parse_zone)]
    pub log_tz: Zone,

    /// Only incidents of this app (repeatable); files named for other apps are not followed.
    #[arg(long = "app", value_name = "NAME")]
    pub apps: Vec<String>,

    /// Leave out incidents (same rule and key) found in this previous --format json/ndjson output.
    #[arg(long, value_name = "PREVIOUS.json")]
    pub baseline: Option<PathBuf>,

    /// Post alerts to this Alertmanager (repeatable: give every peer of an HA cluster).
    #[arg(long = "alertmanager", value_name = "URL")]
    pub alertmanagers: Vec<String>,

    /// Post firing alerts again this often; keep it below Alertmanager's resolve_timeout (5m).
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_duration)]
    pub resend: std::time::Duration,

    /// The most alerts the delivery spool (beside --state) holds; when full the oldest resolved one goes first.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub spool_max: u32,

    /// The `instance` label of alerts (default: this machine's hostname; "" leaves it out).
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,

    /// Serve delivery metrics (sent, failed, spooled, per peer) on http://ADDR/metrics.
    #[arg(long, value_name = "HOST:PORT", requires = "alertmanagers")]
    pub metrics: Option<String>,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    match logtriage::rules::Window::parse(s) {
        Ok(w) if w.ms() > 0 => Ok(std::time::Duration::from_millis(w.ms().unsigned_abs())),
        _ => Err("expected a duration like 30s, 1m, 5m".to_string()),
    }
}

/// `watch --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WatchFormat {
    /// One JSON object per incident, as `scan --format ndjson` writes them.
    Ndjson,
    /// The incident blocks `scan --format text --details` prints.
    Text,
    /// One line per incident: a one-element array `POST /api/v2/alerts` takes as is.
    Alertmanager,
    /// Nothing on stdout (with --alertmanager: delivery only).
    None,
}

/// A `--since`/`--until` value: a point in time, a wall-clock time in
/// `--log-tz`, or an age counted back from when the scan starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Milliseconds since the epoch.
    At(i64),
    /// A date and time without a zone: read in `--log-tz`, as the logs are.
    Wall(chrono::NaiveDateTime),
    /// Milliseconds before now.
    Ago(i64),
}

impl When {
    /// Milliseconds since the epoch, with `now_ms` for ages and `zone` for
    /// wall-clock times; an error for a time the zone skipped (the hour
    /// clocks jump over in spring).
    pub fn resolve(self, now_ms: i64, zone: Zone) -> Result<i64, String> {
        match self {
            When::At(ms) => Ok(ms),
            When::Wall(naive) => zone.instant(naive).ok_or_else(|| {
                format!("{naive} does not exist in --log-tz (the clocks skipped it): choose a time outside that hour")
            }),
            When::Ago(ms) => Ok(now_ms.saturating_sub(ms)),
        }
    }
}

/// Wall-clock forms `--since`/`--until` take besides RFC 3339.
const WALL_FORMATS: [&str; 4] = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"];

fn parse_when(s: &str) -> Result<When, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(When::At(t.timestamp_millis()));
    }
    if let Some(naive) = WALL_FORMATS.iter().find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok()) {
        return Ok(When::Wall(naive));
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(When::Wall(day.and_time(chrono::NaiveTime::MIN)));
    }
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(digits);
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => 0,
    };
    match n.parse::<i64>() {
        Ok(n) if unit_ms > 0 => n.checked_mul(unit_ms).map(When::Ago).ok_or_else(|| "age too large".to_string()),
        _ => Err("expected RFC 3339 like 2026-11-20T09:00:00Z (or +02:00), a date and time in --log-tz like \
                  \"2026-11-20 17:00\" or 2026-11-20, or an age like 30m, 2h, 7d"
            .to_string()),
    }
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Exit 1 for incidents at or above this severity.
    At(Severity),
    /// Never exit 1.
    Never,
}

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    // Any case: the text report prints `[CRITICAL]`.
    let s = s.to_ascii_lowercase();
    if s == "never" {
        return Ok(FailOn::Never);
    }
    Severity::parse(&s).map(FailOn::At).ok_or_else(|| "expected info, low, medium, high, critical or never".to_string())
}

fn parse_zone(s: &str) -> Result<Zone, String> {
    Zone::parse(s).ok_or_else(|| {
        "expected utc, local, an offset like +02:00, or an IANA zone name like Europe/Berlin or America/New_York"
            .to_string()
    })
}

/// `--mmap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MmapArg {
    /// Map rotated files; stream live ones (safe when rotation truncates them mid-scan).
    Auto,
    /// Map every regular file (no faster than auto on most logs; a file truncated during the scan
    /// kills it with SIGBUS).
    Always,
    /// Never map; read every file in chunks.
    Never,
}

impl From<MmapArg> for MmapChoice {
    fn from(m: MmapArg) -> MmapChoice {
        match m {
            MmapArg::Auto => MmapChoice::Auto,
            MmapArg::Always => MmapChoice::Always,
            MmapArg::Never => MmapChoice::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_takes_rfc3339_and_ages() {
        assert_eq!(parse_when("2026-11-20T09:00:00Z"), Ok(When::At(1_795_165_200_000)));
        assert_eq!(parse_when("2026-11-20T10:00:00+01:00"), Ok(When::At(1_795_165_200_000)));
        assert_eq!(parse_when("2h"), Ok(When::Ago(7_200_000)));
        assert_eq!(When::Ago(1_000).resolve(5_000, Zone::Utc), Ok(4_000));
        for bad in ["2 hours", "h", "-2h", "yesterday", "2026-11-20 17", "2026-11-32", "20-11-2026"] {
            assert!(parse_when(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn when_takes_wall_clock_times_in_the_log_zone() {
        let berlin = parse_zone("Europe/Berlin").expect("IANA zone");
        let at = |s: &str, zone| parse_when(s).expect(s).resolve(0, zone);
        // 2026-11-20 is winter time in Berlin (+01:00).
        assert_eq!(at("2026-11-20 17:00", Zone::Utc), Ok(1_795_194_000_000));
        assert_eq!(at("2026-11-20T17:00:00", berlin), Ok(1_795_194_000_000 - 3_600_000));
        assert_eq!(at("2026-11-20", Zone::Utc), Ok(1_795_132_800_000));
        // Summer time: +02:00 on 2026-07-01.
        assert_eq!(
            at("2026-07-01 12:00", berlin),
            parse_when("2026-07-01T10:00:00Z").expect("rfc").resolve(0, Zone::Utc)
        );
        // 02:30 on 2026-03-29 never happened in Berlin.
        assert!(at("2026-03-29 02:30", berlin).is_err());
    }

    #[test]
    fn fail_on_and_zones_in_any_spelling() {
        assert_eq!(parse_fail_on("CRITICAL"), Ok(FailOn::At(Severity::Critical)));
        assert_eq!(parse_fail_on("Never"), Ok(FailOn::Never));
        assert!(parse_fail_on("urgent").is_err());
        for ok in ["utc", "UTC", "local", "+02:00", "Europe/Berlin", "America/New_York"] {
            assert!(parse_zone(ok).is_ok(), "{ok}");
        }
        assert!(parse_zone("Europe/Nowhere").is_err());
    }
}
