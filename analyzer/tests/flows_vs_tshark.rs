//! The flow analyzer (`pktmon::flows`) against tshark 4.0 on the real captures
//! recorded between network namespaces (`captures/recorded/`, made by
//! `scripts/record/record.sh`), and on hand-built packets for every symptom
//! kind, IPv4 and IPv6, with and without a VLAN tag.
//!
//! On the recorded files, every tshark filter's frame set must equal the frames
//! of our symptoms; where a number legitimately differs the test asserts the
//! exact difference and says why.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use etherparse::PacketBuilder;
use pktmon::flows::*;
use pktmon::model::{FileTime, LinkType};
use pktmon::packets::Paths;
use pktmon::source::read_capture;

mod common;

const RECORDED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../captures/recorded");
const MS: FileTime = 10_000;

// ---------------------------------------------------------------------------
// Recorded captures vs tshark
// ---------------------------------------------------------------------------

/// Reads a recorded capture and feeds it to the analyzer, one packet per frame.
///
/// These files come from tcpdump on one interface: every frame is its own packet
/// and its only appearance. `Paths::build` is not used to get there because its
/// content grouping for captures without PktMon ids (identical first 48
/// network-layer bytes within 10 ms) merges distinct IPv6 pure ACKs of one
/// connection (same 40-byte header, same ports and sequence number):
/// pmtu-frag-needed.pcap has about 20 frames folded into one packet that way. The
/// number of such merges is printed, not asserted (packets.rs decides it).
fn analyze_file(path: &Path) -> FlowReport {
    let cap = read_capture(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let paths = Paths::build(&cap.appearances, cap.info.os_build);
    let merged = paths.packets.iter().filter(|p| p.hops.len() > 1).count();
    if merged > 0 {
        eprintln!(
            "{}: Paths::build grouped {merged} packets of several frames",
            path.display()
        );
    }
    let mut a = FlowAnalyzer::new();
    for (i, ap) in cap.appearances.iter().enumerate() {
        a.push(&PacketInput {
            packet: i,
            appearance: ap.index,
            time: ap.time,
            link_type: ap.link_type,
            bytes: &ap.payload,
            original_len: ap.original_size,
        });
    }
    a.finish()
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

/// Every field this test reads from tshark, per frame.
const FIELDS: &[&str] = &[
    "frame.time_epoch",
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission",
    "tcp.analysis.out_of_order",
    "tcp.analysis.duplicate_ack",
    "tcp.analysis.duplicate_ack_num",
    "tcp.analysis.lost_segment",
    "tcp.analysis.ack_lost_segment",
    "tcp.analysis.zero_window",
    "tcp.analysis.window_full",
    "tcp.analysis.zero_window_probe",
    "tcp.analysis.keep_alive",
    "tcp.analysis.window_update",
    "tcp.flags.reset",
    "icmp.type",
    "icmp.code",
    "icmp.mtu",
    "icmpv6.type",
    "icmpv6.code",
    "icmpv6.mtu",
    "udp.srcport",
    "arp.opcode",
    "arp.src.proto_ipv4",
    "arp.dst.proto_ipv4",
    "ipv6.src",
    "icmpv6.nd.ns.target_address",
    "icmpv6.nd.na.target_address",
];

/// One frame's fields: every occurrence of each (quoted packets of ICMP errors included).
struct Row(Vec<Vec<String>>);

impl Row {
    fn all(&self, field: &str) -> &[String] {
        &self.0[FIELDS.iter().position(|f| *f == field).expect("known field")]
    }
    fn has(&self, field: &str) -> bool {
        !self.all(field).is_empty()
    }
    /// Display-filter semantics: some occurrence equals the value.
    fn is(&self, field: &str, value: &str) -> bool {
        self.all(field).iter().any(|v| v == value)
    }
    fn first(&self, field: &str) -> &str {
        self.all(field).first().map(String::as_str).unwrap_or("")
    }
}

/// tshark's view of one file: every frame's fields (one `-T fields` pass), and
/// how many frames the display filters that are more than a field's presence
/// select (`-Y`), to check that the fields are read the way the filter means.
struct Tshark {
    file: PathBuf,
    counts: BTreeMap<String, u64>,
    rows: BTreeMap<u64, Row>,
}

impl Tshark {
    fn run(file: &Path, filters: &[&str]) -> Tshark {
        // Frames each display filter selects, by tshark itself (one process per filter, in parallel).
        let counts = std::thread::scope(|scope| {
            let handles: Vec<_> = filters
                .iter()
                .map(|f| {
                    let h = scope.spawn(move || {
                        let out = Command::new("tshark")
                            .arg("-n")
                            .arg("-r")
                            .arg(file)
                            .args(["-Y", f, "-T", "fields", "-e", "frame.number"])
                            .output()
                            .expect("tshark runs");
                        assert!(
                            out.status.success(),
                            "tshark -Y {f}: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                        String::from_utf8_lossy(&out.stdout)
                            .lines()
                            .filter(|l| !l.is_empty())
                            .count() as u64
                    });
                    (f.to_string(), h)
                })
                .collect();
            handles.into_iter().map(|(f, h)| (f, h.join().unwrap())).collect()
        });

        let mut cmd = Command::new("tshark");
        cmd.arg("-n")
            .arg("-r")
            .arg(file)
            .args(["-T", "fields", "-E", "separator=\t", "-E", "occurrence=a"]);
        cmd.args(["-E", "aggregator=;", "-e", "frame.number"]);
        for f in FIELDS {
            cmd.args(["-e", f]);
        }
        let out = cmd.output().expect("tshark runs");
        assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
        let rows = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let mut it = l.split('\t');
                let frame = it.next().unwrap().parse().unwrap();
                let values = it
                    .map(|v| v.split(';').filter(|x| !x.is_empty()).map(str::to_string).collect())
                    .collect::<Vec<Vec<String>>>();
                assert_eq!(values.len(), FIELDS.len());
                (frame, Row(values))
            })
            .collect();
        Tshark {
            file: file.to_path_buf(),
            counts,
            rows,
        }
    }

    /// Frames whose fields satisfy `pred`, which must be what `filter` selects
    /// (checked against `tshark -Y filter` where the filter is more than a field).
    fn frames(&self, filter: &str, pred: impl Fn(&Row) -> bool) -> BTreeSet<u64> {
        let set: BTreeSet<u64> = self.rows.iter().filter(|(_, r)| pred(r)).map(|(f, _)| *f).collect();
        if let Some(count) = self.counts.get(filter) {
            assert_eq!(set.len() as u64, *count, "{}: frames for {filter}", self.file.display());
        } else {
            assert!(!filter.contains(' '), "{filter}: not checked with -Y");
        }
        set
    }

    /// Compares the frames a filter selects with ours.
    fn check(&self, name: &str, filter: &str, pred: impl Fn(&Row) -> bool, ours: &BTreeSet<u64>) -> BTreeSet<u64> {
        let theirs = self.frames(filter, pred);
        assert_eq!(
            ours,
            &theirs,
            "{}: {name} ({filter}): ours − tshark = {:?}, tshark − ours = {:?}",
            self.file.display(),
            ours.difference(&theirs).collect::<Vec<_>>(),
            theirs.difference(ours).collect::<Vec<_>>()
        );
        theirs
    }
}

fn frames(report: &FlowReport, pred: impl Fn(&SymptomKind) -> bool) -> BTreeSet<u64> {
    report
        .symptoms
        .iter()
        .filter(|s| pred(&s.kind))
        .map(|s| s.appearance + 1)
        .collect()
}

/// Requests no reply answered within 1 s: `(frame, time, is_request, target, replier)`.
fn unanswered(events: &[(u64, f64, bool, String, String)]) -> BTreeSet<u64> {
    events
        .iter()
        .filter(|(_, _, req, target, _)| *req && !target.is_empty())
        .filter(|(_, t, _, target, _)| {
            !events
                .iter()
                .any(|(_, t2, req2, _, replier)| !req2 && replier == target && *t2 >= *t && *t2 - *t <= 1.0)
        })
        .map(|(f, ..)| *f)
        .collect()
}

struct Recorded {
    name: &'static str,
    /// Assertions on what the scenario shows.
    shows: fn(&FlowReport),
}

fn recorded() -> Vec<Recorded> {
    vec![
        Recorded {
            name: "tcp-random-loss",
            shows: |r| {
                assert!(r.counts.fast_retransmissions > 5, "{:?}", r.counts);
                assert!(r.counts.duplicate_acks > 20);
                // Every retransmission here was seen first (captured at the sender).
                for s in &r.symptoms {
                    if let SymptomKind::Retransmission { .. } = s.kind {
                        assert_eq!(s.related_packets.len(), 1, "{s:?}");
                        assert!(s.related_packets[0] < s.packet);
                    }
                }
                let fast = r
                    .symptoms
                    .iter()
                    .filter(|s| {
                        s.kind
                            == SymptomKind::Retransmission {
                                trigger: RetransmitTrigger::Fast,
                            }
                    })
                    .count() as u64;
                assert!(fast >= r.counts.fast_retransmissions);
            },
        },
        Recorded {
            name: "tcp-random-loss-receiver",
            shows: |r| {
                // Captured at the receiver: the lost segments are holes, their retransmissions fill them.
                assert!(r.counts.lost_segments > 5, "{:?}", r.counts);
                assert!(r.counts.fast_retransmissions > 5);
                for s in r.symptoms.iter().filter(|s| s.kind == SymptomKind::Hole) {
                    assert_eq!(s.related_packets.len(), 1, "{s:?}");
                }
            },
        },
        Recorded {
            name: "tcp-syn-dropped",
            shows: |r| {
                let syn: Vec<_> = r
                    .symptoms
                    .iter()
                    .filter(|s| matches!(s.kind, SymptomKind::SynUnanswered { .. }))
                    .collect();
                assert_eq!(syn.len(), 1);
                assert_eq!(syn[0].kind, SymptomKind::SynUnanswered { attempts: 5 });
                assert_eq!(syn[0].related_packets.len(), 5);
                // The SYN retries are retransmissions after timeouts (1 s apart).
                assert_eq!(r.counts.trigger_timeout, 4);
            },
        },
        Recorded {
            name: "tcp-reset",
            shows: |r| {
                let resets: Vec<_> = r
                    .symptoms
                    .iter()
                    .filter_map(|s| match s.kind {
                        SymptomKind::Reset {
                            by,
                            idle_ms,
                            ttl,
                            refused,
                            carried_data,
                            ..
                        } => {
                            // The router's refusals are the first packets of their side (nothing
                            // to compare), and the server's own RST has the server's TTL.
                            assert_eq!(ttl, None, "{s:?}");
                            Some((by, idle_ms, refused, carried_data))
                        }
                        _ => None,
                    })
                    .collect();
                assert_eq!(resets.len(), 3);
                // Two SYNs refused at once by the router's reject rule, then the server's abort
                // about 300 ms after its last packet.
                // The two RSTs answering SYNs are refusals before any data; the abort is not.
                assert!(resets[..2]
                    .iter()
                    .all(|&(by, idle, refused, data)| by == Side::Server && idle < 5 && refused && !data));
                assert_eq!((resets[2].0, resets[2].2, resets[2].3), (Side::Server, false, true));
                assert!((250..1000).contains(&resets[2].1), "{resets:?}");
            },
        },
        Recorded {
            name: "udp-closed-port",
            shows: |r| {
                assert!(r.counts.udp_closed_port >= 2);
                for s in r.symptoms.iter().filter(|s| s.kind == SymptomKind::UdpClosedPort) {
                    assert_eq!(s.related_packets.len(), 1, "the quoted datagram was captured: {s:?}");
                    assert_eq!(s.flow.unwrap().protocol, 17);
                }
            },
        },
        Recorded {
            name: "pmtu-frag-needed",
            shows: |r| {
                let mtus: BTreeSet<u32> = r
                    .symptoms
                    .iter()
                    .filter_map(|s| match s.kind {
                        SymptomKind::PacketTooBig { mtu } => Some(mtu),
                        _ => None,
                    })
                    .collect();
                assert_eq!(mtus, BTreeSet::from([1280]));
                let v: BTreeSet<bool> = r
                    .symptoms
                    .iter()
                    .filter(|s| matches!(s.kind, SymptomKind::PacketTooBig { .. }))
                    .map(|s| s.flow.unwrap().client.is_ipv6())
                    .collect();
                assert_eq!(v, BTreeSet::from([false, true]), "an IPv4 and an IPv6 run");
                assert!(r
                    .symptoms
                    .iter()
                    .filter(|s| matches!(s.kind, SymptomKind::PacketTooBig { .. }))
                    .all(|s| s.related_packets.len() == 1 && s.seq.is_some()));
                assert_eq!(r.counts.data_never_acked, 0);
            },
        },
        Recorded {
            name: "pmtu-black-hole",
            shows: |r| {
                assert_eq!(r.counts.packet_too_big, 0);
                assert!(r.counts.trigger_timeout > 0);
                let never: Vec<_> = r
                    .symptoms
                    .iter()
                    .filter(|s| matches!(s.kind, SymptomKind::DataNeverAcked { .. }))
                    .collect();
                assert_eq!(never.len(), 2, "one IPv4 and one IPv6 connection stalled");
            },
        },
        Recorded {
            name: "arp-unanswered",
            shows: |r| {
                assert!(r.counts.arp_unanswered >= 1);
                assert!(r.counts.arp_unanswered_requests >= 3);
            },
        },
        Recorded {
            name: "ns-unanswered",
            shows: |r| {
                assert!(r.counts.ns_unanswered >= 1);
                assert!(r.counts.ns_unanswered_requests >= 3);
            },
        },
        Recorded {
            name: "zero-window",
            shows: |r| {
                assert!(r.counts.zero_windows > 0);
                assert!(r.counts.window_full > 0);
            },
        },
    ]
}

const RETRANSMISSION: &str = "tcp.analysis.retransmission";
const FAST: &str = "tcp.analysis.fast_retransmission";
const SPURIOUS: &str = "tcp.analysis.spurious_retransmission";
const OOO: &str = "tcp.analysis.out_of_order";
const DUP_ACK: &str = "tcp.analysis.duplicate_ack";
const LOST: &str = "tcp.analysis.lost_segment";
const ACK_LOST: &str = "tcp.analysis.ack_lost_segment";
const ZERO_WINDOW: &str = "tcp.analysis.zero_window";
const WINDOW_FULL: &str = "tcp.analysis.window_full";
const ZW_PROBE: &str = "tcp.analysis.zero_window_probe";
const KEEP_ALIVE: &str = "tcp.analysis.keep_alive";
const WINDOW_UPDATE: &str = "tcp.analysis.window_update";
const RESET: &str = "tcp.flags.reset == 1";
const UNREACHABLE: &str = "icmp.type == 3 || icmpv6.type == 1";
const TOO_BIG: &str = "icmp.type == 3 && icmp.code == 4 || icmpv6.type == 2";
const TIME_EXCEEDED: &str = "icmp.type == 11 || icmpv6.type == 3";
const UDP_CLOSED: &str = "(icmp.type == 3 && icmp.code == 3 || icmpv6.type == 1 && icmpv6.code == 4) && udp";
const ARP: &str = "arp.opcode == 1 || arp.opcode == 2";
const ND: &str = "icmpv6.type == 135 || icmpv6.type == 136";

/// Filters that are more than one field's presence, counted with `tshark -Y`.
const FILTERS: &[&str] = &[RESET, UNREACHABLE, TOO_BIG, TIME_EXCEEDED, UDP_CLOSED, ARP, ND];

fn compare_with_tshark(rec: &Recorded, file: &Path) {
    let r = analyze_file(file);
    let t = Tshark::run(file, FILTERS);
    let is = |k: fn(&SymptomKind) -> bool| frames(&r, k);

    // tcp.analysis.retransmission: tshark adds it to plain, fast and spurious retransmissions.
    let ours = is(|k| {
        matches!(
            k,
            SymptomKind::Retransmission { .. } | SymptomKind::SpuriousRetransmission
        )
    });
    let retrans = t.check("retransmission", RETRANSMISSION, |r| r.has(RETRANSMISSION), &ours);
    assert_eq!(r.counts.retransmissions, retrans.len() as u64);
    let fast = t.frames(FAST, |r| r.has(FAST));
    assert_eq!(
        r.counts.fast_retransmissions,
        fast.len() as u64,
        "{}: fast retransmissions",
        rec.name
    );
    // Our Fast trigger covers tshark's fast retransmissions and the rest of their recovery.
    let ours_fast = is(|k| {
        *k == SymptomKind::Retransmission {
            trigger: RetransmitTrigger::Fast,
        }
    });
    assert!(fast.is_subset(&ours_fast), "{}: fast ⊆ trigger Fast", rec.name);
    t.check(
        "spurious",
        SPURIOUS,
        |r| r.has(SPURIOUS),
        &is(|k| *k == SymptomKind::SpuriousRetransmission),
    );
    assert_eq!(
        r.counts.out_of_order,
        t.frames(OOO, |r| r.has(OOO)).len() as u64,
        "{}: out of order",
        rec.name
    );

    t.check(
        "duplicate ACK",
        DUP_ACK,
        |r| r.has(DUP_ACK),
        &is(|k| matches!(k, SymptomKind::DuplicateAck { .. })),
    );
    for s in &r.symptoms {
        if let SymptomKind::DuplicateAck { count } = s.kind {
            let theirs = t.rows[&(s.appearance + 1)].first("tcp.analysis.duplicate_ack_num");
            assert_eq!(theirs, count.to_string(), "{}: dup ACK number", rec.name);
        }
    }
    t.check("hole", LOST, |r| r.has(LOST), &is(|k| *k == SymptomKind::Hole));
    t.check(
        "ACKed unseen",
        ACK_LOST,
        |r| r.has(ACK_LOST),
        &is(|k| *k == SymptomKind::AckedUnseenSegment),
    );
    t.check(
        "zero window",
        ZERO_WINDOW,
        |r| r.has(ZERO_WINDOW),
        &is(|k| *k == SymptomKind::ZeroWindow),
    );
    t.check(
        "window full",
        WINDOW_FULL,
        |r| r.has(WINDOW_FULL),
        &is(|k| *k == SymptomKind::WindowFull),
    );
    for (filter, count) in [
        (ZW_PROBE, r.counts.zero_window_probes),
        (KEEP_ALIVE, r.counts.keep_alives),
        (WINDOW_UPDATE, r.counts.window_updates),
    ] {
        assert_eq!(
            count,
            t.frames(filter, |r| r.has(filter)).len() as u64,
            "{}: {filter}",
            rec.name
        );
    }
    t.check(
        "reset",
        RESET,
        |r| r.is("tcp.flags.reset", "1"),
        &is(|k| matches!(k, SymptomKind::Reset { .. })),
    );

    let ours = is(|k| matches!(k, SymptomKind::DestinationUnreachable { .. }));
    t.check(
        "unreachable",
        UNREACHABLE,
        |r| r.is("icmp.type", "3") || r.is("icmpv6.type", "1"),
        &ours,
    );
    let ours = is(|k| matches!(k, SymptomKind::PacketTooBig { .. }));
    let too_big = |r: &Row| r.is("icmp.type", "3") && r.is("icmp.code", "4") || r.is("icmpv6.type", "2");
    t.check("too big", TOO_BIG, too_big, &ours);
    for s in &r.symptoms {
        let row = &t.rows[&(s.appearance + 1)];
        let v4 = !row.first("icmp.type").is_empty();
        match s.kind {
            SymptomKind::DestinationUnreachable { code } => {
                let theirs = row.first(if v4 { "icmp.code" } else { "icmpv6.code" });
                assert_eq!(theirs, code.to_string(), "{}: code", rec.name)
            }
            SymptomKind::PacketTooBig { mtu } => {
                let theirs = row.first(if v4 { "icmp.mtu" } else { "icmpv6.mtu" });
                assert_eq!(theirs, mtu.to_string(), "{}: MTU", rec.name)
            }
            _ => {}
        }
    }
    let ours = is(|k| matches!(k, SymptomKind::TimeExceeded { .. }));
    t.check(
        "time exceeded",
        TIME_EXCEEDED,
        |r| r.is("icmp.type", "11") || r.is("icmpv6.type", "3"),
        &ours,
    );
    let closed = |r: &Row| {
        (r.is("icmp.type", "3") && r.is("icmp.code", "3") || r.is("icmpv6.type", "1") && r.is("icmpv6.code", "4"))
            && r.has("udp.srcport")
    };
    t.check(
        "UDP closed port",
        UDP_CLOSED,
        closed,
        &is(|k| *k == SymptomKind::UdpClosedPort),
    );

    // Requests no reply answered within 1 s. Packet index = frame − 1 here (one packet per frame).
    let listed = |pred: fn(&SymptomKind) -> bool| -> BTreeSet<u64> {
        r.symptoms
            .iter()
            .filter(|s| pred(&s.kind))
            .flat_map(|s| s.related_packets.iter().map(|&p| p as u64 + 1))
            .collect()
    };
    let time = |r: &Row| r.first("frame.time_epoch").parse::<f64>().unwrap();
    // ARP: requests other than probes (sender 0.0.0.0) and announcements (sender = target).
    let arp: Vec<_> = t
        .frames(ARP, |r| r.is("arp.opcode", "1") || r.is("arp.opcode", "2"))
        .into_iter()
        .map(|f| {
            let row = &t.rows[&f];
            let (src, dst) = (row.first("arp.src.proto_ipv4"), row.first("arp.dst.proto_ipv4"));
            let request = row.is("arp.opcode", "1");
            let target = if request && src != "0.0.0.0" && src != dst {
                dst
            } else {
                ""
            };
            (f, time(row), request, target.to_string(), src.to_string())
        })
        .collect();
    let ours_arp = listed(|k| matches!(k, SymptomKind::ArpUnanswered { .. }));
    assert_eq!(ours_arp, unanswered(&arp), "{}: ARP", rec.name);
    assert_eq!(r.counts.arp_unanswered_requests, ours_arp.len() as u64);
    // Neighbor solicitations other than duplicate address detection (from ::).
    let nd: Vec<_> = t
        .frames(ND, |r| r.is("icmpv6.type", "135") || r.is("icmpv6.type", "136"))
        .into_iter()
        .map(|f| {
            let row = &t.rows[&f];
            let request = row.is("icmpv6.type", "135");
            let target = if request && row.first("ipv6.src") != "::" {
                row.first("icmpv6.nd.ns.target_address")
            } else {
                ""
            };
            (
                f,
                time(row),
                request,
                target.to_string(),
                row.first("icmpv6.nd.na.target_address").to_string(),
            )
        })
        .collect();
    let ours_ns = listed(|k| matches!(k, SymptomKind::NeighborSolicitationUnanswered { .. }));
    assert_eq!(ours_ns, unanswered(&nd), "{}: NS", rec.name);
    assert_eq!(r.counts.ns_unanswered_requests, ours_ns.len() as u64);

    (rec.shows)(&r);
    eprintln!("{}: {}", rec.name, serde_json::to_string(&r.counts).unwrap());
}

#[test]
fn recorded_captures_match_tshark() {
    if !tshark_present() {
        return;
    }
    let dir = PathBuf::from(RECORDED);
    let all = recorded();
    // Two files at a time.
    std::thread::scope(|scope| {
        for pair in all.chunks(2) {
            let handles: Vec<_> = pair
                .iter()
                .map(|rec| {
                    let file = dir.join(format!("{}.pcap", rec.name));
                    assert!(
                        file.is_file(),
                        "{} missing (scripts/record/record.sh {})",
                        file.display(),
                        rec.name
                    );
                    scope.spawn(move || compare_with_tshark(rec, &file))
                })
                .collect();
            for h in handles {
                if let Err(e) = h.join() {
                    std::panic::resume_unwind(e);
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Hand-built packets
// ---------------------------------------------------------------------------

/// Lab time: milliseconds after an arbitrary start (2024), as a FILETIME.
fn ms(v: f64) -> FileTime {
    133_500_000_000_000_000 + (v * MS as f64) as FileTime
}

/// A client and a server on one link, packets built with etherparse, wrapped in
/// Ethernet (with an 802.1Q tag when asked) and cut at 128 bytes like PktMon
/// does by default (the original length is given, as PktMon logs it).
struct Lab {
    a: FlowAnalyzer,
    v6: bool,
    vlan: Option<u16>,
    next: usize,
    /// Every pushed packet's IP bytes, to quote them in ICMP errors.
    sent: Vec<Vec<u8>>,
}

const CLIENT_PORT: u16 = 50123;
const SERVER_PORT: u16 = 443;
const C_ISN: u32 = 0xFFFF_FF00; // wraps during the tests
const S_ISN: u32 = 7_000_000;

impl Lab {
    fn new(v6: bool, vlan: Option<u16>) -> Lab {
        Lab {
            a: FlowAnalyzer::new(),
            v6,
            vlan,
            next: 0,
            sent: Vec::new(),
        }
    }

    fn addr(&self, who: u8) -> IpAddr {
        if self.v6 {
            IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, who as u16))
        } else {
            IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, who))
        }
    }

    /// IP packet builder from `src` to `dst` (host numbers: 1 client, 2 server, 254 router).
    fn ip(&self, src: u8, dst: u8) -> etherparse::PacketBuilderStep<etherparse::IpHeaders> {
        match (self.addr(src), self.addr(dst)) {
            (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
            (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64),
            _ => unreachable!(),
        }
    }

    fn push_frame(&mut self, t: FileTime, ether_type: u16, l3: Vec<u8>) -> usize {
        let mut frame = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
        if let Some(v) = self.vlan {
            frame.extend_from_slice(&[0x81, 0x00]);
            frame.extend_from_slice(&v.to_be_bytes());
        }
        frame.extend_from_slice(&ether_type.to_be_bytes());
        frame.extend_from_slice(&l3);
        let original_len = frame.len() as u32;
        frame.truncate(128);
        let packet = self.next;
        self.a.push(&PacketInput {
            packet,
            appearance: packet as u64 * 3 + 1, // appearances differ from packets, as in PktMon
            time: t,
            link_type: LinkType::Ethernet,
            bytes: &frame,
            original_len,
        });
        self.next += 1;
        self.sent.push(l3);
        packet
    }

    fn push_ip(&mut self, t: FileTime, l3: Vec<u8>) -> usize {
        let et = if self.v6 { 0x86DD } else { 0x0800 };
        self.push_frame(t, et, l3)
    }

    /// A TCP segment; `flags` letters: S A F R P; `len` payload bytes.
    #[allow(clippy::too_many_arguments)]
    fn tcp(&mut self, t_ms: f64, from_client: bool, seq: u32, ack: u32, flags: &str, win: u16, len: usize) -> usize {
        self.tcp_opt(t_ms, from_client, seq, ack, flags, win, len, None)
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp_opt(
        &mut self,
        t_ms: f64,
        from_client: bool,
        seq: u32,
        ack: u32,
        flags: &str,
        win: u16,
        len: usize,
        wscale: Option<u8>,
    ) -> usize {
        let (src, dst, sp, dp) = if from_client {
            (1, 2, CLIENT_PORT, SERVER_PORT)
        } else {
            (2, 1, SERVER_PORT, CLIENT_PORT)
        };
        let mut b = self.ip(src, dst).tcp(sp, dp, seq, win);
        for f in flags.chars() {
            b = match f {
                'S' => b.syn(),
                'A' => b.ack(ack),
                'F' => b.fin(),
                'R' => b.rst(),
                'P' => b.psh(),
                _ => panic!("flag {f}"),
            };
        }
        if let Some(ws) = wscale {
            b = b.options(&[etherparse::TcpOptionElement::WindowScale(ws)]).unwrap();
        }
        let payload = vec![0xAB; len];
        let mut out = Vec::new();
        b.write(&mut out, &payload).unwrap();
        self.push_ip(ms(t_ms), out)
    }

    fn udp(&mut self, t_ms: f64, payload: &[u8]) -> usize {
        let mut out = Vec::new();
        self.ip(1, 2).udp(CLIENT_PORT, 33434).write(&mut out, payload).unwrap();
        self.push_ip(ms(t_ms), out)
    }

    /// An ICMP (v4 or v6 as the lab) message from host `from` to the client quoting packet `quoted`.
    fn icmp_error(&mut self, t_ms: f64, from: u8, v4: (u8, u8), v6: (u8, u8), rest: [u8; 4], quoted: usize) -> usize {
        let q = self.sent[quoted].clone();
        let n = if self.v6 { q.len().min(1232) } else { q.len().min(28) };
        let mut out = Vec::new();
        if self.v6 {
            self.ip(from, 1)
                .icmpv6_raw(v6.0, v6.1, rest)
                .write(&mut out, &q[..n])
                .unwrap();
        } else {
            self.ip(from, 1)
                .icmpv4_raw(v4.0, v4.1, rest)
                .write(&mut out, &q[..n])
                .unwrap();
        }
        self.push_ip(ms(t_ms), out)
    }

    /// ARP request (client asks for `target`) or reply (`target` answers).
    fn arp(&mut self, t_ms: f64, request: bool, target: u8) -> usize {
        let (IpAddr::V4(c), IpAddr::V4(x)) = (self.addr(1), self.addr(target)) else {
            unreachable!()
        };
        let mut b = vec![0, 1, 8, 0, 6, 4, 0, if request { 1 } else { 2 }];
        let (sip, tip) = if request { (c, x) } else { (x, c) };
        b.extend_from_slice(&[2, 0, 0, 0, 0, if request { 1 } else { target }]);
        b.extend_from_slice(&sip.octets());
        b.extend_from_slice(&[0; 6]);
        b.extend_from_slice(&tip.octets());
        self.push_frame(ms(t_ms), 0x0806, b)
    }

    /// Neighbor solicitation for `target` (from the client) or advertisement (from `target`).
    fn nd(&mut self, t_ms: f64, solicit: bool, target: u8) -> usize {
        let IpAddr::V6(t) = self.addr(target) else {
            unreachable!()
        };
        let mut out = Vec::new();
        let (ty, src, rest) = if solicit {
            (135, 1, [0; 4])
        } else {
            (136, target, [0x60, 0, 0, 0])
        };
        self.ip(src, 1)
            .icmpv6_raw(ty, 0, rest)
            .write(&mut out, &t.octets())
            .unwrap();
        self.push_ip(ms(t_ms), out)
    }

    /// SYN, SYN/ACK, ACK with `rtt_ms` between client and server; returns the next client/server sequence numbers.
    fn handshake(&mut self, t0: f64, rtt_ms: f64, server_window: u16, ws: Option<u8>) -> (u32, u32) {
        // Seen at the client: the SYN/ACK comes back one RTT after the SYN, and is ACKed at once.
        self.tcp_opt(t0, true, C_ISN, 0, "S", 64240, 0, ws);
        self.tcp_opt(
            t0 + rtt_ms,
            false,
            S_ISN,
            C_ISN.wrapping_add(1),
            "SA",
            server_window,
            0,
            ws,
        );
        self.tcp(t0 + rtt_ms, true, C_ISN.wrapping_add(1), S_ISN + 1, "A", 64240, 0);
        (C_ISN.wrapping_add(1), S_ISN + 1)
    }

    fn finish(self) -> FlowReport {
        self.a.finish()
    }
}

fn variants() -> [(bool, Option<u16>); 3] {
    [(false, None), (true, Some(42)), (false, Some(7))]
}

fn of(r: &FlowReport, pred: impl Fn(&SymptomKind) -> bool) -> Vec<&Symptom> {
    r.symptoms.iter().filter(|s| pred(&s.kind)).collect()
}

fn check_flow(s: &Symptom, lab_v6: bool, vlan: Option<u16>) {
    let f = s.flow.expect("flow");
    assert_eq!(f.client.is_ipv6(), lab_v6);
    assert_eq!(f.vlan, vlan);
    assert_eq!((f.client_port, f.server_port), (CLIENT_PORT, SERVER_PORT), "{s:?}");
    assert_eq!(s.appearance, s.packet as u64 * 3 + 1);
}

#[test]
fn retransmission_after_timeout() {
    for (v6, vlan) in variants() {
        let mut l = Lab::new(v6, vlan);
        let (c, s) = l.handshake(0.0, 10.0, 65535, None);
        l.tcp(100.0, true, c, s, "PA", 64240, 1000);
        l.tcp(110.0, false, s, c.wrapping_add(1000), "A", 65535, 0);
        let orig = l.tcp(120.0, true, c.wrapping_add(1000), s, "PA", 64240, 1000);
        let again = l.tcp(520.0, true, c.wrapping_add(1000), s, "PA", 64240, 1000);
        l.tcp(530.0, false, s, c.wrapping_add(2000), "A", 65535, 0);
        let r = l.finish();
        let rt = of(&r, |k| matches!(k, SymptomKind::Retransmission { .. }));
        assert_eq!(rt.len(), 1, "{:?}", r.symptoms);
        assert_eq!(
            rt[0].kind,
            SymptomKind::Retransmission {
                trigger: RetransmitTrigger::Timeout
            }
        );
        assert_eq!((rt[0].packet, rt[0].related_packets.clone()), (again, vec![orig]));
        assert_eq!(
            (rt[0].seq, rt[0].len, rt[0].from),
            (Some(c.wrapping_add(1000)), Some(1000), Some(Side::Client))
        );
        check_flow(rt[0], v6, vlan);
        assert_eq!(r.counts.retransmissions, 1);
        assert_eq!(r.counts.trigger_timeout, 1);
        assert_eq!(r.flows.len(), 1);
        assert_eq!(r.flows[0].retransmissions, 1);
        assert_eq!(r.flows[0].max_segment, 1000);
        assert_eq!(r.flows[0].initial_rtt_us, Some(10_000));
        assert_eq!(r.flows[0].client_srtt_us, Some(10_000));
    }
}

#[test]
fn tail_loss_probe_by_timing() {
    for (v6, vlan) in variants() {
        let mut l = Lab::new(v6, vlan);
        let (c, s) = l.handshake(0.0, 10.0, 65535, None);
        l.tcp(100.0, true, c, s, "PA", 64240, 1000);
        l.tcp(110.0, false, s, c.wrapping_add(1000), "A", 65535, 0);
        l.tcp(120.0, true, c.wrapping_add(1000), s, "A", 64240, 1000);
        let last = l.tcp(121.0, true, c.wrapping_add(2000), s, "PA", 64240, 500);
        l.tcp(130.0, false, s, c.wrapping_add(2000), "A", 65535, 0);
        // The last segment again 2.5 RTT after it was sent, no duplicate ACK: a tail loss probe.
        let probe = l.tcp(146.0, true, c.wrapping_add(2000), s, "PA", 64240, 500);
        let r = l.finish();
        let rt = of(&r, |k| matches!(k, SymptomKind::Retransmission { .. }));
        assert_eq!(rt.len(), 1, "{:?}", r.symptoms);
        assert_eq!(
            rt[0].kind,
            SymptomKind::Retransmission {
                trigger: RetransmitTrigger::TailLossProbe
            }
        );
        assert_eq!((rt[0].packet, rt[0].related_packets.clone()), (probe, vec![last]));
        // Never acknowledged at the end, but sent less than a second before the capture ended.
        assert!(of(&r, |k| matches!(k, SymptomKind::DataNeverAcked { .. })).is_empty());
    }
}

#[test]
fn fast_retransmission_after_duplicate_acks() {
    for (v6, vlan) in variants() {
        let mut l = Lab::new(v6, vlan);
        let (c, s) = l.handshake(0.0, 1.0, 65535, None);
        let mut segs = Vec::new();
        for i in 0..5u32 {
            segs.push(l.tcp(
                10.0 + i as f64 * 0.1,
                true,
                c.wrapping_add(i * 1000),
                s,
                "A",
                64240,
                1000,
            ));
        }
        // The second segment is lost beyond the capture point: the receiver ACKs the first, then repeats it.
        let first_ack = l.tcp(11.0, false, s, c.wrapping_add(1000), "A", 65535, 0);
        let dups: Vec<_> = (0..3)
            .map(|i| l.tcp(11.1 + i as f64 * 0.1, false, s, c.wrapping_add(1000), "A", 65535, 0))
            .collect();
        let fast = l.tcp(11.5, true, c.wrapping_add(1000), s, "A", 64240, 1000);
        l.tcp(12.0, false, s, c.wrapping_add(5000), "A", 65535, 0);
        let r = l.finish();
        let d = of(&r, |k| matches!(k, SymptomKind::DuplicateAck { .. }));
        assert_eq!(d.len(), 3);
        for (i, s) in d.iter().enumerate() {
            assert_eq!(s.kind, SymptomKind::DuplicateAck { count: i as u32 + 1 });
            assert_eq!(
                (s.packet, s.related_packets.clone(), s.from),
                (dups[i], vec![first_ack], Some(Side::Server))
            );
            check_flow(s, v6, vlan);
        }
        let rt = of(&r, |k| matches!(k, SymptomKind::Retransmission { .. }));
        assert_eq!(rt.len(), 1);
        assert_eq!(
            rt[0].kind,
            SymptomKind::Retransmission {
                trigger: RetransmitTrigger::Fast
            }
        );
        assert_eq!((rt[0].packet, rt[0].related_packets.clone()), (fast, vec![segs[1]]));
        assert_eq!(
            (
                r.counts.fast_retransmissions,
                r.counts.retransmissions,
                r.counts.duplicate_acks
            ),
            (1, 1, 3)
        );
    }
}

#[test]
fn spurious_retransmission() {
    for (v6, vlan) in variants() {
        let mut l = Lab::new(v6, vlan);
        let (c, s) = l.handshake(0.0, 10.0, 65535, None);
        let orig = l.tcp(100.0, true, c, s, "PA", 64240, 1000);
        l.tcp(110.0, false, s, c.wrapping_add(1000), "A", 65535, 0);
        let again = l.tcp(400.0, true, c, s, "PA", 64240, 1000);
        let r = l.finish();
        let sp = of(&r, |k| *k == SymptomKind::SpuriousRetransmission);
        assert_eq!(sp.len(), 1, "{:?}", r.symptoms);
        assert_eq!((sp[0].packet, sp[0].related_packets.clone()), (again, vec![orig]));
        check_flow(sp[0], v6, vlan);
        assert_eq!((r.counts.retransmissions, r.counts.spurious_retransmissions), (1, 1));
    }
}

#[test]
fn hole_and_acked_unseen_segment() {
    for (v6, vlan) in variants() {
        let mut l = Lab::new(v6, vlan);
        let (c, s) = l.handshake(0.0, 10.0, 65535, None);
        let first = l.tcp(100.0, true, c, s, "A", 64240, 1000);
        // The next 1000 bytes were never captured.
        let after = l.tcp(101.0, true, c.wrapping_add(2000), s, "PA", 64240, 1000);
        // And the server ACKs 500 bytes beyond anything seen.
        let ack = l.tcp(110.0, false, s, c.wrapping_add(3500), "A", 65535, 0);
        let r = l.finish();
        let h = of(&r, |k| *k == SymptomKind::Hole);
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].packet, h[0].related_packets.clone()), (after, vec![first]));
        assert_eq!(h[0].seq, Some(c.wrapping_add(2000)));
        check_flow(h[0], v6, vlan);
        let u = of(&r, |k| *k == SymptomKind::AckedUnseenSegment);
        assert_eq!(u.len(), 1);
        assert_eq!(
            (u[0].packet, u[0].related_packets.clone(), u[0].from),
            (ack, vec![after], Some(Side::Server))
        );
        assert_eq!((r.counts.lost_segments, r.counts.acked_unseen), (1, 1));
    }
}

#[test]
fn zero_window_and_window_full() {
    for (v6, vlan) in variants() {
        for ws in [None, Some(2)] {
            let mut l = Lab::new(v6, vlan);
            let win = if ws.is_some() { 250 } else { 1000 }; // 1000 bytes either way
            let (c, s) = l.handshake(0.0, 10.0, win, ws);
            // After a first pure ACK the server's window is scaled.
            let adv = l.tcp(20.0, false, s, c, "A", win, 0);
            let full = l.tcp(100.0, true, c, s, "PA", 64240, 1000);
            let zero = l.tcp(110.0, false, s, c.wrapping_add(1000), "A", 0, 0);
            let r = l.finish();
            let wf = of(&r, |k| *k == SymptomKind::WindowFull);
            assert_eq!(wf.len(), 1, "{ws:?} {:?}", r.symptoms);
            assert_eq!((wf[0].packet, wf[0].related_packets.clone()), (full, vec![adv]));
            check_flow(wf[0], v6, vlan);
            let z = of(&r, |k| *k == SymptomKind::ZeroWindow);
            assert_eq!((z.len(), z[0].packet, z[0].from), (1, zero, Some(Side::Server)));
        }
    }
}

#[test]
fn reset_with_idle_time() {
    for (v6, vlan) in variants() {
        let mut l = Lab::new(v6, vlan);
        let (c, s) = l.handshake(0.0, 10.0, 65535, None);
        l.tcp(100.0, true, c, s, "PA", 64240, 100);
        l.tcp(110.0, false, s, c.wrapping_add(100), "A", 65535, 0);
        let rst = l.tcp(610.0, false, s, c.wrapping_add(100), "RA", 0, 0);
        let r = l.finish();
        let x = of(&r, |k| matches!(k, SymptomKind::Reset { .. }));
        assert_eq!(x.len(), 1);
        assert_eq!(
            x[0].kind,
            SymptomKind::Reset {
                by: Side::Server,
                idle_ms: 500,
                ttl: None,
                refused: false,
                carried_data: true,
                quiet_ms: 500,
            }
        );
        assert_eq!(x[0].packet, rst);
        check_flow(x[0], v6, vlan);
        assert_eq!(r.counts.resets, 1);
        assert!(r.flows[0].reset_seen);
        // A RST with window 0 is no zero-window symptom (tshark excludes SYN/FIN/RST).
        assert_eq!(r.counts.zero_windows, 0);
    }
}

#[test]
fn syn_unanswered_counts_attempts() {
    for (v6, vlan) in variants() {
        let mut l = Lab::new(v6, vlan);
        let syns: Vec<_> = (0..4)
            .map(|i| l.tcp(i as f64 * 1000.0, true, C_ISN, 0, "S", 64240, 0))
            .collect();
        let r = l.finish();
        let x = of(&r, |k| matches!(k, SymptomKind::SynUnanswered { .. }));
        assert_eq!(x.len(), 1);
        assert_eq!(x[0].kind, SymptomKind::SynUnanswered { attempts: 4 });
        assert_eq!((x[0].packet, x[0].related_packets.clone()), (syns[0], syns.clone()));
        check_flow(x[0], v6, vlan);
        // Each retry is a retransmission after a timeout.
        assert_eq!((r.counts.retransmissions, r.counts.trigger_timeout), (3, 3));
    }
}

#[test]
fn data_never_acknowledged() {
    for (v6, vlan) in variants() {
        let mut l = Lab::new(v6, vlan);
        let (c, s) = l.handshake(0.0, 10.0, 65535, None);
        let first = l.tcp(100.0, true, c, s, "A", 64240, 1000);
        l.tcp(100.1, true, c.wrapping_add(1000), s, "PA", 64240, 1000);
        for (i, t) in [400.0, 1000.0, 2200.0].into_iter().enumerate() {
            l.tcp(t, true, c, s, "A", 64240, 1000);
            assert!(i < 3);
        }
        let r = l.finish();
        let x = of(&r, |k| matches!(k, SymptomKind::DataNeverAcked { .. }));
        assert_eq!(x.len(), 1, "{:?}", r.symptoms);
        assert_eq!(x[0].kind, SymptomKind::DataNeverAcked { bytes: 2000 });
        assert_eq!((x[0].packet, x[0].from, x[0].seq), (first, Some(Side::Client), Some(c)));
        check_flow(x[0], v6, vlan);
        let timeouts = of(&r, |k| {
            *k == SymptomKind::Retransmission {
                trigger: RetransmitTrigger::Timeout,
            }
        });
        assert_eq!(timeouts.len(), 3);
    }
}

#[test]
fn icmp_errors_quote_their_packet() {
    for (v6, vlan) in variants() {
        let mut l = Lab::new(v6, vlan);
        // Host unreachable from a router, quoting a SYN.
        let syn = l.tcp(0.0, true, C_ISN, 0, "S", 64240, 0);
        let unreach = l.icmp_error(1.0, 254, (3, 1), (1, 3), [0; 4], syn);
        // Fragmentation needed / packet too big for a data segment, next-hop MTU 1280.
        let mut l2 = Lab::new(v6, vlan);
        let (c, s) = l2.handshake(0.0, 1.0, 65535, None);
        l2.tcp(5.0, true, c, s, "A", 64240, 1000);
        let big = l2.tcp(5.1, true, c.wrapping_add(1000), s, "PA", 64240, 1400);
        let mtu = if v6 { 1280u32.to_be_bytes() } else { [0, 0, 0x05, 0x00] };
        let ptb = l2.icmp_error(5.2, 254, (3, 4), (2, 0), mtu, big);
        let r = l.finish();
        let x = of(&r, |k| matches!(k, SymptomKind::DestinationUnreachable { .. }));
        assert_eq!(x.len(), 1);
        assert_eq!(
            x[0].kind,
            SymptomKind::DestinationUnreachable {
                code: if v6 { 3 } else { 1 }
            }
        );
        assert_eq!(
            (x[0].packet, x[0].related_packets.clone(), x[0].from),
            (unreach, vec![syn], None)
        );
        assert_eq!(x[0].seq, Some(C_ISN));
        check_flow(x[0], v6, vlan);
        let r2 = l2.finish();
        let p = of(&r2, |k| matches!(k, SymptomKind::PacketTooBig { .. }));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].kind, SymptomKind::PacketTooBig { mtu: 1280 });
        assert_eq!((p[0].packet, p[0].related_packets.clone()), (ptb, vec![big]));
        assert_eq!(p[0].seq, Some(c.wrapping_add(1000)));
        check_flow(p[0], v6, vlan);
        // ICMPv4 fragmentation needed is also a destination unreachable (code 4), as tshark's filters count it.
        assert_eq!(r2.counts.destination_unreachable, u64::from(!v6));
        assert_eq!(r2.counts.packet_too_big, 1);
    }
}

