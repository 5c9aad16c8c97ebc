//! The human report of `diagnose`: per input a header (OS, duration,
//! adapters), the verdict, the ranked problems with their evidence, and the
//! background in one line; `--all` adds every finding.

use std::fmt::Write as _;

use super::counted;
use super::report::{merged_totals, InputResult};
use crate::diagnose::tcpip::OffsetSource;
use crate::diagnose::{Diagnosis, Finding, Locality, Problem, Status};

/// How the text report is laid out.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    /// Every finding and the background's findings too.
    pub all: bool,
    /// Wrap prose at this many columns (filters are never wrapped, so they stay copyable).
    pub width: Option<usize>,
    /// ANSI colours.
    pub color: bool,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            all: false,
            width: Some(100),
            color: false,
        }
    }
}

/// Problems shown in full without `--all`, then in one line each: the
/// verdict stays within a screen however many problems there are.
const DETAILED_PROBLEMS: usize = 3;
const LISTED_PROBLEMS: usize = 8;
/// How many evidence frames the text report lists per finding.
const TEXT_FRAMES: usize = 12;

struct Out<'a> {
    s: String,
    o: &'a TextOptions,
}

impl Out<'_> {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.o.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// A line of prose: `label` then `text`, wrapped with the text's indentation kept.
    fn prose(&mut self, indent: usize, label: &str, text: &str) {
        let first = format!("{}{label}", " ".repeat(indent));
        let hang = " ".repeat(indent + label.chars().count());
        match self.o.width {
            Some(w) if w > hang.len() + 20 => {
                let mut line = first.clone();
                let mut len = first.chars().count();
                let mut empty = true;
                for word in text.split(' ').filter(|w| !w.is_empty()) {
                    let n = word.chars().count();
                    if !empty && len + 1 + n > w {
                        self.s.push_str(line.trim_end());
                        self.s.push('\n');
                        line = hang.clone();
                        len = hang.len();
                        empty = true;
                    }
                    if !empty {
                        line.push(' ');
                        len += 1;
                    }
                    line.push_str(word);
                    len += n;
                    empty = false;
                }
                self.s.push_str(&line);
                self.s.push('\n');
            }
            _ => {
                let _ = writeln!(self.s, "{first}{text}");
            }
        }
    }

    /// A line never wrapped (filters, frame lists).
    fn raw(&mut self, indent: usize, label: &str, text: &str) {
        let _ = writeln!(self.s, "{}{label}{text}", " ".repeat(indent));
    }
}

fn locality_label(l: Locality) -> &'static str {
    match l {
        Locality::Local => "LOCAL",
        Locality::Remote => "REMOTE",
        Locality::Unknown => "UNKNOWN",
    }
}

/// `2026-02-01T09:36:29.4918712Z` → `09:36:29.491`: times within one capture.
fn clock(t: &str) -> &str {
    t.get(11..23).unwrap_or(t)
}

fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else if seconds < 3600.0 {
        format!("{}m{:02}s", (seconds / 60.0) as u64, (seconds % 60.0) as u64)
    } else {
        format!(
            "{}h{:02}m",
            (seconds / 3600.0) as u64,
            ((seconds % 3600.0) / 60.0) as u64
        )
    }
}

/// The human report.
pub fn text_report(results: &[InputResult], options: &TextOptions) -> String {
    let mut o = Out {
        s: String::new(),
        o: options,
    };
    for r in results {
        let head = o.paint("1", &format!("== {}", r.file));
        o.raw(0, "", &head);
        let Some(d) = &r.diagnosis else {
            o.prose(3, "not diagnosed: ", r.error.as_deref().unwrap_or("unknown error"));
            continue;
        };
        header(&mut o, d, &r.warnings);
        for w in &r.warnings {
            o.prose(3, "", w);
        }
        verdict(&mut o, d);
        if options.all {
            findings(&mut o, d);
        }
        o.s.push('\n');
    }
    if results.len() > 1 {
        batch(&mut o, results);
    }
    o.s
}

