//! One model of PktMon data, whatever it was read from.
//!
//! Every reader (ETL, pcapng, etl2txt text) pushes [`Record`]s into a
//! [`RecordSink`]; [`Capture`] is the sink that keeps them all in memory. Fields a
//! source cannot carry are `None` (a plain `pktmon etl2pcap` file has no component,
//! a etl2pcapng file no drop reason), never a made-up value.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::error::Diagnostics;
use crate::etl::schema::EventSchema;
use crate::pktmon::catalog::Catalog;

/// 100-ns ticks since 1601-01-01 UTC (a Windows FILETIME).
pub type FileTime = i64;

/// FILETIME of 1970-01-01 00:00:00 UTC.
pub const UNIX_EPOCH_FILETIME: FileTime = 116_444_736_000_000_000;

/// What kind of file a capture was read from (detected from content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// PktMon's own `.etl`.
    Etl,
    /// pcapng written by this project's `convert` (comments + packet ids + verdicts).
    PcapngConverter,
    /// pcapng written by microsoft/etl2pcapng ≥ 1.12 (one IDB per component, packet id, verdict).
    PcapngEtl2pcapng,
    /// Some other pcapng whose packet comments carry PktMon lines.
    PcapngComments,
    /// pcapng or pcap without PktMon metadata (for example `pktmon etl2pcap` output).
    PcapngPlain,
    /// Classic pcap (never carries PktMon metadata).
    Pcap,
    /// `pktmon etl2txt` text.
    Text,
    /// `netsh trace convert` text: Microsoft-Windows-TCPIP events, no packets.
    NetshText,
}

impl InputKind {
    pub fn describe(self) -> &'static str {
        match self {
            InputKind::Etl => "PktMon ETL",
            InputKind::PcapngConverter => "pcapng from pktmon-analyzer convert (full PktMon metadata)",
            InputKind::PcapngEtl2pcapng => "pcapng from etl2pcapng (components, packet ids and drop verdicts)",
            InputKind::PcapngComments => "pcapng with PktMon lines in packet comments",
            InputKind::PcapngPlain => "pcapng without PktMon metadata (pktmon etl2pcap output?)",
            InputKind::Pcap => "pcap without PktMon metadata",
            InputKind::Text => "pktmon etl2txt text",
            InputKind::NetshText => "netsh trace text (Microsoft-Windows-TCPIP events, no packets)",
        }
    }

    /// Whether the format carries any per-packet PktMon metadata at all.
    pub fn has_metadata(self) -> bool {
        !matches!(self, InputKind::PcapngPlain | InputKind::Pcap | InputKind::NetshText)
    }
}

/// Facts about the capture as a whole.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaptureInfo {
    pub file: String,
    pub kind: Option<InputKind>,
    /// Windows build number (the ETL's ProviderVersion), e.g. 19042, 26100.
    pub os_build: Option<u32>,
    /// OS name and build lab, e.g. "Windows Server 2022 Datacenter Azure Edition".
    pub os_description: Option<String>,
    pub hardware: Option<String>,
    /// The writing application (pcapng shb_userappl).
    pub application: Option<String>,
    pub start_time: Option<FileTime>,
    pub end_time: Option<FileTime>,
    /// Minutes; local time = UTC − bias (Windows TIME_ZONE_INFORMATION.Bias).
    pub timezone_bias_minutes: Option<i32>,
    /// 1 QPC, 2 system time, 3 CPU cycles.
    pub clock_type: Option<u32>,
    pub perf_freq: Option<i64>,
    pub processors: Option<u32>,
    pub pointer_size: Option<u32>,
    pub logger_name: Option<String>,
    pub log_file_name: Option<String>,
    /// TRACE_LOGFILE_HEADER.EventsLost.
    pub events_lost: u64,
    /// TRACE_LOGFILE_HEADER.BuffersLost.
    pub buffers_lost: u64,
    /// Buffers whose header carries the EVENTS_LOST flag.
    pub buffers_flagged_events_lost: u64,
    /// Buffers whose header carries the BUFFER_LOST flag.
    pub buffers_flagged_lost: u64,
    pub buffers: u64,
    pub compressed_buffers: u64,
}

impl CaptureInfo {
    /// The OS as a user names it. Windows 11 still calls itself "Windows 10"
    /// in the ProductName the ETL records; builds 22000 and later that are not
    /// a server edition are Windows 11.
    pub fn os_name(&self) -> Option<String> {
        let name = self.os_description.as_deref()?;
        Some(match self.os_build {
            Some(b) if b >= 22_000 && name.starts_with("Windows 10") => name.replacen("Windows 10", "Windows 11", 1),
            _ => name.to_string(),
        })
    }
}

