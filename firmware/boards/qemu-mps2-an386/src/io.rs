//! The MPS2 FPGA I/O block: LEDs show the decision, button 0 (or a word in RAM) is the tamper
//! contact.

use core::sync::atomic::{AtomicU32, Ordering};
use reader::{Signal, Signals, TamperInput};

const FPGAIO_LED: usize = 0x4002_8000;
const FPGAIO_BUTTON: usize = 0x4002_8008;
const LED_GREEN: u32 = 1 << 0;
const LED_RED: u32 = 1 << 1;

/// LED0 green (grant), LED1 red (deny, tamper); QEMU has no buzzer, the log says it.
pub struct Leds;

impl Signals for Leds {
    fn indicate(&mut self, signal: Signal) {
        let leds = match signal {
            Signal::Grant => LED_GREEN,
            Signal::Deny | Signal::Tamper => LED_RED,
        };
        // SAFETY: the FPGAIO LED register of this board, written by nothing else.
        unsafe { core::ptr::write_volatile(FPGAIO_LED as *mut u32, leds) };
        defmt::info!("signal {}", signal);
    }
}

/// The tamper contact as a word in RAM, non-zero = housing open. QEMU 7.2 does not model
/// pressing the MPS2 FPGA buttons (the register reads 0), so the end-to-end test "presses" the
/// contact by writing this word through QEMU's gdbstub (firmware/tests/e2e_qemu.py).
#[unsafe(no_mangle)]
static TAMPER_CONTACT: AtomicU32 = AtomicU32::new(0);

/// Button 0 pressed, or the contact word set = housing open.
pub struct TamperButton;

impl TamperInput for TamperButton {
    fn tampered(&mut self) -> bool {
        // SAFETY: the FPGAIO button register, read-only.
        let button = unsafe { core::ptr::read_volatile(FPGAIO_BUTTON as *const u32) & 1 != 0 };
        button || TAMPER_CONTACT.load(Ordering::Relaxed) != 0
    }
}
