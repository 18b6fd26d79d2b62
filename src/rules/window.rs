//! Time spans written in rules (`"30s"`, `"5m"`, `"2h"`, `"1d"`, `"1500ms"`).

use std::fmt;

/// A time span in milliseconds, remembered as written for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    ms: i64,
    text: String,
}

/// The longest window a rule may ask for: 31 days. Longer spans are almost
/// certainly a unit typo and would hold correlation state for the whole log.
const MAX_MS: i64 = 31 * 24 * 3600 * 1000;

impl Window {
    /// Parses `<number><unit>` with unit `ms`, `s`, `m`, `h` or `d`.
    pub fn parse(text: &str) -> Result<Window, String> {
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let hint = "write a whole number and a unit: \"1500ms\", \"30s\", \"5m\", \"2h\" or \"1d\"";
        let out_of_range = || format!("window {text:?} is out of range: it must be more than 0 and at most 31d");
        let n: i64 = match num.parse() {
            Ok(n) => n,
            // All digits, yet no i64: a number too big, not a typo in the form.
            Err(_) if !num.is_empty() => return Err(out_of_range()),
            Err(_) => return Err(format!("bad window {text:?}: {hint}")),
        };
        let factor = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(format!("bad window {text:?}: {hint}")),
        };
        let ms = n.checked_mul(factor).filter(|ms| *ms > 0 && *ms <= MAX_MS);
        match ms {
            Some(ms) => Ok(Window { ms, text: t.to_string() }),
            None => Err(out_of_range()),
        }
    }

    /// Length in milliseconds.
    pub fn ms(&self) -> i64 {
        self.ms
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(Window::parse("5m").map(|w| w.ms()), Ok(300_000));
        assert_eq!(Window::parse("1500ms").map(|w| w.ms()), Ok(1500));
        assert_eq!(Window::parse("2h").map(|w| w.ms()), Ok(7_200_000));
    }

    #[test]
    fn rejects_prose_and_absurd_spans() {
        assert!(Window::parse("5 minutes").is_err());
        assert!(Window::parse("0s").is_err());
        assert!(Window::parse("400d").is_err());
        let too_big = Window::parse("99999999999999999999d").unwrap_err();
        assert!(too_big.contains("out of range"), "{too_big}");
    }
}
