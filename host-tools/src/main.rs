//! `desfire`: the MIFARE DESFire EV3 toolkit's command-line tool. See `desfire --help`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use host_tools::cli::{Cli, Exit, run};

fn main() -> ExitCode {
    // clap prints usage errors itself and exits with status 2.
    let cli = Cli::parse();
    match try_main(cli) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) => {
            eprintln!("desfire: {e:#}");
            let exit = e
                .downcast_ref::<host_tools::cli::CliError>()
                .map_or(Exit::Usage, host_tools::cli::CliError::exit);
            ExitCode::from(exit.code())
        }
    }
}

fn try_main(cli: Cli) -> anyhow::Result<Exit> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let exit = run(cli, &mut out)?;
    out.flush().context("cannot write the output")?;
    Ok(exit)
}
