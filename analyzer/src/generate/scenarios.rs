//! The scenarios: ordinary traffic with one kind of loss planted in it, and
//! the background traffic ([`Filler`]) that fills a capture to any size.
//!
//! Times are the capturing host's view: a packet it sends is seen when it
//! leaves, one it receives when it arrives. A message between the host and a
//! peer takes half the round-trip time each way.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::stack::{self, comp, Dir, Fate, Job};
use super::tcp::{Conn, Segment};
use super::wire::{self, flags};
use super::{Delivery, Draft, Gen, Scenario, MS, SEC, US};
use crate::diagnose::{Cause, Locality};
use crate::flows::FlowKey;
use crate::model::FileTime;

const SYN: u8 = flags::SYN;
const ACK: u8 = flags::ACK;
const PSH: u8 = flags::PSH;
const FIN: u8 = flags::FIN;
const RST: u8 = flags::RST;

// Drop reasons and locations (pktmon/catalog tables; locations from Microsoft's PKTMON_DROP_LOCATION list).
const INSPECTION_DROP: u32 = 909;
const RECEIVE_INSPECTION: u32 = 1207;
const INSUFFICIENT_RESOURCES: u32 = 3;
const RECEIVE_QUEUE_FULL: u32 = 217;
const ADDRESS_RESOLUTION_TIMEOUT: u32 = 922;
const NO_ROUTE: u32 = 907;
const BAD_CHECKSUM: u32 = 912;
const INET_CHECKSUM_INVALID: u32 = 1203;
const INET_ENDPOINT_NOT_FOUND: u32 = 1204;
const INET_RECEIVED_RST: u32 = 1210;

const LOC_NL_SEND_COMMON_INSPECT: u32 = 0xE000_4170;
const LOC_TL_RCV_TCP_SYN_RECEIVE_INSPECT: u32 = 0xE000_4504;
const LOC_NDIS_M_DISPATCH_RECEIVE: u32 = 0xE000_1007;
const LOC_NDIS_NEXT_SEND: u32 = 0xE000_1004;
const LOC_NL_SEND_NEIGHBOR_QUEUE1: u32 = 0xE000_413A;
const LOC_NL_SEND_COMMON1: u32 = 0xE000_4160;
const LOC_NL_RCV_V4_VALIDATE2: u32 = 0xE000_4107;
const LOC_TL_RCV_TCP_VALIDATE1: u32 = 0xE000_452C;
const LOC_TL_RCV_TCP_MATCH: u32 = 0xE000_4500;
const LOC_TL_RCV_UDP_RECEIVE1: u32 = 0xE000_460A;
const LOC_TL_RCV_TCP_CAREFUL4: u32 = 0xE000_450A;

