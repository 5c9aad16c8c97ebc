//! Appearances → packets with their paths.
//!
//! PktMon logs a packet once per component and edge it crosses. How to tell
//! which appearances are the same packet depends on the Windows build:
//!
//! * builds that share ids (19042, 20348): all hops carry the same
//!   (PktGroupId, PktNumber), ordered by Appearance;
//! * Windows 11 24H2 and later (26100, 26200): every event gets a fresh
//!   PktGroupId and Appearance 0. The top 16 bits of PktGroupId are the CPU
//!   and the low 48 a per-CPU counter that goes up by one per hop, so a hop
//!   follows the event whose id is one less, when the payload matches
//!   (allowing for the link header changing along the path: 802.11 below
//!   nwifi.sys, Ethernet above, raw IP at TCP/IP);
//! * no ids at all (plain pcapng): identical network-layer bytes within a
//!   short window.
//!
//! The [`Grouper`] works online, one appearance at a time in time order, so
//! the Wireshark plugin and the streaming analyzer group exactly alike. It
//! forgets what no later appearance can join (older than its window), so its
//! memory follows the traffic of the last few seconds, not the file size.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

use crate::model::{Appearance, FileTime, LinkType};

/// How far apart (100-ns ticks) two hops of one packet may be.
const CHAIN_WINDOW: FileTime = 100 * 10_000; // 100 ms
/// Content matching without ids: identical bytes within this window (hops
/// are microseconds apart; a retransmission takes far longer).
const CONTENT_WINDOW: FileTime = 10_000; // 1 ms
/// Shared-id grouping: a (PktGroupId, PktNumber) seen again after this long is a new packet.
const SHARED_WINDOW: FileTime = 10 * 10_000_000; // 10 s
/// How far behind the latest time an appearance may arrive: state is
/// forgotten only this long after its window closed, so forgetting never
/// changes a grouping. Every source is in time order (the ETL reader merges
/// the per-CPU buffers, and pktmon, etl2pcapng and the converter write what
/// ETW delivered sorted), so this only absorbs clock jitter.
const FORGET_SLACK: FileTime = 100 * 10_000; // 100 ms

/// Forgets the keys put in `order` before `cutoff` whose packet has not been
/// seen since (a key seen again is queued again, so it stays).
fn forget_before<K: Copy + Eq + std::hash::Hash>(
    order: &mut VecDeque<(FileTime, K)>,
    index: &mut FxHashMap<K, usize>,
    cutoff: FileTime,
    last_time: impl Fn(usize) -> Option<FileTime>,
) {
    while let Some(&(t, key)) = order.front() {
        if t >= cutoff {
            break;
        }
        order.pop_front();
        if index
            .get(&key)
            .is_some_and(|&p| last_time(p).is_none_or(|last| last < cutoff))
        {
            index.remove(&key);
        }
    }
}
/// Forget in batches: a sweep per this many appearances.
const SWEEP_EVERY: u32 = 4096;

/// First build that gives every event its own PktGroupId.
pub const FIRST_PER_EVENT_ID_BUILD: u32 = 26100;

/// Which rule linked an appearance to its packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Linkage {
    /// First appearance of its packet.
    First,
    /// Same PktGroupId and PktNumber.
    SharedId,
    /// Consecutive per-CPU counter with matching payload (24H2+).
    Chained,
    /// Same network-layer bytes within a short window (no ids).
    Content,
}

#[derive(Debug, Clone)]
struct OpenPacket {
    last_time: FileTime,
    ended: bool,
    /// (PktGroupId, member) of its latest hop: a packet continues only from there.
    tail: Option<(u64, u64)>,
}

/// How many PktGroupIds back a hop's predecessor may be. Usually 1; when a
/// component splits an NBL (nwifi.sys gives each packet of a Tx NBL its own
/// id), packet k of the NBL continues from the group k ids back.
const CHAIN_LOOKBACK: u64 = 32;

/// How many network-layer bytes the payload fingerprint covers: enough for
/// the IP header (40 bytes for IPv6, which has no id) and the TCP header up to
/// its ACK number, flags and window.
const FINGERPRINT_BYTES: usize = 64;

