//! The PktMon value catalog: the texts of direction, packet type, component
//! type, property type, drop reason (and a few more) codes, the names of drop
//! locations, and the drop categories the analyzer reports.
//!
//! One catalog serves the analyzer CLI and the Wireshark plugin, so a code is
//! rendered the same way everywhere.
//!
//! # Where the texts come from
//!
//! A PktMon ETL carries its own value maps (`EVENT_MAP_INFO` in the event
//! metadata). Those are authoritative for that file and replace the built-in
//! ones through [`Catalog::set_map`]. The built-in tables are the fallback for
//! inputs without maps (etl2txt text, pcapng comments, ETLs without metadata):
//!
//! * `tables/dropreason_<build>.txt`: the `DropReason` maps of PktMon.sys on
//!   builds 19042, 20348, 26100 and 26200, one `   <code>\t<text>` line per
//!   entry after a `MAP DropReason flag=1 entries=N` header. They are embedded
//!   with `include_str!` and parsed once, on first use.
//! * `tables/drop_locations.txt`: the 612 `PKTMON_DROP_LOCATION` values as
//!   published by Microsoft (learn.microsoft.com,
//!   `PacketMonitorCreateRealtimeStream`, ms.date 07/05/2024), one
//!   `0xE000xxxx PMLOC_NAME` line each, grouped under `# Module` lines.
//! * The small maps (direction, packet type, component type, property type,
//!   NDIS medium, EtherType) are short enough to live in this file.
//!
//! # Trailing spaces
//!
//! ETL map strings end in one space (`"Tx "`, `"Ethernet "`); that is why
//! etl2txt prints `Direction Tx , Type Ethernet ,`. The built-in small maps keep
//! that space so rendered text matches etl2txt byte for byte. The drop-reason
//! table files, however, have **no** trailing spaces (checked with `cat -A`:
//! every line is exactly three spaces, the code, a tab and the text), although
//! the one verbatim etl2txt drop line on record
//! (`DropReason INET: transport endpoint was not found , DropLocation …`)
//! shows that the maps inside real ETLs carry the space there too. The texts
//! are kept exactly as the files have them; compare texts with `trim()` (as
//! [`Catalog::code_for_text`] does), and add the space when imitating etl2txt.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Canonical name of the drop-reason map (`PKTMON_DROP_REASON`, event field `DropReason`).
pub const MAP_DROP_REASON: &str = "DropReason";
/// Canonical name of the direction-tag map (`PKTMON_DIRECTION_TAG`, event field `DirTag`).
///
/// This is the name the PktMon manifest gives the map; `"Direction"` and
/// `"DirTag"` are accepted as aliases (see [`canonical_map_name`]).
pub const MAP_DIRECTION: &str = "PacketDirectionTag";
/// Canonical name of the packet-type map (`PKTMON_PACKET_TYPE`).
pub const MAP_PACKET_TYPE: &str = "PacketType";
/// Canonical name of the component-type map (`PKTMON_COMPONENT_TYPE`, event 20 `Type`).
pub const MAP_COMPONENT_TYPE: &str = "ComponentType";
/// Canonical name of the component-property map (`PKTMON_COMPONENT_PROPERTY_ID`, events 30–75 `Type`).
pub const MAP_PROPERTY_TYPE: &str = "PropertyType";
/// Canonical name of the NDIS medium map (value of property 5, `NdisMedium`).
pub const MAP_NDIS_MEDIUM: &str = "NdisMedium";
/// Canonical name of the EtherType map (value of property 7, event 75).
pub const MAP_ETHER_TYPE: &str = "EtherType";

/// Map names accepted in place of the canonical ones, compared ASCII case-insensitively.
///
/// The first column is what a file or a caller may say, the second where the
/// catalog stores it. Besides the manifest names this accepts the event field
/// names (`DirTag`, `PropType`) and the C enum names of the public headers.
const MAP_ALIASES: &[(&str, &str)] = &[
    (MAP_DROP_REASON, MAP_DROP_REASON),
    ("PKTMON_DROP_REASON", MAP_DROP_REASON),
    (MAP_DIRECTION, MAP_DIRECTION),
    ("Direction", MAP_DIRECTION),
    ("DirectionTag", MAP_DIRECTION),
    ("DirTag", MAP_DIRECTION),
    ("PKTMON_DIRECTION_TAG", MAP_DIRECTION),
    (MAP_PACKET_TYPE, MAP_PACKET_TYPE),
    ("PKTMON_PACKET_TYPE", MAP_PACKET_TYPE),
    (MAP_COMPONENT_TYPE, MAP_COMPONENT_TYPE),
    ("PKTMON_COMPONENT_TYPE", MAP_COMPONENT_TYPE),
    (MAP_PROPERTY_TYPE, MAP_PROPERTY_TYPE),
    ("PropType", MAP_PROPERTY_TYPE),
    ("PKTMON_COMPONENT_PROPERTY_ID", MAP_PROPERTY_TYPE),
    (MAP_NDIS_MEDIUM, MAP_NDIS_MEDIUM),
    (MAP_ETHER_TYPE, MAP_ETHER_TYPE),
];

/// The key under which the catalog stores a map called `name`.
///
/// Known names and aliases (ASCII case-insensitive, e.g. `"Direction"`,
/// `"PacketDirectionTag"`, `"dirtag"`) give the `MAP_*` constant; any other
/// name is returned unchanged, so maps the catalog has no special knowledge of
/// (say `IPProtocol` or `TCPFlags`) are stored under their own name.
pub fn canonical_map_name(name: &str) -> &str {
    MAP_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
        .map_or(name, |&(_, canonical)| canonical)
}

/// `PKTMON_DIRECTION_TAG` texts as etl2txt prints them (22000 manifest strings).
const DIRECTION: &[(u32, &str)] = &[
    (0, "None "),
    (1, "In "),
    (2, "Out "),
    (3, "Rx "),
    (4, "Tx "),
    (5, "Ingress "),
    (6, "Egress "),
];

/// `PKTMON_PACKET_TYPE` texts. 0–4 are the 22000 manifest strings; 5–11 exist
/// in the API enum only (no manifest string seen), named after the enum.
const PACKET_TYPE: &[(u32, &str)] = &[
    (0, "Unknown "),
    (1, "Ethernet "),
    (2, "WiFi "),
    (3, "IP "),
    (4, "HTTP "),
    (5, "TCP "),
    (6, "UDP "),
    (7, "ARP "),
    (8, "ICMP "),
    (9, "ESP "),
    (10, "AH "),
    (11, "L4Payload "),
];

/// `PKTMON_COMPONENT_TYPE` texts as etl2txt prints them. 11 (`IpInterface`,
/// tcpip's "TCP/IPv4 - L3/L4") has no manifest string: etl2txt prints `Type 11`,
/// so it is deliberately absent here.
const COMPONENT_TYPE: &[(u32, &str)] = &[
    (1, "NDIS "),
    (2, "Miniport "),
    (3, "Filter "),
    (4, "Protocol "),
    (5, "VmsVmNic "),
    (6, "VmsMiniport "),
    (7, "VmsExtMiniport "),
    (8, "VmsProtocolNic "),
    (9, "NetVsc Miniport "),
    (10, "HTTP Protocol "),
    (12, "Slbmux "),
    (13, "IPSec "),
    (14, "NetCx "),
    (15, "HTTP Message "),
];

