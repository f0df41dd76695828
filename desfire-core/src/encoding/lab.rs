//! The public TEST values of spec §16.1 beyond the masters ([`super::Masters::lab_test`]) and
//! the lab AID ([`super::LAB_AID`]): the TEST issuer's identity ([`IssuerId::lab_test`]) and
//! P-256 key pair, and the draft §9 test credential ([`Credential::lab_test`], vector
//! GEN-PACS-DRAFT9 of §16.2). Everyone may know them; a
//! production reader refuses them (R15). Tests, benchmarks, the lab profile's cross-checks and
//! the firmware's lab build take them from here.

use hex_literal::hex;

use super::{Credential, IssuerId, KeyId, LegacyImage, Masters, SignatureAlgorithm};
use crate::crypto::AesKey;
use subtle::ConstantTimeEq;

/// The TEST issuer ID, tag 80 (draft §9).
pub const ISSUER_ID: &[u8] = b"SE0000000000";
/// The TEST issuer's signing key ID, tag 8E.
pub const ISSUER_KEY_ID: u8 = 0x01;
/// The TEST issuer's P-256 private scalar: RFC 6979 A.2.5, published, TEST ONLY.
pub const ISSUER_SECRET: [u8; 32] =
    hex!("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721");
/// The TEST issuer's public key, SEC1 uncompressed.
pub const ISSUER_PUBLIC: [u8; 65] = hex!(
    "0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
    "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299"
);
/// The test credential's ID, tag 81: what a reader outputs for the §9 card.
pub const CREDENTIAL_ID: u64 = 0x1A2B_3C4D_5E6F_7081;

/// Whether `key` is one of the TEST masters or the TEST K1 of §16.1 ([`Masters::lab_test`]),
/// in whatever slot: a production profile refuses it (R15). Compared in constant time.
pub fn is_test_key(key: &AesKey) -> bool {
    let lab = Masters::lab_test();
    [
        &lab.picc,
        &lab.amk,
        &lab.kuid,
        &lab.read,
        &lab.write,
        &lab.delegated_read,
        &lab.reserved,
    ]
    .into_iter()
    .flatten()
    .fold(false, |found, test| {
        found | bool::from(test.expose().ct_eq(key.expose()))
    })
}

impl IssuerId {
    /// The TEST issuer of spec §16.1, [`ISSUER_ID`] (12 bytes: always fits).
    pub fn lab_test() -> Self {
        Self(heapless::Vec::from_slice(ISSUER_ID).unwrap_or_default())
    }
}

impl Credential {
    /// The draft §9 test credential: issuer "SE0000000000", credential ID `1A2B3C4D5E6F7081`,
    /// issue 1, valid from 2026-01-01 (`6955B900`) until 2031-01-01 (`72BD0C00`), legacy image
    /// `1A 02026073` (26-bit H10301, facility 1, card 12345), key ID 01, ECDSA P-256 / SHA-256.
    /// Other cards are struct updates of it (`Credential { valid_until, ..Credential::lab_test() }`).
    pub fn lab_test() -> Self {
        Self {
            format_minor: 0,
            issuer: IssuerId::lab_test(),
            credential_id: CREDENTIAL_ID,
            issue_number: 1,
            valid_from: 0x6955_B900,
            valid_until: 0x72BD_0C00,
            site_code: None,
            legacy_image: LegacyImage::new(0x1A, &hex!("02026073")),
            class: None,
            key_id: KeyId::one(ISSUER_KEY_ID),
            algorithm: SignatureAlgorithm::ECDSA_P256_SHA256,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_keys_are_recognised_in_any_slot() {
        let lab = Masters::lab_test();
        for k in [&lab.picc, &lab.amk, &lab.kuid, &lab.read, &lab.reserved] {
            assert!(is_test_key(k.as_ref().unwrap()));
        }
        let mut near = *lab.read.as_ref().unwrap().expose();
        near[15] ^= 1;
        assert!(!is_test_key(&AesKey::new(near)));
        assert!(!is_test_key(&AesKey::zero()));
    }

    #[test]
    fn the_test_values_are_well_formed() {
        assert_eq!(IssuerId::lab_test().as_bytes(), b"SE0000000000");
        let c = Credential::lab_test();
        assert!(c.legacy_image.is_some());
        assert_eq!(c.key_id, KeyId::one(1));
    }
}
