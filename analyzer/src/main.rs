//! `pktmon-analyzer`: a thin command line over the `pktmon` library.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
