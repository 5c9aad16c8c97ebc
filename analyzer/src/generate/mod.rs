//! Deterministic scenario generator: PktMon-shaped captures with planted
//! causes of loss, and the ground truth of what was planted.
//!
//! [`generate`] pushes the [`Record`]s of one capture into any
//! [`RecordSink`] in time order, exactly as a reader of a real capture would:
//! packets and drops (events 160/170) first, then PktMon's rundown
//! (components with their properties, drop and flow counters). [`files`]
//! writes them in every input form the readers take: PktMon's ETL (through
//! [`crate::etl::writer::EtlWriter`], compressed, per-CPU, embedded schema),
//! this project's converter pcapng, etl2pcapng-style pcapng
//! ([`crate::sink::etl2pcapng`]), and etl2txt text (UTF-16LE CRLF like
//! pktmon, and UTF-8), with a `<scenario>.truth.json` beside them.
//!
//! The host ([`stack`]) has an Ethernet NIC, two NDIS filters (WFP and the
//! QoS scheduler) and tcpip.sys; every packet appears at 1–4 of its
//! components, at their edges, with per-hop delays of µs, and with the packet
//! identity of the chosen Windows build (per-event ids on 26100+, shared ids
//! on 20348). Traffic is real TCP/UDP/ICMP: sequence and acknowledgment
//! numbers, SACK, windows, MSS/window-scale options, IPv4 and TCP/UDP/ICMP
//! checksums (all right, except where a scenario plants a bad one).
//!
//! Everything is a pure function of [`GenOptions`]: the PRNG is our own
//! ([`rng`]), the time base is derived from the seed, and nothing iterates a
//! hash map into the output.

pub mod files;
pub mod nettrace;
pub mod nic;
pub mod rng;
mod scenarios;
pub mod stack;
pub mod tcp;
pub mod text;
pub mod wire;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::diagnose::{Cause, Finding, Locality};
use crate::flows::FlowKey;
use crate::model::*;
use rng::Rng;
use stack::{Dir, Emitter, Fate, Host, Job};
use tcp::{Conn, End, Segment};

/// 100-ns ticks.
pub const US: FileTime = 10;
pub const MS: FileTime = 10_000;
pub const SEC: FileTime = 10_000_000;

/// The scenarios. Their names are the CLI values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    Baseline,
    LocalPolicy,
    LocalResources,
    AddressResolution,
    NoRoute,
    InvalidPacket,
    RemoteCongestion,
    RemotePolicy,
    Unreachable,
    SessionLoss,
    Mtu,
    PmtuBlackHole,
    Mix,
    /// The network adapter discards received packets below PktMon; only its
    /// own counters show it (snapshots written beside the capture).
    NicDiscard,
}

impl Scenario {
    pub const ALL: [Scenario; 14] = [
        Scenario::Baseline,
        Scenario::LocalPolicy,
        Scenario::LocalResources,
        Scenario::AddressResolution,
        Scenario::NoRoute,
        Scenario::InvalidPacket,
        Scenario::RemoteCongestion,
        Scenario::RemotePolicy,
        Scenario::Unreachable,
        Scenario::SessionLoss,
        Scenario::Mtu,
        Scenario::PmtuBlackHole,
        Scenario::Mix,
        Scenario::NicDiscard,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline",
            Scenario::LocalPolicy => "local-policy",
            Scenario::LocalResources => "local-resources",
            Scenario::AddressResolution => "address-resolution",
            Scenario::NoRoute => "no-route",
            Scenario::InvalidPacket => "invalid-packet",
            Scenario::RemoteCongestion => "remote-congestion",
            Scenario::RemotePolicy => "remote-policy",
            Scenario::Unreachable => "unreachable",
            Scenario::SessionLoss => "session-loss",
            Scenario::Mtu => "mtu",
            Scenario::PmtuBlackHole => "pmtu-black-hole",
            Scenario::Mix => "mix",
            Scenario::NicDiscard => "nic-discard",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL.into_iter().find(|x| x.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Scenario::ALL.iter().map(|x| x.name()).collect();
            format!("unknown scenario {s:?} (one of: {})", names.join(", "))
        })
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenOptions {
    pub seed: u64,
    pub scenario: Scenario,
    /// Fill the capture with ordinary traffic of many concurrent TCP flows up
    /// to about this many appearances (the planted causes come on top, the
    /// flows in progress are finished). `None`: the scenario with a little background.
    pub packets: Option<u64>,
    pub ipv6: bool,
    /// Windows build: 26100 and later give every event its own PktGroupId;
    /// earlier builds (20348) share one PktGroupId per packet.
    pub os_build: u32,
    /// Bytes of each frame PktMon logs (`pktmon start --pkt-size`; 0 = all).
    pub pkt_size: u32,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            seed: 1,
            scenario: Scenario::Baseline,
            packets: None,
            ipv6: false,
            os_build: 26200,
            pkt_size: 128,
        }
    }
}

