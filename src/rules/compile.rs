//! Raw TOML rule → compiled [`Rule`], collecting every problem with its
//! location. Nothing here panics on user input.

use std::ops::Range;

use toml::Spanned;

use super::schema::{RawContext, RawExample, RawPack, RawRule, RawUnless};
use std::sync::Arc;

use super::{
    Context, ContextKind, Correlation, Example, Family, MAX_CONTEXT, RegexesAt, Rule, RuleError, Scope, Severity, Side,
    StreamFilter, Template, Window,
};

/// Placeholders every template may use besides the regexes' named groups.
pub(super) const BUILTIN_FIELDS: &[&str] =
    &["app", "count", "window", "first_seen", "last_seen", "rule", "file", "key"];

/// Placeholders sequence rules add: the time from the first event to the
/// closing one.
const SEQUENCE_FIELDS: &[&str] = &["gap"];

/// Placeholders absence rules add: what became of the window.
const ABSENCE_FIELDS: &[&str] = &["status"];

/// The regex size limit kept for user rules (regex's "# Untrusted input"):
/// `a{100}{100}{100}` must fail to load, not eat the machine.
const REGEX_SIZE_LIMIT: usize = 10 * (1 << 20);

/// What the regexes of one load may compile to together. The limit above
/// holds one pattern; without a total, 1.4 KB of `\w{200}` patterns held
/// 1.2 GB. The built-in packs are charged about 11 MiB of it.
const REGEX_BUDGET: usize = 96 << 20;

/// Limits a pattern is compiled under, smallest first; it is charged the
/// first it fits (the compiled size itself is not exposed, so this is an
/// upper bound). Most patterns fit the first: one cheap compile each.
const SIZE_TIERS: [usize; 3] = [64 << 10, 1 << 20, REGEX_SIZE_LIMIT];

/// The part of [`REGEX_BUDGET`] not yet charged, across every pack of one
/// load.
#[derive(Debug)]
pub(super) struct RegexBudget {
    left: usize,
    /// The first pattern over budget got the whole explanation.
    told: bool,
}

impl Default for RegexBudget {
    fn default() -> RegexBudget {
        RegexBudget { left: REGEX_BUDGET, told: false }
    }
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<RuleError>,
    budget: &'a mut RegexBudget,
}

impl Ctx<'_> {
    fn err_at(&mut self, offset: usize, message: String) {
        let (line, col) = crate::error::line_col(self.text, offset);
        self.errors.push(RuleError { file: self.file.to_string(), line, col, message });
    }
}

/// Compiles one pack. Returns the rules that compiled and the errors of
/// those that did not.
pub(super) fn compile_pack(file: &str, text: &str, budget: &mut RegexBudget) -> (Vec<Rule>, Vec<RuleError>) {
    let mut ctx = Ctx { file, text, errors: Vec::new(), budget };
    let pack: RawPack = match toml::from_str(text) {
        Ok(p) => p,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            ctx.err_at(offset, explain_toml_error(e.message().trim_end()));
            return (Vec::new(), ctx.errors);
        }
    };
    if pack.rule.is_empty() {
        ctx.err_at(0, "no [[rule]] tables: a pack needs at least one rule".into());
    }
    let mut rules = Vec::new();
    for raw in pack.rule {
        let before = ctx.errors.len();
        let origin_span = raw.span();
        let rule = compile_rule(&mut ctx, raw.into_inner(), origin_span);
        if let Some(rule) = rule.filter(|_| ctx.errors.len() == before) {
            rules.push(rule);
        }
    }
    (rules, ctx.errors)
}

/// The keys of a `[[rule]]` table (its `RawRule` fields).
const RULE_KEYS: [&str; 19] = [
    "id",
    "title",
    "description",
    "severity",
    "streams",
    "literals",
    "regex",
    "group_by",
    "correlate",
    "suppress",
    "unless",
    "context",
    "supersedes",
    "fix",
    "action",
    "references",
    "story",
    "side",
    "example",
];

/// A TOML error as the toml crate words it, with what to do added where
/// the wording misleads a rule author.
fn explain_toml_error(message: &str) -> String {
    // `regex = "ERR (\w+)"`: a basic string takes `\w` for an escape.
    if message.starts_with("missing escaped value") {
        return format!(
            "{message}: in a \"...\" string a backslash starts an escape; write regexes in single quotes \
             ('ERR (\\w+)'), where a backslash is just a backslash"
        );
    }
    // A rule key written after `[[rule.example]]` lands in the example.
    let example_keys = "expected one of `log`, `expect`, `as`";
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, tail)) = rest.split_once('`')
        && tail.contains(example_keys)
        && RULE_KEYS.contains(&key)
    {
        return format!(
            "`{key}` is a key of the rule, but it comes after a [[rule.example]] table, so TOML reads it as the \
             example's: move it above the examples (they go last in the rule)"
        );
    }
    message.to_string()
}

fn compile_rule(ctx: &mut Ctx, raw: RawRule, span: Range<usize>) -> Option<Rule> {
    let (line, _) = crate::error::line_col(ctx.text, span.start);
    let origin = format!("{}:{}", ctx.file, line);
    let id = check_id(ctx, &raw.id);
    let severity = check_severity(ctx, &raw.severity);
    let streams = check_streams(ctx, raw.streams.as_ref());
    let errors_before_regex = ctx.errors.len();
    let regexes = check_regexes(ctx, &raw.regex);
    // A regex that did not compile captures nothing; do not pile "field not
    // captured" errors on top of the real one.
    let regex_ok = ctx.errors.len() == errors_before_regex;
    let literals = check_literals(ctx, raw.literals.as_ref());
    let correlate = check_correlate(ctx, raw.correlate.as_ref());
    let follow: &[regex::bytes::Regex] = correlate.as_ref().and_then(Correlation::follow).unwrap_or(&[]);
    let start_names = capture_names(&regexes);
    let end_names = capture_names(follow);
    let errors_before_context = ctx.errors.len();
    let context = check_context(ctx, &raw, &start_names, regexes.len());
    let context_ok = ctx.errors.len() == errors_before_context;
    let lent = context.as_deref().map(lent_names).unwrap_or_default();
    let mut names: Vec<String> = start_names.iter().chain(&end_names).chain(&lent).cloned().collect();
    let special: &[&[&str]] = match &correlate {
        Some(Correlation::Sequence { .. }) => &[SEQUENCE_FIELDS],
        Some(Correlation::Absence { .. }) => &[ABSENCE_FIELDS],
        Some(_) => &[],
        // The mode did not load (its error is reported): do not add
        // "unknown field" errors that may only follow from it.
        None => &[SEQUENCE_FIELDS, ABSENCE_FIELDS],
    };
    names.extend(special.iter().flat_map(|f| f.iter()).map(|f| f.to_string()));
    let mut key_names: Vec<String> = match correlate.as_ref().and_then(Correlation::follow) {
        // Both events must yield the key, or they could never pair.
        Some(_) => start_names.iter().filter(|n| end_names.contains(n)).cloned().collect(),
        None => start_names.clone(),
    };
    // A field a context entry lends is the start event's own from then on.
    key_names.extend(lent.iter().filter(|n| !n.ends_with("_ms")).cloned());
    let regex_ok = regex_ok && context_ok;
    let group_by = check_group_by(ctx, raw.group_by.as_ref(), &key_names, regex_ok);
    let title = check_template(ctx, &raw.title, &names, "title", regex_ok);
    let fix = check_template(ctx, &raw.fix, &names, "fix", regex_ok);
    let action = match &raw.action {
        Some(a) => check_template(ctx, a, &names, "action", regex_ok).map(|t| Some(Arc::new(t))),
        None => Some(None),
    };
    let suppress = check_suppress(ctx, raw.suppress.as_ref());
    let examples = check_examples(ctx, &raw.example);
    let story = check_story(ctx, raw.story.as_ref());
    let server = check_side(ctx, raw.side.as_ref(), story.as_ref());
    let literals_at = raw.literals.as_ref().map(|l| crate::error::line_col(ctx.text, l.span().start));
    let supersedes = check_supersedes(ctx, raw.supersedes.as_ref(), id.as_deref());
    let supersedes_at = raw.supersedes.as_ref().map(|s| crate::error::line_col(ctx.text, s.span().start));
    let regexes_at = regexes_at(ctx.text, &raw);
    Some(Rule {
        id: id?,
        title: title?,
        severity: severity?,
        streams: streams?,
        literals,
        regexes,
        group_by: group_by?,
        correlate: correlate?,
        suppress: suppress?,
        fix: Arc::new(fix?),
        action: action?,
        references: raw.references.into(),
        description: raw.description,
        examples: examples?,
        origin,
        literals_at,
        context: context?,
        supersedes: supersedes?,
        supersedes_at,
        regexes_at,
        story: story?,
        server: server?,
    })
}