/// `PKTMON_COMPONENT_PROPERTY_ID` texts as etl2txt prints them
/// (`Property: Component 172, Compartment ID  = 1`: map text plus template space).
const PROPERTY_TYPE: &[(u32, &str)] = &[
    (1, "IfIndex "),
    (2, "MiniportIfIndex "),
    (3, "LowerIfIndex "),
    (4, "IfGuid "),
    (5, "NdisMedium "),
    (6, "PhysAddress "),
    (7, "EtherType "),
    (8, "OptDataPath "),
    (9, "NdisObject "),
    (10, "VMSwitchName "),
    (11, "VmsExtIfIndex "),
    (12, "LowestIfIndex "),
    (13, "IP Address "),
    (14, "IpIfIndex "),
    (15, "VSID "),
    (16, "VLAN "),
    (17, "Compartment ID "),
];

/// `NDIS_MEDIUM` values PktMon components report (0 802.3, 16 native 802.11,
/// 19 `NdisMediumIP` as used by mobile broadband). etl2txt prints this property
/// as a number; the texts are for the analyzer and Wireshark.
const NDIS_MEDIUM: &[(u32, &str)] = &[(0, "Ethernet "), (16, "WiFi "), (19, "MBB ")];

/// The PktMon manifest's EtherType map (event 75 and packet filters).
const ETHER_TYPE: &[(u32, &str)] = &[
    (0x0800, "IPv4 "),
    (0x0806, "ARP "),
    (0x8100, "VLAN "),
    (0x86DD, "IPv6 "),
    (0x88CC, "LLDP "),
    (0x88D9, "LLTD "),
];

/// The small built-in maps, by canonical name.
const SMALL_MAPS: &[(&str, &[(u32, &str)])] = &[
    (MAP_DIRECTION, DIRECTION),
    (MAP_PACKET_TYPE, PACKET_TYPE),
    (MAP_COMPONENT_TYPE, COMPONENT_TYPE),
    (MAP_PROPERTY_TYPE, PROPERTY_TYPE),
    (MAP_NDIS_MEDIUM, NDIS_MEDIUM),
    (MAP_ETHER_TYPE, ETHER_TYPE),
];

/// One embedded `DropReason` table, parsed on first use.
struct DropReasonTable {
    /// The OS build whose PktMon.sys the table was taken from.
    build: u32,
    /// The file, verbatim.
    source: &'static str,
    /// The parsed entries; texts borrow from `source`.
    parsed: OnceLock<BTreeMap<u32, &'static str>>,
}

impl DropReasonTable {
    const fn new(build: u32, source: &'static str) -> Self {
        DropReasonTable {
            build,
            source,
            parsed: OnceLock::new(),
        }
    }

    fn entries(&'static self) -> &'static BTreeMap<u32, &'static str> {
        self.parsed.get_or_init(|| parse_map_file(self.source))
    }
}

/// The built-in `DropReason` tables, oldest first. The last one is the newest.
///
/// What differs between them (texts of codes present in several tables are
/// identical in all of them):
/// * 19042 → 20348 adds 998 "ICMP: packet was fragmented";
/// * 20348 → 26100 adds 205–228 (no 224), 614, 1000–1002 and the http.sys
///   block 3000–4000;
/// * 26100 and 26200 are identical.
static DROP_REASON_TABLES: [DropReasonTable; 4] = [
    DropReasonTable::new(19042, include_str!("tables/dropreason_19042.txt")),
    DropReasonTable::new(20348, include_str!("tables/dropreason_20348.txt")),
    DropReasonTable::new(26100, include_str!("tables/dropreason_26100.txt")),
    DropReasonTable::new(26200, include_str!("tables/dropreason_26200.txt")),
];

/// Parses a `MAP <name> flag=<f> entries=<n>` file into code → text.
///
/// Entry lines are `<spaces><decimal code>\t<text>`; the text is kept exactly
/// (a trailing `\r` from a CRLF checkout is line ending, not text). Lines that
/// are not entries (the header, blank or malformed lines) are skipped, and the
/// first entry of a repeated code wins, so no content can make this fail.
fn parse_map_file(source: &'static str) -> BTreeMap<u32, &'static str> {
    let mut map = BTreeMap::new();
    for line in source.lines() {
        let Some((code, text)) = line.split_once('\t') else {
            continue;
        };
        let Ok(code) = code.trim().parse::<u32>() else {
            continue;
        };
        map.entry(code).or_insert(text);
    }
    map
}

/// The built-in `DropReason` table used for `os_build`.
fn drop_reason_table_for(os_build: Option<u32>) -> &'static DropReasonTable {
    let [b19042, b20348, b26100, b26200] = &DROP_REASON_TABLES;
    match os_build {
        None => b26200,
        Some(0..=19_999) => b19042,
        Some(20_000..=25_999) => b20348,
        Some(26_000..=26_199) => b26100,
        Some(_) => b26200,
    }
}

/// The OS build whose built-in `DropReason` table [`Catalog::builtin`] uses for
/// `os_build` (for messages such as "drop reasons from the built-in 20348 table").
///
/// Builds up to 19999 use 19042, 20000–25999 use 20348, 26000–26199 use 26100,
/// newer builds and an unknown build use the newest table, 26200.
pub fn drop_reason_table_build(os_build: Option<u32>) -> u32 {
    drop_reason_table_for(os_build).build
}

/// The newest built-in `DropReason` table; used to categorise texts.
fn newest_drop_reasons() -> &'static BTreeMap<u32, &'static str> {
    let [.., newest] = &DROP_REASON_TABLES;
    newest.entries()
}

/// Value maps used to render codes as text: map name → code → text.
///
/// Start from [`Catalog::builtin`] for the capture's OS build, then replace
/// maps with the ones embedded in the file through [`Catalog::set_map`]. Keys
/// of `maps` are canonical names (see [`canonical_map_name`]); texts are kept
/// raw, trailing spaces included.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Changed only through [`Catalog::set_map`], which keeps `hot` and the
    /// reverse index right.
    maps: BTreeMap<String, BTreeMap<u32, String>>,
    /// Map → trimmed text → lowest code, built on the first reverse lookup:
    /// readers of text and comments look a direction and a type up per line.
    reverse: std::sync::OnceLock<rustc_hash::FxHashMap<String, rustc_hash::FxHashMap<String, u32>>>,
    /// Direction and packet-type texts of small codes, by code: every
    /// rendered packet line looks both up.
    hot: HotTexts,
}

/// Codes below this are kept in [`HotTexts`] (real ones are below 10).
const HOT_CODES: usize = 16;

#[derive(Debug, Clone, Default)]
struct HotTexts {
    direction: [Option<Box<str>>; HOT_CODES],
    packet_type: [Option<Box<str>>; HOT_CODES],
}

impl HotTexts {
    fn of(maps: &BTreeMap<String, BTreeMap<u32, String>>) -> HotTexts {
        let table = |name: &str| {
            let map = maps.get(name);
            std::array::from_fn(|code| map.and_then(|m| m.get(&(code as u32))).map(|t| t.as_str().into()))
        };
        HotTexts {
            direction: table(MAP_DIRECTION),
            packet_type: table(MAP_PACKET_TYPE),
        }
    }
}

impl Catalog {
    /// Whether both catalogs hold the same value maps (what every lookup
    /// answers from), without comparing their lookup caches.
    pub fn same_maps(&self, other: &Catalog) -> bool {
        self.maps == other.maps
    }