/// What grouping needs to know of one appearance (cheap to keep for every
/// frame of a large capture, unlike the payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HopKey {
    pub time: FileTime,
    pub group_id: Option<u64>,
    pub pkt_number: Option<u16>,
    pub appearance: Option<u16>,
    pub is_drop: bool,
    /// Hash of the first network-layer bytes (up to [`FINGERPRINT_BYTES`]).
    pub fingerprint: u64,
    /// How many bytes the fingerprint covers.
    pub fingerprint_len: u16,
}

impl HopKey {
    /// Which packet of its PktGroupId this is: PktNumber when the source has
    /// it; otherwise (etl2pcapng keeps only the group id) the payload
    /// fingerprint tells the packets of one NET_BUFFER_LIST apart.
    fn member(&self) -> u64 {
        match self.pkt_number {
            Some(n) => n as u64,
            None => (1 << 63) | (self.fingerprint >> 1),
        }
    }
}

impl HopKey {
    pub fn of(a: &Appearance) -> HopKey {
        Self::with_payload(a, &a.payload)
    }

    /// [`HopKey::of`] for an appearance whose bytes are held elsewhere
    /// (see `pktmon::frame::metadata_from_frame`).
    pub fn with_payload(a: &Appearance, payload: &[u8]) -> HopKey {
        let mut k = Self::from_ids(a.time, a.group_id, a.pkt_number, a.appearance, a.link_type, payload);
        k.is_drop = a.is_drop();
        k
    }

    /// The key of a frame known only by its ids (see
    /// `pktmon::frame::packet_ids_from_frame`); not a drop.
    pub fn from_ids(
        time: FileTime,
        group_id: Option<u64>,
        pkt_number: Option<u16>,
        appearance: Option<u16>,
        link_type: LinkType,
        payload: &[u8],
    ) -> HopKey {
        let net = &payload[network_offset(link_type, payload)..];
        let n = net.len().min(FINGERPRINT_BYTES);
        // tcpip.sys logs the packet it drops with a rewritten IP header (TTL 1
        // and IP id 0 seen on 26100), and a forwarded packet has its TTL
        // lowered: the fields that change along the path are left out.
        let mut bytes = [0u8; FINGERPRINT_BYTES];
        bytes[..n].copy_from_slice(&net[..n]);
        match bytes[0] >> 4 {
            4 if n >= 20 => {
                bytes[4..6].fill(0); // identification
                bytes[8] = 0; // TTL
                bytes[10..12].fill(0); // header checksum
            }
            6 if n >= 40 => bytes[7] = 0, // hop limit
            _ => {}
        }
        let mut h = FxHasher::default();
        bytes[..n].hash(&mut h);
        HopKey {
            time,
            group_id,
            pkt_number,
            appearance,
            is_drop: false,
            fingerprint: h.finish(),
            fingerprint_len: n as u16,
        }
    }

    /// Whether two appearances carry the same network-layer packet as far as
    /// both were logged (PktMon truncates frames to --pkt-size, so the link
    /// header changing along the path changes how much of the packet is seen).
    fn same_bytes(&self, other: &HopKey) -> bool {
        self.fingerprint == other.fingerprint && self.fingerprint_len == other.fingerprint_len
    }
}

/// The events of one PktGroupId: (member, packet, key). Nearly always one,
/// so it is kept inline rather than in a vector of its own.
#[derive(Debug, Clone)]
enum GroupEvents {
    One((u64, usize, HopKey)),
    Many(Vec<(u64, usize, HopKey)>),
}

impl GroupEvents {
    fn as_slice(&self) -> &[(u64, usize, HopKey)] {
        match self {
            GroupEvents::One(e) => std::slice::from_ref(e),
            GroupEvents::Many(v) => v,
        }
    }

    fn push(&mut self, e: (u64, usize, HopKey)) {
        match self {
            GroupEvents::One(first) => *self = GroupEvents::Many(vec![*first, e]),
            GroupEvents::Many(v) => v.push(e),
        }
    }
}

