//! The ETL file: buffer index, per-CPU streams, and the merge into one time order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::buffer::*;
use super::logfile::LogfileHeader;
use super::record::{walk, RecordKind, RecordSpan, TraceRecord};
use super::xpress;
use crate::error::{Diagnostics, Error, Location};

/// COMPRESSION_FORMAT_XPRESS (MS-XCA plain LZ77), the only one PktMon uses.
pub const COMPRESSION_XPRESS: u16 = 3;

/// Largest uncompressed buffer accepted, whatever a header claims.
const MAX_BUFFER_BYTES: usize = 64 << 20;

/// An open ETL file whose buffers have been indexed (headers only).
pub struct EtlFile {
    name: String,
    file: File,
    len: u64,
    pub header: LogfileHeader,
    /// The header record's kind (System32 means a 32-bit log).
    pub buffers: Vec<BufferHeader>,
    /// COMPRESSION_FORMAT_* of compressed buffers (from the first buffer's State).
    pub compression_format: u16,
    pub diagnostics: Diagnostics,
}

/// A record delivered by the merge, with where it came from.
#[derive(Debug, Clone, Copy)]
pub struct MergedRecord<'a> {
    /// Processor that owns the buffer the record was in.
    pub cpu: u16,
    pub record: TraceRecord<'a>,
    /// File offset of the buffer holding the record.
    pub buffer_offset: u64,
    /// Offset of the record in the uncompressed buffer (header included).
    pub offset_in_buffer: u32,
}

/// Counts from one pass over the records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub buffers_read: u64,
    pub buffers_skipped: u64,
    pub records: u64,
    pub messages_skipped: u64,
    pub uncompressed_bytes: u64,
}

/// Cheap check used by input detection: does this look like the start of an ETL file?
pub fn looks_like_etl(head: &[u8]) -> bool {
    let Some(h) = BufferHeader::parse(head, 0) else {
        return false;
    };
    if (h.size_on_disk as usize) < BUFFER_HEADER_SIZE || h.saved_offset < BUFFER_HEADER_SIZE as u32 {
        return false;
    }
    // The first record is the logfile header: a SYSTEM32/64 record with HookId 0.
    let Some(rec) = head.get(BUFFER_HEADER_SIZE..BUFFER_HEADER_SIZE + 8) else {
        return false;
    };
    matches!(rec[2], 0x01 | 0x02) && rec[3] & 0xC0 == 0xC0 && rec[6] == 0 && rec[7] == 0
}

