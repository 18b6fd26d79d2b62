//! Records: bytes → lines → records (a line plus its continuations), with
//! the per-file shape (saved `pm2 logs` output? daemon log? where do the
//! times stand?) found by sniffing the start of the file. Hands on
//! [`RecordSpan`]s (cheap: byte range and line number) for every record,
//! and, on request, a [`Record`] (clean message text, timestamp, app and
//! stream) for the few that matter.

pub mod envelope;
pub mod join;
pub mod prefix;
pub mod time;
pub mod timestamp;

use serde::Deserialize;

use crate::input::Stream;
use envelope::{DockerLine, JournalEntry};
pub use join::Joiner;
use prefix::{Frame, Json};
pub use time::{Clock, DayTime, TimeFormat};
pub use timestamp::Zone;

/// How many lines [`FileShape::sniff`] looks at.
const SNIFF_LINES: usize = 200;

/// Frames of a file's lines besides pm2's, and the server that wrote it
/// when its lines say so, packed in a byte: the shape is passed by value
/// for every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Framing(u8);

impl Framing {
    /// Saved `docker compose logs` output: a `SERVICE-N  | ` column names
    /// each line's app.
    pub const COMPOSE: u8 = 1;
    /// A `journalctl -o json` export: each line is a journal entry.
    pub const JOURNAL: u8 = 2;
    /// `docker logs -t` / `docker compose logs -t`: each line starts with
    /// Docker's own stamp (after the column, if any).
    pub const DOCKER_STAMPS: u8 = 4;
    /// A PostgreSQL server log (stderr format): `LOG:  `, `ERROR:  `,
    /// `FATAL:  ` with the server's two spaces.
    pub const POSTGRES: u8 = 8;
    /// A Caddy access log: JSON from the `http.log.access` logger.
    pub const CADDY_ACCESS: u8 = 16;
    /// `journalctl -o short-iso` output: `STAMP HOST IDENT[PID]: ` names
    /// each line's app.
    pub const JOURNAL_TEXT: u8 = 32;

    /// Returns true if and only if `bit` is set.
    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    fn with(self, bit: u8, on: bool) -> Framing {
        if on { Framing(self.0 | bit) } else { self }
    }
}

/// What the start of a file says about all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileShape {
    /// Saved `pm2 logs` output: lines carry an `ID|NAME | ` column.
    pub pm2_logs: bool,
    /// The other frames its lines have (compose columns, journal entries,
    /// Docker's stamps): see [`FileShape::frame`].
    pub framing: Framing,
    /// Lines carry pm2's timestamps (at least one in the sample).
    pub stamped: bool,
    /// The source is the pm2 daemon log.
    pub daemon: bool,
    /// How lines carry their time (the format of most sampled lines).
    pub time: TimeFormat,
    /// The file's modification time (ms since the epoch), where the time
    /// format needs it for a year; set by the caller
    /// ([`FileShape::with_reference`]). Non-zero so the shape stays two
    /// words: it is passed by value for every record (a file last modified
    /// at the epoch's first millisecond has no usable time anyway).
    pub reference: Option<std::num::NonZeroI64>,
}

impl FileShape {
    /// Returns true if and only if `buf` holds all the lines [`FileShape::sniff`]
    /// looks at (a stream reads on until it does, or ends).
    pub fn can_sniff(buf: &[u8]) -> bool {
        memchr::memchr_iter(b'\n', buf).take(SNIFF_LINES).count() >= SNIFF_LINES
    }

    /// Looks at the first lines of `buf`; `stream` is what the file name
    /// said.
    pub fn sniff(buf: &[u8], stream: Stream) -> FileShape {
        let mut column_lines = 0;
        let mut compose_lines = 0;
        let mut journal_lines = 0;
        let mut docker_stamp_lines = 0;
        let mut postgres_lines = 0;
        let mut caddy_access_lines = 0;
        let mut journal_text_lines = 0;
        let mut text_lines = 0;
        let mut stamped = false;
        let mut times = time::Tally::default();
        for line in buf.split(|b| *b == b'\n').take(SNIFF_LINES) {
            if line.is_empty() {
                continue;
            }
            text_lines += 1;
            let line = trim_cr(line);
            let journal = envelope::is_journal_line(line);
            let journal_text = prefix::journal_text_prefix(line).is_some();
            journal_text_lines += usize::from(journal_text);
            let frame = Frame { pm2_logs: true, compose: true, journal, docker_stamps: true, journal_text: true };
            let v = prefix::view(line, frame);
            let docker_stamp = v.stamp.is_some_and(|(_, e)| prefix::is_docker_stamp_end(line, e));
            docker_stamp_lines += usize::from(docker_stamp);
            postgres_lines += usize::from(is_postgres_line(&line[v.body..]));
            caddy_access_lines += usize::from(memchr::memmem::find(line, b"\"logger\":\"http.log.access").is_some());
            match v.column.map(|(s, e)| &line[s..e]) {
                _ if journal_text => {}
                Some(col) if col == b"PM2" || col.contains(&b'|') => column_lines += 1,
                Some(_) => compose_lines += 1,
                None => {}
            }
            journal_lines += usize::from(v.json == Json::Journal);
            stamped |= v.stamp.is_some() || v.json.any();
            match v.stamp {
                _ if v.json == Json::Docker => times.add(TimeFormat::DockerJson),
                _ if v.json == Json::Journal => times.add(TimeFormat::JournalJson),
                // Docker's `logs -t` stamp, journalctl's short-iso stamp:
                // the ISO shape they are.
                Some(_) if docker_stamp || journal_text => times.add(TimeFormat::Text(time::Shape::Iso)),
                // pm2 writes a bracketed stamp only in its own log, and
                // never a tab: elsewhere these are the app's (log4js's
                // `[2026-11-20T10:00:00.123] [INFO]`, Caddy's console
                // encoder). Both are read (and stripped) like pm2's.
                Some((s, e))
                    if line.get(e) == Some(&b'\t') || (line.get(s) == Some(&b'[') && stream != Stream::Daemon) =>
                {
                    times.add(TimeFormat::Text(time::Shape::Iso))
                }
                Some(_) => times.add(TimeFormat::Pm2Prefix),
                None if v.json == Json::Pm2 => times.add(TimeFormat::Pm2Json),
                None => times.add_message(&line[v.body..]),
            }
        }
        // Saved captures are mostly column lines; a real log with a stray
        // "0|x | y" message is not.
        let pm2_logs = column_lines * 2 > text_lines;
        let framing = Framing::default()
            .with(Framing::COMPOSE, !pm2_logs && compose_lines * 2 > text_lines)
            .with(Framing::JOURNAL, journal_lines * 2 > text_lines)
            .with(Framing::DOCKER_STAMPS, docker_stamp_lines * 2 > text_lines)
            // Continuation lines (a DETAIL's tab-indented queries) are no
            // server lines of their own.
            .with(Framing::POSTGRES, postgres_lines * 3 > text_lines)
            .with(Framing::CADDY_ACCESS, caddy_access_lines * 2 > text_lines)
            .with(Framing::JOURNAL_TEXT, journal_text_lines * 2 > text_lines);
        let daemon = stream == Stream::Daemon;
        FileShape { pm2_logs, framing, stamped, daemon, time: times.winner(), reference: None }
    }

