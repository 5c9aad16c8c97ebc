//! A buffered file writer whose `write` system calls run on a thread of their
//! own, so copying megabytes into the kernel overlaps with producing the next
//! ones (a 2.4 GB pcapng spends as much time in the kernel as in rendering).
//!
//! Small outputs never start the thread: it is spawned when the first chunk
//! fills. Memory stays bounded by [`CHUNKS_IN_FLIGHT`] + 1 chunks.

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Bytes gathered before a chunk is handed to the writing thread.
const CHUNK: usize = 1 << 20;

/// Full chunks that may wait for the writing thread before `write` blocks.
const CHUNKS_IN_FLIGHT: usize = 2;

/// A `Write` into a file; see the module documentation.
pub struct BackgroundWriter {
    filling: Vec<u8>,
    state: State,
}

enum State {
    /// No thread yet (or it was stopped by `flush`): chunks are written here.
    Inline(File),
    Threaded(Worker),
    /// The thread failed or panicked; its error was returned once.
    Broken,
}

struct Worker {
    full: SyncSender<Vec<u8>>,
    /// Written chunks come back to be filled again (no allocation per chunk).
    empty: Receiver<Vec<u8>>,
    handle: JoinHandle<io::Result<File>>,
}

impl BackgroundWriter {
    pub fn new(file: File) -> BackgroundWriter {
        BackgroundWriter {
            filling: Vec::with_capacity(CHUNK),
            state: State::Inline(file),
        }
    }

    /// Everything written so far, on the file; returns it.
    pub fn into_file(mut self) -> io::Result<File> {
        self.stop()?;
        match std::mem::replace(&mut self.state, State::Broken) {
            State::Inline(file) => Ok(file),
            _ => Err(broken()),
        }
    }

    /// Hands the filled chunk over, starting the thread the first time.
    fn ship(&mut self) -> io::Result<()> {
        if let State::Inline(_) = self.state {
            let State::Inline(file) = std::mem::replace(&mut self.state, State::Broken) else {
                unreachable!("matched above")
            };
            self.state = State::Threaded(spawn(file)?);
        }
        let State::Threaded(worker) = &mut self.state else {
            return Err(broken());
        };
        let next = worker.empty.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let chunk = std::mem::replace(&mut self.filling, next);
        if worker.full.send(chunk).is_err() {
            // The thread ended early: it hit an error, which join returns.
            return self.stop().and(Err(broken()));
        }
        Ok(())
    }

    /// Writes what is buffered and waits for the thread to finish writing;
    /// afterwards the file is written inline until the next chunk fills.
    fn stop(&mut self) -> io::Result<()> {
        match std::mem::replace(&mut self.state, State::Broken) {
            State::Inline(mut file) => {
                let result = file.write_all(&self.filling);
                self.filling.clear();
                self.state = State::Inline(file);
                result
            }
            State::Threaded(worker) => {
                let chunk = std::mem::take(&mut self.filling);
                let sent = chunk.is_empty() || worker.full.send(chunk).is_ok();
                drop(worker.full);
                let joined = worker
                    .handle
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("the file writing thread panicked")));
                self.filling = Vec::with_capacity(CHUNK);
                let file = joined?;
                if !sent {
                    return Err(broken());
                }
                self.state = State::Inline(file);
                Ok(())
            }
            State::Broken => Err(broken()),
        }
    }
}

fn broken() -> io::Error {
    io::Error::other("an earlier write to this file failed")
}

fn spawn(mut file: File) -> io::Result<Worker> {
    let (full, full_rx) = mpsc::sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
    let (empty_tx, empty) = mpsc::channel::<Vec<u8>>();
    let handle = std::thread::Builder::new().name("file writer".into()).spawn(move || {
        for mut chunk in full_rx {
            file.write_all(&chunk)?;
            chunk.clear();
            let _ = empty_tx.send(chunk);
        }
        Ok(file)
    })?;
    Ok(Worker { full, empty, handle })
}

impl Drop for BackgroundWriter {
    /// Waits for the thread, so the file is closed when the writer is gone
    /// (an abandoned work file can then be removed, on Windows too). What was
    /// still being gathered is not written: a writer dropped without
    /// `flush` or `into_file` is being abandoned.
    fn drop(&mut self) {
        if let State::Threaded(worker) = std::mem::replace(&mut self.state, State::Broken) {
            drop(worker.full);
            let _ = worker.handle.join();
        }
    }
}

impl Write for BackgroundWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if let State::Broken = self.state {
            return Err(broken());
        }
        self.filling.extend_from_slice(buf);
        if self.filling.len() >= CHUNK {
            self.ship()?;
        }
        Ok(())
    }

    /// Waits until everything written so far is in the file.
    fn flush(&mut self) -> io::Result<()> {
        self.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("pktmon-bgw-{}-{name}", std::process::id()))
    }

    #[test]
    fn bytes_arrive_in_order_across_many_chunks_and_flushes() {
        let path = temp("order");
        let mut w = BackgroundWriter::new(File::create(&path).unwrap());
        let mut expected = Vec::new();
        // Pieces of varying size, some larger than a chunk, with flushes between.
        for i in 0..4000u32 {
            let len = (i as usize * 7919) % 3000 + if i % 997 == 0 { CHUNK + 5 } else { 0 };
            let piece: Vec<u8> = (0..len).map(|k| (k as u32 ^ i) as u8).collect();
            w.write_all(&piece).unwrap();
            expected.extend_from_slice(&piece);
            if i % 1500 == 1499 {
                w.flush().unwrap();
                assert_eq!(std::fs::metadata(&path).unwrap().len(), expected.len() as u64);
            }
        }
        drop(w.into_file().unwrap());
        let mut got = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut got).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(expected.len() > 4 * CHUNK);
        assert!(got == expected, "file differs from what was written");
    }

    #[test]
    fn a_small_output_is_written_without_a_thread() {
        let path = temp("small");
        let mut w = BackgroundWriter::new(File::create(&path).unwrap());
        w.write_all(b"pcapng").unwrap();
        assert!(matches!(w.state, State::Inline(_)));
        drop(w.into_file().unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"pcapng");
        std::fs::remove_file(&path).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failing_write_is_reported_not_lost() {
        // /dev/full fails every write with ENOSPC.
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            eprintln!("skipped: /dev/full is not available");
            return;
        };
        let mut w = BackgroundWriter::new(full);
        let chunk = vec![0u8; CHUNK];
        let mut first_error = None;
        for _ in 0..8 {
            if let Err(e) = w.write_all(&chunk) {
                first_error = Some(e);
                break;
            }
        }
        let e = match first_error {
            Some(e) => e,
            None => w.into_file().expect_err("writing to /dev/full must fail"),
        };
        assert!(
            e.to_string().contains("space") || e.to_string().contains("failed"),
            "{e}"
        );
    }
}
