//! The CMSDK APB UART of the MPS2 boards (ARM DDI 0479C §4.3): DATA +0, STATE +4 (bit 0 TX
//! full, bit 1 RX full), CTRL +8 (bit 0 TX enable, bit 1 RX enable), BAUDDIV +0x10 (≥ 16).
//! No crate drives it, so here it is, as `embedded_io` Read, ReadReady and Write.

use core::convert::Infallible;
use core::ptr::{read_volatile, write_volatile};

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;

/// UART0 (the PN532 HSU link).
pub const UART0: usize = 0x4000_4000;
/// UART1 (the OSDP line).
pub const UART1: usize = 0x4000_5000;

/// One CMSDK UART.
#[derive(Debug)]
pub struct CmsdkUart {
    base: usize,
}

impl CmsdkUart {
    /// Enables the UART at `base` (one of [`UART0`], [`UART1`]) with `bauddiv` (25 MHz / baud).
    ///
    /// # Safety
    /// `base` must be a CMSDK UART of this board that nothing else drives.
    pub unsafe fn new(base: usize, bauddiv: u32) -> Self {
        let u = Self { base };
        u.set(BAUDDIV, bauddiv.max(16));
        u.set(CTRL, CTRL_TX_EN | CTRL_RX_EN);
        // QEMU's model: without one read of DATA after enabling RX, the first byte received
        // arrives a second late (TOOLING.md).
        let _ = u.reg(DATA);
        u
    }

    fn reg(&self, offset: usize) -> u32 {
        // SAFETY: `base` is a UART of this board (constructor contract); the offsets are its
        // registers, 32-bit aligned.
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn set(&self, offset: usize, value: u32) {
        // SAFETY: as in `reg`.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }

    fn rx_ready(&self) -> bool {
        self.reg(STATE) & STATE_RX_FULL != 0
    }
}

impl embedded_io::ErrorType for CmsdkUart {
    type Error = Infallible;
}

impl embedded_io::ReadReady for CmsdkUart {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        Ok(self.rx_ready())
    }
}

impl embedded_io::Read for CmsdkUart {
    /// Blocks until at least one byte is there, then returns what is there (one byte: the
    /// model has a one-byte receive register).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let Some(first) = buf.first_mut() else {
            return Ok(0);
        };
        while !self.rx_ready() {}
        *first = self.reg(DATA) as u8;
        Ok(1)
    }
}

impl embedded_io::Write for CmsdkUart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for b in buf {
            while self.reg(STATE) & STATE_TX_FULL != 0 {}
            self.set(DATA, u32::from(*b));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// The OSDP line: the model takes a whole reply at once, no transceiver to switch.
impl reader::output::OsdpLine for CmsdkUart {
    fn receive(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        for slot in buf.iter_mut() {
            if !self.rx_ready() {
                break;
            }
            *slot = self.reg(DATA) as u8;
            n += 1;
        }
        n
    }

    fn send(&mut self, reply: &[u8]) {
        let _ = embedded_io::Write::write_all(self, reply);
    }
}