/// A typed component property value (events 30–75).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum PropertyValue {
    U32(u32),
    Guid(String),
    NdisMedium(u16),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    Bytes(Vec<u8>),
    Str(String),
    EtherType(u16),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Property {
    /// PKTMON_COMPONENT_PROPERTY_ID (1 IfIndex, 6 PhysAddress, 13 IP Address, …).
    pub id: u16,
    pub value: PropertyValue,
}

/// One networking component PktMon watched (event 20 plus its properties).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Component {
    pub id: u16,
    /// PKTMON_COMPONENT_TYPE (2 Miniport, 3 Filter, 4 Protocol, 11 IP interface, …).
    pub component_type: u16,
    pub name: String,
    pub description: String,
    pub properties: Vec<Property>,
}

impl Component {
    pub fn property(&self, id: u16) -> Option<&PropertyValue> {
        self.properties.iter().find(|p| p.id == id).map(|p| &p.value)
    }
    pub fn mac(&self) -> Option<[u8; 6]> {
        match self.property(6)? {
            PropertyValue::Bytes(b) if b.len() == 6 => Some([b[0], b[1], b[2], b[3], b[4], b[5]]),
            _ => None,
        }
    }
    pub fn ipv4_addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.properties.iter().filter_map(|p| match p.value {
            PropertyValue::Ipv4(a) => Some(a),
            _ => None,
        })
    }
    pub fn ipv6_addresses(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        self.properties.iter().filter_map(|p| match p.value {
            PropertyValue::Ipv6(a) => Some(a),
            _ => None,
        })
    }
    /// The interface index PktMon recorded (IfIndex, else MiniportIfIndex, else IpIfIndex).
    pub fn if_index(&self) -> Option<u32> {
        [1u16, 2, 14].iter().find_map(|id| match self.property(*id) {
            Some(PropertyValue::U32(v)) => Some(*v),
            _ => None,
        })
    }
}

/// Components by id. Event 20 and the property events arrive separately and
/// in any order; this puts them together.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ComponentTable(pub BTreeMap<u16, Component>);

impl ComponentTable {
    pub fn add_component(&mut self, comp: Component) {
        let entry = self.0.entry(comp.id).or_default();
        let props = std::mem::take(&mut entry.properties);
        *entry = comp;
        entry.properties.extend(props);
    }

    pub fn add_property(&mut self, component_id: u16, property: Property) {
        let entry = self.0.entry(component_id).or_insert_with(|| Component {
            id: component_id,
            ..Default::default()
        });
        if !entry.properties.contains(&property) {
            entry.properties.push(property);
        }
    }

    pub fn get(&self, id: u16) -> Option<&Component> {
        self.0.get(&id)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Component> {
        self.0.values()
    }
}

/// Event 80: packets a component dropped, per direction, as counted by PktMon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DropCounters {
    pub component_id: u16,
    pub direction_in: u16,
    pub packets_in: u64,
    pub bytes_in: u64,
    pub direction_out: u16,
    pub packets_out: u64,
    pub bytes_out: u64,
}

/// Event 90: packets that passed one edge of a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowCounters {
    pub component_id: u16,
    pub edge_name: String,
    pub edge_id: u16,
    pub direction_in: u16,
    pub packets_in: u64,
    pub bytes_in: u64,
    pub direction_out: u16,
    pub packets_out: u64,
    pub bytes_out: u64,
}

/// Event 100/110: one `pktmon filter add` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacketFilter {
    pub id: u16,
    pub name: String,
    pub mac1: [u8; 6],
    pub mac2: [u8; 6],
    pub ether_type: u16,
    pub vlan_id: u16,
    pub ip1: std::net::IpAddr,
    pub ip2: std::net::IpAddr,
    pub protocol: u8,
    pub port1: u16,
    pub port2: u16,
    pub tcp_flags: u8,
}

/// How the payload bytes of an appearance are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkType {
    Ethernet,
    Ieee80211,
    RawIp,
    /// HTTP payloads or unknown packet types: no standard link type.
    Other,
}

impl LinkType {
    /// The pcap LINKTYPE_* number.
    pub fn pcap_linktype(self) -> u16 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::Ieee80211 => 105,
            LinkType::RawIp => 101,
            LinkType::Other => 147, // LINKTYPE_USER0
        }
    }

    pub fn from_pcap_linktype(lt: u32) -> LinkType {
        match lt {
            1 => LinkType::Ethernet,
            105 => LinkType::Ieee80211,
            101 | 12 | 14 | 228 | 229 => LinkType::RawIp,
            _ => LinkType::Other,
        }
    }
}

/// Why and where PktMon saw a packet dropped (event 170).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DropInfo {
    /// PKTMON_DROP_REASON, when the source carries the number.
    pub reason: Option<u32>,
    /// The reason text as the source wrote it (from the ETL's own map, or the comment).
    pub reason_text: Option<String>,
    /// PKTMON_DROP_LOCATION (0xE000xxxx).
    pub location: Option<u32>,
}

