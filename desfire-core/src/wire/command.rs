//! The native command table: one entry per command, the single place its protocol facts live.
//!
//! Each entry gives the command's codes (the native code and, where one exists, the
//! ISO/IEC 14443-4 chaining code such as `AD` for ReadData `BD`), its NXP name, the length of its
//! header (the part of the command data sent in clear and only MACed in `CommMode.Full`), the rule
//! that decides its comm mode once authenticated, where a chained write announces its length,
//! whether it needs or ends the session, and which final statuses complete it.
//!
//! The reader ([`crate::pcd`]) builds its commands from it, the card ([`crate::picc`]) plans and
//! answers with it, and the host's trace decoder reads it. A new native command is one entry here
//! plus its builder and parser (`pcd/commands/*`) and its card handler (`picc/cmd_*.rs`).
//!
//! Sources: MF3D(H)x3 (DESFire EV3) short data sheet command list, NT4H2421Gx (NTAG 424 DNA)
//! §10 command tables, AN12196 (comm modes of the worked examples); the facts used are listed in
//! `shared/vectors/nxp-public.md`.

use super::{Ins, Status};

/// What kind of exchange a code starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Kind {
    /// A native command with secure messaging by its [`ModeRule`].
    Native,
    /// The first frame of an authentication handshake (EV2, EV1 AES/ISO, legacy D40): no secure
    /// messaging of its own; it ends any session.
    Authentication,
    /// `AF`: the next frame of a chained command or response, part of the exchange it continues.
    AdditionalFrame,
    /// An ISO/IEC 7816-4 command (CLA `00`), not a native code.
    Iso,
}

/// Which access right of a file a file command uses (MF3D(H)x3 access rights; the free-access
/// rule and the comm mode follow from the right that grants it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FileRight {
    /// Read or ReadWrite: ReadData, ReadRecords.
    Read,
    /// Write or ReadWrite: WriteData, WriteRecord, UpdateRecord, LimitedCredit.
    Write,
    /// ReadWrite only: Credit.
    ReadWrite,
    /// Read, Write or ReadWrite: Debit.
    Debit,
    /// Read, Write or ReadWrite, or free when the value file allows a free GetValue: GetValue.
    GetValue,
    /// Change: ChangeFileSettings (travels Full whenever a key grants it).
    Change,
}

/// How the comm mode of a command and its response is decided once a session exists. Without a
/// session everything travels plain. A response travels in its command's mode, except the bare
/// status of a command that ends the session ([`EndsSession`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ModeRule {
    /// No secure messaging (SelectApplication, authentication, `AF`, ISO commands).
    Plain,
    /// `CommMode.MAC`: the management commands, never Full.
    Mac,
    /// Always `CommMode.Full` (GetCardUID, ChangeKey, ChangeKeySettings, SetConfiguration,
    /// Read_Sig).
    Full,
    /// The comm mode of the file the header's first byte names, through this right.
    File(FileRight),
}

/// Whether a successful answer ends the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EndsSession {
    /// The session goes on.
    Never,
    /// Always: the answer is a bare status without MAC (SelectApplication).
    Always,
    /// When the key changed is the one the session was authenticated with: the card answers a
    /// bare `9100` without MAC (ChangeKey, AN12196 Table 27).
    IfAuthenticatedKey,
}

/// Which final statuses complete a command. Spec section 12 step 9: any other final status is a
/// card error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Completion {
    /// `9100` only.
    Ok,
    /// `9100`, or `910C` when nothing was pending (CommitTransaction, AbortTransaction).
    OkOrNoChanges,
}

impl Completion {
    /// Whether `status` completes the command.
    pub const fn accepts(self, status: Status) -> bool {
        match self {
            Self::Ok => status.0 == Status::OPERATION_OK.0,
            Self::OkOrNoChanges => {
                status.0 == Status::OPERATION_OK.0 || status.0 == Status::NO_CHANGES.0
            }
        }
    }
}

