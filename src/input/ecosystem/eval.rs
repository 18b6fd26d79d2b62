//! Evaluates the parts of an ecosystem file that are data, without running
//! it. Top-level `const`/`let`/`var` declarations, `import`s of `path`,
//! `url` and `os`, and the exported value (`module.exports = ...`,
//! `exports.apps = ...`, `export default ...`) are read; every other
//! statement (function declarations, `if` blocks, `fs` calls) is skipped by
//! balancing brackets. Expressions cover literals, object and array
//! literals with spreads, template literals, `+`, `||`, `??`, `&&`, `?:`,
//! member access, and calls of `require`, `path.join`/`resolve`/`dirname`/
//! `basename`/`normalize`, `url.fileURLToPath`, `process.cwd` and
//! `os.homedir`. Anything else evaluates to [`Value::Unknown`] with its
//! source text, which the caller names in a note.

use std::cell::Cell;

use super::lex::{Part, Tok, Token};
use super::value::{self, Builtin, Value, concat};

/// What a file's top level stands for when it runs.
pub struct Env<'a> {
    /// The file's absolute path (`__filename`).
    pub file: &'a str,
    /// Its directory (`__dirname`; also taken as `process.cwd()`, as pm2
    /// resolves relative paths against the directory `pm2 start` ran in).
    pub dir: &'a str,
    /// The home directory for `os.homedir()`.
    pub home: Option<&'a str>,
}

/// A construct the evaluator cannot read at all: the file is not valid
/// JavaScript (or uses syntax this reader does not know).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset.
    pub at: usize,
    /// What was expected.
    pub message: String,
}

/// What reading a module found.
#[derive(Debug)]
pub struct Module {
    /// The exported value, if anything was exported.
    pub exports: Option<Value>,
    /// Statements that could not be read (the first is reported).
    pub errors: Vec<SyntaxError>,
}

/// Reads a JavaScript module: its declarations and exports.
pub fn module(src: &str, tokens: &[Token], env: &Env<'_>) -> Module {
    let mut ev =
        Eval { src, env, scope: Vec::new(), exports: None, named: Vec::new(), errors: Vec::new(), depth: Cell::new(0) };
    let mut c = Cursor { toks: tokens, pos: 0 };
    while !c.done() {
        let start = c.pos;
        if let Err(e) = ev.statement(&mut c) {
            ev.errors.push(e);
            c.pos = start;
            skip_statement(&mut c);
        }
    }
    let exports = ev.exports.take().or_else(|| (!ev.named.is_empty()).then(|| Value::Object(ev.named.clone())));
    Module { exports, errors: ev.errors }
}

/// Reads a JSON (or JSON5-like) file: one expression, as pm2 evaluates it.
pub fn expression(src: &str, tokens: &[Token], env: &Env<'_>) -> Result<Value, SyntaxError> {
    let ev =
        Eval { src, env, scope: Vec::new(), exports: None, named: Vec::new(), errors: Vec::new(), depth: Cell::new(0) };
    let mut c = Cursor { toks: tokens, pos: 0 };
    let v = ev.assign(&mut c)?;
    match c.peek() {
        None => Ok(v),
        Some(t) => Err(SyntaxError { at: t.start, message: "expected the end of the file after the value".into() }),
    }
}

struct Cursor<'t> {
    toks: &'t [Token],
    pos: usize,
}

impl<'t> Cursor<'t> {
    fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn peek(&self) -> Option<&'t Token> {
        self.toks.get(self.pos)
    }

    fn peek_at(&self, n: usize) -> Option<&'t Token> {
        self.toks.get(self.pos + n)
    }

    fn next(&mut self) -> Option<&'t Token> {
        let t = self.toks.get(self.pos)?;
        self.pos += 1;
        Some(t)
    }

    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: Tok::Punct(q), .. }) if *q == p)
    }

    fn is_at(&self, n: usize, p: &str) -> bool {
        matches!(self.peek_at(n), Some(Token { kind: Tok::Punct(q), .. }) if *q == p)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: Tok::Ident(x), .. }) if x == w)
    }

    fn eat(&mut self, p: &str) -> bool {
        let hit = self.is(p);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let hit = self.is_word(w);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Byte offset of the next token (or of the end).
    fn offset(&self) -> usize {
        self.peek().map_or_else(|| self.toks.last().map_or(0, |t| t.end), |t| t.start)
    }

    /// Byte offset after the last token taken.
    fn last_end(&self) -> usize {
        self.pos.checked_sub(1).and_then(|i| self.toks.get(i)).map_or(0, |t| t.end)
    }

    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError { at: self.offset(), message: message.to_string() }
    }

    fn expect(&mut self, p: &str, message: &str) -> Result<(), SyntaxError> {
        if self.eat(p) { Ok(()) } else { Err(self.error(message)) }
    }
}

/// Words that begin a statement: where a skipped statement ends when no
/// semicolon does (a line break before one of them at bracket depth 0).
const STATEMENT_WORDS: &[&str] =
    &["const", "let", "var", "module", "exports", "export", "import", "function", "class", "if", "for", "while", "try"];

/// Skips one statement: to a `;` at bracket depth 0, or to a line break
/// before a word that begins a statement.
fn skip_statement(c: &mut Cursor<'_>) {
    let mut depth = 0usize;
    let mut taken = 0usize;
    while let Some(t) = c.peek() {
        if depth == 0
            && taken > 0
            && t.nl_before
            && let Tok::Ident(w) = &t.kind
            && STATEMENT_WORDS.contains(&w.as_str())
        {
            return;
        }
        c.pos += 1;
        taken += 1;
        match t.kind {
            Tok::Punct("(" | "[" | "{") => depth += 1,
            Tok::Punct(")" | "]" | "}") => {
                depth = depth.saturating_sub(1);
                // A block ends its statement (`function f() {...}`).
                if depth == 0 && matches!(t.kind, Tok::Punct("}")) && c.peek().is_some_and(|n| n.nl_before) {
                    return;
                }
            }
            Tok::Punct(";") if depth == 0 => return,
            _ => {}
        }
    }
}

