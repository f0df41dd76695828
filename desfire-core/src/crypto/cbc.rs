//! AES-CBC in place, without padding (callers pad explicitly, EV2 authentication does not pad).

use super::{Aes128, BLOCK, CryptoError};
use cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit};

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
pub fn cbc_decrypt(cipher: &Aes128, iv: &[u8; BLOCK], buf: &mut [u8]) -> Result<(), CryptoError> {
    let blocks = blocks(buf)?;
    ::cbc::Decryptor::<&Aes128>::inner_iv_init(cipher, iv.into()).decrypt_blocks(blocks);
    Ok(())
}
