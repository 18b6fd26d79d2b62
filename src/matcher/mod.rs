//! Matcher: prefilter over whole buffers, then each candidate record's
//! regexes, then captures. Works on units: a rule's own regexes (the start
//! event), for sequence and absence rules the closing event's, and those of
//! each `unless` / `context` entry. Hands
//! on [`Event`]s: one per (record, unit) that matched, with named captures
//! as fields, less the start events of rules that another rule matching
//! the same record supersedes (`supersedes`).
//!
//! Build once with [`Matcher::new`] and clone per worker thread: clones
//! share the compiled automata and regex programs but not the regex
//! scratch space (regex's advice against contention).

#[cfg(test)]
mod gaps;
mod hidden;
mod intern;
pub mod literals;
pub mod prefilter;
#[cfg(test)]
mod props;

use std::collections::HashMap;
use std::sync::Arc;

use crate::input::Stream;
use crate::records::{DayTime, Record};
use crate::rules::{Role, RuleSet, Scope, StreamFilter, UNITS_PER_RULE, UnitId};
use intern::Interner;
pub use prefilter::{Candidate, Hit, HitCursor, Prefilter, Regexes};

/// Longest captured field value kept (characters).
const MAX_FIELD: usize = 240;
/// Evidence text limits: lines, characters per line, characters in all.
const EVIDENCE_LINES: usize = 12;
/// Characters of one line shown in evidence; the rest is cut with `…`.
pub const EVIDENCE_LINE_CHARS: usize = 300;
const EVIDENCE_CHARS: usize = 2000;
/// Bytes of one line decoded for evidence: enough for
/// [`EVIDENCE_LINE_CHARS`] characters of any width (or invalid bytes, one
/// character each), so a 50 MB line costs no more than a short one.
const EVIDENCE_LINE_BYTES: usize = EVIDENCE_LINE_CHARS * 4 + 4;

/// One rule matching one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Dense rule index.
    pub rule: u32,
    /// Whether the record opened the rule's incident or closed it.
    pub role: Role,
    /// Which of its unit's regexes matched, and whether its record made
    /// other events too (see [`Which`]).
    pub shape: Which,
    /// Source id (input order).
    pub source: usize,
    /// 1-based line of the record's first line.
    pub line: u64,
    /// When, in ms since the epoch (none: the file has no timestamps).
    pub ts: Ts,
    /// Where `ts` is None because the file's times are times of day with
    /// no date before them: the time on that file's own clock. Windows
    /// apply among the matches of its file only; it is never compared with
    /// another file's times nor shown as a date (see `records::DayTime`).
    pub day_time: Option<DayTime>,
    /// App: the `app` capture, else the record's own, else the file's.
    pub app: Option<Arc<str>>,
    /// Stream the record came from.
    pub stream: Stream,
    /// Named captures in group order, lossily decoded.
    pub fields: Fields,
    /// The record's text, trimmed for display (shared by the events of
    /// one record).
    pub text: Arc<str>,
}

impl Event {
    /// The record made more than one event (after superseded ones are
    /// dropped): only such a record, or a closing record copied into the
    /// groups it closes, can be held by two incidents and link them.
    pub fn shared(&self) -> bool {
        self.shape.shared()
    }
}

/// Which of its unit's regexes matched a record (0-based, up to
/// [`Which::MAX`]): context entries may apply to some of a rule's regexes
/// only (`for_regex`); and whether the record made more than one event
/// ([`Event::shared`]). One byte: an event has no other room (80 bytes),
/// and the flag is set where a record's events are made, so no later
/// stage has to find a record's other events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Which(u8);

impl Which {
    /// The highest regex index kept; higher ones read as this one.
    pub const MAX: u8 = 0x7f;
    const SHARED: u8 = 0x80;

    /// The `regex`-th of its unit's regexes (saturated at [`Which::MAX`]),
    /// of a record that made no other event.
    pub fn new(regex: usize) -> Which {
        Which(u8::try_from(regex).unwrap_or(Self::MAX).min(Self::MAX))
    }

    /// Which regex, 0-based.
    pub fn regex(self) -> u8 {
        self.0 & Self::MAX
    }

    /// The record made more than one event.
    pub fn shared(self) -> bool {
        self.0 & Self::SHARED != 0
    }

