//! PN532 host-link frames (NXP UM0701-02 §6.2.1), as they travel over HSU (and I2C and SPI,
//! which carry the same frames).
//!
//! - normal information frame (§6.2.1.1): `00 00 FF LEN LCS TFI PD0..PDn DCS 00`, where LEN
//!   counts TFI and the PD bytes (1..=255), `LEN + LCS = 0` and `TFI + ΣPD + DCS = 0` (mod 256);
//! - extended information frame (§6.2.1.2): `00 00 FF FF FF LENM LENL LCS TFI PD.. DCS 00`,
//!   for more than 255 bytes, `LENM + LENL + LCS = 0`;
//! - ACK (§6.2.1.3) `00 00 FF 00 FF 00` and NACK (§6.2.1.4) `00 00 FF FF 00 00`;
//! - the application-level error frame (§6.2.1.5) `00 00 FF 01 FF 7F 81 00`: a normal frame with
//!   TFI `7F` and no data.
//!
//! TFI is `D4` from the host controller to the PN532 and `D5` back.
//!
//! [`Decoder`] takes bytes as they come (a UART gives them one at a time or in bursts) and yields
//! [`Event`]s; anything between frames (the HSU wake-up `55 55 00 00 …` a host sends to a
//! sleeping chip, postambles, line noise) is skipped while it looks for the start code `00 FF`.
//! The preamble and postamble are optional on reception. [`information`] builds a frame.
//! Nothing here panics on any input.

/// Frame identifier from the host controller to the PN532.
pub const TFI_HOST_TO_PN532: u8 = 0xD4;
/// Frame identifier from the PN532 to the host controller.
pub const TFI_PN532_TO_HOST: u8 = 0xD5;
/// The TFI of the application-level error frame (§6.2.1.5).
pub const TFI_ERROR: u8 = 0x7F;

/// ACK frame (§6.2.1.3).
pub const ACK: [u8; 6] = [0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00];
/// NACK frame (§6.2.1.4): the host asks for the last response again.
pub const NACK: [u8; 6] = [0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00];
/// Application-level error frame (§6.2.1.5): the PN532 found a syntax error in the command.
pub const ERROR_FRAME: [u8; 8] = [0x00, 0x00, 0xFF, 0x01, 0xFF, TFI_ERROR, 0x81, 0x00];

/// Largest TFI + PD of a frame the PN532 handles: 265 bytes (the TFI, the command code, Tg and
/// 262 data bytes of InDataExchange, §7.3.8). Longer lengths are treated as line noise.
pub const MAX_INFORMATION: usize = 265;

const START: [u8; 2] = [0x00, 0xFF];

/// What the decoder found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An ACK frame.
    Ack,
    /// A NACK frame.
    Nack,
    /// An information frame with good checksums: its TFI and its PD bytes.
    Information {
        /// Frame identifier (`D4`, `D5` or `7F`).
        tfi: u8,
        /// PD0..PDn: the command or response code and its parameters.
        data: Vec<u8>,
    },
    /// A frame whose length checksum (LCS) or data checksum (DCS) is wrong; it is dropped.
    Corrupt,
}

/// Turns a byte stream into [`Event`]s.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

enum Parse {
    /// More bytes are needed.
    Need,
    /// `consumed` bytes make `event`.
    Done(Event, usize),
    /// A start code with a bad length: skip `usize` bytes and look again.
    Skip(Event, usize),
}

impl Decoder {
    /// A decoder with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Forgets what is buffered (the line was reconnected).
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// The next complete event, or `None` until more bytes arrive.
    pub fn next_event(&mut self) -> Option<Event> {
        let Some(start) = self.buf.windows(2).position(|w| w == START) else {
            // Keep a trailing 00: it may be the first byte of a start code.
            let keep = usize::from(self.buf.last() == Some(&0x00));
            let drop = self.buf.len().saturating_sub(keep);
            self.buf.drain(..drop);
            return None;
        };
        self.buf.drain(..start);
        match parse(self.buf.get(START.len()..).unwrap_or_default()) {
            Parse::Need => None,
            Parse::Done(event, n) | Parse::Skip(event, n) => {
                let n = n.saturating_add(START.len()).min(self.buf.len());
                self.buf.drain(..n);
                Some(event)
            }
        }
    }
}

