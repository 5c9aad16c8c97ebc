//! Any provider's events decoded with the schemas the file itself carries.
//!
//! The relogger that writes PktMon ETLs embeds a TRACE_EVENT_INFO for every
//! event it saw (and the EVENT_MAP_INFO of every value map), whatever the
//! provider: this is what `tdh.dll` would consult on the capturing machine.
//! [`Schemas`] collects them; [`Schemas::decode`] walks an event's user data
//! property by property, the way TDH does (lengths and counts taken from
//! earlier properties, structs, arrays, pointer size from the record header),
//! into named, typed [`Value`]s. Bytes the schema does not account for are
//! kept and reported, never dropped.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::bytes::*;
use super::record::{RecordKind, TraceRecord};
use super::schema::*;
use super::EtlFile;

/// (provider or MOF class GUID, event id or classic opcode, version).
type SchemaKey = ([u8; 16], u16, u8);

/// Every schema and value map one file carries.
#[derive(Debug, Clone, Default)]
pub struct Schemas {
    events: HashMap<SchemaKey, EventSchema>,
    maps: HashMap<([u8; 16], String), ValueMap>,
    provider_names: HashMap<[u8; 16], String>,
}

/// DECODING_SOURCE of classic (MOF) schemas: keyed by class GUID and opcode.
const DECODING_SOURCE_WBEM: u32 = 1;

impl Schemas {
    /// Reads every EventMetadata record of the file (one pass over it).
    pub fn from_file(etl: &mut EtlFile) -> Schemas {
        let mut s = Schemas::default();
        etl.read_records(|m| {
            s.add_metadata(&m.record);
        });
        s
    }