    /// The same, of a record that made other events too (`true`) or not.
    pub fn with_shared(self, shared: bool) -> Which {
        Which(if shared { self.0 | Self::SHARED } else { self.0 & Self::MAX })
    }

    /// Its one byte, as the spill codec writes it.
    pub fn to_byte(self) -> u8 {
        self.0
    }

    /// What [`Which::to_byte`] gave.
    pub fn from_byte(b: u8) -> Which {
        Which(b)
    }
}

impl From<u8> for Which {
    /// The `regex`-th regex (saturated), of a record that made no other
    /// event.
    fn from(regex: u8) -> Which {
        Which::new(usize::from(regex))
    }
}

/// Captured fields: (name, value) in group order. Names are shared with
/// the matcher; a noisy log holds hundreds of thousands of events, so each
/// costs what it must and no more: the events of one source that capture
/// the same values share one set ([`Scratch`]; 256 MiB storm corpus: 577 k
/// events with fields, 160 distinct sets). The set is behind one thin
/// pointer (8 bytes, not a slice's 16): with [`Ts`], an event is 80
/// bytes, not 96.
pub type Fields = Arc<Vec<(Arc<str>, Arc<str>)>>;

/// When a record was written (ms since the epoch), if its file says: an
/// `Option<i64>` in 8 bytes, not 16. A noisy scan holds millions of events
/// (storm corpus, 1 GiB: 5.1 M) until correlation, and this half of the
/// option's room is a tenth of an event. `i64::MIN` stands for none; the
/// time it would be (292 million years before the epoch) is kept as the
/// millisecond after it, which no log writes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ts(i64);

impl Ts {
    /// No time.
    pub const NONE: Ts = Ts(i64::MIN);

    /// The time, if any.
    #[inline]
    pub fn get(self) -> Option<i64> {
        (self.0 != i64::MIN).then_some(self.0)
    }
}

impl Default for Ts {
    fn default() -> Ts {
        Ts::NONE
    }
}

impl From<Option<i64>> for Ts {
    fn from(ts: Option<i64>) -> Ts {
        ts.map_or(Ts::NONE, |ms| Ts(ms.max(i64::MIN + 1)))
    }
}

impl std::fmt::Debug for Ts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// Prefilter plus the rules' regexes.
#[derive(Debug, Clone)]
pub struct Matcher {
    rules: Arc<RuleSet>,
    prefilter: Arc<Prefilter>,
    regexes: Vec<Vec<Unit>>,
    /// Per unit id, the streams it reads: its rule's, except for app-scoped
    /// context entries, whose lines are in the app's other files and
    /// streams (a daemon rule's entry reads the app's error log).
    streams: Vec<StreamFilter>,
    /// Per rule, the rules (dense indices) its start matches supersede on
    /// the same record; all empty for most packs.
    supersedes: Arc<[Vec<u32>]>,
}

/// One regex of a unit and its capture group names.
#[derive(Debug, Clone)]
struct Unit {
    re: regex::bytes::Regex,
    names: Arc<[Option<Arc<str>>]>,
    /// Where its capture slots are in a [`Scratch`] (numbered across all
    /// units' regexes).
    slot: usize,
    /// For a regex that other units have too, the slot of its first
    /// copy: an entry that reuses another rule's regexes (farm breaks
    /// excused by tws.connectivity-lost's 1100), or a rule whose regexes
    /// overlap another's (the 1100 wire text in tws.connectivity-lost and
    /// tws.api-connection-dropped's context), would match each such record
    /// again for the same answer. None for a regex of one unit only.
    shared: Option<usize>,
}

/// What one scan of a source reuses from record to record: the strings
/// its events share, and each regex's capture slots (filled in place
/// rather than allocated per match).
#[derive(Debug, Default)]
pub struct Scratch {
    /// Texts and values the source's events share.
    strings: Interner,
    /// The sets of fields they share.
    sets: Interner<Vec<(Arc<str>, Arc<str>)>>,
    /// The set being captured, before it is shared.
    pairs: Vec<(Arc<str>, Arc<str>)>,
    /// Capture slots by [`Unit::slot`], made on a regex's first match.
    locations: Vec<Option<regex::bytes::CaptureLocations>>,
}

