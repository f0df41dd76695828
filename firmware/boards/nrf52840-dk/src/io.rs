//! The DK's PN532 on TWIM0, LEDs and buzzer, tamper contact, and the RTC1 millisecond clock.

use embassy_nrf::gpio::{Input, Level, Output, OutputDrive};
use embassy_nrf::peripherals::{P0_14, P0_26, P0_27, TWISPI0};
use embassy_nrf::{Peri, bind_interrupts, mode, rng, twim};
use embassy_time::{Duration, Instant, block_for};
use pn532::{I2c, Pn532};
use reader::{Signal, Signals, TamperInput};

bind_interrupts!(struct Irqs {
    TWISPI0 => twim::InterruptHandler<TWISPI0>;
});

/// The PN532's link: I2C on TWIM0.
pub type Pn532I2c = I2c<twim::Twim<'static>>;
/// The TRNG (the reader's RndA).
pub type Trng = rng::Rng<'static, mode::Blocking>;

/// The PN532 (in I2C mode) on P0.26 (SDA) and P0.27 (SCL) at 400 kHz. `None` if called twice.
pub fn pn532(
    twim: Peri<'static, TWISPI0>,
    sda: Peri<'static, P0_26>,
    scl: Peri<'static, P0_27>,
) -> Option<Pn532<Pn532I2c, RtcClock>> {
    let twim_ram = cortex_m::singleton!(: [u8; 16] = [0; 16])?;
    let mut config = twim::Config::default();
    config.frequency = twim::Frequency::K400;
    let i2c = twim::Twim::new(twim, Irqs, sda, scl, config, twim_ram);
    Some(Pn532::new(I2c::new(i2c), RtcClock))
}

/// Blinks the deny LED forever: the reader has no keys it may use.
pub fn refuse(deny: Peri<'static, P0_14>) -> ! {
    let mut led = Output::new(deny, Level::High, OutputDrive::Standard);
    loop {
        led.toggle();
        block_for(Duration::from_millis(250));
    }
}

/// Milliseconds from the RTC1 time driver (wrapping after 49 days).
#[derive(Clone, Copy)]
pub struct RtcClock;

impl pn532::Clock for RtcClock {
    fn now_ms(&mut self) -> u32 {
        Instant::now().as_millis() as u32
    }
}

/// LED1 (grant), LED2 (deny), both active low, and the active buzzer.
pub struct Indicators {
    pub grant: Output<'static>,
    pub deny: Output<'static>,
    pub buzzer: Output<'static>,
}

impl Signals for Indicators {
    fn indicate(&mut self, signal: Signal) {
        let (green, beep_ms) = match signal {
            Signal::Grant => (true, 80),
            Signal::Deny => (false, 400),
            Signal::Tamper => (false, 1000),
        };
        // LEDs are active low.
        self.grant.set_level(Level::from(!green));
        self.deny.set_level(Level::from(green));
        self.buzzer.set_high();
        // The OSDP line keeps receiving into its ring buffer meanwhile.
        block_for(Duration::from_millis(beep_ms));
        self.buzzer.set_low();
        defmt::info!("signal {}", signal);
    }
}

/// The tamper switch to GND with the pull-up on: closed housing = low, open = high.
pub struct TamperContact(pub Input<'static>);

impl TamperInput for TamperContact {
    fn tampered(&mut self) -> bool {
        self.0.is_high()
    }
}