#[test]
fn udp_closed_port_and_time_exceeded() {
    for (v6, vlan) in variants() {
        let mut l = Lab::new(v6, vlan);
        let d1 = l.udp(0.0, b"first");
        let d2 = l.udp(1.0, b"second");
        // The server says nothing listens (ICMP 3/3, ICMPv6 1/4) to the second datagram.
        let closed = l.icmp_error(1.1, 2, (3, 3), (1, 4), [0; 4], d2);
        // A router says the first one's TTL ran out (ICMP 11/0, ICMPv6 3/0).
        let ttl = l.icmp_error(1.2, 254, (11, 0), (3, 0), [0; 4], d1);
        let r = l.finish();
        let u = of(&r, |k| *k == SymptomKind::UdpClosedPort);
        assert_eq!(u.len(), 1);
        assert_eq!(
            (u[0].packet, u[0].related_packets.clone(), u[0].from),
            (closed, vec![d2], Some(Side::Server))
        );
        let f = u[0].flow.unwrap();
        assert_eq!(
            (f.protocol, f.client_port, f.server_port, f.vlan),
            (17, CLIENT_PORT, 33434, vlan)
        );
        let du = of(&r, |k| matches!(k, SymptomKind::DestinationUnreachable { .. }));
        assert_eq!(
            du[0].kind,
            SymptomKind::DestinationUnreachable {
                code: if v6 { 4 } else { 3 }
            }
        );
        let te = of(&r, |k| matches!(k, SymptomKind::TimeExceeded { .. }));
        assert_eq!(te.len(), 1);
        assert_eq!(
            (te[0].kind.clone(), te[0].packet, te[0].related_packets.clone()),
            (SymptomKind::TimeExceeded { code: 0 }, ttl, vec![d1])
        );
        assert_eq!(r.counts.icmp_quoted_seen, 2);
    }
}

