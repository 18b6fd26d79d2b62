//! Runs of NUL bytes that hold no line: *holes*. After `copytruncate`
//! rotation, a writer that did not open its log with `O_APPEND` (a shell
//! `>` redirect, a logger that tracks its own offset) goes on writing at
//! its old offset, so the file starts with a run of NULs as long as what
//! was written before (a sparse hole on most file systems), followed by
//! real lines; two such writers leave a hole between lines. A hole is
//! passed over with its bytes counted, and the lines around it are read.
//! NULs inside a line (a core dump, a database file, UTF-16 text) still
//! make a file binary: a hole starts at the file's start or after a line
//! break, scattered NULs do not.
//!
//! No byte is looked at on the scan's path for this: the first bytes are
//! probed as before, a run found there is followed to its end, and further
//! holes are found by asking the file system where its data is
//! (`SEEK_HOLE`/`SEEK_DATA`, Linux), which costs a system call per file.

use std::fs::File;
use std::ops::Range;

/// NUL runs in `bytes`, each a hole: it starts at `bytes`' start (when
/// `line_start`: the byte before it ended a line, or there is none) or
/// right after a line break. `Err` holds the offset of a NUL inside a
/// line: the bytes are binary.
pub fn nul_runs(bytes: &[u8], line_start: bool) -> Result<Vec<Range<usize>>, usize> {
    let mut runs = Vec::new();
    let mut from = 0;
    while let Some(i) = memchr::memchr(0, &bytes[from..]) {
        let start = from + i;
        let at_line_start = match start {
            0 => line_start,
            _ => bytes[start - 1] == b'\n',
        };
        if !at_line_start {
            return Err(start);
        }
        let end = bytes[start..].iter().position(|&b| b != 0).map_or(bytes.len(), |n| start + n);
        runs.push(start..end);
        from = end;
    }
    Ok(runs)
}

/// Bytes read at once when following a run of NULs in a file.
const STEP: usize = 64 << 10;

/// Where the run of NULs that starts at `pos` in `file` ends (at most
/// `len`): the data after a sparse hole is found by the file system, the
/// NULs written out before it are read.
pub fn run_end(file: &File, pos: u64, len: u64) -> u64 {
    let mut at = next_data(file, pos, len);
    let mut buf = vec![0; STEP];
    while at < len {
        let want = usize::try_from(len - at).map_or(STEP, |left| left.min(STEP));
        let Ok(n @ 1..) = read_at(file, &mut buf[..want], at) else { return at };
        match buf[..n].iter().position(|&b| b != 0) {
            Some(i) => return at + i as u64,
            None => at += n as u64,
        }
    }
    len
}

/// The sparse holes of `file` from `from` to `len`, each widened to the
/// NULs written out around it (the file system keeps whole blocks): the
/// runs to pass over. Empty where the file system cannot say (it then
/// reports no hole) and off Linux.
pub fn sparse_runs(file: &File, from: u64, len: u64) -> Vec<Range<u64>> {
    let mut runs: Vec<Range<u64>> = Vec::new();
    let mut pos = from;
    while pos < len {
        let hole = next_hole(file, pos, len);
        if hole >= len {
            break;
        }
        let start = zeros_before(file, hole, pos);
        let end = run_end(file, hole, len);
        match runs.last_mut() {
            Some(last) if last.end >= start => last.end = end,
            _ => runs.push(start..end),
        }
        pos = end;
    }
    runs
}

/// How far back from `hole` (not before `floor`) the bytes are NULs: the
/// start of the run that the hole ends.
fn zeros_before(file: &File, hole: u64, floor: u64) -> u64 {
    let from = hole.saturating_sub(STEP as u64).max(floor);
    let mut buf = vec![0; (hole - from) as usize];
    match read_at(file, &mut buf, from) {
        Ok(n) if n == buf.len() => buf.iter().rposition(|&b| b != 0).map_or(from, |i| from + i as u64 + 1),
        _ => hole,
    }
}

/// Reads at `offset` without moving the file's cursor (on Windows it
/// moves: callers seek before reading in order).
#[cfg(unix)]
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    file.read_at(buf, offset)
}

