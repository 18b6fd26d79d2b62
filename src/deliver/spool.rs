//! The delivery spool: every alert `watch` still has to deliver, and every
//! alert still firing (resent on an interval), with the peers that have not
//! taken its latest version yet. Kept in memory and, with `--state`, in a
//! file beside the state file, written before the state records the
//! incident as emitted: a crash (even SIGKILL) between the two repeats an
//! incident, never loses one.
//!
//! Bounded by a number of alerts: when a new alert would exceed it, the
//! oldest resolved alert is dropped first (its peers were told it fired;
//! without its end they resolve it after `resolve_timeout`), then the
//! oldest firing one. Every drop is counted and said.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::report::Alert;

/// An alert to post with its id and version (see [`Entry::rev`]).
pub type Versioned = (String, u64, Alert);

/// The spool file's format version.
pub const SPOOL_VERSION: u32 = 1;

/// One alert and who still needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The incident id (the `incident_id` label).
    pub id: String,
    /// The rule id, to find the alerts an ended outage resolves.
    pub rule: String,
    /// The incident's group key, likewise.
    pub key: BTreeMap<String, String>,
    /// When the incident began (ms): its log time, or `i64::MIN` where the
    /// log has no dates (any end told of its rule and key resolves it).
    pub since: i64,
    /// The alert as posted; `ends_at` set once resolved.
    pub alert: Alert,
    /// Peers (URLs) that have not acknowledged this version of it.
    pub owed: BTreeSet<String>,
    /// Changes with every new version, so an acknowledgement of an older
    /// one does not clear a newer one.
    pub rev: u64,
}

impl Entry {
    /// Whether it has been resolved (sent with `endsAt`).
    pub fn resolved(&self) -> bool {
        self.alert.ends_at.is_some()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    version: u32,
    rev: u64,
    alerts: Vec<Entry>,
}

/// Why the spool cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The file exists but cannot be read or parsed.
    #[error("{}: cannot read the alert spool ({detail}); move it aside to start with an empty one", .path.display())]
    Read {
        /// The spool file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The file cannot be written.
    #[error("{}: cannot write the alert spool: {source}; check that its directory is writable and has space", .path.display())]
    Write {
        /// The spool file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The alerts to deliver.
#[derive(Debug)]
pub struct Spool {
    path: Option<PathBuf>,
    max: usize,
    rev: u64,
    entries: Vec<Entry>,
}

/// What adding an alert did to the spool.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Added {
    /// Entries dropped to stay within the bound.
    pub evicted: Vec<Entry>,
}

impl Spool {
    /// The spool kept in `path` (read back if it exists), holding at most
    /// `max` alerts; `None` keeps it in memory only.
    pub fn open(path: Option<PathBuf>, max: usize) -> Result<Spool, SpoolError> {
        let mut spool = Spool { path, max: max.max(1), rev: 0, entries: Vec::new() };
        if let Some(path) = &spool.path {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    let file: File = serde_json::from_str(&text)
                        .map_err(|e| SpoolError::Read { path: path.clone(), detail: e.to_string() })?;
                    if file.version != SPOOL_VERSION {
                        let detail = format!("version {}, this logtriage reads {SPOOL_VERSION}", file.version);
                        return Err(SpoolError::Read { path: path.clone(), detail });
                    }
                    spool.rev = file.rev;
                    spool.entries = file.alerts;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(SpoolError::Read { path: path.clone(), detail: e.to_string() }),
            }
        }
        Ok(spool)
    }

    /// The spool file for state file `state`: beside it, named after it.
    pub fn path_for(state: &Path) -> PathBuf {
        let mut name = state.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".alerts");
        state.with_file_name(name)
    }

    /// Alerts held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no alert is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The alerts, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Every alert is owed to every peer of `peers` again (a start: what a
    /// previous run posted may have been lost with an Alertmanager since).
    pub fn owe_all(&mut self, peers: &[String]) {
        for e in &mut self.entries {
            e.owed = peers.iter().cloned().collect();
        }
    }

