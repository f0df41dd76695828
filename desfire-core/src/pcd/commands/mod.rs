//! Reader-side builders and typed response parsers, one per native command.
//!
//! A builder returns a [`Command`] whose header (sent in clear, covered by the MAC) and data
//! (encrypted in `CommMode.Full`) are laid out as the MIFARE DESFire EV3 data sheet (MF3D(H)x3)
//! lists them, with the comm mode the card applies once a session exists. A parser takes a
//! [`Response`](super::Response), which only the engine constructs after every check of the
//! comm mode passed, so unverified bytes never reach one; it returns a typed value or a
//! [`wire::Error`]:
//! [`Truncated`](wire::Error::Truncated), [`TrailingData`](wire::Error::TrailingData),
//! [`BadLength`](wire::Error::BadLength) or [`BadValue`](wire::Error::BadValue).
//!
//! Builders check what the card would refuse for certain (a zero file size, a lower limit above
//! the upper one, a cyclic record file of one record…) and say so with an [`InvalidParameter`],
//! rather than spending a frame and, when authenticated, the session on it.
//!
//! Families, one file each:
//! - PICC: GetVersion, GetCardUID, GetFreeMemory, FormatPICC, SetConfiguration, Read_Sig.
//! - Applications: SelectApplication, ISOSelectFile by DF name, GetApplicationIDs, GetDFNames,
//!   CreateApplication, DeleteApplication.
//! - Keys: GetKeySettings, ChangeKeySettings, ChangeKey, GetKeyVersion.
//! - Files: GetFileIDs, GetISOFileIDs, GetFileSettings, ChangeFileSettings, Create*File,
//!   DeleteFile.
//! - Data: ReadData, WriteData, GetValue, Credit, Debit, LimitedCredit, ReadRecords,
//!   WriteRecord, UpdateRecord, ClearRecordFile, CommitTransaction, AbortTransaction.

mod application;
mod data;
mod files;
mod keys;
mod picc;

pub use self::application::{
    ApplicationIds, CreateApplication, DfName, DfNameEntry, DfNames, IsoApplication, KeySets,
    MAX_DF_NAME, check_iso_select_response, delete_application, emit_iso_select_df_name,
    get_application_ids, get_df_names, iso_select_df_name, select_application,
};
pub use self::data::{
    FileValue, ReadData, ReadRecords, Records, TransactionMacValue, UpdateRecord, ValueOperation,
    WriteData, WriteRecord, abort_transaction, clear_record_file, commit_transaction,
    commit_transaction_returning_tmac, credit, debit, get_value, limited_credit, value_operation,
};
pub use self::files::{
    ChangeFileSettings, CreateDataFile, CreateRecordFile, CreateValueFile, FileIds, IsoFileIds,
    MAX_ADDITIONAL_ACCESS_RIGHTS, delete_file, get_file_ids, get_file_settings, get_iso_file_ids,
};
pub use self::keys::{
    ChangeKey, ChangeKeyTarget, KeyConfiguration, KeyType, KeyVersion, change_key_settings,
    get_key_settings, get_key_version,
};
pub use self::picc::{
    Configuration, FreeMemory, OriginalitySignature, PiccConfiguration, Uid, format_picc,
    get_card_uid, get_free_memory, get_version, read_sig, set_configuration, verify_originality,
};
pub use crate::wire::{
    AdditionalAccessRights, ChangeKeyAccess, FileKind, FileSettings, KeySettings, Product,
    StorageSize, Version, VersionPart,
};

use super::command::{Command, CommandData, CommandMode, MAX_INLINE_DATA};
use crate::wire::{self, AccessRights, CommMode, Ins};

/// Which of two command codes to use where current cards have both (the MF3D(H)x3 command set;
/// NT4H2421Gx §10.8 lists only the second set).
///
/// The native codes (`BD`, `3D`, `BB`, `3B`, `DB`) chain long frames with DESFire
/// additional frames (`AF`); the second set (`AD`, `8D`, `AB`, `8B`, `BA`) leaves long frames to
/// ISO/IEC 14443-4 chaining in the reader. Secure messaging is the same for both. NTAG 424 DNA
/// knows only the second set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Chaining {
    /// Native codes, chained with `AF` frames.
    #[default]
    Native,
    /// ISO/IEC 14443-4 chaining codes.
    Iso,
}

