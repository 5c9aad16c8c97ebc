//! Findings → the verdict: the few problems that matter, ranked by their
//! effect on the user, and the background every Windows host produces.
//!
//! Detection (the rest of [`crate::diagnose`]) names every loss it can see;
//! this stage decides what a reader needs first, the way Zeek separates
//! notices from their suppression: background is a table of rules
//! ([`BACKGROUND_RULES`]), problems are findings grouped by a key per kind of
//! problem (a silent server, a broken neighbor, a component dropping for one
//! reason…), and the ranking puts failed connections before slow ones before
//! single events.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use serde::Serialize;

use super::{Cause, Diagnosis, Finding, Locality};
use crate::flows::{endpoint, tcp_flags, FlowKey};

/// What a diagnosis concludes, first in every report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    pub status: Status,
    /// One sentence.
    pub summary: String,
    /// Most important first (`rank` 1).
    pub problems: Vec<Problem>,
    /// Harmless drops and symptoms, per rule.
    pub background: Vec<BackgroundEntry>,
    pub background_drop_events: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// At least one problem.
    Problems,
    /// Packets were captured and nothing but background was found.
    #[default]
    Healthy,
    /// Nothing could be checked: no packets, or no packet bytes and no drops.
    NothingToDiagnose,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Problems => "problems",
            Status::Healthy => "healthy",
            Status::NothingToDiagnose => "nothing_to_diagnose",
        }
    }
}

/// Findings that share a cause and an endpoint, a neighbor, a device or a component.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub rank: u32,
    pub locality: Locality,
    pub cause: Cause,
    /// One line.
    pub title: String,
    /// `addr`, `addr:port`, `[v6addr]:port` or `component <id> <name>`.
    pub endpoints: Vec<String>,
    /// Packets involved (copies of one packet counted once).
    pub packets: u64,
    /// Drop events recorded for them (one packet can raise several).
    pub drop_events: u64,
    pub flows: u64,
    pub first_time: String,
    pub last_time: String,
    pub explanation: String,
    pub next_step: String,
    /// For any Wireshark, on any file.
    pub display_filter: String,
    /// With the plugin's fields, when the problem has PktMon drops.
    pub pktmon_filter: Option<String>,
    /// Indices into the input's findings.
    pub findings: Vec<usize>,
    /// 1 connections failed or data lost, 2 loss that slowed things down, 3 single events.
    pub severity: u8,
}

/// Background of one kind, counted.
#[derive(Debug, Clone, Serialize)]
pub struct BackgroundEntry {
    pub kind: &'static str,
    pub title: &'static str,
    pub packets: u64,
    pub drop_events: u64,
    pub findings: u64,
}

/// A background rule: what it matches and why that is harmless.
pub struct BackgroundRule {
    pub kind: &'static str,
    pub title: &'static str,
    pub matches: &'static str,
    pub why: &'static str,
    test: fn(&Finding, &Facts) -> bool,
}

/// Link-local discovery and announcement services every LAN carries, UDP ports.
pub const DISCOVERY_PORTS: &[u16] = &[
    5353,  // mDNS
    5355,  // LLMNR
    1900,  // SSDP
    3702,  // WS-Discovery
    137,   // NetBIOS name
    138,   // NetBIOS datagram
    67,    // DHCP server
    68,    // DHCP client
    546,   // DHCPv6 client
    547,   // DHCPv6 server
    17500, // Dropbox LAN sync
    57621, // Spotify Connect
    6771,  // BitTorrent local peer discovery
    1228,  // Steam / others' LAN discovery
    27036, // Steam in-home streaming discovery
    10001, // Ubiquiti discovery
];

