//! `diagnose` (one file or a batch, in parallel) and `dedup`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pktmon::diagnose::Diagnoser;
use pktmon::error::Severity;
use pktmon::model::*;
use pktmon::nic::NicSet;
use pktmon::packets::{Grouper, HopKey};
use pktmon::sink::pcapng::{ConvertOptions, PcapngConverter};
use pktmon::sink::report::{self, FailOn, InputResult};
use pktmon::source;
use pktmon::tcpip::TcpipTrace;

use super::emit;

pub struct DiagnoseArgs {
    pub inputs: Vec<PathBuf>,
    pub nettrace: Option<PathBuf>,
    /// Adapter counter snapshots for every capture of the run.
    pub nic: Vec<PathBuf>,
    pub time_offset: Option<f64>,
    pub json: Option<PathBuf>,
    pub jsonl: Option<PathBuf>,
    pub csv: Option<PathBuf>,
    pub fail_on: Vec<FailOn>,
    pub jobs: Option<usize>,
    pub all: bool,
    /// Write the HTML report here (`-` for standard output).
    pub html: Option<PathBuf>,
    /// `report`: the HTML only, no text report on standard output.
    pub html_only: bool,
}

/// The text report's layout: wrapped to the terminal's width and coloured on
/// a terminal (no colour with `NO_COLOR` set); 100 columns, no colour when piped.
fn text_options(all: bool) -> report::TextOptions {
    let terminal = std::io::stdout().is_terminal();
    let width = if terminal {
        terminal_size::terminal_size()
            .map(|(w, _)| w.0 as usize)
            .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
            .unwrap_or(100)
    } else {
        100
    };
    report::TextOptions {
        all,
        width: Some(width.clamp(40, 240)),
        color: terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Files of the inputs: files as given, folders walked (sorted, recursively).
///
/// A walk diagnoses each file once however many links lead to it (the path
/// without links wins), does not follow a symbolic link back up the tree (one
/// warning per such link), and skips with a one-line note what is not a
/// regular file (FIFOs, sockets, devices: opening them could block) and files
/// that are not captures at all (a README). Files it cannot read, and captures
/// it can read but that are damaged, still fail (exit code 2).
pub fn expand(inputs: &[PathBuf]) -> Vec<PathBuf> {
    expand_except(inputs, None)
}

/// [`expand`], not walking into `skip` (`export`'s dataset folder inside the captures' folder).
pub fn expand_except(inputs: &[PathBuf], skip: Option<&Path>) -> Vec<PathBuf> {
    let mut walk = Walk::default();
    if let Some(id) = skip.and_then(FileId::of) {
        walk.seen_dirs.insert(id);
    }
    for p in inputs {
        if p.is_dir() {
            walk.folder(p);
        } else {
            // Named on the command line: read (or reported) whatever it is.
            if let Some(id) = FileId::of(p) {
                if !walk.seen_files.insert(id) {
                    continue;
                }
            }
            walk.files.push(p.clone());
        }
    }
    walk.files
}

/// What identifies a file or folder whatever the path to it: (device, inode)
/// on Unix, the canonical path elsewhere.
#[derive(Clone, PartialEq, Eq, Hash)]
enum FileId {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg(not(unix))]
    Path(PathBuf),
}

impl FileId {
    fn of(path: &Path) -> Option<FileId> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self::from_meta(path, &meta))
    }

    #[cfg(unix)]
    fn from_meta(_path: &Path, meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId::Inode(meta.dev(), meta.ino())
    }

    #[cfg(not(unix))]
    fn from_meta(path: &Path, _meta: &std::fs::Metadata) -> FileId {
        FileId::Path(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
    }
}

#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    seen_files: std::collections::HashSet<FileId>,
    seen_dirs: std::collections::HashSet<FileId>,
}

