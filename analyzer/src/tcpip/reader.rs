//! A netsh trace text file → a [`TcpipTrace`].
//!
//! `netsh trace convert` writes UTF-16LE or UTF-8 depending on the Windows
//! version and on what copied the file since, with CRLF or LF; the text
//! reader's decoder takes all of them. Lines of other providers are counted
//! per provider and skipped; Microsoft-Windows-TCPIP lines of events not parsed
//! are counted; a TCP/IP line whose labels say which event it is but whose
//! values do not parse is reported with its line number and skipped. Only a
//! file that is not netsh trace text at all is an `Err`.

use std::path::Path;

use super::parse::parse_message;
use super::*;
use crate::error::{Error, Location};
use crate::pktmon::text::parse_prefix;
use crate::source::text::{append_capped, open_text, parse_time, read_chunks, sniff_encoding, Decoder};

/// netsh lines are well under 4 KiB; a longer one is damage and is cut here.
const MAX_LINE_BYTES: usize = 1 << 16;
/// Damaged TCP/IP lines reported one by one before only counting them.
const MAX_REPORTED: u64 = 20;

/// Whether a line's time is netsh's `YYYY/MM/DD-HH:MM:SS…` (etl2txt writes `YYYY-MM-DD HH:…`).
fn is_netsh_line(line: &str) -> bool {
    parse_prefix(line).is_some_and(|p| p.time.as_bytes().get(4) == Some(&b'/') && parse_time(p.time).is_some())
}

/// Whether the first bytes of a file are netsh trace text: a decodable line
/// with the `[CPU]PID.TID::YYYY/MM/DD-` prefix.
pub fn looks_like_netsh(head: &[u8]) -> bool {
    let (encoding, bom) = sniff_encoding(head);
    let mut decoder = Decoder::new(encoding);
    let mut text = String::new();
    decoder.decode(&head[bom.min(head.len())..], &mut text);
    text.split('\n')
        .map(|l| l.trim_start_matches('\u{FEFF}').trim_end_matches('\r'))
        .any(is_netsh_line)
}

/// Reads lines one at a time into a trace.
struct LineReader {
    trace: TcpipTrace,
    damaged: u64,
    first_damaged: u64,
}

impl LineReader {
    fn new(file: &str) -> LineReader {
        LineReader {
            trace: TcpipTrace {
                file: file.to_string(),
                ..Default::default()
            },
            damaged: 0,
            first_damaged: 0,
        }
    }

    fn line(&mut self, raw: &str) {
        self.trace.lines += 1;
        let number = self.trace.lines;
        let line = raw.strip_suffix('\r').unwrap_or(raw).trim_start_matches('\u{FEFF}');
        if line.trim().is_empty() {
            return;
        }
        let Some(prefix) = parse_prefix(line) else {
            self.trace.unprefixed += 1;
            return;
        };
        *self.trace.providers.entry(prefix.provider.to_string()).or_default() += 1;
        if prefix.provider != PROVIDER {
            return;
        }
        let Some(time) = parse_time(prefix.time) else {
            self.damage(number, format!("unreadable time {:?}; line skipped", prefix.time));
            return;
        };
        match parse_message(prefix.message) {
            Ok(Some(event)) => self.trace.records.push(TcpipRecord {
                line: number,
                cpu: prefix.cpu,
                process_id: prefix.process_id,
                thread_id: prefix.thread_id,
                time,
                event,
            }),
            Ok(None) => self.trace.tcpip_other += 1,
            Err(what) => self.damage(number, format!("unreadable TCP/IP event ({what}); line skipped")),
        }
    }

    fn damage(&mut self, line: u64, message: String) {
        self.damaged += 1;
        if self.damaged == 1 {
            self.first_damaged = line;
        }
        if self.damaged <= MAX_REPORTED {
            let file = self.trace.file.clone();
            self.trace.diagnostics.error(&file, Location::Line(line), message);
        }
    }

    fn finish(mut self) -> TcpipTrace {
        if self.damaged > MAX_REPORTED {
            let file = self.trace.file.clone();
            self.trace.diagnostics.error(
                &file,
                Location::Line(self.first_damaged),
                format!(
                    "{} unreadable TCP/IP lines in all, the first on this line",
                    self.damaged
                ),
            );
        }
        // Lines of one event kind are logged per CPU; keep file order for equal times.
        self.trace.records.sort_by_key(|r| r.time);
        self.trace
    }
}

/// Reads netsh trace text held in memory (the generator's tests use this).
pub fn read_bytes(name: &str, bytes: &[u8]) -> TcpipTrace {
    let (encoding, bom) = sniff_encoding(bytes);
    let mut decoder = Decoder::new(encoding);
    let mut text = String::new();
    decoder.decode(&bytes[bom.min(bytes.len())..], &mut text);
    decoder.finish(&mut text);
    let mut r = LineReader::new(name);
    let mut lines = text.split('\n').peekable();
    while let Some(l) = lines.next() {
        if lines.peek().is_none() && l.is_empty() {
            break;
        }
        r.line(l);
    }
    r.finish()
}

/// Reads a netsh trace text file.
pub fn read(path: &Path) -> Result<TcpipTrace, Error> {
    let name = path.display().to_string();
    let (file, head) = open_text(
        path,
        looks_like_netsh,
        "not netsh trace text: no line in the first 4 KiB has the `[CPU]PID.TID::YYYY/MM/DD-` prefix",
    )?;
    let (encoding, bom) = sniff_encoding(&head);
    let mut decoder = Decoder::new(encoding);
    let mut reader = LineReader::new(&name);
    let mut pending = String::new();
    let mut decoded = String::new();
    let mut take = |bytes: &[u8]| {
        decoded.clear();
        decoder.decode(bytes, &mut decoded);
        let mut rest = decoded.as_str();
        while let Some(end) = rest.find('\n') {
            append_capped(&mut pending, &rest[..end], MAX_LINE_BYTES);
            reader.line(&pending);
            pending.clear();
            rest = &rest[end + 1..];
        }
        append_capped(&mut pending, rest, MAX_LINE_BYTES);
    };
    take(&head[bom..]);
    read_chunks(path, file, head.len() as u64, &mut take)?;
    decoded.clear();
    decoder.finish(&mut decoded);
    pending.push_str(&decoded);
    if !pending.is_empty() {
        reader.line(&pending);
    }
    Ok(reader.finish())
}
