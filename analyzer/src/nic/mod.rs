//! Network adapter counter snapshots: the third witness of Microsoft's
//! packet-loss method, beside the PktMon capture and netsh trace.
//!
//! A NIC that discards in hardware (receive ring full, no receive descriptor,
//! CRC errors) drops packets below the point where PktMon sees them; only the
//! adapter's own counters show those drops. Two forms are read, detected by
//! content:
//!
//! * `Get-NetAdapterStatistics | ConvertTo-Json` (one object or an array;
//!   UTF-16LE with BOM as Windows PowerShell 5.1's `>` writes it, or UTF-8),
//!   with the documented properties of `MSFT_NetAdapterStatisticsSettingData`
//!   (`ReceivedDiscardedPackets`, `ReceivedPacketErrors`,
//!   `OutboundDiscardedPackets`, `OutboundPacketErrors`, the unicast,
//!   multicast and broadcast packet and byte counts, `Name`,
//!   `InterfaceDescription`, `ifAlias`/`InterfaceAlias`) and, when present,
//!   `Get-NetAdapter`'s `ifIndex`/`InterfaceIndex` and `MacAddress`;
//! * `typeperf` / `relog` CSV of the `\Network Interface(*)\…` (or
//!   `\Network Adapter(*)\…`) counters: a `"(PDH-CSV 4.0) (<zone>)(<bias>)"`
//!   header naming each counter as `\\HOST\Object(Instance)\Counter`, then one
//!   row per sample in the machine's local time. Instance names are the
//!   interface descriptions with `(` `)` `#` `/` `\` written as `[` `]` `_` `_` `_`.
//!
//! [`read`] gives one [`Snapshot`] per JSON file and per CSV row;
//! [`NicSet::from_snapshots`] orders them and takes the change between the
//! first and the last, which `diagnose::nic` joins to a capture's adapters.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Location};
use crate::model::FileTime;

/// Largest snapshot file read (a typeperf log of a day at one sample a second is a few MB).
const MAX_BYTES: u64 = 64 << 20;

/// The counters a snapshot can carry. All are totals since the adapter started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Counter {
    ReceivedDiscarded,
    ReceivedErrors,
    OutboundDiscarded,
    OutboundErrors,
    /// Unicast + multicast + broadcast packets received (JSON only: typeperf gives rates).
    ReceivedPackets,
    SentPackets,
    ReceivedBytes,
    SentBytes,
}

impl Counter {
    /// The counters that mean loss: discards and errors, each way.
    pub const LOSS: [Counter; 4] = [
        Counter::ReceivedDiscarded,
        Counter::ReceivedErrors,
        Counter::OutboundDiscarded,
        Counter::OutboundErrors,
    ];

    /// The name `Get-NetAdapterStatistics` gives it.
    pub fn property(self) -> &'static str {
        match self {
            Counter::ReceivedDiscarded => "ReceivedDiscardedPackets",
            Counter::ReceivedErrors => "ReceivedPacketErrors",
            Counter::OutboundDiscarded => "OutboundDiscardedPackets",
            Counter::OutboundErrors => "OutboundPacketErrors",
            Counter::ReceivedPackets => "Received*Packets",
            Counter::SentPackets => "Sent*Packets",
            Counter::ReceivedBytes => "ReceivedBytes",
            Counter::SentBytes => "SentBytes",
        }
    }

    /// The performance counter of the `Network Interface` object, when there is one.
    pub fn perf_counter(self) -> Option<&'static str> {
        Some(match self {
            Counter::ReceivedDiscarded => "Packets Received Discarded",
            Counter::ReceivedErrors => "Packets Received Errors",
            Counter::OutboundDiscarded => "Packets Outbound Discarded",
            Counter::OutboundErrors => "Packets Outbound Errors",
            _ => return None,
        })
    }

    /// In words, plural: "received packets discarded".
    pub fn words(self) -> &'static str {
        match self {
            Counter::ReceivedDiscarded => "received packets discarded",
            Counter::ReceivedErrors => "received packets with errors",
            Counter::OutboundDiscarded => "outbound packets discarded",
            Counter::OutboundErrors => "outbound packets with errors",
            Counter::ReceivedPackets => "packets received",
            Counter::SentPackets => "packets sent",
            Counter::ReceivedBytes => "bytes received",
            Counter::SentBytes => "bytes sent",
        }
    }

    pub fn inbound(self) -> bool {
        matches!(
            self,
            Counter::ReceivedDiscarded | Counter::ReceivedErrors | Counter::ReceivedPackets | Counter::ReceivedBytes
        )
    }

    pub fn is_error(self) -> bool {
        matches!(self, Counter::ReceivedErrors | Counter::OutboundErrors)
    }
}

