//! The GEN-PACS reader on the nRF52840-DK: pins and init only, the behaviour is `reader`'s.
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
//!
//! The panel line is OSDP (`osdp_line`), or with the feature `legacy-wiegand` the labelled
//! legacy Wiegand lines (`wiegand_line`; spec §14, R13: the installation must be labelled
//! "legacy grade").
#![no_std]
#![no_main]

use defmt_rtt as _;
#[cfg(feature = "legacy-wiegand")]
use desfire_core::encoding::OutputFormat;
use desfire_core::encoding::{IssuerKey, Masters, ReaderConfig};
#[cfg(not(feature = "legacy-wiegand"))]
use embassy_nrf::buffered_uarte::{self, BufferedUarte};
use embassy_nrf::gpio::{Input, Level, Output, OutputDrive, Pull};
use embassy_nrf::rng::Rng;
#[cfg(not(feature = "legacy-wiegand"))]
use embassy_nrf::uarte;
use embassy_nrf::{Peri, bind_interrupts, peripherals, twim};
use embassy_time::{Duration, Instant, block_for};
#[cfg(not(feature = "legacy-wiegand"))]
use osdp_line::{OsdpLine, service_osdp};
use panic_probe as _;
use pn532::{I2c, Pn532};
#[cfg(not(feature = "legacy-wiegand"))]
use reader::drbg::CtrDrbg;
use reader::frontend::Pn532FrontEnd;
#[cfg(not(feature = "legacy-wiegand"))]
use reader::osdp::Pd;
use reader::provisioned::{Provisioned, RECORD_LEN};
use reader::{Event, Reader, Signal, Signals, TamperInput};

#[cfg(not(feature = "legacy-wiegand"))]
mod osdp_line;
#[cfg(feature = "legacy-wiegand")]
mod wiegand_line;

#[cfg(not(feature = "legacy-wiegand"))]
bind_interrupts!(struct Irqs {
    TWISPI0 => twim::InterruptHandler<peripherals::TWISPI0>;
    UARTE0 => buffered_uarte::InterruptHandler<peripherals::UARTE0>;
});
#[cfg(feature = "legacy-wiegand")]
bind_interrupts!(struct Irqs {
    TWISPI0 => twim::InterruptHandler<peripherals::TWISPI0>;
});

/// When the image was built (build.rs), Unix seconds.
const BUILD_UNIX_TIME: u32 = match u32::from_str_radix(env!("BUILD_UNIX_TIME"), 10) {
    Ok(t) => t,
    Err(_) => 0,
};

/// How often the reader looks for a card.
const POLL_EVERY: Duration = Duration::from_millis(50);

unsafe extern "C" {
    static _keys_start: u8;
    static _keys_len: u8;
    static _time_start: u8;
}

/// The trusted-time floor in the TIME flash page (memory.x): `floor[4 LE] || !floor[4 LE]`, so
/// that erased flash and a torn write both read as "no floor".
struct FlashFloor(embassy_nrf::nvmc::Nvmc<'static>);

impl FlashFloor {
    fn page() -> u32 {
        core::ptr::addr_of!(_time_start) as u32
    }
}

impl reader::time::FloorStore for FlashFloor {
    fn load(&mut self) -> Option<u32> {
        use embedded_storage::nor_flash::ReadNorFlash;
        let mut words = [0u8; 8];
        self.0.read(Self::page(), &mut words).ok()?;
        let (a, b) = words.split_at(4);
        let floor = u32::from_le_bytes(a.try_into().ok()?);
        (u32::from_le_bytes(b.try_into().ok()?) == !floor).then_some(floor)
    }

    fn store(&mut self, floor: u32) {
        use embedded_storage::nor_flash::NorFlash;
        let mut words = [0u8; 8];
        words[..4].copy_from_slice(&floor.to_le_bytes());
        words[4..].copy_from_slice(&(!floor).to_le_bytes());
        let page = Self::page();
        let written = self
            .0
            .erase(page, page.saturating_add(4096))
            .and_then(|()| self.0.write(page, &words));
        if let Err(e) = written {
            defmt::error!("writing the time floor failed: {}", e);
        }
    }
}

/// The provisioned key record (flash page `KEYS`).
fn key_record() -> &'static [u8] {
    // SAFETY: `_keys_start` is the start of the 4 KiB KEYS region of memory.x, memory-mapped
    // flash that this firmware never writes; RECORD_LEN is within it.
    unsafe { core::slice::from_raw_parts(core::ptr::addr_of!(_keys_start), RECORD_LEN) }
}

/// Erases the KEYS flash page (tamper, R17): the key record is gone for good, and the next
/// boot finds no record and refuses to run until the reader is provisioned again.
fn erase_key_record(nvmc: &mut embassy_nrf::nvmc::Nvmc<'_>) {
    use embedded_storage::nor_flash::NorFlash;
    // Only the addresses of the linker symbols are taken (`_keys_len` is a length, not data).
    let start = core::ptr::addr_of!(_keys_start) as u32;
    let len = core::ptr::addr_of!(_keys_len) as u32;
    match nvmc.erase(start, start.saturating_add(len)) {
        Ok(()) => defmt::warn!("key record erased"),
        Err(e) => defmt::error!("erasing the key record failed: {}", e),
    }
}

