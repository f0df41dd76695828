//! The labelled legacy panel line (feature `legacy-wiegand`, spec §14 and R13): the tag 86
//! image on Wiegand D0/D1 (P1.10 / P1.11), nothing else. The reader runs with
//! `OutputFormat::LegacyWiegand` (`Output::FORMAT`), so a credential without tag 86 is denied
//! `NO_LEGACY_IMAGE` before anything is sent.

use embassy_nrf::Peri;
use embassy_nrf::gpio::{Level, Output, OutputDrive};
use embassy_nrf::peripherals::{P1_10, P1_11, TIMER2};
use embassy_nrf::timer::{Frequency, Timer};
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::PinState;
use reader::output::Wiegand;
use reader::wiegand::{GpioLines, Timing, WiegandLines};

/// The panel output of this build.
pub type Line = Wiegand<Lines>;

/// A microsecond delay on a TIMER at 1 MHz (HFCLK): the 50 µs pulse is then 50 µs, where the
/// RTC1 time base (32.768 kHz, 30.5 µs a tick) would make it anything from 31 to 61 µs.
pub struct TimerDelay(Timer<'static>);

impl TimerDelay {
    /// The timer at 1 MHz, stopped until a delay runs.
    fn new(timer: Timer<'static>) -> Self {
        timer.set_frequency(Frequency::F1MHz);
        timer.stop();
        Self(timer)
    }
}

impl DelayNs for TimerDelay {
    fn delay_ns(&mut self, ns: u32) {
        let us = ns.div_ceil(1000);
        self.0.clear();
        self.0.start();
        // CC[0] takes the counter on each capture; at 1 MHz a u32 delay of ns never wraps it.
        while self.0.cc(0).capture() < us {}
        self.0.stop();
    }
}

/// D0 and D1 through one N-channel MOSFET each (GPIO high pulls the panel's line low), each
/// pulse in a critical section: an interrupt in the middle of a 50 µs pulse would stretch it.
pub struct Lines(GpioLines<Output<'static>, Output<'static>, TimerDelay>);

impl WiegandLines for Lines {
    fn pulse(&mut self, one: bool, us: u32) {
        cortex_m::interrupt::free(|_| self.0.pulse(one, us));
    }

    fn wait_us(&mut self, us: u32) {
        self.0.wait_us(us);
    }
}

/// The Wiegand output, 50 µs pulses every 2 ms, timed by TIMER2. Both GPIOs start low: both
/// MOSFETs off, the panel's lines idle high.
pub fn output(
    d0: Peri<'static, P1_10>,
    d1: Peri<'static, P1_11>,
    timer: Peri<'static, TIMER2>,
) -> Line {
    Wiegand {
        lines: Lines(GpioLines::new(
            Output::new(d0, Level::Low, OutputDrive::Standard),
            Output::new(d1, Level::Low, OutputDrive::Standard),
            TimerDelay::new(Timer::new(timer)),
            PinState::High,
        )),
        timing: Timing::COMMON,
    }
}
