//! The lab build's RNG: AES-128 in counter mode, keyed from the host's time (semihosting
//! SYS_TIME and SYS_CLOCK) and a stream number. The MPS2 model has no entropy source, so this
//! is for QEMU and the lab only; a real board feeds RndA and RND.B from its TRNG (R5).

use desfire_core::crypto::{AesKey, aes, encrypt_block};

/// A CTR-DRBG-shaped generator for QEMU.
pub struct LabRng {
    // The key, not the expanded cipher: a software AES-128 key schedule is ~700 bytes of stack,
    // and random bytes are needed a few times per transaction only.
    key: AesKey,
    counter: u128,
}

impl core::fmt::Debug for LabRng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("LabRng")
    }
}

impl LabRng {
    /// A generator for `stream`, seeded from the host's clock.
    pub fn new(stream: u8) -> Self {
        // SAFETY: semihosting calls without arguments; QEMU runs with semihosting enabled.
        let (time, clock) = unsafe {
            (
                cortex_m_semihosting::syscall!(TIME) as u32,
                cortex_m_semihosting::syscall!(CLOCK) as u32,
            )
        };
        let mut seed = [0u8; 16];
        seed[..4].copy_from_slice(&time.to_le_bytes());
        seed[4..8].copy_from_slice(&clock.to_le_bytes());
        seed[8..12].copy_from_slice(&crate::clock::ticks().to_le_bytes());
        seed[15] = stream;
        Self {
            key: AesKey::new(seed),
            counter: 0,
        }
    }
}

impl rand_core::RngCore for LabRng {
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
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

impl rand_core::CryptoRng for LabRng {}
