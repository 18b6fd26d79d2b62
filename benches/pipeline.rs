//! Criterion benches, one group per pipeline stage, on a small synthetic
//! corpus written at start-up by the same generator as
//! `examples/gen_corpus.rs` (`benches/corpus/mod.rs`):
//!
//! * `prefilter`: Aho-Corasick over each file's bytes (`Prefilter::hits`);
//! * `segment`: `FileShape::sniff` + `Segmenter` per log shape;
//! * `timestamp`: `stamp_prefix` on every line, and `to_epoch_ms` after it;
//! * `confirm`: `records::build` and `Matcher::confirm` on the records the
//!   prefilter picked in the dense corpus;
//! * `correlate`: `correlate::correlate` on synthetic events (elements/s:
//!   its input is events, not bytes);
//! * `scan`: the whole `scan::scan` over the corpus directory.
//!
//! `cargo bench --bench pipeline -- GROUP` runs one group.

// The shapes and layouts these benches do not use are gen_corpus's, for
// benches/compare.sh.
#[path = "corpus/mod.rs"]
#[allow(dead_code)]
mod corpus;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

use logtriage::correlate;
use logtriage::input::{self, MmapChoice, SourceMeta, Stream};
use logtriage::matcher::{self, Event, Hit, HitCursor, Matcher, Origin, Scratch};
use logtriage::records::{self, FileShape, Record, RecordSpan, Segmenter, Zone, timestamp};
use logtriage::rules::{self, LoadOptions, RuleSet};
use logtriage::scan::{self, ScanOptions};

/// Size of each generated corpus: big enough to leave the caches, small
/// enough for `cargo bench` to finish in a few minutes.
const CORPUS_BYTES: u64 = 4 << 20;
/// Fraction of records holding a rule literal in the dense corpus.
const DENSE: f64 = 0.05;
const SEED: u64 = 1;

/// One generated log file, read back.
struct LogFile {
    meta: SourceMeta,
    bytes: Vec<u8>,
}

/// A corpus directory and its files.
struct Corpus {
    dir: PathBuf,
    files: Vec<LogFile>,
}

impl Corpus {
    fn write(root: &Path, label: &str, dense: f64) -> Corpus {
        let dir = root.join(label);
        let cfg = corpus::Config {
            total_bytes: CORPUS_BYTES,
            dense,
            seed: SEED,
            shape: corpus::Shape::Pm2,
            layout: corpus::Layout::Standard,
        };
        let reports = corpus::generate(&dir, &cfg).expect("write the bench corpus");
        let (mut records, mut hits, mut near) = (0, 0, 0);
        let mut files = Vec::new();
        for r in &reports {
            records += r.records;
            hits += r.hits;
            near += r.near;
            let path = dir.join(&r.name);
            let bytes = std::fs::read(&path).expect("read the bench corpus back");
            assert_eq!(bytes.len() as u64, r.bytes, "{}", r.name);
            files.push(LogFile { meta: input::classify(&path.display().to_string(), &r.name), bytes });
        }
        eprintln!(
            "corpus {label}: {} files, {} bytes, {records} records, {hits} matching, {near} near misses",
            files.len(),
            files.iter().map(|f| f.bytes.len()).sum::<usize>(),
        );
        Corpus { dir, files }
    }

    fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes.len() as u64).sum()
    }

    fn file(&self, name: &str) -> &LogFile {
        self.files.iter().find(|f| f.meta.path.ends_with(name)).expect("corpus file")
    }
}

struct Fixture {
    rules: Arc<RuleSet>,
    matcher: Matcher,
    sparse: Corpus,
    dense: Corpus,
}

fn pipeline(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let rules = Arc::new(rules::load(&LoadOptions { builtin: true, paths: vec![] }).expect("built-in rules"));
    let fx = Fixture {
        matcher: Matcher::new(rules.clone()),
        rules,
        sparse: Corpus::write(tmp.path(), "sparse", 0.0),
        dense: Corpus::write(tmp.path(), "dense", DENSE),
    };
    prefilter(c, &fx);
    segment(c, &fx);
    stamps(c, &fx);
    confirm(c, &fx);
    correlation(c, &fx);
    whole_scan(c, &fx);
}

fn prefilter(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("prefilter");
    let pf = fx.matcher.prefilter();
    for (label, corpus) in [("sparse", &fx.sparse), ("dense", &fx.dense)] {
        g.throughput(Throughput::Bytes(corpus.bytes()));
        let mut hits: Vec<Hit> = Vec::new();
        g.bench_function(label, |b| {
            b.iter(|| {
                let mut n = 0;
                for f in &corpus.files {
                    hits.clear();
                    pf.hits(&f.bytes, &mut hits);
                    n += hits.len();
                }
                black_box(n)
            })
        });
    }
    g.finish();
}

