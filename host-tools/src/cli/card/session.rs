//! What every card command does around its own APDUs: find the reader, wait for the card,
//! connect, hold a PC/SC transaction for the whole operation, authenticate, ask before
//! destroying anything, and name every failure.

use std::ffi::CString;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use desfire_core::crypto::AesKey;
use desfire_core::pcd::{self, Desfire, FrameSize, Transport, commands};
use desfire_core::wire::{self, Aid, KeyNo};

use super::{KeyArgs, ReaderArgs};
use crate::args::{ArgError, KeyLoadError, KeySpec};
use crate::pcsc_reader::{Pcsc, PcscError, PcscTransaction, Presence, Sharing};

/// The driver every card command runs on: one PC/SC transaction for the whole operation.
pub type Card<'c> = Desfire<PcscTransaction<'c>>;

/// A DESFire error over PC/SC.
pub type DesfireError = pcd::Error<PcscError>;

/// Why a `desfire card …` command failed, at the reader or at the card.
#[derive(Debug, thiserror::Error)]
pub enum CardCommandError {
    /// The reader side: no pcscd, no reader, no card, transmit failure.
    #[error(transparent)]
    Pcsc(#[from] PcscError),
    /// A DESFire command failed: the card refused it, or the protocol broke.
    #[error("{command}: {source}")]
    Desfire {
        /// Which command.
        command: &'static str,
        /// What happened.
        source: DesfireError,
    },
    /// The card answered something the parser refuses.
    #[error("{command}: malformed response: {source}")]
    Response {
        /// Which command.
        command: &'static str,
        /// What is wrong.
        source: wire::Error,
    },
    /// A pseudo-APDU or ISO command got an unexpected status word.
    #[error("{command}: status {sw:04X}")]
    Status {
        /// Which command.
        command: &'static str,
        /// SW1 SW2.
        sw: u16,
    },
    /// A key is needed and none was given for that key number.
    #[error("no key for key number {0}: give it in --key-file (or --key {0}=HEX for lab keys)")]
    MissingKey(u8),
    /// A bad argument (exit status 2).
    #[error(transparent)]
    Arg(#[from] ArgError),
    /// A key file could not be read (exit status 2).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The user did not confirm a destructive command (exit status 2).
    #[error("not confirmed: {0}")]
    NotConfirmed(String),
}

impl CardCommandError {
    /// Whether this is a usage error (exit status 2) rather than a reader or card failure.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::Arg(_) | Self::Read { .. } | Self::NotConfirmed(_) | Self::MissingKey(_)
        )
    }
}

/// Names the command that failed.
pub trait Context<T> {
    /// Adds the command name to the error.
    fn ctx(self, command: &'static str) -> Result<T, CardCommandError>;
}

impl<T> Context<T> for Result<T, DesfireError> {
    fn ctx(self, command: &'static str) -> Result<T, CardCommandError> {
        self.map_err(|source| match source {
            // A reader failure is the reader's, whichever command it interrupted.
            pcd::Error::Transport(e) => CardCommandError::Pcsc(e),
            source => CardCommandError::Desfire { command, source },
        })
    }
}

impl<T> Context<T> for Result<T, wire::Error> {
    fn ctx(self, command: &'static str) -> Result<T, CardCommandError> {
        self.map_err(|source| CardCommandError::Response { command, source })
    }
}

/// The keys from `--key` and `--key-file`.
pub fn load_keys(args: &KeyArgs) -> Result<Vec<KeySpec>, CardCommandError> {
    crate::args::load_keys(&args.keys, args.key_file.as_deref()).map_err(|e| match e {
        KeyLoadError::Arg(e) => CardCommandError::Arg(e),
        KeyLoadError::Read { path, source } => CardCommandError::Read { path, source },
    })
}

/// The key for `key_no`: one given for that number, else one given for any number.
pub fn key_for(keys: &[KeySpec], key_no: KeyNo) -> Option<&AesKey> {
    keys.iter()
        .find(|k| k.key_no == Some(key_no))
        .or_else(|| keys.iter().find(|k| k.key_no.is_none()))
        .map(|k| &k.key)
}

/// Asks on the terminal before a destructive command; `--yes` skips the question. Without a
/// terminal and without `--yes` the answer is no.
pub fn confirm(action: &str, yes: bool) -> Result<(), CardCommandError> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CardCommandError::NotConfirmed(format!(
            "{action}: standard input is not a terminal; pass --yes to confirm"
        )));
    }
    let mut stderr = std::io::stderr();
    // A prompt that cannot be shown is a prompt that was not answered.
    let _ = write!(stderr, "{action}. Type 'yes' to go on: ");
    let _ = stderr.flush();
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| CardCommandError::NotConfirmed(format!("{action}: {e}")))?;
    if line.trim() == "yes" {
        Ok(())
    } else {
        Err(CardCommandError::NotConfirmed(action.to_owned()))
    }
}