fn header(o: &mut Out<'_>, d: &Diagnosis, warnings: &[String]) {
    // The reader's own warning already says it when the file has no PktMon metadata.
    let said_no_metadata = warnings.iter().any(|w| w.contains("no PktMon metadata"));
    let os = d.system();
    let when = match (&d.start_time, d.duration_seconds) {
        (Some(start), Some(s)) => format!("{} from {start}", duration(s)),
        (Some(start), None) => format!("from {start}"),
        _ => String::new(),
    };
    let first: Vec<&str> = [d.kind.as_str(), os.as_str(), when.as_str()]
        .into_iter()
        .filter(|x| !x.is_empty())
        .collect();
    o.prose(3, "", &first.join("; "));
    if !d.adapters.is_empty() {
        // The header stays short: a laptop can list a dozen virtual adapters.
        const SHOWN_ADAPTERS: usize = 3;
        let mut list: Vec<String> = d.adapters.iter().take(SHOWN_ADAPTERS).map(|a| a.label()).collect();
        if d.adapters.len() > SHOWN_ADAPTERS {
            list.push(format!(
                "and {} more (--json lists them)",
                d.adapters.len() - SHOWN_ADAPTERS
            ));
        }
        o.prose(
            3,
            if d.adapters.len() == 1 {
                "adapter: "
            } else {
                "adapters: "
            },
            &list.join("; "),
        );
    }
    o.prose(
        3,
        "",
        &format!(
            "{}, {}, {}, {}",
            counted(d.totals.appearances, "appearance"),
            counted(d.totals.packets, "packet"),
            counted(d.totals.drop_events, "drop event"),
            counted(d.totals.flows, "flow")
        ),
    );
    if let Some(t) = &d.tcpip {
        o.prose(
            3,
            "",
            &format!(
                "netsh trace {}: {} TCP/IP events ({} drop events, {} retransmit timer expiries, {} tail loss \
                 probes), {} other TCP/IP lines, {} lines of other providers",
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
            ),
        );
        if d.totals.appearances > 0 {
            o.prose(
                3,
                "",
                &format!(
                    "time offset {:+.3} s ({}); {} drop events matched a captured packet, {} retransmissions \
                     linked to their TCP/IP events",
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
                ),
            );
        }
    }
    if let Some(n) = &d.nic {
        nic_lines(o, n);
    }
    if d.tcpip.is_some() && d.totals.appearances == 0 {
        o.prose(
            3,
            "note: ",
            "no packets: causes are told from tcpip.sys's own events (drops below it cannot be seen); times are \
             as netsh printed them, the machine's local time",
        );
    } else if !d.has_pktmon_metadata && d.totals.appearances > 0 && !said_no_metadata {
        o.prose(
            3,
            "note: ",
            "no PktMon metadata in this file: local drops cannot be seen, so causes are told from protocol \
             symptoms only",
        );
    }
}

/// The adapter counter snapshots joined to the input: one line per adapter of
/// the capture (clean, loss, reset or totals), the others named in one line.
fn nic_lines(o: &mut Out<'_>, n: &crate::diagnose::nic::NicSummary) {
    let order = match n.order {
        "timestamps" => "ordered by their times",
        "file_names" => "before/after from their names",
        "file_order" => "in the order given",
        _ => "one snapshot",
    };
    o.prose(
        3,
        "adapter counters: ",
        &format!(
            "{} ({}, {order})",
            n.files.join(" → "),
            counted(n.snapshots as u64, "snapshot")
        ),
    );
    for a in n
        .adapters
        .iter()
        .filter(|a| a.component.is_some() || a.status != "clean")
    {
        o.prose(5, "", &a.line);
    }
    let clean_unmatched: Vec<&str> = n
        .adapters
        .iter()
        .filter(|a| a.component.is_none() && a.status == "clean")
        .map(|a| a.adapter.as_str())
        .collect();
    if !clean_unmatched.is_empty() {
        const SHOWN: usize = 3;
        let mut list: Vec<String> = clean_unmatched.iter().take(SHOWN).map(|s| s.to_string()).collect();
        if clean_unmatched.len() > SHOWN {
            list.push(format!("and {} more", clean_unmatched.len() - SHOWN));
        }
        o.prose(
            5,
            "",
            &format!("in no component of this capture, clean: {}", list.join("; ")),
        );
    }
    for note in &n.notes {
        o.prose(5, "note: ", note);
    }
}

