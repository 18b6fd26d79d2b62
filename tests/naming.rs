//! Names as the user configured them (issue 13, section 5): apps named by
//! the ecosystem file found beside the logs or given with `--ecosystem`, by
//! the running pm2 (`--pm2`, a recorded `pm2 jlist` behind a stand-in
//! `pm2`), by `--as` for stdin, and one name per app whether it came from
//! `pm2.log` or a sanitised file name.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{Doc, Run, root, run, run_in, scan_json};

/// (rule, app) per incident, in report order.
fn apps(doc: &Doc) -> Vec<(String, String)> {
    doc.incidents.iter().map(|i| (i.rule.clone(), i.app.clone().unwrap_or_default())).collect()
}

/// (file name, app, app_from, stream) per scanned file.
fn files(doc: &Doc) -> Vec<(String, String, String, String)> {
    doc.summary
        .files
        .iter()
        .map(|f| {
            let name = f.path.rsplit('/').next().unwrap_or(&f.path).to_string();
            (name, f.app.clone().unwrap_or_default(), f.app_from.clone().unwrap_or_default(), f.stream.clone())
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

fn quads(v: &[(&str, &str, &str, &str)]) -> Vec<(String, String, String, String)> {
    v.iter().map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string())).collect()
}

fn decode(r: &Run) -> Doc {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}); stderr: {}", r.stderr))
}

const SEED_INCIDENTS: &[(&str, &str)] = &[
    ("node.eaddrinuse", "market-bridge-paper"),
    ("tws.socket-reset", "market-bridge"),
    ("tws.client-id-in-use", "market-bridge-paper"),
    ("node.unhandled-rejection", "market-bridge"),
];

const SEED_FILES: &[(&str, &str, &str, &str)] = &[
    ("pm2-error.log", "market-bridge", "ecosystem", "err"),
    ("pm2-out.log", "market-bridge", "ecosystem", "out"),
    ("pm2-paper-error.log", "market-bridge-paper", "ecosystem", "err"),
    ("pm2-paper-out.log", "market-bridge-paper", "ecosystem", "out"),
];

/// The done-when of issue 13: `logs/pm2-error.log` and friends, scanned by
/// directory, are the apps `ecosystem.config.cjs` beside them names, not
/// an app called "pm2".
#[test]
fn seed_layout_found_beside_the_logs() {
    let (_, doc) = scan_json(&["fixtures/ecosystem-seed/logs"], &["--fail-on", "never"]);
    assert_eq!(apps(&doc), pairs(SEED_INCIDENTS));
    assert_eq!(files(&doc), quads(SEED_FILES));
    assert!(doc.summary.notes.is_empty(), "{:?}", doc.summary.notes);
    let eco = &doc.summary.ecosystems;
    assert_eq!(eco.len(), 1);
    assert_eq!((eco[0].path.as_str(), eco[0].how.as_str()), ("fixtures/ecosystem-seed/ecosystem.config.cjs", "found"));
    let names: Vec<&str> = eco[0].apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, vec!["market-bridge", "market-bridge-paper"]);
    assert_eq!(eco[0].apps[0].log_date_format.as_deref(), Some("YYYY-MM-DDTHH:mm:ss"));
}

/// Without the ecosystem file the same logs are about apps "pm2" and
/// "pm2-paper": what the SRE saw before.
#[test]
fn seed_layout_without_the_ecosystem_is_named_by_file_name() {
    let dir = copy_logs();
    let r = run(&["scan", "--format", "json", "--fail-on", "never", &dir.path().display().to_string()]);
    let doc = decode(&r);
    let got: Vec<String> = doc.incidents.iter().filter_map(|i| i.app.clone()).collect();
    assert_eq!(got, vec!["pm2-paper", "pm2", "pm2-paper", "pm2"]);
    assert!(doc.summary.files.iter().all(|f| f.app_from.as_deref() == Some("file-name")));
}

/// `--ecosystem` on logs copied elsewhere (no ecosystem beside them, not in
/// the directory it configures): matched by file name, with a note.
#[test]
fn seed_layout_with_a_given_ecosystem() {
    let dir = copy_logs();
    let eco = root().join("fixtures/ecosystem-seed/ecosystem.config.cjs").display().to_string();
    let r = run(&[
        "scan",
        "--format",
        "json",
        "--fail-on",
        "never",
        "--ecosystem",
        &eco,
        &dir.path().display().to_string(),
    ]);
    let doc = decode(&r);
    assert_eq!(apps(&doc), pairs(SEED_INCIDENTS));
    assert_eq!(files(&doc), quads(SEED_FILES));
    assert_eq!(doc.summary.ecosystems[0].how, "given");
    assert_eq!(
        doc.summary.notes,
        vec![format!(
            "{eco}: 4 file(s) were matched to its apps by file name only, not in the directory it configures (logs copied elsewhere?)"
        )]
    );
    // Given and found beside the logs: one file, listed once, as given.
    let (_, doc) = scan_json(
        &["fixtures/ecosystem-seed/logs"],
        &["--fail-on", "never", "--ecosystem", "fixtures/ecosystem-seed/ecosystem.config.cjs"],
    );
    assert_eq!(apps(&doc), pairs(SEED_INCIDENTS));
    assert_eq!(doc.summary.ecosystems.len(), 1);
    assert_eq!(doc.summary.ecosystems[0].how, "given");
    assert!(doc.summary.notes.is_empty(), "{:?}", doc.summary.notes);
}

