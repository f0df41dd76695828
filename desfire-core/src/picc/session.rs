//! The card's side of AuthenticateEV2First/NonFirst and of EV2 secure messaging (NT4H2421Gx
//! §9.1 and §9.2), with the reader's primitives: [`SecureChannel`], [`SessionKeys`], CBC and
//! ISO/IEC 9797-1 padding.
//!
//! ```text
//! 71|77 KeyNo … ─▶ challenge(): E(K, RndB) 91AF ─▶ AF E(K, RndA‖RndB') ─▶ confirm():
//!   First: E(K, TI‖RndA'‖PDcap2‖PCDcap2) 9100, CmdCtr 0;  NonFirst: E(K, RndA') 9100, TI/CmdCtr kept
//! ```

use crate::crypto::ev2::{CmdCtr, Direction, SecureChannel, SessionKeys, Ti};
use crate::crypto::{
    AesKey, Random16, aes, cbc_decrypt, cbc_encrypt, pad_iso9797_m2, unpad_iso9797_m2,
};
use crate::wire::{CommMode, Status, Writer};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

const ZERO_IV: [u8; 16] = [0; 16];
const MAC_LEN: usize = 8;

/// An authenticated session of the card.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) channel: SecureChannel,
    /// The key the session was opened with (in the selected application).
    pub(crate) key_no: u8,
}

/// A handshake between the challenge and the reader's answer.
#[derive(Debug)]
pub(crate) struct Challenge {
    key_no: u8,
    key: AesKey,
    rnd_b: Random16,
    /// TI and CmdCtr of the session a NonFirst continues; `None` for First.
    resume: Option<(Ti, CmdCtr)>,
    pcd_cap2: [u8; 6],
}

impl Challenge {
    /// Starts a handshake: draws RndB and writes `E(K, RndB)` into `out`.
    pub(crate) fn start<R: rand_core::CryptoRng + ?Sized>(
        key_no: u8,
        key: AesKey,
        resume: Option<(Ti, CmdCtr)>,
        pcd_cap2: [u8; 6],
        rng: &mut R,
        out: &mut Writer<'_>,
    ) -> Result<Self, Status> {
        let rnd_b = Random16::generate(rng);
        let mut block = *rnd_b.expose();
        cbc_encrypt(&aes(&key), &ZERO_IV, &mut block).map_err(|_| Status::LENGTH_ERROR)?;
        out.put(&block).map_err(|_| Status::LENGTH_ERROR)?;
        block.zeroize();
        Ok(Self {
            key_no,
            key,
            rnd_b,
            resume,
            pcd_cap2,
        })
    }

    /// Checks `E(K, RndA ‖ RndB')` and, if RndB' matches, writes the confirmation and opens the
    /// session. Any mismatch is `AUTHENTICATION_ERROR`.
    pub(crate) fn confirm<R: rand_core::CryptoRng + ?Sized>(
        self,
        data: &[u8],
        rng: &mut R,
        out: &mut Writer<'_>,
    ) -> Result<Session, Status> {
        let mut token: [u8; 32] = data.try_into().map_err(|_| Status::LENGTH_ERROR)?;
        let cipher = aes(&self.key);
        cbc_decrypt(&cipher, &ZERO_IV, &mut token).map_err(|_| Status::LENGTH_ERROR)?;
        let (a, b) = token.split_at(16);
        let ok = bool::from(b.ct_eq(&self.rnd_b.rotated_left()));
        let rnd_a = Random16::new(a.try_into().map_err(|_| Status::LENGTH_ERROR)?);
        token.zeroize();
        if !ok {
            return Err(Status::AUTHENTICATION_ERROR);
        }
        let keys = SessionKeys::derive_with(&cipher, &rnd_a, &self.rnd_b);
        let rot = rnd_a.rotated_left();
        let (ti, ctr, len) = match self.resume {
            None => {
                let mut ti = [0u8; 4];
                rng.fill_bytes(&mut ti);
                (Ti(ti), CmdCtr(0), 32)
            }
            Some((ti, ctr)) => (ti, ctr, 16),
        };
        let mut reply = [0u8; 32];
        {
            let mut w = Writer::new(&mut reply);
            let put = |w: &mut Writer<'_>, b: &[u8]| w.put(b).map_err(|_| Status::LENGTH_ERROR);
            if self.resume.is_none() {
                put(&mut w, &ti.0)?;
                put(&mut w, &rot)?;
                put(&mut w, &[0; 6])?;
                put(&mut w, &self.pcd_cap2)?;
            } else {
                put(&mut w, &rot)?;
            }
        }
        let reply_part = reply.get_mut(..len).ok_or(Status::LENGTH_ERROR)?;
        cbc_encrypt(&cipher, &ZERO_IV, reply_part).map_err(|_| Status::LENGTH_ERROR)?;
        out.put(reply_part).map_err(|_| Status::LENGTH_ERROR)?;
        reply.zeroize();
        Ok(Session {
            channel: SecureChannel::new(&keys, ti, ctr),
            key_no: self.key_no,
        })
    }
}