/// Milliseconds from the RTC1 time driver.
struct RtcClock;

impl pn532::Clock for RtcClock {
    fn now_ms(&mut self) -> u32 {
        Instant::now().as_millis() as u32
    }
}

struct Indicators {
    grant: Output<'static>,
    deny: Output<'static>,
    buzzer: Output<'static>,
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

struct TamperContact(Input<'static>);

impl TamperInput for TamperContact {
    fn tampered(&mut self) -> bool {
        self.0.is_high()
    }
}

/// Blinks the deny LED forever: the reader has no keys it may use.
fn refuse(deny: Peri<'static, peripherals::P0_14>) -> ! {
    let mut led = Output::new(deny, Level::High, OutputDrive::Standard);
    loop {
        led.toggle();
        block_for(Duration::from_millis(250));
    }
}

/// UICR.APPROTECT = enabled, written when a production image is flashed (memory.x
/// `UICR_APPROTECT`; scripts/check_debug_port.sh checks it is in the image).
#[cfg(not(feature = "debug-port"))]
#[unsafe(link_section = ".uicr_approtect")]
#[used]
static UICR_APPROTECT: u32 = reader::debug_port::APPROTECT_ENABLED;

#[cortex_m_rt::entry]
fn main() -> ! {
    let mut hal_config = embassy_nrf::config::Config::default();
    // Production: embassy-nrf writes UICR.APPROTECT = enabled if it is not (and resets). Its
    // default, `Allowed`, would write it open at every boot.
    hal_config.debug = if cfg!(feature = "debug-port") {
        embassy_nrf::config::Debug::Allowed
    } else {
        embassy_nrf::config::Debug::Disallowed
    };
    let p = embassy_nrf::init(hal_config);
    // SAFETY: UICR.APPROTECT, a read-only view of the UICR flash word.
    let approtect =
        unsafe { core::ptr::read_volatile(reader::debug_port::UICR_APPROTECT as *const u32) };
    if cfg!(feature = "debug-port") {
        defmt::warn!("DEVELOPMENT BUILD: SWD debug port open, keys readable; never on a door");
    } else if !reader::debug_port::approtect_enabled(approtect) {
        // Before the key record is even read.
        defmt::error!(
            "UICR.APPROTECT {=u32:08X}: debug port not protected, refusing",
            approtect
        );
        refuse(p.P0_14)
    }

    let prov = match Provisioned::parse(key_record(), false) {
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
    let (pd, mut line, mut pd_rng) = {
        let mut seed = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut trng, &mut seed);
        let pd_rng = CtrDrbg::new(seed);
        // SAFETY: FICR.DEVICEID[0] (0x1000_0060), a read-only factory register.
        let serial = unsafe { core::ptr::read_volatile(0x1000_0060 as *const u32) };
        let Some(pd) = cortex_m::singleton!(: Pd = Pd::new(prov.pd_config(serial))) else {
            refuse(p.P0_14)
        };

        let Some(uart_rx) = cortex_m::singleton!(: [u8; 512] = [0; 512]) else {
            refuse(p.P0_14)
        };
        let Some(uart_tx) = cortex_m::singleton!(: [u8; 256] = [0; 256]) else {
            refuse(p.P0_14)
        };
        let mut uart_config = uarte::Config::default();
        uart_config.baudrate = uarte::Baudrate::Baud115200;
        let line = OsdpLine {
            uart: BufferedUarte::new(
                p.UARTE0,
                p.TIMER1,
                p.PPI_CH0,
                p.PPI_CH1,
                p.PPI_GROUP0,
                p.P1_01,
                p.P1_02,
                Irqs,
                uart_config,
                uart_rx,
                uart_tx,
            ),
            de: Output::new(p.P1_03, Level::Low, OutputDrive::Standard),
        };
        (pd, line, pd_rng)
    };
    // Legacy grade (spec §14, R13): the tag 86 image on D0/D1, 50 µs pulses every 2 ms, and no
    // OSDP. Both GPIOs start low: both MOSFETs off, the panel's lines idle high.
    #[cfg(feature = "legacy-wiegand")]
    let mut wiegand = wiegand_line::wiegand(
        Output::new(p.P1_10, Level::Low, OutputDrive::Standard),
        Output::new(p.P1_11, Level::Low, OutputDrive::Standard),
        embassy_nrf::timer::Timer::new(p.TIMER2),
    );

    let Some(twim_ram) = cortex_m::singleton!(: [u8; 16] = [0; 16]) else {
        refuse(p.P0_14)
    };
    let mut i2c_config = twim::Config::default();
    i2c_config.frequency = twim::Frequency::K400;
    let i2c = twim::Twim::new(p.TWISPI0, Irqs, p.P0_26, p.P0_27, i2c_config, twim_ram);
    let mut pn532 = Pn532::new(I2c::new(i2c), RtcClock);
    loop {
        match pn532.init() {
            Ok(v) => {
                defmt::info!(
                    "PN532 IC {=u8:02X} firmware {=u8}.{=u8}",
                    v.ic,
                    v.ver,
                    v.rev
                );
                break;
            }
            Err(e) => {
                defmt::warn!("PN532 init: {}", e);
                #[cfg(not(feature = "legacy-wiegand"))]
                service_osdp(pd, &mut line, &mut pd_rng);
            }
        }
    }

    let Some(issuer_keys) = cortex_m::singleton!(: [IssuerKey; 1] = [prov.issuer_key.clone()])
    else {
        refuse(p.P0_14)
    };
    let config = ReaderConfig {
        allow_fixed_uid: prov.allow_fixed_uid,
        // Step 11 then denies a credential without tag 86 (NO_LEGACY_IMAGE): nothing is sent.
        #[cfg(feature = "legacy-wiegand")]
        output: OutputFormat::LegacyWiegand,
        ..ReaderConfig::new(prov.aid, issuer_keys)
    };
    if let Err(e) = reader::check_config(&config) {
        defmt::error!("refusing to start: {}", e);
        refuse(p.P0_14)
    }
    type DkReader = Reader<
        'static,
        Pn532FrontEnd<I2c<twim::Twim<'static>>, RtcClock>,
        Masters,
        Rng<'static, embassy_nrf::mode::Blocking>,
    >;
    let Some(reader) = cortex_m::singleton!(: DkReader = Reader::new(
        Pn532FrontEnd::new(pn532),
        config,
        prov.masters.clone(),
        trng,
    )) else {
        refuse(p.P0_14)
    };
    drop(prov);

    let mut signals = Indicators {
        grant: Output::new(p.P0_13, Level::High, OutputDrive::Standard),
        deny: Output::new(p.P0_14, Level::High, OutputDrive::Standard),
        buzzer: Output::new(p.P1_04, Level::Low, OutputDrive::Standard),
    };
    let mut tamper = TamperContact(Input::new(p.P0_03, Pull::Up));
    // Time: the floor from flash (build time if none), trusted once the panel sets it.
    let mut clock = reader::time::TrustedClock::new(
        FlashFloor(embassy_nrf::nvmc::Nvmc::new(p.NVMC)),
        BUILD_UNIX_TIME,
        Instant::now().as_millis() as u32,
    );
    let mut next_poll = Instant::now();
    #[cfg(not(feature = "legacy-wiegand"))]
    let panel = pd;
    #[cfg(feature = "legacy-wiegand")]
    let panel = &mut wiegand;
    loop {
        #[cfg(not(feature = "legacy-wiegand"))]
        panel.set_time(Instant::now().as_millis() as u32);
        #[cfg(not(feature = "legacy-wiegand"))]
        service_osdp(panel, &mut line, &mut pd_rng);
        if Instant::now() < next_poll {
            continue;
        }
        next_poll = Instant::now() + POLL_EVERY;
        // Trusted time from the panel (osdp_MFG over the Secure Channel), never before the
        // floor kept in flash; until then the floor plus uptime, a lower bound, and the reads go
        // out in the extended format for the controller to decide (R9, firmware/README.md).
        let ms = Instant::now().as_millis() as u32;
        #[cfg(not(feature = "legacy-wiegand"))]
        if let Some((unix, at)) = panel.take_panel_time() {
            match clock.set(unix, at) {
                Ok(()) => defmt::info!("trusted time from the panel: {=u32}", unix),
                Err(e) => defmt::warn!("time {=u32} from the panel refused: {}", unix, e),
            }
        }
        let now = clock.now(ms);
        #[cfg(not(feature = "legacy-wiegand"))]
        panel.set_output(match now {
            reader::time::Now::Trusted(_) => desfire_core::encoding::OutputFormat::Osdp,
            reader::time::Now::Untrusted(_) => desfire_core::encoding::OutputFormat::Extended,
        });
        reader.set_trusted_time(matches!(now, reader::time::Now::Trusted(_)));
        let now = now.seconds();
        match reader.poll(panel, &mut signals, &mut tamper, now) {
            Event::Idle => {}
            Event::Tamper(open) => {
                defmt::warn!("tamper {}: keys wiped in RAM", open);
                if open {
                    erase_key_record(&mut clock.store_mut().0);
                }
            }
            Event::Queued(id) => defmt::info!("credential {=u64:016X} granted, queued", id),
            Event::Granted(id) => defmt::info!("GRANT credential {=u64:016X}, taken", id),
            Event::NotTaken(id) => defmt::warn!("credential {=u64:016X} never taken: DENY", id),
            Event::Denied(reason) => defmt::info!("DENY {=u8} {}", reason.id(), reason),
        }
    }
}
