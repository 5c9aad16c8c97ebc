//! `diagnose --html` and `report -o`: one self-contained HTML page, well
//! formed, escaped, and rendered by headless Chromium without a console error.

use std::path::{Path, PathBuf};
use std::process::Command;

use pktmon_tests::*;

/// Elements that have no end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
];

/// Checks that every element is closed in order (SVG's `<x/>` closes
/// itself), attributes are quoted, and `<script>`/`<style>` end; returns the
/// element names in order of opening.
fn well_formed(html: &str) -> Vec<String> {
    assert!(html.starts_with("<!DOCTYPE html>"), "no doctype");
    let mut stack: Vec<String> = Vec::new();
    let mut opened = Vec::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        assert!(
            !text.contains('>'),
            "a bare > in text: {:?}",
            &text[text.len().saturating_sub(80)..]
        );
        rest = &rest[lt..];
        if let Some(r) = rest.strip_prefix("<!--") {
            let end = r.find("-->").expect("comment ends");
            rest = &r[end + 3..];
            continue;
        }
        if rest.starts_with("<!DOCTYPE") {
            rest = &rest[rest.find('>').unwrap() + 1..];
            continue;
        }
        let gt = rest.find('>').expect("tag ends");
        let tag = &rest[1..gt];
        assert!(!tag.contains('<'), "a < inside a tag: {tag}");
        assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes in <{tag}>");
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim().to_ascii_lowercase();
            let open = stack.pop().unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "</{name}> closes <{open}>; open: {stack:?}");
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        assert!(!name.is_empty(), "an empty tag name: <{tag}>");
        opened.push(name.clone());
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        if name == "script" || name == "style" {
            let close = format!("</{name}>");
            let end = rest.find(&close).unwrap_or_else(|| panic!("<{name}> never ends"));
            rest = &rest[end + close.len()..];
            continue;
        }
        stack.push(name);
    }
    assert!(rest.trim().is_empty(), "text after the last tag");
    assert!(stack.is_empty(), "never closed: {stack:?}");
    opened
}

/// The tags of a page (what is between `<` and `>`), outside comments, scripts and style sheets.
fn tags(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt..];
        let gt = rest.find('>').expect("tag ends");
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        out.push(tag);
        for raw in ["script", "style"] {
            if tag.starts_with(raw) {
                let close = format!("</{raw}>");
                rest = &rest[rest.find(&close).expect("raw text ends")..];
            }
        }
    }
    out
}

/// No resource from elsewhere: every src, href and url() is local (an
/// anchor), and nothing links a style sheet, font or frame.
fn self_contained(html: &str) {
    for tag in tags(html) {
        let lower = tag.to_ascii_lowercase();
        let name: String = lower.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        assert!(
            !["link", "iframe", "object", "embed", "img", "base", "image", "use"].contains(&name.as_str()),
            "an element that loads something: <{tag}>"
        );
        for attr in [" src=", " href=", " srcset=", " xlink:href=", " action=", " data="] {
            if let Some(i) = lower.find(attr) {
                let value = lower[i + attr.len()..].trim_start_matches(['"', '\'']);
                assert!(
                    attr == " href=" && value.starts_with('#'),
                    "a reference that is not an anchor: <{tag}>"
                );
            }
        }
        assert!(!lower.contains("url("), "url() in <{tag}>");
    }
    // The style sheets: no url() and no @import.
    for (i, _) in html.match_indices("<style") {
        let end = html[i..].find("</style>").unwrap();
        let css = html[i..i + end].to_ascii_lowercase();
        assert!(
            !css.contains("url(") && !css.contains("@import"),
            "the style sheet fetches something"
        );
    }
}

fn report(inputs: &[&Path], out: &Path) -> String {
    let mut args = vec!["report".to_string()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["-o".to_string(), out.display().to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&refs);
    assert!(matches!(o.status.code(), Some(0) | Some(2)), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "report writes the file only: {}", stdout(&o));
    std::fs::read_to_string(out).expect("the report was written")
}

/// Headless Chromium, when installed (scripts/setup.sh installs it).
fn chromium() -> Option<PathBuf> {
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return Some(PathBuf::from(p));
        }
    }
    skip(
        "program:chromium",
        "chromium is not installed (scripts/setup.sh installs it)",
    );
    None
}

