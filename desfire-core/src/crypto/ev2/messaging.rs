//! EV2 secure messaging in both directions (NT4H2421Gx §9.1.9 and §9.1.10; AN12196 §5.3 and
//! §6.8): seal and open of command and response bodies in Plain, MAC and Full mode, written once
//! for the reader (seals commands, opens responses), the card (opens commands, seals responses)
//! and the trace decoder (opens both).
//!
//! ```text
//! command:  header ‖ [E(SesAuthENCKey, IVc, data ‖ pad)] ‖ MACt(Cmd ‖ CmdCtr ‖ TI ‖ header ‖ …)
//! response: [E(SesAuthENCKey, IVr, data ‖ pad)] ‖ MACt(RC ‖ CmdCtr+1 ‖ TI ‖ …)
//! ```
//!
//! Encrypt-then-MAC: a MAC is verified in constant time before anything is decrypted, and a body
//! whose MAC does not verify is wiped. Full mode without data carries no ciphertext block. None of
//! these functions moves the counter: when a command counts is the caller's business. The sealing
//! side refuses to send at CmdCtr `0xFFFF`; the opening side decides for itself (the card refuses
//! such a command, the trace decoder reports what it sees).

use super::{Direction, SecureChannel};
use crate::crypto::{cbc_decrypt, cbc_encrypt, pad_iso9797_m2, unpad_iso9797_m2};
use crate::wire::CommMode;
use zeroize::Zeroize;

/// Length of MACt.
pub const MAC_LEN: usize = 8;

/// Why a body could not be sealed or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MessagingError {
    /// CmdCtr is at `0xFFFF`: no command may be sent in this session.
    CounterExhausted,
    /// The output buffer is too small.
    BufferTooSmall,
    /// The body is shorter than a MAC.
    MissingMac,
    /// The MAC does not verify.
    MacMismatch,
    /// The ciphertext is not a whole number of blocks (or shorter than its header).
    NotBlockAligned,
    /// The decrypted data is not ISO/IEC 9797-1 method 2 padded.
    BadPadding,
}

impl core::fmt::Display for MessagingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::CounterExhausted => "command counter exhausted",
            Self::BufferTooSmall => "buffer too small",
            Self::MissingMac => "MAC missing",
            Self::MacMismatch => "MAC mismatch",
            Self::NotBlockAligned => "ciphertext is not a multiple of 16 bytes",
            Self::BadPadding => "bad ISO/IEC 9797-1 method 2 padding",
        })
    }
}

impl core::error::Error for MessagingError {}

/// Proof that a response MAC verified. Only [`SecureChannel::open_response`] makes one, so
/// a response without a MAC can never be taken for a verified one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseMacVerified(());

/// An opened response: the length of its plain data (at the start of the body) and, unless the
/// mode was Plain, the proof of its MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenedResponse {
    /// Length of the data in clear, without MAC or padding.
    pub len: usize,
    /// `Some` when a MAC was verified (MAC and Full mode).
    pub mac: Option<ResponseMacVerified>,
}

impl SecureChannel {
    fn ensure_counter(&self) -> Result<(), MessagingError> {
        self.cmd_ctr
            .next()
            .map(|_| ())
            .ok_or(MessagingError::CounterExhausted)
    }

    /// Writes the command body `header ‖ (E)data ‖ MACt` for command `ins` in `mode` into `out`;
    /// returns its length.
    pub fn seal_command(
        &self,
        ins: u8,
        header: &[u8],
        data: &[u8],
        mode: CommMode,
        out: &mut [u8],
    ) -> Result<usize, MessagingError> {
        self.ensure_counter()?;
        let small = MessagingError::BufferTooSmall;
        let (head, rest) = out.split_at_mut_checked(header.len()).ok_or(small)?;
        head.copy_from_slice(header);
        rest.get_mut(..data.len())
            .ok_or(small)?
            .copy_from_slice(data);
        let sealed_len = match mode {
            CommMode::Full if !data.is_empty() => {
                let padded = pad_iso9797_m2(rest, data.len()).map_err(|_| small)?;
                let iv = self
                    .iv(Direction::Command)
                    .ok_or(MessagingError::CounterExhausted)?;
                cbc_encrypt(&self.enc, &iv, rest.get_mut(..padded).ok_or(small)?)
                    .map_err(|_| small)?;
                padded
            }
            _ => data.len(),
        };
        let end = header.len().checked_add(sealed_len).ok_or(small)?;
        if mode == CommMode::Plain {
            return Ok(end);
        }
        let (sealed, tail) = rest.split_at_mut_checked(sealed_len).ok_or(small)?;
        let mac = self.command_mac(ins, header, sealed);
        tail.get_mut(..MAC_LEN).ok_or(small)?.copy_from_slice(&mac);
        end.checked_add(MAC_LEN).ok_or(small)
    }