/// Builds one scenario's traffic and plants into `g`.
pub(super) fn build(g: &mut Gen, scenario: Scenario) {
    let t = g.t0;
    match scenario {
        Scenario::Baseline => {
            baseline(g, t);
        }
        Scenario::LocalPolicy => {
            local_policy(g, t);
        }
        Scenario::LocalResources => {
            local_resources(g, t);
        }
        Scenario::AddressResolution => {
            address_resolution(g, t);
        }
        Scenario::NoRoute => {
            no_route(g, t);
        }
        Scenario::InvalidPacket => {
            invalid_packet(g, t);
        }
        Scenario::RemoteCongestion => {
            remote_congestion(g, t);
        }
        Scenario::RemotePolicy => {
            remote_policy(g, t);
        }
        Scenario::Unreachable => {
            unreachable(g, t);
        }
        Scenario::SessionLoss => {
            session_loss(g, t);
        }
        Scenario::Mtu => {
            mtu(g, t);
        }
        Scenario::PmtuBlackHole => {
            pmtu_black_hole(g, t);
        }
        Scenario::NicDiscard => {
            nic_discard(g, t);
        }
        Scenario::Mix => {
            // Every scenario, each starting a little after the previous one began.
            let parts: [fn(&mut Gen, FileTime) -> FileTime; 12] = [
                baseline,
                local_policy,
                local_resources,
                address_resolution,
                no_route,
                invalid_packet,
                remote_congestion,
                remote_policy,
                unreachable,
                session_loss,
                mtu,
                pmtu_black_hole,
            ];
            let mut start = t;
            for f in parts {
                f(g, start);
                start += 2 * SEC + g.rng.range(0, 500) * MS;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------

fn rtt(g: &mut Gen) -> FileTime {
    g.rng.range(15, 60) * MS + g.rng.range(0, 999) * US
}

fn jitter(g: &mut Gen, lo_us: i64, hi_us: i64) -> FileTime {
    g.rng.range(lo_us, hi_us) * US
}

/// The three-way handshake, starting at `t` (the SYN's time at the host).
/// Returns when the last of its packets is seen.
fn handshake(g: &mut Gen, c: &mut Conn, t: FileTime, rtt: FileTime) -> FileTime {
    let local_client = c.local_is_client;
    g.send(c, t, true, 0, SYN, Delivery::Normal);
    let t2 = if local_client { t + rtt } else { t + jitter(g, 40, 120) };
    g.send(c, t2, false, 0, SYN | ACK, Delivery::Normal);
    let t3 = if local_client { t2 + jitter(g, 30, 90) } else { t2 + rtt };
    g.send(c, t3, true, 0, ACK, Delivery::Normal);
    t3
}

/// One side's message of `len` bytes in MSS-sized segments, all delivered,
/// acknowledged every second segment and at the end. Returns when the last ACK is seen.
fn message(g: &mut Gen, c: &mut Conn, t: FileTime, from_client: bool, len: u32, rtt: FileTime) -> FileTime {
    let mut tr = Transfer::new(from_client, len, rtt);
    transfer(g, c, t, &mut tr).end
}

/// FIN from the client, FIN from the server, last ACK.
fn close(g: &mut Gen, c: &mut Conn, t: FileTime, rtt: FileTime) -> FileTime {
    let local_client = c.local_is_client;
    g.send(c, t, true, 0, FIN | ACK, Delivery::Normal);
    let t2 = if local_client { t + rtt } else { t + jitter(g, 40, 200) };
    g.send(c, t2, false, 0, FIN | ACK, Delivery::Normal);
    let t3 = if local_client { t2 + jitter(g, 30, 90) } else { t2 + rtt };
    g.send(c, t3, true, 0, ACK, Delivery::Normal);
    t3
}

/// A whole ordinary exchange: connect, request, response, close.
fn exchange(g: &mut Gen, c: &mut Conn, t: FileTime, request: u32, response: u32) -> FileTime {
    let r = rtt(g);
    let t = handshake(g, c, t, r);
    let d = jitter(g, 100, 900);
    let t = message(g, c, t + d, true, request, r);
    let d = jitter(g, 20, 200);
    let t = message(g, c, t + d, false, response, r);
    let d = jitter(g, 1_000, 50_000);
    close(g, c, t + d, r)
}

/// A retransmission to plant.
struct Resent {
    tag: u32,
    original: u32,
    fast: bool,
}

/// A bulk transfer with loss and recovery as TCP does it.
struct Transfer {
    from_client: bool,
    bytes: u32,
    rtt: FileTime,
    /// Segment size (default: the smaller MSS of the two ends).
    mss: Option<u32>,
    /// What happens to the first transmission of segment `i` (default: delivered).
    fate: Vec<(usize, Delivery)>,
    /// Segments sent per round before waiting for ACKs.
    window: usize,
}

#[derive(Default)]
struct TransferOutcome {
    end: FileTime,
    resent: Vec<Resent>,
    /// Tags of the segments dropped inside the host.
    local_drops: Vec<u32>,
}

impl Transfer {
    fn new(from_client: bool, bytes: u32, rtt: FileTime) -> Transfer {
        Transfer {
            from_client,
            bytes,
            rtt,
            mss: None,
            fate: Vec::new(),
            window: 10,
        }
    }
    fn with(mut self, i: usize, d: Delivery) -> Transfer {
        self.fate.push((i, d));
        self
    }
}

/// Sends `tr.bytes` from one end in rounds of up to `tr.window` segments.
/// The receiver acknowledges every second in-order segment and at once
/// anything out of order (duplicate ACKs with SACK). Missing segments are
/// sent again after the third duplicate ACK reaches the sender (fast
/// retransmission), else when the retransmission timer fires (Windows: 300 ms
/// minimum; Linux: 200 ms + RTT).
fn transfer(g: &mut Gen, c: &mut Conn, start: FileTime, tr: &mut Transfer) -> TransferOutcome {
    let from = tr.from_client;
    let local_sender = c.is_local(from);
    let owd = tr.rtt / 2;
    let mss = tr.mss.unwrap_or_else(|| u32::from(c.client.mss.min(c.server.mss)));
    let rto = if local_sender {
        (2 * tr.rtt).max(300 * MS)
    } else {
        200 * MS + tr.rtt
    };
    let mut out = TransferOutcome::default();
    let mut remaining = tr.bytes;
    let mut index = 0usize;
    // Sender-clock time the next round starts at.
    let mut ts = if local_sender { start } else { start - owd };
    // (seq, len, tag of first transmission, time sent)
    let mut sent: Vec<(u32, u32, Option<u32>)> = Vec::new();
    let mut last_seen = start;
    while remaining > 0 {
        let n = tr.window.min(remaining.div_ceil(mss) as usize);
        let mut acks_at_sender: Vec<(FileTime, u32)> = Vec::new();
        let mut since_ack = 0;
        let mut last_ack = if from { c.server.rcv_next } else { c.client.rcv_next };
        let mut t_send = ts;
        for i in 0..n {
            let len = remaining.min(mss);
            remaining -= len;
            let delivery = tr
                .fate
                .iter()
                .find(|(k, _)| *k == index)
                .map_or(Delivery::Normal, |(_, d)| *d);
            index += 1;
            let last = i + 1 == n;
            let fl = if last { ACK | PSH } else { ACK };
            let seen = if local_sender { t_send } else { t_send + owd };
            let (seg, tag) = g.send(c, seen, from, len, fl, delivery);
            if let (Some(tag), Delivery::Local(_)) = (tag, delivery) {
                out.local_drops.push(tag);
            }
            last_seen = last_seen.max(seen);
            sent.push((seg.seq, len, tag));
            if delivery == Delivery::Normal {
                let arrival = t_send + owd;
                let recv = if from { &c.server } else { &c.client };
                let out_of_order = !recv.ooo.is_empty();
                let ack_now = recv.rcv_next;
                since_ack += 1;
                if out_of_order || ack_now == last_ack || since_ack >= 2 || last {
                    since_ack = 0;
                    let t_ack = arrival + jitter(g, 20, 60);
                    let ack_seen = if local_sender { t_ack + owd } else { t_ack };
                    ack(g, c, !from, ack_seen);
                    last_seen = last_seen.max(ack_seen);
                    acks_at_sender.push((t_ack + owd, ack_now));
                    last_ack = ack_now;
                }
            }
            t_send += if local_sender {
                jitter(g, 12, 16)
            } else {
                jitter(g, 60, 130)
            };
        }
        // Recovery: until the receiver has everything sent so far.
        let mut attempt = 0;
        loop {
            let recv_next = if from { c.server.rcv_next } else { c.client.rcv_next };
            let snd_next = if from { c.client.next } else { c.server.next };
            if recv_next == snd_next {
                break;
            }
            let dups = acks_at_sender
                .iter()
                .filter(|(_, a)| *a == recv_next)
                .count()
                .saturating_sub(1);
            let (mut t_r, fast) = if attempt == 0 && dups >= 3 {
                let third = acks_at_sender
                    .iter()
                    .filter(|(_, a)| *a == recv_next)
                    .nth(3)
                    .expect("3 dups");
                (third.0 + jitter(g, 10, 30), true)
            } else {
                (t_send + (rto << attempt.min(5)), false)
            };
            attempt += 1;
            let missing: Vec<(u32, u32, Option<u32>)> = sent
                .iter()
                .copied()
                .filter(|&(s, l, _)| {
                    let recv = if from { &c.server } else { &c.client };
                    let e = s.wrapping_add(l);
                    let covered =
                        !seq_lt(recv.rcv_next, e) || recv.ooo.iter().any(|&(a, b)| !seq_lt(s, a) && !seq_lt(b, e));
                    !covered
                })
                .collect();
            let mut last_ack_t = t_r;
            for (s, l, orig) in missing {
                let seen = if local_sender { t_r } else { t_r + owd };
                let (_, tag) = g.resend(c, seen, from, s, l, ACK | PSH, Delivery::Normal);
                last_seen = last_seen.max(seen);
                if let Some(tag) = tag {
                    // A first copy that never reached the host: the copy is its own original.
                    let original = orig.unwrap_or(tag);
                    out.resent.push(Resent { tag, original, fast });
                }
                let arrival = t_r + owd;
                let t_ack = arrival + jitter(g, 20, 60);
                let ack_seen = if local_sender { t_ack + owd } else { t_ack };
                ack(g, c, !from, ack_seen);
                last_seen = last_seen.max(ack_seen);
                last_ack_t = t_ack + owd;
                t_r += if local_sender {
                    jitter(g, 12, 16)
                } else {
                    jitter(g, 60, 130)
                };
            }
            t_send = last_ack_t;
        }
        ts = acks_at_sender.iter().map(|a| a.0).max().unwrap_or(t_send).max(t_send) + jitter(g, 20, 80);
        tr.window = (tr.window * 2).min(40);
    }
    out.end = last_seen;
    out
}

fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// A pure ACK (with SACK blocks if data is missing) from one end, seen at `t`.
fn ack(g: &mut Gen, c: &mut Conn, from_client: bool, t: FileTime) -> Option<u32> {
    let seg = c.ack_with_sack(from_client, &mut g.host_ip_id);
    g.put(c, &seg, t, Delivery::Normal)
}

fn l3_drop(v6: bool) -> u16 {
    if v6 {
        comp::L3L4_V6
    } else {
        comp::L3L4_V4
    }
}

fn drop_l3(reason: u32, location: u32) -> Delivery {
    Delivery::Local(Fate::DropL3 { reason, location })
}

fn drop_nic(reason: u32, location: u32) -> Delivery {
    Delivery::Local(Fate::DropNic { reason, location })
}

/// A remote client's connection to the host's `port`.
fn incoming(g: &mut Gen, port: u16) -> Conn {
    let peer = g.new_server();
    let peer_port = 49152 + g.rng.below(16000) as u16;
    g.conn(false, peer, port, peer_port)
}

/// A router on the path, as the source of ICMP errors.
fn router(g: &Gen) -> IpAddr {
    if g.v6 {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xDB8, 0xFFFF, 0, 0, 0, 0, 1))
    } else {
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 254))
    }
}