/// One planted cause of loss.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planted {
    pub locality: Locality,
    pub cause: Cause,
    /// The flow as [`FlowKey`]'s Display writes it (client → server).
    pub flow: Option<String>,
    /// Frame numbers in the converted pcapng (appearance index + 1): the first
    /// appearance of every packet in the evidence, and every drop event.
    pub frames: Vec<u64>,
    pub description: String,
    /// What exactly is in the capture, to check it there.
    pub evidence: Vec<Evidence>,
}

/// One piece of planted evidence, with its frame number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// A PktMon drop event (170).
    Drop {
        frame: u64,
        reason: u32,
        /// `0x%08X`.
        location: String,
        component: u16,
    },
    /// An ICMP or ICMPv6 error message (first appearance).
    Icmp {
        frame: u64,
        v6: bool,
        icmp_type: u8,
        code: u8,
        mtu: Option<u32>,
    },
    /// A TCP segment sent again (first appearance of the copy and of the original).
    Retransmission {
        frame: u64,
        original_frame: u64,
        /// "fast" (after duplicate ACKs), "timeout", or "pmtu" (sent again smaller
        /// after ICMP packet too big).
        trigger: String,
    },
    /// A SYN that got no answer.
    UnansweredSyn { frame: u64 },
    /// An ARP request or IPv6 neighbor solicitation that got no answer.
    UnansweredResolution { frame: u64, target: String },
    /// A TCP RST, after `idle_ms` without packets on its connection.
    Reset { frame: u64, idle_ms: u64, ttl: u8 },
    /// A packet whose checksum is wrong on purpose ("ipv4" header or "tcp").
    BadChecksum { frame: u64, layer: String },
    /// A network adapter's own counter rose between the snapshots written
    /// beside the capture (`<scenario>.nic-before.json`, `….nic-after.json`);
    /// no frame shows it (`frame` is 0).
    AdapterCounter {
        frame: u64,
        /// `InterfaceDescription` (the component's description), `Name`, ifIndex and MAC of the adapter.
        adapter: String,
        name: String,
        if_index: u32,
        mac: String,
        /// The `Get-NetAdapterStatistics` property.
        counter: String,
        before: u64,
        after: u64,
    },
}

impl Evidence {
    pub fn frame(&self) -> u64 {
        match self {
            Evidence::Drop { frame, .. }
            | Evidence::Icmp { frame, .. }
            | Evidence::Retransmission { frame, .. }
            | Evidence::UnansweredSyn { frame }
            | Evidence::UnansweredResolution { frame, .. }
            | Evidence::Reset { frame, .. }
            | Evidence::BadChecksum { frame, .. }
            | Evidence::AdapterCounter { frame, .. } => *frame,
        }
    }
}

/// What a generated capture holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroundTruth {
    pub scenario: String,
    pub seed: u64,
    pub os_build: u32,
    pub ipv6: bool,
    /// Appearances (frames of the converted pcapng).
    pub appearances: u64,
    /// Packets (each at one or more components).
    pub packets: u64,
    pub start_time: String,
    pub end_time: String,
    pub planted: Vec<Planted>,
}

/// Evidence before frame numbers are known: it names tagged jobs.
#[derive(Debug, Clone)]
enum Draft {
    Drop {
        tag: u32,
        reason: u32,
        location: u32,
        component: u16,
    },
    Icmp {
        tag: u32,
        v6: bool,
        icmp_type: u8,
        code: u8,
        mtu: Option<u32>,
    },
    Retransmission {
        tag: u32,
        original: u32,
        trigger: &'static str,
    },
    UnansweredSyn {
        tag: u32,
    },
    UnansweredResolution {
        tag: u32,
        target: IpAddr,
    },
    Reset {
        tag: u32,
        idle_ms: u64,
        ttl: u8,
    },
    BadChecksum {
        tag: u32,
        layer: &'static str,
    },
    AdapterCounter {
        counter: &'static str,
        before: u64,
        after: u64,
    },
}

