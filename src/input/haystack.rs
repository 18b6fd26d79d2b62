//! A source's bytes: memory-mapped whole, or a stream read in chunks
//! (stdin, `.gz`, live files, `--mmap never`), so memory stays bounded by
//! the chunk size, not the file size. Empty and binary files become
//! [`Skip`]s here. Runs of NUL bytes that hold no line (holes a writer
//! left after `copytruncate`, see `holes`) are passed over on every path,
//! their bytes counted ([`Haystack::nul_bytes`], [`ChunkStream::nul_bytes`]).
//! A file that ends early while it is read (it shrank, or its gzip data
//! stops) is read as far as it goes, and the stream reports the [`Skip`]
//! at its end ([`ChunkStream::partial`]). A streamed regular file without
//! holes can also be read at offsets ([`ChunkStream::positional`]), so
//! that the scan can split it across workers; such reads only succeed or
//! fail, and the stream remains the one that reports a file cut short.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::{Deref, Range};

use flate2::read::MultiGzDecoder;

use super::discover::io_skip;
use super::holes;
use super::{Origin, Skip, SkipReason, SourceSpec};

/// When to memory-map a file.
///
/// A mapped file that another process truncates raises SIGBUS when the lost
/// pages are read, and that kills the process; pm2-logrotate (and logrotate's
/// `copytruncate`) copy a live log and then truncate it in place, at any
/// moment, however long the app has been quiet. So only files that nothing
/// writes any more are mapped by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MmapChoice {
    /// Map files whose name says they were rotated (`APP-out__DATE.log`,
    /// `APP-out.log.1`): rotation never writes to them again. Live logs
    /// (`APP-out.log`, `pm2.log`) and files pm2 does not name are streamed.
    #[default]
    Auto,
    /// Map every regular file: faster on big live files, but a file
    /// truncated during the scan kills it with SIGBUS.
    Always,
    /// Never map; stream every file.
    Never,
}

/// NUL bytes in this prefix mark a file as binary (a core dump written to
/// stdout, a database file in the logs directory).
const BINARY_PROBE: usize = 8 * 1024;

/// The bytes of a source, holes passed over.
#[derive(Debug)]
pub struct Haystack {
    bytes: Bytes,
    nul_bytes: u64,
}

#[derive(Debug)]
enum Bytes {
    /// A read-only memory map of the file (from after a leading hole).
    Mapped(memmap2::Mmap),
    /// Bytes owned on the heap.
    Owned(Vec<u8>),
}

impl Haystack {
    /// NUL bytes passed over (holes).
    pub fn nul_bytes(&self) -> u64 {
        self.nul_bytes
    }

    /// Returns true if and only if the bytes are a memory map.
    pub fn is_mapped(&self) -> bool {
        matches!(self.bytes, Bytes::Mapped(_))
    }
}

impl Deref for Haystack {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// An opened source: all of its bytes at hand, or a reader to take them
/// from in chunks ([`ChunkStream::fill`]).
pub enum Opened {
    /// Mapped (or already in memory) and checked.
    Whole(Haystack),
    /// Read as it comes; the first chunk is checked by [`ChunkStream::fill`].
    Stream(ChunkStream),
}

/// A source read in chunks.
pub struct ChunkStream {
    reader: Reader,
    shown: String,
    /// A regular file's length when opened: a file that grows meanwhile is
    /// read up to it (the scan ends; it does not follow), one that ends
    /// before it shrank under us.
    len_at_open: Option<u64>,
    /// Bytes handed out so far (for the empty and binary checks).
    seen: u64,
    /// NUL bytes passed over (holes).
    nul_bytes: u64,
    /// The first bytes handed out were checked (binary, holes).
    probed: bool,
    /// Inside a hole that the probe found running on past what was read.
    in_hole: bool,
    /// Why the input ended before its end, once it has.
    partial: Option<Skip>,
}

/// Where a stream's bytes come from (an enum, not a `dyn Read`, so an
/// error can say what kind of input failed).
enum Reader {
    Stdin(std::io::Stdin),
    File(FileReader),
    Gzip(Box<MultiGzDecoder<BufReader<File>>>),
}

impl Read for Reader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Reader::Stdin(r) => r.read(buf),
            Reader::File(r) => r.read(buf),
            Reader::Gzip(r) => r.read(buf),
        }
    }
}

