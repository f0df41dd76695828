//! The PN532 frame format (NXP UM0701-02 §6.2.1): normal and extended information frames,
//! ACK, NACK and the application-level error frame. Sans-IO: [`encode`] writes a host frame
//! into a caller buffer, [`parse`] reads one frame out of received bytes, whatever they are.
//!
//! ```text
//! normal      00 00 FF LEN LCS TFI PD0..PDn DCS 00            LEN = |TFI PD|, LEN + LCS = 0
//! extended    00 00 FF FF FF LENM LENL LCS TFI PD0..PDn DCS 00
//! ACK         00 00 FF 00 FF 00
//! NACK        00 00 FF FF 00 00
//! error       00 00 FF 01 FF 7F 81 00
//! ```

/// Frame identifier of host → PN532 frames.
pub const TFI_HOST: u8 = 0xD4;
/// Frame identifier of PN532 → host frames.
pub const TFI_PN532: u8 = 0xD5;
/// The ACK frame; the host also sends it to abort the command in progress (UM0701 §6.2.1.3).
pub const ACK: [u8; 6] = [0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00];
/// The NACK frame: asks the PN532 to send its last response again.
pub const NACK: [u8; 6] = [0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00];
/// Largest `TFI PD0..PDn` the PN532 handles (UM0701 §6.2.1.2: 265 bytes).
pub const MAX_LEN: usize = 265;
/// Largest `LEN` of a normal frame: `FF` marks an extended frame.
const MAX_NORMAL_LEN: usize = 254;
/// Bytes around `TFI PD0..PDn` in an extended frame: preamble, start code, `FF FF`, LENM,
/// LENL, LCS, DCS, postamble.
pub const EXTENDED_OVERHEAD: usize = 10;
/// The largest frame [`encode`] writes or [`parse`] accepts.
pub const MAX_FRAME: usize = MAX_LEN + EXTENDED_OVERHEAD;

/// A frame received from the PN532.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Frame<'a> {
    /// The command was received.
    Ack,
    /// Send the last frame again.
    Nack,
    /// The PN532 could not process the frame (syntax error).
    Error,
    /// An information frame: the frame identifier and the packet data after it.
    Information {
        /// `D5` from the PN532.
        tfi: u8,
        /// PD0..PDn (the response code and its data).
        data: &'a [u8],
    },
}

/// Why received bytes are not a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameError {
    /// More bytes are needed.
    Incomplete,
    /// `LEN + LCS` is not zero.
    LengthChecksum,
    /// `TFI + PD + DCS` is not zero.
    DataChecksum,
    /// `LEN` is longer than the PN532 supports or than the caller's buffer.
    TooLong,
    /// A frame with `LEN` 0 that is not an ACK, or a missing TFI.
    Malformed,
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Incomplete => "incomplete frame",
            Self::LengthChecksum => "frame length checksum mismatch",
            Self::DataChecksum => "frame data checksum mismatch",
            Self::TooLong => "frame longer than supported or than the buffer",
            Self::Malformed => "malformed frame",
        })
    }
}

impl core::error::Error for FrameError {}

/// Writes the host information frame `D4 cmd data` into `out` (normal when it fits, else
/// extended) and returns its length.
pub fn encode(cmd: u8, data: &[u8], out: &mut [u8]) -> Result<usize, FrameError> {
    encode_parts(cmd, &[], data, out)
}

