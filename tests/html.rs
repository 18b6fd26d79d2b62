//! `--format html` (issue 20): the page's data against the JSON run, its
//! safety with hostile log text, and the page itself in a real headless
//! Chromium (skipped where none is installed, and then listed by the
//! `not_run` target; `.ci/run` installs one and requires it).

mod browser;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{Doc, root, run, run_in, scan_json};
use browser::{Browser, available_or_skip, drawn};

/// `scan --format html` of `args`, written to `dir/name`.
fn page_in(dir: &Path, cwd: &Path, name: &str, args: &[&str]) -> PathBuf {
    let mut all = vec!["scan", "--format", "html", "--fail-on", "never"];
    all.extend_from_slice(args);
    let r = run_in(cwd, &all, None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let path = dir.join(name);
    std::fs::write(&path, &r.stdout).expect("write page");
    path
}

/// The page's data block, read back as JSON (its `\u` escapes are JSON's).
fn data_of(html: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"lt-data\">";
    let start = html.find(open).expect("data block") + open.len();
    let end = start + html[start..].find("</script>").expect("end of data block");
    serde_json::from_str(&html[start..end]).expect("data block is JSON")
}

/// The lanes the page must draw: one per app with a timed incident, pm2's
/// own rules without an app on the daemon's lane.
fn expected_lanes(doc: &Doc) -> BTreeSet<String> {
    doc.incidents
        .iter()
        .filter(|i| i.first_seen.is_some())
        .map(|i| match &i.app {
            Some(a) => a.clone(),
            None if i.rule.starts_with("pm2.") => "pm2 daemon".to_string(),
            None => "(no app)".to_string(),
        })
        .collect()
}

/// Every incident and story of the JSON run is in the page, in the same
/// order, with the same ids; untimed ones carry no instants.
#[test]
fn page_data_holds_the_json_run() {
    let (_, doc) = scan_json(&["fixtures/pm2"], &[]);
    let r = run(&["scan", "--format", "html", "fixtures/pm2"]);
    assert_eq!(r.code, 1, "same exit code as the other formats: {}", r.stderr);
    let data = data_of(&r.stdout);
    let ids: Vec<&str> =
        data["incidents"].as_array().expect("incidents").iter().filter_map(|i| i["id"].as_str()).collect();
    let want: Vec<&str> = doc.incidents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, want);
    let stories: Vec<&str> =
        data["stories"].as_array().expect("stories").iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(stories, doc.stories.iter().map(|s| s.id.as_str()).collect::<Vec<_>>());
    for (i, v) in doc.incidents.iter().zip(data["incidents"].as_array().expect("incidents")) {
        assert_eq!(i.first_seen.is_some(), v["t0"].is_i64(), "{}", i.id);
        let texts = data["fixes"][v["fix"][0].as_u64().expect("template index") as usize].as_array().expect("texts");
        let values = v["fix"][1].as_array().expect("values");
        assert_eq!(texts.len(), values.len() + 1, "{}", i.id);
        let mut fix = String::new();
        for (k, t) in texts.iter().enumerate() {
            fix += t.as_str().expect("text");
            fix += values.get(k).and_then(Value::as_str).unwrap_or_default();
        }
        assert_eq!(fix, i.fix, "{}", i.id);
    }
    let lanes: BTreeSet<String> = data["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .filter(|v| v["t0"].is_i64())
        .filter_map(|v| v["lane"].as_str().map(String::from))
        .collect();
    assert_eq!(lanes, expected_lanes(&doc));
}

/// Two runs give the same bytes (the run's duration is left out), and
/// nothing outside the data block names a network address: the page
/// loads nothing.
#[test]
fn page_is_deterministic_and_self_contained() {
    let a = run(&["scan", "--format", "html", "--threads", "1", "fixtures/pm2"]);
    let b = run(&["scan", "--format", "html", "--threads", "4", "fixtures/pm2"]);
    assert_eq!(a.stdout, b.stdout);
    let data = a.stdout.find("id=\"lt-data\">").expect("data block");
    let end = data + a.stdout[data..].find("</script>").expect("end");
    let (head, script) = (&a.stdout[..data], &a.stdout[end..]);
    for needle in ["http:", "https:", " src=", "<link", "@import", "url("] {
        assert!(!head.contains(needle), "the page's head and style hold {needle:?}");
    }
    for needle in ["fetch(", "XMLHttpRequest", "WebSocket", "sendBeacon", "import(", ".src", "innerHTML", "eval("] {
        assert!(!script.contains(needle), "the page's script holds {needle:?}");
    }
    assert!(head.contains("Content-Security-Policy"));
}

/// The shipped fixtures in a real browser: drawn without a console error,
/// one lane per app, a real click on an incident opens its details, a drag
/// zooms in, and a story's row selects its incidents.
#[test]
fn fixtures_page_in_a_browser() {
    if !available_or_skip("fixtures_page_in_a_browser") {
        return;
    }
    let (_, doc) = scan_json(&["fixtures/pm2"], &[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = page_in(dir.path(), &root(), "report.html", &["fixtures/pm2"]);
    let mut b = Browser::start(1400, 1000);
    assert_eq!(b.open(&path), "1");

    let lanes: BTreeSet<String> = serde_json::from_value(
        b.eval("Array.from(document.querySelectorAll('svg .lane-label')).map(t => t.firstChild.textContent)"),
    )
    .expect("lane labels");
    assert_eq!(lanes, expected_lanes(&doc));
    let png = b.screenshot();
    let (differing, colours) = drawn(&png);
    assert!(
        differing > 100_000 && colours > 50,
        "screenshot looks blank: {differing} pixels differ, {colours} colours"
    );

    // A real click on the first incident drawn.
    let target = b.eval(
        "(() => { const e = document.querySelector('svg .inc'); e.scrollIntoView({block: 'center'}); \
         const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2, Number(e.dataset.n)]; })()",
    );
    let (x, y, n) = (target[0].as_f64().expect("x"), target[1].as_f64().expect("y"), target[2].as_u64().expect("n"));
    b.click(x, y);
    let shown =
        b.eval("document.getElementById('details').hidden ? null : document.querySelector('#details h3').textContent");
    assert_eq!(shown.as_str(), Some(doc.incidents[n as usize].title.as_str()), "details after the click");
    let evidence = b.eval("document.querySelectorAll('#details .ev').length");
    assert_eq!(evidence.as_u64(), Some(doc.incidents[n as usize].evidence.len() as u64));
    // The README's picture: `LOGTRIAGE_HTML_SCREENSHOT=docs/html-report.png`.
    if let Some(out) = std::env::var_os("LOGTRIAGE_HTML_SCREENSHOT") {
        b.eval("window.scrollTo(0, 0)");
        std::fs::write(out, b.screenshot()).expect("write screenshot");
    }

    // A drag across the middle third of the plot zooms in to it.
    let before = b.eval("document.getElementById('range').textContent");
    let plot = b.eval(
        "(() => { const s = document.querySelector('#timeline svg'); s.scrollIntoView({block: 'center'}); \
         const r = s.getBoundingClientRect(); return [r.left, r.top, r.width]; })()",
    );
    let (left, top, width) = (plot[0].as_f64().expect("l"), plot[1].as_f64().expect("t"), plot[2].as_f64().expect("w"));
    let (from, to) = (left + 180.0 + (width - 200.0) / 3.0, left + 180.0 + 2.0 * (width - 200.0) / 3.0);
    b.drag((from, top + 60.0), (to, top + 60.0));
    let after = b.eval("document.getElementById('range').textContent");
    assert_ne!(before, after, "the drag did not zoom");

    // A story's row selects it: its incidents stay, the others dim.
    if let Some(story) = doc.stories.iter().find(|s| s.incidents.len() > 1) {
        let k = doc.stories.iter().position(|s| s.id == story.id).expect("story");
        b.eval(&format!("document.querySelector('#stories li[data-story=\"{k}\"]').click()"));
        let on = b.eval("document.querySelectorAll('#stories li.on').length");
        assert_eq!(on.as_u64(), Some(1));
        let lit = b.eval("document.querySelectorAll('svg .inc:not(.dim)').length").as_u64().expect("count");
        let timed_members = story
            .incidents
            .iter()
            .filter(|id| doc.incidents.iter().any(|i| &&i.id == id && i.first_seen.is_some()))
            .count() as u64;
        assert!(lit <= timed_members && lit > 0, "{lit} lit for a story of {timed_members} timed incidents");
    }
    assert!(b.problems.is_empty(), "console: {:?}", b.problems);
}

/// Writes logs whose every user-visible part carries markup, script and
/// quote-breaking text: an app name, a file name, error text, and a rule
/// pack's references.
fn hostile_logs(dir: &Path) -> PathBuf {
    let app = "<img src=x onerror=window.__pwned=1>";
    let mut pm2 = String::new();
    for k in 0..6 {
        let _ = writeln!(pm2, "2026-11-20T10:00:{:02}: PM2 log: App [{app}:0] online", k * 4);
        let _ = writeln!(
            pm2,
            "2026-11-20T10:00:{:02}: PM2 log: App [{app}:0] exited with code [1] via signal [SIGINT]",
            k * 4 + 2
        );
    }
    std::fs::write(dir.join("pm2.log"), pm2).expect("write");
    let mut err = String::new();
    for k in 0..3 {
        let _ = writeln!(
            err,
            "2026-11-20T10:01:0{k}: Error: </script><script>window.__pwned=3</script> javascript:window.__pwned=4 ' \" onmouseover=\"window.__pwned=5"
        );
        let _ = writeln!(err, "    at Object.<anonymous> (/app/<b>index</b>.js:1:1)");
        let _ = writeln!(
            err,
            "2026-11-20T10:01:0{k}: Unhandled promise rejection: Error: connect ECONNREFUSED 127.0.0.1:6379 <iframe src=javascript:window.__pwned=6>"
        );
    }
    std::fs::write(dir.join("\"><svg onload=window.__pwned=2>-error.log"), err).expect("write");
    // Untimed: the untimed list shows it too.
    std::fs::write(dir.join("<u>bot<u>-error.log"), "Error: </SCRIPT ><script>window.__pwned=9</script>\n")
        .expect("write");
    let pack = dir.join("hostile.toml");
    std::fs::write(
        &pack,
        r#"
[[rule]]
id = "test.payload"
title = "payload: {what}"
severity = "high"
regex = 'Error: (?P<what></(?i:script).+)'
fix = "Look at {what}"
references = ["javascript:window.__pwned=7", "https://example.com/\" onmouseover=\"window.__pwned=8"]
"#,
    )
    .expect("write");
    pack
}

/// Log text never runs: every incident's details opened, nothing set
/// `window.__pwned`, no element or handler came from a log, the hostile
/// text shows as text, a `javascript:` reference is no link, and the
/// policy refuses a script the page did not bring.
#[test]
fn hostile_log_text_never_executes() {
    if !available_or_skip("hostile_log_text_never_executes") {
        return;
    }
    let logs = tempfile::tempdir().expect("temp dir");
    let pack = hostile_logs(logs.path());
    let pack = pack.to_str().expect("utf-8 path");
    let path = page_in(logs.path(), logs.path(), "report.html", &["--rules", pack, "."]);
    let html = std::fs::read_to_string(&path).expect("page");
    let data = data_of(&html);
    let titles: Vec<&str> =
        data["incidents"].as_array().expect("incidents").iter().filter_map(|i| i["title"].as_str()).collect();
    assert!(titles.iter().any(|t| t.contains("<img src=x")), "the crash loop of the hostile app: {titles:?}");
    assert!(titles.iter().any(|t| t.contains("</script><script>")), "{titles:?}");
    assert!(titles.iter().any(|t| t.contains("</SCRIPT >")), "the untimed one: {titles:?}");

    let mut b = Browser::start(1400, 1000);
    assert_eq!(b.open(&path), "1");
    let opened = b.eval(
        "(() => { let n = 0; \
         document.querySelectorAll('svg .inc, #untimed tbody tr').forEach(e => { \
           e.dispatchEvent(new MouseEvent('click', {bubbles: true})); n++; \
           document.querySelectorAll('#details a').forEach(a => a.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}))); }); \
         document.querySelectorAll('#stories li').forEach(e => { e.click(); n++; }); \
         return n; })()",
    );
    assert!(opened.as_u64().is_some_and(|n| n >= 4), "opened {opened}");
    let verdict = b.eval(
        "({ pwned: window.__pwned === undefined ? null : window.__pwned, \
            scripts: document.scripts.length, \
            foreign: document.querySelectorAll('img, iframe, b, u, object, embed, svg svg').length, \
            handlers: Array.from(document.querySelectorAll('*')).flatMap(e => Array.from(e.attributes)).filter(a => a.name.startsWith('on')).length, \
            links: Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href')), \
            text: document.body.textContent })",
    );
    assert_eq!(verdict["pwned"], Value::Null, "log text ran");
    assert_eq!(verdict["scripts"], 2, "only the data block and the page's script");
    assert_eq!(verdict["foreign"], 0, "an element came from a log");
    assert_eq!(verdict["handlers"], 0, "an event handler came from a log");
    let links = verdict["links"].as_array().expect("links");
    assert!(links.iter().all(|l| l.as_str().is_some_and(|l| l.starts_with("https://"))), "{links:?}");
    let text = verdict["text"].as_str().expect("text");
    for shown in ["<img src=x onerror=window.__pwned=1>", "</script><script>window.__pwned=3</script>", "</SCRIPT >"] {
        assert!(text.contains(shown), "{shown} not shown as text");
    }
    assert!(b.problems.is_empty(), "console: {:?}", b.problems);

    // The policy is in force: a script the page did not bring is refused,
    // and the refusal is reported.
    b.eval(
        "(() => { const s = document.createElement('script'); s.textContent = 'window.__pwned = \"injected\"'; \
         document.body.appendChild(s); })()",
    );
    assert_eq!(b.eval("window.__pwned === undefined ? null : window.__pwned"), Value::Null);
    assert!(
        b.problems.iter().any(|p| p.contains("Content Security Policy")),
        "no CSP refusal reported: {:?}",
        b.problems
    );
}

/// Thousands of incidents: the page stays proportional to them, and the
/// timeline draws each pixel column once instead of every incident.
#[test]
fn thousands_of_incidents_are_drawn_per_pixel_column() {
    if !available_or_skip("thousands_of_incidents_are_drawn_per_pixel_column") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = String::new();
    for k in 0..5000u32 {
        let _ = writeln!(
            log,
            "2026-11-20T{:02}:{:02}:{:02}: job {k} failed: timeout",
            8 + k / 600,
            k / 10 % 60,
            k % 10 * 6
        );
    }
    std::fs::write(dir.path().join("worker-error.log"), log).expect("write");
    let pack = dir.path().join("jobs.toml");
    std::fs::write(
        &pack,
        "[[rule]]\nid = \"test.job\"\ntitle = \"job {job} failed\"\nseverity = \"medium\"\n\
         regex = 'job (?P<job>\\d+) failed'\ngroup_by = [\"job\"]\nfix = \"Retry job {job}.\"\n",
    )
    .expect("write");
    let pack = pack.to_str().expect("utf-8");
    let path = page_in(dir.path(), dir.path(), "report.html", &["--no-builtin-rules", "--rules", pack, "."]);
    let size = std::fs::metadata(&path).expect("page").len();
    assert!(size < 5000 * 1200, "{size} bytes for 5000 incidents");

    let mut b = Browser::start(1400, 900);
    assert_eq!(b.open(&path), "1");
    let incidents = b.eval("document.querySelectorAll('svg .inc').length").as_u64().expect("n");
    let columns = b.eval("document.querySelectorAll('svg .agg').length").as_u64().expect("n");
    assert_eq!(incidents, 0, "drawn one by one");
    assert!(columns > 100 && columns <= 700, "{columns} columns");
    let ms = b.eval("Number(document.documentElement.dataset.renderMs)");
    eprintln!("5000 incidents: {size} bytes, drawn {ms} ms after navigation");
    assert!(b.problems.is_empty(), "console: {:?}", b.problems);
}
