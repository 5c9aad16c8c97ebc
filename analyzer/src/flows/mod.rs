//! Packets → flows and protocol symptoms.
//!
//! Input: one canonical appearance per packet (see [`crate::packets`]), in
//! time order. Output: [`Symptom`]s — what the protocols themselves show of
//! loss (retransmissions, duplicate ACKs, holes, ICMP errors, unanswered
//! ARP/ND …) — each tied to the packets and frames that show it. Causes are
//! not decided here: [`crate::diagnose`] correlates symptoms with PktMon's
//! local drop records.
//!
//! ```text
//! let mut a = FlowAnalyzer::new();
//! for each packet (time order): a.push(&PacketInput { packet, appearance, time, link_type, bytes, original_len });
//! let report = a.finish();   // symptoms (packet order), flow summaries, counts
//! ```
//!
//! Streaming: memory is bounded by the flows active at once, not by the file.
//! A flow without news for [`IDLE_TIMEOUT`] (2 min of capture time), or a TCP
//! connection closed by FINs both ways or a RST for [`CLOSED_LINGER`], is
//! finished (its end-of-flow symptoms decided) and forgotten;
//! [`FlowAnalyzer::drain_symptoms`] / [`FlowAnalyzer::drain_flows`] take what
//! is decided so far. Packets an ICMP error may quote are remembered in a
//! fixed-size table for 2 s.
//!
//! The rules:
//!
//! * **TCP** flags are Wireshark 4.0.17's `tcp_analyze_sequence_number`,
//!   ported statement by statement (raw sequence numbers, its "0 = unknown",
//!   keep-alive / zero-window-probe / window-update precedence, fast
//!   retransmission = ≥ 2 duplicate ACKs the other way, seq = their ACK, the
//!   last one < 20 ms before; out-of-order = not advancing, < iRTT (else 3 ms)
//!   after the highest segment; spurious = all data already ACKed; window full
//!   with the window scale from the SYN options; ports reused = a SYN with a
//!   new ISN starts a new connection). [`SymptomCounts`] count frames exactly as
//!   tshark's `tcp.analysis.*` filters do (checked on the recorded captures).
//!   Segment lengths come from the IP header (PktMon cuts frames at 128 bytes).
//! * **Retransmission trigger** (ours): Fast when tshark says fast, or during
//!   the recovery that started (until the ACK passes what was sent then), or
//!   after ≥ 2 duplicate ACKs < 20 ms before; Timeout when the range was last
//!   sent ≥ max(200 ms, 3 RTT) before with no ACK progress since (and the
//!   rest of that recovery); TailLossProbe for the highest segment sent again
//!   ≥ 1.5 RTT (and less than the timeout) after the side's last transmission
//!   with no duplicate ACK; else Unknown. RTT: smoothed from ACKs of ranges
//!   sent once (Karn), else the handshake's.
//! * **SynUnanswered**: the client's SYNs (attempts = how many) and nothing at
//!   all from the server, decided when the flow ends. **DataNeverAcked**: data
//!   beyond the highest ACK when the flow ends, if the other side was heard,
//!   nobody reset, and (at the end of the capture) it was sent ≥ 1 s before.
//!   **Reset**: every RST, with the side and the time since the flow's previous packet.
//! * **ICMP errors**: every destination unreachable (ICMP 3 / ICMPv6 1, code
//!   kept; fragmentation needed is also [`SymptomKind::PacketTooBig`]), packet
//!   too big, time exceeded; port unreachable quoting UDP adds
//!   [`SymptomKind::UdpClosedPort`]. `flow` is the quoted packet's flow (as
//!   tracked), `related_packets` the quoted packet when it was seen (same
//!   addresses, protocol, IPv4 id and first 8 transport bytes: ports + TCP
//!   sequence, UDP length + checksum, ICMP echo id), `seq` its TCP sequence.
//! * **ARP / ND**: a request no reply answers within 1 s; requests for one
//!   target less than 3 s apart are one burst, reported once when it ends,
//!   `related_packets` = its unanswered requests (their number is the attempts).
//!   ARP probes and announcements and duplicate address detection are not requests.

mod neighbor;
pub mod parse;
mod table;
mod tcp;

use std::collections::hash_map::Entry;
use std::collections::VecDeque;
use std::net::IpAddr;

use serde::Serialize;

pub use parse::{
    parse, parse_with_len, tcp_flags, ArpView, IcmpView, IpHeader, PacketView, QuotedPacket, TcpView, Transport,
    UdpView,
};

use crate::model::{FileTime, LinkType};
pub use table::{addr_bits, mix};
use table::{Key, KeyMap};

/// Which end of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The end that opened the flow (sent the SYN, or the first packet seen).
    Client,
    Server,
}

/// A transport flow, written as its first packet saw it (client → server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FlowKey {
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
    pub protocol: u8,
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub server_port: u16,
    /// VLAN id when the frames carried a tag.
    pub vlan: Option<u16>,
}

/// `addr:port`, `[v6addr]:port`, or the bare address for port 0 (ICMP, other protocols).
pub fn endpoint(a: &IpAddr, port: u16) -> String {
    match (a, port) {
        (_, 0) => a.to_string(),
        (IpAddr::V6(_), p) => format!("[{a}]:{p}"),
        (IpAddr::V4(_), p) => format!("{a}:{p}"),
    }
}

