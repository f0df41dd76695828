//! EV2 session keys, IVs and MAC inputs (NT4H2421Gx §9.1; AN12196 §6.6; MIFARE DESFire EV3 uses
//! the identical scheme), the handshake ([`handshake`]) and secure messaging ([`messaging`]).
//!
//! This is the one EV2 implementation: the reader (`pcd`), the card (`picc`) and the trace
//! decoder all go through these functions, each using the halves its role needs.

use super::{Aes128, AesKey, BLOCK, Mact, Random16, cmac, mac_t};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

pub mod handshake;
pub mod messaging;

pub use handshake::Capabilities;
pub use messaging::{MAC_LEN, MessagingError, OpenedResponse, ResponseMacVerified};

/// Transaction Identifier: 4 bytes chosen by the PICC in AuthenticateEV2First, kept by NonFirst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ti(pub [u8; 4]);

impl core::fmt::Display for Ti {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// The 16-bit command counter of an EV2 session.
///
/// Set to 0 by AuthenticateEV2First, kept by NonFirst, incremented by the PICC after every command
/// while authenticated. At `0xFFFF` no further command may be sent (NT4H2421Gx §9.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CmdCtr(pub u16);

impl CmdCtr {
    /// The value after this one, or `None` when the counter is exhausted.
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }

    /// Little-endian, as in every MAC and IV input.
    pub fn to_le_bytes(self) -> [u8; 2] {
        self.0.to_le_bytes()
    }
}

/// The 26-byte context shared by SV1 and SV2:
/// `RndA[0..2] || (RndA[2..8] ^ RndB[0..6]) || RndB[6..16] || RndA[8..16]` (bytes 0-based, first sent first).
fn session_context(rnd_a: &[u8; 16], rnd_b: &[u8; 16]) -> [u8; 26] {
    let mut ctx = [0u8; 26];
    let (a01, rest) = ctx.split_at_mut(2);
    let (mixed, rest) = rest.split_at_mut(6);
    let (b6_16, a8_16) = rest.split_at_mut(10);
    let (ra_head, ra_tail) = rnd_a.split_at(8);
    let (rb_head, rb_tail) = rnd_b.split_at(6);
    a01.copy_from_slice(ra_head.get(..2).unwrap_or(&[0; 2]));
    for ((m, a), b) in mixed.iter_mut().zip(ra_head.iter().skip(2)).zip(rb_head) {
        *m = a ^ b;
    }
    b6_16.copy_from_slice(rb_tail);
    a8_16.copy_from_slice(ra_tail);
    ctx
}

/// Session vector `label || 00 01 00 80 || context`: SV1 with label `A5 5A`, SV2 with `5A A5`.
pub fn session_vector(label: [u8; 2], rnd_a: &Random16, rnd_b: &Random16) -> [u8; 32] {
    let mut sv = [0u8; 32];
    let (head, ctx) = sv.split_at_mut(6);
    head.copy_from_slice(&[label[0], label[1], 0x00, 0x01, 0x00, 0x80]);
    let mut c = session_context(rnd_a.expose(), rnd_b.expose());
    ctx.copy_from_slice(&c);
    c.zeroize();
    sv
}

/// SV1 label: encryption session key.
pub const SV1_LABEL: [u8; 2] = [0xA5, 0x5A];
/// SV2 label: MAC session key.
pub const SV2_LABEL: [u8; 2] = [0x5A, 0xA5];

/// The two session keys of an EV2 authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKeys {
    /// SesAuthENCKey = CMAC(Kx, SV1).
    pub enc: AesKey,
    /// SesAuthMACKey = CMAC(Kx, SV2).
    pub mac: AesKey,
}

impl SessionKeys {
    /// Derives SesAuthENCKey and SesAuthMACKey from the authentication key and both randoms.
    pub fn derive(key: &AesKey, rnd_a: &Random16, rnd_b: &Random16) -> Self {
        Self::derive_with(&super::aes(key), rnd_a, rnd_b)
    }

    /// [`Self::derive`] with the authentication key already expanded (the handshake has it).
    pub fn derive_with(kx: &Aes128, rnd_a: &Random16, rnd_b: &Random16) -> Self {
        let mut sv1 = session_vector(SV1_LABEL, rnd_a, rnd_b);
        let mut sv2 = session_vector(SV2_LABEL, rnd_a, rnd_b);
        let keys = Self {
            enc: AesKey::new(cmac(kx, &[&sv1])),
            mac: AesKey::new(cmac(kx, &[&sv2])),
        };
        sv1.zeroize();
        sv2.zeroize();
        keys
    }
}