/// Skips a bracketed group starting at the opening bracket.
fn skip_group(c: &mut Cursor<'_>) {
    let mut depth = 0usize;
    while let Some(t) = c.next() {
        match t.kind {
            Tok::Punct("(" | "[" | "{") => depth += 1,
            Tok::Punct(")" | "]" | "}") => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return;
                }
            }
            _ => {}
        }
    }
}

/// Binary operators by precedence (higher binds tighter).
fn precedence(op: &str) -> Option<u8> {
    Some(match op {
        "??" => 1,
        "||" => 2,
        "&&" => 3,
        "|" => 4,
        "^" => 5,
        "&" => 6,
        "==" | "!=" | "===" | "!==" => 7,
        "<" | ">" | "<=" | ">=" | "instanceof" | "in" => 8,
        "<<" | ">>" | ">>>" => 9,
        "+" | "-" => 10,
        "*" | "/" | "%" => 11,
        "**" => 12,
        _ => return None,
    })
}

struct Eval<'a> {
    src: &'a str,
    env: &'a Env<'a>,
    /// Top-level bindings, later ones shadowing earlier ones.
    scope: Vec<(String, Value)>,
    /// `module.exports` / `export default`.
    exports: Option<Value>,
    /// `exports.x = ...` / `export const x = ...`.
    named: Vec<(Option<String>, Value)>,
    errors: Vec<SyntaxError>,
    /// Expressions being read, nested: bounded by [`MAX_DEPTH`].
    depth: Cell<usize>,
}

/// How deep expressions may nest. Ecosystem files nest a few levels; a file
/// of a million `[` must be an error, not a stack overflow.
const MAX_DEPTH: usize = 200;

/// Leaves one level of nesting when dropped.
struct Nested<'a>(&'a Cell<usize>);

impl Drop for Nested<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

