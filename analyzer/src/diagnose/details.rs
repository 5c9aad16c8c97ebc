//! What the HTML report shows beside the verdict: drops and symptoms over
//! time, the path through the stack (components, the hops packets took
//! between them, PktMon's flow and drop counters) and the top talkers.
//!
//! Collected while the capture streams, in constant memory per input: a
//! fixed number of time bins (their width doubles as the capture grows), one
//! slot per recent packet for its last component, and counters per component
//! and edge. [`Collector::finish`] turns it into [`Details`].

use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxHashMap;

use super::{Cause, DropRecord};
use crate::flows::{FlowReport, SymptomKind};
use crate::model::*;
use crate::pktmon::catalog::Catalog;

/// Bins the chart has at most.
pub const MAX_BINS: usize = 240;
/// Fine bins of the packet counts while streaming (their width doubles as needed).
const FINE_BINS: usize = 4096;
/// Slots of the table of recent packets' last component (direct-mapped by packet id).
const LAST_SLOTS: usize = 1 << 16;
/// Component ids below this are counted in arrays (PktMon numbers components from 1, a few hundred at most).
const DENSE_COMPONENTS: u16 = 1024;
/// Flows kept as top talkers.
pub const TOP_TALKERS: usize = 10;

/// The drop categories of the chart, in the order of its stack (bottom first).
pub const DROP_CAUSES: [Cause; 9] = [
    Cause::Policy,
    Cause::Resources,
    Cause::AddressResolution,
    Cause::NoRoute,
    Cause::InvalidPacket,
    Cause::Unreachable,
    Cause::SessionLoss,
    Cause::Mtu,
    Cause::Other,
];

fn cause_index(c: Cause) -> usize {
    DROP_CAUSES
        .iter()
        .position(|&x| x == c)
        .unwrap_or(DROP_CAUSES.len() - 1)
}

/// Everything the HTML report needs beyond the verdict and the findings.
#[derive(Debug, Clone, Default)]
pub struct Details {
    pub timeline: Timeline,
    pub stack: Stack,
    /// Flows by packets, most first.
    pub talkers: Vec<Talker>,
    /// Flows in the capture (talkers are the first of them).
    pub flows: u64,
}

/// Drop events and symptoms per time bin.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Time of the first packet; bin `i` starts at `start + i * bin`.
    pub start: FileTime,
    pub end: FileTime,
    /// Width of a bin, 100-ns ticks (1, 2 or 5 × a power of ten of milliseconds).
    pub bin: FileTime,
    pub bins: Vec<Bin>,
}

#[derive(Debug, Clone, Default)]
pub struct Bin {
    /// Packets first seen in the bin (approximate to a fine bin's width).
    pub packets: u64,
    /// Drop events per cause, in [`DROP_CAUSES`] order.
    pub drops: [u32; 9],
    /// TCP retransmissions (spurious ones included).
    pub retransmissions: u32,
    /// Failed connections and errors: resets, unanswered SYNs, ARP/ND, ICMP errors, UDP to a closed port.
    pub failures: u32,
    /// Other symptoms: duplicate ACKs, segments not captured, zero windows, full windows, data never acknowledged.
    pub other_symptoms: u32,
}

/// The components as the capture saw them, and what passed between them.
#[derive(Debug, Clone, Default)]
pub struct Stack {
    pub components: Vec<StackComponent>,
    /// Packets that went from one component to the next, per direction (first
    /// appearance at `from`, next at `to`), most first.
    pub hops: Vec<Hop>,
}

