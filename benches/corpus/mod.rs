//! Synthetic pm2 log corpus, shared by `examples/gen_corpus.rs` (which
//! writes big corpora for `benches/compare.sh`) and `benches/pipeline.rs`
//! (which writes a small one per run): one implementation, included by path.
//!
//! A corpus is eleven files of one pm2 home, each in the shape pm2 really
//! writes (`/work/shared/notes/pm2-log-formats.md` §1.2–1.5, §2.1–2.5):
//!
//! | file | shape |
//! | --- | --- |
//! | `api-out.log`, `api-error.log` | fork mode, `--time`: every line stamped; Fastify/pino JSON on stdout |
//! | `tws-bridge-out.log`, `tws-bridge-error.log` | fork mode, `--time`: market-data bridge (ticks to SQLite, TWS notices) |
//! | `web-out-{0,1}.log`, `web-error-{0,1}.log` | cluster mode, `log_date_format: YYYY-MM-DD HH:mm:ss.SSS Z`: one stamp per write |
//! | `worker-out.log` | `log_type: json`: one object per chunk, message JSON-escaped |
//! | `telegram-bot-out.log` | no timestamps |
//! | `pm2.log` | the daemon: `TIME: PM2 log: ` on a message's first line only |
//!
//! Healthy records match no built-in rule: handled errors are ones no rule
//! is about (a 502 from an upstream API, a validation error, a duplicate
//! tick), and TWS farm notices (which close `tws.farm-broken` windows) come
//! at the rate of reconnects, not of ticks.
//!
//! `dense` is the fraction of records holding a prefilter literal of the
//! built-in rules: half of them real matches (crash-loop bursts, TWS 1100,
//! Node 18 rejection crashes, pm2's cluster rejection banner), half near
//! misses that hold a literal and fail the regex (cluster-reload `_old_N`
//! exits, a crash dump whose caret line pm2 `--time` lost, the rejection
//! banner with no line under it). Every file also gets one real match half
//! way through, so even a sparse corpus has a handful of incidents.
//!
//! [`Shape::AppTimed`] writes the same records as the apps would with
//! pm2's default (no time prefix), each app's own logger stamping its
//! lines: pino JSON (`"time"`, epoch ms) for the API's stdout, winston text
//! (`2026-11-20T10:00:00.123Z error: `) for its stderr, @stoqey/ib's
//! ConsoleLogger (`[2:20:03 PM] `, a time without a date) for the bridge's
//! stdout, Python logging (`2026-11-20 10:00:00,123 ib_async.wrapper ERROR `)
//! for its stderr, log4js (`[2026-11-20T10:00:00.123] [INFO] web - `) for
//! the web workers, bunyan JSON (`"time"` after `"msg"`) for the worker and
//! `INFO 2026-11-20T10:00:00.123Z ` for the bot; Node's own crash dumps stay
//! raw (no logger writes them), and `pm2.log` keeps the daemon's prefix.
//! Loggers stamp a record's first line only.
//!
//! [`Shape::Json`] writes every app file the way `log_type: json` does (the
//! JSON-heavy shape); [`Shape::Untimed`] writes no time at all but in
//! `pm2.log`. [`Layout::ManyApps`] spreads the app files over N apps of
//! small files; [`Layout::OneFile`] writes one huge file. `benches/compare.sh`
//! runs each shape that does not flatter the scan.
//!
//! Output depends only on the configuration: each file has its own PRNG
//! seeded from the seed and the file's index, and files are written in
//! parallel, each by one thread.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// 2026-11-20T10:00:00Z, where every file's clock starts.
const START_MS: i64 = 1_795_168_800_000;
/// Each file's records are spread over about this long.
const SPAN_MS: f64 = 7.0 * 24.0 * 3600.0 * 1000.0;

/// Who timestamps the lines, and how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shape {
    /// pm2 does: `--time`, a cluster `log_date_format`, `log_type: json`,
    /// one file unstamped (see the table above).
    #[default]
    Pm2,
    /// The apps' own loggers do, pm2 adds nothing (its default).
    AppTimed,
    /// Every app runs with pm2's `log_type: json`: each record one JSON
    /// object, its text escaped (the JSON-heavy shape).
    Json,
    /// Nobody does: pm2's default with loggers that write no time (only
    /// `pm2.log` has times). Windows cannot be checked; every match waits
    /// for the end of its file.
    Untimed,
}

/// How the records are spread over files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layout {
    /// The eleven files of the table above.
    #[default]
    Standard,
    /// N copies of the ten app files (apps `api-0`, `api-1`, ...), each
    /// 1/N of their share, and one `pm2.log`: a fleet of small files.
    ManyApps(u32),
    /// Everything in one `tws-bridge-out.log`: one huge file, which the
    /// scan splits across its workers.
    OneFile,
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Total size of all files, in bytes (each file stops at its share).
    pub total_bytes: u64,
    /// Fraction of records holding a rule literal (0.0: healthy logs).
    pub dense: f64,
    /// PRNG seed.
    pub seed: u64,
    /// Who timestamps the lines.
    pub shape: Shape,
    /// How records are spread over files.
    pub layout: Layout,
}

/// What one file got.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// File name inside the output directory.
    pub name: String,
    /// Bytes written.
    pub bytes: u64,
    /// Records written (a record: a line and its continuations).
    pub records: u64,
    /// Records written to match a rule.
    pub hits: u64,
    /// Records written to hold a literal and not match.
    pub near: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ApiOut,
    ApiErr,
    BridgeOut,
    BridgeErr,
    WebOut(u32),
    WebErr,
    WorkerJson,
    Bot,
    Daemon,
}

