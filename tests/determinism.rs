use crate::util::{mask_elapsed, root, run, scan_json};

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

/// Mapped and read files give the same report, and a real one: both scans
/// end with status 1 (the fixtures hold incidents at the default
/// `--fail-on`), skip nothing, read every byte of every file, and find the
/// incidents. Two failed scans would print the same (empty) bytes too.
#[test]
fn mmap_and_read_give_the_same_bytes() {
    let (mapped, mapped_doc) = scan_json(&["fixtures/pm2"], &["--mmap", "always"]);
    let (read, read_doc) = scan_json(&["fixtures/pm2"], &["--mmap", "never"]);
    for (how, r, doc) in [("always", &mapped, &mapped_doc), ("never", &read, &read_doc)] {
        assert_eq!(r.code, 1, "--mmap {how}: {}", r.stderr);
        assert!(doc.summary.skipped.is_empty(), "--mmap {how}: {:?}", doc.summary.skipped);
        assert!(doc.summary.files.len() >= 10, "--mmap {how}: {} files", doc.summary.files.len());
        for file in &doc.summary.files {
            let on_disk = std::fs::metadata(root().join(&file.path)).map(|m| m.len());
            assert_eq!(Ok(file.bytes), on_disk.map_err(|e| e.to_string()), "--mmap {how}: {}", file.path);
        }
        assert!(doc.incidents.len() >= 10, "--mmap {how}: {} incidents", doc.incidents.len());
    }
    assert_eq!(mask_elapsed(&mapped.stdout), mask_elapsed(&read.stdout));
}
