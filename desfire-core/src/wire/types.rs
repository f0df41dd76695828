//! Typed identifiers and small enums of the DESFire data model.

use super::Error;

/// Application identifier: 24 bits, sent least significant byte first.
///
/// Written here as humans write AIDs (`0x0AC501`); [`Aid::to_wire`] gives `01 C5 0A`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Aid(u32);

impl Aid {
    /// The PICC level (`000000`).
    pub const PICC: Aid = Aid(0);

    /// An AID from its 24-bit number. `None` above `0xFFFFFF`.
    pub const fn new(value: u32) -> Option<Self> {
        if value <= 0x00FF_FFFF {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The AID from its three wire bytes (LSB first).
    pub const fn from_wire(b: [u8; 3]) -> Self {
        Self(u32::from_le_bytes([b[0], b[1], b[2], 0]))
    }

    /// The three wire bytes (LSB first).
    pub const fn to_wire(self) -> [u8; 3] {
        let [a, b, c, _] = self.0.to_le_bytes();
        [a, b, c]
    }

    /// The 24-bit number.
    pub const fn value(self) -> u32 {
        self.0
    }
}

impl core::fmt::Debug for Aid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Aid({:06X})", self.0)
    }
}

impl core::fmt::Display for Aid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:06X}", self.0)
    }
}

/// A key number within an application: 0 to 13.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeyNo(u8);

impl KeyNo {
    /// The application (or PICC) master key.
    pub const MASTER: KeyNo = KeyNo(0);
    /// Most keys an application can hold.
    pub const MAX_KEYS: u8 = 14;

    /// `None` for 14 and above.
    pub const fn new(n: u8) -> Option<Self> {
        if n < Self::MAX_KEYS {
            Some(Self(n))
        } else {
            None
        }
    }

    /// The number.
    pub const fn value(self) -> u8 {
        self.0
    }
}

impl core::fmt::Display for KeyNo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A file number within an application: 0 to 31.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FileNo(u8);

impl FileNo {
    /// `None` above 31.
    pub const fn new(n: u8) -> Option<Self> {
        if n < 32 { Some(Self(n)) } else { None }
    }

    /// The number.
    pub const fn value(self) -> u8 {
        self.0
    }
}

impl core::fmt::Display for FileNo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:02X}", self.0)
    }
}

/// A 24-bit unsigned number (offsets, lengths, file sizes, record counts), sent LSB first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct U24(u32);

impl U24 {
    /// `None` above `0xFFFFFF`.
    pub const fn new(v: u32) -> Option<Self> {
        if v <= 0x00FF_FFFF {
            Some(Self(v))
        } else {
            None
        }
    }

    /// From the three wire bytes.
    pub const fn from_wire(b: [u8; 3]) -> Self {
        Self(u32::from_le_bytes([b[0], b[1], b[2], 0]))
    }

    /// The three wire bytes.
    pub const fn to_wire(self) -> [u8; 3] {
        let [a, b, c, _] = self.0.to_le_bytes();
        [a, b, c]
    }

    /// The number.
    pub const fn value(self) -> u32 {
        self.0
    }
}

/// Communication mode of a file or command (bits 1..0 of the file option byte).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CommMode {
    /// No protection (wire value `00`, and `10` on EV1 and later).
    Plain,
    /// Integrity: MACt on command and response.
    Mac,
    /// Integrity and confidentiality: data encrypted, then MACed.
    Full,
}

impl CommMode {
    /// Decodes bits 1..0 of a file option byte.
    pub const fn from_bits(b: u8) -> Self {
        match b & 0b11 {
            0b01 => Self::Mac,
            0b11 => Self::Full,
            _ => Self::Plain,
        }
    }

    /// Encodes as bits 1..0.
    pub const fn bits(self) -> u8 {
        match self {
            Self::Plain => 0b00,
            Self::Mac => 0b01,
            Self::Full => 0b11,
        }
    }

    /// Lower-case name as used in reports: `plain`, `mac`, `full`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Mac => "mac",
            Self::Full => "full",
        }
    }
}

impl core::fmt::Display for CommMode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// File type, as in GetFileSettings.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FileType {
    /// Standard data file.
    StdData,
    /// Backup data file (transactional).
    BackupData,
    /// Value file (transactional).
    Value,
    /// Linear record file (transactional).
    LinearRecord,
    /// Cyclic record file (transactional).
    CyclicRecord,
    /// Transaction MAC file.
    TransactionMac,
}

