//! Tokens of a JavaScript (or JSON) ecosystem file. Enough of the lexical
//! grammar to find where every string, template, comment and regex literal
//! ends, so that the parser can skip what it does not read (functions,
//! `if` blocks, `fs` calls) by balancing brackets without being fooled by a
//! `}` inside a string. Strings and templates are cooked (escapes decoded).

/// One token and where it is in the source (byte offsets).
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: Tok,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset after its last character.
    pub end: usize,
    /// True if a line break comes between it and the token before it
    /// (where JavaScript inserts semicolons).
    pub nl_before: bool,
}

/// Token kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An identifier or keyword.
    Ident(String),
    /// A string literal, cooked.
    Str(String),
    /// A number literal.
    Num(f64),
    /// A template literal: cooked text and `${...}` expressions, in order.
    Template(Vec<Part>),
    /// A punctuator (`{`, `...`, `||`, `=>`, ...).
    Punct(&'static str),
    /// A regular expression literal (never evaluated).
    Regex,
}

/// A piece of a template literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Literal text, cooked.
    Text(String),
    /// The tokens of a `${...}` substitution.
    Expr(Vec<Token>),
}

/// Where and why the source could not be split into tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// Byte offset of the problem.
    pub at: usize,
    /// What is wrong.
    pub message: &'static str,
}

/// Longest first, so that `...` wins over `.` and `===` over `==`.
const PUNCTS: &[&str] = &[
    ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=", "=>", "==", "!=", "<=", ">=", "&&",
    "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "**", "<<", ">>", "{", "}", "(", ")",
    "[", "]", ";", ",", ":", ".", "?", "=", "+", "-", "*", "/", "%", "!", "<", ">", "&", "|", "^", "~", "@", "#",
];

/// Keywords after which a `/` starts a regular expression, not a division.
const BEFORE_REGEX: &[&str] = &[
    "return",
    "typeof",
    "case",
    "do",
    "else",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
    "instanceof",
    "yield",
    "await",
];

/// Splits `src` into tokens.
pub fn tokenize(src: &str) -> Result<Vec<Token>, LexError> {
    let mut lexer = Lexer { src, pos: 0, depth: 0 };
    lexer.skip_hashbang();
    lexer.tokens(false).map(|(tokens, _)| tokens)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    /// Template substitutions open (`${` inside `${`).
    depth: usize,
}