/// The latest PktGroupIds of one CPU (24H2+), by counter modulo the ring
/// size: a chain looks back at most [`CHAIN_LOOKBACK`] ids, so twice that
/// many slots hold every id a lookup can want, without hashing.
#[derive(Debug, Clone)]
struct CpuRing {
    slots: Vec<Option<(u64, GroupEvents)>>,
}

const RING_SLOTS: u64 = 2 * CHAIN_LOOKBACK;

impl CpuRing {
    fn new() -> CpuRing {
        CpuRing {
            slots: vec![None; RING_SLOTS as usize],
        }
    }

    fn get(&self, g: u64) -> Option<&GroupEvents> {
        match &self.slots[(g % RING_SLOTS) as usize] {
            Some((id, events)) if *id == g => Some(events),
            _ => None,
        }
    }

    fn insert(&mut self, g: u64, event: (u64, usize, HopKey)) {
        let slot = &mut self.slots[(g % RING_SLOTS) as usize];
        match slot {
            Some((id, events)) if *id == g => events.push(event),
            // A later id already took the slot: this one arrived too late
            // for any chain to need it.
            Some((id, _)) if *id > g => {}
            _ => *slot = Some((g, GroupEvents::One(event))),
        }
    }
}

/// Assigns each appearance, in time order, the packet it belongs to.
#[derive(Debug, Clone, Default)]
pub struct Grouper {
    os_build: Option<u32>,
    /// Packets that may still take hops; `packets[0]` has id `first_packet`
    /// (ids keep counting after older packets are forgotten).
    packets: VecDeque<OpenPacket>,
    first_packet: usize,
    by_shared_id: FxHashMap<(u64, u64), usize>,
    /// CPU (top 16 bits of PktGroupId) → its latest ids and their events.
    by_cpu: FxHashMap<u16, CpuRing>,
    by_content: FxHashMap<u64, usize>,
    /// Keys of the three maps in insertion order with their time, to forget them.
    shared_order: VecDeque<(FileTime, (u64, u64))>,
    content_order: VecDeque<(FileTime, u64)>,
    /// Latest time seen.
    now: FileTime,
    since_sweep: u32,
    /// Group appearances without ids by their bytes (see [`Grouper::for_capture`]).
    content_grouping: bool,
    saw_nonzero_appearance: bool,
}

/// Offset of the payload of an 802.11 data frame with LLC/SNAP, if it is one.
fn dot11_snap_offset(b: &[u8]) -> Option<usize> {
    let (&fc0, &fc1) = (b.first()?, b.get(1)?);
    if fc0 & 0x0C != 0x08 {
        return None; // not a data frame
    }
    let mut h = 24;
    if fc1 & 0x03 == 0x03 {
        h += 6;
    }
    if fc0 & 0x80 != 0 {
        h += 2;
        if fc1 & 0x80 != 0 {
            h += 4;
        }
    }
    (b.get(h..h + 3) == Some(&[0xAA, 0xAA, 0x03][..])).then_some(h + 8)
}

/// Offset of the network-layer header inside a payload of this link type.
pub fn network_offset(link: LinkType, b: &[u8]) -> usize {
    match link {
        LinkType::Ethernet => {
            // `pktmon etl2pcap` writes Wi-Fi frames as Ethernet: an 802.11 data
            // frame with LLC/SNAP where it belongs is one (a real Ethernet frame
            // would need 0xAAAA03 across its IP checksum and source address).
            if let Some(o) = dot11_snap_offset(b) {
                return o.min(b.len());
            }
            let mut off = 14;
            while let Some(t) = b.get(off - 2..off).map(|s| u16::from_be_bytes([s[0], s[1]])) {
                if t == 0x8100 || t == 0x88A8 {
                    off += 4;
                } else {
                    break;
                }
            }
            off.min(b.len())
        }
        LinkType::Ieee80211 => dot11_snap_offset(b).unwrap_or(0).min(b.len()),
        LinkType::RawIp | LinkType::Other => 0,
    }
}

