//! `--format html`: the run as one self-contained page, a timeline of the
//! outage (one lane per app, incidents placed where they happened, stories
//! grouped) that a person opens from a `file://` URL or a CI artifact.
//!
//! This module owns the page's data and its safety; the drawing is the
//! page's own script (`html/page.js`, `html/page.css`), inlined. What it
//! hands on is bytes, like every reporter.
//!
//! Log text is untrusted: the data travels as a JSON block
//! (`<script type="application/json">`) in which every `<`, `>` and `&` is
//! a `\u` escape, so no log line can close the block or open a tag, and
//! the script only ever puts it into the page as text
//! (`textContent`), never as markup. A Content-Security-Policy allows the
//! page's own script and style (by their SHA-256) and nothing else: no
//! network, no other script, no inline handler.

mod data;

use std::io::{self, Write};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::Reporter;
use super::alertmanager::Endings;
use crate::incidents::{Incident, Store};
use crate::stories::Story;
use crate::summary::Summary;

use data::PageData;

/// The page's script, inlined (its hash is in the policy).
const SCRIPT: &str = include_str!("html/page.js");
/// The page's style, inlined (its hash is in the policy).
const STYLE: &str = include_str!("html/page.css");

/// Writes the page. With the stories (a scan's report) it streams: the
/// page and its data block up to the incidents are written then (the
/// scanned span comes from the store's views), each incident as it comes,
/// the rest at the end, so the page's data is never held whole (a storm's
/// incidents are a gigabyte of it). Without them (incidents pushed one by
/// one, as `watch` would) it collects the run and writes the page at the
/// end: the data block must precede the script that reads it, and its
/// span is known only then.
pub struct Html<W> {
    w: W,
    data: PageData,
    /// Incidents streamed so far, once the head is written.
    streamed: Option<usize>,
}

impl<W: Write> Html<W> {
    /// Writes to `w`; `endings` tells which incidents are outages that end
    /// (drawn open to the end of the scan while not recovered).
    pub fn new(w: W, endings: Endings) -> Html<W> {
        Html { w, data: PageData::new(endings), streamed: None }
    }
}

impl<W: Write> Reporter for Html<W> {
    fn stories(&mut self, stories: &[Story], incidents: &Store) -> io::Result<()> {
        self.data.stories(stories)?;
        self.data.span_from(incidents.views().iter().filter_map(|v| Some((v.first_ms()?, v.last_ms()?))));
        page_head(&mut self.w)?;
        write_escaped(&mut self.w, &self.data.head()?)?;
        self.streamed = Some(0);
        Ok(())
    }

    fn incident(&mut self, incident: &Incident) -> io::Result<()> {
        let Some(n) = self.streamed else { return self.data.incident(incident) };
        let mut json = Vec::new();
        self.data.incident_into(incident, n == 0, &mut json)?;
        write_escaped(&mut self.w, &json)?;
        self.streamed = Some(n + 1);
        Ok(())
    }

    fn unknown(&mut self, templates: &[crate::mine::Template]) -> io::Result<()> {
        self.data.unknown(templates)
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        if self.streamed.is_some() {
            write_escaped(&mut self.w, &self.data.tail(summary)?)?;
            page_tail(&mut self.w)?;
        } else {
            let json = self.data.finish(summary)?;
            write_page(&mut self.w, &json)?;
        }
        self.w.flush()
    }
}

/// The whole page around `json` (the page's data, not yet escaped).
fn write_page(w: &mut impl Write, json: &[u8]) -> io::Result<()> {
    page_head(w)?;
    write_escaped(w, json)?;
    page_tail(w)
}

/// The page up to its data block's text.
fn page_head(w: &mut impl Write) -> io::Result<()> {
    write!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"logtriage {}\">\n\
         <title>logtriage report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <noscript><p>This report draws its timeline with JavaScript; the same data is in \
         <code>logtriage scan --format json</code>.</p></noscript>\n\
         <script type=\"application/json\" id=\"lt-data\">",
        policy(),
        env!("CARGO_PKG_VERSION"),
    )
}

/// The page after its data block's text.
fn page_tail(w: &mut impl Write) -> io::Result<()> {
    write!(w, "</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n")
}

/// The Content-Security-Policy: nothing but the page's own script and
/// style, by hash. `default-src 'none'` also forbids every fetch, frame
/// and image from elsewhere.
fn policy() -> String {
    format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; img-src data:; base-uri 'none'; form-action 'none'",
        sha256(SCRIPT),
        sha256(STYLE)
    )
}

