//! ISO/IEC 7816-4 wrapping of native commands (MIFARE DESFire EV3 data sheet, "ISO/IEC 7816-4
//! communication frame"; NT4H2421Gx §8.4): `90 INS 00 00 [Lc Data] 00`, answered by
//! `[Data] 91 Status`.

use super::{Error, Ins, Status, Writer};

/// CLA of a wrapped native command.
pub const CLA_NATIVE: u8 = 0x90;

/// Largest Lc of a short APDU.
pub const MAX_SHORT_LC: usize = 255;

/// Emits a wrapped native command: `90 INS 00 00 Lc data 00`, or `90 INS 00 00 00` without data.
pub fn emit_capdu(ins: Ins, data: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    emit_iso(CLA_NATIVE, ins.0, 0, 0, data, Some(0), out)
}

/// Emits a short C-APDU `CLA INS P1 P2 [Lc data] [Le]`.
pub(crate) fn emit_iso(
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: &[u8],
    le: Option<u8>,
    out: &mut [u8],
) -> Result<usize, Error> {
    let mut w = Writer::new(out);
    w.put(&[cla, ins, p1, p2])?;
    if !data.is_empty() {
        let lc = u8::try_from(data.len()).map_err(|_| Error::BadLength)?;
        w.put_u8(lc)?;
        w.put(data)?;
    }
    if let Some(le) = le {
        w.put_u8(le)?;
    }
    Ok(w.len())
}

/// A response APDU: data and the two status bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RApdu<'a> {
    /// Response data, without the status word.
    pub data: &'a [u8],
    /// SW1
    pub sw1: u8,
    /// SW2
    pub sw2: u8,
}

impl<'a> RApdu<'a> {
    /// Splits a frame into data and status word.
    pub fn parse(frame: &'a [u8]) -> Result<Self, Error> {
        let (data, sw) = frame.split_last_chunk::<2>().ok_or(Error::Truncated)?;
        Ok(Self {
            data,
            sw1: sw[0],
            sw2: sw[1],
        })
    }

    /// The DESFire status of a wrapped native response (SW1 must be `91`).
    pub fn status(&self) -> Result<Status, Error> {
        if self.sw1 == 0x91 {
            Ok(Status(self.sw2))
        } else {
            Err(Error::NotDesfireStatus {
                sw1: self.sw1,
                sw2: self.sw2,
            })
        }
    }

    /// The status word as one number, e.g. `0x9000`.
    pub fn sw(&self) -> u16 {
        u16::from_be_bytes([self.sw1, self.sw2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn wraps_native_commands() {
        let mut buf = [0u8; 16];
        // AN12196 Table 14: AuthenticateEV2First, key 0, LenCap 0.
        let n = emit_capdu(Ins::AUTHENTICATE_EV2_FIRST, &[0x00, 0x00], &mut buf).unwrap();
        assert_eq!(&buf[..n], hex!("9071000002000000"));
        let n = emit_capdu(Ins::GET_VERSION, &[], &mut buf).unwrap();
        assert_eq!(&buf[..n], hex!("9060000000"));
        assert_eq!(
            emit_capdu(Ins::GET_VERSION, &[0; 12], &mut buf),
            Err(Error::BufferTooSmall)
        );
        let mut big = [0u8; 300];
        assert_eq!(
            emit_capdu(Ins::WRITE_DATA, &[0; 256], &mut big),
            Err(Error::BadLength)
        );
    }

    #[test]
    fn parses_responses() {
        let r = RApdu::parse(&hex!("A04C124213C186F22399D33AC2A3021591AF")).unwrap();
        assert_eq!(r.data.len(), 16);
        assert_eq!(r.status(), Ok(Status::ADDITIONAL_FRAME));
        assert_eq!(RApdu::parse(&[0x91]), Err(Error::Truncated));
        let iso = RApdu::parse(&hex!("6A82")).unwrap();
        assert_eq!(
            iso.status(),
            Err(Error::NotDesfireStatus {
                sw1: 0x6A,
                sw2: 0x82
            })
        );
        assert_eq!(iso.sw(), 0x6A82);
    }
}
