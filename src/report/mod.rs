//! Report: incidents and the summary → bytes, pushed to a [`Reporter`]
//! (ripgrep's `Sink` shape). Reporters never see files; the scanner never
//! sees a writer. Formats: human text, one JSON document, NDJSON, GitHub
//! Markdown, Alertmanager's alert array, and a self-contained HTML
//! timeline.

mod alertmanager;
mod html;
mod json;
mod markdown;
mod ndjson;
pub mod schema;
mod text;

use std::io::{self, Write};

use crate::incidents::{Incident, Store};
use crate::mine::Template;
use crate::scan::ScanOutput;
use crate::stories::Story;
use crate::summary::Summary;

pub use alertmanager::{Alert, AlertBuilder, Alertmanager, AlertmanagerLines, Endings};
pub use html::Html;
pub use json::Json;
pub use markdown::Markdown;
pub use ndjson::Ndjson;
pub use text::{Color, Text};

/// Receives a scan's results in order.
pub trait Reporter {
    /// The stories, in report order, first (with the store of every
    /// incident, which the stories name by their place in the report
    /// order: a reporter reads back only those it shows). `watch` builds no
    /// stories and does not call it.
    fn stories(&mut self, stories: &[Story], incidents: &Store) -> io::Result<()> {
        let _ = (stories, incidents);
        Ok(())
    }
    /// One incident, in report order.
    fn incident(&mut self, incident: &Incident) -> io::Result<()>;
    /// The unrecognised errors (`scan --unknown`), most frequent first,
    /// after the incidents. `watch` does not mine and does not call it.
    fn unknown(&mut self, templates: &[Template]) -> io::Result<()> {
        let _ = templates;
        Ok(())
    }
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
    /// The JSON array Prometheus Alertmanager's `POST /api/v2/alerts`
    /// accepts, one alert per incident (see README, "Alertmanager output").
    Alertmanager,
    /// One self-contained HTML page: the outage as a timeline, one lane per
    /// app, stories grouped (see README, "HTML report").
    Html,
}

/// What [`reporter`] needs besides the format and the writer; each format
/// reads its part.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// ANSI colour in text output. This is disabled by default.
    pub color: bool,
    /// Alertmanager: the `instance` label of every alert (the host the logs
    /// come from). By default it is left out.
    pub instance: Option<String>,
    /// Alertmanager and HTML: which rules' incidents end, deciding `endsAt`
    /// and which outages the timeline draws open. By default none do.
    pub endings: Endings,
    /// Text: every incident's full block after the story lines (`--details`)
    /// rather than one short block per story. This is disabled by default.
    pub details: bool,
    /// Text and Markdown: how many unrecognised errors to show (JSON,
    /// NDJSON and HTML carry them all).
    pub unknown: usize,
}

/// Pushes `out` through `reporter`.
pub fn emit(reporter: &mut dyn Reporter, out: &ScanOutput) -> io::Result<()> {
    reporter.stories(&out.stories, &out.incidents)?;
    // One at a time, in report order: read back from the temporary file
    // where the memory budget put them there.
    for incident in out.incidents.iter() {
        reporter.incident(incident?.as_ref())?;
    }
    reporter.unknown(&out.unknown.templates)?;
    reporter.finish(&out.summary)
}

/// A reporter for `format` writing to `w`.
pub fn reporter<'w>(format: Format, w: Box<dyn Write + 'w>, opts: ReportOptions) -> Box<dyn Reporter + 'w> {
    match format {
        Format::Text => Box::new(Text::new(w, opts.color).with_details(opts.details).with_unknown(opts.unknown)),
        Format::Json => Box::new(Json::new(w)),
        Format::Ndjson => Box::new(Ndjson::new(w)),
        Format::Markdown => Box::new(Markdown::new(w).with_unknown(opts.unknown)),
        Format::Alertmanager => Box::new(Alertmanager::new(w, opts.instance, opts.endings)),
        Format::Html => Box::new(Html::new(w, opts.endings)),
    }
}

/// An unrecognised error's count and span, in the words people read
/// (text and Markdown).
fn unknown_when(t: &Template) -> String {
    let times = if t.count == 1 { "once".to_string() } else { format!("{}×", t.count) };
    match (&t.first_seen, &t.last_seen) {
        (Some(a), Some(b)) if a != b => format!("{times}, {a} → {b}"),
        (Some(a), _) => format!("{times}, {a}"),
        _ => times,
    }
}

/// Where an unrecognised error's samples are, `file:line, file:line`.
fn unknown_samples(t: &Template) -> String {
    t.samples.iter().map(|s| format!("{}:{}", s.file, s.line)).collect::<Vec<_>>().join(", ")
}

