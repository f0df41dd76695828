//! The card image: a virtual card's persistent state as a JSON file a person can read and edit
//! (`specs/card-image.md`).
//!
//! [`CardImage`] mirrors the file; [`CardImage::from_state`] and [`CardImage::to_state`] convert
//! to and from [`desfire_core::picc::State`]. Loading adds every application and file through
//! [`State::add_application`] and [`State::add_file`], the functions CreateApplication and
//! Create*File use, so a loaded card lays out memory as the card itself does when the same
//! objects are created application by application, each followed by its files.
//!
//! Images hold keys in clear by design: they are lab artefacts for test cards. [`save`] writes
//! them readable by the owner only; key fields print as `[redacted]` in `Debug` and no error
//! message echoes one.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use desfire_core::crypto::AesKey;
use desfire_core::picc::state::{
    App, CONFIG_FORMAT_DISABLED, CONFIG_RANDOM_ID, File, FileKind, KeySlot, MAX_ATS, MAX_DF_NAME,
    MAX_KEYS, Originality as SigSource,
};
use desfire_core::picc::{Card, CardConfig, NVM_LEN, RamNvm, State, sig};
use desfire_core::wire::{
    Access, AccessRights, Aid, CommMode as WireCommMode, KeyNo, KeySettings, Status,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::hex_text::{self, HexError};

/// The `format` string of this version of the image.
pub const FORMAT: &str = "desfire-card-image/1";

/// A card image, as in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardImage {
    /// Always [`FORMAT`].
    pub format: String,
    /// The 7-byte UID, hex.
    pub uid: String,
    /// SetConfiguration option 00 bit 1: a random UID at each activation.
    #[serde(default)]
    pub random_uid: bool,
    /// SetConfiguration option 00 bit 0: FormatPICC disabled.
    #[serde(default)]
    pub format_disabled: bool,
    /// PICC master key and PICC key settings.
    pub picc: Picc,
    /// The key new applications get (SetConfiguration option 01).
    pub default_key: Key,
    /// The ATS (SetConfiguration option 02), TL first; `null` for the default ATS.
    #[serde(default)]
    pub ats: Option<String>,
    /// How ReadSig answers.
    #[serde(default)]
    pub originality: Originality,
    /// Applications, in creation order.
    #[serde(default)]
    pub applications: Vec<Application>,
}

/// The PICC level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Picc {
    /// PICC master key.
    pub master_key: Key,
    /// KeySett1 of the PICC, one byte hex.
    pub key_settings: String,
}

/// An AES key and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    /// 16 bytes hex.
    pub key: SecretHex,
    /// Key version.
    pub version: u8,
}

/// Hex text of a secret: zeroized on drop, printed as `[redacted]`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretHex(Zeroizing<String>);

impl SecretHex {
    /// Uppercase hex of `bytes`.
    pub fn encode(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(hex_text::upper(bytes)))
    }

    /// The text. Do not copy it anywhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SecretHex {
    fn from(s: &str) -> Self {
        Self(Zeroizing::new(s.to_owned()))
    }
}

impl core::fmt::Debug for SecretHex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for SecretHex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretHex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Self(Zeroizing::new(s)))
    }
}

/// How ReadSig answers: `{"test_key": true}`, `{"private_key": HEX}` or `{"signature": HEX}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Originality {
    /// Sign with the labelled test key [`sig::TEST_SECRET`] (must be `true`).
    TestKey(bool),
    /// Sign with this secp224r1 private scalar, 28 bytes hex, big-endian.
    PrivateKey(SecretHex),
    /// Answer this fixed 56-byte signature, hex.
    Signature(String),
}

impl Default for Originality {
    fn default() -> Self {
        Self::TestKey(true)
    }
}

/// One application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// AID as people write it, most significant byte first (`"0AC501"`; on the wire `01 C5 0A`).
    pub aid: String,
    /// KeySett1, one byte hex.
    pub key_settings: String,
    /// Keys 0 to 13 (1 to 14 of them).
    pub keys: Vec<Key>,
    /// ISO/IEC 7816-4 DF file identifier, most significant byte first; with `df_name`.
    #[serde(default)]
    pub iso_fid: Option<String>,
    /// DF name, 1 to 16 bytes hex; with `iso_fid`.
    #[serde(default)]
    pub df_name: Option<String>,
    /// Files, in creation order.
    #[serde(default)]
    pub files: Vec<FileImage>,
}

/// File type, NXP's five.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    /// Standard data file.
    Std,
    /// Backup data file.
    Backup,
    /// Value file.
    Value,
    /// Linear record file.
    LinearRecord,
    /// Cyclic record file.
    CyclicRecord,
}

