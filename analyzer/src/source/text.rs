//! `pktmon etl2txt` text → records.
//!
//! etl2txt writes UTF-16LE with a BOM and CRLF line ends; copies that passed
//! through other tools arrive as UTF-8 (with or without BOM) or as UTF-16LE
//! without BOM, so all three are accepted. The file is decoded in chunks and
//! split into lines as it streams by: a multi-gigabyte text never has to fit in
//! memory, and invalid byte sequences become U+FFFD instead of stopping the read.
//!
//! What the lines give (format: `docs/pktmon-etl-and-text-formats.md` §4.1):
//!
//! * the `[MSNT_SystemTrace] Event: Header, …` line: OS build, processor count,
//!   lost events, and — by comparing its `StartTime` (a UTC FILETIME) with the
//!   local time printed in front of it — the capturing machine's time-zone bias;
//! * packet (160) and drop (170) lines, in any UI language, through the shared
//!   [`crate::pktmon::text`] parser; tab-indented detail lines after them are
//!   the tcpdump-like summary (no bytes, ignored) or, with `--hex`, the payload;
//! * component, property, drop-counter, flow-counter and packet-filter lines.
//!
//! Everything else (other providers, unknown shapes) is counted and skipped.
//! A damaged line becomes a diagnostic naming its line number; only a file that
//! is not etl2txt text at all is an `Err`.

use std::borrow::Cow;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::net::IpAddr;
use std::path::Path;

use super::ReadOutcome;
use crate::error::{Error, Location};
use crate::model::*;
use crate::pktmon::catalog::{
    Catalog, MAP_COMPONENT_TYPE, MAP_DIRECTION, MAP_DROP_REASON, MAP_ETHER_TYPE, MAP_NDIS_MEDIUM, MAP_PACKET_TYPE,
    MAP_PROPERTY_TYPE,
};
use crate::pktmon::events::link_type_for;
use crate::pktmon::text::{parse_packet_message, parse_prefix, LinePrefix};

/// How much of the file content detection looks at (the same 4 KiB `detect` reads).
const HEAD_LEN: usize = 4096;
/// Read size while streaming.
const CHUNK_LEN: usize = 64 * 1024;
/// Longest line kept in memory; etl2txt lines are well under 1 KiB, so a longer
/// one is damage or not text, and keeping all of it could exhaust memory.
const MAX_LINE_BYTES: usize = 1 << 20;
/// Longest payload collected from `--hex` lines. LoggedSize is 16 bits in the ETL.
const MAX_PAYLOAD: usize = 65_535;
const TICKS_PER_SECOND: i64 = 10_000_000;
const TICKS_PER_MINUTE: i64 = 60 * TICKS_PER_SECOND;
/// Time-zone biases span −14:00 … +12:00; anything beyond ±16 h means the header
/// line's two times do not describe the same instant, so no bias is derived.
const MAX_BIAS_MINUTES: i64 = 16 * 60;
/// The provider of the ETL header line.
const SYSTEM_TRACE_PROVIDER: &str = "MSNT_SystemTrace";

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Utf8,
    Utf16Le,
}

/// The encoding of a file from its first bytes, and the length of its BOM.
///
/// Without a BOM, UTF-16LE is recognised by its zero high bytes: etl2txt lines
/// start with an ASCII prefix (`[00]0000.0000::2021-…`), so even a file in
/// Chinese has mostly zero odd bytes at its start, while UTF-8 text has none.
pub(crate) fn sniff_encoding(head: &[u8]) -> (Encoding, usize) {
    if head.starts_with(&[0xFF, 0xFE]) {
        return (Encoding::Utf16Le, 2);
    }
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return (Encoding::Utf8, 3);
    }
    let sample = &head[..head.len().min(512)];
    let odd_bytes = sample.len() / 2;
    let odd_zeros = sample.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    if odd_bytes > 0 && odd_zeros * 2 > odd_bytes {
        (Encoding::Utf16Le, 0)
    } else {
        (Encoding::Utf8, 0)
    }
}

/// Incremental decoder: bytes arrive in arbitrary chunks, so a UTF-8 sequence,
/// a UTF-16 code unit or a surrogate pair may be split between two of them.
pub(crate) struct Decoder {
    encoding: Encoding,
    /// Bytes of an incomplete UTF-8 sequence or UTF-16 code unit.
    carry: Vec<u8>,
    /// A high surrogate waiting for its low half.
    high_surrogate: Option<u16>,
}

impl Decoder {
    pub(crate) fn new(encoding: Encoding) -> Self {
        Decoder {
            encoding,
            carry: Vec::new(),
            high_surrogate: None,
        }
    }

    /// Appends the text of `bytes` to `out`, keeping an incomplete tail for the next call.
    pub(crate) fn decode(&mut self, bytes: &[u8], out: &mut String) {
        match self.encoding {
            Encoding::Utf8 => self.decode_utf8(bytes, out),
            Encoding::Utf16Le => self.decode_utf16le(bytes, out),
        }
    }

    /// Ends the input: an incomplete tail becomes one replacement character.
    pub(crate) fn finish(&mut self, out: &mut String) {
        if self.high_surrogate.take().is_some() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
        if !self.carry.is_empty() {
            self.carry.clear();
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }

    fn decode_utf8(&mut self, bytes: &[u8], out: &mut String) {
        let joined;
        let mut input = if self.carry.is_empty() {
            bytes
        } else {
            let mut buf = std::mem::take(&mut self.carry);
            buf.extend_from_slice(bytes);
            joined = buf;
            &joined[..]
        };
        loop {
            match std::str::from_utf8(input) {
                Ok(text) => {
                    out.push_str(text);
                    return;
                }
                Err(e) => {
                    let (valid, rest) = input.split_at(e.valid_up_to());
                    out.push_str(&String::from_utf8_lossy(valid));
                    match e.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            input = rest.get(bad..).unwrap_or_default();
                        }
                        None => {
                            // An incomplete sequence at the end: wait for the next chunk.
                            self.carry = rest.to_vec();
                            return;
                        }
                    }
                }
            }
        }
    }

    fn decode_utf16le(&mut self, bytes: &[u8], out: &mut String) {
        let mut input = bytes;
        if let Some(&low) = self.carry.first() {
            let Some((&high, rest)) = input.split_first() else {
                return;
            };
            self.carry.clear();
            self.push_unit(u16::from_le_bytes([low, high]), out);
            input = rest;
        }
        let mut pairs = input.chunks_exact(2);
        for pair in &mut pairs {
            self.push_unit(u16::from_le_bytes([pair[0], pair[1]]), out);
        }
        self.carry.extend_from_slice(pairs.remainder());
    }

    fn push_unit(&mut self, unit: u16, out: &mut String) {
        if let Some(high) = self.high_surrogate.take() {
            if (0xDC00..=0xDFFF).contains(&unit) {
                let code = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                return;
            }
            out.push(char::REPLACEMENT_CHARACTER);
        }
        match unit {
            0xD800..=0xDBFF => self.high_surrogate = Some(unit),
            0xDC00..=0xDFFF => out.push(char::REPLACEMENT_CHARACTER),
            _ => out.push(char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER)),
        }
    }
}

