//! Rule packs: TOML files of `[[rule]]` tables, loaded, validated and
//! compiled once. Hands on a [`RuleSet`] that every later stage reads; no
//! stage changes it.
//!
//! A rule is one unit (ruff's registry idea): id, title, severity, the
//! streams it reads, its regex(es) with optional prefilter literals, how its
//! matches correlate, and the fix text. Loading collects every problem in
//! every pack and reports each as `file:line:col: message`.

mod builtin;
mod compile;
mod schema;
pub mod template;
mod window;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

pub use crate::error::{LoadError, RuleError};
use crate::input::Stream;
pub use template::{Filled, Template, Value};
pub use window::Window;

/// How bad an incident is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, no action needed.
    Info,
    /// Minor; look when convenient.
    Low,
    /// Degraded; plan a fix.
    Medium,
    /// An outage or a crash; act now.
    High,
    /// Service down or data at risk.
    Critical,
}

impl Severity {
    /// All severities, most severe first.
    pub const ALL_DESC: [Severity; 5] =
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info];

    /// The lower-case name used in rule files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a lower-case severity name.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL_DESC.into_iter().find(|sev| sev.as_str() == s)
    }
}

/// Which log streams a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamFilter {
    out: bool,
    err: bool,
    daemon: bool,
}

impl StreamFilter {
    /// Every stream.
    pub const ANY: StreamFilter = StreamFilter { out: true, err: true, daemon: true };

    /// Returns true if and only if a record of `stream` is read by the rule.
    /// A stream that is not known (stdin, an unrecognised file name, a
    /// combined `APP.log`) is read by every rule whose filter is not
    /// daemon-only, and by daemon rules too: guessing it away would lose
    /// matches.
    pub fn accepts(self, stream: Stream) -> bool {
        match stream {
            Stream::Out => self.out,
            Stream::Err => self.err,
            Stream::Daemon => self.daemon,
            Stream::Combined => self.out || self.err,
            Stream::Unknown => true,
        }
    }

    /// The names, for listings.
    pub fn names(self) -> Vec<&'static str> {
        if self == StreamFilter::ANY {
            return vec!["any"];
        }
        let mut v = Vec::new();
        if self.out {
            v.push("out");
        }
        if self.err {
            v.push("err");
        }
        if self.daemon {
            v.push("daemon");
        }
        v
    }
}

/// How a rule's matches become incidents.
#[derive(Debug, Clone)]
pub enum Correlation {
    /// Every match counts; matches with the same group key fold into one
    /// incident with a count and first/last seen.
    Single,
    /// At least `count` matches with the same key within `window`.
    Threshold {
        /// Matches needed.
        count: u32,
        /// The span they must fall in (see [`crate::correlate::window`]).
        window: Window,
    },
    /// The rule's event followed by a `then` event with the same key
    /// within `window`: one incident per pair, carrying the gap (an outage
    /// and its length).
    Sequence {
        /// Regexes of the closing event.
        then: Vec<regex::bytes::Regex>,
        /// How long after the first event the closing one may come.
        window: Window,
    },
    /// The rule's event with no `until` event with the same key within
    /// `window`: evaluated when the window closes, or at the end of the
    /// input (then reported as not recovered by the end of the log).
    Absence {
        /// Regexes of the event that clears it.
        until: Vec<regex::bytes::Regex>,
        /// How long the clearing event may take.
        window: Window,
    },
}

impl Correlation {
    /// The regexes of the second event, for sequence and absence rules.
    pub fn follow(&self) -> Option<&[regex::bytes::Regex]> {
        match self {
            Correlation::Sequence { then, .. } => Some(then),
            Correlation::Absence { until, .. } => Some(until),
            Correlation::Single | Correlation::Threshold { .. } => None,
        }
    }

