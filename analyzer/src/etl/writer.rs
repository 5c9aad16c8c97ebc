//! ETL writer: files in the shape `pktmon` (through the ETW relogger) writes them.
//!
//! The corpus of real PktMon captures is small and every file in it is a
//! healthy, compressed, 64-bit relogged log without extended data items or
//! lost events. This writer produces the shapes the corpus lacks (plain
//! buffers, 32-bit logs, extended items, lost-event counts, other languages,
//! unknown drop reasons) so the reader can be tested against files whose every
//! field is known, and so scenario generators can build captures of any size.
//!
//! What a file looks like (see `shared/docs/pktmon-etl-and-text-formats.md`
//! §1, and the layout of `captures/demikernel-PktMon.etl`, imitated field by
//! field):
//!
//! * a 1 KiB uncompressed **header buffer** (BufferType HEADER, flag
//!   FLUSH_MARKER) holding the logfile-header record (a SYSTEM record with
//!   HookId 0 whose timestamp is the QPC origin of the session) and one
//!   PartitionInfoExtension record (hook 0x0050). As in the real files,
//!   SavedOffset ends after the first record and Offset after the second;
//! * per-CPU **data buffers**, written grouped by CPU (ascending) like the
//!   relogger does. Each holds only its CPU's records in time order; the CPU 0
//!   stream starts with the PartitionInfoExtension record again (and the
//!   SystemConfigEx BuildInfo record when an OS description is given).
//!   SequenceNumber counts all data buffers in the order they would have
//!   been flushed (by the time of their last record), so it increases within
//!   each CPU. Buffers are either XPRESS-compressed (BufferSize = 0x48 +
//!   compressed length, flag COMPRESSED, State 3) or plain and padded with
//!   0xFF to the fixed buffer size. The last buffer carries FLUSH_MARKER;
//! * EventMetadata records (TRACE_EVENT_INFO and EVENT_MAP_INFO), injected
//!   as the relogger does just before the first event that needs them, on
//!   that event's CPU and with its timestamp;
//! * PktMon's rundown (component, property, counter and filter events, ids
//!   below 160) comes last in time: pktmon logs it when the capture stops.
//!
//! Output is a pure function of the options and the queued events (no clock,
//! no randomness, no hash-map order, no dependence on thread timing), so the
//! same input gives the same bytes.
//!
//! Sized for scenario generators: payloads are queued in one arena, nothing
//! is quadratic, and each full buffer is compressed on a worker thread while
//! the next is filled, its vector then reused, so memory stays at the queued
//! events plus a few buffers (about 1.4 M small packets/s on 2 cores).

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Mutex};

use super::buffer::{BUFFER_HEADER_SIZE, FLAG_COMPRESSED, FLAG_EVENTS_LOST, FLAG_FLUSH_MARKER, TYPE_HEADER};
use super::bytes::align8;
use super::reader::COMPRESSION_XPRESS;
use super::record::{
    EVENT_FLAG_32_BIT_HEADER, EVENT_FLAG_EXTENDED_INFO, EVENT_HEADER32, EVENT_HEADER64, FULL_HEADER32, FULL_HEADER64,
    SYSTEM32, SYSTEM64,
};
use super::schema::{EVENT_METADATA_GUID, METADATA_EVENT_MAP_INFO, METADATA_TRACE_EVENT_INFO, SYSTEM_CONFIG_EX_GUID};
use super::xpress;
use crate::pktmon::catalog::{
    Catalog, MAP_COMPONENT_TYPE, MAP_DIRECTION, MAP_DROP_REASON, MAP_ETHER_TYPE, MAP_NDIS_MEDIUM, MAP_PACKET_TYPE,
    MAP_PROPERTY_TYPE,
};
use crate::pktmon::PROVIDER_GUID;

/// Logical buffer size of relogged PktMon files (`TRACE_LOGFILE_HEADER.BufferSize`).
pub const RELOGGED_BUFFER_SIZE: u32 = 16 << 20;

/// Size of the header buffer in every PktMon file of the corpus.
const HEADER_BUFFER_SIZE: usize = 0x400;

/// BufferFlag PROC_INDEX: set on every data buffer the relogger writes.
const FLAG_PROC_INDEX: u16 = 0x20;

/// SYSTEM_TRACE_HEADER: Version 2, and the marker flags TRACE_HEADER_FLAG | EVENT_TRACE.
const SYSTEM_HEADER_VERSION: u16 = 2;
const MARKER_FLAGS: u8 = 0xC0;
const SYSTEM_HEADER_LEN: usize = 0x20;
const FULL_HEADER_LEN: usize = 0x30;
const EVENT_HEADER_LEN: usize = 0x50;

/// HookId of the PartitionInfoExtension record (group HEADER, type 80).
const HOOK_PARTITION_INFO: u16 = 0x0050;
/// Payload length of PartitionInfoExtension as in the corpus (all zeros there).
const PARTITION_INFO_LEN: usize = 48;
/// SystemConfigEx Class.Type of the BuildInfo record.
const SYSTEM_CONFIG_BUILD_INFO: u8 = 32;

/// TRACE_LOGFILE_HEADER constants as the relogger writes them (the corpus values).
const LOGFILE_VERSION: u32 = 0x0002_000A;
const TIMER_RESOLUTION: u32 = 156_250;
const MAXIMUM_FILE_SIZE_MB: u32 = 512;
const LOG_FILE_MODE: u32 = 0x0401_0001;
const CPU_SPEED_MHZ: u32 = 3_000;
/// ReservedFlags: clock type 1 = QPC.
const CLOCK_TYPE_QPC: u32 = 1;
const LOGGER_NAME: &str = "Relogger";
const LOG_FILE_NAME: &str = "C:\\PktMon\\PktMon.etl";
/// Size of TIME_ZONE_INFORMATION (Bias, two names of 32 WCHAR, two SYSTEMTIMEs, two biases).
const TIME_ZONE_INFORMATION_LEN: usize = 172;

/// Process and thread of the relogger, on the header records.
const RELOGGER_PROCESS_ID: u32 = 0x1864;
const RELOGGER_THREAD_ID: u32 = 0x06A4;

/// The session is taken to start one hour after boot: QPC origin = 3600 s of ticks.
const SECONDS_SINCE_BOOT: i64 = 3_600;

/// FILETIME ticks per second.
const FILETIME_HZ: i64 = 10_000_000;

/// EVENT_HEADER level of every PktMon event (win:Informational).
const LEVEL_INFORMATIONAL: u8 = 4;
/// PktMon keywords: KW_RUNDOWN for ids below 160, KW_PKT_PAYLOAD for packets.
const KEYWORD_RUNDOWN: u64 = 0x2;
const KEYWORD_PKT_PAYLOAD: u64 = 0x10;
/// First event id that is not rundown (FramePayload).
const FIRST_PACKET_EVENT: u16 = 160;

/// Extended data item types used when `extended_items` is on.
const EXT_TYPE_RELATED_ACTIVITYID: u16 = 1;
const EXT_TYPE_TS_ID: u16 = 3;
/// Bytes the two extended items take: (8 + 16) + align8(8 + 4).
const EXTENDED_ITEMS_LEN: usize = 24 + 16;

/// Largest payload an event can carry: EVENT_HEADER.Size is a u16 and covers
/// the header and the extended items too.
pub const MAX_EVENT_PAYLOAD: usize = u16::MAX as usize - EVENT_HEADER_LEN - EXTENDED_ITEMS_LEN;

/// What kind of file to write. [`Default`] gives a compressed, 64-bit,
/// 4-CPU, 16 MiB-buffer log of build 26100 with embedded schemas, the shape
/// of every real PktMon capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtlWriterOptions {
    /// OS build number (TRACE_LOGFILE_HEADER.ProviderVersion); also picks the
    /// built-in DropReason table embedded by default.
    pub os_build: u32,
    /// NumberOfProcessors in the logfile header.
    pub processors: u32,
    /// 8, or 4 for a 32-bit log: SYSTEM32 header record, 32-bit
    /// TRACE_LOGFILE_HEADER layout, FULL_HEADER32 metadata and EVENT_HEADER32
    /// (type 0x12) events with the 32_BIT_HEADER flag.
    pub pointer_size: u32,
    /// XPRESS-compressed buffers like the relogger (flag 0x40, State 3), or
    /// plain fixed-size buffers padded with 0xFF.
    pub compress: bool,
    /// Logical buffer size: 16 MiB ([`RELOGGED_BUFFER_SIZE`]) for relogged
    /// files; plain logs typically use 64 KiB. A record too large for an
    /// empty buffer gets a buffer of its own, as large as it needs.
    pub buffer_size: u32,
    /// FILETIME (UTC) of the session start; event times are relative to it.
    /// Earlier event times are written (negative QPC deltas) and read back
    /// exactly, but not on CPU 0: a reader merges the header buffer as the
    /// head of CPU 0's stream, so CPU 0 events before the logfile-header
    /// record would come after it. Real sessions have no such events.
    pub start_time: i64,
    /// TIME_ZONE_INFORMATION.Bias, minutes (local = UTC − bias).
    pub timezone_bias_minutes: i32,
    /// QPC frequency. Times round-trip to the 100 ns when it is at least 10 MHz.
    pub perf_freq: i64,
    /// TRACE_LOGFILE_HEADER.EventsLost.
    pub events_lost: u32,
    /// TRACE_LOGFILE_HEADER.BuffersLost.
    pub buffers_lost: u32,
    /// Sets BufferFlag EVENTS_LOST on this data buffer (0 = the first buffer
    /// after the header buffer, in file order; out of range = none).
    pub flag_events_lost_on_buffer: Option<usize>,
    /// Gives every PktMon event two extended data items (RELATED_ACTIVITYID,
    /// 16 bytes, linkage bit set, then TS_ID, 4 bytes) and EVENT_HEADER flag
    /// EXTENDED_INFO. No real PktMon file has them; other ETW sessions do.
    pub extended_items: bool,
    /// Injects EventMetadata records (TRACE_EVENT_INFO of every PktMon event
    /// id used, with English message templates, and the value maps they
    /// reference) as the relogger does.
    pub embed_schema: bool,
    /// Message templates of events 160 and 170 to embed instead of the
    /// English ones (for other-language fixtures).
    pub message_templates: Option<(String, String)>,
    /// The embedded DropReason map, texts written verbatim (real maps end
    /// every text with a space). Default: the built-in table of
    /// [`crate::pktmon::catalog`] for `os_build`, with that space added.
    pub drop_reason_map: Option<BTreeMap<u32, String>>,
    /// Writes a SystemConfigEx BuildInfo record whose ProductName is this
    /// (what the reader reports as `CaptureInfo.os_description`).
    pub os_description: Option<String>,
}

