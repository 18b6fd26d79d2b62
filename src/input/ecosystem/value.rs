//! What an ecosystem file's expressions are known to be, and the few
//! operations on them that pm2 configurations use: string concatenation,
//! `||` / `??` fallbacks, and Node's POSIX `path` functions.

/// A value as far as it can be known without running the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `undefined` (also a missing property).
    Undefined,
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Value>),
    /// Properties in source order, a later one winning. `None` stands for a
    /// spread or computed key whose properties are not known: a lookup
    /// that meets it before finding its key cannot tell.
    Object(Vec<(Option<String>, Value)>),
    /// Not knowable without running the file: the source text that says
    /// what it would be (`process.env.LOG_DIR`, `os.hostname()`).
    Unknown(String),
    /// A value that holds unless something unknown overrode it (the
    /// default of `process.env.X || 'default'`), and that condition.
    Assumed(Box<Value>, String),
    /// A module, object or function the evaluator knows (`path`,
    /// `path.join`, `process.env`).
    Builtin(Builtin),
    /// A string or number method taken off its receiver (`x.toString`).
    Method(Box<Value>, String),
}

/// Modules, objects and functions the evaluator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `require`.
    Require,
    /// The `path` module.
    PathModule,
    /// The `url` module.
    UrlModule,
    /// The `os` module.
    OsModule,
    /// `process`.
    Process,
    /// `process.env`.
    ProcessEnv,
    /// `import.meta`.
    ImportMeta,
    /// `path.join`.
    Join,
    /// `path.resolve`.
    Resolve,
    /// `path.dirname`.
    Dirname,
    /// `path.basename`.
    Basename,
    /// `path.normalize`.
    Normalize,
    /// `url.fileURLToPath`.
    FileUrlToPath,
    /// `process.cwd`.
    Cwd,
    /// `os.homedir`.
    Homedir,
    /// `String`.
    StringFn,
}

/// What looking a property up in an object found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<'a> {
    /// The property's value.
    Found(&'a Value),
    /// No such property.
    Missing,
    /// Not found before a spread whose properties are unknown: the
    /// spread's source text.
    Hidden(&'a str),
}

impl Value {
    /// Looks up `key` the way JavaScript reads an object literal: the last
    /// definition wins, and an unknown spread after the last definition
    /// may have replaced it.
    pub fn lookup(&self, key: &str) -> Lookup<'_> {
        let Value::Object(props) = self else { return Lookup::Missing };
        for (name, value) in props.iter().rev() {
            match (name, value) {
                (Some(n), v) if n == key => return Lookup::Found(v),
                (None, Value::Unknown(src)) => return Lookup::Hidden(src),
                _ => {}
            }
        }
        Lookup::Missing
    }

    /// The value without its assumptions, and the assumptions.
    pub fn peel(self) -> (Value, Vec<String>) {
        let mut conds = Vec::new();
        let mut v = self;
        while let Value::Assumed(inner, cond) = v {
            conds.push(cond);
            v = *inner;
        }
        (v, conds)
    }

    /// `v` under `conds` (unchanged when there are none).
    pub fn assume(v: Value, conds: Vec<String>) -> Value {
        conds.into_iter().rev().fold(v, |v, c| match v {
            // An unknown stays unknown: there is nothing to assume about.
            Value::Unknown(_) => v,
            v => Value::Assumed(Box::new(v), c),
        })
    }

    /// JavaScript truthiness, when it can be known.
    pub fn truthy(&self) -> Option<bool> {
        match self {
            Value::Undefined | Value::Null => Some(false),
            Value::Bool(b) => Some(*b),
            Value::Num(n) => Some(*n != 0.0 && !n.is_nan()),
            Value::Str(s) => Some(!s.is_empty()),
            Value::Array(_) | Value::Object(_) | Value::Builtin(_) | Value::Method(..) => Some(true),
            Value::Unknown(_) => None,
            Value::Assumed(v, _) => v.truthy(),
        }
    }

    /// The string JavaScript's `String(v)` gives, for values whose string
    /// is known and means something in a path or a name.
    pub fn to_js_string(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.clone()),
            Value::Num(n) => Some(js_number(*n)),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => Some("null".into()),
            Value::Undefined => Some("undefined".into()),
            _ => None,
        }
    }
}

/// Formats a number as JavaScript prints it (integers without `.0`).
pub fn js_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity".into() } else { "-Infinity".into() }
    } else if n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Concatenates the string forms of `parts` (`a + b`, template literals);
/// unknown if any part is, under every part's assumptions.
pub fn concat(parts: Vec<Value>, src: &str) -> Value {
    let mut out = String::new();
    let mut conds = Vec::new();
    for part in parts {
        let (v, c) = part.peel();
        conds.extend(c);
        match v.to_js_string() {
            Some(s) => out.push_str(&s),
            None => return Value::Unknown(src.to_string()),
        }
    }
    Value::assume(Value::Str(out), conds)
}

