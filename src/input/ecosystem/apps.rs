//! An ecosystem file's configuration → the apps pm2 would start and the
//! files each writes, resolved the way pm2 resolves them:
//!
//! - the app list is `apps`, else `pm2`, else the whole object (an object
//!   alone is one app) (`lib/API.js` `_startJson`);
//! - keys and their aliases (`err_file` for `error_file`, `combine_logs`
//!   for `merge_logs`, camelCase forms) as `lib/tools/Config.js` applies
//!   them: the key, else the first alias with a truthy value;
//! - `name` defaults to the script's file name without its extension
//!   (`Common.renderApplicationName`);
//! - `out_file`/`error_file` default to `$PM2_HOME/logs/NAME-out.log` /
//!   `NAME-error.log`, `log_file: true` to `$PM2_HOME/logs/NAME.log`, with
//!   NAME sanitised; a leading `~` is the home directory; a path containing
//!   `NULL` or `/dev/null` writes nothing; relative paths resolve against
//!   `cwd` (`lib/Common.js` `prepareAppConf`, `lib/Utility.js`);
//! - unless the logs are merged, every path ending in `.log` gets the
//!   process id (`-ID.log`, `lib/God.js`); they are merged when
//!   `merge_logs` (or an alias) is true, or when it is not given and the
//!   app is neither `exec_mode: cluster` nor declares `instances`
//!   (`Common.verifyConfs`).
//!
//! pm2 resolves relative paths against the directory `pm2 start` ran in;
//! logtriage takes the ecosystem file's directory for it (where people run
//! `pm2 start ecosystem.config.cjs`). Anything that cannot be known without
//! running the file becomes a note naming the file and the key.

use super::value::{Lookup, Value, js_number, resolve};
use crate::input::Stream;
use crate::input::naming::pm2_file_name;

/// Where relative paths, `~` and pm2's default log directory lead.
#[derive(Debug, Clone)]
pub struct Places<'a> {
    /// The ecosystem file's directory.
    pub dir: &'a str,
    /// The home directory (`~`), if known.
    pub home: Option<&'a str>,
    /// The pm2 home (default logs in `logs/`), if known.
    pub pm2_home: Option<&'a str>,
}

/// One app as pm2 would start it.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// Its name, raw (`None` when it cannot be known: a note says why).
    pub name: Option<String>,
    /// The files it writes.
    pub files: Vec<LogFile>,
    /// pm2's timestamp format for its lines (`time: true` is
    /// `YYYY-MM-DDTHH:mm:ss`), if set.
    pub log_date_format: Option<String>,
    /// `log_type` (`json`), if set.
    pub log_type: Option<String>,
}

/// A file an app writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Which stream goes there.
    pub stream: Stream,
    /// Absolute, normalised path as configured (before any `-ID` suffix).
    pub path: String,
    /// Whether pm2 adds `-ID` per process (`None`: cannot be known, either
    /// form is taken).
    pub per_instance: Option<bool>,
}

/// Aliases per key, in the order pm2 tries them (`Config.js` puts each
/// schema alias in front of the camelCase one, the last listed first).
const OUT_FILE: &[&str] = &["out_file", "out_log", "output", "out", "outFile"];
const ERROR_FILE: &[&str] = &["error_file", "err_log", "err_file", "err", "error", "errorFile"];
const LOG_FILE: &[&str] = &["log_file", "log", "logFile"];
const MERGE_ALIASES: &[&str] = &["combine_logs", "mergeLogs"];

/// A key's value as pm2 would read it.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    /// Its value and what it assumes.
    Known(Value, Vec<String>),
    /// Not in the configuration.
    Missing,
    /// Only known by running the file: the source text.
    Unknown(String),
}

/// Reads `keys` (a key and its aliases) off `app`: the first truthy one,
/// else the first present falsy one.
fn field(app: &Value, keys: &[&str]) -> Field {
    let mut falsy = None;
    for key in keys {
        match app.lookup(key) {
            Lookup::Found(v) => {
                let (v, conds) = v.clone().peel();
                match (&v, v.truthy()) {
                    (Value::Unknown(src), _) => return Field::Unknown(src.clone()),
                    (_, Some(true)) => return Field::Known(v, conds),
                    _ => {
                        falsy.get_or_insert(Field::Known(v, conds));
                    }
                }
            }
            Lookup::Hidden(src) => return Field::Unknown(src.to_string()),
            Lookup::Missing => {}
        }
    }
    falsy.unwrap_or(Field::Missing)
}

