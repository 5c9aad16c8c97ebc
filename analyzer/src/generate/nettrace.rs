//! netsh-style `NetTrace.txt` beside a generated capture, and a catalog of
//! every Microsoft-Windows-TCPIP event shape the reader knows.
//!
//! [`Collector`] watches the generated records like a reader's sink would
//! and keeps, per packet, what tcpip.sys would have logged about it: a TCP
//! send event for every data segment the host sends, the retransmit timer
//! expiring (or a fast retransmit) before a segment is sent again, the
//! send-tracker mark and the re-armed timer after it, a connect-attempt line
//! for a SYN sent again, and a network- or transport-layer drop event for
//! every PktMon drop of tcpip.sys whose reason has a TCP/IP discard reason.
//! What sent a segment again comes from the ground truth when the scenario
//! planted it, else from the gap since its first copy (≥ 200 ms: the timer).
//! The lines carry the capturing machine's local time, as netsh prints it, so
//! a reader has to find the offset to the capture's UTC.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use super::GroundTruth;
use crate::flows::parse::{self as view, Transport};
use crate::model::*;
use crate::packets::HopKey;
use crate::sink::atomic::AtomicFile;
use crate::tcpip::reasons::{self, DropLayer, INET_DISCARD_REASONS, IP_DISCARD_REASONS, TCP_STATES, TIMERS};
use crate::tcpip::write::{line, Language};
use crate::tcpip::*;

const US: FileTime = 10;
const MS: FileTime = 10_000;

/// What one packet tells tcpip.sys's events.
#[derive(Debug, Clone)]
struct Seen {
    frame: u64,
    time: FileTime,
    cpu: u16,
    sent: bool,
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    ports: Option<(u16, u16)>,
    tcp: Option<TcpFacts>,
    /// The first PktMon drop of it that has a TCP/IP discard reason.
    drop: Option<(DropLayer, u32)>,
}

#[derive(Debug, Clone, Copy)]
struct TcpFacts {
    seq: u32,
    ack: u32,
    flags: u16,
    len: u32,
    window: u16,
}

/// How long the ids of recent appearances are kept to tell a packet's first
/// appearance from its further hops (all hops of a generated packet fall within
/// a few ms; the window matches [`crate::packets::Grouper`]'s).
const HOP_WINDOW: FileTime = 100 * MS;
/// Shared ids (builds before 26100) repeat only after a long time.
const SHARED_WINDOW: FileTime = 10 * 10_000_000;

/// A sink that keeps what the netsh text of a generated capture needs: the
/// TCP packets and the packets tcpip.sys dropped, in first-appearance order.
///
/// It tells a packet's first appearance from its further hops as
/// [`crate::packets::Grouper`] does for the generator's two id schemes — one
/// (PktGroupId, PktNumber) per packet before 26100, one id per event chained
/// by id − 1 with the same bytes from 26100 on — but forgets ids once they are
/// too old to be continued, so memory stays bounded by a moment of traffic
/// rather than growing with the capture.
#[derive(Default)]
pub struct Collector {
    seen: Vec<Seen>,
    /// Per-event ids (26100+): id → (time, fingerprint, its packet's entry in `seen`).
    recent: HashMap<u64, (FileTime, u64, u16, Option<usize>)>,
    /// Shared ids: (PktGroupId, PktNumber) → (time, entry in `seen`).
    shared: HashMap<(u64, u16), (FileTime, Option<usize>)>,
    since_prune: u32,
    bias_minutes: i32,
}

impl Collector {
    /// The packet an appearance continues, if any (`Some(None)`: a packet not kept).
    fn continues(&self, k: &HopKey, chain: bool) -> Option<Option<usize>> {
        let g = k.group_id?;
        if !chain {
            return self.shared.get(&(g, k.pkt_number.unwrap_or(0))).map(|&(_, p)| p);
        }
        (1..=32u64.min(g & 0xFFFF_FFFF_FFFF)).find_map(|d| {
            let &(t, fp, len, p) = self.recent.get(&(g - d))?;
            (k.time - t <= HOP_WINDOW && fp == k.fingerprint && len == k.fingerprint_len).then_some(p)
        })
    }

