//! The run's accounting: what was read, what was skipped and why, how much
//! reached a regex, how long it took. Serialised as the `summary` object of
//! the JSON output (see README, "JSON output").

use serde::Serialize;

use crate::filter::BaselineStats;
use crate::incidents::{Incident, by_severity};
use crate::input::{AppFrom, Duplicate, EcosystemUse, PassedOver, Skip, Stream};
use crate::records::{DayTime, TimeFormat};
use crate::rules::Severity;

/// One file that was scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileStats {
    /// Path as shown everywhere else.
    pub path: String,
    /// The app (its raw pm2 name when known).
    pub app: Option<String>,
    /// Where the app name came from: `ecosystem`, `pm2` (`--pm2`),
    /// `pm2.log` (the file name, renamed to the raw name `pm2.log` gave),
    /// `file-name`; `null` when there is no app.
    pub app_from: Option<AppFrom>,
    /// The stream.
    pub stream: Stream,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// Records (lines joined with their continuations).
    pub records: u64,
    /// Records that had a prefilter hit (or met an unfiltered rule) and so
    /// ran at least one regex.
    pub candidates: u64,
    /// Whether the file's lines carry timestamps.
    pub timestamps: bool,
    /// How its lines carry their time (`pm2-prefix`, `iso8601`,
    /// `json:time(epoch-ms)`, ...; see `records::time`), `null` when no
    /// time was found. A file of times of day (`time-only`) with no date
    /// before them has a format but no `timestamps`.
    pub time_format: Option<TimeFormat>,
    /// What wrote the file, when it is not pm2 or a plain application log
    /// (see `records::FileShape::kind`): `docker-json`, `journald-json`,
    /// `journald-short`, `compose`, `docker-logs`, `postgresql`, `redis`,
    /// `caddy-access`; `null` otherwise.
    /// Decided from its first lines.
    pub kind: Option<&'static str>,
    /// The last time the file speaks (ms since the epoch); where absence
    /// windows still open at the end are judged.
    #[serde(skip)]
    pub last_ts: Option<i64>,
    /// A file of times of day without a date before them: the last of
    /// those times, on the file's own clock (`records::DayTime`). Where its
    /// absence windows still open are judged, and what says the file was
    /// read that way.
    #[serde(skip)]
    pub day_end: Option<DayTime>,
    /// The longest line: (1-based line number, bytes). Lines from
    /// [`LONG_LINE`] up are named in a note.
    #[serde(skip)]
    pub longest_line: (u64, u64),
    /// Why the file was read only in part (it ended early); the summary
    /// lists it with the skipped paths.
    #[serde(skip)]
    pub partial: Option<Skip>,
    /// Lines cut when streamed (longer than [`HELD_LINE`]): how many, and
    /// the first one's number and length.
    #[serde(skip)]
    pub cut_lines: (u64, u64, u64),
    /// NUL bytes passed over: holes a writer left (see `input::holes`).
    #[serde(skip)]
    pub nul_bytes: u64,
    /// Unknown-error mining's tally of this file (`scan --unknown`,
    /// `templates`); taken by the scan once the file is read.
    #[serde(skip)]
    pub mine: Option<Box<crate::mine::Tally>>,
}

impl FileStats {
    /// A file about to be read: named, nothing counted yet.
    pub fn new(path: String, app: Option<String>, app_from: Option<AppFrom>, stream: Stream) -> FileStats {
        FileStats {
            path,
            app,
            app_from,
            stream,
            bytes: 0,
            lines: 0,
            records: 0,
            candidates: 0,
            timestamps: false,
            time_format: None,
            kind: None,
            last_ts: None,
            day_end: None,
            longest_line: (0, 0),
            cut_lines: (0, 0, 0),
            partial: None,
            nul_bytes: 0,
            mine: None,
        }
    }
}

/// Lines at least this long are named in the summary: they are matched
/// whole, but their evidence shows only the start, and a line this long is
/// usually something dumped into the log (a payload, a minified bundle).
pub const LONG_LINE: u64 = 1 << 20;

/// A streamed line is held, and matched, up to this many bytes; the rest of
/// it is read past. Without a bound one line with no break (a binary dump
/// appended to a live log) is held whole, whatever its size.
pub const HELD_LINE: usize = 64 << 20;

impl FileStats {
    /// Keeps line `line` of `len` bytes if it is the longest so far (the
    /// first of equal ones).
    pub fn saw_line(&mut self, line: u64, len: u64) {
        if len > self.longest_line.1 {
            self.longest_line = (line, len);
        }
    }

    /// Records line `line`, `len` bytes long, as cut at [`HELD_LINE`].
    pub fn cut_line(&mut self, line: u64, len: u64) {
        if self.cut_lines.0 == 0 {
            self.cut_lines = (0, line, len);
        }
        self.cut_lines.0 += 1;
        self.saw_line(line, len);
    }

    /// A note for the reader if NUL bytes were passed over in this file.
    pub fn hole_note(&self) -> Option<String> {
        (self.nul_bytes > 0).then(|| {
            format!(
                "{}: {} NUL byte(s) passed over, holding no line (a writer without O_APPEND goes on at its old \
                 offset after copytruncate rotation; open the log in append mode, or rotate with `create`); \
                 the lines around them were read",
                self.path, self.nul_bytes
            )
        })
    }