/// Where the rule's regexes are written (see [`RegexesAt`]).
fn regexes_at(text: &str, raw: &RawRule) -> RegexesAt {
    let at = |offset: usize| crate::error::line_col(text, offset);
    let unless = raw.unless.iter().flat_map(|u| u.get_ref().tables(u.span())).map(|(t, _)| at(t.regex.span().start));
    let context = raw.context.iter().flat_map(|c| c.get_ref().tables(c.span())).map(|(t, _)| at(t.regex.span().start));
    RegexesAt {
        start: at(raw.regex.span().start),
        end: raw.correlate.as_ref().map(|c| at(c.span().start)),
        context: unless.chain(context).collect(),
    }
}

fn check_story(ctx: &mut Ctx, value: Option<&Spanned<String>>) -> Option<Option<Family>> {
    let Some(v) = value else { return Some(None) };
    match Family::parse(v.get_ref()) {
        Some(f) => Some(Some(f)),
        None => {
            let msg = format!(
                "unknown story {:?}: write \"restart\" (the restart family of one app), \"dependency:NAME\" \
                 (one outage of a shared dependency, NAME in lower case, e.g. \"dependency:redis\") or \
                 \"symptom\" (what users see while something behind the app is down: a failing health check, \
                 a proxy's 5xx)",
                v.get_ref()
            );
            ctx.err_at(v.span().start, msg);
            None
        }
    }
}

/// `side = "server"`: the rule reads the dependency's own log, so in its
/// story its incident is the cause of what the clients saw. Only a
/// `dependency:NAME` story has sides.
fn check_side(ctx: &mut Ctx, value: Option<&Spanned<String>>, story: Option<&Option<Family>>) -> Option<bool> {
    let Some(v) = value else { return Some(false) };
    let at = v.span().start;
    let server = match v.get_ref().as_str() {
        "server" => true,
        "client" => false,
        other => {
            let msg = format!(
                "unknown side {other:?}: write \"server\" (the rule reads the dependency's own log) or \"client\" \
                 (an app that uses it; the default)"
            );
            ctx.err_at(at, msg);
            return None;
        }
    };
    if !matches!(story, Some(Some(Family::Dependency(_))) | None) {
        let msg = "`side` needs `story = \"dependency:NAME\"`: only an outage of a shared dependency has a \
                   server's and a client's account; remove `side` or set the story";
        ctx.err_at(at, msg.to_string());
        return None;
    }
    Some(server)
}

/// `supersedes = ["node.uncaught-exception"]`: rule ids, not this rule's.
/// Whether they exist is known only once every pack is loaded (`rules
/// check` says so, see `lint`).
fn check_supersedes(ctx: &mut Ctx, value: Option<&Spanned<Vec<String>>>, own: Option<&str>) -> Option<Vec<String>> {
    let Some(v) = value else { return Some(Vec::new()) };
    let at = v.span().start;
    if v.get_ref().is_empty() {
        ctx.err_at(at, "supersedes is empty: list rule ids, or leave the key out".into());
        return None;
    }
    for id in v.get_ref() {
        if Some(id.as_str()) == own {
            ctx.err_at(at, format!("supersedes lists the rule itself ({id:?}): list the rules that step back for it"));
            return None;
        }
        let well_formed =
            id.contains('.') && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !well_formed {
            ctx.err_at(at, format!("supersedes: {id:?} is not a rule id ('area.name' in lower case)"));
            return None;
        }
    }
    Some(v.get_ref().clone())
}

fn check_examples(ctx: &mut Ctx, raw: &[Spanned<RawExample>]) -> Option<Vec<Example>> {
    let mut out = Vec::new();
    let mut ok = true;
    for ex in raw {
        let (line, _) = crate::error::line_col(ctx.text, ex.span().start);
        let inner = ex.get_ref();
        let expect = usize::try_from(*inner.expect.get_ref()).ok().filter(|n| *n <= 10_000);
        let Some(expect) = expect else {
            ctx.err_at(inner.expect.span().start, "example expect must be a count of incidents, 0 to 10000".into());
            ok = false;
            continue;
        };
        if inner.log.trim().is_empty() {
            ctx.err_at(
                ex.span().start,
                "example log is empty: paste the log lines the rule must (or must not) fire on".into(),
            );
            ok = false;
            continue;
        }
        let origin = format!("{}:{}", ctx.file, line);
        out.push(Example { log: inner.log.clone(), expect, plays: inner.plays.clone(), origin });
    }
    ok.then_some(out)
}

