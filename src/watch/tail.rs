//! One followed file, like `tail -F`: reads what it grew by and hands the
//! bytes to its [`Follow`]. Owns the open file, its identity (device and
//! inode), how far it was read, and a fingerprint of its first bytes.
//! Hands on events and, to the watcher, what happened to the file:
//!
//! - *Truncated* (copy-then-truncate, pm2-logrotate's way): the file is
//!   shorter than what was read, or its first bytes changed. Bytes written
//!   after the last read went into the copy, so [`Tail::recover_from_copy`]
//!   reads them from the rotated sibling whose first bytes match; then the
//!   file is read again from 0 as a new source.
//! - *Moved* (rename-then-create, logrotate's `create`): the path now names
//!   another file, or none. The old file stays open and is read to its end
//!   until it has been quiet for a while (the writer may not have reopened
//!   yet); the watcher opens the new file from 0.
//!
//! Files are polled, not watched with inotify: polling sees the same
//! thing on every filesystem (NFS, overlay, bind mounts, where inotify
//! misses writes made elsewhere), needs no extra crate, and 5 polls a second
//! cost a few `fstat`s per file.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::input::{SourceSpec, classify, holes};
use crate::matcher::{Event, Matcher};
use crate::records::Zone;
use crate::scan::{Checkpoint, Follow};

/// Bytes of a file's start fingerprinted.
const HEAD_MAX: u64 = 256;
/// Bytes of a file's start read to sniff its shape.
const SAMPLE: u64 = 64 << 10;
/// NUL bytes inside a line in this prefix mark a binary file (as `scan`
/// judges).
const BINARY_PROBE: usize = 8 << 10;
/// Bytes read per call; a poll reads at most `POLL_BUDGET` per file, so a
/// huge file cannot hold up the others.
const READ_MAX: usize = 8 << 20;
const POLL_BUDGET: u64 = 64 << 20;
/// A file rotated away is closed after this long without growing.
pub const RETIRE_QUIET: Duration = Duration::from_secs(5);

/// Which file a path names: device and inode (on Unix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
}

impl FileId {
    /// The identity of the file at `path`, whose metadata is `meta`.
    #[cfg(unix)]
    pub fn of(_: &Path, meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId { dev: meta.dev(), ino: meta.ino() }
    }

    /// Windows: the volume serial number and file index, the inode's
    /// equivalent (std's accessors for them are unstable, so asked of the
    /// file's handle). A file that cannot be opened gets the zero id, as
    /// below.
    #[cfg(windows)]
    pub fn of(path: &Path, _: &std::fs::Metadata) -> FileId {
        windows_file_id(path).unwrap_or(FileId { dev: 0, ino: 0 })
    }

    /// Without inodes every file looks the same: renames go unnoticed and
    /// only truncation is detected.
    #[cfg(not(any(unix, windows)))]
    pub fn of(_: &Path, _: &std::fs::Metadata) -> FileId {
        FileId { dev: 0, ino: 0 }
    }
}

/// `GetFileInformationByHandle` on the file at `path`. std opens files
/// sharing read, write and delete, so holding the handle a moment does not
/// stop the writer or a rotation.
#[cfg(windows)]
fn windows_file_id(path: &Path) -> Option<FileId> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Storage::FileSystem::{BY_HANDLE_FILE_INFORMATION, GetFileInformationByHandle};
    let file = File::open(path).ok()?;
    // SAFETY: a plain C struct of integers, for which all zeroes is valid.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is `file`'s and open for the call; `info` is a
    // live, writable BY_HANDLE_FILE_INFORMATION.
    let ok = unsafe { GetFileInformationByHandle(file.as_raw_handle(), &mut info) };
    (ok != 0).then(|| FileId {
        dev: u64::from(info.dwVolumeSerialNumber),
        ino: (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow),
    })
}

/// A fingerprint of a file's first bytes: tells a file that grew from one
/// truncated and written again (even past the old length) between polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    /// Bytes covered (up to 256).
    pub len: u64,
    /// Their FNV-1a hash.
    pub hash: u64,
}