/// One native command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// The native code.
    pub ins: Ins,
    /// The ISO/IEC 14443-4 chaining code of the same command, if it has one.
    pub iso_ins: Option<Ins>,
    /// What kind of exchange it is.
    pub kind: Kind,
    /// Bytes of command header: sent in clear in Full mode, covered by the MAC. Commands whose
    /// data is all parameters (never Full) count as header-less.
    pub header_len: u8,
    /// Comm-mode rule of the command and its response.
    pub mode: ModeRule,
    /// Command chaining: the header offset of the 3-byte length of the command data a write
    /// announces (the card waits for `AF` frames until it has that much).
    pub length_at: Option<u8>,
    /// The command is never sent or answered without a session, whatever its mode.
    pub needs_session: bool,
    /// Whether a successful answer ends the session.
    pub ends_session: EndsSession,
    /// The final statuses that complete it.
    pub completion: Completion,
}

impl CommandSpec {
    /// Whether `code` is this command's ISO/IEC 14443-4 chaining code (the card answers such
    /// codes in frames of up to 256 bytes).
    pub const fn is_iso_chaining(&self, code: Ins) -> bool {
        matches!(self.iso_ins, Some(iso) if iso.0 == code.0)
    }

    /// The comm mode once authenticated where it does not depend on a file: `None` for the
    /// file commands, whose mode is the file's.
    #[inline(always)]
    pub const fn fixed_mode(&self) -> Option<super::CommMode> {
        match self.mode {
            ModeRule::Plain => Some(super::CommMode::Plain),
            ModeRule::Mac => Some(super::CommMode::Mac),
            ModeRule::Full => Some(super::CommMode::Full),
            ModeRule::File(_) => None,
        }
    }

    /// Whether `status` completes the command.
    pub const fn accepts(&self, status: Status) -> bool {
        self.completion.accepts(status)
    }
}

impl Ins {
    /// The NXP command name from the command table, `None` for a code not in it.
    pub const fn name(self) -> Option<&'static str> {
        match CommandSpec::lookup(self) {
            Some(spec) => Some(spec.name_of(self)),
            None => None,
        }
    }
}

/// Whether `status` completes command `ins`: [`CommandSpec::accepts`], and `9100` only for a code
/// not in the table.
pub const fn completes(ins: Ins, status: Status) -> bool {
    ins.completion().accepts(status)
}

macro_rules! none_or {
    () => {
        None
    };
    ($x:expr) => {
        Some($x)
    };
}