/// The background rules, tried in order; the first that matches names the finding's kind.
pub const BACKGROUND_RULES: &[BackgroundRule] = &[
    BackgroundRule {
        kind: "discovery_no_listener",
        title: "link-local discovery datagrams with no listener (mDNS, LLMNR, SSDP, NetBIOS, WS-Discovery…)",
        matches: "local drops of UDP datagrams to or from a discovery port (5353, 5355, 1900, 3702, 137, 138, \
                  67/68, 546/547, 17500, 57621…) for want of a socket, as not locally destined, or as multicast",
        why: "Every LAN carries these announcements; a host with no application listening drops them, one drop \
              event per socket that could not take the datagram.",
        test: |f, x| {
            f.is_drop()
                && x.udp_port_in(DISCOVERY_PORTS)
                && !f.traits_outbound()
                && f.cause_is(&[Cause::Unreachable, Cause::NoRoute])
        },
    },
    BackgroundRule {
        kind: "discovery_firewall",
        title: "inbound discovery traffic dropped by the firewall",
        matches: "local policy drops (WFP inspection) of inbound UDP to or from a discovery port",
        why: "Windows Firewall blocks inbound discovery on Public networks and for services that are off, by \
              design; it matters only if an application on this host needs that traffic.",
        test: |f, x| {
            f.is_drop() && x.udp_port_in(DISCOVERY_PORTS) && !f.traits_outbound() && f.cause_is(&[Cause::Policy])
        },
    },
    BackgroundRule {
        kind: "multicast_not_joined",
        title: "multicast this host has not joined",
        matches: "local drops of packets to a multicast address (224.0.0.0/4, ff00::/8) as not locally destined, \
                  for want of a listener, or as multicast (HSRP, VRRP, OSPF, PIM, other groups)",
        why: "The adapter's multicast filter is a hash, so it passes groups the host never joined; the stack \
              discards them.",
        test: |f, x| {
            f.is_drop() && x.dst_multicast && !f.traits_outbound() && f.cause_is(&[Cause::Unreachable, Cause::NoRoute])
        },
    },
    BackgroundRule {
        kind: "broadcast_no_service",
        title: "broadcasts for services this host does not run",
        matches: "local drops of inbound packets to 255.255.255.255 or a subnet broadcast address for want of a \
                  listener, as not locally destined, or by the firewall",
        why: "Broadcasts reach every host of the subnet; those that run no such service drop them.",
        test: |f, x| {
            f.is_drop()
                && x.dst_broadcast
                && !f.traits_outbound()
                && f.cause_is(&[Cause::Unreachable, Cause::NoRoute, Cause::Policy])
        },
    },
    BackgroundRule {
        kind: "unbound_ethertype",
        title: "frames of protocols no driver is bound to (Unsupported EtherType)",
        matches: "drops with reason Unsupported EtherType (LLDP, LLTD, vendor and lab protocols)",
        why: "The adapter receives every EtherType on the wire; frames no protocol driver is bound to are dropped \
              at the miniport.",
        test: |f, _| {
            f.is_drop()
                && f.drops
                    .iter()
                    .all(|(d, _)| d.reason == Some(204) || d.reason_text.contains("Unsupported EtherType"))
        },
    },
    BackgroundRule {
        kind: "close_time_tcp",
        title: "TCP segments around a close (late RST, FIN, duplicate, keep-alive)",
        matches: "a few (at most 10 per connection) local drops of TCP segments that arrive for a connection \
                  already closed or of data already received: received RST, duplicate segment, FIN-WAIT2, \
                  TIME-WAIT, or no endpoint for a segment without SYN",
        why: "A peer's retransmission or reset that crosses the local close, and keep-alive probes, are dropped by \
              design; they lose no data.",
        test: |f, x| {
            f.is_drop()
                && x.protocol == Some(6)
                && f.traits.drop_events <= 10
                && f.drops.iter().all(|(d, _)| {
                    matches!(
                        d.reason,
                        Some(1210 | 1215 | 1216 | 1217 | 1218 | 1220 | 1222 | 1225..=1227)
                    ) || (d.reason == Some(1204) && f.traits.tcp_flags_any & tcp_flags::SYN == 0)
                })
        },
    },
    BackgroundRule {
        kind: "late_reply",
        title: "replies that arrived after their client's socket closed",
        matches: "local drops of inbound unicast UDP from a service port (below 1024, or 443) to a client port \
                  (1024 and up) for want of a socket",
        why: "A client that gave up waiting (a DNS query answered twice or late, a QUIC connection closed) has \
              closed its socket; the late answer is dropped.",
        test: |f, x| {
            f.is_drop()
                && x.protocol == Some(17)
                && !x.dst_multicast
                && !x.dst_broadcast
                && x.src_port.is_some_and(|p| p < 1024 || p == 443)
                && x.dst_port.is_some_and(|p| p >= 1024)
                && f.cause_is(&[Cause::Unreachable])
        },
    },
    BackgroundRule {
        kind: "reset_by_this_host",
        title: "connections this host's applications reset",
        matches: "RSTs sent by this host (not answering a SYN, TTL like its other packets) on connections with \
                  no other problem",
        why: "Applications abort connections they no longer need (a browser closing a tab, a client giving up \
              after its own timeout); the reset loses nothing the application still wanted. When a peer's \
              silence made it give up, that silence is a problem of its own.",
        test: |f, _| {
            f.symptom == "connection reset"
                && f.traits.reset_by_this_host
                && !f.traits.refused
                && f.cause == Cause::SessionLoss
        },
    },
];

impl Finding {
    fn is_drop(&self) -> bool {
        self.symptom == "local drop"
    }

    fn cause_is(&self, causes: &[Cause]) -> bool {
        causes.contains(&self.cause)
    }

    /// Whether its drops were of packets going out.
    fn traits_outbound(&self) -> bool {
        self.traits.drop_events > 0
            && self.traits.inbound_drops == 0
            && self.drops.iter().all(|(d, _)| is_out(&d.direction))
    }
}

fn is_out(direction: &str) -> bool {
    matches!(direction, "Tx" | "Out" | "Egress" | "Send")
}

/// What a finding's flow says: addresses' kinds and ports, from the sender's side.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    protocol: Option<u8>,
    src_port: Option<u16>,
    dst_port: Option<u16>,
    dst_multicast: bool,
    dst_broadcast: bool,
}

impl Facts {
    fn of(f: &Finding) -> Facts {
        let Some(k) = f.flow_key else {
            return Facts::default();
        };
        Facts {
            protocol: Some(k.protocol),
            src_port: Some(k.client_port),
            dst_port: Some(k.server_port),
            dst_multicast: k.server.is_multicast(),
            dst_broadcast: is_broadcast(&k.server),
        }
    }

    fn udp_port_in(&self, ports: &[u16]) -> bool {
        self.protocol == Some(17)
            && (self.src_port.is_some_and(|p| ports.contains(&p)) || self.dst_port.is_some_and(|p| ports.contains(&p)))
    }
}

/// 255.255.255.255, or an IPv4 address ending in .255 (a /24 or shorter subnet's broadcast).
fn is_broadcast(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => v4.is_broadcast() || v4.octets()[3] == 255,
        IpAddr::V6(_) => false,
    }
}

/// What the verdict knows of the input beyond its findings.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The host's own addresses.
    pub local_addresses: BTreeSet<IpAddr>,
    /// Packets captured with their bytes (protocol analysis was possible).
    pub packets_with_bytes: u64,
    /// Why nothing could be checked, when nothing could.
    pub nothing_because: Option<String>,
}

impl Context {
    fn is_local(&self, a: &IpAddr) -> bool {
        a.is_loopback() || self.local_addresses.contains(a)
    }

    /// The end of a flow that is not this host: the server, unless the server is this host.
    fn remote(&self, k: &FlowKey) -> (IpAddr, u16) {
        if self.is_local(&k.server) && !self.is_local(&k.client) {
            (k.client, k.client_port)
        } else {
            (k.server, k.server_port)
        }
    }
}

