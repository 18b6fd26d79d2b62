//! Masking: the parts of a message that vary between occurrences of one
//! error (numbers, hex, ids, IPs, times, paths, URLs, addresses, dotted
//! names such as hosts and files, `key=value` values) become `<*>`, so
//! that they neither split a template nor reach the prefix tree as routing
//! tokens. Quoted values are masked by what they hold: `'/srv/x.json'` or
//! `"id 42"` are values, a quoted word (`'Active'`, `'express'`, `'id'`)
//! names a state, a module or a field, and two of those are two errors
//! (Loghub's labels agree: masking every quoted span cost 0.5 of
//! OpenStack's grouping accuracy). Hands on the masked tokens, joined by
//! single spaces.
//!
//! The masks are per token, by hand, not regexes: they run on every
//! candidate record inside the scan, and a token is looked at once.

/// What a masked part reads as in a template (Drain's wildcard).
pub const WILD: &str = "<*>";

/// At most this many bytes of a message are masked: a template is a
/// line's shape, and a dumped payload would only make every key distinct.
const MAX_BYTES: usize = 512;

/// At most this many tokens: past it, the tail is one wildcard.
const MAX_TOKENS: usize = 64;

/// Masks `text` (one line) into `out`: tokens separated by one space.
pub fn mask_line(text: &str, out: &mut String) {
    let text = cut(text.trim(), MAX_BYTES);
    for (tokens, tok) in text.split_ascii_whitespace().enumerate() {
        if tokens == MAX_TOKENS {
            out.push(' ');
            out.push_str(WILD);
            break;
        }
        if tokens > 0 {
            out.push(' ');
        }
        mask_token(tok, out);
    }
}

