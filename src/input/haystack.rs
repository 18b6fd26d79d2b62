//! A source's bytes: memory-mapped whole, or a stream read in chunks
//! (stdin, `.gz`, live files, `--mmap never`), so memory stays bounded by
//! the chunk size, not the file size. Empty and binary files become
//! [`Skip`]s here.

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::time::{Duration, SystemTime};

use super::discover::io_skip;
use super::{Origin, Skip, SkipReason, SourceSpec};

/// When to memory-map a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MmapChoice {
    /// Map rotated files and files not written for `QUIET_FOR` (10 s); read live
    /// ones. pm2-logrotate truncates live logs in place, and a mapped file
    /// truncated under us raises SIGBUS (ripgrep avoids mmap when walking
    /// directories for the same reason).
    #[default]
    Auto,
    /// Map every regular file. Faster on huge live files, at the SIGBUS risk.
    Always,
    /// Never map; read every file into memory.
    Never,
}

/// How long a file must have been left alone before `Auto` maps it.
pub const QUIET_FOR: Duration = Duration::from_secs(10);

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
    reader: Box<dyn Read + Send>,
    shown: String,
    gzip: bool,
    /// Bytes handed out so far (for the empty and binary checks).
    seen: u64,
}

impl ChunkStream {
    /// Appends bytes to `buf` until it holds at least `want` bytes or the
    /// input ends; returns true at the end of the input. The first bytes
    /// are checked: an empty or binary source is a [`Skip`].
    pub fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<bool, Skip> {
        let old = buf.len();
        let need = want.saturating_sub(old);
        // `take` + `read_to_end` grows the buffer as bytes arrive: a small
        // file costs its size, not a whole chunk.
        let n = (&mut *self.reader).take(need as u64).read_to_end(buf).map_err(|e| self.read_error(&e))?;
        if self.seen == 0 && n > 0 {
            probe(&self.shown, &buf[old..])?;
        }
        self.seen += n as u64;
        if self.seen == 0 {
            return Err(skip(&self.shown, SkipReason::Empty, "empty, nothing to analyse"));
        }
        Ok(n < need)
    }

    fn read_error(&self, e: &std::io::Error) -> Skip {
        if self.gzip {
            let detail = format!("not a readable gzip file ({e}); check that rotation finished writing it");
            return skip(&self.shown, SkipReason::BadGzip, &detail);
        }
        io_skip(self.shown.as_ref(), e)
    }
}

/// Opens a source: maps it where the policy allows, else hands a reader.
/// A failure is a [`Skip`] naming the file and the reason.
pub fn open_source(spec: &SourceSpec, choice: MmapChoice) -> Result<Opened, Skip> {
    let shown = spec.meta.path.clone();
    let stream =
        |reader: Box<dyn Read + Send>, gzip: bool| Opened::Stream(ChunkStream { reader, shown, gzip, seen: 0 });
    match &spec.origin {
        Origin::Stdin => Ok(stream(Box::new(std::io::stdin()), false)),
        Origin::Memory(bytes) => Ok(Opened::Whole(check_content(&spec.meta.path, Haystack::Owned(bytes.to_vec()))?)),
        Origin::File(path) => match open_file(path, spec, choice)? {
            FileOpen::Mapped(map) => Ok(Opened::Whole(check_content(&spec.meta.path, Haystack::Mapped(map))?)),
            FileOpen::Gzip(file) => {
                Ok(stream(Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file))), true))
            }
            FileOpen::Read(file) => Ok(stream(Box::new(file), false)),
        },
    }
}

enum FileOpen {
    Mapped(memmap2::Mmap),
    Gzip(File),
    Read(File),
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
    if regular && should_map(choice, spec.meta.rotated, meta.modified().ok()) {
        // SAFETY: the map is read-only and private to this process. If
        // another process truncates the file while it is mapped, reading the
        // lost pages raises SIGBUS; `MmapChoice::Auto` only maps files that
        // are rotated or have not been written for QUIET_FOR, which is the
        // documented trade-off (README, "Reading live logs").
        if let Ok(map) = unsafe { memmap2::Mmap::map(&file) } {
            advise_sequential(&map);
            return Ok(FileOpen::Mapped(map));
        }
    }
    Ok(FileOpen::Read(file))
}

fn should_map(choice: MmapChoice, rotated: bool, modified: Option<SystemTime>) -> bool {
    match choice {
        MmapChoice::Always => true,
        MmapChoice::Never => false,
        MmapChoice::Auto => {
            let quiet =
                modified.and_then(|m| SystemTime::now().duration_since(m).ok()).is_some_and(|age| age >= QUIET_FOR);
            rotated || quiet
        }
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
    Skip { path: shown.to_string(), reason, detail: format!("{shown}: {detail}") }
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
}