impl FlowKey {
    /// One end as text: the client's (`true`) or the server's.
    pub fn endpoint_text(&self, client: bool) -> String {
        if client {
            endpoint(&self.client, self.client_port)
        } else {
            endpoint(&self.server, self.server_port)
        }
    }

    /// A Wireshark display filter that selects this flow's packets.
    pub fn display_filter(&self) -> String {
        let ip = |a: &IpAddr| if a.is_ipv4() { "ip.addr" } else { "ipv6.addr" };
        let mut f = format!(
            "{} == {} && {} == {}",
            ip(&self.client),
            self.client,
            ip(&self.server),
            self.server
        );
        // Port 0 is "no port known" (a netsh drop event of the network layer), not a port to match.
        let proto = match self.protocol {
            6 => "tcp",
            17 => "udp",
            _ => "",
        };
        for port in [self.client_port, self.server_port] {
            if !proto.is_empty() && port != 0 {
                f.push_str(&format!(" && {proto}.port == {port}"));
            }
        }
        f
    }
}

impl std::fmt::Display for FlowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proto = match self.protocol {
            6 => "TCP",
            17 => "UDP",
            1 => "ICMP",
            58 => "ICMPv6",
            _ => "IP",
        };
        let ep = |a: &IpAddr, p: u16| match a {
            IpAddr::V6(_) => format!("[{a}]:{p}"),
            IpAddr::V4(_) => format!("{a}:{p}"),
        };
        write!(
            f,
            "{proto} {} → {}",
            ep(&self.client, self.client_port),
            ep(&self.server, self.server_port)
        )
    }
}

/// What a symptom is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SymptomKind {
    /// A TCP segment sent again (tshark's tcp.analysis.retransmission), with the
    /// trigger inferred from timing and duplicate ACKs.
    Retransmission {
        trigger: RetransmitTrigger,
    },
    /// A retransmission of data the receiver had already acknowledged.
    SpuriousRetransmission,
    /// tcp.analysis.duplicate_ack (the n-th duplicate).
    DuplicateAck {
        count: u32,
    },
    /// A sequence gap: a segment was never seen (tcp.analysis.lost_segment).
    Hole,
    /// An ACK for data never seen (tcp.analysis.ack_lost_segment).
    AckedUnseenSegment,
    ZeroWindow,
    WindowFull,
    /// A RST; `idle_ms` since the flow's previous packet. `ttl`: (the RST's
    /// TTL, the TTL of the same side's previous packet) when they differ by
    /// more than a route change would: a device on the path sent it, not the peer.
    /// `refused`: it answered the client's SYN (no SYN/ACK came first): the
    /// connection was refused, not lost. `carried_data`: either side had sent
    /// payload before it. `quiet_ms`: the silence before the packet the RST
    /// answers, when the RST came within seconds of it (a request after a long
    /// idle, answered by a device that forgot the session), else `idle_ms`.
    Reset {
        by: Side,
        idle_ms: u64,
        ttl: Option<(u8, u8)>,
        refused: bool,
        carried_data: bool,
        quiet_ms: u64,
    },
    /// SYN (and its retries) never answered.
    SynUnanswered {
        attempts: u32,
    },
    /// Data sent but never acknowledged before the capture ended.
    DataNeverAcked {
        bytes: u64,
    },
    /// ICMP / ICMPv6 destination unreachable (type 3 / 1) with its code.
    DestinationUnreachable {
        code: u8,
    },
    /// ICMP fragmentation needed (3/4) or ICMPv6 packet too big, with the next-hop MTU.
    PacketTooBig {
        mtu: u32,
    },
    /// ICMP time exceeded (11) / ICMPv6 time exceeded (3).
    TimeExceeded {
        code: u8,
    },
    /// ARP request with no reply.
    ArpUnanswered {
        target: IpAddr,
    },
    /// IPv6 neighbor solicitation with no advertisement.
    NeighborSolicitationUnanswered {
        target: IpAddr,
    },
    /// UDP datagram answered by ICMP port unreachable.
    UdpClosedPort,
}

/// Why a TCP segment was sent again, as far as timing and ACKs tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetransmitTrigger {
    /// After duplicate ACKs (tcp.analysis.fast_retransmission).
    Fast,
    /// After a retransmission timeout (no ACK progress for ≥ the RTO estimate).
    Timeout,
    /// A tail loss probe: the last segment sent again after about 2 RTT with no dup ACKs.
    TailLossProbe,
    /// Could not tell.
    Unknown,
}

/// One protocol symptom of loss.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Symptom {
    #[serde(flatten)]
    pub kind: SymptomKind,
    /// The flow it belongs to (for ICMP errors: the flow of the quoted packet).
    pub flow: Option<FlowKey>,
    /// Which end sent the packet that shows the symptom.
    pub from: Option<Side>,
    /// Packet index (into [`crate::packets::Paths::packets`]) of the packet showing it.
    pub packet: usize,
    /// Appearance index of that packet's canonical appearance (frame − 1 in the converted pcapng).
    pub appearance: u64,
    pub time: i64,
    /// Packets it refers to: the first transmission of what a retransmission
    /// repeats; the ACK a duplicate ACK repeats; the segment before a hole; the
    /// other side's last segment for an ACKed unseen segment; the packet whose
    /// window a full window filled; every SYN of an unanswered connection;
    /// the quoted packet of an ICMP error (when seen); every unanswered request
    /// of an ARP/ND burst; the unacknowledged segments after the first (at most 64).
    pub related_packets: Vec<usize>,
    /// Raw TCP sequence number (as `tcp.seq_raw`) of the segment concerned; the
    /// ACK number for duplicate ACKs, ACKed unseen segments and zero windows;
    /// the first unacknowledged byte for data never acknowledged.
    pub seq: Option<u32>,
    /// TCP payload length of the segment; bytes never acknowledged.
    pub len: Option<u32>,
}

