//! The diagnosis as one self-contained HTML page: the verdict, drops and
//! symptoms over time (SVG), the path through the stack, each problem's
//! evidence and the tables, for every input, with an index for a batch.
//!
//! Everything is inline: the style sheet, the SVG charts, and one small
//! script that adds a copy button beside each filter (the filters are text,
//! so the page works without it). No font, image or script is fetched, so
//! the file opens offline. Every string from a capture (file names,
//! component names, reason texts) goes through [`esc`]. The page is written
//! with `write!` into one `String`: each input's section is linear in its
//! problems, findings and components, so a batch of 1,000 inputs stays
//! linear too, and each input's section is a `<details>` element, folded.

use std::fmt::Write;

use crate::diagnose::details::{Details, Timeline, DROP_CAUSES};
use crate::diagnose::{Diagnosis, Finding, Problem, Status};
use crate::model::FileTime;
use crate::sink::counted;
use crate::sink::report::InputResult;

/// Okabe–Ito colours (readable with every common colour-vision deficiency),
/// one per drop cause in [`DROP_CAUSES`] order, grey for `other`.
const CAUSE_COLOURS: [&str; 9] = [
    "#D55E00", // policy: vermillion
    "#E69F00", // resources: orange
    "#56B4E9", // address_resolution: sky blue
    "#0072B2", // no_route: blue
    "#CC79A7", // invalid_packet: reddish purple
    "#009E73", // unreachable: bluish green
    "#F0E442", // session_loss: yellow
    "#000000", // mtu: black
    "#999999", // other: grey
];

/// Problems shown with their evidence per input (the rest are listed in one line each).
const DETAILED_PROBLEMS: usize = 20;
/// Problems shown unfolded; the rest are in one folded section.
const OPEN_PROBLEMS: usize = 5;
/// Frames listed per problem.
const FRAMES_SHOWN: usize = 40;

