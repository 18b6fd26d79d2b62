//! Which records are mined, and the key each is mined under.
//!
//! Candidates (mode [`Mode::Errors`]): every record of an err stream;
//! a JSON record at error level (pino/bunyan `level` >= 50, winston
//! `"level":"error"`); a record elsewhere that reads as an error: a Node
//! error header (`TypeError: ...`), a stack frame, or an `ERROR`/`FATAL`
//! level word. The key is the masked message line plus, for a stack, the
//! first frame in the app's own code, after [`ANCHOR`].

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, Input, MatchKind};

use super::{mask, stack};

/// Separates a key's masked message from its stack anchor.
pub const ANCHOR: char = '\u{1f}';

/// What to mine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Error records no rule matched (scan); error records (templates).
    Errors,
    /// Every record (`templates --all`).
    All,
}

/// Texts at least one of which every candidate outside an err stream holds
/// in its raw bytes; a record with none is passed over unbuilt. None
/// holds a line break, so each occurrence lies within one record.
const MARKERS: &[&str] = &[
    // Error headers and level words, as `error_words` reads them.
    "Error:",
    "Exception:",
    "ERROR",
    "FATAL",
    "ERR!",
    "error:",
    "fatal:",
    "[error]",
    "[fatal]",
    "level=error",
    "level=fatal",
    // Stack frames.
    "    at ",
    "\tat ",
    // pm2's JSON lines of the err stream.
    "\"type\":\"err\"",
    // JSON levels: 50 and 60 (pino, bunyan).
    "\"level\":5",
    "\"level\":6",
    "\"level\": 5",
    "\"level\": 6",
];

/// The level names `error_level` accepts, as a JSON level's value starts:
/// in lower case, capitalised and upper case (`crit` also starts `critical`).
const LEVEL_NAMES: &[&str] = &["error", "fatal", "crit", "alert", "emerg"];

/// Short pieces of the markers, searched for instead of the markers
/// themselves: one leftmost-first pass (Teddy) over every buffer of an out
/// stream, and there the markers holding the piece are compared in place
/// (as the prefilter does for rules' literals). Rare pieces, so that the
/// packed searcher rarely stops: with the markers themselves (sixteen of
/// them start `"level"`, in every JSON line) the pass cost twice as much,
/// and it is most of mining's cost on a healthy log.
const ANCHORS: &[&str] = &[
    "rror", "RROR", "ERR!", "atal", "ATAL", "xception", "    at ", "\tat ", "l\":5", "l\":6", "l\": 5", "l\": 6",
    ":\"err\"", "crit", "Crit", "CRIT", "lert", "LERT", "merg", "MERG",
];

/// The anchor search, and per anchor the markers it stands for, each with
/// the anchor's offset in it.
struct MayBe {
    anchors: AhoCorasick,
    markers: Vec<Vec<(usize, Vec<u8>)>>,
}

static MAY_BE: LazyLock<Option<MayBe>> = LazyLock::new(|| {
    // Leftmost-first: the standard semantics cannot use Teddy.
    let anchors = AhoCorasick::builder().match_kind(MatchKind::LeftmostFirst).build(ANCHORS).ok()?;
    let mut markers = vec![Vec::new(); ANCHORS.len()];
    for marker in every_marker() {
        let (i, at) = ANCHORS.iter().enumerate().find_map(|(i, a)| Some((i, marker.find(a)?)))?;
        markers[i].push((at, marker.into_bytes()));
    }
    Some(MayBe { anchors, markers })
});

/// [`MARKERS`], and `"level":"NAME` (with and without a space after the
/// colon) for each of [`LEVEL_NAMES`] in three cases.
fn every_marker() -> Vec<String> {
    let mut all: Vec<String> = MARKERS.iter().map(|m| m.to_string()).collect();
    for name in LEVEL_NAMES {
        let capital = name[..1].to_ascii_uppercase() + &name[1..];
        for value in [name.to_string(), capital, name.to_ascii_uppercase()] {
            for colon in [":", ": "] {
                all.push(format!("\"level\"{colon}\"{value}"));
            }
        }
    }
    all
}

impl MayBe {
    /// Where markers occur in `buf` (the offsets of their anchors, in
    /// order).
    fn find(&self, buf: &[u8], out: &mut Vec<usize>) {
        let mut from = 0;
        // Resumed one byte after each anchor, not after its end, so that
        // an anchor inside another is not lost.
        while let Some(m) = self.anchors.find(Input::new(buf).span(from..buf.len())) {
            let at = m.start();
            let holds = |&(offset, ref text): &(usize, Vec<u8>)| {
                at.checked_sub(offset).is_some_and(|start| buf[start..].starts_with(text))
            };
            if self.markers[m.pattern().as_usize()].iter().any(holds) {
                out.push(at);
            }
            from = at + 1;
        }
    }
}