impl Walk {
    /// Walks `root`: its real subfolders first, then what its symbolic links lead to.
    fn folder(&mut self, root: &Path) {
        let Ok(meta) = std::fs::metadata(root) else { return };
        let id = FileId::from_meta(root, &meta);
        if !self.seen_dirs.insert(id.clone()) {
            return;
        }
        // The folders above the root count as ancestors too: a link to one of them would widen the walk.
        let mut ancestors: Vec<FileId> = std::fs::canonicalize(root)
            .map(|c| c.ancestors().skip(1).filter_map(FileId::of).collect())
            .unwrap_or_default();
        ancestors.push(id);
        let mut links = Vec::new();
        self.dir(root, &mut ancestors, &mut links);
        // Links are followed after the tree itself, so files are named by their own path.
        let mut i = 0;
        while i < links.len() {
            let (path, mut ancestors): (PathBuf, Vec<FileId>) = links[i].clone();
            i += 1;
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            if meta.is_dir() {
                let id = FileId::from_meta(&path, &meta);
                if ancestors.contains(&id) {
                    let target = std::fs::read_link(&path).unwrap_or_default();
                    eprintln!(
                        "warning: {}: symbolic link to {} leads back up the folder walk; not followed",
                        path.display(),
                        target.display()
                    );
                } else if self.seen_dirs.insert(id.clone()) {
                    ancestors.push(id);
                    self.dir(&path, &mut ancestors, &mut links);
                }
            } else {
                self.file(path, &meta);
            }
        }
    }

    /// Lists `dir` in name order: files are taken, real folders walked at
    /// once, symbolic links put aside in `links` with the folders above them.
    fn dir(&mut self, dir: &Path, ancestors: &mut Vec<FileId>, links: &mut Vec<(PathBuf, Vec<FileId>)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            self.files.push(dir.to_path_buf()); // reported as unreadable by the reader
            return;
        };
        let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let Ok(own) = std::fs::symlink_metadata(&path) else {
                self.files.push(path); // reported as unreadable by the reader
                continue;
            };
            if own.file_type().is_symlink() {
                match std::fs::metadata(&path) {
                    Ok(_) => links.push((path, ancestors.clone())),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        eprintln!("skipped {}: symbolic link leads nowhere", path.display())
                    }
                    Err(e) => eprintln!("skipped {}: symbolic link cannot be followed ({e})", path.display()),
                }
            } else if own.is_dir() {
                let id = FileId::from_meta(&path, &own);
                if self.seen_dirs.insert(id.clone()) {
                    ancestors.push(id);
                    self.dir(&path, ancestors, links);
                    ancestors.pop();
                }
            } else {
                self.file(path, &own);
            }
        }
    }

    /// Takes a file met in a walk, once, if it may be a capture.
    fn file(&mut self, path: PathBuf, meta: &std::fs::Metadata) {
        if !meta.is_file() {
            eprintln!("skipped {}: {}, not a regular file", path.display(), special_kind(meta));
            return;
        }
        if !self.seen_files.insert(FileId::from_meta(&path, meta)) {
            return;
        }
        if let Err(e) = source::detect(&path) {
            if e.message == source::NOT_A_CAPTURE {
                eprintln!("skipped {}: not a capture", path.display());
                return;
            }
        }
        self.files.push(path);
    }
}

/// What kind of special file this is, in words.
fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    let _ = meta;
    "a special file"
}

/// One diagnosis to run: a capture with the netsh trace of its host if any,
/// or a netsh trace text on its own (`tcpip` then holds it, read, or `None` when it could not be read).
#[derive(Clone)]
pub struct Job {
    pub path: PathBuf,
    pub netsh_alone: bool,
    pub tcpip: Option<Arc<TcpipTrace>>,
    /// Why a netsh text beside captures was not joined to them.
    pub note: Option<String>,
    /// Collect what the HTML report shows (timeline, stack, top talkers).
    pub details: bool,
    /// Adapter counter snapshots of the capture's folder.
    pub nic: Option<Arc<NicSet>>,
}

