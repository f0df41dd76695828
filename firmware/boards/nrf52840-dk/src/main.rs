//! The GEN-PACS reader on the nRF52840-DK: pins and init only, the behaviour is `reader`'s
//! (`reader::station` runs the loop).
//!
//! | function            | pin            | peripheral                                   |
//! |---------------------|----------------|----------------------------------------------|
//! | PN532 SDA / SCL     | P0.26 / P0.27  | TWIM0, 400 kHz (PN532 in I2C mode)           |
//! | RS-485 RO / DI / DE | P1.01 / P1.02 / P1.03 | UARTE0 115200 8N1 (buffered), GPIO DE+/RE |
//! | Wiegand D0 / D1     | P1.10 / P1.11  | feature `legacy-wiegand`, instead of OSDP: GPIO, TIMER2 |
//! | LED grant / deny    | P0.13 / P0.14  | LED1 / LED2 (active low)                     |
//! | buzzer              | P1.04          | GPIO, active buzzer                          |
//! | tamper contact      | P0.03          | input, pull-up: closed housing = low         |
//!
//! Keys come from the key record in the last flash page (`memory.x` `KEYS`), written at
//! provisioning; the image holds none. Without a valid record the reader does not start: it
//! blinks the deny LED and logs why.
#![no_std]
#![no_main]

mod flash;
mod io;
/// The panel output, a type (`line::Line`): OSDP (`osdp_line`), or with the feature
/// `legacy-wiegand` the labelled legacy Wiegand lines (`wiegand_line`; spec §14, R13: the
/// installation must be labelled "legacy grade").
#[cfg_attr(not(feature = "legacy-wiegand"), path = "osdp_line.rs")]
#[cfg_attr(feature = "legacy-wiegand", path = "wiegand_line.rs")]
mod line;
mod protect;

#[cfg(feature = "debug-port")]
use defmt_rtt as _;
use desfire_core::encoding::{IssuerKey, Masters, ReaderConfig};
use embassy_nrf::gpio::{Input, Level, Output, OutputDrive, Pull};
use embassy_nrf::rng::Rng;
use panic_probe as _;
use pn532::Clock as _;
use reader::frontend::Pn532FrontEnd;
use reader::output::Output as _;
use reader::provisioned::Provisioned;
use reader::station::Station;
use reader::time::TrustedClock;
use reader::{Event, Reader};

use crate::flash::FlashFloor;
use crate::io::{Indicators, RtcClock, TamperContact, refuse};

/// When the image was built (build.rs), Unix seconds.
const BUILD_UNIX_TIME: u32 = match u32::from_str_radix(env!("BUILD_UNIX_TIME"), 10) {
    Ok(t) => t,
    Err(_) => 0,
};

/// How often the reader looks for a card, milliseconds.
const POLL_EVERY_MS: u32 = 50;

type DkReader = Reader<'static, Pn532FrontEnd<io::Pn532I2c, RtcClock>, Masters, io::Trng>;

type DkStation = Station<line::Line, Indicators, TamperContact, FlashFloor, RtcClock>;

#[cortex_m_rt::entry]
fn main() -> ! {
    let (reader, mut station) = init();
    loop {
        if let Some(Event::Tamper(true)) = station.step(reader) {
            // R17: the reader wiped the keys in RAM; the record in flash goes too.
            flash::erase_key_record(&mut station.clock().store_mut().0);
        }
    }
}

/// The debug-port check (`protect`), the key record, the panel output, the PN532, the reader
/// and the time. The long-lived state (PD, reader) lives in statics, and `init` returns before the first
/// card: its temporaries (embassy's peripherals, the parsed key record, ~1.8 KB of frame) are
/// not under the transaction's frames (stack high-water mark).
#[inline(never)]
fn init() -> (&'static mut DkReader, DkStation) {
    let p = embassy_nrf::init(protect::hal_config());
    if !protect::debug_port_ok() {
        // Before the key record is even read.
        refuse(p.P0_14)
    }

    let prov = match Provisioned::parse(flash::key_record(), false) {
        Ok(prov) => prov,
        Err(e) => {
            defmt::error!("no usable key record in the KEYS page: {}", e);
            refuse(p.P0_14)
        }
    };

    // The TRNG feeds the reader's RndA directly and (OSDP) seeds the PD's generator (R5).
    #[cfg_attr(feature = "legacy-wiegand", allow(unused_mut))]
    let mut trng = Rng::new_blocking(p.RNG);
    #[cfg(not(feature = "legacy-wiegand"))]
    let Some(mut output) = line::output(
        (p.UARTE0, p.TIMER1),
        (p.PPI_CH0, p.PPI_CH1, p.PPI_GROUP0),
        (p.P1_01, p.P1_02, p.P1_03),
        &prov,
        &mut trng,
    ) else {
        refuse(p.P0_14)
    };
    #[cfg(feature = "legacy-wiegand")]
    let mut output = line::output(p.P1_10, p.P1_11, p.TIMER2);

    let Some(mut pn532) = io::pn532(p.TWISPI0, p.P0_26, p.P0_27) else {
        refuse(p.P0_14)
    };
    reader::station::start_pn532(&mut pn532, &mut output, &mut RtcClock);

    let Some(issuer_keys) = cortex_m::singleton!(: [IssuerKey; 1] = [prov.issuer_key.clone()])
    else {
        refuse(p.P0_14)
    };
    let config = ReaderConfig {
        allow_fixed_uid: prov.allow_fixed_uid,
        // Wiegand: step 11 then denies a credential without tag 86 (NO_LEGACY_IMAGE), and
        // nothing is sent.
        output: line::Line::FORMAT,
        ..ReaderConfig::new(prov.aid, issuer_keys)
    };
    if let Err(e) = reader::check_config(&config) {
        defmt::error!("refusing to start: {}", e);
        refuse(p.P0_14)
    }
    let Some(reader) = cortex_m::singleton!(: DkReader = Reader::new(
        Pn532FrontEnd::new(pn532),
        config,
        prov.masters.clone(),
        trng,
    )) else {
        refuse(p.P0_14)
    };
    drop(prov);

    let signals = Indicators {
        grant: Output::new(p.P0_13, Level::High, OutputDrive::Standard),
        deny: Output::new(p.P0_14, Level::High, OutputDrive::Standard),
        buzzer: Output::new(p.P1_04, Level::Low, OutputDrive::Standard),
    };
    let tamper = TamperContact(Input::new(p.P0_03, Pull::Up));
    // Time: the floor from flash (build time if none), trusted once the panel sets it.
    let floor = FlashFloor(embassy_nrf::nvmc::Nvmc::new(p.NVMC));
    let clock = TrustedClock::new(floor, BUILD_UNIX_TIME, RtcClock.now_ms());
    let station = Station::new(output, signals, tamper, clock, RtcClock, POLL_EVERY_MS);
    (reader, station)
}
