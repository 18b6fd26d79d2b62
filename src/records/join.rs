//! Which lines belong together. A record is a line plus its continuations:
//! Node stack frames, `{ ... }` property blocks, crash dumps (source header,
//! caret, error, frames, `Node.js vX` trailer), the V8 OOM block, Node's
//! two-line unhandled-rejection warnings, pm2's rejection banner and the
//! error under it, Python tracebacks (frames, the exception line, chained
//! tracebacks, the log line `logging.exception` writes above one, asyncio's
//! "exception was never retrieved" report), and, in `pm2.log`, unstamped
//! lines under a stamped one.
//! Decisions look only at message text (after prefixes), so a block that
//! pm2 `--time` stamped line by line joins exactly like an unstamped one.

use std::sync::LazyLock;

use memchr::memmem;
use regex::bytes::Regex;

/// A record never grows past this many lines: a file of nothing but
/// indented lines must not become one record.
pub const MAX_RECORD_LINES: u32 = 1000;

/// A constant pattern compiled by every joining test: its `expect` cannot
/// fire on any input.
///
/// `node:internal/process/promises:288`, `node:events:502`,
/// `/srv/app/crash.js:2`, `events.js:183`, `C:\app\x.js:10`.
static CRASH_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:node:[A-Za-z0-9_/.-]+|internal/[A-Za-z0-9_/.-]+\.js|[a-z_]+\.js|(?:/|[A-Za-z]:\\|file:///)\S*\.[cm]?[jt]sx?",
        // Errors emitted from native code (node-sqlite3) or eval'd code.
        r"|<anonymous_script>|evalmachine\.<anonymous>|\[eval\]):\d+$"
    ))
    .expect("static regex")
});

/// The first line of every Python traceback (`traceback.print_exception`,
/// `sys.excepthook`, `logging.exception`).
const TRACEBACK: &[u8] = b"Traceback (most recent call last):";

/// The lines Python prints between the tracebacks of a chain (`raise ...
/// from e`, an exception raised while handling another).
const CHAIN_MARKERS: [&[u8]; 2] = [
    b"During handling of the above exception, another exception occurred:",
    b"The above exception was the direct cause of the following exception:",
];

/// asyncio's default exception handler logs `Task exception was never
/// retrieved` / `Future exception was never retrieved`, then `future: <...>`
/// (and `task:`, `handle:`, ... lines), then the traceback.
const ASYNCIO_REPORT: &[u8] = b"exception was never retrieved";

const LEAD_INS: [&[u8]; 2] =
    [b"you may have forgotten to catch a Promise rejection:", b"The promise rejected with the reason:"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// Ordinary record: indented lines and closers continue it.
    Normal,
    /// After a crash header: source line, caret, then a blank line (or,
    /// for errors thrown from native code, the error right away).
    CrashHeader { lines: u8, caret: bool },
    /// After the blank line: the next text line is the error itself.
    CrashError,
    /// The error's frames and properties, up to the `Node.js v` trailer.
    CrashBody,
    /// `<--- Last few GCs --->` … native frames.
    Oom,
    /// A banner whose next line is the error it announces.
    LeadIn,
    /// `(node:PID) UnhandledPromiseRejectionWarning: <reason>`; Node's
    /// second warning line and DEP0018 belong to it.
    RejectionWarning,
    /// `Traceback (most recent call last):` read: indented frames, source
    /// lines and `^^^` markers, then the exception line (not indented).
    PyFrames,
    /// A traceback's exception line read: a blank line and a chain marker
    /// may follow (then another traceback); any other line ends it.
    PyDone,
    /// A chain marker read: a blank line, then the next traceback.
    PyChain,
    /// asyncio's never-retrieved report: `key: <...>` lines, then the
    /// traceback, or only the exception line when it has no frames.
    PyAsyncio,
}

/// The joining state machine. Feed it each line's message text in order.
#[derive(Debug)]
pub struct Joiner {
    block: Block,
    brace_open: bool,
    lines: u32,
    column: Vec<u8>,
    daemon_stamped: bool,
}