/// An ICMP error from `src` (TTL `ttl`) to the host quoting `quoted` (an Ethernet frame the host sent).
#[allow(clippy::too_many_arguments)]
fn icmp_error_to_host(
    g: &mut Gen,
    t: FileTime,
    src: IpAddr,
    ttl: u8,
    v4: (u8, u8),
    v6: (u8, u8),
    rest: [u8; 4],
    quoted: &[u8],
    cpu: u16,
) -> (u32, u8, u8) {
    let is_v6 = src.is_ipv6();
    let limit = if is_v6 { 1280 - 48 } else { 28 };
    let q = wire::quote(quoted, limit).to_vec();
    let ip = wire::Ip {
        src,
        dst: g.host_ip(),
        ttl,
        id: g.rng.below(65536) as u16,
        df: false,
        flow_label: 0,
    };
    let (ty, code) = if is_v6 { v6 } else { v4 };
    let mut f = Vec::new();
    wire::icmp_frame(&mut f, g.eth(Dir::Rx), &ip, ty, code, rest, &q);
    (g.raw(t, f, Dir::Rx, Fate::Delivered, cpu), ty, code)
}

fn udp_flow(src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> FlowKey {
    FlowKey {
        protocol: 17,
        client: src,
        client_port: sport,
        server: dst,
        server_port: dport,
        vlan: None,
    }
}

/// A UDP datagram's payload: printable, so no heuristic dissector takes it.
fn probe_payload(n: u32) -> Vec<u8> {
    format!("pktmon-gen probe {n:06}\n").into_bytes()
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

/// Ordinary connections: nothing planted.
fn baseline(g: &mut Gen, t: FileTime) -> FileTime {
    let mut end = t;
    for k in 0..3 {
        let mut c = g.outgoing();
        let req = g.rng.range(200, 700) as u32;
        let resp = g.rng.range(2_000, 60_000) as u32;
        end = end.max(exchange(g, &mut c, t + k * 300 * MS, req, resp));
    }
    end
}

/// The NIC runs out of receive buffers during a burst and discards received
/// frames in hardware: PktMon never sees them, so the capture holds only
/// ordinary traffic; the adapter's `ReceivedDiscardedPackets` rises between
/// the snapshots written beside the capture.
fn nic_discard(g: &mut Gen, t: FileTime) -> FileTime {
    let end = baseline(g, t);
    let before = g.rng.range(1_000, 9_999) as u64;
    let discarded = g.rng.range(500, 2_999) as u64;
    g.plant(
        Locality::Local,
        Cause::Resources,
        None,
        "the network adapter discarded received frames (receive ring full) below PktMon",
        vec![Draft::AdapterCounter {
            counter: "ReceivedDiscardedPackets",
            before,
            after: before + discarded,
        }],
    );
    end
}

/// A firewall rule drops an outgoing SYN (909 Inspection drop, at the network
/// layer's send inspection) and an incoming one (1207 INET: receive inspection).
fn local_policy(g: &mut Gen, t: FileTime) -> FileTime {
    let v6 = g.v6;
    // Outgoing: the application's SYN and its two retries are dropped before leaving.
    let mut c = g.outgoing();
    let syn = c.next_segment(true, 0, SYN, &mut g.host_ip_id);
    let mut ev = Vec::new();
    for (k, dt) in [0, 1, 3].into_iter().enumerate() {
        let seg = if k == 0 {
            syn.clone()
        } else {
            c.segment_at(
                true,
                syn.seq,
                0,
                SYN,
                &wire::syn_options_windows(c.client.mss, 8),
                &mut g.host_ip_id,
            )
        };
        let tag = g
            .put(
                &c,
                &seg,
                t + dt * SEC,
                drop_l3(INSPECTION_DROP, LOC_NL_SEND_COMMON_INSPECT),
            )
            .expect("a Tx drop is seen");
        ev.push(Draft::Drop {
            tag,
            reason: INSPECTION_DROP,
            location: LOC_NL_SEND_COMMON_INSPECT,
            component: l3_drop(v6),
        });
    }
    g.plant(
        Locality::Local,
        Cause::Policy,
        Some(c.flow()),
        "A firewall rule drops the host's outgoing SYN and its retries (909 Inspection drop at the network layer's send inspection).",
        ev,
    );
    // Incoming: a remote client's SYNs to a port the firewall closes.
    let mut c = incoming(g, 4433);
    let t2 = t + 500 * MS;
    let syn = c.next_segment(true, 0, SYN, &mut g.host_ip_id);
    let mut ev = Vec::new();
    for (k, dt) in [0, 1, 3].into_iter().enumerate() {
        let seg = if k == 0 {
            syn.clone()
        } else {
            c.segment_at(
                true,
                syn.seq,
                0,
                SYN,
                &wire::synack_options_linux(c.client.mss, 7),
                &mut g.host_ip_id,
            )
        };
        let tag = g
            .put(
                &c,
                &seg,
                t2 + dt * SEC,
                drop_l3(RECEIVE_INSPECTION, LOC_TL_RCV_TCP_SYN_RECEIVE_INSPECT),
            )
            .expect("seen");
        ev.push(Draft::Drop {
            tag,
            reason: RECEIVE_INSPECTION,
            location: LOC_TL_RCV_TCP_SYN_RECEIVE_INSPECT,
            component: l3_drop(v6),
        });
    }
    g.plant(
        Locality::Local,
        Cause::Policy,
        Some(c.flow()),
        "A firewall rule drops a remote client's SYNs to port 4433 (1207 INET: receive inspection).",
        ev,
    );
    // And a connection the rules allow.
    let mut ok = g.outgoing();
    exchange(g, &mut ok, t + 200 * MS, 400, 20_000).max(t2 + 3 * SEC)
}

/// The NIC's receive queue overflows during a download (drops at the
/// miniport, then fast retransmissions by the server), and a send fails for
/// lack of resources (retransmitted by the host).
fn local_resources(g: &mut Gen, t: FileTime) -> FileTime {
    // 20348's PktMon.sys has no 217 "Receive queue full": it says 3 there.
    let rx_reason = if g.os_build >= 26_000 {
        RECEIVE_QUEUE_FULL
    } else {
        INSUFFICIENT_RESOURCES
    };
    let mut c = g.outgoing();
    let r = rtt(g);
    let t1 = handshake(g, &mut c, t, r);
    let t1 = message(g, &mut c, t1 + 300 * US, true, 300, r);
    let d = drop_nic(rx_reason, LOC_NDIS_M_DISPATCH_RECEIVE);
    let mut tr = Transfer::new(false, 30 * 1460, r).with(3, d).with(4, d);
    let o = transfer(g, &mut c, t1 + 200 * US, &mut tr);
    let mut ev: Vec<Draft> = o
        .local_drops
        .iter()
        .map(|&tag| Draft::Drop {
            tag,
            reason: rx_reason,
            location: LOC_NDIS_M_DISPATCH_RECEIVE,
            component: comp::NIC,
        })
        .collect();
    ev.extend(o.resent.iter().map(|x| Draft::Retransmission {
        tag: x.tag,
        original: x.original,
        trigger: if x.fast { "fast" } else { "timeout" },
    }));
    let flow = c.flow();
    let end1 = close(g, &mut c, o.end + 5 * MS, r);
    g.plant(
        Locality::Local,
        Cause::Resources,
        Some(flow),
        "The NIC's receive queue is full: two segments of a download are dropped at the miniport and sent again by the server.",
        ev,
    );
    // Upload: one segment is dropped at the miniport on send.
    let mut c = g.outgoing();
    let r = rtt(g);
    let t2 = handshake(g, &mut c, t + 400 * MS, r);
    let d = drop_nic(INSUFFICIENT_RESOURCES, LOC_NDIS_NEXT_SEND);
    let mut tr = Transfer::new(true, 12 * 1460, r).with(2, d);
    let o = transfer(g, &mut c, t2 + 300 * US, &mut tr);
    let mut ev: Vec<Draft> = o
        .local_drops
        .iter()
        .map(|&tag| Draft::Drop {
            tag,
            reason: INSUFFICIENT_RESOURCES,
            location: LOC_NDIS_NEXT_SEND,
            component: comp::NIC,
        })
        .collect();
    ev.extend(o.resent.iter().map(|x| Draft::Retransmission {
        tag: x.tag,
        original: x.original,
        trigger: if x.fast { "fast" } else { "timeout" },
    }));
    let flow = c.flow();
    let t3 = message(g, &mut c, o.end + 2 * MS, false, 200, r);
    let end2 = close(g, &mut c, t3 + 5 * MS, r);
    g.plant(
        Locality::Local,
        Cause::Resources,
        Some(flow),
        "A segment the host sends is dropped at the miniport for lack of resources (3 Insufficient resources) and sent again.",
        ev,
    );
    end1.max(end2)
}

/// The next hop on the local link does not answer ARP (or neighbor
/// solicitations): three requests, then the waiting SYN is dropped (922).
fn address_resolution(g: &mut Gen, t: FileTime) -> FileTime {
    let v6 = g.v6;
    let k = 60 + g.rng.below(100) as u8;
    let target = if v6 {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xDB8, 0x1, 0x1, 0, 0, 0, u16::from(k)))
    } else {
        IpAddr::V4(Ipv4Addr::new(192, 168, 1, k))
    };
    let local_port = g.port();
    let mut c = g.conn(true, target, 8443, local_port);
    let mut ev = Vec::new();
    let cpu = c.tx_cpu;
    for n in 0..3 {
        let mut f = Vec::new();
        match target {
            IpAddr::V4(a) => wire::arp_request(&mut f, g.host.mac, g.host.ipv4, a),
            IpAddr::V6(a) => wire::neighbor_solicitation(&mut f, g.host.mac, g.host.ipv6, a),
        }
        let tag = g.raw(t + n * SEC, f, Dir::Tx, Fate::Delivered, cpu);
        ev.push(Draft::UnansweredResolution { tag, target });
    }
    let syn = c.next_segment(true, 0, SYN, &mut g.host_ip_id);
    let d = jitter(g, 10, 200);
    let tag = g
        .put(
            &c,
            &syn,
            t + 3 * SEC + d,
            drop_l3(ADDRESS_RESOLUTION_TIMEOUT, LOC_NL_SEND_NEIGHBOR_QUEUE1),
        )
        .expect("seen");
    ev.push(Draft::Drop {
        tag,
        reason: ADDRESS_RESOLUTION_TIMEOUT,
        location: LOC_NL_SEND_NEIGHBOR_QUEUE1,
        component: l3_drop(v6),
    });
    g.plant(
        Locality::Local,
        Cause::AddressResolution,
        Some(c.flow()),
        "Nothing answers address resolution for an on-link peer: three unanswered ARP requests (IPv6: neighbor solicitations), then the waiting SYN is dropped (922 Address resolution timeout).",
        ev,
    );
    t + 4 * SEC
}

