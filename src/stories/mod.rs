//! Stories: incidents → the few things that are wrong, each with what
//! caused it. One entry point, [`build`], consuming the incidents (in
//! report order) and what pass 2 found before the exits ([`Causes`]);
//! hands on [`Story`]s, most severe and most recent first, and [`label`]
//! gives each incident its story's id. Never reads files.
//!
//! What folds into one story (see [`fold`]):
//! - repeats of one rule and group key (every outage of one farm);
//! - a rule's `story = "restart"` family, per app: crash loop, errored,
//!   restart on a signal, kill timeout, heap OOM, max-memory restart, and
//!   the crashes that precede an exit;
//! - a rule's `story = "dependency:NAME"` family, across apps, when the
//!   incidents' spans come within [`fold::OVERLAP_MS`] of each other;
//! - incidents that share a record (one record firing several rules);
//! - the rule-matched incident found in the windows before an app's exits,
//!   which becomes its restart story's cause and lead.
//!
//! The cause of a restart story is that rule-matched incident if there is
//! one, else the dominant [`cause::shape`] of the error records the app
//! wrote in the [`BEFORE_MS`](crate::correlate::fold::mark::BEFORE_MS) before each exit.

pub mod cause;
pub mod fold;
#[cfg(test)]
mod oracle;

use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::io;

use serde::Serialize;

pub use cause::{Causes, Collector, Place, Window, cause_windows, error_line};

use crate::incidents::id::IdNum;
use crate::incidents::store::{Status, Views};
use crate::incidents::{Store, TimesOfDay, View, id};
use crate::rules::{Family, Severity};

/// Why a story happened, as far as the logs say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    /// The cause: a rule-matched incident's title, or the error's first
    /// line as the app wrote it.
    pub text: String,
    /// Where it was first seen.
    pub file: String,
    /// 1-based line there.
    pub line: u64,
    /// Records of it in the windows before the exits.
    pub count: usize,
    /// The id of the incident that is the cause, when a rule matched it.
    pub incident: Option<String>,
    /// It is the dependency's own account of an outage (a `side =
    /// "server"` rule), counted in its log rather than before exits.
    #[serde(skip)]
    pub server: bool,
}

/// Related incidents told as one: the unit a person triages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Story {
    /// Stable id: the same first incident gives the same id on every run.
    pub id: String,
    /// `restart`, `dependency:NAME`, or `rule` (repeats of one rule and
    /// key, a single incident included).
    pub kind: String,
    /// One line saying what is wrong.
    pub headline: String,
    /// The worst member's severity.
    pub severity: Severity,
    /// Apps its incidents concern, sorted.
    pub apps: Vec<String>,
    /// Earliest member's first time (RFC 3339).
    pub first_seen: Option<String>,
    /// Latest member's last time.
    pub last_seen: Option<String>,
    /// Where the members' logs have times of day but no date (and so no
    /// `first_seen`): the span they show (see [`TimesOfDay`]).
    pub time_of_day: Option<TimesOfDay>,
    /// Member incident ids in causal order: the cause first, then by time.
    pub incidents: Vec<IdNum>,
    /// The probable cause, when one was found.
    pub cause: Option<Cause>,
    /// Member indices into the incidents, in causal order.
    #[serde(skip)]
    pub members: Vec<usize>,
    /// Latest time, for the order.
    #[serde(skip)]
    last_ms: Option<i64>,
}

/// Folds the store's incidents (sealed: in report order) into stories.
/// `windows` are the cause windows the scan searched ([`cause_windows`]),
/// `causes` what it found there, and `paths` name sources by id. Reads
/// back only the incidents a story names (its cause, its headline's lead,
/// its first and last), so an error is one reading them back.
pub fn build(store: &Store, windows: &[Window], causes: &Causes, paths: &[String]) -> io::Result<Vec<Story>> {
    let incidents = store.views();
    let rule_causes = fold::rule_causes(incidents, windows);
    let mut stories: Vec<Story> = fold::groups(incidents, &rule_causes)
        .into_iter()
        .map(|group| {
            let cause_of = rule_causes.values().find(|c| group.contains(&c.incident));
            story(store, group, cause_of, causes, paths)
        })
        .collect::<io::Result<_>>()?;
    stories.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| (a.last_ms.is_none(), Reverse(a.last_ms)).cmp(&(b.last_ms.is_none(), Reverse(b.last_ms))))
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(stories)
}

