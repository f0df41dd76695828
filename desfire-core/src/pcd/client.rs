//! A driver that runs commands over a [`Transport`]: the sans-IO pieces of this module in a loop.

use super::auth::{Ev2First, Ev2NonFirst};
use super::command::{Command, CommandMode, FrameEnds, Response};
use super::error::{Error, ProtocolError};
use super::exchange::Exchange;
use super::session::{Session, open_unauthenticated};
use super::transport::{AsyncTransport, Transport};
use crate::crypto::{AesKey, Random16};
use crate::wire::{KeyNo, MAX_SHORT_LC, Writer};

/// Longest C-APDU: header, Lc, 255 bytes, Le.
const MAX_CAPDU: usize = 5 + MAX_SHORT_LC + 1;
/// Longest R-APDU of a short APDU exchange: 256 bytes and the status word.
const MAX_RAPDU: usize = 256 + 2;

/// How much command data one frame may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FrameSize {
    /// Largest Lc of one C-APDU. Longer command bodies are chained with `AF` frames.
    pub max_command_data: usize,
}

impl FrameSize {
    /// A PC/SC reader or front end that does ISO/IEC 14443-4 chaining: short APDUs of up to
    /// 255 data bytes.
    pub const SHORT_APDU: FrameSize = FrameSize {
        max_command_data: MAX_SHORT_LC,
    };
    /// A front end without 14443-4 chaining and a 64-byte card frame (FSC 64): 64 - 1 (PCB)
    /// - 5 (APDU header) - 1 (Le) - 2 (CRC) leaves 55 bytes, rounded down to 48.
    pub const SMALL_FRAMES: FrameSize = FrameSize {
        max_command_data: 48,
    };
}

/// Runs DESFire commands over a transport, keeping the session between commands.
///
/// `N` is the largest sealed command body (header, padded data, MAC); larger writes must be
/// split by the caller. Nothing here allocates.
pub struct Desfire<T, const N: usize = 512> {
    transport: T,
    session: Option<Session>,
    frame: FrameSize,
    body: [u8; N],
    capdu: [u8; MAX_CAPDU],
    rapdu: [u8; MAX_RAPDU],
}

impl<T, const N: usize> core::fmt::Debug for Desfire<T, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Desfire")
            .field("session", &self.session)
            .field("frame", &self.frame)
            .finish_non_exhaustive()
    }
}

impl<T, const N: usize> Desfire<T, N> {
    /// A driver over `transport`, not authenticated.
    pub fn new(transport: T, frame: FrameSize) -> Self {
        Self {
            transport,
            session: None,
            frame,
            body: [0; N],
            capdu: [0; MAX_CAPDU],
            rapdu: [0; MAX_RAPDU],
        }
    }

    /// The current session, if authenticated.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// Forgets the session (after a deselect, a field reset, or a SelectApplication).
    pub fn end_session(&mut self) {
        self.session = None;
    }

    /// The transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// The transport, e.g. to reselect the card.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Seals `cmd` into the body buffer; the session stays in place for the exchange, and the
    /// caller drops it on any failure after this ([`Desfire::open`]).
    ///
    /// Nothing has been sent when this fails, so the session stays, unless its counter is
    /// exhausted. Without a session a command
    /// that needs one is refused, and so is Full-mode data: data meant to be encrypted is never
    /// sent in clear.
    fn seal(&mut self, cmd: &Command<'_>) -> Result<usize, Error> {
        let sealed = match &self.session {
            Some(s) => s.seal_command(cmd, &mut self.body),
            None if cmd.needs_session => Err(ProtocolError::NotAuthenticated.into()),
            None if cmd.mode == CommandMode::Full && !cmd.data.as_bytes().is_empty() => {
                Err(ProtocolError::NotAuthenticated.into())
            }
            None => {
                let mut w = Writer::new(&mut self.body);
                w.put(&cmd.header)
                    .and_then(|()| w.put(cmd.data.as_bytes()))
                    .map(|()| w.len())
                    .map_err(Error::from)
            }
        };
        match sealed {
            Ok(len) => Ok(len),
            Err(e) => {
                if e == Error::Protocol(ProtocolError::CounterExhausted) {
                    // The session can carry no further command: it is over.
                    self.session = None;
                }
                Err(e)
            }
        }
    }

