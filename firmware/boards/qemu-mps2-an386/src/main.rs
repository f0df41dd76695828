//! The GEN-PACS reader on QEMU's MPS2 AN386 (Cortex-M4F): pins and init only, the behaviour is
//! `reader`'s (`reader::station` runs the loop). UART0 is the PN532 HSU link (115200 8N1),
//! UART1 the OSDP line to the panel, the FPGA LEDs show the decision, FPGA button 0 is the
//! tamper contact, defmt logs go out over semihosting. The lab profile (spec §16 TEST keys, the
//! lab SCBK): never a real reader.
#![no_std]
#![no_main]

mod clock;
mod floor;
mod io;
#[cfg(feature = "measure")]
mod measure;
mod rng;
mod stack;
mod uart;

use cortex_m as _;
use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use defmt_semihosting as _;
use desfire_core::encoding::{IssuerKey, Masters, Revocation};
use pn532::{Hsu, Pn532};
use reader::drbg::CtrDrbg;
use reader::frontend::Pn532FrontEnd;
use reader::output::Osdp;
use reader::station::Station;
use reader::time::TrustedClock;
use reader::{Event, Reader, lab};

use crate::clock::Millis;
use crate::floor::SemihostFloor;
use crate::io::{Leds, TamperButton};
use crate::rng::lab_rng;
use crate::uart::{CmsdkUart, UART0, UART1};

defmt::timestamp!("{=u32:ms}", clock::millis());

/// The PN532 on UART0; the measure build counts the time spent in it.
#[cfg(not(feature = "measure"))]
type Front = Pn532FrontEnd<Hsu<CmsdkUart>, Millis>;
#[cfg(feature = "measure")]
type Front = measure::Timed<Pn532FrontEnd<Hsu<CmsdkUart>, Millis>>;
/// The reader of this board.
type QemuReader = Reader<'static, Front, Masters, CtrDrbg>;
/// The board's parts around the reader: the PD on UART1, LEDs, tamper, the floor file.
type QemuStation =
    Station<Osdp<'static, CmsdkUart, CtrDrbg>, Leds, TamperButton, SemihostFloor, Millis>;

/// PN532 HSU and the OSDP line both at 115200 baud.
const BAUDDIV: u32 = clock::CORE_HZ / 115_200;
/// How often the reader looks for a card, milliseconds.
const POLL_EVERY_MS: u32 = 50;

#[entry]
fn main() -> ! {
    stack::paint();
    let mut board = init();
    let (reader, station) = (&mut *board.0, &mut board.1);
    #[cfg(feature = "measure")]
    let ecdsa_ticks = measure::before_the_card();
    loop {
        #[cfg(feature = "measure")]
        let start = clock::ticks();
        if let Some(Event::Queued(_)) = station.step(reader) {
            // The reader's own compute: the time in the front end taken out (before the log
            // line below, which scans the painted stack).
            #[cfg(feature = "measure")]
            let grant_ticks = clock::ticks()
                .wrapping_sub(start)
                .wrapping_sub(reader.front_end().io_ticks);
            defmt::info!(
                "stack high-water mark {=usize} bytes",
                stack::high_water_mark()
            );
            #[cfg(feature = "measure")]
            measure::report(grant_ticks, ecdsa_ticks);
        }
    }
}

/// Clock, UARTs, PN532 (wake-up, SAMConfiguration, retries), the PD, the reader and the time.
/// The long-lived state (PD, reader) lives in statics rather than on the stack, and `init`
/// returns before the first card: its temporaries are not under the transaction's frames
/// (stack high-water mark).
#[inline(never)]
fn init() -> (&'static mut QemuReader, QemuStation) {
    let Some(core) = cortex_m::Peripherals::take() else {
        fail()
    };
    clock::start(core.SYST);
    defmt::warn!("LAB BUILD: TEST keys of spec section 16 and the lab SCBK; never a real reader");

    // SAFETY: UART0 and UART1 of this board, each driven only by what it is handed to.
    let (pn532_line, osdp_line) = unsafe {
        (
            CmsdkUart::new(UART0, BAUDDIV),
            CmsdkUart::new(UART1, BAUDDIV),
        )
    };
    let Some(pd) =
        cortex_m::singleton!(: reader::osdp::Pd = reader::osdp::Pd::new(lab::pd_config()))
    else {
        fail()
    };
    let mut output = Osdp {
        pd,
        line: osdp_line,
        rng: lab_rng(2),
    };
    let mut pn532 = Pn532::new(Hsu::new(pn532_line), Millis);
    reader::station::start_pn532(&mut pn532, &mut output, &mut Millis);

    let Some(keys) = lab::issuer_keys() else {
        fail()
    };
    let Some(issuer_keys) = cortex_m::singleton!(: [IssuerKey; 1] = keys) else {
        fail()
    };
    let Some(list) = lab::revocation() else {
        fail()
    };
    let Some(revocation) = cortex_m::singleton!(: [Revocation; 2] = list) else {
        fail()
    };
    let front = Pn532FrontEnd::new(pn532);
    #[cfg(feature = "measure")]
    let front = measure::Timed {
        inner: front,
        io_ticks: 0,
    };
    let config = lab::reader_config(issuer_keys, revocation);
    if let Err(e) = reader::check_config(&config) {
        defmt::error!("refusing to start: {}", e);
        fail()
    }
    let Some(reader) = cortex_m::singleton!(: QemuReader = Reader::new(
        front,
        config,
        lab::masters(),
        lab_rng(1),
    )) else {
        fail()
    };
    // The runner's time at boot (lab only), the panel's later, never before the floor file.
    let (boot_time, floor) = floor::boot_time();
    let mut clock = TrustedClock::new(floor, 0, clock::millis());
    if let Err(e) = clock.set(boot_time, clock::millis()) {
        defmt::warn!("the runner's time {=u32} refused: {}", boot_time, e);
    }
    let station = Station::new(output, Leds, TamperButton, clock, Millis, POLL_EVERY_MS);
    (reader, station)
}

fn fail() -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    defmt::error!("panic");
    fail()
}
