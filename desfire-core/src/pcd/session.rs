//! An authenticated EV2 session on the reader side: seals commands and opens responses
//! (NT4H2421Gx §9.1; AN12196 §5.3 and §6.8).

use super::command::{Command, FrameEnds, Response};
use super::error::{Error, ProtocolError};
pub use crate::crypto::ev2::Capabilities;
use crate::crypto::ev2::{CmdCtr, MessagingError, SecureChannel, SessionKeys, Ti};
use crate::wire::{KeyNo, Status};

/// An authenticated session. Created by [`super::auth`]; consumed by any failure.
#[derive(Debug, Clone)]
pub struct Session {
    channel: SecureChannel,
    key_no: KeyNo,
    caps: Capabilities,
}

impl Session {
    pub(crate) fn new(channel: SecureChannel, key_no: KeyNo, caps: Capabilities) -> Self {
        Self {
            channel,
            key_no,
            caps,
        }
    }

    /// Resumes a session whose keys, TI and counter are known from elsewhere: a trace excerpt
    /// that starts after the authentication, or a test. A live reader gets its sessions from
    /// [`super::auth`] only.
    pub fn resume(keys: &SessionKeys, ti: Ti, cmd_ctr: CmdCtr, key_no: KeyNo) -> Self {
        Self::new(
            SecureChannel::new(keys, ti, cmd_ctr),
            key_no,
            Capabilities::default(),
        )
    }

    /// The key this session was authenticated with.
    pub fn key_no(&self) -> KeyNo {
        self.key_no
    }

    /// Transaction identifier.
    pub fn ti(&self) -> Ti {
        self.channel.ti
    }

    /// The counter the next command will use.
    pub fn cmd_ctr(&self) -> CmdCtr {
        self.channel.cmd_ctr
    }

    /// Capabilities of the first authentication of this transaction.
    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }

    #[cfg(test)]
    pub(crate) fn channel(&self) -> &SecureChannel {
        &self.channel
    }

    /// Writes the command body (everything after INS: header, data, MACt) for `cmd` into `out`.
    ///
    /// In Full mode the data is padded and encrypted with `IVc`, and the MAC covers the
    /// ciphertext (encrypt-then-MAC). Data-less commands carry no ciphertext block.
    pub fn seal_command(&self, cmd: &Command<'_>, out: &mut [u8]) -> Result<usize, Error> {
        self.channel
            .seal_command(cmd.ins.0, &cmd.header, cmd.data.as_bytes(), cmd.mode, out)
            .map_err(messaging_error)
    }

    /// Checks and opens the response to `cmd`: the whole response data (all frames), in place.
    ///
    /// The MAC is verified in constant time before anything is decrypted or parsed. Any error
    /// status, MAC mismatch or malformed frame consumes the session (the card has dropped its
    /// authentication too). On success the counter advances and the session comes back, unless
    /// the command ended it ([`Command::ends_session`]).
    pub fn open_response<'b>(
        mut self,
        cmd: &Command<'_>,
        status: Status,
        body: &'b mut [u8],
        frame_ends: FrameEnds,
    ) -> Result<(Option<Self>, Response<'b>), Error> {
        let (continues, resp) = self.open_response_in_place(cmd, status, body, frame_ends)?;
        Ok((continues.then_some(self), resp))
    }

    /// [`Session::open_response`] without moving the session: `true` when it continues. On an
    /// error or `false` the caller must drop the session (it is left half-advanced), as
    /// [`super::Desfire`] does; it keeps its session in place so that no copy of the keys is
    /// made per command.
    pub(crate) fn open_response_in_place<'b>(
        &mut self,
        cmd: &Command<'_>,
        status: Status,
        body: &'b mut [u8],
        frame_ends: FrameEnds,
    ) -> Result<(bool, Response<'b>), Error> {
        if !crate::wire::completes(cmd.ins, status) {
            net_debug!("card status {}: session dropped", status);
            return Err(Error::Card(status));
        }
        let next = self
            .channel
            .cmd_ctr
            .next()
            .ok_or(ProtocolError::CounterExhausted)?;
        if cmd.ends_session {
            // A bare status: there is no MAC, and the response says so.
            return if body.is_empty() {
                Ok((false, Response::verified(&[], status, frame_ends)))
            } else {
                Err(ProtocolError::UnexpectedAdditionalFrame.into())
            };
        }
        let opened = self
            .channel
            .open_response(status.0, body, cmd.mode)
            .map_err(messaging_error)?;
        let body: &'b [u8] = body;
        let data = body.get(..opened.len).ok_or(ProtocolError::BadPadding)?;
        self.channel.cmd_ctr = next;
        let resp = Response::verified(data, status, frame_ends);
        Ok((
            true,
            match opened.mac {
                Some(proof) => resp.with_mac(proof),
                None => resp,
            },
        ))
    }
}

