//! Required literals of a regex: a small set of strings such that every
//! match contains at least one of them. The prefilter searches for these;
//! a record without any never reaches the regex, so the set must have zero
//! false negatives (regex-automata's prefilter contract).
//!
//! The walk over the regex HIR keeps, for each sub-expression, the exact
//! strings it can match (when few) and the best required set found inside
//! it. Concatenations multiply exact sets into longer literals
//! (`IB(?:KR)? and` → `IB and`, `IBKR and`); ASCII case-insensitive
//! letters become case-insensitive literals instead of multiplying.

use regex_syntax::hir::{Class, Hir, HirKind};

/// A prefilter literal: bytes, some of whose letters may match either ASCII
/// case. Case is kept per position because `- [Cc]ode: 1100` has two
/// spellings, not the sixteen a whole-literal flag would give.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Literal {
    /// The bytes to find; lowercase at the folded positions.
    pub bytes: Vec<u8>,
    /// Byte offsets of letters that match either ASCII case (empty: an
    /// exact, case-sensitive literal).
    pub fold: Vec<u32>,
}

impl Literal {
    /// An exact literal.
    pub fn cs(bytes: &[u8]) -> Literal {
        Literal { bytes: bytes.to_vec(), fold: Vec::new() }
    }

    /// A literal matched ignoring ASCII case throughout.
    pub fn folded(bytes: &[u8]) -> Literal {
        let bytes = bytes.to_ascii_lowercase();
        let fold = (0..bytes.len()).filter(|&i| bytes[i].is_ascii_alphabetic()).map(|i| i as u32).collect();
        Literal { bytes, fold }
    }

    /// Returns true if and only if some letter matches either case.
    pub fn ci(&self) -> bool {
        !self.fold.is_empty()
    }

    fn concat(&self, other: &Literal) -> Literal {
        let bytes = [self.bytes.as_slice(), other.bytes.as_slice()].concat();
        let shift = self.bytes.len() as u32;
        let fold = self.fold.iter().copied().chain(other.fold.iter().map(|i| i + shift)).collect();
        Literal { bytes, fold }
    }

    /// The bytes in `start..end`, with their folding.
    fn slice(&self, start: usize, end: usize) -> Literal {
        let fold =
            self.fold.iter().filter(|&&i| (start..end).contains(&(i as usize))).map(|i| i - start as u32).collect();
        Literal { bytes: self.bytes[start..end].to_vec(), fold }
    }
}

/// Largest exact set kept while multiplying.
const MAX_SET: usize = 32;
/// Literals shorter than this are not worth a prefilter: they hit nearly
/// every line.
const MIN_LEN: usize = 3;

#[derive(Debug, Clone, Default)]
struct Info {
    exact: Option<Vec<Literal>>,
    required: Option<Vec<Literal>>,
}

/// Extracts a required set from `pattern`, or `None` when the regex has no
/// literal worth prefiltering on (the rule then runs unfiltered).
pub fn extract(pattern: &str) -> Option<Vec<Literal>> {
    let hir = regex_syntax::ParserBuilder::new().utf8(false).build().parse(pattern).ok()?;
    let info = analyze(&hir);
    let best = pick(vec![info.required, info.exact].into_iter().flatten().collect())?;
    Some(split_lines(best))
}

fn analyze(hir: &Hir) -> Info {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Info { exact: Some(vec![Literal::cs(b"")]), required: None },
        HirKind::Literal(lit) => {
            let l = vec![Literal::cs(&lit.0)];
            Info { exact: Some(l.clone()), required: Some(l) }
        }
        HirKind::Class(class) => {
            let exact = class_literals(class);
            Info { required: exact.clone(), exact }
        }
        HirKind::Capture(cap) => analyze(&cap.sub),
        HirKind::Repetition(rep) => {
            let sub = analyze(&rep.sub);
            match (rep.min, rep.max) {
                (1, Some(1)) => sub,
                (0, Some(1)) => {
                    let exact = sub.exact.map(|mut e| {
                        e.push(Literal::cs(b""));
                        e
                    });
                    Info { exact: exact.filter(|e| e.len() <= MAX_SET), required: None }
                }
                (min, _) if min >= 1 => {
                    Info { exact: None, required: pick(vec![sub.required, sub.exact].into_iter().flatten().collect()) }
                }
                _ => Info::default(),
            }
        }
        HirKind::Concat(subs) => concat(subs),
        HirKind::Alternation(subs) => alternation(subs),
    }
}

