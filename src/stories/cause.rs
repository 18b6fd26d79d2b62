//! Probable causes: the windows before each exit of a restart story, and
//! what pass 2 found in them. [`cause_windows`] reads the restart-family
//! incidents' exit records; the scan reads the crashing apps' err and out
//! logs only inside those windows and feeds their error-looking records to
//! a [`Collector`], which groups them by [`shape`] (the first line with
//! numbers, ids, paths and addresses masked) with bounded memory. Hands on
//! [`Causes`]: per app, the shapes seen and how often.

use std::collections::BTreeMap;

use crate::incidents::store::Views;
use crate::rules::Family;

// Where before an exit its cause is looked for: owned by the fold,
// which keeps the marks of records inside these windows.
use crate::correlate::fold::mark::{BEFORE_MS, STAMP_SLACK_MS};

/// Shapes kept per app; further new shapes are counted as dropped (a
/// crash loop repeats one error, not thousands of different ones).
const MAX_SHAPES: usize = 64;

/// A first line shown at most this long.
const MAX_TEXT: usize = 200;

/// The span before one exit of one app where its cause is looked for
/// (both ends inclusive, ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    /// The app that exited.
    pub app: String,
    /// Its pm2 id, where the exit line names it (cluster instances have
    /// their own log files, `api-error-3.log`).
    pub pm_id: Option<u32>,
    /// First ms of the window.
    pub start: i64,
    /// Last ms of the window.
    pub end: i64,
}

impl Window {
    /// Returns true if and only if a record at `ts` lies in the window.
    pub fn holds(&self, ts: i64) -> bool {
        self.start <= ts && ts <= self.end
    }

    /// Returns true if and only if a log of `app`, for `instance` when
    /// its file names one, may hold this window's cause.
    pub fn fits(&self, app: &str, instance: Option<u32>) -> bool {
        self.app == app && (self.pm_id.is_none() || instance.is_none() || self.pm_id == instance)
    }
}

/// The windows before every exit pm2 logged for a restart-family
/// incident, in (app, pm_id, time) order, without duplicates. Exits
/// without a time have no window: their cause can only be placed by time.
pub fn cause_windows(incidents: Views<'_>) -> Vec<Window> {
    let mut out: Vec<Window> = incidents
        .iter()
        .filter(|i| i.is(&Family::Restart))
        .filter_map(|i| Some((incidents.app(i)?, i)))
        .flat_map(|(app, i)| {
            incidents.marks(i).iter().filter(|m| m.daemon()).filter_map(move |m| {
                let ts = m.ts()?;
                Some(Window { app: app.to_string(), pm_id: m.pm_id(), start: ts - BEFORE_MS, end: ts + STAMP_SLACK_MS })
            })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// One shape of error record seen before an app's exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// The masked first line (what groups records).
    pub masked: String,
    /// The first record's first line, as written (cut at 200 characters).
    pub text: String,
    /// The first record's file.
    pub file: String,
    /// Where the first record is in it.
    pub place: Place,
    /// Its time.
    pub ts: i64,
    /// Records of this shape in the windows (each counted once).
    pub count: usize,
    /// Written to the err stream (preferred over out on a tie).
    pub err: bool,
}

/// Where a record is: its line, or (counting lines to a window deep in a
/// large file being the costly part of reading it) its byte offset, turned
/// into a line only for the shapes a story names ([`Causes::offsets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// 1-based line.
    Line(u64),
    /// Byte offset of the record's first line.
    Offset(u64),
}

/// What pass 2 found: per app, the shapes of the error records in the
/// windows before its exits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Causes {
    by_app: BTreeMap<String, Vec<Shape>>,
}

impl Causes {
    /// The dominant shape before `app`'s exits: most records, then the
    /// err stream, then the earliest.
    pub fn dominant(&self, app: &str) -> Option<&Shape> {
        let rank = |s: &Shape| (std::cmp::Reverse(s.count), !s.err, s.ts);
        self.by_app.get(app)?.iter().min_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.file.cmp(&b.file)))
    }

    /// The dominant shapes whose place is a byte offset, to be given their
    /// line: (file, offset, where to write the line).
    pub fn offsets(&mut self) -> Vec<(String, u64, &mut Place)> {
        let rank = |s: &Shape| (std::cmp::Reverse(s.count), !s.err, s.ts);
        self.by_app
            .values_mut()
            .filter_map(|shapes| {
                shapes.iter_mut().min_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.file.cmp(&b.file)))
            })
            .filter_map(|s| match s.place {
                Place::Offset(at) => Some((s.file.clone(), at, &mut s.place)),
                Place::Line(_) => None,
            })
            .collect()
    }
}