impl Default for EtlWriterOptions {
    fn default() -> Self {
        EtlWriterOptions {
            os_build: 26100,
            processors: 4,
            pointer_size: 8,
            compress: true,
            buffer_size: RELOGGED_BUFFER_SIZE,
            // 2024-05-01 12:00:00 UTC.
            start_time: 133_590_960_000_000_000,
            timezone_bias_minutes: 0,
            perf_freq: FILETIME_HZ,
            events_lost: 0,
            buffers_lost: 0,
            flag_events_lost_on_buffer: None,
            extended_items: false,
            embed_schema: true,
            message_templates: None,
            drop_reason_map: None,
            os_description: None,
        }
    }
}

/// One queued PktMon event; its payload lives in [`EtlWriter::arena`].
#[derive(Debug, Clone, Copy)]
struct QueuedEvent {
    time: i64,
    payload_start: usize,
    payload_len: u32,
    process_id: u32,
    thread_id: u32,
    cpu: u16,
    id: u16,
}

/// Collects PktMon events, then lays them out as an ETL file in [`EtlWriter::finish`].
///
/// ```
/// use pktmon::etl::writer::{payload, EtlWriter, EtlWriterOptions};
/// let options = EtlWriterOptions::default();
/// let t0 = options.start_time;
/// let mut w = EtlWriter::new(options);
/// w.event(0, t0 + 5, 4, 8, 20, payload::component(7, 2, "e1i65x64.sys", "Intel(R) 82574L"));
/// let bytes = w.finish();
/// assert!(pktmon::etl::looks_like_etl(&bytes));
/// ```
#[derive(Debug, Clone)]
pub struct EtlWriter {
    options: EtlWriterOptions,
    events: Vec<QueuedEvent>,
    /// All payloads back to back: one allocation instead of one per event.
    arena: Vec<u8>,
}

impl EtlWriter {
    /// # Panics
    /// If `pointer_size` is not 4 or 8, `perf_freq` is not positive, or
    /// `buffer_size` is below 1 KiB: such a file could not be read back.
    pub fn new(options: EtlWriterOptions) -> Self {
        assert!(
            matches!(options.pointer_size, 4 | 8),
            "pointer_size must be 4 or 8, not {}",
            options.pointer_size
        );
        assert!(options.perf_freq > 0, "perf_freq must be positive");
        assert!(
            options.buffer_size as usize >= HEADER_BUFFER_SIZE,
            "buffer_size must be at least {HEADER_BUFFER_SIZE} bytes"
        );
        EtlWriter {
            options,
            events: Vec::new(),
            arena: Vec::new(),
        }
    }

    /// Reserves room for `events` more events carrying `payload_bytes` bytes
    /// in all, so queueing millions of events does not reallocate.
    pub fn reserve(&mut self, events: usize, payload_bytes: usize) {
        self.events.reserve(events);
        self.arena.reserve(payload_bytes);
    }

    /// The options this writer was created with.
    pub fn options(&self) -> &EtlWriterOptions {
        &self.options
    }

    /// Number of events queued so far.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Queues one PktMon event (any id: 20, 30, 40, 60, 65, 66, 70, 73, 75,
    /// 80, 90, 100, 110, 160, 170, …) with its raw payload (see [`payload`]),
    /// on CPU `cpu`, at FILETIME `time`.
    ///
    /// # Panics
    /// If `cpu` is above 255 (ProcessorNumber is one byte in the buffer
    /// header) or the payload is longer than [`MAX_EVENT_PAYLOAD`].
    pub fn event(&mut self, cpu: u16, time: i64, pid: u32, tid: u32, event_id: u16, payload: Vec<u8>) {
        self.event_from_slice(cpu, time, pid, tid, event_id, &payload);
    }

    /// [`EtlWriter::event`] without giving up a vector.
    pub fn event_from_slice(&mut self, cpu: u16, time: i64, pid: u32, tid: u32, event_id: u16, payload: &[u8]) {
        assert!(cpu <= 0xFF, "cpu {cpu} does not fit the one-byte ProcessorNumber");
        assert!(
            payload.len() <= MAX_EVENT_PAYLOAD,
            "event {event_id} payload of {} bytes exceeds {MAX_EVENT_PAYLOAD}",
            payload.len()
        );
        self.events.push(QueuedEvent {
            time,
            payload_start: self.arena.len(),
            payload_len: payload.len() as u32,
            process_id: pid,
            thread_id: tid,
            cpu,
            id: event_id,
        });
        self.arena.extend_from_slice(payload);
    }

    /// Queues an appearance as event 160, or 170 when it is a drop, on its own
    /// CPU, process and thread (0 when unknown) at its time.
    pub fn appearance(&mut self, a: &crate::model::Appearance) {
        let id = if a.is_drop() {
            crate::pktmon::events::EVENT_DROP
        } else {
            crate::pktmon::events::EVENT_PACKET
        };
        let cpu = a.cpu.unwrap_or(0);
        assert!(cpu <= 0xFF, "cpu {cpu} does not fit the one-byte ProcessorNumber");
        // Encoded straight into the arena: no allocation per packet.
        let start = self.arena.len();
        payload::put_packet(&mut self.arena, a);
        self.events.push(QueuedEvent {
            time: a.time,
            payload_start: start,
            payload_len: (self.arena.len() - start) as u32,
            process_id: a.process_id.unwrap_or(0),
            thread_id: a.thread_id.unwrap_or(0),
            cpu,
            id,
        });
    }

    /// Queues any model record as the PktMon event it was decoded from (see
    /// [`payload::record`]). Packets keep their own CPU, process, thread and
    /// time; the other records take the ones given.
    pub fn record(&mut self, cpu: u16, time: i64, pid: u32, tid: u32, record: &crate::model::Record) {
        if let crate::model::Record::Packet(a) = record {
            self.appearance(a);
            return;
        }
        let (id, p) = payload::record(record);
        self.event_from_slice(cpu, time, pid, tid, id, &p);
    }

    /// Lays the events out as the relogger does (see the module docs) and
    /// returns the file's bytes.
    ///
    /// Rundown events (ids below 160) are written after the last packet
    /// event, as pktmon logs its rundown when the capture stops: when the
    /// earliest of them is not later than the last packet event, all of them
    /// are moved by the same amount to start 100 ns after it (keeping their
    /// order and spacing). Give them later times to keep their own.
    pub fn finish(self) -> Vec<u8> {
        let o = &self.options;
        let clock = Clock {
            start_time: o.start_time,
            origin: o.perf_freq.saturating_mul(SECONDS_SINCE_BOOT),
            freq: o.perf_freq,
        };
        let times = self.effective_times();
        let end_time = times.iter().copied().max().unwrap_or(o.start_time).max(o.start_time);
        let raw: Vec<i64> = times.iter().map(|&t| clock.raw(t)).collect();

        let streams = self.cpu_streams(&times);
        let layout = RecordLayout::new(o);
        let (items, metadata) = self.interleave(&streams, &raw, &layout);
        let fill = |on_full: &mut dyn FnMut(Vec<u8>) -> Vec<u8>| {
            self.fill_buffers(&items, &metadata, &raw, &layout, clock.origin, on_full)
        };
        let (mut buffers, stored) = if o.compress {
            compress_while_filling(fill)
        } else {
            let mut areas = Vec::new();
            let buffers = fill(&mut |area| {
                areas.push(area);
                Vec::new()
            });
            (buffers, areas)
        };
        assign_sequence_numbers(&mut buffers);
        self.assemble(&buffers, &stored, &layout, clock.origin, end_time)
    }