/// Communication mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommMode {
    /// Plain.
    Plain,
    /// MACed.
    Mac,
    /// Full: encrypted and MACed.
    Full,
}

impl From<CommMode> for WireCommMode {
    fn from(m: CommMode) -> Self {
        match m {
            CommMode::Plain => Self::Plain,
            CommMode::Mac => Self::Mac,
            CommMode::Full => Self::Full,
        }
    }
}

impl From<WireCommMode> for CommMode {
    fn from(m: WireCommMode) -> Self {
        match m {
            WireCommMode::Plain => Self::Plain,
            WireCommMode::Mac => Self::Mac,
            WireCommMode::Full => Self::Full,
        }
    }
}

/// The four access rights; each `"0"` to `"13"` (a key number), `"free"` or `"never"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rights {
    /// Read (ReadData, ReadRecords; GetValue, Debit).
    pub read: String,
    /// Write (WriteData, WriteRecord, UpdateRecord; GetValue, Debit, LimitedCredit).
    pub write: String,
    /// Read and write: all of the above, Credit, ClearRecordFile.
    pub read_write: String,
    /// ChangeFileSettings.
    pub change: String,
}

/// LimitedCredit of a value file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitedCredit {
    /// LimitedCredit enabled.
    pub enabled: bool,
    /// What LimitedCredit may add now (the debits of the last committed transaction that had
    /// any, 0 after a LimitedCredit).
    pub value: i32,
}

/// One file. Which of the optional fields apply depends on `type`: `size` and `data` (std,
/// backup); `lower_limit`, `upper_limit`, `value`, `limited_credit`, `free_get_value` (value);
/// `record_size`, `max_records`, `records` (linear_record, cyclic_record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileImage {
    /// File number, 0 to 31.
    pub no: u8,
    /// File type.
    #[serde(rename = "type")]
    pub file_type: FileType,
    /// ISO/IEC 7816-4 file identifier, most significant byte first (not for value files).
    #[serde(default)]
    pub iso_fid: Option<String>,
    /// Communication mode.
    pub comm_mode: CommMode,
    /// Access rights.
    pub access_rights: Rights,
    /// Data file size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// Committed contents of a data file, hex; shorter than `size` is padded with zeros.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Lower limit of a value file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_limit: Option<i32>,
    /// Upper limit of a value file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_limit: Option<i32>,
    /// Committed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i32>,
    /// LimitedCredit state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limited_credit: Option<LimitedCredit>,
    /// GetValue free whatever the access rights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_get_value: Option<bool>,
    /// Record size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_size: Option<u32>,
    /// Maximum number of records (a cyclic file holds at most `max_records - 1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_records: Option<u32>,
    /// Committed records, oldest first, each `record_size` bytes hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<String>>,
}

/// What is wrong at a place in an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// `format` is not [`FORMAT`].
    #[error("unknown format {0:?}, expected {FORMAT:?}")]
    UnknownFormat(String),
    /// Not hex.
    #[error("{0}")]
    Hex(HexError),
    /// Hex of the wrong length.
    #[error("expected {expected} byte(s), got {got}")]
    Length {
        /// What the field takes.
        expected: &'static str,
        /// What it had.
        got: usize,
    },
    /// Not an access right.
    #[error("expected a key number 0 to 13, \"free\" or \"never\"")]
    BadAccess,
    /// `{"test_key": false}`.
    #[error("test_key can only be true; give private_key or signature instead")]
    TestKeyFalse,
    /// A private key that is not a valid secp224r1 scalar.
    #[error("not a valid secp224r1 private key")]
    BadPrivateKey,
    /// An application with one of `iso_fid` and `df_name` but not the other.
    #[error("iso_fid and df_name go together (an ISO application has both)")]
    IsoPair,
    /// A required field of this file type is missing.
    #[error("missing for this file type")]
    Missing,
    /// A field that this file type does not have.
    #[error("not a field of this file type")]
    NotForType,
    /// Limits out of order or the value outside them.
    #[error("needs lower_limit <= value <= upper_limit")]
    Limits,
    /// Data longer than the file.
    #[error("{got} bytes of data for a file of {size}")]
    DataTooLong {
        /// Data bytes.
        got: usize,
        /// File size.
        size: u32,
    },
    /// More records than the file can hold.
    #[error("{got} records, the file holds at most {max}")]
    TooManyRecords {
        /// Records given.
        got: usize,
        /// Capacity (cyclic: `max_records - 1`).
        max: u32,
    },
    /// The same AID, file number, ISO FID or DF name twice.
    #[error("duplicate (AID, file number, ISO FID or DF name already used)")]
    Duplicate,
    /// The card's memory (8192 bytes) or object limits are exceeded.
    #[error("does not fit: the card's memory or object limits are exceeded")]
    OutOfMemory,
    /// The card would refuse to create it, with this status.
    #[error("the card refuses it: {0}")]
    Refused(Status),
}