macro_rules! command_table {
    ($(
        $name:ident = $code:literal $(/ $iso_const:ident = $iso:literal)?, $nxp:literal:
        $kind:ident, $hdr:literal, $mode:expr, $len_at:expr, $needs:literal, $ends:ident, $done:ident;
    )*) => {
        impl Ins {
            $(
                #[doc = concat!("`", $nxp, "`")]
                pub const $name: Ins = Ins($code);
                $(
                    #[doc = concat!("`", $nxp, "` (ISO-chaining code)")]
                    pub const $iso_const: Ins = Ins($iso);
                )?
            )*
        }

        /// One entry per command, in the order of the table.
        pub mod spec {
            use super::*;
            $(
                #[doc = concat!("`", $nxp, "`")]
                pub const $name: CommandSpec = CommandSpec {
                    ins: Ins($code),
                    iso_ins: none_or!($(Ins($iso))?),
                    kind: Kind::$kind,
                    header_len: $hdr,
                    mode: $mode,
                    length_at: $len_at,
                    needs_session: $needs,
                    ends_session: EndsSession::$ends,
                    completion: Completion::$done,
                };
            )*

            /// Every entry.
            pub const ALL: &[CommandSpec] = &[$($name),*];
        }

        impl CommandSpec {
            /// The NXP name of `code`, one of this command's codes (its ISO/IEC 14443-4
            /// chaining code, or else the native code). The names live in this function, not
            /// in the entries: an image that never prints one (the reader firmware) links none.
            pub const fn name_of(&self, code: Ins) -> &'static str {
                let code = match self.iso_ins {
                    Some(iso) if iso.0 == code.0 => iso,
                    _ => self.ins,
                };
                match code.0 {
                    $(
                        $code => $nxp,
                        $($iso => concat!($nxp, " (ISO-chaining code)"),)?
                    )*
                    _ => "",
                }
            }

            /// The entry of `ins` (native or ISO-chaining code), `None` for a code not in the
            /// table.
            pub const fn lookup(ins: Ins) -> Option<&'static CommandSpec> {
                match ins.0 {
                    $($code $(| $iso)? => Some(&spec::$name),)*
                    _ => None,
                }
            }
        }

        /// The facts the reader needs on every exchange, read from the same entries one field
        /// at a time: a match on constants compiles to a small table, so an embedded reader
        /// does not link the whole table with its names.
        impl Ins {
            /// [`CommandSpec::completion`] of this code; `9100` only for a code not in the
            /// table.
            #[inline(always)]
            pub const fn completion(self) -> Completion {
                match self.0 {
                    $($code $(| $iso)? => spec::$name.completion,)*
                    _ => Completion::Ok,
                }
            }

            /// [`CommandSpec::needs_session`] of this code.
            #[inline(always)]
            pub const fn needs_session(self) -> bool {
                match self.0 {
                    $($code $(| $iso)? => spec::$name.needs_session,)*
                    _ => false,
                }
            }

            /// [`CommandSpec::ends_session`] of this code.
            #[inline(always)]
            pub const fn ends_session(self) -> EndsSession {
                match self.0 {
                    $($code $(| $iso)? => spec::$name.ends_session,)*
                    _ => EndsSession::Never,
                }
            }

            /// [`CommandSpec::fixed_mode`] of this code (`None` for a file command or a code not
            /// in the table).
            #[inline(always)]
            pub const fn fixed_mode(self) -> Option<super::CommMode> {
                match self.0 {
                    $($code $(| $iso)? => spec::$name.fixed_mode(),)*
                    _ => None,
                }
            }
        }
    };
}

use FileRight::{Change, Debit, GetValue, Read, ReadWrite, Write};
use ModeRule::{File, Full, Mac, Plain};