    /// Event times after moving the rundown behind the last packet event.
    fn effective_times(&self) -> Vec<i64> {
        let last_packet = self
            .events
            .iter()
            .filter(|e| e.id >= FIRST_PACKET_EVENT)
            .map(|e| e.time)
            .max();
        let first_rundown = self
            .events
            .iter()
            .filter(|e| e.id < FIRST_PACKET_EVENT)
            .map(|e| e.time)
            .min();
        let shift = match (last_packet, first_rundown) {
            (Some(last), Some(first)) if first <= last => last.saturating_add(1).saturating_sub(first),
            _ => 0,
        };
        self.events
            .iter()
            .map(|e| {
                if e.id < FIRST_PACKET_EVENT {
                    e.time.saturating_add(shift)
                } else {
                    e.time
                }
            })
            .collect()
    }

    /// Event indices per CPU (ascending CPU), each stably sorted by time.
    /// CPU 0 is always present: it carries the PartitionInfoExtension record.
    fn cpu_streams(&self, times: &[i64]) -> Vec<(u16, Vec<u32>)> {
        let mut counts = [0usize; 256];
        for e in &self.events {
            counts[e.cpu as usize] += 1;
        }
        let mut by_cpu: Vec<Vec<u32>> = counts.iter().map(|&n| Vec::with_capacity(n)).collect();
        for (i, e) in self.events.iter().enumerate() {
            by_cpu[e.cpu as usize].push(i as u32);
        }
        by_cpu
            .into_iter()
            .enumerate()
            .filter(|(cpu, v)| *cpu == 0 || !v.is_empty())
            .map(|(cpu, mut v)| {
                v.sort_by_key(|&i| times[i as usize]);
                (cpu as u16, v)
            })
            .collect()
    }

    /// Per-CPU item lists: the CPU 0 prologue, then each CPU's events with the
    /// metadata records placed just before the first event needing them.
    ///
    /// "First" is the order the reader delivers records in: by timestamp,
    /// ties going to the lower CPU (its buffers come first in the file), then
    /// to the earlier record of the stream.
    fn interleave(
        &self,
        streams: &[(u16, Vec<u32>)],
        raw: &[i64],
        layout: &RecordLayout,
    ) -> (Vec<(u16, Vec<Item>)>, Vec<MetadataRecord>) {
        let mut metadata = Vec::new();
        let o = &self.options;
        // Prologue of CPU 0, at the QPC origin like the header records.
        let prologue_time = o.perf_freq.saturating_mul(SECONDS_SINCE_BOOT);
        let mut prologue = vec![MetadataRecord {
            timestamp: prologue_time,
            bytes: layout.system_record(HOOK_PARTITION_INFO, prologue_time, &[0; PARTITION_INFO_LEN]),
        }];
        if let Some(product) = &o.os_description {
            let mut p = Vec::with_capacity(8 + 2 * (product.len() + 48));
            put_i64(&mut p, o.start_time - SECONDS_SINCE_BOOT * FILETIME_HZ * 24 * 30);
            put_utf16z(&mut p, &format!("{}.1.amd64fre.pktmon_writer.000000-0000", o.os_build));
            put_utf16z(&mut p, product);
            prologue.push(MetadataRecord {
                timestamp: prologue_time,
                bytes: layout.full_record(
                    SYSTEM_CONFIG_BUILD_INFO,
                    RELOGGER_THREAD_ID,
                    RELOGGER_PROCESS_ID,
                    prologue_time,
                    &SYSTEM_CONFIG_EX_GUID,
                    &p,
                ),
            });
        }

        // Where each event id first occurs: (raw time, cpu, position) → (stream, position).
        let mut before: BTreeMap<(usize, usize), Vec<u32>> = BTreeMap::new();
        if o.embed_schema {
            let mut first: BTreeMap<u16, (i64, u16, usize, usize)> = BTreeMap::new();
            for (s, (cpu, idx)) in streams.iter().enumerate() {
                for (pos, &i) in idx.iter().enumerate() {
                    let e = &self.events[i as usize];
                    let key = (raw[i as usize], *cpu, pos, s);
                    first.entry(e.id).and_modify(|k| *k = (*k).min(key)).or_insert(key);
                }
            }
            let mut firsts: Vec<(i64, u16, usize, usize, u16)> =
                first.into_iter().map(|(id, (t, c, p, s))| (t, c, p, s, id)).collect();
            firsts.sort_unstable();
            let schema = SchemaSet::new(o);
            let mut maps_written: Vec<&str> = Vec::new();
            for (timestamp, _, pos, s, id) in firsts {
                let Some(def) = event_def(id) else { continue };
                let e = &self.events[streams[s].1[pos] as usize];
                let mut records = Vec::new();
                let tei = schema.trace_event_info(def);
                records.push(layout.full_record(
                    METADATA_TRACE_EVENT_INFO,
                    e.thread_id,
                    e.process_id,
                    timestamp,
                    &EVENT_METADATA_GUID,
                    &tei,
                ));
                for map in def.props.iter().filter_map(|p| p.map) {
                    if maps_written.contains(&map) {
                        continue;
                    }
                    maps_written.push(map);
                    if let Some(info) = schema.event_map_info(map) {
                        records.push(layout.full_record(
                            METADATA_EVENT_MAP_INFO,
                            e.thread_id,
                            e.process_id,
                            timestamp,
                            &EVENT_METADATA_GUID,
                            &info,
                        ));
                    }
                }
                let slot = before.entry((s, pos)).or_default();
                for bytes in records {
                    slot.push(metadata.len() as u32);
                    metadata.push(MetadataRecord { timestamp, bytes });
                }
            }
        }

        let mut out = Vec::with_capacity(streams.len());
        for (s, (cpu, idx)) in streams.iter().enumerate() {
            let mut items = Vec::with_capacity(idx.len() + 8);
            if *cpu == 0 {
                for m in prologue.drain(..) {
                    items.push(Item::Metadata(metadata.len() as u32));
                    metadata.push(m);
                }
            }
            for (pos, &i) in idx.iter().enumerate() {
                if let Some(ms) = before.get(&(s, pos)) {
                    items.extend(ms.iter().map(|&m| Item::Metadata(m)));
                }
                items.push(Item::Event(i));
            }
            out.push((*cpu, items));
        }
        (out, metadata)
    }

    /// Serialises each CPU's items into record areas of at most
    /// `buffer_size − 0x48` bytes, records 8-byte aligned, zero padded. Each
    /// full area goes to `on_full` (in file order), which hands back an empty
    /// vector to fill next (a recycled one, or a new one).
    fn fill_buffers(
        &self,
        streams: &[(u16, Vec<Item>)],
        metadata: &[MetadataRecord],
        raw: &[i64],
        layout: &RecordLayout,
        origin: i64,
        on_full: &mut dyn FnMut(Vec<u8>) -> Vec<u8>,
    ) -> Vec<DataBuffer> {
        let capacity = self.options.buffer_size as usize - BUFFER_HEADER_SIZE;
        let ext_len = if self.options.extended_items {
            EXTENDED_ITEMS_LEN
        } else {
            0
        };
        let mut buffers = Vec::new();
        // Empty at the start of every CPU: a new vector, or one handed back by `on_full`.
        let mut area = Vec::new();
        for (cpu, items) in streams {
            let record_len = |item: &Item| match *item {
                Item::Event(i) => EVENT_HEADER_LEN + ext_len + self.events[i as usize].payload_len as usize,
                Item::Metadata(m) => metadata[m as usize].bytes.len(),
            };
            // Bytes this CPU still has to write, to size each area once.
            let mut remaining: usize = items.iter().map(|it| align8(record_len(it))).sum();
            area.reserve(remaining.min(capacity));
            let mut last_ts = origin;
            for item in items {
                let len = align8(record_len(item));
                if !area.is_empty() && area.len() + len > capacity {
                    buffers.push(DataBuffer {
                        cpu: *cpu,
                        area_len: area.len(),
                        last_timestamp: last_ts,
                        sequence: 0,
                    });
                    area = on_full(area);
                    area.reserve(remaining.min(capacity).max(len));
                }
                remaining -= len;
                match *item {
                    Item::Event(i) => {
                        let e = &self.events[i as usize];
                        let p = &self.arena[e.payload_start..e.payload_start + e.payload_len as usize];
                        last_ts = raw[i as usize];
                        layout.put_event(&mut area, e, last_ts, i, p);
                    }
                    Item::Metadata(m) => {
                        let rec = &metadata[m as usize];
                        last_ts = rec.timestamp;
                        area.extend_from_slice(&rec.bytes);
                    }
                }
                area.resize(align8(area.len()), 0);
            }
            if !area.is_empty() {
                buffers.push(DataBuffer {
                    cpu: *cpu,
                    area_len: area.len(),
                    last_timestamp: last_ts,
                    sequence: 0,
                });
                area = on_full(area);
            }
        }
        buffers
    }