/// An invalid image: where (a JSON path such as `applications[0].files[2].data`) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ImageError {
    /// JSON path of the offending field.
    pub path: String,
    /// What is wrong with it.
    pub problem: Problem,
}

fn err(path: impl Into<String>, problem: Problem) -> ImageError {
    ImageError {
        path: path.into(),
        problem,
    }
}

/// `N` bytes from hex.
fn bytes<const N: usize>(
    path: &str,
    text: &str,
    expected: &'static str,
) -> Result<[u8; N], ImageError> {
    let v = Zeroizing::new(hex_text::decode(text).map_err(|e| err(path, Problem::Hex(e)))?);
    <[u8; N]>::try_from(v.as_slice()).map_err(|_| {
        err(
            path,
            Problem::Length {
                expected,
                got: v.len(),
            },
        )
    })
}

/// Up to `max` bytes from hex (`min` at least).
fn var_bytes(
    path: &str,
    text: &str,
    min: usize,
    max: usize,
    expected: &'static str,
) -> Result<Vec<u8>, ImageError> {
    let v = hex_text::decode(text).map_err(|e| err(path, Problem::Hex(e)))?;
    if (min..=max).contains(&v.len()) {
        Ok(v)
    } else {
        Err(err(
            path,
            Problem::Length {
                expected,
                got: v.len(),
            },
        ))
    }
}

fn byte(path: &str, text: &str) -> Result<u8, ImageError> {
    bytes::<1>(path, text, "1").map(|[b]| b)
}

fn fid(path: &str, text: &Option<String>) -> Result<Option<u16>, ImageError> {
    text.as_deref()
        .map(|t| bytes::<2>(path, t, "2").map(u16::from_be_bytes))
        .transpose()
}

fn key_slot(path: &str, k: &Key) -> Result<KeySlot, ImageError> {
    let raw = Zeroizing::new(bytes::<16>(&format!("{path}.key"), k.key.expose(), "16")?);
    Ok(KeySlot {
        key: AesKey::new(*raw),
        version: k.version,
    })
}

fn key_image(k: &KeySlot) -> Key {
    Key {
        key: SecretHex::encode(k.key.expose()),
        version: k.version,
    }
}

fn access(path: &str, text: &str) -> Result<Access, ImageError> {
    match text {
        "free" => Ok(Access::Free),
        "never" => Ok(Access::Never),
        n => n
            .parse::<u8>()
            .ok()
            .and_then(KeyNo::new)
            .map(Access::Key)
            .ok_or_else(|| err(path, Problem::BadAccess)),
    }
}

fn access_text(a: Access) -> String {
    match a {
        Access::Free => "free".into(),
        Access::Never => "never".into(),
        Access::Key(k) => k.value().to_string(),
    }
}

/// Maps a status of [`State::add_application`] / [`State::add_file`] to a problem.
fn refused(path: &str, s: Status) -> ImageError {
    let problem = match s {
        Status::DUPLICATE_ERROR => Problem::Duplicate,
        Status::OUT_OF_EEPROM | Status::COUNT_ERROR => Problem::OutOfMemory,
        s => Problem::Refused(s),
    };
    err(path, problem)
}

/// The committed region `active` of a two-region object of `len` bytes at `offset`.
fn committed(state: &State, offset: u32, len: u32, active: u8) -> &[u8] {
    let start = if active == 0 {
        Some(offset)
    } else {
        offset.checked_add(len)
    };
    start.and_then(|s| state.region(s, len)).unwrap_or_default()
}

impl CardImage {
    /// The image of a card's persistent state. Uncommitted changes are not part of the state
    /// (they live in the card's volatile memory) and so not of the image.
    pub fn from_state(s: &State) -> Self {
        let originality = match &s.originality {
            SigSource::Key(k) if *k == sig::TEST_SECRET => Originality::TestKey(true),
            SigSource::Key(k) => Originality::PrivateKey(SecretHex::encode(k)),
            SigSource::Signature(sig) => Originality::Signature(hex_text::upper(sig)),
        };
        Self {
            format: FORMAT.into(),
            uid: hex_text::upper(&s.uid),
            random_uid: s.config & CONFIG_RANDOM_ID != 0,
            format_disabled: s.config & CONFIG_FORMAT_DISABLED != 0,
            picc: Picc {
                master_key: key_image(&s.picc_key),
                key_settings: hex_text::upper(&[s.picc_settings.byte()]),
            },
            default_key: key_image(&s.default_key),
            ats: (!s.ats.is_empty()).then(|| hex_text::upper(&s.ats)),
            originality,
            applications: s
                .apps
                .iter()
                .map(|a| Application::from_state(s, a))
                .collect(),
        }
    }

