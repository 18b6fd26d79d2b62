//! `--format json`: the whole run as one document. Incidents are written as
//! they come (a dense run has tens of thousands; holding copies until the
//! end doubled the heap), in the same bytes `serde_json`'s pretty printer
//! gives for the whole [`Document`].

use std::io::{self, Write};

use serde::Serialize;

use super::Reporter;
use super::schema::{SCHEMA_VERSION, TOOL};
use crate::incidents::Incident;
use crate::mine::Template;
use crate::stories::Story;
use crate::summary::Summary;

/// Streams the document to `w`.
pub struct Json<W> {
    w: W,
    /// Whether the head (up to the incidents' `[`) is written.
    headed: bool,
    /// Incidents written so far.
    written: usize,
    /// Whether the incidents' array is closed and `unknown` written.
    closed: bool,
}

impl<W: Write> Json<W> {
    /// Writes to `w`.
    pub fn new(w: W) -> Json<W> {
        Json { w, headed: false, written: 0, closed: false }
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
/// the same way. Serialized straight into `w` (buffered by the caller):
/// building each incident's text first, then an indented copy of it, was
/// most of the report's time on a run with tens of thousands of incidents.
pub(super) fn nested(w: &mut impl Write, value: &impl Serialize, depth: usize) -> io::Result<()> {
    let pad = &PAD[..(2 * depth).min(PAD.len())];
    serde_json::to_writer_pretty(Indented { w, pad }, value)?;
    Ok(())
}

/// Indent for [`nested`]: documents nest four levels at most.
const PAD: &[u8] = b"        ";

/// Writes through to `w`, with `pad` after every line break.
struct Indented<'a, W> {
    w: &'a mut W,
    pad: &'a [u8],
}

impl<W: Write> Write for Indented<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while let Some(i) = memchr::memchr(b'\n', buf) {
            self.w.write_all(&buf[..=i])?;
            self.w.write_all(self.pad)?;
            buf = &buf[i + 1..];
        }
        self.w.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
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

    fn unknown(&mut self, templates: &[Template]) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        if self.written == 0 {
            self.head(&[])?;
            self.w.write_all(b"]")?;
        } else {
            self.w.write_all(b"\n  ]")?;
        }
        self.w.write_all(b",\n  \"unknown\": ")?;
        nested(&mut self.w, &templates, 1)
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.unknown(&[])?;
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
                unknown: &[],
                summary: &summary,
            };
            let mut whole = serde_json::to_vec_pretty(&doc).expect("json");
            whole.push(b'\n');
            assert_eq!(String::from_utf8_lossy(&streamed), String::from_utf8_lossy(&whole), "{n} incidents");
        }
    }
}
