//! The GEN-PACS key map and per-card diversification (spec §5, §6).
//!
//! ```text
//! divInput(k) = realUID[7] || AID_wire[3] || k[1] || SysID[8]      (19 bytes)
//! K_k         = AN10922-AES128(Master_k, divInput(k))
//! ```
//!
//! K0, K2, K3, K4, K5 and the PICC master key (AID `000000`, key 0) are diversified, each from
//! its own master; K1 (KUID) is one value per generation, the same on every card. No slot keeps
//! its factory value (decision 0004 D4); every key gets version `01` ([`KEY_VERSION`]).

use super::RealUid;
use crate::crypto::{AesKey, DiversificationInput, an10922_aes128};
use crate::wire::{Aid, KeyNo};

/// The DESFire key version (the key's generation, spec §5) every key gets at personalisation.
pub const KEY_VERSION: u8 = 0x01;

/// The system identifier of the diversification input: 8 bytes fixed per deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SystemId(pub [u8; 8]);

impl SystemId {
    /// ASCII `GEN-PACS`, the spec's default (§6).
    pub const GEN_PACS: Self = Self(*b"GEN-PACS");
}

/// A key of the GEN-PACS application (spec §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AppKey {
    /// K0, AMK: application master key (issuer only). Diversified.
    Amk,
    /// K1, KUID: only authenticates for GetCardUID; no file rights. Not diversified.
    Kuid,
    /// K2, KR: reads the CCF. Diversified.
    Read,
    /// K3, KW: writes the CCF. Diversified.
    Write,
    /// K4, KR2: delegated read domain (own master). Diversified.
    DelegatedRead,
    /// K5: reserved (no rights in v1; rollover, future use). Diversified from its own master.
    Reserved,
}

impl AppKey {
    /// Every key of the application, K0..K5; the provisioning plan sets all of them.
    pub const ALL: [Self; 6] = [
        Self::Amk,
        Self::Kuid,
        Self::Read,
        Self::Write,
        Self::DelegatedRead,
        Self::Reserved,
    ];

    /// Its key number in the application.
    pub const fn key_no(self) -> KeyNo {
        let n = match self {
            Self::Amk => 0,
            Self::Kuid => 1,
            Self::Read => 2,
            Self::Write => 3,
            Self::DelegatedRead => 4,
            Self::Reserved => 5,
        };
        match KeyNo::new(n) {
            Some(k) => k,
            None => KeyNo::MASTER,
        }
    }

    /// Whether the card holds a per-card diversified value of this key.
    pub const fn is_diversified(self) -> bool {
        !matches!(self, Self::Kuid)
    }
}

/// A card key: the PICC master key or a key of the GEN-PACS application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CardKey {
    /// The PICC master key, diversified with AID `000000` and key number 0 (spec §6).
    PiccMaster,
    /// A key of the application.
    App(AppKey),
}

/// The AN10922 input of `key` for the card with real UID `uid` in application `aid`; the PICC
/// master key uses AID `000000` and key number 0. `None` for K1, which is not diversified.
pub fn diversification_input(
    uid: &RealUid,
    aid: Aid,
    key: CardKey,
    system: &SystemId,
) -> Option<DiversificationInput> {
    let (aid, key_no) = match key {
        CardKey::PiccMaster => (Aid::PICC, KeyNo::MASTER),
        CardKey::App(k) if k.is_diversified() => (aid, k.key_no()),
        CardKey::App(_) => return None,
    };
    DiversificationInput::for_application_key(uid, aid, key_no, &system.0)
}

/// The diversified key: AN10922 of `master` with [`diversification_input`].
pub fn diversify(
    master: &AesKey,
    uid: &RealUid,
    aid: Aid,
    key: CardKey,
    system: &SystemId,
) -> Option<AesKey> {
    diversification_input(uid, aid, key, system).map(|m| an10922_aes128(master, &m))
}

/// The key is not available to this party (a reader has no K0 master, an encoder may have no
/// K4 master) or the key store failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeyUnavailable;

impl core::fmt::Display for KeyUnavailable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("key unavailable (no master for it here, or the key store failed)")
    }
}

impl core::error::Error for KeyUnavailable {}

/// Where card keys come from: masters in memory ([`Masters`]), a SAM AV3 or an HSM. The
/// procedures ask for the per-card key and never see a master.
pub trait KeyProvider {
    /// The value of `key` on the card with real UID `uid`.
    fn card_key(&mut self, key: CardKey, uid: &RealUid) -> Result<AesKey, KeyUnavailable>;

    /// The value of `key` of generation `version` (its DESFire key version byte, spec §5) on
    /// the card with real UID `uid`: how a reader that holds generations N and N+1 (R16)
    /// derives the key the card's GetKeyVersion named (§12 steps 5-6). A provider that holds
    /// one generation only need not implement it: the default has no key for any generation.
    fn card_key_generation(
        &mut self,
        key: CardKey,
        version: u8,
        uid: &RealUid,
    ) -> Result<AesKey, KeyUnavailable> {
        let _ = (key, version, uid);
        Err(KeyUnavailable)
    }
}

