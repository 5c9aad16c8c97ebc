//! The pcapng / pcap reader against real files (pktmon etl2pcap output, our own
//! converter's output of real ETLs) and against files written here: etl2pcapng
//! style, comment-only, classic pcap in all four magics, big-endian and
//! multi-section pcapng, and damaged files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use pktmon::error::{Location, Severity};
use pktmon::model::*;
use pktmon::sink::pcapng::{ConvertOptions, PcapngConverter};
use pktmon::sink::pcapng_blocks::*;
use pktmon::source;

mod common;

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../captures");
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("pcapng-reader-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The shared corpus, or `None` after saying (once per test) that it is absent.
fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(CORPUS);
    if dir.is_dir() {
        Some(dir)
    } else {
        common::skip("corpus", "../shared/corpus not present");
        None
    }
}

/// Converts a capture with the project's converter, as `pktmon-analyzer convert` does.
fn convert(input: &Path, output: &Path) {
    let mut conv = PcapngConverter::new(output, ConvertOptions::default()).unwrap();
    let outcome = source::read(input, &mut conv).unwrap();
    conv.finish(&outcome.info).unwrap();
}

fn micros(t: FileTime) -> i64 {
    (t - UNIX_EPOCH_FILETIME) / 10
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

fn warnings(c: &Capture) -> Vec<&pktmon::Diagnostic> {
    c.diagnostics
        .items
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect()
}

fn errors(c: &Capture) -> Vec<&pktmon::Diagnostic> {
    c.diagnostics
        .items
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

fn has_no_metadata_warning(c: &Capture) -> bool {
    c.diagnostics.items.iter().any(|d| {
        d.severity == Severity::Warning && d.location == Location::File && d.message.contains("no PktMon metadata")
    })
}

/// (offset, type, length) of every block of a little-endian pcapng.
fn blocks(bytes: &[u8]) -> Vec<(usize, u32, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let t = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        out.push((at, t, len));
        at += len;
    }
    out
}

// ---------------------------------------------------------------- real files

#[test]
fn pktmon_etl2pcap_output_is_plain_with_a_warning() {
    let c = source::read_capture(&Path::new(CAPTURES).join("demikernel-PktMon.cap")).unwrap();
    assert_eq!(c.info.kind, Some(InputKind::PcapngPlain));
    assert_eq!(c.appearances.len(), 114);
    assert!(has_no_metadata_warning(&c), "{:?}", c.diagnostics);
    assert_eq!(warnings(&c).len(), 1);
    assert!(errors(&c).is_empty());
    assert_eq!(c.info.application.as_deref(), Some("Packet Monitor"));
    assert_eq!(
        c.info.os_description.as_deref(),
        Some("Windows Server 2022 Datacenter Azure Edition")
    );
    assert_eq!(
        c.info.hardware.as_deref(),
        Some("Microsoft Corporation Virtual Machine")
    );
    assert!(c.components.is_empty());
    for (i, a) in c.appearances.iter().enumerate() {
        assert_eq!(a.index, i as u64);
        assert_eq!(a.link_type, LinkType::Ethernet);
        assert_eq!(a.logged_size as usize, a.payload.len());
        assert_eq!(
            (a.group_id, a.component_id, a.direction, a.packet_type, a.drop.as_ref()),
            (None, None, None, None, None)
        );
        assert_eq!(
            (a.cpu, a.process_id, a.thread_id, a.edge_id, a.filter_id),
            (None, None, None, None, None)
        );
    }
}

/// The project's key acceptance test: converting the ETL gives the very frames
/// `pktmon etl2pcap` wrote, plus all the metadata it lost.
#[test]
fn converted_etl_matches_pktmon_etl2pcap_frame_for_frame() {
    let tmp = TempDir::new("demikernel");
    let etl_path = Path::new(CAPTURES).join("demikernel-PktMon.etl");
    let converted = tmp.path("demikernel.pcapng");
    convert(&etl_path, &converted);

    let etl = source::read_capture(&etl_path).unwrap();
    let plain = source::read_capture(&Path::new(CAPTURES).join("demikernel-PktMon.cap")).unwrap();
    let ours = source::read_capture(&converted).unwrap();

    assert_eq!(ours.info.kind, Some(InputKind::PcapngConverter));
    assert!(ours.diagnostics.items.is_empty(), "{:?}", ours.diagnostics);
    assert!(ours.info.application.as_deref().unwrap().starts_with("pktmon-analyzer"));
    assert_eq!(ours.info.os_build, Some(20348));
    assert!(ours
        .info
        .os_description
        .as_deref()
        .unwrap()
        .starts_with("Windows Server 2022 Datacenter Azure Edition"));

    assert_eq!(etl.appearances.len(), 114);
    assert_eq!(plain.appearances.len(), 114);
    assert_eq!(ours.appearances.len(), 114);
    for (i, (p, o)) in plain.appearances.iter().zip(&ours.appearances).enumerate() {
        assert_eq!(o.index, i as u64);
        assert_eq!(p.payload, o.payload, "frame {i} bytes");
        assert_eq!(micros(p.time), micros(o.time), "frame {i} time");
        assert_eq!(p.original_size, o.original_size, "frame {i} original size");
        assert_eq!(p.logged_size, o.logged_size, "frame {i} logged size");
    }
    for (i, (e, o)) in etl.appearances.iter().zip(&ours.appearances).enumerate() {
        assert_eq!(e.time, o.time, "frame {i}: if_tsresol 7 keeps 100-ns time");
        assert_eq!(e.group_id, o.group_id, "frame {i} group id");
        assert_eq!(e.pkt_number, o.pkt_number, "frame {i} pkt number");
        assert_eq!(e.appearance, o.appearance, "frame {i} appearance");
        assert_eq!(e.direction, o.direction, "frame {i} direction");
        assert_eq!(e.packet_type, o.packet_type, "frame {i} packet type");
        assert_eq!(e.component_id, o.component_id, "frame {i} component");
        assert_eq!(e.edge_id, o.edge_id, "frame {i} edge");
        assert_eq!(e.filter_id, o.filter_id, "frame {i} filter");
        assert_eq!(e.drop, o.drop, "frame {i} drop");
        assert_eq!(e.original_size, o.original_size, "frame {i} original size");
        assert_eq!(e.logged_size, o.logged_size, "frame {i} logged size");
        assert_eq!(e.link_type, o.link_type, "frame {i} link type");
        assert_eq!(e.payload, o.payload, "frame {i} payload");
    }
    // Every component a packet uses comes back with its ETL name, description and MAC.
    let used: std::collections::BTreeSet<u16> = ours.appearances.iter().filter_map(|a| a.component_id).collect();
    assert_eq!(used.len(), 4);
    assert_eq!(ours.components.len(), used.len());
    for id in used {
        let (e, o) = (etl.components.get(id).unwrap(), ours.components.get(id).unwrap());
        assert_eq!(e.name, o.name, "component {id}");
        assert_eq!(e.description, o.description, "component {id}");
        assert_eq!(e.mac(), o.mac(), "component {id}");
        assert_eq!(
            e.ipv4_addresses().collect::<Vec<_>>(),
            o.ipv4_addresses().collect::<Vec<_>>(),
            "component {id}"
        );
    }
}

#[test]
fn converted_finguard_keeps_drop_reasons_and_locations() {
    let Some(corpus) = corpus() else { return };
    let tmp = TempDir::new("finguard");
    let etl_path = corpus.join("finguard-PktMon.etl");
    let converted = tmp.path("finguard.pcapng");
    convert(&etl_path, &converted);
    let etl = source::read_capture(&etl_path).unwrap();
    let ours = source::read_capture(&converted).unwrap();
    assert_eq!(ours.info.kind, Some(InputKind::PcapngConverter));
    assert!(errors(&ours).is_empty(), "{:?}", ours.diagnostics);
    assert_eq!(ours.appearances.len(), etl.appearances.len());

    let drops: Vec<&Appearance> = ours.drops().collect();
    assert_eq!(drops.len(), 28);
    let mut by_reason: BTreeMap<u32, usize> = BTreeMap::new();
    for d in &drops {
        *by_reason.entry(d.drop.as_ref().unwrap().reason.unwrap()).or_default() += 1;
    }
    assert_eq!(
        by_reason,
        BTreeMap::from([(204, 2), (918, 6), (1204, 12), (1210, 7), (1217, 1)])
    );
    // (frame, reason, location, component) of every drop.
    type DropFact = (u64, Option<u32>, Option<u32>, Option<u16>);
    let triples = |c: &Capture| -> Vec<DropFact> {
        c.drops()
            .map(|a| {
                let d = a.drop.as_ref().unwrap();
                (a.index, d.reason, d.location, a.component_id)
            })
            .collect()
    };
    assert_eq!(triples(&ours), triples(&etl));
    let at = |reason: u32, location: u32| {
        drops
            .iter()
            .filter(|a| {
                a.drop
                    .as_ref()
                    .is_some_and(|d| d.reason == Some(reason) && d.location == Some(location))
            })
            .count()
    };
    assert_eq!(at(1204, 0xE000_4500), 6);
    assert_eq!(at(1204, 0xE000_4704), 6);
    assert_eq!(at(1210, 0xE000_450A), 6);
    assert_eq!(at(1210, 0xE000_4516), 1);
    assert_eq!(at(918, 0xE000_4134), 6);
    assert_eq!(at(1217, 0xE000_4513), 1);
    assert_eq!(at(204, 0xE000_1007), 2);
    // The reason text survives too, and the components are named.
    let first_1204 = drops
        .iter()
        .find(|a| a.drop.as_ref().unwrap().reason == Some(1204))
        .unwrap();
    assert_eq!(
        first_1204.drop.as_ref().unwrap().reason_text.as_deref(),
        Some("INET: transport endpoint was not found")
    );
    assert_eq!(ours.components.get(101).unwrap().name, "tcpip.sys");
    assert_eq!(ours.components.get(101).unwrap().description, "TCP/IPv4 - L3/L4");
}

#[test]
fn etl2pcap_backup_is_plain() {
    let Some(corpus) = corpus() else { return };
    let c = source::read_capture(&corpus.join("etl2pcap-backup.pcapng")).unwrap();
    assert_eq!(c.info.kind, Some(InputKind::PcapngPlain));
    assert_eq!(c.appearances.len(), 1196);
    assert!(has_no_metadata_warning(&c));
    assert!(errors(&c).is_empty(), "{:?}", c.diagnostics);
    assert_eq!(c.info.os_description.as_deref(), Some("Windows 10 Home"));
    assert_eq!(c.info.application.as_deref(), Some("Packet Monitor"));
    // First packet: 2022-03-15 07:14:55 UTC.
    let first = c.appearances.first().unwrap();
    assert_eq!(
        pktmon::time::format_utc(first.time).get(..19),
        Some("2022-03-15T07:14:55")
    );
}

// ------------------------------------------------------ files written here

/// An etl2pcapng ≥ 1.12 file: one IDB per component, packetid, verdict on drops.
#[test]
fn etl2pcapng_style_file_synthesizes_components() {
    let tmp = TempDir::new("etl2pcapng");
    let path = tmp.path("etl2pcapng.pcapng");
    let mut f = Vec::new();
    let mut shb = Options::default();
    shb.add_str(SHB_OS, "Windows 11");
    write_shb(&mut f, &shb).unwrap();
    let mut tcpip = Options::default();
    tcpip
        .add_str(IF_NAME, "tcpip.sys")
        .add_str(IF_DESCRIPTION, "TCP/IPv4 - L3/L4");
    tcpip.add(IF_IPV4ADDR, &[10, 0, 0, 4, 255, 255, 255, 255]);
    write_idb(&mut f, 101, 65535, &tcpip).unwrap();
    let mut nic = Options::default();
    nic.add_str(IF_NAME, "netvsc.sys")
        .add_str(IF_DESCRIPTION, "Microsoft Hyper-V Network Adapter");
    nic.add(IF_MACADDR, &[0, 0x22, 0x48, 1, 2, 3]);
    let mut v6 = [0u8; 17];
    v6[0] = 0xfe;
    v6[1] = 0x80;
    v6[15] = 1;
    v6[16] = 128;
    nic.add(IF_IPV6ADDR, &v6);
    write_idb(&mut f, 1, 65535, &nic).unwrap();
    let ip_packet = [0x45u8, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 4];
    let eth_frame = [0xffu8; 60];
    let epb = |f: &mut Vec<u8>, iface: u32, us: u64, data: &[u8], id: u64, drop: bool| {
        let mut o = Options::default();
        o.add(EPB_FLAGS, &1u32.to_le_bytes());
        o.add(EPB_PACKETID, &id.to_le_bytes());
        if drop {
            o.add(EPB_VERDICT, &VERDICT_XDP_DROP);
        }
        let mut pid_tid = 4u32.to_le_bytes().to_vec();
        pid_tid.extend_from_slice(&0x278u32.to_le_bytes());
        o.add(8, &pid_tid);
        write_epb(f, iface, us, data.len() as u32, data, &o).unwrap();
    };
    let t0 = 1_700_000_000_000_000u64; // µs (no if_tsresol)
    epb(&mut f, 1, t0, &eth_frame, 562_949_953_421_313, false);
    epb(&mut f, 0, t0 + 1, &ip_packet, 562_949_953_421_313, false);
    epb(&mut f, 0, t0 + 2, &ip_packet, 562_949_953_421_314, true);
    write(&path, &f);

    // Components must arrive before the first packet that uses them.
    let mut order = Vec::new();
    let mut sink = |_: &Context<'_>, r: Record| {
        order.push(match r {
            Record::Component(c) => format!("component {}", c.id),
            Record::Property { component_id, .. } => format!("property {component_id}"),
            Record::Packet(a) => format!("packet {:?}", a.component_id),
            _ => "other".to_string(),
        })
    };
    source::read(&path, &mut sink).unwrap();
    assert_eq!(
        order,
        [
            "component 1",
            "property 1",
            "property 1",
            "packet Some(1)",
            "component 0",
            "property 0",
            "packet Some(0)",
            "packet Some(0)"
        ]
    );

    let c = source::read_capture(&path).unwrap();
    assert_eq!(c.info.kind, Some(InputKind::PcapngEtl2pcapng));
    assert!(c.diagnostics.items.is_empty(), "{:?}", c.diagnostics);
    assert_eq!(c.components.len(), 2);
    let tcp = c.components.get(0).unwrap();
    assert_eq!(
        (tcp.name.as_str(), tcp.description.as_str()),
        ("tcpip.sys", "TCP/IPv4 - L3/L4")
    );
    assert_eq!(
        tcp.ipv4_addresses().collect::<Vec<_>>(),
        ["10.0.0.4".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    let nic = c.components.get(1).unwrap();
    assert_eq!(nic.name, "netvsc.sys");
    assert_eq!(nic.mac(), Some([0, 0x22, 0x48, 1, 2, 3]));
    assert_eq!(
        nic.ipv6_addresses().collect::<Vec<_>>(),
        ["fe80::1".parse::<std::net::Ipv6Addr>().unwrap()]
    );

    let a = &c.appearances;
    assert_eq!(a.len(), 3);
    assert_eq!(
        a.iter().map(|a| a.group_id).collect::<Vec<_>>(),
        [
            Some(562_949_953_421_313),
            Some(562_949_953_421_313),
            Some(562_949_953_421_314)
        ]
    );
    assert_eq!(
        a.iter().map(|a| a.component_id).collect::<Vec<_>>(),
        [Some(1), Some(0), Some(0)]
    );
    assert_eq!(
        a.iter().map(|a| a.link_type).collect::<Vec<_>>(),
        [LinkType::Ethernet, LinkType::RawIp, LinkType::RawIp]
    );
    assert_eq!(a.iter().filter(|a| a.is_drop()).count(), 1);
    assert_eq!(
        a[2].drop,
        Some(DropInfo {
            reason: None,
            reason_text: None,
            location: None
        })
    );
    // etl2pcapng marks every PktMon packet inbound: not a direction we can trust.
    assert!(a.iter().all(|a| a.direction.is_none()));
    assert_eq!((a[0].process_id, a[0].thread_id), (Some(4), Some(0x278)));
    assert_eq!(micros(a[1].time), 1_700_000_000_000_001);
}

const GERMAN_DROP: &str = "[03]0000.0000::2024-05-01 10:00:00.123456700 [Microsoft-Windows-PktMon] Ablegen: PktGroupId 13, PktNumber 1, Darstellung 0, Richtung Rx , Typ IP , Komponente 98, Filter 0, DropReason Not locally destined , DropLocation 0xE0004138, Original Größe 100, LoggedSize 100 ";
const ENGLISH_FLOW: &str = "[02]0004.0278::2021-06-02 14:19:40.530246400 [Microsoft-Windows-PktMon] PktGroupId 562949953422193, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 11, Edge 1, Filter 0, OriginalSize 60, LoggedSize 60 ";
const NUMERIC_DROP: &str = "Drop: PktGroupId 10696049115005232, PktNumber 1, Appearance 1, Direction Rx, Type Ethernet, Component 2, Filter 0, DropReason 228, DropLocation 0xE000100F";

/// Some other tool's pcapng with etl2txt lines as packet comments.
#[test]
fn comment_only_pcapng_is_parsed() {
    let tmp = TempDir::new("comments");
    let path = tmp.path("comments.pcapng");
    let mut f = Vec::new();
    let mut shb = Options::default();
    shb.add_str(SHB_USERAPPL, "Some Tool 1.0");
    write_shb(&mut f, &shb).unwrap();
    write_idb(&mut f, 1, 0, &Options::default()).unwrap();
    let frame = [0u8; 100];
    for (i, comment) in [ENGLISH_FLOW, GERMAN_DROP, NUMERIC_DROP, "just a note"]
        .iter()
        .enumerate()
    {
        let mut o = Options::default();
        o.add_str(OPT_COMMENT, comment);
        write_epb(&mut f, 0, 1_000_000 + i as u64, 100, &frame[..60 + i * 10], &o).unwrap();
    }
    write(&path, &f);
    let c = source::read_capture(&path).unwrap();
    assert_eq!(c.info.kind, Some(InputKind::PcapngComments));
    assert!(c.diagnostics.items.is_empty(), "{:?}", c.diagnostics);
    assert!(c.components.is_empty());
    let [flow, german, numeric, note] = c.appearances.as_slice() else {
        panic!("{} appearances", c.appearances.len())
    };
    assert_eq!(flow.group_id, Some(562_949_953_422_193));
    assert_eq!(
        (flow.cpu, flow.process_id, flow.thread_id),
        (Some(2), Some(4), Some(0x278))
    );
    assert_eq!((flow.direction, flow.packet_type), (Some(4), Some(1)));
    assert_eq!(
        (flow.component_id, flow.edge_id, flow.filter_id),
        (Some(11), Some(1), Some(0))
    );
    assert!(flow.drop.is_none());

    assert_eq!(german.group_id, Some(13));
    assert_eq!((german.pkt_number, german.appearance), (Some(1), Some(0)));
    assert_eq!((german.direction, german.packet_type), (Some(3), Some(3)));
    assert_eq!(
        (german.component_id, german.filter_id, german.edge_id),
        (Some(98), Some(0), None)
    );
    assert_eq!(
        german.drop,
        Some(DropInfo {
            reason: Some(902),
            reason_text: Some("Not locally destined".to_string()),
            location: Some(0xE000_4138)
        })
    );
    // Sizes come from the block, not the comment.
    assert_eq!((german.original_size, german.logged_size), (100, 70));
    assert_eq!(german.cpu, Some(3));

    let d = numeric.drop.as_ref().unwrap();
    assert_eq!(
        (d.reason, d.reason_text.as_deref(), d.location),
        (Some(228), None, Some(0xE000_100F))
    );
    assert_eq!((numeric.direction, numeric.packet_type), (Some(3), Some(1)));

    // A packet without a PktMon comment has no metadata.
    assert_eq!(
        (note.group_id, note.component_id, note.drop.as_ref()),
        (None, None, None)
    );
}

/// A packet's PktMon line may follow any number of other comments (the reader
/// keeps the first few in place and the rest in a list: both are searched).
#[test]
fn the_pktmon_line_is_found_among_many_comments() {
    let tmp = TempDir::new("many-comments");
    let path = tmp.path("many.pcapng");
    let mut f = Vec::new();
    write_shb(&mut f, &Options::default()).unwrap();
    write_idb(&mut f, 1, 0, &Options::default()).unwrap();
    let frame = [0u8; 60];
    for before in [0usize, 3, 4, 7] {
        let mut o = Options::default();
        for k in 0..before {
            o.add_str(OPT_COMMENT, &format!("note {k}"));
        }
        o.add_str(OPT_COMMENT, ENGLISH_FLOW);
        write_epb(&mut f, 0, 1_000_000 + before as u64, 60, &frame, &o).unwrap();
    }
    write(&path, &f);
    let c = source::read_capture(&path).unwrap();
    assert_eq!(c.appearances.len(), 4);
    for a in &c.appearances {
        assert_eq!(a.group_id, Some(562_949_953_422_193), "frame {}", a.index + 1);
        assert_eq!(a.component_id, Some(11), "frame {}", a.index + 1);
    }
}

/// A classic pcap header and records.
fn pcap_file(big_endian: bool, nanos: bool, records: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
    let u32b = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
    let u16b = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut f = Vec::new();
    f.extend_from_slice(&u32b(if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 }));
    f.extend_from_slice(&u16b(2));
    f.extend_from_slice(&u16b(4));
    f.extend_from_slice(&u32b(0));
    f.extend_from_slice(&u32b(0));
    f.extend_from_slice(&u32b(65535));
    f.extend_from_slice(&u32b(101));
    for (secs, frac, data, original) in records {
        f.extend_from_slice(&u32b(*secs));
        f.extend_from_slice(&u32b(*frac));
        f.extend_from_slice(&u32b(data.len() as u32));
        f.extend_from_slice(&u32b(*original));
        f.extend_from_slice(data);
    }
    f
}

#[test]
fn classic_pcap_in_all_four_magics() {
    let tmp = TempDir::new("pcap");
    let packet = [0x45u8, 0, 0, 28, 1, 2, 3, 4];
    for big_endian in [false, true] {
        for nanos in [false, true] {
            let frac = if nanos { 123_456_789 } else { 123_456 };
            let bytes = pcap_file(
                big_endian,
                nanos,
                &[(1_600_000_000, frac, &packet, 28), (1_600_000_001, 0, &packet[..4], 4)],
            );
            let path = tmp.path(&format!("be{big_endian}-ns{nanos}.pcap"));
            write(&path, &bytes);
            let c = source::read_capture(&path).unwrap();
            assert_eq!(c.info.kind, Some(InputKind::Pcap));
            assert!(has_no_metadata_warning(&c));
            assert!(errors(&c).is_empty());
            assert_eq!(c.appearances.len(), 2);
            let a = &c.appearances[0];
            let expected_ticks = if nanos { 1_234_567 } else { 1_234_560 };
            assert_eq!(
                a.time,
                UNIX_EPOCH_FILETIME + 1_600_000_000 * 10_000_000 + expected_ticks
            );
            assert_eq!((a.original_size, a.logged_size), (28, 8));
            assert_eq!(a.payload, packet);
            assert_eq!(a.link_type, LinkType::RawIp);
            assert_eq!(c.appearances[1].index, 1);
            assert_eq!(c.appearances[1].payload, packet[..4]);
            assert_eq!(c.info.start_time, Some(a.time));
            assert_eq!(c.info.end_time, Some(c.appearances[1].time));

            // Cut inside the second record: the first is kept, the cut is named.
            let cut = tmp.path(&format!("cut-be{big_endian}-ns{nanos}.pcap"));
            write(&cut, &bytes[..bytes.len() - 2]);
            let c = source::read_capture(&cut).unwrap();
            assert_eq!(c.appearances.len(), 1);
            let w: Vec<_> = warnings(&c)
                .into_iter()
                .filter(|d| d.location != Location::File)
                .collect();
            assert_eq!(w.len(), 1);
            assert_eq!(w[0].location, Location::Offset(24 + 16 + 8));
        }
    }
}

/// A pcapng block in either byte order, written by hand: `pcapng_blocks` only writes little-endian.
fn block(be: bool, block_type: u32, body: &[u8]) -> Vec<u8> {
    let u32b = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut body = body.to_vec();
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    let total = body.len() as u32 + 12;
    let mut b = u32b(block_type).to_vec();
    b.extend_from_slice(&u32b(total));
    b.extend_from_slice(&body);
    b.extend_from_slice(&u32b(total));
    b
}

fn option(be: bool, code: u16, value: &[u8]) -> Vec<u8> {
    let u16b = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut o = u16b(code).to_vec();
    o.extend_from_slice(&u16b(value.len() as u16));
    o.extend_from_slice(value);
    while o.len() % 4 != 0 {
        o.push(0);
    }
    o
}

/// Two sections, big- then little-endian; SPB, obsolete PB, EPB; power-of-two and
/// power-of-ten if_tsresol; blocks to skip (NRB, ISB, custom, journal).
#[test]
fn big_endian_multi_section_and_every_packet_block() {
    let tmp = TempDir::new("sections");
    let path = tmp.path("sections.pcapng");
    let mut f = Vec::new();
    for be in [true, false] {
        let u16b = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let u32b = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut shb = u32b(0x1A2B_3C4D).to_vec();
        shb.extend_from_slice(&u16b(1));
        shb.extend_from_slice(&u16b(0));
        shb.extend_from_slice(&[0xff; 8]);
        shb.extend(option(be, 3, b"Windows 10 Pro (build 19045)"));
        shb.extend(option(be, 0, b""));
        f.extend(block(be, 0x0A0D_0D0A, &shb));
        // Interface 0: Ethernet, snaplen 10, microseconds. Interface 1: 2^-10 s.
        let mut idb0 = u16b(1).to_vec();
        idb0.extend_from_slice(&u16b(0));
        idb0.extend_from_slice(&u32b(10));
        idb0.extend(option(be, 2, b"eth0"));
        f.extend(block(be, 1, &idb0));
        let mut idb1 = u16b(101).to_vec();
        idb1.extend_from_slice(&u16b(0));
        idb1.extend_from_slice(&u32b(0));
        idb1.extend(option(be, 9, &[0x80 | 10]));
        idb1.extend(option(be, 0, b""));
        f.extend(block(be, 1, &idb1));
        f.extend(block(be, 4, &[0; 8])); // NRB
        f.extend(block(be, 0x0BAD, &[1, 2, 3, 4])); // custom
        f.extend(block(be, 9, b"MESSAGE=x\n")); // journal
                                                // SPB: original 14 bytes, snaplen 10 keeps 10.
        let mut spb = u32b(14).to_vec();
        spb.extend_from_slice(&[7u8; 14]);
        f.extend(block(be, 3, &spb));
        // Obsolete PB on interface 1: ts = 3 × 1024 → 3 s.
        let mut pb = u16b(1).to_vec();
        pb.extend_from_slice(&u16b(0));
        pb.extend_from_slice(&u32b(0));
        pb.extend_from_slice(&u32b(3 * 1024));
        pb.extend_from_slice(&u32b(4));
        pb.extend_from_slice(&u32b(40));
        pb.extend_from_slice(&[0x45, 0, 0, 40]);
        pb.extend(option(be, 1, b"old block"));
        f.extend(block(be, 2, &pb));
        // EPB on interface 0 at 5.000001 s, with a comment and flags (plain file: ignored).
        let mut epb = u32b(0).to_vec();
        epb.extend_from_slice(&u32b(0));
        epb.extend_from_slice(&u32b(5_000_001));
        epb.extend_from_slice(&u32b(3));
        epb.extend_from_slice(&u32b(3));
        epb.extend_from_slice(&[1, 2, 3]);
        epb.push(0);
        epb.extend(option(be, 2, &u32b(2)));
        epb.extend(option(be, 1, b"hello"));
        f.extend(block(be, 6, &epb));
        f.extend(block(be, 5, &[0; 12])); // ISB
    }
    write(&path, &f);
    let c = source::read_capture(&path).unwrap();
    assert_eq!(c.info.kind, Some(InputKind::PcapngPlain));
    assert_eq!(errors(&c), Vec::<&pktmon::Diagnostic>::new());
    assert_eq!(c.info.os_build, Some(19045));
    assert_eq!(c.appearances.len(), 6);
    for (section, a) in c.appearances.chunks(3).enumerate() {
        let [spb, pb, epb] = a else { unreachable!() };
        assert_eq!(spb.index, section as u64 * 3);
        assert_eq!(
            (spb.payload.as_slice(), spb.original_size, spb.logged_size),
            (&[7u8; 10][..], 14, 10)
        );
        assert_eq!(spb.link_type, LinkType::Ethernet);
        assert_eq!(pb.time, UNIX_EPOCH_FILETIME + 3 * 10_000_000);
        assert_eq!(
            (pb.payload.as_slice(), pb.original_size, pb.link_type),
            (&[0x45, 0, 0, 40][..], 40, LinkType::RawIp)
        );
        assert_eq!(epb.time, UNIX_EPOCH_FILETIME + 50_000_010);
        assert_eq!(epb.payload, [1, 2, 3]);
        assert_eq!(epb.direction, None);
    }
    // The second section's SPB has no timestamp: it takes the previous packet's.
    assert_eq!(c.appearances[3].time, c.appearances[2].time);
}

// ------------------------------------------------------------- bad input

/// The converted demikernel file, for damage tests.
fn converted_demikernel(tmp: &TempDir) -> Vec<u8> {
    let path = tmp.path("demikernel.pcapng");
    convert(&Path::new(CAPTURES).join("demikernel-PktMon.etl"), &path);
    std::fs::read(&path).unwrap()
}

#[test]
fn a_file_cut_anywhere_keeps_every_complete_block() {
    let tmp = TempDir::new("cut");
    let bytes = converted_demikernel(&tmp);
    let blocks = blocks(&bytes);
    assert_eq!(blocks.iter().filter(|b| b.1 == 6).count(), 114);
    let boundaries: Vec<usize> = blocks.iter().map(|b| b.0).chain([bytes.len()]).collect();
    let mut cuts: Vec<usize> = (0..=bytes.len()).step_by(7).collect();
    cuts.extend(boundaries.iter().take(8));
    cuts.extend(boundaries.iter().rev().take(3));
    cuts.extend(boundaries.iter().take(8).map(|b| b + 1));
    // Reading is slow in debug builds (comment parsing); spread the cuts over a few threads.
    let workers = 4;
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let (cuts, blocks, bytes, tmp) = (&cuts, &blocks, &bytes, &tmp);
            scope.spawn(move || {
                let path = tmp.path(&format!("cut-{worker}.pcapng"));
                for &cut in cuts.iter().skip(worker).step_by(workers) {
                    check_cut(&path, bytes, blocks, cut);
                }
            });
        }
    });
}

