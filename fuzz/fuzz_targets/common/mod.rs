//! What every target shares: a scratch file the path-taking readers can open,
//! and a sink that counts records and renders every appearance.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use pktmon::model::{Context, Record, RecordSink};
use pktmon::pktmon::events::{EVENT_DROP, EVENT_PACKET};
use pktmon::pktmon::text::{render_message, render_prefix};

/// One file per fuzzing process, overwritten by every input.
///
/// On Linux it is created in /dev/shm (RAM) when that exists, then unlinked
/// at once and reached through `/proc/self/fd/N`: the readers open it by path
/// as usual, and nothing is left behind when the process ends or crashes.
/// Elsewhere it is a named file in the temporary directory.
pub struct Scratch {
    file: File,
    path: PathBuf,
}

static SCRATCH: Mutex<Option<Scratch>> = Mutex::new(None);

fn create(tag: &str) -> Scratch {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let named = dir.join(format!("pktmon-fuzz-{tag}-{}", std::process::id()));
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&named)
        .unwrap_or_else(|e| panic!("cannot create scratch file {}: {e}", named.display()));
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let via_proc = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        if via_proc.exists() && std::fs::remove_file(&named).is_ok() {
            return Scratch { file, path: via_proc };
        }
    }
    Scratch { file, path: named }
}

/// Writes `data` to this process's scratch file and calls `f` with its path.
pub fn with_file<R>(tag: &str, data: &[u8], f: impl FnOnce(&std::path::Path) -> R) -> R {
    let mut guard = SCRATCH.lock().unwrap_or_else(|p| p.into_inner());
    let scratch = guard.get_or_insert_with(|| create(tag));
    scratch.file.set_len(0).expect("truncate scratch file");
    scratch.file.seek(SeekFrom::Start(0)).expect("seek scratch file");
    scratch.file.write_all(data).expect("write scratch file");
    f(&scratch.path)
}

/// Counts records and renders each appearance the way `txt` and `convert` do
/// (the file's own message template, then the English one), so rendering
/// arbitrary decoded values is fuzzed too.
#[derive(Default)]
pub struct CountingSink {
    pub records: u64,
    pub packets: u64,
    pub rendered_bytes: usize,
}

impl RecordSink for CountingSink {
    fn record(&mut self, ctx: &Context<'_>, record: Record) {
        self.records += 1;
        let Record::Packet(a) = record else { return };
        self.packets += 1;
        let id = if a.is_drop() { EVENT_DROP } else { EVENT_PACKET };
        let template = ctx.schemas.get(&id).and_then(|s| s.message.as_deref());
        let prefix = render_prefix(&a, ctx.info.timezone_bias_minutes.unwrap_or(0));
        let own = render_message(&a, ctx.catalog, template);
        let english = render_message(&a, ctx.catalog, None);
        self.rendered_bytes += prefix.len() + own.len() + english.len();
    }
}
