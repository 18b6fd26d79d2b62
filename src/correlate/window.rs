//! Window semantics, in one place. A window of length `w` that opens at
//! `t0` holds the instants `t0 <= t < t0 + w`: inclusive start, exclusive
//! end. "5 exits in 5m" therefore means five exits whose first and last are
//! less than five minutes apart.
//!
//! `bursts` and `absorb` are the list-based rules, the tests' oracle
//! for the threshold judge that runs on a stream (`super::judge`).

#[cfg(test)]
use std::ops::Range;

/// Returns true if and only if `t` falls in the window of length `w`
/// opening at `t0`.
pub fn within(t0: i64, t: i64, w: i64) -> bool {
    t >= t0 && t - t0 < w
}

#[cfg(test)]
/// Splits sorted instants into bursts: maximal runs in which every instant
/// belongs to some window of length `w` holding at least `count` instants.
/// Instants in no such window belong to no burst. Returns index ranges into
/// `times`.
pub fn bursts(times: &[i64], count: usize, w: i64) -> Vec<Range<usize>> {
    let mut marked = vec![false; times.len()];
    let mut lo = 0;
    let mut next_unmarked = 0;
    for hi in 0..times.len() {
        while !within(times[lo], times[hi], w) {
            lo += 1;
        }
        if hi + 1 - lo >= count {
            for m in marked.iter_mut().take(hi + 1).skip(lo.max(next_unmarked)) {
                *m = true;
            }
            next_unmarked = hi + 1;
        }
    }
    let mut out: Vec<Range<usize>> = Vec::new();
    for (i, &m) in marked.iter().enumerate() {
        if !m {
            continue;
        }
        // Consecutive marked instants less than `w` apart share a window
        // chain; a gap of `w` or more starts a new burst.
        match out.last_mut() {
            Some(r) if r.end == i && within(times[i - 1], times[i], w) => r.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

#[cfg(test)]
/// `suppress`: extends each burst over the instants that follow its last
/// one by less than `w` (bursts that come within `w` of each other merge).
pub fn absorb(times: &[i64], bursts: Vec<Range<usize>>, w: i64) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for b in bursts {
        // Bursts never overlap; adjacent ones (nothing between them) are
        // still apart by `w` or more, and only extension may join them.
        if let Some(prev) = out.last_mut()
            && prev.end > b.start
        {
            prev.end = prev.end.max(b.end);
            continue;
        }
        out.push(b);
    }
    for r in &mut out {
        while r.end < times.len() && within(times[r.end - 1], times[r.end], w) {
            r.end += 1;
        }
    }
    // Extending may have reached into the next burst: merge again. An
    // extension that stops right at its start stopped at a gap of `w`.
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in out {
        match merged.last_mut() {
            Some(prev) if prev.end > r.start => prev.end = prev.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn window_is_inclusive_start_exclusive_end() {
        assert!(within(0, 0, 5 * MIN));
        assert!(within(0, 5 * MIN - 1, 5 * MIN));
        assert!(!within(0, 5 * MIN, 5 * MIN));
        assert!(!within(10, 9, 5 * MIN));
    }

    #[test]
    fn exactly_count_within_the_window_fires() {
        let t = [0, MIN, 2 * MIN, 3 * MIN, 5 * MIN - 1];
        assert_eq!(bursts(&t, 5, 5 * MIN), vec![0..5]);
    }

    #[test]
    fn last_event_on_the_window_end_does_not_count() {
        let t = [0, MIN, 2 * MIN, 3 * MIN, 5 * MIN];
        assert!(bursts(&t, 5, 5 * MIN).is_empty());
    }

    #[test]
    fn one_short_does_not_fire() {
        assert!(bursts(&[0, 1, 2, 3], 5, 5 * MIN).is_empty());
    }

    #[test]
    fn sliding_windows_merge_and_gaps_split() {
        // Ten exits a minute apart: every one is in some 5-in-5m window.
        let loop_a: Vec<i64> = (0..10).map(|i| i * MIN).collect();
        // An hour later, a second loop.
        let loop_b: Vec<i64> = (0..5).map(|i| 70 * MIN + i * 10_000).collect();
        let mut all = loop_a.clone();
        all.extend(&loop_b);
        all.push(200 * MIN); // a lone restart later: no burst
        assert_eq!(bursts(&all, 5, 5 * MIN), vec![0..10, 10..15]);
    }

    #[test]
    fn suppress_absorbs_followers_and_merges_bursts() {
        let t = [0, 1, 2, 3, 4, 4 * MIN, 9 * MIN, 9 * MIN + 1, 9 * MIN + 2, 9 * MIN + 3, 9 * MIN + 4, 60 * MIN];
        let b = bursts(&t, 5, 5 * MIN);
        assert_eq!(b, vec![0..6, 6..11]);
        assert_eq!(absorb(&t, b, 10 * MIN), vec![0..11]);
    }

    /// Two bursts hours apart are adjacent in index (nothing lies between
    /// them) but not within `suppress` of each other: they stay two.
    #[test]
    fn suppress_does_not_join_adjacent_bursts_across_a_long_gap() {
        let t = [0, 1, 2, 600 * MIN, 600 * MIN + 1, 600 * MIN + 2];
        let b = bursts(&t, 3, 5 * MIN);
        assert_eq!(b, vec![0..3, 3..6]);
        assert_eq!(absorb(&t, b, 30 * MIN), vec![0..3, 3..6]);
    }

    /// Two bursts hours apart with a lone instant between them (in no
    /// burst, and far from both): `suppress` joins neither to the other.
    #[test]
    fn suppress_does_not_join_bursts_hours_apart_across_a_straggler() {
        let t = [0, 1, 2, 100 * MIN, 600 * MIN, 600 * MIN + 1, 600 * MIN + 2];
        let b = bursts(&t, 3, 5 * MIN);
        assert_eq!(b, vec![0..3, 4..7]);
        assert_eq!(absorb(&t, b, 30 * MIN), vec![0..3, 4..7]);
        // Within `suppress` of the first burst's end, the straggler and
        // then the second burst fold in.
        let t = [0, 1, 2, 20 * MIN, 45 * MIN, 45 * MIN + 1, 45 * MIN + 2];
        let b = bursts(&t, 3, 5 * MIN);
        assert_eq!(absorb(&t, b, 30 * MIN), vec![0..7]);
    }

    #[test]
    fn stragglers_outside_any_full_window_are_left_out() {
        // A restart 4m before a tight burst is in a window with it; one 10m
        // before is not.
        let t = [0, 6 * MIN, 10 * MIN, 10 * MIN + 1, 10 * MIN + 2, 10 * MIN + 3];
        assert_eq!(bursts(&t, 5, 5 * MIN), vec![1..6]);
    }
}