/// Which netsh trace goes with which capture: `--nettrace` with all of them;
/// otherwise a netsh text with the captures of its folder when it is the only
/// netsh text there. A netsh text joined to no capture is diagnosed alone.
pub fn plan(files: &[PathBuf], nettrace: Option<&Path>, nic: &[PathBuf]) -> Result<Vec<Job>, String> {
    let (nic_files, files): (Vec<PathBuf>, Vec<PathBuf>) = files
        .iter()
        .cloned()
        .partition(|f| matches!(source::detect(f), Ok(source::Detected::NicCounters)));
    let nic_sets = nic_plan(&nic_files, &files);
    for p in nic {
        match source::detect(p) {
            Ok(source::Detected::NicCounters) => {}
            Ok(_) => {
                return Err(format!(
                    "--nic {}: not an adapter counter snapshot (Get-NetAdapterStatistics JSON or typeperf CSV)",
                    p.display()
                ))
            }
            Err(e) => return Err(format!("--nic {e}")),
        }
    }
    let given_nic = (!nic.is_empty()).then(|| Arc::new(NicSet::read(nic)));
    let files = &files[..];
    let netsh = |p: &Path| matches!(source::detect(p), Ok(source::Detected::NetshText));
    let read = |p: &Path| pktmon::tcpip::reader::read(p).ok().map(Arc::new);
    let given = match nettrace {
        Some(p) => Some(Arc::new(pktmon::tcpip::reader::read(p).map_err(|e| e.to_string())?)),
        None => None,
    };
    let is_netsh: Vec<bool> = files.iter().map(|f| netsh(f)).collect();
    let folder = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut per_folder: std::collections::HashMap<PathBuf, Vec<usize>> = Default::default();
    for (i, f) in files.iter().enumerate() {
        if is_netsh[i] {
            per_folder.entry(folder(f)).or_default().push(i);
        }
    }
    let captures_in = |dir: &Path| files.iter().zip(&is_netsh).any(|(f, &n)| !n && folder(f) == dir);
    let mut paired: std::collections::HashMap<PathBuf, Option<Arc<TcpipTrace>>> = Default::default();
    if given.is_none() {
        for (dir, list) in &per_folder {
            if let [only] = list.as_slice() {
                if captures_in(dir) {
                    paired.insert(dir.clone(), read(&files[*only]));
                }
            }
        }
    }
    let mut jobs = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if is_netsh[i] {
            let joined = given.is_none() && paired.get(&folder(f)).is_some_and(Option::is_some);
            if !joined {
                let dir = folder(f);
                let others = per_folder.get(&dir).map_or(0, Vec::len);
                let note = (given.is_none() && others > 1 && captures_in(&dir)).then(|| {
                    format!(
                        "{}: diagnosed alone: {others} netsh trace texts beside the captures of its folder, so which \
                         belongs to them is not clear (join one with --nettrace)",
                        f.display()
                    )
                });
                jobs.push(Job {
                    path: f.clone(),
                    netsh_alone: true,
                    tcpip: read(f),
                    note,
                    details: false,
                    nic: None,
                });
            }
        } else {
            let tcpip = given.clone().or_else(|| paired.get(&folder(f)).cloned().flatten());
            jobs.push(Job {
                path: f.clone(),
                netsh_alone: false,
                tcpip,
                note: None,
                details: false,
                nic: given_nic.clone().or_else(|| nic_sets.get(&folder(f)).cloned()),
            });
        }
    }
    Ok(jobs)
}

/// Adapter counter snapshots per folder: each folder's snapshots (in the
/// order given) go with the captures of that folder. Snapshots in a folder
/// without a capture are said to be left out, one line each.
pub fn nic_plan(nic_files: &[PathBuf], captures: &[PathBuf]) -> std::collections::HashMap<PathBuf, Arc<NicSet>> {
    let folder = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut per_folder: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    for f in nic_files {
        let dir = folder(f);
        match per_folder.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, list)) => list.push(f.clone()),
            None => per_folder.push((dir, vec![f.clone()])),
        }
    }
    let mut out = std::collections::HashMap::new();
    for (dir, list) in per_folder {
        if captures.iter().any(|c| folder(c) == dir) {
            out.insert(dir, Arc::new(NicSet::read(&list)));
        } else {
            for f in list {
                eprintln!(
                    "skipped {}: adapter counters with no capture in their folder to join them to",
                    f.display()
                );
            }
        }
    }
    out
}

/// Problems of a read as warning lines, and whether any was an error.
fn problems(d: &pktmon::error::Diagnostics) -> (Vec<String>, bool) {
    let mut warnings: Vec<String> = d.items.iter().map(|x| x.to_string()).collect();
    if d.suppressed > 0 {
        warnings.push(format!("({} more problems not shown)", d.suppressed));
    }
    (warnings, d.items.iter().any(|x| x.severity == Severity::Error))
}