#[derive(Debug, Clone, Default)]
pub struct StackComponent {
    pub id: u16,
    pub type_name: String,
    pub name: String,
    pub description: String,
    pub if_index: Option<u32>,
    pub addresses: Vec<String>,
    /// Whether it is a network adapter (miniport).
    pub nic: bool,
    /// Height in the stack: 0 at the wire, growing towards TCP/IP (from the hops seen, else its type).
    pub level: u32,
    /// Group of components packets passed between (one adapter's stack), numbered from 0.
    pub group: u32,
    /// Flow (not drop) events captured here, inbound and outbound.
    pub events_in: u64,
    pub events_out: u64,
    /// Drop events captured here, per (inbound, reason text), most first.
    pub drops: Vec<(bool, String, u64)>,
    /// PktMon's flow counters (event 90) per edge.
    pub edges: Vec<EdgeCounter>,
    /// PktMon's drop counters (event 80): (packets in, bytes in, packets out, bytes out), when reported.
    pub drop_counters: Option<(u64, u64, u64, u64)>,
    pub drop_events_in: u64,
    pub drop_events_out: u64,
}

#[derive(Debug, Clone, Default)]
pub struct EdgeCounter {
    pub edge_id: u16,
    pub edge_name: String,
    /// Counted by PktMon (inbound, outbound) and captured as flow events there.
    pub packets_in: u64,
    pub packets_out: u64,
    pub events_in: u64,
    pub events_out: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Hop {
    pub from: u16,
    pub to: u16,
    pub inbound: bool,
    pub packets: u64,
}

#[derive(Debug, Clone)]
pub struct Talker {
    /// As findings name flows (`TCP 10.0.0.1:49152 → 10.0.0.2:443`).
    pub flow: String,
    pub display_filter: String,
    pub packets: u64,
    pub bytes: u64,
    pub first: FileTime,
    pub last: FileTime,
    pub retransmissions: u64,
    pub symptoms: u64,
}

/// Streams what [`Details`] needs, when asked (see [`super::Diagnoser::with_details`]):
/// a diagnosis without an HTML report pays nothing for it.
#[derive(Default)]
pub struct Collector {
    pub(super) enabled: bool,
    fine_start: Option<FileTime>,
    fine_width: FileTime,
    fine: Vec<u64>,
    /// (packet id + 1, last component, direction tag) per slot; 0 is empty.
    last: Vec<(usize, u16, u16)>,
    hops: FxHashMap<(u16, u16, bool), u64>,
    /// (component, edge, inbound) → flow events.
    flow_events: FxHashMap<(u16, u16, bool), u64>,
    /// The same counts for small ids (the usual case) as plain arrays, folded into the maps at the end:
    /// an increment per appearance instead of a hash lookup. Index `(component << 3) | (edge << 1) | inbound`.
    dense_flow: Vec<u64>,
    /// Index `(((from << 8) | to) << 1) | inbound`.
    dense_hops: Vec<u64>,
    flow_counters: BTreeMap<(u16, u16), FlowCounters>,
    drop_counters: BTreeMap<u16, DropCounters>,
}

fn inbound(tag: u16) -> bool {
    tag % 2 == 1
}

impl Collector {
    /// An appearance of packet `p` (as the grouper numbered it).
    pub(super) fn packet(&mut self, p: usize, a: &Appearance, new_packet: bool) {
        if !self.enabled {
            return;
        }
        if new_packet {
            self.count_packet(a.time);
        }
        let (Some(c), Some(dir)) = (a.component_id, a.direction) else {
            return;
        };
        let inb = inbound(dir);
        if a.drop.is_none() {
            let edge = a.edge_id.unwrap_or(0);
            if c < DENSE_COMPONENTS && edge < 4 {
                if self.dense_flow.is_empty() {
                    self.dense_flow = vec![0; DENSE_COMPONENTS as usize * 8];
                }
                self.dense_flow[((c as usize) << 3) | ((edge as usize) << 1) | inb as usize] += 1;
            } else {
                *self.flow_events.entry((c, edge, inb)).or_default() += 1;
            }
        }
        if self.last.is_empty() {
            self.last = vec![(0, 0, 0); LAST_SLOTS];
        }
        let slot = &mut self.last[p % LAST_SLOTS];
        if slot.0 == p + 1 && slot.1 != c {
            let from = slot.1;
            if from < 256 && c < 256 {
                if self.dense_hops.is_empty() {
                    self.dense_hops = vec![0; 256 * 256 * 2];
                }
                self.dense_hops[((((from as usize) << 8) | c as usize) << 1) | inb as usize] += 1;
            } else {
                *self.hops.entry((from, c, inb)).or_default() += 1;
            }
        }
        *slot = (p + 1, c, dir);
    }