/// Servers that must fail alike on one port before the port is the problem.
const SERVERS_FOR_A_PORT_PROBLEM: usize = 3;

/// What findings are grouped by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Anchor {
    /// A service: (protocol, address, port).
    Server(u8, IpAddr, u16),
    /// A remote host, whatever the ports.
    Peer(IpAddr),
    /// A device on the path resetting connections to a port.
    Device(u16),
    /// One port failing alike on many servers: what they share is on the path.
    Service(u8, u16),
    /// Address resolution of one address family.
    Neighbors(bool),
    /// A component, a reason and a direction.
    Component(Option<u16>, String, String),
    /// What fits nowhere else: one finding alone.
    Alone(usize),
}

/// The kind of a problem, which decides its title, advice and severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    SilentServer,
    Refused,
    NoListener,
    Unreachable,
    NoAnswer,
    AddressResolution,
    DeviceResets,
    Resets,
    PmtuBlackHole,
    Mtu,
    PathLoss,
    Window,
    ComponentDrops,
    SilentFilter,
    NotCaptured,
    /// Discards or errors an adapter's own counters show (below PktMon).
    AdapterCounters,
    Other,
}

fn kind_and_anchor(i: usize, f: &Finding, ctx: &Context) -> (Kind, Anchor) {
    let server = |k: &FlowKey| Anchor::Server(k.protocol, k.server, k.server_port);
    let peer = |k: &FlowKey| Anchor::Peer(ctx.remote(k).0);
    let first_drop = f.drops.first().map(|(d, _)| d);
    let component = || {
        let d = first_drop.expect("a finding with drops");
        Anchor::Component(
            d.component,
            if d.component.is_none() {
                d.component_name.clone()
            } else {
                d.reason_text.clone()
            },
            d.direction.clone(),
        )
    };
    let k = f.flow_key.as_ref();
    match (f.symptom.as_str(), k) {
        ("drops counted, not captured", _) => (Kind::NotCaptured, component()),
        ("packets lost in a filter without a drop event", _) => (Kind::SilentFilter, component()),
        ("adapter discards" | "adapter errors", _) => (Kind::AdapterCounters, component()),
        ("no answer", Some(k)) => (Kind::NoAnswer, server(k)),
        ("SYN unanswered", Some(k)) if f.drops.is_empty() => (Kind::SilentServer, server(k)),
        ("connection reset", Some(k)) if f.traits.refused => (Kind::Refused, server(k)),
        ("connection reset", Some(k)) if f.cause == Cause::Policy => {
            (Kind::DeviceResets, Anchor::Device(k.server_port))
        }
        ("connection reset", Some(k)) if f.drops.is_empty() => (Kind::Resets, server(k)),
        ("ARP unanswered", _) => (Kind::AddressResolution, Anchor::Neighbors(false)),
        ("neighbor solicitation unanswered", _) => (Kind::AddressResolution, Anchor::Neighbors(true)),
        ("suspected PMTU black hole", Some(k)) => (Kind::PmtuBlackHole, peer(k)),
        ("packet too big" | "retransmission after packet too big", Some(k)) => (Kind::Mtu, peer(k)),
        ("destination unreachable" | "UDP to a closed port" | "time exceeded", Some(k)) if f.drops.is_empty() => {
            (Kind::Unreachable, server(k))
        }
        (_, Some(k)) if f.cause == Cause::AddressResolution => {
            (Kind::AddressResolution, Anchor::Neighbors(k.server.is_ipv6()))
        }
        // Nothing listens: per service, whatever the reason's component.
        (_, Some(k)) if !f.drops.is_empty() && f.cause == Cause::Unreachable => (Kind::NoListener, server(k)),
        (_, _) if !f.drops.is_empty() => (Kind::ComponentDrops, component()),
        ("zero window" | "window full", Some(k)) => (Kind::Window, peer(k)),
        (_, Some(k)) if f.cause == Cause::Congestion || f.symptom == "data never acknowledged" => {
            (Kind::PathLoss, peer(k))
        }
        (_, Some(k)) => (Kind::Other, server(k)),
        (_, None) => (Kind::Other, Anchor::Alone(i)),
    }
}

/// Severity of a problem: 1 connections never came up or data was lost for
/// good, 2 loss that slowed things down, 3 single events with no visible effect.
fn severity(kind: Kind, findings: &[&Finding]) -> u8 {
    let occurrences: u64 = findings.iter().map(|f| f.count).sum();
    let level = match kind {
        Kind::SilentServer
        | Kind::Refused
        | Kind::NoListener
        | Kind::Unreachable
        | Kind::NoAnswer
        | Kind::DeviceResets
        | Kind::PmtuBlackHole => 1,
        Kind::Resets if findings.iter().any(|f| f.traits.carried_data) => 1,
        // Packets lost waiting for the neighbor: what needed it failed.
        Kind::AddressResolution if findings.iter().any(|f| !f.drops.is_empty()) => 1,
        Kind::PathLoss
            if findings.iter().all(|f| {
                matches!(
                    f.symptom.as_str(),
                    "spurious retransmission"
                        | "data never acknowledged"
                        | "segment not captured"
                        | "ACKed unseen segment"
                )
            }) =>
        {
            3
        }
        _ => 2,
    };
    if level == 2 && occurrences <= 1 {
        3
    } else {
        level
    }
}

