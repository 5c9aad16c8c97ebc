//! `info` and `components`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use pktmon::model::*;
use pktmon::packets::{Grouper, HopKey};
use pktmon::sink::counted;
use pktmon::source;
use pktmon::source::summary::{self, DistinctIds};
use pktmon::time::format_utc;

use super::{emit, fail, report};

#[derive(Serialize)]
struct ComponentUse {
    id: u16,
    name: String,
    description: String,
    appearances: u64,
    drops: u64,
}

#[derive(Serialize)]
struct CounterLine {
    component: u16,
    component_name: String,
    direction_in: String,
    packets_in: u64,
    bytes_in: u64,
    direction_out: String,
    packets_out: u64,
    bytes_out: u64,
    /// Drop events the capture holds for this component on each side, to set against the counts.
    drop_events_in: u64,
    drop_events_out: u64,
}

#[derive(Serialize)]
struct FlowCounterLine {
    component: u16,
    component_name: String,
    edge: String,
    edge_id: u16,
    direction_in: String,
    packets_in: u64,
    bytes_in: u64,
    direction_out: String,
    packets_out: u64,
    bytes_out: u64,
    /// Flow events the capture holds for this component and edge on each side.
    flow_events_in: u64,
    flow_events_out: u64,
}

#[derive(Serialize)]
struct InfoReport {
    file: String,
    kind: String,
    has_pktmon_metadata: bool,
    windows_build: Option<u32>,
    os: Option<String>,
    first_packet: Option<String>,
    last_packet: Option<String>,
    capture_start: Option<String>,
    timezone_bias_minutes: Option<i32>,
    processors: Option<u32>,
    appearances: u64,
    flow_events: u64,
    drop_events: u64,
    /// Distinct (PktGroupId, PktNumber) pairs: PktMon's own packet identity.
    distinct_pktmon_packets: u64,
    /// Packets after following each one along its path (on 24H2+ builds
    /// every hop has its own PktGroupId, so this is the real count there).
    packets: u64,
    dropped_packets: u64,
    components_known: u64,
    components_used: Vec<ComponentUse>,
    /// Components with a drop count above zero.
    drop_counters: Vec<CounterLine>,
    /// Components PktMon reported drop counters for (event 80), zero or not.
    drop_counters_reported: u64,
    /// Edges with a flow count above zero (event 90).
    flow_counters: Vec<FlowCounterLine>,
    events_lost: u64,
    buffers_lost: u64,
    buffers_flagged_events_lost: u64,
    buffers: u64,
    compressed_buffers: u64,
    problems: usize,
    /// Adapter counter snapshots of the capture's folder, joined to its adapters.
    #[serde(skip_serializing_if = "Option::is_none")]
    nic: Option<pktmon::diagnose::nic::NicSummary>,
}

/// What `info` counts of the appearances, one at a time as they are read:
/// memory follows the components, edges, open packets of the grouping window
/// and runs of PktGroupIds, not the file.
#[derive(Default)]
struct Tally {
    grouper: Option<Grouper>,
    /// Dropped packets still open (a packet dropped twice counts once).
    dropped_open: BTreeSet<usize>,
    /// Size of `dropped_open` at which packets no longer open are forgotten.
    prune_at: usize,
    dropped_packets: u64,
    ids: DistinctIds,
    used: BTreeMap<u16, (u64, u64)>,
    drop_events: BTreeMap<(u16, bool), u64>,
    flow_events: BTreeMap<(u16, u16, bool), u64>,
    first: Option<FileTime>,
    last: Option<FileTime>,
    appearances: u64,
    drops: u64,
}

