//! Flows and symptoms → findings: what caused each loss, local or remote,
//! with its evidence.
//!
//! Microsoft's method for packet loss sorts causes into *local* ones
//! (policy/firewall inspection, low resources, ARP/ND failure, no route,
//! invalid packet) and *remote* ones (congestion, remote policy, destination
//! unreachable, session loss, MTU). PktMon records every local drop; the
//! protocols show the symptoms. [`Diagnoser`] streams a capture once: it
//! groups appearances into packets, feeds one canonical appearance per packet
//! (the first, i.e. what `!pktmon.duplicate` shows) to the flow analyzer, and
//! keeps a small summary of every packet's path (was it dropped, did it reach
//! a NIC). [`Diagnoser::finish`] then correlates each symptom with the local
//! drop records of the same packet or flow and names a cause.

pub mod tcpip;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::flows::{self, FlowAnalyzer, FlowKey, PacketInput, RetransmitTrigger, Side, Symptom, SymptomKind};
use crate::model::*;
use crate::packets::{Grouper, HopKey};
use crate::pktmon::catalog::{drop_category, drop_location_name, next_step, DropCategory};
use crate::tcpip::{DropLayer, TcpipTrace};
use tcpip::{Mechanism, RetransmitCause, TcpipJoin, TcpipSummary};

mod counters;
pub mod details;
pub mod nic;
pub mod pipeline;
pub mod verdict;

pub use verdict::{Problem, Status, Verdict};

/// Local or remote, in Microsoft's sense.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Locality {
    Local,
    Remote,
    #[default]
    Unknown,
}

impl Locality {
    pub fn as_str(self) -> &'static str {
        match self {
            Locality::Local => "local",
            Locality::Remote => "remote",
            Locality::Unknown => "unknown",
        }
    }
}

/// The fixed cause vocabulary of findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Policy,
    Resources,
    AddressResolution,
    NoRoute,
    InvalidPacket,
    Congestion,
    Unreachable,
    SessionLoss,
    Mtu,
    #[default]
    Other,
}

impl Cause {
    pub const ALL: [Cause; 10] = [
        Cause::Policy,
        Cause::Resources,
        Cause::AddressResolution,
        Cause::NoRoute,
        Cause::InvalidPacket,
        Cause::Congestion,
        Cause::Unreachable,
        Cause::SessionLoss,
        Cause::Mtu,
        Cause::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Policy => "policy",
            Cause::Resources => "resources",
            Cause::AddressResolution => "address_resolution",
            Cause::NoRoute => "no_route",
            Cause::InvalidPacket => "invalid_packet",
            Cause::Congestion => "congestion",
            Cause::Unreachable => "unreachable",
            Cause::SessionLoss => "session_loss",
            Cause::Mtu => "mtu",
            Cause::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl From<DropCategory> for Cause {
    fn from(c: DropCategory) -> Cause {
        match c {
            DropCategory::Policy => Cause::Policy,
            DropCategory::Resources => Cause::Resources,
            DropCategory::AddressResolution => Cause::AddressResolution,
            DropCategory::NoRoute => Cause::NoRoute,
            DropCategory::InvalidPacket => Cause::InvalidPacket,
            DropCategory::Unreachable => Cause::Unreachable,
            DropCategory::SessionLoss => Cause::SessionLoss,
            DropCategory::Mtu => Cause::Mtu,
            DropCategory::Other => Cause::Other,
        }
    }
}

/// A PktMon drop record involved in a finding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct DropRef {
    pub reason: Option<u32>,
    pub reason_text: String,
    /// `0x%08X`, empty when unknown.
    pub location: String,
    pub location_name: Option<String>,
    pub component: Option<u16>,
    pub component_name: String,
    pub direction: String,
    /// For a drop event of a netsh trace: the layer whose discard-reason
    /// table `tcpip_reason` is from (`reason` stays empty: it is PktMon's numbering).
    pub tcpip_layer: Option<DropLayer>,
    pub tcpip_reason: Option<u32>,
}

/// The lines of a netsh trace a finding rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TcpipEvidence {
    pub file: String,
    /// What sent the segments again: `retransmit_timer`, `tail_loss_probe` or `fast_retransmit`.
    pub mechanism: Option<Mechanism>,
    /// Connection handles (`0x…`) of the events.
    pub connections: Vec<String>,
    /// The retransmission timeout in force, ms.
    pub rto_ms: Option<u64>,
    /// Line numbers of the events in `file`.
    pub lines: Vec<u64>,
}

/// One diagnosed cause of loss, with its evidence.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Finding {
    pub locality: Locality,
    pub cause: Cause,
    /// What was seen, in a few words ("local drop", "retransmission", "SYN unanswered"…).
    pub symptom: String,
    /// How many times (drops, retransmissions, unanswered requests…).
    pub count: u64,
    pub flow: Option<String>,
    #[serde(skip)]
    pub flow_key: Option<FlowKey>,
    pub first_time: String,
    pub last_time: String,
    #[serde(skip)]
    pub first: FileTime,
    /// Frame numbers as Wireshark shows them (in the converted pcapng for ETL and text input).
    pub frames: Vec<u64>,
    /// The drop records involved, with how many each.
    pub drops: Vec<(DropRef, u64)>,
    /// Selects the evidence in stock Wireshark.
    pub display_filter: String,
    /// The same with the PktMon plugin's fields, where they say more.
    pub pktmon_filter: Option<String>,
    pub explanation: String,
    pub next_step: String,
    /// Microsoft-Windows-TCPIP events of a netsh trace behind the finding.
    pub tcpip: Option<TcpipEvidence>,
    /// Rank of the problem this finding is evidence of (see [`verdict`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<u32>,
    /// The background rule that holds it harmless, when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background: Option<&'static str>,
    /// Facts of its packets the verdict reads (not part of the JSON).
    #[serde(skip)]
    pub traits: FindingTraits,
}

/// What a finding's packets were, beyond its key: what the verdict needs to
/// tell background from problems and to count packets apart from drop events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingTraits {
    /// Drop events among its evidence.
    pub drop_events: u64,
    /// Distinct packets those drop events were: tcpip logs one drop per socket
    /// that could not take a datagram, and its own copy of a packet it drops
    /// with a rewritten IP header; copies of one packet count once.
    pub dropped_packets: u64,
    /// Dropped packets that were TCP, and the flags every one of them / any of them had.
    pub tcp_drops: u64,
    pub tcp_flags_all: u16,
    pub tcp_flags_any: u16,
    /// Dropped packets that carried transport payload.
    pub payload_drops: u64,
    /// Dropped packets on their way in (Rx, In, Ingress).
    pub inbound_drops: u64,
    /// A reset that answered the client's SYN: the connection was refused.
    pub refused: bool,
    /// A reset after payload had been exchanged: data may be lost.
    pub carried_data: bool,
    /// A reset this host sent (its own application or stack closed the connection).
    pub reset_by_this_host: bool,
    /// A reset whose TTL is not its side's: a device on the path sent it.
    pub reset_by_device: bool,
    /// The drop records of its evidence, so that a problem made of several
    /// findings counts each drop event and each packet once.
    pub drop_marks: Vec<DropMark>,
}

/// One drop record of a finding's evidence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropMark {
    /// The record's number within the diagnosis.
    pub id: u32,
    /// The dropped packet's identity apart from rewritten IP fields (0: unknown).
    pub content: u64,
    pub time: FileTime,
    /// Packets the record stands for (a netsh drop event can name several).
    pub packets: u64,
}

/// Drop events and distinct packets of a set of drop records: records of one
/// content within [`COPY_WINDOW`] of each other are copies of one packet.
pub fn count_marks<'a>(marks: impl Iterator<Item = &'a DropMark>) -> (u64, u64) {
    let mut all: Vec<&DropMark> = marks.collect();
    all.sort_by_key(|m| (m.id, m.time));
    all.dedup_by_key(|m| m.id);
    let events = all.len() as u64;
    all.sort_by_key(|m| (m.content, m.time));
    let mut packets = 0;
    let mut last: Option<(u64, FileTime)> = None;
    for m in all {
        let copy = m.content != 0 && last.is_some_and(|(c, t)| c == m.content && m.time - t <= COPY_WINDOW);
        if !copy {
            packets += m.packets;
        }
        last = Some((m.content, m.time));
    }
    (events, packets)
}

/// How long before a symptom a drop of the same flow may be its cause: a
/// sender notices a loss after a retransmission timeout (1 s at first, up to
/// about 2 s with a slow path's RTT added).
pub const DROP_LINK_WINDOW: FileTime = 2 * 10_000_000;

/// Most evidence frames kept per finding.
const MAX_FRAMES: usize = 200;

/// What is kept of every packet while streaming (small on purpose).
#[derive(Debug, Clone, Copy, Default)]
struct PacketSummary {
    /// Frame number (1-based) of its first appearance.
    first_frame: u64,
    /// Whether it was dropped (its drop records are in `Diagnoser::drops_of`).
    dropped: bool,
    /// Bits of the components it was seen at (see `Diagnoser::component_bits`).
    components: u64,
    /// Sent by this host (its first appearance was Tx/Out/Egress), received (Rx/In/Ingress), or unknown.
    sent: Option<bool>,
    appearances: u32,
}

/// How far back (capture time) a symptom may refer to a packet it has not
/// named yet: retransmissions name their original, which TCP gives up
/// resending within a minute or two.
const SUMMARY_HORIZON: FileTime = 5 * 60 * 10_000_000;

