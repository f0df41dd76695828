//! The PC/SC GET DATA pseudo-APDU (PC/SC Part 3 §3.2.2.1.3), answered by the reader, not the
//! card, on contactless readers.
//!
//! - `FF CA 00 00 Le`: the anticollision UID (for ISO/IEC 14443 type A, the UID the card sent in
//!   anticollision: a fresh random 4-byte `08 xx xx xx` per activation when Random ID is on).
//! - `FF CA 01 00 Le`: the ATS historical bytes. Decision: answered with the historical bytes of
//!   the card's ATR, which a contactless reader builds from the ATS (Part 3 §3.1.3.2.3), so both
//!   ways of asking agree; `6A 81` only when the ATR is malformed.
//! - any other P1 or P2: `6A 81` (function not supported), as Part 3 lists for GET DATA.
//!
//! Le: `00` (or absent) returns all bytes; a smaller Le gets `6C xx` with the right length; a
//! larger Le gets the bytes and `62 82` (end of data reached before Le bytes).

/// The class byte of the reader's pseudo-APDUs.
pub const GET_DATA_CLA: u8 = 0xFF;
/// GET DATA.
pub const GET_DATA_INS: u8 = 0xCA;

const SW_OK: [u8; 2] = [0x90, 0x00];
const SW_END_OF_DATA: [u8; 2] = [0x62, 0x82];
const SW_FUNCTION_NOT_SUPPORTED: [u8; 2] = [0x6A, 0x81];
const SW_WRONG_LENGTH: [u8; 2] = [0x67, 0x00];

/// Answers `capdu` into `out` if it is GET DATA (`FF CA`), returning the R-APDU length; `None`
/// for any other APDU, which goes to the card. `out` too small for the answer gives `Some(0)`.
pub fn get_data(
    capdu: &[u8],
    uid: &[u8],
    historical: Option<&[u8]>,
    out: &mut [u8],
) -> Option<usize> {
    let [GET_DATA_CLA, GET_DATA_INS, p1, p2, tail @ ..] = capdu else {
        return None;
    };
    let le = match tail {
        [] => 0usize,
        [le] => usize::from(*le),
        // GET DATA has no command data: Lc is a wrong length.
        _ => return Some(emit(&[], SW_WRONG_LENGTH, out)),
    };
    let data = match (p1, p2) {
        (0x00, 0x00) => uid,
        (0x01, 0x00) => match historical {
            Some(h) => h,
            None => return Some(emit(&[], SW_FUNCTION_NOT_SUPPORTED, out)),
        },
        _ => return Some(emit(&[], SW_FUNCTION_NOT_SUPPORTED, out)),
    };
    let sw = match le {
        0 => SW_OK,
        le if le == data.len() => SW_OK,
        le if le < data.len() => {
            // A data length above 255 cannot happen for UIDs (10 bytes) or historical bytes (15).
            let exact = u8::try_from(data.len()).unwrap_or(0);
            return Some(emit(&[], [0x6C, exact], out));
        }
        _ => SW_END_OF_DATA,
    };
    Some(emit(data, sw, out))
}

/// `data || sw` into `out`; 0 when it does not fit.
fn emit(data: &[u8], sw: [u8; 2], out: &mut [u8]) -> usize {
    let n = data.len().saturating_add(2);
    let Some(slot) = out.get_mut(..n) else {
        return 0;
    };
    let (d, s) = slot.split_at_mut(data.len());
    d.copy_from_slice(data);
    s.copy_from_slice(&sw);
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    const UID7: [u8; 7] = hex!("04112233445566");

    fn answer(capdu: &[u8], historical: Option<&[u8]>) -> Option<Vec<u8>> {
        let mut out = [0u8; 64];
        get_data(capdu, &UID7, historical, &mut out).map(|n| out[..n].to_vec())
    }

    #[test]
    fn uid() {
        assert_eq!(
            answer(&hex!("FFCA000000"), None).unwrap(),
            hex!("04112233445566 9000")
        );
        assert_eq!(
            answer(&hex!("FFCA0000"), None).unwrap(),
            hex!("04112233445566 9000")
        );
        assert_eq!(
            answer(&hex!("FFCA000007"), None).unwrap(),
            hex!("04112233445566 9000")
        );
        assert_eq!(answer(&hex!("FFCA000004"), None).unwrap(), hex!("6C07"));
        assert_eq!(
            answer(&hex!("FFCA000010"), None).unwrap(),
            hex!("04112233445566 6282")
        );
    }

    #[test]
    fn historical_bytes() {
        assert_eq!(
            answer(&hex!("FFCA010000"), Some(&[0x80])).unwrap(),
            hex!("80 9000")
        );
        assert_eq!(answer(&hex!("FFCA010000"), None).unwrap(), hex!("6A81"));
    }

    #[test]
    fn other_get_data_forms_are_refused() {
        assert_eq!(answer(&hex!("FFCA020000"), None).unwrap(), hex!("6A81"));
        assert_eq!(answer(&hex!("FFCA000100"), None).unwrap(), hex!("6A81"));
        assert_eq!(answer(&hex!("FFCA00000100"), None).unwrap(), hex!("6700"));
    }

    #[test]
    fn everything_else_goes_to_the_card() {
        for capdu in [
            &hex!("9060000000")[..],
            &hex!("FFCB000000"),
            &hex!("FFCA00"),
            &hex!("00CA000000"),
            &[],
        ] {
            assert_eq!(answer(capdu, None), None, "{capdu:02X?}");
        }
    }

    #[test]
    fn small_output_buffer_is_not_a_panic() {
        let mut out = [0u8; 4];
        assert_eq!(
            get_data(&hex!("FFCA000000"), &UID7, None, &mut out),
            Some(0)
        );
    }
}