// ---------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------

/// Whether a line starts with etl2txt's `[CC]PPPP.TTTT::` (CPU in decimal, PID and TID in hex).
fn has_line_prefix(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('[') else {
        return false;
    };
    let Some((cpu, rest)) = rest.split_once(']') else {
        return false;
    };
    let Some((ids, _)) = rest.split_once("::") else {
        return false;
    };
    let Some((pid, tid)) = ids.split_once('.') else {
        return false;
    };
    let all = |s: &str, f: fn(&u8) -> bool| !s.is_empty() && s.len() <= 8 && s.as_bytes().iter().all(f);
    all(cpu.trim(), u8::is_ascii_digit) && all(pid, u8::is_ascii_hexdigit) && all(tid, u8::is_ascii_hexdigit)
}

/// Whether the first bytes of a file are `pktmon etl2txt` text: UTF-16LE (with
/// or without BOM) or UTF-8 (with or without BOM) that decodes mostly cleanly
/// and has a line with the `[CC]PPPP.TTTT::` prefix or a `PktGroupId` field.
pub fn looks_like_text(head: &[u8]) -> bool {
    let (encoding, bom) = sniff_encoding(head);
    let mut decoder = Decoder::new(encoding);
    let mut text = String::new();
    decoder.decode(&head[bom..], &mut text);
    decoder.finish(&mut text);
    // Binary data decodes to control characters and replacement characters;
    // a cut at the end of the head accounts for one or two of them.
    let total = text.chars().count();
    let odd = text
        .chars()
        .filter(|&c| c == char::REPLACEMENT_CHARACTER || (c.is_control() && !matches!(c, '\t' | '\r' | '\n')))
        .count();
    if total == 0 || odd > 2 + total / 20 {
        return false;
    }
    text.split('\n').any(|line| {
        let line = line.trim_start_matches('\u{FEFF}');
        has_line_prefix(line) || line.contains("PktGroupId")
    })
}

// ---------------------------------------------------------------------------
// Field parsing
// ---------------------------------------------------------------------------

/// Parses etl2txt's `YYYY-MM-DD HH:MM:SS.fffffffff` (or netsh's
/// `YYYY/MM/DD-HH:MM:SS.fffffffff`) as a FILETIME, without any zone: the caller
/// decides what zone it is in. Digits beyond the 7th (100 ns) are dropped;
/// impossible dates such as Feb 30 are rejected.
pub(crate) fn parse_time(text: &str) -> Option<FileTime> {
    let text = text.trim();
    let date = text.get(..10)?;
    if !matches!(text.as_bytes().get(10), Some(b' ' | b'-')) {
        return None;
    }
    let clock = text.get(11..)?;
    let digits = |s: &str| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let sep = date.as_bytes()[4];
    if !matches!(sep, b'-' | b'/') || date.as_bytes()[7] != sep {
        return None;
    }
    let year = digits(date.get(..4)?)?;
    let month = digits(date.get(5..7)?)?;
    let day = digits(date.get(8..10)?)?;
    let mut hms = clock.splitn(3, ':');
    let hour = digits(hms.next()?)?;
    let minute = digits(hms.next()?)?;
    let seconds_text = hms.next()?;
    let (second, fraction) = match seconds_text.split_once('.') {
        Some((s, f)) => (digits(s)?, f),
        None => (digits(seconds_text)?, ""),
    };
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let ticks = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(7)
        .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'));
    let days = crate::time::days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    let time = UNIX_EPOCH_FILETIME + seconds * TICKS_PER_SECOND + ticks;
    // days_from_civil accepts day 31 of any month; the round trip catches that.
    let (y, m, d, ..) = crate::time::civil(time);
    (y == i64::from(year) && m == month && d == day).then_some(time)
}

/// The last whitespace-separated token of a `Label value` item, as a number.
fn last_number<T: std::str::FromStr>(item: &str) -> Option<T> {
    let token = item.split_whitespace().last()?;
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

/// The value of a `Label value` item: without the English `label` when it is
/// there, else without the first word (a label in another language).
fn after_label<'a>(item: &'a str, label: &str) -> &'a str {
    let item = item.trim();
    if let Some(rest) = item.strip_prefix(label) {
        if rest.is_empty() || rest.starts_with(char::is_whitespace) {
            return rest.trim();
        }
    }
    item.split_once(char::is_whitespace).map_or("", |(_, rest)| rest.trim())
}

/// The code of a map text as etl2txt printed it: a number (etl2txt prints
/// values it has no text for as numbers) or a text of the catalog's `map`.
fn code_for(catalog: &Catalog, map: &str, text: &str) -> Option<u32> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    catalog.code_for_text(map, text)
}

/// Like [`code_for`] for an item whose label is not English: the label may be
/// several words, so shorter and shorter tails of the item are tried.
fn code_for_tail(catalog: &Catalog, map: &str, item: &str) -> Option<u32> {
    let mut rest = item.trim();
    loop {
        if let Some(code) = code_for(catalog, map, rest) {
            return Some(code);
        }
        rest = rest.split_once(char::is_whitespace)?.1.trim_start();
    }
}

