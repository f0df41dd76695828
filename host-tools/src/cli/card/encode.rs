//! `desfire card encode`: personalise a blank card (or a card image) with a GEN-PACS v1
//! credential (`specs/generic-encoding.md` §18), signed with the profile's issuer key.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::ArgGroup;
use desfire_core::encoding::Credential;
use desfire_core::encoding::credential::{LegacyImage, SignatureAlgorithm};
use desfire_core::pcd::{Desfire, FrameSize};
use desfire_core::picc::State;

use super::ReaderArgs;
use crate::args::{ArgError, parse_hex};
use crate::card_image::{self, CardImage};
use crate::cli::emulate::EmulateError;
use crate::cli::{CliError, Exit};
use crate::dates::parse_date;
use crate::gen_pacs::{self, Encoded};
use crate::profile::{Needed, Profile};
use crate::virtual_card::EmulatedCard;
use crate::virtual_card::ImageLink;
use crate::virtual_card::VirtualCard;

const AFTER_HELP: &str = "\
DATE: YYYY-MM-DD (UTC midnight) or Unix seconds. Default validity: from now for the profile's
default_validity_days (365 unless set).

A new --image gets a fresh random 7-byte UID starting 04 (or --uid); the card ends with Random ID
on, like a real EV3 card, and runs unchanged under `desfire emulate --card FILE`.

Exit status: 0 encoded (or already holding this credential), 1 refused (the card holds another
credential, or one this profile cannot read; --force replaces it), 2 bad arguments, profile or
image, 3 the reader or the card failed.";

/// Arguments of `desfire card encode`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
#[command(group(ArgGroup::new("target").required(true).args(["image", "reader"])))]
pub struct Args {
    /// The profile: `lab` (built-in TEST profile) or a profile file.
    #[arg(long, value_name = "lab|FILE")]
    pub profile: String,
    /// The credential ID (tag 81): 16 hex digits, not all zero.
    #[arg(long, value_name = "HEX")]
    pub credential_id: String,
    /// Start of validity (tag 83). Default: now.
    #[arg(long, value_name = "DATE")]
    pub valid_from: Option<String>,
    /// End of validity, exclusive (tag 84).
    #[arg(long, value_name = "DATE")]
    pub valid_until: Option<String>,
    /// Issue number (tag 82).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub issue_number: u8,
    /// Legacy PACS image (tag 86): the bit count and the bits right-justified in hex, e.g.
    /// `26:02026073` (H10301, facility 1, card 12345).
    #[arg(long, value_name = "BITS:HEX")]
    pub legacy_wiegand: Option<String>,
    /// Encode this card image (created when it does not exist).
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// The 7-byte UID of a new image (hex). Default: random, starting 04.
    #[arg(long, value_name = "HEX", requires = "image")]
    pub uid: Option<String>,
    /// Replace a credential the card already holds.
    #[arg(long)]
    pub force: bool,
    /// The PC/SC reader (builds with `--features pcsc`).
    #[command(flatten)]
    pub reader: ReaderArgs,
}

/// Runs `desfire card encode`.
pub fn run(args: Args, out: &mut dyn Write) -> Result<Exit, CliError> {
    let profile = Profile::load(&args.profile)?;
    profile.warn_if_test();
    profile.require(&Needed::CARD_MASTERS)?;
    profile.require(&[Needed::SigningKey])?;
    let now = crate::dates::now();
    let credential = credential(&args, &profile, now)?;
    let outcome = match &args.image {
        Some(path) => encode_image(
            path,
            args.uid.as_deref(),
            &profile,
            &credential,
            args.force,
            now,
        )?,
        None => encode_reader(&args.reader, &profile, &credential, args.force, now)?,
    };
    let id = credential.credential_id;
    match outcome {
        Encoded::Personalised => writeln!(out, "encoded credential {id:016X}")?,
        Encoded::Resumed { steps } => writeln!(
            out,
            "completed an interrupted personalisation ({steps} step(s)): credential {id:016X}"
        )?,
        Encoded::AlreadyEncoded => {
            writeln!(
                out,
                "the card already holds credential {id:016X}; nothing written"
            )?;
        }
        Encoded::Rewritten { previous } => match previous {
            Some(p) => writeln!(out, "replaced credential {p:016X} with {id:016X}")?,
            None => writeln!(out, "rewrote the credential: {id:016X}")?,
        },
    }
    Ok(Exit::Success)
}

