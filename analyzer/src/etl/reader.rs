//! The ETL file: buffer index, per-CPU streams, and the merge into one time order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc;

use super::buffer::*;
use super::logfile::LogfileHeader;
use super::record::{walk, RecordKind, RecordSpan, TraceRecord, WalkError};
use super::xpress;
use crate::error::{Diagnostics, Error, Location};

/// COMPRESSION_FORMAT_XPRESS (MS-XCA plain LZ77), the only one PktMon uses.
pub const COMPRESSION_XPRESS: u16 = 3;

/// Largest uncompressed buffer accepted, whatever a header claims.
const MAX_BUFFER_BYTES: usize = 64 << 20;

/// The merge holds one buffer per CPU at once. A few dozen bytes of XPRESS
/// can claim 64 MB, so a hostile file of many "CPUs" could claim terabytes:
/// what may be held at once is capped at this, or at [`AREA_BUDGET_PER_FILE_BYTE`]
/// times the file's size if that is more. Real captures stay far below (a
/// 16 MiB buffer per CPU; PktMon compresses them 4–8 times).
pub const DEFAULT_AREA_BUDGET: usize = 4 << 30;
pub const AREA_BUDGET_PER_FILE_BYTE: usize = 64;

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
    /// Bytes of uncompressed buffers the merge may hold at once (see [`DEFAULT_AREA_BUDGET`]).
    pub area_budget: usize,
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
            area_budget: DEFAULT_AREA_BUDGET.max(
                usize::try_from(len)
                    .unwrap_or(usize::MAX)
                    .saturating_mul(AREA_BUDGET_PER_FILE_BYTE),
            ),
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

    /// Reads a buffer's bytes as stored in the file (header included) into
    /// `stored`, after checking the sizes its header claims.
    fn read_stored(&mut self, h: &BufferHeader, stored: &mut Vec<u8>) -> Result<(), String> {
        if (h.saved_offset as usize) < BUFFER_HEADER_SIZE {
            return Err(format!("buffer's SavedOffset {} is inside its header", h.saved_offset));
        }
        if h.payload_len() > MAX_BUFFER_BYTES {
            return Err(format!(
                "buffer claims {} bytes of data, more than the {} this reader accepts",
                h.payload_len(),
                MAX_BUFFER_BYTES
            ));
        }
        stored.resize(h.size_on_disk as usize, 0);
        self.read_at(h.file_offset, stored)
            .map_err(|e| format!("read failed: {e}"))
    }

    /// Reads a buffer and produces its record area (uncompressed bytes after the
    /// 0x48-byte header, up to SavedOffset) in `area`.
    fn load_area(&mut self, h: &BufferHeader, scratch: &mut Vec<u8>, area: &mut Vec<u8>) -> Result<(), String> {
        self.read_stored(h, scratch)?;
        unpack(h, self.compression_format, scratch, area)
    }

    /// Buffer `i`'s record area (uncompressed, after its header) and the
    /// records in it, for random access through an index of (buffer, offset).
    pub fn buffer_records(&mut self, i: usize, area: &mut Vec<u8>, spans: &mut Vec<RecordSpan>) -> Result<(), String> {
        let h = *self.buffers.get(i).ok_or_else(|| format!("no buffer {i}"))?;
        let mut stored = Vec::new();
        self.load_area(&h, &mut stored, area)?;
        spans.clear();
        let _ = walk(area, |s| spans.push(s));
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
    /// buffer per CPU at a time, plus the one a second thread decompresses
    /// ahead (that of the stream that will run out first). Damaged buffers
    /// are reported in `self.diagnostics` and skipped; everything else is delivered.
    pub fn read_records(&mut self, mut f: impl FnMut(&MergedRecord<'_>)) -> ReadStats {
        // One stream per processor, buffers in sequence order.
        let mut by_cpu: Vec<(u16, Vec<usize>)> = Vec::new();
        for (i, b) in self.buffers.iter().enumerate() {
            match by_cpu.iter_mut().find(|(c, _)| *c == b.processor) {
                Some((_, v)) => v.push(i),
                None => by_cpu.push((b.processor, vec![i])),
            }
        }
        self.keep_within_area_budget(&mut by_cpu);
        let streams: Vec<Stream> = by_cpu
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
        // A file of a buffer or two is not worth a thread.
        if self.buffers.len() <= 2 {
            return self.merge(streams, None, &mut f);
        }
        std::thread::scope(|scope| {
            let (jobs, job_rx) = mpsc::channel::<Unpacking>();
            let (done_tx, done) = mpsc::channel::<Unpacking>();
            let format = self.compression_format;
            let spawned = std::thread::Builder::new()
                .name("etl buffers".into())
                .spawn_scoped(scope, move || {
                    for mut job in job_rx {
                        job.run(format);
                        if done_tx.send(job).is_err() {
                            break;
                        }
                    }
                });
            let ahead = spawned.ok().map(|_| Ahead {
                jobs,
                done,
                in_flight: None,
                spare: Unpacking::default(),
            });
            self.merge(streams, ahead, &mut f)
        })
    }

    /// Drops whole streams, those claiming the most first, until what the
    /// merge may hold at once (each stream's largest buffer, plus the one read
    /// ahead and one spare) fits [`EtlFile::area_budget`]. Reported as an error:
    /// the events of those CPUs are missing.
    fn keep_within_area_budget(&mut self, by_cpu: &mut Vec<(u16, Vec<usize>)>) {
        let held = |idx: &[usize]| {
            idx.iter()
                .map(|&i| area_capacity(self.buffers[i].payload_len()))
                .max()
                .unwrap_or(0)
        };
        let mut claims: Vec<(usize, usize)> = by_cpu.iter().enumerate().map(|(s, (_, idx))| (held(idx), s)).collect();
        let overhead = 2 * claims.iter().map(|c| c.0).max().unwrap_or(0);
        let mut total: usize = claims.iter().map(|c| c.0).sum::<usize>() + overhead;
        if total <= self.area_budget {
            return;
        }
        claims.sort_unstable_by(|a, b| b.cmp(a));
        let mut dropped = Vec::new();
        for &(claim, s) in &claims {
            if total <= self.area_budget {
                break;
            }
            total -= claim;
            dropped.push(s);
        }
        let claimed: usize = claims.iter().map(|c| c.0).sum::<usize>() + overhead;
        dropped.sort_unstable();
        let cpus: Vec<String> = dropped.iter().map(|&s| by_cpu[s].0.to_string()).collect();
        let buffers: usize = dropped.iter().map(|&s| by_cpu[s].1.len()).sum();
        for &s in dropped.iter().rev() {
            by_cpu.remove(s);
        }
        self.diagnostics.error(
            &self.name,
            Location::File,
            format!(
                "its {} per-CPU buffer streams would hold {} MB of uncompressed buffers at once, more than the \
                 {} MB this reader allows for a file of this size; the {buffers} buffers of CPU {} are skipped",
                claims.len(),
                claimed >> 20,
                self.area_budget >> 20,
                cpus.join(", ")
            ),
        );
    }

    fn merge(
        &mut self,
        mut streams: Vec<Stream>,
        mut ahead: Option<Ahead>,
        f: &mut impl FnMut(&MergedRecord<'_>),
    ) -> ReadStats {
        let mut stats = ReadStats::default();
        let mut scratch = Unpacking::default();
        let mut heap = BinaryHeap::new();
        for s in 0..streams.len() {
            if self.advance(&mut streams, s, &mut scratch, &mut ahead, &mut stats) {
                let st = &streams[s];
                heap.push(Reverse((st.spans[0].timestamp, st.current, 0usize, s)));
            }
        }
        self.read_ahead(&streams, &mut ahead);
        while let Some(Reverse(mut head)) = heap.pop() {
            // Records of one CPU come in runs: while this stream's next record
            // still sorts before every other stream's, it is delivered without
            // going through the heap (same order, fewer heap operations).
            loop {
                let (_, buf_idx, cursor, s) = head;
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
                    let next = (st.spans[st.cursor].timestamp, st.current, st.cursor, s);
                    if heap.peek().is_none_or(|Reverse(other)| next < *other) {
                        head = next;
                        continue;
                    }
                    heap.push(Reverse(next));
                } else {
                    if self.advance(&mut streams, s, &mut scratch, &mut ahead, &mut stats) {
                        let st = &streams[s];
                        heap.push(Reverse((st.spans[0].timestamp, st.current, 0, s)));
                    }
                    self.read_ahead(&streams, &mut ahead);
                }
                break;
            }
        }
        stats
    }

    /// Starts unpacking, on the second thread, the next buffer of the stream
    /// whose current buffer ends earliest: the merge will ask for it first.
    fn read_ahead(&mut self, streams: &[Stream], ahead: &mut Option<Ahead>) {
        let Some(a) = ahead else { return };
        if a.in_flight.is_some() {
            return;
        }
        let next = streams
            .iter()
            .enumerate()
            .filter(|(_, st)| !st.pending.is_empty())
            .min_by_key(|(_, st)| st.spans.last().map_or(i64::MIN, |s| s.timestamp));
        let Some((s, st)) = next else { return };
        let mut job = std::mem::take(&mut a.spare);
        job.buffer = st.pending[0];
        job.header = self.buffers[job.buffer];
        job.result = self.read_stored(&job.header, &mut job.stored).map(|()| None);
        a.in_flight = Some(s);
        if job.result.is_err() {
            // Nothing to unpack: the error is delivered when the stream asks.
            a.spare = job;
            return;
        }
        if let Err(mpsc::SendError(job)) = a.jobs.send(job) {
            a.spare = job;
            a.in_flight = None;
        }
    }

    /// Loads the next non-empty buffer of stream `s`; false when the stream is done.
    fn advance(
        &mut self,
        streams: &mut [Stream],
        s: usize,
        scratch: &mut Unpacking,
        ahead: &mut Option<Ahead>,
        stats: &mut ReadStats,
    ) -> bool {
        let st = &mut streams[s];
        while let Some(i) = st.pending.pop_front() {
            let h = self.buffers[i];
            st.current = i;
            st.cursor = 0;
            // The buffer unpacked ahead, or this one unpacked here.
            let mut was_ahead = false;
            if let Some(a) = ahead.as_mut().filter(|a| a.in_flight == Some(s)) {
                a.in_flight = None;
                if a.spare.result.is_err() && a.spare.buffer == i {
                    was_ahead = true; // its read failed; the error is in `spare`
                } else if let Ok(job) = a.done.recv() {
                    a.spare = job;
                    was_ahead = true;
                } else {
                    // The thread is gone: unpack here from now on.
                    *ahead = None;
                }
            }
            let unpacked = match ahead {
                Some(a) if was_ahead => &mut a.spare,
                _ => scratch.load(self, i),
            };
            debug_assert_eq!(unpacked.buffer, i);
            // The stream takes the unpacked buffer; its old one is reused for the next.
            std::mem::swap(&mut st.area, &mut unpacked.area);
            std::mem::swap(&mut st.spans, &mut unpacked.spans);
            let walked = std::mem::replace(&mut unpacked.result, Ok(None));
            let walk_error = match walked {
                Ok(e) => e,
                Err(msg) => {
                    stats.buffers_skipped += 1;
                    st.spans.clear();
                    self.diagnostics.error(
                        &self.name,
                        Location::Offset(h.file_offset),
                        format!("{msg}; buffer skipped"),
                    );
                    continue;
                }
            };
            stats.buffers_read += 1;
            stats.uncompressed_bytes += st.area.len() as u64;
            if let Some(e) = walk_error {
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
        st.spans = Vec::new();
        false
    }
}

/// Turns a buffer's stored bytes into its record area. No file access, so
/// it runs on either thread.
fn unpack(h: &BufferHeader, compression_format: u16, stored: &[u8], area: &mut Vec<u8>) -> Result<(), String> {
    let payload_len = h.payload_len();
    let stored = &stored[BUFFER_HEADER_SIZE..];
    // Areas are sized in powers of two (PktMon's buffers are 16 MiB): regrown
    // to each buffer's exact size, they fragmented glibc's heap, and reading a
    // file twice peaked at 187 MB instead of 106 MB.
    let uniform = area_capacity(payload_len);
    if area.capacity() < uniform {
        area.clear();
        area.reserve_exact(uniform);
    }
    if h.is_compressed() {
        if compression_format != COMPRESSION_XPRESS {
            return Err(format!(
                "buffer is compressed with {} (format {}), which this reader does not support",
                match compression_format {
                    2 => "LZNT1",
                    4 => "XPRESS Huffman",
                    _ => "an unknown method",
                },
                compression_format
            ));
        }
        xpress::decompress_into(stored, payload_len, area).map_err(|e| {
            format!(
                "corrupt compressed buffer (file offset of compressed data {}): {e}",
                h.file_offset + BUFFER_HEADER_SIZE as u64 + e.input_offset as u64
            )
        })
    } else {
        if payload_len > stored.len() {
            return Err(format!(
                "buffer's SavedOffset {} is past its size {}",
                h.saved_offset, h.size_on_disk
            ));
        }
        area.clear();
        area.extend_from_slice(&stored[..payload_len]);
        Ok(())
    }
}

/// The capacity an area gets for a buffer of `payload_len` bytes.
fn area_capacity(payload_len: usize) -> usize {
    payload_len.next_power_of_two().min(MAX_BUFFER_BYTES)
}

/// One buffer on its way from the file to a stream: stored bytes in,
/// record area and record spans out. The vectors are reused buffer after buffer.
struct Unpacking {
    buffer: usize,
    header: BufferHeader,
    stored: Vec<u8>,
    area: Vec<u8>,
    spans: Vec<RecordSpan>,
    /// Err: the buffer is unusable; Ok(Some): walking stopped early.
    result: Result<Option<WalkError>, String>,
}

impl Default for Unpacking {
    fn default() -> Self {
        Unpacking {
            buffer: usize::MAX,
            header: BufferHeader::default(),
            stored: Vec::new(),
            area: Vec::new(),
            spans: Vec::new(),
            result: Ok(None),
        }
    }
}

impl Unpacking {
    /// Decompresses and walks `stored` (already read, unless `result` is an error).
    fn run(&mut self, compression_format: u16) {
        self.spans.clear();
        if self.result.is_err() {
            return;
        }
        self.result = unpack(&self.header, compression_format, &self.stored, &mut self.area).map(|()| {
            let spans = &mut self.spans;
            walk(&self.area, |s: RecordSpan| spans.push(s)).err()
        });
    }

    /// Reads, decompresses and walks buffer `i` on this thread.
    fn load(&mut self, etl: &mut EtlFile, i: usize) -> &mut Unpacking {
        self.buffer = i;
        self.header = etl.buffers[i];
        self.result = etl.read_stored(&self.header, &mut self.stored).map(|()| None);
        self.run(etl.compression_format);
        self
    }
}

/// The second thread's side of the merge: at most one buffer in flight.
struct Ahead {
    jobs: mpsc::Sender<Unpacking>,
    done: mpsc::Receiver<Unpacking>,
    /// The stream whose next buffer is being unpacked.
    in_flight: Option<usize>,
    /// The job last returned (or not sent), reused for the next request.
    spare: Unpacking,
}

struct Stream {
    cpu: u16,
    pending: VecDeque<usize>,
    current: usize,
    area: Vec<u8>,
    spans: Vec<RecordSpan>,
    cursor: usize,
}
