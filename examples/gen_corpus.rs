//! Writes a synthetic pm2 log corpus for benchmarking `logtriage scan`
//! against ripgrep (`benches/compare.sh`).
//!
//! ```text
//! cargo run --release --example gen_corpus -- --out DIR --size-mib N [--dense FRACTION] [--seed S] [--shape pm2|app-timed]
//! ```
//!
//! Eleven files (fork `--time`, cluster `log_date_format`, JSON, plain and
//! daemon logs) adding up to about N MiB. `--dense F` makes a fraction F of
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
    /// Who stamps the lines: pm2 (`--time`, a date format, JSON) or the apps' own loggers.
    #[arg(long, value_enum, default_value_t = ShapeArg::Pm2)]
    shape: ShapeArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ShapeArg {
    Pm2,
    AppTimed,
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
    };
    let cfg = corpus::Config {
        total_bytes: (args.size_mib * 1024.0 * 1024.0) as u64,
        dense: args.dense,
        seed: args.seed,
        shape,
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
    for f in &files {
        println!("{:<22} {:>14} {:>11} {:>9} {:>9}", f.name, f.bytes, f.records, f.hits, f.near);
        bytes += f.bytes;
        records += f.records;
        hits += f.hits;
        near += f.near;
    }
    println!("{:<22} {:>14} {:>11} {:>9} {:>9}", "total", bytes, records, hits, near);
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
    use super::corpus::{Config, Shape, generate};
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
        let cfg = Config { total_bytes: 256 * 1024, dense: 0.05, seed: 7, shape: Shape::Pm2 };
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
        let cfg = Config { total_bytes: 256 * 1024, dense: 0.05, seed: 7, shape: Shape::AppTimed };
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
}