fn concat(subs: &[Hir]) -> Info {
    let mut candidates: Vec<Vec<Literal>> = Vec::new();
    let mut run: Vec<Literal> = vec![Literal::cs(b"")];
    let mut all_exact = true;
    for sub in subs {
        let info = analyze(sub);
        if let Some(req) = info.required {
            candidates.push(req);
        }
        match info.exact {
            Some(exact) => match product(&run, &exact) {
                Some(p) => run = p,
                None => {
                    all_exact = false;
                    candidates.push(std::mem::replace(&mut run, exact));
                }
            },
            None => {
                all_exact = false;
                candidates.push(std::mem::replace(&mut run, vec![Literal::cs(b"")]));
            }
        }
    }
    let exact = all_exact.then(|| run.clone());
    candidates.push(run);
    Info { exact, required: pick(candidates) }
}

fn alternation(subs: &[Hir]) -> Info {
    let infos: Vec<Info> = subs.iter().map(analyze).collect();
    let exact = infos
        .iter()
        .map(|i| i.exact.clone())
        .collect::<Option<Vec<_>>>()
        .map(|sets| dedup(sets.concat()))
        .filter(|e| e.len() <= MAX_SET);
    let required = infos
        .into_iter()
        .map(|i| pick(vec![i.required, i.exact].into_iter().flatten().collect()))
        .collect::<Option<Vec<_>>>()
        .map(|sets| dedup(sets.concat()));
    Info { exact, required }
}

fn product(a: &[Literal], b: &[Literal]) -> Option<Vec<Literal>> {
    if a.len() * b.len() > MAX_SET {
        return None;
    }
    let out: Vec<Literal> = a.iter().flat_map(|x| b.iter().map(move |y| x.concat(y))).collect();
    Some(dedup(out))
}

fn dedup(mut v: Vec<Literal>) -> Vec<Literal> {
    v.sort();
    v.dedup();
    v
}

/// A class becomes literals when it is small: `[Ee]` is one
/// case-insensitive `e`; `[Kk\u{212A}]` (Unicode case folding adds the
/// Kelvin sign) is `k` case-insensitively plus the Kelvin sign.
fn class_literals(class: &Class) -> Option<Vec<Literal>> {
    let mut chars: Vec<Vec<u8>> = Vec::new();
    match class {
        Class::Unicode(c) => {
            for r in c.iter() {
                if (r.end() as u32) - (r.start() as u32) >= 8 {
                    return None;
                }
                for ch in r.start()..=r.end() {
                    let mut buf = [0u8; 4];
                    chars.push(ch.encode_utf8(&mut buf).as_bytes().to_vec());
                }
            }
        }
        Class::Bytes(c) => {
            for r in c.iter() {
                if r.end() - r.start() >= 8 {
                    return None;
                }
                chars.extend((r.start()..=r.end()).map(|b| vec![b]));
            }
        }
    }
    let mut out: Vec<Literal> = Vec::new();
    for ch in &chars {
        let folded = match ch.as_slice() {
            [b] if b.is_ascii_alphabetic() => {
                let other = if b.is_ascii_lowercase() { b.to_ascii_uppercase() } else { b.to_ascii_lowercase() };
                chars.iter().any(|c| c.as_slice() == [other])
            }
            _ => false,
        };
        out.push(if folded { Literal::folded(ch) } else { Literal::cs(ch) });
    }
    let out = dedup(out);
    (out.len() <= 4).then_some(out)
}

/// The best of several required sets: the one whose weakest literal is
/// strongest, then the smaller set. `None` if even the best is too weak.
fn pick(candidates: Vec<Vec<Literal>>) -> Option<Vec<Literal>> {
    candidates
        .into_iter()
        .filter(|set| !set.is_empty())
        .map(|set| (set.iter().map(strength).min().unwrap_or(0), set))
        .filter(|(min, _)| *min >= MIN_LEN)
        .max_by(|(ma, a), (mb, b)| ma.cmp(mb).then(b.len().cmp(&a.len())))
        .map(|(_, set)| set)
}

/// Most letters a case-insensitive literal may have and still be searched
/// fast: the prefilter turns it into its 2^n case variants.
pub const CI_VARIANT_LETTERS: usize = 4;

/// How good a literal is for searching: its usable length, except that a
/// case-insensitive literal with many letters has to go through a slow
/// case-insensitive automaton, so a case-sensitive piece a quarter its
/// length is preferred (`[Pp]eer authentication failed` searches by
/// `eer authentication failed`).
// Mutants here are equivalent: strength only ranks required sets, every
// one of which is correct; a mutant picks another (or none: the unit then
// runs on every record), which costs speed, never a match.
#[cfg_attr(test, mutants::skip)]
fn strength(l: &Literal) -> usize {
    let len = usable_len(&l.bytes);
    if l.fold.len() > CI_VARIANT_LETTERS { len / 4 } else { len }
}