/// Reads `bytes[..cut]` and checks it keeps exactly the complete blocks, with one
/// warning naming the cut block when the cut falls inside one.
fn check_cut(path: &Path, bytes: &[u8], blocks: &[(usize, u32, usize)], cut: usize) {
    write(path, &bytes[..cut]);
    let result = source::read_capture(path);
    if cut < 4 {
        let err = result.unwrap_err();
        assert_eq!(err.file, path.display().to_string(), "cut {cut}");
        return;
    }
    let c = result.unwrap_or_else(|e| panic!("cut {cut}: {e}"));
    let frames = blocks.iter().filter(|b| b.0 + b.2 <= cut && b.1 == 6).count();
    assert_eq!(c.appearances.len(), frames, "cut {cut}");
    assert!(errors(&c).is_empty(), "cut {cut}: {:?}", c.diagnostics);
    let w = warnings(&c);
    match blocks.iter().find(|b| b.0 < cut && cut < b.0 + b.2) {
        Some(&(start, _, len)) => {
            assert_eq!(w.len(), 1, "cut {cut}: {w:?}");
            assert_eq!(w[0].location, Location::Offset(start as u64), "cut {cut}");
            assert!(
                w[0].message.contains(&format!("at offset {start}")),
                "cut {cut}: {}",
                w[0].message
            );
            assert!(w[0].message.contains("cut short"), "cut {cut}");
            if cut >= start + 8 {
                assert!(
                    w[0].message.contains(&format!("a block of {len} bytes")),
                    "{}",
                    w[0].message
                );
            }
        }
        None => assert!(w.is_empty(), "cut {cut} at a block boundary: {w:?}"),
    }
    // The frames kept are the first ones, numbered from 0.
    if let Some(last) = c.appearances.last() {
        assert_eq!(last.index as usize, frames - 1);
    }
}

