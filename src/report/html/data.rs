//! The page's data block: the JSON report's stories, incidents and summary,
//! plus what the timeline needs and the JSON output does not carry (each
//! incident's lane, its instants in milliseconds, the times of its records
//! as ticks, whether an outage is still open, and the scanned span). Fix
//! templates and reference lists repeat across incidents of one rule, so
//! each is kept once (`fixes`: a template's text around its values;
//! `references`) and incidents name theirs by index, a fix with its
//! values: `"fix": [template, ["value", ...]]`. On a noisy log the fix
//! paragraphs were two thirds of the page.
//!
//! The block is the page's own, not a contract (`--format json` is).

use std::collections::HashMap;
use std::io;

use serde_json::{Map, Value, json};

use crate::incidents::Incident;
use crate::report::alertmanager::Endings;
use crate::report::schema::TOOL;
use crate::stories::Story;
use crate::summary::Summary;

/// Ticks kept per incident: enough to show every exit of a crash loop a
/// person would look at; beyond it the page draws a dense band anyway.
const MAX_TICKS: usize = 2000;

/// The lane of incidents with no app that pm2's daemon reported.
const DAEMON_LANE: &str = "pm2 daemon";
/// The lane of incidents with no app at all.
const NO_APP_LANE: &str = "(no app)";

/// The data, gathered as the reporter receives it.
pub(super) struct PageData {
    endings: Endings,
    stories: Vec<Value>,
    /// The incidents as JSON text, comma-separated: a `Value` per incident
    /// held to the end took twice the JSON run's memory.
    incidents: Vec<u8>,
    fixes: Interned<Vec<String>>,
    references: Interned<Vec<String>>,
    /// Earliest and latest instant of any incident.
    span: Option<(i64, i64)>,
    /// The unrecognised errors, as the JSON output gives them.
    unknown: Value,
}

impl PageData {
    pub(super) fn new(endings: Endings) -> PageData {
        PageData {
            endings,
            stories: Vec::new(),
            incidents: Vec::new(),
            fixes: Interned::default(),
            references: Interned::default(),
            span: None,
            unknown: Value::Array(Vec::new()),
        }
    }

    pub(super) fn unknown(&mut self, templates: &[crate::mine::Template]) -> io::Result<()> {
        self.unknown = serde_json::to_value(templates)?;
        Ok(())
    }

    pub(super) fn stories(&mut self, stories: &[Story]) -> io::Result<()> {
        self.stories = stories.iter().map(serde_json::to_value).collect::<Result<_, _>>()?;
        Ok(())
    }

    pub(super) fn incident(&mut self, i: &Incident) -> io::Result<()> {
        let first = self.incidents.is_empty();
        let mut incidents = std::mem::take(&mut self.incidents);
        let written = self.incident_into(i, first, &mut incidents);
        self.incidents = incidents;
        written
    }

