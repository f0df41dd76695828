//! AES-CMAC (NIST SP 800-38B) and the truncated MACt of EV2 secure messaging.

use super::Aes128;
use ::cmac::digest::Mac;

/// The 8-byte truncated MAC (`MACt`) sent on the wire in EV2 secure messaging.
pub type Mact = [u8; 8];

/// AES-CMAC over the concatenation of `parts`, keyed by an expanded cipher.
///
/// Taking the input in parts lets callers MAC `Cmd || CmdCtr || TI || header || data` without
/// copying it into one buffer.
pub fn cmac(cipher: &Aes128, parts: &[&[u8]]) -> [u8; 16] {
    // Keyed by reference: the expanded key schedule is neither copied nor re-derived per MAC.
    let mut mac = <::cmac::Cmac<&Aes128> as ::cmac::digest::InnerInit>::inner_init(cipher);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Truncates a CMAC to MACt: the odd-indexed bytes 1, 3, …, 15 (0-based).
///
/// NXP numbers the CMAC bytes S15..S0 and calls these the "even-numbered bytes"
/// (NT4H2421Gx §9.1.3; AN12196 Table 8). EV1 uses the first eight bytes instead.
pub fn mac_t(cmac: &[u8; 16]) -> Mact {
    let mut out = [0u8; 8];
    for (o, pair) in out.iter_mut().zip(cmac.chunks_exact(2)) {
        if let [_, odd] = pair {
            *o = *odd;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::AesKey;
    use hex_literal::hex;

    // Source: IETF RFC 4493 §4, examples 1-4 (= NIST SP 800-38B D.1).
    const KEY: [u8; 16] = hex!("2B7E151628AED2A6ABF7158809CF4F3C");
    const MSG4: [u8; 64] = hex!(
        "6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E51"
        "30C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710"
    );

    #[test]
    fn rfc4493_examples() {
        let c = crate::crypto::aes(&AesKey::new(KEY));
        assert_eq!(cmac(&c, &[]), hex!("BB1D6929E95937287FA37D129B756746"));
        assert_eq!(
            cmac(&c, &[&MSG4[..16]]),
            hex!("070A16B46B4D4144F79BDD9DD04A287C")
        );
        assert_eq!(
            cmac(&c, &[&MSG4[..40]]),
            hex!("DFA66747DE9AE63030CA32611497C827")
        );
        assert_eq!(cmac(&c, &[&MSG4]), hex!("51F0BEBF7E3B9D92FC49741779363CFE"));
        // Split input gives the same tag as one buffer.
        assert_eq!(
            cmac(&c, &[&MSG4[..7], &MSG4[7..33], &MSG4[33..]]),
            cmac(&c, &[&MSG4])
        );
    }

    #[test]
    fn mac_t_takes_odd_bytes() {
        // Source: AN12196 Rev. 1.8 Table 8 (EV2-MAC-GETFILESETTINGS-AN12196-T8).
        assert_eq!(
            mac_t(&hex!("B565AC978FA46D5784C845CD1444102C")),
            hex!("6597A457C8CD442C")
        );
    }
}
