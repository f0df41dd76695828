//! The provisioning plan of a GEN-PACS v1 card (draft §6.2-§6.6) as a fixed sequence of typed
//! steps, [`PLAN`], which the caller executes one by one ([`Provisioning::execute`] runs a step
//! with [`Desfire`]). The plan itself does no I/O.
//!
//! # Why this order
//! Every key on the card is, at every point, either its delivery value (all zeros) or its
//! final value, which is derived from the masters and the real UID: an interruption never
//! leaves a key nobody knows, and a re-run can find its place by trying the final key first,
//! then the delivery key (a duplicate application `91DE` means step 3 is done).
//! - The application and the CCF file are created while K0 still has its delivery value, and
//!   the file is written and committed (a backup file: all or nothing) before K0 changes, so
//!   the issuer can redo any of it with the delivery K0.
//! - K0 changes after K1-K4: changing the authenticated key ends the session, and changing K0
//!   first would need a second authentication per key.
//! - The card-level steps come last: Random ID and disabled FormatPICC are permanent, and the
//!   PICC master key, changed last, keeps the card open to a full re-run until everything else
//!   is in place.
//! - K5 (reserved) is left at its delivery value: it has no file rights in v1.

use super::keys::{AppKey, CardKey, KeyProvider};
use super::{CCF_FILE_NO, CCF_FILE_SIZE, RealUid};
use crate::crypto::AesKey;
use crate::pcd::commands::{
    ChangeKey, ChangeKeyTarget, Configuration, CreateApplication, CreateDataFile, DfName,
    KeySettings, PiccConfiguration, WriteData, change_key_settings, commit_transaction,
    select_application, set_configuration,
};
use crate::pcd::{Desfire, Error, ProtocolError, Transport};
use crate::wire::{Access, AccessRights, Aid, CommMode, KeyNo, U24};

/// KeySett1 of the application (§6.3): AMK changeable, settings changeable, no free
/// directory, no free create/delete, ChangeKey needs the AMK.
pub const APP_KEY_SETTINGS: u8 = 0x09;
/// Number of application keys (K0-K5); with AES and ISO identity KeySett2 is `A6`.
pub const APP_KEY_COUNT: u8 = 6;
/// PICC key settings after personalisation (§6.2).
pub const PICC_KEY_SETTINGS: u8 = 0x0B;
/// CCF access rights (§6.6): R = K2, W = never, RW = K3, Change = K0; on the wire `30 2F`.
pub const CCF_ACCESS_RIGHTS: AccessRights = AccessRights {
    read: Access::from_nibble(0x2),
    write: Access::from_nibble(0xF),
    read_write: Access::from_nibble(0x3),
    change: Access::from_nibble(0x0),
};

/// ISO identity of the application and the CCF file. The draft leaves these ⟨TBD⟩; the lab
/// values are [`IsoIdentity::LAB`].
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
    /// Lab placeholders: FIDs `AC01` / `AC11` (the draft's examples) and DF name
    /// `D7 52 00 00 00 "PACS01"` (the draft's `D752 ⟨RID suffix⟩ ⟨PIX⟩` with a zero suffix).
    pub const LAB: Self = Self {
        app_fid: 0xAC01,
        df_name: b"\xD7\x52\x00\x00\x00PACS01",
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
    /// CreateApplication: AES, 6 keys, KeySett1 `09`, ISO FID and DF name.
    CreateApplication,
    /// SelectApplication of the GEN-PACS AID.
    SelectApplication,
    /// AuthenticateEV2First with an application key.
    AuthenticateApp(AppKey, KeyValue),
    /// CreateBackupDataFile CCF: 160 bytes, Full, rights `30 2F`.
    CreateCcfFile,
    /// ChangeKey of an application key from delivery to final, authenticated with K0.
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

/// The plan, in order (see the module documentation for why).
pub const PLAN: [Step; 22] = [
    Step::SelectPicc,
    Step::AuthenticatePicc(KeyValue::Delivery),
    Step::CreateApplication,
    Step::SelectApplication,
    Step::AuthenticateApp(AppKey::Amk, KeyValue::Delivery),
    Step::CreateCcfFile,
    Step::ChangeAppKey(AppKey::Kuid),
    Step::ChangeAppKey(AppKey::Read),
    Step::ChangeAppKey(AppKey::Write),
    Step::ChangeAppKey(AppKey::DelegatedRead),
    Step::AuthenticateApp(AppKey::Write, KeyValue::Final),
    Step::WriteCcf,
    Step::CommitTransaction,
    Step::AuthenticateApp(AppKey::Amk, KeyValue::Delivery),
    Step::ChangeAppKey(AppKey::Amk),
    Step::SelectPicc,
    Step::AuthenticatePicc(KeyValue::Delivery),
    Step::EnableRandomId,
    Step::SetPiccKeySettings,
    Step::SelectPicc,
    Step::AuthenticatePicc(KeyValue::Delivery),
    Step::ChangePiccMasterKey,
];

/// Why a step could not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionError<E> {
    /// The key provider has no such key.
    KeyUnavailable(CardKey),
    /// The command failed.
    Card(Error<E>),
}

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
    /// The card's real UID (GetCardUID, or the anticollision UID of a delivery-state card).
    pub uid: RealUid,
    /// ISO identity of application and file.
    pub iso: IsoIdentity<'a>,
    /// The CCF file content (from [`super::Credential::encode_signed`] for this UID and AID).
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
                    new_version: 1,
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
                    new_version: 1,
                };
                d.execute(&ck.command(session_key(d)), &mut rx)?;
            }
        }
        Ok(())
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
