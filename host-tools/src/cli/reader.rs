//! `desfire reader`: the reference reader. Runs the GEN-PACS v1 reader procedure
//! (`specs/generic-encoding.md` §12) once against a card image or a card in a PC/SC reader.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::ArgGroup;
use desfire_core::encoding::{
    OriginalityCheck, OriginalityPolicy, OutputFormat, Transaction, Verdict, osdp_raw,
    osdp_raw_extended, osdp_raw_legacy,
};

use super::card::ReaderArgs;
use super::emulate::EmulateError;
use super::{CliError, Exit};
use crate::card_image;
use crate::dates::parse_date;
use crate::framing::Variant;
use crate::gen_pacs::{self, spec_reason};
use crate::profile::{Needed, Profile};
use crate::virtual_card::EmulatedCard;
use crate::virtual_card::ImageLink;
use crate::virtual_card::VirtualCard;

const AFTER_HELP: &str = "\
GRANT: exit 0. First line of standard output: the 16-hex-digit credential ID (--output osdp,
the default, and extended), or the tag 86 image's bits as 0 and 1 in Wiegand order
(--output legacy-wiegand). --print-payload adds `osdp_RAW <HEX>`, the reply's data of spec
section 14 (reader number 00).
DENY: exit 1, `DENY <IDENTIFIER> (<number>)` on standard error (spec section 13); nothing on
standard output. Exit 2: bad arguments, profile or image, or no reader.

The profile's policy decides the optional steps: key generations (keys.k2_next: step 5),
originality (policy.originality: step 12), the output (policy.output, overridden by --output)
and the revocation list ([revocation]: REVOKED).

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
    /// Output on a GRANT (spec section 14): `osdp` (osdp_RAW, the credential ID),
    /// `extended` (issuer hash, credential ID, issue number) or `legacy-wiegand` (the tag 86
    /// image only: legacy grade; a credential without it is NO_LEGACY_IMAGE). Default: the
    /// profile's `policy.output`, else osdp.
    #[arg(long, value_name = "osdp|extended|legacy-wiegand", value_parser = parse_output)]
    pub output: Option<OutputFormat>,
    /// Also print the output payload on a GRANT: `osdp_RAW <HEX>`.
    #[arg(long)]
    pub print_payload: bool,
    /// How to frame the procedure's commands, all legal and all giving the same verdicts:
    /// `ad` (the default: SelectApplication, ReadData AD of 160 bytes), `bd` (ReadData BD in
    /// 59-byte AF frames), `whole-file` (BD of the whole file: outside spec §12 step 9, which
    /// asks for exactly 160 bytes; for checking the audit), `df-name` (ISOSelectFile by
    /// DF name) or `inquisitive` (DF name, BD, and GetVersion, GetFileSettings, GetKeyVersion
    /// and Read_Sig on the way).
    #[arg(long, value_name = "VARIANT", default_value = "ad", value_parser = Variant::parse)]
    pub framing: Variant,
    /// The PC/SC reader (builds with `--features pcsc`).
    #[command(flatten)]
    pub reader: ReaderArgs,
}

fn parse_output(text: &str) -> Result<OutputFormat, String> {
    crate::profile::parse_output(text)
        .ok_or_else(|| "expected osdp, extended or legacy-wiegand".to_owned())
}