    /// Moves the dense counts into the maps.
    fn fold(&mut self) {
        for (i, &n) in self.dense_flow.iter().enumerate() {
            if n > 0 {
                let key = ((i >> 3) as u16, ((i >> 1) & 3) as u16, i & 1 == 1);
                *self.flow_events.entry(key).or_default() += n;
            }
        }
        for (i, &n) in self.dense_hops.iter().enumerate() {
            if n > 0 {
                let key = ((i >> 9) as u16, ((i >> 1) & 0xff) as u16, i & 1 == 1);
                *self.hops.entry(key).or_default() += n;
            }
        }
        self.dense_flow = Vec::new();
        self.dense_hops = Vec::new();
    }

    fn count_packet(&mut self, t: FileTime) {
        let start = *self.fine_start.get_or_insert(t);
        if self.fine.is_empty() {
            self.fine = vec![0; FINE_BINS];
            self.fine_width = 10_000; // 1 ms
        }
        let off = (t - start).max(0);
        let mut i = (off / self.fine_width) as usize;
        while i >= FINE_BINS {
            for j in 0..FINE_BINS / 2 {
                self.fine[j] = self.fine[2 * j] + self.fine[2 * j + 1];
            }
            self.fine[FINE_BINS / 2..].iter_mut().for_each(|x| *x = 0);
            self.fine_width *= 2;
            i = (off / self.fine_width) as usize;
        }
        self.fine[i] += 1;
    }

    pub(super) fn record(&mut self, record: &Record) {
        if !self.enabled {
            return;
        }
        match record {
            // Totals since the capture started: a later report supersedes an earlier one.
            Record::FlowCounters(f) => {
                let e = self
                    .flow_counters
                    .entry((f.component_id, f.edge_id))
                    .or_insert_with(|| f.clone());
                if f.packets_in + f.packets_out >= e.packets_in + e.packets_out {
                    *e = f.clone();
                }
            }
            Record::DropCounters(d) => {
                let e = self.drop_counters.entry(d.component_id).or_insert_with(|| d.clone());
                if d.packets_in + d.packets_out >= e.packets_in + e.packets_out {
                    *e = d.clone();
                }
            }
            _ => {}
        }
    }

    pub(super) fn finish(
        mut self,
        components: &ComponentTable,
        catalog: &Catalog,
        drops: &[DropRecord],
        report: &FlowReport,
        span: Option<(FileTime, FileTime)>,
    ) -> Details {
        if !self.enabled {
            return Details::default();
        }
        self.fold();
        let timeline = self.timeline(drops, report, span);
        let stack = self.stack(components, catalog, drops);
        let mut talkers: Vec<&crate::flows::FlowSummary> = report.flows.iter().collect();
        talkers.sort_by(|a, b| b.packets.cmp(&a.packets).then(b.bytes.cmp(&a.bytes)));
        let talkers = talkers
            .into_iter()
            .take(TOP_TALKERS)
            .map(|f| Talker {
                flow: f.key.to_string(),
                display_filter: f.key.display_filter(),
                packets: f.packets,
                bytes: f.bytes,
                first: f.first,
                last: f.last,
                retransmissions: f.retransmissions,
                symptoms: f.symptoms,
            })
            .collect();
        Details {
            timeline,
            stack,
            talkers,
            flows: report.flows.len() as u64,
        }
    }