#[derive(Debug, Clone)]
struct PlantDraft {
    locality: Locality,
    cause: Cause,
    flow: Option<FlowKey>,
    description: String,
    evidence: Vec<Draft>,
}

/// The FILETIME a seed's capture starts at: a day of 2025, at a whole second.
pub fn start_time(seed: u64) -> FileTime {
    // 2025-01-01T00:00:00Z.
    let base: FileTime = 133_801_632_000_000_000;
    let mut r = Rng::new(seed).fork(0x7173);
    base + r.below(365 * 86_400) as FileTime * SEC
}

/// Time-zone biases (minutes, UTC = local + bias) the generated machine may have.
const BIASES: [i32; 6] = [0, -60, 300, -330, -480, 480];

/// The facts a reader of the generated ETL reports.
pub fn capture_info(opts: &GenOptions) -> CaptureInfo {
    let mut r = Rng::new(opts.seed).fork(0xB1A5);
    CaptureInfo {
        file: String::new(),
        kind: Some(InputKind::Etl),
        os_build: Some(opts.os_build),
        os_description: Some(os_description(opts.os_build).to_string()),
        start_time: Some(start_time(opts.seed)),
        timezone_bias_minutes: Some(*r.pick(&BIASES)),
        clock_type: Some(1),
        perf_freq: Some(10_000_000),
        processors: Some(stack::CPUS as u32),
        pointer_size: Some(8),
        logger_name: Some("Relogger".into()),
        log_file_name: Some("C:\\PktMon\\PktMon.etl".into()),
        ..Default::default()
    }
}

/// The product name written for a build.
pub fn os_description(build: u32) -> &'static str {
    match build {
        0..=19_999 => "Windows 10 Pro",
        20_000..=21_999 => "Windows Server 2022 Datacenter",
        22_000..=26_099 => "Windows 11 Pro",
        _ => "Windows 11 Pro",
    }
}

/// Ephemeral ports tshark would decode as some other protocol (tcp.port/udp.port
/// registrations of Wireshark 4.0 in 49152–65535): never used as client ports.
const PORTS_TSHARK_DECODES: [u16; 23] = [
    49999, 54328, 56000, 56001, 56500, 56501, 57000, 57001, 57032, 57033, 57500, 57501, 57532, 57533, 59000, 59001,
    59032, 59033, 59500, 59501, 59532, 59533, 60001,
];

/// Server ports without a Wireshark dissector (their payload shows as data).
pub const SERVER_PORTS: [u16; 4] = [8443, 9443, 7443, 10443];

/// Processes that send: (pid, tid).
const APPS: [(u32, u32); 5] = [
    (0x2A8C, 0x05B8),
    (0x1F40, 0x2234),
    (0x0E5C, 0x1658),
    (0x25E4, 0x1C84),
    (0x6664, 0x6AC8),
];

/// Where a segment goes once sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Reaches the other end.
    Normal,
    /// Lost between the hosts: a segment of the capturing host is seen leaving
    /// it; one of the peer never reaches it (not captured at all).
    LostBeyond,
    /// Dropped inside the capturing host (PktMon logs the drop).
    Local(Fate),
}

/// The scenario-building context: addresses, the jobs so far, and the plants.
pub(crate) struct Gen {
    pub v6: bool,
    pub os_build: u32,
    pub rng: Rng,
    pub host: Host,
    pub gw_mac: wire::Mac,
    pub host_ip_id: u16,
    jobs: Vec<Job>,
    ntags: u32,
    plants: Vec<PlantDraft>,
    next_port: u16,
    next_server: u32,
    /// Start of the capture.
    pub t0: FileTime,
}