/// First and last seen, count and window, in the words people read (text,
/// Markdown and Alertmanager say it the same way). Without times the
/// window could not be checked, and the line says so; with times of day
/// and no date, it says those times and that the date is unknown.
fn when(i: &Incident) -> String {
    let span = match (&i.first_seen, &i.last_seen, &i.time_of_day) {
        (Some(a), Some(b), _) if a != b => format!("{a} → {b}"),
        (Some(a), ..) => a.clone(),
        (None, _, Some(tod)) => tod.span(),
        _ => "no timestamps in the log".to_string(),
    };
    let times = if i.count == 1 { "once".to_string() } else { format!("{}×", i.count) };
    let checked = i.first_seen.is_some() || i.time_of_day.is_some();
    match (&i.window, checked) {
        (Some(w), true) => format!("{span} ({times}, window {w})"),
        (Some(w), false) => format!("{span} ({times}, window {w} not checked)"),
        (None, _) => format!("{span} ({times})"),
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{crash_loop, crash_loop_without_a_date};
    use super::when;

    /// The "when" of every format: instants, times of day without a date
    /// (the window was checked on them), or nothing.
    #[test]
    fn when_says_what_times_are_known() {
        assert_eq!(when(&crash_loop()), "2026-11-26T17:05:30Z → 2026-11-26T17:05:33Z (2×, window 5m)");
        let tod = crash_loop_without_a_date();
        assert_eq!(when(&tod), "09:23:43 → 09:23:46 (date unknown) (2×, window 5m)");
        let mut untimed = tod;
        untimed.time_of_day = None;
        assert_eq!(when(&untimed), "no timestamps in the log (2×, window 5m not checked)");
    }
}

/// Incidents and summaries for the reporters' unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::correlate::Finding;
    use crate::incidents::{self, Incident};
    use crate::input::Stream;
    use crate::matcher::Event;
    use crate::records::Zone;
    use crate::rules::{Role, compile_all};
    use crate::summary::{SeverityCounts, Summary};

    /// A real incident: a two-event threshold finding through
    /// `incidents::build`, with a fix holding code spans and a `<host>`.
    pub fn crash_loop() -> Incident {
        let pack = r#"
[[rule]]
id = "pm2.crash-loop"
title = "{app} is crash-looping: {count} exits within {window}"
severity = "critical"
regex = 'App \[(?P<app>[^:]+):(?P<pm_id>\d+)\] exited with code \[(?P<code>\d+)\]'
correlate = { kind = "threshold", count = 2, window = "5m" }
fix = "Read `pm2 logs {app} --err` on <host> & fix the first error."
references = ["https://pm2.keymetrics.io/docs/usage/restart-strategies/"]
"#;
        let rules = compile_all(&[("t.toml".into(), pack.into())]).expect("rules");
        let ev = |line: u64, ts: i64, text: &str| Event {
            rule: 0,
            role: Role::Start,
            shape: 0.into(),
            source: 0,
            line,
            ts: Some(ts).into(),
            day_time: None,
            app: Some("api".into()),
            stream: Stream::Daemon,
            fields: vec![("app".into(), "api".into()), ("pm_id".into(), "0".into()), ("code".into(), "1".into())]
                .into(),
            text: text.into(),
        };
        let finding = Finding {
            rule: 0,
            key: vec![("app".into(), "api".into())],
            events: vec![
                ev(78, 1_795_712_730_000, "App [api:0] exited with code [1]"),
                ev(82, 1_795_712_733_000, "App [api:0] exited with code [1]\n```\nat <anonymous>"),
            ],
            facts: vec![],
        };
        let mut out = incidents::build(&rules, &[finding.folded(&rules)], &["logs/pm2.log".to_string()], Zone::Utc);
        out.remove(0)
    }

    /// [`crash_loop`] from a log with times of day and no date: its
    /// exits at 09:23:43 and 09:23:46 on the file's own clock.
    pub fn crash_loop_without_a_date() -> Incident {
        let mut i = crash_loop();
        i.first_seen = None;
        i.last_seen = None;
        i.evidence.iter_mut().for_each(|e| e.timestamp = None);
        i.time_of_day = Some(incidents::TimesOfDay { first: "09:23:43".into(), last: "09:23:46".into(), midnights: 0 });
        i
    }

    pub fn summary(incidents: &[Incident]) -> Summary {
        Summary {
            files: vec![],
            bytes: 120,
            records: 4,
            candidates: 2,
            matches: 2,
            incidents: SeverityCounts::of(incidents),
            rules: 1,
            unfiltered_rules: vec![],
            skipped: vec![],
            passed_over: Default::default(),
            duplicates: vec![],
            app_misses: vec![],
            notes: vec![],
            baseline: None,
            ecosystems: vec![],
            elapsed_ms: 3,
        }
    }
}