/// The host has no route to a network: a SYN and a UDP datagram are dropped (907).
fn no_route(g: &mut Gen, t: FileTime) -> FileTime {
    let v6 = g.v6;
    let (tcp_dst, udp_dst) = if v6 {
        (
            IpAddr::V6(Ipv6Addr::new(0xFD00, 0x99, 0, 0, 0, 0, 0, 5)),
            IpAddr::V6(Ipv6Addr::new(0xFD00, 0x99, 0, 0, 0, 0, 0, 9)),
        )
    } else {
        (
            IpAddr::V4(Ipv4Addr::new(10, 99, 0, 5)),
            IpAddr::V4(Ipv4Addr::new(172, 31, 255, 9)),
        )
    };
    let port = g.port();
    let mut c = g.conn(true, tcp_dst, 8443, port);
    let mut ev = Vec::new();
    let syn = c.next_segment(true, 0, SYN, &mut g.host_ip_id);
    for (k, dt) in [0i64, 2].into_iter().enumerate() {
        let seg = if k == 0 {
            syn.clone()
        } else {
            c.segment_at(
                true,
                syn.seq,
                0,
                SYN,
                &wire::syn_options_windows(c.client.mss, 8),
                &mut g.host_ip_id,
            )
        };
        let tag = g
            .put(&c, &seg, t + dt * SEC, drop_l3(NO_ROUTE, LOC_NL_SEND_COMMON1))
            .expect("seen");
        ev.push(Draft::Drop {
            tag,
            reason: NO_ROUTE,
            location: LOC_NL_SEND_COMMON1,
            component: l3_drop(v6),
        });
    }
    g.plant(
        Locality::Local,
        Cause::NoRoute,
        Some(c.flow()),
        "No route to the destination network: the SYN and its retry are dropped (907 No route available).",
        ev,
    );
    let sport = g.port();
    let mut ev = Vec::new();
    for n in 0..2u32 {
        let ip = g.host_ip_header(udp_dst);
        let mut f = Vec::new();
        wire::udp_frame(&mut f, g.eth(Dir::Tx), &ip, (sport, 33434), &probe_payload(n));
        let tag = g.raw(
            t + 300 * MS + i64::from(n) * SEC,
            f,
            Dir::Tx,
            Fate::DropL3 {
                reason: NO_ROUTE,
                location: LOC_NL_SEND_COMMON1,
            },
            1,
        );
        ev.push(Draft::Drop {
            tag,
            reason: NO_ROUTE,
            location: LOC_NL_SEND_COMMON1,
            component: l3_drop(v6),
        });
    }
    g.plant(
        Locality::Local,
        Cause::NoRoute,
        Some(udp_flow(g.host_ip(), sport, udp_dst, 33434)),
        "No route to the destination network: UDP datagrams are dropped (907 No route available).",
        ev,
    );
    let mut ok = g.outgoing();
    exchange(g, &mut ok, t + 100 * MS, 300, 8_000).max(t + 3 * SEC)
}

