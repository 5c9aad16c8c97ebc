//! Packet and drop lines as `pktmon etl2txt` writes them, so Linux users can
//! follow Microsoft's documentation line for line.

use std::io::{self, Write};

use crate::model::*;
use crate::pktmon::events::{EVENT_DROP, EVENT_PACKET};
use crate::pktmon::text;

/// Text encoding of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 with LF line ends (the default on every OS here).
    Utf8,
    /// UTF-16LE with a BOM and CRLF line ends, byte for byte what pktmon writes.
    Utf16Windows,
}

/// Writes one line per packet or drop event.
pub struct TxtWriter<W: Write> {
    out: W,
    encoding: TextEncoding,
    /// Use the English templates even when the file has its own.
    english: bool,
    pub lines: u64,
    pub error: Option<io::Error>,
    started: bool,
}

impl<W: Write> TxtWriter<W> {
    /// Unless `english`, the file's own message templates (from its embedded
    /// schemas) are used, so lines read as they did on the capturing machine,
    /// in its language.
    pub fn new(out: W, encoding: TextEncoding, english: bool) -> Self {
        TxtWriter {
            out,
            encoding,
            english,
            lines: 0,
            error: None,
            started: false,
        }
    }

    fn write_line(&mut self, line: &str) -> io::Result<()> {
        match self.encoding {
            TextEncoding::Utf8 => {
                self.out.write_all(line.as_bytes())?;
                self.out.write_all(b"\n")
            }
            TextEncoding::Utf16Windows => {
                let mut buf = Vec::with_capacity(line.len() * 2 + 6);
                if !self.started {
                    buf.extend_from_slice(&[0xFF, 0xFE]);
                    self.started = true;
                }
                for u in line.encode_utf16().chain("\r\n".encode_utf16()) {
                    buf.extend_from_slice(&u.to_le_bytes());
                }
                self.out.write_all(&buf)
            }
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The full line of one appearance.
pub fn render_line(a: &Appearance, ctx: &Context<'_>, template: Option<&str>) -> String {
    let mut line = text::render_prefix(a, ctx.info.timezone_bias_minutes.unwrap_or(0));
    line.push_str(&text::render_message(a, ctx.catalog, template));
    line
}

impl<W: Write> RecordSink for TxtWriter<W> {
    fn record(&mut self, ctx: &Context<'_>, record: Record) {
        let Record::Packet(a) = record else { return };
        if self.error.is_some() {
            return;
        }
        let id = if a.is_drop() { EVENT_DROP } else { EVENT_PACKET };
        let template = if self.english {
            None
        } else {
            ctx.schemas.get(&id).and_then(|s| s.message.as_deref())
        };
        let line = render_line(&a, ctx, template);
        if let Err(e) = self.write_line(&line) {
            self.error = Some(e);
        }
        self.lines += 1;
    }
}