/// Finds the reader, waits for a card, connects with T=1 and runs `operation` inside one PC/SC
/// transaction. The card is reset on disconnect, which ends any authentication.
pub fn with_card<R>(
    reader: &ReaderArgs,
    operation: impl FnOnce(&mut Card<'_>, &str) -> Result<R, CardCommandError>,
) -> Result<R, CardCommandError> {
    let pcsc = Pcsc::establish()?;
    let timeout = Some(Duration::from_secs_f64(reader.wait.clamp(0.0, 86_400.0)));
    let name: CString = match &reader.reader {
        Some(wanted) => {
            let name = pcsc.reader_named(wanted)?;
            pcsc.wait_for(&name, Presence::Present, timeout)?;
            name
        }
        None => pcsc.first_reader_with_card(timeout)?,
    };
    let sharing = if reader.shared {
        Sharing::Shared
    } else {
        Sharing::Exclusive
    };
    let mut transport = pcsc.connect(&name, sharing)?;
    let shown = name.to_string_lossy().into_owned();
    let result = {
        let tx = transport.transaction()?;
        let mut card = Desfire::<_>::new(tx, FrameSize::SHORT_APDU);
        let result = operation(&mut card, &shown);
        let ended = card.into_transport().end();
        match (result, ended) {
            (Ok(r), Ok(())) => Ok(r),
            (Ok(_), Err(e)) => Err(e.into()),
            (Err(e), _) => Err(e),
        }
    };
    let disconnected = transport.disconnect();
    let r = result?;
    disconnected?;
    Ok(r)
}

/// AuthenticateEV2First with `key_no`, whose key must be among `keys`.
pub fn authenticate(
    card: &mut Card<'_>,
    keys: &[KeySpec],
    key_no: KeyNo,
) -> Result<(), CardCommandError> {
    let key = key_for(keys, key_no).ok_or(CardCommandError::MissingKey(key_no.value()))?;
    let mut rng = rand_core::UnwrapErr(rand_core::OsRng);
    card.authenticate_ev2_first(key_no, key, &mut rng)
        .ctx("AuthenticateEV2First")
}

/// SelectApplication (the PICC level for [`Aid::PICC`]); ends any session.
pub fn select(card: &mut Card<'_>, aid: Aid) -> Result<(), CardCommandError> {
    let mut rx = [0u8; 8];
    card.execute(&commands::select_application(aid), &mut rx)
        .ctx("SelectApplication")?;
    card.end_session();
    Ok(())
}

/// The anticollision UID through the PC/SC GET DATA pseudo-APDU `FF CA 00 00 00`, which the
/// reader answers, not the card.
pub fn anticollision_uid(card: &mut Card<'_>) -> Result<Vec<u8>, CardCommandError> {
    let mut rapdu = [0u8; 32];
    let n = card
        .transport_mut()
        .transceive(&[0xFF, 0xCA, 0x00, 0x00, 0x00], &mut rapdu)?;
    let r = rapdu.get(..n).unwrap_or_default();
    match r {
        [uid @ .., 0x90, 0x00] => Ok(uid.to_vec()),
        [.., sw1, sw2] => Err(CardCommandError::Status {
            command: "GET DATA (FF CA)",
            sw: u16::from_be_bytes([*sw1, *sw2]),
        }),
        _ => Err(CardCommandError::Response {
            command: "GET DATA (FF CA)",
            source: wire::Error::Truncated,
        }),
    }
}

/// Which access right an operation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Read (or read-write).
    Read,
    /// Write (or read-write).
    Write,
}

/// What a read or write needs to know about a file, from GetFileSettings when the card
/// shows them.
#[derive(Debug, Clone, Copy)]
pub struct FilePlan {
    /// The comm mode to use.
    pub comm_mode: wire::CommMode,
    /// The file type, when known.
    pub file_type: Option<wire::FileType>,
    /// Data file size, or record size, when known.
    pub size: Option<u32>,
}

/// Selects `aid`, reads the file's settings if the card shows them, authenticates when keys are
/// given and the right is not free, and picks the comm mode: `--comm`, else Plain when the right
/// is free (the card then talks Plain whatever the file's mode), else the file's mode.
pub fn open_file(
    card: &mut Card<'_>,
    aid: Aid,
    file: wire::FileNo,
    keys: &[KeySpec],
    auth_key: Option<KeyNo>,
    comm: Option<wire::CommMode>,
    how: Use,
) -> Result<FilePlan, CardCommandError> {
    use commands::{FileKind, FileSettings};
    use wire::{Access, CommMode};

    select(card, aid)?;
    let mut rx = [0u8; 128];
    let settings = card
        .execute(&commands::get_file_settings(file), &mut rx)
        .ok()
        .and_then(|r| FileSettings::parse(&r).ok())
        .map(|s| {
            let rights = s.access_rights;
            let (right, both) = match how {
                Use::Read => (rights.read, rights.read_write),
                Use::Write => (rights.write, rights.read_write),
            };
            let size = match s.kind {
                FileKind::Data { size } => Some(size.value()),
                FileKind::Record { record_size, .. } => Some(record_size.value()),
                _ => None,
            };
            (s.comm_mode(), s.file_type, right, both, size)
        });
    let free = settings
        .is_some_and(|(_, _, right, both, _)| right == Access::Free || both == Access::Free);
    let key = auth_key.or_else(|| {
        settings.and_then(|(_, _, right, both, _)| match (right, both) {
            (Access::Key(k), _) | (_, Access::Key(k)) => Some(k),
            _ => None,
        })
    });
    if !keys.is_empty() && !free {
        authenticate(card, keys, key.unwrap_or(KeyNo::MASTER))?;
    }
    let comm_mode = comm.unwrap_or(match settings {
        _ if free => CommMode::Plain,
        Some((mode, ..)) => mode,
        None => CommMode::Plain,
    });
    Ok(FilePlan {
        comm_mode,
        file_type: settings.map(|s| s.1),
        size: settings.and_then(|s| s.4),
    })
}
