//! One search over the whole buffer for every rule's literals. Hands on
//! [`Hit`]s: (offset, unit, regexes) in offset order. A record with no hit
//! for a unit never runs that unit's regexes, and one with hits runs only
//! the regexes whose literals it holds (see [`Regexes`]): a TWS `Error 2104`
//! line holds `Error`, the literal of one of node.uncaught-exception's four
//! regexes, and need not run the other three.
//!
//! Every literal of every rule must be found, also one inside another
//! (`ECONNREFUSED` inside `connect ECONNREFUSED`): a leftmost search
//! resumes after a match and would lose it. But only a leftmost search can
//! use aho-corasick's packed (SIMD) searcher: on the bench corpus it ran at
//! 12-17 GB/s where the overlapping search walked every byte at 0.7 GB/s.
//! So each literal is found by an anchor, a short piece of it (see
//! `anchors`): a leftmost-first search reports every position where an
//! anchor starts (it resumes one byte after each), and there the literals
//! that anchor stands for are compared in place. Every occurrence of a
//! literal holds its anchor at a known offset, so none is lost, and
//! literals sharing an anchor cost one search. Identical literals are
//! merged so one pattern carries every rule that uses it. Lines whose
//! colour codes or JSON escapes split a literal are searched again as the
//! regexes will see them (`matcher/hidden.rs`).

use std::collections::{BTreeMap, HashMap};

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
    /// Which of the unit's regexes the literal belongs to.
    pub regexes: Regexes,
}

/// A set of a unit's regexes, by their index in the unit: bit `i` stands
/// for regex `i`, the last bit for regex 63 and every one after it. A
/// record runs the regexes of the bits its hits set; a regex whose literal
/// it does not hold cannot match it (the prefilter's contract, per regex).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Regexes(pub u64);

impl Regexes {
    /// Every regex of a unit: units without literals of their own (run on
    /// every record, or filtered by the literals a rule gives by hand).
    pub const ALL: Regexes = Regexes(u64::MAX);

    /// The set holding regex `i` only.
    pub fn one(i: usize) -> Regexes {
        Regexes(1 << i.min(63))
    }

    /// Whether regex `i` is in the set.
    pub fn has(self, i: usize) -> bool {
        self.0 & (1 << i.min(63)) != 0
    }
}

/// Per literal, the units that own it, each with the regexes of its that
/// the literal is a literal of.
type Owners = Vec<(u32, Regexes)>;

/// A unit a record must run, and which of its regexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The unit ([`UnitId`]'s number).
    pub unit: u32,
    /// Its regexes to run (the others cannot match the record).
    pub regexes: Regexes,
}

impl Candidate {
    /// `unit` with all its regexes.
    pub fn all(unit: u32) -> Candidate {
        Candidate { unit, regexes: Regexes::ALL }
    }
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
    /// `always` (all their regexes) plus the units with a hit inside it
    /// (the regexes of its hits), sorted by unit, each once. Records must
    /// be asked for in buffer order.
    pub fn candidates(&mut self, start: usize, end: usize, always: &[u32], out: &mut Vec<Candidate>) {
        out.clear();
        out.extend(always.iter().map(|&u| Candidate::all(u)));
        let mut sorted = true;
        while let Some(hit) = self.hits.get(self.next).filter(|h| h.at < end) {
            if hit.at >= start {
                sorted &= out.last().is_none_or(|c| c.unit <= hit.unit);
                out.push(Candidate { unit: hit.unit, regexes: hit.regexes });
            }
            self.next += 1;
        }
        if !sorted {
            out.sort_unstable_by_key(|c| c.unit);
        }
        // One entry per unit, with the regexes of all its hits.
        out.dedup_by(|next, kept| {
            let same = next.unit == kept.unit;
            if same {
                kept.regexes.0 |= next.regexes.0;
            }
            same
        });
    }
}

/// The compiled literal search.
#[derive(Debug, Clone)]
pub struct Prefilter {
    searchers: Vec<Searcher>,
    unfiltered: Vec<u32>,
}

