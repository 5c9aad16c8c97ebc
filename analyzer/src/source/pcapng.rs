//! pcapng and classic pcap → records.
//!
//! A small block parser of our own rather than pcap-file 2.0: we need exact
//! byte offsets in every message, salvage of damaged and cut files, and
//! options pcap-file does not parse (`epb_packetid`, `epb_verdict`,
//! `epb_flags`, `if_tsresol`, several comments per block).
//!
//! The file is read one block at a time through a `BufReader`, so memory does
//! not grow with the file; a block is only allocated after its length has been
//! checked against the bytes left in the file.
//!
//! # What kind of pcapng it is ([`InputKind`])
//!
//! * [`InputKind::PcapngConverter`]: written by this project's `convert`
//!   (`shb_userappl` starts with "pktmon-analyzer", or packet comments hold
//!   PktMon lines and the interface says "PktMon component N"). Each EPB's
//!   first comment is the etl2txt message, a drop's second comment
//!   `DropReasonCode <n>`; every IDB is one component.
//! * [`InputKind::PcapngEtl2pcapng`]: microsoft/etl2pcapng ≥ 1.12. One IDB per
//!   component, named after it, `epb_packetid` = PktGroupId, `epb_verdict` on
//!   drops, no comments. That format does not keep the original component id,
//!   so the component of a packet is given the **interface number** (counted
//!   over the whole file) as its id.
//! * [`InputKind::PcapngComments`]: any other pcapng whose packet comments
//!   hold PktMon lines (with or without the `[CC]PID.TID::time [Provider]`
//!   prefix).
//! * [`InputKind::PcapngPlain`] / [`InputKind::Pcap`]: packets only, for
//!   example `pktmon etl2pcap` output; every metadata field stays `None` and a
//!   warning says the metadata was lost when the file was written.
//!
//! # Damage
//!
//! A file cut short keeps every complete block and gets one warning naming the
//! offset of the cut block. A block whose length cannot be right stops reading
//! with an error diagnostic (everything before it is kept): without a
//! trustworthy length there is no safe place to resume. A packet block that is
//! wrong inside (unknown interface, captured length larger than the block) is
//! skipped with an error diagnostic and reading goes on. Only a file that is
//! not pcapng/pcap at all (or cannot be opened) is an `Err`.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use super::ReadOutcome;
use crate::error::{Error, Location};
use crate::model::*;
use crate::pktmon::catalog::Catalog;
use crate::pktmon::frame::{metadata_from_frame, FrameFacts, MetadataSource};
use crate::sink::pcapng_blocks::{
    EPB_FLAGS, EPB_PACKETID, EPB_VERDICT, IF_DESCRIPTION, IF_IPV4ADDR, IF_IPV6ADDR, IF_MACADDR, IF_NAME, IF_TSRESOL,
    OPT_COMMENT, OPT_ENDOFOPT, SHB_HARDWARE, SHB_OS, SHB_USERAPPL,
};

const SHB_TYPE: u32 = 0x0A0D_0D0A;
const IDB_TYPE: u32 = 1;
/// The obsolete Packet Block.
const PB_TYPE: u32 = 2;
const SPB_TYPE: u32 = 3;
const EPB_TYPE: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// `if_tsoffset`: seconds to add to every timestamp of the interface.
const IF_TSOFFSET: u16 = 14;
/// `epb_processid_threadid`: u32 process id, u32 thread id (etl2pcapng writes it).
const EPB_PROCESSID_THREADID: u16 = 8;

/// Smallest SHB: 12 bytes of framing plus BOM, version and section length.
const MIN_SHB_LEN: u32 = 28;
/// Smallest block of any type: type, length, trailing length.
const MIN_BLOCK_LEN: u32 = 12;
/// The largest block we believe. Wireshark accepts nothing bigger (its limit
/// is 128 MiB of packet plus a little), and a length beyond it in a file cut
/// short is far more likely damage than a real block.
const MAX_BLOCK_LEN: u32 = 128 * 1024 * 1024 + 256 * 1024;

/// Classic pcap magics, read as little-endian u32.
const PCAP_MICROS_LE: u32 = 0xA1B2_C3D4;
const PCAP_MICROS_BE: u32 = 0xD4C3_B2A1;
const PCAP_NANOS_LE: u32 = 0xA1B2_3C4D;
const PCAP_NANOS_BE: u32 = 0x4D3C_B2A1;
const PCAP_HEADER_LEN: usize = 24;
const PCAP_RECORD_HEADER_LEN: usize = 16;
/// Records up to this size are believed even when the header's snaplen is
/// smaller (writers get snaplen wrong); libpcap's own maximum snaplen.
const PCAP_PLAUSIBLE_RECORD: u32 = 262_144;

/// PKTMON_COMPONENT_PROPERTY_ID of a MAC address.
const PROPERTY_PHYS_ADDRESS: u16 = 6;
/// PKTMON_COMPONENT_PROPERTY_ID of an IP address.
const PROPERTY_IP_ADDRESS: u16 = 13;