impl Tally {
    fn add(&mut self, ctx: &Context<'_>, a: &Appearance) {
        let g = self.grouper.get_or_insert_with(|| Grouper::for_capture(ctx.info));
        let (p, _) = g.assign(&HopKey::of(a));
        if a.is_drop() && self.dropped_open.insert(p) {
            self.dropped_packets += 1;
            if self.dropped_open.len() > self.prune_at {
                let oldest = g.oldest_open();
                self.dropped_open.retain(|&q| q >= oldest);
                self.prune_at = (2 * self.dropped_open.len()).max(4096);
            }
        }
        self.appearances += 1;
        self.first = Some(self.first.map_or(a.time, |t| t.min(a.time)));
        self.last = Some(self.last.map_or(a.time, |t| t.max(a.time)));
        if let Some(id) = a.component_id {
            let e = self.used.entry(id).or_default();
            e.0 += 1;
            if a.is_drop() {
                e.1 += 1;
            }
        }
        if let Some(gid) = a.group_id {
            self.ids.insert(gid, a.pkt_number.unwrap_or(0));
        }
        // In, Rx and Ingress tags are odd, Out, Tx and Egress even: counters and drop events may use either tag of a side.
        if a.is_drop() {
            self.drops += 1;
            if let (Some(id), Some(d)) = (a.component_id, a.direction.filter(|&d| d != 0)) {
                *self.drop_events.entry((id, d % 2 == 1)).or_default() += 1;
            }
        } else if let (Some(id), Some(edge), Some(d)) = (a.component_id, a.edge_id, a.direction.filter(|&d| d != 0)) {
            *self.flow_events.entry((id, edge, d % 2 == 1)).or_default() += 1;
        }
    }
}

/// `c` is the capture without its appearances ([`summary::read_streaming`]), `t` what was counted of them.
fn build_report(c: &Capture, t: &Tally) -> InfoReport {
    let used = &t.used;
    let dir = |d: u16| {
        c.catalog
            .direction(d)
            .map(|t| t.trim().to_string())
            .unwrap_or_else(|| d.to_string())
    };
    let name = |id: u16| c.components.get(id).map(|x| x.name.clone()).unwrap_or_default();
    let (drop_events, flow_events) = (&t.drop_events, &t.flow_events);
    let flows_on = |id: u16, edge: u16, tag: u16| {
        if tag == 0 {
            0
        } else {
            flow_events.get(&(id, edge, tag % 2 == 1)).copied().unwrap_or(0)
        }
    };
    let events_on = |id: u16, tag: u16| {
        if tag == 0 {
            0
        } else {
            drop_events.get(&(id, tag % 2 == 1)).copied().unwrap_or(0)
        }
    };
    InfoReport {
        file: c.info.file.clone(),
        kind: c.info.kind.map(|k| k.describe().to_string()).unwrap_or_default(),
        has_pktmon_metadata: c.info.kind.map(|k| k.has_metadata()).unwrap_or(false),
        windows_build: c.info.os_build,
        os: c.info.os_name(),
        first_packet: t.first.map(format_utc),
        last_packet: t.last.map(format_utc),
        capture_start: c.info.start_time.map(format_utc),
        timezone_bias_minutes: c.info.timezone_bias_minutes,
        processors: c.info.processors,
        appearances: t.appearances,
        flow_events: t.appearances - t.drops,
        drop_events: t.drops,
        distinct_pktmon_packets: t.ids.len(),
        packets: t.grouper.as_ref().map_or(0, |g| g.packet_count() as u64),
        dropped_packets: t.dropped_packets,
        components_known: c.components.len() as u64,
        components_used: used
            .iter()
            .map(|(&id, &(n, d))| ComponentUse {
                id,
                name: name(id),
                description: c.components.get(id).map(|x| x.description.clone()).unwrap_or_default(),
                appearances: n,
                drops: d,
            })
            .collect(),
        drop_counters: c
            .drop_counters
            .iter()
            .filter(|d| d.packets_in + d.packets_out > 0)
            .map(|d| CounterLine {
                component: d.component_id,
                component_name: name(d.component_id),
                direction_in: dir(d.direction_in),
                packets_in: d.packets_in,
                bytes_in: d.bytes_in,
                direction_out: dir(d.direction_out),
                packets_out: d.packets_out,
                bytes_out: d.bytes_out,
                drop_events_in: events_on(d.component_id, d.direction_in),
                drop_events_out: events_on(d.component_id, d.direction_out),
            })
            .collect(),
        drop_counters_reported: c.drop_counters.len() as u64,
        flow_counters: c
            .flow_counters
            .iter()
            .filter(|f| f.packets_in + f.packets_out > 0)
            .map(|f| FlowCounterLine {
                component: f.component_id,
                component_name: name(f.component_id),
                edge: f.edge_name.clone(),
                edge_id: f.edge_id,
                direction_in: dir(f.direction_in),
                packets_in: f.packets_in,
                bytes_in: f.bytes_in,
                direction_out: dir(f.direction_out),
                packets_out: f.packets_out,
                bytes_out: f.bytes_out,
                flow_events_in: flows_on(f.component_id, f.edge_id, f.direction_in),
                flow_events_out: flows_on(f.component_id, f.edge_id, f.direction_out),
            })
            .collect(),
        events_lost: c.info.events_lost,
        buffers_lost: c.info.buffers_lost,
        buffers_flagged_events_lost: c.info.buffers_flagged_events_lost,
        buffers: c.info.buffers,
        compressed_buffers: c.info.compressed_buffers,
        problems: c.diagnostics.items.len() + c.diagnostics.suppressed as usize,
        nic: None,
    }
}

