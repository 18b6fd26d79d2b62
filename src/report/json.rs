//! `--format json`: the whole run as one document, written at the end.

use std::io::{self, Write};

use super::Reporter;
use super::schema::{Document, SCHEMA_VERSION, TOOL};
use crate::incidents::Incident;
use crate::summary::Summary;

/// Collects incidents, writes the document in `finish`.
pub struct Json<W> {
    w: W,
    incidents: Vec<Incident>,
}

impl<W: Write> Json<W> {
    /// Writes to `w`.
    pub fn new(w: W) -> Json<W> {
        Json { w, incidents: Vec::new() }
    }
}

impl<W: Write> Reporter for Json<W> {
    fn incident(&mut self, incident: &Incident) -> io::Result<()> {
        self.incidents.push(incident.clone());
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let doc = Document { schema_version: SCHEMA_VERSION, tool: &TOOL, incidents: &self.incidents, summary };
        serde_json::to_writer_pretty(&mut self.w, &doc)?;
        self.w.write_all(b"\n")?;
        self.w.flush()
    }
}
