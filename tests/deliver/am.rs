//! Prometheus Alertmanager processes for the delivery tests: started on
//! loopback ports with their own storage, optionally as peers of a
//! cluster, killed and started again on the same ports and storage. Found,
//! configured and talked to through tests/alertmanager/server.rs (one
//! binary lookup, one skip rule, one HTTP client); skipped where none is
//! installed unless LOGTRIAGE_REQUIRE_ALERTMANAGER=1 (as `.ci/run` sets).

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::alertmanager::server::{self, CONFIG};

/// What `GET /api/v2/alerts` gives back (the part the tests read).
#[derive(Debug, Clone, Deserialize)]
pub struct Stored {
    pub labels: BTreeMap<String, String>,
    pub fingerprint: String,
}

/// One Alertmanager; killed when dropped.
pub struct Am {
    bin: PathBuf,
    child: Option<Child>,
    pub addr: SocketAddr,
    /// Its gossip address, when it is a cluster peer.
    pub gossip: Option<SocketAddr>,
    peers: Vec<SocketAddr>,
    dir: tempfile::TempDir,
    starts: u32,
}

impl Drop for Am {
    fn drop(&mut self) {
        self.kill();
    }
}

pub use crate::alertmanager::server::{binary_or_skip, free_port};

impl Am {
    /// A running Alertmanager; `cluster`: gossip on a loopback port and
    /// join `peers` (their gossip addresses).
    pub fn start(bin: &std::path::Path, cluster: bool, peers: &[SocketAddr]) -> Am {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("alertmanager.yml"), CONFIG).expect("config");
        let mut am = Am {
            bin: bin.to_path_buf(),
            child: None,
            addr: free_port(),
            gossip: cluster.then(free_port),
            peers: peers.to_vec(),
            dir,
            starts: 0,
        };
        am.restart();
        am
    }

    /// `http://ADDR`, for `--alertmanager`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills it (SIGKILL) and waits for it to go.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it (again) on the same ports and storage; waits until ready.
    pub fn restart(&mut self) {
        self.kill();
        self.starts += 1;
        let log = self.dir.path().join(format!("am-{}.log", self.starts));
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let mut cmd = Command::new(&self.bin);
        cmd.arg(format!("--config.file={}", self.dir.path().join("alertmanager.yml").display()))
            .arg(format!("--storage.path={}", self.dir.path().join("data").display()))
            .arg(format!("--web.listen-address={}", self.addr))
            .arg("--log.level=warn");
        match self.gossip {
            Some(g) => {
                cmd.arg(format!("--cluster.listen-address={g}"))
                    .arg(format!("--cluster.advertise-address={g}"))
                    .arg("--cluster.settle-timeout=1s")
                    .arg("--cluster.pushpull-interval=1s")
                    .arg("--cluster.reconnect-interval=1s");
                for p in &self.peers {
                    cmd.arg(format!("--cluster.peer={p}"));
                }
            }
            None => {
                cmd.arg("--cluster.listen-address=");
            }
        }
        let child = cmd.stdin(Stdio::null()).stdout(out).stderr(err).spawn().expect("run alertmanager");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("alertmanager exited ({status}): {}", std::fs::read_to_string(&log).unwrap_or_default());
            }
            if request(self.addr, "GET", "/-/ready").is_ok_and(|(s, _)| s == 200) {
                return;
            }
            assert!(Instant::now() < deadline, "alertmanager not ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The alerts it holds that have not ended.
    pub fn alerts(&self) -> Vec<Stored> {
        let (status, body) = request(self.addr, "GET", "/api/v2/alerts").expect("GET /api/v2/alerts");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("alerts ({e}): {body}"))
    }

    /// `alertmanager_alerts_received_total` with `status` (firing,
    /// resolved), summed.
    pub fn received(&self, status: &str) -> u64 {
        let (_, metrics) = request(self.addr, "GET", "/metrics").expect("GET /metrics");
        crate::alertmanager::received(&metrics, status)
    }

    /// Waits until `done` holds of its alerts; returns them.
    pub fn alerts_until(&self, within: Duration, done: impl Fn(&[Stored]) -> bool) -> Vec<Stored> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.alerts();
            if done(&got) || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// An HTTP request: status and body.
pub fn request(addr: SocketAddr, method: &str, path: &str) -> io::Result<(u16, String)> {
    server::request(addr, method, path, None).map(|r| (r.status, r.body))
}