/// Runs `desfire reader`.
pub fn run(args: Args, out: &mut dyn Write) -> Result<Exit, CliError> {
    let mut profile = Profile::load(&args.profile)?;
    profile.warn_if_test();
    if let Some(output) = args.output {
        profile.policy.output = output;
    }
    if profile.policy.output == OutputFormat::LegacyWiegand {
        // R13: a labelled option.
        eprintln!(
            "desfire: legacy Wiegand output: LEGACY GRADE (the line is plaintext and replayable; \
             it carries the tag 86 image only)"
        );
    }
    profile.require(&[Needed::K1, Needed::K2, Needed::IssuerKeys])?;
    let now = match &args.now {
        Some(d) => parse_date("--now", d)?,
        None => crate::dates::now(),
    };
    let t = match &args.image {
        Some(path) => read_image(path, &profile, now, args.framing)?,
        None => read_reader(&args.reader, &profile, now, args.framing)?,
    };
    log_originality(profile.policy.originality, t.originality);
    match t.verdict {
        Verdict::Grant(c) => {
            let mut payload = [0u8; 20];
            let payload: &[u8] = match profile.policy.output {
                OutputFormat::Osdp => {
                    writeln!(out, "{:016X}", c.credential_id)?;
                    payload[..12].copy_from_slice(&osdp_raw(&c, 0));
                    &payload[..12]
                }
                OutputFormat::Extended => {
                    writeln!(out, "{:016X}", c.credential_id)?;
                    payload[..17].copy_from_slice(&osdp_raw_extended(&c, 0));
                    &payload[..17]
                }
                OutputFormat::LegacyWiegand => {
                    // The procedure denied a credential without tag 86 (NO_LEGACY_IMAGE).
                    let bits: String = c
                        .legacy_image
                        .iter()
                        .flat_map(|img| img.wiegand_bits())
                        .map(|b| if b { '1' } else { '0' })
                        .collect();
                    writeln!(out, "{bits}")?;
                    let n = osdp_raw_legacy(&c, 0, &mut payload)
                        .map_err(|r| CliError::Environment(format!("no legacy output: {r}")))?;
                    payload.get(..n).unwrap_or_default()
                }
            };
            if args.print_payload {
                writeln!(out, "osdp_RAW {}", crate::hex_text::upper(payload))?;
            }
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

/// Step 12's result on standard error when it ran: a failure under policy `log` is this log
/// line only (the verdict stands).
fn log_originality(policy: OriginalityPolicy, check: OriginalityCheck) {
    let what = match check {
        OriginalityCheck::NotRun => return,
        OriginalityCheck::Verified(_) => "verified".to_owned(),
        OriginalityCheck::Missing(s) => format!("FAILED: no signature (status {s})"),
        OriginalityCheck::Wrong => "FAILED: the signature does not verify".to_owned(),
        OriginalityCheck::Unreadable => "FAILED: Read_Sig could not be read".to_owned(),
    };
    let policy = match policy {
        OriginalityPolicy::Off => "off",
        OriginalityPolicy::Log => "log",
        OriginalityPolicy::Require => "require",
    };
    eprintln!("desfire: originality signature {what} (policy {policy})");
}

/// Activates the image's card in process and reads it; the file is not written.
pub fn read_image(
    path: &Path,
    profile: &Profile,
    now: u32,
    framing: Variant,
) -> Result<Transaction, CliError> {
    let image = card_image::load(path)?;
    let mut card = EmulatedCard::from_image(image).map_err(|source| EmulateError::Card {
        path: path.to_owned(),
        source,
    })?;
    card.power_on();
    let ac = card.anticollision_uid().to_vec();
    Ok(gen_pacs::read_as(
        gen_pacs::ReadPolicy::Reader,
        framing,
        &mut ImageLink(&mut card),
        profile,
        profile.policy.allow_fixed_uid,
        &ac,
        now,
    ))
}

#[cfg(feature = "pcsc")]
fn read_reader(
    reader: &ReaderArgs,
    profile: &Profile,
    now: u32,
    framing: Variant,
) -> Result<Transaction, CliError> {
    super::card::session::with_card(reader, |card, _| {
        let ac = super::card::session::anticollision_uid(card)?;
        Ok(gen_pacs::read_as(
            gen_pacs::ReadPolicy::Reader,
            framing,
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
fn read_reader(_: &ReaderArgs, _: &Profile, _: u32, _: Variant) -> Result<Transaction, CliError> {
    Err(CliError::NoPcsc)
}