/// Escapes text for HTML content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters (a hostile component name) are not allowed in HTML text.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root{--fg:#1b1b1b;--muted:#5a5a5a;--line:#d0d0d0;--bg:#fff;--soft:#f4f4f4;--bad:#b00020;--ok:#1e6b35;--warn:#8a5a00}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1180px;padding:16px 20px}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;margin:18px 0 6px}h3{font-size:16px;margin:14px 0 6px}h4{font-size:14px;margin:8px 0 4px}
code,.mono{font-family:ui-monospace,"Cascadia Mono",Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
.muted{color:var(--muted)}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
th{background:var(--soft)}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.status{display:inline-block;font-weight:700;padding:2px 8px;border-radius:4px;color:#fff;letter-spacing:.03em}
.s-problems{background:var(--bad)}.s-healthy{background:var(--ok)}.s-nothing_to_diagnose{background:var(--warn)}
details.capture{border:1px solid var(--line);border-radius:6px;margin:10px 0;padding:0 12px}
details.capture>summary{cursor:pointer;padding:8px 0;font-weight:600}
.problem{border-left:4px solid var(--bad);background:var(--soft);padding:8px 12px;margin:10px 0;break-inside:avoid}
.problem.sev2{border-left-color:#E69F00}.problem.sev3{border-left-color:#999}
.problem h4{font-size:15px;margin:0 0 4px}
.tag{display:inline-block;font-size:11px;font-weight:700;border:1px solid currentColor;border-radius:3px;padding:0 4px;margin-right:4px;text-transform:uppercase}
.filter{display:flex;gap:6px;align-items:baseline;margin:2px 0}
.filter code{background:#fff;border:1px solid var(--line);padding:1px 5px;word-break:break-all;user-select:all}
.filter .lab{min-width:58px;color:var(--muted)}
button.copy{font-size:11px;padding:0 6px;cursor:pointer}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0}
.chart svg{max-width:100%;height:auto}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;margin:4px 0}
.legend i{display:inline-block;width:12px;height:12px;border:1px solid #555;margin-right:4px;vertical-align:-2px}
.stack{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.group{border:1px dashed var(--line);border-radius:6px;padding:6px 8px;min-width:260px;flex:1 1 300px;max-width:560px}
.layer{display:flex;flex-wrap:wrap;gap:6px;justify-content:center}
.comp{border:1px solid #777;border-radius:4px;background:#fff;padding:4px 8px;font-size:12px;flex:1 1 200px;max-width:360px}
.comp b{font-size:13px}.comp.nic{background:#eef5fb}.comp.dropping{border:2px solid var(--bad)}.comp.silent{border:2px dashed var(--bad)}
.comp .drops{color:var(--bad)}
.hops{font-size:11.5px;color:var(--muted);text-align:center;padding:3px 0}
.hops span{display:inline-block;margin:0 6px}
.wire{text-align:center;font-size:11px;color:var(--muted);border-top:3px double #777;margin-top:4px}
ul.compact{margin:2px 0;padding-left:18px}
@media print{
 @page{size:A4;margin:12mm}
 body{max-width:none;padding:0;font-size:11px}
 details.capture{border:none;padding:0}details.capture>summary{display:none}
 button.copy{display:none}
 .problem,.comp,table,.chart{break-inside:avoid}
 section.input{break-before:page}section.input:first-of-type{break-before:auto}
}
"#;

/// Adds a copy button beside every filter (text is selectable without it).
const SCRIPT: &str = r#"
document.querySelectorAll('.filter code').forEach(function(c){
 var b=document.createElement('button');b.className='copy';b.type='button';b.textContent='copy';
 b.addEventListener('click',function(){
  var t=c.textContent,done=function(){b.textContent='copied';setTimeout(function(){b.textContent='copy'},1200)};
  if(navigator.clipboard&&navigator.clipboard.writeText){navigator.clipboard.writeText(t).then(done,function(){sel(c)})}else{sel(c)}
 });
 c.parentNode.appendChild(b);
});
// A link into a folded section (the index, a problem's evidence) unfolds the sections around its target.
function openHash(){var t=location.hash&&document.getElementById(decodeURIComponent(location.hash.slice(1)));
 for(var e=t;e;e=e.parentElement){if(e.tagName==='DETAILS')e.open=true}
 var c=t&&t.querySelector('details.capture');if(c)c.open=true;if(t)t.scrollIntoView()}
window.addEventListener('hashchange',openHash);openHash();
// Printing shows every folded section; they fold again afterwards.
window.addEventListener('beforeprint',function(){document.querySelectorAll('details:not([open])').forEach(function(d){d.open=true;d.setAttribute('data-folded','')})});
window.addEventListener('afterprint',function(){document.querySelectorAll('details[data-folded]').forEach(function(d){d.open=false;d.removeAttribute('data-folded')})});
function sel(c){var r=document.createRange();r.selectNodeContents(c);var s=window.getSelection();s.removeAllRanges();s.addRange(r);try{document.execCommand('copy')}catch(e){}}
"#;

/// The whole page.
pub fn html_report(results: &[InputResult]) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let title = if results.len() == 1 {
        format!("Packet loss diagnosis: {}", results[0].file)
    } else {
        format!("Packet loss diagnosis: {} inputs", results.len())
    };
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"pktmon-analyzer {}\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header><h1>{}</h1><p class=\"muted\">pktmon-analyzer {} · diagnose report · times are UTC</p></header>\n",
        env!("CARGO_PKG_VERSION"),
        esc(&title),
        esc(&title),
        env!("CARGO_PKG_VERSION")
    );
    let batch = results.len() > 1;
    if batch {
        index(&mut o, results);
    }
    for (i, r) in results.iter().enumerate() {
        input(&mut o, i, r, batch);
    }
    let _ = write!(o, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    o
}

fn status_badge(s: Status) -> String {
    let word = match s {
        Status::Problems => "PROBLEMS",
        Status::Healthy => "HEALTHY",
        Status::NothingToDiagnose => "NOTHING TO DIAGNOSE",
    };
    format!("<span class=\"status s-{}\">{word}</span>", s.as_str())
}

fn index(o: &mut String, results: &[InputResult]) {
    let _ = write!(
        o,
        "<h2>Inputs</h2>\n<table class=\"index\"><thead><tr><th class=\"n\">#</th><th>input</th><th>status</th>\
         <th class=\"n\">problems</th><th class=\"n\">drop events</th><th>worst problem</th></tr></thead><tbody>\n"
    );
    for (i, r) in results.iter().enumerate() {
        let (status, problems, drops, worst) = match &r.diagnosis {
            Some(d) => (
                status_badge(d.verdict.status),
                d.verdict.problems.len().to_string(),
                d.totals.drop_events.to_string(),
                d.verdict.problems.first().map(|p| esc(&p.title)).unwrap_or_default(),
            ),
            None => (
                "<span class=\"status s-nothing_to_diagnose\">ERROR</span>".to_string(),
                String::new(),
                String::new(),
                esc(r.error.as_deref().unwrap_or("")),
            ),
        };
        let _ = writeln!(
            o,
            "<tr><td class=\"n\">{}</td><td><a href=\"#in{i}\">{}</a></td><td>{status}</td><td class=\"n\">{problems}</td>\
             <td class=\"n\">{drops}</td><td>{worst}</td></tr>",
            i + 1,
            esc(&r.file)
        );
    }
    o.push_str("</tbody></table>\n");
}

fn input(o: &mut String, i: usize, r: &InputResult, batch: bool) {
    let _ = writeln!(o, "<section class=\"input\" id=\"in{i}\">");
    if batch {
        let status = r
            .diagnosis
            .as_ref()
            .map(|d| status_badge(d.verdict.status))
            .unwrap_or_else(|| "<span class=\"status s-nothing_to_diagnose\">ERROR</span>".to_string());
        let _ = writeln!(
            o,
            "<details class=\"capture\"><summary>{} {status} {}</summary>",
            i + 1,
            esc(&r.file)
        );
    }
    let _ = writeln!(o, "<h2>{}</h2>", esc(&r.file));
    for w in &r.warnings {
        let _ = writeln!(o, "<p class=\"muted\">warning: {}</p>", esc(w));
    }
    match &r.diagnosis {
        None => {
            let _ = writeln!(
                o,
                "<p><b>Not diagnosed:</b> {}</p>",
                esc(r.error.as_deref().unwrap_or("unknown error"))
            );
        }
        Some(d) => {
            if let Some(e) = &r.error {
                let _ = writeln!(o, "<p><b>error:</b> {}</p>", esc(e));
            }
            capture(o, i, d);
        }
    }
    if batch {
        o.push_str("</details>\n");
    }
    o.push_str("</section>\n");
}

fn capture(o: &mut String, i: usize, d: &Diagnosis) {
    facts(o, d);
    verdict(o, i, d);
    let _ = writeln!(o, "<h3>Drops and symptoms over time</h3>");
    chart(o, &d.details.timeline);
    let _ = writeln!(o, "<h3>The path through the stack</h3>");
    stack(o, d);
    let detailed = &d.verdict.problems[..d.verdict.problems.len().min(DETAILED_PROBLEMS)];
    if !detailed.is_empty() {
        let _ = writeln!(o, "<h3>Evidence per problem</h3>");
        for p in detailed {
            evidence(o, i, d, p);
        }
    }
    tables(o, d);
}

fn facts(o: &mut String, d: &Diagnosis) {
    o.push_str("<dl class=\"kv\">");
    let mut kv = |k: &str, v: String| {
        if !v.is_empty() {
            let _ = write!(o, "<dt>{k}</dt><dd>{v}</dd>");
        }
    };
    kv("kind", esc(&d.kind));
    kv("system", esc(&d.system()));
    if let (Some(a), Some(b)) = (&d.start_time, &d.end_time) {
        kv(
            "time",
            format!(
                "{} – {} ({})",
                esc(a),
                esc(b),
                d.duration_seconds.map(seconds).unwrap_or_default()
            ),
        );
    }
    let adapters: Vec<String> = d.adapters.iter().map(|a| esc(&a.label())).collect();
    kv("adapters", adapters.join("<br>"));
    kv(
        "counts",
        format!(
            "{}, {}, {}, {}",
            counted(d.totals.appearances, "appearance"),
            counted(d.totals.packets, "packet"),
            counted(d.totals.drop_events, "drop event"),
            counted(d.totals.flows, "flow")
        ),
    );
    if let Some(t) = &d.tcpip {
        kv(
            "netsh trace",
            format!(
                "{}: {} TCP/IP events, time offset {:+.3} s",
                esc(&t.file),
                t.events,
                t.time_offset_seconds
            ),
        );
    }
    if let Some(n) = &d.nic {
        let lines: Vec<String> = n
            .adapters
            .iter()
            .filter(|a| a.component.is_some() || a.status != "clean")
            .map(|a| esc(&a.line))
            .chain(n.notes.iter().map(|x| esc(&format!("note: {x}"))))
            .collect();
        let others = n
            .adapters
            .iter()
            .filter(|a| a.component.is_none() && a.status == "clean")
            .count();
        kv(
            "adapter counters",
            format!(
                "{}<br>{}{}",
                esc(&n.files.join(" → ")),
                lines.join("<br>"),
                if others > 0 {
                    format!("<br>{} more adapters in no component of this capture, clean", others)
                } else {
                    String::new()
                }
            ),
        );
    }
    o.push_str("</dl>\n");
}

fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{}h{:02}m", (s / 3600.0) as u64, ((s % 3600.0) / 60.0) as u64)
    }
}

fn filter_line(o: &mut String, label: &str, f: &str) {
    if !f.is_empty() {
        let _ = writeln!(
            o,
            "<div class=\"filter\"><span class=\"lab\">{label}</span><code>{}</code></div>",
            esc(f)
        );
    }
}

fn verdict(o: &mut String, i: usize, d: &Diagnosis) {
    let v = &d.verdict;
    let _ = writeln!(
        o,
        "<h3>Verdict</h3>\n<p class=\"summary\">{} {}</p>",
        status_badge(v.status),
        esc(&v.summary)
    );
    for (k, p) in v.problems.iter().enumerate() {
        if k == OPEN_PROBLEMS && v.problems.len() > OPEN_PROBLEMS + 1 {
            let _ = writeln!(
                o,
                "<details class=\"more\"><summary>{} more problems (ranks {}–{})</summary>",
                v.problems.len() - OPEN_PROBLEMS,
                OPEN_PROBLEMS + 1,
                v.problems.len()
            );
        }
        if k < DETAILED_PROBLEMS {
            problem(o, i, p);
        } else {
            let _ = writeln!(
                o,
                "<p class=\"muted\">{}. [{} {}] {} — {} packets, {} drop events</p>",
                p.rank,
                p.locality.as_str(),
                p.cause.as_str(),
                esc(&p.title),
                p.packets,
                p.drop_events
            );
        }
    }
    if v.problems.len() > OPEN_PROBLEMS + 1 {
        o.push_str("</details>\n");
    }
    if !v.background.is_empty() {
        let _ = writeln!(
            o,
            "<details class=\"background\"><summary>Background, harmless (drops and symptoms every host sees): {}, {}</summary>\
             <table><thead><tr><th>kind</th><th>what</th><th class=\"n\">packets</th><th class=\"n\">drop events</th>\
             <th class=\"n\">findings</th></tr></thead><tbody>",
            crate::sink::counted(v.background.len() as u64, "kind"),
            crate::sink::counted(v.background_drop_events, "drop event")
        );
        for b in &v.background {
            let _ = writeln!(
                o,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(b.kind),
                esc(b.title),
                b.packets,
                b.drop_events,
                b.findings
            );
        }
        o.push_str("</tbody></table></details>\n");
    }
}

fn problem(o: &mut String, i: usize, p: &Problem) {
    let _ = writeln!(
        o,
        "<article class=\"problem sev{}\" id=\"in{i}p{}\"><h4>{}. <span class=\"tag\">{} {}</span>{}</h4>",
        p.severity,
        p.rank,
        p.rank,
        p.locality.as_str(),
        p.cause.as_str(),
        esc(&p.title)
    );
    let _ = writeln!(
        o,
        "<div class=\"muted\">{}, {}, {}; {} – {}{}</div>",
        counted(p.packets, "packet"),
        counted(p.drop_events, "drop event"),
        counted(p.flows, "flow"),
        esc(clock(&p.first_time)),
        esc(clock(&p.last_time)),
        if p.endpoints.is_empty() {
            String::new()
        } else {
            format!("; {}", esc(&p.endpoints.join(", ")))
        }
    );
    let _ = writeln!(
        o,
        "<p><b>Why:</b> {}</p><p><b>Next step:</b> {}</p>",
        esc(&p.explanation),
        esc(&p.next_step)
    );
    filter_line(o, "Wireshark", &p.display_filter);
    if let Some(f) = &p.pktmon_filter {
        filter_line(o, "plugin", f);
    }
    if (p.rank as usize) <= DETAILED_PROBLEMS {
        let _ = writeln!(
            o,
            "<div><a href=\"#in{i}e{}\">its flows, drop records, frames and timeline</a></div>",
            p.rank
        );
    }
    o.push_str("</article>\n");
}

/// A problem's flows, timeline, drop records and frames.
fn evidence(o: &mut String, i: usize, d: &Diagnosis, p: &Problem) {
    let _ = writeln!(
        o,
        "<article class=\"problem sev{}\" id=\"in{i}e{}\"><h4>{}. {}</h4>",
        p.severity,
        p.rank,
        p.rank,
        esc(&p.title)
    );
    let findings: Vec<&Finding> = p.findings.iter().filter_map(|&k| d.findings.get(k)).collect();
    mini_timeline(o, &d.details.timeline, &findings);
    // Flows, drop records, frames.
    let mut flows: Vec<&str> = findings.iter().filter_map(|f| f.flow.as_deref()).collect();
    flows.sort_unstable();
    flows.dedup();
    if !flows.is_empty() {
        let shown = flows.len().min(10);
        let _ = write!(o, "<div><b>Flows</b> ({}):<ul class=\"compact mono\">", flows.len());
        for f in &flows[..shown] {
            let _ = write!(o, "<li>{}</li>", esc(f));
        }
        if flows.len() > shown {
            let _ = write!(o, "<li class=\"muted\">and {} more</li>", flows.len() - shown);
        }
        o.push_str("</ul></div>\n");
    }
    let mut drops: std::collections::BTreeMap<(String, String, String, String), u64> = Default::default();
    for f in &findings {
        for (r, n) in &f.drops {
            let at = r.location_name.clone().unwrap_or_else(|| r.location.clone());
            let comp = match r.component {
                Some(c) => format!("{} ({c})", r.component_name),
                None => r.component_name.clone(),
            };
            *drops
                .entry((comp, r.direction.clone(), r.reason_text.clone(), at))
                .or_default() += n;
        }
    }
    if !drops.is_empty() {
        o.push_str(
            "<table><thead><tr><th>component</th><th>direction</th><th>drop reason</th><th>location</th>\
             <th class=\"n\">events</th></tr></thead><tbody>",
        );
        for ((c, dir, reason, at), n) in &drops {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"n\">{n}</td></tr>",
                esc(c),
                esc(dir),
                esc(reason),
                esc(at)
            );
        }
        o.push_str("</tbody></table>\n");
    }
    let mut frames: Vec<u64> = findings.iter().flat_map(|f| f.frames.iter().copied()).collect();
    frames.sort_unstable();
    frames.dedup();
    if !frames.is_empty() {
        let list: Vec<String> = frames.iter().take(FRAMES_SHOWN).map(|f| f.to_string()).collect();
        let _ = writeln!(
            o,
            "<div><b>Frames to open</b> ({}, numbered as in the converted pcapng): <span class=\"mono\">{}{}</span></div>",
            frames.len(),
            list.join(", "),
            if frames.len() > FRAMES_SHOWN { ", …" } else { "" }
        );
        filter_line(
            o,
            "frames",
            &crate::diagnose::frame_filter(&frames[..frames.len().min(200)]),
        );
    }
    o.push_str("</article>\n");
}

/// `2026-02-01T09:36:29.4918712Z` → `09:36:29.491`.
fn clock(t: &str) -> &str {
    t.get(11..23).unwrap_or(t)
}

// ---- charts ----

/// A symptom line: its name, colour, dash pattern and value per bin.
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&crate::diagnose::details::Bin) -> u32,
);

const W: f64 = 960.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;

/// A round step for an axis of `max` in about `n` ticks.
fn step(max: f64, n: f64) -> f64 {
    let raw = (max / n).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= raw {
            return m * mag;
        }
    }
    10.0 * mag
}