fn capture_names(regexes: &[regex::bytes::Regex]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in regexes.iter().flat_map(|re| re.capture_names().flatten()) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

fn check_suppress(ctx: &mut Ctx, value: Option<&Spanned<String>>) -> Option<Option<Window>> {
    let Some(v) = value else { return Some(None) };
    match Window::parse(v.get_ref()) {
        Ok(w) => Some(Some(w)),
        Err(msg) => {
            ctx.err_at(v.span().start, format!("suppress: {msg}"));
            None
        }
    }
}

fn check_id(ctx: &mut Ctx, id: &Spanned<String>) -> Option<String> {
    let s = id.get_ref();
    let ok = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        && s.contains('.');
    if ok {
        return Some(s.clone());
    }
    ctx.err_at(id.span().start, format!("bad rule id {s:?}: write 'area.name' in lower case, e.g. \"pm2.crash-loop\""));
    None
}

fn check_severity(ctx: &mut Ctx, sev: &Spanned<String>) -> Option<Severity> {
    let parsed = Severity::parse(sev.get_ref());
    if parsed.is_none() {
        let msg = format!("unknown severity {:?}: must be one of info, low, medium, high, critical", sev.get_ref());
        ctx.err_at(sev.span().start, msg);
    }
    parsed
}

fn check_streams(ctx: &mut Ctx, streams: Option<&Spanned<Vec<String>>>) -> Option<StreamFilter> {
    let Some(streams) = streams else { return Some(StreamFilter::ANY) };
    let mut f = StreamFilter { out: false, err: false, daemon: false };
    for s in streams.get_ref() {
        match s.as_str() {
            "out" => f.out = true,
            "err" => f.err = true,
            "daemon" => f.daemon = true,
            "any" => f = StreamFilter::ANY,
            other => {
                let msg = format!("unknown stream {other:?}: must be out, err, daemon or any");
                ctx.err_at(streams.span().start, msg);
                return None;
            }
        }
    }
    if streams.get_ref().is_empty() {
        ctx.err_at(streams.span().start, "streams is empty: leave it out to read every stream".into());
        return None;
    }
    Some(f)
}

fn check_literals(ctx: &mut Ctx, literals: Option<&Spanned<Vec<String>>>) -> Vec<String> {
    let Some(lits) = literals else { return Vec::new() };
    if lits.get_ref().iter().any(String::is_empty) || lits.get_ref().is_empty() {
        ctx.err_at(
            lits.span().start,
            "literals must be non-empty strings; leave the key out to extract them from the regex".into(),
        );
    }
    lits.get_ref().clone()
}

fn check_regexes(ctx: &mut Ctx, value: &Spanned<toml::Value>) -> Vec<regex::bytes::Regex> {
    regexes_from(ctx, value.get_ref(), value.span(), "regex")
}

/// Compiles a string or an array of strings found at `span`; `what` names
/// the key in messages.
fn regexes_from(ctx: &mut Ctx, value: &toml::Value, span: Range<usize>, what: &str) -> Vec<regex::bytes::Regex> {
    let patterns: Vec<&str> = match value {
        toml::Value::String(s) => vec![s.as_str()],
        toml::Value::Array(items) if !items.is_empty() => {
            let strs: Vec<&str> = items.iter().filter_map(toml::Value::as_str).collect();
            if strs.len() != items.len() {
                ctx.err_at(span.start, format!("{what} array must hold only strings"));
                return Vec::new();
            }
            strs
        }
        _ => {
            ctx.err_at(span.start, format!("{what} must be a string or a non-empty array of strings"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for pattern in patterns {
        match compile_regex(pattern, ctx.budget) {
            Ok(re) => out.push(re),
            Err((offset_in_pattern, msg)) => {
                let at = locate_pattern(ctx.text, span.clone(), pattern, offset_in_pattern);
                ctx.err_at(at, msg);
            }
        }
    }
    out
}

/// Compiles with the size limits kept (see [`SIZE_TIERS`],
/// [`REGEX_BUDGET`]); the error carries the offset inside the pattern (when
/// the parser knows it) and the regex crate's own caret rendering.
fn compile_regex(pattern: &str, budget: &mut RegexBudget) -> Result<regex::bytes::Regex, (usize, String)> {
    let mut too_big = None;
    for tier in SIZE_TIERS {
        if tier > budget.left {
            syntax_error(pattern)?;
            return Err((0, over_budget(budget)));
        }
        match regex::bytes::RegexBuilder::new(pattern).size_limit(tier).build() {
            Ok(re) => {
                budget.left -= tier;
                return Ok(re);
            }
            Err(e @ regex::Error::CompiledTooBig(_)) => too_big = Some(e),
            Err(e) => {
                syntax_error(pattern)?;
                return Err((0, format!("regex does not compile: {e}")));
            }
        }
    }
    Err((0, format!("regex does not compile: {}", too_big.map_or_else(String::new, |e| e.to_string()))))
}

/// The parse error of `pattern`, located in it, if it has one. Asked only
/// once a pattern is refused: the regex crate parses with the same
/// settings, so a pattern it compiles parses, and every rule loaded at
/// every start is not parsed twice.
fn syntax_error(pattern: &str) -> Result<(), (usize, String)> {
    let Err(e) = regex_syntax::ParserBuilder::new().utf8(false).build().parse(pattern) else { return Ok(()) };
    let (offset, what) = match &e {
        regex_syntax::Error::Parse(p) => (p.span().start.offset, p.kind().to_string()),
        regex_syntax::Error::Translate(t) => (t.span().start.offset, t.kind().to_string()),
        _ => (0, e.to_string()),
    };
    Err((offset, format!("regex does not compile: {what}\n{}", caret_block(&e.to_string()))))
}

/// The pattern and carets of regex-syntax's error text, each line
/// indented, without its `regex parse error:` heading and `error: ...`
/// tail (the message has the error already): one `file:line:col: message`
/// line, then the drawing under it.
fn caret_block(rendered: &str) -> String {
    rendered
        .lines()
        .filter(|l| !l.starts_with("regex parse error:") && !l.starts_with("error: ") && !l.trim().is_empty())
        .map(|l| if l.starts_with("    ") { l.to_string() } else { format!("    {l}") })
        .collect::<Vec<_>>()
        .join("\n")
}

fn over_budget(budget: &mut RegexBudget) -> String {
    if std::mem::replace(&mut budget.told, true) {
        return "regex not compiled: the regex size budget is spent (see the first such error)".to_string();
    }
    format!(
        "regex does not compile: the rule packs' regexes together may compile to {} MiB and only {} KiB \
         are left; large counted repetitions (`\\w{{200}}`) and Unicode classes cost the most: bound them \
         or use ASCII classes like `[0-9]`",
        REGEX_BUDGET >> 20,
        budget.left >> 10
    )
}

/// Finds where `pattern` sits in the TOML text so a regex error points at
/// the character, not only at the key. Exact for literal strings
/// (`'...'`, `'''...'''`), where TOML does no unescaping; for basic strings
/// it points at the string's start.
fn locate_pattern(text: &str, span: Range<usize>, pattern: &str, offset: usize) -> usize {
    let region = text.get(span.clone()).unwrap_or("");
    for quote in ["'''", "'"] {
        let needle = format!("{quote}{pattern}");
        if let Some(i) = region.find(&needle) {
            return span.start + i + quote.len() + offset;
        }
    }
    span.start
}

/// Each correlation kind that takes keys, with the table it is written as.
const CORRELATE_TABLES: [(&str, &str); 3] = [
    ("threshold", "{ kind = \"threshold\", count = 5, window = \"5m\" }"),
    ("sequence", "{ kind = \"sequence\", then = '<regex of the second event>', window = \"12h\" }"),
    ("absence", "{ kind = \"absence\", until = '<regex of the recovery>', window = \"2m\" }"),
];

fn check_correlate(ctx: &mut Ctx, value: Option<&Spanned<toml::Value>>) -> Option<Correlation> {
    let Some(value) = value else { return Some(Correlation::Single) };
    let at = value.span().start;
    let table = match value.get_ref() {
        toml::Value::String(s) if s == "single" => return Some(Correlation::Single),
        toml::Value::Table(t) => t,
        // `correlate = "absence"`: the kind is right, but it needs its
        // closing regex and window, which only a table holds.
        toml::Value::String(s) if CORRELATE_TABLES.iter().any(|(kind, _)| kind == s) => {
            let example = CORRELATE_TABLES.iter().find(|(kind, _)| kind == s).map_or("", |(_, t)| t);
            ctx.err_at(at, format!("correlate = \"{s}\" needs a table: correlate = {example}"));
            return None;
        }
        _ => {
            ctx.err_at(
                at,
                "correlate must be \"single\" or a table like { kind = \"threshold\", count = 5, window = \"5m\" }"
                    .into(),
            );
            return None;
        }
    };
    let kind = table.get("kind").and_then(toml::Value::as_str);
    let allowed: &[&str] = match kind {
        Some("single") => &["kind"],
        Some("threshold") => &["kind", "count", "window"],
        Some("sequence") => &["kind", "then", "window"],
        Some("absence") => &["kind", "until", "window"],
        other => {
            let msg = format!("unknown correlate kind {other:?}: must be single, threshold, sequence or absence");
            ctx.err_at(at, msg);
            return None;
        }
    };
    if let Some(key) = table.keys().find(|k| !allowed.contains(&k.as_str())) {
        ctx.err_at(
            at,
            format!("unknown key {key:?} in correlate: {} takes {}", kind.unwrap_or(""), allowed.join(", ")),
        );
        return None;
    }
    match kind {
        Some("threshold") => threshold(ctx, value.span(), table),
        Some("sequence") | Some("absence") => follow_up(ctx, value.span(), table, kind == Some("sequence")),
        _ => Some(Correlation::Single),
    }
}

/// `{ kind = "sequence", then = '...', window = "6h" }` or
/// `{ kind = "absence", until = '...', window = "2m" }`.
fn follow_up(ctx: &mut Ctx, span: Range<usize>, table: &toml::Table, sequence: bool) -> Option<Correlation> {
    let key = if sequence { "then" } else { "until" };
    let Some(value) = table.get(key) else {
        ctx.err_at(
            span.start,
            format!("{} needs {key} = '<regex of the closing event>'", if sequence { "sequence" } else { "absence" }),
        );
        return None;
    };
    let before = ctx.errors.len();
    let regexes = regexes_from(ctx, value, span.clone(), key);
    let window = window_of(ctx, span.clone(), table)?;
    if ctx.errors.len() != before {
        return None;
    }
    Some(if sequence {
        Correlation::Sequence { then: regexes, window }
    } else {
        Correlation::Absence { until: regexes, window }
    })
}

fn window_of(ctx: &mut Ctx, span: Range<usize>, table: &toml::Table) -> Option<Window> {
    let Some(text) = table.get("window").and_then(toml::Value::as_str) else {
        ctx.err_at(span.start, "needs window = \"5m\" (a number and a unit)".into());
        return None;
    };
    match Window::parse(text) {
        Ok(w) => Some(w),
        Err(msg) => {
            let at = locate_value(ctx.text, span, "window");
            ctx.err_at(at, msg);
            None
        }
    }
}

/// Where the value of `key = ...` starts inside an inline table at `span`:
/// toml keeps no spans inside a `toml::Value`, and an error should point at
/// the value, not at the table's brace. Falls back to the table's start.
fn locate_value(text: &str, span: Range<usize>, key: &str) -> usize {
    let region = text.get(span.clone()).unwrap_or("");
    let mut from = 0;
    while let Some(i) = region.get(from..).and_then(|r| r.find(key)).map(|i| i + from) {
        let before_ok = region[..i].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-'));
        let rest = &region[i + key.len()..];
        let after = rest.trim_start_matches([' ', '\t']);
        if before_ok && after.starts_with('=') {
            let value = after[1..].trim_start_matches([' ', '\t']);
            return span.start + (region.len() - value.len());
        }
        from = i + key.len();
    }
    span.start
}

fn threshold(ctx: &mut Ctx, span: Range<usize>, table: &toml::Table) -> Option<Correlation> {
    let count = table.get("count").and_then(toml::Value::as_integer);
    let count = match count {
        Some(n) if (2..=1_000_000).contains(&n) => n as u32,
        _ => {
            let at = locate_value(ctx.text, span, "count");
            ctx.err_at(at, "threshold needs count = N with 2 <= N <= 1000000".into());
            return None;
        }
    };
    let window = window_of(ctx, span, table)?;
    Some(Correlation::Threshold { count, window })
}

/// `unless` and `context` entries, in that order. `shapes` is how many
/// regexes the rule has (`for_regex` numbers them).
fn check_context(ctx: &mut Ctx, raw: &RawRule, start_names: &[String], shapes: usize) -> Option<Vec<Context>> {
    let mut out = Vec::new();
    let mut ok = true;
    if let Some(unless) = &raw.unless {
        for (table, span) in unless.get_ref().tables(unless.span()) {
            match check_unless(ctx, table, span, start_names, shapes) {
                Some(c) => out.push(c),
                None => ok = false,
            }
        }
    }
    if let Some(context) = &raw.context {
        let taken = reserved_names(start_names);
        for (table, span) in context.get_ref().tables(context.span()) {
            match check_lend(ctx, table, span, start_names, &taken, shapes) {
                Some(c) => out.push(c),
                None => ok = false,
            }
        }
    }
    if out.len() > MAX_CONTEXT {
        let at = raw.context.as_ref().map(Spanned::span).or_else(|| raw.unless.as_ref().map(Spanned::span));
        ctx.err_at(
            at.map_or(0, |s| s.start),
            format!("a rule may have at most {MAX_CONTEXT} unless and context entries together"),
        );
        return None;
    }
    ok.then_some(out)
}

/// Names a `since` field may not take: captures and built-in fields.
fn reserved_names(start_names: &[String]) -> Vec<String> {
    let builtin = BUILTIN_FIELDS.iter().chain(SEQUENCE_FIELDS).chain(ABSENCE_FIELDS).map(|f| f.to_string());
    start_names.iter().cloned().chain(builtin).collect()
}

fn check_unless(
    ctx: &mut Ctx,
    t: &RawUnless,
    span: Range<usize>,
    start_names: &[String],
    shapes: usize,
) -> Option<Context> {
    let before = ctx.errors.len();
    let regexes = regexes_from(ctx, t.regex.get_ref(), t.regex.span(), "unless regex");
    let key = check_key(ctx, t.key.as_ref(), &regexes, start_names, "unless");
    let scope = check_scope(ctx, t.scope.as_ref(), "unless");
    let for_regex = check_for_regex(ctx, t.for_regex.as_ref(), shapes, "unless");
    let within = match &t.within {
        Some(w) => span_of(ctx, w, "within"),
        None => {
            ctx.err_at(span.start, "unless needs within = \"10s\": how soon after it a start event is excused".into());
            None
        }
    };
    let count = check_unless_count(ctx, t);
    let (within, scope, shapes, count) = (within?, scope?, for_regex?, count?);
    let kind = ContextKind::Unless { within, every: t.every, count };
    (ctx.errors.len() == before).then_some(Context { regexes, key, kind, scope, shapes })
}

/// `scope = "file"` (the default) or `"app"`.
fn check_scope(ctx: &mut Ctx, value: Option<&Spanned<String>>, what: &str) -> Option<Scope> {
    match value.map(|v| (v.get_ref().as_str(), v.span().start)) {
        None | Some(("file", _)) => Some(Scope::File),
        Some(("app", _)) => Some(Scope::App),
        Some((other, at)) => {
            let msg = format!(
                "{what} scope {other:?} must be \"file\" (the start event's own file) or \"app\" (any file of its app)"
            );
            ctx.err_at(at, msg);
            None
        }
    }
}

/// `for_regex = [2, 3]`: 1-based numbers of the rule's regexes, as listed;
/// returned 0-based.
fn check_for_regex(ctx: &mut Ctx, value: Option<&Spanned<Vec<i64>>>, shapes: usize, what: &str) -> Option<Vec<u8>> {
    let Some(v) = value else { return Some(Vec::new()) };
    let at = v.span().start;
    if v.get_ref().is_empty() {
        ctx.err_at(at, format!("{what} for_regex is empty: leave it out to apply to every regex of the rule"));
        return None;
    }
    // A regex that did not compile leaves the count short: its own error
    // is enough.
    if shapes == 0 {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    for &n in v.get_ref() {
        let shape = usize::try_from(n).ok().filter(|n| (1..=shapes).contains(n)).and_then(|n| u8::try_from(n - 1).ok());
        let Some(shape) = shape else {
            ctx.err_at(at, format!("{what} for_regex {n}: the rule has {shapes} regex(es), numbered from 1 as listed"));
            return None;
        };
        if !out.contains(&shape) {
            out.push(shape);
        }
    }
    out.sort_unstable();
    Some(out)
}

/// `count = N` of an unless entry: 1 to 100, 1 when left out; it counts
/// towards the next start event, so `every = true` (each start event in the
/// window) cannot take it.
fn check_unless_count(ctx: &mut Ctx, t: &RawUnless) -> Option<u32> {
    let Some(c) = t.count.as_ref() else { return Some(1) };
    let at = c.span().start;
    if t.every {
        ctx.err_at(
            at,
            "unless count cannot go with every = true: count excuses the next match, every excuses each one".into(),
        );
        return None;
    }
    match u32::try_from(*c.get_ref()) {
        Ok(n @ 1..=100) => Some(n),
        _ => {
            ctx.err_at(at, "unless count must be 1 to 100: how many of its events excuse one match".into());
            None
        }
    }
}

fn check_lend(
    ctx: &mut Ctx,
    t: &RawContext,
    span: Range<usize>,
    start_names: &[String],
    taken: &[String],
    shapes: usize,
) -> Option<Context> {
    let before = ctx.errors.len();
    let regexes = regexes_from(ctx, t.regex.get_ref(), t.regex.span(), "context regex");
    let key = check_key(ctx, t.key.as_ref(), &regexes, start_names, "context");
    let scope = check_scope(ctx, t.scope.as_ref(), "context");
    let for_regex = check_for_regex(ctx, t.for_regex.as_ref(), shapes, "context");
    let (side, span) = match (&t.before, &t.after) {
        (Some(w), None) => (Side::Before, span_of(ctx, w, "before")),
        (None, Some(w)) => (Side::After, span_of(ctx, w, "after")),
        (Some(_), Some(w)) => {
            ctx.err_at(w.span().start, "context takes before or after, not both: write two entries".into());
            (Side::Before, None)
        }
        (None, None) => {
            let msg = "context needs before = \"1m\" or after = \"5s\": where to look for the event, and how far";
            ctx.err_at(span.start, msg.into());
            (Side::Before, None)
        }
    };
    let since = t.since.as_ref().and_then(|s| check_since(ctx, s, side, taken, &capture_names(&regexes)));
    if t.since.is_some() && since.is_none() {
        return None;
    }
    let (span, scope, shapes) = (span?, scope?, for_regex?);
    let kind = ContextKind::Lend { side, span, since, require: t.require };
    (ctx.errors.len() == before).then_some(Context { regexes, key, kind, scope, shapes })
}

fn span_of(ctx: &mut Ctx, w: &Spanned<String>, what: &str) -> Option<Window> {
    match Window::parse(w.get_ref()) {
        Ok(w) => Some(w),
        Err(msg) => {
            ctx.err_at(w.span().start, format!("{what}: {msg}"));
            None
        }
    }
}

/// `key`: fields both events must capture (`app` is every event's).
fn check_key(
    ctx: &mut Ctx,
    key: Option<&Spanned<Vec<String>>>,
    regexes: &[regex::bytes::Regex],
    start_names: &[String],
    what: &str,
) -> Vec<String> {
    let Some(key) = key else { return Vec::new() };
    let own = capture_names(regexes);
    for name in key.get_ref().iter().filter(|n| *n != "app") {
        let missing = if !own.contains(name) {
            Some((format!("the {what} regex"), own.join(", ")))
        } else if !start_names.contains(name) {
            Some(("the rule's regex".to_string(), start_names.join(", ")))
        } else {
            None
        };
        // A regex that did not compile captures nothing: its error is enough.
        if let Some((in_what, groups)) = missing.filter(|_| !regexes.is_empty()) {
            let msg = format!(
                "{what} key field {name:?} is not captured by {in_what} (named groups: [{groups}]); a key field \
                 must be in both events, or be `app`"
            );
            ctx.err_at(key.span().start, msg);
        }
    }
    key.get_ref().clone()
}

/// `since = "uptime"`: a new field name, for a `before` entry.
fn check_since(ctx: &mut Ctx, since: &Spanned<String>, side: Side, taken: &[String], own: &[String]) -> Option<String> {
    let name = since.get_ref();
    let at = since.span().start;
    if side == Side::After {
        ctx.err_at(at, "since needs before: it is the time from the context event to the start event".into());
        return None;
    }
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        ctx.err_at(at, format!("since {name:?} must be a field name: letters, digits and _"));
        return None;
    }
    if let Some(clash) = [name.clone(), format!("{name}_ms")].into_iter().find(|n| taken.contains(n) || own.contains(n))
    {
        ctx.err_at(at, format!("since {name:?} would hide the field {clash:?}: choose another name"));
        return None;
    }
    Some(name.clone())
}

/// Fields `context` entries add to a start event: their captures and their
/// `since` fields.
fn lent_names(context: &[Context]) -> Vec<String> {
    let mut names = Vec::new();
    for c in context {
        let ContextKind::Lend { since, .. } = &c.kind else { continue };
        names.extend(capture_names(&c.regexes));
        if let Some(s) = since {
            names.push(s.clone());
            names.push(format!("{s}_ms"));
        }
    }
    names.dedup();
    names
}

fn check_group_by(
    ctx: &mut Ctx,
    group_by: Option<&Spanned<Vec<String>>>,
    captures: &[String],
    check: bool,
) -> Option<Vec<String>> {
    let Some(g) = group_by else { return Some(vec!["app".to_string()]) };
    for name in g.get_ref().iter().filter(|_| check) {
        if name != "app" && name != "file" && !captures.contains(name) {
            let msg =
                format!("group_by field {name:?} is not captured by the regex (named groups: {})", captures.join(", "));
            ctx.err_at(g.span().start, msg);
            return None;
        }
    }
    Some(g.get_ref().clone())
}

fn check_template(
    ctx: &mut Ctx,
    t: &Spanned<String>,
    captures: &[String],
    what: &str,
    check: bool,
) -> Option<Template> {
    let start = t.span().start + 1;
    let tpl = match Template::parse(t.get_ref()) {
        Ok(tpl) => tpl,
        Err((offset, msg)) => {
            ctx.err_at(start + offset, format!("{what}: {msg}"));
            return None;
        }
    };
    let unknown: Vec<&str> =
        tpl.fields().filter(|f| check && !BUILTIN_FIELDS.contains(f) && !captures.iter().any(|c| c == f)).collect();
    if let Some(f) = unknown.first() {
        let pos = t.get_ref().find(&format!("{{{f}}}")).unwrap_or(0);
        let msg = format!(
            "{what} uses {{{f}}}, which the regex does not capture; named groups: [{}], always available: [{}]",
            captures.join(", "),
            BUILTIN_FIELDS.join(", ")
        );
        ctx.err_at(start + pos, msg);
        return None;
    }
    Some(tpl)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(text: &str) -> Vec<String> {
        compile_pack("p.toml", text, &mut RegexBudget::default()).1.iter().map(ToString::to_string).collect()
    }

    const GOOD: &str = r#"
[[rule]]
id = "pm2.test"
title = "t {app}"
severity = "high"
regex = 'exited with code \[(?P<code>\d+)\]'
correlate = { kind = "threshold", count = 5, window = "5m" }
fix = "code {code}"
"#;

    #[test]
    fn good_rule_compiles() {
        let (rules, errs) = compile_pack("p.toml", GOOD, &mut RegexBudget::default());
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(rules[0].origin, "p.toml:2");
        assert!(matches!(rules[0].correlate, Correlation::Threshold { count: 5, .. }));
    }

    /// The `story` key names a family or is a located error.
    #[test]
    fn side_needs_a_dependency_story() {
        let with = |keys: &str| GOOD.replace("fix =", &format!("{keys}\nfix ="));
        for (keys, server) in [
            ("story = \"dependency:postgres\"\nside = \"server\"", true),
            ("story = \"dependency:postgres\"\nside = \"client\"", false),
            ("story = \"dependency:postgres\"", false),
        ] {
            let (rules, errs) = compile_pack("p.toml", &with(keys), &mut RegexBudget::default());
            assert!(errs.is_empty(), "{errs:?}");
            assert_eq!(rules[0].server, server, "{keys}");
        }
        for (keys, want) in [
            ("side = \"server\"", "p.toml:8:8: `side` needs `story = \"dependency:NAME\"`"),
            ("story = \"restart\"\nside = \"server\"", "p.toml:9:8: `side` needs `story = \"dependency:NAME\"`"),
            ("story = \"dependency:redis\"\nside = \"Server\"", "p.toml:9:8: unknown side \"Server\""),
        ] {
            let errs = errors_of(&with(keys));
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert!(errs[0].starts_with(want), "{errs:?}");
        }
        // A story that is itself wrong is the one error, not two.
        assert_eq!(errors_of(&with("story = \"dependency\"\nside = \"server\"")).len(), 1);
    }

    /// The `story` key names a family or is a located error.
    #[test]
    fn story_key_is_checked() {
        for (value, family) in [
            ("restart", Family::Restart),
            ("dependency:redis", Family::Dependency("redis".into())),
            ("symptom", Family::Symptom),
        ] {
            let (rules, errs) = compile_pack(
                "p.toml",
                &GOOD.replace("fix =", &format!("story = \"{value}\"\nfix =")),
                &mut RegexBudget::default(),
            );
            assert!(errs.is_empty(), "{errs:?}");
            assert_eq!(rules[0].story, Some(family));
        }
        assert_eq!(compile_pack("p.toml", GOOD, &mut RegexBudget::default()).0[0].story, None);
        for bad in ["restarts", "dependency:", "dependency:Redis", "dependency", "Symptom"] {
            let errs = errors_of(&GOOD.replace("fix =", &format!("story = \"{bad}\"\nfix =")));
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert!(errs[0].starts_with(&format!("p.toml:8:9: unknown story \"{bad}\"")), "{errs:?}");
        }
    }

    #[test]
    fn unknown_key_is_located() {
        let errs = errors_of(&GOOD.replace("fix =", "fixx = \"x\"\nfix ="));
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("p.toml:8:1: unknown field `fixx`"), "{errs:?}");
    }

    #[test]
    fn regex_error_points_into_the_pattern() {
        let errs = errors_of(&GOOD.replace(r"(?P<code>\d+)\]", r"(?P<code>\d+\]"));
        assert_eq!(errs.len(), 1, "{errs:?}");
        // The unclosed group opens at column 29 of line 6.
        // One located line with the error, then the pattern and its caret,
        // indented under it.
        assert_eq!(
            errs[0],
            "p.toml:6:29: regex does not compile: unclosed group\n    exited with code \\[(?P<code>\\d+\\]\n                       ^",
        );
    }

    #[test]
    fn every_error_is_reported() {
        let bad = GOOD
            .replace("\"high\"", "\"urgent\"")
            .replace("\"5m\"", "\"5 minutes\"")
            .replace("code {code}", "code {signal}");
        let errs = errors_of(&bad);
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].contains("unknown severity \"urgent\""));
        assert!(errs[1].contains("bad window \"5 minutes\""));
        assert!(errs[2].contains("fix uses {signal}"));
    }

    #[test]
    fn sequence_and_absence_rules_compile() {
        let seq = GOOD
            .replace(
                r#"correlate = { kind = "threshold", count = 5, window = "5m" }"#,
                r#"correlate = { kind = "sequence", then = 'restored (?P<how>\w+)', window = "1h" }"#,
            )
            .replace("code {code}", "code {code} after {gap}, {how}");
        let (rules, errs) = compile_pack("p.toml", &seq, &mut RegexBudget::default());
        assert!(errs.is_empty(), "{errs:?}");
        assert!(matches!(rules[0].correlate, Correlation::Sequence { .. }));
        // Suppress folds a flapping sequence's pairs into one incident.
        let (rules, errs) =
            compile_pack("p.toml", &seq.replace("fix =", "suppress = \"10m\"\nfix ="), &mut RegexBudget::default());
        assert!(errs.is_empty(), "{errs:?}");
        assert!(rules[0].suppress.is_some());
        let (rules, errs) =
            compile_pack("p.toml", &GOOD.replace("fix =", "suppress = \"10m\"\nfix ="), &mut RegexBudget::default());
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(rules[0].suppress.as_ref().map(|w| w.ms()), Some(600_000));
        // {gap} belongs to sequences; absence has {status}.
        let abs = seq.replace("\"sequence\", then", "\"absence\", until");
        let errs = errors_of(&abs);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains("fix uses {gap}"), "{errs:?}");
    }

    #[test]
    fn group_by_must_be_in_both_events() {
        let seq = GOOD.replace(
            r#"correlate = { kind = "threshold", count = 5, window = "5m" }"#,
            r#"correlate = { kind = "absence", until = 'restored', window = "2m" }
group_by = ["code"]"#,
        );
        let errs = errors_of(&seq);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains("group_by field \"code\" is not captured"), "{errs:?}");
    }

    #[test]
    fn huge_regex_is_refused() {
        let errs = errors_of(&GOOD.replace(r"exited with code \[(?P<code>\d+)\]", r"(?P<code>\w{1000}{1000})"));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains("regex does not compile"), "{errs:?}");
    }

    /// Each pattern was under the size limit, together they held 1.2 GB
    /// (and more than the fuzz target `rules` may use): the budget stops
    /// the load after a few of them.
    #[test]
    fn many_large_regexes_exhaust_the_budget() {
        let patterns: Vec<String> = (0..100).map(|i| format!(r"'\w{{200}}a{i}'")).collect();
        let text = GOOD.replace(r"'exited with code \[(?P<code>\d+)\]'", &format!("[{}]", patterns.join(", ")));
        let mut budget = RegexBudget::default();
        let (rules, errs) = compile_pack("p.toml", &text.replace("{code}", "x"), &mut budget);
        assert!(rules.is_empty());
        let first = errs.iter().position(|e| e.message.contains("KiB are left")).expect("over budget");
        assert!(errs[first].to_string().starts_with("p.toml:6:"), "{}", errs[first]);
        let spent = errs.iter().filter(|e| e.message.contains("budget is spent")).count();
        assert!(first < 12 && spent > 80, "{first} within budget, then {spent} spent: {errs:?}");
    }

    #[test]
    fn builtin_packs_leave_most_of_the_budget() {
        let mut budget = RegexBudget::default();
        let mut by_pack = Vec::new();
        for (name, text) in super::super::builtin::PACKS {
            let before = budget.left;
            let (_, errs) = compile_pack(name, text, &mut budget);
            assert!(errs.is_empty(), "{errs:?}");
            by_pack.push((name, (before - budget.left) >> 10));
        }
        let used = REGEX_BUDGET - budget.left;
        // Three quarters stay for the user's own packs. The charge is by
        // size tier (64 KiB, 1 MiB), so a Unicode class that pushes one
        // regex up a tier shows in the per-pack figures.
        assert!(used < REGEX_BUDGET / 4, "built-in packs charged {} KiB (KiB per pack: {by_pack:?})", used >> 10);
    }

    /// A loop rule with context, as the pm2 pack writes it.
    const CONTEXT: &str = r#"