impl Head {
    fn of(bytes: &[u8]) -> Head {
        let bytes = &bytes[..bytes.len().min(HEAD_MAX as usize)];
        // Stored in the state file, so the crate's pinned hash.
        let hash = crate::incidents::id::fnv1a(bytes);
        Head { len: bytes.len() as u64, hash }
    }
}

/// Where to start reading a file.
#[derive(Debug, Clone, Copy)]
pub enum Start {
    /// After its last complete line (history is not replayed).
    End,
    /// From its first byte.
    Beginning,
    /// From a saved checkpoint; the head it had then.
    At(Checkpoint, Head),
}

/// What a poll found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Still followed.
    Open,
    /// Shorter than what was read, or rewritten: see the module doc.
    Truncated,
    /// Rotated away and quiet: done.
    Closed,
}

/// One followed file.
pub struct Tail {
    path: PathBuf,
    id: FileId,
    file: File,
    read_to: u64,
    head: Head,
    follow: Follow,
    last_data: Instant,
    retired: bool,
    /// `read_to` is at a line start (a hole can start there).
    line_start: bool,
    /// NUL bytes passed over since [`Tail::take_nul_bytes`].
    nul_bytes: u64,
}

impl Tail {
    /// Opens `spec`'s file (at `path`) for following from `start`.
    pub fn open(spec: SourceSpec, path: &Path, m: Matcher, zone: Zone, start: Start, now: Instant) -> io::Result<Tail> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let sample = read_at(&mut file, 0, SAMPLE.min(meta.len()))?;
        // A hole at the start (copytruncate, a writer without O_APPEND) is
        // passed over: its text is what is probed and sniffed.
        let text = match sample.first() {
            Some(0) => holes::run_end(&file, 0, meta.len()),
            _ => 0,
        };
        let text_sample = if text == 0 { sample.clone() } else { read_at(&mut file, text, SAMPLE)? };
        if let Err(at) = holes::nul_runs(&text_sample[..text_sample.len().min(BINARY_PROBE)], true) {
            let at = text + at as u64;
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("binary data (NUL byte at offset {at})")));
        }
        let (at, head, before) = match start {
            Start::Beginning => (Checkpoint::default(), Head::of(&sample), Vec::new()),
            Start::At(at, head) => (at, head, Vec::new()),
            Start::End => {
                let (offset, line) = last_line_end(&mut file)?;
                let from = offset.saturating_sub(SAMPLE);
                let before = read_at(&mut file, from, offset - from)?;
                (Checkpoint { offset, line, ..Checkpoint::default() }, Head::of(&sample), before)
            }
        };
        let head_sample = if at.offset > 0 { text_sample } else { Vec::new() };
        let mut follow = Follow::new(m, spec, zone, at, head_sample);
        follow.carry_time_from(&before);
        Ok(Tail {
            path: path.to_path_buf(),
            id: FileId::of(path, &meta),
            file,
            read_to: at.offset,
            head,
            follow,
            last_data: now,
            retired: false,
            line_start: true,
            nul_bytes: 0,
        })
    }

    /// NUL bytes passed over (holes) since the last call.
    pub fn take_nul_bytes(&mut self) -> u64 {
        std::mem::take(&mut self.nul_bytes)
    }

    /// The path it was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's identity.
    pub fn id(&self) -> FileId {
        self.id
    }

    /// Returns true if and only if the file was rotated away.
    pub fn retired(&self) -> bool {
        self.retired
    }

    /// What a restart resumes from.
    pub fn checkpoint(&self) -> (Checkpoint, Head) {
        (self.follow.checkpoint(), self.head)
    }

    /// The source id its events carry.
    pub fn source(&self) -> usize {
        self.follow.source()
    }

    /// Reads what the file grew by; after `settle` without growth, scans the
    /// record held back.
    pub fn poll(&mut self, now: Instant, settle: Duration, out: &mut Vec<Event>) -> io::Result<Status> {
        let len = self.file.metadata()?.len();
        if len < self.read_to || !self.head_holds(len)? {
            return Ok(Status::Truncated);
        }
        if len > self.read_to {
            self.read_on(out)?;
            self.last_data = now;
            self.grow_head()?;
        } else if now.duration_since(self.last_data) >= settle && self.follow.holding() {
            out.extend(self.follow.flush());
        }
        if self.retired && now.duration_since(self.last_data) >= RETIRE_QUIET {
            out.extend(self.follow.finish());
            return Ok(Status::Closed);
        }
        Ok(Status::Open)
    }

    /// Returns true if and only if the path no longer names this file.
    pub fn moved(&self) -> bool {
        std::fs::metadata(&self.path).map_or(true, |m| FileId::of(&self.path, &m) != self.id)
    }

    /// The file was rotated away: read it to its end, then close it.
    pub fn retire(&mut self) {
        self.retired = true;
    }

    /// Scans everything held, a partial last line included.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        out.extend(self.follow.finish());
    }

    /// After a truncation: reads the bytes past what was read from the
    /// rotated copy (a sibling named as rotated, of the same app and
    /// stream, whose first bytes are this file's), newest first. Returns
    /// the copy and the bytes recovered, `None` when no copy matched.
    pub fn recover_from_copy(&mut self, out: &mut Vec<Event>) -> Option<(PathBuf, u64)> {
        if self.head.len == 0 {
            return None;
        }
        for copy in rotated_siblings(&self.path) {
            let Ok(mut reader) = open_copy(&copy) else { continue };
            let mut head = vec![0; self.head.len as usize];
            if reader.read_exact(&mut head).is_err() || Head::of(&head) != self.head {
                continue;
            }
            // The head may reach past what was read (a file opened at its
            // end inside its first 256 bytes).
            let unread = head.get(self.read_to as usize..).unwrap_or_default();
            let mut got = unread.len() as u64;
            out.extend(self.follow.feed(unread));
            let skip = self.read_to.saturating_sub(self.head.len);
            if io::copy(&mut (&mut reader).take(skip), &mut io::sink()).ok() != Some(skip) {
                continue;
            }
            let mut buf = vec![0; READ_MAX];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                out.extend(self.follow.feed(&buf[..n]));
                got += n as u64;
            }
            return Some((copy, got));
        }
        None
    }

    /// Starts the file over from its first byte, as source `source` (the
    /// new content's lines are numbered from 1).
    pub fn reset(&mut self, source: usize) {
        self.follow.restart(source);
        self.read_to = 0;
        self.line_start = true;
        self.head = Head::default();
    }

    fn head_holds(&mut self, len: u64) -> io::Result<bool> {
        if self.head.len == 0 {
            return Ok(true);
        }
        if len < self.head.len {
            return Ok(false);
        }
        Ok(Head::of(&read_at(&mut self.file, 0, self.head.len)?) == self.head)
    }

    fn grow_head(&mut self) -> io::Result<()> {
        if self.head.len < HEAD_MAX {
            self.head = Head::of(&read_at(&mut self.file, 0, HEAD_MAX.min(self.read_to))?);
        }
        Ok(())
    }

    /// Reads what the file grew by, passing over holes (runs of NULs that
    /// start a line: see `input::holes`), up to the poll's budget.
    fn read_on(&mut self, out: &mut Vec<Event>) -> io::Result<()> {
        let len = self.file.metadata()?.len();
        let mut buf = vec![0; READ_MAX];
        let mut budget = POLL_BUDGET;
        while budget > 0 {
            self.file.seek(SeekFrom::Start(self.read_to))?;
            let n = self.file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            budget = budget.saturating_sub(n as u64);
            let Some(i) = self.hole_in(&buf[..n]) else {
                self.read_to += n as u64;
                self.line_start = buf[n - 1] == b'\n';
                out.extend(self.follow.feed(&buf[..n]));
                continue;
            };
            out.extend(self.follow.feed(&buf[..i]));
            let start = self.read_to + i as u64;
            let end = holes::run_end(&self.file, start, len.max(start + 1));
            out.extend(self.follow.pass_over(end - start));
            self.nul_bytes += end - start;
            self.read_to = end;
            self.line_start = true;
        }
        Ok(())
    }

    /// Where in `bytes` (read at `read_to`) the first hole starts: a NUL
    /// at a line start. NULs inside a line are the line's.
    fn hole_in(&self, bytes: &[u8]) -> Option<usize> {
        let mut from = 0;
        while let Some(j) = memchr::memchr(0, &bytes[from..]) {
            let i = from + j;
            if (i == 0 && self.line_start) || (i > 0 && bytes[i - 1] == b'\n') {
                return Some(i);
            }
            from = i + 1;
        }
        None
    }
}

