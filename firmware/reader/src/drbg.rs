//! AES-128 in counter mode from a 16-byte seed, for the second consumer of randomness (the OSDP
//! PD's RND.B) on a board with one TRNG, and for QEMU, which has none. Seed it from the TRNG on
//! real hardware (R5); the lab build seeds it from the host's clock.

use desfire_core::crypto::{AesKey, aes, encrypt_block};

/// The generator.
pub struct CtrDrbg {
    // The key, not the expanded cipher: a software AES-128 key schedule is ~350 bytes, and
    // random bytes are needed a few times per transaction only.
    key: AesKey,
    counter: u128,
}

impl core::fmt::Debug for CtrDrbg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CtrDrbg([redacted])")
    }
}

impl CtrDrbg {
    /// From `seed`, which must be secret and unpredictable outside the lab.
    pub fn new(seed: [u8; 16]) -> Self {
        Self {
            key: AesKey::new(seed),
            counter: 0,
        }
    }
}

impl rand_core::RngCore for CtrDrbg {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        let cipher = aes(&self.key);
        for chunk in dst.chunks_mut(16) {
            let mut block = self.counter.to_le_bytes();
            self.counter = self.counter.wrapping_add(1);
            encrypt_block(&cipher, &mut block);
            for (o, b) in chunk.iter_mut().zip(block) {
                *o = b;
            }
        }
    }
}

impl rand_core::CryptoRng for CtrDrbg {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::RngCore;

    #[test]
    fn streams_differ_by_seed_and_never_repeat_a_block() {
        let mut a = CtrDrbg::new([1; 16]);
        let mut b = CtrDrbg::new([2; 16]);
        let (mut x, mut y) = ([0u8; 64], [0u8; 64]);
        a.fill_bytes(&mut x);
        b.fill_bytes(&mut y);
        assert_ne!(x, y);
        let blocks: std::vec::Vec<&[u8]> = x.chunks(16).collect();
        for i in 0..blocks.len() {
            for j in i + 1..blocks.len() {
                assert_ne!(blocks[i], blocks[j]);
            }
        }
        // A short request still advances the counter: the next bytes are new.
        let mut c = CtrDrbg::new([1; 16]);
        let mut z = [0u8; 3];
        c.fill_bytes(&mut z);
        assert_eq!(z, x[..3]);
        c.fill_bytes(&mut z);
        assert_eq!(z, x[16..19]);
    }
}
