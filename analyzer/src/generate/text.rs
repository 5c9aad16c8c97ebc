//! The whole of a `pktmon etl2txt` file: the `[MSNT_SystemTrace] Event:
//! Header` line (build, processors, StartTime/EndTime, from which a reader
//! recovers the time zone), the PartitionInfoExtension lines, one line per
//! packet and drop ([`crate::sink::txt::render_line`], the same lines `txt`
//! prints) followed by its bytes as `pktmon etl2txt --hex` dumps them
//! (tcpdump `-x` style), and PktMon's rundown: component, property, drop-counter and
//! flow-counter lines, all with the English templates of PktMon's manifest.
//!
//! The header needs the capture's end, known only at the end, so the body is
//! streamed to a temporary file and the header written before it in
//! [`Etl2TxtWriter::finish`].

use std::io::{self, Write};
use std::path::Path;

use crate::model::*;
use crate::pktmon::catalog::{Catalog, MAP_ETHER_TYPE, MAP_NDIS_MEDIUM};
use crate::sink::atomic::DeferredHeaderFile;
pub use crate::sink::txt::TextEncoding;

/// CPU, process and thread of pktmon's rundown events.
pub const RUNDOWN_ORIGIN: (u16, u32, u32) = (0, 0x1A2C, 0x0B50);

/// When the k-th rundown event is logged: 0.1 ms after the last packet, 1 µs apart.
pub fn rundown_time(last_packet: FileTime, k: u64) -> FileTime {
    last_packet + 1_000 + 10 * k as FileTime
}

/// Writes etl2txt text of the records it is given.
pub struct Etl2TxtWriter {
    body: DeferredHeaderFile,
    encoding: TextEncoding,
    last_packet: FileTime,
    rundown: u64,
    cpus: u64,
    info: Option<CaptureInfo>,
    error: Option<io::Error>,
    pub lines: u64,
}

impl Etl2TxtWriter {
    pub fn new(target: &Path, encoding: TextEncoding) -> io::Result<Etl2TxtWriter> {
        Ok(Etl2TxtWriter {
            body: DeferredHeaderFile::create(target)?,
            encoding,
            last_packet: 0,
            rundown: 0,
            cpus: 0,
            info: None,
            error: None,
            lines: 0,
        })
    }

    fn encode(&self, line: &str, out: &mut Vec<u8>) {
        match self.encoding {
            TextEncoding::Utf8 => {
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
            TextEncoding::Utf16Windows => {
                for u in line.encode_utf16().chain("\r\n".encode_utf16()) {
                    out.extend_from_slice(&u.to_le_bytes());
                }
            }
        }
    }

    fn write_line(&mut self, line: &str) {
        let mut buf = Vec::with_capacity(line.len() * 2 + 4);
        self.encode(line, &mut buf);
        if let Err(e) = self.body.body().write_all(&buf) {
            self.error.get_or_insert(e);
        }
        self.lines += 1;
    }

    fn rundown_line(&mut self, message: &str, bias: i32) {
        let t = rundown_time(self.last_packet, self.rundown);
        self.rundown += 1;
        let (cpu, pid, tid) = RUNDOWN_ORIGIN;
        let line = format!(
            "[{cpu:02}]{pid:04X}.{tid:04X}::{} [{}] {message}",
            crate::time::format_etl2txt(t, bias),
            crate::pktmon::text::PROVIDER_NAME
        );
        self.write_line(&line);
    }

    /// The end of the capture as the ETL's logfile header gives it: its last event.
    pub fn end_time(&self) -> FileTime {
        if self.rundown > 0 {
            rundown_time(self.last_packet, self.rundown - 1)
        } else {
            self.last_packet
        }
    }

    /// Writes the header lines and the body into the target, atomically.
    pub fn finish(mut self) -> io::Result<u64> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let info = self.info.clone().unwrap_or_default();
        let start = info.start_time.unwrap_or(self.last_packet);
        let bias = info.timezone_bias_minutes.unwrap_or(0);
        let mut head = Vec::new();
        if self.encoding == TextEncoding::Utf16Windows {
            head.extend_from_slice(&[0xFF, 0xFE]);
        }
        let prefix = format!(
            "[00]1864.06A4::{} [MSNT_SystemTrace] ",
            crate::time::format_etl2txt(start, bias)
        );
        let header = format!(
            "{prefix}Event: Header, BufferSize: 16777216, Version: 131082, ProviderVersion: {}, NumberOfProcessors: {}, \
             EndTime: {}, TimerResolution: 156250, MaxFileSize: 512, LogFileMode: 0x4010001, BuffersWritten: {}, \
             StartBuffers: 1, PointerSize: 8, EventsLost: 0, CPUSpeed: 3000, LoggerName: 0x0, LogFileName: 0x0, \
             TimeZoneInformation: , BootTime: {}, PerfFreq: 10000000, StartTime: {start}, ReservedFlags: 0x1, \
             BuffersLost: 0, SessionNameString: Relogger, LogFileNameString: {}",
            info.os_build.unwrap_or(0),
            info.processors.unwrap_or(1),
            self.end_time(),
            1 + self.cpus.count_ones(),
            start - 3_600 * 10_000_000,
            info.log_file_name.as_deref().unwrap_or("C:\\PktMon\\PktMon.etl"),
        );
        self.encode(&header, &mut head);
        let partition = format!(
            "{prefix}Event: PartitionInfoExtensionV2, EventVersion: 0, Reserved: 0, PartitionType: 0, \
             QpcOffsetFromRoot: 0, PartitionId: , ParentId: "
        );
        self.encode(&partition, &mut head);
        self.encode(&partition, &mut head);
        let lines = self.lines + 3;
        self.body.finish(|w| w.write_all(&head))?;
        Ok(lines)
    }
}

