//! The card side (PICC): a sans-IO MIFARE DESFire EV3 that answers the commands of
//! [`crate::pcd`] as the card would, with the card's status codes.
//!
//! [`Card::process`] takes one C-APDU and writes one R-APDU. Randomness (RndB, TI, random UIDs)
//! comes from an injected `rand_core::CryptoRng`; persistent state lives in an [`Nvm`] behind
//! a journal, so a power cut between any two NVM writes leaves the state before or after the
//! command, never a mix. What is modelled and what is assumed: `specs/decisions/0003-virtual-card.md`.
//!
//! One concept per file:
//! - [`state`]: the persistent model; [`image`]: its NVM byte image; [`nvm`]: the NVM trait,
//!   the journal and [`RamNvm`].
//! - `session`: EV2 authentication and secure messaging, card side (the card's halves of
//!   [`crate::crypto::ev2`]); `plan`: which comm mode and header each command uses, from the
//!   command table ([`crate::wire::CommandSpec`]); `access`: access rights; `tx`: pending transactions.
//! - `frames`: APDU parsing and additional-frame chaining in both directions; `params`: a
//!   checked cursor over command parameters.
//! - `cmd_*`: the command handlers, one file per family, as in [`crate::pcd::commands`].
//! - [`sig`]: the originality signature and its labelled test key.

mod access;
mod cmd_app;
mod cmd_data;
mod cmd_files;
mod cmd_keys;
mod cmd_picc;
mod frames;
pub mod image;
pub mod nvm;
mod params;
mod plan;
mod session;
pub mod sig;
pub mod state;
mod tx;

pub use self::frames::is_native;
pub use self::image::{IMAGE_LEN, ImageError};
pub use self::nvm::{NVM_LEN, Nvm, PowerCut, RamNvm};
pub use self::state::State;

use self::frames::Io;
use self::session::{Challenge, Session};
use self::tx::Tx;
use crate::wire::{Aid, CommMode, Ins, KeySettings, Status, Writer};

/// Static properties of a virtual card that are not part of its persistent state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardConfig {
    /// Largest response data per frame of the native command codes; longer responses are
    /// fetched with `AF`. The ISO-chaining codes (`AD`, `AB`) answer up to 256 bytes per frame.
    pub frame_size: usize,
    /// Batch number, production week and year of GetVersion.
    pub batch: [u8; 5],
    /// Production week (BCD).
    pub week: u8,
    /// Production year (BCD).
    pub year: u8,
}

impl Default for CardConfig {
    fn default() -> Self {
        Self {
            frame_size: 59,
            batch: [0xBA, 0x5E, 0x00, 0x00, 0x01],
            week: 0x10,
            year: 0x24,
        }
    }
}

/// What the reader sees at ISO/IEC 14443-3/-4 activation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// Anticollision UID: 7 bytes, or 4 random bytes `08 xx xx xx` with random ID on.
    pub uid: heapless::Vec<u8, 7>,
    /// Answer to select.
    pub ats: heapless::Vec<u8, { state::MAX_ATS }>,
}

/// The default ATS of a DESFire EV1/EV2/EV3 (FSCI 8: 256-byte frames; TA 77, TB 81, TC 02,
/// historical byte 80).
pub const DEFAULT_ATS: [u8; 6] = [0x06, 0x75, 0x77, 0x81, 0x02, 0x80];

/// Why a card could not be opened on its NVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError<E> {
    /// The NVM failed.
    Nvm(E),
    /// The journal is malformed.
    Journal,
    /// The image does not decode.
    Image(ImageError),
}

impl<E: core::fmt::Display> core::fmt::Display for OpenError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Nvm(e) => write!(f, "non-volatile memory failed: {e}"),
            Self::Journal => f.write_str("the journal is malformed"),
            Self::Image(e) => write!(f, "the card image does not decode: {e}"),
        }
    }
}

impl<E: core::fmt::Debug + core::fmt::Display> core::error::Error for OpenError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Image(e) => Some(e),
            Self::Nvm(_) | Self::Journal => None,
        }
    }
}

impl<E> From<nvm::StoreError<E>> for OpenError<E> {
    fn from(e: nvm::StoreError<E>) -> Self {
        match e {
            nvm::StoreError::Nvm(e) => Self::Nvm(e),
            nvm::StoreError::Journal => Self::Journal,
        }
    }
}

