//! The AES floor of the benchmark transaction: exactly the AES-128 key expansions and block
//! operations it cannot do without, as raw `aes::Aes128` calls with nothing around them.
//!
//! Each [`KeyUse`] is one key expansion followed by the block operations done with that key.
//! Encryptions are chained (CMAC and CBC encryption are sequential); the decryptions of one
//! key are independent blocks (CBC decryption is parallel), as the engine's CBC does them.
//!
//! # What one transaction needs (the floor, [`FLOOR`])
//!
//! | key | expansions | encryptions | decryptions |
//! |---|---|---|---|
//! | K1 (EV2First) | 1 | 2 token CBC + 1 CMAC subkey + 2 SV1 + 2 SV2 = 7 | 1 E(RndB) + 2 confirmation = 3 |
//! | SesAuthENCKey 1 | 1 | 1 IV (response) | 1 (UID block) |
//! | SesAuthMACKey 1 | 1 | 1 subkey + 1 GetCardUID cmd + 2 response (23 bytes) = 4 | 0 |
//! | K2 (EV2NonFirst) | 1 | 2 token + 1 subkey + 2 SV1 + 2 SV2 = 7 | 1 E(RndB) + 1 E(RndA') = 2 |
//! | SesAuthENCKey 2 | 1 | 1 IV (response) | 11 (176 bytes) |
//! | SesAuthMACKey 2 | 1 | 1 subkey + 1 ReadData cmd (14 bytes) + 12 response (183 bytes) = 14 | 0 |
//! | **total** | **6** | **34** | **17** |
//!
//! The commands of both Full-mode calls carry no data, so no command IV and no command CBC. A
//! CMAC subkey is one encryption of the zero block per key; SV1 and SV2 share K's subkey, a
//! command MAC and its response MAC share SesAuthMACKey's.
//!
//! # What desfire-core does today ([`AS_IMPLEMENTED`])
//!
//! 10 expansions, 38 encryptions, 17 decryptions (counted by `scripts/bench.sh` from the
//! `aeskeygenassist`/`aesenclast`/`aesdeclast` instructions callgrind saw executed, and equal
//! to this table): each handshake expands its key three times (`challenge`,
//! `on_confirmation`, `SessionKeys::derive`), and every `cmac()` call derives the subkeys
//! again (SV1 and SV2, command and response MAC: 4 encryptions more).
//!
//! [`aes_work`] with this table is a model of the engine's AES work, not a measurement of it:
//! with the software AES (thumbv7em, or `--cfg aes_backend="soft"` on the host) it executes
//! 2-4 % more instructions than the engine spends inside `aes` for the same operations, from
//! different inlining. The counts themselves are exact.
//!
//! `desfire-core` turns on the `aes` crate's `zeroize` feature and features unify, so here as in
//! the engine every expanded key is also wiped when dropped.
//!
//! `no_std`: the thumb binary can carry it as well.

use aes::Aes128;
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use core::hint::black_box;

/// One key expansion and the block operations done with that key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUse {
    /// Chained block encryptions.
    pub encryptions: usize,
    /// Independent block decryptions (at most [`MAX_DECRYPTIONS`]).
    pub decryptions: usize,
}

/// The most decryptions done with one key (ReadData's 176 bytes).
pub const MAX_DECRYPTIONS: usize = 11;

const fn uses(encryptions: usize, decryptions: usize) -> KeyUse {
    KeyUse {
        encryptions,
        decryptions,
    }
}

/// The AES work one transaction needs at the least (see the module documentation).
pub const FLOOR: [KeyUse; 6] = [
    uses(7, 3),  // K1
    uses(1, 1),  // SesAuthENCKey 1
    uses(4, 0),  // SesAuthMACKey 1
    uses(7, 2),  // K2
    uses(1, 11), // SesAuthENCKey 2
    uses(14, 0), // SesAuthMACKey 2
];

/// The AES work desfire-core does for one transaction today.
pub const AS_IMPLEMENTED: [KeyUse; 10] = [
    uses(2, 1),  // K1 in auth::challenge: D(E(RndB)), E(token) 2 blocks
    uses(0, 2),  // K1 again in on_confirmation
    uses(6, 0),  // K1 again in SessionKeys::derive: 2 x (subkey + 2 blocks)
    uses(1, 1),  // SesAuthENCKey 1: IV, UID block
    uses(5, 0),  // SesAuthMACKey 1: (subkey + 1), (subkey + 2)
    uses(2, 1),  // K2 in challenge
    uses(0, 1),  // K2 in on_confirmation
    uses(6, 0),  // K2 in derive
    uses(1, 11), // SesAuthENCKey 2: IV, 11 blocks
    uses(15, 0), // SesAuthMACKey 2: (subkey + 1), (subkey + 12)
];

/// Key expansions, encryptions and decryptions of `work`.
pub fn totals(work: &[KeyUse]) -> (usize, usize, usize) {
    work.iter().fold((0, 0, 0), |(k, e, d), u| {
        (k + 1, e + u.encryptions, d + u.decryptions)
    })
}

/// Does `work` with raw `Aes128` calls; returns the last block of the encryption chain.
#[inline(never)]
pub fn aes_work(work: &[KeyUse]) -> [u8; 16] {
    let mut key = [0x5A; 16];
    let mut chain = aes::Block::default();
    let mut blocks = [aes::Block::default(); MAX_DECRYPTIONS];
    for (i, u) in work.iter().enumerate() {
        key[0] = i as u8;
        let cipher = Aes128::new(black_box(&key).into());
        for _ in 0..u.encryptions {
            cipher.encrypt_block(&mut chain);
        }
        let blocks = black_box(&mut blocks[..u.decryptions.min(MAX_DECRYPTIONS)]);
        cipher.decrypt_blocks(blocks);
        black_box(&blocks);
    }
    chain.into()
}
