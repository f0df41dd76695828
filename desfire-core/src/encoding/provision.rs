//! The personalisation of a GEN-PACS v1 card (spec §18) as a fixed sequence of typed steps,
//! [`PLAN`], which the caller executes one by one ([`Provisioning::execute`] runs a step with
//! [`Desfire`]). The plan itself does no I/O.
//!
//! # The order (spec §18) and why
//! 1. Authenticate with the PICC master key (factory), read the real UID with GetCardUID
//!    (it must be the UID the credential was signed for); every key is derived from it.
//! 2. CreateApplication (§4.2).
//! 3. In the application, with K0 at its factory value: CreateBackupDataFile 01 (§7). (The
//!    additional access right for K4 is not set: open point 9, the lab card has none.)
//! 4. ChangeKey K1, K2, K3, K4, K5 to their final values, version `01`.
//! 5. Authenticate with K3; WriteData file 01 in Full mode; CommitTransaction.
//! 6. Authenticate with K0 (factory); ChangeKey K0 last.
//! 7. At PICC level: SetConfiguration option 00 = `03` (Random ID on, FormatPICC disabled),
//!    ChangeKeySettings `0B` (§3; §18 does not list it, open point 20), then ChangeKey of the
//!    PICC master key.
//!
//! # No key nobody knows
//! Every key on the card is, at every point, either its factory value (all zeros, version
//! `00`) or its final value (derived from its master and the real UID, version `01`): each
//! ChangeKey is atomic on the card, and the key version says which value a slot holds. So an
//! interruption never leaves a key nobody knows, and every slot ends with a known, non-factory
//! value (decision 0004 D4: K4 and K5 included). In detail:
//! - The application and the file are created while K0 still has its factory value, and the
//!   file is written and committed (a backup file: all or nothing) before K0 changes, so the
//!   issuer can redo any of it with the factory K0.
//! - K0 changes after K1-K5: changing the authenticated key ends the session, and changing K0
//!   first would need a second authentication per key.
//! - The card-level steps come last: Random ID and disabled FormatPICC are permanent, and the
//!   PICC master key, changed last, keeps the card open to a full re-run until everything else
//!   is in place.
//!
//! # Resuming after an interruption
//! [`Provisioning::resume`] completes a card [`PLAN`] left half done: for each step it asks the
//! card whether the step is done (an authentication with the final, then the delivery value
//! of a key; SelectApplication; GetFileIDs; ReadData of the CCF; GetVersion; GetKeySettings)
//! and runs only the steps that are not, in the plan's order. Its documentation lists the
//! rule for each step. A key with neither value stops it before any write. It is exercised
//! with a power cut at every NVM write of a personalisation (`tests/tests/gen_pacs_tearing.rs`).

use super::keys::{AppKey, CardKey, KEY_VERSION, KeyProvider};
use super::{CCF_FILE_NO, CCF_FILE_SIZE, RealUid};
use crate::crypto::AesKey;
use crate::pcd::commands::{
    ChangeKey, ChangeKeyTarget, Configuration, CreateApplication, CreateDataFile, DfName,
    KeySettings, PiccConfiguration, ReadData, Uid, WriteData, change_key_settings,
    commit_transaction, get_card_uid, get_file_ids, get_key_settings, get_version,
    select_application, set_configuration,
};
use crate::pcd::{Desfire, Error, ProtocolError, Transport};
use crate::wire::Status;
use crate::wire::{Access, AccessRights, Aid, CommMode, KeyNo, U24};

/// KeySett1 of the application (spec §4.2): AMK changeable, settings changeable, no free
/// directory, no free create/delete, ChangeKey needs the AMK.
pub const APP_KEY_SETTINGS: u8 = 0x09;
/// Number of application keys (K0-K5); with AES and ISO identity KeySett2 is `A6`.
pub const APP_KEY_COUNT: u8 = 6;
/// PICC key settings after personalisation (spec §3).
pub const PICC_KEY_SETTINGS: u8 = 0x0B;
/// Credential file access rights (spec §7): R = K2, W = never, RW = K3, Change = K0; on the wire `30 2F`.
pub const CCF_ACCESS_RIGHTS: AccessRights = AccessRights {
    read: Access::from_nibble(0x2),
    write: Access::from_nibble(0xF),
    read_write: Access::from_nibble(0x3),
    change: Access::from_nibble(0x0),
};

