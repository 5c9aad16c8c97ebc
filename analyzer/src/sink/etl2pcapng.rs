//! pcapng as microsoft/etl2pcapng 1.12 writes it from a PktMon ETL (the
//! mapping of its `src/main.c`, PR #79, as recorded in
//! `shared/docs/pktmon-capture-formats-and-drop-reasons.md` §1.5), for tests
//! and scenario generators: the third pcapng flavour the readers take.
//!
//! * a section header without options;
//! * one IDB per (component, link type) used by a packet, in order of first
//!   use, all before the first packet (etl2pcapng reads the ETL twice):
//!   link type from the packet type (Ethernet 1, 802.11 105, raw IP 101;
//!   other packet types are skipped, as etl2pcapng says "Unknown Pktmon
//!   packet type"), snap length 65535, `if_name` = component name,
//!   `if_description` = its description, `if_IPv4addr` with mask
//!   255.255.255.255, `if_IPv6addr` with prefix 128, `if_MACaddr`. No
//!   `if_tsresol`: timestamps are microseconds since 1970
//!   (`FILETIME / 10 − 11644473600000000`, truncated). The original
//!   component id is not kept anywhere;
//! * one EPB per event 160/170, options in this order: `epb_flags` = 1
//!   (**inbound, always**: etl2pcapng derives the direction from an
//!   ndiscap keyword PktMon events never carry, so every PktMon packet is
//!   marked inbound — written here the same way on purpose), `epb_packetid`
//!   = PktGroupId, `epb_verdict` = eBPF-XDP DROP on drops only, and option 8
//!   (`epb_processid_threadid`: process id, thread id as two u32). No comments.
//!   Captured length = LoggedSize; packet length = OriginalSize (etl2pcapng
//!   has both in the event).
//!
//! Component names arrive at the end of an ETL, so packets are streamed to a
//! temporary file and the header blocks written once everything is known.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter};
use std::path::{Path, PathBuf};

use super::atomic::AtomicFile;
use super::pcapng_blocks::*;
use crate::model::*;

/// `epb_processid_threadid`.
pub const EPB_PROCESSID_THREADID: u16 = 8;
/// etl2pcapng's IDB snap length.
pub const SNAPLEN: u32 = 65_535;
/// 1970-01-01 in microseconds since 1601.
const UNIX_EPOCH_MICROS: i64 = 11_644_473_600_000_000;

/// What a conversion wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Etl2PcapngSummary {
    pub frames: u64,
    pub drops: u64,
    pub interfaces: u64,
    /// Events of packet types etl2pcapng does not convert.
    pub skipped: u64,
}

/// A [`RecordSink`] that writes etl2pcapng-style pcapng.
pub struct Etl2PcapngWriter {
    target: PathBuf,
    epb_path: PathBuf,
    epbs: Option<BufWriter<File>>,
    interfaces: Vec<(Option<u16>, LinkType)>,
    interface_index: HashMap<(Option<u16>, LinkType), u32>,
    components: ComponentTable,
    summary: Etl2PcapngSummary,
    error: Option<io::Error>,
}

/// etl2pcapng's timestamp of an event: microseconds since 1970, truncated.
pub fn micros_since_1970(time: FileTime) -> u64 {
    (time / 10 - UNIX_EPOCH_MICROS).max(0) as u64
}

impl Etl2PcapngWriter {
    pub fn new(target: &Path) -> io::Result<Etl2PcapngWriter> {
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let epb_path = dir.join(format!(".{}.{}.epb", name, std::process::id()));
        let epbs = BufWriter::with_capacity(1 << 20, File::create(&epb_path)?);
        Ok(Etl2PcapngWriter {
            target: target.to_path_buf(),
            epb_path,
            epbs: Some(epbs),
            interfaces: Vec::new(),
            interface_index: HashMap::new(),
            components: ComponentTable::default(),
            summary: Etl2PcapngSummary::default(),
            error: None,
        })
    }

    fn write_packet(&mut self, a: &Appearance) -> io::Result<()> {
        if a.link_type == LinkType::Other {
            self.summary.skipped += 1;
            return Ok(());
        }
        let key = (a.component_id, a.link_type);
        let next = self.interfaces.len() as u32;
        let iface = *self.interface_index.entry(key).or_insert_with(|| {
            self.interfaces.push(key);
            next
        });
        let mut opts = Options::default();
        opts.add(EPB_FLAGS, &1u32.to_le_bytes());
        opts.add(EPB_PACKETID, &a.group_id.unwrap_or(0).to_le_bytes());
        if a.is_drop() {
            opts.add(EPB_VERDICT, &VERDICT_XDP_DROP);
        }
        let mut pt = [0u8; 8];
        pt[..4].copy_from_slice(&a.process_id.unwrap_or(0).to_le_bytes());
        pt[4..].copy_from_slice(&a.thread_id.unwrap_or(0).to_le_bytes());
        opts.add(EPB_PROCESSID_THREADID, &pt);
        let w = self.epbs.as_mut().expect("open until finish");
        write_epb(w, iface, micros_since_1970(a.time), a.original_size, &a.payload, &opts)?;
        self.summary.frames += 1;
        if a.is_drop() {
            self.summary.drops += 1;
        }
        Ok(())
    }

    /// Writes the section header, the interfaces and the packets into the target, atomically.
    pub fn finish(mut self) -> io::Result<Etl2PcapngSummary> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let epbs = self.epbs.take().expect("open until finish");
        epbs.into_inner().map_err(|e| e.into_error())?;
        let mut out = AtomicFile::create(&self.target)?;
        write_shb(out.writer(), &Options::default())?;
        for (component, link) in &self.interfaces {
            let mut o = Options::default();
            if let Some(c) = component.and_then(|c| self.components.get(c)) {
                o.add_str(IF_NAME, &c.name);
                o.add_str(IF_DESCRIPTION, &c.description);
                for a in c.ipv4_addresses() {
                    let mut v = a.octets().to_vec();
                    v.extend_from_slice(&[255, 255, 255, 255]);
                    o.add(IF_IPV4ADDR, &v);
                }
                for a in c.ipv6_addresses() {
                    let mut v = a.octets().to_vec();
                    v.push(128);
                    o.add(IF_IPV6ADDR, &v);
                }
                if let Some(mac) = c.mac() {
                    o.add(IF_MACADDR, &mac);
                }
            }
            write_idb(out.writer(), link.pcap_linktype(), SNAPLEN, &o)?;
        }
        let mut packets = BufReader::with_capacity(1 << 20, File::open(&self.epb_path)?);
        io::copy(&mut packets, out.writer())?;
        out.commit()?;
        let _ = std::fs::remove_file(&self.epb_path);
        self.summary.interfaces = self.interfaces.len() as u64;
        Ok(self.summary.clone())
    }
}

impl Drop for Etl2PcapngWriter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.epb_path);
    }
}

impl RecordSink for Etl2PcapngWriter {
    fn record(&mut self, _ctx: &Context<'_>, record: Record) {
        match record {
            Record::Packet(a) if self.error.is_none() => {
                if let Err(e) = self.write_packet(&a) {
                    self.error = Some(e);
                }
            }
            Record::Component(c) => self.components.add_component(c),
            Record::Property { component_id, property } => self.components.add_property(component_id, property),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_microseconds_since_1970() {
        assert_eq!(micros_since_1970(UNIX_EPOCH_FILETIME), 0);
        assert_eq!(micros_since_1970(UNIX_EPOCH_FILETIME + 19), 1);
        assert_eq!(micros_since_1970(UNIX_EPOCH_FILETIME + 10_000_000), 1_000_000);
    }
}
