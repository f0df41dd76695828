//! Leakage Resilient Primitive key schedules (NXP AN12304 §2): the plaintexts and updated keys
//! that LRP-mode cards (DESFire EV3 with LRP, NTAG 424 DNA) derive from an AES key.
//!
//! Only the key schedules are here, checked against AN12304; LRP secure messaging itself is not
//! implemented by the engine yet.

use super::{AesKey, BLOCK, aes, encrypt_block};

/// `AES(key, block)`: every LRP step encrypts a constant under a key that changes each step.
fn encrypt_under(key: &[u8; BLOCK], constant: u8) -> [u8; BLOCK] {
    let mut out = [constant; BLOCK];
    encrypt_block(&aes(&AesKey::new(*key)), &mut out);
    out
}

/// `generatePlaintexts(k)` with 16 plaintexts (m = 4): `h = AES(k, 55…)`, then 16 times
/// `p_i = AES(h, AA…)`, `h = AES(h, 55…)`.
pub fn generate_plaintexts(key: &AesKey) -> [[u8; BLOCK]; 16] {
    let mut h = encrypt_under(key.expose(), 0x55);
    let mut p = [[0u8; BLOCK]; 16];
    for pi in &mut p {
        *pi = encrypt_under(&h, 0xAA);
        h = encrypt_under(&h, 0x55);
    }
    p
}

/// `generateUpdatedKeys(k)`, the first `N`: `h = AES(k, AA…)`, then `uk_i = AES(h, AA…)`,
/// `h = AES(h, 55…)`.
pub fn generate_updated_keys<const N: usize>(key: &AesKey) -> [AesKey; N] {
    let mut h = encrypt_under(key.expose(), 0xAA);
    core::array::from_fn(|_| {
        let uk = AesKey::new(encrypt_under(&h, 0xAA));
        h = encrypt_under(&h, 0x55);
        uk
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// Source: NXP AN12304 pages 10 and 12, as transcribed in Proxmark3 desfiretest.c
    /// (commit 1c8c3b78) TestLRPPlaintexts/TestLRPUpdatedKeys and icedevml/nfc-ev2-crypto
    /// test_lrp.py (LRP-PLAINTEXTS-UPDKEYS-AN12304 in the vector catalogue).
    #[test]
    fn an12304_plaintexts_and_updated_keys() {
        let key = AesKey::new(hex!("567826B8DA8E768432A9548DBE4AA3A0"));
        let p = generate_plaintexts(&key);
        assert_eq!(p[0], hex!("AC20D39F5341FE98DFCA21DA86BA7914"));
        assert_eq!(p[1], hex!("907DA03D672449166915E4563E089D6D"));
        assert_eq!(p[14], hex!("37D734A51C076EB803BD530E17EB87DC"));
        assert_eq!(p[15], hex!("71B444AF257A93215311D758DD333247"));
        let uk: [AesKey; 3] = generate_updated_keys(&key);
        assert_eq!(uk[0].expose(), &hex!("163D14ED24ED935373568EC521E96CF4"));
        assert_eq!(uk[1].expose(), &hex!("1C519C000208B95A39A65DB058327188"));
        assert_eq!(uk[2].expose(), &hex!("FE30AB50467E61783BFE6B5E0560160E"));
    }
}
