//! Key management: GetKeySettings, ChangeKeySettings, ChangeKey, GetKeyVersion
//! (MF3D(H)x3 "Key management"; NT4H2421Gx §10.6).

use super::{Hex, fixed, inline};
use crate::crypto::{AesKey, crc32};
use crate::pcd::command::{Command, Response};
use crate::wire::{Error, Ins, KeyNo, KeySettings, Reader};
use zeroize::Zeroize;

/// Key type: bits 7..6 of KeySett2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeyType {
    /// `00`: DES or 2K3DES.
    Des,
    /// `01`: 3K3DES.
    TripleDes3K,
    /// `10`: AES-128.
    Aes,
}

impl KeyType {
    /// Decodes bits 7..6 of `b`; `11` is not a key type.
    pub const fn from_key_sett2(b: u8) -> Result<Self, Error> {
        match b >> 6 {
            0b00 => Ok(Self::Des),
            0b01 => Ok(Self::TripleDes3K),
            0b10 => Ok(Self::Aes),
            _ => Err(Error::BadValue),
        }
    }
}

impl core::fmt::Display for KeyType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Des => "DES/2K3DES",
            Self::TripleDes3K => "3K3DES",
            Self::Aes => "AES",
        })
    }
}

/// `GetKeySettings` (`45`) of the selected application or PICC. MACed when authenticated.
pub fn get_key_settings() -> Command<'static> {
    fixed(Ins::GET_KEY_SETTINGS, [])
}

/// The GetKeySettings response: KeySett1, KeySett2, and on applications with key sets
/// further bytes, kept as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeyConfiguration<'a> {
    /// KeySett1.
    pub settings: KeySettings,
    /// Key type (KeySett2 bits 7..6).
    pub key_type: KeyType,
    /// Number of keys (KeySett2 bits 3..0; 1 at the PICC level).
    pub key_count: u8,
    /// KeySett2 as sent.
    pub key_sett2: u8,
    /// Bytes after KeySett2 (key set information on EV2 and later), as sent.
    pub extra: &'a [u8],
}

impl<'a> KeyConfiguration<'a> {
    /// Parses the response; a key type `11` or more than 14 keys is [`Error::BadValue`].
    pub fn parse(resp: &Response<'a>) -> Result<Self, Error> {
        let mut r = Reader::new(resp.data());
        let settings = KeySettings::from_byte(r.u8()?);
        let key_sett2 = r.u8()?;
        let key_type = KeyType::from_key_sett2(key_sett2)?;
        let key_count = key_sett2 & 0x0F;
        if key_count > KeyNo::MAX_KEYS {
            return Err(Error::BadValue);
        }
        Ok(Self {
            settings,
            key_type,
            key_count,
            key_sett2,
            extra: r.rest(),
        })
    }
}

impl core::fmt::Display for KeyConfiguration<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} {} key(s); {}",
            self.key_count, self.key_type, self.settings
        )?;
        if self.extra.is_empty() {
            Ok(())
        } else {
            write!(f, "; key sets {}", Hex(self.extra))
        }
    }
}

/// `ChangeKeySettings` (`54`): a new KeySett1, encrypted. Full mode, refused without a
/// session (it needs the master key anyway).
pub fn change_key_settings(settings: KeySettings) -> Command<'static> {
    fixed(Ins::CHANGE_KEY_SETTINGS, []).with_data(inline([settings.byte()]))
}

/// Which key ChangeKey changes: the `KeyNo` byte of its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ChangeKeyTarget {
    /// A key of the selected application; the application's key type was fixed at creation.
    Application(KeyNo),
    /// The PICC master key, as an AES key: at the PICC level bits 7..6 of the key number byte
    /// give the new key type, `10` for AES, so the byte is `80`.
    PiccMasterKey,
    /// A key number byte sent as given (other PICC-level keys, other key type bits).
    Raw(u8),
}