    /// Writes the header buffer and the data buffers; `stored` holds each data
    /// buffer's bytes as they go to disk (compressed, or the plain record area).
    fn assemble(
        &self,
        buffers: &[DataBuffer],
        stored: &[Vec<u8>],
        layout: &RecordLayout,
        origin: i64,
        end_time: i64,
    ) -> Vec<u8> {
        let o = &self.options;
        let disk_size = |i: usize| {
            if o.compress {
                BUFFER_HEADER_SIZE + stored[i].len()
            } else {
                (o.buffer_size as usize).max(BUFFER_HEADER_SIZE + buffers[i].area_len)
            }
        };
        let data_len: usize = (0..buffers.len()).map(disk_size).sum();

        // Header buffer: logfile header, then PartitionInfoExtension.
        let logfile = layout.logfile_header(o, end_time, buffers.len() as u32 + 1);
        let header_record = layout.system_record(0, origin, &logfile);
        let partition = layout.system_record(HOOK_PARTITION_INFO, origin, &[0; PARTITION_INFO_LEN]);
        let saved = BUFFER_HEADER_SIZE + align8(header_record.len());
        let used = saved + align8(partition.len());
        let header_size = HEADER_BUFFER_SIZE.max(used);
        let state = if o.compress { u32::from(COMPRESSION_XPRESS) } else { 0 };

        let mut out = Vec::with_capacity(header_size + data_len);
        put_buffer_header(
            &mut out,
            &BufferHeaderFields {
                size: header_size as u32,
                saved_offset: saved as u32,
                current_offset: 0,
                timestamp: 0,
                sequence: 0,
                processor: 0,
                state,
                offset: used as u32,
                flags: FLAG_FLUSH_MARKER,
                buffer_type: TYPE_HEADER,
            },
        );
        out.extend_from_slice(&header_record);
        out.resize(saved, 0);
        out.extend_from_slice(&partition);
        out.resize(used, 0);
        out.resize(header_size, 0xFF);

        for (i, b) in buffers.iter().enumerate() {
            let mut flags = FLAG_PROC_INDEX;
            if o.compress {
                flags |= FLAG_COMPRESSED;
            }
            if i + 1 == buffers.len() {
                flags |= FLAG_FLUSH_MARKER;
            }
            if o.flag_events_lost_on_buffer == Some(i) {
                flags |= FLAG_EVENTS_LOST;
            }
            let saved = (BUFFER_HEADER_SIZE + b.area_len) as u32;
            let size = disk_size(i) as u32;
            put_buffer_header(
                &mut out,
                &BufferHeaderFields {
                    size,
                    saved_offset: saved,
                    // The relogger's compressed buffers say BufferSize + SavedOffset here.
                    current_offset: if o.compress {
                        o.buffer_size.wrapping_add(saved)
                    } else {
                        saved
                    },
                    timestamp: end_time,
                    sequence: b.sequence,
                    processor: b.cpu,
                    state,
                    offset: saved,
                    flags,
                    buffer_type: 0,
                },
            );
            out.extend_from_slice(&stored[i]);
            if !o.compress {
                out.resize(out.len() + size as usize - saved as usize, 0xFF);
            }
        }
        out
    }
}

/// The session clock, the inverse of [`super::logfile::LogfileHeader::to_filetime`].
#[derive(Debug, Clone, Copy)]
struct Clock {
    start_time: i64,
    /// Raw QPC value of the logfile-header record.
    origin: i64,
    freq: i64,
}

impl Clock {
    /// Raw QPC = origin + (time − start) × freq / 10^7, rounded away from
    /// zero: the reader truncates toward zero on the way back, so this gives
    /// back `time` exactly whenever freq ≥ 10 MHz.
    fn raw(&self, time: i64) -> i64 {
        let num = (time as i128 - self.start_time as i128) * self.freq as i128;
        let den = FILETIME_HZ as i128;
        let ticks = if num >= 0 {
            (num + den - 1) / den
        } else {
            -((-num + den - 1) / den)
        };
        (self.origin as i128 + ticks).clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }
}

/// What goes into a CPU's stream, in order.
#[derive(Debug, Clone, Copy)]
enum Item {
    Event(u32),
    Metadata(u32),
}

/// A record written ahead of time (metadata and the CPU 0 prologue).
#[derive(Debug, Clone)]
struct MetadataRecord {
    timestamp: i64,
    bytes: Vec<u8>,
}

/// One data buffer: where it belongs and how much it holds (its bytes are
/// kept apart, compressed or not).
#[derive(Debug, Clone)]
struct DataBuffer {
    cpu: u16,
    /// Length of the uncompressed record area (SavedOffset − 0x48).
    area_len: usize,
    /// Raw timestamp of its last record: when the buffer would have been flushed.
    last_timestamp: i64,
    sequence: i64,
}

/// SequenceNumber 1… in flush order (last record's time, then CPU, then file
/// order), so it increases within every CPU.
fn assign_sequence_numbers(buffers: &mut [DataBuffer]) {
    let mut order: Vec<usize> = (0..buffers.len()).collect();
    order.sort_by_key(|&i| (buffers[i].last_timestamp, buffers[i].cpu, i));
    for (n, i) in order.into_iter().enumerate() {
        buffers[i].sequence = n as i64 + 1;
    }
}

/// Runs `fill` while worker threads (one per core) compress each record
/// area as soon as it is full, then hand the vector back to be filled again.
/// Filling overlaps compression, and memory stays at a few buffers however
/// large the capture (16 MiB areas for millions of events would otherwise
/// all be alive at once). Returns the buffers and their compressed bytes, in
/// file order: the output does not depend on thread timing.
fn compress_while_filling(
    fill: impl FnOnce(&mut dyn FnMut(Vec<u8>) -> Vec<u8>) -> Vec<DataBuffer>,
) -> (Vec<DataBuffer>, Vec<Vec<u8>>) {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Bounded: when every worker is busy, filling waits instead of piling up areas.
    let (work_tx, work_rx) = mpsc::sync_channel::<(usize, Vec<u8>)>(workers);
    // Owned by the workers only: should they all die, `send` fails instead of blocking forever.
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (recycle_tx, recycle_rx) = mpsc::channel::<Vec<u8>>();
    let done: Mutex<Vec<(usize, Vec<u8>)>> = Mutex::new(Vec::new());
    let buffers = std::thread::scope(|scope| {
        for _ in 0..workers {
            let (work_rx, done, recycle_tx) = (Arc::clone(&work_rx), &done, recycle_tx.clone());
            scope.spawn(move || loop {
                // The lock is held only while waiting for the next area.
                let job = work_rx.lock().map(|rx| rx.recv());
                let Ok(Ok((index, mut area))) = job else { break };
                let packed = xpress::compress(&area);
                if let Ok(mut done) = done.lock() {
                    done.push((index, packed));
                }
                area.clear();
                let _ = recycle_tx.send(area);
            });
        }
        drop(recycle_tx);
        drop(work_rx);
        let mut next = 0usize;
        let buffers = fill(&mut |area| {
            work_tx.send((next, area)).expect("compression workers stopped early");
            next += 1;
            recycle_rx.try_recv().unwrap_or_default()
        });
        drop(work_tx);
        buffers
    });
    let mut done = done.into_inner().expect("a compression worker panicked");
    assert_eq!(done.len(), buffers.len(), "a compression worker panicked");
    done.sort_unstable_by_key(|(index, _)| *index);
    (buffers, done.into_iter().map(|(_, packed)| packed).collect())
}

/// The fields of a WMI_BUFFER_HEADER this writer sets.
struct BufferHeaderFields {
    size: u32,
    saved_offset: u32,
    current_offset: u32,
    timestamp: i64,
    sequence: i64,
    processor: u16,
    state: u32,
    offset: u32,
    flags: u16,
    buffer_type: u16,
}

fn put_buffer_header(out: &mut Vec<u8>, h: &BufferHeaderFields) {
    let start = out.len();
    put_u32(out, h.size);
    put_u32(out, h.saved_offset);
    put_u32(out, h.current_offset);
    put_u32(out, 0); // ReferenceCount
    put_i64(out, h.timestamp);
    put_i64(out, h.sequence);
    put_u64(out, 0); // ClockType / Frequency
    put_u16(out, h.processor); // ProcessorNumber, Alignment
    put_u16(out, 0); // LoggerId
    put_u32(out, h.state);
    put_u32(out, h.offset);
    put_u16(out, h.flags);
    put_u16(out, h.buffer_type);
    out.resize(start + BUFFER_HEADER_SIZE, 0); // StartTime / ReferenceTime union
}

/// Trace header types and flags for the log's pointer size.
#[derive(Debug, Clone, Copy)]
struct RecordLayout {
    pointer_size: u32,
    system_type: u8,
    full_type: u8,
    event_type: u8,
    event_flags: u16,
    extended_items: bool,
}

impl RecordLayout {
    fn new(o: &EtlWriterOptions) -> Self {
        let is32 = o.pointer_size == 4;
        let mut event_flags = if is32 { EVENT_FLAG_32_BIT_HEADER } else { 0 };
        if o.extended_items {
            event_flags |= EVENT_FLAG_EXTENDED_INFO;
        }
        RecordLayout {
            pointer_size: o.pointer_size,
            system_type: if is32 { SYSTEM32 } else { SYSTEM64 },
            full_type: if is32 { FULL_HEADER32 } else { FULL_HEADER64 },
            event_type: if is32 { EVENT_HEADER32 } else { EVENT_HEADER64 },
            event_flags,
            extended_items: o.extended_items,
        }
    }