    /// Adds (or replaces, by id) `entry`, owed to `peers`.
    pub fn put(&mut self, mut entry: Entry, peers: &[String]) -> Added {
        self.rev += 1;
        entry.rev = self.rev;
        entry.owed = peers.iter().cloned().collect();
        if let Some(e) = self.entries.iter_mut().find(|e| e.id == entry.id) {
            *e = entry;
            return Added::default();
        }
        let mut added = Added::default();
        while self.entries.len() >= self.max {
            let at = self.entries.iter().position(Entry::resolved).unwrap_or(0);
            added.evicted.push(self.entries.remove(at));
        }
        self.entries.push(entry);
        added
    }

    /// Resolves the firing alerts of `rule` with group key `key` that began
    /// at or before `last` (ms): they end at `ends_at`, owed to `peers`.
    /// Returns how many.
    pub fn resolve(
        &mut self,
        rule: &str,
        key: &BTreeMap<String, String>,
        last: i64,
        ends_at: &str,
        peers: &[String],
    ) -> usize {
        let mut n = 0;
        for e in &mut self.entries {
            if !e.resolved() && e.rule == rule && &e.key == key && e.since <= last {
                self.rev += 1;
                e.rev = self.rev;
                e.alert.ends_at = Some(ends_at.to_string());
                e.owed = peers.iter().cloned().collect();
                n += 1;
            }
        }
        n
    }

    /// `peer` took these versions (id, rev): it owes them no more; resolved
    /// alerts no peer is owed are done with. Returns whether anything
    /// changed.
    pub fn acknowledge(&mut self, peer: &str, taken: &[(String, u64)]) -> bool {
        let taken: BTreeMap<&str, u64> = taken.iter().map(|(id, rev)| (id.as_str(), *rev)).collect();
        let mut changed = false;
        for e in &mut self.entries {
            if taken.get(e.id.as_str()) == Some(&e.rev) {
                changed |= e.owed.remove(peer);
            }
        }
        let before = self.entries.len();
        self.entries.retain(|e| !(e.resolved() && e.owed.is_empty()));
        changed || self.entries.len() != before
    }

    /// Alerts owed to `peer`.
    pub fn owed_to(&self, peer: &str) -> usize {
        self.entries.iter().filter(|e| e.owed.contains(peer)).count()
    }

    /// What to post to `peer`: the alerts owed to it, and with `resend`
    /// every firing alert too. With the version of each.
    pub fn batch(&self, peer: &str, resend: bool) -> Vec<Versioned> {
        self.entries
            .iter()
            .filter(|e| e.owed.contains(peer) || (resend && !e.resolved()))
            .map(|e| (e.id.clone(), e.rev, e.alert.clone()))
            .collect()
    }

    /// Writes the file (if any) atomically: a synced temporary file renamed
    /// over it.
    pub fn save(&self) -> Result<(), SpoolError> {
        let Some(path) = &self.path else { return Ok(()) };
        let err = |source| SpoolError::Write { path: path.clone(), source };
        let file = FileRef { version: SPOOL_VERSION, rev: self.rev, alerts: &self.entries };
        let bytes = serde_json::to_vec(&file).map_err(|e| err(e.into()))?;
        let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".tmp");
        let tmp = path.with_file_name(name);
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }
}

