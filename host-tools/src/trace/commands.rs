//! What the decoder knows about each command: header length, comm-mode rule, names of ISO
//! commands and ISO status words.
//!
//! Sources: NT4H2421Gx (NTAG 424 DNA) §10 command tables, MIFARE DESFire EV3 public short data
//! sheet command list, AN12196; see `shared/vectors/nxp-public.md` for the protocol facts.

/// `AdditionalFrame` (`AF`).
pub const INS_ADDITIONAL_FRAME: u8 = 0xAF;
/// AuthenticateEV2First.
pub const INS_AUTH_EV2_FIRST: u8 = 0x71;
/// AuthenticateEV2NonFirst.
pub const INS_AUTH_EV2_NON_FIRST: u8 = 0x77;
/// SelectApplication.
pub const INS_SELECT_APPLICATION: u8 = 0x5A;
/// ChangeKey.
pub const INS_CHANGE_KEY: u8 = 0xC4;
/// GetFileSettings.
pub const INS_GET_FILE_SETTINGS: u8 = 0xF5;
/// ChangeFileSettings.
pub const INS_CHANGE_FILE_SETTINGS: u8 = 0x5F;

/// Whether `ins` starts an authentication (EV2, EV1 AES/ISO, or legacy D40).
pub const fn is_authentication(ins: u8) -> bool {
    matches!(ins, 0x71 | 0x77 | 0xAA | 0x1A | 0x0A)
}

/// Length of the command header (the part never encrypted) of a native command.
///
/// Commands whose whole data is parameters (CreateApplication and the like, which are never
/// Full) and unknown commands count as header-less: all their data is reported as data.
pub const fn header_len(ins: u8) -> usize {
    match ins {
        // ChangeKey (KeyNo), SetConfiguration (option), value operations and GetValue (FileNo),
        // ChangeFileSettings, GetFileSettings, Read_Sig (address), GetKeyVersion, file deletion
        // and clearing (FileNo).
        0xC4 | 0x5C | 0x0C | 0xDC | 0x1C | 0x6C | 0x5F | 0xF5 | 0x3C | 0x64 | 0xDF | 0xEB => 1,
        // ChangeKeyEV2: KeySetNo, KeyNo.
        0xC6 => 2,
        // SelectApplication, DeleteApplication: AID.
        0x5A | 0xDA => 3,
        // ReadData, WriteData, ReadRecords, WriteRecord: FileNo, Offset(3), Length(3).
        0xBD | 0xAD | 0x3D | 0x8D | 0xBB | 0xAB | 0x3B | 0x8B => 7,
        // UpdateRecord: FileNo, RecNo(3), Offset(3), Length(3).
        0xDB | 0xBA => 10,
        _ => 0,
    }
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

/// The comm-mode rule of native command `ins`.
pub const fn mode_rule(ins: u8) -> ModeRule {
    match ins {
        0x51 | 0xC4 | 0xC6 | 0x54 | 0x5C | 0x3C => ModeRule::AlwaysFull,
        0xBD | 0xAD | 0xBB | 0xAB | 0x6C => ModeRule::File(FileAccess::Read),
        0x3D | 0x8D | 0x3B | 0x8B | 0xDB | 0xBA | 0x0C | 0xDC | 0x1C => {
            ModeRule::File(FileAccess::Write)
        }
        0x5A | 0x60 | 0x6A | 0x6D | 0x6E | 0x6F | 0x61 | 0xFC | 0xCA | 0xDA | 0xCD | 0xCB
        | 0xCC | 0xC1 | 0xC0 | 0xDF | 0xF5 | 0x45 | 0x64 | 0xEB | 0xC7 | 0xA7 | 0xAF => {
            ModeRule::NeverFull
        }
        _ => ModeRule::Unknown,
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