/// See the Unix `read_at`.
#[cfg(windows)]
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::windows::fs::FileExt;
    // Moves the file's cursor: callers read at offsets only, or seek first.
    file.seek_read(buf, offset)
}

/// No positional reads: holes are not looked for.
#[cfg(not(any(unix, windows)))]
pub fn read_at(_: &File, _: &mut [u8], _: u64) -> std::io::Result<usize> {
    Ok(0)
}

/// `lseek(SEEK_HOLE)`/`lseek(SEEK_DATA)` from `pos`; `None` when the call
/// fails (no data after `pos`: `ENXIO`; a file system without the call).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn seek(file: &File, pos: u64, whence: libc::c_int) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let pos = libc::off_t::try_from(pos).ok()?;
    // SAFETY: lseek on a descriptor `file` owns and keeps open for the
    // call; it reads no memory of ours. It moves the descriptor's offset:
    // every read here is positional, and `open_source` seeks back before
    // it streams the file.
    let at = unsafe { libc::lseek(file.as_raw_fd(), pos, whence) };
    u64::try_from(at).ok()
}

/// The start of the first hole at or after `pos` (`len`: none).
fn next_hole(file: &File, pos: u64, len: u64) -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        seek(file, pos, libc::SEEK_HOLE).map_or(len, |h| h.min(len))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (file, pos);
        len
    }
}

/// The first byte of data at or after `pos` (`len`: none; `pos` where
/// the file system cannot say).
fn next_data(file: &File, pos: u64, len: u64) -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        seek(file, pos, libc::SEEK_DATA).map_or(len, |d| d.clamp(pos, len))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (file, len);
        pos
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Seek, SeekFrom, Write};

    use super::*;

    #[test]
    fn runs_at_line_starts_are_holes_nuls_inside_lines_are_binary() {
        assert_eq!(nul_runs(b"\0\0\0a\nb\n", true).map(|r| r.first().cloned()), Ok(Some(0..3)));
        assert_eq!(nul_runs(b"a\n\0\0b\n\0", true), Ok(vec![2..4, 6..7]));
        assert_eq!(nul_runs(b"\0a", false), Err(0));
        assert_eq!(nul_runs(b"core\0dump", true), Err(4));
        assert_eq!(nul_runs(b"SQLite format 3\0", true), Err(15));
        // UTF-16: the first NUL may open a line, the next is inside one.
        assert_eq!(nul_runs(b"\0H\0i", true), Err(2));
        assert_eq!(nul_runs(b"plain\n", true), Ok(vec![]));
    }

    /// A file as a writer without O_APPEND leaves it: `text` at 0, then a
    /// hole, then `tail` at `at`.
    fn holey(text: &[u8], at: u64, tail: &[u8]) -> (tempfile::NamedTempFile, u64) {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(text).expect("write");
        f.seek(SeekFrom::Start(at)).expect("seek");
        f.write_all(tail).expect("write");
        (f, at + tail.len() as u64)
    }

    #[test]
    fn a_run_is_followed_to_its_end_over_a_sparse_hole() {
        let (f, len) = holey(b"", 3 << 20, b"line\n");
        assert_eq!(run_end(f.as_file(), 0, len), 3 << 20);
        let (f, len) = holey(b"", 3, b"line\n");
        assert_eq!(run_end(f.as_file(), 0, len), 3);
        assert_eq!(run_end(f.as_file(), 3, len), 3, "no run there");
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn holes_between_lines_are_found_with_the_nuls_around_them() {
        let (f, len) = holey(b"first\n", 5 << 20, b"after the hole\n");
        let runs = sparse_runs(f.as_file(), 0, len);
        // A file system without holes reports none: nothing to check then.
        if !runs.is_empty() {
            assert_eq!((runs.len(), runs.first()), (1, Some(&(6..5 << 20))));
        }
        let (f, len) = holey(b"first\n", 0, b"");
        assert!(sparse_runs(f.as_file(), 0, len).is_empty());
    }
}