/// A `--hex` detail line, tcpdump `-x` style: `\t0x0010:  4500 0034 …`.
fn hex_line(offset: usize, bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = format!("\t0x{offset:04x}: ");
    for pair in bytes.chunks(2) {
        s.push(' ');
        for &b in pair {
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 15)] as char);
        }
    }
    s
}

/// A map text as etl2txt prints it (with its trailing space), or the number.
fn mapped(catalog: &Catalog, map: &str, value: u32) -> String {
    match catalog.map_text(map, value) {
        Some(t) if t.ends_with(' ') => t.to_string(),
        Some(t) => format!("{t} "),
        None => value.to_string(),
    }
}

/// A property value as etl2txt prints it.
fn property_value(catalog: &Catalog, v: &PropertyValue) -> String {
    match v {
        PropertyValue::U32(n) => n.to_string(),
        PropertyValue::Guid(g) => g.clone(),
        PropertyValue::NdisMedium(m) => mapped(catalog, MAP_NDIS_MEDIUM, u32::from(*m)),
        PropertyValue::Ipv4(a) => a.to_string(),
        PropertyValue::Ipv6(a) => a.to_string(),
        PropertyValue::Bytes(b) => {
            let mut s = String::from("0x");
            for x in b {
                s.push_str(&format!("{x:02X}"));
            }
            s
        }
        PropertyValue::Str(s) => s.clone(),
        PropertyValue::EtherType(t) => mapped(catalog, MAP_ETHER_TYPE, u32::from(*t)),
    }
}

fn direction(catalog: &Catalog, d: u16) -> String {
    mapped(catalog, crate::pktmon::catalog::MAP_DIRECTION, u32::from(d))
}

impl RecordSink for Etl2TxtWriter {
    fn record(&mut self, ctx: &Context<'_>, record: Record) {
        if self.error.is_some() {
            return;
        }
        if self.info.is_none() {
            self.info = Some(ctx.info.clone());
        }
        let bias = ctx.info.timezone_bias_minutes.unwrap_or(0);
        let c = ctx.catalog;
        match record {
            Record::Packet(a) => {
                self.last_packet = self.last_packet.max(a.time);
                if let Some(cpu) = a.cpu {
                    self.cpus |= 1 << (cpu.min(63));
                }
                let line = crate::sink::txt::render_line(&a, ctx, None);
                self.write_line(&line);
                for (k, chunk) in a.payload.chunks(16).enumerate() {
                    let line = hex_line(k * 16, chunk);
                    self.write_line(&line);
                }
            }
            Record::Component(comp) => {
                let t = mapped(
                    c,
                    crate::pktmon::catalog::MAP_COMPONENT_TYPE,
                    u32::from(comp.component_type),
                );
                let m = format!(
                    "Component {}, Type {t}, Name {}, {} ",
                    comp.id, comp.name, comp.description
                );
                self.rundown_line(&m, bias);
            }
            Record::Property { component_id, property } => {
                let name = mapped(c, crate::pktmon::catalog::MAP_PROPERTY_TYPE, u32::from(property.id));
                let m = format!(
                    "Property: Component {component_id}, {name} = {} ",
                    property_value(c, &property.value)
                );
                self.rundown_line(&m, bias);
            }
            Record::DropCounters(d) => {
                let m = format!(
                    "Drop Counters: Component {}, Direction In = {}, Packets In {}, Bytes In {}, Direction Out = {}, Packets Out {}, Bytes Out {} ",
                    d.component_id,
                    direction(c, d.direction_in),
                    d.packets_in,
                    d.bytes_in,
                    direction(c, d.direction_out),
                    d.packets_out,
                    d.bytes_out
                );
                self.rundown_line(&m, bias);
            }
            Record::FlowCounters(f) => {
                let m = format!(
                    "Flow Counters: Component {}, Edge {}, Edge Id {}, Direction In = {}, Packets In {}, Bytes In {}, Direction Out = {}, Packets Out {}, Bytes Out {} ",
                    f.component_id,
                    f.edge_name,
                    f.edge_id,
                    direction(c, f.direction_in),
                    f.packets_in,
                    f.bytes_in,
                    direction(c, f.direction_out),
                    f.packets_out,
                    f.bytes_out
                );
                self.rundown_line(&m, bias);
            }
            Record::Filter(_) => {}
        }
    }
}
