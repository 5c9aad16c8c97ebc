//! Running one command over many inputs at once.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Runs `work` on each item on up to `jobs` threads and returns the results in
/// the items' order (`None` where a worker stopped before giving one). On a
/// terminal, a run of several items that takes more than a second shows
/// `VERB: done/total files` on standard error, erased at the end.
pub fn run_ordered<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    verb: &str,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let finished = AtomicBool::new(false);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let show_progress = std::io::stderr().is_terminal() && items.len() > 1;
    std::thread::scope(|s| {
        if show_progress {
            s.spawn(|| {
                let start = Instant::now();
                while !finished.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(200));
                    if start.elapsed() > Duration::from_secs(1) && !finished.load(Ordering::Relaxed) {
                        eprint!("\r{verb}: {}/{} files", done.load(Ordering::Relaxed), items.len());
                    }
                }
                if start.elapsed() > Duration::from_secs(1) {
                    eprint!("\r{:40}\r", "");
                }
            });
        }
        let workers: Vec<_> = (0..jobs.max(1).min(items.len().max(1)))
            .map(|_| {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = work(item);
                    if let Ok(mut v) = results.lock() {
                        v[i] = Some(r);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect();
        for w in workers {
            let _ = w.join();
        }
        finished.store(true, Ordering::Relaxed);
    });
    results.into_inner().unwrap_or_default()
}