/// Reads a pcapng or classic pcap file, pushing its packets (and, for the
/// PktMon-aware forms, its components) into `sink` in file order.
pub fn read(path: &Path, sink: &mut dyn RecordSink) -> Result<ReadOutcome, Error> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
    if meta.is_dir() {
        return Err(Error::new(name, Location::File, "is a directory, not a capture file"));
    }
    let file = File::open(path).map_err(|e| Error::io(path, &e))?;
    let mut input = Input {
        reader: BufReader::with_capacity(1 << 16, file),
        offset: 0,
        len: meta.len(),
    };
    let mut magic = [0u8; 4];
    let got = input.read_up_to(&mut magic).map_err(|e| Error::io(path, &e))?;
    if got == 0 {
        return Err(Error::at(path, 0, "file is empty"));
    }
    let mut reader = Reader::new(name, sink);
    let magic_le = u32::from_le_bytes(magic);
    if got == magic.len() && magic_le == SHB_TYPE {
        reader.set_kind(InputKind::PcapngPlain);
        read_pcapng(&mut input, &mut reader, path)?;
    } else if got == magic.len()
        && matches!(
            magic_le,
            PCAP_MICROS_LE | PCAP_MICROS_BE | PCAP_NANOS_LE | PCAP_NANOS_BE
        )
    {
        reader.set_kind(InputKind::Pcap);
        read_pcap(&mut input, &mut reader, magic_le);
    } else {
        return Err(Error::at(
            path,
            0,
            "not a pcapng or pcap file: it does not start with a section header block or a pcap magic number",
        ));
    }
    Ok(reader.finish())
}

/// The file, read front to back, with the offset of the next unread byte.
struct Input {
    reader: BufReader<File>,
    offset: u64,
    /// The file's size when it was opened; lengths are checked against it.
    len: u64,
}

impl Input {
    /// Fills `buf` as far as the file allows; fewer bytes only at the end of the file.
    fn read_up_to(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
            match self.reader.read(rest) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        self.offset += filled as u64;
        Ok(filled)
    }

    /// Steps over `n` bytes without keeping them; returns how many there were.
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let skipped = io::copy(&mut (&mut self.reader).take(n), &mut io::sink())?;
        self.offset += skipped;
        Ok(skipped)
    }

    /// Bytes of the file from `offset` on.
    fn left_from(&self, offset: u64) -> u64 {
        self.len.saturating_sub(offset)
    }
}

/// Reads the fixed-size fields of pcapng and pcap in the byte order the file declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    fn bytes<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
        b.get(at..at.checked_add(N)?)?.try_into().ok()
    }
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let v = Self::bytes::<2>(b, at)?;
        Some(match self {
            ByteOrder::Little => u16::from_le_bytes(v),
            ByteOrder::Big => u16::from_be_bytes(v),
        })
    }
    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let v = Self::bytes::<4>(b, at)?;
        Some(match self {
            ByteOrder::Little => u32::from_le_bytes(v),
            ByteOrder::Big => u32::from_be_bytes(v),
        })
    }
    fn u64(self, b: &[u8], at: usize) -> Option<u64> {
        let v = Self::bytes::<8>(b, at)?;
        Some(match self {
            ByteOrder::Little => u64::from_le_bytes(v),
            ByteOrder::Big => u64::from_be_bytes(v),
        })
    }
}

/// How much PktMon metadata a kind carries; the file's kind is the richest one
/// any packet showed, so one plain packet does not hide the metadata of the rest.
fn kind_rank(kind: InputKind) -> u8 {
    match kind {
        InputKind::PcapngConverter => 3,
        InputKind::PcapngComments => 2,
        InputKind::PcapngEtl2pcapng => 1,
        _ => 0,
    }
}

/// State shared by the pcapng and pcap paths: where records go and what is known so far.
struct Reader<'s> {
    name: String,
    sink: &'s mut dyn RecordSink,
    out: ReadOutcome,
    next_index: u64,
    /// Time of the previous packet, for Simple Packet Blocks (they carry none).
    last_time: Option<FileTime>,
    catalog_chosen: bool,
}

impl<'s> Reader<'s> {
    fn new(name: String, sink: &'s mut dyn RecordSink) -> Self {
        let mut out = ReadOutcome {
            catalog: Catalog::builtin(None),
            ..Default::default()
        };
        out.info.file = name.clone();
        Reader {
            name,
            sink,
            out,
            next_index: 0,
            last_time: None,
            catalog_chosen: false,
        }
    }

    fn set_kind(&mut self, kind: InputKind) {
        self.out.info.kind = Some(kind);
    }

    /// Raises the file's kind to `kind` when that carries more metadata.
    fn raise_kind(&mut self, kind: InputKind) {
        let richer = match self.out.info.kind {
            Some(current) => kind_rank(kind) > kind_rank(current),
            None => true,
        };
        if richer {
            self.out.info.kind = Some(kind);
        }
    }

    fn emit(&mut self, record: Record) {
        let ctx = Context {
            info: &self.out.info,
            catalog: &self.out.catalog,
            schemas: &self.out.schemas,
        };
        self.sink.record(&ctx, record);
    }

    fn emit_packet(&mut self, appearance: Appearance) {
        let t = appearance.time;
        let info = &mut self.out.info;
        info.start_time = Some(info.start_time.map_or(t, |s| s.min(t)));
        info.end_time = Some(info.end_time.map_or(t, |e| e.max(t)));
        self.last_time = Some(t);
        self.next_index += 1;
        self.emit(Record::Packet(appearance));
    }

