//! The GEN-PACS reader on QEMU's MPS2 AN386 (Cortex-M4F): pins and init only, the behaviour is
//! `reader`'s. UART0 is the PN532 HSU link (115200 8N1), UART1 the OSDP line to the panel,
//! the FPGA LEDs show the decision, FPGA button 0 is the tamper contact, defmt logs go out
//! over semihosting. The lab profile (spec §16 TEST keys, the lab SCBK): never a real reader.
#![no_std]
#![no_main]

mod clock;
mod floor;
mod rng;
mod stack;
mod uart;

#[cfg(feature = "measure")]
#[path = "../../../../perf/thumb-transaction/src/p256.rs"]
mod p256;

use cortex_m as _;
use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use defmt_semihosting as _;
use desfire_core::encoding::{IssuerKey, Revocation};
use embedded_io::{ReadReady, Write};
use pn532::{Hsu, Pn532};
use reader::frontend::Pn532FrontEnd;
use reader::osdp::Pd;
use reader::{Event, FrontEnd, Reader, Signal, Signals, TamperInput, lab};

use crate::clock::Millis;
use crate::floor::SemihostFloor;
use crate::rng::lab_rng;
use crate::uart::{CmsdkUart, UART0, UART1};
use desfire_core::encoding::OutputFormat;
use reader::drbg::CtrDrbg;
use reader::time::{Now, TrustedClock};

defmt::timestamp!("{=u32:ms}", clock::millis());

/// The reader of this board.
type QemuReader = Reader<
    'static,
    Timed<Pn532FrontEnd<Hsu<CmsdkUart>, Millis>>,
    desfire_core::encoding::Masters,
    CtrDrbg,
>;

/// PN532 HSU and the OSDP line both at 115200 baud.
const BAUDDIV: u32 = clock::CORE_HZ / 115_200;
/// How often the reader looks for a card.
const POLL_EVERY_MS: u32 = 50;

/// The MPS2 FPGA I/O block: LEDs and buttons.
const FPGAIO_LED: usize = 0x4002_8000;
const FPGAIO_BUTTON: usize = 0x4002_8008;
const LED_GREEN: u32 = 1 << 0;
const LED_RED: u32 = 1 << 1;

/// LED0 green (grant), LED1 red (deny, tamper); QEMU has no buzzer, the log says it.
struct Leds;

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
static TAMPER_CONTACT: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// Button 0 pressed, or the contact word set = housing open.
struct TamperButton;

impl TamperInput for TamperButton {
    fn tampered(&mut self) -> bool {
        // SAFETY: the FPGAIO button register, read-only.
        let button = unsafe { core::ptr::read_volatile(FPGAIO_BUTTON as *const u32) & 1 != 0 };
        button || TAMPER_CONTACT.load(core::sync::atomic::Ordering::Relaxed) != 0
    }
}

/// Answers whatever the panel sent since the last call.
fn service_osdp(pd: &mut Pd, line: &mut CmsdkUart, rng: &mut CtrDrbg) {
    let mut out = [0u8; reader::osdp::packet::MAX_PACKET];
    while line.read_ready().unwrap_or(false) {
        let mut b = [0u8; 1];
        if embedded_io::Read::read(line, &mut b).unwrap_or(0) == 0 {
            return;
        }
        let was_secure = pd.is_secure();
        if let Some(n) = pd.on_byte(b[0], rng, &mut out) {
            let _ = line.write_all(out.get(..n).unwrap_or_default());
            if pd.is_secure() != was_secure {
                defmt::info!(
                    "OSDP secure channel {}",
                    if pd.is_secure() { "up" } else { "down" }
                );
            }
        }
    }
}

/// The front end with the time spent in it counted, to separate the reader's own compute
/// from waiting for the PN532 and the card.
struct Timed<F> {
    inner: F,
    io_ticks: u32,
}

impl<F: FrontEnd> FrontEnd for Timed<F> {
    type Error = F::Error;

    fn activate(&mut self) -> Result<Option<reader::Activation>, Self::Error> {
        let t = clock::ticks();
        let r = self.inner.activate();
        self.io_ticks = self.io_ticks.wrapping_add(clock::ticks().wrapping_sub(t));
        r
    }

    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        let t = clock::ticks();
        let r = self.inner.transceive(capdu, rapdu);
        self.io_ticks = self.io_ticks.wrapping_add(clock::ticks().wrapping_sub(t));
        r
    }

    fn release(&mut self) -> Result<(), Self::Error> {
        let t = clock::ticks();
        let r = self.inner.release();
        self.io_ticks = self.io_ticks.wrapping_add(clock::ticks().wrapping_sub(t));
        r
    }
}

