//! The lab build's RNG: the reader crate's AES-CTR generator seeded from the host's time
//! (semihosting SYS_TIME and SYS_CLOCK), SysTick and a stream number. The MPS2 model has no
//! entropy source, so this is for QEMU and the lab only; a real board seeds from its TRNG (R5).

use reader::drbg::CtrDrbg;

/// A generator for `stream`, seeded from the host's clock.
pub fn lab_rng(stream: u8) -> CtrDrbg {
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
    CtrDrbg::new(seed)
}
