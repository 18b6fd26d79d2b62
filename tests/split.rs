//! Issue 5: one large file uses every core. A live log is streamed, never
//! mapped by default, so it is split into parts that the workers read at
//! their own offsets; the report is the one a single thread gives.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{mask_elapsed, run_in, write_repeated};

/// A live `api-error.log` of `size` bytes (whole 1 MiB blocks): requests,
/// and every 300 lines Redis refusing a connection or a port in use, with
/// their stack traces, so some part boundaries fall inside a record.
fn write_busy_log(path: &Path, size: usize) {
    let mut f = std::io::BufWriter::new(File::create(path).expect("create"));
    write_repeated(&mut f, size, |i, at| {
        let mut lines = format!("{at}: GET /v1/quotes/AAPL?req={i} 200 12ms\n");
        if i % 600 == 0 {
            lines += &format!("{at}: Error: connect ECONNREFUSED 127.0.0.1:6379\n");
            lines += &"    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)\n".repeat(8);
        } else if i % 300 == 0 {
            let port = 3000 + i % 7;
            lines += &format!("{at}: Error: listen EADDRINUSE: address already in use :::{port}\n");
            lines += &"    at Server.setupListenHandle [as _listen2] (node:net:1817:16)\n".repeat(8);
        }
        lines
    });
    f.into_inner().expect("flush").sync_all().expect("sync");
}

/// Bytes each thread of process `pid` has read so far (`rchar` of
/// `/proc/PID/task/TID/io`: read and pread alike), by thread id.
#[cfg(target_os = "linux")]
fn read_by_thread(pid: u32, seen: &mut BTreeMap<String, u64>) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return };
    for task in tasks.flatten() {
        let io = std::fs::read_to_string(task.path().join("io")).unwrap_or_default();
        let rchar = io.lines().find_map(|l| l.strip_prefix("rchar:")).and_then(|n| n.trim().parse().ok());
        if let Some(n) = rchar {
            let tid = task.file_name().to_string_lossy().into_owned();
            let most = seen.entry(tid).or_default();
            *most = (*most).max(n);
        }
    }
}

/// A 64 MiB live log on two threads: both workers read a large share of
/// it (one worker reads it all when it is streamed whole), and the JSON
/// report is byte for byte the one-thread report.
#[cfg(target_os = "linux")]
#[test]
fn large_live_log_is_read_in_parts_by_every_worker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let size = 64 << 20;
    write_busy_log(&dir.path().join("api-error.log"), size);
    let out = dir.path().join("two-threads.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_logtriage"))
        .current_dir(dir.path())
        .args(["scan", "--format", "json", "--mmap", "never", "--threads", "2", "api-error.log"])
        .stdin(Stdio::null())
        .stdout(File::create(&out).expect("create"))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = BTreeMap::new();
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the scan did not finish");
        read_by_thread(child.id(), &mut seen);
        std::thread::sleep(Duration::from_millis(2));
    }
    let readers = seen.values().filter(|&&n| n >= size as u64 / 8).count();
    assert!(readers >= 2, "threads that read an eighth of the file or more: {readers}; bytes read by thread: {seen:?}");
    let one =
        run_in(dir.path(), &["scan", "--format", "json", "--mmap", "never", "--threads", "1", "api-error.log"], None);
    let two = std::fs::read_to_string(&out).expect("output");
    for rule in ["\"rule\": \"redis.unreachable\"", "\"rule\": \"node.eaddrinuse\""] {
        assert!(one.stdout.contains(rule), "no {rule}: {}", one.stderr);
    }
    assert_eq!(mask_elapsed(&two), mask_elapsed(&one.stdout));
}
