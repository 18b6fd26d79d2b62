//! Human output: one line per story (severity, apps, time span, headline,
//! cause), then one short block per story (its incidents in causal order,
//! up to three evidence lines, the fix), or with `--details` every
//! incident's full block (what, where, when, evidence, fix), then skips,
//! notes and totals. Colour only where asked for (the CLI decides `auto`
//! from whether stdout is a terminal).

use std::io::{self, Write};

use super::Reporter;
use crate::incidents::{Incident, Store};
use crate::mine::Template;
use crate::rules::{Family, Severity};
use crate::stories::Story;
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
    /// `--details`: full incident blocks after the story lines.
    details: bool,
    /// The story blocks stand for the incidents: their own blocks are not
    /// written.
    told: bool,
    /// Stories told, for the totals line (None: no stories were built).
    stories: Option<usize>,
    /// Unrecognised errors shown at most (`--unknown N`).
    unknown: usize,
}

/// A story block lists this many of its incidents (a farm that flaps all
/// day is hundreds): the block stays one screen.
const MAX_MEMBERS: usize = 8;

/// Evidence lines in a story block are cut at this many characters.
const EVIDENCE_WIDTH: usize = 160;

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
        Text { w, color, details: false, told: false, stories: None, unknown: 0 }
    }

    /// With `details`, every incident's full block follows the story
    /// lines. This is disabled by default.
    pub fn with_details(self, details: bool) -> Text<W> {
        Text { details, ..self }
    }

    /// Shows at most `n` unrecognised errors (0: none).
    pub fn with_unknown(self, n: usize) -> Text<W> {
        Text { unknown: n, ..self }
    }

    fn label(&self, s: Severity) -> String {
        self.paint(severity_style(s), &format!("[{}]", s.as_str().to_uppercase()))
    }

    /// One line: severity, apps, span, headline, cause.
    fn story_line(&mut self, s: &Story) -> io::Result<()> {
        let apps = if s.apps.is_empty() { "-".to_string() } else { s.apps.join(",") };
        let mut line = format!("{} {}  {}  {}", self.label(s.severity), self.paint(BOLD, &apps), span(s), s.headline);
        // A story of one crash is its own cause: say it once.
        if let Some(c) = s.cause.as_ref().filter(|c| c.text != s.headline) {
            line.push_str(&format!("  ← cause: {}", c.text));
        }
        writeln!(self.w, "{line}")
    }

    /// A story's block: its incidents in causal order, the cause, up to
    /// three evidence records (one line each), and the fix of the cause
    /// (or of the worst incident). Reads from `store` only the incidents
    /// it shows.
    fn story_block(&mut self, s: &Story, store: &Store) -> io::Result<()> {
        let views = store.views();
        let all: Vec<usize> = s.members.iter().copied().filter(|&i| i < views.len()).collect();
        // What users saw (a failing health check, a proxy's 5xx) under its
        // own heading, after what caused it, so a long outage does not push
        // it past the list's end.
        let symptom = |i: &usize| views[*i].is(&Family::Symptom);
        let (users_saw, members): (Vec<usize>, Vec<usize>) =
            if all.iter().all(symptom) { (Vec::new(), all) } else { all.into_iter().partition(symptom) };
        let Some(lead) =
            members.iter().copied().max_by_key(|&i| (views[i].severity, std::cmp::Reverse(views[i].first_ms())))
        else {
            return Ok(());
        };
        writeln!(self.w, "{} {}", self.label(s.severity), self.paint(BOLD, &s.headline))?;
        writeln!(self.w, "  when      {}", span(s))?;
        let cause_inc = s
            .cause
            .as_ref()
            .and_then(|c| c.incident.as_ref())
            .and_then(|id| members.iter().copied().find(|&i| views[i].id_text() == *id));
        if let Some(c) = &s.cause {
            let text = if c.incident.is_some() { c.text.clone() } else { format!("`{}`", c.text) };
            writeln!(self.w, "  cause     {text}")?;
            let times = if c.count == 1 { "once".to_string() } else { format!("{}×", c.count) };
            writeln!(self.w, "            {times} {}, first at {}:{}", c.seen(), c.file, c.line)?;
        }
        for (heading, list) in [("incidents", &members), ("users saw", &users_saw)] {
            if list.is_empty() {
                continue;
            }
            writeln!(self.w, "  {heading}")?;
            for &at in list.iter().take(MAX_MEMBERS) {
                let i = store.get(at)?;
                let times = if i.count == 1 { "once".to_string() } else { format!("{}×", i.count) };
                writeln!(self.w, "    {:<8} {:<26} {} ({times})", i.severity.as_str(), i.rule, i.title)?;
            }
            if list.len() > MAX_MEMBERS {
                writeln!(self.w, "    … and {} more (`--details` shows every incident)", list.len() - MAX_MEMBERS)?;
            }
        }
        let shown = store.get(cause_inc.unwrap_or(lead))?;
        writeln!(self.w, "  evidence")?;
        for e in shown.evidence.iter().take(3) {
            let first = e.text.lines().next().unwrap_or("");
            let at = self.paint(DIM, &format!("{}:{}", e.file, e.line));
            writeln!(self.w, "    {at}  {}", cut(first, EVIDENCE_WIDTH))?;
        }
        let opts = textwrap::Options::new(FIX_WIDTH).initial_indent("  fix       ").subsequent_indent("            ");
        // What to do only: the rule's `action`; its whole fix, with the
        // why, is in `--details` (a rule without an action shows its fix).
        let action = shown.action.as_ref().map_or_else(|| shown.fix.to_string(), ToString::to_string);
        for line in textwrap::wrap(&action, opts) {
            writeln!(self.w, "{line}")?;
        }
        writeln!(self.w, "  story     {} ({}; `--details` shows every incident)", s.id, s.kind)?;
        writeln!(self.w)
    }

    fn paint(&self, style: &str, text: &str) -> String {
        if self.color { format!("{style}{text}{RESET}") } else { text.to_string() }
    }
}

