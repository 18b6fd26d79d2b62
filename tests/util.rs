// The decoded types mirror the whole schema on purpose (unknown fields are
// errors); not every test reads every field.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

/// The crate root: tests run the binary from here so paths in output are
/// the relative `fixtures/...` paths a user would type.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[&str]) -> Run {
    run_in(&root(), args, None)
}

pub fn run_with_stdin(args: &[&str], input: &[u8]) -> Run {
    run_in(&root(), args, Some(input))
}

pub fn run_in(dir: &Path, args: &[&str], input: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logtriage"));
    cmd.current_dir(dir).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("spawn logtriage");
    if let Some(bytes) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(bytes).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The JSON document as the README documents it, decoded into types owned
/// by the tests: a renamed or removed field fails here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doc {
    pub schema_version: u32,
    pub tool: Tool,
    pub stories: Vec<Story>,
    pub incidents: Vec<Incident>,
    pub unknown: Vec<Unknown>,
    pub summary: Summary,
}

/// An unrecognised error (issue 16).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unknown {
    pub id: String,
    pub template: String,
    pub count: u64,
    pub apps: Vec<String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    pub file: String,
    pub line: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    pub id: String,
    pub rule: String,
    pub severity: String,
    pub title: String,
    pub app: Option<String>,
    pub key: BTreeMap<String, String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub time_of_day: Option<TimesOfDay>,
    pub count: usize,
    pub window: Option<String>,
    pub evidence: Vec<Evidence>,
    pub fields: BTreeMap<String, Vec<String>>,
    pub fix: String,
    pub references: Vec<String>,
    pub story: Option<String>,
}

/// A story (schema version 2), as the README documents it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Story {
    pub id: String,
    pub kind: String,
    pub headline: String,
    pub severity: String,
    pub apps: Vec<String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub time_of_day: Option<serde_json::Value>,
    pub incidents: Vec<String>,
    pub cause: Option<Cause>,
}

/// A story's probable cause.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cause {
    pub text: String,
    pub file: String,
    pub line: u64,
    pub count: usize,
    pub incident: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimesOfDay {
    pub first: String,
    pub last: String,
    pub midnights: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub file: String,
    pub line: u64,
    pub timestamp: Option<String>,
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub files: Vec<FileStats>,
    pub bytes: u64,
    pub records: u64,
    pub candidates: u64,
    pub matches: u64,
    pub incidents: BTreeMap<String, usize>,
    pub rules: usize,
    pub unfiltered_rules: Vec<String>,
    pub skipped: Vec<Skip>,
    pub passed_over: PassedOver,
    pub duplicates: Vec<Duplicate>,
    pub notes: Vec<String>,
    pub baseline: Option<BaselineStats>,
    pub ecosystems: Vec<EcosystemUse>,
    pub elapsed_ms: u64,
    /// NDJSON's summary line only: the unrecognised errors.
    pub unknown: Option<Vec<Unknown>>,
}

/// Files found in the directories given and not read (issue 15).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassedOver {
    pub count: u64,
    pub paths: Vec<String>,
}

/// A path to a file read under another path (issue 15).
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Duplicate {
    pub path: String,
    pub same_as: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcosystemUse {
    pub path: String,
    pub how: String,
    pub apps: Vec<EcosystemApp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcosystemApp {
    pub name: String,
    pub files: Vec<EcosystemFile>,
    pub log_date_format: Option<String>,
    pub log_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcosystemFile {
    pub path: String,
    pub stream: String,
    pub per_instance: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineStats {
    pub file: String,
    pub known: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStats {
    pub path: String,
    pub app: Option<String>,
    pub app_from: Option<String>,
    pub stream: String,
    pub bytes: u64,
    pub lines: u64,
    pub records: u64,
    pub candidates: u64,
    pub timestamps: bool,
    pub time_format: Option<String>,
    /// What wrote the file when not pm2 or a plain app log (issue 21).
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skip {
    pub path: String,
    pub reason: String,
    pub detail: String,
    pub bytes_read: Option<u64>,
}

/// `scan --format json` over `paths`; panics with stderr if the output is
/// not a document.
pub fn scan_json(paths: &[&str], extra: &[&str]) -> (Run, Doc) {
    let mut args = vec!["scan", "--format", "json"];
    args.extend_from_slice(extra);
    args.extend_from_slice(paths);
    let r = run(&args);
    let doc: Doc = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}); stderr: {}", r.stderr));
    (r, doc)
}

/// One line per incident: rule, severity, app, count, first..last, and the
/// evidence locations; what the shape tests compare exactly.
pub fn brief(i: &Incident) -> String {
    let ev: Vec<String> =
        i.evidence.iter().map(|e| format!("{}:{}", e.file.rsplit('/').next().unwrap_or(&e.file), e.line)).collect();
    format!(
        "{} {} app={} count={} {}..{} at {}",
        i.rule,
        i.severity,
        i.app.as_deref().unwrap_or("-"),
        i.count,
        i.first_seen.as_deref().unwrap_or("?"),
        i.last_seen.as_deref().unwrap_or("?"),
        ev.join(",")
    )
}

/// Replaces the one field that differs between identical runs.
pub fn mask_elapsed(s: &str) -> String {
    let re = regex::Regex::new(r#"("elapsed_ms":\s*)\d+|in \d+ ms"#).expect("regex");
    re.replace_all(s, "${1}ELAPSED").into_owned()
}

/// Writes at least `size` bytes to `w` by repeating one block of about
/// 1 MiB of log lines, `lines(i)` giving the lines for step `i` (a clock
/// `11:MM:SS` from `i`): a 200 MB log costs one block of memory.
pub fn write_repeated(w: &mut impl Write, size: usize, lines: impl Fn(usize, &str) -> String) {
    let mut block = String::new();
    for i in 0.. {
        let clock = format!("2026-11-20T11:{:02}:{:02}", i / 60 % 60, i % 60);
        block += &lines(i, &clock);
        if block.len() >= 1 << 20 {
            break;
        }
    }
    for _ in 0..size.div_ceil(block.len()) {
        w.write_all(block.as_bytes()).expect("write log");
    }
}

/// A running `logtriage watch` and its output lines, killed on drop if the
/// test did not stop it. The test modules add what they wait for.
pub struct Watch {
    pub child: std::process::Child,
    pub stdout: std::sync::mpsc::Receiver<String>,
    pub stderr: std::sync::mpsc::Receiver<String>,
}

impl Watch {
    /// Starts `watch ARGS` in `dir`, stdin closed.
    pub fn spawn(dir: &Path, args: &[&str]) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_logtriage"))
            .current_dir(dir)
            .arg("watch")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn logtriage watch");
        let stdout = lines(child.stdout.take().expect("stdout"));
        let stderr = lines(child.stderr.take().expect("stderr"));
        Watch { child, stdout, stderr }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines a child writes to `pipe`, as they come: a background thread
/// reads them, so a test can wait on them with a deadline.
pub fn lines(pipe: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
