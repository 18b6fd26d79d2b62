//! A private headless Chromium for the HTML report's tests, driven over
//! the DevTools protocol (CDP): found on PATH (Debian's `chromium`),
//! started with its own profile in a temp dir and no network of its own
//! (the flags Debian's Chromium needs on a closed machine), killed when the
//! guard drops. One page, attached in flat mode; console messages,
//! exceptions and log entries (CSP violations among them) are collected as
//! they arrive.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// With this set to 1 (as `.ci/run` does), a missing Chromium fails the
/// test instead of skipping it.
const REQUIRE: &str = "LOGTRIAGE_REQUIRE_CHROMIUM";

const NAMES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// How long a start, a page load or one command may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Kills and reaps the child when dropped, even when a test panics.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A browser with one page.
pub struct Browser {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    /// Console errors and warnings, exceptions and log entries, as text.
    pub problems: Vec<String>,
    _process: Running,
    _profile: tempfile::TempDir,
}

/// The binary, if installed (`tests/not_run.rs` asks too).
pub fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).flat_map(|dir| NAMES.map(|n| dir.join(n))).find(|p| p.is_file())
}

/// Whether `test` may run: Chromium installed, or else a note on stderr
/// that it is skipped (and a failure where [`REQUIRE`] asks for one).
/// Each test names itself here: `tests/not_run.rs` finds the
/// `available_or_skip("...")` calls to list them when none is installed.
pub fn available_or_skip(test: &str) -> bool {
    if binary().is_some() {
        return true;
    }
    let why = "no Chromium on PATH (.ci/install-chromium installs Debian's)";
    if std::env::var(REQUIRE).is_ok_and(|v| v == "1") {
        panic!("{REQUIRE}=1 and {why}");
    }
    eprintln!("SKIPPED: {test}: {why} (the not_run target lists every such test)");
    false
}

impl Browser {
    /// Starts Chromium with a `width`×`height` window and attaches to a
    /// blank page.
    pub fn start(width: u32, height: u32) -> Browser {
        let bin = binary().expect("available() was checked");
        let profile = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("stderr");
        let process = Running(child);
        let url = devtools_url(stderr);
        let (ws, _) = tungstenite::connect(url.as_str()).expect("connect to DevTools");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        }
        let mut b = Browser {
            ws,
            session: String::new(),
            next_id: 0,
            problems: Vec::new(),
            _process: process,
            _profile: profile,
        };
        let target = b.call("Target.createTarget", json!({ "url": "about:blank" }));
        let target = target["targetId"].as_str().expect("targetId").to_string();
        let attached = b.call("Target.attachToTarget", json!({ "targetId": target, "flatten": true }));
        b.session = attached["sessionId"].as_str().expect("sessionId").to_string();
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
            b.call(domain, json!({}));
        }
        b
    }

    /// Opens `file` and waits until the report says it has drawn
    /// (`data-ready`), returning what it says.
    pub fn open(&mut self, file: &Path) -> String {
        let url = format!("file://{}", file.display());
        self.call("Page.navigate", json!({ "url": url }));
        let start = Instant::now();
        loop {
            let ready = self.eval("document.documentElement ? (document.documentElement.dataset.ready || '') : ''");
            if let Some(r) = ready.as_str().filter(|r| !r.is_empty()) {
                return r.to_string();
            }
            assert!(start.elapsed() < TIMEOUT, "{} never became ready; problems: {:?}", file.display(), self.problems);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The value of a JavaScript expression in the page.
    pub fn eval(&mut self, expression: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true }));
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expression}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// A real mouse click (pressed and released) at a page position.
    pub fn click(&mut self, x: f64, y: f64) {
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            );
        }
    }

    /// A drag with the left button from one page position to another.
    pub fn drag(&mut self, from: (f64, f64), to: (f64, f64)) {
        self.call("Input.dispatchMouseEvent", json!({ "type": "mouseMoved", "x": from.0, "y": from.1 }));
        self.call(
            "Input.dispatchMouseEvent",
            json!({ "type": "mousePressed", "x": from.0, "y": from.1, "button": "left", "clickCount": 1 }),
        );
        for k in 1..=5 {
            let f = f64::from(k) / 5.0;
            let (x, y) = (from.0 + (to.0 - from.0) * f, from.1 + (to.1 - from.1) * f);
            self.call("Input.dispatchMouseEvent", json!({ "type": "mouseMoved", "x": x, "y": y, "button": "left" }));
        }
        self.call(
            "Input.dispatchMouseEvent",
            json!({ "type": "mouseReleased", "x": to.0, "y": to.1, "button": "left", "clickCount": 1 }),
        );
    }

    /// A PNG of the whole page.
    pub fn screenshot(&mut self) -> Vec<u8> {
        use base64::Engine as _;
        let r = self.call("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true }));
        let data = r["data"].as_str().expect("screenshot data");
        base64::engine::general_purpose::STANDARD.decode(data).expect("base64")
    }

    /// Sends one command (to the page once attached) and waits for its
    /// answer, collecting the events that arrive meanwhile.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap_or_else(|e| panic!("{method}: {e}"));
        let start = Instant::now();
        loop {
            assert!(start.elapsed() < TIMEOUT, "{method}: no answer");
            let text = match self.ws.read().unwrap_or_else(|e| panic!("{method}: {e}")) {
                Message::Text(t) => t.to_string(),
                _ => continue,
            };
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method}: {e}: {text}"));
            if v["id"].as_u64() == Some(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method}: {e}");
                }
                return v["result"].clone();
            }
            self.collect(&v);
        }
    }

    fn collect(&mut self, v: &Value) {
        let p = &v["params"];
        match v["method"].as_str() {
            Some("Runtime.exceptionThrown") => self.problems.push(format!("exception: {}", p["exceptionDetails"])),
            Some("Runtime.consoleAPICalled") if matches!(p["type"].as_str(), Some("error" | "warning" | "assert")) => {
                self.problems.push(format!("console.{}: {}", p["type"], p["args"]));
            }
            Some("Log.entryAdded") if matches!(p["entry"]["level"].as_str(), Some("error" | "warning")) => {
                self.problems.push(format!("log: {}", p["entry"]["text"]));
            }
            _ => {}
        }
    }
}

/// Reads Chromium's stderr until it names its DevTools endpoint, then
/// keeps draining it in the background so the browser never blocks on a
/// full pipe.
fn devtools_url(stderr: std::process::ChildStderr) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && let Some(url) = line.strip_prefix("DevTools listening on ") {
                let _ = tx.send(url.trim().to_string());
                sent = true;
            }
        }
    });
    rx.recv_timeout(TIMEOUT).expect("Chromium never said where DevTools listens")
}

/// Whether a PNG shows a drawing: enough pixels differ from the page's
/// background, in enough distinct colours.
pub fn drawn(png_bytes: &[u8]) -> (usize, usize) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("png size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let background = &pixels[..channels];
    let mut colours = std::collections::BTreeSet::new();
    let mut differing = 0;
    for px in pixels.chunks_exact(channels) {
        if px != background {
            differing += 1;
        }
        if colours.len() < 10_000 {
            colours.insert(px.to_vec());
        }
    }
    (differing, colours.len())
}
