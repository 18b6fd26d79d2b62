//! The README's shown output against the real binary, so the samples
//! cannot drift from what the commands print (issue 19).
//!
//! A checked block is a fenced block right under a marker line:
//!
//! ```text
//! <!-- readme-test: rules check fixtures/packs/broken; cut=120 -->
//! ```
//!
//! The marker holds the `logtriage` arguments (split on spaces), then
//! options after `;`: `cut=N` shortens a line longer than N characters at
//! its last space before N and ends it with ` ...`; `lines=1-3,8,-1` keeps
//! those stdout lines (1-based, negative from the end) and shows each gap
//! as a line `...`. A block whose first line is `$ logtriage ...` shows
//! the command, which must be the marker's. Only the run's timing (`in 17
//! ms`) is masked.
//!
//! After a change of output: `LOGTRIAGE_BLESS=1 cargo test --test
//! integration readme` rewrites every checked block (and the JSON
//! example's `summary.files` values) from the binary; review the diff.

use std::path::PathBuf;

use crate::util::{root, run};

/// Set to rewrite the README from the binary's output instead of failing.
const BLESS: &str = "LOGTRIAGE_BLESS";

const MARKER: &str = "<!-- readme-test: ";

fn blessing() -> bool {
    std::env::var_os(BLESS).is_some_and(|v| !v.is_empty() && v != "0")
}

fn readme_path() -> PathBuf {
    root().join("README.md")
}

/// One checked block: where it is and how its output is shown.
#[derive(Debug)]
struct Block {
    /// 1-based README line of the marker.
    marker_line: usize,
    args: Vec<String>,
    cut: Option<usize>,
    lines: Option<Ranges>,
    /// Index (0-based) of the block's first content line and one past its
    /// last, in the README's lines.
    body: (usize, usize),
    /// The block starts with `$ logtriage ARGS`.
    shows_command: bool,
}

impl Block {
    fn command(&self) -> String {
        format!("logtriage {}", self.args.join(" "))
    }
}

/// `lines=` ranges: inclusive, 1-based, negative from the end.
type Ranges = Vec<(i64, i64)>;

fn parse_marker(spec: &str, marker_line: usize) -> (Vec<String>, Option<usize>, Option<Ranges>) {
    let mut parts = spec.split(';').map(str::trim);
    let args = parts.next().unwrap_or("").split_whitespace().map(String::from).collect();
    let (mut cut, mut lines) = (None, None);
    for opt in parts {
        match opt.split_once('=') {
            Some(("cut", n)) => cut = Some(n.parse().unwrap_or_else(|_| panic!("README:{marker_line}: bad cut={n}"))),
            Some(("lines", list)) => {
                let ranges = list
                    .split(',')
                    .map(|r| {
                        let num = |s: &str| {
                            s.parse::<i64>().unwrap_or_else(|_| panic!("README:{marker_line}: bad lines={list}"))
                        };
                        match r.split_once('-').filter(|(a, _)| !a.is_empty()) {
                            Some((a, b)) => (num(a), num(b)),
                            None => (num(r), num(r)),
                        }
                    })
                    .collect();
                lines = Some(ranges);
            }
            _ => panic!("README:{marker_line}: unknown option {opt:?} (cut=N, lines=A-B,C)"),
        }
    }
    (args, cut, lines)
}

fn blocks(readme: &[&str]) -> Vec<Block> {
    let mut out = Vec::new();
    for (i, line) in readme.iter().enumerate() {
        let Some(spec) = line.strip_prefix(MARKER).and_then(|s| s.strip_suffix(" -->")) else { continue };
        let fence = readme.get(i + 1).copied().unwrap_or("");
        assert!(fence.starts_with("```"), "README:{}: a readme-test marker must sit right above a ``` fence", i + 1);
        let end = (i + 2..readme.len())
            .find(|&j| readme[j] == "```")
            .unwrap_or_else(|| panic!("README:{}: the checked block is not closed", i + 1));
        let (args, cut, lines) = parse_marker(spec, i + 1);
        let shows_command = readme[i + 2].starts_with("$ ");
        out.push(Block { marker_line: i + 1, args, cut, lines, body: (i + 2, end), shows_command });
    }
    out
}

