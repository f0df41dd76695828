//! The PN532 commands a reader needs (UM0701 §7): SAMConfiguration, GetFirmwareVersion,
//! RFConfiguration (retries), InListPassiveTarget for ISO/IEC 14443 A, InDataExchange (the
//! PN532 runs ISO-DEP itself: RATS at activation, I-blocks, chaining up to its 262-byte buffer)
//! and InRelease. Every answer is parsed with checked accesses: nothing the chip or a card
//! sends can panic the driver.

use crate::frame::{self, Frame, FrameError, MAX_FRAME, TFI_PN532};
use crate::interface::{Clock, Deadline, Interface, LinkError};
use heapless::Vec;

/// Command codes (UM0701 §7).
pub mod cmd {
    /// GetFirmwareVersion.
    pub const GET_FIRMWARE_VERSION: u8 = 0x02;
    /// SAMConfiguration.
    pub const SAM_CONFIGURATION: u8 = 0x14;
    /// RFConfiguration.
    pub const RF_CONFIGURATION: u8 = 0x32;
    /// InDataExchange.
    pub const IN_DATA_EXCHANGE: u8 = 0x40;
    /// InRelease.
    pub const IN_RELEASE: u8 = 0x52;
    /// InListPassiveTarget.
    pub const IN_LIST_PASSIVE_TARGET: u8 = 0x4A;
}

/// Largest data of one InDataExchange (UM0701 §7.3.8: 262 bytes).
pub const MAX_EXCHANGE: usize = 262;

/// Timeouts in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the end of a command frame to its ACK (UM0701: within 15 ms; margin for a slow
    /// link or an emulator).
    pub ack_ms: u32,
    /// From the ACK to the response of a command that does not wait for a card.
    pub response_ms: u32,
    /// InListPassiveTarget (bounded by the retries set with [`Pn532::set_passive_retries`]).
    pub poll_ms: u32,
    /// InDataExchange: the card's frame waiting time and the PN532's own retries.
    pub exchange_ms: u32,
}

impl Timeouts {
    /// Values for a PN532 at 115200 baud and DESFire EV3 cards.
    pub const DEFAULT: Self = Self {
        ack_ms: 50,
        response_ms: 100,
        poll_ms: 300,
        exchange_ms: 1000,
    };
}

/// A driver error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error<E> {
    /// The link failed, timed out or carried a broken frame.
    Link(LinkError<E>),
    /// The PN532 answered NACK to the command.
    Nack,
    /// The PN532 did not accept the command frame (error frame).
    Syntax,
    /// A frame other than the one expected (no ACK, another response code, a host frame).
    Unexpected,
    /// The response is too short or its fields disagree with its length.
    Malformed,
    /// A non-zero status byte (UM0701 §7.1 error codes, e.g. `01` timeout from the card).
    Status(u8),
    /// The card answered with more data than the PN532 buffers (MI bit set).
    MoreInformation,
    /// The command data does not fit one frame.
    TooLong,
}

impl<E> From<LinkError<E>> for Error<E> {
    fn from(e: LinkError<E>) -> Self {
        Self::Link(e)
    }
}

impl<E: core::fmt::Debug> core::fmt::Display for Error<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Link(e) => write!(f, "PN532 link: {e}"),
            Self::Nack => f.write_str("the PN532 answered NACK"),
            Self::Syntax => f.write_str("the PN532 refused the command frame (error frame)"),
            Self::Unexpected => f.write_str("a frame other than the one expected"),
            Self::Malformed => f.write_str("a response too short or with inconsistent fields"),
            Self::Status(s) => write!(f, "PN532 status {s:02X}"),
            Self::MoreInformation => f.write_str("the card sent more than the PN532 buffers"),
            Self::TooLong => f.write_str("the command data does not fit one frame"),
        }
    }
}

impl<E: core::fmt::Debug + 'static> core::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Link(e) => Some(e),
            _ => None,
        }
    }
}

/// What GetFirmwareVersion reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FirmwareVersion {
    /// `0x32` for a PN532.
    pub ic: u8,
    /// Firmware version.
    pub ver: u8,
    /// Firmware revision.
    pub rev: u8,
    /// Supported protocols (bit 0 ISO 14443 A, bit 1 B, bit 2 ISO 18092).
    pub support: u8,
}