    /// The mode's name as written in `correlate.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Correlation::Single => "single",
            Correlation::Threshold { .. } => "threshold",
            Correlation::Sequence { .. } => "sequence",
            Correlation::Absence { .. } => "absence",
        }
    }

    /// One phrase for listings: `threshold: 5 within 5m`.
    pub fn describe(&self) -> String {
        match self {
            Correlation::Single => "single: every match".to_string(),
            Correlation::Threshold { count, window } => format!("threshold: {count} within {window}"),
            Correlation::Sequence { window, .. } => format!("sequence: then within {window}"),
            Correlation::Absence { window, .. } => format!("absence: no until within {window}"),
        }
    }

    /// The window, if the mode has one.
    pub fn window(&self) -> Option<&Window> {
        match self {
            Correlation::Single => None,
            Correlation::Threshold { window, .. }
            | Correlation::Sequence { window, .. }
            | Correlation::Absence { window, .. } => Some(window),
        }
    }
}

/// Which of a rule's regexes a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The rule's own regex: the event that opens an incident.
    Start,
    /// The `then` / `until` regex of a sequence or absence rule.
    End,
    /// The regex of the rule's n-th [`Context`] entry (`unless` entries
    /// first, then `context` ones, as written): not an incident itself, it
    /// changes how the start events around it are read.
    Context(u8),
}

/// Most context entries (`unless` and `context` together) a rule may have:
/// each is a matcher unit, and a rule owns [`UNITS_PER_RULE`] unit ids.
pub const MAX_CONTEXT: usize = 6;

/// Unit ids per rule: start, end and the context entries.
pub const UNITS_PER_RULE: u32 = 2 + MAX_CONTEXT as u32;

/// A rule's regexes for one role: the unit the prefilter and the matcher
/// work on. Its id is `rule * UNITS_PER_RULE + slot`, where the slot is 0
/// for the start, 1 for the end and `2 + n` for context entry `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitId(pub u32);

impl UnitId {
    /// The unit of `rule` in `role`.
    pub fn new(rule: usize, role: Role) -> UnitId {
        let slot = match role {
            Role::Start => 0,
            Role::End => 1,
            Role::Context(n) => 2 + u32::from(n),
        };
        UnitId(rule as u32 * UNITS_PER_RULE + slot)
    }

    /// The dense rule index.
    pub fn rule(self) -> usize {
        (self.0 / UNITS_PER_RULE) as usize
    }

    /// The role.
    pub fn role(self) -> Role {
        match self.0 % UNITS_PER_RULE {
            0 => Role::Start,
            1 => Role::End,
            slot => Role::Context((slot - 2) as u8),
        }
    }
}

/// Another regex of a rule whose matches are not incidents but change how
/// the rule's start events are read (`unless` and `context` in a pack; see
/// `correlate::context`). Events pair with start events whose `key` fields
/// hold the same values, in the same file or (with [`Scope::App`]) in any
/// file of the same app.
#[derive(Debug, Clone)]
pub struct Context {
    /// The regexes, tried in order; the first that matches decides the
    /// fields.
    pub regexes: Vec<regex::bytes::Regex>,
    /// Fields both events must have, with equal values (`app` is the
    /// event's app); empty pairs any two events of the rule.
    pub key: Vec<String>,
    /// What a match does to the start events around it.
    pub kind: ContextKind,
    /// Where the paired line may come from.
    pub scope: Scope,
    /// The rule's regexes (0-based) whose matches the entry applies to;
    /// empty: all of them.
    pub shapes: Vec<u8>,
}

impl Context {
    /// One phrase for `rules explain`: `unless: within 10s, same app,
    /// pm_id` or `context: nearest before within 1m, ...`.
    pub fn describe(&self) -> String {
        let key = if self.key.is_empty() { "any".to_string() } else { self.key.join(", ") };
        let scope = match self.scope {
            Scope::File => "",
            Scope::App => ", in any file of the app",
        };
        let shapes = if self.shapes.is_empty() {
            String::new()
        } else {
            let n: Vec<String> = self.shapes.iter().map(|s| (u32::from(*s) + 1).to_string()).collect();
            format!(", for regex {}", n.join(", "))
        };
        match &self.kind {
            ContextKind::Unless { within, every: true, .. } => {
                format!("unless: excuses every match of its key ({key}) within {within}{scope}{shapes}")
            }
            ContextKind::Unless { within, count: 1, .. } => {
                format!("unless: excuses the next match of its key ({key}) within {within}{scope}{shapes}")
            }
            ContextKind::Unless { within, count, .. } => {
                format!(
                    "unless: {count} or more since the last match excuse the next match of its key ({key}) within {within}{scope}{shapes}"
                )
            }
            ContextKind::Lend { side, span, since, require } => {
                let side = if *side == Side::Before { "before" } else { "after" };
                let since = since.as_ref().map(|s| format!(", time since it as {{{s}}}")).unwrap_or_default();
                let require = if *require { ", required" } else { "" };
                format!("context: nearest {side} within {span}, same {key}{since}{require}{scope}{shapes}")
            }
        }
    }