impl ChangeKeyTarget {
    /// The header byte.
    pub const fn byte(self) -> u8 {
        match self {
            Self::Application(k) => k.value(),
            Self::PiccMasterKey => 0x80,
            Self::Raw(b) => b,
        }
    }

    /// The key number without key type bits, to compare with the authenticated key.
    pub const fn key_number(self) -> u8 {
        self.byte() & 0x3F
    }
}

impl core::fmt::Display for ChangeKeyTarget {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Application(k) => write!(f, "application key {k}"),
            Self::PiccMasterKey => f.write_str("PICC master key (AES)"),
            Self::Raw(b) => write!(f, "key number byte {b:02X}"),
        }
    }
}

/// `ChangeKey` (`C4`) of an AES key (NT4H2421Gx §10.6.1; AN12196 Tables 26 and 27).
///
/// Full mode, refused without a session. The key data depends on whether the key being changed
/// is the one the session was authenticated with:
/// - another key: `(NewKey XOR OldKey) || KeyVer || CRC32(NewKey)`, 21 bytes, so the card can
///   check the caller knew the old key;
/// - the authenticated key: `NewKey || KeyVer`, 17 bytes. The card then answers a bare `9100`
///   without MAC and the session ends.
#[derive(Debug, Clone, Copy)]
pub struct ChangeKey<'k> {
    /// The key to change.
    pub target: ChangeKeyTarget,
    /// Its current value (not sent when it is the authenticated key).
    pub old_key: &'k AesKey,
    /// Its new value.
    pub new_key: &'k AesKey,
    /// The new key version.
    pub new_version: u8,
}

impl ChangeKey<'_> {
    /// The command, for a session authenticated with `authenticated_with`
    /// ([`crate::pcd::Session::key_no`]). The key data is zeroized when the command is dropped.
    pub fn command(&self, authenticated_with: KeyNo) -> Command<'static> {
        let new = self.new_key.expose();
        let same_key = self.target.key_number() == authenticated_with.value();
        let cmd = fixed(Ins::CHANGE_KEY, [self.target.byte()]);
        if same_key {
            let data = inline(new.iter().copied().chain([self.new_version]));
            // The table's `EndsSession::IfAuthenticatedKey`: this is that case.
            return Command {
                ends_session: true,
                ..cmd.with_data(data)
            };
        }
        let mut crc = crc32(&[new]);
        let xored = new.iter().zip(self.old_key.expose()).map(|(n, o)| n ^ o);
        let data = inline(xored.chain([self.new_version]).chain(crc));
        crc.zeroize();
        cmd.with_data(data)
    }
}

/// `GetKeyVersion` (`64`) of a key of the selected application (or key 0 at the PICC level).
/// MACed when authenticated.
pub fn get_key_version(key: KeyNo) -> Command<'static> {
    fixed(Ins::GET_KEY_VERSION, [key.value()])
}

/// A key version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeyVersion(pub u8);

impl KeyVersion {
    /// Parses the GetKeyVersion response: one byte.
    pub fn parse(resp: &Response<'_>) -> Result<Self, Error> {
        let mut r = Reader::new(resp.data());
        let v = r.u8()?;
        r.finish()?;
        Ok(Self(v))
    }
}

impl core::fmt::Display for KeyVersion {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "key version {:02X}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{response, show};
    use super::*;
    use crate::pcd::CommandData;
    use crate::pcd::CommandMode;
    use crate::wire::ChangeKeyAccess;
    use crate::wire::emit_capdu;
    use hex_literal::hex;

    fn key(n: u8) -> KeyNo {
        KeyNo::new(n).unwrap()
    }

