//! The DESFire CRC32: IEEE 802.3 polynomial, reflected, initial value `FFFFFFFF`, no final XOR
//! (CRC-32/JAMCRC, the bitwise complement of zlib's CRC-32). Sent least significant byte first.

const DESFIRE_CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_JAMCRC);

/// CRC32 of the concatenation of `parts`, as transmitted (LSB first).
pub fn crc32(parts: &[&[u8]]) -> [u8; 4] {
    let mut digest = DESFIRE_CRC32.digest();
    for part in parts {
        digest.update(part);
    }
    digest.finalize().to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn published_vectors() {
        // reveng catalogue CRC-32/JAMCRC check value.
        assert_eq!(crc32(&[b"123456789"]), hex!("D9C60B34"));
        // AN12196 Rev. 1.8 Table 26 step 7: CRC32(NewKey).
        assert_eq!(
            crc32(&[&hex!("F3847D627727ED3BC9C4CC050489B966")]),
            hex!("789DFADC")
        );
        // Proxmark3 desfiretest.c TestCRC32 (commit 1c8c3b78).
        assert_eq!(crc32(&[&hex!("04440F3276318000")]), hex!("99CE1AD4"));
        // ElmueSoft EV1 trace, ChangeKey "CRC Crypto: 0x6BE6C6D2".
        assert_eq!(
            crc32(&[&hex!("C4"), &hex!("0000102030405060708090A0B0B0A0908010")]),
            hex!("D2C6E66B")
        );
    }
}
