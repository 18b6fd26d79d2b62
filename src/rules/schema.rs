//! The serde mirror of a rule pack. Fields keep their spans so that a
//! semantic error (bad severity, regex that does not compile) points at the
//! offending value, not only at the rule.

use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// A whole pack: `[[rule]]` tables and nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPack {
    #[serde(default)]
    pub rule: Vec<Spanned<RawRule>>,
}

/// One `[[rule]]` table, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    /// What the rule detects and why it matters (`rules explain`).
    #[serde(default)]
    pub description: Option<String>,
    pub severity: Spanned<String>,
    #[serde(default)]
    pub streams: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub literals: Option<Spanned<Vec<String>>>,
    /// A string, or an array of strings tried in order.
    pub regex: Spanned<toml::Value>,
    #[serde(default)]
    pub group_by: Option<Spanned<Vec<String>>>,
    /// `"single"`, or a table: `{ kind = "threshold", count = N, window = "5m" }`,
    /// `{ kind = "sequence", then = REGEX, window = "6h" }`,
    /// `{ kind = "absence", until = REGEX, window = "2m" }`.
    #[serde(default)]
    pub correlate: Option<Spanned<toml::Value>>,
    /// A window like `"10m"`: matches within it of an incident's last match
    /// fold into that incident.
    #[serde(default)]
    pub suppress: Option<Spanned<String>>,
    /// Events that excuse the next start event of their key: one table or
    /// an array of them.
    #[serde(default)]
    pub unless: Option<Spanned<OneOrMany<RawUnless>>>,
    /// Events whose captures the start events near them take: one table or
    /// an array of them.
    #[serde(default)]
    pub context: Option<Spanned<OneOrMany<RawContext>>>,
    /// Ids of rules whose matches on the same record this rule drops.
    #[serde(default)]
    pub supersedes: Option<Spanned<Vec<String>>>,
    pub fix: Spanned<String>,
    /// The sentences of `fix` that say what to do, on their own: what the
    /// default text view shows.
    #[serde(default)]
    pub action: Option<Spanned<String>>,
    #[serde(default)]
    pub references: Vec<String>,
    /// The story family the rule's incidents fold into: `"restart"` or
    /// `"dependency:NAME"`.
    #[serde(default)]
    pub story: Option<Spanned<String>>,
    /// Whose account the rule reads in a `dependency:NAME` story:
    /// `"client"` (default, an app that uses it) or `"server"` (the
    /// dependency's own log).
    #[serde(default)]
    pub side: Option<Spanned<String>>,
    /// `[[rule.example]]` tables: small inline cases `rules test` runs.
    #[serde(default)]
    pub example: Vec<Spanned<RawExample>>,
}

/// One `[[rule.example]]`: a log excerpt and how many incidents of this
/// rule it must give.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExample {
    pub log: String,
    pub expect: Spanned<i64>,
    /// The pm2 file the excerpt plays (decides app and stream), e.g.
    /// `"pm2.log"` or `"api-error.log"`.
    #[serde(default, rename = "as")]
    pub plays: Option<String>,
}

/// `unless = { regex = '...', within = "10s", key = ["app"], every = true,
/// scope = "app", for_regex = [2], count = 2 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUnless {
    /// A string or an array of strings.
    pub regex: Spanned<toml::Value>,
    pub within: Option<Spanned<String>>,
    #[serde(default)]
    pub key: Option<Spanned<Vec<String>>>,
    /// Excuse every start event within `within`, not only the next.
    #[serde(default)]
    pub every: bool,
    /// `"file"` (default) or `"app"`.
    pub scope: Option<Spanned<String>>,
    /// 1-based numbers of the rule's regexes the entry applies to.
    pub for_regex: Option<Spanned<Vec<i64>>>,
    /// How many of its events since the previous start event of its key
    /// it takes to excuse the next one (default 1).
    #[serde(default)]
    pub count: Option<Spanned<i64>>,
}

/// `context = { regex = '...', before = "1m", key = ["app"], since = "uptime", require = true }`
/// (or `after = "5s"` instead of `before`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContext {
    /// A string or an array of strings.
    pub regex: Spanned<toml::Value>,
    pub before: Option<Spanned<String>>,
    pub after: Option<Spanned<String>>,
    #[serde(default)]
    pub key: Option<Spanned<Vec<String>>>,
    pub since: Option<Spanned<String>>,
    #[serde(default)]
    pub require: bool,
    /// `"file"` (default) or `"app"`.
    pub scope: Option<Spanned<String>>,
    /// 1-based numbers of the rule's regexes the entry applies to.
    pub for_regex: Option<Spanned<Vec<i64>>>,
}

/// One table, or an array of tables. Each table of an array keeps its own
/// span; a lone table has the span of the key's value (the caller's).
#[derive(Debug)]
pub(super) enum OneOrMany<T> {
    One(T),
    Many(Vec<Spanned<T>>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // By hand, not `#[serde(untagged)]`: an untagged enum buffers the
        // value, which loses the spans inside it and turns "unknown field
        // `withn`" into "did not match any variant".
        struct Tables<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Tables<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table or an array of tables")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(OneOrMany::One)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::new();
                while let Some(t) = seq.next_element()? {
                    all.push(t);
                }
                Ok(OneOrMany::Many(all))
            }
        }
        d.deserialize_any(Tables(PhantomData))
    }
}

impl<T> OneOrMany<T> {
    /// The tables with their spans; `span` is the span of the whole value.
    pub fn tables(&self, span: std::ops::Range<usize>) -> Vec<(&T, std::ops::Range<usize>)> {
        match self {
            OneOrMany::One(t) => vec![(t, span)],
            OneOrMany::Many(all) => all.iter().map(|t| (t.get_ref(), t.span())).collect(),
        }
    }
}