    /// What its lines may start with besides a stamp.
    pub fn frame(&self) -> Frame {
        Frame {
            pm2_logs: self.pm2_logs,
            compose: self.compose(),
            journal: self.framing.has(Framing::JOURNAL),
            docker_stamps: self.framing.has(Framing::DOCKER_STAMPS),
            journal_text: self.framing.has(Framing::JOURNAL_TEXT),
        }
    }

    /// Returns true if and only if the file is saved `docker compose logs`
    /// output.
    pub fn compose(&self) -> bool {
        self.framing.has(Framing::COMPOSE)
    }

    /// What wrote the file, when it is not a plain log or pm2's:
    /// `docker-json` (the json-file driver), `journald-json`,
    /// `journald-short` (`journalctl -o short-iso`), `compose` (saved
    /// `docker compose logs`), `docker-logs` (`docker logs -t`),
    /// `postgresql`, `redis`, `caddy-access`; None otherwise. The first
    /// four frame other apps' lines; the last three are servers.
    pub fn kind(&self) -> Option<&'static str> {
        match () {
            _ if self.time == TimeFormat::DockerJson => Some("docker-json"),
            _ if self.framing.has(Framing::JOURNAL) => Some("journald-json"),
            _ if self.framing.has(Framing::JOURNAL_TEXT) => Some("journald-short"),
            _ if self.compose() => Some("compose"),
            _ if self.framing.has(Framing::DOCKER_STAMPS) => Some("docker-logs"),
            _ if self.framing.has(Framing::POSTGRES) => Some("postgresql"),
            _ if self.time == TimeFormat::Text(time::Shape::Redis) => Some("redis"),
            _ if self.framing.has(Framing::CADDY_ACCESS) => Some("caddy-access"),
            _ => None,
        }
    }

    /// The app a server's log stands for, when the file says which server
    /// wrote it (see [`FileShape::kind`]): `postgresql`, `redis`, `caddy`.
    pub fn server_app(&self) -> Option<&'static str> {
        match self.kind()? {
            "postgresql" => Some("postgresql"),
            "redis" => Some("redis"),
            "caddy-access" => Some("caddy"),
            _ => None,
        }
    }

    /// The shape with the file's modification time as the reference for
    /// stamps without a year, if its time format has such stamps;
    /// `mtime` is asked only then.
    pub fn with_reference(self, mtime: impl FnOnce() -> Option<i64>) -> FileShape {
        if !self.time.needs_reference() {
            return self;
        }
        FileShape { reference: mtime().and_then(std::num::NonZeroI64::new), ..self }
    }

    /// Returns true if and only if the file's records may be scanned in
    /// parts that start mid-file: not a `pm2 logs` capture (its section
    /// headers name files far above their records), nor a file of times
    /// of day (each is dated by every stamp before it; see [`Clock`]).
    pub fn splits(&self) -> bool {
        !self.pm2_logs && !self.time.keeps_clock()
    }

    /// Returns true if and only if the file's records carry times (a file
    /// of times of day with no date in it has none, only times on its own
    /// clock: see [`Clock`]).
    pub fn timed(&self) -> bool {
        self.stamped || (self.time.timed() && !self.time.keeps_clock())
    }
}