/// One adapter's counters in one snapshot, with what names it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AdapterStats {
    /// The adapter's name (`Name`, `ifAlias`, `InterfaceAlias`: "Ethernet").
    pub name: Option<String>,
    /// `InterfaceDescription` ("Intel(R) Ethernet Connection (7) I219-LM").
    pub description: Option<String>,
    /// A typeperf instance name as written (the description, mangled).
    pub instance: Option<String>,
    pub if_index: Option<u32>,
    /// `MacAddress` as `00-15-5D-01-02-03`.
    pub mac: Option<String>,
    pub counters: BTreeMap<Counter, u64>,
}

impl AdapterStats {
    /// How the reports name it: description, else instance, else name.
    pub fn label(&self) -> String {
        self.description
            .clone()
            .or_else(|| self.instance.clone())
            .or_else(|| self.name.clone())
            .or_else(|| self.if_index.map(|i| format!("ifIndex {i}")))
            .unwrap_or_else(|| "an unnamed adapter".to_string())
    }

    /// The MAC as six bytes.
    pub fn mac_bytes(&self) -> Option<[u8; 6]> {
        parse_mac(self.mac.as_deref()?)
    }

    /// Whether two entries (of two snapshots) are the same adapter.
    fn same(&self, o: &AdapterStats) -> bool {
        let eq = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        if let (Some(a), Some(b)) = (self.if_index, o.if_index) {
            return a == b;
        }
        if let (Some(a), Some(b)) = (self.mac_bytes(), o.mac_bytes()) {
            return a == b;
        }
        let mangled = |s: &AdapterStats| {
            s.instance
                .clone()
                .or_else(|| s.description.as_deref().map(mangle_instance))
        };
        eq(&self.description, &o.description) || eq(&mangled(self), &mangled(o)) || eq(&self.name, &o.name)
    }
}

/// One reading of the counters: a JSON file, or one row of a typeperf CSV.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    pub file: String,
    /// The CSV line of the row (1-based); none for JSON.
    pub line: Option<u64>,
    /// When it was taken (UTC), when the file says (typeperf rows, a `Timestamp` property).
    #[serde(skip)]
    pub time: Option<FileTime>,
    pub time_utc: Option<String>,
    /// `json` or `typeperf_csv`.
    pub form: &'static str,
    pub adapters: Vec<AdapterStats>,
}

impl Snapshot {
    /// `file` or `file:line`.
    pub fn place(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.file),
            None => self.file.clone(),
        }
    }
}

/// The description as typeperf writes an instance name: `(` `)` become `[` `]`, `#` `/` `\` become `_`.
pub fn mangle_instance(description: &str) -> String {
    description
        .chars()
        .map(|c| match c {
            '(' => '[',
            ')' => ']',
            '#' | '/' | '\\' => '_',
            c => c,
        })
        .collect()
}

/// `00-15-5D-01-02-03`, `00:15:5d:01:02:03` or `00155D010203`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let seps = s.chars().filter(|c| !c.is_ascii_hexdigit()).count();
    if hex.len() != 12 || !(seps == 0 || seps == 5) {
        return None;
    }
    let mut out = [0u8; 6];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Decodes text by its BOM (UTF-16LE, UTF-16BE, UTF-8), else UTF-16LE when
