//! Time from SysTick: a 1 ms interrupt counts milliseconds (the PN532 timeouts), and the
//! counter inside the millisecond gives core-clock ticks for the measurements. The MPS2 core
//! clock is 25 MHz; under `qemu-system-arm -icount shift=0` one instruction is 1 ns of virtual
//! time, so one tick is 40 instructions.

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

/// Core clock of the MPS2 FPGA images.
pub const CORE_HZ: u32 = 25_000_000;
const RELOAD: u32 = CORE_HZ / 1000 - 1;

static MILLIS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    MILLIS.fetch_add(1, Ordering::Relaxed);
}

/// Starts the 1 ms tick.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Milliseconds since [`start`].
pub fn millis() -> u32 {
    MILLIS.load(Ordering::Relaxed)
}

/// Core-clock ticks since [`start`] (wraps after ~171 s).
pub fn ticks() -> u32 {
    loop {
        let before = millis();
        let down = SYST::get_current();
        if millis() == before {
            return before
                .wrapping_mul(RELOAD + 1)
                .wrapping_add(RELOAD - down.min(RELOAD));
        }
    }
}

/// The PN532 driver's clock.
#[derive(Debug, Default)]
pub struct Millis;

impl pn532::Clock for Millis {
    fn now_ms(&mut self) -> u32 {
        millis()
    }
}
