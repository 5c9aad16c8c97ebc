//! The scenario generator (`pktmon::generate`): determinism, every form read
//! back to the same appearances, tshark reading every pcapng cleanly, and the
//! ground truth checked against the capture itself. The diagnosis is scored
//! against the ground truth: every planted cause found and nothing else, on
//! every scenario and variant.
//!
//! Run with `--nocapture` to see the scores.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pktmon::diagnose::{Cause, Finding, Locality};
use pktmon::generate::files::{self, Format, Written};
use pktmon::generate::{self as generate, Evidence, GenOptions, GroundTruth, Scenario};
use pktmon::model::*;
use pktmon::packets::Paths;
use pktmon::source::read_capture;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_pktmon-analyzer");

/// A fresh temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("pktmon-gen-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn opts(scenario: Scenario, seed: u64, ipv6: bool, os_build: u32) -> GenOptions {
    GenOptions {
        seed,
        scenario,
        ipv6,
        os_build,
        ..GenOptions::default()
    }
}

/// The variants every scenario is checked in: IPv4 on a 26200 build, IPv6 on 20348 (shared ids).
const VARIANTS: [(bool, u32); 2] = [(false, 26200), (true, 20348)];

fn write_all(dir: &Path, o: &GenOptions) -> Written {
    files::write(o, dir, &Format::ALL).unwrap_or_else(|e| panic!("{}: {e}", o.scenario))
}

fn file_of(w: &Written, f: Format) -> &Path {
    &w.files.iter().find(|(x, _)| *x == f).expect("written").1
}

fn tshark_present() -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        common::skip("program:tshark", "tshark not installed (scripts/setup.sh installs it)");
    }
    ok
}

fn tshark(args: &[&str]) -> (bool, String, String) {
    let o = Command::new("tshark").args(args).output().expect("tshark runs");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

// ---------------------------------------------------------------------------
// Determinism
// ---------------------------------------------------------------------------

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes() {
    let cases = [
        opts(Scenario::Mix, 11, false, 26200),
        opts(Scenario::Mix, 11, true, 20348),
        GenOptions {
            packets: Some(30_000),
            ..opts(Scenario::Baseline, 3, false, 26200)
        },
    ];
    for o in cases {
        let a = TempDir::new("det-a");
        let b = TempDir::new("det-b");
        let c = TempDir::new("det-c");
        let wa = write_all(&a.0, &o);
        let wb = write_all(&b.0, &o);
        let wc = write_all(
            &c.0,
            &GenOptions {
                seed: o.seed + 1,
                ..o.clone()
            },
        );
        let names: Vec<PathBuf> = wa
            .files
            .iter()
            .map(|(_, p)| p.clone())
            .chain([wa.truth_file.clone()])
            .collect();
        assert_eq!(names.len(), 7);
        for p in &names {
            let name = p.file_name().unwrap();
            let x = std::fs::read(p).unwrap();
            let y = std::fs::read(b.0.join(name)).unwrap();
            let z = std::fs::read(c.0.join(name)).unwrap();
            assert!(
                x == y,
                "{}: two runs with seed {} differ",
                name.to_string_lossy(),
                o.seed
            );
            assert!(
                x != z,
                "{}: seeds {} and {} give the same bytes",
                name.to_string_lossy(),
                o.seed,
                o.seed + 1
            );
        }
        assert_eq!(wa.truth, wb.truth);
        assert_ne!(wa.truth, wc.truth);
    }
}

// ---------------------------------------------------------------------------
// Every form reads back to the same appearances
// ---------------------------------------------------------------------------

/// The fields of an appearance a form carries, everything else blanked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    time: FileTime,
    cpu: Option<u16>,
    pid: Option<u32>,
    tid: Option<u32>,
    group_id: Option<u64>,
    pkt_number: Option<u16>,
    appearance: Option<u16>,
    direction: Option<u16>,
    packet_type: Option<u16>,
    component: Option<u16>,
    edge: Option<u16>,
    filter: Option<u16>,
    drop: bool,
    reason: Option<u32>,
    reason_text: Option<String>,
    location: Option<u32>,
    original_size: u32,
    logged_size: u32,
    link_type: LinkType,
    payload: Vec<u8>,
}

fn view(a: &Appearance) -> View {
    View {
        time: a.time,
        cpu: a.cpu,
        pid: a.process_id,
        tid: a.thread_id,
        group_id: a.group_id,
        pkt_number: a.pkt_number,
        appearance: a.appearance,
        direction: a.direction,
        packet_type: a.packet_type,
        component: a.component_id,
        edge: a.edge_id,
        filter: a.filter_id,
        drop: a.is_drop(),
        reason: a.drop.as_ref().and_then(|d| d.reason),
        reason_text: a
            .drop
            .as_ref()
            .and_then(|d| d.reason_text.as_ref())
            .map(|t| t.trim().to_string()),
        location: a.drop.as_ref().and_then(|d| d.location),
        original_size: a.original_size,
        logged_size: a.logged_size,
        link_type: a.link_type,
        payload: a.payload.clone(),
    }
}

