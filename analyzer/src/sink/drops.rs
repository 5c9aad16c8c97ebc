//! Drop summaries: counts per reason, location, component and direction.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::*;
use crate::pktmon::catalog::{drop_category, drop_location_name, DropCategory};

/// One row of a drop summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DropRow {
    pub file: String,
    /// PKTMON_DROP_REASON code, when the input carries it.
    pub reason: Option<u32>,
    pub reason_text: String,
    /// `0x%08X`, empty when unknown.
    pub location: String,
    pub location_name: Option<String>,
    pub component: Option<u16>,
    pub component_name: String,
    pub component_description: String,
    pub direction: String,
    pub category: DropCategory,
    pub count: u64,
}

/// (reason, text, location, component, direction).
type DropKey = (Option<u32>, String, Option<u32>, Option<u16>, Option<u16>);

/// Counts drops by (reason, text, location, component, direction) as they stream by.
#[derive(Debug, Default, Clone)]
pub struct DropCounter {
    counts: BTreeMap<DropKey, u64>,
}

impl DropCounter {
    /// Counts one drop appearance.
    pub fn add(&mut self, a: &Appearance, catalog: &crate::pktmon::catalog::Catalog) {
        let Some(d) = a.drop.as_ref() else { return };
        let text = d
            .reason_text
            .clone()
            .or_else(|| d.reason.and_then(|c| catalog.drop_reason(c)).map(str::to_string))
            .or_else(|| d.reason.map(|c| c.to_string()))
            .unwrap_or_default();
        *self
            .counts
            .entry((
                d.reason,
                text.trim().to_string(),
                d.location,
                a.component_id,
                a.direction,
            ))
            .or_default() += 1;
    }

    /// The rows, most frequent first.
    pub fn rows(
        &self,
        file: &str,
        components: &ComponentTable,
        catalog: &crate::pktmon::catalog::Catalog,
    ) -> Vec<DropRow> {
        let mut rows: Vec<DropRow> = self
            .counts
            .iter()
            .map(|((reason, reason_text, location, component, direction), &count)| {
                let comp = component.and_then(|c| components.get(c));
                DropRow {
                    file: file.to_string(),
                    category: drop_category(*reason, Some(reason_text)),
                    reason: *reason,
                    location: location.map(|l| format!("0x{l:08X}")).unwrap_or_default(),
                    location_name: location.and_then(drop_location_name).map(str::to_string),
                    reason_text: reason_text.clone(),
                    component: *component,
                    component_name: comp.map(|c| c.name.clone()).unwrap_or_default(),
                    component_description: comp.map(|c| c.description.clone()).unwrap_or_default(),
                    direction: direction
                        .map(|d| {
                            catalog
                                .direction(d)
                                .map(|t| t.trim().to_string())
                                .unwrap_or_else(|| d.to_string())
                        })
                        .unwrap_or_default(),
                    count,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.reason.cmp(&b.reason))
                .then_with(|| a.location.cmp(&b.location))
        });
        rows
    }
}

/// Summarises the drops of one capture, most frequent first.
pub fn summarize(capture: &Capture) -> Vec<DropRow> {
    let mut counter = DropCounter::default();
    for a in capture.drops() {
        counter.add(a, &capture.catalog);
    }
    counter.rows(&capture.info.file, &capture.components, &capture.catalog)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV with a header line.
pub fn to_csv(rows: &[DropRow]) -> String {
    let mut out = String::from(
        "file,reason,reason_text,location,location_name,component,component_name,component_description,direction,category,count\n",
    );
    for r in rows {
        let fields = [
            csv_field(&r.file),
            r.reason.map(|v| v.to_string()).unwrap_or_default(),
            csv_field(&r.reason_text),
            r.location.clone(),
            r.location_name.clone().unwrap_or_default(),
            r.component.map(|v| v.to_string()).unwrap_or_default(),
            csv_field(&r.component_name),
            csv_field(&r.component_description),
            csv_field(&r.direction),
            r.category.as_str().to_string(),
            r.count.to_string(),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// An aligned text table.
pub fn to_table(rows: &[DropRow]) -> String {
    let header = ["COUNT", "REASON", "TEXT", "LOCATION", "COMPONENT", "DIR", "CATEGORY"];
    let body: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.count.to_string(),
                r.reason.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                r.reason_text.clone(),
                if r.location.is_empty() {
                    "-".into()
                } else {
                    r.location.clone()
                },
                match r.component {
                    Some(id) if !r.component_name.is_empty() => {
                        format!("{id} {} \"{}\"", r.component_name, r.component_description)
                    }
                    Some(id) => id.to_string(),
                    None => "-".into(),
                },
                r.direction.clone(),
                r.category.as_str().to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &body {
        for (w, f) in widths.iter_mut().zip(row) {
            *w = (*w).max(f.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in &body {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// What `drops` prints for a capture without drop events instead of a bare
/// table header: PktMon's own drop counters (ETL event 80, or the counter
/// lines of etl2txt text) say whether packets were dropped all the same.
pub fn no_drops_line(capture: &Capture) -> String {
    let counters = &capture.drop_counters;
    let total: u64 = counters.iter().map(|d| d.packets_in + d.packets_out).sum();
    let nonzero = counters.iter().filter(|d| d.packets_in + d.packets_out > 0).count() as u64;
    if counters.is_empty() {
        "no drops recorded (the file carries no PktMon drop counters)".to_string()
    } else if total == 0 && counters.len() == 1 {
        "no drops recorded (PktMon's drop counters: 0 on the 1 component)".to_string()
    } else if total == 0 {
        format!(
            "no drops recorded (PktMon's drop counters: 0 on all {} components)",
            counters.len()
        )
    } else {
        format!(
            "no drop events recorded, but PktMon's drop counters count {} on {} (`info` lists them): \
             the capture left drops out (a filter, --type flow, or stopped early)",
            super::counted(total, "dropped packet"),
            super::counted(nonzero, "component")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(packets: &[u64]) -> Capture {
        Capture {
            drop_counters: packets
                .iter()
                .enumerate()
                .map(|(i, &p)| DropCounters {
                    component_id: i as u16,
                    direction_in: 1,
                    packets_in: p,
                    bytes_in: p * 60,
                    direction_out: 2,
                    packets_out: 0,
                    bytes_out: 0,
                })
                .collect(),
            ..Capture::default()
        }
    }

    #[test]
    fn no_drops_line_tells_what_the_counters_say() {
        assert_eq!(
            no_drops_line(&counters(&[0, 0, 0])),
            "no drops recorded (PktMon's drop counters: 0 on all 3 components)"
        );
        assert_eq!(
            no_drops_line(&counters(&[0])),
            "no drops recorded (PktMon's drop counters: 0 on the 1 component)"
        );
        assert_eq!(
            no_drops_line(&counters(&[])),
            "no drops recorded (the file carries no PktMon drop counters)"
        );
        let counted = no_drops_line(&counters(&[0, 1, 0]));
        assert!(
            counted.starts_with(
                "no drop events recorded, but PktMon's drop counters count 1 dropped packet on 1 component"
            ),
            "{counted}"
        );
        let counted = no_drops_line(&counters(&[4, 3]));
        assert!(counted.contains("count 7 dropped packets on 2 components"), "{counted}");
    }
}
