//! Where on a line an application's stamp may stand: the first token of
//! the message, after any number of tags, within the first [`WINDOW`]
//! bytes. A tag is what loggers print before (or instead of) the time:
//!
//! - a bracketed, parenthesised or angled group (`[ERROR]`, `[Nest]`,
//!   `(MainThread)`, `<134>`), whose inside is tried first
//!   (`[2026-11-20T10:00:00.123]`, `[14:20:03]`, `E, [2026-... #1234]`);
//! - a level name, alone or with `:` or `,` (`ERROR`, `INFO:`, `warn,`),
//!   a one-letter level (`E,`), a number (a pid), a separator (`-`, `|`,
//!   `::`, `>`) or, at the very start of the line, a `name:` (Go's `log`
//!   prefix; indented, `key:` is a field of a printed object);
//! - ANSI colour codes and spaces, which cost nothing.
//!
//! Anything else (a word of the message) ends the search: a time further
//! on is message text (`job took 10:00:01`, a date in a URL).
//!
//! Common Log Format lines are the exception: their stamp is the first
//! bracket after the client's address and names (`host ident user [...]`).

use super::shapes::{self, Mask, Shape};

/// A stamp must start within this many bytes of the message.
pub const WINDOW: usize = 64;

/// At most this many tags stand before a stamp.
pub const MAX_TAGS: usize = 6;

/// A bracketed tag closes within this many bytes, or is not one.
const MAX_GROUP: usize = 48;

/// Returns true if and only if `word` is a level name loggers print
/// (compared without case).
fn is_level(word: &[u8]) -> bool {
    let mut low = [0u8; 8];
    let Some(low) = low.get_mut(..word.len()) else { return false };
    low.iter_mut().zip(word).for_each(|(l, w)| *l = w.to_ascii_lowercase());
    matches!(
        &*low,
        b"error"
            | b"err"
            | b"warn"
            | b"warning"
            | b"info"
            | b"debug"
            | b"dbg"
            | b"trace"
            | b"fatal"
            | b"crit"
            | b"critical"
            | b"notice"
            | b"severe"
            | b"verbose"
            | b"silly"
            | b"log"
            | b"alert"
            | b"emerg"
            | b"panic"
            | b"fine"
    )
}

/// A stamp found on a line: where it is (offsets into the message) and
/// its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// First byte of the stamp.
    pub start: usize,
    /// Just past its last byte.
    pub end: usize,
    /// What it looks like.
    pub shape: Shape,
}

/// The first stamp of a shape in `mask` at the start of `msg` (see the
/// module doc). `iso`: the length of an ISO date-time known to start
/// `msg`, if the caller has looked.
pub fn find(msg: &[u8], mask: Mask, iso: Option<u8>) -> Option<Found> {
    if mask.has(Shape::Json) {
        // `{"`: a logger's object. Not `{` alone or `{ code: 'X' }`, which
        // Node's util.inspect prints under an error.
        let start = msg.iter().position(|b| *b != b' ')?;
        let object = msg[start..].starts_with(b"{\"");
        return object.then_some(Found { start, end: msg.len(), shape: Shape::Json });
    }
    if let Some(n) = iso.map(usize::from)
        && mask.has(Shape::Iso)
        && shapes::ends(msg, n)
    {
        return Some(Found { start: 0, end: shapes::with_utc_word(msg, n), shape: Shape::Iso });
    }
    let found = after_tags(msg, mask);
    if found.is_none() && mask.has(Shape::Clf) {
        return clf(msg);
    }
    found
}

/// The first stamp at the start of `msg` or after tags.
fn after_tags(msg: &[u8], mask: Mask) -> Option<Found> {
    let mut i = 0;
    for _ in 0..=MAX_TAGS {
        i = skip_free(msg, i);
        if i >= WINDOW {
            return None;
        }
        if let Some(found) = stamp_at(msg, i, mask) {
            return Some(found);
        }
        i = match *msg.get(i)? {
            open @ (b'[' | b'(' | b'<') => {
                if let Some(found) = stamp_at(msg, i + 1, mask) {
                    return Some(found);
                }
                close(msg, i, open)?
            }
            _ => word_tag(msg, i)?,
        };
    }
    None
}

