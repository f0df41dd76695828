//! A cursor over untrusted bytes. Every accessor is checked; [`Reader::finish`] rejects trailing
//! bytes, so a decoder that ends with it cannot silently ignore data.

use super::Error;

/// Checked cursor over a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Takes `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let (head, rest) = self.rest.split_at_checked(n).ok_or(Error::Truncated)?;
        self.rest = rest;
        Ok(head)
    }

    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let (head, rest) = self.rest.split_first_chunk::<N>().ok_or(Error::Truncated)?;
        self.rest = rest;
        Ok(*head)
    }

    /// Takes one byte.
    pub fn u8(&mut self) -> Result<u8, Error> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    /// Takes a little-endian u16.
    pub fn u16_le(&mut self) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Takes a little-endian 24-bit number.
    pub fn u24_le(&mut self) -> Result<u32, Error> {
        let [a, b, c] = self.array()?;
        Ok(u32::from_le_bytes([a, b, c, 0]))
    }

    /// Takes a little-endian i32.
    pub fn i32_le(&mut self) -> Result<i32, Error> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    /// Takes everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Whether the input is used up.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Ends decoding: trailing bytes are an error.
    pub fn finish(self) -> Result<(), Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingData)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_is_checked() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u24_le(), Ok(0x040302));
        assert_eq!(r.u16_le(), Ok(0x0605));
        assert_eq!(r.u8(), Err(Error::Truncated));
        assert_eq!(r.finish(), Ok(()));
        let mut r = Reader::new(&[1, 2]);
        assert_eq!(r.take(3), Err(Error::Truncated));
        assert_eq!(r.array::<1>(), Ok([1]));
        assert_eq!(r.finish(), Err(Error::TrailingData));
    }
}