    /// Returns true if and only if the entry applies to a start event
    /// matched by the rule's regex number `shape` (0-based).
    pub fn applies_to(&self, shape: u8) -> bool {
        self.shapes.is_empty() || self.shapes.contains(&shape)
    }
}

/// What a [`Context`] entry does.
#[derive(Debug, Clone)]
pub enum ContextKind {
    /// `unless`: the next start event of its key (with `every`, each one)
    /// is not counted, if it comes less than `within` after the latest of
    /// its events and (without `every`) at least `count` of them came since
    /// the previous start event of that key.
    Unless {
        /// How soon the start event must follow.
        within: Window,
        /// Excuses every start event of its key within `within`, not only
        /// the next one.
        every: bool,
        /// How many events it takes (1 unless the rule says more): "the
        /// client announced a second retry" tells a failed retry from a
        /// reconnect at the first attempt.
        count: u32,
    },
    /// `context`: the nearest such event on `side` of a start event, less
    /// than `span` away, lends it the fields it lacks.
    Lend {
        /// Where to look.
        side: Side,
        /// How far to look.
        span: Window,
        /// A field to hold the time from the context event to the start
        /// event: `NAME_ms` on each event, `NAME` (a range) on incidents.
        since: Option<String>,
        /// A start event with no such context event is not counted.
        require: bool,
    },
}

/// Which side of a start event a [`ContextKind::Lend`] entry looks on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The nearest event before it.
    Before,
    /// The nearest event after it.
    After,
}

/// Where a [`Context`] entry's events may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The start event's own file, in the file's order (the default).
    File,
    /// Any file whose app is the start event's app, judged by log time
    /// (pm2 writes an app's exit to `pm2.log`, the app its error to
    /// `APP-error.log`). Lines without a time still pair only within their
    /// own file.
    App,
}

/// A compiled, validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable id such as `pm2.crash-loop`: the contract users filter on.
    pub id: String,
    /// Title template (placeholders as in `fix`).
    pub title: Template,
    /// Severity of the incidents it opens.
    pub severity: Severity,
    /// Streams it reads.
    pub streams: StreamFilter,
    /// Prefilter literals given in the rule; empty means "extract from the
    /// regex" (the matcher does that).
    pub literals: Vec<String>,
    /// The regexes, tried in order; the first that matches a record wins.
    pub regexes: Vec<regex::bytes::Regex>,
    /// Field names that make the group key (default `["app"]`).
    pub group_by: Vec<String>,
    /// Correlation mode.
    pub correlate: Correlation,
    /// After an incident for a key, matches within this span of its last
    /// match fold into it instead of opening a new one.
    pub suppress: Option<Window>,
    /// Fix text template.
    pub fix: Arc<Template>,
    /// The sentences of the fix that say what to do (`action`): what the
    /// default text view shows. `rules check` warns about a rule without
    /// one; every built-in rule has one.
    pub action: Option<Arc<Template>>,
    /// Links for the reader.
    pub references: Arc<[String]>,
    /// What the rule detects and why it matters, for `rules explain`.
    pub description: Option<String>,
    /// Inline `[[rule.example]]` cases, run by `rules test`.
    pub examples: Vec<Example>,
    /// Where the rule was defined, as `file:line`.
    pub origin: String,
    /// Where its `literals` key is, as (line, column), for diagnostics
    /// that need the matcher's view of the rule.
    pub literals_at: Option<(usize, usize)>,
    /// `unless` entries, then `context` entries, as written.
    pub context: Vec<Context>,
    /// Ids of rules whose matches on a record this rule matches are
    /// dropped (`supersedes`): the specific cause names the incident, the
    /// generic rule steps back.
    pub supersedes: Vec<String>,
    /// Where its `supersedes` key is, as (line, column).
    pub supersedes_at: Option<(usize, usize)>,
    /// Where its regexes are, as (line, column): `regex`, the `correlate`
    /// table holding `then` / `until`, and each `context` entry's `regex`
    /// (in `context` order), so lint warnings point at the pattern.
    pub regexes_at: RegexesAt,
    /// The story family its incidents fold into (besides repeats of its
    /// own rule and key, which every incident folds with).
    pub story: Option<Family>,
    /// `side = "server"`: it reads the dependency's own log (PostgreSQL's,
    /// Redis's), so in a `dependency:NAME` story its incident is the cause
    /// of what the apps saw.
    pub server: bool,
}