/// Where the error markers (`MARKERS`) occur in one buffer, for its records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hits {
    /// The buffer searched: its address and length (None: none yet).
    of: Option<(usize, usize)>,
    starts: Vec<usize>,
    next: usize,
}

impl Hits {
    /// Forgets the buffer: the next one may sit at the same address.
    pub fn reset(&mut self) {
        self.of = None;
    }

    /// Whether `buf[start..end]` holds one of the texts. Records are asked
    /// in order; one asked out of order searches the list again.
    pub fn within(&mut self, buf: &[u8], start: usize, end: usize) -> bool {
        let id = (buf.as_ptr() as usize, buf.len());
        if self.of != Some(id) {
            let Some(may_be) = MAY_BE.as_ref() else { return true };
            self.of = Some(id);
            self.starts.clear();
            may_be.find(buf, &mut self.starts);
            self.next = 0;
        }
        if self.next > 0 && self.starts.get(self.next - 1).is_some_and(|&s| s >= start) {
            self.next = 0;
        }
        while self.starts.get(self.next).is_some_and(|&s| s < start) {
            self.next += 1;
        }
        self.starts.get(self.next).is_some_and(|&s| s < end)
    }
}

/// The cheap test on a record's raw bytes (`buf[start..end]`): false only
/// when the record cannot be a candidate.
pub fn may_be(mode: Mode, err_stream: bool, hits: &mut Hits, buf: &[u8], start: usize, end: usize) -> bool {
    mode == Mode::All || err_stream || hits.within(buf, start, end)
}

/// Writes the key of a record whose message is `body` into `out`; false
/// when the record is not a candidate.
pub fn key(mode: Mode, err_stream: bool, body: &[u8], out: &mut String) -> bool {
    out.clear();
    let body = String::from_utf8_lossy(body);
    if body.starts_with('{')
        && let Ok(log) = serde_json::from_str::<JsonLog<'_>>(&body)
    {
        return json_key(mode, err_stream, &log, out);
    }
    let mut lines = body.lines().filter(|l| !l.trim().is_empty());
    let Some(first) = lines.clone().find(|l| !stack::is_frame(l)) else { return false };
    if mode == Mode::Errors && (below_error(first) || request_done(first) || hygiene_warning(first)) {
        return false;
    }
    // Only a record of several lines has frames.
    let several = body.trim_end().contains('\n');
    let anchor = if several { stack::app_frame(lines.clone()) } else { None };
    let mut errorish = || anchor.is_some() || (several && lines.any(stack::is_frame)) || error_words(first);
    if mode == Mode::Errors && !err_stream && !errorish() {
        return false;
    }
    mask::mask_line(first, out);
    if mode == Mode::Errors && !mask::names_something(out) {
        // Only values (Node's `file:line` above an uncaught error, a
        // number): the error line below names it, if there is one.
        let Some(header) = body.lines().skip(1).find(|l| node_error_header(l)) else { return false };
        out.clear();
        mask::mask_line(header, out);
    }
    finish(out, anchor)
}

/// Writes into `out` a form of a record's message under which messages
/// key alike: [`key`] gives two messages of one form the same answer, so
/// the memo keys each form once. The form must cost far less than the key:
/// - text: the digits of the first line's leading time-like tokens
///   (`2026-11-20T10:00:42.901Z`, `[2026-11-20 10:00:01.779]`) are
///   zeroed: an app's own stamp starts every line and differs on every
///   line, yet masks to `<*>` whatever its digits, and `below_error` and
///   `request_done` pass over it. (Zeroing every masked value's digits
///   cost as much as keying the line.)
/// - JSON (a message starting `{`, which serde parses at several times the
///   cost of a walk over it): digits in the values of the top-level fields
///   `JsonLog` does not read (`time`, `pid`, `hostname`, `req`), outside
///   `\u` escapes, which serde skips by their syntax alone, are written as
///   `0`; a number's first digit keeps its class (`0`, `1`-`3`, `4`-`9`,
///   written `0`, `1`, `4`: a number may not start `0` then a digit). The
///   message also keys as text when it is no JSON, so a digit is written
///   so only if that reading cannot see it either: its token masks whole
///   to `<*>` or keeps no digit (`mask::shows_digits`) and lies within
///   what `mask_line` masks (or wholly past it), and a token's first digit
///   keeps its class too (a request line's status).
pub fn memo_form(body: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(body);
    if body.first() == Some(&b'{') {
        json_form(body, out);
        return;
    }
    let mut start = 0;
    for _ in 0..4 {
        let end = out[start..].iter().position(u8::is_ascii_whitespace).map_or(out.len(), |i| start + i);
        let token = &mut out[start..end];
        if !time_like(token) {
            break;
        }
        token.iter_mut().filter(|b| b.is_ascii_digit()).for_each(|b| *b = b'0');
        // On to the next token only across one space of the same line.
        if out.get(end) != Some(&b' ') {
            break;
        }
        start = end + 1;
    }
}

