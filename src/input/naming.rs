//! pm2's file names → app, stream, instance, rotation. pm2 writes
//! `APP-out.log`, `APP-error.log`, cluster `APP-out-ID.log`, the daemon's
//! `pm2.log`, `APP.log` with `log_file`; pm2-logrotate adds
//! `__YYYY-MM-DD_HH-mm-ss` before `.log` (and `.gz`), system logrotate
//! appends `.N` / `.N.gz`.

use std::sync::LazyLock;

use regex::Regex;

use super::{AppFrom, SourceMeta, Stream};

// Both patterns are constants, compiled by every test that classifies a
// name: `expect` cannot fire on any input.
static APP_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?P<app>.+?)-(?P<stream>out|error|err)(?:-(?P<id>\d+))?",
        r"(?P<rot>__\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2})?\.log(?P<n>\.\d+)?(?P<gz>\.gz)?$"
    ))
    .expect("static regex")
});

static ROTATION_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}$").expect("static regex"));

static OTHER_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?P<app>.+?)(?P<rot>__\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2})?",
        r"\.log(?P<n>\.\d+)?(?P<gz>\.gz)?$"
    ))
    .expect("static regex")
});

/// The name pm2 gives an app's files: every character outside
/// `[A-Za-z0-9.-]` becomes `-` (`lib/Common.js`, `formated_app_name`; its
/// class `[^a-zA-Z0-9\\.\\-]` also spares the backslash, which each `\\`
/// of the JS regex literal stands for): `my_app.v2` writes
/// `my-app.v2-out.log`.
pub fn pm2_file_name(app: &str) -> String {
    let mut out = String::with_capacity(app.len());
    for c in app.chars() {
        if is_file_name_char(c) {
            out.push(c);
        } else {
            // JavaScript strings are UTF-16: a character outside the BMP
            // is two code units, each replaced.
            (0..c.len_utf16()).for_each(|_| out.push('-'));
        }
    }
    out
}

/// Returns true if and only if `app` is already in the form pm2 gives it
/// in file names (no character pm2 would replace).
pub fn is_file_name_form(app: &str) -> bool {
    app.chars().all(is_file_name_char)
}

fn is_file_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '\\')
}

