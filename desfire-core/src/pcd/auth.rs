//! AuthenticateEV2First and AuthenticateEV2NonFirst, reader side (NT4H2421Gx §9.2.5 and §9.2.6;
//! AN12196 §6.6 Table 14).
//!
//! One type per state; each transition consumes the previous state:
//!
//! ```text
//! Ev2First::new / Ev2NonFirst::new ──command()──▶ 90 71|77 …
//!   └─on_challenge(E(K,RndB), RndA)──▶ AwaitingConfirmation ──command()──▶ 90 AF … E(K, RndA‖RndB')
//!        └─on_confirmation(E(K, TI‖RndA'‖caps) | E(K,RndA'))──▶ Session
//! ```
//!
//! The cryptography of each step is [`crate::crypto::ev2::handshake`], shared with the card and
//! the trace decoder; this module adds the APDUs, the states and the error mapping.

use super::error::{Error, ProtocolError};
use super::session::{Capabilities, Session};
use crate::crypto::ev2::handshake::{self, HandshakeError};
use crate::crypto::ev2::{CmdCtr, SecureChannel, SessionKeys, Ti};
use crate::crypto::{Aes128, AesKey, Random16, aes};
use crate::wire::{Ins, KeyNo, RApdu, Status, emit_capdu};
use zeroize::Zeroize;

/// What the second half of the handshake will return and what the session inherits.
#[derive(Debug, Clone)]
enum Kind {
    First,
    NonFirst {
        ti: Ti,
        cmd_ctr: CmdCtr,
        caps: Capabilities,
    },
}

/// The first step of AuthenticateEV2First: the command to send.
#[derive(Debug)]
pub struct Ev2First {
    key_no: KeyNo,
    key: AesKey,
    pcd_cap2: heapless::Vec<u8, 6>,
}

impl Ev2First {
    /// Starts a first authentication with `key` as key number `key_no`, without PCDcap2.
    pub fn new(key_no: KeyNo, key: AesKey) -> Self {
        Self {
            key_no,
            key,
            pcd_cap2: heapless::Vec::new(),
        }
    }

    /// Offers PCD capabilities (up to 6 bytes; `LenCap` follows their length).
    pub fn with_pcd_cap2(mut self, pcd_cap2: &[u8]) -> Result<Self, crate::wire::Error> {
        self.pcd_cap2 =
            heapless::Vec::from_slice(pcd_cap2).map_err(|_| crate::wire::Error::BadLength)?;
        Ok(self)
    }

    /// `90 71 00 00 Lc KeyNo LenCap [PCDcap2] 00`.
    pub fn command(&self, out: &mut [u8]) -> Result<usize, crate::wire::Error> {
        let mut data = [0u8; 8];
        let len = 2usize.saturating_add(self.pcd_cap2.len());
        let (head, caps) = data.split_at_mut(2);
        head.copy_from_slice(&[self.key_no.value(), self.pcd_cap2.len() as u8]);
        caps.get_mut(..self.pcd_cap2.len())
            .ok_or(crate::wire::Error::BadLength)?
            .copy_from_slice(&self.pcd_cap2);
        emit_capdu(
            Ins::AUTHENTICATE_EV2_FIRST,
            data.get(..len).unwrap_or(&[]),
            out,
        )
    }

    /// Takes the card's challenge `E(K, RndB) 91AF` and our fresh RndA.
    pub fn on_challenge(
        self,
        rapdu: &[u8],
        rnd_a: Random16,
    ) -> Result<AwaitingConfirmation, Error> {
        let Self { key_no, key, .. } = self;
        challenge(key_no, key, Kind::First, rapdu, rnd_a)
    }
}

/// The first step of AuthenticateEV2NonFirst, within a transaction: TI and CmdCtr carry over.
#[derive(Debug)]
pub struct Ev2NonFirst {
    key_no: KeyNo,
    key: AesKey,
    ti: Ti,
    cmd_ctr: CmdCtr,
    caps: Capabilities,
}

impl Ev2NonFirst {
    /// Starts a non-first authentication; `current` is consumed (the card ends it too).
    pub fn new(current: Session, key_no: KeyNo, key: AesKey) -> Self {
        Self::continuing(&current, key_no, key)
    }

    /// [`Ev2NonFirst::new`] that leaves ending `current` to the caller (the driver drops its
    /// session in place, without a copy of its expanded keys).
    pub(crate) fn continuing(current: &Session, key_no: KeyNo, key: AesKey) -> Self {
        Self {
            key_no,
            key,
            ti: current.ti(),
            cmd_ctr: current.cmd_ctr(),
            caps: current.capabilities(),
        }
    }