impl Kind {
    /// The app and stream pm2's JSON lines name.
    fn app_stream(self) -> (&'static str, &'static str) {
        match self {
            Kind::ApiOut => ("api", "out"),
            Kind::ApiErr => ("api", "err"),
            Kind::BridgeOut => ("tws-bridge", "out"),
            Kind::BridgeErr => ("tws-bridge", "err"),
            Kind::WebOut(_) => ("web", "out"),
            Kind::WebErr => ("web", "err"),
            Kind::WorkerJson | Kind::Daemon => ("worker", "out"),
            Kind::Bot => ("telegram-bot", "out"),
        }
    }
}

/// (file, kind, share of the total bytes, rough bytes per record).
const FILES: [(&str, Kind, f64, f64); 11] = [
    ("api-out.log", Kind::ApiOut, 0.27, 260.0),
    ("api-error.log", Kind::ApiErr, 0.03, 420.0),
    ("tws-bridge-out.log", Kind::BridgeOut, 0.25, 110.0),
    ("tws-bridge-error.log", Kind::BridgeErr, 0.03, 180.0),
    ("web-out-0.log", Kind::WebOut(0), 0.11, 110.0),
    ("web-out-1.log", Kind::WebOut(1), 0.11, 110.0),
    ("web-error-0.log", Kind::WebErr, 0.015, 300.0),
    ("web-error-1.log", Kind::WebErr, 0.015, 300.0),
    ("worker-out.log", Kind::WorkerJson, 0.10, 170.0),
    ("telegram-bot-out.log", Kind::Bot, 0.06, 70.0),
    ("pm2.log", Kind::Daemon, 0.01, 75.0),
];

/// One file to write: name, kind, share of the total bytes, rough bytes
/// per record.
type Plan = (String, Kind, f64, f64);

/// The files of `layout`, in order.
fn plan(layout: Layout) -> Vec<Plan> {
    let standard = FILES.iter().map(|&(n, k, share, per)| (n.to_string(), k, share, per));
    match layout {
        Layout::Standard => standard.collect(),
        Layout::OneFile => vec![("tws-bridge-out.log".to_string(), Kind::BridgeOut, 1.0, 110.0)],
        Layout::ManyApps(n) => {
            let n = n.max(1);
            let mut files = Vec::new();
            for copy in 0..n {
                for (name, kind, share, per) in standard.clone().filter(|f| f.1 != Kind::Daemon) {
                    // `api-out.log` -> `api-3-out.log`: the app is `api-3`.
                    let at = name.find("-out").or_else(|| name.find("-error")).unwrap_or(0);
                    files.push((format!("{}-{copy}{}", &name[..at], &name[at..]), kind, share / f64::from(n), per));
                }
            }
            files.extend(standard.filter(|f| f.1 == Kind::Daemon));
            files
        }
    }
}

/// Writes the corpus into `dir` (created if missing; its files are
/// overwritten, nothing else is touched). Reports per file, in plan order.
/// Files are written by one thread per core, each file by one thread, so
/// the bytes do not depend on the machine.
pub fn generate(dir: &Path, cfg: &Config) -> io::Result<Vec<FileReport>> {
    std::fs::create_dir_all(dir)?;
    let dense = if cfg.dense.is_finite() { cfg.dense.clamp(0.0, 1.0) } else { 0.0 };
    let files = plan(cfg.layout);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, usize::from).min(files.len()).max(1);
    let one = |i: usize| -> io::Result<FileReport> {
        let (name, kind, share, per_record) = &files[i];
        let target = (cfg.total_bytes as f64 * share) as u64;
        let seed = cfg.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64 + 1);
        let records = (target as f64 / per_record).max(1.0);
        let mut g = Gen::new(File::create(dir.join(name))?, *kind, seed, SPAN_MS / records, dense);
        g.shape = cfg.shape;
        g.run(target)?;
        Ok(FileReport { name: name.clone(), bytes: g.bytes, records: g.records, hits: g.hits, near: g.near })
    };
    let mut done: Vec<(usize, io::Result<FileReport>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= files.len() {
                            return mine;
                        }
                        mine.push((i, one(i)));
                    }
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    if done.len() != files.len() {
        return Err(io::Error::other("generator panicked"));
    }
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// How the lines of one record are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// pm2 `--time` in fork mode: every line gets `YYYY-MM-DDTHH:mm:ss: `.
    Time,
    /// Cluster mode with a `log_date_format`: the first line only.
    DateFmt,
    /// Written as is (no timestamps, or pm2's own raw cluster texts).
    Raw,
    /// `log_type: json`: one object holding the whole record.
    Json,
    /// The daemon: `TIME: PM2 log: ` on the first line only.
    DaemonLog,
    /// The daemon's `PM2 error: ` level.
    DaemonError,
    /// winston's text format: `2026-11-20T10:00:00.123Z error: ` (first line).
    Winston,
    /// Python logging's `%(asctime)s %(name)s %(levelname)s %(message)s`.
    PyLogging,
    /// @stoqey/ib's ConsoleLogger: `[2:20:03 PM] ` (`toLocaleTimeString`).
    TimeOnly,
    /// log4js' basic layout: `[2026-11-20T10:00:00.123] [INFO] web - `.
    Log4js,
    /// A level, then ISO time: `INFO 2026-11-20T10:00:00.123Z `.
    LevelIso,
    /// bunyan: one JSON object per record, `"time"` after `"msg"`.
    Bunyan,
}

/// `YYYY-MM-DDTHH:mm:ss` of the last second formatted.
struct Stamp {
    sec: i64,
    text: [u8; 19],
}

