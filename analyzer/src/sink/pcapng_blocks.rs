//! Minimal pcapng block writer (little-endian). Written by hand rather than
//! with pcap-file 2.0 because we need if_tsresol = 7 (100-ns ETL precision;
//! pcap-file 2.0 always writes nanoseconds), epb_packetid and epb_verdict,
//! several comments per packet, and exact control of option order.

use std::io::{self, Write};

pub const OPT_ENDOFOPT: u16 = 0;
pub const OPT_COMMENT: u16 = 1;
pub const SHB_HARDWARE: u16 = 2;
pub const SHB_OS: u16 = 3;
pub const SHB_USERAPPL: u16 = 4;
pub const IF_NAME: u16 = 2;
pub const IF_DESCRIPTION: u16 = 3;
pub const IF_IPV4ADDR: u16 = 4;
pub const IF_IPV6ADDR: u16 = 5;
pub const IF_MACADDR: u16 = 6;
pub const IF_TSRESOL: u16 = 9;
pub const EPB_FLAGS: u16 = 2;
pub const EPB_PACKETID: u16 = 5;
pub const EPB_VERDICT: u16 = 7;

/// Verdict type 2 = eBPF XDP, value 1 = XDP_DROP: what etl2pcapng writes for drops.
pub const VERDICT_XDP_DROP: [u8; 9] = [2, 1, 0, 0, 0, 0, 0, 0, 0];

/// Options of one block, encoded as they are added.
#[derive(Default)]
pub struct Options {
    bytes: Vec<u8>,
}

impl Options {
    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    pub fn add(&mut self, code: u16, value: &[u8]) -> &mut Self {
        // Option values are limited to u16 lengths; longer ones are cut.
        let value = &value[..value.len().min(0xFFF8)];
        self.bytes.extend_from_slice(&code.to_le_bytes());
        self.bytes.extend_from_slice(&(value.len() as u16).to_le_bytes());
        self.bytes.extend_from_slice(value);
        let pad = (4 - value.len() % 4) % 4;
        self.bytes.extend_from_slice(&[0u8; 3][..pad]);
        self
    }
    pub fn add_str(&mut self, code: u16, value: &str) -> &mut Self {
        if value.is_empty() {
            return self;
        }
        self.add(code, value.as_bytes())
    }
    /// Encoded length, with the end-of-options marker when there are options.
    fn encoded_len(&self) -> usize {
        if self.bytes.is_empty() {
            0
        } else {
            self.bytes.len() + 4
        }
    }

    fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        if !self.bytes.is_empty() {
            w.write_all(&self.bytes)?;
            w.write_all(&[0, 0, 0, 0])?;
        }
        Ok(())
    }
}

/// A block from its fixed fields and data, written piece by piece into `w`
/// (a buffered writer): the packet bytes are copied once, into its buffer.
fn write_block(w: &mut impl Write, block_type: u32, fixed: &[u8], data: &[u8], options: &Options) -> io::Result<usize> {
    let body = fixed.len() + data.len();
    let pad = (4 - body % 4) % 4;
    let total = 12 + body + pad + options.encoded_len();
    let total_bytes = (total as u32).to_le_bytes();
    w.write_all(&block_type.to_le_bytes())?;
    w.write_all(&total_bytes)?;
    w.write_all(fixed)?;
    w.write_all(data)?;
    w.write_all(&[0u8; 3][..pad])?;
    options.write_to(w)?;
    w.write_all(&total_bytes)?;
    Ok(total)
}

/// Section Header Block.
pub fn write_shb(w: &mut impl Write, options: &Options) -> io::Result<usize> {
    let mut fixed = [0u8; 16];
    fixed[0..4].copy_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    fixed[4..6].copy_from_slice(&1u16.to_le_bytes());
    fixed[8..16].copy_from_slice(&(-1i64).to_le_bytes());
    write_block(w, 0x0A0D_0D0A, &fixed, &[], options)
}

/// Interface Description Block.
pub fn write_idb(w: &mut impl Write, linktype: u16, snaplen: u32, options: &Options) -> io::Result<usize> {
    let mut fixed = [0u8; 8];
    fixed[0..2].copy_from_slice(&linktype.to_le_bytes());
    fixed[4..8].copy_from_slice(&snaplen.to_le_bytes());
    write_block(w, 1, &fixed, &[], options)
}

/// Enhanced Packet Block; `timestamp` in the interface's if_tsresol units.
pub fn write_epb(
    w: &mut impl Write,
    interface: u32,
    timestamp: u64,
    original_len: u32,
    data: &[u8],
    options: &Options,
) -> io::Result<usize> {
    let mut fixed = [0u8; 20];
    fixed[0..4].copy_from_slice(&interface.to_le_bytes());
    fixed[4..8].copy_from_slice(&((timestamp >> 32) as u32).to_le_bytes());
    fixed[8..12].copy_from_slice(&(timestamp as u32).to_le_bytes());
    fixed[12..16].copy_from_slice(&(data.len() as u32).to_le_bytes());
    fixed[16..20].copy_from_slice(&original_len.max(data.len() as u32).to_le_bytes());
    write_block(w, 6, &fixed, data, options)
}

/// Interfaces of a written pcapng: one per (component, link type), numbered
/// in order of first use.
#[derive(Debug, Default)]
pub struct InterfaceTable {
    list: Vec<(Option<u16>, crate::model::LinkType)>,
    index: rustc_hash::FxHashMap<(Option<u16>, crate::model::LinkType), u32>,
}

impl InterfaceTable {
    /// The interface of a (component, link type), added if new.
    pub fn id(&mut self, component: Option<u16>, link: crate::model::LinkType) -> u32 {
        // A capture has a handful of interfaces: a scan beats hashing (asked once per packet).
        if self.list.len() <= 16 {
            if let Some(i) = self.list.iter().position(|&k| k == (component, link)) {
                return i as u32;
            }
        }
        let next = self.list.len() as u32;
        *self.index.entry((component, link)).or_insert_with(|| {
            self.list.push((component, link));
            next
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &(Option<u16>, crate::model::LinkType)> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// IDB options describing a PktMon component as etl2pcapng does: name,
/// description, addresses (/32 and /128) and MAC.
pub fn component_idb_options(c: &crate::model::Component) -> Options {
    let mut o = Options::default();
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
    o
}