    /// Takes the schema or value map a record carries; false when it carries neither.
    pub fn add_metadata(&mut self, r: &TraceRecord<'_>) -> bool {
        if r.kind != RecordKind::Full || r.guid != EVENT_METADATA_GUID {
            return false;
        }
        match r.opcode {
            METADATA_TRACE_EVENT_INFO => match EventSchema::parse(r.payload) {
                Some(s) => {
                    self.add_schema(s);
                    true
                }
                None => false,
            },
            METADATA_EVENT_MAP_INFO => match ValueMap::parse(r.payload) {
                Some(m) => {
                    self.maps.insert((m.provider, m.name.clone()), m);
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    pub fn add_schema(&mut self, s: EventSchema) {
        if let Some(name) = s.provider_name.as_ref().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            self.provider_names
                .entry(s.provider)
                .or_insert_with(|| name.to_string());
        }
        let key = if s.decoding_source == DECODING_SOURCE_WBEM {
            (s.event_guid, s.opcode as u16, s.version)
        } else {
            (s.provider, s.id, s.version)
        };
        self.events.insert(key, s);
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &EventSchema> {
        self.events.values()
    }

    /// The schema of a record: manifest events by provider, id and version;
    /// classic events by their class GUID, opcode and version.
    pub fn schema_of(&self, r: &TraceRecord<'_>) -> Option<&EventSchema> {
        match r.kind {
            RecordKind::Event => self.events.get(&(r.guid, r.id, r.version)),
            RecordKind::Full | RecordKind::Instance => self
                .events
                .get(&(r.guid, r.opcode as u16, r.version))
                .filter(|s| s.decoding_source == DECODING_SOURCE_WBEM),
            _ => None,
        }
    }

    /// The provider's name as its schemas give it.
    pub fn provider_name(&self, guid: &[u8; 16]) -> Option<&str> {
        self.provider_names.get(guid).map(String::as_str)
    }

    pub fn map(&self, provider: &[u8; 16], name: &str) -> Option<&ValueMap> {
        self.maps.get(&(*provider, name.to_string()))
    }

    /// Decodes a record's user data with its schema: the file's, or the
    /// TraceLogging schema the event carries itself. `None` when there is neither.
    pub fn decode(&self, r: &TraceRecord<'_>) -> Option<DecodedEvent> {
        if let Some(schema) = self.schema_of(r) {
            return Some(self.decode_with(schema, r));
        }
        let schema = tracelogging::schema(r)?;
        Some(self.decode_with(&schema, r))
    }

    fn decode_with(&self, schema: &EventSchema, r: &TraceRecord<'_>) -> DecodedEvent {
        let mut d = Decoder {
            schemas: self,
            schema,
            data: r.payload,
            pos: 0,
            pointer_size: if r.is_32bit { 4 } else { 8 },
            ints: vec![None; schema.properties.len()],
            values: 0,
        };
        let top = 0..schema.top_level_count;
        let (fields, error) = match d.properties(top, 0) {
            Ok(f) => (f, None),
            Err((f, e)) => (f, Some(e)),
        };
        let at = d.pos.min(r.payload.len());
        DecodedEvent {
            provider_name: self
                .provider_name(&schema.provider)
                .map(str::to_string)
                .or_else(|| schema.provider_name.clone()),
            event_name: schema.event_name.clone(),
            fields,
            error,
            undecoded_offset: at,
            undecoded: r.payload[at..].to_vec(),
        }
    }
}

/// Microsoft-Windows-TCPIP {2f07e2ee-15db-40f1-90ef-9d7ba282188a}, on-disk layout.
pub const TCPIP_GUID: [u8; 16] = [
    0xee, 0xe2, 0x07, 0x2f, 0xdb, 0x15, 0xf1, 0x40, 0x90, 0xef, 0x9d, 0x7b, 0xa2, 0x82, 0x18, 0x8a,
];

/// The provider name a record is shown under: its schemas' name, else a
/// well-known one (system records, the relogger's metadata), else `{GUID}`.
pub fn provider_label(schemas: &Schemas, r: &TraceRecord<'_>) -> String {
    if let Some(n) = schemas.provider_name(&r.guid) {
        return n.to_string();
    }
    let known = match r.kind {
        RecordKind::System | RecordKind::Compact | RecordKind::PerfInfo => Some("SystemTrace"),
        _ if r.guid == crate::pktmon::PROVIDER_GUID => Some(crate::pktmon::text::PROVIDER_NAME),
        _ if r.guid == TCPIP_GUID => Some("Microsoft-Windows-TCPIP"),
        _ if r.guid == EVENT_METADATA_GUID => Some("EventMetadata"),
        _ if r.guid == SYSTEM_CONFIG_EX_GUID => Some("SystemConfigEx"),
        _ => None,
    };
    known
        .map(str::to_string)
        .unwrap_or_else(|| format!("{{{}}}", guid_string(&r.guid)))
}

/// One record of a file as [`read_file`] hands it over.
pub struct FileEvent<'a, 'r> {
    /// FILETIME (UTC) of the record.
    pub time: i64,
    pub cpu: u16,
    pub record: &'a TraceRecord<'r>,
    /// The file's logfile header (clock, time zone, pointer size).
    pub header: &'a super::logfile::LogfileHeader,
    pub provider: String,
    /// `None` when the file carries no schema for the record.
    pub decoded: Option<DecodedEvent>,
}

/// Reads every record of an ETL with its fields decoded by the file's own
/// schemas (for example Microsoft-Windows-TCPIP drop events logged beside
/// PktMon's). Two passes: schemas may follow the events they describe.
/// Damage is in the returned file's `diagnostics`; only a file that is not
/// an ETL at all is an `Err`.
pub fn read_file(
    path: &std::path::Path,
    mut f: impl FnMut(&FileEvent<'_, '_>),
) -> Result<(EtlFile, Schemas, super::ReadStats), crate::error::Error> {
    let mut etl = EtlFile::open(path)?;
    let schemas = Schemas::from_file(&mut etl);
    // The second pass reports the same damage again: keep the first report
    // (it also holds what opening the file found, such as a cut-short tail).
    let found = std::mem::take(&mut etl.diagnostics);
    let header = etl.header.clone();
    let stats = etl.read_records(|m| {
        let r = &m.record;
        let decoded = schemas.decode(r);
        let provider = decoded
            .as_ref()
            .and_then(|d| d.provider_name.clone())
            .unwrap_or_else(|| provider_label(&schemas, r));
        f(&FileEvent {
            time: header.to_filetime(r.timestamp),
            cpu: m.cpu,
            record: r,
            header: &header,
            provider,
            decoded,
        });
    });
    etl.diagnostics = found;
    Ok((etl, schemas, stats))
}

/// One event's fields, in schema order.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEvent {
    pub provider_name: Option<String>,
    pub event_name: Option<String>,
    pub fields: Vec<Field>,
    /// Why decoding stopped before the last property, if it did.
    pub error: Option<String>,
    /// Offset in the user data of the first byte no property took.
    pub undecoded_offset: usize,
    /// User data left after the last property decoded.
    pub undecoded: Vec<u8>,
}

impl DecodedEvent {
    /// Every property decoded and every byte accounted for.
    pub fn is_complete(&self) -> bool {
        self.error.is_none() && self.undecoded.is_empty()
    }

    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|f| f.name == name).map(|f| &f.value)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: Value,
}

/// A decoded property value, typed as its schema's in- and out-types say.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Signed(i64),
    Unsigned(u64),
    /// Shown as hexadecimal (HEXINT*, pointers, error codes).
    Hex(u64),
    Float(f64),
    Bool(bool),
    Str(String),
    Guid([u8; 16]),
    /// A FILETIME or SYSTEMTIME, as FILETIME (UTC).
    Time(i64),
    Bytes(Vec<u8>),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    /// A SOCKADDR rendered `address:port` (or hex for other families).
    SocketAddress(String),
    Sid(String),
    /// An integer with its value-map text (`3(Rx)`); bitmaps join their texts with `|`.
    Mapped(u64, String),
    Array(Vec<Value>),
    Struct(Vec<Field>),
}

impl Value {
    /// The integer, for integers of any rendering.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Unsigned(v) | Value::Hex(v) | Value::Mapped(v, _) => Some(v),
            Value::Signed(v) => u64::try_from(v).ok(),
            Value::Bool(b) => Some(b as u64),
            _ => None,
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Signed(v) => write!(f, "{v}"),
            Value::Unsigned(v) => write!(f, "{v}"),
            Value::Hex(v) => write!(f, "0x{v:X}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Guid(g) => write!(f, "{{{}}}", guid_string(g)),
            Value::Time(t) => f.write_str(&crate::time::format_utc(*t)),
            Value::Bytes(b) => write!(f, "0x{}", hex(b)),
            Value::Ipv4(a) => write!(f, "{a}"),
            Value::Ipv6(a) => write!(f, "{a}"),
            Value::SocketAddress(s) | Value::Sid(s) => f.write_str(s),
            Value::Mapped(v, text) if text.is_empty() => write!(f, "{v}"),
            Value::Mapped(v, text) => write!(f, "{v}({text})"),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Struct(fields) => {
                f.write_str("{")?;
                for (i, x) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{}={}", x.name, x.value)?;
                }
                f.write_str("}")
            }
        }
    }
}

/// TDH_INTYPE values.
mod intype {
    pub const NULL: u16 = 0;
    pub const UNICODESTRING: u16 = 1;
    pub const ANSISTRING: u16 = 2;
    pub const INT8: u16 = 3;
    pub const UINT8: u16 = 4;
    pub const INT16: u16 = 5;
    pub const UINT16: u16 = 6;
    pub const INT32: u16 = 7;
    pub const UINT32: u16 = 8;
    pub const INT64: u16 = 9;
    pub const UINT64: u16 = 10;
    pub const FLOAT: u16 = 11;
    pub const DOUBLE: u16 = 12;
    pub const BOOLEAN: u16 = 13;
    pub const BINARY: u16 = 14;
    pub const GUID: u16 = 15;
    pub const POINTER: u16 = 16;
    pub const FILETIME: u16 = 17;
    pub const SYSTEMTIME: u16 = 18;
    pub const SID: u16 = 19;
    pub const HEXINT32: u16 = 20;
    pub const HEXINT64: u16 = 21;
    pub const MANIFEST_COUNTEDSTRING: u16 = 22;
    pub const MANIFEST_COUNTEDANSISTRING: u16 = 23;
    pub const MANIFEST_COUNTEDBINARY: u16 = 25;
    pub const COUNTEDSTRING: u16 = 300;
    pub const COUNTEDANSISTRING: u16 = 301;
    pub const REVERSEDCOUNTEDSTRING: u16 = 302;
    pub const REVERSEDCOUNTEDANSISTRING: u16 = 303;
    pub const NONNULLTERMINATEDSTRING: u16 = 304;
    pub const NONNULLTERMINATEDANSISTRING: u16 = 305;
    pub const UNICODECHAR: u16 = 306;
    pub const ANSICHAR: u16 = 307;
    pub const SIZET: u16 = 308;
    pub const HEXDUMP: u16 = 309;
    pub const WBEMSID: u16 = 310;
}

