//! Lines whose raw bytes hide text the regexes see. A record's regexes run
//! on its message with ANSI sequences removed and, for a pm2 JSON line,
//! JSON escapes decoded ([`crate::records::build`]); the prefilter searches
//! raw bytes. A colour code inside a literal (`Connec\x1b[1mtivity`), a
//! JSON-escaped one (`\u001b[31m`) or any other `\uXXXX` / `\/` escape
//! breaks the literal in the raw bytes only. Hands the prefilter those
//! lines and the forms of them to search again.

use crate::records::prefix::strip_ansi;

/// Finds the lines that may hide text, in buffer order, without scanning
/// the buffer more than once per marker (a coloured log has an escape on
/// every line).
pub struct HiddenLines<'h> {
    hay: &'h [u8],
    pos: usize,
    next_esc: Option<usize>,
    next_escape: Option<usize>,
}

impl<'h> HiddenLines<'h> {
    /// Starts at the beginning of `hay`.
    pub fn new(hay: &'h [u8]) -> HiddenLines<'h> {
        let next_esc = memchr::memchr(0x1b, hay);
        let next_escape = next_json_escape(hay, 0);
        HiddenLines { hay, pos: 0, next_esc, next_escape }
    }
}

impl Iterator for HiddenLines<'_> {
    /// The line's start and end offsets (its `\n` excluded).
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let hay = self.hay;
        // Past the last line (one without a final `\n` ends at `len`).
        let rest = hay.get(self.pos..).filter(|r| !r.is_empty())?;
        if self.next_esc.is_some_and(|at| at < self.pos) {
            self.next_esc = memchr::memchr(0x1b, rest).map(|i| self.pos + i);
        }
        if self.next_escape.is_some_and(|at| at < self.pos) {
            self.next_escape = next_json_escape(hay, self.pos);
        }
        let at = match (self.next_esc, self.next_escape) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        let start = memchr::memrchr(b'\n', &hay[..at]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &hay[at..]).map_or(hay.len(), |i| at + i);
        self.pos = end + 1;
        Some((start, end))
    }
}

/// `\u` or `\/` at or after `from`: the JSON escapes the prefilter's
/// escaped literal forms do not cover.
fn next_json_escape(hay: &[u8], from: usize) -> Option<usize> {
    let mut pos = from;
    while let Some(i) = memchr::memchr(b'\\', hay.get(pos..)?) {
        let at = pos + i;
        match hay.get(at + 1) {
            Some(b'u' | b'/') => return Some(at),
            // `\\u` is an escaped backslash before a `u`: skip both bytes.
            Some(_) => pos = at + 2,
            None => return None,
        }
    }
    None
}

/// Appends the forms of `line` to search to `out`, each ended by `\n`:
/// ANSI sequences removed, and, if it holds JSON escapes, also decoded
/// first. `scratch` is reused between calls (a coloured log has an escape
/// on every line).
pub fn push_visible_forms(line: &[u8], out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    strip_ansi(line, out);
    out.push(b'\n');
    if next_json_escape(line, 0).is_some() {
        scratch.clear();
        json_unescape(line, scratch);
        strip_ansi(scratch, out);
        out.push(b'\n');
    }
}

/// Decodes JSON string escapes anywhere in `text`, leniently: what is not
/// a valid escape is copied as it is. Lone surrogates become U+FFFD, as in
/// serde_json's lossy decoding.
fn json_unescape(text: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(j) = memchr::memchr(b'\\', &text[i..]) {
        out.extend_from_slice(&text[i..i + j]);
        i += j;
        let (decoded, used) = escape_at(&text[i..]);
        match decoded {
            Some(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            None => out.extend_from_slice(&text[i..i + used]),
        }
        i += used;
    }
    out.extend_from_slice(&text[i..]);
}

/// The escape at the start of `s` (which starts with `\`): the character
/// and the bytes it takes, or `None` and the bytes to copy.
fn escape_at(s: &[u8]) -> (Option<char>, usize) {
    let simple = match s.get(1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => return unicode_escape(s),
        _ => return (None, 1),
    };
    (Some(simple), 2)
}

fn unicode_escape(s: &[u8]) -> (Option<char>, usize) {
    let Some(hi) = hex4(s, 2) else { return (None, 2) };
    if !(0xd800..0xdc00).contains(&hi) {
        return (Some(char::from_u32(hi).unwrap_or(char::REPLACEMENT_CHARACTER)), 6);
    }
    // A high surrogate pairs with a following `\uDC00`..`\uDFFF`.
    let low = (s.get(6..8) == Some(b"\\u")).then(|| hex4(s, 8)).flatten().filter(|l| (0xdc00..0xe000).contains(l));
    match low {
        Some(lo) => {
            let c = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
            (Some(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER)), 12)
        }
        None => (Some(char::REPLACEMENT_CHARACTER), 6),
    }
}

fn hex4(s: &[u8], at: usize) -> Option<u32> {
    let digits = std::str::from_utf8(s.get(at..at + 4)?).ok()?;
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        push_visible_forms(line.as_bytes(), &mut out, &mut Vec::new());
        let text = String::from_utf8_lossy(&out).into_owned();
        text.strip_suffix('\n').unwrap_or(&text).split('\n').map(str::to_string).collect()
    }

    #[test]
    fn colour_codes_inside_words_are_removed() {
        assert_eq!(forms("Connec\x1b[39mtivity between IBKR"), ["Connectivity between IBKR"]);
        // A lone ESC is dropped the way records drop it.
        assert_eq!(forms("Connec\x1btivity"), ["Connectivity"]);
    }

    #[test]
    fn json_escapes_are_decoded() {
        let line = r#"{"message":"Connec\u001b[39mtivity \u0062etween \/srv \ud83d\ude00 \ud800"}"#;
        let f = forms(line);
        assert_eq!(f.len(), 2);
        assert_eq!(f[1], "{\"message\":\"Connectivity between /srv \u{1f600} \u{fffd}\"}");
    }

    #[test]
    fn finds_each_hiding_line_once() {
        let hay = b"plain\na\x1b[1mb \\u0041 \x1b[0m\nplain \\\\u not an escape\n{\"m\":\"\\/x\"}";
        let lines: Vec<_> = HiddenLines::new(hay).map(|(s, e)| &hay[s..e]).collect();
        assert_eq!(lines, [&b"a\x1b[1mb \\u0041 \x1b[0m"[..], &b"{\"m\":\"\\/x\"}"[..]]);
    }
}