    /// One incident's JSON, after a comma unless `first`, appended to
    /// `out`: what the page holds (see [`PageData::incident`]) or streams.
    pub(super) fn incident_into(&mut self, i: &Incident, first: bool, out: &mut Vec<u8>) -> io::Result<()> {
        let mut v = match serde_json::to_value(i)? {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let (texts, values) = i.fix.split();
        v.insert("fix".into(), json!([self.fixes.index(texts), values]));
        v.insert("references".into(), json!(self.references.index(i.references.to_vec())));
        v.insert("lane".into(), json!(lane(i)));
        if let (Some(t0), Some(t1)) = (i.first_ms(), i.last_ms()) {
            v.insert("t0".into(), json!(t0));
            v.insert("t1".into(), json!(t1));
            self.widen(t0, t1);
        }
        if let Some(ended) = self.endings.ended(i) {
            v.insert("ended".into(), json!(ended));
        }
        let (ticks, total) = ticks(i);
        if total > 1 {
            v.insert("ticks".into(), json!(ticks));
            v.insert("ticks_total".into(), json!(total));
        }
        if !first {
            out.push(b',');
        }
        serde_json::to_writer(out, &v)?;
        Ok(())
    }

    /// The span of every incident with both instants, known before they
    /// come (from the store's views), so the block can be written ahead of
    /// them.
    pub(super) fn span_from(&mut self, spans: impl Iterator<Item = (i64, i64)>) {
        for (t0, t1) in spans {
            self.widen(t0, t1);
        }
    }

    /// The block up to the incidents' `[`: tool, span and stories.
    pub(super) fn head(&mut self) -> io::Result<Vec<u8>> {
        let head = json!({
            "tool": TOOL,
            "span": self.span.map(|(a, b)| [a, b]),
            "stories": std::mem::take(&mut self.stories),
        });
        let mut out = serde_json::to_vec(&head)?;
        out.pop();
        out.extend_from_slice(b",\"incidents\":[");
        Ok(out)
    }

    /// The block from the incidents' `]` on: fixes, references, summary,
    /// unknown errors.
    pub(super) fn tail(&mut self, summary: &Summary) -> io::Result<Vec<u8>> {
        // The run's duration is the one thing that differs between two runs
        // over the same logs; the page leaves it out, so it is the same file
        // every time (a CI artifact diffs clean).
        let mut summary = serde_json::to_value(summary)?;
        if let Value::Object(map) = &mut summary {
            map.remove("elapsed_ms");
        }
        let rest = json!({
            "fixes": std::mem::take(&mut self.fixes.values),
            "references": std::mem::take(&mut self.references.values),
            "summary": summary,
            "unknown": std::mem::take(&mut self.unknown),
        });
        let mut out = b"],".to_vec();
        out.extend_from_slice(&serde_json::to_vec(&rest)?[1..]);
        Ok(out)
    }

    /// The whole block, as JSON text (not yet escaped for the page).
    pub(super) fn finish(&mut self, summary: &Summary) -> io::Result<Vec<u8>> {
        // `{head..., "incidents": [...], rest...}`, the incidents as written.
        let mut out = self.head()?;
        out.append(&mut self.incidents);
        out.extend_from_slice(&self.tail(summary)?);
        Ok(out)
    }

    fn widen(&mut self, t0: i64, t1: i64) {
        self.span = Some(match self.span {
            Some((a, b)) => (a.min(t0), b.max(t1)),
            None => (t0, t1),
        });
    }
}

/// Values kept once each, named by their index in order of first use.
struct Interned<T> {
    values: Vec<T>,
    index: HashMap<T, usize>,
}

impl<T> Default for Interned<T> {
    fn default() -> Self {
        Interned { values: Vec::new(), index: HashMap::new() }
    }
}

impl<T: Clone + Eq + std::hash::Hash> Interned<T> {
    fn index(&mut self, value: T) -> usize {
        if let Some(&n) = self.index.get(&value) {
            return n;
        }
        let n = self.values.len();
        self.values.push(value.clone());
        self.index.insert(value, n);
        n
    }
}

/// The lane an incident is drawn on: its app, else the daemon's lane for
/// pm2's own rules, else the lane of incidents with no app.
fn lane(i: &Incident) -> &str {
    match &i.app {
        Some(app) => app,
        None if i.rule.starts_with("pm2.") => DAEMON_LANE,
        None => NO_APP_LANE,
    }
}

/// The distinct instants of `i`'s records, in order, at most
/// [`MAX_TICKS`] of them (evenly spaced through the whole list when there
/// are more), and how many there were.
fn ticks(i: &Incident) -> (Vec<i64>, usize) {
    let mut all: Vec<i64> = i.marks.iter().filter_map(|m| m.ts()).collect();
    all.sort_unstable();
    all.dedup();
    let total = all.len();
    if total <= MAX_TICKS {
        return (all, total);
    }
    let kept = (0..MAX_TICKS).map(|k| all[k * (total - 1) / (MAX_TICKS - 1)]).collect();
    (kept, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::fold::Mark;
    use crate::report::test_support::{crash_loop, summary};

    fn block(incidents: &[Incident]) -> Value {
        let mut d = PageData::new(Endings::default());
        for i in incidents {
            d.incident(i).expect("incident");
        }
        serde_json::from_slice(&d.finish(&summary(incidents)).expect("finish")).expect("json")
    }

    /// Incidents sharing a fix text or references share one copy of them;
    /// another text gets the next index.
    #[test]
    fn fixes_and_references_are_kept_once() {
        let mut other = crash_loop();
        other.references = vec!["https://example.com/".to_string()].into();
        let v = block(&[crash_loop(), crash_loop(), other]);
        assert_eq!(v["fixes"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["incidents"][0]["fix"], json!([0, ["api"]]));
        assert_eq!(v["incidents"][1]["fix"], json!([0, ["api"]]));
        assert_eq!(v["references"].as_array().map(Vec::len), Some(2));
        assert_eq!([&v["incidents"][1]["references"], &v["incidents"][2]["references"]], [&json!(0), &json!(1)]);
        assert_eq!(v["references"][1], json!(["https://example.com/"]));
        assert_eq!(v["fixes"][0], json!(["Read `pm2 logs ", " --err` on <host> & fix the first error."]));
    }

    /// Instants, lane and span come from the incident.
    #[test]
    fn incidents_carry_their_instants_and_lane() {
        let i = crash_loop();
        let v = block(std::slice::from_ref(&i));
        let first = i.first_ms().expect("timed");
        let last = i.last_ms().expect("timed");
        assert_eq!(v["incidents"][0]["t0"], first);
        assert_eq!(v["incidents"][0]["t1"], last);
        assert_eq!(v["incidents"][0]["lane"], "api");
        assert_eq!(v["span"], json!([first, last]));
        assert_eq!(v["incidents"][0]["ticks"], json!([first, last]));
    }

    /// Without an app, pm2's rules go to the daemon's lane, others to
    /// their own.
    #[test]
    fn lane_without_an_app() {
        let mut i = crash_loop();
        i.app = None;
        assert_eq!(lane(&i), DAEMON_LANE);
        i.rule = "tws.farm-broken".into();
        assert_eq!(lane(&i), NO_APP_LANE);
    }

    /// Many ticks are thinned evenly, keeping the first and the last.
    #[test]
    fn ticks_are_thinned_evenly() {
        let mut i = crash_loop();
        i.marks = (0..5000).map(|n| Mark::new(0, n + 1, Some(n as i64 * 10), true, None, true)).collect();
        let (kept, total) = ticks(&i);
        assert_eq!((kept.len(), total), (MAX_TICKS, 5000));
        assert_eq!((kept[0], kept[MAX_TICKS - 1]), (0, 49_990));
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
    }
}
