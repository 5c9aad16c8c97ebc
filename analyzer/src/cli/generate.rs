//! `generate` (scenario captures in every input form, with their ground truth)
//! and the hidden `bench-read` (the floor of a pass over a file, for scripts/bench.sh).

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};

use pktmon::generate::files::{self, Format};
use pktmon::generate::{GenOptions, Scenario};
use pktmon::model::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// PktMon's ETL (relogged, XPRESS-compressed per-CPU buffers, embedded schema).
    Etl,
    /// This tool's converter pcapng.
    Pcapng,
    /// pcapng as microsoft/etl2pcapng 1.12 writes it.
    Etl2pcapng,
    /// `pktmon etl2txt --hex` text, UTF-16LE with CRLF as pktmon writes it, and a UTF-8 copy.
    Txt,
    /// netsh trace text (DIR/<scenario>.NetTrace.txt): the Microsoft-Windows-TCPIP events of the same
    /// traffic (send events, retransmit timers, retransmit marks, drop events), in the machine's local time.
    Nettrace,
    /// Every form.
    All,
    /// Nothing: run the generator alone (to time it).
    None,
}

/// The scenario names of the library, offered as the CLI's possible values.
fn scenario_parser() -> impl clap::builder::TypedValueParser<Value = Scenario> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Scenario::ALL.map(Scenario::name)).map(|name| {
        name.parse::<Scenario>()
            .expect("every possible value is a scenario name")
    })
}

/// Write a PktMon capture with planted causes of loss, deterministically from a seed.
#[derive(Args)]
pub struct GenerateArgs {
    /// What to plant (baseline plants nothing; mix plants everything).
    #[arg(long, value_parser = scenario_parser())]
    scenario: Scenario,
    /// The same seed always gives the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Start the capture on this day of 2025 (UTC): the first seed from --seed on whose capture starts
    /// that day is used (and printed). For fleets of captures over days (scripts/fleet-example.sh).
    #[arg(long, value_name = "YYYY-MM-DD")]
    on_date: Option<String>,
    /// Fill the capture with ordinary traffic of many TCP flows up to about N appearances (up to 10^7).
    #[arg(long, value_name = "N")]
    packets: Option<u64>,
    /// IPv6 instead of IPv4.
    #[arg(long)]
    ipv6: bool,
    /// Windows build: 26100 and later give every event its own PktGroupId, 20348 shares one per packet.
    #[arg(long, default_value_t = 26200)]
    build: u32,
    /// Bytes PktMon logs of each frame (pktmon start --pkt-size; 0 = whole frames).
    #[arg(long, default_value_t = 128)]
    pkt_size: u32,
    /// Forms to write (repeat or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    format: Vec<FormatArg>,
    /// Folder to write DIR/<scenario>.<ext> and DIR/<scenario>.truth.json into.
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
}

pub fn generate(args: GenerateArgs) -> i32 {
    if args.packets.is_some_and(|n| n > 20_000_000) {
        eprintln!("error: --packets is limited to 20000000");
        return 2;
    }
    let mut formats: Vec<Format> = Vec::new();
    for f in &args.format {
        let add: &[Format] = match f {
            FormatArg::Etl => &[Format::Etl],
            FormatArg::Pcapng => &[Format::Pcapng],
            FormatArg::Etl2pcapng => &[Format::Etl2pcapng],
            FormatArg::Txt => &[Format::Txt, Format::TxtUtf8],
            FormatArg::Nettrace => &[Format::NetTrace],
            FormatArg::All => &Format::ALL,
            FormatArg::None => &[],
        };
        for x in add {
            if !formats.contains(x) {
                formats.push(*x);
            }
        }
    }
    let seed = match args.on_date.as_deref().map(|d| seed_on_date(args.seed, d)) {
        None => args.seed,
        Some(Ok(s)) => {
            eprintln!("seed {s}");
            s
        }
        Some(Err(m)) => {
            eprintln!("error: --on-date {m}");
            return 2;
        }
    };
    let opts = GenOptions {
        seed,
        scenario: args.scenario,
        packets: args.packets,
        ipv6: args.ipv6,
        os_build: args.build,
        pkt_size: args.pkt_size,
    };
    let start = Instant::now();
    match files::write(&opts, &args.output, &formats) {
        Ok(w) => {
            let secs = start.elapsed().as_secs_f64();
            for p in w.files.iter().map(|(_, p)| p).chain(&w.snapshots) {
                eprintln!("wrote {}", p.display());
            }
            eprintln!("wrote {}", w.truth_file.display());
            println!("{} appearances {} seconds", w.truth.appearances, secs);
            eprintln!(
                "{}: {} appearances of {} packets, {} planted causes, in {:.2} s ({:.0} appearances/s)",
                opts.scenario,
                w.truth.appearances,
                w.truth.packets,
                w.truth.planted.len(),
                secs,
                w.truth.appearances as f64 / secs.max(1e-9)
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// The first seed from `from` on whose capture starts on `date` (YYYY-MM-DD, UTC).
fn seed_on_date(from: u64, date: &str) -> Result<u64, String> {
    let day = |ft: FileTime| {
        let (y, m, d, ..) = pktmon::time::civil(ft);
        format!("{y:04}-{m:02}-{d:02}")
    };
    // Starts are spread over 2025: about one seed in 365 lands on a given day.
    (from..from.saturating_add(100_000))
        .find(|&s| day(pktmon::generate::start_time(s)) == date)
        .ok_or_else(|| format!("{date}: no capture of the generator starts that day (a day of 2025 is needed)"))
}

/// Read every record of a file and do nothing with them (the floor of any pass over it).
#[derive(Args)]
pub struct BenchReadArgs {
    file: PathBuf,
    /// ETL only: decompress every buffer and stop there (no record parsing).
    #[arg(long)]
    decompress_only: bool,
}

pub fn bench_read(args: BenchReadArgs) -> i32 {
    let start = Instant::now();
    if args.decompress_only {
        let mut etl = match pktmon::etl::EtlFile::open(&args.file) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
        let bytes = etl.bare_decompress();
        println!("decompressed {bytes} bytes in {:.3} s", start.elapsed().as_secs_f64());
        return 0;
    }
    let mut appearances = 0u64;
    let mut payload = 0u64;
    let mut others = 0u64;
    let mut count = |_: &Context<'_>, r: Record| match r {
        Record::Packet(a) => {
            appearances += 1;
            payload += a.payload.len() as u64;
        }
        _ => others += 1,
    };
    match pktmon::source::read(&args.file, &mut count) {
        Ok(outcome) => {
            println!(
                "{appearances} appearances ({payload} payload bytes), {others} other records in {:.3} s",
                start.elapsed().as_secs_f64()
            );
            if outcome
                .diagnostics
                .items
                .iter()
                .any(|d| d.severity == pktmon::Severity::Error)
            {
                2
            } else {
                0
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