    /// A SYSTEM_TRACE_HEADER record of the relogger (KernelTime 2, UserTime 0, as in the corpus).
    fn system_record(&self, hook: u16, timestamp: i64, payload: &[u8]) -> Vec<u8> {
        let len = SYSTEM_HEADER_LEN + payload.len();
        let mut r = Vec::with_capacity(len);
        put_u16(&mut r, SYSTEM_HEADER_VERSION);
        r.push(self.system_type);
        r.push(MARKER_FLAGS);
        put_u16(&mut r, record_size(len));
        put_u16(&mut r, hook);
        put_u32(&mut r, RELOGGER_THREAD_ID);
        put_u32(&mut r, RELOGGER_PROCESS_ID);
        put_i64(&mut r, timestamp);
        put_u32(&mut r, 2);
        put_u32(&mut r, 0);
        r.extend_from_slice(payload);
        r
    }

    /// An EVENT_TRACE_HEADER (classic) record, as the relogger's injected metadata.
    fn full_record(
        &self,
        class_type: u8,
        tid: u32,
        pid: u32,
        timestamp: i64,
        guid: &[u8; 16],
        payload: &[u8],
    ) -> Vec<u8> {
        let len = FULL_HEADER_LEN + payload.len();
        let mut r = Vec::with_capacity(len);
        put_u16(&mut r, record_size(len));
        r.push(self.full_type);
        r.push(MARKER_FLAGS);
        r.push(class_type);
        r.push(0); // Class.Level
        put_u16(&mut r, 0); // Class.Version
        put_u32(&mut r, tid);
        put_u32(&mut r, pid);
        put_i64(&mut r, timestamp);
        r.extend_from_slice(guid);
        put_u64(&mut r, 0); // KernelTime, UserTime
        r.extend_from_slice(payload);
        r
    }

    /// Appends one PktMon EVENT_HEADER record (plus extended items) to `area`.
    fn put_event(&self, area: &mut Vec<u8>, e: &QueuedEvent, timestamp: i64, index: u32, payload: &[u8]) {
        let ext_len = if self.extended_items { EXTENDED_ITEMS_LEN } else { 0 };
        let len = EVENT_HEADER_LEN + ext_len + payload.len();
        let keyword = if e.id >= FIRST_PACKET_EVENT {
            KEYWORD_PKT_PAYLOAD
        } else {
            KEYWORD_RUNDOWN
        };
        // Built on the stack and copied once: this runs for every packet.
        let mut h = [0u8; EVENT_HEADER_LEN];
        h[0x00..0x02].copy_from_slice(&record_size(len).to_le_bytes());
        h[0x02] = self.event_type;
        h[0x03] = MARKER_FLAGS;
        h[0x04..0x06].copy_from_slice(&self.event_flags.to_le_bytes());
        // 0x06 EventProperty: 0.
        h[0x08..0x0C].copy_from_slice(&e.thread_id.to_le_bytes());
        h[0x0C..0x10].copy_from_slice(&e.process_id.to_le_bytes());
        h[0x10..0x18].copy_from_slice(&timestamp.to_le_bytes());
        h[0x18..0x28].copy_from_slice(&PROVIDER_GUID);
        h[0x28..0x2A].copy_from_slice(&e.id.to_le_bytes());
        // 0x2A Version, 0x2B Channel: 0.
        h[0x2C] = LEVEL_INFORMATIONAL;
        // 0x2D Opcode, 0x2E Task: 0.
        h[0x30..0x38].copy_from_slice(&keyword.to_le_bytes());
        // 0x38 ProcessorTime, 0x40 ActivityId: 0.
        area.extend_from_slice(&h);
        if self.extended_items {
            // RELATED_ACTIVITYID (16 bytes), linkage bit: another item follows.
            put_u16(area, 0);
            put_u16(area, EXT_TYPE_RELATED_ACTIVITYID);
            put_u16(area, 1);
            put_u16(area, 16);
            put_u64(area, 0xAC71_0000_0000_0000 | u64::from(index));
            put_u64(area, u64::from(e.id));
            // TS_ID (session id, 4 bytes), last item; padded to 8 before the payload.
            put_u16(area, 0);
            put_u16(area, EXT_TYPE_TS_ID);
            put_u16(area, 0);
            put_u16(area, 4);
            put_u32(area, 1);
            put_u32(area, 0);
        }
        area.extend_from_slice(payload);
    }

    /// TRACE_LOGFILE_HEADER in the 64- or 32-bit layout (the 32-bit one has
    /// 4-byte LoggerName/LogFileName pointers, so everything after moves 8 back).
    fn logfile_header(&self, o: &EtlWriterOptions, end_time: i64, buffers_written: u32) -> Vec<u8> {
        let mut p = Vec::with_capacity(0x118 + 2 * (LOGGER_NAME.len() + LOG_FILE_NAME.len() + 2));
        put_u32(&mut p, o.buffer_size);
        put_u32(&mut p, LOGFILE_VERSION);
        put_u32(&mut p, o.os_build);
        put_u32(&mut p, o.processors);
        put_i64(&mut p, end_time);
        put_u32(&mut p, TIMER_RESOLUTION);
        put_u32(&mut p, MAXIMUM_FILE_SIZE_MB);
        put_u32(&mut p, LOG_FILE_MODE);
        put_u32(&mut p, buffers_written);
        put_u32(&mut p, 1); // StartBuffers
        put_u32(&mut p, self.pointer_size);
        put_u32(&mut p, o.events_lost);
        put_u32(&mut p, CPU_SPEED_MHZ);
        // LoggerName and LogFileName pointers: 0 in relogged files.
        p.resize(p.len() + 2 * self.pointer_size as usize, 0);
        let tz = p.len();
        p.extend_from_slice(&o.timezone_bias_minutes.to_le_bytes());
        p.resize(tz + TIME_ZONE_INFORMATION_LEN, 0);
        p.resize(align8(p.len()), 0);
        put_i64(&mut p, o.start_time - SECONDS_SINCE_BOOT * FILETIME_HZ); // BootTime
        put_i64(&mut p, o.perf_freq);
        put_i64(&mut p, o.start_time);
        put_u32(&mut p, CLOCK_TYPE_QPC);
        put_u32(&mut p, o.buffers_lost);
        put_utf16z(&mut p, LOGGER_NAME);
        put_utf16z(&mut p, LOG_FILE_NAME);
        p
    }
}

/// A record's Size field. Every caller bounds the length first (payload
/// limits, u16 map sizes), so this only guards against writing a wrong size.
fn record_size(len: usize) -> u16 {
    u16::try_from(len).expect("trace record longer than 65535 bytes")
}

/// One property of an event schema (EVENT_PROPERTY_INFO).
#[derive(Debug, Clone, Copy)]
struct PropDef {
    name: &'static str,
    flags: u32,
    in_type: u16,
    out_type: u16,
    map: Option<&'static str>,
    count: u16,
    length: u16,
}

/// One PktMon event schema: what the relogger embeds as TRACE_EVENT_INFO.
#[derive(Debug, Clone, Copy)]
struct EventDef {
    id: u16,
    template: &'static str,
    props: &'static [PropDef],
}

/// TDH in/out types used by PktMon's manifest.
mod tdh {
    pub const UNICODESTRING: u16 = 1;
    pub const UINT8: u16 = 4;
    pub const UINT16: u16 = 6;
    pub const UINT32: u16 = 8;
    pub const UINT64: u16 = 10;
    pub const BINARY: u16 = 14;
    pub const GUID: u16 = 15;
    pub const HEXBINARY: u16 = 15;
    pub const STRING_OUT: u16 = 1;
    pub const GUID_OUT: u16 = 14;
    pub const HEXINT32: u16 = 18;
    pub const IPV4: u16 = 23;
    pub const IPV6: u16 = 24;
}

/// EVENT_PROPERTY_INFO flags.
const PROP_PARAM_LENGTH: u32 = 0x2;
const PROP_PARAM_FIXED_LENGTH: u32 = 0x10;

const fn prop(name: &'static str, in_type: u16, out_type: u16, map: Option<&'static str>, length: u16) -> PropDef {
    PropDef {
        name,
        flags: 0,
        in_type,
        out_type,
        map,
        count: 1,
        length,
    }
}

const fn u16_prop(name: &'static str, map: Option<&'static str>) -> PropDef {
    prop(name, tdh::UINT16, tdh::UINT16, map, 2)
}

const COMPONENT_ID: PropDef = u16_prop("ComponentId", None);
const PROPERTY_TYPE: PropDef = u16_prop("Type", Some(MAP_PROPERTY_TYPE));
const MAP_IP_PROTOCOL: &str = "IPProtocol";
const MAP_TCP_FLAGS: &str = "TCPFlags";

/// The English templates as the corpus's embedded schemas give them (the
/// trailing space is PktMon's own).
const TEMPLATE_PROPERTY: &str = "Property: Component %1, %2 = %3 ";
const TEMPLATE_FILTER: &str = "Packet Filter %1, Name %2, MAC-1 %3, MAC-2 %4, EtherType %5, VlanId %6, IP-1 %7, IP-2 %8, Protocol %9, Port-1 %10, Port-2 %11, TCPFlags %12 ";

