//! Typed errors of the library. Per-file input problems are not errors: they
//! become [`crate::input::Skip`] values and the scan goes on. What is here
//! stops a run before it starts: a rule pack that does not load.

use std::fmt;

/// One problem in a rule pack, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The pack's path as given (or `builtin:NAME.toml`).
    pub file: String,
    /// 1-based line of the offending text; 0 when the problem is the whole
    /// file (it could not be read).
    pub line: usize,
    /// 1-based column (in characters) of the offending text.
    pub col: usize,
    /// What is wrong and, where it helps, what to write instead.
    pub message: String,
}

impl RuleError {
    /// A problem with a whole file (it cannot be read): no line or column.
    pub fn whole_file(path: &std::path::Path, message: String) -> RuleError {
        RuleError { file: path.display().to_string(), line: 0, col: 0, message }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.file, self.message);
        }
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)
    }
}

/// Every problem found while loading rule packs; loading collects them all
/// rather than stopping at the first.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// At least one pack is unreadable or holds an invalid rule.
    #[error("{}", render_all(.0))]
    Invalid(Vec<RuleError>),
}

fn render_all(errors: &[RuleError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

/// Converts a byte offset into 1-based (line, column), counting columns in
/// characters so editors land on the right spot in non-ASCII files.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_col(text, 9), (2, 3));
    }
}