/// Whether a masked line keeps a word: a template that is all `<*>` (and
/// punctuation) names nothing a rule could be drafted from, and every
/// line of values would join it.
pub fn names_something(masked: &str) -> bool {
    masked.split(WILD).any(|rest| rest.bytes().any(|b| b.is_ascii_alphabetic()))
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Whether masking `tok` (one whole token, as [`mask_line`] cuts them)
/// writes any of its digits: only a part that is kept whole shows them
/// (an upper-case code, `E2BIG`; a key or value of `key=value` that is
/// one). Otherwise its digits only decide, by being digits, that a part
/// is a value, and any other digits in their place mask alike: the memo
/// (`candidate::memo_form`) relies on it. Mirrors `mask_token`.
pub fn shows_digits(tok: &str) -> bool {
    let (_, core, _) = split_token(tok);
    let shown = |part: &str| part.bytes().any(|c| c.is_ascii_digit()) && !variable(part);
    match core.bytes().position(|c| c == b'=') {
        _ if core == WILD => false,
        Some(eq) if eq > 0 && !variable(&core[..eq]) => shown(&core[..eq]) || shown(&core[eq + 1..]),
        _ => shown(core),
    }
}

/// A token's leading brackets and quotes, its core, and its trailing
/// brackets, quotes and punctuation.
fn split_token(tok: &str) -> (&str, &str, &str) {
    let b = tok.as_bytes();
    let mut start = 0;
    while start < b.len() && matches!(b[start], b'(' | b'[' | b'{' | b'<' | b'\'' | b'"' | b'`') {
        start += 1;
    }
    let mut end = b.len();
    while end > start
        && matches!(b[end - 1], b')' | b']' | b'}' | b'>' | b',' | b';' | b':' | b'.' | b'\'' | b'"' | b'`')
    {
        end -= 1;
    }
    (&tok[..start], &tok[start..end], &tok[end..])
}

/// The bytes of `text` that [`mask_line`] masks: `text` trimmed and cut
/// to `MAX_BYTES`, as a range of `text`.
pub fn masked_span(text: &str) -> std::ops::Range<usize> {
    let start = text.len() - text.trim_start().len();
    start..start + cut(text.trim(), MAX_BYTES).len()
}

/// Masks one whitespace-separated token: its brackets, quotes and
/// trailing punctuation stay, its core is kept or masked, and of
/// `key=value` only the value is masked. By bytes: this runs on every
/// candidate (all the characters looked at are ASCII, so every cut is at
/// a character boundary).
fn mask_token(tok: &str, out: &mut String) {
    let (lead, core, tail) = split_token(tok);
    out.push_str(lead);
    match core.bytes().position(|c| c == b'=') {
        _ if core == WILD => out.push_str(core),
        Some(eq) if eq > 0 && !variable(&core[..eq]) => {
            out.push_str(&core[..=eq]);
            let value = &core[eq + 1..];
            out.push_str(if variable(value) { WILD } else { value });
        }
        _ => out.push_str(if variable(core) { WILD } else { core }),
    }
    out.push_str(tail);
}

/// Whether a token's core is a value rather than a word: it holds a digit
/// (numbers, hex, ids, IPs, times, versions), or is a path, a URL, an
/// address, or a dotted name: a host (`db.internal`), a file
/// (`chrome.exe`), a package or class (`com.apple.x`), a `.` with a letter
/// or digit on both sides. Error codes (`EADDRINUSE`,
/// `ERR_HTTP2_STREAM_ERROR`, `E2BIG`) are words. One pass over the bytes.
pub fn variable(core: &str) -> bool {
    let b = core.as_bytes();
    let Some(&first) = b.first() else { return false };
    let (mut digit, mut slash, mut dot, mut at, mut dotted) = (false, false, false, false, false);
    // An upper-case code: starts with a letter (not `0XFF`), then
    // capitals, digits and underscores.
    let mut code = first.is_ascii_uppercase();
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' => digit = true,
            b'/' => slash = true,
            b'\\' => return true,
            b'@' => at = true,
            b'.' => {
                dot = true;
                let around = |j: usize| b.get(j).is_some_and(u8::is_ascii_alphanumeric);
                dotted |= i > 0 && around(i - 1) && around(i + 1);
            }
            _ => {}
        }
        code &= c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_';
    }
    if digit {
        return !code;
    }
    first == b'/'
        || core.starts_with("./")
        || core.starts_with("~/")
        || (slash && (dot || core.contains("://")))
        || (at && dot)
        || dotted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        let mut out = String::new();
        mask_line(text, &mut out);
        out
    }

    #[test]
    fn numbers_ids_ips_paths_and_quoted_values_become_wildcards() {
        assert_eq!(masked("connect ECONNREFUSED 127.0.0.1:6379"), "connect ECONNREFUSED <*>");
        assert_eq!(masked("order 8f3a2c9e-1b2d failed after 3 retries"), "order <*> failed after <*> retries");
        assert_eq!(masked("ENOENT: no such file, open '/srv/app/x.json'"), "ENOENT: no such file, open '<*>'");
        assert_eq!(masked("cannot read /srv/api/config.json"), "cannot read <*>");
        assert_eq!(masked("GET https://example.com/a failed"), "GET <*> failed");
        assert_eq!(masked("user=42 role=admin (took 12ms)."), "user=<*> role=admin (took <*>).");
        assert_eq!(masked("reading \"id 7\" of undefined"), "reading \"id <*>\" of undefined");
        assert_eq!(masked("mail to ops@example.com bounced"), "mail to <*> bounced");
        assert_eq!(masked("block 0x7ffd5e1c freed"), "block <*> freed");
        assert_eq!(masked("chrome.exe via db.internal:5432"), "<*> via <*>");
    }

    #[test]
    fn quoted_words_stay() {
        assert_eq!(masked("Cannot find module 'express'"), "Cannot find module 'express'");
        assert_eq!(masked("state 'Active' at 10:02"), "state 'Active' at <*>");
    }

    #[test]
    fn words_codes_and_apostrophes_stay() {
        assert_eq!(masked("TypeError: can't read it"), "TypeError: can't read it");
        assert_eq!(masked("ERR_HTTP2_STREAM_ERROR and E2BIG"), "ERR_HTTP2_STREAM_ERROR and E2BIG");
        assert_eq!(masked("  spaced \t out  "), "spaced out");
    }

    #[test]
    fn long_lines_are_cut_to_their_shape() {
        let long = "word ".repeat(200);
        let m = masked(&long);
        assert_eq!(m.split(' ').count(), MAX_TOKENS + 1);
        assert!(m.ends_with(WILD));
        // A multi-byte character at the cut does not panic.
        let wide = "é".repeat(MAX_BYTES);
        assert!(!masked(&wide).is_empty());
    }
}
