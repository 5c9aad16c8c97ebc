//! Adapter counter snapshots ([`crate::nic`]) joined to a capture's network
//! adapters: discards and errors that rose during the capture become local
//! findings of that adapter, set beside what PktMon itself counted there.
//!
//! An adapter of a snapshot is joined to a network adapter component of the
//! capture (miniport, NetCx, vmswitch and netvsc miniports) by interface index,
//! else MAC address, else interface description (a typeperf instance name is
//! the description mangled), else name. A snapshot adapter that joins none is
//! reported, and its discards still make a finding, without a component.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::{is_nic_type, Cause, DropRef, Finding, FindingTraits, Locality};
use crate::model::*;
use crate::nic::{mangle_instance, AdapterChange, Change, Counter, NicSet};

/// Collects what the join needs of a capture while it streams (events 80 and 90 only).
#[derive(Debug)]
pub(super) struct NicJoin {
    set: Arc<NicSet>,
    drop_counters: Vec<DropCounters>,
    flow_counters: Vec<FlowCounters>,
}

impl NicJoin {
    pub(super) fn new(set: Arc<NicSet>) -> NicJoin {
        NicJoin {
            set,
            drop_counters: Vec::new(),
            flow_counters: Vec::new(),
        }
    }

    pub(super) fn record(&mut self, record: &Record) {
        match record {
            Record::DropCounters(d) => self.drop_counters.push(d.clone()),
            Record::FlowCounters(f) => self.flow_counters.push(f.clone()),
            _ => {}
        }
    }

    pub(super) fn finish(self, components: &ComponentTable, span: Option<(FileTime, FileTime)>) -> NicReport {
        join(&self.set, components, &self.drop_counters, &self.flow_counters, span)
    }
}

/// What the join found: the findings and the summary the reports show.
#[derive(Debug, Clone, Default)]
pub struct NicReport {
    pub findings: Vec<Finding>,
    pub summary: NicSummary,
}

/// The snapshots joined to an input, per adapter.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NicSummary {
    /// The files, first to last.
    pub files: Vec<String>,
    pub snapshots: usize,
    /// How first and last were told apart: `timestamps`, `file_names`, `file_order`, or `single`.
    pub order: &'static str,
    pub adapters: Vec<NicAdapter>,
    /// Adapters of the snapshots that match no adapter of the capture.
    pub unmatched: Vec<String>,
    /// Timing and reading problems, in words.
    pub notes: Vec<String>,
}

/// One adapter of the snapshots and the component it was joined to.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NicAdapter {
    pub adapter: String,
    pub name: Option<String>,
    pub if_index: Option<u32>,
    pub mac: Option<String>,
    pub component: Option<u16>,
    pub component_name: Option<String>,
    /// `if_index`, `mac`, `description` or `name`; none when it matched no adapter.
    pub joined_by: Option<&'static str>,
    /// `clean`, `loss` (discards or errors rose), `went_down` (reset or wrapped), `totals` (one snapshot).
    pub status: &'static str,
    pub changes: BTreeMap<Counter, Change>,
    /// What PktMon counted at the component during the capture (events 90 and 80).
    pub capture_received: Option<u64>,
    pub capture_sent: Option<u64>,
    pub capture_drops_in: Option<u64>,
    pub capture_drops_out: Option<u64>,
    /// The one line the reports print.
    pub line: String,
}

fn inbound(tag: u16) -> Option<bool> {
    match tag {
        1 | 3 | 5 => Some(true),
        2 | 4 | 6 => Some(false),
        _ => None,
    }
}

/// Packets per side (inbound, outbound) from counters that name their two direction tags.
fn sides<'a>(it: impl Iterator<Item = [(u16, u64); 2]> + 'a) -> (Option<u64>, Option<u64>) {
    let (mut rx, mut tx): (Option<u64>, Option<u64>) = (None, None);
    for pair in it {
        for (tag, n) in pair {
            match inbound(tag) {
                Some(true) => rx = Some(rx.unwrap_or(0).max(n)),
                Some(false) => tx = Some(tx.unwrap_or(0).max(n)),
                None => {}
            }
        }
    }
    (rx, tx)
}

/// A test of a component against a snapshot adapter.
type Test<'a> = dyn Fn(&Component) -> bool + 'a;