/// A file read in order up to its length at open, passing over its holes
/// (found when it was opened).
struct FileReader {
    file: File,
    /// Where the next read starts.
    pos: u64,
    /// Its length when opened (`u64::MAX` for a pipe).
    end: u64,
    /// Holes not passed yet, in order.
    holes: std::collections::VecDeque<Range<u64>>,
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(hole) = self.holes.front().filter(|h| h.start <= self.pos) {
            self.pos = self.pos.max(hole.end);
            self.holes.pop_front();
            self.file.seek(SeekFrom::Start(self.pos))?;
        }
        let stop = self.holes.front().map_or(self.end, |h| h.start.min(self.end));
        let room = usize::try_from(stop.saturating_sub(self.pos)).unwrap_or(usize::MAX).min(buf.len());
        let n = self.file.read(&mut buf[..room])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl ChunkStream {
    /// Appends bytes to `buf` until it holds at least `want` bytes or the
    /// input ends; returns true at the end of the input. The first bytes
    /// are checked: an empty or binary source is a [`Skip`]. A read error
    /// after the first bytes ends the input instead, keeping what was read;
    /// [`ChunkStream::partial`] then says why.
    pub fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<bool, Skip> {
        let old = buf.len();
        let read = loop {
            let at = buf.len();
            let need = want.saturating_sub(at);
            // `take` + `read_to_end` grows the buffer as bytes arrive: a
            // small file costs its size, not a whole chunk. On an error, the
            // bytes read before it are in `buf` (std's `read_to_end`
            // contract).
            let read = (&mut self.reader).take(need as u64).read_to_end(buf);
            let n = buf.len() - at;
            self.pass_holes(buf, at)?;
            match read {
                // Bytes passed over as a hole: read on for what was asked.
                Ok(_) if n == need && buf.len() < want => continue,
                Ok(_) => break Ok(n < need),
                Err(e) => break Err(e),
            }
        };
        self.seen += (buf.len() - old) as u64;
        match read {
            Err(e) if self.seen == 0 && self.nul_bytes == 0 => Err(self.read_error(&e)),
            Err(e) => {
                self.partial = Some(self.cut_short(&e));
                Ok(true)
            }
            Ok(true) => {
                self.partial = self.shrunk();
                if self.seen == 0 && self.partial.is_none() {
                    return Err(self.nothing_but_holes());
                }
                Ok(true)
            }
            Ok(false) => Ok(false),
        }
    }

    /// NUL bytes passed over (holes), so far.
    pub fn nul_bytes(&self) -> u64 {
        self.nul_bytes
    }

    /// Checks the first bytes read (`buf[at..]` the first time): binary
    /// data is a [`Skip`], holes are taken out of `buf` and counted, as is
    /// the rest of a hole the first bytes end in. A file's holes were
    /// found when it was opened; this is for pipes and gzip data.
    fn pass_holes(&mut self, buf: &mut Vec<u8>, at: usize) -> Result<(), Skip> {
        if self.in_hole {
            let n = buf[at..].iter().position(|&b| b != 0).unwrap_or(buf.len() - at);
            buf.drain(at..at + n);
            self.nul_bytes += n as u64;
            self.in_hole = buf.len() == at;
        }
        if self.probed || buf.len() == at {
            return Ok(());
        }
        self.probed = true;
        let probe_end = buf.len().min(at + BINARY_PROBE);
        let mut runs = holes::nul_runs(&buf[at..probe_end], true).map_err(|off| binary(&self.shown, off as u64))?;
        // The last hole may go on past the probe, and past what was read.
        if let Some(last) = runs.last_mut().filter(|r| at + r.end == probe_end) {
            last.end = buf[probe_end..].iter().position(|&b| b != 0).map_or(buf.len(), |n| probe_end + n) - at;
            self.in_hole = at + last.end == buf.len();
        }
        for run in runs.iter().rev() {
            buf.drain(at + run.start..at + run.end);
            self.nul_bytes += run.len() as u64;
        }
        Ok(())
    }

    /// The source held nothing but holes, or nothing at all.
    fn nothing_but_holes(&self) -> Skip {
        match self.nul_bytes {
            0 => skip(&self.shown, SkipReason::Empty, "empty, nothing to analyse"),
            n => skip(&self.shown, SkipReason::Empty, &format!("holds only NUL bytes ({n}), nothing to analyse")),
        }
    }

    /// Reads of the file being streamed at given offsets, for a scan that
    /// splits it across workers: a regular, uncompressed file, up to its
    /// length at open. None for stdin, pipes and gzip, which can only be
    /// read in order (and off Unix, where no positional read is wired up).
    pub fn positional(&self) -> Option<Positional<'_>> {
        match (&self.reader, self.len_at_open) {
            // Parts read at offsets would read the holes: a file with
            // holes (a live log after copytruncate, small) is streamed.
            (Reader::File(r), Some(len)) if cfg!(unix) && self.nul_bytes == 0 && r.holes.is_empty() => {
                Some(Positional { file: &r.file, len: usize::try_from(len).ok()? })
            }
            _ => None,
        }
    }