/// [`memo_form`] of a message starting `{`, into `out` (a copy of it).
fn json_form(body: &[u8], out: &mut [u8]) {
    let bytes = &body[..memchr::memchr(b'\n', body).unwrap_or(body.len())];
    let Ok(line) = std::str::from_utf8(bytes) else { return };
    let masked = mask::masked_span(line);
    // Whether the digits of the token at `start..end` may be written so.
    let token_ok = |start: usize, end: usize| {
        start >= masked.end || (masked.start <= start && end <= masked.end && !mask::shows_digits(&line[start..end]))
    };
    let token_end = |i: usize| bytes[i..].iter().position(u8::is_ascii_whitespace).map_or(bytes.len(), |n| i + n);
    let mut walk = JsonWalk::default();
    let (mut start, mut ok) = (0, None);
    for (i, &b) in bytes.iter().enumerate() {
        // None: not in a skipped value; else whether in a string.
        let skipped = walk.step(bytes, i);
        if b.is_ascii_whitespace() {
            (start, ok) = (i + 1, None);
            continue;
        }
        let Some(in_string) = skipped else { continue };
        if b.is_ascii_digit() && *ok.get_or_insert_with(|| token_ok(start, token_end(i))) {
            // A JSON number's first digit, or the token's.
            out[i] = class_digit(b, i == start || (!in_string && !bytes[i - 1].is_ascii_digit()));
        }
    }
}

/// How [`memo_form`] writes byte `b`: a digit that `leads` by its class
/// (`0`, `1`-`3`, `4`-`9` as `0`, `1`, `4`), any other digit as `0`.
fn class_digit(b: u8, leads: bool) -> u8 {
    match b {
        b'1'..=b'3' if leads => b'1',
        b'4'..=b'9' if leads => b'4',
        b'0'..=b'9' => b'0',
        _ => b,
    }
}

/// The fields of a JSON record [`JsonLog`] reads: the values of all
/// others are skipped by serde, by their syntax.
const JSON_FIELDS: &[&[u8]] = &[b"level", b"msg", b"message", b"err", b"error", b"stack"];

/// Walks a JSON message's first line, a byte at a time, telling whether
/// each byte lies in the value of a top-level field [`JsonLog`] skips
/// (see [`memo_form`]). Only the bytes' kinds steer it, never a digit's
/// value, so two messages of one form walk alike. On a message that is
/// no JSON it tells nonsense, harmlessly: such a message fails to parse
/// whatever its digits (JSON's syntax sees a digit only as a digit, or as
/// a leading `0`), and its text reading holds on its own.
#[derive(Default)]
struct JsonWalk {
    depth: u32,
    in_string: bool,
    /// Bytes of an escape still to pass: [`ESCAPED`] right after its
    /// `\`, then the four hex digits of a `\u`.
    escape: u8,
    /// In a top-level field's name, which started here.
    name_from: Option<usize>,
    /// Past the top-level field's colon: in its value.
    in_value: bool,
    /// The top-level field whose value this is is one serde skips.
    skipped: bool,
    /// Past the end of the top-level object.
    done: bool,
}

/// [`JsonWalk::escape`] right after a `\\` in a string.
const ESCAPED: u8 = 5;

impl JsonWalk {
    /// Whether byte `i` of `line` lies in a skipped field's value (not in
    /// a name, not in an escape), and if so whether in a string; call for
    /// every byte in order.
    fn step(&mut self, line: &[u8], i: usize) -> Option<bool> {
        let b = line[i];
        if self.done {
            return None;
        }
        let skipped = (self.depth >= 1 && self.in_value && self.skipped).then_some(self.in_string);
        if self.in_string {
            if self.escape > 0 {
                self.escape = match self.escape {
                    ESCAPED if b == b'u' => 4,
                    ESCAPED => 0,
                    n => n - 1,
                };
                return None;
            }
            match b {
                b'\\' => {
                    self.escape = ESCAPED;
                    return None;
                }
                b'"' => {
                    self.in_string = false;
                    if let Some(from) = self.name_from.take() {
                        let name = &line[from..i];
                        self.skipped = !JSON_FIELDS.contains(&name) && !name.contains(&b'\\');
                    }
                    return None;
                }
                _ => return skipped.filter(|_| self.name_from.is_none()),
            }
        }
        match b {
            b'"' => {
                self.in_string = true;
                if self.depth == 1 && !self.in_value {
                    self.name_from = Some(i + 1);
                    self.skipped = false;
                }
            }
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                self.done |= self.depth == 0;
            }
            b':' if self.depth == 1 => self.in_value = true,
            b',' if self.depth == 1 => {
                self.in_value = false;
                self.skipped = false;
            }
            _ => {}
        }
        skipped
    }
}

