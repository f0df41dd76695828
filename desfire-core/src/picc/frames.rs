//! APDU parsing and additional-frame (`AF`) chaining on the card side.
//!
//! Incoming: a write whose header announces more data than the first frame carries is
//! accumulated (up to [`MAX_COMMAND`] bytes), each intermediate frame answered with a bare
//! `91AF`. Outgoing: a response longer than the frame size is split; the reader fetches the
//! rest with `90 AF 00 00 00`. Secure messaging always covers the whole body.

use crate::wire::{Ins, Status};

/// Largest command body (after INS) the card accumulates.
pub const MAX_COMMAND: usize = 1024;
/// Largest response (data, padding and MAC) the card buffers.
pub const MAX_RESPONSE: usize = 2048;

/// How a command reached the card, and how its answer leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// ISO/IEC 7816-4: `90 INS 00 00 [Lc data] [Le]` answered `data 91 status`, or an ISO
    /// command (CLA `00`) answered with an ISO status word.
    Wrapped,
    /// Native DESFire: `INS data` answered `status data`.
    Native,
}

impl Framing {
    /// A frame whose first byte is a class byte DESFire uses (`90`, `00`) is ISO/IEC 7816-4;
    /// anything else is a native command (no native command code is `90` or `00`).
    pub(crate) fn of(capdu: &[u8]) -> Self {
        match capdu.first() {
            Some(0x90 | 0x00) | None => Framing::Wrapped,
            Some(_) => Framing::Native,
        }
    }
}

/// Whether the card reads `capdu` as a native DESFire frame (`INS data`, answered `status
/// data`) rather than an ISO/IEC 7816-4 one: the card's own decision (`Framing::of`), for
/// tools that sit in front of a card and must frame their answers as it does.
pub fn is_native(capdu: &[u8]) -> bool {
    Framing::of(capdu) == Framing::Native
}

/// The pieces of a short C-APDU.
#[derive(Debug)]
pub(crate) struct Apdu<'a> {
    pub(crate) cla: u8,
    pub(crate) ins: u8,
    pub(crate) p1: u8,
    pub(crate) p2: u8,
    pub(crate) data: &'a [u8],
}

/// Parses `CLA INS P1 P2 [Lc data] [Le]`; a length mismatch is `6700`.
pub(crate) fn parse(capdu: &[u8]) -> Result<Apdu<'_>, u16> {
    let (&[cla, ins, p1, p2], rest) = capdu.split_first_chunk::<4>().ok_or(0x6700u16)?;
    let data = match rest {
        [] | [_] => &[][..],
        [lc, body @ ..] => {
            let lc = usize::from(*lc);
            if lc == 0 {
                return Err(0x6700);
            }
            match body.len().checked_sub(lc) {
                Some(0) | Some(1) => body.get(..lc).ok_or(0x6700u16)?,
                _ => return Err(0x6700),
            }
        }
    };
    Ok(Apdu {
        cla,
        ins,
        p1,
        p2,
        data,
    })
}

/// One answer: native (`91 status`, data from the output buffer) or an ISO status word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Data `out[start..end]` and `91 status`.
    Native {
        start: usize,
        end: usize,
        status: Status,
    },
    /// An ISO/IEC 7816-4 status word without data.
    Iso(u16),
}

impl Reply {
    pub(crate) fn status(status: Status) -> Self {
        Self::Native {
            start: 0,
            end: 0,
            status,
        }
    }
}

/// Input and output buffers of the chaining layer.
pub(crate) struct Io {
    input: [u8; MAX_COMMAND],
    in_len: usize,
    in_ins: Option<Ins>,
    in_expected: usize,
    out: [u8; MAX_RESPONSE],
    out_len: usize,
    out_pos: usize,
    out_status: Status,
    out_frame: usize,
    out_ends: heapless::Vec<u16, 32>,
}

impl core::fmt::Debug for Io {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Io")
            .field("in_len", &self.in_len)
            .field("out_len", &self.out_len)
            .finish_non_exhaustive()
    }
}

impl Io {
    pub(crate) fn new() -> Self {
        Self {
            input: [0; MAX_COMMAND],
            in_len: 0,
            in_ins: None,
            in_expected: 0,
            out: [0; MAX_RESPONSE],
            out_len: 0,
            out_pos: 0,
            out_status: Status::OPERATION_OK,
            out_frame: 1,
            out_ends: heapless::Vec::new(),
        }
    }

    /// Forgets any chaining in progress (and wipes the buffers: they may hold plaintext).
    pub(crate) fn clear(&mut self) {
        self.input.get_mut(..self.in_len).unwrap_or(&mut []).fill(0);
        self.out.get_mut(..self.out_len).unwrap_or(&mut []).fill(0);
        self.in_len = 0;
        self.in_ins = None;
        self.in_expected = 0;
        self.out_len = 0;
        self.out_pos = 0;
        self.out_ends.clear();
    }

    /// Starts a command body with the first frame's data.
    pub(crate) fn begin(&mut self, _ins: Ins, data: &[u8]) -> Result<(), ()> {
        self.input
            .get_mut(..data.len())
            .ok_or(())?
            .copy_from_slice(data);
        self.in_len = data.len();
        Ok(())
    }