/// ISO identity of the application and the credential file (spec §4.1, §7); a production
/// identity comes from the profile, the lab values are [`IsoIdentity::LAB`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsoIdentity<'a> {
    /// ISO FID of the application.
    pub app_fid: u16,
    /// DF name of the application.
    pub df_name: &'a [u8],
    /// ISO FID of the CCF.
    pub ccf_fid: u16,
}

impl IsoIdentity<'static> {
    /// The lab values of spec §4.1 and §7 (TEST): application FID `AC01`, file FID `AC11`, DF
    /// name `F0 ‖ "GEN-PACS01"` (`F047454E2D504143533031`, the unregistered proprietary
    /// category, open point 13).
    pub const LAB: Self = Self {
        app_fid: 0xAC01,
        df_name: b"\xF0GEN-PACS01",
        ccf_fid: 0xAC11,
    };
}

/// Which value a key has when a step authenticates with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyValue {
    /// The delivery value (all zeros).
    Delivery,
    /// The final (diversified) value.
    Final,
}

/// One step of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// SelectApplication `000000`.
    SelectPicc,
    /// AuthenticateEV2First with the PICC master key.
    AuthenticatePicc(KeyValue),
    /// GetCardUID: the real UID must be [`Provisioning::uid`] (spec §18 step 1).
    ReadCardUid,
    /// CreateApplication: AES, 6 keys, KeySett1 `09`, ISO FID and DF name.
    CreateApplication,
    /// SelectApplication of the GEN-PACS AID.
    SelectApplication,
    /// AuthenticateEV2First with an application key.
    AuthenticateApp(AppKey, KeyValue),
    /// CreateBackupDataFile CCF: 160 bytes, Full, rights `30 2F`.
    CreateCcfFile,
    /// ChangeKey of an application key from delivery to final, version `01`, authenticated
    /// with K0.
    ChangeAppKey(AppKey),
    /// WriteData of the whole CCF in Full mode (authenticated with K3).
    WriteCcf,
    /// CommitTransaction.
    CommitTransaction,
    /// SetConfiguration option 00 = `03`: Random ID on, FormatPICC disabled (permanent).
    EnableRandomId,
    /// ChangeKeySettings of the PICC to `0B`.
    SetPiccKeySettings,
    /// ChangeKey of the PICC master key to its final value (ends the session).
    ChangePiccMasterKey,
}

/// The plan, in the order of spec §18 (see the module documentation).
pub const PLAN: [Step; 23] = [
    // §18 step 1.
    Step::SelectPicc,
    Step::AuthenticatePicc(KeyValue::Delivery),
    Step::ReadCardUid,
    // Step 2.
    Step::CreateApplication,
    // Step 3.
    Step::SelectApplication,
    Step::AuthenticateApp(AppKey::Amk, KeyValue::Delivery),
    Step::CreateCcfFile,
    // Step 4.
    Step::ChangeAppKey(AppKey::Kuid),
    Step::ChangeAppKey(AppKey::Read),
    Step::ChangeAppKey(AppKey::Write),
    Step::ChangeAppKey(AppKey::DelegatedRead),
    Step::ChangeAppKey(AppKey::Reserved),
    // Step 5.
    Step::AuthenticateApp(AppKey::Write, KeyValue::Final),
    Step::WriteCcf,
    Step::CommitTransaction,
    // Step 6.
    Step::AuthenticateApp(AppKey::Amk, KeyValue::Delivery),
    Step::ChangeAppKey(AppKey::Amk),
    // Step 7.
    Step::SelectPicc,
    Step::AuthenticatePicc(KeyValue::Delivery),
    Step::EnableRandomId,
    Step::SetPiccKeySettings,
    Step::AuthenticatePicc(KeyValue::Delivery),
    Step::ChangePiccMasterKey,
];