/// A PostgreSQL server line's level with its two spaces (`elog.c`,
/// `send_message_to_server_log`: `LOG:  ` and the others), within the
/// first 120 bytes (after `log_line_prefix`).
fn is_postgres_line(msg: &[u8]) -> bool {
    const LEVELS: [&[u8]; 7] =
        [b"LOG:  ", b"ERROR:  ", b"FATAL:  ", b"PANIC:  ", b"WARNING:  ", b"DETAIL:  ", b"STATEMENT:  "];
    // csvlog rows: `TIME UTC,"user","db",pid,...,LOG,00000,"message"`;
    // jsonlog objects: `{"timestamp":"...","error_severity":"LOG",...}`.
    const CSV: [&[u8]; 5] = [b",LOG,", b",ERROR,", b",FATAL,", b",PANIC,", b",WARNING,"];
    if msg.starts_with(b"{\"timestamp\":\"") {
        return memchr::memmem::find(msg, b"\"error_severity\":\"").is_some();
    }
    let head = &msg[..msg.len().min(120)];
    if memchr::memmem::find(head, b":  ").is_some() && LEVELS.iter().any(|l| memchr::memmem::find(head, l).is_some()) {
        return true;
    }
    let row = &msg[..msg.len().min(400)];
    let zone_then_comma = msg.get(23..).and_then(|r| memchr::memchr(b',', &r[..r.len().min(8)])).is_some();
    zone_then_comma && CSV.iter().any(|l| memchr::memmem::find(row, l).is_some())
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Where one record is in its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSpan {
    /// Offset of the first byte of the first line.
    pub start: usize,
    /// Offset just past the last line's text (its `\n` excluded).
    pub end: usize,
    /// 1-based number of the first line.
    pub line: u64,
    /// Offset of the line whose stamp dates the record: its own first line,
    /// or the closest stamped line before it (cluster-mode crash texts are
    /// written raw between stamped lines).
    pub stamp_line: Option<usize>,
    /// In saved `pm2 logs` output, the offset of the `PATH last N lines:`
    /// header of the tail section holding the record: it names the file
    /// (the column truncates app names to 10 characters).
    pub section: Option<usize>,
    /// In a file of times of day, the [`Clock`] before the record's first
    /// line (also the clock after `stamp_line` when that is an earlier
    /// line): what dates it, and what a scan resuming at the record
    /// starts from.
    pub clock: Clock,
}

/// Iterates the records of a buffer in order.
pub struct Segmenter<'h> {
    buf: &'h [u8],
    pos: usize,
    line_no: u64,
    shape: FileShape,
    joiner: Joiner,
    current: Option<RecordSpan>,
    last_stamp: Option<usize>,
    section: Option<usize>,
    longest: (u64, usize),
    /// The last line was a Docker partial line: the next one goes on
    /// with it.
    partial_above: bool,
    /// The file's frame (asked of every line).
    frame: Frame,
    /// Lines carry stamps that are not pm2's (Docker's, journald's): they
    /// differ line by line, so lines join as if unstamped.
    foreign_stamps: bool,
    /// Where the last line's pm2 stamp is in `buf`, if it had one.
    stamp_above: Option<(usize, usize)>,
    /// The shapes of application stamps looked for on each line.
    times: time::Mask,
    clock: Clock,
    /// The last time on the file's own clock (times of day before any
    /// date), see [`Segmenter::last_day_time`].
    last_day: Option<DayTime>,
}

impl<'h> Segmenter<'h> {
    /// Starts at the beginning of `buf`.
    pub fn new(buf: &'h [u8], shape: FileShape) -> Segmenter<'h> {
        let joiner = Joiner::new(shape.daemon && shape.stamped);
        Segmenter {
            buf,
            pos: 0,
            line_no: 0,
            shape,
            joiner,
            current: None,
            last_stamp: None,
            section: None,
            longest: (0, 0),
            partial_above: false,
            frame: shape.frame(),
            foreign_stamps: shape.framing.has(Framing::DOCKER_STAMPS | Framing::JOURNAL_TEXT),
            stamp_above: None,
            times: shape.time.mask(),
            clock: Clock::default(),
            last_day: None,
        }
    }

    /// Starts from `clock` (the clock of the record a previous buffer left
    /// over, see [`RecordSpan::clock`]).
    pub fn with_clock(self, clock: Clock) -> Segmenter<'h> {
        Segmenter { clock, ..self }
    }

    /// The clock after the lines read so far.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Starts at the beginning of `buf`, whose first line is line
    /// `lines_before + 1` of its file.
    pub fn starting_at_line(buf: &'h [u8], shape: FileShape, lines_before: u64) -> Segmenter<'h> {
        Segmenter { line_no: lines_before, ..Segmenter::new(buf, shape) }
    }

    /// Number of lines read so far.
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }

    /// The longest line read so far: (1-based number, bytes without the
    /// line break); the first of equal ones. (0, 0) before any line.
    pub fn longest_line(&self) -> (u64, usize) {
        self.longest
    }

    /// Offset of the last stamped line read so far (see [`stamp_at`]).
    pub fn last_stamp(&self) -> Option<usize> {
        self.last_stamp
    }

    /// The time of the last stamp read so far that has a time on the
    /// file's own clock only (a time of day before any full date): where
    /// that clock's part of the file ends.
    pub fn last_day_time(&self) -> Option<DayTime> {
        self.last_day
    }
}