/// A copy of the seed logs in a directory of its own, with no ecosystem
/// file beside or above it.
fn copy_logs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    for name in ["pm2-error.log", "pm2-out.log", "pm2-paper-error.log", "pm2-paper-out.log"] {
        std::fs::copy(root().join("fixtures/ecosystem-seed/logs").join(name), logs.join(name)).expect("copy");
    }
    dir
}

/// Cluster `-ID` files, merged logs, `log_file`, and an `error_file` that
/// only running the file could tell (a note, and the file name).
#[test]
fn cluster_merged_combined_and_unresolved_files() {
    let (_, doc) = scan_json(&["fixtures/ecosystem-cases"], &["--fail-on", "never"]);
    assert_eq!(
        apps(&doc),
        pairs(&[
            ("node.eaddrinuse", "ledger"),
            ("redis.unreachable", "journal"),
            ("postgres.auth-failed", "notifier"),
            ("node.unhandled-rejection", "gateway"),
        ])
    );
    let gateway = doc.incidents.iter().find(|i| i.app.as_deref() == Some("gateway")).expect("gateway");
    assert_eq!(gateway.count, 2, "one incident for both workers");
    assert_eq!(
        files(&doc),
        quads(&[
            ("all-in-one.log", "journal", "ecosystem", "combined"),
            ("errors-0.log", "gateway", "ecosystem", "err"),
            ("errors-3.log", "gateway", "ecosystem", "err"),
            ("ledger-errors.log", "ledger", "ecosystem", "err"),
            ("ledger-output.log", "ledger", "ecosystem", "out"),
            ("notifier-error.log", "notifier", "file-name", "err"),
            ("notifier-out.log", "notifier", "ecosystem", "out"),
        ])
    );
    assert_eq!(
        doc.summary.notes,
        vec![
            "fixtures/ecosystem-cases/ecosystem.config.js: apps[3] (notifier): its error_file is \
         `process.env.NOTIFIER_LOG_DIR + '/notifier-error.log'`, which is only known when pm2 runs the file; \
         that file is named from its file name",
            // Issue 15: what the walk did not read is said (the ecosystem
            // file itself is known, and not counted).
            "1 file(s) in the directories given were passed over, their names not a log's (*.log, *.log.N, and \
             their .gz): fixtures/ecosystem-cases/README.md; name a file to read it"
        ]
    );
    let files_of = |name: &str| -> Vec<(String, Option<bool>)> {
        let app = doc.summary.ecosystems[0].apps.iter().find(|a| a.name == name).expect("app");
        app.files.iter().map(|f| (f.stream.clone(), f.per_instance)).collect()
    };
    assert_eq!(files_of("gateway"), vec![("err".to_string(), Some(true))]);
    assert_eq!(files_of("ledger"), vec![("out".to_string(), Some(false)), ("err".to_string(), Some(false))]);
    assert_eq!(files_of("journal"), vec![("combined".to_string(), Some(false))]);
}