/// Parses what follows a start code.
fn parse(rest: &[u8]) -> Parse {
    let Some(&[a, b]) = rest.first_chunk::<2>() else {
        return Parse::Need;
    };
    // A bad length checksum: the length cannot be trusted, so only the start code is dropped and
    // the search goes on from the next byte (§6.2.3: the PN532 does not acknowledge it and the
    // host resends after its ACK timeout).
    let bad_length = Parse::Skip(Event::Corrupt, 0);
    let (len, header) = match (a, b) {
        (0x00, 0xFF) => return Parse::Done(Event::Ack, 2),
        (0xFF, 0x00) => return Parse::Done(Event::Nack, 2),
        (0xFF, 0xFF) => {
            let Some(&[_, _, m, l, lcs]) = rest.first_chunk::<5>() else {
                return Parse::Need;
            };
            if m.wrapping_add(l).wrapping_add(lcs) != 0 {
                return bad_length;
            }
            (usize::from(u16::from_be_bytes([m, l])), 5)
        }
        (len, lcs) => {
            if len.wrapping_add(lcs) != 0 {
                return bad_length;
            }
            (usize::from(len), 2)
        }
    };
    if len == 0 || len > MAX_INFORMATION {
        return bad_length;
    }
    let end = header + len + 1;
    let Some(frame) = rest.get(header..end) else {
        return Parse::Need;
    };
    let sum = frame.iter().fold(0u8, |s, &x| s.wrapping_add(x));
    let Some((&tfi, body)) = frame.split_first() else {
        return bad_length;
    };
    let Some((_dcs, data)) = body.split_last() else {
        return bad_length;
    };
    if sum != 0 {
        return Parse::Done(Event::Corrupt, end);
    }
    Parse::Done(
        Event::Information {
            tfi,
            data: data.to_vec(),
        },
        end,
    )
}

/// The information frame is longer than [`MAX_INFORMATION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a PN532 frame holds at most {MAX_INFORMATION} bytes of TFI and data")]
pub struct TooLong;

