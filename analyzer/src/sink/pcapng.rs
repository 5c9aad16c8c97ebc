//! ETL (or any source) → pcapng that keeps every bit of PktMon metadata.
//!
//! Layout: an SHB with the capturing OS; one IDB per (component, link type)
//! in order of first use, `if_name` = component name, `if_description` = its
//! description, addresses and MAC from the component's properties,
//! `if_tsresol` = 7 (100 ns, the ETL's precision); one EPB per packet or drop
//! event in time order with `epb_packetid` = PktGroupId, `epb_verdict` =
//! eBPF-XDP drop on drops (as etl2pcapng writes them), `epb_flags` inbound/outbound
//! from the direction tag, and a comment holding the event's line exactly as
//! `pktmon etl2txt` prints it in English. Drops carry a second comment
//! `DropReasonCode <n>` with the numeric PKTMON_DROP_REASON.
//!
//! Component names arrive at the end of a PktMon ETL (rundown). When the
//! input can be read twice (a file), a first read ([`Prescan`]) learns the
//! components and the interfaces, the header blocks go first and packets
//! straight after them. Otherwise (a stream, like the generator's) packets go
//! to a temporary file and the header blocks are written once everything is
//! known. Both give the same bytes; memory stays bounded by the component table.

use std::io::{self, Write};
use std::path::Path;

use super::atomic::{AtomicFile, DeferredHeaderFile};
use super::pcapng_blocks::*;
use crate::model::*;
use crate::pktmon::events::{dot11_decrypted_but_protected, DOT11_PROTECTED};
use crate::pktmon::text;

/// Converter options.
#[derive(Debug, Clone, Copy)]
pub struct ConvertOptions {
    /// Write `epb_verdict` on drops. Wireshark 4.0 cannot re-save files with
    /// it (its writer mangles the option), so users of 4.0 may turn it off.
    pub verdict: bool,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions { verdict: true }
    }
}

/// What a conversion wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConvertSummary {
    pub frames: u64,
    pub drops: u64,
    pub interfaces: u64,
}

/// What a first read of the input tells the converter: its components and
/// the interfaces its packets will need, in order of first use.
#[derive(Default)]
pub struct Prescan {
    interfaces: InterfaceTable,
    components: ComponentTable,
}