impl core::fmt::Display for Chaining {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Native => "native chaining",
            Self::Iso => "ISO/IEC 14443-4 chaining",
        })
    }
}

impl Chaining {
    const fn pick(self, native: Ins, iso: Ins) -> Ins {
        match self {
            Self::Native => native,
            Self::Iso => iso,
        }
    }
}

/// A builder parameter the card would refuse for certain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InvalidParameter {
    /// A file size, record size, record count or data length is zero.
    Zero,
    /// A value does not fit its field (24-bit lengths, inline data, SetConfiguration data).
    TooLong,
    /// A value file's lower limit is above its upper limit, or its value is outside them.
    ValueLimits,
    /// A cyclic record file needs at least two records: one is always kept free for the next write.
    CyclicRecordCount,
    /// Credit, Debit and LimitedCredit take a non-negative amount.
    NegativeAmount,
    /// An application holds 1 to 14 keys.
    KeyCount,
    /// A DF name is 1 to 16 bytes.
    DfNameLength,
    /// ISO/IEC 7816-4 reserves this file identifier (`3F00` MF, `3FFF`, `FFFF`).
    ReservedFileId,
    /// `000000` is the PICC level, not an application.
    PiccAid,
    /// KeySett3 bit 0 ("key sets enabled") and the key set parameters disagree.
    KeySets,
    /// An ATS must start with its length byte TL, which counts itself (ISO/IEC 14443-4, ATS).
    AtsLength,
    /// More additional access rights than a file holds.
    TooManyAccessRights,
}

impl core::fmt::Display for InvalidParameter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Zero => "size, length or count is zero",
            Self::TooLong => "value does not fit its field",
            Self::ValueLimits => "value file limits inverted or value outside them",
            Self::CyclicRecordCount => "a cyclic record file needs at least 2 records",
            Self::NegativeAmount => "amount is negative",
            Self::KeyCount => "an application holds 1 to 14 keys",
            Self::DfNameLength => "DF name must be 1 to 16 bytes",
            Self::ReservedFileId => "ISO file identifier is reserved",
            Self::PiccAid => "AID 000000 is the PICC, not an application",
            Self::KeySets => "KeySett3 bit 0 and key set parameters disagree",
            Self::AtsLength => "ATS length byte does not match its length",
            Self::TooManyAccessRights => "too many additional access rights",
        })
    }
}

impl core::error::Error for InvalidParameter {}

impl From<InvalidParameter> for wire::Error {
    fn from(e: InvalidParameter) -> Self {
        match e {
            InvalidParameter::TooLong
            | InvalidParameter::DfNameLength
            | InvalidParameter::AtsLength
            | InvalidParameter::TooManyAccessRights => Self::BadLength,
            _ => Self::BadValue,
        }
    }
}

impl<E> From<InvalidParameter> for super::Error<E> {
    fn from(e: InvalidParameter) -> Self {
        Self::Wire(e.into())
    }
}

/// The comm mode the command table gives `ins`; a file command starts Plain and takes its
/// file's mode through [`in_file_mode`].
#[inline(always)]
fn table_mode(ins: Ins) -> CommandMode {
    match ins.fixed_mode() {
        Some(mode) => mode,
        None => CommandMode::Plain,
    }
}

/// A command with a fixed-size header (the capacity check happens at compile time), in the
/// table's mode and with the table's session flags.
#[inline(always)]
fn fixed<const M: usize>(ins: Ins, header: [u8; M]) -> Command<'static> {
    Command::from_table(ins, heapless::Vec::from_array(header), table_mode(ins))
}

/// A command with a variable header (creation parameters), in the table's mode.
#[inline(always)]
fn with_header(ins: Ins, header: &[u8]) -> Result<Command<'static>, InvalidParameter> {
    Command::new(ins, header, table_mode(ins)).map_err(|_| InvalidParameter::TooLong)
}

