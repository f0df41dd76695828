//! Randomness of the readers and the PD under fuzzing: deterministic, so that every input
//! replays, and the recorded sessions' randomness with one byte changed, so that a recorded
//! session replayed is one byte away from the GRANT (or session) it ended in when recorded.

/// A deterministic `CryptoRng` (xorshift64*): for harnesses, never for a device.
#[derive(Debug, Clone)]
pub struct TestRng(pub u64);

impl rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

impl rand_core::CryptoRng for TestRng {}

/// `R`'s output with bit 0 of its first byte flipped: the same stream but for one byte.
#[derive(Debug, Clone)]
pub struct Nudged<R> {
    inner: R,
    done: bool,
}

impl<R> Nudged<R> {
    /// Over `inner`.
    pub fn new(inner: R) -> Self {
        Self { inner, done: false }
    }

    fn flip(&mut self) -> u8 {
        if core::mem::replace(&mut self.done, true) {
            0
        } else {
            1
        }
    }
}

impl<R: rand_core::RngCore> rand_core::RngCore for Nudged<R> {
    fn next_u32(&mut self) -> u32 {
        self.inner.next_u32() ^ u32::from(self.flip())
    }
    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64() ^ u64::from(self.flip())
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.inner.fill_bytes(dst);
        if let Some(first) = dst.first_mut() {
            *first ^= self.flip();
        }
    }
}

impl<R: rand_core::CryptoRng> rand_core::CryptoRng for Nudged<R> {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::RngCore;

    #[test]
    fn nudged_differs_in_the_first_byte_only() {
        let mut a = [0u8; 40];
        let mut b = [0u8; 40];
        TestRng(7).fill_bytes(&mut a);
        Nudged::new(TestRng(7)).fill_bytes(&mut b);
        assert_eq!(a[0] ^ b[0], 1);
        assert_eq!(a[1..], b[1..]);
    }
}
