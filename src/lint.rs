//! Checks on loaded rules that need the matcher's view of them, or every
//! pack at once: whether hand-written prefilter literals are ones the regex
//! requires (an error: the prefilter would skip records the regex matches),
//! whether `supersedes` names loaded rules and forms no cycle (errors: a
//! typo would silently drop nothing, a cycle would drop both rules), and
//! which rules have no usable prefilter literal at all (a warning: they run
//! their regex on every record). Hands on [`Diagnostic`]s; `rules check`
//! prints them, `scan` refuses to run on errors.

use std::fmt;

use crate::matcher::literals;
use crate::matcher::prefilter;
use crate::rules::{ContextKind, Correlation, Role, Rule, RuleError, RuleSet, UnitId};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The rule would give wrong results; loading refuses it.
    Error,
    /// The rule works but costs or risks something worth knowing.
    Warning,
}

/// One finding about one rule, located in its pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// Where and what.
    pub at: RuleError,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.level {
            Level::Error => write!(f, "{}", self.at),
            Level::Warning => {
                let RuleError { file, line, col, message } = &self.at;
                write!(f, "{file}:{line}:{col}: warning: {message}")
            }
        }
    }
}

/// Lints every rule of `rules`; diagnostics in rule order, errors of a
/// rule before its warnings.
pub fn lint(rules: &RuleSet) -> Vec<Diagnostic> {
    let unfiltered = prefilter::unfiltered_units(rules);
    let mut out = Vec::new();
    for (idx, rule) in rules.rules().iter().enumerate() {
        out.extend(literal_errors(rule));
        out.extend(supersedes_errors(rules, idx));
        if rule.action.is_none() {
            out.push(no_action_warning(rule));
        }
        for role in rule.roles() {
            if unfiltered.contains(&UnitId::new(idx, role).0) {
                out.push(no_literal_warning(rule, role));
            }
        }
    }
    out
}

/// The errors [`lint`] finds, without the warnings: what loading refuses.
/// Cheaper than [`lint`] (no literal extraction for every regex; the
/// matcher does that once when it builds its prefilter), which every
/// `scan` pays for at start-up.
pub fn errors(rules: &RuleSet) -> Vec<Diagnostic> {
    rules.rules().iter().flat_map(literal_errors).collect()
}

/// Hand-written literals every match of every regex must contain.
fn literal_errors(rule: &Rule) -> Vec<Diagnostic> {
    if rule.literals.is_empty() {
        return Vec::new();
    }
    let (line, col) = rule.literals_at.unwrap_or_else(|| rule_line(rule));
    let error =
        |message: String| Diagnostic { level: Level::Error, at: RuleError { file: file_of(rule), line, col, message } };
    if let Some(l) = rule.literals.iter().find(|l| l.contains('\n') || l.contains('\r')) {
        return vec![error(format!(
            "literal {l:?} spans lines; the prefilter searches raw bytes where a line prefix may sit between them: \
             use one line of it"
        ))];
    }
    let lits = literals::from_rule(rule);
    rule.regexes
        .iter()
        .filter(|re| !literals::covers(re.as_str(), &lits))
        .map(|re| {
            error(format!(
                "literals {:?} are not required by regex '{}': a record it matches may hold none of them, \
                 and the prefilter would skip it. List strings every match contains, or drop `literals` \
                 to have them extracted from the regex",
                rule.literals,
                re.as_str()
            ))
        })
        .collect()
}

/// `supersedes` ids that name no loaded rule, and a cycle through this
/// rule (reported at each rule on it).
fn supersedes_errors(rules: &RuleSet, idx: usize) -> Vec<Diagnostic> {
    let rule = &rules.rules()[idx];
    let (line, col) = rule.supersedes_at.unwrap_or_else(|| rule_line(rule));
    let error =
        |message: String| Diagnostic { level: Level::Error, at: RuleError { file: file_of(rule), line, col, message } };
    let mut out = Vec::new();
    for id in rule.supersedes.iter().filter(|id| rules.get(id).is_none()) {
        out.push(error(format!(
            "rule '{}' supersedes '{id}', which is not a loaded rule: check the id (`logtriage rules list`)",
            rule.id
        )));
    }
    if let Some(cycle) = supersedes_cycle(rules, idx) {
        out.push(error(format!(
            "supersedes forms a cycle ({}): on a record both match, each would drop the other; keep one direction",
            cycle.join(" -> ")
        )));
    }
    out
}

