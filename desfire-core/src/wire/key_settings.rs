//! KeySett1, the master key settings of an application or of the PICC: one type for the reader
//! (GetKeySettings, ChangeKeySettings, CreateApplication) and the card (its access checks and
//! its NVM image). MF3D(H)x3 "Key management"; NT4H2421Gx §10.6.

use super::KeyNo;

/// Who may change an application's keys: bits 7..4 of KeySett1 (RFU at the PICC level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ChangeKeyAccess {
    /// `0`: authentication with the application master key.
    MasterKey,
    /// `1`..`D`: authentication with this key.
    Key(KeyNo),
    /// `E`: authentication with the key to be changed.
    SameKey,
    /// `F`: every key except the master key is frozen.
    Frozen,
}

impl ChangeKeyAccess {
    /// Decodes the nibble.
    pub const fn from_nibble(n: u8) -> Self {
        match n & 0x0F {
            0x0 => Self::MasterKey,
            0xE => Self::SameKey,
            0xF => Self::Frozen,
            k => match KeyNo::new(k) {
                Some(k) => Self::Key(k),
                None => Self::Frozen,
            },
        }
    }

    /// The nibble.
    pub const fn nibble(self) -> u8 {
        match self {
            Self::MasterKey => 0x0,
            Self::Key(k) => k.value(),
            Self::SameKey => 0xE,
            Self::Frozen => 0xF,
        }
    }
}

impl core::fmt::Display for ChangeKeyAccess {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::MasterKey => f.write_str("master key"),
            Self::Key(k) => write!(f, "key {k}"),
            Self::SameKey => f.write_str("same key"),
            Self::Frozen => f.write_str("frozen"),
        }
    }
}

/// KeySett1: the master key settings of an application or of the PICC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeySettings {
    /// Bits 7..4: who may change the application's keys.
    pub change_key: ChangeKeyAccess,
    /// Bit 3: these settings may still be changed (with the master key).
    pub config_changeable: bool,
    /// Bit 2: files (applications at the PICC level) may be created and deleted without the
    /// master key.
    pub free_create_delete: bool,
    /// Bit 1: GetFileIDs, GetFileSettings and GetKeySettings (GetApplicationIDs, GetDFNames
    /// at the PICC level) work without the master key.
    pub free_directory_list: bool,
    /// Bit 0: the master key may be changed.
    pub master_key_changeable: bool,
}

impl KeySettings {
    /// The delivery state of the PICC: everything allowed (`0F`).
    pub const DEFAULT: KeySettings = KeySettings::from_byte(0x0F);

    /// Decodes KeySett1 (every value is meaningful).
    pub const fn from_byte(b: u8) -> Self {
        Self {
            change_key: ChangeKeyAccess::from_nibble(b >> 4),
            config_changeable: b & 0x08 != 0,
            free_create_delete: b & 0x04 != 0,
            free_directory_list: b & 0x02 != 0,
            master_key_changeable: b & 0x01 != 0,
        }
    }

    /// KeySett1.
    pub const fn byte(self) -> u8 {
        (self.change_key.nibble() << 4)
            | ((self.config_changeable as u8) << 3)
            | ((self.free_create_delete as u8) << 2)
            | ((self.free_directory_list as u8) << 1)
            | (self.master_key_changeable as u8)
    }
}

impl core::fmt::Display for KeySettings {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let yes = |b: bool| if b { "yes" } else { "no" };
        write!(
            f,
            "change keys: {}, settings changeable: {}, free create/delete: {}, \
             free directory list: {}, master key changeable: {}",
            self.change_key,
            yes(self.config_changeable),
            yes(self.free_create_delete),
            yes(self.free_directory_list),
            yes(self.master_key_changeable)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        for b in 0..=u8::MAX {
            let s = KeySettings::from_byte(b);
            assert_eq!(s.byte(), b, "byte(from_byte({b:02X}))");
            assert_eq!(KeySettings::from_byte(s.byte()), s);
        }
        let s = KeySettings::from_byte(0xE9);
        assert_eq!(s.change_key, ChangeKeyAccess::SameKey);
        assert!(s.config_changeable && !s.free_create_delete && !s.free_directory_list);
        assert!(s.master_key_changeable);
        assert_eq!(KeySettings::DEFAULT.byte(), 0x0F);
    }
}
