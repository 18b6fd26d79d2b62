//! The JSON output contract. Bump [`SCHEMA_VERSION`] on any change that
//! removes or changes the meaning of a field; adding a field does not.
//!
//! Version 2 (stories): the document gains `stories` before `incidents`,
//! each incident gains `story`, NDJSON gains `"type":"story"` lines before
//! the incident lines. Version 1's fields are all there with their
//! meaning; the version changed because a reader that took every line of
//! an NDJSON stream for an incident or the summary would misread the story
//! lines. Added within version 2 before its release: `stories[].time_of_day`.

use serde::Serialize;

use crate::incidents::Incident;
use crate::stories::Story;
use crate::summary::Summary;

/// Version of the JSON / NDJSON output schema.
pub const SCHEMA_VERSION: u32 = 2;

/// Versions of the schema `--baseline` reads (their incidents' `rule` and
/// `key` mean the same in each).
pub const READABLE_VERSIONS: [u32; 2] = [1, 2];

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
    /// The summary (last line).
    Summary(&'a Summary),
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