    /// Opens a received command body in `mode`, in place: verifies the command MAC (constant
    /// time) and in Full mode decrypts the data after `header_len` bytes. Returns the length of
    /// `header ‖ plain data`.
    pub fn open_command(
        &self,
        ins: u8,
        body: &mut [u8],
        header_len: usize,
        mode: CommMode,
    ) -> Result<usize, MessagingError> {
        if mode == CommMode::Plain {
            return Ok(body.len());
        }
        let split = body
            .len()
            .checked_sub(MAC_LEN)
            .ok_or(MessagingError::MissingMac)?;
        let (payload, mac) = body.split_at_mut(split);
        if !self.command_mac_matches(ins, payload, &[], mac) {
            payload.zeroize();
            mac.zeroize();
            return Err(MessagingError::MacMismatch);
        }
        if mode == CommMode::Mac {
            return Ok(split);
        }
        let data = payload
            .get_mut(header_len..)
            .ok_or(MessagingError::NotBlockAligned)?;
        let plain = self.decrypt(Direction::Command, data)?;
        header_len
            .checked_add(plain)
            .ok_or(MessagingError::NotBlockAligned)
    }

    /// Seals the response data (the first `len` bytes of `buf`) in `mode` with status `rc`, in
    /// place; returns the sealed length.
    pub fn seal_response(
        &self,
        rc: u8,
        buf: &mut [u8],
        len: usize,
        mode: CommMode,
    ) -> Result<usize, MessagingError> {
        self.ensure_counter()?;
        let small = MessagingError::BufferTooSmall;
        let sealed_len = match mode {
            CommMode::Plain => return Ok(len),
            CommMode::Full if len > 0 => {
                let padded = pad_iso9797_m2(buf, len).map_err(|_| small)?;
                let iv = self
                    .iv(Direction::Response)
                    .ok_or(MessagingError::CounterExhausted)?;
                cbc_encrypt(&self.enc, &iv, buf.get_mut(..padded).ok_or(small)?)
                    .map_err(|_| small)?;
                padded
            }
            CommMode::Mac | CommMode::Full => len,
        };
        let (sealed, tail) = buf.split_at_mut_checked(sealed_len).ok_or(small)?;
        let mac = self
            .response_mac(rc, sealed)
            .ok_or(MessagingError::CounterExhausted)?;
        tail.get_mut(..MAC_LEN).ok_or(small)?.copy_from_slice(&mac);
        sealed_len.checked_add(MAC_LEN).ok_or(small)
    }

    /// Opens a received response body with status `rc` in `mode`, in place: verifies the response
    /// MAC (constant time) before anything is decrypted. The plain data is the start of `body`.
    pub fn open_response(
        &self,
        rc: u8,
        body: &mut [u8],
        mode: CommMode,
    ) -> Result<OpenedResponse, MessagingError> {
        if mode == CommMode::Plain {
            return Ok(OpenedResponse {
                len: body.len(),
                mac: None,
            });
        }
        let split = body
            .len()
            .checked_sub(MAC_LEN)
            .ok_or(MessagingError::MissingMac)?;
        let (payload, mac) = body.split_at_mut(split);
        if !self.response_mac_matches(rc, payload, mac) {
            // Unverified bytes must not stay readable in the caller's buffer.
            payload.zeroize();
            mac.zeroize();
            return Err(MessagingError::MacMismatch);
        }
        let len = if mode == CommMode::Full {
            match self.decrypt(Direction::Response, payload) {
                Ok(len) => len,
                Err(e) => {
                    payload.zeroize();
                    return Err(e);
                }
            }
        } else {
            split
        };
        Ok(OpenedResponse {
            len,
            mac: Some(ResponseMacVerified(())),
        })
    }

    /// Decrypts MAC-verified Full-mode data in place with the IV of `dir`; returns the unpadded
    /// length. Empty data has no ciphertext block and stays empty.
    fn decrypt(&self, dir: Direction, data: &mut [u8]) -> Result<usize, MessagingError> {
        if data.is_empty() {
            return Ok(0);
        }
        let iv = self.iv(dir).ok_or(MessagingError::CounterExhausted)?;
        cbc_decrypt(&self.enc, &iv, data).map_err(|_| MessagingError::NotBlockAligned)?;
        unpad_iso9797_m2(data).map_err(|_| MessagingError::BadPadding)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CmdCtr, SessionKeys, Ti};
    use super::*;
    use crate::crypto::AesKey;
    use hex_literal::hex;

    fn t18_channel() -> SecureChannel {
        let keys = SessionKeys {
            enc: AesKey::new(hex!("1309C877509E5A215007FF0ED19CA564")),
            mac: AesKey::new(hex!("4C6626F5E72EA694202139295C7A7FC7")),
        };
        SecureChannel::new(&keys, Ti(hex!("9D00C4DF")), CmdCtr(0))
    }

