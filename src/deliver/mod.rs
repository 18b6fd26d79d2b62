//! Alert delivery (`watch --alertmanager URL`): incidents become
//! Alertmanager alerts, posted to every peer, resent while they fire,
//! resolved when the log shows the outage over, kept in a spool while a
//! peer cannot take them. `watch` calls [`Delivery`]; nothing here knows
//! about files or correlation.
//!
//! ```text
//! watch ──submit/resolve──► spool (file beside --state) ──► one thread per peer ──POST──► Alertmanager
//!                                 ▲                                │
//!                                 └──── acknowledged versions ─────┘
//! ```
//!
//! Guarantees: at least once. An alert is in the spool (and its file)
//! before `watch` records its incident as emitted, and leaves it only when
//! every peer acknowledged its resolution; an alert posted again is the
//! same alert to Alertmanager (same labels, same fingerprint), so a repeat
//! never shows as a second alert. Firing alerts are posted again every
//! resend interval, as Prometheus does, so Alertmanager does not resolve
//! them on its `resolve_timeout`.

pub mod metrics;
mod peer;
pub mod spool;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::incidents::Incident;
use crate::report::{Alert, AlertBuilder};
pub use peer::Outcome;
use peer::Peer;
pub use spool::{Entry, Spool, SpoolError, Versioned};

/// Alerts per post: Prometheus posts at most 256; smaller batches keep
/// one refused alert from holding back many.
const BATCH: usize = 64;
/// The first retry after a failure; doubled up to the cap.
const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// How to deliver.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Alertmanager URLs: every peer of an HA cluster.
    pub peers: Vec<String>,
    /// How often a firing alert is posted again.
    pub resend: Duration,
    /// The spool file (`None`: memory only).
    pub spool: Option<PathBuf>,
    /// The most alerts the spool holds.
    pub spool_max: usize,
    /// Bounds each post.
    pub timeout: Duration,
}

/// Why delivery cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A URL that is not an http URL with a host.
    #[error("{0}")]
    Url(String),
    /// The spool cannot be read or written.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// A delivery thread cannot be started.
    #[error("cannot start a delivery thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Counts per peer, read by the metrics endpoint.
#[derive(Debug, Default)]
pub struct PeerStats {
    /// The URL as given.
    pub url: String,
    /// Alerts it acknowledged.
    pub sent: AtomicU64,
    /// Alerts in posts that failed (to be retried).
    pub failed: AtomicU64,
    /// Alerts it refused (4xx), dropped.
    pub refused: AtomicU64,
    /// Alerts owed to it now.
    pub owed: AtomicU64,
    /// 1 while its last post failed.
    pub down: AtomicU64,
}

/// Counts for the whole delivery.
#[derive(Debug, Default)]
pub struct Stats {
    /// Per peer, in the order given.
    pub peers: Vec<PeerStats>,
    /// Alerts in the spool now.
    pub spooled: AtomicU64,
    /// Alerts dropped because the spool was full.
    pub evicted: AtomicU64,
}

type Log = Arc<dyn Fn(&str) + Send + Sync>;

struct Shared {
    spool: Mutex<Spool>,
    wake: Condvar,
    stop: AtomicBool,
    stats: Arc<Stats>,
    resend: Duration,
    log: Log,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Spool> {
        // A thread that panicked while holding the lock left the spool as
        // it was between two whole operations: go on with it.
        self.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Updates the counts the metrics read from `spool`.
    fn count(&self, spool: &Spool) {
        self.stats.spooled.store(spool.len() as u64, Ordering::Relaxed);
        for p in &self.stats.peers {
            p.owed.store(spool.owed_to(&p.url) as u64, Ordering::Relaxed);
        }
    }
}

/// A running delivery: the spool and one thread per peer.
pub struct Delivery {
    shared: Arc<Shared>,
    peers: Vec<String>,
    builder: AlertBuilder,
    threads: Vec<JoinHandle<()>>,
}

impl Delivery {
    /// Opens the spool and starts posting (what the spool holds from a
    /// previous run first, to every peer). `builder` makes the alerts;
    /// `log` receives what the operator should read (stderr).
    pub fn start(
        opts: DeliveryOptions,
        builder: AlertBuilder,
        log: impl Fn(&str) + Send + Sync + 'static,
    ) -> Result<Delivery, DeliveryError> {
        let peers = opts
            .peers
            .iter()
            .map(|u| Peer::new(u, opts.timeout))
            .collect::<Result<Vec<_>, _>>()
            .map_err(DeliveryError::Url)?;
        let mut spool = Spool::open(opts.spool.clone(), opts.spool_max)?;
        spool.owe_all(&opts.peers);
        let stats = Stats {
            peers: opts.peers.iter().map(|u| PeerStats { url: u.clone(), ..PeerStats::default() }).collect(),
            ..Stats::default()
        };
        let shared = Arc::new(Shared {
            spool: Mutex::new(spool),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            stats: Arc::new(stats),
            resend: opts.resend,
            log: Arc::new(log),
        });
        {
            let spool = shared.lock();
            if !spool.is_empty() {
                (shared.log)(&format!("alert spool: {} alert(s) from the last run, posting them again", spool.len()));
            }
            spool.save()?;
            shared.count(&spool);
        }
        let mut threads = Vec::new();
        for (i, peer) in peers.into_iter().enumerate() {
            let shared = Arc::clone(&shared);
            let thread = std::thread::Builder::new()
                .name(format!("deliver-{i}"))
                .spawn(move || run_peer(&shared, &peer, i))
                .map_err(DeliveryError::Thread)?;
            threads.push(thread);
        }
        Ok(Delivery { shared, peers: opts.peers, builder, threads })
    }

