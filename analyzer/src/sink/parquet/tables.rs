//! The tables of an export and how a row of each is made from what the
//! readers and the diagnosis already hold.

use ::parquet::data_type::ByteArray;
use rustc_hash::FxHashMap;

use super::table::{opt, req, Batch, Cell, Field, Kind::*};
use crate::diagnose::{Diagnosis, Finding, Problem};
use crate::flows::parse::{parse_with_len, Transport};
use crate::model::*;
use crate::pktmon::catalog::{drop_category, drop_location_name, Catalog};

/// The tables, in the order they are committed (`captures` last: a capture
/// listed there has all its other files in place).
pub const TABLES: [&str; 6] = [
    "appearances",
    "components",
    "counters",
    "findings",
    "problems",
    "captures",
];

pub const CAPTURES: &[Field] = &[
    req("capture_id", Str),
    req("file", Str),
    opt("host", Str),
    req("file_size", Int64),
    opt("kind", Str),
    req("has_pktmon_metadata", Bool),
    opt("windows_build", Int32),
    opt("os", Str),
    opt("capture_start", TimestampNs),
    opt("start_time", TimestampNs),
    opt("end_time", TimestampNs),
    opt("timezone_bias_minutes", Int32),
    req("appearances", Int64),
    req("flow_events", Int64),
    req("drop_events", Int64),
    req("packets", Int64),
    req("dropped_packets", Int64),
    req("components", Int64),
    req("events_lost", Int64),
    req("buffers_lost", Int64),
    req("status", Str),
    req("problems", Int64),
    req("findings", Int64),
    req("errors", Int64),
    opt("error", Str),
    req("warnings", Int64),
    req("exported_at", TimestampNs),
    req("tool", Str),
];

pub const COMPONENTS: &[Field] = &[
    req("capture_id", Str),
    req("component_id", Int32),
    opt("type", Str),
    req("type_id", Int32),
    req("name", Str),
    req("description", Str),
    opt("mac", Str),
    opt("if_index", Int64),
    req("addresses", StrList),
    req("appearances", Int64),
    req("drop_events", Int64),
];

/// The appearance columns without packet bytes; `payload` is added with `--payload`.
pub const APPEARANCES: &[Field] = &[
    req("capture_id", Str),
    req("time", TimestampNs),
    req("frame", Int64),
    req("packet", Int64),
    opt("pkt_group_id", Int64),
    opt("pkt_number", Int32),
    opt("appearance", Int32),
    opt("direction", Str),
    opt("packet_type", Str),
    opt("component_id", Int32),
    opt("edge_id", Int32),
    opt("filter_id", Int32),
    req("original_size", Int64),
    req("logged_size", Int64),
    req("is_drop", Bool),
    opt("drop_reason", Int64),
    opt("drop_reason_text", Str),
    opt("drop_location", Int64),
    opt("drop_location_name", Str),
    opt("drop_category", Str),
    opt("ip_src", Str),
    opt("ip_dst", Str),
    opt("ip_proto", Int32),
    opt("src_port", Int32),
    opt("dst_port", Int32),
    opt("tcp_flags", Int32),
];

pub const APPEARANCES_WITH_PAYLOAD: &[Field] = &{
    let mut all = [req("payload", Binary); 27];
    let mut i = 0;
    while i < APPEARANCES.len() {
        all[i] = APPEARANCES[i];
        i += 1;
    }
    all
};

pub const COUNTERS: &[Field] = &[
    req("capture_id", Str),
    req("counter", Str),
    req("component_id", Int32),
    req("component_name", Str),
    opt("edge", Str),
    opt("edge_id", Int32),
    req("direction", Str),
    req("packets", Int64),
    req("bytes", Int64),
    req("events_captured", Int64),
];

pub const FINDINGS: &[Field] = &[
    req("capture_id", Str),
    req("finding", Int32),
    req("locality", Str),
    req("cause", Str),
    req("symptom", Str),
    req("count", Int64),
    opt("flow", Str),
    opt("first_time", TimestampNs),
    opt("last_time", TimestampNs),
    req("drop_reasons", StrList),
    req("drop_components", StrList),
    req("frames", Int64),
    req("display_filter", Str),
    opt("pktmon_filter", Str),
    req("explanation", Str),
    req("next_step", Str),
    opt("problem", Int32),
    opt("background", Str),
];