impl Stamp {
    fn at(&mut self, ms: i64) -> &[u8; 19] {
        let sec = ms.div_euclid(1000);
        if sec != self.sec {
            self.sec = sec;
            let (days, rem) = (sec.div_euclid(86_400), sec.rem_euclid(86_400));
            let (y, m, d) = civil(days);
            let mut t = [0u8; 19];
            put(&mut t[0..4], y as u64);
            t[4] = b'-';
            put(&mut t[5..7], m.into());
            t[7] = b'-';
            put(&mut t[8..10], d.into());
            t[10] = b'T';
            put(&mut t[11..13], (rem / 3600) as u64);
            t[13] = b':';
            put(&mut t[14..16], (rem / 60 % 60) as u64);
            t[16] = b':';
            put(&mut t[17..19], (rem % 60) as u64);
            self.text = t;
        }
        &self.text
    }
}

/// Writes `v` as zero-padded decimal filling `out`.
fn put(out: &mut [u8], mut v: u64) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Days since 1970-01-01 → (year, month, day).
fn civil(days: i64) -> (i64, u32, u32) {
    use chrono::Datelike;
    let date = chrono::DateTime::from_timestamp(days * 86_400, 0).map(|dt| dt.date_naive()).unwrap_or_default();
    (i64::from(date.year()), date.month(), date.day())
}

const SYMBOLS: [&str; 14] =
    ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "META", "GOOGL", "SPY", "QQQ", "IWM", "AMD", "NFLX", "JPM", "XOM"];
const ROUTES: [&str; 8] = [
    "/v1/quotes/",
    "/v1/bars?tf=1m&symbol=",
    "/v1/positions?symbol=",
    "/v1/orders?symbol=",
    "/v1/chain?underlying=",
    "/v1/news?symbol=",
    "/healthz?probe=",
    "/v1/account/summary?focus=",
];
const FARMS: [(&str, &str, u32); 5] = [
    ("Market data", "usfarm", 2104),
    ("Market data", "usopt", 2104),
    ("Market data", "cashfarm", 2104),
    ("HMDS data", "ushmds", 2106),
    ("Sec-def data", "secdefil", 2158),
];
const APPS: [(&str, u32, &str); 5] = [
    ("api", 0, "/srv/api/dist/server.js"),
    ("tws-bridge", 1, "/srv/tws-bridge/dist/index.js"),
    ("worker", 3, "/srv/worker/dist/main.js"),
    ("telegram-bot", 4, "/srv/telegram-bot/bot.js"),
    ("web", 5, "/srv/web/server.js"),
];
const BANNER: &str = "You have triggered an unhandledRejection, you may have forgotten to catch a Promise rejection:";
const TWS_LOST: &str = "Connectivity between IBKR and Trader Workstation has been lost.";

/// One file's generator: PRNG, clock, output and counts.
struct Gen {
    out: BufWriter<File>,
    kind: Kind,
    rng: fastrand::Rng,
    now: i64,
    step: f64,
    dense: f64,
    stamp: Stamp,
    /// The record being composed: lines separated by `\n`.
    rec: String,
    line: Vec<u8>,
    bytes: u64,
    records: u64,
    hits: u64,
    near: u64,
    req: u64,
    pid: u32,
    shape: Shape,
}

impl Gen {
    fn new(file: File, kind: Kind, seed: u64, step: f64, dense: f64) -> Gen {
        let mut rng = fastrand::Rng::with_seed(seed);
        let pid = rng.u32(1200..60_000);
        Gen {
            out: BufWriter::with_capacity(1 << 16, file),
            kind,
            rng,
            now: START_MS,
            step,
            dense,
            stamp: Stamp { sec: i64::MIN, text: [0; 19] },
            rec: String::with_capacity(4096),
            line: Vec::with_capacity(4096),
            bytes: 0,
            records: 0,
            hits: 0,
            near: 0,
            req: 0,
            pid,
            shape: Shape::Pm2,
        }
    }

    fn run(&mut self, target: u64) -> io::Result<()> {
        let mut planted = false;
        while self.bytes < target {
            if !planted && self.bytes >= target / 2 {
                planted = true;
                self.hit()?;
                continue;
            }
            let want = self.dense * self.records as f64 - (self.hits + self.near) as f64;
            let p = (self.dense + want * 0.05).clamp(0.0, 1.0);
            if self.dense > 0.0 && self.rng.f64() < p {
                if self.hits <= self.near {
                    self.hit()?;
                } else {
                    self.near_miss()?;
                }
            } else {
                self.healthy()?;
            }
        }
        self.out.flush()
    }

    /// Moves the clock on by about one mean step.
    fn tick(&mut self) {
        self.now += (self.rng.f64() * 2.0 * self.step) as i64;
    }

    /// Moves the clock on by `lo..hi` ms (bursts).
    fn tick_ms(&mut self, lo: i64, hi: i64) {
        self.now += self.rng.i64(lo..hi);
    }