/// What the joiner needs to know about one line.
#[derive(Debug, Clone, Copy)]
pub struct LineFacts<'a> {
    /// Message text, without prefixes and line terminator.
    pub body: &'a [u8],
    /// The line had a timestamp prefix.
    pub stamped: bool,
    /// That prefix's time as written (empty without one).
    pub stamp: &'a [u8],
    /// The stamp of the line before, as written (empty without one). pm2
    /// stamps every line of one write alike, so a traceback that
    /// `logging.exception` wrote with its message carries the message
    /// line's stamp, while one printed later (the `KeyboardInterrupt` of
    /// `pm2 stop`) does not.
    pub stamp_above: &'a [u8],
    /// The line is a pm2 JSON object (always a record of its own).
    pub json: bool,
    /// The `pm2 logs` source column, if any (lines of another source never
    /// join).
    pub column: &'a [u8],
}

impl Joiner {
    /// `daemon_stamped`: the file is a stamped `pm2.log`, where every
    /// message starts stamped and unstamped lines continue it.
    pub fn new(daemon_stamped: bool) -> Joiner {
        Joiner { block: Block::Normal, brace_open: false, lines: 0, column: Vec::new(), daemon_stamped }
    }

    /// Returns true if and only if the line continues the current record;
    /// otherwise it starts a new one. Updates the block state either way.
    pub fn feed(&mut self, line: LineFacts<'_>) -> bool {
        let joins = self.lines > 0
            && self.lines < MAX_RECORD_LINES
            && !line.json
            && same_column(line.column, &self.column)
            && self.continues(line);
        if joins {
            self.lines += 1;
            self.track_braces(line.body);
        } else {
            self.start(line);
        }
        joins
    }

    fn continues(&mut self, line: LineFacts<'_>) -> bool {
        let body = line.body;
        let by_block = match self.block {
            Block::CrashHeader { lines, caret } => {
                if is_blank(body) {
                    self.block = Block::CrashError;
                    true
                } else if caret {
                    // better-sqlite3 and other native throws print the
                    // error right under the caret, with no blank line.
                    self.block = Block::CrashBody;
                    true
                } else if lines >= 4 {
                    false
                } else {
                    self.block = Block::CrashHeader { lines: lines + 1, caret: is_caret(body) };
                    true
                }
            }
            Block::CrashError => {
                if !is_blank(body) {
                    self.block = Block::CrashBody;
                }
                true
            }
            Block::CrashBody => {
                if is_trailer(body) {
                    self.block = Block::Normal;
                    true
                } else {
                    // `] {` closes a bracketed message that spans lines
                    // (`[Error: SQLITE_BUSY: ...` / `Emitted 'error' ...`).
                    self.generic(body) || body.starts_with(b"]") || body.starts_with(b"}")
                }
            }
            Block::Oom => is_oom_line(body),
            Block::LeadIn => {
                // A second banner right under the first announces its own
                // error (a paste or a tail that kept only the banners).
                if LEAD_INS.iter().any(|l| body.ends_with(l)) {
                    return false;
                }
                if !is_blank(body) {
                    self.block = Block::Normal;
                }
                true
            }
            Block::RejectionWarning => is_rejection_tail(body) || self.generic(body),
            Block::PyFrames => {
                if !body.first().is_some_and(|b| *b == b' ' || *b == b'\t') && !is_blank(body) {
                    self.block = Block::PyDone;
                }
                true
            }
            Block::PyDone => {
                if CHAIN_MARKERS.iter().any(|m| body.starts_with(m)) {
                    self.block = Block::PyChain;
                    true
                } else {
                    // A second traceback right under the exception line is
                    // another report (asyncio's, then the uncaught one).
                    !body.starts_with(TRACEBACK) && self.generic(body)
                }
            }
            Block::PyChain => self.traceback_joins(body, None) || is_blank(body),
            Block::PyAsyncio => {
                if is_asyncio_context(body) {
                    true
                } else if is_exception_line(body) {
                    self.block = Block::PyDone;
                    true
                } else {
                    self.traceback_joins(body, Some(line)) || self.generic(body)
                }
            }
            // `logging.exception` writes its message, then the traceback
            // under it with no prefix: one record, dated by the message.
            Block::Normal => self.generic(body) || self.traceback_joins(body, Some(line)),
        };
        by_block || (self.daemon_stamped && !line.stamped)
    }