/// `sha256-<base64>` of `source`, as CSP hashes an inline element's text.
fn sha256(source: &str) -> String {
    let digest = Sha256::digest(source.as_bytes());
    format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// Writes JSON text so that it cannot end the `<script>` element it sits
/// in, whatever its strings hold: `<`, `>` and `&` (which occur in JSON
/// only inside strings) become `\u` escapes, as do U+2028 and U+2029, so
/// the block also stays valid if a reader evaluates it as script.
fn write_escaped(w: &mut impl Write, json: &[u8]) -> io::Result<()> {
    let mut start = 0;
    let mut i = 0;
    while i < json.len() {
        let escape: Option<(&[u8], usize)> = match json[i] {
            b'<' => Some((b"\\u003c", 1)),
            b'>' => Some((b"\\u003e", 1)),
            b'&' => Some((b"\\u0026", 1)),
            // U+2028 and U+2029 in UTF-8.
            0xE2 if json.get(i + 1) == Some(&0x80) && json.get(i + 2) == Some(&0xA8) => Some((b"\\u2028", 3)),
            0xE2 if json.get(i + 1) == Some(&0x80) && json.get(i + 2) == Some(&0xA9) => Some((b"\\u2029", 3)),
            _ => None,
        };
        if let Some((with, len)) = escape {
            w.write_all(&json[start..i])?;
            w.write_all(with)?;
            i += len;
            start = i;
        } else {
            i += 1;
        }
    }
    w.write_all(&json[start..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::{crash_loop, summary};

    fn page(incidents: &[Incident]) -> String {
        let mut out = Vec::new();
        let mut r = Html::new(&mut out, Endings::default());
        for i in incidents {
            r.incident(i).expect("incident");
        }
        r.finish(&summary(incidents)).expect("finish");
        String::from_utf8(out).expect("utf-8")
    }

    /// Streamed (the stories first, with the store's views for the span)
    /// or collected, the page is the same bytes: no incidents, one, and
    /// several with hostile text.
    #[test]
    fn streaming_gives_the_collected_page() {
        let mut hostile = crash_loop();
        hostile.title = "</script> & \u{2028}".into();
        let undated = crate::report::test_support::crash_loop_without_a_date();
        for incidents in [vec![], vec![crash_loop()], vec![crash_loop(), hostile, undated]] {
            let store = Store::from_incidents(incidents.clone());
            let all = store.into_vec().expect("incidents");
            let mut out = Vec::new();
            let mut r = Html::new(&mut out, Endings::default());
            r.stories(&[], &Store::from_incidents(all.clone())).expect("stories");
            for i in &all {
                r.incident(i).expect("incident");
            }
            r.finish(&summary(&all)).expect("finish");
            assert_eq!(String::from_utf8(out).expect("utf-8"), page(&all), "{} incidents", all.len());
        }
    }

    /// A log line cannot close the data block or open markup: the only
    /// `</script>` in the page are the two the page writes itself.
    #[test]
    fn log_text_cannot_end_the_data_block() {
        let mut i = crash_loop();
        i.title = "</script><script>alert(1)</script> & <img src=x onerror=alert(2)>\u{2028}".into();
        i.evidence[0].text = "</SCRIPT ><!-- <script>".into();
        let html = page(&[i]);
        assert_eq!(html.matches("</script>").count(), 2, "{html}");
        assert!(!html.to_ascii_lowercase().contains("</script "), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains('\u{2028}'), "{html}");
        assert!(html.contains("\\u003c/script\\u003e"), "{html}");
    }

    /// What the block holds is the data, unchanged, once a JSON reader
    /// undoes the escapes.
    #[test]
    fn escaped_block_reads_back_as_the_same_json() {
        let raw = r#"{"a":"</script> & <b>\u2028 ok","b":[1,2]}"#.replace("\\u2028", "\u{2028}");
        let mut out = Vec::new();
        write_escaped(&mut out, raw.as_bytes()).expect("write");
        let back: serde_json::Value = serde_json::from_slice(&out).expect("json");
        let orig: serde_json::Value = serde_json::from_str(&raw).expect("json");
        assert_eq!(back, orig);
    }

    /// The policy names the hashes of exactly the script and style the page
    /// inlines, and allows nothing from the network.
    #[test]
    fn policy_hashes_the_inlined_script_and_style() {
        let html = page(&[crash_loop()]);
        let script = html.rsplit("<script>").next().and_then(|s| s.split("</script>").next()).expect("script");
        let style = html.split("<style>").nth(1).and_then(|s| s.split("</style>").next()).expect("style");
        let p = policy();
        assert!(p.contains(&format!("script-src '{}'", sha256(script))), "{p}");
        assert!(p.contains(&format!("style-src '{}'", sha256(style))), "{p}");
        assert!(p.starts_with("default-src 'none';"), "{p}");
        assert!(!p.contains("unsafe") && !p.contains("http"), "{p}");
    }

    /// A known SHA-256 (of the empty string) in CSP's encoding.
    #[test]
    fn sha256_is_base64_of_the_digest() {
        assert_eq!(sha256(""), "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    /// Two runs over the same incidents give the same bytes.
    #[test]
    fn page_is_deterministic() {
        let incidents = vec![crash_loop(), crash_loop()];
        assert_eq!(page(&incidents), page(&incidents));
    }
}
