//! `desfire card …`: drive a card in a PC/SC reader by hand, one module per subcommand.
//!
//! The arguments are always part of the command line, so `desfire card --help` works in every
//! build; running a card command needs the cargo feature `pcsc` (libpcsclite).

pub mod app_create;
pub mod change_key;
pub mod encode;
pub mod file_create;
pub mod format;
pub mod info;
pub mod read;
pub mod verify;
pub mod write;

#[cfg(feature = "pcsc")]
pub(crate) mod session;

#[cfg(feature = "pcsc")]
pub use self::session::CardCommandError;

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use super::{CliError, Exit};
use crate::args::SecretArg;

/// Keys on the command line are for lab keys only.
pub(crate) const KEYS_AFTER_HELP: &str = "\
Keys: --key-file FILE (one [N=]HEX per line, '#' comments) is preferred. --key [N=]HEX is for
LAB KEYS ONLY: other local users can read a process's arguments and shells keep them in their
history. A key without N= is tried for any key number.

Exit status: 0 done, 2 bad arguments, 3 the reader or the card failed or refused.";

/// `desfire card …`
#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// What the card tells: GetVersion, the UID (and whether it is random), applications, files
    /// and their settings, free memory. More with keys: the real UID (GetCardUID) and what
    /// needs authentication.
    Info(info::Args),
    /// FormatPICC: delete every application and file (asks first unless --yes).
    Format(format::Args),
    /// Applications.
    #[command(subcommand)]
    App(AppCommand),
    /// Files.
    #[command(subcommand)]
    File(FileCommand),
    /// Write bytes into a standard or backup data file (asks first unless --yes).
    Write(write::Args),
    /// Read a data file's bytes, or a value file's value.
    Read(read::Args),
    /// ChangeKey: set a new AES key (asks first unless --yes).
    ChangeKey(change_key::Args),
    /// Personalise a blank card or card image with a GEN-PACS v1 credential.
    Encode(encode::Args),
    /// Check a card or card image against the GEN-PACS v1 spec, point by point.
    Verify(verify::Args),
}

/// `desfire card app …`
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// CreateApplication: a new AES application.
    Create(app_create::Args),
}

/// `desfire card file …`
#[derive(Debug, Subcommand)]
pub enum FileCommand {
    /// Create a standard, backup, value, linear or cyclic record file.
    Create(file_create::Args),
}

/// Which reader, and how to share it.
#[derive(Debug, Clone, clap::Args)]
pub struct ReaderArgs {
    /// The reader: its exact name, or a part of it that names only one reader. Default: the
    /// first reader with a card.
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,
    /// Seconds to wait for a card.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub wait: f64,
    /// Connect in shared mode (others may connect between our transactions) instead of
    /// exclusive.
    #[arg(long)]
    pub shared: bool,
}

/// The keys a command may authenticate with.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyArgs {
    /// A key, [N=]HEX (32 hex digits; N the key number, decimal 0-13). Repeatable. Lab keys
    /// only.
    #[arg(long = "key", value_name = "[N=]HEX")]
    pub keys: Vec<SecretArg>,
    /// A file of keys, one [N=]HEX per line.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

/// Runs a card command.
pub fn run(cmd: CardCommand, out: &mut dyn Write) -> Result<Exit, CliError> {
    // These run on card images too, without PC/SC.
    let cmd = match cmd {
        CardCommand::Encode(args) => return encode::run(args, out),
        CardCommand::Verify(args) => return verify::run(args, out),
        cmd => cmd,
    };
    #[cfg(feature = "pcsc")]
    {
        match cmd {
            CardCommand::Info(args) => info::run(args, out),
            CardCommand::Format(args) => format::run(args, out),
            CardCommand::App(AppCommand::Create(args)) => app_create::run(args, out),
            CardCommand::File(FileCommand::Create(args)) => file_create::run(args, out),
            CardCommand::Write(args) => write::run(args, out),
            CardCommand::Read(args) => read::run(args, out),
            CardCommand::ChangeKey(args) => change_key::run(args, out),
            CardCommand::Encode(args) => encode::run(args, out),
            CardCommand::Verify(args) => verify::run(args, out),
        }
    }
    #[cfg(not(feature = "pcsc"))]
    {
        let _ = (cmd, out);
        Err(CliError::NoPcsc)
    }
}