/// TDH_OUTTYPE values that change how a value reads.
mod outtype {
    pub const STRING: u16 = 1;
    pub const DATETIME: u16 = 2;
    pub const BOOLEAN: u16 = 13;
    pub const HEXINT8: u16 = 16;
    pub const HEXINT16: u16 = 17;
    pub const HEXINT32: u16 = 18;
    pub const HEXINT64: u16 = 19;
    pub const PORT: u16 = 22;
    pub const IPV4: u16 = 23;
    pub const IPV6: u16 = 24;
    pub const SOCKETADDRESS: u16 = 25;
    pub const ERRORCODE: u16 = 29;
    pub const WIN32ERROR: u16 = 30;
    pub const NTSTATUS: u16 = 31;
    pub const HRESULT: u16 = 32;
    pub const UTF8: u16 = 35;
    pub const CODE_POINTER: u16 = 37;
}

/// EVENT_MAP_INFO flags.
const MAP_BITMAP: u32 = 0x2;
const MAP_WBEM_BITMAP: u32 = 0x10;

/// Most array elements decoded per property; a count beyond this is damage.
const MAX_ARRAY: u64 = 65_536;

/// Structs nest at most this deep (a schema looping into itself is damage).
const MAX_DEPTH: usize = 8;

/// Most values decoded per event: arrays of empty structs nested in arrays
/// take no bytes, so the data's length alone does not bound the work.
const MAX_VALUES: usize = 1 << 20;

struct Decoder<'a> {
    schemas: &'a Schemas,
    schema: &'a EventSchema,
    data: &'a [u8],
    pos: usize,
    pointer_size: usize,
    /// Integer value of each property decoded so far (lengths and counts refer to them).
    ints: Vec<Option<u64>>,
    values: usize,
}

type Partial = (Vec<Field>, String);

impl<'a> Decoder<'a> {
    fn properties(&mut self, range: std::ops::Range<usize>, depth: usize) -> Result<Vec<Field>, Partial> {
        let mut fields = Vec::with_capacity(range.len());
        for i in range {
            let schema = self.schema;
            let Some(p) = schema.properties.get(i) else {
                return Err((fields, format!("schema names property {i}, which it does not have")));
            };
            let start = self.pos;
            match self.property(i, p, depth) {
                Ok(value) => fields.push(Field {
                    name: p.name.clone(),
                    value,
                }),
                Err(e) => {
                    // The bytes of a half-decoded array or struct belong to the undecoded rest.
                    self.pos = start;
                    return Err((fields, e));
                }
            }
        }
        Ok(fields)
    }

    fn referenced(&self, index: u16, what: &str, p: &PropertyInfo) -> Result<u64, String> {
        self.ints.get(index as usize).copied().flatten().ok_or_else(|| {
            format!(
                "the {what} of {} comes from property {index}, which holds no integer before it",
                p.name
            )
        })
    }

    fn property(&mut self, i: usize, p: &PropertyInfo, depth: usize) -> Result<Value, String> {
        let count = if p.flags & tracelogging::PROPERTY_INLINE_COUNT != 0 {
            Some(u16::from_le_bytes(self.fixed::<2>(p)?) as u64)
        } else if p.flags & PROPERTY_PARAM_COUNT != 0 {
            Some(self.referenced(p.count, "count", p)?)
        } else if p.count > 1 || p.flags & PROPERTY_PARAM_FIXED_COUNT != 0 {
            Some(p.count as u64)
        } else {
            None
        };
        let length = if p.flags & PROPERTY_PARAM_LENGTH != 0 {
            Some(self.referenced(p.length, "length", p)?)
        } else if p.length > 0 || p.flags & PROPERTY_PARAM_FIXED_LENGTH != 0 {
            Some(p.length as u64)
        } else {
            None
        };
        let Some(n) = count else {
            let v = self.one(p, length, depth)?;
            if let Some(slot) = self.ints.get_mut(i) {
                *slot = v.as_u64();
            }
            return Ok(v);
        };
        if n > MAX_ARRAY {
            return Err(format!("{} claims {n} elements, more than {MAX_ARRAY}", p.name));
        }
        let mut items = Vec::with_capacity(n as usize);
        for _ in 0..n {
            items.push(self.one(p, length, depth)?);
        }
        Ok(Value::Array(items))
    }

