//! The capturing host's network stack as PktMon sees it: its components
//! (with the properties and counters a real rundown carries), the paths a
//! packet takes through them, and the [`Emitter`] that turns packets into
//! appearances (events 160/170) in time order.
//!
//! Paths, as the real captures of the corpus show them (finguard, 26200):
//!
//! * **Rx**: NIC miniport (edge 1) → WFP native MAC filter (lower edge 2,
//!   then upper edge 1) → tcpip.sys `TCPIP`/`TCPIP6` protocol (edge 1). All
//!   Ethernet frames. 4 appearances at 3 components.
//! * **Tx**: `TCPIP` (edge 1) → QoS packet scheduler (upper 1, lower 2) → WFP
//!   (upper 1, lower 2) → NIC (edge 1). 6 appearances at 4 components (the
//!   QoS scheduler logs sends only, as in the corpus).
//! * Drops inside tcpip.sys are logged by the `TCP/IPv4 - L3/L4` (type 11)
//!   component as raw IP (PacketType IP): on Rx after the path above, on Tx
//!   instead of any hop (the packet never reached the framing layer). Drops at
//!   the NIC are logged by the miniport: on Rx as the first and only event, on
//!   Tx after the filters.
//!
//! Identity: on 26100+ builds every event gets a fresh PktGroupId from its
//! CPU's counter (`cpu << 48 | counter`) and Appearance 0, and a packet's hops
//! are consecutive ids on one CPU; on builds that share ids (20348) all events
//! of a packet carry one PktGroupId and PktNumber 1, with Appearance 1, 2, …
//! (drops: Appearance 0). Per-hop delays are a few µs.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::{Ipv4Addr, Ipv6Addr};

use super::rng::Rng;
use crate::model::*;
use crate::packets::FIRST_PER_EVENT_ID_BUILD;

/// Component ids of the generated host.
pub mod comp {
    pub const WAN_IP: u16 = 2;
    pub const WAN_IPV6: u16 = 3;
    pub const NIC: u16 = 13;
    pub const WFP: u16 = 26;
    pub const PACER: u16 = 27;
    pub const TCPIP6: u16 = 73;
    pub const TCPIP: u16 = 74;
    pub const LOOPBACK_V4: u16 = 98;
    pub const LOOPBACK_V6: u16 = 99;
    pub const L3L4_V4: u16 = 101;
    pub const L3L4_V6: u16 = 102;
}

/// Interface index of the NIC.
pub const NIC_IF_INDEX: u32 = 9;
/// The NIC's description (PktMon's component description, `InterfaceDescription`) and its name (`Name`).
pub const NIC_DESCRIPTION: &str = "Intel(R) Ethernet Connection (7) I219-LM";
pub const NIC_ALIAS: &str = "Ethernet";

/// PKTMON_DIRECTION_TAG values.
pub const DIR_RX: u16 = 3;
pub const DIR_TX: u16 = 4;
/// PKTMON_PACKET_TYPE values.
const TYPE_ETHERNET: u16 = 1;
const TYPE_IP: u16 = 3;

/// CPUs of the generated host (NumberOfProcessors).
pub const CPUS: usize = 4;

/// Direction of a packet at the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Rx,
    Tx,
}

/// What happens to a packet inside the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Passes every component of its path.
    Delivered,
    /// Dropped inside tcpip.sys, logged by the L3/L4 component.
    DropL3 { reason: u32, location: u32 },
    /// Dropped at the NIC miniport.
    DropNic { reason: u32, location: u32 },
}

/// One packet for the emitter: a whole Ethernet frame and what becomes of it.
#[derive(Debug, Clone)]
pub struct Job {
    /// When it reaches its first component (the emitter may start it a little
    /// later if the CPU is still busy with the previous packet).
    pub time: FileTime,
    pub frame: Vec<u8>,
    pub dir: Dir,
    /// IPv6 (TCPIP6 and the IPv6 L3/L4 component) or IPv4/ARP.
    pub v6: bool,
    pub fate: Fate,
    pub cpu: u16,
    pub pid: u32,
    pub tid: u32,
    /// Where to record the frame numbers of its appearances (see [`Tagged`]).
    pub tag: Option<u32>,
}

