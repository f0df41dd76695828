//! A prototype of the same reader transaction with the hot spots of the engine removed, to
//! measure what fixing them in `desfire-core` would gain. Not a second engine: it is
//! straight-line code for this one transaction, kept only for the benchmark.
//!
//! Same transport (the C-APDUs are checked against the recording), same checks (RndA', every
//! response MAC in constant time, padding, UID and data), same randoms. What differs:
//!
//! - each key is expanded once (the engine expands K three times per handshake:
//!   `auth::challenge`, `AwaitingConfirmation::on_confirmation`, `SessionKeys::derive`);
//! - CMAC subkeys are derived once per key (`cmac` 0.8 encrypts the zero block again in every
//!   `finalize`, so the engine's `cmac()` does too: SV1/SV2 and command/response MAC pairs pay
//!   twice);
//! - CMAC gathers its parts into one stack buffer and runs a block at a time (no
//!   `cmac`/`block-buffer` state machine);
//! - the session state stays where it is (the engine moves `Session`, ~750 bytes with two
//!   expanded keys, in and out of `Option`s and results several times per command) and no
//!   512-byte body buffer is zeroed.
//!
//! Like the engine it uses the ciphers by reference (never a copy of an expanded key) and the
//! `aes` crate with the `zeroize` feature (features unify), so every key schedule is wiped on
//! drop here too. `session_vector` is the engine's own.
//!
//! The const parameters put two of the engine's habits back, one at a time, so the bench can
//! tell what each costs: `REEXPAND` expands the handshake key three times as the engine does,
//! `SUBKEYS_PER_MAC` derives the CMAC subkeys in every MAC.

use super::replay::{READ_HEADER, READ_LEN, Recording, Replay};
use aes::Aes128;
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use core::hint::black_box;
use desfire_core::crypto::ev2::{SV1_LABEL, SV2_LABEL, session_vector};
use desfire_core::crypto::{Random16, mac_t, unpad_iso9797_m2};
use desfire_core::pcd::Transport;

type Block = [u8; 16];

fn encrypt(cipher: &Aes128, block: &mut Block) {
    cipher.encrypt_block(block.into());
}

fn xor(a: &mut Block, b: &Block) {
    *a = (u128::from_ne_bytes(*a) ^ u128::from_ne_bytes(*b)).to_ne_bytes();
}

/// `x * 2` in GF(2^128), SP 800-38B §6.1.
fn dbl(b: &Block) -> Block {
    let v = u128::from_be_bytes(*b);
    ((v << 1) ^ if v >> 127 == 1 { 0x87 } else { 0 }).to_be_bytes()
}

/// A CMAC key: the expanded cipher and its two subkeys (SP 800-38B).
struct CmacKey<'c, const SUBKEYS_PER_MAC: bool> {
    cipher: &'c Aes128,
    k1: Block,
    k2: Block,
}

impl<'c, const SUBKEYS_PER_MAC: bool> CmacKey<'c, SUBKEYS_PER_MAC> {
    fn new(cipher: &'c Aes128) -> Self {
        let mut l = [0u8; 16];
        encrypt(cipher, &mut l);
        let k1 = dbl(&l);
        let k2 = dbl(&k1);
        Self { cipher, k1, k2 }
    }

    /// CMAC over the concatenation of `parts` (at most [`MAX_MAC_INPUT`] bytes), gathered into
    /// one stack buffer and processed a block at a time.
    fn mac(&self, parts: &[&[u8]]) -> Option<Block> {
        let fresh;
        let keys = if SUBKEYS_PER_MAC {
            fresh = Self::new(self.cipher);
            &fresh
        } else {
            self
        };
        let mut msg = [0u8; MAX_MAC_INPUT];
        let mut len = 0;
        for part in parts {
            msg.get_mut(len..len + part.len())?.copy_from_slice(part);
            len += part.len();
        }
        // All blocks but the last go through plain CBC-MAC.
        let head = len.saturating_sub(1) / 16 * 16;
        let mut x = [0u8; 16];
        for chunk in msg[..head].chunks_exact(16) {
            xor(&mut x, chunk.try_into().ok()?);
            encrypt(self.cipher, &mut x);
        }
        let tail = &msg[head..len];
        let mut last = [0u8; 16];
        last[..tail.len()].copy_from_slice(tail);
        if tail.len() == 16 {
            xor(&mut last, &keys.k1);
        } else {
            last[tail.len()] = 0x80;
            xor(&mut last, &keys.k2);
        }
        xor(&mut x, &last);
        encrypt(self.cipher, &mut x);
        Some(x)
    }
}