impl Iterator for Segmenter<'_> {
    type Item = RecordSpan;

    fn next(&mut self) -> Option<RecordSpan> {
        while self.pos < self.buf.len() {
            let start = self.pos;
            let nl = memchr::memchr(b'\n', &self.buf[start..]);
            let end = nl.map_or(self.buf.len(), |i| start + i);
            self.pos = nl.map_or(self.buf.len(), |i| start + i + 1);
            self.line_no += 1;
            if end - start > self.longest.1 {
                self.longest = (self.line_no, end - start);
            }
            let line = trim_cr(&self.buf[start..end]);
            let v = prefix::view(line, self.frame);
            let column = v.column.map_or(&b""[..], |(s, e)| &line[s..e]);
            let msg = &line[v.body..];
            let stamp = v.stamp.map_or(&b""[..], |(s, e)| &line[s..e]);
            let stamp_above = self.stamp_above.map_or(&b""[..], |(s, e)| &self.buf[s..e]);
            self.stamp_above = v.stamp.map(|(s, e)| (start + s, start + e));
            let joins = if v.json == Json::Docker
                && let Some((text, partial)) = envelope::docker_text(msg)
            {
                // Docker writes each line of output as an object: join
                // them on their text, as lines nobody stamped.
                let facts =
                    join::LineFacts { body: text, stamped: false, stamp: b"", stamp_above: b"", json: false, column };
                std::mem::replace(&mut self.partial_above, partial) || self.joiner.feed(facts)
            } else {
                self.partial_above = false;
                // Docker's and journald's stamps are not pm2's: join as if
                // unstamped (lines of two identifiers never join: column).
                let pm2_stamp = v.stamp.filter(|_| !self.foreign_stamps);
                let (stamp, stamp_above) =
                    if self.foreign_stamps { (&b""[..], &b""[..]) } else { (stamp, stamp_above) };
                let json = v.json.whole();
                let facts =
                    join::LineFacts { body: msg, stamped: pm2_stamp.is_some(), stamp, stamp_above, json, column };
                self.joiner.feed(facts)
            };
            let clock = self.clock;
            let mut stamped = v.stamp.is_some() || v.json.any();
            if !stamped && let Some(found) = time::find(msg, self.times, v.iso) {
                if !self.shape.time.keeps_clock() {
                    stamped = true;
                } else if let Some(clock) = self.clock.read(msg, found) {
                    // A file of times of day reads every stamp anyway: one
                    // that does not read as a time (`2026-13-45 ...`) is no
                    // stamp, so a record is dated by a line whose time is
                    // known, the same from any buffer (see `stamp_at`).
                    stamped = true;
                    self.clock = clock;
                    self.last_day = clock.day_time().or(self.last_day);
                }
            }
            if stamped {
                self.last_stamp = Some(start);
            }
            if self.shape.pm2_logs && v.column.is_none() {
                // Tail sections end with a blank line.
                self.section = tail_section_path(line).map(|_| start);
            }
            if joins && let Some(cur) = self.current.as_mut() {
                cur.end = end;
                continue;
            }
            let next = RecordSpan {
                start,
                end,
                line: self.line_no,
                stamp_line: self.last_stamp,
                section: self.section,
                clock,
            };
            if let Some(done) = self.current.replace(next) {
                return Some(done);
            }
        }
        self.current.take()
    }
}

/// `/home/deploy/.pm2/logs/api-error.log last 15 lines:` → the path.
fn tail_section_path(line: &[u8]) -> Option<String> {
    memchr::memmem::find(line, b" lines:")?;
    let mut clean = Vec::new();
    prefix::strip_ansi(line, &mut clean);
    let text = String::from_utf8_lossy(&clean);
    let (path, rest) = text.trim_end().rsplit_once(" last ")?;
    let n = rest.strip_suffix(" lines:")?;
    n.bytes().all(|b| b.is_ascii_digit()).then(|| path.to_string())
}

/// A record made ready for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Message text: prefixes and colour codes removed, lines joined by
    /// `\n`; for a JSON object, its decoded `message`.
    pub body: Vec<u8>,
    /// When it was written, in ms since the epoch.
    pub ts: Option<i64>,
    /// In a file of times of day with no full date before the record: its
    /// time on the file's own clock (`ts` is then None). Never both.
    pub day_time: Option<DayTime>,
    /// App named by the record itself (JSON `app_name`, `pm2 logs` column).
    pub app: Option<String>,
    /// Stream named by the record itself (JSON `type`, column colour).
    pub stream: Option<Stream>,
}

/// The fields of a pm2 JSON log line that logtriage reads.
#[derive(Deserialize)]
struct Pm2Json {
    message: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    app_name: Option<String>,
}

/// Builds the [`Record`] for `span`.
pub fn build(buf: &[u8], span: RecordSpan, shape: FileShape, zone: Zone) -> Record {
    let text = &buf[span.start..span.end];
    let mut rec = Record { body: Vec::with_capacity(text.len()), ts: None, day_time: None, app: None, stream: None };
    // The line before was a Docker partial line: this one goes on with it.
    let mut glued = false;
    let frame = shape.frame();
    for (i, raw) in text.split(|b| *b == b'\n').enumerate() {
        let line = trim_cr(raw);
        let v = prefix::view(line, frame);
        if i == 0 {
            describe_from_column(&mut rec, line, &v, shape);
        } else if !glued {
            rec.body.push(b'\n');
        }
        glued = false;
        let first = i == 0;
        let decoded = match v.json {
            Json::Pm2 => first && json_record(&mut rec, &line[v.body..], zone),
            Json::Journal => first && journal_record(&mut rec, &line[v.body..]),
            Json::Docker => docker_line(&mut rec, &line[v.body..], first).map(|partial| glued = partial).is_some(),
            Json::No => false,
        };
        if !decoded {
            prefix::strip_ansi(&line[v.body..], &mut rec.body);
        }
    }
    if rec.ts.is_none() {
        (rec.ts, rec.day_time) = match span.stamp_line {
            Some(at) => times_at(buf, at, shape, zone, span.clock),
            // Dated by a stamp in an earlier buffer: the clock carried from
            // there is the clock after it (the instant comes with the
            // buffer, see `scan`).
            None => (None, span.clock.day_time()),
        };
    }
    if let Some(path) = span.section.and_then(|at| tail_section_path(line_at(buf, at))) {
        let name = path.rsplit('/').next().unwrap_or(&path);
        let meta = crate::input::classify(&path, name);
        rec.app = meta.app.or(rec.app.take());
        rec.stream = Some(meta.stream);
    }
    rec
}