const PACKET_PROPS: &[PropDef] = &[
    prop("PktGroupId", tdh::UINT64, tdh::UINT64, None, 8),
    u16_prop("PktNumber", None),
    u16_prop("AppearanceCount", None),
    u16_prop("DirTag", Some(MAP_DIRECTION)),
    u16_prop("PacketType", Some(MAP_PACKET_TYPE)),
    u16_prop("ComponentId", None),
    u16_prop("EdgeId", None),
    u16_prop("FilterId", None),
    prop("DropReason", tdh::UINT32, tdh::UINT32, Some(MAP_DROP_REASON), 4),
    prop("DropLocation", tdh::UINT32, tdh::HEXINT32, None, 4),
    u16_prop("OriginalPayloadSize", None),
    u16_prop("LoggedPayloadSize", None),
    PropDef {
        name: "Payload",
        flags: PROP_PARAM_LENGTH,
        in_type: tdh::BINARY,
        out_type: tdh::HEXBINARY,
        map: None,
        count: 1,
        length: 11,
    },
];

const fn filter_props(ip_in: u16, ip_out: u16, ip_len: u16, ip_flags: u32) -> [PropDef; 12] {
    let mac = PropDef {
        name: "MacAddress1",
        flags: PROP_PARAM_FIXED_LENGTH,
        in_type: tdh::BINARY,
        out_type: tdh::HEXBINARY,
        map: None,
        count: 1,
        length: 6,
    };
    let ip = PropDef {
        name: "IpAddress1",
        flags: ip_flags,
        in_type: ip_in,
        out_type: ip_out,
        map: None,
        count: 1,
        length: ip_len,
    };
    [
        u16_prop("FilterId", None),
        prop("FilterName", tdh::UNICODESTRING, tdh::STRING_OUT, None, 0),
        mac,
        PropDef {
            name: "MacAddress2",
            ..mac
        },
        u16_prop("EtherType", Some(MAP_ETHER_TYPE)),
        u16_prop("VlanId", None),
        ip,
        PropDef {
            name: "IpAddress2",
            ..ip
        },
        prop("Protocol", tdh::UINT8, tdh::UINT8, Some(MAP_IP_PROTOCOL), 1),
        u16_prop("Port1", None),
        u16_prop("Port2", None),
        prop("TCPFlags", tdh::UINT8, tdh::UINT8, Some(MAP_TCP_FLAGS), 1),
    ]
}

const FILTER_IPV4_PROPS: [PropDef; 12] = filter_props(tdh::UINT32, tdh::IPV4, 4, 0);
const FILTER_IPV6_PROPS: [PropDef; 12] = filter_props(tdh::BINARY, tdh::IPV6, 16, PROP_PARAM_FIXED_LENGTH);

const fn counters(direction_in: PropDef) -> [PropDef; 6] {
    [
        direction_in,
        prop("PacketsIn", tdh::UINT64, tdh::UINT64, None, 8),
        prop("BytesIn", tdh::UINT64, tdh::UINT64, None, 8),
        u16_prop("DirTagOut", Some(MAP_DIRECTION)),
        prop("PacketsOut", tdh::UINT64, tdh::UINT64, None, 8),
        prop("BytesOut", tdh::UINT64, tdh::UINT64, None, 8),
    ]
}

const DIR_IN: PropDef = u16_prop("DirTagIn", Some(MAP_DIRECTION));
const COUNTERS: [PropDef; 6] = counters(DIR_IN);

/// The schemas of every PktMon event this writer knows (as embedded in the
/// corpus files; 73 and 110 follow the NPL parser, no sample has them).
static EVENT_DEFS: &[EventDef] = &[
    EventDef {
        id: 20,
        template: "Component %1, Type %2, Name %3, %4 ",
        props: &[
            u16_prop("Id", None),
            u16_prop("Type", Some(MAP_COMPONENT_TYPE)),
            prop("Name", tdh::UNICODESTRING, tdh::STRING_OUT, None, 0),
            prop("Description", tdh::UNICODESTRING, tdh::STRING_OUT, None, 0),
        ],
    },
    EventDef {
        id: 30,
        template: TEMPLATE_PROPERTY,
        props: &[COMPONENT_ID, PROPERTY_TYPE, prop("Value", tdh::UINT32, tdh::UINT32, None, 4)],
    },
    EventDef {
        id: 40,
        template: TEMPLATE_PROPERTY,
        props: &[COMPONENT_ID, PROPERTY_TYPE, prop("Value", tdh::GUID, tdh::GUID_OUT, None, 16)],
    },
    EventDef {
        id: 60,
        template: TEMPLATE_PROPERTY,
        props: &[COMPONENT_ID, PROPERTY_TYPE, u16_prop("Value", Some(MAP_NDIS_MEDIUM))],
    },
    EventDef {
        id: 65,
        template: TEMPLATE_PROPERTY,
        props: &[COMPONENT_ID, PROPERTY_TYPE, prop("IpAddress", tdh::UINT32, tdh::IPV4, None, 4)],
    },
    EventDef {
        id: 66,
        template: TEMPLATE_PROPERTY,
        props: &[
            COMPONENT_ID,
            PROPERTY_TYPE,
            PropDef {
                name: "IpAddress",
                flags: PROP_PARAM_FIXED_LENGTH,
                in_type: tdh::BINARY,
                out_type: tdh::IPV6,
                map: None,
                count: 1,
                length: 16,
            },
        ],
    },
    EventDef {
        id: 70,
        template: "Property: Component %1, %2 = %4 ",
        props: &[
            COMPONENT_ID,
            PROPERTY_TYPE,
            prop("Size", tdh::UINT32, tdh::UINT32, None, 4),
            PropDef {
                name: "Value",
                flags: PROP_PARAM_LENGTH,
                in_type: tdh::BINARY,
                out_type: tdh::HEXBINARY,
                map: None,
                count: 1,
                length: 2,
            },
        ],
    },
    EventDef {
        id: 73,
        template: TEMPLATE_PROPERTY,
        props: &[
            COMPONENT_ID,
            PROPERTY_TYPE,
            prop("Value", tdh::UNICODESTRING, tdh::STRING_OUT, None, 0),
        ],
    },
    EventDef {
        id: 75,
        template: TEMPLATE_PROPERTY,
        props: &[COMPONENT_ID, PROPERTY_TYPE, u16_prop("EtherType", Some(MAP_ETHER_TYPE))],
    },
    EventDef {
        id: 80,
        template: "Drop Counters: Component %1, Direction In = %2, Packets In %3, Bytes In %4, Direction Out = %5, Packets Out %6, Bytes Out %7 ",
        props: &[COMPONENT_ID, COUNTERS[0], COUNTERS[1], COUNTERS[2], COUNTERS[3], COUNTERS[4], COUNTERS[5]],
    },
    EventDef {
        id: 90,
        template: "Flow Counters: Component %1, Edge %2, Edge Id %3, Direction In = %4, Packets In %5, Bytes In %6, Direction Out = %7, Packets Out %8, Bytes Out %9 ",
        props: &[
            COMPONENT_ID,
            prop("EdgeName", tdh::UNICODESTRING, tdh::STRING_OUT, None, 0),
            u16_prop("EdgeId", None),
            COUNTERS[0],
            COUNTERS[1],
            COUNTERS[2],
            COUNTERS[3],
            COUNTERS[4],
            COUNTERS[5],
        ],
    },
    EventDef {
        id: 100,
        template: TEMPLATE_FILTER,
        props: &FILTER_IPV4_PROPS,
    },
    EventDef {
        id: 110,
        template: TEMPLATE_FILTER,
        props: &FILTER_IPV6_PROPS,
    },
    EventDef {
        id: 160,
        template: crate::pktmon::text::TEMPLATE_PACKET,
        props: PACKET_PROPS,
    },
    EventDef {
        id: 170,
        template: crate::pktmon::text::TEMPLATE_DROP,
        props: PACKET_PROPS,
    },
];

fn event_def(id: u16) -> Option<&'static EventDef> {
    EVENT_DEFS.iter().find(|d| d.id == id)
}

/// The IPProtocol and TCPFlags maps of the manifest (event 100's filter fields).
const IP_PROTOCOL: &[(u32, &str)] = &[(1, "ICMP "), (6, "TCP "), (17, "UDP "), (58, "ICMPv6 ")];
const TCP_FLAGS: &[(u32, &str)] = &[
    (1, "FIN "),
    (2, "SYN "),
    (4, "RST "),
    (8, "PSH "),
    (16, "ACK "),
    (32, "URG "),
    (64, "ECE "),
    (128, "CWR "),
];

/// EVENT_MAP_INFO flags.
const MAP_FLAG_VALUEMAP: u32 = 1;
const MAP_FLAG_BITMAP: u32 = 2;

/// The schemas and maps one file embeds.
struct SchemaSet {
    catalog: Catalog,
    drop_reasons: BTreeMap<u32, String>,
    templates: Option<(String, String)>,
}