fn num(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{}k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn bin_text(ticks: FileTime) -> String {
    let ms = ticks / 10_000;
    if ms >= 1000 {
        format!("{} s", ms as f64 / 1000.0)
    } else {
        format!("{ms} ms")
    }
}

/// One panel: y axis from 0 to `max` at `top`..`top+h`, with gridlines and a title.
fn panel_axes(o: &mut String, top: f64, h: f64, max: f64, title: &str) -> f64 {
    let max = if max <= 0.0 { 1.0 } else { max };
    let st = step(max, 3.0).max(1.0);
    let ymax = (max / st).ceil() * st;
    let _ = write!(
        o,
        "<text x=\"{LEFT}\" y=\"{:.1}\" class=\"pt\">{}</text>",
        top - 12.0,
        esc(title)
    );
    let mut v = 0.0;
    while v <= ymax + st / 2.0 {
        let y = top + h - v / ymax * h;
        let _ = write!(
            o,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"g\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"yl\">{}</text>",
            W - RIGHT,
            LEFT - 4.0,
            y + 4.0,
            num(v)
        );
        v += st;
    }
    ymax
}

fn chart(o: &mut String, t: &Timeline) {
    if t.bins.is_empty() {
        o.push_str("<p class=\"muted\">No packets and no drop events: nothing to chart.</p>\n");
        return;
    }
    let n = t.bins.len();
    let span = (n as FileTime * t.bin) as f64 / 1e7; // seconds on the axis
    let duration = (t.end - t.start) as f64 / 1e7;
    let pw = W - LEFT - RIGHT;
    let bw = pw / n as f64;
    let x = |i: f64| LEFT + i * bw;
    let (p1, h1) = (30.0, 60.0); // traffic
    let (p2, h2) = (p1 + h1 + 38.0, 140.0); // drops
    let (p3, h3) = (p2 + h2 + 38.0, 80.0); // symptoms
    let height = p3 + h3 + 42.0;
    let total_drops: u64 = t
        .bins
        .iter()
        .map(|b| b.drops.iter().map(|&x| x as u64).sum::<u64>())
        .sum();
    let _ = write!(
        o,
        "<figure class=\"chart\"><svg viewBox=\"0 0 {W} {height}\" width=\"{W}\" height=\"{height}\" \
         role=\"img\" aria-label=\"Packets, drop events per cause and symptoms per {} over {} s\" font-family=\"sans-serif\" font-size=\"11\">\
         <style>.g{{stroke:#e3e3e3}}.yl{{text-anchor:end;fill:#555}}.xl{{text-anchor:middle;fill:#555}}.pt{{font-weight:bold;fill:#333}}</style>",
        bin_text(t.bin),
        num((duration * 1000.0).round() / 1000.0)
    );
    // Traffic.
    let pmax = t.bins.iter().map(|b| b.packets).max().unwrap_or(0) as f64;
    let ymax = panel_axes(o, p1, h1, pmax, &format!("packets per {}", bin_text(t.bin)));
    let mut pts = format!("{:.1},{:.1}", x(0.0), p1 + h1);
    for (i, b) in t.bins.iter().enumerate() {
        let y = p1 + h1 - b.packets as f64 / ymax * h1;
        let _ = write!(pts, " {:.1},{y:.1} {:.1},{y:.1}", x(i as f64), x(i as f64 + 1.0));
    }
    let _ = write!(pts, " {:.1},{:.1}", x(n as f64), p1 + h1);
    let _ = write!(
        o,
        "<polygon points=\"{pts}\" fill=\"#bdbdbd\" stroke=\"#777\" stroke-width=\"0.6\"/>"
    );
    // Drops, stacked by cause.
    let dmax = t
        .bins
        .iter()
        .map(|b| b.drops.iter().map(|&x| x as u64).sum::<u64>())
        .max()
        .unwrap_or(0) as f64;
    let ymax = panel_axes(
        o,
        p2,
        h2,
        dmax,
        &format!("drop events per {} ({total_drops} in all), by cause", bin_text(t.bin)),
    );
    if total_drops == 0 {
        let _ = write!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"xl\">no drop events</text>",
            LEFT + pw / 2.0,
            p2 + h2 / 2.0
        );
    }
    for (i, b) in t.bins.iter().enumerate() {
        let mut acc = 0.0;
        for (k, &c) in b.drops.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let h = c as f64 / ymax * h2;
            let y = p2 + h2 - acc - h;
            acc += h;
            let _ = write!(
                o,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\" stroke=\"#333\" stroke-width=\"0.3\"><title>{}: {c}</title></rect>",
                x(i as f64),
                (bw - 0.5).max(0.6),
                CAUSE_COLOURS[k],
                DROP_CAUSES[k].as_str()
            );
        }
    }
    // Symptoms: lines with distinct dashes and markers.
    let smax = t
        .bins
        .iter()
        .map(|b| b.retransmissions.max(b.failures).max(b.other_symptoms))
        .max()
        .unwrap_or(0) as f64;
    let ymax = panel_axes(o, p3, h3, smax, &format!("symptoms per {}", bin_text(t.bin)));
    let series: [Series; 3] = [
        ("retransmissions", "#0072B2", "", |b| b.retransmissions),
        ("failed connections, resets, ICMP errors", "#D55E00", "5,3", |b| {
            b.failures
        }),
        ("other symptoms", "#009E73", "1,2", |b| b.other_symptoms),
    ];
    if smax == 0.0 {
        let _ = write!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"xl\">no symptoms</text>",
            LEFT + pw / 2.0,
            p3 + h3 / 2.0
        );
    }
    for (_, colour, dash, get) in series.iter() {
        if t.bins.iter().all(|b| get(b) == 0) {
            continue;
        }
        let mut pts = String::new();
        for (i, b) in t.bins.iter().enumerate() {
            let y = p3 + h3 - get(b) as f64 / ymax * h3;
            let _ = write!(pts, "{:.1},{y:.1} ", x(i as f64 + 0.5));
        }
        let _ = write!(
            o,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\" stroke-dasharray=\"{dash}\"/>",
            pts.trim_end()
        );
    }
    // Time axis (shared).
    let st = step(span, 8.0);
    let mut s = 0.0;
    while s <= span + st / 1e6 {
        let xx = LEFT + s / span * pw;
        let _ = write!(
            o,
            "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{p1}\" y2=\"{:.1}\" class=\"g\"/><text x=\"{xx:.1}\" y=\"{:.1}\" class=\"xl\">{}</text>",
            p3 + h3 + 4.0,
            p3 + h3 + 16.0,
            num((s * 1e6).round() / 1e6)
        );
        s += st;
    }
    let end_x = LEFT + duration / span * pw;
    let _ = write!(
        o,
        "<line x1=\"{end_x:.1}\" x2=\"{end_x:.1}\" y1=\"{p1}\" y2=\"{:.1}\" stroke=\"#333\" stroke-dasharray=\"2,2\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" class=\"xl\">seconds since {} (capture {} s; bins of {})</text></svg>",
        p3 + h3,
        LEFT + pw / 2.0,
        p3 + h3 + 34.0,
        esc(&crate::time::format_utc(t.start)),
        num((duration * 1000.0).round() / 1000.0),
        bin_text(t.bin)
    );
    // Legend, as HTML (wraps, prints, and is read by screen readers).
    o.push_str("<figcaption class=\"legend\"><span><i style=\"background:#bdbdbd\"></i>packets</span>");
    for (k, c) in DROP_CAUSES.iter().enumerate() {
        let count: u64 = t.bins.iter().map(|b| b.drops[k] as u64).sum();
        let _ = write!(
            o,
            "<span><i style=\"background:{}\"></i>{} ({count})</span>",
            CAUSE_COLOURS[k],
            c.as_str()
        );
    }
    for (name, colour, dash, get) in series.iter() {
        let count: u64 = t.bins.iter().map(|b| get(b) as u64).sum();
        let _ = write!(
            o,
            "<span><svg width=\"26\" height=\"10\"><line x1=\"0\" x2=\"26\" y1=\"5\" y2=\"5\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/></svg> {name} ({count})</span>"
        );
    }
    o.push_str("</figcaption></figure>\n");
}