impl Gen {
    fn new(opts: &GenOptions) -> Gen {
        let mut rng = Rng::new(opts.seed).fork(0x6E6E);
        let mut mac = [0x3C, 0x52, 0x82, 0, 0, 0];
        for b in &mut mac[3..] {
            *b = rng.below(256) as u8;
        }
        let mut gw_mac = [0x00, 0x1D, 0xAA, 0, 0, 0];
        for b in &mut gw_mac[3..] {
            *b = rng.below(256) as u8;
        }
        let host_octet = 10 + rng.below(40) as u8;
        let iid = rng.next_u64();
        let g = rng.next_u64();
        let host = Host {
            mac,
            ipv4: Ipv4Addr::new(192, 168, 1, host_octet),
            ipv6: Ipv6Addr::new(0x2001, 0xDB8, 0x1, 0x1, 0, 0, 0, u16::from(host_octet)),
            ipv6_link_local: Ipv6Addr::new(
                0xFE80,
                0,
                0,
                0,
                (iid >> 48) as u16,
                (iid >> 32) as u16,
                (iid >> 16) as u16,
                iid as u16,
            ),
            if_guid: format!(
                "{{{:08x}-{:04x}-{:04x}-{:04x}-{:012x}}}",
                g >> 32,
                (g >> 16) & 0xFFFF,
                0x4000 | (g & 0x0FFF),
                0x8000 | (rng.below(0x4000)),
                rng.next_u64() & 0xFFFF_FFFF_FFFF
            ),
        };
        let next_port = 49152 + rng.below(4000) as u16;
        let host_ip_id = rng.below(65536) as u16;
        Gen {
            v6: opts.ipv6,
            os_build: opts.os_build,
            rng,
            host,
            gw_mac,
            host_ip_id,
            jobs: Vec::new(),
            ntags: 0,
            plants: Vec::new(),
            next_port,
            next_server: 0,
            t0: start_time(opts.seed) + 2 * SEC,
        }
    }

    pub fn host_ip(&self) -> IpAddr {
        if self.v6 {
            IpAddr::V6(self.host.ipv6)
        } else {
            IpAddr::V4(self.host.ipv4)
        }
    }

    /// The next client port (49152–65535, skipping ports tshark decodes as something else).
    pub fn port(&mut self) -> u16 {
        loop {
            let p = self.next_port;
            self.next_port = if p == 65535 { 49152 } else { p + 1 };
            if !PORTS_TSHARK_DECODES.contains(&p) {
                return p;
            }
        }
    }

