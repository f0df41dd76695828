//! `desfire card write`: WriteData into a standard or backup data file (and CommitTransaction
//! after a backup file).

use std::path::PathBuf;

use super::{KEYS_AFTER_HELP, KeyArgs, ReaderArgs};

/// Arguments of `desfire card write` (described on [`super::CardCommand::Write`]).
#[derive(Debug, clap::Args)]
#[command(after_help = KEYS_AFTER_HELP)]
pub struct Args {
    /// Reader selection.
    #[command(flatten)]
    pub reader: ReaderArgs,
    /// The application's keys; authenticates when the write right is not free.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The key number to authenticate with (default: the file's write right).
    #[arg(long, value_name = "N")]
    pub auth_key: Option<String>,
    /// The application, 6 hex digits.
    #[arg(long, value_name = "AID")]
    pub app: String,
    /// The file number, 0 to 31.
    #[arg(long, value_name = "N")]
    pub file: String,
    /// Where to write.
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub offset: u32,
    /// The bytes, as hex.
    #[arg(
        long,
        value_name = "HEX",
        required_unless_present = "data_file",
        conflicts_with = "data_file"
    )]
    pub data: Option<String>,
    /// A file whose bytes are written as they are.
    #[arg(long, value_name = "FILE")]
    pub data_file: Option<PathBuf>,
    /// Comm mode (plain, mac, full); default: from the file's settings.
    #[arg(long, value_name = "MODE")]
    pub comm: Option<String>,
    /// Do not ask.
    #[arg(long)]
    pub yes: bool,
}

/// Bytes per WriteData: with header, padding and MAC well inside the driver's 512-byte body.
#[cfg(feature = "pcsc")]
const CHUNK: usize = 128;

/// Runs `desfire card write`.
#[cfg(feature = "pcsc")]
pub fn run(
    args: Args,
    out: &mut dyn std::io::Write,
) -> Result<crate::cli::Exit, crate::cli::CliError> {
    use crate::cli::{CliError, Exit};
    use desfire_core::pcd::commands::{self, WriteData};
    use desfire_core::wire::{FileType, U24};

    use super::session::{
        CardCommandError, Context, Use, confirm, load_keys, open_file, with_card,
    };
    use crate::args::{
        ArgError, parse_aid, parse_comm_mode, parse_file_no, parse_hex, parse_key_no,
    };

    let keys = load_keys(&args.keys)?;
    let aid = parse_aid("--app", &args.app)?;
    let file = parse_file_no("--file", &args.file)?;
    let auth_key = args
        .auth_key
        .as_deref()
        .map(|k| parse_key_no("--auth-key", k))
        .transpose()?;
    let comm = args
        .comm
        .as_deref()
        .map(|c| parse_comm_mode("--comm", c))
        .transpose()?;
    let data = match (&args.data, &args.data_file) {
        (Some(hex), _) => parse_hex("--data", hex)?,
        (None, Some(path)) => std::fs::read(path).map_err(|source| CliError::Read {
            path: path.display().to_string(),
            source,
        })?,
        (None, None) => Vec::new(),
    };
    if data.is_empty() {
        return Err(ArgError::Invalid {
            what: "--data".to_owned(),
            message: "nothing to write".to_owned(),
        }
        .into());
    }
    confirm(
        &format!(
            "Overwrite {} byte(s) at offset {} of file {} in application {aid}",
            data.len(),
            args.offset,
            file.value()
        ),
        args.yes,
    )?;
    let committed = with_card(&args.reader, |card, _| {
        let plan = open_file(card, aid, file, &keys, auth_key, comm, Use::Write)?;
        let mut rx = [0u8; 64];
        let mut at = args.offset;
        for chunk in data.chunks(CHUNK) {
            let offset = U24::new(at).ok_or_else(|| {
                CardCommandError::Arg(ArgError::Invalid {
                    what: "--offset".to_owned(),
                    message: "beyond 24 bits".to_owned(),
                })
            })?;
            let cmd = WriteData::new(file, offset, chunk, plan.comm_mode)
                .command()
                .map_err(|e| {
                    CardCommandError::Arg(ArgError::Invalid {
                        what: "--data".to_owned(),
                        message: e.to_string(),
                    })
                })?;
            card.execute(&cmd, &mut rx).ctx("WriteData")?;
            at = at.saturating_add(u32::try_from(chunk.len()).unwrap_or(u32::MAX));
        }
        let backup = plan.file_type == Some(FileType::BackupData);
        if backup {
            card.execute(&commands::commit_transaction(), &mut rx)
                .ctx("CommitTransaction")?;
        }
        Ok(backup)
    })?;
    writeln!(
        out,
        "wrote {} byte(s) to file {} of application {aid}{}",
        data.len(),
        file.value(),
        if committed { ", committed" } else { "" }
    )?;
    Ok(Exit::Success)
}
