//! `--format json`: the whole run as one document. Incidents are written as
//! they come (a dense run has tens of thousands; holding copies until the
//! end doubled the heap), in the same bytes `serde_json`'s pretty printer
//! gives for the whole [`Document`].

use std::io::{self, Write};

use serde::Serialize;

use super::Reporter;
use super::schema::{SCHEMA_VERSION, TOOL};
use crate::incidents::{Incident, Store};
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
        nested_each(&mut self.w, stories, 1)?;
        self.w.write_all(b",\n  \"incidents\": [")
    }
}

/// Pretty-prints `value` as if it sat `depth` levels deep, in the bytes
/// `serde_json`'s pretty printer gives for it inside the whole document
/// (the Alertmanager array is written the same way). Serialized into one
/// buffer and handed to `w` in one write: the pretty printer writes every
/// token on its own, and each of those through the caller's boxed writer
/// was a fifth of a run's time when it reports tens of thousands of
/// incidents (many-apps corpus, 46 k incidents, 116 MB of JSON).
pub(super) fn nested(w: &mut impl Write, value: &impl Serialize, depth: usize) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    value.serialize(&mut serde_json::Serializer::with_formatter(&mut buf, Nested::at(depth)))?;
    w.write_all(&buf)
}

/// [`nested`] of the array `items`, one item at a time: the same bytes,
/// without the whole array in one buffer (a storm's story names every
/// incident: 33 MiB of the 5 GiB storm's peak).
fn nested_each<T: Serialize>(w: &mut impl Write, items: &[T], depth: usize) -> io::Result<()> {
    if items.is_empty() {
        return w.write_all(b"[]");
    }
    let inner = Nested::at(depth + 1);
    w.write_all(b"[")?;
    for (i, item) in items.iter().enumerate() {
        inner.line(w, if i == 0 { b"\n" } else { b",\n" })?;
        nested(w, item, depth + 1)?;
    }
    Nested::at(depth).line(w, b"\n")?;
    w.write_all(b"]")
}

/// `serde_json`'s `PrettyFormatter` (two spaces a level) starting `depth`
/// levels in: every line break is followed by the indent of the level the
/// value sits at in the whole document.
struct Nested {
    /// Levels open, counting the `depth` the value starts at.
    level: usize,
    /// Whether the array or object being written has a value yet.
    has_value: bool,
}

impl Nested {
    fn at(depth: usize) -> Nested {
        Nested { level: depth, has_value: false }
    }

    /// A line break and the current level's indent, in one write.
    fn line<W: ?Sized + Write>(&self, w: &mut W, lead: &[u8]) -> io::Result<()> {
        w.write_all(lead)?;
        let mut left = 2 * self.level;
        while left > 0 {
            let n = left.min(PAD.len());
            w.write_all(&PAD[..n])?;
            left -= n;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.line(w, b"\n")?;
        }
        w.write_all(bracket)
    }
}

/// Spaces for [`Nested`]'s indents, written a slice at a time.
const PAD: &[u8] = b"                                ";

impl serde_json::ser::Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.line(w, if first { b"\n" } else { b",\n" })
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.line(w, if first { b"\n" } else { b",\n" })
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

impl<W: Write> Reporter for Json<W> {
    fn stories(&mut self, stories: &[Story], _: &Store) -> io::Result<()> {
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

    /// `nested_each` writes the bytes `nested` writes for the whole array:
    /// empty, one item, several, at several depths.
    #[test]
    fn nested_each_is_nested_of_the_array() {
        let item = serde_json::json!({"id": "s", "incidents": ["a", "b"], "cause": null, "apps": []});
        for n in [0, 1, 2, 5] {
            let items = vec![item.clone(); n];
            for depth in [0, 1, 3] {
                let (mut whole, mut each) = (Vec::new(), Vec::new());
                nested(&mut whole, &items, depth).expect("write");
                nested_each(&mut each, &items, depth).expect("write");
                assert_eq!(String::from_utf8_lossy(&each), String::from_utf8_lossy(&whole), "{n} items, depth {depth}");
            }
        }
    }

    /// `nested` at any depth is the pretty printer's text with every line
    /// break followed by that depth's indent (what the document's printer
    /// writes there): empty and nested arrays and objects, strings holding
    /// escaped line breaks, and values deeper than one write of indent.
    #[test]
    fn nested_is_the_pretty_text_indented() {
        let mut deep = serde_json::json!("leaf\nwith a break");
        for n in 0..20 {
            deep = if n % 2 == 0 { serde_json::json!([deep, {}]) } else { serde_json::json!({"k": deep, "e": []}) };
        }
        let values = [
            serde_json::json!(null),
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!({"a": [1, [], {}, {"b": "x\ny"}], "c": {"d": []}}),
            deep,
        ];
        for v in &values {
            for depth in [0, 1, 2, 3, 17] {
                let mut got = Vec::new();
                nested(&mut got, v, depth).expect("write");
                let pad = format!("\n{}", "  ".repeat(depth));
                let want = serde_json::to_string_pretty(v).expect("json").replace('\n', &pad);
                assert_eq!(String::from_utf8_lossy(&got), want, "depth {depth}");
            }
        }
    }

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