/// Record spans of one file, as `scan` finds them.
fn spans(f: &LogFile) -> (FileShape, Vec<RecordSpan>) {
    let shape = FileShape::sniff(&f.bytes, f.meta.stream);
    (shape, Segmenter::new(&f.bytes, shape).collect())
}

fn segment(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("segment");
    let shapes = [
        ("fork-time-pino", "api-out.log"),
        ("fork-time-stacks", "api-error.log"),
        ("cluster-datefmt", "web-out-0.log"),
        ("pm2-json", "worker-out.log"),
        ("no-timestamps", "telegram-bot-out.log"),
        ("daemon", "pm2.log"),
    ];
    let all: Vec<&LogFile> = fx.sparse.files.iter().collect();
    let mut cases: Vec<(&str, Vec<&LogFile>)> = vec![("all", all)];
    cases.extend(shapes.iter().map(|(label, name)| (*label, vec![fx.sparse.file(name)])));
    for (label, files) in cases {
        g.throughput(Throughput::Bytes(files.iter().map(|f| f.bytes.len() as u64).sum()));
        g.bench_function(label, |b| {
            b.iter(|| {
                let mut n = 0;
                for f in &files {
                    let shape = FileShape::sniff(&f.bytes, f.meta.stream);
                    n += Segmenter::new(&f.bytes, shape).count();
                }
                black_box(n)
            })
        });
    }
    g.finish();
}

fn stamps(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("timestamp");
    let lines = |name: &str| -> Vec<&[u8]> {
        fx.sparse.file(name).bytes.split(|b| *b == b'\n').filter(|l| timestamp::stamp_prefix(l).is_some()).collect()
    };
    // pm2 `--time` (no ms, no zone) and a cluster log_date_format (ms, zone).
    for (label, lines) in [("time", lines("api-out.log")), ("datefmt", lines("web-out-0.log"))] {
        g.throughput(Throughput::Bytes(lines.iter().map(|l| l.len() as u64 + 1).sum()));
        g.bench_function(format!("prefix/{label}"), |b| {
            b.iter(|| lines.iter().filter_map(|l| timestamp::stamp_prefix(l)).map(|(p, _)| p).sum::<usize>())
        });
        g.bench_function(format!("prefix+epoch/{label}"), |b| {
            b.iter(|| {
                let mut acc = 0i64;
                for l in &lines {
                    if let Some((_, len)) = timestamp::stamp_prefix(l) {
                        acc = acc.wrapping_add(timestamp::to_epoch_ms(&l[..len], Zone::Utc).unwrap_or(0));
                    }
                }
                black_box(acc)
            })
        });
    }
    g.finish();
}

/// A record the prefilter picked, built as `scan` builds it.
struct Candidate<'a> {
    record: Record,
    rules: Vec<matcher::Candidate>,
    origin: Origin<'a>,
}

/// Every (file, span, candidate rules) of `corpus` that `scan` would build
/// and confirm.
fn candidates(m: &Matcher, corpus: &Corpus) -> Vec<(usize, FileShape, RecordSpan, Vec<matcher::Candidate>)> {
    let mut out = Vec::new();
    for (source, f) in corpus.files.iter().enumerate() {
        let mut hits = Vec::new();
        m.prefilter().hits(&f.bytes, &mut hits);
        let (shape, spans) = spans(f);
        let mut cursor = HitCursor::new(&hits);
        let mut units = Vec::new();
        for span in spans {
            cursor.candidates(span.start, span.end, m.prefilter().unfiltered(), &mut units);
            if !units.is_empty() {
                out.push((source, shape, span, units.clone()));
            }
        }
    }
    out
}

