//! AES-CBC in place, without padding (callers pad explicitly, EV2 authentication does not pad).

use super::{Aes128, BLOCK, CryptoError};
use cipher::{BlockModeEncrypt, InnerIvInit};

fn blocks(buf: &mut [u8]) -> Result<&mut [cipher::Block<Aes128>], CryptoError> {
    let (blocks, rest) = cipher::Block::<Aes128>::slice_as_chunks_mut(buf);
    if rest.is_empty() {
        Ok(blocks)
    } else {
        Err(CryptoError::NotBlockAligned)
    }
}

/// Encrypts `buf` in place with AES-CBC and the given IV.
pub fn cbc_encrypt(cipher: &Aes128, iv: &[u8; BLOCK], buf: &mut [u8]) -> Result<(), CryptoError> {
    let blocks = blocks(buf)?;
    ::cbc::Encryptor::<&Aes128>::inner_iv_init(cipher, iv.into()).encrypt_blocks(blocks);
    Ok(())
}

/// Decrypts `buf` in place with AES-CBC and the given IV.
///
/// One block at a time through the cipher's single-block decryption: the `cbc` crate's
/// `decrypt_blocks` also instantiates the backend's parallel-blocks path, a second copy of the
/// AES decryption (~1 KB of flash on the reader firmware) for no gain on messages of a few
/// blocks.
pub fn cbc_decrypt(cipher: &Aes128, iv: &[u8; BLOCK], buf: &mut [u8]) -> Result<(), CryptoError> {
    let blocks = blocks(buf)?;
    let mut chain = *iv;
    for block in blocks {
        let ciphertext: [u8; BLOCK] = (*block).into();
        cipher::BlockCipherDecrypt::decrypt_block(cipher, block);
        for (b, c) in block.iter_mut().zip(chain) {
            *b ^= c;
        }
        chain = ciphertext;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{AesKey, aes};
    use hex_literal::hex;

    /// NIST SP 800-38A, F.2.1 / F.2.2 (CBC-AES128): four blocks, so the chaining is covered.
    const KEY: [u8; 16] = hex!("2b7e151628aed2a6abf7158809cf4f3c");
    const IV: [u8; 16] = hex!("000102030405060708090a0b0c0d0e0f");
    const PLAIN: [u8; 64] = hex!(
        "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"
        "30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710"
    );
    const CIPHER: [u8; 64] = hex!(
        "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2"
        "73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7"
    );

    #[test]
    fn sp800_38a_cbc_aes128_both_ways() {
        let cipher = aes(&AesKey::new(KEY));
        let mut buf = PLAIN;
        cbc_encrypt(&cipher, &IV, &mut buf).unwrap();
        assert_eq!(buf, CIPHER);
        cbc_decrypt(&cipher, &IV, &mut buf).unwrap();
        assert_eq!(buf, PLAIN);
    }

    #[test]
    fn decryption_agrees_with_the_cbc_crate_and_refuses_partial_blocks() {
        let cipher = aes(&AesKey::new(hex!("00112233445566778899AABBCCDDEEFF")));
        let iv = hex!("F0E1D2C3B4A5968778695A4B3C2D1E0F");
        let mut data = [0u8; 176];
        for (i, b) in data.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        for len in [16, 32, 48, 176] {
            let mut ours = data;
            let mut theirs = data;
            cbc_decrypt(&cipher, &iv, &mut ours[..len]).unwrap();
            let (blocks, _) = cipher::Block::<Aes128>::slice_as_chunks_mut(&mut theirs[..len]);
            cipher::BlockModeDecrypt::decrypt_blocks(
                &mut ::cbc::Decryptor::<&Aes128>::inner_iv_init(&cipher, (&iv).into()),
                blocks,
            );
            assert_eq!(ours, theirs, "{len} bytes");
        }
        assert_eq!(
            cbc_decrypt(&cipher, &iv, &mut [0u8; 17]),
            Err(CryptoError::NotBlockAligned)
        );
    }
}
