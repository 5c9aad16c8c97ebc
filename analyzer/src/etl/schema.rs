//! Event schemas the relogger injects into every PktMon ETL: TRACE_EVENT_INFO
//! (event layout and message template) and EVENT_MAP_INFO (value maps such as
//! DropReason), carried in classic records of the EventMetadata provider.
//! They let a reader on any OS name fields and render codes exactly as the
//! capturing machine would, in its own language.

use std::collections::BTreeMap;

use super::bytes::*;

/// KernelTraceControl's EventMetadataGuid {bbccf6c1-6cd1-48c4-80ff-839482e37671}, on-disk layout.
pub const EVENT_METADATA_GUID: [u8; 16] = [
    0xc1, 0xf6, 0xcc, 0xbb, 0xd1, 0x6c, 0xc4, 0x48, 0x80, 0xff, 0x83, 0x94, 0x82, 0xe3, 0x76, 0x71,
];

/// SystemConfigEx {9b79ee91-b5fd-41c0-a243-4248e266e9d0}, on-disk layout.
pub const SYSTEM_CONFIG_EX_GUID: [u8; 16] = [
    0x91, 0xee, 0x79, 0x9b, 0xfd, 0xb5, 0xc0, 0x41, 0xa2, 0x43, 0x42, 0x48, 0xe2, 0x66, 0xe9, 0xd0,
];

/// Class.Type of a metadata record carrying TRACE_EVENT_INFO.
pub const METADATA_TRACE_EVENT_INFO: u8 = 0x20;
/// Class.Type of a metadata record carrying EVENT_METADATA_EVENT_MAP_INFO.
pub const METADATA_EVENT_MAP_INFO: u8 = 0x21;

/// One property of an event (EVENT_PROPERTY_INFO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyInfo {
    pub name: String,
    pub flags: u32,
    /// TDH_INTYPE; for a struct (flag [`PROPERTY_STRUCT`]) the index of its first member.
    pub in_type: u16,
    /// TDH_OUTTYPE; for a struct the number of its members.
    pub out_type: u16,
    pub map_name: Option<String>,
    /// Count, or index of the property holding the count (flag ParamCount).
    pub count: u16,
    /// Length, or index of the property holding the length (flag ParamLength).
    pub length: u16,
}

pub const PROPERTY_STRUCT: u32 = 0x1;
pub const PROPERTY_PARAM_LENGTH: u32 = 0x2;
pub const PROPERTY_PARAM_COUNT: u32 = 0x4;
/// `length` is a fixed length even when it is 0 or 1 (not "no length").
pub const PROPERTY_PARAM_FIXED_LENGTH: u32 = 0x10;
/// `count` is a fixed count even when it is 1: the property is an array.
pub const PROPERTY_PARAM_FIXED_COUNT: u32 = 0x20;

/// One event's schema (TRACE_EVENT_INFO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSchema {
    pub provider: [u8; 16],
    /// The MOF class of a classic event (DecodingSource WBEM); zero for manifest events.
    pub event_guid: [u8; 16],
    pub id: u16,
    pub version: u8,
    pub opcode: u8,
    pub provider_name: Option<String>,
    pub event_name: Option<String>,
    pub task_name: Option<String>,
    /// Message template with `%1`…`%n` placeholders, in the capturing machine's language.
    pub message: Option<String>,
    /// Top-level properties first, then the members of structs.
    pub properties: Vec<PropertyInfo>,
    /// How many of `properties` are top-level (the rest are struct members).
    pub top_level_count: usize,
    /// DECODING_SOURCE: 0 XML manifest, 1 WBEM (MOF), 2 WPP, 3 TraceLogging.
    pub decoding_source: u32,
}

fn string_at(b: &[u8], off: u32) -> Option<String> {
    if off == 0 || off as usize >= b.len() {
        return None;
    }
    utf16z_at(b, off as usize).map(|(s, _)| s)
}

impl EventSchema {
    pub fn parse(b: &[u8]) -> Option<EventSchema> {
        let property_count = u32_at(b, 100)? as usize;
        let mut properties = Vec::with_capacity(property_count.min(256));
        for i in 0..property_count.min(1024) {
            let p = 112 + i * 24;
            let flags = u32_at(b, p)?;
            properties.push(PropertyInfo {
                name: string_at(b, u32_at(b, p + 4)?).unwrap_or_default(),
                flags,
                in_type: u16_at(b, p + 8)?,
                out_type: u16_at(b, p + 10)?,
                map_name: if flags & PROPERTY_STRUCT == 0 {
                    string_at(b, u32_at(b, p + 12)?)
                } else {
                    None
                },
                count: u16_at(b, p + 16)?,
                length: u16_at(b, p + 18)?,
            });
        }
        Some(EventSchema {
            provider: guid_at(b, 0)?,
            event_guid: guid_at(b, 16)?,
            id: u16_at(b, 32)?,
            version: u8_at(b, 34)?,
            opcode: u8_at(b, 37)?,
            provider_name: string_at(b, u32_at(b, 52)?),
            task_name: string_at(b, u32_at(b, 68)?),
            message: string_at(b, u32_at(b, 76)?),
            event_name: string_at(b, u32_at(b, 92)?),
            top_level_count: (u32_at(b, 104)? as usize).min(properties.len()),
            decoding_source: u32_at(b, 48)?,
            properties,
        })
    }
}

/// One value map (EVENT_MAP_INFO) of a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueMap {
    pub provider: [u8; 16],
    pub name: String,
    /// 1 manifest value map, 2 manifest bitmap, 4 pattern map…
    pub flags: u32,
    pub entries: BTreeMap<u32, String>,
}

impl ValueMap {
    /// Parses EVENT_METADATA_EVENT_MAP_INFO: a provider GUID, then EVENT_MAP_INFO
    /// whose string offsets count from the start of EVENT_MAP_INFO.
    pub fn parse(b: &[u8]) -> Option<ValueMap> {
        let provider = guid_at(b, 0)?;
        let m = b.get(16..)?;
        let name = string_at(m, u32_at(m, 0)?)?;
        let flags = u32_at(m, 4)?;
        let count = u32_at(m, 8)? as usize;
        let mut entries = BTreeMap::new();
        for i in 0..count.min(65536) {
            let e = 16 + i * 8;
            let (Some(out), Some(value)) = (u32_at(m, e), u32_at(m, e + 4)) else {
                break;
            };
            if let Some(text) = string_at(m, out) {
                entries.insert(value, text);
            }
        }
        Some(ValueMap {
            provider,
            name,
            flags,
            entries,
        })
    }
}