    /// Built-in tables for an OS build: `DropReason` from the nearest table
    /// (≤ 19999 → 19042, 20000–25999 → 20348, 26000–26199 → 26100, newer → 26200;
    /// `None` → 26200, the newest), plus the built-in direction, packet type,
    /// component type, property type, NDIS medium and EtherType maps.
    ///
    /// A code missing from the chosen table stays missing (etl2txt on that
    /// build prints it as a number too); the tables never disagree on a code
    /// they share, so no fallback to a newer table is needed for correctness.
    pub fn builtin(os_build: Option<u32>) -> Catalog {
        let mut maps = BTreeMap::new();
        for &(name, entries) in SMALL_MAPS {
            let map = entries.iter().map(|&(code, text)| (code, text.to_owned())).collect();
            maps.insert(name.to_owned(), map);
        }
        let drop_reasons = drop_reason_table_for(os_build)
            .entries()
            .iter()
            .map(|(&code, &text)| (code, text.to_owned()))
            .collect();
        maps.insert(MAP_DROP_REASON.to_owned(), drop_reasons);
        Catalog {
            hot: HotTexts::of(&maps),
            maps,
            reverse: Default::default(),
        }
    }

    /// Replaces one map by the one embedded in a file.
    ///
    /// `name` is the map name as the ETL's `EVENT_MAP_INFO` gives it; aliases
    /// are stored under the canonical key (`"Direction"` and
    /// `"PacketDirectionTag"` both replace [`MAP_DIRECTION`]). An empty
    /// `entries` is ignored: it carries no information, and dropping the
    /// built-in texts for it would only make the output worse.
    pub fn set_map(&mut self, name: &str, entries: BTreeMap<u32, String>) {
        if entries.is_empty() {
            return;
        }
        self.maps.insert(canonical_map_name(name).to_owned(), entries);
        self.reverse = Default::default();
        self.hot = HotTexts::of(&self.maps);
    }

    /// The whole map called `name` (any accepted alias), if the catalog has it.
    pub fn map(&self, name: &str) -> Option<&BTreeMap<u32, String>> {
        // Callers mostly pass the canonical `MAP_*` names: try the key itself
        // before the case-insensitive alias scan, which costs per frame.
        self.maps.get(name).or_else(|| self.maps.get(canonical_map_name(name)))
    }

    /// The raw text of `value` in map `map`, trailing spaces kept (etl2txt
    /// prints `Rx ,` because map strings end in a space).
    pub fn map_text(&self, map: &str, value: u32) -> Option<&str> {
        self.map(map)?.get(&value).map(String::as_str)
    }

    /// Text of a `PKTMON_DIRECTION_TAG` (`DirTag`), e.g. 3 → `"Rx "`.
    pub fn direction(&self, v: u16) -> Option<&str> {
        match self.hot.direction.get(usize::from(v)) {
            Some(hot) => hot.as_deref(),
            None => self.map_text(MAP_DIRECTION, u32::from(v)),
        }
    }

    /// Text of a `PKTMON_PACKET_TYPE`, e.g. 1 → `"Ethernet "`.
    pub fn packet_type(&self, v: u16) -> Option<&str> {
        match self.hot.packet_type.get(usize::from(v)) {
            Some(hot) => hot.as_deref(),
            None => self.map_text(MAP_PACKET_TYPE, u32::from(v)),
        }
    }

    /// Text of a `PKTMON_COMPONENT_TYPE`, e.g. 2 → `"Miniport "`; `None` for 11,
    /// which etl2txt prints as `Type 11`.
    pub fn component_type(&self, v: u16) -> Option<&str> {
        self.map_text(MAP_COMPONENT_TYPE, u32::from(v))
    }

    /// Text of a `PKTMON_COMPONENT_PROPERTY_ID`, e.g. 13 → `"IP Address "`.
    pub fn property_type(&self, v: u16) -> Option<&str> {
        self.map_text(MAP_PROPERTY_TYPE, u32::from(v))
    }

    /// Text of a `PKTMON_DROP_REASON`, e.g. 1204 → `"INET: transport endpoint
    /// was not found"`. Built-in texts have no trailing space; texts from an
    /// ETL's own map usually have one.
    pub fn drop_reason(&self, v: u32) -> Option<&str> {
        self.map_text(MAP_DROP_REASON, v)
    }

    /// Reverse lookup for text inputs: the code whose text equals `text` in
    /// map `map` (e.g. [`MAP_DROP_REASON`]), both sides trimmed.
    ///
    /// An exact match wins over an ASCII case-insensitive one; among equal
    /// matches the lowest code wins (the 22000–26200 manifests give 987–990
    /// the same text, which therefore resolves to 987). Linear in the map
    /// size (a few hundred entries).
    pub fn code_for_text(&self, map: &str, text: &str) -> Option<u32> {
        let wanted = text.trim();
        if wanted.is_empty() {
            return None;
        }
        let reverse = self.reverse.get_or_init(|| {
            self.maps
                .iter()
                .map(|(name, entries)| {
                    let mut by_text = rustc_hash::FxHashMap::default();
                    for (&code, text) in entries {
                        by_text.entry(text.trim().to_string()).or_insert(code);
                    }
                    (name.clone(), by_text)
                })
                .collect()
        });
        let by_text = reverse.get(map).or_else(|| reverse.get(canonical_map_name(map)));
        if let Some(&code) = by_text.and_then(|m| m.get(wanted)) {
            return Some(code);
        }
        let entries = self.map(map)?;
        entries
            .iter()
            .find(|(_, t)| t.trim() == wanted)
            .or_else(|| entries.iter().find(|(_, t)| t.trim().eq_ignore_ascii_case(wanted)))
            .map(|(&code, _)| code)
    }
}

/// All `PKTMON_DROP_LOCATION` values with their symbolic names, parsed once.
///
/// The Wireshark plugin registers its value-string table from this.
pub fn drop_location_names() -> &'static BTreeMap<u32, &'static str> {
    static LOCATIONS: OnceLock<BTreeMap<u32, &'static str>> = OnceLock::new();
    LOCATIONS.get_or_init(|| parse_locations(include_str!("tables/drop_locations.txt")))
}

/// Parses `0xE000xxxx PMLOC_NAME` lines; `#` lines and anything malformed are skipped.
fn parse_locations(source: &'static str) -> BTreeMap<u32, &'static str> {
    let mut map = BTreeMap::new();
    for line in source.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(value), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        let Some(hex) = value.strip_prefix("0x").or_else(|| value.strip_prefix("0X")) else {
            continue;
        };
        if let Ok(value) = u32::from_str_radix(hex, 16) {
            map.entry(value).or_insert(name);
        }
    }
    map
}

/// Symbolic name of a `PKTMON_DROP_LOCATION`, e.g. 0xE0004500 →
/// `"PMLOC_TCPIP_TL_RCV_TCP_MATCH"`; `None` for values Microsoft has not
/// published (show them with [`drop_location_module`] and the hex value).
pub fn drop_location_name(location: u32) -> Option<&'static str> {
    drop_location_names().get(&location).copied()
}

/// Module of a drop location from its `0xE000x000` nibble: `"NDIS"`,
/// `"VMSwitch"`, `"NetVsc"`, `"TCPIP"`, `"HTTP"`, `"VFP"`, `"SLBMUX"`,
/// `"IPsec"`, `"NetCx"`, or `"unknown"` (also for values outside `0xE000xxxx`).
///
/// Works for unpublished values too, so a decoder can say "unknown TCPIP
/// location 0xE0004FFE".
pub fn drop_location_module(location: u32) -> &'static str {
    if location >> 16 != 0xE000 {
        return "unknown";
    }
    match (location >> 12) & 0xF {
        1 => "NDIS",
        2 => "VMSwitch",
        3 => "NetVsc",
        4 => "TCPIP",
        5 => "HTTP",
        6 => "VFP",
        7 => "SLBMUX",
        8 => "IPsec",
        9 => "NetCx",
        _ => "unknown",
    }
}