/// Segments arrive with a wrong checksum and are dropped (1203 INET: checksum
/// is invalid; IPv4 also 912 Bad checksum for the header); the server sends
/// them again after its retransmission timeout.
fn invalid_packet(g: &mut Gen, t: FileTime) -> FileTime {
    let v6 = g.v6;
    let mut c = g.outgoing();
    let r = rtt(g);
    let mut tc = handshake(g, &mut c, t, r);
    let mut ev = Vec::new();
    let layers: &[(&str, u32, u32)] = if v6 {
        &[("tcp", INET_CHECKSUM_INVALID, LOC_TL_RCV_TCP_VALIDATE1)]
    } else {
        &[
            ("tcp", INET_CHECKSUM_INVALID, LOC_TL_RCV_TCP_VALIDATE1),
            ("ipv4", BAD_CHECKSUM, LOC_NL_RCV_V4_VALIDATE2),
        ]
    };
    for &(layer, reason, location) in layers {
        // Request, then a short answer (small enough to be logged whole).
        tc = message(g, &mut c, tc + 2 * MS, true, 120, r);
        let len = 40 + g.rng.below(20) as u32;
        let mut seg = c.next_segment(false, len, ACK | PSH, &mut g.host_ip_id);
        let good = seg.frame.clone();
        let ip = wire::ETH_LEN;
        let at = if layer == "ipv4" {
            ip + 10
        } else {
            ip + if v6 { 40 } else { 20 } + 16
        };
        seg.frame[at] ^= 0x5A;
        let t_bad = tc + r / 2 + jitter(g, 100, 2_000);
        let tag = g.put(&c, &seg, t_bad, drop_l3(reason, location)).expect("seen");
        ev.push(Draft::BadChecksum { tag, layer });
        ev.push(Draft::Drop {
            tag,
            reason,
            location,
            component: l3_drop(v6),
        });
        // The server's retransmission timer: 200 ms + RTT.
        let t_again = t_bad + 200 * MS + r;
        let again = Segment {
            frame: good,
            ..seg.clone()
        };
        let again_tag = g.put(&c, &again, t_again, Delivery::Normal).expect("seen");
        c.arrive(&again);
        ev.push(Draft::Retransmission {
            tag: again_tag,
            original: tag,
            trigger: "timeout",
        });
        tc = t_again + jitter(g, 30, 80);
        ack(g, &mut c, true, tc);
    }
    let flow = c.flow();
    g.plant(
        Locality::Local,
        Cause::InvalidPacket,
        Some(flow),
        "Segments arrive with a wrong checksum and are dropped by tcpip.sys; the server sends them again.",
        ev,
    );
    close(g, &mut c, tc + 10 * MS, r)
}

/// Loss beyond the NIC: a segment the host sends leaves the NIC and is never
/// acknowledged, then is sent again after three duplicate ACKs; a last
/// segment is lost and sent again on timeout; a segment of a download never
/// arrives and the server sends it again after the host's duplicate ACKs.
fn remote_congestion(g: &mut Gen, t: FileTime) -> FileTime {
    let mut c = g.outgoing();
    let r = rtt(g);
    let t1 = handshake(g, &mut c, t, r);
    let mut tr = Transfer::new(true, 10 * 1460, r).with(3, Delivery::LostBeyond);
    let o1 = transfer(g, &mut c, t1 + 200 * US, &mut tr);
    let mut tr = Transfer::new(true, 5 * 1460, r).with(4, Delivery::LostBeyond);
    tr.window = 5;
    let o2 = transfer(g, &mut c, o1.end + 2 * MS, &mut tr);
    let ev = o1
        .resent
        .iter()
        .chain(&o2.resent)
        .map(|x| Draft::Retransmission {
            tag: x.tag,
            original: x.original,
            trigger: if x.fast { "fast" } else { "timeout" },
        })
        .collect();
    g.plant(
        Locality::Remote,
        Cause::Congestion,
        Some(c.flow()),
        "Segments of an upload leave the NIC and are lost beyond it: one is sent again after three duplicate ACKs, the last one after a retransmission timeout.",
        ev,
    );
    let t2 = message(g, &mut c, o2.end + 5 * MS, false, 300, r);
    let end1 = close(g, &mut c, t2 + 5 * MS, r);

    let mut c = g.outgoing();
    let r = rtt(g);
    let t3 = handshake(g, &mut c, t + 300 * MS, r);
    let t3 = message(g, &mut c, t3 + 300 * US, true, 350, r);
    let mut tr = Transfer::new(false, 20 * 1460, r).with(6, Delivery::LostBeyond);
    let o = transfer(g, &mut c, t3 + 200 * US, &mut tr);
    let ev = o
        .resent
        .iter()
        .map(|x| Draft::Retransmission {
            tag: x.tag,
            original: x.original,
            trigger: if x.fast { "fast" } else { "timeout" },
        })
        .collect::<Vec<_>>();
    g.plant(
        Locality::Remote,
        Cause::Congestion,
        Some(c.flow()),
        "A segment of a download is lost before reaching the host; the server sends it again after the host's duplicate ACKs.",
        ev,
    );
    let end2 = close(g, &mut c, o.end + 5 * MS, r);
    end1.max(end2)
}