#[test]
fn unanswered_neighbor_resolution() {
    for (v6, vlan) in variants() {
        let mut l = Lab::new(v6, vlan);
        let ask = |l: &mut Lab, t: f64, solicit: bool, target: u8| {
            if v6 {
                l.nd(t, solicit, target)
            } else {
                l.arp(t, solicit, target)
            }
        };
        // The router answers at once; host .99 never does (three tries a second apart).
        ask(&mut l, 0.0, true, 254);
        ask(&mut l, 0.5, false, 254);
        let tries: Vec<_> = (0..3)
            .map(|i| ask(&mut l, 10.0 + i as f64 * 1000.0, true, 99))
            .collect();
        // A later burst for .99, answered after 1.5 s: the first try counts as unanswered, the second not.
        let late = ask(&mut l, 20_000.0, true, 99);
        ask(&mut l, 21_000.0, true, 99);
        ask(&mut l, 21_500.0, false, 99);
        let r = l.finish();
        let x = of(&r, |k| {
            matches!(
                k,
                SymptomKind::ArpUnanswered { .. } | SymptomKind::NeighborSolicitationUnanswered { .. }
            )
        });
        assert_eq!(x.len(), 2, "{:?}", r.symptoms);
        let target = l_addr(v6, 99);
        let kind = if v6 {
            SymptomKind::NeighborSolicitationUnanswered { target }
        } else {
            SymptomKind::ArpUnanswered { target }
        };
        assert_eq!(
            (x[0].kind.clone(), x[0].packet, x[0].related_packets.clone()),
            (kind.clone(), tries[0], tries.clone())
        );
        assert_eq!(
            (x[1].kind.clone(), x[1].packet, x[1].related_packets.clone()),
            (kind, late, vec![late])
        );
        let (bursts, requests) = if v6 {
            (r.counts.ns_unanswered, r.counts.ns_unanswered_requests)
        } else {
            (r.counts.arp_unanswered, r.counts.arp_unanswered_requests)
        };
        assert_eq!((bursts, requests), (2, 4));
    }
}

