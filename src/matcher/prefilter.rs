//! One search over the whole buffer for every rule's literals. Hands on
//! [`Hit`]s: (offset, rule) pairs in offset order. A record with no hit for
//! a rule never runs that rule's regex.
//!
//! Every literal of every rule must be found, also one inside another
//! (`ECONNREFUSED` inside `connect ECONNREFUSED`): a leftmost search
//! resumes after a match and would lose it. But only a leftmost search can
//! use aho-corasick's packed (SIMD) searcher: on the bench corpus it ran at
//! 12-17 GB/s where the overlapping search walked every byte at 0.7 GB/s.
//! So the search is two-step: a leftmost-first search finds the next line
//! holding any literal (it reports the leftmost match start at or after
//! the position, so it cannot skip such a line), then an overlapping
//! search over that line alone reports every literal in it. Literals never
//! contain a line break (see [`super::literals`]), so a line holds each hit
//! whole. Identical literals are merged so one pattern carries every rule
//! that uses it. Lines whose colour codes or JSON escapes split a literal
//! are searched again as the regexes will see them (`matcher/hidden.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};

use super::hidden;
use super::literals::{self, Literal};
use crate::rules::{Role, Rule, RuleSet, UnitId};

/// A literal of a matcher unit (a rule's start, end or context regexes,
/// see [`UnitId`]) starts at byte `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    /// Offset in the buffer.
    pub at: usize,
    /// The unit ([`UnitId`]'s number).
    pub unit: u32,
}

/// Walks a buffer's sorted hits alongside its records, which come in
/// buffer order: each record takes the hits inside it.
#[derive(Debug)]
pub struct HitCursor<'a> {
    hits: &'a [Hit],
    next: usize,
}

