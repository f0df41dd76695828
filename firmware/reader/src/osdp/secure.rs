//! The OSDP Secure Channel cryptography (SIA OSDP v2.2 Annex D), PD side, heap-free, on the
//! AES helpers of `desfire_core::crypto` (one AES implementation in the image).
//!
//! ```text
//! S-ENC   = AES_SCBK(01 82 RND.A[0..6] 00*8)     S-MAC1 = AES_SCBK(01 01 ..)   S-MAC2 = (01 02 ..)
//! client cryptogram = AES_S-ENC(RND.A || RND.B)  server cryptogram = AES_S-ENC(RND.B || RND.A)
//! R-MAC-I = AES_S-MAC2(AES_S-MAC1(server cryptogram))
//! MAC     = CBC-MAC: all blocks but the last with S-MAC1, the last with S-MAC2; the IV is the
//!           last MAC of the other direction; 80 00.. padding only when not block aligned
//! DATA    = AES-CBC with S-ENC, IV = ones' complement of the other direction's last MAC,
//!           always 80 00.. padded
//! ```

use desfire_core::crypto::{
    AesKey, BLOCK, aes, cbc_decrypt, cbc_encrypt, encrypt_block, pad_iso9797_m2, unpad_iso9797_m2,
};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// The session keys of one Secure Channel session (zeroized on drop: [`AesKey`]).
#[derive(Debug, Clone)]
pub struct SessionKeys {
    s_enc: AesKey,
    s_mac1: AesKey,
    s_mac2: AesKey,
}

fn derive_one(scbk: &AesKey, tag: u8, rnd_a: &[u8; 8]) -> AesKey {
    let mut block = [0u8; BLOCK];
    block[0] = 0x01;
    block[1] = tag;
    for (o, r) in block.iter_mut().skip(2).zip(rnd_a.iter().take(6)) {
        *o = *r;
    }
    encrypt_block(&aes(scbk), &mut block);
    let key = AesKey::new(block);
    // The session key's stack copy.
    block.zeroize();
    key
}

impl SessionKeys {
    /// S-ENC, S-MAC1 and S-MAC2 from the SCBK and the control panel's RND.A.
    pub fn derive(scbk: &AesKey, rnd_a: &[u8; 8]) -> Self {
        Self {
            s_enc: derive_one(scbk, 0x82, rnd_a),
            s_mac1: derive_one(scbk, 0x01, rnd_a),
            s_mac2: derive_one(scbk, 0x02, rnd_a),
        }
    }

    fn cryptogram(&self, first: &[u8; 8], second: &[u8; 8]) -> [u8; BLOCK] {
        let mut block = [0u8; BLOCK];
        let (a, b) = block.split_at_mut(8);
        a.copy_from_slice(first);
        b.copy_from_slice(second);
        encrypt_block(&aes(&self.s_enc), &mut block);
        block
    }

    /// The PD's proof of the SCBK, sent in osdp_CCRYPT.
    pub fn client_cryptogram(&self, rnd_a: &[u8; 8], rnd_b: &[u8; 8]) -> [u8; BLOCK] {
        self.cryptogram(rnd_a, rnd_b)
    }

    /// Whether the control panel's osdp_SCRYPT cryptogram is right (constant time).
    pub fn server_cryptogram_ok(&self, rnd_a: &[u8; 8], rnd_b: &[u8; 8], got: &[u8]) -> bool {
        let want = self.cryptogram(rnd_b, rnd_a);
        bool::from(want.as_slice().ct_eq(got))
    }

    /// R-MAC-I: the first IV of the MAC chain, sent in osdp_RMAC_I.
    pub fn initial_rmac(&self, server_cryptogram: &[u8; BLOCK]) -> [u8; BLOCK] {
        let mut b = *server_cryptogram;
        encrypt_block(&aes(&self.s_mac1), &mut b);
        encrypt_block(&aes(&self.s_mac2), &mut b);
        b
    }