impl RecordSink for Prescan {
    fn record(&mut self, _ctx: &Context<'_>, record: Record) {
        match record {
            Record::Packet(a) => {
                self.interfaces.id(a.component_id, a.link_type);
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

enum Output {
    /// Header known: blocks go straight to the target.
    Direct { file: AtomicFile, idbs_written: usize },
    /// Header known at the end: packets wait in a temporary file.
    Deferred(DeferredHeaderFile),
}

/// A [`RecordSink`] that writes a pcapng file.
pub struct PcapngConverter {
    options: ConvertOptions,
    out: Output,
    interfaces: InterfaceTable,
    components: ComponentTable,
    summary: ConvertSummary,
    error: Option<io::Error>,
    line: String,
    options_buf: Options,
    /// Write 802.11 frames exactly as PktMon logged them (see [`PcapngConverter::raw_80211`]).
    raw_80211: bool,
    frame_buf: Vec<u8>,
}

/// Direction tag → epb_flags inbound (1) / outbound (2).
pub fn epb_direction_flags(direction: Option<u16>) -> u32 {
    match direction {
        Some(1) | Some(3) | Some(5) => 1,
        Some(2) | Some(4) | Some(6) => 2,
        _ => 0,
    }
}

/// What `convert` writes in an appearance's packet block besides its
/// interface, bytes and etl2txt comment line (rendered by
/// [`text::render_message_into`]): one model for the pcapng writer and the
/// Wireshark plugin's ETL reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpbFields {
    /// Unix time in 100 ns units (the interfaces' if_tsresol 7).
    pub timestamp: u64,
    /// `DropReasonCode <n>`, the second comment of a drop with a reason code.
    pub drop_code_comment: Option<String>,
    /// epb_flags (direction); 0 when unknown.
    pub flags: u32,
    /// epb_packetid: the PktGroupId.
    pub packet_id: Option<u64>,
    /// epb_verdict eBPF-XDP drop.
    pub verdict_drop: bool,
}

impl EpbFields {
    pub fn of(a: &Appearance, options: ConvertOptions) -> EpbFields {
        EpbFields {
            timestamp: crate::time::unix_ticks_100ns(a.time).max(0) as u64,
            drop_code_comment: a
                .drop
                .as_ref()
                .and_then(|d| d.reason)
                .map(|code| format!("DropReasonCode {code}")),
            flags: epb_direction_flags(a.direction),
            packet_id: a.group_id,
            verdict_drop: a.is_drop() && options.verdict,
        }
    }
}

/// Whether the frame is written with its 802.11 Protected bit cleared (a data
/// frame the driver had already decrypted), unless `raw_80211`.
pub fn clears_protected_bit(a: &Appearance, raw_80211: bool) -> bool {
    !raw_80211 && a.link_type == LinkType::Ieee80211 && dot11_decrypted_but_protected(&a.payload)
}

/// An interface as `convert` describes it: one per (component, link type),
/// named and addressed from the component table, "component N" when the
/// component is unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceParts {
    pub linktype: u16,
    pub name: Option<String>,
    pub description: Option<String>,
    pub comment: Option<String>,
}

impl InterfaceParts {
    pub fn of(component: Option<u16>, link: LinkType, components: &ComponentTable) -> InterfaceParts {
        let mut parts = InterfaceParts {
            linktype: link.pcap_linktype(),
            ..Default::default()
        };
        match component.and_then(|c| components.get(c)) {
            Some(c) => {
                parts.name = Some(c.name.clone()).filter(|s| !s.is_empty());
                parts.description = Some(c.description.clone()).filter(|s| !s.is_empty());
                parts.comment = Some(format!("PktMon component {}", c.id));
            }
            None => {
                if let Some(id) = component {
                    parts.name = Some(format!("component {id}"));
                    parts.comment = Some(format!("PktMon component {id}"));
                }
            }
        }
        parts
    }
}

/// The section header's OS option as `convert` writes it.
pub fn shb_os(info: &CaptureInfo) -> Option<String> {
    match (&info.os_description, info.os_build) {
        (Some(d), Some(b)) if !d.contains(&b.to_string()) => Some(format!("{d} (build {b})")),
        (Some(d), _) => Some(d.clone()),
        (None, Some(b)) => Some(format!("Windows build {b}")),
        (None, None) => None,
    }
}

/// The section header's application option as `convert` writes it.
pub const SHB_APPLICATION: &str = concat!("pktmon-analyzer ", env!("CARGO_PKG_VERSION"));

impl PcapngConverter {
    /// A converter for a stream of records: the header is written at the end.
    pub fn new(target: &Path, options: ConvertOptions) -> io::Result<PcapngConverter> {
        Ok(PcapngConverter {
            options,
            out: Output::Deferred(DeferredHeaderFile::create(target)?),
            interfaces: InterfaceTable::default(),
            components: ComponentTable::default(),
            summary: ConvertSummary::default(),
            error: None,
            line: String::with_capacity(256),
            options_buf: Options::default(),
            raw_80211: false,
            frame_buf: Vec::new(),
        })
    }

    /// Whether 802.11 frames are written exactly as PktMon logged them. By
    /// default a data frame the driver had already decrypted (its body starts
    /// with LLC/SNAP) is written with its Protected bit cleared, so Wireshark
    /// decodes its body instead of showing encrypted data; `true` keeps
    /// PktMon's bytes (`convert --raw-80211`).
    pub fn raw_80211(mut self, raw: bool) -> Self {
        self.raw_80211 = raw;
        self
    }

    /// A converter for an input read once already (`prescan` and `info` from
    /// that read): header blocks first, packets written once, straight into
    /// the target.
    pub fn with_prescan(
        target: &Path,
        options: ConvertOptions,
        prescan: Prescan,
        info: &CaptureInfo,
    ) -> io::Result<PcapngConverter> {
        let mut file = AtomicFile::create(target)?;
        write_header(file.writer(), info, &prescan.interfaces, &prescan.components)?;
        Ok(PcapngConverter {
            options,
            out: Output::Direct {
                file,
                idbs_written: prescan.interfaces.len(),
            },
            interfaces: prescan.interfaces,
            components: prescan.components,
            summary: ConvertSummary::default(),
            error: None,
            line: String::with_capacity(256),
            options_buf: Options::default(),
            raw_80211: false,
            frame_buf: Vec::new(),
        })
    }

    fn write_packet(&mut self, ctx: &Context<'_>, a: &Appearance) -> io::Result<()> {
        let iface = self.interfaces.id(a.component_id, a.link_type);
        let body: &mut super::background::BackgroundWriter = match &mut self.out {
            Output::Direct { file, idbs_written } => {
                // An interface the first read did not see (the input changed
                // between the reads): pcapng allows its IDB here, before its first packet.
                while *idbs_written <= iface as usize {
                    let (component, link) = self
                        .interfaces
                        .iter()
                        .nth(*idbs_written)
                        .copied()
                        .unwrap_or((None, LinkType::Other));
                    write_interface(file.writer(), component, link, &self.components)?;
                    *idbs_written += 1;
                }
                file.writer()
            }
            Output::Deferred(d) => d.body(),
        };
        // One line buffer and one option buffer for every packet.
        let (line, opts) = (&mut self.line, &mut self.options_buf);
        line.clear();
        opts.clear();
        text::render_message_into(line, a, ctx.catalog, None);
        opts.add_str(OPT_COMMENT, line);
        let epb = EpbFields::of(a, self.options);
        if let Some(code) = &epb.drop_code_comment {
            opts.add_str(OPT_COMMENT, code);
        }
        if epb.flags != 0 {
            opts.add(EPB_FLAGS, &epb.flags.to_le_bytes());
        }
        if let Some(g) = epb.packet_id {
            opts.add(EPB_PACKETID, &g.to_le_bytes());
        }
        if epb.verdict_drop {
            opts.add(EPB_VERDICT, &VERDICT_XDP_DROP);
        }
        let ts = epb.timestamp;
        let mut data: &[u8] = &a.payload;
        if clears_protected_bit(a, self.raw_80211) {
            self.frame_buf.clear();
            self.frame_buf.extend_from_slice(data);
            self.frame_buf[1] &= !DOT11_PROTECTED;
            data = &self.frame_buf;
        }
        write_epb(body, iface, ts, a.original_size, data, opts)?;
        self.summary.frames += 1;
        if a.is_drop() {
            self.summary.drops += 1;
        }
        Ok(())
    }

    /// Writes the header blocks and the packets into the target, atomically.
    pub fn finish(mut self, info: &CaptureInfo) -> io::Result<ConvertSummary> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let (interfaces, components) = (&self.interfaces, &self.components);
        match self.out {
            Output::Direct { file, .. } => file.commit()?,
            Output::Deferred(d) => d.finish(|w| write_header(w, info, interfaces, components))?,
        }
        self.summary.interfaces = self.interfaces.len() as u64;
        Ok(self.summary.clone())
    }
}

/// The SHB (capturing OS and hardware) and an IDB per interface.
fn write_header(
    mut w: &mut dyn Write,
    info: &CaptureInfo,
    interfaces: &InterfaceTable,
    components: &ComponentTable,
) -> io::Result<()> {
    let mut shb = Options::default();
    if let Some(hw) = &info.hardware {
        shb.add_str(SHB_HARDWARE, hw);
    }
    if let Some(os) = shb_os(info) {
        shb.add_str(SHB_OS, &os);
    }
    shb.add_str(SHB_USERAPPL, SHB_APPLICATION);
    write_shb(&mut w, &shb)?;
    for &(component, link) in interfaces.iter() {
        write_interface(w, component, link, components)?;
    }
    Ok(())
}

/// The IDB of a (component, link type): named and addressed from the
/// component table, "component N" when the component is unknown.
fn write_interface(
    mut w: &mut dyn Write,
    component: Option<u16>,
    link: LinkType,
    components: &ComponentTable,
) -> io::Result<()> {
    let mut o = match component.and_then(|c| components.get(c)) {
        Some(c) => {
            let mut o = component_idb_options(c);
            o.add_str(OPT_COMMENT, &format!("PktMon component {}", c.id));
            o
        }
        None => {
            let mut o = Options::default();
            if let Some(id) = component {
                o.add_str(IF_NAME, &format!("component {id}"));
                o.add_str(OPT_COMMENT, &format!("PktMon component {id}"));
            }
            o
        }
    };
    o.add(IF_TSRESOL, &[7]);
    write_idb(&mut w, link.pcap_linktype(), 0, &o).map(drop)
}

impl RecordSink for PcapngConverter {
    fn record(&mut self, ctx: &Context<'_>, record: Record) {
        match record {
            Record::Packet(a) if self.error.is_none() => {
                if let Err(e) = self.write_packet(ctx, &a) {
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
    use crate::pktmon::events::link_type_for;

    /// A Wi-Fi null-data frame (FC 48 02: 24 bytes, no body) and a data frame
    /// the driver decrypted but left marked Protected (FC 08 42, LLC/SNAP
    /// body), as PktMon logs them typed WiFi.
    fn wifi_frames() -> Vec<Vec<u8>> {
        let mut null = vec![0x48, 0x02, 0x2c, 0x00];
        null.extend_from_slice(&[0x90, 0xa5, 0xaf, 0x5a, 0x29, 0x05, 0x34, 0xf7, 0x16, 0x95, 0x71, 0xea]);
        null.extend_from_slice(&[0x90, 0xa5, 0xaf, 0x5a, 0x29, 0x05, 0x40, 0xb2]);
        let mut data = vec![0x08, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        data.extend_from_slice(&[
            0x34, 0xf7, 0x16, 0x95, 0x71, 0xea, 0x90, 0xa5, 0xaf, 0x5a, 0x29, 0x05, 0x80, 0xb2,
        ]);
        data.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        data.extend_from_slice(&[0x45, 0, 0, 20, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        vec![null, data]
    }

    fn convert(raw: bool) -> crate::model::Capture {
        let dir = std::env::temp_dir().join(format!("pktmon-wifi-{}-{raw}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("wifi.pcapng");
        let info = CaptureInfo::default();
        let catalog = crate::pktmon::catalog::Catalog::builtin(None);
        let schemas = Default::default();
        let ctx = Context {
            info: &info,
            catalog: &catalog,
            schemas: &schemas,
        };
        let mut conv = PcapngConverter::new(&out, ConvertOptions::default())
            .unwrap()
            .raw_80211(raw);
        for (i, payload) in wifi_frames().into_iter().enumerate() {
            let link = link_type_for(2, &payload);
            let size = payload.len() as u32;
            let mut a = Appearance::bare(i as u64, 133_000_000_000_000_000 + i as i64, link, payload, size);
            a.group_id = Some(100 + i as u64);
            a.pkt_number = Some(1);
            a.appearance = Some(0);
            a.direction = Some(1);
            a.packet_type = Some(2);
            a.component_id = Some(12);
            a.logged_size = size;
            conv.record(&ctx, Record::Packet(a));
        }
        conv.finish(&info).unwrap();
        let capture = crate::source::read_capture(&out).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        capture
    }

    #[test]
    fn wifi_frames_are_written_as_80211_and_decrypted_ones_lose_the_protected_bit() {
        let frames = wifi_frames();
        let c = convert(false);
        assert_eq!(c.appearances.len(), 2);
        assert!(c.appearances.iter().all(|a| a.link_type == LinkType::Ieee80211));
        assert_eq!(c.appearances[0].payload, frames[0], "null data unchanged");
        let data = &c.appearances[1].payload;
        assert_eq!(data[1], 0x02, "Protected bit cleared, FromDS kept");
        assert_eq!(data[2..], frames[1][2..], "nothing else changes");
        // --raw-80211 keeps PktMon's bytes.
        let raw = convert(true);
        assert_eq!(raw.appearances[1].payload, frames[1]);
        assert!(raw.appearances.iter().all(|a| a.link_type == LinkType::Ieee80211));
    }
}
