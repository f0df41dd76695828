//! PN532 command codes (UM0701-02 §7, table of commands) and error codes (§7.1).

/// A command code (PD0 of a `D4` frame). The response code is the command code plus one.
/// An open code space: codes without a name here get the syntax-error frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Command(pub u8);

impl Command {
    /// §7.2.1: self tests; test 00 echoes its parameters (libnfc's line check).
    pub const DIAGNOSE: Self = Self(0x00);
    /// §7.2.2: IC, version, revision and supported protocols.
    pub const GET_FIRMWARE_VERSION: Self = Self(0x02);
    /// §7.2.3: last error, field, targets in use, SAM status.
    pub const GET_GENERAL_STATUS: Self = Self(0x04);
    /// §7.2.4: reads registers (SFR and XRAM, 16-bit addresses).
    pub const READ_REGISTER: Self = Self(0x06);
    /// §7.2.5: writes registers.
    pub const WRITE_REGISTER: Self = Self(0x08);
    /// §7.2.9: internal flags (auto ATR_RES, auto RATS, ...).
    pub const SET_PARAMETERS: Self = Self(0x12);
    /// §7.2.10: SAM mode; also what the host sends first after the HSU wake-up.
    pub const SAM_CONFIGURATION: Self = Self(0x14);
    /// §7.2.11: power-down mode (RF off until woken).
    pub const POWER_DOWN: Self = Self(0x16);
    /// §7.3.1: RF field, timings, retries, analog settings.
    pub const RF_CONFIGURATION: Self = Self(0x32);
    /// §7.3.8: a frame to the activated target and its answer (ISO-DEP handled by the chip).
    pub const IN_DATA_EXCHANGE: Self = Self(0x40);
    /// §7.3.9: raw frames to the target; used by libnfc to probe types the chip cannot poll.
    pub const IN_COMMUNICATE_THRU: Self = Self(0x42);
    /// §7.3.10: deselects the target (S(DESELECT) for ISO-DEP).
    pub const IN_DESELECT: Self = Self(0x44);
    /// §7.3.5: polls for targets of one modulation.
    pub const IN_LIST_PASSIVE_TARGET: Self = Self(0x4A);
    /// §7.3.11: releases the target.
    pub const IN_RELEASE: Self = Self(0x52);
    /// §7.3.12: selects a target again.
    pub const IN_SELECT: Self = Self(0x54);

    /// The response code.
    pub fn response(self) -> u8 {
        self.0.wrapping_add(1)
    }
}

impl core::fmt::Display for Command {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = match *self {
            Self::DIAGNOSE => "Diagnose",
            Self::GET_FIRMWARE_VERSION => "GetFirmwareVersion",
            Self::GET_GENERAL_STATUS => "GetGeneralStatus",
            Self::READ_REGISTER => "ReadRegister",
            Self::WRITE_REGISTER => "WriteRegister",
            Self::SET_PARAMETERS => "SetParameters",
            Self::SAM_CONFIGURATION => "SAMConfiguration",
            Self::POWER_DOWN => "PowerDown",
            Self::RF_CONFIGURATION => "RFConfiguration",
            Self::IN_DATA_EXCHANGE => "InDataExchange",
            Self::IN_COMMUNICATE_THRU => "InCommunicateThru",
            Self::IN_DESELECT => "InDeselect",
            Self::IN_LIST_PASSIVE_TARGET => "InListPassiveTarget",
            Self::IN_RELEASE => "InRelease",
            Self::IN_SELECT => "InSelect",
            Self(code) => return write!(f, "command {code:02X}"),
        };
        f.write_str(name)
    }
}

/// The status byte of In* responses (§7.1): bits 0..5 the error code, bit 6 MI (more
/// information: the answer continues), bit 7 NAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u8);

impl ErrorCode {
    /// Success.
    pub const OK: Self = Self(0x00);
    /// The target has not answered.
    pub const TIMEOUT: Self = Self(0x01);
    /// The communication buffer is too small for the data.
    pub const BUFFER_SIZE_INSUFFICIENT: Self = Self(0x07);
    /// Invalid parameter (range, format).
    pub const INVALID_PARAMETER: Self = Self(0x10);
    /// Not acceptable in the current context (unknown target number, target not in the right
    /// state).
    pub const WRONG_CONTEXT: Self = Self(0x27);
}

/// Bit 6 of Tg (host to chip) and of the status byte (chip to host): more information follows
/// (§7.3.8).
pub const MI: u8 = 0x40;

/// Bits 0..5 of Tg: the target number.
pub const TG_MASK: u8 = 0x3F;

/// BrTy of InListPassiveTarget (§7.3.5): 106 kbps type A (ISO/IEC 14443 type A).
pub const BRTY_106_TYPE_A: u8 = 0x00;