/// How many steps of [`PLAN`] work inside the application (§18 steps 1-6); the rest is the
/// card level (step 7).
pub const APPLICATION_STEPS: usize = 17;

/// Why a step could not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionError<E> {
    /// The key provider has no such key.
    KeyUnavailable(CardKey),
    /// GetCardUID returned another UID than [`Provisioning::uid`].
    UidMismatch,
    /// [`Provisioning::resume`]: the key authenticates with neither its delivery value nor its
    /// final value for this UID (another issuer's card, or another profile's).
    ForeignKey(CardKey),
    /// The command failed.
    Card(Error<E>),
}

impl<E: core::fmt::Display> core::fmt::Display for ProvisionError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::KeyUnavailable(k) => write!(f, "the key provider has no {k:?}"),
            Self::UidMismatch => {
                f.write_str("GetCardUID returned another UID than the credential's")
            }
            Self::ForeignKey(k) => write!(
                f,
                "{k:?} authenticates with neither its delivery nor its final value"
            ),
            Self::Card(e) => write!(f, "{e}"),
        }
    }
}

impl<E: core::fmt::Debug + core::fmt::Display> core::error::Error for ProvisionError<E> {}

impl<E> From<Error<E>> for ProvisionError<E> {
    fn from(e: Error<E>) -> Self {
        Self::Card(e)
    }
}

/// Everything the plan needs for one card.
#[derive(Debug, Clone, Copy)]
pub struct Provisioning<'a> {
    /// The GEN-PACS application.
    pub aid: Aid,
    /// The card's real UID, checked with GetCardUID by [`Step::ReadCardUid`].
    pub uid: RealUid,
    /// ISO identity of application and file.
    pub iso: IsoIdentity<'a>,
    /// The credential file content (from [`super::Credential::encode_signed`] for this UID and
    /// AID).
    pub ccf: &'a [u8; CCF_FILE_SIZE],
}