fn l_addr(v6: bool, who: u8) -> IpAddr {
    Lab::new(v6, None).addr(who)
}

#[test]
fn parse_views() {
    // VLAN-tagged IPv6 TCP cut at 128 bytes: the segment length comes from the header.
    let mut l = Lab::new(true, Some(42));
    l.tcp(0.0, true, 1, 1, "PA", 100, 1400);
    let ip = l.sent[0].clone();
    let mut frame = vec![0u8; 12];
    frame.extend_from_slice(&[0x81, 0x00, 0x00, 42, 0x86, 0xDD]);
    frame.extend_from_slice(&ip);
    frame.truncate(128);
    let v = parse(LinkType::Ethernet, &frame).unwrap();
    assert_eq!(v.vlan, Some(42));
    let Transport::Tcp(t) = v.transport else {
        panic!("{v:?}")
    };
    assert_eq!((t.segment_len, t.header_len, t.window), (1400, 20, 100));
    assert_eq!(v.ip.unwrap().total_len, 1460);
    let k = v.flow_key().unwrap();
    assert_eq!(
        (k.protocol, k.client_port, k.server_port),
        (6, CLIENT_PORT, SERVER_PORT)
    );
    // Raw IP, and QinQ (the outer tag is the flow's VLAN).
    assert!(matches!(
        parse(LinkType::RawIp, &ip).unwrap().transport,
        Transport::Tcp(_)
    ));
    let mut qinq = vec![0u8; 12];
    qinq.extend_from_slice(&[0x88, 0xA8, 0x00, 100, 0x81, 0x00, 0x00, 42, 0x86, 0xDD]);
    qinq.extend_from_slice(&ip);
    assert_eq!(parse(LinkType::Ethernet, &qinq).unwrap().vlan, Some(100));
    // 802.11 QoS data with LLC/SNAP.
    let mut wifi = vec![0x88, 0x01, 0, 0];
    wifi.extend_from_slice(&[0; 18]);
    wifi.extend_from_slice(&[0, 0, 0, 0]); // sequence control + QoS control
    wifi.extend_from_slice(&[0xAA, 0xAA, 0x03, 0, 0, 0, 0x86, 0xDD]);
    wifi.extend_from_slice(&ip);
    let v = parse(LinkType::Ieee80211, &wifi).unwrap();
    assert!(matches!(v.transport, Transport::Tcp(t) if t.segment_len == 1400));
    // The protected bit set on a frame the NIC decrypted (plaintext LLC/SNAP), as PktMon logs them.
    wifi[1] |= 0x40;
    assert!(parse(LinkType::Ieee80211, &wifi).is_some());
    // Really encrypted: a CCMP header where LLC/SNAP would be.
    let mut ccmp = wifi[..26].to_vec();
    ccmp.extend_from_slice(&[0x01, 0x00, 0x00, 0x20, 0, 0, 0, 0]);
    ccmp.extend_from_slice(&wifi[26..]);
    assert!(parse(LinkType::Ieee80211, &ccmp).is_none());
    // An 802.11 frame in a file that says Ethernet (`pktmon etl2pcap` does that).
    wifi[1] &= !0x40;
    assert!(matches!(
        parse(LinkType::Ethernet, &wifi).unwrap().transport,
        Transport::Tcp(_)
    ));
    // Not IP.
    assert!(parse(LinkType::Other, &ip).is_none());
    assert!(parse(LinkType::Ethernet, &[0u8; 10]).is_none());
}