    /// Once the input has ended: why it ended before the end of the source
    /// (the file shrank while read, its gzip data stops, a read failed), or
    /// `None` if it was read whole.
    pub fn partial(&mut self) -> Option<Skip> {
        self.partial.take()
    }

    fn read_error(&self, e: &std::io::Error) -> Skip {
        if matches!(self.reader, Reader::Gzip(_)) {
            let detail = format!("not a readable gzip file ({e}); check that rotation finished writing it");
            return skip(&self.shown, SkipReason::BadGzip, &detail);
        }
        io_skip(self.shown.as_ref(), e)
    }

    /// A read error after some bytes: they are scanned, the rest is lost.
    fn cut_short(&self, e: &std::io::Error) -> Skip {
        let (reason, detail) = match self.reader {
            Reader::Gzip(_) => (
                SkipReason::BadGzip,
                format!(
                    "gzip data stops part way ({e}): {} bytes decompressed before it were scanned; \
                     check that rotation finished writing the file",
                    self.seen
                ),
            ),
            _ => (
                SkipReason::ReadError,
                format!("read failed part way ({e}): {} bytes read before it were scanned", self.seen),
            ),
        };
        Skip { bytes_read: Some(self.seen), ..skip(&self.shown, reason, &detail) }
    }

    /// A file that ended before the length it had when opened was truncated
    /// while read (pm2-logrotate, `copytruncate`).
    fn shrunk(&self) -> Option<Skip> {
        let len = self.len_at_open?;
        // Where the file was read to, holes included.
        let at = match &self.reader {
            Reader::File(r) => r.pos,
            _ => self.seen,
        };
        if at >= len {
            return None;
        }
        let detail = format!(
            "truncated while read (log rotation?): read {at} of the {len} bytes it had when opened; \
             the rest is in the rotated copy, scan it too"
        );
        Some(Skip { bytes_read: Some(self.seen), ..skip(&self.shown, SkipReason::Truncated, &detail) })
    }
}

/// A streamed file read at offsets ([`ChunkStream::positional`]). It
/// reads nothing past the length the file had when opened, as the stream
/// does not: a file that grows meanwhile is scanned as it was.
#[derive(Clone, Copy)]
pub struct Positional<'a> {
    file: &'a File,
    len: usize,
}