/// What does not survive a power cut or a deselect.
#[derive(Debug, Default)]
pub(crate) struct Volatile {
    /// Selected application, [`Aid::PICC`] for the PICC level.
    pub(crate) selected: Aid,
    pub(crate) session: Option<Session>,
    pub(crate) challenge: Option<Challenge>,
    pub(crate) tx: Tx,
    /// ReadSig answer, computed once per UID.
    pub(crate) signature: Option<[u8; 56]>,
}

impl Volatile {
    /// Ends the session, a handshake in progress and the pending transaction: what a
    /// selection, an authentication attempt and a deselect do.
    pub(crate) fn reset(&mut self) {
        self.session = None;
        self.challenge = None;
        self.tx.abort();
    }

    /// The key of the session, if authenticated.
    pub(crate) fn auth_key(&self) -> Option<u8> {
        self.session.as_ref().map(|s| s.key_no)
    }
}

/// State, volatile state and configuration: what command handlers work on.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) state: State,
    pub(crate) vol: Volatile,
    pub(crate) config: CardConfig,
}

/// How a command handler ended.
#[derive(Debug)]
pub(crate) struct Done {
    /// `OPERATION_OK` or `NO_CHANGES`.
    pub(crate) status: Status,
    /// The persistent state changed: commit it to NVM before answering.
    pub(crate) persist: bool,
    /// Answer a bare status and end the session: ChangeKey of the authenticated key (the
    /// table's `EndsSession::IfAuthenticatedKey`; `Always` needs no handler's word).
    pub(crate) ends_session: bool,
    /// End the session after this (MACed) answer.
    pub(crate) drop_session_after: bool,
    /// Explicit response frame boundaries (GetVersion, GetDFNames).
    pub(crate) frame_ends: heapless::Vec<u16, 32>,
}

impl Default for Done {
    fn default() -> Self {
        Self {
            status: Status::OPERATION_OK,
            persist: false,
            ends_session: false,
            drop_session_after: false,
            frame_ends: heapless::Vec::new(),
        }
    }
}

impl Done {
    pub(crate) fn ok() -> Result<Self, Status> {
        Ok(Self::default())
    }

    pub(crate) fn persisted() -> Result<Self, Status> {
        Ok(Self {
            persist: true,
            ..Self::default()
        })
    }
}

/// A virtual MIFARE DESFire EV3.
pub struct Card<N: Nvm, R> {
    core: Core,
    io: Io,
    nvm: N,
    rng: R,
    scratch: [u8; IMAGE_LEN],
}

impl<N: Nvm, R> core::fmt::Debug for Card<N, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Card")
            .field("uid", &self.core.state.uid)
            .field("selected", &self.core.vol.selected)
            .field("authenticated", &self.core.vol.session.is_some())
            .finish_non_exhaustive()
    }
}

impl<N: Nvm, R: rand_core::CryptoRng> Card<N, R> {
    /// Writes `state` as a new card onto `nvm` (erasing what was there) and powers it up.
    pub fn create(
        mut nvm: N,
        rng: R,
        config: CardConfig,
        state: State,
    ) -> Result<Self, OpenError<N::Error>> {
        let mut scratch = [0u8; IMAGE_LEN];
        image::encode(&state, &mut scratch).map_err(|_| OpenError::Image(ImageError::Field))?;
        nvm::recover(&mut nvm)?;
        nvm::commit(&mut nvm, &scratch)?;
        Self::open(nvm, rng, config)
    }

    /// Powers up the card stored on `nvm`: finishes an interrupted journal, then decodes.
    pub fn open(mut nvm: N, rng: R, config: CardConfig) -> Result<Self, OpenError<N::Error>> {
        nvm::recover(&mut nvm)?;
        let mut scratch = [0u8; IMAGE_LEN];
        nvm::load(&nvm, &mut scratch).map_err(OpenError::Nvm)?;
        let state = image::decode(&scratch).map_err(OpenError::Image)?;
        Ok(Self {
            core: Core {
                state,
                vol: Volatile::default(),
                config,
            },
            io: Io::new(),
            nvm,
            rng,
            scratch,
        })
    }

