//! PktMon's own drop counters (event 80) against the drop events a capture holds.
//!
//! PktMon counts every packet a component drops, per direction, whether or
//! not it logged the packet: a capture taken with `--type flow` or
//! `--counters-only`, with packet filters the dropped packets did not match,
//! or that lost events, holds fewer drop events than the counters say. Those
//! drops are invisible to every other finding, so each component and
//! direction whose counter exceeds its recorded drops becomes a finding of
//! its own.

use std::collections::{BTreeMap, HashMap};

use super::{frame_filter, Cause, DropRef, Finding, FindingTraits, Locality, MAX_FRAMES};
use crate::model::*;

/// Which side of a component a PKTMON_DIRECTION_TAG is: In, Rx and Ingress
/// (1, 3, 5) are inbound, Out, Tx and Egress (2, 4, 6) outbound. A counter
/// names its two tags; drop events may use the other tag of the same side.
fn inbound(tag: u16) -> Option<bool> {
    match tag {
        1 | 3 | 5 => Some(true),
        2 | 4 | 6 => Some(false),
        _ => None,
    }
}

#[derive(Debug, Clone, Default)]
struct Side {
    counted: u64,
    counted_bytes: u64,
    /// Direction text as the file's map names the counter's tag ("Rx").
    direction: String,
    recorded: u64,
    frames: Vec<u64>,
}

/// Collects counters and drop events while a capture streams.
#[derive(Debug, Default)]
pub(super) struct CounterCheck {
    /// (component, inbound) → what was counted and recorded there.
    sides: BTreeMap<(u16, bool), Side>,
    /// Drop events without a direction, per component.
    undirected: HashMap<u16, u64>,
    filters: usize,
    first_packet: Option<FileTime>,
    last_packet: Option<FileTime>,
    /// (component, edge id) → its latest flow counters.
    edges: BTreeMap<(u16, u16), Edge>,
}

/// The packets that passed one edge of a component, as PktMon counted them.
#[derive(Debug, Clone, Default)]
struct Edge {
    name: String,
    packets_in: u64,
    packets_out: u64,
    direction_in: u16,
    direction_out: u16,
}

impl Edge {
    /// (packets going up = inbound, going down = outbound) through the edge.
    fn up_down(&self) -> (u64, u64) {
        match (inbound(self.direction_in), inbound(self.direction_out)) {
            (Some(true), _) | (_, Some(false)) => (self.packets_in, self.packets_out),
            _ => (self.packets_out, self.packets_in),
        }
    }
}

impl CounterCheck {
    pub(super) fn record(&mut self, ctx: &Context<'_>, record: &Record) {
        match record {
            Record::Packet(a) => self.packet(a),
            Record::DropCounters(d) => self.counters(ctx, d),
            Record::Filter(_) => self.filters += 1,
            Record::FlowCounters(f) => {
                let e = self.edges.entry((f.component_id, f.edge_id)).or_default();
                // Totals since the capture started: a later report supersedes an earlier one.
                if f.packets_in + f.packets_out >= e.packets_in + e.packets_out {
                    *e = Edge {
                        name: f.edge_name.clone(),
                        packets_in: f.packets_in,
                        packets_out: f.packets_out,
                        direction_in: f.direction_in,
                        direction_out: f.direction_out,
                    };
                }
            }
            _ => {}
        }
    }

    fn packet(&mut self, a: &Appearance) {
        self.first_packet = Some(self.first_packet.map_or(a.time, |t| t.min(a.time)));
        self.last_packet = Some(self.last_packet.map_or(a.time, |t| t.max(a.time)));
        let (Some(_), Some(c)) = (&a.drop, a.component_id) else {
            return;
        };
        match a.direction.and_then(inbound) {
            Some(side) => {
                let s = self.sides.entry((c, side)).or_default();
                s.recorded += 1;
                if s.frames.len() < MAX_FRAMES {
                    s.frames.push(a.index + 1);
                }
            }
            None => *self.undirected.entry(c).or_default() += 1,
        }
    }

    fn counters(&mut self, ctx: &Context<'_>, d: &DropCounters) {
        let text = |tag: u16| {
            ctx.catalog
                .direction(tag)
                .map(|t| t.trim().to_string())
                .unwrap_or_else(|| tag.to_string())
        };
        for (tag, packets, bytes) in [
            (d.direction_in, d.packets_in, d.bytes_in),
            (d.direction_out, d.packets_out, d.bytes_out),
        ] {
            let Some(side) = inbound(tag) else { continue };
            let s = self.sides.entry((d.component_id, side)).or_default();
            // Counters are totals since the capture started: a later report supersedes an earlier one.
            if packets >= s.counted {
                s.counted = packets;
                s.counted_bytes = bytes;
                s.direction = text(tag);
            }
        }
    }