/// The frame numbers (1-based, as in the converted pcapng) of a tagged packet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tagged {
    /// Its first appearance (what `!pktmon.duplicate` shows).
    pub first: Option<u64>,
    /// Its drop events.
    pub drops: Vec<u64>,
    /// Every appearance.
    pub all: Vec<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Hop {
    component: u16,
    edge: u16,
    ethernet: bool,
    /// Delay after the previous hop, in 100-ns ticks (inclusive range).
    delay: (i64, i64),
}

const fn hop(component: u16, edge: u16, delay: (i64, i64)) -> Hop {
    Hop {
        component,
        edge,
        ethernet: true,
        delay,
    }
}

fn rx_path(v6: bool) -> [Hop; 4] {
    let proto = if v6 { comp::TCPIP6 } else { comp::TCPIP };
    [
        hop(comp::NIC, 1, (0, 0)),
        hop(comp::WFP, 2, (12, 40)),
        hop(comp::WFP, 1, (3, 12)),
        hop(proto, 1, (8, 30)),
    ]
}

fn tx_path(v6: bool) -> [Hop; 6] {
    let proto = if v6 { comp::TCPIP6 } else { comp::TCPIP };
    [
        hop(proto, 1, (0, 0)),
        hop(comp::PACER, 1, (10, 25)),
        hop(comp::PACER, 2, (3, 10)),
        hop(comp::WFP, 1, (5, 15)),
        hop(comp::WFP, 2, (3, 10)),
        hop(comp::NIC, 1, (10, 30)),
    ]
}

/// How many appearances a packet of this kind has.
pub fn appearances_of(dir: Dir, fate: Fate) -> u64 {
    match (dir, fate) {
        (Dir::Rx, Fate::Delivered) => 4,
        (Dir::Rx, Fate::DropL3 { .. }) => 5,
        (Dir::Rx, Fate::DropNic { .. }) => 1,
        (Dir::Tx, Fate::Delivered) => 6,
        (Dir::Tx, Fate::DropL3 { .. }) => 1,
        (Dir::Tx, Fate::DropNic { .. }) => 6,
    }
}

/// The host: addresses and components.
#[derive(Debug, Clone)]
pub struct Host {
    pub mac: [u8; 6],
    pub ipv4: Ipv4Addr,
    pub ipv6: Ipv6Addr,
    pub ipv6_link_local: Ipv6Addr,
    pub if_guid: String,
}