/// A silent drop on the path: SYNs sent three times get no answer; and a
/// middlebox resets an established connection (its RST has another TTL).
fn remote_policy(g: &mut Gen, t: FileTime) -> FileTime {
    let mut c = g.outgoing();
    let syn = c.next_segment(true, 0, SYN, &mut g.host_ip_id);
    let mut ev = Vec::new();
    for (k, dt) in [0i64, 1, 3].into_iter().enumerate() {
        let seg = if k == 0 {
            syn.clone()
        } else {
            c.segment_at(
                true,
                syn.seq,
                0,
                SYN,
                &wire::syn_options_windows(c.client.mss, 8),
                &mut g.host_ip_id,
            )
        };
        let tag = g
            .put(&c, &seg, t + dt * SEC, Delivery::LostBeyond)
            .expect("a Tx packet is seen");
        ev.push(Draft::UnansweredSyn { tag });
    }
    g.plant(
        Locality::Remote,
        Cause::Policy,
        Some(c.flow()),
        "Something on the path silently drops the connection's SYNs: three attempts (0, 1, 3 s), no answer, no local drop.",
        ev,
    );
    // A middlebox resets an established connection right after the request.
    let mut c = g.outgoing();
    let r = rtt(g);
    let t1 = handshake(g, &mut c, t + 200 * MS, r);
    let t1 = message(g, &mut c, t1 + 500 * US, true, 517, r);
    let server_ttl = c.server.ttl;
    let mb_ttl = 250 - g.rng.below(6) as u8;
    c.server.ttl = mb_ttl;
    let saved_id = c.server.ip_id;
    c.server.ip_id = 0;
    let t_rst = t1 + r / 4;
    let rst = c.next_segment(false, 0, RST | ACK, &mut g.host_ip_id);
    let tag = g.put(&c, &rst, t_rst, Delivery::Normal).expect("seen");
    c.server.ttl = server_ttl;
    c.server.ip_id = saved_id;
    g.plant(
        Locality::Remote,
        Cause::Policy,
        Some(c.flow()),
        "A middlebox resets an established connection after the client's request (its RST's TTL differs from the server's).",
        vec![Draft::Reset {
            tag,
            idle_ms: ((t_rst - t1) / MS) as u64,
            ttl: mb_ttl,
        }],
    );
    (t + 3 * SEC).max(t_rst)
}

/// Nothing listens: ICMP port unreachable for UDP to a closed port, host
/// unreachable from a router for a SYN, and on the host itself 1204 drops
/// (with the host's RST and ICMP port unreachable) for a closed TCP and UDP port.
fn unreachable(g: &mut Gen, t: FileTime) -> FileTime {
    let v6 = g.v6;
    // UDP to a closed port of a server.
    let server = g.new_server();
    let sport = g.port();
    let cpu = 2;
    let r = rtt(g);
    let server_ttl = 64 - 6 - g.rng.below(8) as u8;
    let mut ev = Vec::new();
    for n in 0..3u32 {
        let ip = g.host_ip_header(server);
        let mut f = Vec::new();
        wire::udp_frame(&mut f, g.eth(Dir::Tx), &ip, (sport, 33434), &probe_payload(n));
        let t_send = t + i64::from(n) * SEC;
        g.raw(t_send, f.clone(), Dir::Tx, Fate::Delivered, cpu);
        // The server quotes the whole datagram.
        let ip_len = f.len() - wire::ETH_LEN;
        let rip = wire::Ip {
            src: server,
            dst: g.host_ip(),
            ttl: server_ttl,
            id: g.rng.below(65536) as u16,
            df: false,
            flow_label: 0,
        };
        let mut e = Vec::new();
        let (ty, code) = if v6 { (1, 4) } else { (3, 3) };
        wire::icmp_frame(&mut e, g.eth(Dir::Rx), &rip, ty, code, [0; 4], wire::quote(&f, ip_len));
        let tag = g.raw(t_send + r, e, Dir::Rx, Fate::Delivered, cpu);
        ev.push(Draft::Icmp {
            tag,
            v6,
            icmp_type: ty,
            code,
            mtu: None,
        });
    }
    g.plant(
        Locality::Remote,
        Cause::Unreachable,
        Some(udp_flow(g.host_ip(), sport, server, 33434)),
        "UDP datagrams to a port where nothing listens: the server answers ICMP port unreachable.",
        ev,
    );
    // A SYN to a host a router cannot reach.
    let dead = if v6 {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xDB8, 0x3, 0, 0, 0, 0, 0x77))
    } else {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 77))
    };
    let port = g.port();
    let mut c = g.conn(true, dead, 8443, port);
    let syn = c.next_segment(true, 0, SYN, &mut g.host_ip_id);
    let rt = router(g);
    let mut ev = Vec::new();
    for (k, dt) in [0i64, 1].into_iter().enumerate() {
        let seg = if k == 0 {
            syn.clone()
        } else {
            c.segment_at(
                true,
                syn.seq,
                0,
                SYN,
                &wire::syn_options_windows(c.client.mss, 8),
                &mut g.host_ip_id,
            )
        };
        let ts = t + 200 * MS + dt * SEC;
        g.put(&c, &seg, ts, Delivery::LostBeyond);
        let (tag, ty, code) = icmp_error_to_host(g, ts + r / 3, rt, 252, (3, 1), (1, 3), [0; 4], &seg.frame, c.rx_cpu);
        ev.push(Draft::Icmp {
            tag,
            v6,
            icmp_type: ty,
            code,
            mtu: None,
        });
    }
    g.plant(
        Locality::Remote,
        Cause::Unreachable,
        Some(c.flow()),
        "A router cannot reach the destination host and answers the SYNs with ICMP host (IPv6: address) unreachable.",
        ev,
    );
    // On the host: a remote client's SYN to a closed port (1204, then the host's RST).
    let mut c = incoming(g, 47001);
    let ts = t + 700 * MS;
    let (_, tag) = g.send(
        &mut c,
        ts,
        true,
        0,
        SYN,
        drop_l3(INET_ENDPOINT_NOT_FOUND, LOC_TL_RCV_TCP_MATCH),
    );
    let tag = tag.expect("seen");
    // RST, ACK acknowledging the SYN.
    c.server.rcv_next = c.client.next;
    let d = jitter(g, 30, 90);
    g.send(&mut c, ts + d, false, 0, RST | ACK, Delivery::Normal);
    g.plant(
        Locality::Local,
        Cause::Unreachable,
        Some(c.flow()),
        "A remote client connects to a port where nothing listens on the host: tcpip.sys drops the SYN (1204 INET: transport endpoint was not found) and answers RST.",
        vec![Draft::Drop {
            tag,
            reason: INET_ENDPOINT_NOT_FOUND,
            location: LOC_TL_RCV_TCP_MATCH,
            component: l3_drop(v6),
        }],
    );
    // A remote client's UDP datagram to a closed port (1204, then ICMP port unreachable from the host).
    let client = g.new_server();
    let cport = 49152 + g.rng.below(16000) as u16;
    let rip = wire::Ip {
        src: client,
        dst: g.host_ip(),
        ttl: 55,
        id: g.rng.below(65536) as u16,
        df: false,
        flow_label: 0,
    };
    let mut f = Vec::new();
    wire::udp_frame(&mut f, g.eth(Dir::Rx), &rip, (cport, 33435), &probe_payload(99));
    let ts = t + 900 * MS;
    let tag = g.raw(
        ts,
        f.clone(),
        Dir::Rx,
        Fate::DropL3 {
            reason: INET_ENDPOINT_NOT_FOUND,
            location: LOC_TL_RCV_UDP_RECEIVE1,
        },
        3,
    );
    let ip = g.host_ip_header(client);
    let ip_len = f.len() - wire::ETH_LEN;
    let mut e = Vec::new();
    let (ty, code) = if v6 { (1, 4) } else { (3, 3) };
    wire::icmp_frame(&mut e, g.eth(Dir::Tx), &ip, ty, code, [0; 4], wire::quote(&f, ip_len));
    let d = jitter(g, 40, 120);
    g.raw(ts + d, e, Dir::Tx, Fate::Delivered, 3);
    g.plant(
        Locality::Local,
        Cause::Unreachable,
        Some(udp_flow(client, cport, g.host_ip(), 33435)),
        "A remote client's UDP datagram to a port where nothing listens on the host: dropped (1204) and answered with ICMP port unreachable.",
        vec![Draft::Drop {
            tag,
            reason: INET_ENDPOINT_NOT_FOUND,
            location: LOC_TL_RCV_UDP_RECEIVE1,
            component: l3_drop(v6),
        }],
    );
    t + 3 * SEC
}

