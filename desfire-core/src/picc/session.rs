//! The card's side of AuthenticateEV2First/NonFirst and of EV2 secure messaging (NT4H2421Gx
//! §9.1 and §9.2): the card's halves of [`crate::crypto::ev2::handshake`] and of
//! [`SecureChannel`]'s messaging, with the card's statuses.
//!
//! ```text
//! 71|77 KeyNo … ─▶ challenge(): E(K, RndB) 91AF ─▶ AF E(K, RndA‖RndB') ─▶ confirm():
//!   First: E(K, TI‖RndA'‖PDcap2‖PCDcap2) 9100, CmdCtr 0;  NonFirst: E(K, RndA') 9100, TI/CmdCtr kept
//! ```

use crate::crypto::ev2::handshake::{self, Capabilities, FirstConfirmation, HandshakeError};
use crate::crypto::ev2::{CmdCtr, MessagingError, SecureChannel, SessionKeys, Ti};
use crate::crypto::{AesKey, Random16, aes};
use crate::wire::{CommMode, Status, Writer};
use zeroize::Zeroize;

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
        let challenge = handshake::seal_challenge(&aes(&key), &rnd_b);
        out.put(&challenge).map_err(|_| Status::LENGTH_ERROR)?;
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
        let cipher = aes(&self.key);
        let rnd_a = handshake::open_answer(&cipher, data, &self.rnd_b).map_err(|e| match e {
            HandshakeError::BadLength => Status::LENGTH_ERROR,
            HandshakeError::RandomMismatch => Status::AUTHENTICATION_ERROR,
        })?;
        let keys = SessionKeys::derive_with(&cipher, &rnd_a, &self.rnd_b);
        let (ti, ctr, first) = match self.resume {
            None => {
                let mut ti = [0u8; 4];
                rng.fill_bytes(&mut ti);
                let first = FirstConfirmation {
                    ti: Ti(ti),
                    caps: Capabilities {
                        pd_cap2: [0; 6],
                        pcd_cap2: self.pcd_cap2,
                    },
                };
                (Ti(ti), CmdCtr(0), Some(first))
            }
            Some((ti, ctr)) => (ti, ctr, None),
        };
        let mut reply = [0u8; 32];
        let len = handshake::seal_confirmation(&cipher, &rnd_a, first.as_ref(), &mut reply);
        let put = out.put(reply.get(..len).unwrap_or(&[]));
        reply.zeroize();
        put.map_err(|_| Status::LENGTH_ERROR)?;
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
        self.channel
            .open_command(ins, body, header_len, mode)
            .map_err(status_of)
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
        let sealed = self
            .channel
            .seal_response(rc.0, buf, len, mode)
            .map_err(status_of)?;
        self.channel.cmd_ctr = next;
        Ok(sealed)
    }
}

/// The card's status for a secure-messaging failure.
fn status_of(e: MessagingError) -> Status {
    match e {
        MessagingError::CounterExhausted => Status::COMMAND_ABORTED,
        MessagingError::MacMismatch | MessagingError::BadPadding => Status::INTEGRITY_ERROR,
        MessagingError::BufferTooSmall
        | MessagingError::MissingMac
        | MessagingError::NotBlockAligned => Status::LENGTH_ERROR,
    }
}
