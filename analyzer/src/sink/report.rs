//! Diagnosis outputs: the human report, the JSON summary, a JSON-lines
//! stream of findings, and CSV tables.

use std::fmt::Write as _;

use serde::Serialize;

use crate::diagnose::tcpip::OffsetSource;
use crate::diagnose::{Cause, Diagnosis, Finding, Locality};
use crate::sink::drops::{to_csv, DropRow};

/// Version of the JSON summary's layout; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// One input of a batch: its diagnosis, or why it could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct InputResult {
    pub file: String,
    #[serde(flatten)]
    pub diagnosis: Option<Diagnosis>,
    pub error: Option<String>,
    pub warnings: Vec<String>,
}

/// A finding with the file it belongs to (for merged outputs).
#[derive(Debug, Clone, Serialize)]
pub struct FileFinding<'a> {
    pub file: &'a str,
    #[serde(flatten)]
    pub finding: &'a Finding,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MergedTotals {
    pub inputs: u64,
    pub inputs_failed: u64,
    pub appearances: u64,
    pub packets: u64,
    pub drop_events: u64,
    pub findings: u64,
    /// locality → cause → occurrences.
    pub by_cause: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>>,
}

#[derive(Serialize)]
struct Summary<'a> {
    schema_version: u32,
    tool: &'static str,
    inputs: Vec<InputSummary<'a>>,
    totals: MergedTotals,
    findings: Vec<FileFinding<'a>>,
    drop_summary: Vec<&'a DropRow>,
}

#[derive(Serialize)]
struct InputSummary<'a> {
    file: &'a str,
    kind: Option<&'a str>,
    windows_build: Option<u32>,
    has_pktmon_metadata: Option<bool>,
    totals: Option<&'a crate::diagnose::Totals>,
    error: Option<&'a str>,
    warnings: &'a [String],
    /// The netsh trace joined to this input (or read alone), and the time offset used.
    tcpip: Option<&'a crate::diagnose::tcpip::TcpipSummary>,
}

pub fn merged_totals(results: &[InputResult]) -> MergedTotals {
    let mut t = MergedTotals {
        inputs: results.len() as u64,
        ..Default::default()
    };
    for r in results {
        match &r.diagnosis {
            None => t.inputs_failed += 1,
            Some(d) => {
                t.appearances += d.totals.appearances;
                t.packets += d.totals.packets;
                t.drop_events += d.totals.drop_events;
                t.findings += d.findings.len() as u64;
                for f in &d.findings {
                    *t.by_cause
                        .entry(f.locality.as_str().to_string())
                        .or_default()
                        .entry(f.cause.as_str().to_string())
                        .or_default() += f.count;
                }
            }
        }
    }
    t
}

fn all_findings(results: &[InputResult]) -> Vec<FileFinding<'_>> {
    results
        .iter()
        .filter_map(|r| r.diagnosis.as_ref().map(|d| (r.file.as_str(), d)))
        .flat_map(|(file, d)| d.findings.iter().map(move |finding| FileFinding { file, finding }))
        .collect()
}

/// The `--json` summary.
pub fn json_summary(results: &[InputResult]) -> String {
    let summary = Summary {
        schema_version: SCHEMA_VERSION,
        tool: concat!("pktmon-analyzer ", env!("CARGO_PKG_VERSION")),
        inputs: results
            .iter()
            .map(|r| InputSummary {
                file: &r.file,
                kind: r.diagnosis.as_ref().map(|d| d.kind.as_str()),
                windows_build: r.diagnosis.as_ref().and_then(|d| d.windows_build),
                has_pktmon_metadata: r.diagnosis.as_ref().map(|d| d.has_pktmon_metadata),
                totals: r.diagnosis.as_ref().map(|d| &d.totals),
                error: r.error.as_deref(),
                warnings: &r.warnings,
                tcpip: r.diagnosis.as_ref().and_then(|d| d.tcpip.as_ref()),
            })
            .collect(),
        totals: merged_totals(results),
        findings: all_findings(results),
        drop_summary: results
            .iter()
            .filter_map(|r| r.diagnosis.as_ref())
            .flat_map(|d| d.drop_rows.iter())
            .collect(),
    };
    serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n"
}

