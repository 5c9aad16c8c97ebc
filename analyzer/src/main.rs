//! `pktmon-analyzer`: a thin command line over the `pktmon` library.

mod cli;

fn main() {
    quiet_on_closed_pipe();
    std::process::exit(cli::run());
}

/// A reader that goes away (`pktmon-analyzer txt X | head -1`) ends the
/// command quietly with status 0.
///
/// Rust ignores SIGPIPE, so a write to a closed pipe fails with BrokenPipe
/// instead of killing the process. The commands' own writes to standard
/// output treat that error as the end of the output (`cli::emit`, `txt`,
/// `events`). `println!`/`eprintln!` panic on it instead ("failed printing to
/// stdout: Broken pipe"), which would print a panic and exit 101: this hook
/// turns exactly that panic into exit 0. Resetting SIGPIPE to its default
/// would end the process quietly too, but with status 141, which fails a
/// `set -o pipefail` script that only wanted the first line.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