/// What the converter's comment line carries: no CPU/process/thread, no edge on drops.
fn as_converter(mut v: View) -> View {
    v.cpu = None;
    v.pid = None;
    v.tid = None;
    if v.drop {
        v.edge = None;
    }
    v
}

/// What etl2txt text carries: everything but the edge of drops (the drop template has none).
fn as_text(mut v: View) -> View {
    if v.drop {
        v.edge = None;
    }
    v
}

/// What etl2pcapng carries: µs times, the group id, drop or not, process and
/// thread, the bytes, and the component as the interface number.
fn as_etl2pcapng(v: View, interfaces: &[(Option<u16>, LinkType)]) -> View {
    let iface = interfaces
        .iter()
        .position(|k| *k == (v.component, v.link_type))
        .expect("interface") as u16;
    View {
        time: v.time / 10 * 10,
        cpu: None,
        pid: v.pid,
        tid: v.tid,
        group_id: v.group_id,
        pkt_number: None,
        appearance: None,
        direction: None,
        packet_type: None,
        component: Some(iface),
        edge: None,
        filter: None,
        drop: v.drop,
        reason: None,
        reason_text: None,
        location: None,
        original_size: v.original_size,
        logged_size: v.logged_size,
        link_type: v.link_type,
        payload: v.payload,
    }
}

fn assert_same(expected: &[View], got: &[View], what: &str) {
    assert_eq!(expected.len(), got.len(), "{what}: number of appearances");
    for (i, (e, g)) in expected.iter().zip(got).enumerate() {
        assert_eq!(e, g, "{what}: frame {} differs", i + 1);
    }
}

/// The fields of a component both forms carry.
fn component_core(c: &Component) -> (u16, String, String, Vec<String>, Option<[u8; 6]>) {
    let mut ips: Vec<String> = c
        .ipv4_addresses()
        .map(|a| a.to_string())
        .chain(c.ipv6_addresses().map(|a| a.to_string()))
        .collect();
    ips.sort();
    (c.id, c.name.clone(), c.description.clone(), ips, c.mac())
}

