//! The JSON envelopes other log writers put around each line, and what a
//! record takes from them: Docker's json-file driver and `journalctl -o
//! json`. (pm2's own `log_type: json` objects are read in `records`.)
//!
//! **Docker** (moby `daemon/logger/jsonfilelog/jsonlog/jsonlogbytes.go`,
//! `MarshalJSONBuf`): one object per line of the container's output,
//! written in a fixed key order `log`, `stream`, `attrs` (only with
//! `--log-opt labels/env`), `time` (RFC 3339 with nanoseconds, UTC):
//! `{"log":"Error: boom\n","stream":"stderr","time":"2026-12-05T17:20:01.123456789Z"}`.
//! A line longer than 16 KiB is written as several objects, all but the
//! last without the trailing `\n` (a partial line). Each object is one
//! line of text, so a stack trace is many objects: they are joined into
//! records like plain lines, on the escaped text between `"log":"` and
//! `","stream"`, which is cheap to find; only the records that matter are
//! decoded.
//!
//! **journald** (`journalctl -o json`, systemd 252 here): one object per
//! journal entry, keys in no fixed order (`__CURSOR` is not first), every
//! value a string, `MESSAGE` possibly an array of bytes (not UTF-8, or
//! binary) or `null`. An entry is one message, its lines kept: a record
//! of its own. Its time is `__REALTIME_TIMESTAMP` (microseconds since the
//! epoch), its app the container, unit or syslog identifier, and its
//! stream `err` for `PRIORITY` 0 to 3 (emerg to err), else `out`.

use memchr::memmem;
use serde::Deserialize;
use serde_json::Value;

use crate::input::Stream;

/// Where the `time` value of a Docker object is in `line`: the quoted
/// text after the last `"time":"`.
pub fn docker_time(line: &[u8]) -> Option<(usize, usize)> {
    let key = memmem::rfind(line, b"\"time\":\"")? + 8;
    let len = memchr::memchr(b'"', &line[key..])?;
    Some((key, key + len))
}

/// The still-escaped text of a Docker object's `log` value, without its
/// line break, and whether the object is a partial line (its text goes on
/// in the next object). None if `line` is not a whole object.
pub fn docker_text(line: &[u8]) -> Option<(&[u8], bool)> {
    let body = line.strip_prefix(b"{\"log\":\"")?;
    let end = memmem::rfind(body, b"\",\"stream\":\"").or_else(|| memmem::rfind(body, b"\",\"time\":\""))?;
    let text = &body[..end];
    match text.strip_suffix(b"\\n") {
        Some(t) => Some((t.strip_suffix(b"\\r").unwrap_or(t), false)),
        None => Some((text, true)),
    }
}

/// Returns true if and only if the record text `record` (whole lines of a
/// json-file log) glues a partial line to the next: a literal may then
/// straddle two objects, where no search of the raw bytes finds it.
pub fn glues_partial_lines(record: &[u8]) -> bool {
    let mut lines = record.split(|b| *b == b'\n');
    let Some(mut line) = lines.next() else { return false };
    for next in lines {
        if docker_text(line).is_some_and(|(_, partial)| partial) {
            return true;
        }
        line = next;
    }
    false
}

/// What a record takes from one Docker object.
#[derive(Debug, Deserialize)]
pub struct DockerLine {
    /// The line, with its `\n` unless partial.
    #[serde(default)]
    pub log: String,
    /// `stdout` or `stderr`.
    #[serde(default)]
    pub stream: Option<String>,
}

impl DockerLine {
    /// Decodes `line`; None when it is not a Docker object after all.
    pub fn decode(line: &[u8]) -> Option<DockerLine> {
        serde_json::from_slice(line).ok()
    }

    /// The pm2-style stream its `stream` names.
    pub fn stream(&self) -> Option<Stream> {
        match self.stream.as_deref() {
            Some("stderr") => Some(Stream::Err),
            Some("stdout") => Some(Stream::Out),
            _ => None,
        }
    }

    /// The text without its line break, and whether the line goes on in
    /// the next object.
    pub fn text(&self) -> (&str, bool) {
        match self.log.strip_suffix('\n') {
            Some(t) => (t.strip_suffix('\r').unwrap_or(t), false),
            None => (&self.log, true),
        }
    }
}

/// Returns true if and only if `line` looks like an entry of a
/// `journalctl -o json` export (asked only of a file's first lines).
pub fn is_journal_line(line: &[u8]) -> bool {
    line.starts_with(b"{\"")
        && memmem::find(line, b"\"__CURSOR\":\"").is_some()
        && memmem::find(line, b"\"__REALTIME_TIMESTAMP\":\"").is_some()
}

/// What a record takes from one journal entry.
#[derive(Debug, Deserialize)]
pub struct JournalEntry {
    #[serde(rename = "MESSAGE", default)]
    message: Value,
    #[serde(rename = "__REALTIME_TIMESTAMP", default)]
    realtime: Option<String>,
    #[serde(rename = "PRIORITY", default)]
    priority: Option<String>,
    #[serde(rename = "CONTAINER_NAME", default)]
    container: Option<String>,
    #[serde(rename = "_SYSTEMD_UNIT", default)]
    unit: Option<String>,
    #[serde(rename = "SYSLOG_IDENTIFIER", default)]
    identifier: Option<String>,
}