command_table! {
    // name = code / ISO-chaining code, NXP name:
    //     kind, header, mode, length at, needs session, ends session, completion;
    AUTHENTICATE_EV2_FIRST = 0x71, "AuthenticateEV2First":
        Authentication, 0, Plain, None, false, Never, Ok;
    AUTHENTICATE_EV2_NON_FIRST = 0x77, "AuthenticateEV2NonFirst":
        Authentication, 0, Plain, None, false, Never, Ok;
    AUTHENTICATE_AES = 0xAA, "AuthenticateAES":
        Authentication, 0, Plain, None, false, Never, Ok;
    AUTHENTICATE_ISO = 0x1A, "AuthenticateISO":
        Authentication, 0, Plain, None, false, Never, Ok;
    AUTHENTICATE_LEGACY = 0x0A, "Authenticate":
        Authentication, 0, Plain, None, false, Never, Ok;
    ADDITIONAL_FRAME = 0xAF, "AdditionalFrame":
        AdditionalFrame, 0, Mac, None, false, Never, Ok;
    GET_VERSION = 0x60, "GetVersion":
        Native, 0, Mac, None, false, Never, Ok;
    GET_CARD_UID = 0x51, "GetCardUID":
        Native, 0, Full, None, true, Never, Ok;
    GET_FREE_MEMORY = 0x6E, "GetFreeMemory":
        Native, 0, Mac, None, false, Never, Ok;
    FORMAT_PICC = 0xFC, "FormatPICC":
        Native, 0, Mac, None, false, Never, Ok;
    SET_CONFIGURATION = 0x5C, "SetConfiguration":
        Native, 1, Full, None, true, Never, Ok;
    SELECT_APPLICATION = 0x5A, "SelectApplication":
        Native, 3, Plain, None, false, Always, Ok;
    GET_APPLICATION_IDS = 0x6A, "GetApplicationIDs":
        Native, 0, Mac, None, false, Never, Ok;
    GET_DF_NAMES = 0x6D, "GetDFNames":
        Native, 0, Mac, None, false, Never, Ok;
    CREATE_APPLICATION = 0xCA, "CreateApplication":
        Native, 0, Mac, None, false, Never, Ok;
    DELETE_APPLICATION = 0xDA, "DeleteApplication":
        Native, 3, Mac, None, false, Never, Ok;
    GET_KEY_SETTINGS = 0x45, "GetKeySettings":
        Native, 0, Mac, None, false, Never, Ok;
    CHANGE_KEY_SETTINGS = 0x54, "ChangeKeySettings":
        Native, 0, Full, None, true, Never, Ok;
    CHANGE_KEY = 0xC4, "ChangeKey":
        Native, 1, Full, None, true, IfAuthenticatedKey, Ok;
    CHANGE_KEY_EV2 = 0xC6, "ChangeKeyEV2":
        Native, 2, Full, None, true, IfAuthenticatedKey, Ok;
    GET_KEY_VERSION = 0x64, "GetKeyVersion":
        Native, 1, Mac, None, false, Never, Ok;
    GET_FILE_IDS = 0x6F, "GetFileIDs":
        Native, 0, Mac, None, false, Never, Ok;
    GET_ISO_FILE_IDS = 0x61, "GetISOFileIDs":
        Native, 0, Mac, None, false, Never, Ok;
    GET_FILE_SETTINGS = 0xF5, "GetFileSettings":
        Native, 1, Mac, None, false, Never, Ok;
    CHANGE_FILE_SETTINGS = 0x5F, "ChangeFileSettings":
        Native, 1, File(Change), None, false, Never, Ok;
    CREATE_STD_DATA_FILE = 0xCD, "CreateStdDataFile":
        Native, 0, Mac, None, false, Never, Ok;
    CREATE_BACKUP_DATA_FILE = 0xCB, "CreateBackupDataFile":
        Native, 0, Mac, None, false, Never, Ok;
    CREATE_VALUE_FILE = 0xCC, "CreateValueFile":
        Native, 0, Mac, None, false, Never, Ok;
    CREATE_LINEAR_RECORD_FILE = 0xC1, "CreateLinearRecordFile":
        Native, 0, Mac, None, false, Never, Ok;
    CREATE_CYCLIC_RECORD_FILE = 0xC0, "CreateCyclicRecordFile":
        Native, 0, Mac, None, false, Never, Ok;
    DELETE_FILE = 0xDF, "DeleteFile":
        Native, 1, Mac, None, false, Never, Ok;
    READ_DATA = 0xBD / READ_DATA_ISO = 0xAD, "ReadData":
        Native, 7, File(Read), None, false, Never, Ok;
    WRITE_DATA = 0x3D / WRITE_DATA_ISO = 0x8D, "WriteData":
        Native, 7, File(Write), Some(4), false, Never, Ok;
    GET_VALUE = 0x6C, "GetValue":
        Native, 1, File(GetValue), None, false, Never, Ok;
    CREDIT = 0x0C, "Credit":
        Native, 1, File(ReadWrite), None, false, Never, Ok;
    DEBIT = 0xDC, "Debit":
        Native, 1, File(Debit), None, false, Never, Ok;
    LIMITED_CREDIT = 0x1C, "LimitedCredit":
        Native, 1, File(Write), None, false, Never, Ok;
    READ_RECORDS = 0xBB / READ_RECORDS_ISO = 0xAB, "ReadRecords":
        Native, 7, File(Read), None, false, Never, Ok;
    WRITE_RECORD = 0x3B / WRITE_RECORD_ISO = 0x8B, "WriteRecord":
        Native, 7, File(Write), Some(4), false, Never, Ok;
    UPDATE_RECORD = 0xDB / UPDATE_RECORD_ISO = 0xBA, "UpdateRecord":
        Native, 10, File(Write), Some(7), false, Never, Ok;
    CLEAR_RECORD_FILE = 0xEB, "ClearRecordFile":
        Native, 1, Mac, None, false, Never, Ok;
    COMMIT_TRANSACTION = 0xC7, "CommitTransaction":
        Native, 0, Mac, None, false, Never, OkOrNoChanges;
    ABORT_TRANSACTION = 0xA7, "AbortTransaction":
        Native, 0, Mac, None, false, Never, OkOrNoChanges;
    READ_SIG = 0x3C, "Read_Sig":
        Native, 1, Full, None, false, Never, Ok;
    ISO_SELECT_FILE = 0xA4, "ISOSelectFile":
        Iso, 0, Plain, None, false, Always, Ok;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_appears_once() {
        let codes = spec::ALL
            .iter()
            .flat_map(|s| core::iter::once(s.ins).chain(s.iso_ins));
        for (i, a) in codes.clone().enumerate() {
            assert_eq!(codes.clone().filter(|b| *b == a).count(), 1, "{a:?}");
            let found = CommandSpec::lookup(a).unwrap();
            assert!(found.ins == a || found.iso_ins == Some(a), "entry {i}");
        }
        assert_eq!(CommandSpec::lookup(Ins(0x42)), None);
    }

    #[test]
    fn entries() {
        let read = CommandSpec::lookup(Ins::READ_DATA_ISO).unwrap();
        assert_eq!(read.ins, Ins::READ_DATA);
        assert_eq!(read.name_of(Ins::READ_DATA), "ReadData");
        assert_eq!(
            read.name_of(Ins::READ_DATA_ISO),
            "ReadData (ISO-chaining code)"
        );
        assert!(read.is_iso_chaining(Ins::READ_DATA_ISO) && !read.is_iso_chaining(Ins::READ_DATA));
        assert_eq!(
            (read.header_len, read.mode),
            (7, ModeRule::File(FileRight::Read))
        );
        let update = spec::UPDATE_RECORD;
        assert_eq!((update.header_len, update.length_at), (10, Some(7)));
        assert_eq!(
            spec::CHANGE_KEY.ends_session,
            EndsSession::IfAuthenticatedKey
        );
        assert_eq!(spec::SELECT_APPLICATION.ends_session, EndsSession::Always);
        let (uid, sig) = (
            CommandSpec::lookup(Ins::GET_CARD_UID),
            CommandSpec::lookup(Ins::READ_SIG),
        );
        assert!(uid.unwrap().needs_session && !sig.unwrap().needs_session);
    }

    #[test]
    fn field_accessors_agree_with_the_entries() {
        for code in 0..=u8::MAX {
            let ins = Ins(code);
            match CommandSpec::lookup(ins) {
                Some(s) => {
                    assert_eq!(ins.completion(), s.completion, "{ins:?}");
                    assert_eq!(ins.needs_session(), s.needs_session, "{ins:?}");
                    assert_eq!(ins.ends_session(), s.ends_session, "{ins:?}");
                    assert_eq!(ins.fixed_mode(), s.fixed_mode(), "{ins:?}");
                }
                None => {
                    assert_eq!(ins.completion(), Completion::Ok);
                    assert!(!ins.needs_session() && ins.fixed_mode().is_none());
                    assert_eq!(ins.ends_session(), EndsSession::Never);
                }
            }
        }
    }

    #[test]
    fn completion_per_command() {
        // Spec section 12 step 9: a final status other than 00 is a card error, except where a
        // command documents another completion (910C: nothing to commit or abort).
        assert!(completes(Ins::READ_DATA, Status::OPERATION_OK));
        assert!(!completes(Ins::READ_DATA_ISO, Status::NO_CHANGES));
        assert!(!completes(Ins::GET_CARD_UID, Status::NO_CHANGES));
        assert!(completes(Ins::COMMIT_TRANSACTION, Status::NO_CHANGES));
        assert!(completes(Ins::ABORT_TRANSACTION, Status::NO_CHANGES));
        assert!(!completes(
            Ins::COMMIT_TRANSACTION,
            Status::ADDITIONAL_FRAME
        ));
        assert!(completes(Ins(0x42), Status::OPERATION_OK));
        assert!(!completes(Ins(0x42), Status::NO_CHANGES));
    }
}