#[derive(Serialize)]
struct FileRef<'a> {
    version: u32,
    rev: u64,
    alerts: &'a [Entry],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, since: i64) -> Entry {
        let labels = [("alertname".to_string(), "r".to_string()), ("incident_id".to_string(), id.to_string())];
        Entry {
            id: id.into(),
            rule: "r".into(),
            key: [("app".to_string(), "api".to_string())].into(),
            since,
            alert: Alert { labels: labels.into(), annotations: BTreeMap::new(), starts_at: None, ends_at: None },
            owed: BTreeSet::new(),
            rev: 0,
        }
    }

    const PEERS: [&str; 2] = ["http://a", "http://b"];

    fn peers() -> Vec<String> {
        PEERS.map(String::from).to_vec()
    }

    #[test]
    fn an_alert_is_owed_until_each_peer_takes_its_latest_version() {
        let mut s = Spool::open(None, 10).expect("spool");
        s.put(entry("1", 0), &peers());
        let first = s.batch("http://a", false);
        assert_eq!(first.len(), 1);
        // Resolved before peer a answered: a's acknowledgement of the old
        // version leaves the new one owed.
        assert_eq!(s.resolve("r", &entry("1", 0).key, 5, "2026-01-01T00:00:00Z", &peers()), 1);
        let taken: Vec<(String, u64)> = first.iter().map(|(id, rev, _)| (id.clone(), *rev)).collect();
        s.acknowledge("http://a", &taken);
        assert_eq!((s.owed_to("http://a"), s.owed_to("http://b")), (1, 1));
        for p in PEERS {
            let taken: Vec<(String, u64)> = s.batch(p, false).iter().map(|(id, rev, _)| (id.clone(), *rev)).collect();
            s.acknowledge(p, &taken);
        }
        assert!(s.is_empty(), "a resolved alert every peer took is done with");
    }

    #[test]
    fn resend_adds_every_firing_alert_and_resolve_only_earlier_ones() {
        let mut s = Spool::open(None, 10).expect("spool");
        s.put(entry("1", 0), &peers());
        s.put(entry("2", 100), &peers());
        s.acknowledge("http://a", &[("1".into(), 1), ("2".into(), 2)]);
        assert!(s.batch("http://a", false).is_empty());
        assert_eq!(s.batch("http://a", true).len(), 2);
        // An outage that ended at 50 resolves the alert begun at 0 only.
        assert_eq!(s.resolve("r", &entry("1", 0).key, 50, "t", &peers()), 1);
        assert_eq!(s.batch("http://a", true).iter().filter(|(_, _, a)| a.ends_at.is_none()).count(), 1);
    }

    /// An alert without a start time (a log without dates) is resolved by
    /// any end of its rule and key.
    #[test]
    fn an_undated_alert_is_resolved_by_the_next_end() {
        let mut s = Spool::open(None, 10).expect("spool");
        s.put(entry("1", i64::MIN), &peers());
        assert_eq!(s.resolve("other", &entry("1", 0).key, 0, "t", &peers()), 0);
        assert_eq!(s.resolve("r", &entry("1", 0).key, i64::MIN + 1, "t", &peers()), 1);
    }

    #[test]
    fn a_full_spool_drops_the_oldest_resolved_alert_first() {
        let mut s = Spool::open(None, 2).expect("spool");
        s.put(entry("1", 0), &peers());
        s.put(entry("2", 1), &peers());
        s.resolve("r", &entry("2", 1).key, 1, "t", &peers());
        // Both are resolved now (the same rule and key); make 1 firing again.
        s.put(entry("1", 0), &peers());
        let added = s.put(entry("3", 2), &peers());
        assert_eq!(added.evicted.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["2"]);
        let added = s.put(entry("4", 3), &peers());
        assert_eq!(added.evicted.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["1"]);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn the_file_survives_a_reopen() {
        let dir = tempfile::tempdir().expect("dir");
        let path = Spool::path_for(&dir.path().join("watch.state"));
        assert!(path.ends_with("watch.state.alerts"));
        let mut s = Spool::open(Some(path.clone()), 10).expect("spool");
        s.put(entry("1", 0), &peers());
        s.save().expect("save");
        let back = Spool::open(Some(path.clone()), 10).expect("reopen");
        assert_eq!(back.entries(), s.entries());
        std::fs::write(&path, "{").expect("write");
        let err = Spool::open(Some(path), 10).expect_err("garbage");
        assert!(err.to_string().contains("move it aside"), "{err}");
    }
}