impl Host {
    /// The component table of the host as PktMon's rundown gives it, ascending ids.
    pub fn components(&self) -> Vec<Component> {
        use PropertyValue as V;
        let p = |id: u16, value: PropertyValue| Property { id, value };
        let c = |id: u16, t: u16, name: &str, desc: &str, properties: Vec<Property>| Component {
            id,
            component_type: t,
            name: name.to_string(),
            description: desc.to_string(),
            properties,
        };
        vec![
            c(
                comp::WAN_IP,
                2,
                "ndiswan.sys",
                "WAN Miniport (IP)",
                vec![p(5, V::NdisMedium(0)), p(1, V::U32(4)), p(9, V::U32(257))],
            ),
            c(
                comp::WAN_IPV6,
                2,
                "ndiswan.sys",
                "WAN Miniport (IPv6)",
                vec![p(5, V::NdisMedium(0)), p(1, V::U32(6)), p(9, V::U32(257))],
            ),
            c(
                comp::NIC,
                2,
                "e1dexpress.sys",
                NIC_DESCRIPTION,
                vec![
                    p(6, V::Bytes(self.mac.to_vec())),
                    p(5, V::NdisMedium(0)),
                    p(4, V::Guid(self.if_guid.clone())),
                    p(1, V::U32(NIC_IF_INDEX)),
                    p(9, V::U32(257)),
                ],
            ),
            c(
                comp::WFP,
                3,
                "wfplwfs.sys",
                "WFP Native MAC Layer LightWeight Filter",
                vec![
                    p(3, V::U32(NIC_IF_INDEX)),
                    p(2, V::U32(NIC_IF_INDEX)),
                    p(1, V::U32(22)),
                    p(9, V::U32(257)),
                ],
            ),
            c(
                comp::PACER,
                3,
                "pacer.sys",
                "QoS Packet Scheduler",
                vec![
                    p(3, V::U32(22)),
                    p(2, V::U32(NIC_IF_INDEX)),
                    p(1, V::U32(23)),
                    p(9, V::U32(134_744_065)),
                ],
            ),
            c(
                comp::TCPIP6,
                4,
                "tcpip.sys",
                "TCPIP6",
                vec![p(7, V::EtherType(0x86DD)), p(2, V::U32(NIC_IF_INDEX)), p(9, V::U32(1))],
            ),
            c(
                comp::TCPIP,
                4,
                "tcpip.sys",
                "TCPIP",
                vec![
                    p(7, V::EtherType(0x0806)),
                    p(7, V::EtherType(0x0800)),
                    p(2, V::U32(NIC_IF_INDEX)),
                    p(9, V::U32(1)),
                ],
            ),
            c(
                comp::LOOPBACK_V4,
                11,
                "tcpip.sys",
                "TCP/IPv4 - L3/L4",
                vec![p(13, V::Ipv4(Ipv4Addr::LOCALHOST)), p(14, V::U32(1)), p(17, V::U32(1))],
            ),
            c(
                comp::LOOPBACK_V6,
                11,
                "tcpip.sys",
                "TCP/IPv6 - L3/L4",
                vec![p(13, V::Ipv6(Ipv6Addr::LOCALHOST)), p(14, V::U32(1)), p(17, V::U32(1))],
            ),
            c(
                comp::L3L4_V4,
                11,
                "tcpip.sys",
                "TCP/IPv4 - L3/L4",
                vec![p(13, V::Ipv4(self.ipv4)), p(14, V::U32(NIC_IF_INDEX)), p(17, V::U32(1))],
            ),
            c(
                comp::L3L4_V6,
                11,
                "tcpip.sys",
                "TCP/IPv6 - L3/L4",
                vec![
                    p(13, V::Ipv6(self.ipv6)),
                    p(13, V::Ipv6(self.ipv6_link_local)),
                    p(14, V::U32(NIC_IF_INDEX)),
                    p(17, V::U32(1)),
                ],
            ),
        ]
    }
}

/// The flow-counter edges of a component type: (name, id).
fn edges_of(component_type: u16) -> &'static [(&'static str, u16)] {
    match component_type {
        2 => &[("Upper", 1)],
        3 => &[("Lower", 2), ("Upper", 1)],
        _ => &[("Lower", 1)],
    }
}

/// An appearance waiting for its turn in time order (kept in a slab; the
/// heap orders small keys: time, CPU, creation order, slot).
struct Pending {
    tag: Option<u32>,
    appearance: Appearance,
}

type Key = (FileTime, u16, u64, u32);

/// Turns [`Job`]s (given in order of their `time`) into appearances given to
/// `out` in time order — ties by CPU, then creation order, which is
/// the order the ETL reader merges per-CPU buffers in — and keeps PktMon's
/// counters for the rundown.
pub struct Emitter<'s> {
    out: &'s mut dyn FnMut(Record),
    shared_ids: bool,
    pkt_size: usize,
    rng: Rng,
    cpu_free: [FileTime; CPUS],
    counters: [u64; CPUS],
    heap: BinaryHeap<Reverse<Key>>,
    slab: Vec<Option<Pending>>,
    free: Vec<u32>,
    seq: u64,
    next_index: u64,
    last_job_time: FileTime,
    pub last_time: FileTime,
    pub tagged: Vec<Tagged>,
    flow_counts: BTreeMap<(u16, u16), [u64; 4]>,
    drop_counts: BTreeMap<u16, [u64; 4]>,
    pub packets: u64,
}