/// Where a record came from, for building events.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// Source id.
    pub source: usize,
    /// 1-based first line.
    pub line: u64,
    /// App from the file name.
    pub app: Option<&'a Arc<str>>,
    /// Stream from the file name.
    pub stream: Stream,
}

impl Matcher {
    /// Compiles the prefilter for `rules`.
    pub fn new(rules: Arc<RuleSet>) -> Matcher {
        let prefilter = Arc::new(Prefilter::build(&rules));
        let mut slots = 0..;
        let unit = |res: &[regex::bytes::Regex]| -> Vec<Unit> {
            res.iter()
                .zip(slots.by_ref())
                .map(|(re, slot)| Unit {
                    re: re.clone(),
                    names: re.capture_names().map(|n| n.map(Arc::from)).collect(),
                    slot,
                    shared: None,
                })
                .collect()
        };
        // Indexed by unit id: every slot of every rule, empty where the rule
        // has no regex for that role.
        let mut regexes: Vec<Vec<Unit>> = rules
            .rules()
            .iter()
            .flat_map(|r| (0..UNITS_PER_RULE).map(|slot| r.regexes_for(UnitId(slot).role())))
            .map(unit)
            .collect();
        let streams = rules
            .rules()
            .iter()
            .flat_map(|r| {
                (0..UNITS_PER_RULE).map(|slot| match UnitId(slot).role() {
                    Role::Context(n) if r.context.get(usize::from(n)).is_some_and(|c| c.scope == Scope::App) => {
                        StreamFilter::ANY
                    }
                    _ => r.streams,
                })
            })
            .collect();
        let supersedes = supersedes_of(&rules);
        share_copies(&mut regexes);
        Matcher { rules, prefilter, regexes, streams, supersedes }
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
    /// fields). Of each unit only the candidate's regexes run: the others
    /// cannot match the record, so the first that matches is the same.
    /// Repeated texts and values share one copy through `scratch`.
    pub fn confirm(
        &self,
        record: &Record,
        candidates: &[Candidate],
        origin: Origin<'_>,
        scratch: &mut Scratch,
        out: &mut Vec<Event>,
    ) {
        let stream = record.stream.unwrap_or(origin.stream);
        let mut text: Option<Arc<str>> = None;
        let first = out.len();
        // What the shared regexes found on this record, by first copy.
        let mut known: Vec<(usize, Option<Fields>)> = Vec::new();
        for &Candidate { unit, regexes } in candidates {
            let id = UnitId(unit);
            if !self.streams[unit as usize].accepts(stream) {
                continue;
            }
            let found = self.regexes[unit as usize]
                .iter()
                .enumerate()
                .filter(|(shape, _)| regexes.has(*shape))
                .find_map(|(shape, u)| Some((shape, capture_once(u, &record.body, scratch, &mut known)?)));
            let Some((shape, fields)) = found else {
                continue;
            };
            let strings = &mut scratch.strings;
            let app = field_arc(&fields, "app")
                .or_else(|| record.app.as_deref().map(|a| strings.get(a)))
                .or_else(|| origin.app.cloned());
            out.push(Event {
                rule: id.rule() as u32,
                role: id.role(),
                shape: Which::new(shape),
                source: origin.source,
                line: origin.line,
                ts: record.ts.into(),
                day_time: record.day_time,
                app,
                stream,
                fields,
                text: text.get_or_insert_with(|| strings.get(&evidence_text(&record.body))).clone(),
            });
        }
        if out.len() - first > 1 {
            drop_superseded(&self.supersedes, out, first);
        }
        if out.len() - first > 1 {
            out[first..].iter_mut().for_each(|e| e.shape = e.shape.with_shared(true));
        }
    }
}

/// Drops from `out[first..]` (the events of one record) the start events
/// of rules that a rule with a start event among them supersedes. Which
/// events go depends only on which rules matched, not on their order.
fn drop_superseded(supersedes: &[Vec<u32>], out: &mut Vec<Event>, first: usize) {
    let starts = out[first..].iter().filter(|e| e.role == Role::Start);
    let gone: Vec<u32> = starts.flat_map(|e| supersedes.get(e.rule as usize).into_iter().flatten().copied()).collect();
    if gone.is_empty() {
        return;
    }
    let mut keep = first;
    for i in first..out.len() {
        if !(out[i].role == Role::Start && gone.contains(&out[i].rule)) {
            out.swap(keep, i);
            keep += 1;
        }
    }
    out.truncate(keep);
}

/// Marks each regex that more than one unit has with the slot of its
/// first copy (see [`Unit::shared`]). The same pattern twice in one unit
/// is shared too: it is the same answer.
fn share_copies(regexes: &mut [Vec<Unit>]) {
    let mut first: HashMap<String, (usize, usize)> = HashMap::new();
    for u in regexes.iter().flatten() {
        first.entry(u.re.as_str().to_string()).or_insert((u.slot, 0)).1 += 1;
    }
    for u in regexes.iter_mut().flatten() {
        u.shared = first.get(u.re.as_str()).filter(|&&(_, n)| n > 1).map(|&(slot, _)| slot);
    }
}

/// [`capture`], once per record for a shared regex: its answer is kept in
/// `known` (by first copy) for the other units that have it.
fn capture_once(
    unit: &Unit,
    body: &[u8],
    scratch: &mut Scratch,
    known: &mut Vec<(usize, Option<Fields>)>,
) -> Option<Fields> {
    let Some(first) = unit.shared else { return capture(unit, body, scratch) };
    if let Some((_, found)) = known.iter().find(|(slot, _)| *slot == first) {
        return found.clone();
    }
    let found = capture(unit, body, scratch);
    known.push((first, found.clone()));
    found
}

/// Per rule, the dense indices of the rules it supersedes that are in
/// `rules` (a subset run by `rules test` may lack them: nothing to drop).
fn supersedes_of(rules: &RuleSet) -> Arc<[Vec<u32>]> {
    let index = |id: &String| rules.rules().iter().position(|r| &r.id == id).map(|i| i as u32);
    rules.rules().iter().map(|r| r.supersedes.iter().filter_map(index).collect()).collect()
}

fn capture(unit: &Unit, body: &[u8], scratch: &mut Scratch) -> Option<Fields> {
    if unit.names.len() == 1 {
        return unit.re.is_match(body).then(|| scratch.sets.get(&Vec::new()));
    }
    if scratch.locations.len() <= unit.slot {
        scratch.locations.resize_with(unit.slot + 1, || None);
    }
    let locs = scratch.locations[unit.slot].get_or_insert_with(|| unit.re.capture_locations());
    unit.re.captures_read(locs, body)?;
    let strings = &mut scratch.strings;
    scratch.pairs.clear();
    scratch.pairs.extend(
        unit.names
            .iter()
            .enumerate()
            .filter_map(|(i, name)| Some((name.as_ref()?, locs.get(i)?)))
            .map(|(name, (start, end))| (name.clone(), field_value(&body[start..end], strings))),
    );
    Some(scratch.sets.get(&scratch.pairs))
}

/// A captured value as kept: trimmed, printable, clipped to [`MAX_FIELD`]
/// characters. Most values are short plain ASCII, taken as they are
/// without a copy on the way to the shared one.
fn field_value(value: &[u8], strings: &mut Interner) -> Arc<str> {
    if let Some(plain) = plain_ascii(value) {
        let plain = plain.trim_ascii();
        if plain.len() <= MAX_FIELD {
            return strings.get(plain);
        }
    }
    strings.get(&clip(&printable(&String::from_utf8_lossy(value)), MAX_FIELD))
}

/// `bytes` as text if they are all printable ASCII or tabs: text that
/// decoding and [`shown`] leave as it is, one character per byte.
fn plain_ascii(bytes: &[u8]) -> Option<&str> {
    if bytes.iter().all(|&b| matches!(b, b' '..=b'~' | b'\t')) { std::str::from_utf8(bytes).ok() } else { None }
}

/// The value of field `name`, if captured.
pub fn field<'a>(fields: &'a [(Arc<str>, Arc<str>)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(n, _)| &**n == name).map(|(_, v)| &**v)
}