    fn emit_component(&mut self, id: u16, iface: &Interface) {
        self.emit(Record::Component(Component {
            id,
            component_type: 0,
            name: iface.name.clone().unwrap_or_default(),
            description: iface.description.clone().unwrap_or_default(),
            properties: Vec::new(),
        }));
        let ips = iface
            .ipv4
            .iter()
            .map(|a| PropertyValue::Ipv4(*a))
            .chain(iface.ipv6.iter().map(|a| PropertyValue::Ipv6(*a)));
        let mut properties: Vec<Property> = ips
            .map(|value| Property {
                id: PROPERTY_IP_ADDRESS,
                value,
            })
            .collect();
        if let Some(mac) = iface.mac {
            properties.push(Property {
                id: PROPERTY_PHYS_ADDRESS,
                value: PropertyValue::Bytes(mac.to_vec()),
            });
        }
        for property in properties {
            self.emit(Record::Property {
                component_id: id,
                property,
            });
        }
    }

    fn warn(&mut self, offset: u64, message: impl Into<String>) {
        self.out.diagnostics.warn(&self.name, Location::Offset(offset), message);
    }

    fn error(&mut self, offset: u64, message: impl Into<String>) {
        self.out
            .diagnostics
            .error(&self.name, Location::Offset(offset), message);
    }

    fn cut_short(&mut self, offset: u64, what: &str) {
        self.warn(
            offset,
            format!("file ends inside {what} at offset {offset}; the file was cut short"),
        );
    }

    fn finish(mut self) -> ReadOutcome {
        let kind = self.out.info.kind.unwrap_or(InputKind::PcapngPlain);
        if !kind.has_metadata() && self.next_index > 0 {
            let why = match kind {
                InputKind::Pcap => "classic pcap cannot carry it",
                _ => "it looks like `pktmon etl2pcap` output",
            };
            self.out.diagnostics.warn(
                &self.name,
                Location::File,
                format!(
                    "the file has no PktMon metadata ({why}): components, directions and drop reasons were lost \
                     when it was written; convert the original .etl instead"
                ),
            );
        }
        self.out
    }
}

/// One Interface Description Block, with what we need of its options.
#[derive(Debug, Clone)]
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    /// `if_tsresol` as stored: 10^-n seconds, or 2^-n when the high bit is set.
    ts_resolution: u8,
    ts_offset_secs: i64,
    name: Option<String>,
    description: Option<String>,
    ipv4: Vec<Ipv4Addr>,
    ipv6: Vec<Ipv6Addr>,
    mac: Option<[u8; 6]>,
    /// N of our converter's "PktMon component N" comment.
    pktmon_component: Option<u16>,
    /// Position among all IDBs of the file: the id given to the component of
    /// an etl2pcapng interface (that format does not keep the real one).
    file_number: u32,
    /// Whether the etl2pcapng component of this interface was pushed already.
    synthesized: bool,
}

impl Interface {
    /// Named like an etl2pcapng component interface ("tcpip.sys" / "TCP/IPv4 - L3/L4").
    fn named(&self) -> bool {
        self.name.as_deref().is_some_and(|s| !s.is_empty())
            || self.description.as_deref().is_some_and(|s| !s.is_empty())
    }

    /// Unix nanoseconds of a timestamp in this interface's units.
    fn unix_nanos(&self, ts: u64) -> i128 {
        let ts = u128::from(ts);
        let nanos = if self.ts_resolution & 0x80 == 0 {
            let exp = u32::from(self.ts_resolution);
            if exp <= 9 {
                ts * 10u128.pow(9 - exp)
            } else {
                10u128.checked_pow(exp - 9).map_or(0, |d| ts / d)
            }
        } else {
            // ts < 2^64 and 10^9 < 2^30: the product fits in u128.
            (ts * 1_000_000_000)
                .checked_shr(u32::from(self.ts_resolution & 0x7F))
                .unwrap_or(0)
        };
        i128::try_from(nanos).unwrap_or(i128::MAX) + i128::from(self.ts_offset_secs) * 1_000_000_000
    }
}

/// One pcapng section: its byte order and interfaces.
struct Section {
    order: ByteOrder,
    interfaces: Vec<Interface>,
    /// `shb_userappl` says this project's converter wrote it.
    written_by_us: bool,
}

/// The options of a block, (code, value) in file order.
type OptionList<'a> = Vec<(u16, &'a [u8])>;

/// The options of a block as (code, value), up to `opt_endofopt` or the end.
/// `Err` carries the options read before one that ran past the block.
fn parse_options(bytes: &[u8], order: ByteOrder) -> Result<OptionList<'_>, OptionList<'_>> {
    let mut options = Vec::new();
    if walk_options(bytes, order, |code, value| options.push((code, value))) {
        Ok(options)
    } else {
        Err(options)
    }
}

/// Calls `each` with every option (code, value) in file order, without
/// collecting them (packet blocks come by the million); false if an option
/// ran past the block (the ones before it were given).
fn walk_options<'a>(bytes: &'a [u8], order: ByteOrder, mut each: impl FnMut(u16, &'a [u8])) -> bool {
    let mut pos = 0usize;
    while pos < bytes.len() {
        let (Some(code), Some(len)) = (order.u16(bytes, pos), order.u16(bytes, pos + 2)) else {
            return false;
        };
        if code == OPT_ENDOFOPT {
            break;
        }
        let start = pos + 4;
        let len = usize::from(len);
        let Some(value) = bytes.get(start..start + len) else {
            return false;
        };
        each(code, value);
        pos = start + len.next_multiple_of(4);
    }
    true
}