    /// Opens the response to `cmd` after the exchange `exchanged` (its status, the response
    /// length in `rx`, the frame ends). Any failure, of the exchange or of the response, ends the
    /// session, and so does a command that ends it.
    fn open<'r, E>(
        &mut self,
        cmd: &Command<'_>,
        exchanged: Result<(crate::wire::Status, usize, FrameEnds), Error<E>>,
        rx: &'r mut [u8],
    ) -> Result<Response<'r>, Error<E>> {
        let opened = exchanged.and_then(|(status, len, frame_ends)| {
            let rx = rx.get_mut(..len).ok_or(ProtocolError::ResponseTooLong)?;
            match &mut self.session {
                Some(s) => match s.open_response_in_place(cmd, status, rx, frame_ends) {
                    Ok((true, resp)) => Ok(resp),
                    Ok((false, resp)) => {
                        self.session = None;
                        Ok(resp)
                    }
                    Err(e) => Err(Error::lift(e)),
                },
                None => open_unauthenticated(cmd, status, rx, frame_ends).map_err(Error::lift),
            }
        });
        if opened.is_err() {
            self.session = None;
        }
        opened
    }
}

impl<T: Transport, const N: usize> Desfire<T, N> {
    /// Runs `cmd`; the verified response data is left in `rx`.
    pub fn execute<'r>(
        &mut self,
        cmd: &Command<'_>,
        rx: &'r mut [u8],
    ) -> Result<Response<'r>, Error<T::Error>> {
        let len = self.seal(cmd).map_err(Error::lift)?;
        let Self {
            transport,
            body,
            capdu,
            rapdu,
            frame,
            ..
        } = self;
        let exchanged = (|| {
            let body = body.get(..len).ok_or(crate::wire::Error::BufferTooSmall)?;
            let mut ex = Exchange::new(cmd.ins, body, frame.max_command_data, rx);
            let status = loop {
                let n = ex.next_frame(capdu).map_err(Error::lift)?;
                let frame = transceive(transport, capdu, rapdu, n)?;
                if let Some(status) = ex.on_frame(frame).map_err(Error::lift)? {
                    break status;
                }
            };
            Ok((status, ex.response_len(), ex.frame_ends()))
        })();
        self.open(cmd, exchanged, rx)
    }

    /// AuthenticateEV2First with `key` as `key_no`: starts a transaction (new TI, CmdCtr 0).
    ///
    /// Not inlined: the handshake's expanded keys take stack only while it runs, not in the
    /// caller's frame for the whole transaction (a reader's stack high-water mark).
    #[inline(never)]
    pub fn authenticate_ev2_first<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        key_no: KeyNo,
        key: &AesKey,
        rng: &mut R,
    ) -> Result<(), Error<T::Error>> {
        self.session = None;
        let auth = Ev2First::new(key_no, key.clone());
        let n = auth.command(&mut self.capdu)?;
        let challenge = transceive(&mut self.transport, &self.capdu, &mut self.rapdu, n)?;
        let next = auth
            .on_challenge(challenge, Random16::generate(rng))
            .map_err(Error::lift)?;
        let n = next.command(&mut self.capdu)?;
        let confirmation = transceive(&mut self.transport, &self.capdu, &mut self.rapdu, n)?;
        next.confirm_into(confirmation, &mut self.session)
            .map_err(Error::lift)
    }

    /// AuthenticateEV2NonFirst: a new key within the transaction; TI and CmdCtr carry over.
    ///
    /// Not inlined: the handshake's expanded keys take stack only while it runs, not in the
    /// caller's frame for the whole transaction (a reader's stack high-water mark).
    #[inline(never)]
    pub fn authenticate_ev2_non_first<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        key_no: KeyNo,
        key: &AesKey,
        rng: &mut R,
    ) -> Result<(), Error<T::Error>> {
        // The current session ends here (the card ends it too), dropped in place.
        let current = self
            .session
            .as_ref()
            .ok_or(ProtocolError::NotAuthenticated)?;
        let auth = Ev2NonFirst::continuing(current, key_no, key.clone());
        self.session = None;
        let n = auth.command(&mut self.capdu)?;
        let challenge = transceive(&mut self.transport, &self.capdu, &mut self.rapdu, n)?;
        let next = auth
            .on_challenge(challenge, Random16::generate(rng))
            .map_err(Error::lift)?;
        let n = next.command(&mut self.capdu)?;
        let confirmation = transceive(&mut self.transport, &self.capdu, &mut self.rapdu, n)?;
        next.confirm_into(confirmation, &mut self.session)
            .map_err(Error::lift)
    }
}