/// Node's `path.normalize` (POSIX): `.` and `..` resolved, repeated
/// slashes joined; a trailing slash is kept.
pub fn normalize(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let absolute = p.starts_with('/');
    let trailing = p.ends_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            s => parts.push(s),
        }
    }
    let mut out = parts.join("/");
    if absolute {
        out.insert(0, '/');
    }
    if out.is_empty() {
        out.push('.');
    }
    if trailing && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Node's `path.join` (POSIX).
pub fn join(args: &[String]) -> String {
    let parts: Vec<&str> = args.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
    if parts.is_empty() {
        return ".".into();
    }
    normalize(&parts.join("/"))
}

/// Node's `path.resolve` (POSIX), with `cwd` as the process's directory.
pub fn resolve(args: &[String], cwd: &str) -> String {
    let mut resolved = String::new();
    for arg in args.iter().rev().filter(|a| !a.is_empty()) {
        resolved = if resolved.is_empty() { arg.clone() } else { format!("{arg}/{resolved}") };
        if arg.starts_with('/') {
            break;
        }
    }
    if !resolved.starts_with('/') {
        resolved = if resolved.is_empty() { cwd.to_string() } else { format!("{cwd}/{resolved}") };
    }
    let out = normalize(&resolved);
    match out.strip_suffix('/') {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => out,
    }
}

/// Node's `path.dirname` (POSIX).
pub fn dirname(p: &str) -> String {
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return if p.starts_with('/') { "/".into() } else { ".".into() };
    }
    match trimmed.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => trimmed[..i].trim_end_matches('/').to_string(),
        None => ".".into(),
    }
}

/// Node's `path.basename` (POSIX), with an optional extension to drop.
pub fn basename(p: &str, ext: Option<&str>) -> String {
    let trimmed = p.trim_end_matches('/');
    let base = trimmed.rsplit('/').next().unwrap_or(trimmed);
    match ext {
        Some(e) if base != e => base.strip_suffix(e).unwrap_or(base).to_string(),
        _ => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn join_and_resolve_follow_node() {
        assert_eq!(join(&s(&["/srv/bot", "logs", "x.log"])), "/srv/bot/logs/x.log");
        assert_eq!(join(&s(&["/srv/bot", "..", "logs", "./x.log"])), "/srv/logs/x.log");
        assert_eq!(join(&s(&["a", "", "b/"])), "a/b/");
        assert_eq!(join(&s(&[])), ".");
        assert_eq!(join(&s(&["../../x"])), "../../x");
        assert_eq!(resolve(&s(&["logs", "x.log"]), "/srv/bot"), "/srv/bot/logs/x.log");
        assert_eq!(resolve(&s(&["/var/log", "/tmp", "x.log"]), "/srv"), "/tmp/x.log");
        assert_eq!(resolve(&s(&["/srv/bot/"]), "/"), "/srv/bot");
        assert_eq!(resolve(&s(&[]), "/srv/bot"), "/srv/bot");
        assert_eq!(normalize("/../a//b/./c/.."), "/a/b");
    }

    #[test]
    fn dirname_and_basename_follow_node() {
        assert_eq!(dirname("/srv/bot/ecosystem.config.cjs"), "/srv/bot");
        assert_eq!(dirname("/srv"), "/");
        assert_eq!(dirname("x.log"), ".");
        assert_eq!(dirname("a/b/"), "a");
        assert_eq!(basename("/srv/bot/app.js", Some(".js")), "app");
        assert_eq!(basename("/srv/bot/", None), "bot");
    }

    #[test]
    fn numbers_print_as_in_javascript() {
        assert_eq!(js_number(3000.0), "3000");
        assert_eq!(js_number(1.5), "1.5");
        assert_eq!(js_number(-0.0), "0");
    }

    #[test]
    fn lookup_stops_at_an_unknown_spread() {
        let obj = Value::Object(vec![
            (Some("name".into()), Value::Str("a".into())),
            (None, Value::Unknown("...base".into())),
            (Some("script".into()), Value::Str("s.js".into())),
        ]);
        assert_eq!(obj.lookup("script"), Lookup::Found(&Value::Str("s.js".into())));
        assert_eq!(obj.lookup("name"), Lookup::Hidden("...base"));
        assert_eq!(Value::Object(vec![]).lookup("name"), Lookup::Missing);
    }

    #[test]
    fn concatenation_keeps_assumptions_and_loses_unknowns() {
        let dir = Value::Assumed(Box::new(Value::Str("/var/log".into())), "LOG_DIR unset".into());
        assert_eq!(
            concat(vec![dir, Value::Str("/x.log".into())], "src"),
            Value::Assumed(Box::new(Value::Str("/var/log/x.log".into())), "LOG_DIR unset".into())
        );
        assert_eq!(concat(vec![Value::Unknown("a".into()), Value::Num(1.0)], "a + 1"), Value::Unknown("a + 1".into()));
    }
}