/// Gathers pass 2's records into [`Causes`], one shape table per app,
/// holding at most 64 shapes each (`MAX_SHAPES`).
#[derive(Debug, Default)]
pub struct Collector {
    causes: Causes,
}

impl Collector {
    /// Takes one record of `app` in a window: `first` is its first line
    /// (prefixes removed). Records that do not look like errors are passed
    /// over.
    pub fn observe(&mut self, app: &str, file: &str, ts: i64, first: &str, err: bool, place: Place) {
        let first = first.trim();
        if !looks_like_error(first, err) {
            return;
        }
        let masked = shape(first);
        let shapes = self.causes.by_app.entry(app.to_string()).or_default();
        if let Some(s) = shapes.iter_mut().find(|s| s.masked == masked) {
            s.count += 1;
            // Files are read one after another, each in time order: an
            // earlier record of a shape can only come from another file.
            if (ts, file) < (s.ts, s.file.as_str()) {
                (s.text, s.file, s.place, s.ts) = (cut(first), file.to_string(), place, ts);
            }
            return;
        }
        if shapes.len() < MAX_SHAPES {
            shapes.push(Shape { masked, text: cut(first), file: file.to_string(), place, ts, count: 1, err });
        }
    }

    /// What was gathered.
    pub fn finish(self) -> Causes {
        self.causes
    }
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The line of a record that names its error: the first, or for a Python
/// traceback (whose first line is always `Traceback (most recent call
/// last):`) the last line not indented, `ConnectionError: Socket
/// disconnect`.
pub fn error_line(body: &str) -> &str {
    let first = body.lines().next().unwrap_or("");
    if !first.trim_start().starts_with("Traceback (most recent call last)") {
        return first;
    }
    body.lines().rev().find(|l| !l.trim().is_empty() && !l.starts_with([' ', '\t'])).unwrap_or(first)
}

/// Words an error line holds; an out-log line needs one of them (an
/// err-log line is an error unless it is only a warning).
const ERROR_WORDS: &[&str] =
    &["error", "exception", "fatal", "fail", "refused", "denied", "cannot", "unable", "panic", "killed", "abort"];

/// Returns true if and only if a record whose first line is `first` looks
/// like an error: on the err stream anything but a warning (Node prints
/// `DeprecationWarning`s at every start, before every crash of a loop);
/// on the out stream a line naming an error.
pub fn looks_like_error(first: &str, err: bool) -> bool {
    if first.is_empty() {
        return false;
    }
    let lower = first.to_ascii_lowercase();
    let names_error = ERROR_WORDS.iter().any(|w| lower.contains(w));
    if err { names_error || !lower.contains("warning") } else { names_error }
}

/// `first` with what differs between two occurrences of one error masked:
/// a word holding a path separator becomes `<path>`, runs of digits `#`,
/// hex ids of 8 or more characters `#`; quotes and brackets around a word
/// are kept. `Cannot find module '/srv/a/b.js'` and the same with another
/// path are one shape.
pub fn shape(first: &str) -> String {
    let mut out = String::with_capacity(first.len());
    for (i, word) in first.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        mask_word(word, &mut out);
    }
    out
}

fn mask_word(word: &str, out: &mut String) {
    const EDGE: &[char] = &['(', ')', '[', ']', '{', '}', '\'', '"', '`', '<', '>', ',', ';'];
    let inner = word.trim_matches(EDGE);
    if inner.is_empty() {
        out.push_str(word);
        return;
    }
    let lead = &word[..word.len() - word.trim_start_matches(EDGE).len()];
    let tail = &word[word.trim_end_matches(EDGE).len()..];
    out.push_str(lead);
    if inner.contains('/') || inner.contains('\\') {
        out.push_str("<path>");
    } else {
        mask_runs(inner, out);
    }
    out.push_str(tail);
}