    fn take(&mut self, n: usize, p: &PropertyInfo) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| {
                format!(
                    "{} needs {n} bytes at offset {}, only {} left",
                    p.name,
                    self.pos,
                    self.data.len().saturating_sub(self.pos)
                )
            })?;
        let data = self.data;
        let b = &data[self.pos..end];
        self.pos = end;
        Ok(b)
    }

    fn one(&mut self, p: &PropertyInfo, length: Option<u64>, depth: usize) -> Result<Value, String> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(format!("{} takes the event past {MAX_VALUES} values", p.name));
        }
        if p.flags & PROPERTY_STRUCT != 0 {
            if depth >= MAX_DEPTH {
                return Err(format!("{} nests structs more than {MAX_DEPTH} deep", p.name));
            }
            let start = p.in_type as usize;
            let members = start..start + p.out_type as usize;
            return match self.properties(members, depth + 1) {
                Ok(f) => Ok(Value::Struct(f)),
                Err((_, e)) => Err(e),
            };
        }
        let len = |what: usize| length.map(|l| l as usize).unwrap_or(what);
        use intype::*;
        let v = match p.in_type {
            NULL => Value::Str(String::new()),
            UNICODESTRING => match length {
                Some(chars) => {
                    let b = self.take((chars as usize).saturating_mul(2), p)?;
                    Value::Str(utf16(b))
                }
                // As TDH does, a string missing its NUL runs to the end of the data
                // (PktMon's event 73 VMSwitchName is written that way).
                None => {
                    let (s, next) = utf16z_at(self.data, self.pos).unwrap_or_default();
                    self.pos = next.max(self.pos);
                    Value::Str(s)
                }
            },
            ANSISTRING => match length {
                Some(n) => {
                    let b = self.take(n as usize, p)?;
                    Value::Str(ansi(b, p.out_type))
                }
                None => {
                    let rest = self.data.get(self.pos..).unwrap_or_default();
                    let nul = rest.iter().position(|&c| c == 0);
                    let s = ansi(&rest[..nul.unwrap_or(rest.len())], p.out_type);
                    self.pos += nul.map_or(rest.len(), |n| n + 1);
                    Value::Str(s)
                }
            },
            INT8 => {
                let v = self.take(1, p)?[0] as i8;
                match p.out_type {
                    outtype::STRING => Value::Str(char::from(v as u8).to_string()),
                    _ => Value::Signed(v as i64),
                }
            }
            UINT8 => {
                let v = self.take(1, p)?[0];
                match p.out_type {
                    outtype::STRING => Value::Str(char::from(v).to_string()),
                    outtype::BOOLEAN => Value::Bool(v != 0),
                    outtype::HEXINT8 => Value::Hex(v as u64),
                    _ => self.mapped(p, v as u64),
                }
            }
            INT16 => Value::Signed(i16::from_le_bytes(self.fixed::<2>(p)?) as i64),
            UINT16 => {
                let v = u16::from_le_bytes(self.fixed::<2>(p)?);
                match p.out_type {
                    outtype::PORT => Value::Unsigned(v.swap_bytes() as u64),
                    outtype::HEXINT16 => Value::Hex(v as u64),
                    _ => self.mapped(p, v as u64),
                }
            }
            INT32 => Value::Signed(i32::from_le_bytes(self.fixed::<4>(p)?) as i64),
            UINT32 => {
                let b = self.fixed::<4>(p)?;
                let v = u32::from_le_bytes(b);
                match p.out_type {
                    outtype::IPV4 => Value::Ipv4(Ipv4Addr::from(b)),
                    outtype::HEXINT32
                    | outtype::ERRORCODE
                    | outtype::WIN32ERROR
                    | outtype::NTSTATUS
                    | outtype::HRESULT => self.mapped_hex(p, v as u64),
                    _ => self.mapped(p, v as u64),
                }
            }
            INT64 => Value::Signed(i64::from_le_bytes(self.fixed::<8>(p)?)),
            UINT64 => {
                let v = u64::from_le_bytes(self.fixed::<8>(p)?);
                match p.out_type {
                    outtype::HEXINT64 => Value::Hex(v),
                    outtype::DATETIME => Value::Time(v as i64),
                    _ => Value::Unsigned(v),
                }
            }
            FLOAT => Value::Float(f32::from_le_bytes(self.fixed::<4>(p)?) as f64),
            DOUBLE => Value::Float(f64::from_le_bytes(self.fixed::<8>(p)?)),
            BOOLEAN => Value::Bool(u32::from_le_bytes(self.fixed::<4>(p)?) != 0),
            BINARY => {
                let n = length.ok_or_else(|| format!("{} is binary without a length", p.name))? as usize;
                let b = self.take(n, p)?;
                binary(b, p.out_type)
            }
            GUID => Value::Guid(self.fixed::<16>(p)?),
            POINTER | SIZET => {
                let b = self.take(self.pointer_size, p)?;
                let v = if b.len() == 4 {
                    u32_at(b, 0).unwrap_or(0) as u64
                } else {
                    u64_at(b, 0).unwrap_or(0)
                };
                if p.in_type == SIZET && p.out_type != outtype::CODE_POINTER {
                    Value::Unsigned(v)
                } else {
                    Value::Hex(v)
                }
            }
            FILETIME => Value::Time(i64::from_le_bytes(self.fixed::<8>(p)?)),
            SYSTEMTIME => {
                let b = self.fixed::<16>(p)?;
                let w = |i: usize| u16::from_le_bytes([b[2 * i], b[2 * i + 1]]) as u32;
                // wYear, wMonth, wDayOfWeek, wDay, wHour, wMinute, wSecond, wMilliseconds.
                let days = crate::time::days_from_civil(w(0) as i64, w(1), w(3));
                let secs = days * 86_400 + (w(4) * 3600 + w(5) * 60 + w(6)) as i64;
                Value::Time(crate::model::UNIX_EPOCH_FILETIME + secs * 10_000_000 + w(7) as i64 * 10_000)
            }
            SID => Value::Sid(self.sid(p)?),
            WBEMSID => {
                // TOKEN_USER (a pointer and an attribute, both pointer-sized) precedes the SID.
                self.take(2 * self.pointer_size, p)?;
                Value::Sid(self.sid(p)?)
            }
            HEXINT32 => Value::Hex(u32::from_le_bytes(self.fixed::<4>(p)?) as u64),
            HEXINT64 => Value::Hex(u64::from_le_bytes(self.fixed::<8>(p)?)),
            MANIFEST_COUNTEDSTRING | COUNTEDSTRING | REVERSEDCOUNTEDSTRING => {
                let n = self.count_prefix(p, p.in_type == REVERSEDCOUNTEDSTRING)?;
                Value::Str(utf16(self.take(n, p)?))
            }
            MANIFEST_COUNTEDANSISTRING | COUNTEDANSISTRING | REVERSEDCOUNTEDANSISTRING => {
                let n = self.count_prefix(p, p.in_type == REVERSEDCOUNTEDANSISTRING)?;
                let out = p.out_type;
                Value::Str(ansi(self.take(n, p)?, out))
            }
            MANIFEST_COUNTEDBINARY => {
                let n = self.count_prefix(p, false)?;
                let out = p.out_type;
                binary(self.take(n, p)?, out)
            }
            NONNULLTERMINATEDSTRING => {
                let n = len(self.data.len().saturating_sub(self.pos) / 2);
                Value::Str(utf16(self.take(n * 2, p)?))
            }
            NONNULLTERMINATEDANSISTRING => {
                let n = len(self.data.len().saturating_sub(self.pos));
                let out = p.out_type;
                Value::Str(ansi(self.take(n, p)?, out))
            }
            UNICODECHAR => Value::Str(utf16(&self.fixed::<2>(p)?)),
            ANSICHAR => Value::Str(char::from(self.take(1, p)?[0]).to_string()),
            HEXDUMP => {
                let n = u32::from_le_bytes(self.fixed::<4>(p)?) as usize;
                Value::Bytes(self.take(n, p)?.to_vec())
            }
            other => {
                return Err(format!(
                    "{} has in-type {other}, which this decoder does not know",
                    p.name
                ))
            }
        };
        Ok(v)
    }

    fn fixed<const N: usize>(&mut self, p: &PropertyInfo) -> Result<[u8; N], String> {
        let b = self.take(N, p)?;
        Ok(b.try_into().expect("take returns N bytes"))
    }

    fn count_prefix(&mut self, p: &PropertyInfo, big_endian: bool) -> Result<usize, String> {
        let b = self.fixed::<2>(p)?;
        Ok(if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        } as usize)
    }

    fn sid(&mut self, p: &PropertyInfo) -> Result<String, String> {
        let head = self.fixed::<8>(p)?;
        let sub = head[1] as usize;
        let authority = head[2..8].iter().fold(0u64, |a, &b| (a << 8) | b as u64);
        let rest = self.take(4 * sub, p)?;
        let mut s = format!("S-{}-{authority}", head[0]);
        for c in rest.chunks_exact(4) {
            s.push_str(&format!("-{}", u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        }
        Ok(s)
    }

    fn map_text(&self, p: &PropertyInfo, v: u64) -> Option<String> {
        let name = p.map_name.as_deref()?;
        let map = self.schemas.map(&self.schema.provider, name)?;
        if map.flags & (MAP_BITMAP | MAP_WBEM_BITMAP) != 0 {
            let names: Vec<&str> = map
                .entries
                .iter()
                .filter(|(&bit, _)| bit != 0 && v & bit as u64 == bit as u64)
                .map(|(_, t)| t.trim())
                .collect();
            return Some(names.join("|"));
        }
        let key = u32::try_from(v).ok()?;
        Some(map.entries.get(&key)?.trim().to_string())
    }

    fn mapped(&self, p: &PropertyInfo, v: u64) -> Value {
        match self.map_text(p, v) {
            Some(t) => Value::Mapped(v, t),
            None => Value::Unsigned(v),
        }
    }

    fn mapped_hex(&self, p: &PropertyInfo, v: u64) -> Value {
        match self.map_text(p, v) {
            Some(t) => Value::Mapped(v, t),
            None => Value::Hex(v),
        }
    }
}

fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let s = String::from_utf16_lossy(&units);
    s.trim_end_matches('\0').to_string()
}

