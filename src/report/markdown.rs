//! `--format markdown`: GitHub-flavoured Markdown for `$GITHUB_STEP_SUMMARY`
//! or a pull-request comment. Owns the layout (a heading with the counts,
//! one section per story (its cause and its incidents, linked), a table
//! with one row per incident linking to its section, one section per
//! incident with its evidence folded in `<details>`, then skips, notes and
//! totals) and the size caps that keep it inside GitHub's limit. Text
//! goes through `escape`: titles, fields and records come from logs and
//! must neither turn into formatting nor vanish as HTML tags.

mod escape;

use std::collections::BTreeSet;
use std::io::{self, Write};

use super::Reporter;
use crate::incidents::{Incident, Store, TimesOfDay};
use crate::mine::Template;
use crate::rules::{Family, Severity};
use crate::stories::Story;
use crate::summary::{SeverityCounts, Summary};
use escape::{code_span, escape, fenced, prose};

/// GitHub rejects a step summary over 1 MiB, so the report stops well
/// before that: the table lists at most this many incidents...
const MAX_ROWS: usize = 500;
/// ...and at most this many get a section with evidence and fix (the ones
/// first in report order, so the most severe)...
const MAX_SECTIONS: usize = 100;
/// ...and both stop early when their rendered bytes would pass these
/// budgets: a row or a section has no fixed size (titles, fields and
/// records come from logs), and the counts alone do not bound the bytes.
const TABLE_BYTES: usize = 256 * 1024;
const SECTION_BYTES: usize = 640 * 1024;
/// Skipped paths listed in the footer (a tree of unreadable files can
/// yield thousands); JSON lists them all.
const MAX_SKIPS: usize = 100;

/// Collects what the document shows, writes it in `finish` (the heading
/// needs the counts, which come with the summary). What it holds is
/// bounded by the caps, whatever the number of incidents: the first
/// incidents the table can show (500) and the story sections' lines.
pub struct Markdown<W> {
    w: W,
    /// Unrecognised errors shown at most, and those received.
    unknown: (usize, Vec<Template>),
    stories: Vec<StoryPart>,
    /// Stories received.
    story_count: usize,
    /// The first incidents, as many as the table can show.
    incidents: Vec<Incident>,
    /// Incidents received.
    total: usize,
}

/// What a story's section shows, taken from the store when the stories
/// come (the incidents come later, one at a time).
#[derive(Debug, Clone)]
struct StoryPart {
    story: Story,
    /// "Incidents" and "Users saw": each list's length and its first
    /// [`MAX_STORY_MEMBERS`] members.
    lists: [(usize, Vec<Member>); 2],
}

/// A member line of a story section.
#[derive(Debug, Clone)]
struct Member {
    /// Its place in the report order (what its anchor is found by).
    at: usize,
    severity: Severity,
    rule: String,
    title: String,
}

impl StoryPart {
    /// The story's lists, the incidents named read from `store`.
    fn of(story: &Story, store: &Store) -> io::Result<StoryPart> {
        let views = store.views();
        // What users saw (a failing health check, a proxy's 5xx) under its
        // own heading, after what caused it, as in the text report.
        let symptom = |m: &usize| views.get(*m).is_some_and(|v| v.is(&Family::Symptom));
        let (users_saw, members): (Vec<usize>, Vec<usize>) = if story.members.iter().all(symptom) {
            (Vec::new(), story.members.clone())
        } else {
            story.members.iter().partition(|m| symptom(m))
        };
        let list = |all: Vec<usize>| -> io::Result<(usize, Vec<Member>)> {
            let mut shown = Vec::new();
            for &at in all.iter().take(MAX_STORY_MEMBERS).filter(|&&m| m < views.len()) {
                let i = store.get(at)?;
                shown.push(Member { at, severity: i.severity, rule: i.rule.clone(), title: i.title.clone() });
            }
            Ok((all.len(), shown))
        };
        Ok(StoryPart { story: story.clone(), lists: [list(members)?, list(users_saw)?] })
    }
}

impl<W: Write> Markdown<W> {
    /// Writes to `w`.
    pub fn new(w: W) -> Markdown<W> {
        Markdown { w, unknown: (0, Vec::new()), stories: Vec::new(), story_count: 0, incidents: Vec::new(), total: 0 }
    }

    /// Shows at most `n` unrecognised errors (0: none).
    pub fn with_unknown(self, n: usize) -> Markdown<W> {
        Markdown { unknown: (n, Vec::new()), ..self }
    }
}