/// `0x00FF3CDA169C` → its bytes, most significant first (etl2txt's binary properties and MACs).
fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let digits = text
        .trim()
        .strip_prefix("0x")
        .or_else(|| text.trim().strip_prefix("0X"))?;
    if digits.is_empty() || digits.len() % 2 != 0 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(digits.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A `--hex` detail line (tcpdump `-x` style): `0x0010:  4500 0034 …` → (offset, bytes).
/// At most eight groups of two bytes are read, so a tcpdump `-X` ASCII column is not taken for data.
fn parse_hex_line(text: &str) -> Option<(usize, Vec<u8>)> {
    let (offset, data) = text.trim().strip_prefix("0x")?.split_once(':')?;
    if offset.is_empty() || offset.len() > 8 || !offset.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let offset = usize::from_str_radix(offset, 16).ok()?;
    let mut bytes = Vec::with_capacity(16);
    for group in data.split_whitespace().take(8) {
        if !matches!(group.len(), 2 | 4) || !group.bytes().all(|b| b.is_ascii_hexdigit()) {
            break;
        }
        for i in (0..group.len()).step_by(2) {
            bytes.push(u8::from_str_radix(group.get(i..i + 2)?, 16).ok()?);
        }
    }
    Some((offset, bytes))
}

/// `Key: value` from the header line; values run to the next `, `.
fn header_value<'a>(message: &'a str, key: &str) -> Option<&'a str> {
    let start = if message.starts_with(key) && message[key.len()..].starts_with(": ") {
        key.len() + 2
    } else {
        let pattern = format!(", {key}: ");
        message.find(&pattern)? + pattern.len()
    };
    let rest = &message[start..];
    Some(rest.find(", ").map_or(rest, |end| &rest[..end]).trim())
}

fn header_number(message: &str, key: &str) -> Option<i64> {
    let value = header_value(message, key)?;
    match value.strip_prefix("0x").or_else(|| value.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

/// Replaces the full-width and ideographic commas of Chinese and Japanese templates by ASCII ones.
fn ascii_commas(message: &str) -> Cow<'_, str> {
    if message.contains(['，', '、']) {
        Cow::Owned(message.replace(['，', '、'], ","))
    } else {
        Cow::Borrowed(message)
    }
}

/// With `--metadata` the message is `Level: 4, Keyword: 0x…, Event: …, Info: <message>`.
fn strip_metadata(message: &str) -> &str {
    if message.starts_with("Level: ") {
        if let Some(i) = message.find(", Info: ") {
            return &message[i + ", Info: ".len()..];
        }
    }
    message
}

/// The shapes of PktMon lines other than packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Component,
    Property,
    DropCounters,
    FlowCounters,
    Filter,
}

