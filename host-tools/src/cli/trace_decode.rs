//! `desfire trace decode`: decodes a sniffed reader-card exchange.

use std::io::{Read, Write};
use std::path::PathBuf;

use super::{CliError, Exit};
use crate::args::{KeyLoadError, SecretArg, SessionSpec, load_keys};
use crate::trace::{DecodeConfig, decode};

const AFTER_HELP: &str = "\
Input: one frame per line. '> HEX' is a C-APDU from the reader (ISO-wrapped native command
'90 INS 00 00 [Lc data] [00]', or an ISO command with CLA 00), '< HEX' the card's R-APDU
(data || SW1 SW2). Whitespace inside HEX is allowed; blank lines and '#' comments are ignored.

Keys on the command line (--key, --session) are for LAB KEYS ONLY: other local users can read a
process's arguments and shells keep them in their history. Prefer --key-file.

Human output never shows session keys or ChangeKey key data; --json includes both (session keys
under \"sessions\", key data in \"plain\").

Exit status: 0 when decoding ran to the end, even if some exchanges could not be followed (those
carry an error in the output); 1 with --strict when any exchange or line could not be followed;
2 for bad arguments or an unreadable input.";

/// Arguments of `desfire trace decode` (described on [`super::TraceCommand::Decode`]).
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Trace file, or - for standard input.
    #[arg(value_name = "FILE|-")]
    pub file: String,
    /// A key to try in authentications: HEX (32 hex digits) for any key number, or N=HEX for key
    /// number N (decimal 0-13). Repeatable; every candidate is tried and the one under which
    /// RndA' verifies is used. Lab keys only.
    #[arg(long = "key", value_name = "[N=]HEX")]
    pub keys: Vec<SecretArg>,
    /// A file of keys, one [N=]HEX per line ('#' comments allowed).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Start in an already-authenticated state, for excerpts that begin after the
    /// authentication: key number, TI, SesAuthENCKey, SesAuthMACKey and the CmdCtr of the first
    /// command, all hex (e.g. 0:7A21085E:<32 hex>:<32 hex>:0). Lab keys only.
    #[arg(long, value_name = "KEYNO:TI:SESENC:SESMAC:CMDCTR")]
    pub session: Option<SecretArg>,
    /// Print one JSON object instead of text (includes session keys).
    #[arg(long)]
    pub json: bool,
    /// Exit with status 1 if any exchange or line could not be followed.
    #[arg(long)]
    pub strict: bool,
}

/// Reads, decodes and prints the trace.
pub fn run(args: Args, out: &mut dyn Write) -> Result<Exit, CliError> {
    let config = config(&args)?;
    let text = read_input(&args.file)?;
    let decoded = decode(&text, &config);
    if args.json {
        let mut json = decoded.to_json_pretty()?;
        json.push('\n');
        out.write_all(json.as_bytes())?;
    } else {
        decoded.write_human(out)?;
    }
    Ok(if args.strict && !decoded.fully_followed() {
        Exit::Fail
    } else {
        Exit::Success
    })
}

/// Keys and starting session from the arguments.
pub fn config(args: &Args) -> Result<DecodeConfig, CliError> {
    let keys = load_keys(&args.keys, args.key_file.as_deref()).map_err(|e| match e {
        KeyLoadError::Arg(e) => CliError::Arg(e),
        KeyLoadError::Read { path, source } => CliError::Read { path, source },
    })?;
    let start = args
        .session
        .as_ref()
        .map(|s| SessionSpec::parse("--session", s.expose()))
        .transpose()?;
    Ok(DecodeConfig { keys, start })
}

/// The trace text; bytes that are not UTF-8 become U+FFFD and fail as lines, not as a whole.
fn read_input(file: &str) -> Result<String, CliError> {
    let mut bytes = Vec::new();
    let result = if file == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(file).map(|b| bytes = b)
    };
    result.map_err(|source| CliError::Read {
        path: file.to_owned(),
        source,
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
