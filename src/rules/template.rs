//! Title and fix templates: text with `{field}` placeholders, `{{` and `}}`
//! for literal braces. Parsed once at load so an unknown placeholder is a
//! rule error, not a blank in a report.

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(String),
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
                    let name = &rest[..end];
                    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        return Err((
                            i,
                            format!("bad placeholder {{{name}}}: use {{field_name}} with letters, digits, '_'"),
                        ));
                    }
                    if !buf.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut buf)));
                    }
                    pieces.push(Piece::Field(name.to_string()));
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
        Ok(Template { pieces })
    }

    /// The placeholder names, in order of appearance.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field(f) => Some(f.as_str()),
            Piece::Text(_) => None,
        })
    }

    /// Renders with `lookup`; a field it does not know renders as `?`.
    pub fn render(&self, lookup: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => out.push_str(&lookup(f).unwrap_or_else(|| "?".to_string())),
            }
        }
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
    fn rejects_unclosed_and_bad_names() {
        assert_eq!(Template::parse("x {app").map_err(|e| e.0), Err(2));
        assert!(Template::parse("x {a b}").is_err());
        assert!(Template::parse("x }").is_err());
    }
}