/// The longest MAC input of the transaction: `RC || CmdCtr || TI || 176 bytes`, rounded up.
const MAX_MAC_INPUT: usize = 192;

/// AES-CBC decryption in place: all blocks in one call (the backend pipelines them), then the
/// chaining XORs.
fn cbc_decrypt(cipher: &Aes128, iv: &Block, buf: &mut [u8]) -> Option<()> {
    let mut copy = [0u8; MAX_MAC_INPUT];
    let ct = copy.get_mut(..buf.len())?;
    ct.copy_from_slice(buf);
    let (blocks, rest) = aes::Block::slice_as_chunks_mut(buf);
    if !rest.is_empty() {
        return None;
    }
    cipher.decrypt_blocks(blocks);
    let mut prev = iv;
    for (p, c) in buf.chunks_exact_mut(16).zip(ct.chunks_exact(16)) {
        xor(p.try_into().ok()?, prev);
        prev = c.try_into().ok()?;
    }
    Some(())
}

/// Constant-time equality of two byte strings of equal length.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

fn rotl(b: &Block) -> Block {
    let mut r = *b;
    r.rotate_left(1);
    r
}

/// One exchange: emits `90 INS 00 00 [Lc data] 00`, returns the response data and SW2.
fn exchange<'b>(
    t: &mut Replay<'_, '_>,
    ins: u8,
    data: &[u8],
    capdu: &mut [u8; 64],
    rapdu: &'b mut [u8; 258],
) -> Option<(&'b mut [u8], u8)> {
    capdu[..4].copy_from_slice(&[0x90, ins, 0, 0]);
    let mut len = 4;
    if !data.is_empty() {
        capdu[4] = data.len() as u8;
        capdu.get_mut(5..5 + data.len())?.copy_from_slice(data);
        len = 5 + data.len();
    }
    capdu[len] = 0;
    let n = t.transceive(&capdu[..=len], rapdu).ok()?;
    let (body, sw) = rapdu
        .get_mut(..n)?
        .split_at_mut_checked(n.checked_sub(2)?)?;
    (sw[0] == 0x91).then_some((body, sw[1]))
}

/// The AuthenticateEV2First/NonFirst handshake from the challenge on; returns
/// `(TI or None, SesAuthENCKey, SesAuthMACKey)`.
#[allow(clippy::too_many_arguments)]
fn handshake<const REEXPAND: bool, const SUBKEYS_PER_MAC: bool>(
    t: &mut Replay<'_, '_>,
    first: bool,
    key_no: u8,
    key: &[u8; 16],
    rnd_a: &Block,
    capdu: &mut [u8; 64],
    rapdu: &mut [u8; 258],
) -> Option<(Option<[u8; 4]>, Block, Block)> {
    let kx = Aes128::new(key.into());
    let (ins, cmd): (u8, &[u8]) = if first {
        (0x71, &[key_no, 0])
    } else {
        (0x77, &[key_no])
    };
    let (body, sw) = exchange(t, ins, cmd, capdu, rapdu)?;
    let mut rnd_b: Block = (&*body).try_into().ok().filter(|_| sw == 0xAF)?;
    kx.decrypt_block((&mut rnd_b).into());

    // E(K, RndA || RndB'), CBC with a zero IV.
    let mut token = [0u8; 32];
    let (t0, t1) = token.split_at_mut(16);
    let (t0, t1): (&mut Block, &mut Block) = (t0.try_into().ok()?, t1.try_into().ok()?);
    *t0 = *rnd_a;
    encrypt(&kx, t0);
    *t1 = rotl(&rnd_b);
    xor(t1, t0);
    encrypt(&kx, t1);
    let kx2;
    let kx = if REEXPAND {
        kx2 = Aes128::new(key.into());
        &kx2
    } else {
        &kx
    };
    let (body, sw) = exchange(t, 0xAF, &token, capdu, rapdu)?;
    token.fill(0);
    black_box(&token);
    if sw != 0x00 || body.len() != if first { 32 } else { 16 } {
        return None;
    }
    cbc_decrypt(kx, &[0; 16], body)?;
    let (ti, rnd_a_rot) = if first {
        (Some(body[..4].try_into().ok()?), &body[4..20])
    } else {
        (None, &body[..16])
    };
    let ok = ct_eq(rnd_a_rot, &rotl(rnd_a));
    body.fill(0);
    black_box(&body);
    if !ok {
        return None;
    }

    let kx3;
    let kx = if REEXPAND {
        kx3 = Aes128::new(key.into());
        &kx3
    } else {
        kx
    };
    let (a, b) = (Random16::new(*rnd_a), Random16::new(rnd_b));
    rnd_b.fill(0);
    black_box(&rnd_b);
    let cm = CmacKey::<SUBKEYS_PER_MAC>::new(kx);
    let mut sv1 = session_vector(SV1_LABEL, &a, &b);
    let mut sv2 = session_vector(SV2_LABEL, &a, &b);
    let keys = (ti, cm.mac(&[&sv1])?, cm.mac(&[&sv2])?);
    sv1.fill(0);
    sv2.fill(0);
    black_box((&sv1, &sv2));
    Some(keys)
}

