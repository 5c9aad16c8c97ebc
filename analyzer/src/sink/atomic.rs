//! Output files written whole or not at all: data goes to a temporary file
//! beside the target and is renamed over it only when complete.

use std::fs::File;
use std::io::{self, Write};

use super::background::BackgroundWriter;
use std::path::{Path, PathBuf};

/// Where an output goes.
#[derive(Debug, PartialEq, Eq)]
enum Destination {
    /// A regular file (or none yet): a work file beside it is renamed over it.
    Replace(PathBuf),
    /// A device, pipe or socket (`/dev/null`, a FIFO, `/dev/stdout` on a
    /// terminal or pipe), or a link that leads to no file path: written
    /// directly. Renaming over it would put a regular file where the device
    /// or link was.
    Direct(PathBuf),
}

/// Follows symbolic links first: `-o /dev/stdout` with standard output
/// redirected to a file writes that file and leaves `/dev/stdout` alone.
fn destination(target: &Path) -> Destination {
    let is_link = std::fs::symlink_metadata(target).is_ok_and(|m| m.file_type().is_symlink());
    let resolved = if is_link {
        match std::fs::canonicalize(target) {
            Ok(p) => p,
            Err(_) => return Destination::Direct(target.to_path_buf()),
        }
    } else {
        target.to_path_buf()
    };
    match std::fs::metadata(&resolved) {
        Ok(m) if !m.is_file() && !m.is_dir() => Destination::Direct(resolved),
        _ => Destination::Replace(resolved),
    }
}

/// A hidden work file (`.<name>.<pid>.<what>`) in the folder of the file the
/// output replaces, so the final rename stays on one file system; in the
/// temporary folder when the output is written directly.
fn beside(target: &Path, what: &str) -> PathBuf {
    let (dir, path) = match destination(target) {
        Destination::Replace(p) => (
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf(),
            p,
        ),
        Destination::Direct(p) => (std::env::temp_dir(), p),
    };
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    dir.join(format!(".{name}.{}.{what}", std::process::id()))
}

