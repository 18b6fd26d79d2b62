//! Unknown-error mining: the recurring errors no rule knows. Candidate
//! records ([`candidate`]) that no rule matched are masked ([`mask`]) and
//! tallied per source during the scan ([`tally`], one per `FileStats`);
//! after the scan the tallies go through one Drain tree ([`drain`]) in
//! source order, then by first occurrence, so the templates and their ids
//! are the same whatever the thread count. Hands on [`Mined`]: templates
//! with counts, apps, first and last time, and sample lines, for the
//! reports' `unknown` section, `templates` and `rules draft`.

pub mod candidate;
pub mod draft;
pub mod drain;
pub mod mask;
pub mod stack;
pub mod tally;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::records::{Zone, timestamp};

pub use candidate::Mode;
pub use tally::{At, Tally, Window};

/// Mining as a scan runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MineOptions {
    /// What is mined.
    pub mode: Mode,
    /// Keep every record's template (`templates`): no caps.
    pub log: bool,
}

/// Templates kept at most after the scan; the rarest are evicted.
pub const TEMPLATE_CAP: usize = 5_000;

/// One unrecognised error: a template and its occurrences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Template {
    /// Stable id: FNV-1a 64 of the template, 12 hex digits.
    pub id: String,
    /// The masked message (`<*>` where occurrences differ), then, for a
    /// stack, ` | ` and its first frame in the app's own code.
    pub template: String,
    /// Occurrences.
    pub count: u64,
    /// Apps it was seen in, sorted.
    pub apps: Vec<String>,
    /// Earliest and latest time of the occurrences, as incidents give
    /// theirs; null when the records have no times.
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// The first two occurrences.
    pub samples: Vec<Sample>,
    /// The masked message alone (what `rules draft` turns into a regex).
    #[serde(skip)]
    pub message: String,
}

/// Where an occurrence is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sample {
    /// The file, as shown everywhere else.
    pub file: String,
    /// 1-based line of the record's first line.
    pub line: u64,
    /// Source index, for ordering.
    #[serde(skip)]
    pub source: usize,
}

/// What mining found.
#[derive(Debug, Clone, Default)]
pub struct Mined {
    /// Most frequent first, then by first occurrence.
    pub templates: Vec<Template>,
    /// Occurrences and keys (or templates) evicted by the memory caps.
    pub evicted: (u64, u64),
    /// With a per-record log (`templates`): (source, line, template index)
    /// of every mined record, in source then line order; None for a
    /// record whose template was evicted.
    pub records: Vec<(usize, u64, Option<usize>)>,
}

/// One source's tally, with what it needs from the scan.
pub struct SourceTally {
    /// Source index (its order).
    pub source: usize,
    /// Its path, as shown.
    pub path: String,
    /// Its app, once named.
    pub app: Option<String>,
    /// Its source id (what events name).
    pub spec: usize,
    pub tally: Tally,
}

/// Notes in each tally the records a batch of findings took: `taken`
/// lists (source id, line) of every event they keep; `tallies` are in
/// source id order. Called batch by batch as correlation hands findings
/// on, so the lines of every finding are never held at once: each held
/// occurrence is marked where it is, searched by halves (a set of every
/// event hashed, storm corpus: 577 k events, cost 2.6 % of the scan).
pub fn note_taken(tallies: &mut [SourceTally], taken: impl Iterator<Item = (usize, u64)>) {
    for (source, line) in taken {
        if let Ok(at) = tallies.binary_search_by_key(&source, |t| t.spec) {
            tallies[at].tally.took(line);
        }
    }
}

/// Folds into each tally the occurrences a rule matched that no finding
/// took ([`note_taken`], once every finding is made).
pub fn release_unmatched(tallies: &mut [SourceTally]) {
    tallies.iter_mut().for_each(|t| t.tally.release());
}

/// Clusters the sources' tallies (given in source order) into templates.
/// `cap` bounds the templates kept (None: all, for `templates`).
pub fn gather(sources: Vec<SourceTally>, cap: Option<usize>, zone: Zone) -> Mined {
    let mut drain = drain::Drain::new(cap);
    let mut stats: Vec<Option<Stats>> = Vec::new();
    let mut logs = Vec::new();
    let mut evicted = (0, 0);
    for mut s in sources {
        evicted.0 += s.tally.evicted.0;
        evicted.1 += s.tally.evicted.1;
        let (entries, log) = std::mem::take(&mut s.tally).into_parts();
        let mut of_entry = Vec::with_capacity(entries.len());
        for e in &entries {
            let (message, anchor) = e.key.split_once(candidate::ANCHOR).unwrap_or((&e.key, ""));
            let id = drain.add(message, anchor, e.count) as usize;
            for gone in drain.take_evicted() {
                if let Some(st) = stats.get_mut(gone as usize).and_then(Option::take) {
                    evicted.0 += st.count;
                    evicted.1 += 1;
                }
            }
            if stats.len() <= id {
                stats.resize_with(id + 1, || None);
            }
            stats[id].get_or_insert_with(Stats::default).add(e, &s);
            of_entry.push(id);
        }
        if let Some(log) = log {
            logs.push((s.source, log, of_entry));
        }
    }
    let mut templates = Vec::new();
    let mut index = vec![None; stats.len()];
    for (i, c) in drain.clusters() {
        let Some(st) = stats.get_mut(i as usize).and_then(Option::take) else { continue };
        index[i as usize] = Some(templates.len());
        templates.push(st.into_template(c, zone));
    }
    let order = rank(&mut templates);
    let index: Vec<Option<usize>> = index.into_iter().map(|t| t.map(|t| order[t])).collect();
    let records = logs
        .into_iter()
        .flat_map(|(source, log, of_entry)| {
            let index = &index;
            log.into_iter().map(move |(line, e)| (source, line, index[of_entry[e as usize]]))
        })
        .collect();
    Mined { templates, evicted, records }
}