    #[test]
    fn key_settings_bits() {
        for b in 0..=255u8 {
            assert_eq!(KeySettings::from_byte(b).byte(), b, "{b:02X}");
        }
        let s = KeySettings::from_byte(0x2B);
        assert_eq!(s.change_key, ChangeKeyAccess::Key(key(2)));
        assert!(s.config_changeable && !s.free_create_delete);
        assert!(s.free_directory_list && s.master_key_changeable);
        assert_eq!(
            KeySettings::from_byte(0xE0).change_key,
            ChangeKeyAccess::SameKey
        );
        assert_eq!(
            KeySettings::from_byte(0xF0).change_key,
            ChangeKeyAccess::Frozen
        );
        assert_eq!(
            KeySettings::from_byte(0x00).change_key,
            ChangeKeyAccess::MasterKey
        );
        assert_eq!(KeySettings::DEFAULT.byte(), 0x0F);
        assert_eq!(
            show(&s),
            "change keys: key 2, settings changeable: yes, free create/delete: no, \
             free directory list: yes, master key changeable: yes"
        );
    }

    #[test]
    fn get_key_settings_parses() {
        let cmd = get_key_settings();
        assert_eq!(
            (cmd.ins, cmd.mode),
            (Ins::GET_KEY_SETTINGS, CommandMode::Mac)
        );
        assert!(cmd.header.is_empty());

        let c = KeyConfiguration::parse(&response(&hex!("0F85"))).unwrap();
        assert_eq!(c.settings, KeySettings::DEFAULT);
        assert_eq!(c.key_type, KeyType::Aes);
        assert_eq!((c.key_count, c.key_sett2), (5, 0x85));
        assert!(c.extra.is_empty());
        assert_eq!(
            show(&c),
            "5 AES key(s); change keys: master key, settings changeable: yes, \
             free create/delete: yes, free directory list: yes, master key changeable: yes"
        );
        let picc = KeyConfiguration::parse(&response(&hex!("0F01"))).unwrap();
        assert_eq!((picc.key_type, picc.key_count), (KeyType::Des, 1));
        let tdea = KeyConfiguration::parse(&response(&hex!("EF4E"))).unwrap();
        assert_eq!((tdea.key_type, tdea.key_count), (KeyType::TripleDes3K, 14));
        let sets = KeyConfiguration::parse(&response(&hex!("0B9301 00031000"))).unwrap();
        assert_eq!(sets.extra, hex!("0100031000"));
        assert!(show(&sets).ends_with("; key sets 0100031000"));

        assert_eq!(
            KeyConfiguration::parse(&response(&hex!("0F"))),
            Err(Error::Truncated)
        );
        assert_eq!(
            KeyConfiguration::parse(&response(&[])),
            Err(Error::Truncated)
        );
        assert_eq!(
            KeyConfiguration::parse(&response(&hex!("0FC5"))),
            Err(Error::BadValue)
        );
        assert_eq!(
            KeyConfiguration::parse(&response(&hex!("0F8F"))),
            Err(Error::BadValue)
        );
    }

    #[test]
    fn change_key_settings_is_encrypted() {
        let cmd = change_key_settings(KeySettings::from_byte(0x09));
        assert_eq!(cmd.ins, Ins::CHANGE_KEY_SETTINGS);
        assert!(cmd.header.is_empty());
        assert_eq!(cmd.data.as_bytes(), [0x09]);
        assert_eq!(cmd.mode, CommandMode::Full);
        assert!(cmd.needs_session && !cmd.ends_session);
    }

    /// AN12196 Rev. 1.8 Table 26 step 7 (CRC32-DESFIRE data2 in the vectors catalogue).
    const AN12196_NEW_KEY: [u8; 16] = hex!("F3847D627727ED3BC9C4CC050489B966");

    #[test]
    fn new_key_crc_matches_an12196() {
        assert_eq!(crc32(&[&AN12196_NEW_KEY]), hex!("789DFADC"));
    }