/// Runs one job.
pub fn run_job(job: &Job, offset: Option<FileTime>) -> InputResult {
    let mut r = if job.netsh_alone {
        diagnose_netsh(&job.path, job.tcpip.as_ref(), offset, job.details)
    } else {
        diagnose_file(&job.path, job.tcpip.as_ref(), job.nic.as_ref(), offset, job.details)
    };
    r.warnings.extend(job.note.clone());
    r
}

/// Diagnoses a netsh trace text alone (its drop events and retransmissions).
fn diagnose_netsh(
    path: &Path,
    trace: Option<&Arc<TcpipTrace>>,
    offset: Option<FileTime>,
    details: bool,
) -> InputResult {
    let trace = match trace {
        Some(t) => t.clone(),
        None => match pktmon::tcpip::reader::read(path) {
            Ok(t) => Arc::new(t),
            Err(e) => {
                return InputResult {
                    file: path.display().to_string(),
                    diagnosis: None,
                    error: Some(e.to_string()),
                    warnings: Vec::new(),
                }
            }
        },
    };
    let info = CaptureInfo {
        file: path.display().to_string(),
        kind: Some(InputKind::NetshText),
        ..Default::default()
    };
    let (warnings, damaged) = problems(&trace.diagnostics);
    let mut d = Diagnoser::new(None).with_tcpip(trace, offset);
    if details {
        d = d.with_details();
    }
    InputResult {
        file: path.display().to_string(),
        diagnosis: Some(d.finish(&info)),
        error: damaged.then(|| "the input was damaged; results hold what could be salvaged".to_string()),
        warnings,
    }
}

/// Diagnoses one capture, with the netsh trace of its host when given.
pub fn diagnose_file(
    path: &Path,
    tcpip: Option<&Arc<TcpipTrace>>,
    nic: Option<&Arc<NicSet>>,
    offset: Option<FileTime>,
    details: bool,
) -> InputResult {
    let mut d = Diagnoser::new(None);
    if let Some(n) = nic {
        d = d.with_nic(n.clone());
    }
    if details {
        d = d.with_details();
    }
    if let Some(t) = tcpip {
        d = d.with_tcpip(t.clone(), offset);
    }
    match pktmon::diagnose::pipeline::read_pipelined(path, &mut d, |_, _| {}) {
        Ok(outcome) => {
            let (mut warnings, mut damaged) = problems(&outcome.diagnostics);
            if let Some(t) = tcpip {
                let (w, e) = problems(&t.diagnostics);
                warnings.extend(w);
                damaged |= e;
            }
            if let Some(n) = nic {
                warnings.extend(n.errors.iter().map(|e| format!("error: {e}")));
                damaged |= !n.errors.is_empty();
            }
            InputResult {
                file: path.display().to_string(),
                diagnosis: Some(d.finish(&outcome.info)),
                error: damaged.then(|| "the input was damaged; results hold what could be salvaged".to_string()),
                warnings,
            }
        }
        Err(e) => InputResult {
            file: path.display().to_string(),
            diagnosis: None,
            error: Some(e.to_string()),
            warnings: Vec::new(),
        },
    }
}

/// Runs the jobs on `jobs` threads, keeping their order, with a progress line
/// on a terminal when it takes more than a second.
fn run_all(files: &[Job], jobs: usize, offset: Option<FileTime>) -> Vec<InputResult> {
    super::parallel::run_ordered(files, jobs, "diagnosing", |f| run_job(f, offset))
        .into_iter()
        .flatten()
        .collect()
}