/// Connections reset after a long idle: a NAT forgot the mapping (its RST is
/// dropped by tcpip.sys as 1210 INET: received RST after resetting the
/// connection), and a server timed the connection out.
fn session_loss(g: &mut Gen, t: FileTime) -> FileTime {
    let mut end = t;
    for (idle_s, nat) in [(100i64, true), (45, false)] {
        let mut c = g.outgoing();
        let r = rtt(g);
        let t1 = handshake(g, &mut c, t + if nat { 0 } else { 150 * MS }, r);
        let t1 = message(g, &mut c, t1 + 400 * US, true, 300, r);
        let t1 = message(g, &mut c, t1 + 200 * US, false, 4_000, r);
        let t_idle = t1 + idle_s * SEC + g.rng.range(0, 900) * MS;
        let (tag, idle_ms, ttl, ev_drop);
        if nat {
            let (_, _) = g.send(&mut c, t_idle, true, 200, ACK | PSH, Delivery::LostBeyond);
            let t_rst = t_idle + r / 3;
            let saved = c.server.ttl;
            c.server.ttl = 62;
            let rst = c.next_segment(false, 0, RST, &mut g.host_ip_id);
            c.server.ttl = saved;
            tag = g
                .put(&c, &rst, t_rst, drop_l3(INET_RECEIVED_RST, LOC_TL_RCV_TCP_CAREFUL4))
                .expect("seen");
            idle_ms = ((t_idle - t1) / MS) as u64;
            ttl = 62;
            ev_drop = Some(Draft::Drop {
                tag,
                reason: INET_RECEIVED_RST,
                location: LOC_TL_RCV_TCP_CAREFUL4,
                component: l3_drop(g.v6),
            });
            end = end.max(t_rst);
        } else {
            let rst = c.next_segment(false, 0, RST | ACK, &mut g.host_ip_id);
            tag = g.put(&c, &rst, t_idle, Delivery::Normal).expect("seen");
            idle_ms = ((t_idle - t1) / MS) as u64;
            ttl = c.server.ttl;
            ev_drop = None;
            end = end.max(t_idle);
        }
        let mut ev = vec![Draft::Reset { tag, idle_ms, ttl }];
        ev.extend(ev_drop);
        g.plant(
            Locality::Remote,
            Cause::SessionLoss,
            Some(c.flow()),
            if nat {
                "After 100 s idle the host's next request meets a NAT that forgot the mapping: it answers RST (TTL 62), which tcpip.sys logs as 1210 INET: received RST."
            } else {
                "After 45 s idle the server times the connection out and resets it."
            },
            ev,
        );
    }
    end
}

/// A router's next-hop MTU is smaller than the host's: full-size segments get
/// ICMP fragmentation needed (IPv6: packet too big, MTU 1280) and are sent again smaller.
fn mtu(g: &mut Gen, t: FileTime) -> FileTime {
    let v6 = g.v6;
    let mut c = g.outgoing();
    let r = rtt(g);
    let t1 = handshake(g, &mut c, t, r);
    let t1 = message(g, &mut c, t1 + 300 * US, false, 200, r);
    let path_mtu: u32 = if v6 { 1280 } else { 1400 };
    let mss = u32::from(c.client.mss);
    let first_seq = c.client.next;
    let mut originals = Vec::new();
    let mut ts = t1 + 2 * MS;
    for _ in 0..4 {
        let (seg, tag) = g.send(&mut c, ts, true, mss, ACK, Delivery::LostBeyond);
        originals.push((seg, tag.expect("Tx is seen")));
        ts += jitter(g, 12, 16);
    }
    let rt = router(g);
    let mut ev = Vec::new();
    let mut t_icmp = t1 + 2 * MS + r / 4;
    for (seg, _) in originals.iter().take(2) {
        let rest = if v6 {
            path_mtu.to_be_bytes()
        } else {
            [0, 0, (path_mtu >> 8) as u8, path_mtu as u8]
        };
        let (tag, ty, code) = icmp_error_to_host(g, t_icmp, rt, 250, (3, 4), (2, 0), rest, &seg.frame, c.rx_cpu);
        ev.push(Draft::Icmp {
            tag,
            v6,
            icmp_type: ty,
            code,
            mtu: Some(path_mtu),
        });
        t_icmp += jitter(g, 15, 40);
    }
    // The same bytes again in segments that fit.
    let small = path_mtu - if v6 { 60 } else { 40 };
    let total = 4 * mss;
    let mut off = 0;
    let mut tr = t_icmp + jitter(g, 20, 60);
    let mut first_resend = None;
    while off < total {
        let len = small.min(total - off);
        let seq = first_seq.wrapping_add(off);
        let (_, tag) = g.resend(&mut c, tr, true, seq, len, ACK, Delivery::Normal);
        first_resend.get_or_insert(tag.expect("seen"));
        off += len;
        tr += jitter(g, 12, 16);
    }
    c.client.next = first_seq.wrapping_add(total);
    ev.push(Draft::Retransmission {
        tag: first_resend.expect("sent"),
        original: originals[0].1,
        trigger: "pmtu",
    });
    let ta = tr + r;
    ack(g, &mut c, false, ta);
    let t2 = message(g, &mut c, ta + 2 * MS, false, 300, r);
    g.plant(
        Locality::Remote,
        Cause::Mtu,
        Some(c.flow()),
        "A router's next-hop MTU is smaller than the host's: full-size segments are answered with ICMP fragmentation needed (IPv6: packet too big) and sent again in smaller segments.",
        ev,
    );
    close(g, &mut c, t2 + 5 * MS, r)
}