/// The ids on a `supersedes` path from rule `idx` back to itself, if any
/// (depth first, in the order the lists are written).
fn supersedes_cycle(rules: &RuleSet, idx: usize) -> Option<Vec<String>> {
    let start = &rules.rules()[idx].id;
    let mut path = vec![start.clone()];
    let mut seen = std::collections::BTreeSet::new();
    fn walk(
        rules: &RuleSet,
        id: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut std::collections::BTreeSet<String>,
    ) -> bool {
        let Some(rule) = rules.get(id) else { return false };
        for next in &rule.supersedes {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(rules, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    walk(rules, start, start, &mut path, &mut seen).then_some(path)
}

fn no_literal_warning(rule: &Rule, role: Role) -> Diagnostic {
    // At the regex the warning is about, so an editor jumps to it.
    let at = &rule.regexes_at;
    let (line, col) = match role {
        Role::Start => Some(at.start),
        Role::End => at.end,
        Role::Context(n) => at.context.get(usize::from(n)).copied(),
    }
    .unwrap_or_else(|| rule_line(rule));
    let which = match (role, &rule.correlate) {
        (Role::Start, _) => "its regex".to_string(),
        (Role::End, Correlation::Sequence { .. }) => "its `then` regex".to_string(),
        (Role::End, _) => "its `until` regex".to_string(),
        (Role::Context(n), _) => match rule.context.get(usize::from(n)).map(|c| &c.kind) {
            Some(ContextKind::Unless { .. }) => "its `unless` regex".to_string(),
            _ => "its `context` regex".to_string(),
        },
    };
    let message = format!(
        "rule '{}': {which} has no literal of 3 or more bytes that every match contains, so it runs on every \
         record (slow on large logs); anchor it on fixed text such as an error code or message",
        rule.id
    );
    Diagnostic { level: Level::Warning, at: RuleError { file: file_of(rule), line, col, message } }
}

fn no_action_warning(rule: &Rule) -> Diagnostic {
    let (line, col) = rule_line(rule);
    let message = format!(
        "rule '{}' has no `action`: the default text view shows its whole `fix`; write the sentences that say \
         what to do as `action` (the `fix` keeps the explanation)",
        rule.id
    );
    Diagnostic { level: Level::Warning, at: RuleError { file: file_of(rule), line, col, message } }
}

fn file_of(rule: &Rule) -> String {
    rule.origin.rsplit_once(':').map_or(rule.origin.clone(), |(f, _)| f.to_string())
}

fn rule_line(rule: &Rule) -> (usize, usize) {
    (rule.origin.rsplit_once(':').and_then(|(_, l)| l.parse().ok()).unwrap_or(1), 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::compile_all;

    fn lint_pack(body: &str) -> Vec<String> {
        let pack =
            format!("[[rule]]\nid = \"x.y\"\ntitle = \"t\"\nseverity = \"low\"\nfix = \"f\"\n{body}\naction = \"a\"\n");
        let set = compile_all(&[("p.toml".into(), pack)]).expect("compiles");
        lint(&set).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn unrequired_literal_is_an_error_at_the_key() {
        let d = lint_pack("literals = [\"ETIMEDOUT\"]\nregex = '(?:ECONNREFUSED|ETIMEDOUT) \\d+'\n");
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("p.toml:6:12: literals [\"ETIMEDOUT\"] are not required"), "{d:?}");
        assert!(
            lint_pack("literals = [\"ECONNREFUSED\", \"ETIMEDOUT\"]\nregex = '(?:ECONNREFUSED|ETIMEDOUT)'\n")
                .is_empty()
        );
    }

    #[test]
    fn context_regex_without_literal_is_a_warning_naming_it() {
        let d = lint_pack(
            "regex = 'exited (?P<app>\\w+)'\nunless = { regex = '\\d+ms', within = \"5s\" }\n\
             context = { regex = 'online (?P<app>\\w+)', before = \"1m\", key = [\"app\"] }\n",
        );
        assert_eq!(d.len(), 1, "{d:?}");
        // At the entry's regex, line 7 of the pack.
        assert!(d[0].starts_with("p.toml:7:20: warning: rule 'x.y': its `unless` regex has no literal"), "{d:?}");
    }

    fn lint_packs(rules: &[(&str, &str)]) -> Vec<String> {
        let pack: String = rules
            .iter()
            .map(|(id, body)| {
                format!("[[rule]]\nid = \"{id}\"\ntitle = \"t\"\nseverity = \"low\"\nregex = 'fixed {id}'\nfix = \"f\"\n{body}\naction = \"a\"\n")
            })
            .collect();
        let set = compile_all(&[("p.toml".into(), pack)]).expect("compiles");
        lint(&set).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn supersedes_must_name_loaded_rules() {
        let d = lint_packs(&[("a.b", "supersedes = [\"a.c\", \"a.typo\"]"), ("a.c", "")]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("p.toml:7:14: rule 'a.b' supersedes 'a.typo', which is not a loaded rule"), "{d:?}");
    }

    #[test]
    fn supersedes_cycles_are_errors_at_each_rule_on_them() {
        let d = lint_packs(&[
            ("a.b", "supersedes = [\"a.c\"]"),
            ("a.c", "supersedes = [\"a.d\"]"),
            ("a.d", "supersedes = [\"a.b\"]"),
            ("a.e", "supersedes = [\"a.b\"]"),
        ]);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[0].contains("supersedes forms a cycle (a.b -> a.c -> a.d -> a.b)"), "{d:?}");
        assert!(d[2].contains("(a.d -> a.b -> a.c -> a.d)"), "{d:?}");
        // A chain without a cycle is fine.
        assert!(
            lint_packs(&[("a.b", "supersedes = [\"a.c\"]"), ("a.c", "supersedes = [\"a.d\"]"), ("a.d", "")]).is_empty()
        );
    }

    #[test]
    fn regex_without_literal_is_a_warning() {
        let d = lint_pack("regex = '\\d+ms'\n");
        assert_eq!(d.len(), 1, "{d:?}");
        // At the regex (line 6, its value), not the rule's first line.
        assert!(d[0].starts_with("p.toml:6:9: warning: rule 'x.y': its regex has no literal"), "{d:?}");
        let until =
            lint_pack("regex = 'link down'\ncorrelate = { kind = \"absence\", until = '\\d+ms', window = \"2m\" }\n");
        assert_eq!(until.len(), 1, "{until:?}");
        assert!(until[0].starts_with("p.toml:7:13: warning: rule 'x.y': its `until` regex"), "{until:?}");
    }

    /// A rule without `action` is a warning naming the key to write.
    #[test]
    fn a_rule_without_an_action_is_a_warning() {
        let set = compile_all(&[(
            "p.toml".into(),
            "[[rule]]\nid = \"x.y\"\ntitle = \"t\"\nseverity = \"low\"\nfix = \"f\"\nregex = 'fixed text'\n".into(),
        )])
        .expect("compiles");
        let d: Vec<String> = lint(&set).iter().map(ToString::to_string).collect();
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("p.toml:1:1: warning: rule 'x.y' has no `action`"), "{d:?}");
    }

    /// What `scan` refuses to load on is exactly lint's errors: `errors`
    /// skips only the warnings.
    #[test]
    fn errors_are_lints_errors() {
        let pack = "[[rule]]\nid = \"x.y\"\ntitle = \"t\"\nseverity = \"low\"\nfix = \"f\"\n\
                    literals = [\"ETIMEDOUT\"]\nregex = '(?:ECONNREFUSED|ETIMEDOUT) \\d+'\n\
                    [[rule]]\nid = \"x.z\"\ntitle = \"t\"\nseverity = \"low\"\nfix = \"f\"\nregex = '\\d+ms'\n";
        let set = compile_all(&[("p.toml".into(), pack.into())]).expect("compiles");
        let all = lint(&set);
        // The literal error; the warnings: no literal for x.z, no action
        // for either.
        assert_eq!(all.len(), 4, "{all:?}");
        let refused: Vec<_> = all.into_iter().filter(|d| d.level == Level::Error).collect();
        assert_eq!(errors(&set), refused);
    }
}