    /// The state this image describes: applications added in order, each followed by its files,
    /// through the card's own [`State::add_application`] and [`State::add_file`]. Every
    /// committed region is region 0; shadow regions read as fresh memory (zeros).
    pub fn to_state(&self) -> Result<State, ImageError> {
        if self.format != FORMAT {
            return Err(err("format", Problem::UnknownFormat(self.format.clone())));
        }
        let mut s = State::factory(bytes::<7>("uid", &self.uid, "7")?);
        s.config = if self.random_uid { CONFIG_RANDOM_ID } else { 0 }
            | if self.format_disabled {
                CONFIG_FORMAT_DISABLED
            } else {
                0
            };
        s.picc_key = key_slot("picc.master_key", &self.picc.master_key)?;
        s.picc_settings =
            KeySettings::from_byte(byte("picc.key_settings", &self.picc.key_settings)?);
        s.default_key = key_slot("default_key", &self.default_key)?;
        if let Some(ats) = &self.ats {
            let v = var_bytes("ats", ats, 1, MAX_ATS, "1 to 20")?;
            if v.first().map(|tl| usize::from(*tl)) != Some(v.len()) {
                return Err(err(
                    "ats",
                    Problem::Length {
                        expected: "TL (the first byte)",
                        got: v.len(),
                    },
                ));
            }
            s.ats.clear();
            s.ats.extend_from_slice(&v).map_err(|_| {
                err(
                    "ats",
                    Problem::Length {
                        expected: "1 to 20",
                        got: v.len(),
                    },
                )
            })?;
        }
        s.originality = match &self.originality {
            Originality::TestKey(true) => SigSource::Key(sig::TEST_SECRET),
            Originality::TestKey(false) => {
                return Err(err("originality.test_key", Problem::TestKeyFalse));
            }
            Originality::PrivateKey(k) => {
                let path = "originality.private_key";
                let k = Zeroizing::new(bytes::<28>(path, k.expose(), "28")?);
                if sig::sign(&k, &s.uid).is_none() {
                    return Err(err(path, Problem::BadPrivateKey));
                }
                SigSource::Key(*k)
            }
            Originality::Signature(sig) => {
                SigSource::Signature(bytes::<56>("originality.signature", sig, "56")?)
            }
        };
        for (i, app) in self.applications.iter().enumerate() {
            app.add_to(&mut s, &format!("applications[{i}]"))?;
        }
        Ok(s)
    }

    /// A virtual card holding this image, in RAM, powered up.
    pub fn into_card<R: rand_core::CryptoRng>(
        self,
        rng: R,
    ) -> Result<Card<RamNvm<NVM_LEN>, R>, ImageError> {
        self.into_card_with(rng, CardConfig::default())
    }

    /// The same with `config` (frame size, GetVersion production data).
    pub fn into_card_with<R: rand_core::CryptoRng>(
        self,
        rng: R,
        config: CardConfig,
    ) -> Result<Card<RamNvm<NVM_LEN>, R>, ImageError> {
        let state = self.to_state()?;
        Card::create(RamNvm::new(), rng, config, state)
            .map_err(|e| err("", Problem::Refused(status_of(e))))
    }

    /// The image of a card's persistent state.
    pub fn from_card<N: desfire_core::picc::Nvm, R: rand_core::CryptoRng>(
        card: &Card<N, R>,
    ) -> Self {
        Self::from_state(card.state())
    }
}

/// A state that passed [`CardImage::to_state`] always encodes; should the NVM image still fail,
/// say so as the card would (integrity error) rather than panic.
fn status_of<E>(_: desfire_core::picc::OpenError<E>) -> Status {
    Status::FILE_INTEGRITY_ERROR
}

impl Application {
    fn from_state(s: &State, a: &App) -> Self {
        let keys = a
            .keys
            .iter()
            .take(usize::from(a.key_count))
            .map(key_image)
            .collect();
        Self {
            aid: format!("{:06X}", a.aid.value()),
            key_settings: hex_text::upper(&[a.settings.byte()]),
            keys,
            iso_fid: a.iso_fid.map(|f| format!("{f:04X}")),
            df_name: (!a.df_name.is_empty()).then(|| hex_text::upper(&a.df_name)),
            files: s
                .files
                .iter()
                .filter(|f| f.aid == a.aid)
                .map(|f| FileImage::from_state(s, f))
                .collect(),
        }
    }

