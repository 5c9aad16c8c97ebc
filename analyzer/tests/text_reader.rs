//! The etl2txt text reader against pktmon's own output of a real ETL, against
//! the same text in other encodings, against localized and `--hex` lines, and
//! against damaged input.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use pktmon::model::{Appearance, Capture, InputKind, LinkType};
use pktmon::pktmon::catalog::{Catalog, MAP_DROP_REASON};
use pktmon::source::{self, read_capture, text};
use pktmon::{Location, Severity};

mod common;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");

/// The corpus folder, or `None` after saying the test was skipped.
fn corpus() -> Option<PathBuf> {
    let dir = Path::new(CORPUS);
    if dir.is_dir() {
        Some(dir.to_path_buf())
    } else {
        common::skip("corpus", "../shared/corpus not present");
        None
    }
}

/// A file in the temp directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, content: &[u8]) -> TempFile {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("pktmon-text-reader-{}-{n}-{name}", std::process::id()));
        std::fs::write(&path, content).expect("write temp file");
        TempFile(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn utf16le_with_bom(text: &str) -> Vec<u8> {
    [&[0xFF, 0xFE][..], &utf16le(text)].concat()
}

/// The vpn text as a Rust string (it is UTF-16LE with a BOM).
fn decode_utf16le_file(bytes: &[u8]) -> String {
    let body = bytes.strip_prefix(&[0xFF, 0xFE]).expect("BOM");
    let units: Vec<u16> = body.chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
    String::from_utf16(&units).expect("valid UTF-16")
}

/// Reads a text written by a test through content detection.
fn read_text(name: &str, content: &[u8]) -> Capture {
    let file = TempFile::new(name, content);
    assert_eq!(source::detect(file.path()).unwrap(), source::Detected::Text, "{name}");
    read_capture(file.path()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_same_appearance(text: &Appearance, etl: &Appearance, i: usize) {
    assert_eq!(text.index, etl.index, "appearance {i}: index");
    assert_eq!(text.cpu, etl.cpu, "appearance {i}: cpu");
    assert_eq!(text.process_id, etl.process_id, "appearance {i}: pid");
    assert_eq!(text.thread_id, etl.thread_id, "appearance {i}: tid");
    assert_eq!(text.group_id, etl.group_id, "appearance {i}: group id");
    assert_eq!(text.pkt_number, etl.pkt_number, "appearance {i}: pkt number");
    assert_eq!(text.appearance, etl.appearance, "appearance {i}: appearance");
    assert_eq!(text.direction, etl.direction, "appearance {i}: direction");
    assert_eq!(text.packet_type, etl.packet_type, "appearance {i}: packet type");
    assert_eq!(text.component_id, etl.component_id, "appearance {i}: component");
    assert_eq!(text.edge_id, etl.edge_id, "appearance {i}: edge");
    assert_eq!(text.filter_id, etl.filter_id, "appearance {i}: filter");
    assert_eq!(text.original_size, etl.original_size, "appearance {i}: original size");
    assert_eq!(text.logged_size, etl.logged_size, "appearance {i}: logged size");
    assert_eq!(text.time, etl.time, "appearance {i}: time (UTC, 100 ns)");
    assert_eq!(text.drop, etl.drop, "appearance {i}: drop");
}

#[test]
fn vpn_text_agrees_with_its_etl_field_by_field() {
    let Some(dir) = corpus() else { return };
    let text = read_capture(&dir.join("vpn-PktMon.txt")).unwrap();
    let etl = read_capture(&dir.join("vpn-PktMon.etl")).unwrap();

    assert_eq!(text.info.kind, Some(InputKind::Text));
    assert!(text.info.file.ends_with("vpn-PktMon.txt"));
    assert!(
        text.diagnostics.items.is_empty(),
        "no problems expected: {:?}",
        text.diagnostics.items
    );
    assert_eq!(text.info.timezone_bias_minutes, Some(-330));
    assert_eq!(text.info.timezone_bias_minutes, etl.info.timezone_bias_minutes);
    assert_eq!(text.info.os_build, Some(19042));
    assert_eq!(text.info.processors, Some(4));
    assert_eq!(text.info.processors, etl.info.processors);
    assert_eq!(text.info.start_time, etl.info.start_time);
    assert_eq!(text.info.end_time, etl.info.end_time);
    assert_eq!(text.info.perf_freq, etl.info.perf_freq);
    assert_eq!(text.info.pointer_size, etl.info.pointer_size);
    assert_eq!(text.info.clock_type, etl.info.clock_type);
    assert_eq!((text.info.events_lost, text.info.buffers_lost), (0, 0));
    assert_eq!(
        (text.info.events_lost, text.info.buffers_lost),
        (etl.info.events_lost, etl.info.buffers_lost)
    );

    assert_eq!(text.appearances.len(), 2705);
    assert_eq!(etl.appearances.len(), 2705);
    for (i, (t, e)) in text.appearances.iter().zip(&etl.appearances).enumerate() {
        assert_same_appearance(t, e, i);
        // The text carries no bytes without --hex.
        assert!(t.payload.is_empty());
    }

    // Every component line of the text, and the ETL has no component the text lacks.
    assert_eq!(text.components.len(), 141);
    assert_eq!(text.components.len(), etl.components.len());
    for c in text.components.iter() {
        let e = etl
            .components
            .get(c.id)
            .unwrap_or_else(|| panic!("component {} not in the ETL", c.id));
        assert_eq!(c.name, e.name, "component {}: name", c.id);
        assert_eq!(c.description, e.description, "component {}: description", c.id);
        assert_eq!(c.component_type, e.component_type, "component {}: type", c.id);
        assert_eq!(c.properties, e.properties, "component {}: properties", c.id);
    }
    assert_eq!(text.drop_counters, etl.drop_counters);
    assert_eq!(text.flow_counters, etl.flow_counters);
    assert_eq!(text.drop_counters.len(), 141);
    assert_eq!(text.flow_counters.len(), 178);
}

#[test]
fn vpn_text_reads_the_same_as_utf8_with_lf_and_as_utf16_without_bom() {
    let Some(dir) = corpus() else { return };
    let original_path = dir.join("vpn-PktMon.txt");
    let original = read_capture(&original_path).unwrap();
    let content = decode_utf16le_file(&std::fs::read(&original_path).unwrap());

    let utf8_lf = content.replace("\r\n", "\n");
    let utf8_bom = [&[0xEF, 0xBB, 0xBF][..], content.as_bytes()].concat();
    let variants: [(&str, Vec<u8>); 3] = [
        ("utf8-lf.txt", utf8_lf.into_bytes()),
        ("utf16-no-bom.txt", utf16le(&content)),
        ("utf8-bom-crlf.txt", utf8_bom),
    ];
    for (name, bytes) in variants {
        let capture = read_text(name, &bytes);
        assert!(
            capture.diagnostics.items.is_empty(),
            "{name}: {:?}",
            capture.diagnostics.items
        );
        assert_eq!(capture.appearances.len(), 2705, "{name}");
        assert_eq!(capture.appearances, original.appearances, "{name}");
        assert_eq!(capture.components, original.components, "{name}");
        assert_eq!(capture.drop_counters, original.drop_counters, "{name}");
        assert_eq!(capture.flow_counters, original.flow_counters, "{name}");
        assert_eq!(capture.info.timezone_bias_minutes, Some(-330), "{name}");
        assert_eq!(capture.info.os_build, Some(19042), "{name}");
    }
}

/// The drop line quoted in Microsoft's "Diagnose packet loss" article (its detail line indented with spaces).
const ARTICLE_DROP: &str = "[30]0000.0000::2025-03-27 16:10:34.934020500 [Microsoft-Windows-PktMon] Drop: PktGroupId 8444249301423149, PktNumber 1, Appearance 0, Direction Rx , Type IP , Component 49, Filter 1, DropReason INET: transport endpoint was not found , DropLocation 0xE000460A, OriginalSize 402, LoggedSize 148\n       Drop: ip: 192.168.5.88.50005 > 192.168.5.68.50005: UDP, length 374\n";

#[test]
fn microsofts_article_drop_line_is_one_drop() {
    let c = read_text("article.txt", ARTICLE_DROP.as_bytes());
    assert_eq!(c.appearances.len(), 1);
    let a = &c.appearances[0];
    let drop = a.drop.as_ref().expect("a drop");
    assert_eq!(drop.reason, Some(1204));
    assert_eq!(
        drop.reason_text.as_deref(),
        Some("INET: transport endpoint was not found")
    );
    assert_eq!(drop.location, Some(0xE000_460A));
    assert_eq!(a.cpu, Some(30));
    assert_eq!((a.process_id, a.thread_id), (Some(0), Some(0)));
    assert_eq!(a.group_id, Some(8_444_249_301_423_149));
    assert_eq!((a.pkt_number, a.appearance), (Some(1), Some(0)));
    assert_eq!((a.direction, a.packet_type), (Some(3), Some(3)));
    assert_eq!((a.component_id, a.edge_id, a.filter_id), (Some(49), None, Some(1)));
    assert_eq!((a.original_size, a.logged_size), (402, 148));
    assert_eq!(a.link_type, LinkType::RawIp);
    assert!(a.payload.is_empty());
    // No header line: the printed local time is taken as UTC, and the user is told so, once.
    assert_eq!(pktmon::time::format_utc(a.time), "2025-03-27T16:10:34.9340205Z");
    assert_eq!(c.info.timezone_bias_minutes, None);
    assert_eq!(c.diagnostics.items.len(), 1, "{:?}", c.diagnostics.items);
    let warning = &c.diagnostics.items[0];
    assert_eq!(warning.severity, Severity::Warning);
    assert!(warning.message.contains("local time"), "{}", warning.message);
    assert!(warning.message.contains("no `[MSNT_SystemTrace] Event: Header` line"));
}

#[test]
fn german_drop_line_is_a_drop() {
    let line = "[01]0004.0A10::2024-11-05 10:00:00.123456700 [Microsoft-Windows-PktMon] Ablegen: PktGroupId 13, PktNumber 1, Darstellung 0, Richtung Rx , Typ IP , Komponente 98, Filter 0, DropReason Not locally destined , DropLocation 0xE0004138, Original Größe 100, LoggedSize 100 \r\n";
    let c = read_text("german.txt", &utf16le_with_bom(line));
    assert_eq!(c.appearances.len(), 1);
    let a = &c.appearances[0];
    let drop = a.drop.as_ref().expect("a drop");
    let expected = Catalog::builtin(None).code_for_text(MAP_DROP_REASON, "Not locally destined");
    assert!(expected.is_some());
    assert_eq!(drop.reason, expected);
    assert_eq!(drop.reason_text.as_deref(), Some("Not locally destined"));
    assert_eq!(drop.location, Some(0xE000_4138));
    assert_eq!((a.cpu, a.process_id, a.thread_id), (Some(1), Some(4), Some(0xA10)));
    assert_eq!((a.group_id, a.pkt_number, a.appearance), (Some(13), Some(1), Some(0)));
    assert_eq!((a.direction, a.packet_type), (Some(3), Some(3)));
    assert_eq!((a.component_id, a.filter_id), (Some(98), Some(0)));
    assert_eq!((a.original_size, a.logged_size), (100, 100));
}

#[test]
fn localized_component_and_counter_lines_are_read_by_position() {
    // The labels are made up (no German etl2txt of these events is on record); the shapes are etl2txt's.
    let lines = [
        "[00]0004.0A10::2024-11-05 10:00:00.000000000 [Microsoft-Windows-PktMon] Komponente 98, Typ Protocol , Name tcpip.sys, TCPIP ",
        "[00]0004.0A10::2024-11-05 10:00:00.000000100 [Microsoft-Windows-PktMon] Eigenschaft: Komponente 98, IfIndex  = 5 ",
        "[00]0004.0A10::2024-11-05 10:00:00.000000200 [Microsoft-Windows-PktMon] Verworfen-Zähler: Komponente 98, Richtung Ein = Rx , Pakete Ein 1, Bytes Ein 2, Richtung Aus = Tx , Pakete Aus 3, Bytes Aus 4 ",
        "[00]0004.0A10::2024-11-05 10:00:00.000000300 [Microsoft-Windows-PktMon] Fluss-Zähler: Komponente 98, Kante Upper, Kanten-Id 2, Richtung Ein = Rx , Pakete Ein 5, Bytes Ein 6, Richtung Aus = Tx , Pakete Aus 7, Bytes Aus 8 ",
    ];
    let c = read_text("german-components.txt", (lines.join("\r\n") + "\r\n").as_bytes());
    assert!(c.diagnostics.items.is_empty(), "{:?}", c.diagnostics.items);
    let comp = c.components.get(98).expect("component 98");
    assert_eq!(
        (comp.component_type, comp.name.as_str(), comp.description.as_str()),
        (4, "tcpip.sys", "TCPIP")
    );
    assert_eq!(comp.if_index(), Some(5));
    let d = &c.drop_counters[0];
    assert_eq!(
        (d.component_id, d.direction_in, d.packets_in, d.bytes_in),
        (98, 3, 1, 2)
    );
    assert_eq!((d.direction_out, d.packets_out, d.bytes_out), (4, 3, 4));
    let f = &c.flow_counters[0];
    assert_eq!((f.component_id, f.edge_name.as_str(), f.edge_id), (98, "Upper", 2));
    assert_eq!((f.direction_in, f.packets_in, f.bytes_in), (3, 5, 6));
    assert_eq!((f.direction_out, f.packets_out, f.bytes_out), (4, 7, 8));
}

#[test]
fn chinese_lines_with_full_width_and_ideographic_commas() {
    let flow = "[00]0000.0000::2024-11-05 10:00:01.000000000 [Microsoft-Windows-PktMon] PktGroupId 562949953421313，PktNumber 1，外观 1，方向 Tx ，类型 Ethernet ，组件 84，边缘 1，筛选 0，OriginalSize 54，LoggedSize 54 \r\n";
    let drop = "[03]0000.0000::2024-11-05 10:00:02.000000000 [Microsoft-Windows-PktMon] 丢弃： PktGroupId 2814749767106857、PktNumber 1、外观 0、方向 Rx 、类型 IP 、组件 101、筛选 0、DropReason INET: transport endpoint was not found 、DropLocation 0xE0004500、OriginalSize 52、LoggedSize 52 \r\n";
    let c = read_text("chinese.txt", &utf16le_with_bom(&format!("{flow}{drop}")));
    assert_eq!(c.appearances.len(), 2);

    let f = &c.appearances[0];
    assert!(f.drop.is_none());
    assert_eq!(f.group_id, Some(562_949_953_421_313));
    assert_eq!((f.pkt_number, f.appearance), (Some(1), Some(1)));
    assert_eq!((f.direction, f.packet_type), (Some(4), Some(1)));
    assert_eq!((f.component_id, f.edge_id, f.filter_id), (Some(84), Some(1), Some(0)));
    assert_eq!((f.original_size, f.logged_size), (54, 54));

    let d = &c.appearances[1];
    let info = d.drop.as_ref().expect("the 丢弃 line is a drop");
    assert_eq!(info.reason, Some(1204));
    assert_eq!(info.location, Some(0xE000_4500));
    assert_eq!(d.group_id, Some(2_814_749_767_106_857));
    assert_eq!((d.pkt_number, d.appearance), (Some(1), Some(0)));
    assert_eq!((d.direction, d.packet_type), (Some(3), Some(3)));
    assert_eq!((d.component_id, d.edge_id, d.filter_id), (Some(101), None, Some(0)));
    assert_eq!((d.original_size, d.logged_size), (52, 52));
    assert_eq!(d.cpu, Some(3));
    assert_eq!(d.index, 1);
}

#[test]
fn translated_map_texts_leave_codes_empty_and_say_so() {
    let flow = "[00]0000.0000::2024-11-05 10:00:01.000000000 [Microsoft-Windows-PktMon] PktGroupId 5，PktNumber 1，外观 1，方向 Tx ，类型 以太网 ，组件 84，边缘 1，筛选 0，OriginalSize 54，LoggedSize 54 \n";
    let c = read_text("chinese-types.txt", flow.as_bytes());
    let a = &c.appearances[0];
    assert_eq!(a.packet_type, None, "以太网 is not a built-in text");
    assert_eq!(a.direction, Some(4));
    let warnings: Vec<_> = c.diagnostics.items.iter().map(|d| d.message.as_str()).collect();
    assert!(warnings.iter().any(|m| m.contains("以太网")), "{warnings:?}");
    assert!(c.diagnostics.items.iter().all(|d| d.severity == Severity::Warning));
}

/// `payload` as tcpdump `-x` prints it: 16 bytes a line, groups of two bytes.
fn hex_dump(payload: &[u8]) -> String {
    let mut out = String::new();
    for (row, bytes) in payload.chunks(16).enumerate() {
        let groups: Vec<String> = bytes
            .chunks(2)
            .map(|g| g.iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        out.push_str(&format!("\t0x{:04x}:  {}\r\n", row * 16, groups.join(" ")));
    }
    out
}

#[test]
fn hex_lines_rebuild_the_payload_exactly() {
    // An Ethernet frame with IPv4/UDP, 61 bytes so the last hex group is a single byte.
    let mut frame: Vec<u8> = vec![
        0x70, 0x85, 0xc2, 0x86, 0xc7, 0x20, 0x00, 0x15, 0x5d, 0x01, 0xbe, 0x1e, 0x08, 0x00, 0x45, 0x00, 0x00, 0x2f,
    ];
    frame.extend((0..43u8).map(|i| i.wrapping_mul(37)));
    assert_eq!(frame.len(), 61);
    let header = "[00]1864.06A4::2021-06-03 19:19:55.454004600 [MSNT_SystemTrace] Event: Header, BufferSize: 16777216, Version: 131082, ProviderVersion: 19042, NumberOfProcessors: 4, EndTime: 132672018112888443, TimerResolution: 156250, MaxFileSize: 512, LogFileMode: 0x4010001, BuffersWritten: 5, StartBuffers: 1, PointerSize: 8, EventsLost: 0, CPUSpeed: 2396, LoggerName: 0x0, LogFileName: 0x0, TimeZoneInformation: , BootTime: 132671899415000000, PerfFreq: 10000000, StartTime: 132672017954540046, ReservedFlags: 0x1, BuffersLost: 0, SessionNameString: Relogger, LogFileNameString: C:\\x, y\\PktMon.etl\r\n";
    let packet = "[02]0000.0000::2021-06-03 19:19:55.618793000 [Microsoft-Windows-PktMon] PktGroupId 7, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 61, LoggedSize 61 \r\n";
    let summary = "\t70-85-C2-86-C7-20 > 00-15-5D-01-BE-1E, ethertype IPv4 (0x0800), length 61: truncated-ip\r\n";
    let next = "[02]0000.0000::2021-06-03 19:19:55.618802100 [Microsoft-Windows-PktMon] PktGroupId 7, PktNumber 1, Appearance 2, Direction Tx , Type Ethernet , Component 36, Edge 1, Filter 0, OriginalSize 61, LoggedSize 61 \r\n";
    let content = format!(
        "{header}{packet}{summary}{}{next}{}",
        hex_dump(&frame),
        hex_dump(&frame)
    );
    let c = read_text("hex.txt", &utf16le_with_bom(&content));
    assert!(c.diagnostics.items.is_empty(), "{:?}", c.diagnostics.items);
    assert_eq!(c.appearances.len(), 2);
    for a in &c.appearances {
        assert_eq!(a.payload, frame);
        assert_eq!(a.logged_size, 61);
        assert_eq!(a.link_type, LinkType::Ethernet);
    }
    // The header line's values, and its file name that contains ", ".
    assert_eq!(c.info.timezone_bias_minutes, Some(-330));
    assert_eq!(c.info.log_file_name.as_deref(), Some("C:\\x, y\\PktMon.etl"));
    assert_eq!(c.info.logger_name.as_deref(), Some("Relogger"));
    assert_eq!(c.info.start_time, Some(132_672_017_954_540_046));
    assert_eq!(
        pktmon::time::format_utc(c.appearances[0].time),
        "2021-06-03T13:49:55.6187930Z"
    );
}

const GOOD_1: &str = "[02]0000.0000::2021-06-03 19:19:55.618793000 [Microsoft-Windows-PktMon] PktGroupId 101, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54 ";
const GOOD_2: &str = "[02]0000.0000::2021-06-03 19:19:55.618802100 [Microsoft-Windows-PktMon] PktGroupId 102, PktNumber 1, Appearance 2, Direction Tx , Type Ethernet , Component 36, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54 ";

#[test]
fn garbled_packet_lines_are_errors_on_their_line_and_the_rest_is_kept() {
    let lines = [
        GOOD_1,
        "\t54-8C-A0-98-0E-25 > 3C-84-6A-01-EA-8B, ethertype IPv4 (0x0800), length 54",
        "[02]0000.0000::2021-06-03 19:19:55.618800000 [Microsoft-Windows-PktMon] PktGroupId 1x3, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54 ",
        "[02]0000.0000::2021-06-03 19:19:55.618800000 [Microsoft-Windows-PktMon] PktGroupId 104, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 5q4, LoggedSize 54 ",
        "some unrelated line",
        "[02]0000.0000::2021-13-03 19:19:55.618800000 [Microsoft-Windows-PktMon] PktGroupId 105, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54 ",
        "[0Z]0000.0000::2021-06-03 19:19:55.618800000 [Microsoft-Windows-PktMon] PktGroupId 106, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54 ",
        GOOD_2,
    ];
    let content = lines.join("\r\n") + "\r\n";
    let c = read_text("garbled.txt", &utf16le_with_bom(&content));
    let groups: Vec<_> = c.appearances.iter().map(|a| a.group_id).collect();
    assert_eq!(groups, [Some(101), Some(102)]);
    assert_eq!(c.appearances[1].index, 1);
    let errors: Vec<_> = c
        .diagnostics
        .items
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    let at: Vec<_> = errors.iter().map(|d| d.location).collect();
    assert_eq!(
        at,
        [
            Location::Line(3),
            Location::Line(4),
            Location::Line(6),
            Location::Line(7)
        ],
        "{errors:?}"
    );
    assert!(errors[0].message.contains("PktGroupId"));
    assert!(errors[1].message.contains("OriginalSize"));
    assert!(errors[2].message.contains("time"));
    assert!(errors.iter().all(|e| e.file.ends_with("garbled.txt")));
    // The unrelated line is counted in a warning, not an error.
    assert!(c
        .diagnostics
        .items
        .iter()
        .any(|d| d.severity == Severity::Warning && d.location == Location::Line(5)));
}

#[test]
fn binary_garbage_is_not_text() {
    // A deterministic pseudo-random stream (64-bit LCG).
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let bytes: Vec<u8> = (0..10_000)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    let file = TempFile::new("garbage.bin", &bytes);
    let mut sink = |_: &pktmon::model::Context<'_>, _: pktmon::Record| panic!("no records expected");
    let err = text::read(file.path(), &mut sink).unwrap_err();
    assert!(err.file.ends_with("garbage.bin"), "{err}");
    assert!(source::detect(file.path()).is_err());
    assert!(!text::looks_like_text(&bytes[..4096]));
}

#[test]
fn an_empty_file_is_an_error() {
    let file = TempFile::new("empty.txt", b"");
    let mut sink = |_: &pktmon::model::Context<'_>, _: pktmon::Record| {};
    let err = text::read(file.path(), &mut sink).unwrap_err();
    assert!(err.message.contains("file is empty"), "{err}");
    assert!(err.file.ends_with("empty.txt"));
}

#[test]
fn a_file_cut_inside_a_utf16_code_unit_keeps_its_last_line() {
    let content = format!("{GOOD_1}\r\n\tsummary\r\n{GOOD_2}");
    let mut bytes = utf16le_with_bom(&content);
    bytes.push(b'\r'); // the first byte of the CR that never came
    let c = read_text("cut.txt", &bytes);
    assert_eq!(c.appearances.len(), 2);
    assert_eq!(c.appearances[1].group_id, Some(102));
    assert_eq!(c.appearances[1].logged_size, 54);
    assert!(!c.diagnostics.has_errors(), "{:?}", c.diagnostics.items);
    let cut = c
        .diagnostics
        .items
        .iter()
        .find(|d| d.message.contains("middle of a character"))
        .expect("a warning about the cut");
    assert_eq!(cut.location, Location::Line(3));

    // Cut anywhere: never a panic, never a failure once the first line is whole.
    let full = utf16le_with_bom(&format!("{GOOD_1}\r\n\tsummary\r\n{GOOD_2}\r\n"));
    for len in 1..=full.len() {
        let file = TempFile::new("cut-anywhere.txt", &full[..len]);
        let mut count = 0;
        let mut sink = |_: &pktmon::model::Context<'_>, _: pktmon::Record| count += 1;
        let result = text::read(file.path(), &mut sink);
        if len >= 2 + 2 * GOOD_1.len() {
            let outcome = result.unwrap_or_else(|e| panic!("cut at {len}: {e}"));
            assert!(count >= 1, "cut at {len}");
            assert_eq!(outcome.info.kind, Some(InputKind::Text));
        }
    }
}