    /// ISO/IEC 14443 activation: a fresh PICC-level context, and the UID to show.
    pub fn activate(&mut self) -> Activation {
        self.deactivate();
        let s = &self.core.state;
        let uid = if s.config & state::CONFIG_RANDOM_ID != 0 {
            let mut r = [0u8; 3];
            self.rng.fill_bytes(&mut r);
            let [a, b, c] = r;
            heapless::Vec::from_slice(&[0x08, a, b, c]).unwrap_or_default()
        } else {
            heapless::Vec::from_slice(&s.uid).unwrap_or_default()
        };
        let ats = if s.ats.is_empty() {
            heapless::Vec::from_slice(&DEFAULT_ATS).unwrap_or_default()
        } else {
            s.ats.clone()
        };
        Activation { uid, ats }
    }

    /// Deselect or field off: ends the session, aborts a pending transaction, selects the PICC.
    pub fn deactivate(&mut self) {
        self.core.vol.reset();
        self.core.vol.selected = Aid::PICC;
        self.io.clear();
    }

    /// Processes one command frame and writes the answer into `rapdu`; returns its length (0
    /// only if `rapdu` cannot hold a status). Both framings a real DESFire takes: ISO/IEC
    /// 7816-4 (`90 INS 00 00 Lc data 00`, answered `data 91 status`; ISOSelectFile) and native
    /// (`INS data`, answered `status data`), as EV1-era readers and libraries send them.
    pub fn process(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        let framing = frames::Framing::of(capdu);
        let reply = match (framing, capdu.split_first()) {
            (frames::Framing::Native, Some((ins, data))) => self.native(Ins(*ins), data),
            _ => self.handle(capdu),
        };
        self.io.emit(reply, rapdu, framing)
    }

    /// The persistent state.
    pub fn state(&self) -> &State {
        &self.core.state
    }

    /// The NVM.
    pub fn nvm(&self) -> &N {
        &self.nvm
    }

    /// The NVM, e.g. to schedule a power cut.
    pub fn nvm_mut(&mut self) -> &mut N {
        &mut self.nvm
    }

    /// Power off: the NVM (and the RNG) back.
    pub fn into_parts(self) -> (N, R) {
        (self.nvm, self.rng)
    }

    /// Whether the image in NVM decodes to exactly the state the card works on (the fuzz
    /// target's invariant).
    pub fn image_matches(&mut self) -> bool {
        nvm::load(&self.nvm, &mut self.scratch).is_ok()
            && image::decode(&self.scratch).is_ok_and(|s| s == self.core.state)
    }

    fn handle(&mut self, capdu: &[u8]) -> frames::Reply {
        let apdu = match frames::parse(capdu) {
            Ok(a) => a,
            Err(sw) => return self.fail_iso(sw),
        };
        match apdu.cla {
            crate::wire::CLA_NATIVE if apdu.p1 != 0 || apdu.p2 != 0 => self.fail_iso(0x6A86),
            crate::wire::CLA_NATIVE => self.native(Ins(apdu.ins), apdu.data),
            0x00 if apdu.ins == Ins::ISO_SELECT_FILE.0 => {
                self.iso_select(apdu.p1, apdu.p2, apdu.data)
            }
            0x00 => self.fail_iso(0x6D00),
            _ => self.fail_iso(0x6E00),
        }
    }

    /// ISOSelectFile by DF name (`00 A4 04 0C`): selects an application, or the PICC level by
    /// its DF name. Ends the session and aborts a pending transaction.
    fn iso_select(&mut self, p1: u8, p2: u8, name: &[u8]) -> frames::Reply {
        self.io.clear();
        self.core.vol.reset();
        if p1 != 0x04 || (p2 != 0x0C && p2 != 0x00) {
            return self.fail_iso(0x6A86);
        }
        if name.is_empty() || name.len() > state::MAX_DF_NAME {
            return self.fail_iso(0x6700);
        }
        if name == cmd_app::PICC_DF_NAME {
            self.core.vol.selected = Aid::PICC;
            return frames::Reply::Iso(0x9000);
        }
        match self.core.state.apps.iter().find(|a| a.df_name == name) {
            Some(app) => {
                self.core.vol.selected = app.aid;
                frames::Reply::Iso(0x9000)
            }
            None => self.fail_iso(0x6A82),
        }
    }