/// ANSI strings are UTF-8 when the schema says so; otherwise Latin-1 keeps every byte readable.
fn ansi(b: &[u8], out_type: u16) -> String {
    let s = if out_type == outtype::UTF8 {
        String::from_utf8_lossy(b).into_owned()
    } else {
        b.iter().map(|&c| char::from(c)).collect()
    };
    s.trim_end_matches('\0').to_string()
}

fn binary(b: &[u8], out_type: u16) -> Value {
    match out_type {
        outtype::IPV6 if b.len() == 16 => Value::Ipv6(Ipv6Addr::from(<[u8; 16]>::try_from(b).expect("16 bytes"))),
        outtype::IPV4 if b.len() == 4 => Value::Ipv4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
        outtype::SOCKETADDRESS => Value::SocketAddress(sockaddr(b)),
        _ => Value::Bytes(b.to_vec()),
    }
}

/// SOCKADDR_IN (family 2) and SOCKADDR_IN6 (family 23) as `address:port`; other families as hex.
fn sockaddr(b: &[u8]) -> String {
    let port = || u16::from_be_bytes([b[2], b[3]]);
    match u16_at(b, 0) {
        Some(2) if b.len() >= 8 => format!("{}:{}", Ipv4Addr::new(b[4], b[5], b[6], b[7]), port()),
        Some(23) if b.len() >= 24 => {
            let a: [u8; 16] = b[8..24].try_into().expect("16 bytes");
            format!("[{}]:{}", Ipv6Addr::from(a), port())
        }
        _ => format!("0x{}", hex(b)),
    }
}

/// TraceLogging events carry their schema in each event (extended item
/// EVENT_SCHEMA_TL) and their provider's name beside it (PROV_TRAITS). Turned
/// into an [`EventSchema`], they decode like any other event.
mod tracelogging {
    use std::collections::VecDeque;

    use super::super::bytes::u16_at;
    use super::super::record::{RecordKind, TraceRecord};
    use super::super::schema::*;

    const EXT_EVENT_SCHEMA_TL: u16 = 0x0B;
    const EXT_PROV_TRAITS: u16 = 0x0C;
    /// DECODING_SOURCE of TraceLogging schemas.
    const DECODING_SOURCE_TLG: u32 = 3;
    /// This decoder's own flag: a u16 element count precedes the values in
    /// the data (TraceLogging's variable count), no other field holds it.
    pub const PROPERTY_INLINE_COUNT: u32 = 0x8000_0000;

    /// TlgIn: the low five bits of InType; bits 5–6 the count kind; bit 7 "OutType follows".
    const IN_BINARY: u8 = 14;
    const IN_STRUCT: u8 = 24;
    const IN_COUNTEDBINARY: u8 = 25;
    const COUNT_CONSTANT: u8 = 0x20;
    const COUNT_VARIABLE: u8 = 0x40;
    const COUNT_CUSTOM: u8 = 0x60;
    const CHAIN: u8 = 0x80;

    /// TDH_INTYPE MANIFEST_COUNTEDBINARY: a u16 byte count, then the bytes (TraceLogging's BINARY).
    const TDH_COUNTEDBINARY: u16 = 25;

    struct Node {
        info: PropertyInfo,
        members: Vec<Node>,
    }

    fn utf8z(b: &[u8], pos: usize) -> Option<(String, usize)> {
        let rest = b.get(pos..)?;
        let n = rest.iter().position(|&c| c == 0)?;
        Some((String::from_utf8_lossy(&rest[..n]).into_owned(), pos + n + 1))
    }

    /// Skips extension bytes: each with bit 7 set says another follows.
    fn skip_chain(b: &[u8], mut pos: usize) -> Option<usize> {
        loop {
            let c = *b.get(pos)?;
            pos += 1;
            if c & CHAIN == 0 {
                return Some(pos);
            }
        }
    }