/// A strip on the capture's time axis: the problem's findings (circles) and its drop events (red ticks).
fn mini_timeline(o: &mut String, t: &Timeline, findings: &[&Finding]) {
    if t.bins.is_empty() || findings.is_empty() {
        return;
    }
    let span = (t.end - t.start).max(1) as f64;
    let (w, l, r) = (600.0, 8.0, 8.0);
    let x = |ft: FileTime| l + ((ft - t.start).max(0) as f64 / span).min(1.0) * (w - l - r);
    let _ = write!(
        o,
        "<div class=\"chart\"><svg viewBox=\"0 0 {w} 30\" width=\"{w}\" height=\"30\" role=\"img\" \
         aria-label=\"When its evidence happened in the capture\" font-family=\"sans-serif\" font-size=\"10\">\
         <line x1=\"{l}\" x2=\"{:.1}\" y1=\"15\" y2=\"15\" stroke=\"#999\"/>",
        w - r
    );
    let mut marks = 0;
    for f in findings {
        for m in &f.traits.drop_marks {
            if marks < 500 {
                let _ = write!(
                    o,
                    "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"5\" y2=\"25\" stroke=\"#D55E00\" stroke-width=\"1.5\"/>",
                    x(m.time)
                );
                marks += 1;
            }
        }
    }
    for f in findings.iter().take(500) {
        let _ = write!(
            o,
            "<circle cx=\"{:.1}\" cy=\"15\" r=\"3.5\" fill=\"#0072B2\" stroke=\"#fff\"><title>{} {}</title></circle>",
            x(f.first),
            esc(&f.symptom),
            esc(clock(&f.first_time))
        );
    }
    let _ = writeln!(
        o,
        "<text x=\"{l}\" y=\"29\" fill=\"#555\">0 s</text><text x=\"{:.1}\" y=\"29\" fill=\"#555\" text-anchor=\"end\">{} s</text></svg>\
         <span class=\"muted\" style=\"font-size:11px\"> ● finding starts, | drop events, on the capture's time axis</span></div>",
        w - r,
        num(((t.end - t.start) as f64 / 1e7 * 1000.0).round() / 1000.0)
    );
}