/// A token that reads as a time or date: it starts with a digit (after one
/// opening bracket), so it is no upper-case code, and holds only digits
/// and the punctuation of times, `T` and `Z`. Never an error word
/// ([`error_words`]) nor a level word ([`below_error`]).
fn time_like(token: &[u8]) -> bool {
    let digit_at = usize::from(matches!(token.first(), Some(b'[' | b'(')));
    token.get(digit_at).is_some_and(u8::is_ascii_digit)
        && token.iter().all(|&b| b.is_ascii_digit() || b"-:.,+/TZ[]()".contains(&b))
}

fn finish(out: &mut String, anchor: Option<String>) -> bool {
    if out.is_empty() {
        return false;
    }
    if let Some(a) = anchor {
        out.push(ANCHOR);
        out.push_str(&a);
    }
    true
}

/// The fields of a JSON log record mining reads (pino, bunyan, winston);
/// the others are skipped, not built.
#[derive(serde::Deserialize)]
struct JsonLog<'a> {
    #[serde(default)]
    level: Option<serde_json::Value>,
    #[serde(default, borrow)]
    msg: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    message: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    err: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default, borrow)]
    stack: Option<std::borrow::Cow<'a, str>>,
}

/// A JSON log record: its message, and the anchor of its `err.stack`.
fn json_key(mode: Mode, err_stream: bool, log: &JsonLog<'_>, out: &mut String) -> bool {
    // An err-stream line is an error unless its own level says less.
    let below = || log.level.as_ref().is_some_and(|l| !error_level(Some(l)) && known_level(l));
    if mode == Mode::Errors && ((!err_stream && !error_level(log.level.as_ref())) || below()) {
        return false;
    }
    let err = log.err.as_ref().or(log.error.as_ref());
    let field = |name| err.and_then(|e| e.get(name)).and_then(serde_json::Value::as_str);
    let message = [("msg", log.msg.as_deref()), ("message", log.message.as_deref()), ("message", field("message"))]
        .into_iter()
        .find_map(|(name, text)| Some((name, nonblank(text)?)));
    let Some((name, message)) = message else { return false };
    let stack = nonblank(field("stack")).or_else(|| nonblank(log.stack.as_deref()));
    mask::mask_line(message.lines().next().unwrap_or(message), out);
    if mode == Mode::Errors && !mask::names_something(out) {
        // A message that is all value: named by the error's type, else by
        // the field that holds it.
        let value = std::mem::take(out);
        let by = nonblank(field("type")).or_else(|| nonblank(field("name"))).unwrap_or(name);
        out.push_str(by);
        out.push_str(": ");
        out.push_str(&value);
    }
    finish(out, stack.and_then(|s| stack::app_frame(s.lines())))
}

/// A JSON level that names one: pino/bunyan numbers, and the names
/// loggers write (`warn`, `info`, ...), in any case.
fn known_level(level: &serde_json::Value) -> bool {
    match level {
        serde_json::Value::Number(_) => true,
        serde_json::Value::String(s) => BELOW_ERROR.contains(&s.to_ascii_lowercase().as_str()),
        _ => false,
    }
}

/// Level names below error, as winston (npm levels), syslog, log4js and
/// pino-pretty write them.
const BELOW_ERROR: &[&str] =
    &["warn", "warning", "info", "information", "notice", "http", "verbose", "debug", "trace", "silly"];

/// The message line's own level word, if it is below error: its first
/// token after the time (`warn: ...` of winston's simple and cli formats,
/// `[WARN]`/`[INFO]` of log4js, `WARN` of pino-pretty, `level=info`). A
/// bare word (`info about the order ...`) is no level word: it must be
/// bracketed, end in `:`, be in capitals, or follow `level=`.
fn below_error(line: &str) -> bool {
    let Some(token) = line.split_ascii_whitespace().find(|t| !time_like(t.as_bytes())) else { return false };
    let (token, marked) = match token.strip_prefix("level=") {
        Some(rest) => (rest, true),
        None => (token, false),
    };
    let word = token.trim_matches(|c: char| matches!(c, '[' | ']' | '<' | '>' | '(' | ')' | ':'));
    let marked = marked
        || token.ends_with(':')
        || (token.starts_with(['[', '<', '(']) && token.len() > word.len())
        || (word.len() > 1 && word.bytes().all(|b| b.is_ascii_uppercase()));
    marked && BELOW_ERROR.contains(&word.to_ascii_lowercase().as_str())
}

/// A request log line of a request that succeeded: `GET /path 200 ...`
/// (morgan's formats, Next.js's `GET /path 200 in 12ms`), its method
/// first after the time, then a path or URL, then a status below 400. A
/// request log is no error unless its status says so.
fn request_done(line: &str) -> bool {
    let mut tokens = line.split_ascii_whitespace().skip_while(|t| time_like(t.as_bytes()));
    let method = tokens.next().unwrap_or("");
    let path = tokens.next().unwrap_or("");
    let status = tokens.next().unwrap_or("");
    matches!(method, "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS")
        && (path.starts_with('/') || path.starts_with("http"))
        && status.len() == 3
        && status.bytes().all(|b| b.is_ascii_digit())
        && (b"123".contains(&status.as_bytes()[0]))
}