/// What `init` hands to the loop. The long-lived state (PD, reader, PN532 buffers) lives in
/// statics rather than on the stack, and `init` returns before the first card: its temporaries
/// are not under the transaction's frames (the stack high-water mark goal is 8 KiB).
struct Board {
    pd: &'static mut Pd,
    reader: &'static mut QemuReader,
    osdp_line: CmsdkUart,
    pd_rng: CtrDrbg,
    /// Time for the validity window: the runner's at boot (see [`boot_time`]), the panel's
    /// (osdp_MFG), never before the floor kept in the `floor=` file.
    clock: TrustedClock<SemihostFloor>,
}

#[entry]
fn main() -> ! {
    stack::paint();
    let Board {
        pd,
        reader,
        mut osdp_line,
        mut pd_rng,
        mut clock,
    } = init();
    #[cfg(feature = "measure")]
    let ecdsa_ticks = ecdsa_ticks();
    #[cfg(feature = "measure")]
    ecdsa_differential();
    // The high-water mark below is the GRANT's: RustCrypto's verification in the differential
    // (never in a GRANT) ran deeper than anything after it.
    #[cfg(feature = "measure")]
    stack::paint();
    let mut next_poll = clock::millis();
    loop {
        pd.set_time(clock::millis());
        service_osdp(pd, &mut osdp_line, &mut pd_rng);
        let ms = clock::millis();
        if (ms.wrapping_sub(next_poll) as i32) < 0 {
            continue;
        }
        next_poll = ms.wrapping_add(POLL_EVERY_MS);
        if let Some((unix, at)) = pd.take_panel_time() {
            match clock.set(unix, at) {
                Ok(()) => defmt::info!("trusted time from the panel: {=u32}", unix),
                Err(e) => defmt::warn!("time {=u32} from the panel refused: {}", unix, e),
            }
        }
        let now = clock.now(ms);
        // Until trusted time, the reads go out in the extended format (R9).
        pd.set_output(match now {
            Now::Trusted(_) => OutputFormat::Osdp,
            Now::Untrusted(_) => OutputFormat::Extended,
        });
        reader.set_trusted_time(matches!(now, Now::Trusted(_)));
        let now = now.seconds();
        reader.front_end().io_ticks = 0;
        let start = clock::ticks();
        let event = reader.poll(pd, &mut Leds, &mut TamperButton, now);
        let total = clock::ticks().wrapping_sub(start);
        match event {
            Event::Idle => {}
            // The lab keys are in the image (no key record in flash to erase); the ones in RAM
            // are wiped by the reader and the PD.
            Event::Tamper(open) => defmt::warn!("tamper {}: keys wiped, reader quiet", open),
            Event::Granted(id) => {
                defmt::info!("GRANT credential {=u64:016X}, taken by the panel", id)
            }
            Event::NotTaken(id) => {
                defmt::warn!(
                    "credential {=u64:016X} granted, never taken by the panel: DENY shown",
                    id
                )
            }
            Event::Queued(id) => {
                defmt::info!("credential {=u64:016X} granted, queued for the panel", id);
                defmt::info!(
                    "stack high-water mark {=usize} bytes",
                    stack::high_water_mark()
                );
                #[cfg(feature = "measure")]
                report(total.wrapping_sub(reader.front_end().io_ticks), ecdsa_ticks);
            }
            Event::Denied(reason) => defmt::info!("DENY {=u8} {}", reason.id(), reason),
        }
        let _ = total;
    }
}

