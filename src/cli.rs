//! Command-line arguments (clap derive) and their resolution into
//! [`ScanOptions`] and rule-loading options.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use logtriage::input::MmapChoice;
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
  logtriage scan logs/ --rules my-rules.toml --fail-on medium

Exit status: 0 nothing at or above --fail-on; 1 incidents at or above it;
2 usage error, rule error, or a path that could not be read.";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan log files or directories and report incidents.
    Scan(ScanArgs),
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

    /// Extra rule pack: a TOML file or a directory of them (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Do not load the built-in rule packs.
    #[arg(long)]
    pub no_builtin_rules: bool,

    /// Exit 1 when an incident is at or above this severity (`never`: always 0).
    #[arg(long, value_name = "SEVERITY", default_value = "high", value_parser = parse_fail_on)]
    pub fail_on: FailOn,

    /// Worker threads (default: one per core). Output is the same for any value.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// Memory-map files: auto maps rotated files and files not written for 10 s.
    #[arg(long, value_enum, default_value_t = MmapArg::Auto)]
    pub mmap: MmapArg,

    /// Run every rule's regex on every record (testing the prefilter).
    #[arg(long, hide = true)]
    pub no_prefilter: bool,

    /// Zone of timestamps written without one (pm2 writes local time): utc, local, or +HH:MM.
    #[arg(long, value_name = "ZONE", default_value = "utc", value_parser = parse_zone)]
    pub log_tz: Zone,
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
    if s == "never" {
        return Ok(FailOn::Never);
    }
    Severity::parse(s).map(FailOn::At).ok_or_else(|| "expected info, low, medium, high, critical or never".to_string())
}

fn parse_zone(s: &str) -> Result<Zone, String> {
    Zone::parse(s).ok_or_else(|| "expected utc, local or an offset like +02:00".to_string())
}

/// `--mmap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MmapArg {
    /// Map rotated files and files not written for 10 s; read live ones.
    Auto,
    /// Map every regular file (fastest; a file truncated meanwhile can crash the scan).
    Always,
    /// Read every file into memory.
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
