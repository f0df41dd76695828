//! Hex text as people write it in traces and on command lines: digits in either case, with any
//! ASCII whitespace between them.

/// Why a piece of text is not hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// A character other than a hex digit or whitespace.
    #[error("invalid hex digit {found:?} at character {position}")]
    BadDigit {
        /// 1-based position of the character in the text.
        position: usize,
        /// The character (never part of a valid key, so safe to echo).
        found: char,
    },
    /// The digits do not pair up into bytes.
    #[error("odd number of hex digits ({0})")]
    OddLength(usize),
}

/// Appends the bytes that `text` spells to `out`, ignoring whitespace.
///
/// `out` gets its final capacity up front, so a secret never leaves a copy behind in a buffer the
/// vector outgrew; wrap it in `zeroize::Zeroizing` for secrets.
pub fn decode_into(text: &str, out: &mut Vec<u8>) -> Result<(), HexError> {
    out.reserve(text.len() / 2);
    let mut high: Option<u8> = None;
    let mut digits = 0usize;
    for (i, c) in text.chars().enumerate() {
        if c.is_ascii_whitespace() {
            continue;
        }
        let Some(v) = c.to_digit(16) else {
            return Err(HexError::BadDigit {
                position: i.saturating_add(1),
                found: c,
            });
        };
        // to_digit(16) is below 16, so the narrowing is lossless.
        let v = v as u8;
        digits = digits.saturating_add(1);
        match high.take() {
            None => high = Some(v),
            Some(h) => out.push((h << 4) | v),
        }
    }
    if high.is_some() {
        return Err(HexError::OddLength(digits));
    }
    Ok(())
}

/// The bytes that `text` spells, ignoring whitespace.
pub fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::new();
    decode_into(text, &mut out)?;
    Ok(out)
}

/// Uppercase hex without separators, as every report of this tool prints bytes.
pub fn upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_with_whitespace_and_either_case() {
        assert_eq!(
            decode("90 71 00\t00 0a Ff").unwrap(),
            [0x90, 0x71, 0, 0, 0x0A, 0xFF]
        );
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
        assert_eq!(decode("  ").unwrap(), Vec::<u8>::new());
        assert_eq!(upper(&[0x0A, 0xFF]), "0AFF");
    }

    #[test]
    fn rejects_bad_digits_and_odd_length() {
        assert_eq!(
            decode("90 7G"),
            Err(HexError::BadDigit {
                position: 5,
                found: 'G'
            })
        );
        assert_eq!(decode("907"), Err(HexError::OddLength(3)));
        assert_eq!(decode("9 0 7"), Err(HexError::OddLength(3)));
        assert_eq!(
            decode("0x12"),
            Err(HexError::BadDigit {
                position: 2,
                found: 'x'
            })
        );
    }
}