/// A file being written; becomes `target` on [`AtomicFile::commit`], and
/// disappears if dropped before that. A device or pipe is written directly:
/// what reaches it cannot be taken back.
pub struct AtomicFile {
    target: PathBuf,
    /// The work file renamed over the target; `None` for a device or pipe.
    temp: Option<PathBuf>,
    writer: Option<BackgroundWriter>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        if target.file_name().is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "output path has no file name",
            ));
        }
        if target.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "output path is a directory",
            ));
        }
        let (target, temp, file) = match destination(target) {
            Destination::Direct(path) => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&path)?;
                (path, None, file)
            }
            Destination::Replace(path) => {
                let temp = beside(&path, "partial");
                let file = File::create(&temp)?;
                (path, Some(temp), file)
            }
        };
        Ok(AtomicFile {
            target,
            temp,
            writer: Some(BackgroundWriter::new(file)),
        })
    }

    pub fn writer(&mut self) -> &mut BackgroundWriter {
        self.writer.as_mut().expect("writer present until commit")
    }

    pub fn commit(mut self) -> io::Result<()> {
        let w = self.writer.take().expect("writer present until commit");
        let file = w.into_file()?;
        let Some(temp) = self.temp.take() else {
            return Ok(()); // a device or pipe: nothing to sync or rename
        };
        // Synced before the rename, so the target is whole even after a power loss.
        let synced = file.sync_all();
        drop(file);
        let done = synced.and_then(|()| std::fs::rename(&temp, &self.target));
        if done.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        done
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        drop(self.writer.take());
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// Refuses to write `output` over any of `inputs` (same file after resolving links).
pub fn ensure_not_an_input(output: &Path, inputs: &[PathBuf]) -> Result<(), String> {
    let Ok(out) = std::fs::canonicalize(output) else {
        return Ok(()); // does not exist yet
    };
    for i in inputs {
        if std::fs::canonicalize(i).map(|c| c == out).unwrap_or(false) {
            return Err(format!("refusing to overwrite the input file {}", i.display()));
        }
    }
    Ok(())
}

/// An output whose header is known only at the end (pcapng interfaces named
/// from rundown events that come last in an ETL, an etl2txt header line
/// carrying the end time): the body is streamed to a temporary file beside
/// the target, and [`DeferredHeaderFile::finish`] writes header then body into
/// the target atomically. Memory stays bounded by the header.
pub struct DeferredHeaderFile {
    target: PathBuf,
    body_path: PathBuf,
    body: Option<BackgroundWriter>,
}

impl DeferredHeaderFile {
    pub fn create(target: &Path) -> io::Result<DeferredHeaderFile> {
        let body_path = beside(target, "body");
        let body = BackgroundWriter::new(File::create(&body_path)?);
        Ok(DeferredHeaderFile {
            target: target.to_path_buf(),
            body_path,
            body: Some(body),
        })
    }

    /// Where the body goes.
    pub fn body(&mut self) -> &mut BackgroundWriter {
        self.body.as_mut().expect("body open until finish")
    }

    /// Writes `header` then the body into the target, atomically. The body is
    /// a temporary file: flushed, not synced (only the finished output is).
    pub fn finish(mut self, header: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
        let body = self.body.take().expect("body open until finish");
        drop(body.into_file()?);
        let mut out = AtomicFile::create(&self.target)?;
        header(out.writer())?;
        let mut body = std::io::BufReader::with_capacity(1 << 20, File::open(&self.body_path)?);
        io::copy(&mut body, out.writer())?;
        out.commit()
    }
}

impl Drop for DeferredHeaderFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.body_path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pktmon-atomic-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn the_target_appears_only_on_commit_and_whole() {
        let d = folder("commit");
        let target = d.join("out.pcapng");
        std::fs::write(&target, b"old").unwrap();
        let mut f = AtomicFile::create(&target).unwrap();
        let big = vec![7u8; 3 << 20]; // more than a chunk: the writing thread runs
        f.write_all(&big).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"old", "target changed before commit");
        f.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), big);
        assert_eq!(entries(&d), vec!["out.pcapng"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_abandoned_output_leaves_the_old_target_and_no_work_file() {
        let d = folder("drop");
        let target = d.join("out.pcapng");
        std::fs::write(&target, b"old").unwrap();
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(&vec![1u8; 3 << 20]).unwrap();
        drop(f);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(entries(&d), vec!["out.pcapng"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_directly_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let null = Path::new("/dev/null");
        if !null.exists() {
            eprintln!("skipped: /dev/null does not exist here");
            return;
        }
        let mut f = AtomicFile::create(null).unwrap();
        f.write_all(&vec![0u8; 3 << 20]).unwrap();
        f.commit().unwrap();
        assert!(std::fs::metadata(null).unwrap().file_type().is_char_device());
        let stray = std::fs::read_dir("/dev").unwrap().filter_map(|e| e.ok()).any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!(".null.{}.", std::process::id()))
        });
        assert!(!stray, "a work file was left in /dev");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_written_through_and_stays_a_link() {
        let d = folder("link");
        let real = d.join("real.pcapng");
        std::fs::write(&real, b"old").unwrap();
        let link = d.join("link.pcapng");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut f = AtomicFile::create(&link).unwrap();
        f.write_all(b"new bytes").unwrap();
        f.commit().unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new bytes");
        assert_eq!(entries(&d), vec!["link.pcapng", "real.pcapng"]);
        // A link to nothing is written through too (creating its target), never replaced.
        let dangling = d.join("dangling.pcapng");
        std::os::unix::fs::symlink(d.join("missing.pcapng"), &dangling).unwrap();
        assert!(matches!(destination(&dangling), Destination::Direct(_)));
        let mut f = AtomicFile::create(&dangling).unwrap();
        f.write_all(b"through").unwrap();
        f.commit().unwrap();
        assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(d.join("missing.pcapng")).unwrap(), b"through");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_deferred_header_beside_a_device_uses_the_temporary_folder() {
        let work = beside(Path::new("/dev/null"), "body");
        if Path::new("/dev/null").exists() {
            assert!(work.starts_with(std::env::temp_dir()), "{}", work.display());
        }
        let plain = beside(Path::new("some/dir/out.pcapng"), "body");
        assert!(plain.starts_with("some/dir"), "{}", plain.display());
    }
}
