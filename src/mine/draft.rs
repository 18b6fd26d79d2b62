//! A rule drafted from a template: the masked message as a regex whose
//! wildcards are named groups, the longest literal the regex requires for
//! the prefilter, severity medium, a title, and a fix that says what to
//! fill in. Hands on the `[[rule]]` table as TOML text.

use super::Template;
use super::mask::WILD;

/// What the draft needs besides the template.
#[derive(Debug, Clone)]
pub struct DraftInput<'a> {
    pub template: &'a Template,
    /// One sample record, raw as in its file, for an inline example.
    pub example: Option<(&'a str, &'a str)>,
}

/// The rule id: `local.` and the template's first words.
pub fn rule_id(t: &Template) -> String {
    let words: Vec<String> = t
        .message
        .split(' ')
        .filter(|w| !w.contains(WILD))
        .map(|w| w.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase())
        .filter(|w| !w.is_empty())
        .take(5)
        .collect();
    let mut slug = words.join("-");
    slug.truncate(48);
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() { format!("local.unknown-{}", t.id) } else { format!("local.{slug}") }
}

/// The regex of a masked message: literal parts escaped, a wildcard a
/// named group (`v1`, `v2`, ...), tokens apart by any whitespace.
pub fn regex(message: &str) -> String {
    let mut n = 0;
    let tokens: Vec<String> = message
        .split(' ')
        .map(|tok| {
            let parts: Vec<String> = tok.split(WILD).map(regex_syntax::escape).collect();
            let mut out = parts[0].clone();
            for p in &parts[1..] {
                n += 1;
                out += &format!("(?P<v{n}>.+?)");
                out += p;
            }
            out
        })
        .collect();
    let mut re = tokens.join(r"\s+");
    // A lazy group at the very end would take one character.
    if let Some(last) = re.strip_suffix(".+?)") {
        re = format!("{last}\\S+)");
    }
    re
}

/// The longest literal the regex requires (within one token: tokens may
/// be apart by any whitespace), if it is long enough to help.
pub fn literal(message: &str) -> Option<String> {
    // The first of the longest: the error's name comes first.
    let parts = message.split(' ').flat_map(|tok| tok.split(WILD)).enumerate();
    let (_, longest) = parts.max_by_key(|(i, p)| (p.len(), std::cmp::Reverse(*i)))?;
    (longest.len() >= 4).then(|| longest.to_string())
}

/// The `[[rule]]` table.
pub fn rule_toml(d: &DraftInput<'_>) -> String {
    let t = d.template;
    let id = rule_id(t);
    let shown = t.message.replace(WILD, "…");
    let title = format!("{{app}}: {}", braces(&shown));
    let mut out = String::new();
    out += &format!("# Drafted by `logtriage rules draft {}` from {} occurrence(s) of:\n", t.id, t.count);
    out += &format!("#   {}\n", t.template);
    out += "# Review the regex, name its groups, write the fix, then move the rule into a pack.\n";
    out += "[[rule]]\n";
    out += &format!("id = {}\n", toml_str(&id));
    out += &format!("title = {}\n", toml_str(&title));
    out += &format!(
        "description = {}\n",
        toml_str(&format!("Drafted from an error no rule recognised ({} occurrence(s)). Say what it means.", t.count))
    );
    out += "severity = \"medium\"\n";
    if let Some(lit) = literal(&t.message) {
        out += &format!("literals = [{}]\n", toml_str(&lit));
    }
    out += &format!("regex = {}\n", toml_literal(&regex(&t.message)));
    out += &format!("action = {}\n", toml_str("Fill in: the one sentence that says what to do."));
    out += &format!(
        "fix = {}\n",
        toml_str(
            "Fill in: what causes this error, and the steps that fix it (the command to run, the setting to change)."
        )
    );
    if let Some((plays, log)) = d.example {
        out += "\n[[rule.example]]\n";
        out += &format!("as = {}\nexpect = 1\n", toml_str(plays));
        out += &format!("log = {}\n", toml_multiline(log));
    }
    out
}

/// Braces doubled: a title's `{name}` is a placeholder.
fn braces(s: &str) -> String {
    s.replace('{', "{{").replace('}', "}}")
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A regex as a literal string when it can be one (no `'`), else escaped.
fn toml_literal(s: &str) -> String {
    if s.contains('\'') || s.contains('\n') { toml_str(s) } else { format!("'{s}'") }
}

/// A log excerpt as a multi-line string.
fn toml_multiline(log: &str) -> String {
    if !log.contains("'''") {
        return format!("'''\n{}\n'''", log.trim_end_matches('\n'));
    }
    toml_str(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(message: &str) -> Template {
        Template {
            id: "abc".into(),
            template: message.into(),
            count: 3,
            apps: vec![],
            first_seen: None,
            last_seen: None,
            samples: vec![],
            message: message.into(),
        }
    }

    #[test]
    fn wildcards_become_named_groups_and_literals_stay_literal() {
        let re = regex("charge <*> failed (code=<*>). Retry?");
        assert_eq!(re, r"charge\s+(?P<v1>.+?)\s+failed\s+\(code=(?P<v2>.+?)\)\.\s+Retry\?");
        let compiled = regex::Regex::new(&re).expect("compiles");
        let caps = compiled.captures("charge 42 failed (code=E7). Retry?").expect("matches");
        assert_eq!((&caps["v1"], &caps["v2"]), ("42", "E7"));
        assert_eq!(regex("ends with <*>"), r"ends\s+with\s+(?P<v1>\S+)");
        assert_eq!(literal("charge <*> failed (code=<*>)."), Some("charge".into()));
    }

    #[test]
    fn ids_from_the_first_words() {
        assert_eq!(
            rule_id(&template("TypeError: Cannot read <*> of undefined")),
            "local.typeerror-cannot-read-of-undefined"
        );
        assert_eq!(rule_id(&template("<*> <*>")), "local.unknown-abc");
    }
}