    /// TlgOut → TDH_OUTTYPE (the numbering differs); HEX depends on the value's size.
    fn out_type(tlg: u8, in_type: u8) -> u16 {
        match tlg {
            2 => 1,
            3 => 13,
            4 => match in_type {
                3 | 4 => 16,
                5 | 6 => 17,
                7 | 8 | 20 => 18,
                9 | 10 | 21 => 19,
                _ => 15,
            },
            5 => 20,
            6 => 21,
            7 => 22,
            8 => 23,
            9 => 24,
            10 => 25,
            11 => 28,
            12 => 34,
            13 => 30,
            14 => 31,
            15 => 32,
            16 => 2,
            35 => 35,
            37 => 37,
            _ => 0,
        }
    }

    fn fields(b: &[u8], pos: &mut usize, limit: Option<usize>, depth: usize) -> Option<Vec<Node>> {
        let mut out = Vec::new();
        while *pos < b.len() && limit.is_none_or(|n| out.len() < n) {
            let (name, next) = utf8z(b, *pos)?;
            *pos = next;
            let in_byte = *b.get(*pos)?;
            *pos += 1;
            let mut out_byte = 0;
            if in_byte & CHAIN != 0 {
                out_byte = *b.get(*pos)?;
                *pos += 1;
                if out_byte & CHAIN != 0 {
                    *pos = skip_chain(b, *pos)?;
                }
            }
            let base = in_byte & 0x1F;
            let mut info = PropertyInfo {
                name,
                flags: 0,
                in_type: match base {
                    IN_BINARY | IN_COUNTEDBINARY => TDH_COUNTEDBINARY,
                    t => t as u16,
                },
                out_type: out_type(out_byte & 0x7F, base),
                map_name: None,
                count: 1,
                length: 0,
            };
            match in_byte & 0x60 {
                COUNT_CONSTANT => {
                    info.flags |= PROPERTY_PARAM_FIXED_COUNT;
                    info.count = u16_at(b, *pos)?;
                    *pos += 2;
                }
                COUNT_VARIABLE => info.flags |= PROPERTY_INLINE_COUNT,
                COUNT_CUSTOM => {
                    // A custom-serialized value: its type description is skipped, its data read as counted bytes.
                    let size = u16_at(b, *pos)? as usize;
                    *pos += 2 + size;
                    info.in_type = TDH_COUNTEDBINARY;
                }
                _ => {}
            }
            let mut members = Vec::new();
            if base == IN_STRUCT {
                if depth >= 8 {
                    return None;
                }
                info.flags |= PROPERTY_STRUCT;
                members = fields(b, pos, Some((out_byte & 0x7F) as usize), depth + 1)?;
            }
            out.push(Node { info, members });
        }
        Some(out)
    }

    /// TDH's layout: top-level properties first, each struct's members
    /// together after them, a struct naming its first member and their number.
    fn flatten(top: Vec<Node>) -> Vec<PropertyInfo> {
        let mut out = Vec::new();
        let mut pending = VecDeque::new();
        fn place(nodes: Vec<Node>, out: &mut Vec<PropertyInfo>, pending: &mut VecDeque<(usize, Vec<Node>)>) {
            for n in nodes {
                let at = out.len();
                out.push(n.info);
                if out[at].flags & PROPERTY_STRUCT != 0 {
                    pending.push_back((at, n.members));
                }
            }
        }
        place(top, &mut out, &mut pending);
        while let Some((at, members)) = pending.pop_front() {
            out[at].in_type = out.len() as u16;
            out[at].out_type = members.len() as u16;
            place(members, &mut out, &mut pending);
        }
        out
    }