/// Loads the page in headless Chromium (no network), returns the DOM after its
/// script ran and Chromium's log; writes a screenshot when asked.
fn render(browser: &Path, page: &Path, screenshot: Option<&Path>) -> (String, String) {
    let profile = TempDir::new("chromium");
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.0.display()));
    match screenshot {
        Some(png) => {
            cmd.arg(format!("--screenshot={}", png.display()))
                .arg("--window-size=1280,2000");
        }
        None => {
            cmd.arg("--dump-dom");
        }
    }
    let out = cmd
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "chromium failed: {}", stderr(&out));
    (stdout(&out), stderr(&out))
}

/// Console messages of the page that are errors (Chromium logs them as `CONSOLE` lines).
fn console_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains("CONSOLE") && (l.contains("Uncaught") || l.contains("ERROR:CONSOLE") || l.contains("Error"))
        })
        .collect()
}

#[test]
fn the_bundled_capture_renders_whole_escaped_and_offline() {
    let etl = capture("demikernel-PktMon.etl");
    let dir = TempDir::new("html-demi");
    let out = dir.path("report.html");
    let html = report(&[&etl], &out);
    let tags = well_formed(&html);
    self_contained(&html);
    for needed in ["svg", "table", "section"] {
        assert!(tags.iter().any(|t| t == needed), "no <{needed}>");
    }
    // The verdict as diagnose gives it, and the stack with its adapter and PktMon's counters.
    let v = {
        let o = run(&["diagnose", etl.to_str().unwrap(), "--json", "-"]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let summary = v["inputs"][0]["verdict"]["summary"].as_str().unwrap();
    assert!(html.contains(
        &summary
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    ));
    assert!(html.contains("HEALTHY"));
    // The accelerated-networking path: netvsc.sys and the Mellanox VF at the bottom, xdp.sys above,
    // with PktMon's counters of the edges packets passed.
    assert!(
        html.contains("xdp.sys</b> <span class=\"muted\">#61 Filter"),
        "xdp.sys in the stack"
    );
    assert!(
        html.contains("Lower(2):</span> in 19 [19]"),
        "its counters beside its events"
    );
    assert!(html.contains("Microsoft Hyper-V Network Adapter"), "its adapter");
    assert!(html.contains("netvsc.sys") && html.contains("xdp.sys"), "its stack");
    assert!(html.contains("Drops and symptoms over time") && html.contains("seconds since"));
    assert!(html.contains("Top talkers"));
}

#[test]
fn diagnose_html_writes_the_same_page_beside_the_text() {
    let etl = capture("demikernel-PktMon.etl");
    let dir = TempDir::new("html-diag");
    let out = dir.path("d.html");
    let o = run(&["diagnose", etl.to_str().unwrap(), "--html", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("HEALTHY"),
        "the text report still goes to standard output"
    );
    let page = std::fs::read_to_string(&out).unwrap();
    let same = report(&[&etl], &dir.path("r.html"));
    assert_eq!(page, same);
    // Never over an input.
    let before = std::fs::read(&etl).unwrap();
    let o = run(&["report", etl.to_str().unwrap(), "-o", etl.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&etl).unwrap(), before);
}

#[test]
fn hostile_file_names_are_escaped() {
    let dir = TempDir::new("html-hostile");
    let name = dir.path("<img src=x onerror=alert(1)>&\"'.etl");
    std::fs::copy(capture("demikernel-PktMon.etl"), &name).unwrap();
    let html = report(&[&name], &dir.path("r.html"));
    well_formed(&html);
    self_contained(&html);
    assert!(!html.contains("<img"), "a file name became markup");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;.etl"));
}

#[test]
fn a_generated_capture_with_drops_of_every_cause() {
    let dir = TempDir::new("html-mix");
    let o = run(&[
        "generate",
        "--scenario",
        "mix",
        "--seed",
        "1",
        "--format",
        "etl",
        "-o",
        dir.0.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let etl = dir.path("mix.etl");
    let html = report(&[&etl], &dir.path("mix.html"));
    well_formed(&html);
    self_contained(&html);
    assert!(html.contains("PROBLEMS"));
    // Drops stacked by cause, each cause's colour present and named in the legend.
    for (cause, colour) in [("policy", "#D55E00"), ("resources", "#E69F00"), ("no_route", "#0072B2")] {
        assert!(html.contains(&format!("fill=\"{colour}\"")), "no {cause} bar");
        assert!(html.contains(&format!("{cause} (")), "{cause} not in the legend");
    }
    assert!(html.contains("retransmissions ("), "symptoms on the same axis");
    // Where drops happened, in the stack: the miniport and tcpip.sys with their reasons.
    assert!(html.contains("comp nic dropping"), "the adapter's drops");
    assert!(html.contains("dropped out: Inspection drop"));
    assert!(html.contains("Evidence per problem") && html.contains("Frames to open"));
    assert!(html.contains("Drops by reason, location, component and direction"));
    if let Some(browser) = chromium() {
        let page = dir.path("mix.html");
        let (dom, log) = render(&browser, &page, None);
        assert!(console_errors(&log).is_empty(), "{:?}", console_errors(&log));
        assert!(dom.contains("PROBLEMS"), "the verdict is in the rendered page");
        assert!(dom.contains("class=\"copy\""), "the script ran and added copy buttons");
        let png = dir.path("mix.png");
        render(&browser, &page, Some(&png));
        assert!(
            std::fs::metadata(&png).unwrap().len() > 10_000,
            "a screenshot with something in it"
        );
    }
}

#[test]
fn the_corpus_renders_one_page_with_an_index() {
    let names = [
        "demikernel-PktMon.etl",
        "finguard-PktMon.etl",
        "vpn-PktMon.etl",
        "vpn-PktMon.txt",
        "rundown-only-PktMon.etl",
        "etl2pcap-backup.pcapng",
    ];
    let mut files = Vec::new();
    for n in names {
        match corpus(n) {
            Some(p) => files.push(p),
            None => return,
        }
    }
    let dir = TempDir::new("html-corpus");
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let out = dir.path("corpus.html");
    let html = report(&refs, &out);
    well_formed(&html);
    self_contained(&html);
    assert_eq!(html.matches("<section class=\"input\"").count(), names.len());
    assert_eq!(html.matches("<details class=\"capture\">").count(), names.len());
    assert!(html.contains("<h2>Inputs</h2>"));
    assert!(html.contains("NOTHING TO DIAGNOSE"), "the rundown-only capture");
    // finguard: tcpip.sys drops refused connections; its drop counter beside its drop events.
    assert!(html.contains("INET: transport endpoint was not found"));
    assert!(html.contains("rtwlane601.sys") && html.contains("Unsupported EtherType"));
    assert!(html.contains("PktMon drop counter:</span> in 26 [26]"));
    if let Some(browser) = chromium() {
        let (dom, log) = render(&browser, &out, None);
        assert!(console_errors(&log).is_empty(), "{:?}", console_errors(&log));
        assert!(dom.contains("Connections to 127.0.0.1:28194 are refused"));
    }
}

#[test]
fn a_thousand_inputs_make_one_usable_page() {
    let dir = TempDir::new("html-batch");
    let src = std::fs::read(capture("demikernel-PktMon.etl")).unwrap();
    let mut files = Vec::new();
    for i in 0..1000 {
        let p = dir.path(&format!("host{i:04}.etl"));
        std::fs::write(&p, &src).unwrap();
        files.push(p);
    }
    let start = std::time::Instant::now();
    let out = dir.path("batch.html");
    let o = run(&["report", dir.0.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let elapsed = start.elapsed();
    let html = std::fs::read_to_string(&out).unwrap();
    well_formed(&html);
    assert_eq!(html.matches("<section class=\"input\"").count(), 1000);
    assert!(
        html.matches("<tr><td class=\"n\">").count() >= 1000,
        "an index row per input"
    );
    // Each input's section is folded and about the size of one report.
    let one = report(&[&files[0]], &dir.path("one.html")).len();
    assert!(
        html.len() < 1000 * one,
        "{} bytes for 1000 inputs, {one} for one",
        html.len()
    );
    eprintln!("1000 inputs: {} bytes in {elapsed:?}", html.len());
}
