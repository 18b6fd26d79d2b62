//! Human output: each incident as a block (what, where, when, evidence,
//! fix), then skips, notes and totals. Colour only where asked for (the CLI
//! decides `auto` from whether stdout is a terminal).

use std::io::{self, Write};

use super::Reporter;
use crate::incidents::Incident;
use crate::rules::Severity;
use crate::summary::Summary;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Color {
    /// Colour when stdout is a terminal.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Writes text blocks to `w`.
pub struct Text<W> {
    w: W,
    color: bool,
}

/// Width of the wrapped fix paragraph, indentation included.
const FIX_WIDTH: usize = 100;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";

fn severity_style(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "\x1b[1;97;41m",
        Severity::High => "\x1b[1;31m",
        Severity::Medium => "\x1b[1;33m",
        Severity::Low => "\x1b[36m",
        Severity::Info => "\x1b[2m",
    }
}

impl<W: Write> Text<W> {
    /// Writes to `w`, with ANSI colour if `color`.
    pub fn new(w: W, color: bool) -> Text<W> {
        Text { w, color }
    }

    fn paint(&self, style: &str, text: &str) -> String {
        if self.color { format!("{style}{text}{RESET}") } else { text.to_string() }
    }
}

impl<W: Write> Reporter for Text<W> {
    fn incident(&mut self, i: &Incident) -> io::Result<()> {
        let label = self.paint(severity_style(i.severity), &format!("[{}]", i.severity.as_str().to_uppercase()));
        let rule = self.paint(BOLD, &i.rule);
        writeln!(self.w, "{label} {rule}  {}", i.title)?;
        if let Some(app) = &i.app {
            writeln!(self.w, "  app       {app}")?;
        }
        writeln!(self.w, "  when      {}", super::when(i))?;
        let fields: Vec<String> =
            i.fields.iter().filter(|(k, _)| k.as_str() != "app").map(|(k, v)| format!("{k}={}", v.join(","))).collect();
        if !fields.is_empty() {
            writeln!(self.w, "  fields    {}", fields.join("  "))?;
        }
        writeln!(self.w, "  evidence")?;
        for e in &i.evidence {
            let at = self.paint(DIM, &format!("{}:{}", e.file, e.line));
            writeln!(self.w, "    {at}")?;
            for line in e.text.lines() {
                writeln!(self.w, "      {line}")?;
            }
        }
        // Fix texts are paragraphs; wrap them so they read in a terminal.
        let opts = textwrap::Options::new(FIX_WIDTH).initial_indent("  fix       ").subsequent_indent("            ");
        let fix = i.fix.to_string();
        for line in textwrap::wrap(&fix, opts) {
            writeln!(self.w, "{line}")?;
        }
        for r in i.references.iter() {
            writeln!(self.w, "  see       {r}")?;
        }
        writeln!(self.w, "  id        {}", i.id)?;
        writeln!(self.w)
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        for skip in &s.skipped {
            let label = if skip.bytes_read.is_some() { "partly read" } else { "skipped" };
            writeln!(self.w, "{label}: {}", skip.detail)?;
        }
        for note in &s.notes {
            writeln!(self.w, "note: {note}")?;
        }
        if let Some(b) = &s.baseline {
            writeln!(self.w, "baseline: {} incident(s) already in {} are not shown", b.known, b.file)?;
        }
        if !s.unfiltered_rules.is_empty() {
            let ids = s.unfiltered_rules.join(", ");
            writeln!(self.w, "note: no prefilter literal, so these rules ran on every record: {ids}")?;
        }
        let c = s.incidents;
        let total = c.total();
        let by_sev = c.present();
        let detail = if by_sev.is_empty() { String::new() } else { format!(" ({})", by_sev.join(", ")) };
        writeln!(
            self.w,
            "{total} incident{}{detail} from {} file{} ({} bytes, {} records, {} candidates, {} rules) in {} ms",
            if total == 1 { "" } else { "s" },
            s.files.len(),
            if s.files.len() == 1 { "" } else { "s" },
            s.bytes,
            s.records,
            s.candidates,
            s.rules,
            s.elapsed_ms
        )?;
        self.w.flush()
    }
}
