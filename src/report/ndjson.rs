//! `--format ndjson`: the stories first, one per line, then one incident
//! per line as it comes, the summary last, each line
//! `{"schema_version":2,"type":...,"data":{...}}`.

use std::io::{self, Write};

use super::Reporter;
use super::schema::{Envelope, Line, SCHEMA_VERSION, SummaryLine};
use crate::incidents::{Incident, Store};
use crate::mine::Template;
use crate::stories::Story;
use crate::summary::Summary;

/// Streams lines to `w`.
pub struct Ndjson<W> {
    w: W,
    /// Held for the summary line.
    unknown: Vec<Template>,
}

impl<W: Write> Ndjson<W> {
    /// Writes to `w`.
    pub fn new(w: W) -> Ndjson<W> {
        Ndjson { w, unknown: Vec::new() }
    }

    fn line(&mut self, line: Line<'_>) -> io::Result<()> {
        serde_json::to_writer(&mut self.w, &Envelope { schema_version: SCHEMA_VERSION, line })?;
        self.w.write_all(b"\n")
    }
}

impl<W: Write> Reporter for Ndjson<W> {
    fn stories(&mut self, stories: &[Story], _: &Store) -> io::Result<()> {
        for s in stories {
            self.line(Line::Story(s))?;
        }
        Ok(())
    }

    fn incident(&mut self, incident: &Incident) -> io::Result<()> {
        self.line(Line::Incident(incident))?;
        // Alerting pipelines read line by line: do not hold lines back.
        self.w.flush()
    }

    fn unknown(&mut self, templates: &[Template]) -> io::Result<()> {
        self.unknown = templates.to_vec();
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let unknown = std::mem::take(&mut self.unknown);
        self.line(Line::Summary(SummaryLine { summary, unknown: &unknown }))?;
        self.w.flush()
    }
}