/// What kind of problem a PktMon drop points at; decides the advice the
/// analyzer gives ([`next_step`]). See [`drop_category`] for which reason goes
/// where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropCategory {
    /// Dropped on purpose by a rule: firewall/WFP inspection, IPsec, QoS,
    /// vSwitch/VFP port policy, guards and limiters, HTTP authorisation.
    Policy,
    /// The adapter, queue or stack could not take the packet at that moment:
    /// out of memory or resources, queue full, busy, not ready, paused,
    /// resetting, disabled, suspended, disconnected or in low power.
    Resources,
    /// ARP / IPv6 neighbor discovery failed or rejected the packet.
    AddressResolution,
    /// No (usable) route: no route, not locally destined, beyond scope, no
    /// next hop, hop limit exceeded.
    NoRoute,
    /// Malformed or corrupted: bad checksum/CRC, bad length, invalid header,
    /// option or offload metadata.
    InvalidPacket,
    /// A valid packet with nobody to take it: no transport endpoint, port or
    /// protocol unreachable, no protocol bound for the EtherType, no
    /// destination port on the switch, no HTTP listener.
    Unreachable,
    /// Discarded because of connection or stream state: TCP RST/FIN,
    /// TIME-WAIT, outside or closed window, duplicate segments, HTTP/2 stream
    /// resets, missing NAT/SLB session.
    SessionLoss,
    /// Larger than an MTU on the way.
    Mtu,
    /// Anything else: internal errors, placeholders, unknown codes.
    Other,
}

impl DropCategory {
    /// Every category, in declaration (and sort) order.
    pub const ALL: [DropCategory; 9] = [
        DropCategory::Policy,
        DropCategory::Resources,
        DropCategory::AddressResolution,
        DropCategory::NoRoute,
        DropCategory::InvalidPacket,
        DropCategory::Unreachable,
        DropCategory::SessionLoss,
        DropCategory::Mtu,
        DropCategory::Other,
    ];

    /// The snake_case name, the same one serde writes (`"address_resolution"`).
    pub fn as_str(self) -> &'static str {
        match self {
            DropCategory::Policy => "policy",
            DropCategory::Resources => "resources",
            DropCategory::AddressResolution => "address_resolution",
            DropCategory::NoRoute => "no_route",
            DropCategory::InvalidPacket => "invalid_packet",
            DropCategory::Unreachable => "unreachable",
            DropCategory::SessionLoss => "session_loss",
            DropCategory::Mtu => "mtu",
            DropCategory::Other => "other",
        }
    }
}

impl fmt::Display for DropCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name given is not one of [`DropCategory::as_str`]'s names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDropCategory(pub String);

impl fmt::Display for UnknownDropCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown drop category {:?} (expected one of: ", self.0)?;
        for (i, category) in DropCategory::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(category.as_str())?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnknownDropCategory {}

impl FromStr for DropCategory {
    type Err = UnknownDropCategory;

    /// Parses the [`DropCategory::as_str`] name, ASCII case-insensitively
    /// (for command-line filters).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        DropCategory::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownDropCategory(s.to_owned()))
    }
}