/// Shortens `line` to at most `n` characters at its last space, marking
/// the cut with ` ...`.
fn cut_line(line: &str, n: usize) -> String {
    if line.chars().count() <= n {
        return line.to_string();
    }
    let prefix: String = line.chars().take(n).collect();
    let at = prefix.rfind(' ').unwrap_or(prefix.len());
    format!("{} ...", prefix[..at].trim_end())
}

/// The block text the README must hold for this output.
fn render(block: &Block, stdout: &str) -> Vec<String> {
    let all: Vec<&str> = stdout.lines().collect();
    let n = all.len() as i64;
    let kept: Vec<Option<&str>> = match &block.lines {
        None => all.iter().map(|l| Some(*l)).collect(),
        Some(ranges) => {
            let index = |k: i64| if k < 0 { n + k } else { k - 1 };
            let mut picked: Vec<i64> = ranges.iter().flat_map(|&(a, b)| index(a)..=index(b)).collect();
            picked.retain(|&k| (0..n).contains(&k));
            picked.dedup();
            let mut out = Vec::new();
            let mut next = 0;
            for k in picked {
                if k != next {
                    out.push(None);
                }
                out.push(Some(all[k as usize]));
                next = k + 1;
            }
            if next != n {
                out.push(None);
            }
            out
        }
    };
    let mut text: Vec<String> = kept
        .into_iter()
        .map(|l| match (l, block.cut) {
            (None, _) => "...".to_string(),
            (Some(l), Some(c)) => cut_line(l, c),
            (Some(l), None) => l.to_string(),
        })
        .collect();
    if block.shows_command {
        text.insert(0, format!("$ {}", block.command()));
    }
    text
}

/// Masks what differs between runs: the scan's own time.
fn mask(line: &str) -> String {
    let re = regex::Regex::new(r"in \d+ ms").expect("regex");
    re.replace_all(line, "in N ms").into_owned()
}

#[test]
fn readme_samples_are_what_the_commands_print() {
    let text = std::fs::read_to_string(readme_path()).expect("README.md");
    let lines: Vec<&str> = text.lines().collect();
    let found = blocks(&lines);
    assert!(found.len() >= 3, "README has {} checked blocks; the samples lost their markers?", found.len());
    let mut rewritten: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mut failures = Vec::new();
    // Back to front, so a rewritten block does not move the ones above it.
    for block in found.iter().rev() {
        let args: Vec<&str> = block.args.iter().map(String::as_str).collect();
        let r = run(&args);
        assert!(r.code >= 0, "README:{}: `{}` did not exit", block.marker_line, block.command());
        let want = render(block, &r.stdout);
        let shown = &lines[block.body.0..block.body.1];
        if blessing() {
            // A line that differs only in what is masked keeps the README's
            // text (a debug build's timing is no sample).
            let kept: Vec<String> = want
                .iter()
                .enumerate()
                .map(|(k, w)| match shown.get(k) {
                    Some(s) if mask(s) == mask(w) => s.to_string(),
                    _ => w.clone(),
                })
                .collect();
            rewritten.splice(block.body.0..block.body.1, kept);
            continue;
        }
        let differs = shown.len() != want.len() || shown.iter().zip(&want).any(|(s, w)| mask(s) != mask(w));
        if differs {
            let k =
                shown.iter().zip(&want).position(|(s, w)| mask(s) != mask(w)).unwrap_or(shown.len().min(want.len()));
            failures.push(format!(
                "README.md:{} block for `{}` differs from the output at its line {} (README line {}):\n  README: {}\n  output: {}\n  ({} lines shown, {} wanted)",
                block.marker_line,
                block.command(),
                k + 1,
                block.body.0 + k + 1,
                shown.get(k).copied().unwrap_or("<end of block>"),
                want.get(k).map_or("<end of output>", String::as_str),
                shown.len(),
                want.len(),
            ));
        }
    }
    if blessing() {
        let mut out = rewritten.join("\n");
        out.push('\n');
        std::fs::write(readme_path(), out).expect("rewrite README.md");
        return;
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf the new output is right, rewrite the blocks with `{BLESS}=1 cargo test --test integration readme` and review the diff.",
        failures.join("\n\n")
    );
}