/// How deep template literals may nest in one another.
const MAX_TEMPLATE_DEPTH: usize = 32;

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_hashbang(&mut self) {
        if self.src.starts_with("#!") {
            self.pos = self.src.find('\n').unwrap_or(self.src.len());
        }
    }

    /// Tokens up to the end of the source, or (`in_template`) up to the
    /// `}` that closes a `${`; the flag says whether that `}` was found.
    fn tokens(&mut self, in_template: bool) -> Result<(Vec<Token>, bool), LexError> {
        let mut out: Vec<Token> = Vec::new();
        let mut depth = 0usize;
        loop {
            let nl_before = self.skip_space()?;
            let start = self.pos;
            let Some(c) = self.peek() else {
                return match in_template {
                    true => Err(LexError { at: start, message: "unterminated `${` in a template literal" }),
                    false => Ok((out, false)),
                };
            };
            if in_template && c == '}' && depth == 0 {
                self.pos += 1;
                return Ok((out, true));
            }
            let kind = self.token(c, out.last())?;
            match kind {
                Tok::Punct("{") => depth += 1,
                Tok::Punct("}") => depth = depth.saturating_sub(1),
                _ => {}
            }
            out.push(Token { kind, start, end: self.pos, nl_before });
        }
    }

    fn token(&mut self, c: char, prev: Option<&Token>) -> Result<Tok, LexError> {
        if c == '"' || c == '\'' {
            return self.string(c).map(Tok::Str);
        }
        if c == '`' {
            return self.template();
        }
        if c.is_ascii_digit() || (c == '.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) {
            return Ok(self.number());
        }
        if is_ident_start(c) {
            return Ok(Tok::Ident(self.ident()));
        }
        if c == '/' && regex_allowed(prev) {
            return self.regex();
        }
        let rest = &self.src[self.pos..];
        match PUNCTS.iter().find(|p| rest.starts_with(**p)) {
            // `a?.5:b` is a conditional, not optional chaining.
            Some(&"?.") if rest[2..].starts_with(|d: char| d.is_ascii_digit()) => {
                self.pos += 1;
                Ok(Tok::Punct("?"))
            }
            Some(p) => {
                self.pos += p.len();
                Ok(Tok::Punct(p))
            }
            None => Err(LexError { at: self.pos, message: "unexpected character" }),
        }
    }

    /// Skips white space and comments; true if a line break was among them.
    fn skip_space(&mut self) -> Result<bool, LexError> {
        let mut nl = false;
        loop {
            let rest = &self.src[self.pos..];
            if rest.starts_with("//") {
                self.pos += rest.find('\n').unwrap_or(rest.len());
            } else if let Some(body) = rest.strip_prefix("/*") {
                let end = body.find("*/").ok_or(LexError { at: self.pos, message: "unterminated comment" })?;
                nl |= rest[..end + 2].contains('\n');
                self.pos += end + 4;
            } else {
                match self.peek() {
                    Some(c) if c.is_whitespace() || c == '\u{feff}' => {
                        nl |= matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}');
                        self.pos += c.len_utf8();
                    }
                    _ => return Ok(nl),
                }
            }
        }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_ident_part) {
            self.bump();
        }
        self.src[start..self.pos].to_string()
    }

    fn number(&mut self) -> Tok {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
            // An exponent's sign belongs to the number.
            let c = self.bump();
            if matches!(c, Some('e' | 'E'))
                && !self.src[start..self.pos].starts_with("0x")
                && let Some('+' | '-') = self.peek()
            {
                self.bump();
            }
        }
        let text: String = self.src[start..self.pos].chars().filter(|c| *c != '_').collect();
        let text = text.strip_suffix('n').unwrap_or(&text);
        let radix = |p: &str, r: u32| {
            text.strip_prefix(p)
                .or_else(|| text.strip_prefix(&p.to_uppercase()))
                .and_then(|d| u64::from_str_radix(d, r).ok())
        };
        let value = radix("0x", 16)
            .or_else(|| radix("0o", 8))
            .or_else(|| radix("0b", 2))
            .map(|v| v as f64)
            .or_else(|| text.parse().ok());
        Tok::Num(value.unwrap_or(f64::NAN))
    }

    fn string(&mut self, quote: char) -> Result<String, LexError> {
        let start = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err(LexError { at: start, message: "unterminated string" }),
                Some(c) if c == quote => return Ok(out),
                Some('\\') => self.escape(&mut out)?,
                Some(c) => out.push(c),
            }
        }
    }

    fn template(&mut self) -> Result<Tok, LexError> {
        let start = self.pos;
        self.bump();
        let mut parts = Vec::new();
        let mut text = String::new();
        loop {
            match self.bump() {
                None => return Err(LexError { at: start, message: "unterminated template literal" }),
                Some('`') => break,
                Some('\\') => self.escape(&mut text)?,
                Some('$') if self.peek() == Some('{') => {
                    self.bump();
                    parts.push(Part::Text(std::mem::take(&mut text)));
                    if self.depth >= MAX_TEMPLATE_DEPTH {
                        return Err(LexError { at: start, message: "template literals nested too deeply" });
                    }
                    self.depth += 1;
                    let (tokens, _) = self.tokens(true)?;
                    self.depth -= 1;
                    parts.push(Part::Expr(tokens));
                }
                Some(c) => text.push(c),
            }
        }
        parts.push(Part::Text(text));
        Ok(Tok::Template(parts))
    }

    /// Decodes the escape after a `\` into `out`.
    fn escape(&mut self, out: &mut String) -> Result<(), LexError> {
        let at = self.pos;
        let bad = LexError { at, message: "bad escape sequence" };
        match self.bump().ok_or(bad.clone())? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '0' if !self.peek().is_some_and(|c| c.is_ascii_digit()) => out.push('\0'),
            'x' => out.push(self.hex_char(2).ok_or(bad)?),
            'u' if self.peek() == Some('{') => {
                self.bump();
                let end = self.src[self.pos..].find('}').ok_or(bad.clone())?;
                let code = u32::from_str_radix(&self.src[self.pos..self.pos + end], 16).ok();
                self.pos += end + 1;
                out.push(code.and_then(char::from_u32).ok_or(bad)?);
            }
            'u' => out.push(self.hex_char(4).unwrap_or('\u{fffd}')),
            // A line continuation: the break is not part of the string.
            '\r' => {
                if self.peek() == Some('\n') {
                    self.bump();
                }
            }
            '\n' | '\u{2028}' | '\u{2029}' => {}
            c => out.push(c),
        }
        Ok(())
    }

    fn hex_char(&mut self, n: usize) -> Option<char> {
        let digits = self.src.get(self.pos..self.pos + n)?;
        let code = u32::from_str_radix(digits, 16).ok()?;
        self.pos += n;
        // A lone surrogate half (`\ud83d`) is not a char: shown as U+FFFD.
        Some(char::from_u32(code).unwrap_or('\u{fffd}'))
    }

    fn regex(&mut self) -> Result<Tok, LexError> {
        let start = self.pos;
        self.bump();
        let mut in_class = false;
        loop {
            match self.bump() {
                None | Some('\n') => return Err(LexError { at: start, message: "unterminated regular expression" }),
                Some('\\') => {
                    self.bump();
                }
                Some('[') => in_class = true,
                Some(']') => in_class = false,
                Some('/') if !in_class => break,
                Some(_) => {}
            }
        }
        while self.peek().is_some_and(is_ident_part) {
            self.bump();
        }
        Ok(Tok::Regex)
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_ident_part(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || c == '\u{200c}' || c == '\u{200d}'
}

/// Whether a `/` after `prev` starts a regex: after an operator or an
/// opening bracket it does, after a value (`x`, `1`, `)`, `]`) it divides.
fn regex_allowed(prev: Option<&Token>) -> bool {
    match prev.map(|t| &t.kind) {
        None => true,
        Some(Tok::Punct(p)) => !matches!(*p, ")" | "]" | "}"),
        Some(Tok::Ident(word)) => BEFORE_REGEX.contains(&word.as_str()),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        tokenize(src).expect("tokens").into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn strings_are_cooked() {
        assert_eq!(
            kinds(r#"'a\'b' "c\"d\n" '\x41\u0042\u{43}'"#),
            vec![Tok::Str("a'b".into()), Tok::Str("c\"d\n".into()), Tok::Str("ABC".into())]
        );
    }

    #[test]
    fn comments_and_line_breaks() {
        let t = tokenize("a // one\n/* two\n */ b /* x */ c").expect("tokens");
        assert_eq!(t.iter().map(|t| t.nl_before).collect::<Vec<_>>(), vec![false, true, false]);
        assert_eq!(t[1].kind, Tok::Ident("b".into()));
    }

    #[test]
    fn templates_nest() {
        let t = kinds("`${a}/logs/${`x${b}`}.log`");
        let Tok::Template(parts) = &t[0] else { panic!("template") };
        assert_eq!(parts.len(), 5);
        assert_eq!(
            parts[1],
            Part::Expr(vec![Token { kind: Tok::Ident("a".into()), start: 3, end: 4, nl_before: false }])
        );
        assert_eq!(parts[2], Part::Text("/logs/".into()));
        assert_eq!(parts[4], Part::Text(".log".into()));
    }

    #[test]
    fn a_brace_inside_a_template_substitution_does_not_close_it() {
        let t = kinds("`${ {a: 1}.a }`");
        let Tok::Template(parts) = &t[0] else { panic!("template") };
        let Part::Expr(inner) = &parts[1] else { panic!("expr") };
        assert_eq!(inner.len(), 7);
    }

    #[test]
    fn numbers() {
        assert_eq!(
            kinds("8_000 0x10 1e3 .5 10n"),
            vec![Tok::Num(8000.0), Tok::Num(16.0), Tok::Num(1000.0), Tok::Num(0.5), Tok::Num(10.0)]
        );
    }

    #[test]
    fn regex_or_division() {
        assert_eq!(kinds("x = /a}b/g"), vec![Tok::Ident("x".into()), Tok::Punct("="), Tok::Regex]);
        assert_eq!(kinds("a / b"), vec![Tok::Ident("a".into()), Tok::Punct("/"), Tok::Ident("b".into())]);
        assert_eq!(kinds("x.replace(/[/]'/, '')")[4], Tok::Regex);
    }

    #[test]
    fn longest_punctuator_wins() {
        assert_eq!(
            kinds("...a ?? b?.c === d"),
            vec![
                Tok::Punct("..."),
                Tok::Ident("a".into()),
                Tok::Punct("??"),
                Tok::Ident("b".into()),
                Tok::Punct("?."),
                Tok::Ident("c".into()),
                Tok::Punct("==="),
                Tok::Ident("d".into()),
            ]
        );
    }

    #[test]
    fn unterminated_literals_are_errors() {
        assert_eq!(tokenize("x = 'abc").map(|_| ()), Err(LexError { at: 4, message: "unterminated string" }));
        assert!(tokenize("/* never closed").is_err());
        assert!(tokenize("`${a").is_err());
    }

    #[test]
    fn deeply_nested_templates_are_an_error() {
        let src = "`${".repeat(10_000);
        assert!(tokenize(&src).is_err());
    }

    #[test]
    fn hashbang_and_bom() {
        assert_eq!(kinds("#!/usr/bin/env node\n\u{feff}x"), vec![Tok::Ident("x".into())]);
    }
}