/// One packet for the analyzer: its canonical appearance.
#[derive(Debug, Clone, Copy)]
pub struct PacketInput<'a> {
    /// Packet index (into [`crate::packets::Paths::packets`]).
    pub packet: usize,
    /// Index of the appearance given.
    pub appearance: u64,
    pub time: FileTime,
    pub link_type: LinkType,
    /// The logged bytes (PktMon cuts frames at `--pkt-size`).
    pub bytes: &'a [u8],
    /// The frame's length before it was cut.
    pub original_len: u32,
}

/// Symptoms counted the way tshark's display filters count frames.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SymptomCounts {
    /// Frames tshark's `tcp.analysis.retransmission` matches: plain, fast and
    /// spurious retransmissions (tshark adds that item to all three).
    pub retransmissions: u64,
    /// `tcp.analysis.fast_retransmission`.
    pub fast_retransmissions: u64,
    /// `tcp.analysis.spurious_retransmission`.
    pub spurious_retransmissions: u64,
    /// `tcp.analysis.out_of_order` (no symptom of its own: reordering or a
    /// retransmission during recovery, a single capture point cannot tell).
    pub out_of_order: u64,
    /// `tcp.analysis.duplicate_ack`.
    pub duplicate_acks: u64,
    /// `tcp.analysis.lost_segment` (holes).
    pub lost_segments: u64,
    /// `tcp.analysis.ack_lost_segment`.
    pub acked_unseen: u64,
    /// `tcp.analysis.zero_window`.
    pub zero_windows: u64,
    /// `tcp.analysis.zero_window_probe`.
    pub zero_window_probes: u64,
    /// `tcp.analysis.window_full`.
    pub window_full: u64,
    /// `tcp.analysis.window_update`.
    pub window_updates: u64,
    /// `tcp.analysis.keep_alive`.
    pub keep_alives: u64,
    /// `tcp.flags.reset == 1`.
    pub resets: u64,
    /// Retransmissions (as counted above) by inferred trigger.
    pub trigger_fast: u64,
    pub trigger_timeout: u64,
    pub trigger_tail_loss_probe: u64,
    pub trigger_unknown: u64,
    /// Connections whose SYNs got no answer, and their SYNs.
    pub syn_unanswered: u64,
    pub syn_unanswered_attempts: u64,
    /// Directions that ended with data never acknowledged.
    pub data_never_acked: u64,
    /// `icmp.type == 3 || icmpv6.type == 1` (every code, fragmentation needed included).
    pub destination_unreachable: u64,
    /// `icmp.type == 3 && icmp.code == 4 || icmpv6.type == 2`.
    pub packet_too_big: u64,
    /// `icmp.type == 11 || icmpv6.type == 3`.
    pub time_exceeded: u64,
    /// Port unreachable quoting a UDP datagram.
    pub udp_closed_port: u64,
    /// ICMP errors whose quoted packet was found among the packets seen.
    pub icmp_quoted_seen: u64,
    /// Bursts of ARP requests with unanswered requests, and those requests.
    pub arp_unanswered: u64,
    pub arp_unanswered_requests: u64,
    /// The same for IPv6 neighbor solicitations.
    pub ns_unanswered: u64,
    pub ns_unanswered_requests: u64,
    /// Frames with no IPv4/IPv6/ARP inside (or cut before its header).
    pub unparsed: u64,
}

/// One flow when it ended (idle, closed, replaced by a new connection on the same ports, or end of capture).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowSummary {
    pub key: FlowKey,
    pub packets: u64,
    /// Network-layer bytes (IP total lengths, as the headers say).
    pub bytes: u64,
    pub first: FileTime,
    pub last: FileTime,
    /// Frames tshark marks `tcp.analysis.retransmission`.
    pub retransmissions: u64,
    /// Largest TCP payload seen (either way).
    pub max_segment: u32,
    /// Packet index of its first packet.
    pub first_packet: usize,
    pub client_packets: u64,
    pub server_packets: u64,
    pub client_bytes: u64,
    pub server_bytes: u64,
    /// TCP: SYN to first ACK, as Wireshark's tcp.analysis.initial_rtt (µs).
    pub initial_rtt_us: Option<u64>,
    /// TCP: smoothed RTT of the client's / server's data (µs), from ACKs of segments sent once.
    pub client_srtt_us: Option<u64>,
    pub server_srtt_us: Option<u64>,
    /// TCP: a SYN was seen (the flow's start is in the capture).
    pub syn_seen: bool,
    pub fin_seen: bool,
    pub reset_seen: bool,
    /// Symptoms tied to this flow.
    pub symptoms: u64,
}

/// Everything the analyzer found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowReport {
    /// In packet order.
    pub symptoms: Vec<Symptom>,
    /// In order of first packet.
    pub flows: Vec<FlowSummary>,
    pub counts: SymptomCounts,
}