    fn remember(&mut self, k: &HopKey, chain: bool, packet: Option<usize>) {
        let Some(g) = k.group_id else { return };
        if chain {
            self.recent
                .insert(g, (k.time, k.fingerprint, k.fingerprint_len, packet));
        } else {
            self.shared.insert((g, k.pkt_number.unwrap_or(0)), (k.time, packet));
        }
        self.since_prune += 1;
        if self.since_prune >= 65_536 {
            self.since_prune = 0;
            let now = k.time;
            self.recent.retain(|_, v| now - v.0 <= HOP_WINDOW);
            self.shared.retain(|_, v| now - v.0 <= SHARED_WINDOW);
        }
    }
}

impl RecordSink for Collector {
    fn record(&mut self, ctx: &Context<'_>, record: Record) {
        let Record::Packet(a) = record else { return };
        self.bias_minutes = ctx.info.timezone_bias_minutes.unwrap_or(0);
        let chain = ctx.info.os_build.unwrap_or(0) >= 26_100;
        let k = HopKey::of(&a);
        let mut packet = match self.continues(&k, chain) {
            Some(p) => p,
            // A first appearance: TCP packets are kept (their send events and retransmissions).
            None => seen_of(&a).filter(|s| s.tcp.is_some()).map(|s| {
                self.seen.push(s);
                self.seen.len() - 1
            }),
        };
        if let Some(d) = &a.drop {
            let text = d.reason.and_then(|c| ctx.catalog.drop_reason(c));
            if let Some(reason) = d.reason.and_then(|c| reasons::from_pktmon(c, text)) {
                // A packet not kept so far is kept from its drop on.
                if packet.is_none() {
                    packet = seen_of(&a).map(|s| {
                        self.seen.push(s);
                        self.seen.len() - 1
                    });
                }
                if let Some(s) = packet.and_then(|p| self.seen.get_mut(p)) {
                    s.drop = s.drop.or(Some(reason));
                }
            }
        }
        self.remember(&k, chain, packet);
    }
}

fn seen_of(a: &Appearance) -> Option<Seen> {
    let v = view::parse(a.link_type, &a.payload)?;
    let ip = v.ip.as_ref()?;
    let (ports, tcp) = match &v.transport {
        Transport::Tcp(t) => (
            Some((t.src_port, t.dst_port)),
            Some(TcpFacts {
                seq: t.seq,
                ack: t.ack,
                flags: t.flags,
                len: t.segment_len,
                window: t.window,
            }),
        ),
        Transport::Udp(u) => (Some((u.src_port, u.dst_port)), None),
        _ => (None, None),
    };
    Some(Seen {
        frame: a.index + 1,
        time: a.time,
        cpu: a.cpu.unwrap_or(0),
        sent: matches!(a.direction, Some(2 | 4 | 6)),
        src: ip.src,
        dst: ip.dst,
        protocol: ip.protocol,
        ports,
        tcp,
        drop: None,
    })
}

/// Per connection: its handle and what TCP knows.
struct ConnState {
    handle: u64,
    snd_una: u32,
    snd_max: u32,
    /// Sequence number → time of its last transmission.
    sent: HashMap<u32, FileTime>,
    syns: u64,
    peer_window: u64,
}

fn family(a: IpAddr) -> Coded {
    if a.is_ipv4() {
        Coded::new(2, "IPV4")
    } else {
        Coded::new(23, "IPV6")
    }
}

fn protocol(p: u8) -> Coded {
    match p {
        1 => Coded::new(1, "ICMP"),
        6 => Coded::new(6, "TCP"),
        17 => Coded::new(17, "UDP"),
        58 => Coded::new(58, "ICMPV6"),
        n => Coded::new(u32::from(n), ""),
    }
}

fn reason_coded(layer: DropLayer, code: u32) -> Coded {
    Coded::new(code, reasons::reason(layer, code).map_or("", |r| r.text))
}

fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl Collector {
    /// The TCP/IP events of the capture, in time order, on the capturing
    /// machine's local clock. `truth` names what sent planted retransmissions again.
    pub fn events(&self, truth: &GroundTruth) -> Vec<TcpipRecord> {
        let mut trigger_of: HashMap<u64, &str> = HashMap::new();
        for p in &truth.planted {
            for e in &p.evidence {
                if let super::Evidence::Retransmission { frame, trigger, .. } = e {
                    trigger_of.insert(*frame, trigger);
                }
            }
        }
        let local_offset = -FileTime::from(self.bias_minutes) * 60 * 10_000_000;
        let mut out: Vec<TcpipRecord> = Vec::new();
        let mut push = |time: FileTime, cpu: u16, event: TcpipEvent| {
            out.push(TcpipRecord {
                line: 0,
                cpu,
                process_id: 0,
                thread_id: 0,
                time: time + local_offset,
                event,
            });
        };
        let mut conns: HashMap<(SocketAddr, SocketAddr), ConnState> = HashMap::new();
        // Entries are in the order of their first appearance, or of the drop
        // for packets kept from their drop on: sort by time as the events are.
        let mut order: Vec<&Seen> = self.seen.iter().collect();
        order.sort_by_key(|s| s.time);
        for s in order {
            if let Some((layer, code)) = s.drop {
                push(s.time - 3 * US, s.cpu, drop_event(s, layer, code));
            }
            let (Some(t), Some((sp, dp))) = (s.tcp, s.ports) else {
                continue;
            };
            let (local, remote) = if s.sent {
                (SocketAddr::new(s.src, sp), SocketAddr::new(s.dst, dp))
            } else {
                (SocketAddr::new(s.dst, dp), SocketAddr::new(s.src, sp))
            };
            let n = conns.len() as u64;
            let c = conns.entry((local, remote)).or_insert_with(|| ConnState {
                handle: 0xFFFF_C30A_1E40_0000 + n * 0x2A0,
                snd_una: t.seq,
                snd_max: t.seq,
                sent: HashMap::new(),
                syns: 0,
                peer_window: 65535,
            });
            if !s.sent {
                if t.flags & 0x10 != 0 && seq_lt(c.snd_una, t.ack) {
                    c.snd_una = t.ack;
                }
                // The SYN-ACK's window is not scaled; later ones are (the peers use window scale 7).
                c.peer_window = if t.flags & 0x02 != 0 {
                    u64::from(t.window)
                } else {
                    u64::from(t.window) << 7
                };
                continue;
            }
            if t.flags & 0x02 != 0 {
                c.syns += 1;
                c.snd_una = t.seq;
                c.snd_max = t.seq.wrapping_add(1);
                if c.syns > 1 {
                    push(
                        s.time - 4 * US,
                        s.cpu,
                        TcpipEvent::Timer(TimerEvent {
                            connection: c.handle,
                            timer: Coded::new(1, TIMERS[1]),
                            expire_ms: None,
                            processor: None,
                            last_interrupt_time: None,
                            last_microsecond_count: None,
                        }),
                    );
                    push(
                        s.time - 2 * US,
                        s.cpu,
                        TcpipEvent::Connection(ConnectionLine {
                            connection: c.handle,
                            local,
                            remote,
                            rexmit_count: Some(c.syns - 1),
                            what: "retransmitting connect attempt".to_string(),
                        }),
                    );
                }
                continue;
            }
            if t.len == 0 {
                continue;
            }
            let end = t.seq.wrapping_add(t.len);
            let again = c.sent.get(&t.seq).copied();
            let gap_ms = again.map(|first| ((s.time - first) / MS).max(1) as u64);
            let rto = gap_ms.unwrap_or(300).max(200);
            if let Some(gap) = gap_ms {
                let by_timer = match trigger_of.get(&s.frame) {
                    Some(&"timeout") => true,
                    Some(_) => false,
                    None => gap >= 200,
                };
                let cause = if by_timer {
                    TcpipEvent::Timer(TimerEvent {
                        connection: c.handle,
                        timer: Coded::new(0, TIMERS[0]),
                        expire_ms: None,
                        processor: None,
                        last_interrupt_time: None,
                        last_microsecond_count: None,
                    })
                } else {
                    TcpipEvent::RetransmitSend(RetransmitSend {
                        connection: c.handle,
                        kind: RetransmitSendKind::Fast,
                        bytes_to_send: u64::from(t.len),
                        snd_nxt: t.seq,
                    })
                };
                push(s.time - 5 * US, s.cpu, cause);
            }
            if seq_lt(c.snd_max, end) {
                c.snd_max = end;
            }
            push(
                s.time - 3 * US,
                s.cpu,
                TcpipEvent::Send(SendEvent {
                    connection: c.handle,
                    local,
                    remote,
                    seq: t.seq,
                    bytes_sent: u64::from(t.len),
                    cwnd: 14_600,
                    snd_wnd: c.peer_window,
                    srtt: 20_000,
                    rttvar: 5_000,
                    rto,
                    rcv_wnd: 65_535,
                    pacing_rate: 0,
                    state: Coded::new(4, TCP_STATES[4]),
                    congestion_state: u64::from(again.is_some()),
                    snd_una: c.snd_una,
                    snd_max: c.snd_max,
                    recovery_max: if again.is_some() { c.snd_max } else { 0 },
                    rcv_buf_set: Coded::new(0, "FALSE"),
                    max_rcv_buf: 65_535,
                }),
            );
            if again.is_some() {
                push(
                    s.time - 2 * US,
                    s.cpu,
                    TcpipEvent::RexmitMark(RexmitMark {
                        connection: c.handle,
                        start: t.seq,
                        end,
                        timestamp: (s.time / MS) as u64 & 0xFFFF_FFFF,
                        in_flight_count: 1,
                        sacked_bytes: 0,
                        bytes_in_flight: u64::from(c.snd_max.wrapping_sub(c.snd_una)),
                    }),
                );
                push(
                    s.time - US,
                    s.cpu,
                    TcpipEvent::Timer(TimerEvent {
                        connection: c.handle,
                        timer: Coded::new(0, TIMERS[0]),
                        expire_ms: Some(rto * 2),
                        processor: Some(u32::from(s.cpu)),
                        last_interrupt_time: Some((s.time / 100) as u64),
                        last_microsecond_count: Some((s.time / 10) as u64),
                    }),
                );
            }
            c.sent.insert(t.seq, s.time);
        }
        // Stable: the events of one packet keep their order.
        out.sort_by_key(|r| r.time);
        out
    }
}