    fn add_to(&self, s: &mut State, path: &str) -> Result<(), ImageError> {
        let p = |field: &str| format!("{path}.{field}");
        let [a, b, c] = bytes::<3>(&p("aid"), &self.aid, "3")?;
        let aid = Aid::new(u32::from_be_bytes([0, a, b, c]))
            .filter(|a| *a != Aid::PICC)
            .ok_or_else(|| err(p("aid"), Problem::Refused(Status::PARAMETER_ERROR)))?;
        let settings = KeySettings::from_byte(byte(&p("key_settings"), &self.key_settings)?);
        if !(1..=MAX_KEYS).contains(&self.keys.len()) {
            return Err(err(
                p("keys"),
                Problem::Length {
                    expected: "1 to 14 keys",
                    got: self.keys.len(),
                },
            ));
        }
        let keys = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| key_slot(&p(&format!("keys[{i}]")), k))
            .collect::<Result<Vec<_>, _>>()?;
        let iso_fid = fid(&p("iso_fid"), &self.iso_fid)?;
        let df_name = self
            .df_name
            .as_deref()
            .map(|n| var_bytes(&p("df_name"), n, 1, MAX_DF_NAME, "1 to 16"))
            .transpose()?
            .unwrap_or_default();
        if iso_fid.is_some() == df_name.is_empty() {
            return Err(err(path, Problem::IsoPair));
        }
        let key_count = u8::try_from(keys.len()).unwrap_or(u8::MAX);
        let app = s
            .add_application(aid, settings, key_count, iso_fid, &df_name)
            .map_err(|e| refused(path, e))?;
        for (slot, key) in app.keys.iter_mut().zip(keys) {
            *slot = key;
        }
        for (i, f) in self.files.iter().enumerate() {
            f.add_to(s, aid, &p(&format!("files[{i}]")))?;
        }
        Ok(())
    }
}

impl FileImage {
    fn from_state(s: &State, f: &File) -> Self {
        let mut img = Self {
            no: f.no,
            file_type: FileType::Std,
            iso_fid: f.iso_fid.map(|v| format!("{v:04X}")),
            comm_mode: f.comm.into(),
            access_rights: Rights {
                read: access_text(f.rights.read),
                write: access_text(f.rights.write),
                read_write: access_text(f.rights.read_write),
                change: access_text(f.rights.change),
            },
            size: None,
            data: None,
            lower_limit: None,
            upper_limit: None,
            value: None,
            limited_credit: None,
            free_get_value: None,
            record_size: None,
            max_records: None,
            records: None,
        };
        match f.kind {
            FileKind::Data {
                backup,
                size,
                offset,
                active,
            } => {
                img.file_type = if backup {
                    FileType::Backup
                } else {
                    FileType::Std
                };
                img.size = Some(size);
                img.data = Some(hex_text::upper(committed(s, offset, size, active)));
            }
            FileKind::Value {
                lower,
                upper,
                value,
                limited_value,
                limited_enabled,
                free_get,
            } => {
                img.file_type = FileType::Value;
                img.lower_limit = Some(lower);
                img.upper_limit = Some(upper);
                img.value = Some(value);
                img.limited_credit = Some(LimitedCredit {
                    enabled: limited_enabled,
                    value: limited_value,
                });
                img.free_get_value = Some(free_get);
            }
            FileKind::Record {
                cyclic,
                size,
                max,
                count,
                offset,
                active,
            } => {
                img.file_type = if cyclic {
                    FileType::CyclicRecord
                } else {
                    FileType::LinearRecord
                };
                img.record_size = Some(size);
                img.max_records = Some(max);
                let region = committed(s, offset, size.saturating_mul(max), active);
                let records = region
                    .chunks(usize::try_from(size).unwrap_or(usize::MAX).max(1))
                    .take(usize::try_from(count).unwrap_or(0))
                    .map(hex_text::upper)
                    .collect();
                img.records = Some(records);
            }
        }
        img
    }

    /// Checks that exactly the fields of this file type are present.
    fn check_fields(&self, path: &str) -> Result<(), ImageError> {
        let (data, value, record) = match self.file_type {
            FileType::Std | FileType::Backup => (true, false, false),
            FileType::Value => (false, true, false),
            FileType::LinearRecord | FileType::CyclicRecord => (false, false, true),
        };
        // (field, present, allowed, required)
        let fields = [
            ("iso_fid", self.iso_fid.is_some(), !value, false),
            ("size", self.size.is_some(), data, data),
            ("data", self.data.is_some(), data, false),
            ("lower_limit", self.lower_limit.is_some(), value, value),
            ("upper_limit", self.upper_limit.is_some(), value, value),
            ("value", self.value.is_some(), value, value),
            (
                "limited_credit",
                self.limited_credit.is_some(),
                value,
                false,
            ),
            (
                "free_get_value",
                self.free_get_value.is_some(),
                value,
                false,
            ),
            ("record_size", self.record_size.is_some(), record, record),
            ("max_records", self.max_records.is_some(), record, record),
            ("records", self.records.is_some(), record, false),
        ];
        for (name, present, allowed, required) in fields {
            if present && !allowed {
                return Err(err(format!("{path}.{name}"), Problem::NotForType));
            }
            if required && !present {
                return Err(err(format!("{path}.{name}"), Problem::Missing));
            }
        }
        Ok(())
    }

