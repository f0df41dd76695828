//! `desfire emulate`: runs a card image as a virtual card behind pcscd's vpcd reader until
//! interrupted (SIGINT or SIGTERM).

use std::io::Write;
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};

use super::{CliError, Exit};
use crate::vpcd::{self, ServeEnd, Session, Stopper, VirtualCard, VpcdError};

const AFTER_HELP: &str = "\
vpcd (package vsmartcard-vpcd) is a pcscd driver: the card connects to it, and every PC/SC
program then sees it in reader 'Virtual PCD 00 00' (port 35963) or 'Virtual PCD 00 01' (35964).
The emulator answers the PC/SC GET DATA pseudo-APDU (FF CA 00 00 00) with the anticollision UID,
as contactless readers do.

APDUs travel in clear between the emulator and vpcd: keep --vpcd on the loopback interface
unless the network between them is yours.";

/// Arguments of `desfire emulate` (described on [`super::Command::Emulate`]).
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The card image (a file written by the card model: keys, applications, files).
    #[arg(long, value_name = "FILE")]
    pub card: PathBuf,
    /// Where vpcd listens.
    #[arg(long, value_name = "HOST:PORT", default_value = vpcd::DEFAULT_ADDR)]
    pub vpcd: String,
    /// Write the card's state back to FILE when the emulator stops.
    #[arg(long)]
    pub save: bool,
    /// Print every exchange to standard error, in the format `desfire trace decode` reads.
    #[arg(long)]
    pub trace: bool,
}

/// Why emulation could not start or ended badly.
#[derive(Debug, thiserror::Error)]
pub enum EmulateError {
    /// The card model (`desfire_core::picc`) is not part of this build yet.
    #[error(
        "card images are not available in this build yet: the card model (desfire_core::picc) \
         has not landed, so {0} cannot be loaded"
    )]
    CardImagesUnavailable(PathBuf),
    /// vpcd could not be reached, or the connection broke.
    #[error(transparent)]
    Vpcd(#[from] VpcdError),
    /// The signal handler could not be installed.
    #[error("cannot handle SIGINT/SIGTERM: {0}")]
    Signal(#[from] ctrlc::Error),
}

/// A card that can be saved: what `desfire emulate` runs.
pub trait PersistentCard: VirtualCard + Send {
    /// Writes the card's state to `path`, in the format [`load_card`] reads.
    fn save(&self, path: &Path) -> Result<(), EmulateError>;
}

/// Loads the card image at `path`.
///
/// INTEGRATION POINT for the card model: once `desfire_core::picc::Card` and its serde
/// `CardImage` land, this reads the image (TOML or JSON), builds the card, and returns it;
/// `PersistentCard` gets one `impl` for `picc::Card` (`save` writes the `CardImage` back) and
/// `VirtualCard` another (`transmit` is `Card::process`). Nothing else in this module changes.
pub fn load_card(path: &Path) -> Result<Box<dyn PersistentCard>, EmulateError> {
    Err(EmulateError::CardImagesUnavailable(path.to_owned()))
}

/// Runs `desfire emulate`.
pub fn run(args: Args, out: &mut dyn Write) -> Result<Exit, CliError> {
    let mut card = load_card(&args.card)?;
    let stopper = Stopper::new();
    let on_signal = stopper.clone();
    ctrlc::set_handler(move || on_signal.stop()).map_err(EmulateError::from)?;
    warn_if_not_loopback(&args.vpcd);
    writeln!(
        out,
        "emulating {} on vpcd at {} (UID {}); Ctrl-C to stop",
        args.card.display(),
        args.vpcd,
        hex::encode_upper(card.anticollision_uid())
    )?;
    out.flush()?;
    let end = emulate(&mut card, &args.vpcd, &stopper, args.trace)?;
    writeln!(
        out,
        "{}",
        match end {
            ServeEnd::Stopped => "stopped",
            ServeEnd::VpcdClosed => "vpcd closed the connection (pcscd stopped?)",
        }
    )?;
    if args.save {
        card.save(&args.card)?;
        writeln!(out, "saved the card to {}", args.card.display())?;
    }
    Ok(Exit::Success)
}

/// Connects `card` to vpcd at `addr` and serves it until vpcd closes the connection or
/// `stopper` is used. With `trace`, every exchange goes to standard error.
pub fn emulate<C: VirtualCard>(
    card: C,
    addr: &str,
    stopper: &Stopper,
    trace: bool,
) -> Result<ServeEnd, EmulateError> {
    let stream = vpcd::connect(addr)?;
    let mut session = Session::new(card);
    let mut stderr = std::io::stderr();
    let trace: Option<&mut dyn Write> = if trace { Some(&mut stderr) } else { None };
    Ok(vpcd::serve(stream, &mut session, stopper, trace)?)
}

/// vpcd carries APDUs in clear: say so when they would leave this machine.
fn warn_if_not_loopback(addr: &str) {
    let remote = addr
        .to_socket_addrs()
        .map(|mut addrs| addrs.any(|a| !a.ip().is_loopback()))
        .unwrap_or(false);
    if remote {
        eprintln!(
            "desfire: warning: {addr} is not a loopback address; APDUs, including key data, \
             travel in clear to it"
        );
    }
}
