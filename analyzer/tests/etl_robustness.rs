//! The ETL reader against files whose every field is known: fixtures written
//! by `pktmon::etl::writer` in the shapes the real corpus lacks (plain
//! buffers, several buffers per CPU, 32-bit logs, extended data items, lost
//! events, unknown drop reasons, other languages), each read back and compared
//! field by field; and against damaged input (cut at every byte, corrupt
//! compression, broken buffer and record headers, files that are not ETL at
//! all), which must give diagnostics with offsets and never a panic or a hang.
//!
//! Everything goes through the public API: `pktmon::source::read_capture`,
//! `pktmon::source::etl::read` and `pktmon::etl::EtlFile`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use pktmon::etl::writer::{payload, EtlWriter, EtlWriterOptions};
use pktmon::etl::{xpress, EtlFile};
use pktmon::model::*;
use pktmon::pktmon::catalog::Catalog;
use pktmon::pktmon::events::{self, EventOrigin};
use pktmon::pktmon::text::{parse_packet_message, parse_prefix, render_message};
use pktmon::pktmon::PROVIDER_GUID;
use pktmon::sink::txt::{TextEncoding, TxtWriter};
use pktmon::source::Detected;
use pktmon::{Diagnostic, Error, Location, Severity};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A directory of its own under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("etl-robustness-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// xorshift64*: deterministic fixtures without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn demikernel_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/demikernel-PktMon.etl")
}

/// The drop-location values used by the fixtures.
const LOCATION_INET: u32 = 0xE000_460A;
const LOCATION_ARBITRATION: u32 = 0xE000_4134;
/// A drop reason no PktMon build knows.
const UNKNOWN_REASON: u32 = 4242;

/// An embedded DropReason map as the relogger writes them (texts end with a space).
fn small_drop_reason_map() -> BTreeMap<u32, String> {
    BTreeMap::from([
        (0, "Unspecified ".to_string()),
        (918, "Arbitration unhandled ".to_string()),
        (1204, "INET: transport endpoint was not found ".to_string()),
    ])
}

/// Everything a fixture holds, in the form the reader must give back.
struct Scenario {
    options: EtlWriterOptions,
    /// Appearances in the order queued; `index` is set by [`Scenario::expected_appearances`].
    packets: Vec<Appearance>,
    /// Rundown records with (cpu, time, pid, tid), all on one CPU in time order.
    rundown: Vec<(u16, i64, u32, u32, Record)>,
}

