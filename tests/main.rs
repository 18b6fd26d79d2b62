//! Integration tests: the real binary on the shipped fixtures.

// Runs the binary and decodes its output into the test's own types.
mod util;

// Exact incidents for each pm2 log shape (fork --time, cluster, JSON,
// no timestamps, daemon, saved `pm2 logs`).
mod shapes;

// Exit codes, formats, stdin, user rule packs, rule errors.
mod cli;

// The JSON / NDJSON schema as a contract.
mod json_contract;

// Same bytes for every thread count.
mod determinism;

// Each built-in rule against its fires / near-miss fixtures.
mod rule_fixtures;

// `--format markdown`: heading, table and sections against the JSON run.
mod markdown;

// The CI gate and rule tooling: rules check/test/list/explain, baseline,
// time and app filters.
mod ci;

// Inputs the fuzz targets found (see fuzz/ and README, "Fuzzing").
mod fuzz_regressions;
