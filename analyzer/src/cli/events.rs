//! `events`: every event of an ETL, any provider, decoded by the schemas the file carries.

use std::io::Write;
use std::path::Path;

use pktmon::etl::bytes::guid_string;
use pktmon::etl::decode::{read_file, DecodedEvent, Value};
use pktmon::etl::record::{RecordKind, TraceRecord};
use pktmon::source::{self, Detected};
use pktmon::time::format_etl2txt;

use super::{fail, report};

pub struct EventsArgs<'a> {
    pub file: &'a Path,
    pub provider: Option<&'a str>,
    pub id: Option<u16>,
    pub json: bool,
}

/// The id column: manifest events by id, classic events by opcode (Class.Type), system records by hook.
fn id_label(r: &TraceRecord<'_>) -> String {
    match r.kind {
        RecordKind::Event if r.version != 0 => format!("{} v{}", r.id, r.version),
        RecordKind::Event => r.id.to_string(),
        RecordKind::Full | RecordKind::Instance => format!("op{}", r.opcode),
        _ => format!("hook0x{:04X}", r.id),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn json_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Signed(x) => (*x).into(),
        Value::Unsigned(x) => (*x).into(),
        Value::Bool(x) => (*x).into(),
        Value::Str(s) => s.clone().into(),
        Value::Array(items) => items.iter().map(json_value).collect::<Vec<_>>().into(),
        Value::Struct(fields) => fields
            .iter()
            .map(|f| (f.name.clone(), json_value(&f.value)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        other => other.to_string().into(),
    }
}

#[derive(Default)]
struct Tally {
    printed: u64,
    total: u64,
    decoded: u64,
    incomplete: u64,
    without_schema: u64,
}

pub fn events(args: EventsArgs<'_>) -> i32 {
    let file = args.file;
    match source::detect(file) {
        Ok(Detected::Etl) => {}
        Ok(_) => {
            eprintln!(
                "error: {}: not an ETL file; `events` reads the ETW events of .etl files only",
                file.display()
            );
            return 2;
        }
        Err(e) => return fail(&e),
    }
    let wanted = args
        .provider
        .map(|p| p.trim().trim_start_matches('{').trim_end_matches('}').to_lowercase());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut write_error = None;
    let mut t = Tally::default();
    let read = read_file(file, |e| {
        let r = e.record;
        t.total += 1;
        let guid = guid_string(&r.guid);
        if let Some(w) = &wanted {
            if *w != guid && *w != e.provider.to_lowercase() {
                return;
            }
        }
        if args.id.is_some_and(|id| id != r.id) {
            return;
        }
        t.printed += 1;
        match &e.decoded {
            Some(d) if d.is_complete() => t.decoded += 1,
            Some(_) => t.incomplete += 1,
            None => t.without_schema += 1,
        }
        if write_error.is_some() {
            return;
        }
        let time = format_etl2txt(e.time, e.header.timezone_bias);
        let line = if args.json {
            json_line(r, e.cpu, &time, &e.provider, &guid, e.decoded.as_ref())
        } else {
            text_line(r, e.cpu, &time, &e.provider, e.decoded.as_ref())
        };
        if let Err(err) = writeln!(out, "{line}") {
            write_error = Some(err);
        }
    });
    let (etl, schemas, _) = match read {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    if write_error.is_none() {
        if let Err(e) = out.flush() {
            write_error = Some(e);
        }
    }
    drop(out);
    if let Some(e) = write_error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: standard output: {e}");
            return 2;
        }
    }
    let filtered = if t.printed == t.total {
        String::new()
    } else {
        format!(" (of {})", t.total)
    };
    eprintln!(
        "{}: {}{filtered}: {} decoded by the file's {}, {} with undecoded data, {} without a schema",
        file.display(),
        pktmon::sink::counted(t.printed, "event"),
        t.decoded,
        pktmon::sink::counted(schemas.len() as u64, "schema"),
        t.incomplete,
        t.without_schema
    );
    if report(&etl.diagnostics) {
        2
    } else {
        0
    }
}

fn text_line(r: &TraceRecord<'_>, cpu: u16, time: &str, provider: &str, d: Option<&DecodedEvent>) -> String {
    let mut line = format!(
        "[{cpu:02}]{:04X}.{:04X}::{time} [{provider}] {}",
        r.process_id,
        r.thread_id,
        id_label(r)
    );
    match d {
        Some(d) => {
            // TraceLogging events all have id 0: their name is what tells them apart.
            if let Some(name) = d.event_name.as_deref().filter(|n| !n.is_empty()) {
                line.push(' ');
                line.push_str(name);
            }
            for f in &d.fields {
                line.push_str(&format!(" {}={}", f.name, f.value));
            }
            if let Some(e) = &d.error {
                line.push_str(&format!(" !error={e:?}"));
            }
            if !d.undecoded.is_empty() {
                line.push_str(&format!(
                    " !undecoded={} bytes at offset {}: 0x{}",
                    d.undecoded.len(),
                    d.undecoded_offset,
                    hex(&d.undecoded)
                ));
            }
        }
        None => match metadata_summary(r) {
            Some(m) => line.push_str(&m),
            None if matches!(r.kind, RecordKind::Event | RecordKind::Full | RecordKind::Instance) => {
                line.push_str(&format!(
                    " (no schema) provider_guid={{{}}} length={} 0x{}",
                    guid_string(&r.guid),
                    r.payload.len(),
                    hex(r.payload)
                ))
            }
            // System records have a hook id, no provider GUID.
            None => line.push_str(&format!(" (no schema) length={} 0x{}", r.payload.len(), hex(r.payload))),
        },
    }
    line
}

/// The relogger's schema records say what they describe rather than dump kilobytes of hex.
fn metadata_summary(r: &TraceRecord<'_>) -> Option<String> {
    use pktmon::etl::schema::*;
    if r.kind != RecordKind::Full || r.guid != EVENT_METADATA_GUID {
        return None;
    }
    match r.opcode {
        METADATA_TRACE_EVENT_INFO => {
            let s = EventSchema::parse(r.payload)?;
            Some(format!(
                " TRACE_EVENT_INFO provider={:?} provider_guid={{{}}} id={} version={} properties={}",
                s.provider_name.unwrap_or_default().trim(),
                guid_string(&s.provider),
                s.id,
                s.version,
                s.properties.len()
            ))
        }
        METADATA_EVENT_MAP_INFO => {
            let m = ValueMap::parse(r.payload)?;
            Some(format!(
                " EVENT_MAP_INFO provider_guid={{{}}} name={:?} entries={}",
                guid_string(&m.provider),
                m.name,
                m.entries.len()
            ))
        }
        _ => None,
    }
}

fn json_line(
    r: &TraceRecord<'_>,
    cpu: u16,
    time: &str,
    provider: &str,
    guid: &str,
    d: Option<&DecodedEvent>,
) -> String {
    let mut o = serde_json::json!({
        "time": time,
        "cpu": cpu,
        "process_id": r.process_id,
        "thread_id": r.thread_id,
        "provider": provider,
        "provider_guid": guid,
        "id": r.id,
        "version": r.version,
        "opcode": r.opcode,
        "schema": d.is_some(),
    });
    match d {
        Some(d) => {
            if let Some(name) = &d.event_name {
                o["event_name"] = name.clone().into();
            }
            let fields: serde_json::Map<_, _> = d
                .fields
                .iter()
                .map(|f| (f.name.clone(), json_value(&f.value)))
                .collect();
            o["fields"] = fields.into();
            if let Some(e) = &d.error {
                o["error"] = e.clone().into();
            }
            if !d.undecoded.is_empty() {
                o["undecoded_offset"] = d.undecoded_offset.into();
                o["undecoded"] = hex(&d.undecoded).into();
            }
        }
        None => o["payload"] = hex(r.payload).into(),
    }
    o.to_string()
}
