//! Matcher: prefilter over whole buffers, then each candidate record's
//! regexes, then captures. Works on units: a rule's own regexes (the start
//! event) and, for sequence and absence rules, the closing event's. Hands
//! on [`Event`]s: one per (record, unit) that matched, with named captures
//! as fields.
//!
//! Build once with [`Matcher::new`] and clone per worker thread: clones
//! share the compiled automata and regex programs but not the regex
//! scratch space (regex's advice against contention).

mod hidden;
pub mod literals;
pub mod prefilter;

use std::sync::Arc;

use crate::input::Stream;
use crate::records::Record;
use crate::rules::{Role, RuleSet, UnitId};
pub use prefilter::{Hit, HitCursor, Prefilter};

/// Longest captured field value kept (characters).
const MAX_FIELD: usize = 240;
/// Evidence text limits: lines, characters per line, characters in all.
const EVIDENCE_LINES: usize = 12;
const EVIDENCE_LINE_CHARS: usize = 300;
const EVIDENCE_CHARS: usize = 2000;

/// One rule matching one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Dense rule index.
    pub rule: u32,
    /// Whether the record opened the rule's incident or closed it.
    pub role: Role,
    /// Source id (input order).
    pub source: usize,
    /// 1-based line of the record's first line.
    pub line: u64,
    /// When, in ms since the epoch (None: the file has no timestamps).
    pub ts: Option<i64>,
    /// App: the `app` capture, else the record's own, else the file's.
    pub app: Option<String>,
    /// Stream the record came from.
    pub stream: Stream,
    /// Named captures in group order, lossily decoded.
    pub fields: Vec<(String, String)>,
    /// The record's text, trimmed for display.
    pub text: String,
}

/// Prefilter plus the rules' regexes.
#[derive(Debug, Clone)]
pub struct Matcher {
    rules: Arc<RuleSet>,
    prefilter: Arc<Prefilter>,
    regexes: Vec<Vec<regex::bytes::Regex>>,
}

/// Where a record came from, for building events.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// Source id.
    pub source: usize,
    /// 1-based first line.
    pub line: u64,
    /// App from the file name.
    pub app: Option<&'a str>,
    /// Stream from the file name.
    pub stream: Stream,
}

impl Matcher {
    /// Compiles the prefilter for `rules`.
    pub fn new(rules: Arc<RuleSet>) -> Matcher {
        let prefilter = Arc::new(Prefilter::build(&rules));
        let regexes = rules
            .rules()
            .iter()
            .flat_map(|r| [r.regexes_for(Role::Start).to_vec(), r.regexes_for(Role::End).to_vec()])
            .collect();
        Matcher { rules, prefilter, regexes }
    }

    /// The prefilter (to search buffers and list unfiltered rules).
    pub fn prefilter(&self) -> &Prefilter {
        &self.prefilter
    }

    /// The rules.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Runs the candidate units on `record`, pushing one event per unit
    /// that matches (the first of its regexes that matches decides the
    /// fields).
    pub fn confirm(&self, record: &Record, candidates: &[u32], origin: Origin<'_>, out: &mut Vec<Event>) {
        let stream = record.stream.unwrap_or(origin.stream);
        let mut text: Option<String> = None;
        for &unit in candidates {
            let id = UnitId(unit);
            let rule = &self.rules.rules()[id.rule()];
            if !rule.streams.accepts(stream) {
                continue;
            }
            let Some(fields) = self.regexes[unit as usize].iter().find_map(|re| capture(re, &record.body)) else {
                continue;
            };
            let app = field(&fields, "app")
                .map(str::to_string)
                .or_else(|| record.app.clone())
                .or_else(|| origin.app.map(str::to_string));
            out.push(Event {
                rule: id.rule() as u32,
                role: id.role(),
                source: origin.source,
                line: origin.line,
                ts: record.ts,
                app,
                stream,
                fields,
                text: text.get_or_insert_with(|| evidence_text(&record.body)).clone(),
            });
        }
    }
}

fn capture(re: &regex::bytes::Regex, body: &[u8]) -> Option<Vec<(String, String)>> {
    if re.captures_len() == 1 {
        return re.is_match(body).then(Vec::new);
    }
    let caps = re.captures(body)?;
    let fields = re
        .capture_names()
        .enumerate()
        .filter_map(|(i, name)| Some((name?, caps.get(i)?)))
        .map(|(name, m)| (name.to_string(), clip(String::from_utf8_lossy(m.as_bytes()).trim(), MAX_FIELD)))
        .collect();
    Some(fields)
}

/// The value of field `name`, if captured.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The record as a person reads it: lossily decoded, control characters
/// shown escaped, long lines and long records cut with a marker.
fn evidence_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut lines = text.lines();
    for line in lines.by_ref().take(EVIDENCE_LINES) {
        if !out.is_empty() {
            out.push('\n');
        }
        let clean: String = line.chars().map(|c| if c.is_control() && c != '\t' { '\u{FFFD}' } else { c }).collect();
        out.push_str(&clip(&clean, EVIDENCE_LINE_CHARS));
        if out.len() > EVIDENCE_CHARS {
            out = clip(&out, EVIDENCE_CHARS);
            break;
        }
    }
    let rest = lines.count();
    if rest > 0 {
        out.push_str(&format!("\n… {rest} more line{}", if rest == 1 { "" } else { "s" }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_trimmed_and_marked() {
        let body: String = (0..20).map(|i| format!("    at frame {i}\n")).collect();
        let text = evidence_text(body.trim_end().as_bytes());
        assert_eq!(text.lines().count(), EVIDENCE_LINES + 1);
        assert!(text.ends_with("… 8 more lines"));
        assert_eq!(evidence_text(b"bad \xff byte\x07"), "bad \u{FFFD} byte\u{FFFD}");
    }
}
