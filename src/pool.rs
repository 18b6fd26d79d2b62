//! How the stages after the scan share the workers. Correlation (per
//! group) and incident building (per finding) are independent per item and
//! were a third of a noisy scan's wall time on one thread; the scan runs
//! them inside its worker pool. Called outside a pool (`watch`, `--threads
//! 1`, tests), they run on the calling thread and start no threads.

pub(crate) mod ordered;

use rayon::prelude::*;

/// `items` mapped by `f`, in order: across the current rayon pool when
/// called from one of its workers, else one by one on this thread.
pub fn map_in_order<T, U, F>(items: Vec<T>, f: F) -> Vec<U>
where
    T: Send,
    U: Send,
    F: Fn(T) -> U + Sync + Send,
{
    if rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1 {
        items.into_par_iter().map(f).collect()
    } else {
        items.into_iter().map(f).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_kept_on_a_pool_and_off_it() {
        let items: Vec<u32> = (0..10_000).collect();
        let want: Vec<u32> = items.iter().map(|i| i * 3).collect();
        assert_eq!(map_in_order(items.clone(), |i| i * 3), want);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("pool");
        let on_pool = pool.install(|| map_in_order(items, |i| (i * 3, rayon::current_thread_index())));
        assert_eq!(on_pool.iter().map(|p| p.0).collect::<Vec<_>>(), want);
        assert!(on_pool.iter().all(|p| p.1.is_some()), "ran on the pool's workers");
    }
}