/// Decides the verdict of a diagnosis and marks each finding with its problem or background.
pub fn decide(d: &mut Diagnosis, ctx: &Context) {
    let findings = &mut d.findings;
    // Flows that a real (non-background) symptom names: their drops are never background.
    let mut background: Vec<Option<&'static str>> = findings
        .iter()
        .map(|f| {
            let x = Facts::of(f);
            BACKGROUND_RULES.iter().find(|r| (r.test)(f, &x)).map(|r| r.kind)
        })
        .collect();
    let named: Vec<FlowKey> = findings
        .iter()
        .zip(&background)
        .filter(|(f, b)| b.is_none() && f.symptom != "local drop")
        .filter_map(|(f, _)| f.flow_key)
        .map(normal)
        .collect();
    let anchors: Vec<(Kind, Anchor)> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| kind_and_anchor(i, f, ctx))
        .collect();
    // One story per connection: a drop of a flow that a problem's symptom names,
    // and loss on a flow whose problem is something else (a reset, a black hole,
    // a full window), join that problem.
    let mut flow_anchor: HashMap<FlowKey, usize> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        if let (Some(k), None, false) = (f.flow_key, background[i], f.symptom == "local drop") {
            let owner = flow_anchor.entry(normal(k)).or_insert(i);
            if anchors[*owner].0 == Kind::PathLoss && anchors[i].0 != Kind::PathLoss {
                *owner = i;
            }
        }
    }
    let mut groups: BTreeMap<(Kind, Anchor), Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        let owner = f
            .flow_key
            .map(normal)
            .filter(|k| named.contains(k))
            .and_then(|k| flow_anchor.get(&k).copied());
        let joined = owner.filter(|&o| {
            o != i && (f.symptom == "local drop" || (anchors[i].0 == Kind::PathLoss && anchors[o].0 != Kind::PathLoss))
        });
        if let Some(owner) = joined {
            background[i] = None;
            groups.entry(anchors[owner].clone()).or_default().push(i);
        } else if background[i].is_none() {
            groups.entry(anchors[i].clone()).or_default().push(i);
        }
    }
    // Many servers failing alike on one port point at what they share (a firewall
    // or proxy on the path), not at each server: one problem for the port.
    let mut servers_per_port: BTreeMap<(Kind, u8, u16), BTreeSet<IpAddr>> = BTreeMap::new();
    for (kind, anchor) in groups.keys() {
        if let (Kind::Refused | Kind::SilentServer | Kind::NoAnswer | Kind::Unreachable, Anchor::Server(p, a, port)) =
            (kind, anchor)
        {
            if !ctx.is_local(a) {
                servers_per_port.entry((*kind, *p, *port)).or_default().insert(*a);
            }
        }
    }
    let mut regrouped: BTreeMap<(Kind, Anchor), Vec<usize>> = BTreeMap::new();
    for ((kind, anchor), members) in groups {
        let key = match anchor {
            Anchor::Server(p, a, port)
                if !ctx.is_local(&a)
                    && servers_per_port
                        .get(&(kind, p, port))
                        .is_some_and(|s| s.len() >= SERVERS_FOR_A_PORT_PROBLEM) =>
            {
                (kind, Anchor::Service(p, port))
            }
            other => (kind, other),
        };
        regrouped.entry(key).or_default().extend(members);
    }
    let mut problems: Vec<Problem> = regrouped
        .into_iter()
        .map(|((kind, anchor), members)| build_problem(kind, &anchor, &members, findings, ctx))
        .collect();
    problems.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(b.flows.cmp(&a.flows))
            .then(b.endpoints.len().cmp(&a.endpoints.len()))
            .then(b.packets.cmp(&a.packets))
            .then(a.first_time.cmp(&b.first_time))
    });
    for (n, p) in problems.iter_mut().enumerate() {
        p.rank = n as u32 + 1;
        for &i in &p.findings {
            findings[i].problem = Some(p.rank);
        }
    }
    let mut entries: Vec<BackgroundEntry> = Vec::new();
    for (i, kind) in background.iter().enumerate() {
        let Some(kind) = kind else { continue };
        findings[i].background = Some(kind);
        let f = &findings[i];
        let rule = BACKGROUND_RULES
            .iter()
            .find(|r| r.kind == *kind)
            .expect("a rule's kind");
        let e = match entries.iter_mut().position(|e| e.kind == *kind) {
            Some(at) => &mut entries[at],
            None => {
                entries.push(BackgroundEntry {
                    kind,
                    title: rule.title,
                    packets: 0,
                    drop_events: 0,
                    findings: 0,
                });
                entries.last_mut().expect("just pushed")
            }
        };
        e.packets += f.traits.dropped_packets.max(1);
        e.drop_events += f.traits.drop_events;
        e.findings += 1;
    }
    entries.sort_by(|a, b| b.drop_events.cmp(&a.drop_events).then(a.kind.cmp(b.kind)));
    let background_drop_events = entries.iter().map(|e| e.drop_events).sum();
    let status = if ctx.nothing_because.is_some() && d.totals.drop_events == 0 && problems.is_empty() {
        Status::NothingToDiagnose
    } else if problems.is_empty() {
        Status::Healthy
    } else {
        Status::Problems
    };
    let summary = summary(status, &problems, &entries, background_drop_events, d, ctx);
    d.verdict = Verdict {
        status,
        summary,
        problems,
        background: entries,
        background_drop_events,
    };
}