    /// The schema a TraceLogging event carries, if it carries one.
    pub fn schema(r: &TraceRecord<'_>) -> Option<EventSchema> {
        if r.kind != RecordKind::Event {
            return None;
        }
        let meta = r.extended_items().find(|(t, _)| *t == EXT_EVENT_SCHEMA_TL)?.1;
        let size = (u16_at(meta, 0)? as usize).min(meta.len());
        let meta = &meta[..size];
        let mut pos = skip_chain(meta, 2)?;
        let (event_name, next) = utf8z(meta, pos)?;
        pos = next;
        let top = fields(meta, &mut pos, None, 0)?;
        let top_level_count = top.len();
        let provider_name = r
            .extended_items()
            .find(|(t, _)| *t == EXT_PROV_TRAITS)
            .and_then(|(_, traits)| utf8z(traits, 2))
            .map(|(n, _)| n);
        Some(EventSchema {
            provider: r.guid,
            event_guid: [0; 16],
            id: r.id,
            version: r.version,
            opcode: r.opcode,
            provider_name,
            event_name: Some(event_name),
            task_name: None,
            message: None,
            properties: flatten(top),
            top_level_count,
            decoding_source: DECODING_SOURCE_TLG,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCPIP: [u8; 16] = [
        0xee, 0xe2, 0x07, 0x2f, 0xdb, 0x15, 0xf1, 0x40, 0x90, 0xef, 0x9d, 0x7b, 0xa2, 0x82, 0x18, 0x8a,
    ];

    fn utf16z(s: &str) -> Vec<u8> {
        s.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()
    }

    /// (name, flags, in, out, map, count, length)
    type P = (&'static str, u32, u16, u16, Option<&'static str>, u16, u16);

    /// A TRACE_EVENT_INFO as the relogger embeds it.
    fn tei(id: u16, provider_name: &str, props: &[P], top_level: usize) -> Vec<u8> {
        let fixed = 112 + 24 * props.len();
        let mut strings = Vec::new();
        let mut add = |s: &str| -> u32 {
            let at = (fixed + strings.len()) as u32;
            strings.extend(utf16z(s));
            at
        };
        let mut pa = Vec::new();
        for &(name, flags, i, o, map, count, length) in props {
            let n = add(name);
            let m = map.map_or(0, &mut add);
            pa.extend(flags.to_le_bytes());
            pa.extend(n.to_le_bytes());
            pa.extend(i.to_le_bytes());
            pa.extend(o.to_le_bytes());
            pa.extend(m.to_le_bytes());
            pa.extend(count.to_le_bytes());
            pa.extend(length.to_le_bytes());
            pa.extend(0u32.to_le_bytes());
        }
        let pn = add(provider_name);
        let mut t = TCPIP.to_vec();
        t.extend([0; 16]);
        t.extend(id.to_le_bytes());
        t.extend([0u8; 14]); // version … keyword
        t.extend(0u32.to_le_bytes()); // DecodingSource
        for off in [pn, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] {
            t.extend(off.to_le_bytes());
        }
        t.extend((props.len() as u32).to_le_bytes());
        t.extend((top_level as u32).to_le_bytes());
        t.extend(0u32.to_le_bytes());
        t.extend(pa);
        t.extend(strings);
        t
    }

    fn map_info(name: &str, flags: u32, entries: &[(u32, &str)]) -> Vec<u8> {
        let fixed = 16 + 8 * entries.len();
        let mut strings = utf16z(name);
        let mut m = TCPIP.to_vec();
        m.extend((fixed as u32).to_le_bytes());
        m.extend(flags.to_le_bytes());
        m.extend((entries.len() as u32).to_le_bytes());
        m.extend(0u32.to_le_bytes());
        for (v, text) in entries {
            m.extend(((fixed + strings.len()) as u32).to_le_bytes());
            m.extend(v.to_le_bytes());
            strings.extend(utf16z(text));
        }
        m.extend(strings);
        m
    }

    fn record(id: u16, payload: &[u8], is_32bit: bool) -> TraceRecord<'_> {
        TraceRecord {
            kind: RecordKind::Event,
            header_type: 0x13,
            timestamp: 0,
            process_id: 0,
            thread_id: 0,
            guid: TCPIP,
            id,
            version: 0,
            opcode: 0,
            level: 4,
            task: 0,
            keyword: 0,
            flags: 0,
            is_32bit,
            extended: &[],
            payload,
        }
    }

    fn schemas() -> Schemas {
        let mut s = Schemas::default();
        // A TCPIP-like event: a struct array counted by an earlier field,
        // a sockaddr sized by another, a counted string, a pointer, a bitmap and a value map.
        let props: &[P] = &[
            ("LocalAddressLength", 0, 8, 0, None, 0, 0),
            ("LocalAddress", PROPERTY_PARAM_LENGTH, 14, 25, None, 0, 0),
            ("Reason", 0, 8, 0, Some("Reasons"), 0, 0),
            ("Flags", 0, 8, 0, Some("Flags"), 0, 0),
            ("Port", 0, 6, 22, None, 0, 0),
            ("Tcb", 0, 16, 0, None, 0, 0),
            ("Name", 0, 22, 0, None, 0, 0),
            ("Count", 0, 4, 0, None, 0, 0),
            ("Items", PROPERTY_STRUCT | PROPERTY_PARAM_COUNT, 9, 2, None, 7, 0),
            ("Ip", 0, 8, 23, None, 0, 0),
            ("Status", 0, 8, 31, None, 0, 0),
        ];
        s.add_schema(EventSchema::parse(&tei(1214, "Microsoft-Windows-TCPIP", props, 9)).unwrap());
        s.maps.insert(
            (TCPIP, "Reasons".into()),
            ValueMap::parse(&map_info("Reasons", 1, &[(5, "Firewall "), (7, "No route")])).unwrap(),
        );
        s.maps.insert(
            (TCPIP, "Flags".into()),
            ValueMap::parse(&map_info("Flags", 2, &[(1, "SYN"), (2, "ACK"), (4, "RST")])).unwrap(),
        );
        s
    }

    fn payload(pointer: usize) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend(16u32.to_le_bytes());
        p.extend([2, 0, 0x1F, 0x90, 192, 168, 1, 7, 0, 0, 0, 0, 0, 0, 0, 0]); // AF_INET 8080
        p.extend(5u32.to_le_bytes());
        p.extend(3u32.to_le_bytes());
        p.extend(443u16.to_be_bytes());
        p.extend(&0x1122_3344_5566_7788u64.to_le_bytes()[..pointer]);
        p.extend(6u16.to_le_bytes());
        p.extend("tcp".encode_utf16().flat_map(u16::to_le_bytes));
        p.push(2);
        for (ip, status) in [([10, 0, 0, 1], 0u32), ([10, 0, 0, 2], 0xC000_0022)] {
            p.extend(ip);
            p.extend(status.to_le_bytes());
        }
        p
    }

    #[test]
    fn a_tcpip_like_event_decodes_field_by_field() {
        let s = schemas();
        for pointer in [8, 4] {
            let p = payload(pointer);
            let d = s.decode(&record(1214, &p, pointer == 4)).unwrap();
            assert!(d.is_complete(), "{d:?}");
            assert_eq!(d.provider_name.as_deref(), Some("Microsoft-Windows-TCPIP"));
            let text: Vec<String> = d.fields.iter().map(|f| format!("{}={}", f.name, f.value)).collect();
            let tcb = if pointer == 8 {
                "0x1122334455667788"
            } else {
                "0x55667788"
            };
            assert_eq!(
                text,
                [
                    "LocalAddressLength=16",
                    "LocalAddress=192.168.1.7:8080",
                    "Reason=5(Firewall)",
                    "Flags=3(SYN|ACK)",
                    "Port=443",
                    &format!("Tcb={tcb}"),
                    "Name=\"tcp\"",
                    "Count=2",
                    "Items=[{Ip=10.0.0.1 Status=0x0}, {Ip=10.0.0.2 Status=0xC0000022}]",
                ]
            );
        }
    }

    #[test]
    fn data_left_over_or_missing_is_reported_not_dropped() {
        let s = schemas();
        let mut p = payload(8);
        p.extend([0xAB, 0xCD]);
        let d = s.decode(&record(1214, &p, false)).unwrap();
        assert_eq!(
            (d.undecoded_offset, d.undecoded.clone()),
            (p.len() - 2, vec![0xAB, 0xCD])
        );
        assert!(d.error.is_none() && !d.is_complete());

        let short = &payload(8)[..30];
        let d = s.decode(&record(1214, short, false)).unwrap();
        let e = d.error.clone().unwrap();
        assert!(e.contains("Tcb needs 8 bytes at offset 30, only 0 left"), "{e}");
        assert_eq!(d.fields.len(), 5);
        assert!(s.decode(&record(9, &p, false)).is_none(), "no schema, no decoding");
    }

    #[test]
    fn damaged_counts_and_references_do_not_panic() {
        let mut s = Schemas::default();
        let props: &[P] = &[
            ("N", 0, 8, 0, None, 0, 0),
            ("A", PROPERTY_PARAM_COUNT, 8, 0, None, 0, 0),
            ("B", PROPERTY_PARAM_LENGTH, 14, 0, None, 0, 9),
            ("S", PROPERTY_STRUCT, 3, 1, None, 0, 0),
        ];
        s.add_schema(EventSchema::parse(&tei(1, "P", props, 4)).unwrap());
        let p = u32::MAX.to_le_bytes();
        let d = s.decode(&record(1, &p, false)).unwrap();
        assert!(d.error.unwrap().contains("more than 65536"));
        let p = [1, 0, 0, 0, 7, 0, 0, 0];
        let d = s.decode(&record(1, &p, false)).unwrap();
        assert!(d.error.unwrap().contains("comes from property 9"));
        // Arrays of empty structs inside arrays take no bytes but would take forever.
        let props: &[P] = &[
            (
                "Outer",
                PROPERTY_STRUCT | PROPERTY_PARAM_FIXED_COUNT,
                1,
                1,
                None,
                60000,
                0,
            ),
            (
                "Inner",
                PROPERTY_STRUCT | PROPERTY_PARAM_FIXED_COUNT,
                2,
                0,
                None,
                60000,
                0,
            ),
        ];
        s.add_schema(EventSchema::parse(&tei(3, "P", props, 1)).unwrap());
        let d = s.decode(&record(3, &[], false)).unwrap();
        assert!(d.error.unwrap().contains("values"));
        // A struct that contains itself.
        let props: &[P] = &[("S", PROPERTY_STRUCT, 0, 1, None, 0, 0)];
        s.add_schema(EventSchema::parse(&tei(2, "P", props, 1)).unwrap());
        let d = s.decode(&record(2, &[], false)).unwrap();
        assert!(d.error.unwrap().contains("deep"));
    }

    #[test]
    fn every_truncation_stops_with_an_error_naming_the_offset() {
        let s = schemas();
        let p = payload(8);
        for n in 0..p.len() {
            let d = s.decode(&record(1214, &p[..n], false)).unwrap();
            let e = d.error.unwrap_or_else(|| panic!("prefix {n} decoded without error"));
            assert!(e.contains(" left"), "{n}: {e}");
            assert!(d.undecoded_offset <= n);
        }
    }

    /// One extended data item as the record header lays it out (8-byte aligned).
    fn ext_item(out: &mut Vec<u8>, ext_type: u16, data: &[u8], more: bool) {
        out.extend(0u16.to_le_bytes());
        out.extend(ext_type.to_le_bytes());
        out.extend((more as u16).to_le_bytes());
        out.extend((data.len() as u16).to_le_bytes());
        out.extend(data);
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
    }

    #[test]
    fn a_tracelogging_event_decodes_by_the_schema_it_carries() {
        // EventMetadata: size, one extension byte, name, then the fields.
        let mut m = vec![0, 0, 0];
        m.extend(b"ConnDrop\0");
        m.extend(b"Local\0");
        m.extend([14 | 0x80, 10]); // BINARY shown as SOCKETADDRESS
        m.extend(b"Status\0");
        m.extend([8 | 0x80, 4]); // UINT32 shown as HEX
        m.extend(b"Names\0");
        m.push(1 | 0x40); // UNICODESTRING, variable count
        m.extend(b"Pair\0");
        m.extend([24 | 0x80, 2]); // STRUCT of two fields
        m.extend(b"A\0");
        m.push(4); // UINT8
        m.extend(b"B\0");
        m.push(5 | 0x20); // INT16, constant count
        m.extend(2u16.to_le_bytes());
        m.extend(b"Msg\0");
        m.extend([2 | 0x80, 35 | 0x80, 0x01]); // ANSISTRING shown as UTF-8, one extension byte
        let size = m.len() as u16;
        m[..2].copy_from_slice(&size.to_le_bytes());
        let mut traits = 0u16.to_le_bytes().to_vec();
        traits.extend(b"Contoso-Net\0");
        let traits_len = traits.len() as u16;
        traits[..2].copy_from_slice(&traits_len.to_le_bytes());
        let mut ext = Vec::new();
        ext_item(&mut ext, 0x0B, &m, true);
        ext_item(&mut ext, 0x0C, &traits, false);

        let mut p = Vec::new();
        p.extend(16u16.to_le_bytes());
        p.extend([23, 0, 0x01, 0xBB]);
        p.extend([0u8; 12]); // family 23 needs 28 bytes: this one is cut, so it is shown as hex
        p.extend(0xC000_0022u32.to_le_bytes());
        p.extend(2u16.to_le_bytes());
        p.extend(utf16z("eth0"));
        p.extend(utf16z("wlan0"));
        p.push(9);
        p.extend((-3i16).to_le_bytes());
        p.extend(300i16.to_le_bytes());
        p.extend("é ok\0".as_bytes());
        let mut r = record(0, &p, false);
        r.guid = [7; 16];
        r.extended = &ext;
        let d = Schemas::default().decode(&r).unwrap();
        assert!(d.is_complete(), "{d:?}");
        assert_eq!(d.provider_name.as_deref(), Some("Contoso-Net"));
        assert_eq!(d.event_name.as_deref(), Some("ConnDrop"));
        let text: Vec<String> = d.fields.iter().map(|f| format!("{}={}", f.name, f.value)).collect();
        assert_eq!(
            text,
            [
                "Local=0x170001BB000000000000000000000000",
                "Status=0xC0000022",
                "Names=[\"eth0\", \"wlan0\"]",
                "Pair={A=9 B=[-3, 300]}",
                "Msg=\"é ok\"",
            ]
        );
        // Without its extended items the event has no schema; cut short it ends in an error, not a panic.
        let d = Schemas::default().decode(&record(0, &p[..p.len() - 3], false));
        assert!(d.is_none(), "no extended items, no schema");
        let mut r = record(0, &p[..p.len() - 3], false);
        r.extended = &ext;
        let d = Schemas::default().decode(&r).unwrap();
        assert!(
            d.error.is_none() && d.fields.len() == 5,
            "a string missing its NUL runs to the end"
        );
        let mut r = record(0, &p[..20], false);
        r.extended = &ext;
        assert!(Schemas::default().decode(&r).unwrap().error.is_some());
    }
}
