//! One Parquet table file, written column by column with the parquet crate's
//! low-level writer: typed columns (timestamps, integers, dictionary-encoded
//! texts, lists of texts), zstd, page statistics and page indexes, and row
//! groups as the caller cuts them. The file appears under its name only when
//! complete: it is written to a hidden work file beside its folder and renamed.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ::parquet::basic::{Compression, Encoding, ZstdLevel};
use ::parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int32Type, Int64Type};
use ::parquet::file::properties::{EnabledStatistics, WriterProperties};
use ::parquet::file::writer::SerializedFileWriter;
use ::parquet::schema::parser::parse_message_type;

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int32,
    Int64,
    /// INT64 TIMESTAMP(NANOS, UTC): PktMon's 100-ns ticks kept exactly.
    TimestampNs,
    /// UTF-8 text (dictionary-encoded by the writer while it pays).
    Str,
    /// Bytes.
    Binary,
    /// LIST<STRING>.
    StrList,
}

/// A column of a table.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// Never null.
    pub required: bool,
}

pub const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

pub const fn opt(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

/// The values of one column for a batch of rows.
#[derive(Debug, Clone)]
pub enum Values {
    Bool(Vec<Option<bool>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    Bytes(Vec<Option<ByteArray>>),
    StrList(Vec<Option<Vec<String>>>),
}

impl Values {
    fn for_kind(kind: Kind) -> Values {
        match kind {
            Kind::Bool => Values::Bool(Vec::new()),
            Kind::Int32 => Values::I32(Vec::new()),
            Kind::Int64 | Kind::TimestampNs => Values::I64(Vec::new()),
            Kind::Str | Kind::Binary => Values::Bytes(Vec::new()),
            Kind::StrList => Values::StrList(Vec::new()),
        }
    }

    fn nulls(&self) -> usize {
        match self {
            Values::Bool(v) => v.iter().filter(|x| x.is_none()).count(),
            Values::I32(v) => v.iter().filter(|x| x.is_none()).count(),
            Values::I64(v) => v.iter().filter(|x| x.is_none()).count(),
            Values::Bytes(v) => v.iter().filter(|x| x.is_none()).count(),
            Values::StrList(v) => v.iter().filter(|x| x.is_none()).count(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Values::Bool(v) => v.len(),
            Values::I32(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::Bytes(v) => v.len(),
            Values::StrList(v) => v.len(),
        }
    }
}

/// A value for [`Batch::push`].
#[derive(Debug, Clone)]
pub enum Cell {
    Null,
    Bool(bool),
    I32(i32),
    I64(i64),
    Bytes(ByteArray),
    StrList(Vec<String>),
}

impl From<bool> for Cell {
    fn from(v: bool) -> Cell {
        Cell::Bool(v)
    }
}
impl From<i32> for Cell {
    fn from(v: i32) -> Cell {
        Cell::I32(v)
    }
}
impl From<u16> for Cell {
    fn from(v: u16) -> Cell {
        Cell::I32(v as i32)
    }
}
impl From<u8> for Cell {
    fn from(v: u8) -> Cell {
        Cell::I32(v as i32)
    }
}
impl From<u32> for Cell {
    fn from(v: u32) -> Cell {
        Cell::I64(v as i64)
    }
}
impl From<i64> for Cell {
    fn from(v: i64) -> Cell {
        Cell::I64(v)
    }
}
impl From<u64> for Cell {
    fn from(v: u64) -> Cell {
        Cell::I64(v.min(i64::MAX as u64) as i64)
    }
}
impl From<usize> for Cell {
    fn from(v: usize) -> Cell {
        Cell::from(v as u64)
    }
}
impl From<&str> for Cell {
    fn from(v: &str) -> Cell {
        Cell::Bytes(ByteArray::from(v))
    }
}
impl From<String> for Cell {
    fn from(v: String) -> Cell {
        Cell::Bytes(ByteArray::from(v.into_bytes()))
    }
}
impl From<&String> for Cell {
    fn from(v: &String) -> Cell {
        Cell::from(v.as_str())
    }
}
impl From<ByteArray> for Cell {
    fn from(v: ByteArray) -> Cell {
        Cell::Bytes(v)
    }
}
impl From<Vec<String>> for Cell {
    fn from(v: Vec<String>) -> Cell {
        Cell::StrList(v)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Cell {
        v.map_or(Cell::Null, Into::into)
    }
}

/// Rows of a table, held by column until written as a row group.
#[derive(Debug, Clone)]
pub struct Batch {
    pub columns: Vec<Values>,
    /// Cells pushed into a column of another type (a bug: [`TableFile::write`] refuses the batch).
    pub misfits: usize,
}

impl Batch {
    pub fn new(fields: &[Field]) -> Batch {
        Batch {
            columns: fields.iter().map(|f| Values::for_kind(f.kind)).collect(),
            misfits: 0,
        }
    }

    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Values::len)
    }

    /// Sets column `c` of the row being built. Cells are pushed in column
    /// order; a cell of the wrong type for its column is stored as null and
    /// counted in `misfits`.
    pub fn push(&mut self, c: usize, cell: impl Into<Cell>) {
        let cell = cell.into();
        let Some(col) = self.columns.get_mut(c) else { return };
        match (col, cell) {
            (Values::Bool(v), Cell::Bool(x)) => v.push(Some(x)),
            (Values::I32(v), Cell::I32(x)) => v.push(Some(x)),
            (Values::I64(v), Cell::I64(x)) => v.push(Some(x)),
            (Values::I64(v), Cell::I32(x)) => v.push(Some(x as i64)),
            (Values::Bytes(v), Cell::Bytes(x)) => v.push(Some(x)),
            (Values::StrList(v), Cell::StrList(x)) => v.push(Some(x)),
            (col, other) => {
                if !matches!(other, Cell::Null) {
                    self.misfits += 1;
                }
                match col {
                    Values::Bool(v) => v.push(None),
                    Values::I32(v) => v.push(None),
                    Values::I64(v) => v.push(None),
                    Values::Bytes(v) => v.push(None),
                    Values::StrList(v) => v.push(None),
                }
            }
        }
    }

    /// Pushes one whole row.
    pub fn row(&mut self, cells: Vec<Cell>) {
        if cells.len() != self.columns.len() {
            self.misfits += 1;
        }
        for (c, cell) in cells.into_iter().enumerate() {
            self.push(c, cell);
        }
    }

    /// The rows so far, leaving the batch empty with room for `rows` rows.
    pub fn take(&mut self, rows: usize) -> Batch {
        Batch {
            misfits: std::mem::take(&mut self.misfits),
            columns: self
                .columns
                .iter_mut()
                .map(|c| std::mem::replace(c, empty_like(c, rows)))
                .collect(),
        }
    }
}

fn empty_like(v: &Values, n: usize) -> Values {
    match v {
        Values::Bool(_) => Values::Bool(Vec::with_capacity(n)),
        Values::I32(_) => Values::I32(Vec::with_capacity(n)),
        Values::I64(_) => Values::I64(Vec::with_capacity(n)),
        Values::Bytes(_) => Values::Bytes(Vec::with_capacity(n)),
        Values::StrList(_) => Values::StrList(Vec::with_capacity(n)),
    }
}

/// The Parquet message type of a table.
pub fn message_type(table: &str, fields: &[Field]) -> String {
    let mut s = format!("message {table} {{\n");
    for f in fields {
        let rep = if f.required { "required" } else { "optional" };
        let line = match f.kind {
            Kind::Bool => format!("{rep} boolean {};", f.name),
            Kind::Int32 => format!("{rep} int32 {};", f.name),
            Kind::Int64 => format!("{rep} int64 {};", f.name),
            Kind::TimestampNs => format!("{rep} int64 {} (TIMESTAMP(NANOS,true));", f.name),
            Kind::Str => format!("{rep} binary {} (STRING);", f.name),
            Kind::Binary => format!("{rep} binary {};", f.name),
            Kind::StrList => format!(
                "{rep} group {} (LIST) {{ repeated group list {{ required binary element (STRING); }} }}",
                f.name
            ),
        };
        s.push_str("  ");
        s.push_str(&line);
        s.push('\n');
    }
    s.push('}');
    s
}

/// Writer settings for every table: zstd, dictionaries, page statistics.
fn properties(table: &str) -> WriterProperties {
    let level = ZstdLevel::try_new(3).unwrap_or_default();
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(concat!("pktmon-analyzer ", env!("CARGO_PKG_VERSION")).to_string());
    if table == "appearances" {
        // Packet bytes do not repeat: no dictionary to try first.
        b = b.set_column_dictionary_enabled("payload".into(), false);
        // Times, frame and packet numbers and PktGroupIds grow along the file: their differences are
        // small, so delta encoding stores them in a few bits each (frame in almost none).
        for c in ["time", "frame", "packet", "pkt_group_id"] {
            b = b
                .set_column_dictionary_enabled(c.into(), false)
                .set_column_encoding(c.into(), Encoding::DELTA_BINARY_PACKED);
        }
    }
    b.build()
}

/// A table file being written; see [`TableFile::commit`].
pub struct TableFile {
    writer: Option<SerializedFileWriter<BufWriter<File>>>,
    temp: PathBuf,
    rows: u64,
}

fn perr(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

impl TableFile {
    /// Starts a work file in `dir` (created if needed).
    pub fn create(dir: &Path, name: &str, table: &str, fields: &[Field]) -> Result<TableFile, String> {
        std::fs::create_dir_all(dir).map_err(|e| perr(dir, e))?;
        // Unique per writer: two threads of one run never share a work file.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.{}-{n}.partial", std::process::id()));
        let schema = parse_message_type(&message_type(table, fields)).map_err(|e| perr(&temp, e))?;
        let file = File::create(&temp).map_err(|e| perr(&temp, e))?;
        let writer = SerializedFileWriter::new(
            BufWriter::with_capacity(1 << 20, file),
            Arc::new(schema),
            Arc::new(properties(table)),
        )
        .map_err(|e| perr(&temp, e))?;
        Ok(TableFile {
            writer: Some(writer),
            temp,
            rows: 0,
        })
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes `batch` as one row group (nothing for an empty batch).
    pub fn write(&mut self, fields: &[Field], batch: Batch) -> Result<(), String> {
        let rows = batch.rows();
        if rows == 0 {
            return Ok(());
        }
        // What the schema promises, checked before anything is written: these are bugs, not bad input.
        if batch.misfits > 0 {
            return Err(perr(
                &self.temp,
                format!("{} values of the wrong type (a bug)", batch.misfits),
            ));
        }
        for (f, v) in fields.iter().zip(&batch.columns) {
            if v.len() != rows || (f.required && v.nulls() > 0) {
                return Err(perr(
                    &self.temp,
                    format!(
                        "column {}: {} values, {} null, for {rows} rows (a bug)",
                        f.name,
                        v.len(),
                        v.nulls()
                    ),
                ));
            }
        }
        let mut columns = batch.columns.into_iter();
        let temp = self.temp.clone();
        let w = self.writer.as_mut().ok_or_else(|| perr(&temp, "already finished"))?;
        let mut rg = w.next_row_group().map_err(|e| perr(&temp, e))?;
        let mut i = 0;
        while let Some(mut col) = rg.next_column().map_err(|e| perr(&temp, e))? {
            let (Some(field), Some(values)) = (fields.get(i), columns.next()) else {
                return Err(perr(&temp, "fewer columns than the schema"));
            };
            let required = field.required;
            let written = match values {
                Values::Bool(v) => {
                    let (vals, defs) = flat(v, required);
                    col.typed::<BoolType>().write_batch(&vals, defs.as_deref(), None)
                }
                Values::I32(v) => {
                    let (vals, defs) = flat(v, required);
                    col.typed::<Int32Type>().write_batch(&vals, defs.as_deref(), None)
                }
                Values::I64(v) => {
                    let (vals, defs) = flat(v, required);
                    col.typed::<Int64Type>().write_batch(&vals, defs.as_deref(), None)
                }
                Values::Bytes(v) => {
                    let (vals, defs) = flat(v, required);
                    col.typed::<ByteArrayType>().write_batch(&vals, defs.as_deref(), None)
                }
                Values::StrList(v) => {
                    let (vals, defs, reps) = list_levels(&v, required);
                    col.typed::<ByteArrayType>()
                        .write_batch(&vals, Some(&defs), Some(&reps))
                }
            };
            written.map_err(|e| perr(&temp, e))?;
            col.close().map_err(|e| perr(&temp, e))?;
            i += 1;
        }
        rg.close().map_err(|e| perr(&temp, e))?;
        self.rows += rows as u64;
        Ok(())
    }

    /// Writes the footer and syncs the work file; [`Finished::commit`] renames it.
    pub fn finish(mut self) -> Result<Finished, String> {
        let temp = std::mem::take(&mut self.temp);
        let w = self.writer.take().ok_or_else(|| perr(&temp, "already finished"))?;
        let done = w
            .into_inner()
            .map_err(|e| perr(&temp, e))
            .and_then(|b| b.into_inner().map_err(|e| perr(&temp, e.error())))
            .and_then(|f| f.sync_all().map_err(|e| perr(&temp, e)));
        match done {
            Ok(()) => Ok(Finished { temp, rows: self.rows }),
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                Err(e)
            }
        }
    }
}

impl Drop for TableFile {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            drop(self.writer.take());
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// A complete work file waiting to take its name.
#[derive(Debug)]
pub struct Finished {
    temp: PathBuf,
    pub rows: u64,
}

impl Finished {
    /// Bytes written.
    pub fn size(&self) -> u64 {
        std::fs::metadata(&self.temp).map(|m| m.len()).unwrap_or(0)
    }

    /// Renames the work file to `target` (replacing a file of that name), creating its folder.
    pub fn commit(mut self, target: &Path) -> Result<(), String> {
        let temp = std::mem::take(&mut self.temp);
        let done = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::rename(&temp, target));
        if let Err(e) = done {
            let _ = std::fs::remove_file(&temp);
            return Err(perr(target, e));
        }
        Ok(())
    }
}

impl Drop for Finished {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Non-null values and, for an optional column, definition levels.
fn flat<T: Default>(v: Vec<Option<T>>, required: bool) -> (Vec<T>, Option<Vec<i16>>) {
    if required {
        return (v.into_iter().map(Option::unwrap_or_default).collect(), None);
    }
    let defs = v.iter().map(|x| i16::from(x.is_some())).collect();
    let vals = v.into_iter().flatten().collect();
    (vals, Some(defs))
}

/// Values and levels of a LIST<required STRING> column: definition 0 null
/// list (optional columns only), 1 empty list, 2 an element; repetition 0
/// starts a row, 1 continues its list.
fn list_levels(v: &[Option<Vec<String>>], required: bool) -> (Vec<ByteArray>, Vec<i16>, Vec<i16>) {
    let base = i16::from(!required);
    let (mut vals, mut defs, mut reps) = (Vec::new(), Vec::new(), Vec::new());
    for row in v {
        match row {
            None if !required => {
                defs.push(0);
                reps.push(0);
            }
            None => {
                defs.push(base);
                reps.push(0);
            }
            Some(list) if list.is_empty() => {
                defs.push(base);
                reps.push(0);
            }
            Some(list) => {
                for (k, s) in list.iter().enumerate() {
                    vals.push(ByteArray::from(s.as_str()));
                    defs.push(base + 1);
                    reps.push(i16::from(k > 0));
                }
            }
        }
    }
    (vals, defs, reps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[Field] = &[
        req("id", Kind::Int64),
        opt("name", Kind::Str),
        req("tags", Kind::StrList),
    ];

    #[test]
    fn a_table_is_written_and_a_bug_in_its_rows_refused() {
        let dir = std::env::temp_dir().join(format!("pktmon-parquet-table-{}", std::process::id()));
        let mut b = Batch::new(FIELDS);
        b.row(vec![
            7u64.into(),
            "a".into(),
            vec!["x".to_string(), "y".to_string()].into(),
        ]);
        b.row(vec![8u64.into(), Cell::Null, Vec::<String>::new().into()]);
        let mut t = TableFile::create(&dir, "t.parquet", "t", FIELDS).unwrap();
        t.write(FIELDS, b).unwrap();
        let done = t.finish().unwrap();
        assert_eq!(done.rows, 2);
        assert!(done.size() > 100);
        let target = dir.join("date=2025-01-01/t.parquet");
        done.commit(&target).unwrap();
        let bytes = std::fs::read(&target).unwrap();
        assert_eq!(&bytes[..4], b"PAR1");
        assert_eq!(&bytes[bytes.len() - 4..], b"PAR1");
        // No work file is left beside it.
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");

        // A text where a number belongs, a null in a required column: refused, and no file.
        let mut bad = Batch::new(FIELDS);
        bad.row(vec!["seven".into(), "a".into(), Vec::<String>::new().into()]);
        let mut t = TableFile::create(&dir, "u.parquet", "t", FIELDS).unwrap();
        let e = t.write(FIELDS, bad).unwrap_err();
        assert!(e.contains("1 values of the wrong type"), "{e}");
        let mut bad = Batch::new(FIELDS);
        bad.row(vec![Cell::Null, "a".into(), Vec::<String>::new().into()]);
        let e = t.write(FIELDS, bad).unwrap_err();
        assert!(e.contains("column id: 1 values, 1 null"), "{e}");
        drop(t);
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "the unfinished file is gone: {left:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
