//! YAML ecosystem files (`process.yml`, `ecosystem.yaml`): pm2 loads them
//! with js-yaml; yaml-rust2 reads the same YAML 1.2 into [`Value`]s, so the
//! rest of the reader does not care which syntax the file used.

use yaml_rust2::{Yaml, YamlLoader};

use super::value::Value;

/// Why a YAML file could not be read: 1-based line and column, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// The parser's message.
    pub message: String,
}

/// The first document of `src`, as a [`Value`] (`Undefined` for none).
pub fn parse(src: &str) -> Result<Value, YamlError> {
    let docs = YamlLoader::load_from_str(src).map_err(|e| YamlError {
        line: e.marker().line(),
        col: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    Ok(docs.first().map_or(Value::Undefined, convert))
}

fn convert(y: &Yaml) -> Value {
    match y {
        Yaml::String(s) => Value::Str(s.clone()),
        Yaml::Integer(i) => Value::Num(*i as f64),
        Yaml::Real(r) => r.parse().map_or_else(|_| Value::Str(r.clone()), Value::Num),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Null => Value::Null,
        Yaml::Array(items) => Value::Array(items.iter().map(convert).collect()),
        Yaml::Hash(map) => Value::Object(map.iter().map(|(k, v)| (key(k), convert(v))).collect()),
        // Aliases are resolved by the loader; a bad value has no meaning.
        Yaml::Alias(_) | Yaml::BadValue => Value::Unknown("a YAML alias".into()),
    }
}

/// A mapping key as JavaScript would see it (js-yaml turns keys into
/// strings); a key with no string form is not a property logtriage reads.
fn key(k: &Yaml) -> Option<String> {
    match k {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        Yaml::Null => Some("null".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::ecosystem::value::Lookup;

    #[test]
    fn apps_list() {
        let v =
            parse("apps:\n  - name : api\n    cwd : .\n    instances : max\n    combine_logs : true\n").expect("yaml");
        let Lookup::Found(Value::Array(apps)) = v.lookup("apps") else { panic!("apps") };
        assert_eq!(apps[0].lookup("name"), Lookup::Found(&Value::Str("api".into())));
        assert_eq!(apps[0].lookup("cwd"), Lookup::Found(&Value::Str(".".into())));
        assert_eq!(apps[0].lookup("instances"), Lookup::Found(&Value::Str("max".into())));
        assert_eq!(apps[0].lookup("combine_logs"), Lookup::Found(&Value::Bool(true)));
    }

    #[test]
    fn errors_have_a_place() {
        let e = parse("apps:\n  - name: [unclosed\n").expect_err("bad yaml");
        assert!(e.line >= 2, "{e:?}");
    }
}