    /// A remote server address: index `n` of a pool of 508 (IPv4) or 65536 (IPv6).
    pub fn server_ip(&self, n: u32) -> IpAddr {
        if self.v6 {
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xDB8,
                0x2,
                (n >> 8) as u16 & 0xFF,
                0,
                0,
                0,
                0x10 + (n & 0xFF) as u16,
            ))
        } else {
            let k = n % 508;
            if k < 254 {
                IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1 + k as u8))
            } else {
                IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1 + (k - 254) as u8))
            }
        }
    }

    /// A fresh remote server address.
    pub fn new_server(&mut self) -> IpAddr {
        let n = self.next_server;
        self.next_server += 1;
        self.server_ip(n)
    }

    /// Which CPU receives a flow's packets (RSS).
    fn rss_cpu(a: IpAddr, b: IpAddr, pa: u16, pb: u16) -> u16 {
        let x = match (a, b) {
            (IpAddr::V4(a), IpAddr::V4(b)) => u64::from(u32::from(a)) ^ u64::from(u32::from(b)).rotate_left(17),
            (a, b) => {
                let s = |x: IpAddr| match x {
                    IpAddr::V6(v) => u128::from(v) as u64 ^ (u128::from(v) >> 64) as u64,
                    IpAddr::V4(v) => u64::from(u32::from(v)),
                };
                s(a) ^ s(b).rotate_left(17)
            }
        };
        (rng::mix(x ^ (u64::from(pa) << 16 | u64::from(pb))) % stack::CPUS as u64) as u16
    }

    /// A TCP connection between the host and `peer`. The peer is a Linux
    /// server `hops` routers away (TTL 64 − hops) unless `windows_peer`.
    pub fn conn(&mut self, local_is_client: bool, peer: IpAddr, peer_port: u16, local_port: u16) -> Conn {
        let v6 = peer.is_ipv6();
        let local_ip = if v6 {
            IpAddr::V6(self.host.ipv6)
        } else {
            IpAddr::V4(self.host.ipv4)
        };
        let mss = if v6 { 1440 } else { 1460 };
        let hops = 6 + self.rng.below(10) as u8;
        let local = End {
            ip: local_ip,
            port: local_port,
            isn: self.rng.next_u32(),
            next: 0,
            rcv_next: 0,
            ooo: Vec::new(),
            window: 1026,
            syn_window: 64240,
            mss,
            wscale: 8,
            ttl: 128,
            ip_id: 0,
            stream: self.rng.next_u64(),
            windows_style: true,
        };
        let remote = End {
            ip: peer,
            port: peer_port,
            isn: self.rng.next_u32(),
            next: 0,
            rcv_next: 0,
            ooo: Vec::new(),
            window: 501,
            syn_window: 65160,
            mss,
            wscale: 7,
            ttl: 64 - hops,
            ip_id: self.rng.below(65536) as u16,
            stream: self.rng.next_u64(),
            windows_style: false,
        };
        let (mut client, mut server) = if local_is_client {
            (local, remote)
        } else {
            (remote, local)
        };
        client.next = client.isn;
        server.next = server.isn;
        let app = *self.rng.pick(&APPS);
        let rx_cpu = Gen::rss_cpu(client.ip, server.ip, client.port, server.port);
        Conn {
            client,
            server,
            local_is_client,
            local_mac: self.host.mac,
            peer_mac: self.gw_mac,
            flow_label: if v6 { self.rng.below(1 << 20) as u32 } else { 0 },
            rx_cpu,
            tx_cpu: self.rng.below(stack::CPUS as u64) as u16,
            pid: app.0,
            tid: app.1,
        }
    }

    /// A new outgoing connection to a fresh server on one of [`SERVER_PORTS`].
    pub fn outgoing(&mut self) -> Conn {
        let peer = self.new_server();
        let port = *self.rng.pick(&SERVER_PORTS);
        let local_port = self.port();
        self.conn(true, peer, port, local_port)
    }

    fn new_tag(&mut self) -> u32 {
        self.ntags += 1;
        self.ntags - 1
    }

    /// Queues a packet; returns its tag.
    #[allow(clippy::too_many_arguments)]
    pub fn job(&mut self, time: FileTime, frame: Vec<u8>, dir: Dir, fate: Fate, cpu: u16, pid: u32, tid: u32) -> u32 {
        let v6 = frame.get(12..14) == Some(&wire::ETHERTYPE_IPV6.to_be_bytes()[..]);
        let tag = self.new_tag();
        self.jobs.push(Job {
            time,
            frame,
            dir,
            v6,
            fate,
            cpu,
            pid,
            tid,
            tag: Some(tag),
        });
        tag
    }

    /// Queues a segment of `c` sent at `t` (the time the host sees it: when it
    /// leaves, or when it arrives); returns its tag, or `None` when it is never seen.
    pub fn put(&mut self, c: &Conn, seg: &Segment, t: FileTime, delivery: Delivery) -> Option<u32> {
        let local = c.is_local(seg.from_client);
        let fate = match delivery {
            Delivery::Local(f) => f,
            _ => Fate::Delivered,
        };
        if !local && delivery == Delivery::LostBeyond {
            return None;
        }
        let (dir, cpu, pid, tid) = if local {
            (Dir::Tx, c.tx_cpu, c.pid, c.tid)
        } else {
            (Dir::Rx, c.rx_cpu, 4, 0x04FC + 4 * u32::from(c.rx_cpu))
        };
        Some(self.job(t, seg.frame.clone(), dir, fate, cpu, pid, tid))
    }

    /// Sends the next segment of one end at `t`; it arrives unless `delivery` says otherwise.
    pub fn send(
        &mut self,
        c: &mut Conn,
        t: FileTime,
        from_client: bool,
        len: u32,
        tcp_flags: u8,
        delivery: Delivery,
    ) -> (Segment, Option<u32>) {
        let seg = c.next_segment(from_client, len, tcp_flags, &mut self.host_ip_id);
        let tag = self.put(c, &seg, t, delivery);
        if delivery == Delivery::Normal {
            c.arrive(&seg);
        }
        (seg, tag)
    }

    /// Sends a segment again (same sequence number, `len` bytes).
    #[allow(clippy::too_many_arguments)]
    pub fn resend(
        &mut self,
        c: &mut Conn,
        t: FileTime,
        from_client: bool,
        seq: u32,
        len: u32,
        tcp_flags: u8,
        delivery: Delivery,
    ) -> (Segment, Option<u32>) {
        let mut options: Vec<u8> = Vec::new();
        if tcp_flags & wire::flags::SYN != 0 {
            let me = if from_client { &c.client } else { &c.server };
            options.extend_from_slice(&if me.windows_style {
                wire::syn_options_windows(me.mss, me.wscale)
            } else {
                wire::synack_options_linux(me.mss, me.wscale)
            });
        }
        let seg = c.segment_at(from_client, seq, len, tcp_flags, &options, &mut self.host_ip_id);
        let tag = self.put(c, &seg, t, delivery);
        if delivery == Delivery::Normal {
            c.arrive(&seg);
        }
        (seg, tag)
    }

    /// An IP packet the host sends or receives that is not part of a TCP connection (UDP, ICMP, ARP, ND).
    pub fn raw(&mut self, t: FileTime, frame: Vec<u8>, dir: Dir, fate: Fate, cpu: u16) -> u32 {
        let (pid, tid) = match dir {
            Dir::Tx => APPS[0],
            Dir::Rx => (4, 0x04FC + 4 * u32::from(cpu)),
        };
        self.job(t, frame, dir, fate, cpu, pid, tid)
    }

    /// The IP header of a packet from the host to `dst`.
    pub fn host_ip_header(&mut self, dst: IpAddr) -> wire::Ip {
        let id = self.host_ip_id;
        self.host_ip_id = self.host_ip_id.wrapping_add(1);
        wire::Ip {
            src: if dst.is_ipv6() {
                IpAddr::V6(self.host.ipv6)
            } else {
                IpAddr::V4(self.host.ipv4)
            },
            dst,
            ttl: 128,
            id,
            df: !dst.is_ipv6(),
            flow_label: 0,
        }
    }

    /// Ethernet addresses of a frame the host sends (to the gateway) or receives.
    pub fn eth(&self, dir: Dir) -> (wire::Mac, wire::Mac) {
        match dir {
            Dir::Tx => (self.gw_mac, self.host.mac),
            Dir::Rx => (self.host.mac, self.gw_mac),
        }
    }

    fn plant(
        &mut self,
        locality: Locality,
        cause: Cause,
        flow: Option<FlowKey>,
        description: &str,
        evidence: Vec<Draft>,
    ) {
        self.plants.push(PlantDraft {
            locality,
            cause,
            flow,
            description: description.to_string(),
            evidence,
        });
    }

    /// The latest job time so far.
    pub fn end(&self) -> FileTime {
        self.jobs.iter().map(|j| j.time).max().unwrap_or(self.t0)
    }
}