/// A string option: UTF-8 per the spec; trailing NULs (some writers add them) removed.
fn option_string(value: &[u8]) -> String {
    option_str(value).into_owned()
}

/// [`option_string`] borrowing from the block when the text is valid UTF-8,
/// as nearly every packet comment is: no allocation per frame.
fn option_str(value: &[u8]) -> Cow<'_, str> {
    // from_utf8 validates far faster than from_utf8_lossy's chunk walk.
    if let Ok(s) = std::str::from_utf8(value) {
        return Cow::Borrowed(s.trim_end_matches('\0'));
    }
    match String::from_utf8_lossy(value) {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim_end_matches('\0')),
        Cow::Owned(s) => Cow::Owned(s.trim_end_matches('\0').to_string()),
    }
}

/// The Windows build number in an `shb_os` such as "Windows Server 2022 (build 20348)".
fn build_from_os(os: &str) -> Option<u32> {
    let lower = os.to_ascii_lowercase();
    lower.match_indices("build").find_map(|(i, _)| {
        let rest = lower.get(i + "build".len()..)?.trim_start();
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok().filter(|b| *b >= 1000)
    })
}

/// What the block loop should do after a block.
enum Flow {
    Continue,
    Stop,
}

fn read_pcapng(input: &mut Input, reader: &mut Reader<'_>, path: &Path) -> Result<(), Error> {
    // The magic (the SHB's block type) is already read.
    let mut head = [0u8; 8];
    head[..4].copy_from_slice(&SHB_TYPE.to_le_bytes());
    let mut have_head = 4usize;
    let mut section: Option<Section> = None;
    let mut body: Vec<u8> = Vec::new();
    let mut file_interfaces: u32 = 0;
    loop {
        let start = input.offset - have_head as u64;
        let got = match head.get_mut(have_head..) {
            Some(rest) => match input.read_up_to(rest) {
                Ok(n) => n,
                Err(e) => {
                    reader.error(input.offset, format!("read error: {e}; reading stopped here"));
                    break;
                }
            },
            None => 0,
        };
        let head_len = have_head + got;
        have_head = 0;
        if head_len == 0 {
            break;
        }
        if head_len < head.len() {
            reader.cut_short(start, &format!("a block header ({head_len} of 8 bytes)"));
            break;
        }
        let raw_type = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let is_shb = raw_type == SHB_TYPE;
        let first = section.is_none();
        // The byte order of an SHB comes from its own byte-order magic, read before its length.
        let mut bom = [0u8; 4];
        let order = if is_shb {
            match input.read_up_to(&mut bom) {
                Ok(4) => {}
                Ok(_) => {
                    reader.cut_short(start, "a section header block");
                    break;
                }
                Err(e) => {
                    reader.error(input.offset, format!("read error: {e}; reading stopped here"));
                    break;
                }
            }
            match u32::from_le_bytes(bom) {
                BYTE_ORDER_MAGIC => ByteOrder::Little,
                m if m.swap_bytes() == BYTE_ORDER_MAGIC => ByteOrder::Big,
                m => {
                    let msg = format!(
                        "section header block with byte-order magic 0x{m:08X} (expected 0x1A2B3C4D in either byte order)"
                    );
                    if first {
                        return Err(Error::at(path, start, format!("not a pcapng file: {msg}")));
                    }
                    reader.error(start, format!("{msg}; the block is damaged, reading stopped here"));
                    break;
                }
            }
        } else {
            match &section {
                Some(s) => s.order,
                None => return Err(Error::at(path, start, "not a pcapng file: no section header block")),
            }
        };
        let block_type = if is_shb {
            SHB_TYPE
        } else {
            order.u32(&head, 0).unwrap_or(raw_type)
        };
        let total = order.u32(&head, 4).unwrap_or(0);
        let min = if is_shb { MIN_SHB_LEN } else { MIN_BLOCK_LEN };
        let problem = if total < min {
            Some(format!("shorter than the {min}-byte minimum"))
        } else if total % 4 != 0 {
            Some("not a multiple of 4".to_string())
        } else if total > MAX_BLOCK_LEN {
            Some(format!("larger than any real block, {MAX_BLOCK_LEN} bytes"))
        } else {
            None
        };
        if let Some(problem) = problem {
            let msg = format!(
                "block of type 0x{block_type:X} at offset {start} has an impossible length {total} ({problem})"
            );
            if first {
                return Err(Error::at(path, start, format!("not a pcapng file: {msg}")));
            }
            reader.error(
                start,
                format!("{msg}; reading stopped here, the blocks before it were kept"),
            );
            break;
        }
        if u64::from(total) > input.left_from(start) {
            reader.cut_short(start, &format!("a block of {total} bytes"));
            break;
        }
        // Body without the framing: the SHB's starts with the byte-order magic already read.
        let body_len = total as usize - 12;
        let parsed = matches!(block_type, SHB_TYPE | IDB_TYPE | PB_TYPE | SPB_TYPE | EPB_TYPE);
        let complete = if parsed {
            body.clear();
            let already = if is_shb { bom.len() } else { 0 };
            body.extend_from_slice(bom.get(..already).unwrap_or(&[]));
            body.resize(body_len, 0);
            match body.get_mut(already..).map(|rest| input.read_up_to(rest)) {
                Some(Ok(n)) => n + already == body_len,
                Some(Err(e)) => {
                    reader.error(input.offset, format!("read error: {e}; reading stopped here"));
                    break;
                }
                None => false,
            }
        } else {
            match input.skip(body_len as u64) {
                Ok(n) => n == body_len as u64,
                Err(e) => {
                    reader.error(input.offset, format!("read error: {e}; reading stopped here"));
                    break;
                }
            }
        };
        let mut trailer = [0u8; 4];
        let trailer_ok = complete && matches!(input.read_up_to(&mut trailer), Ok(4));
        if !trailer_ok {
            // The file shrank while we read it.
            reader.cut_short(start, &format!("a block of {total} bytes"));
            break;
        }
        let trailing = order.u32(&trailer, 0).unwrap_or(0);
        if trailing != total {
            let msg = format!(
                "block of type 0x{block_type:X} at offset {start}: trailing length {trailing} differs from its length {total}"
            );
            if first {
                return Err(Error::at(path, start, format!("not a pcapng file: {msg}")));
            }
            reader.error(start, format!("{msg}; the block is damaged, reading stopped here"));
            break;
        }
        let flow = match block_type {
            SHB_TYPE => match shb(reader, start, &body, order) {
                Ok(new_section) => {
                    section = Some(new_section);
                    Flow::Continue
                }
                Err(msg) if first => return Err(Error::at(path, start, format!("not a pcapng file: {msg}"))),
                Err(msg) => {
                    reader.error(start, format!("{msg}; reading stopped here"));
                    Flow::Stop
                }
            },
            _ => match section.as_mut() {
                Some(section) => match block_type {
                    IDB_TYPE => {
                        idb(reader, section, start, &body, file_interfaces);
                        file_interfaces = file_interfaces.saturating_add(1);
                        Flow::Continue
                    }
                    EPB_TYPE | PB_TYPE | SPB_TYPE => {
                        packet_block(reader, section, start, block_type, &body);
                        Flow::Continue
                    }
                    _ => Flow::Continue,
                },
                None => Flow::Stop,
            },
        };
        if let Flow::Stop = flow {
            break;
        }
    }
    Ok(())
}