    fn timeline(&self, drops: &[DropRecord], report: &FlowReport, span: Option<(FileTime, FileTime)>) -> Timeline {
        let times = drops
            .iter()
            .map(|d| d.time)
            .chain(report.symptoms.iter().map(|s| s.time));
        let (mut start, mut end) = span.unwrap_or((FileTime::MAX, FileTime::MIN));
        for t in times {
            start = start.min(t);
            end = end.max(t);
        }
        if start > end {
            return Timeline::default();
        }
        let duration = end - start;
        let bin = nice_bin(duration);
        let n = ((duration / bin) as usize + 1).min(MAX_BINS + 1);
        let mut bins = vec![Bin::default(); n];
        let at = |t: FileTime| (((t - start).max(0) / bin) as usize).min(n - 1);
        if let Some(fs) = self.fine_start {
            for (i, &count) in self.fine.iter().enumerate() {
                if count > 0 {
                    let mid = fs + i as FileTime * self.fine_width + self.fine_width / 2;
                    bins[at(mid.min(end))].packets += count;
                }
            }
        }
        for d in drops {
            bins[at(d.time)].drops[cause_index(Cause::from(d.category))] += 1;
        }
        for s in &report.symptoms {
            let b = &mut bins[at(s.time)];
            match s.kind {
                SymptomKind::Retransmission { .. } | SymptomKind::SpuriousRetransmission => b.retransmissions += 1,
                SymptomKind::Reset { .. }
                | SymptomKind::SynUnanswered { .. }
                | SymptomKind::DestinationUnreachable { .. }
                | SymptomKind::PacketTooBig { .. }
                | SymptomKind::TimeExceeded { .. }
                | SymptomKind::ArpUnanswered { .. }
                | SymptomKind::NeighborSolicitationUnanswered { .. }
                | SymptomKind::UdpClosedPort => b.failures += 1,
                _ => b.other_symptoms += 1,
            }
        }
        Timeline { start, end, bin, bins }
    }

