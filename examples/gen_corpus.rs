//! Writes a synthetic pm2 log corpus for benchmarking `logtriage scan`
//! against ripgrep (`benches/compare.sh`).
//!
//! ```text
//! cargo run --release --example gen_corpus -- --out DIR --size-mib N [--dense FRACTION] [--seed S]
//!     [--shape pm2|app-timed|json|untimed] [--layout standard|many-apps|one-file] [--apps N]
//! ```
//!
//! Eleven files (fork `--time`, cluster `log_date_format`, JSON, plain and
//! daemon logs) adding up to about N MiB; `--layout many-apps` spreads them
//! over `--apps` apps of small files, `--layout one-file` writes one huge
//! file. `--shape json` writes every app file as pm2's `log_type: json`,
//! `--shape untimed` writes no times but in `pm2.log`. `--dense F` makes a fraction F of
//! records hold a literal of the built-in rules, half real matches and half
//! near misses; the default 0.0 gives healthy logs with a handful of
//! incidents. `--shape app-timed` leaves pm2's time prefixes out and lets
//! each app's own logger stamp its lines (pino, winston, Python logging,
//! a time-only console logger, log4js, bunyan). The same arguments always
//! give the same bytes. The generator
//! itself lives in `benches/corpus/mod.rs`, shared with the criterion
//! benches.

#[path = "../benches/corpus/mod.rs"]
mod corpus;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