impl Eval<'_> {
    /// Enters one level of nesting, or fails past [`MAX_DEPTH`].
    fn nest(&self, c: &Cursor<'_>) -> Result<Nested<'_>, SyntaxError> {
        if self.depth.get() >= MAX_DEPTH {
            return Err(c.error("expressions nested too deeply"));
        }
        self.depth.set(self.depth.get() + 1);
        Ok(Nested(&self.depth))
    }

    fn text(&self, start: usize, end: usize) -> String {
        let t = self.src.get(start..end.max(start)).unwrap_or("").trim();
        let one_line: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
        match one_line.char_indices().nth(80) {
            Some((i, _)) => format!("{}…", &one_line[..i]),
            None => one_line,
        }
    }

    fn unknown(&self, c: &Cursor<'_>, start: usize) -> Value {
        Value::Unknown(self.text(start, c.last_end()))
    }

    fn bind(&mut self, name: &str, v: Value) {
        self.scope.push((name.to_string(), v));
    }

    fn var(&self, name: &str) -> Option<&Value> {
        self.scope.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    // ---- statements ----

    fn statement(&mut self, c: &mut Cursor<'_>) -> Result<(), SyntaxError> {
        if c.eat(";") {
            return Ok(());
        }
        let Some(Token { kind: Tok::Ident(word), .. }) = c.peek() else {
            skip_statement(c);
            return Ok(());
        };
        match word.as_str() {
            "const" | "let" | "var" => {
                c.pos += 1;
                self.declarations(c, false)
            }
            "module"
                if c.is_at(1, ".")
                    && matches!(c.peek_at(2), Some(Token { kind: Tok::Ident(w), .. }) if w == "exports") =>
            {
                c.pos += 3;
                self.module_exports(c)
            }
            "exports" if c.is_at(1, ".") => {
                c.pos += 1;
                self.exports_property(c)
            }
            "export" => {
                c.pos += 1;
                self.export(c)
            }
            "import" if !c.is_at(1, "(") && !c.is_at(1, ".") => {
                c.pos += 1;
                self.import(c)
            }
            _ => {
                skip_statement(c);
                Ok(())
            }
        }
    }

    /// After `module.exports`: `= value` or `.key = value`.
    fn module_exports(&mut self, c: &mut Cursor<'_>) -> Result<(), SyntaxError> {
        if c.eat("=") {
            let v = self.assign(c)?;
            self.exports = Some(v);
            return self.end_statement(c);
        }
        if c.is(".") {
            return self.exports_property(c);
        }
        skip_statement(c);
        Ok(())
    }

    /// `.key = value` on the exports object.
    fn exports_property(&mut self, c: &mut Cursor<'_>) -> Result<(), SyntaxError> {
        c.expect(".", "expected `.`")?;
        let Some(Token { kind: Tok::Ident(key), .. }) = c.next() else {
            return Err(c.error("expected a property name"));
        };
        if !c.eat("=") {
            skip_statement(c);
            return Ok(());
        }
        let v = self.assign(c)?;
        match &mut self.exports {
            Some(Value::Object(props)) => props.push((Some(key.clone()), v)),
            Some(_) => {}
            None => self.named.push((Some(key.clone()), v)),
        }
        self.end_statement(c)
    }

    fn export(&mut self, c: &mut Cursor<'_>) -> Result<(), SyntaxError> {
        if c.eat_word("default") {
            let v = self.assign(c)?;
            self.exports = Some(v);
            return self.end_statement(c);
        }
        if c.is_word("const") || c.is_word("let") || c.is_word("var") {
            c.pos += 1;
            return self.declarations(c, true);
        }
        skip_statement(c);
        Ok(())
    }

    /// `import X from 'm'`, `import * as X from 'm'`, `import { a, b as c } from 'm'`.
    fn import(&mut self, c: &mut Cursor<'_>) -> Result<(), SyntaxError> {
        let start = c.pos;
        let mut names: Vec<(Option<String>, String)> = Vec::new();
        while let Some(t) = c.next() {
            match &t.kind {
                Tok::Str(m) => {
                    let module = require(m, &format!("import from '{m}'"));
                    for (member, local) in names {
                        let v = match member {
                            Some(key) => self.member(module.clone(), &key, &format!("{local} (from '{m}')")),
                            None => module.clone(),
                        };
                        self.bind(&local, v);
                    }
                    c.eat(";");
                    return Ok(());
                }
                Tok::Ident(w) if w == "from" || w == "as" => {}
                Tok::Punct("*") => {
                    c.eat_word("as");
                    if let Some(Token { kind: Tok::Ident(local), .. }) = c.next() {
                        names.push((None, local.clone()));
                    }
                }
                Tok::Punct("{") => names.extend(import_list(c)),
                Tok::Ident(local) if c.pos == start + 1 => names.push((None, local.clone())),
                Tok::Punct(",") => {}
                _ => break,
            }
        }
        Err(c.error("expected `from 'module'` in an import"))
    }

    /// `a = x, { b, c: d } = y` after `const`; `export`ed names are also
    /// properties of the module.
    fn declarations(&mut self, c: &mut Cursor<'_>, export: bool) -> Result<(), SyntaxError> {
        loop {
            match c.next().map(|t| &t.kind) {
                Some(Tok::Ident(name)) => {
                    let v = if c.eat("=") { self.assign(c)? } else { Value::Undefined };
                    if export {
                        self.named.push((Some(name.clone()), v.clone()));
                    }
                    self.bind(name, v);
                }
                Some(Tok::Punct("{")) => {
                    let pattern = object_pattern(c)?;
                    c.expect("=", "expected `=` after a destructuring pattern")?;
                    let v = self.assign(c)?;
                    for (key, local) in pattern {
                        let member = self.member(v.clone(), &key, &local);
                        self.bind(&local, member);
                    }
                }
                Some(Tok::Punct("[")) => {
                    c.pos -= 1;
                    skip_group(c);
                    if c.eat("=") {
                        self.assign(c)?;
                    }
                }
                _ => return Err(c.error("expected a name to declare")),
            }
            if !c.eat(",") {
                return self.end_statement(c);
            }
        }
    }

    /// A statement ends at `;`, a line break, `}` or the end.
    fn end_statement(&self, c: &mut Cursor<'_>) -> Result<(), SyntaxError> {
        if c.eat(";") || c.done() || c.peek().is_some_and(|t| t.nl_before) || c.is("}") {
            return Ok(());
        }
        Err(c.error("expected `;` or a line break after the statement"))
    }

    // ---- expressions ----

    fn assign(&self, c: &mut Cursor<'_>) -> Result<Value, SyntaxError> {
        let _nested = self.nest(c)?;
        let start = c.offset();
        if self.arrow_ahead(c) {
            return self.skip_arrow(c, start);
        }
        let v = self.conditional(c)?;
        if let Some(Token { kind: Tok::Punct(op), .. }) = c.peek()
            && op.ends_with('=')
            && !matches!(*op, "==" | "===" | "!=" | "!==" | "<=" | ">=")
        {
            c.pos += 1;
            self.assign(c)?;
            return Ok(self.unknown(c, start));
        }
        Ok(v)
    }

    /// Whether an arrow function starts here: `x =>`, `async x =>`,
    /// `(...) =>`, `async (...) =>`.
    fn arrow_ahead(&self, c: &Cursor<'_>) -> bool {
        let skip_async = usize::from(c.is_word("async") && !c.is_at(1, "=>"));
        match c.peek_at(skip_async).map(|t| &t.kind) {
            Some(Tok::Ident(_)) => c.is_at(skip_async + 1, "=>"),
            Some(Tok::Punct("(")) => {
                let mut probe = Cursor { toks: c.toks, pos: c.pos + skip_async };
                skip_group(&mut probe);
                probe.is("=>")
            }
            _ => false,
        }
    }

    fn skip_arrow(&self, c: &mut Cursor<'_>, start: usize) -> Result<Value, SyntaxError> {
        c.eat_word("async");
        if c.is("(") {
            skip_group(c);
        } else {
            c.pos += 1;
        }
        c.expect("=>", "expected `=>`")?;
        if c.is("{") {
            skip_group(c);
        } else {
            self.assign(c)?;
        }
        Ok(Value::Unknown(format!("a function ({})", self.text(start, c.last_end()))))
    }

    fn conditional(&self, c: &mut Cursor<'_>) -> Result<Value, SyntaxError> {
        let start = c.offset();
        let test = self.binary(c, 0)?;
        if !c.eat("?") {
            return Ok(test);
        }
        let yes = self.assign(c)?;
        c.expect(":", "expected `:` in a conditional expression")?;
        let no = self.assign(c)?;
        let (t, conds) = test.peel();
        Ok(match t.truthy() {
            Some(true) => Value::assume(yes, conds),
            Some(false) => Value::assume(no, conds),
            None => self.unknown(c, start),
        })
    }

    fn binary(&self, c: &mut Cursor<'_>, min: u8) -> Result<Value, SyntaxError> {
        let _nested = self.nest(c)?;
        let start = c.offset();
        let mut left = self.unary(c)?;
        loop {
            let op = match c.peek().map(|t| &t.kind) {
                Some(Tok::Punct(p)) => *p,
                Some(Tok::Ident(w)) if w == "instanceof" || w == "in" => {
                    if w == "in" {
                        "in"
                    } else {
                        "instanceof"
                    }
                }
                _ => break,
            };
            let Some(prec) = precedence(op) else { break };
            if prec <= min {
                break;
            }
            c.pos += 1;
            // `**` is right-associative; the others are left-associative.
            let right = self.binary(c, if op == "**" { prec - 1 } else { prec })?;
            left = self.apply(op, left, right, self.text(start, c.last_end()));
        }
        Ok(left)
    }

    fn apply(&self, op: &str, left: Value, right: Value, src: String) -> Value {
        match op {
            "||" | "??" | "&&" => logical(op, left, right, &src),
            "+" => plus(left, right, &src),
            "===" | "!==" | "==" | "!=" => {
                let (l, mut conds) = left.peel();
                let (r, c2) = right.peel();
                conds.extend(c2);
                match strict_equal(&l, &r) {
                    Some(eq) => Value::assume(Value::Bool(eq == op.starts_with('=')), conds),
                    None => Value::Unknown(src),
                }
            }
            _ => Value::Unknown(src),
        }
    }

    fn unary(&self, c: &mut Cursor<'_>) -> Result<Value, SyntaxError> {
        let _nested = self.nest(c)?;
        let start = c.offset();
        let op = match c.peek().map(|t| &t.kind) {
            Some(Tok::Punct(p @ ("!" | "-" | "+" | "~" | "++" | "--"))) => Some(*p),
            Some(Tok::Ident(w)) if matches!(w.as_str(), "typeof" | "void" | "delete" | "await") => Some("word"),
            Some(Tok::Ident(w)) if w == "new" => {
                c.pos += 1;
                self.postfix(c, true)?;
                return Ok(self.unknown(c, start));
            }
            _ => None,
        };
        let Some(op) = op else { return self.postfix(c, false) };
        c.pos += 1;
        let v = self.unary(c)?;
        let (v, conds) = v.peel();
        let out = match (op, &v) {
            ("!", v) => v.truthy().map(|t| Value::Bool(!t)),
            ("-", Value::Num(n)) => Some(Value::Num(-n)),
            ("+", Value::Num(n)) => Some(Value::Num(*n)),
            _ => None,
        };
        Ok(match out {
            Some(out) => Value::assume(out, conds),
            None => self.unknown(c, start),
        })
    }

    /// A primary expression and its member accesses and calls. `callee`:
    /// after `new`, where `new X(args)` takes the first argument list.
    fn postfix(&self, c: &mut Cursor<'_>, callee: bool) -> Result<Value, SyntaxError> {
        let start = c.offset();
        let mut v = self.primary(c)?;
        loop {
            if c.eat(".") || (c.is("?.") && !c.is_at(1, "(") && !c.is_at(1, "[") && c.eat("?.")) {
                let Some(Token { kind: Tok::Ident(key), .. }) = c.next() else {
                    return Err(c.error("expected a property name after `.`"));
                };
                v = self.member(v, key, &self.text(start, c.last_end()));
            } else if c.is("[") || (c.is("?.") && c.is_at(1, "[")) {
                c.eat("?.");
                c.pos += 1;
                let key = self.assign(c)?;
                c.expect("]", "expected `]`")?;
                let src = self.text(start, c.last_end());
                v = match key.peel().0.to_js_string() {
                    Some(k) => self.member(v, &k, &src),
                    None => Value::Unknown(src),
                };
            } else if c.is("(") || (c.is("?.") && c.is_at(1, "(")) {
                c.eat("?.");
                let args = self.arguments(c)?;
                v = self.call(v, args, &self.text(start, c.last_end()));
                if callee {
                    return Ok(v);
                }
            } else if matches!(c.peek().map(|t| &t.kind), Some(Tok::Template(_))) {
                // A tagged template: the tag function decides the value.
                c.pos += 1;
                v = self.unknown(c, start);
            } else if (c.is("++") || c.is("--")) && !c.peek().is_some_and(|t| t.nl_before) {
                c.pos += 1;
                v = self.unknown(c, start);
            } else {
                return Ok(v);
            }
        }
    }

    fn arguments(&self, c: &mut Cursor<'_>) -> Result<Vec<Value>, SyntaxError> {
        c.expect("(", "expected `(`")?;
        let mut args = Vec::new();
        while !c.eat(")") {
            let start = c.offset();
            if c.eat("...") {
                match self.assign(c)? {
                    Value::Array(items) => args.extend(items),
                    _ => args.push(self.unknown(c, start)),
                }
            } else {
                args.push(self.assign(c)?);
            }
            if !c.eat(",") {
                c.expect(")", "expected `,` or `)` in an argument list")?;
                break;
            }
        }
        Ok(args)
    }

    fn primary(&self, c: &mut Cursor<'_>) -> Result<Value, SyntaxError> {
        let start = c.offset();
        let Some(t) = c.next() else { return Err(c.error("expected a value")) };
        match &t.kind {
            Tok::Num(n) => Ok(Value::Num(*n)),
            Tok::Str(s) => Ok(Value::Str(s.clone())),
            Tok::Template(parts) => self.template(parts, t),
            Tok::Regex => Ok(Value::Unknown("a regular expression".into())),
            Tok::Punct("(") => {
                let v = self.assign(c)?;
                // A comma expression's value is its last operand.
                let mut v = v;
                while c.eat(",") {
                    v = self.assign(c)?;
                }
                c.expect(")", "expected `)`")?;
                Ok(v)
            }
            Tok::Punct("[") => self.array(c),
            Tok::Punct("{") => self.object(c),
            Tok::Ident(word) => self.word(word, c, start),
            _ => Err(SyntaxError { at: t.start, message: "expected a value".into() }),
        }
    }

    fn word(&self, word: &str, c: &mut Cursor<'_>, start: usize) -> Result<Value, SyntaxError> {
        Ok(match word {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Null,
            "undefined" => Value::Undefined,
            "function" | "class" => {
                // `function name(args) {body}` / `class X extends Y {body}`.
                while !c.is("{") && !c.done() {
                    if c.is("(") {
                        skip_group(c);
                    } else {
                        c.pos += 1;
                    }
                }
                skip_group(c);
                Value::Unknown(format!("a {word}"))
            }
            "import" if c.is(".") => {
                c.pos += 1;
                c.eat_word("meta");
                Value::Builtin(Builtin::ImportMeta)
            }
            _ => match self.var(word) {
                Some(v) => v.clone(),
                None => global(word).unwrap_or_else(|| self.env_word(word).unwrap_or_else(|| self.unknown(c, start))),
            },
        })
    }

    fn env_word(&self, word: &str) -> Option<Value> {
        match word {
            "__dirname" => Some(Value::Str(self.env.dir.to_string())),
            "__filename" => Some(Value::Str(self.env.file.to_string())),
            _ => None,
        }
    }

    fn template(&self, parts: &[Part], t: &Token) -> Result<Value, SyntaxError> {
        let mut values = Vec::with_capacity(parts.len());
        for part in parts {
            match part {
                Part::Text(s) => values.push(Value::Str(s.clone())),
                Part::Expr(toks) => {
                    let mut sub = Cursor { toks, pos: 0 };
                    let v = self.assign(&mut sub)?;
                    if !sub.done() {
                        return Err(sub.error("expected `}` to end a `${` substitution"));
                    }
                    values.push(v);
                }
            }
        }
        Ok(concat(values, &self.text(t.start, t.end)))
    }

    fn array(&self, c: &mut Cursor<'_>) -> Result<Value, SyntaxError> {
        let mut items = Vec::new();
        loop {
            if c.eat("]") {
                return Ok(Value::Array(items));
            }
            if c.eat(",") {
                items.push(Value::Undefined);
                continue;
            }
            let start = c.offset();
            if c.eat("...") {
                match self.assign(c)?.peel() {
                    (Value::Array(more), conds) => {
                        items.extend(more.into_iter().map(|v| Value::assume(v, conds.clone())));
                    }
                    _ => items.push(Value::Unknown(self.text(start, c.last_end()))),
                }
            } else {
                items.push(self.assign(c)?);
            }
            if !c.eat(",") {
                c.expect("]", "expected `,` or `]` after an array element")?;
                return Ok(Value::Array(items));
            }
        }
    }

    fn object(&self, c: &mut Cursor<'_>) -> Result<Value, SyntaxError> {
        let mut props: Vec<(Option<String>, Value)> = Vec::new();
        loop {
            if c.eat("}") {
                return Ok(Value::Object(props));
            }
            let start = c.offset();
            if c.eat("...") {
                match self.assign(c)?.peel() {
                    (Value::Object(more), conds) => {
                        props.extend(more.into_iter().map(|(k, v)| (k, Value::assume(v, conds.clone()))));
                    }
                    (Value::Undefined | Value::Null, _) => {}
                    _ => props.push((None, Value::Unknown(self.text(start, c.last_end())))),
                }
            } else {
                let (key, value) = self.property(c)?;
                props.push((key, value));
            }
            if !c.eat(",") {
                c.expect("}", "expected `,` or `}` after a property")?;
                return Ok(Value::Object(props));
            }
        }
    }

    /// One `key: value`, shorthand `key`, or method `key() {}`.
    fn property(&self, c: &mut Cursor<'_>) -> Result<(Option<String>, Value), SyntaxError> {
        let start = c.offset();
        // `get x() {}`, `async x() {}`: a modifier before a method's name.
        if matches!(c.peek().map(|t| &t.kind), Some(Tok::Ident(w)) if matches!(w.as_str(), "get" | "set" | "async"))
            && !c.is_at(1, ":")
            && !c.is_at(1, ",")
            && !c.is_at(1, "}")
            && !c.is_at(1, "(")
        {
            c.pos += 1;
        }
        c.eat("*");
        let key = match c.next().map(|t| &t.kind) {
            Some(Tok::Ident(k) | Tok::Str(k)) => Some(k.clone()),
            Some(Tok::Num(n)) => Some(value::js_number(*n)),
            Some(Tok::Punct("[")) => {
                let k = self.assign(c)?;
                c.expect("]", "expected `]` after a computed key")?;
                k.peel().0.to_js_string()
            }
            _ => return Err(SyntaxError { at: start, message: "expected a property name".into() }),
        };
        if c.eat(":") {
            let v = self.assign(c)?;
            return Ok(match key {
                Some(k) => (Some(k), v),
                None => (None, Value::Unknown(self.text(start, c.last_end()))),
            });
        }
        if c.is("(") {
            skip_group(c);
            skip_group(c);
            return Ok((key, Value::Unknown("a method".into())));
        }
        // Shorthand `{ cwd }`.
        match (&key, c.toks.get(c.pos.wrapping_sub(1)).map(|t| &t.kind)) {
            (Some(k), Some(Tok::Ident(_))) => {
                let v = self.word(k, c, start)?;
                Ok((Some(k.clone()), v))
            }
            _ => Err(c.error("expected `:` after a property name")),
        }
    }

    // ---- operations ----

    fn member(&self, obj: Value, key: &str, src: &str) -> Value {
        let (obj, conds) = obj.peel();
        let out = match &obj {
            Value::Object(_) => match obj.lookup(key) {
                value::Lookup::Found(v) => v.clone(),
                value::Lookup::Missing => Value::Undefined,
                value::Lookup::Hidden(_) => Value::Unknown(src.to_string()),
            },
            Value::Array(items) => match key {
                "length" => Value::Num(items.len() as f64),
                k => k.parse::<usize>().ok().and_then(|i| items.get(i).cloned()).unwrap_or(Value::Undefined),
            },
            Value::Str(s) if key == "length" => Value::Num(s.chars().count() as f64),
            Value::Str(_) | Value::Num(_) if key == "toString" || key == "trim" => {
                Value::Method(Box::new(obj.clone()), key.to_string())
            }
            Value::Builtin(b) => builtin_member(*b, key, self.env).unwrap_or_else(|| Value::Unknown(src.to_string())),
            _ => Value::Unknown(src.to_string()),
        };
        Value::assume(out, conds)
    }

    fn call(&self, callee: Value, args: Vec<Value>, src: &str) -> Value {
        let mut conds = Vec::new();
        let args: Vec<Value> = args
            .into_iter()
            .map(|a| {
                let (v, c) = a.peel();
                conds.extend(c);
                v
            })
            .collect();
        let out = match callee {
            Value::Builtin(b) => self.call_builtin(b, &args, src),
            Value::Method(recv, name) => match (name.as_str(), recv.to_js_string()) {
                ("toString", Some(s)) => Some(Value::Str(s)),
                ("trim", Some(s)) => Some(Value::Str(s.trim().to_string())),
                _ => None,
            },
            _ => None,
        };
        Value::assume(out.unwrap_or_else(|| Value::Unknown(src.to_string())), conds)
    }

    fn call_builtin(&self, b: Builtin, args: &[Value], src: &str) -> Option<Value> {
        let strings =
            || args.iter().map(|a| a.to_js_string().filter(|_| matches!(a, Value::Str(_)))).collect::<Option<Vec<_>>>();
        let first = || match args.first() {
            Some(Value::Str(s)) => Some(s.clone()),
            _ => None,
        };
        Some(match b {
            Builtin::Require => require(&first()?, src),
            Builtin::Join => Value::Str(value::join(&strings()?)),
            Builtin::Resolve => Value::Str(value::resolve(&strings()?, self.env.dir)),
            Builtin::Normalize => Value::Str(value::normalize(&first()?)),
            Builtin::Dirname => Value::Str(value::dirname(&first()?)),
            Builtin::Basename => {
                let ext = match args.get(1) {
                    Some(Value::Str(e)) => Some(e.as_str()),
                    _ => None,
                };
                Value::Str(value::basename(&first()?, ext))
            }
            Builtin::FileUrlToPath => Value::Str(file_url_path(&first()?)?),
            Builtin::Cwd => Value::Str(self.env.dir.to_string()),
            Builtin::Homedir => Value::Str(self.env.home?.to_string()),
            Builtin::StringFn => Value::Str(args.first().unwrap_or(&Value::Str(String::new())).to_js_string()?),
            _ => return None,
        })
    }
}

/// Names a program sees without declaring them.
fn global(word: &str) -> Option<Value> {
    Some(Value::Builtin(match word {
        "require" => Builtin::Require,
        "process" => Builtin::Process,
        "String" => Builtin::StringFn,
        _ => return None,
    }))
}

/// `require(module)`: the modules whose functions the evaluator runs.
fn require(module: &str, src: &str) -> Value {
    let name = module.strip_prefix("node:").unwrap_or(module);
    Value::Builtin(match name {
        "path" | "path/posix" => Builtin::PathModule,
        "url" => Builtin::UrlModule,
        "os" => Builtin::OsModule,
        "process" => Builtin::Process,
        _ => return Value::Unknown(src.to_string()),
    })
}

fn builtin_member(b: Builtin, key: &str, env: &Env<'_>) -> Option<Value> {
    use Builtin::*;
    Some(match (b, key) {
        (PathModule, "join") => Value::Builtin(Join),
        (PathModule, "resolve") => Value::Builtin(Resolve),
        (PathModule, "dirname") => Value::Builtin(Dirname),
        (PathModule, "basename") => Value::Builtin(Basename),
        (PathModule, "normalize") => Value::Builtin(Normalize),
        (PathModule, "posix" | "default") => Value::Builtin(PathModule),
        (PathModule, "sep") => Value::Str("/".into()),
        (UrlModule, "fileURLToPath") => Value::Builtin(FileUrlToPath),
        (OsModule, "homedir") => Value::Builtin(Homedir),
        (Process, "env") => Value::Builtin(ProcessEnv),
        (Process, "cwd") => Value::Builtin(Cwd),
        (ImportMeta, "url") => Value::Str(format!("file://{}", env.file)),
        (ImportMeta, "dirname") => Value::Str(env.dir.to_string()),
        (ImportMeta, "filename") => Value::Str(env.file.to_string()),
        _ => return None,
    })
}

/// `url.fileURLToPath` for `file:///...` URLs (percent escapes decoded).
fn file_url_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("file://")?;
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = rest.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// `||`, `??`, `&&` on values that may be unknown: `unknown || 'x'` is
/// `'x'` assumed (the unknown was falsy), `'' ?? x` is `''`.
fn logical(op: &str, left: Value, right: Value, src: &str) -> Value {
    let (l, conds) = left.peel();
    let decided = match op {
        "||" => l.truthy(),
        "??" => match l {
            Value::Unknown(_) => None,
            Value::Undefined | Value::Null => Some(false),
            _ => Some(true),
        },
        _ => l.truthy().map(|t| !t),
    };
    match (decided, l) {
        // The left side decides: `||`/`??` keep it, `&&` stops at it.
        (Some(true), l) => Value::assume(l, conds),
        (Some(false), _) => Value::assume(right, conds),
        (None, Value::Unknown(what)) if op != "&&" => {
            let cond = match op {
                "??" => format!("`{what}` is null or undefined"),
                _ => format!("`{what}` is unset or empty"),
            };
            match right {
                Value::Unknown(_) => Value::Unknown(src.to_string()),
                right => Value::Assumed(Box::new(right), cond),
            }
        }
        _ => Value::Unknown(src.to_string()),
    }
}

fn plus(left: Value, right: Value, src: &str) -> Value {
    let (l, mut conds) = left.peel();
    let (r, c2) = right.peel();
    conds.extend(c2);
    match (&l, &r) {
        (Value::Num(a), Value::Num(b)) => Value::assume(Value::Num(a + b), conds),
        (Value::Str(_), _) | (_, Value::Str(_)) => Value::assume(concat(vec![l, r], src), conds),
        _ => Value::Unknown(src.to_string()),
    }
}

/// `===` on known primitives.
fn strict_equal(l: &Value, r: &Value) -> Option<bool> {
    Some(match (l, r) {
        (Value::Str(a), Value::Str(b)) => a == b,
        (Value::Num(a), Value::Num(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Null, Value::Null) | (Value::Undefined, Value::Undefined) => true,
        (Value::Unknown(_), _) | (_, Value::Unknown(_)) => return None,
        (Value::Str(_) | Value::Num(_) | Value::Bool(_) | Value::Null | Value::Undefined, _) => false,
        _ => return None,
    })
}

/// `{ a, b: c, d = 1 }` in a declaration: (property, local name) pairs.
fn object_pattern(c: &mut Cursor<'_>) -> Result<Vec<(String, String)>, SyntaxError> {
    let mut out = Vec::new();
    loop {
        if c.eat("}") {
            return Ok(out);
        }
        c.eat("...");
        let key = match c.next().map(|t| &t.kind) {
            Some(Tok::Ident(k) | Tok::Str(k)) => k.clone(),
            _ => return Err(c.error("expected a name in a destructuring pattern")),
        };
        let local = if c.eat(":") {
            match c.next().map(|t| &t.kind) {
                Some(Tok::Ident(l)) => l.clone(),
                _ => return Err(c.error("expected a name after `:` in a destructuring pattern")),
            }
        } else {
            key.clone()
        };
        if c.eat("=") {
            // A default: skipped up to the next `,` or `}`.
            while !c.is(",") && !c.is("}") && !c.done() {
                if c.is("(") || c.is("[") || c.is("{") {
                    skip_group(c);
                } else {
                    c.pos += 1;
                }
            }
        }
        out.push((key, local));
        if !c.eat(",") {
            c.expect("}", "expected `,` or `}` in a destructuring pattern")?;
            return Ok(out);
        }
    }
}

/// `{ a, b as c }` in an import: (imported name, local name) pairs.
fn import_list(c: &mut Cursor<'_>) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    while let Some(t) = c.next() {
        match &t.kind {
            Tok::Punct("}") => break,
            Tok::Ident(name) => {
                let local = if c.eat_word("as") {
                    match c.next().map(|t| &t.kind) {
                        Some(Tok::Ident(l)) => l.clone(),
                        _ => name.clone(),
                    }
                } else {
                    name.clone()
                };
                let member = if name == "default" { None } else { Some(name.clone()) };
                out.push((member, local));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::lex::tokenize;
    use super::*;

    const ENV: Env<'static> = Env { file: "/srv/bot/ecosystem.config.js", dir: "/srv/bot", home: Some("/home/deploy") };

    fn exports(src: &str) -> Value {
        let toks = tokenize(src).expect("tokens");
        let m = module(src, &toks, &ENV);
        assert!(m.errors.is_empty(), "{:?}", m.errors);
        m.exports.expect("exports")
    }

    fn app(src: &str, key: &str) -> Value {
        let e = exports(src);
        let Value::Array(apps) = e.lookup("apps").cloned_found() else { panic!("apps") };
        apps[0].lookup(key).cloned_found()
    }

    trait Found {
        fn cloned_found(self) -> Value;
    }

    impl Found for value::Lookup<'_> {
        fn cloned_found(self) -> Value {
            match self {
                value::Lookup::Found(v) => v.clone(),
                other => panic!("{other:?}"),
            }
        }
    }

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    #[test]
    fn literals_consts_and_paths() {
        let src = r#"
            'use strict'
            const path = require("path");
            const LOGS = path.join(__dirname, 'logs') // trailing comment
            module.exports = {
              apps: [{
                name: "market-bridge",
                error_file: `${LOGS}/pm2-error.log`,
                out_file: path.resolve(__dirname, '..', "bot", 'logs', 'pm2-out.log'),
                instances: 4,
                merge_logs: false,
              },],
            };
        "#;
        assert_eq!(app(src, "name"), s("market-bridge"));
        assert_eq!(app(src, "error_file"), s("/srv/bot/logs/pm2-error.log"));
        assert_eq!(app(src, "out_file"), s("/srv/bot/logs/pm2-out.log"));
        assert_eq!(app(src, "instances"), Value::Num(4.0));
        assert_eq!(app(src, "merge_logs"), Value::Bool(false));
    }

    #[test]
    fn spreads_and_shared_objects() {
        let src = "
            const common = { cwd: __dirname, time: true, out_file: 'logs/out.log' };
            const apps = [{ ...common, name: 'a' }, { ...common, name: 'b', out_file: 'logs/b.log' }];
            module.exports = { apps: [...apps] };
        ";
        let e = exports(src);
        let Value::Array(apps) = e.lookup("apps").cloned_found() else { panic!("apps") };
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0].lookup("out_file").cloned_found(), s("logs/out.log"));
        assert_eq!(apps[1].lookup("out_file").cloned_found(), s("logs/b.log"));
        assert_eq!(apps[1].lookup("cwd").cloned_found(), s("/srv/bot"));
    }

    #[test]
    fn environment_fallbacks_are_assumed_and_bare_ones_unknown() {
        let src = "module.exports = { apps: [{ name: process.env.APP_NAME || 'api', \
                   out_file: process.env.LOG_DIR + '/out.log', error_file: process.env.ERR ?? `${__dirname}/e.log` }] };";
        assert_eq!(
            app(src, "name"),
            Value::Assumed(Box::new(s("api")), "`process.env.APP_NAME` is unset or empty".into())
        );
        assert_eq!(app(src, "out_file"), Value::Unknown("process.env.LOG_DIR + '/out.log'".into()));
        assert_eq!(
            app(src, "error_file"),
            Value::Assumed(Box::new(s("/srv/bot/e.log")), "`process.env.ERR` is null or undefined".into())
        );
    }

    #[test]
    fn unknown_spreads_hide_what_they_may_define() {
        let src =
            "const base = require('./base'); module.exports = { apps: [{ name: 'a', ...base, script: 'x.js' }] };";
        let e = exports(src);
        let Value::Array(apps) = e.lookup("apps").cloned_found() else { panic!("apps") };
        assert_eq!(apps[0].lookup("name"), value::Lookup::Hidden("...base"));
        assert_eq!(app(src, "script"), s("x.js"));
    }

    #[test]
    fn statements_it_does_not_read_are_skipped() {
        let src = r#"
            const fs = require('fs')
            const date = new Date()
            fs.mkdir(path.join(__dirname, 'test'), (err) => {
              if (err) { return console.error(err) }
              console.log('}')
            })
            function helper(x) { return { name: x } }
            if (process.env.CI) { console.log(/}/) }
            module.exports = { apps: [{ name: 'app', log_file: `logs/${date.getDay()}.log`, x: helper('y'), f() { return 1 } }] }
        "#;
        assert_eq!(app(src, "name"), s("app"));
        assert_eq!(app(src, "log_file"), Value::Unknown("`logs/${date.getDay()}.log`".into()));
        assert_eq!(app(src, "x"), Value::Unknown("helper('y')".into()));
    }

    #[test]
    fn esm_default_export_and_import_meta() {
        let src = "
            import path from 'node:path';
            import { fileURLToPath } from 'url';
            const __dirname = path.dirname(fileURLToPath(import.meta.url));
            export default { apps: [{ name: 'esm', out_file: path.join(__dirname, 'logs', 'o.log') }] };
        ";
        assert_eq!(app(src, "out_file"), s("/srv/bot/logs/o.log"));
    }

    #[test]
    fn exports_properties_and_named_exports() {
        assert_eq!(
            exports("exports.apps = [{ name: 'x' }]").lookup("apps").cloned_found(),
            Value::Array(vec![Value::Object(vec![(Some("name".into()), s("x"))])])
        );
        assert!(matches!(exports("export const apps = [];").lookup("apps"), value::Lookup::Found(Value::Array(_))));
        let e = exports("module.exports = { apps: [] }; module.exports.deploy = {}");
        assert!(matches!(e.lookup("deploy"), value::Lookup::Found(Value::Object(_))));
    }

    #[test]
    fn destructured_path_functions() {
        let src = "const { join, resolve: res } = require('path'); \
                   module.exports = { apps: [{ out_file: join('/a', 'b.log'), error_file: res('c.log') }] };";
        assert_eq!(app(src, "out_file"), s("/a/b.log"));
        assert_eq!(app(src, "error_file"), s("/srv/bot/c.log"));
    }

    #[test]
    fn conditionals_decide_when_their_test_is_known() {
        let src = "const prod = true; module.exports = { apps: [{ name: prod ? 'api' : 'api-dev', \
                   out_file: process.env.X === 'y' ? 'a.log' : 'b.log' }] };";
        assert_eq!(app(src, "name"), s("api"));
        assert!(matches!(app(src, "out_file"), Value::Unknown(_)));
    }

    #[test]
    fn a_missing_comma_is_a_syntax_error_at_its_place() {
        let src = "module.exports = {\n  apps: [{\n    name: 'app',\n    cwd: \"app\"\n    script: 'npm'\n  }]\n};\n";
        let toks = tokenize(src).expect("tokens");
        let m = module(src, &toks, &ENV);
        assert!(m.exports.is_none());
        assert_eq!(m.errors.len(), 1);
        assert_eq!(&src[m.errors[0].at..m.errors[0].at + 6], "script");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        for src in
            ["[".repeat(100_000), format!("module.exports = {}", "{a:".repeat(50_000)), "!".repeat(100_000) + "x"]
        {
            let toks = tokenize(&src).expect("tokens");
            let m = module(&src, &toks, &ENV);
            assert!(m.exports.is_none() || m.errors.iter().any(|e| e.message.contains("too deeply")), "{:?}", m.errors);
            assert!(expression(&src, &toks, &ENV).is_err());
        }
    }

    #[test]
    fn json_is_one_expression() {
        let src = r#"{ "apps": [ { "name": "j", "instances": "max" } ] }"#;
        let toks = tokenize(src).expect("tokens");
        let v = expression(src, &toks, &ENV).expect("value");
        assert!(matches!(v.lookup("apps"), value::Lookup::Found(Value::Array(_))));
        assert!(expression("{} {}", &tokenize("{} {}").expect("tokens"), &ENV).is_err());
    }
}