/// An open EV2 channel: expanded session keys (each once), TI, CmdCtr.
struct Channel {
    enc: Aes128,
    mac: Aes128,
    ti: [u8; 4],
    ctr: u16,
}

impl Channel {
    fn new(enc: &Block, mac: &Block, ti: [u8; 4], ctr: u16) -> Self {
        Self {
            enc: Aes128::new(enc.into()),
            mac: Aes128::new(mac.into()),
            ti,
            ctr,
        }
    }

    /// A Full-mode command without data: `INS header MACt`, and the decrypted response data
    /// (MAC verified first, in constant time).
    fn full_read<'b, const SUBKEYS_PER_MAC: bool>(
        &mut self,
        t: &mut Replay<'_, '_>,
        ins: u8,
        header: &[u8],
        capdu: &mut [u8; 64],
        rapdu: &'b mut [u8; 258],
    ) -> Option<&'b [u8]> {
        let mac_key = CmacKey::<SUBKEYS_PER_MAC>::new(&self.mac);
        let ctr = self.ctr.to_le_bytes();
        let mut cmd = [0u8; 32];
        cmd[..header.len()].copy_from_slice(header);
        let mact = mac_t(&mac_key.mac(&[&[ins], &ctr, &self.ti, header])?);
        cmd[header.len()..header.len() + 8].copy_from_slice(&mact);
        let (body, sw) = exchange(t, ins, &cmd[..header.len() + 8], capdu, rapdu)?;
        let next = self.ctr.checked_add(1)?;
        let split = body.len().checked_sub(8).filter(|_| sw == 0x00)?;
        let (ct, mac) = body.split_at_mut(split);
        let expect = mac_t(&mac_key.mac(&[&[sw], &next.to_le_bytes(), &self.ti, ct])?);
        if !ct_eq(&expect, mac) || ct.is_empty() || ct.len() % 16 != 0 {
            return None;
        }
        let n = next.to_le_bytes();
        let t4 = self.ti;
        let mut iv = [
            0x5A, 0xA5, t4[0], t4[1], t4[2], t4[3], n[0], n[1], 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        encrypt(&self.enc, &mut iv);
        cbc_decrypt(&self.enc, &iv, ct)?;
        let len = unpad_iso9797_m2(ct).ok()?;
        self.ctr = next;
        Some(&ct[..len])
    }
}

/// The benchmark transaction, lean. `Some(())` when UID and data match.
#[inline(never)]
pub fn run_lean<const REEXPAND: bool, const SUBKEYS_PER_MAC: bool>(
    rec: &Recording<'_>,
) -> Option<()> {
    let mut t = Replay::new(rec);
    let mut capdu = [0u8; 64];
    let mut rapdu = [0u8; 258];

    let (ti, enc, mac) = handshake::<REEXPAND, SUBKEYS_PER_MAC>(
        &mut t,
        true,
        1,
        &rec.key1,
        &rec.rnd_a[0],
        &mut capdu,
        &mut rapdu,
    )?;
    let ti = ti?;
    let mut ch = Channel::new(&enc, &mac, ti, 0);
    let uid = ch.full_read::<SUBKEYS_PER_MAC>(&mut t, 0x51, &[], &mut capdu, &mut rapdu)?;
    if uid != rec.uid {
        return None;
    }

    let (_, enc, mac) = handshake::<REEXPAND, SUBKEYS_PER_MAC>(
        &mut t,
        false,
        2,
        &rec.key2,
        &rec.rnd_a[1],
        &mut capdu,
        &mut rapdu,
    )?;
    let mut ch = Channel::new(&enc, &mac, ti, ch.ctr);
    let data =
        ch.full_read::<SUBKEYS_PER_MAC>(&mut t, 0xBD, &READ_HEADER, &mut capdu, &mut rapdu)?;
    (data.len() == READ_LEN && data == rec.data).then_some(())
}
