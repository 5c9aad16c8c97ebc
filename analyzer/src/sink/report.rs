//! Diagnosis outputs: the human report, the JSON summary, a JSON-lines
//! stream of findings, and CSV tables.

use serde::Serialize;

use crate::diagnose::{Cause, Diagnosis, Finding, Locality};
use crate::sink::drops::{to_csv, DropRow};

/// Version of the JSON summary's layout; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 2;

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
    pub problems: u64,
    /// Inputs per verdict status.
    pub status: std::collections::BTreeMap<String, u64>,
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
    os: Option<&'a str>,
    start_time: Option<&'a str>,
    end_time: Option<&'a str>,
    duration_seconds: Option<f64>,
    adapters: Option<&'a [crate::diagnose::Adapter]>,
    /// The answer: status, summary, ranked problems, background.
    verdict: Option<&'a crate::diagnose::Verdict>,
    has_pktmon_metadata: Option<bool>,
    totals: Option<&'a crate::diagnose::Totals>,
    error: Option<&'a str>,
    warnings: &'a [String],
    /// The netsh trace joined to this input (or read alone), and the time offset used.
    tcpip: Option<&'a crate::diagnose::tcpip::TcpipSummary>,
    /// The adapter counter snapshots joined to this input, per adapter.
    #[serde(skip_serializing_if = "Option::is_none")]
    nic: Option<&'a crate::diagnose::nic::NicSummary>,
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
                t.problems += d.verdict.problems.len() as u64;
                *t.status.entry(d.verdict.status.as_str().to_string()).or_default() += 1;
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
                os: r.diagnosis.as_ref().and_then(|d| d.os.as_deref()),
                start_time: r.diagnosis.as_ref().and_then(|d| d.start_time.as_deref()),
                end_time: r.diagnosis.as_ref().and_then(|d| d.end_time.as_deref()),
                duration_seconds: r.diagnosis.as_ref().and_then(|d| d.duration_seconds),
                adapters: r.diagnosis.as_ref().map(|d| d.adapters.as_slice()),
                verdict: r.diagnosis.as_ref().map(|d| &d.verdict),
                has_pktmon_metadata: r.diagnosis.as_ref().map(|d| d.has_pktmon_metadata),
                totals: r.diagnosis.as_ref().map(|d| &d.totals),
                error: r.error.as_deref(),
                warnings: &r.warnings,
                tcpip: r.diagnosis.as_ref().and_then(|d| d.tcpip.as_ref()),
                nic: r.diagnosis.as_ref().and_then(|d| d.nic.as_ref()),
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

/// A problem with the file it belongs to (for merged outputs).
#[derive(Debug, Clone, Serialize)]
pub struct FileProblem<'a> {
    pub file: &'a str,
    #[serde(flatten)]
    pub problem: &'a crate::diagnose::Problem,
}

fn all_problems(results: &[InputResult]) -> Vec<FileProblem<'_>> {
    results
        .iter()
        .filter_map(|r| r.diagnosis.as_ref().map(|d| (r.file.as_str(), d)))
        .flat_map(|(file, d)| {
            d.verdict
                .problems
                .iter()
                .map(move |problem| FileProblem { file, problem })
        })
        .collect()
}

/// One JSON object per line: each problem (`"record": "problem"`), then each finding (`"record": "finding"`).
pub fn jsonl(results: &[InputResult]) -> String {
    #[derive(Serialize)]
    struct Tagged<T: Serialize> {
        record: &'static str,
        #[serde(flatten)]
        item: T,
    }
    let mut out = String::new();
    for p in all_problems(results) {
        let line = Tagged {
            record: "problem",
            item: p,
        };
        out.push_str(&serde_json::to_string(&line).unwrap_or_default());
        out.push('\n');
    }
    for f in all_findings(results) {
        let line = Tagged {
            record: "finding",
            item: f,
        };
        out.push_str(&serde_json::to_string(&line).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// `problems.csv`: one row per problem of every input.
pub fn problems_csv(results: &[InputResult]) -> String {
    let mut out = String::from(
        "file,status,rank,severity,locality,cause,title,endpoints,packets,drop_events,flows,first_time,last_time,explanation,next_step,display_filter,pktmon_filter,findings\n",
    );
    for r in results {
        let Some(d) = &r.diagnosis else { continue };
        for p in &d.verdict.problems {
            let findings: Vec<String> = p.findings.iter().map(|i| i.to_string()).collect();
            let fields = [
                csv_field(&r.file),
                d.verdict.status.as_str().to_string(),
                p.rank.to_string(),
                p.severity.to_string(),
                p.locality.as_str().to_string(),
                p.cause.as_str().to_string(),
                csv_field(&p.title),
                csv_field(&p.endpoints.join(" ")),
                p.packets.to_string(),
                p.drop_events.to_string(),
                p.flows.to_string(),
                p.first_time.clone(),
                p.last_time.clone(),
                csv_field(&p.explanation),
                csv_field(&p.next_step),
                csv_field(&p.display_filter),
                csv_field(p.pktmon_filter.as_deref().unwrap_or("")),
                csv_field(&findings.join(" ")),
            ];
            out.push_str(&fields.join(","));
            out.push('\n');
        }
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
        "file,locality,cause,symptom,count,flow,first_time,last_time,drop_reasons,components,frames,display_filter,explanation,next_step,tcpip,problem,background\n",
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
            f.problem.map(|r| r.to_string()).unwrap_or_default(),
            f.background.unwrap_or_default().to_string(),
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

pub use super::report_text::{text_report, TextOptions};

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
        .filter(|f| f.background.is_none())
        .any(|f| {
            conditions.iter().any(|c| match c {
                FailOn::Cause(cause) => f.cause == *cause,
                FailOn::Locality(l) => f.locality == *l,
            })
        })
}
