//! Shipping the CLI (issue 19): shell completions and man pages generated
//! from the clap definition, flags that read alike across subcommands, and
//! messages that say what to do.

use crate::util::run;

/// The subcommands every completion script and man page must know.
const SUBCOMMANDS: [&str; 5] = ["scan", "rules", "watch", "completions", "man"];

#[test]
fn completions_for_each_shell_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        for sub in SUBCOMMANDS.iter().chain(&["check", "explain"]) {
            assert!(r.stdout.contains(sub), "{shell} completions lack `{sub}`");
        }
        // Flags of a nested subcommand are completed too.
        assert!(r.stdout.contains("fail-on"), "{shell} completions lack --fail-on");
    }
    let bad = run(&["completions", "tcsh"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("possible values"), "{}", bad.stderr);
}

#[test]
fn man_renders_the_page_and_one_per_subcommand() {
    let r = run(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(".TH logtriage 1"), "{}", r.stdout);
    for sub in SUBCOMMANDS {
        assert!(r.stdout.contains(&format!("logtriage\\-{sub}(1)")), "man page lacks {sub}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().to_str().expect("utf-8 temp path");
    let w = run(&["man", "--dir", d]);
    assert_eq!(w.code, 0, "{}", w.stderr);
    let scan = std::fs::read_to_string(dir.path().join("logtriage-scan.1")).expect("logtriage-scan.1");
    assert!(scan.contains("\\-\\-fail\\-on"), "{scan}");
    assert!(dir.path().join("logtriage-rules-test.1").is_file());
    let missing = dir.path().join("no/such/dir");
    let e = run(&["man", "--dir", missing.to_str().expect("utf-8 temp path")]);
    assert_eq!(e.code, 2);
    assert!(e.stderr.contains("cannot write the man pages into") && e.stderr.contains("no/such/dir"), "{}", e.stderr);
}
