//! Native DESFire instruction codes (the INS byte of the ISO wrapping).

/// A native command code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ins(pub u8);

macro_rules! instructions {
    ($($name:ident = $value:expr, $nxp:expr;)*) => {
        impl Ins {
            $(
                #[doc = concat!("`", $nxp, "`")]
                pub const $name: Ins = Ins($value);
            )*

            /// The NXP command name, `None` for an unknown code.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($nxp),)*
                    _ => None,
                }
            }
        }
    };
}

instructions! {
    AUTHENTICATE_EV2_FIRST = 0x71, "AuthenticateEV2First";
    AUTHENTICATE_EV2_NON_FIRST = 0x77, "AuthenticateEV2NonFirst";
    AUTHENTICATE_AES = 0xAA, "AuthenticateAES";
    AUTHENTICATE_ISO = 0x1A, "AuthenticateISO";
    AUTHENTICATE_LEGACY = 0x0A, "Authenticate";
    ADDITIONAL_FRAME = 0xAF, "AdditionalFrame";
    GET_VERSION = 0x60, "GetVersion";
    GET_CARD_UID = 0x51, "GetCardUID";
    GET_FREE_MEMORY = 0x6E, "GetFreeMemory";
    FORMAT_PICC = 0xFC, "FormatPICC";
    SET_CONFIGURATION = 0x5C, "SetConfiguration";
    SELECT_APPLICATION = 0x5A, "SelectApplication";
    GET_APPLICATION_IDS = 0x6A, "GetApplicationIDs";
    GET_DF_NAMES = 0x6D, "GetDFNames";
    CREATE_APPLICATION = 0xCA, "CreateApplication";
    DELETE_APPLICATION = 0xDA, "DeleteApplication";
    GET_KEY_SETTINGS = 0x45, "GetKeySettings";
    CHANGE_KEY_SETTINGS = 0x54, "ChangeKeySettings";
    CHANGE_KEY = 0xC4, "ChangeKey";
    CHANGE_KEY_EV2 = 0xC6, "ChangeKeyEV2";
    GET_KEY_VERSION = 0x64, "GetKeyVersion";
    GET_FILE_IDS = 0x6F, "GetFileIDs";
    GET_ISO_FILE_IDS = 0x61, "GetISOFileIDs";
    GET_FILE_SETTINGS = 0xF5, "GetFileSettings";
    CHANGE_FILE_SETTINGS = 0x5F, "ChangeFileSettings";
    CREATE_STD_DATA_FILE = 0xCD, "CreateStdDataFile";
    CREATE_BACKUP_DATA_FILE = 0xCB, "CreateBackupDataFile";
    CREATE_VALUE_FILE = 0xCC, "CreateValueFile";
    CREATE_LINEAR_RECORD_FILE = 0xC1, "CreateLinearRecordFile";
    CREATE_CYCLIC_RECORD_FILE = 0xC0, "CreateCyclicRecordFile";
    DELETE_FILE = 0xDF, "DeleteFile";
    READ_DATA = 0xBD, "ReadData";
    READ_DATA_ISO = 0xAD, "ReadData (ISO-chaining code)";
    WRITE_DATA = 0x3D, "WriteData";
    WRITE_DATA_ISO = 0x8D, "WriteData (ISO-chaining code)";
    GET_VALUE = 0x6C, "GetValue";
    CREDIT = 0x0C, "Credit";
    DEBIT = 0xDC, "Debit";
    LIMITED_CREDIT = 0x1C, "LimitedCredit";
    READ_RECORDS = 0xBB, "ReadRecords";
    READ_RECORDS_ISO = 0xAB, "ReadRecords (ISO-chaining code)";
    WRITE_RECORD = 0x3B, "WriteRecord";
    WRITE_RECORD_ISO = 0x8B, "WriteRecord (ISO-chaining code)";
    UPDATE_RECORD = 0xDB, "UpdateRecord";
    UPDATE_RECORD_ISO = 0xBA, "UpdateRecord (ISO-chaining code)";
    CLEAR_RECORD_FILE = 0xEB, "ClearRecordFile";
    COMMIT_TRANSACTION = 0xC7, "CommitTransaction";
    ABORT_TRANSACTION = 0xA7, "AbortTransaction";
    READ_SIG = 0x3C, "Read_Sig";
    ISO_SELECT_FILE = 0xA4, "ISOSelectFile";
}

impl core::fmt::Debug for Ins {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Ins({:#04x} {name})", self.0),
            None => write!(f, "Ins({:#04x})", self.0),
        }
    }
}

impl core::fmt::Display for Ins {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Unknown({:02X})", self.0),
        }
    }
}