impl<T: AsyncTransport, const N: usize> Desfire<T, N> {
    /// [`Desfire::execute`] over an [`AsyncTransport`].
    pub async fn execute_async<'r>(
        &mut self,
        cmd: &Command<'_>,
        rx: &'r mut [u8],
    ) -> Result<Response<'r>, Error<T::Error>> {
        let len = self.seal(cmd).map_err(Error::lift)?;
        let Self {
            transport,
            body,
            capdu,
            rapdu,
            frame,
            ..
        } = self;
        let exchanged = async {
            let body = body.get(..len).ok_or(crate::wire::Error::BufferTooSmall)?;
            let mut ex = Exchange::new(cmd.ins, body, frame.max_command_data, rx);
            let status = loop {
                let n = ex.next_frame(capdu).map_err(Error::lift)?;
                let frame = transceive_async(transport, capdu, rapdu, n).await?;
                if let Some(status) = ex.on_frame(frame).map_err(Error::lift)? {
                    break status;
                }
            };
            Ok((status, ex.response_len(), ex.frame_ends()))
        }
        .await;
        self.open(cmd, exchanged, rx)
    }

    /// [`Desfire::authenticate_ev2_first`] over an [`AsyncTransport`].
    pub async fn authenticate_ev2_first_async<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        key_no: KeyNo,
        key: &AesKey,
        rng: &mut R,
    ) -> Result<(), Error<T::Error>> {
        self.session = None;
        let auth = Ev2First::new(key_no, key.clone());
        let n = auth.command(&mut self.capdu)?;
        let challenge =
            transceive_async(&mut self.transport, &self.capdu, &mut self.rapdu, n).await?;
        let next = auth
            .on_challenge(challenge, Random16::generate(rng))
            .map_err(Error::lift)?;
        let n = next.command(&mut self.capdu)?;
        let confirmation =
            transceive_async(&mut self.transport, &self.capdu, &mut self.rapdu, n).await?;
        next.confirm_into(confirmation, &mut self.session)
            .map_err(Error::lift)
    }
}

/// Sends the first `len` bytes of `capdu`; returns the R-APDU.
fn transceive<'a, T: Transport>(
    transport: &mut T,
    capdu: &[u8],
    rapdu: &'a mut [u8],
    len: usize,
) -> Result<&'a [u8], Error<T::Error>> {
    let capdu = capdu.get(..len).ok_or(crate::wire::Error::BufferTooSmall)?;
    let n = transport
        .transceive(capdu, rapdu)
        .map_err(Error::Transport)?;
    Ok(rapdu.get(..n).ok_or(ProtocolError::ResponseTooLong)?)
}