#[test]
fn a_damaged_block_length_stops_reading_with_an_error() {
    let tmp = TempDir::new("length");
    let bytes = converted_demikernel(&tmp);
    let blocks = blocks(&bytes);
    let epbs: Vec<_> = blocks.iter().filter(|b| b.1 == 6).collect();
    let &&(start, _, len) = epbs.get(10).unwrap();
    let path = tmp.path("damaged.pcapng");
    let set_u32 = |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let damaged_lengths = [
        len as u32 + 2, // not a multiple of 4
        8,              // shorter than any block
        len as u32 + 8, // the trailing length will not match
        0xFFFF_FFF0,    // larger than any block
    ];
    for bad in damaged_lengths {
        let mut b = bytes.clone();
        set_u32(&mut b, start + 4, bad);
        write(&path, &b);
        let c = source::read_capture(&path).unwrap();
        assert_eq!(c.appearances.len(), 10, "length {bad}");
        let e = errors(&c);
        assert_eq!(e.len(), 1, "length {bad}: {:?}", c.diagnostics);
        assert_eq!(e[0].location, Location::Offset(start as u64));
        assert!(e[0].message.contains(&format!("offset {start}")), "{}", e[0].message);
    }
    // A damaged trailing length is caught as well.
    let mut b = bytes.clone();
    set_u32(&mut b, start + len - 4, 0x1234);
    write(&path, &b);
    let c = source::read_capture(&path).unwrap();
    assert_eq!(c.appearances.len(), 10);
    assert_eq!(errors(&c)[0].location, Location::Offset(start as u64));
}

