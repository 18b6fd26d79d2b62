//! The state file (`watch --state PATH`): what a restarted watcher needs so
//! that it neither re-alerts nor misses lines. Owns the file's format
//! (JSON with a `version`) and writing it atomically; hands on a
//! [`State`]: per file, its identity and the checkpoint scanned to; the
//! ids already emitted; the matches still open in a window.
//!
//! Matches name their rule by id, not by index, so a state survives a rule
//! pack that changed in between (matches of a rule that is gone are
//! dropped).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::WatchError;
use super::live::Kept;
use super::tail::{FileId, Head};
use crate::input::Stream;
use crate::matcher::Event;
use crate::records::{Clock, DayTime};
use crate::rules::{Role, RuleSet};
use crate::scan::Checkpoint;

/// Version of the state file format; a file of another version is refused
/// (with what to do), never half-read.
pub const STATE_VERSION: u32 = 1;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// When it was written (RFC 3339, for people).
    pub saved_at: String,
    /// Files followed, with the checkpoint scanned to.
    pub files: Vec<FileState>,
    /// Incident ids emitted, with the wall-clock ms each was last seen.
    pub emitted: Vec<(String, i64)>,
    /// Paths of the sources `events` refer to by index.
    pub sources: Vec<String>,
    /// Matches kept for windows still open.
    pub events: Vec<SavedEvent>,
}

/// One followed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileState {
    /// The path it was followed at (for people; it is found again by
    /// identity, since rotation may have renamed it).
    pub path: String,
    /// Device of the file.
    pub dev: u64,
    /// Inode of the file.
    pub ino: u64,
    /// Bytes scanned (a record boundary).
    pub offset: u64,
    /// Lines before `offset`.
    pub line: u64,
    /// Time of the last stamp before `offset` (ms since the epoch).
    pub carried_ts: Option<i64>,
    /// In a file of times of day, the date they belong to at `offset`
    /// (left out otherwise, and in state files written before it).
    #[serde(default, skip_serializing_if = "Clock::is_unset")]
    pub clock: Clock,
    /// How many of the file's first bytes `head_hash` covers.
    pub head_len: u64,
    /// FNV-1a of the file's first bytes: a file truncated and written again
    /// since is not resumed at `offset`.
    pub head_hash: String,
}

/// A match, as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedEvent {
    /// Rule id.
    pub rule: String,
    /// `start`, `end`, or `context:N` (the rule's N-th `unless` /
    /// `context` entry; older versions drop such events).
    pub role: String,
    /// Index into [`State::sources`].
    pub source: usize,
    /// 1-based line.
    pub line: u64,
    /// Time (ms since the epoch).
    pub ts: Option<i64>,
    /// Time on its file's own clock (times of day with no date; see
    /// `records::DayTime`), left out otherwise and in state files written
    /// before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_time: Option<DayTime>,
    /// App.
    pub app: Option<String>,
    /// Stream name.
    pub stream: String,
    /// Named captures.
    pub fields: Vec<(String, String)>,
    /// Evidence text.
    pub text: String,
    /// Wall-clock ms when it was read.
    pub arrived: i64,
    /// Part of an incident already emitted.
    pub known: bool,
    /// Which of its rule's regexes matched (0-based; left out when 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shape: u8,
    /// A start event its rule's context had not decided yet (left out when
    /// false, and in state files written before it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub waiting: bool,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

impl FileState {
    /// The state of a file followed at `path`.
    pub fn new(path: &str, id: FileId, at: Checkpoint, head: Head) -> FileState {
        FileState {
            path: path.to_string(),
            dev: id.dev,
            ino: id.ino,
            offset: at.offset,
            line: at.line,
            carried_ts: at.carried_ts,
            clock: at.clock,
            head_len: head.len,
            head_hash: format!("{:016x}", head.hash),
        }
    }

    /// Identity, checkpoint and head, or `None` if the hash is garbled.
    pub fn resume(&self) -> Option<(FileId, Checkpoint, Head)> {
        let hash = u64::from_str_radix(&self.head_hash, 16).ok()?;
        let at = Checkpoint { offset: self.offset, line: self.line, carried_ts: self.carried_ts, clock: self.clock };
        Some((FileId { dev: self.dev, ino: self.ino }, at, Head { len: self.head_len, hash }))
    }
}