impl Session {
    /// Opens a command body in `mode`, in place: verifies the command MAC (constant time) and in
    /// Full mode decrypts the data after `header_len` bytes. Returns the length of
    /// `header ‖ plain data`. A MAC or padding failure is `INTEGRITY_ERROR`.
    pub(crate) fn open_command(
        &self,
        ins: u8,
        body: &mut [u8],
        mode: CommMode,
        header_len: usize,
    ) -> Result<usize, Status> {
        if self.channel.cmd_ctr.next().is_none() {
            return Err(Status::COMMAND_ABORTED);
        }
        if mode == CommMode::Plain {
            return Ok(body.len());
        }
        let split = body
            .len()
            .checked_sub(MAC_LEN)
            .ok_or(Status::LENGTH_ERROR)?;
        let (payload, mac) = body.split_at_mut(split);
        if !self.channel.command_mac_matches(ins, payload, &[], mac) {
            return Err(Status::INTEGRITY_ERROR);
        }
        if mode == CommMode::Mac {
            return Ok(split);
        }
        let cipher_len = split.checked_sub(header_len).ok_or(Status::LENGTH_ERROR)?;
        if cipher_len == 0 {
            return Ok(split);
        }
        if !cipher_len.is_multiple_of(16) {
            return Err(Status::LENGTH_ERROR);
        }
        let data = payload.get_mut(header_len..).ok_or(Status::LENGTH_ERROR)?;
        let iv = self
            .channel
            .iv(Direction::Command)
            .ok_or(Status::COMMAND_ABORTED)?;
        cbc_decrypt(self.channel.enc_cipher(), &iv, data).map_err(|_| Status::LENGTH_ERROR)?;
        let plain = unpad_iso9797_m2(data).map_err(|_| Status::INTEGRITY_ERROR)?;
        header_len.checked_add(plain).ok_or(Status::LENGTH_ERROR)
    }

    /// Seals the response data (the first `len` bytes of `buf`) in `mode` with status `rc`,
    /// in place, and advances the counter. Returns the sealed length.
    pub(crate) fn seal_response(
        &mut self,
        rc: Status,
        buf: &mut [u8],
        len: usize,
        mode: CommMode,
    ) -> Result<usize, Status> {
        let next = self.channel.cmd_ctr.next().ok_or(Status::COMMAND_ABORTED)?;
        let sealed = match mode {
            CommMode::Plain => len,
            CommMode::Mac | CommMode::Full => {
                let len = if mode == CommMode::Full && len > 0 {
                    let padded = pad_iso9797_m2(buf, len).map_err(|_| Status::LENGTH_ERROR)?;
                    let iv = self
                        .channel
                        .iv(Direction::Response)
                        .ok_or(Status::COMMAND_ABORTED)?;
                    let data = buf.get_mut(..padded).ok_or(Status::LENGTH_ERROR)?;
                    cbc_encrypt(self.channel.enc_cipher(), &iv, data)
                        .map_err(|_| Status::LENGTH_ERROR)?;
                    padded
                } else {
                    len
                };
                let data = buf.get(..len).ok_or(Status::LENGTH_ERROR)?;
                let mac = self
                    .channel
                    .response_mac(rc.0, data)
                    .ok_or(Status::COMMAND_ABORTED)?;
                let end = len.checked_add(MAC_LEN).ok_or(Status::LENGTH_ERROR)?;
                buf.get_mut(len..end)
                    .ok_or(Status::LENGTH_ERROR)?
                    .copy_from_slice(&mac);
                end
            }
        };
        self.channel.cmd_ctr = next;
        Ok(sealed)
    }
}
