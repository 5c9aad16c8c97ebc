//! `export`: captures (files and folders, as `diagnose` takes them) into a
//! Parquet dataset, in parallel, with a progress line on a terminal.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use pktmon::sink::counted;
use pktmon::sink::parquet::{export_file, ExportOptions, Exported};

/// Write captures as a Parquet dataset for DuckDB, Spark, Trino, ClickHouse, Polars…
///
/// Tables, one folder each, hive-partitioned by the capture's date (OUT/<table>/date=YYYY-MM-DD/<capture_id>.parquet):
/// captures (one row per input), components, appearances (one row per packet or drop event, with its drop
/// reason and first headers), counters (PktMon's drop and flow counters, events 80 and 90), findings and
/// problems (as in `diagnose --json`). capture_id is a hash of the file's content: exporting more captures
/// into the same folder adds files, exporting one again replaces its own files only. Files appear whole
/// (written under a hidden name, then renamed; `captures` last). See docs/fleet.md for ready-to-run SQL.
///
/// host: the folder right below a folder given on the command line that a capture was found in
/// (`export fleet/` reads `fleet/web-01/PktMon.etl` as host web-01), or --host. Exit code 2 when an input
/// could not be read or was damaged (what could be read is still exported).
#[derive(Args)]
pub struct ExportArgs {
    /// Capture files and folders (walked recursively, as `diagnose` does).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The dataset folder (created if needed; existing files of other captures are left alone).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// The host of every input, instead of the folder they were found in.
    #[arg(long, value_name = "NAME")]
    host: Option<String>,
    /// Also write each appearance's bytes (column `payload`; makes the dataset about as large as the captures).
    #[arg(long)]
    payload: bool,
    /// Files processed at once (default: all cores).
    #[arg(long)]
    jobs: Option<usize>,
}

/// One capture to export, with the host its place names.
struct Item {
    path: PathBuf,
    host: Option<String>,
}

/// The host a folder walk names: the first folder below the given one.
fn host_below(root: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(root).ok()?;
    let mut parts = rel.components();
    let first = parts.next()?;
    // A file right in the given folder names no host.
    parts.next()?;
    Some(first.as_os_str().to_string_lossy().into_owned())
}

fn plan(args: &ExportArgs) -> Vec<Item> {
    let mut items = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for input in &args.inputs {
        // The dataset may be inside a folder of captures (`export . -o dataset`): its files are no captures.
        for path in super::diagnose::expand_except(std::slice::from_ref(input), Some(&args.output)) {
            let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if !seen.insert(key) {
                continue;
            }
            let host = match &args.host {
                Some(h) => Some(h.clone()),
                None if input.is_dir() => host_below(input, &path),
                None => None,
            };
            items.push(Item { path, host });
        }
    }
    items
}

/// Writes the dataset; returns the exit code.
pub fn export(args: ExportArgs) -> i32 {
    let items = plan(&args);
    if items.is_empty() {
        eprintln!("error: no input files");
        return 2;
    }
    if args.output.exists() && !args.output.is_dir() {
        eprintln!("error: {}: not a folder", args.output.display());
        return 2;
    }
    let opts = ExportOptions {
        out: args.output.clone(),
        payload: args.payload,
        claimed: Default::default(),
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        .max(1);
    let start = Instant::now();
    let results = run_all(&items, jobs, &opts);
    let mut code = 0;
    let (mut captures, mut appearances, mut drops, mut problems, mut bytes, mut total_size, mut replaced) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    for (item, r) in items.iter().zip(&results) {
        match r {
            Ok(e) if e.duplicate_of.is_some() => eprintln!(
                "skipped {}: the same content as {} (capture {}), exported once",
                item.path.display(),
                e.duplicate_of.as_deref().unwrap_or_default(),
                e.capture_id
            ),
            Ok(e) => {
                for w in &e.warnings {
                    eprintln!("{w}");
                }
                if e.damaged {
                    eprintln!(
                        "error: {}: the input was damaged; what could be read was exported",
                        item.path.display()
                    );
                    code = 2;
                }
                captures += 1;
                appearances += e.appearances;
                drops += e.drop_events;
                problems += e.problems;
                bytes += e.bytes;
                total_size += e.file_size;
                replaced += u64::from(e.replaced > 0);
            }
            Err(m) => {
                eprintln!("error: {m}");
                code = 2;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let again = if replaced > 0 {
        format!(" ({replaced} exported before: their files replaced)")
    } else {
        String::new()
    };
    eprintln!(
        "exported {}{again}: {} ({}), {} into {} in {:.1} s; {} of captures, {} of Parquet",
        counted(captures, "capture"),
        counted(appearances, "appearance"),
        counted(drops, "drop event"),
        counted(problems, "problem"),
        args.output.display(),
        secs,
        size(total_size),
        size(bytes)
    );
    code
}

/// `12.3 MB`, `45 kB`.
fn size(b: u64) -> String {
    if b >= 1_000_000 {
        format!("{:.1} MB", b as f64 / 1e6)
    } else {
        format!("{} kB", b.div_ceil(1000))
    }
}

/// Exports the items on `jobs` threads, keeping their order, with a progress
/// line on a terminal when it takes more than a second.
fn run_all(items: &[Item], jobs: usize, opts: &ExportOptions) -> Vec<Result<Exported, String>> {
    super::parallel::run_ordered(items, jobs, "exporting", |item| {
        export_file(&item.path, item.host.as_deref(), opts)
    })
    .into_iter()
    .map(|r| r.unwrap_or_else(|| Err("export stopped".to_string())))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_the_folder_below_the_one_given() {
        let root = Path::new("fleet");
        assert_eq!(
            host_below(root, Path::new("fleet/web-01/PktMon.etl")).as_deref(),
            Some("web-01")
        );
        assert_eq!(
            host_below(root, Path::new("fleet/web-01/day2/PktMon.etl")).as_deref(),
            Some("web-01")
        );
        assert_eq!(host_below(root, Path::new("fleet/PktMon.etl")), None);
    }
}
