//! A source's bytes: memory-mapped whole, or a stream read in chunks
//! (stdin, `.gz`, live files, `--mmap never`), so memory stays bounded by
//! the chunk size, not the file size. Empty and binary files become
//! [`Skip`]s here; so does a file that ends early while it is read (it
//! shrank, or its gzip data stops): what was read is kept and the stream
//! reports the [`Skip`] at its end ([`ChunkStream::partial`]). A streamed
//! regular file can also be read at offsets ([`ChunkStream::positional`]),
//! so that the scan can split it across workers; such reads only succeed
//! or fail, and the stream remains the one that reports a file cut short.

use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::Deref;

use flate2::read::MultiGzDecoder;

use super::discover::io_skip;
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

/// The bytes of a source.
#[derive(Debug)]
pub enum Haystack {
    /// A read-only memory map of the file.
    Mapped(memmap2::Mmap),
    /// Bytes owned on the heap.
    Owned(Vec<u8>),
}

impl Deref for Haystack {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Haystack::Mapped(m) => m,
            Haystack::Owned(v) => v,
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
    /// Why the input ended before its end, once it has.
    partial: Option<Skip>,
}

/// Where a stream's bytes come from (an enum, not a `dyn Read`, so an
/// error can say what kind of input failed).
enum Reader {
    Stdin(std::io::Stdin),
    File(std::io::Take<File>),
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

impl ChunkStream {
    /// Appends bytes to `buf` until it holds at least `want` bytes or the
    /// input ends; returns true at the end of the input. The first bytes
    /// are checked: an empty or binary source is a [`Skip`]. A read error
    /// after the first bytes ends the input instead, keeping what was read;
    /// [`ChunkStream::partial`] then says why.
    pub fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<bool, Skip> {
        let old = buf.len();
        let need = want.saturating_sub(old);
        // `take` + `read_to_end` grows the buffer as bytes arrive: a small
        // file costs its size, not a whole chunk. On an error, the bytes
        // read before it are in `buf` (std's `read_to_end` contract).
        let read = (&mut self.reader).take(need as u64).read_to_end(buf);
        let n = buf.len() - old;
        if self.seen == 0 && n > 0 {
            probe(&self.shown, &buf[old..])?;
        }
        self.seen += n as u64;
        match read {
            Err(e) if self.seen == 0 => Err(self.read_error(&e)),
            Err(e) => {
                self.partial = Some(self.cut_short(&e));
                Ok(true)
            }
            Ok(_) if n < need => {
                self.partial = self.shrunk();
                if self.seen == 0 && self.partial.is_none() {
                    return Err(skip(&self.shown, SkipReason::Empty, "empty, nothing to analyse"));
                }
                Ok(true)
            }
            Ok(_) => Ok(false),
        }
    }

    /// Reads of the file being streamed at given offsets, for a scan that
    /// splits it across workers: a regular, uncompressed file, up to its
    /// length at open. None for stdin, pipes and gzip, which can only be
    /// read in order (and off Unix, where no positional read is wired up).
    pub fn positional(&self) -> Option<Positional<'_>> {
        match (&self.reader, self.len_at_open) {
            (Reader::File(take), Some(len)) if cfg!(unix) => {
                Some(Positional { file: take.get_ref(), len: usize::try_from(len).ok()? })
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
        if self.seen >= len {
            return None;
        }
        let detail = format!(
            "truncated while read (log rotation?): read {} of the {len} bytes it had when opened; \
             the rest is in the rotated copy, scan it too",
            self.seen
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
    let stream = |reader: Reader, len_at_open: Option<u64>| {
        Opened::Stream(ChunkStream { reader, shown, len_at_open, seen: 0, partial: None })
    };
    match &spec.origin {
        Origin::Stdin => Ok(stream(Reader::Stdin(std::io::stdin()), None)),
        Origin::Memory(bytes) => Ok(Opened::Whole(check_content(&spec.meta.path, Haystack::Owned(bytes.to_vec()))?)),
        Origin::File(path) => match open_file(path, spec, choice)? {
            FileOpen::Mapped(map) => Ok(Opened::Whole(check_content(&spec.meta.path, Haystack::Mapped(map))?)),
            FileOpen::Gzip(file) => Ok(stream(Reader::Gzip(Box::new(MultiGzDecoder::new(BufReader::new(file)))), None)),
            // A pipe or `<(cmd)` has no length: read to its end.
            FileOpen::Read(file, len) => Ok(stream(Reader::File(file.take(len.unwrap_or(u64::MAX))), len)),
        },
    }
}

enum FileOpen {
    Mapped(memmap2::Mmap),
    Gzip(File),
    /// A file to stream, with its length if it is a regular file.
    Read(File, Option<u64>),
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
    if regular && should_map(choice, spec.meta.rotated) {
        // SAFETY: the map is read-only and private to this process. If
        // another process truncates the file while it is mapped, reading the
        // lost pages raises SIGBUS and the process dies. `MmapChoice::Auto`
        // maps only rotated files, which nothing writes again; `Always` is
        // the user accepting that risk (README, "Reading live logs").
        if let Ok(map) = unsafe { memmap2::Mmap::map(&file) } {
            advise_sequential(&map);
            return Ok(FileOpen::Mapped(map));
        }
    }
    Ok(FileOpen::Read(file, regular.then_some(meta.len())))
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

fn check_content(shown: &str, hay: Haystack) -> Result<Haystack, Skip> {
    if hay.is_empty() {
        return Err(skip(shown, SkipReason::Empty, "empty, nothing to analyse"));
    }
    probe(shown, &hay)?;
    Ok(hay)
}

/// NUL bytes near the start mark a binary file.
fn probe(shown: &str, first: &[u8]) -> Result<(), Skip> {
    match memchr::memchr(0, &first[..first.len().min(BINARY_PROBE)]) {
        Some(at) => {
            Err(skip(shown, SkipReason::Binary, &format!("binary data (NUL byte at offset {at}); not a text log")))
        }
        None => Ok(()),
    }
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
                Ok(Haystack::Owned(buf))
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
        assert!(matches!(a, Haystack::Mapped(_)));
        assert!(matches!(b, Haystack::Owned(_)));
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
        assert!(matches!(open_source(&spec(&rotated), MmapChoice::Auto), Ok(Opened::Whole(Haystack::Mapped(_)))));
        assert!(matches!(open_source(&spec(&live), MmapChoice::Always), Ok(Opened::Whole(Haystack::Mapped(_)))));
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
}