pub fn diagnose(args: DiagnoseArgs) -> i32 {
    let files = expand(&args.inputs);
    if files.is_empty() {
        eprintln!("error: no input files");
        return 2;
    }
    let offset = match args.time_offset {
        // Ten years either way is beyond any clock or zone difference of one host.
        Some(s) if !s.is_finite() || s.abs() > 3.2e8 => {
            eprintln!("error: --time-offset {s}: expected seconds, at most ten years either way");
            return 2;
        }
        Some(s) => Some((s * 1e7).round() as FileTime),
        None => None,
    };
    let mut jobs_planned = match plan(&files, args.nettrace.as_deref(), &args.nic) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if jobs_planned.is_empty() {
        eprintln!("error: no capture among the inputs");
        return 2;
    }
    for j in &mut jobs_planned {
        j.details = args.html.is_some();
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let results = run_all(&jobs_planned, jobs, offset);
    let mut code = 0;
    for r in &results {
        for w in &r.warnings {
            eprintln!("{w}");
        }
        if let Some(e) = &r.error {
            eprintln!("error: {}: {e}", r.file);
            code = 2;
        }
    }
    let stdout_taken = args.html_only
        || [&args.json, &args.jsonl, &args.html]
            .iter()
            .any(|o| o.as_deref() == Some(Path::new("-")));
    let write = |target: &Path, content: String| -> Result<(), String> {
        if target == Path::new("-") {
            emit(None, &files, content.as_bytes())
        } else {
            emit(Some(target), &files, content.as_bytes())
        }
    };
    if !stdout_taken {
        if let Err(m) = emit(
            None,
            &files,
            report::text_report(&results, &text_options(args.all)).as_bytes(),
        ) {
            eprintln!("error: {m}");
            return 2;
        }
    }
    if let Some(p) = &args.json {
        if let Err(m) = write(p, report::json_summary(&results)) {
            eprintln!("error: {m}");
            return 2;
        }
    }
    if let Some(p) = &args.html {
        if let Err(m) = write(p, pktmon::sink::html::html_report(&results)) {
            eprintln!("error: {m}");
            return 2;
        }
        if args.html_only && p != Path::new("-") {
            eprintln!(
                "{}: report of {} written",
                p.display(),
                pktmon::sink::counted(results.len() as u64, "input")
            );
        }
    }
    if let Some(p) = &args.jsonl {
        if let Err(m) = write(p, report::jsonl(&results)) {
            eprintln!("error: {m}");
            return 2;
        }
    }
    if let Some(dir) = &args.csv {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("error: {}: {e}", dir.display());
            return 2;
        }
        for (name, content) in [
            ("problems.csv", report::problems_csv(&results)),
            ("findings.csv", report::findings_csv(&results)),
            ("drops.csv", report::drops_csv(&results)),
        ] {
            if let Err(m) = emit(Some(&dir.join(name)), &files, content.as_bytes()) {
                eprintln!("error: {m}");
                return 2;
            }
        }
    }
    if code == 0 && report::fails(&results, &args.fail_on) {
        code = 1;
    }
    code
}

/// Keeps the first appearance of every packet and writes them with the converter.
struct Dedup {
    grouper: Option<Grouper>,
    out: PcapngConverter,
    kept: u64,
    dropped: u64,
}

impl RecordSink for Dedup {
    fn record(&mut self, ctx: &Context<'_>, record: Record) {
        match record {
            Record::Packet(a) => {
                let g = self.grouper.get_or_insert_with(|| Grouper::for_capture(ctx.info));
                let before = g.packet_count();
                g.assign(&HopKey::of(&a));
                if g.packet_count() > before {
                    self.kept += 1;
                    self.out.record(ctx, Record::Packet(a));
                } else {
                    self.dropped += 1;
                }
            }
            other => self.out.record(ctx, other),
        }
    }
}

pub fn dedup(input: &Path, output: &Path, no_verdict: bool) -> i32 {
    if let Err(m) = pktmon::sink::atomic::ensure_not_an_input(output, &[input.to_path_buf()]) {
        eprintln!("error: {}: {m}", output.display());
        return 2;
    }
    let out = match PcapngConverter::new(output, ConvertOptions { verdict: !no_verdict }) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {}: {e}", output.display());
            return 2;
        }
    };
    let mut sink = Dedup {
        grouper: None,
        out,
        kept: 0,
        dropped: 0,
    };
    let outcome = match source::read(input, &mut sink) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let had_errors = super::report(&outcome.diagnostics);
    match sink.out.finish(&outcome.info) {
        Ok(s) => {
            eprintln!(
                "{}: kept {} packets, left out {} further appearances; {} frames written to {}",
                input.display(),
                sink.kept,
                sink.dropped,
                s.frames,
                output.display()
            );
            if had_errors {
                2
            } else {
                0
            }
        }
        Err(e) => {
            eprintln!("error: {}: {e}", output.display());
            2
        }
    }
}