/// Reads the state at `path`; `Ok(None)` when there is none yet (a first
/// start).
pub fn load(path: &Path) -> Result<Option<State>, WatchError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(WatchError::StateRead { path: path.to_path_buf(), error }),
    };
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("version").and_then(serde_json::Value::as_u64));
    if let Some(found) = version.filter(|v| *v != u64::from(STATE_VERSION)) {
        return Err(WatchError::StateVersion { path: path.to_path_buf(), found });
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| WatchError::StateParse { path: path.to_path_buf(), detail: e.to_string() })
}

/// Writes `state` to `path` atomically: a temporary file beside it,
/// synced, then renamed over it, so a crash leaves the old state or the
/// new one, never half of one.
pub fn save(path: &Path, state: &State) -> Result<(), WatchError> {
    let err = |error| WatchError::StateWrite { path: path.to_path_buf(), error };
    let tmp = temp_path(path);
    let bytes = serde_json::to_vec(state).map_err(|e| err(e.into()))?;
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// Checks that [`save`] can write `path`: creates the temporary file it
/// writes first, beside `path`, and removes it again; the rename over
/// `path` needs nothing more (write access to the same directory).
pub fn check_writable(path: &Path) -> Result<(), WatchError> {
    let tmp = temp_path(path);
    let err = |error| WatchError::StateWrite { path: path.to_path_buf(), error };
    std::fs::File::create(&tmp).map_err(err)?;
    std::fs::remove_file(&tmp).map_err(err)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Kept matches as saved: sources renumbered densely into the returned
/// path list, rules named by id.
pub fn save_events(kept: &[Kept], rules: &RuleSet, paths: &[String]) -> (Vec<String>, Vec<SavedEvent>) {
    let mut sources: Vec<String> = Vec::new();
    let mut renumber: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for k in kept {
        let e = &k.event;
        let source = *renumber.entry(e.source).or_insert_with(|| {
            sources.push(paths.get(e.source).cloned().unwrap_or_default());
            sources.len() - 1
        });
        out.push(SavedEvent {
            rule: rules.rules()[e.rule as usize].id.clone(),
            role: match e.role {
                Role::Start => "start".to_string(),
                Role::End => "end".to_string(),
                Role::Context(n) => format!("context:{n}"),
            },
            source,
            line: e.line,
            ts: e.ts.get(),
            day_time: e.day_time,
            app: e.app.as_deref().map(str::to_string),
            stream: e.stream.as_str().to_string(),
            fields: e.fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            text: e.text.to_string(),
            arrived: k.arrived,
            known: k.known,
            shape: e.shape.regex(),
            waiting: k.waiting,
        });
    }
    (sources, out)
}

/// Saved matches back as kept ones; matches of rules no longer loaded (or
/// no longer with a closing event) are dropped. Sources keep their saved
/// indices.
pub fn restore_events(saved: Vec<SavedEvent>, rules: &RuleSet) -> Vec<Kept> {
    saved
        .into_iter()
        .filter_map(|s| {
            let idx = rules.rules().iter().position(|r| r.id == s.rule)?;
            let rule = &rules.rules()[idx];
            let role = match s.role.as_str() {
                "start" => Role::Start,
                "end" if rule.correlate.follow().is_some() => Role::End,
                other => {
                    // `context:N` while the rule still has entry N.
                    let n: u8 = other.strip_prefix("context:")?.parse().ok()?;
                    rule.context.get(usize::from(n))?;
                    Role::Context(n)
                }
            };
            let event = Event {
                rule: idx as u32,
                role,
                shape: s.shape.into(),
                source: s.source,
                line: s.line,
                ts: s.ts.into(),
                day_time: s.day_time,
                app: s.app.map(Into::into),
                stream: stream(&s.stream),
                fields: s.fields.into_iter().map(|(k, v)| (k.into(), v.into())).collect::<Vec<_>>().into(),
                text: s.text.into(),
            };
            Some(Kept { event, arrived: s.arrived, known: s.known, waiting: s.waiting })
        })
        .collect()
}

fn stream(name: &str) -> Stream {
    [Stream::Out, Stream::Err, Stream::Daemon, Stream::Combined]
        .into_iter()
        .find(|s| s.as_str() == name)
        .unwrap_or(Stream::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::compile_all;

    fn rules() -> RuleSet {
        let pack = r#"
[[rule]]
id = "t.lost"
title = "t"
severity = "high"
regex = 'lost'
correlate = { kind = "absence", until = 'back', window = "2m" }
fix = "f"
"#;
        compile_all(&[("t.toml".into(), pack.into())]).expect("rules")
    }

    fn kept(role: Role, source: usize) -> Kept {
        let event = Event {
            rule: 0,
            role,
            shape: 0.into(),
            source,
            line: 7,
            ts: Some(1_795_168_800_000).into(),
            day_time: None,
            app: Some("tws".into()),
            stream: Stream::Err,
            fields: vec![("code".into(), "1100".into())].into(),
            text: "lost \u{fffd}".into(),
        };
        Kept { event, arrived: 1_795_168_800_100, known: true, waiting: false }
    }

    #[test]
    fn a_state_path_that_cannot_be_written_is_found_before_any_save() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("no-such-dir/watch.json");
        let err = check_writable(&missing).expect_err("no directory");
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("{}: cannot write the state file", missing.display())), "{msg}");
        assert!(std::error::Error::source(&err).is_none(), "the I/O error is said once, in the message");
        let ok = dir.path().join("watch.json");
        check_writable(&ok).expect("writable");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0, "nothing left behind");
    }

    #[test]
    fn round_trips_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("watch.json");
        assert_eq!(load(&path).expect("no state yet"), None);
        let paths = vec!["a.log".to_string(), "logs/tws-error.log".to_string()];
        let (sources, events) = save_events(&[kept(Role::Start, 1), kept(Role::End, 1)], &rules(), &paths);
        assert_eq!(sources, vec!["logs/tws-error.log".to_string()]);
        let at = Checkpoint { offset: 120, line: 4, carried_ts: Some(5), ..Checkpoint::default() };
        let state = State {
            version: STATE_VERSION,
            saved_at: "2026-11-20T10:00:00Z".into(),
            files: vec![FileState::new("logs/tws-error.log", FileId { dev: 1, ino: 2 }, at, Head { len: 9, hash: 77 })],
            emitted: vec![("c9d4f46c6249f385".into(), 1)],
            sources,
            events,
        };
        save(&path, &state).expect("save");
        let back = load(&path).expect("load").expect("state");
        assert_eq!(back, state);
        assert_eq!(back.files[0].resume(), Some((FileId { dev: 1, ino: 2 }, at, Head { len: 9, hash: 77 })));
        let restored = restore_events(back.events, &rules());
        assert_eq!(restored, vec![kept(Role::Start, 0), kept(Role::End, 0)]);
        assert!(!dir.path().join("watch.json.tmp").exists());
    }

    /// A match of a file of times of day without a date keeps its time
    /// on the file's own clock through the file; one saved before such
    /// times existed has none.
    #[test]
    fn times_on_a_files_clock_are_kept() {
        let mut k = kept(Role::Start, 0);
        k.event.ts = crate::matcher::Ts::NONE;
        k.event.day_time = DayTime::from_ms(33_823_000);
        let (_, saved) = save_events(std::slice::from_ref(&k), &rules(), &["x.log".to_string()]);
        let text = serde_json::to_string(&saved).expect("json");
        assert!(text.contains(r#""ts":null,"day_time":33823000,"#), "{text}");
        let back: Vec<SavedEvent> = serde_json::from_str(&text).expect("back");
        assert_eq!(restore_events(back, &rules()), vec![k]);
        let old = text.replace(r#""day_time":33823000,"#, "");
        let back: Vec<SavedEvent> = serde_json::from_str(&old).expect("an older state");
        assert_eq!(back[0].day_time, None);
    }

    #[test]
    fn matches_of_rules_that_are_gone_are_dropped() {
        let paths = vec!["x.log".to_string()];
        let (_, mut events) = save_events(&[kept(Role::Start, 0)], &rules(), &paths);
        events[0].rule = "t.renamed".into();
        assert!(restore_events(events, &rules()).is_empty());
    }

    #[test]
    fn other_versions_and_garbage_are_refused_with_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("watch.json");
        std::fs::write(&path, r#"{"version": 2, "files": []}"#).expect("write");
        let err = load(&path).expect_err("version 2");
        assert!(matches!(err, WatchError::StateVersion { found: 2, .. }), "{err}");
        assert!(err.to_string().contains("watch.json"), "{err}");
        std::fs::write(&path, "{ not json").expect("write");
        let err = load(&path).expect_err("garbage");
        assert!(err.to_string().contains("move it aside"), "{err}");
    }
}