/// What a PktMon message without a `PktGroupId` is: by its English start, else
/// (another UI language) by its shape — commas and `=` signs are not translated.
fn classify(message: &str) -> Option<LineKind> {
    for (start, kind) in [
        ("Component ", LineKind::Component),
        ("Property:", LineKind::Property),
        ("Drop Counters:", LineKind::DropCounters),
        ("Flow Counters:", LineKind::FlowCounters),
        ("Packet Filter ", LineKind::Filter),
    ] {
        if message.starts_with(start) {
            return Some(kind);
        }
    }
    let parts: Vec<&str> = message.split(',').collect();
    let equals = message.matches('=').count();
    let numbered = parts.first().and_then(|p| last_number::<u16>(p)).is_some();
    if !numbered {
        return None;
    }
    match (parts.len(), equals) {
        (2, 1..) => Some(LineKind::Property),
        (7, 2) => Some(LineKind::DropCounters),
        (9.., 2) => Some(LineKind::FlowCounters),
        (4, 0) => Some(LineKind::Component),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// The reader
// ---------------------------------------------------------------------------

/// An appearance whose detail lines may still follow.
struct Pending {
    appearance: Appearance,
    /// The line of the packet line, for messages about its hex dump.
    line: u64,
    /// The hex dump was not contiguous; the rest of it is ignored.
    hex_broken: bool,
}

/// Where a packet line came from: the `[CC]PPPP.TTTT::` prefix, when it had one.
#[derive(Clone, Copy, Default)]
struct Origin {
    cpu: Option<u16>,
    process_id: Option<u32>,
    thread_id: Option<u32>,
}

/// A count of some kind of skipped or doubtful line, with the first one for the message.
#[derive(Default)]
struct Tally {
    count: u64,
    first_line: u64,
    example: String,
}

impl Tally {
    fn add(&mut self, line: u64, example: &str) {
        if self.count == 0 {
            self.first_line = line;
            self.example = example.chars().take(80).collect();
        }
        self.count += 1;
    }
}

/// The streaming state: the current partial line, the appearance awaiting its
/// details, the time-zone bias once the header line gave it.
struct TextReader {
    name: String,
    out: ReadOutcome,
    decoder: Decoder,
    /// Text decoded from the current chunk.
    decoded: String,
    /// The current line, up to [`MAX_LINE_BYTES`].
    line: String,
    line_overlong: bool,
    line_number: u64,
    pending: Option<Pending>,
    next_index: u64,
    /// Minutes; UTC = local + bias. `None` until (unless) a header line gives it.
    bias: Option<i32>,
    header_seen: bool,
    /// Packet lines read before the header line (their times stayed local).
    packets_before_header: u64,
    /// Packet lines whose time had to be taken as UTC.
    packets_without_bias: u64,
    unknown_lines: Tally,
    unmapped_texts: Tally,
    hex_mismatches: Tally,
}

impl TextReader {
    fn new(path: &Path, encoding: Encoding) -> Self {
        let name = path.display().to_string();
        let mut out = ReadOutcome {
            catalog: Catalog::builtin(None),
            ..Default::default()
        };
        out.info.file = name.clone();
        out.info.kind = Some(InputKind::Text);
        TextReader {
            name,
            out,
            decoder: Decoder::new(encoding),
            decoded: String::new(),
            line: String::new(),
            line_overlong: false,
            line_number: 0,
            pending: None,
            next_index: 0,
            bias: None,
            header_seen: false,
            packets_before_header: 0,
            packets_without_bias: 0,
            unknown_lines: Tally::default(),
            unmapped_texts: Tally::default(),
            hex_mismatches: Tally::default(),
        }
    }

    /// Decodes a chunk and handles every line it completes.
    fn feed(&mut self, bytes: &[u8], sink: &mut dyn RecordSink) {
        let mut decoded = std::mem::take(&mut self.decoded);
        decoded.clear();
        self.decoder.decode(bytes, &mut decoded);
        self.split_lines(&decoded, sink);
        self.decoded = decoded;
    }

    /// Ends the input: the last line may lack its line end (or end in half a code unit).
    fn finish(mut self, sink: &mut dyn RecordSink) -> ReadOutcome {
        // Half a character at the end carries nothing: it is reported, not made part of the line.
        let mut tail = String::new();
        self.decoder.finish(&mut tail);
        let cut_in_character = !tail.is_empty();
        if !self.line.is_empty() || self.line_overlong {
            // etl2txt ends every line with CRLF, so a last line without one was cut short.
            self.end_line(sink);
            self.warn(if cut_in_character {
                "the file ends in the middle of a character, without a line end: it was cut short and this last \
                 line may be incomplete"
            } else {
                "the file ends without a line end: it was cut short and this last line may be incomplete"
            });
        } else if cut_in_character {
            self.warn("the file ends in the middle of a character: it was cut short");
        }
        self.flush(sink);
        self.summarize();
        self.out
    }

    fn split_lines(&mut self, text: &str, sink: &mut dyn RecordSink) {
        let mut rest = text;
        while let Some(end) = rest.find('\n') {
            self.append(&rest[..end]);
            self.end_line(sink);
            rest = &rest[end + 1..];
        }
        self.append(rest);
    }

    /// Adds text to the current line, keeping at most [`MAX_LINE_BYTES`] of it.
    fn append(&mut self, piece: &str) {
        if !append_capped(&mut self.line, piece, MAX_LINE_BYTES) {
            self.line_overlong = true;
        }
    }

    fn end_line(&mut self, sink: &mut dyn RecordSink) {
        self.line_number += 1;
        let line = std::mem::take(&mut self.line);
        if std::mem::take(&mut self.line_overlong) {
            self.flush(sink);
            self.unknown_lines.add(self.line_number, &line);
        } else {
            self.handle_line(&line, sink);
        }
        self.line = line;
        self.line.clear();
    }

    fn handle_line(&mut self, raw: &str, sink: &mut dyn RecordSink) {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let line = if self.line_number == 1 {
            line.trim_start_matches('\u{FEFF}')
        } else {
            line
        };
        if line.trim().is_empty() {
            return;
        }
        if line.starts_with(['\t', ' ']) {
            self.detail_line(line.trim());
            return;
        }
        self.flush(sink);
        match parse_prefix(line) {
            Some(prefix) => self.prefixed_line(&prefix, sink),
            None if line.contains("PktGroupId") => self.unprefixed_packet_line(line),
            None => self.unknown_lines.add(self.line_number, line),
        }
    }

    fn prefixed_line(&mut self, prefix: &LinePrefix<'_>, sink: &mut dyn RecordSink) {
        let message = strip_metadata(prefix.message);
        if prefix.provider == SYSTEM_TRACE_PROVIDER && message.contains("Header") && message.contains("StartTime:") {
            if self.header_seen {
                *self
                    .out
                    .other_events
                    .entry((prefix.provider.to_string(), 0))
                    .or_default() += 1;
            } else {
                self.header_line(prefix.time, message);
            }
            return;
        }
        if !prefix.provider.to_ascii_lowercase().contains("pktmon") {
            // Text gives no event id: other providers are counted by name under id 0.
            *self
                .out
                .other_events
                .entry((prefix.provider.to_string(), 0))
                .or_default() += 1;
            return;
        }
        if message.contains("PktGroupId") {
            let origin = Origin {
                cpu: Some(prefix.cpu),
                process_id: Some(prefix.process_id),
                thread_id: Some(prefix.thread_id),
            };
            self.packet_line(origin, prefix.time, message);
            return;
        }
        let message = ascii_commas(message);
        let message = message.trim_end();
        let record = match classify(message) {
            Some(LineKind::Component) => self.component_line(message),
            Some(LineKind::Property) => self.property_line(message),
            Some(LineKind::DropCounters) => self.drop_counters_line(message),
            Some(LineKind::FlowCounters) => self.flow_counters_line(message),
            Some(LineKind::Filter) => self.filter_line(message),
            None => {
                self.unknown_lines.add(self.line_number, message);
                return;
            }
        };
        if let Some(record) = record {
            self.emit(record, sink);
        }
    }

    /// A line with a PktGroupId but no `[CC]PPPP.TTTT::` prefix: accepted when
    /// it starts with a time (the `--timestamp-only` shape), else an error.
    fn unprefixed_packet_line(&mut self, line: &str) {
        let split = line
            .match_indices(' ')
            .map(|(i, _)| i)
            .take(4)
            .find(|&i| parse_time(&line[..i]).is_some());
        match split {
            Some(i) => {
                let message = line[i..].trim_start();
                let message = match message.strip_prefix('[').and_then(|m| m.split_once(']')) {
                    Some((_provider, rest)) => rest.trim_start(),
                    None => message,
                };
                self.packet_line(Origin::default(), &line[..i], message);
            }
            None => self.error("a packet line without the `[CC]PPPP.TTTT::time [Provider]` prefix; line skipped"),
        }
    }

    fn header_line(&mut self, time_text: &str, message: &str) {
        self.header_seen = true;
        let info = &mut self.out.info;
        let number = |key: &str| header_number(message, key);
        let small = |key: &str| number(key).and_then(|v| u32::try_from(v).ok());
        info.os_build = small("ProviderVersion");
        info.processors = small("NumberOfProcessors");
        info.pointer_size = small("PointerSize");
        info.clock_type = small("ReservedFlags");
        info.perf_freq = number("PerfFreq");
        info.events_lost = number("EventsLost").and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
        info.buffers_lost = number("BuffersLost").and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
        info.start_time = number("StartTime").filter(|&t| t > 0);
        info.end_time = number("EndTime").filter(|&t| t > 0);
        info.logger_name = header_value(message, "SessionNameString")
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        // The file name is the last field and may itself contain ", ".
        info.log_file_name = message
            .find("LogFileNameString: ")
            .map(|i| message[i + "LogFileNameString: ".len()..].trim().to_string())
            .filter(|s| !s.is_empty());
        self.out.catalog = Catalog::builtin(info.os_build);

        let local = parse_time(time_text);
        let bias = match (info.start_time, local) {
            (Some(utc), Some(local)) => {
                let minutes = (i128::from(utc) - i128::from(local) + i128::from(TICKS_PER_MINUTE / 2))
                    .div_euclid(i128::from(TICKS_PER_MINUTE));
                (minutes.abs() <= i128::from(MAX_BIAS_MINUTES)).then_some(minutes as i32)
            }
            _ => None,
        };
        match bias {
            Some(bias) => {
                self.bias = Some(bias);
                self.out.info.timezone_bias_minutes = Some(bias);
                if self.packets_before_header > 0 {
                    let n = self.packets_before_header;
                    self.warn(format!(
                        "the header line comes after {n} packet lines; their times are the capturing machine's \
                         local time, read as UTC"
                    ));
                }
            }
            None => self.warn(
                "the header line's StartTime and printed time do not give a time-zone bias; times are the \
                 capturing machine's local time, read as UTC",
            ),
        }
    }

    fn packet_line(&mut self, origin: Origin, time_text: &str, message: &str) {
        let Some(local) = parse_time(time_text) else {
            self.error(format!(
                "packet line with an unreadable time `{time_text}`; line skipped"
            ));
            return;
        };
        let Some(fields) = parse_packet_message(message) else {
            self.error("packet line without a readable PktGroupId; line skipped");
            return;
        };
        if !fields.invalid.is_empty() {
            self.error(format!(
                "packet line with unreadable {}; line skipped",
                fields.invalid.join(", ")
            ));
            return;
        }
        let time = match self.bias {
            Some(bias) => local.saturating_add(i64::from(bias) * TICKS_PER_MINUTE),
            None => {
                self.packets_without_bias += 1;
                if !self.header_seen {
                    self.packets_before_header += 1;
                }
                local
            }
        };
        let direction = self.mapped_code(MAP_DIRECTION, fields.direction.as_deref());
        let packet_type = self.mapped_code(MAP_PACKET_TYPE, fields.packet_type.as_deref());
        let drop = fields.is_drop.then(|| {
            let text = fields.drop_reason.as_deref().unwrap_or("").trim();
            let numeric = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
            DropInfo {
                reason: if numeric {
                    text.parse().ok()
                } else {
                    self.out.catalog.code_for_text(MAP_DROP_REASON, text)
                },
                // A number is not a reason text: renderers look the code up instead.
                reason_text: (!numeric && !text.is_empty()).then(|| text.to_string()),
                location: fields.drop_location,
            }
        });
        let appearance = Appearance {
            index: 0,
            time,
            cpu: origin.cpu,
            process_id: origin.process_id,
            thread_id: origin.thread_id,
            group_id: fields.group_id,
            pkt_number: fields.pkt_number,
            appearance: fields.appearance,
            direction,
            packet_type,
            component_id: fields.component_id,
            edge_id: fields.edge_id,
            filter_id: fields.filter_id,
            drop,
            original_size: fields.original_size.unwrap_or(0),
            logged_size: fields.logged_size.unwrap_or(0),
            link_type: LinkType::Other,
            payload: Vec::new(),
        };
        self.pending = Some(Pending {
            appearance,
            line: self.line_number,
            hex_broken: false,
        });
    }

    /// The code of a direction or packet-type text; a text the catalog does not
    /// know (a translated one) is tallied and gives `None`.
    fn mapped_code(&mut self, map: &str, text: Option<&str>) -> Option<u16> {
        let text = text?;
        match code_for(&self.out.catalog, map, text).and_then(|c| u16::try_from(c).ok()) {
            Some(code) => Some(code),
            None => {
                self.unmapped_texts.add(self.line_number, text);
                None
            }
        }
    }

    /// A direction text of a counters line; the model has no "unknown", so 0.
    fn direction_code(&mut self, item: &str) -> u16 {
        let text = item.split_once('=').map_or(item, |(_, value)| value).trim();
        self.mapped_code(MAP_DIRECTION, Some(text)).unwrap_or(0)
    }

    /// A tab-indented line after a packet line: a `--hex` line adds to the payload, anything else is ignored.
    fn detail_line(&mut self, text: &str) {
        let Some(pending) = self.pending.as_mut() else {
            return;
        };
        let Some((offset, bytes)) = parse_hex_line(text) else {
            return;
        };
        if pending.hex_broken {
            return;
        }
        let payload = &mut pending.appearance.payload;
        if offset != payload.len() || payload.len() + bytes.len() > MAX_PAYLOAD {
            pending.hex_broken = true;
            let message = format!(
                "the hex dump of the packet on line {} continues at offset 0x{offset:04x} after 0x{:04x} bytes; \
                 the rest of it is ignored",
                pending.line,
                payload.len()
            );
            self.error(message);
            return;
        }
        payload.extend_from_slice(&bytes);
    }

    /// Pushes the appearance awaiting its details, now that they are complete.
    fn flush(&mut self, sink: &mut dyn RecordSink) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let mut appearance = pending.appearance;
        if !appearance.payload.is_empty() && appearance.payload.len() != appearance.logged_size as usize {
            let example = format!(
                "{} bytes of hex, LoggedSize {}",
                appearance.payload.len(),
                appearance.logged_size
            );
            self.hex_mismatches.add(pending.line, &example);
        }
        appearance.link_type = link_type_for(appearance.packet_type.unwrap_or(0), &appearance.payload);
        appearance.index = self.next_index;
        self.next_index += 1;
        self.emit(Record::Packet(appearance), sink);
    }

    fn emit(&self, record: Record, sink: &mut dyn RecordSink) {
        let ctx = Context {
            info: &self.out.info,
            catalog: &self.out.catalog,
            schemas: &self.out.schemas,
        };
        sink.record(&ctx, record);
    }

    /// `Component 141, Type HTTP Protocol , Name http.sys, HTTP `.
    fn component_line(&mut self, message: &str) -> Option<Record> {
        let parts: Vec<&str> = message.splitn(4, ',').collect();
        let parsed = (|| {
            let id = last_number::<u16>(parts.first()?)?;
            let type_item = parts.get(1)?.trim();
            let english = type_item.strip_prefix("Type ");
            let component_type = match english {
                Some(text) => code_for(&self.out.catalog, MAP_COMPONENT_TYPE, text),
                None => code_for_tail(&self.out.catalog, MAP_COMPONENT_TYPE, type_item),
            };
            let name = after_label(parts.get(2)?, "Name").to_string();
            let description = parts.get(3)?.strip_prefix(' ').unwrap_or(parts.get(3)?);
            let description = description.strip_suffix(' ').unwrap_or(description).to_string();
            Some((id, component_type, english.unwrap_or(type_item), name, description))
        })();
        let Some((id, component_type, type_text, name, description)) = parsed else {
            self.error("unreadable component line; line skipped");
            return None;
        };
        let component_type = match component_type.and_then(|c| u16::try_from(c).ok()) {
            Some(code) => code,
            None => {
                self.unmapped_texts.add(self.line_number, type_text);
                0
            }
        };
        Some(Record::Component(Component {
            id,
            component_type,
            name,
            description,
            properties: Vec::new(),
        }))
    }

    /// `Property: Component 141, IP Address  = fe80::78ba:2ddc:6874:ea90 `.
    fn property_line(&mut self, message: &str) -> Option<Record> {
        let parsed = (|| {
            let (head, rest) = message.split_once(',')?;
            let component_id = last_number::<u16>(head)?;
            let (name, value) = rest.split_once('=')?;
            Some((component_id, name.trim(), value.trim()))
        })();
        let Some((component_id, name, value)) = parsed else {
            self.error("unreadable property line; line skipped");
            return None;
        };
        let Some(id) = code_for(&self.out.catalog, MAP_PROPERTY_TYPE, name).and_then(|c| u16::try_from(c).ok()) else {
            self.unmapped_texts.add(self.line_number, name);
            return None;
        };
        let value = self.property_value(id, value);
        Some(Record::Property {
            component_id,
            property: Property { id, value },
        })
    }

    /// A property value typed as the ETL types it: by property id where the id
    /// fixes the type (NdisMedium, EtherType, PhysAddress), else by its shape.
    fn property_value(&self, id: u16, text: &str) -> PropertyValue {
        const NDIS_MEDIUM: u16 = 5;
        const PHYS_ADDRESS: u16 = 6;
        const ETHER_TYPE: u16 = 7;
        let number = || -> Option<u32> {
            match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                Some(hex) if hex.len() <= 8 => u32::from_str_radix(hex, 16).ok(),
                Some(_) => None,
                None => text.parse().ok(),
            }
        };
        match id {
            NDIS_MEDIUM => {
                // Texts where the file's map had one (`Ethernet`, `WiFi`), numbers elsewhere (`12`).
                if let Some(v) = code_for(&self.out.catalog, MAP_NDIS_MEDIUM, text)
                    .or_else(number)
                    .and_then(|v| u16::try_from(v).ok())
                {
                    return PropertyValue::NdisMedium(v);
                }
            }
            ETHER_TYPE => {
                if let Some(v) = code_for(&self.out.catalog, MAP_ETHER_TYPE, text)
                    .or_else(number)
                    .and_then(|v| u16::try_from(v).ok())
                {
                    return PropertyValue::EtherType(v);
                }
            }
            PHYS_ADDRESS => {
                if let Some(bytes) = hex_bytes(text) {
                    return PropertyValue::Bytes(bytes);
                }
            }
            _ => {}
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return match ip {
                IpAddr::V4(v4) => PropertyValue::Ipv4(v4),
                IpAddr::V6(v6) => PropertyValue::Ipv6(v6),
            };
        }
        if text.starts_with('{') && text.ends_with('}') && text.len() == 38 {
            return PropertyValue::Guid(text.to_ascii_lowercase());
        }
        if let Some(v) = number() {
            return PropertyValue::U32(v);
        }
        if let Some(bytes) = hex_bytes(text) {
            return PropertyValue::Bytes(bytes);
        }
        PropertyValue::Str(text.to_string())
    }

    /// `Drop Counters: Component 141, Direction In = Rx , Packets In 0, Bytes In 0, Direction Out = Tx , …`.
    fn drop_counters_line(&mut self, message: &str) -> Option<Record> {
        let parts: Vec<&str> = message.split(',').collect();
        let numbers = (|| {
            if parts.len() != 7 {
                return None;
            }
            Some((
                last_number::<u16>(parts[0])?,
                last_number::<u64>(parts[2])?,
                last_number::<u64>(parts[3])?,
                last_number::<u64>(parts[5])?,
                last_number::<u64>(parts[6])?,
            ))
        })();
        let Some((component_id, packets_in, bytes_in, packets_out, bytes_out)) = numbers else {
            self.error("unreadable drop-counters line; line skipped");
            return None;
        };
        Some(Record::DropCounters(DropCounters {
            component_id,
            direction_in: self.direction_code(parts[1]),
            packets_in,
            bytes_in,
            direction_out: self.direction_code(parts[4]),
            packets_out,
            bytes_out,
        }))
    }

    /// `Flow Counters: Component 141, Edge Upper, Edge Id 2, Direction In = Rx , Packets In 0, …`.
    /// Fields are taken from the end, so an edge name with a comma stays whole.
    fn flow_counters_line(&mut self, message: &str) -> Option<Record> {
        let parts: Vec<&str> = message.split(',').collect();
        let n = parts.len();
        let numbers = (|| {
            if n < 9 {
                return None;
            }
            Some((
                last_number::<u16>(parts[0])?,
                last_number::<u16>(parts[n - 7])?,
                last_number::<u64>(parts[n - 5])?,
                last_number::<u64>(parts[n - 4])?,
                last_number::<u64>(parts[n - 2])?,
                last_number::<u64>(parts[n - 1])?,
            ))
        })();
        let Some((component_id, edge_id, packets_in, bytes_in, packets_out, bytes_out)) = numbers else {
            self.error("unreadable flow-counters line; line skipped");
            return None;
        };
        let edge_name = after_label(&parts[1..n - 7].join(","), "Edge").to_string();
        Some(Record::FlowCounters(FlowCounters {
            component_id,
            edge_name,
            edge_id,
            direction_in: self.direction_code(parts[n - 6]),
            packets_in,
            bytes_in,
            direction_out: self.direction_code(parts[n - 3]),
            packets_out,
            bytes_out,
        }))
    }

    /// `Packet Filter 1, Name , MAC-1 0x000000000000, MAC-2 0x…, EtherType 0, VlanId 0, IP-1 192.168.71.1,
    /// IP-2 0.0.0.0, Protocol 0, Port-1 0, Port-2 0, TCPFlags 0 ` (fields taken from the end, as the name is free text).
    fn filter_line(&mut self, message: &str) -> Option<Record> {
        let parts: Vec<&str> = message.split(',').collect();
        let n = parts.len();
        let parsed = (|| {
            if n < 12 {
                return None;
            }
            let last = |i: usize| parts[i].split_whitespace().last().unwrap_or("");
            let mac = |i: usize| -> Option<[u8; 6]> { hex_bytes(last(i))?.try_into().ok() };
            let ether_type = code_for(
                &self.out.catalog,
                MAP_ETHER_TYPE,
                after_label(parts[n - 8], "EtherType"),
            )
            .and_then(|v| u16::try_from(v).ok())?;
            Some(PacketFilter {
                id: last_number(parts[0])?,
                name: after_label(&parts[1..n - 10].join(","), "Name").to_string(),
                mac1: mac(n - 10)?,
                mac2: mac(n - 9)?,
                ether_type,
                vlan_id: last_number(parts[n - 7])?,
                ip1: last(n - 6).parse().ok()?,
                ip2: last(n - 5).parse().ok()?,
                protocol: last_number(parts[n - 4])?,
                port1: last_number(parts[n - 3])?,
                port2: last_number(parts[n - 2])?,
                tcp_flags: last_number(parts[n - 1])?,
            })
        })();
        if parsed.is_none() {
            self.error("unreadable packet-filter line; line skipped");
        }
        parsed.map(Record::Filter)
    }

    fn error(&mut self, message: impl Into<String>) {
        let location = Location::Line(self.line_number);
        self.out.diagnostics.error(&self.name, location, message);
    }

    fn warn(&mut self, message: impl Into<String>) {
        let location = Location::Line(self.line_number);
        self.out.diagnostics.warn(&self.name, location, message);
    }

    /// One warning per kind of doubtful input, so a large file cannot flood the output.
    fn summarize(&mut self) {
        let name = self.name.clone();
        let diagnostics = &mut self.out.diagnostics;
        if self.packets_without_bias > 0 && !self.header_seen {
            diagnostics.warn(
                &name,
                Location::File,
                "times are the capturing machine's local time, read as UTC: the file has no \
                 `[MSNT_SystemTrace] Event: Header` line to give its time zone",
            );
        }
        let tallies = [
            (&self.unknown_lines, "lines of unknown shape were skipped"),
            (
                &self.unmapped_texts,
                "values are texts the built-in catalog does not know (a capture in another UI language?); \
                 their codes are left empty",
            ),
            (
                &self.hex_mismatches,
                "packets have a hex dump whose length differs from their LoggedSize",
            ),
        ];
        for (tally, what) in tallies {
            if tally.count > 0 {
                diagnostics.warn(
                    &name,
                    Location::Line(tally.first_line),
                    format!("{} {what}; the first is on this line: `{}`", tally.count, tally.example),
                );
            }
        }
        let info = &self.out.info;
        if info.events_lost > 0 || info.buffers_lost > 0 {
            let message = format!(
                "the capture lost data while recording: {} events lost, {} buffers lost",
                info.events_lost, info.buffers_lost
            );
            diagnostics.warn(&name, Location::File, message);
        }
    }
}