/// Writes a synthetic pm2 log corpus.
#[derive(Debug, Parser)]
#[command(name = "gen_corpus")]
struct Args {
    /// Output directory (created if missing; its eleven log files are overwritten).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Total size in MiB (fractions allowed).
    #[arg(long, value_name = "N")]
    size_mib: f64,
    /// Fraction of records holding a rule literal: half matches, half near misses.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = fraction)]
    dense: f64,
    /// PRNG seed.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Who stamps the lines: pm2 (`--time`, a date format, JSON), the apps' own loggers,
    /// pm2's JSON for every app, or nobody.
    #[arg(long, value_enum, default_value_t = ShapeArg::Pm2)]
    shape: ShapeArg,
    /// How records are spread over files.
    #[arg(long, value_enum, default_value_t = LayoutArg::Standard)]
    layout: LayoutArg,
    /// Apps for `--layout many-apps` (each gets the ten app files).
    #[arg(long, value_name = "N", default_value_t = 100)]
    apps: u32,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ShapeArg {
    Pm2,
    AppTimed,
    Json,
    Untimed,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LayoutArg {
    Standard,
    ManyApps,
    OneFile,
}

fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err("expected a number from 0 to 1".to_string()),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !(args.size_mib.is_finite() && args.size_mib > 0.0) {
        eprintln!("gen_corpus: --size-mib must be a positive number");
        return ExitCode::from(2);
    }
    let shape = match args.shape {
        ShapeArg::Pm2 => corpus::Shape::Pm2,
        ShapeArg::AppTimed => corpus::Shape::AppTimed,
        ShapeArg::Json => corpus::Shape::Json,
        ShapeArg::Untimed => corpus::Shape::Untimed,
    };
    let layout = match args.layout {
        LayoutArg::Standard => corpus::Layout::Standard,
        LayoutArg::ManyApps => corpus::Layout::ManyApps(args.apps.max(1)),
        LayoutArg::OneFile => corpus::Layout::OneFile,
    };
    let cfg = corpus::Config {
        total_bytes: (args.size_mib * 1024.0 * 1024.0) as u64,
        dense: args.dense,
        seed: args.seed,
        shape,
        layout,
    };
    let started = Instant::now();
    let files = match corpus::generate(&args.out, &cfg) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("gen_corpus: cannot write {}: {e}", args.out.display());
            return ExitCode::FAILURE;
        }
    };
    println!("{:<22} {:>14} {:>11} {:>9} {:>9}", "file", "bytes", "records", "hits", "near");
    let (mut bytes, mut records, mut hits, mut near) = (0, 0, 0, 0);
    // A fleet of small files is summed, not listed.
    let listed = if files.len() > 20 { 0 } else { files.len() };
    for f in &files[..listed] {
        println!("{:<22} {:>14} {:>11} {:>9} {:>9}", f.name, f.bytes, f.records, f.hits, f.near);
    }
    for f in &files {
        bytes += f.bytes;
        records += f.records;
        hits += f.hits;
        near += f.near;
    }
    println!("{:<22} {:>14} {:>11} {:>9} {:>9}", format!("total ({} files)", files.len()), bytes, records, hits, near);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "wrote {:.1} MiB to {} in {secs:.2} s (dense {}, seed {})",
        bytes as f64 / 1048576.0,
        args.out.display(),
        cfg.dense,
        cfg.seed
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::corpus::{Config, Layout, Shape, generate};
    use std::path::Path;

    fn read_all(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").path())
            .map(|p| (p.display().to_string(), std::fs::read(&p).expect("read")))
            .map(|(p, b)| (p.rsplit('/').next().unwrap_or_default().to_string(), b))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let cfg = Config { total_bytes: 256 * 1024, dense: 0.05, seed: 7, shape: Shape::Pm2, layout: Layout::Standard };
        let (a, b, c) =
            (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
        generate(a.path(), &cfg).expect("generate");
        generate(b.path(), &cfg).expect("generate");
        generate(c.path(), &Config { seed: 8, ..cfg }).expect("generate");
        let (fa, fb, fc) = (read_all(a.path()), read_all(b.path()), read_all(c.path()));
        assert_eq!(fa.len(), 11);
        assert_eq!(fa, fb);
        assert_ne!(fa, fc);
    }

    /// The app-timed shape writes the same records with the apps' own
    /// stamps: no pm2 `--time` prefix outside `pm2.log`.
    #[test]
    fn app_timed_shape_has_no_pm2_prefix_but_pm2_log() {
        let cfg =
            Config { total_bytes: 256 * 1024, dense: 0.05, seed: 7, shape: Shape::AppTimed, layout: Layout::Standard };
        let dir = tempfile::tempdir().expect("dir");
        generate(dir.path(), &cfg).expect("generate");
        for (name, bytes) in read_all(dir.path()) {
            let text = String::from_utf8_lossy(&bytes);
            // `2026-11-20T10:00:00: `, pm2's `--time` prefix.
            let pm2_prefixed = text
                .lines()
                .filter(|l| l.get(19..21) == Some(": ") && l.get(10..11) == Some("T") && l.starts_with("20"))
                .count();
            if name == "pm2.log" {
                assert!(pm2_prefixed > 0, "{name}");
            } else {
                assert_eq!(pm2_prefixed, 0, "{name}: {}", text.lines().next().unwrap_or_default());
            }
        }
        let bridge = std::fs::read_to_string(dir.path().join("tws-bridge-error.log")).expect("read");
        assert!(bridge.lines().any(|l| l.contains(",") && l.contains(" ib_async.wrapper ")), "{bridge:.200}");
    }

    /// The layouts: a fleet of small files named as pm2 names them (one
    /// `pm2.log`), or one file; the JSON shape writes every app line as a
    /// JSON object naming its app and stream; the untimed one writes no
    /// time outside `pm2.log`.
    #[test]
    fn layouts_and_shapes() {
        let cfg = |shape, layout| Config { total_bytes: 512 * 1024, dense: 0.05, seed: 3, shape, layout };
        let dir = tempfile::tempdir().expect("dir");
        generate(dir.path(), &cfg(Shape::Pm2, Layout::ManyApps(4))).expect("generate");
        let names: Vec<String> = read_all(dir.path()).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), 41, "{names:?}");
        assert!(names.contains(&"api-3-error.log".to_string()) && names.contains(&"web-0-out-1.log".to_string()));
        assert_eq!(names.iter().filter(|n| n.starts_with("pm2")).count(), 1);

        let one = tempfile::tempdir().expect("dir");
        generate(one.path(), &cfg(Shape::Pm2, Layout::OneFile)).expect("generate");
        let files = read_all(one.path());
        assert_eq!(files.len(), 1);
        assert!(files[0].1.len() >= 512 * 1024);

        let json = tempfile::tempdir().expect("dir");
        generate(json.path(), &cfg(Shape::Json, Layout::Standard)).expect("generate");
        for (name, bytes) in read_all(json.path()).into_iter().filter(|(n, _)| n != "pm2.log") {
            let text = String::from_utf8_lossy(&bytes);
            let objects = text.lines().filter(|l| l.starts_with("{\"message\":")).count();
            // The cluster's rejection banner is written raw by pm2 itself.
            if name.starts_with("web-error") {
                assert!(objects > 0, "{name}");
            } else {
                assert_eq!(objects, text.lines().count(), "{name}");
            }
            let stream = if name.contains("-error") { "\"type\":\"err\"" } else { "\"type\":\"out\"" };
            assert!(text.contains(stream), "{name}");
        }

        let untimed = tempfile::tempdir().expect("dir");
        generate(untimed.path(), &cfg(Shape::Untimed, Layout::Standard)).expect("generate");
        // A time where a logger or pm2 would put one: at the start of a
        // line (behind a bracket), or pino's `"time"`.
        let stamp = regex::Regex::new(r#"^\[?(20\d\d-\d\d-\d\d|\d{1,2}:\d\d:\d\d)|"time":"#).expect("regex");
        for (name, bytes) in read_all(untimed.path()) {
            let text = String::from_utf8_lossy(&bytes);
            let stamped = text.lines().filter(|l| stamp.is_match(l)).count();
            if name == "pm2.log" {
                assert!(stamped > 0);
            } else {
                assert_eq!(stamped, 0, "{name}: {}", text.lines().find(|l| stamp.is_match(l)).unwrap_or_default());
            }
        }
    }
}