    /// The MAC of `input` with `icv`, streamed block by block (no buffer).
    pub fn mac(&self, icv: &[u8; BLOCK], input: &[u8]) -> [u8; BLOCK] {
        let mac1 = aes(&self.s_mac1);
        let mac2 = aes(&self.s_mac2);
        let blocks = input.len().div_ceil(BLOCK).max(1);
        let mut state = *icv;
        for i in 0..blocks {
            let from = i.saturating_mul(BLOCK);
            let chunk = input.get(from..).unwrap_or_default();
            let chunk = chunk.get(..BLOCK).unwrap_or(chunk);
            for (j, s) in state.iter_mut().enumerate() {
                *s ^= match chunk.get(j) {
                    Some(b) => *b,
                    None if j == chunk.len() => 0x80,
                    None => 0,
                };
            }
            let last = i.saturating_add(1) == blocks;
            encrypt_block(if last { &mac2 } else { &mac1 }, &mut state);
        }
        state
    }

    /// Encrypts the first `len` bytes of `buf` in place (padded) and returns the new length.
    pub fn encrypt_data(
        &self,
        other_mac: &[u8; BLOCK],
        buf: &mut [u8],
        len: usize,
    ) -> Option<usize> {
        let n = pad_iso9797_m2(buf, len).ok()?;
        cbc_encrypt(&aes(&self.s_enc), &complement(other_mac), buf.get_mut(..n)?).ok()?;
        Some(n)
    }

    /// Decrypts `buf` in place and returns the length of the data inside its padding.
    pub fn decrypt_data(&self, other_mac: &[u8; BLOCK], buf: &mut [u8]) -> Option<usize> {
        cbc_decrypt(&aes(&self.s_enc), &complement(other_mac), buf).ok()?;
        unpad_iso9797_m2(buf).ok()
    }
}

fn complement(mac: &[u8; BLOCK]) -> [u8; BLOCK] {
    mac.map(|b| !b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    const SCBK: [u8; 16] = hex!("000102030405060708090A0B0C0D0E0F");
    const RND_A: [u8; 8] = hex!("B0B1B2B3B4B5B6B7");
    const RND_B: [u8; 8] = hex!("A0A1A2A3A4A5A6A7");

    /// The same handshake computed by a separate implementation, the `osdp` crate's Annex D
    /// code (pure Rust, the control panel side): keys, both cryptograms, R-MAC-I, a MAC chain
    /// and data encryption must agree byte for byte.
    #[test]
    fn agrees_with_an_independent_annex_d_implementation() {
        use osdp::secure::crypto as other;
        let keys = SessionKeys::derive(&AesKey::new(SCBK), &RND_A);
        let theirs = other::SessionKeys::derive(&SCBK, &RND_A);
        assert_eq!(keys.s_enc.expose(), &theirs.s_enc);
        assert_eq!(keys.s_mac1.expose(), &theirs.s_mac1);
        assert_eq!(keys.s_mac2.expose(), &theirs.s_mac2);
        let cc = keys.client_cryptogram(&RND_A, &RND_B);
        assert_eq!(cc, other::client_cryptogram(&theirs.s_enc, &RND_A, &RND_B));
        let sc = other::server_cryptogram(&theirs.s_enc, &RND_A, &RND_B);
        assert!(keys.server_cryptogram_ok(&RND_A, &RND_B, &sc));
        assert!(!keys.server_cryptogram_ok(&RND_A, &RND_B, &cc));
        let rmac = keys.initial_rmac(&sc);
        assert_eq!(
            rmac,
            other::initial_rmac(&theirs.s_mac1, &theirs.s_mac2, &sc)
        );
        for len in [1usize, 15, 16, 17, 31, 32, 40] {
            let msg: std::vec::Vec<u8> = (0..len as u8).collect();
            assert_eq!(
                keys.mac(&rmac, &msg),
                osdp::secure::mac::cbc_mac(&msg, &rmac, &theirs.s_mac1, &theirs.s_mac2),
                "{len}"
            );
            let mut buf = [0u8; 64];
            buf[..len].copy_from_slice(&msg);
            let n = keys.encrypt_data(&rmac, &mut buf, len).unwrap();
            let want = osdp::secure::cipher::encrypt_data(
                &theirs.s_enc,
                &osdp::secure::cipher::complement_icv(&rmac),
                &msg,
            );
            assert_eq!(&buf[..n], &want[..], "{len}");
            assert_eq!(keys.decrypt_data(&rmac, &mut buf[..n]), Some(len));
            assert_eq!(&buf[..len], &msg[..]);
        }
    }
}