/// Positions of a rule's regexes in its pack (see [`Rule::regexes_at`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegexesAt {
    /// The `regex` value.
    pub start: (usize, usize),
    /// The `correlate` table, for its `then` / `until`.
    pub end: Option<(usize, usize)>,
    /// Each `unless` / `context` entry's `regex`, in [`Rule::context`] order.
    pub context: Vec<(usize, usize)>,
}

/// A rule's `story` key: which incidents of other rules its incidents fold
/// with into one story (see `crate::stories`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// `"restart"`: exits, restarts and the crashes that precede them, of
    /// one app.
    Restart,
    /// `"dependency:NAME"`: one outage of a shared dependency (`redis`,
    /// `postgres`, `tws`, ...), across every app that saw it.
    Dependency(String),
    /// `"symptom"`: what users of an app see while something behind it is
    /// down (a failing health check, a proxy's 5xx): joins the outage or
    /// the restarts it falls within.
    Symptom,
}

impl Family {
    /// Parses a `story` value; None for anything else.
    pub fn parse(s: &str) -> Option<Family> {
        match s {
            "restart" => return Some(Family::Restart),
            "symptom" => return Some(Family::Symptom),
            _ => {}
        }
        let name = s.strip_prefix("dependency:")?;
        let ok = !name.is_empty()
            && name.len() <= 32
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Family::Dependency(name.to_string()))
    }

    /// The value as written in a rule.
    pub fn as_key(&self) -> String {
        match self {
            Family::Restart => "restart".to_string(),
            Family::Symptom => "symptom".to_string(),
            Family::Dependency(name) => format!("dependency:{name}"),
        }
    }
}

/// An inline example: a log excerpt and the number of incidents of its
/// rule it must give when scanned alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The log text.
    pub log: String,
    /// Incidents of the rule expected.
    pub expect: usize,
    /// The pm2 file name it plays (app and stream come from it); `None`
    /// reads it like stdin: no app, every stream.
    pub plays: Option<String>,
    /// Where the table is, as `file:line`.
    pub origin: String,
}

impl Rule {
    /// The regexes of `role` (empty for a role the rule does not have).
    pub fn regexes_for(&self, role: Role) -> &[regex::bytes::Regex] {
        match role {
            Role::Start => &self.regexes,
            Role::End => self.correlate.follow().unwrap_or(&[]),
            Role::Context(n) => self.context.get(usize::from(n)).map_or(&[], |c| &c.regexes),
        }
    }

    /// The roles the rule has regexes for, in unit order.
    pub fn roles(&self) -> impl Iterator<Item = Role> + '_ {
        let context = (0..self.context.len()).map(|n| Role::Context(n as u8));
        [Role::Start, Role::End].into_iter().chain(context).filter(|&role| !self.regexes_for(role).is_empty())
    }

    /// How diagnostics and the summary name the regexes of `role`: the
    /// rule's id, with `(then)`, `(until)`, `(unless)` or `(context)`.
    pub fn unit_name(&self, role: Role) -> String {
        let what = match role {
            Role::Start => return self.id.clone(),
            Role::End if matches!(self.correlate, Correlation::Sequence { .. }) => "then",
            Role::End => "until",
            Role::Context(n) => match self.context.get(usize::from(n)).map(|c| &c.kind) {
                Some(ContextKind::Unless { .. }) => "unless",
                _ => "context",
            },
        };
        format!("{} ({what})", self.id)
    }
}