    /// `90 77 00 00 01 KeyNo 00`.
    pub fn command(&self, out: &mut [u8]) -> Result<usize, crate::wire::Error> {
        emit_capdu(Ins::AUTHENTICATE_EV2_NON_FIRST, &[self.key_no.value()], out)
    }

    /// Takes the card's challenge `E(K, RndB) 91AF` and our fresh RndA.
    pub fn on_challenge(
        self,
        rapdu: &[u8],
        rnd_a: Random16,
    ) -> Result<AwaitingConfirmation, Error> {
        let Self {
            key_no,
            key,
            ti,
            cmd_ctr,
            caps,
        } = self;
        challenge(
            key_no,
            key,
            Kind::NonFirst { ti, cmd_ctr, caps },
            rapdu,
            rnd_a,
        )
    }
}

fn challenge(
    key_no: KeyNo,
    key: AesKey,
    kind: Kind,
    rapdu: &[u8],
    rnd_a: Random16,
) -> Result<AwaitingConfirmation, Error> {
    let r = RApdu::parse(rapdu)?;
    let status = r.status()?;
    if status != Status::ADDITIONAL_FRAME {
        return Err(Error::Card(status));
    }
    let challenge: &[u8; 16] = r
        .data
        .try_into()
        .map_err(|_| crate::wire::Error::BadLength)?;
    let cipher = aes(&key);
    let rnd_b = handshake::open_challenge(&cipher, challenge);
    let token = handshake::seal_answer(&cipher, &rnd_a, &rnd_b);
    Ok(AwaitingConfirmation {
        key_no,
        cipher,
        kind,
        rnd_a,
        rnd_b,
        token,
    })
}

/// The second step: the reader's answer is ready, the card's confirmation is awaited.
pub struct AwaitingConfirmation {
    key_no: KeyNo,
    /// The authentication key, expanded once for the whole handshake (wiped on drop).
    cipher: Aes128,
    kind: Kind,
    rnd_a: Random16,
    rnd_b: Random16,
    token: [u8; 32],
}

impl core::fmt::Debug for AwaitingConfirmation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AwaitingConfirmation")
            .field("key_no", &self.key_no)
            .finish_non_exhaustive()
    }
}

impl Drop for AwaitingConfirmation {
    fn drop(&mut self) {
        self.token.zeroize();
    }
}

impl AwaitingConfirmation {
    /// `90 AF 00 00 20 E(K, RndA || RndB') 00`.
    pub fn command(&self, out: &mut [u8]) -> Result<usize, crate::wire::Error> {
        emit_capdu(Ins::ADDITIONAL_FRAME, &self.token, out)
    }

    /// Checks the card's confirmation and, if RndA' matches, opens the session.
    ///
    /// First: `E(K, TI || RndA' || PDcap2 || PCDcap2) 9100`; NonFirst: `E(K, RndA') 9100`.
    pub fn on_confirmation(self, rapdu: &[u8]) -> Result<Session, Error> {
        let (keys, ti, cmd_ctr, caps) = self.confirm(rapdu)?;
        Ok(Session::new(
            SecureChannel::new(&keys, ti, cmd_ctr),
            self.key_no,
            caps,
        ))
    }

    /// [`AwaitingConfirmation::on_confirmation`] that builds the session in `slot` (the
    /// driver's own): the expanded session keys are not copied through a return value.
    /// `slot` is left as it was on an error.
    pub(crate) fn confirm_into(
        self,
        rapdu: &[u8],
        slot: &mut Option<Session>,
    ) -> Result<(), Error> {
        let (keys, ti, cmd_ctr, caps) = self.confirm(rapdu)?;
        *slot = Some(Session::new(
            SecureChannel::new(&keys, ti, cmd_ctr),
            self.key_no,
            caps,
        ));
        Ok(())
    }

