//! `desfire card format`: FormatPICC, which deletes every application and file.

use super::{KEYS_AFTER_HELP, KeyArgs, ReaderArgs};

/// Arguments of `desfire card format` (described on [`super::CardCommand::Format`]).
#[derive(Debug, clap::Args)]
#[command(after_help = KEYS_AFTER_HELP)]
pub struct Args {
    /// Reader selection.
    #[command(flatten)]
    pub reader: ReaderArgs,
    /// The PICC master key (key 0). Without it the card formats only if its PICC key settings
    /// allow free create/delete.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Do not ask.
    #[arg(long)]
    pub yes: bool,
}

/// Runs `desfire card format`.
#[cfg(feature = "pcsc")]
pub fn run(
    args: Args,
    out: &mut dyn std::io::Write,
) -> Result<crate::cli::Exit, crate::cli::CliError> {
    use crate::cli::Exit;
    use desfire_core::pcd::commands;
    use desfire_core::wire::{Aid, KeyNo};

    use super::session::{Context, authenticate, confirm, load_keys, select, with_card};

    let keys = load_keys(&args.keys)?;
    confirm(
        "Format the card: every application and file on it will be deleted",
        args.yes,
    )?;
    let reader = with_card(&args.reader, |card, reader| {
        select(card, Aid::PICC)?;
        if !keys.is_empty() {
            authenticate(card, &keys, KeyNo::MASTER)?;
        }
        let mut rx = [0u8; 16];
        card.execute(&commands::format_picc(), &mut rx)
            .ctx("FormatPICC")?;
        Ok(reader.to_owned())
    })?;
    writeln!(out, "formatted the card in {reader}")?;
    Ok(Exit::Success)
}