pub const PROBLEMS: &[Field] = &[
    req("capture_id", Str),
    req("rank", Int32),
    req("severity", Int32),
    req("locality", Str),
    req("cause", Str),
    req("title", Str),
    req("endpoints", StrList),
    req("packets", Int64),
    req("drop_events", Int64),
    req("flows", Int64),
    opt("first_time", TimestampNs),
    opt("last_time", TimestampNs),
    req("explanation", Str),
    req("next_step", Str),
    req("display_filter", Str),
    opt("pktmon_filter", Str),
    req("findings", Int64),
];

/// Nanoseconds since 1970 of a FILETIME (100-ns ticks since 1601).
pub fn unix_nanos(ft: FileTime) -> i64 {
    (ft as i128 - UNIX_EPOCH_FILETIME as i128)
        .saturating_mul(100)
        .clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Nanoseconds since 1970 of `YYYY-MM-DDTHH:MM:SS[.fffffff]Z` (the diagnosis' times).
pub fn parse_utc_nanos(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let rest = s.get(19..)?.strip_suffix('Z')?;
    let frac_ns = match rest.strip_prefix('.') {
        None if rest.is_empty() => 0,
        Some(digits) if !digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|c| c.is_ascii_digit()) => {
            digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let days = crate::time::days_from_civil(y, mo as u32, d as u32);
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec) * 1_000_000_000).saturating_add(frac_ns))
}

/// `date=YYYY-MM-DD` of a FILETIME (UTC).
pub fn date_partition(ft: FileTime) -> String {
    let (y, m, d, ..) = crate::time::civil(ft);
    format!("date={y:04}-{m:02}-{d:02}")
}

/// Builds appearance rows as packets stream by, caching the texts of codes.
pub struct AppearanceRows {
    pub batch: Batch,
    capture_id: ByteArray,
    payload: bool,
    directions: FxHashMap<u16, ByteArray>,
    packet_types: FxHashMap<u16, ByteArray>,
    /// Address texts, so that each is formatted and allocated once (cleared when large).
    addresses: FxHashMap<std::net::IpAddr, ByteArray>,
}

impl AppearanceRows {
    pub fn new(capture_id: &str, payload: bool) -> AppearanceRows {
        let mut batch = Batch::new(if payload { APPEARANCES_WITH_PAYLOAD } else { APPEARANCES });
        batch.take(super::ROW_GROUP_ROWS);
        AppearanceRows {
            batch,
            capture_id: ByteArray::from(capture_id),
            payload,
            directions: FxHashMap::default(),
            packet_types: FxHashMap::default(),
            addresses: FxHashMap::default(),
        }
    }

    fn address(&mut self, a: std::net::IpAddr) -> ByteArray {
        if self.addresses.len() > 100_000 {
            self.addresses.clear();
        }
        self.addresses
            .entry(a)
            .or_insert_with(|| ByteArray::from(a.to_string().into_bytes()))
            .clone()
    }

