//! Items made across the pool's workers and taken in order, one at a
//! time, as they become ready: a split source's parts (`scan::split`). The
//! workers claim items in index order, and never more than `ahead` past
//! the last item taken, so memory holds a few items, not all of them,
//! while every worker stays busy on the one source. Whichever worker
//! finds the next item ready takes it (and those after it that are
//! ready); the others go on making.
//!
//! Rayon's own parallel iterators split a range in halves, so the second
//! worker would start mid-source and its items would wait for the first
//! half: the bound needs claims in order, hence this.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use rayon::prelude::*;

/// Makes items `0..n` on up to `workers` of the current pool's workers
/// (`init` gives each its own state) and hands each to `take` in index
/// order. Stops at the first error, from `make` or `take`, and returns
/// it; items after it are neither made nor taken. Called outside a pool,
/// or with one worker, it runs on this thread.
pub(crate) fn in_order<S, T, E, I, M, K>(
    n: usize,
    workers: usize,
    ahead: usize,
    init: I,
    make: M,
    take: K,
) -> Result<(), E>
where
    T: Send,
    E: Send,
    I: Fn() -> S + Sync + Send,
    M: Fn(&mut S, usize) -> Result<T, E> + Sync + Send,
    K: FnMut(T) -> Result<(), E> + Send,
{
    let line = Line {
        state: Mutex::new(State { claimed: 0, taken: 0, ready: BTreeMap::new(), taking: false, failed: None }),
        moved: Condvar::new(),
        take: Mutex::new(take),
        n,
        ahead: ahead.max(1),
    };
    let workers = workers.clamp(1, n.max(1));
    (0..workers).into_par_iter().for_each_init(init, |s, _| line.work(s, &make));
    let state = line.state.into_inner().unwrap_or_else(|p| p.into_inner());
    match state.failed {
        Some(Failed::Error(e)) => Err(e),
        // A worker panicked: rayon has already raised it.
        Some(Failed::Panicked) | None => Ok(()),
    }
}

struct Line<T, E, K> {
    state: Mutex<State<T, E>>,
    /// Signalled when an item is taken or the line stops.
    moved: Condvar,
    /// The consumer; only the worker whose turn it is (`State::taking`)
    /// locks it, so it is never contended.
    take: Mutex<K>,
    n: usize,
    ahead: usize,
}

struct State<T, E> {
    /// Items claimed by a worker: `0..claimed`.
    claimed: usize,
    /// Items taken: `0..taken`.
    taken: usize,
    /// Made items waiting for their turn.
    ready: BTreeMap<usize, T>,
    /// A worker is taking items.
    taking: bool,
    failed: Option<Failed<E>>,
}

enum Failed<E> {
    Error(E),
    Panicked,
}

impl<T, E, K: FnMut(T) -> Result<(), E>> Line<T, E, K> {
    fn lock(&self) -> MutexGuard<'_, State<T, E>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One worker: claims the next item, makes it, offers it; until every
    /// item is claimed or the line stopped.
    fn work<S>(&self, s: &mut S, make: &(impl Fn(&mut S, usize) -> Result<T, E> + Sync)) {
        while let Some(i) = self.claim() {
            // Should `make` or `take` panic, the others must not wait for
            // this item: the guard stops the line as the panic unwinds.
            let guard = StopOnPanic(self);
            match make(s, i) {
                Ok(item) => self.offer(i, item),
                Err(e) => self.stop(Failed::Error(e)),
            }
            std::mem::forget(guard);
        }
    }

