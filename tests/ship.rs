//! Shipping the CLI (issue 19): shell completions and man pages generated
//! from the clap definition, flags that read alike across subcommands, and
//! messages that say what to do.

use crate::util::{mask_elapsed, run};

/// stdout with the run's own timing masked.
fn out(r: &crate::util::Run) -> String {
    mask_elapsed(&r.stdout)
}

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

#[test]
fn rules_check_and_test_take_packs_with_rules_as_scan_does() {
    let positional = run(&["rules", "check", "fixtures/packs/broken"]);
    let flag = run(&["rules", "check", "--rules", "fixtures/packs/broken"]);
    assert_eq!(flag.code, 2);
    assert_eq!(flag.stdout, positional.stdout);
    let both =
        run(&["rules", "check", "--no-builtin-rules", "fixtures/packs/acme", "--rules", "fixtures/packs/broken"]);
    assert!(both.stdout.contains("b-unknown-key.toml:7:1"), "{}", both.stdout);

    // One pack directory: its own fixtures/ are used without --fixtures.
    let t = run(&["rules", "test", "--rules", "fixtures/packs/acme"]);
    let given = run(&["rules", "test", "fixtures/packs/acme", "--fixtures", "fixtures/packs/acme/fixtures"]);
    assert_eq!(t.code, 0, "{}{}", t.stdout, t.stderr);
    assert_eq!(t.stdout, given.stdout);
    assert!(!t.stdout.contains("\nuntested "), "{}", t.stdout);
}

#[test]
fn rules_test_says_why_it_has_no_fixtures_and_fails_on_a_missing_directory() {
    // A pack file: no PACK/fixtures, and the output says so.
    let file = run(&["rules", "test", "fixtures/packs/acme/rules.toml"]);
    assert!(
        file.stderr
            .starts_with("note: fixtures/packs/acme/rules.toml is a file, so no PACK/fixtures directory is looked for"),
        "{}",
        file.stderr
    );
    assert_eq!(file.code, 0, "{}", file.stdout);
    // A pack directory without fixtures/: named.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(crate::util::root().join("fixtures/packs/acme-failing/rules.toml"), dir.path().join("rules.toml"))
        .expect("copy pack");
    let d = dir.path().to_str().expect("utf-8 temp path");
    let bare = run(&["rules", "test", d]);
    assert!(bare.stderr.starts_with(&format!("note: no {d}/fixtures directory")), "{}", bare.stderr);
    assert!(bare.stdout.contains("untested acme.untested: no fixtures directory and no [[rule.example]]"));

    // A --fixtures directory that does not exist is an error naming it.
    let typo = run(&["rules", "test", "fixtures/packs/acme", "--fixtures", "fixtures/packs/acme/fixture"]);
    assert_eq!(typo.code, 2);
    assert!(typo.stderr.contains("--fixtures fixtures/packs/acme/fixture: no such directory"), "{}", typo.stderr);
    // So is the default one, outside a checkout.
    let away = crate::util::run_in(dir.path(), &["rules", "test"], None);
    assert_eq!(away.code, 2);
    assert!(
        away.stderr.contains("the default fixtures directory fixtures/rules does not exist here"),
        "{}",
        away.stderr
    );
}

#[test]
fn fail_on_takes_the_severity_as_the_report_prints_it() {
    let upper = run(&["scan", "fixtures/pm2", "--format", "json", "--fail-on", "CRITICAL"]);
    let lower = run(&["scan", "fixtures/pm2", "--format", "json", "--fail-on", "critical"]);
    assert_eq!(upper.code, 1, "{}", upper.stderr);
    assert_eq!(out(&upper), out(&lower));
    let never = run(&["scan", "fixtures/pm2", "--format", "json", "--fail-on", "Never"]);
    assert_eq!(never.code, 0, "{}", never.stderr);
}