/// Masters held in memory (host tools, tests): diversifies per card. Absent masters are
/// [`KeyUnavailable`]. Keys zeroize on drop.
#[derive(Debug, Clone)]
pub struct Masters {
    /// The application the keys belong to.
    pub aid: Aid,
    /// The deployment's system identifier.
    pub system: SystemId,
    /// Master of the PICC master key.
    pub picc: Option<AesKey>,
    /// Master of K0.
    pub amk: Option<AesKey>,
    /// K1 itself (not diversified).
    pub kuid: Option<AesKey>,
    /// Master of K2.
    pub read: Option<AesKey>,
    /// The generation (key version byte, spec §5) of the K2 master `read`.
    pub read_version: u8,
    /// Generation N+1 of the K2 master and its version byte, during a rollover (R16).
    pub read_next: Option<(u8, AesKey)>,
    /// Master of K3.
    pub write: Option<AesKey>,
    /// Master of K4.
    pub delegated_read: Option<AesKey>,
    /// Master of K5.
    pub reserved: Option<AesKey>,
}

impl Masters {
    /// No keys at all for `aid`, `system`; fill in what this party holds.
    pub fn new(aid: Aid, system: SystemId) -> Self {
        Self {
            aid,
            system,
            picc: None,
            amk: None,
            kuid: None,
            read: None,
            read_version: KEY_VERSION,
            read_next: None,
            write: None,
            delegated_read: None,
            reserved: None,
        }
    }

    /// The TEST masters of spec §16.1 for the lab AID and system identifier "GEN-PACS": K0
    /// `00..0F`, K1 `10..1F` (the key itself), K2 `20..2F`, K3 `30..3F`, K4 `40..4F`, K5
    /// `50..5F`, PICC master key `E0..EF`. Public values: never for production (R15).
    pub fn lab_test() -> Self {
        let seq = |start: u8| {
            AesKey::new(core::array::from_fn(|i| {
                start.wrapping_add(u8::try_from(i).unwrap_or(0))
            }))
        };
        Self {
            picc: Some(seq(0xE0)),
            amk: Some(seq(0x00)),
            kuid: Some(seq(0x10)),
            read: Some(seq(0x20)),
            write: Some(seq(0x30)),
            delegated_read: Some(seq(0x40)),
            reserved: Some(seq(0x50)),
            ..Self::new(super::LAB_AID, SystemId::GEN_PACS)
        }
    }

    fn master(&self, key: CardKey) -> Option<&AesKey> {
        match key {
            CardKey::PiccMaster => self.picc.as_ref(),
            CardKey::App(AppKey::Amk) => self.amk.as_ref(),
            CardKey::App(AppKey::Kuid) => self.kuid.as_ref(),
            CardKey::App(AppKey::Read) => self.read.as_ref(),
            CardKey::App(AppKey::Write) => self.write.as_ref(),
            CardKey::App(AppKey::DelegatedRead) => self.delegated_read.as_ref(),
            CardKey::App(AppKey::Reserved) => self.reserved.as_ref(),
        }
    }
}

impl KeyProvider for Masters {
    fn card_key(&mut self, key: CardKey, uid: &RealUid) -> Result<AesKey, KeyUnavailable> {
        let master = self.master(key).ok_or(KeyUnavailable)?;
        match key {
            CardKey::App(AppKey::Kuid) => Ok(master.clone()),
            _ => diversify(master, uid, self.aid, key, &self.system).ok_or(KeyUnavailable),
        }
    }

    /// Generations are held for K2 only: `read` as generation `read_version`, and
    /// `read_next` where given.
    fn card_key_generation(
        &mut self,
        key: CardKey,
        version: u8,
        uid: &RealUid,
    ) -> Result<AesKey, KeyUnavailable> {
        let master = match (key, &self.read_next) {
            (CardKey::App(AppKey::Read), _) if version == self.read_version => self.read.as_ref(),
            (CardKey::App(AppKey::Read), Some((v, next))) if *v == version => Some(next),
            _ => None,
        }
        .ok_or(KeyUnavailable)?;
        diversify(master, uid, self.aid, key, &self.system).ok_or(KeyUnavailable)
    }
}

impl<K: KeyProvider + ?Sized> KeyProvider for &mut K {
    fn card_key(&mut self, key: CardKey, uid: &RealUid) -> Result<AesKey, KeyUnavailable> {
        (**self).card_key(key, uid)
    }

