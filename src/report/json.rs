//! `--format json`: the whole run as one document. Incidents are written as
//! they come (a dense run has tens of thousands; holding copies until the
//! end doubled the heap), in the same bytes `serde_json`'s pretty printer
//! gives for the whole [`Document`].

use std::io::{self, Write};

use serde::Serialize;

use super::Reporter;
use super::schema::{SCHEMA_VERSION, TOOL};
use crate::incidents::Incident;
use crate::stories::Story;
use crate::summary::Summary;

/// Streams the document to `w`.
pub struct Json<W> {
    w: W,
    /// Whether the head (up to the incidents' `[`) is written.
    headed: bool,
    /// Incidents written so far.
    written: usize,
}

impl<W: Write> Json<W> {
    /// Writes to `w`.
    pub fn new(w: W) -> Json<W> {
        Json { w, headed: false, written: 0 }
    }

    /// Writes the document up to the incidents' `[`, with `stories`.
    fn head(&mut self, stories: &[Story]) -> io::Result<()> {
        if self.headed {
            return Ok(());
        }
        self.headed = true;
        write!(self.w, "{{\n  \"schema_version\": {SCHEMA_VERSION},\n  \"tool\": ")?;
        nested(&mut self.w, &TOOL, 1)?;
        self.w.write_all(b",\n  \"stories\": ")?;
        nested(&mut self.w, &stories, 1)?;
        self.w.write_all(b",\n  \"incidents\": [")
    }
}

/// Pretty-prints `value` as if it sat `depth` levels deep: serde_json's
/// pretty output never has a raw newline inside a string, so indenting
/// every line after the first is exact. The Alertmanager array is written
/// the same way.
pub(super) fn nested(w: &mut impl Write, value: &impl Serialize, depth: usize) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    // One replace and one write: a write per line was most of the report's
    // time on a run with tens of thousands of incidents.
    let indented = text.replace('\n', &format!("\n{}", "  ".repeat(depth)));
    w.write_all(indented.as_bytes())
}

impl<W: Write> Reporter for Json<W> {
    fn stories(&mut self, stories: &[Story], _: &[Incident]) -> io::Result<()> {
        self.head(stories)
    }

    fn incident(&mut self, incident: &Incident) -> io::Result<()> {
        self.head(&[])?;
        self.w.write_all(if self.written == 0 { b"\n    " } else { b",\n    " })?;
        nested(&mut self.w, incident, 2)?;
        self.written += 1;
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        if self.written == 0 {
            self.head(&[])?;
            self.w.write_all(b"]")?;
        } else {
            self.w.write_all(b"\n  ]")?;
        }
        self.w.write_all(b",\n  \"summary\": ")?;
        nested(&mut self.w, summary, 1)?;
        self.w.write_all(b"\n}\n")?;
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::schema::Document;
    use crate::report::test_support::{crash_loop, summary};

    /// Streaming gives the bytes serializing the whole document gives.
    #[test]
    fn same_bytes_as_the_document() {
        for n in [0usize, 1, 3] {
            let incidents: Vec<Incident> = (0..n).map(|_| crash_loop()).collect();
            let summary = summary(&incidents);
            let mut streamed = Vec::new();
            let mut r = Json::new(&mut streamed);
            for i in &incidents {
                r.incident(i).expect("write");
            }
            r.finish(&summary).expect("finish");
            let doc = Document {
                schema_version: SCHEMA_VERSION,
                tool: &TOOL,
                stories: &[],
                incidents: &incidents,
                summary: &summary,
            };
            let mut whole = serde_json::to_vec_pretty(&doc).expect("json");
            whole.push(b'\n');
            assert_eq!(String::from_utf8_lossy(&streamed), String::from_utf8_lossy(&whole), "{n} incidents");
        }
    }
}