/// Node's warning about the code rather than the run: a deprecation or
/// an experimental feature, as `process.emitWarning`'s default handler
/// prints it (`lib/internal/process/warning.js`: `(node:PID) [CODE]
/// NAME: message`), e.g. `(node:2211) [DEP0040] DeprecationWarning: The
/// \`punycode\` module is deprecated`. A dependency prints one at every
/// start and it asks nothing of whoever runs the app. Node's other
/// warnings stay candidates: `UnhandledPromiseRejectionWarning` (Node 14
/// and earlier), `MaxListenersExceededWarning` (a leak), `Warning:
/// Setting the NODE_TLS_REJECT_UNAUTHORIZED ...` (TLS checks off).
fn hygiene_warning(line: &str) -> bool {
    let mut tokens = line.split_ascii_whitespace().skip_while(|t| time_like(t.as_bytes()));
    let pid = tokens.next().unwrap_or("");
    if !(pid.starts_with("(node:") && pid.ends_with(')')) {
        return false;
    }
    let name = match tokens.next() {
        Some(code) if code.starts_with('[') && code.ends_with(']') => tokens.next(),
        name => name,
    };
    matches!(name, Some("DeprecationWarning:" | "ExperimentalWarning:"))
}

/// Node's error line: `TypeError: ...`, `Error [ERR_X]: ...`, `SqliteError: ...`.
fn node_error_header(line: &str) -> bool {
    let mut tokens = line.split_ascii_whitespace();
    let name = tokens.next().unwrap_or("");
    let name = match name.strip_suffix(':') {
        Some(n) => n,
        None if tokens.next().is_some_and(|code| code.starts_with('[') && code.ends_with("]:")) => name,
        None => return false,
    };
    name.ends_with("Error") || name.ends_with("Exception")
}

