//! What pm2 puts before the message on a line: the source column of saved
//! `pm2 logs` output (`0|api      | `, `PM2        | `, with ANSI colour),
//! its timestamp prefix, a pm2 JSON object, or the JSON envelope another
//! log writer puts around each line (Docker's json-file driver, a
//! `journalctl -o json` export: see [`Json`] and `envelope`). (An
//! application's own stamp is part of the message: see `time`.) [`view`]
//! finds them without allocating; [`strip_ansi`] cleans message text for
//! matching.

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
    /// The JSON object the line is, if any.
    pub json: Json,
    /// The message starts with a date-time of pm2's stamp shape that is no
    /// pm2 prefix (an application's own stamp): its length (a byte: every
    /// line's view is copied), so the application's stamp is not looked for
    /// twice.
    pub iso: Option<u8>,
}

/// Which JSON object a line is: each is recognised by its first key, which
/// its writer always puts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Json {
    /// Not one of these (an application's own JSON is message text).
    #[default]
    No,
    /// pm2 `log_type: json`: `{"message":...}`, one write per object.
    Pm2,
    /// Docker's json-file driver: `{"log":"...\n","stream":...,"time":...}`,
    /// one line of output per object (see `envelope`). Its `time` is the
    /// line's stamp.
    Docker,
    /// `journalctl -o json`: `{"__CURSOR":...}`, one journal entry per
    /// object.
    Journal,
}

impl Json {
    /// Returns true if and only if the object is always a record of its
    /// own (its writer kept each message whole).
    pub fn whole(self) -> bool {
        matches!(self, Json::Pm2 | Json::Journal)
    }

    /// Returns true if and only if the line is any of these objects.
    pub fn any(self) -> bool {
        self != Json::No
    }
}

/// What a file's lines may start with besides a stamp: decided per file
/// from its first lines (`FileShape`), so each line is checked only for
/// what its file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Frame {
    /// Saved `pm2 logs` output: the `ID|NAME | ` / `PM2 | ` column.
    pub pm2_logs: bool,
    /// Saved `docker compose logs` output: the `SERVICE-N  | ` column.
    pub compose: bool,
    /// A `journalctl -o json` export: every object line is an entry.
    pub journal: bool,
    /// `docker logs -t` output: Docker's stamp starts each line (after a
    /// compose column).
    pub docker_stamps: bool,
    /// `journalctl -o short-iso` output: `STAMP HOST IDENT[PID]: `.
    pub journal_text: bool,
}

