//! Argument parsing and the wiring of each subcommand. Exit codes: 0 done,
//! 1 a `--fail-on` condition held, 2 an input or output error (results that
//! could be salvaged are still written).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use pktmon::error::{Diagnostics, Error, Severity};
use pktmon::sink;
use pktmon::source;

mod diagnose;
mod events;
mod export;
mod generate;
mod info;
mod install;
mod parallel;

#[derive(Parser)]
#[command(
    name = "pktmon-analyzer",
    version,
    about = "Read Windows Packet Monitor (PktMon) captures on any OS: .etl, pcapng/pcap and etl2txt text.",
    long_about = "Read Windows Packet Monitor (PktMon) captures on any OS.\n\n\
Inputs are detected from their content, not their name: PktMon's own .etl (compressed or not), \
pcapng from `pktmon etl2pcap`, from microsoft/etl2pcapng or from this tool's `convert`, any pcapng \
whose packet comments carry PktMon lines, classic pcap, and `pktmon etl2txt` text (UTF-16LE or UTF-8). \
`diagnose` also reads netsh trace text (NetTrace.txt): Microsoft-Windows-TCPIP drop, timer and send events.\n\n\
Exit codes: 0 success; 1 a diagnose --fail-on condition held; 2 an input could not be read or was damaged (everything that could be \
salvaged is still printed or written, and each problem names the file and the byte offset or line). \
A reader that goes away (`… | head -1`) ends a command quietly with 0."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Summarise captures: kind, Windows build, time range, packets, drops, distinct packets, components used,
    /// PktMon's per-component drop and flow counters (per direction, with the events captured beside them), events lost.
    /// Adapter counter snapshots among the files (Get-NetAdapterStatistics JSON, typeperf CSV) are joined to the
    /// captures of their folder: one line per adapter (joined to which component, clean or not).
    Info {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the component table (id, type, name, description, addresses, MAC, interface index).
    Components {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Print every ETW event of an ETL, of any provider, name=value per field, like `tracerpt`.
    ///
    /// One line per event: local time (as `txt`), provider, event id, then name=value for each field, decoded
    /// by the schemas the file itself carries (TRACE_EVENT_INFO and value maps, embedded by PktMon's
    /// relogger), as `tracerpt` would on the capturing machine. Microsoft-Windows-TCPIP or any other
    /// provider's events with an embedded schema decode the same way. Events without a schema print their
    /// payload length and hex; data a schema leaves over is printed as `!undecoded=`. A summary goes to
    /// standard error.
    Events {
        /// The .etl file.
        file: PathBuf,
        /// Only this provider: its name (e.g. Microsoft-Windows-PktMon) or GUID, case-insensitive.
        #[arg(long, value_name = "NAME|GUID")]
        provider: Option<String>,
        /// Only events with this id.
        #[arg(long, value_name = "N")]
        id: Option<u16>,
        /// Print one JSON object per line instead (fields by name; numbers as numbers).
        #[arg(long)]
        json: bool,
    },
    /// Convert a capture to pcapng keeping all PktMon metadata (one interface per component,
    /// packet ids, drop verdicts, direction flags, and the etl2txt line as each packet's comment).
    Convert {
        input: PathBuf,
        /// Output pcapng file (written whole or not at all; never an input). A device or pipe
        /// is written directly: `-o /dev/stdout` streams the pcapng.
        #[arg(short, long)]
        output: PathBuf,
        /// Leave out epb_verdict on drops (Wireshark 4.0 cannot re-save files that have it).
        #[arg(long)]
        no_verdict: bool,
        /// Write 802.11 frames byte for byte as PktMon logged them. By default a data frame the
        /// driver had decrypted keeps its plaintext but loses its Protected bit, so Wireshark
        /// decodes it.
        #[arg(long)]
        raw_80211: bool,
    },
    /// Print packet and drop lines exactly as `pktmon etl2txt` does (local time of the capture).
    Txt {
        input: PathBuf,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Write UTF-16LE with BOM and CRLF, byte for byte like pktmon, instead of UTF-8.
        #[arg(long)]
        utf16: bool,
        /// Use the English message templates even when the file carries another language's.
        #[arg(long)]
        english: bool,
    },
    /// Count drops per reason, location, component and direction.
    Drops {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Diagnose packet loss: correlate protocol symptoms with PktMon's local drop records and name the
    /// cause of each loss (local or remote; policy, resources, address_resolution, no_route,
    /// invalid_packet, congestion, unreachable, session_loss, mtu, other) with its evidence. Drops PktMon's
    /// counters record beyond the drop events captured (per component and direction) are a finding of their own.
    /// Takes files and folders (walked recursively), processed in parallel. In a folder, each file is diagnosed
    /// once however many symbolic links lead to it, links back up the tree are not followed (one warning each),
    /// and FIFOs, devices and files that are not captures are skipped with one line each.
    ///
    /// netsh trace text (NetTrace.txt from `netsh trace convert`) is read too: its TCP/IP drop events
    /// join the findings with their discard reason, and each retransmission is linked to the TCP/IP
    /// event that caused it (retransmit timer, tail loss probe, fast retransmit). A NetTrace.txt is
    /// joined to the captures in its own folder when it is the only netsh text of the inputs there (`diagnose
    /// PktMon.etl NetTrace.txt`), or to every capture with --nettrace; otherwise it is diagnosed alone.
    ///
    /// Network adapter counter snapshots (`Get-NetAdapterStatistics | ConvertTo-Json`, UTF-16LE or UTF-8, or
    /// typeperf/relog CSV of `\Network Interface(*)\…` counters) are joined to the captures of their folder, or
    /// to every capture with --nic, and to each capture's adapters by ifIndex, MAC, description or name. Two
    /// snapshots (ordered by their times, else `before`/`after` in their names, else as given) give the change
    /// during the capture: discards become a local `resources` problem of the adapter, errors an
    /// `invalid_packet` one; counters that went down (adapter reset, or a wrap) are said to, one snapshot gives
    /// totals since boot.
    Diagnose {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Join this netsh trace text to every capture of the run (files of one host).
        #[arg(long, value_name = "FILE")]
        nettrace: Option<PathBuf>,
        /// Join these adapter counter snapshots to every capture of the run (repeat: before, then after).
        #[arg(long, value_name = "FILE")]
        nic: Vec<PathBuf>,
        /// Seconds to add to netsh trace times to get capture times (netsh prints local time, e.g.
        /// -3600 for a UTC+1 machine's trace beside its ETL). Default: found from events both files saw.
        #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
        time_offset: Option<f64>,
        /// Write a JSON summary (schema_version, inputs, totals, findings, drop summary); `-` for standard output.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write findings as JSON lines, one per finding; `-` for standard output.
        #[arg(long, value_name = "FILE")]
        jsonl: Option<PathBuf>,
        /// Write findings.csv and drops.csv into this folder.
        #[arg(long, value_name = "DIR")]
        csv: Option<PathBuf>,
        /// Exit 1 when a finding has this cause or locality (repeat or separate with commas),
        /// e.g. --fail-on local or --fail-on policy,mtu.
        #[arg(long, value_name = "CAUSE|LOCALITY", value_delimiter = ',')]
        fail_on: Vec<pktmon::sink::report::FailOn>,
        /// Files processed at once (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Show every problem in full, and every finding with its problem or background rule
        /// (default: the verdict, 3 problems in full, the next 7 in a line each, the background in
        /// one line).
        #[arg(long)]
        all: bool,
        /// Also write the report as one self-contained HTML page (verdict, drops over time, the path
        /// through the stack, tables; opens offline in any browser); `-` for standard output.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Write the diagnosis as one self-contained HTML page to hand over: per input the verdict (status,
    /// ranked problems with why, next step and Wireshark filters, background folded), drops per cause and
    /// symptoms over time (SVG), the path through the stack with PktMon's counters and where drops happened,
    /// each problem's flows, drops and frames, and the tables; an index first with several inputs. No
    /// network access, fonts or scripts from elsewhere. The same as `diagnose INPUT… --html FILE` without the
    /// text report.
    Report {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// The HTML file to write (whole or not at all; never an input); `-` for standard output.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Join this netsh trace text to every capture of the run (files of one host).
        #[arg(long, value_name = "FILE")]
        nettrace: Option<PathBuf>,
        /// Join these adapter counter snapshots to every capture of the run (see `diagnose --help`).
        #[arg(long, value_name = "FILE")]
        nic: Vec<PathBuf>,
        /// Seconds to add to netsh trace times to get capture times (see `diagnose --help`).
        #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
        time_offset: Option<f64>,
        /// Files processed at once (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
    Export(export::ExportArgs),
    /// Write one appearance per packet (its first, what `!pktmon.duplicate` shows) as pcapng, so that
    /// Wireshark's own TCP analysis stops counting appearances as retransmissions.
    Dedup {
        input: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// Leave out epb_verdict on drops (Wireshark 4.0 cannot re-save files that have it).
        #[arg(long)]
        no_verdict: bool,
    },
    /// Write a PktMon capture with planted causes of loss (deterministic from a seed) as ETL, converter
    /// pcapng, etl2pcapng-style pcapng, etl2txt text and the netsh trace text of the same traffic, with
    /// DIR/<scenario>.truth.json naming what was planted.
    Generate(generate::GenerateArgs),
    /// Read every record of a file and nothing more (benchmark floor); --decompress-only for ETL buffers.
    #[command(hide = true)]
    BenchRead(generate::BenchReadArgs),
    /// Copy the already-built Wireshark plugin into Wireshark's personal plugin folder (builds nothing).
    /// Refuses when the plugin was built for another Wireshark major.minor than the installed one.
    InstallPlugin {
        /// The plugin to install (default: the one beside this program: pktmon-for-wireshark-X.Y.dll
        /// for the installed Wireshark X.Y as scripts/build-windows.sh names them, else cargo's own name).
        #[arg(long)]
        plugin: Option<PathBuf>,
        /// tshark to ask for the Wireshark version and plugin folders (on Windows, when tshark is
        /// not on the PATH: %ProgramFiles%\Wireshark\tshark.exe; without tshark, the personal
        /// folder is %APPDATA%\Wireshark\plugins\X.Y\epan).
        #[arg(long, default_value = "tshark")]
        tshark: PathBuf,
        /// The installed Wireshark's MAJOR.MINOR, when tshark is not available.
        #[arg(long)]
        wireshark_version: Option<String>,
        /// Install into the global plugin folder (needed for Wireshark run as root).
        #[arg(long)]
        global: bool,
        /// Install into this plugin folder (its epan/ subfolder) instead.
        #[arg(long)]
        dest: Option<PathBuf>,
        /// Also colour drops: put a "PktMon drop" coloring rule (pktmon.drop) first in the
        /// personal colorfilters, keeping the user's own rules (made from Wireshark's defaults
        /// when the user has none).
        #[arg(long, conflicts_with = "no_colors")]
        colors: bool,
        /// Remove the "PktMon drop" coloring rule (and nothing else) from the personal colorfilters.
        #[arg(long)]
        no_colors: bool,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Csv,
}

/// Prints diagnostics to stderr; returns whether any was an error.
fn report(d: &Diagnostics) -> bool {
    for item in &d.items {
        eprintln!("{item}");
    }
    if d.suppressed > 0 {
        eprintln!("({} not shown)", sink::counted(d.suppressed, "more problem"));
    }
    d.items.iter().any(|i| i.severity == Severity::Error)
}

fn fail(e: &Error) -> i32 {
    eprintln!("error: {e}");
    2
}

/// Writes `content` to `output` atomically, or to stdout.
fn emit(output: Option<&Path>, inputs: &[PathBuf], content: &[u8]) -> Result<(), String> {
    match output {
        Some(path) => {
            sink::atomic::ensure_not_an_input(path, inputs)?;
            let mut f = sink::atomic::AtomicFile::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
            f.write_all(content).map_err(|e| format!("{}: {e}", path.display()))?;
            f.commit().map_err(|e| format!("{}: {e}", path.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(content).and_then(|_| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("standard output: {e}")),
                _ => Ok(()),
            }
        }
    }
}

pub fn run() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Command::Info { files, json } => info::info(&files, json),
        Command::Components { file, json } => info::components(&file, json),
        Command::Events {
            file,
            provider,
            id,
            json,
        } => events::events(events::EventsArgs {
            file: &file,
            provider: provider.as_deref(),
            id,
            json,
        }),
        Command::Convert {
            input,
            output,
            no_verdict,
            raw_80211,
        } => convert(&input, &output, no_verdict, raw_80211),
        Command::Txt {
            input,
            output,
            utf16,
            english,
        } => txt(&input, output.as_deref(), utf16, english),
        Command::Drops { files, format, output } => drops(&files, format, output.as_deref()),
        Command::Diagnose {
            inputs,
            nettrace,
            nic,
            time_offset,
            json,
            jsonl,
            csv,
            fail_on,
            jobs,
            all,
            html,
        } => diagnose::diagnose(diagnose::DiagnoseArgs {
            all,
            inputs,
            nettrace,
            nic,
            time_offset,
            json,
            jsonl,
            csv,
            fail_on,
            jobs,
            html,
            html_only: false,
        }),
        Command::Report {
            inputs,
            output,
            nettrace,
            nic,
            time_offset,
            jobs,
        } => diagnose::diagnose(diagnose::DiagnoseArgs {
            all: false,
            inputs,
            nettrace,
            nic,
            time_offset,
            json: None,
            jsonl: None,
            csv: None,
            fail_on: Vec::new(),
            jobs,
            html: Some(output),
            html_only: true,
        }),
        Command::Dedup {
            input,
            output,
            no_verdict,
        } => diagnose::dedup(&input, &output, no_verdict),
        Command::Export(args) => export::export(args),
        Command::Generate(args) => generate::generate(args),
        Command::BenchRead(args) => generate::bench_read(args),
        Command::InstallPlugin {
            plugin,
            tshark,
            wireshark_version,
            global,
            dest,
            colors,
            no_colors,
        } => install::install(install::InstallArgs {
            plugin,
            tshark,
            wireshark_version,
            global,
            dest,
            colors: if colors {
                Some(true)
            } else if no_colors {
                Some(false)
            } else {
                None
            },
        }),
    }
}

fn convert(input: &Path, output: &Path, no_verdict: bool, raw_80211: bool) -> i32 {
    if let Err(m) = sink::atomic::ensure_not_an_input(output, &[input.to_path_buf()]) {
        eprintln!("error: {}: {m}", output.display());
        return 2;
    }
    let options = sink::pcapng::ConvertOptions { verdict: !no_verdict };
    // A first read learns the components and interfaces, so the header goes
    // first and every packet is written once (not via a temporary file).
    let mut prescan = sink::pcapng::Prescan::default();
    let first_read = match source::read(input, &mut prescan) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let mut conv = match sink::pcapng::PcapngConverter::with_prescan(output, options, prescan, &first_read.info) {
        Ok(c) => c.raw_80211(raw_80211),
        Err(e) => {
            eprintln!("error: {}: {e}", output.display());
            return 2;
        }
    };
    let outcome = match source::read(input, &mut conv) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let had_errors = report(&outcome.diagnostics);
    if let Some(kind) = outcome.info.kind {
        if !kind.has_metadata() {
            eprintln!(
                "note: {}: {} — the output carries packets only",
                input.display(),
                kind.describe()
            );
        }
    }
    match conv.finish(&outcome.info) {
        Ok(s) => {
            eprintln!(
                "{}: {} ({}) on {} written to {}",
                input.display(),
                sink::counted(s.frames, "frame"),
                sink::counted(s.drops, "drop"),
                sink::counted(s.interfaces, "interface"),
                output.display()
            );
            if had_errors {
                2
            } else {
                0
            }
        }
        // `-o /dev/stdout | head -c 100`: the reader went away, as with any other output.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("error: {}: {e}", output.display());
            2
        }
    }
}

fn txt(input: &Path, output: Option<&Path>, utf16: bool, english: bool) -> i32 {
    let encoding = if utf16 {
        sink::txt::TextEncoding::Utf16Windows
    } else {
        sink::txt::TextEncoding::Utf8
    };
    let mut file = None;
    let out: Box<dyn Write + '_> = match output {
        Some(path) => {
            if let Err(m) = sink::atomic::ensure_not_an_input(path, &[input.to_path_buf()]) {
                eprintln!("error: {}: {m}", path.display());
                return 2;
            }
            match sink::atomic::AtomicFile::create(path) {
                Ok(f) => {
                    file = Some(f);
                    Box::new(file.as_mut().expect("just set").writer())
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", path.display());
                    return 2;
                }
            }
        }
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut writer = sink::txt::TxtWriter::new(out, encoding, english);
    let outcome = match source::read(input, &mut writer) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let had_errors = report(&outcome.diagnostics);
    let write_error = writer.error.take().or_else(|| writer.flush().err());
    drop(writer);
    if let Some(e) = write_error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: {e}");
            return 2;
        }
    }
    if let (Some(f), Some(path)) = (file, output) {
        if let Err(e) = f.commit() {
            eprintln!("error: {}: {e}", path.display());
            return 2;
        }
    }
    if had_errors {
        2
    } else {
        0
    }
}

fn drops(files: &[PathBuf], format: Format, output: Option<&Path>) -> i32 {
    let mut code = 0;
    let mut rows = Vec::new();
    // Captures without drop events: one line each instead of a bare table header.
    let mut without = Vec::new();
    for f in files {
        // Each drop is counted as it is read; no packet is kept.
        let mut counter = sink::drops::DropCounter::default();
        match source::summary::read_streaming(f, false, |ctx, a| counter.add(a, ctx.catalog)) {
            Ok(c) => {
                if report(&c.diagnostics) {
                    code = 2;
                }
                if let Some(kind) = c.info.kind {
                    if !kind.has_metadata() {
                        eprintln!(
                            "note: {}: {} — drops cannot be told from other packets",
                            f.display(),
                            kind.describe()
                        );
                    }
                }
                let found = counter.rows(&c.info.file, &c.components, &c.catalog);
                if found.is_empty() {
                    without.push((f, sink::drops::no_drops_line(&c)));
                }
                rows.extend(found);
            }
            Err(e) => code = fail(&e),
        }
    }
    let content = match format {
        Format::Table => {
            let mut text = if rows.is_empty() && !without.is_empty() {
                String::new()
            } else {
                sink::drops::to_table(&rows)
            };
            for (f, line) in &without {
                if files.len() > 1 {
                    text.push_str(&format!("{}: ", f.display()));
                }
                text.push_str(line);
                text.push('\n');
            }
            text
        }
        Format::Csv => sink::drops::to_csv(&rows),
        Format::Json => serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
    };
    if let Err(m) = emit(output, files, content.as_bytes()) {
        eprintln!("error: {m}");
        return 2;
    }
    code
}