/// Records are handed from the generating thread to the sink's in batches of this many.
const BATCH: usize = 4096;

/// Generates one capture into `sink` and returns what was planted in it.
///
/// The capture is made on a second thread while `sink` consumes it on this
/// one (records cross in batches, in order), so generating and writing
/// overlap; the output does not depend on thread timing.
pub fn generate(opts: &GenOptions, sink: &mut dyn RecordSink) -> GroundTruth {
    let info = capture_info(opts);
    let catalog = crate::pktmon::catalog::Catalog::builtin(Some(opts.os_build));
    let schemas = BTreeMap::new();
    let ctx = Context {
        info: &info,
        catalog: &catalog,
        schemas: &schemas,
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Record>>(8);
    let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Vec<Record>>();
    std::thread::scope(|s| {
        let producer = s.spawn(move || {
            let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
            let truth = {
                let mut out = |r: Record| {
                    batch.push(r);
                    if batch.len() == BATCH {
                        let next = recycle_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
                        // The consumer only stops early by panicking; its panic is re-raised below.
                        let _ = tx.send(std::mem::replace(&mut batch, next));
                    }
                };
                produce(opts, &mut out)
            };
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            truth
        });
        for mut batch in rx {
            for r in batch.drain(..) {
                sink.record(&ctx, r);
            }
            let _ = recycle_tx.send(batch);
        }
        producer.join().expect("the generator thread panicked")
    })
}

/// Builds the capture and hands its records to `out` in time order.
fn produce(opts: &GenOptions, out: &mut dyn FnMut(Record)) -> GroundTruth {
    let mut g = Gen::new(opts);
    scenarios::build(&mut g, opts.scenario);
    let mut jobs = std::mem::take(&mut g.jobs);
    // Stable: jobs of one instant keep the order the scenario made them in.
    jobs.sort_by_key(|j| j.time);
    let planted_appearances: u64 = jobs.iter().map(|j| stack::appearances_of(j.dir, j.fate)).sum();
    let start = start_time(opts.seed);
    let mut emitter = Emitter::new(out, opts.os_build, opts.pkt_size as usize, g.rng.fork(0xE3));
    emitter.tagged = vec![Default::default(); g.ntags as usize];
    let span_start = g.t0;
    let span_end = g.end().max(span_start + SEC);
    let target = match opts.packets {
        Some(n) => n.saturating_sub(planted_appearances),
        // A little background traffic over the scenario's time span.
        None => 1_500,
    };
    let mut filler = scenarios::Filler::new(&mut g, span_start, span_end, target, opts.packets.is_some());
    let mut planned = jobs.into_iter().peekable();
    loop {
        let next_filler = filler.current().map(|j| j.time);
        let take_planned = match (planned.peek(), next_filler) {
            (Some(j), Some(t)) => j.time <= t,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_planned {
            let j = planned.next().expect("peeked");
            emitter.push(&j);
        } else {
            emitter.push(filler.current().expect("peeked"));
            filler.advance(&mut g);
        }
    }
    let (tagged, appearances, packets, last) = emitter.finish(&g.host);
    let frames_of = |tag: u32| -> &stack::Tagged { &tagged[tag as usize] };
    let first = |tag: u32| frames_of(tag).first.unwrap_or(0);
    let mut planted = Vec::new();
    for p in &g.plants {
        let mut frames = Vec::new();
        let evidence: Vec<Evidence> = p
            .evidence
            .iter()
            .map(|d| match *d {
                Draft::Drop {
                    tag,
                    reason,
                    location,
                    component,
                } => Evidence::Drop {
                    frame: frames_of(tag).drops.first().copied().unwrap_or(0),
                    reason,
                    location: format!("0x{location:08X}"),
                    component,
                },
                Draft::Icmp {
                    tag,
                    v6,
                    icmp_type,
                    code,
                    mtu,
                } => Evidence::Icmp {
                    frame: first(tag),
                    v6,
                    icmp_type,
                    code,
                    mtu,
                },
                Draft::Retransmission { tag, original, trigger } => Evidence::Retransmission {
                    frame: first(tag),
                    original_frame: first(original),
                    trigger: trigger.to_string(),
                },
                Draft::UnansweredSyn { tag } => Evidence::UnansweredSyn { frame: first(tag) },
                Draft::UnansweredResolution { tag, target } => Evidence::UnansweredResolution {
                    frame: first(tag),
                    target: target.to_string(),
                },
                Draft::Reset { tag, idle_ms, ttl } => Evidence::Reset {
                    frame: first(tag),
                    idle_ms,
                    ttl,
                },
                Draft::BadChecksum { tag, layer } => Evidence::BadChecksum {
                    frame: first(tag),
                    layer: layer.to_string(),
                },
                Draft::AdapterCounter { counter, before, after } => Evidence::AdapterCounter {
                    frame: 0,
                    adapter: stack::NIC_DESCRIPTION.to_string(),
                    name: stack::NIC_ALIAS.to_string(),
                    if_index: stack::NIC_IF_INDEX,
                    mac: g
                        .host
                        .mac
                        .iter()
                        .map(|b| format!("{b:02X}"))
                        .collect::<Vec<_>>()
                        .join("-"),
                    counter: counter.to_string(),
                    before,
                    after,
                },
            })
            .collect();
        for e in evidence.iter().filter(|e| e.frame() != 0) {
            frames.push(e.frame());
        }
        frames.sort_unstable();
        frames.dedup();
        planted.push(Planted {
            locality: p.locality,
            cause: p.cause,
            flow: p.flow.map(|f| f.to_string()),
            frames,
            description: p.description.clone(),
            evidence,
        });
    }
    GroundTruth {
        scenario: opts.scenario.name().to_string(),
        seed: opts.seed,
        os_build: opts.os_build,
        ipv6: opts.ipv6,
        appearances,
        packets,
        start_time: crate::time::format_utc(start),
        end_time: crate::time::format_utc(last),
        planted,
    }
}

// ---------------------------------------------------------------------------
// Scoring a diagnosis against the ground truth
// ---------------------------------------------------------------------------

/// Precision and recall of one cause (or of all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CauseScore {
    /// Planted items of this cause, and how many a finding matched.
    pub planted: u64,
    pub recalled: u64,
    /// Findings of this cause, and how many matched a planted item.
    pub findings: u64,
    pub correct: u64,
}

impl CauseScore {
    /// Matched findings / findings (1 when there were no findings).
    pub fn precision(&self) -> f64 {
        if self.findings == 0 {
            1.0
        } else {
            self.correct as f64 / self.findings as f64
        }
    }
    /// Matched planted items / planted items (1 when nothing was planted).
    pub fn recall(&self) -> f64 {
        if self.planted == 0 {
            1.0
        } else {
            self.recalled as f64 / self.planted as f64
        }
    }
    fn add(&mut self, o: &CauseScore) {
        self.planted += o.planted;
        self.recalled += o.recalled;
        self.findings += o.findings;
        self.correct += o.correct;
    }
}

/// A diagnosis scored against a ground truth.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Score {
    pub per_cause: BTreeMap<Cause, CauseScore>,
    pub total: CauseScore,
    /// Planted items no finding matched: (locality, cause, flow).
    pub missed: Vec<(Locality, Cause, Option<String>)>,
    /// Findings that matched nothing planted: (locality, cause, symptom, flow).
    pub unexpected: Vec<(Locality, Cause, String, Option<String>)>,
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<20} {:>7} {:>8} {:>8} {:>7} {:>9} {:>7}",
            "cause", "planted", "recalled", "findings", "correct", "precision", "recall"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, s: &CauseScore| {
            writeln!(
                f,
                "{:<20} {:>7} {:>8} {:>8} {:>7} {:>9.2} {:>7.2}",
                name,
                s.planted,
                s.recalled,
                s.findings,
                s.correct,
                s.precision(),
                s.recall()
            )
        };
        for (c, s) in &self.per_cause {
            row(f, c.as_str(), s)?;
        }
        row(f, "all", &self.total)?;
        for (l, c, flow) in &self.missed {
            writeln!(
                f,
                "  missed:     {} {} {}",
                l.as_str(),
                c.as_str(),
                flow.as_deref().unwrap_or("-")
            )?;
        }
        for (l, c, s, flow) in &self.unexpected {
            writeln!(
                f,
                "  unexpected: {} {} ({s}) {}",
                l.as_str(),
                c.as_str(),
                flow.as_deref().unwrap_or("-")
            )?;
        }
        Ok(())
    }
}

