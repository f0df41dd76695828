//! ISO/IEC 9797-1 padding method 2, as EV2 secure messaging uses it (NT4H2421Gx §9.1.4):
//! always append `80`, then `00` up to a multiple of 16. Already aligned data gets a whole block.

use super::{BLOCK, CryptoError};

/// Length of `len` bytes after method-2 padding. `None` on overflow.
pub const fn padded_len(len: usize) -> Option<usize> {
    match len.checked_add(BLOCK) {
        // Round down to a whole block (BLOCK is 16).
        Some(n) => Some(n & !0x0F),
        None => None,
    }
}

/// Pads the first `len` bytes of `buf` in place and returns the padded length.
pub fn pad_iso9797_m2(buf: &mut [u8], len: usize) -> Result<usize, CryptoError> {
    let total = padded_len(len).ok_or(CryptoError::BufferTooSmall)?;
    let tail = buf.get_mut(len..total).ok_or(CryptoError::BufferTooSmall)?;
    if let Some((first, rest)) = tail.split_first_mut() {
        *first = 0x80;
        rest.fill(0);
    }
    Ok(total)
}

/// Length of the message inside method-2 padded `data`.
///
/// Only called on data whose MAC has already been verified, so the padding check cannot serve as
/// an oracle; it still rejects anything malformed.
pub fn unpad_iso9797_m2(data: &[u8]) -> Result<usize, CryptoError> {
    if data.is_empty() || !data.len().is_multiple_of(BLOCK) {
        return Err(CryptoError::BadPadding);
    }
    let last_block_start = data.len().saturating_sub(BLOCK);
    for (i, b) in data.iter().enumerate().rev() {
        match *b {
            0x00 if i > last_block_start => continue,
            0x80 => return Ok(i),
            _ => return Err(CryptoError::BadPadding),
        }
    }
    Err(CryptoError::BadPadding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_input_gets_a_whole_block() {
        // AN12196 Table 18: 128 plain bytes become 144.
        assert_eq!(padded_len(128), Some(144));
        assert_eq!(padded_len(0), Some(16));
        assert_eq!(padded_len(15), Some(16));
        assert_eq!(padded_len(17), Some(32));
    }

    #[test]
    fn pad_then_unpad_round_trips() {
        for len in 0..40 {
            let mut buf = [0xAAu8; 64];
            let total = pad_iso9797_m2(&mut buf, len).unwrap();
            assert_eq!(buf[len], 0x80);
            assert_eq!(unpad_iso9797_m2(&buf[..total]).unwrap(), len);
        }
    }

    #[test]
    fn bad_padding_is_rejected() {
        assert_eq!(unpad_iso9797_m2(&[]), Err(CryptoError::BadPadding));
        assert_eq!(unpad_iso9797_m2(&[0u8; 16]), Err(CryptoError::BadPadding));
        assert_eq!(
            unpad_iso9797_m2(&[0x80u8; 15]),
            Err(CryptoError::BadPadding)
        );
        let mut b = [0u8; 16];
        b[15] = 0x01;
        assert_eq!(unpad_iso9797_m2(&b), Err(CryptoError::BadPadding));
        // The 0x80 marker must sit in the last block.
        let mut b = [0u8; 32];
        b[3] = 0x80;
        assert_eq!(unpad_iso9797_m2(&b), Err(CryptoError::BadPadding));
        assert_eq!(
            pad_iso9797_m2(&mut [0u8; 16], 16),
            Err(CryptoError::BufferTooSmall)
        );
    }
}