    fn generic(&self, body: &[u8]) -> bool {
        match body.first() {
            None => true,
            Some(b' ' | b'\t') => true,
            Some(b'}' | b']') => self.brace_open,
            // Node 12+ adds this hint under the first warning a process
            // prints; it belongs to that warning.
            Some(b'(') => body.starts_with(b"(Use `node --trace-"),
            _ => body.starts_with(b"Emitted 'error' event") || is_trailer(body),
        }
    }

    /// A traceback's first line joins the record above it (the message of
    /// `logging.exception`, `Exception in thread ...:`, asyncio's report);
    /// with `stamps`, only if pm2 stamped both lines alike.
    fn traceback_joins(&mut self, body: &[u8], stamps: Option<LineFacts<'_>>) -> bool {
        let joins = body.starts_with(TRACEBACK) && stamps.is_none_or(|l| l.stamp == l.stamp_above);
        if joins {
            self.block = Block::PyFrames;
        }
        joins
    }

    fn start(&mut self, line: LineFacts<'_>) {
        let body = line.body;
        self.lines = 1;
        self.brace_open = false;
        self.column.clear();
        self.column.extend_from_slice(line.column);
        self.block = if line.json {
            Block::Normal
        } else if is_crash_header(body) {
            Block::CrashHeader { lines: 0, caret: false }
        } else if body.starts_with(b"<--- Last few GCs")
            || body.starts_with(b"<--- JS stacktrace")
            || body.starts_with(b"FATAL ERROR:")
        {
            Block::Oom
        } else if LEAD_INS.iter().any(|l| body.ends_with(l)) {
            Block::LeadIn
        } else if body.starts_with(b"(node:") && memmem::find(body, b"UnhandledPromiseRejectionWarning: ").is_some() {
            Block::RejectionWarning
        } else if body.starts_with(TRACEBACK) {
            Block::PyFrames
        } else if body.trim_ascii_end().ends_with(ASYNCIO_REPORT) {
            Block::PyAsyncio
        } else {
            Block::Normal
        };
        self.track_braces(body);
    }

    fn track_braces(&mut self, body: &[u8]) {
        let trimmed = body.trim_ascii_end();
        if trimmed.ends_with(b"{") || trimmed.ends_with(b"[") {
            self.brace_open = true;
        } else if body.first().is_some_and(|b| *b == b'}' || *b == b']') {
            self.brace_open = false;
        }
    }
}

/// Crash headers end in a digit and hold no space; most log lines fail
/// those checks before the regex runs.
fn is_crash_header(body: &[u8]) -> bool {
    body.last().is_some_and(u8::is_ascii_digit)
        && body.len() < 512
        && memchr::memchr(b' ', body).is_none()
        && CRASH_HEADER.is_match(body)
}

/// Outside saved `pm2 logs` output both columns are empty. Comparing the
/// lengths first matters: glibc's memcmp on two empty slices (dangling
/// pointers) cost 70-130 ns per line on the bench machine, a third of the
/// scan time.
fn same_column(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

/// The caret line under the source line: white space, then `^`s.
fn is_caret(body: &[u8]) -> bool {
    let t = body.trim_ascii();
    !t.is_empty() && t.iter().all(|b| *b == b'^')
}

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// `Node.js v20.20.2`: Node ≥ 17 prints it last after a fatal exception.
fn is_trailer(body: &[u8]) -> bool {
    body.strip_prefix(b"Node.js v").is_some_and(|r| r.first().is_some_and(u8::is_ascii_digit))
}

fn is_oom_line(body: &[u8]) -> bool {
    match body.first() {
        None | Some(b' ' | b'\t') => true,
        // GC trace lines start `[pid:0xisolate]`; an app's own `[bridge] ...`
        // line after the block is not part of it.
        Some(b'[') => {
            let digits = body[1..].iter().take_while(|b| b.is_ascii_digit()).count();
            digits > 0 && body[1 + digits..].starts_with(b":0x")
        }
        Some(b) if b.is_ascii_digit() => {
            // Native frames past 9 are not indented: `10: 0x... node::...`.
            let n = body.iter().take_while(|b| b.is_ascii_digit()).count();
            body.get(n) == Some(&b':')
        }
        _ => [&b"<---"[..], b"FATAL ERROR", b"-----", b"====", b"Security context"].iter().any(|p| body.starts_with(p)),
    }
}

/// asyncio's report lines: `future: <Task finished ...>`, `task: <...>`,
/// `handle: <...>`, `protocol: <...>`, `transport: <...>`.
fn is_asyncio_context(body: &[u8]) -> bool {
    let key = body.iter().take_while(|b| b.is_ascii_lowercase() || **b == b'_').count();
    key > 0 && body[key..].starts_with(b": <")
}

/// A Python exception line: a dotted class name alone, or followed by
/// `: ` and the message (`ConnectionError: Socket disconnect`,
/// `asyncio.exceptions.CancelledError`).
fn is_exception_line(body: &[u8]) -> bool {
    let name = body.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'.').count();
    name > 0
        && body[0].is_ascii_alphabetic()
        && (body[name..].trim_ascii_end().is_empty() || body[name..].starts_with(b": "))
}