/// Appends an information frame with `tfi` and `data` to `out`: a normal frame when TFI and data
/// fit in 255 bytes, an extended frame otherwise (§6.2.1.1, §6.2.1.2).
pub fn information(tfi: u8, data: &[u8], out: &mut Vec<u8>) -> Result<(), TooLong> {
    let len = data.len().checked_add(1).ok_or(TooLong)?;
    if len > MAX_INFORMATION {
        return Err(TooLong);
    }
    out.push(0x00);
    out.extend_from_slice(&START);
    match u8::try_from(len) {
        Ok(l) => out.extend_from_slice(&[l, l.wrapping_neg()]),
        Err(_) => {
            let [m, l] = u16::try_from(len).map_err(|_| TooLong)?.to_be_bytes();
            out.extend_from_slice(&[0xFF, 0xFF, m, l, m.wrapping_add(l).wrapping_neg()]);
        }
    }
    out.push(tfi);
    out.extend_from_slice(data);
    let sum = data.iter().fold(tfi, |s, &x| s.wrapping_add(x));
    out.extend_from_slice(&[sum.wrapping_neg(), 0x00]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn frame(tfi: u8, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        information(tfi, data, &mut out).unwrap();
        out
    }

    fn decode_all(bytes: &[u8]) -> Vec<Event> {
        let mut d = Decoder::new();
        d.push(bytes);
        std::iter::from_fn(|| d.next_event()).collect()
    }

    /// UM0701-02 §7.2.2 (GetFirmwareVersion) and the HSU examples of §6.2: the command and the
    /// answer of a PN532 v1.6.
    #[test]
    fn get_firmware_version_frames_of_the_manual() {
        assert_eq!(frame(0xD4, &[0x02]), hex!("0000FF 02FE D4 02 2A 00"));
        assert_eq!(
            frame(0xD5, &hex!("03 32010607")),
            hex!("0000FF 06FA D5 03 32010607 E8 00")
        );
        assert_eq!(
            decode_all(&hex!("0000FF 06FA D5 03 32010607 E8 00")),
            [Event::Information {
                tfi: 0xD5,
                data: hex!("0332010607").to_vec()
            }]
        );
    }

    /// UM0701-02 §7.2.10 SAMConfiguration in normal mode and its answer, after the HSU wake-up
    /// (§6.2.2: `55 55 00 00 00 …`).
    #[test]
    fn sam_configuration_after_wake_up() {
        let mut bytes = hex!("5555 0000000000000000000000000000").to_vec();
        bytes.extend_from_slice(&hex!("0000FF 03FD D4 14 01 17 00"));
        assert_eq!(
            frame(0xD4, &[0x14, 0x01]),
            hex!("0000FF 03FD D4 14 01 17 00")
        );
        assert_eq!(
            decode_all(&bytes),
            [Event::Information {
                tfi: 0xD4,
                data: vec![0x14, 0x01]
            }]
        );
        assert_eq!(frame(0xD5, &[0x15]), hex!("0000FF 02FE D5 15 16 00"));
    }

    /// UM0701-02 §7.3.5: InListPassiveTarget for one 106 kbps type A target.
    #[test]
    fn in_list_passive_target_command() {
        assert_eq!(
            frame(0xD4, &hex!("4A 01 00")),
            hex!("0000FF 04FC D4 4A 01 00 E1 00")
        );
    }

    #[test]
    fn ack_nack_and_error_frames() {
        assert_eq!(decode_all(&ACK), [Event::Ack]);
        assert_eq!(decode_all(&NACK), [Event::Nack]);
        assert_eq!(
            decode_all(&ERROR_FRAME),
            [Event::Information {
                tfi: TFI_ERROR,
                data: vec![]
            }]
        );
        assert_eq!(frame(TFI_ERROR, &[]), ERROR_FRAME);
    }

    /// §6.2.1.2: 300 bytes need an extended frame, whose LCS covers LENM and LENL.
    #[test]
    fn extended_frame_round_trip() {
        let data: Vec<u8> = (0..=255u8).chain(0..8).collect();
        let f = frame(0xD5, &data);
        assert_eq!(&f[..9], &hex!("00 00FF FFFF 0109 F6 D5"));
        assert_eq!(decode_all(&f), [Event::Information { tfi: 0xD5, data }]);
        assert_eq!(
            information(0xD5, &[0; MAX_INFORMATION], &mut Vec::new()),
            Err(TooLong)
        );
    }

    #[test]
    fn byte_by_byte_and_back_to_back() {
        let mut stream = frame(0xD4, &[0x02]);
        stream.extend_from_slice(&ACK);
        stream.extend_from_slice(&frame(0xD4, &hex!("4A0100")));
        let mut d = Decoder::new();
        let mut events = Vec::new();
        for b in &stream {
            d.push(&[*b]);
            while let Some(e) = d.next_event() {
                events.push(e);
            }
        }
        assert_eq!(events, decode_all(&stream));
        assert_eq!(events.len(), 3);
    }

    #[test]
    fn checksum_errors_are_reported_and_the_next_frame_is_found() {
        // DCS wrong.
        let mut bad = frame(0xD4, &[0x02]);
        bad[7] ^= 1;
        bad.extend_from_slice(&frame(0xD4, &[0x04]));
        assert_eq!(
            decode_all(&bad),
            [
                Event::Corrupt,
                Event::Information {
                    tfi: 0xD4,
                    data: vec![0x04]
                }
            ]
        );
        // LCS wrong: the decoder resynchronises on the next start code.
        let mut bad = hex!("0000FF 02FF D4 02 2A 00").to_vec();
        bad.extend_from_slice(&frame(0xD4, &[0x04]));
        assert_eq!(
            decode_all(&bad),
            [
                Event::Corrupt,
                Event::Information {
                    tfi: 0xD4,
                    data: vec![0x04]
                }
            ]
        );
    }

    #[test]
    fn oversized_and_empty_lengths_are_noise() {
        assert_eq!(decode_all(&hex!("0000FF FFFF 0200 FE")), [Event::Corrupt]);
        assert_eq!(decode_all(&hex!("0000FF 0000")), [Event::Corrupt]);
    }

    #[test]
    fn noise_does_not_grow_the_buffer() {
        let mut d = Decoder::new();
        for _ in 0..1000 {
            d.push(&[0x55; 64]);
            assert_eq!(d.next_event(), None);
        }
        assert!(d.buf.is_empty());
    }
}