/// One event 160 (flow) or 170 (drop): a packet seen at one component and edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Appearance {
    /// 0-based index in time order; frame number − 1 in the converted pcapng.
    pub index: u64,
    pub time: FileTime,
    pub cpu: Option<u16>,
    pub process_id: Option<u32>,
    pub thread_id: Option<u32>,
    pub group_id: Option<u64>,
    pub pkt_number: Option<u16>,
    pub appearance: Option<u16>,
    /// PKTMON_DIRECTION_TAG (3 Rx, 4 Tx, …).
    pub direction: Option<u16>,
    /// PKTMON_PACKET_TYPE as logged (1 Ethernet, 2 WiFi, 3 IP, …).
    pub packet_type: Option<u16>,
    pub component_id: Option<u16>,
    pub edge_id: Option<u16>,
    pub filter_id: Option<u16>,
    pub drop: Option<DropInfo>,
    pub original_size: u32,
    pub logged_size: u32,
    /// Link type of `payload`, after sniffing (WiFi-typed frames that are really Ethernet are Ethernet).
    pub link_type: LinkType,
    #[serde(skip)]
    pub payload: Vec<u8>,
}

impl Appearance {
    /// An appearance with no PktMon metadata (a plain pcap frame), to be filled in.
    pub fn bare(index: u64, time: FileTime, link_type: LinkType, payload: Vec<u8>, original_size: u32) -> Appearance {
        Appearance {
            index,
            time,
            cpu: None,
            process_id: None,
            thread_id: None,
            group_id: None,
            pkt_number: None,
            appearance: None,
            direction: None,
            packet_type: None,
            component_id: None,
            edge_id: None,
            filter_id: None,
            drop: None,
            original_size,
            logged_size: payload.len() as u32,
            link_type,
            payload,
        }
    }

    pub fn is_drop(&self) -> bool {
        self.drop.is_some()
    }
}

/// Everything a reader pushes, in the order the source holds it.
#[derive(Debug, Clone)]
pub enum Record {
    Component(Component),
    Property { component_id: u16, property: Property },
    DropCounters(DropCounters),
    FlowCounters(FlowCounters),
    Filter(PacketFilter),
    Packet(Appearance),
}

/// Read-only context that travels with every record: what is known about the
/// capture so far and the value maps to render codes as text.
pub struct Context<'a> {
    pub info: &'a CaptureInfo,
    pub catalog: &'a Catalog,
    /// The file's own event schemas by PktMon event id (ETL only; empty otherwise).
    pub schemas: &'a BTreeMap<u16, EventSchema>,
}

/// Where readers push records. Implemented by [`Capture`] (keep all), by the
/// pcapng and etl2txt writers (stream out), and by counters.
pub trait RecordSink {
    fn record(&mut self, ctx: &Context<'_>, record: Record);

    /// Whether packets need their bytes. A sink that only indexes metadata
    /// says no, and readers that can (the ETL reader) then leave `payload`
    /// empty instead of copying every frame.
    fn wants_payloads(&self) -> bool {
        true
    }
}

impl<F: FnMut(&Context<'_>, Record)> RecordSink for F {
    fn record(&mut self, ctx: &Context<'_>, record: Record) {
        self(ctx, record)
    }
}

/// A whole capture in memory.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    pub info: CaptureInfo,
    pub catalog: Catalog,
    pub components: ComponentTable,
    pub drop_counters: Vec<DropCounters>,
    pub flow_counters: Vec<FlowCounters>,
    pub filters: Vec<PacketFilter>,
    pub appearances: Vec<Appearance>,
    pub diagnostics: Diagnostics,
}

impl Capture {
    pub fn component(&self, id: Option<u16>) -> Option<&Component> {
        self.components.get(id?)
    }

    pub fn drops(&self) -> impl Iterator<Item = &Appearance> {
        self.appearances.iter().filter(|a| a.is_drop())
    }
}

/// Collects records into a [`Capture`]; info and catalog are copied at the end.
#[derive(Default)]
pub struct CaptureBuilder {
    pub capture: Capture,
}

impl RecordSink for CaptureBuilder {
    fn record(&mut self, _ctx: &Context<'_>, record: Record) {
        let c = &mut self.capture;
        match record {
            Record::Component(comp) => c.components.add_component(comp),
            Record::Property { component_id, property } => c.components.add_property(component_id, property),
            Record::DropCounters(d) => c.drop_counters.push(d),
            Record::FlowCounters(f) => c.flow_counters.push(f),
            Record::Filter(f) => c.filters.push(f),
            Record::Packet(a) => c.appearances.push(a),
        }
    }
}