impl FileType {
    /// Decodes the file type byte.
    pub const fn from_byte(b: u8) -> Result<Self, Error> {
        Ok(match b {
            0 => Self::StdData,
            1 => Self::BackupData,
            2 => Self::Value,
            3 => Self::LinearRecord,
            4 => Self::CyclicRecord,
            5 => Self::TransactionMac,
            _ => return Err(Error::BadValue),
        })
    }

    /// The file type byte.
    pub const fn byte(self) -> u8 {
        match self {
            Self::StdData => 0,
            Self::BackupData => 1,
            Self::Value => 2,
            Self::LinearRecord => 3,
            Self::CyclicRecord => 4,
            Self::TransactionMac => 5,
        }
    }
}

/// Who may use an access right: a key, everybody, or nobody (one nibble of the access rights).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Access {
    /// Authentication with this key is required. A [`KeyNo`], so that a number above 13 cannot
    /// turn into the nibble `E` (free) or `F` (never) on the wire.
    Key(KeyNo),
    /// Free access (`E`).
    Free,
    /// No access (`F`).
    Never,
}

impl Access {
    /// Decodes a nibble.
    pub const fn from_nibble(n: u8) -> Self {
        match n & 0x0F {
            0x0E => Self::Free,
            0x0F => Self::Never,
            k => Self::Key(KeyNo(k)),
        }
    }

    /// The nibble.
    pub const fn nibble(self) -> u8 {
        match self {
            Self::Key(k) => k.0,
            Self::Free => 0x0E,
            Self::Never => 0x0F,
        }
    }
}

impl core::fmt::Display for Access {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Key(k) => write!(f, "key {k}"),
            Self::Free => f.write_str("free"),
            Self::Never => f.write_str("never"),
        }
    }
}

/// The four access rights of a file. Wire format: two bytes, little endian, of the 16-bit value
/// `Read << 12 | Write << 8 | ReadWrite << 4 | Change`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AccessRights {
    /// Read access (and GetValue, Debit for value files).
    pub read: Access,
    /// Write access (and GetValue, Debit, LimitedCredit for value files).
    pub write: Access,
    /// Read and write access (all operations).
    pub read_write: Access,
    /// Right to ChangeFileSettings.
    pub change: Access,
}

impl AccessRights {
    /// From the two wire bytes.
    pub const fn from_wire(b: [u8; 2]) -> Self {
        Self {
            read: Access::from_nibble(b[1] >> 4),
            write: Access::from_nibble(b[1]),
            read_write: Access::from_nibble(b[0] >> 4),
            change: Access::from_nibble(b[0]),
        }
    }

    /// The two wire bytes.
    pub const fn to_wire(self) -> [u8; 2] {
        [
            (self.read_write.nibble() << 4) | self.change.nibble(),
            (self.read.nibble() << 4) | self.write.nibble(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aid_wire_order() {
        let aid = Aid::new(0x0AC501).unwrap();
        assert_eq!(aid.to_wire(), [0x01, 0xC5, 0x0A]);
        assert_eq!(Aid::from_wire([0x01, 0xC5, 0x0A]), aid);
        assert!(Aid::new(0x0100_0000).is_none());
    }

    #[test]
    fn access_rights_round_trip() {
        // AN12196 Table 8 GetFileSettings: access rights bytes `EE EE` (all free) for file 02 → `00 E0`.
        let r = AccessRights::from_wire([0x00, 0xE0]);
        assert_eq!(r.read, Access::Free);
        assert_eq!(r.write, Access::Key(KeyNo::MASTER));
        assert_eq!(r.read_write, Access::Key(KeyNo::MASTER));
        assert_eq!(r.change, Access::Key(KeyNo::MASTER));
        assert_eq!(r.to_wire(), [0x00, 0xE0]);
        let r = AccessRights {
            read: Access::Key(KeyNo(2)),
            write: Access::Key(KeyNo(3)),
            read_write: Access::Never,
            change: Access::Key(KeyNo::MASTER),
        };
        assert_eq!(r.to_wire(), [0xF0, 0x23]);
        assert_eq!(AccessRights::from_wire(r.to_wire()), r);
    }

    #[test]
    fn bounded_numbers() {
        assert!(KeyNo::new(13).is_some() && KeyNo::new(14).is_none());
        assert!(FileNo::new(31).is_some() && FileNo::new(32).is_none());
        assert_eq!(U24::from_wire([0x80, 0, 0]).value(), 0x80);
        assert!(U24::new(1 << 24).is_none());
        assert_eq!(CommMode::from_bits(0b10), CommMode::Plain);
        assert_eq!(FileType::from_byte(6), Err(Error::BadValue));
    }
}