// ---------------------------------------------------------------------------
// Streaming: memory stays bounded
// ---------------------------------------------------------------------------

/// Frames of one short TCP connection, with the client address and port patched in.
struct Template {
    frames: Vec<(bool, Vec<u8>)>,
    /// Offsets in each frame: (client address, client port).
    offsets: Vec<(usize, usize)>,
}

impl Template {
    fn tcp_connection() -> Template {
        let mut frames = Vec::new();
        let mut offsets = Vec::new();
        let specs: [(bool, u32, u32, &str); 5] = [
            (true, 100, 0, "S"),
            (false, 500, 101, "SA"),
            (true, 101, 501, "FA"),
            (false, 501, 102, "FA"),
            (true, 102, 502, "A"),
        ];
        for (client, seq, ack, flags) in specs {
            let (s, d, sp, dp) = if client {
                ([10, 0, 0, 1], [10, 9, 9, 9], 1000, 80)
            } else {
                ([10, 9, 9, 9], [10, 0, 0, 1], 80, 1000)
            };
            let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                .ipv4(s, d, 64)
                .tcp(sp, dp, seq, 1000);
            for f in flags.chars() {
                b = match f {
                    'S' => b.syn(),
                    'A' => b.ack(ack),
                    'F' => b.fin(),
                    _ => unreachable!(),
                };
            }
            let mut out = Vec::new();
            b.write(&mut out, &[]).unwrap();
            offsets.push(if client { (14 + 12, 34) } else { (14 + 16, 36) });
            frames.push((client, out));
        }
        Template { frames, offsets }
    }
}