impl<W: Write> Reporter for Markdown<W> {
    fn stories(&mut self, stories: &[Story], incidents: &Store) -> io::Result<()> {
        // Those past MAX_STORIES are only counted.
        self.stories =
            stories.iter().take(MAX_STORIES).map(|s| StoryPart::of(s, incidents)).collect::<io::Result<_>>()?;
        self.story_count = stories.len();
        Ok(())
    }

    fn incident(&mut self, incident: &Incident) -> io::Result<()> {
        if self.incidents.len() < MAX_ROWS {
            self.incidents.push(incident.clone());
        }
        self.total += 1;
        Ok(())
    }

    fn unknown(&mut self, templates: &[Template]) -> io::Result<()> {
        self.unknown.1 = templates.iter().take(self.unknown.0).cloned().collect();
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let doc = render(&self.stories, self.story_count, &self.incidents, self.total, &self.unknown.1, summary);
        self.w.write_all(doc.as_bytes())?;
        self.w.flush()
    }
}

/// The whole document: `incidents` are the first of `total` (at least
/// [`MAX_ROWS`] of them, or all), `stories` the first of `story_count`.
fn render(
    stories: &[StoryPart],
    story_count: usize,
    incidents: &[Incident],
    total: usize,
    unknown: &[Template],
    s: &Summary,
) -> String {
    let incidents = &incidents[..incidents.len().min(MAX_ROWS)];
    let anchors = anchors(incidents);
    let sections = sections(incidents, &anchors);
    let mut out = heading(&s.incidents);
    out += &story_sections(stories, story_count, &anchors, sections.len());
    out += &table(incidents, total, &anchors, sections.len());
    if sections.len() < total {
        out += &format!(
            "Details follow for the first {} of {} incidents ({} left out to stay inside GitHub's 1 MiB limit): \
             run with `--format json` for all of them.\n\n",
            sections.len(),
            total,
            total - sections.len()
        );
    }
    for section in &sections {
        out += section;
    }
    out += &unknown_section(unknown);
    out += &footer(s);
    out
}

fn heading(c: &SeverityCounts) -> String {
    let by_sev = c.present();
    let total = c.total();
    if total == 0 {
        return "## logtriage: no incidents\n\n".to_string();
    }
    format!("## logtriage: {} ({})\n\n", plural(total, "incident"), by_sev.join(", "))
}

/// Stories this many at most get a section (they come most severe first)...
const MAX_STORIES: usize = 100;
/// ...each listing this many of its incidents at most (a farm that flaps
/// all day is thousands; the table has them all, up to its own cap).
const MAX_STORY_MEMBERS: usize = 20;

/// One section per story: headline, apps, span, cause, and its incidents in
/// causal order, each linked to its own section where it has one.
fn story_sections(stories: &[StoryPart], story_count: usize, anchors: &[String], linked: usize) -> String {
    let mut out = String::new();
    for part in stories.iter().take(MAX_STORIES) {
        let st = &part.story;
        out += &format!("### {} {}\n\n", st.severity.as_str().to_uppercase(), escape(&st.headline));
        let apps = if st.apps.is_empty() { "—".to_string() } else { escape(&st.apps.join(", ")) };
        let when = match (&st.first_seen, &st.last_seen) {
            (Some(a), Some(b)) if a != b => format!("{a} → {b}"),
            (Some(a), _) => a.clone(),
            _ => st.time_of_day.as_ref().map_or_else(|| "no timestamps in the log".to_string(), TimesOfDay::span),
        };
        out += &format!("- **Apps:** {apps}\n- **When:** {}\n", escape(&when));
        if let Some(c) = &st.cause {
            let text = if c.incident.is_some() { escape(&c.text) } else { code_span(&c.text) };
            let at = code_span(&format!("{}:{}", c.file, c.line));
            out += &format!("- **Cause:** {text} ({}× {}, first at {at})\n", c.count, c.seen());
        }
        for (heading, (len, list)) in ["Incidents", "Users saw"].into_iter().zip(&part.lists) {
            if *len == 0 {
                continue;
            }
            out += &format!("- **{heading}:**\n");
            for m in list {
                let title = match anchors.get(m.at) {
                    Some(a) if m.at < linked => format!("[{}](#{a})", escape(&m.title)),
                    _ => escape(&m.title),
                };
                let rule = code_span(&m.rule).replace('|', "\\|");
                out += &format!("  - {} {rule}: {title}\n", m.severity.as_str());
            }
            if *len > MAX_STORY_MEMBERS {
                out += &format!("  - … and {} more\n", len - MAX_STORY_MEMBERS);
            }
        }
        out += &format!("- **Story:** {}\n\n", code_span(&st.id));
    }
    if story_count > MAX_STORIES {
        out += &format!(
            "{} more stories are left out to stay inside GitHub's 1 MiB limit: \
             run with `--format json` for all of them.\n\n",
            story_count - MAX_STORIES
        );
    }
    out
}

