//! One generated capture in every input form the readers take, with its
//! ground truth beside it: `DIR/<scenario>.<ext>` and `DIR/<scenario>.truth.json`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::text::{rundown_time, Etl2TxtWriter, TextEncoding, RUNDOWN_ORIGIN};
use super::{capture_info, generate, GenOptions, GroundTruth};
use crate::etl::writer::{EtlWriter, EtlWriterOptions};
use crate::model::*;
use crate::sink::atomic::AtomicFile;
use crate::sink::etl2pcapng::Etl2PcapngWriter;
use crate::sink::pcapng::{ConvertOptions, PcapngConverter};

/// The forms a capture can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// PktMon's own ETL, as pktmon writes it (relogged, XPRESS-compressed buffers per CPU, embedded schema).
    Etl,
    /// This project's converter pcapng (`convert` of the ETL gives the same bytes).
    Pcapng,
    /// pcapng as microsoft/etl2pcapng 1.12 writes it.
    Etl2pcapng,
    /// `pktmon etl2txt` text: UTF-16LE with BOM and CRLF, as pktmon writes it.
    Txt,
    /// The same text in UTF-8 with LF.
    TxtUtf8,
    /// netsh trace text (`netsh trace convert`): the Microsoft-Windows-TCPIP
    /// events of the same traffic (UTF-16LE with BOM and CRLF, local time).
    NetTrace,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Etl,
        Format::Pcapng,
        Format::Etl2pcapng,
        Format::Txt,
        Format::TxtUtf8,
        Format::NetTrace,
    ];

    /// The file name suffix.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Etl => "etl",
            Format::Pcapng => "pcapng",
            Format::Etl2pcapng => "etl2pcapng.pcapng",
            Format::Txt => "txt",
            Format::TxtUtf8 => "utf8.txt",
            Format::NetTrace => "NetTrace.txt",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Etl => "etl",
            Format::Pcapng => "pcapng",
            Format::Etl2pcapng => "etl2pcapng",
            Format::Txt => "txt",
            Format::TxtUtf8 => "txt-utf8",
            Format::NetTrace => "nettrace",
        }
    }
}

/// What [`write`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub truth: GroundTruth,
    pub truth_file: PathBuf,
    pub files: Vec<(Format, PathBuf)>,
    /// Adapter counter snapshots beside the capture (`<scenario>.nic-before.json`,
    /// `….nic-after.json`), when the scenario plants an adapter counter.
    pub snapshots: Vec<PathBuf>,
}

/// Feeds an [`EtlWriter`]: packets at their own CPU and time, the rundown
/// after the last packet ([`rundown_time`], as the text writer dates it).
pub struct EtlSink {
    pub writer: EtlWriter,
    last_packet: FileTime,
    rundown: u64,
}

impl EtlSink {
    /// An ETL in pktmon's shape for a capture with this info.
    pub fn new(info: &CaptureInfo) -> EtlSink {
        let options = EtlWriterOptions {
            os_build: info.os_build.unwrap_or(26200),
            processors: info.processors.unwrap_or(4),
            start_time: info.start_time.unwrap_or(0),
            timezone_bias_minutes: info.timezone_bias_minutes.unwrap_or(0),
            os_description: info.os_description.clone(),
            ..EtlWriterOptions::default()
        };
        EtlSink {
            writer: EtlWriter::new(options),
            last_packet: 0,
            rundown: 0,
        }
    }

    pub fn finish(self) -> Vec<u8> {
        self.writer.finish()
    }
}

impl RecordSink for EtlSink {
    fn record(&mut self, _ctx: &Context<'_>, record: Record) {
        match &record {
            Record::Packet(a) => {
                self.last_packet = self.last_packet.max(a.time);
                self.writer.appearance(a);
            }
            r => {
                let (cpu, pid, tid) = RUNDOWN_ORIGIN;
                let t = rundown_time(self.last_packet, self.rundown);
                self.rundown += 1;
                self.writer.record(cpu, t, pid, tid, r);
            }
        }
    }
}

/// Sends every record to several sinks.
pub struct Tee<'a> {
    pub sinks: Vec<&'a mut dyn RecordSink>,
}

impl RecordSink for Tee<'_> {
    fn record(&mut self, ctx: &Context<'_>, record: Record) {
        let n = self.sinks.len();
        for (i, s) in self.sinks.iter_mut().enumerate() {
            if i + 1 == n {
                s.record(ctx, record);
                return;
            }
            s.record(ctx, record.clone());
        }
    }
}