/// Section Header Block: byte order, version, and what the writer said about itself.
fn shb(reader: &mut Reader<'_>, offset: u64, body: &[u8], order: ByteOrder) -> Result<Section, String> {
    let major = order.u16(body, 4).unwrap_or(0);
    let minor = order.u16(body, 6).unwrap_or(0);
    if major != 1 {
        return Err(format!(
            "section header block says pcapng version {major}.{minor}; only 1.x is known"
        ));
    }
    let options = body.get(16..).unwrap_or(&[]);
    let options = parse_options(options, order).unwrap_or_else(|partial| {
        reader.warn(
            offset,
            "section header block options run past the block; the rest were ignored",
        );
        partial
    });
    let mut written_by_us = false;
    let info = &mut reader.out.info;
    for (code, value) in options {
        let text = option_string(value);
        match code {
            SHB_HARDWARE if info.hardware.is_none() => info.hardware = Some(text),
            SHB_OS if info.os_description.is_none() => {
                info.os_build = info.os_build.or_else(|| build_from_os(&text));
                info.os_description = Some(text);
            }
            SHB_USERAPPL => {
                written_by_us |= text.starts_with("pktmon-analyzer");
                if info.application.is_none() {
                    info.application = Some(text);
                }
            }
            _ => {}
        }
    }
    if !reader.catalog_chosen {
        reader.catalog_chosen = true;
        // Drop-reason texts differ between builds: pick the table of the capturing OS
        // (the reader starts with the newest table, right when the build is unknown).
        if let Some(build) = reader.out.info.os_build {
            reader.out.catalog = Catalog::builtin(Some(build));
        }
    }
    if written_by_us {
        reader.raise_kind(InputKind::PcapngConverter);
    }
    Ok(Section {
        order,
        interfaces: Vec::new(),
        written_by_us,
    })
}