/// [`encode`] of `D4 cmd head data`, without first joining `head` and `data` in a buffer.
pub fn encode_parts(
    cmd: u8,
    head: &[u8],
    data: &[u8],
    out: &mut [u8],
) -> Result<usize, FrameError> {
    // TFI and the command code come before the data.
    let len = [head.len(), data.len()]
        .iter()
        .try_fold(2usize, |a, b| a.checked_add(*b))
        .ok_or(FrameError::TooLong)?;
    if len > MAX_LEN {
        return Err(FrameError::TooLong);
    }
    let mut w = Writer { out, at: 0 };
    w.put(&[0x00, 0x00, 0xFF])?;
    let len16 = u16::try_from(len).map_err(|_| FrameError::TooLong)?;
    if len <= MAX_NORMAL_LEN {
        let l = len16.to_be_bytes()[1];
        w.put(&[l, l.wrapping_neg()])?;
    } else {
        let [m, l] = len16.to_be_bytes();
        w.put(&[0xFF, 0xFF, m, l, m.wrapping_add(l).wrapping_neg()])?;
    }
    w.put(&[TFI_HOST, cmd])?;
    w.put(head)?;
    w.put(data)?;
    let sum = head
        .iter()
        .chain(data)
        .fold(TFI_HOST.wrapping_add(cmd), |s, b| s.wrapping_add(*b));
    w.put(&[sum.wrapping_neg(), 0x00])?;
    Ok(w.at)
}

struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), FrameError> {
        let end = self
            .at
            .checked_add(bytes.len())
            .ok_or(FrameError::TooLong)?;
        self.out
            .get_mut(self.at..end)
            .ok_or(FrameError::TooLong)?
            .copy_from_slice(bytes);
        self.at = end;
        Ok(())
    }
}