/// [`transceive`] over an [`AsyncTransport`].
async fn transceive_async<'a, T: AsyncTransport>(
    transport: &mut T,
    capdu: &[u8],
    rapdu: &'a mut [u8],
    len: usize,
) -> Result<&'a [u8], Error<T::Error>> {
    let capdu = capdu.get(..len).ok_or(crate::wire::Error::BufferTooSmall)?;
    let n = transport
        .transceive(capdu, rapdu)
        .await
        .map_err(Error::Transport)?;
    Ok(rapdu.get(..n).ok_or(ProtocolError::ResponseTooLong)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcd::{CommandData, CommandMode};
    use crate::wire::Ins;
    use hex_literal::hex;

    /// RndA of AN12196 Table 14, as a "random" source.
    struct FixedRng([u8; 16]);

    impl rand_core::RngCore for FixedRng {
        fn next_u32(&mut self) -> u32 {
            unimplemented!()
        }
        fn next_u64(&mut self) -> u64 {
            unimplemented!()
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            dst.copy_from_slice(&self.0);
        }
    }
    impl rand_core::CryptoRng for FixedRng {}

    /// A card that expects exactly these C-APDUs and answers with these R-APDUs.
    struct Script<'a> {
        steps: &'a [(&'a [u8], &'a [u8])],
        at: usize,
    }

    impl Transport for Script<'_> {
        type Error = &'static str;
        fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
            let (expect, answer) = self.steps.get(self.at).ok_or("script exhausted")?;
            assert_eq!(capdu, *expect, "C-APDU {}", self.at);
            self.at += 1;
            rapdu[..answer.len()].copy_from_slice(answer);
            Ok(answer.len())
        }
    }

    impl AsyncTransport for Script<'_> {
        type Error = &'static str;
        async fn transceive(
            &mut self,
            capdu: &[u8],
            rapdu: &mut [u8],
        ) -> Result<usize, Self::Error> {
            Transport::transceive(self, capdu, rapdu)
        }
    }

    const T14_1: (&[u8], &[u8]) = (
        &hex!("9071000002000000"),
        &hex!("A04C124213C186F22399D33AC2A3021591AF"),
    );
    const T14_2: (&[u8], &[u8]) = (
        &hex!("90AF00002035C3E05A752E0144BAC0DE51C1F22C56B34408A23D8AEA266CAB947EA8E0118D00"),
        &hex!("3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F081206639100"),
    );
    const T18_BODY: [u8; 159] = hex!(
        "02000000800000421C73A27D827658AF481FDFF20A5025B559D0E3AA21E58D347F343CFFC768BFE596C706BC00F2176781D4B0242642A0FF5A42C461AAF894D9A1284B8C76BCFA658ACD40555D362E08DB15CF421B51283F9064BCBE20E96CAE545B407C9D651A3315B27373772E5DA2367D2064AE054AF996C6F1F669170FA88CE8C4E3A4A7BBBEF0FD971FF532C3A802AF745660F2B4D1D9A8499661EBF3"
    );
    const T18_RESP: &[u8] = &hex!("FC222E5F7A5424529100");

    fn ndef() -> [u8; 128] {
        let mut data = [0u8; 128];
        data[..83].copy_from_slice(&hex!(
            "0051D1014D550463686F6F73652E75726C2E636F6D2F6E7461673432343F653D"
            "303030303030303030303030303030303030303030303030303030303030303026633D"
            "30303030303030303030303030303030"
        ));
        data
    }

    fn write_t18(data: &[u8]) -> Command<'_> {
        Command::new(
            Ins::WRITE_DATA_ISO,
            &hex!("02000000800000"),
            CommandMode::Full,
        )
        .unwrap()
        .with_data(CommandData::Borrowed(data))
        .requiring_session()
    }

    /// AN12196 Tables 14 and 18 through the driver, in one frame (Lc 0x9F).
    #[test]
    fn an12196_t14_t18_through_the_driver() {
        let mut capdu18 = [0u8; 165];
        let n = crate::wire::emit_capdu(Ins::WRITE_DATA_ISO, &T18_BODY, &mut capdu18).unwrap();
        let steps = [T14_1, T14_2, (&capdu18[..n], T18_RESP)];
        let mut d = Desfire::<_>::new(
            Script {
                steps: &steps,
                at: 0,
            },
            FrameSize::SHORT_APDU,
        );
        let mut rng = FixedRng(hex!("13C5DB8A5930439FC3DEF9A4C675360F"));
        d.authenticate_ev2_first(KeyNo::MASTER, &AesKey::zero(), &mut rng)
            .unwrap();
        let data = ndef();
        let mut rx = [0u8; 16];
        let r = d.execute(&write_t18(&data), &mut rx).unwrap();
        assert!(r.data().is_empty());
        assert_eq!(d.session().unwrap().cmd_ctr().0, 1);
        assert_eq!(d.into_transport().at, 3);
    }

    /// The same write chained over 64-byte frames: the MAC covers the whole body.
    #[test]
    fn an12196_t18_chained_over_small_frames() {
        let mut frames = [[0u8; 80]; 3];
        let mut lens = [0usize; 3];
        for (i, chunk) in T18_BODY.chunks(64).enumerate() {
            let ins = if i == 0 {
                Ins::WRITE_DATA_ISO
            } else {
                Ins::ADDITIONAL_FRAME
            };
            lens[i] = crate::wire::emit_capdu(ins, chunk, &mut frames[i]).unwrap();
        }
        let af: &[u8] = &hex!("91AF");
        let steps = [
            T14_1,
            T14_2,
            (&frames[0][..lens[0]], af),
            (&frames[1][..lens[1]], af),
            (&frames[2][..lens[2]], T18_RESP),
        ];
        let mut d = Desfire::<_>::new(
            Script {
                steps: &steps,
                at: 0,
            },
            FrameSize {
                max_command_data: 64,
            },
        );
        let mut rng = FixedRng(hex!("13C5DB8A5930439FC3DEF9A4C675360F"));
        d.authenticate_ev2_first(KeyNo::MASTER, &AesKey::zero(), &mut rng)
            .unwrap();
        let data = ndef();
        let mut rx = [0u8; 16];
        d.execute(&write_t18(&data), &mut rx).unwrap();
        assert_eq!(d.into_transport().at, 5);
    }

    /// The async twin runs the same exchange.
    #[test]
    fn async_driver_matches_blocking() {
        let mut capdu18 = [0u8; 165];
        let n = crate::wire::emit_capdu(Ins::WRITE_DATA_ISO, &T18_BODY, &mut capdu18).unwrap();
        let steps = [T14_1, T14_2, (&capdu18[..n], T18_RESP)];
        let mut d = Desfire::<_>::new(
            Script {
                steps: &steps,
                at: 0,
            },
            FrameSize::SHORT_APDU,
        );
        let data = ndef();
        let fut = async {
            let mut rng = FixedRng(hex!("13C5DB8A5930439FC3DEF9A4C675360F"));
            d.authenticate_ev2_first_async(KeyNo::MASTER, &AesKey::zero(), &mut rng)
                .await
                .unwrap();
            let mut rx = [0u8; 16];
            d.execute_async(&write_t18(&data), &mut rx)
                .await
                .map(|r| r.data().len())
        };
        let mut fut = core::pin::pin!(fut);
        let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
        match fut.as_mut().poll(&mut cx) {
            core::task::Poll::Ready(r) => assert_eq!(r, Ok(0)),
            core::task::Poll::Pending => panic!("scripted transport never waits"),
        }
    }

    #[test]
    fn protected_command_without_session_is_not_sent() {
        let mut d = Desfire::<_>::new(Script { steps: &[], at: 0 }, FrameSize::SHORT_APDU);
        let data = ndef();
        let mut rx = [0u8; 16];
        assert_eq!(
            d.execute(&write_t18(&data), &mut rx).unwrap_err(),
            Error::Protocol(ProtocolError::NotAuthenticated)
        );
    }

    #[test]
    fn bad_response_mac_drops_the_session() {
        let mut capdu18 = [0u8; 165];
        let n = crate::wire::emit_capdu(Ins::WRITE_DATA_ISO, &T18_BODY, &mut capdu18).unwrap();
        let bad: &[u8] = &hex!("FC222E5F7A5424539100");
        let steps = [T14_1, T14_2, (&capdu18[..n], bad)];
        let mut d = Desfire::<_>::new(
            Script {
                steps: &steps,
                at: 0,
            },
            FrameSize::SHORT_APDU,
        );
        let mut rng = FixedRng(hex!("13C5DB8A5930439FC3DEF9A4C675360F"));
        d.authenticate_ev2_first(KeyNo::MASTER, &AesKey::zero(), &mut rng)
            .unwrap();
        let data = ndef();
        let mut rx = [0u8; 16];
        assert_eq!(
            d.execute(&write_t18(&data), &mut rx).unwrap_err(),
            Error::Protocol(ProtocolError::ResponseMacMismatch)
        );
        assert!(d.session().is_none());
    }
}