fn verdict(o: &mut Out<'_>, d: &Diagnosis) {
    let v = &d.verdict;
    let (word, code) = match v.status {
        Status::Problems => ("PROBLEMS", "1;31"),
        Status::Healthy => ("HEALTHY", "1;32"),
        Status::NothingToDiagnose => ("NOTHING TO DIAGNOSE", "1;33"),
    };
    o.s.push('\n');
    let label = format!("{} ", o.paint(code, word));
    // The label's colour codes take no columns: wrap against the visible word.
    let visible = word.len() + 1;
    let mut tmp = Out {
        s: String::new(),
        o: o.o,
    };
    tmp.prose(3 + visible, "", &v.summary);
    let wrapped = tmp.s;
    let body = wrapped.get(3 + visible..).unwrap_or("");
    let _ = write!(o.s, "   {label}{body}");
    let (detailed, shown) = if o.o.all {
        (v.problems.len(), v.problems.len())
    } else {
        (
            DETAILED_PROBLEMS.min(v.problems.len()),
            LISTED_PROBLEMS.min(v.problems.len()),
        )
    };
    for p in &v.problems[..detailed] {
        problem(o, p);
    }
    if shown > detailed {
        o.s.push('\n');
    }
    for p in &v.problems[detailed..shown] {
        problem_line(o, p);
    }
    if shown < v.problems.len() {
        let rest = &v.problems[shown..];
        o.s.push('\n');
        o.prose(
            3,
            "",
            &format!(
                "and {} more {} (ranks {}–{}; --all shows them, and every problem and finding is in --json)",
                rest.len(),
                if rest.len() == 1 { "problem" } else { "problems" },
                rest[0].rank,
                rest[rest.len() - 1].rank
            ),
        );
    }
    if !v.background.is_empty() {
        o.s.push('\n');
        let parts: Vec<String> = v
            .background
            .iter()
            .map(|b| format!("{} ({})", b.title, counted(b.drop_events.max(b.packets), "event")))
            .collect();
        o.prose(
            3,
            "background, harmless: ",
            &format!(
                "{}{}",
                parts.join("; "),
                if o.o.all { "" } else { " — --all lists them" }
            ),
        );
    }
}

/// A problem in one line (wrapped), with its counts.
fn problem_line(o: &mut Out<'_>, p: &Problem) {
    let tag = format!("{}. [{} {}]", p.rank, locality_label(p.locality), p.cause.as_str());
    let visible = tag.len() + 1;
    let tag = match p.severity {
        1 => o.paint("1;31", &tag),
        2 => o.paint("1;33", &tag),
        _ => o.paint("1", &tag),
    };
    let mut tmp = Out {
        s: String::new(),
        o: o.o,
    };
    tmp.prose(3 + visible, "", &format!("{} ({})", p.title, counts(p)));
    let body = tmp.s.get(3 + visible..).unwrap_or("").to_string();
    let _ = write!(o.s, "   {tag} {body}");
}

fn counts(p: &Problem) -> String {
    let mut counts = vec![counted(p.packets, "packet")];
    if p.drop_events > 0 {
        counts.push(counted(p.drop_events, "drop event"));
    }
    if p.flows > 0 {
        counts.push(counted(p.flows, "flow"));
    }
    counts.join(", ")
}

fn problem(o: &mut Out<'_>, p: &Problem) {
    o.s.push('\n');
    let tag = format!("{}. [{} {}]", p.rank, locality_label(p.locality), p.cause.as_str());
    let tag = match p.severity {
        1 => o.paint("1;31", &tag),
        2 => o.paint("1;33", &tag),
        _ => o.paint("1", &tag),
    };
    let indent = 3;
    // Title wrapped after the tag.
    let visible = format!("{}. [{} {}] ", p.rank, locality_label(p.locality), p.cause.as_str()).len();
    let mut tmp = Out {
        s: String::new(),
        o: o.o,
    };
    tmp.prose(indent + visible, "", &p.title);
    let body = tmp.s.get(indent + visible..).unwrap_or("").to_string();
    let _ = write!(o.s, "{}{tag} {body}", " ".repeat(indent));
    let when = if p.first_time == p.last_time {
        clock(&p.first_time).to_string()
    } else {
        format!("{} – {}", clock(&p.first_time), clock(&p.last_time))
    };
    o.prose(indent + 4, "", &format!("{}; {when}", counts(p)));
    o.prose(indent + 4, "why:  ", &p.explanation);
    o.prose(indent + 4, "next: ", &p.next_step);
    if !p.display_filter.is_empty() {
        o.raw(indent + 4, "filter: ", &p.display_filter);
    }
    if let Some(f) = &p.pktmon_filter {
        o.raw(indent + 4, "pktmon: ", f);
    }
}