/// A flow without news for this long (capture time) is finished and forgotten.
pub const IDLE_TIMEOUT: FileTime = 120 * 10_000_000;
/// A TCP connection closed by FINs both ways or a RST is forgotten after this long without news.
pub const CLOSED_LINGER: FileTime = 10 * 10_000_000;
/// Data unacknowledged at the end of the capture is reported only if it was sent at least this long before.
pub const NEVER_ACKED_GRACE: FileTime = 10_000_000;
/// ICMP errors are matched with packets seen at most this long before.
const QUOTE_WINDOW: FileTime = 2 * 10_000_000;
/// Slots of the table of recent packets (a newer packet whose fingerprint falls
/// in the same slot replaces the older one): 6 MB, allocated on first use.
const QUOTE_SLOTS: usize = 1 << 18;

/// Recent packets by fingerprint, direct-mapped: constant time, fixed memory.
#[derive(Default)]
struct QuoteTable {
    slots: Vec<(u64, usize, FileTime)>,
}

impl QuoteTable {
    fn insert(&mut self, h: u64, packet: usize, time: FileTime) {
        if self.slots.is_empty() {
            self.slots = vec![(0, usize::MAX, 0); QUOTE_SLOTS];
        }
        self.slots[h as usize & (QUOTE_SLOTS - 1)] = (h, packet, time);
    }

    fn get(&self, h: u64, now: FileTime) -> Option<usize> {
        let &(k, packet, t) = self.slots.get(h as usize & (QUOTE_SLOTS - 1))?;
        (k == h && packet != usize::MAX && now - t <= QUOTE_WINDOW).then_some(packet)
    }
}

struct Flow {
    /// Client → server.
    key: FlowKey,
    /// Whether the client is the `lo` end of the table key.
    client_is_lo: bool,
    first: FileTime,
    last: FileTime,
    first_packet: usize,
    packets: [u64; 2],
    bytes: [u64; 2],
    retransmissions: u64,
    symptoms: u64,
    /// TTL (hop limit) of each side's latest packet other than a RST.
    ttl: [Option<u8>; 2],
    /// The silence before the latest packet.
    gap_before_last: FileTime,
    tcp: Option<Box<tcp::Conn>>,
}

impl Flow {
    fn closed(&self) -> bool {
        self.tcp
            .as_ref()
            .is_some_and(|c| (c.d[0].fin && c.d[1].fin) || c.d[0].rst || c.d[1].rst)
    }
}

/// Streaming flow and symptom analysis (see the module documentation).
pub struct FlowAnalyzer {
    flows: KeyMap<Flow>,
    /// Flows by when they were last checked for idleness.
    expiry: VecDeque<(FileTime, Key)>,
    /// Recently seen packets by fingerprint, to find the packet an ICMP error quotes.
    quotes: QuoteTable,
    neighbors: neighbor::Neighbors,
    now: FileTime,
    symptoms: Vec<Symptom>,
    finished: Vec<FlowSummary>,
    counts: SymptomCounts,
    peak_flows: usize,
}

impl Default for FlowAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

fn side_of(i: usize) -> Side {
    if i == 0 {
        Side::Client
    } else {
        Side::Server
    }
}

impl FlowAnalyzer {
    pub fn new() -> Self {
        FlowAnalyzer {
            flows: KeyMap::default(),
            expiry: VecDeque::new(),
            quotes: QuoteTable::default(),
            neighbors: neighbor::Neighbors::default(),
            now: FileTime::MIN,
            symptoms: Vec::new(),
            finished: Vec::new(),
            counts: SymptomCounts::default(),
            peak_flows: 0,
        }
    }

    /// Flows tracked right now.
    pub fn tracked_flows(&self) -> usize {
        self.flows.len()
    }

    /// The most flows tracked at once so far.
    pub fn peak_tracked_flows(&self) -> usize {
        self.peak_flows
    }

    /// What grows with the traffic besides finished results: flows and open
    /// ARP/ND bursts. (Packets remembered for ICMP matching live in a table of
    /// fixed size.)
    pub fn tracked_items(&self) -> usize {
        self.flows.len() + self.neighbors.pending()
    }

    /// Counts so far.
    pub fn counts(&self) -> &SymptomCounts {
        &self.counts
    }

    /// Takes the symptoms decided so far (in the order they were decided), to
    /// keep memory flat on long captures. [`finish`](Self::finish) returns the rest.
    pub fn drain_symptoms(&mut self) -> Vec<Symptom> {
        std::mem::take(&mut self.symptoms)
    }

    /// Takes the summaries of the flows finished so far.
    pub fn drain_flows(&mut self) -> Vec<FlowSummary> {
        std::mem::take(&mut self.finished)
    }

    /// Analyses the next packet (in time order).
    pub fn push(&mut self, p: &PacketInput<'_>) {
        if p.time > self.now {
            self.now = p.time;
            self.expire();
        }
        let Some(view) = parse::parse_with_len(p.link_type, p.bytes, p.original_len) else {
            self.counts.unparsed += 1;
            return;
        };
        let Some(ip) = view.ip else {
            if let Transport::Arp(a) = view.transport {
                self.arp(p, view.vlan, &a);
            }
            return;
        };
        match &view.transport {
            Transport::Icmp(icmp) if icmp.is_error() => {
                self.icmp_error(p, &view, &ip, icmp);
                return;
            }
            Transport::Icmp(icmp) if icmp.v6 && matches!(icmp.icmp_type, 133..=137) => {
                self.neighbor_discovery(p, &view, &ip, icmp);
                return;
            }
            _ => {}
        }
        self.remember(p, &ip, &view.transport);
        self.flow_packet(p, &view, &ip);
    }