#[test]
fn memory_stays_bounded_over_a_million_short_flows() {
    const FLOWS: u64 = 1_000_000;
    let mut t = Template::tcp_connection();
    let mut a = FlowAnalyzer::new();
    let mut packet = 0usize;
    let mut finished = 0u64;
    let mut peak_items = 0usize;
    let mut udp = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([10, 0, 0, 1], [10, 9, 9, 9], 64)
        .udp(5000, 53)
        .write(&mut udp, b"query")
        .unwrap();
    for i in 0..FLOWS {
        // A new connection every millisecond, each from its own address and port, over 1000 s.
        let start = i as FileTime * MS;
        let addr = (0x0A00_0000u32 + (i as u32 >> 8)).to_be_bytes();
        let port = (1024 + (i % 60_000) as u16).to_be_bytes();
        for (k, ((_, frame), &(ao, po))) in t.frames.iter_mut().zip(&t.offsets).enumerate() {
            frame[ao..ao + 4].copy_from_slice(&addr);
            frame[po..po + 2].copy_from_slice(&port);
            a.push(&PacketInput {
                packet,
                appearance: packet as u64,
                time: start + k as FileTime * 50_000 / 5,
                link_type: LinkType::Ethernet,
                bytes: frame,
                original_len: frame.len() as u32,
            });
            packet += 1;
        }
        // And one DNS-like UDP flow per 1000 connections that is never closed: evicted when idle 2 min.
        if i % 1000 == 0 {
            udp[26..30].copy_from_slice(&addr);
            a.push(&PacketInput {
                packet,
                appearance: packet as u64,
                time: start + 5_000,
                link_type: LinkType::Ethernet,
                bytes: &udp,
                original_len: udp.len() as u32,
            });
            packet += 1;
        }
        if i % 10_000 == 0 {
            finished += a.drain_flows().len() as u64;
            a.drain_symptoms();
            peak_items = peak_items.max(a.tracked_items());
        }
    }
    let peak = a.peak_tracked_flows();
    let r = a.finish();
    finished += r.flows.len() as u64;
    assert_eq!(finished, FLOWS + FLOWS / 1000);
    // Closed connections linger 10 s and are checked every 10 s: at most 20 s of them (20 000),
    // plus the open UDP flows of about 130 s (130).
    assert!(peak <= 20_200, "peak tracked flows {peak}");
    assert!(peak >= 10_000, "peak tracked flows {peak}");
    // Open ARP/ND bursts: none here.
    assert!(peak_items <= 20_200, "peak tracked items {peak_items}");
    assert_eq!(r.counts.retransmissions, 0);
}