/// The network adapter component a snapshot adapter is, and by what.
fn match_component<'a>(
    a: &AdapterChange,
    nics: &[&'a Component],
    seen: &dyn Fn(u16) -> bool,
) -> Option<(&'a Component, &'static str)> {
    let s = &a.adapter;
    let eq = |x: &str, y: &str| x.trim().eq_ignore_ascii_case(y.trim());
    let by_description = |c: &Component| {
        !c.description.is_empty()
            && (s.description.as_deref().is_some_and(|d| eq(d, &c.description))
                || s.instance
                    .as_deref()
                    .is_some_and(|i| eq(i, &mangle_instance(&c.description))))
    };
    let criteria: [(&'static str, &Test<'_>); 4] = [
        ("if_index", &|c: &Component| {
            s.if_index.is_some() && c.if_index() == s.if_index
        }),
        ("mac", &|c: &Component| {
            s.mac_bytes().is_some() && c.mac() == s.mac_bytes() && c.mac() != Some([0; 6])
        }),
        ("description", &by_description),
        ("name", &|c: &Component| {
            s.name
                .as_deref()
                .is_some_and(|n| eq(n, &c.name) || (!c.description.is_empty() && eq(n, &c.description)))
        }),
    ];
    for (how, test) in criteria {
        let mut found: Vec<&Component> = nics.iter().copied().filter(|c| test(c)).collect();
        if found.is_empty() {
            continue;
        }
        // Several (a miniport and its virtual twin share a MAC): the one whose description
        // matches too, then one that passed packets, then the lowest id.
        found.sort_by_key(|c| (!by_description(c), !seen(c.id), c.id));
        return Some((found[0], how));
    }
    None
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Joins the snapshots to the capture's adapters.
pub fn join(
    set: &NicSet,
    components: &ComponentTable,
    drop_counters: &[DropCounters],
    flow_counters: &[FlowCounters],
    span: Option<(FileTime, FileTime)>,
) -> NicReport {
    let nics: Vec<&Component> = components.iter().filter(|c| is_nic_type(c.component_type)).collect();
    let flow_of = |c: u16| {
        sides(
            flow_counters
                .iter()
                .filter(|f| f.component_id == c)
                .map(|f| [(f.direction_in, f.packets_in), (f.direction_out, f.packets_out)]),
        )
    };
    let drops_of = |c: u16| {
        sides(
            drop_counters
                .iter()
                .filter(|d| d.component_id == c)
                .map(|d| [(d.direction_in, d.packets_in), (d.direction_out, d.packets_out)]),
        )
    };
    let seen = |c: u16| {
        let (rx, tx) = flow_of(c);
        rx.unwrap_or(0) + tx.unwrap_or(0) > 0
    };
    let mut summary = NicSummary {
        files: Vec::new(),
        snapshots: set.snapshots.len(),
        order: set.order,
        ..Default::default()
    };
    for s in &set.snapshots {
        if !summary.files.contains(&s.file) {
            summary.files.push(s.file.clone());
        }
    }
    summary.notes.extend(set.errors.iter().cloned());
    // Whether the snapshots bracket the capture (when both have times).
    let times: Vec<FileTime> = set.snapshots.iter().filter_map(|s| s.time).collect();
    let mut timing = String::new();
    if let (Some((start, end)), true, true) = (span, times.len() == set.snapshots.len(), times.len() >= 2) {
        let (first, last) = (times[0], times[times.len() - 1]);
        const SLACK: FileTime = 10_000_000;
        if first > start.saturating_add(SLACK) || last < end.saturating_sub(SLACK) {
            timing = format!(
                "the snapshots ({} → {}) do not bracket the capture ({} → {}): the change covers another span",
                crate::time::format_utc(first),
                crate::time::format_utc(last),
                crate::time::format_utc(start),
                crate::time::format_utc(end)
            );
            summary.notes.push(timing.clone());
        }
    }
    let (first, last) = span.unwrap_or((0, 0));
    let mut findings = Vec::new();
    for a in &set.adapters {
        let label = a.adapter.label();
        let matched = match_component(a, &nics, &seen);
        let (capture_received, capture_sent) = matched.map(|(c, _)| flow_of(c.id)).unwrap_or((None, None));
        let (capture_drops_in, capture_drops_out) = matched.map(|(c, _)| drops_of(c.id)).unwrap_or((None, None));
        let rose: Vec<(Counter, u64, u64, u64)> = Counter::LOSS
            .into_iter()
            .filter_map(|c| match a.changes.get(&c) {
                Some(&Change::Rose { before, after, delta }) if delta > 0 => Some((c, before, after, delta)),
                _ => None,
            })
            .collect();
        let went_down: Vec<(Counter, u64, u64)> = a
            .changes
            .iter()
            .filter_map(|(c, ch)| match *ch {
                Change::WentDown { before, after } => Some((*c, before, after)),
                _ => None,
            })
            .collect();
        let single = a.before.is_none();
        let who = match matched {
            Some((c, how)) => format!(
                "{label} (component {} {}, joined by {})",
                c.id,
                c.name,
                match how {
                    "if_index" => format!("ifIndex {}", c.if_index().unwrap_or_default()),
                    "mac" => "MAC address".to_string(),
                    other => other.to_string(),
                }
            ),
            None => format!("{label} (matches no adapter of the capture)"),
        };
        let status;
        let line = if single {
            status = "totals";
            let totals: Vec<String> = Counter::LOSS
                .into_iter()
                .filter_map(|c| match a.changes.get(&c) {
                    Some(Change::Total { total }) => Some(format!("{} {}", thousands(*total), c.words())),
                    _ => None,
                })
                .collect();
            format!(
                "{who}: one snapshot, so totals since the adapter started, not the capture's: {}",
                totals.join(", ")
            )
        } else if !went_down.is_empty() {
            status = "went_down";
            let list: Vec<String> = went_down
                .iter()
                .map(|(c, b, af)| format!("{} {} → {}", c.property(), thousands(*b), thousands(*af)))
                .collect();
            format!(
                "{who}: counters went down between the snapshots ({}): the adapter was reset or restarted (or a \
                 counter wrapped), so the change during the capture is unknown",
                list.join(", ")
            )
        } else if rose.is_empty() {
            status = "clean";
            format!("{who}: clean, no discards or errors between the snapshots")
        } else {
            status = "loss";
            let list: Vec<String> = rose
                .iter()
                .map(|(c, _, _, d)| format!("{} {}", thousands(*d), c.words()))
                .collect();
            format!("{who}: {} between the snapshots", list.join(", "))
        };
        if matched.is_none() {
            summary.unmatched.push(label.clone());
        }
        if status == "loss" {
            for &(counter, before, after, delta) in &rose {
                findings.push(finding(
                    a,
                    matched.map(|(c, _)| c),
                    counter,
                    (before, after, delta),
                    if counter.inbound() {
                        (capture_received, capture_drops_in)
                    } else {
                        (capture_sent, capture_drops_out)
                    },
                    (first, last),
                    &timing,
                ));
            }
        }
        summary.adapters.push(NicAdapter {
            adapter: label,
            name: a.adapter.name.clone(),
            if_index: a.adapter.if_index,
            mac: a.adapter.mac.clone(),
            component: matched.map(|(c, _)| c.id),
            component_name: matched.map(|(c, _)| c.name.clone()),
            joined_by: matched.map(|(_, how)| how),
            status,
            changes: a.changes.clone(),
            capture_received,
            capture_sent,
            capture_drops_in,
            capture_drops_out,
            line,
        });
    }
    NicReport { findings, summary }
}

/// The finding of one counter that rose on one adapter.
fn finding(
    a: &AdapterChange,
    component: Option<&Component>,
    counter: Counter,
    (before, after, delta): (u64, u64, u64),
    (capture_packets, capture_drops): (Option<u64>, Option<u64>),
    (first, last): (FileTime, FileTime),
    timing: &str,
) -> Finding {
    let label = a.adapter.label();
    let errors = counter.is_error();
    let direction = if counter.inbound() { "Rx" } else { "Tx" };
    let name = component.map(|c| c.name.clone()).unwrap_or_else(|| label.clone());
    let who = match component {
        Some(c) => format!("The network adapter {label} (component {}, {})", c.id, c.name),
        None => format!("The network adapter {label} (in no component of the capture)"),
    };
    let way = if counter.inbound() { "received" } else { "sent" };
    let capture = match (component, capture_packets) {
        (None, _) => "The capture has no component for it, so it cannot say what passed there.".to_string(),
        (Some(_), Some(p)) => format!(
            "Beside them, PktMon counted {} packets {way} at that adapter during the capture (flow counters, \
             event 90) and {} drops there (drop counters, event 80): the adapter's {} never reached PktMon, so no \
             drop event can show them.",
            thousands(p),
            thousands(capture_drops.unwrap_or(0)),
            if errors { "bad frames" } else { "discards" }
        ),
        (Some(_), None) => format!(
            "The capture has no PktMon counters (events 80 and 90) for that adapter to set beside them; the \
             adapter's {} never reach PktMon, so no drop event can show them.",
            if errors { "bad frames" } else { "discards" }
        ),
    };
    let why = match counter {
        Counter::ReceivedDiscarded => {
            "Receive discards without errors mean the adapter had no free receive buffer or descriptor when \
             frames arrived (its ring was full: interrupts and DPCs did not keep up, or a burst exceeded it)."
        }
        Counter::OutboundDiscarded => {
            "Outbound discards mean the adapter or its driver could not queue frames to send (send queue full, \
             link down or flapping)."
        }
        Counter::ReceivedErrors => {
            "Receive errors are frames that arrived damaged (CRC or alignment errors, runts): a cable, transceiver, \
             switch port or duplex problem, or a driver fault."
        }
        _ => "Outbound errors are frames the adapter failed to send (collisions, carrier or hardware errors).",
    };
    let did = match counter {
        Counter::ReceivedDiscarded => format!("discarded {} received packets", thousands(delta)),
        Counter::OutboundDiscarded => format!("discarded {} outbound packets", thousands(delta)),
        Counter::ReceivedErrors => format!("received {} packets with errors", thousands(delta)),
        _ => format!("failed to send {} packets (outbound errors)", thousands(delta)),
    };
    let explanation = format!(
        "{who} {did} during the capture, unseen by PktMon. Its counter {} went from {} to {} \
         between the snapshots ({}). {capture} {why}{}",
        counter.property(),
        thousands(before),
        thousands(after),
        match (&a.before, a.after.as_str()) {
            (Some(b), after) => format!("{b} → {after}"),
            (None, after) => after.to_string(),
        },
        if timing.is_empty() {
            String::new()
        } else {
            format!(" Note: {timing}.")
        }
    );
    let alias = a
        .adapter
        .name
        .clone()
        .unwrap_or_else(|| a.adapter.description.clone().unwrap_or_else(|| "<adapter>".into()));
    let next_step = if errors {
        format!(
            "Check the physical link: cable and transceiver, the switch port's own error counters, speed and duplex \
             on both ends (`Get-NetAdapter -Name \"{alias}\" | fl LinkSpeed,FullDuplex`); then update the adapter's \
             driver and firmware and compare `Get-NetAdapterStatistics -Name \"{alias}\"` again."
        )
    } else {
        format!(
            "Update the adapter's driver and firmware; raise its receive (and transmit) buffers \
             (`Get-NetAdapterAdvancedProperty -Name \"{alias}\" -DisplayName \"Receive Buffers\"`, then \
             `Set-NetAdapterAdvancedProperty … -DisplayValue <max>`); check RSS spreads the load over cores \
             (`Get-NetAdapterRss -Name \"{alias}\"`) and interrupt moderation (`Get-NetAdapterAdvancedProperty \
             -Name \"{alias}\" | ? DisplayName -like '*Interrupt*'`); then take `Get-NetAdapterStatistics` again \
             around a capture to see the discards stop."
        )
    };
    Finding {
        locality: Locality::Local,
        cause: if errors { Cause::InvalidPacket } else { Cause::Resources },
        symptom: if errors { "adapter errors" } else { "adapter discards" }.to_string(),
        count: delta,
        flow: None,
        flow_key: None,
        first_time: crate::time::format_utc(first),
        last_time: crate::time::format_utc(last),
        first,
        frames: Vec::new(),
        drops: vec![(
            DropRef {
                reason: None,
                reason_text: format!("{} (the adapter's own counter)", counter.property()),
                location: String::new(),
                location_name: None,
                component: component.map(|c| c.id),
                component_name: name,
                direction: direction.to_string(),
                tcpip_layer: None,
                tcpip_reason: None,
            },
            delta,
        )],
        display_filter: String::new(),
        pktmon_filter: component.map(|c| format!("pktmon.component_id == {}", c.id)),
        explanation,
        next_step,
        tcpip: None,
        problem: None,
        background: None,
        traits: FindingTraits {
            dropped_packets: delta,
            ..Default::default()
        },
    }
}
