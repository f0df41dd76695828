//! A PC/SC reader as a [`desfire_core::pcd::Transport`] (cargo feature `pcsc`).
//!
//! As in yubikey.rs and pcsc-rust's examples: establish a context, pick a reader by name or take
//! the first one with a card, wait for the card with `SCardGetStatusChange` (never a sleep),
//! connect with T=1, and run every multi-APDU operation inside a PC/SC transaction so that no
//! other program slips an APDU between ours (which would, on a DESFire card, end our
//! authentication or change the selected application under us).

use std::ffi::{CStr, CString};
use std::time::{Duration, Instant};

use desfire_core::pcd::Transport;
use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};

/// What went wrong between us and the card, below the DESFire protocol.
#[derive(Debug, thiserror::Error)]
pub enum PcscError {
    /// No PC/SC service: pcscd is not running (or its socket is not reachable).
    #[error("cannot reach the PC/SC service (is pcscd running?): {0}")]
    NoService(pcsc::Error),
    /// The PC/SC service knows no reader.
    #[error("no PC/SC reader is connected")]
    NoReaders,
    /// No reader has the name asked for.
    #[error("no reader named {wanted:?}; readers: {}", .available.join(", "))]
    ReaderNotFound {
        /// The name given.
        wanted: String,
        /// The readers there are.
        available: Vec<String>,
    },
    /// The name matches more than one reader.
    #[error("{wanted:?} matches several readers: {}", .matches.join(", "))]
    AmbiguousReader {
        /// The name given.
        wanted: String,
        /// The readers it matches.
        matches: Vec<String>,
    },
    /// No card arrived (or left) in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    /// The reader went away while we waited.
    #[error("reader {0:?} disappeared")]
    ReaderGone(String),
    /// Connecting to the card failed.
    #[error("cannot connect to the card in {reader:?}: {source}")]
    Connect {
        /// The reader.
        reader: String,
        /// Why.
        source: pcsc::Error,
    },
    /// Beginning or ending a transaction failed.
    #[error("PC/SC transaction failed: {0}")]
    Transaction(pcsc::Error),
    /// SCardTransmit failed (card removed, reset by another program, buffer too small…).
    #[error("transmit failed: {0}")]
    Transmit(pcsc::Error),
    /// Any other PC/SC call failed.
    #[error("PC/SC call failed: {0}")]
    Other(pcsc::Error),
}

impl PcscError {
    fn from_context(e: pcsc::Error) -> Self {
        match e {
            pcsc::Error::NoService | pcsc::Error::ServiceStopped | pcsc::Error::NoDir => {
                Self::NoService(e)
            }
            pcsc::Error::NoReadersAvailable => Self::NoReaders,
            e => Self::Other(e),
        }
    }
}

/// How to share the card with other PC/SC programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sharing {
    /// Nobody else may connect while we are connected (the default for this tool: a DESFire
    /// session is easily broken by a stray SELECT).
    #[default]
    Exclusive,
    /// Others may connect; our transactions still keep them out during an operation.
    Shared,
}

impl Sharing {
    fn mode(self) -> ShareMode {
        match self {
            Self::Exclusive => ShareMode::Exclusive,
            Self::Shared => ShareMode::Shared,
        }
    }
}

/// Whether a reader holds a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// A card is in the field and answered (not mute).
    Present,
    /// No card.
    Empty,
}

impl Presence {
    fn matches(self, state: State) -> bool {
        match self {
            Self::Present => state.contains(State::PRESENT) && !state.contains(State::MUTE),
            Self::Empty => state.contains(State::EMPTY),
        }
    }
}

impl core::fmt::Display for Presence {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Present => "a card",
            Self::Empty => "the card to leave",
        })
    }
}

/// A PC/SC context: the connection to pcscd.
pub struct Pcsc {
    ctx: Context,
}

impl core::fmt::Debug for Pcsc {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pcsc").finish_non_exhaustive()
    }
}

impl Pcsc {
    /// Connects to the PC/SC service (system scope).
    pub fn establish() -> Result<Self, PcscError> {
        let ctx = Context::establish(Scope::System).map_err(PcscError::from_context)?;
        Ok(Self { ctx })
    }

    /// The reader names.
    pub fn readers(&self) -> Result<Vec<CString>, PcscError> {
        match self.ctx.list_readers_owned() {
            Ok(r) if r.is_empty() => Err(PcscError::NoReaders),
            Ok(r) => Ok(r),
            Err(e) => Err(PcscError::from_context(e)),
        }
    }

