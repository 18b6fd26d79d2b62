//! pm2 ecosystem files, read without running them: which apps they start
//! and which files those apps write ([`Ecosystem`]).
//!
//! A JavaScript file (`ecosystem.config.js`, `.cjs`, `.mjs`) is split into
//! tokens (`lex`) and its data evaluated (`eval`): literals, top-level
//! consts, spreads, template literals, `__dirname`, `path.join`/`resolve`
//! and `process.env.X || 'default'` fallbacks; what only running the file
//! could tell (a function's result, an environment variable without a
//! default, `new Date()`) becomes a note naming the file and the key. A
//! `.json` file is one JavaScript expression (pm2 evaluates it as such,
//! comments and trailing commas included); YAML goes through `yaml`.
//! `apps` then applies pm2's own rules (aliases, defaults, `-ID`
//! suffixes) to the value.
//!
//! Why a scanner of our own rather than a JavaScript parser crate:
//! oxc_parser and boa_parser need a newer Rust than this crate's MSRV
//! (1.95+ and 1.91), swc_ecma_parser brings about 110 crates, and a
//! parser hands back a syntax tree that still needs this evaluator; an
//! ecosystem file's data is object literals, which a small tokenizer and
//! expression reader cover, skipping everything else by its brackets.

mod apps;
mod eval;
mod lex;
mod value;
mod yaml;

use std::path::{Path, PathBuf};

pub use apps::{App, LogFile, Places};

/// File names looked for beside the logs: what `pm2 start` and `pm2
/// ecosystem` use (`ecosystem.config.js`, `.cjs`, `.mjs`, and
/// `ecosystem.json`/`.yml`/`.yaml`), pm2's older `process.json`/`.yml`,
/// and `pm2.config.js`.
pub const FILE_NAMES: &[&str] = &[
    "ecosystem.config.js",
    "ecosystem.config.cjs",
    "ecosystem.config.mjs",
    "ecosystem.json",
    "ecosystem.yml",
    "ecosystem.yaml",
    "process.json",
    "process.yml",
    "process.yaml",
    "pm2.config.js",
    "pm2.config.cjs",
];

/// Larger files are not ecosystem files (a config is a few KiB).
const MAX_BYTES: u64 = 1 << 20;

/// An ecosystem file and the apps read from it.
#[derive(Debug, Clone)]
pub struct Ecosystem {
    /// The path as given or found, for notes and the summary.
    pub shown: String,
    /// Its real path.
    pub path: PathBuf,
    /// True if given with `--ecosystem`, false if found beside the logs.
    pub given: bool,
    /// Its apps.
    pub apps: Vec<App>,
}

/// Where `~`, `os.homedir()` and pm2's default log directory lead.
#[derive(Debug, Clone, Default)]
pub struct Homes {
    /// This user's home directory.
    pub home: Option<String>,
    /// The pm2 home (`$PM2_HOME`, else `~/.pm2`).
    pub pm2_home: Option<String>,
}

/// Reads the ecosystem file at `path`. An I/O error is returned (the
/// caller decides whether a missing file matters); what the file holds
/// that cannot be read becomes notes.
pub fn load(
    path: &Path,
    shown: &str,
    given: bool,
    homes: &Homes,
    notes: &mut Vec<String>,
) -> std::io::Result<Ecosystem> {
    let meta = std::fs::metadata(path)?;
    let real = std::fs::canonicalize(path).or_else(|_| std::path::absolute(path))?;
    let mut eco = Ecosystem { shown: shown.to_string(), path: real.clone(), given, apps: Vec::new() };
    if meta.len() > MAX_BYTES {
        notes.push(format!("{shown}: {} bytes is too large for an ecosystem file; not read", meta.len()));
        return Ok(eco);
    }
    let bytes = std::fs::read(path)?;
    let mut file_notes = Vec::new();
    eco.apps = read(&String::from_utf8_lossy(&bytes), &real, shown, homes, &mut file_notes);
    // A file found by its name that holds no apps may be some other tool's
    // `process.json`: not worth a note. Given or named `ecosystem.*`, it is.
    let named_for_pm2 = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("ecosystem"));
    if given || named_for_pm2 || !eco.apps.is_empty() {
        notes.extend(file_notes);
    }
    Ok(eco)
}

/// The apps of ecosystem source text `src`, read as the file at `real`
/// (an absolute path: its extension decides the syntax, its directory is
/// `__dirname`); notes (prefixed with `shown`) say what could not be read.
pub fn read(src: &str, real: &Path, shown: &str, homes: &Homes, notes: &mut Vec<String>) -> Vec<App> {
    let file = real.to_string_lossy();
    let dir = real.parent().map_or_else(|| "/".to_string(), |d| d.to_string_lossy().into_owned());
    let Some(config) = config(src, &file, &dir, homes, shown, notes) else { return Vec::new() };
    let places = Places { dir: &dir, home: homes.home.as_deref(), pm2_home: homes.pm2_home.as_deref() };
    apps::apps(&config, shown, &places, notes)
}

