//! What pm2 puts before the message on a line: the source column of saved
//! `pm2 logs` output (`0|api      | `, `PM2        | `, with ANSI colour),
//! its timestamp prefix, or a pm2 JSON object. (An application's own
//! stamp is part of the message: see `time`.) [`view`] finds them without
//! allocating; [`strip_ansi`] cleans message text for matching.

use crate::input::Stream;

use super::timestamp::{Lead, lead};

/// Where the parts of one line are (offsets into the line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineView {
    /// Start of the message text.
    pub body: usize,
    /// Stamp text range, if the line is stamped.
    pub stamp: Option<(usize, usize)>,
    /// The `ID|NAME` / `PM2` column of saved `pm2 logs` output.
    pub column: Option<(usize, usize)>,
    /// Stream given by the column's colour (red err, green out, blue PM2).
    pub coloured: Option<Stream>,
    /// The line is a pm2 JSON log object.
    pub json: bool,
    /// The message starts with a date-time of pm2's stamp shape that is no
    /// pm2 prefix (an application's own stamp): its length (a byte: every
    /// line's view is copied), so the application's stamp is not looked for
    /// twice.
    pub iso: Option<u8>,
}

/// Splits `line` (without its line terminator). `pm2_logs` enables the
/// source column, which only saved `pm2 logs` output has.
pub fn view(line: &[u8], pm2_logs: bool) -> LineView {
    let mut v = LineView::default();
    let mut i = 0;
    if pm2_logs {
        let (after_ansi, colour) = skip_ansi(line, 0);
        if let Some((col, next)) = column_at(line, after_ansi) {
            v.column = Some(col);
            v.coloured = colour;
            i = skip_ansi(line, next).0;
        }
    }
    let rest = &line[i..];
    if rest.starts_with(b"{\"message\":") {
        v.json = true;
        v.body = i;
        return v;
    }
    match lead(rest) {
        Lead::Prefix(len, stamp_len) => {
            v.stamp = Some((i, i + stamp_len));
            i += len;
        }
        Lead::Shape(len) => v.iso = u8::try_from(len).ok(),
        Lead::Neither => {}
    }
    v.body = i;
    v
}

/// `PM2  | ` or `12|name  | ` at `at`: returns the column's range (name
/// trimmed) and the offset after `| `.
fn column_at(line: &[u8], at: usize) -> Option<((usize, usize), usize)> {
    let rest = line.get(at..)?;
    let is_pm2 = rest.starts_with(b"PM2 ") || rest.starts_with(b"PM2|");
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if !is_pm2 && (digits == 0 || rest.get(digits) != Some(&b'|')) {
        return None;
    }
    // The column is padded with spaces and closed by " | "; app names may
    // hold spaces, so look for the separator rather than the first space.
    let sep = memchr::memmem::find(rest, b" | ")?;
    let name_end = rest[..sep].iter().rposition(|b| *b != b' ').map_or(0, |p| p + 1);
    Some(((at, at + name_end), at + sep + 3))
}

/// Skips SGR/CSI sequences at `at`; returns the new offset and the stream a
/// pm2 colour code implies.
fn skip_ansi(line: &[u8], mut at: usize) -> (usize, Option<Stream>) {
    let mut colour = None;
    while line.get(at) == Some(&0x1b) && line.get(at + 1) == Some(&b'[') {
        let params_start = at + 2;
        let Some(len) = line[params_start..].iter().position(|b| (0x40..=0x7e).contains(b)) else { break };
        colour = match &line[params_start..params_start + len] {
            b"31" => Some(Stream::Err),
            b"32" => Some(Stream::Out),
            b"34" => Some(Stream::Daemon),
            _ => colour,
        };
        at = params_start + len + 1;
    }
    (at, colour)
}

