//! An OSDP control panel (Annex D Secure Channel, SCS_15/17 commands), for the attacker
//! harness: the real panel that holds the SCBK and must still be served after an attack, and
//! the recorder of the sessions the attacker's seeds start from.

use reader::osdp::Pd;
use reader::osdp::packet::{Packet, crc16};
use reader::osdp::secure::SessionKeys;

use desfire_core::crypto::AesKey;

/// The PD's RNG seed when the seed sessions were recorded; the harness runs the PD with it
/// [`crate::rng::Nudged`].
pub const GOLDEN_PD_RNG: u64 = 0x5EED;
/// The panel's RND.A.
pub const RND_A: [u8; 8] = [0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7];
/// The card read queued at the PD (osdp_RAW, format 00, 64 bits, the lab credential ID).
pub const CARD: [u8; 12] = [
    0x00, 0x00, 0x40, 0x00, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E, 0x6F, 0x70, 0x81,
];

/// A reply the panel opened: code, security block type and data (decrypted in a session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply code.
    pub code: u8,
    /// Its security block type.
    pub scs: Option<u8>,
    /// Its data, in clear.
    pub data: Vec<u8>,
}

/// Why the panel could not go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpError {
    /// The PD did not answer a packet (after the retries).
    NoReply(u8),
    /// The reply is not what the command asks for.
    Unexpected(u8, u8),
    /// The reply's MAC, cryptogram or padding is wrong.
    Crypto,
}

/// The control panel.
pub struct Cp {
    scbk: AesKey,
    sqn: u8,
    keys: Option<SessionKeys>,
    c_mac: [u8; 16],
    r_mac: [u8; 16],
    /// Every byte the panel sent, in order.
    pub sent: Vec<u8>,
}

impl core::fmt::Debug for Cp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cp")
            .field("sqn", &self.sqn)
            .finish_non_exhaustive()
    }
}

impl Cp {
    /// A panel with `scbk`, before its first packet (SQN 0).
    pub fn new(scbk: [u8; 16]) -> Self {
        Self {
            scbk: AesKey::new(scbk),
            sqn: 0,
            keys: None,
            c_mac: [0; 16],
            r_mac: [0; 16],
            sent: Vec::new(),
        }
    }

    fn next_sqn(&mut self) -> u8 {
        let s = self.sqn;
        self.sqn = if self.sqn == 3 { 1 } else { self.sqn + 1 };
        s
    }

    /// A command packet to address 0; in a session without `scb` it is MACed (SCS_15), or
    /// encrypted and MACed when it has data (SCS_17).
    fn packet(&mut self, sqn: u8, scb: Option<&[u8]>, code: u8, data: &[u8]) -> Vec<u8> {
        let secure = scb.is_none() && self.keys.is_some();
        let (scb, body): (Vec<u8>, Vec<u8>) = match (scb, &self.keys) {
            (Some(s), _) => (s.to_vec(), data.to_vec()),
            (None, Some(k)) if !data.is_empty() => {
                let mut buf = data.to_vec();
                buf.resize(data.len() + 16, 0);
                let n = k
                    .encrypt_data(&self.r_mac, &mut buf, data.len())
                    .expect("room for the padding");
                buf.truncate(n);
                (vec![0x02, 0x17], buf)
            }
            (None, Some(_)) => (vec![0x02, 0x15], data.to_vec()),
            (None, None) => (vec![], data.to_vec()),
        };
        let mac_len = if secure { 4 } else { 0 };
        let len = 5 + scb.len() + 1 + body.len() + mac_len + 2;
        let mut ctrl = (sqn & 3) | 0x04;
        if !scb.is_empty() {
            ctrl |= 0x08;
        }
        let mut p = vec![0x53, 0x00, len as u8, (len >> 8) as u8, ctrl];
        p.extend_from_slice(&scb);
        p.push(code);
        p.extend_from_slice(&body);
        if let (true, Some(k)) = (secure, &self.keys) {
            self.c_mac = k.mac(&self.r_mac, &p);
            p.extend_from_slice(&self.c_mac[..4]);
        }
        let c = crc16(&p);
        p.extend_from_slice(&c.to_le_bytes());
        p
    }

    /// Sends `packet` (up to `tries` times while the PD does not answer); the reply's bytes.
    fn exchange<R: rand_core::CryptoRng>(
        &mut self,
        pd: &mut Pd,
        rng: &mut R,
        packet: &[u8],
        tries: usize,
    ) -> Option<Vec<u8>> {
        let mut out = [0u8; 300];
        for _ in 0..tries {
            self.sent.extend_from_slice(packet);
            let mut reply = None;
            for b in packet {
                if let Some(n) = pd.on_byte(*b, rng, &mut out) {
                    reply = Some(out[..n].to_vec());
                }
            }
            if reply.is_some() {
                return reply;
            }
        }
        None
    }