/// `len` bytes from `offset` (fewer at the end of the file).
fn read_at(file: &mut File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    file.take(len).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The offset after the file's last line break and the lines before it.
fn last_line_end(file: &mut File) -> io::Result<(u64, u64)> {
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0; READ_MAX];
    let (mut pos, mut end, mut lines) = (0u64, 0u64, 0u64);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok((end, lines));
        }
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
            end = pos + i as u64 + 1;
        }
        pos += n as u64;
    }
}

/// Rotated files beside `path` named for the same app, stream and
/// instance, newest first.
fn rotated_siblings(path: &Path) -> Vec<PathBuf> {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let me = classify(&path.display().to_string(), &name(path));
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let m = classify(&p.display().to_string(), &name(p));
            m.rotated && (m.app.as_ref(), m.stream, m.instance) == (me.app.as_ref(), me.stream, me.instance)
        })
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    found.sort_by(|a, b| b.cmp(a));
    found.into_iter().map(|(_, p)| p).collect()
}

fn open_copy(path: &Path) -> io::Result<Box<dyn Read>> {
    let file = File::open(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        return Ok(Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(file))));
    }
    Ok(Box::new(file))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use super::*;
    use crate::input::Origin;
    use crate::rules::compile_all;

    /// One rule, one incident per `seq=N` line: a lost or repeated line
    /// shows as a missing or repeated number.
    fn matcher() -> Matcher {
        let pack = r#"
[[rule]]
id = "t.seq"
title = "line {n}"
severity = "low"
regex = 'request seq=(?P<n>\d+) failed'
group_by = ["n"]
fix = "f"
"#;
        Matcher::new(Arc::new(compile_all(&[("t.toml".into(), pack.into())]).expect("rules")))
    }

    fn spec(path: &Path, id: usize) -> SourceSpec {
        let shown = path.display().to_string();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        SourceSpec { id, meta: classify(&shown, &name), origin: Origin::File(path.to_path_buf()) }
    }

    fn append(path: &Path, from: u32, to: u32) {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open");
        for n in from..to {
            writeln!(f, "2026-11-20T10:00:{:02}: request seq={n} failed: ECONNRESET", n % 60).expect("write");
        }
    }

    fn numbers(events: &[Event]) -> Vec<u32> {
        events.iter().filter_map(|e| e.fields.first()?.1.parse().ok()).collect()
    }

    /// `api-out.log` in a temp dir with lines `0..lines`, tailed from
    /// `start` and drained.
    fn tailing(lines: u32, start: Start) -> (tempfile::TempDir, PathBuf, Tail, Vec<Event>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("api-out.log");
        append(&p, 0, lines);
        let mut t = Tail::open(spec(&p, 0), &p, matcher(), Zone::Utc, start, Instant::now()).expect("open");
        let mut out = Vec::new();
        drain(&mut t, &mut out);
        (dir, p, t, out)
    }

    /// Polls until nothing more comes, past the settle time.
    fn drain(t: &mut Tail, out: &mut Vec<Event>) -> Status {
        let later = Instant::now() + Duration::from_secs(1);
        let status = t.poll(Instant::now(), Duration::from_millis(500), out).expect("poll");
        if status != Status::Open {
            return status;
        }
        t.poll(later, Duration::from_millis(500), out).expect("poll")
    }

    #[test]
    fn starts_at_the_end_and_reads_what_is_appended() {
        let (_dir, p, mut t, mut out) = tailing(5, Start::End);
        assert!(out.is_empty(), "history is not replayed");
        append(&p, 5, 8);
        drain(&mut t, &mut out);
        assert_eq!(numbers(&out), vec![5, 6, 7]);
        assert_eq!(out[0].line, 6, "lines are numbered from the file's start");
        assert_eq!(out[0].ts.get(), Some(1_795_168_805_000));
    }

    #[test]
    fn copy_then_truncate_loses_nothing() {
        let (dir, p, mut t, mut out) = tailing(3, Start::Beginning);
        // Written after the last read, then rotated: only the copy has them.
        append(&p, 3, 6);
        std::fs::copy(&p, dir.path().join("api-out__2026-11-20_10-00-06.log")).expect("copy");
        std::fs::OpenOptions::new().write(true).open(&p).and_then(|f| f.set_len(0)).expect("truncate");
        append(&p, 6, 8);
        assert_eq!(t.poll(Instant::now(), Duration::ZERO, &mut out).expect("poll"), Status::Truncated);
        let (copy, bytes) = t.recover_from_copy(&mut out).expect("the copy");
        assert!(copy.ends_with("api-out__2026-11-20_10-00-06.log"), "{copy:?}");
        assert!(bytes > 0);
        t.finish(&mut out);
        t.reset(1);
        drain(&mut t, &mut out);
        assert_eq!(numbers(&out), (0..8).collect::<Vec<_>>());
        let last = out.last().expect("events");
        assert_eq!((last.source, last.line), (1, 2), "the new content is a new source, numbered from 1");
    }

    /// Rotated while the watcher was down: the checkpoint no longer fits
    /// the file, and the lines after it are read from the copy.
    #[test]
    fn a_checkpoint_on_a_file_rotated_meanwhile_reads_on_from_the_copy() {
        let (dir, p, t, _) = tailing(3, Start::Beginning);
        let (at, head) = t.checkpoint();
        drop(t);
        append(&p, 3, 5);
        std::fs::copy(&p, dir.path().join("api-out.log.1")).expect("copy");
        std::fs::write(&p, "").expect("truncate");
        append(&p, 5, 6);
        let mut t =
            Tail::open(spec(&p, 1), &p, matcher(), Zone::Utc, Start::At(at, head), Instant::now()).expect("open");
        let mut out = Vec::new();
        assert_eq!(t.poll(Instant::now(), Duration::ZERO, &mut out).expect("poll"), Status::Truncated);
        assert!(t.recover_from_copy(&mut out).is_some());
        t.finish(&mut out);
        t.reset(2);
        drain(&mut t, &mut out);
        assert_eq!(numbers(&out), vec![3, 4, 5]);
        assert_eq!(out[0].line, 4, "the copy goes on from the checkpoint's line");
    }

    /// Truncated and written past the old length between two polls: the
    /// first bytes tell.
    #[test]
    fn a_rewrite_longer_than_the_old_file_is_a_truncation() {
        let (_dir, p, mut t, mut out) = tailing(2, Start::Beginning);
        std::fs::write(&p, "").expect("truncate");
        append(&p, 10, 20);
        assert_eq!(t.poll(Instant::now(), Duration::ZERO, &mut out).expect("poll"), Status::Truncated);
    }

    #[test]
    fn a_renamed_file_is_read_to_its_end_then_closed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("api-out.log");
        append(&p, 0, 2);
        let t0 = Instant::now();
        let mut t = Tail::open(spec(&p, 0), &p, matcher(), Zone::Utc, Start::Beginning, t0).expect("open");
        let mut out = Vec::new();
        t.poll(t0, Duration::from_secs(1), &mut out).expect("poll");
        std::fs::rename(&p, dir.path().join("api-out.log.1")).expect("rename");
        // The writer has not reopened yet: it still writes to the old file.
        append(&dir.path().join("api-out.log.1"), 2, 4);
        std::fs::write(&p, "").expect("create");
        assert!(t.moved());
        t.retire();
        assert_eq!(t.poll(t0, Duration::from_secs(1), &mut out).expect("poll"), Status::Open);
        assert_eq!(t.poll(t0 + RETIRE_QUIET, Duration::from_secs(1), &mut out).expect("poll"), Status::Closed);
        assert_eq!(numbers(&out), vec![0, 1, 2, 3]);
    }

    #[test]
    fn binary_files_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("core-out.log");
        std::fs::write(&p, b"\x7fELF\x02\x01\x01\0\0\0").expect("write");
        let err = Tail::open(spec(&p, 0), &p, matcher(), Zone::Utc, Start::End, Instant::now()).err().expect("binary");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