/// Clock, UARTs, PN532 (wake-up, SAMConfiguration, retries), the PD and the reader.
#[inline(never)]
fn init() -> Board {
    let Some(core) = cortex_m::Peripherals::take() else {
        fail()
    };
    clock::start(core.SYST);
    defmt::warn!("LAB BUILD: TEST keys of spec section 16 and the lab SCBK; never a real reader");

    // SAFETY: UART0 and UART1 of this board, each driven only by what it is handed to.
    let (pn532_line, mut osdp_line) = unsafe {
        (
            CmsdkUart::new(UART0, BAUDDIV),
            CmsdkUart::new(UART1, BAUDDIV),
        )
    };
    let Some(pd) = cortex_m::singleton!(: Pd = Pd::new(lab::pd_config())) else {
        fail()
    };
    let mut pd_rng = lab_rng(2);

    let mut pn532 = Pn532::new(Hsu::new(pn532_line), Millis);
    let version = loop {
        match pn532.init() {
            Ok(v) => break v,
            Err(e) => {
                defmt::warn!("PN532 init: {}", e);
                service_osdp(pd, &mut osdp_line, &mut pd_rng);
            }
        }
    };
    defmt::info!(
        "PN532 IC {=u8:02X} firmware {=u8}.{=u8}",
        version.ic,
        version.ver,
        version.rev
    );

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
    let front = Timed {
        inner: Pn532FrontEnd::new(pn532),
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
    let (boot_time, floor) = boot_time();
    let mut clock = TrustedClock::new(floor, 0, clock::millis());
    if let Err(e) = clock.set(boot_time, clock::millis()) {
        defmt::warn!("the runner's time {=u32} refused: {}", boot_time, e);
    }
    Board {
        pd,
        reader,
        osdp_line,
        pd_rng,
        clock,
    }
}

/// Trusted time at boot, Unix seconds: `now=SECONDS` on the semihosting command line when the
/// runner gives one (`desfire audit --firmware` passes the audit's `now`, so the test cards'
/// validity windows, which are relative to it, mean the same to the reader), otherwise the
/// host's clock (semihosting SYS_TIME). Lab only: a real reader has no such channel. And the
/// floor file of `floor=PATH` (reader::time), if given.
fn boot_time() -> (u32, SemihostFloor) {
    let mut line = [0u8; 256];
    // SYS_GET_CMDLINE (0x15): the host writes the command line, NUL-terminated, into `line`.
    // SAFETY: the parameter block names a buffer of this length that lives across the call.
    let r = unsafe { cortex_m_semihosting::syscall!(GET_CMDLINE, line.as_mut_ptr(), line.len()) };
    let end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    let text = (r == 0)
        .then(|| core::str::from_utf8(line.get(..end)?).ok())
        .flatten()
        .unwrap_or("");
    let arg = |name: &str| text.split(' ').find_map(|a| a.strip_prefix(name));
    let floor = SemihostFloor::new(arg("floor="));
    match arg("now=").and_then(|s| s.parse::<u32>().ok()) {
        Some(now) => {
            defmt::info!("trusted time from the runner: {=u32}", now);
            (now, floor)
        }
        // SAFETY: a semihosting call without arguments.
        None => (
            unsafe { cortex_m_semihosting::syscall!(TIME) as u32 },
            floor,
        ),
    }
}

/// SysTick ticks of one ECDSA P-256 verification (the test card's, parse included), from a
/// shallow frame like the reader's own.
#[cfg(feature = "measure")]
#[inline(never)]
fn ecdsa_ticks() -> u32 {
    let t = clock::ticks();
    let ok = p256::verify();
    let dt = clock::ticks().wrapping_sub(t);
    if !ok {
        fail()
    }
    dt
}

/// The ECDSA differential vectors through RustCrypto and p256-cm4 on this core
/// (reader::ecdsa_vectors), and one valid verification by each on its own: a backend that
/// disagrees with the other or with OpenSSL's verdict fails the run.
#[cfg(feature = "measure")]
#[inline(never)]
fn ecdsa_differential() {
    use cortex_m_semihosting::hprintln;
    use desfire_core::crypto::ecdsa_p256::{CortexM4P256, RustCryptoP256};
    use reader::ecdsa_vectors::{VECTORS, differential, verdict};
    match differential::<RustCryptoP256, CortexM4P256>() {
        Ok(n) => hprintln!("ecdsa_differential_vectors_agreed={}", n),
        Err(name) => {
            hprintln!("ecdsa_differential_mismatch={}", name);
            fail()
        }
    }
    let per_tick = u64::from(clock::CORE_HZ / 1_000_000);
    let Some(v) = VECTORS.first() else { fail() };
    for (name, run) in [
        ("rustcrypto", verdict::<RustCryptoP256> as fn(&_) -> bool),
        ("p256_cm4", verdict::<CortexM4P256>),
    ] {
        let t = clock::ticks();
        let ok = run(core::hint::black_box(v));
        let dt = clock::ticks().wrapping_sub(t);
        if !ok {
            fail()
        }
        hprintln!(
            "ecdsa_{}_instructions={}",
            name,
            u64::from(dt) * 1000 / per_tick
        );
    }
}

/// The figures of one GRANT, as text over semihosting, then the end of the run.
#[cfg(feature = "measure")]
fn report(grant_ticks: u32, ecdsa_ticks: u32) -> ! {
    use cortex_m_semihosting::hprintln;
    let per_tick = clock::CORE_HZ / 1_000_000;
    hprintln!("core_hz={}", clock::CORE_HZ);
    hprintln!("grant_compute_ticks={}", grant_ticks);
    hprintln!("ecdsa_verify_ticks={}", ecdsa_ticks);
    // Under -icount shift=0: 1 instruction = 1 ns, one tick = 1000/25 = 40 instructions.
    hprintln!(
        "grant_compute_instructions={}",
        u64::from(grant_ticks) * 1000 / u64::from(per_tick)
    );
    hprintln!(
        "ecdsa_verify_instructions={}",
        u64::from(ecdsa_ticks) * 1000 / u64::from(per_tick)
    );
    hprintln!("stack_high_water_bytes={}", stack::high_water_mark());
    debug::exit(debug::EXIT_SUCCESS);
    fail()
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