    /// Packets that entered a filter through one edge and never left through
    /// the other, with no drop counted: per component and direction, the
    /// packets counted at the entry edge less those at the exit edge less the
    /// component's drop counter for that side. A filter with two edges passes
    /// Rx packets from its lower edge to its upper one and Tx packets back down.
    fn silent_losses(&self, components: &ComponentTable, first: FileTime, last: FileTime) -> Vec<Finding> {
        let mut per_component: BTreeMap<u16, Vec<(u16, &Edge)>> = BTreeMap::new();
        for ((c, edge), e) in &self.edges {
            per_component.entry(*c).or_default().push((*edge, e));
        }
        let mut out = Vec::new();
        for (c, edges) in per_component {
            let [a, b] = edges.as_slice() else { continue };
            // Upper/Lower by name (English maps), else PktMon's numbering: Upper(1), Lower(2).
            let is_upper = |&(id, e): &(u16, &Edge)| {
                if e.name.starts_with("Upper") {
                    true
                } else if e.name.starts_with("Lower") {
                    false
                } else {
                    id == 1
                }
            };
            let (upper, lower) = match (is_upper(a), is_upper(b)) {
                (true, false) => (a.1, b.1),
                (false, true) => (b.1, a.1),
                _ => continue,
            };
            let (up_in, up_out) = upper.up_down();
            let (low_in, low_out) = lower.up_down();
            // An edge that passed nothing either way is not on the stack's path: the
            // component ends the traffic itself (XDP handing packets to its sockets, a
            // switch forwarding them to another port), it does not lose it.
            if up_in + up_out == 0 || low_in + low_out == 0 {
                continue;
            }
            let name = components.get(c).map(|x| x.name.clone()).unwrap_or_default();
            for (side, entered, left, entry, exit) in [
                (true, low_in, up_in, &lower.name, &upper.name),
                (false, up_out, low_out, &upper.name, &lower.name),
            ] {
                let counted = self.sides.get(&(c, side)).map_or(0, |s| s.counted.max(s.recorded));
                let lost = entered.saturating_sub(left).saturating_sub(counted);
                // A handful against thousands is a filter's own traffic, not loss worth a problem.
                if lost < 3 || lost * 100 < entered {
                    continue;
                }
                let label = if name.is_empty() {
                    format!("component {c}")
                } else {
                    format!("{name} (component {c})")
                };
                let direction = if side { "Rx" } else { "Tx" }.to_string();
                out.push(Finding {
                    problem: None,
                    background: None,
                    traits: FindingTraits {
                        dropped_packets: lost,
                        ..Default::default()
                    },
                    locality: Locality::Local,
                    cause: Cause::Other,
                    symptom: "packets lost in a filter without a drop event".to_string(),
                    count: lost,
                    flow: None,
                    flow_key: None,
                    first_time: crate::time::format_utc(first),
                    last_time: crate::time::format_utc(last),
                    first,
                    display_filter: String::new(),
                    frames: Vec::new(),
                    drops: vec![(
                        DropRef {
                            reason: None,
                            reason_text: "lost without a drop event (PktMon's flow counters)".to_string(),
                            location: String::new(),
                            location_name: None,
                            component: Some(c),
                            component_name: name.clone(),
                            direction: direction.clone(),
                            tcpip_layer: None,
                            tcpip_reason: None,
                        },
                        lost,
                    )],
                    pktmon_filter: Some(format!("pktmon.component_id == {c}")),
                    tcpip: None,
                    explanation: format!(
                        "{lost} of the {entered} packets that entered {label} on {direction} through its {entry} \
                         edge never left through its {exit} edge, and PktMon counted {counted} drops there: the \
                         filter swallowed them without reporting a drop. PktMon's flow counters (event 90) say so; \
                         the captured packets stop at this component."
                    ),
                    next_step: format!(
                        "Identify the filter driver {} (`Get-NetAdapterBinding -AllBindings` lists the filters bound \
                         to each adapter), test without it (`Disable-NetAdapterBinding -Name <adapter> -ComponentID \
                         <id>`), and update or remove it; `pktmon counters` shows the same counts live.",
                        if name.is_empty() {
                            String::new()
                        } else {
                            format!("({name})")
                        }
                    ),
                });
            }
        }
        out
    }