/// Which way a secured frame travels; selects the IV label and the counter value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Direction {
    /// PCD to PICC: label `A5 5A`, counter n.
    Command,
    /// PICC to PCD: label `5A A5`, counter n+1.
    Response,
}

/// The keyed state of an EV2 secure channel: expanded session keys, TI and the counter.
///
/// Shared by the reader ([`crate::pcd`]), the card ([`crate::picc`]) and anything that follows a
/// session passively, such as a trace decoder. It holds no policy: when to count is the caller's
/// business.
#[derive(Clone)]
pub struct SecureChannel {
    enc: Aes128,
    mac: Aes128,
    /// Transaction identifier.
    pub ti: Ti,
    /// Current command counter n (the next command uses n, its response n+1).
    pub cmd_ctr: CmdCtr,
}

impl core::fmt::Debug for SecureChannel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SecureChannel")
            .field("keys", &"[redacted]")
            .field("ti", &self.ti)
            .field("cmd_ctr", &self.cmd_ctr)
            .finish()
    }
}

impl SecureChannel {
    /// A channel with the given session keys, TI and counter.
    pub fn new(keys: &SessionKeys, ti: Ti, cmd_ctr: CmdCtr) -> Self {
        Self {
            enc: super::aes(&keys.enc),
            mac: super::aes(&keys.mac),
            ti,
            cmd_ctr,
        }
    }

    fn counter_for(&self, dir: Direction) -> Option<CmdCtr> {
        match dir {
            Direction::Command => Some(self.cmd_ctr),
            Direction::Response => self.cmd_ctr.0.checked_add(1).map(CmdCtr),
        }
    }

