//! DESFire status codes: SW2 of an ISO-wrapped response whose SW1 is `91`.
//!
//! An open code space, so a newtype with named constants (NT4H2421Gx Table 23 and the DESFire
//! EV1/EV2/EV3 codes as public tooling lists them).

/// A one-byte DESFire status (response code).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Status(pub u8);

macro_rules! statuses {
    ($($name:ident = $value:expr, $text:expr;)*) => {
        impl Status {
            $(
                #[doc = $text]
                pub const $name: Status = Status($value);
            )*

            /// The NXP name of a known status, `None` for an unknown code.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

statuses! {
    OPERATION_OK = 0x00, "Successful operation.";
    NO_CHANGES = 0x0C, "No changes done to backup files, CommitTransaction/AbortTransaction not necessary.";
    OUT_OF_EEPROM = 0x0E, "Insufficient NV memory to complete the command.";
    ILLEGAL_COMMAND_CODE = 0x1C, "Command code not supported.";
    INTEGRITY_ERROR = 0x1E, "CRC or MAC does not match data, or padding bytes not valid.";
    NO_SUCH_KEY = 0x40, "Invalid key number specified.";
    LENGTH_ERROR = 0x7E, "Length of command string invalid.";
    PERMISSION_DENIED = 0x9D, "Current configuration or status does not allow the requested command.";
    PARAMETER_ERROR = 0x9E, "Value of the parameter(s) invalid.";
    APPLICATION_NOT_FOUND = 0xA0, "Requested AID not present on the PICC.";
    APPL_INTEGRITY_ERROR = 0xA1, "Unrecoverable error within the application.";
    AUTHENTICATION_DELAY = 0xAD, "Authentication delay: too many failed authentications, wait.";
    AUTHENTICATION_ERROR = 0xAE, "Current authentication status does not allow the command.";
    ADDITIONAL_FRAME = 0xAF, "Additional data frame is expected to be sent (or can be fetched).";
    BOUNDARY_ERROR = 0xBE, "Attempt to read or write beyond the file's or record's limits.";
    PICC_INTEGRITY_ERROR = 0xC1, "Unrecoverable error within the PICC.";
    COMMAND_ABORTED = 0xCA, "Previous command was not fully completed.";
    PICC_DISABLED = 0xCD, "PICC was disabled by an unrecoverable error.";
    COUNT_ERROR = 0xCE, "Number of applications limited to 28.";
    DUPLICATE_ERROR = 0xDE, "Creation of a file or application failed because it already exists.";
    MEMORY_ERROR = 0xEE, "Could not complete NV write operation due to loss of power.";
    FILE_NOT_FOUND = 0xF0, "Specified file number does not exist.";
    FILE_INTEGRITY_ERROR = 0xF1, "Unrecoverable error within the file.";
}

impl core::fmt::Debug for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Status::{name}"),
            None => write!(f, "Status({:#04x})", self.0),
        }
    }
}

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "91{:02X} {name}", self.0),
            None => write!(f, "91{:02X} (unknown status)", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;

    #[test]
    fn names_and_display() {
        assert_eq!(Status(0xAE), Status::AUTHENTICATION_ERROR);
        assert_eq!(
            Status::AUTHENTICATION_ERROR.name(),
            Some("AUTHENTICATION_ERROR")
        );
        assert_eq!(std::format!("{}", Status(0x9D)), "919D PERMISSION_DENIED");
        assert_eq!(std::format!("{}", Status(0x42)), "9142 (unknown status)");
        assert_eq!(std::format!("{:?}", Status(0x42)), "Status(0x42)");
    }
}