// ---- the stack ----

fn stack(o: &mut String, d: &Diagnosis) {
    let s = &d.details.stack;
    if s.components.is_empty() {
        o.push_str("<p class=\"muted\">No component saw a packet (or the input names none).</p>\n");
        return;
    }
    // Filters that lost packets without a drop event, from the verdict's findings.
    let mut silent: std::collections::HashMap<u16, Vec<String>> = Default::default();
    for f in &d.findings {
        if f.symptom == "packets lost in a filter without a drop event" {
            for (r, n) in &f.drops {
                if let Some(c) = r.component {
                    silent
                        .entry(c)
                        .or_default()
                        .push(format!("{n} packets lost without a drop event ({})", r.direction));
                }
            }
        }
    }
    let groups = s.components.iter().map(|c| c.group).max().unwrap_or(0) + 1;
    let mut order: Vec<u32> = (0..groups).collect();
    // Adapters' stacks first, larger first.
    let size = |g: u32| s.components.iter().filter(|c| c.group == g).count();
    let has_nic = |g: u32| s.components.iter().any(|c| c.group == g && c.nic);
    order.sort_by_key(|&g| (!has_nic(g), std::cmp::Reverse(size(g)), g));
    o.push_str(
        "<p class=\"muted\">Each box is a component packets passed (PktMon's id and type), top = TCP/IP, bottom = the \
         network adapter; between them, the packets seen going from one to the next (↑ received, ↓ sent). In each box: \
         flow events captured, PktMon's own counters per edge (captured events in brackets), drop events with their \
         reasons, and PktMon's drop counters.</p>\n<div class=\"stack\">",
    );
    let name_of = |id: u16| {
        s.components
            .iter()
            .find(|c| c.id == id)
            .map(|c| format!("{} ({id})", c.name))
            .unwrap_or_else(|| id.to_string())
    };
    for g in order {
        let members: Vec<&crate::diagnose::details::StackComponent> =
            s.components.iter().filter(|c| c.group == g).collect();
        let title = members
            .iter()
            .find(|c| c.nic)
            .map(|c| {
                format!(
                    "adapter: {}",
                    if c.description.is_empty() {
                        &c.name
                    } else {
                        &c.description
                    }
                )
            })
            .unwrap_or_else(|| {
                if members.len() == 1 {
                    format!("{} (no hop seen)", members[0].name)
                } else {
                    "no adapter seen (loopback or virtual)".to_string()
                }
            });
        let _ = write!(o, "<div class=\"group\"><h4>{}</h4>", esc(&title));
        let top = members.iter().map(|c| c.level).max().unwrap_or(0);
        for level in (0..=top).rev() {
            let here: Vec<&&crate::diagnose::details::StackComponent> =
                members.iter().filter(|c| c.level == level).collect();
            if here.is_empty() {
                continue;
            }
            o.push_str("<div class=\"layer\">");
            for c in &here {
                component_box(o, c, silent.get(&c.id));
            }
            o.push_str("</div>");
            // Hops from this layer down to lower ones (Tx) and up into it (Rx).
            let level_of = |id: u16| members.iter().find(|c| c.id == id).map(|c| c.level);
            let mut line = String::new();
            for h in &s.hops {
                let (lo, hi) = if h.inbound { (h.from, h.to) } else { (h.to, h.from) };
                if level_of(hi) == Some(level) && level_of(lo).is_some_and(|l| l < level) {
                    let _ = write!(
                        line,
                        "<span>{} {} {} → {}</span>",
                        if h.inbound { "↑" } else { "↓" },
                        h.packets,
                        esc(&name_of(h.from)),
                        esc(&name_of(h.to))
                    );
                }
            }
            if !line.is_empty() {
                let _ = write!(o, "<div class=\"hops\">{line}</div>");
            }
        }
        if members.iter().any(|c| c.nic) {
            o.push_str("<div class=\"wire\">the wire</div>");
        }
        o.push_str("</div>");
    }
    o.push_str("</div>\n");
}

