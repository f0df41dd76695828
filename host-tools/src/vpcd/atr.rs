//! Just enough of the ATR (ISO/IEC 7816-3 §8.2) to find its historical bytes.

/// The historical bytes of `atr`, or `None` when the ATR is cut short.
///
/// `TS T0 {TAi TBi TCi TDi} T1..TK [TCK]`: the low nibble of T0 is K, the number of historical
/// bytes; the high nibble of T0 and of every TDi says which interface bytes follow.
pub fn historical_bytes(atr: &[u8]) -> Option<&[u8]> {
    let (&t0, mut rest) = atr.get(1..)?.split_first()?;
    let k = usize::from(t0 & 0x0F);
    let mut y = t0 >> 4;
    loop {
        // TA, TB and TC are skipped; TD says what comes next.
        let skipped = (y & 0x07).count_ones() as usize;
        rest = rest.get(skipped..)?;
        if y & 0x08 == 0 {
            break;
        }
        let (&td, after) = rest.split_first()?;
        rest = after;
        y = td >> 4;
    }
    rest.get(..k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn vpcd_t1_atr_has_one_historical_byte() {
        assert_eq!(historical_bytes(&hex!("3B81800180 80")), Some(&[0x80][..]));
    }

    /// A contactless reader's ATR for a DESFire EV1 card (PC/SC Part 3 §3.1.3.2.3: `3B 8n 80 01`
    /// then the ATS historical bytes and TCK).
    #[test]
    fn reader_built_atr() {
        assert_eq!(
            historical_bytes(&hex!("3B8680 01 0675778102 80 00")),
            Some(&hex!("0675778102 80")[..])
        );
    }

    #[test]
    fn atr_with_ta_tb_tc() {
        // T0 = F2: TA1 TB1 TC1 TD1 then 2 historical bytes; TD1 = 01: no more interface bytes.
        assert_eq!(
            historical_bytes(&hex!("3B F2 11 00 FF 01 AA BB")),
            Some(&hex!("AABB")[..])
        );
    }

    #[test]
    fn short_atrs_are_none() {
        for atr in [
            &[][..],
            &hex!("3B"),
            &hex!("3B81"),
            &hex!("3B8180"),
            &hex!("3B818001"),
            &hex!("3BF2"),
        ] {
            assert_eq!(historical_bytes(atr), None, "{atr:02X?}");
        }
    }
}