impl JournalEntry {
    /// Decodes `line`; None when it is not a journal entry after all.
    pub fn decode(line: &[u8]) -> Option<JournalEntry> {
        serde_json::from_slice(line).ok()
    }

    /// The message as bytes: a string, or the byte array journald exports
    /// for a message that is not valid UTF-8; empty for `null`.
    pub fn message(&self) -> Vec<u8> {
        match &self.message {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Array(bytes) => bytes.iter().filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect(),
            _ => Vec::new(),
        }
    }

    /// When it was written, in ms since the epoch.
    pub fn time_ms(&self) -> Option<i64> {
        let us: i64 = self.realtime.as_deref()?.parse().ok()?;
        Some(us.div_euclid(1000))
    }

    /// The app: a Docker container logging to journald, else the systemd
    /// unit (`caddy.service` is `caddy`), else the syslog identifier.
    pub fn app(&self) -> Option<String> {
        if let Some(c) = self.container.as_deref().filter(|c| !c.is_empty()) {
            return Some(c.to_string());
        }
        let unit = self.unit.as_deref().filter(|u| !u.is_empty() && !u.ends_with(".scope"));
        if let Some(u) = unit {
            return Some(u.strip_suffix(".service").unwrap_or(u).to_string());
        }
        self.identifier.clone().filter(|i| !i.is_empty())
    }

    /// `err` for priorities emerg to err (0 to 3), `out` for the others.
    pub fn stream(&self) -> Option<Stream> {
        let p: u8 = self.priority.as_deref()?.parse().ok()?;
        Some(if p <= 3 { Stream::Err } else { Stream::Out })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STDERR: &[u8] =
        br#"{"log":"    at x (/app/a.js:1:1)\n","stream":"stderr","time":"2026-12-05T17:20:01.123456789Z"}"#;

    #[test]
    fn docker_text_and_time_are_found_without_decoding() {
        let (text, partial) = docker_text(STDERR).expect("docker");
        assert_eq!((text, partial), (&b"    at x (/app/a.js:1:1)"[..], false));
        let (s, e) = docker_time(STDERR).expect("time");
        assert_eq!(&STDERR[s..e], b"2026-12-05T17:20:01.123456789Z");
        let with_attrs = br#"{"log":"a\"b\r\n","stream":"stdout","attrs":{"tag":"x"},"time":"2026-12-05T17:20:01Z"}"#;
        assert_eq!(docker_text(with_attrs), Some((&br#"a\"b"#[..], false)));
        let partial = br#"{"log":"xxxx","stream":"stdout","time":"2026-12-05T17:20:01Z"}"#;
        assert_eq!(docker_text(partial), Some((&b"xxxx"[..], true)));
        assert_eq!(docker_text(br#"{"log":"cut short"#), None);
    }

    #[test]
    fn partial_lines_are_seen_in_records() {
        let whole = [STDERR, b"\n", STDERR].concat();
        assert!(!glues_partial_lines(&whole));
        let partial = br#"{"log":"Error: conn","stream":"stderr","time":"2026-12-05T17:20:01Z"}"#;
        assert!(glues_partial_lines(&[&partial[..], b"\n", STDERR].concat()));
        assert!(!glues_partial_lines(partial), "a last line has nothing to glue to");
    }

    #[test]
    fn docker_lines_decode() {
        let l = DockerLine::decode(STDERR).expect("decode");
        assert_eq!((l.text(), l.stream()), (("    at x (/app/a.js:1:1)", false), Some(Stream::Err)));
    }

    /// As systemd 252's `journalctl -o json` wrote it (keys in its order,
    /// `__CURSOR` not first), and a message exported as bytes.
    #[test]
    fn journal_entries_decode() {
        let line = br#"{"SYSLOG_IDENTIFIER":"redis-server","__CURSOR":"s=d4;i=15a","MESSAGE":"oops","__REALTIME_TIMESTAMP":"1796490993894210","PRIORITY":"3","_SYSTEMD_UNIT":"redis-server.service"}"#;
        assert!(is_journal_line(line));
        let e = JournalEntry::decode(line).expect("entry");
        assert_eq!(
            (e.message(), e.time_ms(), e.app(), e.stream()),
            (b"oops".to_vec(), Some(1_796_490_993_894), Some("redis-server".into()), Some(Stream::Err))
        );
        let bytes = br#"{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1","MESSAGE":[104,105,255],"PRIORITY":"6","SYSLOG_IDENTIFIER":"bot","_SYSTEMD_UNIT":"session-1.scope"}"#;
        let e = JournalEntry::decode(bytes).expect("entry");
        assert_eq!((e.message(), e.app(), e.stream()), (vec![104, 105, 255], Some("bot".into()), Some(Stream::Out)));
        assert!(!is_journal_line(br#"{"level":30,"msg":"__CURSOR"}"#));
    }
}
