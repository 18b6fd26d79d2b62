//! Views parked in the store's temporary file while correlation runs.
//!
//! Every incident keeps its [`View`] to the end of the run, but nothing
//! reads a view between its push and the end of correlation: the report
//! order, the filters and the stories come after. Correlation is also
//! when the scan's events hold their half of the budget, so views held
//! then grew on top of it (5 GiB storm: 732 k views, 45 MiB, beside the
//! events' runs). Past a share of the incidents' eighth the store writes
//! its views out in chunks of fixed-size records ([`VIEW_BYTES`] each, in
//! push order) and [`Store::gather`] reads them back once correlation is
//! done and its events are freed. Under the share nothing is written.
//!
//! A parked view never names a held incident's marks: those are copied
//! into the store's list of marks first, so writing a held incident out
//! later changes nothing parked. Its rule is written as the index of its
//! kind ([`Kind`]), its app as the store's index of it.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use super::{Kind, RuleOf, Store, View, read_at};
use crate::rules::Severity;
use crate::spill::{Doing, SpillError};

/// Bytes of one parked view: id, count, first and last ms (8 each), app,
/// group, marks' place and length, times of day, kind (4 each), flags.
pub(super) const VIEW_BYTES: usize = 4 * 8 + 6 * 4 + 1;

/// The fewest views written at once, however small the budget
/// (`--memory-budget 0` parks from the first): a chunk is one write.
pub(super) const MIN_PARK: usize = 1 << 12;

/// The views written out: chunks in the temporary file, in push order.
#[derive(Debug, Default)]
pub(super) struct Parked {
    /// (offset, how many views) of each chunk.
    pub(super) chunks: Vec<(u64, u32)>,
    /// Views in them.
    pub(super) len: usize,
}

impl Store {
    /// Writes the views held out when they pass a quarter of `share` (the
    /// incidents' eighth): all of them, as one chunk.
    pub(super) fn park_views(&mut self, share: u64) -> Result<(), SpillError> {
        let held = self.views.len();
        let bytes = (held * std::mem::size_of::<View>()) as u64;
        if held < MIN_PARK || bytes <= share / 4 || self.budget.bytes == u64::MAX {
            return Ok(());
        }
        let kinds = self.kind_numbers();
        let mut views = std::mem::take(&mut self.views);
        let mut buf = Vec::with_capacity(views.len() * VIEW_BYTES);
        for v in &mut views {
            // Read only where the view's marks are a held incident's.
            let held = self.held.get(v.marks_at as usize).map_or(&[][..], |i| &i.marks[..]);
            v.unhold_marks(&mut self.marks, held);
            let kind = kinds.get(&(Arc::as_ptr(&v.of), v.severity)).copied().unwrap_or(u32::MAX);
            put_view(&mut buf, v, kind);
        }
        let at = self.append(&buf)?;
        self.parked.chunks.push((at, u32::try_from(views.len()).unwrap_or(u32::MAX)));
        self.parked.len += views.len();
        // The list is reused: its room is already counted.
        views.clear();
        self.views = views;
        Ok(())
    }

    /// Reads the parked views back, in front of those held, so that
    /// [`Store::views`] has them all (after correlation, before the
    /// filters, the seal and the stories).
    pub fn gather(&mut self) -> Result<(), SpillError> {
        if self.parked.chunks.is_empty() {
            return Ok(());
        }
        self.finish_writing()?;
        let mut all = Vec::with_capacity(self.parked.len + self.views.len());
        let mut buf = Vec::new();
        for &(at, n) in &self.parked.chunks {
            buf.resize(n as usize * VIEW_BYTES, 0);
            self.read_chunk(&mut buf, at)?;
            for rec in buf.chunks_exact(VIEW_BYTES) {
                all.push(self.get_view(rec).map_err(|e| self.read_error(e))?);
            }
        }
        all.append(&mut self.views);
        self.views = all;
        self.parked = Parked::default();
        Ok(())
    }

    /// Each kind's index by what a view keeps of it.
    fn kind_numbers(&self) -> HashMap<(*const RuleOf, Severity), u32> {
        let mut out = HashMap::new();
        for (k, kind) in self.kinds.iter().enumerate() {
            out.entry((Arc::as_ptr(&kind.of), kind.severity)).or_insert(k as u32);
        }
        out
    }

    fn read_chunk(&self, buf: &mut [u8], at: u64) -> Result<(), SpillError> {
        let Some(spill) = &self.spill else { return Err(self.read_error(bad("no temporary file"))) };
        let Some(file) = &spill.file else { return Err(spill.error(Doing::ReadBack, bad("still being written"))) };
        read_at(file, buf, at).map_err(|e| spill.error(Doing::ReadBack, e))
    }

    fn read_error(&self, e: io::Error) -> SpillError {
        SpillError::IncidentsIo { doing: Doing::ReadBack, dir: self.budget.spill_dir(), source: e }
    }

    fn get_view(&self, rec: &[u8]) -> io::Result<View> {
        if rec.len() != VIEW_BYTES {
            return Err(bad("a parked view is cut short"));
        }
        // The record's fields in the order `put_view` writes them.
        let u64_at = |i: usize| u64::from_le_bytes(rec[i..i + 8].try_into().unwrap_or_default());
        let u32_at = |n: usize| u32::from_le_bytes(rec[32 + 4 * n..36 + 4 * n].try_into().unwrap_or_default());
        let (id, count, first, last) = (u64_at(0), u64_at(8), u64_at(16), u64_at(24));
        let [app, group, marks_at, marks_len, time_of_day, kind] = [0, 1, 2, 3, 4, 5].map(u32_at);
        let flags = rec[VIEW_BYTES - 1];
        let Some(Kind { of, severity, .. }) = self.kinds.get(kind as usize) else {
            return Err(bad("a parked view names no kind"));
        };
        Ok(View {
            id,
            count: usize::try_from(count).unwrap_or(usize::MAX),
            app,
            group,
            marks_at,
            marks_len,
            time_of_day,
            severity: *severity,
            of: of.clone(),
            first_ms: first as i64,
            last_ms: last as i64,
            flags,
        })
    }
}

/// `v` as [`VIEW_BYTES`] bytes, little-endian.
fn put_view(b: &mut Vec<u8>, v: &View, kind: u32) {
    for n in [v.id, v.count as u64, v.first_ms as u64, v.last_ms as u64] {
        b.extend_from_slice(&n.to_le_bytes());
    }
    for n in [v.app, v.group, v.marks_at, v.marks_len, v.time_of_day, kind] {
        b.extend_from_slice(&n.to_le_bytes());
    }
    b.push(v.flags);
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}