fn read_clean(p: &Path) -> Capture {
    let c = read_capture(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(
        c.diagnostics.items.is_empty(),
        "{}: {:?}",
        p.display(),
        c.diagnostics.items.iter().map(|d| d.to_string()).collect::<Vec<_>>()
    );
    c
}

#[test]
fn every_form_reads_back_to_the_appearances_of_the_etl() {
    for scenario in Scenario::ALL {
        for (ipv6, build) in VARIANTS {
            let dir = TempDir::new("forms");
            let o = opts(scenario, 5, ipv6, build);
            let w = write_all(&dir.0, &o);
            let what = format!("{scenario} ipv6={ipv6} build {build}");
            let etl = read_clean(file_of(&w, Format::Etl));
            assert_eq!(etl.info.os_build, Some(build));
            assert_eq!(etl.appearances.len() as u64, w.truth.appearances, "{what}");
            let reference: Vec<View> = etl.appearances.iter().map(view).collect();
            // Appearances are numbered in time order.
            assert!(
                etl.appearances.windows(2).all(|p| p[0].time <= p[1].time),
                "{what}: time order"
            );

            let conv = read_clean(file_of(&w, Format::Pcapng));
            assert_eq!(conv.info.kind, Some(InputKind::PcapngConverter));
            assert_same(
                &reference.iter().cloned().map(as_converter).collect::<Vec<_>>(),
                &conv.appearances.iter().map(view).collect::<Vec<_>>(),
                &format!("{what}: converter pcapng"),
            );

            for f in [Format::Txt, Format::TxtUtf8] {
                let text = read_clean(file_of(&w, f));
                assert_eq!(text.info.kind, Some(InputKind::Text));
                assert_eq!(text.info.timezone_bias_minutes, etl.info.timezone_bias_minutes);
                assert_eq!(
                    (
                        text.info.os_build,
                        text.info.processors,
                        text.info.start_time,
                        text.info.end_time
                    ),
                    (
                        etl.info.os_build,
                        etl.info.processors,
                        etl.info.start_time,
                        etl.info.end_time
                    ),
                    "{what}: header line"
                );
                assert_same(
                    &reference.iter().cloned().map(as_text).collect::<Vec<_>>(),
                    &text.appearances.iter().map(view).collect::<Vec<_>>(),
                    &format!("{what}: {}", f.name()),
                );
                assert_eq!(text.components, etl.components, "{what}: {} components", f.name());
                assert_eq!(text.drop_counters, etl.drop_counters, "{what}: drop counters");
                assert_eq!(text.flow_counters, etl.flow_counters, "{what}: flow counters");
            }

            let e2p = read_clean(file_of(&w, Format::Etl2pcapng));
            assert_eq!(e2p.info.kind, Some(InputKind::PcapngEtl2pcapng));
            let mut interfaces: Vec<(Option<u16>, LinkType)> = Vec::new();
            for a in &etl.appearances {
                if !interfaces.contains(&(a.component_id, a.link_type)) {
                    interfaces.push((a.component_id, a.link_type));
                }
            }
            assert_same(
                &reference
                    .iter()
                    .cloned()
                    .map(|v| as_etl2pcapng(v, &interfaces))
                    .collect::<Vec<_>>(),
                &e2p.appearances.iter().map(view).collect::<Vec<_>>(),
                &format!("{what}: etl2pcapng"),
            );
            for (i, (comp, _)) in interfaces.iter().enumerate() {
                let real = etl.components.get(comp.unwrap()).unwrap();
                let named = e2p.components.get(i as u16).unwrap();
                assert_eq!(
                    (&named.name, &named.description),
                    (&real.name, &real.description),
                    "{what}: etl2pcapng interface {i}"
                );
            }
            // The converter keeps the components it used, with their addresses and MAC.
            for c in conv.components.iter() {
                let real = etl.components.get(c.id).unwrap();
                assert_eq!(
                    component_core(c),
                    component_core(real),
                    "{what}: converter component {}",
                    c.id
                );
            }

            // `convert` of the generated ETL gives the generated pcapng, byte for byte.
            let converted = dir.0.join("converted.pcapng");
            let out = Command::new(BIN)
                .args([
                    "convert",
                    file_of(&w, Format::Etl).to_str().unwrap(),
                    "-o",
                    converted.to_str().unwrap(),
                ])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert!(
                std::fs::read(&converted).unwrap() == std::fs::read(file_of(&w, Format::Pcapng)).unwrap(),
                "{what}: convert of the ETL differs from the generated pcapng"
            );
        }
    }
}

#[test]
fn the_etl_has_the_shape_pktmon_writes() {
    let dir = TempDir::new("shape");
    let w = files::write(&opts(Scenario::Mix, 2, false, 26200), &dir.0, &[Format::Etl]).unwrap();
    let etl = read_clean(file_of(&w, Format::Etl));
    assert_eq!(etl.info.processors, Some(4));
    assert!(etl.info.compressed_buffers >= 1 && etl.info.compressed_buffers + 1 == etl.info.buffers);
    assert_eq!(etl.info.logger_name.as_deref(), Some("Relogger"));
    assert!(etl.info.os_description.is_some());
    // The embedded DropReason map names the planted reasons.
    assert!(etl.drops().all(|a| a
        .drop
        .as_ref()
        .unwrap()
        .reason_text
        .as_deref()
        .is_some_and(|t| t.ends_with(' '))));
    // Events come from several CPUs; on 26200 every event has its own id.
    let cpus: std::collections::BTreeSet<u16> = etl.appearances.iter().filter_map(|a| a.cpu).collect();
    assert!(cpus.len() >= 3, "{cpus:?}");
    let ids: std::collections::BTreeSet<u64> = etl.appearances.iter().filter_map(|a| a.group_id).collect();
    assert_eq!(ids.len(), etl.appearances.len());
    assert!(etl.appearances.iter().all(|a| a.appearance == Some(0)));
    // Packets are followed along 1–6 hops at 1–4 components, a few µs apart.
    let paths = Paths::build(&etl.appearances, etl.info.os_build);
    assert!(paths.packets.len() * 3 < etl.appearances.len());
    for p in &paths.packets {
        assert!((1..=6).contains(&p.hops.len()), "{p:?}");
        assert!(p.hops.iter().all(|h| h.latency < 100), "{p:?}");
    }
    // Rundown: components with properties, drop and flow counters.
    assert!(etl.components.len() >= 8);
    assert!(etl.components.get(13).unwrap().mac().is_some());
    assert!(!etl.flow_counters.is_empty() && !etl.drop_counters.is_empty());
    let rx: u64 = etl
        .flow_counters
        .iter()
        .filter(|f| f.component_id == 13)
        .map(|f| f.packets_in)
        .sum();
    let nic_rx = etl
        .appearances
        .iter()
        .filter(|a| a.component_id == Some(13) && a.direction == Some(3) && !a.is_drop())
        .count() as u64;
    assert_eq!(rx, nic_rx);

    // 20348: shared ids, Appearance 1, 2, …
    let w = files::write(&opts(Scenario::Mix, 2, false, 20348), &dir.0, &[Format::Etl]).unwrap();
    let etl = read_clean(file_of(&w, Format::Etl));
    let paths = Paths::build(&etl.appearances, etl.info.os_build);
    for p in &paths.packets {
        let ids: std::collections::BTreeSet<Option<u64>> =
            p.hops.iter().map(|h| etl.appearances[h.appearance].group_id).collect();
        assert_eq!(ids.len(), 1);
        let numbers: Vec<u16> = p
            .hops
            .iter()
            .map(|h| &etl.appearances[h.appearance])
            .filter(|a| !a.is_drop())
            .map(|a| a.appearance.unwrap())
            .collect();
        assert_eq!(numbers, (1..=numbers.len() as u16).collect::<Vec<_>>());
    }
}

// ---------------------------------------------------------------------------
// tshark
// ---------------------------------------------------------------------------

#[test]
fn tshark_reads_every_generated_pcapng_without_errors() {
    if !tshark_present() {
        return;
    }
    for scenario in Scenario::ALL {
        for (ipv6, build) in VARIANTS {
            let dir = TempDir::new("tshark");
            let w = files::write(
                &opts(scenario, 9, ipv6, build),
                &dir.0,
                &[Format::Pcapng, Format::Etl2pcapng],
            )
            .unwrap();
            for (_, p) in &w.files {
                let f = p.to_str().unwrap();
                let (ok, out, err) = tshark(&["-r", f, "-q", "-z", "expert,error"]);
                assert!(ok, "{f}: {err}");
                // The expert table lists its severities; an empty one has no "Errors" section.
                assert!(!out.contains("Errors ("), "{f}: {out}");
                let (ok, out, err) = tshark(&["-r", f, "-Y", "_ws.malformed || _ws.expert.severity == error"]);
                assert!(ok, "{f}: {err}");
                assert!(out.trim().is_empty(), "{f}: {out}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Ground truth against the capture
// ---------------------------------------------------------------------------

/// The frames of the dedup copy, in terms of frames of the full capture.
fn dedup_map(cap: &Capture) -> BTreeMap<u64, u64> {
    let paths = Paths::build(&cap.appearances, cap.info.os_build);
    let mut firsts: Vec<usize> = paths
        .packets
        .iter()
        .map(|p| {
            // The first appearance in time, which the grouper saw first.
            p.hops.iter().map(|h| h.appearance).min().unwrap()
        })
        .collect();
    firsts.sort_unstable();
    firsts
        .iter()
        .enumerate()
        .map(|(k, &i)| (i as u64 + 1, k as u64 + 1))
        .collect()
}

fn tcp_of(a: &Appearance) -> Option<pktmon::flows::TcpView<'_>> {
    let v = pktmon::flows::parse_with_len(a.link_type, &a.payload, a.original_size)?;
    match v.transport {
        pktmon::flows::Transport::Tcp(t) => Some(t),
        _ => None,
    }
}

fn ip_of(a: &Appearance) -> Option<pktmon::flows::IpHeader> {
    pktmon::flows::parse_with_len(a.link_type, &a.payload, a.original_size)?.ip
}

/// A planted adapter counter: the capture has that adapter (description,
/// ifIndex, MAC), and the snapshots beside it hold the counter before and after.
fn check_adapter_counter(e: &Evidence, cap: &pktmon::Capture, dir: &Path, stem: &str, what: &str) {
    let Evidence::AdapterCounter {
        adapter,
        if_index,
        mac,
        counter,
        before,
        after,
        ..
    } = e
    else {
        return;
    };
    assert!(after > before, "{what}: the counter rises");
    let nic = cap
        .components
        .iter()
        .find(|c| &c.description == adapter)
        .unwrap_or_else(|| panic!("{what}: no component {adapter}"));
    // The converter's pcapng names an interface by its description and MAC; it carries no ifIndex.
    if let Some(i) = nic.if_index() {
        assert_eq!(i, *if_index, "{what}");
    }
    assert_eq!(nic.mac(), pktmon::nic::parse_mac(mac), "{what}");
    for (which, value) in [("before", before), ("after", after)] {
        let p = dir.join(format!("{stem}.nic-{which}.json"));
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(
            &bytes[..2],
            &[0xFF, 0xFE],
            "{what}: UTF-16LE with BOM, as PowerShell 5.1 writes it"
        );
        let snaps = pktmon::nic::read(&p).unwrap();
        let a = &snaps[0].adapters[0];
        assert_eq!(a.description.as_deref(), Some(adapter.as_str()));
        let c = pktmon::nic::Counter::LOSS
            .into_iter()
            .find(|c| c.property() == counter)
            .unwrap();
        assert_eq!(a.counters.get(&c), Some(value), "{what}: {which}");
    }
}

/// Checks every planted item of a capture, in the capture and with tshark.
fn check_truth(truth: &GroundTruth, pcapng: &Path, dir: &Path, with_tshark: bool) {
    let cap = read_clean(pcapng);
    let what = format!("{} ipv6={} build {}", truth.scenario, truth.ipv6, truth.os_build);
    let frame = |f: u64| -> &Appearance {
        assert!(
            f >= 1 && f <= cap.appearances.len() as u64,
            "{what}: frame {f} is not in the capture"
        );
        &cap.appearances[f as usize - 1]
    };
    let mut icmp_frames = Vec::new();
    let mut retrans = Vec::new();
    for p in &truth.planted {
        let counters_only = p.evidence.iter().all(|e| matches!(e, Evidence::AdapterCounter { .. }));
        assert!(!p.frames.is_empty() || counters_only, "{what}: {p:?}");
        assert!(!p.evidence.is_empty());
        for e in &p.evidence {
            if let Evidence::AdapterCounter { .. } = e {
                check_adapter_counter(e, &cap, dir, &truth.scenario, &what);
                continue;
            }
            let a = frame(e.frame());
            match e {
                Evidence::Drop {
                    reason,
                    location,
                    component,
                    ..
                } => {
                    let d = a
                        .drop
                        .as_ref()
                        .unwrap_or_else(|| panic!("{what}: frame {} is no drop", e.frame()));
                    assert_eq!(d.reason, Some(*reason), "{what}: frame {}", e.frame());
                    assert_eq!(format!("0x{:08X}", d.location.unwrap()), *location);
                    assert_eq!(a.component_id, Some(*component));
                    assert_eq!(
                        pktmon::diagnose::Cause::from(pktmon::pktmon::catalog::drop_category(Some(*reason), None)),
                        if *reason == 1210 { Cause::SessionLoss } else { p.cause },
                        "{what}: the reason's category is the planted cause"
                    );
                }
                Evidence::Icmp {
                    v6,
                    icmp_type,
                    code,
                    mtu,
                    frame: f,
                } => {
                    let v = pktmon::flows::parse_with_len(a.link_type, &a.payload, a.original_size).unwrap();
                    let pktmon::flows::Transport::Icmp(i) = v.transport else {
                        panic!("{what}: frame {f} is no ICMP")
                    };
                    assert_eq!((i.v6, i.icmp_type, i.code), (*v6, *icmp_type, *code));
                    assert_eq!(i.mtu(), *mtu);
                    assert!(i.quoted().is_some(), "{what}: frame {f} quotes a packet");
                    icmp_frames.push((*f, *v6, *icmp_type, *code));
                }
                Evidence::Retransmission {
                    frame: f,
                    original_frame,
                    trigger,
                } => {
                    let t = tcp_of(a).unwrap();
                    assert!(t.segment_len > 0, "{what}: frame {f} carries data");
                    if original_frame != f {
                        let o = tcp_of(frame(*original_frame)).unwrap();
                        assert_eq!((o.src_port, o.seq), (t.src_port, t.seq), "{what}: frame {f}");
                        assert!(frame(*original_frame).time < a.time);
                    }
                    // Sent by the host (Tx), or by the peer (seen when it arrives).
                    retrans.push((*f, trigger.clone(), a.direction == Some(4)));
                }
                Evidence::UnansweredSyn { frame: f } => {
                    let t = tcp_of(a).unwrap();
                    assert!(t.has(pktmon::flows::tcp_flags::SYN) && !t.has(pktmon::flows::tcp_flags::ACK));
                    let ip = ip_of(a).unwrap();
                    // No SYN/ACK from the server anywhere.
                    let answered = cap.appearances.iter().any(|b| {
                        ip_of(b).is_some_and(|i| i.src == ip.dst)
                            && tcp_of(b)
                                .is_some_and(|u| u.dst_port == t.src_port && u.has(pktmon::flows::tcp_flags::SYN))
                    });
                    assert!(!answered, "{what}: the SYN of frame {f} was answered");
                }
                Evidence::UnansweredResolution { frame: f, target } => {
                    let v = pktmon::flows::parse_with_len(a.link_type, &a.payload, a.original_size).unwrap();
                    match v.transport {
                        pktmon::flows::Transport::Arp(arp) => {
                            assert_eq!(arp.target_ip.to_string(), *target, "{what}: frame {f}");
                            let replied = cap.appearances.iter().any(|b| {
                                matches!(
                                    pktmon::flows::parse(b.link_type, &b.payload).map(|v| v.transport),
                                    Some(pktmon::flows::Transport::Arp(r)) if r.operation == 2
                                )
                            });
                            assert!(!replied);
                        }
                        pktmon::flows::Transport::Icmp(i) => {
                            assert_eq!(
                                (i.icmp_type, i.nd_target().map(|t| t.to_string())),
                                (135, Some(target.clone()))
                            );
                            let advertised = cap.appearances.iter().any(|b| {
                                matches!(
                                    pktmon::flows::parse(b.link_type, &b.payload).map(|v| v.transport),
                                    Some(pktmon::flows::Transport::Icmp(r)) if r.icmp_type == 136
                                )
                            });
                            assert!(!advertised);
                        }
                        _ => panic!("{what}: frame {f} is no ARP or NS"),
                    }
                }
                Evidence::Reset { frame: f, ttl, .. } => {
                    let t = tcp_of(a).unwrap();
                    assert!(t.has(pktmon::flows::tcp_flags::RST), "{what}: frame {f}");
                    assert_eq!(ip_of(a).unwrap().ttl, *ttl);
                }
                Evidence::BadChecksum { frame: f, layer } => {
                    assert!(a.logged_size == a.original_size, "{what}: frame {f} is logged whole");
                    let net = &a.payload[pktmon::packets::network_offset(a.link_type, &a.payload)..];
                    let ok = match layer.as_str() {
                        "ipv4" => checksum(&net[..20]) == 0,
                        _ => {
                            let ip = ip_of(a).unwrap();
                            let hl = if ip.is_v6() { 40 } else { 20 };
                            tcp_checksum_ok(&ip, &net[hl..])
                        }
                    };
                    assert!(!ok, "{what}: the {layer} checksum of frame {f} is right");
                }
                Evidence::AdapterCounter { .. } => unreachable!("checked above"),
            }
        }
        // The flow names a real flow of the capture.
        if let Some(flow) = &p.flow {
            assert!(flow.contains(" → "), "{flow}");
        }
    }
    if !with_tshark {
        return;
    }
    // ICMP messages as tshark sees them.
    let f = pcapng.to_str().unwrap();
    let (ok, out, err) = tshark(&[
        "-r",
        f,
        "-Y",
        "icmp || icmpv6",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "icmp.type",
        "-e",
        "icmp.code",
        "-e",
        "icmpv6.type",
        "-e",
        "icmpv6.code",
    ]);
    assert!(ok, "{err}");
    let seen: BTreeMap<u64, (String, String)> = out
        .lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let n = c.first()?.parse().ok()?;
            let (t, code) = if c.get(1).is_some_and(|s| !s.is_empty()) {
                (c[1], c[2])
            } else {
                (c[3], c[4])
            };
            Some((
                n,
                (t.split(',').next()?.to_string(), code.split(',').next()?.to_string()),
            ))
        })
        .collect();
    for (frame, _v6, ty, code) in &icmp_frames {
        assert_eq!(
            seen.get(frame),
            Some(&(ty.to_string(), code.to_string())),
            "{what}: tshark's view of ICMP frame {frame}"
        );
    }
    // Retransmissions, as tshark's TCP analysis sees them on the deduplicated copy.
    if retrans.is_empty() {
        return;
    }
    let dedup = dir.join(format!("{}.dedup.pcapng", truth.scenario));
    let out = Command::new(BIN)
        .args(["dedup", f, "-o", dedup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let map = dedup_map(&cap);
    let (ok, out, err) = tshark(&[
        "-r",
        dedup.to_str().unwrap(),
        "-Y",
        "tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.out_of_order",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "tcp.analysis.retransmission",
        "-e",
        "tcp.analysis.fast_retransmission",
        "-e",
        "tcp.analysis.out_of_order",
    ]);
    assert!(ok, "{err}");
    let flagged: BTreeMap<u64, [bool; 3]> = out
        .lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let n = c.first()?.parse().ok()?;
            let set = |i: usize| c.get(i).is_some_and(|s| !s.is_empty());
            Some((n, [set(1), set(2), set(3)]))
        })
        .collect();
    for (f, trigger, sent_by_host) in retrans {
        let d = map[&f];
        let flags = flagged.get(&d).copied().unwrap_or_default();
        let ok = if sent_by_host && trigger != "pmtu" {
            flags[0] || flags[1]
        } else {
            // A peer's copy arrives about one RTT after the host's duplicate ACKs, and
            // a copy sent smaller after ICMP packet too big goes out a fraction of an RTT
            // after the first: tshark calls that out-of-order when it comes sooner than
            // the handshake's RTT.
            flags[0] || flags[1] || flags[2]
        };
        assert!(
            ok,
            "{what}: tshark does not see frame {f} (dedup frame {d}, {trigger}) as a retransmission"
        );
        if trigger == "fast" && sent_by_host {
            assert!(flags[1], "{what}: frame {f} is a fast retransmission for tshark too");
        }
    }
}

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while s >> 16 != 0 {
        s = (s & 0xFFFF) + (s >> 16);
    }
    !(s as u16)
}

fn tcp_checksum_ok(ip: &pktmon::flows::IpHeader, seg: &[u8]) -> bool {
    let mut pseudo = Vec::new();
    match (ip.src, ip.dst) {
        (std::net::IpAddr::V4(s), std::net::IpAddr::V4(d)) => {
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&[0, 6]);
            pseudo.extend_from_slice(&(seg.len() as u16).to_be_bytes());
        }
        (std::net::IpAddr::V6(s), std::net::IpAddr::V6(d)) => {
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&(seg.len() as u32).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, 6]);
        }
        _ => unreachable!(),
    }
    pseudo.extend_from_slice(seg);
    checksum(&pseudo) == 0
}