fn print_report(r: &InfoReport, out: &mut String) -> std::fmt::Result {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    writeln!(out, "{}", r.file)?;
    writeln!(out, "  kind:              {}", r.kind)?;
    match (&r.windows_build, &r.os) {
        (Some(b), Some(os)) => writeln!(out, "  windows build:     {b} ({os})")?,
        (Some(b), None) => writeln!(out, "  windows build:     {b}")?,
        (None, Some(os)) => writeln!(out, "  os:                {os}")?,
        (None, None) => writeln!(out, "  windows build:     unknown")?,
    }
    writeln!(out, "  packets from:      {}", opt(&r.first_packet))?;
    writeln!(out, "  packets to:        {}", opt(&r.last_packet))?;
    if let Some(b) = r.timezone_bias_minutes {
        writeln!(out, "  time zone:         UTC{:+03}:{:02}", -b / 60, (b.abs()) % 60)?;
    }
    writeln!(
        out,
        "  appearances:       {} ({} flow, {})",
        r.appearances,
        r.flow_events,
        counted(r.drop_events, "drop event")
    )?;
    writeln!(
        out,
        "  packets:           {} along their paths ({} dropped); {} distinct (PktGroupId, PktNumber)",
        r.packets, r.dropped_packets, r.distinct_pktmon_packets
    )?;
    writeln!(
        out,
        "  components:        {} used of {} known",
        r.components_used.len(),
        r.components_known
    )?;
    for c in &r.components_used {
        writeln!(
            out,
            "    {:>5} {:<18} {:<40} {:>7} {:<11} {:>5} {}",
            c.id,
            c.name,
            c.description,
            c.appearances,
            if c.appearances == 1 {
                "appearance"
            } else {
                "appearances"
            },
            c.drops,
            if c.drops == 1 { "drop" } else { "drops" }
        )?;
    }
    // "Rx 26 packets 857 bytes [26]": one side of a counter line.
    let side = |direction: &str, packets: u64, bytes: u64, events: u64| {
        format!(
            "{direction} {} {} [{events}]",
            counted(packets, "packet"),
            counted(bytes, "byte")
        )
    };
    if !r.drop_counters.is_empty() {
        writeln!(
            out,
            "  drop counters (PktMon's own count, captured or not; drop events captured in brackets):"
        )?;
        for d in &r.drop_counters {
            writeln!(
                out,
                "    {:>5} {:<18} {}, {}",
                d.component,
                d.component_name,
                side(&d.direction_in, d.packets_in, d.bytes_in, d.drop_events_in),
                side(&d.direction_out, d.packets_out, d.bytes_out, d.drop_events_out)
            )?;
        }
    } else if r.drop_counters_reported == 1 {
        writeln!(out, "  drop counters:     0 on the 1 component that reported them")?;
    } else if r.drop_counters_reported > 0 {
        writeln!(
            out,
            "  drop counters:     0 on all {} components that reported them",
            r.drop_counters_reported
        )?;
    }
    if !r.flow_counters.is_empty() {
        writeln!(
            out,
            "  flow counters (packets that passed each edge, captured or not; flow events captured in brackets):"
        )?;
        for f in &r.flow_counters {
            writeln!(
                out,
                "    {:>5} {:<18} {:<6} {}, {}",
                f.component,
                f.component_name,
                format!("{}({})", f.edge, f.edge_id),
                side(&f.direction_in, f.packets_in, f.bytes_in, f.flow_events_in),
                side(&f.direction_out, f.packets_out, f.bytes_out, f.flow_events_out)
            )?;
        }
    }
    if r.buffers > 0 {
        writeln!(
            out,
            "  buffers:           {} ({} compressed)",
            r.buffers, r.compressed_buffers
        )?;
    }
    writeln!(
        out,
        "  events lost:       {} (buffers lost {}, buffers flagged {})",
        r.events_lost, r.buffers_lost, r.buffers_flagged_events_lost
    )?;
    if let Some(n) = &r.nic {
        writeln!(
            out,
            "  adapter counters:  {} ({} snapshots)",
            n.files.join(" → "),
            n.snapshots
        )?;
        for a in &n.adapters {
            writeln!(out, "    {}", a.line)?;
        }
        for note in &n.notes {
            writeln!(out, "    note: {note}")?;
        }
    }
    if !r.has_pktmon_metadata {
        writeln!(
            out,
            "  note:              this file has no PktMon metadata (no components, directions or drop reasons)"
        )?;
    }
    Ok(())
}

