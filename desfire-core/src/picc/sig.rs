//! The originality signature of Read_Sig: ECDSA on secp224r1 over the 7-byte UID, no hash
//! (NT4H2421Gx §10.10.1), signed by the card's configured key.
//!
//! A virtual card cannot hold NXP's private key. Its default key is [`TEST_SECRET`], a **test
//! key** whose public half is [`crate::crypto::originality::TEST_KEY`]: signatures verify with
//! it, and [`crate::crypto::originality::identify`] (NXP's keys) rejects them, as it must.

use super::state::{Originality, State};
use p224::ecdsa::SigningKey;
use p224::ecdsa::signature::hazmat::PrehashSigner;

/// The private scalar of the virtual card's TEST originality key, kept with its public half
/// [`crate::crypto::originality::TEST_KEY`].
pub use crate::crypto::originality::TEST_SECRET;

/// Signs `uid` with a secp224r1 private scalar: `r ‖ s`.
pub fn sign(secret: &[u8; 28], uid: &[u8]) -> Option<[u8; 56]> {
    let key = SigningKey::from_slice(secret).ok()?;
    let mut e = [0u8; 28];
    let start = e.len().checked_sub(uid.len())?;
    e.get_mut(start..)?.copy_from_slice(uid);
    let sig: p224::ecdsa::Signature = key.sign_prehash(&e).ok()?;
    let bytes = sig.to_bytes();
    let mut out = [0u8; 56];
    out.copy_from_slice(bytes.get(..56)?);
    Some(out)
}

/// What Read_Sig answers for this state.
pub fn signature(state: &State) -> Option<[u8; 56]> {
    match &state.originality {
        Originality::Key(k) => sign(k, &state.uid),
        Originality::Signature(s) => Some(*s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::originality::{TEST_KEY, identify, verify};

    #[test]
    fn test_key_signs_and_is_not_nxp() {
        let key = SigningKey::from_slice(&TEST_SECRET).unwrap();
        let p = key.verifying_key().to_encoded_point(false);
        assert_eq!(p.as_bytes(), &TEST_KEY.sec1[..]);
        let uid = [0x04, 1, 2, 3, 4, 5, 6];
        let sig = sign(&TEST_SECRET, &uid).unwrap();
        assert!(verify(&TEST_KEY, &uid, &sig).unwrap());
        assert!(!verify(&TEST_KEY, &[0x04, 1, 2, 3, 4, 5, 7], &sig).unwrap());
        assert_eq!(identify(&uid, &sig).unwrap(), None);
    }
}