fn credential(args: &Args, profile: &Profile, now: u32) -> Result<Credential, ArgError> {
    let invalid = |what: &str, message: &str| ArgError::Invalid {
        what: what.to_owned(),
        message: message.to_owned(),
    };
    let id = parse_hex("--credential-id", &args.credential_id)?;
    let id = <[u8; 8]>::try_from(id.as_slice()).map_err(|_| ArgError::Length {
        what: "--credential-id".into(),
        expected: "8 bytes (16 hex digits)",
        got: id.len(),
    })?;
    let credential_id = u64::from_be_bytes(id);
    if credential_id == 0 {
        return Err(invalid("--credential-id", "must not be all zero"));
    }
    let valid_from = match &args.valid_from {
        Some(d) => parse_date("--valid-from", d)?,
        None => now,
    };
    let valid_until = match &args.valid_until {
        Some(d) => parse_date("--valid-until", d)?,
        None => {
            valid_from.saturating_add(profile.policy.default_validity_days.saturating_mul(86_400))
        }
    };
    if valid_until <= valid_from {
        return Err(invalid("--valid-until", "must be after --valid-from"));
    }
    let legacy_image = match &args.legacy_wiegand {
        None => None,
        Some(text) => {
            let (n, bits) = text.split_once(':').ok_or_else(|| {
                invalid("--legacy-wiegand", "expected BITS:HEX, e.g. 26:02026073")
            })?;
            let n: u8 = n
                .trim()
                .parse()
                .map_err(|_| invalid("--legacy-wiegand", "BITS must be 1 to 128"))?;
            let bits = parse_hex("--legacy-wiegand", bits)?;
            Some(LegacyImage::new(n, &bits).ok_or_else(|| {
                invalid(
                    "--legacy-wiegand",
                    "BITS must be 1 to 128 and HEX exactly ceil(BITS/8) bytes, unused high bits zero",
                )
            })?)
        }
    };
    let key_id = profile
        .signer()
        .map(desfire_core::encoding::IssuerSigner::key_id)
        .ok_or_else(|| invalid("--profile", "no issuer signing key"))?;
    Ok(Credential {
        format_minor: 0,
        issuer: profile.issuer_id.clone(),
        credential_id,
        issue_number: args.issue_number,
        valid_from,
        valid_until,
        site_code: None,
        legacy_image,
        class: None,
        key_id,
        algorithm: SignatureAlgorithm::ECDSA_P256_SHA256,
    })
}

fn encode_image(
    path: &Path,
    uid: Option<&str>,
    profile: &Profile,
    credential: &Credential,
    force: bool,
    now: u32,
) -> Result<Encoded, CliError> {
    let image = if path.exists() {
        if uid.is_some() {
            return Err(ArgError::Invalid {
                what: "--uid".into(),
                message: format!("{} exists; --uid is only for a new image", path.display()),
            }
            .into());
        }
        card_image::load(path)?
    } else {
        CardImage::from_state(&State::factory(new_uid(uid)?))
    };
    let mut card = EmulatedCard::from_image(image).map_err(|source| EmulateError::Card {
        path: path.to_owned(),
        source,
    })?;
    card.power_on();
    let ac = card.anticollision_uid().to_vec();
    let outcome = {
        let mut d: Desfire<_> = Desfire::new(ImageLink(&mut card), FrameSize::SHORT_APDU);
        gen_pacs::encode(&mut d, &ac, profile, credential, force, now)?
    };
    // On failure nothing is saved: the image stays as it was.
    if outcome != Encoded::AlreadyEncoded {
        card_image::save(path, &CardImage::from_state(card.state()))?;
    }
    Ok(outcome)
}

fn new_uid(uid: Option<&str>) -> Result<[u8; 7], ArgError> {
    match uid {
        Some(text) => {
            let v = parse_hex("--uid", text)?;
            <[u8; 7]>::try_from(v.as_slice()).map_err(|_| ArgError::Length {
                what: "--uid".into(),
                expected: "7 bytes (14 hex digits)",
                got: v.len(),
            })
        }
        None => {
            use rand_core::TryRngCore;
            let mut uid = [0x04u8; 7];
            if let Some(rest) = uid.get_mut(1..) {
                rand_core::OsRng
                    .try_fill_bytes(rest)
                    .map_err(|e| ArgError::Invalid {
                        what: "--uid".into(),
                        message: format!("no randomness for a new UID: {e}"),
                    })?;
            }
            Ok(uid)
        }
    }
}

#[cfg(feature = "pcsc")]
fn encode_reader(
    reader: &ReaderArgs,
    profile: &Profile,
    credential: &Credential,
    force: bool,
    now: u32,
) -> Result<Encoded, CliError> {
    let r = super::session::with_card(reader, |card, _| {
        let ac = super::session::anticollision_uid(card)?;
        Ok(gen_pacs::encode(card, &ac, profile, credential, force, now))
    })?;
    Ok(r?)
}

#[cfg(not(feature = "pcsc"))]
fn encode_reader(
    _: &ReaderArgs,
    _: &Profile,
    _: &Credential,
    _: bool,
    _: u32,
) -> Result<Encoded, CliError> {
    Err(CliError::NoPcsc)
}
