//! Trace records inside an uncompressed buffer: every header type walked or
//! skipped by its size, 8-byte aligned.

use super::bytes::*;

pub const SYSTEM32: u8 = 0x01;
pub const SYSTEM64: u8 = 0x02;
pub const COMPACT32: u8 = 0x03;
pub const COMPACT64: u8 = 0x04;
pub const FULL_HEADER32: u8 = 0x0A;
pub const INSTANCE32: u8 = 0x0B;
pub const MESSAGE: u8 = 0x0F;
pub const PERFINFO32: u8 = 0x10;
pub const PERFINFO64: u8 = 0x11;
pub const EVENT_HEADER32: u8 = 0x12;
pub const EVENT_HEADER64: u8 = 0x13;
pub const FULL_HEADER64: u8 = 0x14;
pub const INSTANCE64: u8 = 0x15;

/// Marker bit 0x10 of byte 3: a WPP (TRACE_MESSAGE) record.
const MARKER_TRACE_MESSAGE: u8 = 0x10;

/// EVENT_HEADER.Flags bits.
pub const EVENT_FLAG_EXTENDED_INFO: u16 = 0x01;
pub const EVENT_FLAG_32_BIT_HEADER: u16 = 0x20;
pub const EVENT_FLAG_64_BIT_HEADER: u16 = 0x40;

/// Which family of trace header a record has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// SYSTEM_TRACE_HEADER (kernel / MSNT_SystemTrace; the logfile header).
    System,
    /// SYSTEM_TRACE_HEADER without kernel/user time.
    Compact,
    /// PERFINFO_TRACE_HEADER.
    PerfInfo,
    /// EVENT_TRACE_HEADER (classic/MOF; the relogger's injected metadata).
    Full,
    /// EVENT_INSTANCE_GUID_HEADER.
    Instance,
    /// EVENT_HEADER (manifest and TraceLogging events; all PktMon events).
    Event,
    /// WPP trace message.
    Message,
}

/// Where one record lies in a buffer's record area, found by walking sizes.
#[derive(Debug, Clone, Copy)]
pub struct RecordSpan {
    pub pos: u32,
    pub len: u32,
    pub kind: RecordKind,
    pub timestamp: i64,
}

/// Why walking a buffer stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    pub pos: usize,
    pub message: String,
}

fn kind_of(header_type: u8, marker: u8) -> Option<(RecordKind, bool)> {
    // (kind, size field at +4)
    if marker & MARKER_TRACE_MESSAGE != 0 && !matches!(header_type, EVENT_HEADER32 | EVENT_HEADER64) {
        return Some((RecordKind::Message, false));
    }
    Some(match header_type {
        SYSTEM32 | SYSTEM64 => (RecordKind::System, true),
        COMPACT32 | COMPACT64 => (RecordKind::Compact, true),
        PERFINFO32 | PERFINFO64 => (RecordKind::PerfInfo, true),
        FULL_HEADER32 | FULL_HEADER64 => (RecordKind::Full, false),
        INSTANCE32 | INSTANCE64 => (RecordKind::Instance, false),
        EVENT_HEADER32 | EVENT_HEADER64 => (RecordKind::Event, false),
        MESSAGE => (RecordKind::Message, false),
        _ => return None,
    })
}

fn min_header_len(kind: RecordKind) -> usize {
    match kind {
        RecordKind::System => 0x20,
        RecordKind::Compact => 0x18,
        RecordKind::PerfInfo => 0x10,
        RecordKind::Full => 0x30,
        RecordKind::Instance => 0x48,
        RecordKind::Event => 0x50,
        RecordKind::Message => 4,
    }
}

fn timestamp_of(kind: RecordKind, rec: &[u8]) -> Option<i64> {
    match kind {
        RecordKind::PerfInfo => i64_at(rec, 0x08),
        RecordKind::Message => None,
        _ => i64_at(rec, 0x10),
    }
}