fn drop_event(s: &Seen, layer: DropLayer, code: u32) -> TcpipEvent {
    match layer {
        DropLayer::Network => TcpipEvent::NetworkDrop(NetworkDrop {
            protocol: protocol(s.protocol),
            family: family(s.src),
            count: 1,
            interface: Some(7),
            source: s.src,
            destination: s.dst,
            reason: reason_coded(layer, code),
            direction: Some(if s.sent {
                Coded::new(0, "Send")
            } else {
                Coded::new(1, "Receive")
            }),
            nbl: Some(0xFFFF_A08C_0000_0000 | (s.frame << 4)),
        }),
        DropLayer::Transport => {
            let (sp, dp) = s.ports.unwrap_or((0, 0));
            let (local, remote) = if s.sent {
                (SocketAddr::new(s.src, sp), SocketAddr::new(s.dst, dp))
            } else {
                (SocketAddr::new(s.dst, dp), SocketAddr::new(s.src, sp))
            };
            TcpipEvent::TransportDrop(TransportDrop {
                protocol: protocol(s.protocol),
                family: family(s.src),
                count: 1,
                local,
                remote,
                reason: reason_coded(layer, code),
            })
        }
    }
}

/// Lines of other providers (and a TCP/IP event of a kind not parsed) that a
/// real trace has around the TCP/IP events; readers count and skip them.
fn other_lines(first: FileTime) -> Vec<String> {
    let p = |t: FileTime| crate::tcpip::write::prefix(2, 0x0E64, 0x0E3C, t);
    vec![
        format!(
            "{}[{PROVIDER}]TCP software RSC global disabled mask = 0, UDP software URO global disabled mask = 0.",
            p(first - 2 * MS)
        ),
        format!(
            "{}[Microsoft-Windows-NDIS-PacketCapture]Packet Fragment (74 (0x4A) bytes)",
            p(first - MS)
        ),
    ]
}

