//! The JSON output contract's version numbers. A leaf: the report writes
//! them (`report::schema`) and the baseline checks a previous report's
//! against them, so neither has to import the other (the baseline sits
//! upstream of the report: `--baseline` filters incidents before they are
//! reported).
//!
//! Bump [`SCHEMA_VERSION`] on any change that removes or changes the
//! meaning of a field; adding a field does not.
//!
//! Version 2 (stories): the document gains `stories` before `incidents`,
//! each incident gains `story`, NDJSON gains `"type":"story"` lines before
//! the incident lines. Version 1's fields are all there with their
//! meaning; the version changed because a reader that took every line of
//! an NDJSON stream for an incident or the summary would misread the story
//! lines. Added within version 2 before its release: `stories[].time_of_day`.

/// Version of the JSON / NDJSON output schema.
pub const SCHEMA_VERSION: u32 = 2;

/// Versions of the schema `--baseline` reads (their incidents' `rule` and
/// `key` mean the same in each).
pub const READABLE_VERSIONS: [u32; 2] = [1, 2];