/// Walks the records of a buffer's record area (`area` = bytes after the
/// 0x48-byte buffer header, up to SavedOffset). Calls `f` for each record.
/// Returns an error describing where the walk had to stop, if it did; the
/// records before that point have been delivered.
pub fn walk(area: &[u8], mut f: impl FnMut(RecordSpan)) -> Result<(), WalkError> {
    let mut pos = 0usize;
    let mut last_ts = 0i64;
    while pos + 4 <= area.len() {
        let marker = u32_at(area, pos).unwrap_or(u32::MAX);
        // Uncompressed buffers are padded with 0xFF after the last record.
        if marker == u32::MAX {
            return Ok(());
        }
        let header_type = area[pos + 2];
        let marker_flags = area[pos + 3];
        let Some((kind, size_at_4)) = kind_of(header_type, marker_flags) else {
            return Err(WalkError {
                pos,
                message: format!("unknown trace header type 0x{header_type:02X}; rest of buffer skipped"),
            });
        };
        let size = if size_at_4 {
            u16_at(area, pos + 4).unwrap_or(0) as usize
        } else {
            u16_at(area, pos).unwrap_or(0) as usize
        };
        let min = min_header_len(kind);
        if size < min {
            if size == 0 && area[pos..].iter().all(|&b| b == 0) {
                return Ok(()); // zero padding
            }
            return Err(WalkError {
                pos,
                message: format!("record size {size} is smaller than its {min}-byte header; rest of buffer skipped"),
            });
        }
        if pos + size > area.len() {
            return Err(WalkError {
                pos,
                message: format!(
                    "record of {size} bytes runs past the end of the buffer ({} bytes left); rest of buffer skipped",
                    area.len() - pos
                ),
            });
        }
        let rec = &area[pos..pos + size];
        let ts = timestamp_of(kind, rec).unwrap_or(last_ts);
        last_ts = ts;
        f(RecordSpan {
            pos: pos as u32,
            len: size as u32,
            kind,
            timestamp: ts,
        });
        pos += align8(size);
    }
    Ok(())
}

/// One decoded trace record, borrowing the buffer.
#[derive(Debug, Clone, Copy)]
pub struct TraceRecord<'a> {
    pub kind: RecordKind,
    pub header_type: u8,
    /// Raw clock value.
    pub timestamp: i64,
    pub process_id: u32,
    pub thread_id: u32,
    /// Provider (Event), event GUID (Full/Instance); zero for system records.
    pub guid: [u8; 16],
    /// Event id (Event), HookId (System/Compact/PerfInfo), 0 otherwise.
    pub id: u16,
    pub version: u8,
    /// Opcode (Event), Class.Type (Full/Instance).
    pub opcode: u8,
    pub level: u8,
    pub task: u16,
    pub keyword: u64,
    /// EVENT_HEADER.Flags (Event only).
    pub flags: u16,
    /// Whether pointers in the payload are 4 bytes (32-bit header).
    pub is_32bit: bool,
    /// Raw extended-data items (Event with EXTENDED_INFO only).
    pub extended: &'a [u8],
    pub payload: &'a [u8],
}

