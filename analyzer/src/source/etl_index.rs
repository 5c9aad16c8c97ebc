//! Random access to the frames of a PktMon ETL, as `convert` would write
//! them, without holding the decompressed file: one read of the whole file
//! (the same as `convert`'s first read) learns the components, the
//! interfaces in order of first use and where every packet record lies
//! (buffer, offset); a frame is then rebuilt from its record on demand, its
//! buffer decompressed again unless it is among the few kept in a small
//! cache. What a frame holds comes from [`crate::sink::pcapng`] (the same
//! model as `convert`'s pcapng). Used by the Wireshark plugin's file reader.

use std::path::Path;

use crate::error::{Diagnostics, Error, Location, Severity};
use crate::etl::buffer::BUFFER_HEADER_SIZE;
use crate::etl::logfile::LogfileHeader;
use crate::etl::record::{RecordSpan, TraceRecord};
use crate::etl::{EtlFile, MergedRecord};
use crate::model::*;
use crate::pktmon::catalog::Catalog;
use crate::pktmon::events::{self, EventOrigin, DOT11_PROTECTED};
use crate::pktmon::text;
use crate::sink::pcapng::{clears_protected_bit, shb_os, ConvertOptions, EpbFields, InterfaceParts};
use crate::sink::pcapng_blocks::InterfaceTable;

/// Where a packet record lies and which interface its frame is on.
#[derive(Debug, Clone, Copy)]
struct Entry {
    buffer: u32,
    /// Offset of the record in the buffer's record area (after the buffer header).
    pos: u32,
    interface: u32,
    cpu: u16,
}

/// One frame, borrowing the reader until the next call.
#[derive(Debug)]
pub struct EtlFrame<'a> {
    pub interface: u32,
    pub link_type: LinkType,
    pub captured: &'a [u8],
    /// Length on the wire (never less than the captured length).
    pub original_len: u32,
    /// The etl2txt line.
    pub comment: &'a str,
    pub epb: EpbFields,
}

/// A PktMon ETL opened for random access to its frames.
pub struct IndexedEtl {
    etl: EtlFile,
    header: LogfileHeader,
    entries: Vec<Entry>,
    interfaces: Vec<InterfaceParts>,
    info: CaptureInfo,
    catalog: Catalog,
    diagnostics: Diagnostics,
    pktmon_records: u64,
    cache: Vec<Cached>,
    cache_capacity: usize,
    clock: u64,
    line: String,
    payload: Vec<u8>,
}

struct Cached {
    buffer: u32,
    area: Vec<u8>,
    spans: Vec<RecordSpan>,
    used: u64,
}

/// What the first read collects.
#[derive(Default)]
struct IndexSink {
    interfaces: InterfaceTable,
    components: ComponentTable,
    frame_interfaces: Vec<u32>,
    pktmon_records: u64,
}

impl RecordSink for IndexSink {
    fn record(&mut self, _ctx: &Context<'_>, record: Record) {
        self.pktmon_records += 1;
        match record {
            Record::Packet(a) => {
                let i = self.interfaces.id(a.component_id, a.link_type);
                self.frame_interfaces.push(i);
            }
            Record::Component(c) => self.components.add_component(c),
            Record::Property { component_id, property } => self.components.add_property(component_id, property),
            _ => {}
        }
    }

    fn wants_payloads(&self) -> bool {
        false
    }
}