impl Cause {
    /// Where its `count` records were seen, as the reports say it: a
    /// restart's cause is counted in the windows before the exits, an
    /// outage's own account (a `side = "server"` rule's incident) in the
    /// dependency's log.
    pub fn seen(&self) -> &'static str {
        if self.server { "in the dependency's own log" } else { "just before the exits" }
    }
}

/// Gives each incident the id of its story (when it is read back).
pub fn label(store: &mut Store, stories: &[Story]) {
    store.label(stories);
}

fn story(
    store: &Store,
    mut members: Vec<usize>,
    rule_cause: Option<&fold::RuleCause>,
    causes: &Causes,
    paths: &[String],
) -> io::Result<Story> {
    let incidents = store.views();
    let of = |i: usize| &incidents[i];
    let kind = kind(members.iter().map(|&i| of(i)));
    // Distinct first: a storm's story has an app per member (732 k).
    let apps: BTreeSet<&str> = members.iter().filter_map(|&i| incidents.app(of(i))).collect();
    let apps: Vec<String> = apps.into_iter().map(str::to_string).collect();
    let shape = match rule_cause {
        None if kind == "restart" => shape_cause(&apps, causes),
        _ => None,
    };
    let crash = match (rule_cause, &shape) {
        (None, None) => server_member(&incidents, &members).or_else(|| crash_member(incidents, &members)),
        _ => None,
    };
    let cause_idx = rule_cause.map(|c| c.incident).or(crash);
    // Causal order: the cause, then by time (untimed last), the worse
    // first at one time; symptoms (what users saw) after what caused them.
    let symptom = |inc: &View| inc.is(&Family::Symptom);
    let order = |&i: &usize| {
        let inc = &incidents[i];
        let timed = (inc.first_ms().is_none(), inc.first_ms());
        (Some(i) != cause_idx, symptom(inc), timed, Reverse(inc.severity), inc.id)
    };
    members.sort_by_key(order);
    let severity = members.iter().map(|&i| of(i).severity).max().unwrap_or(Severity::Info);
    let first = members.iter().copied().filter(|&i| of(i).first_ms().is_some()).min_by_key(|&i| of(i).first_ms());
    let last = members.iter().copied().filter(|&i| of(i).last_ms().is_some()).max_by_key(|&i| of(i).last_ms());
    // The anchor: the earliest member (the first in causal order without
    // the cause's precedence), so a story keeps its id as long as its
    // first incident does; a symptom only in a story of symptoms, so a
    // health check logged a second before the outage's first record
    // changes no id.
    let earliest = |i: &View| (symptom(i), i.first_ms().is_none(), i.first_ms());
    let anchor = members
        .iter()
        .map(|&i| of(i))
        .min_by(|a, b| earliest(a).cmp(&earliest(b)).then_with(|| a.id.cmp(&b.id)))
        .map(View::id_text)
        .unwrap_or_default();
    let cause = match (rule_cause, crash) {
        (Some(c), _) => Some(Cause {
            text: store.get(c.incident)?.title.clone(),
            file: paths.get(c.first.source()).cloned().unwrap_or_default(),
            line: c.first.line(),
            count: c.count,
            incident: Some(of(c.incident).id_text()),
            server: false,
        }),
        (None, Some(i)) => {
            let inc = store.get(i)?;
            let first = inc.evidence.first();
            Some(Cause {
                text: inc.title.clone(),
                file: first.map(|e| e.file.to_string()).unwrap_or_default(),
                line: first.map_or(0, |e| e.line),
                count: inc.count,
                incident: Some(inc.id.clone()),
                server: inc.server,
            })
        }
        (None, None) => shape,
    };
    Ok(Story {
        id: id::stable_id("story", &[("kind".to_string(), kind.clone())], &anchor),
        headline: headline(store, &members, cause_idx)?,
        kind,
        severity,
        apps,
        first_seen: first.map(|i| store.get(i)).transpose()?.and_then(|i| i.first_seen.clone()),
        last_seen: last.map(|i| store.get(i)).transpose()?.and_then(|i| i.last_seen.clone()),
        time_of_day: if first.is_none() {
            times_of_day(members.iter().map(|&i| incidents.time_of_day(of(i))))
        } else {
            None
        },
        incidents: members.iter().map(|&i| of(i).id_num()).collect(),
        cause,
        last_ms: last.and_then(|i| of(i).last_ms()),
        members,
    })
}