#[test]
fn a_bad_packet_block_is_skipped_and_reading_goes_on() {
    let tmp = TempDir::new("packet");
    let bytes = converted_demikernel(&tmp);
    let blocks = blocks(&bytes);
    let epbs: Vec<_> = blocks.iter().filter(|b| b.1 == 6).collect();
    let path = tmp.path("bad-packet.pcapng");
    // Unknown interface on EPB 5, captured length beyond the block on EPB 20.
    let (s5, s20) = (epbs[5].0, epbs[20].0);
    let mut b = bytes.clone();
    b[s5 + 8..s5 + 12].copy_from_slice(&99u32.to_le_bytes());
    b[s20 + 20..s20 + 24].copy_from_slice(&0xFFFFu32.to_le_bytes());
    write(&path, &b);
    let c = source::read_capture(&path).unwrap();
    assert_eq!(c.appearances.len(), 112);
    let e = errors(&c);
    assert_eq!(e.len(), 2, "{:?}", c.diagnostics);
    assert_eq!(e[0].location, Location::Offset(s5 as u64));
    assert!(e[0].message.contains("interface 99"), "{}", e[0].message);
    assert_eq!(e[1].location, Location::Offset(s20 as u64));
    assert!(e[1].message.contains("captured length 65535"), "{}", e[1].message);
    // Indices stay contiguous; the metadata of the others is intact.
    assert!(c
        .appearances
        .iter()
        .enumerate()
        .all(|(i, a)| a.index == i as u64 && a.group_id.is_some()));
}