/// The summaries of the packets: those of the last [`SUMMARY_HORIZON`] in
/// order, and older ones only where a symptom refers to them, so memory
/// follows the traffic of the last minutes and the symptoms, not the file.
#[derive(Default)]
struct Summaries {
    /// (time of the first appearance, summary); `recent[0]` is packet `first`.
    recent: std::collections::VecDeque<(FileTime, PacketSummary)>,
    first: usize,
    /// Packets older than the horizon that symptoms refer to.
    kept: HashMap<usize, PacketSummary>,
    /// Recent packets that symptoms refer to: kept when they grow old.
    wanted: std::collections::HashSet<usize>,
}

impl Summaries {
    /// Packets summarised so far (the next new packet has this id).
    fn count(&self) -> usize {
        self.first + self.recent.len()
    }

    fn push(&mut self, time: FileTime, summary: PacketSummary) {
        self.recent.push_back((time, summary));
    }

    fn get(&self, p: usize) -> Option<&PacketSummary> {
        match p.checked_sub(self.first).and_then(|i| self.recent.get(i)) {
            Some((_, s)) => Some(s),
            None => self.kept.get(&p),
        }
    }

    fn get_mut(&mut self, p: usize) -> Option<&mut PacketSummary> {
        match p.checked_sub(self.first).and_then(|i| self.recent.get_mut(i)) {
            Some((_, s)) => Some(s),
            None => self.kept.get_mut(&p),
        }
    }

    /// A symptom refers to packet `p`: keep its summary to the end.
    fn want(&mut self, p: usize) {
        if p >= self.first {
            self.wanted.insert(p);
        }
    }

    /// Lets go of the summaries first seen before `cutoff` that no symptom wants.
    fn forget_before(&mut self, cutoff: FileTime) {
        while let Some(&(t, summary)) = self.recent.front() {
            if t >= cutoff {
                break;
            }
            self.recent.pop_front();
            if self.wanted.remove(&self.first) {
                self.kept.insert(self.first, summary);
            }
            self.first += 1;
        }
    }

    /// Summaries held now.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.recent.len() + self.kept.len()
    }
}

#[derive(Debug, Clone)]
struct DropRecord {
    packet: usize,
    frame: u64,
    time: FileTime,
    flow: Option<FlowKey>,
    reference: DropRef,
    category: DropCategory,
    /// The netsh trace line of a TCP/IP drop event.
    tcpip_line: Option<u64>,
    /// Packets the record stands for: 1, or a TCP/IP drop event's count.
    packets: u64,
    facts: PacketFacts,
}

/// What is kept of a dropped packet besides its flow.
#[derive(Debug, Clone, Copy, Default)]
struct PacketFacts {
    tcp_flags: Option<u16>,
    /// Transport payload bytes.
    payload: u32,
    inbound: Option<bool>,
    /// The packet's identity apart from what tcpip rewrites in its own copy
    /// (TTL, IPv4 id, header checksum): copies of one packet share it.
    content: u64,
}

impl PacketFacts {
    fn of(view: Option<&flows::PacketView<'_>>, direction: Option<u16>) -> PacketFacts {
        use flows::Transport;
        let inbound = match direction {
            Some(1) | Some(3) | Some(5) => Some(true),
            Some(2) | Some(4) | Some(6) => Some(false),
            _ => None,
        };
        let Some(v) = view else {
            return PacketFacts {
                inbound,
                ..Default::default()
            };
        };
        let mut words: Vec<u64> = Vec::with_capacity(8);
        if let Some(ip) = &v.ip {
            let (a, b) = (flows::addr_bits(ip.src), flows::addr_bits(ip.dst));
            words.extend([
                a as u64,
                (a >> 64) as u64,
                b as u64,
                (b >> 64) as u64,
                ip.protocol as u64,
            ]);
        }
        let (tcp_flags, payload) = match &v.transport {
            Transport::Tcp(t) => {
                words.extend([
                    ((t.src_port as u64) << 16) | t.dst_port as u64,
                    ((t.seq as u64) << 32) | t.ack as u64,
                    ((t.flags as u64) << 32) | t.segment_len as u64,
                ]);
                (Some(t.flags), t.segment_len)
            }
            Transport::Udp(u) => {
                words.extend([
                    ((u.src_port as u64) << 16) | u.dst_port as u64,
                    ((u.length as u64) << 16) | u.checksum as u64,
                ]);
                (None, u.payload_len)
            }
            Transport::Icmp(i) => {
                words.extend([
                    ((i.icmp_type as u64) << 24) | ((i.code as u64) << 16) | i.checksum as u64,
                    u32::from_be_bytes(i.rest) as u64,
                ]);
                (None, i.body.len() as u32)
            }
            Transport::Arp(a) => {
                words.extend([
                    a.operation as u64,
                    u32::from(a.sender_ip) as u64,
                    u32::from(a.target_ip) as u64,
                ]);
                (None, 0)
            }
            Transport::Other => (None, v.ip.map_or(0, |ip| ip.payload_len)),
        };
        PacketFacts {
            tcp_flags,
            payload,
            inbound,
            content: flows::mix(&words),
        }
    }
}

/// The next step for a local drop, by what the packet was: the catalog's
/// advice per category assumes a unicast TCP service; multicast, broadcast,
/// UDP and replies to client ports need other words.
fn drop_advice(category: DropCategory, flow: Option<&FlowKey>, inbound: Option<bool>) -> String {
    let Some(k) = flow else {
        return next_step(category).to_string();
    };
    let group = k.server.is_multicast() || matches!(k.server, std::net::IpAddr::V4(a) if a.is_broadcast());
    let udp = k.protocol == 17;
    match category {
        DropCategory::Unreachable | DropCategory::NoRoute if group => format!(
            "No application on this host listens to {} (a multicast group it has not joined, or a broadcast \
             for a service it does not run): harmless unless an application here should receive it; then check \
             that it runs and binds port {} (`Get-NetUDPEndpoint -LocalPort {}`).",
            k.server, k.server_port, k.server_port
        ),
        DropCategory::Unreachable if inbound == Some(true) && k.server_port >= 49152 => format!(
            "The packet came to client port {} after the socket that used it had closed (a late or repeated \
             reply): harmless in small numbers; many mean the client gives up before its server answers.",
            k.server_port
        ),
        DropCategory::Unreachable if udp => format!(
            "Nothing on this host listens on UDP port {}: check the service with `Get-NetUDPEndpoint -LocalPort \
             {}` and the port the sender uses.",
            k.server_port, k.server_port
        ),
        DropCategory::SessionLoss if k.protocol != 6 => {
            "The protocol's state did not accept the packet: follow the exchange it belongs to in the capture."
                .to_string()
        }
        _ => next_step(category).to_string(),
    }
}

/// A netsh drop event without a captured packet is a packet of its own.
fn line_identity(line: u64) -> u64 {
    flows::mix(&[line, 0x006e_6574_7368])
}

/// Drop reasons that record TCP/IP taking in what a peer sent, not losing
/// it: "INET: received RST" (1210) is tcpip consuming a reset. They are no
/// cause of loss; the reset itself is the symptom.
fn is_consumption(d: &DropRef) -> bool {
    d.tcpip_layer.is_none()
        && (d.reason == Some(1210) || (d.reason.is_none() && d.reason_text.contains("received RST")))
}

/// Totals of a diagnosis.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub appearances: u64,
    pub packets: u64,
    pub drop_events: u64,
    pub flows: u64,
    pub symptoms: BTreeMap<String, u64>,
    pub findings: u64,
    pub local: u64,
    pub remote: u64,
    pub unknown: u64,
}

/// The result of diagnosing one input.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diagnosis {
    pub file: String,
    pub kind: String,
    pub has_pktmon_metadata: bool,
    pub windows_build: Option<u32>,
    /// The OS as users name it ("Windows 11 Pro"), when the capture says.
    pub os: Option<String>,
    /// First and last packet (UTC), and the time between them.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub duration_seconds: Option<f64>,
    /// The network adapters packets passed, with the addresses of their interface.
    pub adapters: Vec<Adapter>,
    /// The answer first: status, summary, ranked problems, background.
    pub verdict: Verdict,
    pub totals: Totals,
    pub findings: Vec<Finding>,
    pub drop_rows: Vec<crate::sink::drops::DropRow>,
    /// The netsh trace joined to this input, and how.
    pub tcpip: Option<TcpipSummary>,
    /// The adapter counter snapshots joined to this input, per adapter.
    pub nic: Option<nic::NicSummary>,
    /// Timeline, stack and top talkers, for the HTML report.
    #[serde(skip)]
    pub details: details::Details,
}

/// A network adapter of the capture, for the report's header.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Adapter {
    pub component: u16,
    pub name: String,
    pub description: String,
    pub if_index: Option<u32>,
    pub addresses: Vec<String>,
}

impl Adapter {
    /// `Description (address, address)`, as the reports name it.
    pub fn label(&self) -> String {
        let what = if self.description.is_empty() {
            &self.name
        } else {
            &self.description
        };
        if self.addresses.is_empty() {
            what.clone()
        } else {
            format!("{what} ({})", self.addresses.join(", "))
        }
    }
}

impl Diagnosis {
    /// The OS and build as the reports name them (`Windows 11 Pro, build 26200`).
    pub fn system(&self) -> String {
        match (&self.os, self.windows_build) {
            // Some writers already put the build in the OS text ("Windows 11 Pro (build 26200)").
            (Some(os), Some(b)) if os.contains(&b.to_string()) => os.clone(),
            (Some(os), Some(b)) => format!("{os}, build {b}"),
            (None, Some(b)) => format!("Windows build {b}"),
            (Some(os), None) => os.clone(),
            (None, None) => String::new(),
        }
    }
}

/// Component types that are network adapters (the packet reached or came from the wire there).
pub(crate) fn is_nic_type(component_type: u16) -> bool {
    // 2 Miniport, 6 VmsMiniport, 9 NetVsc miniport, 14 NetCx
    matches!(component_type, 2 | 6 | 9 | 14)
}