/// The rules of one run, in load order (built-in packs first, then user
/// packs in the order given). The index of a rule is its dense id.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// The matches correlated with these rules have been through the rules'
    /// context already (`watch` does that as they arrive).
    context_resolved: bool,
}

impl RuleSet {
    /// The rules, indexable by the dense rule index.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Returns true if and only if there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules at `indices` alone (`rules test` runs each rule by
    /// itself, so one rule's bug cannot hide in another's results).
    pub fn subset(&self, indices: &[usize]) -> RuleSet {
        let rules = indices.iter().filter_map(|&i| self.rules.get(i).cloned()).collect();
        RuleSet { rules, context_resolved: self.context_resolved }
    }

    /// Every unit id of every rule, in order.
    pub fn units(&self) -> Vec<u32> {
        let units = self.rules.iter().enumerate().flat_map(|(i, r)| r.roles().map(move |role| UnitId::new(i, role).0));
        units.collect()
    }

    /// A copy that tells correlation its matches have been through the
    /// rules' context already: `watch` resolves context as matches arrive
    /// (it must, to key them) and correlates them again each poll.
    pub fn with_context_resolved(&self) -> RuleSet {
        RuleSet { rules: self.rules.clone(), context_resolved: true }
    }

    /// Returns true if and only if matches come with their context applied
    /// (see [`RuleSet::with_context_resolved`]).
    pub fn context_resolved(&self) -> bool {
        self.context_resolved
    }

    /// The rule with id `id`.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// A copy in which every `single` rule without `suppress` has `w`.
    /// `watch` forgets matches after a while, so a key quiet for `w` must
    /// start a new incident rather than extend one it no longer holds.
    pub fn with_default_suppress(&self, w: &Window) -> RuleSet {
        let mut rules = self.rules.clone();
        for r in rules.iter_mut().filter(|r| matches!(r.correlate, Correlation::Single) && r.suppress.is_none()) {
            r.suppress = Some(w.clone());
        }
        RuleSet { rules, context_resolved: self.context_resolved }
    }
}

/// Where packs come from.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Include the packs embedded in the binary (`rules/*.toml`).
    pub builtin: bool,
    /// User packs: files, or directories whose `*.toml` files are read in
    /// name order.
    pub paths: Vec<PathBuf>,
}

/// Loads, validates and compiles the packs. Every problem in every pack is
/// reported, each with file, line and column; duplicate ids across packs
/// are errors.
pub fn load(opts: &LoadOptions) -> Result<RuleSet, LoadError> {
    let (set, errors) = load_all(opts);
    if errors.is_empty() { Ok(set) } else { Err(LoadError::Invalid(errors)) }
}