    /// Flushes every open flow and burst and returns the report.
    pub fn finish(mut self) -> FlowReport {
        let mut keys: Vec<(usize, Key)> = self.flows.iter().map(|(k, f)| (f.first_packet, *k)).collect();
        keys.sort_unstable_by_key(|(p, _)| *p);
        for (_, k) in keys {
            if let Some(f) = self.flows.remove(&k) {
                self.finish_flow(f, true);
            }
        }
        let before = self.symptoms.len();
        self.neighbors.finish(&mut self.symptoms);
        self.count_neighbor_symptoms(before);
        self.symptoms.sort_by_key(|s| s.packet);
        self.finished.sort_by_key(|f| f.first_packet);
        FlowReport {
            symptoms: self.symptoms,
            flows: self.finished,
            counts: self.counts,
        }
    }

    fn expire(&mut self) {
        let now = self.now;
        while let Some(&(t, k)) = self.expiry.front() {
            if t + CLOSED_LINGER > now {
                break;
            }
            self.expiry.pop_front();
            let Some(f) = self.flows.get(&k) else { continue };
            let timeout = if f.closed() { CLOSED_LINGER } else { IDLE_TIMEOUT };
            if f.last + timeout <= now {
                let f = self.flows.remove(&k).expect("present");
                self.finish_flow(f, false);
            } else {
                self.expiry.push_back((now, k));
            }
        }
        let before = self.symptoms.len();
        self.neighbors.sweep(now, &mut self.symptoms);
        self.count_neighbor_symptoms(before);
    }

    fn count_neighbor_symptoms(&mut self, from: usize) {
        for s in &self.symptoms[from..] {
            let n = s.related_packets.len() as u64;
            match s.kind {
                SymptomKind::ArpUnanswered { .. } => {
                    self.counts.arp_unanswered += 1;
                    self.counts.arp_unanswered_requests += n;
                }
                SymptomKind::NeighborSolicitationUnanswered { .. } => {
                    self.counts.ns_unanswered += 1;
                    self.counts.ns_unanswered_requests += n;
                }
                _ => {}
            }
        }
    }

    fn arp(&mut self, p: &PacketInput<'_>, vlan: Option<u16>, a: &ArpView) {
        let before = self.symptoms.len();
        let unspecified = a.sender_ip.is_unspecified();
        match a.operation {
            // Requests; probes (sender 0.0.0.0) and announcements (sender = target) expect no reply.
            1 if !unspecified && a.sender_ip != a.target_ip => self.neighbors.request(
                neighbor::Event {
                    vlan,
                    target: IpAddr::V4(a.target_ip),
                    nd: false,
                    packet: p.packet,
                    appearance: p.appearance,
                    time: p.time,
                },
                &mut self.symptoms,
            ),
            2 => self.neighbors.reply(
                neighbor::Event {
                    vlan,
                    target: IpAddr::V4(a.sender_ip),
                    nd: false,
                    packet: p.packet,
                    appearance: p.appearance,
                    time: p.time,
                },
                &mut self.symptoms,
            ),
            _ => {}
        }
        self.count_neighbor_symptoms(before);
    }

    fn neighbor_discovery(&mut self, p: &PacketInput<'_>, view: &PacketView<'_>, ip: &IpHeader, icmp: &IcmpView<'_>) {
        let Some(target) = icmp.nd_target() else { return };
        let before = self.symptoms.len();
        let e = neighbor::Event {
            vlan: view.vlan,
            target: IpAddr::V6(target),
            nd: true,
            packet: p.packet,
            appearance: p.appearance,
            time: p.time,
        };
        match icmp.icmp_type {
            // Duplicate address detection (from ::) expects no answer.
            135 if !ip.src.is_unspecified() => self.neighbors.request(e, &mut self.symptoms),
            136 => self.neighbors.reply(e, &mut self.symptoms),
            _ => {}
        }
        self.count_neighbor_symptoms(before);
    }

    /// Remembers a packet's fingerprint so that an ICMP error quoting it finds it.
    fn remember(&mut self, p: &PacketInput<'_>, ip: &IpHeader, t: &Transport<'_>) {
        let Some(first8) = first8_of(t) else { return };
        self.quotes.insert(fingerprint(ip, &first8), p.packet, p.time);
    }