    /// A note for the reader if this file has a line of [`LONG_LINE`] or
    /// more.
    pub fn long_line_note(&self) -> Option<String> {
        if let (n @ 1.., line, len) = self.cut_lines {
            return Some(format!(
                "{}: {n} line(s) longer than {} MiB (the first, line {line}, is {:.1} MiB): only their first {} MiB were matched, so memory stays bounded; scan a copy with --mmap always to match them whole",
                self.path,
                HELD_LINE >> 20,
                len as f64 / f64::from(1 << 20),
                HELD_LINE >> 20,
            ));
        }
        let (line, len) = self.longest_line;
        (len >= LONG_LINE).then(|| {
            format!(
                "{}: line {line} is {:.1} MiB long; it was matched whole, but evidence shows only its first {} characters",
                self.path,
                len as f64 / f64::from(1 << 20),
                crate::matcher::EVIDENCE_LINE_CHARS
            )
        })
    }
}

impl Summary {
    /// Notes for what discovery left out: files passed over, and paths
    /// that reached a file read under another path.
    pub fn discovery_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let p = &self.passed_over;
        if p.count > 0 {
            let more = if p.count as usize > p.paths.len() { ", ..." } else { "" };
            notes.push(format!(
                "{} file(s) in the directories given were passed over, their names not a log's (*.log, *.log.N, and \
                 their .gz): {}{more}; name a file to read it",
                p.count,
                p.paths.join(", ")
            ));
        }
        if !self.duplicates.is_empty() {
            let pairs: Vec<String> = self.duplicates.iter().map(|d| format!("{} is {}", d.path, d.same_as)).collect();
            notes.push(format!(
                "{} path(s) reach a file already read under another path, so it was read once: {}",
                pairs.len(),
                pairs.join(", ")
            ));
        }
        notes
    }
}

/// Incident counts per severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SeverityCounts {
    /// Critical incidents.
    pub critical: usize,
    /// High incidents.
    pub high: usize,
    /// Medium incidents.
    pub medium: usize,
    /// Low incidents.
    pub low: usize,
    /// Info incidents.
    pub info: usize,
}

impl SeverityCounts {
    /// Counts `incidents`.
    pub fn of(incidents: &[Incident]) -> SeverityCounts {
        let c = by_severity(incidents);
        let get = |i: usize| c.get(i).map_or(0, |p| p.1);
        SeverityCounts { critical: get(0), high: get(1), medium: get(2), low: get(3), info: get(4) }
    }

    /// Counts incidents by their severities (a store's views).
    pub fn of_severities(severities: impl Iterator<Item = Severity>) -> SeverityCounts {
        let mut c = SeverityCounts::default();
        for s in severities {
            *match s {
                Severity::Critical => &mut c.critical,
                Severity::High => &mut c.high,
                Severity::Medium => &mut c.medium,
                Severity::Low => &mut c.low,
                Severity::Info => &mut c.info,
            } += 1;
        }
        c
    }

    /// All incidents.
    pub fn total(&self) -> usize {
        self.critical + self.high + self.medium + self.low + self.info
    }

    /// `["2 critical", "3 high"]`: the severities present, most severe first.
    pub fn present(&self) -> Vec<String> {
        [
            ("critical", self.critical),
            ("high", self.high),
            ("medium", self.medium),
            ("low", self.low),
            ("info", self.info),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect()
    }
}

/// Everything the report says besides the incidents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Files scanned, in output order.
    pub files: Vec<FileStats>,
    /// Total bytes scanned.
    pub bytes: u64,
    /// Total records.
    pub records: u64,
    /// Total candidate records.
    pub candidates: u64,
    /// (record, rule) matches before correlation.
    pub matches: u64,
    /// Incidents per severity.
    pub incidents: SeverityCounts,
    /// Number of rules run.
    pub rules: usize,
    /// Rules with no prefilter literal: they ran on every record.
    pub unfiltered_rules: Vec<String>,
    /// Paths not scanned, with reasons.
    pub skipped: Vec<Skip>,
    /// Files found in the directories given and passed over: not named
    /// like logs.
    pub passed_over: PassedOver,
    /// Paths to a file already read under another path (not read again).
    pub duplicates: Vec<Duplicate>,
    /// `--app` names that matched no file and no incident, each a sentence
    /// (also in `notes`; the CLI says them on stderr).
    #[serde(skip)]
    pub app_misses: Vec<String>,
    /// Things the reader should know about the results.
    pub notes: Vec<String>,
    /// With `--baseline`: the file and how many of this run's incidents it
    /// already had (they are not reported); `null` without one.
    pub baseline: Option<BaselineStats>,
    /// The ecosystem files that named apps: given with `--ecosystem` or
    /// found beside the logs, with what was read from them.
    pub ecosystems: Vec<EcosystemUse>,
    /// Wall time of the scan in milliseconds (the one field that differs
    /// between identical runs).
    pub elapsed_ms: u64,
}
