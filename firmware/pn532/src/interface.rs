//! The three host links of the PN532 (UM0701 §6.2.2-§6.2.5): HSU over any `embedded_io` UART,
//! I2C over `embedded_hal::i2c::I2c` and SPI over `embedded_hal::spi::SpiDevice`. Each turns
//! "send this frame" and "receive the next frame before this deadline" into its own framing;
//! the frame format itself is [`crate::frame`]'s.

use crate::frame::{self, FrameError};
use embedded_hal::i2c::I2c as I2cBus;
use embedded_hal::spi::{Operation, SpiDevice};
use embedded_io::{Read, ReadReady, Write};

/// A millisecond clock from a hardware timer: every timeout in this crate is measured with it,
/// never with loop counts (a busy loop's speed depends on the core, the cache and, in QEMU, on
/// the host).
pub trait Clock {
    /// Milliseconds since some start, wrapping.
    fn now_ms(&mut self) -> u32;
}

impl<C: Clock + ?Sized> Clock for &mut C {
    fn now_ms(&mut self) -> u32 {
        (**self).now_ms()
    }
}

/// A point in time `timeout_ms` after it was made.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    start: u32,
    timeout_ms: u32,
}

impl Deadline {
    /// `timeout_ms` from now.
    pub fn after(clock: &mut (impl Clock + ?Sized), timeout_ms: u32) -> Self {
        Self {
            start: clock.now_ms(),
            timeout_ms,
        }
    }

    /// Whether the deadline has passed (wrapping-safe for timeouts under 2^31 ms).
    pub fn passed(&self, clock: &mut (impl Clock + ?Sized)) -> bool {
        clock.now_ms().wrapping_sub(self.start) >= self.timeout_ms
    }
}

/// A link failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LinkError<E> {
    /// No complete frame before the deadline.
    Timeout,
    /// The bytes received are not a frame (checksum, length).
    Frame(FrameError),
    /// The bus or UART failed.
    Bus(E),
}

impl<E: core::fmt::Debug> core::fmt::Display for LinkError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Timeout => f.write_str("no complete frame before the deadline"),
            Self::Frame(e) => write!(f, "broken frame: {e}"),
            Self::Bus(e) => write!(f, "bus error: {e:?}"),
        }
    }
}

impl<E: core::fmt::Debug + 'static> core::error::Error for LinkError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Frame(e) => Some(e),
            _ => None,
        }
    }
}

/// What the driver needs from a link.
pub trait Interface {
    /// The bus error.
    type Error: core::fmt::Debug;

    /// Wakes the PN532 from power-down before the first command (HSU needs a long preamble;
    /// I2C and SPI wake on their select line and do nothing here).
    fn wake_up(&mut self) -> Result<(), Self::Error>;

    /// Sends one whole frame.
    fn send(&mut self, frame: &[u8]) -> Result<(), Self::Error>;

    /// Receives bytes until `buf` holds one complete frame (which [`frame::parse`] reads) and
    /// returns how many bytes of `buf` are filled. `max` bounds what the PN532 may send for the
    /// expected frame (an ACK is 6 bytes), so I2C and SPI read no more than that.
    fn receive(
        &mut self,
        buf: &mut [u8],
        max: usize,
        clock: &mut dyn Clock,
        deadline: Deadline,
    ) -> Result<usize, LinkError<Self::Error>>;
}

/// Whether `buf` holds a complete frame, or a broken one.
fn frame_state(buf: &[u8]) -> Result<bool, FrameError> {
    match frame::parse(buf) {
        Ok(_) => Ok(true),
        Err(FrameError::Incomplete) => Ok(false),
        Err(e) => Err(e),
    }
}

/// High-speed UART (HSU), 115200 8N1 by default.
#[derive(Debug)]
pub struct Hsu<U> {
    uart: U,
}

impl<U> Hsu<U> {
    /// Over `uart`.
    pub fn new(uart: U) -> Self {
        Self { uart }
    }

    /// The UART back.
    pub fn release(self) -> U {
        self.uart
    }
}