/// A positional read that did not fill its buffer: the file shrank since it
/// was opened (log rotation truncating it), or the read failed. Which, and
/// how far the file still goes, is for the stream to find out and report:
/// it reads on in order from where it stands ([`ChunkStream::partial`]).
#[derive(Debug, thiserror::Error)]
#[error("the file no longer holds the bytes it had when opened")]
pub struct ShortRead;

impl Positional<'_> {
    /// The file's length when it was opened.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns true if and only if the file was empty when opened (never,
    /// for a file [`open_source`] streams: it skips empty ones).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `buf` with the bytes at `offset`; all of them lie before the
    /// length at open, or it is a [`ShortRead`].
    pub fn read_exact_at(&self, buf: &mut [u8], offset: usize) -> Result<(), ShortRead> {
        if offset.checked_add(buf.len()).is_none_or(|end| end > self.len) {
            return Err(ShortRead);
        }
        read_at(self.file, buf, offset as u64)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> Result<(), ShortRead> {
    use std::os::unix::fs::FileExt;
    // `read_exact_at` retries interrupted and partial reads; it fails only
    // at the end of the file or on an error.
    file.read_exact_at(buf, offset).map_err(|_| ShortRead)
}

#[cfg(not(unix))]
fn read_at(_: &File, _: &mut [u8], _: u64) -> Result<(), ShortRead> {
    // Unreachable: `positional` hands out no reader off Unix.
    Err(ShortRead)
}

/// Opens a source: maps it where the policy allows, else hands a reader.
/// A failure is a [`Skip`] naming the file and the reason.
pub fn open_source(spec: &SourceSpec, choice: MmapChoice) -> Result<Opened, Skip> {
    let shown = spec.meta.path.clone();
    let stream = |reader: Reader, len_at_open: Option<u64>, nul_bytes: u64| {
        // A file's first bytes were checked when it was opened.
        let probed = matches!(reader, Reader::File(_));
        Opened::Stream(ChunkStream {
            reader,
            shown,
            len_at_open,
            seen: 0,
            nul_bytes,
            probed,
            in_hole: false,
            partial: None,
        })
    };
    match &spec.origin {
        Origin::Stdin => Ok(stream(Reader::Stdin(std::io::stdin()), None, 0)),
        Origin::Memory(bytes) => Ok(Opened::Whole(in_memory(&spec.meta.path, bytes)?)),
        Origin::File(path) => match open_file(path, spec, choice)? {
            FileOpen::Whole(hay) => Ok(Opened::Whole(hay)),
            FileOpen::Gzip(file) => {
                Ok(stream(Reader::Gzip(Box::new(MultiGzDecoder::new(BufReader::new(file)))), None, 0))
            }
            FileOpen::Read { file, len, holes } => {
                let nul_bytes = holes.iter().map(|h| h.end - h.start).sum();
                let reader = FileReader { file, pos: 0, end: len.unwrap_or(u64::MAX), holes: holes.into() };
                Ok(stream(Reader::File(reader), len, nul_bytes))
            }
        },
    }
}

enum FileOpen {
    Whole(Haystack),
    Gzip(File),
    /// A file to stream, with its length if it is a regular file, and its
    /// holes.
    Read {
        file: File,
        len: Option<u64>,
        holes: Vec<Range<u64>>,
    },
}

fn open_file(path: &std::path::Path, spec: &SourceSpec, choice: MmapChoice) -> Result<FileOpen, Skip> {
    let file = File::open(path).map_err(|e| io_skip(path, &e))?;
    let meta = file.metadata().map_err(|e| io_skip(path, &e))?;
    // Pipes and `<(cmd)` report length 0: only a regular file's length
    // means anything, and only a regular file can be mapped.
    let regular = meta.is_file();
    if regular && meta.len() == 0 {
        return Err(skip(&spec.meta.path, SkipReason::Empty, "empty file, nothing to analyse"));
    }
    if spec.meta.compressed {
        return Ok(FileOpen::Gzip(file));
    }
    if !regular {
        return Ok(FileOpen::Read { file, len: None, holes: Vec::new() });
    }
    let len = meta.len();
    let holes = file_holes(&spec.meta.path, &file, len)?;
    if should_map(choice, spec.meta.rotated) {
        let nul_bytes: u64 = holes.iter().map(|h| h.end - h.start).sum();
        let from = match holes.first() {
            Some(h) if h.start == 0 => h.end,
            _ => 0,
        };
        if holes.iter().all(|h| h.start == 0) {
            // SAFETY: the map is read-only and private to this process. If
            // another process truncates the file while it is mapped,
            // reading the lost pages raises SIGBUS and the process dies.
            // `MmapChoice::Auto` maps only rotated files, which nothing
            // writes again; `Always` is the user accepting that risk
            // (README, "Reading live logs").
            if let Ok(map) = unsafe { memmap2::MmapOptions::new().offset(from).map(&file) } {
                advise_sequential(&map);
                return Ok(FileOpen::Whole(Haystack { bytes: Bytes::Mapped(map), nul_bytes }));
            }
        } else {
            // Holes between lines (rare: a live log two writers share):
            // the lines around them, on the heap.
            let bytes = read_between(&file, len, &holes).map_err(|e| io_skip(path, &e))?;
            return Ok(FileOpen::Whole(Haystack { bytes: Bytes::Owned(bytes), nul_bytes }));
        }
    }
    Ok(FileOpen::Read { file, len: Some(len), holes })
}

/// The holes of a regular file of `len` bytes: a run of NULs at its
/// start, runs at line starts in the first bytes after it (the probe), and
/// the file system's holes after those. Binary data (a NUL inside a line
/// in the probe) and a file of nothing but NULs are [`Skip`]s.
fn file_holes(shown: &str, file: &File, len: u64) -> Result<Vec<Range<u64>>, Skip> {
    let read = |at: u64, n: u64| -> Vec<u8> {
        let mut buf = vec![0; usize::try_from(n.min(len.saturating_sub(at))).unwrap_or(0)];
        let got = holes::read_at(file, &mut buf, at).unwrap_or(0);
        buf.truncate(got);
        buf
    };
    let lead = match read(0, 1).first() {
        Some(0) => holes::run_end(file, 0, len),
        _ => 0,
    };
    let window = read(lead, BINARY_PROBE as u64);
    let mut found: Vec<Range<u64>> = (lead > 0).then_some(0..lead).into_iter().collect();
    let runs = holes::nul_runs(&window, true).map_err(|off| binary(shown, lead + off as u64))?;
    let probe_end = lead + window.len() as u64;
    for run in runs {
        let (start, mut end) = (lead + run.start as u64, lead + run.end as u64);
        if end == probe_end {
            end = holes::run_end(file, end, len);
        }
        found.push(start..end);
    }
    let after = found.last().map_or(probe_end, |r| r.end.max(probe_end));
    found.extend(holes::sparse_runs(file, after, len));
    // The calls above moved the descriptor's offset; the stream reads from it.
    let mut f = file;
    f.seek(SeekFrom::Start(0)).map_err(|e| io_skip(shown.as_ref(), &e))?;
    let nul_bytes: u64 = found.iter().map(|h| h.end - h.start).sum();
    if nul_bytes >= len {
        return Err(skip(shown, SkipReason::Empty, &format!("holds only NUL bytes ({len}), nothing to analyse")));
    }
    Ok(found)
}

/// The bytes of `file` outside `holes` (in order, not overlapping).
fn read_between(file: &File, len: u64, holes: &[Range<u64>]) -> std::io::Result<Vec<u8>> {
    let mut reader = FileReader { file: file.try_clone()?, pos: 0, end: len, holes: holes.iter().cloned().collect() };
    reader.file.seek(SeekFrom::Start(0))?;
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Bytes already in memory (a rule's example), checked as a file's are.
fn in_memory(shown: &str, bytes: &[u8]) -> Result<Haystack, Skip> {
    if bytes.is_empty() {
        return Err(skip(shown, SkipReason::Empty, "empty, nothing to analyse"));
    }
    let lead = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    if lead == bytes.len() {
        let detail = format!("holds only NUL bytes ({lead}), nothing to analyse");
        return Err(skip(shown, SkipReason::Empty, &detail));
    }
    let window = &bytes[lead..bytes.len().min(lead + BINARY_PROBE)];
    let mut runs = holes::nul_runs(window, true).map_err(|off| binary(shown, (lead + off) as u64))?;
    let probe_end = lead + window.len();
    if let Some(last) = runs.last_mut().filter(|r| lead + r.end == probe_end) {
        last.end = bytes[probe_end..].iter().position(|&b| b != 0).map_or(bytes.len(), |n| probe_end + n) - lead;
    }
    let mut text = Vec::with_capacity(bytes.len());
    let mut from = lead;
    for run in &runs {
        text.extend_from_slice(&bytes[from..lead + run.start]);
        from = lead + run.end;
    }
    text.extend_from_slice(&bytes[from..]);
    let nul_bytes = (bytes.len() - text.len()) as u64;
    Ok(Haystack { bytes: Bytes::Owned(text), nul_bytes })
}

/// Whether `choice` maps a regular file. Not "files quiet for a while":
/// pm2-logrotate truncates a live log when its size or the clock says so,
/// which on a quiet app is long after its last write.
fn should_map(choice: MmapChoice, rotated: bool) -> bool {
    match choice {
        MmapChoice::Always => true,
        MmapChoice::Never => false,
        MmapChoice::Auto => rotated,
    }
}

#[cfg(unix)]
fn advise_sequential(map: &memmap2::Mmap) {
    // Only a hint; a refusal changes nothing.
    let _ = map.advise(memmap2::Advice::Sequential);
}

#[cfg(not(unix))]
fn advise_sequential(_: &memmap2::Mmap) {}

/// A NUL byte inside a line near the start: not a text log.
fn binary(shown: &str, at: u64) -> Skip {
    let detail = format!("binary data (NUL byte at offset {at}, inside a line); not a text log");
    skip(shown, SkipReason::Binary, &detail)
}

fn skip(shown: &str, reason: SkipReason, detail: &str) -> Skip {
    Skip { path: shown.to_string(), reason, detail: format!("{shown}: {detail}"), bytes_read: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::classify;

    /// Opens a source and reads it whole (the scanner streams instead).
    fn open(spec: &SourceSpec, choice: MmapChoice) -> Result<Haystack, Skip> {
        match open_source(spec, choice)? {
            Opened::Whole(hay) => Ok(hay),
            Opened::Stream(mut s) => {
                let mut buf = Vec::new();
                loop {
                    let want = buf.len() + (1 << 20);
                    if s.fill(&mut buf, want)? {
                        break;
                    }
                }
                Ok(Haystack { bytes: Bytes::Owned(buf), nul_bytes: s.nul_bytes() })
            }
        }
    }

    /// Streams an opened source to its end: its bytes and why it ended
    /// early, if it did.
    fn drain(opened: Opened) -> (Vec<u8>, Option<Skip>) {
        let Opened::Stream(mut s) = opened else { panic!("not a stream") };
        let mut buf = Vec::new();
        loop {
            let want = buf.len() + 4096;
            if s.fill(&mut buf, want).expect("fill") {
                break;
            }
        }
        (buf, s.partial())
    }

    fn spec(path: &std::path::Path) -> SourceSpec {
        let shown = path.display().to_string();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        SourceSpec { id: 0, meta: classify(&shown, &name), origin: Origin::File(path.to_path_buf()) }
    }

    #[test]
    fn mapped_and_read_bytes_agree() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("api-out.log");
        std::fs::write(&p, "2026-11-20T10:00:00: hello\n").expect("write");
        let a = open(&spec(&p), MmapChoice::Always).expect("map");
        let b = open(&spec(&p), MmapChoice::Never).expect("read");
        assert!(a.is_mapped() && !b.is_mapped());
        assert_eq!(&*a, &*b);
    }

    #[test]
    fn empty_binary_and_bad_gzip_are_skips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("a-out.log");
        std::fs::write(&empty, "").expect("write");
        assert_eq!(open(&spec(&empty), MmapChoice::Auto).map(|_| ()).unwrap_err().reason, SkipReason::Empty);
        let bin = dir.path().join("b-out.log");
        std::fs::write(&bin, b"core\0dump").expect("write");
        assert_eq!(open(&spec(&bin), MmapChoice::Auto).map(|_| ()).unwrap_err().reason, SkipReason::Binary);
        let gz = dir.path().join("c-out.log.gz");
        std::fs::write(&gz, b"not gzip at all").expect("write");
        assert_eq!(open(&spec(&gz), MmapChoice::Auto).map(|_| ()).unwrap_err().reason, SkipReason::BadGzip);
    }

    #[test]
    fn gzip_is_decompressed() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("api-out__2026-11-20_00-00-00.log.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"line one\n").expect("gz");
        std::fs::write(&p, enc.finish().expect("gz")).expect("write");
        let hay = open(&spec(&p), MmapChoice::Auto).expect("open");
        assert_eq!(&*hay, b"line one\n");
    }

    #[test]
    fn auto_maps_rotated_files_only_however_quiet_a_live_one_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = dir.path().join("api-out.log");
        let rotated = dir.path().join("api-out__2026-11-20_00-00-00.log");
        for p in [&live, &rotated] {
            std::fs::write(p, "2026-11-20T10:00:00: hello\n").expect("write");
            let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
            File::options().write(true).open(p).and_then(|f| f.set_modified(day_ago)).expect("mtime");
        }
        assert!(matches!(open_source(&spec(&live), MmapChoice::Auto), Ok(Opened::Stream(_))));
        assert!(matches!(open_source(&spec(&rotated), MmapChoice::Auto), Ok(Opened::Whole(h)) if h.is_mapped()));
        assert!(matches!(open_source(&spec(&live), MmapChoice::Always), Ok(Opened::Whole(h)) if h.is_mapped()));
        assert!(matches!(open_source(&spec(&rotated), MmapChoice::Never), Ok(Opened::Stream(_))));
    }

    #[test]
    fn a_file_that_shrinks_after_open_is_read_in_part() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("api-out.log");
        std::fs::write(&p, "2026-11-20T10:00:00: hello\n".repeat(1000)).expect("write");
        let opened = open_source(&spec(&p), MmapChoice::Never).expect("open");
        File::options().write(true).open(&p).and_then(|f| f.set_len(100)).expect("truncate");
        let (bytes, partial) = drain(opened);
        assert_eq!(bytes.len(), 100);
        let partial = partial.expect("flagged");
        assert_eq!((partial.reason, partial.bytes_read), (SkipReason::Truncated, Some(100)));
        assert!(partial.detail.contains("read 100 of the 27000 bytes it had when opened"), "{}", partial.detail);
        // Emptied before the first read: nothing read, still truncated, not "empty".
        let opened = open_source(&spec(&p), MmapChoice::Never).expect("open");
        File::options().write(true).open(&p).and_then(|f| f.set_len(0)).expect("truncate");
        let (bytes, partial) = drain(opened);
        assert!(bytes.is_empty());
        assert_eq!(partial.map(|s| (s.reason, s.bytes_read)), Some((SkipReason::Truncated, Some(0))));
    }

    #[test]
    fn a_file_that_grows_after_open_is_read_to_its_length_at_open() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("api-out.log");
        std::fs::write(&p, "first\n").expect("write");
        let opened = open_source(&spec(&p), MmapChoice::Never).expect("open");
        File::options().append(true).open(&p).and_then(|mut f| f.write_all(b"later\n")).expect("append");
        assert_eq!(drain(opened), (b"first\n".to_vec(), None));
    }

    #[test]
    fn gzip_cut_short_keeps_what_decompressed() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("api-out.log.1.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let text: String = (0..20_000).map(|i| format!("2026-11-20T10:00:00: request {i} done\n")).collect();
        enc.write_all(text.as_bytes()).expect("gz");
        let gz = enc.finish().expect("gz");
        std::fs::write(&p, &gz[..gz.len() / 2]).expect("write");
        let (bytes, partial) = drain(open_source(&spec(&p), MmapChoice::Auto).expect("open"));
        assert!(!bytes.is_empty() && text.as_bytes().starts_with(&bytes));
        let partial = partial.expect("flagged");
        assert_eq!((partial.reason, partial.bytes_read), (SkipReason::BadGzip, Some(bytes.len() as u64)));
    }

    /// A log as a writer without O_APPEND leaves it after copytruncate:
    /// `before` at 0, then NULs up to `at`, then `after`.
    fn holey(path: &std::path::Path, before: &[u8], at: u64, after: &[u8]) {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = File::create(path).expect("create");
        f.write_all(before).expect("write");
        f.seek(SeekFrom::Start(at)).expect("seek");
        f.write_all(after).expect("write");
    }

    /// Holes at the start and between lines are passed over, counted, on
    /// every path: mapped, streamed in chunks of any size, and in memory.
    #[test]
    fn holes_are_passed_over_on_every_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let line = b"2026-11-20T10:00:00: Error: boom\n";
        for (before, at) in [(&b""[..], 5u64), (b"", 3 << 20), (b"first\n", 6 + 100), (b"first\n", 5 << 20)] {
            let p = dir.path().join("api-error.log");
            holey(&p, before, at, line);
            let want: Vec<u8> = [before, &line[..]].concat();
            let holes = at - before.len() as u64;
            for choice in [MmapChoice::Always, MmapChoice::Never] {
                let hay = open(&spec(&p), choice).expect("open");
                assert_eq!(
                    (&*hay, hay.nul_bytes()),
                    (&want[..], holes),
                    "{choice:?}, hole at {} to {at}",
                    before.len()
                );
            }
            for chunk in [1, 7, 4096, 1 << 20] {
                let Ok(Opened::Stream(mut s)) = open_source(&spec(&p), MmapChoice::Never) else { panic!("stream") };
                let mut buf = Vec::new();
                loop {
                    let want = buf.len() + chunk;
                    if s.fill(&mut buf, want).expect("fill") {
                        break;
                    }
                }
                assert_eq!((buf, s.nul_bytes(), s.partial()), (want.clone(), holes, None), "chunks of {chunk}");
            }
            let bytes = std::fs::read(&p).expect("read");
            let mem = SourceSpec { origin: Origin::Memory(bytes.into()), ..spec(&p) };
            let hay = open(&mem, MmapChoice::Auto).expect("memory");
            assert_eq!((&*hay, hay.nul_bytes()), (&want[..], holes), "in memory");
        }
    }

    #[test]
    fn nuls_inside_lines_are_binary_and_only_nuls_is_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("api-out.log");
        std::fs::write(&p, b"\0\0\0ok\nrecord\0with a nul\n").expect("write");
        for choice in [MmapChoice::Always, MmapChoice::Never] {
            let err = open(&spec(&p), choice).map(|_| ()).unwrap_err();
            assert_eq!(err.reason, SkipReason::Binary, "{choice:?}");
            assert!(err.detail.contains("NUL byte at offset 12, inside a line"), "{}", err.detail);
        }
        holey(&p, b"", 1 << 20, b"");
        std::fs::File::options().write(true).open(&p).and_then(|f| f.set_len(1 << 20)).expect("extend");
        let err = open(&spec(&p), MmapChoice::Never).map(|_| ()).unwrap_err();
        assert_eq!(err.reason, SkipReason::Empty);
        assert!(err.detail.contains("holds only NUL bytes (1048576)"), "{}", err.detail);
    }
}
