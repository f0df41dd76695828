//! The cryptographic steps of AuthenticateEV2First and AuthenticateEV2NonFirst (NT4H2421Gx
//! §9.2.5 and §9.2.6; AN12196 §6.6 Table 14), written once for the reader, the card and the trace
//! decoder.
//!
//! ```text
//! PICC: seal_challenge        E(K, RndB)                                  ─▶ PCD: open_challenge
//! PCD:  seal_answer           E(K, RndA ‖ RndB')                          ─▶ PICC: open_answer
//! PICC: seal_confirmation     First: E(K, TI ‖ RndA' ‖ PDcap2 ‖ PCDcap2)  ─▶ PCD: open_confirmation
//!                             NonFirst: E(K, RndA')
//! ```
//!
//! Every encryption is AES-CBC with IV 0 and no padding; `'` is a rotation left by one byte.
//! Each check of a rotated random is constant time. The trace decoder, which sees both sides,
//! opens the answer as the card does and the confirmation as the reader does.

use super::Ti;
use crate::crypto::{Aes128, Random16, cbc_decrypt, cbc_encrypt};
use crate::wire::Reader;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

const ZERO_IV: [u8; 16] = [0; 16];

/// Length of the First confirmation: `TI ‖ RndA' ‖ PDcap2 ‖ PCDcap2`.
pub const FIRST_CONFIRMATION_LEN: usize = 32;
/// Length of the NonFirst confirmation: `RndA'`.
pub const NON_FIRST_CONFIRMATION_LEN: usize = 16;

/// Capabilities exchanged in AuthenticateEV2First.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Capabilities {
    /// PDcap2 from the card.
    pub pd_cap2: [u8; 6],
    /// PCDcap2 echoed by the card.
    pub pcd_cap2: [u8; 6],
}

/// Why a handshake message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HandshakeError {
    /// The message has the wrong length.
    BadLength,
    /// The rotated random (RndB' in the answer, RndA' in the confirmation) does not match.
    RandomMismatch,
}

impl core::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::BadLength => "authentication message of the wrong length",
            Self::RandomMismatch => "the rotated random does not match",
        })
    }
}

impl core::error::Error for HandshakeError {}

/// What the First confirmation carries besides RndA'; NonFirst carries nothing (TI and CmdCtr
/// continue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstConfirmation {
    /// The new transaction identifier.
    pub ti: Ti,
    /// PDcap2 and the echoed PCDcap2.
    pub caps: Capabilities,
}

/// The card's challenge `E(K, RndB)`.
pub fn seal_challenge(k: &Aes128, rnd_b: &Random16) -> [u8; 16] {
    let mut block = *rnd_b.expose();
    // One whole block: CBC cannot fail.
    let _ = cbc_encrypt(k, &ZERO_IV, &mut block);
    block
}

/// RndB from the card's challenge.
pub fn open_challenge(k: &Aes128, challenge: &[u8; 16]) -> Random16 {
    let mut block = *challenge;
    let _ = cbc_decrypt(k, &ZERO_IV, &mut block);
    let rnd_b = Random16::new(block);
    block.zeroize();
    rnd_b
}

/// The reader's answer `E(K, RndA ‖ RndB')`.
pub fn seal_answer(k: &Aes128, rnd_a: &Random16, rnd_b: &Random16) -> [u8; 32] {
    let mut token = [0u8; 32];
    let (a, b) = token.split_at_mut(16);
    a.copy_from_slice(rnd_a.expose());
    b.copy_from_slice(&*Zeroizing::new(rnd_b.rotated_left()));
    let _ = cbc_encrypt(k, &ZERO_IV, &mut token);
    token
}