/// One JSON object per line per finding.
pub fn jsonl(results: &[InputResult]) -> String {
    let mut out = String::new();
    for f in all_findings(results) {
        out.push_str(&serde_json::to_string(&f).unwrap_or_default());
        out.push('\n');
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `findings.csv`.
pub fn findings_csv(results: &[InputResult]) -> String {
    let mut out = String::from(
        "file,locality,cause,symptom,count,flow,first_time,last_time,drop_reasons,components,frames,display_filter,explanation,next_step,tcpip\n",
    );
    for ff in all_findings(results) {
        let f = ff.finding;
        let reasons: Vec<String> = f.drops.iter().map(|(d, n)| format!("{} x{n}", d.reason_text)).collect();
        let comps: Vec<String> = f
            .drops
            .iter()
            .map(|(d, _)| d.component_name.clone())
            .filter(|c| !c.is_empty())
            .collect();
        let frames: Vec<String> = f.frames.iter().map(|n| n.to_string()).collect();
        let fields = [
            csv_field(ff.file),
            f.locality.as_str().to_string(),
            f.cause.as_str().to_string(),
            csv_field(&f.symptom),
            f.count.to_string(),
            csv_field(f.flow.as_deref().unwrap_or("")),
            f.first_time.clone(),
            f.last_time.clone(),
            csv_field(&reasons.join("; ")),
            csv_field(&comps.join("; ")),
            csv_field(&frames.join(" ")),
            csv_field(&f.display_filter),
            csv_field(&f.explanation),
            csv_field(&f.next_step),
            csv_field(&f.tcpip.as_ref().map(tcpip_cell).unwrap_or_default()),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// `retransmit_timer 0xFFFFE189BD811AA0 NetTrace.txt:2 3 4`.
fn tcpip_cell(t: &crate::diagnose::TcpipEvidence) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = t.mechanism {
        parts.push(m.as_str().to_string());
    }
    parts.extend(t.connections.iter().cloned());
    if let Some(ms) = t.rto_ms {
        parts.push(format!("rto={ms}ms"));
    }
    let lines: Vec<String> = t.lines.iter().map(u64::to_string).collect();
    parts.push(format!("{}:{}", t.file, lines.join(" ")));
    parts.join(" ")
}

/// `drops.csv`: the drop summary of every input.
pub fn drops_csv(results: &[InputResult]) -> String {
    let rows: Vec<DropRow> = results
        .iter()
        .filter_map(|r| r.diagnosis.as_ref())
        .flat_map(|d| d.drop_rows.iter().cloned())
        .collect();
    to_csv(&rows)
}

fn locality_label(l: Locality) -> &'static str {
    match l {
        Locality::Local => "LOCAL",
        Locality::Remote => "REMOTE",
        Locality::Unknown => "UNKNOWN",
    }
}

/// How many evidence frames the text report lists per finding.
const TEXT_FRAMES: usize = 12;

/// The human report.
pub fn text_report(results: &[InputResult]) -> String {
    let mut out = String::new();
    for r in results {
        let _ = writeln!(out, "== {}", r.file);
        let Some(d) = &r.diagnosis else {
            let _ = writeln!(
                out,
                "   not diagnosed: {}",
                r.error.as_deref().unwrap_or("unknown error")
            );
            continue;
        };
        let _ = writeln!(
            out,
            "   {}{}",
            d.kind,
            d.windows_build
                .map(|b| format!(", Windows build {b}"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "   {} appearances, {} packets, {} drop events, {} flows",
            d.totals.appearances, d.totals.packets, d.totals.drop_events, d.totals.flows
        );
        if let Some(t) = &d.tcpip {
            let _ = writeln!(
                out,
                "   netsh trace {}: {} TCP/IP events ({} drop events, {} retransmit timer expiries, {} tail loss probes), \
                 {} other TCP/IP lines, {} lines of other providers",
                t.file,
                t.events,
                t.drop_events,
                t.retransmit_timer_expiries,
                t.tail_loss_probes,
                t.tcpip_other_lines,
                t.lines_per_provider
                    .iter()
                    .filter(|(p, _)| p.as_str() != crate::tcpip::PROVIDER)
                    .map(|(_, n)| n)
                    .sum::<u64>()
            );
            if d.totals.appearances > 0 {
                let _ = writeln!(
                    out,
                    "   time offset {:+.3} s ({}); {} drop events matched a captured packet, {} retransmissions linked to their TCP/IP events",
                    t.time_offset_seconds,
                    match t.time_offset_source {
                        OffsetSource::Given => "given".to_string(),
                        OffsetSource::SharedEvents =>
                            format!("{} of {} shared events agree", t.offset_agreeing, t.offset_pairs),
                        OffsetSource::TimeZone =>
                            "no shared events: the capture's time zone, as netsh prints local time".to_string(),
                        OffsetSource::Assumed => "no shared events: clocks taken as equal".to_string(),
                    },
                    t.drops_matched,
                    t.retransmissions_explained
                );
            }
        }
        if d.tcpip.is_some() && d.totals.appearances == 0 {
            let _ = writeln!(
                out,
                "   note: no packets: causes are told from tcpip.sys's own events (drops below it cannot be seen); \
                 times are as netsh printed them, the machine's local time"
            );
        } else if !d.has_pktmon_metadata {
            let _ = writeln!(
                out,
                "   note: no PktMon metadata in this file: local drops cannot be seen, so causes are told from protocol symptoms only"
            );
        }
        for w in &r.warnings {
            let _ = writeln!(out, "   {w}");
        }
        if d.findings.is_empty() {
            let _ = writeln!(out, "   no loss found");
            continue;
        }
        let _ = writeln!(out, "   findings, worst first:");
        for (i, f) in d.findings.iter().enumerate() {
            let _ = writeln!(
                out,
                "\n   {}. {} {} — {} ×{}",
                i + 1,
                locality_label(f.locality),
                f.cause.as_str(),
                f.symptom,
                f.count
            );
            for (drop, n) in &f.drops {
                if let (Some(layer), Some(code)) = (drop.tcpip_layer, drop.tcpip_reason) {
                    let _ = writeln!(
                        out,
                        "      drop: {} discard reason {code} {}{} by {} (netsh trace) ×{n}",
                        if layer == crate::tcpip::DropLayer::Network {
                            "IP"
                        } else {
                            "INET"
                        },
                        drop.reason_text,
                        if drop.direction.is_empty() {
                            String::new()
                        } else {
                            format!(", {}", drop.direction)
                        },
                        drop.component_name
                    );
                    continue;
                }
                let _ = writeln!(
                    out,
                    "      drop: {}{} at {}{} by {}{} ×{n}",
                    drop.reason.map(|r| format!("{r} ")).unwrap_or_default(),
                    drop.reason_text,
                    if drop.location.is_empty() { "?" } else { &drop.location },
                    drop.location_name
                        .as_ref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default(),
                    if drop.component_name.is_empty() {
                        "component"
                    } else {
                        &drop.component_name
                    },
                    drop.component.map(|c| format!(" [{c}]")).unwrap_or_default(),
                );
            }
            if let Some(flow) = &f.flow {
                let _ = writeln!(out, "      flow: {flow}");
            }
            let _ = writeln!(out, "      when: {} – {}", f.first_time, f.last_time);
            let _ = writeln!(out, "      why:  {}", f.explanation);
            let _ = writeln!(out, "      next: {}", f.next_step);
            if let Some(t) = &f.tcpip {
                let lines: Vec<String> = t.lines.iter().take(TEXT_FRAMES).map(|n| n.to_string()).collect();
                let more = t.lines.len().saturating_sub(TEXT_FRAMES);
                let _ = writeln!(
                    out,
                    "      tcp/ip: {}{}{} line{} {}{}",
                    t.mechanism.map(|m| format!("{} ", m.as_str())).unwrap_or_default(),
                    if t.connections.is_empty() {
                        String::new()
                    } else {
                        format!("connection {} ", t.connections.join(", "))
                    },
                    t.file,
                    if t.lines.len() == 1 { "" } else { "s" },
                    lines.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                );
            }
            if f.frames.is_empty() {
                if f.tcpip.is_none() {
                    let _ = writeln!(out, "      evidence: no frames");
                }
            } else {
                let shown: Vec<String> = f.frames.iter().take(TEXT_FRAMES).map(|n| n.to_string()).collect();
                let more = f.frames.len().saturating_sub(TEXT_FRAMES);
                let _ = writeln!(
                    out,
                    "      evidence: frames {}{}",
                    shown.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                );
                let _ = writeln!(
                    out,
                    "      filter: {}",
                    f.pktmon_filter.as_deref().unwrap_or(&f.display_filter)
                );
            }
        }
        let _ = writeln!(out);
    }
    if results.len() > 1 {
        let t = merged_totals(results);
        let _ = writeln!(
            out,
            "== all {} inputs ({} not read): {} packets, {} drop events, {} findings",
            t.inputs, t.inputs_failed, t.packets, t.drop_events, t.findings
        );
        for (loc, causes) in &t.by_cause {
            for (cause, n) in causes {
                let _ = writeln!(out, "   {loc:<8} {cause:<20} {n}");
            }
        }
    }
    out
}

/// A `--fail-on` condition: a cause or a locality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Cause(Cause),
    Locality(Locality),
}

impl std::str::FromStr for FailOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "local" => Ok(FailOn::Locality(Locality::Local)),
            "remote" => Ok(FailOn::Locality(Locality::Remote)),
            "unknown" => Ok(FailOn::Locality(Locality::Unknown)),
            other => Cause::parse(other).map(FailOn::Cause).ok_or_else(|| {
                format!(
                    "{other:?} is neither a locality (local, remote, unknown) nor a cause ({})",
                    Cause::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                )
            }),
        }
    }
}

/// Whether any finding meets a condition.
pub fn fails(results: &[InputResult], conditions: &[FailOn]) -> bool {
    results
        .iter()
        .filter_map(|r| r.diagnosis.as_ref())
        .flat_map(|d| &d.findings)
        .any(|f| {
            conditions.iter().any(|c| match c {
                FailOn::Cause(cause) => f.cause == *cause,
                FailOn::Locality(l) => f.locality == *l,
            })
        })
}