[[rule]]
id = "pm2.test"
title = "{app} {uptime}"
severity = "high"
regex = 'App \[(?P<app>.+):(?P<pm_id>\d+)\] exited with code \[(?P<code>\d+)\]'
unless = { regex = 'Stopping app:(?P<app>.+) id:(?P<pm_id>\d+)', within = "10s", key = ["app", "pm_id"] }
context = { regex = 'App \[(?P<app>.+):(?P<pm_id>\d+)\] online', before = "1m", key = ["app", "pm_id"], since = "uptime", require = true }
correlate = { kind = "threshold", count = 3, window = "5m" }
fix = "code {code}, uptime {uptime} ({uptime_ms} ms)"
"#;

    #[test]
    fn context_entries_compile_in_order() {
        let (rules, errs) = compile_pack("p.toml", CONTEXT, &mut RegexBudget::default());
        assert!(errs.is_empty(), "{errs:?}");
        let c = &rules[0].context;
        assert_eq!(c.len(), 2);
        assert!(matches!(&c[0].kind, ContextKind::Unless { within, every: false, count: 1 } if within.ms() == 10_000));
        assert!(matches!(
            &c[1].kind,
            ContextKind::Lend { side: Side::Before, since: Some(s), require: true, .. } if s == "uptime"
        ));
        assert_eq!(c[1].key, ["app", "pm_id"]);
        // An array of tables, `after`, and a lent field as the group key.
        let arr = CONTEXT
            .replace("context = {", "context = [{")
            .replace("require = true }", "require = true }, { regex = 'owner (?P<owner>\\w+)', after = \"5s\" }]")
            .replace("{app} {uptime}", "{app} {owner}")
            .replace("fix =", "group_by = [\"owner\"]\nfix =");
        let (rules, errs) = compile_pack("p.toml", &arr, &mut RegexBudget::default());
        assert!(errs.is_empty(), "{errs:?}");
        assert!(matches!(rules[0].context[2].kind, ContextKind::Lend { side: Side::After, .. }));
    }

    #[test]
    fn context_errors_are_located() {
        let cases: [(&str, &str, &str); 7] = [
            // (replace, with, error wanted: position and message start)
            (", within = \"10s\"", "", "p.toml:7:10: unless needs within"),
            ("within = \"10s\"", "within = \"10 s\"", "p.toml:7:75: within: bad window \"10 s\""),
            ("before = \"1m\"", "before = \"1m\", after = \"5s\"", "p.toml:8:89: context takes before or after"),
            ("before = \"1m\", ", "", "p.toml:8:11: context needs before = \"1m\" or after"),
            ("since = \"uptime\"", "since = \"code\"", "p.toml:8:113: since \"code\" would hide the field \"code\""),
            (
                "key = [\"app\", \"pm_id\"] }\ncontext",
                "key = [\"app\", \"id\"] }\ncontext",
                "p.toml:7:88: unless key field \"id\" is not captured by the unless regex",
            ),
            (
                "{uptime} ({uptime_ms} ms)",
                "{since}",
                "p.toml:10:28: fix uses {since}, which the regex does not capture",
            ),
        ];
        for (from, to, want) in cases {
            let text = CONTEXT.replace(from, to);
            assert_ne!(text, CONTEXT, "{from}");
            let errs = errors_of(&text);
            assert_eq!(errs.len(), 1, "{from}: {errs:?}");
            assert!(errs[0].starts_with(want), "{from}: {errs:?}");
        }
        let errs = errors_of(&CONTEXT.replace("within", "withn"));
        assert!(
            errs[0].starts_with("p.toml:7:66: unknown field `withn`, expected one of `regex`, `within`, `key`"),
            "{errs:?}"
        );
        let errs = errors_of(
            &CONTEXT.replace("since = \"uptime\", ", "").replace("before = \"1m\"", "after = \"1m\", since = \"x\""),
        );
        assert!(errs.iter().any(|e| e.contains("since needs before")), "{errs:?}");
    }

    #[test]
    fn scope_every_and_for_regex_compile() {
        let text = CONTEXT
            .replace(
                "key = [\"app\", \"pm_id\"] }\ncontext",
                "key = [\"app\", \"pm_id\"], every = true, scope = \"app\", for_regex = [1] }\ncontext",
            )
            .replace("require = true }", "require = true, scope = \"file\" }");
        let (rules, errs) = compile_pack("p.toml", &text, &mut RegexBudget::default());
        assert!(errs.is_empty(), "{errs:?}");
        let c = &rules[0].context;
        assert!(matches!(c[0].kind, ContextKind::Unless { every: true, .. }));
        assert_eq!((c[0].scope, c[0].shapes.as_slice()), (Scope::App, [0u8].as_slice()));
        assert_eq!((c[1].scope, c[1].shapes.is_empty()), (Scope::File, true));
        assert!(c[0].applies_to(0) && !c[0].applies_to(1) && c[1].applies_to(1));
    }

    #[test]
    fn scope_for_regex_and_supersedes_errors_are_located() {
        let cases: [(&str, &str, &str); 6] = [
            (
                "within = \"10s\",",
                "within = \"10s\", scope = \"host\",",
                "p.toml:7:90: unless scope \"host\" must be \"file\"",
            ),
            (
                "require = true }",
                "require = true, for_regex = [2] }",
                "p.toml:8:151: context for_regex 2: the rule has 1 regex(es), numbered from 1",
            ),
            ("require = true }", "require = true, for_regex = [0] }", "p.toml:8:151: context for_regex 0:"),
            ("require = true }", "require = true, for_regex = [] }", "p.toml:8:151: context for_regex is empty"),
            ("fix =", "supersedes = [\"pm2.test\"]\nfix =", "p.toml:10:14: supersedes lists the rule itself"),
            (
                "fix =",
                "supersedes = [\"Node.Crash\"]\nfix =",
                "p.toml:10:14: supersedes: \"Node.Crash\" is not a rule id",
            ),
        ];
        for (from, to, want) in cases {
            let text = CONTEXT.replacen(from, to, 1);
            assert_ne!(text, CONTEXT, "{from}");
            let errs = errors_of(&text);
            assert_eq!(errs.len(), 1, "{to}: {errs:?}");
            assert!(errs[0].starts_with(want), "{to}: {errs:?}");
        }
        let (rules, errs) = compile_pack(
            "p.toml",
            &CONTEXT.replace("fix =", "supersedes = [\"node.uncaught-exception\"]\nfix ="),
            &mut RegexBudget::default(),
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(rules[0].supersedes, ["node.uncaught-exception"]);
        assert_eq!(rules[0].supersedes_at, Some((10, 14)));
    }

    #[test]
    fn too_many_context_entries() {
        let entry = "{ regex = 'x(?P<app>y)', before = \"1m\" }";
        let many = CONTEXT
            .replace("context = {", &format!("context = [{}, {{", [entry; 5].join(", ")))
            .replace("require = true }", "require = true }]");
        let errs = errors_of(&many);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].starts_with("p.toml:8:11: a rule may have at most 6"), "{errs:?}");
    }

    #[test]
    fn toml_syntax_error_is_located() {
        let errs = errors_of("[[rule]]\nid = \"x.y\nseverity = 1\n");
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("p.toml:2:"), "{errs:?}");
    }

    #[test]
    fn toml_errors_say_what_to_do() {
        let pack = |body: &str| format!("[[rule]]\nid = \"x.y\"\ntitle = \"t\"\nseverity = \"low\"\n{body}");
        let escape = errors_of(&pack("regex = \"ERR (\\w+)\"\nfix = \"f\"\n"));
        assert!(escape[0].starts_with("p.toml:5:16: missing escaped value"), "{escape:?}");
        assert!(escape[0].contains("write regexes in single quotes ('ERR (\\w+)')"), "{escape:?}");
        let late = errors_of(&pack("regex = 'ERR'\n[[rule.example]]\nexpect = 1\nlog = 'ERR'\nfix = \"f\"\n"));
        assert_eq!(
            late,
            ["p.toml:9:1: `fix` is a key of the rule, but it comes after a [[rule.example]] table, so TOML reads it \
              as the example's: move it above the examples (they go last in the rule)"]
        );
        // A key no table takes keeps the toml crate's wording.
        let typo = errors_of(&pack("regex = 'ERR'\n[[rule.example]]\nexpect = 1\nlog = 'ERR'\nlgo = 1\n"));
        assert!(typo[0].contains("unknown field `lgo`, expected one of `log`, `expect`, `as`"), "{typo:?}");
        let absence = errors_of(&pack("regex = 'ERR'\ncorrelate = \"absence\"\nfix = \"f\"\n"));
        assert_eq!(absence.len(), 1, "{absence:?}");
        assert!(
            absence[0].starts_with(
                "p.toml:6:13: correlate = \"absence\" needs a table: correlate = { kind = \"absence\", until = '"
            ),
            "{absence:?}"
        );
    }

    /// RULE_KEYS is what the `[[rule]]` table takes: the keys serde lists
    /// for an unknown one.
    #[test]
    fn rule_keys_are_the_rule_tables_fields() {
        let e = errors_of("[[rule]]\nid = \"x.y\"\ncolour = 1\n");
        let listed: Vec<String> = RULE_KEYS.iter().map(|k| format!("`{k}`")).collect();
        assert!(e[0].ends_with(&listed.join(", ")), "{e:?}");
    }
}
