//! `--pm2`: the running pm2's own list of apps and the files it writes
//! (`pm2 jlist`: `name`, `pm_id`, `pm2_env.pm_out_log_path`,
//! `pm_err_log_path`, `pm_log_path`, `PM2_HOME`). pm2 is asked only when its
//! daemon is running (`$PM2_HOME/rpc.sock` exists): `pm2 jlist` without one
//! starts a daemon, which a triage tool must not do.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// How long `pm2 jlist` may take (a busy daemon answers in well under a
/// second; a hung one must not hang the scan).
const JLIST_TIMEOUT: Duration = Duration::from_secs(15);

/// One process of `pm2 jlist`, the fields logtriage reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Proc {
    /// The app's name, raw (as in `App [NAME:ID]`).
    pub name: String,
    /// pm2's process id.
    pub pm_id: u32,
    /// What pm2 resolved from the app's configuration.
    pub pm2_env: ProcEnv,
}

/// The part of `pm2_env` that names files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProcEnv {
    /// stdout file (`out_file`), after the `-ID` suffix.
    pub pm_out_log_path: Option<String>,
    /// stderr file (`error_file`).
    pub pm_err_log_path: Option<String>,
    /// Combined file (`log_file`), when there is one.
    pub pm_log_path: Option<String>,
    /// The daemon's home, where `pm2.log` is.
    #[serde(rename = "PM2_HOME")]
    pub pm2_home: Option<String>,
}

/// What asking pm2 gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pm2List {
    /// The processes.
    pub procs: Vec<Proc>,
    /// The pm2 home asked (its `pm2.log` is the daemon log).
    pub home: PathBuf,
}

/// The pm2 home this user's `pm2` talks to: `$PM2_HOME`, else `~/.pm2`
/// (pm2's `paths.js`).
pub fn pm2_home(home: Option<&Path>) -> Option<PathBuf> {
    match std::env::var_os("PM2_HOME") {
        Some(h) if !h.is_empty() => Some(PathBuf::from(h)),
        _ => home.map(|h| h.join(".pm2")),
    }
}

/// Runs `pm2 jlist` if the daemon is running. The error is a sentence
/// for the summary's notes: the scan goes on, naming from files.
pub fn jlist(home: Option<&Path>) -> Result<Pm2List, String> {
    let pm2_home = pm2_home(home).ok_or("--pm2: no PM2_HOME and no home directory, so no pm2 to ask")?;
    let socket = pm2_home.join("rpc.sock");
    if !socket.exists() {
        return Err(format!(
            "--pm2: no pm2 daemon is running for {} (no rpc.sock; set PM2_HOME for another user's pm2); \
             files were named from the ecosystem file or their names",
            pm2_home.display()
        ));
    }
    let stdout = run_jlist()?;
    let procs = parse(&stdout).ok_or_else(|| {
        "--pm2: `pm2 jlist` printed no process list (is `pm2` on PATH the pm2 that runs the apps?)".to_string()
    })?;
    Ok(Pm2List { procs, home: pm2_home })
}

fn run_jlist() -> Result<String, String> {
    let mut child = Command::new("pm2")
        .arg("jlist")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("--pm2: cannot run `pm2 jlist` ({e}); is pm2 on PATH?"))?;
    let mut out = child.stdout.take().ok_or("--pm2: `pm2 jlist` gave no output")?;
    // Read on a thread so that a hung pm2 can be timed out and killed.
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).map(|_| s)
    });
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < JLIST_TIMEOUT => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("--pm2: `pm2 jlist` did not answer within {} s", JLIST_TIMEOUT.as_secs()));
            }
        }
    }
    match reader.join() {
        Ok(Ok(s)) => Ok(s),
        _ => Err("--pm2: could not read the output of `pm2 jlist`".into()),
    }
}

/// The process list in `pm2 jlist`'s output: pm2 may print other lines
/// first (a banner, `[PM2] ...` messages), so the list is the first line
/// that starts a JSON array of processes.
pub fn parse(stdout: &str) -> Option<Vec<Proc>> {
    let mut at = 0;
    for line in stdout.split_inclusive('\n') {
        if line.trim_start().starts_with('[') {
            let mut values = serde_json::Deserializer::from_str(&stdout[at..]).into_iter::<Vec<Proc>>();
            if let Some(Ok(procs)) = values.next() {
                return Some(procs);
            }
        }
        at += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_found_after_a_banner() {
        let out = "[PM2] Spawning PM2 daemon with pm2_home=/x\n[PM2] PM2 Successfully daemonized\n[{\"name\":\"my_app.v2\",\"pm_id\":0,\"pm2_env\":{\"pm_out_log_path\":\"/h/logs/my-app.v2-out.log\",\"pm_err_log_path\":\"/h/logs/my-app.v2-error.log\",\"PM2_HOME\":\"/h\",\"env\":{\"SECRET\":\"x\"}}}]";
        let procs = parse(out).expect("list");
        assert_eq!(procs.len(), 1);
        assert_eq!(procs[0].name, "my_app.v2");
        assert_eq!(procs[0].pm2_env.pm_log_path, None);
        assert_eq!(procs[0].pm2_env.pm2_home.as_deref(), Some("/h"));
        assert_eq!(parse("[]"), Some(vec![]));
        assert_eq!(parse("[PM2][ERROR] Daemon not launched\n"), None);
    }

    #[test]
    fn the_recorded_list_parses() {
        let recorded = include_str!("../../fixtures/pm2-jlist/jlist.json");
        let procs = parse(recorded).expect("recorded jlist");
        let names: Vec<(&str, u32)> = procs.iter().map(|p| (p.name.as_str(), p.pm_id)).collect();
        assert_eq!(names, vec![("my_app.v2", 0), ("bridge", 1), ("bridge", 2)]);
        assert!(procs[1].pm2_env.pm_err_log_path.as_deref().is_some_and(|p| p.ends_with("/logs/bridge-error-1.log")));
    }
}