#[test]
fn the_ground_truth_of_every_scenario_is_in_the_capture() {
    let with_tshark = tshark_present();
    for scenario in Scenario::ALL {
        for (ipv6, build) in VARIANTS {
            let dir = TempDir::new("truth");
            let o = opts(scenario, 21, ipv6, build);
            let w = files::write(&o, &dir.0, &[Format::Pcapng]).unwrap();
            let json: GroundTruth = serde_json::from_str(&std::fs::read_to_string(&w.truth_file).unwrap()).unwrap();
            assert_eq!(json, w.truth);
            match scenario {
                Scenario::Baseline => assert!(w.truth.planted.is_empty()),
                Scenario::Mix => assert!(w.truth.planted.len() >= 18),
                _ => assert!(!w.truth.planted.is_empty(), "{scenario}"),
            }
            check_truth(&w.truth, file_of(&w, Format::Pcapng), &dir.0, with_tshark);
        }
    }
}

#[test]
fn planted_causes_cover_every_local_and_remote_cause() {
    let dir = TempDir::new("cover");
    for (ipv6, build) in VARIANTS {
        let w = files::write(&opts(Scenario::Mix, 1, ipv6, build), &dir.0, &[Format::Pcapng]).unwrap();
        let kinds: std::collections::BTreeSet<(Locality, Cause)> =
            w.truth.planted.iter().map(|p| (p.locality, p.cause)).collect();
        for want in [
            (Locality::Local, Cause::Policy),
            (Locality::Local, Cause::Resources),
            (Locality::Local, Cause::AddressResolution),
            (Locality::Local, Cause::NoRoute),
            (Locality::Local, Cause::InvalidPacket),
            (Locality::Local, Cause::Unreachable),
            (Locality::Remote, Cause::Congestion),
            (Locality::Remote, Cause::Policy),
            (Locality::Remote, Cause::Unreachable),
            (Locality::Remote, Cause::SessionLoss),
            (Locality::Remote, Cause::Mtu),
        ] {
            assert!(kinds.contains(&want), "{want:?} not planted");
        }
    }
}