/// The times of day the members show: from the earliest first to the
/// latest last where none passed midnight (one day, so the times compare),
/// else the first member's own.
fn times_of_day<'a>(members: impl Iterator<Item = Option<&'a TimesOfDay>>) -> Option<TimesOfDay> {
    let all: Vec<&TimesOfDay> = members.flatten().collect();
    let first = all.first()?;
    if all.iter().any(|t| t.midnights > 0) {
        return Some((*first).clone());
    }
    let earliest = all.iter().map(|t| &t.first).min()?;
    let latest = all.iter().map(|t| &t.last).max()?;
    Some(TimesOfDay { first: earliest.clone(), last: latest.clone(), midnights: 0 })
}

/// The family of the story's root (see [`fold`]): a dependency if a
/// member is one (only an outage's unit is a root that others join), else
/// `restart` if a member is of that family, else `rule`.
fn kind<'a>(members: impl Iterator<Item = &'a View> + Clone) -> String {
    if let Some(d) = members.clone().find_map(|i| i.family().filter(|f| matches!(f, Family::Dependency(_)))) {
        return d.as_key();
    }
    if members.clone().any(|i| i.is(&Family::Restart)) {
        return "restart".to_string();
    }
    "rule".to_string()
}

/// A member whose records are the app's own crash, not pm2's lines (a heap
/// OOM, an uncaught exception: the rules of the restart family whose
/// record precedes an exit): the cause where the windows found nothing,
/// as when the app's log has no times. The earliest, then the worst.
/// The dependency's own account of its outage (an incident of a
/// `side = "server"` rule: PostgreSQL's "received fast shutdown request"),
/// the earliest: it is why the apps saw what they saw, so it is the cause,
/// and the headline stays the apps' view.
fn server_member(incidents: &[View], members: &[usize]) -> Option<usize> {
    let rank = |i: usize| {
        let inc = &incidents[i];
        (inc.first_ms().is_none(), inc.first_ms(), Reverse(inc.severity), inc.id)
    };
    members.iter().copied().filter(|&i| incidents[i].server()).min_by(|&a, &b| rank(a).cmp(&rank(b)))
}

fn crash_member(incidents: Views<'_>, members: &[usize]) -> Option<usize> {
    let crash = |i: &View| {
        let marks = incidents.marks(i);
        i.is(&Family::Restart) && !marks.is_empty() && marks.iter().all(|m| !m.daemon())
    };
    let rank = |i: usize| {
        let inc = &incidents[i];
        (inc.first_ms().is_none(), inc.first_ms(), Reverse(inc.severity))
    };
    members.iter().copied().filter(|&i| crash(&incidents[i])).min_by(|&a, &b| rank(a).cmp(&rank(b)))
}