/// Category of a PktMon drop from its reason code (preferred) or, when a text
/// source has no code, its reason text.
///
/// With a code, the table below decides; codes not listed (unknown, or
/// placeholders) are [`DropCategory::Other`]. With only a text: a decimal
/// number is treated as the code (etl2txt prints `DropReason 228` when its
/// build has no string); a text found in the newest built-in table (trimmed,
/// ASCII case-insensitive) takes that code's category; anything else is
/// matched against English keywords (policy words first, then words for a
/// broken packet, then MTU, address resolution, routing, unreachable,
/// resources, session and weaker malformation hints; see `KEYWORD_RULES`),
/// so texts in other languages end up as `Other`.
///
/// # Assignment (26100 table texts, abridged)
///
/// | Category | Codes |
/// |---|---|
/// | `policy` | 8–20 (Filtered, Filtered/Unauthorized VLAN, Unauthorized MAC, Failed security policy, pVlan, QoS drop, IPSec drop, MAC spoofing, DHCP/Router guard, bridge inside VM, VSID mismatch), 30 storm limit, 36 port isolation, 221–222 decryption error / bad signature, 225 VLAN anti-spoofing, 226 unallowed EtherType, 701–709 and 714–718 VFP guards, limiters, blocks and intercepts, 909 inspection drop, 911 administratively prohibited, 919 inspection absorb, 924 IPsec failure, 945 administratively configured setting, 947 not accepted over loopback, 954 ICMP inspection drop, 962–963 ICMP rate limits, 979 ICMP disallowed by configuration, 1207 INET receive inspection, 1214 land attack, 1231 accept inspection, 1232 accept redirection, 1306 / 1321 / 1322 SLBMUX has no mapping or rejected, 1401–1416 and 1418 IPsec, 3010 / 3011 / 3025 HTTP unauthorized / forbidden / disabled by admin, 3410 / 3412 HTTP/2 auth / client certificate, 3807–3814 HTTP security |
/// | `resources` | 3 insufficient resources, 4 adapter not ready, 5 media disconnected, 7 device busy, 33 destination NIC disabled, 35 vSwitch data flow disabled, 38 low power, 201 paused, 202 reset in progress, 203 send aborted, 207 host out of memory, 215 head-of-queue timeout, 216 stalled discard, 217 receive queue full, 227 VPort down, 402 VF not ready, 403 microport not ready, 607 interface not ready, 608 provider not ready, 712 unicast port not ready, 719 NIC suspended, 937 / 950 disabled interface, 949 full queue, 1229 SO_PAUSE_ACCEPT, 1230 SYN dropped for memory pressure, 1308 SLBMUX clone failure, 1314 SLBMUX session creation failure, 1417 IPsec allocation failure, 1503 NetCx queue stopping, 1507 NetCx bounce failure, 3022 connection limit, 3024 request queue full, 3028 app pool busy, 3417 HTTP/2 active stream limit, 3802 HTTP insufficient resources |
/// | `address_resolution` | 922 address resolution timeout, 923 address resolution failure, 955 rejecting loopback neighbor discovery, 985 link-layer address belongs to this interface, 992–995 ARP invalid source / target, DL source is local, not locally destined |
/// | `no_route` | 902 not locally destined, 907 no route, 908 beyond scope, 914 hop limit exceeded, 928 routing failure, 933–936 IPSNPI no next hop / compartment / interface / subinterface, 948 scope too limited, 964 ICMP no route, 991 ICMP not locally destined, 1305 / 1312 / 1313 / 1315 / 1316 SLBMUX next hop and route lookups, 1310 SLBMUX hop limit exceeded |
/// | `invalid_packet` | 1 invalid data, 2 invalid packet, 25–28 invalid VLAN format / MAC / first NB too small, 206 invalid frame length, 209 frame too short, 210 frame length error, 211–214 CRC / checksum / FCS / symbol errors, 218 physical layer error, 223 coalescing error, 602–606 FL invalid SNAP / Ethernet type / length / header not contiguous / destination type, 609–612 invalid LSO / USO / medium / ARP header, 614 NBL with several NBs, 901 bad source address, 905 bad length, 906 malformed header, 910 too many decapsulations, 912 bad checksum, 921 buffer length exceeded, 925 extension headers, 927 unsupported offload, 939–940 / 942–943 IPSNPI no Ethernet header / unexpected fragment / invalid LSO / USO info, 946 bad option, 952–953 / 956–958 / 961 / 966 / 968–978 / 980–984 malformed or invalid ICMP and ND messages, 988–989 invalid MLD query / report, 998 fragmented ICMP, 999 first fragment incomplete, 1001 jumbogram, 1200–1203 INET source unspecified / multicast destination / invalid header / checksum, 1221 reassembly conflict, 1301–1303 / 1325 SLBMUX parsing, 1501 / 1504 NetCx layout / length, HTTP request and HTTP/2 framing errors (3003–3005, 3007–3009, 3013, 3015, 3016, 3029, 3404–3408, 3413, 3418–3420, 3422–3437, 3440–3450, 3453–3458, 3460–3462) |
/// | `unreachable` | 34 no match for destination NIC packet filter, 204 Unsupported EtherType, 613 no interface for isolation ID, 710–711 no broadcast / unicast destination ports, 903 protocol unreachable, 904 port unreachable, 915 address unreachable, 959 ICMP no handler, 1204 transport endpoint was not found, 1319 SLBMUX protocol not supported, 1323 SLBMUX no VIP/DIP configuration, 3006 HTTP host not found, 3012 resource not found, 3021 listener unavailable, 3023 rapid fail protection, 3026 delivery disabled by listener |
/// | `session_loss` | 931 session state failure, 1206 session state error, 1208–1213 (invalid ACK in SYN_SENT, expected SYN, received RST, SYN in SYN_RCVD, simultaneous connect, PAWS), 1215–1220 (missed RST, outside window, duplicate segment, closed window, TCB removed, FIN-WAIT2), 1222–1228 (FIN received, listener invalid flags, TCB not inserted, TIME-WAIT drops, SYN+ACK with fastopen cookie request), 1304 SLBMUX ICMP error matches no session, 3401 / 3403 / 3409 / 3439 / 3451 / 3459 HTTP/2 user abort, client reset stream, half closed, stream abandoned, GOAWAY, connection going away |
/// | `mtu` | 23 MTU mismatch, 208 frame too long, 920 fragment MTU exceeded (`DontFragmentMtuExceeded`), 997 URO segment size exceeds MTU, 1311 SLBMUX packet larger than next-hop MTU |
/// | `other` | everything else, e.g. 0 unspecified, 6 not accepted, 21–22 / 24 vSwitch configuration, 31 ICMP injected by switch, 205 general failure, 219–220 DMA / firmware error, 401 / 404 microport / VMBus error, 601 loopback Ethernet packet, 913 / 917 path-max placeholders, 916 RSC packet, 918 arbitration unhandled, 926 / 932 / 938 / 941 IPSNPI client drop, not forwarded, segmentation failed, unsupported interface type, 944 internal error, 951 / 960 / 965 / 967 / 986 / 987 / 990 ICMP housekeeping, 1000 source violation, 1002 / 1502 / 1505 / 1506 offload or checksum operations that failed, 1205 connected path error, the remaining SLBMUX internals, HTTP placeholders and server-side faults, 3600 WSK receive suppressed, unknown codes |
///
/// # Decisions worth knowing
///
/// * **204 Unsupported EtherType → `unreachable`**, not `invalid_packet`: the
///   enum name is `ProtocolNotBound`. The frame is well formed, but no protocol
///   driver is bound for its EtherType on that adapter, the layer-2 twin of
///   "protocol unreachable" (typically LLDP, EAPOL or vendor frames, harmless).
///   603 "Invalid Ethernet type", where the framing itself is wrong, stays
///   `invalid_packet`.
/// * **TCP state drops → `session_loss`**, including 1217 duplicate segment,
///   1216 outside window and 1222 FIN received: the packet is fine, TCP
///   discarded it because of the connection's state. A few around a close are
///   normal. 1221 reassembly conflict (overlapping data that differs) is
///   `invalid_packet`.
/// * **Adapter or interface state → `resources`** (not ready, paused, reset,
///   disabled, suspended, low power, disconnected): the next step is the same
///   as for exhausted resources: look at the adapter's state and counters.
/// * **Malformed ARP/ND messages → `invalid_packet`**; ARP/ND drops that point
///   at a resolution problem (timeouts, failures, looped-back or
///   duplicate-address symptoms, ARP source/target checks) →
///   `address_resolution`.
/// * **Offload metadata that is invalid → `invalid_packet`**; offload or
///   checksum *operations* that failed inside the stack → `other`.
/// * **988–990** all carry 987's text in the manifests (a copy-paste bug up to
///   26200). With a code they are categorised by their enum meaning (988–989
///   invalid MLD query/report → `invalid_packet`, 990 locally sourced MLD
///   report → `other`); with only the text they resolve to 987 → `other`.
/// * **Hop limit exceeded (914, 1310) → `no_route`**: it points at a routing
///   loop or a path longer than the sender's hop limit.
pub fn drop_category(reason: Option<u32>, reason_text: Option<&str>) -> DropCategory {
    match (reason, reason_text) {
        (Some(code), _) => category_for_code(code),
        (None, Some(text)) => category_for_text(text),
        (None, None) => DropCategory::Other,
    }
}

/// The code table of [`drop_category`]. Arms are tried in order, so the
/// single-code overrides come before the ranges they fall into.
fn category_for_code(code: u32) -> DropCategory {
    use DropCategory::*;
    match code {
        // VmSwitch-compatible reasons (0–38).
        1 | 2 | 25..=28 => InvalidPacket,
        3 | 4 | 5 | 7 | 33 | 35 | 38 => Resources,
        8..=20 | 30 | 36 => Policy,
        23 => Mtu,
        34 => Unreachable,
        // General / NDIS (201–228).
        201..=203 | 207 | 215..=217 | 227 => Resources,
        204 => Unreachable,
        206 | 209..=214 | 218 | 223 => InvalidPacket,
        208 => Mtu,
        221 | 222 | 225 | 226 => Policy,
        // NetVsc (401–404).
        402 | 403 => Resources,
        // TCPIP framing layer (601–615).
        602..=606 | 609..=612 | 614 => InvalidPacket,
        607 | 608 => Resources,
        613 => Unreachable,
        // VFP (701–719).
        701..=709 | 714..=718 => Policy,
        710 | 711 => Unreachable,
        712 | 719 => Resources,
        // TCPIP network layer (901–950).
        902 | 907 | 908 | 914 | 928 | 933..=936 | 948 => NoRoute,
        903 | 904 | 915 => Unreachable,
        901 | 905 | 906 | 910 | 912 | 921 | 925 | 927 | 939 | 940 | 942 | 943 | 946 => InvalidPacket,
        909 | 911 | 919 | 924 | 945 | 947 => Policy,
        920 => Mtu,
        922 | 923 => AddressResolution,
        931 => SessionLoss,
        937 | 949 | 950 => Resources,
        // ICMP, ND and ARP (951–1002).
        954 | 962 | 963 | 979 => Policy,
        955 | 985 | 992..=995 => AddressResolution,
        959 => Unreachable,
        964 | 991 => NoRoute,
        997 => Mtu,
        952 | 953 | 956..=958 | 961 | 966 | 968..=984 | 988 | 989 | 998 | 999 | 1001 => InvalidPacket,
        // INET, the transport layer (1200–1232).
        1200..=1203 | 1221 => InvalidPacket,
        1204 => Unreachable,
        1207 | 1214 | 1231 | 1232 => Policy,
        1229 | 1230 => Resources,
        1206 | 1208..=1228 => SessionLoss,
        // SLBMUX (1301–1327).
        1301..=1303 | 1325 => InvalidPacket,
        1304 => SessionLoss,
        1305 | 1310 | 1312 | 1313 | 1315 | 1316 => NoRoute,
        1306 | 1321 | 1322 => Policy,
        1308 | 1314 => Resources,
        1311 => Mtu,
        1319 | 1323 => Unreachable,
        // IPsec (1401–1418).
        1417 => Resources,
        1401..=1418 => Policy,
        // NetCx (1501–1507).
        1501 | 1504 => InvalidPacket,
        1503 | 1507 => Resources,
        // http.sys request errors (3000–3030).
        3003..=3005 | 3007..=3009 | 3013 | 3015 | 3016 | 3029 => InvalidPacket,
        3006 | 3012 | 3021 | 3023 | 3026 => Unreachable,
        3010 | 3011 | 3025 => Policy,
        3022 | 3024 | 3028 => Resources,
        // http.sys HTTP/2 faults (3400–3463).
        3401 | 3403 | 3409 | 3439 | 3451 | 3459 => SessionLoss,
        3410 | 3412 => Policy,
        3417 => Resources,
        3404..=3408 | 3413 | 3418..=3420 | 3422..=3437 | 3440..=3450 | 3453..=3458 | 3460..=3462 => InvalidPacket,
        // http.sys generic and security errors (3800–3814).
        3802 => Resources,
        3807..=3814 => Policy,
        _ => Other,
    }
}