/// Opens the reader's answer and checks RndB' against `rnd_b` in constant time; returns RndA.
pub fn open_answer(
    k: &Aes128,
    answer: &[u8],
    rnd_b: &Random16,
) -> Result<Random16, HandshakeError> {
    let mut token: Zeroizing<[u8; 32]> =
        Zeroizing::new(answer.try_into().map_err(|_| HandshakeError::BadLength)?);
    let _ = cbc_decrypt(k, &ZERO_IV, token.as_mut_slice());
    let (a, b_rot) = token.split_at(16);
    let ok = bool::from(b_rot.ct_eq(&*Zeroizing::new(rnd_b.rotated_left())));
    let rnd_a = Random16::new(a.try_into().map_err(|_| HandshakeError::BadLength)?);
    if ok {
        Ok(rnd_a)
    } else {
        Err(HandshakeError::RandomMismatch)
    }
}

/// The card's confirmation into `out`: `E(K, TI ‖ RndA' ‖ PDcap2 ‖ PCDcap2)` for First (`first`
/// given), `E(K, RndA')` for NonFirst. Returns its length.
pub fn seal_confirmation(
    k: &Aes128,
    rnd_a: &Random16,
    first: Option<&FirstConfirmation>,
    out: &mut [u8; 32],
) -> usize {
    let rot = Zeroizing::new(rnd_a.rotated_left());
    let len = match first {
        Some(f) => {
            let (ti, rest) = out.split_at_mut(4);
            let (ra, rest) = rest.split_at_mut(16);
            let (pd, pcd) = rest.split_at_mut(6);
            ti.copy_from_slice(&f.ti.0);
            ra.copy_from_slice(&*rot);
            pd.copy_from_slice(&f.caps.pd_cap2);
            pcd.copy_from_slice(&f.caps.pcd_cap2);
            FIRST_CONFIRMATION_LEN
        }
        None => {
            let (ra, _) = out.split_at_mut(16);
            ra.copy_from_slice(&*rot);
            NON_FIRST_CONFIRMATION_LEN
        }
    };
    let _ = cbc_encrypt(k, &ZERO_IV, out.get_mut(..len).unwrap_or(&mut []));
    len
}

