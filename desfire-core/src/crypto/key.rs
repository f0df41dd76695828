//! Secret values: zeroized on drop, printed as `[redacted]`, compared in constant time.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// An AES-128 key (application key, master key, or session key).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct AesKey([u8; 16]);

impl AesKey {
    /// The all-zero key of a card in delivery state.
    pub const fn zero() -> Self {
        Self([0; 16])
    }

    /// Wraps raw key bytes.
    pub const fn new(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// Takes a key from a slice of exactly 16 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The key bytes. Every call site is a place where the secret leaves this type: keep them few
    /// (cipher setup, ChangeKey cryptograms, and the `desfire keys diversify` output).
    pub fn expose(&self) -> &[u8; 16] {
        &self.0
    }
}

impl ConstantTimeEq for AesKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for AesKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for AesKey {}

impl core::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AesKey([redacted])")
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for AesKey {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "AesKey([redacted])")
    }
}

/// A 16-byte authentication random (RndA or RndB).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Random16([u8; 16]);

impl Random16 {
    /// Wraps 16 random bytes.
    pub const fn new(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// Draws 16 bytes from a cryptographic RNG.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The random bytes.
    pub fn expose(&self) -> &[u8; 16] {
        &self.0
    }

    /// Rotated left by one byte (RndA', RndB').
    pub fn rotated_left(&self) -> [u8; 16] {
        // As one 128-bit word: no generic memmove, and the same bytes as `rotate_left(1)`.
        u128::from_be_bytes(self.0).rotate_left(8).to_be_bytes()
    }
}

impl ConstantTimeEq for Random16 {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl core::fmt::Debug for Random16 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Random16([redacted])")
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Random16 {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Random16([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_key_bytes() {
        extern crate std;
        let key = AesKey::new([0x42; 16]);
        let text = std::format!("{key:?}");
        assert_eq!(text, "AesKey([redacted])");
        assert!(!text.contains("42"));
    }

    #[test]
    fn rotation_is_one_byte_left() {
        let r = Random16::new(core::array::from_fn(|i| i as u8));
        let mut expected: [u8; 16] = core::array::from_fn(|i| i as u8);
        expected.rotate_left(1);
        assert_eq!(r.rotated_left(), expected);
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(AesKey::new([1; 16]), AesKey::new([1; 16]));
        assert_ne!(AesKey::new([1; 16]), AesKey::new([2; 16]));
    }
}