/// A PMTU black hole: full-size segments vanish on the path with no ICMP,
/// are sent again on timeout three times while small packets pass, until the
/// host falls back to 536-byte segments.
fn pmtu_black_hole(g: &mut Gen, t: FileTime) -> FileTime {
    let mut c = g.outgoing();
    let r = rtt(g);
    let t1 = handshake(g, &mut c, t, r);
    let t1 = message(g, &mut c, t1 + 300 * US, true, 300, r);
    let t1 = message(g, &mut c, t1 + 200 * US, false, 250, r);
    let mss = u32::from(c.client.mss);
    let first_seq = c.client.next;
    let mut ts = t1 + 3 * MS;
    let mut originals = Vec::new();
    for _ in 0..3 {
        let (_, tag) = g.send(&mut c, ts, true, mss, ACK, Delivery::LostBeyond);
        originals.push(tag.expect("seen"));
        ts += jitter(g, 12, 16);
    }
    let mut ev = Vec::new();
    let mut rto = (2 * r).max(300 * MS);
    let mut tr = ts;
    for _ in 0..3 {
        tr += rto;
        let (_, tag) = g.resend(&mut c, tr, true, first_seq, mss, ACK, Delivery::LostBeyond);
        ev.push(Draft::Retransmission {
            tag: tag.expect("seen"),
            original: originals[0],
            trigger: "timeout",
        });
        rto *= 2;
    }
    // Black hole detection: the same bytes again in 536-byte segments.
    tr += rto;
    let total = 3 * mss;
    let mut off = 0;
    while off < total {
        let len = 536.min(total - off);
        g.resend(
            &mut c,
            tr,
            true,
            first_seq.wrapping_add(off),
            len,
            ACK,
            Delivery::Normal,
        );
        off += len;
        tr += jitter(g, 12, 16);
    }
    c.client.next = first_seq.wrapping_add(total);
    let ta = tr + r;
    ack(g, &mut c, false, ta);
    g.plant(
        Locality::Remote,
        Cause::Mtu,
        Some(c.flow()),
        "A PMTU black hole: full-size segments are lost on the path without ICMP and sent again on timeout (0.3, 0.6, 1.2 s) while small packets pass, until the host falls back to 536-byte segments.",
        ev,
    );
    close(g, &mut c, ta + 5 * MS, r)
}

// ---------------------------------------------------------------------------
// Background traffic
// ---------------------------------------------------------------------------

/// One background connection: the packets it has left to send.
struct FillFlow {
    conn: Conn,
    /// (from client, payload length, flags)
    steps: VecDeque<(bool, u32, u8)>,
}

/// Ordinary traffic of many concurrent TCP connections (handshake, request,
/// response with an ACK every second segment, close), produced one packet at
/// a time in time order, round robin over the open connections. Once the
/// target number of appearances is reached no connection is opened, and the
/// open ones are finished.
pub(super) struct Filler {
    flows: Vec<FillFlow>,
    t: FileTime,
    gap: (i64, i64),
    target: u64,
    produced: u64,
    turn: usize,
    /// The next job (its frame buffer is reused), if any.
    job: Job,
    has_job: bool,
    scale: bool,
    max_flows: usize,
}

impl Filler {
    pub(super) fn new(g: &mut Gen, start: FileTime, end: FileTime, target: u64, scale: bool) -> Filler {
        // At scale: 64 connections, a packet every 5–30 µs. In the background of a
        // scenario: 4 connections spread over its time span.
        let (max_flows, gap) = if scale {
            (64, (50, 300))
        } else {
            let packets = (target / 5).max(1) as i64;
            let mean = ((end - start) / packets).max(10 * US);
            (4, (mean / 2, mean * 3 / 2))
        };
        let mut f = Filler {
            flows: Vec::new(),
            t: start - SEC / 2,
            gap,
            target,
            produced: 0,
            turn: 0,
            job: Job {
                time: 0,
                frame: Vec::with_capacity(1600),
                dir: Dir::Tx,
                v6: false,
                fate: Fate::Delivered,
                cpu: 0,
                pid: 0,
                tid: 0,
                tag: None,
            },
            has_job: false,
            scale,
            max_flows,
        };
        if target > 0 {
            f.advance(g);
        }
        f
    }

    fn new_flow(&mut self, g: &mut Gen) -> FillFlow {
        let peer = if self.scale {
            let n = g.rng.below(4096) as u32;
            g.server_ip(10_000 + n)
        } else {
            g.new_server()
        };
        let port = *g.rng.pick(&super::SERVER_PORTS);
        let local_port = g.port();
        let conn = g.conn(true, peer, port, local_port);
        let mss = u32::from(conn.client.mss.min(conn.server.mss));
        let mut steps = VecDeque::with_capacity(48);
        steps.push_back((true, 0, SYN));
        steps.push_back((false, 0, SYN | ACK));
        steps.push_back((true, 0, ACK));
        steps.push_back((true, g.rng.range(150, 900) as u32, ACK | PSH));
        let segments = if self.scale {
            g.rng.range(1, 24) as u32
        } else {
            g.rng.range(1, 8) as u32
        };
        let last_len = g.rng.range(100, i64::from(mss)) as u32;
        for k in 0..segments {
            let last = k + 1 == segments;
            steps.push_back((
                false,
                if last { last_len } else { mss },
                if last { ACK | PSH } else { ACK },
            ));
            if k % 2 == 1 || last {
                steps.push_back((true, 0, ACK));
            }
        }
        steps.push_back((true, 0, FIN | ACK));
        steps.push_back((false, 0, FIN | ACK));
        steps.push_back((true, 0, ACK));
        FillFlow { conn, steps }
    }

    /// Prepares the next job (or none when done).
    pub(super) fn advance(&mut self, g: &mut Gen) {
        self.has_job = false;
        let opening = self.produced < self.target;
        while opening && self.flows.len() < self.max_flows {
            let f = self.new_flow(g);
            self.flows.push(f);
        }
        if self.flows.is_empty() {
            return;
        }
        self.turn %= self.flows.len();
        self.t += g.rng.range(self.gap.0.max(1), self.gap.1.max(1));
        let flow = &mut self.flows[self.turn];
        let (from_client, len, fl) = flow.steps.pop_front().expect("open flows have steps");
        let seq = flow
            .conn
            .next_segment_into(&mut self.job.frame, from_client, len, fl, &mut g.host_ip_id);
        flow.conn.arrive_seq(from_client, seq, len, fl);
        let c = &flow.conn;
        let local = c.is_local(from_client);
        let (dir, cpu, pid, tid) = if local {
            (Dir::Tx, c.tx_cpu, c.pid, c.tid)
        } else {
            (Dir::Rx, c.rx_cpu, 4, 0x04FC + 4 * u32::from(c.rx_cpu))
        };
        let v6 = c.is_v6();
        self.produced += stack::appearances_of(dir, Fate::Delivered);
        let j = &mut self.job;
        j.time = self.t;
        j.dir = dir;
        j.v6 = v6;
        j.cpu = cpu;
        j.pid = pid;
        j.tid = tid;
        self.has_job = true;
        if flow.steps.is_empty() {
            self.flows.swap_remove(self.turn);
        } else {
            self.turn += 1;
        }
    }

    /// The next job, if any; [`Filler::advance`] moves on.
    pub(super) fn current(&self) -> Option<&Job> {
        self.has_job.then_some(&self.job)
    }
}