    fn fail_iso(&mut self, sw: u16) -> frames::Reply {
        self.core.vol.session = None;
        self.core.vol.challenge = None;
        self.io.clear();
        frames::Reply::Iso(sw)
    }

    fn fail(&mut self, status: Status) -> frames::Reply {
        self.core.vol.session = None;
        self.core.vol.challenge = None;
        self.io.clear();
        frames::Reply::status(status)
    }

    fn native(&mut self, ins: Ins, data: &[u8]) -> frames::Reply {
        if ins == Ins::ADDITIONAL_FRAME {
            if self.io.has_output() && data.is_empty() {
                return self.io.next_chunk();
            }
            if let Some(cmd) = self.io.incoming() {
                if self.io.append(data).is_err() {
                    return self.fail(Status::LENGTH_ERROR);
                }
                return match self.io.input_complete() {
                    Ok(false) => frames::Reply::status(Status::ADDITIONAL_FRAME),
                    Ok(true) => self.run(cmd),
                    Err(s) => self.fail(s),
                };
            }
            if let Some(challenge) = self.core.vol.challenge.take() {
                self.io.clear();
                let mut w = Writer::new(self.io.out_mut());
                return match challenge.confirm(data, &mut self.rng, &mut w) {
                    Ok(session) => {
                        let n = w.len();
                        self.core.vol.session = Some(session);
                        self.io
                            .start_output(n, Status::OPERATION_OK, usize::MAX, &[])
                    }
                    Err(s) => self.fail(s),
                };
            }
            return self.fail(Status::ILLEGAL_COMMAND_CODE);
        }
        self.io.clear();
        self.core.vol.challenge = None;
        match ins {
            Ins::AUTHENTICATE_EV2_FIRST | Ins::AUTHENTICATE_EV2_NON_FIRST => {
                self.authenticate(ins == Ins::AUTHENTICATE_EV2_FIRST, data)
            }
            _ => {
                if self.io.begin(ins, data).is_err() {
                    return self.fail(Status::LENGTH_ERROR);
                }
                match self.expected_len(ins, data) {
                    Ok(Some(total)) if total > data.len() => {
                        if self.io.expect(ins, total).is_err() {
                            return self.fail(Status::LENGTH_ERROR);
                        }
                        frames::Reply::status(Status::ADDITIONAL_FRAME)
                    }
                    Ok(Some(total)) if total < data.len() => self.fail(Status::LENGTH_ERROR),
                    Ok(_) => self.run(ins),
                    Err(s) => self.fail(s),
                }
            }
        }
    }

    /// The body length a chained write announces in its header (`None`: not chained).
    fn expected_len(&self, ins: Ins, first: &[u8]) -> Result<Option<usize>, Status> {
        let Some(plan) = self.core.plan(ins, first)? else {
            return Ok(None);
        };
        let Some(data_len) = plan.data_len else {
            return Ok(None);
        };
        let mode = if self.core.vol.session.is_some() {
            plan.mode
        } else {
            CommMode::Plain
        };
        let body = match mode {
            CommMode::Plain => Some(data_len),
            CommMode::Mac => data_len.checked_add(8),
            CommMode::Full => crate::crypto::padded_len(data_len).and_then(|l| l.checked_add(8)),
        };
        body.and_then(|b| b.checked_add(plan.header_len))
            .map(Some)
            .ok_or(Status::LENGTH_ERROR)
    }

    fn authenticate(&mut self, first: bool, data: &[u8]) -> frames::Reply {
        let previous = self.core.vol.session.take();
        self.core.vol.reset();
        let mut p = params::Params::new(data);
        let parsed = (|| {
            let key_no = p.u8()?;
            let mut caps = [0u8; 6];
            if first {
                let len = usize::from(p.u8()?);
                if len > 6 {
                    return Err(Status::LENGTH_ERROR);
                }
                let given = p.take(len)?;
                caps.get_mut(..len)
                    .ok_or(Status::LENGTH_ERROR)?
                    .copy_from_slice(given);
            }
            p.clone().finish()?;
            Ok((key_no, caps))
        })();
        let (key_no, caps) = match parsed {
            Ok(v) => v,
            Err(s) => return self.fail(s),
        };
        let resume = match (first, previous) {
            (true, _) => None,
            (false, Some(s)) => Some((s.channel.ti, s.channel.cmd_ctr)),
            (false, None) => return self.fail(Status::AUTHENTICATION_ERROR),
        };
        let key = match self.core.key(key_no) {
            Some(k) => k.key.clone(),
            None => return self.fail(Status::NO_SUCH_KEY),
        };
        let mut w = Writer::new(self.io.out_mut());
        match Challenge::start(key_no, key, resume, caps, &mut self.rng, &mut w) {
            Ok(c) => {
                let n = w.len();
                self.core.vol.challenge = Some(c);
                self.io
                    .start_output(n, Status::ADDITIONAL_FRAME, usize::MAX, &[])
            }
            Err(s) => self.fail(s),
        }
    }

