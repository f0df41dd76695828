//! Originality signature of ReadSig: ECDSA on secp224r1 with no hash, the 7-byte UID used
//! directly as the message representative (NT4H2421Gx §10.10.1; AN12343 §8.2 for DESFire Light).
//!
//! The signature is `r (28) || s (28)`. The UID is treated as an integer, so it is left-padded
//! with zeros to the field size before verification.

use super::CryptoError;
use p224::ecdsa::signature::hazmat::PrehashVerifier;
use p224::ecdsa::{Signature, VerifyingKey};

/// Length of an originality signature: `r || s`, 28 bytes each.
pub const SIGNATURE_LEN: usize = 56;

/// An NXP originality public key (SEC1 uncompressed point, 57 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginalityKey {
    /// Which product the key belongs to.
    pub product: &'static str,
    /// SEC1 uncompressed point `04 || X || Y`.
    pub sec1: [u8; 57],
}

/// NXP's originality public keys for the DESFire family. These are public values, listed by NXP
/// application notes (AN12343 for Light) and by public tooling for EV2 and EV3; the EV3 key is
/// confirmed here by real-card signatures (see the tests).
pub const NXP_KEYS: [OriginalityKey; 3] = [
    OriginalityKey {
        product: "MIFARE DESFire EV3",
        sec1: hex_literal::hex!(
            "041DB46C145D0A36539C6544BD6D9B0AA62FF91EC48CBC6ABAE36E0089A46F0D08"
            "C8A715EA40A63313B92E90DDC1730230E0458A33276FB743"
        ),
    },
    OriginalityKey {
        product: "MIFARE DESFire EV2",
        sec1: hex_literal::hex!(
            "04B304DC4C615F5326FE9383DDEC9AA892DF3A57FA7FFB3276192BC0EAA252ED45"
            "A865E3B093A3D0DCE5BE29E92F1392CE7DE321E3E5C52B3A"
        ),
    },
    OriginalityKey {
        product: "MIFARE DESFire Light",
        sec1: hex_literal::hex!(
            "040E98E117AAA36457F43173DC920A8757267F44CE4EC5ADD3C5407557"
            "1AEBBF7B942A9774A1D94AD02572427E5AE0A2DD36591B1FB34FCF3D"
        ),
    },
];

/// The private scalar of the virtual card's **TEST** originality key, whose public half is
/// [`TEST_KEY`] (not a secret: published here so anyone can tell a virtual card from a genuine
/// one). The card side signs with it by default ([`crate::picc::sig`]).
pub const TEST_SECRET: [u8; 28] = *b"desfire-virtual-card-TESTKEY";

/// The public half of the virtual card's **TEST** originality key
/// ([`TEST_SECRET`]). Not an NXP key: [`identify`] never reports it, so a
/// virtual card is never taken for a genuine one; verify against it explicitly.
pub const TEST_KEY: OriginalityKey = OriginalityKey {
    product: "TEST KEY of the desfire-core virtual card (not NXP)",
    sec1: hex_literal::hex!(
        "04CA888C18C92B5D75D6849C8307CFE6727273DEF477D9F6AC9BF2CCD3749BF11E"
        "168BA00D7B7EEECF51D270C59687667AB6E468605A5604E9"
    ),
};

/// Verifies `signature` over `uid` with one public key. `Ok(false)` means a well-formed signature
/// that does not verify.
pub fn verify(key: &OriginalityKey, uid: &[u8], signature: &[u8]) -> Result<bool, CryptoError> {
    let vk =
        VerifyingKey::from_sec1_bytes(&key.sec1).map_err(|_| CryptoError::MalformedSignature)?;
    let sig = Signature::from_slice(signature).map_err(|_| CryptoError::MalformedSignature)?;
    // The UID as a 224-bit integer: zeros on the left. The `ecdsa` crate refuses digests shorter
    // than half the field, which a 7-byte UID is.
    let mut e = [0u8; 28];
    let start = e
        .len()
        .checked_sub(uid.len())
        .ok_or(CryptoError::MalformedSignature)?;
    e.get_mut(start..)
        .ok_or(CryptoError::MalformedSignature)?
        .copy_from_slice(uid);
    Ok(vk.verify_prehash(&e, &sig).is_ok())
}

/// Finds which NXP key, if any, signed `uid`.
pub fn identify(
    uid: &[u8],
    signature: &[u8],
) -> Result<Option<&'static OriginalityKey>, CryptoError> {
    for key in &NXP_KEYS {
        if verify(key, uid, signature)? {
            return Ok(Some(key));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    // Source: Proxmark3 tools/recover_pk.py self-test samples of real DESFire EV3 cards
    // (commit 1c8c3b78), ORIGSIG-DESFIRE-EV3 in the vectors catalogue.
    const UID1: [u8; 7] = hex!("04448BD2DB6B80");
    const SIG1: [u8; 56] = hex!(
        "5CBB5632795C8F15263FEFB095B51C7B541AFD914A1AE44EF6FB8AF6"
        "05EDF13DBFEE6C3A2DB372245E671DFE0D42CB1F0D0B8FE67A89D2F6"
    );
    const UID2: [u8; 7] = hex!("04445DD2DB6B80");
    const SIG2: [u8; 56] = hex!(
        "166BFD9F9BFAA451172566101580DF9894F582C4A4E258C15037AD2F"
        "35A475CF1D7FB817618623A6569F991931AFB2766984E21A18512A6D"
    );

    #[test]
    fn real_ev3_signatures_verify() {
        assert_eq!(
            identify(&UID1, &SIG1).unwrap().map(|k| k.product),
            Some("MIFARE DESFire EV3")
        );
        assert_eq!(
            identify(&UID2, &SIG2).unwrap().map(|k| k.product),
            Some("MIFARE DESFire EV3")
        );
    }

    #[test]
    fn signature_bound_to_uid() {
        // A signature transplanted to another card's UID must fail.
        assert_eq!(identify(&UID2, &SIG1).unwrap(), None);
        let mut sig = SIG1;
        sig[10] ^= 1;
        assert_eq!(identify(&UID1, &sig).unwrap(), None);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert_eq!(
            identify(&UID1, &SIG1[..55]),
            Err(CryptoError::MalformedSignature)
        );
        assert_eq!(
            identify(&UID1, &[0u8; 56]),
            Err(CryptoError::MalformedSignature)
        );
        assert_eq!(
            identify(&[0u8; 29], &SIG1),
            Err(CryptoError::MalformedSignature)
        );
    }

    #[test]
    fn all_keys_are_on_the_curve() {
        for key in &NXP_KEYS {
            assert!(
                VerifyingKey::from_sec1_bytes(&key.sec1).is_ok(),
                "{}",
                key.product
            );
        }
    }
}