impl Scenario {
    /// `count` packets spread over `cpus` CPUs at random (interleaved) times,
    /// some of them at equal times on different CPUs, every ninth a drop;
    /// plus a rundown of three components with one property of every kind,
    /// counters and filters. The two earliest packets, a drop and a flow, are
    /// on CPU 0, so the relogger-style metadata lands in CPU 0's stream.
    fn new(options: EtlWriterOptions, cpus: u16, count: usize, seed: u64) -> Scenario {
        let mut rng = Rng(seed);
        let t0 = options.start_time;
        let mut packets = Vec::with_capacity(count);
        let mut last_time = t0;
        for i in 0..count {
            let (cpu, time) = match i {
                0 | 1 => (0, t0),
                _ if i % 7 == 0 => ((rng.below(cpus as usize)) as u16, last_time),
                _ => (rng.below(cpus as usize) as u16, t0 + 1 + rng.below(count * 40) as i64),
            };
            last_time = time;
            let is_drop = i == 0 || (i > 1 && i % 9 == 0);
            let ip = i % 4 == 3;
            let len = 20 + rng.below(180);
            let mut frame = Vec::with_capacity(len);
            if ip {
                frame.extend_from_slice(&[0x45, 0, 0, len as u8]);
            } else {
                frame.extend_from_slice(&[0x00, 0x15, 0x5d, 0x01, 0x02, 0x03, 0x00, 0x22, 0x48, 0x7b, 0xb3, 0x80]);
                frame.extend_from_slice(&[0x08, 0x00]);
            }
            frame.extend(rng.bytes(len - frame.len()));
            let (pid, tid) = if i % 2 == 0 {
                (0, 0)
            } else {
                (4, 0x100 + u32::from(cpu))
            };
            let drop = is_drop.then(|| {
                let (reason, location) = match (i / 9) % 3 {
                    0 => (1204, LOCATION_INET),
                    1 => (918, LOCATION_ARBITRATION),
                    _ => (UNKNOWN_REASON, LOCATION_INET),
                };
                DropInfo {
                    reason: Some(reason),
                    reason_text: None,
                    location: Some(location),
                }
            });
            let packet_type = if ip { 3 } else { 1 };
            packets.push(Appearance {
                index: 0,
                time,
                cpu: Some(cpu),
                process_id: Some(pid),
                thread_id: Some(tid),
                group_id: Some((u64::from(cpu) << 48) | i as u64),
                pkt_number: Some(1 + (i % 3) as u16),
                appearance: Some((i % 5) as u16),
                direction: Some(if i % 2 == 0 { 3 } else { 4 }),
                packet_type: Some(packet_type),
                component_id: Some([7, 12, 30][i % 3]),
                edge_id: Some(1 + (i % 2) as u16),
                filter_id: Some((i % 2) as u16),
                drop,
                original_size: (len + (i % 4) * 10) as u32,
                logged_size: len as u32,
                link_type: events::link_type_for(packet_type, &frame),
                payload: frame,
            });
        }

        // The rundown, on the last CPU, 10 µs apart (the writer moves it behind the packets).
        let rundown_cpu = cpus - 1;
        let mut rundown = Vec::new();
        let mut t = t0 + 5;
        let mut push = |r: Record| {
            rundown.push((rundown_cpu, t, 0x280c, 0x1ec8, r));
            t += 100;
        };
        let comps = [
            (7, 2, "e1i65x64.sys", "Intel(R) 82574L Gigabit Network Connection"),
            (12, 3, "pacer.sys", "QoS Packet Scheduler"),
            (30, 11, "tcpip.sys", "TCP/IPv4 - L3/L4"),
        ];
        for (id, ty, name, desc) in comps {
            push(Record::Component(Component {
                id,
                component_type: ty,
                name: name.into(),
                description: desc.into(),
                properties: Vec::new(),
            }));
        }
        let props = [
            (1, PropertyValue::U32(12)),
            (4, PropertyValue::Guid("{b52a5358-2046-4079-873f-6269cca56739}".into())),
            (5, PropertyValue::NdisMedium(0)),
            (13, PropertyValue::Ipv4(Ipv4Addr::new(192, 168, 153, 1))),
            (
                13,
                PropertyValue::Ipv6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0x78ba, 0x2ddc, 0x6874, 0xea90)),
            ),
            (6, PropertyValue::Bytes(vec![0x00, 0x15, 0x5d, 0x01, 0x02, 0x03])),
            (10, PropertyValue::Str("Default Switch".into())),
            (7, PropertyValue::EtherType(0x86DD)),
        ];
        for (id, value) in props {
            push(Record::Property {
                component_id: 7,
                property: Property { id, value },
            });
        }
        push(Record::Property {
            component_id: 12,
            property: Property {
                id: 2,
                value: PropertyValue::U32(0x1234_5678),
            },
        });
        for (i, (id, ..)) in comps.iter().enumerate() {
            push(Record::DropCounters(DropCounters {
                component_id: *id,
                direction_in: 3,
                packets_in: 10 + i as u64,
                bytes_in: 1000 + i as u64,
                direction_out: 4,
                packets_out: u64::MAX - i as u64,
                bytes_out: 7,
            }));
            push(Record::FlowCounters(FlowCounters {
                component_id: *id,
                edge_name: if i == 0 { "Upper".into() } else { "Lower".into() },
                edge_id: 1 + i as u16,
                direction_in: 3,
                packets_in: 5,
                bytes_in: 500,
                direction_out: 4,
                packets_out: 6,
                bytes_out: 600,
            }));
        }
        push(Record::Filter(PacketFilter {
            id: 1,
            name: "eth3".into(),
            mac1: [0x00, 0x22, 0x48, 0x7b, 0xb3, 0x80],
            mac2: [0; 6],
            ether_type: 0x0800,
            vlan_id: 0,
            ip1: IpAddr::V4(Ipv4Addr::new(10, 9, 1, 14)),
            ip2: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            protocol: 6,
            port1: 443,
            port2: 0,
            tcp_flags: 0x12,
        }));
        push(Record::Filter(PacketFilter {
            id: 2,
            name: String::new(),
            mac1: [0; 6],
            mac2: [0; 6],
            ether_type: 0x86DD,
            vlan_id: 5,
            ip1: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            ip2: IpAddr::V6(Ipv6Addr::LOCALHOST),
            protocol: 17,
            port1: 53,
            port2: 5353,
            tcp_flags: 0,
        }));
        Scenario {
            options,
            packets,
            rundown,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut w = EtlWriter::new(self.options.clone());
        for a in &self.packets {
            w.appearance(a);
        }
        for (cpu, time, pid, tid, r) in &self.rundown {
            w.record(*cpu, *time, *pid, *tid, r);
        }
        w.finish()
    }

    /// The reason text the reader should attach: from the embedded map, or
    /// the built-in table when nothing is embedded.
    fn reason_text(&self, code: u32) -> Option<String> {
        let o = &self.options;
        if !o.embed_schema {
            return Catalog::builtin(Some(o.os_build)).drop_reason(code).map(str::to_string);
        }
        match &o.drop_reason_map {
            Some(m) => m.get(&code).cloned(),
            None => Catalog::builtin(Some(o.os_build))
                .drop_reason(code)
                .map(|t| format!("{t} ")),
        }
    }

    /// The appearances in the order the reader must deliver them: a stable
    /// sort by time, ties to the lower CPU (its buffers come first in the file,
    /// as a stable sort of pktmon's file order gives).
    fn expected_appearances(&self) -> Vec<Appearance> {
        let mut v = self.packets.clone();
        v.sort_by_key(|a| (a.time, a.cpu));
        for (i, a) in v.iter_mut().enumerate() {
            a.index = i as u64;
            if let Some(d) = &mut a.drop {
                d.reason_text = d.reason.and_then(|c| self.reason_text(c));
            }
        }
        v
    }

    fn expected_components(&self) -> ComponentTable {
        let mut t = ComponentTable::default();
        for (.., r) in &self.rundown {
            match r {
                Record::Component(c) => t.add_component(c.clone()),
                Record::Property { component_id, property } => t.add_property(*component_id, property.clone()),
                _ => {}
            }
        }
        t
    }

    /// Asserts a capture read from this scenario's file holds exactly what was written.
    fn check(&self, capture: &Capture) {
        assert_appearances(&capture.appearances, &self.expected_appearances());
        assert_eq!(capture.components, self.expected_components());
        let drops: Vec<DropCounters> = self
            .rundown
            .iter()
            .filter_map(|(.., r)| match r {
                Record::DropCounters(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(capture.drop_counters, drops);
        let flows: Vec<FlowCounters> = self
            .rundown
            .iter()
            .filter_map(|(.., r)| match r {
                Record::FlowCounters(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(capture.flow_counters, flows);
        let filters: Vec<PacketFilter> = self
            .rundown
            .iter()
            .filter_map(|(.., r)| match r {
                Record::Filter(f) => Some(f.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(capture.filters, filters);

        let o = &self.options;
        let info = &capture.info;
        assert_eq!(info.kind, Some(InputKind::Etl));
        assert_eq!(info.os_build, Some(o.os_build));
        assert_eq!(info.processors, Some(o.processors));
        assert_eq!(info.pointer_size, Some(o.pointer_size));
        assert_eq!(info.start_time, Some(o.start_time));
        assert_eq!(info.timezone_bias_minutes, Some(o.timezone_bias_minutes));
        assert_eq!(info.perf_freq, Some(o.perf_freq));
        assert_eq!(info.clock_type, Some(1));
        assert_eq!(info.events_lost, u64::from(o.events_lost));
        assert_eq!(info.buffers_lost, u64::from(o.buffers_lost));
        assert_eq!(info.os_description, o.os_description);
        let data_buffers = info.buffers - 1;
        let expect_compressed = if o.compress { data_buffers } else { 0 };
        assert_eq!(info.compressed_buffers, expect_compressed);
        // The file's own maps replaced the built-in ones.
        if o.embed_schema {
            let map = capture.catalog.map("DropReason").unwrap();
            match &o.drop_reason_map {
                Some(m) => assert_eq!(map, m),
                None => assert!(map.values().all(|t| t.ends_with(' '))),
            }
        }
    }
}

fn assert_appearances(actual: &[Appearance], expected: &[Appearance]) {
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert_eq!(a, e, "appearance {i} differs");
    }
    assert_eq!(actual.len(), expected.len(), "number of appearances");
}

/// Reads `path` and asserts the read was clean (no warning, no error).
fn read_clean(path: &Path) -> Capture {
    let capture = pktmon::source::read_capture(path).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        capture.diagnostics.items.is_empty(),
        "unexpected diagnostics: {:#?}",
        capture.diagnostics.items
    );
    capture
}

fn plain_options() -> EtlWriterOptions {
    EtlWriterOptions {
        compress: false,
        buffer_size: 4096,
        drop_reason_map: Some(small_drop_reason_map()),
        ..Default::default()
    }
}

/// One record as `EtlFile::read_records` delivers it: which buffer (by index),
/// where in it, and its event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct RecordKey {
    buffer: usize,
    offset_in_buffer: u32,
    id: u16,
}

struct EtlRead {
    buffers: Vec<(u64, u32)>,
    records: Vec<RecordKey>,
    diagnostics: Vec<Diagnostic>,
}

fn read_etl(path: &Path) -> Result<EtlRead, Error> {
    let mut etl = EtlFile::open(path)?;
    let index: BTreeMap<u64, usize> = etl
        .buffers
        .iter()
        .enumerate()
        .map(|(i, b)| (b.file_offset, i))
        .collect();
    let mut records = Vec::new();
    etl.read_records(|m| {
        records.push(RecordKey {
            buffer: index[&m.buffer_offset],
            offset_in_buffer: m.offset_in_buffer,
            id: m.record.id,
        })
    });
    Ok(EtlRead {
        buffers: etl.buffers.iter().map(|b| (b.file_offset, b.size_on_disk)).collect(),
        records,
        diagnostics: etl.diagnostics.items.clone(),
    })
}

fn only_diagnostic(d: &[Diagnostic]) -> &Diagnostic {
    assert_eq!(d.len(), 1, "expected exactly one diagnostic, got {d:#?}");
    &d[0]
}

// ---------------------------------------------------------------------------
// Well-formed fixtures, read back field by field
// ---------------------------------------------------------------------------

#[test]
fn plain_buffers_several_per_cpu_merge_in_time_order() {
    let dir = TempDir::new("plain");
    let s = Scenario::new(plain_options(), 3, 600, 1);
    let path = dir.write("plain.etl", &s.bytes());
    let capture = read_clean(&path);
    s.check(&capture);

    // The layout: fixed-size buffers, several per CPU, each CPU's sequence numbers increasing.
    let etl = EtlFile::open(&path).unwrap();
    let mut per_cpu: BTreeMap<u16, Vec<i64>> = BTreeMap::new();
    for b in &etl.buffers[1..] {
        assert!(!b.is_compressed());
        assert!(
            b.size_on_disk >= 4096,
            "buffer at {} is {} bytes",
            b.file_offset,
            b.size_on_disk
        );
        assert_eq!(b.flags & 0x20, 0x20, "PROC_INDEX");
        per_cpu.entry(b.processor).or_default().push(b.sequence);
    }
    assert_eq!(per_cpu.keys().copied().collect::<Vec<_>>(), vec![0, 1, 2]);
    for (cpu, seqs) in &per_cpu {
        assert!(seqs.len() >= 2, "cpu {cpu} has {} buffers", seqs.len());
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "cpu {cpu}: {seqs:?}");
    }
    assert_eq!(etl.header.buffers_written as usize, etl.buffers.len());
    assert_eq!(
        etl.buffers.last().unwrap().flags & 0x01,
        0x01,
        "FLUSH_MARKER on the last buffer"
    );
    // The times were interleaved across CPUs, with ties: the merge really had work to do.
    let cpus: Vec<u16> = capture.appearances.iter().map(|a| a.cpu.unwrap()).collect();
    assert!(cpus.windows(2).filter(|w| w[0] != w[1]).count() > 100);
    let ties = capture
        .appearances
        .windows(2)
        .filter(|w| w[0].time == w[1].time)
        .count();
    assert!(ties > 50, "only {ties} equal times");
}

#[test]
fn compressed_buffers_round_trip() {
    let dir = TempDir::new("compressed");
    // Relogger shape: one 16 MiB buffer per CPU.
    let s = Scenario::new(EtlWriterOptions::default(), 4, 500, 2);
    let path = dir.write("relogged.etl", &s.bytes());
    s.check(&read_clean(&path));
    let etl = EtlFile::open(&path).unwrap();
    assert_eq!(etl.buffers.len(), 5);
    assert_eq!(etl.compression_format, 3);
    for b in &etl.buffers[1..] {
        assert_eq!(b.flags & 0x60, 0x60, "COMPRESSED | PROC_INDEX");
        assert_eq!(b.state, 3, "COMPRESSION_FORMAT_XPRESS");
        assert!((b.size_on_disk as usize) < b.saved_offset as usize);
    }
    // Small logical buffers: several compressed buffers per CPU.
    let small = Scenario::new(
        EtlWriterOptions {
            buffer_size: 8192,
            os_description: Some("Windows Server 2022 Datacenter Azure Edition".into()),
            os_build: 20348,
            ..Default::default()
        },
        2,
        400,
        3,
    );
    let path = dir.write("small.etl", &small.bytes());
    let capture = read_clean(&path);
    small.check(&capture);
    assert!(
        capture.info.compressed_buffers >= 6,
        "{}",
        capture.info.compressed_buffers
    );
}

#[test]
fn writer_output_is_deterministic() {
    let a = Scenario::new(EtlWriterOptions::default(), 3, 300, 4);
    assert_eq!(a.bytes(), a.bytes());
    let plain = Scenario::new(plain_options(), 3, 300, 4);
    assert_eq!(plain.bytes(), plain.bytes());
    assert_ne!(a.bytes(), Scenario::new(EtlWriterOptions::default(), 3, 300, 5).bytes());
}

#[test]
fn extended_data_items_are_skipped_and_iterable() {
    let dir = TempDir::new("extended");
    for compress in [true, false] {
        let options = EtlWriterOptions {
            extended_items: true,
            compress,
            buffer_size: if compress { 16 << 20 } else { 8192 },
            ..Default::default()
        };
        let s = Scenario::new(options, 2, 200, 6);
        let path = dir.write("extended.etl", &s.bytes());
        s.check(&read_clean(&path));

        let mut etl = EtlFile::open(&path).unwrap();
        let mut seen = 0;
        let mut bad = Vec::new();
        etl.read_records(|m| {
            let r = &m.record;
            if r.guid != PROVIDER_GUID {
                return;
            }
            seen += 1;
            let items: Vec<(u16, usize)> = r.extended_items().map(|(t, d)| (t, d.len())).collect();
            if r.flags & 0x01 == 0 || items != [(1, 16), (3, 4)] || r.extended.len() != 40 {
                bad.push(format!("event {} flags {:#x} items {items:?}", r.id, r.flags));
            }
            let activity = r.extended_items().next().unwrap().1;
            if u16::from_le_bytes([activity[8], activity[9]]) != r.id {
                bad.push(format!("event {}: RELATED_ACTIVITYID data {activity:02x?}", r.id));
            }
            if let Err(e) = events::decode(r.id, r.payload, EventOrigin::default(), 0, true) {
                bad.push(format!("event {}: {}", r.id, e.0));
            }
        });
        assert!(bad.is_empty(), "{bad:#?}");
        assert_eq!(seen, s.packets.len() + s.rundown.len());
    }
}

#[test]
fn thirty_two_bit_log() {
    let dir = TempDir::new("32bit");
    let options = EtlWriterOptions {
        pointer_size: 4,
        timezone_bias_minutes: -330,
        perf_freq: 24_000_000,
        os_build: 19042,
        events_lost: 0,
        ..Default::default()
    };
    let s = Scenario::new(options, 2, 300, 7);
    let path = dir.write("x86.etl", &s.bytes());
    s.check(&read_clean(&path));

    let mut etl = EtlFile::open(&path).unwrap();
    assert_eq!(etl.header.pointer_size, 4);
    assert_eq!(etl.header.logger_name, "Relogger");
    let mut kinds = BTreeMap::new();
    etl.read_records(|m| {
        let r = &m.record;
        assert!(r.is_32bit, "record {r:?}");
        *kinds.entry(r.header_type).or_insert(0) += 1;
        if r.guid == PROVIDER_GUID {
            assert_eq!(r.flags & 0x20, 0x20, "32_BIT_HEADER flag");
        }
    });
    // SYSTEM32 (header, partition info), FULL_HEADER32 (metadata), EVENT_HEADER32 (PktMon).
    assert_eq!(kinds.keys().copied().collect::<Vec<u8>>(), vec![0x01, 0x0A, 0x12]);
    assert_eq!(kinds[&0x01], 2);
    assert_eq!(kinds[&0x12], s.packets.len() + s.rundown.len());
}

#[test]
fn lost_events_and_buffers_are_reported() {
    let dir = TempDir::new("lost");
    let options = EtlWriterOptions {
        events_lost: 17,
        buffers_lost: 2,
        flag_events_lost_on_buffer: Some(1),
        ..plain_options()
    };
    let s = Scenario::new(options, 2, 200, 8);
    let path = dir.write("lost.etl", &s.bytes());
    let capture = pktmon::source::read_capture(&path).unwrap();
    assert_appearances(&capture.appearances, &s.expected_appearances());
    let info = &capture.info;
    assert_eq!((info.events_lost, info.buffers_lost), (17, 2));
    assert_eq!(info.buffers_flagged_events_lost, 1);
    let d = only_diagnostic(&capture.diagnostics.items);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.location, Location::File);
    assert!(d.message.contains("17 events lost"), "{}", d.message);
    assert!(d.message.contains("2 buffers lost"), "{}", d.message);
    assert!(d.message.contains("1 buffers flagged EVENTS_LOST"), "{}", d.message);
    let etl = EtlFile::open(&path).unwrap();
    assert_eq!(etl.buffers[2].flags & 0x02, 0x02, "the second data buffer is flagged");
    assert_eq!(etl.buffers.iter().filter(|b| b.flags & 0x02 != 0).count(), 1);
}

/// A drop whose reason is missing from the file's own map keeps its code and
/// no text. etl2txt prints an unmapped value as a bare number with no space
/// before the comma (`Component 172, Type 11, Name tcpip.sys` in the 26200
/// sample, format reference §4.1), unlike map texts (`Direction Rx ,`), so the
/// line reads `DropReason 4242, DropLocation 0x…`. Codes the built-in table
/// knows but the embedded map lacks are unmapped too: etl2txt uses the file's map.
#[test]
fn drop_reason_missing_from_the_embedded_map() {
    let dir = TempDir::new("unknown-reason");
    let mut map = small_drop_reason_map();
    map.remove(&918); // known to every built-in table, absent from this file
    let options = EtlWriterOptions {
        drop_reason_map: Some(map),
        ..Default::default()
    };
    let s = Scenario::new(options, 2, 200, 9);
    let path = dir.write("unknown-reason.etl", &s.bytes());
    let capture = read_clean(&path);
    s.check(&capture);

    let drops: Vec<&Appearance> = capture.drops().collect();
    let unknown = drops
        .iter()
        .find(|a| a.drop.as_ref().unwrap().reason == Some(UNKNOWN_REASON))
        .unwrap();
    let d = unknown.drop.as_ref().unwrap();
    assert_eq!((d.reason, d.reason_text.as_deref()), (Some(UNKNOWN_REASON), None));
    let unmapped_known = drops
        .iter()
        .find(|a| a.drop.as_ref().unwrap().reason == Some(918))
        .unwrap();
    assert_eq!(unmapped_known.drop.as_ref().unwrap().reason_text, None);
    assert!(Catalog::builtin(Some(26100)).drop_reason(918).is_some());

    let line = render_message(unknown, &capture.catalog, None);
    let expected = format!(
        "Drop: PktGroupId {}, PktNumber {}, Appearance {}, Direction {}, Type {}, Component {}, Filter {}, \
         DropReason 4242, DropLocation 0x{LOCATION_INET:08X}, OriginalSize {}, LoggedSize {} ",
        unknown.group_id.unwrap(),
        unknown.pkt_number.unwrap(),
        unknown.appearance.unwrap(),
        if unknown.direction == Some(3) { "Rx " } else { "Tx " },
        if unknown.packet_type == Some(1) {
            "Ethernet "
        } else {
            "IP "
        },
        unknown.component_id.unwrap(),
        unknown.filter_id.unwrap(),
        unknown.original_size,
        unknown.logged_size,
    );
    assert_eq!(line, expected);
    assert!(render_message(unmapped_known, &capture.catalog, None).contains(", DropReason 918, DropLocation 0x"));
    let known = drops
        .iter()
        .find(|a| a.drop.as_ref().unwrap().reason == Some(1204))
        .unwrap();
    assert!(render_message(known, &capture.catalog, None)
        .contains(", DropReason INET: transport endpoint was not found , DropLocation 0xE000460A,"));
    let parsed = parse_packet_message(&line).unwrap();
    assert_eq!(parsed.drop_reason.as_deref(), Some("4242"));
    assert_eq!(parsed.drop_location, Some(LOCATION_INET));
}

/// The German 170 template is the one quoted in the format reference §4.1
/// (from a 26100 sample's metadata), with PktMon's trailing space; the 160
/// one is composed the same way (no German 160 template is on record).
const GERMAN_PACKET: &str = "PktGroupId %1, PktNumber %2, Darstellung %3, Richtung %4, Typ %5, Komponente %6, Rand %7, Filter %8, Original Größe %11, LoggedSize %12 ";
const GERMAN_DROP: &str = "Ablegen: PktGroupId %1, PktNumber %2, Darstellung %3, Richtung %4, Typ %5, Komponente %6, Filter %8, DropReason %9, DropLocation %10, Original Größe %11, LoggedSize %12 ";

#[test]
fn other_language_templates_drive_txt_and_parse_back() {
    let dir = TempDir::new("german");
    let options = EtlWriterOptions {
        message_templates: Some((GERMAN_PACKET.into(), GERMAN_DROP.into())),
        drop_reason_map: Some(small_drop_reason_map()),
        timezone_bias_minutes: -120,
        ..Default::default()
    };
    let s = Scenario::new(options, 3, 300, 10);
    let path = dir.write("german.etl", &s.bytes());
    s.check(&read_clean(&path));
    let expected = s.expected_appearances();

    let mut txt = TxtWriter::new(Vec::new(), TextEncoding::Utf8, false);
    let outcome = pktmon::source::etl::read(&path, &mut txt).unwrap();
    assert_eq!(outcome.schemas[&160].message.as_deref(), Some(GERMAN_PACKET));
    assert_eq!(outcome.schemas[&170].message.as_deref(), Some(GERMAN_DROP));
    let text = String::from_utf8(txt.into_inner()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expected.len());
    for (line, a) in lines.iter().zip(&expected) {
        let prefix = parse_prefix(line).unwrap_or_else(|| panic!("bad line {line:?}"));
        assert_eq!(
            (prefix.cpu, prefix.process_id, prefix.thread_id),
            (a.cpu.unwrap(), a.process_id.unwrap(), a.thread_id.unwrap())
        );
        assert_eq!(prefix.time, pktmon::time::format_etl2txt(a.time, -120));
        assert_eq!(prefix.provider, "Microsoft-Windows-PktMon");
        let m = prefix.message;
        assert_eq!(m.starts_with("Ablegen: "), a.is_drop(), "{line}");
        assert!(m.contains(", Richtung ") && m.contains(", Komponente "), "{line}");
        let p = parse_packet_message(m).unwrap_or_else(|| panic!("unparsed {line:?}"));
        assert_eq!(p.is_drop, a.is_drop(), "{line}");
        assert_eq!(p.group_id, a.group_id, "{line}");
        assert_eq!(p.pkt_number, a.pkt_number, "{line}");
        assert_eq!(p.appearance, a.appearance, "{line}");
        let dir_text = if a.direction == Some(3) { "Rx" } else { "Tx" };
        assert_eq!(p.direction.as_deref(), Some(dir_text), "{line}");
        let type_text = if a.packet_type == Some(1) { "Ethernet" } else { "IP" };
        assert_eq!(p.packet_type.as_deref(), Some(type_text), "{line}");
        assert_eq!(p.component_id, a.component_id, "{line}");
        assert_eq!(p.filter_id, a.filter_id, "{line}");
        assert_eq!(p.original_size, Some(a.original_size), "{line}");
        assert_eq!(p.logged_size, Some(a.logged_size), "{line}");
        match &a.drop {
            Some(d) => {
                assert_eq!(p.edge_id, None, "the drop template has no edge: {line}");
                let want = d.reason_text.as_deref().map(str::trim).map(str::to_string);
                let want = want.unwrap_or_else(|| d.reason.unwrap().to_string());
                assert_eq!(p.drop_reason.as_deref(), Some(want.as_str()), "{line}");
                assert_eq!(p.drop_location, d.location, "{line}");
            }
            None => {
                assert_eq!(p.edge_id, a.edge_id, "{line}");
                assert_eq!((p.drop_reason, p.drop_location), (None, None), "{line}");
            }
        }
    }
    let drop_line = lines.iter().zip(&expected).find(|(_, a)| a.index == 0).unwrap().0;
    let a = &expected[0];
    assert!(drop_line.ends_with(&format!(
        "] Ablegen: PktGroupId {}, PktNumber 1, Darstellung 0, Richtung Rx , Typ Ethernet , Komponente 7, \
         Filter 0, DropReason INET: transport endpoint was not found , DropLocation 0xE000460A, Original Größe {}, \
         LoggedSize {} ",
        a.group_id.unwrap(),
        a.original_size,
        a.logged_size
    )));

    // english = true ignores the file's templates.
    let mut txt = TxtWriter::new(Vec::new(), TextEncoding::Utf8, true);
    pktmon::source::etl::read(&path, &mut txt).unwrap();
    let text = String::from_utf8(txt.into_inner()).unwrap();
    assert!(text
        .lines()
        .all(|l| l.contains("] PktGroupId ") || l.contains("] Drop: PktGroupId ")));
    assert!(!text.contains("Richtung"));
}

/// Events before the session start (negative QPC deltas, here with a clock
/// that is not a multiple of 10 MHz) keep their times to the 100 ns, and the
/// embedded schema still reaches the reader before the first drop. (Not on
/// CPU 0: the header buffer heads CPU 0's stream, see `EtlWriterOptions::start_time`.)
#[test]
fn events_before_the_session_start() {
    let dir = TempDir::new("before-start");
    let map = BTreeMap::from([(1204, "Custom text ".to_string())]);
    let options = EtlWriterOptions {
        drop_reason_map: Some(map),
        perf_freq: 3_579_545 * 10, // not a multiple of 10 MHz
        ..Default::default()
    };
    let t0 = options.start_time;
    let mut s = Scenario::new(options, 3, 30, 19);
    for (a, (cpu, delta)) in s
        .packets
        .iter_mut()
        .zip([(1u16, -20_000_000i64), (2, -10), (1, -3), (0, 0)])
    {
        a.cpu = Some(cpu);
        a.time = t0 + delta;
        a.drop = Some(DropInfo {
            reason: Some(1204),
            reason_text: None,
            location: Some(LOCATION_INET),
        });
    }
    let path = dir.write("before-start.etl", &s.bytes());
    let capture = read_clean(&path);
    s.check(&capture);
    assert_eq!(capture.appearances[0].time, t0 - 20_000_000);
    let first = capture.appearances[0].drop.as_ref().unwrap();
    assert_eq!(first.reason_text.as_deref(), Some("Custom text "));
}

/// Every variant the writer makes, as a file on disk.
fn variants() -> Vec<(&'static str, EtlWriterOptions)> {
    vec![
        ("relogged", EtlWriterOptions::default()),
        ("plain", plain_options()),
        (
            "x86",
            EtlWriterOptions {
                pointer_size: 4,
                ..Default::default()
            },
        ),
        (
            "extended",
            EtlWriterOptions {
                extended_items: true,
                ..plain_options()
            },
        ),
        (
            "lost",
            EtlWriterOptions {
                events_lost: 3,
                flag_events_lost_on_buffer: Some(0),
                ..Default::default()
            },
        ),
        (
            "german",
            EtlWriterOptions {
                message_templates: Some((GERMAN_PACKET.into(), GERMAN_DROP.into())),
                ..Default::default()
            },
        ),
        (
            "no-schema",
            EtlWriterOptions {
                embed_schema: false,
                ..Default::default()
            },
        ),
    ]
}

#[test]
fn every_generated_variant_is_detected_as_etl() {
    let dir = TempDir::new("detect");
    for (name, options) in variants() {
        let s = Scenario::new(options, 2, 60, 11);
        let path = dir.write(&format!("{name}.etl"), &s.bytes());
        assert_eq!(pktmon::source::detect(&path).unwrap(), Detected::Etl, "{name}");
        let capture = pktmon::source::read_capture(&path).unwrap();
        assert!(
            !capture.diagnostics.has_errors(),
            "{name}: {:#?}",
            capture.diagnostics.items
        );
        assert_appearances(&capture.appearances, &s.expected_appearances());
        // An empty capture (no events at all) is still a valid file.
        let empty = EtlWriter::new(s.options.clone()).finish();
        let path = dir.write(&format!("{name}-empty.etl"), &empty);
        assert_eq!(pktmon::source::detect(&path).unwrap(), Detected::Etl, "{name} empty");
        let capture = pktmon::source::read_capture(&path).unwrap();
        assert!(
            !capture.diagnostics.has_errors(),
            "{name} empty: {:#?}",
            capture.diagnostics.items
        );
        assert!(capture.appearances.is_empty());
    }
}

#[test]
fn payload_encoders_invert_the_decoder() {
    let s = Scenario::new(EtlWriterOptions::default(), 2, 40, 18);
    let origin = EventOrigin {
        time: s.options.start_time + 3,
        cpu: 1,
        process_id: 4,
        thread_id: 8,
    };
    for (.., r) in &s.rundown {
        let (id, p) = payload::record(r);
        let back = events::decode(id, &p, origin, 0, true).unwrap().unwrap();
        assert_eq!(format!("{back:?}"), format!("{r:?}"), "event {id}");
    }
    for a in &s.packets {
        let id = if a.is_drop() { 170 } else { 160 };
        let o = EventOrigin {
            time: a.time,
            cpu: a.cpu.unwrap(),
            process_id: a.process_id.unwrap(),
            thread_id: a.thread_id.unwrap(),
        };
        let Some(Record::Packet(back)) = events::decode(id, &payload::packet(a), o, 0, true).unwrap() else {
            panic!("event {id} did not decode to a packet");
        };
        assert_eq!(&back, a);
    }
    // The helpers one by one, with the event ids they belong to.
    assert_eq!(
        payload::component(7, 2, "a", "b"),
        [7, 0, 2, 0, b'a', 0, 0, 0, b'b', 0, 0, 0]
    );
    assert_eq!(payload::property_u32(7, 1, 12), [7, 0, 1, 0, 12, 0, 0, 0]);
    assert_eq!(
        payload::property_ipv4(7, 13, Ipv4Addr::new(192, 168, 153, 1)),
        [7, 0, 13, 0, 192, 168, 153, 1]
    );
    assert_eq!(payload::property_ethertype(7, 7, 0x86DD), [7, 0, 7, 0, 0xDD, 0x86]);
    assert_eq!(payload::property_binary(7, 6, &[1, 2]), [7, 0, 6, 0, 2, 0, 0, 0, 1, 2]);
    assert_eq!(
        payload::drop_counters(&DropCounters {
            component_id: 1,
            direction_in: 3,
            packets_in: 0,
            bytes_in: 0,
            direction_out: 4,
            packets_out: 0,
            bytes_out: 0,
        })
        .len(),
        38
    );
}

// ---------------------------------------------------------------------------
// Damaged input
// ---------------------------------------------------------------------------

/// Cuts `bytes` at every offset in `cuts` (one copy of the file, truncated
/// further and further: a single write however many cuts) and checks each cut file: a cut
/// inside the first buffer is an `Err` at offset 0; otherwise exactly the
/// records of the buffers wholly before the cut, in the same order, and one
/// warning located at the start of the buffer the cut fell in.
fn check_cuts(dir: &TempDir, name: &str, bytes: &[u8], mut cuts: Vec<usize>) -> usize {
    let full_path = dir.write(name, bytes);
    let full = read_etl(&full_path).unwrap();
    assert!(full.diagnostics.is_empty(), "{:#?}", full.diagnostics);
    let first_len = full.buffers[0].1 as usize;
    let cut_path = dir.write(&format!("cut-{name}"), bytes);
    let cut_name = cut_path.display().to_string();
    let cut_file = std::fs::OpenOptions::new().write(true).open(&cut_path).unwrap();
    cuts.sort_unstable_by(|a, b| b.cmp(a));
    cuts.dedup();
    let mut checked = 0;
    for cut in cuts {
        assert!(cut <= bytes.len());
        cut_file.set_len(cut as u64).unwrap();
        checked += 1;
        let result = read_etl(&cut_path);
        if cut < first_len {
            let e = match result {
                Err(e) => e,
                Ok(_) => panic!("cut at {cut}: a file without its header buffer was accepted"),
            };
            assert_eq!(e.file, cut_name, "cut at {cut}");
            assert_eq!(e.location, Location::Offset(0), "cut at {cut}: {e}");
            assert!(e.to_string().contains(&cut_name));
            // Once the first record's marker is there, the file is recognised as a cut ETL.
            if cut >= 0x50 {
                assert!(e.message.contains("cut short"), "cut at {cut}: {e}");
            }
            continue;
        }
        let got = result.unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        // Buffers wholly before the cut, and the buffer the cut falls in.
        let complete = full
            .buffers
            .iter()
            .take_while(|(o, s)| (o + u64::from(*s)) as usize <= cut)
            .count();
        let expected: Vec<RecordKey> = full.records.iter().copied().filter(|r| r.buffer < complete).collect();
        assert_eq!(got.records, expected, "cut at {cut}");
        if cut == bytes.len() {
            assert!(got.diagnostics.is_empty(), "{:#?}", got.diagnostics);
            continue;
        }
        let cut_buffer_offset = full.buffers[complete].0;
        let d = only_diagnostic(&got.diagnostics);
        assert_eq!(d.severity, Severity::Warning, "cut at {cut}: {d}");
        assert_eq!(d.location, Location::Offset(cut_buffer_offset), "cut at {cut}: {d}");
        assert_eq!(d.file, cut_name);
        assert!(d.message.contains("cut short"), "cut at {cut}: {d}");
    }
    checked
}

/// Every offset in release builds; in debug builds (10–20× slower XPRESS),
/// every offset of each buffer header and its neighbourhood, a stride elsewhere.
fn cut_offsets(bytes: &[u8], buffers: &[(u64, u32)]) -> Vec<usize> {
    if !cfg!(debug_assertions) {
        return (0..=bytes.len()).collect();
    }
    let mut cuts: Vec<usize> = (0..=bytes.len()).step_by(61).collect();
    for (offset, _) in buffers {
        let o = *offset as usize;
        cuts.extend(o.saturating_sub(2)..(o + 0x50).min(bytes.len()));
    }
    cuts.push(bytes.len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

#[test]
fn cut_at_every_offset_of_generated_files() {
    let dir = TempDir::new("cut-generated");
    let plain = Scenario::new(
        EtlWriterOptions {
            buffer_size: 2048,
            ..plain_options()
        },
        2,
        40,
        12,
    )
    .bytes();
    let compressed = Scenario::new(
        EtlWriterOptions {
            buffer_size: 4096,
            drop_reason_map: Some(small_drop_reason_map()),
            ..Default::default()
        },
        3,
        80,
        13,
    )
    .bytes();
    for (name, bytes) in [("plain.etl", plain), ("compressed.etl", compressed)] {
        let path = dir.write(&format!("probe-{name}"), &bytes);
        let buffers = read_etl(&path).unwrap().buffers;
        assert!(buffers.len() >= 5, "{name}: {} buffers", buffers.len());
        let cuts = cut_offsets(&bytes, &buffers);
        let n = check_cuts(&dir, name, &bytes, cuts);
        eprintln!(
            "{name}: {} bytes, {} buffers, {n} cuts checked",
            bytes.len(),
            buffers.len()
        );
    }
}

#[test]
fn cut_at_every_offset_of_a_real_capture() {
    let path = demikernel_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dir = TempDir::new("cut-demikernel");
    let buffers = read_etl(&path).unwrap().buffers;
    let cuts = cut_offsets(&bytes, &buffers);
    let start = std::time::Instant::now();
    let n = check_cuts(&dir, "demikernel.etl", &bytes, cuts);
    eprintln!("demikernel: {n} cuts in {:.1} s", start.elapsed().as_secs_f64());

    // And through the PktMon layer at the buffer boundaries: packets of the
    // complete buffers only, never an error.
    let full = pktmon::source::read_capture(&path).unwrap();
    for (offset, _) in buffers.iter().skip(1) {
        let cut = dir.write("boundary.etl", &bytes[..*offset as usize]);
        let c = pktmon::source::read_capture(&cut).unwrap();
        assert!(!c.diagnostics.has_errors());
        assert!(c.appearances.len() <= full.appearances.len());
        assert_eq!(c.appearances[..], full.appearances[..c.appearances.len()]);
    }
}

/// Decompresses (if needed) the record area of the buffer at `offset`, lets
/// `change` edit it in place (same length), and returns the whole file with
/// the buffer written back (recompressed, BufferSize updated).
fn with_area_changed(file: &[u8], offset: u64, change: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let o = offset as usize;
    let size = u32_at(file, o) as usize;
    let saved = u32_at(file, o + 4) as usize;
    let compressed = u16_at(file, o + 0x34) & 0x40 != 0;
    let mut area = if compressed {
        xpress::decompress(&file[o + 0x48..o + size], saved - 0x48).unwrap()
    } else {
        file[o + 0x48..o + saved].to_vec()
    };
    let len = area.len();
    change(&mut area);
    assert_eq!(area.len(), len);
    let mut out = file[..o].to_vec();
    if compressed {
        let packed = xpress::compress(&area);
        out.extend_from_slice(&file[o..o + 0x48]);
        out[o..o + 4].copy_from_slice(&((0x48 + packed.len()) as u32).to_le_bytes());
        out.extend_from_slice(&packed);
    } else {
        out.extend_from_slice(&file[o..o + 0x48]);
        out.extend_from_slice(&area);
        out.extend_from_slice(&file[o + saved..o + size]);
    }
    out.extend_from_slice(&file[o + size..]);
    out
}

/// Records of `full` that must survive damage starting at `offset_in_buffer`
/// of buffer `buffer`, sorted (a damaged middle of a stream may reorder the
/// merge, so sets are compared).
fn surviving(full: &[RecordKey], buffer: usize, offset_in_buffer: u32) -> Vec<RecordKey> {
    let mut v: Vec<RecordKey> = full
        .iter()
        .copied()
        .filter(|r| r.buffer != buffer || r.offset_in_buffer < offset_in_buffer)
        .collect();
    v.sort_unstable();
    v
}

fn sorted(mut v: Vec<RecordKey>) -> Vec<RecordKey> {
    v.sort_unstable();
    v
}

#[test]
fn corrupt_compressed_buffer_is_skipped_with_its_offset() {
    let dir = TempDir::new("corrupt");
    let s = Scenario::new(
        EtlWriterOptions {
            drop_reason_map: Some(small_drop_reason_map()),
            ..Default::default()
        },
        3,
        300,
        14,
    );
    let bytes = s.bytes();
    let path = dir.write("good.etl", &bytes);
    let good = read_etl(&path).unwrap();
    let etl = EtlFile::open(&path).unwrap();
    let victim = etl.buffers.iter().position(|b| b.processor == 1).unwrap();
    let victim_offset = etl.buffers[victim].file_offset as usize;

    // A flag word of all ones makes the first symbol a match into an empty output.
    let mut bad = bytes.clone();
    bad[victim_offset + 0x48..victim_offset + 0x4C].copy_from_slice(&[0xFF; 4]);
    let path = dir.write("bad.etl", &bad);
    let capture = pktmon::source::read_capture(&path).unwrap();
    let d = only_diagnostic(&capture.diagnostics.items);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.location, Location::Offset(victim_offset as u64));
    assert!(d.message.contains("corrupt compressed buffer"), "{d}");
    assert!(d.message.contains("buffer skipped"), "{d}");
    let mut expected: Vec<Appearance> = s
        .expected_appearances()
        .into_iter()
        .filter(|a| a.cpu != Some(1))
        .collect();
    for (i, a) in expected.iter_mut().enumerate() {
        a.index = i as u64;
    }
    assert_appearances(&capture.appearances, &expected);
    let read = read_etl(&path).unwrap();
    assert_eq!(
        read.records,
        good.records
            .iter()
            .copied()
            .filter(|r| r.buffer != victim)
            .collect::<Vec<_>>()
    );

    // Random flips anywhere in the compressed data: never a panic, never an
    // `Err` (the header buffer is intact), and every untouched buffer's records kept.
    let mut rng = Rng(0x5eed);
    let data: Vec<(usize, usize)> = etl.buffers[1..]
        .iter()
        .map(|b| (b.file_offset as usize, b.size_on_disk as usize))
        .collect();
    for round in 0..300 {
        let mut m = bytes.clone();
        let (o, size) = data[rng.below(data.len())];
        for _ in 0..1 + rng.below(4) {
            let at = o + 0x48 + rng.below(size - 0x48);
            m[at] ^= 1 << rng.below(8);
        }
        let path = dir.write("flipped.etl", &m);
        let capture = pktmon::source::read_capture(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let read = read_etl(&path).unwrap();
        let damaged = good.buffers.iter().position(|b| b.0 as usize == o).unwrap();
        let kept: Vec<RecordKey> = read.records.iter().copied().filter(|r| r.buffer != damaged).collect();
        let want: Vec<RecordKey> = good.records.iter().copied().filter(|r| r.buffer != damaged).collect();
        assert_eq!(sorted(kept), sorted(want), "round {round}");
        for d in &capture.diagnostics.items {
            assert!(
                matches!(d.location, Location::Offset(_) | Location::File),
                "round {round}: {d}"
            );
        }
    }
}

#[test]
fn damaged_buffer_headers_are_reported_at_their_offsets() {
    let dir = TempDir::new("headers");
    for compress in [false, true] {
        let options = EtlWriterOptions {
            compress,
            buffer_size: 4096,
            ..plain_options()
        };
        let bytes = Scenario::new(options, 2, 150, 15).bytes();
        let good = read_etl(&dir.write("good.etl", &bytes)).unwrap();
        assert!(good.buffers.len() >= 6);
        let k = 3;
        let (offset, _) = good.buffers[k];
        let o = offset as usize;

        // BufferSize 0: the next buffer cannot be found; everything before stays.
        let mut bad = bytes.clone();
        bad[o..o + 4].copy_from_slice(&0u32.to_le_bytes());
        let read = read_etl(&dir.write("zero-size.etl", &bad)).unwrap();
        let d = only_diagnostic(&read.diagnostics);
        assert_eq!(
            (d.severity, d.location),
            (Severity::Error, Location::Offset(offset)),
            "{d}"
        );
        assert!(d.message.contains("buffer size 0"), "{d}");
        assert_eq!(read.buffers.len(), k);
        let kept: Vec<RecordKey> = good.records.iter().copied().filter(|r| r.buffer < k).collect();
        assert_eq!(read.records, kept);

        // SavedOffset past 64 MiB, and inside the header: that buffer is skipped.
        for (saved, words) in [(0x0400_0000 + 0x49, "more than the"), (0x20, "inside its header")] {
            let mut bad = bytes.clone();
            bad[o + 4..o + 8].copy_from_slice(&(saved as u32).to_le_bytes());
            let path = dir.write("saved.etl", &bad);
            let read = read_etl(&path).unwrap();
            let d = only_diagnostic(&read.diagnostics);
            assert_eq!(
                (d.severity, d.location),
                (Severity::Error, Location::Offset(offset)),
                "{d}"
            );
            assert!(d.message.contains(words), "{d}");
            assert_eq!(sorted(read.records), surviving(&good.records, k, 0));
            let capture = pktmon::source::read_capture(&path).unwrap();
            assert!(capture.diagnostics.has_errors());
        }

        // A buffer whose first record's header is cut off by SavedOffset: walk stops, no panic.
        let mut bad = bytes.clone();
        bad[o + 4..o + 8].copy_from_slice(&(0x48u32 + 12).to_le_bytes());
        if !compress {
            let read = read_etl(&dir.write("short.etl", &bad)).unwrap();
            assert_eq!(sorted(read.records), surviving(&good.records, k, 0));
        }
    }
}

#[test]
fn damaged_records_are_reported_and_earlier_records_kept() {
    let dir = TempDir::new("records");
    for compress in [false, true] {
        let options = EtlWriterOptions {
            compress,
            buffer_size: 4096,
            ..plain_options()
        };
        let bytes = Scenario::new(options, 2, 150, 16).bytes();
        let good = read_etl(&dir.write("good.etl", &bytes)).unwrap();
        let k = 2;
        let (offset, _) = good.buffers[k];
        let in_k: Vec<u32> = good
            .records
            .iter()
            .filter(|r| r.buffer == k)
            .map(|r| r.offset_in_buffer)
            .collect();
        assert!(in_k.len() >= 6, "{} records in buffer {k}", in_k.len());
        let at = in_k[4]; // offset in the buffer, header included
        let pos = at as usize - 0x48; // offset in the record area
                                      // Walk errors point at the record in a plain buffer, at the buffer when compressed.
        let where_ = if compress { offset } else { offset + u64::from(at) };

        type Damage = (&'static str, fn(&mut Vec<u8>, usize), &'static str);
        let damages: [Damage; 4] = [
            (
                "size 0",
                |a, p| a[p..p + 2].copy_from_slice(&0u16.to_le_bytes()),
                "record size 0",
            ),
            (
                "past the end",
                |a, p| {
                    let past = (a.len() - p + 8).min(0xFFFF) as u16;
                    a[p..p + 2].copy_from_slice(&past.to_le_bytes())
                },
                "runs past the end",
            ),
            ("unknown type", |a, p| a[p + 2] = 0x3F, "unknown trace header type 0x3F"),
            (
                "size 1",
                |a, p| a[p..p + 2].copy_from_slice(&1u16.to_le_bytes()),
                "smaller than its 80-byte header",
            ),
        ];
        for (label, damage, words) in damages {
            let bad = with_area_changed(&bytes, offset, |a| damage(a, pos));
            let path = dir.write("damaged.etl", &bad);
            let read = read_etl(&path).unwrap();
            let d = only_diagnostic(&read.diagnostics);
            assert_eq!(d.severity, Severity::Error, "{label}: {d}");
            assert_eq!(
                d.location,
                Location::Offset(where_),
                "{label} (compressed {compress}): {d}"
            );
            assert!(d.message.contains(words), "{label}: {d}");
            assert_eq!(sorted(read.records), surviving(&good.records, k, at), "{label}");
            let capture = pktmon::source::read_capture(&path).unwrap();
            assert_eq!(capture.diagnostics.items.len(), 1, "{label}");
        }
    }
}

#[test]
fn inputs_that_are_not_etl_are_errors_naming_the_file() {
    let dir = TempDir::new("not-etl");
    let check = |path: &Path, location: Option<Location>, words: &str| {
        let name = path.display().to_string();
        for result in [
            EtlFile::open(path).map(|_| ()),
            pktmon::source::etl::read(path, &mut |_: &Context<'_>, _: Record| {}).map(|_| ()),
        ] {
            let e = result.expect_err(&name);
            assert_eq!(e.file, name);
            assert!(e.to_string().starts_with(&name), "{e}");
            if let Some(l) = location {
                assert_eq!(e.location, l, "{e}");
            }
            assert!(e.message.contains(words), "{e}");
        }
    };

    check(&dir.write("empty.etl", &[]), Some(Location::Offset(0)), "empty");
    check(&dir.0, Some(Location::File), "directory");
    let pcapng = Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/demikernel-PktMon.cap");
    assert_eq!(pktmon::source::detect(&pcapng).unwrap(), Detected::Pcapng);
    check(&pcapng, Some(Location::Offset(0)), "not an ETL file");
    check(&dir.0.join("missing.etl"), Some(Location::File), "");

    let mut rng = Rng(0xbad_f11e);
    for len in [1, 7, 0x47, 0x48, 0x49, 100, 1023, 1024, 5000, 70_000] {
        for _ in 0..20 {
            let path = dir.write("random.etl", &rng.bytes(len));
            check(&path, Some(Location::Offset(0)), "");
        }
    }
    // Random bytes behind a valid-looking first buffer header and logfile record
    // header: still an error at offset 0 (or the 0x48 of the record), never a panic.
    let good = Scenario::new(plain_options(), 1, 10, 17).bytes();
    for _ in 0..200 {
        let mut m = good[..0x48 + 8].to_vec();
        let n = rng.below(3000);
        m.extend(rng.bytes(n));
        let path = dir.write("half.etl", &m);
        if let Err(e) = EtlFile::open(&path) {
            assert_eq!(e.file, path.display().to_string());
            assert!(
                matches!(e.location, Location::Offset(0) | Location::Offset(0x48)),
                "{e}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Throughput (release): cargo test --release --test etl_robustness -- --ignored --nocapture
// ---------------------------------------------------------------------------

#[test]
#[ignore]
fn writer_throughput() {
    let options = EtlWriterOptions::default();
    let t0 = options.start_time;
    let n = 1_000_000usize;
    let frame: Vec<u8> = (0..60u8).collect();
    let start = std::time::Instant::now();
    let mut w = EtlWriter::new(options);
    w.reserve(n, n * (34 + frame.len()));
    let mut a = Appearance {
        index: 0,
        time: t0,
        cpu: Some(0),
        process_id: Some(0),
        thread_id: Some(0),
        group_id: Some(0),
        pkt_number: Some(1),
        appearance: Some(1),
        direction: Some(3),
        packet_type: Some(1),
        component_id: Some(7),
        edge_id: Some(1),
        filter_id: Some(0),
        drop: None,
        original_size: 60,
        logged_size: 60,
        link_type: LinkType::Ethernet,
        payload: frame,
    };
    for i in 0..n {
        a.time = t0 + i as i64 * 7;
        a.cpu = Some((i % 8) as u16);
        a.group_id = Some(i as u64 / 4);
        a.appearance = Some((i % 4) as u16);
        a.payload[20] = i as u8;
        w.appearance(&a);
    }
    let queued = start.elapsed();
    let bytes = w.finish();
    let total = start.elapsed();
    eprintln!(
        "writer: {n} packets, {} bytes compressed, queue {:.2} s, total {:.2} s: {:.0} packets/s",
        bytes.len(),
        queued.as_secs_f64(),
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64()
    );
    let dir = TempDir::new("throughput");
    let path = dir.write("big.etl", &bytes);
    let mut etl = EtlFile::open(&path).unwrap();
    let mut packets = 0usize;
    etl.read_records(|m| packets += usize::from(m.record.id == 160));
    assert_eq!(packets, n);
    assert!(etl.diagnostics.items.is_empty());
}

/// `file` with the (compressed) buffer at `offset` grown to `new_len` bytes of
/// record area by the 0xFF padding that ends a buffer's records.
fn with_area_grown(file: &[u8], offset: u64, new_len: usize) -> Vec<u8> {
    let o = offset as usize;
    let size = u32_at(file, o) as usize;
    let saved = u32_at(file, o + 4) as usize;
    assert!(u16_at(file, o + 0x34) & 0x40 != 0, "a compressed buffer");
    let mut area = xpress::decompress(&file[o + 0x48..o + size], saved - 0x48).unwrap();
    area.resize(new_len, 0xFF);
    let packed = xpress::compress(&area);
    let mut out = file[..o].to_vec();
    out.extend_from_slice(&file[o..o + 0x48]);
    out[o..o + 4].copy_from_slice(&((0x48 + packed.len()) as u32).to_le_bytes());
    let saved = ((0x48 + new_len) as u32).to_le_bytes();
    out[o + 4..o + 8].copy_from_slice(&saved);
    out[o + 0x30..o + 0x34].copy_from_slice(&saved);
    out.extend_from_slice(&packed);
    out.extend_from_slice(&file[o + size..]);
    out
}

#[test]
fn streams_claiming_more_memory_than_allowed_are_skipped_and_the_rest_read() {
    let dir = TempDir::new("budget");
    let s = Scenario::new(EtlWriterOptions::default(), 6, 600, 4);
    let mut bytes = s.bytes();
    let etl = EtlFile::open(&dir.write("small.etl", &bytes)).unwrap();
    // A few dozen compressed bytes can claim a huge buffer: those of CPUs 0-3 grow to 32 MiB.
    let grown: Vec<u64> = etl
        .buffers
        .iter()
        .filter(|b| b.processor <= 3 && b.is_compressed())
        .map(|b| b.file_offset)
        .collect();
    assert_eq!(grown.len(), 4);
    for &o in grown.iter().rev() {
        bytes = with_area_grown(&bytes, o, 32 << 20);
    }
    let path = dir.write("claims.etl", &bytes);
    let per_cpu = |budget: Option<usize>| {
        let mut etl = EtlFile::open(&path).unwrap();
        if let Some(b) = budget {
            etl.area_budget = b;
        }
        let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
        etl.read_records(|m| *counts.entry(m.cpu).or_default() += 1);
        (counts, etl.diagnostics.items.clone())
    };
    // The default budget holds six streams of at most 32 MiB.
    let (all, diagnostics) = per_cpu(None);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(all.keys().copied().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4, 5]);
    assert!(all.values().all(|&n| n > 50), "{all:?}");
    // 100 MiB cannot hold four 32 MiB streams plus a buffer read ahead and a spare:
    // the largest claims go (CPUs 3, 2, 1 in file order), every record of the rest is read.
    let (kept, diagnostics) = per_cpu(Some(100 << 20));
    let d = only_diagnostic(&diagnostics);
    assert_eq!(d.severity, Severity::Error);
    assert!(d.file.ends_with("claims.etl"), "{d:?}");
    assert!(
        d.message.contains("its 6 per-CPU buffer streams would hold")
            && d.message.contains("more than the 100 MB")
            && d.message.ends_with("the 3 buffers of CPU 1, 2, 3 are skipped"),
        "{}",
        d.message
    );
    let expected: BTreeMap<u16, usize> = all.into_iter().filter(|(cpu, _)| ![1, 2, 3].contains(cpu)).collect();
    assert_eq!(kept, expected);
}