    fn add_to(&self, s: &mut State, aid: Aid, path: &str) -> Result<(), ImageError> {
        let p = |field: &str| format!("{path}.{field}");
        self.check_fields(path)?;
        let r = &self.access_rights;
        let rights = AccessRights {
            read: access(&p("access_rights.read"), &r.read)?,
            write: access(&p("access_rights.write"), &r.write)?,
            read_write: access(&p("access_rights.read_write"), &r.read_write)?,
            change: access(&p("access_rights.change"), &r.change)?,
        };
        // Contents to lay into region 0 once the file is placed.
        let mut contents = Vec::new();
        let kind = match self.file_type {
            FileType::Std | FileType::Backup => {
                let size = self.size.unwrap_or(0);
                if let Some(d) = &self.data {
                    contents = hex_text::decode(d).map_err(|e| err(p("data"), Problem::Hex(e)))?;
                    if u32::try_from(contents.len()).map_or(true, |n| n > size) {
                        let got = contents.len();
                        return Err(err(p("data"), Problem::DataTooLong { got, size }));
                    }
                }
                FileKind::Data {
                    backup: self.file_type == FileType::Backup,
                    size,
                    offset: 0,
                    active: 0,
                }
            }
            FileType::Value => {
                let (lower, upper, value) = (
                    self.lower_limit.unwrap_or(0),
                    self.upper_limit.unwrap_or(0),
                    self.value.unwrap_or(0),
                );
                if lower > upper {
                    return Err(err(p("lower_limit"), Problem::Limits));
                }
                if !(lower..=upper).contains(&value) {
                    return Err(err(p("value"), Problem::Limits));
                }
                let limited = self.limited_credit.unwrap_or(LimitedCredit {
                    enabled: false,
                    value: 0,
                });
                if limited.value < 0 {
                    return Err(err(
                        p("limited_credit.value"),
                        Problem::Refused(Status::PARAMETER_ERROR),
                    ));
                }
                FileKind::Value {
                    lower,
                    upper,
                    value,
                    limited_value: limited.value,
                    limited_enabled: limited.enabled,
                    free_get: self.free_get_value.unwrap_or(false),
                }
            }
            FileType::LinearRecord | FileType::CyclicRecord => {
                let cyclic = self.file_type == FileType::CyclicRecord;
                let size = self.record_size.unwrap_or(0);
                let max = self.max_records.unwrap_or(0);
                let records = self.records.as_deref().unwrap_or_default();
                let capacity = if cyclic { max.saturating_sub(1) } else { max };
                if u32::try_from(records.len()).map_or(true, |n| n > capacity) {
                    let got = records.len();
                    return Err(err(
                        p("records"),
                        Problem::TooManyRecords { got, max: capacity },
                    ));
                }
                for (i, rec) in records.iter().enumerate() {
                    let path = p(&format!("records[{i}]"));
                    let v = hex_text::decode(rec).map_err(|e| err(&path, Problem::Hex(e)))?;
                    if u32::try_from(v.len()).ok() != Some(size) {
                        let got = v.len();
                        return Err(err(
                            path,
                            Problem::Length {
                                expected: "record_size",
                                got,
                            },
                        ));
                    }
                    contents.extend_from_slice(&v);
                }
                FileKind::Record {
                    cyclic,
                    size,
                    max,
                    count: u32::try_from(records.len()).unwrap_or(u32::MAX),
                    offset: 0,
                    active: 0,
                }
            }
        };
        let file = File {
            aid,
            no: self.no,
            iso_fid: fid(&p("iso_fid"), &self.iso_fid)?,
            comm: self.comm_mode.into(),
            rights,
            kind,
        };
        let placed = s.add_file(file).map_err(|e| refused(path, e))?;
        if let FileKind::Data { offset, .. } | FileKind::Record { offset, .. } = placed.kind {
            let len = u32::try_from(contents.len()).unwrap_or(u32::MAX);
            s.region_mut(offset, len)
                .ok_or_else(|| err(path, Problem::OutOfMemory))?
                .copy_from_slice(&contents);
        }
        Ok(())
    }
}

/// Why an image file could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not JSON of the image's shape (the message gives line and column).
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The error.
        source: serde_json::Error,
    },
    /// JSON of the right shape, but not a valid card.
    #[error("{path}: {source}")]
    Image {
        /// The file.
        path: PathBuf,
        /// The error.
        source: ImageError,
    },
}