    /// Checks the confirmation; the session keys and what the session carries on.
    fn confirm(&self, rapdu: &[u8]) -> Result<(SessionKeys, Ti, CmdCtr, Capabilities), Error> {
        let r = RApdu::parse(rapdu)?;
        let status = r.status()?;
        if status != Status::OPERATION_OK {
            return Err(Error::Card(status));
        }
        let first = matches!(self.kind, Kind::First);
        let confirmed = handshake::open_confirmation(&self.cipher, r.data, first, &self.rnd_a)
            .map_err(|e| match e {
                HandshakeError::BadLength => Error::from(crate::wire::Error::BadLength),
                HandshakeError::RandomMismatch => ProtocolError::RndAMismatch.into(),
            })?;
        let keys = SessionKeys::derive_with(&self.cipher, &self.rnd_a, &self.rnd_b);
        let (ti, cmd_ctr, caps) = match (&self.kind, confirmed) {
            (Kind::First, Some(c)) => (c.ti, CmdCtr(0), c.caps),
            (Kind::NonFirst { ti, cmd_ctr, caps }, _) => (*ti, *cmd_ctr, *caps),
            (Kind::First, None) => return Err(crate::wire::Error::BadLength.into()),
        };
        net_debug!(
            "EV2 authentication with key {} succeeded",
            self.key_no.value()
        );
        Ok((keys, ti, cmd_ctr, caps))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    // Source: AN12196 Rev. 1.8 §6.6 Table 14 (EV2-AUTHFIRST-AN12196-T14).
    #[test]
    fn an12196_t14_full_handshake() {
        let mut buf = [0u8; 64];
        let auth = Ev2First::new(KeyNo::MASTER, AesKey::zero());
        let n = auth.command(&mut buf).unwrap();
        assert_eq!(&buf[..n], hex!("9071000002000000"));
        let rnd_a = Random16::new(hex!("13C5DB8A5930439FC3DEF9A4C675360F"));
        let next = auth
            .on_challenge(&hex!("A04C124213C186F22399D33AC2A3021591AF"), rnd_a)
            .unwrap();
        let n = next.command(&mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            hex!("90AF00002035C3E05A752E0144BAC0DE51C1F22C56B34408A23D8AEA266CAB947EA8E0118D00")
        );
        let session = next
            .on_confirmation(&hex!(
                "3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F081206639100"
            ))
            .unwrap();
        assert_eq!(session.ti(), Ti(hex!("9D00C4DF")));
        assert_eq!(session.cmd_ctr(), CmdCtr(0));
        assert_eq!(session.capabilities(), Capabilities::default());
        // Session keys of T14, seen through the IV and MAC they produce (T18 uses these keys).
        assert_eq!(
            session.channel().iv(crate::crypto::ev2::Direction::Command),
            Some(hex!("D2CB7277A17841A06654A48188C1F8F5"))
        );
    }

    #[test]
    fn wrong_rnd_a_is_rejected() {
        // Same card answer, different RndA: the card's RndA' cannot match.
        let auth = Ev2First::new(KeyNo::MASTER, AesKey::zero());
        let next = auth
            .on_challenge(
                &hex!("A04C124213C186F22399D33AC2A3021591AF"),
                Random16::new([0x11; 16]),
            )
            .unwrap();
        let err = next
            .on_confirmation(&hex!(
                "3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F081206639100"
            ))
            .unwrap_err();
        assert_eq!(err, Error::Protocol(ProtocolError::RndAMismatch));
    }

    #[test]
    fn malformed_handshake_frames_are_typed_errors() {
        let rnd = || Random16::new([0x22; 16]);
        let first = || Ev2First::new(KeyNo::MASTER, AesKey::zero());
        // Card refuses: a status, not a challenge.
        assert_eq!(
            first().on_challenge(&hex!("91AE"), rnd()).unwrap_err(),
            Error::Card(Status::AUTHENTICATION_ERROR)
        );
        assert_eq!(
            first().on_challenge(&hex!("9140"), rnd()).unwrap_err(),
            Error::Card(Status::NO_SUCH_KEY)
        );
        // Truncated challenge, overlong challenge, no status word, ISO status word.
        assert_eq!(
            first()
                .on_challenge(&hex!("A04C124213C186F22399D33AC2A30291AF"), rnd())
                .unwrap_err(),
            Error::Wire(crate::wire::Error::BadLength)
        );
        assert_eq!(
            first()
                .on_challenge(&hex!("A04C124213C186F22399D33AC2A302151591AF"), rnd())
                .unwrap_err(),
            Error::Wire(crate::wire::Error::BadLength)
        );
        assert_eq!(
            first().on_challenge(&[0x91], rnd()).unwrap_err(),
            Error::Wire(crate::wire::Error::Truncated)
        );
        assert!(matches!(
            first().on_challenge(&hex!("6A82"), rnd()).unwrap_err(),
            Error::Wire(crate::wire::Error::NotDesfireStatus { .. })
        ));
        // Confirmation truncated or with trailing bytes.
        let next = || {
            first()
                .on_challenge(&hex!("A04C124213C186F22399D33AC2A3021591AF"), rnd())
                .unwrap()
        };
        assert_eq!(
            next()
                .on_confirmation(&hex!("3FA64DB5446D1F349100"))
                .unwrap_err(),
            Error::Wire(crate::wire::Error::BadLength)
        );
        let mut long = [0u8; 50];
        long[48..].copy_from_slice(&hex!("9100"));
        assert_eq!(
            next().on_confirmation(&long).unwrap_err(),
            Error::Wire(crate::wire::Error::BadLength)
        );
        assert_eq!(
            next().on_confirmation(&hex!("91AE")).unwrap_err(),
            Error::Card(Status::AUTHENTICATION_ERROR)
        );
    }
}
