//! Legacy Wiegand output (spec §14 "legacy grade", R13): the `n` bits of the credential's tag 86
//! image, in order, as pulses on D0 (a 0) or D1 (a 1). Timing per the common 26/34/37-bit
//! conventions: a 50 µs low pulse, one bit every 2 ms (SIA AC-01: 20-100 µs and 0.2-20 ms; a
//! controller tolerates these). The image already holds its parity bits; [`parity_ok`] checks
//! them for the three common formats.

use core::convert::Infallible;
use desfire_core::encoding::LegacyImage;
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{OutputPin, PinState};

/// Pulse width and bit period in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long a line is pulled low for one bit.
    pub pulse_us: u32,
    /// From the start of one pulse to the start of the next.
    pub period_us: u32,
}

impl Timing {
    /// 50 µs pulses every 2 ms.
    pub const COMMON: Self = Self {
        pulse_us: 50,
        period_us: 2000,
    };
}

/// The two data lines (board side: open-collector outputs, idle high).
pub trait WiegandLines {
    /// Pulls D1 low (a 1) or D0 low (a 0) for `us` microseconds, then releases it.
    fn pulse(&mut self, one: bool, us: u32);
    /// Waits `us` microseconds.
    fn wait_us(&mut self, us: u32);
}

/// D0 and D1 on two GPIOs, timed by a microsecond delay (a hardware timer on a board).
///
/// A Wiegand panel pulls both lines up (to 5 V, usually) and the reader pulls one low per bit,
/// open collector. A 3.3 V MCU does that through a transistor per line, which inverts: the GPIO
/// goes high to pull the line low. `pulse_level` is the GPIO level that pulls a line low
/// ([`PinState::High`] through an N-channel MOSFET or NPN, [`PinState::Low`] through a
/// non-inverting open-drain buffer); the other level releases it. The pins must be released
/// (`!pulse_level`) when this is made, so the panel sees no bit at power-up.
///
/// GPIO writes cannot fail on the MCUs this drives (`Error = Infallible`), so a bit can never
/// be half sent.
#[derive(Debug)]
pub struct GpioLines<D0, D1, T> {
    d0: D0,
    d1: D1,
    timer: T,
    pulse_level: PinState,
}

impl<D0, D1, T> GpioLines<D0, D1, T>
where
    D0: OutputPin<Error = Infallible>,
    D1: OutputPin<Error = Infallible>,
    T: DelayNs,
{
    /// The lines on `d0` and `d1`, both released now.
    pub fn new(mut d0: D0, mut d1: D1, timer: T, pulse_level: PinState) -> Self {
        let Ok(()) = d0.set_state(!pulse_level);
        let Ok(()) = d1.set_state(!pulse_level);
        Self {
            d0,
            d1,
            timer,
            pulse_level,
        }
    }
}

impl<D0, D1, T> WiegandLines for GpioLines<D0, D1, T>
where
    D0: OutputPin<Error = Infallible>,
    D1: OutputPin<Error = Infallible>,
    T: DelayNs,
{
    fn pulse(&mut self, one: bool, us: u32) {
        let line: &mut dyn OutputPin<Error = Infallible> =
            if one { &mut self.d1 } else { &mut self.d0 };
        let Ok(()) = line.set_state(self.pulse_level);
        self.timer.delay_us(us);
        let Ok(()) = line.set_state(!self.pulse_level);
    }

    fn wait_us(&mut self, us: u32) {
        self.timer.delay_us(us);
    }
}

/// Sends `image` on the lines.
pub fn send(lines: &mut impl WiegandLines, image: &LegacyImage, timing: Timing) {
    let gap = timing.period_us.saturating_sub(timing.pulse_us);
    for bit in image.wiegand_bits() {
        lines.pulse(bit, timing.pulse_us);
        lines.wait_us(gap);
    }
}

/// Whether the leading even and trailing odd parity bits are right for the 26-bit (H10301),
/// 34-bit and 37-bit (H10304) formats: even parity over the first half, odd over the second
/// (the 37-bit halves share the middle bit). `None` for other lengths.
pub fn parity_ok(image: &LegacyImage) -> Option<bool> {
    let (first, second_from) = match image.bit_len() {
        26 => (13, 13),
        34 => (17, 17),
        37 => (19, 18),
        _ => return None,
    };
    let mut even = 0u32;
    let mut odd = 0u32;
    for (i, bit) in image.wiegand_bits().enumerate() {
        let b = u32::from(bit);
        if i < first {
            even ^= b;
        }
        if i >= second_from {
            odd ^= b;
        }
    }
    Some(even == 0 && odd == 1)
}
