//! A driver that runs commands over a [`Transport`]: the sans-IO pieces of this module in a loop.

use super::auth::{Ev2First, Ev2NonFirst};
use super::command::{Command, FrameEnds, Response};
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

    /// Seals `cmd` into the body buffer; takes the session out for the exchange.
    fn seal(&mut self, cmd: &Command<'_>) -> Result<(usize, Option<Session>), Error> {
        let session = self.session.take();
        let len = match &session {
            Some(s) => s.seal_command(cmd, &mut self.body)?,
            None if cmd.needs_session => return Err(ProtocolError::NotAuthenticated.into()),
            None => {
                let mut w = Writer::new(&mut self.body);
                w.put(&cmd.header)?;
                w.put(cmd.data.as_bytes())?;
                w.len()
            }
        };
        Ok((len, session))
    }

    fn open<'r>(
        &mut self,
        cmd: &Command<'_>,
        session: Option<Session>,
        status: crate::wire::Status,
        rx: &'r mut [u8],
        frame_ends: FrameEnds,
    ) -> Result<Response<'r>, Error> {
        match session {
            Some(s) => {
                let (next, resp) = s.open_response(cmd, status, rx, frame_ends)?;
                self.session = next;
                Ok(resp)
            }
            None => open_unauthenticated(cmd, status, rx, frame_ends),
        }
    }
}

impl<T: Transport, const N: usize> Desfire<T, N> {
    /// Runs `cmd`; the verified response data is left in `rx`.
    pub fn execute<'r>(
        &mut self,
        cmd: &Command<'_>,
        rx: &'r mut [u8],
    ) -> Result<Response<'r>, Error<T::Error>> {
        let (len, session) = self.seal(cmd).map_err(Error::lift)?;
        let Self {
            transport,
            body,
            capdu,
            rapdu,
            frame,
            ..
        } = self;
        let body = body.get(..len).ok_or(crate::wire::Error::BufferTooSmall)?;
        let mut ex = Exchange::new(cmd.ins, body, frame.max_command_data, rx);
        let status = loop {
            let n = ex.next_frame(capdu).map_err(Error::lift)?;
            let frame = transceive(transport, capdu, rapdu, n)?;
            if let Some(status) = ex.on_frame(frame).map_err(Error::lift)? {
                break status;
            }
        };
        let (len, frame_ends) = (ex.response_len(), ex.frame_ends());
        let rx = rx.get_mut(..len).ok_or(ProtocolError::ResponseTooLong)?;
        self.open(cmd, session, status, rx, frame_ends)
            .map_err(Error::lift)
    }

    /// AuthenticateEV2First with `key` as `key_no`: starts a transaction (new TI, CmdCtr 0).
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
        self.session = Some(next.on_confirmation(confirmation).map_err(Error::lift)?);
        Ok(())
    }

    /// AuthenticateEV2NonFirst: a new key within the transaction; TI and CmdCtr carry over.
    pub fn authenticate_ev2_non_first<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        key_no: KeyNo,
        key: &AesKey,
        rng: &mut R,
    ) -> Result<(), Error<T::Error>> {
        let current = self.session.take().ok_or(ProtocolError::NotAuthenticated)?;
        let auth = Ev2NonFirst::new(current, key_no, key.clone());
        let n = auth.command(&mut self.capdu)?;
        let challenge = transceive(&mut self.transport, &self.capdu, &mut self.rapdu, n)?;
        let next = auth
            .on_challenge(challenge, Random16::generate(rng))
            .map_err(Error::lift)?;
        let n = next.command(&mut self.capdu)?;
        let confirmation = transceive(&mut self.transport, &self.capdu, &mut self.rapdu, n)?;
        self.session = Some(next.on_confirmation(confirmation).map_err(Error::lift)?);
        Ok(())
    }
}

impl<T: AsyncTransport, const N: usize> Desfire<T, N> {
    /// [`Desfire::execute`] over an [`AsyncTransport`].
    pub async fn execute_async<'r>(
        &mut self,
        cmd: &Command<'_>,
        rx: &'r mut [u8],
    ) -> Result<Response<'r>, Error<T::Error>> {
        let (len, session) = self.seal(cmd).map_err(Error::lift)?;
        let Self {
            transport,
            body,
            capdu,
            rapdu,
            frame,
            ..
        } = self;
        let body = body.get(..len).ok_or(crate::wire::Error::BufferTooSmall)?;
        let mut ex = Exchange::new(cmd.ins, body, frame.max_command_data, rx);
        let status = loop {
            let n = ex.next_frame(capdu).map_err(Error::lift)?;
            let frame = transceive_async(transport, capdu, rapdu, n).await?;
            if let Some(status) = ex.on_frame(frame).map_err(Error::lift)? {
                break status;
            }
        };
        let (len, frame_ends) = (ex.response_len(), ex.frame_ends());
        let rx = rx.get_mut(..len).ok_or(ProtocolError::ResponseTooLong)?;
        self.open(cmd, session, status, rx, frame_ends)
            .map_err(Error::lift)
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
        self.session = Some(next.on_confirmation(confirmation).map_err(Error::lift)?);
        Ok(())
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
