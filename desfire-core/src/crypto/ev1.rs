//! Legacy EV1 AES authentication (AuthenticateAES, `AA`): the session key rule, for following and
//! auditing EV1 sessions in traces.
//!
//! The engine's reader never offers EV1 authentication: a reader that accepts it can be
//! downgraded. Facts (ElmueSoft real-card EV1 trace, catalogued in the project's vector notes):
//! the CBC IV chains through the handshake (IV 0 for E(RndB), then E(RndB) for
//! `E(RndA || RndB')`, then the last block of that for `E(RndA')`), and the session key is
//! `RndA[0..4] || RndB[0..4] || RndA[12..16] || RndB[12..16]`.

use super::{AesKey, Random16};

/// The EV1 AES session key from both randoms.
pub fn session_key_aes(rnd_a: &Random16, rnd_b: &Random16) -> AesKey {
    let (a, b) = (rnd_a.expose(), rnd_b.expose());
    let parts = [
        a.first_chunk::<4>(),
        b.first_chunk::<4>(),
        a.last_chunk::<4>(),
        b.last_chunk::<4>(),
    ];
    let mut k = [0u8; 16];
    for (dst, src) in k.chunks_exact_mut(4).zip(parts.into_iter().flatten()) {
        dst.copy_from_slice(src);
    }
    AesKey::new(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{aes, cbc_decrypt, cbc_encrypt};
    use hex_literal::hex;

    /// Source: ElmueSoft "DESFire EV1 Communication Examples" (real DESFire EV1, Teensy + PN532),
    /// public copy github.com/sotechcllc/RFDoorLock (commit ba46f71b), block
    /// "Authenticate(KeyNo= 0, Key= 00…00 (AES))" (EV1-AES-AUTH-1 in the vector catalogue).
    /// The whole handshake, byte-exact, with the IV chaining of EV1.
    #[test]
    fn ev1_aes_auth_vector() {
        let k = aes(&AesKey::zero());
        // Card: AF || E(K, RndB), IV 0.
        let mut rnd_b = hex!("B969FDFE56FD91FC9DE6F6F213B8FD1E");
        let e_rnd_b = rnd_b;
        cbc_decrypt(&k, &[0; 16], &mut rnd_b).unwrap();
        assert_eq!(rnd_b, hex!("C05DDD714FD788A6B7B754F3C4D066E8"));
        let rnd_b = Random16::new(rnd_b);
        let rnd_a = Random16::new(hex!("F44B26F5686F3A391CD38EBD10772281"));
        // Reader: AF || E(K, RndA || RndB'), IV = E(RndB).
        let mut token = [0u8; 32];
        token[..16].copy_from_slice(rnd_a.expose());
        token[16..].copy_from_slice(&rnd_b.rotated_left());
        cbc_encrypt(&k, &e_rnd_b, &mut token).unwrap();
        assert_eq!(
            token,
            hex!("36AAD7DF6E436BA08D18613830A70D5AD43E3D3F4A8D47541EEE623A934E4774")
        );
        // Card: 00 || E(K, RndA'), IV = last block the reader sent.
        let mut rnd_a_rot = hex!("800DB680BC146BD121D6578F2D2E2059");
        let iv: [u8; 16] = token[16..].try_into().unwrap();
        cbc_decrypt(&k, &iv, &mut rnd_a_rot).unwrap();
        assert_eq!(rnd_a_rot, hex!("4B26F5686F3A391CD38EBD10772281F4"));
        assert_eq!(rnd_a_rot, rnd_a.rotated_left());
        assert_eq!(
            session_key_aes(&rnd_a, &rnd_b).expose(),
            &hex!("F44B26F5C05DDD7110772281C4D066E8")
        );
    }
}
