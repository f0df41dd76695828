//! The OSDP packet (SIA OSDP v2.2 §5.9, Annex C), heap-free: a [`Receiver`] that cuts a byte
//! stream into checked packets, a view ([`Packet::parse`]) over one, and [`emit`] for replies.
//!
//! ```text
//! SOM ADDR LEN_LSB LEN_MSB CTRL [SCB_LEN SCB_TYPE SCB_DATA..] CODE DATA.. [MAC[4]] CRC_LSB CRC_MSB
//! ```
//!
//! `LEN` counts the whole packet, SOM to the last trailer byte. CTRL: bits 0-1 the sequence
//! number, bit 2 CRC-16 (else an 8-bit checksum), bit 3 a security control block follows.

use crc::{CRC_16_SPI_FUJITSU, Crc};

/// Start of message.
pub const SOM: u8 = 0x53;
/// Largest packet this PD accepts or sends (its advertised receive buffer, PDCAP 10).
pub const MAX_PACKET: usize = 256;
/// Bytes of the MAC sent in a secure packet.
pub const MAC_LEN: usize = 4;
/// Replies set this bit of the address.
pub const REPLY_BIT: u8 = 0x80;
/// The configuration address every PD answers (OSDP §5.9.2).
pub const BROADCAST: u8 = 0x7F;

const CTRL_SQN: u8 = 0x03;
const CTRL_CRC: u8 = 0x04;
const CTRL_SCB: u8 = 0x08;
/// SOM, ADDR, LEN[2], CTRL.
const HEADER: usize = 5;

/// OSDP's CRC-16 (Annex C): polynomial 0x1021, initial value 0x1D0F, not reflected
/// (the catalogue's CRC-16/SPI-FUJITSU), sent least significant byte first.
const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_SPI_FUJITSU);

/// The CRC of `bytes`.
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC16.checksum(bytes)
}

/// The 8-bit checksum trailer: the two's complement of the byte sum.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |s, b| s.wrapping_add(*b))
        .wrapping_neg()
}

/// Why bytes are not a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PacketError {
    /// Shorter than its fields, or `LEN` disagrees with the bytes.
    Length,
    /// The CRC or checksum does not match.
    Trailer,
    /// A security block whose length does not fit the packet.
    Scb,
    /// The output buffer is too small.
    BufferTooSmall,
}

impl core::fmt::Display for PacketError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Length => "OSDP packet length mismatch",
            Self::Trailer => "OSDP packet CRC or checksum mismatch",
            Self::Scb => "OSDP security block longer than the packet",
            Self::BufferTooSmall => "buffer too small for the OSDP packet",
        })
    }
}

impl core::error::Error for PacketError {}

/// One whole, trailer-checked packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    raw: &'a [u8],
    /// The address byte (bit 7 set in replies).
    pub addr: u8,
    /// The control byte.
    pub ctrl: u8,
    /// The security control block: `SCB_TYPE` and `SCB_DATA` (its length byte removed).
    pub scb: Option<(u8, &'a [u8])>,
    /// The command or reply code.
    pub code: u8,
    /// The data after the code (ciphertext in SCS_17 and SCS_18).
    pub data: &'a [u8],
    /// The MAC of a secure packet (SCS_15..SCS_18).
    pub mac: Option<[u8; MAC_LEN]>,
}

