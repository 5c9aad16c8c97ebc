//! Output files written whole or not at all: data goes to a temporary file
//! beside the target and is renamed over it only when complete.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A hidden work file in the target's folder (`.<name>.<pid>.<what>`), so the
/// final rename stays on one file system.
fn beside(target: &Path, what: &str) -> PathBuf {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    dir.join(format!(".{name}.{}.{what}", std::process::id()))
}

/// A file being written; becomes `target` on [`AtomicFile::commit`], and
/// disappears if dropped before that.
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
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
        let temp = beside(target, "partial");
        let file = File::create(&temp)?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer.as_mut().expect("writer present until commit")
    }

    pub fn commit(mut self) -> io::Result<()> {
        let w = self.writer.take().expect("writer present until commit");
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.temp, &self.target)
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
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
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
    body: Option<BufWriter<File>>,
}

impl DeferredHeaderFile {
    pub fn create(target: &Path) -> io::Result<DeferredHeaderFile> {
        let body_path = beside(target, "body");
        let body = BufWriter::with_capacity(1 << 20, File::create(&body_path)?);
        Ok(DeferredHeaderFile {
            target: target.to_path_buf(),
            body_path,
            body: Some(body),
        })
    }

    /// Where the body goes.
    pub fn body(&mut self) -> &mut BufWriter<File> {
        self.body.as_mut().expect("body open until finish")
    }

    /// Writes `header` then the body into the target, atomically. The body is
    /// a temporary file: flushed, not synced (only the finished output is).
    pub fn finish(mut self, header: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
        let body = self.body.take().expect("body open until finish");
        drop(body.into_inner().map_err(|e| e.into_error())?);
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