impl<'a> HitCursor<'a> {
    /// Starts before the first hit.
    pub fn new(hits: &'a [Hit]) -> HitCursor<'a> {
        HitCursor { hits, next: 0 }
    }

    /// Sets `out` to the units a record spanning `start..end` must run:
    /// `always` plus the units with a hit inside it, sorted, each once.
    /// Records must be asked for in buffer order.
    pub fn candidates(&mut self, start: usize, end: usize, always: &[u32], out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(always);
        while let Some(hit) = self.hits.get(self.next).filter(|h| h.at < end) {
            if hit.at >= start {
                out.push(hit.unit);
            }
            self.next += 1;
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// The compiled literal search.
#[derive(Debug, Clone)]
pub struct Prefilter {
    searchers: Vec<Searcher>,
    unfiltered: Vec<u32>,
}

/// One literal set (case-sensitive or not) in its automata, built from the
/// same list so pattern ids agree.
#[derive(Debug, Clone)]
struct Searcher {
    /// Leftmost-first, one per group of at most [`PACKED_LIMIT`] literals:
    /// each finds the next line holding one of its literals.
    next: Vec<LineFinder>,
    /// Standard semantics: every literal in that line, overlapping.
    all: AhoCorasick,
    /// Pattern id → units that own the literal.
    owners: Vec<Vec<u32>>,
}

impl Prefilter {
    /// Builds the automata for `rules`. Units with no usable literal are
    /// returned by [`Prefilter::unfiltered`] and run on every record.
    pub fn build(rules: &RuleSet) -> Prefilter {
        let (by_literal, mut unfiltered) = literal_table(rules);
        let mut searchers = Vec::new();
        for ci in [false, true] {
            let (lits, owners): (Vec<Vec<u8>>, Vec<Vec<u32>>) =
                by_literal.iter().filter(|(l, _)| l.ci() == ci).map(|(l, o)| (l.bytes.clone(), o.clone())).unzip();
            if lits.is_empty() {
                continue;
            }
            let build = |kind, pats: &[Vec<u8>]| {
                AhoCorasickBuilder::new().match_kind(kind).ascii_case_insensitive(ci).build(pats)
            };
            // Lines are found by an anchor piece of each literal (fewer,
            // rarer patterns: fewer passes and fewer false starts inside
            // Teddy); `all` then finds the whole literals in that line.
            let finders = if ci { lits.clone() } else { anchors(&lits) };
            let next: Result<Vec<LineFinder>, _> =
                finders.chunks(PACKED_LIMIT).map(|group| LineFinder::new(group, ci)).collect();
            match (next, build(MatchKind::Standard, &lits)) {
                (Ok(next), Ok(all)) => searchers.push(Searcher { next, all, owners }),
                // Only absurd pattern sets fail to build; fall back to
                // running their rules on every record rather than losing them.
                _ => unfiltered.extend(owners.into_iter().flatten()),
            }
        }
        unfiltered.sort_unstable();
        unfiltered.dedup();
        Prefilter { searchers, unfiltered }
    }

    /// Units that run on every record.
    pub fn unfiltered(&self) -> &[u32] {
        &self.unfiltered
    }

    /// Appends every hit in `haystack` to `out`, sorted by offset.
    pub fn hits(&self, haystack: &[u8], out: &mut Vec<Hit>) {
        for s in &self.searchers {
            s.hits(haystack, out);
        }
        self.hidden_hits(haystack, out);
        out.sort_unstable();
        out.dedup();
    }

    /// Hits in the text a line shows once its colour codes and JSON
    /// escapes are gone (see `hidden.rs`): each is placed at the line's
    /// start, which lies inside the record holding the line. The lines'
    /// visible forms are gathered into one buffer and searched like a
    /// file, so a coloured log keeps the packed search (one overlapping
    /// search per line was five times slower on a NestJS-style log).
    fn hidden_hits(&self, haystack: &[u8], out: &mut Vec<Hit>) {
        let mut batch = HiddenBatch::default();
        for (start, end) in hidden::HiddenLines::new(haystack) {
            batch.lines.push((batch.text.len(), start));
            hidden::push_visible_forms(&haystack[start..end], &mut batch.text, &mut batch.scratch);
            if batch.text.len() >= HIDDEN_BATCH {
                self.flush_hidden(&mut batch, out);
            }
        }
        self.flush_hidden(&mut batch, out);
    }

    fn flush_hidden(&self, batch: &mut HiddenBatch, out: &mut Vec<Hit>) {
        batch.hits.clear();
        for s in &self.searchers {
            s.hits(&batch.text, &mut batch.hits);
        }
        for hit in &batch.hits {
            // The line whose forms hold the hit: the last one starting at
            // or before it (the first starts at 0).
            let i = batch.lines.partition_point(|&(at, _)| at <= hit.at).saturating_sub(1);
            if let Some(&(_, line_start)) = batch.lines.get(i) {
                out.push(Hit { at: line_start, unit: hit.unit });
            }
        }
        batch.text.clear();
        batch.lines.clear();
    }
}

/// Visible forms of hidden lines waiting to be searched.
#[derive(Default)]
struct HiddenBatch {
    /// The forms, each ended by `\n`.
    text: Vec<u8>,
    /// (offset in `text` where a line's forms start, the line's start in
    /// the haystack), in order.
    lines: Vec<(usize, usize)>,
    scratch: Vec<u8>,
    hits: Vec<Hit>,
}

/// Bytes of visible forms searched at once: bounds the copy's memory on a
/// mapped file that is coloured throughout.
const HIDDEN_BATCH: usize = 1 << 20;

/// The piece of each literal that finds its lines: at most [`ANCHOR_LEN`]
/// bytes, starting where the bytes Teddy fingerprints are rarest in logs.
/// Every line holding a literal holds its anchor, so nothing is lost; a
/// line holding only an anchor costs one overlapping scan of that line.
///
/// Fewer distinct anchors mean fewer packed passes over every byte (at most
/// [`PACKED_LIMIT`] patterns a pass), so among the pieces nearly as rare as
/// the rarest ([`SHARE_SLACK`]) the one most other literals also hold is
/// taken: `code: 1100` and `node: 1100` both give `de: 1100` rather than
/// each its own first eight bytes (built-in pack: 198 anchors, four
/// passes, without this; 174 and three with it).
fn anchors(lits: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let holders = window_holders(lits);
    let mut out: Vec<Vec<u8>> = lits.iter().map(|l| anchor_of(l, &holders).to_vec()).collect();
    out.sort();
    out.dedup();
    out
}

/// For every piece an anchor can be (each literal's windows of every anchor
/// length in use), how many literals hold it.
fn window_holders(lits: &[Vec<u8>]) -> HashMap<&[u8], usize> {
    let lens: BTreeSet<usize> = lits.iter().map(|l| l.len().min(ANCHOR_LEN)).collect();
    let mut holders: HashMap<&[u8], usize> = HashMap::new();
    for lit in lits {
        let mine: BTreeSet<&[u8]> = lens.iter().filter(|&&n| n <= lit.len()).flat_map(|&n| lit.windows(n)).collect();
        for w in mine {
            *holders.entry(w).or_default() += 1;
        }
    }
    holders
}

/// `lit`'s anchor, given how many literals hold each piece (see [`anchors`]).
fn anchor_of<'l>(lit: &'l [u8], holders: &HashMap<&[u8], usize>) -> &'l [u8] {
    let len = lit.len().min(ANCHOR_LEN);
    let cost = |i: usize| lit[i..].iter().take(FINGERPRINT).map(|&b| u32::from(rank(b))).sum::<u32>();
    let starts = 0..=lit.len() - len;
    let Some(best) = starts.clone().map(cost).min() else { return lit };
    let shared = |i: usize| holders.get(&lit[i..i + len]).copied().unwrap_or(0);
    let start = starts
        .filter(|&i| cost(i) <= best + SHARE_SLACK)
        .max_by_key(|&i| (shared(i), std::cmp::Reverse(cost(i)), std::cmp::Reverse(i)))
        .unwrap_or(0);
    &lit[start..start + len]
}

/// How much less rare (in [`rank`] units over the fingerprint) a shared
/// anchor may be than a literal's rarest piece: about one capital letter
/// traded for a lower-case one.
const SHARE_SLACK: u32 = 40;

/// Anchor length: long enough to be rare, short enough to be shared.
const ANCHOR_LEN: usize = 8;
/// Leading bytes of a pattern that Teddy's buckets are built from.
const FINGERPRINT: usize = 3;

/// How common a byte is in pm2 logs (higher: more common): prose letters,
/// digits, spaces and the punctuation of timestamps and JSON are
/// everywhere; capitals and brackets less so; the rest is rare.
fn rank(b: u8) -> u8 {
    match b {
        b' ' => 255,
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 240,
        b'0'..=b'9' => 230,
        b'a'..=b'z' => 210,
        b':' | b'-' | b'.' | b'/' | b',' | b'"' | b'\t' => 220,
        b'A'..=b'Z' => 130,
        b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'=' | b'_' | b'\'' => 150,
        0x80.. => 40,
        _ => 80,
    }
}

/// Every searched literal with the units that own it, and the units with no
/// usable literal (they run on every record).
fn literal_table(rules: &RuleSet) -> (BTreeMap<Literal, Vec<u32>>, Vec<u32>) {
    let mut by_literal: BTreeMap<Literal, Vec<u32>> = BTreeMap::new();
    let mut unfiltered = Vec::new();
    for (idx, rule) in rules.rules().iter().enumerate() {
        for role in rule.roles() {
            let unit = UnitId::new(idx, role).0;
            match unit_literals(rule, role) {
                Some(set) => {
                    for lit in set.into_iter().flat_map(with_json_escapes).flat_map(case_variants) {
                        let owners = by_literal.entry(lit).or_default();
                        if !owners.contains(&unit) {
                            owners.push(unit);
                        }
                    }
                }
                None => unfiltered.push(unit),
            }
        }
    }
    (by_literal, unfiltered)
}

/// The units of `rules` with no usable prefilter literal, without building
/// the automata (`rules check` asks only this).
pub fn unfiltered_units(rules: &RuleSet) -> Vec<u32> {
    literal_table(rules).1
}

/// Most patterns aho-corasick's packed searcher (Teddy) takes.
const PACKED_LIMIT: usize = 64;

/// Finds the next occurrence of any literal of a group. Teddy (the packed
/// SIMD searcher) where the CPU has it: `AhoCorasick` itself prefers a
/// rare-byte prefilter once a set has more than 16 patterns, and its byte
/// frequency table does not fit log text (measured with the full rule pack:
/// 0.3 GB/s for the automaton against several GB/s for Teddy).
#[derive(Debug, Clone)]
enum LineFinder {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl LineFinder {
    fn new(group: &[Vec<u8>], ci: bool) -> Result<LineFinder, aho_corasick::BuildError> {
        if !ci {
            let mut b = aho_corasick::packed::Config::new()
                .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
                .builder();
            if let Some(s) = b.extend(group).build() {
                return Ok(LineFinder::Packed(s));
            }
        }
        let ac =
            AhoCorasickBuilder::new().match_kind(MatchKind::LeftmostFirst).ascii_case_insensitive(ci).build(group)?;
        Ok(LineFinder::Automaton(ac))
    }

    /// Start of the leftmost match at or after `pos`.
    fn find(&self, hay: &[u8], pos: usize) -> Option<usize> {
        match self {
            LineFinder::Packed(s) => s.find_in(hay, aho_corasick::Span::from(pos..hay.len())).map(|m| m.start()),
            LineFinder::Automaton(ac) => ac.find(Input::new(hay).span(pos..hay.len())).map(|m| m.start()),
        }
    }
}

impl Searcher {
    fn hits(&self, hay: &[u8], out: &mut Vec<Hit>) {
        // A line found by two groups is searched twice; `Prefilter::hits`
        // removes the duplicate hits.
        for next in &self.next {
            self.hits_with(next, hay, out);
        }
    }

    fn hits_with(&self, next: &LineFinder, hay: &[u8], out: &mut Vec<Hit>) {
        let mut pos = 0;
        while pos < hay.len() {
            let Some(at) = next.find(hay, pos) else { return };
            let start = memchr::memrchr(b'\n', &hay[..at]).map_or(0, |i| i + 1);
            let end = memchr::memchr(b'\n', &hay[at..]).map_or(hay.len(), |i| at + i);
            for hit in self.all.find_overlapping_iter(&hay[start..end]) {
                for &unit in &self.owners[hit.pattern().as_usize()] {
                    out.push(Hit { at: start + hit.start(), unit });
                }
            }
            pos = end + 1;
        }
    }
}

/// A unit's literals: the ones the rule gives (start role only), or those
/// extracted from every regex (all must yield a set, or the unit is
/// unfiltered).
fn unit_literals(rule: &Rule, role: Role) -> Option<Vec<Literal>> {
    if role == Role::Start && !rule.literals.is_empty() {
        return Some(literals::from_rule(rule));
    }
    let sets: Option<Vec<Vec<Literal>>> =
        rule.regexes_for(role).iter().map(|re| literals::extract(re.as_str())).collect();
    sets.map(|s| s.concat())
}

/// A case-insensitive literal with few letters becomes its case variants:
/// an ASCII-case-insensitive automaton cannot use the packed searcher, and
/// its fallback scans for bytes like `-` and `:` that are everywhere.
/// (`- [Cc]ode: 1100` gives 16 case-sensitive literals.)
fn case_variants(lit: Literal) -> Vec<Literal> {
    if !lit.ci() || lit.fold.len() > literals::CI_VARIANT_LETTERS {
        return vec![lit];
    }
    (0..1usize << lit.fold.len())
        .map(|mask| {
            let mut bytes = lit.bytes.clone();
            for (bit, &i) in lit.fold.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    bytes[i as usize] = bytes[i as usize].to_ascii_uppercase();
                }
            }
            Literal::cs(&bytes)
        })
        .collect()
}

/// pm2 JSON logs hold messages JSON-escaped: a literal with `"` or `\` is
/// also searched in its escaped form, so JSON records are not missed.
fn with_json_escapes(lit: Literal) -> Vec<Literal> {
    if !lit.bytes.iter().any(|b| *b == b'"' || *b == b'\\' || *b < 0x20) {
        return vec![lit];
    }
    // Escaped byte by byte so folded positions follow their letters
    // (letters never need escaping).
    let mut bytes = Vec::with_capacity(lit.bytes.len() + 8);
    let mut fold = Vec::with_capacity(lit.fold.len());
    for (i, &b) in lit.bytes.iter().enumerate() {
        if lit.fold.contains(&(i as u32)) {
            fold.push(bytes.len() as u32);
        }
        match b {
            b'"' => bytes.extend_from_slice(b"\\\""),
            b'\\' => bytes.extend_from_slice(b"\\\\"),
            b'\n' => bytes.extend_from_slice(b"\\n"),
            b'\r' => bytes.extend_from_slice(b"\\r"),
            b'\t' => bytes.extend_from_slice(b"\\t"),
            0x08 => bytes.extend_from_slice(b"\\b"),
            0x0c => bytes.extend_from_slice(b"\\f"),
            c if c < 0x20 => bytes.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => bytes.push(c),
        }
    }
    vec![Literal { bytes, fold }, lit]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::compile_all;

    fn set(rules: &str) -> RuleSet {
        compile_all(&[("t.toml".to_string(), rules.to_string())]).expect("rules")
    }

    /// The start unit of the second rule.
    const B: u32 = crate::rules::UNITS_PER_RULE;

    const TWO: &str = r#"
[[rule]]
id = "a.refused"
title = "t"
severity = "low"
regex = 'connect ECONNREFUSED (?P<addr>\S+)'
fix = "f"

[[rule]]
id = "b.any-refused"
title = "t"
severity = "low"
regex = 'ECONNREFUSED'
fix = "f"
"#;

    #[test]
    fn overlapping_literals_hit_both_rules() {
        let pf = Prefilter::build(&set(TWO));
        let mut hits = Vec::new();
        pf.hits(b"Error: connect ECONNREFUSED 127.0.0.1:7497", &mut hits);
        let units: Vec<u32> = hits.iter().map(|h| h.unit).collect();
        assert!(units.contains(&0) && units.contains(&B), "{hits:?}");
    }

    /// A rule's `unless` and `context` regexes are units of their own: the
    /// records they match are found, and hit their unit, not the start's.
    #[test]
    fn context_regexes_are_units() {
        let pack = TWO.replace(
            "regex = 'ECONNREFUSED'",
            "regex = 'ECONNREFUSED'\nunless = { regex = 'reconnecting', within = \"5s\" }\n\
             context = { regex = 'pool (?P<pool>\\w+) opened', before = \"1m\" }",
        );
        let pf = Prefilter::build(&set(&pack));
        let mut hits = Vec::new();
        pf.hits(b"reconnecting\npool main opened\nECONNREFUSED", &mut hits);
        let got: Vec<(usize, u32)> = hits.iter().map(|h| (h.at, h.unit)).collect();
        let unit = |role| UnitId::new(1, role).0;
        // ` opened` is the literal of `pool (?P<pool>\w+) opened`.
        assert_eq!(got, vec![(0, unit(Role::Context(0))), (22, unit(Role::Context(1))), (30, unit(Role::Start))]);
    }

    #[test]
    fn every_literal_on_every_line_is_found() {
        // The leftmost search stops at the first literal of a line; the
        // rest of that line, and the lines after, must still be searched.
        let pf = Prefilter::build(&set(TWO));
        let mut hits = Vec::new();
        pf.hits(b"x ECONNREFUSED y connect ECONNREFUSED 1.2.3.4\nplain\nconnect ECONNREFUSED ::1", &mut hits);
        let got: Vec<(usize, u32)> = hits.iter().map(|h| (h.at, h.unit)).collect();
        assert_eq!(got, vec![(2, B), (17, 0), (25, B), (52, 0), (60, B)]);
    }

    #[test]
    fn short_case_insensitive_literals_become_variants() {
        let v = case_variants(Literal::folded(b"- code: 1"));
        assert_eq!(v.len(), 16);
        assert!(v.iter().all(|l| !l.ci()));
        assert!(v.iter().any(|l| l.bytes == b"- CoDe: 1"));
        // Only the letters that fold vary.
        let one = case_variants(Literal { bytes: b"- code: 1".to_vec(), fold: vec![2] });
        assert_eq!(
            one.iter().map(|l| l.bytes.clone()).collect::<Vec<_>>(),
            [b"- code: 1".to_vec(), b"- Code: 1".to_vec()]
        );
        let long = Literal::folded(b"heap out of memory");
        assert_eq!(case_variants(long.clone()), vec![long]);
    }

    #[test]
    fn case_insensitive_and_unfiltered_rules() {
        let pf = Prefilter::build(&set(&TWO.replace("'ECONNREFUSED'", r"'(?i)econnrefused|\d{5}'")));
        assert_eq!(pf.unfiltered(), &[B]);
        let pf = Prefilter::build(&set(&TWO.replace("'ECONNREFUSED'", "'(?i)econnrefused'")));
        let mut hits = Vec::new();
        pf.hits(b"EconnRefused", &mut hits);
        assert_eq!(hits, vec![Hit { at: 0, unit: B }]);
    }

    #[test]
    fn json_escaped_literals_are_found() {
        let pf = Prefilter::build(&set(&TWO.replace("'ECONNREFUSED'", r#"'Script "(?P<s>\w+)" died'"#)));
        let mut hits = Vec::new();
        pf.hits(br#"{"message":"Script \"api\" died\n"}"#, &mut hits);
        assert!(hits.iter().any(|h| h.unit == B), "{hits:?}");
    }

    /// Found by `fuzz/run.sh` (target `scan`): a colour code inside a
    /// literal hid it from the raw-byte search, but records strip colour
    /// before the regex runs, so the rule matched with the prefilter off
    /// and not with it on.
    #[test]
    fn literals_split_by_colour_codes_or_json_escapes_are_found() {
        let pf = Prefilter::build(&set(TWO));
        for hay in [
            &b"ok\nError: connect ECONN\x1b[31mREFUSED 1.2.3.4"[..],
            b"ok\nError: connect ECONN\x1bREFUSED 1.2.3.4",
            br#"{"message":"connect ECONN\u001b[31mREFUSED 1.2.3.4"}"#,
            br#"{"message":"connect \u0045CONNREFUSED 1.2.3.4"}"#,
        ] {
            let mut hits = Vec::new();
            pf.hits(hay, &mut hits);
            let start = memchr::memchr(b'\n', hay).map_or(0, |i| i + 1);
            assert!(hits.contains(&Hit { at: start, unit: 0 }), "{:?}: {hits:?}", String::from_utf8_lossy(hay));
        }
    }
}

#[cfg(test)]
mod size {
    use super::*;

    /// Each packed group is one pass over every byte: the built-in pack
    /// must stay at a few (a regression here shows up as MB/s, so it is
    /// caught here first).
    #[test]
    fn builtin_pack_needs_few_passes() {
        let rules = crate::rules::load(&crate::rules::LoadOptions { builtin: true, paths: vec![] }).expect("builtin");
        let pf = Prefilter::build(&rules);
        assert_eq!(pf.searchers.len(), 1, "no case-insensitive automaton for the built-in pack");
        assert!(pf.searchers[0].next.len() <= 3, "{} packed passes", pf.searchers[0].next.len());
    }

    #[test]
    fn nearly_as_rare_anchors_are_shared() {
        let lits = vec![b"code: 1100".to_vec(), b"node: 1100".to_vec()];
        assert_eq!(anchors(&lits), vec![b"de: 1100".to_vec()]);
        // A piece much more common than the rarest is not taken to share.
        let lits = vec![b"READONLY You can't write".to_vec(), b"You can't write against".to_vec()];
        assert_eq!(anchors(&lits).len(), 2, "{:?}", anchors(&lits));
    }

    #[test]
    fn anchors_are_pieces_of_their_literals() {
        let lits = vec![b"the ERROR 1100 lost".to_vec(), b"an ERROR 1100 restored".to_vec(), b"abc".to_vec()];
        let a = anchors(&lits);
        assert!(lits.iter().all(|l| a.iter().any(|x| l.windows(x.len()).any(|w| w == x.as_slice()))));
        assert!(a.len() < lits.len(), "{a:?}");
    }
}