/// every other byte of the start is zero, else UTF-8 (invalid bytes replaced).
pub fn decode_text(bytes: &[u8]) -> String {
    let utf16 = |b: &[u8], le: bool| {
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, false);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    let head = &bytes[..bytes.len().min(64) & !1];
    if head.len() >= 4 && head.chunks_exact(2).all(|c| c[1] == 0 && c[0] != 0) {
        return utf16(bytes, true);
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// What a snapshot file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Json,
    Csv,
}

fn form_of(text: &str) -> Option<Form> {
    let t = text.trim_start_matches('\u{FEFF}').trim_start();
    if t.starts_with("\"(PDH-CSV") {
        let first = t.lines().next().unwrap_or("");
        if first.contains("\\Network Interface(") || first.contains("\\Network Adapter(") {
            return Some(Form::Csv);
        }
        return None;
    }
    if (t.starts_with('{') || t.starts_with('['))
        && [
            "ReceivedDiscardedPackets",
            "ReceivedPacketErrors",
            "OutboundDiscardedPackets",
        ]
        .iter()
        .any(|k| has_key(t, k))
    {
        return Some(Form::Json);
    }
    None
}

/// Whether JSON text has `"key":` (a property named so, not a string value that says it).
fn has_key(text: &str, key: &str) -> bool {
    let quoted = format!("\"{key}\"");
    text.match_indices(&quoted)
        .any(|(at, q)| text[at + q.len()..].trim_start().starts_with(':'))
}

/// Whether the first bytes of a file are an adapter counter snapshot.
pub fn looks_like_snapshot(head: &[u8]) -> bool {
    form_of(&decode_text(head)).is_some()
}

/// Reads one snapshot file: one snapshot for JSON, one per row for typeperf CSV.
pub fn read(path: &Path) -> Result<Vec<Snapshot>, Error> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
    if meta.len() > MAX_BYTES {
        return Err(Error::new(
            name,
            Location::File,
            format!(
                "adapter counter snapshot of {} bytes: more than {MAX_BYTES} is not read",
                meta.len()
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    read_bytes(&name, &bytes)
}

/// Reads a snapshot held in memory.
pub fn read_bytes(name: &str, bytes: &[u8]) -> Result<Vec<Snapshot>, Error> {
    let text = decode_text(bytes);
    match form_of(&text) {
        Some(Form::Json) => parse_json(name, &text).map(|s| vec![s]),
        Some(Form::Csv) => parse_csv(name, &text),
        None => Err(Error::new(
            name,
            Location::Offset(0),
            "not an adapter counter snapshot: expected Get-NetAdapterStatistics | ConvertTo-Json output or \
             typeperf CSV of \\Network Interface(*) counters",
        )),
    }
}

// ---------------------------------------------------------------------------
// Get-NetAdapterStatistics | ConvertTo-Json
// ---------------------------------------------------------------------------

fn parse_json(name: &str, text: &str) -> Result<Snapshot, Error> {
    let body = text.trim_start_matches('\u{FEFF}');
    let value: serde_json::Value = serde_json::from_str(body).map_err(|e| {
        Error::new(
            name,
            Location::Line(e.line() as u64),
            format!("adapter counter JSON does not parse: {e}"),
        )
    })?;
    let objects: Vec<&serde_json::Map<String, serde_json::Value>> = match &value {
        serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_object()).collect(),
        serde_json::Value::Object(o) => match o.get("value").and_then(|v| v.as_array()) {
            // `ConvertTo-Json` of a wrapped collection: {"value": [...], "Count": n}.
            Some(a) if !o.contains_key("ReceivedDiscardedPackets") => a.iter().filter_map(|v| v.as_object()).collect(),
            _ => vec![o],
        },
        _ => Vec::new(),
    };
    let mut snap = Snapshot {
        file: name.to_string(),
        form: "json",
        ..Default::default()
    };
    for o in objects {
        // Property names as PowerShell writes them; JSON from other tools may differ in case.
        let get = |k: &str| {
            o.get(k)
                .or_else(|| o.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v))
                .filter(|v| !v.is_null())
        };
        let text_of = |k: &str| {
            get(k).and_then(|v| match v {
                serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        let num = |k: &str| -> Option<u64> {
            get(k).and_then(|v| match v {
                serde_json::Value::Number(n) => n
                    .as_u64()
                    .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
        };
        let mut a = AdapterStats {
            name: text_of("Name")
                .or_else(|| text_of("ifAlias"))
                .or_else(|| text_of("InterfaceAlias")),
            description: text_of("InterfaceDescription").or_else(|| text_of("ifDesc")),
            instance: None,
            if_index: ["ifIndex", "InterfaceIndex"]
                .iter()
                .find_map(|k| num(k))
                .and_then(|v| u32::try_from(v).ok()),
            mac: text_of("MacAddress").or_else(|| text_of("PermanentAddress")),
            counters: BTreeMap::new(),
        };
        for c in Counter::LOSS {
            if let Some(v) = num(c.property()) {
                a.counters.insert(c, v);
            }
        }
        let sum = |keys: &[&str]| -> Option<u64> {
            let vals: Vec<u64> = keys.iter().filter_map(|k| num(k)).collect();
            (!vals.is_empty()).then(|| vals.iter().fold(0u64, |s, v| s.saturating_add(*v)))
        };
        if let Some(v) = sum(&[
            "ReceivedUnicastPackets",
            "ReceivedMulticastPackets",
            "ReceivedBroadcastPackets",
        ]) {
            a.counters.insert(Counter::ReceivedPackets, v);
        }
        if let Some(v) = sum(&["SentUnicastPackets", "SentMulticastPackets", "SentBroadcastPackets"]) {
            a.counters.insert(Counter::SentPackets, v);
        }
        if let Some(v) = num("ReceivedBytes") {
            a.counters.insert(Counter::ReceivedBytes, v);
        }
        if let Some(v) = num("SentBytes") {
            a.counters.insert(Counter::SentBytes, v);
        }
        if snap.time.is_none() {
            snap.time = text_of("Timestamp").and_then(|t| parse_iso_utc(&t));
        }
        if !a.counters.is_empty() {
            snap.adapters.push(a);
        }
    }
    if snap.adapters.is_empty() {
        return Err(Error::new(
            name,
            Location::File,
            "adapter counter JSON holds no adapter with ReceivedDiscardedPackets, ReceivedPacketErrors, \
             OutboundDiscardedPackets or OutboundPacketErrors",
        ));
    }
    snap.time_utc = snap.time.map(crate::time::format_utc);
    Ok(snap)
}

/// `2026-12-04T23:04:04.1234567Z` (or with an offset `+01:00`, or none: taken as UTC).
fn parse_iso_utc(s: &str) -> Option<FileTime> {
    let s = s.trim();
    let (date, rest) = s.split_once('T').or_else(|| s.split_once(' '))?;
    let mut d = date.split('-');
    let (y, m, day): (i64, u32, u32) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let (clock, offset_min) = if let Some(c) = rest.strip_suffix('Z') {
        (c, 0i64)
    } else if let Some(at) = rest.rfind(['+', '-']).filter(|&i| i >= 8) {
        let (c, off) = rest.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (h, mi) = off[1..].split_once(':').unwrap_or((&off[1..], "0"));
        (c, sign * (h.parse::<i64>().ok()? * 60 + mi.parse::<i64>().ok()?))
    } else {
        (rest, 0)
    };
    let ticks = clock_ticks(clock)?;
    Some(day_ticks(y, m, day)? + ticks - offset_min * 600_000_000)
}

/// `HH:MM:SS[.fffffff]` as 100-ns ticks since midnight.
fn clock_ticks(clock: &str) -> Option<FileTime> {
    let mut parts = clock.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let mi: i64 = parts.next()?.parse().ok()?;
    let sec = parts.next()?;
    let (s, frac) = sec.split_once('.').unwrap_or((sec, ""));
    let s: i64 = s.parse().ok()?;
    if h > 23 || mi > 59 || s > 60 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut f = frac.chars().take(7).collect::<String>();
    while f.len() < 7 {
        f.push('0');
    }
    Some(((h * 60 + mi) * 60 + s) * 10_000_000 + f.parse::<i64>().ok()?)
}

fn day_ticks(y: i64, m: u32, d: u32) -> Option<FileTime> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1601..=9999).contains(&y) {
        return None;
    }
    Some(crate::model::UNIX_EPOCH_FILETIME + crate::time::days_from_civil(y, m, d) * 86_400 * 10_000_000)
}

// ---------------------------------------------------------------------------
// typeperf / relog CSV
// ---------------------------------------------------------------------------

/// Splits one CSV line into fields (`"a","b ""c"""`, unquoted fields too).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

/// `\\HOST\Network Interface(Intel[R] Ethernet)\Packets Received Discarded` → (instance, counter).
fn counter_path(path: &str) -> Option<(String, String)> {
    let p = path.trim().trim_start_matches('\\');
    let (_host, rest) = p.split_once('\\')?;
    let (object_instance, counter) = rest.rsplit_once('\\')?;
    let open = object_instance.find('(')?;
    let close = object_instance.rfind(')')?;
    let object = &object_instance[..open];
    if !(object.eq_ignore_ascii_case("Network Interface") || object.eq_ignore_ascii_case("Network Adapter"))
        || close <= open
    {
        return None;
    }
    Some((object_instance[open + 1..close].to_string(), counter.to_string()))
}

/// `12/04/2026 23:04:04.123` (PDH writes month/day/year) in local time, made UTC with `bias` minutes.
fn pdh_time(s: &str, bias: i64) -> Option<FileTime> {
    let (date, clock) = s.trim().split_once(' ')?;
    let mut d = date.split('/');
    let (m, day, y): (u32, u32, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    Some(day_ticks(y, m, day)? + clock_ticks(clock)? + bias * 600_000_000)
}

fn parse_csv(name: &str, text: &str) -> Result<Vec<Snapshot>, Error> {
    let mut lines = text.trim_start_matches('\u{FEFF}').lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Err(Error::new(name, Location::Line(1), "empty typeperf CSV"));
    };
    let head = csv_fields(header);
    // "(PDH-CSV 4.0) (Coordinated Universal Time)(0)": the bias (UTC = local + bias) closes the first field.
    let bias: i64 = head
        .first()
        .and_then(|f| f.trim_end().strip_suffix(')'))
        .and_then(|f| f.rsplit_once('('))
        .and_then(|(_, b)| b.trim().parse().ok())
        // A time zone is at most a day away from UTC; anything else is not a bias.
        .filter(|b: &i64| b.abs() <= 24 * 60)
        .unwrap_or(0);
    // Column → (instance, counter); columns of other objects or counters stay None.
    let columns: Vec<Option<(String, Counter)>> = head
        .iter()
        .skip(1)
        .map(|f| {
            let (instance, counter) = counter_path(f)?;
            let c = Counter::LOSS
                .into_iter()
                .find(|c| c.perf_counter().is_some_and(|p| p.eq_ignore_ascii_case(counter.trim())))?;
            Some((instance, c))
        })
        .collect();
    if columns.iter().all(Option::is_none) {
        return Err(Error::new(
            name,
            Location::Line(1),
            "typeperf CSV names none of the Network Interface counters Packets Received Discarded, Packets \
             Received Errors, Packets Outbound Discarded, Packets Outbound Errors (English counter names only)",
        ));
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        let line_no = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields = csv_fields(line);
        let time = fields.first().and_then(|t| pdh_time(t, bias));
        if time.is_none() {
            return Err(Error::new(
                name,
                Location::Line(line_no),
                format!(
                    "typeperf CSV row without a MM/DD/YYYY HH:MM:SS.fff time: {:?}",
                    fields.first().cloned().unwrap_or_default()
                ),
            ));
        }
        let mut snap = Snapshot {
            file: name.to_string(),
            line: Some(line_no),
            time,
            time_utc: time.map(crate::time::format_utc),
            form: "typeperf_csv",
            adapters: Vec::new(),
        };
        for (col, value) in columns.iter().zip(fields.iter().skip(1)) {
            let Some((instance, counter)) = col else { continue };
            // A sample PDH could not take is written as " ".
            let Some(v) = value.trim().parse::<f64>().ok().filter(|v| *v >= 0.0 && v.is_finite()) else {
                continue;
            };
            let a = match snap
                .adapters
                .iter_mut()
                .position(|a| a.instance.as_deref() == Some(instance.as_str()))
            {
                Some(at) => &mut snap.adapters[at],
                None => {
                    snap.adapters.push(AdapterStats {
                        instance: Some(instance.clone()),
                        ..Default::default()
                    });
                    snap.adapters.last_mut().expect("just pushed")
                }
            };
            a.counters.insert(*counter, v.round() as u64);
        }
        out.push(snap);
    }
    if out.is_empty() {
        return Err(Error::new(
            name,
            Location::Line(2),
            "typeperf CSV has its header but no sample row",
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Before and after
// ---------------------------------------------------------------------------

/// How one counter of one adapter changed between the first and the last snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// The same in both snapshots.
    Unchanged { value: u64 },
    /// `after - before`, above zero.
    Rose { before: u64, after: u64, delta: u64 },
    /// Went down: the adapter was reset or restarted, or the counter wrapped.
    WentDown { before: u64, after: u64 },
    /// A single snapshot: its total since the adapter started.
    Total { total: u64 },
}

impl Change {
    pub fn delta(self) -> Option<u64> {
        match self {
            Change::Rose { delta, .. } => Some(delta),
            Change::Unchanged { .. } => Some(0),
            _ => None,
        }
    }
}

/// One adapter across the snapshots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdapterChange {
    /// The adapter as the last snapshot names it.
    pub adapter: AdapterStats,
    pub changes: BTreeMap<Counter, Change>,
    /// Where its first and last readings come from.
    pub before: Option<String>,
    pub after: String,
}

/// An adapter's first reading and where it is from, and its last reading when there is another.
type Readings = (AdapterStats, String, Option<(AdapterStats, String)>);

/// The snapshots beside a capture, ordered, and each adapter's change.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NicSet {
    /// Every snapshot, first to last.
    pub snapshots: Vec<Snapshot>,
    /// How first and last were told apart: `timestamps`, `file_names` (before/after), `file_order`, or `single`.
    pub order: &'static str,
    pub adapters: Vec<AdapterChange>,
    /// Problems met reading the files (each names its file and place).
    pub errors: Vec<String>,
}

impl NicSet {
    /// Reads snapshot files (in the order given) into one set.
    pub fn read(paths: &[std::path::PathBuf]) -> NicSet {
        let mut all = Vec::new();
        let mut errors = Vec::new();
        for p in paths {
            match read(p) {
                Ok(s) => all.push(s),
                Err(e) => errors.push(e.to_string()),
            }
        }
        let mut set = NicSet::from_snapshots(all);
        set.errors = errors;
        set
    }

    /// Orders the snapshots of several files (each file's own in its order):
    /// by their timestamps when every one has one, else `before`/`after` in the
    /// file names, else as given. Then the change of each adapter between its
    /// first and last reading.
    pub fn from_snapshots(files: Vec<Vec<Snapshot>>) -> NicSet {
        let mut order = "file_order";
        let mut files = files;
        let hint = |s: &[Snapshot]| -> u8 {
            let n = s
                .first()
                .map(|s| {
                    Path::new(&s.file)
                        .file_name()
                        .map(|f| f.to_string_lossy().to_lowercase())
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            if n.contains("before") || n.contains("start") {
                0
            } else if n.contains("after") || n.contains("stop") {
                2
            } else {
                1
            }
        };
        let all_timed = files.iter().flatten().all(|s| s.time.is_some());
        if all_timed {
            order = "timestamps";
        } else if files.len() > 1 && files.iter().any(|f| hint(f) != 1) {
            files.sort_by_key(|f| hint(f));
            order = "file_names";
        }
        let mut snapshots: Vec<Snapshot> = files.into_iter().flatten().collect();
        if all_timed {
            snapshots.sort_by_key(|s| s.time);
        }
        if snapshots.len() <= 1 {
            order = "single";
        }
        let mut adapters: Vec<AdapterChange> = Vec::new();
        // Each adapter's first and last reading, in snapshot order.
        let mut readings: Vec<Readings> = Vec::new();
        for s in &snapshots {
            for a in &s.adapters {
                match readings.iter_mut().find(|(first, _, _)| first.same(a)) {
                    Some(r) => r.2 = Some((a.clone(), s.place())),
                    None => readings.push((a.clone(), s.place(), None)),
                }
            }
        }
        for (first, first_at, last) in readings {
            let mut changes = BTreeMap::new();
            let (adapter, before, after) = match last {
                Some((last, last_at)) => {
                    for (c, &b) in &first.counters {
                        let Some(&a) = last.counters.get(c) else { continue };
                        let change = if a == b {
                            Change::Unchanged { value: a }
                        } else if a > b {
                            Change::Rose {
                                before: b,
                                after: a,
                                delta: a - b,
                            }
                        } else {
                            Change::WentDown { before: b, after: a }
                        };
                        changes.insert(*c, change);
                    }
                    let mut named = last;
                    // Keep what only the first reading named (a JSON beside a CSV).
                    named.name = named.name.or(first.name);
                    named.description = named.description.or(first.description);
                    named.instance = named.instance.or(first.instance);
                    named.if_index = named.if_index.or(first.if_index);
                    named.mac = named.mac.or(first.mac);
                    (named, Some(first_at), last_at)
                }
                None => {
                    for (c, &t) in &first.counters {
                        changes.insert(*c, Change::Total { total: t });
                    }
                    (first, None, first_at)
                }
            };
            adapters.push(AdapterChange {
                adapter,
                changes,
                before,
                after,
            });
        }
        NicSet {
            snapshots,
            order,
            adapters,
            errors: Vec::new(),
        }
    }

    /// The files, as the reports name them (`a.json → b.json`).
    pub fn files(&self) -> String {
        let mut names: Vec<&str> = Vec::new();
        for s in &self.snapshots {
            if !names.contains(&s.file.as_str()) {
                names.push(&s.file);
            }
        }
        names.join(" → ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_are_mangled_like_typeperf() {
        assert_eq!(
            mangle_instance("Intel(R) Ethernet Connection (7) I219-LM #2"),
            "Intel[R] Ethernet Connection [7] I219-LM _2"
        );
        assert_eq!(mangle_instance("a/b\\c"), "a_b_c");
    }

    #[test]
    fn macs_parse_in_windows_and_colon_forms() {
        assert_eq!(parse_mac("00-15-5D-01-02-0A"), Some([0, 0x15, 0x5D, 1, 2, 0x0A]));
        assert_eq!(parse_mac("00:15:5d:01:02:0a"), Some([0, 0x15, 0x5D, 1, 2, 0x0A]));
        assert_eq!(parse_mac("00155D01020A"), Some([0, 0x15, 0x5D, 1, 2, 0x0A]));
        assert_eq!(parse_mac("00-15-5D-01-02"), None);
    }

    #[test]
    fn pdh_times_are_local_plus_bias() {
        let utc = pdh_time("12/04/2026 23:04:04.500", 0).unwrap();
        assert_eq!(crate::time::format_utc(utc), "2026-12-04T23:04:04.5000000Z");
        let pst = pdh_time("12/04/2026 15:04:04.500", 480).unwrap();
        assert_eq!(pst, utc);
        assert_eq!(
            parse_iso_utc("2026-12-05T00:04:04.5+01:00").map(crate::time::format_utc),
            Some("2026-12-04T23:04:04.5000000Z".to_string())
        );
    }

    #[test]
    fn csv_fields_keep_commas_and_quotes_inside_quotes() {
        assert_eq!(csv_fields(r#""a,b","c ""d""",e"#), vec!["a,b", "c \"d\"", "e"]);
    }
}
