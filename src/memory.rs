//! Heap hygiene between stages. Events are allocated on the scan workers'
//! malloc arenas and freed on the main thread as correlation moves them
//! into groups and incidents replace them; glibc keeps freed arena memory
//! resident, and the main thread's new allocations come from its own
//! arena, so without a trim the peak is the old and the new at once.

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
