//! `export`: a capture as files of a Parquet dataset that DuckDB, Spark,
//! Trino, ClickHouse or Polars read as they are.
//!
//! One folder per table, hive-partitioned by the capture's date
//! (`OUT/<table>/date=YYYY-MM-DD/<capture_id>.parquet`), one file per capture
//! and table. `capture_id` is a hash of the file's content, so exporting
//! another capture adds files and exporting the same capture again replaces
//! its own files only. Each file is written beside its folder under a hidden
//! name and renamed when complete; `captures` is renamed last, so a capture
//! listed there has all its other files in place.
//!
//! One pass over the capture feeds the diagnosis (findings, problems) and the
//! appearance rows at once: rows are made on the reading thread, the diagnosis
//! runs on another, and row groups are encoded and compressed on a third.

pub mod table;
pub mod tables;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};

use crate::diagnose::Diagnoser;
use crate::error::Severity;
use crate::model::*;
use crate::packets::{Grouper, HopKey};
use crate::source;
use table::{Batch, Finished, TableFile};
use tables::*;

/// Rows per row group of `appearances`: DuckDB's own row group is 122,880
/// rows, and a group this size holds about 100 MB in memory while it is built.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// What to export and where.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// The dataset folder.
    pub out: PathBuf,
    /// Also write each appearance's bytes (`payload`).
    pub payload: bool,
    /// capture_id → file, of the captures this run has taken: a second file with the same content is
    /// exported once.
    pub claimed: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
}

/// What exporting one capture did.
#[derive(Debug, Clone, Default)]
pub struct Exported {
    pub capture_id: String,
    /// `date=YYYY-MM-DD`.
    pub partition: String,
    pub file_size: u64,
    pub appearances: u64,
    pub drop_events: u64,
    pub problems: u64,
    /// Bytes of Parquet written.
    pub bytes: u64,
    /// Files of an earlier export of the same capture that were replaced.
    pub replaced: usize,
    /// Reading problems (the capture was still exported as far as it could be read).
    pub warnings: Vec<String>,
    pub damaged: bool,
    /// Another input of the run with the same content, exported instead of this one.
    pub duplicate_of: Option<String>,
}

/// `capture_id`: XXH3-128 of the file's content, 32 hex digits, and the file's size.
pub fn capture_id(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = twox_hash::XxHash3_128::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.write(&buf[..n]);
    }
    Ok((format!("{:032x}", h.finish_128()), size))
}

/// Writes appearance row groups on a thread of its own.
struct RowGroupThread {
    tx: Option<SyncSender<Batch>>,
    handle: Option<std::thread::JoinHandle<Result<Finished, String>>>,
}

impl RowGroupThread {
    fn start(mut file: TableFile, fields: &'static [table::Field]) -> RowGroupThread {
        let (tx, rx) = sync_channel::<Batch>(1);
        let handle = std::thread::spawn(move || {
            for batch in rx {
                file.write(fields, batch)?;
            }
            file.finish()
        });
        RowGroupThread {
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    /// False when the writer has stopped (its error comes with [`RowGroupThread::finish`]).
    fn send(&mut self, batch: Batch) -> bool {
        self.tx.as_ref().is_some_and(|tx| tx.send(batch).is_ok())
    }

    fn finish(mut self) -> Result<Finished, String> {
        drop(self.tx.take());
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(r)) => r,
            _ => Err("the Parquet writer thread stopped".to_string()),
        }
    }
}