/// Masks digit runs and long hex runs inside one word.
fn mask_runs(word: &str, out: &mut String) {
    let bytes = word.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex_end = i + bytes[i..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let run = &bytes[i..hex_end];
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let ends_word = hex_end == bytes.len() || !bytes[hex_end].is_ascii_alphanumeric();
        if run.len() >= 8 && run.iter().any(u8::is_ascii_digit) && starts_word && ends_word {
            out.push('#');
            i = hex_end;
        } else if bytes[i].is_ascii_digit() {
            out.push('#');
            i += bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        } else {
            // Whole characters: the word may hold non-ASCII text.
            let len = word[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&word[i..i + len]);
            i += len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_mask_what_differs_between_occurrences() {
        assert_eq!(
            shape("Error: listen EADDRINUSE: address already in use :::3000"),
            shape("Error: listen EADDRINUSE: address already in use :::3001")
        );
        assert_eq!(shape("Error: connect ECONNREFUSED 127.0.0.1:6379"), "Error: connect ECONNREFUSED #.#.#.#:#");
        assert_eq!(
            shape("Error: Cannot find module '/srv/api/node_modules/dotenv/lib/main.js'"),
            "Error: Cannot find module '<path>'"
        );
        assert_eq!(shape("request 9f86d081884c7d65 failed"), "request # failed");
        // Words that are hex letters only stay: "dead", "Error", "Cafe".
        assert_eq!(shape("dead beef feed"), "dead beef feed");
        assert_eq!(shape("Ошибка 42"), "Ошибка #");
    }

    /// A Python traceback is named by its exception line, the last.
    #[test]
    fn a_traceback_is_named_by_its_last_line() {
        let tb = "Traceback (most recent call last):\n  File \"rec.py\", line 9, in <module>\n    ib.run()\nConnectionError: Socket disconnect\n";
        assert_eq!(error_line(tb), "ConnectionError: Socket disconnect");
        assert_eq!(error_line("Error: boom\n    at main (a.js:1:1)"), "Error: boom");
        assert_eq!(error_line("Traceback (most recent call last):"), "Traceback (most recent call last):");
    }

    #[test]
    fn warnings_on_err_and_plain_out_lines_are_not_errors() {
        assert!(looks_like_error("Error: DATABASE_URL is not set", true));
        assert!(looks_like_error("TypeError: x is not a function", false));
        assert!(looks_like_error("something odd on stderr", true));
        assert!(!looks_like_error("(node:12) [DEP0040] DeprecationWarning: The `punycode` module is deprecated", true));
        assert!(!looks_like_error("listening on :3000", false));
        assert!(!looks_like_error("", true));
    }

    /// Records of one shape count once each; the first location is kept,
    /// whatever the order they come in.
    #[test]
    fn the_collector_counts_shapes_and_keeps_the_first_place() {
        let mut c = Collector::default();
        c.observe("api", "api-out.log", 2_000, "Error: Cannot find module 'dotenv'", false, Place::Line(12));
        c.observe("api", "api-error.log", 1_000, "Error: Cannot find module 'dotenv'", true, Place::Offset(300));
        c.observe("api", "api-error.log", 1_500, "db error 42", true, Place::Line(7));
        c.observe("api", "api-out.log", 1_600, "starting", false, Place::Line(8));
        let mut causes = c.finish();
        let top = causes.dominant("api").expect("a shape");
        assert_eq!((top.count, top.file.as_str(), top.place), (2, "api-error.log", Place::Offset(300)));
        // Only the dominant shape's offset is asked for.
        let offsets = causes.offsets();
        assert_eq!(offsets.len(), 1);
        for (file, at, place) in offsets {
            assert_eq!((file.as_str(), at), ("api-error.log", 300));
            *place = Place::Line(3);
        }
        assert_eq!(causes.dominant("api").map(|s| s.place), Some(Place::Line(3)));
        assert!(causes.dominant("web").is_none());
    }

    /// Windows come from the daemon's exit lines of restart incidents,
    /// with their pm_id; a log of another instance does not fit.
    #[test]
    fn windows_fit_the_app_and_instance() {
        let w = Window { app: "api".into(), pm_id: Some(1), start: 0, end: 10 };
        assert!(w.fits("api", Some(1)) && w.fits("api", None) && !w.fits("api", Some(2)) && !w.fits("web", None));
        assert!(w.holds(0) && w.holds(10) && !w.holds(11));
    }
}