/// Removes ANSI CSI sequences (colours, cursor moves) from `text`, so a
/// regex sees what a person saw.
pub fn strip_ansi(text: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < text.len() {
        let Some(esc) = memchr::memchr(0x1b, &text[i..]) else {
            out.extend_from_slice(&text[i..]);
            return;
        };
        out.extend_from_slice(&text[i..i + esc]);
        i += esc + 1;
        if text.get(i) == Some(&b'[') {
            let end = text[i + 1..].iter().position(|b| (0x40..=0x7e).contains(b));
            i = end.map_or(text.len(), |e| i + 1 + e + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(line: &str, pm2_logs: bool) -> String {
        let v = view(line.as_bytes(), pm2_logs);
        String::from_utf8_lossy(&line.as_bytes()[v.body..]).into_owned()
    }

    #[test]
    fn stamped_and_plain_lines() {
        let stamped = view(b"2026-11-20T10:00:00: PM2 log: App [api:0] online", false);
        assert_eq!(stamped, LineView { body: 21, stamp: Some((0, 19)), ..LineView::default() });
        assert_eq!(body("2026-11-20T10:00:00: PM2 log: App [api:0] online", false), "PM2 log: App [api:0] online");
        // An application's stamp of the same shape is message text, and
        // its length is kept.
        let app = view(b"2026-11-20 10:00:00,123 ERROR x", false);
        assert_eq!(app, LineView { body: 0, iso: Some(23), ..LineView::default() });
        assert_eq!(
            body("    at listOnTimeout (node:internal/timers:581:17)", false),
            "    at listOnTimeout (node:internal/timers:581:17)"
        );
    }

    #[test]
    fn saved_pm2_logs_columns() {
        let line = "\x1b[31m1|tws-bridge  | \x1b[39mError: boom";
        let v = view(line.as_bytes(), true);
        assert_eq!(v.coloured, Some(Stream::Err));
        let (s, e) = v.column.expect("column");
        assert_eq!(&line[s..e], "1|tws-bridge");
        assert_eq!(&line[v.body..], "Error: boom");
        assert_eq!(
            body("PM2        | 2026-11-23T05:14:11: PM2 log: App [chatty:0] online", true),
            "PM2 log: App [chatty:0] online"
        );
        // Without the capture shape the column is message text.
        assert_eq!(body("0|chatty   | tick", false), "0|chatty   | tick");
    }

    /// A pm2 JSON line is its body from its first byte, with no stamp (its
    /// time is the object's `timestamp`); behind a saved `pm2 logs`
    /// column, from the object's first byte. Only pm2's own key order
    /// counts: application JSON is message text.
    #[test]
    fn json_lines_are_flagged() {
        let obj =
            r#"{"message":"x\n","timestamp":"2026-11-23T05:12:35.770Z","type":"out","process_id":4,"app_name":"w"}"#;
        assert_eq!(view(obj.as_bytes(), false), LineView { json: true, ..LineView::default() });
        let captured = format!("\x1b[32m4|w  | \x1b[39m{obj}");
        let want =
            LineView { body: 17, column: Some((5, 8)), coloured: Some(Stream::Out), json: true, ..LineView::default() };
        assert_eq!(view(captured.as_bytes(), true), want);
        assert_eq!(&captured[17..], obj);
        assert_eq!(view(br#"{"msg":"x","message":"y"}"#, false), LineView::default());
        assert_eq!(view(br#" {"message":"x"}"#, false), LineView::default());
    }

    /// Caddy's console encoder writes its stamp like a pm2 prefix, with a
    /// tab; its JSON lines are application JSON (see `time::json`).
    #[test]
    fn caddy_console_times() {
        assert_eq!(
            body("2023/05/21 09:58:05.456\tERROR\thttp.log.error\tdial tcp", false),
            "ERROR\thttp.log.error\tdial tcp"
        );
        let json = br#"{"level":"error","ts":1795413112.6492145,"msg":"dial tcp"}"#;
        assert_eq!(view(json, false), LineView::default());
    }

    #[test]
    fn ansi_is_stripped() {
        let mut out = Vec::new();
        strip_ansi(b"\x1b[1m\x1b[31mERROR\x1b[39m\x1b[22m: disk full", &mut out);
        assert_eq!(out, b"ERROR: disk full");
        // A lone ESC goes; a sequence cut off at the end takes the rest.
        out.clear();
        strip_ansi(b"a\x1bb \x1b[2Kc \x1b[31", &mut out);
        assert_eq!(out, b"ab c ");
    }
}
