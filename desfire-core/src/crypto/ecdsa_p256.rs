//! ECDSA P-256 verification (FIPS 186-5 §6.4.2) behind one trait, so a microcontroller can use
//! a faster implementation than the portable one without the engine knowing.
//!
//! - [`RustCryptoP256`]: RustCrypto `p256` (portable, every target; the host and the fuzzer).
//! - `CortexM4P256`: `p256-cm4`, the Cortex-M4 assembly of P256-Cortex-M4 (feature
//!   `p256-cm4`, ARM targets only): about 9x fewer instructions per verification and a fraction
//!   of the flash (firmware/README.md has the measured figures).
//!
//! [`P256`] is the one the engine uses ([`crate::encoding::IssuerKey::verifies`]): the Cortex-M4
//! code when the feature is on and the target is ARM, RustCrypto otherwise. Both are checked on
//! the same inputs, valid signatures and the edge cases (r or s zero or not below n, a point off
//! the curve, the point at infinity, a wrong digest), on the host and in QEMU
//! (firmware/reader/src/ecdsa_vectors.rs).

/// A P-256 public key as the affine point `x || y` (each 32 bytes, big-endian), checked to lie
/// on the curve by the backend that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct P256Point([u8; 64]);

impl P256Point {
    /// `x || y` of a point a backend or a signing key has already checked.
    pub(crate) fn from_verified(xy: [u8; 64]) -> Self {
        Self(xy)
    }

    /// The SEC1 uncompressed encoding `04 || x || y`.
    pub fn to_sec1_uncompressed(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        let (tag, xy) = out.split_at_mut(1);
        tag.fill(0x04);
        xy.copy_from_slice(&self.0);
        out
    }

    /// `x || y`, big-endian.
    pub fn xy(&self) -> &[u8; 64] {
        &self.0
    }
}

/// An ECDSA P-256 verifier over a SHA-256 digest.
pub trait EcdsaP256 {
    /// Decodes a SEC1 point (65 bytes `04 || x || y`, or 33 bytes `02`/`03 || x` where the
    /// backend supports it). `None` for any other length or tag, a coordinate not below p, a
    /// point off the curve, or the point at infinity (`00`); never a point other than the one
    /// encoded.
    fn decode_point(sec1: &[u8]) -> Option<P256Point>;

    /// Whether `signature` (`r || s`, big-endian) is `key`'s signature over `digest`. `r` or
    /// `s` outside `[1, n-1]` does not verify, nor does a sum `u1·G + u2·Q` at infinity.
    fn verify_prehash(key: &P256Point, digest: &[u8; 32], signature: &[u8; 64]) -> bool;
}

/// RustCrypto `p256`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCryptoP256;

impl EcdsaP256 for RustCryptoP256 {
    fn decode_point(sec1: &[u8]) -> Option<P256Point> {
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1).ok()?;
        let point = key.to_encoded_point(false);
        point
            .as_bytes()
            .get(1..)
            .and_then(|xy| xy.try_into().ok())
            .map(P256Point::from_verified)
    }

    fn verify_prehash(key: &P256Point, digest: &[u8; 32], signature: &[u8; 64]) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        let Ok(key) = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key.to_sec1_uncompressed())
        else {
            return false;
        };
        p256::ecdsa::Signature::from_slice(signature)
            .is_ok_and(|sig| key.verify_prehash(digest, &sig).is_ok())
    }
}

/// `p256-cm4` (Cortex-M4 and M4F; ARM targets with the feature `p256-cm4`).
#[cfg(all(feature = "p256-cm4", target_arch = "arm"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct CortexM4P256;

/// A 32-byte big-endian integer as the eight little-endian words `p256-cm4` works on.
#[cfg(all(feature = "p256-cm4", target_arch = "arm"))]
fn words(be: &[u8]) -> Option<[u32; 8]> {
    let be: &[u8; 32] = be.try_into().ok()?;
    let mut w = [0u32; 8];
    for (word, chunk) in w.iter_mut().rev().zip(be.chunks_exact(4)) {
        *word = u32::from_be_bytes(chunk.try_into().ok()?);
    }
    Some(w)
}

#[cfg(all(feature = "p256-cm4", target_arch = "arm"))]
impl EcdsaP256 for CortexM4P256 {
    /// The uncompressed form only. `octet_string_to_point` of p256-cm4 0.4.0 decompresses a
    /// 33-byte key to a point that RustCrypto and OpenSSL do not agree with (the differential
    /// vector "valid, compressed key"), and it slices its input before it checks the length.
    /// Readers hold their issuer keys uncompressed (the key record, the lab profile).
    fn decode_point(sec1: &[u8]) -> Option<P256Point> {
        if sec1.len() != 65 {
            return None;
        }
        let (mut x, mut y) = ([0u32; 8], [0u32; 8]);
        if !p256_cm4::octet_string_to_point(&mut x, &mut y, sec1) {
            return None;
        }
        let mut xy = [0u8; 64];
        for (chunk, word) in xy
            .chunks_exact_mut(4)
            .zip(x.iter().rev().chain(y.iter().rev()))
        {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        Some(P256Point::from_verified(xy))
    }

    /// Not inlined: p256-cm4's working points then take stack only while it runs, never on top
    /// of the caller's buffers in one merged frame (the reader's stack high-water mark).
    #[inline(never)]
    fn verify_prehash(key: &P256Point, digest: &[u8; 32], signature: &[u8; 64]) -> bool {
        let (x, y) = key.0.split_at(32);
        let (r, s) = signature.split_at(32);
        match (words(x), words(y), words(r), words(s)) {
            // Checks r, s in [1, n-1] and the point in range and on the curve itself.
            (Some(x), Some(y), Some(r), Some(s)) => p256_cm4::verify(&x, &y, digest, &r, &s),
            _ => false,
        }
    }
}

/// The verifier the engine uses on this target.
#[cfg(all(feature = "p256-cm4", target_arch = "arm"))]
pub type P256 = CortexM4P256;
/// The verifier the engine uses on this target.
#[cfg(not(all(feature = "p256-cm4", target_arch = "arm")))]
pub type P256 = RustCryptoP256;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::lab;
    use hex_literal::hex;

    #[test]
    fn decodes_the_lab_key_in_both_encodings_and_refuses_the_rest() {
        let p = RustCryptoP256::decode_point(&lab::ISSUER_PUBLIC).unwrap();
        assert_eq!(p.to_sec1_uncompressed(), lab::ISSUER_PUBLIC);
        let mut compressed = [0u8; 33];
        compressed[0] = 2 | (lab::ISSUER_PUBLIC[64] & 1);
        compressed[1..].copy_from_slice(&lab::ISSUER_PUBLIC[1..33]);
        assert_eq!(RustCryptoP256::decode_point(&compressed), Some(p));
        let mut off = lab::ISSUER_PUBLIC;
        off[64] ^= 1;
        assert_eq!(RustCryptoP256::decode_point(&off), None);
        assert_eq!(RustCryptoP256::decode_point(&[0]), None);
        assert_eq!(
            RustCryptoP256::decode_point(&lab::ISSUER_PUBLIC[..64]),
            None
        );
        // x = p: not a field element.
        let mut big = [0u8; 33];
        big[0] = 2;
        big[1..].copy_from_slice(&hex!(
            "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"
        ));
        assert_eq!(RustCryptoP256::decode_point(&big), None);
    }
}
