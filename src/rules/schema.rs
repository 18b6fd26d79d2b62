//! The serde mirror of a rule pack. Fields keep their spans so that a
//! semantic error (bad severity, regex that does not compile) points at the
//! offending value, not only at the rule.

use serde::Deserialize;
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
    pub fix: Spanned<String>,
    #[serde(default)]
    pub references: Vec<String>,
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
