//! `desfire card change-key`: ChangeKey of an AES key of an application or the PICC master key.

use std::path::PathBuf;

use super::{KEYS_AFTER_HELP, KeyArgs, ReaderArgs};

/// Arguments of `desfire card change-key` (described on [`super::CardCommand::ChangeKey`]).
#[derive(Debug, clap::Args)]
#[command(after_help = KEYS_AFTER_HELP)]
pub struct Args {
    /// Reader selection.
    #[command(flatten)]
    pub reader: ReaderArgs,
    /// The current keys: the one to authenticate with (--auth-key) and, when another key is
    /// changed, that key's current value.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The key number to authenticate with (decimal 0-13; the one the key settings name).
    #[arg(long, value_name = "N", default_value = "0")]
    pub auth_key: String,
    /// The application, 6 hex digits; without it the PICC master key is changed.
    #[arg(long, value_name = "AID")]
    pub app: Option<String>,
    /// The key number to change (decimal 0-13; 0 at the PICC level).
    #[arg(long, value_name = "N", default_value = "0")]
    pub key_no: String,
    /// A file holding the new key as 32 hex digits. New keys are never taken from the command
    /// line.
    #[arg(long, value_name = "FILE")]
    pub new_key_file: PathBuf,
    /// The new key version.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub new_version: u8,
    /// Do not ask.
    #[arg(long)]
    pub yes: bool,
}

/// Runs `desfire card change-key`.
#[cfg(feature = "pcsc")]
pub fn run(
    args: Args,
    out: &mut dyn std::io::Write,
) -> Result<crate::cli::Exit, crate::cli::CliError> {
    use crate::cli::Exit;
    use desfire_core::pcd::commands::{ChangeKey, ChangeKeyTarget};
    use desfire_core::wire::{Aid, KeyNo};

    use super::session::{
        CardCommandError, Context, authenticate, confirm, key_for, load_keys, select, with_card,
    };
    use crate::args::{ArgError, parse_aes_key, parse_aid, parse_key_no};

    let keys = load_keys(&args.keys)?;
    let auth_key = parse_key_no("--auth-key", &args.auth_key)?;
    let key_no = parse_key_no("--key-no", &args.key_no)?;
    let aid = args
        .app
        .as_deref()
        .map(|a| parse_aid("--app", a))
        .transpose()?;
    let shown = args.new_key_file.display().to_string();
    let text =
        crate::args::read_secret_file(&args.new_key_file).map_err(crate::cli::CliError::from)?;
    let new_key = parse_aes_key(&shown, text.trim())?;
    let target = match aid {
        Some(_) => ChangeKeyTarget::Application(key_no),
        None if key_no == KeyNo::MASTER => ChangeKeyTarget::PiccMasterKey,
        None => {
            return Err(ArgError::Invalid {
                what: "--key-no".to_owned(),
                message: "only key 0 exists at the PICC level; give --app for application keys"
                    .to_owned(),
            }
            .into());
        }
    };
    let same_key = key_no == auth_key;
    // Changing another key proves knowledge of its current value (the card checks the CRC of
    // new XOR old); changing the authenticated key does not need it.
    let old_key = if same_key {
        None
    } else {
        Some(key_for(&keys, key_no).ok_or(CardCommandError::MissingKey(key_no.value()))?)
    };
    let place = aid.map_or_else(|| "the PICC".to_owned(), |a| format!("application {a}"));
    confirm(
        &format!("Change key {key_no} of {place}: a lost key cannot be recovered"),
        args.yes,
    )?;
    with_card(&args.reader, |card, _| {
        select(card, aid.unwrap_or(Aid::PICC))?;
        authenticate(card, &keys, auth_key)?;
        let change = ChangeKey {
            target,
            old_key: old_key.unwrap_or(&new_key),
            new_key: &new_key,
            new_version: args.new_version,
        };
        let mut rx = [0u8; 32];
        card.execute(&change.command(auth_key), &mut rx)
            .ctx("ChangeKey")?;
        Ok(())
    })?;
    writeln!(
        out,
        "changed key {key_no} of {place} (version {})",
        args.new_version
    )?;
    Ok(Exit::Success)
}