    /// The counters (for `--metrics`).
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.shared.stats)
    }

    /// Spools the alerts of `incidents` (already saved when this returns)
    /// and wakes the peers.
    pub fn submit(&self, incidents: &[Incident]) -> Result<(), DeliveryError> {
        if incidents.is_empty() {
            return Ok(());
        }
        let mut spool = self.shared.lock();
        for i in incidents {
            let alert = self.builder.alert(i, &i.id);
            // Without a start time (a log without dates) the alert is
            // resolved by the next end told of its rule and key: live tells
            // a quiet group's end in the poll it falls due, before a later
            // incident of that key can be emitted. (The time of emission
            // would come after the matches' reads, which end it.)
            let since = alert.starts_at.as_deref().and_then(ms_of).unwrap_or(i64::MIN);
            let entry = Entry {
                id: i.id.clone(),
                rule: i.rule.clone(),
                key: i.key.to_btree(),
                since,
                alert,
                owed: Default::default(),
                rev: 0,
            };
            for gone in spool.put(entry, &self.peers).evicted {
                self.shared.stats.evicted.fetch_add(1, Ordering::Relaxed);
                let state = if gone.resolved() { "resolved" } else { "firing" };
                (self.shared.log)(&format!(
                    "alert spool full ({} alerts): dropped the oldest {state} alert {} ({}); raise --spool-max or \
                     check why the Alertmanager peers do not take alerts",
                    spool.len(),
                    gone.id,
                    gone.rule
                ));
            }
        }
        spool.save()?;
        self.shared.count(&spool);
        drop(spool);
        self.shared.wake.notify_all();
        Ok(())
    }

    /// The outage of `rule` with group key `key` is over, its last sign at
    /// `last` (ms): its firing alerts are sent once more, ending then.
    pub fn resolve(&self, rule: &str, key: &BTreeMap<String, String>, last: i64) -> Result<usize, DeliveryError> {
        let ends_at = rfc3339(last);
        let mut spool = self.shared.lock();
        let n = spool.resolve(rule, key, last, &ends_at, &self.peers);
        if n > 0 {
            spool.save()?;
            self.shared.count(&spool);
            drop(spool);
            self.shared.wake.notify_all();
        }
        Ok(n)
    }

    /// Stops the threads (a post under way finishes, bounded by the
    /// timeout) and saves the spool.
    pub fn stop(mut self) -> Result<(), DeliveryError> {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let spool = self.shared.lock();
        spool.save()?;
        Ok(())
    }
}

/// Where one peer's thread stands.
struct PeerState {
    /// When the last full resend (every firing alert) went through.
    resent: Option<Instant>,
    /// No post before this (backing off after a failure).
    retry_at: Option<Instant>,
    backoff: Duration,
    /// When the current outage began and what it was, if it is down.
    down_since: Option<(Instant, String)>,
}