/// A flow key with its ends in a fixed order, so both directions compare equal.
fn normal(k: FlowKey) -> FlowKey {
    if (k.client, k.client_port) <= (k.server, k.server_port) {
        k
    } else {
        FlowKey {
            protocol: k.protocol,
            client: k.server,
            client_port: k.server_port,
            server: k.client,
            server_port: k.client_port,
            vlan: k.vlan,
        }
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary(
    status: Status,
    problems: &[Problem],
    background: &[BackgroundEntry],
    background_drop_events: u64,
    d: &Diagnosis,
    ctx: &Context,
) -> String {
    let bg = if background_drop_events > 0 {
        format!(
            "; {} of background (harmless drops every host sees) set apart",
            plural(background_drop_events, "drop event", "drop events")
        )
    } else if !background.is_empty() {
        "; harmless background set apart".to_string()
    } else {
        String::new()
    };
    match status {
        Status::NothingToDiagnose => ctx.nothing_because.clone().unwrap_or_default(),
        Status::Healthy => format!(
            "No problem found in {} on {}{bg}.",
            plural(d.totals.packets, "packet", "packets"),
            plural(d.totals.flows, "flow", "flows")
        ),
        Status::Problems => {
            let stopping = problems.iter().filter(|p| p.severity == 1).count() as u64;
            let first = lower_first(&problems[0].title);
            match problems.len() {
                1 => format!("1 problem: {first}{bg}."),
                n => format!(
                    "{n} problems{}; the worst: {first}{bg}.",
                    match stopping {
                        0 => String::new(),
                        1 => ", one of them stopping connections".to_string(),
                        s => format!(", {s} of them stopping connections"),
                    }
                ),
            }
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) if c.clone().next().is_some_and(|n| n.is_lowercase()) => f.to_lowercase().chain(c).collect(),
        _ => s.to_string(),
    }
}

fn anchor_endpoints(anchor: &Anchor, members: &[&Finding], ctx: &Context) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    match anchor {
        Anchor::Server(_, a, p) => push(endpoint(a, *p)),
        Anchor::Peer(a) => push(a.to_string()),
        Anchor::Device(p) | Anchor::Service(_, p) => {
            for f in members {
                if let Some(k) = f.flow_key {
                    push(endpoint(&k.server, *p));
                }
            }
        }
        Anchor::Neighbors(_) => {
            for f in members {
                if let Some(t) = neighbor_target(f) {
                    push(t);
                }
            }
            for f in members {
                if let Some(k) = f.flow_key {
                    push(endpoint(&ctx.remote(&k).0, ctx.remote(&k).1));
                }
            }
        }
        Anchor::Component(Some(c), _, _) => {
            let name = members
                .iter()
                .flat_map(|f| f.drops.iter())
                .map(|(d, _)| d.component_name.as_str())
                .find(|n| !n.is_empty())
                .unwrap_or("");
            push(format!("component {c} {name}").trim_end().to_string());
        }
        Anchor::Component(None, name, _) => push(name.clone()),
        Anchor::Alone(_) => {}
    }
    out
}

/// The target an unanswered ARP/ND finding names (from its explanation's evidence).
fn neighbor_target(f: &Finding) -> Option<String> {
    if !matches!(
        f.symptom.as_str(),
        "ARP unanswered" | "neighbor solicitation unanswered"
    ) {
        return None;
    }
    let text = f.explanation.strip_prefix("Nothing answered address resolution for ")?;
    Some(text.split(' ').next()?.to_string())
}

fn build_problem(kind: Kind, anchor: &Anchor, members: &[usize], all: &[Finding], ctx: &Context) -> Problem {
    let fs: Vec<&Finding> = members.iter().map(|&i| &all[i]).collect();
    // The finding that decides the problem's cause: the first that is not a drop joined to it.
    let lead = fs
        .iter()
        .find(|f| kind == Kind::Window && f.symptom == "zero window")
        .or_else(|| fs.iter().find(|f| f.symptom != "local drop"))
        .copied()
        .unwrap_or(fs[0]);
    let flows: BTreeSet<FlowKey> = fs.iter().filter_map(|f| f.flow_key).map(normal).collect();
    // Drop records shared by several findings (a drop explains a retransmission and
    // the reset after it) and copies of one packet count once.
    let (drop_events, dropped) = super::count_marks(fs.iter().flat_map(|f| f.traits.drop_marks.iter()));
    let undropped: u64 = fs
        .iter()
        .filter(|f| f.traits.drop_marks.is_empty())
        .map(|f| match f.symptom.as_str() {
            _ if f.traits.dropped_packets > 0 => f.traits.dropped_packets,
            // Every SYN of the attempt went unanswered.
            "SYN unanswered" => f.frames.len().max(1) as u64,
            _ => f.count,
        })
        .sum();
    let packets = dropped + undropped;
    let first = fs
        .iter()
        .map(|f| (f.first, f.first_time.clone()))
        .min()
        .map(|x| x.1)
        .unwrap_or_default();
    let last = fs.iter().map(|f| f.last_time.clone()).max().unwrap_or_default();
    let locality = if fs.iter().any(|f| f.locality == Locality::Local) {
        Locality::Local
    } else {
        lead.locality
    };
    let endpoints = anchor_endpoints(anchor, &fs, ctx);
    let conns = plural(flows.len() as u64, "connection", "connections");
    let ep = endpoints.first().cloned().unwrap_or_default();
    // The drop that names the cause: the most frequent one that is a loss, not tcpip taking in a reset.
    let drop_label = fs
        .iter()
        .flat_map(|f| f.drops.iter())
        .filter(|(d, _)| !super::is_consumption(d))
        .max_by_key(|(d, n)| (*n, d.reason == Some(1204)))
        .map(|(d, _)| {
            let who = if d.component_name.is_empty() {
                d.component.map(|c| format!("component {c}")).unwrap_or_default()
            } else {
                d.component_name.clone()
            };
            format!("{who} dropped them: {}", d.reason_text)
        });
    let drop_note = drop_label.clone().map(|l| format!(" ({l})")).unwrap_or_default();
    let servers = endpoints.len() as u64;
    let title = match (kind, anchor) {
        (Kind::Refused | Kind::NoListener, Anchor::Service(_, port)) => format!(
            "Connections to port {port} are refused by {servers} servers ({conns}): a device on the path rejects \
             them, or none of them listens"
        ),
        (Kind::SilentServer, Anchor::Service(_, port)) => format!(
            "{servers} servers do not answer on TCP port {port} ({conns}): something on the path drops the SYNs"
        ),
        (Kind::NoAnswer, Anchor::Service(_, port)) => format!("{servers} servers do not answer on UDP port {port}"),
        (Kind::Unreachable, Anchor::Service(_, port)) => {
            format!(
                "{servers} servers are unreachable on port {port}: {}",
                lead.explanation.trim_end_matches('.')
            )
        }
        _ => title_of(kind, anchor, lead, &fs, &flows, &ep, &conns, &drop_note, locality),
    };
    let next_step = match anchor {
        Anchor::Service(_, port) => format!(
            "Many servers failing alike on port {port} points at the path: compare the RSTs' or ICMP errors' TTLs \
             (one value for all = one device), trace the path to one of them (`Test-NetConnection <server> -Port \
             {port} -TraceRoute`), and check the firewall or proxy policy for that port."
        ),
        _ => advice(kind, lead, anchor, ctx),
    };
    let mut frames: Vec<u64> = fs.iter().flat_map(|f| f.frames.iter().copied()).collect();
    frames.sort_unstable();
    frames.dedup();
    frames.truncate(super::MAX_FRAMES);
    let targets: Vec<String> = fs
        .iter()
        .filter_map(|f| neighbor_target(f))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let display_filter = stock_filter(anchor, &flows, &frames, &targets);
    let pktmon_filter = match kind {
        // No drop event shows an adapter's own discards: the packets it did pass.
        Kind::AdapterCounters => lead.pktmon_filter.clone(),
        _ => pktmon_filter(anchor, &fs, &display_filter, &frames),
    };
    let mut explanation = explain(kind, lead, &fs, &flows, &ep, drop_label.as_deref());
    if let (Some(l), true, false) = (
        &drop_label,
        lead.drops.is_empty(),
        matches!(kind, Kind::Refused | Kind::NoListener),
    ) {
        match explanation.strip_suffix(" on this host.") {
            Some(head) => explanation = format!("{head} on this host ({l})."),
            None => explanation.push_str(&format!(" On this host {l}.")),
        }
    }
    Problem {
        rank: 0,
        locality,
        cause: lead.cause,
        title,
        endpoints,
        packets,
        drop_events,
        flows: flows.len() as u64,
        first_time: first,
        last_time: last,
        explanation,
        next_step,
        display_filter,
        pktmon_filter,
        findings: members.to_vec(),
        severity: severity(kind, &fs),
    }
}

/// The one-line title of a problem anchored on one server, peer, neighbor or component.
#[allow(clippy::too_many_arguments)]
fn title_of(
    kind: Kind,
    anchor: &Anchor,
    lead: &Finding,
    fs: &[&Finding],
    flows: &BTreeSet<FlowKey>,
    ep: &str,
    conns: &str,
    drop_note: &str,
    locality: Locality,
) -> String {
    match kind {
        Kind::SilentServer => format!(
            "{ep} does not answer: {} got no reply, and nothing on this host dropped the SYNs",
            plural(flows.len() as u64, "connection attempt", "connection attempts")
        ),
        Kind::Refused | Kind::NoListener if flows.iter().all(|k| k.protocol == 6) && locality == Locality::Local => {
            format!("Connections to {ep} are refused: nothing on this host listens there{drop_note}")
        }
        Kind::Refused | Kind::NoListener if flows.iter().all(|k| k.protocol == 6) => {
            format!("{ep} refuses connections{drop_note}")
        }
        Kind::Refused | Kind::NoListener => format!("Nothing listens on {ep}{drop_note}"),
        Kind::Unreachable if fs.iter().all(|f| f.symptom == "UDP to a closed port") => format!(
            "Nothing listens on UDP {ep}: ICMP port unreachable came back for {}",
            plural(fs.iter().map(|f| f.count).sum(), "datagram", "datagrams")
        ),
        Kind::Unreachable => format!(
            "{ep} is unreachable: {} came back ({conns})",
            lead.explanation
                .trim_end_matches('.')
                .trim_start_matches("A router or the peer answered with ")
        ),
        Kind::NoAnswer => format!(
            "{ep} does not answer: {} got nothing back",
            plural(fs.iter().map(|f| f.count).sum(), "datagram", "datagrams")
        ),
        Kind::AddressResolution => {
            let targets: Vec<String> = fs
                .iter()
                .filter_map(|f| neighbor_target(f))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let waiting: u64 = fs
                .iter()
                .filter(|f| f.cause == Cause::AddressResolution && !f.drops.is_empty())
                .map(|f| f.traits.dropped_packets)
                .sum();
            match (targets.is_empty(), waiting) {
                (false, 0) => format!("Address resolution fails: {} does not answer", targets.join(", ")),
                (false, n) => format!(
                    "Address resolution fails: {} does not answer, and {} waiting for it {} dropped",
                    targets.join(", "),
                    plural(n, "packet", "packets"),
                    if n == 1 { "was" } else { "were" }
                ),
                (true, n) => format!(
                    "Address resolution fails: {} dropped waiting for a neighbor",
                    plural(n, "packet", "packets")
                ),
            }
        }
        Kind::DeviceResets => format!(
            "A device on the path resets connections to port {}: {} reset with a TTL unlike the server's",
            match anchor {
                Anchor::Device(p) => *p,
                _ => 0,
            },
            conns
        ),
        Kind::Resets if fs.iter().any(|f| f.traits.reset_by_device) => {
            format!(
                "A device on the path to {ep} reset {conns} after {} sat idle (a NAT or firewall timeout)",
                if flows.len() == 1 { "it" } else { "they" }
            )
        }
        Kind::Resets => format!(
            "{ep} reset {}{}",
            conns,
            if fs.iter().any(|f| f.traits.carried_data) {
                " that had carried data"
            } else {
                ""
            }
        ),
        Kind::PmtuBlackHole => format!("PMTU black hole towards {ep}: full-size segments are lost, small ones pass"),
        Kind::Mtu => format!("Packets too big for the path to {ep} ({conns})"),
        Kind::PathLoss => format!(
            "Segments lost beyond this host on the path to {ep}: {} on {conns}",
            symptom_counts(fs)
        ),
        Kind::Window => format!("The receiver limits throughput with {ep}: {}", lead.symptom),
        Kind::ComponentDrops => {
            let d = &lead.drops[0].0;
            let who = if d.component_name.is_empty() {
                d.component
                    .map(|c| format!("Component {c}"))
                    .unwrap_or_else(|| "A component".into())
            } else {
                match d.component {
                    Some(c) => format!("{} (component {c})", d.component_name),
                    None => d.component_name.clone(),
                }
            };
            format!(
                "{who} drops {}packets: {} ({})",
                if d.direction.is_empty() {
                    String::new()
                } else {
                    format!("{} ", d.direction)
                },
                d.reason_text,
                lead.cause.as_str().replace('_', " ")
            )
        }
        Kind::SilentFilter | Kind::NotCaptured | Kind::AdapterCounters => lead
            .explanation
            .split(". ")
            .next()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_string(),
        Kind::Other => format!("{} ({})", lead.symptom, lead.flow.clone().unwrap_or_default()),
    }
}

/// `3 retransmissions, 1 duplicate ACK`: the symptoms of a problem's findings, counted.
fn symptom_counts(fs: &[&Finding]) -> String {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for f in fs.iter().filter(|f| f.symptom != "local drop") {
        *counts.entry(f.symptom.as_str()).or_default() += f.count;
    }
    let mut list: Vec<(&str, u64)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    list.iter()
        .map(|(s, n)| {
            let many = match *s {
                "retransmission after packet too big" => "retransmissions after packet too big".to_string(),
                "segment not captured" => "segments not captured".to_string(),
                "ACKed unseen segment" => "ACKed unseen segments".to_string(),
                "data never acknowledged" => "data never acknowledged".to_string(),
                "window full" => "windows full".to_string(),
                other => format!("{other}s"),
            };
            plural(*n, s, &many)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The problem's explanation: its findings told together where several make one story.
fn explain(
    kind: Kind,
    lead: &Finding,
    fs: &[&Finding],
    flows: &BTreeSet<FlowKey>,
    ep: &str,
    drop: Option<&str>,
) -> String {
    let conns = plural(flows.len() as u64, "connection", "connections");
    match kind {
        Kind::SilentServer => {
            let syns: u64 = fs
                .iter()
                .filter(|f| f.symptom == "SYN unanswered")
                .map(|f| f.frames.len() as u64)
                .sum();
            format!(
                "{conns} to {ep} sent {} and got no answer, and nothing on this host dropped them: something on \
                 the path or the server discards them silently (a refusal would have come back as a RST or an \
                 ICMP error).",
                plural(syns.max(flows.len() as u64), "SYN", "SYNs")
            )
        }
        Kind::Refused | Kind::NoListener if fs.iter().any(|f| !f.drops.is_empty()) => format!(
            "{conns} to {ep} {} tried ({}), and this host dropped the attempts because no socket listens there{}.",
            if flows.len() == 1 { "was" } else { "were" },
            symptom_counts(fs),
            drop.map(|d| format!(" ({d})")).unwrap_or_default()
        ),
        _ => lead.explanation.clone(),
    }
}

/// The plugin's filter for a problem with PktMon drops: its drop events, by
/// service, component and reason, or frames.
fn pktmon_filter(anchor: &Anchor, fs: &[&Finding], stock: &str, frames: &[u64]) -> Option<String> {
    let pktmon_drops: Vec<&super::DropRef> = fs
        .iter()
        .flat_map(|f| f.drops.iter().map(|(d, _)| d))
        .filter(|d| {
            d.tcpip_layer.is_none() && d.reason.is_some() || !d.reason_text.is_empty() && d.tcpip_layer.is_none()
        })
        .collect();
    if pktmon_drops.is_empty() {
        return None;
    }
    Some(match anchor {
        Anchor::Server(..) | Anchor::Peer(_) => format!("pktmon.drop && {stock}"),
        Anchor::Neighbors(_) => "pktmon.drop && pktmon.drop_category == \"address_resolution\"".to_string(),
        Anchor::Component(Some(c), _, _) => {
            let codes: BTreeSet<u32> = pktmon_drops.iter().filter_map(|d| d.reason).collect();
            match codes.len() {
                0 => format!("pktmon.drop && pktmon.component_id == {c}"),
                1 => format!(
                    "pktmon.drop && pktmon.component_id == {c} && pktmon.drop_reason_code == {}",
                    codes.iter().next().expect("one")
                ),
                _ => format!(
                    "pktmon.drop && pktmon.component_id == {c} && pktmon.drop_reason_code in {{{}}}",
                    codes.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
                ),
            }
        }
        _ if !frames.is_empty() => format!("pktmon.drop && {}", super::frame_filter(frames)),
        _ => "pktmon.drop".to_string(),
    })
}

/// A filter for stock Wireshark: the service, peer or flows when the problem
/// has them (on any file), else its frames.
fn stock_filter(anchor: &Anchor, flows: &BTreeSet<FlowKey>, frames: &[u64], targets: &[String]) -> String {
    let ip = |a: &IpAddr| if a.is_ipv4() { "ip.addr" } else { "ipv6.addr" };
    match anchor {
        Anchor::Server(proto, a, port) => match proto {
            6 => format!("{} == {a} && tcp.port == {port}", ip(a)),
            17 => format!("{} == {a} && udp.port == {port}", ip(a)),
            _ => format!("{} == {a}", ip(a)),
        },
        Anchor::Peer(a) => format!("{} == {a}", ip(a)),
        Anchor::Device(p) => format!("tcp.port == {p} && tcp.flags.reset == 1"),
        Anchor::Service(6, p) => {
            format!("tcp.port == {p} && (tcp.flags.reset == 1 || (tcp.flags.syn == 1 && tcp.flags.ack == 0))")
        }
        Anchor::Service(17, p) => format!("udp.port == {p}"),
        Anchor::Neighbors(_) if !targets.is_empty() => targets
            .iter()
            .map(|t| match t.parse::<IpAddr>() {
                Ok(IpAddr::V6(_)) => format!("icmpv6.nd.ns.target_address == {t}"),
                _ => format!("arp.dst.proto_ipv4 == {t}"),
            })
            .collect::<Vec<_>>()
            .join(" || "),
        _ if flows.len() == 1 => flows.iter().next().map(FlowKey::display_filter).unwrap_or_default(),
        _ if !frames.is_empty() => super::frame_filter(frames),
        _ => String::new(),
    }
}

/// The next step for a problem: by kind, protocol, destination and component.
fn advice(kind: Kind, lead: &Finding, anchor: &Anchor, ctx: &Context) -> String {
    let k = lead.flow_key.as_ref();
    let local_server = k.is_some_and(|k| ctx.is_local(&k.server));
    let port = k.map(|k| k.server_port).unwrap_or(0);
    match kind {
        Kind::SilentServer => format!(
            "Nothing answered and nothing here dropped the SYNs, so they were lost on the path or ignored: test from \
             this host with `Test-NetConnection {} -Port {port}`, then check the firewalls and security groups in \
             between (a silent drop, not a refusal) and that the server is up.",
            k.map(|k| k.server.to_string()).unwrap_or_default()
        ),
        Kind::Refused | Kind::NoListener if local_server => match k.map(|k| k.protocol) {
            Some(17) => format!(
                "Nothing on this host listens on UDP port {port}: check the service with `Get-NetUDPEndpoint \
                 -LocalPort {port}` and that the sender uses the right port."
            ),
            _ => format!(
                "Nothing on this host listens on TCP port {port}: start the service or fix the port the client uses \
                 (`Get-NetTCPConnection -State Listen -LocalPort {port}`; `Get-Process -Id <OwningProcess>` names it)."
            ),
        },
        Kind::Refused | Kind::NoListener => format!(
            "On the server: `Get-NetTCPConnection -State Listen -LocalPort {port}` (`ss -ltn` on Linux); if it \
             listens, a RST whose TTL is not the server's comes from a firewall or load balancer."
        ),
        Kind::AddressResolution => {
            let v6 = matches!(anchor, Anchor::Neighbors(true));
            format!(
                "The neighbor does not answer {}: check it is up and on this link (`Get-NetNeighbor -State \
                 Unreachable,Incomplete`, `Get-NetRoute -DestinationPrefix {}` for the next hop), the switch port \
                 and VLAN, and for a name server behind it, the resolver settings (`Get-DnsClientServerAddress`).",
                if v6 { "neighbor solicitations" } else { "ARP" },
                if v6 { "::/0" } else { "0.0.0.0/0" }
            )
        }
        Kind::NoAnswer => {
            let dns = port == 53;
            if dns {
                format!(
                    "The DNS server {} does not answer: check it with `Resolve-DnsName <name> -Server {}`, the \
                     resolver list (`Get-DnsClientServerAddress`), and the path to it (firewalls allowing UDP 53).",
                    k.map(|k| k.server.to_string()).unwrap_or_default(),
                    k.map(|k| k.server.to_string()).unwrap_or_default()
                )
            } else {
                "Nothing came back: check the server runs and the path lets the datagrams and their answers through \
                 (a UDP service gives no refusal when a firewall drops its traffic)."
                    .to_string()
            }
        }
        Kind::ComponentDrops if lead.cause == Cause::Policy => {
            let wfp = lead
                .drops
                .iter()
                .any(|(d, _)| d.component_name.contains("tcpip") || d.reason_text.contains("nspection"));
            if wfp {
                "Windows Filtering Platform dropped them: enable its drop auditing, which works in any UI language \
                 (`auditpol /set /subcategory:\"{0CCE9225-69AE-11D9-BED3-505054503030}\" /failure:enable`), then read \
                 Security events 5152 and 5157 for the filter and its rule (`netsh wfp show filters` names it)."
                    .to_string()
            } else {
                lead.next_step.clone()
            }
        }
        _ => lead.next_step.clone(),
    }
}

/// The input-level limits the verdict states when nothing could be checked.
pub fn nothing_to_check(d: &Diagnosis, packets_with_bytes: u64) -> Option<String> {
    if d.totals.appearances == 0 && d.tcpip.as_ref().is_none_or(|t| t.events == 0) {
        return Some(
            "Nothing to diagnose: the capture holds no packets, only PktMon's component table and counters. It was \
             probably started without `--capture` (or with `--counters-only`): capture again with `pktmon start \
             --capture`, reproduce the problem, then `pktmon stop`."
                .to_string(),
        );
    }
    if d.totals.appearances > 0 && packets_with_bytes == 0 && d.totals.drop_events == 0 {
        return Some(format!(
            "Nothing to diagnose beyond counting: the {} packet events carry no packet bytes (an etl2txt export \
             without `--hex`, or a capture with `--pkt-size 0`), so no flow or protocol symptom can be checked, and \
             no drop was recorded. Diagnose the .etl itself, or export with `pktmon etl2txt PktMon.etl --hex`.",
            d.totals.appearances
        ));
    }
    None
}