/// Node ≤ 14 prints a generic second warning and a one-time DEP0018 line
/// after the reason; both belong to the rejection they follow.
fn is_rejection_tail(body: &[u8]) -> bool {
    body.starts_with(b"(node:")
        && (memmem::find(body, b"UnhandledPromiseRejectionWarning: Unhandled promise rejection. ").is_some()
            || memmem::find(body, b"[DEP0018]").is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `text` into records (by first line) with a fresh joiner; a
    /// line may start with pm2's `--time` stamp (`2026-11-20T10:00:00: `).
    fn records(text: &str, daemon: bool) -> Vec<String> {
        let mut j = Joiner::new(daemon);
        let mut out: Vec<Vec<&str>> = Vec::new();
        let mut above = "";
        for line in text.lines() {
            let pm2 = line.len() >= 21 && line.as_bytes()[10] == b'T' && &line[19..21] == ": ";
            let (stamp, body) = if pm2 { (&line[..19], &line[21..]) } else { ("", line) };
            let facts = LineFacts {
                body: body.as_bytes(),
                stamped: pm2,
                stamp: stamp.as_bytes(),
                stamp_above: above.as_bytes(),
                json: false,
                column: b"",
            };
            above = stamp;
            if j.feed(facts) {
                if let Some(last) = out.last_mut() {
                    last.push(body);
                }
            } else {
                out.push(vec![body]);
            }
        }
        out.into_iter().map(|r| r.join("|")).collect()
    }

    /// The records `records` must give for `text`: its lines (bodies, as
    /// `records` shows them) grouped by `ranges` of line numbers.
    fn grouped(text: &str, ranges: &[std::ops::Range<usize>]) -> Vec<String> {
        let pm2 = |l: &str| l.len() >= 21 && l.as_bytes()[10] == b'T' && &l[19..21] == ": ";
        let lines: Vec<&str> = text.lines().map(|l| if pm2(l) { &l[21..] } else { l }).collect();
        assert_eq!(ranges.last().map(|r| r.end), Some(lines.len()), "ranges cover {} lines", lines.len());
        ranges.iter().map(|r| lines[r.clone()].join("|")).collect()
    }

    #[test]
    fn stack_frames_and_property_blocks_join() {
        let text = "Error: connect ECONNREFUSED 127.0.0.1:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16) {\n  errno: -111,\n  code: 'ECONNREFUSED'\n}\nserver listening on 3000\n";
        assert_eq!(records(text, false), grouped(text, &[0..5, 5..6]));
    }

    #[test]
    fn node18_unhandled_rejection_dump_is_one_record_even_when_stamped() {
        let dump = "node:internal/process/promises:288\n            triggerUncaughtException(err, true /* fromPromise */);\n            ^\n\n[UnhandledPromiseRejection: This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason \"timeout\".] {\n  code: 'ERR_UNHANDLED_REJECTION'\n}\n\nNode.js v18.19.0\nbridge starting\n";
        assert_eq!(records(dump, false), grouped(dump, &[0..9, 9..10]));
        let stamped: String = dump.lines().map(|l| format!("2026-11-20T10:00:00: {l}\n")).collect();
        assert_eq!(records(&stamped, false), grouped(&stamped, &[0..9, 9..10]));
    }

    #[test]
    fn thrown_exception_with_source_line() {
        let dump = "/srv/app/crash.js:2\nsetTimeout(() => { throw new Error('boom'); }, 100);\n                   ^\n\nError: boom\n    at Timeout._onTimeout (/srv/app/crash.js:2:26)\n\nNode.js v20.20.2\nserver started\n";
        assert_eq!(records(dump, false), grouped(dump, &[0..8, 8..9]));
    }

    #[test]
    fn native_throw_without_blank_line_is_one_record() {
        let dump = "/srv/bridge/node_modules/better-sqlite3/lib/methods/wrappers.js:5\n\treturn this[cppdb].prepare(sql, this, false);\n\t                   ^\nSqliteError: database is locked\n    at Database.prepare (/srv/bridge/node_modules/better-sqlite3/lib/methods/wrappers.js:5:21)\n    at TickWriter.flush (/srv/bridge/dist/writer.js:41:18) {\n  code: 'SQLITE_BUSY'\n}\n\nNode.js v20.20.2\nbridge starting\n";
        assert_eq!(records(dump, false), grouped(dump, &[0..10, 10..11]));
    }

    #[test]
    fn node_sqlite3_emitted_error_is_one_record() {
        let dump = "<anonymous_script>:0\n\n\n\n[Error: SQLITE_BUSY: database is locked\nEmitted 'error' event on Statement instance at:\n] {\n  errno: 5,\n  code: 'SQLITE_BUSY'\n}\n\nNode.js v20.20.2\nworker ready\n";
        assert_eq!(records(dump, false), grouped(dump, &[0..12, 12..13]));
    }

    #[test]
    fn oom_block_is_one_record() {
        let dump = "<--- Last few GCs --->\n\n[28312:0x44003ca0]      112 ms: Mark-Compact 33.1 (66.0) -> 32.6 (65.7) MB\n\n<--- JS stacktrace --->\n\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n----- Native stack trace -----\n\n 1: 0xb78db3 node::OOMErrorHandler(char const*, v8::OOMDetails const&) [node]\n10: 0xee85e7 v8::internal::V8::FatalProcessOutOfMemory [node]\nworker ready\n";
        assert_eq!(records(dump, false), grouped(dump, &[0..11, 11..12]));
    }

    #[test]
    fn oom_block_ends_at_an_app_line() {
        let text = "<--- Last few GCs --->\n\n[28312:0x44003ca0]      112 ms: Mark-Compact 33.1 (66.0) -> 32.6 (65.7) MB\n\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n[bridge] connecting to 127.0.0.1:4002\n";
        assert_eq!(records(text, false), grouped(text, &[0..5, 5..6]));
    }

    #[test]
    fn esm_crash_header() {
        let dump = "file:///srv/api/dist/server.mjs:14\n  const port = config.http.port;\n                           ^\n\nTypeError: Cannot read properties of undefined (reading 'port')\n    at file:///srv/api/dist/server.mjs:14:28\n\nNode.js v20.20.2\napi starting\n";
        assert_eq!(records(dump, false), grouped(dump, &[0..8, 8..9]));
    }

    #[test]
    fn trace_warnings_hint_stays_with_its_warning() {
        let text = "(node:5120) UnhandledPromiseRejectionWarning: Error: x\n    at f (/a.js:1:1)\n(Use `node --trace-warnings ...` to show where the warning was created)\n(node:5120) UnhandledPromiseRejectionWarning: Unhandled promise rejection. This error originated either by throwing inside of an async function without a catch block. (rejection id: 1)\nserver listening\n";
        assert_eq!(records(text, false), grouped(text, &[0..4, 4..5]));
    }

    #[test]
    fn a_banner_under_a_banner_is_a_record_of_its_own() {
        let banner = "You have triggered an unhandledRejection, you may have forgotten to catch a Promise rejection:";
        let text = format!("{banner}\n{banner}\n{banner}\nError: boom\n    at f (/srv/app/u.js:2:35)\n");
        assert_eq!(records(&text, false), grouped(&text, &[0..1, 1..2, 2..5]));
    }

    #[test]
    fn pm2_banner_takes_the_error_under_it() {
        let text = "You have triggered an unhandledRejection, you may have forgotten to catch a Promise rejection:\nError: cluster unhandled rejection\n    at Timeout._onTimeout (/srv/app/u.js:2:35)\nError: cluster uncaught\n    at Timeout._onTimeout (/srv/app/u.js:3:26)\n";
        assert_eq!(records(text, false), grouped(text, &[0..3, 3..5]));
    }

    #[test]
    fn node14_warning_pair_is_one_record_per_rejection() {
        let text = "(node:5263) UnhandledPromiseRejectionWarning: Error: timeout\n    at Socket.<anonymous> (/srv/app/b.js:9:11)\n(node:5263) UnhandledPromiseRejectionWarning: Unhandled promise rejection. This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). (rejection id: 1)\n(node:5263) [DEP0018] DeprecationWarning: Unhandled promise rejections are deprecated.\n(node:5263) UnhandledPromiseRejectionWarning: Error: again\n";
        assert_eq!(records(text, false), grouped(text, &[0..4, 4..5]));
    }

    #[test]
    fn daemon_continuations_are_unstamped_lines() {
        let text = "2026-11-20T10:00:00: PM2 error: Trace: Error: boom\nat Object.<anonymous> (/x.js:1:1)\n2026-11-20T10:00:00: PM2 log: App [api:0] online\n";
        assert_eq!(records(text, true), grouped(text, &[0..2, 2..3]));
        assert_eq!(records(text, false), grouped(text, &[0..1, 1..2, 2..3]));
    }

    /// Python 3.11's uncaught chained traceback, as ib_insync's `util.run()`
    /// prints it when TWS closes the socket (recording
    /// `tws-ib-insync-socket-closed`), under the log line before it.
    const INSYNC_CRASH: &str = "2026-12-05 09:27:54,877 ib_insync.client ERROR Peer closed connection.
Traceback (most recent call last):
  File \"/venv/lib/python3.11/site-packages/ib_insync/util.py\", line 341, in run
    result = loop.run_until_complete(task)
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File \"/app/ib_async_recorder.py\", line 43, in main
    await asyncio.sleep(10)
asyncio.exceptions.CancelledError

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File \"/app/ib_async_recorder.py\", line 47, in <module>
    lib.util.run(main())
  File \"/venv/lib/python3.11/site-packages/ib_insync/util.py\", line 343, in run
    raise globalErrorEvent.value() or e
ConnectionError: Socket disconnect
2026-12-05 09:27:56,137 recorder INFO recorder starting (pid 25995), 127.0.21.20:7497 clientId 7
";

    #[test]
    fn python_chained_traceback_is_one_record_with_the_line_above() {
        let r = records(INSYNC_CRASH, false);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[0].starts_with("2026-12-05 09:27:54,877 ib_insync.client ERROR Peer closed"));
        assert!(r[0].ends_with("|ConnectionError: Socket disconnect"), "{}", r[0]);
        assert!(r[1].contains("recorder starting"));
    }

    #[test]
    fn python_traceback_joins_alike_when_pm2_stamps_every_line() {
        let stamped: String = INSYNC_CRASH.lines().map(|l| format!("2026-11-20T10:00:00: {l}\n")).collect();
        assert_eq!(records(&stamped, false), records(INSYNC_CRASH, false));
    }

    /// Under pm2 `--time` a traceback joins the line above only when pm2
    /// stamped both alike (one write): the `KeyboardInterrupt` that `pm2
    /// stop` causes half a minute after the last log line is its own record
    /// with its own time (recording `tws-ib-async-basic-time-socket-closed`).
    #[test]
    fn a_later_pm2_stamp_keeps_a_traceback_off_the_line_above() {
        let text = "2026-12-05T09:38:20: INFO:ib_async.ib:Synchronization complete\n2026-12-05T09:38:51: Traceback (most recent call last):\n2026-12-05T09:38:51:   File \"/usr/lib/python3.11/asyncio/runners.py\", line 123, in run\n2026-12-05T09:38:51:     raise KeyboardInterrupt()\n2026-12-05T09:38:51: KeyboardInterrupt\n";
        let r = records(text, false);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[1].starts_with("Traceback") && r[1].ends_with("|KeyboardInterrupt"), "{r:?}");
        assert_eq!(records(&text.replace("09:38:20", "09:38:51"), false).len(), 1);
    }

    #[test]
    fn python_direct_cause_chain_is_one_record() {
        // Python 3.11, `raise ValueError(...) from e`, uncaught.
        let text = "Traceback (most recent call last):\n  File \"/tmp/pytb/chained.py\", line 3, in g\n    {}[\"x\"]\n    ~~^^^^^\nKeyError: 'x'\n\nThe above exception was the direct cause of the following exception:\n\nTraceback (most recent call last):\n  File \"/tmp/pytb/chained.py\", line 6, in <module>\n    g()\nValueError: bad config\nworker 2 starting\n";
        assert_eq!(records(text, false), grouped(text, &[0..12, 12..13]));
    }

    #[test]
    fn logging_exception_message_and_traceback_are_one_record() {
        // `log.exception(...)` with basicConfig's default format and with
        // an asctime format: the prefix is on the message line only.
        for (first, next) in [
            ("ERROR:recorder:could not parse the price", "INFO:recorder:still running"),
            (
                "2026-12-05 11:37:26,451 recorder ERROR could not parse the price",
                "2026-12-05 11:37:26,453 recorder INFO still running",
            ),
        ] {
            let text = format!(
                "{first}\nTraceback (most recent call last):\n  File \"/tmp/pytb/logexc.py\", line 5, in <module>\n    int(\"abc\")\nValueError: invalid literal for int() with base 10: 'abc'\n{next}\n"
            );
            let r = records(&text, false);
            assert_eq!(r.len(), 2, "{r:?}");
            assert!(r[0].starts_with(first) && r[0].ends_with("'abc'"), "{r:?}");
        }
    }

    #[test]
    fn a_traceback_under_a_finished_one_is_another_record() {
        // asyncio logs a task's exception, then the main coroutine's
        // uncaught one follows at once (Python 3.11).
        let text = "ERROR:asyncio:Task exception was never retrieved\nfuture: <Task finished name='Task-2' coro=<boom() done, defined at /tmp/pytb/asyncio_task.py:3> exception=ConnectionError('Socket disconnect')>\nTraceback (most recent call last):\n  File \"/tmp/pytb/asyncio_task.py\", line 4, in boom\n    raise ConnectionError(\"Socket disconnect\")\nConnectionError: Socket disconnect\nTraceback (most recent call last):\n  File \"/tmp/pytb/asyncio_task.py\", line 12, in <module>\n    asyncio.run(main())\nRuntimeError: main failed\n";
        let r = records(text, false);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[0].ends_with("ConnectionError: Socket disconnect"));
        assert!(r[1].starts_with("Traceback") && r[1].ends_with("RuntimeError: main failed"));
    }

    #[test]
    fn asyncio_future_report_without_frames_is_one_record() {
        let text = "ERROR:asyncio:Future exception was never retrieved\nfuture: <Future finished exception=ConnectionError('Socket disconnect')>\nConnectionError: Socket disconnect\nINFO:recorder:still running\n";
        let r = records(text, false);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[0].ends_with("ConnectionError: Socket disconnect"));
    }

    #[test]
    fn thread_exception_header_takes_its_traceback() {
        let text = "Exception in thread Thread-1 (w):\nTraceback (most recent call last):\n  File \"/usr/lib/python3.11/threading.py\", line 1045, in _bootstrap_inner\n    self.run()\nConnectionResetError: [Errno 104] Connection reset by peer\nmain continues\n";
        assert_eq!(records(text, false), grouped(text, &[0..5, 5..6]));
    }

    #[test]
    fn a_blank_line_after_a_traceback_does_not_take_the_next_one() {
        let text = "Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\nKeyboardInterrupt\n\nnext run\nTraceback (most recent call last):\n  File \"a.py\", line 2, in <module>\nKeyError: 'x'\n";
        let r = records(text, false);
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(
            r[1],
            "next run|Traceback (most recent call last):|  File \"a.py\", line 2, in <module>|KeyError: 'x'"
        );
    }

    #[test]
    fn false_crash_header_does_not_swallow_the_log() {
        let text = "/srv/app/config.js:12\nloaded config\nconnecting\nconnected\nlistening\nready\n";
        // A header with no caret under it takes at most four lines (a
        // source line, wrapped); the log after them is its own again.
        assert_eq!(records(text, false), grouped(text, &[0..5, 5..6]));
    }
}
