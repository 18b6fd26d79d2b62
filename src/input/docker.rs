//! Docker's json-file logs: `/var/lib/docker/containers/<ID>/<ID>-json.log`
//! (and the driver's rotated `<ID>-json.log.N`), named by the container's
//! name in the `config.v2.json` beside them (`"Name":"/api-1"`). Hands on
//! the app name; reading the lines is `records::envelope`'s.

use std::path::Path;

use serde::Deserialize;

/// The files Docker keeps in a container's directory besides its log:
/// walking passes them over without counting them.
pub const CONTAINER_FILES: &[&str] =
    &["config.v2.json", "hostconfig.json", "hostname", "hosts", "resolv.conf", "resolv.conf.hash"];

/// The part of `config.v2.json` that names the container.
#[derive(Deserialize)]
struct Config {
    #[serde(rename = "Name", default)]
    name: String,
}

/// Returns true if and only if `file_name` is a json-file log's name: the
/// container's 64-hex-digit id, `-json.log`, and the driver's rotation
/// suffix `.N` (`max-file`), possibly compressed (`compress=true`).
pub fn is_container_log(file_name: &str) -> bool {
    let Some((id, rest)) = file_name.split_at_checked(64) else { return false };
    if !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return false;
    }
    let Some(rest) = rest.strip_prefix("-json.log") else { return false };
    let rest = rest.strip_suffix(".gz").unwrap_or(rest);
    rest.is_empty() || rest.strip_prefix('.').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The name of the container whose log `path` is, from `config.v2.json`
/// in its directory; None when that file is not there or names nothing
/// (logs copied without it are named by their file name).
pub fn container_name(path: &Path) -> Option<String> {
    let config = path.parent()?.join("config.v2.json");
    let bytes = std::fs::read(config).ok()?;
    let config: Config = serde_json::from_slice(&bytes).ok()?;
    let name = config.name.trim_start_matches('/');
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4c1a0b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b";

    #[test]
    fn container_log_names() {
        assert!(is_container_log(&format!("{ID}-json.log")));
        assert!(is_container_log(&format!("{ID}-json.log.1")));
        assert!(is_container_log(&format!("{ID}-json.log.2.gz")));
        assert!(!is_container_log(&format!("{ID}-json.log.x")));
        assert!(!is_container_log("api-json.log"));
        assert!(!is_container_log(&format!("{}-json.log", ID.to_uppercase())));
    }

    #[test]
    fn names_come_from_the_config_beside_the_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join(format!("{ID}-json.log"));
        assert_eq!(container_name(&log), None);
        std::fs::write(dir.path().join("config.v2.json"), r#"{"ID":"3f4c","Name":"/bot-telegram-1","State":{}}"#)
            .expect("write");
        assert_eq!(container_name(&log).as_deref(), Some("bot-telegram-1"));
        std::fs::write(dir.path().join("config.v2.json"), "{not json").expect("write");
        assert_eq!(container_name(&log), None);
    }
}