    /// Source: AN12196 Rev. 1.8 §6.8.2 Table 18 (EV2-FULL-WRITEDATA-NDEF-AN12196-T18): the
    /// reader seals what the card opens, and the card's bare-MAC answer opens on the reader.
    #[test]
    fn an12196_t18_command_both_sides() {
        let ch = t18_channel();
        let header = hex!("02000000800000");
        let mut data = [0u8; 128];
        data[..83].copy_from_slice(&hex!(
            "0051D1014D550463686F6F73652E75726C2E636F6D2F6E7461673432343F653D"
            "303030303030303030303030303030303030303030303030303030303030303026633D"
            "30303030303030303030303030303030"
        ));
        let mut body = [0u8; 256];
        let n = ch
            .seal_command(0x8D, &header, &data, CommMode::Full, &mut body)
            .unwrap();
        let apdu = hex!(
            "908D00009F02000000800000421C73A27D827658AF481FDFF20A5025B559D0E3AA21E58D347F343CFFC768BFE596C706BC00F2176781D4B0242642A0FF5A42C461AAF894D9A1284B8C76BCFA658ACD40555D362E08DB15CF421B51283F9064BCBE20E96CAE545B407C9D651A3315B27373772E5DA2367D2064AE054AF996C6F1F669170FA88CE8C4E3A4A7BBBEF0FD971FF532C3A802AF745660F2B4D1D9A8499661EBF300"
        );
        assert_eq!(&body[..n], &apdu[5..apdu.len() - 1]);
        let plain = ch
            .open_command(0x8D, &mut body[..n], 7, CommMode::Full)
            .unwrap();
        assert_eq!(&body[..plain], [&header[..], &data[..]].concat());

        let mut resp = hex!("FC222E5F7A542452");
        let opened = ch.open_response(0x00, &mut resp, CommMode::Full).unwrap();
        assert_eq!(opened.len, 0);
        assert!(opened.mac.is_some());
        let mut sealed = [0u8; 8];
        assert_eq!(
            ch.seal_response(0x00, &mut sealed, 0, CommMode::Full),
            Ok(8)
        );
        assert_eq!(sealed, hex!("FC222E5F7A542452"));
    }

    #[test]
    fn nonzero_key_round_trips_in_every_mode() {
        let keys = SessionKeys {
            enc: AesKey::new(hex!("00112233445566778899AABBCCDDEEFF")),
            mac: AesKey::new(hex!("FFEEDDCCBBAA99887766554433221100")),
        };
        let ch = SecureChannel::new(&keys, Ti(hex!("01020304")), CmdCtr(41));
        let plain = *b"a credential of 20 b";
        for mode in [CommMode::Plain, CommMode::Mac, CommMode::Full] {
            let mut buf = [0u8; 64];
            buf[..20].copy_from_slice(&plain);
            let n = ch.seal_response(0x00, &mut buf, 20, mode).unwrap();
            let opened = ch.open_response(0x00, &mut buf[..n], mode).unwrap();
            assert_eq!(&buf[..opened.len], plain);
            assert_eq!(opened.mac.is_some(), mode != CommMode::Plain);

            let mut body = [0u8; 64];
            let n = ch
                .seal_command(0xBD, &hex!("01000000140000"), &plain, mode, &mut body)
                .unwrap();
            let len = ch.open_command(0xBD, &mut body[..n], 7, mode).unwrap();
            assert_eq!(&body[7..len], plain);
        }
    }

    #[test]
    fn refusals_wipe_unverified_bytes() {
        let ch = t18_channel();
        let mut resp = [0x5Au8; 24];
        assert_eq!(
            ch.open_response(0x00, &mut resp, CommMode::Full),
            Err(MessagingError::MacMismatch)
        );
        assert_eq!(resp, [0; 24]);
        assert_eq!(
            ch.open_response(0x00, &mut [0; 7], CommMode::Mac),
            Err(MessagingError::MissingMac)
        );
        let mut cmd = [0x5Au8; 20];
        assert_eq!(
            ch.open_command(0x8D, &mut cmd, 7, CommMode::Mac),
            Err(MessagingError::MacMismatch)
        );
        assert_eq!(cmd, [0; 20]);
        // A verified MAC over ciphertext that is not block aligned: still refused.
        let mut body = [0u8; 13];
        let mac = ch.response_mac(0, &body[..5]).unwrap();
        body[5..].copy_from_slice(&mac);
        assert_eq!(
            ch.open_response(0x00, &mut body, CommMode::Full),
            Err(MessagingError::NotBlockAligned)
        );
        let keys = SessionKeys {
            enc: AesKey::zero(),
            mac: AesKey::zero(),
        };
        let exhausted = SecureChannel::new(&keys, Ti([0; 4]), CmdCtr(0xFFFF));
        assert_eq!(
            exhausted.seal_command(0x8D, &[], &[], CommMode::Plain, &mut [0; 8]),
            Err(MessagingError::CounterExhausted)
        );
        assert_eq!(
            exhausted.seal_response(0x00, &mut [0; 8], 0, CommMode::Mac),
            Err(MessagingError::CounterExhausted)
        );
        // CmdCtr+1 does not exist: no response MAC can verify.
        let mut body = [0u8; 8];
        assert_eq!(
            exhausted.open_response(0x00, &mut body, CommMode::Mac),
            Err(MessagingError::MacMismatch)
        );
    }
}
