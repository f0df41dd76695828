//! One command exchange with additional-frame chaining in both directions, sans-IO.
//!
//! A command body longer than the frame size is split: the first frame carries INS, the rest
//! `AF`, and the card answers each intermediate frame with a bare `91AF`. A response longer than
//! one frame arrives as frames ending in `91AF`; the reader fetches the next with `90 AF 00 00 00`.
//! MACs and encryption cover the whole body, never a single frame.

use super::command::FrameEnds;
use super::error::{Error, ProtocolError};
use crate::wire::{Ins, RApdu, Status, completes, emit_capdu};

/// The state of one exchange: what is left to send, and the response assembled so far.
#[derive(Debug)]
pub struct Exchange<'t, 'r> {
    ins: Ins,
    body: &'t [u8],
    sent: usize,
    started: bool,
    max_chunk: usize,
    rx: &'r mut [u8],
    rx_len: usize,
    frame_ends: FrameEnds,
}

impl<'t, 'r> Exchange<'t, 'r> {
    /// An exchange of `body` (the sealed command after INS), answers assembled into `rx`.
    /// `max_chunk` is the largest command data per frame (at least 1).
    pub fn new(ins: Ins, body: &'t [u8], max_chunk: usize, rx: &'r mut [u8]) -> Self {
        Self {
            ins,
            body,
            sent: 0,
            started: false,
            max_chunk: max_chunk.max(1),
            rx,
            rx_len: 0,
            frame_ends: FrameEnds::new(),
        }
    }

    /// Emits the next C-APDU into `out`.
    pub fn next_frame(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        let rest = self.body.get(self.sent..).unwrap_or(&[]);
        let chunk = rest.get(..self.max_chunk.min(rest.len())).unwrap_or(rest);
        let ins = if self.started {
            Ins::ADDITIONAL_FRAME
        } else {
            self.ins
        };
        let n = emit_capdu(ins, chunk, out)?;
        net_trace!("PCD -> {} ({} bytes of body)", ins, chunk.len());
        self.started = true;
        self.sent = self.sent.saturating_add(chunk.len());
        Ok(n)
    }

    /// Takes the card's answer to the last frame. `Ok(None)`: send [`Self::next_frame`] again;
    /// `Ok(Some(status))`: the exchange is complete.
    pub fn on_frame(&mut self, rapdu: &[u8]) -> Result<Option<Status>, Error> {
        let r = RApdu::parse(rapdu)?;
        let status = r.status()?;
        if self.sent < self.body.len() {
            // Still sending: the card must ask for more with an empty 91AF.
            return match status {
                Status::ADDITIONAL_FRAME if r.data.is_empty() => Ok(None),
                s if completes(self.ins, s) || s == Status::ADDITIONAL_FRAME => {
                    Err(ProtocolError::UnexpectedAdditionalFrame.into())
                }
                s => Err(Error::Card(s)),
            };
        }
        if !completes(self.ins, status) && status != Status::ADDITIONAL_FRAME {
            return Err(Error::Card(status));
        }
        if status == Status::ADDITIONAL_FRAME && r.data.is_empty() {
            // An empty continuation would let a card keep the reader busy forever.
            return Err(ProtocolError::UnexpectedAdditionalFrame.into());
        }
        let end = self
            .rx_len
            .checked_add(r.data.len())
            .ok_or(ProtocolError::ResponseTooLong)?;
        self.rx
            .get_mut(self.rx_len..end)
            .ok_or(ProtocolError::ResponseTooLong)?
            .copy_from_slice(r.data);
        self.rx_len = end;
        if status == Status::ADDITIONAL_FRAME {
            // Past MAX_FRAMES the boundaries are dropped, never the data.
            let _ = self.frame_ends.push(u16::try_from(end).unwrap_or(u16::MAX));
            Ok(None)
        } else {
            Ok(Some(status))
        }
    }

    /// Length of the assembled response data.
    pub fn response_len(&self) -> usize {
        self.rx_len
    }

