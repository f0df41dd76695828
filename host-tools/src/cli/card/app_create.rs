//! `desfire card app create`: CreateApplication of an AES application.

use super::{KEYS_AFTER_HELP, KeyArgs, ReaderArgs};

/// Arguments of `desfire card app create` (described on [`super::AppCommand::Create`]).
#[derive(Debug, clap::Args)]
#[command(after_help = KEYS_AFTER_HELP)]
pub struct Args {
    /// Reader selection.
    #[command(flatten)]
    pub reader: ReaderArgs,
    /// The PICC master key (key 0), needed unless the PICC allows free create/delete.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The new application's AID, 6 hex digits (e.g. 0AC501).
    #[arg(long, value_name = "AID")]
    pub aid: String,
    /// Number of AES keys, 1 to 14 (all zero until changed).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub key_count: u8,
    /// KeySett1, the application master key settings, 2 hex digits (0F: everything allowed
    /// with the master key, keys changed with the master key).
    #[arg(long, value_name = "HEX", default_value = "0F")]
    pub settings: String,
    /// ISO file identifier, 4 hex digits (needs --df-name).
    #[arg(long, value_name = "HEX", requires = "df_name")]
    pub iso_fid: Option<String>,
    /// DF name, 1 to 16 bytes of hex (needs --iso-fid).
    #[arg(long, value_name = "HEX", requires = "iso_fid")]
    pub df_name: Option<String>,
}

/// Runs `desfire card app create`.
#[cfg(feature = "pcsc")]
pub fn run(
    args: Args,
    out: &mut dyn std::io::Write,
) -> Result<crate::cli::Exit, crate::cli::CliError> {
    use crate::cli::Exit;
    use desfire_core::pcd::commands::{CreateApplication, DfName, KeySettings};
    use desfire_core::wire::{Aid, KeyNo};

    use super::session::{Context, authenticate, load_keys, select, with_card};
    use crate::args::{ArgError, parse_aid, parse_hex};

    let keys = load_keys(&args.keys)?;
    let aid = parse_aid("--aid", &args.aid)?;
    let settings = match parse_hex("--settings", &args.settings)?.as_slice() {
        [b] => KeySettings::from_byte(*b),
        other => {
            return Err(ArgError::Length {
                what: "--settings".to_owned(),
                expected: "1 byte (2 hex digits)",
                got: other.len(),
            }
            .into());
        }
    };
    let df_name = args
        .df_name
        .as_deref()
        .map(|d| parse_hex("--df-name", d))
        .transpose()?;
    let iso_fid = args
        .iso_fid
        .as_deref()
        .map(|f| parse_u16_hex("--iso-fid", f))
        .transpose()?;
    let mut create = CreateApplication::new(aid, settings, args.key_count);
    if let (Some(fid), Some(name)) = (iso_fid, df_name.as_deref()) {
        let name = DfName::new(name).ok_or_else(|| ArgError::Length {
            what: "--df-name".to_owned(),
            expected: "1 to 16 bytes",
            got: name.len(),
        })?;
        create = create.with_iso(fid, name);
    }
    let cmd = create.command().map_err(|e| ArgError::Invalid {
        what: "card app create".to_owned(),
        message: e.to_string(),
    })?;
    let reader = with_card(&args.reader, |card, reader| {
        select(card, Aid::PICC)?;
        if !keys.is_empty() {
            authenticate(card, &keys, KeyNo::MASTER)?;
        }
        let mut rx = [0u8; 16];
        card.execute(&cmd, &mut rx).ctx("CreateApplication")?;
        Ok(reader.to_owned())
    })?;
    writeln!(out, "created application {aid} in {reader}")?;
    Ok(Exit::Success)
}

/// A 16-bit number as 4 hex digits, most significant first.
#[cfg(feature = "pcsc")]
pub(crate) fn parse_u16_hex(what: &str, text: &str) -> Result<u16, crate::args::ArgError> {
    let bytes = crate::args::parse_hex(what, text)?;
    match bytes.as_slice() {
        [a, b] => Ok(u16::from_be_bytes([*a, *b])),
        other => Err(crate::args::ArgError::Length {
            what: what.to_owned(),
            expected: "2 bytes (4 hex digits)",
            got: other.len(),
        }),
    }
}