    fn icmp_error(&mut self, p: &PacketInput<'_>, view: &PacketView<'_>, ip: &IpHeader, icmp: &IcmpView<'_>) {
        let quoted = icmp.quoted();
        let mut kinds: Vec<SymptomKind> = Vec::with_capacity(2);
        if icmp.is_unreachable() {
            self.counts.destination_unreachable += 1;
            kinds.push(SymptomKind::DestinationUnreachable { code: icmp.code });
        }
        if let Some(mtu) = icmp.mtu() {
            self.counts.packet_too_big += 1;
            kinds.push(SymptomKind::PacketTooBig { mtu });
        }
        if icmp.is_time_exceeded() {
            self.counts.time_exceeded += 1;
            kinds.push(SymptomKind::TimeExceeded { code: icmp.code });
        }
        if icmp.is_port_unreachable() && quoted.is_some_and(|q| q.ip.protocol == 17) {
            self.counts.udp_closed_port += 1;
            kinds.push(SymptomKind::UdpClosedPort);
        }
        if kinds.is_empty() {
            return;
        }
        let mut flow = None;
        let mut related = Vec::new();
        let mut seq = None;
        let mut from = None;
        if let Some(q) = quoted {
            let qk = q.flow_key(view.vlan);
            let (key, _) = Key::of(&qk);
            let oriented = match self.flows.get_mut(&key) {
                Some(f) => {
                    f.symptoms += kinds.len() as u64;
                    f.key
                }
                None => qk,
            };
            if ip.src == oriented.server {
                from = Some(Side::Server);
            } else if ip.src == oriented.client {
                from = Some(Side::Client);
            }
            flow = Some(oriented);
            seq = q.tcp_seq();
            if q.first8_len == 8 {
                if let Some(pk) = self.quotes.get(fingerprint(&q.ip, &q.first8), p.time) {
                    related.push(pk);
                    self.counts.icmp_quoted_seen += 1;
                }
            }
        }
        for kind in kinds {
            self.symptoms.push(Symptom {
                kind,
                flow,
                from,
                packet: p.packet,
                appearance: p.appearance,
                time: p.time,
                related_packets: related.clone(),
                seq,
                len: None,
            });
        }
    }

    fn flow_packet(&mut self, p: &PacketInput<'_>, view: &PacketView<'_>, ip: &IpHeader) {
        let Some(fk) = view.flow_key() else { return };
        let (key, sender_is_lo) = Key::of(&fk);
        let tcp = match &view.transport {
            Transport::Tcp(t) => Some(*t),
            _ => None,
        };
        let mut replaced = None;
        let mut created = false;
        let mut preset = 0;
        let f = match self.flows.entry(key) {
            Entry::Occupied(o) => {
                let f = o.into_mut();
                let s = if sender_is_lo == f.client_is_lo { 0 } else { 1 };
                // A new connection on the same ports (a SYN with another ISN) ends the old one.
                if let (Some(t), Some(c)) = (tcp.as_ref(), f.tcp.as_ref()) {
                    if c.is_new_syn(s, t) {
                        replaced = Some(std::mem::replace(f, new_flow(p, fk, sender_is_lo, tcp.as_ref())));
                        preset = tcp::A_REUSED_PORTS;
                    }
                }
                f
            }
            Entry::Vacant(v) => {
                created = true;
                v.insert(new_flow(p, fk, sender_is_lo, tcp.as_ref()))
            }
        };
        flow_packet_in(
            f,
            p,
            sender_is_lo,
            ip,
            tcp.as_ref(),
            preset,
            &mut self.counts,
            &mut self.symptoms,
        );
        if created {
            self.expiry.push_back((self.now, key));
            self.peak_flows = self.peak_flows.max(self.flows.len());
        }
        if let Some(old) = replaced {
            self.finish_flow(old, false);
        }
    }

    /// End-of-flow symptoms and the summary.
    fn finish_flow(&mut self, f: Flow, at_end: bool) {
        let mut symptoms = f.symptoms;
        let mut summary = FlowSummary {
            key: f.key,
            packets: f.packets[0] + f.packets[1],
            bytes: f.bytes[0] + f.bytes[1],
            first: f.first,
            last: f.last,
            retransmissions: f.retransmissions,
            max_segment: 0,
            first_packet: f.first_packet,
            client_packets: f.packets[0],
            server_packets: f.packets[1],
            client_bytes: f.bytes[0],
            server_bytes: f.bytes[1],
            initial_rtt_us: None,
            client_srtt_us: None,
            server_srtt_us: None,
            syn_seen: false,
            fin_seen: false,
            reset_seen: false,
            symptoms: 0,
        };
        if let Some(c) = &f.tcp {
            let us = |t: FileTime| (t > 0).then_some((t / 10) as u64);
            summary.max_segment = c.d[0].max_segment.max(c.d[1].max_segment);
            summary.initial_rtt_us = us(c.first_rtt);
            summary.client_srtt_us = us(c.d[0].srtt);
            summary.server_srtt_us = us(c.d[1].srtt);
            summary.syn_seen = c.d[0].syns > 0 || c.d[1].syns > 0;
            summary.fin_seen = c.d[0].fin || c.d[1].fin;
            summary.reset_seen = c.d[0].rst || c.d[1].rst;
            let client = &c.d[0];
            if client.syns > 0 && f.packets[1] == 0 {
                self.counts.syn_unanswered += 1;
                self.counts.syn_unanswered_attempts += client.syns as u64;
                symptoms += 1;
                self.symptoms.push(Symptom {
                    kind: SymptomKind::SynUnanswered { attempts: client.syns },
                    flow: Some(f.key),
                    from: Some(Side::Client),
                    packet: client.syn_packets[0],
                    appearance: client.first_syn.0,
                    time: client.first_syn.1,
                    related_packets: client.syn_packets.clone(),
                    seq: client.base_seq,
                    len: None,
                });
            }
            // Data never acknowledged: only where the other side was heard and did not reset.
            if !summary.reset_seen {
                for s in 0..2 {
                    let d = &c.d[s];
                    let bytes = d.unacked_bytes();
                    let Some(front) = d.segs.front() else { continue };
                    let sent_long_ago = !at_end || front.first_tx + NEVER_ACKED_GRACE <= self.now;
                    if bytes == 0 || f.packets[1 - s] == 0 || !sent_long_ago {
                        continue;
                    }
                    self.counts.data_never_acked += 1;
                    symptoms += 1;
                    self.symptoms.push(Symptom {
                        kind: SymptomKind::DataNeverAcked { bytes },
                        flow: Some(f.key),
                        from: Some(side_of(s)),
                        packet: front.packet,
                        appearance: front.appearance,
                        time: front.first_tx,
                        related_packets: d.segs.iter().skip(1).take(64).map(|x| x.packet).collect(),
                        seq: Some(d.acked.unwrap_or(front.seq)),
                        len: Some(bytes.min(u32::MAX as u64) as u32),
                    });
                }
            }
        }
        summary.symptoms = symptoms;
        self.finished.push(summary);
    }
}