#[test]
fn at_scale_the_capture_is_filled_with_ordinary_flows() {
    let dir = TempDir::new("scale");
    let o = GenOptions {
        packets: Some(200_000),
        ..opts(Scenario::Mix, 4, false, 26200)
    };
    let w = files::write(&o, &dir.0, &[Format::Pcapng]).unwrap();
    assert!(
        (200_000..210_000).contains(&w.truth.appearances),
        "{} appearances",
        w.truth.appearances
    );
    check_truth(&w.truth, file_of(&w, Format::Pcapng), &dir.0, false);
}

// ---------------------------------------------------------------------------
// The diagnosis against the ground truth
// ---------------------------------------------------------------------------

/// A finding from `diagnose --json` output (the fields scoring needs).
fn finding(v: &serde_json::Value) -> Finding {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    Finding {
        locality: serde_json::from_value(v["locality"].clone()).unwrap(),
        cause: serde_json::from_value(v["cause"].clone()).unwrap(),
        symptom: s("symptom"),
        count: v["count"].as_u64().unwrap_or(0),
        flow: v["flow"].as_str().map(str::to_string),
        flow_key: None,
        first_time: s("first_time"),
        last_time: s("last_time"),
        first: 0,
        frames: v["frames"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_u64()).collect())
            .unwrap_or_default(),
        drops: Vec::new(),
        display_filter: s("display_filter"),
        pktmon_filter: None,
        explanation: s("explanation"),
        next_step: s("next_step"),
        tcpip: None,
        ..Default::default()
    }
}