impl Drop for RowGroupThread {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The reader's side of the pass: grouping, rows and tallies, on the thread
/// that reads; records then go on to the diagnosis on another thread.
struct RowSide {
    grouper: Option<Grouper>,
    rows: AppearanceRows,
    tally: Tally,
    writer: RowGroupThread,
    writer_stopped: bool,
}

impl RowSide {
    fn record(&mut self, ctx: &Context<'_>, record: &Record) {
        match record {
            Record::Packet(a) => {
                // Readers know the build and the writing application before the first packet.
                let g = self.grouper.get_or_insert_with(|| Grouper::for_capture(ctx.info));
                let (p, _) = g.assign(&HopKey::of(a));
                self.tally.packet(a, p);
                if !self.writer_stopped {
                    self.rows.push(a, p, ctx.catalog);
                    if self.rows.batch.rows() >= ROW_GROUP_ROWS {
                        let batch = self.rows.batch.take(ROW_GROUP_ROWS);
                        self.writer_stopped = !self.writer.send(batch);
                    }
                }
            }
            other => self.tally.other(other),
        }
    }
}

fn now_filetime() -> FileTime {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    UNIX_EPOCH_FILETIME + (d.as_nanos() / 100) as FileTime
}

fn mtime_filetime(path: &Path) -> Option<FileTime> {
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    let d = m.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(UNIX_EPOCH_FILETIME + (d.as_nanos() / 100) as FileTime)
}

/// Exports one capture into the dataset. `host` is the host the capture
/// comes from, when its place says (see the CLI's `export --help`).
pub fn export_file(path: &Path, host: Option<&str>, opts: &ExportOptions) -> Result<Exported, String> {
    let file = path.display().to_string();
    if matches!(source::detect(path), Ok(source::Detected::NetshText)) {
        return Err(format!(
            "{file}: netsh trace text (TCP/IP events), not a packet capture: export takes captures only"
        ));
    }
    let (id, file_size) = capture_id(path).map_err(|e| format!("{file}: {e}"))?;
    if let Ok(mut claimed) = opts.claimed.lock() {
        if let Some(first) = claimed.get(&id) {
            return Ok(Exported {
                capture_id: id,
                file_size,
                duplicate_of: Some(first.clone()),
                ..Default::default()
            });
        }
        claimed.insert(id.clone(), file.clone());
    }
    let name = format!("{id}.parquet");
    let table_dir = |t: &str| opts.out.join(t);
    let rows = AppearanceRows::new(&id, opts.payload);
    let fields = rows.fields();
    let appearances_file = TableFile::create(&table_dir("appearances"), &name, "appearances", fields)?;
    let mut side = RowSide {
        grouper: None,
        rows,
        tally: Tally::default(),
        writer: RowGroupThread::start(appearances_file, fields),
        writer_stopped: false,
    };
    let mut diagnoser = Diagnoser::new(None);
    // Rows and tallies are made on the reading thread, the diagnosis runs on
    // this one, and row groups are encoded on a third, so two cores share the
    // work of one large file (as `diagnose` reads and analyses).
    let outcome = crate::diagnose::pipeline::read_pipelined(path, &mut diagnoser, |ctx, r| side.record(ctx, r))
        .map_err(|e| e.to_string())?;
    let RowSide {
        mut rows,
        tally,
        mut writer,
        ..
    } = side;
    writer.send(rows.batch.take(0));
    let appearances = writer.finish()?;
    let diagnosis = diagnoser.finish(&outcome.info);

    let mut warnings: Vec<String> = outcome.diagnostics.items.iter().map(|x| x.to_string()).collect();
    if outcome.diagnostics.suppressed > 0 {
        warnings.push(format!("({} more problems not shown)", outcome.diagnostics.suppressed));
    }
    let errors = outcome
        .diagnostics
        .items
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .count() as u64;
    let first_error = outcome
        .diagnostics
        .items
        .iter()
        .find(|x| x.severity == Severity::Error)
        .map(|x| x.to_string());

    // The capture's date: its own start, else its first packet, else the file's modification time.
    let day = outcome
        .info
        .start_time
        .or(tally.first)
        .or_else(|| mtime_filetime(path))
        .unwrap_or(UNIX_EPOCH_FILETIME);
    let partition = date_partition(day);

    let facts = CaptureFacts {
        capture_id: &id,
        file: &file,
        host,
        file_size,
        info: &outcome.info,
        errors,
        error: first_error,
        warnings: warnings.len() as u64,
        exported_at: now_filetime(),
    };
    let small: [(&str, &[table::Field], Batch); 5] = [
        ("components", COMPONENTS, components_rows(&id, &tally, &outcome.catalog)),
        ("counters", COUNTERS, counters_rows(&id, &tally, &outcome.catalog)),
        ("findings", FINDINGS, findings_rows(&id, &diagnosis.findings)),
        ("problems", PROBLEMS, problems_rows(&id, &diagnosis.verdict.problems)),
        ("captures", CAPTURES, captures_row(&facts, &tally, &diagnosis)),
    ];
    let mut finished: Vec<(&str, Finished)> = vec![("appearances", appearances)];
    for (t, fields, batch) in small {
        let mut f = TableFile::create(&table_dir(t), &name, t, fields)?;
        f.write(fields, batch)?;
        finished.push((t, f.finish()?));
    }
    let bytes = finished.iter().map(|(_, f)| f.size()).sum();

    // An earlier export of the same capture under another date goes; one under this date is replaced.
    let mut replaced = 0;
    for (t, _) in &finished {
        let dir = table_dir(t);
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let old = e.path().join(&name);
            if old.is_file() {
                replaced += 1;
                if e.file_name().to_string_lossy() != partition {
                    std::fs::remove_file(&old).map_err(|err| format!("{}: {err}", old.display()))?;
                }
            }
        }
    }
    for (t, f) in finished {
        f.commit(&table_dir(t).join(&partition).join(&name))?;
    }
    Ok(Exported {
        capture_id: id,
        partition,
        file_size,
        appearances: tally.appearances,
        drop_events: tally.drop_events,
        problems: diagnosis.verdict.problems.len() as u64,
        bytes,
        replaced,
        warnings,
        damaged: errors > 0,
        duplicate_of: None,
    })
}