/// The two endpoints of a flow string (`TCP a → b`), in either order, with the protocol.
fn flow_ends(flow: &str) -> Option<(String, [String; 2])> {
    let (proto, rest) = flow.split_once(' ')?;
    let (a, b) = rest.split_once(" → ")?;
    let mut ends = [a.trim().to_string(), b.trim().to_string()];
    ends.sort();
    Some((proto.to_string(), ends))
}

/// Whether a finding's flow and a planted flow name the same flow (in either
/// direction). A finding without a flow (ARP/ND, drops of non-IP frames)
/// matches any flow of the right locality and cause.
pub fn same_flow(finding: Option<&str>, planted: Option<&str>) -> bool {
    match (finding, planted) {
        (None, _) | (_, None) => true,
        (Some(a), Some(b)) => a == b || (flow_ends(a).is_some() && flow_ends(a) == flow_ends(b)),
    }
}

/// Scores findings against what was planted: a finding matches a planted item
/// with the same locality and cause and the same flow ([`same_flow`]).
pub fn score(truth: &GroundTruth, findings: &[Finding]) -> Score {
    let matches = |f: &Finding, p: &Planted| {
        f.locality == p.locality && f.cause == p.cause && same_flow(f.flow.as_deref(), p.flow.as_deref())
    };
    let mut s = Score::default();
    for p in &truth.planted {
        let e = s.per_cause.entry(p.cause).or_default();
        e.planted += 1;
        if findings.iter().any(|f| matches(f, p)) {
            e.recalled += 1;
        } else {
            s.missed.push((p.locality, p.cause, p.flow.clone()));
        }
    }
    for f in findings {
        let e = s.per_cause.entry(f.cause).or_default();
        e.findings += 1;
        if truth.planted.iter().any(|p| matches(f, p)) {
            e.correct += 1;
        } else {
            s.unexpected
                .push((f.locality, f.cause, f.symptom.clone(), f.flow.clone()));
        }
    }
    let mut total = CauseScore::default();
    for c in s.per_cause.values() {
        total.add(c);
    }
    s.total = total;
    s
}