impl<'a> Packet<'a> {
    /// Reads `raw`, which must be exactly one packet, and checks its trailer.
    pub fn parse(raw: &'a [u8]) -> Result<Self, PacketError> {
        let [som, addr, l0, l1, ctrl, rest @ ..] = raw else {
            return Err(PacketError::Length);
        };
        if *som != SOM || usize::from(u16::from_le_bytes([*l0, *l1])) != raw.len() {
            return Err(PacketError::Length);
        }
        let trailer = if ctrl & CTRL_CRC != 0 { 2 } else { 1 };
        let (body, tail) = rest
            .split_at_checked(rest.len().checked_sub(trailer).ok_or(PacketError::Length)?)
            .ok_or(PacketError::Length)?;
        let covered = raw
            .get(..raw.len().saturating_sub(trailer))
            .ok_or(PacketError::Length)?;
        let ok = match tail {
            [lo, hi] => crc16(covered) == u16::from_le_bytes([*lo, *hi]),
            [c] => checksum(covered) == *c,
            _ => false,
        };
        if !ok {
            return Err(PacketError::Trailer);
        }
        let (scb, body) = if ctrl & CTRL_SCB != 0 {
            let (len, _) = body.split_first().ok_or(PacketError::Scb)?;
            let (block, body) = body
                .split_at_checked(usize::from(*len))
                .ok_or(PacketError::Scb)?;
            let [_, ty, data @ ..] = block else {
                return Err(PacketError::Scb);
            };
            (Some((*ty, data)), body)
        } else {
            (None, body)
        };
        let secure = scb.is_some_and(|(ty, _)| (0x15..=0x18).contains(&ty));
        let (body, mac) = if secure {
            let at = body.len().checked_sub(MAC_LEN).ok_or(PacketError::Length)?;
            let (body, mac) = body.split_at_checked(at).ok_or(PacketError::Length)?;
            (body, Some(mac.try_into().map_err(|_| PacketError::Length)?))
        } else {
            (body, None)
        };
        let (code, data) = body.split_first().ok_or(PacketError::Length)?;
        Ok(Self {
            raw,
            addr: *addr,
            ctrl: *ctrl,
            scb,
            code: *code,
            data,
            mac,
        })
    }

    /// The sequence number (0 restarts the conversation).
    pub fn sqn(&self) -> u8 {
        self.ctrl & CTRL_SQN
    }

    /// The security block type (`SCS_11` = `0x11` …), if any.
    pub fn scs(&self) -> Option<u8> {
        self.scb.map(|(ty, _)| ty)
    }

    /// The bytes the MAC covers: SOM up to the MAC.
    pub fn mac_input(&self) -> &'a [u8] {
        let trailer = if self.ctrl & CTRL_CRC != 0 { 2 } else { 1 };
        let end = self
            .raw
            .len()
            .saturating_sub(trailer)
            .saturating_sub(MAC_LEN);
        self.raw.get(..end).unwrap_or_default()
    }
}

/// Cuts a byte stream into packets: bytes before a SOM are dropped, a packet whose `LEN` is
/// impossible or whose trailer is wrong is dropped (the control panel retries), and nothing
/// longer than [`MAX_PACKET`] is buffered.
#[derive(Debug)]
pub struct Receiver {
    buf: [u8; MAX_PACKET],
    len: usize,
    done: bool,
}

impl Default for Receiver {
    fn default() -> Self {
        Self {
            buf: [0; MAX_PACKET],
            len: 0,
            done: false,
        }
    }
}

/// The shortest packet: header, code, checksum.
const MIN_PACKET: usize = HEADER + 2;

impl Receiver {
    /// Takes one byte; returns a whole packet with a correct trailer when it completes one.
    pub fn push(&mut self, byte: u8) -> Option<&[u8]> {
        if self.done {
            self.done = false;
            self.len = 0;
        }
        if self.len == 0 && byte != SOM {
            return None;
        }
        let Some(slot) = self.buf.get_mut(self.len) else {
            self.len = 0;
            return None;
        };
        *slot = byte;
        self.len = self.len.saturating_add(1);
        let total = match self.buf.get(2..4) {
            Some(&[lo, hi]) if self.len >= 4 => usize::from(u16::from_le_bytes([lo, hi])),
            _ => return None,
        };
        if !(MIN_PACKET..=MAX_PACKET).contains(&total) {
            self.len = 0;
            return None;
        }
        if self.len < total {
            return None;
        }
        self.done = true;
        let packet = self.buf.get(..total)?;
        // A wrong trailer is dropped here; `Packet::parse` checks it again for its own callers.
        Packet::parse(packet).ok().map(|_| packet)
    }
}

/// Computes the 16-byte MAC of the bytes before it (the PD's session MAC chain).
pub type MacFn<'a> = &'a mut dyn FnMut(&[u8]) -> [u8; 16];