/// The text of a trace, with each record's line number set to where it is written.
pub fn render(records: &mut [TcpipRecord], lang: Language) -> String {
    let mut text = String::new();
    let mut n = 0u64;
    if let Some(first) = records.first().map(|r| r.time) {
        for l in other_lines(first) {
            text.push_str(&l);
            text.push('\n');
            n += 1;
        }
    }
    for r in records.iter_mut() {
        n += 1;
        r.line = n;
        text.push_str(&line(r, lang));
        text.push('\n');
    }
    text
}

/// UTF-16LE with BOM and CRLF, or UTF-8 with LF.
pub fn encode(text: &str, utf16: bool) -> Vec<u8> {
    if !utf16 {
        return text.as_bytes().to_vec();
    }
    let mut out = vec![0xFF, 0xFE];
    for u in text.replace('\n', "\r\n").encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

/// Writes `records` as a netsh trace text (UTF-16LE with BOM and CRLF), whole or not at all.
pub fn write_file(path: &Path, records: &mut [TcpipRecord]) -> io::Result<()> {
    let bytes = encode(&render(records, Language::English), true);
    let mut f = AtomicFile::create(path)?;
    f.write_all(&bytes)?;
    f.commit()
}

/// Every event shape the reader knows with every value its maps have: each
/// IP and INET discard reason (IPv4 and IPv6, sent and received, the older
/// templates without interface and NBL too), every TCP timer started and
/// expired, tail loss probes, send events in every TCP state, send-tracker
/// marks, the three retransmit sends and connection lines. For tests of the
/// reader and writer; times start at `start`, 1 ms apart.
pub fn catalog(start: FileTime) -> Vec<TcpipRecord> {
    let mut events = Vec::new();
    let v4 = |x: u8| IpAddr::from([10, 0, 0, x]);
    let v6 = |x: u16| IpAddr::from([0x2001, 0xDB8, 0, 0, 0, 0, 0, x]);
    for (i, r) in IP_DISCARD_REASONS.iter().enumerate() {
        let (src, dst) = if i % 2 == 0 { (v4(1), v4(2)) } else { (v6(1), v6(2)) };
        let newer = i % 5 != 4;
        events.push(TcpipEvent::NetworkDrop(NetworkDrop {
            protocol: protocol([1u8, 6, 17, 58][i % 4]),
            family: family(src),
            count: 1 + (i as u64 % 3),
            interface: newer.then_some(13 + i as u32),
            source: src,
            destination: dst,
            reason: Coded::new(r.code, r.text),
            direction: newer.then(|| Coded::new((i % 2) as u32, ["Send", "Receive"][i % 2])),
            nbl: (i % 5 < 3).then_some(0xFFFF_E189_BEAF_3AC0 + i as u64 * 0x100),
        }));
    }
    for (i, r) in INET_DISCARD_REASONS.iter().enumerate() {
        let (l, rm) = if i % 2 == 0 { (v4(1), v4(9)) } else { (v6(1), v6(9)) };
        events.push(TcpipEvent::TransportDrop(TransportDrop {
            protocol: protocol(if i % 3 == 2 { 17 } else { 6 }),
            family: family(l),
            count: 1 + i as u64,
            local: SocketAddr::new(l, 443),
            remote: SocketAddr::new(rm, 50_000 + i as u16),
            reason: Coded::new(r.code, r.text),
        }));
    }
    let conn = |i: u64| 0xFFFF_E189_BD81_1AA0 + i * 0x1000;
    for (i, name) in TIMERS.iter().enumerate() {
        let timer = Coded::new(i as u32, name);
        events.push(TcpipEvent::Timer(TimerEvent {
            connection: conn(i as u64),
            timer: timer.clone(),
            expire_ms: Some(100 * (i as u64 + 1)),
            processor: Some(i as u32),
            last_interrupt_time: Some(305_324_952_689 + i as u64),
            last_microsecond_count: Some(30_532_515_324 + i as u64),
        }));
        events.push(TcpipEvent::Timer(TimerEvent {
            connection: conn(i as u64),
            timer,
            expire_ms: None,
            processor: None,
            last_interrupt_time: None,
            last_microsecond_count: None,
        }));
    }
    for (code, text) in [(2, "TimerFired"), (1, "")] {
        events.push(TcpipEvent::TlpEvent(TlpEvent {
            connection: conn(1),
            event: Coded::new(code, text),
        }));
    }
    events.push(TcpipEvent::TlpSend(TlpSend {
        connection: conn(1),
        snd_una: 4_294_960_000,
        snd_max: 1_000,
        send_available: 3399,
        tail_probe_seq: 4_294_967_000,
        tail_probe_last: 1_000,
        controls_to_send: 1,
        th_flags: 24,
    }));
    for (i, name) in TCP_STATES.iter().enumerate() {
        let (l, r) = if i % 2 == 0 {
            (SocketAddr::new(v4(1), 55_330), SocketAddr::new(v4(27), 443))
        } else {
            (SocketAddr::new(v6(1), 55_331), SocketAddr::new(v6(27), 443))
        };
        events.push(TcpipEvent::Send(SendEvent {
            connection: conn(20 + i as u64),
            local: l,
            remote: r,
            seq: 2_526_320_299u32.wrapping_add(i as u32 * 1460),
            bytes_sent: 1460,
            cwnd: 18_538 + i as u64,
            snd_wnd: 197_632,
            srtt: 17_631,
            rttvar: 4_947,
            rto: 300 + i as u64,
            rcv_wnd: 65_535,
            pacing_rate: i as u64 * 1000,
            state: Coded::new(i as u32, name),
            congestion_state: i as u64 % 3,
            snd_una: 2_526_318_360,
            snd_max: 2_526_321_759,
            recovery_max: 7,
            rcv_buf_set: if i % 2 == 0 {
                Coded::new(0, "FALSE")
            } else {
                Coded::new(1, "TRUE")
            },
            max_rcv_buf: 65_535,
        }));
    }
    events.push(TcpipEvent::RexmitMark(RexmitMark {
        connection: conn(20),
        start: 2_526_320_299,
        end: 2_526_321_759,
        timestamp: 467_744_252,
        in_flight_count: 2,
        sacked_bytes: 1460,
        bytes_in_flight: 4859,
    }));
    for (i, kind) in [
        RetransmitSendKind::Fast,
        RetransmitSendKind::Sack,
        RetransmitSendKind::SackAdditional,
    ]
    .into_iter()
    .enumerate()
    {
        events.push(TcpipEvent::RetransmitSend(RetransmitSend {
            connection: conn(21),
            kind,
            bytes_to_send: 1460 * (i as u64 + 1),
            snd_nxt: 2_526_320_299,
        }));
    }
    for (rexmit_count, what) in [
        (Some(2), "retransmitting connect attempt"),
        (Some(5), "retransmitting data"),
        (None, "terminating: retransmission timeout expired."),
    ] {
        events.push(TcpipEvent::Connection(ConnectionLine {
            connection: conn(22),
            local: SocketAddr::new(v6(1), 49_152),
            remote: SocketAddr::new(v6(80), 443),
            rexmit_count,
            what: what.to_string(),
        }));
    }
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| TcpipRecord {
            line: 0,
            cpu: (i % 32) as u16,
            process_id: if i % 7 == 0 { 4 } else { 0 },
            thread_id: if i % 7 == 0 { 0x0F54 } else { 0 },
            time: start + i as FileTime * MS,
            event,
        })
        .collect()
}