#[test]
fn diagnosis_precision_and_recall_per_scenario() {
    let mut total = generate::Score::default();
    let mut lines = Vec::new();
    for scenario in Scenario::ALL {
        for (ipv6, build) in VARIANTS {
            let dir = TempDir::new("score");
            let w = files::write(&opts(scenario, 31, ipv6, build), &dir.0, &[Format::Etl]).unwrap();
            let out = Command::new(BIN)
                .args(["diagnose", "--json", "-", file_of(&w, Format::Etl).to_str().unwrap()])
                .args(&w.snapshots)
                .output()
                .unwrap();
            assert!(
                out.status.code().is_some_and(|c| c <= 1),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let findings: Vec<Finding> = json["findings"].as_array().unwrap().iter().map(finding).collect();
            let s = generate::score(&w.truth, &findings);
            // Every planted cause is found with its locality and cause, and nothing
            // unplanted is reported.
            assert_eq!(
                (s.total.recalled, s.total.correct),
                (s.total.planted, s.total.findings),
                "{}: {s}",
                scenario.name()
            );
            lines.push(format!(
                "{:<20} {:<4} {:>5}  planted {:>2} recalled {:>2}  findings {:>2} correct {:>2}  precision {:.2} recall {:.2}",
                scenario.name(),
                if ipv6 { "v6" } else { "v4" },
                build,
                s.total.planted,
                s.total.recalled,
                s.total.findings,
                s.total.correct,
                s.total.precision(),
                s.total.recall()
            ));
            if scenario == Scenario::Mix {
                eprintln!("mix ({}, {build}) per cause:\n{s}", if ipv6 { "IPv6" } else { "IPv4" });
            }
            for (c, x) in &s.per_cause {
                let e = total.per_cause.entry(*c).or_default();
                e.planted += x.planted;
                e.recalled += x.recalled;
                e.findings += x.findings;
                e.correct += x.correct;
            }
        }
    }
    eprintln!("diagnose vs ground truth, per scenario:");
    for l in lines {
        eprintln!("  {l}");
    }
    for x in total.per_cause.values() {
        total.total.planted += x.planted;
        total.total.recalled += x.recalled;
        total.total.findings += x.findings;
        total.total.correct += x.correct;
    }
    eprintln!("all scenarios, per cause:\n{total}");
    assert!(
        total.total.recall() >= 0.95 && total.total.precision() >= 0.95,
        "{total}"
    );
}

#[test]
fn score_matches_by_locality_cause_and_flow() {
    let truth = GroundTruth {
        scenario: "x".into(),
        seed: 0,
        os_build: 26200,
        ipv6: false,
        appearances: 0,
        packets: 0,
        start_time: String::new(),
        end_time: String::new(),
        planted: vec![generate::Planted {
            locality: Locality::Local,
            cause: Cause::Policy,
            flow: Some("TCP 10.0.0.1:50000 → 10.0.0.2:8443".into()),
            frames: vec![1],
            description: String::new(),
            evidence: Vec::new(),
        }],
    };
    let f = |l, c, flow: Option<&str>| Finding {
        locality: l,
        cause: c,
        symptom: "local drop".into(),
        count: 1,
        flow: flow.map(str::to_string),
        flow_key: None,
        first_time: String::new(),
        last_time: String::new(),
        first: 0,
        frames: Vec::new(),
        drops: Vec::new(),
        display_filter: String::new(),
        pktmon_filter: None,
        explanation: String::new(),
        next_step: String::new(),
        tcpip: None,
        ..Default::default()
    };
    // Same flow written the other way round still matches.
    let s = generate::score(
        &truth,
        &[
            f(
                Locality::Local,
                Cause::Policy,
                Some("TCP 10.0.0.2:8443 → 10.0.0.1:50000"),
            ),
            f(
                Locality::Remote,
                Cause::Policy,
                Some("TCP 10.0.0.1:50000 → 10.0.0.2:8443"),
            ),
            f(
                Locality::Local,
                Cause::Policy,
                Some("TCP 10.0.0.1:50001 → 10.0.0.2:8443"),
            ),
        ],
    );
    assert_eq!(
        (s.total.planted, s.total.recalled, s.total.findings, s.total.correct),
        (1, 1, 3, 1)
    );
    assert_eq!(s.unexpected.len(), 2);
    let s = generate::score(&truth, &[]);
    assert_eq!((s.total.recall(), s.total.precision()), (0.0, 1.0));
    assert_eq!(s.missed.len(), 1);
}