fn component_box(o: &mut String, c: &crate::diagnose::details::StackComponent, silent: Option<&Vec<String>>) {
    let class = format!(
        "comp{}{}{}",
        if c.nic { " nic" } else { "" },
        if c.drop_events_in + c.drop_events_out > 0 {
            " dropping"
        } else {
            ""
        },
        if silent.is_some() { " silent" } else { "" }
    );
    let _ = write!(
        o,
        "<div class=\"{class}\"><b>{}</b> <span class=\"muted\">#{} {}</span><br>{}",
        esc(&c.name),
        c.id,
        esc(&c.type_name),
        esc(&c.description)
    );
    if !c.addresses.is_empty() {
        let _ = write!(o, "<br><span class=\"mono\">{}</span>", esc(&c.addresses.join(", ")));
    }
    let _ = write!(o, "<br>captured: ↑ {} in · ↓ {} out", c.events_in, c.events_out);
    for e in &c.edges {
        let _ = write!(
            o,
            "<br><span class=\"muted\">{}({}):</span> in {} [{}] · out {} [{}]",
            esc(&e.edge_name),
            e.edge_id,
            e.packets_in,
            e.events_in,
            e.packets_out,
            e.events_out
        );
    }
    if !c.drops.is_empty() {
        o.push_str("<div class=\"drops\">");
        for (inb, reason, n) in c.drops.iter().take(6) {
            let _ = write!(
                o,
                "✖ {n} dropped {}: {}<br>",
                if *inb { "in" } else { "out" },
                esc(reason)
            );
        }
        if c.drops.len() > 6 {
            let _ = write!(o, "and {} more reasons<br>", c.drops.len() - 6);
        }
        o.push_str("</div>");
    }
    if let Some((pin, _, pout, _)) = c.drop_counters {
        if pin + pout > 0 {
            let _ = write!(
                o,
                "<span class=\"muted\">PktMon drop counter:</span> in {pin} [{}] · out {pout} [{}]",
                c.drop_events_in, c.drop_events_out
            );
        }
    }
    if let Some(list) = silent {
        for s in list {
            let _ = write!(o, "<div class=\"drops\">⚠ {}</div>", esc(s));
        }
    }
    o.push_str("</div>");
}

