//! Reading and diagnosing on two threads: the one pass that `diagnose` and
//! `export` make over a capture.

use std::path::Path;
use std::sync::mpsc::{channel, sync_channel};
use std::sync::Arc;

use super::Diagnoser;
use crate::error::Error;
use crate::model::{CaptureInfo, Context, Record, RecordSink};
use crate::pktmon::catalog::Catalog;
use crate::source::{self, ReadOutcome};

/// What a Diagnoser needs of the reader's context, as of one record.
struct ContextSnapshot {
    info: CaptureInfo,
    catalog: Catalog,
}

impl ContextSnapshot {
    /// Whether this copy still gives the Diagnoser what `ctx` would: the same
    /// value maps, and the facts grouping is chosen by (build, writing
    /// application). The time range, which readers widen as they go, is not
    /// read from it.
    fn still_fits(&self, ctx: &Context<'_>) -> bool {
        self.info.os_build == ctx.info.os_build
            && self.info.application == ctx.info.application
            && self.catalog.same_maps(ctx.catalog)
    }
}

/// Records in the order read, each with the context as of it when the
/// Diagnoser reads the context for it.
type Batch = Vec<(Option<Arc<ContextSnapshot>>, Record)>;

const BATCH: usize = 4096;

/// Reads `path` on a thread of its own while `d` digests what it read on
/// this one: reading and parsing take about as long as the analysis, so two
/// cores nearly halve the time of one large file. `on_read` sees each record
/// on the reading thread first (`export` makes its rows there).
///
/// The Diagnoser reads the context (capture facts, value maps) only for the
/// first packet, for drops and for records other than packets; those get a
/// copy of it as it was then, and every other packet travels alone.
pub fn read_pipelined(
    path: &Path,
    d: &mut Diagnoser,
    mut on_read: impl FnMut(&Context<'_>, &Record) + Send,
) -> Result<ReadOutcome, Error> {
    let (tx, rx) = sync_channel::<Batch>(4);
    // Digested records go back to be freed on the thread that allocated them.
    let (done_tx, done_rx) = channel::<Batch>();
    std::thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut batch: Batch = Vec::with_capacity(BATCH);
            let mut first_packet = true;
            let mut last: Option<Arc<ContextSnapshot>> = None;
            let mut forward = |ctx: &Context<'_>, record: Record| {
                on_read(ctx, &record);
                let needs_context = match &record {
                    Record::Packet(a) => std::mem::take(&mut first_packet) || a.is_drop(),
                    _ => true,
                };
                // The last copy again while it still says what the Diagnoser reads
                // (a copy of the value maps per drop was most of the allocation, and
                // of the freeing on the other thread, of a capture with thousands of drops).
                let snapshot = needs_context.then(|| match &last {
                    Some(s) if s.still_fits(ctx) => Arc::clone(s),
                    _ => {
                        let s = Arc::new(ContextSnapshot {
                            info: ctx.info.clone(),
                            catalog: ctx.catalog.clone(),
                        });
                        last = Some(Arc::clone(&s));
                        s
                    }
                });
                batch.push((snapshot, record));
                if batch.len() == BATCH {
                    let next = match done_rx.try_recv() {
                        Ok(mut old) => {
                            old.clear();
                            old
                        }
                        Err(_) => Vec::with_capacity(BATCH),
                    };
                    // The receiver stops only when this thread is done.
                    let _ = tx.send(std::mem::replace(&mut batch, next));
                }
            };
            let outcome = source::read(path, &mut forward);
            let _ = tx.send(batch);
            outcome
        });
        let schemas = Default::default();
        let mut current: Option<Arc<ContextSnapshot>> = None;
        for mut batch in rx {
            for (snapshot, record) in batch.iter_mut() {
                if snapshot.is_some() {
                    current = snapshot.take();
                }
                let Some(snap) = current.as_deref() else { continue };
                let ctx = Context {
                    info: &snap.info,
                    catalog: &snap.catalog,
                    schemas: &schemas,
                };
                if matches!(record, Record::Packet(_)) {
                    d.packet_record(&ctx, record);
                } else {
                    // Rare (components, counters, filters): a copy keeps the batch whole.
                    d.record(&ctx, record.clone());
                }
            }
            let _ = done_tx.send(batch);
        }
        reader.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}
