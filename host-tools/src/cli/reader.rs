//! `desfire reader`: the reference reader. Runs the GEN-PACS v1 reader procedure
//! (`specs/generic-encoding.md` §12) once against a card image or a card in a PC/SC reader.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::ArgGroup;
use desfire_core::encoding::{Transaction, Verdict};

use super::card::ReaderArgs;
use super::emulate::{EmulateError, EmulatedCard};
use super::{CliError, Exit};
use crate::card_image;
use crate::gen_pacs::{self, ImageLink, parse_date, spec_reason};
use crate::profile::{Needed, Profile};
use crate::vpcd::VirtualCard;

const AFTER_HELP: &str = "\
GRANT: exit 0, the 16-hex-digit credential ID as the first line of standard output.
DENY: exit 1, `DENY <IDENTIFIER> (<number>)` on standard error (spec section 13); nothing on
standard output. Exit 2: bad arguments, profile or image, or no reader.

With --image the card is activated in process (a new random UID per activation when Random ID is
on) and read; the image file is not modified.";

/// Arguments of `desfire reader`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
#[command(group(ArgGroup::new("target").required(true).args(["image", "reader"])))]
pub struct Args {
    /// The profile: `lab` (built-in TEST profile) or a profile file.
    #[arg(long, value_name = "lab|FILE")]
    pub profile: String,
    /// Read this card image in process.
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// Trusted time for the validity check, DATE (YYYY-MM-DD or Unix seconds). Default: the
    /// host clock.
    #[arg(long, value_name = "DATE")]
    pub now: Option<String>,
    /// The PC/SC reader (builds with `--features pcsc`).
    #[command(flatten)]
    pub reader: ReaderArgs,
}

/// Runs `desfire reader`.
pub fn run(args: Args, out: &mut dyn Write) -> Result<Exit, CliError> {
    let profile = Profile::load(&args.profile)?;
    profile.warn_if_test();
    profile.require(&[Needed::K1, Needed::K2, Needed::IssuerKeys])?;
    let now = match &args.now {
        Some(d) => parse_date("--now", d)?,
        None => gen_pacs::now(),
    };
    let t = match &args.image {
        Some(path) => read_image(path, &profile, now)?,
        None => read_reader(&args.reader, &profile, now)?,
    };
    match t.verdict {
        Verdict::Grant(c) => {
            writeln!(out, "{:016X}", c.credential_id)?;
            Ok(Exit::Success)
        }
        Verdict::Deny(r) => match spec_reason(&r) {
            Some((id, n)) => {
                eprintln!("DENY {id} ({n}): {r}");
                Ok(Exit::Fail)
            }
            None => Err(CliError::Environment(format!(
                "the reader could not run: {r}"
            ))),
        },
    }
}

/// Activates the image's card in process and reads it; the file is not written.
pub fn read_image(path: &Path, profile: &Profile, now: u32) -> Result<Transaction, CliError> {
    let image = card_image::load(path)?;
    let mut card = EmulatedCard::from_image(image).map_err(|source| EmulateError::Card {
        path: path.to_owned(),
        source,
    })?;
    card.power_on();
    let ac = card.anticollision_uid().to_vec();
    Ok(gen_pacs::read(
        &mut ImageLink(&mut card),
        profile,
        profile.policy.allow_fixed_uid,
        &ac,
        now,
    ))
}

#[cfg(feature = "pcsc")]
fn read_reader(reader: &ReaderArgs, profile: &Profile, now: u32) -> Result<Transaction, CliError> {
    super::card::session::with_card(reader, |card, _| {
        let ac = super::card::session::anticollision_uid(card)?;
        Ok(gen_pacs::read(
            card.transport_mut(),
            profile,
            profile.policy.allow_fixed_uid,
            &ac,
            now,
        ))
    })
    // No pcscd, no reader, no card: an environment error (exit 2); a card that fails during the
    // procedure is a verdict.
    .map_err(|e| CliError::Environment(e.to_string()))
}

#[cfg(not(feature = "pcsc"))]
fn read_reader(_: &ReaderArgs, _: &Profile, _: u32) -> Result<Transaction, CliError> {
    Err(CliError::NoPcsc)
}