/// The JSON example's `summary.files[]` entries of real fixture files hold
/// the numbers a scan of that file gives (the rest of the example is an
/// illustration put together from several runs).
#[test]
fn readme_json_example_files_are_what_a_scan_reports() {
    let text = std::fs::read_to_string(readme_path()).expect("README.md");
    let start = text.find("\n## JSON output\n").expect("README has a JSON output section");
    let open = start + text[start..].find("```json\n").expect("a ```json block") + "```json\n".len();
    let close = open + text[open..].find("\n```").expect("the ```json block is closed");
    let example: serde_json::Value =
        serde_json::from_str(&text[open..close]).expect("the README's JSON example parses as JSON");
    let files = example["summary"]["files"].as_array().expect("summary.files is an array");
    assert!(!files.is_empty());
    let mut new_text = text.clone();
    let mut failures = Vec::new();
    let mut sums = serde_json::Map::new();
    for shown in files {
        let path = shown["path"].as_str().expect("files[].path");
        assert!(root().join(path).is_file(), "the JSON example's summary.files names {path}, which is not a fixture");
        let r = run(&["scan", path, "--format", "json"]);
        let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("scan JSON");
        let real = &doc["summary"]["files"][0];
        for key in TOTALS {
            let sum = sums.get(key).and_then(serde_json::Value::as_u64).unwrap_or(0) + real[key].as_u64().unwrap_or(0);
            sums.insert(key.to_string(), sum.into());
        }
        if real == shown {
            continue;
        }
        if blessing() {
            new_text = bless_entry(&new_text, path, real);
        } else {
            failures
                .push(format!("README JSON example, summary.files entry {path}:\n  README: {shown}\n  scan:   {real}"));
        }
    }
    // The totals are the files' sums.
    if blessing() {
        new_text = bless_totals(&new_text, &serde_json::Value::Object(sums));
    }
    for key in TOTALS {
        let sum: u64 = files.iter().filter_map(|f| f[key].as_u64()).sum();
        let total = example["summary"][key].as_u64();
        if total != Some(sum) && !blessing() {
            failures.push(format!("README JSON example: summary.{key} is {total:?}, its files add up to {sum}"));
        }
    }
    if blessing() {
        std::fs::write(readme_path(), new_text).expect("rewrite README.md");
        return;
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf the scan is right, rewrite the entry with `{BLESS}=1 cargo test --test integration readme` and review the diff.",
        failures.join("\n")
    );
}

/// Summary fields that add up the files' own.
const TOTALS: [&str; 3] = ["bytes", "records", "candidates"];

/// Sets the summary's totals line of the JSON example (`    "bytes": ...`)
/// to `sums`.
fn bless_totals(text: &str, sums: &serde_json::Value) -> String {
    let start = text.find("\n    \"bytes\": ").expect("the JSON example's totals line") + 1;
    let end = start + text[start..].find('\n').expect("line end");
    format!("{}{}{}", &text[..start], replace_values(&text[start..end], sums), &text[end..])
}

/// `text` with each `"key": value` of `values`' keys set to its value.
fn replace_values(text: &str, values: &serde_json::Value) -> String {
    let mut out = text.to_string();
    for (key, value) in values.as_object().expect("an object") {
        let re = regex::Regex::new(&format!(r#""{key}": ("[^"]*"|[^,\s}}]+)"#)).expect("regex");
        out = re.replace(&out, format!("\"{key}\": {value}").as_str()).into_owned();
    }
    out
}

/// Replaces the values of the entry for `path` in the JSON example with
/// `real`'s, keeping its layout.
fn bless_entry(text: &str, path: &str, real: &serde_json::Value) -> String {
    let start = text.find(&format!("{{ \"path\": \"{path}\"")).expect("entry in README");
    let end = start + text[start..].find('}').expect("entry closes");
    format!("{}{}{}", &text[..start], replace_values(&text[start..end], real), &text[end..])
}

#[test]
fn cut_and_lines_render_as_documented() {
    assert_eq!(cut_line("abc def ghi", 9), "abc def ...");
    assert_eq!(cut_line("abc def", 9), "abc def");
    let block = Block {
        marker_line: 1,
        args: vec!["scan".into()],
        cut: None,
        lines: Some(vec![(1, 2), (4, 4), (-1, -1)]),
        body: (0, 0),
        shows_command: true,
    };
    assert_eq!(render(&block, "a\nb\nc\nd\ne\nf\n"), ["$ logtriage scan", "a", "b", "...", "d", "...", "f"]);
    assert_eq!(mask("14 stories in 17 ms"), "14 stories in N ms");
}
