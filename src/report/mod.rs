//! Report: incidents and the summary → bytes, pushed to a [`Reporter`]
//! (ripgrep's `Sink` shape). Reporters never see files; the scanner never
//! sees a writer. Formats: human text, one JSON document, NDJSON, GitHub
//! Markdown.

mod json;
mod markdown;
mod ndjson;
pub mod schema;
mod text;

use std::io::{self, Write};

use crate::incidents::Incident;
use crate::scan::ScanOutput;
use crate::summary::Summary;

pub use json::Json;
pub use markdown::Markdown;
pub use ndjson::Ndjson;
pub use text::{Color, Text};

/// Receives a scan's results in order.
pub trait Reporter {
    /// One incident, in report order.
    fn incident(&mut self, incident: &Incident) -> io::Result<()>;
    /// The summary, last.
    fn finish(&mut self, summary: &Summary) -> io::Result<()>;
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: incidents with evidence and fixes, then the summary.
    Text,
    /// One JSON document (see README, "JSON output").
    Json,
    /// One JSON object per line: incidents, then the summary.
    Ndjson,
    /// GitHub Markdown for a step summary or a PR comment: counts, a table,
    /// a section per incident (capped; see README, "Markdown output").
    Markdown,
}

/// Pushes `out` through `reporter`.
pub fn emit(reporter: &mut dyn Reporter, out: &ScanOutput) -> io::Result<()> {
    for incident in &out.incidents {
        reporter.incident(incident)?;
    }
    reporter.finish(&out.summary)
}

/// A reporter for `format` writing to `w`.
pub fn reporter<'w>(format: Format, w: Box<dyn Write + 'w>, color: bool) -> Box<dyn Reporter + 'w> {
    match format {
        Format::Text => Box::new(Text::new(w, color)),
        Format::Json => Box::new(Json::new(w)),
        Format::Ndjson => Box::new(Ndjson::new(w)),
        Format::Markdown => Box::new(Markdown::new(w)),
    }
}

/// First and last seen, count and window, in the words people read (text
/// and Markdown say it the same way).
fn when(i: &Incident) -> String {
    let span = match (&i.first_seen, &i.last_seen) {
        (Some(a), Some(b)) if a != b => format!("{a} → {b}"),
        (Some(a), _) => a.clone(),
        _ => "no timestamps in the log".to_string(),
    };
    let times = if i.count == 1 { "once".to_string() } else { format!("{}×", i.count) };
    match &i.window {
        Some(w) => format!("{span} ({times}, window {w})"),
        None => format!("{span} ({times})"),
    }
}