/// Text-only categorisation (see [`drop_category`]).
fn category_for_text(text: &str) -> DropCategory {
    let text = text.trim();
    if text.is_empty() {
        return DropCategory::Other;
    }
    if let Ok(code) = text.parse::<u32>() {
        return category_for_code(code);
    }
    if let Some(&code) = drop_reason_text_index().get(&text.to_ascii_lowercase()) {
        return category_for_code(code);
    }
    category_for_keywords(text)
}

/// Lower-cased, trimmed text → lowest code, over the newest built-in table.
fn drop_reason_text_index() -> &'static HashMap<String, u32> {
    static INDEX: OnceLock<HashMap<String, u32>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = HashMap::new();
        for (&code, text) in newest_drop_reasons() {
            index.entry(text.trim().to_ascii_lowercase()).or_insert(code);
        }
        index
    })
}

/// English keywords for texts that are in no built-in table (other tools'
/// wording such as tcpip.sys's "Received RST (subreason 0)", newer builds).
///
/// `phrases` match anywhere in the lower-cased text; `words` match whole
/// words only, so `rst` does not fire on "first" nor `arp` on "sharp".
struct KeywordRule {
    category: DropCategory,
    phrases: &'static [&'static str],
    words: &'static [&'static str],
}

/// Tried in order; the first rule with a hit decides.
///
/// Policy words come first ("Invalid ARP Pkt Limiter" is a VFP rule, not a bad
/// packet); words that say the packet itself is broken come next, ahead of the
/// protocol words ("ICMP: invalid ND option MTU" is a malformed ND message,
/// not an MTU or address-resolution problem); weaker hints such as "header" or
/// "length" are tried last.
const KEYWORD_RULES: &[KeywordRule] = &[
    KeywordRule {
        category: DropCategory::Policy,
        phrases: &["not allowed", "security", "access is denied", "rate limit"],
        words: &[
            "inspection",
            "filtered",
            "firewall",
            "policy",
            "guard",
            "unauthorized",
            "prohibited",
            "administratively",
            "ipsec",
            "qos",
            "blocked",
            "spoofed",
            "spoofing",
            "disallowed",
            "denied",
            "forbidden",
            "redirection",
            "limiter",
            "storm",
        ],
    },
    KeywordRule {
        category: DropCategory::InvalidPacket,
        phrases: &[],
        words: &[
            "invalid",
            "malformed",
            "truncated",
            "checksum",
            "crc",
            "fcs",
            "corrupt",
            "corrupted",
        ],
    },
    KeywordRule {
        category: DropCategory::Mtu,
        phrases: &[
            "fragmentation needed",
            "packet too big",
            "frame too long",
            "dontfragment",
            "don't fragment",
        ],
        words: &["mtu"],
    },
    KeywordRule {
        category: DropCategory::AddressResolution,
        phrases: &["address resolution", "neighbor discovery", "neighbour discovery"],
        words: &["arp", "nd", "ndp", "neighbor", "neighbour"],
    },
    KeywordRule {
        category: DropCategory::NoRoute,
        phrases: &[
            "no route",
            "not locally destined",
            "next hop",
            "hop limit exceeded",
            "route lookup",
        ],
        words: &["routing", "nexthop", "scope"],
    },
    KeywordRule {
        category: DropCategory::Unreachable,
        phrases: &["unsupported ethertype", "not bound", "no handler", "not listening"],
        words: &["unreachable", "endpoint"],
    },
    KeywordRule {
        category: DropCategory::Resources,
        phrases: &[
            "allocat",
            "queue full",
            "full queue",
            "not ready",
            "low power",
            "out of memory",
            "reset in progress",
        ],
        words: &[
            "resources",
            "resource",
            "memory",
            "busy",
            "paused",
            "suspended",
            "disconnected",
            "disabled",
        ],
    },
    KeywordRule {
        category: DropCategory::SessionLoss,
        phrases: &["time-wait", "time_wait", "fin-wait"],
        words: &[
            "rst",
            "fin",
            "syn",
            "ack",
            "tcb",
            "session",
            "window",
            "paws",
            "duplicate",
        ],
    },
    KeywordRule {
        category: DropCategory::InvalidPacket,
        phrases: &["too short", "too small"],
        words: &["bad", "header", "length", "parse", "parsing", "illegal"],
    },
];

/// Categorises a text by [`KEYWORD_RULES`]; `Other` when nothing matches.
fn category_for_keywords(text: &str) -> DropCategory {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    KEYWORD_RULES
        .iter()
        .find(|rule| rule.phrases.iter().any(|p| lower.contains(p)) || rule.words.iter().any(|w| words.contains(w)))
        .map_or(DropCategory::Other, |rule| rule.category)
}