fn confirm(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("confirm");
    let corpus = &fx.dense;
    let picked = candidates(&fx.matcher, corpus);
    g.throughput(Throughput::Bytes(picked.iter().map(|(_, _, s, _)| (s.end - s.start) as u64).sum()));
    g.bench_function("build-records", |b| {
        b.iter(|| {
            let mut n = 0;
            for (source, shape, span, _) in &picked {
                n += records::build(&corpus.files[*source].bytes, *span, *shape, Zone::Utc).body.len();
            }
            black_box(n)
        })
    });
    let apps: Vec<Option<std::sync::Arc<str>>> =
        corpus.files.iter().map(|f| f.meta.app.as_deref().map(Into::into)).collect();
    let built: Vec<Candidate<'_>> = picked
        .iter()
        .map(|(source, shape, span, rules)| {
            let f = &corpus.files[*source];
            Candidate {
                record: records::build(&f.bytes, *span, *shape, Zone::Utc),
                rules: rules.clone(),
                origin: Origin { source: *source, line: span.line, app: apps[*source].as_ref(), stream: f.meta.stream },
            }
        })
        .collect();
    g.throughput(Throughput::Bytes(built.iter().map(|c| c.record.body.len() as u64).sum()));
    let mut events: Vec<Event> = Vec::new();
    g.bench_function("regex", |b| {
        b.iter(|| {
            events.clear();
            // Fresh per pass, as per source in a scan.
            let mut scratch = Scratch::default();
            for cand in &built {
                fx.matcher.confirm(&cand.record, &cand.rules, cand.origin, &mut scratch, &mut events);
            }
            black_box(events.len())
        })
    });
    eprintln!("confirm: {} candidate records, {} events", built.len(), events.len());
    g.finish();
}

/// Events as the matcher would hand them on for the dense corpus, scaled
/// up: crash-loop exits in bursts (threshold rule), TWS 1100 and rejection
/// events spread over a week (single rules).
fn synthetic_events(rules: &RuleSet, n: usize) -> Vec<Event> {
    let idx = |id: &str| rules.rules().iter().position(|r| r.id == id).expect("built-in rule") as u32;
    let (crash, tws, node) = (idx("pm2.crash-loop"), idx("tws.connectivity-lost"), idx("node.unhandled-rejection"));
    let apps = ["api", "tws-bridge", "worker", "telegram-bot", "web"];
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut ts = 1_795_168_800_000i64;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        ts += rng.i64(1_000..600_000);
        let app = apps[rng.usize(..apps.len())];
        let line = out.len() as u64 + 1;
        let ev = |rule, stream, fields: Vec<(String, String)>, text: String, ts| Event {
            rule,
            role: logtriage::rules::Role::Start,
            shape: 0.into(),
            source: 0,
            line,
            ts: Some(ts).into(),
            day_time: None,
            app: Some(app.into()),
            stream,
            fields: fields.into_iter().map(|(k, v)| (k.into(), v.into())).collect::<Vec<_>>().into(),
            text: text.into(),
        };
        match rng.u32(..10) {
            0..=3 => {
                for _ in 0..rng.usize(3..16) {
                    ts += rng.i64(100..1_500);
                    let fields = [("app", app), ("pm_id", "1"), ("code", "1"), ("signal", "SIGINT")]
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .to_vec();
                    let text = format!("PM2 log: App [{app}:1] exited with code [1] via signal [SIGINT]");
                    out.push(ev(crash, Stream::Daemon, fields, text, ts));
                }
            }
            4..=7 => {
                let text =
                    "[WARN] [TWS]:  Connectivity between IBKR and Trader Workstation has been lost. - Code: 1100";
                out.push(ev(tws, Stream::Out, Vec::new(), text.to_string(), ts));
            }
            _ => {
                let reason = "Error: connect ETIMEDOUT 10.0.3.21:5432".to_string();
                let text = format!("node:internal/process/promises:288\n...\n{reason}");
                out.push(ev(node, Stream::Err, vec![("reason".to_string(), reason)], text, ts));
            }
        }
    }
    out
}

fn correlation(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("correlate");
    let paths = vec![fx.dense.dir.join("pm2.log").display().to_string()];
    for n in [1_000, 20_000] {
        let events = synthetic_events(&fx.rules, n);
        g.throughput(Throughput::Elements(events.len() as u64));
        g.bench_function(format!("{n}-events"), |b| {
            b.iter_batched(
                || vec![events.clone()],
                |evs| black_box(correlate::correlate(&fx.rules, evs, &paths, None).0.len()),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn whole_scan(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("scan");
    for (label, corpus) in [("sparse", &fx.sparse), ("dense", &fx.dense)] {
        g.throughput(Throughput::Bytes(corpus.bytes()));
        for threads in [None, Some(1)] {
            let opts = ScanOptions {
                paths: vec![corpus.dir.display().to_string()],
                mmap: MmapChoice::Always,
                zone: Zone::Utc,
                threads,
                ..ScanOptions::default()
            };
            let id = match threads {
                None => format!("{label}/all-cores"),
                Some(t) => format!("{label}/{t}-thread"),
            };
            g.bench_function(id, |b| {
                b.iter(|| black_box(scan::scan(fx.rules.clone(), &opts).expect("scan").incidents.len()))
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = pipeline
}
criterion_main!(benches);