    /// Where each intermediate response frame ended (for [`Response::frames`]).
    pub(crate) fn frame_ends(&self) -> FrameEnds {
        self.frame_ends.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn long_write_is_chained() {
        let body: [u8; 10] = core::array::from_fn(|i| i as u8);
        let mut rx = [0u8; 8];
        let mut ex = Exchange::new(Ins::WRITE_DATA, &body, 4, &mut rx);
        let mut f = [0u8; 16];
        let n = ex.next_frame(&mut f).unwrap();
        assert_eq!(&f[..n], hex!("903D00000400010203 00"));
        assert_eq!(ex.on_frame(&hex!("91AF")).unwrap(), None);
        let n = ex.next_frame(&mut f).unwrap();
        assert_eq!(&f[..n], hex!("90AF00000404050607 00"));
        assert_eq!(ex.on_frame(&hex!("91AF")).unwrap(), None);
        let n = ex.next_frame(&mut f).unwrap();
        assert_eq!(&f[..n], hex!("90AF0000020809 00"));
        assert_eq!(
            ex.on_frame(&hex!("AABB9100")).unwrap(),
            Some(Status::OPERATION_OK)
        );
        assert_eq!(ex.response_len(), 2);
    }

    #[test]
    fn long_read_is_fetched() {
        let mut rx = [0u8; 8];
        let mut ex = Exchange::new(Ins::GET_VERSION, &[], 64, &mut rx);
        let mut f = [0u8; 16];
        let n = ex.next_frame(&mut f).unwrap();
        assert_eq!(&f[..n], hex!("9060000000"));
        assert_eq!(ex.on_frame(&hex!("010291AF")).unwrap(), None);
        let n = ex.next_frame(&mut f).unwrap();
        assert_eq!(&f[..n], hex!("90AF000000"));
        assert_eq!(
            ex.on_frame(&hex!("03049100")).unwrap(),
            Some(Status::OPERATION_OK)
        );
        assert_eq!(&rx[..4], hex!("01020304"));
    }

    #[test]
    fn chaining_faults_are_typed() {
        let mut rx = [0u8; 4];
        let mut f = [0u8; 16];
        // Card ends early while the reader still has data to send.
        let mut ex = Exchange::new(Ins::WRITE_DATA, &[1, 2, 3], 1, &mut rx);
        ex.next_frame(&mut f).unwrap();
        assert_eq!(
            ex.on_frame(&hex!("9100")),
            Err(ProtocolError::UnexpectedAdditionalFrame.into())
        );
        // Card sends data while it should only ask for more.
        let mut ex = Exchange::new(Ins::WRITE_DATA, &[1, 2, 3], 1, &mut rx);
        ex.next_frame(&mut f).unwrap();
        assert_eq!(
            ex.on_frame(&hex!("0191AF")),
            Err(ProtocolError::UnexpectedAdditionalFrame.into())
        );
        // Response longer than the buffer.
        let mut ex = Exchange::new(Ins::GET_VERSION, &[], 8, &mut rx);
        ex.next_frame(&mut f).unwrap();
        assert_eq!(
            ex.on_frame(&hex!("01020304059100")),
            Err(ProtocolError::ResponseTooLong.into())
        );
        // Empty continuation.
        let mut ex = Exchange::new(Ins::GET_VERSION, &[], 8, &mut rx);
        ex.next_frame(&mut f).unwrap();
        assert_eq!(
            ex.on_frame(&hex!("91AF")),
            Err(ProtocolError::UnexpectedAdditionalFrame.into())
        );
        // Error status, unknown status, ISO status.
        let mut ex = Exchange::new(Ins::GET_VERSION, &[], 8, &mut rx);
        ex.next_frame(&mut f).unwrap();
        assert_eq!(
            ex.on_frame(&hex!("919D")),
            Err(Error::Card(Status::PERMISSION_DENIED))
        );
        let mut ex = Exchange::new(Ins::GET_VERSION, &[], 8, &mut rx);
        ex.next_frame(&mut f).unwrap();
        assert_eq!(ex.on_frame(&hex!("9142")), Err(Error::Card(Status(0x42))));
        let mut ex = Exchange::new(Ins::GET_VERSION, &[], 8, &mut rx);
        ex.next_frame(&mut f).unwrap();
        assert!(ex.on_frame(&hex!("6700")).is_err());
    }
}
