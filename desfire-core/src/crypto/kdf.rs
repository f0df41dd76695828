//! AN10922 AES-128 key diversification (NXP AN10922 Rev. 2.2 §2.2).
//!
//! `D = 01 || M`, padded with `80 00…` to 32 bytes when shorter, last block XORed with the CMAC
//! subkey K2 (K1 when no padding was needed), then CBC-MAC with IV 0. For `16 < |D| ≤ 32` this
//! equals AES-CMAC(K, D); for `|D| ≤ 16` it does not, because AN10922 always pads to two blocks.

use super::{AesKey, BLOCK};
use crate::wire::{Aid, KeyNo};
use zeroize::{Zeroize, Zeroizing};

/// Longest diversification input M: D = 01 || M fills two blocks.
pub const MAX_DIVERSIFICATION_INPUT: usize = 31;

/// The diversification constant that starts D for an AES-128 key (AN10922 §2.2.1).
const DIV_CONSTANT_AES128: u8 = 0x01;

/// The AES-CMAC message `D = 01 || M` whose CMAC is the diversified key ([`DiversificationInput::cmac_message`]).
pub type CmacMessage = heapless::Vec<u8, { 2 * BLOCK }>;

/// The diversification input M, at most 31 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiversificationInput(heapless::Vec<u8, MAX_DIVERSIFICATION_INPUT>);

impl DiversificationInput {
    /// Takes M as given. `None` if it is empty or longer than 31 bytes.
    pub fn from_bytes(m: &[u8]) -> Option<Self> {
        if m.is_empty() {
            return None;
        }
        heapless::Vec::from_slice(m).ok().map(Self)
    }

    /// The usual access-control input `UID || AID (LSB first, as on the wire) || KeyNo || SystemIdentifier`.
    /// `None` if the whole does not fit in 31 bytes.
    pub fn for_application_key(
        uid: &[u8],
        aid: Aid,
        key_no: KeyNo,
        system_identifier: &[u8],
    ) -> Option<Self> {
        let mut v = heapless::Vec::<u8, MAX_DIVERSIFICATION_INPUT>::new();
        v.extend_from_slice(uid).ok()?;
        v.extend_from_slice(&aid.to_wire()).ok()?;
        v.push(key_no.value()).ok()?;
        v.extend_from_slice(system_identifier).ok()?;
        Self::from_bytes(&v)
    }

    /// The bytes of M.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// `D = 01 || M` when AN10922 of it equals plain AES-CMAC of it, that is when
    /// `16 < |D| ≤ 32` (M of 16 to 31 bytes; the GEN-PACS input is 19): then a key store that
    /// offers only CMAC signing (a PKCS#11 token's `CKM_AES_CMAC`) diversifies inside itself.
    /// `None` for a shorter M, which AN10922 pads to two blocks where CMAC would not.
    pub fn cmac_message(&self) -> Option<CmacMessage> {
        if self.0.len() < BLOCK {
            return None;
        }
        let mut d = CmacMessage::new();
        d.push(DIV_CONSTANT_AES128).ok()?;
        d.extend_from_slice(&self.0).ok()?;
        Some(d)
    }
}

/// Left shift by one bit of a 128-bit value, XOR `0x87` on carry (NIST SP 800-38B subkeys).
fn dbl(block: &[u8; BLOCK]) -> [u8; BLOCK] {
    let v = u128::from_be_bytes(*block);
    let carry = v >> 127;
    // carry is 0 or 1: select the reduction constant without a data-dependent branch.
    ((v << 1) ^ (0x87 & carry.wrapping_neg())).to_be_bytes()
}