    /// One finding per component and direction whose counter exceeds its drop
    /// events, and per filter that lost packets without a drop event.
    pub(super) fn findings(mut self, components: &ComponentTable, info: &CaptureInfo) -> Vec<Finding> {
        let first = self.first_packet.or(info.start_time).unwrap_or(0);
        let last = self.last_packet.or(info.end_time).unwrap_or(first);
        let mut out = self.silent_losses(components, first, last);
        for (&(c, side), s) in self.sides.iter_mut() {
            // Drop events without a direction may be any side's: they count before anything is called missing.
            let spare = self.undirected.entry(c).or_default();
            let mut missing = s.counted.saturating_sub(s.recorded);
            let taken = missing.min(*spare);
            missing -= taken;
            *spare -= taken;
            if missing == 0 {
                continue;
            }
            let name = components.get(c).map(|x| x.name.clone()).unwrap_or_default();
            let label = if name.is_empty() {
                format!("component {c}")
            } else {
                format!("{name} (component {c})")
            };
            let direction = if s.direction.is_empty() {
                if side { "in" } else { "out" }.to_string()
            } else {
                s.direction.clone()
            };
            let mut why = Vec::new();
            if s.recorded == 0 && self.last_packet.is_none() {
                why.push("the capture holds no packet events at all (`--counters-only`?)".to_string());
            } else if s.recorded == 0 {
                why.push("the capture logged no drops there (`--type flow`?)".to_string());
            }
            if self.filters > 0 {
                why.push(format!(
                    "it had {} packet filter(s), which the dropped packets may not have matched",
                    self.filters
                ));
            }
            if info.events_lost > 0 || info.buffers_lost > 0 {
                why.push(format!(
                    "it lost {} events and {} buffers while recording",
                    info.events_lost, info.buffers_lost
                ));
            }
            let why = if why.is_empty() {
                String::new()
            } else {
                format!(" Here {}.", why.join("; "))
            };
            let explanation = format!(
                "PktMon counted {} packets ({} bytes) dropped by {label} in direction {direction}, but the capture \
                 holds {} drop events for it there (the evidence frames): {missing} drops were not captured, so their reasons and \
                 flows are unknown. A capture keeps fewer drop events than the counters when it logged flow \
                 packets only, was filtered, or lost events.{why}",
                s.counted, s.counted_bytes, s.recorded
            );
            out.push(Finding {
                problem: None,
                background: None,
                traits: FindingTraits {
                    dropped_packets: missing,
                    ..Default::default()
                },
                locality: Locality::Local,
                cause: Cause::Other,
                symptom: "drops counted, not captured".to_string(),
                count: missing,
                flow: None,
                flow_key: None,
                first_time: crate::time::format_utc(first),
                last_time: crate::time::format_utc(last),
                first,
                display_filter: if s.frames.is_empty() {
                    String::new()
                } else {
                    frame_filter(&s.frames)
                },
                frames: std::mem::take(&mut s.frames),
                drops: vec![(
                    DropRef {
                        reason: None,
                        reason_text: "not captured (PktMon's drop counter)".to_string(),
                        location: String::new(),
                        location_name: None,
                        component: Some(c),
                        component_name: name,
                        direction,
                        tcpip_layer: None,
                        tcpip_reason: None,
                    },
                    missing,
                )],
                pktmon_filter: Some(format!("pktmon.drop && pktmon.component_id == {c}")),
                tcpip: None,
                explanation,
                next_step: "Capture the drops themselves: `pktmon start --capture --type drop` (or `--type all`, \
                            the default) without packet filters, then `pktmon stop`; between captures, `pktmon \
                            counters --type drop --drop-reason` shows each component's latest drop reason."
                    .to_string(),
            });
        }
        out
    }
}

/// Adds findings to a diagnosis's, keeping its order: worst first (local
/// before remote before unknown), then by how often, then by time.
pub(super) fn merge(all: &mut Vec<Finding>, extra: Vec<Finding>) {
    if extra.is_empty() {
        return;
    }
    all.extend(extra);
    all.sort_by(|a, b| {
        a.locality
            .cmp(&b.locality)
            .then(b.count.cmp(&a.count))
            .then(a.first.cmp(&b.first))
    });
}