/// The reader's errors for a secure-messaging failure.
fn messaging_error(e: MessagingError) -> Error {
    match e {
        MessagingError::CounterExhausted => ProtocolError::CounterExhausted.into(),
        MessagingError::BufferTooSmall => crate::wire::Error::BufferTooSmall.into(),
        MessagingError::MissingMac => ProtocolError::MissingMac.into(),
        MessagingError::MacMismatch => ProtocolError::ResponseMacMismatch.into(),
        MessagingError::NotBlockAligned => crate::wire::Error::BadLength.into(),
        MessagingError::BadPadding => ProtocolError::BadPadding.into(),
    }
}

/// Opens a response received without a session. Refuses commands that need one.
pub fn open_unauthenticated<'b>(
    cmd: &Command<'_>,
    status: Status,
    body: &'b [u8],
    frame_ends: FrameEnds,
) -> Result<Response<'b>, Error> {
    if cmd.needs_session {
        return Err(ProtocolError::NotAuthenticated.into());
    }
    if !crate::wire::completes(cmd.ins, status) {
        return Err(Error::Card(status));
    }
    Ok(Response::verified(body, status, frame_ends))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ev2::{Direction, SessionKeys};
    use crate::crypto::{AesKey, cbc_encrypt};
    use crate::pcd::CommandData;
    use crate::wire::CommMode;
    use crate::wire::{Ins, emit_capdu};
    use hex_literal::hex;

    fn session(enc: [u8; 16], mac: [u8; 16], ti: [u8; 4], ctr: u16) -> Session {
        let keys = SessionKeys {
            enc: AesKey::new(enc),
            mac: AesKey::new(mac),
        };
        Session::new(
            SecureChannel::new(&keys, Ti(ti), CmdCtr(ctr)),
            KeyNo::MASTER,
            Capabilities::default(),
        )
    }

    /// Source: AN12196 Rev. 1.8 §5.3 Table 8 (EV2-MAC-GETFILESETTINGS-AN12196-T8).
    #[test]
    fn an12196_t8_mac_mode() {
        let s = session(
            [0; 16],
            hex!("8248134A386E86EB7FAF54A52E536CB6"),
            hex!("7A21085E"),
            0,
        );
        let cmd = Command::new(Ins::GET_FILE_SETTINGS, &[0x02], CommMode::Mac).unwrap();
        let mut body = [0u8; 64];
        let n = s.seal_command(&cmd, &mut body).unwrap();
        let mut apdu = [0u8; 64];
        let m = emit_capdu(cmd.ins, &body[..n], &mut apdu).unwrap();
        assert_eq!(&apdu[..m], hex!("90F5000009026597A457C8CD442C00"));

        let mut resp = hex!("0040EEEE000100D1FE001F00004400004400002000006A00002A474282E7A47986");
        let (s, r) = s
            .open_response(&cmd, Status::OPERATION_OK, &mut resp, FrameEnds::new())
            .unwrap();
        assert_eq!(
            r.data(),
            hex!("0040EEEE000100D1FE001F00004400004400002000006A0000")
        );
        assert!(r.mac_verified());
        assert_eq!(s.unwrap().cmd_ctr(), CmdCtr(1));
    }

    /// ChangeKey of the authenticated key is answered by a bare `9100` (AN12196 §6.13 Table 27):
    /// the session ends and the response is not MAC-verified, since there is no MAC.
    #[test]
    fn a_bare_status_that_ends_the_session_is_not_mac_verified() {
        let s = session([1; 16], [2; 16], [3; 4], 7);
        let cmd = Command::new(Ins::CHANGE_KEY, &[0x00], CommMode::Full)
            .unwrap()
            .changing_authenticated_key()
            .unwrap();
        let (next, r) = s
            .clone()
            .open_response(&cmd, Status::OPERATION_OK, &mut [], FrameEnds::new())
            .unwrap();
        assert!(next.is_none());
        assert!(r.data().is_empty());
        assert!(!r.mac_verified());
        // Anything after the status is refused: there is nothing to verify it with.
        assert_eq!(
            s.open_response(&cmd, Status::OPERATION_OK, &mut [0; 8], FrameEnds::new())
                .unwrap_err(),
            Error::Protocol(ProtocolError::UnexpectedAdditionalFrame)
        );
        // Plain mode inside a session: checked as its mode says, but no MAC.
        let plain = Command::new(Ins::GET_VERSION, &[], CommMode::Plain).unwrap();
        let s = session([1; 16], [2; 16], [3; 4], 7);
        let mut body = [0x04];
        let (_, r) = s
            .open_response(&plain, Status::OPERATION_OK, &mut body, FrameEnds::new())
            .unwrap();
        assert!(!r.mac_verified());
    }

    /// Source: AN12196 Rev. 1.8 §6.8.2 Table 18 (EV2-FULL-WRITEDATA-NDEF-AN12196-T18).
    #[test]
    fn an12196_t18_full_mode() {
        let s = session(
            hex!("1309C877509E5A215007FF0ED19CA564"),
            hex!("4C6626F5E72EA694202139295C7A7FC7"),
            hex!("9D00C4DF"),
            0,
        );
        let mut data = [0u8; 128];
        data[..83].copy_from_slice(&hex!(
            "0051D1014D550463686F6F73652E75726C2E636F6D2F6E7461673432343F653D"
            "303030303030303030303030303030303030303030303030303030303030303026633D"
            "30303030303030303030303030303030"
        ));
        let cmd = Command::new(Ins::WRITE_DATA_ISO, &hex!("02000000800000"), CommMode::Full)
            .unwrap()
            .with_data(CommandData::Borrowed(&data));
        let mut body = [0u8; 256];
        let n = s.seal_command(&cmd, &mut body).unwrap();
        let mut apdu = [0u8; 300];
        let m = emit_capdu(cmd.ins, &body[..n], &mut apdu).unwrap();
        assert_eq!(
            &apdu[..m],
            hex!(
                "908D00009F02000000800000421C73A27D827658AF481FDFF20A5025B559D0E3AA21E58D347F343CFFC768BFE596C706BC00F2176781D4B0242642A0FF5A42C461AAF894D9A1284B8C76BCFA658ACD40555D362E08DB15CF421B51283F9064BCBE20E96CAE545B407C9D651A3315B27373772E5DA2367D2064AE054AF996C6F1F669170FA88CE8C4E3A4A7BBBEF0FD971FF532C3A802AF745660F2B4D1D9A8499661EBF300"
            )
        );
        let mut resp = hex!("FC222E5F7A542452");
        let (s, r) = s
            .open_response(&cmd, Status::OPERATION_OK, &mut resp, FrameEnds::new())
            .unwrap();
        assert!(r.data().is_empty());
        assert_eq!(s.unwrap().cmd_ctr(), CmdCtr(1));
    }

    #[test]
    fn bad_mac_error_status_and_exhaustion_consume_the_session() {
        let s = || session([1; 16], [2; 16], [3; 4], 7);
        let cmd = Command::new(Ins::GET_FILE_SETTINGS, &[0x02], CommMode::Mac).unwrap();
        let mut resp = [0u8; 12];
        assert_eq!(
            s().open_response(&cmd, Status::OPERATION_OK, &mut resp, FrameEnds::new())
                .unwrap_err(),
            Error::Protocol(ProtocolError::ResponseMacMismatch)
        );
        assert_eq!(
            s().open_response(&cmd, Status::OPERATION_OK, &mut resp[..7], FrameEnds::new())
                .unwrap_err(),
            Error::Protocol(ProtocolError::MissingMac)
        );
        assert_eq!(
            s().open_response(&cmd, Status::PERMISSION_DENIED, &mut [], FrameEnds::new())
                .unwrap_err(),
            Error::Card(Status::PERMISSION_DENIED)
        );
        let full = Command::new(Ins::READ_DATA, &[0; 7], CommMode::Full).unwrap();
        // Ciphertext that is not block aligned, behind a MAC that verifies: still refused.
        let s7 = s();
        let mut body = [0u8; 13];
        let mac = s7.channel.response_mac(0, &body[..5]).unwrap();
        body[5..].copy_from_slice(&mac);
        assert_eq!(
            s7.open_response(&full, Status::OPERATION_OK, &mut body, FrameEnds::new())
                .unwrap_err(),
            Error::Wire(crate::wire::Error::BadLength)
        );
        let exhausted = session([1; 16], [2; 16], [3; 4], 0xFFFF);
        let mut out = [0u8; 32];
        assert_eq!(
            exhausted.seal_command(&cmd, &mut out).unwrap_err(),
            Error::Protocol(ProtocolError::CounterExhausted)
        );
    }

    #[test]
    fn full_mode_round_trip_with_nonzero_keys() {
        // The card's side of a Full-mode read, computed with the same channel primitives.
        let s = session(
            hex!("00112233445566778899AABBCCDDEEFF"),
            hex!("FFEEDDCCBBAA99887766554433221100"),
            hex!("01020304"),
            41,
        );
        let plain = *b"a credential of 20 b";
        let mut body = [0u8; 40];
        body[..20].copy_from_slice(&plain);
        let padded = crate::crypto::pad_iso9797_m2(&mut body, 20).unwrap();
        let iv = s.channel.iv(Direction::Response).unwrap();
        cbc_encrypt(s.channel.enc_cipher(), &iv, &mut body[..padded]).unwrap();
        let mac = s.channel.response_mac(0, &body[..padded]).unwrap();
        body[padded..padded + 8].copy_from_slice(&mac);
        let cmd = Command::new(Ins::READ_DATA, &hex!("01 000000 140000"), CommMode::Full).unwrap();
        let (next, r) = s
            .open_response(&cmd, Status::OPERATION_OK, &mut body, FrameEnds::new())
            .unwrap();
        assert_eq!(r.data(), plain);
        assert_eq!(next.unwrap().cmd_ctr(), CmdCtr(42));
    }
}