    #[test]
    fn change_other_key_cryptogram() {
        let old = AesKey::new(hex!("00112233445566778899AABBCCDDEEFF"));
        let new = AesKey::new(AN12196_NEW_KEY);
        let cmd = ChangeKey {
            target: ChangeKeyTarget::Application(key(2)),
            old_key: &old,
            new_key: &new,
            new_version: 0x01,
        }
        .command(KeyNo::MASTER);
        assert_eq!(cmd.ins, Ins::CHANGE_KEY);
        assert_eq!(&cmd.header[..], [0x02]);
        // XOR worked by hand: F3^00 84^11 7D^22 62^33 77^44 27^55 ED^66 3B^77
        // C9^88 C4^99 CC^AA 05^BB 04^CC 89^DD B9^EE 66^FF; then KeyVer; then CRC32(NewKey).
        assert_eq!(
            cmd.data.as_bytes(),
            hex!("F3955F5133728B4C415D66BEC8545799 01 789DFADC")
        );
        assert!(matches!(cmd.data, CommandData::Inline(..)));
        assert_eq!(cmd.mode, CommandMode::Full);
        assert!(cmd.needs_session && !cmd.ends_session);

        // With the old key all zero (AN12196's delivery state), the XOR is the new key.
        let zero = AesKey::zero();
        let cmd = ChangeKey {
            target: ChangeKeyTarget::Application(key(2)),
            old_key: &zero,
            new_key: &new,
            new_version: 0x01,
        }
        .command(KeyNo::MASTER);
        assert_eq!(
            cmd.data.as_bytes(),
            hex!("F3847D627727ED3BC9C4CC050489B966 01 789DFADC")
        );
    }

    #[test]
    fn change_authenticated_key_ends_the_session() {
        let old = AesKey::new([0x11; 16]);
        let new = AesKey::new(hex!("00112233445566778899AABBCCDDEEFF"));
        let cmd = ChangeKey {
            target: ChangeKeyTarget::Application(key(3)),
            old_key: &old,
            new_key: &new,
            new_version: 0x10,
        }
        .command(key(3));
        assert_eq!(&cmd.header[..], [0x03]);
        assert_eq!(
            cmd.data.as_bytes(),
            hex!("00112233445566778899AABBCCDDEEFF 10")
        );
        assert!(cmd.needs_session && cmd.ends_session);
        assert_eq!(cmd.mode, CommandMode::Full);

        // PICC master key as AES: header 80, and it is the authenticated key 0.
        let picc = ChangeKey {
            target: ChangeKeyTarget::PiccMasterKey,
            old_key: &old,
            new_key: &new,
            new_version: 0x00,
        }
        .command(KeyNo::MASTER);
        assert_eq!(&picc.header[..], [0x80]);
        assert_eq!(picc.data.as_bytes().len(), 17);
        assert!(picc.ends_session);

        // A raw PICC-level key number is never the authenticated application key.
        let raw = ChangeKey {
            target: ChangeKeyTarget::Raw(0x21),
            old_key: &old,
            new_key: &new,
            new_version: 0x00,
        }
        .command(KeyNo::MASTER);
        assert_eq!(&raw.header[..], [0x21]);
        assert_eq!(show(&ChangeKeyTarget::Raw(0x21)), "key number byte 21");
        assert_eq!(
            show(&ChangeKeyTarget::PiccMasterKey),
            "PICC master key (AES)"
        );
        assert_eq!(
            show(&ChangeKeyTarget::Application(key(3))),
            "application key 3"
        );
        assert_eq!(raw.data.as_bytes().len(), 21);
        assert!(!raw.ends_session);
    }

    #[test]
    fn key_version() {
        let cmd = get_key_version(key(1));
        assert_eq!(
            (cmd.ins, cmd.mode),
            (Ins::GET_KEY_VERSION, CommandMode::Mac)
        );
        assert_eq!(&cmd.header[..], [0x01]);
        let mut apdu = [0u8; 8];
        let n = emit_capdu(cmd.ins, &cmd.header, &mut apdu).unwrap();
        assert_eq!(&apdu[..n], hex!("90640000010100"));
        let v = KeyVersion::parse(&response(&[0x42])).unwrap();
        assert_eq!(v, KeyVersion(0x42));
        assert_eq!(show(&v), "key version 42");
        assert_eq!(KeyVersion::parse(&response(&[])), Err(Error::Truncated));
        assert_eq!(
            KeyVersion::parse(&response(&[1, 2])),
            Err(Error::TrailingData)
        );
    }
}