/// A peer's thread: waits until something is owed to it (or a resend is
/// due), posts it in batches, records what it took.
fn run_peer(shared: &Shared, peer: &Peer, index: usize) {
    let cap = BACKOFF_CAP.min(shared.resend.max(BACKOFF_START));
    let mut st = PeerState { resent: None, retry_at: None, backoff: BACKOFF_START, down_since: None };
    loop {
        let Some((batch, full)) = next_batch(shared, peer, &st) else { return };
        let stats = &shared.stats.peers[index];
        match post_all(shared, peer, stats, &batch) {
            Ok(()) => {
                if full {
                    st.resent = Some(Instant::now());
                }
                st.retry_at = None;
                st.backoff = BACKOFF_START;
                stats.down.store(0, Ordering::Relaxed);
                if let Some((since, _)) = st.down_since.take() {
                    (shared.log)(&format!(
                        "alertmanager {}: delivering again after {:.1}s down",
                        peer.url,
                        since.elapsed().as_secs_f64()
                    ));
                }
            }
            Err(why) => {
                stats.down.store(1, Ordering::Relaxed);
                if st.down_since.is_none() {
                    let owed = shared.lock().owed_to(&peer.url);
                    (shared.log)(&format!(
                        "alertmanager {}: cannot deliver ({why}); {owed} alert(s) kept in the spool, retrying with \
                         backoff",
                        peer.url
                    ));
                    st.down_since = Some((Instant::now(), why));
                }
                st.retry_at = Some(Instant::now() + st.backoff);
                st.backoff = (st.backoff * 2).min(cap);
            }
        }
    }
}

/// What to post next to `peer`, waiting until there is something and it
/// may be posted; `None` once stopped. The flag says whether it is a full
/// resend.
fn next_batch(shared: &Shared, peer: &Peer, st: &PeerState) -> Option<(Vec<Versioned>, bool)> {
    let mut spool = shared.lock();
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return None;
        }
        let now = Instant::now();
        let resend_at = st.resent.map_or(now, |t| t + shared.resend);
        let waiting = st.retry_at.filter(|t| *t > now);
        if waiting.is_none() {
            let full = resend_at <= now;
            let batch = spool.batch(&peer.url, full);
            if !batch.is_empty() {
                return Some((batch, full));
            }
        }
        // Nothing to post: sleep until the backoff or the next resend is
        // due, or (a resend due with nothing firing) a whole interval; a
        // new alert wakes the thread sooner.
        let until = match waiting {
            Some(t) => t,
            None if resend_at > now => resend_at,
            None => now + shared.resend,
        };
        let wait = until.saturating_duration_since(now).max(Duration::from_millis(1));
        spool = shared.wake.wait_timeout(spool, wait).unwrap_or_else(std::sync::PoisonError::into_inner).0;
    }
}

/// Posts `batch` in pieces of [`BATCH`]; a refused piece is posted one
/// alert at a time, so only the alerts refused are dropped. Stops at the
/// first failure (the rest stays owed), returning why.
fn post_all(shared: &Shared, peer: &Peer, stats: &PeerStats, batch: &[Versioned]) -> Result<(), String> {
    for piece in batch.chunks(BATCH) {
        let alerts: Vec<&Alert> = piece.iter().map(|(_, _, a)| a).collect();
        match peer.post(&alerts) {
            Outcome::Delivered => {
                stats.sent.fetch_add(piece.len() as u64, Ordering::Relaxed);
                taken(shared, peer, piece);
            }
            Outcome::Retry(why) => {
                stats.failed.fetch_add(piece.len() as u64, Ordering::Relaxed);
                return Err(why);
            }
            Outcome::Refused(_, why) if piece.len() == 1 => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                (shared.log)(&format!(
                    "alertmanager {}: refused alert {} ({why}); dropped for this peer",
                    peer.url, piece[0].0
                ));
                taken(shared, peer, piece);
            }
            Outcome::Refused(..) => {
                for one in piece.chunks(1) {
                    post_all(shared, peer, stats, one)?;
                }
            }
        }
    }
    Ok(())
}

/// `peer` took (or refused for good) `piece`. Not saved here: a start
/// posts the whole spool to every peer again anyway, so what a peer took
/// only matters in memory; the file follows at the next submit, resolve
/// or stop. (Saving a large spool after every post of 64 alerts held
/// delivery to about 130 alerts/s.)
fn taken(shared: &Shared, peer: &Peer, piece: &[Versioned]) {
    let versions: Vec<(String, u64)> = piece.iter().map(|(id, rev, _)| (id.clone(), *rev)).collect();
    let mut spool = shared.lock();
    if spool.acknowledge(&peer.url, &versions) {
        shared.count(&spool);
    }
}

fn ms_of(t: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(t).ok().map(|t| t.timestamp_millis())
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
