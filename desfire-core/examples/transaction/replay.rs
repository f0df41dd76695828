//! The reader's side of one credential transaction, replayed against recorded card answers.
//!
//! Shared through `#[path]` by the `transaction` example (callgrind), the criterion bench
//! (`benches/transaction.rs`) and the thumbv7em size binary (`perf/thumb-transaction`), so all
//! three measure the same code. `no_std`, no heap, nothing here but `desfire-core` and
//! `rand_core`.
//!
//! The transaction: AuthenticateEV2First with key 1, GetCardUID (Full), AuthenticateEV2NonFirst
//! with key 2, ReadData of 160 bytes from file 1 (Full). Every response MAC is verified by the
//! engine; the replay transport also checks that each C-APDU is the one the card side expects
//! (so the command MACs and the handshake tokens are checked too), and the caller's last step
//! compares the plaintext, so the optimiser cannot drop any of the work.

use desfire_core::crypto::AesKey;
use desfire_core::pcd::{Command, CommandMode, Desfire, Error, FrameSize, Transport};
use desfire_core::wire::{Ins, KeyNo};

/// Exchanges of one transaction: AuthenticateEV2First (2), GetCardUID (1),
/// AuthenticateEV2NonFirst (2), ReadData (1, the whole answer in one R-APDU).
pub const EXCHANGES: usize = 6;
/// Bytes read from the credential file.
pub const READ_LEN: usize = 160;
/// A 7-byte NXP UID.
pub const UID_LEN: usize = 7;
/// ReadData header: file 1, offset 0, length 160 (both little-endian, 24 bit).
pub const READ_HEADER: [u8; 7] = [1, 0, 0, 0, READ_LEN as u8, 0, 0];

/// Everything the reader needs and everything the card answered, as recorded once.
#[derive(Debug, Clone, Copy)]
pub struct Recording<'a> {
    /// Application key 1 (AuthenticateEV2First).
    pub key1: [u8; 16],
    /// Application key 2 (AuthenticateEV2NonFirst).
    pub key2: [u8; 16],
    /// RndA of the first and of the second authentication, in the order the reader draws them.
    pub rnd_a: [[u8; 16]; 2],
    /// The C-APDUs the card expects, in order.
    pub capdus: [&'a [u8]; EXCHANGES],
    /// The card's R-APDUs, in order.
    pub rapdus: [&'a [u8]; EXCHANGES],
    /// The UID GetCardUID must return.
    pub uid: [u8; UID_LEN],
    /// The plaintext ReadData must return.
    pub data: [u8; READ_LEN],
}

/// The reader's keys, expanded from the recording once (a reader holds its keys across taps).
#[derive(Debug)]
pub struct ReaderKeys {
    key1: AesKey,
    key2: AesKey,
}

impl ReaderKeys {
    /// The two application keys of `rec`.
    pub fn new(rec: &Recording<'_>) -> Self {
        Self {
            key1: AesKey::new(rec.key1),
            key2: AesKey::new(rec.key2),
        }
    }
}

/// Why a replayed transaction failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The engine refused something (a MAC, RndA', a status, a frame).
    Engine(Error<ReplayError>),
    /// GetCardUID returned another UID.
    WrongUid,
    /// ReadData returned other data.
    WrongData,
}

impl From<Error<ReplayError>> for Failure {
    fn from(e: Error<ReplayError>) -> Self {
        Self::Engine(e)
    }
}

impl From<desfire_core::wire::Error> for Failure {
    fn from(e: desfire_core::wire::Error) -> Self {
        Self::Engine(e.into())
    }
}

/// What the replay transport can object to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayError {
    /// The reader sent more frames than were recorded.
    Exhausted,
    /// The reader sent a C-APDU other than the recorded one (the index of the exchange).
    UnexpectedCommand(usize),
    /// The reader's receive buffer is smaller than the recorded answer.
    BufferTooSmall,
}

/// A [`Transport`] that checks each C-APDU against the recording and answers with the next
/// recorded R-APDU (copied into the reader's buffer, as a real transport would).
#[derive(Debug)]
pub struct Replay<'r, 'a> {
    rec: &'r Recording<'a>,
    next: usize,
}

impl<'r, 'a> Replay<'r, 'a> {
    /// Replays `rec` from its first exchange.
    pub fn new(rec: &'r Recording<'a>) -> Self {
        Self { rec, next: 0 }
    }
}

impl Transport for Replay<'_, '_> {
    type Error = ReplayError;

    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, ReplayError> {
        let i = self.next;
        let (Some(expected), Some(answer)) = (self.rec.capdus.get(i), self.rec.rapdus.get(i))
        else {
            return Err(ReplayError::Exhausted);
        };
        if capdu != *expected {
            return Err(ReplayError::UnexpectedCommand(i));
        }
        rapdu
            .get_mut(..answer.len())
            .ok_or(ReplayError::BufferTooSmall)?
            .copy_from_slice(answer);
        self.next = i.wrapping_add(1);
        Ok(answer.len())
    }
}

/// A "random" source that yields the recorded RndA values, one after the other.
#[derive(Debug)]
pub struct FixedRng<'r> {
    bytes: &'r [[u8; 16]; 2],
    pos: usize,
}

impl<'r> FixedRng<'r> {
    /// Yields `rnd_a[0]`, then `rnd_a[1]`, then starts over.
    pub fn new(rnd_a: &'r [[u8; 16]; 2]) -> Self {
        Self {
            bytes: rnd_a,
            pos: 0,
        }
    }
}

impl rand_core::RngCore for FixedRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        let all = self.bytes.as_flattened();
        for d in dst {
            *d = all.get(self.pos).copied().unwrap_or(0);
            self.pos = (self.pos + 1) % all.len();
        }
    }
}

/// Not random at all: a benchmark fixture. Never use outside a replay.
impl rand_core::CryptoRng for FixedRng<'_> {}

/// Runs the whole transaction once and checks UID and data. The unit the benchmark, callgrind
/// (`--toggle-collect=*run_transaction*`) and the size binary measure; it includes setting up
/// the driver (a reader does that once per card).
#[inline(never)]
pub fn run_transaction(rec: &Recording<'_>, keys: &ReaderKeys) -> Result<(), Failure> {
    let mut card: Desfire<Replay<'_, '_>> = Desfire::new(Replay::new(rec), FrameSize::SHORT_APDU);
    let mut rng = FixedRng::new(&rec.rnd_a);
    let mut rx = [0u8; 256];

    card.authenticate_ev2_first(key_no(1), &keys.key1, &mut rng)?;

    let get_uid = Command::new(Ins::GET_CARD_UID, &[], CommandMode::Full)?.requiring_session();
    if card.execute(&get_uid, &mut rx)?.data() != rec.uid {
        return Err(Failure::WrongUid);
    }

    card.authenticate_ev2_non_first(key_no(2), &keys.key2, &mut rng)?;

    let read = Command::new(Ins::READ_DATA, &READ_HEADER, CommandMode::Full)?.requiring_session();
    if card.execute(&read, &mut rx)?.data() != rec.data {
        return Err(Failure::WrongData);
    }
    Ok(())
}

fn key_no(n: u8) -> KeyNo {
    KeyNo::new(n).unwrap_or(KeyNo::MASTER)
}
