//! Baselines: the incidents of a previous run (its `--format json` or
//! `--format ndjson` output), reduced to their stable keys, so a CI job can
//! report (and fail on) new failure modes only. The key is the rule id plus
//! the group key (`{"app": "api"}`): it survives new timestamps, counts
//! and evidence, which is the point.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::contract::{READABLE_VERSIONS, SCHEMA_VERSION};
use crate::incidents::{Incident, Map};

/// A rule id and a group key: what "the same incident" means across runs.
pub type Key = (String, BTreeMap<String, String>);

/// The known incidents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// The file it came from, as given.
    pub path: String,
    keys: BTreeSet<Key>,
}

/// Why a baseline could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file could not be read.
    #[error("cannot read baseline {path}: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not logtriage JSON / NDJSON output.
    // Never suggest writing to {path}: a --baseline pointed at a log by
    // mistake would be overwritten by the command the message proposes.
    #[error(
        "baseline {path}:{line}:{col}: not logtriage JSON output ({message}); --baseline takes what a previous \
         run wrote, e.g. `logtriage scan LOGS --format json --fail-on never > baseline.json`, then \
         `--baseline baseline.json`"
    )]
    Format {
        /// The path as given.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// Written by a schema this build does not read.
    #[error("baseline {path} has schema_version {found}; this logtriage reads 1 and {SCHEMA_VERSION}: regenerate it")]
    Version {
        /// The path as given.
        path: String,
        /// The version in the file.
        found: u32,
    },
}

/// The fields of an incident a baseline needs; everything else is ignored
/// so that additive schema changes keep old baselines usable.
#[derive(Debug, Deserialize)]
struct KeyOnly {
    rule: String,
    #[serde(default)]
    key: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Document {
    schema_version: u32,
    incidents: Vec<KeyOnly>,
}

#[derive(Debug, Deserialize)]
struct Line {
    schema_version: u32,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

impl Baseline {
    /// Reads a previous run's output (JSON document or NDJSON).
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Io { path: shown.clone(), source })?;
        Baseline::parse(&shown, &text)
    }

    /// Parses `text`, named `path` in errors.
    pub fn parse(path: &str, text: &str) -> Result<Baseline, BaselineError> {
        let format_err = |line: usize, col: usize, message: String| BaselineError::Format {
            path: path.to_string(),
            line,
            col,
            message,
        };
        let from_serde =
            |e: serde_json::Error, line_offset: usize| format_err(e.line() + line_offset, e.column(), e.to_string());
        let mut keys = BTreeSet::new();
        let is_document = text.trim_start().starts_with('{') && serde_json::from_str::<serde_json::Value>(text).is_ok();
        if is_document {
            let doc: Document = serde_json::from_str(text).map_err(|e| from_serde(e, 0))?;
            check_version(path, doc.schema_version)?;
            keys.extend(doc.incidents.into_iter().map(|i| (i.rule, i.key)));
        } else {
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let parsed: Line = serde_json::from_str(line).map_err(|e| from_serde(e, n))?;
                check_version(path, parsed.schema_version)?;
                if parsed.kind != "incident" {
                    continue;
                }
                let data = parsed.data.unwrap_or_default();
                let inc: KeyOnly = serde_json::from_value(data).map_err(|e| format_err(n + 1, 1, e.to_string()))?;
                keys.insert((inc.rule, inc.key));
            }
        }
        Ok(Baseline { path: path.to_string(), keys })
    }

    /// Returns true if and only if an incident with the same rule and key
    /// was in the baseline.
    pub fn knows(&self, incident: &Incident) -> bool {
        self.knows_key(&incident.rule, &incident.key)
    }

    /// Returns true if and only if an incident of `rule` with `key` was in
    /// the baseline.
    pub fn knows_key(&self, rule: &str, key: &Map<String>) -> bool {
        // Clones only on lookup of a few hundred incidents at most.
        self.keys.contains(&(rule.to_string(), key.to_btree()))
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Returns true if and only if the baseline holds no incident.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn check_version(path: &str, found: u32) -> Result<(), BaselineError> {
    if READABLE_VERSIONS.contains(&found) {
        Ok(())
    } else {
        Err(BaselineError::Version { path: path.to_string(), found })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_and_ndjson() {
        let doc = r#"{"schema_version":1,"tool":{},"incidents":[{"rule":"pm2.crash-loop","key":{"app":"api"},"count":3}],"summary":{}}"#;
        let b = Baseline::parse("b.json", doc).expect("json");
        assert_eq!(b.len(), 1);
        let nd = "{\"schema_version\":1,\"type\":\"incident\",\"data\":{\"rule\":\"x.y\",\"key\":{}}}\n\
                  {\"schema_version\":1,\"type\":\"summary\",\"data\":{}}\n";
        let b = Baseline::parse("b.ndjson", nd).expect("ndjson");
        assert!(b.keys.contains(&("x.y".to_string(), BTreeMap::new())));
        // Version 2 adds stories (lines of their own in NDJSON) and each
        // incident's `story`; the keys read the same.
        let v2 = "{\"schema_version\":2,\"type\":\"story\",\"data\":{\"id\":\"s\",\"incidents\":[\"i\"]}}\n\
                  {\"schema_version\":2,\"type\":\"incident\",\"data\":{\"rule\":\"x.y\",\"key\":{},\"story\":\"s\"}}\n";
        let b = Baseline::parse("b.ndjson", v2).expect("ndjson v2");
        assert_eq!(b.len(), 1);
        let doc = r#"{"schema_version":2,"stories":[{"id":"s"}],"incidents":[{"rule":"x.y","key":{},"story":"s"}]}"#;
        assert_eq!(Baseline::parse("b.json", doc).expect("json v2").len(), 1);
    }

    #[test]
    fn errors_name_file_and_place() {
        let e =
            Baseline::parse("b.json", "{\"schema_version\":1,\n\"incidents\":[{\"key\":{}}]}").expect_err("no rule");
        assert!(e.to_string().starts_with("baseline b.json:2:"), "{e}");
        let e = Baseline::parse("b.json", r#"{"schema_version":7,"incidents":[]}"#).expect_err("version");
        assert!(e.to_string().contains("schema_version 7"), "{e}");
        let e = Baseline::parse("b.txt", "incidents: none\n").expect_err("not json");
        assert!(e.to_string().starts_with("baseline b.txt:1:"), "{e}");
    }
}