/// Every finding (with `--all`), worst first, with its problem or background.
fn findings(o: &mut Out<'_>, d: &Diagnosis) {
    if d.findings.is_empty() {
        return;
    }
    o.s.push('\n');
    o.raw(
        3,
        "",
        &format!("{}, worst first:", counted(d.findings.len() as u64, "finding")),
    );
    for (i, f) in d.findings.iter().enumerate() {
        finding(o, i, f);
    }
}

fn finding(o: &mut Out<'_>, i: usize, f: &Finding) {
    o.s.push('\n');
    let belongs = match (f.problem, f.background) {
        (Some(r), _) => format!(" (problem {r})"),
        (None, Some(b)) => format!(" (background: {b})"),
        _ => String::new(),
    };
    o.prose(
        3,
        "",
        &format!(
            "{}. {} {} — {} ×{}{belongs}",
            i + 1,
            locality_label(f.locality),
            f.cause.as_str(),
            f.symptom,
            f.count
        ),
    );
    for (drop, n) in &f.drops {
        if let (Some(layer), Some(code)) = (drop.tcpip_layer, drop.tcpip_reason) {
            o.prose(
                6,
                "drop: ",
                &format!(
                    "{} discard reason {code} {}{} by {} (netsh trace) ×{n}",
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
                ),
            );
            continue;
        }
        o.prose(
            6,
            "drop: ",
            &format!(
                "{}{} at {}{} by {}{} ×{n}",
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
            ),
        );
    }
    if let Some(flow) = &f.flow {
        o.raw(6, "flow: ", flow);
    }
    o.raw(6, "when: ", &format!("{} – {}", f.first_time, f.last_time));
    o.prose(6, "why:  ", &f.explanation);
    o.prose(6, "next: ", &f.next_step);
    if let Some(t) = &f.tcpip {
        let lines: Vec<String> = t.lines.iter().take(TEXT_FRAMES).map(|n| n.to_string()).collect();
        let more = t.lines.len().saturating_sub(TEXT_FRAMES);
        o.prose(
            6,
            "tcp/ip: ",
            &format!(
                "{}{}{} line{} {}{}",
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
            ),
        );
    }
    if f.frames.is_empty() {
        if f.tcpip.is_none() {
            o.raw(6, "evidence: ", "no frames");
        }
    } else {
        let shown: Vec<String> = f.frames.iter().take(TEXT_FRAMES).map(|n| n.to_string()).collect();
        let more = f.frames.len().saturating_sub(TEXT_FRAMES);
        o.raw(
            6,
            "evidence: ",
            &format!(
                "frames {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        );
        o.raw(6, "filter: ", f.pktmon_filter.as_deref().unwrap_or(&f.display_filter));
    }
}

/// The batch's last lines: one per input (status, problems, drops), then totals.
fn batch(o: &mut Out<'_>, results: &[InputResult]) {
    let t = merged_totals(results);
    o.raw(
        0,
        "",
        &format!(
            "== all {} inputs ({} not read): {}, {}, {}",
            t.inputs,
            t.inputs_failed,
            counted(t.packets, "packet"),
            counted(t.drop_events, "drop event"),
            counted(t.problems, "problem")
        ),
    );
    o.raw(
        3,
        "",
        &format!("{:<20} {:>8} {:>6}  {}", "status", "problems", "drops", "file"),
    );
    for r in results {
        match &r.diagnosis {
            Some(d) => o.raw(
                3,
                "",
                &format!(
                    "{:<20} {:>8} {:>6}  {}",
                    d.verdict.status.as_str(),
                    d.verdict.problems.len(),
                    d.totals.drop_events,
                    r.file
                ),
            ),
            None => o.raw(3, "", &format!("{:<20} {:>8} {:>6}  {}", "not read", "-", "-", r.file)),
        }
    }
}