/// Sorts the templates for the report and gives each its id (a second
/// template of the same text gets `-2`, and so on). Returns where each
/// template went.
fn rank(templates: &mut Vec<Template>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..templates.len()).collect();
    let first = |t: &Template| t.samples.first().map(|s| (s.source, s.line));
    order.sort_by(|&a, &b| {
        let (a, b) = (&templates[a], &templates[b]);
        b.count.cmp(&a.count).then_with(|| first(a).cmp(&first(b))).then_with(|| a.template.cmp(&b.template))
    });
    let mut sorted: Vec<Template> = order.iter().map(|&i| templates[i].clone()).collect();
    let mut seen = std::collections::HashMap::new();
    for t in &mut sorted {
        let n = seen.entry(t.template.clone()).or_insert(0);
        *n += 1;
        let hash = format!("{:012x}", crate::incidents::id::fnv1a(t.template.as_bytes()) >> 16);
        t.id = if *n == 1 { hash } else { format!("{hash}-{n}") };
    }
    *templates = sorted;
    let mut went = vec![0; order.len()];
    for (to, &from) in order.iter().enumerate() {
        went[from] = to;
    }
    went
}

/// A template's occurrences, summed over its entries.
#[derive(Debug, Default)]
struct Stats {
    count: u64,
    apps: BTreeSet<String>,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    samples: Vec<Sample>,
}

impl Stats {
    fn add(&mut self, e: &tally::Entry, s: &SourceTally) {
        self.count += e.count;
        self.apps.extend(s.app.clone());
        self.first_ts = min_some(self.first_ts, e.first_ts);
        self.last_ts = e.last_ts.max(self.last_ts);
        let new = e.samples.iter().map(|&line| Sample { file: s.path.clone(), line, source: s.source });
        self.samples.extend(new);
        self.samples.sort_by_key(|x| (x.source, x.line));
        self.samples.truncate(2);
    }

    fn into_template(self, c: &drain::Cluster, zone: Zone) -> Template {
        let message = c.tokens.join(" ");
        let template = if c.anchor.is_empty() { message.clone() } else { format!("{message} | {}", c.anchor) };
        Template {
            id: String::new(),
            template,
            count: self.count,
            apps: self.apps.into_iter().collect(),
            first_seen: self.first_ts.map(|ms| timestamp::render(ms, zone)),
            last_seen: self.last_ts.map(|ms| timestamp::render(ms, zone)),
            samples: self.samples,
            message,
        }
    }
}

fn min_some(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Record;

    fn source(i: usize, bodies: &[&str]) -> SourceTally {
        let mut tally = Tally::new(Mode::Errors, true, &crate::rules::RuleSet::default());
        for (n, b) in bodies.iter().enumerate() {
            let rec = Record { body: b.as_bytes().to_vec(), ts: None, day_time: None, app: None, stream: None };
            tally.offer(&rec, true, At { line: n as u64 + 1, lead: false, deferred: false, held: false });
        }
        SourceTally { source: i, path: format!("app{i}-error.log"), app: Some(format!("app{i}")), spec: i, tally }
    }

    #[test]
    fn templates_across_sources_with_counts_apps_and_samples() {
        let a = source(0, &["Error: job 1 failed", "disk full", "Error: job 2 failed"]);
        let b = source(1, &["Error: job 3 failed"]);
        let mined = gather(vec![a, b], None, Zone::Utc);
        assert_eq!(mined.templates.len(), 2);
        let t = &mined.templates[0];
        assert_eq!((t.template.as_str(), t.count), ("Error: job <*> failed", 3));
        assert_eq!(t.apps, vec!["app0", "app1"]);
        assert_eq!(
            t.samples.iter().map(|s| (s.file.as_str(), s.line)).collect::<Vec<_>>(),
            [("app0-error.log", 1), ("app0-error.log", 3)]
        );
        // Pinned: FNV-1a 64 of the template, its top 48 bits.
        assert_eq!(t.id, "7ba1591aef24");
        assert_eq!(mined.records, vec![(0, 1, Some(0)), (0, 2, Some(1)), (0, 3, Some(0)), (1, 1, Some(0))]);
    }
}