/// Length of the longest piece between line breaks: a literal that spans
/// lines is searched by that piece only (see [`split_lines`]).
// Equivalent mutants, as for `strength` (its only caller): a ranking.
#[cfg_attr(test, mutants::skip)]
fn usable_len(bytes: &[u8]) -> usize {
    bytes.split(|b| *b == b'\n' || *b == b'\r').map(<[u8]>::len).max().unwrap_or(0)
}

/// Records are matched with line prefixes (timestamps, `pm2 logs` columns)
/// removed, but the prefilter runs over raw bytes, where a prefix may sit
/// between two lines of a literal. The longest single-line piece of each
/// literal is present in the raw bytes whenever the literal is in the
/// cleaned record.
fn split_lines(set: Vec<Literal>) -> Vec<Literal> {
    let pieces = set.into_iter().map(|l| {
        let mut best = (0, 0);
        let mut start = 0;
        for end in (0..=l.bytes.len()).filter(|&i| i == l.bytes.len() || matches!(l.bytes[i], b'\n' | b'\r')) {
            if end - start > best.1 - best.0 {
                best = (start, end);
            }
            start = end + 1;
        }
        l.slice(best.0, best.1)
    });
    dedup(pieces.collect())
}

/// The literals a rule author wrote (`literals = [...]`), as the
/// prefilter searches them: case-insensitively when every regex of the
/// rule is `(?i)`.
pub fn from_rule(rule: &crate::rules::Rule) -> Vec<Literal> {
    let ci = rule.regexes.iter().all(|re| re.as_str().starts_with("(?i)"));
    rule.literals.iter().map(|l| if ci { Literal::folded(l.as_bytes()) } else { Literal::cs(l.as_bytes()) }).collect()
}

/// Returns true if and only if every match of `pattern` is known to
/// contain one of `lits`: the check that hand-written literals cannot make
/// the prefilter skip a record the regex would match. Conservative: a
/// `false` may be a set that is in fact sufficient but that this walk
/// cannot prove (then the author can drop `literals` and let them be
/// extracted).
pub fn covers(pattern: &str, lits: &[Literal]) -> bool {
    let parsed = regex_syntax::ParserBuilder::new().utf8(false).build().parse(pattern);
    parsed.is_ok_and(|hir| covered(&hir, lits))
}

fn covered(hir: &Hir, lits: &[Literal]) -> bool {
    if all_contain(analyze(hir).exact.as_deref(), lits) {
        return true;
    }
    match hir.kind() {
        HirKind::Capture(cap) => covered(&cap.sub, lits),
        HirKind::Repetition(rep) => rep.min >= 1 && covered(&rep.sub, lits),
        HirKind::Concat(subs) => subs.iter().any(|s| covered(s, lits)) || runs_covered(subs, lits),
        HirKind::Alternation(subs) => subs.iter().all(|s| covered(s, lits)),
        _ => false,
    }
}

/// A literal may straddle pieces of a concatenation (`IB(?:KR)? and`
/// holds `KR and` only in one branch): try every run of consecutive pieces
/// whose exact strings are few enough to list.
fn runs_covered(subs: &[Hir], lits: &[Literal]) -> bool {
    let exact: Vec<Option<Vec<Literal>>> = subs.iter().map(|s| analyze(s).exact).collect();
    for start in 0..subs.len() {
        let mut run = vec![Literal::cs(b"")];
        for set in &exact[start..] {
            let Some(next) = set.as_ref().and_then(|set| product(&run, set)) else { break };
            run = next;
            if all_contain(Some(&run), lits) {
                return true;
            }
        }
    }
    false
}

fn all_contain(strings: Option<&[Literal]>, lits: &[Literal]) -> bool {
    strings.is_some_and(|set| !set.is_empty() && set.iter().all(|s| lits.iter().any(|l| contains(s, l))))
}

/// Whether every string `s` stands for contains `lit`.
fn contains(s: &Literal, lit: &Literal) -> bool {
    let n = lit.bytes.len();
    n == 0 || (0..=s.bytes.len().saturating_sub(n)).any(|off| n <= s.bytes.len() && matches_at(s, lit, off))
}

