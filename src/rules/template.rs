//! Title and fix templates: text with `{field}` placeholders, `{{` and `}}`
//! for literal braces, `{field|fallback text}` for a field that only
//! some of a rule's regexes capture, and `{field?one|other}` to agree with
//! a number (`{count?# error|# errors}`: `#` is the value). Parsed once at
//! load so an unknown placeholder is a rule error, not a blank in a report. A fix is kept
//! per incident as [`Filled`]: the template and its values, not the text.
//!
//! A value may stand in for its placeholder together with the preposition
//! written right before it ([`LEADS`]): an incident from a log without
//! times renders "6 exits within {window}" as "6 exits in a log without
//! timestamps", so no rule needs a second title (see [`Value`]).

use std::fmt;
use std::sync::Arc;

/// A parsed template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
    source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// A placeholder: its name, its fallback, and the preposition before it
    /// (with the space that follows it), taken out of the text before.
    Field(String, Option<String>, Option<String>),
    /// `{name?one|other}`: `one` when the value is 1, `other` otherwise
    /// (also when the field has no value); `#` in either is the value.
    Plural {
        name: String,
        one: String,
        other: String,
    },
}

/// Prepositions a [`Value::phrase`] replaces when written right before the
/// placeholder (as a word, followed by one space): the ways a rule says
/// "within its window".
pub const LEADS: [&str; 4] = ["within", "in", "over", "during"];

/// What a placeholder renders as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The value.
    pub text: String,
    /// A phrase that replaces the placeholder together with the preposition
    /// before it, when one of [`LEADS`] is there ("within {window}" → "in a
    /// log without timestamps"); elsewhere the placeholder renders `text`.
    pub phrase: Option<String>,
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value { text, phrase: None }
    }
}

impl Template {
    /// Parses `text`; the error names the byte offset of the problem.
    pub fn parse(text: &str) -> Result<Template, (usize, String)> {
        let mut pieces = Vec::new();
        let mut buf = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    buf.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    buf.push('}');
                }
                '{' => {
                    let rest = &text[i + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err((i, "unclosed '{' in template; write '{{' for a literal brace".into()));
                    };
                    let inner = &rest[..end];
                    let mut piece = placeholder(inner).map_err(|msg| (i, msg))?;
                    if let Piece::Field(_, _, lead) = &mut piece {
                        *lead = take_lead(&mut buf);
                    }
                    if !buf.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut buf)));
                    }
                    pieces.push(piece);
                    // Skip to the closing brace by byte offset: a placeholder
                    // may hold multi-byte text (`{count?once|#×}`).
                    let close = i + 1 + end;
                    while chars.next_if(|&(j, _)| j <= close).is_some() {}
                }
                '}' => return Err((i, "unmatched '}' in template; write '}}' for a literal brace".into())),
                _ => buf.push(c),
            }
        }
        if !buf.is_empty() {
            pieces.push(Piece::Text(buf));
        }
        Ok(Template { pieces, source: text.to_string() })
    }

    /// The template as written (for `rules explain`).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The placeholder names, in order of appearance.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field(f, ..) | Piece::Plural { name: f, .. } => Some(f.as_str()),
            Piece::Text(_) => None,
        })
    }

    /// Renders with `lookup`; a field it has no value for renders as its
    /// fallback, or `?` without one.
    pub fn render(&self, lookup: impl Fn(&str) -> Option<Value>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f, fallback, lead) => push_value(&mut out, &lookup, f, fallback, lead),
                Piece::Plural { name, one, other } => out.push_str(&plural(&lookup, name, one, other)),
            }
        }
        out.shrink_to_fit();
        out
    }

    /// [`Template::render`], keeping only the values: see [`Filled`].
    pub fn fill(self: &Arc<Self>, lookup: impl Fn(&str) -> Option<Value>) -> Filled {
        let mut values = String::new();
        let mut ends = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(_) => continue,
                Piece::Field(f, fallback, lead) => push_value(&mut values, &lookup, f, fallback, lead),
                Piece::Plural { name, one, other } => values.push_str(&plural(&lookup, name, one, other)),
            }
            ends.push(values.len());
        }
        Filled { template: self.clone(), values: values.into_boxed_str(), ends: ends.into_boxed_slice() }
    }
}