/// One short "next step" sentence for a category, for the analyzer's report.
pub fn next_step(category: DropCategory) -> &'static str {
    match category {
        DropCategory::Policy => {
            "A rule dropped it: for TCP/IP drops enable Windows Filtering Platform drop auditing, by the \
             subcategory's GUID so that it works in any UI language (`auditpol /set \
             /subcategory:\"{0CCE9225-69AE-11D9-BED3-505054503030}\" /failure:enable`), and read Security \
             events 5152/5157 to find the filter; for vSwitch, VFP or IPsec drops review the port ACLs, \
             guards, VLAN and IPsec settings."
        }
        DropCategory::Resources => {
            "The adapter or stack could not take it: check the adapter state and discard counters \
             (`Get-NetAdapter`, `Get-NetAdapterStatistics`) and the host's memory and CPU load at the time."
        }
        DropCategory::AddressResolution => {
            "ARP/neighbor discovery failed: check the neighbor cache with `Get-NetNeighbor` \
             (entries stuck Incomplete or Unreachable), that the next hop is up, and look for duplicate IP addresses."
        }
        DropCategory::NoRoute => {
            "No usable route: check the routing table with `Get-NetRoute` \
             (or `Find-NetRoute -RemoteIPAddress <address>`) and whether this host should forward at all."
        }
        DropCategory::InvalidPacket => {
            "The packet was malformed or corrupted: inspect its bytes in the capture, check the sender \
             and the NIC offload settings (`Get-NetAdapterAdvancedProperty`), and look for CRC errors \
             in `Get-NetAdapterStatistics`."
        }
        DropCategory::Unreachable => {
            "Nothing was there to receive it: check that the service runs and listens on that address and port \
             (`Get-NetTCPConnection -State Listen`, `Get-NetUDPEndpoint`); drops of unbound EtherTypes \
             (Unsupported EtherType) are usually harmless."
        }
        DropCategory::SessionLoss => {
            "TCP dropped it because of the connection's state (reset, closed, outside the window): \
             follow the connection's SYN/FIN/RST exchange in the capture; a few such drops around a close are normal."
        }
        DropCategory::Mtu => {
            "It was larger than an MTU on the path: compare MTUs (`Get-NetIPInterface | ft ifIndex,InterfaceAlias,NlMtu`), \
             probe with `ping -f -l <size>`, and make sure ICMP \"fragmentation needed\"/\"packet too big\" is not blocked."
        }
        DropCategory::Other => {
            "No specific advice for this reason: compare the drop location and component with the packets \
             that got through, and look up the reason code in the PktMon drop-reason table."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(name, entries)` from a `MAP <name> flag=<f> entries=<n>` header.
    fn header(source: &str) -> (&str, usize) {
        let first = source.lines().next().expect("table has a header line");
        let mut words = first.split_whitespace();
        assert_eq!(words.next(), Some("MAP"));
        let name = words.next().expect("map name");
        let entries = words
            .find_map(|w| w.strip_prefix("entries="))
            .expect("entries=N")
            .parse()
            .expect("numeric entries");
        (name, entries)
    }

    #[test]
    fn table_entry_counts_match_headers() {
        let expected = [(19042, 259), (20348, 260), (26100, 399), (26200, 399)];
        for (table, (build, count)) in DROP_REASON_TABLES.iter().zip(expected) {
            assert_eq!(table.build, build);
            let (name, entries) = header(table.source);
            assert_eq!(name, MAP_DROP_REASON);
            assert_eq!(entries, count, "header of {build}");
            assert_eq!(table.entries().len(), count, "parsed entries of {build}");
            // Every non-header line is an entry: nothing was skipped silently.
            assert_eq!(table.source.lines().count(), count + 1);
        }
    }

    #[test]
    fn tables_agree_on_shared_codes() {
        let newest = newest_drop_reasons();
        for table in &DROP_REASON_TABLES {
            for (code, text) in table.entries() {
                assert_eq!(newest.get(code), Some(text), "code {code} in {}", table.build);
            }
        }
    }

    #[test]
    fn builtin_drop_reason_texts() {
        let c = Catalog::builtin(Some(26200));
        assert_eq!(c.drop_reason(1204), Some("INET: transport endpoint was not found"));
        assert_eq!(c.drop_reason(918), Some("Arbitration unhandled"));
        assert_eq!(c.drop_reason(204), Some("Unsupported EtherType"));
        assert_eq!(c.drop_reason(1210), Some("INET: received RST"));
        assert_eq!(c.drop_reason(3600), Some("HTTP: WSK Receive Suppressed"));
        assert_eq!(c.drop_reason(29), None);
        assert_eq!(c.drop_reason(u32::MAX), None);

        let old = Catalog::builtin(Some(19042));
        assert_eq!(old.drop_reason(201), Some("Adapter paused"));
        assert_eq!(old.drop_reason(998), None, "added in 20348");
        assert_eq!(old.drop_reason(3600), None, "http.sys block arrived with 26100");
        assert!(Catalog::builtin(Some(20348)).drop_reason(998).is_some());
    }

    #[test]
    fn builtin_table_choice() {
        assert_eq!(drop_reason_table_build(None), 26200);
        assert_eq!(drop_reason_table_build(Some(0)), 19042);
        assert_eq!(drop_reason_table_build(Some(17763)), 19042);
        assert_eq!(drop_reason_table_build(Some(19045)), 19042);
        assert_eq!(drop_reason_table_build(Some(20348)), 20348);
        assert_eq!(drop_reason_table_build(Some(22621)), 20348);
        assert_eq!(drop_reason_table_build(Some(26100)), 26100);
        assert_eq!(drop_reason_table_build(Some(26200)), 26200);
        assert_eq!(drop_reason_table_build(Some(u32::MAX)), 26200);
        let c = Catalog::builtin(Some(19042));
        assert_eq!(c.maps[MAP_DROP_REASON].len(), 259);
        assert_eq!(Catalog::builtin(None).maps[MAP_DROP_REASON].len(), 399);
    }

    #[test]
    fn small_maps_keep_the_trailing_space() {
        let c = Catalog::builtin(None);
        assert_eq!(c.direction(3), Some("Rx "));
        assert_eq!(c.direction(0), Some("None "));
        assert_eq!(c.direction(7), None);
        assert_eq!(c.packet_type(1), Some("Ethernet "));
        assert_eq!(c.packet_type(11), Some("L4Payload "));
        assert_eq!(c.component_type(9), Some("NetVsc Miniport "));
        assert_eq!(c.component_type(11), None, "etl2txt prints `Type 11`");
        assert_eq!(c.component_type(15), Some("HTTP Message "));
        assert_eq!(c.property_type(13), Some("IP Address "));
        assert_eq!(c.property_type(17), Some("Compartment ID "));
        assert_eq!(c.map_text(MAP_NDIS_MEDIUM, 16), Some("WiFi "));
        assert_eq!(c.map_text(MAP_ETHER_TYPE, 0x86DD), Some("IPv6 "));
        for (_, map) in SMALL_MAPS {
            for (code, text) in *map {
                assert!(text.ends_with(' ') && !text.ends_with("  "), "{code} {text:?}");
            }
        }
    }

    #[test]
    fn map_names_and_aliases() {
        assert_eq!(canonical_map_name("PacketDirectionTag"), MAP_DIRECTION);
        assert_eq!(canonical_map_name("Direction"), MAP_DIRECTION);
        assert_eq!(canonical_map_name("dirtag"), MAP_DIRECTION);
        assert_eq!(canonical_map_name("DropReason"), MAP_DROP_REASON);
        assert_eq!(canonical_map_name("TCPFlags"), "TCPFlags");
        let c = Catalog::builtin(None);
        assert_eq!(c.map_text("Direction", 4), Some("Tx "));
        assert_eq!(c.map_text("NoSuchMap", 4), None);
    }

    #[test]
    fn set_map_overrides() {
        let mut c = Catalog::builtin(Some(26100));
        let mut direction = BTreeMap::new();
        direction.insert(3, "Empfangen ".to_owned());
        c.set_map("Direction", direction);
        assert_eq!(c.direction(3), Some("Empfangen "));
        assert_eq!(c.direction(4), None, "the file's map replaces, not merges");
        // Codes past the hot table come from the map itself.
        let mut types = BTreeMap::new();
        types.insert(1, "Ethernet (file) ".to_owned());
        types.insert(4000, "Future type ".to_owned());
        c.set_map("PacketType", types);
        assert_eq!(c.packet_type(1), Some("Ethernet (file) "));
        assert_eq!(c.packet_type(4000), Some("Future type "));
        assert_eq!(c.packet_type(3), None);
        assert!(!c.maps.contains_key("Direction"));

        let mut reasons = BTreeMap::new();
        reasons.insert(1204, "INET: transport endpoint was not found ".to_owned());
        reasons.insert(5000, "Something new ".to_owned());
        c.set_map("DropReason", reasons);
        assert_eq!(c.drop_reason(5000), Some("Something new "));
        assert_eq!(c.drop_reason(918), None);
        assert_eq!(
            c.code_for_text(MAP_DROP_REASON, "INET: transport endpoint was not found"),
            Some(1204)
        );

        c.set_map("DropReason", BTreeMap::new());
        assert_eq!(c.drop_reason(5000), Some("Something new "), "empty map ignored");

        let mut flags = BTreeMap::new();
        flags.insert(4, "RST ".to_owned());
        c.set_map("TCPFlags", flags);
        assert_eq!(c.map_text("TCPFlags", 4), Some("RST "));
    }

    #[test]
    fn reverse_lookup() {
        let c = Catalog::builtin(None);
        assert_eq!(c.code_for_text("DropReason", "INET: received RST"), Some(1210));
        assert_eq!(c.code_for_text("DropReason", "  INET: received RST  "), Some(1210));
        assert_eq!(c.code_for_text("DropReason", "inet: RECEIVED rst"), Some(1210));
        let ra = "ICMP: router advertisement came from a router that is not part of the potential router list";
        assert_eq!(c.code_for_text(MAP_DROP_REASON, ra), Some(987));
        assert_eq!(c.code_for_text("Direction", "Rx"), Some(3));
        assert_eq!(c.code_for_text("PacketType", "Ethernet ,"), None);
        assert_eq!(c.code_for_text("DropReason", ""), None);
        assert_eq!(c.code_for_text("DropReason", "no such reason"), None);
        assert_eq!(c.code_for_text("NoSuchMap", "Rx"), None);
    }

    #[test]
    fn drop_locations() {
        let all = drop_location_names();
        assert_eq!(all.len(), 612);
        assert_eq!(drop_location_name(0xE000_4500), Some("PMLOC_TCPIP_TL_RCV_TCP_MATCH"));
        assert_eq!(drop_location_name(0xE000_1007), Some("PMLOC_NDIS_M_DISPATCH_RECEIVE"));
        assert_eq!(drop_location_name(0xE000_460A), Some("PMLOC_TCPIP_TL_RCV_UDP_RECEIVE1"));
        assert_eq!(drop_location_name(0xE000_600A), None, "VFP skips A–F");
        assert_eq!(drop_location_name(0), None);
        assert!(all.values().all(|name| name.starts_with("PMLOC_")));
    }

    #[test]
    fn drop_location_modules() {
        assert_eq!(drop_location_module(0xE000_1007), "NDIS");
        assert_eq!(drop_location_module(0xE000_4500), "TCPIP");
        assert_eq!(drop_location_module(0xE000_9007), "NetCx");
        assert_eq!(drop_location_module(0xE000_0001), "unknown");
        assert_eq!(drop_location_module(0xE000_A001), "unknown");
        assert_eq!(drop_location_module(0xE001_1007), "unknown");
        assert_eq!(drop_location_module(0), "unknown");
        // The `# Module` headers of the table agree with the nibble rule.
        let mut module = "";
        for line in include_str!("tables/drop_locations.txt").lines() {
            if let Some(m) = line.strip_prefix("# ") {
                module = m;
            } else if let Some((value, _)) = line.split_once(' ') {
                let value = u32::from_str_radix(value.trim_start_matches("0x"), 16).unwrap();
                assert_eq!(drop_location_module(value), module, "{line}");
            }
        }
    }

    #[test]
    fn categories_by_code() {
        use DropCategory::*;
        let cases = [
            (909, Policy),
            (1207, Policy),
            (1231, Policy),
            (922, AddressResolution),
            (1204, Unreachable),
            (204, Unreachable),
            (1210, SessionLoss),
            (1217, SessionLoss),
            (3, Resources),
            (201, Resources),
            (907, NoRoute),
            (902, NoRoute),
            (912, InvalidPacket),
            (920, Mtu),
            (23, Mtu),
            (1417, Resources),
            (1405, Policy),
            (918, Other),
            (0, Other),
            (u32::MAX, Other),
        ];
        for (code, category) in cases {
            assert_eq!(drop_category(Some(code), None), category, "code {code}");
        }
        // The code wins over the text.
        assert_eq!(drop_category(Some(909), Some("INET: received RST")), Policy);
        assert_eq!(drop_category(None, None), Other);
    }

    #[test]
    fn categories_by_text() {
        use DropCategory::*;
        assert_eq!(
            drop_category(None, Some("INET: transport endpoint was not found")),
            Unreachable
        );
        assert_eq!(
            drop_category(None, Some("INET: transport endpoint was not found ")),
            Unreachable
        );
        assert_eq!(drop_category(None, Some("Inspection drop")), Policy);
        assert_eq!(drop_category(None, Some("228")), Other);
        assert_eq!(drop_category(None, Some("1204")), Unreachable);
        // Wording of other tools (tcpip.sys, netsh) through the keyword rules.
        assert_eq!(
            drop_category(None, Some("Transport endpoint was not found")),
            Unreachable
        );
        assert_eq!(drop_category(None, Some("Received RST (subreason 0)")), SessionLoss);
        assert_eq!(drop_category(None, Some("Allocation Failure")), Resources);
        assert_eq!(
            drop_category(None, Some("Address Resolution Timeout")),
            AddressResolution
        );
        assert_eq!(drop_category(None, Some("Blocked by firewall")), Policy);
        assert_eq!(drop_category(None, Some("First fragment incomplete")), Other);
        // Other languages fall through.
        assert_eq!(drop_category(None, Some("Unbekannter Grund")), Other);
        assert_eq!(drop_category(None, Some("")), Other);
    }

    #[test]
    fn text_and_code_agree_on_every_table_text() {
        let index = drop_reason_text_index();
        for (&code, text) in newest_drop_reasons() {
            // Texts shared by several codes (987–990) resolve to the first.
            if index.get(&text.trim().to_ascii_lowercase()) == Some(&code) {
                assert_eq!(
                    drop_category(None, Some(text)),
                    drop_category(Some(code), None),
                    "{code} {text}"
                );
            }
        }
    }

    #[test]
    fn category_names() {
        for category in DropCategory::ALL {
            let json = serde_json::to_string(&category).unwrap();
            assert_eq!(json, format!("\"{}\"", category.as_str()));
            let back: DropCategory = serde_json::from_str(&json).unwrap();
            assert_eq!(back, category);
            assert_eq!(category.as_str().parse::<DropCategory>(), Ok(category));
            assert_eq!(category.to_string(), category.as_str());
            assert!(!next_step(category).is_empty());
        }
        assert_eq!("SESSION_LOSS".parse::<DropCategory>(), Ok(DropCategory::SessionLoss));
        assert!("lost".parse::<DropCategory>().is_err());
        assert!(next_step(DropCategory::Policy).contains("auditpol"));
        assert!(next_step(DropCategory::Resources).contains("Get-NetAdapterStatistics"));
        assert!(next_step(DropCategory::AddressResolution).contains("Get-NetNeighbor"));
        assert!(next_step(DropCategory::NoRoute).contains("Get-NetRoute"));
    }
}