impl Grouper {
    /// A grouper for appearances that carry PktMon ids (ETL, converter,
    /// etl2pcapng, comment lines). Frames without ids stay one packet each.
    pub fn new(os_build: Option<u32>) -> Grouper {
        Grouper {
            os_build,
            ..Default::default()
        }
    }

    /// The grouper for a capture: as [`Grouper::new`], and for `pktmon
    /// etl2pcap` output (shb_userappl "Packet Monitor"), which has every
    /// appearance but no ids, identical network-layer bytes within 1 ms are
    /// one packet. Other files without ids (tcpdump and the like) saw each
    /// packet once, and identical bytes there are a real repeat (an IPv6
    /// duplicate ACK has no IP id to tell it apart).
    pub fn for_capture(info: &crate::model::CaptureInfo) -> Grouper {
        Grouper {
            os_build: info.os_build,
            content_grouping: info
                .application
                .as_deref()
                .is_some_and(|a| a.starts_with("Packet Monitor")),
            ..Default::default()
        }
    }

    /// Whether hops are chained by consecutive ids. Without the build number
    /// (pcapng), any appearance number above 0 shows a build that shares ids;
    /// otherwise chaining is tried, and the payload match keeps it from
    /// linking different packets that merely follow each other on a CPU.
    fn chain_mode(&self) -> bool {
        match self.os_build {
            Some(b) => b >= FIRST_PER_EVENT_ID_BUILD,
            None => !self.saw_nonzero_appearance,
        }
    }

    fn new_packet(&mut self, time: FileTime) -> usize {
        self.packets.push_back(OpenPacket {
            last_time: time,
            ended: false,
            tail: None,
        });
        self.first_packet + self.packets.len() - 1
    }

    /// A packet still remembered.
    fn open(&self, p: usize) -> Option<&OpenPacket> {
        self.packets.get(p.checked_sub(self.first_packet)?)
    }

    /// Forgets packets and keys whose window closed (plus [`FORGET_SLACK`])
    /// before the latest time: no later appearance could join them.
    fn sweep(&mut self) {
        let now = self.now;
        // With per-event ids (24H2+) packets are joined by chains only: they
        // need keeping no longer than a chain's window.
        let window = if self.chain_mode() { CHAIN_WINDOW } else { SHARED_WINDOW };
        let shared_cutoff = now.saturating_sub(window + FORGET_SLACK);
        let content_cutoff = now.saturating_sub(CONTENT_WINDOW + FORGET_SLACK);
        let (packets, first) = (&self.packets, self.first_packet);
        let last_time = |p: usize| Some(packets.get(p.checked_sub(first)?)?.last_time);
        forget_before(&mut self.shared_order, &mut self.by_shared_id, shared_cutoff, last_time);
        forget_before(&mut self.content_order, &mut self.by_content, content_cutoff, last_time);
        // Shared ids have the longest window: a packet older than it is done.
        // (`packet_count` and the ids handed out are unaffected.)
        while self.packets.front().is_some_and(|o| o.last_time < shared_cutoff) {
            self.packets.pop_front();
            self.first_packet += 1;
        }
    }

    /// The packet whose latest hop this one continues (24H2+): the nearest
    /// earlier id on the same CPU whose event carries the same bytes and is
    /// still the tail of its packet; the same member is preferred.
    fn chained(&self, g: u64, member: u64, k: &HopKey) -> Option<usize> {
        let counter = g & 0xFFFF_FFFF_FFFF;
        for d in 1..=CHAIN_LOOKBACK.min(counter) {
            let Some(events) = self.by_cpu.get(&((g >> 48) as u16)).and_then(|r| r.get(g - d)) else {
                continue;
            };
            let mut best: Option<usize> = None;
            for &(m, p, prev) in events.as_slice() {
                let fits = k.time.saturating_sub(prev.time) <= CHAIN_WINDOW
                    && self.open(p).is_some_and(|o| o.tail == Some((g - d, m)))
                    && self.joinable(p, k, CHAIN_WINDOW)
                    && prev.same_bytes(k);
                if fits && (best.is_none() || m == member) {
                    best = Some(p);
                }
            }
            if best.is_some() {
                return best;
            }
        }
        None
    }

