//! The fixture convention: `FIXTURES/<rule-id>/` holds `fires-*.log` (must
//! give incidents) and `near-miss-*.log` (must not), and an `expect.toml`
//! with one table per log: which pm2 file it plays (`as`, which decides
//! app and stream) and the incidents the rule must report on it alone, in
//! report order. `key`, `fields` and `first_seen` are checked when given;
//! `fields` lists values for the named fields only.
//!
//! ```toml
//! [fires-cluster-loop]
//! as = "pm2.log"
//! incidents = [{ app = "api", count = 16, key = { app = "api" }, fields = { code = ["0"] } }]
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::incidents::Incident;

/// One log's table in `expect.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The pm2 file name the log plays.
    #[serde(rename = "as")]
    pub plays: String,
    /// Incidents wanted, in report order.
    #[serde(default)]
    pub incidents: Vec<Want>,
}

/// One incident wanted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Want {
    /// App named by the incident.
    pub app: Option<String>,
    /// Matches folded into it.
    pub count: usize,
    /// Group key fields to check.
    #[serde(default)]
    pub key: BTreeMap<String, String>,
    /// Captured fields to check (only those named).
    #[serde(default)]
    pub fields: BTreeMap<String, Vec<String>>,
    /// First seen (RFC 3339 as rendered).
    pub first_seen: Option<String>,
}

/// Parses `expect.toml`; the error carries line and column.
pub fn parse(file: &str, text: &str) -> Result<BTreeMap<String, Expect>, String> {
    toml::from_str(text).map_err(|e| {
        let (line, col) = crate::error::line_col(text, e.span().map_or(0, |s| s.start));
        format!("{file}:{line}:{col}: {}", e.message().trim_end())
    })
}

/// The differences between a wanted and a found incident, as `- want` /
/// `+ found` line pairs.
pub fn diff(want: &Want, got: &Incident) -> Vec<String> {
    let mut out = Vec::new();
    let mut pair = |what: String, w: String, g: String| {
        out.push(format!("- {what} = {w}"));
        out.push(format!("+ {what} = {g}"));
    };
    if want.app != got.app {
        pair("app".into(), format!("{:?}", want.app), format!("{:?}", got.app));
    }
    if want.count != got.count {
        pair("count".into(), want.count.to_string(), got.count.to_string());
    }
    for (k, v) in &want.key {
        if got.key.get(k) != Some(v) {
            pair(format!("key.{k}"), format!("{v:?}"), format!("{:?}", got.key.get(k)));
        }
    }
    for (k, v) in &want.fields {
        if got.fields.get(k) != Some(v) {
            pair(format!("fields.{k}"), format!("{v:?}"), format!("{:?}", got.fields.get(k)));
        }
    }
    if want.first_seen.is_some() && want.first_seen != got.first_seen {
        pair("first_seen".into(), format!("{:?}", want.first_seen), format!("{:?}", got.first_seen));
    }
    out
}

/// A wanted incident in one line, for "want N, found M" reports.
pub fn describe_want(w: &Want) -> String {
    format!("app={} count={}", w.app.as_deref().unwrap_or("-"), w.count)
}

/// A found incident in one line.
pub fn describe_found(i: &Incident) -> String {
    format!("app={} count={}: {}", i.app.as_deref().unwrap_or("-"), i.count, i.title)
}