impl<'s> Emitter<'s> {
    pub fn new(out: &'s mut dyn FnMut(Record), os_build: u32, pkt_size: usize, rng: Rng) -> Emitter<'s> {
        let mut counters = [0u64; CPUS];
        let mut r = rng.fork(1);
        for c in counters.iter_mut() {
            *c = 0x100 + r.below(0x40_0000);
        }
        Emitter {
            out,
            shared_ids: os_build < FIRST_PER_EVENT_ID_BUILD,
            pkt_size,
            rng,
            cpu_free: [FileTime::MIN; CPUS],
            counters,
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            seq: 0,
            next_index: 0,
            last_job_time: FileTime::MIN,
            last_time: 0,
            tagged: Vec::new(),
            flow_counts: BTreeMap::new(),
            drop_counts: BTreeMap::new(),
            packets: 0,
        }
    }

    /// Appearances pushed so far.
    pub fn emitted(&self) -> u64 {
        self.next_index
    }

    fn next_group_id(&mut self, cpu: u16) -> u64 {
        let c = &mut self.counters[cpu as usize];
        let g = (u64::from(cpu) << 48) | *c;
        *c += 1;
        g
    }

    /// Lays out one packet's appearances. Jobs must come in order of `time`.
    pub fn push(&mut self, job: &Job) {
        assert!(job.time >= self.last_job_time, "jobs must be given in time order");
        self.last_job_time = job.time;
        self.flush_before(job.time);
        self.packets += 1;
        let cpu = job.cpu % CPUS as u16;
        let mut t = job.time.max(self.cpu_free[cpu as usize]);
        let mut hops: [Hop; 7] = [hop(0, 0, (0, 0)); 7];
        let mut n = 0;
        let mut drop: Option<(u16, bool, u32, u32)> = None; // component, ethernet, reason, location
        match (job.dir, job.fate) {
            (Dir::Rx, f) => {
                let path = rx_path(job.v6);
                match f {
                    Fate::DropNic { reason, location } => drop = Some((comp::NIC, true, reason, location)),
                    _ => {
                        hops[..4].copy_from_slice(&path);
                        n = 4;
                        if let Fate::DropL3 { reason, location } = f {
                            let c = if job.v6 { comp::L3L4_V6 } else { comp::L3L4_V4 };
                            drop = Some((c, false, reason, location));
                        }
                    }
                }
            }
            (Dir::Tx, f) => {
                let path = tx_path(job.v6);
                match f {
                    Fate::DropL3 { reason, location } => {
                        let c = if job.v6 { comp::L3L4_V6 } else { comp::L3L4_V4 };
                        drop = Some((c, false, reason, location));
                    }
                    Fate::DropNic { reason, location } => {
                        hops[..5].copy_from_slice(&path[..5]);
                        n = 5;
                        drop = Some((comp::NIC, true, reason, location));
                    }
                    Fate::Delivered => {
                        hops[..6].copy_from_slice(&path);
                        n = 6;
                    }
                }
            }
        }
        let direction = if job.dir == Dir::Rx { DIR_RX } else { DIR_TX };
        let shared_group = self.shared_ids.then(|| self.next_group_id(cpu));
        let total = n + usize::from(drop.is_some());
        #[allow(clippy::needless_range_loop)] // k also numbers the drop event after the hops
        for k in 0..total {
            let (component, edge, ethernet, delay, drop_info) = if k < n {
                let h = hops[k];
                (h.component, h.edge, h.ethernet, h.delay, None)
            } else {
                let (c, eth, reason, location) = drop.expect("a drop is the last event");
                let delay = if k == 0 { (0, 0) } else { (5, 20) };
                (
                    c,
                    0,
                    eth,
                    delay,
                    Some(DropInfo {
                        reason: Some(reason),
                        reason_text: None,
                        location: Some(location),
                    }),
                )
            };
            if k > 0 {
                t += self.rng.range(delay.0.max(1), delay.1.max(1));
            }
            let (group_id, appearance) = match shared_group {
                Some(g) => (g, if drop_info.is_some() { 0 } else { (k + 1) as u16 }),
                None => (self.next_group_id(cpu), 0),
            };
            let bytes: &[u8] = if ethernet {
                &job.frame
            } else {
                &job.frame[super::wire::ETH_LEN..]
            };
            let logged = if self.pkt_size == 0 {
                bytes.len()
            } else {
                bytes.len().min(self.pkt_size)
            };
            let original = bytes.len() as u32;
            let is_drop = drop_info.is_some();
            let a = Appearance {
                index: 0,
                time: t,
                cpu: Some(cpu),
                process_id: Some(job.pid),
                thread_id: Some(job.tid),
                group_id: Some(group_id),
                pkt_number: Some(1),
                appearance: Some(appearance),
                direction: Some(direction),
                packet_type: Some(if ethernet { TYPE_ETHERNET } else { TYPE_IP }),
                component_id: Some(component),
                edge_id: Some(edge),
                filter_id: Some(0),
                drop: drop_info,
                original_size: original,
                logged_size: logged as u32,
                link_type: if ethernet { LinkType::Ethernet } else { LinkType::RawIp },
                payload: bytes[..logged].to_vec(),
            };
            let slot = if job.dir == Dir::Rx { 0 } else { 2 };
            if is_drop {
                let d = self.drop_counts.entry(component).or_default();
                d[slot] += 1;
                d[slot + 1] += u64::from(original);
            } else {
                let f = self.flow_counts.entry((component, edge)).or_default();
                f[slot] += 1;
                f[slot + 1] += u64::from(original);
            }
            self.seq += 1;
            let pending = Pending {
                tag: job.tag,
                appearance: a,
            };
            let slot = match self.free.pop() {
                Some(i) => {
                    self.slab[i as usize] = Some(pending);
                    i
                }
                None => {
                    self.slab.push(Some(pending));
                    (self.slab.len() - 1) as u32
                }
            };
            self.heap.push(Reverse((t, cpu, self.seq, slot)));
        }
        self.cpu_free[cpu as usize] = t + 1;
    }

    fn flush_before(&mut self, time: FileTime) {
        while self.heap.peek().is_some_and(|k| k.0 .0 < time) {
            let Reverse(k) = self.heap.pop().expect("peeked");
            self.deliver(k.3);
        }
    }

    fn deliver(&mut self, slot: u32) {
        let p = self.slab[slot as usize].take().expect("a pending appearance");
        self.free.push(slot);
        let mut a = p.appearance;
        a.index = self.next_index;
        self.next_index += 1;
        self.last_time = self.last_time.max(a.time);
        if let Some(tag) = p.tag {
            let frame = a.index + 1;
            let t = &mut self.tagged[tag as usize];
            t.first.get_or_insert(frame);
            if a.is_drop() {
                t.drops.push(frame);
            }
            t.all.push(frame);
        }
        (self.out)(Record::Packet(a));
    }

    /// Pushes every waiting appearance, then PktMon's rundown: for each
    /// component (highest id first, as pktmon logs them) its event 20, its
    /// properties, its drop counters and its flow counters per edge.
    pub fn finish(mut self, host: &Host) -> (Vec<Tagged>, u64, u64, FileTime) {
        while let Some(Reverse(k)) = self.heap.pop() {
            self.deliver(k.3);
        }
        let mut records = Vec::new();
        for c in host.components().into_iter().rev() {
            let id = c.id;
            let t = c.component_type;
            let props = c.properties.clone();
            records.push(Record::Component(Component {
                properties: Vec::new(),
                ..c
            }));
            for p in props {
                records.push(Record::Property {
                    component_id: id,
                    property: p,
                });
            }
            let d = self.drop_counts.get(&id).copied().unwrap_or_default();
            records.push(Record::DropCounters(DropCounters {
                component_id: id,
                direction_in: DIR_RX,
                packets_in: d[0],
                bytes_in: d[1],
                direction_out: DIR_TX,
                packets_out: d[2],
                bytes_out: d[3],
            }));
            for &(name, edge) in edges_of(t) {
                let f = self.flow_counts.get(&(id, edge)).copied().unwrap_or_default();
                records.push(Record::FlowCounters(FlowCounters {
                    component_id: id,
                    edge_name: name.to_string(),
                    edge_id: edge,
                    direction_in: DIR_RX,
                    packets_in: f[0],
                    bytes_in: f[1],
                    direction_out: DIR_TX,
                    packets_out: f[2],
                    bytes_out: f[3],
                }));
            }
        }
        for r in records {
            (self.out)(r);
        }
        (self.tagged, self.next_index, self.packets, self.last_time)
    }
}
