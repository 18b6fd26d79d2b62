//! Integration tests: the real binary on the shipped fixtures.

// Runs the binary and decodes its output into the test's own types.
mod util;

// Exact incidents for each pm2 log shape (fork --time, cluster, JSON,
// no timestamps, daemon, saved `pm2 logs`).
mod shapes;

// Times where applications put them: every stamp shape, where it may
// stand, and the windowed rules they make work (issue 13).
mod times;

// Exit codes, formats, stdin, user rule packs, rule errors.
mod cli;

// The JSON / NDJSON schema as a contract.
mod json_contract;

// Same bytes for every thread count.
mod determinism;

// Incidents past the memory budget: the same bytes from the temporary file.
mod store;

// Unrecognised errors (issue 16): mining, `templates`, `rules draft`.
mod unknown;

// One large live log split across the workers (issue 5).
mod split;

// Events past --memory-budget spill to a temporary file (issue 18): the
// same bytes as held, every fixture directory.
mod spill;

// Each built-in rule against its fires / near-miss fixtures.
mod rule_fixtures;

// `--format markdown`: heading, table and sections against the JSON run.
mod markdown;

// `--format html` (issue 20): the page's data, its safety with hostile log
// text, and the page in a real headless Chromium.
mod html;

// Stories (issue 14): what folds into one, the probable cause, the first
// screen of the text report.
mod stories;

// Inputs an SRE cannot choose (issue 6): logs truncated or growing while
// read, binary, invalid UTF-8, huge lines, unreadable paths, symlink loops,
// broken gzip, CRLF; rule packs that must not half-run; a closed stdout.
mod bad_input;

// The CI gate and rule tooling: rules check/test/list/explain, baseline,
// time and app filters.
mod ci;

// `--format alertmanager`: the payload against the JSON run, and the round
// trip through a real Alertmanager (.ci/install-alertmanager).
mod alertmanager;

// `watch`: incidents while logs are written, rotation, restarts, signals.
mod watch;

// `watch --alertmanager`: delivery to real Alertmanagers on loopback
// (issue 17): resends, outages, a cluster, SIGKILL.
mod deliver;

// Inputs the fuzz targets found (see fuzz/ and README, "Fuzzing").
mod fuzz_regressions;

// Recorded logs of real software (lab/record) and public excerpts: exactly
// the incidents each scenario's expect.toml lists (README, "Recorded lab").
mod recorded;

// Apps named as the user configured them: ecosystem files, `--pm2`, `--as`,
// one name per app (issue 13).
mod naming;

// A gate to trust (issue 15): each file read once whatever the paths to
// it, no log at all is an input error, holes of NUL bytes in live logs,
// `watch --state` checked before following, `--app` naming nothing, the
// README's cron recipes.
mod gate;

// Shipping the CLI (issue 19): completions, man pages, consistent flags,
// messages that say what to do.
mod ship;

// Beyond pm2 (issue 21): Docker, compose, journald, PostgreSQL, Redis and
// Caddy logs in one run, named by their apps; one outage, both sides, one
// story.
mod stack;

// The README's samples against the real binary (issue 19):
// LOGTRIAGE_BLESS=1 rewrites them after an intended change of output.
mod readme;