    fn card_key_generation(
        &mut self,
        key: CardKey,
        version: u8,
        uid: &RealUid,
    ) -> Result<AesKey, KeyUnavailable> {
        (**self).card_key_generation(key, version, uid)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::encoding::LAB_AID;
    use hex_literal::hex;

    const UID: RealUid = hex!("04782E21801D80");

    /// Draft §9 (TEST KEYS ONLY): masters `000102..0F` (K0), K1 `101112..1F` (not
    /// diversified), `202122..2F` (K2), `303132..3F` (K3).
    pub(crate) fn lab_masters() -> Masters {
        let seq = |start: u8| AesKey::new(core::array::from_fn(|i| start + i as u8));
        Masters {
            amk: Some(seq(0x00)),
            kuid: Some(seq(0x10)),
            read: Some(seq(0x20)),
            write: Some(seq(0x30)),
            ..Masters::new(LAB_AID, SystemId::GEN_PACS)
        }
    }

    #[test]
    fn section_9_diversification_inputs() {
        let m = diversification_input(
            &UID,
            LAB_AID,
            CardKey::App(AppKey::Amk),
            &SystemId::GEN_PACS,
        )
        .unwrap();
        assert_eq!(
            m.as_bytes(),
            hex!("04782E21801D80 01C50A 00 47454E2D50414353")
        );
        let m = diversification_input(
            &UID,
            LAB_AID,
            CardKey::App(AppKey::Write),
            &SystemId::GEN_PACS,
        )
        .unwrap();
        assert_eq!(
            m.as_bytes(),
            hex!("04782E21801D80 01C50A 03 47454E2D50414353")
        );
        let m =
            diversification_input(&UID, LAB_AID, CardKey::PiccMaster, &SystemId::GEN_PACS).unwrap();
        assert_eq!(
            m.as_bytes(),
            hex!("04782E21801D80 000000 00 47454E2D50414353")
        );
        assert!(
            diversification_input(
                &UID,
                LAB_AID,
                CardKey::App(AppKey::Kuid),
                &SystemId::GEN_PACS
            )
            .is_none()
        );
    }

    #[test]
    fn section_9_diversified_keys() {
        let mut m = lab_masters();
        for (key, want) in [
            (AppKey::Amk, hex!("E680134BFB864DDCAD199DED2B7ABF79")),
            (AppKey::Kuid, hex!("101112131415161718191A1B1C1D1E1F")),
            (AppKey::Read, hex!("D55DC633DB6E04E8D384AC520F077B5C")),
            (AppKey::Write, hex!("D2A224A634F9CA056BDFF87DD9078C93")),
        ] {
            let got = m.card_key(CardKey::App(key), &UID).unwrap();
            assert_eq!(got.expose(), &want, "{key:?}");
        }
        assert_eq!(
            m.card_key(CardKey::App(AppKey::DelegatedRead), &UID),
            Err(KeyUnavailable)
        );
        assert_eq!(m.card_key(CardKey::PiccMaster, &UID), Err(KeyUnavailable));
    }

    #[test]
    fn lab_test_masters_give_the_vector_keys() {
        // specs/vectors/gen-pacs/test-card.json, GEN-PACS-DRAFT9.
        let mut m = Masters::lab_test();
        for (key, want) in [
            (
                CardKey::PiccMaster,
                hex!("A586681D62186DF21FD63FBBC5AC009C"),
            ),
            (
                CardKey::App(AppKey::DelegatedRead),
                hex!("9E4AC3B9E896D7C22A843C478C46E3AC"),
            ),
            (
                CardKey::App(AppKey::Reserved),
                hex!("91644AA3AD2AA78F6EC42E68C94D75BC"),
            ),
        ] {
            assert_eq!(m.card_key(key, &UID).unwrap().expose(), &want, "{key:?}");
        }
    }

    #[test]
    fn read_key_generations() {
        let mut m = lab_masters();
        let next = AesKey::new([0x21; 16]);
        m.read_next = Some((0x02, next.clone()));
        let gen1 = m.card_key(CardKey::App(AppKey::Read), &UID).unwrap();
        let read = CardKey::App(AppKey::Read);
        assert_eq!(m.card_key_generation(read, 0x01, &UID).unwrap(), gen1);
        let gen2 = m.card_key_generation(read, 0x02, &UID).unwrap();
        assert_eq!(
            gen2,
            diversify(&next, &UID, LAB_AID, read, &SystemId::GEN_PACS).unwrap()
        );
        assert_ne!(gen1, gen2);
        assert_eq!(m.card_key_generation(read, 0x03, &UID), Err(KeyUnavailable));
        assert_eq!(
            m.card_key_generation(CardKey::App(AppKey::Write), 0x01, &UID),
            Err(KeyUnavailable)
        );
    }

    #[test]
    fn uid_aid_and_system_id_each_change_the_key() {
        let master = AesKey::new([0x20; 16]);
        let k = |uid: &RealUid, aid: Aid, sys: &SystemId| {
            *diversify(&master, uid, aid, CardKey::App(AppKey::Read), sys)
                .unwrap()
                .expose()
        };
        let base = k(&UID, LAB_AID, &SystemId::GEN_PACS);
        let mut uid = UID;
        uid[0] ^= 1;
        assert_ne!(base, k(&uid, LAB_AID, &SystemId::GEN_PACS));
        assert_ne!(
            base,
            k(&UID, Aid::new(0xFA00C1).unwrap(), &SystemId::GEN_PACS)
        );
        assert_ne!(base, k(&UID, LAB_AID, &SystemId(*b"GEN-PACT")));
    }
}
