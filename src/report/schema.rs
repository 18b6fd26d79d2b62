//! The JSON output contract. Bump [`SCHEMA_VERSION`] on any change that
//! removes or changes the meaning of a field; adding a field does not.

use serde::Serialize;

use crate::incidents::Incident;
use crate::summary::Summary;

/// Version of the JSON / NDJSON output schema.
pub const SCHEMA_VERSION: u32 = 1;

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
    /// Incidents in report order.
    pub incidents: &'a [Incident],
    /// Accounting.
    pub summary: &'a Summary,
}

/// `--format ndjson`: one line per incident, then one for the summary.
#[derive(Debug, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "lowercase")]
pub enum Line<'a> {
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