    fn stack(&self, components: &ComponentTable, catalog: &Catalog, drops: &[DropRecord]) -> Stack {
        let mut by_id: BTreeMap<u16, StackComponent> = BTreeMap::new();
        fn entry_in<'a>(
            by_id: &'a mut BTreeMap<u16, StackComponent>,
            components: &ComponentTable,
            catalog: &Catalog,
            id: u16,
        ) -> &'a mut StackComponent {
            by_id.entry(id).or_insert_with(|| {
                let c = components.get(id);
                StackComponent {
                    id,
                    type_name: c
                        .map(|c| {
                            catalog
                                .component_type(c.component_type)
                                .map(|t| t.trim().to_string())
                                .unwrap_or_else(|| c.component_type.to_string())
                        })
                        .unwrap_or_default(),
                    name: c.map(|c| c.name.clone()).unwrap_or_default(),
                    description: c.map(|c| c.description.clone()).unwrap_or_default(),
                    if_index: c.and_then(|c| c.if_index()),
                    addresses: c
                        .map(|c| {
                            c.ipv4_addresses()
                                .map(|a| a.to_string())
                                .chain(c.ipv6_addresses().map(|a| a.to_string()))
                                .collect()
                        })
                        .unwrap_or_default(),
                    nic: c.is_some_and(|c| super::is_nic_type(c.component_type)),
                    ..Default::default()
                }
            })
        }
        macro_rules! entry {
            ($id:expr) => {
                entry_in(&mut by_id, components, catalog, $id)
            };
        }
        for (&(c, _, inb), &n) in &self.flow_events {
            let e = entry!(c);
            if inb {
                e.events_in += n;
            } else {
                e.events_out += n;
            }
        }
        for (&(c, edge), f) in &self.flow_counters {
            if f.packets_in + f.packets_out == 0 && !self.flow_events.keys().any(|k| k.0 == c) {
                continue;
            }
            let ev = |tag: u16| self.flow_events.get(&(c, edge, inbound(tag))).copied().unwrap_or(0);
            let (pin, pout, ein, eout) = if inbound(f.direction_in) || !inbound(f.direction_out) {
                (f.packets_in, f.packets_out, ev(f.direction_in), ev(f.direction_out))
            } else {
                (f.packets_out, f.packets_in, ev(f.direction_out), ev(f.direction_in))
            };
            entry!(c).edges.push(EdgeCounter {
                edge_id: edge,
                edge_name: f.edge_name.trim().to_string(),
                packets_in: pin,
                packets_out: pout,
                events_in: ein,
                events_out: eout,
            });
        }
        let mut reasons: BTreeMap<(u16, bool, String), u64> = BTreeMap::new();
        for d in drops {
            let Some(c) = d.reference.component else { continue };
            let inb = d.facts.inbound.unwrap_or(true);
            let e = entry!(c);
            if inb {
                e.drop_events_in += 1;
            } else {
                e.drop_events_out += 1;
            }
            *reasons.entry((c, inb, d.reference.reason_text.clone())).or_default() += 1;
        }
        for ((c, inb, text), n) in reasons {
            entry!(c).drops.push((inb, text, n));
        }
        for (&c, d) in &self.drop_counters {
            if d.packets_in + d.packets_out == 0 && !by_id.contains_key(&c) {
                continue;
            }
            let (pin, bin, pout, bout) = if inbound(d.direction_in) || !inbound(d.direction_out) {
                (d.packets_in, d.bytes_in, d.packets_out, d.bytes_out)
            } else {
                (d.packets_out, d.bytes_out, d.packets_in, d.bytes_in)
            };
            entry!(c).drop_counters = Some((pin, bin, pout, bout));
        }
        let mut hops: Vec<Hop> = self
            .hops
            .iter()
            .map(|(&(from, to, inbound), &packets)| Hop {
                from,
                to,
                inbound,
                packets,
            })
            .collect();
        hops.sort_by(|a, b| b.packets.cmp(&a.packets).then((a.from, a.to).cmp(&(b.from, b.to))));
        for h in &hops {
            entry!(h.from);
            entry!(h.to);
        }
        for c in by_id.values_mut() {
            c.drops.sort_by_key(|d| std::cmp::Reverse(d.2));
        }
        // Layers as Windows binds them: the adapter (miniport) at the bottom, its filters above it in the
        // order packets passed them, protocols (TCP/IP…) on top. Between two filters, the direction most
        // packets took says which is above (Rx goes up, Tx down); hops between protocols (one frame
        // delivered to several) and chains the grouping could not follow only join the stack's group.
        let ids: Vec<u16> = by_id.keys().copied().collect();
        let index: HashMap<u16, usize> = ids.iter().enumerate().map(|(i, &c)| (c, i)).collect();
        let class: Vec<u32> = ids
            .iter()
            .map(|&c| {
                let comp = &by_id[&c];
                match components.get(c).map(|x| x.component_type) {
                    _ if comp.nic => 0,
                    Some(3) => 1,
                    _ => 2,
                }
            })
            .collect();
        let mut parent: Vec<usize> = (0..ids.len()).collect();
        fn root(p: &mut [usize], mut i: usize) -> usize {
            while p[i] != i {
                p[i] = p[p[i]];
                i = p[i];
            }
            i
        }
        // (lower, upper) filter pairs → packets saying so.
        let mut votes: HashMap<(usize, usize), u64> = HashMap::new();
        for h in &hops {
            let (lo, hi) = if h.inbound { (h.from, h.to) } else { (h.to, h.from) };
            let (lo, hi) = (index[&lo], index[&hi]);
            let (a, b) = (root(&mut parent, lo), root(&mut parent, hi));
            parent[a] = b;
            if class[lo] == 1 && class[hi] == 1 {
                *votes.entry((lo, hi)).or_default() += h.packets;
            }
        }
        let mut below: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
        for (&(lo, hi), &n) in &votes {
            if n > votes.get(&(hi, lo)).copied().unwrap_or(0) {
                below[hi].push(lo);
            }
        }
        let mut filter_level: Vec<u32> = vec![0; ids.len()];
        // Longest path from the bottom; a cycle (odd captures) stops after `ids.len()` rounds.
        for _ in 0..ids.len() {
            let mut changed = false;
            for i in 0..ids.len() {
                for &j in &below[i] {
                    if filter_level[i] < filter_level[j] + 1 {
                        filter_level[i] = filter_level[j] + 1;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let roots: Vec<usize> = (0..ids.len()).map(|i| root(&mut parent, i)).collect();
        let mut top_filter: HashMap<usize, u32> = HashMap::new();
        for i in 0..ids.len() {
            if class[i] == 1 {
                let t = top_filter.entry(roots[i]).or_default();
                *t = (*t).max(filter_level[i] + 1);
            }
        }
        // Groups: numbered in order of their lowest component id.
        let mut group_of: HashMap<usize, u32> = HashMap::new();
        let mut out = Vec::with_capacity(ids.len());
        for (i, &c) in ids.iter().enumerate() {
            let next = group_of.len() as u32;
            let g = *group_of.entry(roots[i]).or_insert(next);
            let mut comp = by_id.remove(&c).unwrap_or_default();
            comp.level = match class[i] {
                0 => 0,
                1 => 1 + filter_level[i],
                _ => 1 + top_filter.get(&roots[i]).copied().unwrap_or(0),
            };
            comp.group = g;
            out.push(comp);
        }
        Stack { components: out, hops }
    }
}

/// A bin width of 1, 2 or 5 × 10^k milliseconds giving at most [`MAX_BINS`] bins.
pub fn nice_bin(duration: FileTime) -> FileTime {
    let mut unit: FileTime = 10_000; // 1 ms
    loop {
        for m in [1, 2, 5] {
            let w = unit * m;
            if duration / w < MAX_BINS as FileTime {
                return w;
            }
        }
        unit *= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_nice_and_few() {
        assert_eq!(nice_bin(0), 10_000);
        assert_eq!(nice_bin(10_000_000), 50_000); // 1 s → 5 ms
        assert_eq!(nice_bin(3600 * 10_000_000), 20 * 10_000_000); // 1 h → 20 s
        for d in [1, 999_999, 123_456_789, 86_400 * 10_000_000] {
            assert!(d / nice_bin(d) < MAX_BINS as FileTime);
        }
    }

    #[test]
    fn dense_counts_fold_into_the_same_keys_as_the_maps() {
        let mut c = Collector {
            enabled: true,
            ..Default::default()
        };
        let a = |component: u16, edge: u16, direction: u16| Appearance {
            index: 0,
            time: 0,
            cpu: None,
            process_id: None,
            thread_id: None,
            group_id: None,
            pkt_number: None,
            appearance: None,
            direction: Some(direction),
            packet_type: None,
            component_id: Some(component),
            edge_id: Some(edge),
            filter_id: None,
            drop: None,
            original_size: 0,
            logged_size: 0,
            link_type: LinkType::Ethernet,
            payload: Vec::new(),
        };
        // Packet 0: 12 → 33 (Rx, edge 2), packet 1: 300 → 2000 (Tx; ids beyond the arrays).
        c.packet(0, &a(12, 1, 3), true);
        c.packet(0, &a(33, 2, 3), false);
        c.packet(1, &a(300, 1, 4), true);
        c.packet(1, &a(2000, 5, 4), false);
        c.fold();
        assert_eq!(c.hops.get(&(12, 33, true)), Some(&1));
        assert_eq!(c.hops.get(&(300, 2000, false)), Some(&1));
        assert_eq!(c.flow_events.get(&(33, 2, true)), Some(&1));
        assert_eq!(c.flow_events.get(&(2000, 5, false)), Some(&1));
        assert_eq!(c.flow_events.values().sum::<u64>(), 4);
    }

    #[test]
    fn fine_bins_double_and_keep_every_packet() {
        let mut c = Collector::default();
        for i in 0..100_000i64 {
            c.count_packet(i * 1_000_000); // 0.1 s apart: 10,000 s in all
        }
        assert_eq!(c.fine.iter().sum::<u64>(), 100_000);
        assert!(c.fine.len() == FINE_BINS && c.fine_width > 10_000);
    }
}