fn nonblank(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

/// pino/bunyan level >= 50 (error, fatal); winston and others by name.
fn error_level(level: Option<&serde_json::Value>) -> bool {
    match level {
        Some(serde_json::Value::Number(n)) => n.as_f64().is_some_and(|n| n >= 50.0),
        Some(serde_json::Value::String(s)) => {
            matches!(s.to_ascii_lowercase().as_str(), "error" | "fatal" | "critical" | "crit" | "alert" | "emerg")
        }
        _ => false,
    }
}

/// A Node error header (`TypeError:`, `Error:`), an `ERROR`/`FATAL` level
/// word, `error:` (PostgreSQL's and others' messages), `[error]`, or
/// `level=error` on the message line; not the bare word (`0 errors`, `no
/// error`). [`MARKERS`] must find every line this accepts.
fn error_words(line: &str) -> bool {
    line.split_ascii_whitespace().any(|t| {
        let bare = t.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | '<' | '>'));
        let word = bare.trim_end_matches(':');
        (bare.ends_with(':') && (word.ends_with("Error") || word.ends_with("Exception")))
            || matches!(word, "ERROR" | "FATAL" | "ERR!")
            || matches!(bare, "error:" | "fatal:")
            || matches!(t, "[error]" | "[fatal]")
            || word.starts_with("level=error")
            || word.starts_with("level=fatal")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(mode: Mode, err: bool, body: &str) -> Option<String> {
        let mut out = String::new();
        key(mode, err, body.as_bytes(), &mut out).then_some(out)
    }

    #[test]
    fn out_stream_records_are_candidates_only_when_they_read_as_errors() {
        let e = |b| key_of(Mode::Errors, false, b);
        assert_eq!(e("TypeError: x is not a function").as_deref(), Some("TypeError: x is not a function"));
        assert_eq!(e("[ERROR] payment 42 declined").as_deref(), Some("[ERROR] payment <*> declined"));
        assert_eq!(e("level=error msg=boom").as_deref(), Some("level=error msg=boom"));
        assert_eq!(e("GET /api 200 in 14 ms"), None);
        assert_eq!(e("no errors today"), None);
        assert_eq!(key_of(Mode::All, false, "GET /api 200 in 14 ms").as_deref(), Some("GET <*> <*> in <*> ms"));
        assert_eq!(key_of(Mode::Errors, true, "a warning on stderr").as_deref(), Some("a warning on stderr"));
    }

    /// The raw test passes over no record the key accepts: every accepted
    /// shape, and the rejected ones, against one buffer searched once.
    #[test]
    fn the_raw_test_finds_every_candidate() {
        let records = [
            ("TypeError: x is not a function", true),
            ("[ERROR] payment 42 declined", true),
            ("level=error msg=boom", true),
            ("error: relation \"users\" does not exist", true),
            ("[error] upstream down", true),
            ("FATAL: the database system is shutting down", true),
            ("npm ERR! code ELIFECYCLE", true),
            ("MongoServerError: E11000 duplicate key", true),
            ("a header\n    at run (/srv/app/src/job.js:9:2)", true),
            (r#"{"level":50,"msg":"x"}"#, true),
            (r#"{"level":"error","message":"x"}"#, true),
            (r#"{"level": "Fatal","message":"x"}"#, true),
            (r#"{"level":"ERROR","message":"x"}"#, true),
            (r#"{"level":"critical","message":"x"}"#, true),
            (r#"{"level":"Alert","message":"x"}"#, true),
            (r#"{"level":"EMERG","message":"x"}"#, true),
            (r#"{"level":60,"msg":"x"}"#, true),
            // Anchors inside one another, and a marker after a near miss.
            ("terror level=errorr: x", true),
            ("        at deep (/srv/app/x.js:1:1)\nstill", true),
            (r#"{"level":"info","msg":"no error here"}"#, false),
            (r#"{"level":"warn","msg":"ERR_X happened"}"#, false),
            ("GET /api 200 in 14 ms", false),
            ("no errors today", false),
            (r#"{"level":30,"msg":"Error budget: 0 errors"}"#, false),
        ];
        let mut buf = Vec::new();
        let mut spans = Vec::new();
        for (text, _) in &records {
            spans.push((buf.len(), buf.len() + text.len()));
            buf.extend_from_slice(text.as_bytes());
            buf.push(b'\n');
        }
        let mut hits = Hits::default();
        for ((text, candidate), (start, end)) in records.iter().zip(spans) {
            let accepted = key_of(Mode::Errors, false, text).is_some();
            assert_eq!(accepted, *candidate, "{text}");
            if accepted {
                assert!(may_be(Mode::Errors, false, &mut hits, &buf, start, end), "{text}");
            }
        }
    }

    /// Every marker is found through an anchor (else the search would be
    /// off and every out-stream record built), and the anchor search
    /// finds exactly the markers' occurrences a direct search finds.
    #[test]
    fn the_anchor_search_finds_every_marker() {
        let may_be = MAY_BE.as_ref().expect("every marker has an anchor");
        let markers = every_marker();
        assert_eq!(may_be.markers.iter().map(Vec::len).sum::<usize>(), markers.len());
        let text = markers.join(" x ") + " errors mirror FATALITY crit lert \"level\":3 \"type\":\"out\"";
        let mut found = Vec::new();
        may_be.find(text.as_bytes(), &mut found);
        // Each marker's occurrence is reported, at its anchor, and no
        // piece of text that holds no marker is.
        let mut expected = std::collections::BTreeSet::new();
        for (i, anchored) in may_be.markers.iter().enumerate() {
            for (offset, m) in anchored {
                let m = std::str::from_utf8(m).expect("ASCII");
                expected.extend(text.match_indices(m).map(|(at, _)| at + offset));
                assert_eq!(&m[*offset..*offset + ANCHORS[i].len()], ANCHORS[i]);
            }
        }
        assert_eq!(found, expected.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn stacks_key_on_their_error_line_and_first_own_frame() {
        let body = "Error: boom 7\n    at node:internal/x:1:1\n    at run (/srv/app/src/job.js:9:2)";
        assert_eq!(key_of(Mode::Errors, false, body), Some(format!("Error: boom <*>{ANCHOR}at run (src/job.js)")));
    }

    #[test]
    fn json_records_by_level() {
        let e = |b| key_of(Mode::Errors, false, b);
        let pino = r#"{"level":50,"time":1,"msg":"charge 99 failed","err":{"stack":"Error: x\n    at pay (/a/b/pay.js:1:1)"}}"#;
        assert_eq!(e(pino), Some(format!("charge <*> failed{ANCHOR}at pay (b/pay.js)")));
        assert_eq!(e(r#"{"level":"error","message":"db down"}"#).as_deref(), Some("db down"));
        assert_eq!(e(r#"{"level":30,"msg":"Error: looks bad but is info"}"#), None);
        assert_eq!(e(r#"{"level":60,"msg":""}"#), None);
    }

    fn form(b: &str) -> String {
        let mut out = Vec::new();
        memo_form(b.as_bytes(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Messages of one memo form get one key: the form zeroes a text's
    /// leading stamps, and the digits of a JSON record's fields that are
    /// not read (a number's first digit by its class); not codes, frames,
    /// other values of a text, nor the JSON fields a key is made of.
    #[test]
    fn messages_of_one_memo_form_key_alike() {
        assert_eq!(form("2026-11-20T10:00:42.901Z error: x 7"), "0000-00-00T00:00:00.000Z error: x 7");
        assert_eq!(form("[2026-11-20 10:00:01.779] [ERROR] a"), "[0000-00-00 00:00:00.000] [ERROR] a");
        assert_eq!(form("E2BIG at 10:00"), "E2BIG at 10:00");
        assert_eq!(form("T10 x"), "T10 x");
        assert_eq!(form("10  x"), "00  x");
        let pino =
            r#"{"level":50,"time":1795168818279,"pid":3606,"req":{"id":"r-87","port":57320},"msg":"job 12 failed"}"#;
        let zeroed =
            r#"{"level":50,"time":1000000000000,"pid":1000,"req":{"id":"r-00","port":40000},"msg":"job 12 failed"}"#;
        assert_eq!(form(pino), zeroed);
        assert_eq!(form(r#"{"time":"\u0031 9","a1":0.5e-07}"#), r#"{"time":"\u0031 4","a1":0.4e-00}"#);
        // Seen by the text reading: a code, and digits past an escape.
        assert_eq!(form(r#"{"level":50, "code": "E2BIG", "x":"\"7"}"#), r#"{"level":50, "code": "E2BIG", "x":"\"0"}"#);
        let groups = [
            ["2026-11-20T10:00:42.901Z error: body 1", "2026-11-21T11:59:02.007Z error: body 1"],
            ["12:00:01 TypeError: x\n    at f (/srv/a/b.js:1:1)", "23:59:59 TypeError: x\n    at f (/srv/a/b.js:1:1)"],
            ["[1] ERROR [2] boom", "[3] ERROR [2] boom"],
            ["10:00 not an error", "11:11 not an error"],
            [
                r#"{"level":50,"time":1795168818279,"pid":3606,"hostname":"prod-1","msg":"x"}"#,
                r#"{"level":50,"time":1795168825194,"pid":3606,"hostname":"prod-2","msg":"x"}"#,
            ],
        ];
        for [a, b] in groups {
            assert_eq!(form(a), form(b), "{a}");
            for mode in [Mode::Errors, Mode::All] {
                for err in [false, true] {
                    assert_eq!(key_of(mode, err, a), key_of(mode, err, b), "{a}");
                }
            }
        }
    }

    /// A message keys as its memo form does, so two of one form key alike:
    /// the memo is exact. On every line of the fixture logs (and each with
    /// the three lines after it, for stacks) and on the shapes where a
    /// digit does count: codes, statuses, JSON's leading zeros, escapes
    /// and read fields, text that is no JSON, lines past the masked cut.
    #[test]
    fn a_message_keys_as_its_memo_form_does() {
        let long = format!("{} E2BIG {}", "x ".repeat(253), "7 ".repeat(10));
        let cases = [
            "E2BIG failed",
            "E3BIG failed",
            "x=E2BIG y=e2big",
            "GET /api 200 in 14 ms",
            "GET /api 500 in 14 ms",
            "10:00:01 POST /v1/orders 302 12.3 ms - 0",
            r#"{"level":50,"msg":"x"}"#,
            r#"{"level":40,"msg":"x"}"#,
            r#"{"level":50,"time":01,"msg":"x"}"#,
            r#"{"level":50,"time":11,"msg":"x"}"#,
            r#"{"level":50,"time":-0.5e+10,"msg":"x"}"#,
            r#"{"level":50,"time":"\ud800\udc00","msg":"x"}"#,
            r#"{"level":50,"time":"\ud900","msg":"x"}"#,
            r#"{"level":50,"code":"E2BIG","msg":"x"}"#,
            r#"{"level":50, "code": "E2BIG", "msg":"x""#,
            r#"{"level":50,"msg":"E2BIG 7","err":{"type":"E2","stack":"E2: x\n    at f (/srv/a/b2.js:1:1)"}}"#,
            r#"{"lev\u0065l":50,"msg":"x"}"#,
            r#"{"a":{"level":5},"level":50,"msg":"x"}"#,
            r#"{"level":50,"msg":"x"} 7"#,
            r#"{"level":50,"msg":"x","level":40}"#,
            "{\"level\":50,\n\"time\":7,\"msg\":\"x\"}",
            "12:00 \u{a0}E2BIG",
            long.as_str(),
            "node:internal/process/promises:391\nTypeError: x 7\n    at run (/srv/app/x2.js:10:5)",
        ];
        let mut bodies: Vec<String> = cases.iter().map(|c| c.to_string()).collect();
        for path in crate::fixtures::logs() {
            let Ok(bytes) = std::fs::read(&path) else { continue };
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                bodies.push(line.to_string());
                bodies.push(lines[i..lines.len().min(i + 4)].join("\n"));
            }
        }
        let mut changed = 0;
        for body in &bodies {
            let formed = form(body);
            changed += usize::from(formed != *body);
            for mode in [Mode::Errors, Mode::All] {
                for err in [false, true] {
                    assert_eq!(key_of(mode, err, body), key_of(mode, err, &formed), "{body}\n{formed}");
                }
            }
        }
        assert!(changed * 4 > bodies.len(), "{changed} of {} messages have a form of their own", bodies.len());
    }

    /// An err-stream line at a level below error by its own level word
    /// is no error (winston's `warn: ...`, log4js's `[INFO]`, pino-pretty's
    /// `WARN`, `level=debug`); one at error, or with no level word, is.
    #[test]
    fn a_line_below_error_by_its_own_level_word_is_no_error() {
        let e = |b| key_of(Mode::Errors, true, b);
        assert_eq!(e("warn: unhandledRejection handler installed, retrying historical request for MSFT"), None);
        assert_eq!(e("[2026-11-20T10:00:01.779] [INFO] web - Error: shown in a banner"), None);
        assert_eq!(e("12:00:01 WARN cache cold"), None);
        assert_eq!(e("level=debug msg=x"), None);
        assert_eq!(e(r#"{"level":40,"msg":"slow query"}"#), None);
        assert_eq!(e(r#"{"level":"warn","message":"slow query"}"#), None);
        // Near misses: error levels, no level word, a bare word.
        assert!(e("error: unhandledRejection handler failed").is_some());
        assert!(e("[2026-11-20T10:00:01.779] [ERROR] web - upstream down").is_some());
        assert!(e("info about order 7 was lost").is_some());
        assert!(e(r#"{"level":50,"msg":"slow query"}"#).is_some());
        assert!(e(r#"{"msg":"no level at all"}"#).is_some());
        assert_eq!(key_of(Mode::All, true, "warn: x").as_deref(), Some("warn: x"));
    }

    /// Node's deprecation and experimental warnings are no errors; its
    /// other warnings are.
    #[test]
    fn a_deprecation_warning_is_no_error() {
        let e = |b| key_of(Mode::Errors, true, b);
        let dep = "(node:2211) [DEP0040] DeprecationWarning: The `punycode` module is deprecated. Please use a userland alternative instead.\n(Use `node --trace-deprecation ...` to show where the warning was created)";
        assert_eq!(e(dep), None);
        assert_eq!(
            e("2026-11-20T09:29:57: (node:7) ExperimentalWarning: The Fetch API is an experimental feature."),
            None
        );
        assert_eq!(e("(node:7) DeprecationWarning: Buffer() is deprecated"), None);
        // Near misses: other warnings, and the words elsewhere.
        assert!(e("(node:7) MaxListenersExceededWarning: Possible EventEmitter memory leak detected.").is_some());
        assert!(e("(node:7) UnhandledPromiseRejectionWarning: Error: boom").is_some());
        assert!(e("(node:7) Warning: Setting the NODE_TLS_REJECT_UNAUTHORIZED environment variable to '0'").is_some());
        assert!(e("TypeError: DeprecationWarning: is not a constructor").is_some());
        assert_eq!(
            key_of(Mode::All, true, "(node:7) DeprecationWarning: x").as_deref(),
            Some("(<*>) DeprecationWarning: x")
        );
    }

    /// A request log line of a request that succeeded is no error, even
    /// on stderr; a failed one is.
    #[test]
    fn a_successful_request_line_is_no_error() {
        let e = |b| key_of(Mode::Errors, true, b);
        assert_eq!(e("GET /api/quotes/NVDA 200 in 1004 ms"), None);
        assert_eq!(e("2026-11-20T13:41:10Z POST /v1/orders 302 12.3 ms - 0"), None);
        assert_eq!(e("GET /api/quotes/NVDA 503 in 1004 ms").as_deref(), Some("GET <*> <*> in <*> ms"));
        assert!(e("GET is not a request line 200").is_some());
    }

    /// A message that is all value is named by the error line below it,
    /// by its JSON error's type, or by its field; or it is no candidate.
    #[test]
    fn a_message_of_only_values_is_named_or_dropped() {
        let e = |b| key_of(Mode::Errors, true, b);
        assert_eq!(e("node:internal/process/promises:391"), None);
        assert_eq!(e("42"), None);
        let uncaught = "/srv/app/x.js:10\n    throw err;\n    ^\n\nTypeError: x is not a function\n    at run (/srv/app/x.js:10:5)";
        assert_eq!(e(uncaught), Some(format!("TypeError: x is not a function{ANCHOR}at run (app/x.js)")));
        assert_eq!(
            e(r#"{"level":50,"msg":"8812","err":{"type":"PaymentError"}}"#).as_deref(),
            Some("PaymentError: <*>")
        );
        assert_eq!(e(r#"{"level":50,"msg":"/srv/a.json"}"#).as_deref(), Some("msg: <*>"));
        assert_eq!(e(r#"{"level":50,"msg":"charge 8812 failed"}"#).as_deref(), Some("charge <*> failed"));
    }
}
