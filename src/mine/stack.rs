//! Stack traces: a Node stack clusters on its error line and the first
//! frame in the app's own code, never on Node's internals or a
//! dependency's frames (those are the same for every error that passes
//! through them). Hands on that frame as a short anchor, `at fn (dir/file.js)`.

/// The anchor of the first app frame among `lines`, if any.
pub fn app_frame<'a>(lines: impl Iterator<Item = &'a str>) -> Option<String> {
    lines.filter_map(frame).find(|f| own(f.path)).map(|f| f.anchor())
}

/// Whether `line` is a stack frame (`    at ...`).
pub fn is_frame(line: &str) -> bool {
    line.trim_start().starts_with("at ") && line.starts_with(char::is_whitespace)
}

/// One `at fn (path:line:col)` or `at path:line:col` frame.
struct Frame<'a> {
    function: Option<&'a str>,
    path: &'a str,
}

fn frame(line: &str) -> Option<Frame<'_>> {
    if !is_frame(line) {
        return None;
    }
    // A frame that opens a property block ends in ` {`.
    let rest = line.trim().strip_prefix("at ")?.trim_end_matches('{').trim();
    let (function, place) = match rest.strip_suffix(')').and_then(|r| r.rsplit_once(" (")) {
        Some((function, place)) => (Some(function.trim_start_matches("async ")), place),
        None => (None, rest),
    };
    Some(Frame { function, path: strip_position(place) })
}

/// `path:12:34` without its line and column.
fn strip_position(place: &str) -> &str {
    let mut path = place;
    for _ in 0..2 {
        match path.rsplit_once(':') {
            Some((p, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => path = p,
            _ => break,
        }
    }
    path
}

/// Whether a frame's file is the app's own: not Node's (`node:internal`,
/// the bare `internal/` of Node 14 and earlier, `<anonymous>`, `native`),
/// not a dependency's (`node_modules`).
fn own(path: &str) -> bool {
    !(path.starts_with("node:")
        || path.starts_with("internal/")
        || path.contains("node_modules")
        || path.starts_with('<')
        || path == "native"
        || path.is_empty())
}

impl Frame<'_> {
    /// The frame without what moves between deploys: the function and the
    /// file's last two path components (a release directory, a home
    /// directory or a build hash above them differ between hosts).
    fn anchor(&self) -> String {
        let path = self.path.strip_prefix("file://").unwrap_or(self.path);
        let mut parts = path.rsplit(['/', '\\']);
        let file = parts.next().unwrap_or(path);
        let short = match parts.next() {
            Some(dir) if !dir.is_empty() => format!("{dir}/{file}"),
            _ => file.to_string(),
        };
        match self.function {
            Some(f) => format!("at {f} ({short})"),
            None => format!("at {short}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_own_frame_is_the_anchor() {
        let stack = "TypeError: Cannot read properties of undefined (reading 'id')
    at Object.<anonymous> (/srv/api/node_modules/express/lib/router/layer.js:95:5)
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)
    at internal/main/run_main_module.js:17:47
    at async handler (/home/deploy/releases/20261205/src/routes/user.js:41:17)
    at next (/srv/api/src/app.js:3:1)";
        assert_eq!(app_frame(stack.lines()).as_deref(), Some("at handler (routes/user.js)"));
    }

    #[test]
    fn bare_frames_and_stacks_without_own_code() {
        assert_eq!(app_frame(["    at /srv/worker/index.js:10:3"].into_iter()).as_deref(), Some("at worker/index.js"));
        assert_eq!(app_frame(["    at node:net:1:1", "    at foo (node_modules/x/y.js:1:1)"].into_iter()), None);
        assert!(!is_frame("at the start of a sentence"));
    }
}