    /// More frames will follow, up to `total` bytes.
    pub(crate) fn expect(&mut self, ins: Ins, total: usize) -> Result<(), ()> {
        if total > MAX_COMMAND {
            return Err(());
        }
        self.in_ins = Some(ins);
        self.in_expected = total;
        Ok(())
    }

    /// The command being accumulated, if any (set by [`Self::expect`]).
    pub(crate) fn incoming(&self) -> Option<Ins> {
        self.in_ins
    }

    /// Appends a continuation frame.
    pub(crate) fn append(&mut self, data: &[u8]) -> Result<(), ()> {
        let end = self.in_len.checked_add(data.len()).ok_or(())?;
        if end > self.in_expected {
            return Err(());
        }
        self.input
            .get_mut(self.in_len..end)
            .ok_or(())?
            .copy_from_slice(data);
        self.in_len = end;
        Ok(())
    }

    /// Whether the announced body is complete.
    pub(crate) fn input_complete(&mut self) -> Result<bool, Status> {
        if self.in_len == self.in_expected {
            self.in_ins = None;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    pub(crate) fn body(&self) -> &[u8] {
        self.input.get(..self.in_len).unwrap_or(&[])
    }

    pub(crate) fn body_mut(&mut self) -> &mut [u8] {
        self.input.get_mut(..self.in_len).unwrap_or(&mut [])
    }

    pub(crate) fn truncate_body(&mut self, len: usize) {
        self.in_len = self.in_len.min(len);
    }

    /// The command body and the output buffer, for a handler.
    pub(crate) fn split(&mut self) -> (&[u8], &mut [u8]) {
        let body = self.input.get(..self.in_len).unwrap_or(&[]);
        (body, &mut self.out)
    }

    pub(crate) fn out_mut(&mut self) -> &mut [u8] {
        &mut self.out
    }

    pub(crate) fn has_output(&self) -> bool {
        self.out_pos < self.out_len
    }

    /// Starts sending `out[..len]` with final status `status`, `frame` bytes per frame or at the
    /// explicit boundaries `ends`.
    pub(crate) fn start_output(
        &mut self,
        len: usize,
        status: Status,
        frame: usize,
        ends: &[u16],
    ) -> Reply {
        self.input.get_mut(..self.in_len).unwrap_or(&mut []).fill(0);
        self.in_len = 0;
        self.in_ins = None;
        self.out_len = len.min(MAX_RESPONSE);
        self.out_pos = 0;
        self.out_status = status;
        self.out_frame = frame.max(1);
        self.out_ends = heapless::Vec::from_slice(ends).unwrap_or_default();
        if len == 0 {
            return Reply::status(status);
        }
        self.next_chunk()
    }

    /// The next response frame.
    pub(crate) fn next_chunk(&mut self) -> Reply {
        let start = self.out_pos;
        let by_size = start.saturating_add(self.out_frame).min(self.out_len);
        let end = self
            .out_ends
            .iter()
            .map(|e| usize::from(*e))
            .find(|e| *e > start && *e < self.out_len)
            .map_or(by_size, |e| e.min(by_size));
        self.out_pos = end;
        let status = if end >= self.out_len {
            self.out_status
        } else {
            Status::ADDITIONAL_FRAME
        };
        Reply::Native { start, end, status }
    }

    /// Writes a reply into `rapdu` in `framing`: ISO-wrapped `data 91 status` (or an ISO status
    /// word), native `status data`.
    pub(crate) fn emit(&mut self, reply: Reply, rapdu: &mut [u8], framing: Framing) -> usize {
        let (data, sw) = match reply {
            Reply::Native { start, end, status } => {
                (self.out.get(start..end).unwrap_or(&[]), [0x91, status.0])
            }
            Reply::Iso(sw) => (&[][..], sw.to_be_bytes()),
        };
        let native = framing == Framing::Native && matches!(reply, Reply::Native { .. });
        let head = usize::from(native);
        let total = data.len().saturating_add(if native { 1 } else { 2 });
        let Some(dst) = rapdu.get_mut(..total) else {
            // The reader's buffer cannot hold the frame: say so with a length error.
            let short: &[u8] = if native {
                &[Status::LENGTH_ERROR.0]
            } else {
                &[0x91, Status::LENGTH_ERROR.0]
            };
            return match rapdu.get_mut(..short.len()) {
                Some(d) => {
                    d.copy_from_slice(short);
                    short.len()
                }
                None => 0,
            };
        };
        if native {
            let (s, d) = dst.split_at_mut(head);
            s.copy_from_slice(&sw[1..]);
            d.copy_from_slice(data);
        } else {
            let (d, s) = dst.split_at_mut(data.len());
            d.copy_from_slice(data);
            s.copy_from_slice(&sw);
        }
        if !self.has_output() {
            self.out.get_mut(..self.out_len).unwrap_or(&mut []).fill(0);
            self.out_len = 0;
            self.out_pos = 0;
        }
        total
    }
}