/// Appends a placeholder's rendering: its lead-in and value, or the
/// phrase that replaces both.
fn push_value(
    out: &mut String,
    lookup: impl Fn(&str) -> Option<Value>,
    field: &str,
    fallback: &Option<String>,
    lead: &Option<String>,
) {
    let value = lookup(field);
    match (value, lead) {
        (Some(Value { phrase: Some(phrase), .. }), Some(lead)) => {
            // The lead holds the space before its word; a phrase that
            // starts a clause of its own (", at least 3 within 5m") goes
            // right after the word before.
            if lead.starts_with(' ') && !phrase.starts_with(',') {
                out.push(' ');
            }
            out.push_str(&phrase);
        }
        (value, lead) => {
            out.push_str(lead.as_deref().unwrap_or_default());
            match value {
                Some(v) => out.push_str(&v.text),
                None => out.push_str(fallback.as_deref().unwrap_or("?")),
            }
        }
    }
}

/// Parses what stands between `{` and `}`: `name`, `name|fallback` or
/// `name?one|other`. A `?` before the first `|` makes it plural, so a
/// fallback text may hold a `?` (`{port|which port?}`).
fn placeholder(inner: &str) -> Result<Piece, String> {
    let (head, tail) = match inner.split_once('|') {
        Some((h, t)) => (h, Some(t)),
        None => (inner, None),
    };
    let (name, one) = match head.split_once('?') {
        Some((n, one)) => (n, Some(one)),
        None => (head, None),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "bad placeholder {{{inner}}}: use {{field_name}}, {{field_name|fallback}} or {{field_name?one|other}}"
        ));
    }
    match (one, tail) {
        (Some(one), Some(other)) => Ok(Piece::Plural { name: name.into(), one: one.into(), other: other.into() }),
        (Some(_), None) => Err(format!(
            "bad placeholder {{{inner}}}: a plural needs both forms, {{{name}?# error|# errors}} (`#` is the value)"
        )),
        (None, fallback) => Ok(Piece::Field(name.into(), fallback.map(str::to_string), None)),
    }
}

/// The form of a plural placeholder that agrees with the field's value,
/// `#` replaced by the value (`?` when there is none).
fn plural(lookup: impl Fn(&str) -> Option<Value>, name: &str, one: &str, other: &str) -> String {
    let value = lookup(name).map(|v| v.text);
    let form = if value.as_deref().map(str::trim) == Some("1") { one } else { other };
    form.replace('#', value.as_deref().unwrap_or("?"))
}

/// Takes one of [`LEADS`] and the space after it off the end of `text`,
/// when it is a whole word there.
fn take_lead(text: &mut String) -> Option<String> {
    let word = text.strip_suffix(' ')?;
    let lead = LEADS.iter().find(|l| word.ends_with(*l))?;
    let before = &word[..word.len() - lead.len()];
    if before.chars().next_back().is_some_and(char::is_alphanumeric) {
        return None;
    }
    let mut at = before.len();
    // The space before the word goes with it, so that a phrase may start
    // with a comma.
    if text[..at].ends_with(' ') {
        at -= 1;
    }
    let taken = text[at..].to_string();
    text.truncate(at);
    Some(taken)
}

/// A template with one incident's values filled in, held as the template
/// plus the values. A fix is a kilobyte of prose and a flapping link gives
/// tens of thousands of incidents whose fixes differ only in a time or an
/// app name: rendered text per incident was the largest part of a noisy
/// scan's heap (1.2 KB of 5 KB per incident). It renders when shown
/// ([`fmt::Display`]) and serializes as the rendered string.
#[derive(Clone, Default)]
pub struct Filled {
    template: Arc<Template>,
    /// The values, one after another.
    values: Box<str>,
    /// Where each value ends in `values`.
    ends: Box<[usize]>,
}

