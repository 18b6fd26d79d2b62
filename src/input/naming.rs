//! pm2's file names → app, stream, instance, rotation. pm2 writes
//! `APP-out.log`, `APP-error.log`, cluster `APP-out-ID.log`, the daemon's
//! `pm2.log`, `APP.log` with `log_file`; pm2-logrotate adds
//! `__YYYY-MM-DD_HH-mm-ss` before `.log` (and `.gz`), system logrotate
//! appends `.N` / `.N.gz`.

use std::sync::LazyLock;

use regex::Regex;

use super::{SourceMeta, Stream};

// Both patterns are constants, compiled by every test that classifies a
// name: `expect` cannot fire on any input.
static APP_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?P<app>.+?)-(?P<stream>out|error|err)(?:-(?P<id>\d+))?",
        r"(?P<rot>__\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2})?\.log(?P<n>\.\d+)?(?P<gz>\.gz)?$"
    ))
    .expect("static regex")
});

static OTHER_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?P<app>.+?)(?P<rot>__\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2})?",
        r"\.log(?P<n>\.\d+)?(?P<gz>\.gz)?$"
    ))
    .expect("static regex")
});

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
            stream: Stream::Combined,
            instance: None,
            rotated,
            compressed: gz,
        };
    }
    SourceMeta {
        path: path.to_string(),
        app: None,
        stream: Stream::Unknown,
        instance: None,
        rotated: false,
        compressed: gz,
    }
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
    fn which_files_a_walk_takes() {
        assert!(looks_like_log("api-out.log"));
        assert!(looks_like_log("api-out.log.3.gz"));
        assert!(looks_like_log("api-out__2026-11-20_00-00-00.log.gz"));
        assert!(!looks_like_log("dump.pm2"));
        assert!(!looks_like_log("pm2.pid"));
        assert!(!looks_like_log("notes.log.bak"));
    }
}