fn line_at(buf: &[u8], at: usize) -> &[u8] {
    let end = memchr::memchr(b'\n', &buf[at..]).map_or(buf.len(), |i| at + i);
    trim_cr(&buf[at..end])
}

fn describe_from_column(rec: &mut Record, line: &[u8], v: &prefix::LineView, shape: FileShape) {
    if let Some((s, e)) = v.column {
        let col = String::from_utf8_lossy(&line[s..e]);
        if shape.compose() {
            rec.app = Some(compose_service(&col).to_string());
            return;
        }
        if shape.framing.has(Framing::JOURNAL_TEXT) {
            rec.app = Some(col.into_owned());
            return;
        }
        match col.split_once('|') {
            Some((_, name)) => rec.app = Some(name.trim().to_string()),
            None => rec.stream = Some(Stream::Daemon),
        }
    }
    if let Some(stream) = v.coloured {
        rec.stream = Some(stream);
    }
}

/// The service of a `docker compose logs` column: compose v2 names
/// containers `SERVICE-N` (v1 `PROJECT_SERVICE_N`); the replica number
/// goes, so replicas are one app.
fn compose_service(column: &str) -> &str {
    match column.rsplit_once(['-', '_']) {
        Some((service, n)) if !service.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => service,
        _ => column,
    }
}

/// Appends a Docker object's line to `rec` (the first line gives the
/// record its stream); returns whether the line is partial, or None if
/// the line is not a Docker object after all (it is then matched as
/// text).
fn docker_line(rec: &mut Record, text: &[u8], first: bool) -> Option<bool> {
    let line = DockerLine::decode(text)?;
    if first {
        rec.stream = line.stream().or(rec.stream);
    }
    let (text, partial) = line.text();
    prefix::strip_ansi(text.as_bytes(), &mut rec.body);
    Some(partial)
}

/// Fills `rec` from a journal entry; false if the line is not one after
/// all (it is then matched as text).
fn journal_record(rec: &mut Record, text: &[u8]) -> bool {
    let Some(entry) = JournalEntry::decode(text) else { return false };
    let msg = entry.message();
    prefix::strip_ansi(msg.strip_suffix(b"\n").unwrap_or(&msg), &mut rec.body);
    rec.ts = entry.time_ms();
    rec.app = entry.app().or(rec.app.take());
    rec.stream = entry.stream().or(rec.stream);
    true
}

/// Fills `rec` from a pm2 JSON object; false if the line is not one after
/// all (it is then matched as text).
fn json_record(rec: &mut Record, text: &[u8], zone: Zone) -> bool {
    let Ok(obj) = serde_json::from_slice::<Pm2Json>(text) else { return false };
    let msg = obj.message.strip_suffix('\n').unwrap_or(&obj.message);
    prefix::strip_ansi(msg.as_bytes(), &mut rec.body);
    rec.ts = obj.timestamp.and_then(|t| timestamp::to_epoch_ms(t.as_bytes(), zone));
    rec.app = obj.app_name.or(rec.app.take());
    rec.stream = match obj.kind.as_deref() {
        Some("out") => Some(Stream::Out),
        Some("err") => Some(Stream::Err),
        _ => rec.stream,
    };
    true
}

/// The time of the stamped (or JSON) line at offset `at`. `clock` is the
/// clock just before that line or just after it (see [`Clock::seen`]);
/// only a file of times of day reads it.
pub fn stamp_at(buf: &[u8], at: usize, shape: FileShape, zone: Zone, clock: Clock) -> Option<i64> {
    times_at(buf, at, shape, zone, clock).0
}

