//! The input as a pcapng or classic pcap file: block framing, options,
//! interface and packet blocks, PktMon comments and frame metadata, and
//! rendering of every appearance.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::with_file("pcapng", data, |path| {
        let mut sink = common::CountingSink::default();
        let _ = pktmon::source::pcapng::read(path, &mut sink);
    });
});