    pub fn fields(&self) -> &'static [Field] {
        if self.payload {
            APPEARANCES_WITH_PAYLOAD
        } else {
            APPEARANCES
        }
    }

    /// Appends the row of `a`, which belongs to grouped packet `packet`.
    pub fn push(&mut self, a: &Appearance, packet: usize, catalog: &Catalog) {
        let b = &mut self.batch;
        b.push(0, self.capture_id.clone());
        b.push(1, unix_nanos(a.time));
        b.push(2, a.index + 1);
        b.push(3, packet as u64);
        b.push(4, a.group_id.map(|g| g as i64));
        b.push(5, a.pkt_number);
        b.push(6, a.appearance);
        let dir = a.direction.map(|d| {
            self.directions
                .entry(d)
                .or_insert_with(|| code_text(catalog.direction(d), d))
                .clone()
        });
        b.push(7, dir);
        let pt = a.packet_type.map(|t| {
            self.packet_types
                .entry(t)
                .or_insert_with(|| code_text(catalog.packet_type(t), t))
                .clone()
        });
        b.push(8, pt);
        b.push(9, a.component_id);
        b.push(10, a.edge_id);
        b.push(11, a.filter_id);
        b.push(12, a.original_size);
        b.push(13, a.logged_size);
        b.push(14, a.is_drop());
        match &a.drop {
            Some(d) => {
                // The reason's text as `drops` counts it.
                let text = d
                    .reason_text
                    .clone()
                    .or_else(|| d.reason.and_then(|c| catalog.drop_reason(c)).map(str::to_string))
                    .or_else(|| d.reason.map(|c| c.to_string()))
                    .unwrap_or_default();
                let text = text.trim();
                b.push(15, d.reason);
                b.push(16, text);
                b.push(17, d.location);
                b.push(18, d.location.and_then(drop_location_name));
                b.push(19, drop_category(d.reason, Some(text)).as_str());
            }
            None => {
                for c in 15..=19 {
                    b.push(c, Cell::Null);
                }
            }
        }
        let view = parse_with_len(a.link_type, &a.payload, a.original_size);
        let ip = view.as_ref().and_then(|v| v.ip);
        let (src, dst) = match ip {
            Some(h) => (Some(self.address(h.src)), Some(self.address(h.dst))),
            None => (None, None),
        };
        let b = &mut self.batch;
        b.push(20, src);
        b.push(21, dst);
        b.push(22, ip.map(|h| h.protocol));
        let (sp, dp, flags) = match view.map(|v| v.transport) {
            Some(Transport::Tcp(t)) => (Some(t.src_port), Some(t.dst_port), Some(t.flags as i32)),
            Some(Transport::Udp(u)) => (Some(u.src_port), Some(u.dst_port), None),
            _ => (None, None, None),
        };
        b.push(23, sp);
        b.push(24, dp);
        b.push(25, flags);
        if self.payload {
            b.push(26, ByteArray::from(a.payload.as_slice()));
        }
    }
}

fn code_text(text: Option<&str>, code: u16) -> ByteArray {
    match text {
        Some(t) => ByteArray::from(t.trim()),
        None => ByteArray::from(code.to_string().into_bytes()),
    }
}

/// Facts gathered while the capture streams by, for the small tables.
#[derive(Debug, Default)]
pub struct Tally {
    pub appearances: u64,
    pub drop_events: u64,
    pub first: Option<FileTime>,
    pub last: Option<FileTime>,
    /// Packets that have a drop, by packet id.
    pub dropped: Vec<bool>,
    pub packets: u64,
    /// component → (appearances, drop events).
    pub used: FxHashMap<u16, (u64, u64)>,
    /// (component, inbound side) → drop events.
    pub drop_sides: FxHashMap<(u16, bool), u64>,
    /// (component, edge, inbound side) → flow events.
    pub flow_sides: FxHashMap<(u16, u16, bool), u64>,
    pub components: ComponentTable,
    pub drop_counters: Vec<DropCounters>,
    pub flow_counters: Vec<FlowCounters>,
}

impl Tally {
    pub fn packet(&mut self, a: &Appearance, packet: usize) {
        self.appearances += 1;
        self.first = Some(self.first.map_or(a.time, |t| t.min(a.time)));
        self.last = Some(self.last.map_or(a.time, |t| t.max(a.time)));
        if packet >= self.dropped.len() {
            self.dropped.resize(packet + 1, false);
            self.packets = self.dropped.len() as u64;
        }
        if let Some(id) = a.component_id {
            let e = self.used.entry(id).or_default();
            e.0 += 1;
            e.1 += u64::from(a.is_drop());
        }
        // In, Rx and Ingress tags are odd, Out, Tx and Egress even (as `info` counts them).
        let side = a.direction.filter(|&d| d != 0).map(|d| d % 2 == 1);
        if a.is_drop() {
            self.drop_events += 1;
            self.dropped[packet] = true;
            if let (Some(id), Some(s)) = (a.component_id, side) {
                *self.drop_sides.entry((id, s)).or_default() += 1;
            }
        } else if let (Some(id), Some(edge), Some(s)) = (a.component_id, a.edge_id, side) {
            *self.flow_sides.entry((id, edge, s)).or_default() += 1;
        }
    }

