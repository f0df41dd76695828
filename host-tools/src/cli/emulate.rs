//! `desfire emulate`: runs a card image as a virtual card behind pcscd's vpcd reader, or card
//! images in the field of an emulated PN532, until interrupted (SIGINT or SIGTERM).

use std::io::Write;
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};

use super::{CliError, Exit};
use crate::card_image;
use crate::pn532::{Endpoint, Link, LinkError, Pn532};
use crate::virtual_card::{EmulatedCard, PersistentCard, VirtualCard};
use crate::vpcd::{self, ServeEnd, Session, Stopper, VpcdError};

const AFTER_HELP: &str = "\
vpcd (package vsmartcard-vpcd) is a pcscd driver: the card connects to it, and every PC/SC
program then sees it in reader 'Virtual PCD 00 00' (port 35963) or 'Virtual PCD 00 01' (35964).
The emulator answers the PC/SC GET DATA pseudo-APDU (FF CA 00 00 00) with the anticollision UID,
as contactless readers do.

APDUs travel in clear between the emulator and vpcd: keep --vpcd on the loopback interface
unless the network between them is yours.

--pn532 puts the cards in the field of an emulated NXP PN532 instead, on its HSU host link:
  unix:PATH  listens on a Unix socket at PATH (QEMU: -serial unix:PATH)
  pty:PATH   opens a raw pty and links PATH to it
             (libnfc: LIBNFC_DEFAULT_DEVICE=pn532_uart:PATH:115200 nfc-list)
With --pn532, --card may be given several times: the cards are presented one after another.
A card stays in the field for one activation (InListPassiveTarget), until the reader ends it
(InDeselect, InRelease, RF field off, PowerDown, or a new InListPassiveTarget); the next poll
then finds the field empty, so the reader sees the card leave, and the poll after it finds the
next card. After the last card the field stays empty; --loop starts again with the first.
Each card keeps its state from one presentation to the next; --save writes every card back to
its file when the emulator stops.";

/// Arguments of `desfire emulate` (described on [`super::Command::Emulate`]).
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The card image (a file written by the card model: keys, applications, files). With
    /// --pn532, repeat it to present several cards one after another.
    #[arg(long, value_name = "FILE", required = true)]
    pub card: Vec<PathBuf>,
    /// Where vpcd listens.
    #[arg(long, value_name = "HOST:PORT", default_value = vpcd::DEFAULT_ADDR)]
    pub vpcd: String,
    /// Put the cards in the field of an emulated PN532 on a Unix socket or a pty, instead of
    /// behind vpcd.
    #[arg(long, value_name = "unix:PATH|pty:PATH", conflicts_with = "vpcd")]
    pub pn532: Option<Endpoint>,
    /// With --pn532: after the last card, present the first again (and so on).
    #[arg(long = "loop", requires = "pn532")]
    pub looping: bool,
    /// Write each card's state back to its FILE when the emulator stops.
    #[arg(long)]
    pub save: bool,
    /// Print every exchange to standard error, in the format `desfire trace decode` reads (with
    /// --pn532 also every host-link frame and card presentation, as `#` comments).
    #[arg(long)]
    pub trace: bool,
}

/// Why emulation could not start or ended badly.
#[derive(Debug, thiserror::Error)]
pub enum EmulateError {
    /// The card image could not be read, parsed, checked or written.
    #[error(transparent)]
    Image(#[from] card_image::FileError),
    /// The image is valid JSON of the right shape but the card refused it.
    #[error("{path}: {source}")]
    Card {
        /// The image file.
        path: PathBuf,
        /// Why.
        source: card_image::ImageError,
    },
    /// vpcd could not be reached, or the connection broke.
    #[error(transparent)]
    Vpcd(#[from] VpcdError),
    /// The PN532 host link could not be opened, or failed.
    #[error(transparent)]
    Pn532(#[from] LinkError),
    /// Several cards need the PN532 mode.
    #[error("vpcd holds one card: give one --card, or use --pn532 to present several")]
    SeveralCards,
    /// The signal handler could not be installed.
    #[error("cannot handle SIGINT/SIGTERM: {0}")]
    Signal(#[from] ctrlc::Error),
}

/// Loads the card image at `path` (`specs/card-image.md`) and builds the card.
pub fn load_card(path: &Path) -> Result<Box<dyn PersistentCard>, EmulateError> {
    let image = card_image::load(path)?;
    let card = EmulatedCard::from_image(image).map_err(|source| EmulateError::Card {
        path: path.to_owned(),
        source,
    })?;
    Ok(Box::new(card))
}

/// Runs `desfire emulate`.
pub fn run(args: Args, out: &mut dyn Write) -> Result<Exit, CliError> {
    if let Some(endpoint) = &args.pn532 {
        return run_pn532(&args, endpoint, out);
    }
    let [path] = args.card.as_slice() else {
        return Err(EmulateError::SeveralCards.into());
    };
    let mut card = load_card(path)?;
    let stopper = Stopper::new();
    let on_signal = stopper.clone();
    ctrlc::set_handler(move || on_signal.stop()).map_err(EmulateError::from)?;
    warn_if_not_loopback(&args.vpcd);
    writeln!(
        out,
        "emulating {} on vpcd at {} (UID {}); Ctrl-C to stop",
        path.display(),
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
        card.save(path).map_err(EmulateError::from)?;
        writeln!(out, "saved the card to {}", path.display())?;
    }
    Ok(Exit::Success)
}

/// `desfire emulate --pn532`: the cards in the field of an emulated PN532 until stopped; the
/// socket or the pty link is removed on the way out.
fn run_pn532(args: &Args, endpoint: &Endpoint, out: &mut dyn Write) -> Result<Exit, CliError> {
    let cards = args
        .card
        .iter()
        .map(|p| load_card(p))
        .collect::<Result<Vec<_>, _>>()?;
    let stopper = Stopper::new();
    let on_signal = stopper.clone();
    ctrlc::set_handler(move || on_signal.stop()).map_err(EmulateError::from)?;
    let mut link = Link::open(endpoint).map_err(EmulateError::from)?;
    let mut chip = Pn532::new(cards, args.looping);
    chip.set_trace(args.trace);
    writeln!(
        out,
        "emulating {} card{} on a PN532 at {}; Ctrl-C to stop",
        args.card.len(),
        if args.card.len() == 1 { "" } else { "s" },
        link.describe()
    )?;
    out.flush()?;
    let mut stderr = std::io::stderr();
    let trace: Option<&mut dyn Write> = if args.trace { Some(&mut stderr) } else { None };
    let served = link.serve(&mut chip, &stopper, trace);
    drop(link);
    served.map_err(EmulateError::from)?;
    writeln!(
        out,
        "stopped after {} activation{}",
        chip.activations(),
        if chip.activations() == 1 { "" } else { "s" }
    )?;
    if args.save {
        for (card, path) in chip.cards().iter().zip(&args.card) {
            card.save(path).map_err(EmulateError::from)?;
            writeln!(out, "saved the card to {}", path.display())?;
        }
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