/// The live file a rotated copy was taken from: `api-out__DATE.log.gz`,
/// `api-out.log.2` and `api-out.log.2.gz` are copies of `api-out.log`.
pub fn live_name(file_name: &str) -> String {
    let base = file_name.strip_suffix(".gz").unwrap_or(file_name);
    // logrotate's `.N` after an extension.
    let base = match base.rsplit_once('.') {
        Some((head, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && head.contains('.') => head,
        _ => base,
    };
    // pm2-logrotate's `__YYYY-MM-DD_HH-mm-ss` before `.log`.
    match base.strip_suffix(".log").and_then(|stem| stem.rsplit_once("__")) {
        Some((stem, date)) if ROTATION_DATE.is_match(date) => format!("{stem}.log"),
        _ => base.to_string(),
    }
}

/// The process id in `name` if it is `configured` with pm2's `-ID` suffix
/// (`lib/God.js` replaces `-N.log` or `.log` at the end by `-ID.log`).
pub fn instance_of(configured: &str, name: &str) -> Option<u32> {
    let stem = configured.strip_suffix(".log")?;
    let stem = match stem.rsplit_once('-') {
        Some((head, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => stem,
    };
    let id = name.strip_prefix(stem)?.strip_prefix('-')?.strip_suffix(".log")?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

/// Derives metadata from a file name. `path` is kept for display.
pub fn classify(path: &str, file_name: &str) -> SourceMeta {
    let gz = file_name.ends_with(".gz");
    if let Some(c) = APP_FILE.captures(file_name) {
        // `app` and `stream` are not optional groups: a match has both, so
        // indexing cannot panic (likewise `app` below).
        let stream = if &c["stream"] == "out" { Stream::Out } else { Stream::Err };
        return SourceMeta {
            path: path.to_string(),
            app: Some(c["app"].to_string()),
            app_from: Some(AppFrom::FileName),
            stream,
            instance: c.name("id").and_then(|m| m.as_str().parse().ok()),
            rotated: c.name("rot").is_some() || c.name("n").is_some(),
            compressed: gz,
        };
    }
    if let Some(c) = OTHER_FILE.captures(file_name) {
        let name = &c["app"];
        let rotated = c.name("rot").is_some() || c.name("n").is_some();
        if name == "pm2" {
            let meta = SourceMeta {
                path: path.to_string(),
                app: None,
                app_from: None,
                stream: Stream::Daemon,
                instance: None,
                rotated,
                compressed: gz,
            };
            return meta;
        }
        return SourceMeta {
            path: path.to_string(),
            app: Some(name.to_string()),
            app_from: Some(AppFrom::FileName),
            stream: Stream::Combined,
            instance: None,
            rotated,
            compressed: gz,
        };
    }
    SourceMeta { compressed: gz, ..SourceMeta::unnamed(path) }
}

/// Returns true if and only if a file found by walking a directory looks
/// like a log (`*.log`, `*.log.N`, and their `.gz`); other files in a pm2
/// home (`dump.pm2`, `pm2.pid`, sockets) are passed over silently.
pub fn looks_like_log(file_name: &str) -> bool {
    let base = file_name.strip_suffix(".gz").unwrap_or(file_name);
    if base.ends_with(".log") {
        return true;
    }
    match base.rsplit_once(".log.") {
        Some((_, n)) => !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str) -> (Option<String>, Stream, Option<u32>, bool, bool) {
        let m = classify(name, name);
        (m.app, m.stream, m.instance, m.rotated, m.compressed)
    }

    #[test]
    fn pm2_names() {
        assert_eq!(c("api-out.log"), (Some("api".into()), Stream::Out, None, false, false));
        assert_eq!(c("tws-bridge-error.log"), (Some("tws-bridge".into()), Stream::Err, None, false, false));
        assert_eq!(c("api-error-3.log"), (Some("api".into()), Stream::Err, Some(3), false, false));
        assert_eq!(c("pm2.log"), (None, Stream::Daemon, None, false, false));
        assert_eq!(c("api.log"), (Some("api".into()), Stream::Combined, None, false, false));
    }

    #[test]
    fn rotated_names() {
        assert_eq!(c("api-out__2026-11-20_00-00-00.log"), (Some("api".into()), Stream::Out, None, true, false));
        assert_eq!(
            c("api-error-0__2026-11-20_00-00-00.log.gz"),
            (Some("api".into()), Stream::Err, Some(0), true, true)
        );
        assert_eq!(c("pm2__2026-11-20_00-00-00.log"), (None, Stream::Daemon, None, true, false));
        assert_eq!(c("api-out.log.2.gz"), (Some("api".into()), Stream::Out, None, true, true));
        assert_eq!(c("pm2.log.1"), (None, Stream::Daemon, None, true, false));
    }

    #[test]
    fn app_names_with_dashes_keep_them() {
        assert_eq!(c("my-app.v2-out.log").0.as_deref(), Some("my-app.v2"));
        assert_eq!(c("next-web-error-12.log").0.as_deref(), Some("next-web"));
    }

    #[test]
    fn pm2_file_names_of_raw_names() {
        assert_eq!(pm2_file_name("my_app.v2"), "my-app.v2");
        assert_eq!(pm2_file_name("api v2:blue"), "api-v2-blue");
        assert_eq!(pm2_file_name("prefix:app"), "prefix-app");
        assert_eq!(pm2_file_name("ünï"), "-n-");
        assert_eq!(pm2_file_name("bot🚀"), "bot--");
        assert!(is_file_name_form("my-app.v2") && !is_file_name_form("my_app.v2"));
    }

    #[test]
    fn live_names_of_rotated_copies() {
        assert_eq!(live_name("api-out.log"), "api-out.log");
        assert_eq!(live_name("api-out__2026-11-20_00-00-00.log.gz"), "api-out.log");
        assert_eq!(live_name("pm2-error.log.3.gz"), "pm2-error.log");
        assert_eq!(live_name("app.err.1"), "app.err");
        assert_eq!(live_name("bridge-out-1.log"), "bridge-out-1.log");
        assert_eq!(live_name("my__notes.log"), "my__notes.log");
    }

    #[test]
    fn process_ids_pm2_appends() {
        assert_eq!(instance_of("api-out.log", "api-out-3.log"), Some(3));
        assert_eq!(instance_of("err.log", "err-12.log"), Some(12));
        // pm2 replaces a configured `-N.log` by `-ID.log`.
        assert_eq!(instance_of("api-out-0.log", "api-out-7.log"), Some(7));
        assert_eq!(instance_of("api-out.log", "api-out.log"), None);
        assert_eq!(instance_of("api-out.log", "api-out-x.log"), None);
        assert_eq!(instance_of("app.err", "app-1.err"), None);
    }

    #[test]
    fn which_files_a_walk_takes() {
        assert!(looks_like_log("api-out.log"));
        assert!(looks_like_log("api-out.log.3.gz"));
        assert!(looks_like_log("api-out__2026-11-20_00-00-00.log.gz"));
        assert!(!looks_like_log("dump.pm2"));
        assert!(!looks_like_log("pm2.pid"));
        assert!(!looks_like_log("notes.log.bak"));
    }
}