/// `--as` gives stdin a file name: its app and stream. With a path beside
/// an ecosystem file, that file names it.
#[test]
fn stdin_as_a_file() {
    let log = std::fs::read(root().join("fixtures/ecosystem-seed/logs/pm2-paper-out.log")).expect("read");
    let r =
        run_in(&root(), &["scan", "--format", "json", "--fail-on", "never", "-", "--as", "api-out.log"], Some(&log));
    let d = decode(&r);
    assert_eq!(apps(&d), pairs(&[("tws.client-id-in-use", "api")]));
    assert_eq!(files(&d), quads(&[("<stdin>", "api", "file-name", "out")]));
    let seed = root().join("fixtures/ecosystem-seed");
    let r = run_in(
        &seed,
        &["scan", "--format", "json", "--fail-on", "never", "-", "--as", "logs/pm2-paper-out.log"],
        Some(&log),
    );
    let d = decode(&r);
    assert_eq!(apps(&d), pairs(&[("tws.client-id-in-use", "market-bridge-paper")]));
    assert_eq!(files(&d), quads(&[("<stdin>", "market-bridge-paper", "ecosystem", "out")]));
    // Without `-`, `--as` names nothing: a usage error.
    let r = run(&["scan", "--as", "api-out.log", "fixtures/ecosystem-seed/logs"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--as names what stdin holds"), "{}", r.stderr);
}

/// `--app` takes the configured names: the other app's files are not read.
#[test]
fn app_filter_uses_configured_names() {
    let (_, doc) =
        scan_json(&["fixtures/ecosystem-seed/logs"], &["--fail-on", "never", "--app", "market-bridge-paper"]);
    assert_eq!(
        apps(&doc),
        pairs(&[("node.eaddrinuse", "market-bridge-paper"), ("tws.client-id-in-use", "market-bridge-paper")])
    );
    assert_eq!(doc.summary.files.len(), 2);
    assert_eq!(doc.summary.notes, vec!["--app: 2 file(s) of other apps were not read"]);
}

/// pm2 writes `my_app.v2`'s files as `my-app.v2-*.log` while `pm2.log`
/// says `App [my_app.v2:0]` (recorded from pm2 7.0.4): one app, one name,
/// the raw one; `--app` takes either form.
#[test]
fn pm2_log_raw_name_and_sanitised_file_name_are_one_app() {
    let home = "fixtures/pm2-jlist/root/home/.pm2";
    let (_, doc) = scan_json(&[home], &["--fail-on", "never"]);
    // Killed by SIGKILL every 2 s: three exits of runs that short are a
    // crash loop too, named as pm2.log names the app.
    let want = pairs(&[
        ("pm2.crash-loop", "my_app.v2"),
        ("node.eaddrinuse", "my_app.v2"),
        ("pm2.restart-on-signal", "my_app.v2"),
    ]);
    assert_eq!(apps(&doc), want);
    assert_eq!(
        files(&doc),
        quads(&[
            ("my-app.v2-error.log", "my_app.v2", "pm2.log", "err"),
            ("my-app.v2-out.log", "my_app.v2", "pm2.log", "out"),
            ("pm2.log", "", "", "daemon"),
        ])
    );
    for form in ["my_app.v2", "my-app.v2"] {
        let (_, doc) = scan_json(&[home], &["--fail-on", "never", "--app", form]);
        assert_eq!(apps(&doc), want, "--app {form}");
    }
}

/// `--pm2`: the running pm2's own paths name the files. A stand-in `pm2`
/// (fixtures/pm2-jlist/bin) prints the recorded `pm2 jlist` for a copy of
/// the recorded tree.
#[test]
fn pm2_jlist_names_files() {
    let tree = copy_tree(&root().join("fixtures/pm2-jlist/root"));
    let home = tree.path().join("home/.pm2");
    // pm2 is asked only when its daemon runs: its socket is there.
    std::fs::write(home.join("rpc.sock"), "").expect("socket stand-in");
    let r = with_fake_pm2(
        tree.path(),
        &home,
        &["scan", "--format", "json", "--fail-on", "never", "--pm2", "home/.pm2", "app/logs"],
    );
    let doc = decode(&r);
    assert_eq!(
        apps(&doc),
        pairs(&[
            ("pm2.crash-loop", "my_app.v2"),
            ("node.eaddrinuse", "my_app.v2"),
            ("pm2.restart-on-signal", "my_app.v2"),
            ("node.unhandled-rejection", "bridge"),
        ])
    );
    assert_eq!(
        files(&doc),
        quads(&[
            ("bridge-error-1.log", "bridge", "pm2", "err"),
            ("bridge-error-2.log", "bridge", "pm2", "err"),
            ("bridge-out-1.log", "bridge", "pm2", "out"),
            ("bridge-out-2.log", "bridge", "pm2", "out"),
            ("my-app.v2-error.log", "my_app.v2", "pm2", "err"),
            ("my-app.v2-out.log", "my_app.v2", "pm2", "out"),
            ("pm2.log", "", "", "daemon"),
        ])
    );
    // Nothing about naming to say (the bridge writes no timestamps: that
    // note is not ours).
    let naming_notes: Vec<&String> =
        doc.summary.notes.iter().filter(|n| n.contains("pm2") || n.contains("ecosystem")).collect();
    assert!(naming_notes.is_empty(), "{naming_notes:?}");
    // No daemon: pm2 is not asked (`pm2 jlist` would start one), a note says so.
    std::fs::remove_file(home.join("rpc.sock")).expect("rm");
    let r =
        with_fake_pm2(tree.path(), &home, &["scan", "--format", "json", "--fail-on", "never", "--pm2", "home/.pm2"]);
    let doc = decode(&r);
    assert!(doc.summary.notes[0].starts_with("--pm2: no pm2 daemon is running for "), "{:?}", doc.summary.notes);
    assert_eq!(files(&doc)[0].2, "pm2.log");
}

fn with_fake_pm2(dir: &Path, pm2_home: &Path, args: &[&str]) -> Run {
    let bin = root().join("fixtures/pm2-jlist/bin");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new(env!("CARGO_BIN_EXE_logtriage"))
        .current_dir(dir)
        .args(args)
        .env("PATH", path)
        .env("PM2_HOME", pm2_home)
        .env("LOGTRIAGE_TEST_ROOT", dir)
        .stdin(Stdio::null())
        .output()
        .expect("run logtriage");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn copy_tree(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(from, dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path: PathBuf = entry.expect("entry").path();
        let dest = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).expect("copy");
        }
    }
}

/// A given ecosystem file that cannot be read stops the scan (exit 2),
/// naming it; one that reads but names nothing resolvable is a note.
#[test]
fn an_unreadable_given_ecosystem_is_a_usage_error() {
    let r = run(&["scan", "--ecosystem", "fixtures/no-such/ecosystem.config.js", "fixtures/ecosystem-seed/logs"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("fixtures/no-such/ecosystem.config.js: cannot read the ecosystem file"), "{}", r.stderr);
}
