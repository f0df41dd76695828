//! Cryptographic building blocks: those of EV2/EV3 secure messaging (AES-CMAC and MACt, CBC,
//! ISO/IEC 9797-1 padding, and in [`ev2`] the handshake, session keys, IVs and MAC inputs),
//! AN10922 key diversification, the DESFire CRC32, the EV1 session key rule ([`ev1`], for
//! traces), LRP key schedules ([`lrp`]), ECDSA P-256 verification ([`ecdsa_p256`], for issuer
//! signatures) and the secp224r1 originality signature with its keys ([`originality`]).
//!
//! CMAC and CBC come from RustCrypto's `cmac` and `cbc` over [`Aes128`], the one place the
//! engine names its block cipher.

mod cbc;
mod cmac;
mod crc32;
pub mod ecdsa_p256;
pub mod ev1;
pub mod ev2;
mod kdf;
mod key;
pub mod lrp;
pub mod originality;
mod padding;

pub use self::cbc::{cbc_decrypt, cbc_encrypt};
pub use self::cmac::{Mact, cmac, mac_t};
pub use self::crc32::crc32;
pub use self::kdf::{CmacMessage, DiversificationInput, an10922_aes128};
pub use self::key::{AesKey, Random16};
pub use self::padding::{pad_iso9797_m2, padded_len, unpad_iso9797_m2};

use cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

/// The AES-128 implementation of the engine: RustCrypto's `aes`, which picks AES-NI or ARMv8
/// instructions where present and a constant-time bitsliced software AES elsewhere.
///
/// This alias and the helpers below are the only places the engine names the cipher, so a
/// platform with an AES peripheral changes the engine in one module.
pub type Aes128 = aes::Aes128;

/// One AES block.
pub const BLOCK: usize = 16;

/// Expands `key` into a cipher instance.
pub fn aes(key: &AesKey) -> Aes128 {
    Aes128::new(key.expose().into())
}

/// Encrypts one block in place (ECB).
pub fn encrypt_block(cipher: &Aes128, block: &mut [u8; BLOCK]) {
    cipher.encrypt_block(block.into());
}

/// Decrypts one block in place (ECB).
pub fn decrypt_block(cipher: &Aes128, block: &mut [u8; BLOCK]) {
    cipher.decrypt_block(block.into());
}

/// Errors of the cryptographic layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CryptoError {
    /// Ciphertext is not a whole number of AES blocks.
    NotBlockAligned,
    /// ISO/IEC 9797-1 method 2 padding is missing or malformed.
    BadPadding,
    /// An output buffer is too small.
    BufferTooSmall,
    /// A public key or signature could not be decoded.
    MalformedSignature,
}

impl core::fmt::Display for CryptoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::NotBlockAligned => "ciphertext is not a multiple of 16 bytes",
            Self::BadPadding => "bad ISO/IEC 9797-1 method 2 padding",
            Self::BufferTooSmall => "buffer too small",
            Self::MalformedSignature => "malformed public key or signature",
        })
    }
}

impl core::error::Error for CryptoError {}
