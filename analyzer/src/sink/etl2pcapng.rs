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

use std::io;
use std::path::Path;

use super::atomic::DeferredHeaderFile;
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
    out: DeferredHeaderFile,
    interfaces: InterfaceTable,
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
        Ok(Etl2PcapngWriter {
            out: DeferredHeaderFile::create(target)?,
            interfaces: InterfaceTable::default(),
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
        let iface = self.interfaces.id(a.component_id, a.link_type);
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
        write_epb(
            self.out.body(),
            iface,
            micros_since_1970(a.time),
            a.original_size,
            &a.payload,
            &opts,
        )?;
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
        let (interfaces, components) = (&self.interfaces, &self.components);
        self.out.finish(|mut w| {
            write_shb(&mut w, &Options::default())?;
            for (component, link) in interfaces.iter() {
                let o = component
                    .and_then(|c| components.get(c))
                    .map(component_idb_options)
                    .unwrap_or_default();
                write_idb(&mut w, link.pcap_linktype(), SNAPLEN, &o)?;
            }
            Ok(())
        })?;
        self.summary.interfaces = self.interfaces.len() as u64;
        Ok(self.summary.clone())
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