/// One anchor per incident, unique even if two ids collide, made of
/// characters that need no quoting in an HTML attribute or a URL fragment.
/// GitHub's own heading slugs depend on the heading text, so they are not
/// used.
fn anchors(incidents: &[Incident]) -> Vec<String> {
    let mut used = BTreeSet::new();
    incidents
        .iter()
        .map(|i| {
            let id: String = i.id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
            let base = format!("incident-{id}");
            let mut anchor = base.clone();
            let mut n = 2;
            while used.contains(&anchor) {
                anchor = format!("{base}-{n}");
                n += 1;
            }
            used.insert(anchor.clone());
            anchor
        })
        .collect()
}

/// The summary table; rows of incidents with a section link to it.
fn table(incidents: &[Incident], total: usize, anchors: &[String], linked: usize) -> String {
    if incidents.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "| Severity | Rule | App | Count | First seen | Title |\n| --- | --- | --- | ---: | --- | --- |\n",
    );
    let mut rows = 0;
    for (n, (i, anchor)) in incidents.iter().zip(anchors).enumerate().take(MAX_ROWS) {
        let title = if n < linked { format!("[{}](#{anchor})", escape(&i.title)) } else { escape(&i.title) };
        let row = format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            i.severity.as_str(),
            code_span(&i.rule).replace('|', "\\|"),
            i.app.as_deref().map_or_else(|| "—".to_string(), escape),
            i.count,
            first_seen(i),
            title
        );
        if out.len() + row.len() > TABLE_BYTES {
            break;
        }
        out += &row;
        rows += 1;
    }
    out.push('\n');
    if rows < total {
        out += &format!(
            "This table leaves out {} of {} incidents to stay inside GitHub's 1 MiB limit: \
             run with `--format json` for all of them.\n\n",
            total - rows,
            total
        );
    }
    out
}

/// The table's "First seen": the instant, or the time of day where the
/// log has no date.
fn first_seen(i: &Incident) -> String {
    match (&i.first_seen, &i.time_of_day) {
        (Some(t), _) => escape(t),
        (None, Some(tod)) => escape(&tod.first_text()),
        (None, None) => "—".to_string(),
    }
}

/// Rendered sections, as many as the caps allow.
fn sections(incidents: &[Incident], anchors: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut bytes = 0;
    for (i, anchor) in incidents.iter().zip(anchors).take(MAX_SECTIONS) {
        let s = section(i, anchor);
        bytes += s.len();
        if bytes > SECTION_BYTES {
            break;
        }
        out.push(s);
    }
    out
}

/// One incident: what, where, when, evidence, fix, links, id.
fn section(i: &Incident, anchor: &str) -> String {
    let mut out = format!(
        "### <a id=\"{anchor}\"></a>{} {}: {}\n\n",
        i.severity.as_str().to_uppercase(),
        code_span(&i.rule),
        escape(&i.title)
    );
    if let Some(app) = &i.app {
        out += &format!("- **App:** {}\n", escape(app));
    }
    out += &format!("- **When:** {}\n", escape(&super::when(i)));
    let fields: Vec<String> = i
        .fields
        .iter()
        .filter(|(k, _)| k.as_str() != "app")
        .map(|(k, v)| format!("{} = {}", code_span(k), v.iter().map(|v| code_span(v)).collect::<Vec<_>>().join(", ")))
        .collect();
    if !fields.is_empty() {
        out += &format!("- **Fields:** {}\n", fields.join(" · "));
    }
    out.push('\n');
    out += &evidence(i);
    out += &format!("**Fix:** {}\n\n", prose(&i.fix.to_string()));
    if !i.references.is_empty() {
        let links: Vec<String> = i.references.iter().map(|r| link(r)).collect();
        out += &format!("- **See:** {}\n", links.join(" · "));
    }
    out += &format!("- **Id:** {}\n\n", code_span(&i.id));
    out
}

/// The evidence records folded in `<details>`. GitHub renders Markdown
/// inside the HTML block only when blank lines separate the two.
fn evidence(i: &Incident) -> String {
    let n = i.evidence.len();
    let label = if n < i.count { format!("{n} of {} records", i.count) } else { plural(n, "record") };
    let mut out = format!("<details><summary>Evidence ({label})</summary>\n\n");
    for e in &i.evidence {
        let at = code_span(&format!("{}:{}", e.file, e.line));
        match &e.timestamp {
            Some(ts) => out += &format!("{at} at {}\n\n", escape(ts)),
            None => out += &format!("{at}\n\n"),
        }
        out += &fenced(&e.text);
        out.push('\n');
    }
    out += "</details>\n\n";
    out
}