/// Secret or engine-built command data, zeroized on drop. Bytes past [`MAX_INLINE_DATA`] are
/// dropped: every caller passes a fixed length below it (checked by the tests).
fn inline(bytes: impl IntoIterator<Item = u8>) -> CommandData<'static> {
    let mut buf = [0u8; MAX_INLINE_DATA];
    let mut len = 0usize;
    for (slot, b) in buf.iter_mut().zip(bytes) {
        *slot = b;
        len = len.saturating_add(1);
    }
    CommandData::Inline(buf, len)
}

/// A command on a file in the file's comm mode: file data meant to be MACed or encrypted is
/// never sent without a session.
fn in_file_mode(cmd: Command<'_>, mode: CommMode) -> Command<'_> {
    let cmd = Command { mode, ..cmd };
    match mode {
        CommMode::Plain => cmd,
        CommMode::Mac | CommMode::Full => cmd.requiring_session(),
    }
}

/// A length as a 24-bit field; zero is refused.
fn length24(len: usize) -> Result<wire::U24, InvalidParameter> {
    if len == 0 {
        return Err(InvalidParameter::Zero);
    }
    u32::try_from(len)
        .ok()
        .and_then(wire::U24::new)
        .ok_or(InvalidParameter::TooLong)
}

/// Prints bytes as upper-case hex without separators.
struct Hex<'a>(&'a [u8]);

impl core::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

/// Prints access rights as `R W RW C` nibbles, e.g. `E 1 0 0`.
struct Rights(AccessRights);

impl core::fmt::Display for Rights {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let r = self.0;
        write!(
            f,
            "read {}, write {}, read-write {}, change {}",
            r.read, r.write, r.read_write, r.change
        )
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Responses as the engine would hand them over, for parser tests.

    extern crate std;

    use crate::pcd::command::{FrameEnds, Response};
    use crate::wire::Status;

    /// A verified response of one frame.
    pub fn response(data: &[u8]) -> Response<'_> {
        Response::verified(data, Status::OPERATION_OK, FrameEnds::new())
    }

    /// A verified response whose frames ended at `ends`.
    pub fn framed<'a>(data: &'a [u8], ends: &[u16]) -> Response<'a> {
        Response::verified(
            data,
            Status::OPERATION_OK,
            FrameEnds::from_slice(ends).unwrap(),
        )
    }

    /// Formats with `Display`.
    pub fn show(v: &impl core::fmt::Display) -> std::string::String {
        std::format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_data_keeps_its_length() {
        let d = inline([1, 2, 3]);
        assert_eq!(d.as_bytes(), [1, 2, 3]);
        let d = inline(core::iter::repeat_n(7, 40));
        assert_eq!(d.as_bytes().len(), MAX_INLINE_DATA);
    }

    #[test]
    fn chaining_picks_the_code() {
        assert_eq!(
            Chaining::Native.pick(Ins::READ_DATA, Ins::READ_DATA_ISO),
            Ins::READ_DATA
        );
        assert_eq!(
            Chaining::Iso.pick(Ins::READ_DATA, Ins::READ_DATA_ISO),
            Ins::READ_DATA_ISO
        );
        assert_eq!(Chaining::default(), Chaining::Native);
        assert_eq!(
            test_support::show(&Chaining::Iso),
            "ISO/IEC 14443-4 chaining"
        );
    }

    #[test]
    fn lengths_fit_24_bits() {
        assert_eq!(length24(0), Err(InvalidParameter::Zero));
        assert_eq!(length24(0xFF_FFFF).map(wire::U24::value), Ok(0xFF_FFFF));
        assert_eq!(length24(0x100_0000), Err(InvalidParameter::TooLong));
    }

    #[test]
    fn invalid_parameters_map_to_wire_errors() {
        assert_eq!(
            wire::Error::from(InvalidParameter::DfNameLength),
            wire::Error::BadLength
        );
        assert_eq!(
            crate::pcd::Error::<()>::from(InvalidParameter::ValueLimits),
            crate::pcd::Error::Wire(wire::Error::BadValue)
        );
        assert_eq!(
            test_support::show(&InvalidParameter::CyclicRecordCount),
            "a cyclic record file needs at least 2 records"
        );
    }
}
