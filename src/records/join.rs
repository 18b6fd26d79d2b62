//! Which lines belong together. A record is a line plus its continuations:
//! Node stack frames, `{ ... }` property blocks, crash dumps (source header,
//! caret, error, frames, `Node.js vX` trailer), the V8 OOM block, Node's
//! two-line unhandled-rejection warnings, pm2's rejection banner and the
//! error under it, and, in `pm2.log`, unstamped lines under a stamped one.
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
                if !is_blank(body) {
                    self.block = Block::Normal;
                }
                true
            }
            Block::RejectionWarning => is_rejection_tail(body) || self.generic(body),
            Block::Normal => self.generic(body),
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

    /// Splits `text` into records (by first line) with a fresh joiner.
    fn records(text: &str, daemon: bool) -> Vec<String> {
        let mut j = Joiner::new(daemon);
        let mut out: Vec<Vec<&str>> = Vec::new();
        for line in text.lines() {
            let (stamped, body) = match line.strip_prefix("2026-11-20T10:00:00: ") {
                Some(b) => (true, b),
                None => (false, line),
            };
            let facts = LineFacts { body: body.as_bytes(), stamped, json: false, column: b"" };
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

    #[test]
    fn stack_frames_and_property_blocks_join() {
        let text = "Error: connect ECONNREFUSED 127.0.0.1:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16) {\n  errno: -111,\n  code: 'ECONNREFUSED'\n}\nserver listening on 3000\n";
        let r = records(text, false);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[0].ends_with("|}"));
    }

    #[test]
    fn node18_unhandled_rejection_dump_is_one_record_even_when_stamped() {
        let dump = "node:internal/process/promises:288\n            triggerUncaughtException(err, true /* fromPromise */);\n            ^\n\n[UnhandledPromiseRejection: This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason \"timeout\".] {\n  code: 'ERR_UNHANDLED_REJECTION'\n}\n\nNode.js v18.19.0\nbridge starting\n";
        assert_eq!(records(dump, false).len(), 2);
        let stamped: String = dump.lines().map(|l| format!("2026-11-20T10:00:00: {l}\n")).collect();
        let r = records(&stamped, false);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[0].ends_with("Node.js v18.19.0"));
        assert_eq!(r[1], "bridge starting");
    }

    #[test]
    fn thrown_exception_with_source_line() {
        let dump = "/srv/app/crash.js:2\nsetTimeout(() => { throw new Error('boom'); }, 100);\n                   ^\n\nError: boom\n    at Timeout._onTimeout (/srv/app/crash.js:2:26)\n\nNode.js v20.20.2\n";
        assert_eq!(records(dump, false).len(), 1);
    }

    #[test]
    fn native_throw_without_blank_line_is_one_record() {
        let dump = "/srv/bridge/node_modules/better-sqlite3/lib/methods/wrappers.js:5\n\treturn this[cppdb].prepare(sql, this, false);\n\t                   ^\nSqliteError: database is locked\n    at Database.prepare (/srv/bridge/node_modules/better-sqlite3/lib/methods/wrappers.js:5:21)\n    at TickWriter.flush (/srv/bridge/dist/writer.js:41:18) {\n  code: 'SQLITE_BUSY'\n}\n\nNode.js v20.20.2\nbridge starting\n";
        let r = records(dump, false);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[0].contains("code: 'SQLITE_BUSY'"));
    }

    #[test]
    fn node_sqlite3_emitted_error_is_one_record() {
        let dump = "<anonymous_script>:0\n\n\n\n[Error: SQLITE_BUSY: database is locked\nEmitted 'error' event on Statement instance at:\n] {\n  errno: 5,\n  code: 'SQLITE_BUSY'\n}\n\nNode.js v20.20.2\n";
        let r = records(dump, false);
        assert_eq!(r.len(), 1, "{r:?}");
    }

    #[test]
    fn oom_block_is_one_record() {
        let dump = "<--- Last few GCs --->\n\n[28312:0x44003ca0]      112 ms: Mark-Compact 33.1 (66.0) -> 32.6 (65.7) MB\n\n<--- JS stacktrace --->\n\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n----- Native stack trace -----\n\n 1: 0xb78db3 node::OOMErrorHandler(char const*, v8::OOMDetails const&) [node]\n10: 0xee85e7 v8::internal::V8::FatalProcessOutOfMemory [node]\nworker ready\n";
        let r = records(dump, false);
        assert_eq!(r.len(), 2, "{r:?}");
    }

    #[test]
    fn oom_block_ends_at_an_app_line() {
        let text = "<--- Last few GCs --->\n\n[28312:0x44003ca0]      112 ms: Mark-Compact 33.1 (66.0) -> 32.6 (65.7) MB\n\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n[bridge] connecting to 127.0.0.1:4002\n";
        assert_eq!(records(text, false).len(), 2);
    }

    #[test]
    fn esm_crash_header() {
        let dump = "file:///srv/api/dist/server.mjs:14\n  const port = config.http.port;\n                           ^\n\nTypeError: Cannot read properties of undefined (reading 'port')\n    at file:///srv/api/dist/server.mjs:14:28\n\nNode.js v20.20.2\n";
        assert_eq!(records(dump, false).len(), 1);
    }

    #[test]
    fn trace_warnings_hint_stays_with_its_warning() {
        let text = "(node:5120) UnhandledPromiseRejectionWarning: Error: x\n    at f (/a.js:1:1)\n(Use `node --trace-warnings ...` to show where the warning was created)\n(node:5120) UnhandledPromiseRejectionWarning: Unhandled promise rejection. This error originated either by throwing inside of an async function without a catch block. (rejection id: 1)\n";
        assert_eq!(records(text, false).len(), 1);
    }

    #[test]
    fn pm2_banner_takes_the_error_under_it() {
        let text = "You have triggered an unhandledRejection, you may have forgotten to catch a Promise rejection:\nError: cluster unhandled rejection\n    at Timeout._onTimeout (/srv/app/u.js:2:35)\nError: cluster uncaught\n    at Timeout._onTimeout (/srv/app/u.js:3:26)\n";
        let r = records(text, false);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[0].contains("Error: cluster unhandled rejection"));
    }

    #[test]
    fn node14_warning_pair_is_one_record_per_rejection() {
        let text = "(node:5263) UnhandledPromiseRejectionWarning: Error: timeout\n    at Socket.<anonymous> (/srv/app/b.js:9:11)\n(node:5263) UnhandledPromiseRejectionWarning: Unhandled promise rejection. This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). (rejection id: 1)\n(node:5263) [DEP0018] DeprecationWarning: Unhandled promise rejections are deprecated.\n(node:5263) UnhandledPromiseRejectionWarning: Error: again\n";
        let r = records(text, false);
        assert_eq!(r.len(), 2, "{r:?}");
    }

    #[test]
    fn daemon_continuations_are_unstamped_lines() {
        let text = "2026-11-20T10:00:00: PM2 error: Trace: Error: boom\nat Object.<anonymous> (/x.js:1:1)\n2026-11-20T10:00:00: PM2 log: App [api:0] online\n";
        assert_eq!(records(text, true).len(), 2);
        assert_eq!(records(text, false).len(), 3);
    }

    #[test]
    fn false_crash_header_does_not_swallow_the_log() {
        let text = "/srv/app/config.js:12\nloaded config\nconnecting\nconnected\nlistening\nready\n";
        let r = records(text, false);
        assert!(r.len() >= 2, "{r:?}");
    }
}