/// Like [`load`], but hands back the rules that did compile alongside the
/// errors, so `rules check` can go on to lint them.
pub fn load_all(opts: &LoadOptions) -> (RuleSet, Vec<RuleError>) {
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut errors = Vec::new();
    if opts.builtin {
        for (name, text) in builtin::PACKS {
            texts.push((format!("builtin:{name}"), (*text).to_string()));
        }
    }
    for path in &opts.paths {
        match pack_files(path) {
            Ok(files) => {
                for file in files {
                    match std::fs::read_to_string(&file) {
                        Ok(text) => texts.push((file.display().to_string(), text)),
                        Err(e) => errors.push(RuleError::whole_file(&file, format!("cannot read rule pack: {e}"))),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let (set, compile_errors) = compile_texts(&texts);
    errors.extend(compile_errors);
    (set, errors)
}

/// Compiles packs given as (file name, text) pairs.
pub fn compile_all(texts: &[(String, String)]) -> Result<RuleSet, LoadError> {
    let (set, errors) = compile_texts(texts);
    if errors.is_empty() { Ok(set) } else { Err(LoadError::Invalid(errors)) }
}

fn compile_texts(texts: &[(String, String)]) -> (RuleSet, Vec<RuleError>) {
    let mut errors = Vec::new();
    let mut rules: Vec<Rule> = Vec::new();
    let mut budget = compile::RegexBudget::default();
    for (file, text) in texts {
        let (pack_rules, pack_errors) = compile::compile_pack(file, text, &mut budget);
        errors.extend(pack_errors);
        for rule in pack_rules {
            if let Some(first) = rules.iter().find(|r| r.id == rule.id) {
                let (line, col) = origin_line(&rule.origin);
                errors.push(RuleError {
                    file: file.clone(),
                    line,
                    col,
                    message: format!(
                        "duplicate rule id '{}' (first defined at {}); rule ids must be unique across packs",
                        rule.id, first.origin
                    ),
                });
                continue;
            }
            rules.push(rule);
        }
    }
    (RuleSet { rules, context_resolved: false }, errors)
}

fn origin_line(origin: &str) -> (usize, usize) {
    let line = origin.rsplit(':').next().and_then(|l| l.parse().ok()).unwrap_or(1);
    (line, 1)
}

fn pack_files(path: &Path) -> Result<Vec<PathBuf>, RuleError> {
    let io_err = |e: std::io::Error| RuleError::whole_file(path, format!("cannot read rule pack: {e}"));
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io_err)? {
        let p = entry.map_err(io_err)?.path();
        if p.extension().is_some_and(|e| e == "toml") {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(RuleError::whole_file(path, "no *.toml rule packs in this directory".into()));
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_packs_load() {
        let set = load(&LoadOptions { builtin: true, paths: vec![] }).expect("builtin packs load");
        let ids: Vec<&str> = set.rules().iter().map(|r| r.id.as_str()).collect();
        for id in ["pm2.crash-loop", "pm2.errored", "node.unhandled-rejection", "tws.connectivity-lost"] {
            assert!(ids.contains(&id), "missing {id}");
        }
    }

    /// The default text view shows a rule's `action`: every built-in rule
    /// has one, with a placeholder for every value it names (a sentence
    /// such as "run `pm2 logs <app>`" would leave the reader to fill in
    /// what logtriage knows), and says it in fewer words than its fix.
    #[test]
    fn every_builtin_rule_has_a_short_action() {
        let set = load(&LoadOptions { builtin: true, paths: vec![] }).expect("builtin packs load");
        for r in set.rules() {
            let action = r.action.as_ref().unwrap_or_else(|| panic!("{} has no action", r.id));
            let text = action.source();
            for angle in ["<app>", "<host>", "<user>", "<id>", "<port>"] {
                assert!(!text.contains(angle), "{}: action names {angle}; use the placeholder", r.id);
            }
            assert!(text.len() < r.fix.source().len(), "{}: the action is the fix's short form", r.id);
            assert!(text.len() <= 600, "{}: action of {} bytes; keep it to what to do", r.id, text.len());
        }
    }

    #[test]
    fn duplicate_ids_across_packs_are_errors() {
        let pack = r#"
[[rule]]
id = "x.dup"
title = "t"
severity = "low"
regex = "abc"
fix = "f"
"#;
        let texts = vec![("a.toml".to_string(), pack.to_string()), ("b.toml".to_string(), pack.to_string())];
        let err = compile_all(&texts).expect_err("duplicate");
        let LoadError::Invalid(errs) = err;
        assert_eq!(errs.len(), 1);
        assert!(errs[0].to_string().starts_with("b.toml:2:1: duplicate rule id 'x.dup'"), "{}", errs[0]);
    }

    #[test]
    fn stream_filter_combined_and_unknown() {
        let daemon_only = StreamFilter { out: false, err: false, daemon: true };
        assert!(!daemon_only.accepts(Stream::Combined));
        assert!(daemon_only.accepts(Stream::Unknown));
        assert!(StreamFilter::ANY.accepts(Stream::Err));
    }
}
