//! Input: which files to read, what they are, and their bytes. Hands on
//! [`SourceSpec`]s (pm2 metadata and where to read, in a stable sorted
//! order), their bytes as a [`Haystack`] or a [`ChunkStream`] (read in
//! order, or at offsets for a split scan), and [`Skip`]s (what was not
//! read, and why). A file's bytes are never assumed to be UTF-8.
//!
//! Which app and stream a file is ([`Naming`]): pm2's own list (`--pm2`),
//! else the ecosystem file that configures it ([`ecosystem`]), else its
//! file name ([`classify`]); [`NamingReport`] says what was used.

mod discover;
pub mod docker;
pub mod ecosystem;
mod haystack;
pub mod holes;
mod namer;
mod naming;
pub mod pm2;

use std::path::PathBuf;

use serde::Serialize;

pub use discover::{Discovery, Duplicate, NothingToRead, PASSED_OVER_SHOWN, PassedOver, discover};
pub use haystack::{ChunkStream, Haystack, MmapChoice, Opened, Positional, ShortRead, open_source};
pub use namer::{EcosystemApp, EcosystemFile, EcosystemUse, Naming, NamingError, NamingOptions, NamingReport};
pub use naming::{classify, is_file_name_form, pm2_file_name};

/// Which pm2 stream a file (or a record) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// `APP-out.log`: the app's stdout.
    Out,
    /// `APP-error.log`: the app's stderr.
    Err,
    /// `pm2.log`: the pm2 daemon.
    Daemon,
    /// `APP.log` (`log_file`): stdout and stderr merged.
    Combined,
    /// Stdin, or a name pm2 does not write.
    Unknown,
}

impl Stream {
    /// The lower-case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Out => "out",
            Stream::Err => "err",
            Stream::Daemon => "daemon",
            Stream::Combined => "combined",
            Stream::Unknown => "unknown",
        }
    }
}

/// Where a file's app name came from (`summary.files[].app_from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum AppFrom {
    /// An ecosystem file configures this file for the app (or names the
    /// app whose file-name form the file's name carries).
    #[serde(rename = "ecosystem")]
    Ecosystem,
    /// The running pm2 writes this file for the app (`--pm2`), or names
    /// the app whose file-name form the file's name carries.
    #[serde(rename = "pm2")]
    Pm2,
    /// The file name gives the app, in the form pm2 writes file names;
    /// `pm2.log`'s `App [NAME:ID]` lines gave its raw name.
    #[serde(rename = "pm2.log")]
    Pm2Log,
    /// The file name (or `--as`), as pm2 names files by default.
    #[serde(rename = "file-name")]
    FileName,
    /// A Docker json-file log, named by the container's `config.v2.json`.
    #[serde(rename = "docker")]
    Docker,
    /// A server's log (PostgreSQL, Redis, a Caddy access log) whose lines
    /// say which server wrote it; the file name said nothing better.
    #[serde(rename = "content")]
    Content,
}

/// What is known about a log before reading it: its app and stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMeta {
    /// The path as the user will recognise it (`-` is shown as `<stdin>`).
    pub path: String,
    /// The app (raw, as pm2 knows it, when the ecosystem file or pm2 said
    /// so; from a file name, in the form pm2 writes file names: characters
    /// outside `[A-Za-z0-9.-]` replaced with `-`).
    pub app: Option<String>,
    /// Where `app` came from (`None` when there is no app).
    pub app_from: Option<AppFrom>,
    /// Stream.
    pub stream: Stream,
    /// Cluster instance id (`APP-out-3.log`).
    pub instance: Option<u32>,
    /// True for pm2-logrotate / logrotate output (`__DATE`, `.log.N`).
    pub rotated: bool,
    /// True for `.gz` files.
    pub compressed: bool,
}

impl SourceMeta {
    /// A source nothing names (stdin without `--as`, a rule's example).
    pub fn unnamed(path: &str) -> SourceMeta {
        SourceMeta {
            path: path.to_string(),
            app: None,
            app_from: None,
            stream: Stream::Unknown,
            instance: None,
            rotated: false,
            compressed: false,
        }
    }
}

/// Where a source's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file on disk.
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// Bytes already in memory (a rule's inline example).
    Memory(std::sync::Arc<[u8]>),
}

/// A log to scan: its metadata and where to read it.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    /// Dense id in the sorted order; output order follows it.
    pub id: usize,
    /// Name-derived metadata.
    pub meta: SourceMeta,
    /// Where to read it.
    pub origin: Origin,
}

/// Why a path was not scanned (or not wholly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The path does not exist.
    NotFound,
    /// Permission denied.
    PermissionDenied,
    /// Any other read error.
    ReadError,
    /// Zero bytes: nothing to analyse.
    Empty,
    /// NUL bytes near the start: not a text log.
    Binary,
    /// A `.gz` that does not decompress (or stops decompressing part way:
    /// then what came before is scanned).
    BadGzip,
    /// The file shrank while it was read (log rotation truncating a live
    /// log): what was read is scanned, the rest is in the rotated copy.
    Truncated,
    /// A symbolic link that leads back to itself.
    SymlinkLoop,
}

impl SkipReason {
    /// Returns true if and only if this skip means input was lost (exit 2),
    /// as opposed to a file that simply holds nothing to analyse, or one
    /// that rotation truncated (its bytes moved to the rotated copy).
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            SkipReason::NotFound
                | SkipReason::PermissionDenied
                | SkipReason::ReadError
                | SkipReason::BadGzip
                | SkipReason::SymlinkLoop
        )
    }
}

/// A path that was not scanned, or not wholly, with the reason and a
/// sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// The path as given or found.
    pub path: String,
    /// Machine-readable reason.
    pub reason: SkipReason,
    /// What happened and what to do.
    pub detail: String,
    /// For a file read in part (its read ended early): the bytes that were
    /// read and scanned; the file is then also in the summary's files.
    /// `None` when nothing was scanned.
    pub bytes_read: Option<u64>,
}
