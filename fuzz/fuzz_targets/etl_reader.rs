//! The input as a PktMon .etl file: buffer index, XPRESS decompression,
//! per-CPU merge, trace-record walking, embedded schemas and value maps,
//! PktMon event decoding, and rendering of every appearance.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::with_file("etl", data, |path| {
        let mut sink = common::CountingSink::default();
        // Err is the answer for "not an ETL at all"; only panics, hangs and
        // huge allocations are findings.
        let _ = pktmon::source::etl::read(path, &mut sink);
    });
});
