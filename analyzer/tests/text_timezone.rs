//! The time-zone bias of an etl2txt text: the header line prints its local
//! time in front and its `StartTime` (UTC) inside; their difference is the
//! bias, rounded to whole minutes. The two times are taken a moment apart, so
//! the raw difference is seldom a whole number of minutes: these headers need
//! rounding, up and down, on both sides of UTC (issue #21: truncating the
//! difference went unnoticed by the tests of real exports, whose difference
//! happened to be exact).

use std::path::PathBuf;

use pktmon::model::Capture;
use pktmon::source::read_capture;

/// The header of `analyzer/tests/text_reader.rs` with another `StartTime`.
fn header(start_time: u64) -> String {
    format!(
        "[00]1864.06A4::2021-06-03 19:19:55.454004600 [MSNT_SystemTrace] Event: Header, BufferSize: 16777216, \
         Version: 131082, ProviderVersion: 19042, NumberOfProcessors: 4, EndTime: 132672018112888443, \
         TimerResolution: 156250, MaxFileSize: 512, LogFileMode: 0x4010001, BuffersWritten: 5, StartBuffers: 1, \
         PointerSize: 8, EventsLost: 0, CPUSpeed: 2396, LoggerName: 0x0, LogFileName: 0x0, TimeZoneInformation: , \
         BootTime: 132671899415000000, PerfFreq: 10000000, StartTime: {start_time}, ReservedFlags: 0x1, \
         BuffersLost: 0, SessionNameString: PktMon, LogFileNameString: C:\\PktMon.etl\r\n"
    )
}

const PACKET: &str = "[02]0000.0000::2021-06-03 19:19:55.618793000 [Microsoft-Windows-PktMon] PktGroupId 7, \
                      PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, \
                      OriginalSize 61, LoggedSize 61 \r\n";

/// The header's printed local time, 2021-06-03 19:19:55.4540046, as a FILETIME.
const LOCAL: u64 = 132_672_215_954_540_046;
const MINUTE: u64 = 600_000_000;
/// 0.4 s: less than half a minute, so rounding and truncating disagree.
const SKEW: u64 = 4_000_000;

fn read(start_time: u64) -> Capture {
    let text = format!("{}{PACKET}", header(start_time));
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let path: PathBuf = std::env::temp_dir().join(format!("pktmon-tz-{}-{start_time}.txt", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let c = read_capture(&path);
    let _ = std::fs::remove_file(&path);
    c.unwrap()
}

#[test]
fn the_header_bias_is_rounded_to_the_nearest_minute() {
    let cases = [
        // India (UTC+5:30, bias −330): UTC 0.4 s after −5:30 — truncating toward zero gives −329.
        (LOCAL - 330 * MINUTE + SKEW, -330, "2021-06-03T13:49:55.6187930Z"),
        // 0.4 s before −5:30 — flooring gives −331.
        (LOCAL - 330 * MINUTE - SKEW, -330, "2021-06-03T13:49:55.6187930Z"),
        // Azores in winter (UTC−1, bias +60), 0.4 s short — truncating or flooring gives 59.
        (LOCAL + 60 * MINUTE - SKEW, 60, "2021-06-03T20:19:55.6187930Z"),
        // 0.4 s over +60.
        (LOCAL + 60 * MINUTE + SKEW, 60, "2021-06-03T20:19:55.6187930Z"),
        // UTC itself, 0.4 s either way.
        (LOCAL - SKEW, 0, "2021-06-03T19:19:55.6187930Z"),
        (LOCAL + SKEW, 0, "2021-06-03T19:19:55.6187930Z"),
    ];
    for (start_time, bias, packet_utc) in cases {
        let c = read(start_time);
        assert_eq!(c.info.timezone_bias_minutes, Some(bias), "StartTime {start_time}");
        assert_eq!(c.appearances.len(), 1);
        assert_eq!(
            pktmon::time::format_utc(c.appearances[0].time),
            packet_utc,
            "StartTime {start_time}"
        );
    }
}

#[test]
fn a_bias_of_more_than_sixteen_hours_is_no_bias() {
    // The header's two times do not describe one instant: times stay local, with a warning.
    let c = read(LOCAL + 17 * 60 * MINUTE);
    assert_eq!(c.info.timezone_bias_minutes, None);
    assert_eq!(
        pktmon::time::format_utc(c.appearances[0].time),
        "2021-06-03T19:19:55.6187930Z"
    );
    assert!(
        c.diagnostics
            .items
            .iter()
            .any(|d| d.message.contains("do not give a time-zone bias")),
        "{:?}",
        c.diagnostics.items
    );
    // Sixteen hours exactly is still a bias (the widest real one is 14 h).
    let c = read(LOCAL + 16 * 60 * MINUTE);
    assert_eq!(c.info.timezone_bias_minutes, Some(16 * 60));
}