impl SchemaSet {
    fn new(o: &EtlWriterOptions) -> Self {
        let catalog = Catalog::builtin(Some(o.os_build));
        let drop_reasons = match &o.drop_reason_map {
            Some(m) => m.clone(),
            // The built-in table files have no trailing space; real maps do.
            None => catalog
                .map(MAP_DROP_REASON)
                .map(|m| {
                    m.iter()
                        .map(|(&code, text)| {
                            let text = if text.ends_with(' ') {
                                text.clone()
                            } else {
                                format!("{text} ")
                            };
                            (code, text)
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        SchemaSet {
            catalog,
            drop_reasons,
            templates: o.message_templates.clone(),
        }
    }

    fn template(&self, def: &EventDef) -> &str {
        match (&self.templates, def.id) {
            (Some((packet, _)), 160) => packet,
            (Some((_, drop)), 170) => drop,
            _ => def.template,
        }
    }

    /// TRACE_EVENT_INFO: fixed part, EVENT_PROPERTY_INFO array, then the
    /// strings (each property's name and map name, provider, level, keyword,
    /// message), offsets counted from the start of the structure.
    fn trace_event_info(&self, def: &EventDef) -> Vec<u8> {
        let fixed = 112 + 24 * def.props.len();
        let mut strings: Vec<u8> = Vec::with_capacity(1024);
        let mut add = |s: &str| -> u32 {
            let at = (fixed + strings.len()) as u32;
            put_utf16z(&mut strings, s);
            at
        };
        let mut props = Vec::with_capacity(24 * def.props.len());
        for p in def.props {
            let name = add(p.name);
            let map = p.map.map_or(0, &mut add);
            put_u32(&mut props, p.flags);
            put_u32(&mut props, name);
            put_u16(&mut props, p.in_type);
            put_u16(&mut props, p.out_type);
            put_u32(&mut props, map);
            put_u16(&mut props, p.count);
            put_u16(&mut props, p.length);
            put_u32(&mut props, 0);
        }
        let provider = add(crate::pktmon::text::PROVIDER_NAME);
        let level = add("win:Informational");
        let keyword = if def.id >= FIRST_PACKET_EVENT {
            add("Payload")
        } else {
            0
        };
        let message = add(self.template(def));

        let mut t = Vec::with_capacity(fixed + strings.len());
        t.extend_from_slice(&PROVIDER_GUID);
        t.extend_from_slice(&[0; 16]); // EventGuid
        put_u16(&mut t, def.id);
        t.push(0); // Version
        t.push(0); // Channel
        t.push(LEVEL_INFORMATIONAL);
        t.push(0); // Opcode
        put_u16(&mut t, 0); // Task
        put_u64(
            &mut t,
            if def.id >= FIRST_PACKET_EVENT {
                KEYWORD_PKT_PAYLOAD
            } else {
                KEYWORD_RUNDOWN
            },
        );
        put_u32(&mut t, 0); // DecodingSource: XML manifest
        for offset in [provider, level, 0, keyword, 0, 0, message, 0, 0, 0, 0, 0] {
            // Provider, Level, Channel, Keywords, Task, Opcode, EventMessage,
            // ProviderMessage, BinaryXML, BinaryXMLSize, EventName, EventAttributes.
            put_u32(&mut t, offset);
        }
        put_u32(&mut t, def.props.len() as u32); // PropertyCount
        put_u32(&mut t, def.props.len() as u32); // TopLevelPropertyCount
        put_u32(&mut t, 1); // Flags: TEMPLATE_EVENT_DATA
        t.extend_from_slice(&props);
        t.extend_from_slice(&strings);
        t
    }

    /// EVENT_METADATA_EVENT_MAP_INFO: provider GUID, then EVENT_MAP_INFO whose
    /// string offsets count from its own start. `None` for a map this writer has no entries for.
    fn event_map_info(&self, name: &str) -> Option<Vec<u8>> {
        let owned;
        let (flag, entries): (u32, Vec<(u32, &str)>) = match name {
            MAP_DROP_REASON => (
                MAP_FLAG_VALUEMAP,
                self.drop_reasons.iter().map(|(&k, v)| (k, v.as_str())).collect(),
            ),
            MAP_IP_PROTOCOL => (MAP_FLAG_VALUEMAP, IP_PROTOCOL.to_vec()),
            MAP_TCP_FLAGS => (MAP_FLAG_BITMAP, TCP_FLAGS.to_vec()),
            _ => {
                owned = self.catalog.map(name)?;
                (MAP_FLAG_VALUEMAP, owned.iter().map(|(&k, v)| (k, v.as_str())).collect())
            }
        };
        if entries.is_empty() {
            return None;
        }
        let fixed = 16 + 8 * entries.len();
        let mut strings = Vec::with_capacity(entries.len() * 48);
        let mut add = |s: &str| -> u32 {
            let at = (fixed + strings.len()) as u32;
            put_utf16z(&mut strings, s);
            at
        };
        let name_at = add(name);
        let offsets: Vec<u32> = entries.iter().map(|(_, text)| add(text)).collect();
        let mut m = Vec::with_capacity(16 + fixed + strings.len());
        m.extend_from_slice(&PROVIDER_GUID);
        put_u32(&mut m, name_at);
        put_u32(&mut m, flag);
        put_u32(&mut m, entries.len() as u32);
        put_u32(&mut m, 0); // MapEntryValueType: ULONG
        for ((value, _), at) in entries.iter().zip(offsets) {
            put_u32(&mut m, at);
            put_u32(&mut m, *value);
        }
        m.extend_from_slice(&strings);
        // A classic record's Size is a u16: keep an oversized (custom) map out rather than corrupt the file.
        (m.len() + FULL_HEADER_LEN <= u16::MAX as usize).then_some(m)
    }
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// NUL-terminated UTF-16LE, the string form of every ETL structure.
fn put_utf16z(out: &mut Vec<u8>, s: &str) {
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out.extend_from_slice(&[0, 0]);
}

/// Encoders of PktMon event payloads: the inverse of [`crate::pktmon::events::decode`]
/// (packed, little-endian, strings UTF-16LE NUL-terminated; layouts in the
/// format reference §2.3). Each says which event id its payload belongs to.
pub mod payload {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::{put_u16, put_u32, put_u64, put_utf16z};
    use crate::model::{Appearance, DropCounters, FlowCounters, PacketFilter, Property, PropertyValue, Record};
    use crate::pktmon::events::*;

    /// Events 160 (flow) and 170 (drop): the 34-byte fixed part, then the
    /// payload bytes. LoggedPayloadSize is `a.payload.len()` (the bytes are
    /// what the decoder takes), not `a.logged_size`; a payload too long for
    /// one event is clamped, and OriginalPayloadSize to 65535. DropReason and
    /// DropLocation are 0 unless `a.drop` has them.
    pub fn packet(a: &Appearance) -> Vec<u8> {
        let mut p = Vec::with_capacity(PACKET_HEADER_LEN + a.payload.len());
        put_packet(&mut p, a);
        p
    }

    /// [`packet`], appended to `out`. The payload is clamped so the whole
    /// event fits an EVENT_HEADER record ([`super::MAX_EVENT_PAYLOAD`]).
    pub(super) fn put_packet(out: &mut Vec<u8>, a: &Appearance) {
        let logged = a.payload.len().min(super::MAX_EVENT_PAYLOAD - PACKET_HEADER_LEN);
        let drop = a.drop.as_ref();
        let mut h = [0u8; PACKET_HEADER_LEN];
        h[0..8].copy_from_slice(&a.group_id.unwrap_or(0).to_le_bytes());
        h[8..10].copy_from_slice(&a.pkt_number.unwrap_or(0).to_le_bytes());
        h[10..12].copy_from_slice(&a.appearance.unwrap_or(0).to_le_bytes());
        h[12..14].copy_from_slice(&a.direction.unwrap_or(0).to_le_bytes());
        h[14..16].copy_from_slice(&a.packet_type.unwrap_or(0).to_le_bytes());
        h[16..18].copy_from_slice(&a.component_id.unwrap_or(0).to_le_bytes());
        h[18..20].copy_from_slice(&a.edge_id.unwrap_or(0).to_le_bytes());
        h[20..22].copy_from_slice(&a.filter_id.unwrap_or(0).to_le_bytes());
        h[22..26].copy_from_slice(&drop.and_then(|d| d.reason).unwrap_or(0).to_le_bytes());
        h[26..30].copy_from_slice(&drop.and_then(|d| d.location).unwrap_or(0).to_le_bytes());
        h[30..32].copy_from_slice(&(a.original_size.min(u32::from(u16::MAX)) as u16).to_le_bytes());
        h[32..34].copy_from_slice(&(logged as u16).to_le_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(&a.payload[..logged]);
    }

    /// Event 20 ComponentInfo.
    pub fn component(id: u16, component_type: u16, name: &str, description: &str) -> Vec<u8> {
        let mut p = Vec::with_capacity(8 + 2 * (name.len() + description.len()));
        put_u16(&mut p, id);
        put_u16(&mut p, component_type);
        put_utf16z(&mut p, name);
        put_utf16z(&mut p, description);
        p
    }

    fn property_head(component: u16, prop: u16, extra: usize) -> Vec<u8> {
        let mut p = Vec::with_capacity(4 + extra);
        put_u16(&mut p, component);
        put_u16(&mut p, prop);
        p
    }

    /// Event 30 CompPropUint.
    pub fn property_u32(component: u16, prop: u16, value: u32) -> Vec<u8> {
        let mut p = property_head(component, prop, 4);
        put_u32(&mut p, value);
        p
    }

    /// Event 40 CompPropGuid; `guid` in the on-disk (mixed-endian) layout, see [`guid_bytes`].
    pub fn property_guid(component: u16, prop: u16, guid: &[u8; 16]) -> Vec<u8> {
        let mut p = property_head(component, prop, 16);
        p.extend_from_slice(guid);
        p
    }

    /// Event 60 CompPropNdisMedium.
    pub fn property_ndis_medium(component: u16, prop: u16, medium: u16) -> Vec<u8> {
        let mut p = property_head(component, prop, 2);
        put_u16(&mut p, medium);
        p
    }

    /// Event 65: an IPv4 address, in network byte order.
    pub fn property_ipv4(component: u16, prop: u16, address: Ipv4Addr) -> Vec<u8> {
        let mut p = property_head(component, prop, 4);
        p.extend_from_slice(&address.octets());
        p
    }

    /// Event 66: an IPv6 address.
    pub fn property_ipv6(component: u16, prop: u16, address: Ipv6Addr) -> Vec<u8> {
        let mut p = property_head(component, prop, 16);
        p.extend_from_slice(&address.octets());
        p
    }

    /// Event 70 CompPropBinary (PhysAddress: a 6-byte MAC).
    pub fn property_binary(component: u16, prop: u16, value: &[u8]) -> Vec<u8> {
        let mut p = property_head(component, prop, 4 + value.len());
        put_u32(&mut p, value.len() as u32);
        p.extend_from_slice(value);
        p
    }

    /// Event 73 CompPropString.
    pub fn property_string(component: u16, prop: u16, value: &str) -> Vec<u8> {
        let mut p = property_head(component, prop, 2 * value.len() + 2);
        put_utf16z(&mut p, value);
        p
    }

    /// Event 75 CompPropEtherType.
    pub fn property_ethertype(component: u16, prop: u16, ether_type: u16) -> Vec<u8> {
        let mut p = property_head(component, prop, 2);
        put_u16(&mut p, ether_type);
        p
    }

    /// Any property as its event: (event id, payload). A GUID that does not
    /// parse (see [`guid_bytes`]) is written as the zero GUID.
    pub fn property(component: u16, property: &Property) -> (u16, Vec<u8>) {
        let id = property.id;
        match &property.value {
            PropertyValue::U32(v) => (EVENT_PROP_UINT, property_u32(component, id, *v)),
            PropertyValue::Guid(g) => (
                EVENT_PROP_GUID,
                property_guid(component, id, &guid_bytes(g).unwrap_or_default()),
            ),
            PropertyValue::NdisMedium(m) => (EVENT_PROP_NDIS_MEDIUM, property_ndis_medium(component, id, *m)),
            PropertyValue::Ipv4(a) => (EVENT_PROP_IPV4, property_ipv4(component, id, *a)),
            PropertyValue::Ipv6(a) => (EVENT_PROP_IPV6, property_ipv6(component, id, *a)),
            PropertyValue::Bytes(b) => (EVENT_PROP_BINARY, property_binary(component, id, b)),
            PropertyValue::Str(s) => (EVENT_PROP_STRING, property_string(component, id, s)),
            PropertyValue::EtherType(t) => (EVENT_PROP_ETHERTYPE, property_ethertype(component, id, *t)),
        }
    }

    /// Event 80 PacketDropCounters (38 bytes).
    pub fn drop_counters(c: &DropCounters) -> Vec<u8> {
        let mut p = Vec::with_capacity(38);
        put_u16(&mut p, c.component_id);
        put_u16(&mut p, c.direction_in);
        put_u64(&mut p, c.packets_in);
        put_u64(&mut p, c.bytes_in);
        put_u16(&mut p, c.direction_out);
        put_u64(&mut p, c.packets_out);
        put_u64(&mut p, c.bytes_out);
        p
    }

    /// Event 90 PacketFlowCounters.
    pub fn flow_counters(c: &FlowCounters) -> Vec<u8> {
        let mut p = Vec::with_capacity(42 + 2 * c.edge_name.len());
        put_u16(&mut p, c.component_id);
        put_utf16z(&mut p, &c.edge_name);
        put_u16(&mut p, c.edge_id);
        put_u16(&mut p, c.direction_in);
        put_u64(&mut p, c.packets_in);
        put_u64(&mut p, c.bytes_in);
        put_u16(&mut p, c.direction_out);
        put_u64(&mut p, c.packets_out);
        put_u64(&mut p, c.bytes_out);
        p
    }

    /// The event a filter is logged as: 100 when both addresses are IPv4, else 110.
    pub fn filter_event_id(f: &PacketFilter) -> u16 {
        match (f.ip1, f.ip2) {
            (IpAddr::V4(_), IpAddr::V4(_)) => EVENT_FILTER_IPV4,
            _ => EVENT_FILTER_IPV6,
        }
    }

    /// Events 100 / 110 (see [`filter_event_id`]); in a 110 an IPv4 address
    /// is written IPv4-mapped.
    pub fn filter(f: &PacketFilter) -> Vec<u8> {
        let v4 = filter_event_id(f) == EVENT_FILTER_IPV4;
        let mut p = Vec::with_capacity(64 + 2 * f.name.len());
        put_u16(&mut p, f.id);
        put_utf16z(&mut p, &f.name);
        p.extend_from_slice(&f.mac1);
        p.extend_from_slice(&f.mac2);
        put_u16(&mut p, f.ether_type);
        put_u16(&mut p, f.vlan_id);
        for ip in [f.ip1, f.ip2] {
            match (ip, v4) {
                (IpAddr::V4(a), true) => p.extend_from_slice(&a.octets()),
                (IpAddr::V4(a), false) => p.extend_from_slice(&a.to_ipv6_mapped().octets()),
                (IpAddr::V6(a), _) => p.extend_from_slice(&a.octets()),
            }
        }
        p.push(f.protocol);
        put_u16(&mut p, f.port1);
        put_u16(&mut p, f.port2);
        p.push(f.tcp_flags);
        p
    }

    /// Any model record as the PktMon event it decodes from: (event id, payload).
    pub fn record(r: &Record) -> (u16, Vec<u8>) {
        match r {
            Record::Component(c) => (
                EVENT_COMPONENT,
                component(c.id, c.component_type, &c.name, &c.description),
            ),
            Record::Property {
                component_id,
                property: p,
            } => property(*component_id, p),
            Record::DropCounters(c) => (EVENT_DROP_COUNTERS, drop_counters(c)),
            Record::FlowCounters(c) => (EVENT_FLOW_COUNTERS, flow_counters(c)),
            Record::Filter(f) => (filter_event_id(f), filter(f)),
            Record::Packet(a) => (if a.is_drop() { EVENT_DROP } else { EVENT_PACKET }, packet(a)),
        }
    }

    /// Parses `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` (braces optional) into
    /// the on-disk GUID layout: the inverse of [`crate::etl::bytes::guid_string`].
    pub fn guid_bytes(s: &str) -> Option<[u8; 16]> {
        let s = s.trim().trim_start_matches('{').trim_end_matches('}');
        let parts: Vec<&str> = s.split('-').collect();
        let [a, b, c, d, e] = parts.as_slice() else {
            return None;
        };
        if (a.len(), b.len(), c.len(), d.len(), e.len()) != (8, 4, 4, 4, 12) {
            return None;
        }
        let mut g = [0u8; 16];
        g[0..4].copy_from_slice(&u32::from_str_radix(a, 16).ok()?.to_le_bytes());
        g[4..6].copy_from_slice(&u16::from_str_radix(b, 16).ok()?.to_le_bytes());
        g[6..8].copy_from_slice(&u16::from_str_radix(c, 16).ok()?.to_le_bytes());
        let tail = format!("{d}{e}");
        for (i, byte) in g[8..].iter_mut().enumerate() {
            *byte = u8::from_str_radix(tail.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etl::bytes::guid_string;

    #[test]
    fn clock_round_trips_to_the_100ns() {
        for freq in [10_000_000i64, 24_000_000, 2_594_000_000] {
            let clock = Clock {
                start_time: 133_000_000_000_000_000,
                origin: freq * SECONDS_SINCE_BOOT,
                freq,
            };
            let header = crate::etl::logfile::LogfileHeader {
                header_timestamp: clock.origin,
                perf_freq: freq,
                start_time: clock.start_time,
                clock_type: 1,
                ..Default::default()
            };
            for d in [-36_000_000_001i64, -12_345, -1, 0, 1, 7, 9_999_999, 123_456_789_012] {
                let t = clock.start_time + d;
                assert_eq!(header.to_filetime(clock.raw(t)), t, "freq {freq}, delta {d}");
            }
        }
    }

    #[test]
    fn guid_text_round_trips() {
        let g = payload::guid_bytes("{b52a5358-2046-4079-873f-6269cca56739}").unwrap();
        assert_eq!(guid_string(&g), "b52a5358-2046-4079-873f-6269cca56739");
        assert_eq!(payload::guid_bytes("b52a5358-2046-4079-873f"), None);
        assert_eq!(payload::guid_bytes("{zzzzzzzz-2046-4079-873f-6269cca56739}"), None);
    }

    #[test]
    fn empty_writer_makes_a_readable_header() {
        let bytes = EtlWriter::new(EtlWriterOptions::default()).finish();
        assert!(crate::etl::looks_like_etl(&bytes));
        assert_eq!(&bytes[0..4], &(HEADER_BUFFER_SIZE as u32).to_le_bytes());
    }
}