/// [`stamp_at`], and where the line's time is a time of day with no date
/// before it, its time on the file's own clock instead. One reading of
/// the stamp decides which, so a record never gets both nor neither where
/// its stamp reads.
fn times_at(buf: &[u8], at: usize, shape: FileShape, zone: Zone, clock: Clock) -> (Option<i64>, Option<DayTime>) {
    let line = line_at(buf, at);
    let v = prefix::view(line, shape.frame());
    if let Some((s, e)) = v.stamp {
        return (timestamp::to_epoch_ms(&line[s..e], zone), None);
    }
    match v.json {
        Json::Pm2 => {
            let obj: Option<Pm2Json> = serde_json::from_slice(&line[v.body..]).ok();
            return (obj.and_then(|o| timestamp::to_epoch_ms(o.timestamp?.as_bytes(), zone)), None);
        }
        Json::Journal => return (JournalEntry::decode(&line[v.body..]).and_then(|e| e.time_ms()), None),
        Json::Docker | Json::No => {}
    }
    let msg = &line[v.body..];
    let Some(found) = time::find(msg, shape.time.mask(), v.iso) else { return (None, None) };
    let clock = match shape.time.keeps_clock() {
        false => clock,
        true => match clock.read(msg, found) {
            Some(after) if after.day_time().is_some() => return (None, after.day_time()),
            Some(after) => after,
            None => return (None, None),
        },
    };
    let reference = shape.reference.map(std::num::NonZeroI64::get);
    let ctx = time::Context { format: shape.time, zone, clock, reference };
    (time::resolve(msg, found, &ctx), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str, stream: Stream) -> Vec<(u64, String)> {
        let shape = FileShape::sniff(text.as_bytes(), stream);
        Segmenter::new(text.as_bytes(), shape)
            .map(|s| (s.line, String::from_utf8_lossy(&text.as_bytes()[s.start..s.end]).into_owned()))
            .collect()
    }

    #[test]
    fn segments_with_line_numbers_and_crlf() {
        let text = "a\r\n    at b\r\nc\r\n";
        let s = spans(text, Stream::Out);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].0, 3);
        let no_final_newline = spans("one\ntwo", Stream::Out);
        assert_eq!(no_final_newline, vec![(1, "one".to_string()), (2, "two".to_string())]);
    }

    /// Every record (and every line's view) is copied through the scan's
    /// hot loop: the time state they carry must not grow them.
    #[test]
    fn spans_and_views_stay_small() {
        assert!(std::mem::size_of::<RecordSpan>() <= 64, "{}", std::mem::size_of::<RecordSpan>());
        assert_eq!(std::mem::size_of::<Clock>(), 8);
        assert!(std::mem::size_of::<FileShape>() <= 16, "{}", std::mem::size_of::<FileShape>());
        assert!(std::mem::size_of::<prefix::LineView>() <= 64, "{}", std::mem::size_of::<prefix::LineView>());
    }

    #[test]
    fn the_longest_line_is_kept() {
        let text = b"short\na much longer line\nanother long line\nx";
        let mut seg = Segmenter::new(text, FileShape::sniff(text, Stream::Out));
        assert_eq!(seg.longest_line(), (0, 0));
        seg.by_ref().for_each(drop);
        assert_eq!(seg.longest_line(), (2, 18));
    }

    #[test]
    fn build_strips_stamps_on_every_line() {
        let text = "2026-11-20T10:00:00: Error: boom\n2026-11-20T10:00:00:     at x (/a.js:1:1)\n";
        let shape = FileShape::sniff(text.as_bytes(), Stream::Err);
        let span = Segmenter::new(text.as_bytes(), shape).next().expect("one record");
        let rec = build(text.as_bytes(), span, shape, Zone::Utc);
        assert_eq!(rec.body, b"Error: boom\n    at x (/a.js:1:1)");
        assert_eq!(rec.ts, Some(1_795_168_800_000));
    }

    #[test]
    fn raw_cluster_text_takes_the_previous_stamp() {
        let text = "2026-11-20T10:00:00: worker up\nYou have triggered an unhandledRejection, you may have forgotten to catch a Promise rejection:\nError: x\n";
        let shape = FileShape::sniff(text.as_bytes(), Stream::Err);
        let spans: Vec<_> = Segmenter::new(text.as_bytes(), shape).collect();
        assert_eq!(spans.len(), 2);
        let rec = build(text.as_bytes(), spans[1], shape, Zone::Utc);
        assert_eq!(rec.ts, Some(1_795_168_800_000));
    }

    #[test]
    fn json_records_decode_message_app_and_stream() {
        let text = "{\"message\":\"Error: boom\\n    at x (/a.js:1:1)\\n\",\"timestamp\":\"2026-11-20T10:00:00.500Z\",\"type\":\"err\",\"process_id\":4,\"app_name\":\"worker\"}\n";
        let shape = FileShape::sniff(text.as_bytes(), Stream::Err);
        let span = Segmenter::new(text.as_bytes(), shape).next().expect("record");
        let rec = build(text.as_bytes(), span, shape, Zone::Utc);
        assert_eq!(rec.body, b"Error: boom\n    at x (/a.js:1:1)");
        assert_eq!(rec.app.as_deref(), Some("worker"));
        assert_eq!(rec.stream, Some(Stream::Err));
        assert_eq!(rec.ts, Some(1_795_168_800_500));
    }

    #[test]
    fn saved_pm2_logs_capture() {
        let text = "PM2        | 2026-11-20T10:00:00: PM2 log: App [api:0] online\n0|api      | Error: boom\n0|api      |     at x (/a.js:1:1)\n1|web      |     at not-a-continuation\n";
        let shape = FileShape::sniff(text.as_bytes(), Stream::Unknown);
        assert!(shape.pm2_logs);
        let spans: Vec<_> = Segmenter::new(text.as_bytes(), shape).collect();
        assert_eq!(spans.len(), 3);
        let rec = build(text.as_bytes(), spans[1], shape, Zone::Utc);
        assert_eq!(rec.app.as_deref(), Some("api"));
        assert_eq!(rec.body, b"Error: boom\n    at x (/a.js:1:1)");
    }

    /// Each record's time, in line order.
    fn times(text: &str, stream: Stream) -> Vec<Option<i64>> {
        let shape = FileShape::sniff(text.as_bytes(), stream);
        Segmenter::new(text.as_bytes(), shape).map(|s| build(text.as_bytes(), s, shape, Zone::Utc).ts).collect()
    }

    /// An application's own time dates its record (a `logging.exception`
    /// message with its traceback), and the unstamped records after it
    /// take it too.
    #[test]
    fn app_times_at_column_0_date_the_lines_after_them() {
        let text = "2026-11-20 10:00:00,250 recorder ERROR flush failed\nTraceback (most recent call last):\n  File \"x.py\", line 1\nsqlite3.OperationalError: database is locked\nretrying in 1 s\n2026-11-20 10:00:01,000 recorder INFO ok\n";
        let shape = FileShape::sniff(text.as_bytes(), Stream::Out);
        assert_eq!((shape.time, shape.stamped, shape.timed()), (TimeFormat::Text(time::Shape::Iso), false, true));
        let t = 1_795_168_800_250;
        assert_eq!(times(text, Stream::Out), vec![Some(t), Some(t), Some(t + 750)]);
    }

    /// Behind `[LEVEL]`, `LEVEL`, `LEVEL:`: the same instant.
    #[test]
    fn app_times_behind_level_tags() {
        let text = "[ERROR] 2026-11-20 10:00:00 a\nERROR 2026-11-20 10:00:01 b\nERROR:2026-11-20 10:00:02,000:c\n";
        let t = 1_795_168_800_000;
        assert_eq!(times(text, Stream::Err), vec![Some(t), Some(t + 1000), Some(t + 2000)]);
    }

    /// Where pm2's prefix and the app's time are both on a line, pm2's is
    /// the record's time; after a `pm2 logs` column, the app's is found.
    #[test]
    fn pm2_prefixes_win_and_columns_are_skipped() {
        let text = "2026-11-20T10:00:09: 2026-11-20 10:00:00,250 app INFO x\n";
        assert_eq!(FileShape::sniff(text.as_bytes(), Stream::Out).time, TimeFormat::Pm2Prefix);
        assert_eq!(times(text, Stream::Out), vec![Some(1_795_168_809_000)]);
        let capture =
            "0|api      | 2026-11-20 10:00:00,250 app INFO x\n1|web      | [2026-11-20T10:00:01.000] [INFO] y\n";
        let shape = FileShape::sniff(capture.as_bytes(), Stream::Unknown);
        assert!(shape.pm2_logs);
        assert_eq!(times(capture, Stream::Unknown), vec![Some(1_795_168_800_250), Some(1_795_168_801_000)]);
    }

    /// A file of times of day is dated from its first full date on, and
    /// is not split across workers; before that date its records have
    /// times on the file's own clock only.
    #[test]
    fn times_of_day_wait_for_a_date() {
        let text = "[10:00:00] a\n2026-11-20T10:00:01 b\n[10:00:02] c\n";
        let shape = FileShape::sniff(text.as_bytes(), Stream::Out);
        assert_eq!(shape.time, TimeFormat::Text(time::Shape::TimeOfDay));
        assert!(!shape.splits() && !shape.timed());
        assert_eq!(times(text, Stream::Out), vec![None, Some(1_795_168_801_000), Some(1_795_168_802_000)]);
        assert_eq!(day_times(text), vec![Some(DayTime::new(0, 36_000_000)), None, None]);
    }

    /// Each record's time on its file's own clock, in line order.
    fn day_times(text: &str) -> Vec<Option<DayTime>> {
        let shape = FileShape::sniff(text.as_bytes(), Stream::Out);
        Segmenter::new(text.as_bytes(), shape).map(|s| build(text.as_bytes(), s, shape, Zone::Utc).day_time).collect()
    }

    /// Without a date, times of day keep their order and spacing on the
    /// file's own clock, past midnight too; a line without a stamp takes
    /// the stamp's before it, a line before any stamp has none, and the
    /// segmenter says where that clock ends.
    #[test]
    fn times_of_day_without_a_date_run_on_the_files_clock() {
        let text = "bridge starting\n[11:58:01 PM] a\nraw text\n[12:01:30 AM] b\n[12:01:29 AM] c\n";
        let s = 1000;
        assert_eq!(
            day_times(text),
            vec![
                None,
                Some(DayTime::new(0, 86_281 * s)),
                Some(DayTime::new(0, 86_281 * s)),
                Some(DayTime::new(1, 90 * s)),
                Some(DayTime::new(1, 89 * s)),
            ]
        );
        assert_eq!(times(text, Stream::Out), vec![None; 5], "never an instant");
        let shape = FileShape::sniff(text.as_bytes(), Stream::Out);
        let mut seg = Segmenter::new(text.as_bytes(), shape);
        seg.by_ref().for_each(drop);
        assert_eq!(seg.last_day_time(), Some(DayTime::new(1, 89 * s)));
    }

    /// A stamp of the shape whose date does not exist is no stamp in a
    /// file of times of day: the line takes the time before it, from one
    /// buffer or from a clock carried over.
    #[test]
    fn a_stamp_that_does_not_read_dates_nothing() {
        let text = "[10:00:00] a\n[10:00:01] b\n2026-13-45 10:00:02 c\n";
        let shape = FileShape::sniff(text.as_bytes(), Stream::Out);
        let spans: Vec<RecordSpan> = Segmenter::new(text.as_bytes(), shape).collect();
        assert_eq!(spans[2].stamp_line, Some(spans[1].start));
        assert_eq!(day_times(text)[2], Some(DayTime::new(0, 36_001_000)));
        let tail = &text.as_bytes()[spans[2].start..];
        let carried = Segmenter::new(tail, shape).with_clock(spans[2].clock).next().expect("record");
        assert_eq!(build(tail, carried, shape, Zone::Utc).day_time, Some(DayTime::new(0, 36_001_000)));
    }

    /// Docker's json-file driver writes each line of a crash as its own
    /// object (`\t` as `\u0009`, `<` as `\u003c`, as moby's
    /// `ffjsonWriteJSONBytesAsString` does); they join into one record on
    /// their text, decoded, with the stream and time of the first, and a
    /// line Docker split at 16 KiB is glued back without a break.
    #[test]
    fn docker_json_file_lines_join_and_decode() {
        let text = concat!(
            r#"{"log":"listening on :3000\n","stream":"stdout","time":"2026-12-05T17:20:00.5Z"}"#,
            "\n",
            r#"{"log":"Error: connect ECONNREFUSED 127.0.0.1:5432\n","stream":"stderr","time":"2026-12-05T17:20:01.123456789Z"}"#,
            "\n",
            r#"{"log":"    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16) {\n","stream":"stderr","time":"2026-12-05T17:20:01.123467Z"}"#,
            "\n",
            r#"{"log":"  code: 'ECONNREFUSED'\n","stream":"stderr","time":"2026-12-05T17:20:01.12347Z"}"#,
            "\n",
            r#"{"log":"}\n","stream":"stderr","time":"2026-12-05T17:20:01.1235Z"}"#,
            "\n",
            r#"{"log":"payload \u003cxxxx","stream":"stdout","time":"2026-12-05T17:20:02Z"}"#,
            "\n",
            r#"{"log":"yyyy\u0026\u0009end\n","stream":"stdout","time":"2026-12-05T17:20:02.000001Z"}"#,
            "\n",
        );
        let shape = FileShape::sniff(text.as_bytes(), Stream::Combined);
        assert_eq!((shape.time, shape.kind()), (TimeFormat::DockerJson, Some("docker-json")));
        let spans: Vec<_> = Segmenter::new(text.as_bytes(), shape).collect();
        assert_eq!(spans.iter().map(|s| s.line).collect::<Vec<_>>(), vec![1, 2, 6]);
        let recs: Vec<Record> = spans.iter().map(|s| build(text.as_bytes(), *s, shape, Zone::Utc)).collect();
        assert_eq!((recs[0].stream, recs[0].ts), (Some(Stream::Out), Some(1_796_491_200_500)));
        assert_eq!(
            String::from_utf8_lossy(&recs[1].body),
            "Error: connect ECONNREFUSED 127.0.0.1:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16) {\n  code: 'ECONNREFUSED'\n}"
        );
        assert_eq!((recs[1].stream, recs[1].ts), (Some(Stream::Err), Some(1_796_491_201_123)));
        assert_eq!(recs[2].body, b"payload <xxxxyyyy&\tend");
    }

    /// `journalctl -o json` (systemd 252: keys in its own order): each
    /// entry is a record with its unit as the app, `PRIORITY` 3 as err,
    /// and `__REALTIME_TIMESTAMP` as its time; a multi-line message stays
    /// one record.
    #[test]
    fn journal_entries_are_records() {
        let text = concat!(
            r#"{"_SYSTEMD_UNIT":"redis-server.service","__CURSOR":"s=1;i=1","MESSAGE":"1:M 05 Dec 2026 17:20:01.000 # Background saving error","__REALTIME_TIMESTAMP":"1796491201000000","PRIORITY":"3","SYSLOG_IDENTIFIER":"redis-server"}"#,
            "\n",
            r#"{"__CURSOR":"s=1;i=2","SYSLOG_IDENTIFIER":"bot","MESSAGE":"Error: x\n    at y (/a.js:1:1)","__REALTIME_TIMESTAMP":"1796491202000000","PRIORITY":"6"}"#,
            "\n",
        );
        let shape = FileShape::sniff(text.as_bytes(), Stream::Combined);
        assert_eq!((shape.time, shape.kind()), (TimeFormat::JournalJson, Some("journald-json")));
        let recs: Vec<Record> =
            Segmenter::new(text.as_bytes(), shape).map(|s| build(text.as_bytes(), s, shape, Zone::Utc)).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(
            (recs[0].app.as_deref(), recs[0].stream, recs[0].ts),
            (Some("redis-server"), Some(Stream::Err), Some(1_796_491_201_000))
        );
        assert_eq!((recs[1].app.as_deref(), recs[1].stream), (Some("bot"), Some(Stream::Out)));
        assert_eq!(recs[1].body, b"Error: x\n    at y (/a.js:1:1)");
    }

    /// `docker compose logs -t`: the column names the service (replica
    /// number dropped), Docker's time after it dates the line, and a
    /// stack trace joins within one service's lines only.
    #[test]
    fn compose_logs_name_services() {
        let text = concat!(
            "api-1  | 2026-12-05T17:20:01.123456789Z Error: connect ECONNREFUSED 127.0.0.1:5432\n",
            "api-1  | 2026-12-05T17:20:01.123500000Z     at TCPConnectWrap.afterConnect (node:net:1611:16)\n",
            "db-1   | 2026-12-05T17:20:01.200000000Z     at not-a-continuation\n",
            "db-1   | 2026-12-05T17:20:02.000000000Z 2026-12-05 17:20:02.000 UTC [1] LOG:  database system is ready\n",
        );
        let shape = FileShape::sniff(text.as_bytes(), Stream::Combined);
        assert_eq!((shape.compose(), shape.pm2_logs, shape.kind()), (true, false, Some("compose")));
        assert_eq!(shape.time, TimeFormat::Text(time::Shape::Iso));
        let recs: Vec<Record> =
            Segmenter::new(text.as_bytes(), shape).map(|s| build(text.as_bytes(), s, shape, Zone::Utc)).collect();
        assert_eq!(recs.len(), 3);
        assert_eq!((recs[0].app.as_deref(), recs[0].ts), (Some("api"), Some(1_796_491_201_123)));
        assert!(recs[0].body.ends_with(b"(node:net:1611:16)"));
        assert_eq!((recs[1].app.as_deref(), recs[2].ts), (Some("db"), Some(1_796_491_202_000)));
        assert_eq!(compose_service("proj_api_1"), "proj_api");
        assert_eq!(compose_service("redis"), "redis");
    }

    #[test]
    fn tail_section_headers_name_the_file() {
        let text = "\x1b[1m\x1b[90m/home/deploy/.pm2/logs/tws-bridge-error.log last 15 lines:\x1b[39m\x1b[22m\n1|tws-brid | Error: boom\n\n1|tws-brid | after the section\n";
        let shape = FileShape::sniff(text.as_bytes(), Stream::Unknown);
        let spans: Vec<_> = Segmenter::new(text.as_bytes(), shape).collect();
        let inside = build(text.as_bytes(), spans[1], shape, Zone::Utc);
        assert_eq!((inside.app.as_deref(), inside.stream), (Some("tws-bridge"), Some(Stream::Err)));
        let after = build(text.as_bytes(), *spans.last().expect("records"), shape, Zone::Utc);
        assert_eq!(after.app.as_deref(), Some("tws-brid"));
    }
}