    /// The packet of the latest event with this id and member, while the
    /// id is among its CPU's latest.
    fn ring_event(&self, g: u64, member: u64) -> Option<usize> {
        let events = self.by_cpu.get(&((g >> 48) as u16))?.get(g)?;
        events.as_slice().iter().rev().find(|e| e.0 == member).map(|e| e.1)
    }

    /// Whether appearance `k` may join packet `p`: a dropped packet takes no
    /// further hops, but may be dropped again by another consumer (loopback
    /// traffic delivered to TCP and raw sockets is dropped at each).
    fn joinable(&self, p: usize, k: &HopKey, window: FileTime) -> bool {
        self.open(p).is_some_and(|open| {
            (!open.ended || k.is_drop) && k.time.saturating_sub(open.last_time).saturating_abs() <= window
        })
    }

    /// Assigns the next appearance (given in time order) to a packet.
    pub fn assign(&mut self, k: &HopKey) -> (usize, Linkage) {
        if k.appearance.is_some_and(|a| a > 0) {
            self.saw_nonzero_appearance = true;
        }
        self.now = self.now.max(k.time);
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY {
            self.since_sweep = 0;
            self.sweep();
        }
        let (packet, linkage) = match k.group_id {
            Some(g) => {
                let key = (g, k.member());
                // With per-event ids a repeat of an id can only be recent: the
                // CPU's ring answers without the map of every id.
                let earlier = if self.chain_mode() {
                    self.ring_event(g, key.1)
                } else {
                    self.by_shared_id.get(&key).copied()
                };
                let shared = earlier.filter(|&p| self.joinable(p, k, SHARED_WINDOW));
                let chained = || self.chain_mode().then(|| self.chained(g, key.1, k)).flatten();
                let found = match shared {
                    Some(p) => Some((p, Linkage::SharedId)),
                    None => chained().map(|p| (p, Linkage::Chained)),
                };
                // 24H2+: the PktGroupId can change part-way along the path (another
                // CPU's counter); a hop that continues no chain joins the packet whose
                // bytes it carries, seen a moment before.
                let found = found.or_else(|| {
                    self.chain_mode()
                        .then(|| self.by_content.get(&k.fingerprint).copied())
                        .flatten()
                        .filter(|&p| self.joinable(p, k, CONTENT_WINDOW))
                        .map(|p| (p, Linkage::Content))
                });
                let (p, l) = found.unwrap_or_else(|| (self.new_packet(k.time), Linkage::First));
                if !self.chain_mode() {
                    self.by_shared_id.insert(key, p);
                    self.shared_order.push_back((k.time, key));
                } else {
                    let event = (key.1, p, *k);
                    self.by_cpu
                        .entry((g >> 48) as u16)
                        .or_insert_with(CpuRing::new)
                        .insert(g, event);
                    if let Some(open) = self.packets.get_mut(p - self.first_packet) {
                        open.tail = Some(key);
                    }
                    self.by_content.insert(k.fingerprint, p);
                    self.content_order.push_back((k.time, k.fingerprint));
                }
                (p, l)
            }
            None if !self.content_grouping => (self.new_packet(k.time), Linkage::First),
            None => {
                let found = self
                    .by_content
                    .get(&k.fingerprint)
                    .copied()
                    .filter(|&p| self.joinable(p, k, CONTENT_WINDOW));
                let (p, l) = match found {
                    Some(p) => (p, Linkage::Content),
                    None => (self.new_packet(k.time), Linkage::First),
                };
                self.by_content.insert(k.fingerprint, p);
                self.content_order.push_back((k.time, k.fingerprint));
                (p, l)
            }
        };
        // The packet was just found joinable or created, so it is remembered.
        if let Some(open) = self.packets.get_mut(packet - self.first_packet) {
            open.last_time = k.time;
            if k.is_drop {
                open.ended = true; // a drop ends the path
            }
        }
        (packet, linkage)
    }