/// Streams a capture into a diagnosis.
pub struct Diagnoser {
    grouper: Grouper,
    flows: FlowAnalyzer,
    packets: Summaries,
    /// Symptoms taken from the flow analysis while streaming (their packets are wanted).
    symptoms: Vec<crate::flows::Symptom>,
    packets_since_sweep: u32,
    drops: Vec<DropRecord>,
    components: ComponentTable,
    appearances: u64,
    /// A bit per component seen in packets (the first 64): component types
    /// arrive at the end of an ETL, so "did it reach a NIC" is decided in finish().
    component_bits: HashMap<u16, u8>,
    drop_counter: crate::sink::drops::DropCounter,
    /// Packet → its drop records (indices into `drops`), in time order.
    drops_of: HashMap<usize, Vec<u32>>,
    /// Flow (either direction, any VLAN) → its drop records (indices into
    /// `drops`, ascending), built in finish() once every drop is in.
    drops_by_flow: HashMap<FlowEnds, Vec<usize>>,
    catalog: Option<crate::pktmon::catalog::Catalog>,
    build_known: bool,
    /// PktMon's drop counters against the drop events recorded.
    counters: counters::CounterCheck,
    tcpip: Option<TcpipJoin>,
    /// Adapter counter snapshots to join to the capture's adapters.
    nic: Option<nic::NicJoin>,
    /// The host's own addresses (its components' IP addresses), known in `finish`.
    local_addrs: std::collections::HashSet<std::net::IpAddr>,
    /// Packets whose first appearance carried bytes (the protocols could be read).
    packets_with_bytes: u64,
    first_time: Option<FileTime>,
    last_time: Option<FileTime>,
    details: details::Collector,
}

impl Default for Diagnoser {
    fn default() -> Self {
        Diagnoser::new(None)
    }
}

impl Diagnoser {
    pub fn new(os_build: Option<u32>) -> Diagnoser {
        Diagnoser {
            grouper: Grouper::new(os_build),
            flows: FlowAnalyzer::new(),
            packets: Summaries::default(),
            symptoms: Vec::new(),
            packets_since_sweep: 0,
            drops: Vec::new(),
            components: ComponentTable::default(),
            appearances: 0,
            component_bits: HashMap::new(),
            drop_counter: Default::default(),
            drops_of: HashMap::new(),
            drops_by_flow: HashMap::new(),
            catalog: None,
            build_known: false,
            counters: Default::default(),
            tcpip: None,
            nic: None,
            local_addrs: Default::default(),
            packets_with_bytes: 0,
            first_time: None,
            last_time: None,
            details: Default::default(),
        }
    }

    /// Joins the Microsoft-Windows-TCPIP events of a netsh trace of the same
    /// host; `offset` (capture time − netsh time, 100-ns ticks) is found from
    /// shared events when not given.
    pub fn with_tcpip(mut self, trace: Arc<TcpipTrace>, offset: Option<FileTime>) -> Diagnoser {
        self.tcpip = Some(TcpipJoin::new(trace, offset));
        self
    }

    /// Joins adapter counter snapshots (`Get-NetAdapterStatistics`, typeperf)
    /// to the capture's network adapters.
    pub fn with_nic(mut self, set: Arc<crate::nic::NicSet>) -> Diagnoser {
        self.nic = Some(nic::NicJoin::new(set));
        self
    }

    /// Also collects [`Diagnosis::details`] (timeline, stack, top talkers) for the HTML report.
    pub fn with_details(mut self) -> Diagnoser {
        self.details.enabled = true;
        self
    }

    fn packet(&mut self, ctx: &Context<'_>, a: &Appearance) {
        if !self.build_known {
            // Readers know the build and the writing application before the first packet.
            self.grouper = Grouper::for_capture(ctx.info);
            self.build_known = true;
        }
        self.appearances += 1;
        self.first_time = Some(self.first_time.map_or(a.time, |t| t.min(a.time)));
        self.last_time = Some(self.last_time.map_or(a.time, |t| t.max(a.time)));
        let (p, _) = self.grouper.assign(&HopKey::of(a));
        let frame = a.index + 1;
        self.details.packet(p, a, p == self.packets.count());
        if p == self.packets.count() {
            self.packets.push(
                a.time,
                PacketSummary {
                    first_frame: frame,
                    sent: match a.direction {
                        Some(2) | Some(4) | Some(6) => Some(true),
                        Some(1) | Some(3) | Some(5) => Some(false),
                        _ => None,
                    },
                    ..Default::default()
                },
            );
            if let Some(j) = &mut self.tcpip {
                j.observe(p, frame, a.time, a.link_type, &a.payload);
            }
            if !a.payload.is_empty() {
                self.packets_with_bytes += 1;
            }
            self.flows.push(&PacketInput {
                packet: p,
                appearance: a.index,
                time: a.time,
                link_type: a.link_type,
                bytes: &a.payload,
                original_len: a.original_size,
            });
        }
        self.packets_since_sweep += 1;
        if self.packets_since_sweep >= 4096 {
            self.packets_since_sweep = 0;
            for s in self.flows.drain_symptoms() {
                self.packets.want(s.packet);
                for &r in &s.related_packets {
                    self.packets.want(r);
                }
                self.symptoms.push(s);
            }
            self.packets.forget_before(a.time.saturating_sub(SUMMARY_HORIZON));
        }
        // A packet older than the horizon that no symptom wanted has no summary
        // any more; its drops are still recorded.
        if let Some(s) = self.packets.get_mut(p) {
            s.appearances += 1;
        }
        if let Some(d) = &a.drop {
            self.drop_counter.add(a, ctx.catalog);
            if self.catalog.is_none() {
                self.catalog = Some(ctx.catalog.clone());
            }
            let reason_text = d
                .reason_text
                .clone()
                .or_else(|| d.reason.and_then(|c| ctx.catalog.drop_reason(c)).map(str::to_string))
                .or_else(|| d.reason.map(|c| c.to_string()))
                .unwrap_or_default()
                .trim()
                .to_string();
            let category = drop_category(d.reason, Some(&reason_text));
            let view = flows::parse(a.link_type, &a.payload);
            let flow = view.as_ref().and_then(|v| v.flow_key());
            let facts = PacketFacts::of(view.as_ref(), a.direction);
            if let Some(s) = self.packets.get_mut(p) {
                s.dropped = true;
            }
            self.drops_of.entry(p).or_default().push(self.drops.len() as u32);
            self.drops.push(DropRecord {
                packet: p,
                frame,
                time: a.time,
                flow,
                reference: DropRef {
                    reason: d.reason,
                    reason_text,
                    location: d.location.map(|l| format!("0x{l:08X}")).unwrap_or_default(),
                    location_name: d.location.and_then(drop_location_name).map(str::to_string),
                    component: a.component_id,
                    component_name: String::new(),
                    direction: a
                        .direction
                        .map(|x| {
                            ctx.catalog
                                .direction(x)
                                .map(|t| t.trim().to_string())
                                .unwrap_or_else(|| x.to_string())
                        })
                        .unwrap_or_default(),
                    tcpip_layer: None,
                    tcpip_reason: None,
                },
                category,
                tcpip_line: None,
                packets: 1,
                facts,
            });
        }
        if let Some(c) = a.component_id {
            let next = self.component_bits.len();
            if let Some(&bit) = self.component_bits.get(&c) {
                if let Some(s) = self.packets.get_mut(p) {
                    s.components |= 1 << bit;
                }
            } else if next < 64 {
                self.component_bits.insert(c, next as u8);
                if let Some(s) = self.packets.get_mut(p) {
                    s.components |= 1 << next;
                }
            }
        }
    }

    /// Whether an address is this host's own: loopback, or one of its components' addresses.
    fn is_local_address(&self, a: &std::net::IpAddr) -> bool {
        a.is_loopback() || self.local_addrs.contains(a)
    }

    /// The bits of the components that are network adapters.
    fn nic_mask(&self) -> u64 {
        self.component_bits
            .iter()
            .filter(|(c, _)| self.components.get(**c).is_some_and(|c| is_nic_type(c.component_type)))
            .fold(0, |m, (_, &bit)| m | (1 << bit))
    }