/// The exported configuration, by the file's syntax.
fn config(
    src: &str,
    file: &str,
    dir: &str,
    homes: &Homes,
    shown: &str,
    notes: &mut Vec<String>,
) -> Option<value::Value> {
    let ext = Path::new(file).extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    if ext == "yml" || ext == "yaml" {
        return match yaml::parse(src) {
            Ok(v) => Some(v),
            Err(e) => {
                notes.push(format!("{shown}:{}:{}: not valid YAML ({}); not read", e.line, e.col, e.message));
                None
            }
        };
    }
    let tokens = match lex::tokenize(src) {
        Ok(t) => t,
        Err(e) => {
            let (line, col) = crate::error::line_col(src, e.at);
            notes.push(format!("{shown}:{line}:{col}: {}; not read", e.message));
            return None;
        }
    };
    let env = eval::Env { file, dir, home: homes.home.as_deref() };
    if ext == "json" {
        return match eval::expression(src, &tokens, &env) {
            Ok(v) => Some(v),
            Err(e) => {
                let (line, col) = crate::error::line_col(src, e.at);
                notes.push(format!("{shown}:{line}:{col}: {}; not read", e.message));
                None
            }
        };
    }
    let m = eval::module(src, &tokens, &env);
    if let Some(e) = m.errors.first() {
        let (line, col) = crate::error::line_col(src, e.at);
        let what = if m.exports.is_some() { "skipped a statement it cannot read" } else { "cannot read the file" };
        notes.push(format!("{shown}:{line}:{col}: logtriage {what} ({})", e.message));
    }
    match m.exports {
        Some(v) => Some(v),
        None => {
            if m.errors.is_empty() {
                notes.push(format!("{shown}: exports nothing (no `module.exports =` or `export default`); not read"));
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Stream;

    fn homes() -> Homes {
        Homes { home: Some("/home/deploy".into()), pm2_home: Some("/home/deploy/.pm2".into()) }
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn each_syntax_reads_the_same_app() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = std::fs::canonicalize(dir.path()).expect("canonical");
        let files = [
            write(dir.path(), "a.config.cjs", "module.exports = { apps: [{ name: 'api', out_file: 'logs/o.log' }] }"),
            write(
                dir.path(),
                "b.json",
                "{ // pm2 evaluates JSON as JavaScript\n \"apps\": [{ \"name\": \"api\", \"out_file\": \"logs/o.log\", }] }",
            ),
            write(dir.path(), "c.yml", "apps:\n  - name: api\n    out_file: logs/o.log\n"),
        ];
        for f in files {
            let mut notes = Vec::new();
            let eco = load(&f, "x", true, &homes(), &mut notes).expect("load");
            assert!(notes.is_empty(), "{notes:?}");
            assert_eq!(eco.apps[0].name.as_deref(), Some("api"));
            let out = &eco.apps[0].files[0];
            assert_eq!((out.stream, out.path.clone()), (Stream::Out, format!("{}/logs/o.log", real.display())));
        }
    }

    #[test]
    fn broken_files_are_notes_with_a_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut notes = Vec::new();
        let f = write(
            dir.path(),
            "ecosystem.config.js",
            "module.exports = {\n  apps: [{ name: 'a'\n    script: 'x' }]\n}\n",
        );
        let eco = load(&f, "ecosystem.config.js", false, &homes(), &mut notes).expect("load");
        assert!(eco.apps.is_empty());
        assert_eq!(
            notes,
            vec!["ecosystem.config.js:3:5: logtriage cannot read the file (expected `,` or `}` after a property)"]
        );
        let mut notes = Vec::new();
        let f = write(dir.path(), "process.yml", "apps: [\n");
        load(&f, "process.yml", true, &homes(), &mut notes).expect("load");
        assert!(notes[0].starts_with("process.yml:"), "{notes:?}");
    }

    /// Loads `fixtures/ecosystem/<name>` (files copied from public
    /// repositories, see its README): its apps as (name, [(stream, path
    /// under its directory, per_instance)]), and its notes.
    fn real(name: &str) -> (Vec<AppFiles>, Vec<String>) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ecosystem").join(name);
        let dir = std::fs::canonicalize(path.parent().expect("dir")).expect("canonical");
        let mut notes = Vec::new();
        let eco = load(&path, name, true, &homes(), &mut notes).expect("load");
        let apps = eco
            .apps
            .iter()
            .map(|a| {
                let files = a
                    .files
                    .iter()
                    .map(|f| {
                        let shown = match f.path.strip_prefix(&format!("{}/", dir.display())) {
                            Some(rel) => rel.to_string(),
                            None => f.path.clone(),
                        };
                        (f.stream, shown, f.per_instance)
                    })
                    .collect();
                (a.name.clone().unwrap_or_default(), files)
            })
            .collect();
        (apps, notes)
    }

    /// An app's name and its files: (stream, path, per_instance).
    type AppFiles = (String, Vec<(Stream, String, Option<bool>)>);

    fn app(name: &str, files: &[(Stream, &str, Option<bool>)]) -> AppFiles {
        (name.to_string(), files.iter().map(|(s, p, i)| (*s, p.to_string(), *i)).collect())
    }

    #[test]
    fn real_files() {
        assert_eq!(
            real("10Kft-node-micro-services-template/process.yml"),
            (
                vec![
                    app(
                        "api",
                        &[
                            (Stream::Out, "logs/example-api.log", Some(false)),
                            (Stream::Err, "logs/example-api.error.log", Some(false)),
                        ]
                    ),
                    app(
                        "engine",
                        &[
                            (Stream::Out, "logs/example-engine.log", Some(false)),
                            (Stream::Err, "logs/example-engine.error.log", Some(false)),
                        ]
                    ),
                ],
                vec![]
            )
        );
        let (apps, notes) = real("NordicSoft-express-template/pm2.config.js");
        let fixtures =
            std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ecosystem")).expect("canonical");
        assert_eq!(
            apps,
            vec![app(
                "express-template-api",
                &[
                    (Stream::Out, &format!("{}/logs/pm2-out.log", fixtures.display()), Some(false)),
                    (Stream::Err, &format!("{}/logs/pm2-err.log", fixtures.display()), Some(false)),
                ]
            )]
        );
        assert!(notes.is_empty(), "{notes:?}");
        let (apps, notes) = real("UNCG-DAISY-Coastal-Image-Labeler/ecosystem.config.js");
        assert_eq!(apps, vec![app("app", &[])]);
        let keys: Vec<&str> =
            notes.iter().map(|n| n.split(": its ").nth(1).unwrap_or(n).split(' ').next().unwrap_or("")).collect();
        assert_eq!(keys, vec!["out_file", "error_file", "log_file"], "{notes:?}");
        assert!(notes[0].contains("is `${root}out.log`"), "{notes:?}");
        assert_eq!(
            real("thekanon-doo_sync_obsidian/ecosystem.config.js"),
            (
                vec![app(
                    "my-app",
                    &[
                        (Stream::Out, "/home/deploy/.pm2/logs/my-app-out.log", Some(true)),
                        (Stream::Err, "/home/deploy/.pm2/logs/my-app-error.log", Some(true)),
                    ]
                )],
                vec![]
            )
        );
    }

    /// Pieces of ecosystem files, shuffled: whatever they make, reading
    /// ends, without a panic, and every app it gives has a name and
    /// absolute file paths.
    const PIECES: &[&str] = &[
        "module.exports = ",
        "export default ",
        "const x = ",
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        ",",
        ":",
        ";",
        "\n",
        "...",
        "...x",
        "apps",
        "name",
        "'a_b'",
        "\"c d\"",
        "error_file",
        "out_file",
        "log_file",
        "instances",
        "4",
        "'max'",
        "merge_logs",
        "true",
        "cwd",
        "'logs/x.log'",
        "`${__dirname}/y.log`",
        "`${",
        "`",
        "path.join(",
        "require('path')",
        "process.env.X",
        "||",
        "??",
        "?",
        "=>",
        "// c\n",
        "/* c */",
        "/re[/]/g",
        "'~/z.log'",
        "'NULL'",
        "x",
        "function f() {",
        "new Date()",
        "import p from 'path'",
        "\u{1F680}",
    ];

    proptest::proptest! {
        #[test]
        fn any_arrangement_of_pieces_reads_without_panicking(
            picks in proptest::collection::vec(0..PIECES.len(), 0..60),
            ext in proptest::sample::select(vec!["js", "json", "yml"]),
        ) {
            let src: String = picks.iter().map(|&i| PIECES[i]).collect();
            let real = PathBuf::from(format!("/srv/bot/ecosystem.config.{ext}"));
            let mut notes = Vec::new();
            for app in read(&src, &real, "e", &homes(), &mut notes) {
                proptest::prop_assert!(app.name.as_deref().is_some_and(|n| !n.is_empty()));
                proptest::prop_assert!(app.files.iter().all(|f| f.path.starts_with('/')), "{:?}", app.files);
            }
        }
    }

    #[test]
    fn a_found_file_of_another_tool_is_passed_over_quietly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = write(dir.path(), "process.json", "{ \"workers\": 4 }");
        let mut notes = Vec::new();
        let eco = load(&f, "process.json", false, &homes(), &mut notes).expect("load");
        assert!(eco.apps.is_empty() && notes.is_empty(), "{notes:?}");
    }
}
