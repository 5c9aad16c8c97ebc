//! PktMon's drop counters (event 80) against the drop events a capture holds:
//! generated ETLs whose drop events were partly or wholly left out, as a
//! `--type flow`, filtered or `--counters-only` capture would have them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pktmon::diagnose::{Cause, Diagnoser, Diagnosis, Locality};
use pktmon::generate::files::EtlSink;
use pktmon::generate::{capture_info, generate, GenOptions, Scenario};
use pktmon::model::*;

const SYMPTOM: &str = "drops counted, not captured";

fn temp_file(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("pktmon-counters-{tag}-{}.etl", std::process::id()))
}

/// Passes records on, leaving out the drop events `lose` says to.
struct Lose<'a, F: FnMut(&Appearance) -> bool> {
    inner: &'a mut dyn RecordSink,
    lose: F,
}

impl<F: FnMut(&Appearance) -> bool> RecordSink for Lose<'_, F> {
    fn record(&mut self, ctx: &Context<'_>, record: Record) {
        if let Record::Packet(a) = &record {
            if (self.lose)(a) {
                return;
            }
        }
        self.inner.record(ctx, record);
    }
}

fn options() -> GenOptions {
    GenOptions {
        seed: 7,
        scenario: Scenario::LocalPolicy,
        ..GenOptions::default()
    }
}

/// Generates the scenario through `lose` into an ETL and diagnoses it.
fn diagnose_with(tag: &str, lose: impl FnMut(&Appearance) -> bool) -> Diagnosis {
    let opts = options();
    let mut etl = EtlSink::new(&capture_info(&opts));
    generate(&opts, &mut Lose { inner: &mut etl, lose });
    let path = temp_file(tag);
    std::fs::write(&path, etl.finish()).unwrap();
    let mut d = Diagnoser::new(None);
    let outcome = pktmon::source::read(&path, &mut d).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(outcome.diagnostics.items.is_empty(), "{:?}", outcome.diagnostics);
    d.finish(&outcome.info)
}

/// Drop events of the whole scenario by (component, direction tag).
fn drops_by_component() -> BTreeMap<(u16, u16), u64> {
    let mut c = CaptureBuilder::default();
    generate(&options(), &mut c);
    let mut by = BTreeMap::new();
    for a in c.capture.drops() {
        *by.entry((a.component_id.unwrap(), a.direction.unwrap())).or_default() += 1;
    }
    by
}

#[test]
fn a_complete_capture_has_no_counter_finding() {
    let d = diagnose_with("complete", |_| false);
    assert!(d.totals.drop_events > 0, "the scenario drops packets");
    assert!(d.findings.iter().all(|f| f.symptom != SYMPTOM), "{:#?}", d.findings);
}

#[test]
fn no_generated_scenario_has_a_counter_finding() {
    for scenario in Scenario::ALL {
        for os_build in [20348, 26200] {
            let opts = GenOptions {
                scenario,
                os_build,
                ..GenOptions::default()
            };
            let mut d = Diagnoser::new(Some(os_build));
            generate(&opts, &mut d);
            let diagnosis = d.finish(&capture_info(&opts));
            assert!(
                diagnosis.findings.iter().all(|f| f.symptom != SYMPTOM),
                "{scenario} {os_build}: {:#?}",
                diagnosis
                    .findings
                    .iter()
                    .filter(|f| f.symptom == SYMPTOM)
                    .collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn drops_left_out_of_the_capture_are_a_finding_with_counted_and_recorded_numbers() {
    let by = drops_by_component();
    let (&(component, direction), &total) = by.iter().max_by_key(|(_, n)| **n).unwrap();
    assert!(total >= 3, "{by:?}");
    let keep = 1;
    let mut seen = 0;
    let d = diagnose_with("partial", |a| {
        if a.is_drop() && a.component_id == Some(component) && a.direction == Some(direction) {
            seen += 1;
            return seen > keep;
        }
        false
    });
    let found: Vec<_> = d.findings.iter().filter(|f| f.symptom == SYMPTOM).collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = found[0];
    assert_eq!((f.locality, f.cause), (Locality::Local, Cause::Other));
    assert_eq!(f.count, total - keep);
    assert_eq!(f.frames.len() as u64, keep, "the captured drop is the evidence");
    let (r, n) = &f.drops[0];
    assert_eq!((r.component, *n), (Some(component), total - keep));
    let dir = match direction {
        3 => "Rx",
        4 => "Tx",
        other => panic!("direction {other}"),
    };
    assert_eq!(r.direction, dir);
    assert!(!r.component_name.is_empty());
    assert!(
        f.explanation.starts_with(&format!("PktMon counted {total} packets ("))
            && f.explanation.contains(&format!(
                " bytes) dropped by {} (component {component}) in direction {dir}, but the capture holds {keep} \
                 drop events for it there",
                r.component_name
            )),
        "{}",
        f.explanation
    );
    assert!(f
        .explanation
        .contains(&format!("{} drops were not captured", total - keep)));
    assert!(f.next_step.contains("pktmon counters --type drop"));
    assert_eq!(
        f.pktmon_filter.as_deref(),
        Some(format!("pktmon.drop && pktmon.component_id == {component}").as_str())
    );
    // The local findings come first; this one among them.
    assert_eq!(f.locality, d.findings[0].locality);
}

#[test]
fn a_counters_only_capture_reports_every_counted_drop() {
    let by = drops_by_component();
    let d = diagnose_with("counters-only", |_| true);
    assert_eq!(d.totals.appearances, 0);
    let found: Vec<_> = d.findings.iter().filter(|f| f.symptom == SYMPTOM).collect();
    // One finding per component and side (in or out) that dropped.
    let mut sides: BTreeMap<(u16, bool), u64> = BTreeMap::new();
    for (&(c, dir), &n) in &by {
        *sides.entry((c, dir % 2 == 1)).or_default() += n;
    }
    assert_eq!(found.len(), sides.len(), "{found:#?}");
    assert_eq!(found.iter().map(|f| f.count).sum::<u64>(), by.values().sum::<u64>());
    for f in &found {
        assert!(f.frames.is_empty() && f.display_filter.is_empty());
        assert!(f.explanation.contains("holds 0 drop events"), "{}", f.explanation);
        assert!(f.explanation.contains("no packet events at all"), "{}", f.explanation);
    }
}
