//! The command-line front end, one module per subcommand: `desfire keys diversify`,
//! `desfire trace decode`, `desfire emulate`, and `desfire card …` (PC/SC, cargo feature `pcsc`).

pub mod audit;
pub mod card;
pub mod demo;
pub mod emulate;
pub mod keys_diversify;
pub mod keys_hsm;
pub mod reader;
pub mod trace_decode;

use std::io::Write;

use clap::{Parser, Subcommand};

/// Exit status of a run; the process exits with [`Exit::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done (for `trace decode`: decoding ran to the end, whatever it found).
    Success,
    /// `trace decode --strict`: some exchange or line could not be followed; `reader`: DENY;
    /// `card verify`: a check failed; `card encode`: the card was refused; `audit`: a card
    /// failed.
    Fail,
    /// Bad arguments, unreadable input, or output failure.
    Usage,
    /// The reader or the card failed, or the card refused the command.
    Card,
    /// `audit`: no card failed, but some card's fault never reached the reader (decision 0006
    /// D5).
    Inconclusive,
}

impl Exit {
    /// The process exit status: 0, 1, 2, and 3 for both [`Exit::Card`] and
    /// [`Exit::Inconclusive`] (as the README and decision 0006 document them).
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Fail => 1,
            Exit::Usage => 2,
            Exit::Card | Exit::Inconclusive => 3,
        }
    }

    /// `desfire audit`'s exit for an audit's verdict: 0 every card PASS, 1 any FAIL, 3 no FAIL
    /// but something INCONCLUSIVE.
    pub fn of_audit(result: crate::audit::model::Outcome) -> Self {
        match result {
            crate::audit::model::Outcome::Pass => Exit::Success,
            crate::audit::model::Outcome::Fail => Exit::Fail,
            crate::audit::model::Outcome::Inconclusive => Exit::Inconclusive,
        }
    }
}

/// Errors that end a run with [`Exit::Usage`].
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A bad argument.
    #[error(transparent)]
    Arg(#[from] crate::args::ArgError),
    /// An input file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file (`-` for standard input).
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Standard output failed.
    #[error("cannot write the output: {0}")]
    Write(#[from] std::io::Error),
    /// The JSON could not be produced.
    #[error("cannot produce JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A GEN-PACS profile could not be used.
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
    /// A card image could not be read or written.
    #[error(transparent)]
    Image(#[from] crate::card_image::FileError),
    /// `desfire card encode` refused the card or failed.
    #[error(transparent)]
    Encode(#[from] crate::gen_pacs::EncodeError),
    /// The environment does not allow the command to run.
    #[error("{0}")]
    Environment(String),
    /// `desfire emulate` failed.
    #[error(transparent)]
    Emulate(#[from] emulate::EmulateError),
    /// A card command failed at the reader or the card.
    #[cfg(feature = "pcsc")]
    #[error(transparent)]
    Card(#[from] card::CardCommandError),
    /// `desfire card …` in a build without PC/SC.
    #[cfg(not(feature = "pcsc"))]
    #[error(
        "this desfire was built without PC/SC support; rebuild with `cargo build --features pcsc` \
         (needs libpcsclite-dev and pkg-config)"
    )]
    NoPcsc,
}

impl From<crate::args::KeyLoadError> for CliError {
    /// As the CLI reports a key file it could not load: a read failure or a usage error.
    fn from(e: crate::args::KeyLoadError) -> Self {
        match e {
            crate::args::KeyLoadError::Arg(e) => Self::Arg(e),
            crate::args::KeyLoadError::Read { path, source } => Self::Read { path, source },
        }
    }
}

impl CliError {
    /// The exit status this error ends the run with.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Emulate(emulate::EmulateError::Vpcd(_) | emulate::EmulateError::Pn532(_)) => {
                Exit::Card
            }
            Self::Encode(e) if e.is_refusal() => Exit::Fail,
            Self::Encode(_) => Exit::Card,
            #[cfg(feature = "pcsc")]
            Self::Card(e) if !e.is_usage() => Exit::Card,
            _ => Exit::Usage,
        }
    }
}

/// MIFARE DESFire EV3 toolkit.
#[derive(Debug, Parser)]
#[command(name = "desfire", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Key operations.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sniffed traces.
    #[command(subcommand)]
    Trace(TraceCommand),
    /// Run a card image as a virtual card behind pcscd's vpcd reader, or card images in the
    /// field of an emulated PN532 (`--pn532`), until interrupted.
    Emulate(emulate::Args),
    /// Talk to a card in a PC/SC reader (builds with `--features pcsc`), or encode and verify
    /// GEN-PACS cards and card images.
    #[command(subcommand)]
    Card(card::CardCommand),
    /// The GEN-PACS reference reader: read a card once, GRANT (exit 0, credential ID on
    /// standard output) or DENY (exit 1, reason on standard error).
    Reader(reader::Args),
    /// Audit a reader with the GEN-PACS test cards T0..T15 (spec section 17): one verdict per
    /// card against the conforming verdict.
    Audit(audit::Args),
    /// The reader audit without hardware: audits the reference reader and a UID-only reader
    /// with the lab test cards in memory and prints both verdict tables.
    Demo(demo::Args),
}

/// `desfire keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Diversify an AES-128 key (NXP AN10922) and print it as uppercase hex.
    ///
    /// M is given whole (--input) or built as UID || AID (LSB first, as sent on the wire) ||
    /// key number || system identifier (--uid, --aid, --key-no, --system-id).
    Diversify(keys_diversify::Args),
    /// Keys in a PKCS#11 token (a hardware security module): initialise the token, generate
    /// or import the keys a profile names by label, list them.
    #[command(subcommand)]
    Hsm(keys_hsm::HsmCommand),
}

/// `desfire trace …`
#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// Decode a sniffed reader-card exchange: commands, statuses, comm modes, MAC checks, clear
    /// data and EV2 sessions.
    ///
    /// Follows AuthenticateEV2First/NonFirst with the keys given and EV2 secure messaging after
    /// it. Not followed (reported as such): LRP, EV1 and legacy authentications. Frames must be
    /// ISO/IEC 7816-4 APDUs, without ISO/IEC 14443-4 block headers or CRCs.
    Decode(trace_decode::Args),
}

/// Runs a parsed command line, writing the result to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<Exit, CliError> {
    match cli.command {
        Command::Keys(KeysCommand::Diversify(args)) => keys_diversify::run(args, out),
        Command::Keys(KeysCommand::Hsm(cmd)) => keys_hsm::run(cmd, out),
        Command::Trace(TraceCommand::Decode(args)) => trace_decode::run(args, out),
        Command::Emulate(args) => emulate::run(args, out),
        Command::Card(cmd) => card::run(cmd, out),
        Command::Reader(args) => reader::run(args, out),
        Command::Audit(args) => audit::run(args, out),
        Command::Demo(args) => demo::run(args, out),
    }
}