/// Reads and checks an image file: it parses and describes a valid card.
pub fn load(path: &Path) -> Result<CardImage, FileError> {
    let io = |source| FileError::Io {
        path: path.to_owned(),
        source,
    };
    let text = Zeroizing::new(fs::read_to_string(path).map_err(io)?);
    let image: CardImage = serde_json::from_str(&text).map_err(|source| FileError::Json {
        path: path.to_owned(),
        source,
    })?;
    image.to_state().map_err(|source| FileError::Image {
        path: path.to_owned(),
        source,
    })?;
    Ok(image)
}

/// Writes an image file atomically: a temporary file in the same directory, created readable
/// by the owner only (it holds keys), written, synced, then renamed over `path`, and the
/// directory synced. A crash leaves the old file or the new one, never half of one.
pub fn save(path: &Path, image: &CardImage) -> Result<(), FileError> {
    let io = |source| FileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut text =
        Zeroizing::new(
            serde_json::to_string_pretty(image).map_err(|source| FileError::Json {
                path: path.to_owned(),
                source,
            })?,
        );
    text.push('\n');
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = (|| {
        // A leftover of an earlier crash of a process with the same id.
        let _ = fs::remove_file(&tmp);
        let mut f = create_private(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(&dir)
    })();
    if written.is_err() {
        // Best effort: the temporary file may not exist.
        let _ = fs::remove_file(&tmp);
    }
    written.map_err(io)
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Makes a rename in `dir` durable (the audit report writer uses it too).
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
pub(crate) fn sync_dir(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../specs/cards/lab-example.json");

    fn example() -> CardImage {
        serde_json::from_str(EXAMPLE).unwrap()
    }

    fn app(img: &mut CardImage) -> &mut Application {
        &mut img.applications[0]
    }

    /// `to_state` fails at `path` with `problem`.
    fn fails(img: &CardImage, path: &str, problem: Problem) {
        let e = img.to_state().unwrap_err();
        assert_eq!((e.path.as_str(), e.problem), (path, problem));
    }

    #[test]
    fn example_is_canonical() {
        let img = example();
        let state = img.to_state().unwrap();
        let again = CardImage::from_state(&state);
        assert_eq!(again, img);
        let text = serde_json::to_string_pretty(&again).unwrap() + "\n";
        assert_eq!(
            text, EXAMPLE,
            "the checked-in example is what from_state writes"
        );
    }

    #[test]
    fn keys_do_not_print() {
        let img = example();
        let text = format!("{img:?}");
        assert!(!text.contains(img.picc.master_key.key.expose()));
        assert!(text.contains("[redacted]"));
    }

    #[test]
    fn picc_level_errors_name_their_field() {
        let mut img = example();
        img.format = "desfire-card-image/2".into();
        fails(
            &img,
            "format",
            Problem::UnknownFormat("desfire-card-image/2".into()),
        );
        let mut img = example();
        img.uid = "04A1B2".into();
        let len = |expected, got| Problem::Length { expected, got };
        fails(&img, "uid", len("7", 3));
        let mut img = example();
        img.picc.master_key.key = "4C41422D504943432D4D41535445522".into();
        fails(
            &img,
            "picc.master_key.key",
            Problem::Hex(HexError::OddLength(31)),
        );
        let mut img = example();
        img.picc.key_settings = "0G".into();
        fails(
            &img,
            "picc.key_settings",
            Problem::Hex(HexError::BadDigit {
                position: 2,
                found: 'G',
            }),
        );
        let mut img = example();
        img.ats = Some("0575778102FF".into());
        fails(&img, "ats", len("TL (the first byte)", 6));
        img.ats = Some("0575778102".into());
        assert_eq!(
            img.to_state().unwrap().ats.as_slice(),
            [5, 0x75, 0x77, 0x81, 2]
        );
        let mut img = example();
        img.originality = Originality::TestKey(false);
        fails(&img, "originality.test_key", Problem::TestKeyFalse);
        img.originality = Originality::PrivateKey(SecretHex::encode(&[0; 28]));
        fails(&img, "originality.private_key", Problem::BadPrivateKey);
        img.originality = Originality::Signature("00".repeat(55));
        fails(&img, "originality.signature", len("56", 55));
    }

    #[test]
    fn application_errors_name_their_field() {
        let len = |expected, got| Problem::Length { expected, got };
        let mut img = example();
        app(&mut img).aid = "000000".into();
        fails(
            &img,
            "applications[0].aid",
            Problem::Refused(Status::PARAMETER_ERROR),
        );
        let mut img = example();
        app(&mut img).keys.clear();
        fails(&img, "applications[0].keys", len("1 to 14 keys", 0));
        let mut img = example();
        app(&mut img).keys[2].key = "00".into();
        fails(&img, "applications[0].keys[2].key", len("16", 1));
        let mut img = example();
        app(&mut img).df_name = None;
        fails(&img, "applications[0]", Problem::IsoPair);
        let mut img = example();
        app(&mut img).iso_fid = Some("3F00".into());
        fails(
            &img,
            "applications[0]",
            Problem::Refused(Status::PARAMETER_ERROR),
        );
        let mut img = example();
        let mut second = img.applications[0].clone();
        second.files.clear();
        second.iso_fid = None;
        second.df_name = None;
        img.applications.push(second);
        fails(&img, "applications[1]", Problem::Duplicate);
        // Memory: 28 applications of 14 keys each take 28 x 384 bytes > 8192.
        let mut img = example();
        let mut big = img.applications[0].clone();
        big.files.clear();
        big.iso_fid = None;
        big.df_name = None;
        big.keys = vec![big.keys[0].clone(); 14];
        for n in 1..28u32 {
            big.aid = format!("{n:06X}");
            img.applications.push(big.clone());
        }
        fails(&img, "applications[21]", Problem::OutOfMemory);
    }

    fn file(img: &mut CardImage, i: usize) -> &mut FileImage {
        &mut img.applications[0].files[i]
    }

    #[test]
    fn file_errors_name_their_field() {
        let mut img = example();
        file(&mut img, 1).no = 1;
        fails(&img, "applications[0].files[1]", Problem::Duplicate);
        let mut img = example();
        file(&mut img, 3).iso_fid = Some("E101".into());
        fails(&img, "applications[0].files[3]", Problem::Duplicate);
        let mut img = example();
        file(&mut img, 0).data = Some("00".repeat(33));
        fails(
            &img,
            "applications[0].files[0].data",
            Problem::DataTooLong { got: 33, size: 32 },
        );
        let mut img = example();
        file(&mut img, 0).value = Some(1);
        fails(&img, "applications[0].files[0].value", Problem::NotForType);
        let mut img = example();
        file(&mut img, 0).size = None;
        fails(&img, "applications[0].files[0].size", Problem::Missing);
        let mut img = example();
        file(&mut img, 2).lower_limit = Some(10_001);
        fails(
            &img,
            "applications[0].files[2].lower_limit",
            Problem::Limits,
        );
        let mut img = example();
        file(&mut img, 2).value = Some(-1);
        fails(&img, "applications[0].files[2].value", Problem::Limits);
        let mut img = example();
        file(&mut img, 2).iso_fid = Some("E103".into());
        fails(
            &img,
            "applications[0].files[2].iso_fid",
            Problem::NotForType,
        );
        let mut img = example();
        file(&mut img, 1).access_rights.write = "14".into();
        fails(
            &img,
            "applications[0].files[1].access_rights.write",
            Problem::BadAccess,
        );
        let mut img = example();
        file(&mut img, 4).records = Some(vec!["00000001".into(); 3]);
        fails(
            &img,
            "applications[0].files[4].records",
            Problem::TooManyRecords { got: 3, max: 2 },
        );
        let mut img = example();
        file(&mut img, 3).records = Some(vec!["00".into()]);
        fails(
            &img,
            "applications[0].files[3].records[0]",
            Problem::Length {
                expected: "record_size",
                got: 1,
            },
        );
        let mut img = example();
        file(&mut img, 3).max_records = Some(1000);
        fails(&img, "applications[0].files[3]", Problem::OutOfMemory);
        let mut img = example();
        file(&mut img, 0).no = 32;
        fails(
            &img,
            "applications[0].files[0]",
            Problem::Refused(Status::PARAMETER_ERROR),
        );
    }

    #[test]
    fn unknown_fields_and_types_are_json_errors() {
        let typo = EXAMPLE.replace("\"random_uid\"", "\"random_id\"");
        assert!(serde_json::from_str::<CardImage>(&typo).is_err());
        let bad_type = EXAMPLE.replace("\"std\"", "\"standard\"");
        assert!(serde_json::from_str::<CardImage>(&bad_type).is_err());
    }

    #[test]
    fn save_is_private_and_load_reads_it_back() {
        let dir = std::env::temp_dir().join(format!("card-image-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("card.json");
        save(&path, &example()).unwrap();
        save(&path, &example()).unwrap();
        assert_eq!(load(&path).unwrap(), example());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let left: Vec<_> = fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
        fs::write(&path, EXAMPLE.replace("\"value\": 250", "\"value\": 10001")).unwrap();
        let e = load(&path).unwrap_err();
        assert!(
            e.to_string().ends_with(
                "applications[0].files[2].value: needs lower_limit <= value <= upper_limit"
            ),
            "{e}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
