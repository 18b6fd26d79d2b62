//! Escaping for GitHub-flavoured Markdown: log text, code spans, fenced
//! blocks and prose with code spans made literal, so nothing taken from a
//! log turns into formatting or vanishes as an HTML tag.

/// Makes `text` (from a log or a rule) literal on one line of GitHub
/// Markdown: line breaks become spaces, `<`, `>` and `&` become entities
/// (so `<anonymous>` shows instead of vanishing as a tag), the characters
/// that start inline formatting are backslash-escaped (`|` too, which a
/// table cell needs and which renders as itself elsewhere), and so is a
/// block marker at the start (`#`, `-`, `1.`), which would act where the
/// text opens a list item. GitHub's mentions (`@name`), issue links (`#1`)
/// and emoji codes work on the rendered text and cannot be escaped.
pub(super) fn escape(text: &str) -> String {
    guard_start(escape_inline(text.trim()))
}

/// Escapes a block marker at the start of already escaped `inline`.
fn guard_start(inline: String) -> String {
    let bytes = inline.as_bytes();
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    // `1.` and `1)` open an ordered list only before a space or the end.
    let ordered = digits > 0
        && matches!(bytes.get(digits), Some(b'.' | b')'))
        && matches!(bytes.get(digits + 1), None | Some(b' '));
    match bytes.first() {
        _ if ordered => format!("{}\\{}", &inline[..digits], &inline[digits..]),
        // Headings, bullets, and `---` (a rule inside a list item).
        Some(b'#' | b'-' | b'+') => format!("\\{inline}"),
        _ => inline,
    }
}

/// [`escape`] without the line-start handling, for text in mid-line.
fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            '&' => out += "&amp;",
            '<' => out += "&lt;",
            '>' => out += "&gt;",
            // `$` opens GitHub's math; `~` strikethrough.
            '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '|' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// `text` as a code span: delimited by one backtick more than its longest
/// run, padded when it starts or ends with a backtick or would lose a
/// space to CommonMark's stripping, on one line. In a table cell the
/// caller still escapes `|` (GFM splits cells before reading code spans).
pub(super) fn code_span(text: &str) -> String {
    let text = text.replace("\r\n", " ").replace(['\n', '\r'], " ");
    if text.is_empty() {
        return "` `".to_string();
    }
    let ticks = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = text.starts_with('`') || text.ends_with('`') || (text.starts_with(' ') && text.ends_with(' '));
    if pad { format!("{ticks} {text} {ticks}") } else { format!("{ticks}{text}{ticks}") }
}

/// `text` as a fenced code block whose fence is longer than any backtick
/// run inside, so no line of the text can close it.
pub(super) fn fenced(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let fence = "`".repeat((longest_backtick_run(&text) + 1).max(3));
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}text\n{text}{newline}{fence}\n")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Prose with code spans: a rule's fix, a note, a skip's detail. Their
/// writers mark commands as backtick code spans, which stay code spans; the
/// text around them is escaped like log text, since captured values and
/// paths are interpolated into it. A backtick run with no closing run of
/// the same length is literal, as in CommonMark.
pub(super) fn prose(text: &str) -> String {
    let text = text.trim().replace("\r\n", " ").replace(['\n', '\r'], " ");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find('`') {
        out += &escape_inline(&rest[..start]);
        let run = rest[start..].len() - rest[start..].trim_start_matches('`').len();
        let after = &rest[start + run..];
        match closing_run(after, run) {
            Some(end) => {
                out += &rest[start..start + run + end + run];
                rest = &after[end + run..];
            }
            None => {
                out += &"\\`".repeat(run);
                rest = after;
            }
        }
    }
    out += &escape_inline(rest);
    guard_start(out)
}

/// Offset in `text` of the first backtick run exactly `len` long.
fn closing_run(text: &str, len: usize) -> Option<usize> {
    let mut offset = 0;
    while let Some(start) = text[offset..].find('`') {
        let at = offset + start;
        let run = text[at..].len() - text[at..].trim_start_matches('`').len();
        if run == len {
            return Some(at);
        }
        offset = at + run;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_log_text_literal() {
        assert_eq!(escape("at <anonymous>"), "at &lt;anonymous&gt;");
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("one\ntwo\r\nthree"), "one two  three");
        assert_eq!(
            escape("*bold* _em_ `code` [l](u) ~~s~~"),
            "\\*bold\\* \\_em\\_ \\`code\\` \\[l\\](u) \\~\\~s\\~\\~"
        );
        assert_eq!(escape("C:\\logs & $PATH"), "C:\\\\logs &amp; \\$PATH");
        assert_eq!(escape("&nbsp;</details>"), "&amp;nbsp;&lt;/details&gt;");
    }

    #[test]
    fn escape_neutralises_block_markers_at_the_start() {
        assert_eq!(escape("# not a heading"), "\\# not a heading");
        assert_eq!(escape("  - not a list"), "\\- not a list");
        assert_eq!(escape("12. not a list"), "12\\. not a list");
        assert_eq!(escape("12) not a list"), "12\\) not a list");
        assert_eq!(escape("--- x"), "\\--- x");
        assert_eq!(escape("1.5 s, a-b #3"), "1.5 s, a-b #3");
        assert_eq!(escape("1."), "1\\.");
    }

    #[test]
    fn code_spans_outlast_backticks_inside() {
        assert_eq!(code_span("pm2.crash-loop"), "`pm2.crash-loop`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`a"), "`` `a ``");
        assert_eq!(code_span(" a "), "`  a  `");
        assert_eq!(code_span("x\ny"), "`x y`");
        assert_eq!(code_span(""), "` `");
    }

    #[test]
    fn fences_are_longer_than_any_backtick_run() {
        assert_eq!(fenced("plain"), "```text\nplain\n```\n");
        assert_eq!(fenced("a\n```\nb\n"), "````text\na\n```\nb\n````\n");
        assert_eq!(fenced("`````"), "``````text\n`````\n``````\n");
        assert_eq!(fenced("a\r\nb\rc"), "```text\na\nb\nc\n```\n");
    }

    #[test]
    fn prose_keeps_code_spans_and_escapes_the_rest() {
        assert_eq!(
            prose("Run `pm2 logs <app> --err` on <host> & retry"),
            "Run `pm2 logs <app> --err` on &lt;host&gt; &amp; retry"
        );
        assert_eq!(prose("set ``a`b`` *now*"), "set ``a`b`` \\*now\\*");
        assert_eq!(prose("a ` b"), "a \\` b");
        assert_eq!(prose("`a`` b"), "\\`a\\`\\` b");
        assert_eq!(prose("two\nlines"), "two lines");
        assert_eq!(prose("- `x` first"), "\\- `x` first");
    }
}
