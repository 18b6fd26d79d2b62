//! logtriage: rule-based incident triage for pm2-managed Node.js services.
//!
//! The pipeline runs one way, one module per stage:
//!
//! ```text
//! input ──►  records ──► matcher ──►    names ──► correlate ──► incidents ──► stories ──►   report
//! files,     lines →     Aho-Corasick   one name  windows per   stable ids,   related       text /
//! mmap, gz,  records,    prefilter +    per app   rule and key  fixes, order  incidents     json / ndjson /
//! naming     timestamps  regex confirm                                        as one, cause markdown
//! ```
//!
//! [`rules`] holds the compiled rule packs every stage reads; [`scan`] joins
//! the stages (files in parallel, results merged in a fixed order; then a
//! second, targeted read of the crashing apps' logs before their exits for
//! [`stories`]) and hands a
//! [`scan::ScanOutput`] to a [`report::Reporter`]. [`filter`] narrows a run
//! to a time range, apps, and incidents a [`baseline`] does not know.
//! [`watch`] runs the same stages on logs as they are written: files
//! followed through rotation, matches correlated as they arrive, each
//! incident emitted once, with a state file for restarts; [`deliver`]
//! posts what it emits to Alertmanager itself (resent, resolved, spooled).
//!
//! The rule author's tools sit beside the pipeline: [`lint`] (what `rules
//! check` adds to loading: literals the regex does not require, rules the
//! prefilter cannot help) and [`ruletest`] (`rules test`: fixtures and inline
//! examples through the same scan).

pub mod baseline;
pub mod contract;
pub mod correlate;
pub mod deliver;
pub mod error;
pub mod filter;
#[cfg(test)]
mod fixtures;
pub mod incidents;
pub mod input;
pub mod lint;
pub mod matcher;
pub mod memory;
pub mod mine;
pub mod names;
pub mod pool;
pub mod records;
pub mod report;
pub mod rules;
pub mod ruletest;
pub mod scan;
pub mod spill;
pub mod stories;
pub mod summary;
pub mod watch;
