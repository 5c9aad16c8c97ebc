//! Reading a capture without keeping its packets: `info`, `components` and
//! `drops` see each appearance once as it streams by and keep only what they
//! count, so their memory follows the number of components, drop keys and
//! PktGroupId gaps, never the size of the file.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Error;
use crate::model::*;

/// Collects everything but packets into a [`Capture`] (its `appearances`
/// stay empty) and shows each packet to `on_packet` instead.
struct Streaming<F> {
    builder: CaptureBuilder,
    on_packet: F,
    payloads: bool,
}

impl<F: FnMut(&Context<'_>, &Appearance)> RecordSink for Streaming<F> {
    fn record(&mut self, ctx: &Context<'_>, record: Record) {
        match record {
            Record::Packet(a) => (self.on_packet)(ctx, &a),
            other => self.builder.record(ctx, other),
        }
    }

    fn wants_payloads(&self) -> bool {
        self.payloads
    }
}

/// Reads any supported input like [`super::read_capture`], but hands each
/// appearance to `on_packet` as it is read instead of keeping it: the
/// capture returned has its components, counters, filters, info, catalog and
/// diagnostics, and no appearances. `payloads`: whether `on_packet` looks at
/// the bytes (readers that can then skip copying them).
pub fn read_streaming(
    path: &Path,
    payloads: bool,
    on_packet: impl FnMut(&Context<'_>, &Appearance),
) -> Result<Capture, Error> {
    let mut sink = Streaming {
        builder: CaptureBuilder::default(),
        on_packet,
        payloads,
    };
    let outcome = super::read(path, &mut sink)?;
    let mut capture = sink.builder.capture;
    capture.info = outcome.info;
    capture.catalog = outcome.catalog;
    capture.diagnostics = outcome.diagnostics;
    Ok(capture)
}

/// Counts distinct (PktGroupId, PktNumber) pairs as runs of consecutive ids
/// per PktNumber: PktMon hands out PktGroupIds from counters, so a capture's
/// ids form few runs and this holds a handful of entries where a set of every
/// id would hold one per packet.
#[derive(Debug, Default, Clone)]
pub struct DistinctIds {
    /// (PktNumber, first id of a run) → last id of the run (inclusive).
    runs: BTreeMap<(u16, u64), u64>,
    count: u64,
}

impl DistinctIds {
    /// Adds one pair; returns whether it was new.
    pub fn insert(&mut self, group_id: u64, pkt_number: u16) -> bool {
        let key = (pkt_number, group_id);
        // The run starting at or before this id, if it is one of this PktNumber.
        let before = self
            .runs
            .range(..=key)
            .next_back()
            .filter(|((n, _), _)| *n == pkt_number)
            .map(|(&(_, start), &end)| (start, end));
        if let Some((_, end)) = before {
            if end >= group_id {
                return false;
            }
        }
        let next_start = group_id
            .checked_add(1)
            .filter(|s| self.runs.contains_key(&(pkt_number, *s)));
        let next_end = next_start.and_then(|s| self.runs.remove(&(pkt_number, s)));
        match before {
            Some((start, end)) if end.checked_add(1) == Some(group_id) => {
                self.runs.insert((pkt_number, start), next_end.unwrap_or(group_id));
            }
            _ => {
                self.runs.insert(key, next_end.unwrap_or(group_id));
            }
        }
        self.count += 1;
        true
    }

    /// Distinct pairs added.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Runs held: what counting costs in memory.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn distinct_ids_count_as_a_set_would_and_hold_runs_only() {
        let mut ids = DistinctIds::default();
        let mut set = BTreeSet::new();
        // Ids out of order, repeats, both neighbours filled last, two PktNumbers,
        // and the ends of the id space.
        let mut seq: Vec<(u64, u16)> = vec![
            (10, 1),
            (12, 1),
            (11, 1),
            (11, 1),
            (9, 1),
            (13, 2),
            (12, 2),
            (u64::MAX, 1),
            (u64::MAX - 1, 1),
            (0, 1),
            (1, 1),
            (5, 0),
            (10, 1),
        ];
        // A pseudo-random stream of ids over a small range: every order of filling.
        let mut x = 7u64;
        for _ in 0..5_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seq.push(((x >> 33) % 300 + 1_000, ((x >> 20) % 3) as u16));
        }
        // Then every id of the range, so its runs close up into one per PktNumber.
        seq.extend((1_000..1_300).flat_map(|g| (0..3).map(move |n| (g, n))));
        for (g, n) in seq {
            assert_eq!(ids.insert(g, n), set.insert((g, n)), "({g}, {n})");
            assert_eq!(ids.len(), set.len() as u64);
        }
        let runs_of_set = |set: &BTreeSet<(u64, u16)>| {
            let mut by_n: Vec<(u16, u64)> = set.iter().map(|&(g, n)| (n, g)).collect();
            by_n.sort_unstable();
            by_n.windows(2)
                .filter(|w| !(w[0].0 == w[1].0 && w[0].1.checked_add(1) == Some(w[1].1)))
                .count()
                + 1
        };
        assert_eq!(ids.runs(), runs_of_set(&set));
        // 0..=1, 9..=13 and MAX-1..=MAX of PktNumber 1, 12..=13 of 2, 5 of 0, and 1000..1300 of each.
        assert_eq!(ids.runs(), 3 + 1 + 1 + 3);
        // A million consecutive ids: one run.
        let mut ids = DistinctIds::default();
        for g in 0..1_000_000u64 {
            ids.insert(g * 2 % 1_000_000 + (g * 2 / 1_000_000), 1);
        }
        assert_eq!(ids.len(), 1_000_000);
        assert_eq!(ids.runs(), 1);
    }
}