/// A reference as a link when it is a URL an autolink can hold, else as
/// text.
fn link(r: &str) -> String {
    let url = (r.starts_with("https://") || r.starts_with("http://"))
        && !r.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    if url { format!("<{r}>") } else { escape(r) }
}

/// The unrecognised errors as a list, before the footer (a list, not a
/// table or headings: those are the incidents').
fn unknown_section(templates: &[Template]) -> String {
    if templates.is_empty() {
        return String::new();
    }
    let mut out = String::from("**Unrecognised errors:** no incident holds these errors ");
    out += "(`logtriage rules draft ID PATH...` drafts a rule for one).\n\n";
    for t in templates {
        let apps = if t.apps.is_empty() { String::new() } else { format!(" in {}", prose(&t.apps.join(", "))) };
        out += &format!(
            "- {} {}{apps}: {} at {}\n",
            code_span(&t.id),
            prose(&super::unknown_when(t)),
            code_span(&t.template),
            prose(&super::unknown_samples(t))
        );
    }
    out.push('\n');
    out
}

fn footer(s: &Summary) -> String {
    let mut out = String::from("---\n\n");
    if !s.skipped.is_empty() {
        out += "**Skipped:**\n\n";
        for skip in s.skipped.iter().take(MAX_SKIPS) {
            out += &format!("- {}\n", prose(&skip.detail));
        }
        if s.skipped.len() > MAX_SKIPS {
            out += &format!("- and {} more: run with `--format json` for all of them\n", s.skipped.len() - MAX_SKIPS);
        }
        out.push('\n');
    }
    let mut notes: Vec<String> = s.notes.iter().map(|n| prose(n)).collect();
    if let Some(b) = s.baseline.as_ref().filter(|b| b.known > 0) {
        notes.push(format!(
            "not shown: {} already in the baseline {}",
            plural(b.known, "incident"),
            code_span(&b.file)
        ));
    }
    if !s.unfiltered_rules.is_empty() {
        let ids: Vec<String> = s.unfiltered_rules.iter().map(|r| code_span(r)).collect();
        notes.push(format!("no prefilter literal, so these rules ran on every record: {}", ids.join(", ")));
    }
    if !notes.is_empty() {
        out += "**Notes:**\n\n";
        for note in &notes {
            out += &format!("- {note}\n");
        }
        out.push('\n');
    }
    let total = s.incidents.total();
    out += &format!(
        "{} from {} ({} bytes, {} records, {} candidates, {}) in {} ms\n",
        plural(total, "incident"),
        plural(s.files.len(), "file"),
        s.bytes,
        s.records,
        s.candidates,
        plural(s.rules, "rule"),
        s.elapsed_ms
    );
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::BaselineStats;
    use crate::input::{Skip, SkipReason};
    use crate::report::test_support::{crash_loop, crash_loop_without_a_date, summary};

    /// `n` incidents differing in id and title.
    fn many(n: usize, base: &Incident) -> Vec<Incident> {
        (0..n)
            .map(|k| {
                let mut i = base.clone();
                i.id = format!("{k:016x}");
                i.title = format!("incident {k}");
                i
            })
            .collect()
    }

    fn count_lines(doc: &str, prefix: &str) -> usize {
        doc.lines().filter(|l| l.starts_with(prefix)).count()
    }

    #[test]
    fn anchors_are_unique_and_plain() {
        let mut incidents = many(3, &crash_loop());
        incidents[0].id = "c9d4".into();
        incidents[1].id = "c9d4".into();
        incidents[2].id = "c9d4\"><x".into();
        assert_eq!(anchors(&incidents), ["incident-c9d4", "incident-c9d4-2", "incident-c9d4x"]);
    }

    /// Times of day without a date: the table and the section say them,
    /// and that the date is unknown.
    #[test]
    fn times_of_day_without_a_date() {
        let i = crash_loop_without_a_date();
        let doc = render(&[], 0, std::slice::from_ref(&i), 1, &[], &summary(std::slice::from_ref(&i)));
        assert!(doc.contains("| critical | `pm2.crash-loop` | api | 2 | 09:23:43 (date unknown) | ["), "{doc}");
        assert!(doc.contains("- **When:** 09:23:43 → 09:23:46 (date unknown) (2×, window 5m)\n"), "{doc}");
        assert!(doc.contains("`logs/pm2.log:78`\n"), "evidence has no time: {doc}");
    }

    #[test]
    fn renders_an_incident() {
        let i = crash_loop();
        let doc = render(&[], 0, std::slice::from_ref(&i), 1, &[], &summary(std::slice::from_ref(&i)));
        let id = &i.id;
        let expected = format!(
            "## logtriage: 1 incident (1 critical)

| Severity | Rule | App | Count | First seen | Title |
| --- | --- | --- | ---: | --- | --- |
| critical | `pm2.crash-loop` | api | 2 | 2026-11-26T17:05:30Z | [api is crash-looping: 2 exits within 5m](#incident-{id}) |

### <a id=\"incident-{id}\"></a>CRITICAL `pm2.crash-loop`: api is crash-looping: 2 exits within 5m

- **App:** api
- **When:** 2026-11-26T17:05:30Z → 2026-11-26T17:05:33Z (2×, window 5m)
- **Fields:** `code` = `1` · `pm_id` = `0`

<details><summary>Evidence (2 records)</summary>

`logs/pm2.log:78` at 2026-11-26T17:05:30Z

```text
App [api:0] exited with code [1]
```

`logs/pm2.log:82` at 2026-11-26T17:05:33Z

````text
App [api:0] exited with code [1]
```
at <anonymous>
````

</details>

**Fix:** Read `pm2 logs api --err` on &lt;host&gt; &amp; fix the first error.

- **See:** <https://pm2.keymetrics.io/docs/usage/restart-strategies/>
- **Id:** `{id}`

---

1 incident from 0 files (120 bytes, 4 records, 2 candidates, 1 rule) in 3 ms
"
        );
        assert_eq!(doc, expected);
    }

    #[test]
    fn no_incidents_is_a_heading_and_the_footer() {
        let mut s = summary(&[]);
        s.skipped.push(Skip {
            path: "logs/core-out.log".into(),
            reason: SkipReason::Binary,
            detail: "logs/core-out.log: binary data; not a text log".into(),
            bytes_read: None,
        });
        s.notes.push("3 file(s) have no timestamps".into());
        s.unfiltered_rules.push("x.any".into());
        s.baseline = Some(BaselineStats { file: "known.json".into(), known: 2 });
        let doc = render(&[], 0, &[], 0, &[], &s);
        assert!(doc.starts_with("## logtriage: no incidents\n\n---\n\n**Skipped:**\n\n- logs/core-out.log"), "{doc}");
        assert!(
            doc.contains(
                "**Notes:**\n\n- 3 file(s) have no timestamps\n\
             - not shown: 2 incidents already in the baseline `known.json`\n- no prefilter literal"
            ),
            "{doc}"
        );
        assert!(!doc.contains("| Severity |"));
    }

    #[test]
    fn caps_rows_and_sections_and_says_so() {
        let incidents = many(MAX_ROWS + 20, &crash_loop());
        let doc = render(&[], 0, &incidents, incidents.len(), &[], &summary(&incidents));
        assert!(doc.starts_with(&format!("## logtriage: {} incidents ({} critical)", MAX_ROWS + 20, MAX_ROWS + 20)));
        assert_eq!(count_lines(&doc, "| critical |"), MAX_ROWS);
        assert_eq!(count_lines(&doc, "### <a id="), MAX_SECTIONS);
        assert_eq!(
            count_lines(&doc, "| critical | `pm2.crash-loop` | api | 2 | 2026-11-26T17:05:30Z | [incident"),
            MAX_SECTIONS
        );
        assert!(doc.contains("This table leaves out 20 of 520 incidents"), "{doc}");
        assert!(doc.contains("Details follow for the first 100 of 520 incidents (420 left out"));
        assert!(doc.contains("run with `--format json` for all of them"));
    }

    #[test]
    fn huge_records_stay_inside_one_mebibyte() {
        let mut base = crash_loop();
        for e in &mut base.evidence {
            e.text = "x".repeat(40_000).into();
        }
        let mut incidents = many(MAX_ROWS, &base);
        for i in &mut incidents {
            i.title = format!("{} {}", i.title, "<".repeat(2_000));
        }
        let doc = render(&[], 0, &incidents, incidents.len(), &[], &summary(&incidents));
        assert!(doc.len() < 1024 * 1024, "{} bytes", doc.len());
        let sections = count_lines(&doc, "### <a id=");
        assert!(sections > 0 && sections < MAX_SECTIONS);
        assert!(doc.contains(&format!("first {sections} of {MAX_ROWS} incidents")));
        assert!(doc.contains("This table leaves out"));
    }
}