fn field_arc(fields: &[(Arc<str>, Arc<str>)], name: &str) -> Option<Arc<str>> {
    fields.iter().find(|(n, _)| &**n == name).map(|(_, v)| v.clone())
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// `s` trimmed, with control characters (ESC, NUL, ...) shown as U+FFFD:
/// text output must not carry a log's terminal escapes to the reader's
/// terminal.
fn printable(s: &str) -> String {
    s.trim().chars().map(shown).collect()
}

fn shown(c: char) -> char {
    if c.is_control() && c != '\t' { '\u{FFFD}' } else { c }
}

/// The record as a person reads it: lossily decoded, control characters
/// shown escaped, long lines and long records cut with a marker. Works on
/// at most [`EVIDENCE_LINE_BYTES`] of each line and the first
/// [`EVIDENCE_LINES`] lines, whatever the record's size.
fn evidence_text(body: &[u8]) -> String {
    let mut out = String::with_capacity(body.len().min(EVIDENCE_CHARS) + 4);
    // As `str::lines`: a final line break ends the last line, not opens one.
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    let mut lines = body.split(|b| *b == b'\n');
    for line in lines.by_ref().take(EVIDENCE_LINES) {
        if !out.is_empty() {
            out.push('\n');
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // A line cut here still has more than EVIDENCE_LINE_CHARS
        // characters, so it is marked as cut.
        push_evidence_line(&mut out, &line[..line.len().min(EVIDENCE_LINE_BYTES)]);
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

/// Appends the first [`EVIDENCE_LINE_CHARS`] characters of `head` (lossily
/// decoded, control characters [`shown`]), and `…` if more follow. Every
/// matched record comes here: a plain ASCII start (most log lines) is
/// copied as it is, without decoding it character by character.
fn push_evidence_line(out: &mut String, head: &[u8]) {
    // The characters kept and one more, to know whether any follow.
    let probe = &head[..head.len().min(EVIDENCE_LINE_CHARS + 1)];
    let cut = match plain_ascii(probe) {
        Some(plain) => {
            out.push_str(&plain[..plain.len().min(EVIDENCE_LINE_CHARS)]);
            head.len() > EVIDENCE_LINE_CHARS
        }
        None => {
            let text = String::from_utf8_lossy(head);
            let mut chars = text.chars();
            out.extend(chars.by_ref().take(EVIDENCE_LINE_CHARS).map(shown));
            chars.next().is_some()
        }
    };
    if cut {
        out.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A time gives back what it was made of: none apart from every time,
    /// 0 and -1 apart from none; the one time it cannot hold (the sentinel)
    /// is kept as the millisecond after it. An event stays 80 bytes.
    #[test]
    fn a_time_keeps_what_it_was_made_of() {
        for ts in [None, Some(0), Some(-1), Some(1), Some(1_795_168_800_000), Some(i64::MAX), Some(i64::MIN + 1)] {
            assert_eq!(Ts::from(ts).get(), ts);
            assert_eq!(format!("{:?}", Ts::from(ts)), format!("{ts:?}"));
        }
        assert_eq!(Ts::from(Some(i64::MIN)).get(), Some(i64::MIN + 1));
        assert_eq!(Ts::default(), Ts::NONE);
        assert_eq!(std::mem::size_of::<Event>(), 80);
    }

    #[test]
    fn evidence_is_trimmed_and_marked() {
        let body: String = (0..20).map(|i| format!("    at frame {i}\n")).collect();
        let text = evidence_text(body.trim_end().as_bytes());
        assert_eq!(text.lines().count(), EVIDENCE_LINES + 1);
        assert!(text.ends_with("… 8 more lines"));
        assert_eq!(evidence_text(b"bad \xff byte\x07"), "bad \u{FFFD} byte\u{FFFD}");
    }

    #[test]
    fn evidence_of_a_huge_line_is_its_start() {
        let mut body = b"Error: listen EADDRINUSE ".to_vec();
        body.resize(50 << 20, b'x');
        let text = evidence_text(&body);
        assert_eq!(text.chars().count(), EVIDENCE_LINE_CHARS + 1);
        assert!(text.starts_with("Error: listen EADDRINUSE xxx") && text.ends_with("x…"), "{text}");
        // Cut in the middle of a multi-byte character: still 300 characters.
        let wide = "é".repeat(EVIDENCE_LINE_BYTES);
        assert_eq!(evidence_text(wide.as_bytes()).chars().count(), EVIDENCE_LINE_CHARS + 1);
    }

    /// The rule naming the cause drops the generic rule's start match on
    /// the same record, whatever order the units run in; the generic rule
    /// alone (`rules test`) still matches, and closing matches stay.
    #[test]
    fn a_superseding_rule_drops_the_generic_start_on_its_record() {
        let pack = r#"
[[rule]]
id = "x.generic"
title = "t"
severity = "high"
regex = 'Error: (?P<error>.+)'
correlate = { kind = "absence", until = 'EADDRINUSE cleared', window = "1m" }
fix = "f"

[[rule]]
id = "x.port"
title = "t"
severity = "high"
regex = 'EADDRINUSE'
supersedes = ["x.generic"]
fix = "f"
"#;
        let rules = crate::rules::compile_all(&[("t.toml".into(), pack.into())]).expect("rules");
        let record =
            |body: &str| Record { body: body.as_bytes().to_vec(), ts: None, day_time: None, app: None, stream: None };
        let origin = Origin { source: 0, line: 1, app: None, stream: Stream::Err };
        let run = |rules: &RuleSet, body: &str, units: &[u32]| {
            let units: Vec<Candidate> = units.iter().map(|&u| Candidate::all(u)).collect();
            let m = Matcher::new(Arc::new(rules.clone()));
            let mut out = Vec::new();
            m.confirm(&record(body), &units, origin, &mut Scratch::default(), &mut out);
            out.iter().map(|e| (rules.rules()[e.rule as usize].id.clone(), e.role)).collect::<Vec<_>>()
        };
        let all = rules.units();
        let port = || ("x.port".to_string(), Role::Start);
        assert_eq!(run(&rules, "Error: listen EADDRINUSE :::3000", &all), [port()]);
        let mut reversed = all.clone();
        reversed.reverse();
        assert_eq!(run(&rules, "Error: listen EADDRINUSE :::3000", &reversed), [port()]);
        assert_eq!(run(&rules, "Error: ECONNREFUSED", &all), [("x.generic".to_string(), Role::Start)]);
        // A closing match of the superseded rule is not a report: it stays.
        let closed = run(&rules, "Error: EADDRINUSE cleared", &all);
        assert_eq!(closed, [("x.generic".to_string(), Role::End), port()]);
        let alone = rules.subset(&[0]);
        assert_eq!(run(&alone, "Error: listen EADDRINUSE", &alone.units()), [("x.generic".to_string(), Role::Start)]);
    }

    /// The plain-ASCII shortcuts give what decoding every character gives:
    /// at the cut (300 characters, 240 for a field), with DEL and other
    /// controls, tabs, edge spaces and non-ASCII text before or after it.
    #[test]
    fn ascii_shortcuts_agree_with_decoding() {
        let decoded_line = |head: &[u8]| {
            let clean: String = String::from_utf8_lossy(head).chars().map(shown).collect();
            clip(&clean, EVIDENCE_LINE_CHARS)
        };
        let decoded_field = |v: &[u8]| clip(&printable(&String::from_utf8_lossy(v)), MAX_FIELD);
        let mut cases: Vec<Vec<u8>> = vec![b"".to_vec(), b"\tx \x7f".to_vec(), b" a\tb ".to_vec(), "é x".into()];
        for n in [239, 240, 241, 242, 299, 300, 301, 302, 1300] {
            cases.push(vec![b'x'; n]);
            for tail in [&b"\x01"[..], "é".as_bytes(), b"\xff", b" "] {
                let mut c = vec![b'x'; n];
                c.extend_from_slice(tail);
                cases.push(c.clone());
                c.insert(0, b' ');
                cases.push(c);
            }
        }
        let mut strings = Interner::default();
        for c in &cases {
            let head = &c[..c.len().min(EVIDENCE_LINE_BYTES)];
            let mut line = String::new();
            push_evidence_line(&mut line, head);
            assert_eq!(line, decoded_line(head), "{c:?}");
            assert_eq!(&*field_value(c, &mut strings), decoded_field(c), "{c:?}");
        }
    }

    /// A regex that several units have (an entry that reuses another
    /// rule's regexes, rules whose regexes overlap) runs once per record,
    /// and each unit still gets its event with the fields of its own first
    /// regex that matches; a regex of one unit only runs on its own.
    #[test]
    fn units_with_the_same_regexes_share_one_run() {
        let pack = r#"
[[rule]]
id = "x.lost"
title = "t"
severity = "high"
regex = ['code (?P<code>1100)', 'lost']
fix = "f"

[[rule]]
id = "x.farm"
title = "t"
severity = "high"
regex = 'farm broken'
unless = [
  { regex = ['code (?P<code>1100)', 'lost'], within = "1m" },
  { regex = ['farm gone', 'lost', 'code (?P<code>1100)'], within = "1m" },
]
fix = "f"
"#;
        let rules = crate::rules::compile_all(&[("t.toml".into(), pack.into())]).expect("rules");
        let m = Matcher::new(Arc::new(rules.clone()));
        let shared = |rule: usize, role: Role| -> Vec<Option<usize>> {
            m.regexes[UnitId::new(rule, role).0 as usize].iter().map(|u| u.shared).collect()
        };
        let first = &m.regexes[UnitId::new(0, Role::Start).0 as usize];
        let (code, lost) = (Some(first[0].slot), Some(first[1].slot));
        assert_eq!(shared(0, Role::Start), [code, lost]);
        assert_eq!(shared(1, Role::Context(0)), [code, lost]);
        assert_eq!(shared(1, Role::Start), [None]);
        // In another order, with a regex of its own: its own first match.
        assert_eq!(shared(1, Role::Context(1)), [None, lost, code]);
        let origin = Origin { source: 0, line: 1, app: None, stream: Stream::Err };
        let units: Vec<Candidate> = rules.units().into_iter().map(Candidate::all).collect();
        let run = |body: &[u8]| {
            let record = Record { body: body.to_vec(), ts: None, day_time: None, app: None, stream: None };
            let mut out = Vec::new();
            m.confirm(&record, &units, origin, &mut Scratch::default(), &mut out);
            out.iter()
                .map(|e| (e.rule, e.role, e.shape.regex(), field(&e.fields, "code").map(str::to_string)))
                .collect::<Vec<_>>()
        };
        let code = Some("1100".to_string());
        assert_eq!(
            run(b"code 1100 lost"),
            [(0, Role::Start, 0, code.clone()), (1, Role::Context(0), 0, code.clone()), (1, Role::Context(1), 1, None),]
        );
        assert_eq!(
            run(b"code 1100 farm gone"),
            [(0, Role::Start, 0, code.clone()), (1, Role::Context(0), 0, code.clone()), (1, Role::Context(1), 0, None),]
        );
    }

    /// Records that capture the same values share one set of fields (a
    /// storm's events hold a handful of distinct sets between them); other
    /// values get their own, and a regex without captures shares the empty
    /// one.
    #[test]
    fn equal_captures_share_one_set_of_fields() {
        let re = regex::bytes::Regex::new(r"code (?P<code>\d+)").expect("regex");
        let unit = Unit { names: re.capture_names().map(|n| n.map(Arc::from)).collect(), re, slot: 0, shared: None };
        let bare = regex::bytes::Regex::new(r"lost").expect("regex");
        let bare =
            Unit { names: bare.capture_names().map(|n| n.map(Arc::from)).collect(), re: bare, slot: 1, shared: None };
        let mut scratch = Scratch::default();
        let a = capture(&unit, b"code 1100 lost", &mut scratch).expect("match");
        let b = capture(&unit, b"again code 1100", &mut scratch).expect("match");
        let c = capture(&unit, b"code 1102", &mut scratch).expect("match");
        assert_eq!(&a[..], &[(Arc::from("code"), Arc::from("1100"))]);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&c[..], &[(Arc::from("code"), Arc::from("1102"))]);
        assert!(!Arc::ptr_eq(&a, &c));
        let none = capture(&bare, b"code 1100 lost", &mut scratch).expect("match");
        assert!(none.is_empty());
        assert!(Arc::ptr_eq(&none, &capture(&bare, b"lost again", &mut scratch).expect("match")));
    }

    #[test]
    fn captured_fields_carry_no_control_characters() {
        let re = regex::bytes::Regex::new(r"in use (?P<address>\S*?):(?P<port>\d+)").expect("regex");
        let unit = Unit { names: re.capture_names().map(|n| n.map(Arc::from)).collect(), re, slot: 3, shared: None };
        let fields =
            capture(&unit, b"listen EADDRINUSE: address already in use \x1b[31m:::3001", &mut Scratch::default())
                .expect("match");
        assert_eq!(fields[0], ("address".into(), "\u{FFFD}[31m::".into()));
    }
}
