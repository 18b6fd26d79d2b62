//! Prints the built-in rule pack's regexes as ripgrep patterns, one per
//! line, for `benches/compare.sh` (`rg -c -f PATTERNS`): the baseline does
//! the same regex work as logtriage's rules, minus records, correlation and
//! reporting.
//!
//! ```text
//! cargo run --release --example rg_patterns > bench-corpus/rg-patterns.txt
//! ```
//!
//! rg searches line by line and refuses a pattern holding a literal line
//! break. A rule regex that spans lines (a Node crash dump: header, caret,
//! error) is cut to the part before its first line break, which rg then
//! searches on every line: less work than logtriage's whole-record match,
//! so the comparison leans in rg's favour.

use std::process::ExitCode;

use regex_syntax::hir::{Hir, HirKind};

fn main() -> ExitCode {
    let rules = match logtriage::rules::load(&logtriage::rules::LoadOptions { builtin: true, paths: vec![] }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rg_patterns: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    for rule in rules.rules() {
        let follow = rule.correlate.follow().unwrap_or(&[]);
        for re in rule.regexes.iter().chain(follow) {
            match single_line(re.as_str()) {
                Some(p) if seen.insert(p.clone()) => println!("{p}"),
                Some(_) => {}
                None => eprintln!("rg_patterns: {}: no single-line part in {}", rule.id, re.as_str()),
            }
        }
    }
    ExitCode::SUCCESS
}

/// The pattern itself when it holds no literal line break; else the part of
/// its top-level concatenation before the first piece that does. Group
/// names are dropped: rg joins all patterns into one regex, where two rules
/// naming a group `app` would clash.
fn single_line(pattern: &str) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new().utf8(false).build().parse(pattern).ok()?;
    if !has_newline(&hir) {
        return Some(pattern.replace("(?P<", "(?<").split("(?<").enumerate().map(unname).collect());
    }
    let HirKind::Concat(subs) = hir.kind() else { return None };
    let mut prefix: Vec<Hir> = Vec::new();
    for sub in subs {
        if !has_newline(sub) {
            prefix.push(uncapture(sub));
            continue;
        }
        // Adjacent literals are merged: `\);\n` is one piece; keep its line.
        if let HirKind::Literal(lit) = sub.kind() {
            let line = lit.0.split(|b| *b == b'\n').next().unwrap_or(&[]);
            if !line.is_empty() {
                prefix.push(Hir::literal(line.to_vec()));
            }
        }
        break;
    }
    (!prefix.is_empty()).then(|| Hir::concat(prefix).to_string())
}

/// `name>rest` (a piece after `(?<`) → `(?:rest`; the first piece as is.
fn unname((i, piece): (usize, &str)) -> String {
    match (i, piece.split_once('>')) {
        (0, _) | (_, None) => piece.to_string(),
        (_, Some((_, rest))) => format!("(?:{rest}"),
    }
}

fn uncapture(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Capture(c) => uncapture(&c.sub),
        HirKind::Repetition(r) => {
            Hir::repetition(regex_syntax::hir::Repetition { sub: Box::new(uncapture(&r.sub)), ..r.clone() })
        }
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(uncapture).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(uncapture).collect()),
        _ => hir.clone(),
    }
}

fn has_newline(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Literal(lit) => lit.0.contains(&b'\n'),
        HirKind::Capture(c) => has_newline(&c.sub),
        HirKind::Repetition(r) => has_newline(&r.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().any(has_newline),
        HirKind::Empty | HirKind::Look(_) | HirKind::Class(_) => false,
    }
}