impl IndexedEtl {
    /// Reads `path` once and indexes its frames. `Err` only when the file is
    /// not an ETL at all (or cannot be read); damage further in is kept in
    /// [`IndexedEtl::damage`], every frame before it indexed.
    pub fn open(path: &Path) -> Result<IndexedEtl, Error> {
        // Buffers are indexed first, so each packet's place is kept as it is
        // met (16 bytes a frame, plus the interface's 4 until they are joined).
        let etl = EtlFile::open(path)?;
        let offsets: Vec<u64> = etl.buffers.iter().map(|b| b.file_offset).collect();
        let mut entries: Vec<Entry> = Vec::new();
        let mut sink = IndexSink::default();
        let outcome = super::etl::read_located(path, &mut sink, &mut |m: &MergedRecord<'_>| {
            // A buffer the second open did not see (the file changed meanwhile) keeps u32::MAX: frame() says so.
            let buffer = offsets.binary_search(&m.buffer_offset).map_or(u32::MAX, |b| b as u32);
            entries.push(Entry {
                buffer,
                pos: m.offset_in_buffer.saturating_sub(BUFFER_HEADER_SIZE as u32),
                interface: 0,
                cpu: m.cpu,
            })
        })?;
        drop(offsets);
        for (e, &interface) in entries.iter_mut().zip(&sink.frame_interfaces) {
            e.interface = interface;
        }
        sink.frame_interfaces = Vec::new();
        entries.shrink_to_fit();
        let interfaces = sink
            .interfaces
            .iter()
            .map(|&(component, link)| InterfaceParts::of(component, link, &sink.components))
            .collect();
        // Sequential reading moves through one buffer per CPU at a time.
        let cpus = etl
            .buffers
            .iter()
            .map(|b| b.processor)
            .max()
            .map_or(1, |m| m as usize + 1);
        Ok(IndexedEtl {
            header: etl.header.clone(),
            etl,
            entries,
            interfaces,
            info: outcome.info,
            catalog: outcome.catalog,
            diagnostics: outcome.diagnostics,
            pktmon_records: sink.pktmon_records + outcome.schemas.len() as u64,
            cache: Vec::new(),
            cache_capacity: (cpus + 1).clamp(2, 16),
            clock: 0,
            line: String::with_capacity(256),
            payload: Vec::new(),
        })
    }

    /// Whether the file holds anything of PktMon's (events or their schemas):
    /// a netsh or kernel trace does not.
    pub fn is_pktmon(&self) -> bool {
        self.pktmon_records > 0
    }

    /// Frames (packet and drop events), in time order.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The interfaces, one per (component, link type), in order of first use.
    pub fn interfaces(&self) -> &[InterfaceParts] {
        &self.interfaces
    }

    /// The section header's OS, as `convert` writes it.
    pub fn os(&self) -> Option<String> {
        shb_os(&self.info)
    }

    pub fn info(&self) -> &CaptureInfo {
        &self.info
    }

    /// The damage the first read met (cut short, corrupt buffers), as one
    /// message, and whether the file was cut short rather than corrupt.
    /// Frames before the damage are all indexed.
    pub fn damage(&self) -> Option<(String, bool)> {
        let cut_short = |m: &str| m.contains("cut short");
        let first = self
            .diagnostics
            .items
            .iter()
            .find(|d| d.severity == Severity::Error || cut_short(&d.message))?;
        let others = self
            .diagnostics
            .items
            .iter()
            .filter(|d| d.severity == Severity::Error || cut_short(&d.message))
            .count()
            - 1;
        let mut msg = match first.location {
            Location::File => first.message.clone(),
            loc => format!("at {loc}: {}", first.message),
        };
        if others > 0 {
            msg.push_str(&format!(" (and {others} more problems)"));
        }
        Some((msg, cut_short(&first.message) && first.severity == Severity::Warning))
    }

    /// Frame `i` (0-based), rebuilt from its record.
    pub fn frame(&mut self, i: usize) -> Result<EtlFrame<'_>, String> {
        let e = *self
            .entries
            .get(i)
            .ok_or_else(|| format!("no frame {} (the file has {})", i + 1, self.entries.len()))?;
        if e.buffer as usize >= self.etl.buffers.len() {
            return Err("the file changed while it was being opened".into());
        }
        let slot = self.cached(e.buffer)?;
        let c = &self.cache[slot];
        let offset = self.etl.buffers[e.buffer as usize].file_offset;
        let span = c
            .spans
            .binary_search_by_key(&e.pos, |s| s.pos)
            .map(|k| c.spans[k])
            .map_err(|_| format!("no record at offset {} of the buffer at file offset {offset}", e.pos))?;
        let bytes = c
            .area
            .get(span.pos as usize..(span.pos + span.len) as usize)
            .ok_or_else(|| {
                format!(
                    "record at offset {} of the buffer at file offset {offset} is cut",
                    e.pos
                )
            })?;
        let r = TraceRecord::parse(span.kind, bytes).ok_or_else(|| {
            format!(
                "damaged record at offset {} of the buffer at file offset {offset}",
                e.pos
            )
        })?;
        let origin = EventOrigin {
            time: self.header.to_filetime(r.timestamp),
            cpu: e.cpu,
            process_id: r.process_id,
            thread_id: r.thread_id,
        };
        let mut a = match events::decode(r.id, r.payload, origin, i as u64, true) {
            Ok(Some(Record::Packet(a))) => a,
            Ok(_) => return Err(format!("the record at file offset {offset} is no longer a packet")),
            Err(err) => return Err(format!("PktMon event {} at file offset {offset}: {}", r.id, err.0)),
        };
        if let Some(d) = &mut a.drop {
            d.reason_text = d.reason.and_then(|c| self.catalog.drop_reason(c)).map(str::to_string);
        }
        self.line.clear();
        text::render_message_into(&mut self.line, &a, &self.catalog, None);
        let epb = EpbFields::of(&a, ConvertOptions::default());
        let clear = clears_protected_bit(&a, false);
        self.payload = std::mem::take(&mut a.payload);
        if clear {
            self.payload[1] &= !DOT11_PROTECTED;
        }
        Ok(EtlFrame {
            interface: e.interface,
            link_type: a.link_type,
            original_len: a.original_size.max(self.payload.len() as u32),
            captured: &self.payload,
            comment: &self.line,
            epb,
        })
    }

    /// The cache slot holding buffer `b`, loading it (in place of the least
    /// recently used) if needed.
    fn cached(&mut self, b: u32) -> Result<usize, String> {
        self.clock += 1;
        if let Some(slot) = self.cache.iter().position(|c| c.buffer == b) {
            self.cache[slot].used = self.clock;
            return Ok(slot);
        }
        let slot = if self.cache.len() < self.cache_capacity {
            self.cache.push(Cached {
                buffer: u32::MAX,
                area: Vec::new(),
                spans: Vec::new(),
                used: 0,
            });
            self.cache.len() - 1
        } else {
            (0..self.cache.len()).min_by_key(|&s| self.cache[s].used).unwrap_or(0)
        };
        let c = &mut self.cache[slot];
        c.buffer = u32::MAX;
        let offset = self.etl.buffers[b as usize].file_offset;
        self.etl
            .buffer_records(b as usize, &mut c.area, &mut c.spans)
            .map_err(|m| format!("buffer at file offset {offset}: {m}"))?;
        c.buffer = b;
        c.used = self.clock;
        Ok(slot)
    }

    /// Buffers held decompressed at most (see the module's documentation).
    pub fn cache_capacity(&self) -> usize {
        self.cache_capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::pcapng::{ConvertOptions, PcapngConverter, Prescan};

    fn bundled() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/demikernel-PktMon.etl")
    }

    #[test]
    fn frames_match_what_convert_reads_back() {
        let path = bundled();
        let mut idx = IndexedEtl::open(&path).unwrap();
        assert!(idx.is_pktmon());
        assert!(idx.damage().is_none(), "{:?}", idx.damage());
        // convert, then read the pcapng back with the analyzer's pcapng reader.
        let dir = std::env::temp_dir().join(format!("pktmon-etl-index-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("c.pcapng");
        let mut prescan = Prescan::default();
        let first = crate::source::read(&path, &mut prescan).unwrap();
        let mut conv = PcapngConverter::with_prescan(&out, ConvertOptions::default(), prescan, &first.info).unwrap();
        let outcome = crate::source::read(&path, &mut conv).unwrap();
        conv.finish(&outcome.info).unwrap();
        let back = crate::source::read_capture(&out).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(idx.len(), back.appearances.len());
        assert!(idx.len() > 10);
        // Random order: the cache must not matter.
        let n = idx.len();
        for i in (0..n).rev().chain(0..n) {
            let want = &back.appearances[i];
            let f = idx.frame(i).unwrap();
            assert_eq!(f.captured, &want.payload[..], "frame {i}");
            assert_eq!(Some(f.epb.packet_id.unwrap()), want.group_id, "frame {i}");
            assert_eq!(f.link_type, want.link_type, "frame {i}");
            assert_eq!(f.original_len, want.original_size, "frame {i}");
            assert!(f.comment.starts_with("PktGroupId "), "{}", f.comment);
        }
        assert!(idx.cache.len() <= idx.cache_capacity());
    }

    #[test]
    fn a_file_that_is_not_an_etl_is_an_error_naming_it() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let e = IndexedEtl::open(&path).err().expect("not an ETL");
        assert!(e.file.ends_with("Cargo.toml"), "{e}");
    }
}
