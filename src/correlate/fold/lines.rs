//! The lines of a fold's events, kept where mining asks which records a
//! finding took (`Fold::taken`): per source, in order of first event,
//! each line as a step from the source's previous one (zigzag, LEB128,
//! the spill codec's forms). A window rule's fold in a storm takes
//! millions of records a few lines apart, so most steps are one byte
//! (5 GiB storm: its largest fold's 4.2 M lines were 33 MiB as `u64`s,
//! growing with the storm).

use crate::spill::codec::{Reader, put, unzigzag, zigzag};

/// One source's lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Source {
    source: usize,
    /// The last line noted: the next step starts from it.
    last: u64,
    steps: Vec<u8>,
}

/// Per source, the lines noted, in the order noted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines {
    of: Vec<Source>,
}

impl Lines {
    /// Notes `line` of `source`.
    pub fn note(&mut self, source: usize, line: u64) {
        let at = match self.of.iter().rposition(|s| s.source == source) {
            Some(at) => at,
            None => {
                self.of.push(Source { source, ..Source::default() });
                self.of.len() - 1
            }
        };
        let s = &mut self.of[at];
        put(&mut s.steps, zigzag(line.wrapping_sub(s.last) as i64));
        s.last = line;
    }

    /// Every line noted: (source, line), per source in order of its first.
    pub fn iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.of.iter().flat_map(|s| {
            let mut line = 0u64;
            // Written by `put` in memory: every step reads.
            let mut steps = Reader::new(&s.steps);
            std::iter::from_fn(move || {
                let step = if steps.at_end() { None } else { steps.num().ok() }?;
                line = line.wrapping_add(unzigzag(step) as u64);
                Some((s.source, line))
            })
        })
    }

    /// Its lists as long as they are.
    pub fn shrink_to_fit(&mut self) {
        self.of.iter_mut().for_each(|s| s.steps.shrink_to_fit());
        self.of.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines come back as noted, per source in order of first: rising,
    /// falling, equal, far apart (u64's ends included), sources interleaved.
    #[test]
    fn lines_come_back_as_noted() {
        let noted =
            [(3, 10), (3, 11), (1, 5), (3, 9), (3, 9), (1, u64::MAX), (3, 0), (1, 1 << 40), (3, 200_000), (1, 7)];
        let mut lines = Lines::default();
        noted.iter().for_each(|&(s, l)| lines.note(s, l));
        let want: Vec<(usize, u64)> =
            noted.iter().filter(|n| n.0 == 3).chain(noted.iter().filter(|n| n.0 == 1)).copied().collect();
        assert_eq!(lines.iter().collect::<Vec<_>>(), want);
        lines.shrink_to_fit();
        assert_eq!(lines.iter().collect::<Vec<_>>(), want);
        assert_eq!(Lines::default().iter().count(), 0);
    }

    /// A step of a few lines is one byte.
    #[test]
    fn near_lines_cost_a_byte() {
        let mut lines = Lines::default();
        (0..1000u64).for_each(|i| lines.note(0, 100 + 3 * i));
        assert_eq!(lines.of[0].steps.len(), 2 + 999);
    }
}
