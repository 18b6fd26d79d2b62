//! Heap hygiene between stages. Events are allocated on the scan workers'
//! malloc arenas and freed later, as correlation moves them into groups
//! and once incidents are built; glibc keeps freed arena memory resident,
//! and the next stage's allocations come from whichever arena its thread
//! uses, so without a trim the peak is the old and the new at once.

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