impl<'a> TraceRecord<'a> {
    /// Decodes the header of a record found by [`walk`]. `None` if the record
    /// is too short for its header (cannot happen for spans from `walk`).
    pub fn parse(kind: RecordKind, rec: &'a [u8]) -> Option<TraceRecord<'a>> {
        let header_type = *rec.get(2)?;
        let mut r = TraceRecord {
            kind,
            header_type,
            timestamp: timestamp_of(kind, rec).unwrap_or(0),
            process_id: 0,
            thread_id: 0,
            guid: [0; 16],
            id: 0,
            version: 0,
            opcode: 0,
            level: 0,
            task: 0,
            keyword: 0,
            flags: 0,
            is_32bit: matches!(
                header_type,
                SYSTEM32 | COMPACT32 | PERFINFO32 | FULL_HEADER32 | INSTANCE32 | EVENT_HEADER32
            ),
            extended: &[],
            payload: &[],
        };
        match kind {
            RecordKind::System | RecordKind::Compact => {
                r.id = u16_at(rec, 0x06)?;
                r.version = u16_at(rec, 0x00)? as u8;
                r.thread_id = u32_at(rec, 0x08)?;
                r.process_id = u32_at(rec, 0x0C)?;
                let hl = if kind == RecordKind::System { 0x20 } else { 0x18 };
                r.payload = rec.get(hl..)?;
            }
            RecordKind::PerfInfo => {
                let version = u16_at(rec, 0)?;
                r.id = u16_at(rec, 0x06)?;
                let pebs = if version & 0x8000 != 0 { 8 } else { 0 };
                let pmc = ((version >> 8) & 0x7) as usize * 8;
                r.payload = rec.get((0x10 + pebs + pmc).min(rec.len())..)?;
            }
            RecordKind::Full | RecordKind::Instance => {
                r.opcode = *rec.get(0x04)?;
                r.level = *rec.get(0x05)?;
                r.version = u16_at(rec, 0x06)? as u8;
                r.thread_id = u32_at(rec, 0x08)?;
                r.process_id = u32_at(rec, 0x0C)?;
                r.guid = guid_at(rec, 0x18)?;
                let hl = if kind == RecordKind::Full { 0x30 } else { 0x48 };
                r.payload = rec.get(hl..)?;
            }
            RecordKind::Event => {
                r.flags = u16_at(rec, 0x04)?;
                r.thread_id = u32_at(rec, 0x08)?;
                r.process_id = u32_at(rec, 0x0C)?;
                r.guid = guid_at(rec, 0x18)?;
                r.id = u16_at(rec, 0x28)?;
                r.version = *rec.get(0x2A)?;
                r.level = *rec.get(0x2C)?;
                r.opcode = *rec.get(0x2D)?;
                r.task = u16_at(rec, 0x2E)?;
                r.keyword = u64_at(rec, 0x30)?;
                if r.flags & EVENT_FLAG_32_BIT_HEADER != 0 {
                    r.is_32bit = true;
                } else if r.flags & EVENT_FLAG_64_BIT_HEADER != 0 {
                    r.is_32bit = false;
                }
                let mut start = 0x50;
                if r.flags & EVENT_FLAG_EXTENDED_INFO != 0 {
                    let ext_end = extended_items_end(rec, 0x50)?;
                    r.extended = rec.get(0x50..ext_end)?;
                    start = ext_end;
                }
                r.payload = rec.get(start..)?;
            }
            RecordKind::Message => {
                r.payload = rec.get(4.min(rec.len())..)?;
            }
        }
        Some(r)
    }

    /// Iterates the extended data items: (ExtType, data).
    pub fn extended_items(&self) -> ExtendedItems<'a> {
        ExtendedItems {
            area: self.extended,
            pos: 0,
        }
    }
}

/// Offset just past the last extended data item starting at `start`;
/// `None` if the items run past the record.
fn extended_items_end(rec: &[u8], start: usize) -> Option<usize> {
    let mut pos = start;
    // Each item: Reserved1 u16, ExtType u16, Linkage u16 (bit 0 = more follow), DataSize u16, data.
    for _ in 0..64 {
        let linkage = u16_at(rec, pos + 4)?;
        let size = u16_at(rec, pos + 6)? as usize;
        let end = pos + 8 + size;
        if end > rec.len() {
            return None;
        }
        pos = align8(end).min(rec.len());
        if linkage & 1 == 0 {
            return Some(pos);
        }
    }
    None
}

/// Iterator over extended data items.
pub struct ExtendedItems<'a> {
    area: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for ExtendedItems<'a> {
    type Item = (u16, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let ext_type = u16_at(self.area, self.pos + 2)?;
        let size = u16_at(self.area, self.pos + 6)? as usize;
        let data = self.area.get(self.pos + 8..self.pos + 8 + size)?;
        self.pos = align8(self.pos + 8 + size);
        Some((ext_type, data))
    }
}