    /// Packets assigned so far (the next new packet gets this id).
    pub fn packet_count(&self) -> usize {
        self.first_packet + self.packets.len()
    }

    /// The oldest packet still remembered: packets before it take no more hops.
    pub fn oldest_open(&self) -> usize {
        self.first_packet
    }

    /// Packets and keys held now: what grouping costs in memory.
    pub fn remembered(&self) -> usize {
        self.packets.len() + self.by_shared_id.len() + self.by_cpu.len() * RING_SLOTS as usize + self.by_content.len()
    }
}

/// One hop of a packet's path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hop {
    /// Index of the appearance.
    pub appearance: usize,
    pub linkage: Linkage,
    /// Time since the previous hop (100 ns), 0 for the first.
    pub latency: FileTime,
}

/// A packet: its appearances in path order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Packet {
    pub hops: Vec<Hop>,
    /// The appearance where it was dropped, if it was.
    pub dropped_at: Option<usize>,
}

impl Packet {
    pub fn first(&self) -> usize {
        self.hops[0].appearance
    }
    pub fn last(&self) -> usize {
        self.hops[self.hops.len() - 1].appearance
    }
}

/// All packets of a capture, and for each appearance its packet and position.
#[derive(Debug, Clone, Default)]
pub struct Paths {
    pub packets: Vec<Packet>,
    /// Appearance index → (packet index, position in its path).
    pub position: Vec<(usize, usize)>,
}

impl Paths {
    /// Groups a capture's appearances (which are in time order).
    pub fn build(appearances: &[Appearance], os_build: Option<u32>) -> Paths {
        Self::build_with(appearances, Grouper::new(os_build))
    }

    /// Groups a capture's appearances as [`Grouper::for_capture`] does.
    pub fn build_for(appearances: &[Appearance], info: &crate::model::CaptureInfo) -> Paths {
        Self::build_with(appearances, Grouper::for_capture(info))
    }

    fn build_with(appearances: &[Appearance], mut g: Grouper) -> Paths {
        let mut packets: Vec<Packet> = Vec::new();
        let mut position = Vec::with_capacity(appearances.len());
        for (i, a) in appearances.iter().enumerate() {
            let (p, linkage) = g.assign(&HopKey::of(a));
            if p == packets.len() {
                packets.push(Packet {
                    hops: Vec::new(),
                    dropped_at: None,
                });
            }
            let pkt = &mut packets[p];
            let latency = pkt
                .hops
                .last()
                .map(|h| a.time.saturating_sub(appearances[h.appearance].time))
                .unwrap_or(0);
            position.push((p, pkt.hops.len()));
            pkt.hops.push(Hop {
                appearance: i,
                linkage,
                latency,
            });
            if a.is_drop() {
                pkt.dropped_at = Some(i);
            }
        }
        // On builds that share ids, Appearance gives the path order even when
        // timestamps from different CPUs interleave.
        for pkt in &mut packets {
            if pkt.hops.iter().all(|h| h.linkage != Linkage::Chained) {
                let key = |h: &Hop| {
                    let a = &appearances[h.appearance];
                    (a.is_drop(), a.appearance.unwrap_or(0), a.time)
                };
                if pkt.hops.windows(2).any(|w| key(&w[0]) > key(&w[1])) {
                    pkt.hops.sort_by_key(key);
                    for k in 0..pkt.hops.len() {
                        pkt.hops[k].latency = if k == 0 {
                            0
                        } else {
                            appearances[pkt.hops[k].appearance]
                                .time
                                .saturating_sub(appearances[pkt.hops[k - 1].appearance].time)
                        };
                    }
                }
            }
        }
        for (pi, pkt) in packets.iter().enumerate() {
            for (k, h) in pkt.hops.iter().enumerate() {
                position[h.appearance] = (pi, k);
            }
        }
        Paths { packets, position }
    }

    pub fn packet_of(&self, appearance: usize) -> &Packet {
        &self.packets[self.position[appearance].0]
    }
}