/// Interface Description Block. Our converter's IDBs are components: they are
/// pushed at once. etl2pcapng's are pushed when a packet shows the file is one.
fn idb(reader: &mut Reader<'_>, section: &mut Section, offset: u64, body: &[u8], file_number: u32) {
    let order = section.order;
    let mut iface = Interface {
        link_type: LinkType::from_pcap_linktype(u32::from(order.u16(body, 0).unwrap_or(0))),
        snaplen: order.u32(body, 4).unwrap_or(0),
        ts_resolution: 6,
        ts_offset_secs: 0,
        name: None,
        description: None,
        ipv4: Vec::new(),
        ipv6: Vec::new(),
        mac: None,
        pktmon_component: None,
        file_number,
        synthesized: false,
    };
    let options = parse_options(body.get(8..).unwrap_or(&[]), order).unwrap_or_else(|partial| {
        reader.warn(
            offset,
            "interface description block options run past the block; the rest were ignored",
        );
        partial
    });
    for (code, value) in options {
        match code {
            IF_NAME => iface.name = Some(option_string(value)),
            IF_DESCRIPTION => iface.description = Some(option_string(value)),
            IF_IPV4ADDR => {
                if let Some(a) = ByteOrder::bytes::<4>(value, 0) {
                    iface.ipv4.push(Ipv4Addr::from(a));
                }
            }
            IF_IPV6ADDR => {
                if let Some(a) = ByteOrder::bytes::<16>(value, 0) {
                    iface.ipv6.push(Ipv6Addr::from(a));
                }
            }
            IF_MACADDR => iface.mac = ByteOrder::bytes::<6>(value, 0),
            IF_TSRESOL => iface.ts_resolution = value.first().copied().unwrap_or(6),
            IF_TSOFFSET => iface.ts_offset_secs = order.u64(value, 0).map_or(0, |v| v as i64),
            OPT_COMMENT => {
                let text = option_string(value);
                if let Some(n) = text.trim().strip_prefix("PktMon component ") {
                    iface.pktmon_component = n.trim().parse().ok();
                }
            }
            _ => {}
        }
    }
    if let Some(id) = iface.pktmon_component {
        reader.raise_kind(InputKind::PcapngConverter);
        reader.emit_component(id, &iface);
    }
    section.interfaces.push(iface);
}

const INLINE_COMMENTS: usize = 4;

/// The options of a packet block that carry PktMon meaning.
#[derive(Debug, Default)]
struct PacketOptions<'a> {
    /// The first comments in place (a packet has one or two), any more in `more_comments`.
    comments: [Cow<'a, str>; INLINE_COMMENTS],
    comment_count: usize,
    more_comments: Vec<Cow<'a, str>>,
    flags: Option<u32>,
    packet_id: Option<u64>,
    verdict: bool,
    process_thread: Option<(u32, u32)>,
}

fn packet_options<'a>(reader: &mut Reader<'_>, offset: u64, bytes: &'a [u8], order: ByteOrder) -> PacketOptions<'a> {
    let mut out = PacketOptions::default();
    let complete = walk_options(bytes, order, |code, value| match code {
        OPT_COMMENT => {
            let text = option_str(value);
            match out.comments.get_mut(out.comment_count) {
                Some(slot) => {
                    *slot = text;
                    out.comment_count += 1;
                }
                None => out.more_comments.push(text),
            }
        }
        EPB_FLAGS => out.flags = order.u32(value, 0),
        EPB_PACKETID => out.packet_id = order.u64(value, 0),
        EPB_VERDICT => out.verdict |= verdict_is_drop(value, order),
        EPB_PROCESSID_THREADID => {
            out.process_thread = order.u32(value, 0).zip(order.u32(value, 4));
        }
        _ => {}
    });
    if !complete {
        reader.warn(offset, "packet block options run past the block; the rest were ignored");
    }
    out
}

/// Whether an `epb_verdict` says the packet was dropped. etl2pcapng and our
/// converter write eBPF-XDP `XDP_DROP` (type 2, value 1) on drops only; an eBPF
/// verdict that let the packet through (XDP_PASS/TX/REDIRECT, TC_ACT_OK …) is
/// not a drop. A hardware verdict (type 0) is opaque, so it counts as one.
fn verdict_is_drop(value: &[u8], order: ByteOrder) -> bool {
    value
        .first()
        .is_some_and(|&kind| crate::pktmon::frame::verdict_is_drop(kind, order.u64(value, 1)))
}