fn err(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Generates `opts` into `dir` (created if needed) in each of `formats`,
/// with `<scenario>.truth.json`. Files are written whole or not at all.
pub fn write(opts: &GenOptions, dir: &Path, formats: &[Format]) -> io::Result<Written> {
    std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    let stem = opts.scenario.name();
    let path = |f: Format| dir.join(format!("{stem}.{}", f.extension()));
    let info = capture_info(opts);
    let mut etl = formats.contains(&Format::Etl).then(|| EtlSink::new(&info));
    let mut pcapng = match formats.contains(&Format::Pcapng) {
        true => Some(PcapngConverter::new(&path(Format::Pcapng), ConvertOptions::default()).map_err(|e| err(dir, e))?),
        false => None,
    };
    let mut e2p = match formats.contains(&Format::Etl2pcapng) {
        true => Some(Etl2PcapngWriter::new(&path(Format::Etl2pcapng)).map_err(|e| err(dir, e))?),
        false => None,
    };
    let mut txt = match formats.contains(&Format::Txt) {
        true => Some(Etl2TxtWriter::new(&path(Format::Txt), TextEncoding::Utf16Windows).map_err(|e| err(dir, e))?),
        false => None,
    };
    let mut txt8 = match formats.contains(&Format::TxtUtf8) {
        true => Some(Etl2TxtWriter::new(&path(Format::TxtUtf8), TextEncoding::Utf8).map_err(|e| err(dir, e))?),
        false => None,
    };
    let mut nettrace = formats
        .contains(&Format::NetTrace)
        .then(super::nettrace::Collector::default);
    let truth = {
        let mut sinks: Vec<&mut dyn RecordSink> = Vec::new();
        if let Some(s) = nettrace.as_mut() {
            sinks.push(s);
        }
        if let Some(s) = etl.as_mut() {
            sinks.push(s);
        }
        if let Some(s) = pcapng.as_mut() {
            sinks.push(s);
        }
        if let Some(s) = e2p.as_mut() {
            sinks.push(s);
        }
        if let Some(s) = txt.as_mut() {
            sinks.push(s);
        }
        if let Some(s) = txt8.as_mut() {
            sinks.push(s);
        }
        let mut tee = Tee { sinks };
        generate(opts, &mut tee)
    };
    let mut files = Vec::new();
    if let Some(s) = etl {
        let p = path(Format::Etl);
        let bytes = s.finish();
        let mut f = AtomicFile::create(&p).map_err(|e| err(&p, e))?;
        f.write_all(&bytes).map_err(|e| err(&p, e))?;
        f.commit().map_err(|e| err(&p, e))?;
        files.push((Format::Etl, p));
    }
    if let Some(s) = pcapng {
        let p = path(Format::Pcapng);
        s.finish(&info).map_err(|e| err(&p, e))?;
        files.push((Format::Pcapng, p));
    }
    if let Some(s) = e2p {
        let p = path(Format::Etl2pcapng);
        s.finish().map_err(|e| err(&p, e))?;
        files.push((Format::Etl2pcapng, p));
    }
    for (s, f) in [(txt, Format::Txt), (txt8, Format::TxtUtf8)] {
        if let Some(s) = s {
            let p = path(f);
            s.finish().map_err(|e| err(&p, e))?;
            files.push((f, p));
        }
    }
    if let Some(c) = nettrace {
        let p = path(Format::NetTrace);
        let mut events = c.events(&truth);
        super::nettrace::write_file(&p, &mut events).map_err(|e| err(&p, e))?;
        files.push((Format::NetTrace, p));
    }
    let snapshots = super::nic::write_snapshots(&truth, dir, stem)?;
    let truth_file = dir.join(format!("{stem}.truth.json"));
    let json = serde_json::to_string_pretty(&truth).map_err(|e| io::Error::other(e.to_string()))? + "\n";
    let mut f = AtomicFile::create(&truth_file).map_err(|e| err(&truth_file, e))?;
    f.write_all(json.as_bytes()).map_err(|e| err(&truth_file, e))?;
    f.commit().map_err(|e| err(&truth_file, e))?;
    Ok(Written {
        truth,
        truth_file,
        files,
        snapshots,
    })
}