/// The apps of a configuration; notes (prefixed with `shown`) say what
/// could not be read.
pub fn apps(config: &Value, shown: &str, places: &Places<'_>, notes: &mut Vec<String>) -> Vec<App> {
    let list = match app_list(config) {
        Ok(list) => list,
        Err(why) => {
            notes.push(format!("{shown}: {why}; its apps are named from their file names"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        match item.clone().peel().0 {
            obj @ Value::Object(_) => {
                // An app whose name cannot be known names no file: its
                // note says so.
                let app = App::read(&obj, &format!("{shown}: apps[{i}]"), places, notes);
                if app.name.is_some() {
                    out.push(app);
                }
            }
            Value::Unknown(src) => notes.push(format!(
                "{shown}: apps[{i}] is {}, which is only known when pm2 runs the file; \
                 that app's files are named from their file names",
                code(&src)
            )),
            _ => notes.push(format!("{shown}: apps[{i}] is not an object; pm2 would refuse it")),
        }
    }
    out
}

/// `config.apps || config.pm2 || config`, as a list.
fn app_list(config: &Value) -> Result<Vec<Value>, String> {
    let config = config.clone().peel().0;
    let mut chosen = config.clone();
    for key in ["apps", "pm2"] {
        match config.lookup(key) {
            Lookup::Found(v) if v.truthy() == Some(true) => {
                chosen = v.clone().peel().0;
                break;
            }
            Lookup::Found(Value::Unknown(src)) => {
                return Err(format!("its `{key}` is {}, which is only known when pm2 runs the file", code(src)));
            }
            Lookup::Hidden(src) => {
                return Err(format!(
                    "its `{key}` may come from {}, which is only known when pm2 runs the file",
                    code(src)
                ));
            }
            _ => {}
        }
    }
    match chosen {
        Value::Array(items) => Ok(items),
        obj @ Value::Object(_) => Ok(vec![obj]),
        Value::Unknown(src) => {
            Err(format!("what it exports is {}, which is only known when pm2 runs the file", code(&src)))
        }
        _ => Err("it exports no apps".into()),
    }
}

impl App {
    fn read(app: &Value, at: &str, places: &Places<'_>, notes: &mut Vec<String>) -> App {
        let name = read_name(app, at, notes);
        let at = match &name {
            Some(n) => format!("{at} ({n})"),
            None => at.to_string(),
        };
        let cwd = read_cwd(app, &at, places, notes);
        let per_instance = per_instance(app);
        if per_instance.is_none() {
            notes.push(format!(
                "{at}: whether pm2 adds `-ID` to its file names depends on `merge_logs`, `exec_mode` or `instances`, \
                 which are only known when pm2 runs the file; both forms are taken"
            ));
        }
        let resolver = FileResolver { name: name.as_deref(), cwd: cwd.as_deref(), places, at: &at, per_instance };
        let mut files = Vec::new();
        for (keys, stream, default_suffix) in [
            (OUT_FILE, Stream::Out, Some("-out")),
            (ERROR_FILE, Stream::Err, Some("-error")),
            (LOG_FILE, Stream::Combined, None),
        ] {
            files.extend(resolver.file(app, keys, stream, default_suffix, notes));
        }
        let (log_date_format, log_type) = formats(app);
        App { name, files, log_date_format, log_type }
    }
}

fn read_name(app: &Value, at: &str, notes: &mut Vec<String>) -> Option<String> {
    match field(app, &["name"]) {
        Field::Known(Value::Str(n), conds) if !n.is_empty() => {
            note_assumed(notes, at, "name", &n, &conds);
            Some(n)
        }
        Field::Known(Value::Num(n), _) => Some(js_number(n)),
        Field::Unknown(src) => {
            notes.push(format!(
                "{at}: its name is {}, which is only known when pm2 runs the file; its files are named from their file names",
                code(&src)
            ));
            None
        }
        _ => name_from_script(app, at, notes),
    }
}

/// pm2's default name: the script's file name without its last extension
/// (a command with spaces, run through `bash -c`, is its own name).
fn name_from_script(app: &Value, at: &str, notes: &mut Vec<String>) -> Option<String> {
    let script = match field(app, &["script", "exec"]) {
        Field::Missing => field(app, &["cmd", "command"]),
        f => f,
    };
    match script {
        Field::Known(Value::Str(s), _) if s.contains(' ') => Some(s),
        Field::Known(Value::Str(s), _) => {
            let base = s.rsplit('/').next().unwrap_or(&s);
            Some(match base.rfind('.') {
                Some(dot) if dot > 0 => base[..dot].to_string(),
                _ => base.to_string(),
            })
        }
        Field::Unknown(src) => {
            notes.push(format!(
                "{at}: it has no name and its script is {}, which is only known when pm2 runs the file; \
                 its files are named from their file names",
                code(&src)
            ));
            None
        }
        _ => {
            notes.push(format!("{at}: it has no name and no script; pm2 would refuse it"));
            None
        }
    }
}

fn read_cwd(app: &Value, at: &str, places: &Places<'_>, notes: &mut Vec<String>) -> Option<String> {
    match field(app, &["cwd"]) {
        Field::Known(Value::Str(c), conds) if !c.is_empty() => {
            let resolved = resolve(&[c], places.dir);
            note_assumed(notes, at, "cwd", &resolved, &conds);
            Some(resolved)
        }
        Field::Unknown(src) => {
            notes.push(format!(
                "{at}: its cwd is {}, which is only known when pm2 runs the file; \
                 its relative log paths are named from their file names",
                code(&src)
            ));
            None
        }
        _ => Some(places.dir.to_string()),
    }
}

/// Whether pm2 suffixes this app's files with `-ID` (`None`: unknown).
fn per_instance(app: &Value) -> Option<bool> {
    let exec_mode = match field(app, &["exec_mode"]) {
        Field::Known(Value::Str(m), _) => Some(m),
        Field::Known(..) | Field::Missing => None,
        Field::Unknown(_) => return None,
    };
    let cluster = exec_mode.is_some_and(|m| m == "cluster" || m == "cluster_mode");
    let instances = match field(app, &["instances"]) {
        Field::Known(v, _) => instances(&v) != 0,
        Field::Missing => false,
        Field::Unknown(_) => return None,
    };
    let merge = match app.lookup("merge_logs") {
        Lookup::Found(v) => match v.clone().peel().0 {
            Value::Undefined => None,
            v => Some(v.truthy()?),
        },
        Lookup::Missing => None,
        Lookup::Hidden(_) => return None,
    };
    let alias = match field(app, MERGE_ALIASES) {
        Field::Known(v, _) => v.truthy() == Some(true),
        Field::Missing => false,
        Field::Unknown(_) => return None,
    };
    // `Common.verifyConfs`: merge_logs defaults to true for a fork-mode app
    // without `instances`; `Config.validateJSON` then lets an alias set it.
    let merged = merge.unwrap_or(!cluster && !instances) || alias;
    Some(!merged)
}

/// `instances` as pm2 reads it: `'max'` is 0, a string is `parseInt`'d
/// (0 when not a number).
fn instances(v: &Value) -> i64 {
    match v {
        Value::Num(n) if n.is_finite() => *n as i64,
        Value::Str(s) if s == "max" => 0,
        Value::Str(s) => {
            let t = s.trim_start();
            let (sign, digits) = match t.strip_prefix('-') {
                Some(rest) => (-1, rest),
                None => (1, t.strip_prefix('+').unwrap_or(t)),
            };
            let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
            digits[..end].parse::<i64>().map_or(0, |n| sign * n)
        }
        Value::Bool(true) => 1,
        _ => 0,
    }
}

fn formats(app: &Value) -> (Option<String>, Option<String>) {
    let string = |keys: &[&str]| match field(app, keys) {
        Field::Known(Value::Str(s), _) if !s.is_empty() => Some(s),
        _ => None,
    };
    // `time: true` replaces any format (`Common.verifyConfs`).
    let time = matches!(field(app, &["time"]), Field::Known(v, _) if v.truthy() == Some(true));
    let date =
        if time { Some("YYYY-MM-DDTHH:mm:ss".to_string()) } else { string(&["log_date_format", "logDateFormat"]) };
    (date, string(&["log_type", "logType"]))
}

struct FileResolver<'a> {
    name: Option<&'a str>,
    cwd: Option<&'a str>,
    places: &'a Places<'a>,
    at: &'a str,
    per_instance: Option<bool>,
}

impl FileResolver<'_> {
    /// The file `keys` names for `stream`, if pm2 writes one.
    fn file(
        &self,
        app: &Value,
        keys: &[&str],
        stream: Stream,
        default_suffix: Option<&str>,
        notes: &mut Vec<String>,
    ) -> Option<LogFile> {
        let key = keys[0];
        let path = match field(app, keys) {
            Field::Known(Value::Str(p), conds) if !p.is_empty() => {
                // `lib/Utility.js`: pm2 opens no file for these.
                if p.contains("NULL") || p.contains("/dev/null") {
                    return None;
                }
                let path = self.resolve(&p, key, notes)?;
                note_assumed(notes, self.at, key, &path, &conds);
                path
            }
            Field::Known(Value::Bool(true), _) if stream == Stream::Combined => self.default(key, "", notes)?,
            Field::Unknown(src) => {
                notes.push(format!(
                    "{}: its {key} is {}, which is only known when pm2 runs the file; \
                     that file is named from its file name",
                    self.at,
                    code(&src)
                ));
                return None;
            }
            Field::Known(Value::Str(_) | Value::Bool(false) | Value::Null | Value::Undefined, _) | Field::Missing => {
                self.default(key, default_suffix?, notes)?
            }
            Field::Known(v, _) => {
                notes.push(format!("{}: its {key} is {v:?}, not a path; pm2 would refuse it", self.at));
                return None;
            }
        };
        Some(LogFile { stream, path, per_instance: self.per_instance })
    }

    fn resolve(&self, p: &str, key: &str, notes: &mut Vec<String>) -> Option<String> {
        let expanded = match p.strip_prefix('~') {
            Some(rest) => match self.places.home {
                Some(home) => format!("{home}/{rest}"),
                None => {
                    notes.push(format!(
                        "{}: its {key} `{p}` starts with `~`, and this user has no home directory",
                        self.at
                    ));
                    return None;
                }
            },
            None => p.to_string(),
        };
        if expanded.starts_with('/') {
            return Some(resolve(&[expanded], "/"));
        }
        // A relative path with an unknown cwd was named in the cwd's note.
        self.cwd.map(|cwd| resolve(&[expanded], cwd))
    }

    /// pm2's default file: `$PM2_HOME/logs/NAME<suffix>.log`.
    fn default(&self, key: &str, suffix: &str, notes: &mut Vec<String>) -> Option<String> {
        let name = self.name?;
        match self.places.pm2_home {
            Some(home) => Some(format!("{}/logs/{}{suffix}.log", home.trim_end_matches('/'), pm2_file_name(name))),
            None => {
                notes.push(format!(
                    "{}: its {key} is pm2's default, under PM2_HOME, and this user has no PM2_HOME or home directory",
                    self.at
                ));
                None
            }
        }
    }
}

/// Source text quoted for a note: in backticks, unless it has its own
/// (a template literal).
fn code(src: &str) -> String {
    if src.contains('`') { src.to_string() } else { format!("`{src}`") }
}

/// A note for a value read under an assumption (`X || 'default'`).
fn note_assumed(notes: &mut Vec<String>, at: &str, key: &str, value: &str, conds: &[String]) {
    if !conds.is_empty() {
        notes.push(format!("{at}: its {key} was read as `{value}`, assuming {}", conds.join(" and ")));
    }
}

#[cfg(test)]
mod tests {
    use super::super::eval::{Env, module};
    use super::super::lex::tokenize;
    use super::*;

    const PLACES: Places<'static> =
        Places { dir: "/srv/bot", home: Some("/home/deploy"), pm2_home: Some("/home/deploy/.pm2") };

    fn read(src: &str) -> (Vec<App>, Vec<String>) {
        let toks = tokenize(src).expect("tokens");
        let env = Env { file: "/srv/bot/ecosystem.config.cjs", dir: "/srv/bot", home: Some("/home/deploy") };
        let m = module(src, &toks, &env);
        let mut notes = Vec::new();
        let apps = apps(&m.exports.expect("exports"), "ecosystem.config.cjs", &PLACES, &mut notes);
        (apps, notes)
    }

    fn files(app: &App) -> Vec<(Stream, &str, Option<bool>)> {
        app.files.iter().map(|f| (f.stream, f.path.as_str(), f.per_instance)).collect()
    }

    #[test]
    fn the_seed_layout() {
        let (apps, notes) = read(
            "module.exports = { apps: [
               { name: 'market-bridge', script: 'bridge.js', error_file: 'logs/pm2-error.log', out_file: 'logs/pm2-out.log', time: true },
               { name: 'market-bridge-paper', script: 'bridge.js', error_file: './logs/pm2-paper-error.log', out_file: './logs/pm2-paper-out.log' },
             ] }",
        );
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(apps[0].name.as_deref(), Some("market-bridge"));
        assert_eq!(
            files(&apps[0]),
            vec![
                (Stream::Out, "/srv/bot/logs/pm2-out.log", Some(false)),
                (Stream::Err, "/srv/bot/logs/pm2-error.log", Some(false)),
            ]
        );
        assert_eq!(apps[0].log_date_format.as_deref(), Some("YYYY-MM-DDTHH:mm:ss"));
        assert_eq!(files(&apps[1])[1].1, "/srv/bot/logs/pm2-paper-error.log");
    }

    #[test]
    fn defaults_aliases_and_disabled_files() {
        let (apps, _) = read(
            "module.exports = { apps: [{ script: './dist/my_app.v2.js', err_file: '~/logs/e.log', out_file: 'NULL', log_file: true }] }",
        );
        assert_eq!(apps[0].name.as_deref(), Some("my_app.v2"));
        assert_eq!(
            files(&apps[0]),
            vec![
                (Stream::Err, "/home/deploy/logs/e.log", Some(false)),
                (Stream::Combined, "/home/deploy/.pm2/logs/my-app.v2.log", Some(false)),
            ]
        );
    }

    #[test]
    fn cluster_suffix_rules() {
        let per = |src: &str| read(src).0[0].files[0].per_instance;
        assert_eq!(per("module.exports = { apps: [{ name: 'a', instances: 4 }] }"), Some(true));
        assert_eq!(per("module.exports = { apps: [{ name: 'a', instances: 4, merge_logs: true }] }"), Some(false));
        assert_eq!(per("module.exports = { apps: [{ name: 'a', instances: 4, combine_logs: true }] }"), Some(false));
        assert_eq!(per("module.exports = { apps: [{ name: 'a', exec_mode: 'cluster' }] }"), Some(true));
        // 'max' is 0 instances: merged unless the mode says cluster.
        assert_eq!(per("module.exports = { apps: [{ name: 'a', instances: 'max' }] }"), Some(false));
        assert_eq!(
            per("module.exports = { apps: [{ name: 'a', instances: 'max', exec_mode: 'cluster' }] }"),
            Some(true)
        );
        assert_eq!(per("module.exports = { apps: [{ name: 'a', instances: '2' }] }"), Some(true));
        // An explicit false is kept even in fork mode.
        assert_eq!(per("module.exports = { apps: [{ name: 'a', merge_logs: false }] }"), Some(true));
        assert_eq!(per("module.exports = { apps: [{ name: 'a', instances: process.env.N }] }"), None);
    }

    #[test]
    fn unknown_values_are_noted_not_guessed() {
        let (apps, notes) = read(
            "const date = new Date(); module.exports = { apps: [{ name: 'app', error_file: `logs/${date.getDay()}-err.log`, out_file: 'logs/out.log' }] }",
        );
        assert_eq!(files(&apps[0]), vec![(Stream::Out, "/srv/bot/logs/out.log", Some(false))]);
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].starts_with(
                "ecosystem.config.cjs: apps[0] (app): its error_file is `logs/${date.getDay()}-err.log`, which"
            ),
            "{notes:?}"
        );
    }

    #[test]
    fn assumed_defaults_are_used_with_a_note() {
        let (apps, notes) = read("module.exports = { apps: [{ name: process.env.APP || 'api', out_file: 'o.log' }] }");
        assert_eq!(apps[0].name.as_deref(), Some("api"));
        assert_eq!(
            notes,
            vec![
                "ecosystem.config.cjs: apps[0]: its name was read as `api`, assuming `process.env.APP` is unset or empty"
            ]
        );
    }

    #[test]
    fn app_list_forms() {
        let (apps, _) = read("module.exports = { apps: { name: 'single', script: 'x.js' } }");
        assert_eq!(apps[0].name.as_deref(), Some("single"));
        let (apps, _) = read("module.exports = { name: 'bare', script: 'x.js' }");
        assert_eq!(apps[0].name.as_deref(), Some("bare"));
        let (apps, notes) = read("module.exports = { apps: makeApps() }");
        assert!(apps.is_empty());
        assert!(notes[0].contains("its `apps` is `makeApps()`"), "{notes:?}");
    }
}