    /// The reader called `wanted`: its exact name, or else the only reader whose name contains
    /// it.
    pub fn reader_named(&self, wanted: &str) -> Result<CString, PcscError> {
        let readers = self.readers()?;
        if let Some(exact) = readers.iter().find(|r| r.to_string_lossy() == wanted) {
            return Ok(exact.clone());
        }
        let matches: Vec<&CString> = readers
            .iter()
            .filter(|r| r.to_string_lossy().contains(wanted))
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(PcscError::ReaderNotFound {
                wanted: wanted.to_owned(),
                available: readers.iter().map(|r| lossy(r)).collect(),
            }),
            many => Err(PcscError::AmbiguousReader {
                wanted: wanted.to_owned(),
                matches: many.iter().map(|r| lossy(r)).collect(),
            }),
        }
    }

    /// Waits until `reader` reaches `want`, at most `timeout` (`None`: for ever), and returns
    /// how long that took. Returns at once when it already has.
    pub fn wait_for(
        &self,
        reader: &CStr,
        want: Presence,
        timeout: Option<Duration>,
    ) -> Result<Duration, PcscError> {
        let started = Instant::now();
        let mut states = [ReaderState::new(reader.to_owned(), State::UNAWARE)];
        loop {
            self.status_change(&mut states, started, timeout, || {
                format!("{want} in {}", lossy(reader))
            })?;
            let [state] = &mut states;
            let event = state.event_state();
            if event.intersects(State::UNKNOWN | State::IGNORE) {
                return Err(PcscError::ReaderGone(lossy(reader)));
            }
            if want.matches(event) {
                return Ok(started.elapsed());
            }
            state.sync_current_state();
        }
    }

    /// The first reader (in pcscd's order) that holds a card, waiting at most `timeout` for one.
    pub fn first_reader_with_card(&self, timeout: Option<Duration>) -> Result<CString, PcscError> {
        let started = Instant::now();
        let mut states: Vec<ReaderState> = self
            .readers()?
            .into_iter()
            .map(|r| ReaderState::new(r, State::UNAWARE))
            .collect();
        loop {
            self.status_change(&mut states, started, timeout, || {
                "a card in any reader".to_owned()
            })?;
            if let Some(s) = states
                .iter()
                .find(|s| Presence::Present.matches(s.event_state()))
            {
                return Ok(s.name().to_owned());
            }
            states.iter_mut().for_each(ReaderState::sync_current_state);
        }
    }

    fn status_change(
        &self,
        states: &mut [ReaderState],
        started: Instant,
        timeout: Option<Duration>,
        what: impl Fn() -> String,
    ) -> Result<(), PcscError> {
        let remaining = timeout.map(|t| t.saturating_sub(started.elapsed()));
        match self.ctx.get_status_change(remaining, states) {
            Ok(()) => Ok(()),
            Err(pcsc::Error::Timeout) => {
                Err(PcscError::Timeout(timeout.unwrap_or_default(), what()))
            }
            Err(e) => Err(PcscError::from_context(e)),
        }
    }

    /// Ends a [`Self::wait_for`] blocked in another thread at once (it returns an error): a
    /// wait for a card that will not come, because the card's side already gave up.
    pub fn cancel(&self) -> Result<(), PcscError> {
        self.ctx.cancel().map_err(PcscError::from_context)
    }

    /// Connects to the card in `reader` with T=1.
    pub fn connect(&self, reader: &CStr, sharing: Sharing) -> Result<PcscTransport, PcscError> {
        let card = self
            .ctx
            .connect(reader, sharing.mode(), Protocols::T1)
            .map_err(|source| PcscError::Connect {
                reader: lossy(reader),
                source,
            })?;
        Ok(PcscTransport {
            card,
            reader: lossy(reader),
        })
    }
}

fn lossy(name: &CStr) -> String {
    name.to_string_lossy().into_owned()
}

/// A connected card. Implements [`Transport`] APDU by APDU; wrap multi-APDU operations in
/// [`PcscTransport::transaction`].
pub struct PcscTransport {
    card: pcsc::Card,
    reader: String,
}

impl core::fmt::Debug for PcscTransport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PcscTransport")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

impl PcscTransport {
    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The card's ATR.
    pub fn atr(&self) -> Result<Vec<u8>, PcscError> {
        self.card
            .status2_owned()
            .map(|s| s.atr().to_vec())
            .map_err(PcscError::Other)
    }

    /// Begins a PC/SC transaction: until it is dropped (or [`PcscTransaction::end`]ed), no
    /// other program's APDU reaches the card.
    pub fn transaction(&mut self) -> Result<PcscTransaction<'_>, PcscError> {
        self.card
            .transaction()
            .map(PcscTransaction)
            .map_err(PcscError::Transaction)
    }

    /// Disconnects and resets the card, which ends any DESFire authentication on it.
    pub fn disconnect(self) -> Result<(), PcscError> {
        self.card
            .disconnect(Disposition::ResetCard)
            .map_err(|(_, e)| PcscError::Other(e))
    }
}

impl Transport for PcscTransport {
    type Error = PcscError;

    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, PcscError> {
        transmit(&self.card, capdu, rapdu)
    }
}

/// A PC/SC transaction on a connected card; a [`Transport`] like the card itself.
pub struct PcscTransaction<'c>(pcsc::Transaction<'c>);

impl core::fmt::Debug for PcscTransaction<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PcscTransaction").finish_non_exhaustive()
    }
}

impl PcscTransaction<'_> {
    /// Ends the transaction, leaving the card as it is (dropping it does the same, silently).
    pub fn end(self) -> Result<(), PcscError> {
        self.0
            .end(Disposition::LeaveCard)
            .map_err(|(_, e)| PcscError::Transaction(e))
    }
}

impl Transport for PcscTransaction<'_> {
    type Error = PcscError;

    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, PcscError> {
        transmit(&self.0, capdu, rapdu)
    }
}

fn transmit(card: &pcsc::Card, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, PcscError> {
    card.transmit(capdu, rapdu)
        .map(<[u8]>::len)
        .map_err(PcscError::Transmit)
}