    pub fn other(&mut self, r: &Record) {
        match r {
            Record::Component(c) => self.components.add_component(c.clone()),
            Record::Property { component_id, property } => {
                self.components.add_property(*component_id, property.clone())
            }
            Record::DropCounters(d) => self.drop_counters.push(d.clone()),
            Record::FlowCounters(f) => self.flow_counters.push(f.clone()),
            _ => {}
        }
    }

    pub fn dropped_packets(&self) -> u64 {
        self.dropped.iter().filter(|&&d| d).count() as u64
    }
}

/// What the `captures` row says besides the tally and the diagnosis.
pub struct CaptureFacts<'a> {
    pub capture_id: &'a str,
    pub file: &'a str,
    pub host: Option<&'a str>,
    pub file_size: u64,
    pub info: &'a CaptureInfo,
    pub errors: u64,
    pub error: Option<String>,
    pub warnings: u64,
    pub exported_at: FileTime,
}

pub fn captures_row(f: &CaptureFacts<'_>, t: &Tally, d: &Diagnosis) -> Batch {
    let mut b = Batch::new(CAPTURES);
    let kind = f.info.kind.and_then(|k| {
        serde_json::to_value(k)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    });
    b.row(vec![
        f.capture_id.into(),
        f.file.into(),
        f.host.into(),
        f.file_size.into(),
        kind.into(),
        f.info.kind.is_some_and(|k| k.has_metadata()).into(),
        f.info.os_build.map(|b| b as i32).into(),
        f.info.os_name().into(),
        f.info.start_time.map(unix_nanos).into(),
        t.first.map(unix_nanos).into(),
        t.last.map(unix_nanos).into(),
        f.info.timezone_bias_minutes.into(),
        t.appearances.into(),
        (t.appearances - t.drop_events).into(),
        t.drop_events.into(),
        t.packets.into(),
        t.dropped_packets().into(),
        (t.components.len() as u64).into(),
        f.info.events_lost.into(),
        f.info.buffers_lost.into(),
        d.verdict.status.as_str().into(),
        (d.verdict.problems.len() as u64).into(),
        (d.findings.len() as u64).into(),
        f.errors.into(),
        f.error.clone().into(),
        f.warnings.into(),
        unix_nanos(f.exported_at).into(),
        concat!("pktmon-analyzer ", env!("CARGO_PKG_VERSION")).into(),
    ]);
    b
}

