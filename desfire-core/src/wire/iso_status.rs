//! ISO/IEC 7816-4 status words (SW1 SW2) of the ISO-class commands (CLA `00`) a DESFire EV3
//! answers, such as ISOSelectFile, and of malformed APDUs. An open code space, so a newtype with
//! named constants, as [`super::Status`] is for the native statuses.
//!
//! Source: ISO/IEC 7816-4 as public tooling lists the codes; the subset a DESFire EV3 returns is
//! in `shared/vectors/nxp-public.md`.

/// A two-byte ISO/IEC 7816-4 status word, `SW1 << 8 | SW2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IsoStatus(pub u16);

macro_rules! iso_statuses {
    ($($name:ident = $value:expr;)*) => {
        impl IsoStatus {
            $(
                #[doc = concat!("`", stringify!($value), "`")]
                pub const $name: IsoStatus = IsoStatus($value);
            )*

            /// The name of a known status word (`WRONG_LE` for any `6Cxx`), `None` otherwise.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    0x6C00..=0x6CFF => Some("WRONG_LE"),
                    _ => None,
                }
            }
        }
    };
}

iso_statuses! {
    OK = 0x9000;
    WRONG_LENGTH = 0x6700;
    SECURITY_STATUS_NOT_SATISFIED = 0x6982;
    CONDITIONS_OF_USE_NOT_SATISFIED = 0x6985;
    INCORRECT_DATA = 0x6A80;
    FILE_NOT_FOUND = 0x6A82;
    INCORRECT_P1_P2 = 0x6A86;
    LC_INCONSISTENT_WITH_P1_P2 = 0x6A87;
    INS_NOT_SUPPORTED = 0x6D00;
    CLA_NOT_SUPPORTED = 0x6E00;
}

impl IsoStatus {
    /// The two bytes on the wire.
    pub const fn to_wire(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// From the two bytes on the wire.
    pub const fn from_wire(sw: [u8; 2]) -> Self {
        Self(u16::from_be_bytes(sw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_wire_order() {
        assert_eq!(
            IsoStatus::from_wire([0x6A, 0x82]),
            IsoStatus::FILE_NOT_FOUND
        );
        assert_eq!(IsoStatus::FILE_NOT_FOUND.to_wire(), [0x6A, 0x82]);
        assert_eq!(IsoStatus::OK.name(), Some("OK"));
        assert_eq!(IsoStatus(0x6C10).name(), Some("WRONG_LE"));
        assert_eq!(IsoStatus(0x9100).name(), None);
    }
}