pub fn info(files: &[PathBuf], json: bool) -> i32 {
    let mut code = 0;
    let mut reports = Vec::new();
    // Adapter counter snapshots join the captures of their folder.
    let (nic_files, files): (Vec<PathBuf>, Vec<PathBuf>) = files
        .iter()
        .cloned()
        .partition(|f| matches!(source::detect(f), Ok(source::Detected::NicCounters)));
    let nic_sets = super::diagnose::nic_plan(&nic_files, &files);
    if files.is_empty() {
        eprintln!("error: no capture among the inputs");
        return 2;
    }
    for f in &files {
        let mut tally = Tally::default();
        match summary::read_streaming(f, true, |ctx, a| tally.add(ctx, a)) {
            Ok(c) => {
                if report(&c.diagnostics) {
                    code = 2;
                }
                let mut r = build_report(&c, &tally);
                if let Some(set) = f.parent().and_then(|d| nic_sets.get(d)) {
                    for e in &set.errors {
                        eprintln!("error: {e}");
                        code = 2;
                    }
                    let span = tally.first.zip(tally.last).or(c.info.start_time.zip(c.info.end_time));
                    let joined =
                        pktmon::diagnose::nic::join(set, &c.components, &c.drop_counters, &c.flow_counters, span);
                    r.nic = Some(joined.summary);
                }
                if !json {
                    let mut text = String::new();
                    let _ = print_report(&r, &mut text);
                    if let Err(m) = emit(None, &[], text.as_bytes()) {
                        eprintln!("error: {m}");
                        return 2;
                    }
                }
                reports.push(r);
            }
            Err(e) => code = fail(&e),
        }
    }
    if json {
        let text = serde_json::to_string_pretty(&reports).unwrap_or_default() + "\n";
        if let Err(m) = emit(None, &[], text.as_bytes()) {
            eprintln!("error: {m}");
            return 2;
        }
    }
    code
}

pub fn components(file: &Path, json: bool) -> i32 {
    // The component table only: packets are passed over (without their bytes).
    let c = match summary::read_streaming(file, false, |_, _| {}) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let code = if report(&c.diagnostics) { 2 } else { 0 };
    let text = if json {
        serde_json::to_string_pretty(&c.components).unwrap_or_default() + "\n"
    } else {
        let mut text = String::new();
        let _ = component_table(&c, &mut text);
        text
    };
    if let Err(m) = emit(None, &[], text.as_bytes()) {
        eprintln!("error: {m}");
        return 2;
    }
    code
}

fn component_table(c: &Capture, out: &mut String) -> std::fmt::Result {
    writeln!(
        out,
        "{:>5}  {:<16} {:<22} {:<44} {:<17} {:>7}  ADDRESSES",
        "ID", "TYPE", "NAME", "DESCRIPTION", "MAC", "IFINDEX"
    )?;
    for comp in c.components.iter() {
        let ty = c
            .catalog
            .component_type(comp.component_type)
            .map(|t| t.trim().to_string())
            .unwrap_or_else(|| comp.component_type.to_string());
        let mac = comp
            .mac()
            .map(|m| m.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join("-"))
            .unwrap_or_default();
        let addrs: Vec<String> = comp
            .ipv4_addresses()
            .map(|a| a.to_string())
            .chain(comp.ipv6_addresses().map(|a| a.to_string()))
            .collect();
        writeln!(
            out,
            "{:>5}  {:<16} {:<22} {:<44} {:<17} {:>7}  {}",
            comp.id,
            ty,
            comp.name,
            comp.description,
            mac,
            comp.if_index().map(|i| i.to_string()).unwrap_or_default(),
            addrs.join(" ")
        )?;
    }
    Ok(())
}