/// Appends `piece` to a line being read, keeping at most `max` bytes of it;
/// false if some of it was cut off.
pub(crate) fn append_capped(line: &mut String, piece: &str, max: usize) -> bool {
    let room = max.saturating_sub(line.len());
    if piece.len() <= room {
        line.push_str(piece);
        return true;
    }
    let mut cut = room;
    while !piece.is_char_boundary(cut) {
        cut -= 1;
    }
    line.push_str(&piece[..cut]);
    false
}

/// Opens a text input and reads its first bytes (up to 4 KiB), which
/// `looks_like` must accept; `not_this` says what the file is not when it does not.
pub(crate) fn open_text(path: &Path, looks_like: fn(&[u8]) -> bool, not_this: &str) -> Result<(File, Vec<u8>), Error> {
    let name = path.display().to_string();
    let mut file = File::open(path).map_err(|e| Error::io(path, &e))?;
    let mut head = Vec::with_capacity(HEAD_LEN);
    (&mut file)
        .take(HEAD_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, &e))?;
    if head.is_empty() {
        return Err(Error::new(name, Location::Offset(0), "file is empty"));
    }
    if !looks_like(&head) {
        return Err(Error::new(name, Location::Offset(0), not_this));
    }
    Ok((file, head))
}

/// Hands the rest of a text input to `each`, chunk by chunk; a read error
/// names the file and the offset (`offset`: bytes already read).
pub(crate) fn read_chunks(
    path: &Path,
    mut file: File,
    mut offset: u64,
    mut each: impl FnMut(&[u8]),
) -> Result<(), Error> {
    let mut chunk = vec![0u8; CHUNK_LEN];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                each(&chunk[..n]);
                offset += n as u64;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::at(path, offset, e.to_string())),
        }
    }
}