/// The HSU wake-up (UM0701 §6.3.2.3): `55 55` then zeros long enough for the PN532 to leave
/// power-down before SAMConfiguration.
const HSU_WAKE_UP: [u8; 16] = [0x55, 0x55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

impl<U: Read + Write + ReadReady> Interface for Hsu<U> {
    type Error = U::Error;

    fn wake_up(&mut self) -> Result<(), Self::Error> {
        self.uart.write_all(&HSU_WAKE_UP)?;
        self.uart.flush()
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), Self::Error> {
        self.uart.write_all(frame)?;
        self.uart.flush()
    }

    fn receive(
        &mut self,
        buf: &mut [u8],
        max: usize,
        clock: &mut dyn Clock,
        deadline: Deadline,
    ) -> Result<usize, LinkError<Self::Error>> {
        let mut filled = 0usize;
        let limit = max.min(buf.len());
        loop {
            if self.uart.read_ready().map_err(LinkError::Bus)? {
                let free = buf.get_mut(filled..limit).unwrap_or_default();
                if free.is_empty() {
                    return Err(LinkError::Frame(FrameError::TooLong));
                }
                let n = self.uart.read(free).map_err(LinkError::Bus)?;
                filled = filled.saturating_add(n).min(limit);
                let got = buf.get(..filled).unwrap_or_default();
                if frame_state(got).map_err(LinkError::Frame)? {
                    return Ok(filled);
                }
            } else if deadline.passed(clock) {
                return Err(LinkError::Timeout);
            }
        }
    }
}

/// The I2C address of the PN532 (UM0701 §6.2.4: `0x48` with the R/W bit, 7-bit `0x24`).
pub const I2C_ADDRESS: u8 = 0x24;

/// I2C: each read starts with a status byte whose bit 0 says the PN532 is ready; the frame
/// follows it in the same read (UM0701 §6.2.4).
#[derive(Debug)]
pub struct I2c<B> {
    bus: B,
    address: u8,
}

impl<B> I2c<B> {
    /// The PN532 at [`I2C_ADDRESS`] on `bus`.
    pub fn new(bus: B) -> Self {
        Self {
            bus,
            address: I2C_ADDRESS,
        }
    }

    /// The bus back.
    pub fn release(self) -> B {
        self.bus
    }
}

/// Bit 0 of the I2C and SPI status byte: a frame is ready.
const READY: u8 = 0x01;

impl<B: I2cBus> Interface for I2c<B> {
    type Error = B::Error;

    fn wake_up(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), Self::Error> {
        self.bus.write(self.address, frame)
    }

    fn receive(
        &mut self,
        buf: &mut [u8],
        max: usize,
        clock: &mut dyn Clock,
        deadline: Deadline,
    ) -> Result<usize, LinkError<Self::Error>> {
        // The status byte, then the frame.
        let len = max.saturating_add(1).min(buf.len());
        let window = buf.get_mut(..len).unwrap_or_default();
        loop {
            self.bus
                .read(self.address, window)
                .map_err(LinkError::Bus)?;
            if window.first().is_some_and(|s| s & READY != 0) {
                return ready_frame(window);
            }
            if deadline.passed(clock) {
                return Err(LinkError::Timeout);
            }
        }
    }
}

/// Moves the frame after the status byte to the front of `window`.
fn ready_frame<E>(window: &mut [u8]) -> Result<usize, LinkError<E>> {
    // `rotate_left(1)` by swaps: the same bytes, without linking a generic memmove (~1.6 KB
    // of flash on the nRF image).
    let mut rest = window.iter_mut();
    if let Some(mut carried) = rest.next() {
        for next in rest {
            core::mem::swap(carried, next);
            carried = next;
        }
    }
    let n = window.len().saturating_sub(1);
    let got = window.get(..n).unwrap_or_default();
    if frame_state(got).map_err(LinkError::Frame)? {
        Ok(n)
    } else {
        Err(LinkError::Frame(FrameError::Incomplete))
    }
}

/// The bit order of the SPI bus: the PN532 sends and expects LSB first (UM0701 §6.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOrder {
    /// The SPI peripheral is configured LSB first: bytes go as they are.
    LsbFirst,
    /// The SPI peripheral only does MSB first: every byte is bit-reversed in software.
    MsbFirst,
}

/// SPI mode 0: a data-write (`01`), status-read (`02`) or data-read (`03`) byte starts each
/// transaction (UM0701 §6.2.5).
#[derive(Debug)]
pub struct Spi<D> {
    device: D,
    order: BitOrder,
}

const SPI_DATA_WRITE: u8 = 0x01;
const SPI_STATUS_READ: u8 = 0x02;
const SPI_DATA_READ: u8 = 0x03;
/// Longest frame the SPI link sends in one transaction.
const SPI_MAX_TX: usize = frame::MAX_FRAME.saturating_add(1);

impl<D> Spi<D> {
    /// The PN532 behind `device` (which owns the chip select).
    pub fn new(device: D, order: BitOrder) -> Self {
        Self { device, order }
    }

    /// The device back.
    pub fn release(self) -> D {
        self.device
    }

    fn wire(&self, b: u8) -> u8 {
        match self.order {
            BitOrder::LsbFirst => b,
            BitOrder::MsbFirst => b.reverse_bits(),
        }
    }
}

impl<D: SpiDevice> Interface for Spi<D> {
    type Error = D::Error;

    fn wake_up(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), Self::Error> {
        let mut tx = [0u8; SPI_MAX_TX];
        let mut n = 0usize;
        for (slot, b) in tx
            .iter_mut()
            .zip(core::iter::once(&SPI_DATA_WRITE).chain(frame))
        {
            *slot = self.wire(*b);
            n = n.saturating_add(1);
        }
        self.device.write(tx.get(..n).unwrap_or_default())
    }

    fn receive(
        &mut self,
        buf: &mut [u8],
        max: usize,
        clock: &mut dyn Clock,
        deadline: Deadline,
    ) -> Result<usize, LinkError<Self::Error>> {
        loop {
            let mut status = [0u8; 1];
            self.device
                .transaction(&mut [
                    Operation::Write(&[self.wire(SPI_STATUS_READ)]),
                    Operation::Read(&mut status),
                ])
                .map_err(LinkError::Bus)?;
            if self.wire(status[0]) & READY != 0 {
                break;
            }
            if deadline.passed(clock) {
                return Err(LinkError::Timeout);
            }
        }
        let len = max.min(buf.len());
        let window = buf.get_mut(..len).unwrap_or_default();
        self.device
            .transaction(&mut [
                Operation::Write(&[self.wire(SPI_DATA_READ)]),
                Operation::Read(window),
            ])
            .map_err(LinkError::Bus)?;
        for b in window.iter_mut() {
            *b = self.wire(*b);
        }
        if frame_state(window).map_err(LinkError::Frame)? {
            Ok(len)
        } else {
            Err(LinkError::Frame(FrameError::Incomplete))
        }
    }
}
