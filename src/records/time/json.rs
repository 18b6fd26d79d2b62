//! The time field of an application's JSON log line: `time` (pino: epoch
//! milliseconds; bunyan: ISO text, often after `msg`), `ts` (Caddy, zap:
//! epoch seconds with a fraction), `timestamp` (winston's
//! `format.timestamp()`: ISO text or a custom format), `@timestamp`
//! (Elastic's ECS loggers). Only top-level fields count, wherever they
//! stand in the object; the object is parsed only for the lines whose
//! time is needed.

use serde::Deserialize;
use serde_json::Value;

use super::shapes::{self, Reading, Shape};

/// Which field holds the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// `time`.
    Time,
    /// `timestamp`.
    Timestamp,
    /// `ts`.
    Ts,
    /// `@timestamp`.
    AtTimestamp,
}

impl Key {
    /// The field's name.
    pub fn name(self) -> &'static str {
        match self {
            Key::Time => "time",
            Key::Timestamp => "timestamp",
            Key::Ts => "ts",
            Key::AtTimestamp => "@timestamp",
        }
    }
}

/// What the field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holds {
    /// Seconds since the epoch (9 to 11 integer digits, any fraction).
    EpochS,
    /// Milliseconds since the epoch (12 to 14 integer digits).
    EpochMs,
    /// Text in one of the dated text shapes.
    Text(Shape),
}

impl Holds {
    /// Its name in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Holds::EpochS => "epoch-s",
            Holds::EpochMs => "epoch-ms",
            Holds::Text(shape) => shape.name(),
        }
    }
}

/// The candidate fields of one object; every other field is skipped
/// without being kept.
#[derive(Deserialize)]
struct Fields {
    #[serde(default)]
    time: Option<Value>,
    #[serde(default)]
    timestamp: Option<Value>,
    #[serde(default)]
    ts: Option<Value>,
    #[serde(default, rename = "@timestamp")]
    at_timestamp: Option<Value>,
}

impl Fields {
    fn get(&self, key: Key) -> Option<&Value> {
        match key {
            Key::Time => self.time.as_ref(),
            Key::Timestamp => self.timestamp.as_ref(),
            Key::Ts => self.ts.as_ref(),
            Key::AtTimestamp => self.at_timestamp.as_ref(),
        }
        .filter(|v| !v.is_null())
    }
}

fn fields(text: &[u8]) -> Option<Fields> {
    serde_json::from_slice(text).ok()
}

/// The field a line's object carries its time in, and what it holds (a
/// file's sample is read this way); the first of `time`, `timestamp`,
/// `ts`, `@timestamp` that holds something time-like.
pub fn sniff(text: &[u8]) -> Option<(Key, Holds)> {
    let f = fields(text)?;
    [Key::Time, Key::Timestamp, Key::Ts, Key::AtTimestamp]
        .into_iter()
        .find_map(|k| f.get(k).and_then(kind).map(|v| (k, v)))
}

/// What a field's value is, if it is a time at all.
fn kind(v: &Value) -> Option<Holds> {
    match v {
        Value::Number(n) => match integer_digits(n.as_f64()?) {
            9..=11 => Some(Holds::EpochS),
            12..=14 => Some(Holds::EpochMs),
            _ => None,
        },
        Value::String(s) => {
            let (shape, len) = shapes::at(s.as_bytes(), 0, DATED)?;
            (len == s.len()).then_some(Holds::Text(shape))
        }
        _ => None,
    }
}

/// Text shapes a JSON field may hold: those that carry their date (a time
/// of day alone has no file order to be dated by here).
const DATED: shapes::Mask =
    Shape::Iso.bit().with(Shape::Clf.bit()).with(Shape::Syslog.bit()).with(Shape::LocaleUs.bit());

fn integer_digits(x: f64) -> usize {
    if !(1.0..1e15).contains(&x) { 0 } else { (x.log10().floor() as usize) + 1 }
}

/// The time in `text`'s `key` field: milliseconds since the epoch, or a
/// text stamp to read on (its shape and bytes).
pub fn read(text: &[u8], key: Key) -> Option<Stamp> {
    let f = fields(text)?;
    match f.get(key)? {
        Value::Number(n) => {
            let x = n.as_f64()?;
            let ms = match integer_digits(x) {
                9..=11 => x * 1000.0,
                12..=14 => x,
                _ => return None,
            };
            // Under 10^14 ms: well inside i64 and chrono's range.
            Some(Stamp::Epoch(ms.round() as i64))
        }
        Value::String(s) => {
            let (shape, len) = shapes::at(s.as_bytes(), 0, DATED)?;
            let reading = shapes::read(s.as_bytes().get(..len)?, shape)?;
            Some(Stamp::Text(reading))
        }
        _ => None,
    }
}

/// A JSON field's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// Milliseconds since the epoch.
    Epoch(i64),
    /// A text stamp, read.
    Text(Reading),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loggers() {
        // pino, bunyan (time after msg), winston, Caddy.
        let pino = br#"{"level":50,"time":1796461065310,"pid":1,"hostname":"vm","msg":"x"}"#;
        assert_eq!(sniff(pino), Some((Key::Time, Holds::EpochMs)));
        assert_eq!(read(pino, Key::Time), Some(Stamp::Epoch(1_796_461_065_310)));
        let bunyan = br#"{"name":"api","level":50,"msg":"a long message","time":"2026-12-05T08:57:45.324Z","v":0}"#;
        assert_eq!(sniff(bunyan), Some((Key::Time, Holds::Text(Shape::Iso))));
        let winston = br#"{"level":"error","message":"x","timestamp":"2026-12-05 08:57:45"}"#;
        assert_eq!(sniff(winston), Some((Key::Timestamp, Holds::Text(Shape::Iso))));
        let caddy = br#"{"level":"error","ts":1795413112.6492145,"logger":"http.log.error","msg":"x"}"#;
        assert_eq!(sniff(caddy), Some((Key::Ts, Holds::EpochS)));
        assert_eq!(read(caddy, Key::Ts), Some(Stamp::Epoch(1_795_413_112_649)));
    }

    #[test]
    fn not_times() {
        assert_eq!(sniff(br#"{"level":30,"time":42,"msg":"x"}"#), None);
        assert_eq!(sniff(br#"{"time":"soon"}"#), None);
        assert_eq!(sniff(br#"{"req":{"time":1796461065310}}"#), None, "nested fields do not count");
        assert_eq!(sniff(b"{not json"), None);
        assert_eq!(read(br#"{"time":1e300}"#, Key::Time), None);
        assert_eq!(read(br#"{"time":-1796461065310}"#, Key::Time), None);
    }
}