/// One literal set (case-sensitive or not): packed passes that find the
/// literals' anchors, and what each anchor must be checked against.
#[derive(Debug, Clone)]
struct Searcher {
    /// One per group of at most [`PACKED_LIMIT`] anchors.
    passes: Vec<Pass>,
    /// Literal id → its bytes.
    lits: Vec<Vec<u8>>,
    /// Literal id → units that own the literal, with the regexes of each
    /// that it is a literal of.
    owners: Vec<Owners>,
    /// Letters match either ASCII case.
    ci: bool,
}

/// One pass over the haystack: every position where one of its anchors
/// starts, and there each literal that anchor may stand for.
#[derive(Debug, Clone)]
struct Pass {
    finder: AnchorFinder,
    /// Pattern id → (literal id, offset of the anchor in the literal) of
    /// every literal whose anchor (in this pass) is a prefix of the
    /// pattern or extends it: where anchors one of which extends the other
    /// start at one position, the finder reports one of them, whichever
    /// its bucket lists first (see [`bucket_order`]).
    verify: Vec<Vec<(usize, usize)>>,
}

impl Prefilter {
    /// Builds the automata for `rules`. Units with no usable literal are
    /// returned by [`Prefilter::unfiltered`] and run on every record.
    pub fn build(rules: &RuleSet) -> Prefilter {
        let (by_literal, mut unfiltered) = literal_table(rules);
        let mut searchers = Vec::new();
        for ci in [false, true] {
            let (lits, owners): (Vec<Vec<u8>>, Vec<Owners>) =
                by_literal.iter().filter(|(l, _)| l.ci() == ci).map(|(l, o)| (l.bytes.clone(), o.clone())).unzip();
            if lits.is_empty() {
                continue;
            }
            match Searcher::new(lits, owners.clone(), ci) {
                Ok(s) => searchers.push(s),
                // Only absurd pattern sets fail to build; fall back to
                // running their rules on every record rather than losing them.
                Err(_) => unfiltered.extend(owners.into_iter().flatten().map(|(unit, _)| unit)),
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
                out.push(Hit { at: line_start, ..*hit });
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
/// Every occurrence of a literal holds its anchor, so nothing is lost; an
/// anchor found without its literal costs a comparison per literal it
/// stands for.
///
/// Fewer distinct anchors mean fewer packed passes over every byte (at most
/// [`PACKED_LIMIT`] patterns a pass), so among the pieces nearly as rare as
/// the rarest ([`SHARE_SLACK`]) the one most other literals also hold is
/// taken: `code: 1100` and `node: 1100` both give `de: 1100` rather than
/// each its own first eight bytes (built-in pack: 198 anchors, four
/// passes, without this; 174 and three with it).
fn anchors(lits: &[Vec<u8>]) -> Vec<(&[u8], usize)> {
    let holders = window_holders(lits);
    lits.iter().map(|l| anchor_of(l, &holders)).collect()
}

/// For every piece of [`ANCHOR_LEN`] bytes, how many literals hold it.
/// Only a literal longer than that has a choice of anchor, and all its
/// candidates are that long (a shorter literal is its own anchor), so
/// shorter pieces are not counted: counting every length in use, each
/// literal's pieces gathered in a set first, was most of the matcher's
/// build time (4.7 ms of 7.5 with the built-in pack, at every start).
// Mutants here are equivalent: the counts only rank a literal's candidate
// anchors, every one of which is a piece of it (see `anchor_of`); another
// count picks another piece, which costs speed, never a hit.
#[cfg_attr(test, mutants::skip)]
fn window_holders(lits: &[Vec<u8>]) -> HashMap<&[u8], usize> {
    // Piece → (literals holding it, the last literal counted), so a piece
    // twice in one literal counts once.
    let mut holders: HashMap<&[u8], (usize, usize)> = HashMap::new();
    for (id, lit) in lits.iter().enumerate() {
        for w in lit.windows(ANCHOR_LEN) {
            let (count, last) = holders.entry(w).or_insert((0, usize::MAX));
            if *last != id {
                *count += 1;
                *last = id;
            }
        }
    }
    holders.into_iter().map(|(w, (count, _))| (w, count)).collect()
}

/// `lit`'s anchor and where in `lit` it starts, given how many literals
/// hold each piece (see [`anchors`]).
fn anchor_of<'l>(lit: &'l [u8], holders: &HashMap<&[u8], usize>) -> (&'l [u8], usize) {
    let len = lit.len().min(ANCHOR_LEN);
    let cost = |i: usize| lit[i..].iter().take(FINGERPRINT).map(|&b| u32::from(rank(b))).sum::<u32>();
    let starts = 0..=lit.len() - len;
    let Some(best) = starts.clone().map(cost).min() else { return (lit, 0) };
    let shared = |i: usize| holders.get(&lit[i..i + len]).copied().unwrap_or(0);
    let start = starts
        .filter(|&i| cost(i) <= best + SHARE_SLACK)
        .max_by_key(|&i| (shared(i), std::cmp::Reverse(cost(i)), std::cmp::Reverse(i)))
        .unwrap_or(0);
    (&lit[start..start + len], start)
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
// Mutants here are equivalent: a rank only orders the candidate anchors of
// a literal, all pieces of it, so another rank picks another piece, which
// costs speed, never a hit.
#[cfg_attr(test, mutants::skip)]
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

/// Every searched literal with the units that own it (and which of their
/// regexes), and the units with no usable literal (they run on every
/// record).
fn literal_table(rules: &RuleSet) -> (BTreeMap<Literal, Owners>, Vec<u32>) {
    let mut by_literal: BTreeMap<Literal, Owners> = BTreeMap::new();
    let mut unfiltered = Vec::new();
    for (idx, rule) in rules.rules().iter().enumerate() {
        for role in rule.roles() {
            let unit = UnitId::new(idx, role).0;
            match unit_literals(rule, role) {
                Some(set) => {
                    for (lit, regexes) in set {
                        for lit in with_json_escapes(lit).into_iter().flat_map(case_variants) {
                            let owners = by_literal.entry(lit).or_default();
                            match owners.iter_mut().find(|(u, _)| *u == unit) {
                                Some((_, known)) => known.0 |= regexes.0,
                                None => owners.push((unit, regexes)),
                            }
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
/// Most patterns Teddy puts in 8 buckets (Slim); above, 16 (Fat, AVX2).
const SLIM_LIMIT: usize = 32;
/// Leading bytes of a pattern Teddy's bucket masks hold.
const MASK_LEN: usize = 4;

/// Orders a pass's anchors so that Teddy's buckets hold anchors alike in
/// their leading bytes. Teddy tests every haystack position against each
/// bucket's masks: per leading byte, the union of the nybbles of the
/// bucket's patterns. Patterns that start alike keep that union narrow, so
/// fewer positions pass and fewer patterns are compared at each that does;
/// patterns spread without regard to their bytes (as sorted by length
/// before) make every bucket accept a mix of common letters. So the
/// anchors are sorted by their first [`MASK_LEN`] bytes and cut into one
/// run per bucket, and each run is given the pattern ids Teddy puts in one
/// bucket: aho-corasick 1.1 gives a pattern bucket `B - 1 - id % B`
/// unless one with the same low nybbles in its first bytes came before,
/// whose bucket it joins. Another assignment only costs speed: the finder
/// stays correct whatever the buckets (see [`Pass::verify`]).
///
/// Prefilter::hits alone on the 256 MiB bench corpora, CPU s, min of 5
/// (sparse / dense / apptimed): 0.194 / 0.227 / 0.236 by length,
/// 0.170 / 0.204 / 0.203 this way.
fn bucket_order(mut group: Vec<&[u8]>) -> Vec<&[u8]> {
    let lead = |a: &[u8]| a.len().min(MASK_LEN);
    group.sort_by(|a, b| a[..lead(a)].cmp(&b[..lead(b)]).then(b.len().cmp(&a.len())).then(a.cmp(b)));
    let buckets = if group.len() > SLIM_LIMIT { 16 } else { 8 };
    let per = group.len().div_ceil(buckets);
    let mut ordered = Vec::with_capacity(group.len());
    for round in 0..per {
        // Pattern ids round * B .. round * B + B go to buckets B - 1 .. 0.
        for bucket in (0..buckets).rev() {
            ordered.extend(group.get(bucket * per + round).copied());
        }
    }
    ordered
}

/// Finds the next occurrence of any anchor of a group. Teddy (the packed
/// SIMD searcher) where the CPU has it: `AhoCorasick` itself prefers a
/// rare-byte prefilter once a set has more than 16 patterns, and its byte
/// frequency table does not fit log text (measured with the full rule pack:
/// 0.3 GB/s for the automaton against several GB/s for Teddy).
#[derive(Debug, Clone)]
enum AnchorFinder {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl AnchorFinder {
    /// Leftmost-first over `group`: where several anchors start at one
    /// position, the first given wins.
    fn new(group: &[&[u8]], ci: bool) -> Result<AnchorFinder, aho_corasick::BuildError> {
        if !ci {
            let mut b = aho_corasick::packed::Config::new()
                .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
                .builder();
            if let Some(s) = b.extend(group).build() {
                return Ok(AnchorFinder::Packed(s));
            }
        }
        let ac =
            AhoCorasickBuilder::new().match_kind(MatchKind::LeftmostFirst).ascii_case_insensitive(ci).build(group)?;
        Ok(AnchorFinder::Automaton(ac))
    }

    /// Start and pattern id of the leftmost match at or after `pos`.
    fn find(&self, hay: &[u8], pos: usize) -> Option<(usize, usize)> {
        let m = match self {
            AnchorFinder::Packed(s) => s.find_in(hay, aho_corasick::Span::from(pos..hay.len())),
            AnchorFinder::Automaton(ac) => ac.find(Input::new(hay).span(pos..hay.len())),
        }?;
        Some((m.start(), m.pattern().as_usize()))
    }
}

impl Searcher {
    /// Anchors `lits` (see [`anchors`]; a case-insensitive literal is its
    /// own anchor) and packs the anchors into passes.
    fn new(lits: Vec<Vec<u8>>, owners: Vec<Owners>, ci: bool) -> Result<Searcher, aho_corasick::BuildError> {
        let placed: Vec<(&[u8], usize)> = if ci { lits.iter().map(|l| (&l[..], 0)).collect() } else { anchors(&lits) };
        let mut by_anchor: BTreeMap<&[u8], Vec<(usize, usize)>> = BTreeMap::new();
        for (lit, &(anchor, off)) in placed.iter().enumerate() {
            by_anchor.entry(anchor).or_default().push((lit, off));
        }
        let distinct: Vec<&[u8]> = by_anchor.keys().copied().collect();
        let mut passes = Vec::new();
        for group in distinct.chunks(PACKED_LIMIT) {
            let group = bucket_order(group.to_vec());
            let is_prefix = |short: &[u8], long: &[u8]| {
                long.get(..short.len()).is_some_and(|p| if ci { p.eq_ignore_ascii_case(short) } else { p == short })
            };
            let verify = group
                .iter()
                .map(|a| {
                    let related = group.iter().filter(|b| is_prefix(b, a) || is_prefix(a, b));
                    related.flat_map(|b| by_anchor[b].iter().copied()).collect()
                })
                .collect();
            passes.push(Pass { finder: AnchorFinder::new(&group, ci)?, verify });
        }
        Ok(Searcher { passes, lits, owners, ci })
    }

    fn hits(&self, hay: &[u8], out: &mut Vec<Hit>) {
        // A literal is found by the one pass holding its anchor.
        for pass in &self.passes {
            self.hits_with(pass, hay, out);
        }
    }

    /// Every position where an anchor of `pass` starts, then the literals
    /// that anchor stands for, checked in place.
    fn hits_with(&self, pass: &Pass, hay: &[u8], out: &mut Vec<Hit>) {
        let mut pos = 0;
        while let Some((at, anchor)) = pass.finder.find(hay, pos) {
            for &(lit, off) in &pass.verify[anchor] {
                if let Some(start) = at.checked_sub(off)
                    && self.holds(hay, start, lit)
                {
                    out.extend(self.owners[lit].iter().map(|&(unit, regexes)| Hit { at: start, unit, regexes }));
                }
            }
            pos = at + 1;
        }
    }

    /// Whether literal `lit` occurs in `hay` at `start`.
    fn holds(&self, hay: &[u8], start: usize, lit: usize) -> bool {
        let want = &self.lits[lit];
        let Some(seen) = hay.get(start..start + want.len()) else { return false };
        if self.ci { seen.eq_ignore_ascii_case(want) } else { seen == &want[..] }
    }
}

/// A unit's literals, each with the regexes it is a literal of: the ones
/// the rule gives (start role only; they stand for all its regexes), or
/// those extracted from each regex (all must yield a set, or the unit is
/// unfiltered).
fn unit_literals(rule: &Rule, role: Role) -> Option<Vec<(Literal, Regexes)>> {
    if role == Role::Start && !rule.literals.is_empty() {
        return Some(literals::from_rule(rule).into_iter().map(|l| (l, Regexes::ALL)).collect());
    }
    let sets: Option<Vec<Vec<(Literal, Regexes)>>> = rule
        .regexes_for(role)
        .iter()
        .enumerate()
        .map(|(i, re)| Some(literals::extract(re.as_str())?.into_iter().map(|l| (l, Regexes::one(i))).collect()))
        .collect();
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
        assert_eq!(hits, vec![Hit { at: 0, unit: B, regexes: Regexes::one(0) }]);
    }

    #[test]
    fn json_escaped_literals_are_found() {
        let pf = Prefilter::build(&set(&TWO.replace("'ECONNREFUSED'", r#"'Script "(?P<s>\w+)" died'"#)));
        let mut hits = Vec::new();
        pf.hits(br#"{"message":"Script \"api\" died\n"}"#, &mut hits);
        assert!(hits.iter().any(|h| h.unit == B), "{hits:?}");
    }

    /// A record spans `start..end`, end excluded: a hit at `end` is the
    /// next record's, which would otherwise never run its unit.
    #[test]
    fn a_hit_at_a_record_end_belongs_to_the_next_record() {
        let hit = |at, unit| Hit { at, unit, regexes: Regexes::one(0) };
        let hits = [hit(0, 1), hit(5, 2), hit(9, 3), hit(10, 4)];
        let mut cursor = HitCursor::new(&hits);
        let mut out = Vec::new();
        let units = |out: &Vec<Candidate>| out.iter().map(|c| c.unit).collect::<Vec<_>>();
        cursor.candidates(0, 5, &[], &mut out);
        assert_eq!(units(&out), [1]);
        cursor.candidates(5, 10, &[], &mut out);
        assert_eq!(units(&out), [2, 3]);
        cursor.candidates(10, 11, &[7], &mut out);
        assert_eq!(units(&out), [4, 7]);
    }

    /// Every byte JSON must escape gets the escape JSON writes: the named
    /// ones (`\n`, `\t`, ...) and, for the other control bytes, `\u00XX`;
    /// anything else, a space included, is kept as it is.
    #[test]
    fn control_bytes_are_searched_json_escaped() {
        let forms =
            |lit: &[u8]| -> Vec<Vec<u8>> { with_json_escapes(Literal::cs(lit)).into_iter().map(|l| l.bytes).collect() };
        assert_eq!(forms(b"bell \x07 rang"), [br"bell \u0007 rang".to_vec(), b"bell \x07 rang".to_vec()]);
        assert_eq!(forms(b"a\x1f\t\x08\x0c\r\nz"), [br"a\u001f\t\b\f\r\nz".to_vec(), b"a\x1f\t\x08\x0c\r\nz".to_vec()]);
        assert_eq!(forms(b"no escape ~"), [b"no escape ~".to_vec()]);
        // Folded letters keep their positions in the escaped form.
        let lit = Literal { bytes: b"\x01ok".to_vec(), fold: vec![1, 2] };
        assert_eq!(with_json_escapes(lit.clone()), [Literal { bytes: br"\u0001ok".to_vec(), fold: vec![6, 7] }, lit]);
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
            let hit = Hit { at: start, unit: 0, regexes: Regexes::one(0) };
            assert!(hits.contains(&hit), "{:?}: {hits:?}", String::from_utf8_lossy(hay));
        }
    }
}

/// Per-regex routing: a record's candidate for a unit names every regex
/// of the unit that matches it, and on a line holding the literal of one
/// regex only, that one alone.
#[cfg(test)]
mod routing {
    use super::*;
    use crate::rules::compile_all;
    use proptest::prelude::*;

    /// One unit of three regexes whose literals overlap (`ECONNREFUSED`
    /// inside `connect ECONNREFUSED`), a case-insensitive one, and a
    /// context entry reusing one of them.
    const PACK: &str = r#"
[[rule]]
id = "a.refused"
title = "t"
severity = "low"
regex = ['connect ECONNREFUSED (?P<addr>\S+)', 'ECONNREFUSED', '(?i)socket hang up', 'Error: (?P<e>read) ECONNRESET']
context = { regex = ['Error: (?P<e>read) ECONNRESET', 'pool (?P<pool>\w+) opened'], before = "1m" }
fix = "f"
"#;

    /// (unit, regex index) of every regex of `rules` matching `line`.
    fn matching(rules: &RuleSet, line: &[u8]) -> Vec<(u32, usize)> {
        let mut out = Vec::new();
        for (idx, rule) in rules.rules().iter().enumerate() {
            for role in rule.roles() {
                let unit = UnitId::new(idx, role).0;
                for (i, re) in rule.regexes_for(role).iter().enumerate() {
                    if re.is_match(line) {
                        out.push((unit, i));
                    }
                }
            }
        }
        out
    }

    /// The candidates of each line of `hay` (records of one line).
    fn candidates_per_line(pf: &Prefilter, hay: &[u8]) -> Vec<(std::ops::Range<usize>, Vec<Candidate>)> {
        let mut hits = Vec::new();
        pf.hits(hay, &mut hits);
        let mut cursor = HitCursor::new(&hits);
        let mut out = Vec::new();
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', hay).chain([hay.len()]) {
            let mut c = Vec::new();
            cursor.candidates(start, end, pf.unfiltered(), &mut c);
            out.push((start..end, c));
            start = end + 1;
        }
        out
    }

    /// Fails on the first line where a matching regex is not routed.
    fn assert_routed(rules: &RuleSet, pf: &Prefilter, hay: &[u8]) -> Result<(), String> {
        for (span, cands) in candidates_per_line(pf, hay) {
            let line = &hay[span.start..span.end.min(hay.len())];
            for (unit, i) in matching(rules, line) {
                if !cands.iter().any(|c| c.unit == unit && c.regexes.has(i)) {
                    let shown = String::from_utf8_lossy(line);
                    return Err(format!("unit {unit} regex {i} matches {shown:?} but is not routed: {cands:?}"));
                }
            }
            let mut units: Vec<u32> = cands.iter().map(|c| c.unit).collect();
            units.dedup();
            if units.len() != cands.len() || !units.is_sorted() {
                return Err(format!("candidates not one per unit in order: {cands:?}"));
            }
        }
        Ok(())
    }

    #[test]
    fn a_line_runs_only_the_regexes_whose_literals_it_holds() {
        let rules = compile_all(&[("t.toml".to_string(), PACK.to_string())]).expect("rules");
        let pf = Prefilter::build(&rules);
        let start = UnitId::new(0, Role::Start).0;
        let context = UnitId::new(0, Role::Context(0)).0;
        let hay = b"plain ECONNREFUSED\nconnect ECONNREFUSED 1.2.3.4\nSocket Hang Up\nError: read ECONNRESET\nnothing";
        let got: Vec<Vec<Candidate>> = candidates_per_line(&pf, hay).into_iter().map(|(_, c)| c).collect();
        let regexes = |bits: &[usize]| Regexes(bits.iter().map(|&i| 1 << i).sum());
        assert_eq!(got[0], [Candidate { unit: start, regexes: regexes(&[1]) }]);
        assert_eq!(got[1], [Candidate { unit: start, regexes: regexes(&[0, 1]) }]);
        assert_eq!(got[2], [Candidate { unit: start, regexes: regexes(&[2]) }]);
        let reset =
            [Candidate { unit: start, regexes: regexes(&[3]) }, Candidate { unit: context, regexes: regexes(&[0]) }];
        assert_eq!(got[3], reset);
        assert_eq!(got[4], []);
        assert_routed(&rules, &pf, hay).expect("routed");
    }

    /// The built-in pack over every fixture log, recorded ones included,
    /// one line at a time.
    #[test]
    fn builtin_pack_routes_every_matching_regex_on_the_fixtures() {
        let rules = crate::rules::load(&crate::rules::LoadOptions { builtin: true, paths: vec![] }).expect("builtin");
        let pf = Prefilter::build(&rules);
        let files = crate::fixtures::logs();
        assert!(files.len() > 100, "{} fixture logs", files.len());
        for path in files {
            let hay = std::fs::read(&path).expect("fixture");
            if let Err(e) = assert_routed(&rules, &pf, &hay) {
                panic!("{}: {e}", path.display());
            }
        }
    }

    proptest! {
        /// Lines made of the pack's literals, pieces of them and bytes
        /// around them: every regex that matches a line is routed to it.
        #[test]
        fn every_matching_regex_is_routed(
            picks in proptest::collection::vec((0..9usize, 0..4usize, "[a-zA-Z: .1\n]{0,4}"), 0..40),
        ) {
            const PIECES: [&str; 9] = [
                "connect ECONNREFUSED 10.0.0.1",
                "ECONNREFUSED",
                "ECONNREF",
                "SOCKET hang UP",
                "socket hang",
                "Error: read ECONNRESET",
                "read ECONNRESET",
                "pool main opened",
                "connect ",
            ];
            let rules = compile_all(&[("t.toml".to_string(), PACK.to_string())]).expect("rules");
            let pf = Prefilter::build(&rules);
            let mut hay = Vec::new();
            for (piece, cut, sep) in &picks {
                hay.extend_from_slice(&PIECES[*piece].as_bytes()[*cut % 2..]);
                hay.extend_from_slice(sep.as_bytes());
            }
            prop_assert_eq!(assert_routed(&rules, &pf, &hay), Ok(()));
        }
    }
}

#[cfg(test)]
mod size {
    use std::collections::BTreeSet;

    use super::*;

    /// Each packed group is one pass over every byte: the built-in pack
    /// must stay at a few (a regression here shows up as MB/s, so it is
    /// caught here first).
    #[test]
    fn builtin_pack_needs_few_passes() {
        let rules = crate::rules::load(&crate::rules::LoadOptions { builtin: true, paths: vec![] }).expect("builtin");
        let pf = Prefilter::build(&rules);
        assert_eq!(pf.searchers.len(), 1, "no case-insensitive automaton for the built-in pack");
        // Four since the server-log packs (PostgreSQL, Redis, Caddy, HTTP
        // health checks) joined the app-log ones: each pass costs about
        // 0.05 s per 256 MiB. Scoping a pack's literals to the sources that
        // can print them would bring it back to three.
        assert!(pf.searchers[0].passes.len() <= 4, "{} packed passes", pf.searchers[0].passes.len());
    }

    /// The distinct anchors of `lits`, sorted.
    fn distinct(lits: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let set: BTreeSet<Vec<u8>> = anchors(lits).into_iter().map(|(a, _)| a.to_vec()).collect();
        set.into_iter().collect()
    }

    #[test]
    fn nearly_as_rare_anchors_are_shared() {
        let lits = vec![b"code: 1100".to_vec(), b"node: 1100".to_vec()];
        assert_eq!(distinct(&lits), vec![b"de: 1100".to_vec()]);
        // A piece much more common than the rarest is not taken to share.
        let lits = vec![b"READONLY You can't write".to_vec(), b"You can't write against".to_vec()];
        assert_eq!(distinct(&lits).len(), 2, "{:?}", distinct(&lits));
    }

    /// Teddy gives pattern id `i` bucket `B - 1 - i % B`: each bucket must
    /// get one run of the anchors sorted by their leading bytes.
    #[test]
    fn alike_anchors_share_a_bucket() {
        // 16 leading words, three anchors each, listed word after word.
        let names: Vec<String> = (0..48).map(|i| format!("{:x}ode: {}", 0xa0 + i % 16, i / 16)).collect();
        let group: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
        let ordered = bucket_order(group.clone());
        let mut sorted = group;
        sorted.sort();
        assert_eq!(ordered.len(), 48);
        let buckets = 16;
        for bucket in 0..buckets {
            let mine: Vec<&[u8]> = ordered
                .iter()
                .enumerate()
                .filter(|(i, _)| buckets - 1 - i % buckets == bucket)
                .map(|(_, a)| *a)
                .collect();
            assert_eq!(mine, sorted[bucket * 3..bucket * 3 + 3], "bucket {bucket}");
        }
    }

    #[test]
    fn anchors_are_pieces_of_their_literals() {
        let lits = vec![b"the ERROR 1100 lost".to_vec(), b"an ERROR 1100 restored".to_vec(), b"abc".to_vec()];
        for (lit, (anchor, off)) in lits.iter().zip(anchors(&lits)) {
            assert_eq!(&lit[off..off + anchor.len()], anchor);
        }
        assert!(distinct(&lits).len() < lits.len(), "{:?}", distinct(&lits));
    }
}

/// The anchored search against a plain overlapping search for the whole
/// literals: the same hits, whatever the literals share.
#[cfg(test)]
mod oracle {
    use super::*;
    use proptest::prelude::*;

    /// Every occurrence of every literal of `lits` (unit = literal index),
    /// by aho-corasick's overlapping search: no anchors, no passes.
    fn overlapping(lits: &[Vec<u8>], ci: bool, hay: &[u8]) -> Vec<Hit> {
        let ac = AhoCorasickBuilder::new().ascii_case_insensitive(ci).build(lits).expect("automaton");
        let mut out: Vec<Hit> = ac
            .find_overlapping_iter(hay)
            .map(|m| Hit { at: m.start(), unit: m.pattern().as_u32(), regexes: Regexes::ALL })
            .collect();
        out.sort_unstable();
        out
    }

    fn anchored(lits: &[Vec<u8>], ci: bool, hay: &[u8]) -> Vec<Hit> {
        let owners = (0..lits.len() as u32).map(|i| vec![(i, Regexes::ALL)]).collect();
        let s = Searcher::new(lits.to_vec(), owners, ci).expect("searcher");
        let mut out = Vec::new();
        s.hits(hay, &mut out);
        out.sort_unstable();
        out
    }

    /// The built-in pack over every fixture log, recorded ones included.
    #[test]
    fn builtin_pack_finds_every_literal_in_every_fixture() {
        let rules = crate::rules::load(&crate::rules::LoadOptions { builtin: true, paths: vec![] }).expect("builtin");
        let (table, _) = literal_table(&rules);
        let lits: Vec<Vec<u8>> = table.keys().filter(|l| !l.ci()).map(|l| l.bytes.clone()).collect();
        assert!(lits.len() > 300, "{} literals", lits.len());
        let files = crate::fixtures::logs();
        let hay: Vec<u8> = files.iter().flat_map(|p| std::fs::read(p).expect("fixture")).collect();
        let want = overlapping(&lits, false, &hay);
        assert!(want.len() > 5_000, "{} hits", want.len());
        assert_eq!(anchored(&lits, false, &hay), want);
    }

    /// Literals from a few bytes collide everywhere: one inside another,
    /// several sharing an anchor, anchors prefixes of others, more than
    /// one pass.
    fn literals(ci: bool) -> impl Strategy<Value = Vec<Vec<u8>>> {
        let one = if ci { "[ab:1 ]{3,10}" } else { "[aAb:1 ]{3,10}" };
        proptest::collection::btree_set(proptest::string::string_regex(one).expect("regex"), 1..120)
            .prop_map(|set| set.into_iter().map(String::into_bytes).collect())
    }

    proptest! {
        #[test]
        fn anchored_search_finds_what_overlapping_search_finds(
            (ci, lits, picks) in any::<bool>().prop_flat_map(|ci| (
                Just(ci),
                literals(ci),
                proptest::collection::vec((0..1000usize, "[aAbB:1 \n]{0,3}"), 0..60),
            )),
        ) {
            // The haystack: literals and bits of them, joined by a few bytes.
            let mut hay = Vec::new();
            for (i, sep) in &picks {
                let lit = &lits[i % lits.len()];
                hay.extend_from_slice(&lit[i % 3..]);
                hay.extend_from_slice(sep.as_bytes());
            }
            prop_assert_eq!(anchored(&lits, ci, &hay), overlapping(&lits, ci, &hay));
        }
    }
}