    /// The next item to make, once it is within `ahead` of the items
    /// taken; None when there is none or the line stopped. Waiting here
    /// waits for a worker that is making or taking an item, never for one
    /// that waits too: a claimed item is made at once.
    fn claim(&self) -> Option<usize> {
        let mut st = self.lock();
        loop {
            if st.failed.is_some() || st.claimed >= self.n {
                return None;
            }
            if st.claimed < st.taken + self.ahead {
                st.claimed += 1;
                return Some(st.claimed - 1);
            }
            st = self.moved.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Leaves item `i` ready; if no worker is taking, takes every item
    /// ready in turn.
    fn offer(&self, i: usize, item: T) {
        let mut st = self.lock();
        st.ready.insert(i, item);
        if st.taking {
            return;
        }
        st.taking = true;
        while st.failed.is_none() {
            let next = st.taken;
            let Some(item) = st.ready.remove(&next) else { break };
            drop(st);
            let taken = (self.take.lock().unwrap_or_else(|p| p.into_inner()))(item);
            st = self.lock();
            st.taken += 1;
            if let Err(e) = taken {
                st.failed.get_or_insert(Failed::Error(e));
            }
            self.moved.notify_all();
        }
        st.taking = false;
    }

    fn stop(&self, why: Failed<E>) {
        let mut st = self.lock();
        st.failed.get_or_insert(why);
        st.ready.clear();
        self.moved.notify_all();
    }
}

/// Stops the line if dropped: only while a worker's `make` or `take`
/// unwinds.
struct StopOnPanic<'l, T, E, K: FnMut(T) -> Result<(), E>>(&'l Line<T, E, K>);

impl<T, E, K: FnMut(T) -> Result<(), E>> Drop for StopOnPanic<'_, T, E, K> {
    fn drop(&mut self) {
        self.0.stop(Failed::Panicked);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool")
    }

    /// Every item is taken once, in order, on a pool and off it, however
    /// long each takes to make; never more than `ahead` are out at once
    /// (claimed, not yet taken).
    #[test]
    fn items_are_taken_in_order_and_never_far_ahead() {
        for (threads, ahead) in [(1, 1), (2, 1), (2, 3), (4, 2), (4, 8)] {
            let out = AtomicUsize::new(0);
            let most = AtomicUsize::new(0);
            let mut got = Vec::new();
            let r: Result<(), ()> = pool(threads).install(|| {
                in_order(
                    200,
                    threads,
                    ahead,
                    || (),
                    |_, i| {
                        let now = out.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        // Uneven work: some items take far longer.
                        std::thread::sleep(std::time::Duration::from_micros(if i % 7 == 0 { 900 } else { 30 }));
                        Ok(i)
                    },
                    |i| {
                        got.push(i);
                        out.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    },
                )
            });
            assert_eq!(r, Ok(()));
            assert_eq!(got, (0..200).collect::<Vec<_>>(), "{threads} threads, ahead {ahead}");
            assert!(most.load(Ordering::SeqCst) <= ahead, "{} out at once, ahead {ahead}", most.load(Ordering::SeqCst));
            if threads > 1 && ahead > 1 {
                assert!(most.load(Ordering::SeqCst) > 1, "the workers made items side by side");
            }
        }
    }

    /// An error from making or taking an item stops the line: it is
    /// returned, nothing past it is taken, and no worker is left waiting.
    #[test]
    fn an_error_stops_the_line() {
        for threads in [1, 2, 4] {
            for fail_in_take in [false, true] {
                let mut got = Vec::new();
                let r = pool(threads).install(|| {
                    in_order(
                        100,
                        threads,
                        3,
                        || (),
                        |_, i| if i == 40 && !fail_in_take { Err(i) } else { Ok(i) },
                        |i| {
                            if i == 40 && fail_in_take {
                                return Err(i);
                            }
                            got.push(i);
                            Ok(())
                        },
                    )
                });
                assert_eq!(r, Err(40));
                assert_eq!(got, (0..40).collect::<Vec<_>>(), "{threads} threads");
            }
        }
    }

    /// A worker that panics stops the others (none waits for its item)
    /// and the panic reaches the caller.
    #[test]
    fn a_panic_reaches_the_caller() {
        let r = std::panic::catch_unwind(|| {
            pool(2).install(|| {
                in_order::<(), usize, (), _, _, _>(
                    50,
                    2,
                    2,
                    || (),
                    |_, i| if i == 5 { panic!("item 5") } else { Ok(i) },
                    |_| Ok(()),
                )
            })
        });
        assert!(r.is_err());
    }
}