/// Reads `pktmon etl2txt` text, pushing its records into `sink` in file order.
/// Damaged lines are reported in the outcome's diagnostics and skipped; only
/// an empty file, an unreadable one or one that is not etl2txt text is an `Err`.
pub fn read(path: &Path, sink: &mut dyn RecordSink) -> Result<ReadOutcome, Error> {
    let (file, head) = open_text(
        path,
        looks_like_text,
        "not pktmon etl2txt text: no line in the first 4 KiB has the `[CC]PPPP.TTTT::` prefix or a PktGroupId \
         field (or the bytes are not UTF-8/UTF-16 text)",
    )?;
    let (encoding, bom) = sniff_encoding(&head);
    let mut reader = TextReader::new(path, encoding);
    reader.feed(&head[bom..], sink);
    read_chunks(path, file, head.len() as u64, |chunk| reader.feed(chunk, sink))?;
    Ok(reader.finish(sink))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(encoding: Encoding, bytes: &[u8], piece: usize) -> String {
        let mut decoder = Decoder::new(encoding);
        let mut out = String::new();
        for chunk in bytes.chunks(piece) {
            decoder.decode(chunk, &mut out);
        }
        decoder.finish(&mut out);
        out
    }

    #[test]
    fn decoders_survive_any_chunk_boundary() {
        let text = "PktGroupId 1、方向 Rx ，类型 IP 😀 end";
        let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        for piece in 1..8 {
            assert_eq!(decode_in_pieces(Encoding::Utf8, text.as_bytes(), piece), text);
            assert_eq!(decode_in_pieces(Encoding::Utf16Le, &utf16, piece), text);
        }
    }

    #[test]
    fn invalid_sequences_become_replacement_characters() {
        assert_eq!(
            decode_in_pieces(Encoding::Utf8, b"a\xFFb\xE4\xB8", 2),
            "a\u{FFFD}b\u{FFFD}"
        );
        // A lone low surrogate, a high surrogate followed by a letter, then half a code unit.
        let bytes = [0x00, 0xDC, 0x3D, 0xD8, 0x41, 0x00, 0x42];
        assert_eq!(
            decode_in_pieces(Encoding::Utf16Le, &bytes, 3),
            "\u{FFFD}\u{FFFD}A\u{FFFD}"
        );
    }

    #[test]
    fn times_parse_in_both_shapes_and_reject_impossible_dates() {
        let a = parse_time("2021-06-03 19:19:55.618793000").unwrap();
        let b = parse_time("2021/06/03-19:19:55.6187930").unwrap();
        assert_eq!(a, b);
        assert_eq!(crate::time::format_etl2txt(a, 0), "2021-06-03 19:19:55.618793000");
        assert!(parse_time("2021-02-30 00:00:00.0").is_none());
        assert!(parse_time("2021-06-03 24:00:00.0").is_none());
        assert!(parse_time("2021-06-03 1x:00:00.0").is_none());
        assert!(parse_time("2021-06-03").is_none());
        assert!(parse_time("二〇二一-06-03 19:19:55.6").is_none());
    }

    #[test]
    fn hex_lines_give_offset_and_bytes() {
        let (offset, bytes) = parse_hex_line("0x0010:  7085 c286 c7").unwrap();
        assert_eq!(offset, 0x10);
        assert_eq!(bytes, [0x70, 0x85, 0xc2, 0x86, 0xc7]);
        assert!(parse_hex_line("54-8C-A0-98-0E-25 > 3C-84-6A-01-EA-8B, ethertype IPv4").is_none());
    }

    #[test]
    fn detection_needs_an_etl2txt_line() {
        let line = "[02]0000.0000::2021-06-03 19:19:55.618793000 [Microsoft-Windows-PktMon] PktGroupId 1\r\n";
        let utf16: Vec<u8> = line.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(looks_like_text(line.as_bytes()));
        assert!(looks_like_text(&utf16));
        assert!(looks_like_text(&[&[0xFF, 0xFE][..], &utf16].concat()));
        assert!(!looks_like_text(b"just some notes\n"));
        assert!(!looks_like_text(&[
            0u8, 1, 2, 3, 200, 201, 202, 7, 8, 9, 0, 0, 0, 17, 18, 19
        ]));
    }

    /// Every kind of line, mutated one character at a time: never a panic.
    #[test]
    fn mutated_lines_never_panic() {
        let lines = [
            "[00]1864.06A4::2021-06-03 19:19:55.454004600 [MSNT_SystemTrace] Event: Header, ProviderVersion: 19042, NumberOfProcessors: 4, EventsLost: 0, StartTime: 132672017954540046, BuffersLost: 0, LogFileNameString: C:\\a.etl",
            "[02]0000.0000::2021-06-03 19:19:55.618793000 [Microsoft-Windows-PktMon] PktGroupId 5, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54 ",
            "\t0x0000:  7085 c286 c720 0015 5d01 be1e 0800 4500",
            "[30]0000.0000::2025-03-27 16:10:34.934020500 [Microsoft-Windows-PktMon] Drop: PktGroupId 8, PktNumber 1, Appearance 0, Direction Rx , Type IP , Component 49, Filter 1, DropReason INET: x , DropLocation 0xE000460A, OriginalSize 402, LoggedSize 148",
            "[03]0000.0000::2024-11-05 10:00:02.000000000 [Microsoft-Windows-PktMon] 丢弃： PktGroupId 2、PktNumber 1、外观 0、方向 Rx 、类型 IP 、组件 101、筛选 0、DropReason 5 、DropLocation 0xE0004500、OriginalSize 52、LoggedSize 52 ",
            "[03]2A8C.05B8::2021-06-03 19:20:11.122755300 [Microsoft-Windows-PktMon] Component 141, Type HTTP Protocol , Name http.sys, HTTP ",
            "[00]2A8C.05B8::2021-06-03 19:20:11.123570200 [Microsoft-Windows-PktMon] Property: Component 15, PhysAddress  = 0x00FF3CDA169C ",
            "[03]2A8C.05B8::2021-06-03 19:20:11.122760800 [Microsoft-Windows-PktMon] Drop Counters: Component 141, Direction In = Rx , Packets In 0, Bytes In 0, Direction Out = Tx , Packets Out 0, Bytes Out 0 ",
            "[03]2A8C.05B8::2021-06-03 19:20:11.122762400 [Microsoft-Windows-PktMon] Flow Counters: Component 141, Edge Upper, Edge Id 2, Direction In = Rx , Packets In 0, Bytes In 0, Direction Out = Tx , Packets Out 0, Bytes Out 0 ",
            "[10]3C28.4260::2026-05-31 13:14:22.805687800 [Microsoft-Windows-PktMon] Packet Filter 1, Name , MAC-1 0x000000000000, MAC-2 0x000000000000, EtherType 0, VlanId 0, IP-1 192.168.71.1, IP-2 0.0.0.0, Protocol 0, Port-1 0, Port-2 0, TCPFlags 0 ",
        ];
        let mut sink = |_: &Context<'_>, _: Record| {};
        let path = Path::new("mutated.txt");
        for (n, line) in lines.iter().enumerate() {
            let chars: Vec<char> = line.chars().collect();
            // All variants of a line go through one reader, between well-formed lines.
            for replacement in ['\u{FFFD}', ',', '，', '=', ' ', '\t', 'x', '9', ':', '[', ']', '.'] {
                let mut reader = TextReader::new(path, Encoding::Utf8);
                reader.feed(lines[0].as_bytes(), &mut sink);
                for at in 0..chars.len() {
                    let mut mutated = chars.clone();
                    mutated[at] = replacement;
                    let mutated: String = mutated.into_iter().collect();
                    let text = format!("\n{mutated}\n{}", lines[(n + 1) % lines.len()]);
                    reader.feed(text.as_bytes(), &mut sink);
                }
                reader.finish(&mut sink);
            }
            // The file ends anywhere in the line.
            for (cut, _) in line.char_indices() {
                let mut reader = TextReader::new(path, Encoding::Utf8);
                reader.feed(&line.as_bytes()[..cut], &mut sink);
                reader.finish(&mut sink);
            }
        }
    }

    #[test]
    fn localized_lines_are_classified_by_shape() {
        assert_eq!(
            classify("Komponente 98, Typ Protocol , Name tcpip.sys, TCPIP"),
            Some(LineKind::Component)
        );
        assert_eq!(
            classify("Eigenschaft: Komponente 98, IfIndex  = 5"),
            Some(LineKind::Property)
        );
        assert_eq!(
            classify("X: K 1, R E = Rx , P E 0, B E 0, R A = Tx , P A 0, B A 0"),
            Some(LineKind::DropCounters)
        );
        assert_eq!(classify("Something else entirely"), None);
    }
}
