//! The JSON output contract: the document and NDJSON line shapes. Their
//! version numbers (and the version history) live in [`crate::contract`],
//! which the baseline reads without depending on the report.

use serde::Serialize;

use crate::incidents::Incident;
use crate::mine::Template;
use crate::stories::Story;
use crate::summary::Summary;

pub use crate::contract::{READABLE_VERSIONS, SCHEMA_VERSION};

/// Names the producer.
#[derive(Debug, Serialize)]
pub struct Tool {
    /// Always `logtriage`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

/// The producer of this build.
pub const TOOL: Tool = Tool { name: "logtriage", version: env!("CARGO_PKG_VERSION") };

/// `--format json`: one document.
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Producer.
    pub tool: &'a Tool,
    /// Stories in report order.
    pub stories: &'a [Story],
    /// Incidents in report order.
    pub incidents: &'a [Incident],
    /// Unrecognised errors, most frequent first (added within version 2).
    pub unknown: &'a [Template],
    /// Accounting.
    pub summary: &'a Summary,
}

/// `--format ndjson`: one line per story, one per incident, then one for
/// the summary.
#[derive(Debug, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "lowercase")]
pub enum Line<'a> {
    /// A story (all come before the first incident).
    Story(&'a Story),
    /// An incident.
    Incident(&'a Incident),
    /// The summary (last line), with the unrecognised errors.
    Summary(SummaryLine<'a>),
}

/// The NDJSON summary line's data: the summary's fields, and `unknown`
/// (added within version 2: a new line type would be misread by readers
/// that take every line for an incident or the summary).
#[derive(Debug, Serialize)]
pub struct SummaryLine<'a> {
    /// Accounting.
    #[serde(flatten)]
    pub summary: &'a Summary,
    /// Unrecognised errors, most frequent first.
    pub unknown: &'a [Template],
}

/// An NDJSON line with its version.
#[derive(Debug, Serialize)]
pub struct Envelope<'a> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `type` and `data`.
    #[serde(flatten)]
    pub line: Line<'a>,
}