fn new_flow(p: &PacketInput<'_>, fk: FlowKey, sender_is_lo: bool, tcp: Option<&TcpView<'_>>) -> Flow {
    // The client is the SYN's sender; a SYN/ACK's or an echo reply's receiver.
    // A capture that starts mid-connection has no handshake: the side on a
    // service's port is the server; else the first sender is the client.
    let sender_is_server = match tcp {
        Some(t) if t.has(tcp_flags::SYN) => t.has(tcp_flags::ACK),
        Some(t) => serves_from(t.src_port, t.dst_port, true),
        None if fk.protocol == 17 => serves_from(fk.client_port, fk.server_port, false),
        None => fk.client_port == 0 && fk.server_port != 0 && matches!(fk.protocol, 1 | 58),
    };
    let key = if sender_is_server {
        FlowKey {
            protocol: fk.protocol,
            client: fk.server,
            client_port: fk.server_port,
            server: fk.client,
            server_port: fk.client_port,
            vlan: fk.vlan,
        }
    } else {
        fk
    };
    Flow {
        key,
        client_is_lo: sender_is_lo != sender_is_server,
        first: p.time,
        last: p.time,
        first_packet: p.packet,
        packets: [0; 2],
        bytes: [0; 2],
        retransmissions: 0,
        symptoms: 0,
        ttl: [None; 2],
        gap_before_last: 0,
        tcp: tcp.map(|_| Box::default()),
    }
}

/// Whether a packet from port `own` to port `other`, seen without a handshake,
/// comes from the server: its port is a well-known one (below 1024) and the
/// other's is not; for TCP also a registered port (below 49152) talking to
/// one in Windows' ephemeral range (49152 and up), where clients' ports come from.
fn serves_from(own: u16, other: u16, tcp: bool) -> bool {
    const EPHEMERAL: u16 = 49152;
    (own != 0 && own < 1024 && other >= 1024) || (tcp && own != 0 && own < EPHEMERAL && other >= EPHEMERAL)
}

/// How far a RST's TTL may be from its side's other packets and still be the peer's.
const RESET_TTL_TOLERANCE: u8 = 3;

