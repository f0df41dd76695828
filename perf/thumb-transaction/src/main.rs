//! One reader-side credential transaction on a Cortex-M4F: AuthenticateEV2First, GetCardUID,
//! AuthenticateEV2NonFirst, a 160-byte Full-mode ReadData, against the card answers recorded
//! by `desfire-core/examples/transaction` (embedded as consts in `recorded.rs`, so none of the
//! card-side crypto is in this binary).
//!
//! The transaction code is the very file the host benchmark measures
//! (`desfire-core/examples/transaction/replay.rs`). Exit code 0 through semihosting when the
//! UID and the 160 bytes match, 1 otherwise.
//!
//! With `--features p256` it also verifies the ECDSA P-256 signature of the GEN-PACS test card
//! once (`p256.rs`), so the size of P-256 verification is the `.text` delta against the default
//! build; `--features measure-p256` times that verification too (`p256_verify_ticks`).
//!
//! With `--features measure` it also times the transaction and the AES floor with SysTick and
//! prints the tick counts. Under `qemu-system-arm -icount shift=0` one instruction takes 1 ns of
//! virtual time and SysTick runs at the board's 25 MHz, so one tick is 40 instructions.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use panic_halt as _;

#[cfg(feature = "p256")]
mod p256;
mod recorded;
#[path = "../../../desfire-core/examples/transaction/replay.rs"]
mod replay;

#[cfg(feature = "measure")]
#[path = "../../../desfire-core/examples/transaction/floor.rs"]
#[allow(
    dead_code,
    reason = "the host bench uses all of it, this binary only the work tables"
)]
mod floor;

#[entry]
fn main() -> ! {
    let rec = core::hint::black_box(&recorded::RECORDING);
    let keys = replay::ReaderKeys::new(rec);

    #[cfg(not(feature = "measure"))]
    let ok = replay::run_transaction(rec, &keys).is_ok();
    #[cfg(feature = "measure")]
    let ok = measure::run(rec, &keys);
    #[cfg(all(feature = "p256", not(feature = "measure")))]
    let ok = ok && p256::verify();

    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

#[cfg(feature = "measure")]
mod measure {
    use super::{floor, replay};
    use cortex_m::peripheral::{SYST, syst::SystClkSource};
    use cortex_m_semihosting::hprintln;

    const RELOAD: u32 = 0x00FF_FFFF;

    /// SysTick ticks taken by `f` (SysTick counts down, 24 bits).
    fn ticks<T>(f: impl FnOnce() -> T) -> (u32, T) {
        let start = SYST::get_current();
        let out = f();
        let end = SYST::get_current();
        (start.wrapping_sub(end) & RELOAD, out)
    }

    pub fn run(rec: &replay::Recording<'_>, keys: &replay::ReaderKeys) -> bool {
        let Some(mut p) = cortex_m::Peripherals::take() else {
            return false;
        };
        p.SYST.set_clock_source(SystClkSource::Core);
        p.SYST.set_reload(RELOAD);
        p.SYST.clear_current();
        p.SYST.enable_counter();

        let (tx, result) = ticks(|| replay::run_transaction(rec, keys));
        let (fl, _) = ticks(|| floor::aes_work(core::hint::black_box(&floor::FLOOR)));
        let (im, _) = ticks(|| floor::aes_work(core::hint::black_box(&floor::AS_IMPLEMENTED)));
        hprintln!("transaction_ticks={}", tx);
        hprintln!("aes_floor_ticks={}", fl);
        hprintln!("aes_as_implemented_ticks={}", im);
        #[cfg(feature = "p256")]
        let p256_ok = {
            let (pt, ok) = ticks(crate::p256::verify);
            hprintln!("p256_verify_ticks={}", pt);
            ok
        };
        #[cfg(not(feature = "p256"))]
        let p256_ok = true;
        result.is_ok() && p256_ok
    }
}
