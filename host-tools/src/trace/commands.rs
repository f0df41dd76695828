//! What the decoder knows about each command, read from the core's command table
//! (`desfire_core::wire::CommandSpec`): header length, comm-mode rule, completion statuses; and
//! names of ISO commands and ISO status words.
//!
//! Sources: NT4H2421Gx (NTAG 424 DNA) §10 command tables, MIFARE DESFire EV3 public short data
//! sheet command list, AN12196; see `shared/vectors/nxp-public.md` for the protocol facts.

use desfire_core::wire::{CommandSpec, FileRight, Ins, Kind, Status};

/// `AdditionalFrame` (`AF`).
pub const INS_ADDITIONAL_FRAME: u8 = Ins::ADDITIONAL_FRAME.0;
/// AuthenticateEV2First.
pub const INS_AUTH_EV2_FIRST: u8 = Ins::AUTHENTICATE_EV2_FIRST.0;
/// AuthenticateEV2NonFirst.
pub const INS_AUTH_EV2_NON_FIRST: u8 = Ins::AUTHENTICATE_EV2_NON_FIRST.0;
/// SelectApplication.
pub const INS_SELECT_APPLICATION: u8 = Ins::SELECT_APPLICATION.0;
/// ChangeKey.
pub const INS_CHANGE_KEY: u8 = Ins::CHANGE_KEY.0;
/// GetFileSettings.
pub const INS_GET_FILE_SETTINGS: u8 = Ins::GET_FILE_SETTINGS.0;
/// ChangeFileSettings.
pub const INS_CHANGE_FILE_SETTINGS: u8 = Ins::CHANGE_FILE_SETTINGS.0;

/// Whether `ins` starts an authentication (EV2, EV1 AES/ISO, or legacy D40).
pub const fn is_authentication(ins: u8) -> bool {
    matches!(
        CommandSpec::lookup(Ins(ins)),
        Some(CommandSpec {
            kind: Kind::Authentication,
            ..
        })
    )
}

/// Length of the command header (the part never encrypted) of a native command: the table's
/// [`CommandSpec::header_len`].
///
/// Commands whose whole data is parameters (CreateApplication and the like, which are never
/// Full) and unknown commands count as header-less: all their data is reported as data.
pub const fn header_len(ins: u8) -> usize {
    match CommandSpec::lookup(Ins(ins)) {
        Some(spec) => spec.header_len as usize,
        None => 0,
    }
}

/// Whether `status` completes native command `ins` (the table's [`CommandSpec::accepts`]).
pub const fn completes(ins: u8, status: Status) -> bool {
    desfire_core::wire::completes(Ins(ins), status)
}

/// How the comm mode of a command is decided while authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeRule {
    /// Always CommMode.Full (GetCardUID, ChangeKey, ChangeKeySettings, SetConfiguration,
    /// Read_Sig while authenticated).
    AlwaysFull,
    /// The comm mode of the file the command targets (its header's first byte).
    File(FileAccess),
    /// MAC or Plain, never Full (CreateApplication and the other management commands).
    NeverFull,
    /// Not known: MACs tell Plain from MAC, the padding tells MAC from Full.
    Unknown,
}

/// Which access right of a file a command uses, for the free-access rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAccess {
    /// ReadData, ReadRecords, GetValue.
    Read,
    /// WriteData, WriteRecord, UpdateRecord, Credit, Debit, LimitedCredit.
    Write,
}

/// The comm-mode rule of native command `ins`, from the table's [`CommandSpec::mode`].
///
/// ChangeFileSettings stays [`ModeRule::Unknown`]: its mode follows the change right, which the
/// decoder infers from the MACs and the padding.
pub const fn mode_rule(ins: u8) -> ModeRule {
    use desfire_core::wire::ModeRule as Rule;
    let Some(spec) = CommandSpec::lookup(Ins(ins)) else {
        return ModeRule::Unknown;
    };
    match (spec.kind, spec.mode) {
        (Kind::Authentication | Kind::Iso, _) | (_, Rule::File(FileRight::Change)) => {
            ModeRule::Unknown
        }
        (_, Rule::Full) => ModeRule::AlwaysFull,
        (_, Rule::Plain | Rule::Mac) => ModeRule::NeverFull,
        (_, Rule::File(FileRight::Read | FileRight::GetValue)) => ModeRule::File(FileAccess::Read),
        (_, Rule::File(FileRight::Write | FileRight::ReadWrite | FileRight::Debit)) => {
            ModeRule::File(FileAccess::Write)
        }
    }
}

/// Names of ISO/IEC 7816-4 commands (CLA `00`) that DESFire EV3 implements.
pub const fn iso_command_name(ins: u8) -> Option<&'static str> {
    Some(match ins {
        0xA4 => "ISOSelectFile",
        0xB0 => "ISOReadBinary",
        0xD6 => "ISOUpdateBinary",
        0xB2 => "ISOReadRecord",
        0xE2 => "ISOAppendRecord",
        0x84 => "ISOGetChallenge",
        0x82 => "ISOExternalAuthenticate",
        0x88 => "ISOInternalAuthenticate",
        _ => return None,
    })
}

/// Names of ISO/IEC 7816-4 status words.
pub const fn iso_status_name(sw: [u8; 2]) -> Option<&'static str> {
    Some(match sw {
        [0x90, 0x00] => "OK",
        [0x67, 0x00] => "WRONG_LENGTH",
        [0x69, 0x82] => "SECURITY_STATUS_NOT_SATISFIED",
        [0x69, 0x85] => "CONDITIONS_OF_USE_NOT_SATISFIED",
        [0x6A, 0x80] => "INCORRECT_DATA",
        [0x6A, 0x82] => "FILE_NOT_FOUND",
        [0x6A, 0x86] => "INCORRECT_P1_P2",
        [0x6A, 0x87] => "LC_INCONSISTENT_WITH_P1_P2",
        [0x6C, _] => "WRONG_LE",
        [0x6D, 0x00] => "INS_NOT_SUPPORTED",
        [0x6E, 0x00] => "CLA_NOT_SUPPORTED",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_the_full_mode_commands() {
        // The header lengths Full-mode decryption depends on.
        for (ins, len) in [
            (0xC4, 1),
            (0x54, 0),
            (0x5C, 1),
            (0x3D, 7),
            (0x8D, 7),
            (0x3B, 7),
            (0x8B, 7),
            (0xDB, 10),
            (0xBA, 10),
            (0x0C, 1),
            (0xDC, 1),
            (0x1C, 1),
            (0x5F, 1),
            (0x51, 0),
        ] {
            assert_eq!(header_len(ins), len, "INS {ins:02X}");
        }
    }

    #[test]
    fn rules() {
        assert_eq!(mode_rule(0xC4), ModeRule::AlwaysFull);
        assert_eq!(mode_rule(0xBD), ModeRule::File(FileAccess::Read));
        assert_eq!(mode_rule(0x8D), ModeRule::File(FileAccess::Write));
        assert_eq!(mode_rule(0xCA), ModeRule::NeverFull);
        assert_eq!(mode_rule(0x5F), ModeRule::Unknown);
        assert!(is_authentication(0x71) && is_authentication(0xAA) && !is_authentication(0xAF));
        assert_eq!(iso_command_name(0xA4), Some("ISOSelectFile"));
        assert_eq!(iso_status_name([0x6C, 0x10]), Some("WRONG_LE"));
        assert_eq!(iso_status_name([0x91, 0x00]), None);
    }
}