impl<W: Write> Reporter for Text<W> {
    fn stories(&mut self, stories: &[Story], incidents: &Store) -> io::Result<()> {
        self.stories = Some(stories.len());
        if stories.is_empty() {
            return Ok(());
        }
        for s in stories {
            self.story_line(s)?;
        }
        writeln!(self.w)?;
        if self.details {
            return Ok(());
        }
        for s in stories {
            self.story_block(s, incidents)?;
        }
        self.told = true;
        Ok(())
    }

    fn incident(&mut self, i: &Incident) -> io::Result<()> {
        if self.told {
            return Ok(());
        }
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
        if let Some(story) = &i.story {
            writeln!(self.w, "  story     {story}")?;
        }
        writeln!(self.w)
    }

    fn unknown(&mut self, templates: &[Template]) -> io::Result<()> {
        if self.unknown == 0 || templates.is_empty() {
            return Ok(());
        }
        let shown = templates.len().min(self.unknown);
        let of = if shown < templates.len() { format!(", top {shown} of {}", templates.len()) } else { String::new() };
        let heading = format!("Unrecognised errors (in no incident{of})");
        writeln!(self.w, "{}", self.paint(BOLD, &heading))?;
        for t in &templates[..shown] {
            let apps = if t.apps.is_empty() { String::new() } else { format!(" in {}", t.apps.join(", ")) };
            writeln!(self.w, "  {}  {}{apps}", t.id, super::unknown_when(t))?;
            writeln!(self.w, "    {}", cut(&t.template, EVIDENCE_WIDTH))?;
            writeln!(self.w, "    {}", self.paint(DIM, &format!("at {}", super::unknown_samples(t))))?;
        }
        writeln!(self.w, "  (a rule for one: `logtriage rules draft ID PATH...`)")?;
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
        if let Some(n) = self.stories {
            write!(self.w, "{n} stor{} from ", if n == 1 { "y" } else { "ies" })?;
        }
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

/// A story's time span in few characters: the end's date is left out when
/// it is the start's.
fn span(s: &Story) -> String {
    match (&s.first_seen, &s.last_seen) {
        (Some(a), Some(b)) if a == b => a.clone(),
        (Some(a), Some(b)) if a.get(..11) == b.get(..11) => format!("{a} → {}", b.get(11..).unwrap_or(b)),
        (Some(a), Some(b)) => format!("{a} → {b}"),
        (Some(a), None) | (None, Some(a)) => a.clone(),
        (None, None) => match &s.time_of_day {
            Some(t) => t.span(),
            None => "no timestamps".to_string(),
        },
    }
}

/// `text` cut at `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}