impl Provisioning<'_> {
    fn key<K: KeyProvider + ?Sized, E>(
        &self,
        keys: &mut K,
        key: CardKey,
        value: KeyValue,
    ) -> Result<AesKey, ProvisionError<E>> {
        match value {
            KeyValue::Delivery => Ok(AesKey::zero()),
            KeyValue::Final => keys
                .card_key(key, &self.uid)
                .map_err(|_| ProvisionError::KeyUnavailable(key)),
        }
    }

    /// Runs `step` on the card behind `d`.
    pub fn execute<T: Transport, const N: usize, K, R>(
        &self,
        step: Step,
        d: &mut Desfire<T, N>,
        keys: &mut K,
        rng: &mut R,
    ) -> Result<(), ProvisionError<T::Error>>
    where
        K: KeyProvider + ?Sized,
        R: rand_core::CryptoRng + ?Sized,
    {
        let mut rx = [0u8; 64];
        let invalid = |_| ProvisionError::Card(Error::Protocol(ProtocolError::CommandTooLong));
        let session_key = |d: &Desfire<T, N>| d.session().map_or(KeyNo::MASTER, |s| s.key_no());
        match step {
            Step::SelectPicc => {
                d.execute(&select_application(Aid::PICC), &mut rx)?;
            }
            Step::SelectApplication => {
                d.execute(&select_application(self.aid), &mut rx)?;
            }
            Step::ReadCardUid => {
                let resp = d.execute(&get_card_uid(), &mut rx)?;
                let uid = Uid::parse(&resp).map_err(|e| ProvisionError::Card(Error::Wire(e)))?;
                if uid.as_bytes() != self.uid {
                    return Err(ProvisionError::UidMismatch);
                }
            }
            Step::AuthenticatePicc(v) => {
                let k = self.key(keys, CardKey::PiccMaster, v)?;
                d.authenticate_ev2_first(KeyNo::MASTER, &k, rng)?;
            }
            Step::AuthenticateApp(app, v) => {
                let k = self.key(keys, CardKey::App(app), v)?;
                d.authenticate_ev2_first(app.key_no(), &k, rng)?;
            }
            Step::CreateApplication => {
                let name = DfName::new(self.iso.df_name).ok_or(ProvisionError::Card(
                    Error::Protocol(ProtocolError::CommandTooLong),
                ))?;
                let app = CreateApplication::new(
                    self.aid,
                    KeySettings::from_byte(APP_KEY_SETTINGS),
                    APP_KEY_COUNT,
                )
                .with_iso(self.iso.app_fid, name);
                d.execute(&app.command().map_err(invalid)?, &mut rx)?;
            }
            Step::CreateCcfFile => {
                let file = CreateDataFile {
                    file: CCF_FILE_NO,
                    iso_file_id: Some(self.iso.ccf_fid),
                    comm_mode: CommMode::Full,
                    access_rights: CCF_ACCESS_RIGHTS,
                    size: U24::from_wire([CCF_FILE_SIZE as u8, 0, 0]),
                };
                d.execute(&file.backup().map_err(invalid)?, &mut rx)?;
            }
            Step::ChangeAppKey(app) => {
                let new = self.key(keys, CardKey::App(app), KeyValue::Final)?;
                let ck = ChangeKey {
                    target: ChangeKeyTarget::Application(app.key_no()),
                    old_key: &AesKey::zero(),
                    new_key: &new,
                    new_version: KEY_VERSION,
                };
                d.execute(&ck.command(session_key(d)), &mut rx)?;
            }
            Step::WriteCcf => {
                let w = WriteData::new(
                    CCF_FILE_NO,
                    U24::from_wire([0; 3]),
                    self.ccf,
                    CommMode::Full,
                );
                d.execute(&w.command().map_err(invalid)?, &mut rx)?;
            }
            Step::CommitTransaction => {
                d.execute(&commit_transaction(), &mut rx)?;
            }
            Step::EnableRandomId => {
                let c = Configuration::Picc(PiccConfiguration {
                    disable_format: true,
                    random_id: true,
                });
                d.execute(&set_configuration(&c).map_err(invalid)?, &mut rx)?;
            }
            Step::SetPiccKeySettings => {
                let cmd = change_key_settings(KeySettings::from_byte(PICC_KEY_SETTINGS));
                d.execute(&cmd, &mut rx)?;
            }
            Step::ChangePiccMasterKey => {
                let new = self.key(keys, CardKey::PiccMaster, KeyValue::Final)?;
                let ck = ChangeKey {
                    target: ChangeKeyTarget::PiccMasterKey,
                    old_key: &AesKey::zero(),
                    new_key: &new,
                    new_version: KEY_VERSION,
                };
                d.execute(&ck.command(session_key(d)), &mut rx)?;
            }
        }
        Ok(())
    }

    /// Which value `key` holds on the card: an authentication with its final value first, then
    /// with its delivery value. Neither is [`ProvisionError::ForeignKey`]. The application (or
    /// the PICC, for [`CardKey::PiccMaster`]) must be selected; a success leaves a session
    /// with that key (the failed attempt ends any earlier one).
    pub fn key_value<T: Transport, const N: usize, K, R>(
        &self,
        key: CardKey,
        d: &mut Desfire<T, N>,
        keys: &mut K,
        rng: &mut R,
    ) -> Result<KeyValue, ProvisionError<T::Error>>
    where
        K: KeyProvider + ?Sized,
        R: rand_core::CryptoRng + ?Sized,
    {
        let key_no = match key {
            CardKey::PiccMaster => KeyNo::MASTER,
            CardKey::App(app) => app.key_no(),
        };
        for value in [KeyValue::Final, KeyValue::Delivery] {
            let k = self.key(keys, key, value)?;
            match d.authenticate_ev2_first(key_no, &k, rng) {
                Ok(()) => return Ok(value),
                Err(Error::Card(Status::AUTHENTICATION_ERROR)) => {}
                Err(e) => return Err(ProvisionError::Card(e)),
            }
        }
        Err(ProvisionError::ForeignKey(key))
    }

    /// Completes a card that [`PLAN`] personalised only in part (a power cut, a card pulled
    /// from the field), and does nothing to a complete one. Returns how many steps it
    /// executed (0: the card was already complete).
    ///
    /// Every "is this step done?" below is decided by what the card shows to an
    /// authentication or a read, never by where an earlier run is assumed to have stopped:
    ///
    /// - **PICC master key**: [`Self::key_value`] (final, then delivery). The real UID is
    ///   checked with GetCardUID as in [`Step::ReadCardUid`].
    /// - **CreateApplication**: done iff SelectApplication does not answer `91A0`.
    /// - **Application keys K0-K5**: [`Self::key_value`] for each; a key with neither value is
    ///   [`ProvisionError::ForeignKey`] and nothing is written.
    /// - **CreateCcfFile**: done iff GetFileIDs (in a K0 session) lists file `01`.
    /// - **ChangeKey K1-K5**: done iff the key authenticates with its final value.
    /// - **WriteData + CommitTransaction**: done iff ReadData of the file in a K3 session
    ///   returns exactly this CCF (the signature is deterministic, RFC 6979, so the same
    ///   credential for the same UID gives the same bytes). A file that differs while K0 still
    ///   has its delivery value is (re)written: the plan writes the CCF before K0 changes, so
    ///   such a card was never delivered. A file that differs once K0 is final is left alone:
    ///   it was committed before K0 changed, and replacing a delivered credential is the job of
    ///   `--force`, not of a resume.
    /// - **ChangeKey K0**: done iff K0 authenticates with its final value.
    /// - **SetConfiguration (Random ID, FormatPICC disabled)**: done iff GetVersion shows a
    ///   zero UID (the card hides it with Random ID on). Both bits are set by the one atomic
    ///   SetConfiguration of [`Step::EnableRandomId`]; FormatPICC disabled cannot be observed
    ///   without formatting, so Random ID on stands for both.
    /// - **ChangeKeySettings**: done iff GetKeySettings at the PICC level answers `0B`.
    /// - **ChangeKey PICC master key**: done iff it authenticates with its final value.
    ///
    /// Each step is atomic on the card (decision 0003: the NVM journal), so after any
    /// interruption each of these observations is either "done" or "not done", and redoing the
    /// not-done ones in the order of [`PLAN`] uses the same keys [`PLAN`] would have used.
    pub fn resume<T: Transport, const N: usize, K, R>(
        &self,
        d: &mut Desfire<T, N>,
        keys: &mut K,
        rng: &mut R,
    ) -> Result<usize, (Step, ProvisionError<T::Error>)>
    where
        K: KeyProvider + ?Sized,
        R: rand_core::CryptoRng + ?Sized,
    {
        let mut ran = 0usize;
        let run = |s: Step, d: &mut Desfire<T, N>, keys: &mut K, rng: &mut R| {
            self.execute(s, d, keys, rng).map_err(|e| (s, e))
        };
        let mut rx = [0u8; 256];

        // PICC master key and the real UID.
        run(Step::SelectPicc, d, keys, rng)?;
        let picc = self
            .key_value(CardKey::PiccMaster, d, keys, rng)
            .map_err(|e| (Step::AuthenticatePicc(KeyValue::Final), e))?;
        run(Step::ReadCardUid, d, keys, rng)?;

        // CreateApplication (the PICC master key session is still open).
        match d.execute(&select_application(self.aid), &mut rx) {
            Ok(_) => {}
            Err(Error::Card(Status::APPLICATION_NOT_FOUND)) => {
                run(Step::CreateApplication, d, keys, rng)?;
                ran = ran.saturating_add(1);
            }
            Err(e) => return Err((Step::SelectApplication, ProvisionError::Card(e))),
        }
        run(Step::SelectApplication, d, keys, rng)?;

        // Which value each application key has.
        let mut app = [KeyValue::Delivery; APP_KEY_COUNT as usize];
        for (slot, key) in app.iter_mut().zip(AppKey::ALL) {
            *slot = self
                .key_value(CardKey::App(key), d, keys, rng)
                .map_err(|e| (Step::AuthenticateApp(key, KeyValue::Final), e))?;
        }
        let k0 = app[0];

        // CreateCcfFile, in a K0 session.
        run(Step::AuthenticateApp(AppKey::Amk, k0), d, keys, rng)?;
        let ids = d
            .execute(&get_file_ids(), &mut rx)
            .map_err(|e| (Step::CreateCcfFile, ProvisionError::Card(e)))?;
        if !ids.data().contains(&CCF_FILE_NO.value()) {
            run(Step::CreateCcfFile, d, keys, rng)?;
            ran = ran.saturating_add(1);
        }

        // ChangeKey K1-K5 still at their delivery values (the K0 session is still open:
        // changing another key does not end it).
        for (value, key) in app.iter().zip(AppKey::ALL).skip(1) {
            if *value == KeyValue::Delivery {
                run(Step::ChangeAppKey(key), d, keys, rng)?;
                ran = ran.saturating_add(1);
            }
        }

        // The CCF: read it back with K3.
        run(
            Step::AuthenticateApp(AppKey::Write, KeyValue::Final),
            d,
            keys,
            rng,
        )?;
        let read = ReadData::new(
            CCF_FILE_NO,
            U24::from_wire([0; 3]),
            U24::from_wire([CCF_FILE_SIZE as u8, 0, 0]),
            CommMode::Full,
        );
        let same = d
            .execute(&read.command(), &mut rx)
            .map_err(|e| (Step::WriteCcf, ProvisionError::Card(e)))
            .map(|resp| read.parse(&resp).is_ok_and(|f| f == &self.ccf[..]))?;
        if !same && k0 == KeyValue::Delivery {
            for s in [
                Step::AuthenticateApp(AppKey::Write, KeyValue::Final),
                Step::WriteCcf,
                Step::CommitTransaction,
            ] {
                run(s, d, keys, rng)?;
            }
            ran = ran.saturating_add(2);
        }

        // ChangeKey K0.
        if k0 == KeyValue::Delivery {
            run(
                Step::AuthenticateApp(AppKey::Amk, KeyValue::Delivery),
                d,
                keys,
                rng,
            )?;
            run(Step::ChangeAppKey(AppKey::Amk), d, keys, rng)?;
            ran = ran.saturating_add(1);
        }

        // The card level.
        run(Step::SelectPicc, d, keys, rng)?;
        run(Step::AuthenticatePicc(picc), d, keys, rng)?;
        let version = d
            .execute(&get_version(), &mut rx)
            .map_err(|e| (Step::EnableRandomId, ProvisionError::Card(e)))?;
        let random_id = version.data().get(14..21).is_some_and(|u| u == [0; 7]);
        if !random_id {
            run(Step::EnableRandomId, d, keys, rng)?;
            ran = ran.saturating_add(1);
        }
        let settings = d
            .execute(&get_key_settings(), &mut rx)
            .map_err(|e| (Step::SetPiccKeySettings, ProvisionError::Card(e)))?;
        if settings.data().first() != Some(&PICC_KEY_SETTINGS) {
            run(Step::SetPiccKeySettings, d, keys, rng)?;
            ran = ran.saturating_add(1);
        }
        if picc == KeyValue::Delivery {
            run(Step::AuthenticatePicc(KeyValue::Delivery), d, keys, rng)?;
            run(Step::ChangePiccMasterKey, d, keys, rng)?;
            ran = ran.saturating_add(1);
        }
        Ok(ran)
    }

    /// Runs the whole [`PLAN`]; stops at the first failure and says which step it was.
    pub fn execute_all<T: Transport, const N: usize, K, R>(
        &self,
        d: &mut Desfire<T, N>,
        keys: &mut K,
        rng: &mut R,
    ) -> Result<(), (Step, ProvisionError<T::Error>)>
    where
        K: KeyProvider + ?Sized,
        R: rand_core::CryptoRng + ?Sized,
    {
        PLAN.iter()
            .try_for_each(|s| self.execute(*s, d, keys, rng).map_err(|e| (*s, e)))
    }
}
