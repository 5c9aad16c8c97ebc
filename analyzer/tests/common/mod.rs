//! Skipped checks, said out loud: the analyzer's tests cannot depend on the
//! tests crate, so this is its `skip` (tests/src/lib.rs) again, small.

/// Says that a check of the running test is skipped and why: a `skipped: …`
/// line on standard error (libtest shows it only for failures) and one line
/// `test<TAB>need<TAB>why` appended to the file `PKTMON_SKIPS_FILE` names,
/// which scripts/test.sh prints at the end. `need` is `corpus` or
/// `program:NAME`: test.sh fails the run when that was there all along.
pub fn skip(need: &str, why: &str) {
    eprintln!("skipped: {why}");
    let Some(file) = std::env::var_os("PKTMON_SKIPS_FILE").filter(|v| !v.is_empty()) else {
        return;
    };
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| match s.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_string(),
            _ => s,
        })
        .unwrap_or_default();
    let line = format!(
        "{binary}::{}\t{need}\t{why}\n",
        std::thread::current().name().unwrap_or("?")
    );
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
    if let Err(e) = appended {
        panic!("{}: cannot list the skipped check: {e}", file.to_string_lossy());
    }
}