// ---------------------------------------------------------------------------
// Throughput (cargo test --release -- --ignored bench --nocapture)
// ---------------------------------------------------------------------------

#[test]
#[ignore]
fn bench_small_tcp_packets() {
    const PACKETS: usize = 10_000_000;
    const FLOWS: usize = 1000;
    // 1000 connections exchanging 10-byte segments and their ACKs (64-byte frames).
    let mut data = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([10, 0, 0, 1], [10, 9, 9, 9], 64)
        .tcp(1000, 80, 1, 1000)
        .ack(1)
        .write(&mut data, &[0x55; 10])
        .unwrap();
    let mut ack = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
        .ipv4([10, 9, 9, 9], [10, 0, 0, 1], 64)
        .tcp(80, 1000, 1, 1000)
        .ack(1)
        .write(&mut ack, &[])
        .unwrap();
    let mut seq = vec![1u32; FLOWS];
    let mut a = FlowAnalyzer::new();
    let start = std::time::Instant::now();
    let cpu_start = thread_cpu_ns();
    for i in 0..PACKETS {
        let f = (i / 2) % FLOWS;
        let port = (1024 + f as u16).to_be_bytes();
        let (frame, port_at, seq_at, value) = if i % 2 == 0 {
            (&mut data, 34, 38, seq[f])
        } else {
            seq[f] = seq[f].wrapping_add(10);
            (&mut ack, 36, 42, seq[f])
        };
        frame[port_at..port_at + 2].copy_from_slice(&port);
        frame[seq_at..seq_at + 4].copy_from_slice(&value.to_be_bytes());
        a.push(&PacketInput {
            packet: i,
            appearance: i as u64,
            time: i as FileTime * 10,
            link_type: LinkType::Ethernet,
            bytes: frame,
            original_len: frame.len() as u32,
        });
    }
    let r = a.finish();
    let secs = start.elapsed().as_secs_f64();
    // On-CPU time too: the machine may be busy with other work.
    let cpu = cpu_start.zip(thread_cpu_ns()).map(|(a, b)| (b - a) as f64 / 1e9);
    eprintln!(
        "{PACKETS} packets of {} and {} bytes in {secs:.3} s wall: {:.2} M packets/s; {}",
        data.len(),
        ack.len(),
        PACKETS as f64 / secs / 1e6,
        cpu.map(|c| format!("{c:.3} s on CPU: {:.2} M packets/s", PACKETS as f64 / c / 1e6))
            .unwrap_or_default()
    );
    assert_eq!(r.counts.retransmissions, 0);
}

/// Nanoseconds this thread ran on a CPU (Linux).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
