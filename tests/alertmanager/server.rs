//! A private Prometheus Alertmanager for the round-trip tests: found on
//! PATH (Debian calls it `prometheus-alertmanager`), started on a free
//! 127.0.0.1 port with its own config and storage in a temp dir and
//! clustering off, killed when the guard drops. Plus the few HTTP/1.0
//! requests the tests make (HTTP/1.0 so Go's server never answers in
//! chunks and closes the connection when done: read to the end is the
//! whole body).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// With this set to 1 (as `.ci/run` does), a missing Alertmanager fails
/// the test instead of skipping it.
const REQUIRE: &str = "LOGTRIAGE_REQUIRE_ALERTMANAGER";

/// Names the binary goes by, then Debian's path for when /usr/bin is not
/// on PATH.
const NAMES: [&str; 2] = ["alertmanager", "prometheus-alertmanager"];
const DEBIAN_PATH: &str = "/usr/bin/prometheus-alertmanager";

/// Routes every alert to a receiver that sends nothing: the tests read the
/// alerts back through the API, not from notifications.
pub const CONFIG: &str = "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n";

/// How long a start may take before the test gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running Alertmanager. Fields drop in order: the process is killed
/// before its storage directory is removed.
pub struct Server {
    process: Running,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

/// Kills and reaps the child when dropped, even when a test panics.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An HTTP response.
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// The binary, if installed (`tests/not_run.rs` asks too).
pub fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = std::env::split_paths(&path).flat_map(|dir| NAMES.map(|n| dir.join(n))).find(|p| p.is_file());
    on_path.or_else(|| Some(PathBuf::from(DEBIAN_PATH)).filter(|p| p.is_file()))
}

/// A started server, or `None` after saying on stderr that `test` is
/// skipped. Written to the real stderr: the test harness captures
/// `eprintln!` of passing tests, and a skip must be seen.
pub fn start_or_skip(test: &str) -> Option<Server> {
    binary_or_skip(test).map(|bin| Server::start(&bin))
}

/// The binary, or `None` after saying on stderr that `test` is skipped
/// (a failure where [`REQUIRE`] asks for one).
pub fn binary_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(bin) = binary() {
        return Some(bin);
    }
    let why = format!(
        "no Alertmanager binary ({} on PATH, or {DEBIAN_PATH}); .ci/install-alertmanager installs it",
        NAMES.join(" or ")
    );
    if std::env::var(REQUIRE).is_ok_and(|v| v == "1") {
        panic!("{REQUIRE}=1 and {why}");
    }
    let _ = writeln!(io::stderr(), "SKIPPED: {test}: {why} (the not_run target lists every such test)");
    None
}

impl Server {
    fn start(bin: &Path) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(&config, CONFIG).expect("write config");
        // The free port is found by binding and letting go of it; another
        // process can take it meanwhile, so a start that exits is retried.
        let mut logs = Vec::new();
        for attempt in 1..=3 {
            let addr = free_port();
            let log = dir.path().join(format!("alertmanager-{attempt}.log"));
            let process = spawn(bin, &config, &dir.path().join("data"), addr, &log);
            match wait_ready(process, addr) {
                Ok(process) => return Server { process, addr, _dir: dir },
                Err(status) => logs.push(format!(
                    "attempt {attempt} on {addr}: {status}\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )),
            }
        }
        panic!("{} did not start:\n{}", bin.display(), logs.join("\n"));
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, None).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// `POST path` with a JSON body.
    pub fn post_json(&self, path: &str, body: &str) -> Response {
        request(self.addr, "POST", path, Some(body)).unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// The process id, to check it is gone after the drop.
    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }
}

/// A loopback address with a port free a moment ago.
pub fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr")
}

fn spawn(bin: &Path, config: &Path, storage: &Path, addr: SocketAddr, log: &Path) -> Running {
    let out = File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", storage.display()))
        .arg(format!("--web.listen-address={addr}"))
        // Empty: no gossip listener, no peers.
        .arg("--cluster.listen-address=")
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    Running(child)
}

/// Polls `/-/ready` until it answers 200; an exit on the way is an error
/// (with the exit status) so the caller can retry.
fn wait_ready(mut process: Running, addr: SocketAddr) -> Result<Running, String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = process.0.try_wait().expect("try_wait") {
            return Err(format!("exited: {status}"));
        }
        if request(addr, "GET", "/-/ready", None).is_ok_and(|r| r.status == 200) {
            return Ok(process);
        }
        if Instant::now() > deadline {
            return Err(format!("not ready within {READY_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An HTTP/1.0 request (the server closes the connection, so the rest of
/// the stream is the body).
pub fn request(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    if let Some(body) = body {
        head += &format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    }
    head += "\r\n";
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.unwrap_or_default().as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| io::Error::other(format!("no header end: {text}")))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no status line: {head}")))?;
    Ok(Response { status, body: body.to_string() })
}