    /// Runs a complete command whose body sits in the input buffer.
    fn run(&mut self, ins: Ins) -> frames::Reply {
        let plan = match self.core.plan(ins, self.io.body()) {
            Ok(Some(p)) => p,
            Ok(None) => return self.fail(Status::ILLEGAL_COMMAND_CODE),
            Err(s) => return self.fail(s),
        };
        let mode = match &self.core.vol.session {
            Some(s) => {
                match s.open_command(ins.0, self.io.body_mut(), plan.mode, plan.header_len) {
                    Ok(len) => {
                        self.io.truncate_body(len);
                        plan.mode
                    }
                    Err(e) => return self.fail(e),
                }
            }
            None => CommMode::Plain,
        };
        let (body, out) = self.io.split();
        let mut w = Writer::new(out);
        let done = self.core.execute(ins, body, &mut w);
        let len = w.len();
        let done = match done {
            Ok(d) => d,
            Err(s) => return self.fail(s),
        };
        if done.persist
            && let Err(s) = self.persist()
        {
            return self.fail(s);
        }
        if done.ends_session || plan.ends_session {
            self.core.vol.session = None;
            return frames::Reply::status(done.status);
        }
        let sealed = match self.core.vol.session.as_mut() {
            Some(s) => match s.seal_response(done.status, self.io.out_mut(), len, mode) {
                Ok(n) => n,
                Err(e) => return self.fail(e),
            },
            None => len,
        };
        if done.drop_session_after {
            self.core.vol.session = None;
        }
        let frame = if plan.iso_frames {
            256
        } else {
            self.core.config.frame_size
        };
        self.io
            .start_output(sealed, done.status, frame, &done.frame_ends)
    }

    /// Commits the state to NVM. On failure the state is reloaded from what NVM holds.
    fn persist(&mut self) -> Result<(), Status> {
        let result = image::encode(&self.core.state, &mut self.scratch)
            .map_err(|_| Status::MEMORY_ERROR)
            .and_then(|()| {
                nvm::commit(&mut self.nvm, &self.scratch).map_err(|_| Status::MEMORY_ERROR)
            });
        if result.is_err() {
            let reloaded = nvm::load(&self.nvm, &mut self.scratch)
                .ok()
                .and_then(|()| image::decode(&self.scratch).ok());
            if let Some(s) = reloaded {
                self.core.state = s;
            }
            self.core.vol.signature = None;
        }
        result
    }
}

impl Core {
    /// The selected application's key `no`, or the PICC master key at PICC level.
    pub(crate) fn key(&self, no: u8) -> Option<&state::KeySlot> {
        if self.vol.selected == Aid::PICC {
            (no == 0).then_some(&self.state.picc_key)
        } else {
            self.state
                .app_index(self.vol.selected)
                .and_then(|i| self.state.apps.get(i))
                .and_then(|a| a.key(no))
        }
    }

    /// KeySett1 of the selected level.
    pub(crate) fn key_settings(&self) -> KeySettings {
        if self.vol.selected == Aid::PICC {
            self.state.picc_settings
        } else {
            self.state
                .app_index(self.vol.selected)
                .and_then(|i| self.state.apps.get(i))
                .map_or(KeySettings::from_byte(0), |a| a.settings)
        }
    }

    /// Authenticated with the master key (key 0) of the selected level.
    pub(crate) fn is_master(&self) -> bool {
        self.vol.auth_key() == Some(0)
    }

