//! The image's schema: the types that mirror the JSON file (`specs/card-image.md`), field for
//! field, with their serde forms.

use desfire_core::wire::CommMode as WireCommMode;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::hex_text;

/// A card image, as in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardImage {
    /// Always [`super::FORMAT`].
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