/// Whether `lit` matches every spelling of `s` at `off`: where `s` allows
/// either case, `lit` must too.
fn matches_at(s: &Literal, lit: &Literal, off: usize) -> bool {
    lit.bytes.iter().enumerate().all(|(i, &lb)| {
        let sb = s.bytes[off + i];
        let s_folds = s.fold.contains(&((off + i) as u32));
        let l_folds = lit.fold.contains(&(i as u32));
        match (s_folds, l_folds) {
            (true, true) | (false, true) => sb.eq_ignore_ascii_case(&lb),
            (false, false) => sb == lb,
            (true, false) => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(pattern: &str) -> Vec<String> {
        extract(pattern)
            .unwrap_or_default()
            .into_iter()
            .map(|l| {
                // Folded letters shown upper case: `[Cc]ode` gives `Code`.
                let mut b = l.bytes.clone();
                l.fold.iter().for_each(|&i| b[i as usize].make_ascii_uppercase());
                String::from_utf8_lossy(&b).into_owned()
            })
            .collect()
    }

    #[test]
    fn picks_the_longest_required_piece() {
        assert_eq!(
            lits(r"App \[(?P<app>.+):(?P<id>\d+)\] exited with code \[(?P<code>\d+)\]"),
            vec!["] exited with code ["]
        );
    }

    #[test]
    fn multiplies_small_alternations() {
        assert_eq!(
            lits(r"Connectivity between IB(?:KR)? and"),
            vec!["Connectivity between IB and", "Connectivity between IBKR and"]
        );
    }

    #[test]
    fn alternation_needs_every_branch() {
        assert_eq!(
            lits(r"too many unstable restarts|errored state"),
            vec!["errored state", "too many unstable restarts"]
        );
        assert!(extract(r"too many unstable restarts|\d+").is_none());
    }

    #[test]
    fn case_insensitive_becomes_one_ci_literal() {
        assert_eq!(lits(r"(?i)heap out of memory"), vec!["HEAP OUT OF MEMORY"]);
        assert_eq!(lits(r"- [Cc]ode: 1100"), vec!["- Code: 1100"]);
    }

    #[test]
    fn kelvin_sign_is_not_lost() {
        // (?i)k matches U+212A; the set must still cover it.
        let set = extract(r"(?i)kill").expect("literals");
        let kelvin = Literal { bytes: "\u{212A}ill".as_bytes().to_vec(), fold: vec![3, 4, 5] };
        let ascii = Literal::folded(b"kill");
        assert_eq!(set, vec![ascii, kelvin]);
    }

    #[test]
    fn one_insensitive_letter_does_not_make_the_literal_insensitive() {
        assert_eq!(
            lits(r#"[Pp]eer authentication failed for user "(?P<u>\w+)""#),
            vec!["Peer authentication failed for user \""]
        );
    }

    #[test]
    fn no_literal_means_unfiltered() {
        assert!(extract(r"\d+ms?").is_none());
        assert!(extract(r".*").is_none());
    }

    fn covers_cs(pattern: &str, lits: &[&str]) -> bool {
        let lits: Vec<Literal> = lits.iter().map(|l| Literal::cs(l.as_bytes())).collect();
        covers(pattern, &lits)
    }

    #[test]
    fn hand_written_literals_must_be_required() {
        assert!(covers_cs(r"connect ECONNREFUSED (?P<host>[\d.]+):6379", &["ECONNREFUSED"]));
        assert!(covers_cs(r"(?:ECONNREFUSED|ETIMEDOUT) \d+", &["ECONNREFUSED", "ETIMEDOUT"]));
        assert!(covers_cs(r"IB(?:KR)? and TWS", &["B and TWS", "KR and"]));
        assert!(covers_cs(r"- [Cc]ode: 1100", &["ode: 1100"]));
        assert!(!covers_cs(r"- [Cc]ode: 1100", &["Code: 1100"]));
        assert!(covers(r"- [Cc]ode: 1100", &[Literal { bytes: b"code".to_vec(), fold: vec![0] }]));
        // One branch of the alternation holds none of them.
        assert!(!covers_cs(r"(?:ECONNREFUSED|ETIMEDOUT) \d+", &["ECONNREFUSED"]));
        // Optional text is not required.
        assert!(!covers_cs(r"exited(?: with code)? \d+", &["with code"]));
        // Case: a case-sensitive literal does not cover a (?i) regex.
        assert!(!covers_cs(r"(?i)heap out of memory", &["heap out of memory"]));
        let ci = [Literal::folded(b"heap out")];
        assert!(covers(r"(?i)javascript heap out of memory", &ci));
        assert!(!covers_cs(r"abc", &["abcd"]));
    }

    /// Byte classes (`(?-u)`) are measured by their width, high bytes and
    /// ranges from `\x00` (a negated class, `.`) included: a small one
    /// becomes literals, a wide one none.
    #[test]
    fn byte_classes_of_every_range() {
        let set = extract(r"(?-u)[\xfe\xff]ECONN").expect("set");
        assert_eq!(set, [Literal::cs(b"\xfeECONN"), Literal::cs(b"\xffECONN")]);
        assert_eq!(extract(r"(?-u)ECONN[^x]").expect("set"), [Literal::cs(b"ECONN")]);
        assert_eq!(extract(r"(?-u)ECONN.RES").expect("set"), [Literal::cs(b"ECONN")]);
    }

    #[test]
    fn multi_line_literals_keep_their_longest_line() {
        assert_eq!(lits(r"fromPromise \*/\);\n\s+\^"), vec!["fromPromise */);"]);
    }
}