/// Opens the card's confirmation (First when `first`) and checks RndA' against `rnd_a` in constant
/// time. For First, returns TI and the capabilities.
pub fn open_confirmation(
    k: &Aes128,
    data: &[u8],
    first: bool,
    rnd_a: &Random16,
) -> Result<Option<FirstConfirmation>, HandshakeError> {
    let expected_len = if first {
        FIRST_CONFIRMATION_LEN
    } else {
        NON_FIRST_CONFIRMATION_LEN
    };
    if data.len() != expected_len {
        return Err(HandshakeError::BadLength);
    }
    // Wiped on every return: it holds TI and RndA' in clear.
    let mut plain = Zeroizing::new([0u8; 32]);
    let buf = plain
        .get_mut(..expected_len)
        .ok_or(HandshakeError::BadLength)?;
    buf.copy_from_slice(data);
    let _ = cbc_decrypt(k, &ZERO_IV, buf);
    let mut rd = Reader::new(buf);
    let bad = |_| HandshakeError::BadLength;
    let ti = if first {
        Some(Ti(rd.array().map_err(bad)?))
    } else {
        None
    };
    let rnd_a_rot: Zeroizing<[u8; 16]> = Zeroizing::new(rd.array().map_err(bad)?);
    let ok = bool::from(rnd_a_rot.ct_eq(&*Zeroizing::new(rnd_a.rotated_left())));
    let confirmation = match ti {
        Some(ti) => Some(FirstConfirmation {
            ti,
            caps: Capabilities {
                pd_cap2: rd.array().map_err(bad)?,
                pcd_cap2: rd.array().map_err(bad)?,
            },
        }),
        None => None,
    };
    rd.finish().map_err(bad)?;
    if ok {
        Ok(confirmation)
    } else {
        Err(HandshakeError::RandomMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{AesKey, aes};
    use hex_literal::hex;

    // Source: AN12196 Rev. 1.8 §6.6 Table 14 (EV2-AUTHFIRST-AN12196-T14), key 0 all-zero.
    const T14_RND_A: [u8; 16] = hex!("13C5DB8A5930439FC3DEF9A4C675360F");
    const T14_RND_B: [u8; 16] = hex!("B9E2FC789B64BF237CCCAA20EC7E6E48");
    const T14_CHALLENGE: [u8; 16] = hex!("A04C124213C186F22399D33AC2A30215");
    const T14_ANSWER: [u8; 32] =
        hex!("35C3E05A752E0144BAC0DE51C1F22C56B34408A23D8AEA266CAB947EA8E0118D");
    const T14_CONFIRMATION: [u8; 32] =
        hex!("3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F08120663");

    #[test]
    fn an12196_t14_both_sides() {
        let k = aes(&AesKey::zero());
        let rnd_a = Random16::new(T14_RND_A);
        let rnd_b = Random16::new(T14_RND_B);
        // Card: challenge; reader: opens it.
        assert_eq!(seal_challenge(&k, &rnd_b), T14_CHALLENGE);
        assert_eq!(open_challenge(&k, &T14_CHALLENGE).expose(), &T14_RND_B);
        // Reader: answer; card: opens it and finds RndA.
        assert_eq!(seal_answer(&k, &rnd_a, &rnd_b), T14_ANSWER);
        assert_eq!(
            open_answer(&k, &T14_ANSWER, &rnd_b).unwrap().expose(),
            &T14_RND_A
        );
        // Card: confirmation; reader: opens it.
        let first = FirstConfirmation {
            ti: Ti(hex!("9D00C4DF")),
            caps: Capabilities::default(),
        };
        let mut out = [0u8; 32];
        assert_eq!(seal_confirmation(&k, &rnd_a, Some(&first), &mut out), 32);
        assert_eq!(out, T14_CONFIRMATION);
        assert_eq!(
            open_confirmation(&k, &T14_CONFIRMATION, true, &rnd_a),
            Ok(Some(first))
        );
    }

    #[test]
    fn mismatches_and_lengths_are_refused() {
        let k = aes(&AesKey::zero());
        let rnd_a = Random16::new(T14_RND_A);
        let other = Random16::new([0x11; 16]);
        assert_eq!(
            open_answer(&k, &T14_ANSWER, &other).unwrap_err(),
            HandshakeError::RandomMismatch
        );
        assert_eq!(
            open_answer(&k, &T14_ANSWER[..31], &Random16::new(T14_RND_B)).unwrap_err(),
            HandshakeError::BadLength
        );
        assert_eq!(
            open_confirmation(&k, &T14_CONFIRMATION, true, &other),
            Err(HandshakeError::RandomMismatch)
        );
        assert_eq!(
            open_confirmation(&k, &T14_CONFIRMATION, false, &rnd_a),
            Err(HandshakeError::BadLength)
        );
    }

    #[test]
    fn non_first_round_trip_with_a_nonzero_key() {
        let k = aes(&AesKey::new(hex!("F0E1D2C3B4A5968778695A4B3C2D1E0F")));
        let rnd_a = Random16::new(hex!("0123456789ABCDEF0123456789ABCDEF"));
        let rnd_b = Random16::new(hex!("FEDCBA9876543210FEDCBA9876543210"));
        let challenge = seal_challenge(&k, &rnd_b);
        let seen_b = open_challenge(&k, &challenge);
        let answer = seal_answer(&k, &rnd_a, &seen_b);
        let seen_a = open_answer(&k, &answer, &rnd_b).unwrap();
        let mut out = [0u8; 32];
        let n = seal_confirmation(&k, &seen_a, None, &mut out);
        assert_eq!(n, 16);
        assert_eq!(open_confirmation(&k, &out[..n], false, &rnd_a), Ok(None));
        // The zero key cannot open what the non-zero key sealed.
        let zero = aes(&AesKey::zero());
        assert_eq!(
            open_answer(&zero, &answer, &rnd_b).unwrap_err(),
            HandshakeError::RandomMismatch
        );
    }
}