    fn sym(&mut self) -> &'static str {
        SYMBOLS[self.rng.usize(..SYMBOLS.len())]
    }

    fn price(&mut self) -> f64 {
        f64::from(self.rng.u32(500..90_000)) / 100.0
    }

    /// Writes `self.rec` as one record in `style`, stamped `self.now`.
    fn emit(&mut self, style: Style) -> io::Result<()> {
        self.records += 1;
        let ms = self.now;
        self.line.clear();
        match style {
            Style::Json => {
                let (app, stream) = self.kind.app_stream();
                self.line.extend_from_slice(b"{\"message\":\"");
                json_escape(&self.rec, &mut self.line);
                self.line.extend_from_slice(b"\\n\",\"timestamp\":\"");
                self.line.extend_from_slice(self.stamp.at(ms));
                let _ = write!(
                    self.line,
                    ".{:03}Z\",\"type\":\"{stream}\",\"process_id\":3,\"app_name\":\"{app}\"}}",
                    ms % 1000
                );
                self.line.push(b'\n');
            }
            Style::Bunyan => {
                let pid = self.pid;
                let _ = write!(
                    self.line,
                    "{{\"name\":\"worker\",\"hostname\":\"prod-1\",\"pid\":{pid},\"level\":30,\"msg\":\""
                );
                json_escape(&self.rec, &mut self.line);
                self.line.extend_from_slice(b"\",\"time\":\"");
                self.line.extend_from_slice(self.stamp.at(ms));
                let _ = writeln!(self.line, ".{:03}Z\",\"v\":0}}", ms % 1000);
            }
            _ => {
                // An app's logger stamps the first line; pm2's prefixes are
                // written per line below.
                self.logger_prefix(style, ms);
                for (i, text) in self.rec.split('\n').enumerate() {
                    match (style, i) {
                        (Style::Time, _) => {
                            self.line.extend_from_slice(self.stamp.at(ms));
                            self.line.extend_from_slice(b": ");
                        }
                        (Style::DateFmt, 0) => {
                            let t = self.stamp.at(ms);
                            self.line.extend_from_slice(&t[..10]);
                            self.line.push(b' ');
                            self.line.extend_from_slice(&t[11..]);
                            let _ = write!(self.line, ".{:03} +00:00: ", ms % 1000);
                        }
                        (Style::DaemonLog | Style::DaemonError, 0) => {
                            self.line.extend_from_slice(self.stamp.at(ms));
                            let level: &[u8] =
                                if style == Style::DaemonLog { b": PM2 log: " } else { b": PM2 error: " };
                            self.line.extend_from_slice(level);
                        }
                        _ => {}
                    }
                    self.line.extend_from_slice(text.as_bytes());
                    self.line.push(b'\n');
                }
            }
        }
        self.bytes += self.line.len() as u64;
        self.out.write_all(&self.line)
    }

    /// The first-line prefix an app's logger writes (nothing for pm2's own
    /// styles, which `emit` writes itself).
    fn logger_prefix(&mut self, style: Style, ms: i64) {
        let milli = ms.rem_euclid(1000);
        let err = matches!(self.kind, Kind::ApiErr | Kind::BridgeErr | Kind::WebErr);
        let t = *self.stamp.at(ms);
        let (date, time) = (&t[..10], &t[11..]);
        let line = &mut self.line;
        match style {
            Style::Winston => {
                line.extend_from_slice(&t);
                let _ = write!(line, ".{milli:03}Z {}: ", if err { "error" } else { "info" });
            }
            Style::PyLogging => {
                line.extend_from_slice(date);
                line.push(b' ');
                line.extend_from_slice(time);
                let _ = write!(line, ",{milli:03} ib_async.wrapper {} ", if err { "ERROR" } else { "INFO" });
            }
            Style::TimeOnly => {
                let hour = u32::from(t[11] - b'0') * 10 + u32::from(t[12] - b'0');
                let (h12, half) = match hour {
                    0 => (12, "AM"),
                    1..=11 => (hour, "AM"),
                    12 => (12, "PM"),
                    _ => (hour - 12, "PM"),
                };
                let _ = write!(line, "[{h12}:");
                line.extend_from_slice(&t[14..19]);
                let _ = write!(line, " {half}] ");
            }
            Style::Log4js => {
                line.push(b'[');
                line.extend_from_slice(&t);
                let _ = write!(line, ".{milli:03}] [{}] web - ", if err { "ERROR" } else { "INFO" });
            }
            Style::LevelIso => {
                line.extend_from_slice(b"INFO ");
                line.extend_from_slice(&t);
                let _ = write!(line, ".{milli:03}Z ");
            }
            _ => {}
        }
    }

    /// Sets the record text (`format!`-style, without allocating).
    fn rec(&mut self, args: std::fmt::Arguments<'_>) -> &mut Self {
        self.rec.clear();
        let _ = self.rec.write_fmt(args);
        self
    }

    fn style(&self) -> Style {
        if self.kind == Kind::Daemon {
            return Style::DaemonLog;
        }
        match self.shape {
            Shape::Json => return Style::Json,
            Shape::Untimed => return Style::Raw,
            Shape::Pm2 | Shape::AppTimed => {}
        }
        if self.shape == Shape::AppTimed {
            return match self.kind {
                // Fastify's pino lines carry their own `"time"`.
                Kind::ApiOut => Style::Raw,
                Kind::ApiErr => Style::Winston,
                Kind::BridgeOut => Style::TimeOnly,
                Kind::BridgeErr => Style::PyLogging,
                Kind::WebOut(_) | Kind::WebErr => Style::Log4js,
                Kind::WorkerJson => Style::Bunyan,
                Kind::Bot => Style::LevelIso,
                Kind::Daemon => Style::DaemonLog,
            };
        }
        match self.kind {
            Kind::ApiOut | Kind::ApiErr | Kind::BridgeOut | Kind::BridgeErr => Style::Time,
            Kind::WebOut(_) | Kind::WebErr => Style::DateFmt,
            Kind::WorkerJson => Style::Json,
            Kind::Bot => Style::Raw,
            Kind::Daemon => Style::DaemonLog,
        }
    }

    /// Composes and writes one ordinary record of `format_args!`.
    fn put(&mut self, args: std::fmt::Arguments<'_>) -> io::Result<()> {
        self.rec(args);
        if self.shape == Shape::Untimed {
            untime_pino(&mut self.rec);
        }
        let style = self.style();
        self.emit(style)
    }

    // ---- healthy records -------------------------------------------------

    fn healthy(&mut self) -> io::Result<()> {
        self.tick();
        match self.kind {
            Kind::ApiOut => self.api_out(),
            Kind::ApiErr => self.api_err(),
            Kind::BridgeOut => self.bridge_out(),
            Kind::BridgeErr => self.bridge_err(),
            Kind::WebOut(i) => self.web_out(i),
            Kind::WebErr => self.web_err(),
            Kind::WorkerJson => self.worker(),
            Kind::Bot => self.bot(),
            Kind::Daemon => self.daemon(),
        }
    }

    /// Fastify's pino lines: a request in, the same request out.
    fn api_out(&mut self) -> io::Result<()> {
        self.req += 1;
        let (ms, pid, req) = (self.now, self.pid, self.req);
        let route = ROUTES[self.rng.usize(..ROUTES.len())];
        let sym = self.sym();
        let port = self.rng.u32(32_768..60_999);
        let roll = self.rng.u32(..100);
        if roll < 2 {
            let took = self.rng.u32(300..2500);
            return self.put(format_args!(
                "{{\"level\":40,\"time\":{ms},\"pid\":{pid},\"hostname\":\"prod-1\",\"reqId\":\"req-{req:x}\",\"durationMs\":{took},\"sql\":\"SELECT ts, bid, ask FROM ticks WHERE symbol = $1 ORDER BY ts DESC LIMIT 500\",\"msg\":\"slow query\"}}"
            ));
        }
        self.put(format_args!(
            "{{\"level\":30,\"time\":{ms},\"pid\":{pid},\"hostname\":\"prod-1\",\"reqId\":\"req-{req:x}\",\"req\":{{\"method\":\"GET\",\"url\":\"{route}{sym}\",\"hostname\":\"api.internal:3000\",\"remoteAddress\":\"10.0.3.17\",\"remotePort\":{port}}},\"msg\":\"incoming request\"}}"
        ))?;
        self.tick_ms(0, 40);
        let status = match self.rng.u32(..100) {
            0 => 500,
            1..=3 => 404,
            4 => 304,
            _ => 200,
        };
        let rt = f64::from(self.rng.u32(3..4000)) / 10.0;
        let ms = self.now;
        self.put(format_args!(
            "{{\"level\":30,\"time\":{ms},\"pid\":{pid},\"hostname\":\"prod-1\",\"reqId\":\"req-{req:x}\",\"res\":{{\"statusCode\":{status}}},\"responseTime\":{rt:.1},\"msg\":\"request completed\"}}"
        ))
    }

    /// Handled errors printed with `console.error(err)` (stack and property
    /// block, every line stamped) and Node's process warnings.
    fn api_err(&mut self) -> io::Result<()> {
        let pid = self.pid;
        match self.rng.u32(..10) {
            0 => self.put(format_args!(
                "(node:{pid}) [DEP0040] DeprecationWarning: The `punycode` module is deprecated. Please use a userland alternative instead.\n(Use `node --trace-deprecation ...` to show where the warning was created)"
            )),
            1..=4 => {
                let sym = self.sym();
                self.put(format_args!(
                    "AxiosError: Request failed with status code 502\n    at settle (/srv/api/node_modules/axios/dist/node/axios.cjs:1966:12)\n    at IncomingMessage.handleStreamEnd (/srv/api/node_modules/axios/dist/node/axios.cjs:3065:11)\n    at IncomingMessage.emit (node:events:529:35)\n    at endReadableNT (node:internal/streams/readable:1400:12)\n    at process.processTicksAndRejections (node:internal/process/task_queues:82:21)\n    at async QuoteService.fetch (/srv/api/dist/services/quotes.js:41:22) {{\n  code: 'ERR_BAD_RESPONSE',\n  symbol: '{sym}',\n  status: 502\n}}"
                ))
            }
            // A rejected order ticket: handled, logged, answered with 400.
            _ => {
                let qty = -i64::from(self.rng.u32(1..100));
                self.put(format_args!(
                    "FastifyError [Error]: body/qty must be >= 1 (got {qty})\n    at Object.validate (/srv/api/node_modules/fastify/lib/validation.js:94:14)\n    at preValidationCallback (/srv/api/node_modules/fastify/lib/handleRequest.js:92:19)\n    at handler (/srv/api/node_modules/fastify/lib/handleRequest.js:76:7) {{\n  code: 'FST_ERR_VALIDATION',\n  statusCode: 400,\n  validationContext: 'body'\n}}"
                ))
            }
        }
    }

    /// Ticks to SQLite, subscriptions, farm notices.
    fn bridge_out(&mut self) -> io::Result<()> {
        // Farm notices come in bursts at (re)connects only: a handful a day.
        match self.rng.u32(..1000) {
            0..=549 => {
                let (sym, bid) = (self.sym(), self.price());
                let (n, took) = (self.rng.u32(8..120), f64::from(self.rng.u32(2..60)) / 10.0);
                let size = self.rng.u32(1..50) * 100;
                self.put(format_args!(
                    "[DEBUG] [DB]: wrote {n} ticks to sqlite (ticks.db) in {took:.1}ms, last {sym} bid={bid:.2} ask={:.2} size={size}",
                    bid + 0.02
                ))
            }
            550..=899 => {
                let (sym, px) = (self.sym(), self.price());
                let (id, size) = (self.rng.u32(1000..1100), self.rng.u32(1..20) * 100);
                self.put(format_args!("[DEBUG] [MD]: tick reqId={id} {sym} LAST {px:.2} x {size}"))
            }
            900..=904 => {
                let (kind, farm, code) = FARMS[self.rng.usize(..FARMS.len())];
                self.put(format_args!("[INFO] [TWS]:  {kind} farm connection is OK:{farm} - Code: {code}"))
            }
            905..=979 => {
                let (sym, id) = (self.sym(), self.rng.u32(1000..1100));
                self.put(format_args!("[INFO] [MD]: subscribed reqId={id} symbol={sym} exchange=SMART currency=USD"))
            }
            _ => {
                let (subs, wal) = (self.rng.u32(8..40), f64::from(self.rng.u32(1..80)) / 10.0);
                self.put(format_args!(
                    "[INFO] [BRIDGE]: heartbeat ok, {subs} subscriptions, queue depth 0, sqlite wal {wal:.1} MiB"
                ))
            }
        }
    }

    /// TWS errors that are not incidents, and a handled SQLite error.
    fn bridge_err(&mut self) -> io::Result<()> {
        let id = self.rng.u32(1000..1100);
        match self.rng.u32(..100) {
            0..=44 => self.put(format_args!(
                "[ERROR] [TWS]: reqId={id} code=354 Requested market data is not subscribed. Displaying delayed market data."
            )),
            45..=74 => self.put(format_args!(
                "[ERROR] [TWS]: reqId={id} code=200 No security definition has been found for the request"
            )),
            75 => self.put(format_args!(
                "[WARN] [TWS]:  Market data farm connection is inactive but should be available upon demand.cashfarm - Code: 2108"
            )),
            // A duplicate tick after a reconnect: handled, the row is skipped.
            _ => self.put(format_args!(
                "[ERROR] [DB]: SqliteError: UNIQUE constraint failed: ticks.symbol, ticks.ts\n    at Statement.run (/srv/tws-bridge/node_modules/better-sqlite3/lib/methods/wrappers.js:5:21)\n    at TickStore.flush (/srv/tws-bridge/dist/store.js:88:17)\n    at Timeout._onTimeout (/srv/tws-bridge/dist/store.js:52:14)\n    at listOnTimeout (node:internal/timers:573:17)\n    at process.processTimers (node:internal/timers:514:7) {{\n  code: 'SQLITE_CONSTRAINT_PRIMARYKEY'\n}}"
            )),
        }
    }

    /// Express `dev` lines, websocket churn and a multi-line object whose
    /// continuation lines cluster mode leaves unstamped.
    fn web_out(&mut self, worker: u32) -> io::Result<()> {
        match self.rng.u32(..20) {
            0 => {
                let (user, hour) = (self.rng.u32(1000..9999), self.rng.u32(10..23));
                self.put(format_args!(
                    "session refreshed {{\n  user: 'u_{user}',\n  roles: [ 'trader', 'viewer' ],\n  worker: {worker},\n  expiresAt: 2026-11-20T{hour}:00:00.000Z\n}}"
                ))
            }
            1..=3 => {
                let clients = self.rng.u32(1..64);
                let id = self.rng.u64(..u64::MAX >> 16);
                self.put(format_args!("ws: client connected id={id:x} (clients={clients})"))
            }
            _ => {
                let route = ["/dashboard", "/positions", "/orders", "/watchlist", "/_next/data/b1x/chart.json"]
                    [self.rng.usize(..5)];
                let (code, took, len) = if self.rng.u32(..30) == 0 {
                    (304, f64::from(self.rng.u32(200..900)) / 1000.0, 0)
                } else {
                    (200, f64::from(self.rng.u32(900..90_000)) / 1000.0, self.rng.u32(300..40_000))
                };
                self.put(format_args!("GET {route} {code} {took:.3} ms - {len}"))
            }
        }
    }

    /// `console.error(err)` in cluster mode: one write, one stamp, the
    /// frames raw.
    fn web_err(&mut self) -> io::Result<()> {
        if self.rng.bool() {
            let took = self.rng.u32(1001..4000);
            return self.put(format_args!("upstream /v1/quotes took {took}ms (> 1000ms budget)"));
        }
        // React's development warning, with its component stack.
        self.put(format_args!(
            "Warning: Each child in a list should have a unique \"key\" prop. Check the render method of `QuoteTable`. See https://reactjs.org/link/warning-keys for more information.\n    at QuoteRow (/srv/web/.next/server/chunks/812.js:1:2211)\n    at QuoteTable (/srv/web/.next/server/chunks/812.js:1:3301)\n    at div\n    at QuotesPage (/srv/web/.next/server/app/quotes/page.js:1:9911)"
        ))
    }

    /// JSON-mode worker: job lines, now and then a multi-line summary.
    fn worker(&mut self) -> io::Result<()> {
        let id = self.rng.u32(10_000..99_999);
        let queue = ["eod-report", "fills-sync", "greeks", "mail"][self.rng.usize(..4)];
        if self.rng.u32(..25) == 0 {
            let n = self.rng.u32(50..500);
            return self.put(format_args!("batch summary id={id}:\n  queue: {queue}\n  processed: {n}\n  failed: 0"));
        }
        let took = self.rng.u32(3..900);
        self.put(format_args!("job done id={id} queue={queue} took={took}ms"))
    }

    fn bot(&mut self) -> io::Result<()> {
        let chat = self.rng.u32(100_000..999_999);
        let update = self.rng.u32(100_000..999_999);
        let sym = self.sym();
        match self.rng.u32(..3) {
            0 => self.put(format_args!("[bot] update {update} from @trader_{} (chat {chat}): /quote {sym}", chat % 97)),
            1 => {
                let (px, ch) = (self.price(), f64::from(self.rng.u32(..500)) / 100.0);
                self.put(format_args!("[bot] replied chat {chat}: {sym} {px:.2} (+{ch:.2}%)"))
            }
            _ => self.put(format_args!("[bot] polling ok, offset={update}")),
        }
    }

    /// The daemon: mostly quiet bookkeeping, now and then a deploy (one
    /// app stopped and started: a real exit line, not a loop).
    fn daemon(&mut self) -> io::Result<()> {
        let (app, id, _) = APPS[self.rng.usize(..APPS.len())];
        let pid = self.rng.u32(2000..60_000);
        match self.rng.u32(..1000) {
            0..=1 => {
                self.put(format_args!("Stopping app:{app} id:{id}"))?;
                self.tick_ms(50, 400);
                self.put(format_args!("App [{app}:{id}] exited with code [0] via signal [SIGINT]"))?;
                self.put(format_args!("pid={pid} msg=process tree killed (1 pids)"))?;
                self.put(format_args!("App [{app}:{id}] starting in -fork mode-"))?;
                self.tick_ms(50, 400);
                self.put(format_args!("App [{app}:{id}] online"))
            }
            2..=3 => self.banner(),
            4..=60 => {
                self.rec(format_args!(
                    "Trace: Error: ENOENT: no such file or directory, open '/home/deploy/.pm2/module_conf.json'\n    at Object.openSync (node:fs:596:3)\n    at Object.readFileSync (node:fs:464:35)\n    at Configuration.getSync (/usr/lib/node_modules/pm2/lib/Configuration.js:148:21)"
                ));
                self.emit(Style::DaemonError)
            }
            61..=300 => self.put(format_args!("[PM2][WORKER] Registering a cron job on: {id}")),
            301..=500 => self.put(format_args!("[Watch] Start watching {app}")),
            501..=700 => self.put(format_args!("pid={pid} msg=failed to kill - retrying in 100ms")),
            701..=850 => self.put(format_args!("App [{app}:{id}] online")),
            _ => self.put(format_args!(
                "[PM2][WORKER] Reset the restart delay, as app {app} has been up for more than 30000ms"
            )),
        }
    }

    fn banner(&mut self) -> io::Result<()> {
        let rule = "=".repeat(79);
        let started = self.now / 1000;
        for line in [
            rule.clone(),
            format!("--- New PM2 Daemon started {}", "-".repeat(52)),
            format!("Time                 : epoch {started}"),
            "PM2 version          : 7.0.4".into(),
            "Node.js version      : 20.20.2".into(),
            "Current arch         : x64".into(),
            "PM2 home             : /home/deploy/.pm2".into(),
            "Application log path : /home/deploy/.pm2/logs".into(),
            "Worker Interval      : 30000".into(),
            "Concurrent actions   : 2".into(),
            "SIGTERM timeout      : 1600".into(),
            rule,
        ] {
            self.put(format_args!("{line}"))?;
        }
        Ok(())
    }

    // ---- real matches ----------------------------------------------------

    /// Writes records that match a rule; counts them in `hits`.
    fn hit(&mut self) -> io::Result<()> {
        self.tick();
        let before = self.records;
        let n = match self.kind {
            Kind::ApiOut => {
                let (ms, pid) = (self.now, self.pid);
                self.put(format_args!(
                    "{{\"level\":40,\"time\":{ms},\"pid\":{pid},\"hostname\":\"prod-1\",\"code\":1100,\"msg\":\"market data upstream: {TWS_LOST}\"}}"
                ))?;
                1
            }
            Kind::ApiErr => {
                self.node_crash("Error: connect ETIMEDOUT 10.0.3.21:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16) {\n  errno: -110,\n  code: 'ETIMEDOUT',\n  syscall: 'connect',\n  address: '10.0.3.21',\n  port: 5432\n}", true)?;
                1
            }
            Kind::BridgeOut => {
                self.put(format_args!("[WARN] [TWS]:  {TWS_LOST} - Code: 1100"))?;
                self.tick_ms(20_000, 240_000);
                self.put(format_args!("[INFO] [TWS]:  Connectivity between IBKR and Trader Workstation has been restored - data maintained. All data farms are connected: usfarm; ushmds; secdefil. - Code: 1102"))?;
                1
            }
            Kind::BridgeErr => {
                let reason = ["timeout", "socket closed", "reqMktData rejected"][self.rng.usize(..3)];
                self.node_crash(&format!("[UnhandledPromiseRejection: This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason \"{reason}\".] {{\n  code: 'ERR_UNHANDLED_REJECTION'\n}}"), true)?;
                1
            }
            Kind::WebOut(_) => {
                self.put(format_args!("[ib-status] {TWS_LOST} (code 1100), showing stale-data banner"))?;
                1
            }
            Kind::WebErr => {
                // pm2's cluster container writes this straight to the file:
                // no stamp on any line.
                self.rec(format_args!("{BANNER}\nTypeError: Cannot read properties of undefined (reading 'price')\n    at renderQuote (/srv/web/.next/server/chunks/812.js:1:2345)\n    at async Promise.all (index 3)\n    at async QuotesPage (/srv/web/.next/server/app/quotes/page.js:1:9911)"));
                self.emit(Style::Raw)?;
                1
            }
            Kind::WorkerJson => {
                let id = self.rng.u32(10_000..99_999);
                self.put(format_args!("job failed id={id} queue=orders: {TWS_LOST}"))?;
                1
            }
            Kind::Bot => {
                let n = self.rng.u32(3..60);
                self.put(format_args!("[bot] broadcast to {n} chats: \u{26a0}\u{fe0f} IB status: {TWS_LOST}"))?;
                1
            }
            Kind::Daemon => self.crash_loop()?,
        };
        self.hits += n;
        debug_assert!(self.records > before);
        Ok(())
    }

    /// Node ≥ 15 crash on an unhandled rejection (no pm2 handler:
    /// `--no-pmx`), every line stamped by `--time`. Without `caret` the dump
    /// lost its `^` line (pm2 drops the text after a chunk's last newline,
    /// Unitech/pm2#6125), so the rule's regex no longer matches.
    fn node_crash(&mut self, error: &str, caret: bool) -> io::Result<()> {
        let caret = if caret { "            ^\n" } else { "" };
        self.rec(format_args!(
            "node:internal/process/promises:288\n            triggerUncaughtException(err, true /* fromPromise */);\n{caret}\n{error}\n\nNode.js v18.19.0"
        ));
        // Node writes its crash dump itself: no app logger stamps it.
        let style = if self.shape == Shape::AppTimed { Style::Raw } else { self.style() };
        self.emit(style)
    }

    /// A crash loop in pm2.log: 6–16 exit/start/online cycles a fraction of
    /// a second apart, at 16 given up on. Returns the matching records.
    fn crash_loop(&mut self) -> io::Result<u64> {
        let (app, id, script) = APPS[self.rng.usize(..4)];
        let cycles = self.rng.u64(6..=16);
        let code = [1, 1, 1, 0, 3][self.rng.usize(..5)];
        let signal = if code == 0 { "SIGKILL" } else { "SIGINT" };
        for c in 0..cycles {
            self.put(format_args!("App [{app}:{id}] exited with code [{code}] via signal [{signal}]"))?;
            if c + 1 == cycles && cycles == 16 {
                self.put(format_args!("Script {script} had too many unstable restarts (16). Stopped. \"errored\""))?;
                return Ok(cycles + 1);
            }
            self.put(format_args!("App [{app}:{id}] starting in -fork mode-"))?;
            self.tick_ms(40, 150);
            self.put(format_args!("App [{app}:{id}] online"))?;
            self.tick_ms(60, 900);
        }
        Ok(cycles)
    }

    // ---- near misses -----------------------------------------------------

    /// Writes records that hold a rule literal and match no rule; counts
    /// them in `near`.
    fn near_miss(&mut self) -> io::Result<()> {
        self.tick();
        let n = match self.kind {
            Kind::ApiOut => {
                let (ms, pid) = (self.now, self.pid);
                self.put(format_args!(
                    "{{\"level\":50,\"time\":{ms},\"pid\":{pid},\"hostname\":\"prod-1\",\"err\":{{\"type\":\"Error\",\"message\":\"quote cache refresh failed\"}},\"msg\":\"{BANNER} quote cache refresh failed\"}}"
                ))?;
                1
            }
            Kind::ApiErr | Kind::BridgeErr => {
                self.node_crash("Error: connect ECONNREFUSED 127.0.0.1:4002\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16) {\n  errno: -111,\n  code: 'ECONNREFUSED',\n  syscall: 'connect',\n  address: '127.0.0.1',\n  port: 4002\n}", false)?;
                1
            }
            Kind::BridgeOut => {
                let id = self.rng.u32(1000..1100);
                self.put(format_args!(
                    "[ERROR] [APP]: {BANNER} Error: reqMktData timed out after 10000ms (reqId={id})"
                ))?;
                1
            }
            Kind::WebOut(_) | Kind::WebErr => {
                self.put(format_args!(
                    "[errors] forwarded to Sentry: {BANNER} TypeError: Cannot read properties of undefined (reading 'price')"
                ))?;
                1
            }
            Kind::WorkerJson => {
                // Old @pm2/io printed the banner alone to stdout (the error
                // went to stderr): nothing follows it in this record.
                self.put(format_args!("{BANNER}"))?;
                1
            }
            Kind::Bot => {
                let n = self.rng.u32(0..4);
                self.put(format_args!(
                    "[pm2-notify] web: App [web:_old_{n}] exited with code [0] via signal [SIGINT]"
                ))?;
                1
            }
            Kind::Daemon => self.cluster_reload()?,
        };
        self.near += n;
        Ok(())
    }

    /// `pm2 reload web`: each old worker is replaced on purpose; its exit
    /// line names `_old_N`, which the crash-loop regex does not take.
    fn cluster_reload(&mut self) -> io::Result<u64> {
        let workers = self.rng.u64(2..=4);
        for w in 0..workers {
            let pid = self.rng.u32(2000..60_000);
            self.put(format_args!("App [web:{}] starting in -cluster mode-", 5 + w))?;
            self.tick_ms(100, 900);
            self.put(format_args!("App [web:{}] online", 5 + w))?;
            self.put(format_args!("-reload- New worker listening"))?;
            self.put(format_args!("Stopping app:web id:_old_{w}"))?;
            self.put(format_args!("App name:web id:_old_{w} disconnected"))?;
            self.put(format_args!("App [web:_old_{w}] exited with code [0] via signal [SIGINT]"))?;
            self.put(format_args!("pid={pid} msg=process tree killed (1 pids)"))?;
            self.tick_ms(50, 300);
        }
        Ok(workers)
    }
}

/// Takes pino's `"time":MS,` out of a JSON record: the untimed shape's API
/// logs with `timestamp: false`.
fn untime_pino(rec: &mut String) {
    if let Some(at) = rec.find(",\"time\":") {
        let end = rec[at + 1..].find(',').map_or(rec.len(), |e| at + 1 + e);
        rec.replace_range(at..end, "");
    }
}

/// Appends `s` JSON-escaped (as `JSON.stringify` writes a string's body).
fn json_escape(s: &str, out: &mut Vec<u8>) {
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                let _ = write!(out, "\\u{b:04x}");
            }
            _ => out.push(b),
        }
    }
}