/// Redis's `PID:ROLE` tag (`src/server.c`, `serverLogRaw`): the pid, a
/// colon and `X` (sentinel/unknown), `C` (child), `S` (replica) or `M`
/// (primary).
fn is_redis_role(token: &[u8]) -> bool {
    match token {
        [pid @ .., b':', b'X' | b'C' | b'S' | b'M'] => {
            !pid.is_empty() && pid.len() <= 10 && pid.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

fn stamp_at(msg: &[u8], at: usize, mask: Mask) -> Option<Found> {
    shapes::at(msg, at, mask).map(|(shape, len)| Found { start: at, end: at + len, shape })
}

/// The stamp of a Common Log Format line (`host ident user [stamp]`): in
/// the first `[` of the window.
fn clf(msg: &[u8]) -> Option<Found> {
    let open = memchr::memchr(b'[', &msg[..msg.len().min(WINDOW)])?;
    stamp_at(msg, open + 1, Shape::Clf.bit())
}

/// Skips spaces, tabs and ANSI CSI sequences at `i`.
fn skip_free(msg: &[u8], mut i: usize) -> usize {
    loop {
        match msg.get(i) {
            Some(b' ' | b'\t') => i += 1,
            Some(0x1b) if msg.get(i + 1) == Some(&b'[') => {
                let params = &msg[i + 2..];
                match params.iter().position(|b| (0x40..=0x7e).contains(b)) {
                    Some(n) => i += 2 + n + 1,
                    None => return msg.len(),
                }
            }
            _ => return i,
        }
    }
}

/// Past the group opened at `i`, if it closes soon.
fn close(msg: &[u8], i: usize, open: u8) -> Option<usize> {
    let shut = match open {
        b'[' => b']',
        b'(' => b')',
        _ => b'>',
    };
    let inside = &msg[i + 1..msg.len().min(i + 1 + MAX_GROUP)];
    memchr::memchr(shut, inside).map(|n| i + 1 + n + 1)
}

/// Past the word tag at `i` (see the module doc), or None when the word is
/// message text.
fn word_tag(msg: &[u8], i: usize) -> Option<usize> {
    let rest = &msg[i..];
    // The word's end, looked for only as far as a tag can go.
    let word = || rest.iter().take(33).position(|b| matches!(b, b' ' | b'\t')).unwrap_or(rest.len().min(33));
    if !rest.first()?.is_ascii_alphabetic() {
        // A number (a pid), or a separator.
        let w = word();
        let token = &rest[..w];
        let tag = token.iter().all(u8::is_ascii_digit) && w <= 10
            || is_redis_role(token)
            || matches!(token, b"-" | b"--" | b"|" | b":" | b"::" | b">" | b"->" | b"=>" | b"\xc2\xbb");
        return tag.then_some(i + w);
    }
    let alpha = rest.iter().take(9).take_while(|b| b.is_ascii_alphabetic()).count();
    let after = rest.get(alpha).copied();
    let delimited = matches!(after, None | Some(b' ' | b'\t' | b':' | b',' | b'|' | b']' | 0x1b));
    let one_letter = alpha == 1 && rest[0].is_ascii_uppercase() && matches!(after, Some(b',' | b' '));
    if delimited && (one_letter || is_level(&rest[..alpha])) {
        let punct = usize::from(matches!(after, Some(b':' | b',' | b'|')));
        return Some(i + alpha + punct);
    }
    // `myapp: ` (Go's log prefix), which starts the line. Indented, a
    // `key: value` is a field of an object Node's util.inspect printed over
    // several lines (`  expiresAt: 2026-11-20T16:00:00.000Z`): its date is
    // data, and taking it dated the records after it.
    if i != 0 {
        return None;
    }
    let w = word();
    let token = &rest[..w];
    let named = w > 1
        && w <= 32
        && token.ends_with(b":")
        && token[..w - 1].iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'));
    named.then_some(i + w)
}

#[cfg(test)]
mod tests {
    use super::super::shapes::ANY_TEXT;
    use super::*;

    /// The stamp text found in `msg` by any text shape.
    fn found(msg: &str) -> Option<&str> {
        find(msg.as_bytes(), ANY_TEXT, None).map(|f| &msg[f.start..f.end])
    }

    #[test]
    fn after_redis_roles() {
        assert_eq!(found("25761:S 05 Dec 2026 09:27:51.028 * Ready"), Some("05 Dec 2026 09:27:51.028"));
        assert_eq!(found("1:M 05 Dec 2026 09:27:51.028 # x"), Some("05 Dec 2026 09:27:51.028"));
        assert_eq!(found("25761:Q 05 Dec 2026 09:27:51.028 x"), None);
    }

    #[test]
    fn at_the_start() {
        // The ISO shape `prefix::view` already measured is taken as is.
        let line = b"2026-11-21 02:10:05,644 ib_insync.wrapper ERROR x";
        let hinted =
            find(line, ANY_TEXT, crate::records::prefix::view(line, crate::records::prefix::Frame::default()).iso);
        assert_eq!(hinted, find(line, ANY_TEXT, None));
        assert_eq!(hinted.map(|f| f.end), Some(23));
        assert_eq!(
            found("2026-11-21 02:10:05,644 ib_insync.wrapper ERROR Error 1100"),
            Some("2026-11-21 02:10:05,644")
        );
        assert_eq!(found("Nov 20 10:00:01 host sshd[1]: x"), Some("Nov 20 10:00:01"));
        assert_eq!(found("10:00:01.123 [main] ERROR c.e.App - x"), Some("10:00:01.123"));
    }

    #[test]
    fn behind_tags() {
        assert_eq!(found("[2026-11-20T10:00:00.123] [ERROR] default - x"), Some("2026-11-20T10:00:00.123"));
        assert_eq!(found("[ERROR] 2026-11-20 10:00:00 x"), Some("2026-11-20 10:00:00"));
        assert_eq!(found("ERROR 2026-11-20 10:00:00,644 x"), Some("2026-11-20 10:00:00,644"));
        assert_eq!(found("ERROR:2025-12-30 06:25:45,473:Error 1100, reqId -1"), Some("2025-12-30 06:25:45,473"));
        assert_eq!(found("[2:20:03 PM] [INFO] [TWS]: x"), Some("2:20:03 PM"));
        assert_eq!(found("E, [2026-11-20T10:00:01.123456 #1234] ERROR -- : x"), Some("2026-11-20T10:00:01.123456"));
        assert_eq!(found("(MainThread) 10:00:01.123 INFO x"), Some("10:00:01.123"));
        assert_eq!(found("<134>Nov 20 10:00:01 host app: x"), Some("Nov 20 10:00:01"));
        assert_eq!(found("<165>1 2026-11-20T10:00:01.003Z host app - - x"), Some("2026-11-20T10:00:01.003Z"));
        assert_eq!(found("myapp: 2026/11/20 10:00:01 x"), Some("2026/11/20 10:00:01"));
        assert_eq!(
            found("\x1b[31m[Nest] 10482  - \x1b[39m12/05/2026, 8:57:45 AM \x1b[31m  ERROR\x1b[39m x"),
            Some("12/05/2026, 8:57:45 AM")
        );
        assert_eq!(found("  \t2026-11-20 10:00:00 indented"), Some("2026-11-20 10:00:00"));
    }

    #[test]
    fn message_text_is_not_a_stamp() {
        assert_eq!(found("job took 10:00:01 to run"), None);
        assert_eq!(found("ib_insync 1.2.3 started on port :4002"), None);
        assert_eq!(found("wrote 1100 ticks"), None);
        assert_eq!(found("connect ECONNREFUSED 127.0.0.1:7497"), None);
        assert_eq!(found("GET /reports?from=2026-11-20T10:00:00Z 200"), None);
        assert_eq!(found("[ERROR] report for 2026-11-20 10:00:00 failed"), None);
        // A field of a multi-line object dump, and a `name:` after a tag.
        assert_eq!(found("  expiresAt: 2026-11-20T16:00:00.000Z"), None);
        assert_eq!(found("\tcreated: 2026-11-20 10:00:00,"), None);
        assert_eq!(found("[worker] job: 2026-11-20 10:00:00"), None);
        let far = format!("[{}] 2026-11-20 10:00:00 x", "a".repeat(40));
        assert_eq!(found(&far), Some("2026-11-20 10:00:00"), "a tag of 40 bytes is still a tag");
        let past = format!("{} 2026-11-20 10:00:00 x", "[a] ".repeat(17));
        assert_eq!(found(&past), None, "past the tag limit and the window");
    }

    #[test]
    fn common_log_format() {
        let line = b"127.0.0.1 - frank [20/Nov/2026:10:00:01 +0000] \"GET / HTTP/1.1\" 200 2326";
        let f = find(line, Shape::Clf.bit(), None).expect("clf");
        assert_eq!(&line[f.start..f.end], b"20/Nov/2026:10:00:01 +0000");
    }

    #[test]
    fn json_objects() {
        let json = |line: &[u8]| find(line, Shape::Json.bit(), None);
        let f = json(br#"{"level":30,"time":1795168800000,"msg":"x"}"#).expect("json");
        assert_eq!((f.start, f.shape), (0, Shape::Json));
        assert_eq!(json(b"Traceback (most recent call last):"), None);
        assert_eq!(json(b"{"), None, "util.inspect's block opener");
        assert_eq!(json(b"{ code: 'ECONNRESET' }"), None);
    }
}