/// Writes a reply packet into `out`: header, the security block `scb` (type and data), `code`,
/// `data`, the MAC that `mac` computes over everything before it (SCS_16/18), and the CRC.
/// Returns the packet's length.
pub fn emit(
    out: &mut [u8],
    addr: u8,
    sqn: u8,
    scb: Option<(u8, &[u8])>,
    code: u8,
    data: &[u8],
    mac: Option<MacFn<'_>>,
) -> Result<usize, PacketError> {
    let scb_len = scb.map_or(0, |(_, d)| d.len().saturating_add(2));
    let mac_len = if mac.is_some() { MAC_LEN } else { 0 };
    let total = [scb_len, 1, data.len(), mac_len, 2]
        .iter()
        .try_fold(HEADER, |a, b| a.checked_add(*b))
        .filter(|t| *t <= out.len() && *t <= MAX_PACKET)
        .ok_or(PacketError::BufferTooSmall)?;
    let total16 = u16::try_from(total).map_err(|_| PacketError::BufferTooSmall)?;
    let mut ctrl = (sqn & CTRL_SQN) | CTRL_CRC;
    if scb.is_some() {
        ctrl |= CTRL_SCB;
    }
    let [l0, l1] = total16.to_le_bytes();
    let mut w = Cursor { out, at: 0 };
    w.put(&[SOM, addr | REPLY_BIT, l0, l1, ctrl])?;
    if let Some((ty, d)) = scb {
        let len = u8::try_from(scb_len).map_err(|_| PacketError::Scb)?;
        w.put(&[len, ty])?;
        w.put(d)?;
    }
    w.put(&[code])?;
    w.put(data)?;
    if let Some(mac) = mac {
        let tag = mac(w.written());
        w.put(tag.get(..MAC_LEN).unwrap_or_default())?;
    }
    let crc = crc16(w.written());
    w.put(&crc.to_le_bytes())?;
    Ok(w.at)
}

struct Cursor<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Cursor<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), PacketError> {
        let end = self
            .at
            .checked_add(bytes.len())
            .ok_or(PacketError::BufferTooSmall)?;
        self.out
            .get_mut(self.at..end)
            .ok_or(PacketError::BufferTooSmall)?
            .copy_from_slice(bytes);
        self.at = end;
        Ok(())
    }

    fn written(&self) -> &[u8] {
        self.out.get(..self.at).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// osdp_POLL to PD 0, SQN 0, with CRC; the CRC computed by a separate bit-by-bit Python
    /// implementation of Annex C (init 0x1D0F, poly 0x1021), not by this crate.
    const POLL: [u8; 8] = hex!("53 00 08 00 04 60 EB AA");

    #[test]
    fn crc_is_the_annex_c_crc() {
        // The catalogue's check value of CRC-16/SPI-FUJITSU over "123456789".
        assert_eq!(crc16(b"123456789"), 0xE5CC);
    }

    #[test]
    fn parses_a_poll() {
        let p = Packet::parse(&POLL).unwrap();
        assert_eq!(
            (p.addr, p.code, p.sqn(), p.scb, p.mac),
            (0, 0x60, 0, None, None)
        );
        let mut bad = POLL;
        bad[6] ^= 1;
        assert_eq!(Packet::parse(&bad), Err(PacketError::Trailer));
        assert_eq!(Packet::parse(&POLL[..7]), Err(PacketError::Length));
    }

    #[test]
    fn the_receiver_skips_noise_and_returns_whole_packets() {
        let mut r = Receiver::default();
        let mut got = None;
        for b in [0xFF, 0x00].iter().chain(POLL.iter()) {
            if let Some(p) = r.push(*b) {
                got = Some(p.to_vec());
            }
        }
        assert_eq!(got.as_deref(), Some(&POLL[..]));
        // An impossible length resets; the next packet is read.
        let mut got = None;
        for b in [SOM, 0x00, 0xFF, 0xFF].iter().chain(POLL.iter()) {
            if let Some(p) = r.push(*b) {
                got = Some(p.to_vec());
            }
        }
        assert_eq!(got.as_deref(), Some(&POLL[..]));
    }

    #[test]
    fn emits_a_reply_that_parses_back() {
        let mut out = [0u8; 64];
        let n = emit(&mut out, 0x01, 2, None, 0x40, &[], None).unwrap();
        let p = Packet::parse(&out[..n]).unwrap();
        assert_eq!((p.addr, p.code, p.sqn()), (0x81, 0x40, 2));
        let mut mac = |b: &[u8]| [b.len() as u8; 16];
        let n = emit(
            &mut out,
            0x01,
            3,
            Some((0x18, &[])),
            0x50,
            &[9; 16],
            Some(&mut mac),
        )
        .unwrap();
        let p = Packet::parse(&out[..n]).unwrap();
        assert_eq!(p.scs(), Some(0x18));
        assert_eq!(p.data, &[9; 16]);
        assert_eq!(p.mac, Some([p.mac_input().len() as u8; 4]));
    }
}