/// EPB, obsolete PB or SPB → one appearance.
fn packet_block(reader: &mut Reader<'_>, section: &mut Section, offset: u64, block_type: u32, body: &[u8]) {
    let order = section.order;
    // (interface, timestamp, captured length, original length, data start)
    let (interface, timestamp, caplen, original, data_start) = match block_type {
        SPB_TYPE => {
            let original = order.u32(body, 0).unwrap_or(0);
            let available = u32::try_from(body.len().saturating_sub(4)).unwrap_or(u32::MAX);
            let snaplen = section.interfaces.first().map_or(0, |i| i.snaplen);
            let mut caplen = original.min(available);
            if snaplen > 0 {
                caplen = caplen.min(snaplen);
            }
            (Some(0), None, Some(caplen), Some(original), 4usize)
        }
        _ => {
            let interface = if block_type == PB_TYPE {
                order.u16(body, 0).map(u32::from)
            } else {
                order.u32(body, 0)
            };
            let ts = order.u32(body, 4).zip(order.u32(body, 8));
            let timestamp = ts.map(|(hi, lo)| (u64::from(hi) << 32) | u64::from(lo));
            (interface, timestamp, order.u32(body, 12), order.u32(body, 16), 20usize)
        }
    };
    let kind_name = match block_type {
        SPB_TYPE => "simple packet block",
        PB_TYPE => "packet block",
        _ => "enhanced packet block",
    };
    let (Some(interface), Some(caplen), Some(original)) = (interface, caplen, original) else {
        reader.error(
            offset,
            format!("{kind_name} at offset {offset} is too short; packet skipped"),
        );
        return;
    };
    let data_end = data_start.checked_add(caplen as usize);
    let Some(data) = data_end.and_then(|end| body.get(data_start..end)) else {
        reader.error(
            offset,
            format!(
                "{kind_name} at offset {offset}: captured length {caplen} does not fit in the block of {} bytes; packet skipped",
                body.len() + 12
            ),
        );
        return;
    };
    let options_at = data_start + (caplen as usize).next_multiple_of(4);
    let options = if block_type == SPB_TYPE {
        PacketOptions::default()
    } else {
        packet_options(reader, offset, body.get(options_at..).unwrap_or(&[]), order)
    };
    let count = section.interfaces.len();
    let Some(iface) = section.interfaces.get_mut(interface as usize) else {
        reader.error(
            offset,
            format!(
                "{kind_name} at offset {offset} refers to interface {interface}, but its section describes {count}; packet skipped"
            ),
        );
        return;
    };
    let time = match timestamp {
        Some(ts) => crate::time::filetime_from_unix_nanos(iface.unix_nanos(ts)),
        None => reader.last_time.unwrap_or(UNIX_EPOCH_FILETIME),
    };
    let mut inline = [""; INLINE_COMMENTS];
    let listed: Vec<&str>;
    let comments: &[&str] = if options.more_comments.is_empty() {
        for (slot, c) in inline.iter_mut().zip(&options.comments[..options.comment_count]) {
            *slot = c.as_ref();
        }
        &inline[..options.comment_count]
    } else {
        listed = options
            .comments
            .iter()
            .chain(&options.more_comments)
            .map(|c| c.as_ref())
            .collect();
        &listed
    };
    let facts = FrameFacts {
        index: reader.next_index,
        time,
        link_type: Some(iface.link_type),
        data,
        original_len: original,
        comments,
        packet_id: options.packet_id,
        verdict: options.verdict,
        flags: options.flags,
        process_thread: options.process_thread,
        interface_id: Some(iface.file_number),
        interface_component: iface.pktmon_component,
    };
    // The bytes are copied below, when the sink wants them.
    let (mut a, source) = metadata_from_frame(&facts, &reader.out.catalog);
    // The model keeps sizes as the block gave them.
    a.original_size = original;
    let kind = match source {
        MetadataSource::Comment if section.written_by_us || iface.pktmon_component.is_some() => {
            InputKind::PcapngConverter
        }
        MetadataSource::Comment => InputKind::PcapngComments,
        MetadataSource::Options if section.written_by_us || iface.pktmon_component.is_some() => {
            InputKind::PcapngConverter
        }
        MetadataSource::Options if options.packet_id.is_some() && iface.named() => {
            let id = u16::try_from(iface.file_number).ok();
            if let (Some(id), false) = (id, iface.synthesized) {
                iface.synthesized = true;
                reader.emit_component(id, iface);
            }
            InputKind::PcapngEtl2pcapng
        }
        _ => {
            // Neither ours nor etl2pcapng's: a verdict or id alone says nothing of PktMon.
            a = metadata_from_frame(
                &FrameFacts {
                    comments: &[],
                    packet_id: None,
                    verdict: false,
                    interface_component: None,
                    ..facts
                },
                &reader.out.catalog,
            )
            .0;
            a.original_size = original;
            InputKind::PcapngPlain
        }
    };
    reader.raise_kind(kind);
    // A sink that only counts (drops, components) does without the bytes.
    if reader.sink.wants_payloads() {
        a.payload = data.to_vec();
    }
    reader.emit_packet(a);
}

