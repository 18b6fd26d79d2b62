use crate::util::{mask_elapsed, run};

/// Output is byte-identical for every thread count (elapsed time aside).
#[test]
fn threads_1_and_4_give_the_same_bytes() {
    for format in ["text", "json", "ndjson"] {
        let one = run(&["scan", "--threads", "1", "--format", format, "fixtures/pm2"]);
        let four = run(&["scan", "--threads", "4", "--format", format, "fixtures/pm2"]);
        assert_eq!(one.code, four.code);
        assert!(!one.stdout.is_empty());
        assert_eq!(mask_elapsed(&one.stdout), mask_elapsed(&four.stdout), "format {format}");
    }
}

#[test]
fn mmap_and_read_give_the_same_bytes() {
    let mapped = run(&["scan", "--mmap", "always", "--format", "json", "fixtures/pm2"]);
    let read = run(&["scan", "--mmap", "never", "--format", "json", "fixtures/pm2"]);
    assert_eq!(mask_elapsed(&mapped.stdout), mask_elapsed(&read.stdout));
}