    /// Checks a reply's MAC in a session and decrypts its data.
    fn open(&mut self, raw: &[u8]) -> Result<Reply, CpError> {
        let p = Packet::parse(raw).map_err(|_| CpError::Crypto)?;
        let mut data = p.data.to_vec();
        if let (Some(0x16 | 0x18), Some(k)) = (p.scs(), &self.keys) {
            let mac = k.mac(&self.c_mac, p.mac_input());
            if Some(&mac[..4]) != p.mac.as_ref().map(|m| &m[..]) {
                return Err(CpError::Crypto);
            }
            if p.scs() == Some(0x18) {
                let n = k
                    .decrypt_data(&self.c_mac, &mut data)
                    .ok_or(CpError::Crypto)?;
                data.truncate(n);
            }
            self.r_mac = mac;
        }
        Ok(Reply {
            code: p.code,
            scs: p.scs(),
            data,
        })
    }

    /// One command; resent up to `tries` times while the PD is silent.
    pub fn command<R: rand_core::CryptoRng>(
        &mut self,
        pd: &mut Pd,
        rng: &mut R,
        code: u8,
        data: &[u8],
        tries: usize,
    ) -> Result<Reply, CpError> {
        let sqn = self.next_sqn();
        let p = self.packet(sqn, None, code, data);
        let raw = self
            .exchange(pd, rng, &p, tries)
            .ok_or(CpError::NoReply(code))?;
        self.open(&raw)
    }

    /// The handshake (osdp_CHLNG, osdp_SCRYPT) with the panel's SCBK; the PD's cryptogram is
    /// checked. Ok when the session is established.
    pub fn handshake<R: rand_core::CryptoRng>(
        &mut self,
        pd: &mut Pd,
        rng: &mut R,
    ) -> Result<(), CpError> {
        let sqn = self.next_sqn();
        let chlng = self.packet(sqn, Some(&[0x03, 0x11, 0x01]), 0x76, &RND_A);
        let raw = self
            .exchange(pd, rng, &chlng, 1)
            .ok_or(CpError::NoReply(0x76))?;
        let r = self.open(&raw)?;
        if (r.code, r.scs, r.data.len()) != (0x76, Some(0x12), 32) {
            return Err(CpError::Unexpected(0x76, r.code));
        }
        let rnd_b: [u8; 8] = r.data[8..16].try_into().expect("8 bytes");
        let keys = SessionKeys::derive(&self.scbk, &RND_A);
        if r.data[16..32] != keys.client_cryptogram(&RND_A, &rnd_b) {
            return Err(CpError::Crypto);
        }
        // The server cryptogram is the same block with the randoms swapped.
        let sc = keys.client_cryptogram(&rnd_b, &RND_A);
        let sqn = self.next_sqn();
        let scrypt = self.packet(sqn, Some(&[0x03, 0x13, 0x01]), 0x77, &sc);
        let raw = self
            .exchange(pd, rng, &scrypt, 1)
            .ok_or(CpError::NoReply(0x77))?;
        let r = self.open(&raw)?;
        if (r.code, r.scs) != (0x78, Some(0x14)) || r.data[..] != keys.initial_rmac(&sc) {
            return Err(CpError::Unexpected(0x77, r.code));
        }
        self.r_mac = keys.initial_rmac(&sc);
        self.keys = Some(keys);
        Ok(())
    }

    /// What a panel does with a PD: osdp_POLL in clear (SQN 0, resent while the PD is busy
    /// with a broken packet), osdp_ID, osdp_CAP, the handshake, then osdp_LSTAT, osdp_LED and
    /// osdp_POLL in the session until the PD has nothing more. The osdp_RAW payloads it got.
    pub fn serve<R: rand_core::CryptoRng>(
        &mut self,
        pd: &mut Pd,
        rng: &mut R,
    ) -> Result<Vec<Vec<u8>>, CpError> {
        // The line may hold the start of a broken packet (noise, an attacker): it swallows our
        // polls until its length is reached, and the last one swallowed may end it with a
        // valid trailer, which the PD answers. Like a panel, poll again until the PD ACKs:
        // a packet of the longest length swallows at most 256 / 8 polls.
        let poll = self.packet(0, None, 0x60, &[]);
        let mut acked = false;
        for _ in 0..40 {
            if let Some(raw) = self.exchange(pd, rng, &poll, 1)
                && self.open(&raw)?.code == 0x40
            {
                acked = true;
                break;
            }
        }
        if !acked {
            return Err(CpError::NoReply(0x60));
        }
        self.sqn = 1;
        for (code, want) in [(0x61, 0x45), (0x62, 0x46)] {
            let r = self.command(pd, rng, code, &[], 1)?;
            if r.code != want {
                return Err(CpError::Unexpected(code, r.code));
            }
        }
        self.handshake(pd, rng)?;
        for (code, data, want) in [
            (0x64u8, &[][..], 0x48u8),
            (0x69, &[0, 0, 1, 1, 1, 1, 1, 2, 0, 0, 0, 0, 0, 0][..], 0x40),
        ] {
            let r = self.command(pd, rng, code, data, 1)?;
            if r.code != want {
                return Err(CpError::Unexpected(code, r.code));
            }
        }
        let mut raws = Vec::new();
        loop {
            let r = self.command(pd, rng, 0x60, &[], 1)?;
            match r.code {
                0x50 if r.scs == Some(0x18) => raws.push(r.data),
                0x40 | 0x48 => return Ok(raws),
                other => return Err(CpError::Unexpected(0x60, other)),
            }
        }
    }
}
