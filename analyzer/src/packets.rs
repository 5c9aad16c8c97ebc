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
//! the Wireshark plugin and the streaming analyzer group exactly alike.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::model::{Appearance, FileTime, LinkType};

/// How far apart (100-ns ticks) two hops of one packet may be.
const CHAIN_WINDOW: FileTime = 100 * 10_000; // 100 ms
/// Content matching without ids: identical bytes within this window.
const CONTENT_WINDOW: FileTime = 10 * 10_000; // 10 ms
/// Shared-id grouping: a (PktGroupId, PktNumber) seen again after this long is a new packet.
const SHARED_WINDOW: FileTime = 10 * 10_000_000; // 10 s

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
}

/// Assigns each appearance, in time order, the packet it belongs to.
#[derive(Debug, Clone, Default)]
pub struct Grouper {
    os_build: Option<u32>,
    packets: Vec<OpenPacket>,
    by_shared_id: HashMap<(u64, u16), usize>,
    /// (PktGroupId, PktNumber) → (packet, time, appearance index) of the latest event with it.
    by_group_id: HashMap<(u64, u16), (usize, FileTime, usize)>,
    by_content: HashMap<u64, usize>,
    saw_nonzero_appearance: bool,
    saw_zero_appearance_flow: bool,
}

/// Hash of the network-layer bytes (from `offset`, at most `len` bytes).
fn fingerprint(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// Offset of the network-layer header inside a payload of this link type.
pub fn network_offset(link: LinkType, b: &[u8]) -> usize {
    match link {
        LinkType::Ethernet => {
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
        LinkType::Ieee80211 => {
            let (Some(&fc0), Some(&fc1)) = (b.first(), b.get(1)) else {
                return 0;
            };
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
            if b.get(h..h + 3) == Some(&[0xAA, 0xAA, 0x03][..]) {
                h += 8;
            }
            h.min(b.len())
        }
        LinkType::RawIp | LinkType::Other => 0,
    }
}

/// The network-layer part of an appearance's payload.
pub fn network_bytes(a: &Appearance) -> &[u8] {
    &a.payload[network_offset(a.link_type, &a.payload)..]
}

/// Whether two appearances carry the same network-layer packet, as far as
/// both were logged (PktMon truncates to --pkt-size, counted on the frame).
fn same_packet_bytes(a: &Appearance, b: &Appearance) -> bool {
    let x = network_bytes(a);
    let y = network_bytes(b);
    let n = x.len().min(y.len());
    if n == 0 {
        return a.payload == b.payload;
    }
    (n >= 20 || x.len() == y.len()) && x[..n] == y[..n]
}

impl Grouper {
    pub fn new(os_build: Option<u32>) -> Grouper {
        Grouper {
            os_build,
            ..Default::default()
        }
    }

    fn chain_mode(&self) -> bool {
        match self.os_build {
            Some(b) => b >= FIRST_PER_EVENT_ID_BUILD,
            None => self.saw_zero_appearance_flow && !self.saw_nonzero_appearance,
        }
    }

    fn new_packet(&mut self, time: FileTime, ended: bool) -> usize {
        self.packets.push(OpenPacket { last_time: time, ended });
        self.packets.len() - 1
    }

    fn joinable(&self, p: usize, time: FileTime, window: FileTime) -> bool {
        let open = &self.packets[p];
        !open.ended && time - open.last_time <= window && time >= open.last_time - window
    }

    /// Assigns `a` (the appearance at `index`, given in time order) to a packet.
    /// `previous` looks up an earlier appearance by index, for payload checks.
    pub fn assign<'a>(
        &mut self,
        index: usize,
        a: &Appearance,
        previous: impl Fn(usize) -> Option<&'a Appearance>,
    ) -> (usize, Linkage) {
        let is_drop = a.is_drop();
        if let Some(app) = a.appearance {
            if app > 0 {
                self.saw_nonzero_appearance = true;
            } else if !is_drop {
                self.saw_zero_appearance_flow = true;
            }
        }
        let (packet, linkage) = match a.group_id {
            Some(g) => {
                let key = (g, a.pkt_number.unwrap_or(0));
                let shared = self
                    .by_shared_id
                    .get(&key)
                    .copied()
                    .filter(|&p| self.joinable(p, a.time, SHARED_WINDOW));
                let chained = || -> Option<usize> {
                    if !self.chain_mode() || g & 0xFFFF_FFFF_FFFF == 0 {
                        return None;
                    }
                    let &(p, t, prev_index) = self.by_group_id.get(&(g - 1, key.1))?;
                    if a.time - t > CHAIN_WINDOW || !self.joinable(p, a.time, CHAIN_WINDOW) {
                        return None;
                    }
                    let prev = previous(prev_index)?;
                    same_packet_bytes(prev, a).then_some(p)
                };
                let found = match shared {
                    Some(p) => Some((p, Linkage::SharedId)),
                    None => chained().map(|p| (p, Linkage::Chained)),
                };
                let (p, l) = found.unwrap_or_else(|| (self.new_packet(a.time, false), Linkage::First));
                self.by_shared_id.insert(key, p);
                self.by_group_id.insert(key, (p, a.time, index));
                (p, l)
            }
            None => {
                let fp = fingerprint(network_bytes(a));
                let found = self
                    .by_content
                    .get(&fp)
                    .copied()
                    .filter(|&p| self.joinable(p, a.time, CONTENT_WINDOW));
                let (p, l) = match found {
                    Some(p) => (p, Linkage::Content),
                    None => (self.new_packet(a.time, false), Linkage::First),
                };
                self.by_content.insert(fp, p);
                (p, l)
            }
        };
        let open = &mut self.packets[packet];
        open.last_time = a.time;
        if is_drop {
            open.ended = true; // a drop ends the path
        }
        (packet, linkage)
    }

    pub fn packet_count(&self) -> usize {
        self.packets.len()
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
        let mut g = Grouper::new(os_build);
        let mut packets: Vec<Packet> = Vec::new();
        let mut position = Vec::with_capacity(appearances.len());
        for (i, a) in appearances.iter().enumerate() {
            let (p, linkage) = g.assign(i, a, |j| appearances.get(j));
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
                .map(|h| a.time - appearances[h.appearance].time)
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
                            appearances[pkt.hops[k].appearance].time - appearances[pkt.hops[k - 1].appearance].time
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