#[test]
fn log_tz_takes_iana_names_and_since_takes_wall_clock_times_in_it() {
    // 2026-11-20 is winter time in Berlin: Europe/Berlin reads the logs'
    // naive stamps and the wall-clock --since as +01:00 does.
    let berlin = run(&[
        "scan",
        "fixtures/pm2/fork-time",
        "--format",
        "json",
        "--log-tz",
        "Europe/Berlin",
        "--since",
        "2026-11-20 11:00",
    ]);
    let fixed = run(&[
        "scan",
        "fixtures/pm2/fork-time",
        "--format",
        "json",
        "--log-tz",
        "+01:00",
        "--since",
        "2026-11-20T10:00:00Z",
    ]);
    assert_eq!(berlin.stderr, fixed.stderr);
    assert_eq!(out(&berlin), out(&fixed));
    let all = run(&["scan", "fixtures/pm2/fork-time", "--format", "json", "--log-tz", "+01:00"]);
    assert_ne!(out(&berlin), out(&all), "--since left nothing out: the test proves nothing");

    // A bare date is its midnight in --log-tz.
    let day = run(&["scan", "fixtures/pm2/fork-time", "--format", "json", "--until", "2026-11-21"]);
    let rfc = run(&["scan", "fixtures/pm2/fork-time", "--format", "json", "--until", "2026-11-21T00:00:00Z"]);
    assert_eq!(out(&day), out(&rfc));

    let bad = run(&["scan", "fixtures/pm2", "--log-tz", "Europe/Nowhere"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("IANA zone name like Europe/Berlin"), "{}", bad.stderr);
    let gap = run(&["scan", "fixtures/pm2", "--log-tz", "Europe/Berlin", "--since", "2026-03-29 02:30"]);
    assert_eq!(gap.code, 2);
    assert!(gap.stderr.contains("--since: 2026-03-29 02:30:00 does not exist in --log-tz"), "{}", gap.stderr);
}

#[test]
fn a_log_given_as_baseline_is_named_and_never_the_target_of_a_suggested_command() {
    let log = "fixtures/pm2/fork-time/tws-bridge-error.log";
    let r = run(&["scan", "fixtures/pm2", "--baseline", log]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains(&format!("baseline {log}:1:4: not logtriage JSON output")), "{}", r.stderr);
    assert!(r.stderr.contains("--baseline takes what a previous run wrote"), "{}", r.stderr);
    // The only redirection proposed writes a new file, not the log.
    assert!(!r.stderr.contains(&format!("> {log}")), "{}", r.stderr);
    assert!(r.stderr.contains("> baseline.json"), "{}", r.stderr);
}

#[test]
fn rule_pack_mistakes_get_messages_that_say_what_to_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    let head = "[[rule]]\nid = \"acme.x\"\ntitle = \"t\"\nseverity = \"low\"\n";
    let packs = [
        ("escape.toml", format!("{head}regex = \"ERR (\\w+)\"\nfix = \"f\"\n")),
        ("late.toml", format!("{head}regex = 'ERR'\n\n[[rule.example]]\nexpect = 1\nlog = 'ERR'\nfix = \"f\"\n")),
        ("absence.toml", format!("{head}regex = 'link down'\ncorrelate = \"absence\"\nfix = \"f\"\n")),
        (
            "nolit.toml",
            format!(
                "{head}regex = 'ok'\nfix = \"f\"\n\n[[rule]]\nid = \"acme.y\"\ntitle = \"t\"\nseverity = \"low\"\nregex = '\\d+ms'\nfix = \"f\"\n"
            ),
        ),
    ];
    for (name, text) in &packs {
        std::fs::write(dir.path().join(name), text).expect("write pack");
    }
    let r = crate::util::run_in(dir.path(), &["rules", "check", "--no-builtin-rules", "."], None);
    assert_eq!(r.code, 2, "{}", r.stdout);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let find = |prefix: &str| {
        lines.iter().find(|l| l.starts_with(prefix)).copied().unwrap_or_else(|| panic!("no {prefix} in {}", r.stdout))
    };
    assert!(find("./absence.toml:6:13: ").ends_with(
        "correlate = \"absence\" needs a table: correlate = { kind = \"absence\", until = '<regex of the recovery>', window = \"2m\" }"
    ));
    assert!(find("./escape.toml:5:16: ").contains("write regexes in single quotes"));
    assert!(find("./late.toml:10:1: ").ends_with("move it above the examples (they go last in the rule)"));
    // The warning points at the regex of the second rule (line 12, column 9).
    find("./nolit.toml:12:9: warning: rule 'acme.y': its regex has no literal");
}

/// Docker is not available where the tests run, so the image is not
/// built here; instead the Dockerfile and the README's "Install" section
/// must tell the same build: the same images, the same cargo command, the
/// same commands to build and run it, the logs mounted read-only, and a
/// .dockerignore that keeps what the build reads.
#[test]
fn dockerfile_build_steps_match_the_readme() {
    let root = crate::util::root();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).expect("Dockerfile");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let install = section(&readme, "## Install");
    let instructions: Vec<(&str, &str)> = dockerfile
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(' '))
        .collect();
    let of = |kind: &str| -> Vec<&str> { instructions.iter().filter(|(k, _)| *k == kind).map(|(_, a)| *a).collect() };

    // Two stages: the Rust image builds, a slim Debian runs.
    let from = of("FROM");
    assert_eq!(from.len(), 2, "{from:?}");
    let (builder, runtime) = (from[0].trim_end_matches(" AS build"), from[1]);
    assert!(builder.starts_with("rust:") && from[0].ends_with(" AS build"), "{from:?}");
    assert!(runtime.starts_with("debian:") && runtime.ends_with("-slim"), "{runtime}");
    assert!(of("COPY").contains(&"--from=build /src/target/release/logtriage /usr/local/bin/logtriage"));
    assert_eq!(of("USER"), ["nobody"]);
    assert_eq!(of("ENTRYPOINT"), ["[\"logtriage\"]"]);
    // Every image and every build command the Dockerfile runs is the one
    // the README names.
    for named in [builder, runtime].into_iter().chain(of("RUN")) {
        assert!(install.contains(&format!("`{named}`")), "README's Install section does not name `{named}`");
    }
    // The README's docker commands are the Dockerfile's own usage lines.
    let shown: Vec<&str> = install.lines().filter(|l| l.starts_with("docker ")).collect();
    assert!(shown.len() >= 2, "{install}");
    for cmd in &shown {
        if cmd.starts_with("docker run") {
            assert!(cmd.contains(":/logs:ro logtriage scan /logs"), "logs must be mounted read-only: {cmd}");
        }
    }
    for cmd in &shown[..2] {
        assert!(dockerfile.contains(&format!("#   {cmd}\n")), "the Dockerfile's header does not show `{cmd}`");
    }
    // The build context keeps what `cargo build` reads.
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).expect(".dockerignore");
    for needed in ["/src", "/rules", "/tests", "/benches", "/examples", "/Cargo.toml", "/Cargo.lock"] {
        assert!(!ignore.lines().any(|l| l.trim() == needed), ".dockerignore leaves out {needed}");
    }
}

/// The README text from `heading` to the next heading of its level.
fn section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let start = readme.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("README has no {heading}"));
    let body = &readme[start + heading.len() + 2..];
    body.find("\n## ").map_or(body, |end| &body[..end])
}