impl Filled {
    /// The template, its values one after another, and where each value
    /// ends: what `incidents::store` writes of a fix past the memory
    /// budget (the template is the rule's, kept once).
    pub(crate) fn parts(&self) -> (&Arc<Template>, &str, &[usize]) {
        (&self.template, &self.values, &self.ends)
    }

    /// The inverse of [`Filled::parts`].
    pub(crate) fn from_parts(template: Arc<Template>, values: Box<str>, ends: Box<[usize]>) -> Filled {
        Filled { template, values, ends }
    }

    /// The template's text around the values, and the values: the text
    /// renders as `texts[0] values[0] texts[1] ... values[n-1] texts[n]`
    /// (`texts` is one longer than `values`). The HTML report sends each
    /// template's texts once and only the values per incident.
    pub fn split(&self) -> (Vec<String>, Vec<&str>) {
        let (mut texts, mut values) = (vec![String::new()], Vec::new());
        let (mut field, mut from) = (0, 0);
        for piece in &self.template.pieces {
            match piece {
                Piece::Text(t) => texts.last_mut().map_or((), |last| last.push_str(t)),
                Piece::Field(..) | Piece::Plural { .. } => {
                    let to = self.ends.get(field).copied().unwrap_or(from);
                    values.push(self.values.get(from..to).unwrap_or_default());
                    (field, from) = (field + 1, to);
                    texts.push(String::new());
                }
            }
        }
        (texts, values)
    }
}