/// Diversifies `master` for input `m` (AN10922 §2.2.1, AES-128).
pub fn an10922_aes128(master: &AesKey, m: &DiversificationInput) -> AesKey {
    let cipher = super::aes(master);
    // L and the CMAC subkeys K1, K2 are secrets of the master: wiped on return.
    let mut l = Zeroizing::new([0u8; BLOCK]);
    super::encrypt_block(&cipher, &mut l);
    let k1 = Zeroizing::new(dbl(&l));
    let k2 = Zeroizing::new(dbl(&k1));

    let mut d = [0u8; 2 * BLOCK];
    let len = m.0.len().saturating_add(1); // at most 32 by construction
    let (d_first, d_rest) = d.split_at_mut(1);
    d_first.fill(DIV_CONSTANT_AES128);
    let subkey = if let Some(dst) = d_rest.get_mut(..m.0.len()) {
        dst.copy_from_slice(&m.0);
        if let Some(marker) = d.get_mut(len) {
            *marker = 0x80;
            &k2
        } else {
            &k1
        }
    } else {
        &k1
    };

    let (b1, b2) = d.split_at_mut(BLOCK);
    let mut state = [0u8; BLOCK];
    state.copy_from_slice(b1);
    super::encrypt_block(&cipher, &mut state);
    for ((s, x), k) in state.iter_mut().zip(b2.iter()).zip(subkey.iter()) {
        *s ^= x ^ k;
    }
    super::encrypt_block(&cipher, &mut state);
    let key = AesKey::new(state);
    state.zeroize();
    d.zeroize();
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::cmac;
    use hex_literal::hex;

    // Source: NXP AN10922 Rev. 2.2 §2.2.1 Table 2; also Proxmark3 desfiretest.c TestAn10922KDFAES.
    #[test]
    fn an10922_published_vector() {
        let master = AesKey::new(hex!("00112233445566778899AABBCCDDEEFF"));
        let m =
            DiversificationInput::from_bytes(&hex!("04782E21801D803042F54E585020416275")).unwrap();
        let key = an10922_aes128(&master, &m);
        assert_eq!(key.expose(), &hex!("A8DD63A3B89D54B37CA802473FDA9175"));
    }

    #[test]
    fn subkeys_match_published_k1_k2() {
        let c = crate::crypto::aes(&AesKey::new(hex!("00112233445566778899AABBCCDDEEFF")));
        let mut l = [0u8; 16];
        crate::crypto::encrypt_block(&c, &mut l);
        assert_eq!(l, hex!("FDE4FBAE4A09E020EFF722969F83832B"));
        assert_eq!(dbl(&l), hex!("FBC9F75C9413C041DFEE452D3F0706D1"));
        assert_eq!(dbl(&dbl(&l)), hex!("F793EEB928278083BFDC8A5A7E0E0D25"));
    }

    /// For 16 < |D| ≤ 32 AN10922 is plain AES-CMAC of D; for shorter D it differs (two-block padding).
    #[test]
    fn relation_to_cmac() {
        let master = AesKey::new(hex!("F0E1D2C3B4A5968778695A4B3C2D1E0F"));
        let c = crate::crypto::aes(&master);
        for len in 1..=31usize {
            let m_bytes: [u8; 31] =
                core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(5));
            let m = DiversificationInput::from_bytes(&m_bytes[..len]).unwrap();
            let key = an10922_aes128(&master, &m);
            let plain_cmac = cmac(&c, &[&[0x01], &m_bytes[..len]]);
            if len + 1 > 16 {
                assert_eq!(key.expose(), &plain_cmac, "len {len}");
                let d = m.cmac_message().unwrap();
                assert_eq!(d.first(), Some(&0x01));
                assert_eq!(&d[1..], &m_bytes[..len]);
                assert_eq!(cmac(&c, &[&d]), plain_cmac, "len {len}");
            } else {
                assert_ne!(key.expose(), &plain_cmac, "len {len}");
                assert!(m.cmac_message().is_none(), "len {len}");
            }
        }
    }

    #[test]
    fn input_bounds() {
        assert!(DiversificationInput::from_bytes(&[]).is_none());
        assert!(DiversificationInput::from_bytes(&[0; 32]).is_none());
        assert!(DiversificationInput::from_bytes(&[0; 31]).is_some());
        let m = DiversificationInput::for_application_key(
            &[1, 2, 3, 4, 5, 6, 7],
            Aid::new(0x0AC501).unwrap(),
            KeyNo::new(2).unwrap(),
            b"GEN-PACS",
        )
        .unwrap();
        assert_eq!(
            m.as_bytes(),
            &hex!("01020304050607 01C50A 02 47454E2D50414353")
        );
        assert!(
            DiversificationInput::for_application_key(&[0; 7], Aid::PICC, KeyNo::MASTER, &[0; 21])
                .is_none()
        );
    }
}