    /// Master key authentication, or a KeySett1 bit that frees the command.
    pub(crate) fn master_or(&self, free: bool) -> Result<(), Status> {
        if self.is_master() || free {
            Ok(())
        } else {
            Err(Status::AUTHENTICATION_ERROR)
        }
    }
}

/// The handler of each native command this card answers, in one list that gives both the
/// dispatch ([`Core::execute`]) and [`handles`]; the command table
/// ([`crate::wire::CommandSpec`]) gives everything else about the command. Each arm sees the
/// core, the command code, its parameters (header and plain data) and the response writer.
macro_rules! handlers {
    (($core:ident, $ins:ident, $p:ident, $out:ident) $($code:pat => $handler:expr,)*) => {
        impl Core {
            fn execute(
                &mut self,
                $ins: Ins,
                p: &[u8],
                $out: &mut Writer<'_>,
            ) -> Result<Done, Status> {
                let $core = self;
                let $p = params::Params::new(p);
                match $ins {
                    $($code => $handler,)*
                    _ => Err(Status::ILLEGAL_COMMAND_CODE),
                }
            }
        }

        /// Whether this card answers native command `ins` (anything else is
        /// `ILLEGAL_COMMAND_CODE`).
        pub(crate) fn handles(ins: Ins) -> bool {
            matches!(ins, $($code)|*)
        }
    };
}

handlers! {
    (c, ins, p, o)
    Ins::GET_VERSION => c.get_version(p, o),
    Ins::GET_CARD_UID => c.get_card_uid(p, o),
    Ins::GET_FREE_MEMORY => c.get_free_memory(p, o),
    Ins::FORMAT_PICC => c.format_picc(p),
    Ins::SET_CONFIGURATION => c.set_configuration(p),
    Ins::READ_SIG => c.read_sig(p, o),
    Ins::SELECT_APPLICATION => c.select_application(p),
    Ins::GET_APPLICATION_IDS => c.get_application_ids(p, o),
    Ins::GET_DF_NAMES => c.get_df_names(p, o),
    Ins::CREATE_APPLICATION => c.create_application(p),
    Ins::DELETE_APPLICATION => c.delete_application(p),
    Ins::GET_KEY_SETTINGS => c.get_key_settings(p, o),
    Ins::CHANGE_KEY_SETTINGS => c.change_key_settings(p),
    Ins::CHANGE_KEY => c.change_key(p),
    Ins::GET_KEY_VERSION => c.get_key_version(p, o),
    Ins::GET_FILE_IDS => c.get_file_ids(p, o),
    Ins::GET_ISO_FILE_IDS => c.get_iso_file_ids(p, o),
    Ins::GET_FILE_SETTINGS => c.get_file_settings(p, o),
    Ins::CHANGE_FILE_SETTINGS => c.change_file_settings(p),
    Ins::CREATE_STD_DATA_FILE
    | Ins::CREATE_BACKUP_DATA_FILE
    | Ins::CREATE_VALUE_FILE
    | Ins::CREATE_LINEAR_RECORD_FILE
    | Ins::CREATE_CYCLIC_RECORD_FILE => c.create_file(ins, p),
    Ins::DELETE_FILE => c.delete_file(p),
    Ins::READ_DATA | Ins::READ_DATA_ISO => c.read_data(p, o),
    Ins::WRITE_DATA | Ins::WRITE_DATA_ISO => c.write_data(p),
    Ins::GET_VALUE => c.get_value(p, o),
    Ins::CREDIT | Ins::DEBIT | Ins::LIMITED_CREDIT => c.value_operation(ins, p),
    Ins::READ_RECORDS | Ins::READ_RECORDS_ISO => c.read_records(p, o),
    Ins::WRITE_RECORD | Ins::WRITE_RECORD_ISO => c.write_record(p),
    Ins::UPDATE_RECORD | Ins::UPDATE_RECORD_ISO => c.update_record(p),
    Ins::CLEAR_RECORD_FILE => c.clear_record_file(p),
    Ins::COMMIT_TRANSACTION => c.commit_transaction(p),
    Ins::ABORT_TRANSACTION => c.abort_transaction(p),
}

/// Maps a writer overflow (a response beyond the card's buffer) to a status.
pub(crate) fn out_err(_: crate::wire::Error) -> Status {
    Status::LENGTH_ERROR
}