impl fmt::Display for Filled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut field = 0;
        let mut from = 0;
        for piece in &self.template.pieces {
            match piece {
                Piece::Text(t) => f.write_str(t)?,
                Piece::Field(..) | Piece::Plural { .. } => {
                    let to = self.ends.get(field).copied().unwrap_or(from);
                    f.write_str(self.values.get(from..to).unwrap_or_default())?;
                    (field, from) = (field + 1, to);
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Filled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

/// Equal when the rendered texts are.
impl PartialEq for Filled {
    fn eq(&self, other: &Filled) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Filled {}

impl serde::Serialize for Filled {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_fields_and_escapes() {
        let t = Template::parse("restart {app} ({{not a field}})").expect("parses");
        assert_eq!(t.fields().collect::<Vec<_>>(), vec!["app"]);
        let out = t.render(|f| (f == "app").then(|| Value::from("api".to_string())));
        assert_eq!(out, "restart api ({not a field})");
    }

    #[test]
    fn fallback_for_fields_some_regexes_do_not_capture() {
        let t = Template::parse("refused on {port|the API port}").expect("parses");
        assert_eq!(t.fields().collect::<Vec<_>>(), vec!["port"]);
        assert_eq!(t.render(|_| None), "refused on the API port");
        assert_eq!(t.render(|_| Some(Value::from("4002".to_string()))), "refused on 4002");
    }

    #[test]
    fn filled_renders_and_serializes_as_the_text() {
        let t = Arc::new(Template::parse("{app} on {port|the API port}: restart {app} ({{x}})").expect("parses"));
        let lookup = |f: &str| (f == "app").then(|| Value::from("api".to_string()));
        let filled = t.fill(lookup);
        let text = t.render(lookup);
        assert_eq!(text, "api on the API port: restart api ({x})");
        assert_eq!(filled.to_string(), text);
        assert_eq!(serde_json::to_string(&filled).expect("json"), serde_json::to_string(&text).expect("json"));
        assert_eq!(format!("{filled:?}"), format!("{text:?}"));
        assert_eq!(filled, t.fill(lookup));
        assert_ne!(filled, t.fill(|_| Some(Value::from("web".to_string()))));
    }

    /// The texts and values of a split interleave back into the rendered
    /// text, with fields at either end, side by side, and plurals.
    #[test]
    fn split_interleaves_back_into_the_text() {
        let t = Arc::new(Template::parse("{app}{port|x}: {n?# error|# errors} for {app}").expect("parses"));
        let filled = t.fill(|f| Some(Value::from(if f == "n" { "1".to_string() } else { format!("<{f}>") })));
        let (texts, values) = filled.split();
        assert_eq!(texts, ["", "", ": ", " for ", ""]);
        assert_eq!(values, ["<app>", "<port>", "1 error", "<app>"]);
        let mut joined = texts[0].clone();
        for (v, t) in values.iter().zip(&texts[1..]) {
            joined += v;
            joined += t;
        }
        assert_eq!(joined, filled.to_string());
    }

    /// A phrase replaces the placeholder with the preposition before it,
    /// in the title and in the fix alike; with no preposition before it
    /// the value renders as usual.
    #[test]
    fn a_phrase_replaces_its_lead_in() {
        let untimed = |f: &str| {
            let text = match f {
                "window" => "5m",
                _ => "6",
            };
            Some(Value { text: text.into(), phrase: (f == "window").then(|| "in a log without timestamps".into()) })
        };
        let timed = |f: &str| Some(Value::from(if f == "window" { "5m" } else { "6" }.to_string()));
        for (template, with_times, without) in [
            ("{count} exits within {window}", "6 exits within 5m", "6 exits in a log without timestamps"),
            (
                "({count} failures, at least 3 in {window})",
                "(6 failures, at least 3 in 5m)",
                "(6 failures, at least 3 in a log without timestamps)",
            ),
            ("within {window}", "within 5m", "in a log without timestamps"),
            ("a {window} window", "a 5m window", "a 5m window"),
            ("bin {window}", "bin 5m", "bin 5m"),
            ("within  {window}", "within  5m", "within  5m"),
        ] {
            let t = Arc::new(Template::parse(template).expect("parses"));
            assert_eq!(t.render(timed), with_times, "{template}");
            assert_eq!(t.render(untimed), without, "{template}");
            assert_eq!(t.fill(untimed).to_string(), without, "{template}");
            assert_eq!(t.source(), template);
        }
    }

    #[test]
    fn plural_agrees_with_the_value() {
        let t =
            Arc::new(Template::parse("({count?# error|# errors}, {count?once|#×}, {n?one|other})").expect("parses"));
        assert_eq!(t.fields().collect::<Vec<_>>(), vec!["count", "count", "n"]);
        let with = |count: &'static str| move |f: &str| (f == "count").then(|| Value::from(count.to_string()));
        assert_eq!(t.render(with("1")), "(1 error, once, other)");
        assert_eq!(t.render(with("3")), "(3 errors, 3×, other)");
        assert_eq!(t.render(with("0")), "(0 errors, 0×, other)");
        assert_eq!(t.fill(with("1")).to_string(), "(1 error, once, other)");
        assert_eq!(t.fill(with("12")).to_string(), "(12 errors, 12×, other)");
        // A field with several values is plural; no value shows `?`.
        assert_eq!(t.render(|_| Some(Value::from("1, 2".to_string()))), "(1, 2 errors, 1, 2×, other)");
        assert_eq!(t.render(|_| None), "(? errors, ?×, other)");
    }

    #[test]
    fn fallback_may_hold_a_question_mark_and_multibyte_text() {
        let t = Template::parse("{port|which port?} – {app|ünknown} ok").expect("parses");
        assert_eq!(t.render(|_| None), "which port? – ünknown ok");
    }

    #[test]
    fn rejects_unclosed_and_bad_names() {
        assert!(Template::parse("x {count?# error}").is_err());
        assert!(Template::parse("x {?a|b}").is_err());
        assert_eq!(Template::parse("x {app").map_err(|e| e.0), Err(2));
        assert!(Template::parse("x {a b}").is_err());
        assert!(Template::parse("x }").is_err());
    }
}