/// Accounts one packet to its flow and runs the TCP analysis.
#[allow(clippy::too_many_arguments)]
fn flow_packet_in(
    f: &mut Flow,
    p: &PacketInput<'_>,
    sender_is_lo: bool,
    ip: &IpHeader,
    tcp: Option<&TcpView<'_>>,
    preset: u32,
    c: &mut SymptomCounts,
    symptoms: &mut Vec<Symptom>,
) {
    let s = if sender_is_lo == f.client_is_lo { 0 } else { 1 };
    let idle = p.time - f.last;
    let previous_ttl = f.ttl[s];
    if !tcp.is_some_and(|t| t.has(tcp_flags::RST)) {
        f.ttl[s] = Some(ip.ttl);
    }
    let quiet_before_last = f.gap_before_last;
    f.gap_before_last = idle.max(0);
    f.last = f.last.max(p.time);
    f.packets[s] += 1;
    f.bytes[s] += ip.total_len as u64;
    let (Some(t), Some(conn)) = (tcp, f.tcp.as_mut()) else {
        return;
    };
    let mut preset = preset;
    if conn.synack_reuse(s, t) {
        preset |= tcp::A_REUSED_PORTS;
    }
    let o = conn.segment(s, t, (p.packet, p.appearance), p.time, preset);
    let flow_key = f.key;
    let from = Some(side_of(s));
    let before = symptoms.len();
    let mk = |kind: SymptomKind, related: Vec<usize>, seq: Option<u32>, len: Option<u32>| Symptom {
        kind,
        flow: Some(flow_key),
        from,
        packet: p.packet,
        appearance: p.appearance,
        time: p.time,
        related_packets: related,
        seq,
        len,
    };
    let fl = o.flags;
    if fl & tcp::A_ANY_RETRANSMISSION != 0 {
        c.retransmissions += 1;
        f.retransmissions += 1;
        let trigger = o.trigger.unwrap_or(RetransmitTrigger::Unknown);
        match trigger {
            RetransmitTrigger::Fast => c.trigger_fast += 1,
            RetransmitTrigger::Timeout => c.trigger_timeout += 1,
            RetransmitTrigger::TailLossProbe => c.trigger_tail_loss_probe += 1,
            RetransmitTrigger::Unknown => c.trigger_unknown += 1,
        }
        let related = o.original.into_iter().collect();
        let kind = if fl & tcp::A_SPURIOUS_RETRANSMISSION != 0 {
            c.spurious_retransmissions += 1;
            SymptomKind::SpuriousRetransmission
        } else {
            SymptomKind::Retransmission { trigger }
        };
        if fl & tcp::A_FAST_RETRANSMISSION != 0 {
            c.fast_retransmissions += 1;
        }
        symptoms.push(mk(kind, related, Some(t.seq), Some(t.segment_len)));
    }
    if fl & tcp::A_OUT_OF_ORDER != 0 {
        c.out_of_order += 1;
    }
    if fl & tcp::A_LOST_PACKET != 0 {
        c.lost_segments += 1;
        let related = o.related_hole.into_iter().collect();
        symptoms.push(mk(SymptomKind::Hole, related, Some(t.seq), Some(t.segment_len)));
    }
    if fl & tcp::A_ACK_LOST_PACKET != 0 {
        c.acked_unseen += 1;
        let related = o.related_ack_lost.into_iter().collect();
        symptoms.push(mk(SymptomKind::AckedUnseenSegment, related, Some(t.ack), None));
    }
    if fl & tcp::A_DUPLICATE_ACK != 0 && o.dupack_num > 0 {
        c.duplicate_acks += 1;
        symptoms.push(mk(
            SymptomKind::DuplicateAck { count: o.dupack_num },
            vec![o.dupack_of],
            Some(t.ack),
            None,
        ));
    }
    if fl & tcp::A_ZERO_WINDOW != 0 {
        c.zero_windows += 1;
        symptoms.push(mk(SymptomKind::ZeroWindow, Vec::new(), Some(t.ack), None));
    }
    if fl & tcp::A_WINDOW_FULL != 0 {
        c.window_full += 1;
        let related = o.related_window.into_iter().collect();
        symptoms.push(mk(SymptomKind::WindowFull, related, Some(t.seq), Some(t.segment_len)));
    }
    if fl & tcp::A_ZERO_WINDOW_PROBE != 0 {
        c.zero_window_probes += 1;
    }
    if fl & tcp::A_WINDOW_UPDATE != 0 {
        c.window_updates += 1;
    }
    if fl & tcp::A_KEEP_ALIVE != 0 {
        c.keep_alives += 1;
    }
    if t.has(tcp_flags::RST) {
        c.resets += 1;
        let idle_ms = if f.packets[0] + f.packets[1] > 1 {
            (idle.max(0) / 10_000) as u64
        } else {
            0
        };
        // Hop counts change by one or two with a route; an injected RST
        // starts from the injector's own initial TTL, usually far off.
        let ttl = previous_ttl
            .filter(|&usual| usual.abs_diff(ip.ttl) > RESET_TTL_TOLERANCE)
            .map(|usual| (ip.ttl, usual));
        let carried_data = conn.d[0].max_segment > 0 || conn.d[1].max_segment > 0;
        let quiet_ms = if idle_ms < 5_000 && f.packets[0] + f.packets[1] > 2 {
            idle_ms.max((quiet_before_last / 10_000) as u64)
        } else {
            idle_ms
        };
        // The server's first packet, answering the client's SYN: no SYN/ACK came before it.
        let refused = s == 1 && conn.d[0].syns > 0 && conn.d[1].packets <= 1 && !carried_data;
        symptoms.push(mk(
            SymptomKind::Reset {
                by: side_of(s),
                idle_ms,
                ttl,
                refused,
                carried_data,
                quiet_ms,
            },
            Vec::new(),
            Some(t.seq),
            None,
        ));
    }
    f.symptoms += (symptoms.len() - before) as u64;
}

/// The first 8 transport bytes of a packet, as an ICMP error would quote them.
fn first8_of(t: &Transport<'_>) -> Option<[u8; 8]> {
    let mut b = [0u8; 8];
    match t {
        Transport::Tcp(t) => {
            b[..2].copy_from_slice(&t.src_port.to_be_bytes());
            b[2..4].copy_from_slice(&t.dst_port.to_be_bytes());
            b[4..].copy_from_slice(&t.seq.to_be_bytes());
        }
        Transport::Udp(u) => {
            b[..2].copy_from_slice(&u.src_port.to_be_bytes());
            b[2..4].copy_from_slice(&u.dst_port.to_be_bytes());
            b[4..6].copy_from_slice(&u.length.to_be_bytes());
            b[6..].copy_from_slice(&u.checksum.to_be_bytes());
        }
        Transport::Icmp(i) => {
            b[0] = i.icmp_type;
            b[1] = i.code;
            b[2..4].copy_from_slice(&i.checksum.to_be_bytes());
            b[4..].copy_from_slice(&i.rest);
        }
        _ => return None,
    }
    Some(b)
}

/// A packet's identity as an ICMP error quotes it: addresses, protocol, IPv4 id and the first 8 transport bytes.
fn fingerprint(ip: &IpHeader, first8: &[u8; 8]) -> u64 {
    let a = table::addr_bits(ip.src);
    let b = table::addr_bits(ip.dst);
    let words = [
        a as u64,
        (a >> 64) as u64,
        b as u64,
        (b >> 64) as u64,
        ((ip.protocol as u64) << 32) | ip.id.map_or(1 << 20, |i| i as u64),
        u64::from_be_bytes(*first8),
    ];
    table::mix(&words)
}