    /// Correlates and names causes.
    pub fn finish(mut self, info: &CaptureInfo) -> Diagnosis {
        self.local_addrs = self
            .components
            .iter()
            .flat_map(|c| {
                c.ipv4_addresses()
                    .map(std::net::IpAddr::V4)
                    .chain(c.ipv6_addresses().map(std::net::IpAddr::V6))
            })
            .collect();
        for d in &mut self.drops {
            if let Some(c) = d.reference.component.and_then(|c| self.components.get(c)) {
                d.reference.component_name = c.name.clone();
            }
        }
        let nic = self.nic_mask();
        let flows = std::mem::take(&mut self.flows);
        let mut report = flows.finish();
        // The symptoms taken while streaming come first: they were decided first.
        let rest = std::mem::take(&mut report.symptoms);
        report.symptoms = std::mem::take(&mut self.symptoms);
        report.symptoms.extend(rest);
        let mut diag = Diagnosis {
            file: info.file.clone(),
            kind: info.kind.map(|k| k.describe().to_string()).unwrap_or_default(),
            has_pktmon_metadata: info.kind.map(|k| k.has_metadata()).unwrap_or(false),
            windows_build: info.os_build,
            ..Default::default()
        };
        diag.totals.appearances = self.appearances;
        diag.totals.packets = self.packets.count() as u64;
        diag.totals.drop_events = self.drops.len() as u64;
        diag.totals.flows = report.flows.len() as u64;
        let resolved = self.tcpip.take().map(|j| j.resolve(info.timezone_bias_minutes));
        let drops_matched = resolved.as_ref().map_or(0, |r| self.add_tcpip_drops(r));
        let mut explained_by_tcpip = 0;
        let mut b = Builder::default();
        let has_paths = nic != 0;
        let black_holes = black_hole_flows(&report);
        let ctx = FlowContext::of(&report);
        let mut drop_explained = vec![false; self.drops.len()];
        self.drops_by_flow = HashMap::new();
        for (i, d) in self.drops.iter().enumerate() {
            if let Some(f) = &d.flow {
                self.drops_by_flow.entry(flow_ends(f)).or_default().push(i);
            }
        }
        let reordered: std::collections::HashSet<usize> = report
            .flows
            .iter()
            .flat_map(|f| f.reordered_holes.iter().copied())
            .collect();
        for s in &report.symptoms {
            // A hole filled microseconds later is reordering at the capture point, not loss.
            if s.kind == SymptomKind::Hole && reordered.contains(&s.packet) {
                continue;
            }
            if let (SymptomKind::Retransmission { .. }, Some(flow)) = (&s.kind, &s.flow) {
                if black_holes.contains(flow) && !self.packet_dropped(s) {
                    *diag.totals.symptoms.entry("retransmission".to_string()).or_default() += 1;
                    let key = FindingKey {
                        locality: Locality::Remote,
                        cause: Cause::Mtu,
                        symptom: "suspected PMTU black hole",
                        flow: Some(*flow),
                        drop: None,
                        mechanism: None,
                    };
                    let mut frames = vec![s.appearance + 1];
                    frames.extend(
                        s.related_packets
                            .iter()
                            .filter_map(|&r| self.packets.get(r))
                            .map(|p| p.first_frame),
                    );
                    b.add(key, s.time, &frames, &[], || {
                        (
                            "Full-size segments are lost again and again while small ones get through, and no ICMP \
                             packet-too-big came back: a link on the path has a smaller MTU and its ICMP errors are \
                             filtered (a PMTU black hole)."
                                .to_string(),
                            next_step(DropCategory::Mtu).to_string(),
                        )
                    });
                    continue;
                }
            }
            *diag
                .totals
                .symptoms
                .entry(symptom_name(&s.kind).to_string())
                .or_default() += 1;
            let tcpip = resolved.as_ref();
            self.classify(
                s,
                has_paths,
                nic,
                &ctx,
                &mut b,
                &mut drop_explained,
                tcpip,
                &mut explained_by_tcpip,
            );
        }
        if let (Some(r), true) = (&resolved, self.packets.count() == 0) {
            retransmissions_without_capture(r, &mut b, &mut diag.totals);
        }
        // Local drops no symptom explained: findings of their own.
        for (i, d) in self.drops.iter().enumerate() {
            if drop_explained[i] {
                continue;
            }
            let cause = Cause::from(d.category);
            let key = FindingKey {
                locality: drop_locality(&d.reference),
                cause,
                symptom: "local drop",
                flow: d.flow,
                drop: Some(d.reference.clone()),
                mechanism: None,
            };
            if let (Some(line), Some(r)) = (d.tcpip_line, &resolved) {
                b.cite(&key, &r.trace.file, None, &[line]);
            }
            // "dropped 3 packet(s)": one event, three packets.
            b.more_packets(&key, &d.reference, d.packets - 1);
            b.add(key, d.time, &[d.frame], &[(i, d)], || {
                (
                    format!(
                        "{} dropped packets: {}{}.",
                        component_label(&d.reference),
                        reason_label(&d.reference),
                        if d.reference.location.is_empty() {
                            String::new()
                        } else {
                            format!(
                                " at {}",
                                d.reference.location_name.as_deref().unwrap_or(&d.reference.location)
                            )
                        }
                    ),
                    drop_advice(d.category, d.flow.as_ref(), d.facts.inbound),
                )
            });
        }
        no_answer(&report, &mut b, &self.local_addrs);
        diag.findings = b.finish();
        let counted = std::mem::take(&mut self.counters).findings(&self.components, info);
        counters::merge(&mut diag.findings, counted);
        if let Some(j) = self.nic.take() {
            let span = self
                .first_time
                .zip(self.last_time)
                .or(info.start_time.zip(info.end_time));
            let r = j.finish(&self.components, span);
            counters::merge(&mut diag.findings, r.findings);
            diag.nic = Some(r.summary);
        }
        diag.os = info.os_name();
        diag.start_time = self.first_time.or(info.start_time).map(crate::time::format_utc);
        diag.end_time = self.last_time.or(info.end_time).map(crate::time::format_utc);
        diag.duration_seconds = match (self.first_time, self.last_time) {
            (Some(a), Some(b)) => Some((b - a) as f64 / 1e7),
            _ => None,
        };
        diag.adapters = self.adapters(nic);
        diag.tcpip = resolved.map(|r| r.summary(drops_matched, explained_by_tcpip));
        let catalog = self
            .catalog
            .take()
            .unwrap_or_else(|| crate::pktmon::catalog::Catalog::builtin(info.os_build));
        diag.drop_rows = self.drop_counter.rows(&info.file, &self.components, &catalog);
        let span = self.first_time.zip(self.last_time);
        diag.details = std::mem::take(&mut self.details).finish(&self.components, &catalog, &self.drops, &report, span);
        diag.totals.findings = diag.findings.len() as u64;
        for f in &diag.findings {
            match f.locality {
                Locality::Local => diag.totals.local += 1,
                Locality::Remote => diag.totals.remote += 1,
                Locality::Unknown => diag.totals.unknown += 1,
            }
        }
        let ctx = verdict::Context {
            local_addresses: self.local_addrs.iter().copied().collect(),
            packets_with_bytes: self.packets_with_bytes,
            nothing_because: verdict::nothing_to_check(&diag, self.packets_with_bytes),
        };
        verdict::decide(&mut diag, &ctx);
        diag
    }

    /// The network adapters packets passed (or every adapter with an address
    /// when no packet names one), with their interface's addresses.
    fn adapters(&self, nic: u64) -> Vec<Adapter> {
        let seen = |id: u16| self.component_bits.get(&id).is_some_and(|&bit| nic & (1 << bit) != 0);
        let addresses_of = |if_index: Option<u32>| -> Vec<String> {
            let Some(i) = if_index else { return Vec::new() };
            let mut out: Vec<String> = Vec::new();
            for c in self.components.iter().filter(|c| c.if_index() == Some(i)) {
                for a in c
                    .ipv4_addresses()
                    .map(|a| a.to_string())
                    .chain(c.ipv6_addresses().map(|a| a.to_string()))
                {
                    if !out.contains(&a) {
                        out.push(a);
                    }
                }
            }
            out
        };
        let adapter = |c: &Component| Adapter {
            component: c.id,
            name: c.name.clone(),
            description: c.description.clone(),
            if_index: c.if_index(),
            addresses: addresses_of(c.if_index()),
        };
        let nics = || self.components.iter().filter(|c| is_nic_type(c.component_type));
        let mut out: Vec<Adapter> = nics().filter(|c| seen(c.id)).map(adapter).collect();
        if out.is_empty() && nic == 0 {
            out = nics().map(adapter).filter(|a| !a.addresses.is_empty()).collect();
        }
        // One adapter can appear as several components (miniport and its virtual twin).
        let mut seen_adapters = std::collections::HashSet::new();
        out.retain(|a| seen_adapters.insert((a.description.clone(), a.addresses.clone())));
        out
    }

    /// Turns the drop events of a netsh trace into drop records, tied to the
    /// captured packet each dropped when found. A packet PktMon already saw
    /// dropped keeps its PktMon record (the same drop, seen twice) and gains
    /// the netsh line as evidence. Returns how many events matched a packet.
    fn add_tcpip_drops(&mut self, r: &tcpip::Resolved) -> u64 {
        let mut matched = 0;
        for d in r.drops() {
            if let Some(c) = d.packet {
                matched += 1;
                if let Some(&first) = self.drops_of(c.packet).first() {
                    let rec = &mut self.drops[first as usize];
                    rec.tcpip_line = rec.tcpip_line.or(Some(d.line));
                    continue;
                }
            }
            let reason = crate::tcpip::reasons::reason(d.layer, d.code);
            let reason_text = match (d.text.is_empty(), reason) {
                (false, _) => d.text.clone(),
                (true, Some(known)) => known.text.to_string(),
                (true, None) => d.code.to_string(),
            };
            let index = self.drops.len() as u32;
            if let Some(c) = d.packet {
                self.drops_of.entry(c.packet).or_default().push(index);
                if let Some(p) = self.packets.get_mut(c.packet) {
                    p.dropped = true;
                }
            }
            self.drops.push(DropRecord {
                packet: d.packet.map_or(usize::MAX, |c| c.packet),
                frame: d.packet.map_or(0, |c| c.frame),
                time: d.time,
                flow: Some(d.flow),
                reference: DropRef {
                    reason: None,
                    reason_text,
                    location: String::new(),
                    location_name: None,
                    component: None,
                    component_name: format!("tcpip.sys ({} layer)", d.layer.as_str()),
                    direction: d.direction.clone().unwrap_or_default(),
                    tcpip_layer: Some(d.layer),
                    tcpip_reason: Some(d.code),
                },
                category: crate::tcpip::reasons::category(d.layer, d.code),
                tcpip_line: Some(d.line),
                packets: d.count.max(1),
                facts: PacketFacts {
                    inbound: d
                        .direction
                        .as_deref()
                        .map(|x| x.starts_with("Receive") || x == "Rx" || x == "In"),
                    content: line_identity(d.line),
                    ..Default::default()
                },
            });
        }
        matched
    }

    /// Whether a packet the symptom is about was dropped on this host.
    fn packet_dropped(&self, s: &Symptom) -> bool {
        s.related_packets
            .iter()
            .chain(std::iter::once(&s.packet))
            .any(|&p| !self.drops_of(p).is_empty())
    }