/// `aa:bb:cc:dd:ee:ff`.
fn mac_text(m: [u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

pub fn components_rows(capture_id: &str, t: &Tally, catalog: &Catalog) -> Batch {
    let mut b = Batch::new(COMPONENTS);
    for c in t.components.iter() {
        let (n, drops) = t.used.get(&c.id).copied().unwrap_or((0, 0));
        let addresses: Vec<String> = c
            .ipv4_addresses()
            .map(|a| a.to_string())
            .chain(c.ipv6_addresses().map(|a| a.to_string()))
            .collect();
        b.row(vec![
            capture_id.into(),
            c.id.into(),
            catalog.component_type(c.component_type).map(str::trim).into(),
            c.component_type.into(),
            c.name.as_str().into(),
            c.description.as_str().into(),
            c.mac().map(mac_text).into(),
            c.if_index().into(),
            addresses.into(),
            n.into(),
            drops.into(),
        ]);
    }
    b
}

pub fn counters_rows(capture_id: &str, t: &Tally, catalog: &Catalog) -> Batch {
    let mut b = Batch::new(COUNTERS);
    let dir = |d: u16| {
        catalog
            .direction(d)
            .map(|t| t.trim().to_string())
            .unwrap_or_else(|| d.to_string())
    };
    let name = |id: u16| t.components.get(id).map(|c| c.name.clone()).unwrap_or_default();
    let side = |tag: u16| (tag != 0).then_some(tag % 2 == 1);
    for d in &t.drop_counters {
        for (tag, packets, bytes) in [
            (d.direction_in, d.packets_in, d.bytes_in),
            (d.direction_out, d.packets_out, d.bytes_out),
        ] {
            let events = side(tag).map_or(0, |s| t.drop_sides.get(&(d.component_id, s)).copied().unwrap_or(0));
            b.row(vec![
                capture_id.into(),
                "drop".into(),
                d.component_id.into(),
                name(d.component_id).into(),
                Cell::Null,
                Cell::Null,
                dir(tag).into(),
                packets.into(),
                bytes.into(),
                events.into(),
            ]);
        }
    }
    for f in &t.flow_counters {
        for (tag, packets, bytes) in [
            (f.direction_in, f.packets_in, f.bytes_in),
            (f.direction_out, f.packets_out, f.bytes_out),
        ] {
            let events = side(tag).map_or(0, |s| {
                t.flow_sides.get(&(f.component_id, f.edge_id, s)).copied().unwrap_or(0)
            });
            b.row(vec![
                capture_id.into(),
                "flow".into(),
                f.component_id.into(),
                name(f.component_id).into(),
                f.edge_name.as_str().into(),
                f.edge_id.into(),
                dir(tag).into(),
                packets.into(),
                bytes.into(),
                events.into(),
            ]);
        }
    }
    b
}

pub fn findings_rows(capture_id: &str, findings: &[Finding]) -> Batch {
    let mut b = Batch::new(FINDINGS);
    for (i, f) in findings.iter().enumerate() {
        let reasons: Vec<String> = f.drops.iter().map(|(d, _)| d.reason_text.clone()).collect();
        let comps: Vec<String> = f
            .drops
            .iter()
            .map(|(d, _)| d.component_name.clone())
            .filter(|c| !c.is_empty())
            .collect();
        b.row(vec![
            capture_id.into(),
            (i as i32).into(),
            f.locality.as_str().into(),
            f.cause.as_str().into(),
            f.symptom.as_str().into(),
            f.count.into(),
            f.flow.clone().into(),
            parse_utc_nanos(&f.first_time).into(),
            parse_utc_nanos(&f.last_time).into(),
            reasons.into(),
            comps.into(),
            (f.frames.len() as u64).into(),
            f.display_filter.as_str().into(),
            f.pktmon_filter.clone().into(),
            f.explanation.as_str().into(),
            f.next_step.as_str().into(),
            f.problem.map(|r| r as i32).into(),
            f.background.into(),
        ]);
    }
    b
}

pub fn problems_rows(capture_id: &str, problems: &[Problem]) -> Batch {
    let mut b = Batch::new(PROBLEMS);
    for p in problems {
        b.row(vec![
            capture_id.into(),
            (p.rank as i32).into(),
            p.severity.into(),
            p.locality.as_str().into(),
            p.cause.as_str().into(),
            p.title.as_str().into(),
            p.endpoints.clone().into(),
            p.packets.into(),
            p.drop_events.into(),
            p.flows.into(),
            parse_utc_nanos(&p.first_time).into(),
            parse_utc_nanos(&p.last_time).into(),
            p.explanation.as_str().into(),
            p.next_step.as_str().into(),
            p.display_filter.as_str().into(),
            p.pktmon_filter.clone().into(),
            (p.findings.len() as u64).into(),
        ]);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_parse_to_nanoseconds() {
        assert_eq!(parse_utc_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_utc_nanos("2021-06-03T13:49:55.6187930Z"),
            Some(1_622_728_195_618_793_000)
        );
        assert_eq!(parse_utc_nanos(""), None);
        assert_eq!(parse_utc_nanos("2021-13-03T13:49:55Z"), None);
        // The diagnosis' text and the FILETIME agree.
        let ft: FileTime = 132_672_017_956_187_930;
        assert_eq!(parse_utc_nanos(&crate::time::format_utc(ft)), Some(unix_nanos(ft)));
        assert_eq!(date_partition(ft), "date=2021-06-03");
    }

    #[test]
    fn the_payload_table_is_the_plain_one_and_payload() {
        assert_eq!(APPEARANCES_WITH_PAYLOAD.len(), APPEARANCES.len() + 1);
        for (a, b) in APPEARANCES.iter().zip(APPEARANCES_WITH_PAYLOAD) {
            assert_eq!(a.name, b.name);
        }
        assert_eq!(APPEARANCES_WITH_PAYLOAD[APPEARANCES.len()].name, "payload");
    }
}