    /// `IV = E(SesAuthENCKey, label || TI || CmdCtr(LE) || 00×8)`. `None` if the counter is exhausted.
    pub fn iv(&self, dir: Direction) -> Option<[u8; BLOCK]> {
        let ctr = self.counter_for(dir)?.to_le_bytes();
        let label = match dir {
            Direction::Command => SV1_LABEL,
            Direction::Response => SV2_LABEL,
        };
        let t = self.ti.0;
        let mut iv = [
            label[0], label[1], t[0], t[1], t[2], t[3], ctr[0], ctr[1], 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        super::encrypt_block(&self.enc, &mut iv);
        Some(iv)
    }

    /// Command MACt over `Cmd || CmdCtr || TI || CmdHeader || (E)CmdData`.
    pub fn command_mac(&self, ins: u8, header: &[u8], data: &[u8]) -> Mact {
        let ctr = self.cmd_ctr.to_le_bytes();
        mac_t(&cmac(&self.mac, &[&[ins], &ctr, &self.ti.0, header, data]))
    }

    /// Response MACt over `RC || CmdCtr+1 || TI || (E)RespData`. `None` if the counter is exhausted.
    pub fn response_mac(&self, status: u8, data: &[u8]) -> Option<Mact> {
        let ctr = self.counter_for(Direction::Response)?.to_le_bytes();
        Some(mac_t(&cmac(
            &self.mac,
            &[&[status], &ctr, &self.ti.0, data],
        )))
    }

    /// Checks a received response MACt in constant time.
    pub fn response_mac_matches(&self, status: u8, data: &[u8], received: &[u8]) -> bool {
        match self.response_mac(status, data) {
            Some(expected) => bool::from(expected.as_slice().ct_eq(received)),
            None => false,
        }
    }

    /// Checks a received command MACt in constant time (card side, trace decoding).
    pub fn command_mac_matches(
        &self,
        ins: u8,
        header: &[u8],
        data: &[u8],
        received: &[u8],
    ) -> bool {
        bool::from(
            self.command_mac(ins, header, data)
                .as_slice()
                .ct_eq(received),
        )
    }

    /// The expanded SesAuthENCKey, for CBC over Full-mode payloads.
    pub fn enc_cipher(&self) -> &Aes128 {
        &self.enc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use hex_literal::hex;

    // Source: AN12196 Rev. 1.8 §6.6 Table 14 (EV2-AUTHFIRST-AN12196-T14).
    #[test]
    fn an12196_t14_session_vectors_and_keys() {
        let rnd_a = Random16::new(hex!("13C5DB8A5930439FC3DEF9A4C675360F"));
        let rnd_b = Random16::new(hex!("B9E2FC789B64BF237CCCAA20EC7E6E48"));
        assert_eq!(
            session_vector(SV1_LABEL, &rnd_a, &rnd_b),
            hex!("A55A0001008013C56268A548D8FBBF237CCCAA20EC7E6E48C3DEF9A4C675360F")
        );
        assert_eq!(
            session_vector(SV2_LABEL, &rnd_a, &rnd_b),
            hex!("5AA50001008013C56268A548D8FBBF237CCCAA20EC7E6E48C3DEF9A4C675360F")
        );
        let keys = SessionKeys::derive(&AesKey::zero(), &rnd_a, &rnd_b);
        assert_eq!(keys.enc.expose(), &hex!("1309C877509E5A215007FF0ED19CA564"));
        assert_eq!(keys.mac.expose(), &hex!("4C6626F5E72EA694202139295C7A7FC7"));
    }

    // Source: Proxmark3 client/src/mifare/desfiretest.c TestEV2SessionKeys, second vector
    // (commit 1c8c3b78): a non-zero key, so a zero-key derivation bug cannot pass.
    #[test]
    fn nonzero_key_session_keys() {
        let key = AesKey::new(hex!("00112233445566778899AABBCCDDEEFF"));
        let rnd_a = Random16::new(hex!("0123456789ABCDEF0123456789ABCDEF"));
        let rnd_b = Random16::new(hex!("FEDCBA9876543210FEDCBA9876543210"));
        let keys = SessionKeys::derive(&key, &rnd_a, &rnd_b);
        assert_eq!(keys.enc.expose(), &hex!("195428119C8528D59580A73C7C96C6A3"));
        assert_eq!(keys.mac.expose(), &hex!("0AF00F6E39F904C4A6388C812D53DC94"));
        // The zero key gives different keys for the same randoms.
        assert_ne!(SessionKeys::derive(&AesKey::zero(), &rnd_a, &rnd_b), keys);
    }

    // Source: AN12196 Rev. 1.8 §5.3 Table 8 (EV2-MAC-GETFILESETTINGS-AN12196-T8).
    #[test]
    fn an12196_t8_command_and_response_mac() {
        let keys = SessionKeys {
            enc: AesKey::zero(),
            mac: AesKey::new(hex!("8248134A386E86EB7FAF54A52E536CB6")),
        };
        let ch = SecureChannel::new(&keys, Ti(hex!("7A21085E")), CmdCtr(0));
        assert_eq!(
            ch.command_mac(0xF5, &hex!("02"), &[]),
            hex!("6597A457C8CD442C")
        );
        let resp = hex!("0040EEEE000100D1FE001F00004400004400002000006A0000");
        assert_eq!(ch.response_mac(0x00, &resp), Some(hex!("2A474282E7A47986")));
        assert!(ch.response_mac_matches(0x00, &resp, &hex!("2A474282E7A47986")));
        assert!(!ch.response_mac_matches(0x00, &resp, &hex!("2A474282E7A47987")));
        assert!(!ch.response_mac_matches(0x00, &resp, &hex!("2A474282E7A479")));
    }

    // Source: AN12196 Rev. 1.8 §6.8.2 Table 18 (EV2-FULL-WRITEDATA-NDEF-AN12196-T18).
    #[test]
    fn an12196_t18_command_iv() {
        let keys = SessionKeys {
            enc: AesKey::new(hex!("1309C877509E5A215007FF0ED19CA564")),
            mac: AesKey::new(hex!("4C6626F5E72EA694202139295C7A7FC7")),
        };
        let ch = SecureChannel::new(&keys, Ti(hex!("9D00C4DF")), CmdCtr(0));
        assert_eq!(
            ch.iv(Direction::Command),
            Some(hex!("D2CB7277A17841A06654A48188C1F8F5"))
        );
        assert_eq!(ch.response_mac(0x00, &[]), Some(hex!("FC222E5F7A542452")));
    }

    #[test]
    fn counter_exhaustion() {
        assert_eq!(CmdCtr(0).next(), Some(CmdCtr(1)));
        assert_eq!(CmdCtr(0xFFFE).next(), Some(CmdCtr(0xFFFF)));
        assert_eq!(CmdCtr(0xFFFF).next(), None);
        let keys = SessionKeys {
            enc: AesKey::zero(),
            mac: AesKey::zero(),
        };
        let ch = SecureChannel::new(&keys, Ti([0; 4]), CmdCtr(0xFFFF));
        assert_eq!(ch.iv(Direction::Response), None);
        assert_eq!(ch.response_mac(0, &[]), None);
    }
}