/// Splits `line` (without its line terminator) as a line of a file
/// framed like `frame`.
pub fn view(line: &[u8], frame: Frame) -> LineView {
    let mut v = LineView::default();
    let mut i = 0;
    if frame.pm2_logs || frame.compose {
        let (after_ansi, colour) = skip_ansi(line, 0);
        let pm2 = if frame.pm2_logs { column_at(line, after_ansi) } else { None };
        let compose = || if frame.compose { compose_column_at(line, after_ansi) } else { None };
        if let Some((col, next)) = pm2 {
            v.column = Some(col);
            v.coloured = colour;
            i = skip_ansi(line, next).0;
        } else if let Some((col, next)) = compose() {
            // compose colours services, not streams.
            v.column = Some(col);
            i = skip_ansi(line, next).0;
        }
    }
    if frame.journal_text
        && i == 0
        && let Some(p) = journal_text_prefix(line)
    {
        v.stamp = Some((0, p.stamp));
        v.column = Some(p.ident);
        v.body = p.body;
        return v;
    }
    if frame.docker_stamps
        && let Some(len) = docker_stamp_len(&line[i..])
    {
        v.stamp = Some((i, i + len));
        v.body = (i + len + 1).min(line.len());
        return v;
    }
    if frame.journal && line.get(i) == Some(&b'{') {
        v.json = Json::Journal;
        v.body = i;
        return v;
    }
    let rest = &line[i..];
    if rest.first() == Some(&b'{')
        && let Some(json) = json_kind(rest)
    {
        v.json = json;
        v.body = i;
        if json == Json::Docker {
            v.stamp = super::envelope::docker_time(rest).map(|(s, e)| (i + s, i + e));
        }
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

/// Where the parts of a `journalctl -o short-iso` (or `short-iso-precise`)
/// line's prefix end: `2026-12-05T17:35:43+0000 vm worker[16274]: msg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalText {
    /// Length of the stamp.
    pub stamp: usize,
    /// The identifier's range (the app).
    pub ident: (usize, usize),
    /// Start of the message.
    pub body: usize,
}

/// Reads the prefix journalctl's `short-iso` output puts on every line
/// (systemd `logs-show.c`, `output_short`): the time as
/// `YYYY-MM-DDTHH:MM:SS[.ffffff]±HHMM`, the host, the identifier, the pid
/// in brackets when known, `: `.
pub fn journal_text_prefix(line: &[u8]) -> Option<JournalText> {
    let digits = [0..4, 5..7, 8..10, 11..13, 14..16, 17..19];
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    let head = line.get(..19)?;
    if !digits.into_iter().all(|r| head[r].iter().all(u8::is_ascii_digit))
        || !seps.into_iter().all(|(at, c)| head[at] == c)
    {
        return None;
    }
    let mut i = 19;
    if line.get(i) == Some(&b'.') {
        let n = line[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        i += 1 + n;
    }
    let zone = line.get(i..i + 5)?;
    if !matches!(zone[0], b'+' | b'-') || !zone[1..].iter().all(u8::is_ascii_digit) || line.get(i + 5) != Some(&b' ') {
        return None;
    }
    let stamp = i + 5;
    let host = stamp + 1;
    let host_end = host + line.get(host..)?.iter().take(256).position(|b| *b == b' ')?;
    let ident = host_end + 1;
    let rest = line.get(ident..)?;
    let ident_len = rest.iter().take(256).position(|b| matches!(b, b'[' | b':' | b' '))?;
    if ident_len == 0 {
        return None;
    }
    let mut j = ident + ident_len;
    if line.get(j) == Some(&b'[') {
        let pid = line[j + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if pid == 0 || line.get(j + 1 + pid) != Some(&b']') {
            return None;
        }
        j += pid + 2;
    }
    if line.get(j) != Some(&b':') {
        return None;
    }
    let body = if line.get(j + 1) == Some(&b' ') { j + 2 } else { j + 1 };
    Some(JournalText { stamp, ident: (ident, ident + ident_len), body })
}

/// `docker logs -t` writes each line's time first, as Go's
/// `jsonmessage.RFC3339NanoFixed` (`2006-01-02T15:04:05.000000000Z07:00`:
/// always nine fraction digits, UTC as `Z`), then a space (moby
/// `daemon/logs.go`). The stamp's length if `rest` starts with one.
fn docker_stamp_len(rest: &[u8]) -> Option<usize> {
    const LEN: usize = 30;
    let s = rest.get(..LEN)?;
    let digits = [0..4, 5..7, 8..10, 11..13, 14..16, 17..19, 20..29];
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (29, b'Z')];
    let ok = digits.into_iter().all(|r| s[r].iter().all(u8::is_ascii_digit))
        && seps.into_iter().all(|(at, c)| s[at] == c)
        && matches!(rest.get(LEN), None | Some(b' '));
    ok.then_some(LEN)
}

/// Returns true if and only if a stamp ending at `end` in `line` is
/// Docker's (`docker logs -t`): a space follows it, where pm2's prefix
/// has `: ` and Docker's json-file `time` a quote.
pub fn is_docker_stamp_end(line: &[u8], end: usize) -> bool {
    matches!(line.get(end), None | Some(b' '))
        && end >= 30
        && line[end - 1] == b'Z'
        && line.get(end - 11) == Some(&b'.')
}

/// The writer whose JSON object `rest` (a line starting with `{`) is.
fn json_kind(rest: &[u8]) -> Option<Json> {
    if rest.starts_with(b"{\"message\":") {
        Some(Json::Pm2)
    } else if rest.starts_with(b"{\"log\":\"") {
        Some(Json::Docker)
    } else if rest.starts_with(b"{\"__CURSOR\":\"") {
        Some(Json::Journal)
    } else {
        None
    }
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

/// `api-1  | ` (compose v2) or `proj_api_1  | ` (v1) at `at`: a service
/// name, padding, `|` and a space (or the end of an empty line). Returns
/// the name's range and the offset after the separator.
fn compose_column_at(line: &[u8], at: usize) -> Option<((usize, usize), usize)> {
    let rest = line.get(at..)?;
    let name = rest.iter().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')).count();
    if name == 0 || !rest[0].is_ascii_alphanumeric() {
        return None;
    }
    let pad = rest[name..].iter().take_while(|b| **b == b' ').count();
    let sep = name + pad;
    // Colour codes may sit between the padding and the bar.
    let bar = skip_ansi(rest, sep).0;
    if pad == 0 || rest.get(bar) != Some(&b'|') {
        return None;
    }
    // compose ends the colour after the bar (`|\x1b[0m `).
    let after = skip_ansi(rest, bar + 1).0;
    match rest.get(after) {
        None => Some(((at, at + name), at + after)),
        Some(b' ') => Some(((at, at + name), at + after + 1)),
        Some(_) => None,
    }
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

    fn frame(pm2_logs: bool) -> Frame {
        Frame { pm2_logs, ..Frame::default() }
    }

    fn body(line: &str, pm2_logs: bool) -> String {
        let v = view(line.as_bytes(), frame(pm2_logs));
        String::from_utf8_lossy(&line.as_bytes()[v.body..]).into_owned()
    }

    #[test]
    fn stamped_and_plain_lines() {
        let stamped = view(b"2026-11-20T10:00:00: PM2 log: App [api:0] online", Frame::default());
        assert_eq!(stamped, LineView { body: 21, stamp: Some((0, 19)), ..LineView::default() });
        assert_eq!(body("2026-11-20T10:00:00: PM2 log: App [api:0] online", false), "PM2 log: App [api:0] online");
        // An application's stamp of the same shape is message text, and
        // its length is kept.
        let app = view(b"2026-11-20 10:00:00,123 ERROR x", Frame::default());
        assert_eq!(app, LineView { body: 0, iso: Some(23), ..LineView::default() });
        assert_eq!(
            body("    at listOnTimeout (node:internal/timers:581:17)", false),
            "    at listOnTimeout (node:internal/timers:581:17)"
        );
    }

    #[test]
    fn saved_pm2_logs_columns() {
        let line = "\x1b[31m1|tws-bridge  | \x1b[39mError: boom";
        let v = view(line.as_bytes(), frame(true));
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
        assert_eq!(view(obj.as_bytes(), Frame::default()), LineView { json: Json::Pm2, ..LineView::default() });
        let captured = format!("\x1b[32m4|w  | \x1b[39m{obj}");
        let want = LineView {
            body: 17,
            column: Some((5, 8)),
            coloured: Some(Stream::Out),
            json: Json::Pm2,
            ..LineView::default()
        };
        let logs = Frame { pm2_logs: true, ..Frame::default() };
        assert_eq!(view(captured.as_bytes(), logs), want);
        assert_eq!(&captured[17..], obj);
        assert_eq!(view(br#"{"msg":"x","message":"y"}"#, Frame::default()), LineView::default());
        assert_eq!(view(br#" {"message":"x"}"#, Frame::default()), LineView::default());
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
        assert_eq!(view(json, Frame::default()), LineView::default());
    }

    /// `docker compose logs -t` (v2.x): the service column, padded, then
    /// Docker's own time; compose's colours name services, not streams.
    #[test]
    fn compose_columns() {
        let compose = Frame { compose: true, ..Frame::default() };
        let line = "\x1b[32mapi-1  | \x1b[0m2026-12-05T17:20:01.123456789Z Error: boom";
        let v = view(line.as_bytes(), compose);
        let (s, e) = v.column.expect("column");
        assert_eq!(
            (&line[s..e], &line[v.body..], v.coloured),
            ("api-1", "2026-12-05T17:20:01.123456789Z Error: boom", None)
        );
        let v = view(b"db-1  |", compose);
        assert_eq!(v.body, 7);
        // docker-compose v1 (nostpy#102): the colour ends after the bar.
        let line = "\x1b[36mevent-handler_1   |\x1b[0m 2025-05-06 05:19:57,044 - ERROR - x";
        let v = view(line.as_bytes(), compose);
        assert_eq!(&line[v.body..], "2025-05-06 05:19:57,044 - ERROR - x");
        for not in ["api-1 |x", "api-1| x", " api-1 | x", "2026-12-05 10:00:00 | x"] {
            assert_eq!(view(not.as_bytes(), compose).column, None, "{not}");
        }
    }

    /// Docker's json-file objects carry their stamp; pm2's do not.
    #[test]
    fn docker_objects_are_stamped() {
        let line = br#"{"log":"x
","stream":"stderr","time":"2026-12-05T17:20:01.5Z"}"#;
        let v = view(line, Frame::default());
        let (s, e) = v.stamp.expect("stamp");
        assert_eq!((v.json, &line[s..e]), (Json::Docker, &b"2026-12-05T17:20:01.5Z"[..]));
    }

    /// systemd 252's `journalctl -o short-iso` and `short-iso-precise`, as
    /// the lab exported them.
    #[test]
    fn journal_short_iso_prefixes() {
        let frame = Frame { journal_text: true, ..Frame::default() };
        let line = "2026-12-05T17:35:43+0000 vm worker[16274]:     at parseErrorMessage (x.js:1:1)";
        let v = view(line.as_bytes(), frame);
        let ((s, e), (cs, ce)) = (v.stamp.expect("stamp"), v.column.expect("ident"));
        assert_eq!((&line[s..e], &line[cs..ce]), ("2026-12-05T17:35:43+0000", "worker"));
        assert_eq!(&line[v.body..], "    at parseErrorMessage (x.js:1:1)");
        let precise = "2026-12-05T17:35:44.676889+0000 vm kernel: Out of memory: Killed process 4242 (node)";
        let p = journal_text_prefix(precise.as_bytes()).expect("precise");
        assert_eq!(
            (&precise[..p.stamp], &precise[p.ident.0..p.ident.1]),
            ("2026-12-05T17:35:44.676889+0000", "kernel")
        );
        for not in
            ["2026-12-05T17:35:43 vm worker: x", "2026-12-05T17:35:43+0000 vm", "2026-12-05 17:35:43+0000 vm w: x"]
        {
            assert_eq!(journal_text_prefix(not.as_bytes()), None, "{not}");
        }
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
