//! The input as a PktMon .etl file: buffer index, XPRESS decompression,
//! per-CPU merge, trace-record walking, embedded schemas and value maps,
//! PktMon event decoding, and rendering of every appearance; then the
//! generic decoder (`events`) on every record, by the file's own schemas.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::with_file("etl", data, |path| {
        let mut sink = common::CountingSink::default();
        // Err is the answer for "not an ETL at all"; only panics, hangs and
        // huge allocations are findings.
        let _ = pktmon::source::etl::read(path, &mut sink);
        let _ = pktmon::etl::decode::read_file(path, |e| {
            if let Some(d) = &e.decoded {
                for f in &d.fields {
                    std::hint::black_box(f.value.to_string());
                }
            }
        });
    });
});
