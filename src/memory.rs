//! Heap hygiene between stages. Events are allocated on the scan workers'
//! malloc arenas and freed later, as correlation moves them into groups
//! and once incidents are built; glibc keeps freed arena memory resident,
//! and the next stage's allocations come from whichever arena its thread
//! uses, so without a trim the peak is the old and the new at once.

/// Largest allocation glibc serves from its arenas; larger ones are
/// mapped on their own, and their pages go back when they are freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 4 << 20;

/// Fixes glibc's mmap threshold (a no-op elsewhere): call once, at the
/// start of the process. Left dynamic, glibc raises it to the size of any
/// mapped block freed, up to 32 MiB: after the scan frees its first large
/// buffers, every growing list (events, views, the stories' spans) below
/// that comes from an arena and leaves its old copies there, resident
/// until a trim finds a whole free page run. A fixed 4 MiB: 2 GiB storm,
/// `--mmap never --memory-budget 64`, peak RSS 197-234 MiB over three runs
/// against 172 MiB in each of three, for 3 % more wall time (more page
/// faults); 1 MiB saved no more and cost 15 %.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets a tuning parameter of the allocator; called
    // before any thread starts, it races with no allocation.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Returns free heap pages of every arena to the kernel (glibc); a no-op
/// elsewhere. Costs a walk over the free lists: call it between stages,
/// not per allocation.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it
    // touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The items of `items` front to back, its memory handed back as it
/// empties: a list consumed by value otherwise stays whole until the last
/// item is taken, beside whatever the items are moved into (the largest
/// group of events of the 1 GiB storm corpus is 140 MB). The list is
/// turned round once and taken from its end; every [`GIVE_BACK`] items
/// the emptied tail is released (a large list is mapped on its own, so
/// the pages go back at once).
pub fn drain_front<T>(mut items: Vec<T>) -> impl Iterator<Item = T> {
    items.reverse();
    std::iter::from_fn(move || {
        let item = items.pop()?;
        if items.capacity() - items.len() >= GIVE_BACK {
            items.shrink_to_fit();
        }
        Some(item)
    })
}

/// How many items [`drain_front`] takes between handing the emptied tail
/// back.
pub const GIVE_BACK: usize = 1 << 16;

/// A stable sort of `items` by `cmp` that copies none of them: the
/// standard stable sort takes a scratch buffer of half the slice, and
/// incidents and events are large and many (storm corpus, 1 GiB: 145 k
/// incidents, a 40 MiB buffer at the scan's peak; the largest group of
/// events, 1.5 M of them, 70 MB). Their indices are sorted instead, and
/// each cycle of the permutation is moved into place by swaps.
pub fn sort_in_place<T>(items: &mut [T], cmp: impl Fn(&T, &T) -> std::cmp::Ordering) {
    let mut from: Vec<usize> = (0..items.len()).collect();
    from.sort_by(|&a, &b| cmp(&items[a], &items[b]));
    // Place `i` takes the item at `from[i]`; a place done points at itself.
    for start in 0..items.len() {
        let mut at = start;
        while from[at] != start && from[at] != at {
            let next = from[at];
            items.swap(at, next);
            from[at] = at;
            at = next;
        }
        from[at] = at;
    }
}

/// Counts bytes freed since the last trim and trims once they add up:
/// one trim per small list freed would cost more than it returns (a trim
/// walks every arena; 10,000 small files would pay 10,000), none would
/// keep a copied list's source resident beside the copy.
#[derive(Debug, Default)]
pub struct TrimEvery {
    freed: usize,
}

impl TrimEvery {
    /// Freed bytes worth a trim.
    const BYTES: usize = 4 << 20;

    /// Notes `bytes` just freed; trims if enough have been.
    pub fn freed(&mut self, bytes: usize) {
        self.freed += bytes;
        if self.freed >= Self::BYTES {
            release_freed();
            self.freed = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sorting in place gives the stable sort's order: ties (equal keys)
    /// keep their order, every permutation cycle lands.
    #[test]
    fn sorting_in_place_is_the_stable_sort() {
        let mut seed = 7u64;
        for len in [0, 1, 2, 3, 10, 257] {
            let items: Vec<(u64, usize)> = (0..len)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (seed >> 60, i)
                })
                .collect();
            let mut want = items.clone();
            want.sort_by_key(|a| a.0);
            let mut got = items;
            sort_in_place(&mut got, |a, b| a.0.cmp(&b.0));
            assert_eq!(got, want, "{len} items");
        }
    }

    /// Drained front to back, a list gives its items in order, across
    /// give-backs, and gives each once.
    #[test]
    fn draining_from_the_front_keeps_the_order() {
        for len in [0, 1, 2, GIVE_BACK - 1, GIVE_BACK, GIVE_BACK + 1, 3 * GIVE_BACK + 7] {
            let items: Vec<usize> = (0..len).collect();
            assert!(drain_front(items).eq(0..len), "{len} items");
        }
    }
}