/// The dominant error shape before the exits of the story's apps.
fn shape_cause(apps: &[String], causes: &Causes) -> Option<Cause> {
    let shape = apps.iter().filter_map(|a| causes.dominant(a)).max_by_key(|s| (s.count, Reverse(s.ts)))?;
    let line = match shape.place {
        Place::Line(n) => n,
        // Not resolved (the file could no longer be read): no line to give.
        Place::Offset(_) => 0,
    };
    Some(Cause {
        text: shape.text.clone(),
        file: shape.file.clone(),
        line,
        count: shape.count,
        incident: None,
        server: false,
    })
}

/// The title of the worst member (the earliest of the worst), past the
/// cause, which the story line names apart; with repeats, how many, the
/// longest and whether the last is still open. Repeats are the lead's rule
/// and key, or in an outage its rule whatever the app: the story of a link
/// that broke 500 times for four apps says so.
fn headline(store: &Store, members: &[usize], cause: Option<usize>) -> io::Result<String> {
    let incidents = store.views();
    // The first of the worst in causal order; a symptom (a failing health
    // check) only where the story is nothing else: the outage behind it is
    // what to read first.
    let pick = members.iter().enumerate().filter(|&(_, &i)| Some(i) != cause || members.len() == 1);
    let symptom = |i: usize| incidents[i].is(&Family::Symptom);
    let Some((_, &lead_at)) = pick.min_by_key(|&(at, &i)| (symptom(i), Reverse(incidents[i].severity), at)) else {
        return Ok(String::new());
    };
    let lead = &incidents[lead_at];
    let title = store.get(lead_at)?.title.clone();
    let outage = matches!(lead.family(), Some(Family::Dependency(_)));
    let repeats: Vec<&View> = members
        .iter()
        .map(|&i| &incidents[i])
        .filter(|i| i.rule() == lead.rule() && (outage || i.group == lead.group))
        .collect();
    if repeats.len() < 2 {
        return Ok(title);
    }
    let longest = repeats.iter().filter_map(|i| Some(i.last_ms()? - i.first_ms()?)).max();
    let mut out = format!("{title}; {} times", repeats.len());
    let mut apps: Vec<&str> = repeats.iter().filter_map(|i| incidents.app(i)).collect();
    apps.sort_unstable();
    apps.dedup();
    if apps.len() > 1 {
        out.push_str(&format!(" across {} apps", apps.len()));
    }
    if let Some(ms) = longest {
        out.push_str(&format!(", the longest {}", crate::correlate::pairs::human(ms)));
    }
    match repeats.iter().max_by_key(|i| (i.first_ms(), i.id)).map(|i| i.status()) {
        Some(Status::Open) => out.push_str(", the last still open at the end of the log"),
        Some(Status::Closed) => out.push_str(", the last one closed"),
        Some(Status::None) | None => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::Finding;
    use crate::incidents::{self, Incident};
    use crate::input::Stream;
    use crate::matcher::Event;
    use crate::records::Zone;
    use crate::rules::{Role, compile_all};

    const PACK: &str = r#"
[[rule]]
id = "t.loop"
title = "{app} loops"
severity = "critical"
story = "restart"
regex = 'exited'
fix = "f"

[[rule]]
id = "t.redis"
title = "{app} lost redis"
severity = "high"
story = "dependency:redis"
regex = 'redis'
fix = "f"

[[rule]]
id = "t.reject"
title = "{app} rejected"
severity = "high"
regex = 'rejected'
fix = "f"

[[rule]]
id = "t.farm"
title = "{app} farm {farm} broken"
severity = "medium"
regex = 'farm (?P<farm>\w+)'
group_by = ["app", "farm"]
fix = "f"

[[rule]]
id = "t.pg"
title = "{app} lost postgres"
severity = "high"
story = "dependency:postgres"
regex = 'pg'
fix = "f"

[[rule]]
id = "t.crash"
title = "{app} crashed"
severity = "high"
story = "restart"
regex = 'crashed'
fix = "f"

[[rule]]
id = "t.pgdown"
title = "{app} shut down"
severity = "high"
story = "dependency:postgres"
side = "server"
regex = 'shutdown'
fix = "f"

[[rule]]
id = "t.health"
title = "{app} health failing"
severity = "critical"
story = "symptom"
regex = 'health'
fix = "f"
"#;

    /// An event of rule `rule` for `app` at `ts` seconds, on `line` of
    /// source `source` (the daemon's when `daemon`).
    fn ev(rule: u32, app: &str, ts: i64, source: usize, line: u64, daemon: bool) -> Event {
        Event {
            rule,
            role: Role::Start,
            shape: 0.into(),
            source,
            line,
            ts: Some(ts * 1000).into(),
            day_time: None,
            app: Some(app.into()),
            stream: if daemon { Stream::Daemon } else { Stream::Err },
            fields: Default::default(),
            text: "x".into(),
        }
    }

    fn finding(rule: u32, app: &str, key: &[(&str, &str)], events: Vec<Event>) -> Finding {
        let mut k = vec![("app".to_string(), app.to_string())];
        k.extend(key.iter().map(|(a, b)| (a.to_string(), b.to_string())));
        let keep = crate::correlate::fold::Keep::default();
        Finding { rule, key: k, events: crate::correlate::Fold::of(events, keep), facts: vec![] }
    }

    fn stories_of(findings: Vec<Finding>, causes: &Causes) -> (Vec<Incident>, Vec<Story>) {
        let rules = compile_all(&[("t.toml".into(), PACK.into())]).expect("rules");
        let paths: Vec<String> = (0..4).map(|i| format!("f{i}.log")).collect();
        let mut store = Store::from_incidents(incidents::build(&rules, &findings, &paths, Zone::Utc));
        let windows = cause_windows(store.views());
        let stories = build(&store, &windows, causes, &paths).expect("stories");
        label(&mut store, &stories);
        (store.into_vec().expect("incidents"), stories)
    }

    /// Repeats of one rule and key fold whatever their times; other keys
    /// of the rule do not.
    #[test]
    fn repeats_of_one_rule_and_key_are_one_story() {
        let f = |farm: &str, ts: i64| finding(3, "tws", &[("farm", farm)], vec![ev(3, "tws", ts, 0, ts as u64, false)]);
        let (_, stories) = stories_of(vec![f("usfarm", 0), f("usfarm", 86_400), f("eufarm", 10)], &Causes::default());
        assert_eq!(stories.len(), 2);
        let us = stories.iter().find(|s| s.incidents.len() == 2).expect("usfarm folded");
        assert!(us.headline.ends_with("; 2 times, the longest 0s"), "{}", us.headline);
        assert_eq!(us.kind, "rule");
    }

    /// A dependency's incidents fold across apps when they come within
    /// OVERLAP_MS of each other, not further.
    #[test]
    fn dependency_outages_fold_across_apps_by_time() {
        let r = |app: &str, ts: i64, source: usize| finding(1, app, &[], vec![ev(1, app, ts, source, 1, false)]);
        let limit = fold::OVERLAP_MS / 1000;
        let (_, together) = stories_of(vec![r("api", 0, 0), r("worker", limit, 1)], &Causes::default());
        assert_eq!(together.len(), 1);
        assert_eq!(together[0].apps, ["api", "worker"]);
        let (_, apart) = stories_of(vec![r("api", 0, 0), r("worker", limit + 1, 1)], &Causes::default());
        assert_eq!(apart.len(), 2);
    }

    /// One record that fired two rules feeds one story; an incident in the
    /// windows before an app's exits joins its restart story as cause and
    /// lead, counting its records there.
    #[test]
    fn shared_records_and_rule_causes_join_the_restart_story() {
        let exits = finding(0, "api", &[], vec![ev(0, "api", 100, 0, 10, true), ev(0, "api", 200, 0, 20, true)]);
        // Line 5 made two events: the matcher flags them so.
        let shared = |e: Event| Event { shape: e.shape.with_shared(true), ..e };
        let reject =
            finding(2, "api", &[], vec![shared(ev(2, "api", 99, 1, 5, false)), ev(2, "api", 198, 1, 9, false)]);
        let redis = finding(1, "api", &[], vec![shared(ev(1, "api", 99, 1, 5, false))]);
        let (incidents, stories) = stories_of(vec![exits, reject, redis], &Causes::default());
        assert_eq!(stories.len(), 1, "{stories:#?}");
        let s = &stories[0];
        let cause = s.cause.as_ref().expect("cause");
        let lead = incidents.iter().find(|i| s.incidents[0] == i.id).expect("lead");
        assert_eq!((lead.rule.as_str(), cause.count, cause.line, cause.file.as_str()), ("t.reject", 2, 5, "f1.log"));
        assert_eq!(s.headline, "api loops");
        // The outage behind the rejection is the story's root.
        assert_eq!((s.kind.as_str(), s.severity), ("dependency:redis", Severity::Critical));
        assert!(incidents.iter().all(|i| i.story.as_ref() == Some(&s.id)));
    }

    /// Without a rule-matched cause, the dominant shape pass 2 found is the
    /// cause; stories are ordered most severe, then most recent, first,
    /// and their ids do not depend on the input order.
    #[test]
    fn shape_causes_order_and_stable_ids() {
        let mut c = Collector::default();
        c.observe("api", "api-error.log", 99_000, "Error: Cannot find module 'dotenv'", true, Place::Line(12));
        let causes = c.finish();
        let exits = || finding(0, "api", &[], vec![ev(0, "api", 100, 0, 10, true)]);
        let older = || finding(2, "web", &[], vec![ev(2, "web", 50, 2, 1, false)]);
        let newer = || finding(2, "job", &[], vec![ev(2, "job", 500, 3, 1, false)]);
        let (_, a) = stories_of(vec![exits(), older(), newer()], &causes);
        let cause = a[0].cause.as_ref().expect("cause");
        assert_eq!(
            (cause.text.as_str(), cause.line, cause.incident.as_deref()),
            ("Error: Cannot find module 'dotenv'", 12, None)
        );
        let apps: Vec<&str> = a.iter().map(|s| s.apps[0].as_str()).collect();
        assert_eq!(apps, ["api", "job", "web"]);
        let (_, b) = stories_of(vec![newer(), older(), exits()], &causes);
        assert_eq!(a.iter().map(|s| &s.id).collect::<Vec<_>>(), b.iter().map(|s| &s.id).collect::<Vec<_>>());
    }

    /// A link that flaps all day has a record a few seconds before one of
    /// an app's four exits by chance: that is no cause, and the app's
    /// restarts stay their own story. Before at least half the exits it
    /// is, and the restarts join the outage.
    #[test]
    fn a_dependency_causes_restarts_only_before_most_exits() {
        let exits = || {
            let evs = [100, 200, 300, 400].iter().map(|&t| ev(0, "web", t, 0, t as u64, true)).collect();
            finding(0, "web", &[], evs)
        };
        let flaps = |times: &[i64]| {
            let evs = times.iter().map(|&t| ev(1, "web", t, 1, t as u64, false)).collect();
            finding(1, "web", &[], evs)
        };
        let other_app = || finding(1, "api", &[], vec![ev(1, "api", 50, 2, 1, false)]);
        let (_, chance) = stories_of(vec![exits(), flaps(&[40, 99, 150, 250]), other_app()], &Causes::default());
        assert_eq!(chance.len(), 2, "{chance:#?}");
        let restart = chance.iter().find(|s| s.kind == "restart").expect("restart story");
        assert_eq!((restart.apps.clone(), restart.cause.clone()), (vec!["web".to_string()], None));
        let (_, caused) = stories_of(vec![exits(), flaps(&[40, 99, 199, 250]), other_app()], &Causes::default());
        assert_eq!(caused.len(), 1, "{caused:#?}");
        assert_eq!(
            (caused[0].kind.as_str(), caused[0].apps.clone()),
            ("dependency:redis", vec!["api".into(), "web".into()])
        );
        assert_eq!(caused[0].cause.as_ref().map(|c| c.count), Some(2));
    }

    /// The dependency's own account of its outage (a `side = "server"`
    /// rule) is the story's cause, even when an app saw the outage first
    /// and whatever its severity; the headline stays the apps' view. An
    /// outage only the apps saw has no cause.
    #[test]
    fn the_servers_account_is_the_outages_cause() {
        let client = |app: &str, ts: i64, source: usize| finding(4, app, &[], vec![ev(4, app, ts, source, 1, false)]);
        let server = finding(6, "postgresql", &[], vec![ev(6, "postgresql", 12, 2, 6, false)]);
        let (incidents, stories) =
            stories_of(vec![client("api", 10, 0), server, client("worker", 14, 1)], &Causes::default());
        assert_eq!(stories.len(), 1, "{stories:#?}");
        let s = &stories[0];
        let cause = s.cause.as_ref().expect("cause");
        let down = incidents.iter().find(|i| i.rule == "t.pgdown").expect("server incident");
        assert_eq!(
            (cause.incident.as_ref(), cause.text.as_str(), cause.file.as_str(), cause.line, cause.seen()),
            (Some(&down.id), "postgresql shut down", "f2.log", 6, "in the dependency's own log")
        );
        assert_eq!(s.incidents[0], down.id, "the cause comes first");
        assert_eq!(s.headline, "api lost postgres; 2 times across 2 apps, the longest 0s");
        let (_, only_apps) = stories_of(vec![client("api", 10, 0), client("worker", 14, 1)], &Causes::default());
        assert_eq!(only_apps[0].cause, None);
    }

    /// A symptom joins the outage its own app saw while it lasted (give or
    /// take the clocks' skew), comes after the outage's incidents, and
    /// leads neither the headline nor the story's id, whatever its
    /// severity; one seen outside every outage is a story of its own.
    #[test]
    fn a_symptom_joins_the_outage_its_app_saw() {
        let pg = |app: &str, from: i64, to: i64, source: usize| {
            finding(4, app, &[], vec![ev(4, app, from, source, 1, false), ev(4, app, to, source, 2, false)])
        };
        let health = |app: &str, ts: i64| finding(7, app, &[], vec![ev(7, app, ts, 3, ts as u64, false)]);
        let skew = fold::SKEW_MS / 1000;
        let (_, alone) = stories_of(vec![pg("api", 100, 200, 0), pg("worker", 110, 150, 1)], &Causes::default());
        for at in [100 - skew, 150, 200 + skew] {
            let (incidents, stories) = stories_of(
                vec![pg("api", 100, 200, 0), pg("worker", 110, 150, 1), health("api", at)],
                &Causes::default(),
            );
            assert_eq!(stories.len(), 1, "at {at}: {stories:#?}");
            let s = &stories[0];
            assert_eq!((s.kind.as_str(), s.severity), ("dependency:postgres", Severity::Critical), "at {at}");
            assert_eq!(s.headline, "api lost postgres; 2 times across 2 apps, the longest 1m 40s", "at {at}");
            assert_eq!(s.id, alone[0].id, "at {at}: a symptom changes no story id");
            let last = incidents.iter().find(|i| s.incidents.last().is_some_and(|l| *l == i.id)).expect("member");
            assert_eq!(last.rule, "t.health", "at {at}: symptoms last");
        }
        for at in [100 - skew - 1, 200 + skew + 1] {
            let (_, stories) = stories_of(
                vec![pg("api", 100, 200, 0), pg("worker", 110, 150, 1), health("api", at)],
                &Causes::default(),
            );
            assert_eq!(stories.len(), 2, "at {at}: outside the outage");
            let own = stories.iter().find(|s| s.headline == "api health failing").expect("own story");
            assert_eq!(own.kind, "rule");
        }
    }

    /// A symptom of an app no outage names (a proxy's 5xx) joins an outage
    /// or restarts only if it began within SYMPTOM_LAG_MS of one of their
    /// incidents beginning and while it lasted; it is never the cause of
    /// an app's restarts, but joins them when its own app restarts.
    #[test]
    fn a_proxys_symptom_joins_only_what_began_just_before_it() {
        let pg = |from: i64, to: i64| {
            finding(4, "api", &[], vec![ev(4, "api", from, 0, 1, false), ev(4, "api", to, 0, 2, false)])
        };
        let proxy = |ts: i64| finding(7, "caddy", &[], vec![ev(7, "caddy", ts, 3, ts as u64, false)]);
        let lag = fold::SYMPTOM_LAG_MS / 1000;
        let (_, near) = stories_of(vec![pg(100, 1000), proxy(100 + lag)], &Causes::default());
        assert_eq!(near.len(), 1, "{near:#?}");
        assert_eq!(near[0].apps, ["api", "caddy"]);
        let (_, late) = stories_of(vec![pg(100, 1000), proxy(100 + lag + 1)], &Causes::default());
        assert_eq!(late.len(), 2, "three hours into an outage is another matter: {late:#?}");
        let (_, after) = stories_of(vec![pg(100, 110), proxy(110 + fold::SKEW_MS / 1000 + 1)], &Causes::default());
        assert_eq!(after.len(), 2, "after the outage ended: {after:#?}");
        // The api's own failing check before its exits: no cause of them,
        // but part of its restart story.
        let exits = finding(0, "api", &[], vec![ev(0, "api", 100, 1, 10, true), ev(0, "api", 200, 1, 20, true)]);
        let check = finding(7, "api", &[], vec![ev(7, "api", 99, 2, 5, false), ev(7, "api", 198, 2, 9, false)]);
        let (_, restarts) = stories_of(vec![exits, check], &Causes::default());
        assert_eq!(restarts.len(), 1, "{restarts:#?}");
        assert_eq!((restarts[0].kind.as_str(), restarts[0].cause.as_ref()), ("restart", None));
        assert_eq!(restarts[0].headline, "api loops");
    }

    /// An app's restarts join one outage, the one that caused them: its
    /// crash record that a PostgreSQL rule also matched does not pull the
    /// PostgreSQL outage (and the other app that saw it) in as well.
    #[test]
    fn restarts_join_one_outage_and_outages_do_not_chain() {
        let exits = finding(0, "api", &[], vec![ev(0, "api", 100, 0, 10, true), ev(0, "api", 200, 0, 20, true)]);
        let redis = finding(1, "api", &[], vec![ev(1, "api", 99, 1, 5, false), ev(1, "api", 199, 1, 9, false)]);
        // The crash at 500 is the api's own (restart family) record, which
        // the PostgreSQL rule matched too.
        let crash = finding(5, "api", &[], vec![ev(5, "api", 500, 1, 30, false)]);
        let pg_api = finding(4, "api", &[], vec![ev(4, "api", 500, 1, 30, false)]);
        let pg_worker = finding(4, "worker", &[], vec![ev(4, "worker", 520, 3, 2, false)]);
        let (_, stories) = stories_of(vec![exits, redis, crash, pg_api, pg_worker], &Causes::default());
        let kinds: Vec<(&str, Vec<String>, usize)> =
            stories.iter().map(|s| (s.kind.as_str(), s.apps.clone(), s.incidents.len())).collect();
        assert_eq!(kinds.len(), 2, "{kinds:?}");
        assert!(kinds.contains(&("dependency:redis", vec!["api".into()], 3)), "{kinds:?}");
        assert!(kinds.contains(&("dependency:postgres", vec!["api".into(), "worker".into()], 2)), "{kinds:?}");
    }
}