/// An activated ISO/IEC 14443 A target (InListPassiveTarget, 106 kbps type A).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TargetA {
    /// The PN532's logical number for it (`Tg`).
    pub tg: u8,
    /// ATQA (SENS_RES), as sent.
    pub atqa: [u8; 2],
    /// SAK (SEL_RES).
    pub sak: u8,
    /// The anticollision UID (NFCID1): 4, 7 or 10 bytes.
    pub uid: Vec<u8, 10>,
    /// The ATS after RATS, when the card is ISO-DEP (SAK bit 6).
    pub ats: Vec<u8, 64>,
}

/// The PN532 over a link, with a clock for its timeouts.
pub struct Pn532<I, C> {
    iface: I,
    clock: C,
    /// Timeouts in use.
    pub timeouts: Timeouts,
    /// One buffer for the command frame and then its answer (the link is half duplex).
    buf: [u8; MAX_FRAME],
}

impl<I, C> core::fmt::Debug for Pn532<I, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pn532")
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl<I: Interface, C: Clock> Pn532<I, C> {
    /// A driver over `iface`.
    pub fn new(iface: I, clock: C) -> Self {
        Self {
            iface,
            clock,
            timeouts: Timeouts::DEFAULT,
            buf: [0; MAX_FRAME],
        }
    }

    /// The link and the clock back.
    pub fn into_parts(self) -> (I, C) {
        (self.iface, self.clock)
    }

    /// The clock (for the application's own timing).
    pub fn clock(&mut self) -> &mut C {
        &mut self.clock
    }

    /// Wake-up, SAMConfiguration normal mode (no SAM), then the passive activation retries.
    pub fn init(&mut self) -> Result<FirmwareVersion, Error<I::Error>> {
        self.iface
            .wake_up()
            .map_err(|e| Error::Link(LinkError::Bus(e)))?;
        // Mode 01 normal, timeout 0x14 (1 s, virtual card mode only), IRQ used.
        let t = self.timeouts.response_ms;
        self.command(cmd::SAM_CONFIGURATION, &[0x01, 0x14, 0x01], t)?;
        let v = self.firmware_version()?;
        self.set_passive_retries(2)?;
        Ok(v)
    }

    /// GetFirmwareVersion.
    pub fn firmware_version(&mut self) -> Result<FirmwareVersion, Error<I::Error>> {
        let t = self.timeouts.response_ms;
        match *self.command(cmd::GET_FIRMWARE_VERSION, &[], t)? {
            [ic, ver, rev, support] => Ok(FirmwareVersion {
                ic,
                ver,
                rev,
                support,
            }),
            _ => Err(Error::Malformed),
        }
    }

    /// RFConfiguration item 5 (MaxRetries): how often InListPassiveTarget tries to activate a
    /// card before it answers "no target" (`FF` would be forever, and a poll would block).
    pub fn set_passive_retries(&mut self, retries: u8) -> Result<(), Error<I::Error>> {
        let t = self.timeouts.response_ms;
        // Item 05: MxRtyATR (default FF), MxRtyPSL (default 01), MxRtyPassiveActivation.
        self.command(cmd::RF_CONFIGURATION, &[0x05, 0xFF, 0x01, retries], t)?;
        Ok(())
    }

    /// InListPassiveTarget, one target, 106 kbps type A. `None` when no card answered.
    pub fn list_passive_target(&mut self) -> Result<Option<TargetA>, Error<I::Error>> {
        let t = self.timeouts.poll_ms;
        let resp = self.command(cmd::IN_LIST_PASSIVE_TARGET, &[0x01, 0x00], t)?;
        parse_target_a(resp)
    }

    /// InDataExchange with target `tg`: sends `data`, writes the card's answer into `out`.
    pub fn data_exchange(
        &mut self,
        tg: u8,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error<I::Error>> {
        if data.len() > MAX_EXCHANGE {
            return Err(Error::TooLong);
        }
        let t = self.timeouts.exchange_ms;
        let resp = self.command_parts(cmd::IN_DATA_EXCHANGE, &[tg], data, t)?;
        let (status, answer) = resp.split_first().ok_or(Error::Malformed)?;
        check_status(*status)?;
        out.get_mut(..answer.len())
            .ok_or(Error::TooLong)?
            .copy_from_slice(answer);
        Ok(answer.len())
    }

    /// InRelease of target `tg` (0: all): the card leaves ISO-DEP (DESELECT).
    pub fn release(&mut self, tg: u8) -> Result<(), Error<I::Error>> {
        let t = self.timeouts.response_ms;
        let resp = self.command(cmd::IN_RELEASE, &[tg], t)?;
        check_status(*resp.first().ok_or(Error::Malformed)?)
    }

    /// Sends command `code` with `data`, waits for the ACK and the response, and returns the
    /// response data after its code (`code + 1`).
    pub fn command(
        &mut self,
        code: u8,
        data: &[u8],
        timeout_ms: u32,
    ) -> Result<&[u8], Error<I::Error>> {
        self.command_parts(code, &[], data, timeout_ms)
    }

    fn command_parts(
        &mut self,
        code: u8,
        head: &[u8],
        data: &[u8],
        timeout_ms: u32,
    ) -> Result<&[u8], Error<I::Error>> {
        let n = frame::encode_parts(code, head, data, &mut self.buf).map_err(|_| Error::TooLong)?;
        let frame = self.buf.get(..n).ok_or(Error::TooLong)?;
        self.iface
            .send(frame)
            .map_err(|e| Error::Link(LinkError::Bus(e)))?;
        // The ACK: an ACK frame is 6 bytes; noise before it is skipped by the parser.
        let deadline = Deadline::after(&mut self.clock, self.timeouts.ack_ms);
        let got = self
            .iface
            .receive(&mut self.buf, frame::ACK.len(), &mut self.clock, deadline)?;
        match frame::parse(self.buf.get(..got).unwrap_or_default()) {
            Ok((Frame::Ack, _)) => {}
            Ok((Frame::Nack, _)) => return Err(Error::Nack),
            Ok((Frame::Error, _)) => return Err(Error::Syntax),
            Ok(_) => return Err(Error::Unexpected),
            Err(e) => return Err(Error::Link(LinkError::Frame(e))),
        }
        let deadline = Deadline::after(&mut self.clock, timeout_ms);
        let got = match self
            .iface
            .receive(&mut self.buf, MAX_FRAME, &mut self.clock, deadline)
        {
            Ok(n) => n,
            Err(LinkError::Timeout) => {
                // An ACK from the host aborts the command still running (UM0701 §6.2.1.3),
                // so the next command does not meet its late answer.
                self.iface
                    .send(&frame::ACK)
                    .map_err(|e| Error::Link(LinkError::Bus(e)))?;
                return Err(Error::Link(LinkError::Timeout));
            }
            Err(e) => return Err(e.into()),
        };
        let reply = code.wrapping_add(1);
        match frame::parse(self.buf.get(..got).unwrap_or_default()) {
            Ok((Frame::Information { tfi, data }, _)) if tfi == TFI_PN532 => match data {
                [c, rest @ ..] if *c == reply => Ok(rest),
                _ => Err(Error::Unexpected),
            },
            Ok((Frame::Error, _)) => Err(Error::Syntax),
            Ok(_) => Err(Error::Unexpected),
            Err(FrameError::Incomplete) => Err(Error::Malformed),
            Err(e) => Err(Error::Link(LinkError::Frame(e))),
        }
    }
}

/// The status byte of InDataExchange and InRelease (UM0701 §7.1): bits 0-5 the error code,
/// bit 6 MI (more information), bit 7 NAD used.
fn check_status<E>(status: u8) -> Result<(), Error<E>> {
    if status & 0x3F != 0 {
        return Err(Error::Status(status & 0x3F));
    }
    if status & 0x40 != 0 {
        return Err(Error::MoreInformation);
    }
    Ok(())
}

/// The answer of InListPassiveTarget for 106 kbps type A (UM0701 §7.3.5):
/// `NbTg [Tg SENS_RES[2] SEL_RES NFCIDLength NFCID1[n] [ATS...]]`. The ATS starts with its own
/// length byte (TL), which counts itself.
pub fn parse_target_a<E>(resp: &[u8]) -> Result<Option<TargetA>, Error<E>> {
    let (nb, rest) = resp.split_first().ok_or(Error::Malformed)?;
    match nb {
        0 => return Ok(None),
        1 => {}
        _ => return Err(Error::Malformed),
    }
    let [tg, atqa0, atqa1, sak, uid_len, rest @ ..] = rest else {
        return Err(Error::Malformed);
    };
    let (uid, rest) = rest
        .split_at_checked(usize::from(*uid_len))
        .ok_or(Error::Malformed)?;
    if !matches!(uid.len(), 4 | 7 | 10) {
        return Err(Error::Malformed);
    }
    let ats = match rest.first() {
        None => &[][..],
        Some(&tl) => {
            if usize::from(tl) != rest.len() || tl == 0 {
                return Err(Error::Malformed);
            }
            rest
        }
    };
    Ok(Some(TargetA {
        tg: *tg,
        atqa: [*atqa0, *atqa1],
        sak: *sak,
        uid: Vec::from_slice(uid).map_err(|_| Error::Malformed)?,
        ats: Vec::from_slice(ats).map_err(|_| Error::Malformed)?,
    }))
}