// ---- tables ----

fn tables(o: &mut String, d: &Diagnosis) {
    let det: &Details = &d.details;
    o.push_str("<h3>Tables</h3>\n");
    // Drops.
    if d.drop_rows.is_empty() {
        o.push_str("<p class=\"muted\">No drop events.</p>\n");
    } else {
        o.push_str(
            "<h4>Drops by reason, location, component and direction</h4><table><thead><tr><th class=\"n\">count</th>\
             <th>category</th><th>reason</th><th>location</th><th>component</th><th>direction</th></tr></thead><tbody>",
        );
        for r in &d.drop_rows {
            let _ = write!(
                o,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}{}</td><td class=\"mono\">{}{}</td><td>{}{} {}</td><td>{}</td></tr>",
                r.count,
                esc(crate::diagnose::Cause::from(r.category).as_str()),
                r.reason.map(|c| format!("{c} ")).unwrap_or_default(),
                esc(&r.reason_text),
                esc(&r.location),
                r.location_name.as_deref().map(|n| format!(" {}", esc(n))).unwrap_or_default(),
                r.component.map(|c| format!("{c} ")).unwrap_or_default(),
                esc(&r.component_name),
                esc(&r.component_description),
                esc(&r.direction)
            );
        }
        o.push_str("</tbody></table>\n");
    }
    // Top talkers.
    if !det.talkers.is_empty() {
        let _ = write!(
            o,
            "<h4>Top talkers ({} of {} flows, by packets)</h4><table><thead><tr><th>flow</th><th class=\"n\">packets</th>\
             <th class=\"n\">bytes</th><th class=\"n\">seconds</th><th class=\"n\">retransmissions</th><th class=\"n\">symptoms</th>\
             <th>filter</th></tr></thead><tbody>",
            det.talkers.len(),
            det.flows
        );
        for t in &det.talkers {
            let _ = write!(
                o,
                "<tr><td class=\"mono\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.3}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
                esc(&t.flow),
                t.packets,
                t.bytes,
                (t.last - t.first) as f64 / 1e7,
                t.retransmissions,
                t.symptoms,
                esc(&t.display_filter)
            );
        }
        o.push_str("</tbody></table>\n");
    }
    // Components and counters.
    let comps = &det.stack.components;
    if !comps.is_empty() {
        o.push_str(
            "<h4>Components and PktMon's counters beside the captured events</h4><table><thead><tr><th class=\"n\">id</th>\
             <th>type</th><th>name</th><th>description</th><th class=\"n\">ifIndex</th><th>addresses</th>\
             <th>edge</th><th class=\"n\">counted in</th><th class=\"n\">captured in</th><th class=\"n\">counted out</th>\
             <th class=\"n\">captured out</th><th class=\"n\">drops counted in/out</th><th class=\"n\">drop events in/out</th></tr></thead><tbody>",
        );
        for c in comps {
            let rows = c.edges.len().max(1);
            let _ = write!(
                o,
                "<tr><td class=\"n\" rowspan=\"{rows}\">{}</td><td rowspan=\"{rows}\">{}</td><td rowspan=\"{rows}\">{}</td>\
                 <td rowspan=\"{rows}\">{}</td><td class=\"n\" rowspan=\"{rows}\">{}</td><td rowspan=\"{rows}\" class=\"mono\">{}</td>",
                c.id,
                esc(&c.type_name),
                esc(&c.name),
                esc(&c.description),
                c.if_index.map(|i| i.to_string()).unwrap_or_default(),
                esc(&c.addresses.join(", "))
            );
            let counters = match c.drop_counters {
                Some((pin, _, pout, _)) => format!("{pin} / {pout}"),
                None => "–".to_string(),
            };
            let events = format!("{} / {}", c.drop_events_in, c.drop_events_out);
            let mismatch = |a: u64, b: u64| {
                if a != b {
                    " style=\"color:#b00020;font-weight:bold\""
                } else {
                    ""
                }
            };
            if c.edges.is_empty() {
                let _ = write!(
                    o,
                    "<td class=\"muted\">no counters</td><td class=\"n\">–</td><td class=\"n\">{}</td><td class=\"n\">–</td>\
                     <td class=\"n\">{}</td><td class=\"n\">{counters}</td><td class=\"n\">{events}</td></tr>",
                    c.events_in, c.events_out
                );
            }
            for (k, e) in c.edges.iter().enumerate() {
                if k > 0 {
                    o.push_str("<tr>");
                }
                let _ = write!(
                    o,
                    "<td>{}({})</td><td class=\"n\">{}</td><td class=\"n\"{}>{}</td><td class=\"n\">{}</td><td class=\"n\"{}>{}</td>",
                    esc(&e.edge_name),
                    e.edge_id,
                    e.packets_in,
                    mismatch(e.packets_in, e.events_in),
                    e.events_in,
                    e.packets_out,
                    mismatch(e.packets_out, e.events_out),
                    e.events_out
                );
                if k == 0 {
                    let _ = write!(
                        o,
                        "<td class=\"n\" rowspan=\"{rows}\">{counters}</td><td class=\"n\" rowspan=\"{rows}\">{events}</td>"
                    );
                }
                o.push_str("</tr>");
            }
        }
        o.push_str("</tbody></table>\n<p class=\"muted\">Counted: PktMon's own flow counters (event 90) and drop \
                    counters (event 80), whether the packets were logged or not; captured: the events this file holds. \
                    Fewer captured than counted (in red) means packet filters, size limits, a capture stopped early or lost events.</p>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_captures_may_hold() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\u{0}b"), "a\u{FFFD}b");
    }

    #[test]
    fn a_report_without_inputs_is_still_a_page() {
        let r = InputResult {
            file: "<evil>.etl".to_string(),
            diagnosis: None,
            error: Some("cannot read".to_string()),
            warnings: vec![],
        };
        let page = html_report(&[r.clone(), r]);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("&lt;evil&gt;.etl") && !page.contains("<evil>"));
        assert!(page.trim_end().ends_with("</html>"));
    }

    /// A filter that let fewer packets out than in, without a drop event: its box in the stack is marked
    /// and says how many, as the verdict's finding counts them.
    #[test]
    fn a_silent_filter_is_marked_in_the_stack() {
        use crate::diagnose::details::StackComponent;
        use crate::diagnose::{DropRef, Finding};
        let mut d = Diagnosis::default();
        d.details.stack.components = vec![
            StackComponent {
                id: 3,
                name: "nic<1>.sys".to_string(),
                nic: true,
                ..Default::default()
            },
            StackComponent {
                id: 7,
                name: "filter.sys".to_string(),
                level: 1,
                ..Default::default()
            },
        ];
        d.findings = vec![Finding {
            symptom: "packets lost in a filter without a drop event".to_string(),
            drops: vec![(
                DropRef {
                    reason: None,
                    reason_text: "lost without a drop event (PktMon's flow counters)".to_string(),
                    location: String::new(),
                    location_name: None,
                    component: Some(7),
                    component_name: "filter.sys".to_string(),
                    direction: "Rx".to_string(),
                    tcpip_layer: None,
                    tcpip_reason: None,
                },
                19,
            )],
            ..Default::default()
        }];
        let mut o = String::new();
        stack(&mut o, &d);
        assert!(o.contains("<div class=\"comp silent\"><b>filter.sys</b>"), "{o}");
        assert!(o.contains("19 packets lost without a drop event (Rx)"));
        assert!(o.contains("nic&lt;1&gt;.sys") && !o.contains("nic<1>"));
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(step(1.0, 8.0), 0.2);
        assert_eq!(step(100.0, 3.0), 50.0);
        assert_eq!(step(7.0, 3.0), 5.0);
    }
}