impl EtlFile {
    /// Opens `path`, reads the logfile header and indexes every buffer.
    /// A file cut short keeps its complete buffers, with a warning naming the offset.
    pub fn open(path: &Path) -> Result<EtlFile, Error> {
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
        if meta.is_dir() {
            return Err(Error::new(name, Location::File, "is a directory, not an ETL file"));
        }
        let file = File::open(path).map_err(|e| Error::io(path, &e))?;
        let len = meta.len();
        let mut etl = EtlFile {
            name,
            file,
            len,
            header: LogfileHeader::default(),
            buffers: Vec::new(),
            compression_format: 0,
            diagnostics: Diagnostics::default(),
        };
        let stopped_early = etl.index_buffers()?;
        etl.read_logfile_header()?;
        etl.check_buffers_written(stopped_early);
        Ok(etl)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn err(&self, offset: u64, message: impl Into<String>) -> Error {
        Error::new(self.name.clone(), Location::Offset(offset), message)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read_exact(buf)
    }

    /// Returns whether indexing stopped before the end of the file (already reported).
    fn index_buffers(&mut self) -> Result<bool, Error> {
        if self.len == 0 {
            return Err(self.err(0, "file is empty"));
        }
        let mut offset = 0u64;
        let mut head = [0u8; BUFFER_HEADER_SIZE];
        let mut stopped_early = false;
        while offset < self.len {
            let left = self.len - offset;
            if left < BUFFER_HEADER_SIZE as u64 {
                if offset == 0 {
                    return Err(self.err(0, "too short to be an ETL file (no complete buffer header)"));
                }
                self.diagnostics.warn(
                    &self.name,
                    Location::Offset(offset),
                    format!("file ends {left} bytes into a buffer header; the file was cut short there"),
                );
                stopped_early = true;
                break;
            }
            self.read_at(offset, &mut head)
                .map_err(|e| self.err(offset, format!("read failed: {e}")))?;
            let h = BufferHeader::parse(&head, offset).expect("header is 0x48 bytes");
            if (h.size_on_disk as usize) < BUFFER_HEADER_SIZE {
                let msg = format!(
                    "buffer size {} is smaller than a buffer header; cannot find the next buffer",
                    h.size_on_disk
                );
                if offset == 0 {
                    return Err(self.err(0, format!("not an ETL file: {msg}")));
                }
                self.diagnostics.error(&self.name, Location::Offset(offset), msg);
                stopped_early = true;
                break;
            }
            if h.size_on_disk as u64 > left {
                if offset == 0 {
                    // `looks_like_etl` also needs the first record's marker, past the buffer header.
                    let mut first = [0u8; BUFFER_HEADER_SIZE + 8];
                    if left < first.len() as u64 || self.read_at(0, &mut first).is_err() || !looks_like_etl(&first) {
                        return Err(self.err(0, "not an ETL file (first buffer header is not valid)"));
                    }
                    return Err(self.err(
                        0,
                        format!(
                            "file ends inside its first buffer ({left} of {} bytes present): the file was cut short",
                            h.size_on_disk
                        ),
                    ));
                }
                self.diagnostics.warn(
                    &self.name,
                    Location::Offset(offset),
                    format!(
                        "file ends inside a buffer of {} bytes ({} bytes present): the file was cut short; \
                         events of this and later buffers are missing",
                        h.size_on_disk, left
                    ),
                );
                stopped_early = true;
                break;
            }
            self.buffers.push(h);
            offset += h.size_on_disk as u64;
        }
        if self.buffers.is_empty() {
            return Err(self.err(0, "no complete buffer in file"));
        }
        Ok(stopped_early)
    }

    /// A file cut exactly between two buffers looks complete buffer by
    /// buffer; only the logfile header's BuffersWritten (the header buffer
    /// included; equal to the buffer count in every real PktMon file) tells.
    /// Circular logs overwrite buffers, so the count says nothing there.
    fn check_buffers_written(&mut self, already_reported: bool) {
        const EVENT_TRACE_FILE_MODE_CIRCULAR: u32 = 0x2;
        let written = self.header.buffers_written as usize;
        if already_reported
            || self.header.log_file_mode & EVENT_TRACE_FILE_MODE_CIRCULAR != 0
            || written <= self.buffers.len()
        {
            return;
        }
        self.diagnostics.warn(
            &self.name,
            Location::Offset(self.len),
            format!(
                "file ends after {} buffers but its header says {written} were written: the file was cut short \
                 at a buffer boundary; events of the missing buffers are missing",
                self.buffers.len()
            ),
        );
    }

    fn read_logfile_header(&mut self) -> Result<(), Error> {
        let first = self.buffers[0];
        self.compression_format = match (first.state & 0xFFFF) as u16 {
            0 => COMPRESSION_XPRESS,
            f => f,
        };
        let mut scratch = Vec::new();
        let mut area = Vec::new();
        self.load_area(&first, &mut scratch, &mut area)
            .map_err(|m| self.err(0, format!("not an ETL file: {m}")))?;
        let mut first_span = None;
        let _ = walk(&area, |s| {
            if first_span.is_none() {
                first_span = Some(s)
            }
        });
        let span = first_span.ok_or_else(|| self.err(0, "not an ETL file: first buffer holds no record"))?;
        let rec = &area[span.pos as usize..(span.pos + span.len) as usize];
        let tr = TraceRecord::parse(span.kind, rec);
        let header = match tr {
            Some(tr) if span.kind == RecordKind::System && tr.id == 0 => {
                let hint = if tr.is_32bit { 4 } else { 8 };
                LogfileHeader::parse(tr.payload, tr.timestamp, hint)
            }
            _ => None,
        };
        self.header = header.ok_or_else(|| {
            self.err(
                BUFFER_HEADER_SIZE as u64,
                "not an ETL file: the first record is not a logfile header",
            )
        })?;
        Ok(())
    }

    /// Reads a buffer and produces its record area (uncompressed bytes after the
    /// 0x48-byte header, up to SavedOffset) in `area`.
    fn load_area(&mut self, h: &BufferHeader, scratch: &mut Vec<u8>, area: &mut Vec<u8>) -> Result<(), String> {
        let payload_len = h.payload_len();
        if (h.saved_offset as usize) < BUFFER_HEADER_SIZE {
            return Err(format!("buffer's SavedOffset {} is inside its header", h.saved_offset));
        }
        if payload_len > MAX_BUFFER_BYTES {
            return Err(format!(
                "buffer claims {} bytes of data, more than the {} this reader accepts",
                payload_len, MAX_BUFFER_BYTES
            ));
        }
        scratch.resize(h.size_on_disk as usize, 0);
        self.read_at(h.file_offset, scratch)
            .map_err(|e| format!("read failed: {e}"))?;
        let stored = &scratch[BUFFER_HEADER_SIZE..];
        if h.is_compressed() {
            if self.compression_format != COMPRESSION_XPRESS {
                return Err(format!(
                    "buffer is compressed with {} (format {}), which this reader does not support",
                    match self.compression_format {
                        2 => "LZNT1",
                        4 => "XPRESS Huffman",
                        _ => "an unknown method",
                    },
                    self.compression_format
                ));
            }
            xpress::decompress_into(stored, payload_len, area).map_err(|e| {
                format!(
                    "corrupt compressed buffer (file offset of compressed data {}): {e}",
                    h.file_offset + BUFFER_HEADER_SIZE as u64 + e.input_offset as u64
                )
            })?;
        } else {
            if payload_len > stored.len() {
                return Err(format!(
                    "buffer's SavedOffset {} is past its size {}",
                    h.saved_offset, h.size_on_disk
                ));
            }
            area.clear();
            area.extend_from_slice(&stored[..payload_len]);
        }
        Ok(())
    }

    /// Decompresses every buffer and counts the bytes, doing nothing else: the
    /// floor for any pass over the file (used by benchmarks).
    pub fn bare_decompress(&mut self) -> u64 {
        let (mut scratch, mut area) = (Vec::new(), Vec::new());
        let mut total = 0;
        for h in self.buffers.clone() {
            if self.load_area(&h, &mut scratch, &mut area).is_ok() {
                total += area.len() as u64;
            }
        }
        total
    }

    /// Delivers every record of every buffer in one time order: the per-CPU
    /// buffer streams are merged by timestamp, ties kept in file order (this
    /// reproduces the order of `pktmon etl2txt`). Holds one uncompressed
    /// buffer per CPU at a time. Damaged buffers are reported in
    /// `self.diagnostics` and skipped; everything else is delivered.
    pub fn read_records(&mut self, mut f: impl FnMut(&MergedRecord<'_>)) -> ReadStats {
        let mut stats = ReadStats::default();
        // One stream per processor, buffers in sequence order.
        let mut by_cpu: Vec<(u16, Vec<usize>)> = Vec::new();
        for (i, b) in self.buffers.iter().enumerate() {
            match by_cpu.iter_mut().find(|(c, _)| *c == b.processor) {
                Some((_, v)) => v.push(i),
                None => by_cpu.push((b.processor, vec![i])),
            }
        }
        let mut streams: Vec<Stream> = by_cpu
            .into_iter()
            .map(|(cpu, mut idx)| {
                let bufs = &self.buffers;
                idx.sort_by_key(|&i| (bufs[i].sequence, i));
                Stream {
                    cpu,
                    pending: idx.into(),
                    current: usize::MAX,
                    area: Vec::new(),
                    spans: Vec::new(),
                    cursor: 0,
                }
            })
            .collect();
        let mut scratch = Vec::new();
        let mut heap = BinaryHeap::new();
        for (s, st) in streams.iter_mut().enumerate() {
            if self.advance(st, &mut scratch, &mut stats) {
                heap.push(Reverse((st.spans[0].timestamp, st.current, 0usize, s)));
            }
        }
        while let Some(Reverse((_, buf_idx, cursor, s))) = heap.pop() {
            {
                let st = &streams[s];
                let span = st.spans[cursor];
                let bytes = &st.area[span.pos as usize..(span.pos + span.len) as usize];
                match TraceRecord::parse(span.kind, bytes) {
                    Some(record) if record.kind == RecordKind::Message => stats.messages_skipped += 1,
                    Some(record) => {
                        stats.records += 1;
                        f(&MergedRecord {
                            cpu: st.cpu,
                            record,
                            buffer_offset: self.buffers[buf_idx].file_offset,
                            offset_in_buffer: span.pos + BUFFER_HEADER_SIZE as u32,
                        });
                    }
                    None => self.diagnostics.error(
                        &self.name,
                        Location::Offset(self.buffers[buf_idx].file_offset),
                        format!(
                            "record at offset {} of this buffer has a damaged header (extended data items run past the record); skipped",
                            span.pos as usize + BUFFER_HEADER_SIZE
                        ),
                    ),
                }
            }
            let st = &mut streams[s];
            st.cursor += 1;
            if st.cursor < st.spans.len() {
                heap.push(Reverse((st.spans[st.cursor].timestamp, st.current, st.cursor, s)));
            } else if self.advance(&mut streams[s], &mut scratch, &mut stats) {
                let st = &streams[s];
                heap.push(Reverse((st.spans[0].timestamp, st.current, 0, s)));
            }
        }
        stats
    }

    /// Loads the next non-empty buffer of a stream; false when the stream is done.
    fn advance(&mut self, st: &mut Stream, scratch: &mut Vec<u8>, stats: &mut ReadStats) -> bool {
        while let Some(i) = st.pending.pop_front() {
            let h = self.buffers[i];
            st.current = i;
            st.cursor = 0;
            st.spans.clear();
            if let Err(msg) = self.load_area(&h, scratch, &mut st.area) {
                stats.buffers_skipped += 1;
                self.diagnostics.error(
                    &self.name,
                    Location::Offset(h.file_offset),
                    format!("{msg}; buffer skipped"),
                );
                continue;
            }
            stats.buffers_read += 1;
            stats.uncompressed_bytes += st.area.len() as u64;
            let spans = &mut st.spans;
            if let Err(e) = walk(&st.area, |s: RecordSpan| spans.push(s)) {
                let where_ = if h.is_compressed() {
                    format!(
                        "offset {} of the uncompressed buffer at file offset {}",
                        e.pos + BUFFER_HEADER_SIZE,
                        h.file_offset
                    )
                } else {
                    format!("file offset {}", h.file_offset + (e.pos + BUFFER_HEADER_SIZE) as u64)
                };
                self.diagnostics.error(
                    &self.name,
                    Location::Offset(
                        h.file_offset
                            + if h.is_compressed() {
                                0
                            } else {
                                (e.pos + BUFFER_HEADER_SIZE) as u64
                            },
                    ),
                    format!("{} (at {where_})", e.message),
                );
            }
            if !st.spans.is_empty() {
                return true;
            }
        }
        st.area = Vec::new();
        false
    }
}

struct Stream {
    cpu: u16,
    pending: VecDeque<usize>,
    current: usize,
    area: Vec<u8>,
    spans: Vec<RecordSpan>,
    cursor: usize,
}