/// Reads the first frame in `buf` (bytes before its start code `00 FF` are skipped) and
/// returns it with the number of bytes consumed. [`FrameError::Incomplete`] asks for more.
pub fn parse(buf: &[u8]) -> Result<(Frame<'_>, usize), FrameError> {
    let start = buf
        .windows(2)
        .position(|w| w == [0x00, 0xFF])
        .ok_or(FrameError::Incomplete)?;
    // After the start code.
    let body_at = start.checked_add(2).ok_or(FrameError::Incomplete)?;
    let rest = buf.get(body_at..).ok_or(FrameError::Incomplete)?;
    let consumed = |n: usize| body_at.checked_add(n).ok_or(FrameError::TooLong);
    let (len, header) = match rest {
        [0x00, 0xFF, ..] => return Ok((Frame::Ack, consumed(2)?)),
        [0xFF, 0x00, ..] => return Ok((Frame::Nack, consumed(2)?)),
        [0xFF, 0xFF, m, l, lcs, ..] => {
            if m.wrapping_add(*l).wrapping_add(*lcs) != 0 {
                return Err(FrameError::LengthChecksum);
            }
            (usize::from(u16::from_be_bytes([*m, *l])), 5)
        }
        [0xFF, 0xFF, ..] => return Err(FrameError::Incomplete),
        [l, lcs, ..] => {
            if l.wrapping_add(*lcs) != 0 {
                return Err(FrameError::LengthChecksum);
            }
            (usize::from(*l), 2)
        }
        _ => return Err(FrameError::Incomplete),
    };
    if len == 0 {
        return Err(FrameError::Malformed);
    }
    if len > MAX_LEN {
        return Err(FrameError::TooLong);
    }
    let after_header = rest.get(header..).ok_or(FrameError::Incomplete)?;
    // TFI PD0..PDn, then DCS.
    let (payload, tail) = after_header
        .split_at_checked(len)
        .ok_or(FrameError::Incomplete)?;
    let dcs = *tail.first().ok_or(FrameError::Incomplete)?;
    let sum = payload.iter().fold(dcs, |s, b| s.wrapping_add(*b));
    if sum != 0 {
        return Err(FrameError::DataChecksum);
    }
    let (tfi, data) = payload.split_first().ok_or(FrameError::Malformed)?;
    // The postamble is optional on receive; count it when present.
    let used = header.checked_add(len).and_then(|n| n.checked_add(1));
    let used = used.ok_or(FrameError::TooLong)?;
    let used = if tail.get(1) == Some(&0x00) {
        used.checked_add(1).ok_or(FrameError::TooLong)?
    } else {
        used
    };
    let frame = if *tfi == 0x7F && data.is_empty() {
        Frame::Error
    } else {
        Frame::Information { tfi: *tfi, data }
    };
    Ok((frame, consumed(used)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    /// UM0701 §7.2.2 example: GetFirmwareVersion from the host.
    const GET_FIRMWARE_VERSION: [u8; 9] = [0x00, 0x00, 0xFF, 0x02, 0xFE, 0xD4, 0x02, 0x2A, 0x00];
    /// Its answer from a PN532 v1.6: IC 32, Ver 01, Rev 06, Support 07.
    const FIRMWARE_VERSION: [u8; 13] = [
        0x00, 0x00, 0xFF, 0x06, 0xFA, 0xD5, 0x03, 0x32, 0x01, 0x06, 0x07, 0xE8, 0x00,
    ];

    #[test]
    fn encodes_a_normal_frame_byte_for_byte() {
        let mut out = [0u8; 16];
        let n = encode(0x02, &[], &mut out).unwrap();
        assert_eq!(&out[..n], GET_FIRMWARE_VERSION);
    }

    #[test]
    fn parses_a_response_and_its_checksums() {
        let (f, used) = parse(&FIRMWARE_VERSION).unwrap();
        assert_eq!(used, FIRMWARE_VERSION.len());
        assert_eq!(
            f,
            Frame::Information {
                tfi: TFI_PN532,
                data: &[0x03, 0x32, 0x01, 0x06, 0x07]
            }
        );
        let mut bad = FIRMWARE_VERSION;
        bad[11] ^= 1;
        assert_eq!(parse(&bad), Err(FrameError::DataChecksum));
        let mut bad = FIRMWARE_VERSION;
        bad[4] ^= 1;
        assert_eq!(parse(&bad), Err(FrameError::LengthChecksum));
    }

    #[test]
    fn ack_nack_and_error_frames() {
        assert_eq!(parse(&ACK), Ok((Frame::Ack, 5)));
        assert_eq!(parse(&NACK), Ok((Frame::Nack, 5)));
        let err = [0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00];
        assert_eq!(parse(&err), Ok((Frame::Error, 8)));
    }

    #[test]
    fn skips_noise_before_the_start_code_and_waits_for_more() {
        let mut buf = [0u8; 20];
        buf[..3].copy_from_slice(&[0x55, 0x12, 0x34]);
        buf[3..16].copy_from_slice(&FIRMWARE_VERSION);
        assert_eq!(parse(&buf[..16]).unwrap().1, 16);
        for cut in 0..FIRMWARE_VERSION.len() - 1 {
            assert_eq!(
                parse(&FIRMWARE_VERSION[..cut]),
                Err(FrameError::Incomplete),
                "{cut}"
            );
        }
    }

    #[test]
    fn extended_frames_round_trip() {
        let data: Vec<u8> = (0..=255u8).cycle().take(260).collect();
        let mut out = [0u8; MAX_FRAME];
        let n = encode(0x40, &data, &mut out).unwrap();
        assert_eq!(&out[..5], &[0x00, 0x00, 0xFF, 0xFF, 0xFF]);
        assert_eq!(n, 262 + EXTENDED_OVERHEAD);
        let (f, used) = parse(&out[..n]).unwrap();
        assert_eq!(used, n);
        let Frame::Information { tfi, data: got } = f else {
            panic!("{f:?}")
        };
        assert_eq!(tfi, TFI_HOST);
        assert_eq!(got[0], 0x40);
        assert_eq!(&got[1..], &data[..]);
        // LEN 254 is still a normal frame, 255 is extended.
        let n = encode(0x40, &data[..252], &mut out).unwrap();
        assert_eq!(out[3], 254);
        assert_eq!(parse(&out[..n]).unwrap().1, n);
        encode(0x40, &data[..253], &mut out).unwrap();
        assert_eq!(&out[3..5], &[0xFF, 0xFF]);
    }

    #[test]
    fn refuses_too_long_frames_and_small_buffers() {
        let big = [0u8; MAX_LEN];
        let mut out = [0u8; MAX_FRAME];
        assert_eq!(encode(0x40, &big, &mut out), Err(FrameError::TooLong));
        assert_eq!(encode(0x02, &[], &mut out[..8]), Err(FrameError::TooLong));
        // LEN 0x0200 with a correct LCS: longer than any PN532 frame.
        let ext = [0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0xFE, 0xD5];
        assert_eq!(parse(&ext), Err(FrameError::TooLong));
    }
}