    /// The drop records of a packet, if it was dropped locally.
    fn drops_of(&self, packet: usize) -> &[u32] {
        self.drops_of.get(&packet).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A drop of the same flow near in time (within [`DROP_LINK_WINDOW`] before
    /// the symptom) that can be a cause of loss.
    /// The latest such drop record, as a scan of every drop from the end
    /// would find it, looked for among the flow's own drops only (a capture
    /// with thousands of drops and symptoms made that scan quadratic).
    fn drop_near(&self, flow: &FlowKey, time: FileTime) -> Option<usize> {
        let of_flow = self.drops_by_flow.get(&flow_ends(flow))?;
        of_flow.iter().rev().copied().find(|&i| {
            let d = &self.drops[i];
            d.time <= time
                && time - d.time <= DROP_LINK_WINDOW
                && !is_consumption(&d.reference)
                && d.flow.as_ref().is_some_and(|f| same_flow(f, flow))
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn classify(
        &self,
        s: &Symptom,
        has_paths: bool,
        nic: u64,
        fc: &FlowContext,
        b: &mut Builder,
        explained: &mut [bool],
        tcpip: Option<&tcpip::Resolved>,
        explained_by_tcpip: &mut u64,
    ) {
        let mut retransmit_cause: Option<RetransmitCause> = None;
        let frame = s.appearance + 1;
        let mut frames: Vec<u64> = vec![frame];
        for &r in &s.related_packets {
            if let Some(p) = self.packets.get(r) {
                frames.push(p.first_frame);
            }
        }
        // A local drop of a packet this symptom is about decides it: the first
        // drop on its path names the cause; further drops of the same packet
        // (another consumer dropping it too) are part of the evidence.
        let mut involved: Vec<usize> = Vec::new();
        let causes = |d: &u32| !is_consumption(&self.drops[*d as usize].reference);
        for &p in s.related_packets.iter().chain(std::iter::once(&s.packet)) {
            involved.extend(self.drops_of(p).iter().filter(|d| causes(d)).map(|&d| d as usize));
        }
        if involved.is_empty() {
            if let Some(d) = s.flow.as_ref().and_then(|f| self.drop_near(f, s.time)) {
                involved.extend(
                    self.drops_of(self.drops[d].packet)
                        .iter()
                        .filter(|d| causes(d))
                        .map(|&d| d as usize),
                );
                if involved.is_empty() && !is_consumption(&self.drops[d].reference) {
                    involved.push(d);
                }
            }
        }
        if let Some(&primary) = involved.first() {
            let d = &self.drops[primary];
            for &i in &involved {
                explained[i] = true;
                frames.push(self.drops[i].frame);
            }
            let key = FindingKey {
                locality: drop_locality(&d.reference),
                cause: Cause::from(d.category),
                symptom: symptom_name(&s.kind),
                flow: s.flow,
                drop: Some(d.reference.clone()),
                mechanism: None,
            };
            let lines: Vec<u64> = involved.iter().filter_map(|&i| self.drops[i].tcpip_line).collect();
            if let (false, Some(r)) = (lines.is_empty(), tcpip) {
                b.cite(&key, &r.trace.file, None, &lines);
            }
            let refs: Vec<(usize, &DropRecord)> = involved.iter().map(|&i| (i, &self.drops[i])).collect();
            b.add(key, s.time, &frames, &refs, || {
                (
                    format!(
                        "A local drop on this host explains the {}: {} dropped it ({}).",
                        symptom_name(&s.kind),
                        component_label(&d.reference),
                        reason_label(&d.reference)
                    ),
                    next_step(d.category).to_string(),
                )
            });
            return;
        }
        // Symptoms another finding of the same flow already tells.
        match &s.kind {
            // A SYN sent again is the unanswered SYN's own story.
            SymptomKind::Retransmission { .. } if s.flow.is_some_and(|f| fc.syn_unanswered.contains(&f)) => return,
            // A SYN that ICMP said is unreachable was answered, by the ICMP error.
            SymptomKind::SynUnanswered { .. } if s.flow.is_some_and(|f| fc.unreachable.contains(&f)) => return,
            // Fragmentation needed is reported as packet too big; port unreachable for UDP as a closed port.
            SymptomKind::DestinationUnreachable { code } if is_frag_needed(s, *code) => return,
            SymptomKind::DestinationUnreachable { .. } if fc.udp_closed.contains(&s.packet) => return,
            _ => {}
        }
        if let (SymptomKind::Retransmission { .. }, Some(flow)) = (&s.kind, &s.flow) {
            if fc.too_big.contains(flow) {
                let key = FindingKey {
                    locality: Locality::Remote,
                    cause: Cause::Mtu,
                    symptom: "retransmission after packet too big",
                    flow: Some(*flow),
                    drop: None,
                    mechanism: None,
                };
                b.add(key, s.time, &frames, &[], || {
                    (
                        "Segments too large for a link on the path were lost and sent again smaller after ICMP \
                         packet-too-big / fragmentation-needed came back."
                            .to_string(),
                        next_step(DropCategory::Mtu).to_string(),
                    )
                });
                return;
            }
        }
        let (locality, cause, explanation, step): (Locality, Cause, String, &str) = match &s.kind {
            SymptomKind::Retransmission { trigger } => {
                let sent_here = self.packets.get(s.packet).and_then(|p| p.sent);
                let original_left =
                    s.related_packets.iter().any(|&p| self.packets.get(p).is_some_and(|x| x.components & nic != 0));
                // The TCP/IP events say what sent it again; timing only guesses.
                retransmit_cause = tcpip.and_then(|r| r.retransmission(s.flow.as_ref()?, s.seq?, s.time));
                let how = match (&retransmit_cause, trigger) {
                    (Some(c), _) => c.describe(),
                    (None, RetransmitTrigger::Fast) => "after duplicate ACKs (fast retransmission)".to_string(),
                    (None, RetransmitTrigger::Timeout) => "after a retransmission timeout".to_string(),
                    (None, RetransmitTrigger::TailLossProbe) => "as a tail loss probe".to_string(),
                    (None, RetransmitTrigger::Unknown) => String::new(),
                };
                // Sent by this host: lost beyond it if its first copy reached the NIC;
                // if it never did and nothing recorded a drop, this capture cannot tell.
                // Sent to this host: whatever happened, it was not dropped here.
                let locality = match sent_here {
                    Some(false) => Locality::Remote,
                    _ if original_left || !has_paths => Locality::Remote,
                    _ => Locality::Unknown,
                };
                (
                    locality,
                    Cause::Congestion,
                    format!(
                        "A TCP segment was sent again {how}{}; no local drop of it was recorded, so it was lost beyond this host.",
                        if original_left { " after its first copy left the NIC" } else { "" }
                    )
                    .replace("again ;", "again;"),
                    "Loss beyond this host: check the path's interface error and discard counters, queueing on \
                     routers and links, and the peer's receive side.",
                )
            }
            SymptomKind::Hole | SymptomKind::AckedUnseenSegment => (
                Locality::Remote,
                Cause::Congestion,
                "A segment never appeared at any component of this host and no local drop names it: it was lost before \
                 reaching it."
                    .to_string(),
                "Loss beyond this host: check the path's interface error and discard counters and the sender.",
            ),
            SymptomKind::SpuriousRetransmission => (
                Locality::Remote,
                Cause::Congestion,
                "Data already acknowledged was sent again: its ACK was lost or delayed on the path.".to_string(),
                "Look for ACK loss or delay on the path (asymmetric routing, congested return link).",
            ),
            SymptomKind::SynUnanswered { attempts } => (
                Locality::Remote,
                Cause::Policy,
                format!(
                    "A connection attempt got no answer ({attempts} SYNs) and nothing on this host dropped them: \
                     something on the path or the peer silently discards them."
                ),
                "Check firewalls and security groups between the hosts (a silent drop, not a refusal), and that the \
                 server listens.",
            ),
            // A device on the path answering after a long idle: a NAT or firewall that forgot the session.
            SymptomKind::Reset {
                ttl: Some((rst_ttl, usual_ttl)),
                quiet_ms,
                ..
            } if *quiet_ms >= 30_000 => (
                Locality::Remote,
                Cause::SessionLoss,
                format!(
                    "A device on the path reset the connection after it had been idle for {} s: the RST's TTL \
                     ({rst_ttl}) is not the peer's ({usual_ttl}), so a NAT or firewall whose session timeout is \
                     shorter than that idle time forgot the connection.",
                    quiet_ms / 1000
                ),
                "Compare the idle time with the session timeouts of the NATs and firewalls on the path (the RST's \
                 TTL tells how far away the device is), and keep the connection alive more often than that, or \
                 let the application reconnect.",
            ),
            SymptomKind::Reset {
                by,
                ttl: Some((rst_ttl, usual_ttl)),
                ..
            } => (
                Locality::Remote,
                Cause::Policy,
                format!(
                    "A device on the path reset the connection: the RST claims to come from the {} but its TTL \
                     ({rst_ttl}) differs from that side's other packets ({usual_ttl}), as an injected reset's does.",
                    match by {
                        Side::Client => "client",
                        Side::Server => "server",
                    }
                ),
                "Find the firewall, IPS or proxy that injects resets (a traceroute shows how many hops away a TTL \
                 of that value starts) and check its policy for this traffic.",
            ),
            SymptomKind::Reset { refused: true, .. } => {
                let server = s.flow.map(|f| f.endpoint_text(false)).unwrap_or_else(|| "the server".to_string());
                (
                    // Refused by this host itself (loopback, or the capture is the server's).
                    if s.flow.is_some_and(|f| self.is_local_address(&f.server)) {
                        Locality::Local
                    } else {
                        Locality::Remote
                    },
                    Cause::Unreachable,
                    format!(
                        "A RST answered the SYN to {server}: nothing listens on that port, or a firewall or \
                         load balancer rejects the connection."
                    ),
                    "Check that the service runs and listens on that address and port (on the server: \
                     `Get-NetTCPConnection -State Listen -LocalPort <port>`, or `ss -ltn` on Linux), that the client \
                     uses the right port, and whether a firewall rejects it.",
                )
            }
            SymptomKind::Reset { by, idle_ms, .. } => {
                let idle_s = idle_ms / 1000;
                let who = match by {
                    Side::Client => "client",
                    Side::Server => "server",
                };
                (
                    Locality::Remote,
                    Cause::SessionLoss,
                    if *idle_ms >= 30_000 {
                        // Its TTL matches that side's other packets: the end itself sent it, after
                        // the connection sat idle: its own idle timeout, not a middlebox's.
                        format!(
                            "The {who} reset the connection after it had been idle for {idle_s} s. The RST's TTL \
                             matches the {who}'s other packets, so the {who} itself closed it: an idle timeout of \
                             that application or host."
                        )
                    } else {
                        format!("The {who} reset the connection (its TTL matches the {who}'s other packets).")
                    },
                    if *idle_ms >= 30_000 {
                        "Compare the idle time with the application's or server's idle timeout; if the client \
                         should keep the connection, enable keep-alives shorter than that timeout."
                    } else {
                        "Look at what the application did just before the RST (the last requests and their \
                         answers) and at the resetting side's logs: an abort by the application or the host."
                    },
                )
            }
            SymptomKind::DestinationUnreachable { code } if is_v6(s) => {
                let (cause, what) = match code {
                    0 => (Cause::NoRoute, "no route to destination"),
                    1 | 5 | 6 => (Cause::Policy, "administratively prohibited"),
                    2 => (Cause::NoRoute, "beyond scope of source address"),
                    3 => (Cause::Unreachable, "address unreachable"),
                    4 => (Cause::Unreachable, "port unreachable"),
                    _ => (Cause::Unreachable, "unreachable"),
                };
                (
                    Locality::Remote,
                    cause,
                    format!("A router or the peer answered with ICMPv6 destination unreachable ({what}, code {code})."),
                    match cause {
                        Cause::Policy => "A filter on the path rejects this traffic: find it from the ICMP sender's address.",
                        Cause::NoRoute => "The network has no route to the destination: check routing from the ICMP sender.",
                        _ => "Nothing listens there: check the service and the address and port the client uses.",
                    },
                )
            }
            SymptomKind::DestinationUnreachable { code } => {
                let (cause, what) = match code {
                    0 => (Cause::NoRoute, "network unreachable"),
                    1 => (Cause::Unreachable, "host unreachable"),
                    2 => (Cause::Unreachable, "protocol unreachable"),
                    3 => (Cause::Unreachable, "port unreachable"),
                    4 => (Cause::Mtu, "fragmentation needed"),
                    5 => (Cause::NoRoute, "source route failed"),
                    6 | 7 => (Cause::NoRoute, "destination unknown"),
                    9 | 10 | 13 => (Cause::Policy, "administratively prohibited"),
                    _ => (Cause::Unreachable, "unreachable"),
                };
                (
                    Locality::Remote,
                    cause,
                    format!("A router or the peer answered with ICMP destination unreachable ({what}, code {code})."),
                    match cause {
                        Cause::Policy => "A filter on the path rejects this traffic: find it from the ICMP sender's address.",
                        Cause::NoRoute => "The network has no route to the destination: check routing from the ICMP sender.",
                        _ => "Nothing listens there: check the service and the address and port the client uses.",
                    },
                )
            }
            SymptomKind::UdpClosedPort => (
                Locality::Remote,
                Cause::Unreachable,
                "UDP datagrams went to a port where nothing listens (ICMP port unreachable came back).".to_string(),
                "Check that the service runs and listens on that port, and the address the client uses.",
            ),
            SymptomKind::PacketTooBig { mtu } => (
                Locality::Remote,
                Cause::Mtu,
                format!("A router on the path could not forward a packet this large: next-hop MTU {mtu}."),
                "Path MTU is smaller than the sender's: make sure ICMP packet-too-big reaches the sender (PMTU discovery) \
                 or lower the MTU/MSS.",
            ),
            SymptomKind::TimeExceeded { .. } => (
                Locality::Remote,
                Cause::NoRoute,
                "A packet's TTL/hop limit ran out on the path (a routing loop, or too many hops).".to_string(),
                "Trace the route (`tracert`) and look for a loop.",
            ),
            SymptomKind::ArpUnanswered { target } | SymptomKind::NeighborSolicitationUnanswered { target } => {
                // The requests themselves are not lost here; what is lost locally is the data
                // waiting for the answer, which PktMon records as address-resolution drops.
                let waiting = self.drops.iter().any(|d| d.category == DropCategory::AddressResolution);
                (
                    if waiting { Locality::Local } else { Locality::Remote },
                    Cause::AddressResolution,
                    if waiting {
                        format!(
                            "Nothing answered address resolution for {target} on the local link, and packets \
                             waiting for it were dropped on this host."
                        )
                    } else {
                        format!(
                            "Nothing answered address resolution for {target} on the local link; no packet \
                             waiting for it was dropped here, so the neighbor is silent or gone."
                        )
                    },
                    next_step(DropCategory::AddressResolution),
                )
            }
            SymptomKind::ZeroWindow => (
                match self.packets.get(s.packet).and_then(|p| p.sent) {
                    Some(true) => Locality::Local,
                    Some(false) => Locality::Remote,
                    None => Locality::Unknown,
                },
                Cause::Resources,
                match (s.flow, s.from) {
                    (Some(f), Some(side)) => format!(
                        "{} advertised a zero window: its application does not read fast enough.",
                        f.endpoint_text(side == Side::Client)
                    ),
                    _ => "A receiver advertised a zero window: its application does not read fast enough.".to_string(),
                },
                "The receiving application is slow or stuck: check its CPU and I/O.",
            ),
            SymptomKind::WindowFull => (
                Locality::Unknown,
                Cause::Resources,
                "The sender filled the receiver's window.".to_string(),
                "The receiving side limits throughput: check its receive buffer and application.",
            ),
            SymptomKind::DataNeverAcked { .. } => (
                Locality::Unknown,
                Cause::Other,
                "Data was sent but never acknowledged before the capture ended.".to_string(),
                "Capture longer, or at the peer, to see whether the data arrived.",
            ),
            SymptomKind::DuplicateAck { .. } => return, // part of the retransmission's story
        };
        let key = FindingKey {
            locality,
            cause,
            symptom: symptom_name(&s.kind),
            flow: s.flow,
            drop: None,
            mechanism: retransmit_cause.as_ref().map(|c| c.mechanism),
        };
        if let (Some(c), Some(r)) = (&retransmit_cause, tcpip) {
            *explained_by_tcpip += 1;
            b.cite(&key, &r.trace.file, Some(c), &c.lines);
        }
        b.add(key.clone(), s.time, &frames, &[], || {
            (explanation.clone(), step.to_string())
        });
        if let SymptomKind::Reset {
            refused, carried_data, ..
        } = s.kind
        {
            let from_here = self.packets.get(s.packet).and_then(|p| p.sent) == Some(true);
            let by_device = matches!(s.kind, SymptomKind::Reset { ttl: Some(_), .. });
            b.note(&key, |t| {
                t.refused |= refused;
                t.carried_data |= carried_data;
                t.reset_by_this_host |= from_here;
                t.reset_by_device |= by_device;
            });
        }
    }
}

/// UDP ports whose traffic goes one way by design (syslog, SNMP traps, flow
/// export, tunnels, metrics): no answer is expected.
const ONE_WAY_UDP_PORTS: &[u16] = &[162, 514, 2055, 4739, 4789, 6081, 6343, 8125, 9995, 12201];

/// Requests to one service that got nothing back: at least three datagrams
/// from this host to a unicast UDP service port (whatever the client ports:
/// a resolver retries from new sockets) and not one datagram from it.
fn no_answer(report: &flows::FlowReport, b: &mut Builder, local: &std::collections::HashSet<std::net::IpAddr>) {
    #[derive(Default)]
    struct Service {
        sent: u64,
        answered: u64,
        flows: Vec<FlowKey>,
        first: FileTime,
        last: FileTime,
    }
    let mut services: BTreeMap<(std::net::IpAddr, u16), Service> = BTreeMap::new();
    // An ICMP error that came back is an answer (and a finding of its own).
    let answered_by_icmp: std::collections::HashSet<(std::net::IpAddr, u16)> = report
        .symptoms
        .iter()
        .filter(|s| {
            matches!(
                s.kind,
                SymptomKind::UdpClosedPort | SymptomKind::DestinationUnreachable { .. }
            )
        })
        .filter_map(|s| s.flow)
        .map(|k| (k.server, k.server_port))
        .collect();
    for f in report.flows.iter().filter(|f| f.key.protocol == 17) {
        let k = f.key;
        if answered_by_icmp.contains(&(k.server, k.server_port)) {
            continue;
        }
        let discovery =
            verdict::DISCOVERY_PORTS.contains(&k.server_port) || verdict::DISCOVERY_PORTS.contains(&k.client_port);
        let unicast = !k.server.is_multicast()
            && !matches!(k.server, std::net::IpAddr::V4(a) if a.is_broadcast() || a.octets()[3] == 255);
        let from_here = local.is_empty() || local.contains(&k.client) || k.client.is_loopback();
        if discovery || !unicast || !from_here || k.server_port == 0 || ONE_WAY_UDP_PORTS.contains(&k.server_port) {
            continue;
        }
        let s = services.entry((k.server, k.server_port)).or_default();
        if s.flows.is_empty() {
            s.first = f.first;
        }
        s.sent += f.client_packets;
        s.answered += f.server_packets;
        s.first = s.first.min(f.first);
        s.last = s.last.max(f.last);
        s.flows.push(k);
    }
    for ((server, port), s) in services {
        if s.sent < 3 || s.answered > 0 {
            continue;
        }
        let key = FindingKey {
            locality: Locality::Remote,
            cause: Cause::Unreachable,
            symptom: "no answer",
            flow: s.flows.first().copied(),
            drop: None,
            mechanism: None,
        };
        let ep = flows::endpoint(&server, port);
        let (sent, n) = (s.sent, s.flows.len());
        b.add(key.clone(), s.first, &[], &[], || {
            (
                format!(
                    "{sent} datagrams to {ep} from {n} socket{} got nothing back, and nothing on this host dropped                      an answer: the service or the path to it is down.",
                    if n == 1 { "" } else { "s" }
                ),
                "Check the server and the path to it.".to_string(),
            )
        });
        if let Some(a) = b.acc.get_mut(&key) {
            a.count = sent;
            a.last = s.last;
        }
    }
}

/// A netsh trace without a capture: the retransmissions its events show,
/// per connection and mechanism. Whether a layer below tcpip.sys dropped the
/// segments on this host is not in the trace, so the locality stays unknown.
fn retransmissions_without_capture(r: &tcpip::Resolved, b: &mut Builder, totals: &mut Totals) {
    for (time, cause) in r.retransmissions() {
        *totals.symptoms.entry("retransmission".to_string()).or_default() += 1;
        let flow = r.endpoints(cause.epoch).map(|(local, remote)| FlowKey {
            protocol: 6,
            client: local.ip(),
            client_port: local.port(),
            server: remote.ip(),
            server_port: remote.port(),
            vlan: None,
        });
        let key = FindingKey {
            locality: Locality::Unknown,
            cause: Cause::Congestion,
            symptom: "retransmission",
            flow,
            drop: None,
            mechanism: Some(cause.mechanism),
        };
        b.cite(&key, &r.trace.file, Some(&cause), &cause.lines);
        b.add(key, time, &[], &[], || {
            (
                format!(
                    "TCP sent segments again {}. Without a packet capture of the same time, whether a layer \
                     below TCP/IP on this host dropped them cannot be told.",
                    cause.describe()
                ),
                "Capture packets with PktMon alongside (`pktmon start --capture`) to see where the segments were \
                 lost; without local drops the loss is on the path or at the peer."
                    .to_string(),
            )
        });
    }
}

/// Where the cause of a drop lies. PktMon records every drop on this host,
/// but some say the peer acted: "INET: received RST" (1210) is TCP discarding
/// a reset the other end (or a middlebox) sent, a remote session loss.
fn drop_locality(d: &DropRef) -> Locality {
    if let (Some(layer), Some(code)) = (d.tcpip_layer, d.tcpip_reason) {
        return crate::tcpip::reasons::locality(layer, code);
    }
    let remote_reset = d.reason == Some(1210) || (d.reason.is_none() && d.reason_text.contains("received RST"));
    if remote_reset {
        Locality::Remote
    } else {
        Locality::Local
    }
}

fn component_label(d: &DropRef) -> String {
    match (d.component, d.component_name.is_empty()) {
        (Some(id), false) => format!("{} (component {id})", d.component_name),
        (Some(id), true) => format!("component {id}"),
        (None, false) => d.component_name.clone(),
        (None, true) => "a component".to_string(),
    }
}

/// The reason of a drop as a finding states it: with its number and table
/// for a netsh trace's drop event (`Inspection drop (IP discard reason 9, Send)`).
fn reason_label(d: &DropRef) -> String {
    match (d.tcpip_layer, d.tcpip_reason) {
        (Some(layer), Some(code)) => format!(
            "{} ({} discard reason {code}{})",
            d.reason_text,
            match layer {
                DropLayer::Network => "IP",
                DropLayer::Transport => "INET",
            },
            if d.direction.is_empty() {
                String::new()
            } else {
                format!(", {}", d.direction)
            }
        ),
        _ => d.reason_text.clone(),
    }
}

/// Short name of a symptom kind.
pub fn symptom_name(k: &SymptomKind) -> &'static str {
    match k {
        SymptomKind::Retransmission { .. } => "retransmission",
        SymptomKind::SpuriousRetransmission => "spurious retransmission",
        SymptomKind::DuplicateAck { .. } => "duplicate ACK",
        SymptomKind::Hole => "segment not captured",
        SymptomKind::AckedUnseenSegment => "ACKed unseen segment",
        SymptomKind::ZeroWindow => "zero window",
        SymptomKind::WindowFull => "window full",
        SymptomKind::Reset { .. } => "connection reset",
        SymptomKind::SynUnanswered { .. } => "SYN unanswered",
        SymptomKind::DataNeverAcked { .. } => "data never acknowledged",
        SymptomKind::DestinationUnreachable { .. } => "destination unreachable",
        SymptomKind::PacketTooBig { .. } => "packet too big",
        SymptomKind::TimeExceeded { .. } => "time exceeded",
        SymptomKind::ArpUnanswered { .. } => "ARP unanswered",
        SymptomKind::NeighborSolicitationUnanswered { .. } => "neighbor solicitation unanswered",
        SymptomKind::UdpClosedPort => "UDP to a closed port",
    }
}

/// A flow's protocol and its two ends in a fixed order: equal exactly when
/// [`same_flow`] holds.
type FlowEnds = (u8, (std::net::IpAddr, u16), (std::net::IpAddr, u16));

fn flow_ends(f: &FlowKey) -> FlowEnds {
    let (a, b) = ((f.client, f.client_port), (f.server, f.server_port));
    (f.protocol, a.min(b), a.max(b))
}

fn same_flow(a: &FlowKey, b: &FlowKey) -> bool {
    a.protocol == b.protocol
        && ((a.client, a.client_port, a.server, a.server_port) == (b.client, b.client_port, b.server, b.server_port)
            || (a.client, a.client_port, a.server, a.server_port) == (b.server, b.server_port, b.client, b.client_port))
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FindingKey {
    locality: Locality,
    cause: Cause,
    symptom: &'static str,
    flow: Option<FlowKey>,
    drop: Option<DropRef>,
    /// What the TCP/IP events say sent the segments again.
    mechanism: Option<Mechanism>,
}

#[derive(Default)]
struct Builder {
    order: Vec<FindingKey>,
    acc: HashMap<FindingKey, Acc>,
    tcpip: HashMap<FindingKey, TcpipEvidence>,
    /// Packets beyond one per drop record (multi-packet TCP/IP drop events).
    extra: HashMap<FindingKey, BTreeMap<DropRef, u64>>,
}

struct Acc {
    count: u64,
    first: FileTime,
    last: FileTime,
    frames: Vec<u64>,
    drops: BTreeMap<DropRef, u64>,
    drop_ids: std::collections::HashSet<usize>,
    explanation: String,
    next_step: String,
    tcpip: Option<TcpipEvidence>,
    traits: FindingTraits,
    /// Content of the dropped packets → when last seen: copies of a packet
    /// are logged within microseconds, a datagram sent again comes much later.
    contents: HashMap<u64, FileTime>,
}

/// Drop events of one content this close together are copies of one packet.
const COPY_WINDOW: FileTime = 10 * 10_000; // 10 ms

impl Builder {
    /// Counts packets beyond one that a drop record stands for (before its `add`).
    fn more_packets(&mut self, key: &FindingKey, drop: &DropRef, n: u64) {
        if n > 0 {
            *self
                .extra
                .entry(key.clone())
                .or_default()
                .entry(drop.clone())
                .or_default() += n;
        }
    }

    /// Adds netsh trace lines to a finding's evidence (before or after its `add`).
    fn cite(&mut self, key: &FindingKey, file: &str, cause: Option<&RetransmitCause>, lines: &[u64]) {
        let evidence = self.tcpip.entry(key.clone()).or_insert_with(|| TcpipEvidence {
            file: file.to_string(),
            mechanism: cause.map(|c| c.mechanism),
            connections: Vec::new(),
            rto_ms: None,
            lines: Vec::new(),
        });
        if let Some(c) = cause {
            let handle = format!("0x{:016X}", c.connection);
            if !evidence.connections.contains(&handle) {
                evidence.connections.push(handle);
            }
            evidence.rto_ms = evidence.rto_ms.or(c.rto_ms);
        }
        for &l in lines {
            if evidence.lines.len() < MAX_FRAMES && !evidence.lines.contains(&l) {
                evidence.lines.push(l);
            }
        }
    }

    /// Sets what a symptom says of the finding (after its `add`).
    fn note(&mut self, key: &FindingKey, f: impl FnOnce(&mut FindingTraits)) {
        if let Some(a) = self.acc.get_mut(key) {
            f(&mut a.traits);
        }
    }

    fn add(
        &mut self,
        key: FindingKey,
        time: FileTime,
        frames: &[u64],
        drops: &[(usize, &DropRecord)],
        text: impl FnOnce() -> (String, String),
    ) {
        let acc = match self.acc.get_mut(&key) {
            Some(a) => a,
            None => {
                let (explanation, next_step) = text();
                self.order.push(key.clone());
                self.acc.entry(key).or_insert(Acc {
                    count: 0,
                    first: time,
                    last: time,
                    frames: Vec::new(),
                    drops: BTreeMap::new(),
                    drop_ids: std::collections::HashSet::new(),
                    explanation,
                    next_step,
                    tcpip: None,
                    traits: FindingTraits::default(),
                    contents: HashMap::new(),
                })
            }
        };
        acc.count += 1;
        acc.first = acc.first.min(time);
        acc.last = acc.last.max(time);
        // Frame 0: a netsh drop event no captured packet matched.
        for &f in frames.iter().filter(|&&f| f != 0) {
            if acc.frames.len() < MAX_FRAMES && !acc.frames.contains(&f) {
                acc.frames.push(f);
            }
        }
        // Each drop record counts once, however many symptoms it explains.
        for &(id, d) in drops {
            if acc.drop_ids.insert(id) {
                *acc.drops.entry(d.reference.clone()).or_default() += 1;
                let t = &mut acc.traits;
                t.drop_marks.push(DropMark {
                    id: id as u32,
                    content: d.facts.content,
                    time: d.time,
                    packets: d.packets,
                });
                t.drop_events += d.packets;
                let copy = acc
                    .contents
                    .insert(d.facts.content, d.time)
                    .is_some_and(|seen| (d.time - seen).abs() <= COPY_WINDOW && d.facts.content != 0);
                if !copy {
                    t.dropped_packets += d.packets;
                    if let Some(flags) = d.facts.tcp_flags {
                        t.tcp_flags_all = if t.tcp_drops == 0 {
                            flags
                        } else {
                            t.tcp_flags_all & flags
                        };
                        t.tcp_flags_any |= flags;
                        t.tcp_drops += 1;
                    }
                    if d.facts.payload > 0 {
                        t.payload_drops += 1;
                    }
                    if d.facts.inbound == Some(true) {
                        t.inbound_drops += 1;
                    }
                }
            }
        }
    }

    fn finish(mut self) -> Vec<Finding> {
        let mut out: Vec<Finding> = self
            .order
            .iter()
            .map(|k| {
                let mut a = self.acc.remove(k).expect("every key has an accumulator");
                for (d, n) in self.extra.remove(k).unwrap_or_default() {
                    a.count += n;
                    *a.drops.entry(d).or_default() += n;
                }
                a.traits.drop_events = a.traits.drop_events.max(a.drops.values().sum());
                let mut frames = a.frames;
                frames.sort_unstable();
                let tcpip = self.tcpip.remove(k).or(a.tcpip).map(|mut t| {
                    t.lines.sort_unstable();
                    t
                });
                // Drop events of a netsh trace have no PktMon fields to filter on.
                let pktmon_drops: Vec<&DropRef> = a.drops.keys().filter(|d| d.tcpip_layer.is_none()).collect();
                let pktmon_filter = (!pktmon_drops.is_empty()).then(|| {
                    let terms: Vec<String> = pktmon_drops
                        .iter()
                        .map(|d| {
                            let mut t = Vec::new();
                            if let Some(r) = d.reason {
                                t.push(format!("pktmon.drop_reason_code == {r}"));
                            }
                            if !d.location.is_empty() {
                                t.push(format!("pktmon.drop_location == {}", d.location.to_lowercase()));
                            }
                            if let Some(c) = d.component {
                                t.push(format!("pktmon.component_id == {c}"));
                            }
                            t.join(" && ")
                        })
                        .filter(|t| !t.is_empty())
                        .collect();
                    match terms.len() {
                        0 => "pktmon.drop".to_string(),
                        1 => format!("pktmon.drop && {}", terms[0]),
                        _ => format!("pktmon.drop && (({}))", terms.join(") || (")),
                    }
                });
                Finding {
                    problem: None,
                    background: None,
                    traits: a.traits,
                    locality: k.locality,
                    cause: k.cause,
                    symptom: k.symptom.to_string(),
                    count: a.count,
                    flow: k.flow.map(|f| f.to_string()),
                    flow_key: k.flow,
                    first_time: crate::time::format_utc(a.first),
                    last_time: crate::time::format_utc(a.last),
                    first: a.first,
                    display_filter: if frames.is_empty() {
                        String::new()
                    } else {
                        frame_filter(&frames)
                    },
                    frames,
                    drops: a.drops.into_iter().collect(),
                    pktmon_filter,
                    explanation: a.explanation,
                    next_step: a.next_step,
                    tcpip,
                }
            })
            .collect();
        // Worst first: local before remote before unknown, then by how often.
        out.sort_by(|a, b| {
            a.locality
                .cmp(&b.locality)
                .then(b.count.cmp(&a.count))
                .then(a.first.cmp(&b.first))
        });
        out
    }
}

/// What other symptoms of a flow say, for deciding one symptom.
struct FlowContext {
    syn_unanswered: std::collections::HashSet<FlowKey>,
    /// Flows an ICMP destination unreachable answered.
    unreachable: std::collections::HashSet<FlowKey>,
    too_big: std::collections::HashSet<FlowKey>,
    /// Packets (ICMP errors) already reported as UDP to a closed port.
    udp_closed: std::collections::HashSet<usize>,
}

impl FlowContext {
    fn of(report: &flows::FlowReport) -> FlowContext {
        let mut c = FlowContext {
            syn_unanswered: Default::default(),
            unreachable: Default::default(),
            too_big: Default::default(),
            udp_closed: Default::default(),
        };
        for s in &report.symptoms {
            match (&s.kind, s.flow) {
                (SymptomKind::SynUnanswered { .. }, Some(f)) => {
                    c.syn_unanswered.insert(f);
                }
                (SymptomKind::PacketTooBig { .. }, Some(f)) => {
                    c.too_big.insert(f);
                }
                (SymptomKind::UdpClosedPort, _) => {
                    c.udp_closed.insert(s.packet);
                }
                (SymptomKind::DestinationUnreachable { .. }, Some(f)) => {
                    c.unreachable.insert(f);
                }
                _ => {}
            }
        }
        c
    }
}

/// Whether the flow of a symptom is IPv6 (ICMPv6 codes differ from ICMP's).
fn is_v6(s: &Symptom) -> bool {
    s.flow.is_some_and(|f| f.client.is_ipv6())
}

/// ICMP fragmentation needed (type 3 code 4); ICMPv6 code 4 is port unreachable.
fn is_frag_needed(s: &Symptom, code: u8) -> bool {
    code == 4 && !is_v6(s)
}

/// Flows that look like a PMTU black hole: one full-size segment (≥ 1200
/// bytes and ≥ 90% of the flow's largest) sent again three times or more —
/// random loss almost never takes the same segment three times running, a
/// too-small MTU takes it every time — with no ICMP packet-too-big for the flow.
fn black_hole_flows(report: &flows::FlowReport) -> std::collections::HashSet<FlowKey> {
    let mut resent: HashMap<(FlowKey, u32), u32> = HashMap::new();
    let mut ptb = std::collections::HashSet::new();
    let max: HashMap<FlowKey, u32> = report.flows.iter().map(|f| (f.key, f.max_segment)).collect();
    for s in &report.symptoms {
        let Some(flow) = s.flow else { continue };
        match s.kind {
            SymptomKind::PacketTooBig { .. } => {
                ptb.insert(flow);
            }
            SymptomKind::Retransmission { .. } => {
                let len = s.len.unwrap_or(0);
                let big = len >= 1200 && u64::from(len) * 10 >= u64::from(max.get(&flow).copied().unwrap_or(0)) * 9;
                if let (true, Some(seq)) = (big, s.seq) {
                    *resent.entry((flow, seq)).or_default() += 1;
                }
            }
            _ => {}
        }
    }
    resent
        .into_iter()
        .filter(|((f, _), n)| *n >= 3 && !ptb.contains(f))
        .map(|((f, _), _)| f)
        .collect()
}

/// `frame.number in {1,2,3}`: selects exactly these frames in Wireshark 4.x
/// (4.0 takes commas; spaces were the 3.x syntax).
pub fn frame_filter(frames: &[u64]) -> String {
    let list: Vec<String> = frames.iter().map(|f| f.to_string()).collect();
    format!("frame.number in {{{}}}", list.join(","))
}

impl Diagnoser {
    /// Takes in a packet without taking it over, so that a caller reading on
    /// another thread can hand the packet back to be freed where it was
    /// allocated (freeing across threads contends on the allocator's lock).
    /// Any other record is left to [`RecordSink::record`].
    pub fn packet_record(&mut self, ctx: &Context<'_>, record: &Record) {
        if let Record::Packet(a) = record {
            self.counters.record(ctx, record);
            self.packet(ctx, a);
        }
    }
}

impl RecordSink for Diagnoser {
    fn record(&mut self, ctx: &Context<'_>, record: Record) {
        self.counters.record(ctx, &record);
        self.details.record(&record);
        if let Some(n) = &mut self.nic {
            n.record(&record);
        }
        match record {
            Record::Packet(a) => self.packet(ctx, &a),
            Record::Component(c) => self.components.add_component(c),
            Record::Property { component_id, property } => self.components.add_property(component_id, property),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An hour of 100 packets a second: the summaries held stay at the
    /// horizon's worth plus the packets symptoms refer to, which stay readable.
    #[test]
    fn summaries_follow_the_horizon_and_keep_what_symptoms_name() {
        let mut s = Summaries::default();
        let per_second = 100;
        let tick = 10_000_000 / per_second as FileTime;
        let mut peak = 0;
        for p in 0..3600 * per_second {
            let time = p as FileTime * tick;
            assert_eq!(s.count(), p);
            s.push(
                time,
                PacketSummary {
                    first_frame: p as u64 + 1,
                    ..Default::default()
                },
            );
            if p % 10_000 == 0 {
                s.want(p);
            }
            if p % 4096 == 0 {
                s.forget_before(time - SUMMARY_HORIZON);
                peak = peak.max(s.held());
            }
        }
        let horizon_packets = (SUMMARY_HORIZON / tick) as usize;
        assert!(peak <= horizon_packets + 4096 + 40, "held {peak}");
        for p in (0..3600 * per_second).step_by(10_000) {
            assert_eq!(s.get(p).map(|x| x.first_frame), Some(p as u64 + 1), "packet {p}");
        }
        assert!(s.get(1).is_none(), "an old packet no symptom named is forgotten");
        assert_eq!(s.get(3600 * per_second - 1).map(|x| x.first_frame), Some(360_000));
    }
}