/// Classic pcap: a 24-byte header, then 16-byte record headers and packet bytes.
fn read_pcap(input: &mut Input, reader: &mut Reader<'_>, magic_le: u32) {
    let (order, nanos) = match magic_le {
        PCAP_MICROS_LE => (ByteOrder::Little, false),
        PCAP_NANOS_LE => (ByteOrder::Little, true),
        PCAP_MICROS_BE => (ByteOrder::Big, false),
        _ => (ByteOrder::Big, true),
    };
    let mut header = [0u8; PCAP_HEADER_LEN - 4];
    match input.read_up_to(&mut header) {
        Ok(n) if n == header.len() => {}
        Ok(_) => {
            reader.cut_short(0, "the 24-byte pcap file header");
            return;
        }
        Err(e) => {
            reader.error(input.offset, format!("read error: {e}; reading stopped here"));
            return;
        }
    }
    // After the magic: version (2 × u16), thiszone, sigfigs, snaplen, link type.
    let snaplen = order.u32(&header, 12).unwrap_or(0);
    // The upper bits of the link-type field hold FCS information.
    let link_type = LinkType::from_pcap_linktype(order.u32(&header, 16).unwrap_or(0) & 0xFFFF);
    let limit = snaplen.clamp(PCAP_PLAUSIBLE_RECORD, MAX_BLOCK_LEN);
    let mut data = Vec::new();
    loop {
        let start = input.offset;
        let mut rec = [0u8; PCAP_RECORD_HEADER_LEN];
        let got = match input.read_up_to(&mut rec) {
            Ok(n) => n,
            Err(e) => {
                reader.error(start, format!("read error: {e}; reading stopped here"));
                break;
            }
        };
        if got == 0 {
            break;
        }
        if got < rec.len() {
            reader.cut_short(start, &format!("a record header ({got} of 16 bytes)"));
            break;
        }
        let secs = order.u32(&rec, 0).unwrap_or(0);
        let frac = order.u32(&rec, 4).unwrap_or(0);
        let caplen = order.u32(&rec, 8).unwrap_or(0);
        let original = order.u32(&rec, 12).unwrap_or(0);
        if caplen > limit {
            reader.error(
                start,
                format!(
                    "record at offset {start} has an impossible captured length {caplen} (snaplen {snaplen}); \
                     reading stopped here, the records before it were kept"
                ),
            );
            break;
        }
        let total = PCAP_RECORD_HEADER_LEN as u64 + u64::from(caplen);
        if total > input.left_from(start) {
            reader.cut_short(start, &format!("a record of {total} bytes"));
            break;
        }
        data.clear();
        data.resize(caplen as usize, 0);
        match input.read_up_to(&mut data) {
            Ok(n) if n == data.len() => {}
            Ok(_) => {
                reader.cut_short(start, &format!("a record of {total} bytes"));
                break;
            }
            Err(e) => {
                reader.error(start, format!("read error: {e}; reading stopped here"));
                break;
            }
        }
        let frac_nanos = if nanos {
            i128::from(frac)
        } else {
            i128::from(frac) * 1000
        };
        let time = crate::time::filetime_from_unix_nanos(i128::from(secs) * 1_000_000_000 + frac_nanos);
        let mut a = Appearance::bare(reader.next_index, time, link_type, data.clone(), original);
        a.logged_size = caplen;
        reader.emit_packet(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_resolutions() {
        let mut iface = Interface {
            link_type: LinkType::Ethernet,
            snaplen: 0,
            ts_resolution: 6,
            ts_offset_secs: 0,
            name: None,
            description: None,
            ipv4: Vec::new(),
            ipv6: Vec::new(),
            mac: None,
            pktmon_component: None,
            file_number: 0,
            synthesized: false,
        };
        assert_eq!(iface.unix_nanos(1_500_000), 1_500_000_000);
        iface.ts_resolution = 9;
        assert_eq!(iface.unix_nanos(7), 7);
        iface.ts_resolution = 7;
        assert_eq!(iface.unix_nanos(3), 300);
        iface.ts_resolution = 12;
        assert_eq!(iface.unix_nanos(5_000), 5);
        iface.ts_resolution = 0x80 | 10; // 1/1024 s
        assert_eq!(iface.unix_nanos(1024), 1_000_000_000);
        iface.ts_resolution = 0xFF; // 2^-127: everything rounds to 0, no overflow
        assert_eq!(iface.unix_nanos(u64::MAX), 0);
        iface.ts_resolution = 127; // 10^-127: no overflow either
        assert_eq!(iface.unix_nanos(u64::MAX), 0);
        iface.ts_resolution = 0;
        iface.ts_offset_secs = -1;
        assert_eq!(
            iface.unix_nanos(u64::MAX),
            i128::from(u64::MAX) * 1_000_000_000 - 1_000_000_000
        );
    }

    #[test]
    fn options_stop_at_end_and_report_overruns() {
        let le = ByteOrder::Little;
        // comment "ab" (padded), then endofopt.
        let ok = [1, 0, 2, 0, b'a', b'b', 0, 0, 0, 0, 0, 0];
        assert_eq!(parse_options(&ok, le), Ok(vec![(1u16, &b"ab"[..])]));
        // No endofopt at all (pktmon's ISB): fine.
        assert_eq!(parse_options(&ok[..8], le), Ok(vec![(1u16, &b"ab"[..])]));
        // A length past the end keeps what came before.
        let bad = [1, 0, 2, 0, b'a', b'b', 0, 0, 2, 0, 200, 0, 1];
        assert_eq!(parse_options(&bad, le), Err(vec![(1u16, &b"ab"[..])]));
        let be = [0, 1, 0, 1, b'x', 0, 0, 0];
        assert_eq!(parse_options(&be, ByteOrder::Big), Ok(vec![(1u16, &b"x"[..])]));
    }

    #[test]
    fn only_dropping_verdicts_are_drops() {
        let le = ByteOrder::Little;
        let xdp = |v: u64| [&[2u8][..], &v.to_le_bytes()].concat();
        assert!(verdict_is_drop(&crate::sink::pcapng_blocks::VERDICT_XDP_DROP, le));
        assert!(!verdict_is_drop(&xdp(2), le)); // XDP_PASS
        assert!(verdict_is_drop(&xdp(0), le)); // XDP_ABORTED
        assert!(verdict_is_drop(&[1, 0, 0, 0, 0, 0, 0, 0, 2], ByteOrder::Big)); // TC_ACT_SHOT
        assert!(!verdict_is_drop(&[1, 0, 0, 0, 0, 0, 0, 0, 0], le)); // TC_ACT_OK
        assert!(verdict_is_drop(&[0, 0xAB], le)); // hardware: opaque
        assert!(!verdict_is_drop(&[], le));
    }

    #[test]
    fn build_numbers_from_shb_os() {
        assert_eq!(
            build_from_os("Windows Server 2022 Datacenter (build 20348)"),
            Some(20348)
        );
        assert_eq!(build_from_os("Windows build 26100"), Some(26100));
        assert_eq!(build_from_os("Windows 10 Home"), None);
        assert_eq!(build_from_os("Build: x"), None);
    }
}
