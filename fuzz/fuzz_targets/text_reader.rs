//! The input as `pktmon etl2txt` text and as netsh trace text (UTF-8 or
//! UTF-16LE, streamed), plus the shared line parsers and the
//! Microsoft-Windows-TCPIP message parser on every line of the input read as lossy UTF-8.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use pktmon::pktmon::text::{parse_packet_message, parse_prefix};

fuzz_target!(|data: &[u8]| {
    common::with_file("text", data, |path| {
        let mut sink = common::CountingSink::default();
        let _ = pktmon::source::text::read(path, &mut sink);
        let _ = pktmon::tcpip::reader::read(path);
    });
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        if let Some(prefix) = parse_prefix(line) {
            let _ = parse_packet_message(prefix.message);
            let _ = pktmon::tcpip::parse::parse_message(prefix.message);
        }
        let _ = parse_packet_message(line);
    }
});