#[test]
fn garbage_empty_files_and_directories_are_errors_naming_the_file() {
    let tmp = TempDir::new("garbage");
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect();
    let cases: [(&str, &[u8]); 3] = [
        ("random.pcapng", &random),
        ("empty.pcapng", b""),
        ("short.pcap", b"\xd4\xc3"),
    ];
    for (name, bytes) in cases {
        let path = tmp.path(name);
        write(&path, bytes);
        for err in [
            source::read_capture(&path).unwrap_err(),
            source::pcapng::read(&path, &mut CaptureBuilder::default()).unwrap_err(),
        ] {
            assert_eq!(err.file, path.display().to_string(), "{name}");
            assert!(err.to_string().contains(name), "{err}");
        }
    }
    // A pcapng magic followed by garbage: the first block cannot be believed.
    let mut fake = vec![0x0A, 0x0D, 0x0D, 0x0A];
    fake.extend_from_slice(&random[..200]);
    let path = tmp.path("fake.pcapng");
    write(&path, &fake);
    let err = source::read_capture(&path).unwrap_err();
    assert_eq!(err.location, Location::Offset(0));
    let dir = tmp.path("a-directory");
    std::fs::create_dir(&dir).unwrap();
    for err in [
        source::read_capture(&dir).unwrap_err(),
        source::pcapng::read(&dir, &mut CaptureBuilder::default()).unwrap_err(),
    ] {
        assert_eq!(err.file, dir.display().to_string());
    }
}

/// Random damage anywhere in a real file must never panic.
#[test]
fn flipped_bytes_never_panic() {
    let tmp = TempDir::new("flip");
    let bytes = converted_demikernel(&tmp);
    let path = tmp.path("flipped.pcapng");
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..300 {
        let mut b = bytes.clone();
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed % b.len() as u64) as usize;
            b[at] ^= (seed >> 40) as u8 | 1;
        }
        write(&path, &b);
        let _ = source::read_capture(&path);
    }
}
