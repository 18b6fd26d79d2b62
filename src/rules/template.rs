//! Title and fix templates: text with `{field}` placeholders, `{{` and `}}`
//! for literal braces, and `{field|fallback text}` for a field that only
//! some of a rule's regexes capture. Parsed once at load so an unknown
//! placeholder is a rule error, not a blank in a report.

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
    source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(String, Option<String>),
}

impl Template {
    /// Parses `text`; the error names the byte offset of the problem.
    pub fn parse(text: &str) -> Result<Template, (usize, String)> {
        let mut pieces = Vec::new();
        let mut buf = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    buf.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    buf.push('}');
                }
                '{' => {
                    let rest = &text[i + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err((i, "unclosed '{' in template; write '{{' for a literal brace".into()));
                    };
                    let inner = &rest[..end];
                    let (name, fallback) = match inner.split_once('|') {
                        Some((n, f)) => (n, Some(f.to_string())),
                        None => (inner, None),
                    };
                    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        let msg = format!("bad placeholder {{{inner}}}: use {{field_name}} or {{field_name|fallback}}");
                        return Err((i, msg));
                    }
                    if !buf.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut buf)));
                    }
                    pieces.push(Piece::Field(name.to_string(), fallback));
                    for _ in 0..=end {
                        chars.next();
                    }
                }
                '}' => return Err((i, "unmatched '}' in template; write '}}' for a literal brace".into())),
                _ => buf.push(c),
            }
        }
        if !buf.is_empty() {
            pieces.push(Piece::Text(buf));
        }
        Ok(Template { pieces, source: text.to_string() })
    }

    /// The template as written (for `rules explain`).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The placeholder names, in order of appearance.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field(f, _) => Some(f.as_str()),
            Piece::Text(_) => None,
        })
    }

    /// Renders with `lookup`; a field it has no value for renders as its
    /// fallback, or `?` without one.
    pub fn render(&self, lookup: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f, fallback) => {
                    let value = lookup(f).or_else(|| fallback.clone()).unwrap_or_else(|| "?".to_string());
                    out.push_str(&value);
                }
            }
        }
        // Every incident keeps its rendered fix, kilobytes of text: give
        // back what growth by doubling reserved.
        out.shrink_to_fit();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_fields_and_escapes() {
        let t = Template::parse("restart {app} ({{not a field}})").expect("parses");
        assert_eq!(t.fields().collect::<Vec<_>>(), vec!["app"]);
        let out = t.render(|f| (f == "app").then(|| "api".to_string()));
        assert_eq!(out, "restart api ({not a field})");
    }

    #[test]
    fn fallback_for_fields_some_regexes_do_not_capture() {
        let t = Template::parse("refused on {port|the API port}").expect("parses");
        assert_eq!(t.fields().collect::<Vec<_>>(), vec!["port"]);
        assert_eq!(t.render(|_| None), "refused on the API port");
        assert_eq!(t.render(|_| Some("4002".into())), "refused on 4002");
    }

    #[test]
    fn rejects_unclosed_and_bad_names() {
        assert_eq!(Template::parse("x {app").map_err(|e| e.0), Err(2));
        assert!(Template::parse("x {a b}").is_err());
        assert!(Template::parse("x }").is_err());
    }
}
